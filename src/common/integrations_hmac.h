/*
 * HMAC (RFC 2104) over SHA-256 and SHA-1 for the pure core, free of nginx.
 *
 * A key is prepared once: the hash states after its inner and outer pads.
 * Each message then starts from a copy of the inner state, so a MAC costs
 * no allocation and no key schedule; both structs are plain values.
 *
 *   integrations_hmac_key_init(&key, INTEGRATIONS_HMAC_SHA256, k, klen);
 *   integrations_hmac_start(&mac, &key);
 *   integrations_hmac_update(&mac, data, len);       (any number of times)
 *   n = integrations_hmac_final(&mac, md);           (32 or 20 bytes)
 *   integrations_hmac_key_clear(&key);
 *
 * A running MAC refers to its key, which must outlive it.
 */

#ifndef INTEGRATIONS_HMAC_H
#define INTEGRATIONS_HMAC_H

#include <stddef.h>
#include <openssl/sha.h>


#define INTEGRATIONS_HMAC_MAX_LEN  32       /* SHA-256; SHA-1 is 20 */


typedef enum {
    INTEGRATIONS_HMAC_SHA256 = 0,
    INTEGRATIONS_HMAC_SHA1
} integrations_hmac_alg_e;

typedef union {
    SHA256_CTX  sha256;
    SHA_CTX     sha1;
} integrations_hmac_hash_t;

typedef struct {
    integrations_hmac_hash_t  inner;        /* after H(key ^ ipad) */
    integrations_hmac_hash_t  outer;        /* after H(key ^ opad) */
    integrations_hmac_alg_e   alg;
} integrations_hmac_key_t;

typedef struct {
    integrations_hmac_hash_t        hash;   /* the inner hash, running */
    const integrations_hmac_key_t  *key;
} integrations_hmac_t;


/* Returns 0, or -1 for an unknown algorithm.  Any key length is taken. */
int integrations_hmac_key_init(integrations_hmac_key_t *key,
    integrations_hmac_alg_e alg, const unsigned char *secret, size_t len);
void integrations_hmac_key_clear(integrations_hmac_key_t *key);

void integrations_hmac_start(integrations_hmac_t *mac,
    const integrations_hmac_key_t *key);
void integrations_hmac_update(integrations_hmac_t *mac, const void *data,
    size_t len);

/*
 * Writes the MAC to md (INTEGRATIONS_HMAC_MAX_LEN bytes of room) and
 * returns its length; the running state is cleansed.
 */
size_t integrations_hmac_final(integrations_hmac_t *mac, unsigned char *md);

/* Cleanses a MAC that was started and will not be finished. */
void integrations_hmac_clear(integrations_hmac_t *mac);

#endif /* INTEGRATIONS_HMAC_H */
