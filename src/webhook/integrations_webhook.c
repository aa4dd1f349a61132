/*
 * Inbound webhook signature schemes; see integrations_webhook.h.
 *
 * Shape of a verification: init() parses the provider's headers into at
 * most two "sets" (signed-bytes variants: Standard's webhook-* and svix-*
 * headers, Twilio's URL with and without its port), each with a prefix
 * and suffix around the body, an optional timestamp and the candidate
 * signatures, already decoded.  One running HMAC per (secret x set),
 * kept inside the request's state, starts from the key the verifier
 * prepared at configuration time, so a request never decodes a key nor
 * allocates a MAC, and is fed the prefix.  update() feeds every MAC;
 * final() adds the suffix, finishes each MAC and compares it with each
 * candidate of its set.
 */

#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "integrations_codec.h"
#include "integrations_hmac.h"
#include "integrations_webhook.h"


#define INTEGRATIONS_WEBHOOK_MAX_SETS     2
#define INTEGRATIONS_WEBHOOK_SIG_MAX      64    /* Ed25519; HMACs are less */
#define INTEGRATIONS_WEBHOOK_TS_DIGITS    12
#define INTEGRATIONS_WEBHOOK_ED25519_KEY  32
#define INTEGRATIONS_WEBHOOK_ED25519_SIG  64
#define INTEGRATIONS_WEBHOOK_SHA256_LEN   32
#define INTEGRATIONS_WEBHOOK_NKEYS        INTEGRATIONS_WEBHOOK_MAX_SECRETS

/*
 * Candidates kept in the state itself: one or two in nearly every
 * delivery.  A longer list (up to MAX_SIGNATURES) moves to the heap, so
 * that the common request neither allocates nor carries 32 slots.
 */
#define INTEGRATIONS_WEBHOOK_CAND_INLINE  8

/*
 * Room for the signed bytes around the body without an allocation:
 * Stripe's "TS." is at most 14 bytes, Slack's "v0:TS:" 16, Toss's ":TIME"
 * and Standard's "ID.TS." (a "msg_" id of some 30 bytes) about 40.
 */
#define INTEGRATIONS_WEBHOOK_SMALL        64


typedef enum {
    INTEGRATIONS_WEBHOOK_HEX = 0,
    INTEGRATIONS_WEBHOOK_BASE64
} integrations_webhook_encoding_e;


/* One signature from the request, decoded; len 0: cannot match. */
typedef struct {
    unsigned char   sig[INTEGRATIONS_WEBHOOK_SIG_MAX];
    size_t          len;
    unsigned        ed25519;
} integrations_webhook_cand_t;

/*
 * Bytes signed before or after the body: in small when they fit, else on
 * the heap (a long id, Twilio's URLs), or the verifier's own (Square).
 */
typedef struct {
    const unsigned char          *data;
    size_t                        len;
    unsigned char                *heap;
    unsigned char                 small[INTEGRATIONS_WEBHOOK_SMALL];
} integrations_webhook_bytes_t;

typedef struct {
    integrations_webhook_bytes_t  prefix;
    integrations_webhook_bytes_t  suffix;
    int64_t                       ts;
    unsigned                      has_ts;
    int                           sig_slot;     /* header_e, for the log */
    unsigned                      ncand;
    integrations_webhook_cand_t  *cand;         /* inline, or the heap */

    /* last: see integrations_webhook_state_new() */
    integrations_webhook_cand_t   inline_cand[INTEGRATIONS_WEBHOOK_CAND_INLINE];
} integrations_webhook_set_t;

struct integrations_webhook_verifier_s {
    integrations_webhook_provider_e   provider;
    int64_t                           tolerance;
    size_t                            max_buffer;
    unsigned char                    *url;
    size_t                            url_len;
    integrations_webhook_alg_e        algorithm;   /* twilio */
    unsigned                          nhmac;
    integrations_hmac_key_t           hmac[INTEGRATIONS_WEBHOOK_NKEYS];
    int                               hmac_index[INTEGRATIONS_WEBHOOK_NKEYS];

    /* twilio algorithm=auto: the same secrets for HMAC-SHA256 */
    integrations_hmac_key_t           hmac256[INTEGRATIONS_WEBHOOK_NKEYS];
    unsigned                          ned;
    EVP_PKEY                         *ed[INTEGRATIONS_WEBHOOK_NKEYS];
    int                               ed_index[INTEGRATIONS_WEBHOOK_NKEYS];
};

struct integrations_webhook_state_s {
    const integrations_webhook_verifier_t  *v;
    int64_t                         now;
    unsigned                        nsets;
    uint32_t                        live;        /* bit i: mac[i] runs */

    EVP_MD_CTX                     *md;          /* Twilio bodySHA256 */
    unsigned char                   body_sha256[32];
    unsigned                        body_sha256_ok;

    unsigned                        twilio_json:1;
    unsigned                        twilio_sha256:1;
    unsigned                        toss_unsigned:1;
    unsigned                        buffering:1;  /* whole body wanted */
    unsigned                        ed_usable:1;  /* v1a still possible */
    unsigned                        ed_overflow:1;
    unsigned                        done:1;

    unsigned char                  *buf;
    size_t                          buf_len;
    size_t                          buf_size;

    unsigned char                  *idp;         /* body prefix for ids */
    size_t                          idp_len;
    unsigned                        keep_idp;    /* idp wanted */

    /*
     * Last, as integrations_webhook_state_new() zeroes only what comes
     * before them and the head of each set.
     */

    integrations_webhook_set_t      set[INTEGRATIONS_WEBHOOK_MAX_SETS];

    /* mac[s * MAX_SETS + k]: secret s over set k */
    integrations_hmac_t             mac[INTEGRATIONS_WEBHOOK_NKEYS
                                        * INTEGRATIONS_WEBHOOK_MAX_SETS];
};


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} integrations_webhook_json_t;

typedef struct {
    const unsigned char  *key;
    size_t                key_len;
    const unsigned char  *value;
    size_t                value_len;
} integrations_webhook_pair_t;


static int integrations_webhook_eq(const unsigned char *p, size_t len,
    const char *s);
static int integrations_webhook_caseeq(const unsigned char *p, size_t len,
    const char *s);
static int integrations_webhook_header(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h, int slot,
    const unsigned char **value, size_t *len, int required);
static int integrations_webhook_parse_ts(const unsigned char *p, size_t len,
    int64_t *ts);
static void integrations_webhook_decode_cand(integrations_webhook_cand_t *c,
    integrations_webhook_encoding_e enc, const unsigned char *p, size_t len,
    size_t expect, unsigned ed25519);
static int integrations_webhook_bytes(integrations_webhook_bytes_t *b,
    const unsigned char *p1, size_t len1, const unsigned char *p2,
    size_t len2, const unsigned char *p3, size_t len3,
    const unsigned char *p4, size_t len4);
static unsigned char *integrations_webhook_concat(size_t *out_len,
    const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
    const unsigned char *c, size_t clen, const unsigned char *d, size_t dlen);
static integrations_webhook_rc_e integrations_webhook_fail(
    integrations_webhook_ctx_t *ctx, integrations_webhook_rc_e rc, int slot);
static integrations_webhook_rc_e integrations_webhook_cand_add(
    integrations_webhook_ctx_t *ctx, integrations_webhook_set_t *set,
    integrations_webhook_cand_t **cand);

static integrations_webhook_rc_e integrations_webhook_init_stripe(
    integrations_webhook_ctx_t *ctx, const integrations_webhook_headers_t *h);
static integrations_webhook_rc_e integrations_webhook_init_standard(
    integrations_webhook_ctx_t *ctx, const integrations_webhook_headers_t *h);
static integrations_webhook_rc_e integrations_webhook_standard_set(
    integrations_webhook_ctx_t *ctx, const integrations_webhook_headers_t *h,
    int id_slot, int ts_slot, int sig_slot, int *present);
static integrations_webhook_rc_e integrations_webhook_init_toss(
    integrations_webhook_ctx_t *ctx, const integrations_webhook_headers_t *h);
static integrations_webhook_rc_e integrations_webhook_init_single(
    integrations_webhook_ctx_t *ctx, const integrations_webhook_headers_t *h);
static integrations_webhook_rc_e integrations_webhook_init_twilio(
    integrations_webhook_ctx_t *ctx, const integrations_webhook_headers_t *h,
    const unsigned char *query, size_t query_len);
static integrations_webhook_rc_e integrations_webhook_twilio_alg(
    integrations_webhook_ctx_t *ctx, const integrations_webhook_headers_t *h);
static void integrations_webhook_trim(const unsigned char **p,
    const unsigned char **end);
static integrations_webhook_rc_e integrations_webhook_start_macs(
    integrations_webhook_ctx_t *ctx);

static integrations_webhook_rc_e integrations_webhook_buffer(
    integrations_webhook_state_t *st, const unsigned char *data, size_t len);
static integrations_webhook_rc_e integrations_webhook_final_macs(
    integrations_webhook_ctx_t *ctx);
static integrations_webhook_rc_e integrations_webhook_final_twilio(
    integrations_webhook_ctx_t *ctx);
static integrations_webhook_rc_e integrations_webhook_verdict(
    integrations_webhook_ctx_t *ctx, const int *matched);
static int integrations_webhook_mac_match(integrations_hmac_t *mac,
    const integrations_webhook_set_t *set);
static int integrations_webhook_ed_match(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_set_t *set, int *error);

/* matched[k]: the params index of the secret that verified set k, or -1 */
static int integrations_webhook_parse_form(unsigned char *buf, size_t len,
    integrations_webhook_pair_t **pairs, size_t *npairs);
static int integrations_webhook_pair_cmp(const void *a, const void *b);
static int integrations_webhook_twilio_variants(
    integrations_webhook_state_t *st, const unsigned char *url, size_t len);
static int integrations_webhook_toss_needs_signature(const unsigned char *p,
    size_t len);
static integrations_webhook_state_t *integrations_webhook_state_new(void);
static void integrations_webhook_state_release(integrations_webhook_state_t *st,
    int all);

static void integrations_webhook_json_ws(integrations_webhook_json_t *j);
static int integrations_webhook_json_string(integrations_webhook_json_t *j,
    const unsigned char **s, size_t *len, int *escaped);
static int integrations_webhook_json_skip(integrations_webhook_json_t *j);
static int integrations_webhook_json_next(integrations_webhook_json_t *j,
    unsigned *n, const unsigned char **key, size_t *key_len, int *escaped);
static int integrations_webhook_json_decode(const unsigned char *p,
    size_t len, unsigned char *out, size_t size, size_t *out_len);
static int integrations_webhook_json_key_eq(const unsigned char *p,
    size_t len, int escaped, const char *key);
static int integrations_webhook_json_find(integrations_webhook_json_t *j,
    const char *key);
static int integrations_webhook_json_id(const unsigned char *p, size_t len,
    const char *key1, const char *key2, const char *field,
    integrations_webhook_event_id_t *out);
static int integrations_webhook_id_set(integrations_webhook_event_id_t *out,
    const unsigned char *p, size_t len, integrations_webhook_id_source_e src);
static int integrations_webhook_id_header(integrations_webhook_event_id_t *out,
    const integrations_webhook_headers_t *h, int slot);
static int integrations_webhook_id_shopify(
    integrations_webhook_event_id_t *out,
    const integrations_webhook_headers_t *h);


static const char  *integrations_webhook_providers[] = {
    "stripe",
    "standard",
    "toss",
    "coinbase",
    "square",
    "slack",
    "github",
    "shopify",
    "twilio"
};

static const char  *integrations_webhook_reasons[] = {
    "ok",
    "missing_header",
    "malformed_header",
    "no_known_scheme",
    "bad_signature",
    "timestamp_out_of_tolerance",
    "unsigned",
    "malformed_body",
    "body_too_large",
    "internal_error",
    "too_many_signatures"
};

/*
 * The lengths are counted once here: every request header is matched
 * against the whole table, and most match nothing.
 */

