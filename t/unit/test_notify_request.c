/*
 * POST /notifications and /notifications/bulk: fields, types, problems
 * naming the field, recipients normalized per route, templates rendered
 * strictly, Korean SMS rules, AlimTalk variables and fallback, limits.
 */

#include <stdint.h>

#include "tap.h"
#include "integrations_notify_request.h"
#include "integrations_recipient.h"
#include "integrations_sms_kr.h"


#define S(s)  s, sizeof(s) - 1
#define NOW   1751328000               /* 2025-07-01T00:00:00Z */


static const integrations_notify_route_t  routes[] = {
    { "email", "sendgrid", INTEGRATIONS_NOTIFY_EMAIL, INTEGRATIONS_RCPT_EMAIL,
      0, 0, 0 },
    { "sms", "solapi", INTEGRATIONS_NOTIFY_SMS, INTEGRATIONS_RCPT_KR_MOBILE,
      0, 1, INTEGRATIONS_SMS_EUC_KR },
    { "sms", "twilio", INTEGRATIONS_NOTIFY_SMS, INTEGRATIONS_RCPT_E164, 82,
      0, 0 },
    { "alimtalk", "solapi", INTEGRATIONS_NOTIFY_ALIMTALK,
      INTEGRATIONS_RCPT_KR_MOBILE, 0, 1, INTEGRATIONS_SMS_EUC_KR },
    { "push", "fcm", INTEGRATIONS_NOTIFY_PUSH, INTEGRATIONS_RCPT_FCM_TOKEN,
      0, 0, 0 },
    { "slack", "slack", INTEGRATIONS_NOTIFY_SLACK,
      INTEGRATIONS_RCPT_SLACK_CHANNEL, 0, 0, 0 },
    { "ops", "hook", INTEGRATIONS_NOTIFY_SLACK, INTEGRATIONS_RCPT_NONE,
      0, 0, 0 },
};


typedef struct {
    const char                      *name;
    const char                      *src;
    const char                      *alimtalk_id;
    integrations_notify_template_t   t;
} tpl_entry_t;


static tpl_entry_t  templates[] = {
    { "order_ready",
      "Subject: {{name}}님, 주문 {{order.id}}\n"
      "--- text\n"
      "안녕하세요 {{name}}님,\n"
      "{{#items}}- {{title}}\n{{/items}}"
      "{{{link}}}\n"
      "--- html\n"
      "<p>{{name}}</p><a href=\"{{link}}\">"
      "{{#items}}{{title}} {{/items}}</a>\n",
      NULL, { { NULL, NULL, NULL, 0 }, NULL } },
    { "code",
      "[쿠팡] 인증번호 {{code}}\n", NULL, { { NULL, NULL, NULL, 0 }, NULL } },
    { "ata_ready",
      "Subject: 전자책 준비 완료\n"
      "--- text\n"
      "{{이름}}님, 주문하신 {{title}}이 준비되었습니다.\n",
      "TP_READY", { { NULL, NULL, NULL, 0 }, NULL } },
    { "ata_flat",
      "{{#x}}no{{/x}}\n", "TP_BAD", { { NULL, NULL, NULL, 0 }, NULL } },
    { "ops",
      "<b>{{who}}</b> & co: {{what}}\n", NULL,
      { { NULL, NULL, NULL, 0 }, NULL } },
};


static const integrations_notify_template_t *
lookup(void *ctx, const char *name, size_t len)
{
    size_t  i;

    (void) ctx;

    for (i = 0; i < sizeof(templates) / sizeof(templates[0]); i++) {
        if (strlen(templates[i].name) == len
            && memcmp(templates[i].name, name, len) == 0)
        {
            return &templates[i].t;
        }
    }

    return NULL;
}


static integrations_notify_env_t  env = {
    routes, sizeof(routes) / sizeof(routes[0]), lookup, NULL, 0, 0, 0
};


static int
parse(const char *body, int bulk, integrations_notify_request_t *req,
    integrations_notify_problem_t *pb)
{
    return integrations_notify_parse(body, strlen(body), bulk, &env, NOW, req,
                                     pb);
}


