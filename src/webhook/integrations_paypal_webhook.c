/*
 * PayPal webhook signatures: see integrations_paypal_webhook.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "integrations_paypal_webhook.h"
#include "integrations_time.h"


#define INTEGRATIONS_PAYPAL_MAX_SIG    1024    /* bytes: RSA-8192 */
#define INTEGRATIONS_PAYPAL_MAX_CHAIN  8


struct integrations_paypal_cert_s {
    X509      *leaf;
    EVP_PKEY  *key;
    time_t     expires;
};


static int lower(int c);
static int parse_time(const char *s, size_t len, time_t *t);


int
integrations_paypal_cert_url_ok(const char *url, size_t len)
{
    size_t       i, hlen;
    const char  *host, *end;

    static const char  scheme[] = "https://";
    static const char  suffix[] = ".paypal.com";

    if (len <= sizeof(scheme) - 1) {
        return 0;
    }

    for (i = 0; i < sizeof(scheme) - 1; i++) {
        if (lower((unsigned char) url[i]) != scheme[i]) {
            return 0;
        }
    }

    host = url + sizeof(scheme) - 1;
    end = url + len;

    /* the authority ends at the first '/', '?' or '#' */

    for (i = 0; host + i < end; i++) {
        if (host[i] == '/' || host[i] == '?' || host[i] == '#') {
            break;
        }

        /* user info ("paypal.com@evil.example") or anything odd: no */

        if (!((host[i] >= 'a' && host[i] <= 'z')
              || (host[i] >= 'A' && host[i] <= 'Z')
              || (host[i] >= '0' && host[i] <= '9')
              || host[i] == '-' || host[i] == '.' || host[i] == ':'))
        {
            return 0;
        }
    }

    hlen = i;

    if (host + hlen == end || host[hlen] != '/') {
        return 0;
    }

    /* an explicit port may only be 443 */

    for (i = 0; i < hlen; i++) {
        if (host[i] == ':') {
            if (hlen - i != 4 || memcmp(host + i, ":443", 4) != 0) {
                return 0;
            }

            hlen = i;
            break;
        }
    }

    /* "paypal.com" itself, or LABEL(.LABEL)*.paypal.com */

    if (hlen == sizeof(suffix) - 2) {
        for (i = 0; i < hlen; i++) {
            if (lower((unsigned char) host[i]) != suffix[i + 1]) {
                return 0;
            }
        }

        return 1;
    }

    if (hlen < sizeof(suffix)) {
        return 0;
    }

    for (i = 0; i < sizeof(suffix) - 1; i++) {
        if (lower((unsigned char) host[hlen - (sizeof(suffix) - 1) + i])
            != suffix[i])
        {
            return 0;
        }
    }

    /* no empty label: not ".paypal.com", not "a..paypal.com" */

    if (host[0] == '.' || host[0] == '-') {
        return 0;
    }

    for (i = 1; i < hlen; i++) {
        if (host[i] == '.' && host[i - 1] == '.') {
            return 0;
        }
    }

    return 1;
}


uint32_t
integrations_paypal_crc32(const unsigned char *p, size_t len)
{
    int       k;
    size_t    i;
    uint32_t  crc;

    /* bitwise: webhook bodies are small, a table is not worth its size */

    crc = 0xffffffff;

    for (i = 0; i < len; i++) {
        crc ^= p[i];

        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
        }
    }

    return crc ^ 0xffffffff;
}


