/*
 * libFuzzer target: every provider's header parser, through the public
 * API as the glue drives it.
 *
 * Input: byte 0 picks the provider (byte 0 % 9) and the mode (byte 0 / 9
 * odd: "signed"); byte 1 the number of fields (low 3 bits) and the body
 * chunk size (high 5 bits); then that many '\n'-terminated fields, and the
 * rest is the body.
 *
 * Raw mode gives the fields in turn to the provider's header slots
 * (cycling, so later fields duplicate earlier ones); Twilio's second slot
 * is the request's query string.  Signed mode treats the fields as the
 * signed inputs (Stripe t, Standard id and timestamp, Toss time, Slack
 * timestamp) and signs them and the body as the provider would, v1 HMAC
 * and v1a Ed25519 for Standard, so that the paths after a valid signature
 * are fuzzed too.
 *
 * Checked besides the sanitizers: the verdict does not depend on how the
 * body is chunked, is a known one and names a header when it should; a
 * correctly signed request is never bad_signature nor no_known_scheme.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "integrations_codec.h"
#include "integrations_webhook.h"


#define F_QUERY   (-2)
#define F_FIELDS  8


static const int  f_stripe[] = { INTEGRATIONS_WEBHOOK_H_STRIPE_SIGNATURE };
static const int  f_standard[] = {
    INTEGRATIONS_WEBHOOK_H_WEBHOOK_ID,
    INTEGRATIONS_WEBHOOK_H_WEBHOOK_TIMESTAMP,
    INTEGRATIONS_WEBHOOK_H_WEBHOOK_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_SVIX_ID,
    INTEGRATIONS_WEBHOOK_H_SVIX_TIMESTAMP,
    INTEGRATIONS_WEBHOOK_H_SVIX_SIGNATURE
};
static const int  f_toss[] = {
    INTEGRATIONS_WEBHOOK_H_TOSS_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_TOSS_TRANSMISSION_TIME,
    INTEGRATIONS_WEBHOOK_H_TOSS_TRANSMISSION_ID
};
static const int  f_coinbase[] = {
    INTEGRATIONS_WEBHOOK_H_COINBASE_SIGNATURE
};
static const int  f_square[] = { INTEGRATIONS_WEBHOOK_H_SQUARE_SIGNATURE };
static const int  f_slack[] = {
    INTEGRATIONS_WEBHOOK_H_SLACK_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_SLACK_TIMESTAMP
};
static const int  f_github[] = {
    INTEGRATIONS_WEBHOOK_H_GITHUB_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_GITHUB_DELIVERY
};
static const int  f_shopify[] = {
    INTEGRATIONS_WEBHOOK_H_SHOPIFY_HMAC,
    INTEGRATIONS_WEBHOOK_H_SHOPIFY_EVENTS_HMAC,
    INTEGRATIONS_WEBHOOK_H_SHOPIFY_WEBHOOK_ID,
    INTEGRATIONS_WEBHOOK_H_SHOPIFY_EVENTS_WEBHOOK_ID
};
static const int  f_twilio[] = {
    INTEGRATIONS_WEBHOOK_H_TWILIO_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_TWILIO_SIGNATURE_SETTINGS,
    F_QUERY,
    INTEGRATIONS_WEBHOOK_H_TWILIO_IDEMPOTENCY
};

static const struct {
    const int  *slots;
    size_t      n;
} f_slots[INTEGRATIONS_WEBHOOK_PROVIDER_MAX] = {
    { f_stripe, 1 }, { f_standard, 6 }, { f_toss, 3 }, { f_coinbase, 1 },
    { f_square, 1 }, { f_slack, 2 }, { f_github, 2 }, { f_shopify, 4 },
    { f_twilio, 4 }
};

static const char  *f_url = "https://example.com:8443/x";

/* HMAC key bytes per provider, and Standard's secret spelling of it */
static const char  *f_key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static unsigned char f_std_key[32];
static size_t        f_std_key_len;

