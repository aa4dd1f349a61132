/*
 * PayPal webhook verification: the certificate URL pin, CRC-32, the chain
 * and expiry checks, SHA256withRSA over id|time|webhook_id|crc32(body).
 * A test CA and a signing certificate are made here with OpenSSL.
 */

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "integrations_paypal_webhook.h"


#define NOW  1700000000


static X509 *
make_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, const char *cn,
    int ca, long from, long to)
{
    X509                *x;
    X509_NAME           *name;
    X509_EXTENSION      *ext;
    X509V3_CTX           v3;

    x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
    X509_time_adj_ex(X509_getm_notBefore(x), 0, from, &(time_t){ NOW });
    X509_time_adj_ex(X509_getm_notAfter(x), 0, to, &(time_t){ NOW });
    X509_set_pubkey(x, key);

    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *) cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);

    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                              ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);

    if (ca) {
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
                                  "critical,keyCertSign,cRLSign");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }

    X509_sign(x, signer, EVP_sha256());

    return x;
}


static char *
pem_of(X509 *x, size_t *len)
{
    BIO   *bio;
    char  *data, *out;
    long   n;

    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    n = BIO_get_mem_data(bio, &data);
    out = malloc(n + 1);
    memcpy(out, data, n);
    out[n] = '\0';
    *len = n;
    BIO_free(bio);

    return out;
}


static char *
sign_b64(EVP_PKEY *key, const char *msg)
{
    size_t          n;
    EVP_MD_CTX     *md;
    unsigned char   sig[512];
    char           *b64;

    md = EVP_MD_CTX_new();
    n = sizeof(sig);
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
    EVP_DigestSign(md, sig, &n, (const unsigned char *) msg, strlen(msg));
    EVP_MD_CTX_free(md);

    b64 = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *) b64, sig, (int) n);

    return b64;
}


#define STR(s)  { s, sizeof(s) - 1 }


int
main(void)
{
    char                           *pem, *sig, msg[256];
    size_t                          len;
    X509                           *root, *leaf, *old, *other_root;
    EVP_PKEY                       *ca_key, *key, *other_key;
    X509_STORE                     *store, *other_store;
    const char                     *err;
    int                             rc;
    integrations_paypal_cert_t     *cert, *c2;
    integrations_paypal_headers_t   h;

    static const char  body[] = "{\"id\":\"WH-1\",\"event_type\":"
                                "\"PAYMENT.CAPTURE.COMPLETED\"}";
    static const char  webhook_id[] = "4JH86294D6297924G";

    static const struct { const char *url; int ok; }  urls[] = {
        { "https://api.paypal.com/v1/notifications/certs/CERT-360caa42", 1 },
        { "https://api.sandbox.paypal.com/v1/notifications/certs/X", 1 },
        { "https://API.PayPal.COM/x", 1 },
        { "https://api.paypal.com:443/x", 1 },
        { "https://paypal.com/x", 1 },
        { "http://api.paypal.com/x", 0 },
        { "https://api.paypal.com", 0 },
        { "https://api.paypal.com:8443/x", 0 },
        { "https://paypal.com.evil.example/x", 0 },
        { "https://evil.example/api.paypal.com/x", 0 },
        { "https://api.paypal.com@evil.example/x", 0 },
        { "https://evilpaypal.com/x", 0 },
        { "https://.paypal.com/x", 0 },
        { "https://a..paypal.com/x", 0 },
        { "https://api.paypal.com?.paypal.com/x", 0 },
        { "ftp://api.paypal.com/x", 0 },
    };

    size_t  i;

    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        is_int(integrations_paypal_cert_url_ok(urls[i].url,
                                               strlen(urls[i].url)),
               urls[i].ok, "cert URL %s", urls[i].url);
    }

    is_int(integrations_paypal_crc32((const unsigned char *) "123456789", 9),
           0xcbf43926u, "CRC-32 check value");
    is_int(integrations_paypal_crc32((const unsigned char *) "", 0), 0,
           "CRC-32 of nothing");

    ca_key = EVP_RSA_gen(2048);
    key = EVP_RSA_gen(2048);
    other_key = EVP_RSA_gen(2048);

    root = make_cert(ca_key, ca_key, NULL, "Test Root CA", 1, -86400L * 30,
                     86400L * 365);
    leaf = make_cert(key, ca_key, root,
                     "messageverificationcerts.paypal.com", 0, -86400L,
                     86400L);
    other_root = make_cert(other_key, other_key, NULL, "Other Root", 1,
                           -86400L, 86400L);

    store = X509_STORE_new();
    X509_STORE_add_cert(store, root);
    other_store = X509_STORE_new();
    X509_STORE_add_cert(other_store, other_root);

    pem = pem_of(leaf, &len);

    cert = integrations_paypal_cert_load(pem, len, store,
                                    "messageverificationcerts.paypal.com",
                                    NOW, &err);
    ok(cert != NULL, "certificate chained to the root loads");
    if (cert == NULL) {
        diag("%s", err);
        return done_testing();
    }

    is_int(integrations_paypal_cert_expires(cert), NOW + 86400,
           "its expiry, for the cache");

    err = "";
    c2 = integrations_paypal_cert_load(pem, len, other_store, NULL, NOW,
                                       &err);
    ok(c2 == NULL, "another root: refused (%s)", err);
    ok(integrations_paypal_cert_load(pem, len, store, "www.paypal.com", NOW,
                                     &err) == NULL,
       "another name: refused");
    c2 = integrations_paypal_cert_load(pem, len, store, NULL,
                                       NOW + 86400 * 2, &err);
    ok(c2 == NULL && strstr(err, "expired") != NULL,
       "expired at load: refused (%s)", err);
    ok(integrations_paypal_cert_load("junk", 4, store, NULL, NOW, &err)
       == NULL, "junk: refused");

    old = make_cert(key, ca_key, root, "messageverificationcerts.paypal.com",
                    0, -86400L * 3, -86400L);
    {
        size_t  olen;
        char   *opem = pem_of(old, &olen);
        ok(integrations_paypal_cert_load(opem, olen, store, NULL, NOW, &err)
           == NULL, "an expired certificate: refused");
        free(opem);
    }

    snprintf(msg, sizeof(msg), "b52ea6a0-1|2023-11-14T22:13:20Z|%s|%u",
             webhook_id,
             (unsigned) integrations_paypal_crc32(
                 (const unsigned char *) body, sizeof(body) - 1));
    sig = sign_b64(key, msg);

    h.transmission_id.data = "b52ea6a0-1";
    h.transmission_id.len = 10;
    h.transmission_time.data = "2023-11-14T22:13:20Z";
    h.transmission_time.len = 20;
    h.transmission_sig.data = sig;
    h.transmission_sig.len = strlen(sig);
    h.cert_url.data = "https://api.paypal.com/v1/notifications/certs/C";
    h.cert_url.len = strlen(h.cert_url.data);
    h.auth_algo.data = "SHA256withRSA";
    h.auth_algo.len = 13;