#define INTEGRATIONS_WEBHOOK_HNAME(s)  { s, sizeof(s) - 1 }

static const struct {
    const char  *name;
    size_t       len;
} integrations_webhook_headers[] = {
    INTEGRATIONS_WEBHOOK_HNAME("Stripe-Signature"),
    INTEGRATIONS_WEBHOOK_HNAME("webhook-id"),
    INTEGRATIONS_WEBHOOK_HNAME("webhook-timestamp"),
    INTEGRATIONS_WEBHOOK_HNAME("webhook-signature"),
    INTEGRATIONS_WEBHOOK_HNAME("svix-id"),
    INTEGRATIONS_WEBHOOK_HNAME("svix-timestamp"),
    INTEGRATIONS_WEBHOOK_HNAME("svix-signature"),
    INTEGRATIONS_WEBHOOK_HNAME("tosspayments-webhook-signature"),
    INTEGRATIONS_WEBHOOK_HNAME("tosspayments-webhook-transmission-time"),
    INTEGRATIONS_WEBHOOK_HNAME("tosspayments-webhook-transmission-id"),
    INTEGRATIONS_WEBHOOK_HNAME("X-CC-Webhook-Signature"),
    INTEGRATIONS_WEBHOOK_HNAME("x-square-hmacsha256-signature"),
    INTEGRATIONS_WEBHOOK_HNAME("X-Slack-Signature"),
    INTEGRATIONS_WEBHOOK_HNAME("X-Slack-Request-Timestamp"),
    INTEGRATIONS_WEBHOOK_HNAME("X-Hub-Signature-256"),
    INTEGRATIONS_WEBHOOK_HNAME("X-GitHub-Delivery"),
    INTEGRATIONS_WEBHOOK_HNAME("X-Shopify-Hmac-Sha256"),
    INTEGRATIONS_WEBHOOK_HNAME("X-Shopify-Webhook-Id"),
    INTEGRATIONS_WEBHOOK_HNAME("X-Twilio-Signature"),
    INTEGRATIONS_WEBHOOK_HNAME("I-Twilio-Idempotency-Token"),
    INTEGRATIONS_WEBHOOK_HNAME("shopify-hmac-sha256"),
    INTEGRATIONS_WEBHOOK_HNAME("shopify-webhook-id"),
    INTEGRATIONS_WEBHOOK_HNAME("X-Twilio-Webhooks-Signature-Settings")
};


/* names and lookups */

integrations_webhook_provider_e
integrations_webhook_provider_by_name(const unsigned char *name, size_t len)
{
    int  i;

    for (i = 0; i < INTEGRATIONS_WEBHOOK_PROVIDER_MAX; i++) {
        if (integrations_webhook_eq(name, len,
                                    integrations_webhook_providers[i]))
        {
            return (integrations_webhook_provider_e) i;
        }
    }

    return INTEGRATIONS_WEBHOOK_PROVIDER_MAX;
}


const char *
integrations_webhook_provider_name(integrations_webhook_provider_e provider)
{
    if ((unsigned) provider >= INTEGRATIONS_WEBHOOK_PROVIDER_MAX) {
        return "unknown";
    }

    return integrations_webhook_providers[provider];
}


const char *
integrations_webhook_reason_str(integrations_webhook_rc_e rc)
{
    if ((unsigned) rc >= INTEGRATIONS_WEBHOOK_RC_MAX) {
        return "internal_error";
    }

    return integrations_webhook_reasons[rc];
}


const char *
integrations_webhook_header_name(int header)
{
    if (header < 0 || header >= INTEGRATIONS_WEBHOOK_H_MAX) {
        return NULL;
    }

    return integrations_webhook_headers[header].name;
}


void
integrations_webhook_headers_init(integrations_webhook_headers_t *h)
{
    memset(h, 0, sizeof(integrations_webhook_headers_t));
}


int
integrations_webhook_headers_add(integrations_webhook_headers_t *h,
    const unsigned char *name, size_t name_len,
    const unsigned char *value, size_t value_len)
{
    int                             i;
    const char                     *known;
    integrations_webhook_header_t  *hh;

    for (i = 0; i < INTEGRATIONS_WEBHOOK_H_MAX; i++) {
        known = integrations_webhook_headers[i].name;

        if (name_len != integrations_webhook_headers[i].len
            || !integrations_webhook_caseeq(name, name_len, known))
        {
            continue;
        }

        hh = &h->h[i];

        /* The first copy is kept, but any second one condemns the lot. */

        if (hh->count++ == 0) {
            hh->data = value;
            hh->len = value_len;
        }

        if (hh->count == 0) {
            hh->count = 2;          /* wrapped: still "more than once" */
        }

        return i;
    }

    return -1;
}


static int
integrations_webhook_eq(const unsigned char *p, size_t len, const char *s)
{
    size_t  n;

    n = strlen(s);

    return len == n && memcmp(p, s, n) == 0;
}


static int
integrations_webhook_caseeq(const unsigned char *p, size_t len, const char *s)
{
    size_t         i;
    unsigned char  a, b;

    if (strlen(s) != len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        a = p[i];
        b = (unsigned char) s[i];

        if (a >= 'A' && a <= 'Z') {
            a |= 0x20;
        }

        if (b >= 'A' && b <= 'Z') {
            b |= 0x20;
        }

        if (a != b) {
            return 0;
        }
    }

    return 1;
}


/* verifier */

integrations_webhook_verifier_t *
integrations_webhook_verifier_create(
    const integrations_webhook_params_t *params, char *err, size_t err_len)
{
    int                                  in_secret;
    size_t                               i, klen, n, ksize;
    const char                          *msg;
    unsigned char                       *key;
    const unsigned char                 *s;
    integrations_hmac_alg_e              alg;
    integrations_webhook_provider_e      p;
    integrations_webhook_verifier_t     *v;
    integrations_webhook_secret_kind_e   kind;
    unsigned char                        raw[INTEGRATIONS_WEBHOOK_ED25519_KEY];

    v = NULL;
    key = NULL;
    ksize = 0;
    msg = NULL;
    i = 0;
    in_secret = 0;

    if (err_len > 0) {
        err[0] = '\0';
    }

    p = params->provider;

    if ((unsigned) p >= INTEGRATIONS_WEBHOOK_PROVIDER_MAX) {
        msg = "unknown provider";
        goto failed;
    }

    if (params->nsecrets == 0 || params->secrets == NULL) {
        msg = "no secret";
        goto failed;
    }

    if (params->nsecrets > INTEGRATIONS_WEBHOOK_MAX_SECRETS) {
        msg = "too many secrets";
        goto failed;
    }

    if (params->tolerance < 0) {
        msg = "negative tolerance";
        goto failed;
    }

    if (params->key_form == INTEGRATIONS_WEBHOOK_KEY_HEX
        && p != INTEGRATIONS_WEBHOOK_TOSS)
    {
        msg = "key_form=hex applies to toss only";
        goto failed;
    }

    if (params->key_form != INTEGRATIONS_WEBHOOK_KEY_HEX
        && params->key_form != INTEGRATIONS_WEBHOOK_KEY_ASCII)
    {
        msg = "unknown key_form";
        goto failed;
    }

    if ((unsigned) params->algorithm > INTEGRATIONS_WEBHOOK_ALG_AUTO) {
        msg = "unknown algorithm";
        goto failed;
    }

    if (params->algorithm != INTEGRATIONS_WEBHOOK_ALG_DEFAULT
        && p != INTEGRATIONS_WEBHOOK_TWILIO)
    {
        msg = "algorithm= applies to twilio only";
        goto failed;
    }

    if (p == INTEGRATIONS_WEBHOOK_SQUARE || p == INTEGRATIONS_WEBHOOK_TWILIO) {
        if (params->url == NULL || params->url_len == 0) {
            msg = "this provider signs the URL: url= is required";
            goto failed;
        }

        if (params->url_len > INTEGRATIONS_WEBHOOK_MAX_URL) {
            msg = "url= is too long";
            goto failed;
        }

        /*
         * Twilio signs the URL with the request's own query string, which
         * init() appends; a query written here would be signed twice.
         */

        if (p == INTEGRATIONS_WEBHOOK_TWILIO
            && (memchr(params->url, '?', params->url_len) != NULL
                || memchr(params->url, '#', params->url_len) != NULL))
        {
            msg = "twilio url= must have no query: the request's is used";
            goto failed;
        }

    } else if (params->url != NULL && params->url_len != 0) {
        msg = "url= applies to square and twilio only";
        goto failed;
    }

    v = calloc(1, sizeof(integrations_webhook_verifier_t));
    if (v == NULL) {
        msg = "out of memory";
        goto failed;
    }

    v->provider = p;
    v->tolerance = params->tolerance ? params->tolerance
                                     : INTEGRATIONS_WEBHOOK_DEFAULT_TOLERANCE;
    v->max_buffer = params->max_buffer
                    ? params->max_buffer
                    : INTEGRATIONS_WEBHOOK_DEFAULT_MAX_BUFFER;

    if (params->url_len) {
        v->url = malloc(params->url_len);
        if (v->url == NULL) {
            msg = "out of memory";
            goto failed;
        }

        memcpy(v->url, params->url, params->url_len);
        v->url_len = params->url_len;
    }

    /*
     * Twilio's Auth Token signs with HMAC-SHA1, a SharedKey as its Setting
     * says; for algorithm=auto the keys are prepared for both.
     */

    v->algorithm = params->algorithm;

    if (p == INTEGRATIONS_WEBHOOK_TWILIO
        && v->algorithm == INTEGRATIONS_WEBHOOK_ALG_DEFAULT)
    {
        v->algorithm = INTEGRATIONS_WEBHOOK_ALG_SHA1;
    }

    if (p == INTEGRATIONS_WEBHOOK_TWILIO
        && v->algorithm != INTEGRATIONS_WEBHOOK_ALG_SHA256)
    {
        alg = INTEGRATIONS_HMAC_SHA1;

    } else {
        alg = INTEGRATIONS_HMAC_SHA256;
    }

    in_secret = 1;

    for (i = 0; i < params->nsecrets; i++) {
        s = params->secrets[i].data;
        n = params->secrets[i].len;
        kind = params->secrets[i].kind;

        if (s == NULL || n == 0) {
            msg = "empty secret";
            goto failed;
        }

        if (kind == INTEGRATIONS_WEBHOOK_SECRET_AUTO) {
            kind = (p == INTEGRATIONS_WEBHOOK_STANDARD && n > 5
                    && memcmp(s, "whpk_", 5) == 0)
                   ? INTEGRATIONS_WEBHOOK_SECRET_ED25519_PUBLIC
                   : INTEGRATIONS_WEBHOOK_SECRET_HMAC;
        }

        if (kind == INTEGRATIONS_WEBHOOK_SECRET_ED25519_PUBLIC) {
            if (p != INTEGRATIONS_WEBHOOK_STANDARD) {
                msg = "Ed25519 keys apply to standard only";
                goto failed;
            }

            if (n > 5 && memcmp(s, "whpk_", 5) == 0) {
                s += 5;
                n -= 5;
            }

            if (integrations_codec_base64_decode(raw, sizeof(raw), s, n,
                                                 &klen)
                != 0
                || klen != INTEGRATIONS_WEBHOOK_ED25519_KEY)
            {
                msg = "Ed25519 public key is not base64 of 32 bytes";
                goto failed;
            }

            v->ed[v->ned] = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
                                                        NULL, raw, klen);
            if (v->ed[v->ned] == NULL) {
                msg = "Ed25519 public key rejected by OpenSSL";
                goto failed;
            }

            v->ed_index[v->ned++] = (int) i;
            continue;
        }

        if (kind != INTEGRATIONS_WEBHOOK_SECRET_HMAC) {
            msg = "unknown secret kind";
            goto failed;
        }

        ksize = n;
        key = malloc(ksize);
        if (key == NULL) {
            msg = "out of memory";
            goto failed;
        }

        switch (p) {

        case INTEGRATIONS_WEBHOOK_STANDARD:
            if (n > 6 && memcmp(s, "whsec_", 6) == 0) {
                s += 6;
                n -= 6;
            }

            if (integrations_codec_base64_decode(key, n, s, n, &klen) != 0) {
                msg = "secret is not base64 (after an optional whsec_)";
                goto failed;
            }

            break;

        case INTEGRATIONS_WEBHOOK_TOSS:
            if (params->key_form == INTEGRATIONS_WEBHOOK_KEY_HEX) {
                if (integrations_codec_hex_decode(key, n, s, n, &klen) != 0) {
                    msg = "secret is not hex (key_form=hex)";
                    goto failed;
                }

                break;
            }

            /* fall through */

        default:
            /* Stripe included: the whole "whsec_..." text is the key. */
            memcpy(key, s, n);
            klen = n;
        }

        if (klen == 0) {
            msg = "secret decodes to no bytes";
            goto failed;
        }

        if (integrations_hmac_key_init(&v->hmac[v->nhmac], alg, key, klen)
            != 0
            || (v->algorithm == INTEGRATIONS_WEBHOOK_ALG_AUTO
                && integrations_hmac_key_init(&v->hmac256[v->nhmac],
                                              INTEGRATIONS_HMAC_SHA256,
                                              key, klen)
                   != 0))
        {
            msg = "HMAC key setup failed";
            goto failed;
        }

        v->hmac_index[v->nhmac++] = (int) i;

        OPENSSL_cleanse(key, ksize);
        free(key);
        key = NULL;
    }

    OPENSSL_cleanse(raw, sizeof(raw));

    return v;

