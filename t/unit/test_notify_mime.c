/*
 * The SMTP message: headers, RFC 2047 encoded-words of whole characters,
 * 76-column lines, CRLF everywhere, multipart/alternative, base64 bodies.
 */

#include <stdint.h>

#include "tap.h"
#include "integrations_codec.h"
#include "integrations_mime.h"
#include "integrations_notify.h"


static unsigned char  rnd[INTEGRATIONS_MIME_RANDOM_BYTES];


static void
init(integrations_mime_message_t *m)
{
    size_t  i;

    for (i = 0; i < sizeof(rnd); i++) {
        rnd[i] = (unsigned char) (0xa0 + i);
    }

    memset(m, 0, sizeof(integrations_mime_message_t));
    m->from_email = "books@example.com";
    m->from_email_len = strlen(m->from_email);
    m->to_email = "reader@example.net";
    m->to_email_len = strlen(m->to_email);
    m->now = 1561941708;
    m->random = rnd;
}


/* every line ends CRLF, none is longer than max, no bare CR or LF */

static int
lines_ok(const char *s, size_t n, size_t max)
{
    size_t  i, col;

    col = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '\r') {
            if (i + 1 >= n || s[i + 1] != '\n') {
                return 0;
            }
            i++;
            col = 0;
            continue;
        }

        if (s[i] == '\n' || ++col > max) {
            return 0;
        }
    }

    return n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n';
}


/*
 * The header's value with the folding undone and its encoded-words
 * decoded, into out; -1 if a word is malformed, longer than 75, or does
 * not hold whole UTF-8 characters.
 */

static int
header_value(const char *msg, const char *name, char *out, size_t size)
{
    char          *o;
    const char    *p, *end, *q;
    size_t         n, d;
    unsigned char  dec[128];

    p = strstr(msg, name);
    if (p == NULL) {
        return -1;
    }

    p += strlen(name);
    o = out;

    for ( ;; ) {
        end = strstr(p, "\r\n");

        while (p < end) {
            if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
                q = strstr(p + 10, "?=");
                if (q == NULL || q > end || q + 2 - p > 75) {
                    return -1;
                }

                n = q - (p + 10);
                if (integrations_codec_base64_decode(dec, sizeof(dec),
                                                     (unsigned char *) p + 10,
                                                     n, &d) != 0
                    || integrations_notify_utf8_check(dec, d) != d)
                {
                    return -1;
                }

                memcpy(o, dec, d);
                o += d;
                p = q + 2;
                continue;
            }

            *o++ = *p++;
        }

        if (end[2] != ' ') {
            break;
        }

        p = end + 3;                  /* folded: the space was the fold */
    }

    *o = '\0';
    (void) size;

    return 0;
}


static void
test_plain(void)
{
    char                          *msg;
    size_t                         n;
    const char                    *why;
    integrations_mime_message_t    m;

    init(&m);
    m.from_name = "Coupang \"Books\"";
    m.from_name_len = strlen(m.from_name);
    m.subject = "Your order";
    m.subject_len = strlen(m.subject);
    m.text = "Hello,\nline two\r\nend.";
    m.text_len = strlen(m.text);

    msg = integrations_mime_build(&m, &n, &why);

    /* the body: base64 of "Hello,\r\nline two\r\nend." */

    is_str(msg,
           "Date: Mon, 01 Jul 2019 00:41:48 +0000\r\n"
           "From: \"Coupang \\\"Books\\\"\" <books@example.com>\r\n"
           "To: reader@example.net\r\n"
           "Subject: Your order\r\n"
           "Message-ID: <a0a1a2a3a4a5a6a7a8a9aaab@example.com>\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=UTF-8\r\n"
           "Content-Transfer-Encoding: base64\r\n"
           "\r\n"
           "SGVsbG8sDQpsaW5lIHR3bw0KZW5kLg==\r\n",
           "a text-only message, byte for byte");
    ok(lines_ok(msg, n, 76), "CRLF lines of 76 at most");
    free(msg);
}


