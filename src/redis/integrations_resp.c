/*
 * RESP2, the Redis protocol: see integrations_resp.h.
 */

#include <string.h>

#include "integrations_resp.h"


static size_t integrations_resp_digits(size_t n);
static unsigned char *integrations_resp_number(unsigned char *p, char type,
    size_t n);
static int integrations_resp_line(const unsigned char *p,
    const unsigned char *end, const unsigned char **eol, const char **err);
static int integrations_resp_int(const unsigned char *p,
    const unsigned char *eol, int64_t *value);


size_t
integrations_resp_array_len(size_t n)
{
    return 1 + integrations_resp_digits(n) + 2;
}


unsigned char *
integrations_resp_array(unsigned char *out, size_t n)
{
    return integrations_resp_number(out, '*', n);
}


size_t
integrations_resp_bulk_len(size_t len)
{
    return 1 + integrations_resp_digits(len) + 2 + len + 2;
}


unsigned char *
integrations_resp_bulk(unsigned char *out, const unsigned char *data,
    size_t len)
{
    out = integrations_resp_number(out, '$', len);

    if (len) {
        memcpy(out, data, len);
        out += len;
    }

    *out++ = '\r';
    *out++ = '\n';

    return out;
}


size_t
integrations_resp_command_len(size_t argc, const unsigned char *const *argv,
    const size_t *lens)
{
    size_t  i, n;

    (void) argv;

    n = integrations_resp_array_len(argc);

    for (i = 0; i < argc; i++) {
        n += integrations_resp_bulk_len(lens[i]);
    }

    return n;
}


unsigned char *
integrations_resp_command(unsigned char *out, size_t argc,
    const unsigned char *const *argv, const size_t *lens)
{
    size_t  i;

    out = integrations_resp_array(out, argc);

    for (i = 0; i < argc; i++) {
        out = integrations_resp_bulk(out, argv[i], lens[i]);
    }

    return out;
}


/*
 * Values are read in pre-order; need[d] counts the elements still to come
 * in the array open at depth d.  A value that is not a non-empty array
 * completes one element of the innermost open array, and an array so
 * completed completes one of its parent's.
 */

int
integrations_resp_parse(const unsigned char *in, size_t len,
    integrations_resp_reply_t *reply, size_t *used, const char **err)
{
    int64_t                     n;
    size_t                      depth;
    int64_t                     need[INTEGRATIONS_RESP_MAX_DEPTH];
    const unsigned char        *p, *end, *eol;
    integrations_resp_value_t  *v;
    int                         rc;

    p = in;
    end = in + len;
    depth = 0;
    reply->n = 0;

    for ( ;; ) {

        if (p == end) {
            return INTEGRATIONS_RESP_AGAIN;
        }

        rc = integrations_resp_line(p + 1, end, &eol, err);
        if (rc != INTEGRATIONS_RESP_OK) {
            return rc;
        }

        if (reply->n == INTEGRATIONS_RESP_MAX_VALUES) {
            *err = "too many values in a reply";
            return INTEGRATIONS_RESP_INVALID;
        }

        v = &reply->v[reply->n];
        v->integer = 0;
        v->data = NULL;
        v->len = 0;

        switch (*p) {

        case '+':
        case '-':
            v->type = (*p == '+') ? INTEGRATIONS_RESP_STATUS
                                  : INTEGRATIONS_RESP_ERROR;
            v->data = p + 1;
            v->len = eol - (p + 1);
            p = eol + 2;
            break;

        case ':':
            if (integrations_resp_int(p + 1, eol, &n) != 0) {
                *err = "invalid integer";
                return INTEGRATIONS_RESP_INVALID;
            }

            v->type = INTEGRATIONS_RESP_INTEGER;
            v->integer = n;
            p = eol + 2;
            break;

        case '$':
            if (integrations_resp_int(p + 1, eol, &n) != 0 || n < -1) {
                *err = "invalid bulk string length";
                return INTEGRATIONS_RESP_INVALID;
            }

            if (n > INTEGRATIONS_RESP_MAX_BULK) {
                *err = "bulk string too long";
                return INTEGRATIONS_RESP_INVALID;
            }

            p = eol + 2;

            if (n == -1) {
                v->type = INTEGRATIONS_RESP_NIL;
                break;
            }

            if ((size_t) (end - p) < (size_t) n + 2) {
                return INTEGRATIONS_RESP_AGAIN;
            }

            if (p[n] != '\r' || p[n + 1] != '\n') {
                *err = "bulk string not followed by CRLF";
                return INTEGRATIONS_RESP_INVALID;
            }

            v->type = INTEGRATIONS_RESP_BULK;
            v->data = p;
            v->len = (size_t) n;
            p += n + 2;
            break;

        case '*':
            if (integrations_resp_int(p + 1, eol, &n) != 0 || n < -1) {
                *err = "invalid array length";
                return INTEGRATIONS_RESP_INVALID;
            }

            if (n >= INTEGRATIONS_RESP_MAX_VALUES) {
                *err = "too many values in a reply";
                return INTEGRATIONS_RESP_INVALID;
            }

            p = eol + 2;

            if (n == -1) {
                v->type = INTEGRATIONS_RESP_NIL;
                break;
            }

            v->type = INTEGRATIONS_RESP_ARRAY;
            v->integer = n;

            if (n > 0) {
                if (depth == INTEGRATIONS_RESP_MAX_DEPTH) {
                    *err = "arrays nested too deep";
                    return INTEGRATIONS_RESP_INVALID;
                }

                need[depth++] = n;
                reply->n++;
                continue;
            }

            break;

        default:
            *err = "invalid reply type";
            return INTEGRATIONS_RESP_INVALID;
        }

        reply->n++;

        /* one element done: close the arrays it completes */

        while (depth > 0) {
            if (--need[depth - 1] > 0) {
                break;
            }

            depth--;
        }

        if (depth == 0) {
            *used = (size_t) (p - in);
            return INTEGRATIONS_RESP_OK;
        }
    }
}