failed:

    if (key != NULL) {
        OPENSSL_cleanse(key, ksize);
        free(key);
    }

    OPENSSL_cleanse(raw, sizeof(raw));

    if (err_len > 0) {
        if (in_secret) {
            /* Secrets are named by position, never quoted. */
            snprintf(err, err_len, "secret %zu: %s", i + 1, msg);

        } else {
            snprintf(err, err_len, "%s", msg);
        }
    }

    integrations_webhook_verifier_free(v);

    return NULL;
}


void
integrations_webhook_verifier_free(void *verifier)
{
    unsigned                          i;
    integrations_webhook_verifier_t  *v;

    v = verifier;

    if (v == NULL) {
        return;
    }

    for (i = 0; i < INTEGRATIONS_WEBHOOK_NKEYS; i++) {
        integrations_hmac_key_clear(&v->hmac[i]);
        integrations_hmac_key_clear(&v->hmac256[i]);
    }

    for (i = 0; i < v->ned; i++) {
        EVP_PKEY_free(v->ed[i]);
    }

    free(v->url);
    free(v);
}


integrations_webhook_provider_e
integrations_webhook_verifier_provider(const integrations_webhook_verifier_t *v)
{
    return v->provider;
}


/* per request */

integrations_webhook_rc_e
integrations_webhook_init(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_verifier_t *v,
    const integrations_webhook_headers_t *h,
    const unsigned char *query, size_t query_len, int64_t now)
{
    integrations_webhook_rc_e      rc;
    integrations_webhook_state_t  *st;

    memset(ctx, 0, sizeof(integrations_webhook_ctx_t));

    ctx->header = -1;
    ctx->secret = -1;
    ctx->rc = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;

    if (v == NULL || h == NULL) {
        return ctx->rc;
    }

    ctx->provider = v->provider;

    st = integrations_webhook_state_new();
    if (st == NULL) {
        return ctx->rc;
    }

    ctx->state = st;
    st->v = v;
    st->now = now;

    switch (v->provider) {

    case INTEGRATIONS_WEBHOOK_STRIPE:
        rc = integrations_webhook_init_stripe(ctx, h);
        break;

    case INTEGRATIONS_WEBHOOK_STANDARD:
        rc = integrations_webhook_init_standard(ctx, h);
        break;

    case INTEGRATIONS_WEBHOOK_TOSS:
        rc = integrations_webhook_init_toss(ctx, h);
        break;

    case INTEGRATIONS_WEBHOOK_TWILIO:
        rc = integrations_webhook_init_twilio(ctx, h, query, query_len);
        break;

    default:
        rc = integrations_webhook_init_single(ctx, h);
    }

    if (rc == INTEGRATIONS_WEBHOOK_OK && !st->toss_unsigned
        && v->provider != INTEGRATIONS_WEBHOOK_TWILIO)
    {
        rc = integrations_webhook_start_macs(ctx);
    }

    if (rc == INTEGRATIONS_WEBHOOK_OK
        && (v->provider == INTEGRATIONS_WEBHOOK_STRIPE
            || v->provider == INTEGRATIONS_WEBHOOK_COINBASE
            || v->provider == INTEGRATIONS_WEBHOOK_SQUARE
            || v->provider == INTEGRATIONS_WEBHOOK_SLACK))
    {
        /* allocated by the first update(), unless the glue says not to */
        st->keep_idp = 1;
    }

    ctx->rc = rc;

    if (rc != INTEGRATIONS_WEBHOOK_OK) {
        /* A verdict before the body: nothing is worth keeping. */
        integrations_webhook_state_release(st, 1);
        ctx->state = NULL;
    }

    return rc;
}


static integrations_webhook_rc_e
integrations_webhook_fail(integrations_webhook_ctx_t *ctx,
    integrations_webhook_rc_e rc, int slot)
{
    ctx->header = slot;
    return rc;
}


/*
 * The next candidate slot of a set: OK with *cand, or TOO_MANY_SIGNATURES
 * (blaming the set's header) past MAX_SIGNATURES.  Past the inline slots
 * the list moves once to the heap, sized for the most it can hold.
 */

static integrations_webhook_rc_e
integrations_webhook_cand_add(integrations_webhook_ctx_t *ctx,
    integrations_webhook_set_t *set, integrations_webhook_cand_t **cand)
{
    integrations_webhook_cand_t  *c;

    if (set->ncand == INTEGRATIONS_WEBHOOK_MAX_SIGNATURES) {
        return integrations_webhook_fail(ctx,
                                     INTEGRATIONS_WEBHOOK_TOO_MANY_SIGNATURES,
                                     set->sig_slot);
    }

    if (set->ncand == INTEGRATIONS_WEBHOOK_CAND_INLINE
        && set->cand == set->inline_cand)
    {
        c = malloc(INTEGRATIONS_WEBHOOK_MAX_SIGNATURES
                   * sizeof(integrations_webhook_cand_t));
        if (c == NULL) {
            return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
        }

        memcpy(c, set->inline_cand, sizeof(set->inline_cand));
        set->cand = c;
    }

    *cand = &set->cand[set->ncand++];

    return INTEGRATIONS_WEBHOOK_OK;
}


/*
 * Fetches a header the provider reads: 1 with its value, 0 when absent
 * and not required; otherwise the failure is filed in ctx and -1 returned.
 */

static int
integrations_webhook_header(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h, int slot,
    const unsigned char **value, size_t *len, int required)
{
    const integrations_webhook_header_t  *hh;

    hh = &h->h[slot];

    if (hh->count == 0) {
        if (!required) {
            return 0;
        }

        ctx->header = slot;
        ctx->rc = INTEGRATIONS_WEBHOOK_MISSING_HEADER;
        return -1;
    }

    if (hh->count > 1 || hh->len == 0 || hh->data == NULL) {
        ctx->header = slot;
        ctx->rc = INTEGRATIONS_WEBHOOK_MALFORMED_HEADER;
        return -1;
    }

    *value = hh->data;
    *len = hh->len;

    return 1;
}


/* Unix seconds: 1..12 ASCII digits, nothing else (no sign, no space). */

static int
integrations_webhook_parse_ts(const unsigned char *p, size_t len, int64_t *ts)
{
    size_t   i;
    int64_t  n;

    if (len == 0 || len > INTEGRATIONS_WEBHOOK_TS_DIGITS) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        n = n * 10 + (p[i] - '0');
    }

    *ts = n;

    return 0;
}


static void
integrations_webhook_decode_cand(integrations_webhook_cand_t *c,
    integrations_webhook_encoding_e enc, const unsigned char *p, size_t len,
    size_t expect, unsigned ed25519)
{
    int     rc;
    size_t  n;

    c->ed25519 = ed25519;
    c->len = 0;

    if (enc == INTEGRATIONS_WEBHOOK_HEX) {
        rc = integrations_codec_hex_decode(c->sig, sizeof(c->sig), p, len, &n);

    } else {
        rc = integrations_codec_base64_decode(c->sig, sizeof(c->sig), p, len,
                                              &n);
    }

    /* Decoded to the scheme's length or not at all: never a partial. */

    if (rc == 0 && n == expect) {
        c->len = n;
    }
}


static unsigned char *
integrations_webhook_concat(size_t *out_len, const unsigned char *a,
    size_t alen, const unsigned char *b, size_t blen, const unsigned char *c,
    size_t clen, const unsigned char *d, size_t dlen)
{
    size_t          n;
    unsigned char  *p;

    n = alen + blen + clen + dlen;

    p = malloc(n ? n : 1);
    if (p == NULL) {
        return NULL;
    }

    if (alen) {
        memcpy(p, a, alen);
    }

    if (blen) {
        memcpy(p + alen, b, blen);
    }

    if (clen) {
        memcpy(p + alen + blen, c, clen);
    }

    if (dlen) {
        memcpy(p + alen + blen + clen, d, dlen);
    }

    *out_len = n;

    return p;
}


static int
integrations_webhook_bytes(integrations_webhook_bytes_t *b,
    const unsigned char *p1, size_t len1, const unsigned char *p2,
    size_t len2, const unsigned char *p3, size_t len3,
    const unsigned char *p4, size_t len4)
{
    size_t          n;
    unsigned char  *p;

    n = len1 + len2 + len3 + len4;

    if (n <= sizeof(b->small)) {
        p = b->small;

    } else {
        p = malloc(n);
        if (p == NULL) {
            return -1;
        }

        b->heap = p;
    }

    b->data = p;
    b->len = n;

    if (len1) {
        memcpy(p, p1, len1);
    }

    if (len2) {
        memcpy(p + len1, p2, len2);
    }

    if (len3) {
        memcpy(p + len1 + len2, p3, len3);
    }

    if (len4) {
        memcpy(p + len1 + len2 + len3, p4, len4);
    }

    return 0;
}


/* Stripe-Signature: t=1700000000,v1=hex[,v1=hex][,v0=...] */

static integrations_webhook_rc_e
integrations_webhook_init_stripe(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h)
{
    size_t                         len, klen;
    const unsigned char           *p, *end, *item, *eq, *t, *comma;
    integrations_webhook_rc_e      rc;
    integrations_webhook_cand_t   *cand;
    integrations_webhook_set_t    *set;
    integrations_webhook_state_t  *st;

    st = ctx->state;
    set = &st->set[0];
    set->sig_slot = INTEGRATIONS_WEBHOOK_H_STRIPE_SIGNATURE;
    st->nsets = 1;
    t = NULL;
    klen = 0;

    if (integrations_webhook_header(ctx, h,
                                    INTEGRATIONS_WEBHOOK_H_STRIPE_SIGNATURE,
                                    &p, &len, 1)
        != 1)
    {
        return ctx->rc;
    }

    end = p + len;

    for (item = p; item < end; item = comma + 1) {
        comma = memchr(item, ',', end - item);
        if (comma == NULL) {
            comma = end;
        }

        /* As Stripe's libraries do, an item that is not k=v is ignored. */

        eq = memchr(item, '=', comma - item);
        if (eq == NULL) {
            continue;
        }

        if (integrations_webhook_eq(item, eq - item, "t")) {
            if (t != NULL
                || integrations_webhook_parse_ts(eq + 1, comma - eq - 1,
                                                 &set->ts)
                   != 0)
            {
                return integrations_webhook_fail(ctx,
                           INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
                           INTEGRATIONS_WEBHOOK_H_STRIPE_SIGNATURE);
            }

            t = eq + 1;
            klen = comma - t;
            set->has_ts = 1;

        } else if (integrations_webhook_eq(item, eq - item, "v1")) {
            rc = integrations_webhook_cand_add(ctx, set, &cand);
            if (rc != INTEGRATIONS_WEBHOOK_OK) {
                return rc;
            }

            integrations_webhook_decode_cand(cand, INTEGRATIONS_WEBHOOK_HEX,
                                             eq + 1, comma - eq - 1, 32, 0);
        }
    }

    if (t == NULL) {
        return integrations_webhook_fail(ctx,
                                      INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
                                      INTEGRATIONS_WEBHOOK_H_STRIPE_SIGNATURE);
    }

    ctx->skew = st->now - set->ts;

    if (set->ncand == 0) {
        return integrations_webhook_fail(ctx,
                                      INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
                                      INTEGRATIONS_WEBHOOK_H_STRIPE_SIGNATURE);
    }

    if (integrations_webhook_bytes(&set->prefix, t, klen,
                                   (const unsigned char *) ".", 1,
                                   NULL, 0, NULL, 0)
        != 0)
    {
        return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
    }

    return INTEGRATIONS_WEBHOOK_OK;
}