static EVP_PKEY                         *f_ed;
static integrations_webhook_verifier_t  *f_v[INTEGRATIONS_WEBHOOK_PROVIDER_MAX];


static void
f_init(void)
{
    int                            p;
    size_t                         n;
    char                           pub[64];
    unsigned char                  seed[32], raw[32];
    integrations_webhook_params_t  params;
    integrations_webhook_secret_t  s[3];

    memset(seed, 0x42, sizeof(seed));
    f_ed = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    n = sizeof(raw);

    if (f_ed == NULL || EVP_PKEY_get_raw_public_key(f_ed, raw, &n) != 1) {
        abort();
    }

    memcpy(pub, "whpk_", 5);
    pub[5 + integrations_codec_base64_encode((unsigned char *) pub + 5,
                                             raw, 32)] = '\0';

    if (integrations_codec_base64_decode(f_std_key, sizeof(f_std_key),
                                         (const unsigned char *) f_key + 6,
                                         strlen(f_key) - 6, &f_std_key_len)
        != 0)
    {
        abort();
    }

    for (p = 0; p < INTEGRATIONS_WEBHOOK_PROVIDER_MAX; p++) {
        memset(&params, 0, sizeof(params));
        memset(s, 0, sizeof(s));

        /* a wrong secret first: rotation is on every path */

        s[0].data = (const unsigned char *) "whsec_c2Vjb25k";
        s[0].len = 14;
        s[1].data = (const unsigned char *) f_key;
        s[1].len = strlen(f_key);
        n = 2;

        if (p == INTEGRATIONS_WEBHOOK_STANDARD) {
            s[2].data = (const unsigned char *) pub;
            s[2].len = strlen(pub);
            n = 3;
        }

        params.provider = p;
        params.secrets = s;
        params.nsecrets = n;
        params.max_buffer = 512;

        if (p == INTEGRATIONS_WEBHOOK_SQUARE
            || p == INTEGRATIONS_WEBHOOK_TWILIO)
        {
            params.url = (const unsigned char *) f_url;
            params.url_len = strlen(f_url);
        }

        /* both of Twilio's MACs, as the settings header says */

        if (p == INTEGRATIONS_WEBHOOK_TWILIO) {
            params.algorithm = INTEGRATIONS_WEBHOOK_ALG_AUTO;
        }

        f_v[p] = integrations_webhook_verifier_create(&params, NULL, 0);

        if (f_v[p] == NULL) {
            abort();
        }
    }
}


typedef struct {
    const uint8_t  *p;
    size_t          len;
} f_str_t;


/* msg = a + b + c + d + e; returns malloc'd bytes */

static unsigned char *
f_cat(size_t *n, f_str_t a, f_str_t b, f_str_t c, f_str_t d, f_str_t e)
{
    unsigned char  *m, *p;

    *n = a.len + b.len + c.len + d.len + e.len;
    m = malloc(*n + 1);
    p = m;

    memcpy(p, a.p, a.len);
    p += a.len;
    memcpy(p, b.p, b.len);
    p += b.len;
    memcpy(p, c.p, c.len);
    p += c.len;
    memcpy(p, d.p, d.len);
    p += d.len;
    memcpy(p, e.p, e.len);

    return m;
}


#define F_S(s)   ((f_str_t) { (const uint8_t *) (s), sizeof(s) - 1 })
#define F_NONE   ((f_str_t) { (const uint8_t *) "", 0 })


/*
 * Signs as the provider would; fills h and returns the header storage to
 * free, or NULL when this provider has no signed mode here (Twilio).
 */

