/*
 * The outbox sender's decisions (integrations_notify_outbox.h): retries,
 * refusals, ambiguity, fallback, expiry; the alert text, the log line,
 * the stored AlimTalk variables.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "integrations_notify_outbox.h"


static integrations_notify_retry_t  policy = {
    5, 0, 1000, 60000, INTEGRATIONS_RETRY_FULL
};


static void
t_attempt(integrations_notify_attempt_t *a, integrations_notify_result_t *r,
    int outcome, unsigned flags, unsigned attempt)
{
    integrations_notify_result_init(r, 500);
    r->outcome = outcome;
    r->flags = flags;

    memset(a, 0, sizeof(integrations_notify_attempt_t));
    a->result = r;
    a->attempted = 1;
    a->attempt = attempt;
    a->now_ms = 100000;
    a->expires_ms = 100000 + 3600000;
    a->policy = &policy;
    a->rand = 0xffffffffffffULL;
}


int
main(void)
{
    char                            buf[256], *s;
    size_t                          n, len;
    integrations_notify_kv_t        kv[2], *back;
    integrations_notify_log_t       l;
    integrations_notify_result_t    r;
    integrations_notify_attempt_t   a;
    integrations_notify_decision_t  d;

    /* sent */

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_SENT, 0, 1);
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_SENT && !d.alert
       && strcmp(d.outcome, "sent") == 0, "sent: done, no alert");

    /* retryable: backoff within the first bound, then exhausted */

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_RETRYABLE, 0, 1);
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_RETRY && d.next_at >= 100000
       && d.next_at <= 101000 && d.delay_ms == d.next_at - 100000
       && !d.uncount && strcmp(d.outcome, "retry") == 0,
       "retryable after attempt 1: within base (%lld)",
       (long long) d.next_at);

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_RETRYABLE, 0, 4);
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_RETRY && d.next_at <= 108000,
       "  after attempt 4: within base * 8");

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_RETRYABLE, 0, 5);
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_FAILED && d.alert
       && strcmp(d.reason, "exhausted") == 0, "  after the 5th of 5: "
       "failed (exhausted), alert");

    /* Retry-After is respected, even beyond the cap */

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_RETRYABLE, 0, 1);
    r.retry_after = 120;
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_RETRY
       && d.next_at == 100000 + 120000, "a 429's Retry-After: 120 s later");

    /* ... but not past the max age */

    a.expires_ms = 100000 + 60000;
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_FAILED
       && strcmp(d.reason, "expired") == 0,
       "  past the notification's max age: failed (expired)");

    /* refused before it left: not an attempt */

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_RETRYABLE, 0, 3);
    a.attempted = 0;
    a.wait_ms = 2500;
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_RETRY && d.uncount
       && d.next_at == 102500 && strcmp(d.outcome, "refused") == 0,
       "a refusal: queued at its wait, uncounted");

    a.attempt = 5;
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_RETRY && d.uncount,
       "  even at the last attempt: it was not one");

    a.wait_ms = 0;
    integrations_notify_decide(&a, &d);
    ok(d.next_at == 101000, "  with no wait named: a second");

    /* ambiguous: only a deduplicating provider gets it again */

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_RETRYABLE,
              INTEGRATIONS_NOTIFY_F_AMBIGUOUS, 1);
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_UNKNOWN && d.alert
       && strcmp(d.reason, "ambiguous") == 0,
       "a timeout after sending: unknown, alert");

    a.dedupes = 1;
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_RETRY,
       "  retried where the provider deduplicates");

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_UNKNOWN, 0, 1);
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_UNKNOWN,
       "an unreadable 2xx: unknown");

    /* permanent; AlimTalk falls back */

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_PERMANENT, 0, 1);
    a.can_fall_back = 1;
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_FAILED
       && strcmp(d.reason, "permanent") == 0,
       "permanent (a bad number): failed, no fallback");

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_PERMANENT,
              INTEGRATIONS_NOTIFY_F_FALLBACK, 1);
    a.can_fall_back = 1;
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_FALLBACK && !d.alert
       && d.next_at == a.now_ms, "an AlimTalk Kakao cannot deliver: SMS, "
       "now");

    a.can_fall_back = 0;
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_FAILED && d.alert,
       "  without a fallback: failed");

    t_attempt(&a, &r, INTEGRATIONS_NOTIFY_RETRYABLE, 0, 5);
    a.can_fall_back = 1;
    integrations_notify_decide(&a, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_FALLBACK,
       "an AlimTalk whose retries ran out: SMS");

    /* before a send */

    integrations_notify_before_send(0, 0, 1000, 2000, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_SEND, "before: send");
    integrations_notify_before_send(1, 0, 1000, 2000, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_UNKNOWN && d.alert
       && strcmp(d.reason, "interrupted") == 0,
       "  its sender died mid-send, no dedupe: unknown");
    integrations_notify_before_send(1, 1, 1000, 2000, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_SEND,
       "  the provider deduplicates: send again");
    integrations_notify_before_send(0, 0, 3000, 2000, &d);
    ok(d.action == INTEGRATIONS_NOTIFY_DO_FAILED
       && strcmp(d.reason, "expired") == 0, "  past its max age: failed");

    /* the alert */

    n = integrations_notify_alert_text(buf, sizeof(buf), "ntf_1", 5,
                                       "sms", 3, "solapi", 6,
                                       "010-****-5678", 13, "permanent",
                                       "1062", "발신번호 미등록\n");
    is_str(buf, "notification ntf_1 (sms via solapi) to 010-****-5678 "
           "permanent: 1062 발신번호 미등록 ", "the alert text");
    is_int(n, strlen(buf), "  its length");

    n = integrations_notify_alert_text(buf, 40, "ntf_1", 5, "sms", 3,
                                       "solapi", 6, "010-****-5678", 13,
                                       "permanent", NULL, "가나다라마바사");
    ok(n < 40 && integrations_notify_utf8_check((unsigned char *) buf, n)
       == n, "  cut short at a character boundary");

    /* the log line */

    memset(&l, 0, sizeof(l));
    l.id = "ntf_1"; l.id_len = 5;
    l.channel = "sms"; l.channel_len = 3;
    l.provider = "solapi"; l.provider_len = 6;
    l.to_mask = "010-****-5678"; l.to_mask_len = 13;
    l.attempt = 2;
    l.outcome = "sent";
    l.http_status = 200;
    l.duration_ms = 51;
    l.message_id = "M-1";

    s = integrations_notify_log_line(&l, &len);
    is_str(s, "{\"notify\":{\"id\":\"ntf_1\",\"channel\":\"sms\","
           "\"provider\":\"solapi\",\"to\":\"010-****-5678\",\"attempt\":2,"
           "\"outcome\":\"sent\",\"status\":200,\"duration_ms\":51,"
           "\"message_id\":\"M-1\"}}", "the JSON log line");
    free(s);

    /* variables */

    kv[0].key = "이름"; kv[0].key_len = strlen("이름");
    kv[0].value = "홍길동"; kv[0].value_len = strlen("홍길동");
    kv[1].key = "link"; kv[1].key_len = 4;
    kv[1].value = "https://x/\"y\""; kv[1].value_len = 13;

    s = integrations_notify_kv_json(kv, 2, &len);
    ok(s != NULL, "variables as JSON: %s", s ? s : "(null)");
    ok(s && integrations_notify_kv_parse(s, len, &back, &n) == 0 && n == 2
       && strcmp(back[0].key, "이름") == 0
       && strcmp(back[0].value, "홍길동") == 0
       && strcmp(back[1].value, "https://x/\"y\"") == 0,
       "  and back");
    free(back);
    free(s);

    ok(integrations_notify_kv_parse("[1]", 3, &back, &n) == -1,
       "  not an object: refused");
    ok(integrations_notify_kv_parse("{\"a\":1}", 7, &back, &n) == -1,
       "  a value not a string: refused");

    /* Twilio status callbacks */

    {
        integrations_notify_receipt_t  rc;
        const char                    *why;

#define SID "SM0123456789abcdef0123456789abcdef"

        s = "AccountSid=AC1&MessageSid=" SID "&MessageStatus=delivered&To=%2B1";
        ok(integrations_notify_twilio_receipt(s, strlen(s), &rc, &why) == 0
           && rc.status == INTEGRATIONS_NOTIFY_RECEIPT_DELIVERED
           && strcmp(rc.message_id, SID) == 0 && rc.error[0] == '\0',
           "a receipt: delivered");

        s = "MessageSid=" SID "&MessageStatus=undelivered&ErrorCode=30003";
        ok(integrations_notify_twilio_receipt(s, strlen(s), &rc, &why) == 0
           && rc.status == INTEGRATIONS_NOTIFY_RECEIPT_FAILED
           && strcmp(rc.error, "twilio:30003") == 0,
           "  undelivered, with its code");

        s = "MessageSid=" SID "&MessageStatus=sent";
        ok(integrations_notify_twilio_receipt(s, strlen(s), &rc, &why) == 0
           && rc.status == INTEGRATIONS_NOTIFY_RECEIPT_NONE,
           "  sent: nothing final");

        s = "MessageSid=" SID "&MessageStatus=delivered&MessageStatus=failed";
        ok(integrations_notify_twilio_receipt(s, strlen(s), &rc, &why) == -1,
           "  a status twice: refused");

        s = "MessageSid=SM1&MessageStatus=delivered";
        ok(integrations_notify_twilio_receipt(s, strlen(s), &rc, &why) == -1,
           "  a short sid: refused");

        s = "MessageSid=" SID "&MessageStatus=deli%0Avered";
        ok(integrations_notify_twilio_receipt(s, strlen(s), &rc, &why) == -1,
           "  a control character: refused");

        s = "MessageSid=" SID "&MessageStatus=delivered&ErrorCode=3x";
        ok(integrations_notify_twilio_receipt(s, strlen(s), &rc, &why) == -1,
           "  a code that is not a number: refused");

        s = "MessageStatus=delivered";
        ok(integrations_notify_twilio_receipt(s, strlen(s), &rc, &why) == -1,
           "  no sid: refused");

#undef SID
    }

    return done_testing();
}
