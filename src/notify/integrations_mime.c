/*
 * The SMTP message: see integrations_mime.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_codec.h"
#include "integrations_mime.h"
#include "integrations_notify.h"


#define INTEGRATIONS_MIME_LINE  76        /* RFC 2047's limit for lines with
                                             encoded-words; also ours */
#define INTEGRATIONS_MIME_WORD  "=?UTF-8?B?"


static int integrations_mime_header_ok(const char *s, size_t n);
static int integrations_mime_plain(const char *s, size_t n);
static int integrations_mime_address_ok(const char *s, size_t n);
static void integrations_mime_words(integrations_notify_buf_t *b,
    size_t *col, const char *s, size_t n);
static void integrations_mime_mailbox(integrations_notify_buf_t *b,
    const char *header, const char *email, size_t elen, const char *name,
    size_t nlen);
static void integrations_mime_part(integrations_notify_buf_t *b,
    const char *type, const char *s, size_t n);
static void integrations_mime_base64(integrations_notify_buf_t *b,
    const char *s, size_t n);


static const char  *integrations_mime_days[] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};

static const char  *integrations_mime_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};


void
integrations_mime_date(time_t now, char out[32])
{
    integrations_notify_tm_t  tm;

    integrations_notify_utc(now, &tm);

    /* names from tables, not strftime(): the locale must not matter */

    snprintf(out, 32, "%s, %02u %s %04u %02u:%02u:%02u +0000",
             integrations_mime_days[tm.wday % 7], tm.day % 100,
             integrations_mime_months[(tm.month - 1) % 12],
             (unsigned) (tm.year % 10000), tm.hour % 100, tm.min % 100,
             tm.sec % 100);
}


/* valid UTF-8 and no control byte: nothing that could end a header */

static int
integrations_mime_header_ok(const char *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return integrations_notify_utf8_check((const unsigned char *) s, n) == n;
}


/* printable ASCII that no reader could take for an encoded-word */

static int
integrations_mime_plain(const char *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e) {
            return 0;
        }

        if (s[i] == '=' && i + 1 < n && s[i + 1] == '?') {
            return 0;
        }
    }

    return 1;
}


static int
integrations_mime_address_ok(const char *s, size_t n)
{
    size_t  i;

    if (n == 0 || n > 254 || memchr(s, '@', n) == NULL) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f
            || s[i] == '<' || s[i] == '>' || s[i] == '"' || s[i] == ','
            || s[i] == '(' || s[i] == ')' || s[i] == '\\')
        {
            return 0;
        }
    }

    return 1;
}


/*
 * s as encoded-words from column *col on: each as many whole characters
 * as fit the line, the next on a folded line (CRLF SPACE).
 */

static void
integrations_mime_words(integrations_notify_buf_t *b, size_t *col,
    const char *s, size_t n)
{
    size_t          i, take, room, k;
    uint32_t        cp;
    unsigned char   enc[64];

    i = 0;

    while (i < n) {
        /* base64 characters that fit: the word's 12 bytes of frame too */

        room = (*col + 12 < INTEGRATIONS_MIME_LINE)
               ? ((INTEGRATIONS_MIME_LINE - *col - 12) / 4) * 3 : 0;

        if (room < 4) {
            integrations_notify_buf_add(b, "\r\n ", 3);
            *col = 1;
            continue;
        }

        take = 0;

        while (i + take < n) {
            k = integrations_notify_utf8_next((const unsigned char *) s + i
                                              + take, n - i - take, &cp);
            if (k == 0) {
                k = 1;                /* checked before: cannot happen */
            }

            if (take + k > room) {
                break;
            }

            take += k;
        }

        k = integrations_codec_base64_encode(enc, (const unsigned char *) s
                                             + i, take);

        integrations_notify_buf_adds(b, INTEGRATIONS_MIME_WORD);
        integrations_notify_buf_add(b, enc, k);
        integrations_notify_buf_add(b, "?=", 2);

        *col += 12 + k;
        i += take;

        if (i < n) {
            integrations_notify_buf_add(b, "\r\n ", 3);
            *col = 1;
        }
    }
}