static void
test_korean(void)
{
    char                          *msg, v[1024], *p;
    size_t                         n;
    const char                    *why;
    integrations_mime_message_t    m;

    static const char  subject[] =
        "[쿠팡 전자책] 홍길동님, 주문하신 전자책이 준비되었습니다. "
        "아래 링크에서 바로 읽으실 수 있습니다 😀";

    init(&m);
    m.from_name = "쿠팡 서점";
    m.from_name_len = strlen(m.from_name);
    m.to_name = "홍길동";
    m.to_name_len = strlen(m.to_name);
    m.reply_to = "help@example.com";
    m.reply_to_len = strlen(m.reply_to);
    m.subject = subject;
    m.subject_len = strlen(subject);
    m.text = "안녕하세요\n감사합니다";
    m.text_len = strlen(m.text);
    m.html = "<p>안녕하세요</p>\n";
    m.html_len = strlen(m.html);

    msg = integrations_mime_build(&m, &n, &why);
    ok(msg != NULL, "a Korean multipart message");
    ok(lines_ok(msg, n, 76), "CRLF lines of 76 at most");

    ok(strstr(msg, "\r\nFrom: =?UTF-8?B?7L+g7YyhIOyEnOygkA==?= "
              "<books@example.com>\r\n") != NULL,
       "the display name as an encoded-word");
    ok(strstr(msg, "\r\nTo: =?UTF-8?B?7ZmN6ri464+Z?= <reader@example.net>\r\n")
       != NULL, "the recipient's name too");
    ok(strstr(msg, "\r\nReply-To: help@example.com\r\n") != NULL,
       "Reply-To");

    ok(header_value(msg, "\r\nSubject: ", v, sizeof(v)) == 0
       && strcmp(v, subject) == 0,
       "the subject's words decode to the subject: whole characters, each "
       "word <= 75");
    ok(strstr(msg, "\r\nSubject: =?UTF-8?B?") != NULL
       && strstr(msg, "?=\r\n =?UTF-8?B?") != NULL,
       "folded into several words");

    ok(strstr(msg, "Content-Type: multipart/alternative; boundary=\""
              "=_acadaeafb0b1b2b3b4b5b6b7\"\r\n") != NULL,
       "multipart/alternative with a =_ boundary");

    p = strstr(msg, "--=_acadaeafb0b1b2b3b4b5b6b7\r\nContent-Type: text/plain; "
               "charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               "7JWI64WV7ZWY7IS47JqUDQrqsJDsgqztlanri4jri6Q=\r\n"
               "--=_acadaeafb0b1b2b3b4b5b6b7\r\nContent-Type: text/html; "
               "charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               "PHA+7JWI64WV7ZWY7IS47JqUPC9wPg0K\r\n"
               "--=_acadaeafb0b1b2b3b4b5b6b7--\r\n");
    ok(p != NULL && p[strlen(p)] == '\0',
       "plain then html, base64 of CRLF text, closing boundary last");

    free(msg);
}


static void
test_long_body(void)
{
    char                          *msg, *body, *p;
    size_t                         n, i;
    const char                    *why;
    integrations_mime_message_t    m;

    init(&m);
    m.subject = "A subject that is plain ASCII but much longer than one "
                "line of seventy-six columns allows";
    m.subject_len = strlen(m.subject);

    body = malloc(10001);
    for (i = 0; i < 10000; i++) {
        body[i] = (i % 100 == 99) ? '\n' : 'a' + i % 26;
    }
    body[10000] = '\0';

    m.html = body;
    m.html_len = 10000;

    msg = integrations_mime_build(&m, &n, &why);
    ok(msg != NULL && lines_ok(msg, n, 76),
       "a long body: base64 in 76-column lines");
    ok(strstr(msg, "Content-Type: text/html; charset=UTF-8\r\n") != NULL
       && strstr(msg, "multipart") == NULL, "html only: one part");
    ok(strstr(msg, "\r\nSubject: =?UTF-8?B?") != NULL,
       "a long ASCII subject is encoded rather than cut");

    /* the body decodes to the text with CRLF line breaks */

    {
        char           *b64, *q, *want;
        size_t          k, d;
        unsigned char  *dec;

        p = strstr(msg, "\r\n\r\n") + 4;
        b64 = malloc(strlen(p) + 1);
        for (q = b64; *p; p++) {
            if (*p != '\r' && *p != '\n') {
                *q++ = *p;
            }
        }

        want = malloc(10200);
        for (i = 0, k = 0; i < 10000; i++) {
            if (body[i] == '\n') {
                want[k++] = '\r';
            }
            want[k++] = body[i];
        }

        dec = malloc(q - b64);
        ok(integrations_codec_base64_decode(dec, q - b64,
                                            (unsigned char *) b64, q - b64,
                                            &d) == 0
           && d == k && memcmp(dec, want, k) == 0,
           "the body is one base64 stream of the CRLF text");
        free(dec);
        free(want);
        free(b64);
    }

    free(msg);
    free(body);
}


