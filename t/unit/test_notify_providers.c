/*
 * Provider wire formats and response classifiers: Solapi, Twilio,
 * SendGrid, Slack; the shared transport and status rules; strict JSON in.
 */

#include <stdint.h>

#include "tap.h"
#include "integrations_notify.h"
#include "integrations_json.h"
#include "integrations_sendgrid.h"
#include "integrations_slack.h"
#include "integrations_solapi.h"
#include "integrations_twilio.h"


#define S(s)  s, sizeof(s) - 1


typedef int (*classify_pt)(const integrations_notify_response_t *r,
    integrations_notify_result_t *res);


static int
classify(classify_pt f, unsigned status, const char *body, int64_t ra,
    integrations_notify_result_t *res)
{
    integrations_notify_response_t  r;

    memset(&r, 0, sizeof(r));
    r.status = status;
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    r.retry_after = ra;

    return f(&r, res);
}


/* the strict parser is common/integrations_json (t/unit/test_json.c) */

static void
test_json(void)
{
    size_t                    n;
    long long                 x;
    yajl_val                  v;
    const char               *s;
    integrations_json_err_t   st;

    v = integrations_json_parse(S("{\"t\":\"a\\tb\\nc\",\"l\":\"a\\tb\","
                                  "\"d\":\"\\u007f\",\"i\":42,"
                                  "\"f\":4.5,\"e\":1e3,\"n\":-7}"), 8,
                                INTEGRATIONS_JSON_UNIQUE_KEYS, &st);
    ok(integrations_notify_json_field(v, "t", 1, &s, &n)
       == 0 && n == 5, "text may hold tab and LF");
    ok(integrations_notify_json_field(v, "l", 0, &s, &n)
       == -1, "a line may not");
    ok(integrations_notify_json_field(v, "d", 1, &s, &n)
       == -1, "DEL is a control character");
    ok(integrations_notify_json_field(v, "i", 1, &s, &n)
       == -1, "a number is not a string");
    ok(integrations_notify_json_int(integrations_json_get(v, "i"), 0, 100, &x)
       == 0 && x == 42, "an integer");
    ok(integrations_notify_json_int(integrations_json_get(v, "n"), -10, 0, &x)
       == 0 && x == -7, "a negative one");
    ok(integrations_notify_json_int(integrations_json_get(v, "i"), 0, 10, &x)
       == -1, "out of range");
    ok(integrations_notify_json_int(integrations_json_get(v, "f"), 0, 10, &x)
       == -1
       && integrations_notify_json_int(integrations_json_get(v, "e"), 0,
                                       10000, &x) == -1,
       "no fractions or exponents");
    is_str(integrations_notify_json_number(integrations_json_get(v, "f")),
           "4.5", "a number's text");
    yajl_tree_free(v);
}


static void
test_common(void)
{
    integrations_notify_result_t    res;
    integrations_notify_response_t  r;
    char                            t[8];

    memset(&r, 0, sizeof(r));
    r.transport = INTEGRATIONS_NOTIFY_T_CONNECT;
    integrations_solapi_classify(&r, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && !(res.flags & INTEGRATIONS_NOTIFY_F_AMBIGUOUS),
       "no connection: retryable, nothing was sent");

    r.transport = INTEGRATIONS_NOTIFY_T_TIMEOUT;
    integrations_twilio_classify(&r, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && (res.flags & INTEGRATIONS_NOTIFY_F_AMBIGUOUS),
       "a timeout: retryable, but it may have been received");

    ok(integrations_notify_copy_text(t, sizeof(t), S("가나다")) == 0
       && strcmp(t, "가나") == 0, "a long text is cut at a character");
    ok(integrations_notify_copy_text(t, sizeof(t), S("a\nb")) == -1
       && t[0] == '\0', "a text with a control byte is not kept");
    ok(integrations_notify_copy_id(t, sizeof(t), S("1234567")) == 0
       && integrations_notify_copy_id(t, sizeof(t), S("12345678")) == -1,
       "a long id is refused, not cut");

    is_str(integrations_notify_outcome_name(INTEGRATIONS_NOTIFY_PERMANENT),
           "permanent", "outcome names");
}