static void
setup(void)
{
    size_t                    i;
    integrations_tpl_error_t  err;

    for (i = 0; i < sizeof(templates) / sizeof(templates[0]); i++) {
        if (integrations_tpl_file_parse(templates[i].src,
                                        strlen(templates[i].src),
                                        &templates[i].t.file, &err) != 0)
        {
            diag("template %s: line %u: %s", templates[i].name, err.line,
                 err.message);
        }

        templates[i].t.alimtalk_id = templates[i].alimtalk_id;
    }
}


static void
teardown(void)
{
    size_t  i;

    for (i = 0; i < sizeof(templates) / sizeof(templates[0]); i++) {
        integrations_tpl_file_free(&templates[i].t.file);
    }
}


static void
test_email(void)
{
    integrations_notify_request_t   req;
    integrations_notify_problem_t   pb;
    integrations_notify_item_t     *it;

    ok(parse("{\"channel\":\"email\",\"to\":\" Kim@Example.COM \","
             "\"template\":\"order_ready\",\"data\":{\"name\":\"<홍>\","
             "\"order\":{\"id\":\"A-1\"},\"items\":[{\"title\":\"책 & 펜\"},"
             "{\"title\":\"노트\"}],\"link\":\"https://x/?a=1&b=2\"},"
             "\"idempotency_key\":\"order-A-1-ready\","
             "\"send_at\":\"2025-07-01T09:00:00+09:00\"}", 0, &req, &pb) == 0,
       "an email from a template");

    it = &req.items[0];
    ok(req.nitems == 1 && it->route == &routes[0], "routed to email");
    is_str(it->to, "Kim@example.com", "the address normalized");
    is_str(it->subject, "<홍>님, 주문 A-1", "the subject, not escaped");
    is_str(it->text, "안녕하세요 <홍>님,\n- 책 & 펜\n- 노트\n"
           "https://x/?a=1&b=2",
           "the text part, not escaped, a section over a list");
    is_str(it->html, "<p>&lt;홍&gt;</p><a href=\"https://x/?a=1&amp;b=2\">"
           "책 &amp; 펜 노트 </a>", "the html part, escaped");
    ok(it->idempotency_key_len == 15
       && memcmp(it->idempotency_key, "order-A-1-ready", 15) == 0,
       "idempotency_key");
    is_int(it->send_at, NOW, "send_at in KST is 00:00 UTC");
    ok(it->template_name_len == 11, "the template's name");
    integrations_notify_request_free(&req);

    ok(parse("{\"channel\":\"email\",\"to\":\"a@b.co\",\"subject\":\"Hi\","
             "\"html\":\"<p>x</p>\"}", 0, &req, &pb) == 0
       && strcmp(req.items[0].html, "<p>x</p>") == 0
       && req.items[0].text == NULL, "inline html");
    integrations_notify_request_free(&req);
}