int
integrations_resp_is_error(const integrations_resp_value_t *v,
    const char *code)
{
    size_t  n;

    if (v->type != INTEGRATIONS_RESP_ERROR) {
        return 0;
    }

    n = strlen(code);

    return v->len >= n && memcmp(v->data, code, n) == 0
           && (v->len == n || v->data[n] == ' ');
}


static size_t
integrations_resp_digits(size_t n)
{
    size_t  d;

    for (d = 1; n >= 10; n /= 10) {
        d++;
    }

    return d;
}


static unsigned char *
integrations_resp_number(unsigned char *p, char type, size_t n)
{
    size_t  d, i;

    *p++ = (unsigned char) type;

    d = integrations_resp_digits(n);

    for (i = d; i > 0; i--) {
        p[i - 1] = (unsigned char) ('0' + n % 10);
        n /= 10;
    }

    p += d;
    *p++ = '\r';
    *p++ = '\n';

    return p;
}


/*
 * The line from p: *eol at its CR.  No CR, LF or NUL inside; AGAIN if it
 * does not end within the range (unless it is already too long).
 */

static int
integrations_resp_line(const unsigned char *p, const unsigned char *end,
    const unsigned char **eol, const char **err)
{
    const unsigned char  *q;

    for (q = p; q < end; q++) {

        if (*q == '\r') {
            if (q + 1 == end) {
                return INTEGRATIONS_RESP_AGAIN;
            }

            if (q[1] != '\n') {
                break;
            }

            *eol = q;
            return INTEGRATIONS_RESP_OK;
        }

        if (*q == '\n' || *q == '\0') {
            break;
        }

        if (q - p >= INTEGRATIONS_RESP_MAX_LINE) {
            *err = "reply line too long";
            return INTEGRATIONS_RESP_INVALID;
        }
    }

    if (q == end) {
        if (q - p >= INTEGRATIONS_RESP_MAX_LINE) {
            *err = "reply line too long";
            return INTEGRATIONS_RESP_INVALID;
        }

        return INTEGRATIONS_RESP_AGAIN;
    }

    *err = "invalid line ending";
    return INTEGRATIONS_RESP_INVALID;
}


/* an optional "-", then 1 to 19 digits, in range; 0 or -1 */

static int
integrations_resp_int(const unsigned char *p, const unsigned char *eol,
    int64_t *value)
{
    int       neg;
    uint64_t  n, max;

    neg = 0;

    if (p < eol && *p == '-') {
        neg = 1;
        p++;
    }

    if (p == eol || eol - p > 19) {
        return -1;
    }

    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    n = 0;

    for ( /* void */ ; p < eol; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        /* 19 digits fit in 64 bits unsigned: checked after each */
        n = n * 10 + (*p - '0');

        if (n > max) {
            return -1;
        }
    }

    *value = neg ? (int64_t) (0 - n) : (int64_t) n;

    return 0;
}
