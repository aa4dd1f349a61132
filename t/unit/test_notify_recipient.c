/*
 * Recipients: normalization per channel, refusals with a reason, masks.
 */

#include "tap.h"
#include "integrations_recipient.h"


typedef struct {
    int          kind;
    unsigned     cc;
    const char  *in;
    const char  *out;                 /* NULL: refused */
} rcpt_case_t;


static const rcpt_case_t  cases[] = {
    /* E.164 for Twilio */
    { INTEGRATIONS_RCPT_E164, 0, "+14155550123", "+14155550123" },
    { INTEGRATIONS_RCPT_E164, 0, " +1 (415) 555-0123 ", "+14155550123" },
    { INTEGRATIONS_RCPT_E164, 0, "0044 20 7946 0958", "+442079460958" },
    { INTEGRATIONS_RCPT_E164, 0, "+82 10-1234-5678", "+821012345678" },
    { INTEGRATIONS_RCPT_E164, 0, "+82 010-1234-5678", "+821012345678" },
    { INTEGRATIONS_RCPT_E164, 82, "010-1234-5678", "+821012345678" },
    { INTEGRATIONS_RCPT_E164, 1, "(415) 555-0123", "+14155550123" },
    { INTEGRATIONS_RCPT_E164, 1, "1 415 555 0123", "+14155550123" },
    { INTEGRATIONS_RCPT_E164, 0, "010-1234-5678", NULL },
    { INTEGRATIONS_RCPT_E164, 82, "821012345678", NULL },
    { INTEGRATIONS_RCPT_E164, 0, "+82 009234-5678", NULL },
    { INTEGRATIONS_RCPT_E164, 0, "+0123456789", NULL },
    { INTEGRATIONS_RCPT_E164, 0, "+1234567890123456", NULL },
    { INTEGRATIONS_RCPT_E164, 0, "+123456", NULL },
    { INTEGRATIONS_RCPT_E164, 0, "+1 415 555 0123 ext 5", NULL },
    { INTEGRATIONS_RCPT_E164, 0, "++14155550123", NULL },
    { INTEGRATIONS_RCPT_E164, 0, "+1415555012３", NULL },
    { INTEGRATIONS_RCPT_E164, 0, "", NULL },

    /* Korean mobiles for Solapi */
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "010-1234-5678", "01012345678" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "010 1234 5678", "01012345678" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "01012345678", "01012345678" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "+82 10-1234-5678", "01012345678" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "+82-010-1234-5678", "01012345678" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "+821012345678", "01012345678" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "0082 10 1234 5678", "01012345678" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "821012345678", "01012345678" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "011-123-4567", "0111234567" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "019-1234-5678", "01912345678" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "010-123-4567", NULL },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "02-312-3456", NULL },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "015-1234-5678", NULL },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "+1 415 555 0123", NULL },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "010-1234-56789", NULL },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "010/1234/5678", NULL },
    /* marketplaces' safe numbers (Coupang's orderer.safeNumber) */
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "0503-1234-5464", "050312345464" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "+82 503-1234-5464", "050312345464" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "0508-1234-5464", "050812345464" },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "0509-1234-5464", NULL },
    { INTEGRATIONS_RCPT_KR_MOBILE, 0, "0503-123-5464", NULL },

    /* email */
    { INTEGRATIONS_RCPT_EMAIL, 0, "Kim.J+books@Example.COM",
      "Kim.J+books@example.com" },
    { INTEGRATIONS_RCPT_EMAIL, 0, " a@b.co ", "a@b.co" },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@한국.kr", "a@xn--3e0b707e.kr" },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@bücher.de", "a@xn--bcher-kva.de" },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@BÜCHER.de", "a@xn--bcher-kva.de" },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@日本語。jp", "a@xn--wgv71a119e.jp" },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@xn--3e0b707e.kr", "a@xn--3e0b707e.kr" },
    { INTEGRATIONS_RCPT_EMAIL, 0, "o'brien@example.ie",
      "o'brien@example.ie" },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@b", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@@b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@b@c.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "@b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, ".a@b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a.@b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a..b@b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a b@b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "\"a\"@b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "홍@b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "Kim <a@b.com>", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@b..com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@b.com.", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@-b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@b_c.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@1.2.3.4", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@[1.2.3.4]", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@b.com\r\nBcc: c@d.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@\xe2\x80\x8b" "b.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0, "a@b\xff.com", NULL },
    { INTEGRATIONS_RCPT_EMAIL, 0,
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.com",
      NULL },

    /* FCM tokens and Slack channels */
    { INTEGRATIONS_RCPT_FCM_TOKEN, 0,
      "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1-PQ.x", 
      "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1-PQ.x" },
    { INTEGRATIONS_RCPT_FCM_TOKEN, 0, "short", NULL },
    { INTEGRATIONS_RCPT_FCM_TOKEN, 0,
      "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1/PQ", NULL },
    { INTEGRATIONS_RCPT_SLACK_CHANNEL, 0, "#orders", "orders" },
    { INTEGRATIONS_RCPT_SLACK_CHANNEL, 0, "주문-알림", "주문-알림" },
    { INTEGRATIONS_RCPT_SLACK_CHANNEL, 0, "C0123ABCD", "C0123ABCD" },
    { INTEGRATIONS_RCPT_SLACK_CHANNEL, 0, "#Orders", NULL },
    { INTEGRATIONS_RCPT_SLACK_CHANNEL, 0, "#a b", NULL },
    { INTEGRATIONS_RCPT_SLACK_CHANNEL, 0, "#", NULL },
    { INTEGRATIONS_RCPT_NONE, 0, "x", NULL },
};