integrations_paypal_cert_t *
integrations_paypal_cert_load(const char *pem, size_t len, X509_STORE *roots,
    const char *name, time_t now, const char **err)
{
    int                          n;
    BIO                         *bio;
    X509                        *x, *leaf;
    ASN1_TIME                   *na;
    STACK_OF(X509)              *chain;
    X509_STORE_CTX              *ctx;
    X509_VERIFY_PARAM           *param;
    integrations_paypal_cert_t  *cert;
    struct tm                    tm;

    leaf = NULL;
    chain = NULL;
    ctx = NULL;
    cert = NULL;

    if (len == 0 || len > 65536 || roots == NULL) {
        *err = "no certificate";
        return NULL;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        *err = "out of memory";
        return NULL;
    }

    leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (leaf == NULL) {
        *err = "not a PEM certificate";
        goto failed;
    }

    chain = sk_X509_new_null();
    if (chain == NULL) {
        *err = "out of memory";
        goto failed;
    }

    for (n = 0; n < INTEGRATIONS_PAYPAL_MAX_CHAIN; n++) {
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL) {
            break;
        }

        if (!sk_X509_push(chain, x)) {
            X509_free(x);
            *err = "out of memory";
            goto failed;
        }
    }

    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, roots, leaf, chain)) {
        *err = "out of memory";
        goto failed;
    }

    /* the caller's clock, not the library's: tests and caches agree */

    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, now);
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);

    if (X509_verify_cert(ctx) != 1) {
        *err = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
        goto failed;
    }

    if (name && X509_check_host(leaf, name, strlen(name), 0, NULL) != 1) {
        *err = "the certificate is not issued to the expected name";
        goto failed;
    }

    cert = calloc(1, sizeof(integrations_paypal_cert_t));
    if (cert == NULL) {
        *err = "out of memory";
        goto failed;
    }

    cert->key = X509_get_pubkey(leaf);

    if (cert->key == NULL || EVP_PKEY_base_id(cert->key) != EVP_PKEY_RSA) {
        *err = "the certificate has no RSA key";
        goto failed;
    }

    na = X509_get_notAfter(leaf);

    if (na == NULL || ASN1_TIME_to_tm(na, &tm) != 1) {
        *err = "the certificate has no expiry";
        goto failed;
    }

    cert->expires = (time_t) (integrations_time_days_from_civil(
                                  tm.tm_year + 1900, tm.tm_mon + 1,
                                  tm.tm_mday)
                              * 86400
                              + tm.tm_hour * 3600 + tm.tm_min * 60
                              + tm.tm_sec);

    cert->leaf = leaf;

    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(chain, X509_free);
    BIO_free(bio);

    return cert;

failed:

    if (cert) {
        EVP_PKEY_free(cert->key);
        free(cert);
    }

    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(chain, X509_free);
    X509_free(leaf);
    BIO_free(bio);

    return NULL;
}


void
integrations_paypal_cert_free(integrations_paypal_cert_t *cert)
{
    if (cert == NULL) {
        return;
    }

    EVP_PKEY_free(cert->key);
    X509_free(cert->leaf);
    free(cert);
}


time_t
integrations_paypal_cert_expires(const integrations_paypal_cert_t *cert)
{
    return cert->expires;
}


