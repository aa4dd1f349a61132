/*
 * Coupang CEA request signing: see integrations_cea.h.
 */

#include "integrations_cea.h"
#include "integrations_hmac.h"
#include "integrations_time.h"

#include <string.h>
#include <openssl/crypto.h>


struct integrations_cea_key_s {
    integrations_hmac_key_t  hmac;
};


static int integrations_cea_is_header(const unsigned char *line, size_t len,
    const char *name, size_t name_len);
static int integrations_cea_tchar(unsigned char c);


integrations_cea_key_t *
integrations_cea_key_new(const unsigned char *secret, size_t len)
{
    integrations_cea_key_t  *key;

    key = OPENSSL_zalloc(sizeof(integrations_cea_key_t));
    if (key == NULL) {
        return NULL;
    }

    if (integrations_hmac_key_init(&key->hmac, INTEGRATIONS_HMAC_SHA256,
                                   secret, len)
        != 0)
    {
        OPENSSL_free(key);
        return NULL;
    }

    return key;
}


void
integrations_cea_key_free(integrations_cea_key_t *key)
{
    if (key == NULL) {
        return;
    }

    OPENSSL_clear_free(key, sizeof(integrations_cea_key_t));
}


void
integrations_cea_format_date(time_t now, char *out)
{
    int       i, v[6];
    int64_t   days, secs, y;
    unsigned  m, d;

    /* plain arithmetic, where gmtime_r() takes a lock on every call */

    days = (int64_t) now / 86400;
    secs = (int64_t) now % 86400;

    if (secs < 0) {
        secs += 86400;
        days--;
    }

    integrations_time_civil_from_days(days, &y, &m, &d);

    /* the protocol's year has two digits */

    v[0] = (int) (((y % 100) + 100) % 100);
    v[1] = (int) m;
    v[2] = (int) d;
    v[3] = (int) (secs / 3600);
    v[4] = (int) (secs / 60 % 60);
    v[5] = (int) (secs % 60);

    for (i = 0; i < 6; i++) {
        out[2 * i + (i >= 3)] = (char) ('0' + v[i] / 10);
        out[2 * i + (i >= 3) + 1] = (char) ('0' + v[i] % 10);
    }

    out[6] = 'T';
    out[13] = 'Z';
}


int
integrations_cea_sign(integrations_cea_key_t *key, const char *date,
    const unsigned char *method, size_t method_len,
    const unsigned char *path, size_t path_len,
    const unsigned char *query, size_t query_len, char *signature)
{
    size_t                i, n;
    unsigned char         md[INTEGRATIONS_HMAC_MAX_LEN];
    integrations_hmac_t   mac;
    static const char     hex[] = "0123456789abcdef";

    integrations_hmac_start(&mac, &key->hmac);
    integrations_hmac_update(&mac, date, INTEGRATIONS_CEA_DATE_LEN);
    integrations_hmac_update(&mac, method, method_len);
    integrations_hmac_update(&mac, path, path_len);
    integrations_hmac_update(&mac, query, query_len);
    n = integrations_hmac_final(&mac, md);

    for (i = 0; i < n; i++) {
        signature[2 * i] = hex[md[i] >> 4];
        signature[2 * i + 1] = hex[md[i] & 0xf];
    }

    OPENSSL_cleanse(md, sizeof(md));

    return 0;
}


int
integrations_cea_parse_request(const unsigned char *p, size_t len,
    integrations_cea_request_t *rq)
{
    size_t                i, target, n;
    const unsigned char  *t, *q, *sp, *eol;

    memset(rq, 0, sizeof(integrations_cea_request_t));

    /* method: one or more token characters, then SP */

    for (i = 0; i < len && integrations_cea_tchar(p[i]); i++) {
        /* void */
    }

    if (i == 0 || i == len || p[i] != ' ') {
        return -1;
    }

    rq->method = p;
    rq->method_len = i;

    /*
     * request-target: up to the next SP.  nginx sends it escaped, but an
     * unparsed client URI may carry raw 8-bit bytes: they are signed as
     * sent.  Only line breaks inside would make it something else.
     */

    target = ++i;
    t = &p[target];

    sp = memchr(t, ' ', len - target);

    if (sp == NULL || sp == t) {
        return -1;
    }

    n = sp - t;
    i = target + n;

    if (memchr(t, '\n', n) != NULL || memchr(t, '\r', n) != NULL) {
        return -1;
    }

    /* SP "HTTP/" DIGIT "." DIGIT CRLF */

    if (len - i < sizeof(" HTTP/1.1\r\n") - 1
        || memcmp(&p[i], " HTTP/", sizeof(" HTTP/") - 1) != 0
        || p[i + 6] < '0' || p[i + 6] > '9' || p[i + 7] != '.'
        || p[i + 8] < '0' || p[i + 8] > '9'
        || p[i + 9] != '\r' || p[i + 10] != '\n')
    {
        return -1;
    }

    rq->line_end = i + 11;

    if (t[0] != '/') {

        /* absolute-form: scheme "://" authority, then path and query */

        for (i = 0; i < n && t[i] != ':'; i++) {
            if ((t[i] | 0x20) < 'a' || (t[i] | 0x20) > 'z') {
                return -1;
            }
        }

        if (i == 0 || n - i < 3 || t[i + 1] != '/' || t[i + 2] != '/') {
            return -1;
        }

        for (i += 3; i < n && t[i] != '/' && t[i] != '?'; i++) {
            /* void */
        }

        t += i;
        n -= i;
    }

    q = memchr(t, '?', n);

    rq->path = t;
    rq->path_len = q ? (size_t) (q - t) : n;

    if (q) {
        rq->query = q + 1;
        rq->query_len = n - rq->path_len - 1;
    }

    /* header lines, each ending in CRLF, up to an empty line */

    for (i = rq->line_end; i < len; i = (size_t) (eol - p) + 1) {

        eol = memchr(&p[i], '\n', len - i);

        if (eol == NULL || eol == &p[i] || eol[-1] != '\r') {
            return -1;
        }

        if (eol == &p[i + 1]) {
            rq->head_end = i + 2;
            return 0;
        }
    }

    return -1;
}