static integrations_webhook_rc_e
integrations_webhook_init_standard(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h)
{
    int                        wh, sv;
    integrations_webhook_rc_e  rc;

    rc = integrations_webhook_standard_set(ctx, h,
                                     INTEGRATIONS_WEBHOOK_H_WEBHOOK_ID,
                                     INTEGRATIONS_WEBHOOK_H_WEBHOOK_TIMESTAMP,
                                     INTEGRATIONS_WEBHOOK_H_WEBHOOK_SIGNATURE,
                                     &wh);
    if (rc != INTEGRATIONS_WEBHOOK_OK) {
        return rc;
    }

    rc = integrations_webhook_standard_set(ctx, h,
                                     INTEGRATIONS_WEBHOOK_H_SVIX_ID,
                                     INTEGRATIONS_WEBHOOK_H_SVIX_TIMESTAMP,
                                     INTEGRATIONS_WEBHOOK_H_SVIX_SIGNATURE,
                                     &sv);
    if (rc != INTEGRATIONS_WEBHOOK_OK) {
        return rc;
    }

    if (!wh && !sv) {
        return integrations_webhook_fail(ctx,
                                      INTEGRATIONS_WEBHOOK_MISSING_HEADER,
                                      INTEGRATIONS_WEBHOOK_H_WEBHOOK_SIGNATURE);
    }

    return INTEGRATIONS_WEBHOOK_OK;
}


/*
 * One of the two header sets: all three headers, or none (*present = 0).
 * "webhook-signature: v1,B64 v1a,B64 v2,..." space-separated; entries of
 * other versions, or with no comma, are skipped as the reference
 * libraries skip them.
 */

static integrations_webhook_rc_e
integrations_webhook_standard_set(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h, int id_slot, int ts_slot,
    int sig_slot, int *present)
{
    size_t                         id_len, ts_len, sig_len;
    const unsigned char           *id, *ts, *sig, *end, *tok, *sp, *comma;
    integrations_webhook_rc_e      rc;
    integrations_webhook_cand_t   *cand;
    integrations_webhook_set_t    *set;
    integrations_webhook_state_t  *st;

    st = ctx->state;
    *present = 0;

    if (h->h[id_slot].count == 0 && h->h[ts_slot].count == 0
        && h->h[sig_slot].count == 0)
    {
        return INTEGRATIONS_WEBHOOK_OK;
    }

    *present = 1;

    if (integrations_webhook_header(ctx, h, sig_slot, &sig, &sig_len, 1) != 1
        || integrations_webhook_header(ctx, h, id_slot, &id, &id_len, 1) != 1
        || integrations_webhook_header(ctx, h, ts_slot, &ts, &ts_len, 1) != 1)
    {
        return ctx->rc;
    }

    set = &st->set[st->nsets++];
    set->sig_slot = sig_slot;

    if (integrations_webhook_parse_ts(ts, ts_len, &set->ts) != 0) {
        return integrations_webhook_fail(ctx,
                                         INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
                                         ts_slot);
    }

    set->has_ts = 1;

    if (st->nsets == 1) {
        ctx->skew = st->now - set->ts;
    }

    end = sig + sig_len;

    for (tok = sig; tok < end; tok = sp + 1) {
        sp = memchr(tok, ' ', end - tok);
        if (sp == NULL) {
            sp = end;
        }

        comma = memchr(tok, ',', sp - tok);
        if (comma == NULL) {
            continue;
        }

        if (!integrations_webhook_eq(tok, comma - tok, "v1")
            && !integrations_webhook_eq(tok, comma - tok, "v1a"))
        {
            continue;
        }

        rc = integrations_webhook_cand_add(ctx, set, &cand);
        if (rc != INTEGRATIONS_WEBHOOK_OK) {
            return rc;
        }

        if (comma - tok == 2) {
            integrations_webhook_decode_cand(cand, INTEGRATIONS_WEBHOOK_BASE64,
                                             comma + 1, sp - comma - 1,
                                             32, 0);
        } else {
            integrations_webhook_decode_cand(cand, INTEGRATIONS_WEBHOOK_BASE64,
                                             comma + 1, sp - comma - 1,
                                             INTEGRATIONS_WEBHOOK_ED25519_SIG,
                                             1);
        }
    }

    if (integrations_webhook_bytes(&set->prefix, id, id_len,
                                   (const unsigned char *) ".", 1,
                                   ts, ts_len,
                                   (const unsigned char *) ".", 1)
        != 0)
    {
        return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
    }

    return INTEGRATIONS_WEBHOOK_OK;
}


/*
 * tosspayments-webhook-signature: v1:B64,v1:B64
 * tosspayments-webhook-transmission-time: 2024-09-05T12:19:21+09:00
 */

static integrations_webhook_rc_e
integrations_webhook_init_toss(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h)
{
    int                            rc;
    size_t                         sig_len, tm_len;
    const unsigned char           *sig, *tm, *end, *tok, *comma, *colon;
    integrations_webhook_cand_t   *cand;
    integrations_webhook_set_t    *set;
    integrations_webhook_state_t  *st;

    st = ctx->state;

    rc = integrations_webhook_header(ctx, h,
                                     INTEGRATIONS_WEBHOOK_H_TOSS_SIGNATURE,
                                     &sig, &sig_len, 0);
    if (rc < 0) {
        return ctx->rc;
    }

    if (rc == 0) {
        /* Unsigned: final() reads the eventType before saying so. */
        st->toss_unsigned = 1;
        st->buffering = 1;
        return INTEGRATIONS_WEBHOOK_OK;
    }

    if (integrations_webhook_header(ctx, h,
                                INTEGRATIONS_WEBHOOK_H_TOSS_TRANSMISSION_TIME,
                                &tm, &tm_len, 1)
        != 1)
    {
        return ctx->rc;
    }

    set = &st->set[0];
    set->sig_slot = INTEGRATIONS_WEBHOOK_H_TOSS_SIGNATURE;
    st->nsets = 1;
    end = sig + sig_len;

    for (tok = sig; tok < end; tok = comma + 1) {
        comma = memchr(tok, ',', end - tok);
        if (comma == NULL) {
            comma = end;
        }

        colon = memchr(tok, ':', comma - tok);
        if (colon == NULL || !integrations_webhook_eq(tok, colon - tok, "v1")) {
            continue;
        }

        rc = integrations_webhook_cand_add(ctx, set, &cand);
        if (rc != INTEGRATIONS_WEBHOOK_OK) {
            return rc;
        }

        integrations_webhook_decode_cand(cand, INTEGRATIONS_WEBHOOK_BASE64,
                                         colon + 1, comma - colon - 1, 32, 0);
    }

    if (integrations_webhook_bytes(&set->suffix,
                                   (const unsigned char *) ":", 1,
                                   tm, tm_len, NULL, 0, NULL, 0)
        != 0)
    {
        return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
    }

    return INTEGRATIONS_WEBHOOK_OK;
}


/*
 * Coinbase, Square, Slack, GitHub, Shopify: one signature, one set.
 * Shopify's may come as X-Shopify-Hmac-Sha256 or shopify-hmac-sha256, or
 * as both with one value: two values would leave it to the application's
 * library to pick one (@shopify/shopify-api 13 takes the unprefixed one),
 * maybe not the one verified here.
 */

static integrations_webhook_rc_e
integrations_webhook_init_single(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h)
{
    int                              slot, rc, rc2;
    size_t                           len, len2, ts_len;
    const char                      *scheme;
    const unsigned char             *p, *p2, *eq, *ts;
    integrations_webhook_set_t      *set;
    integrations_webhook_state_t    *st;
    const integrations_webhook_verifier_t  *v;
    integrations_webhook_encoding_e  enc;

    st = ctx->state;
    v = st->v;
    set = &st->set[0];
    st->nsets = 1;
    scheme = NULL;
    enc = INTEGRATIONS_WEBHOOK_HEX;
    p = NULL;
    len = 0;

    switch (v->provider) {

    case INTEGRATIONS_WEBHOOK_COINBASE:
        slot = INTEGRATIONS_WEBHOOK_H_COINBASE_SIGNATURE;
        break;

    case INTEGRATIONS_WEBHOOK_SQUARE:
        slot = INTEGRATIONS_WEBHOOK_H_SQUARE_SIGNATURE;
        enc = INTEGRATIONS_WEBHOOK_BASE64;
        break;

    case INTEGRATIONS_WEBHOOK_SLACK:
        slot = INTEGRATIONS_WEBHOOK_H_SLACK_SIGNATURE;
        scheme = "v0";
        break;

    case INTEGRATIONS_WEBHOOK_GITHUB:
        slot = INTEGRATIONS_WEBHOOK_H_GITHUB_SIGNATURE;
        scheme = "sha256";
        break;

    case INTEGRATIONS_WEBHOOK_SHOPIFY:
        slot = INTEGRATIONS_WEBHOOK_H_SHOPIFY_HMAC;
        enc = INTEGRATIONS_WEBHOOK_BASE64;
        break;

    default:
        return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
    }

    if (v->provider == INTEGRATIONS_WEBHOOK_SHOPIFY) {
        rc = integrations_webhook_header(ctx, h, slot, &p, &len, 0);
        if (rc < 0) {
            return ctx->rc;
        }

        rc2 = integrations_webhook_header(ctx, h,
                                     INTEGRATIONS_WEBHOOK_H_SHOPIFY_EVENTS_HMAC,
                                     &p2, &len2, 0);
        if (rc2 < 0) {
            return ctx->rc;
        }

        if (rc == 0 && rc2 == 0) {
            return integrations_webhook_fail(ctx,
                                         INTEGRATIONS_WEBHOOK_MISSING_HEADER,
                                         slot);
        }

        if (rc2 == 1) {
            if (rc == 1 && (len != len2 || memcmp(p, p2, len) != 0)) {
                return integrations_webhook_fail(ctx,
                                  INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
                                  INTEGRATIONS_WEBHOOK_H_SHOPIFY_EVENTS_HMAC);
            }

            slot = INTEGRATIONS_WEBHOOK_H_SHOPIFY_EVENTS_HMAC;
            p = p2;
            len = len2;
        }

    } else if (integrations_webhook_header(ctx, h, slot, &p, &len, 1) != 1) {
        return ctx->rc;
    }

    set->sig_slot = slot;

    if (scheme != NULL) {
        eq = memchr(p, '=', len);
        if (eq == NULL) {
            return integrations_webhook_fail(ctx,
                                         INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
                                         slot);
        }

        if (!integrations_webhook_eq(p, eq - p, scheme)) {
            return integrations_webhook_fail(ctx,
                                         INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
                                         slot);
        }

        len -= eq + 1 - p;
        p = eq + 1;
    }

    set->ncand = 1;
    integrations_webhook_decode_cand(&set->cand[0], enc, p, len, 32, 0);

    if (v->provider == INTEGRATIONS_WEBHOOK_SLACK) {
        if (integrations_webhook_header(ctx, h,
                                        INTEGRATIONS_WEBHOOK_H_SLACK_TIMESTAMP,
                                        &ts, &ts_len, 1)
            != 1)
        {
            return ctx->rc;
        }

        if (integrations_webhook_parse_ts(ts, ts_len, &set->ts) != 0) {
            return integrations_webhook_fail(ctx,
                                       INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
                                       INTEGRATIONS_WEBHOOK_H_SLACK_TIMESTAMP);
        }

        set->has_ts = 1;
        ctx->skew = st->now - set->ts;

        if (integrations_webhook_bytes(&set->prefix,
                                       (const unsigned char *) "v0:", 3,
                                       ts, ts_len,
                                       (const unsigned char *) ":", 1,
                                       NULL, 0)
            != 0)
        {
            return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
        }

    } else if (v->provider == INTEGRATIONS_WEBHOOK_SQUARE) {
        /* the verifier, and so its URL, outlives the request */
        set->prefix.data = v->url;
        set->prefix.len = v->url_len;
    }

    return INTEGRATIONS_WEBHOOK_OK;
}