static void
test_sms(void)
{
    char                            body[4096];
    size_t                          i;
    integrations_notify_request_t   req;
    integrations_notify_problem_t   pb;

    ok(parse("{\"channel\":\"sms\",\"to\":\"+82 10-1234-5678\","
             "\"template\":\"code\",\"data\":{\"code\":123456}}", 0, &req,
             &pb) == 0, "a Korean SMS from a template");
    is_str(req.items[0].to, "01012345678", "Solapi's number form");
    is_str(req.items[0].text, "[쿠팡] 인증번호 123456", "rendered");
    is_int(req.items[0].sms_type, INTEGRATIONS_SMS_TYPE_SMS, "an SMS");
    integrations_notify_request_free(&req);

    strcpy(body, "{\"channel\":\"sms\",\"to\":\"010-1234-5678\",\"text\":\"");
    for (i = 0; i < 50; i++) {
        strcat(body, "가");
    }
    strcat(body, "\\n둘째 줄\"}");

    ok(parse(body, 0, &req, &pb) == 0
       && req.items[0].sms_type == INTEGRATIONS_SMS_TYPE_LMS,
       "100 bytes: an LMS");
    ok(req.items[0].subject != NULL
       && req.items[0].subject_len == 20 * 3,
       "its default subject: the first line, cut to 40 bytes");
    integrations_notify_request_free(&req);

    ok(parse("{\"channel\":\"sms\",\"to\":\"010-1234-5678\","
             "\"text\":\"주문 완료 \\ud83d\\ude00\"}", 0, &req, &pb) == -1
       && pb.status == 422 && strcmp(pb.field, "text") == 0
       && strstr(pb.detail, "U+1F600 at byte 14") != NULL,
       "an emoji in a Korean SMS: 422 naming the character: %s", pb.detail);

    ok(parse("{\"channel\":\"sms\",\"to\":\"010-1234-5678\",\"provider\":"
             "\"twilio\",\"text\":\"주문 완료 \\ud83d\\ude00\"}", 0, &req, &pb)
       == 0 && strcmp(req.items[0].to, "+821012345678") == 0,
       "the same through Twilio: E.164 from a national number, emoji fine");
    integrations_notify_request_free(&req);

    ok(parse("{\"channel\":\"sms\",\"to\":\"010-123\",\"text\":\"x\"}", 0,
             &req, &pb) == -1 && pb.status == 422
       && strcmp(pb.field, "to") == 0
       && strstr(pb.detail, "010-123") == NULL,
       "an invalid number: 422 \"to\", not quoted: %s", pb.detail);

    ok(parse("{\"channel\":\"sms\",\"to\":\"01012345678\","
             "\"template\":\"code\"}", 0, &req, &pb) == -1
       && pb.status == 422 && strcmp(pb.field, "data.code") == 0
       && strstr(pb.detail, "data.code is missing") != NULL
       && strstr(pb.detail, "line 1") != NULL,
       "a missing variable: 422 naming it: %s", pb.detail);

    ok(parse("{\"channel\":\"sms\",\"to\":\"01012345678\",\"template\":"
             "\"code\",\"data\":{\"code\":null}}", 0, &req, &pb) == -1
       && strcmp(pb.field, "data.code") == 0
       && strstr(pb.detail, "null") != NULL, "null is refused too");

    ok(parse("{\"channel\":\"sms\",\"to\":\"01012345678\",\"html\":\"x\"}",
             0, &req, &pb) == -1 && strcmp(pb.field, "html") == 0,
       "html is not for SMS");
}


static void
test_alimtalk(void)
{
    integrations_notify_request_t   req;
    integrations_notify_problem_t   pb;
    integrations_notify_item_t     *it;

    ok(parse("{\"channel\":\"alimtalk\",\"to\":\"010-1234-5678\","
             "\"template\":\"ata_ready\",\"data\":{\"이름\":\"홍길동\","
             "\"title\":\"어린 왕자\"},\"fallback\":true}", 0, &req, &pb) == 0,
       "an AlimTalk with fallback");

    it = &req.items[0];
    is_str(it->text, "홍길동님, 주문하신 어린 왕자이 준비되었습니다.",
           "the rendered text (also the fallback's)");
    is_str(it->subject, "전자책 준비 완료", "the fallback LMS subject");
    ok(it->nvariables == 2
       && it->variables[0].key_len == 6
       && memcmp(it->variables[0].key, "이름", 6) == 0
       && it->variables[0].value_len == 9
       && memcmp(it->variables[0].value, "홍길동", 9) == 0
       && memcmp(it->variables[1].key, "title", 5) == 0,
       "the variables for kakaoOptions");
    ok(it->fallback && it->sms_type == INTEGRATIONS_SMS_TYPE_SMS,
       "fallback as an SMS");
    integrations_notify_request_free(&req);

    ok(parse("{\"channel\":\"alimtalk\",\"to\":\"010-1234-5678\","
             "\"template\":\"ata_ready\",\"data\":{\"이름\":\"뷁\","
             "\"title\":\"x\"},\"fallback\":true}", 0, &req, &pb) == -1
       && strcmp(pb.field, "fallback") == 0
       && strstr(pb.detail, "U+BDC1") != NULL,
       "fallback refused for a text SMS cannot carry: %s", pb.detail);

    ok(parse("{\"channel\":\"alimtalk\",\"to\":\"010-1234-5678\","
             "\"template\":\"ata_ready\",\"data\":{\"이름\":\"뷁\","
             "\"title\":\"x\"}}", 0, &req, &pb) == 0,
       "without fallback the AlimTalk itself is fine");
    integrations_notify_request_free(&req);

    ok(parse("{\"channel\":\"alimtalk\",\"to\":\"01012345678\","
             "\"text\":\"hi\"}", 0, &req, &pb) == -1
       && strcmp(pb.field, "template") == 0, "AlimTalk needs a template");
    ok(parse("{\"channel\":\"alimtalk\",\"to\":\"01012345678\","
             "\"template\":\"code\",\"data\":{\"code\":1}}", 0, &req, &pb)
       == -1 && strstr(pb.detail, "AlimTalk") != NULL,
       "and one with alimtalk_template_id");
    ok(parse("{\"channel\":\"alimtalk\",\"to\":\"01012345678\","
             "\"template\":\"ata_flat\"}", 0, &req, &pb) == -1
       && strstr(pb.detail, "sections") != NULL, "a flat one");
    ok(parse("{\"channel\":\"sms\",\"to\":\"01012345678\",\"text\":\"x\","
             "\"fallback\":true}", 0, &req, &pb) == -1
       && strcmp(pb.field, "fallback") == 0, "fallback is AlimTalk's");
}


