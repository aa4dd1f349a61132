/*
 * The SMTP message: RFC 5322 headers and a MIME body, CRLF everywhere,
 * for libcurl's SMTP upload (CURLOPT_UPLOAD with a read callback over
 * these bytes; CURLOPT_MAIL_FROM and CURLOPT_MAIL_RCPT carry the
 * envelope, not this).
 *
 *   Date: Mon, 01 Jul 2019 00:41:48 +0000
 *   From: =?UTF-8?B?7L+g7YyhIOyEnOygkA==?= <books@example.com>
 *   To: reader@example.net
 *   Subject: =?UTF-8?B?...?=
 *    =?UTF-8?B?...?=                    (folded, 76 columns at most)
 *   Message-ID: <9f86d081884c7d659a2feaa0@example.com>
 *   MIME-Version: 1.0
 *   Content-Type: multipart/alternative; boundary="=_1f2e3d..."
 *
 *   --=_1f2e3d...
 *   Content-Type: text/plain; charset=UTF-8
 *   Content-Transfer-Encoding: base64
 *   ...
 *   --=_1f2e3d...
 *   Content-Type: text/html; charset=UTF-8
 *   ...
 *   --=_1f2e3d...--
 *
 * A subject or display name that is printable ASCII and fits the line is
 * written as it is (a name as a quoted string); anything else becomes
 * RFC 2047 "B" encoded-words of whole UTF-8 characters, each at most 75
 * characters, on lines of at most 76.  Bodies are base64 (76-column
 * lines) of the text with every line break made CRLF (the canonical form
 * of text types).  With text only or HTML only there is one part and no
 * multipart.  The boundary starts "=_", which base64 never produces.
 *
 * Dot-stuffing is libcurl's: it escapes "CRLF." itself (and no line here
 * can start with "." anyway: headers start with a name or a space, base64
 * has no ".").  libcurl does not convert LF to CRLF: this does.
 */

#ifndef INTEGRATIONS_MIME_H
#define INTEGRATIONS_MIME_H

#include <stddef.h>
#include <time.h>

#include "integrations_notify.h"


#define INTEGRATIONS_MIME_RANDOM_BYTES  24  /* 12 Message-ID, 12 boundary */


typedef struct {
    const char           *from_email;   /* normalized addresses */
    size_t                from_email_len;
    const char           *from_name;    /* or NULL */
    size_t                from_name_len;
    const char           *to_email;
    size_t                to_email_len;
    const char           *to_name;      /* or NULL */
    size_t                to_name_len;
    const char           *reply_to;     /* or NULL */
    size_t                reply_to_len;
    const char           *subject;
    size_t                subject_len;
    const char           *text;         /* at least one of text, html */
    size_t                text_len;
    const char           *html;
    size_t                html_len;
    time_t                now;          /* the Date header */
    const unsigned char  *random;       /* INTEGRATIONS_MIME_RANDOM_BYTES */
} integrations_mime_message_t;


/*
 * The whole message, malloc()ed (NUL-terminated, the NUL not counted), or
 * NULL and *why: a subject or name with a control character (a header
 * injection), invalid UTF-8, an address that is not one.
 */
char *integrations_mime_build(const integrations_mime_message_t *m,
    size_t *len, const char **why);

/* "Mon, 01 Jul 2019 00:41:48 +0000" into out (32 bytes) */
void integrations_mime_date(time_t now, char out[32]);

/*
 * The SMTP server's answer to one submission (the glue hands the last
 * reply code as r->status, 0 for no answer, and the transport kind).
 * 250 (any 2xx) is SENT; 530, 534, 535 and 538 (authentication) are
 * RETRYABLE with F_CONFIG; other 4xx (421 closing, 450-452 busy or
 * full) RETRYABLE; 5xx (550 no such mailbox, 552, 553, 554) PERMANENT;
 * anything else (a 3xx last: the exchange broke off) UNKNOWN with
 * F_AMBIGUOUS.  The code is "smtp_NNN".
 */
int integrations_mime_smtp_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res);

#endif /* INTEGRATIONS_MIME_H */
