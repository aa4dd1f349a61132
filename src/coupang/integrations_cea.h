/*
 * Coupang CEA request signing: the pure core, free of nginx.
 *
 * message   = signed-date + METHOD + path + query   (no separators, no '?')
 * signature = lowercase hex HMAC-SHA256(secret key, message)
 * header    = "CEA algorithm=HmacSHA256, access-key=AK, signed-date=DT,
 *              signature=SIG"
 *
 * The query is signed exactly as it goes on the wire (already
 * percent-encoded): the signer never decodes or re-encodes a byte.
 */

#ifndef INTEGRATIONS_CEA_H
#define INTEGRATIONS_CEA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>


#define INTEGRATIONS_CEA_DATE_LEN       14      /* "240101T000000Z" */
#define INTEGRATIONS_CEA_SIGNATURE_LEN  64      /* hex SHA-256 */

/* The upper bound on what integrations_cea_sign_head() adds to a head. */
#define INTEGRATIONS_CEA_HEAD_EXTRA(ak_len, vendor_len)                       \
    (sizeof("Authorization: CEA algorithm=HmacSHA256, access-key=, "         \
            "signed-date=, signature=\r\n") - 1                               \
     + (ak_len) + INTEGRATIONS_CEA_DATE_LEN + INTEGRATIONS_CEA_SIGNATURE_LEN \
     + sizeof("X-Requested-By: \r\n") - 1 + (vendor_len))


typedef struct integrations_cea_key_s  integrations_cea_key_t;

typedef struct {
    const unsigned char  *method;
    size_t                method_len;
    const unsigned char  *path;
    size_t                path_len;
    const unsigned char  *query;        /* after '?', without it */
    size_t                query_len;
    size_t                line_end;     /* just past the request line CRLF */
    size_t                head_end;     /* just past the empty line CRLF */
} integrations_cea_request_t;

typedef struct {
    const unsigned char  *access_key;
    size_t                access_key_len;
    const unsigned char  *vendor_id;    /* NULL: no X-Requested-By */
    size_t                vendor_id_len;
} integrations_cea_identity_t;


/*
 * The key's HMAC pads are absorbed once; the caller should cleanse its own
 * copy of the key afterwards.  Returns NULL on allocation failure.
 */
integrations_cea_key_t *integrations_cea_key_new(const unsigned char *secret,
    size_t len);
void integrations_cea_key_free(integrations_cea_key_t *key);

/* "yyMMdd'T'HHmmss'Z'" in UTC; out gets INTEGRATIONS_CEA_DATE_LEN bytes. */
void integrations_cea_format_date(time_t now, char *out);

/* Returns 0 and the lowercase hex signature (64 bytes, no NUL), or -1. */
int integrations_cea_sign(integrations_cea_key_t *key, const char *date,
    const unsigned char *method, size_t method_len,
    const unsigned char *path, size_t path_len,
    const unsigned char *query, size_t query_len, char *signature);

/*
 * Parses an HTTP/1.x request head as it goes on the wire:
 * "METHOD SP request-target SP HTTP/x.y CRLF *(header CRLF) CRLF".
 * An absolute-form target ("http://host/path?q") is reduced to its path
 * and query.  Returns 0, or -1 when the bytes are not such a head.
 */
int integrations_cea_parse_request(const unsigned char *p, size_t len,
    integrations_cea_request_t *rq);

/*
 * Signs a request head and writes the signed head to out: the request
 * line and headers as they were, less any Authorization (and, with a
 * vendor id, X-Requested-By) header, plus the CEA Authorization header,
 * then the empty line and whatever followed the head in the input.
 * out must hold len + INTEGRATIONS_CEA_HEAD_EXTRA() bytes.
 * Returns the length written, or -1 when the head cannot be parsed or
 * signed.  date and signature (may be NULL) receive what was used.
 */
long integrations_cea_sign_head(integrations_cea_key_t *key,
    const integrations_cea_identity_t *id, time_t now,
    const unsigned char *in, size_t len, unsigned char *out,
    char *date, char *signature);

#endif /* INTEGRATIONS_CEA_H */