#define PUSH_TO  "\"channel\":\"push\",\"to\":" \
                 "\"bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1\","

static void
test_push_data(void)
{
    char                           *body;
    size_t                          i, n;
    integrations_notify_request_t   req;
    integrations_notify_problem_t   pb;

    ok(parse("{" PUSH_TO "\"text\":\"준비됨\","
             "\"push_data\":{\"order\":\"42\",\"링크\":\"a\\nb\"}}", 0,
             &req, &pb) == 0, "push_data: strings");
    ok(req.items[0].nvariables == 2
       && req.items[0].variables[0].key_len == 5
       && memcmp(req.items[0].variables[0].key, "order", 5) == 0
       && req.items[0].variables[0].value_len == 2
       && memcmp(req.items[0].variables[0].value, "42", 2) == 0,
       "kept as pairs, in order");
    ok(req.items[0].variables[1].value_len == 3
       && memcmp(req.items[0].variables[1].value, "a\nb", 3) == 0,
       "a value may hold a newline");
    integrations_notify_request_free(&req);

    ok(parse("{" PUSH_TO "\"template\":\"code\","
             "\"data\":{\"code\":\"123456\"},"
             "\"push_data\":{\"code\":\"{{code}}\"}}", 0, &req, &pb) == 0
       && strcmp(req.items[0].text, "[쿠팡] 인증번호 123456") == 0
       && req.items[0].nvariables == 1
       && req.items[0].variables[0].value_len == 8
       && memcmp(req.items[0].variables[0].value, "{{code}}", 8) == 0,
       "with a template: data renders it, push_data is sent as it is");
    integrations_notify_request_free(&req);

    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{}}", 0, &req, &pb)
       == 0 && req.items[0].nvariables == 0, "an empty push_data");
    integrations_notify_request_free(&req);

    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"order\":\"1\","
             "\"badge\":3}}", 0, &req, &pb) == -1 && pb.status == 422
       && strcmp(pb.field, "push_data.badge") == 0,
       "a number: 422 naming push_data.badge (%s)", pb.field);
    ok(strstr(pb.detail, "not a string") != NULL, "saying why: %s",
       pb.detail);

    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"a\":true}}", 0,
             &req, &pb) == -1 && pb.status == 422
       && strcmp(pb.field, "push_data.a") == 0, "a boolean: 422");
    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"a\":null}}", 0,
             &req, &pb) == -1 && strcmp(pb.field, "push_data.a") == 0,
       "null: 422");
    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"a\":{\"b\":"
             "\"c\"}}}", 0, &req, &pb) == -1
       && strcmp(pb.field, "push_data.a") == 0, "an object: 422");
    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":[\"a\"]}", 0,
             &req, &pb) == -1 && pb.status == 400
       && strcmp(pb.field, "push_data") == 0, "not an object: 400");
    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"\":\"a\"}}", 0,
             &req, &pb) == -1 && pb.status == 422
       && strcmp(pb.field, "push_data") == 0, "an empty key: 422");
    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"a\\u0001\":"
             "\"a\"}}", 0, &req, &pb) == -1 && pb.status == 400,
       "a control character in a key: 400");
    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"a\":"
             "\"\\u0001\"}}", 0, &req, &pb) == -1 && pb.status == 400
       && strcmp(pb.field, "push_data.a") == 0,
       "a control character in a value: 400");

    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"from\":\"a\"}}",
             0, &req, &pb) == -1 && pb.status == 422
       && strcmp(pb.field, "push_data.from") == 0,
       "FCM's reserved \"from\": 422");
    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"google.x\":"
             "\"a\"}}", 0, &req, &pb) == -1 && pb.status == 422
       && strcmp(pb.field, "push_data.google.x") == 0,
       "FCM's reserved \"google.\" prefix: 422");
    ok(parse("{" PUSH_TO "\"text\":\"x\",\"push_data\":{\"fromage\":"
             "\"a\",\"googled\":\"b\"}}", 0, &req, &pb) == 0,
       "keys that only begin like them pass");
    integrations_notify_request_free(&req);

    ok(parse("{\"channel\":\"sms\",\"to\":\"01011112222\","
             "\"text\":\"a\",\"push_data\":{\"a\":\"b\"}}", 0, &req, &pb)
       == -1 && pb.status == 422 && strcmp(pb.field, "push_data") == 0,
       "push_data on an SMS: 422");

    /* FCM's 4096 bytes, title, text and data together, at the request */

    n = 4096 - 1 - 1;                 /* text "x", key "k", the rest */
    body = malloc(n + 256);
    i = (size_t) sprintf(body, "{" PUSH_TO "\"text\":\"x\","
                         "\"push_data\":{\"k\":\"");
    memset(body + i, 'v', n);
    strcpy(body + i + n, "\"}}");
    ok(parse(body, 0, &req, &pb) == 0, "4096 bytes with push_data: taken");
    integrations_notify_request_free(&req);

    strcpy(body + i + n, "v\"}}");
    ok(parse(body, 0, &req, &pb) == -1 && pb.status == 422
       && strcmp(pb.field, "push_data") == 0,
       "4097: 422 at the request (%s)", pb.field);
    free(body);

    ok(parse("{\"items\":[{" PUSH_TO "\"text\":\"x\"},{" PUSH_TO
             "\"text\":\"x\",\"push_data\":{\"n\":1}}]}", 1, &req, &pb)
       == -1 && strcmp(pb.field, "items[1].push_data.n") == 0,
       "bulk: the item named (%s)", pb.field);
}