/*
 * X-Twilio-Signature: B64 (HMAC-SHA1, or HMAC-SHA256: see twilio_alg()).
 * The URL is params.url plus "?" and the request's query; bodySHA256 in
 * that query means a JSON body.
 */

static integrations_webhook_rc_e
integrations_webhook_init_twilio(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h, const unsigned char *query,
    size_t query_len)
{
    size_t                         len, n, url_len;
    unsigned char                 *url;
    const unsigned char           *p, *end, *item, *amp, *eq;
    integrations_webhook_cand_t    cand;
    integrations_webhook_state_t  *st;
    const integrations_webhook_verifier_t  *v;

    st = ctx->state;
    v = st->v;

    if (integrations_webhook_header(ctx, h,
                                    INTEGRATIONS_WEBHOOK_H_TWILIO_SIGNATURE,
                                    &p, &len, 1)
        != 1)
    {
        return ctx->rc;
    }

    if (integrations_webhook_twilio_alg(ctx, h) != INTEGRATIONS_WEBHOOK_OK) {
        return ctx->rc;
    }

    integrations_webhook_decode_cand(&cand, INTEGRATIONS_WEBHOOK_BASE64,
                                     p, len, st->twilio_sha256 ? 32 : 20, 0);

    if (query == NULL) {
        query_len = 0;
    }

    url = integrations_webhook_concat(&url_len, v->url, v->url_len,
                                      (const unsigned char *) "?",
                                      query_len ? 1 : 0,
                                      query, query_len, NULL, 0);
    if (url == NULL) {
        return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
    }

    if (integrations_webhook_twilio_variants(st, url, url_len) != 0) {
        free(url);
        return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
    }

    free(url);

    st->set[0].ncand = 1;
    st->set[0].cand[0] = cand;

    if (st->nsets > 1) {
        st->set[1].ncand = 1;
        st->set[1].cand[0] = cand;
    }

    if (cand.len == 0) {
        return INTEGRATIONS_WEBHOOK_BAD_SIGNATURE;
    }

    /* The first bodySHA256 counts, as in Twilio's validators. */

    end = query_len ? query + query_len : NULL;

    for (item = query; item != NULL && item < end; item = amp + 1) {
        amp = memchr(item, '&', end - item);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(item, '=', amp - item);
        if (eq == NULL || !integrations_webhook_eq(item, eq - item,
                                                   "bodySHA256"))
        {
            continue;
        }

        st->twilio_json = 1;
        st->body_sha256_ok =
            integrations_codec_hex_decode(st->body_sha256,
                                          sizeof(st->body_sha256),
                                          eq + 1, amp - eq - 1, &n) == 0
            && n == INTEGRATIONS_WEBHOOK_SHA256_LEN;
        break;
    }

    if (!st->twilio_json) {
        st->buffering = 1;
        return INTEGRATIONS_WEBHOOK_OK;
    }

    if (!st->body_sha256_ok) {
        return INTEGRATIONS_WEBHOOK_BAD_SIGNATURE;
    }

    st->md = EVP_MD_CTX_new();
    if (st->md == NULL
        || EVP_DigestInit_ex(st->md, EVP_sha256(), NULL) != 1)
    {
        return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
    }

    return INTEGRATIONS_WEBHOOK_OK;
}


/*
 * The MAC of a Twilio delivery.  X-Twilio-Webhooks-Signature-Settings
 * (sent with a SharedKey signature: "key=ID,algorithm=HMAC_SHA256") is
 * read as twilio-node 6.3's getSignatureAlgorithm() reads it: the first
 * comma-separated part whose name, trimmed, is "algorithm" and whose
 * value, trimmed, is not empty; no such part, or no header, is HMAC_SHA1.
 * The name is then matched without regard to case (the SDK upper-cases
 * it).  Sets st->twilio_sha256, or files NO_KNOWN_SCHEME (another
 * algorithm, or not the configured one) or MALFORMED_HEADER (repeated).
 */

static integrations_webhook_rc_e
integrations_webhook_twilio_alg(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h)
{
    unsigned                              sha256;
    const unsigned char                  *part, *end, *comma, *eq, *n, *ne;
    const unsigned char                  *a, *ae;
    integrations_webhook_state_t         *st;
    const integrations_webhook_header_t  *hh;

    st = ctx->state;
    hh = &h->h[INTEGRATIONS_WEBHOOK_H_TWILIO_SIGNATURE_SETTINGS];

    if (hh->count > 1) {
        ctx->rc = integrations_webhook_fail(ctx,
                              INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
                              INTEGRATIONS_WEBHOOK_H_TWILIO_SIGNATURE_SETTINGS);
        return ctx->rc;
    }

    a = NULL;
    ae = NULL;

    if (hh->count == 1 && hh->data != NULL) {
        end = hh->data + hh->len;

        for (part = hh->data; /* void */; part = comma + 1) {
            comma = memchr(part, ',', end - part);
            if (comma == NULL) {
                comma = end;
            }

            eq = memchr(part, '=', comma - part);

            if (eq != NULL) {
                n = part;
                ne = eq;
                integrations_webhook_trim(&n, &ne);

                if (integrations_webhook_eq(n, ne - n, "algorithm")) {
                    a = eq + 1;
                    ae = comma;
                    integrations_webhook_trim(&a, &ae);

                    if (a == ae) {
                        a = NULL;       /* "algorithm=": the next part */
                    }
                }
            }

            if (a != NULL || comma == end) {
                break;
            }
        }
    }

    if (a == NULL || integrations_webhook_caseeq(a, ae - a, "HMAC_SHA1")) {
        sha256 = 0;

    } else if (integrations_webhook_caseeq(a, ae - a, "HMAC_SHA256")) {
        sha256 = 1;

    } else {
        ctx->rc = integrations_webhook_fail(ctx,
                              INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
                              INTEGRATIONS_WEBHOOK_H_TWILIO_SIGNATURE_SETTINGS);
        return ctx->rc;
    }

    if ((st->v->algorithm == INTEGRATIONS_WEBHOOK_ALG_SHA1 && sha256)
        || (st->v->algorithm == INTEGRATIONS_WEBHOOK_ALG_SHA256 && !sha256))
    {
        /* a fixed algorithm is not given up for what a header says */

        ctx->rc = integrations_webhook_fail(ctx,
                              INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
                              INTEGRATIONS_WEBHOOK_H_TWILIO_SIGNATURE_SETTINGS);
        return ctx->rc;
    }

    st->twilio_sha256 = sha256;

    return INTEGRATIONS_WEBHOOK_OK;
}


/* JavaScript's String.prototype.trim(), for the ASCII a header may hold */

static void
integrations_webhook_trim(const unsigned char **p, const unsigned char **end)
{
    while (*p < *end && (**p == ' ' || **p == '\t' || **p == '\v'
                         || **p == '\f'))
    {
        (*p)++;
    }

    while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t'
                         || (*end)[-1] == '\v' || (*end)[-1] == '\f'))
    {
        (*end)--;
    }
}


/*
 * Twilio's validators try the URL without any port and with the scheme's
 * default port added (their signing side has not always agreed with
 * itself); a URL that does not parse as scheme://authority is used alone.
 */

static int
integrations_webhook_twilio_variants(integrations_webhook_state_t *st,
    const unsigned char *url, size_t len)
{
    int                    rc;
    size_t                 a, e, c, i, plen;
    const char            *port;
    const unsigned char   *sep;

    st->nsets = 1;

    sep = NULL;

    for (i = 0; i + 3 <= len; i++) {
        if (url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/') {
            sep = url + i;
            break;
        }

        if (url[i] == '/' || url[i] == '?' || url[i] == '#') {
            break;
        }
    }

    if (sep == NULL || sep == url) {
        return integrations_webhook_bytes(&st->set[0].prefix, url, len,
                                          NULL, 0, NULL, 0, NULL, 0);
    }

    a = sep - url + 3;

    for (e = a; e < len; e++) {
        if (url[e] == '/' || url[e] == '?' || url[e] == '#') {
            break;
        }
    }

    /* A port is the digits after the last ':' of the host, not in "[]". */

    c = e;

    for (i = e; i > a; i--) {
        if (url[i - 1] == ':') {
            c = i - 1;
            break;
        }

        if (url[i - 1] < '0' || url[i - 1] > '9') {
            break;
        }
    }

    if (c != e && c + 1 == e) {
        c = e;                      /* "host:" has no port */
    }

    if (c != e) {
        /* with the port, as given; then without it */

        rc = integrations_webhook_bytes(&st->set[0].prefix, url, len,
                                        NULL, 0, NULL, 0, NULL, 0);
        rc |= integrations_webhook_bytes(&st->set[1].prefix, url, c,
                                         url + e, len - e, NULL, 0, NULL, 0);
    } else {
        /* as given; then with the default port */

        port = (sep - url == 5 && integrations_webhook_caseeq(url, 5, "https"))
               ? ":443" : ":80";
        plen = strlen(port);

        rc = integrations_webhook_bytes(&st->set[0].prefix, url, len,
                                        NULL, 0, NULL, 0, NULL, 0);
        rc |= integrations_webhook_bytes(&st->set[1].prefix, url, e,
                                         (const unsigned char *) port, plen,
                                         url + e, len - e, NULL, 0);
    }

    st->nsets = 2;

    return rc ? -1 : 0;
}


/*
 * Decides what the body will be used for, and starts the HMACs.
 * A candidate is "known" if the verifier has a key of its kind.
 */

static integrations_webhook_rc_e
integrations_webhook_start_macs(integrations_webhook_ctx_t *ctx)
{
    unsigned                       i, k, s, c, known, usable, hmac, ed;
    integrations_webhook_set_t    *set;
    integrations_webhook_state_t  *st;
    const integrations_webhook_verifier_t  *v;

    st = ctx->state;
    v = st->v;
    known = 0;
    usable = 0;

    for (k = 0; k < st->nsets; k++) {
        set = &st->set[k];
        hmac = 0;
        ed = 0;

        for (c = 0; c < set->ncand; c++) {
            if (set->cand[c].ed25519 ? v->ned == 0 : v->nhmac == 0) {
                continue;
            }

            known++;

            if (set->cand[c].len == 0) {
                continue;
            }

            usable++;

            if (set->cand[c].ed25519) {
                ed = 1;
            } else {
                hmac = 1;
            }
        }

        if (ed) {
            st->ed_usable = 1;
            st->buffering = 1;
        }

        if (!hmac) {
            continue;
        }

        for (s = 0; s < v->nhmac; s++) {
            i = s * INTEGRATIONS_WEBHOOK_MAX_SETS + k;

            integrations_hmac_start(&st->mac[i], &v->hmac[s]);
            integrations_hmac_update(&st->mac[i], set->prefix.data,
                                     set->prefix.len);
            st->live |= (uint32_t) 1 << i;
        }
    }

    if (known == 0) {
        return integrations_webhook_fail(ctx,
                                         INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
                                         st->set[0].sig_slot);
    }

    if (usable == 0) {
        /* Nothing decodes to a MAC's length: no need to read the body. */
        return INTEGRATIONS_WEBHOOK_BAD_SIGNATURE;
    }

    return INTEGRATIONS_WEBHOOK_OK;
}


