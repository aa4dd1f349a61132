/*
 * The order sync's words: the buyer's message as a notification request
 * (inline text and template data, email subject, AlimTalk fallback), and
 * the staff's alerts (the buyer masked, no contact, no link).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "tap.h"
#include "integrations_activation_message.h"
#include "integrations_json.h"


/* a string member (texts hold newlines: no integrations_json_text()) */

static const char *
t_str(yajl_val v, const char *key)
{
    yajl_val  x;

    x = integrations_json_get(v, key);

    return (x && YAJL_IS_STRING(x)) ? YAJL_GET_STRING(x) : "";
}


int
main(void)
{
    char                          err[128];
    char                         *json, *text;
    size_t                        len;
    yajl_val                      v, d;
    integrations_act_message_t    m;
    integrations_act_alert_t      a;
    integrations_act_msg_link_t   l[2];

    memset(&m, 0, sizeof(m));
    memset(l, 0, sizeof(l));

    l[0].product = "[전자책] 예제 도서, PDF";
    l[0].product_len = strlen(l[0].product);
    l[0].url = "https://books.example.com/a/AAAA";
    l[0].url_len = strlen(l[0].url);
    l[0].unit = 1;
    l[0].units = 2;
    l[1] = l[0];
    l[1].unit = 2;
    l[1].url = "https://books.example.com/a/BBBB";

    m.channel = "sms";
    m.to = "05031235464";
    m.to_len = 11;
    m.key = "coupang:A00012345:642538971006401429";
    m.key_len = strlen(m.key);
    m.shop = "쏠브";
    m.shop_len = strlen(m.shop);
    m.links = l;
    m.nlinks = 2;
    m.expires_at = 1759276800;       /* 2025-10-01 09:00 KST */

    json = integrations_act_message_json(&m, &len);
    ok(json != NULL, "inline: a request");

    v = json ? yajl_tree_parse(json, err, sizeof(err)) : NULL;
    ok(v != NULL, "  it is JSON");
    ok(v && strcmp(t_str(v, "channel"), "sms") == 0, "  the channel");
    ok(v && strcmp(t_str(v, "to"), "05031235464") == 0, "  the recipient");
    ok(v && strcmp(t_str(v, "idempotency_key"), m.key) == 0,
       "  the box's key: one message per box");
    ok(v && strstr(t_str(v, "text"), "예제 도서, PDF (1/2): "
                   "https://books.example.com/a/AAAA\n") != NULL
       && strstr(t_str(v, "text"), "(2/2): https://books.example.com/a/BBBB")
          != NULL, "  a line per link");
    ok(v && strstr(t_str(v, "text"), "2025-10-01") != NULL,
       "  the expiry date (KST)");
    ok(v && integrations_json_get(v, "subject") == NULL, "  no subject");
    ok(v && integrations_json_get(v, "template") == NULL, "  no template");
    ok(v && integrations_json_get(v, "fallback") == NULL, "  no fallback");
    yajl_tree_free(v);
    free(json);

    m.email = 1;
    m.channel = "email";
    m.to = "buyer@example.com";
    m.to_len = strlen(m.to);
    json = integrations_act_message_json(&m, &len);
    v = json ? yajl_tree_parse(json, err, sizeof(err)) : NULL;
    ok(v && strstr(t_str(v, "subject"), "활성화"),
       "email: a subject");
    yajl_tree_free(v);
    free(json);

    m.email = 0;
    m.channel = "alimtalk";
    m.template_name = "activation";
    m.fallback = 1;
    json = integrations_act_message_json(&m, &len);
    v = json ? yajl_tree_parse(json, err, sizeof(err)) : NULL;
    ok(v && strcmp(t_str(v, "template"), "activation") == 0,
       "template: named");
    d = v ? integrations_json_get(v, "data") : NULL;
    ok(d && strcmp(t_str(d, "link"), "https://books.example.com/a/AAAA") == 0,
       "  data.link is the first link");
    ok(d && strstr(t_str(d, "links"), "BBBB") != NULL, "  data.links all");
    ok(d && strcmp(t_str(d, "expires"), "2025-10-01") == 0, "  data.expires");
    ok(d && YAJL_IS_INTEGER(integrations_json_get(d, "count"))
       && YAJL_GET_INTEGER(integrations_json_get(d, "count")) == 2,
       "  data.count");
    ok(v && YAJL_IS_TRUE(integrations_json_get(v, "fallback")),
       "  AlimTalk with SMS fallback");
    ok(v && integrations_json_get(v, "text") == NULL, "  no inline text");
    yajl_tree_free(v);
    free(json);

    m.nlinks = 0;
    ok(integrations_act_message_json(&m, &len) == NULL, "no link: nothing");

    /* alerts */

    memset(&a, 0, sizeof(a));
    a.box = "642538971006401429";
    a.box_len = 18;
    a.order = "22000009546234";
    a.order_len = 14;
    a.buyer = "신영희";
    a.buyer_len = strlen(a.buyer);
    a.product = "예제 도서";
    a.product_len = strlen(a.product);
    a.count = 2;

    text = integrations_act_alert_text(INTEGRATIONS_ACT_ALERT_NEW_ORDER, &a,
                                       &len);
    ok(text && strstr(text, "642538971006401429")
       && strstr(text, "22000009546234"), "alert: the ids");
    ok(text && strstr(text, "영희") == NULL && strstr(text, "신"),
       "  the buyer masked");
    ok(text && strstr(text, "2건"), "  the count");
    ok(text && strchr(text, '\n') == NULL, "  one line");
    free(text);

    a.detail = "INVALID_STATUS";
    a.detail_len = 14;
    text = integrations_act_alert_text(INTEGRATIONS_ACT_ALERT_FULFIL_FAILED,
                                       &a, &len);
    ok(text && strstr(text, "INVALID_STATUS"), "a failure names its code");
    free(text);

    ok(integrations_act_alert_text((integrations_act_alert_e) 99, &a, &len)
       == NULL, "an unknown alert: nothing");

    return done_testing();
}