static void
test_other_channels(void)
{
    integrations_notify_request_t   req;
    integrations_notify_problem_t   pb;

    ok(parse("{\"channel\":\"slack\",\"to\":\"#orders\",\"template\":\"ops\","
             "\"data\":{\"who\":\"<!channel>\",\"what\":\"a & b\"}}", 0, &req,
             &pb) == 0, "Slack from a template");
    is_str(req.items[0].text, "<b>&lt;!channel&gt;</b> & co: a &amp; b",
           "values escaped for mrkdwn, the template's own text not");
    is_str(req.items[0].to, "orders", "the channel name");
    integrations_notify_request_free(&req);

    ok(parse("{\"channel\":\"ops\",\"text\":\"deploy done\"}", 0, &req, &pb)
       == 0 && req.items[0].to == NULL, "a webhook route takes no \"to\"");
    integrations_notify_request_free(&req);
    ok(parse("{\"channel\":\"ops\",\"to\":\"#x\",\"text\":\"d\"}", 0, &req,
             &pb) == -1 && strcmp(pb.field, "to") == 0, "and refuses one");

    ok(parse("{\"channel\":\"push\",\"to\":"
             "\"bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1\","
             "\"subject\":\"주문\",\"text\":\"준비됨\"}", 0, &req, &pb) == 0
       && strcmp(req.items[0].subject, "주문") == 0,
       "push with a title");
    integrations_notify_request_free(&req);

    test_push_data();
}