static void
test_solapi(void)
{
    char                            auth[INTEGRATIONS_SOLAPI_AUTH_LEN];
    char                           *body;
    size_t                          n;
    const char                     *why;
    unsigned char                   salt[16];
    integrations_notify_result_t    res;
    integrations_solapi_message_t   m;
    integrations_notify_kv_t        vars[2];

    for (n = 0; n < 16; n++) {
        salt[n] = (unsigned char) n;
    }

    /* HMAC-SHA256("my-secret", date + salt), by Python's hmac */

    n = integrations_solapi_auth(S("NCSAYU7YDBXYORXC"),
                                 (const unsigned char *) "my-secret", 9,
                                 1561941708, salt, auth, sizeof(auth));
    ok(n == strlen(auth), "auth header length");
    is_str(auth, "HMAC-SHA256 apiKey=NCSAYU7YDBXYORXC, "
           "date=2019-07-01T00:41:48Z, "
           "salt=000102030405060708090a0b0c0d0e0f, "
           "signature=138c79cc18addeb65d088c0601dccbe8"
           "c0172282276d105626afe77889eee3a0", "Solapi auth header");

    is_int(integrations_solapi_auth(S("bad key"), (const unsigned char *) "s",
                                    1, 0, salt, auth, sizeof(auth)), 0,
           "an api key with a space is refused");
    is_int(integrations_solapi_auth(S("k,x=y"), (const unsigned char *) "s",
                                    1, 0, salt, auth, sizeof(auth)), 0,
           "one with , or = too");

    memset(&m, 0, sizeof(m));
    m.type = INTEGRATIONS_SOLAPI_SMS;
    m.to = "01012345678";
    m.to_len = 11;
    m.from = "029302266";
    m.from_len = 9;
    m.text = "[쿠팡] 인증번호 123456";
    m.text_len = strlen(m.text);
    m.subject = "ignored";
    m.subject_len = 7;

    body = integrations_solapi_body(&m, &n, &why);
    is_str(body, "{\"message\":{\"to\":\"01012345678\",\"from\":\"029302266\","
           "\"text\":\"[쿠팡] 인증번호 123456\",\"type\":\"SMS\","
           "\"autoTypeDetect\":false}}", "SMS body, no subject");
    free(body);

    m.type = INTEGRATIONS_SOLAPI_LMS;
    m.subject = "주문 안내";
    m.subject_len = strlen(m.subject);
    m.ref = "n-42";
    m.ref_len = 4;
    body = integrations_solapi_body(&m, &n, &why);
    is_str(body, "{\"message\":{\"to\":\"01012345678\",\"from\":\"029302266\","
           "\"text\":\"[쿠팡] 인증번호 123456\",\"type\":\"LMS\","
           "\"subject\":\"주문 안내\",\"autoTypeDetect\":false,"
           "\"customFields\":{\"ref\":\"n-42\"}}}", "LMS body, with subject");
    free(body);

    m.type = INTEGRATIONS_SOLAPI_ATA;
    ok(integrations_solapi_body(&m, &n, &why) == NULL
       && strstr(why, "pfId") != NULL, "ATA without pfId refused");

    vars[0].key = "이름";
    vars[0].key_len = strlen(vars[0].key);
    vars[0].value = "홍길동";
    vars[0].value_len = strlen(vars[0].value);
    vars[1].key = "code";
    vars[1].key_len = 4;
    vars[1].value = "123456";
    vars[1].value_len = 6;

    m.pf_id = "KA01PF190227072057634pRBhbpAw1w1";
    m.pf_id_len = strlen(m.pf_id);
    m.template_id = "TP01";
    m.template_id_len = 4;
    m.variables = vars;
    m.nvariables = 2;
    m.allow_fallback = 1;
    m.ref = NULL;
    m.ref_len = 0;

    body = integrations_solapi_body(&m, &n, &why);
    is_str(body, "{\"message\":{\"to\":\"01012345678\",\"from\":\"029302266\","
           "\"text\":\"[쿠팡] 인증번호 123456\",\"type\":\"ATA\","
           "\"subject\":\"주문 안내\",\"autoTypeDetect\":false,"
           "\"kakaoOptions\":{\"pfId\":\"KA01PF190227072057634pRBhbpAw1w1\","
           "\"templateId\":\"TP01\",\"variables\":{\"#{이름}\":\"홍길동\","
           "\"#{code}\":\"123456\"},\"disableSms\":false}}}",
           "AlimTalk body: kakaoOptions, #{} variables, fallback allowed");
    free(body);

    m.text = "\xff";
    m.text_len = 1;
    ok(integrations_solapi_body(&m, &n, &why) == NULL
       && strstr(why, "UTF-8") != NULL, "invalid UTF-8 refused");

    {
        char  d[16];

        ok(integrations_solapi_sender(S("02-930-2266"), d) == 0
           && strcmp(d, "029302266") == 0, "a sender number");
        ok(integrations_solapi_sender(S("1588-1234"), d) == 0,
           "a representative number");
        ok(integrations_solapi_sender(S("+82 2 930"), d) == -1,
           "not one");
    }

    /* answers */

    classify(integrations_solapi_classify, 200,
             "{\"groupId\":\"G4V\",\"messageId\":\"M4V20190701\","
             "\"statusCode\":\"2000\",\"statusMessage\":\"정상 접수(이통사로 "
             "접수 예정) \",\"to\":\"01000000001\",\"type\":\"SMS\"}", -1,
             &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_SENT
       && strcmp(res.message_id, "M4V20190701") == 0
       && strcmp(res.code, "2000") == 0, "2000: sent, with messageId");

    classify(integrations_solapi_classify, 200,
             "{\"statusCode\":\"1029\",\"statusMessage\":\"EUC-KR\"}", -1,
             &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_PERMANENT
       && strcmp(res.code, "1029") == 0, "1029: permanent");

    classify(integrations_solapi_classify, 200,
             "{\"statusCode\":\"1030\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && (res.flags & INTEGRATIONS_NOTIFY_F_CONFIG),
       "1030 (balance): retryable, the operator's to fix");

    classify(integrations_solapi_classify, 200,
             "{\"statusCode\":\"3104\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_PERMANENT
       && (res.flags & INTEGRATIONS_NOTIFY_F_FALLBACK),
       "3104 (not a KakaoTalk user): permanent, SMS may replace it");

    classify(integrations_solapi_classify, 200,
             "{\"statusCode\":\"2000\",\"messageId\":\"M\\n1\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_UNKNOWN
       && res.message_id[0] == '\0',
       "an id with a control character is not kept: unknown");

    classify(integrations_solapi_classify, 200,
             "{\"statusCode\":\"2000\",\"messageId\":\"M1\\u0000x\"}", -1,
             &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_UNKNOWN,
       "an id with a NUL: unknown, not a cut id");

    classify(integrations_solapi_classify, 200, "not json", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_UNKNOWN, "200 not JSON: unknown");

    classify(integrations_solapi_classify, 403,
             "{\"errorCode\":\"SignatureDoesNotMatch\",\"errorMessage\":"
             "\"bad\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && (res.flags & INTEGRATIONS_NOTIFY_F_CONFIG)
       && strcmp(res.code, "SignatureDoesNotMatch") == 0,
       "403 bad signature: retryable, config");

    classify(integrations_solapi_classify, 403,
             "{\"errorCode\":\"DuplicatedSignature\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && !(res.flags & INTEGRATIONS_NOTIFY_F_CONFIG),
       "duplicated signature: retry with a new salt");

    classify(integrations_solapi_classify, 400,
             "{\"errorCode\":\"ValidationError\",\"errorMessage\":\"to\"}",
             -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_PERMANENT
       && strcmp(res.text, "to") == 0, "400 validation: permanent");

    classify(integrations_solapi_classify, 503, "", 7, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE && res.retry_after == 7,
       "503: retryable with Retry-After");
}