integrations_webhook_rc_e
integrations_webhook_update(integrations_webhook_ctx_t *ctx, const void *data,
    size_t len)
{
    size_t                         i, n;
    uint32_t                       live;
    integrations_webhook_rc_e      rc;
    integrations_webhook_state_t  *st;

    st = ctx->state;

    if (ctx->rc != INTEGRATIONS_WEBHOOK_OK) {
        return ctx->rc;
    }

    if (st == NULL || st->done) {
        ctx->rc = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
        return ctx->rc;
    }

    if (len == 0) {
        return INTEGRATIONS_WEBHOOK_OK;
    }

    if (st->keep_idp && st->idp_len < INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX) {

        if (st->idp == NULL) {
            st->idp = malloc(INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX);

            if (st->idp == NULL) {
                ctx->rc = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
                integrations_webhook_state_release(st, 0);
                return ctx->rc;
            }
        }

        n = INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX - st->idp_len;
        n = len < n ? len : n;
        memcpy(st->idp + st->idp_len, data, n);
        st->idp_len += n;
    }

    for (i = 0, live = st->live; live != 0; i++, live >>= 1) {
        if (live & 1) {
            integrations_hmac_update(&st->mac[i], data, len);
        }
    }

    if (st->md != NULL && EVP_DigestUpdate(st->md, data, len) != 1) {
        ctx->rc = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
        return ctx->rc;
    }

    if (st->buffering) {
        rc = integrations_webhook_buffer(st, data, len);

        if (rc != INTEGRATIONS_WEBHOOK_OK) {
            ctx->rc = rc;
            integrations_webhook_state_release(st, 0);
            return rc;
        }
    }

    return INTEGRATIONS_WEBHOOK_OK;
}


static integrations_webhook_rc_e
integrations_webhook_buffer(integrations_webhook_state_t *st,
    const unsigned char *data, size_t len)
{
    size_t          size;
    unsigned char  *p;

    if (len > st->v->max_buffer - st->buf_len) {

        /*
         * Only an Ed25519 check that other HMAC signatures may stand in
         * for can be dropped; what else is buffered needs the whole body.
         */

        if (st->ed_usable && !st->toss_unsigned && !st->twilio_json
            && st->v->provider == INTEGRATIONS_WEBHOOK_STANDARD)
        {
            st->ed_usable = 0;
            st->ed_overflow = 1;
            st->buffering = 0;
            free(st->buf);
            st->buf = NULL;
            st->buf_len = 0;
            st->buf_size = 0;
            return INTEGRATIONS_WEBHOOK_OK;
        }

        return INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE;
    }

    if (st->buf_len + len > st->buf_size) {
        size = st->buf_size ? st->buf_size : 4096;

        while (size < st->buf_len + len) {
            size *= 2;
        }

        if (size > st->v->max_buffer) {
            size = st->v->max_buffer;
        }

        p = realloc(st->buf, size);
        if (p == NULL) {
            return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
        }

        st->buf = p;
        st->buf_size = size;
    }

    memcpy(st->buf + st->buf_len, data, len);
    st->buf_len += len;

    return INTEGRATIONS_WEBHOOK_OK;
}


integrations_webhook_rc_e
integrations_webhook_final(integrations_webhook_ctx_t *ctx)
{
    integrations_webhook_rc_e      rc;
    integrations_webhook_state_t  *st;

    st = ctx->state;

    if (ctx->rc != INTEGRATIONS_WEBHOOK_OK || (st != NULL && st->done)) {
        return ctx->rc;
    }

    if (st == NULL) {
        ctx->rc = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
        return ctx->rc;
    }

    if (st->toss_unsigned) {
        if (integrations_webhook_toss_needs_signature(st->buf, st->buf_len)) {
            ctx->header = INTEGRATIONS_WEBHOOK_H_TOSS_SIGNATURE;
            rc = INTEGRATIONS_WEBHOOK_MISSING_HEADER;

        } else {
            rc = INTEGRATIONS_WEBHOOK_UNSIGNED;
        }

    } else if (st->v->provider == INTEGRATIONS_WEBHOOK_TWILIO) {
        rc = integrations_webhook_final_twilio(ctx);

    } else {
        rc = integrations_webhook_final_macs(ctx);
    }

    ctx->rc = rc;
    st->done = 1;
    integrations_webhook_state_release(st, 0);

    return rc;
}


static integrations_webhook_rc_e
integrations_webhook_final_macs(integrations_webhook_ctx_t *ctx)
{
    int                            error;
    int                            matched[INTEGRATIONS_WEBHOOK_MAX_SETS];
    unsigned                       i, k, s;
    integrations_webhook_set_t    *set;
    integrations_webhook_state_t  *st;
    const integrations_webhook_verifier_t  *v;

    st = ctx->state;
    v = st->v;
    error = 0;

    for (k = 0; k < st->nsets; k++) {
        set = &st->set[k];
        matched[k] = -1;

        for (s = 0; s < v->nhmac; s++) {
            i = s * INTEGRATIONS_WEBHOOK_MAX_SETS + k;

            if (!(st->live & ((uint32_t) 1 << i))) {
                continue;
            }

            st->live &= ~((uint32_t) 1 << i);

            integrations_hmac_update(&st->mac[i], set->suffix.data,
                                     set->suffix.len);

            if (integrations_webhook_mac_match(&st->mac[i], set)
                && matched[k] < 0)
            {
                matched[k] = v->hmac_index[s];
            }
        }

        if (matched[k] < 0 && st->ed_usable) {
            matched[k] = integrations_webhook_ed_match(ctx, set, &error);
        }

        if (error) {
            return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
        }
    }

    return integrations_webhook_verdict(ctx, matched);
}


/*
 * Ends one MAC, which cleanses its state, and compares it with every HMAC
 * candidate of the set.
 */

static int
integrations_webhook_mac_match(integrations_hmac_t *mac,
    const integrations_webhook_set_t *set)
{
    int             match;
    size_t          n;
    unsigned        c;
    unsigned char   out[INTEGRATIONS_HMAC_MAX_LEN];

    match = 0;

    n = integrations_hmac_final(mac, out);

    for (c = 0; c < set->ncand; c++) {
        if (set->cand[c].ed25519 || set->cand[c].len != n) {
            continue;
        }

        if (CRYPTO_memcmp(out, set->cand[c].sig, n) == 0) {
            match = 1;
        }
    }

    OPENSSL_cleanse(out, sizeof(out));

    return match;
}


/*
 * PureEdDSA over prefix + body (+ suffix), one shot per key and signature;
 * returns the params index of the key that verified, or -1.
 */

static int
integrations_webhook_ed_match(integrations_webhook_ctx_t *ctx,
    const integrations_webhook_set_t *set, int *error)
{
    int                            match;
    size_t                         n;
    unsigned                       c, s;
    EVP_MD_CTX                    *md;
    unsigned char                 *msg;
    integrations_webhook_state_t  *st;
    const integrations_webhook_verifier_t  *v;

    st = ctx->state;
    v = st->v;
    match = -1;

    msg = integrations_webhook_concat(&n, set->prefix.data, set->prefix.len,
                                      st->buf, st->buf_len,
                                      set->suffix.data, set->suffix.len,
                                      NULL, 0);
    if (msg == NULL) {
        *error = 1;
        return -1;
    }

    for (c = 0; c < set->ncand && match < 0; c++) {
        if (!set->cand[c].ed25519 || set->cand[c].len == 0) {
            continue;
        }

        for (s = 0; s < v->ned && match < 0; s++) {
            md = EVP_MD_CTX_new();
            if (md == NULL) {
                *error = 1;
                break;
            }

            if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, v->ed[s]) == 1
                && EVP_DigestVerify(md, set->cand[c].sig, set->cand[c].len,
                                    msg, n) == 1)
            {
                match = v->ed_index[s];
            }

            EVP_MD_CTX_free(md);
        }
    }

    free(msg);

    return match;
}


/*
 * A valid signature on some set is needed; then, where the scheme has a
 * timestamp, one of the matching sets must be within the tolerance.
 */

static integrations_webhook_rc_e
integrations_webhook_verdict(integrations_webhook_ctx_t *ctx,
    const int *matched)
{
    int64_t                        d;
    unsigned                       k, any;
    integrations_webhook_state_t  *st;

    st = ctx->state;
    any = 0;

    for (k = 0; k < st->nsets; k++) {
        if (matched[k] < 0) {
            continue;
        }

        any = 1;

        if (!st->set[k].has_ts) {
            ctx->secret = matched[k];
            return INTEGRATIONS_WEBHOOK_OK;
        }

        d = st->now - st->set[k].ts;
        ctx->skew = d;

        if (d <= st->v->tolerance && -d <= st->v->tolerance) {
            ctx->secret = matched[k];
            return INTEGRATIONS_WEBHOOK_OK;
        }
    }

    if (any) {
        /* Authentic but stale or early: a replay, or a skewed clock. */
        return INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE;
    }

    return st->ed_overflow ? INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE
                           : INTEGRATIONS_WEBHOOK_BAD_SIGNATURE;
}


static integrations_webhook_rc_e
integrations_webhook_final_twilio(integrations_webhook_ctx_t *ctx)
{
    int                            matched[INTEGRATIONS_WEBHOOK_MAX_SETS];
    size_t                         i, npairs;
    unsigned                       k, s;
    unsigned char                  digest[INTEGRATIONS_WEBHOOK_SHA256_LEN];
    integrations_hmac_t            mac;
    const integrations_hmac_key_t *keys;
    integrations_webhook_pair_t   *pairs;
    integrations_webhook_state_t  *st;
    const integrations_webhook_verifier_t  *v;

    st = ctx->state;
    v = st->v;
    pairs = NULL;
    npairs = 0;

    /* auto keeps its SHA-256 keys apart; a fixed algorithm has one set */

    keys = (st->twilio_sha256 && v->algorithm == INTEGRATIONS_WEBHOOK_ALG_AUTO)
           ? v->hmac256 : v->hmac;

    if (st->twilio_json) {
        if (EVP_DigestFinal_ex(st->md, digest, NULL) != 1) {
            return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
        }

    } else {
        switch (integrations_webhook_parse_form(st->buf, st->buf_len,
                                                &pairs, &npairs))
        {
        case 0:
            break;

        case -1:
            return INTEGRATIONS_WEBHOOK_MALFORMED_BODY;

        default:
            return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
        }
    }

    for (k = 0; k < st->nsets; k++) {
        matched[k] = -1;

        for (s = 0; s < v->nhmac; s++) {
            integrations_hmac_start(&mac, &keys[s]);
            integrations_hmac_update(&mac, st->set[k].prefix.data,
                                     st->set[k].prefix.len);

            for (i = 0; i < npairs; i++) {
                integrations_hmac_update(&mac, pairs[i].key,
                                         pairs[i].key_len);
                integrations_hmac_update(&mac, pairs[i].value,
                                         pairs[i].value_len);
            }

            if (integrations_webhook_mac_match(&mac, &st->set[k])
                && matched[k] < 0)
            {
                matched[k] = v->hmac_index[s];
            }
        }
    }

    free(pairs);

    if (st->twilio_json
        && CRYPTO_memcmp(digest, st->body_sha256, sizeof(digest)) != 0)
    {
        return INTEGRATIONS_WEBHOOK_BAD_SIGNATURE;
    }

    return integrations_webhook_verdict(ctx, matched);
}


