/*
 * PayPal webhook signatures, verified offline: the pure core.
 *
 * PayPal signs "transmission_id|transmission_time|webhook_id|crc32(body)"
 * (crc32 in decimal) with SHA256withRSA and says where its certificate is
 * (PAYPAL-CERT-URL).  The glue fetches that certificate once, from a URL
 * this core accepts (https, a host under paypal.com), and keeps the
 * loaded certificate until it expires; this core checks the chain and
 * the validity against the roots it is given and the clock it is given,
 * then each signature.  No nginx headers, no I/O, "now" a parameter.
 *
 * Glue (for the webhook_verify module, "webhook_verify paypal
 * webhook_id=ID"): in the access phase, read the body; refuse (401) a
 * request whose PAYPAL-CERT-URL fails integrations_paypal_cert_url_ok();
 * look the URL up in a per-worker cache of loaded certificates; on a
 * miss, fetch it with ngx_http_integrations_outbound_call() (the request
 * waits, no blocking), load it with integrations_paypal_cert_load()
 * against X509_STORE_set_default_paths() roots (or the file of
 * integrations_outbound_trusted_certificate) and the name
 * "messageverificationcerts.paypal.com", and keep it until
 * integrations_paypal_cert_expires(); then integrations_paypal_verify()
 * with max_age 300 or so (replays beyond are refused; within, the dedupe
 * zone catches them by PAYPAL-TRANSMISSION-ID).
 */

#ifndef INTEGRATIONS_PAYPAL_WEBHOOK_H
#define INTEGRATIONS_PAYPAL_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>


typedef struct {
    const char  *data;
    size_t       len;
} integrations_paypal_str_t;


/* the PAYPAL-* request headers, as received */
typedef struct {
    integrations_paypal_str_t  transmission_id;
    integrations_paypal_str_t  transmission_time;
    integrations_paypal_str_t  transmission_sig;   /* base64 */
    integrations_paypal_str_t  cert_url;
    integrations_paypal_str_t  auth_algo;          /* "SHA256withRSA" */
} integrations_paypal_headers_t;


typedef struct integrations_paypal_cert_s  integrations_paypal_cert_t;


/*
 * 1 for "https://HOST[:443]/PATH" with HOST "paypal.com" or ending in
 * ".paypal.com" (case-insensitive), no user info, no other port; else 0.
 */
int integrations_paypal_cert_url_ok(const char *url, size_t len);

/* IEEE CRC-32, as PayPal (and zlib) compute it */
uint32_t integrations_paypal_crc32(const unsigned char *p, size_t len);

/*
 * Loads a PEM certificate chain (the signing certificate first), checks
 * it against roots at "now", and that the signing certificate is issued
 * to "name" (NULL: any name).  NULL on failure, *err saying why.
 */
integrations_paypal_cert_t *integrations_paypal_cert_load(const char *pem,
    size_t len, X509_STORE *roots, const char *name, time_t now,
    const char **err);

void integrations_paypal_cert_free(integrations_paypal_cert_t *cert);

/* when the signing certificate expires: keep it cached until then */
time_t integrations_paypal_cert_expires(const integrations_paypal_cert_t *c);

typedef enum {
    INTEGRATIONS_PAYPAL_OK = 0,
    INTEGRATIONS_PAYPAL_MALFORMED,      /* a header is not of its form */
    INTEGRATIONS_PAYPAL_CERT_EXPIRED,   /* the cached certificate expired */
    INTEGRATIONS_PAYPAL_TOO_OLD,        /* transmission time past max_age */
    INTEGRATIONS_PAYPAL_BAD_SIGNATURE,
    INTEGRATIONS_PAYPAL_NO_MEMORY
} integrations_paypal_rc_e;


/*
 * Verifies one webhook.  max_age > 0 also refuses a transmission time
 * more than max_age seconds away from now (replays).  Returns OK or why
 * not, and *err says it in words for the log (never containing the body).
 */
integrations_paypal_rc_e integrations_paypal_verify(const integrations_paypal_cert_t *cert,
    const integrations_paypal_headers_t *h, const char *webhook_id,
    size_t webhook_id_len, const unsigned char *body, size_t body_len,
    time_t now, time_t max_age, const char **err);

#endif /* INTEGRATIONS_PAYPAL_WEBHOOK_H */