static void
integrations_mime_mailbox(integrations_notify_buf_t *b, const char *header,
    const char *email, size_t elen, const char *name, size_t nlen)
{
    size_t  col, i, quoted;

    integrations_notify_buf_adds(b, header);
    integrations_notify_buf_add(b, ": ", 2);
    col = strlen(header) + 2;

    if (nlen == 0) {
        integrations_notify_buf_add(b, email, elen);
        integrations_notify_buf_add(b, "\r\n", 2);
        return;
    }

    /* a quoted string, with its escapes, if it fits the line */

    quoted = nlen + 2;

    for (i = 0; i < nlen; i++) {
        quoted += (name[i] == '"' || name[i] == '\\');
    }

    if (integrations_mime_plain(name, nlen)
        && col + quoted <= INTEGRATIONS_MIME_LINE)
    {
        integrations_notify_buf_addc(b, '"');

        for (i = 0; i < nlen; i++) {
            if (name[i] == '"' || name[i] == '\\') {
                integrations_notify_buf_addc(b, '\\');
            }

            integrations_notify_buf_addc(b, name[i]);
        }

        integrations_notify_buf_addc(b, '"');
        col += quoted;

    } else {
        integrations_mime_words(b, &col, name, nlen);
    }

    if (col + 3 + elen > INTEGRATIONS_MIME_LINE) {
        integrations_notify_buf_add(b, "\r\n", 2);
    }

    integrations_notify_buf_add(b, " <", 2);
    integrations_notify_buf_add(b, email, elen);
    integrations_notify_buf_add(b, ">\r\n", 3);
}


char *
integrations_mime_build(const integrations_mime_message_t *m, size_t *len,
    const char **why)
{
    char                        date[32], hex[25], boundary[32];
    size_t                      col;
    const char                 *domain;
    integrations_notify_buf_t   b;

    if (!integrations_mime_address_ok(m->from_email, m->from_email_len)
        || !integrations_mime_address_ok(m->to_email, m->to_email_len)
        || (m->reply_to_len
            && !integrations_mime_address_ok(m->reply_to, m->reply_to_len)))
    {
        *why = "an address is not one";
        return NULL;
    }

    if (m->subject_len == 0 || (m->text_len == 0 && m->html_len == 0)) {
        *why = "a subject, and text or html, are needed";
        return NULL;
    }

    if (!integrations_mime_header_ok(m->subject, m->subject_len)
        || !integrations_mime_header_ok(m->from_name, m->from_name_len)
        || !integrations_mime_header_ok(m->to_name, m->to_name_len))
    {
        *why = "a subject or name holds a control character or is not "
               "UTF-8";
        return NULL;
    }

    if (integrations_notify_utf8_check((const unsigned char *) m->text,
                                       m->text_len) != m->text_len
        || integrations_notify_utf8_check((const unsigned char *) m->html,
                                          m->html_len) != m->html_len)
    {
        *why = "a body is not UTF-8";
        return NULL;
    }

    memset(&b, 0, sizeof(integrations_notify_buf_t));

    integrations_mime_date(m->now, date);
    integrations_notify_buf_add(&b, "Date: ", 6);
    integrations_notify_buf_adds(&b, date);
    integrations_notify_buf_add(&b, "\r\n", 2);

    integrations_mime_mailbox(&b, "From", m->from_email, m->from_email_len,
                              m->from_name, m->from_name_len);
    integrations_mime_mailbox(&b, "To", m->to_email, m->to_email_len,
                              m->to_name, m->to_name_len);

    if (m->reply_to_len) {
        integrations_mime_mailbox(&b, "Reply-To", m->reply_to,
                                  m->reply_to_len, NULL, 0);
    }

    integrations_notify_buf_add(&b, "Subject: ", 9);
    col = 9;

    if (integrations_mime_plain(m->subject, m->subject_len)
        && col + m->subject_len <= INTEGRATIONS_MIME_LINE)
    {
        integrations_notify_buf_add(&b, m->subject, m->subject_len);

    } else {
        integrations_mime_words(&b, &col, m->subject, m->subject_len);
    }

    integrations_notify_buf_add(&b, "\r\n", 2);

    /* <random@the sender's domain>: unique, and says who made it */

    domain = memchr(m->from_email, '@', m->from_email_len);
    domain++;

    integrations_codec_hex_encode((unsigned char *) hex, m->random, 12);
    hex[24] = '\0';

    integrations_notify_buf_add(&b, "Message-ID: <", 13);
    integrations_notify_buf_add(&b, hex, 24);
    integrations_notify_buf_addc(&b, '@');
    integrations_notify_buf_add(&b, domain,
                                m->from_email + m->from_email_len - domain);
    integrations_notify_buf_add(&b, ">\r\n", 3);

    integrations_notify_buf_adds(&b, "MIME-Version: 1.0\r\n");

    if (m->text_len && m->html_len) {
        memcpy(boundary, "=_", 2);
        integrations_codec_hex_encode((unsigned char *) boundary + 2,
                                      m->random + 12, 12);
        boundary[26] = '\0';

        integrations_notify_buf_adds(&b, "Content-Type: multipart/alternative;"
                                     " boundary=\"");
        integrations_notify_buf_adds(&b, boundary);
        integrations_notify_buf_adds(&b, "\"\r\n\r\n");

        /* plain first: the last part is the one readers prefer */

        integrations_notify_buf_add(&b, "--", 2);
        integrations_notify_buf_adds(&b, boundary);
        integrations_notify_buf_add(&b, "\r\n", 2);
        integrations_mime_part(&b, "text/plain", m->text, m->text_len);

        integrations_notify_buf_add(&b, "--", 2);
        integrations_notify_buf_adds(&b, boundary);
        integrations_notify_buf_add(&b, "\r\n", 2);
        integrations_mime_part(&b, "text/html", m->html, m->html_len);

        integrations_notify_buf_add(&b, "--", 2);
        integrations_notify_buf_adds(&b, boundary);
        integrations_notify_buf_add(&b, "--\r\n", 4);

    } else if (m->text_len) {
        integrations_mime_part(&b, "text/plain", m->text, m->text_len);

    } else {
        integrations_mime_part(&b, "text/html", m->html, m->html_len);
    }

    *why = "out of memory";

    return integrations_notify_buf_done(&b, len);
}