static char *
f_sign(int p, const f_str_t *f, size_t nf, f_str_t body,
    integrations_webhook_headers_t *h)
{
    int             slot;
    char           *v;
    size_t          n, mlen, off;
    unsigned int    maclen;
    f_str_t         a, b;
    const void     *key;
    unsigned char  *msg, mac[64], sig[64];
    EVP_MD_CTX     *md;

    a = nf > 0 ? f[0] : F_NONE;
    b = nf > 1 ? f[1] : F_NONE;
    key = f_key;
    n = strlen(f_key);

    switch (p) {
    case INTEGRATIONS_WEBHOOK_STRIPE:
        msg = f_cat(&mlen, a, F_S("."), body, F_NONE, F_NONE);
        break;
    case INTEGRATIONS_WEBHOOK_STANDARD:
        msg = f_cat(&mlen, a, F_S("."), b, F_S("."), body);
        key = f_std_key;
        n = f_std_key_len;
        break;
    case INTEGRATIONS_WEBHOOK_TOSS:
        msg = f_cat(&mlen, body, F_S(":"), a, F_NONE, F_NONE);
        break;
    case INTEGRATIONS_WEBHOOK_SQUARE:
        msg = f_cat(&mlen, (f_str_t) { (const uint8_t *) f_url,
                                       strlen(f_url) },
                    body, F_NONE, F_NONE, F_NONE);
        break;
    case INTEGRATIONS_WEBHOOK_SLACK:
        msg = f_cat(&mlen, F_S("v0:"), a, F_S(":"), body, F_NONE);
        break;
    case INTEGRATIONS_WEBHOOK_TWILIO:
        return NULL;
    default:
        msg = f_cat(&mlen, body, F_NONE, F_NONE, F_NONE, F_NONE);
    }

    HMAC(EVP_sha256(), key, (int) n, msg, mlen, mac, &maclen);

    v = malloc(a.len + 512);
    off = 0;

    switch (p) {
    case INTEGRATIONS_WEBHOOK_STRIPE:
        memcpy(v, "t=", 2);
        memcpy(v + 2, a.p, a.len);
        off = 2 + a.len;
        memcpy(v + off, ",v0=00,v1=", 10);
        off += 10;
        off += integrations_codec_hex_encode((unsigned char *) v + off,
                                             mac, 32);
        slot = INTEGRATIONS_WEBHOOK_H_STRIPE_SIGNATURE;
        break;

    case INTEGRATIONS_WEBHOOK_STANDARD:
        md = EVP_MD_CTX_new();
        n = sizeof(sig);

        if (md == NULL
            || EVP_DigestSignInit(md, NULL, NULL, NULL, f_ed) != 1
            || EVP_DigestSign(md, sig, &n, msg, mlen) != 1)
        {
            abort();
        }

        EVP_MD_CTX_free(md);

        /*
         * An HMAC that verifies spares the Ed25519 check: so an odd-sized
         * body gets v1a alone, an even one both.
         */
        memcpy(v, "v1a,", 4);
        off = 4 + integrations_codec_base64_encode((unsigned char *) v + 4,
                                                   sig, n);

        if (body.len % 2 == 0) {
            memcpy(v + off, " v1,", 4);
            off += 4;
            off += integrations_codec_base64_encode((unsigned char *) v + off,
                                                    mac, 32);
        }

        integrations_webhook_headers_add(h, (const unsigned char *)
                                         "webhook-id", 10, a.p, a.len);
        integrations_webhook_headers_add(h, (const unsigned char *)
                                         "webhook-timestamp", 17, b.p, b.len);
        slot = INTEGRATIONS_WEBHOOK_H_WEBHOOK_SIGNATURE;
        break;

    case INTEGRATIONS_WEBHOOK_TOSS:
        memcpy(v, "v1:", 3);
        off = 3 + integrations_codec_base64_encode((unsigned char *) v + 3,
                                                   mac, 32);
        integrations_webhook_headers_add(h, (const unsigned char *)
                             "tosspayments-webhook-transmission-time", 38,
                             a.p, a.len);
        slot = INTEGRATIONS_WEBHOOK_H_TOSS_SIGNATURE;
        break;

    case INTEGRATIONS_WEBHOOK_SLACK:
        memcpy(v, "v0=", 3);
        off = 3 + integrations_codec_hex_encode((unsigned char *) v + 3,
                                                mac, 32);
        integrations_webhook_headers_add(h, (const unsigned char *)
                                         "X-Slack-Request-Timestamp", 25,
                                         a.p, a.len);
        slot = INTEGRATIONS_WEBHOOK_H_SLACK_SIGNATURE;
        break;

    case INTEGRATIONS_WEBHOOK_GITHUB:
        memcpy(v, "sha256=", 7);
        off = 7 + integrations_codec_hex_encode((unsigned char *) v + 7,
                                                mac, 32);
        slot = INTEGRATIONS_WEBHOOK_H_GITHUB_SIGNATURE;
        break;

    case INTEGRATIONS_WEBHOOK_COINBASE:
        off = integrations_codec_hex_encode((unsigned char *) v, mac, 32);
        slot = INTEGRATIONS_WEBHOOK_H_COINBASE_SIGNATURE;
        break;

    case INTEGRATIONS_WEBHOOK_SQUARE:
        off = integrations_codec_base64_encode((unsigned char *) v, mac, 32);
        slot = INTEGRATIONS_WEBHOOK_H_SQUARE_SIGNATURE;
        break;

    default:
        /* Shopify: either name, or both with one value */
        off = integrations_codec_base64_encode((unsigned char *) v, mac, 32);
        slot = (body.len % 3 == 1) ? INTEGRATIONS_WEBHOOK_H_SHOPIFY_EVENTS_HMAC
                                   : INTEGRATIONS_WEBHOOK_H_SHOPIFY_HMAC;

        if (body.len % 3 == 2) {
            integrations_webhook_headers_add(h, (const unsigned char *)
                                             "shopify-hmac-sha256", 19,
                                             (const unsigned char *) v, off);
        }
    }

    integrations_webhook_headers_add(h,
        (const unsigned char *) integrations_webhook_header_name(slot),
        strlen(integrations_webhook_header_name(slot)),
        (const unsigned char *) v, off);

    free(msg);

    return v;
}