static void
test_twilio(void)
{
    char                            *body;
    size_t                           n;
    const char                      *why;
    integrations_notify_result_t     res;
    integrations_twilio_message_t    m;
    char                             big[1700 * 4];

    memset(&m, 0, sizeof(m));
    m.to = "+14155550123";
    m.to_len = 12;
    m.from = "+15005550006";
    m.from_len = 12;
    m.body = "Hi Kim & co: 100% 쿠팡";
    m.body_len = strlen(m.body);
    m.status_callback = "https://gw.example.com/hooks/twilio?n=1";
    m.status_callback_len = strlen(m.status_callback);

    body = integrations_twilio_body(&m, &n, &why);
    is_str(body, "To=%2B14155550123&From=%2B15005550006&"
           "Body=Hi+Kim+%26+co%3A+100%25+%EC%BF%A0%ED%8C%A1&"
           "StatusCallback=https%3A%2F%2Fgw.example.com%2Fhooks%2Ftwilio"
           "%3Fn%3D1", "Twilio form body");
    free(body);

    m.messaging_service_sid = "MG9752274e9e519418a7406176694466fa";
    m.messaging_service_sid_len = 34;
    m.status_callback_len = 0;
    body = integrations_twilio_body(&m, &n, &why);
    is_str(body, "To=%2B14155550123&"
           "MessagingServiceSid=MG9752274e9e519418a7406176694466fa&"
           "Body=Hi+Kim+%26+co%3A+100%25+%EC%BF%A0%ED%8C%A1",
           "a messaging service picks the sender");
    free(body);

    ok(integrations_twilio_sid_valid(S("MG9752274e9e519418a7406176694466fa"),
                                     "MG")
       && !integrations_twilio_sid_valid(
               S("MG9752274e9e519418a7406176694466f/"), "MG"), "sid check");

    memset(big, 'a', 1601);
    m.body = big;
    m.body_len = 1601;
    ok(integrations_twilio_body(&m, &n, &why) == NULL,
       "a body over 1600 characters is refused");
    for (n = 0; n < 801; n++) {
        memcpy(big + 4 * n, "\xf0\x9f\x98\x80", 4);
    }
    m.body_len = 4 * 801;
    ok(integrations_twilio_body(&m, &n, &why) == NULL,
       "801 emoji are 1602 UTF-16 units: refused");

    classify(integrations_twilio_classify, 201,
             "{\"sid\":\"SM1f0e\",\"status\":\"queued\",\"to\":\"+1415\"}", -1,
             &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_SENT
       && strcmp(res.message_id, "SM1f0e") == 0, "201 queued: sent");

    classify(integrations_twilio_classify, 201,
             "{\"sid\":\"SM1\",\"status\":\"failed\",\"error_code\":30007,"
             "\"error_message\":\"filtered\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_PERMANENT
       && strcmp(res.code, "30007") == 0, "201 failed: permanent");

    classify(integrations_twilio_classify, 400,
             "{\"code\":21211,\"message\":\"The 'To' number is not valid.\","
             "\"more_info\":\"https://www.twilio.com/docs/errors/21211\","
             "\"status\":400}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_PERMANENT
       && strcmp(res.code, "21211") == 0
       && strstr(res.text, "not valid") != NULL, "21211: permanent");

    classify(integrations_twilio_classify, 429,
             "{\"code\":20429,\"message\":\"Too Many Requests\"}", 3, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE && res.retry_after == 3,
       "20429: retryable with Retry-After");

    classify(integrations_twilio_classify, 401,
             "{\"code\":20003,\"message\":\"Authenticate\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && (res.flags & INTEGRATIONS_NOTIFY_F_CONFIG), "20003: config");

    classify(integrations_twilio_classify, 400,
             "{\"code\":21606,\"message\":\"From\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && (res.flags & INTEGRATIONS_NOTIFY_F_CONFIG), "21606: config");

    classify(integrations_twilio_classify, 500, "<html>", -1, &res);
    is_int(res.outcome, INTEGRATIONS_NOTIFY_RETRYABLE, "500: retryable");

    classify(integrations_twilio_classify, 201, "{\"status\":\"queued\"}", -1,
             &res);
    is_int(res.outcome, INTEGRATIONS_NOTIFY_UNKNOWN, "201 without sid");
}


static void
test_sendgrid(void)
{
    char                               *body;
    size_t                              n;
    const char                         *why;
    integrations_notify_result_t        res;
    integrations_notify_response_t      r;
    integrations_sendgrid_message_t     m;

    memset(&m, 0, sizeof(m));
    m.from_email = "books@example.com";
    m.from_email_len = strlen(m.from_email);
    m.from_name = "Coupang Books";
    m.from_name_len = strlen(m.from_name);
    m.to_email = "reader@example.net";
    m.to_email_len = strlen(m.to_email);
    m.to_name = "홍길동";
    m.to_name_len = strlen(m.to_name);
    m.subject = "주문 확인";
    m.subject_len = strlen(m.subject);
    m.text = "안녕하세요\n";
    m.text_len = strlen(m.text);
    m.html = "<p>안녕하세요</p>";
    m.html_len = strlen(m.html);
    m.ref = "n-7";
    m.ref_len = 3;

    body = integrations_sendgrid_body(&m, &n, &why);
    is_str(body, "{\"personalizations\":[{\"to\":[{\"email\":"
           "\"reader@example.net\",\"name\":\"홍길동\"}],\"custom_args\":"
           "{\"ref\":\"n-7\"}}],\"from\":{\"email\":\"books@example.com\","
           "\"name\":\"Coupang Books\"},\"subject\":\"주문 확인\","
           "\"content\":[{\"type\":\"text/plain\",\"value\":\"안녕하세요\\n\"},"
           "{\"type\":\"text/html\",\"value\":\"<p>안녕하세요</p>\"}]}",
           "SendGrid body: plain first, then html");
    free(body);

    m.from_name = "쿠팡";
    m.from_name_len = strlen(m.from_name);
    ok(integrations_sendgrid_body(&m, &n, &why) == NULL,
       "Unicode in the from name is refused");
    m.from_name_len = 0;
    m.to_name = "Kim, J";
    m.to_name_len = 6;
    ok(integrations_sendgrid_body(&m, &n, &why) == NULL,
       "a comma in a recipient's name is refused");

    memset(&r, 0, sizeof(r));
    r.status = 202;
    r.message_id = "W-yKsT1lQWa";
    r.message_id_len = 11;
    r.retry_after = -1;
    integrations_sendgrid_classify(&r, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_SENT
       && strcmp(res.message_id, "W-yKsT1lQWa") == 0,
       "202: sent, X-Message-Id kept");

    classify(integrations_sendgrid_classify, 400,
             "{\"errors\":[{\"message\":\"The content value must be a string "
             "at least one character in length.\",\"field\":"
             "\"content.0.value\",\"help\":null}]}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_PERMANENT
       && strcmp(res.code, "content.0.value") == 0
       && strstr(res.text, "content value") != NULL,
       "400: permanent, naming the field");

    classify(integrations_sendgrid_classify, 429,
             "{\"errors\":[{\"field\":null,\"message\":\"too many "
             "requests\"}]}", 12, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE && res.retry_after == 12,
       "429: retryable");

    classify(integrations_sendgrid_classify, 401, "", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && (res.flags & INTEGRATIONS_NOTIFY_F_CONFIG), "401: config");

    classify(integrations_sendgrid_classify, 413, "{}", -1, &res);
    is_int(res.outcome, INTEGRATIONS_NOTIFY_PERMANENT, "413: permanent");
}


static void
test_slack(void)
{
    char                          *body;
    size_t                         n;
    const char                    *why;
    integrations_notify_result_t   res;

    body = integrations_slack_post_body(S("C0123ABCD"), S("주문 <1> & \"2\""),
                                        &n, &why);
    is_str(body, "{\"channel\":\"C0123ABCD\","
           "\"text\":\"주문 <1> & \\\"2\\\"\"}",
           "chat.postMessage body");
    free(body);

    body = integrations_slack_webhook_body(S("hi"), &n, &why);
    is_str(body, "{\"text\":\"hi\"}", "webhook body");
    free(body);

    ok(integrations_slack_post_body(S("C1"), "", 0, &n, &why) == NULL,
       "empty text refused");

    classify(integrations_slack_classify, 200,
             "{\"ok\":true,\"channel\":\"C0123ABCD\",\"ts\":"
             "\"1503435956.000247\",\"message\":{\"text\":\"x\"}}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_SENT
       && strcmp(res.message_id, "C0123ABCD/1503435956.000247") == 0,
       "ok:true: sent, channel/ts");

    classify(integrations_slack_classify, 200,
             "{\"ok\":false,\"error\":\"channel_not_found\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_PERMANENT
       && strcmp(res.code, "channel_not_found") == 0,
       "ok:false inside a 200 is a failure");

    classify(integrations_slack_classify, 200,
             "{\"ok\":false,\"error\":\"ratelimited\"}", 30, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE && res.retry_after == 30,
       "ratelimited: retryable");

    classify(integrations_slack_classify, 200,
             "{\"ok\":false,\"error\":\"fatal_error\"}", -1, &res);
    is_int(res.outcome, INTEGRATIONS_NOTIFY_UNKNOWN,
           "fatal_error: it may have posted");

    classify(integrations_slack_classify, 200,
             "{\"ok\":false,\"error\":\"invalid_auth\"}", -1, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && (res.flags & INTEGRATIONS_NOTIFY_F_CONFIG), "invalid_auth: config");

    classify(integrations_slack_classify, 429, "", 5, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE && res.retry_after == 5,
       "429: Retry-After honoured");

    classify(integrations_slack_classify, 200, "{\"ok\":\"yes\"}", -1, &res);
    is_int(res.outcome, INTEGRATIONS_NOTIFY_UNKNOWN, "ok not a boolean");

    classify(integrations_slack_webhook_classify, 200, "ok", -1, &res);
    is_int(res.outcome, INTEGRATIONS_NOTIFY_SENT, "webhook ok");
    classify(integrations_slack_webhook_classify, 400, "invalid_payload", -1,
             &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_PERMANENT
       && strcmp(res.code, "invalid_payload") == 0, "invalid_payload");
    classify(integrations_slack_webhook_classify, 404, "no_service", -1,
             &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && (res.flags & INTEGRATIONS_NOTIFY_F_CONFIG),
       "a revoked webhook URL is configuration");
    classify(integrations_slack_webhook_classify, 500, "rollup_error", -1,
             &res);
    is_int(res.outcome, INTEGRATIONS_NOTIFY_RETRYABLE, "500: retryable");
    classify(integrations_slack_webhook_classify, 429, "", 9, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE && res.retry_after == 9,
       "webhook 429");
}


int
main(void)
{
    test_json();
    test_common();
    test_solapi();
    test_twilio();
    test_sendgrid();
    test_slack();

    return done_testing();
}