static void
integrations_mime_part(integrations_notify_buf_t *b, const char *type,
    const char *s, size_t n)
{
    integrations_notify_buf_adds(b, "Content-Type: ");
    integrations_notify_buf_adds(b, type);
    integrations_notify_buf_adds(b, "; charset=UTF-8\r\n"
                                 "Content-Transfer-Encoding: base64\r\n\r\n");
    integrations_mime_base64(b, s, n);
}


/*
 * base64 of the text with CRLF line breaks, in lines of 76 characters
 * ending CRLF: the text is made canonical first, so that the base64 is
 * one stream (no padding inside it).
 */

static void
integrations_mime_base64(integrations_notify_buf_t *b, const char *s,
    size_t n)
{
    size_t                      i, e;
    unsigned char              *enc;
    integrations_notify_buf_t   c;

    memset(&c, 0, sizeof(integrations_notify_buf_t));

    for (i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            integrations_notify_buf_add(&c, "\r\n", 2);

            if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
                i++;
            }

            continue;
        }

        integrations_notify_buf_addc(&c, s[i]);
    }

    if (c.failed) {
        b->failed = 1;
        return;
    }

    enc = malloc(INTEGRATIONS_CODEC_BASE64_LEN(c.len) + 1);
    if (enc == NULL) {
        integrations_notify_buf_free(&c);
        b->failed = 1;
        return;
    }

    e = integrations_codec_base64_encode(enc, (unsigned char *) c.data,
                                         c.len);
    integrations_notify_buf_free(&c);

    for (i = 0; i < e; i += 76) {
        integrations_notify_buf_add(b, enc + i, e - i > 76 ? 76 : e - i);
        integrations_notify_buf_add(b, "\r\n", 2);
    }

    free(enc);
}


int
integrations_mime_smtp_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res)
{
    unsigned  s;

    if (integrations_notify_classify_transport(r, res)) {
        return res->outcome;
    }

    s = r->status;

    if (s >= 100 && s < 600) {
        snprintf(res->code, sizeof(res->code), "smtp_%u", s);
    }

    if (s >= 200 && s < 300) {
        res->outcome = INTEGRATIONS_NOTIFY_SENT;

    } else if (s == 530 || s == 534 || s == 535 || s == 538) {
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->flags |= INTEGRATIONS_NOTIFY_F_CONFIG;

    } else if (s >= 400 && s < 500) {
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;

    } else if (s >= 500 && s < 600) {
        res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;

    } else {
        res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
        res->flags |= INTEGRATIONS_NOTIFY_F_AMBIGUOUS;
    }

    return res->outcome;
}
