/*
 * libFuzzer target: PayPal webhook verification on outside input: the
 * certificate URL pin and the PEM loader on any bytes, and verify() with
 * fuzzed headers and body against a self-signed certificate made once.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "integrations_paypal_webhook.h"


#define NOW  1700000000


static integrations_paypal_cert_t *
make_cert(X509_STORE **store)
{
    BIO                         *bio;
    X509                        *x;
    long                         n;
    char                        *pem;
    EVP_PKEY                    *key;
    const char                  *err;
    integrations_paypal_cert_t  *cert;

    key = EVP_RSA_gen(1024);
    x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &(time_t){ NOW });
    X509_time_adj_ex(X509_getm_notAfter(x), 1, 0, &(time_t){ NOW });
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *) "fuzz", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, key, EVP_sha256());

    *store = X509_STORE_new();
    X509_STORE_add_cert(*store, x);

    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    n = BIO_get_mem_data(bio, &pem);

    cert = integrations_paypal_cert_load(pem, (size_t) n, *store, NULL, NOW,
                                         &err);
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(key);

    return cert;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                              i, cut[4], at;
    const char                         *err, *p;
    integrations_paypal_headers_t       h;
    integrations_paypal_cert_t         *c;

    static X509_STORE                  *store;
    static integrations_paypal_cert_t  *cert;

    if (cert == NULL) {
        cert = make_cert(&store);
        if (cert == NULL) {
            abort();
        }
    }

    integrations_paypal_cert_url_ok((const char *) data, size);

    c = integrations_paypal_cert_load((const char *) data, size, store, NULL,
                                      NOW, &err);
    integrations_paypal_cert_free(c);

    /* split the input at '\n' into id, time, signature, body */

    p = (const char *) data;
    at = 0;

    for (i = 0; i < 4; i++) {
        const char  *nl = memchr(p + at, '\n', size - at);
        cut[i] = nl ? (size_t) (nl - p) : size;
        at = nl ? cut[i] + 1 : size;
    }

    h.transmission_id.data = p;
    h.transmission_id.len = cut[0];
    h.transmission_time.data = p + (cut[0] < size ? cut[0] + 1 : size);
    h.transmission_time.len = cut[1] - (h.transmission_time.data - p);
    h.transmission_sig.data = p + (cut[1] < size ? cut[1] + 1 : size);
    h.transmission_sig.len = cut[2] - (h.transmission_sig.data - p);
    h.cert_url.data = "https://api.paypal.com/c";
    h.cert_url.len = 24;
    h.auth_algo.data = "SHA256withRSA";
    h.auth_algo.len = 13;

    if (h.transmission_time.len > size || h.transmission_sig.len > size) {
        return 0;
    }

    at = cut[2] < size ? cut[2] + 1 : size;

    integrations_paypal_verify(cert, &h, "WH", 2, data + at, size - at, NOW,
                               300, &err);

    return 0;
}
