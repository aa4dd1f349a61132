/*
 * Notifications, the shared pieces: see integrations_notify.h.
 */

#include <stdlib.h>
#include <string.h>

#include "integrations_json.h"
#include "integrations_notify.h"
#include "integrations_time.h"


#define INTEGRATIONS_NOTIFY_BUF_MAX  (16 * 1024 * 1024)


static const char  *integrations_notify_outcomes[] = {
    "sent", "retryable", "permanent", "unknown"
};


const char *
integrations_notify_outcome_name(int outcome)
{
    if (outcome < 0 || outcome > INTEGRATIONS_NOTIFY_UNKNOWN) {
        return "unknown";
    }

    return integrations_notify_outcomes[outcome];
}


void
integrations_notify_result_init(integrations_notify_result_t *res,
    unsigned http_status)
{
    memset(res, 0, sizeof(integrations_notify_result_t));
    res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
    res->http_status = http_status;
    res->retry_after = -1;
}


int
integrations_notify_classify_transport(
    const integrations_notify_response_t *r,
    integrations_notify_result_t *res)
{
    integrations_notify_result_init(res, r->status);

    if (r->status != 0) {
        return 0;
    }

    /*
     * Nothing came back.  The retry matrix retries timeouts too; a timeout
     * after the request left may deliver twice, which the flag says so the
     * glue can count it (no provider here takes an idempotency key).
     */

    res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;

    if (r->transport != INTEGRATIONS_NOTIFY_T_CONNECT) {
        res->flags |= INTEGRATIONS_NOTIFY_F_AMBIGUOUS;
    }

    strcpy(res->code, r->transport == INTEGRATIONS_NOTIFY_T_CONNECT
                      ? "connect" : "timeout");

    return 1;
}


yajl_val
integrations_notify_answer_json(const integrations_notify_response_t *r)
{
    if (r->body == NULL || r->body_len == 0) {
        return NULL;
    }

    return integrations_json_parse(r->body, r->body_len, 32,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, NULL);
}


void
integrations_notify_classify_status(const integrations_notify_response_t *r,
    integrations_notify_result_t *res)
{
    unsigned  s;

    s = r->status;

    if (s >= 200 && s < 300) {
        res->outcome = INTEGRATIONS_NOTIFY_SENT;

    } else if (s == 408 || s == 429 || (s >= 500 && s < 600)) {
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->retry_after = r->retry_after;

    } else if (s == 401 || s == 403) {
        /* the key is wrong or revoked: the message is not at fault */
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->flags |= INTEGRATIONS_NOTIFY_F_CONFIG;

    } else if (s >= 400 && s < 500) {
        res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;

    } else {
        res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
    }
}


static int
integrations_notify_clean(const char *s, size_t len)
{
    size_t          i;
    unsigned char   c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x20 || c == 0x7f) {
            return 0;
        }
    }

    return 1;
}


int
integrations_notify_copy_id(char *dst, size_t size, const char *s,
    size_t len)
{
    if (size == 0) {
        return -1;
    }

    dst[0] = '\0';

    if (s == NULL || len >= size || !integrations_notify_clean(s, len)
        || integrations_notify_utf8_check((const unsigned char *) s, len)
           != len)
    {
        return -1;
    }

    memcpy(dst, s, len);
    dst[len] = '\0';

    return 0;
}


int
integrations_notify_copy_text(char *dst, size_t size, const char *s,
    size_t len)
{
    size_t  n;

    if (size == 0) {
        return -1;
    }

    dst[0] = '\0';

    if (s == NULL || !integrations_notify_clean(s, len)
        || integrations_notify_utf8_check((const unsigned char *) s, len)
           != len)
    {
        return -1;
    }

    n = len;

    if (n >= size) {
        /* back to the start of the character that does not fit */
        n = size - 1;
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }

    memcpy(dst, s, n);
    dst[n] = '\0';

    return 0;
}


/* the buffer */