integrations_paypal_rc_e
integrations_paypal_verify(const integrations_paypal_cert_t *cert,
    const integrations_paypal_headers_t *h, const char *webhook_id,
    size_t webhook_id_len, const unsigned char *body, size_t body_len,
    time_t now, time_t max_age, const char **err)
{
    int                        n, pad;
    char                      *msg, crc[16];
    size_t                     i, mlen, clen;
    time_t                     t;
    EVP_MD_CTX                *md;
    unsigned char              sig[INTEGRATIONS_PAYPAL_MAX_SIG + 3];
    integrations_paypal_rc_e   rc;

    if (h->auth_algo.len != sizeof("SHA256withRSA") - 1
        || memcmp(h->auth_algo.data, "SHA256withRSA", h->auth_algo.len) != 0)
    {
        *err = "PAYPAL-AUTH-ALGO is not SHA256withRSA";
        return INTEGRATIONS_PAYPAL_MALFORMED;
    }

    if (now >= cert->expires) {
        *err = "the certificate has expired";
        return INTEGRATIONS_PAYPAL_CERT_EXPIRED;
    }

    if (h->transmission_id.len == 0 || h->transmission_id.len > 128
        || memchr(h->transmission_id.data, '|', h->transmission_id.len))
    {
        *err = "bad PAYPAL-TRANSMISSION-ID";
        return INTEGRATIONS_PAYPAL_MALFORMED;
    }

    if (parse_time(h->transmission_time.data, h->transmission_time.len, &t)
        != 0)
    {
        *err = "bad PAYPAL-TRANSMISSION-TIME";
        return INTEGRATIONS_PAYPAL_MALFORMED;
    }

    if (max_age > 0 && (t > now + max_age || t < now - max_age)) {
        *err = "PAYPAL-TRANSMISSION-TIME is too far from now";
        return INTEGRATIONS_PAYPAL_TOO_OLD;
    }

    /* base64: a multiple of 4, padding only at the end */

    if (h->transmission_sig.len == 0 || h->transmission_sig.len % 4
        || h->transmission_sig.len / 4 * 3 > INTEGRATIONS_PAYPAL_MAX_SIG)
    {
        *err = "bad PAYPAL-TRANSMISSION-SIG";
        return INTEGRATIONS_PAYPAL_MALFORMED;
    }

    pad = 0;

    for (i = h->transmission_sig.len; i > 0
         && h->transmission_sig.data[i - 1] == '=' && pad < 2; i--)
    {
        pad++;
    }

    n = EVP_DecodeBlock(sig, (const unsigned char *) h->transmission_sig.data,
                        (int) h->transmission_sig.len);
    if (n < 0 || n - pad <= 0) {
        *err = "bad PAYPAL-TRANSMISSION-SIG";
        return INTEGRATIONS_PAYPAL_MALFORMED;
    }

    n -= pad;

    clen = (size_t) snprintf(crc, sizeof(crc), "%u",
                             (unsigned) integrations_paypal_crc32(body,
                                                                  body_len));

    mlen = h->transmission_id.len + 1 + h->transmission_time.len + 1
           + webhook_id_len + 1 + clen;

    msg = malloc(mlen);
    if (msg == NULL) {
        *err = "out of memory";
        return INTEGRATIONS_PAYPAL_NO_MEMORY;
    }

    i = 0;
    memcpy(msg + i, h->transmission_id.data, h->transmission_id.len);
    i += h->transmission_id.len;
    msg[i++] = '|';
    memcpy(msg + i, h->transmission_time.data, h->transmission_time.len);
    i += h->transmission_time.len;
    msg[i++] = '|';
    memcpy(msg + i, webhook_id, webhook_id_len);
    i += webhook_id_len;
    msg[i++] = '|';
    memcpy(msg + i, crc, clen);

    rc = INTEGRATIONS_PAYPAL_BAD_SIGNATURE;
    md = EVP_MD_CTX_new();

    if (md
        && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, cert->key) == 1
        && EVP_DigestVerify(md, sig, (size_t) n, (unsigned char *) msg, mlen)
           == 1)
    {
        rc = INTEGRATIONS_PAYPAL_OK;

    } else {
        *err = "the signature does not match";
    }

    EVP_MD_CTX_free(md);
    free(msg);

    return rc;
}


static int
lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}


/* "2024-02-13T12:17:57Z", "...57.123Z", "...57+09:00" */

static int
parse_time(const char *s, size_t len, time_t *t)
{
    int      off, sign;
    size_t   i;
    int64_t  v[6], days;

    static const size_t  at[6] = { 0, 5, 8, 11, 14, 17 };
    static const size_t  width[6] = { 4, 2, 2, 2, 2, 2 };

    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T'
        && s[10] != 't') || s[13] != ':' || s[16] != ':')
    {
        return -1;
    }

    for (i = 0; i < 6; i++) {
        size_t  k;

        v[i] = 0;

        for (k = 0; k < width[i]; k++) {
            if (s[at[i] + k] < '0' || s[at[i] + k] > '9') {
                return -1;
            }

            v[i] = v[i] * 10 + (s[at[i] + k] - '0');
        }
    }

    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23
        || v[4] > 59 || v[5] > 60)
    {
        return -1;
    }

    i = 19;

    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            /* fractions of a second do not matter here */
        }
    }

    off = 0;

    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        off = 0;

    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-')
               && s[i + 3] == ':'
               && s[i + 1] >= '0' && s[i + 1] <= '2'
               && s[i + 2] >= '0' && s[i + 2] <= '9'
               && s[i + 4] >= '0' && s[i + 4] <= '5'
               && s[i + 5] >= '0' && s[i + 5] <= '9')
    {
        sign = (s[i] == '-') ? -1 : 1;
        off = sign * (((s[i + 1] - '0') * 10 + (s[i + 2] - '0')) * 3600
                      + ((s[i + 4] - '0') * 10 + (s[i + 5] - '0')) * 60);

    } else {
        return -1;
    }

    days = integrations_time_days_from_civil(v[0], (unsigned) v[1],
                                             (unsigned) v[2]);
    *t = (time_t) (days * 86400 + v[3] * 3600 + v[4] * 60 + v[5] - off);

    return 0;
}
