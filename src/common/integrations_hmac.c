/*
 * HMAC over SHA-256 and SHA-1: see integrations_hmac.h.
 */

/*
 * This is the one place that uses OpenSSL's low-level SHA256_* and SHA1_*
 * calls, deprecated in OpenSSL 3 in favour of EVP.  An EVP_MAC_CTX keyed
 * once still allocates and frees on every EVP_MAC_CTX_dup() or
 * EVP_MAC_init(), and cleanses what it frees: for a signature over a
 * short message (a Coupang request line, a 1 KB webhook body) that setup
 * costs as much as the hashing, and both run on the path of every request.
 * The plain hash contexts here are copied by value instead.  The results
 * are checked against RFC 4231 and RFC 2202 (t/unit/test_hmac.c).
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "integrations_hmac.h"

#include <string.h>
#include <openssl/crypto.h>


#define INTEGRATIONS_HMAC_BLOCK  64         /* both SHA-256 and SHA-1 */


static void integrations_hmac_pad(integrations_hmac_hash_t *h,
    integrations_hmac_alg_e alg, const unsigned char *k, unsigned char x);


int
integrations_hmac_key_init(integrations_hmac_key_t *key,
    integrations_hmac_alg_e alg, const unsigned char *secret, size_t len)
{
    unsigned char  k[INTEGRATIONS_HMAC_BLOCK];

    if (alg != INTEGRATIONS_HMAC_SHA256 && alg != INTEGRATIONS_HMAC_SHA1) {
        return -1;
    }

    key->alg = alg;

    /* a key longer than the block is replaced by its digest */

    memset(k, 0, sizeof(k));

    if (len <= sizeof(k)) {
        memcpy(k, secret, len);

    } else if (alg == INTEGRATIONS_HMAC_SHA256) {
        SHA256(secret, len, k);

    } else {
        SHA1(secret, len, k);
    }

    integrations_hmac_pad(&key->inner, alg, k, 0x36);
    integrations_hmac_pad(&key->outer, alg, k, 0x5c);

    OPENSSL_cleanse(k, sizeof(k));

    return 0;
}


static void
integrations_hmac_pad(integrations_hmac_hash_t *h, integrations_hmac_alg_e alg,
    const unsigned char *k, unsigned char x)
{
    size_t         i;
    unsigned char  pad[INTEGRATIONS_HMAC_BLOCK];

    for (i = 0; i < sizeof(pad); i++) {
        pad[i] = k[i] ^ x;
    }

    if (alg == INTEGRATIONS_HMAC_SHA256) {
        SHA256_Init(&h->sha256);
        SHA256_Update(&h->sha256, pad, sizeof(pad));

    } else {
        SHA1_Init(&h->sha1);
        SHA1_Update(&h->sha1, pad, sizeof(pad));
    }

    OPENSSL_cleanse(pad, sizeof(pad));
}


void
integrations_hmac_key_clear(integrations_hmac_key_t *key)
{
    OPENSSL_cleanse(key, sizeof(integrations_hmac_key_t));
}


void
integrations_hmac_start(integrations_hmac_t *mac,
    const integrations_hmac_key_t *key)
{
    mac->hash = key->inner;
    mac->key = key;
}


void
integrations_hmac_update(integrations_hmac_t *mac, const void *data,
    size_t len)
{
    if (mac->key->alg == INTEGRATIONS_HMAC_SHA256) {
        SHA256_Update(&mac->hash.sha256, data, len);

    } else {
        SHA1_Update(&mac->hash.sha1, data, len);
    }
}


size_t
integrations_hmac_final(integrations_hmac_t *mac, unsigned char *md)
{
    size_t                          n;
    const integrations_hmac_key_t  *key;

    key = mac->key;

    /* md holds the inner digest until the outer hash overwrites it */

    if (key->alg == INTEGRATIONS_HMAC_SHA256) {
        n = SHA256_DIGEST_LENGTH;
        SHA256_Final(md, &mac->hash.sha256);
        mac->hash.sha256 = key->outer.sha256;
        SHA256_Update(&mac->hash.sha256, md, n);
        SHA256_Final(md, &mac->hash.sha256);

    } else {
        n = SHA_DIGEST_LENGTH;
        SHA1_Final(md, &mac->hash.sha1);
        mac->hash.sha1 = key->outer.sha1;
        SHA1_Update(&mac->hash.sha1, md, n);
        SHA1_Final(md, &mac->hash.sha1);
    }

    integrations_hmac_clear(mac);

    return n;
}


void
integrations_hmac_clear(integrations_hmac_t *mac)
{
    OPENSSL_cleanse(mac, sizeof(integrations_hmac_t));
}
