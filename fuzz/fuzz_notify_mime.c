/*
 * libFuzzer target: the SMTP message from any subject, names and bodies
 * (the input split in four at 0x00 bytes).  A message that builds has
 * CRLF lines of at most 76 columns, headers that are only the ones it
 * writes (no injected header), and encoded-words of at most 75.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_mime.h"


static const char  *headers[] = {
    "Date: ", "From: ", "To: ", "Subject: ", "Message-ID: ",
    "MIME-Version: ", "Content-Type: ", "Content-Transfer-Encoding: ", " ",
    NULL
};


static void
check(const char *msg, size_t n)
{
    size_t       i, k, col;
    const char  *line, *end;

    col = 0;

    for (i = 0; i < n; i++) {
        if (msg[i] == '\r') {
            if (i + 1 >= n || msg[i + 1] != '\n') {
                abort();
            }
            i++;
            col = 0;
            continue;
        }

        if (msg[i] == '\n' || ++col > 76) {
            abort();
        }
    }

    /* every header line is one of ours, or a fold */

    end = strstr(msg, "\r\n\r\n");
    if (end == NULL) {
        abort();
    }

    for (line = msg; line < end; line = strstr(line, "\r\n") + 2) {
        for (k = 0; headers[k]; k++) {
            if (strncmp(line, headers[k], strlen(headers[k])) == 0) {
                break;
            }
        }

        if (headers[k] == NULL) {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                         *msg;
    size_t                        n, i, part[4], at, len;
    const char                   *why, *s;
    unsigned char                 rnd[INTEGRATIONS_MIME_RANDOM_BYTES];
    integrations_mime_message_t   m;

    memset(rnd, 0x5a, sizeof(rnd));
    memset(part, 0, sizeof(part));

    s = (const char *) data;
    at = 0;

    for (i = 0; i < 4; i++) {
        const char  *z = memchr(s + at, '\0', size - at);

        len = z ? (size_t) (z - (s + at)) : size - at;
        part[i] = at;
        at += len + (z != NULL);

        if (at > size) {
            at = size;
        }
    }

    memset(&m, 0, sizeof(m));
    m.from_email = "books@example.com";
    m.from_email_len = 17;
    m.to_email = "reader@example.net";
    m.to_email_len = 18;
    m.now = 1561941708;
    m.random = rnd;

    m.subject = s + part[0];
    m.subject_len = strnlen(m.subject, size - part[0]);
    m.from_name = s + part[1];
    m.from_name_len = part[1] < size ? strnlen(m.from_name, size - part[1])
                                     : 0;
    m.to_name = s + part[2];
    m.to_name_len = part[2] < size ? strnlen(m.to_name, size - part[2]) : 0;
    m.text = s + part[3];
    m.text_len = part[3] < size ? size - part[3] : 0;
    m.html = m.text;
    m.html_len = (size & 1) ? m.text_len : 0;

    msg = integrations_mime_build(&m, &n, &why);

    if (msg != NULL) {
        if (strlen(msg) != n) {
            /* a body may hold NUL bytes only inside base64: never raw */
            abort();
        }

        check(msg, n);
        free(msg);
    }

    return 0;
}