/*
 * application/x-www-form-urlencoded, decoded in place: "&" separates
 * pairs, the first "=" a name from its value (no "=": an empty value),
 * empty pairs are skipped, "+" is a space, "%XX" a byte.  Pairs are sorted
 * by name then value, bytewise, which for UTF-8 is code point order as in
 * Twilio's validators.  Returns 0, -1 on a bad encoding, -2 when out of
 * memory.
 */

static int
integrations_webhook_parse_form(unsigned char *buf, size_t len,
    integrations_webhook_pair_t **pairs, size_t *npairs)
{
    size_t                        i, n, max, klen, vlen;
    unsigned char                *item, *end, *amp, *eq;
    integrations_webhook_pair_t  *pp;

    *pairs = NULL;
    *npairs = 0;

    if (len == 0) {
        return 0;
    }

    max = 1;

    for (i = 0; i < len; i++) {
        if (buf[i] == '&') {
            max++;
        }
    }

    pp = malloc(max * sizeof(integrations_webhook_pair_t));
    if (pp == NULL) {
        return -2;
    }

    n = 0;
    end = buf + len;

    for (item = buf; item < end; item = amp + 1) {
        amp = memchr(item, '&', end - item);
        if (amp == NULL) {
            amp = end;
        }

        if (amp == item) {
            continue;
        }

        eq = memchr(item, '=', amp - item);

        if (eq == NULL) {
            eq = amp;
        }

        if (integrations_codec_percent_decode(item, eq - item, item,
                                              eq - item, 1, &klen)
            != 0)
        {
            free(pp);
            return -1;
        }

        vlen = 0;

        if (eq < amp
            && integrations_codec_percent_decode(eq + 1, amp - eq - 1, eq + 1,
                                                 amp - eq - 1, 1, &vlen)
               != 0)
        {
            free(pp);
            return -1;
        }

        pp[n].key = item;
        pp[n].key_len = klen;
        pp[n].value = eq + 1;
        pp[n].value_len = vlen;
        n++;
    }

    qsort(pp, n, sizeof(integrations_webhook_pair_t),
          integrations_webhook_pair_cmp);

    *pairs = pp;
    *npairs = n;

    return 0;
}


static int
integrations_webhook_pair_cmp(const void *a, const void *b)
{
    int                                 rc;
    size_t                              n;
    const integrations_webhook_pair_t  *x, *y;

    x = a;
    y = b;

    n = x->key_len < y->key_len ? x->key_len : y->key_len;
    rc = n ? memcmp(x->key, y->key, n) : 0;

    if (rc != 0) {
        return rc;
    }

    if (x->key_len != y->key_len) {
        return x->key_len < y->key_len ? -1 : 1;
    }

    n = x->value_len < y->value_len ? x->value_len : y->value_len;
    rc = n ? memcmp(x->value, y->value, n) : 0;

    if (rc != 0) {
        return rc;
    }

    if (x->value_len != y->value_len) {
        return x->value_len < y->value_len ? -1 : 1;
    }

    return 0;
}


/*
 * An unsigned Toss delivery is acceptable only for the event types Toss
 * does not sign.  Fails closed (1: a signature was required) when the
 * body is not one JSON object, when any top-level name is written with
 * escapes (it might spell eventType), or when an eventType is a signed
 * type or escaped; every top-level eventType is looked at, duplicates
 * included, since parsers differ on which one wins.
 */

static int
integrations_webhook_toss_needs_signature(const unsigned char *p, size_t len)
{
    int                           esc, rc;
    size_t                        klen, vlen;
    unsigned                      n;
    const unsigned char          *key, *val;
    integrations_webhook_json_t   j;

    if (p == NULL) {
        return 1;
    }

    j.p = p;
    j.end = p + len;
    n = 0;

    integrations_webhook_json_ws(&j);

    if (j.p >= j.end || *j.p != '{') {
        return 1;
    }

    j.p++;

    for ( ;; ) {
        rc = integrations_webhook_json_next(&j, &n, &key, &klen, &esc);

        if (rc < 0 || esc) {
            return 1;
        }

        if (rc == 0) {
            break;
        }

        if (!integrations_webhook_eq(key, klen, "eventType")
            || *j.p != '"')
        {
            if (integrations_webhook_json_skip(&j) != 0) {
                return 1;
            }

            continue;
        }

        if (integrations_webhook_json_string(&j, &val, &vlen, &esc) != 0
            || esc
            || integrations_webhook_caseeq(val, vlen, "payout.changed")
            || integrations_webhook_caseeq(val, vlen, "seller.changed"))
        {
            return 1;
        }
    }

    integrations_webhook_json_ws(&j);

    return j.p != j.end;
}


/*
 * The state is some 4 KB, nearly all of it the MAC states and the decoded
 * candidates, which are read only once written (a bit of live, an index
 * below ncand): zeroing them all cost each request more than its MAC
 * bookkeeping.  The rest is zeroed as calloc() did.
 */

static integrations_webhook_state_t *
integrations_webhook_state_new(void)
{
    unsigned                       k;
    integrations_webhook_state_t  *st;

    st = malloc(sizeof(integrations_webhook_state_t));
    if (st == NULL) {
        return NULL;
    }

    memset(st, 0, offsetof(integrations_webhook_state_t, set));

    for (k = 0; k < INTEGRATIONS_WEBHOOK_MAX_SETS; k++) {
        memset(&st->set[k], 0,
               offsetof(integrations_webhook_set_t, inline_cand));
        st->set[k].cand = st->set[k].inline_cand;
    }

    return st;
}


static void
integrations_webhook_state_release(integrations_webhook_state_t *st, int all)
{
    unsigned  i;
    uint32_t  live;

    if (st == NULL) {
        return;
    }

    /* MACs that final() did not finish, and so did not cleanse */

    for (i = 0, live = st->live; live != 0; i++, live >>= 1) {
        if (live & 1) {
            integrations_hmac_clear(&st->mac[i]);
        }
    }

    st->live = 0;

    EVP_MD_CTX_free(st->md);
    st->md = NULL;

    for (i = 0; i < INTEGRATIONS_WEBHOOK_MAX_SETS; i++) {
        free(st->set[i].prefix.heap);
        free(st->set[i].suffix.heap);
        st->set[i].prefix.heap = NULL;
        st->set[i].suffix.heap = NULL;
        st->set[i].prefix.data = NULL;
        st->set[i].suffix.data = NULL;

        if (st->set[i].cand != st->set[i].inline_cand) {
            free(st->set[i].cand);
            st->set[i].cand = st->set[i].inline_cand;
            st->set[i].ncand = 0;
        }
    }

    free(st->buf);
    st->buf = NULL;
    st->buf_len = 0;
    st->buf_size = 0;
    st->buffering = 0;

    /*
     * The rest of the state holds no key material: the signatures and
     * bytes it keeps came with the request.
     */

    if (all) {
        free(st->idp);
        free(st);
    }
}


void
integrations_webhook_cleanup(void *data)
{
    integrations_webhook_ctx_t  *ctx;

    ctx = data;

    if (ctx == NULL || ctx->state == NULL) {
        return;
    }

    integrations_webhook_state_release(ctx->state, 1);
    ctx->state = NULL;
}


/* a bounded JSON scanner: enough to find one member, nothing more */

static void
integrations_webhook_json_ws(integrations_webhook_json_t *j)
{
    while (j->p < j->end
           && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n'
               || *j->p == '\r'))
    {
        j->p++;
    }
}


/*
 * At '"': the raw text between the quotes.  -1 if invalid (not at a
 * string, or a raw control character: a NUL included), -2 if cut short by
 * the end of the input.
 */

static int
integrations_webhook_json_string(integrations_webhook_json_t *j,
    const unsigned char **s, size_t *len, int *escaped)
{
    const unsigned char  *start;

    if (j->p >= j->end || *j->p != '"') {
        return -1;
    }

    start = ++j->p;
    *escaped = 0;

    while (j->p < j->end) {
        if (*j->p == '"') {
            *s = start;
            *len = j->p - start;
            j->p++;
            return 0;
        }

        if (*j->p == '\\') {
            *escaped = 1;

            if (j->end - j->p < 2) {
                return -2;
            }

            j->p += 2;
            continue;
        }

        if (*j->p < 0x20) {
            return -1;
        }

        j->p++;
    }

    return -2;
}


/*
 * Skips one value.  Containers are skipped by counting brackets outside
 * strings, which is exact for valid JSON and bounded for any input.
 */

static int
integrations_webhook_json_skip(integrations_webhook_json_t *j)
{
    int                   esc;
    size_t                depth, len;
    const unsigned char  *s, *start;

    integrations_webhook_json_ws(j);

    if (j->p >= j->end) {
        return -1;
    }

    if (*j->p == '"') {
        return integrations_webhook_json_string(j, &s, &len, &esc);
    }

    if (*j->p == '{' || *j->p == '[') {
        depth = 0;

        while (j->p < j->end) {
            switch (*j->p) {

            case '"':
                if (integrations_webhook_json_string(j, &s, &len, &esc) != 0) {
                    return -1;
                }

                continue;

            case '{':
            case '[':
                depth++;
                break;

            case '}':
            case ']':
                if (--depth == 0) {
                    j->p++;
                    return 0;
                }

                break;
            }

            j->p++;
        }

        return -1;
    }

    start = j->p;

    while (j->p < j->end
           && ((*j->p >= '0' && *j->p <= '9')
               || (*j->p >= 'a' && *j->p <= 'z')
               || (*j->p >= 'A' && *j->p <= 'Z')
               || *j->p == '-' || *j->p == '+' || *j->p == '.'))
    {
        j->p++;
    }

    /* A scalar cut by the end of a prefix may be incomplete: say so. */

    if (j->p == start || j->p == j->end) {
        return -1;
    }

    return 0;
}


/*
 * The next member of an object whose "{" is consumed: 1 with the cursor
 * at its value, 0 at the closing "}", -1 on bad or truncated input.
 */

static int
integrations_webhook_json_next(integrations_webhook_json_t *j, unsigned *n,
    const unsigned char **key, size_t *key_len, int *escaped)
{
    integrations_webhook_json_ws(j);

    if (j->p >= j->end) {
        return -1;
    }

    if (*j->p == '}') {
        j->p++;
        return 0;
    }

    if (*n > 0) {
        if (*j->p != ',') {
            return -1;
        }

        j->p++;
        integrations_webhook_json_ws(j);
    }

    if (integrations_webhook_json_string(j, key, key_len, escaped) != 0) {
        return -1;
    }

    integrations_webhook_json_ws(j);

    if (j->p >= j->end || *j->p != ':') {
        return -1;
    }

    j->p++;
    integrations_webhook_json_ws(j);

    if (j->p >= j->end) {
        return -1;
    }

    (*n)++;

    return 1;
}


/*
 * The decoded text of a JSON string's raw bytes p[0..len) (between its
 * quotes, as json_string() found them) into out[0..size), as a JSON
 * parser reads it, refusing what an event id may not hold: 0 with
 * *out_len, -1 if a byte, raw or escaped, is not printable ASCII
 * (0x21-0x7e: no NUL, no control character, no space, nothing above
 * ASCII; "\n" and "\u0000" are refused as the raw bytes would be) or an
 * escape is not JSON, -2 if the text does not fit.
 */