void
integrations_notify_buf_add(integrations_notify_buf_t *b, const void *s,
    size_t n)
{
    char    *p;
    size_t   size, max;

    if (b->failed) {
        return;
    }

    max = b->max ? b->max : INTEGRATIONS_NOTIFY_BUF_MAX;

    if (n > max || b->len + n > max) {
        b->failed = 1;
        return;
    }

    if (b->len + n + 1 > b->size) {
        size = b->size ? b->size : 256;

        while (size < b->len + n + 1) {
            size *= 2;
        }

        p = realloc(b->data, size);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        b->data = p;
        b->size = size;
    }

    if (n) {
        memcpy(b->data + b->len, s, n);
    }

    b->len += n;
    b->data[b->len] = '\0';
}


void
integrations_notify_buf_adds(integrations_notify_buf_t *b, const char *s)
{
    integrations_notify_buf_add(b, s, strlen(s));
}


void
integrations_notify_buf_addc(integrations_notify_buf_t *b, char c)
{
    integrations_notify_buf_add(b, &c, 1);
}


void
integrations_notify_buf_form(integrations_notify_buf_t *b, const char *s,
    size_t n)
{
    char           hex[3];
    size_t         i, run;
    unsigned char  c;

    static const char  digits[] = "0123456789ABCDEF";

    run = 0;

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~')
        {
            continue;
        }

        integrations_notify_buf_add(b, s + run, i - run);

        if (c == ' ') {
            integrations_notify_buf_addc(b, '+');

        } else {
            hex[0] = '%';
            hex[1] = digits[c >> 4];
            hex[2] = digits[c & 0x0f];
            integrations_notify_buf_add(b, hex, 3);
        }

        run = i + 1;
    }

    integrations_notify_buf_add(b, s + run, n - run);
}


void
integrations_notify_buf_field(integrations_notify_buf_t *b, const char *key,
    const char *value, size_t n)
{
    if (b->len) {
        integrations_notify_buf_addc(b, '&');
    }

    integrations_notify_buf_form(b, key, strlen(key));
    integrations_notify_buf_addc(b, '=');
    integrations_notify_buf_form(b, value, n);
}


char *
integrations_notify_buf_done(integrations_notify_buf_t *b, size_t *len)
{
    char  *p;

    if (b->data == NULL && !b->failed) {
        integrations_notify_buf_add(b, "", 0);
    }

    if (b->failed) {
        integrations_notify_buf_free(b);
        return NULL;
    }

    p = b->data;

    if (len) {
        *len = b->len;
    }

    b->data = NULL;
    b->len = 0;
    b->size = 0;

    return p;
}


void
integrations_notify_buf_free(integrations_notify_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->size = 0;
}


/* UTF-8 */