/*
 * whole: as the glue does with a body in one buffer, the ctx keeps no
 * copy and the id is looked for in the body itself; the other run's id,
 * from the copy, must be the same.
 */

static integrations_webhook_rc_e
f_run(integrations_webhook_verifier_t *v, integrations_webhook_headers_t *h,
    f_str_t query, f_str_t body, size_t chunk, int whole,
    integrations_webhook_ctx_t *ctx, integrations_webhook_event_id_t *id,
    int *id_rc)
{
    size_t                            off, n;
    integrations_webhook_rc_e         rc;

    rc = integrations_webhook_init(ctx, v, h, query.p, query.len,
                                   1700000000);

    if (whole) {
        integrations_webhook_ctx_skip_id_prefix(ctx);
    }

    for (off = 0; rc == INTEGRATIONS_WEBHOOK_OK && off < body.len;
         off += n)
    {
        n = body.len - off < chunk ? body.len - off : chunk;
        rc = integrations_webhook_update(ctx, body.p + off, n);
    }

    rc = integrations_webhook_final(ctx);

    memset(id, 0, sizeof(integrations_webhook_event_id_t));

    if (whole) {
        n = body.len < INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX
            ? body.len : INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX;
        *id_rc = integrations_webhook_event_id(ctx->provider, h, body.p, n,
                                               id);
    } else {
        *id_rc = integrations_webhook_ctx_event_id(ctx, h, id);
    }

    if (*id_rc == INTEGRATIONS_WEBHOOK_ID_FOUND
        && (id->len == 0 || id->len > INTEGRATIONS_WEBHOOK_EVENT_ID_MAX))
    {
        abort();
    }

    /* an unusable id is told as such, and where it was */

    if (*id_rc != INTEGRATIONS_WEBHOOK_ID_FOUND
        && *id_rc != INTEGRATIONS_WEBHOOK_ID_NONE
        && (*id_rc != INTEGRATIONS_WEBHOOK_ID_INVALID || id->field == NULL))
    {
        abort();
    }

    integrations_webhook_cleanup(ctx);

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                              p, slot, sign;
    char                            *store;
    size_t                           nf, i, chunk;
    f_str_t                          f[F_FIELDS], query, body;
    const uint8_t                   *end, *nl;
    const char                      *name;
    int                              id_rc1, id_rc2;
    integrations_webhook_rc_e        rc1, rc2;
    integrations_webhook_ctx_t       c1, c2;
    integrations_webhook_headers_t   h;
    integrations_webhook_event_id_t  id1, id2;

    if (f_v[0] == NULL) {
        f_init();
    }

    if (size < 2) {
        return 0;
    }

    p = data[0] % INTEGRATIONS_WEBHOOK_PROVIDER_MAX;
    sign = (data[0] / INTEGRATIONS_WEBHOOK_PROVIDER_MAX) & 1;
    nf = data[1] & 7;
    chunk = (data[1] >> 3) + 1;
    end = data + size;
    data += 2;

    for (i = 0; i < nf; i++) {
        nl = memchr(data, '\n', end - data);
        if (nl == NULL) {
            nl = end;
        }

        f[i].p = data;
        f[i].len = nl - data;
        data = nl < end ? nl + 1 : end;
    }

    body.p = data;
    body.len = end - data;
    query = F_NONE;
    store = NULL;

    integrations_webhook_headers_init(&h);

    if (sign) {
        store = f_sign(p, f, nf, body, &h);

        /* a ',' in Stripe's t= starts another item: not what was signed */

        if (p == INTEGRATIONS_WEBHOOK_STRIPE && nf > 0
            && memchr(f[0].p, ',', f[0].len) != NULL)
        {
            sign = 0;
        }
    }

    if (store == NULL) {

        for (i = 0; i < nf; i++) {
            slot = f_slots[p].slots[i % f_slots[p].n];

            if (slot == F_QUERY) {
                query = f[i];
                continue;
            }

            name = integrations_webhook_header_name(slot);

            if (integrations_webhook_headers_add(&h,
                                         (const unsigned char *) name,
                                         strlen(name), f[i].p, f[i].len)
                != slot)
            {
                abort();
            }
        }
    }

    rc1 = f_run(f_v[p], &h, query, body, body.len + 1, 1, &c1, &id1,
                &id_rc1);
    rc2 = f_run(f_v[p], &h, query, body, chunk, 0, &c2, &id2, &id_rc2);

    sign = sign && store != NULL;
    free(store);

    if (rc1 != rc2 || (unsigned) rc1 >= INTEGRATIONS_WEBHOOK_RC_MAX
        || rc1 == INTEGRATIONS_WEBHOOK_INTERNAL_ERROR)
    {
        abort();
    }

    /* the glue asks for an id only after OK */

    if (rc1 == INTEGRATIONS_WEBHOOK_OK
        && (id_rc1 != id_rc2
            || (id_rc1 == 0
                && (id1.len != id2.len || id1.source != id2.source
                    || memcmp(id1.data, id2.data, id1.len) != 0))))
    {
        abort();
    }

    if (((rc1 == INTEGRATIONS_WEBHOOK_MISSING_HEADER
          || rc1 == INTEGRATIONS_WEBHOOK_TOO_MANY_SIGNATURES)
         && integrations_webhook_header_name(c1.header) == NULL)
        || (rc1 == INTEGRATIONS_WEBHOOK_OK && c1.secret < 0))
    {
        abort();
    }

    if (sign
        && (rc1 == INTEGRATIONS_WEBHOOK_BAD_SIGNATURE
            || rc1 == INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME))
    {
        fprintf(stderr, "signed request refused: %s\n",
                integrations_webhook_reason_str(rc1));
        abort();
    }

    return 0;
}