static int
integrations_webhook_json_decode(const unsigned char *p, size_t len,
    unsigned char *out, size_t size, size_t *out_len)
{
    int                   d, k;
    unsigned              c;
    size_t                n;
    const unsigned char  *end;

    end = p + len;
    n = 0;

    while (p < end) {
        c = *p++;

        if (c == '\\') {
            if (p == end) {
                return -1;
            }

            c = *p++;

            switch (c) {

            case '"':
            case '\\':
            case '/':
                break;

            case 'u':
                if (end - p < 4) {
                    return -1;
                }

                c = 0;

                for (k = 0; k < 4; k++) {
                    d = p[k];

                    if (d >= '0' && d <= '9') {
                        d -= '0';
                    } else if ((d | 0x20) >= 'a' && (d | 0x20) <= 'f') {
                        d = (d | 0x20) - 'a' + 10;
                    } else {
                        return -1;
                    }

                    c = c * 16 + d;
                }

                p += 4;
                break;

            default:
                /* \b \f \n \r \t: control characters; others: not JSON */
                return -1;
            }
        }

        if (c < 0x21 || c > 0x7e) {
            return -1;
        }

        if (n == size) {
            return -2;
        }

        out[n++] = (unsigned char) c;
    }

    *out_len = n;

    return 0;
}


/* A member's name, raw or written with escapes, is key. */

static int
integrations_webhook_json_key_eq(const unsigned char *p, size_t len,
    int escaped, const char *key)
{
    size_t         n;
    unsigned char  buf[32];

    if (!escaped) {
        return integrations_webhook_eq(p, len, key);
    }

    return integrations_webhook_json_decode(p, len, buf, sizeof(buf), &n) == 0
           && integrations_webhook_eq(buf, n, key);
}


/* In an object at its "{": 1 with the cursor at key's value, else 0. */

static int
integrations_webhook_json_find(integrations_webhook_json_t *j,
    const char *key)
{
    int                   esc, rc;
    size_t                klen;
    unsigned              n;
    const unsigned char  *k;

    integrations_webhook_json_ws(j);

    if (j->p >= j->end || *j->p != '{') {
        return 0;
    }

    j->p++;
    n = 0;

    for ( ;; ) {
        rc = integrations_webhook_json_next(j, &n, &k, &klen, &esc);

        if (rc <= 0) {
            return 0;
        }

        if (integrations_webhook_json_key_eq(k, klen, esc, key)) {
            return 1;
        }

        if (integrations_webhook_json_skip(j) != 0) {
            return 0;
        }
    }
}


/*
 * key1 (or key1.key2) of a JSON object, field naming it for the caller:
 * a string, decoded, or an integer, as its digits.  The first occurrence
 * counts: the body is authenticated, so there is no adversary to play
 * parsers against each other here.  A member that is absent, or whose
 * value the end of the prefix cuts, is no id; one that is there but not
 * usable is ID_INVALID, never shortened into another id.
 */

static int
integrations_webhook_json_id(const unsigned char *p, size_t len,
    const char *key1, const char *key2, const char *field,
    integrations_webhook_event_id_t *out)
{
    int                           esc, rc;
    size_t                        n;
    const unsigned char          *s;
    integrations_webhook_json_t   j;

    out->field = field;
    out->source = INTEGRATIONS_WEBHOOK_ID_BODY;

    if (p == NULL || len == 0) {
        return INTEGRATIONS_WEBHOOK_ID_NONE;
    }

    j.p = p;
    j.end = p + len;

    if (!integrations_webhook_json_find(&j, key1)) {
        return INTEGRATIONS_WEBHOOK_ID_NONE;
    }

    if (key2 != NULL && !integrations_webhook_json_find(&j, key2)) {
        return INTEGRATIONS_WEBHOOK_ID_NONE;
    }

    if (*j.p == '"') {
        rc = integrations_webhook_json_string(&j, &s, &n, &esc);

        if (rc == -2) {
            return INTEGRATIONS_WEBHOOK_ID_NONE;
        }

        if (rc != 0) {
            return INTEGRATIONS_WEBHOOK_ID_INVALID;   /* a raw control */
        }

        if (!esc) {
            return integrations_webhook_id_set(out, s, n,
                                               INTEGRATIONS_WEBHOOK_ID_BODY);
        }

        if (integrations_webhook_json_decode(s, n, out->data,
                                             sizeof(out->data), &n)
            != 0
            || n == 0)
        {
            return INTEGRATIONS_WEBHOOK_ID_INVALID;
        }

        out->len = n;

        return INTEGRATIONS_WEBHOOK_ID_FOUND;
    }

    s = j.p;

    while (j.p < j.end && ((*j.p >= '0' && *j.p <= '9') || *j.p == '-')) {
        j.p++;
    }

    /* An integer cut by the end of a prefix is not an id. */

    if (j.p == j.end) {
        return INTEGRATIONS_WEBHOOK_ID_NONE;
    }

    /* null, true, an object, a fraction, a lone '-': not an id */

    if (j.p == s || (j.p - s == 1 && *s == '-')
        || *j.p == '.' || *j.p == 'e' || *j.p == 'E')
    {
        return INTEGRATIONS_WEBHOOK_ID_INVALID;
    }

    return integrations_webhook_id_set(out, s, j.p - s,
                                       INTEGRATIONS_WEBHOOK_ID_BODY);
}


static int
integrations_webhook_id_set(integrations_webhook_event_id_t *out,
    const unsigned char *p, size_t len, integrations_webhook_id_source_e src)
{
    size_t  i;

    out->source = src;

    if (len == 0 || len > INTEGRATIONS_WEBHOOK_EVENT_ID_MAX) {
        return INTEGRATIONS_WEBHOOK_ID_INVALID;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e) {
            return INTEGRATIONS_WEBHOOK_ID_INVALID;
        }
    }

    if (out->data != p) {
        memcpy(out->data, p, len);
    }

    out->len = len;

    return INTEGRATIONS_WEBHOOK_ID_FOUND;
}


/* Absent: no id; repeated, empty, or not printable ASCII: unusable. */

static int
integrations_webhook_id_header(integrations_webhook_event_id_t *out,
    const integrations_webhook_headers_t *h, int slot)
{
    const integrations_webhook_header_t  *hh;

    hh = &h->h[slot];

    out->field = integrations_webhook_headers[slot].name;
    out->source = INTEGRATIONS_WEBHOOK_ID_HEADER;

    if (hh->count == 0) {
        return INTEGRATIONS_WEBHOOK_ID_NONE;
    }

    if (hh->count > 1 || hh->data == NULL) {
        return INTEGRATIONS_WEBHOOK_ID_INVALID;
    }

    return integrations_webhook_id_set(out, hh->data, hh->len,
                                       INTEGRATIONS_WEBHOOK_ID_HEADER);
}


/*
 * X-Shopify-Webhook-Id or shopify-webhook-id, the id of Shopify's newer
 * event webhooks; both with two values would make two deliveries of one.
 */

static int
integrations_webhook_id_shopify(integrations_webhook_event_id_t *out,
    const integrations_webhook_headers_t *h)
{
    int                              rc, rc2;
    integrations_webhook_event_id_t  other;

    rc = integrations_webhook_id_header(out, h,
                                    INTEGRATIONS_WEBHOOK_H_SHOPIFY_WEBHOOK_ID);
    rc2 = integrations_webhook_id_header(&other, h,
                             INTEGRATIONS_WEBHOOK_H_SHOPIFY_EVENTS_WEBHOOK_ID);

    if (rc == INTEGRATIONS_WEBHOOK_ID_INVALID) {
        return rc;
    }

    if (rc2 == INTEGRATIONS_WEBHOOK_ID_NONE) {
        return rc;
    }

    if (rc2 == INTEGRATIONS_WEBHOOK_ID_INVALID
        || (rc == INTEGRATIONS_WEBHOOK_ID_FOUND
            && (out->len != other.len
                || memcmp(out->data, other.data, out->len) != 0)))
    {
        out->field = other.field;
        return INTEGRATIONS_WEBHOOK_ID_INVALID;
    }

    *out = other;

    return INTEGRATIONS_WEBHOOK_ID_FOUND;
}


int
integrations_webhook_event_id(integrations_webhook_provider_e provider,
    const integrations_webhook_headers_t *h, const unsigned char *body,
    size_t len, integrations_webhook_event_id_t *out)
{
    int                                   rc;
    size_t                                n;
    const integrations_webhook_header_t  *ts, *sig;

    out->len = 0;
    out->field = NULL;
    out->source = INTEGRATIONS_WEBHOOK_ID_BODY;

    switch (provider) {

    case INTEGRATIONS_WEBHOOK_STRIPE:
        return integrations_webhook_json_id(body, len, "id", NULL, "id", out);

    case INTEGRATIONS_WEBHOOK_STANDARD:
        rc = integrations_webhook_id_header(out, h,
                                            INTEGRATIONS_WEBHOOK_H_WEBHOOK_ID);
        if (rc != INTEGRATIONS_WEBHOOK_ID_NONE) {
            return rc;
        }

        return integrations_webhook_id_header(out, h,
                                              INTEGRATIONS_WEBHOOK_H_SVIX_ID);

    case INTEGRATIONS_WEBHOOK_TOSS:
        return integrations_webhook_id_header(out, h,
                                   INTEGRATIONS_WEBHOOK_H_TOSS_TRANSMISSION_ID);

    case INTEGRATIONS_WEBHOOK_COINBASE:
        rc = integrations_webhook_json_id(body, len, "event", "id",
                                          "event.id", out);
        if (rc != INTEGRATIONS_WEBHOOK_ID_NONE) {
            return rc;
        }

        return integrations_webhook_json_id(body, len, "id", NULL, "id", out);

    case INTEGRATIONS_WEBHOOK_SQUARE:
        return integrations_webhook_json_id(body, len, "event_id", NULL,
                                            "event_id", out);

    case INTEGRATIONS_WEBHOOK_SLACK:
        rc = integrations_webhook_json_id(body, len, "event_id", NULL,
                                          "event_id", out);
        if (rc != INTEGRATIONS_WEBHOOK_ID_NONE) {
            return rc;
        }

        ts = &h->h[INTEGRATIONS_WEBHOOK_H_SLACK_TIMESTAMP];
        sig = &h->h[INTEGRATIONS_WEBHOOK_H_SLACK_SIGNATURE];

        if (ts->count != 1 || sig->count != 1 || ts->len == 0
            || sig->len == 0
            || ts->len + 1 + sig->len > INTEGRATIONS_WEBHOOK_EVENT_ID_MAX)
        {
            return INTEGRATIONS_WEBHOOK_ID_NONE;
        }

        n = ts->len;
        memcpy(out->data, ts->data, n);
        out->data[n++] = ':';
        memcpy(out->data + n, sig->data, sig->len);
        n += sig->len;

        out->field = integrations_webhook_headers[
                                 INTEGRATIONS_WEBHOOK_H_SLACK_SIGNATURE].name;

        if (integrations_webhook_id_set(out, out->data, n,
                                        INTEGRATIONS_WEBHOOK_ID_DERIVED)
            != INTEGRATIONS_WEBHOOK_ID_FOUND)
        {
            out->len = 0;
            return INTEGRATIONS_WEBHOOK_ID_NONE;
        }

        return INTEGRATIONS_WEBHOOK_ID_FOUND;

    case INTEGRATIONS_WEBHOOK_GITHUB:
        return integrations_webhook_id_header(out, h,
                                      INTEGRATIONS_WEBHOOK_H_GITHUB_DELIVERY);

    case INTEGRATIONS_WEBHOOK_SHOPIFY:
        return integrations_webhook_id_shopify(out, h);

    case INTEGRATIONS_WEBHOOK_TWILIO:
        return integrations_webhook_id_header(out, h,
                                    INTEGRATIONS_WEBHOOK_H_TWILIO_IDEMPOTENCY);

    default:
        return INTEGRATIONS_WEBHOOK_ID_NONE;
    }
}


int
integrations_webhook_ctx_event_id(const integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h,
    integrations_webhook_event_id_t *out)
{
    const integrations_webhook_state_t  *st;

    st = ctx->state;

    return integrations_webhook_event_id(ctx->provider, h,
                                         st ? st->idp : NULL,
                                         st ? st->idp_len : 0, out);
}


void
integrations_webhook_ctx_skip_id_prefix(integrations_webhook_ctx_t *ctx)
{
    if (ctx->state != NULL) {
        ctx->state->keep_idp = 0;
    }
}