static void
test_escapes(void)
{
    char                          *msg, name[46];
    size_t                         n;
    const char                    *why;
    integrations_mime_message_t    m;

    /* 46 backslashes are 92 quoted: the line would be too long */

    init(&m);
    memset(name, '\\', 46);
    m.subject = "s";
    m.subject_len = 1;
    m.to_name = name;
    m.to_name_len = 46;
    m.text = "x";
    m.text_len = 1;

    msg = integrations_mime_build(&m, &n, &why);
    ok(msg != NULL && lines_ok(msg, n, 76)
       && strstr(msg, "\r\nTo: =?UTF-8?B?XFxc") != NULL,
       "a name whose escapes would overflow the line is encoded instead");
    free(msg);
}


static void
test_refused(void)
{
    size_t                        n, i;
    const char                   *why;
    integrations_mime_message_t   m;

    static const struct {
        const char  *subject;
        const char  *from_name;
        const char  *to;
    } bad[] = {
        { "Hi\r\nBcc: victim@example.org", NULL, "a@b.c" },
        { "Hi\n", NULL, "a@b.c" },
        { "Hi", "Kim\r\nBcc: x@y", "a@b.c" },
        { "Hi \xff", NULL, "a@b.c" },
        { "Hi", NULL, "a@b.c>\r\nBcc: <x@y" },
        { "Hi", NULL, "a b@c.d" },
        { "Hi", NULL, "nobody" },
        { "", NULL, "a@b.c" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        init(&m);
        m.subject = bad[i].subject;
        m.subject_len = strlen(bad[i].subject);
        m.from_name = bad[i].from_name;
        m.from_name_len = bad[i].from_name ? strlen(bad[i].from_name) : 0;
        m.to_email = bad[i].to;
        m.to_email_len = strlen(bad[i].to);
        m.text = "x";
        m.text_len = 1;

        why = NULL;
        ok(integrations_mime_build(&m, &n, &why) == NULL && why != NULL,
           "refused (%zu): no header injection, nothing malformed", i);
    }

    init(&m);
    m.subject = "s";
    m.subject_len = 1;
    ok(integrations_mime_build(&m, &n, &why) == NULL, "no body refused");
}


static void
test_date(void)
{
    char  d[32];

    integrations_mime_date(0, d);
    is_str(d, "Thu, 01 Jan 1970 00:00:00 +0000", "RFC 5322 date, epoch");
    integrations_mime_date(1709251199, d);
    is_str(d, "Thu, 29 Feb 2024 23:59:59 +0000", "a leap day");
}


static void
test_smtp_classify(void)
{
    size_t                          i;
    integrations_notify_result_t    res;
    integrations_notify_response_t  r;

    static const struct {
        unsigned     status;
        int          transport;
        int          outcome;
        unsigned     flags;
        const char  *code;
    } cases[] = {
        { 250, 0, INTEGRATIONS_NOTIFY_SENT, 0, "smtp_250" },
        { 535, 0, INTEGRATIONS_NOTIFY_RETRYABLE, INTEGRATIONS_NOTIFY_F_CONFIG,
          "smtp_535" },
        { 530, 0, INTEGRATIONS_NOTIFY_RETRYABLE, INTEGRATIONS_NOTIFY_F_CONFIG,
          "smtp_530" },
        { 421, 0, INTEGRATIONS_NOTIFY_RETRYABLE, 0, "smtp_421" },
        { 452, 0, INTEGRATIONS_NOTIFY_RETRYABLE, 0, "smtp_452" },
        { 550, 0, INTEGRATIONS_NOTIFY_PERMANENT, 0, "smtp_550" },
        { 554, 0, INTEGRATIONS_NOTIFY_PERMANENT, 0, "smtp_554" },
        { 354, 0, INTEGRATIONS_NOTIFY_UNKNOWN, INTEGRATIONS_NOTIFY_F_AMBIGUOUS,
          "smtp_354" },
        { 0, INTEGRATIONS_NOTIFY_T_CONNECT, INTEGRATIONS_NOTIFY_RETRYABLE, 0,
          "connect" },
        { 0, INTEGRATIONS_NOTIFY_T_TIMEOUT, INTEGRATIONS_NOTIFY_RETRYABLE,
          INTEGRATIONS_NOTIFY_F_AMBIGUOUS, "timeout" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&r, 0, sizeof(r));
        r.status = cases[i].status;
        r.transport = cases[i].transport;
        r.retry_after = -1;

        ok(integrations_mime_smtp_classify(&r, &res) == cases[i].outcome
           && res.outcome == cases[i].outcome && res.flags == cases[i].flags,
           "SMTP %u/%d: %s", cases[i].status, cases[i].transport,
           integrations_notify_outcome_name(cases[i].outcome));
        is_str(res.code, cases[i].code, "its code");
    }
}


int
main(void)
{
    test_smtp_classify();
    test_plain();
    test_korean();
    test_long_body();
    test_escapes();
    test_refused();
    test_date();

    return done_testing();
}
