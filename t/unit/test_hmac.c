/*
 * Unit tests of the shared HMAC: RFC 4231 (SHA-256) and RFC 2202 (SHA-1)
 * test cases, streaming, long keys, and copies of keys and running MACs.
 */

#include "tap.h"
#include "integrations_hmac.h"

#include <openssl/evp.h>


/* A byte string: text, or len bytes of fill, or 1, 2, ... len when seq. */
typedef struct {
    const char     *text;
    unsigned char   fill;
    size_t          len;
    unsigned        seq;
} bytes_t;

typedef struct {
    const char               *name;
    integrations_hmac_alg_e   alg;
    bytes_t                   key;
    bytes_t                   data;
    const char               *mac;          /* hex; a prefix if truncated */
} vector_t;


#define TEXT(s)       { s, 0, 0, 0 }
#define FILL(b, n)    { NULL, b, n, 0 }
#define SEQ(n)        { NULL, 0, n, 1 }


static const vector_t  vectors[] = {

    { "RFC 4231 case 1", INTEGRATIONS_HMAC_SHA256, FILL(0x0b, 20),
      TEXT("Hi There"),
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },

    { "RFC 4231 case 2", INTEGRATIONS_HMAC_SHA256, TEXT("Jefe"),
      TEXT("what do ya want for nothing?"),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },

    { "RFC 4231 case 3", INTEGRATIONS_HMAC_SHA256, FILL(0xaa, 20),
      FILL(0xdd, 50),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },

    { "RFC 4231 case 4", INTEGRATIONS_HMAC_SHA256, SEQ(25), FILL(0xcd, 50),
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },

    /* truncated to 128 bits: the prefix is compared */

    { "RFC 4231 case 5", INTEGRATIONS_HMAC_SHA256, FILL(0x0c, 20),
      TEXT("Test With Truncation"),
      "a3b6167473100ee06e0c796c2955552b" },

    { "RFC 4231 case 6", INTEGRATIONS_HMAC_SHA256, FILL(0xaa, 131),
      TEXT("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },

    { "RFC 4231 case 7", INTEGRATIONS_HMAC_SHA256, FILL(0xaa, 131),
      TEXT("This is a test using a larger than block-size key and a larger "
           "than block-size data. The key needs to be hashed before being "
           "used by the HMAC algorithm."),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },

    { "RFC 2202 case 1", INTEGRATIONS_HMAC_SHA1, FILL(0x0b, 20),
      TEXT("Hi There"),
      "b617318655057264e28bc0b6fb378c8ef146be00" },

    { "RFC 2202 case 2", INTEGRATIONS_HMAC_SHA1, TEXT("Jefe"),
      TEXT("what do ya want for nothing?"),
      "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },

    { "RFC 2202 case 3", INTEGRATIONS_HMAC_SHA1, FILL(0xaa, 20),
      FILL(0xdd, 50),
      "125d7342b9ac11cd91a39af48aa17b4f63f175d3" },

    { "RFC 2202 case 4", INTEGRATIONS_HMAC_SHA1, SEQ(25), FILL(0xcd, 50),
      "4c9007f4026250c6bc8414f9bf50c86c2d7235da" },

    { "RFC 2202 case 5", INTEGRATIONS_HMAC_SHA1, FILL(0x0c, 20),
      TEXT("Test With Truncation"),
      "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04" },

    { "RFC 2202 case 6", INTEGRATIONS_HMAC_SHA1, FILL(0xaa, 80),
      TEXT("Test Using Larger Than Block-Size Key - Hash Key First"),
      "aa4ae5e15272d00e95705637ce8a3b55ed402112" },

    { "RFC 2202 case 7", INTEGRATIONS_HMAC_SHA1, FILL(0xaa, 80),
      TEXT("Test Using Larger Than Block-Size Key and Larger "
           "Than One Block-Size Data"),
      "e8e99d0f45237d786d6bbaa7965c7808bbff1a91" },
};


static size_t
bytes(const bytes_t *b, unsigned char *out)
{
    size_t  i;

    if (b->text) {
        memcpy(out, b->text, strlen(b->text));
        return strlen(b->text);
    }

    for (i = 0; i < b->len; i++) {
        out[i] = b->seq ? (unsigned char) (i + 1) : b->fill;
    }

    return b->len;
}


static void
hex(const unsigned char *p, size_t len, char *out)
{
    size_t              i;
    static const char   digits[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }

    out[2 * len] = '\0';
}


static size_t
one_shot(integrations_hmac_alg_e alg, const unsigned char *key, size_t klen,
    const unsigned char *data, size_t len, unsigned char *md)
{
    integrations_hmac_t      mac;
    integrations_hmac_key_t  k;

    if (integrations_hmac_key_init(&k, alg, key, klen) != 0) {
        return 0;
    }

    integrations_hmac_start(&mac, &k);
    integrations_hmac_update(&mac, data, len);

    return integrations_hmac_final(&mac, md);
}


static void
test_vectors(void)
{
    char             got[2 * INTEGRATIONS_HMAC_MAX_LEN + 1];
    size_t           i, klen, len, n;
    unsigned char    key[256], data[256], md[INTEGRATIONS_HMAC_MAX_LEN];
    const vector_t  *v;

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        v = &vectors[i];

        klen = bytes(&v->key, key);
        len = bytes(&v->data, data);

        n = one_shot(v->alg, key, klen, data, len, md);

        is_int(n, v->alg == INTEGRATIONS_HMAC_SHA256 ? 32 : 20,
               "%s: length", v->name);

        hex(md, n, got);
        got[strlen(v->mac)] = '\0';

        is_str(got, v->mac, "%s", v->name);
    }
}


static void
test_streaming(void)
{
    size_t                    i, j, klen, len, n, m;
    unsigned char             key[256], data[256];
    unsigned char             md[INTEGRATIONS_HMAC_MAX_LEN];
    unsigned char             md1[INTEGRATIONS_HMAC_MAX_LEN];
    const vector_t           *v;
    integrations_hmac_t       mac;
    integrations_hmac_key_t   k;

    /* the last case of each RFC: data longer than a block */

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        v = &vectors[i];

        if (i + 1 < sizeof(vectors) / sizeof(vectors[0])
            && vectors[i + 1].alg == v->alg)
        {
            continue;
        }

        klen = bytes(&v->key, key);
        len = bytes(&v->data, data);

        n = one_shot(v->alg, key, klen, data, len, md);

        integrations_hmac_key_init(&k, v->alg, key, klen);
        integrations_hmac_start(&mac, &k);

        for (j = 0; j < len; j++) {
            integrations_hmac_update(&mac, &data[j], 1);
        }

        integrations_hmac_update(&mac, data, 0);

        m = integrations_hmac_final(&mac, md1);

        ok(n == m && memcmp(md, md1, n) == 0,
           "%s: 1-byte pieces equal one shot", v->name);

        integrations_hmac_key_clear(&k);
    }
}


static void
test_long_key(void)
{
    unsigned int   dlen;
    unsigned char  key[200], digest[EVP_MAX_MD_SIZE];
    unsigned char  md[INTEGRATIONS_HMAC_MAX_LEN];
    unsigned char  md1[INTEGRATIONS_HMAC_MAX_LEN];

    /* RFC 2104: a key longer than the 64-byte block is its digest */

    memset(key, 'k', sizeof(key));

    EVP_Digest(key, sizeof(key), digest, &dlen, EVP_sha256(), NULL);
    one_shot(INTEGRATIONS_HMAC_SHA256, key, sizeof(key),
             (const unsigned char *) "msg", 3, md);
    one_shot(INTEGRATIONS_HMAC_SHA256, digest, dlen,
             (const unsigned char *) "msg", 3, md1);
    ok(memcmp(md, md1, 32) == 0, "sha256: a long key is its digest");

    EVP_Digest(key, sizeof(key), digest, &dlen, EVP_sha1(), NULL);
    one_shot(INTEGRATIONS_HMAC_SHA1, key, sizeof(key),
             (const unsigned char *) "msg", 3, md);
    one_shot(INTEGRATIONS_HMAC_SHA1, digest, dlen,
             (const unsigned char *) "msg", 3, md1);
    ok(memcmp(md, md1, 20) == 0, "sha1: a long key is its digest");

    /* exactly one block is used as is, one byte more is hashed */

    one_shot(INTEGRATIONS_HMAC_SHA256, key, 64,
             (const unsigned char *) "msg", 3, md);
    one_shot(INTEGRATIONS_HMAC_SHA256, key, 65,
             (const unsigned char *) "msg", 3, md1);
    ok(memcmp(md, md1, 32) != 0, "sha256: 64- and 65-byte keys differ");
}


static void
test_copies(void)
{
    size_t                    n, m;
    unsigned char             md[INTEGRATIONS_HMAC_MAX_LEN];
    unsigned char             md1[INTEGRATIONS_HMAC_MAX_LEN];
    unsigned char             zero[sizeof(integrations_hmac_t)];
    integrations_hmac_t       mac, mac1;
    integrations_hmac_key_t   k, k1;

    integrations_hmac_key_init(&k, INTEGRATIONS_HMAC_SHA256,
                               (const unsigned char *) "Jefe", 4);

    /* a copy keys as well as the original, even once that is cleared */

    k1 = k;

    integrations_hmac_start(&mac, &k);
    integrations_hmac_update(&mac, "what do ya want for nothing?", 28);
    n = integrations_hmac_final(&mac, md);

    integrations_hmac_key_clear(&k);

    integrations_hmac_start(&mac, &k1);
    integrations_hmac_update(&mac, "what do ya want for nothing?", 28);
    m = integrations_hmac_final(&mac, md1);

    ok(n == m && memcmp(md, md1, n) == 0, "a copied key gives the same MAC");

    /* a running MAC copied midway finishes alike */

    integrations_hmac_start(&mac, &k1);
    integrations_hmac_update(&mac, "what do ya want ", 16);
    mac1 = mac;
    integrations_hmac_update(&mac, "for nothing?", 12);
    integrations_hmac_update(&mac1, "for nothing?", 12);
    integrations_hmac_final(&mac, md);
    integrations_hmac_final(&mac1, md1);

    ok(memcmp(md, md1, 32) == 0, "a copied running MAC gives the same MAC");

    memset(zero, 0, sizeof(zero));
    ok(memcmp(&mac, zero, sizeof(zero)) == 0, "final cleanses the state");

    integrations_hmac_key_clear(&k1);

    ok(integrations_hmac_key_init(&k, (integrations_hmac_alg_e) 7,
                                  (const unsigned char *) "k", 1)
       == -1, "an unknown algorithm is refused");
}


int
main(void)
{
    test_vectors();
    test_streaming();
    test_long_key();
    test_copies();

    return done_testing();
}