long
integrations_cea_sign_head(integrations_cea_key_t *key,
    const integrations_cea_identity_t *id, time_t now,
    const unsigned char *in, size_t len, unsigned char *out,
    char *date, char *signature)
{
    size_t                      i, n;
    unsigned char              *o;
    const unsigned char        *eol;
    char                        dt[INTEGRATIONS_CEA_DATE_LEN];
    char                        sig[INTEGRATIONS_CEA_SIGNATURE_LEN];
    integrations_cea_request_t  rq;

    if (integrations_cea_parse_request(in, len, &rq) != 0) {
        return -1;
    }

    integrations_cea_format_date(now, dt);

    if (integrations_cea_sign(key, dt, rq.method, rq.method_len,
                              rq.path, rq.path_len, rq.query, rq.query_len,
                              sig)
        != 0)
    {
        return -1;
    }

    o = out;

    memcpy(o, in, rq.line_end);
    o += rq.line_end;

    /* keep every header but the ones this signer owns */

    for (i = rq.line_end; i < rq.head_end - 2; i = n) {
        eol = memchr(&in[i], '\n', rq.head_end - 2 - i);
        n = (size_t) (eol - in) + 1;

        if (integrations_cea_is_header(&in[i], n - i, "Authorization",
                                       sizeof("Authorization") - 1)
            || (id->vendor_id != NULL
                && integrations_cea_is_header(&in[i], n - i, "X-Requested-By",
                                              sizeof("X-Requested-By") - 1)))
        {
            continue;
        }

        memcpy(o, &in[i], n - i);
        o += n - i;
    }

#define integrations_cea_append(s, l)  memcpy(o, s, l); o += l

    integrations_cea_append("Authorization: CEA algorithm=HmacSHA256, "
                            "access-key=",
                            sizeof("Authorization: CEA algorithm=HmacSHA256, "
                                   "access-key=") - 1);
    integrations_cea_append(id->access_key, id->access_key_len);
    integrations_cea_append(", signed-date=", sizeof(", signed-date=") - 1);
    integrations_cea_append(dt, INTEGRATIONS_CEA_DATE_LEN);
    integrations_cea_append(", signature=", sizeof(", signature=") - 1);
    integrations_cea_append(sig, INTEGRATIONS_CEA_SIGNATURE_LEN);
    integrations_cea_append("\r\n", 2);

    if (id->vendor_id != NULL) {
        integrations_cea_append("X-Requested-By: ",
                                sizeof("X-Requested-By: ") - 1);
        integrations_cea_append(id->vendor_id, id->vendor_id_len);
        integrations_cea_append("\r\n", 2);
    }

    /* the empty line and anything after the head (proxy_set_body) */

    integrations_cea_append(&in[rq.head_end - 2], len - rq.head_end + 2);

#undef integrations_cea_append

    if (date) {
        memcpy(date, dt, INTEGRATIONS_CEA_DATE_LEN);
    }

    if (signature) {
        memcpy(signature, sig, INTEGRATIONS_CEA_SIGNATURE_LEN);
    }

    return (long) (o - out);
}


static int
integrations_cea_is_header(const unsigned char *line, size_t len,
    const char *name, size_t name_len)
{
    size_t  i;

    if (len <= name_len || line[name_len] != ':') {
        return 0;
    }

    for (i = 0; i < name_len; i++) {
        if ((line[i] | 0x20) != (name[i] | 0x20)) {
            return 0;
        }
    }

    return 1;
}


static int
integrations_cea_tchar(unsigned char c)
{
    /* RFC 9110 token characters */

    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}