size_t
integrations_notify_utf8_next(const unsigned char *s, size_t len,
    uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c, min;

    if (len == 0) {
        return 0;
    }

    c = s[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if ((c & 0xe0) == 0xc0) {
        n = 2;
        c &= 0x1f;
        min = 0x80;

    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        c &= 0x0f;
        min = 0x800;

    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (s[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return n;
}


size_t
integrations_notify_utf8_check(const unsigned char *s, size_t len)
{
    size_t    i, n;
    uint32_t  cp;

    i = 0;

    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }

        n = integrations_notify_utf8_next(s + i, len - i, &cp);
        if (n == 0) {
            return i;
        }

        i += n;
    }

    return len;
}


size_t
integrations_notify_utf8_count(const char *s, size_t len, int utf16)
{
    size_t    i, n, units;
    uint32_t  cp;

    units = 0;

    for (i = 0; i < len; i += n) {
        n = integrations_notify_utf8_next((const unsigned char *) s + i,
                                          len - i, &cp);
        if (n == 0) {
            return (size_t) -1;
        }

        units += (utf16 && cp >= 0x10000) ? 2 : 1;
    }

    return units;
}


/* JSON out */

void
integrations_notify_gen_init(integrations_notify_gen_t *j)
{
    j->failed = 0;
    j->g = yajl_gen_alloc(NULL);

    if (j->g == NULL) {
        j->failed = 1;
        return;
    }

    yajl_gen_config(j->g, yajl_gen_validate_utf8, 1);
}


static void
integrations_notify_gen_check(integrations_notify_gen_t *j,
    yajl_gen_status rc)
{
    if (rc != yajl_gen_status_ok) {
        j->failed = 1;
    }
}


void
integrations_notify_gen_str(integrations_notify_gen_t *j, const char *s,
    size_t n)
{
    if (!j->failed) {
        integrations_notify_gen_check(j, yajl_gen_string(j->g,
                                             (const unsigned char *) s, n));
    }
}


void
integrations_notify_gen_cstr(integrations_notify_gen_t *j, const char *s)
{
    integrations_notify_gen_str(j, s, strlen(s));
}


void
integrations_notify_gen_key(integrations_notify_gen_t *j, const char *key,
    const char *s, size_t n)
{
    integrations_notify_gen_cstr(j, key);
    integrations_notify_gen_str(j, s, n);
}


void
integrations_notify_gen_int(integrations_notify_gen_t *j, long long n)
{
    if (!j->failed) {
        integrations_notify_gen_check(j, yajl_gen_integer(j->g, n));
    }
}


void
integrations_notify_gen_bool(integrations_notify_gen_t *j, int b)
{
    if (!j->failed) {
        integrations_notify_gen_check(j, yajl_gen_bool(j->g, b));
    }
}


void
integrations_notify_gen_map(integrations_notify_gen_t *j, int open)
{
    if (!j->failed) {
        integrations_notify_gen_check(j, open ? yajl_gen_map_open(j->g)
                                              : yajl_gen_map_close(j->g));
    }
}


void
integrations_notify_gen_array(integrations_notify_gen_t *j, int open)
{
    if (!j->failed) {
        integrations_notify_gen_check(j, open ? yajl_gen_array_open(j->g)
                                              : yajl_gen_array_close(j->g));
    }
}


char *
integrations_notify_gen_done(integrations_notify_gen_t *j, size_t *len)
{
    char                 *p;
    size_t                n;
    const unsigned char  *buf;

    p = NULL;

    if (!j->failed
        && yajl_gen_get_buf(j->g, &buf, &n) == yajl_gen_status_ok)
    {
        p = malloc(n + 1);

        if (p != NULL) {
            memcpy(p, buf, n);
            p[n] = '\0';

            if (len) {
                *len = n;
            }
        }
    }

    if (j->g) {
        yajl_gen_free(j->g);
        j->g = NULL;
    }

    j->failed = 1;

    return p;
}


/* strict JSON trees in */

int
integrations_notify_json_str(yajl_val v, int text, const char **s,
    size_t *len)
{
    size_t  n;

    if (v == NULL || !YAJL_IS_STRING(v)) {
        return -1;
    }

    /* the tree holds no NUL (integrations_json_parse()): strlen is exact */

    n = strlen(v->u.string);

    if (!integrations_json_plain(v->u.string, n, text)) {
        return -1;
    }

    *s = v->u.string;
    *len = n;

    return 0;
}


int
integrations_notify_json_field(yajl_val obj, const char *key, int text,
    const char **s, size_t *len)
{
    return integrations_notify_json_str(integrations_json_get(obj, key), text,
                                        s, len);
}


const char *
integrations_notify_json_number(yajl_val v)
{
    if (v == NULL || !YAJL_IS_NUMBER(v)) {
        return NULL;
    }

    return v->u.number.r;
}


int
integrations_notify_json_int(yajl_val v, long long min, long long max,
    long long *n)
{
    int          neg;
    const char  *p;
    long long    x;

    p = integrations_notify_json_number(v);
    if (p == NULL) {
        return -1;
    }

    neg = (*p == '-');
    p += neg;

    if (*p == '\0') {
        return -1;
    }

    x = 0;

    for ( /* void */ ; *p; p++) {
        if (*p < '0' || *p > '9' || x > (9223372036854775807LL - 9) / 10) {
            return -1;
        }

        x = x * 10 + (*p - '0');
    }

    x = neg ? -x : x;

    if (x < min || x > max) {
        return -1;
    }

    *n = x;

    return 0;
}


void
integrations_notify_utc(int64_t t, integrations_notify_tm_t *tm)
{
    int64_t  days, secs;

    days = t / 86400;
    secs = t % 86400;

    if (secs < 0) {
        secs += 86400;
        days--;
    }

    integrations_time_civil_from_days(days, &tm->year, &tm->month, &tm->day);

    tm->hour = (unsigned) (secs / 3600);
    tm->min = (unsigned) (secs / 60 % 60);
    tm->sec = (unsigned) (secs % 60);

    /* 1970-01-01 was a Thursday */
    tm->wday = (unsigned) (((days % 7) + 11) % 7);
}