#define VERIFY(b, blen, wid, now)                                             \
    integrations_paypal_verify(cert, &h, wid, strlen(wid),                    \
                               (const unsigned char *) (b), blen, now, 300,   \
                               &err)

    is_int(VERIFY(body, sizeof(body) - 1, webhook_id, NOW), 0,
           "a genuine webhook verifies");
    is_int(VERIFY(body, sizeof(body) - 2, webhook_id, NOW),
           INTEGRATIONS_PAYPAL_BAD_SIGNATURE, "a changed body does not");
    is_int(VERIFY(body, sizeof(body) - 1, "OTHERWEBHOOK", NOW),
           INTEGRATIONS_PAYPAL_BAD_SIGNATURE, "another webhook id does not");
    rc = VERIFY(body, sizeof(body) - 1, webhook_id, NOW + 3600);
    ok(rc == INTEGRATIONS_PAYPAL_TOO_OLD && strstr(err, "TIME") != NULL,
       "a replay an hour later does not (%s)", err);

    h.transmission_time.data = "2023-11-15T07:13:20+09:00";
    h.transmission_time.len = 25;
    is_int(VERIFY(body, sizeof(body) - 1, webhook_id, NOW),
           INTEGRATIONS_PAYPAL_BAD_SIGNATURE,
           "the time is signed as sent: another spelling fails");
    h.transmission_time.data = "2023-11-14T22:13:20Z";
    h.transmission_time.len = 20;

    h.auth_algo.data = "SHA1withRSA";
    h.auth_algo.len = 11;
    is_int(VERIFY(body, sizeof(body) - 1, webhook_id, NOW),
           INTEGRATIONS_PAYPAL_MALFORMED, "another algorithm is refused");
    h.auth_algo.data = "SHA256withRSA";
    h.auth_algo.len = 13;

    h.transmission_sig.data = "AAAA";
    h.transmission_sig.len = 4;
    is_int(VERIFY(body, sizeof(body) - 1, webhook_id, NOW),
           INTEGRATIONS_PAYPAL_BAD_SIGNATURE,
           "a short signature does not verify");
    h.transmission_sig.data = "not base64!";
    h.transmission_sig.len = 11;
    is_int(VERIFY(body, sizeof(body) - 1, webhook_id, NOW),
           INTEGRATIONS_PAYPAL_MALFORMED, "junk signature refused");
    h.transmission_sig.data = sig;
    h.transmission_sig.len = strlen(sig);

    rc = VERIFY(body, sizeof(body) - 1, webhook_id, NOW + 86400 * 2);
    ok(rc == INTEGRATIONS_PAYPAL_CERT_EXPIRED
       && strstr(err, "expired") != NULL,
       "a cached certificate past its expiry refuses (%s)", err);

    is_int(VERIFY(body, sizeof(body) - 1, webhook_id, NOW), 0,
           "still verifies after all that");

    integrations_paypal_cert_free(cert);
    free(sig);
    free(pem);
    X509_free(root);
    X509_free(leaf);
    X509_free(old);
    X509_free(other_root);
    X509_STORE_free(store);
    X509_STORE_free(other_store);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other_key);

    return done_testing();
}
