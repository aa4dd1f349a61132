/*
 * The order sync's words.  See integrations_activation_message.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "integrations_activation.h"
#include "integrations_activation_message.h"
#include "integrations_coupang_orders.h"
#include "integrations_json.h"


typedef struct {
    char    *p;
    size_t   len;
    size_t   size;
    int      failed;
} msg_buf_t;


static void buf_add(msg_buf_t *b, const char *s, size_t n);
static void buf_adds(msg_buf_t *b, const char *s);
static void buf_links(msg_buf_t *b, const integrations_act_message_t *m);


char *
integrations_act_message_json(const integrations_act_message_t *m,
    size_t *len)
{
    char                     date[32];
    msg_buf_t                links, text, subject;
    integrations_json_gen_t  w;
    char                    *out;

    if (m->nlinks == 0 || m->channel == NULL || m->to_len == 0) {
        return NULL;
    }

    memset(&links, 0, sizeof(links));
    memset(&text, 0, sizeof(text));
    memset(&subject, 0, sizeof(subject));

    integrations_coupang_format_day(m->expires_at, INTEGRATIONS_COUPANG_V4,
                                    date);
    buf_links(&links, m);

    if (integrations_json_gen_init(&w) != 0) {
        free(links.p);
        return NULL;
    }

    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "channel");
    integrations_json_gen_cstr(&w, m->channel);
    integrations_json_gen_cstr(&w, "to");
    integrations_json_gen_str(&w, m->to, m->to_len);

    if (m->key_len) {
        integrations_json_gen_cstr(&w, "idempotency_key");
        integrations_json_gen_str(&w, m->key, m->key_len);
    }

    if (m->template_name) {
        integrations_json_gen_cstr(&w, "template");
        integrations_json_gen_cstr(&w, m->template_name);
        integrations_json_gen_cstr(&w, "data");
        yajl_gen_map_open(w.g);
        integrations_json_gen_cstr(&w, "shop");
        integrations_json_gen_str(&w, m->shop, m->shop_len);
        integrations_json_gen_cstr(&w, "product");
        integrations_json_gen_str(&w, m->links[0].product,
                                  m->links[0].product_len);
        integrations_json_gen_cstr(&w, "link");
        integrations_json_gen_str(&w, m->links[0].url, m->links[0].url_len);
        integrations_json_gen_cstr(&w, "links");
        integrations_json_gen_str(&w, links.p ? links.p : "", links.len);
        integrations_json_gen_cstr(&w, "count");
        integrations_json_gen_int(&w, (long long) m->nlinks);
        integrations_json_gen_cstr(&w, "expires");
        integrations_json_gen_cstr(&w, date);
        yajl_gen_map_close(w.g);

    } else {
        buf_adds(&text, "[");
        buf_add(&text, m->shop, m->shop_len);
        buf_adds(&text, "] 쿠팡에서 구매하신 전자책의 활성화 링크입니다. "
                        "링크는 한 번 쓸 수 있고 ");
        buf_adds(&text, date);
        buf_adds(&text, "까지 유효합니다.\n");
        buf_add(&text, links.p, links.len);

        if (m->email) {
            buf_adds(&subject, "[");
            buf_add(&subject, m->shop, m->shop_len);
            buf_adds(&subject, "] 전자책 활성화 링크");
            integrations_json_gen_cstr(&w, "subject");
            integrations_json_gen_str(&w, subject.p ? subject.p : "",
                                      subject.len);
        }

        integrations_json_gen_cstr(&w, "text");
        integrations_json_gen_str(&w, text.p ? text.p : "", text.len);
    }

    if (m->fallback) {
        integrations_json_gen_cstr(&w, "fallback");
        integrations_json_gen_bool(&w, 1);
    }

    yajl_gen_map_close(w.g);

    if (links.failed || text.failed || subject.failed) {
        w.failed = 1;
    }

    free(links.p);
    free(text.p);
    free(subject.p);

    out = integrations_json_gen_done(&w, len);

    return out;
}


/* "product: url" a line each; "product (2/3): url" for several units */

static void
buf_links(msg_buf_t *b, const integrations_act_message_t *m)
{
    char    n[32];
    size_t  i;

    for (i = 0; i < m->nlinks; i++) {
        buf_add(b, m->links[i].product, m->links[i].product_len);

        if (m->links[i].units > 1) {
            snprintf(n, sizeof(n), " (%u/%u)", m->links[i].unit,
                     m->links[i].units);
            buf_adds(b, n);
        }

        buf_adds(b, ": ");
        buf_add(b, m->links[i].url, m->links[i].url_len);

        if (i + 1 < m->nlinks) {
            buf_adds(b, "\n");
        }
    }
}


char *
integrations_act_alert_text(integrations_act_alert_e kind,
    const integrations_act_alert_t *a, size_t *len)
{
    char        name[64], n[32];
    size_t      nl;
    msg_buf_t   b;
    const char *head;

    static const char  *heads[] = {
        "🛒 새 쿠팡 주문",
        "⚠️ 연락처 없는 쿠팡 주문 (보류, 관리자 확인 필요)",
        "⚠️ 활성화 상품에 연결되지 않은 쿠팡 주문 (보류)",
        "🚨 구매자 메시지를 보낼 수 없음 (보류)",
        "🚨 쿠팡 발주확인/송장 업로드 실패",
        "↩️ 쿠팡 반품/취소: 활성화 링크 회수",
        "↪️ 쿠팡 반품 철회: 회수된 링크는 관리자가 다시 보낼 수 있음",
        "🚨 activation_revoke 호출 실패"
    };

    if ((unsigned) kind >= sizeof(heads) / sizeof(heads[0])) {
        return NULL;
    }

    head = heads[kind];
    memset(&b, 0, sizeof(b));

    buf_adds(&b, head);
    buf_adds(&b, " | 주문 ");
    buf_add(&b, a->order, a->order_len);
    buf_adds(&b, " / 배송 ");
    buf_add(&b, a->box, a->box_len);

    if (a->buyer_len) {
        nl = integrations_act_mask(INTEGRATIONS_ACT_MASK_NAME, a->buyer,
                                   a->buyer_len, name, sizeof(name));
        buf_adds(&b, " | 구매자 ");
        buf_add(&b, name, nl);
    }

    if (a->product_len) {
        buf_adds(&b, " | ");
        buf_add(&b, a->product, a->product_len);
    }

    if (a->count) {
        snprintf(n, sizeof(n), " | %u건", a->count);
        buf_adds(&b, n);
    }

    if (a->detail_len) {
        buf_adds(&b, " | ");
        buf_add(&b, a->detail, a->detail_len);
    }

    if (b.failed) {
        free(b.p);
        return NULL;
    }

    *len = b.len;

    return b.p;
}


static void
buf_add(msg_buf_t *b, const char *s, size_t n)
{
    size_t  size;
    char   *p;
    size_t  i;

    if (b->failed || n == 0) {
        return;
    }

    if (b->len + n + 1 > b->size) {
        size = (b->size ? b->size * 2 : 256);

        while (size < b->len + n + 1) {
            size *= 2;
        }

        p = realloc(b->p, size);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        b->p = p;
        b->size = size;
    }

    /* control characters other than LF never reach a message */

    for (i = 0; i < n; i++) {
        b->p[b->len++] = ((unsigned char) s[i] < 0x20 && s[i] != '\n')
                         ? ' ' : s[i];
    }

    b->p[b->len] = '\0';
}


static void
buf_adds(msg_buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}