static void
test_problems(void)
{
    size_t                          i;
    integrations_notify_request_t   req;
    integrations_notify_problem_t   pb;

    static const struct {
        const char  *body;
        unsigned     status;
        const char  *field;
    } bad[] = {
        { "", 400, "body" },
        { "[]", 400, "body" },
        { "{\"channel\":\"sms\"", 400, "body" },
        { "{\"channel\":\"sms\",\"channel\":\"email\"}", 400, "channel" },
        { "{\"channel\":\"sms\\u0000\"}", 400, "channel" },
        { "{\"channel\":\"sms\",\"to\":\"010\",\"text\":\"x\",\"cc\":1}",
          400, "cc" },
        { "{\"channel\":7}", 400, "channel" },
        { "{\"channel\":\"sm\\ns\"}", 400, "channel" },
        { "{}", 422, "channel" },
        { "{\"channel\":\"fax\",\"to\":\"x\"}", 422, "channel" },
        { "{\"channel\":\"sms\",\"provider\":\"aws\",\"to\":\"x\"}", 422,
          "provider" },
        { "{\"channel\":\"sms\",\"text\":\"x\"}", 422, "to" },
        { "{\"channel\":\"sms\",\"to\":\"\",\"text\":\"x\"}", 422, "to" },
        { "{\"channel\":\"sms\",\"to\":[\"01012345678\"],\"text\":\"x\"}",
          400, "to" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\"}", 422, "text" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"template\":\"nope\"}",
          422, "template" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"template\":\"code\","
          "\"text\":\"x\"}", 422, "text" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"text\":\"x\","
          "\"data\":{}}", 422, "data" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"template\":\"code\","
          "\"data\":[1]}", 400, "data" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"text\":\"x\","
          "\"idempotency_key\":\"a b\"}", 422, "idempotency_key" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"text\":\"x\","
          "\"fallback\":\"yes\"}", 400, "fallback" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"text\":\"x\","
          "\"send_at\":\"2025-07-01 09:00\"}", 422, "send_at" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"text\":\"x\","
          "\"send_at\":\"2026-07-01T00:00:00Z\"}", 422, "send_at" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"text\":\"x\","
          "\"send_at\":1.5}", 422, "send_at" },
        { "{\"channel\":\"sms\",\"to\":\"01012345678\",\"text\":\"x\","
          "\"send_at\":true}", 400, "send_at" },
        { "{\"channel\":\"email\",\"to\":\"a@b.co\",\"text\":\"x\"}", 422,
          "subject" },
        { "{\"channel\":\"email\",\"to\":\"a@b.co\",\"template\":\"code\","
          "\"data\":{\"code\":1}}", 422, "template" },
        { "{\"channel\":\"email\",\"to\":\"a@b.co\",\"subject\":\"a\\nBcc: "
          "x@y\",\"text\":\"x\"}", 400, "subject" },
        { "{\"channel\":\"email\",\"to\":\"a@b.co\",\"template\":"
          "\"order_ready\",\"data\":{\"name\":\"a\\r\\nBcc: x@y\","
          "\"order\":{\"id\":1},\"items\":[],\"link\":\"l\"}}", 422,
          "data.name" },
        { "{\"channel\":\"email\",\"to\":\"a@b.co\",\"template\":"
          "\"order_ready\",\"data\":{\"name\":\"a\",\"order\":{},"
          "\"link\":\"l\"}}", 422, "data.order.id" },
        { "{\"channel\":\"slack\",\"to\":\"#a\",\"subject\":\"s\","
          "\"text\":\"x\"}", 422, "subject" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(parse(bad[i].body, 0, &req, &pb) == -1
           && pb.status == bad[i].status
           && strcmp(pb.field, bad[i].field) == 0 && pb.detail[0] != '\0',
           "%u %s: %s", bad[i].status, bad[i].field, pb.detail);

        if (pb.status != bad[i].status || strcmp(pb.field, bad[i].field)) {
            diag("got %u %s for %s", pb.status, pb.field, bad[i].body);
        }

        ok(req.items == NULL && req.tree == NULL, "nothing left over");
    }
}


static void
test_bulk(void)
{
    char                           *body;
    size_t                          i;
    integrations_notify_request_t   req;
    integrations_notify_problem_t   pb;

    ok(parse("{\"items\":[{\"channel\":\"sms\",\"to\":\"01011112222\","
             "\"text\":\"a\"},{\"channel\":\"email\",\"to\":\"a@b.co\","
             "\"subject\":\"s\",\"text\":\"b\"}]}", 1, &req, &pb) == 0
       && req.nitems == 2 && strcmp(req.items[1].to, "a@b.co") == 0,
       "bulk: two notifications");
    integrations_notify_request_free(&req);

    ok(parse("{\"items\":[{\"channel\":\"sms\",\"to\":\"01011112222\","
             "\"text\":\"a\"},{},{\"channel\":\"sms\",\"to\":\"02-1\","
             "\"text\":\"a\"}]}", 1, &req, &pb) == -1
       && strcmp(pb.field, "items[1].channel") == 0,
       "bulk: the problem names the item: %s", pb.field);

    ok(parse("{\"items\":[{\"channel\":\"sms\",\"to\":\"01011112222\","
             "\"text\":\"a\"},{\"channel\":\"sms\",\"to\":\"02-1\","
             "\"text\":\"a\"}]}", 1, &req, &pb) == -1
       && strcmp(pb.field, "items[1].to") == 0 && pb.status == 422,
       "bulk: items[1].to");

    ok(parse("{\"items\":[{\"channel\":\"sms\",\"channel\":\"sms\"}]}", 1,
             &req, &pb) == -1 && pb.status == 400
       && strcmp(pb.field, "items[0].channel") == 0,
       "bulk: a duplicate key, by path");

    ok(parse("{\"items\":[1]}", 1, &req, &pb) == -1
       && strcmp(pb.field, "items[0]") == 0, "bulk: an item not an object");
    ok(parse("{\"items\":[]}", 1, &req, &pb) == -1 && pb.status == 422
       && strcmp(pb.field, "items") == 0, "bulk: empty");
    ok(parse("{\"items\":{}}", 1, &req, &pb) == -1 && pb.status == 400,
       "bulk: items not an array");
    ok(parse("{\"items\":[],\"x\":1}", 1, &req, &pb) == -1
       && strcmp(pb.field, "x") == 0, "bulk: nothing but items");
    ok(parse("{\"channel\":\"sms\"}", 1, &req, &pb) == -1
       && strcmp(pb.field, "channel") == 0, "bulk: a single body refused");

    /* 1000 items are taken, 1001 are not */

    body = malloc(1001 * 64 + 32);
    strcpy(body, "{\"items\":[");
    for (i = 0; i < 1000; i++) {
        strcat(body, i ? ",{\"channel\":\"ops\",\"text\":\"x\"}"
                       : "{\"channel\":\"ops\",\"text\":\"x\"}");
    }
    strcat(body, "]}");

    ok(parse(body, 1, &req, &pb) == 0 && req.nitems == 1000, "1000 items");
    integrations_notify_request_free(&req);

    body[strlen(body) - 2] = '\0';
    strcat(body, ",{\"channel\":\"ops\",\"text\":\"x\"}]}");
    ok(parse(body, 1, &req, &pb) == -1 && pb.status == 422
       && strcmp(pb.field, "items") == 0
       && strstr(pb.detail, "1001") != NULL, "1001 refused: %s", pb.detail);
    free(body);
}


static void
test_time(void)
{
    int64_t  t;

    ok(integrations_notify_parse_time(S("2025-07-01T09:00:00+09:00"), &t)
       == 0 && t == NOW, "RFC 3339 with an offset");
    ok(integrations_notify_parse_time(S("2025-07-01T00:00:00.123456Z"), &t)
       == 0 && t == NOW, "with a fraction and Z");
    ok(integrations_notify_parse_time(S("2025-06-30T19:30:00-04:30"), &t)
       == 0 && t == NOW, "a negative offset");
    ok(integrations_notify_parse_time(S("2024-02-29T00:00:00Z"), &t) == 0,
       "a leap day");
    ok(integrations_notify_parse_time(S("2025-02-29T00:00:00Z"), &t) == -1,
       "not a leap year");
    ok(integrations_notify_parse_time(S("2025-07-01T24:00:00Z"), &t) == -1
       && integrations_notify_parse_time(S("2025-07-01T09:00:00"), &t) == -1
       && integrations_notify_parse_time(S("2025-07-01T09:00:00+0900"), &t)
          == -1
       && integrations_notify_parse_time(S("2025-07-01T09:00:00.Z"), &t)
          == -1
       && integrations_notify_parse_time(S("2025-7-01T09:00:00Z"), &t) == -1,
       "malformed times refused");
}


int
main(void)
{
    setup();

    test_email();
    test_sms();
    test_alimtalk();
    test_other_channels();
    test_problems();
    test_bulk();
    test_time();

    teardown();

    return done_testing();
}