/* a case's input as a test name: control bytes would break TAP lines */

static const char *
printable(const char *s)
{
    static char  buf[128];
    size_t       i;

    snprintf(buf, sizeof(buf), "%s", s);

    for (i = 0; buf[i]; i++) {
        if ((unsigned char) buf[i] < 0x20) {
            buf[i] = '?';
        }
    }

    return buf;
}


static void
test_normalize(void)
{
    int          rc;
    char         out[INTEGRATIONS_RCPT_MAX + 1];
    size_t       i, n;
    const char  *why;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        why = NULL;
        rc = integrations_rcpt_normalize(cases[i].kind, cases[i].cc,
                                         cases[i].in, strlen(cases[i].in),
                                         out, sizeof(out), &n, &why);

        if (cases[i].out) {
            ok(rc == 0 && n == strlen(cases[i].out)
               && strcmp(out, cases[i].out) == 0,
               "%s: \"%s\" -> \"%s\"", integrations_rcpt_kind_text(
                   cases[i].kind), cases[i].in, cases[i].out);
            if (rc != 0) {
                diag("refused: %s; got %s", why, out);
            }

        } else {
            ok(rc == -1 && why != NULL && out[0] == '\0',
               "%s: \"%s\" refused: %s",
               integrations_rcpt_kind_text(cases[i].kind),
               printable(cases[i].in),
               why ? why : "(no reason)");
        }
    }

    ok(integrations_rcpt_normalize(INTEGRATIONS_RCPT_E164, 0, "+14155550123",
                                   12, out, 12, &n, &why) == -1,
       "refused when the result does not fit");
}


static void
test_mask(void)
{
    size_t  i, n;
    char    m[INTEGRATIONS_RCPT_MASK];

    static const struct {
        int          kind;
        const char  *r;
        const char  *mask;
    } masks[] = {
        { INTEGRATIONS_RCPT_KR_MOBILE, "01012345678", "010-****-5678" },
        { INTEGRATIONS_RCPT_KR_MOBILE, "050312345464", "0503-****-5464" },
        { INTEGRATIONS_RCPT_KR_MOBILE, "0111234567", "011-***-4567" },
        { INTEGRATIONS_RCPT_KR_MOBILE, "not a number", "***" },
        { INTEGRATIONS_RCPT_E164, "+14155550123", "+1 ***-***-0123" },
        { INTEGRATIONS_RCPT_E164, "+821012345678", "+82 10-****-5678" },
        { INTEGRATIONS_RCPT_E164, "+442079460958", "+44 ******0958" },
        { INTEGRATIONS_RCPT_E164, "+85291234567", "+852 ****4567" },
        { INTEGRATIONS_RCPT_E164, "+79161234567", "+7 ******4567" },
        { INTEGRATIONS_RCPT_E164, "14155550123", "***" },
        { INTEGRATIONS_RCPT_EMAIL, "john@example.com", "j***@example.com" },
        { INTEGRATIONS_RCPT_EMAIL, "j@example.com", "j***@example.com" },
        { INTEGRATIONS_RCPT_EMAIL, "nobody", "***" },
        { INTEGRATIONS_RCPT_FCM_TOKEN, "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZ",
          "bk3RNw***" },
        { INTEGRATIONS_RCPT_SLACK_CHANNEL, "orders", "orders" },
    };

    for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
        n = integrations_rcpt_mask(masks[i].kind, masks[i].r,
                                   strlen(masks[i].r), m);
        ok(n == strlen(masks[i].mask) && strcmp(m, masks[i].mask) == 0,
           "mask \"%s\" -> \"%s\"", masks[i].r, m);
    }

    n = integrations_rcpt_mask(INTEGRATIONS_RCPT_EMAIL,
                               "a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaa"
                               "aaaaaaaaaaaa.com", 66, m);
    ok(n < INTEGRATIONS_RCPT_MASK && strstr(m, "a***@") == m
       && strstr(m, "...") != NULL, "a long domain is cut: %s", m);
}


static void
test_punycode(void)
{
    char      out[64];
    size_t    n;

    /* RFC 3492 section 7.1 (B): Chinese (simplified) */
    static const unsigned  zh[] = {
        0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48, 0x4E0D, 0x8BF4, 0x4E2D,
        0x6587
    };
    /* (L): 3<nen>B<gumi><kinpachi><sensei> */
    static const unsigned  ja[] = {
        0x0033, 0x5E74, 0x0042, 0x7D44, 0x91D1, 0x516B, 0x5148, 0x751F
    };

    ok(integrations_rcpt_punycode(zh, 9, out, sizeof(out), &n) == 0
       && strcmp(out, "ihqwcrb4cv8a8dqg056pqjye") == 0,
       "RFC 3492 7.1 (B)");
    ok(integrations_rcpt_punycode(ja, 8, out, sizeof(out), &n) == 0
       && strcmp(out, "3B-ww4c5e180e575a65lsy2b") == 0,
       "RFC 3492 7.1 (L)");
    ok(integrations_rcpt_punycode(zh, 9, out, 10, &n) == -1,
       "refused when it does not fit");
}


int
main(void)
{
    test_normalize();
    test_mask();
    test_punycode();

    return done_testing();
}
