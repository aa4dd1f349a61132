/*
 * Unit tests of the webhook signature core: every public vector of
 * ../shared/vectors/webhooks.json, then, per provider, requests signed
 * here and damaged one way at a time.
 */

#include <ctype.h>
#include <stdint.h>
#include <strings.h>
#include <string.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <yajl/yajl_tree.h>

#include "tap.h"
#include "integrations_codec.h"
#include "integrations_webhook.h"


#define T_MAX_HDR   10
#define T_VALUE     4096
#define T_RC_NONE   INTEGRATIONS_WEBHOOK_RC_MAX     /* verifier refused */

enum {
    T_SIG_OK = 0,
    T_SIG_FLIP,         /* one bit of the MAC flipped */
    T_SIG_SHORT,        /* last MAC byte dropped */
    T_SIG_LONG,         /* one byte appended */
    T_SIG_CUT           /* last character of the encoding dropped */
};


typedef struct {
    const char     *name;
    char            value[T_VALUE];
    size_t          len;
} t_hdr_t;

typedef struct {
    integrations_webhook_provider_e  provider;
    integrations_webhook_secret_t    secrets[4];
    size_t                           nsecrets;
    integrations_webhook_key_form_e  key_form;
    integrations_webhook_alg_e       algorithm;
    const char                      *url;
    const char                      *query;
    size_t                           max_buffer;
    int64_t                          tolerance;
    t_hdr_t                          hdr[T_MAX_HDR];
    int                              nhdr;
    const unsigned char             *body;
    size_t                           body_len;
    int64_t                          now;
} t_req_t;

typedef struct {
    int                              header;
    int                              secret;
    int64_t                          skew;
    int                              id_rc;
    integrations_webhook_event_id_t  id;
} t_out_t;


static const char  *t_stripe_secret = "whsec_test_secret";
static const char  *t_plain_secret = "It's a Secret to Everybody";
static const char  *t_square_url = "https://example.com/webhooks/square";
static const char  *t_twilio_url = "https://example.com/twilio/sms";

/* whsec_ + base64 of 24 bytes 0x00..0x17 */
static char          t_standard_secret[64];
static unsigned char t_standard_key[24];

static const char  *t_body =
    "{\"id\":\"evt_1\",\"event_id\":\"sq-1\",\"event\":{\"id\":\"cb-1\"},"
    "\"eventType\":\"payout.changed\",\"n\":[1,2,{\"x\":\"}\"}]}";

static const int64_t  t_now = 1700000000;


static void
t_add(t_req_t *rq, const char *name, const void *value, size_t len)
{
    t_hdr_t  *h;

    if (rq->nhdr == T_MAX_HDR || len > T_VALUE) {
        diag("test bug: too many or too long headers");
        exit(2);
    }

    h = &rq->hdr[rq->nhdr++];
    h->name = name;
    memcpy(h->value, value, len);
    h->len = len;
}


static void
t_adds(t_req_t *rq, const char *name, const char *value)
{
    t_add(rq, name, value, strlen(value));
}


static t_hdr_t *
t_find(t_req_t *rq, const char *name)
{
    int  i;

    for (i = 0; i < rq->nhdr; i++) {
        if (strcasecmp(rq->hdr[i].name, name) == 0) {
            return &rq->hdr[i];
        }
    }

    return NULL;
}


static void
t_del(t_req_t *rq, const char *name)
{
    int  i;

    for (i = 0; i < rq->nhdr; i++) {
        if (strcasecmp(rq->hdr[i].name, name) == 0) {
            rq->hdr[i] = rq->hdr[--rq->nhdr];
            return;
        }
    }
}


static void
t_secret(t_req_t *rq, const char *s)
{
    integrations_webhook_secret_t  *sec;

    sec = &rq->secrets[rq->nsecrets++];
    sec->data = (const unsigned char *) s;
    sec->len = strlen(s);
    sec->kind = INTEGRATIONS_WEBHOOK_SECRET_AUTO;
}


/*
 * Runs one request through the public API as the glue would, feeding the
 * body in chunks of the given size (0: at once).  Returns the verdict,
 * or T_RC_NONE when the verifier refused the configuration.
 */

static int
t_run(const t_req_t *rq, size_t chunk, t_out_t *out)
{
    int                              i;
    size_t                           off, n;
    char                             err[256];
    integrations_webhook_rc_e        rc;
    integrations_webhook_ctx_t       ctx;
    integrations_webhook_params_t    params;
    integrations_webhook_headers_t   h;
    integrations_webhook_verifier_t *v;

    memset(&params, 0, sizeof(params));
    params.provider = rq->provider;
    params.secrets = rq->secrets;
    params.nsecrets = rq->nsecrets;
    params.key_form = rq->key_form;
    params.algorithm = rq->algorithm;
    params.tolerance = rq->tolerance;
    params.max_buffer = rq->max_buffer;

    if (rq->url) {
        params.url = (const unsigned char *) rq->url;
        params.url_len = strlen(rq->url);
    }

    v = integrations_webhook_verifier_create(&params, err, sizeof(err));
    if (v == NULL) {
        diag("verifier: %s", err);
        return T_RC_NONE;
    }

    integrations_webhook_headers_init(&h);

    for (i = 0; i < rq->nhdr; i++) {
        integrations_webhook_headers_add(&h,
                             (const unsigned char *) rq->hdr[i].name,
                             strlen(rq->hdr[i].name),
                             (const unsigned char *) rq->hdr[i].value,
                             rq->hdr[i].len);
    }

    rc = integrations_webhook_init(&ctx, v, &h,
                                   (const unsigned char *) rq->query,
                                   rq->query ? strlen(rq->query) : 0,
                                   rq->now);

    if (rc == INTEGRATIONS_WEBHOOK_OK) {
        for (off = 0; off < rq->body_len; off += n) {
            n = chunk ? chunk : rq->body_len;
            n = (n < rq->body_len - off) ? n : rq->body_len - off;

            if (integrations_webhook_update(&ctx, rq->body + off, n)
                != INTEGRATIONS_WEBHOOK_OK)
            {
                break;
            }
        }
    }

    rc = integrations_webhook_final(&ctx);

    if (integrations_webhook_final(&ctx) != rc) {
        diag("final() is not idempotent");
        rc = T_RC_NONE;
    }

    if (out != NULL) {
        out->header = ctx.header;
        out->secret = ctx.secret;
        out->skew = ctx.skew;
        out->id_rc = integrations_webhook_ctx_event_id(&ctx, &h, &out->id);
    }

    integrations_webhook_cleanup(&ctx);
    integrations_webhook_cleanup(&ctx);
    integrations_webhook_verifier_free(v);

    return rc;
}


static const char *
t_reason(int rc)
{
    return rc == T_RC_NONE ? "(config refused)"
                           : integrations_webhook_reason_str(rc);
}


#define is_rc(got, exp, ...)                                                  \
    do {                                                                      \
        int  g__ = (got), e__ = (exp);                                        \
        if (!ok(g__ == e__, __VA_ARGS__)) {                                   \
            printf("#          got: %s\n#     expected: %s\n",                \
                   t_reason(g__), t_reason(e__));                             \
        }                                                                     \
    } while (0)


/* ---- a test-side signer, independent of the code under test ---- */

static size_t
t_hmac(int sha1, const void *key, size_t klen, const unsigned char *msg,
    size_t mlen, unsigned char *out)
{
    unsigned int  n;

    HMAC(sha1 ? EVP_sha1() : EVP_sha256(), key, (int) klen, msg, mlen,
         out, &n);

    return n;
}


static size_t
t_cat(unsigned char *dst, const char *a, const unsigned char *b, size_t blen,
    const char *c)
{
    size_t  n;

    n = strlen(a);
    memcpy(dst, a, n);
    memcpy(dst + n, b, blen);
    n += blen;
    memcpy(dst + n, c, strlen(c));

    return n + strlen(c);
}


/* Encodes mac (mutated as asked) into dst after prefix; NUL-terminates. */

static size_t
t_encode(char *dst, const char *prefix, const unsigned char *mac, size_t n,
    int hex, int mutate)
{
    size_t         p, len;
    unsigned char  m[80];

    memcpy(m, mac, n);

    switch (mutate) {
    case T_SIG_FLIP:
        m[n / 2] ^= 0x10;
        break;
    case T_SIG_SHORT:
        n--;
        break;
    case T_SIG_LONG:
        m[n++] = 0x5a;
        break;
    }

    p = strlen(prefix);
    memcpy(dst, prefix, p);

    if (hex) {
        len = integrations_codec_hex_encode((unsigned char *) dst + p, m, n);
    } else {
        len = integrations_codec_base64_encode((unsigned char *) dst + p,
                                               m, n);
    }

    if (mutate == T_SIG_CUT) {
        len--;
    }

    dst[p + len] = '\0';

    return p + len;
}


/*
 * A fresh, correctly signed request for provider over body with key; the
 * signature is then damaged as mutate says.  Twilio is signed over the
 * string given in twilio_signed (URL + sorted params, built by hand).
 */

static void
t_sign(t_req_t *rq, integrations_webhook_provider_e provider,
    const char *secret, const unsigned char *key, size_t klen,
    const unsigned char *body, size_t body_len, int64_t ts, int mutate,
    const char *twilio_signed)
{
    size_t          n, mlen;
    char            tsbuf[32], v[T_VALUE];
    unsigned char   mac[64], *msg;

    memset(rq, 0, sizeof(t_req_t));
    rq->provider = provider;
    rq->body = body;
    rq->body_len = body_len;
    rq->now = t_now;
    t_secret(rq, secret);

    snprintf(tsbuf, sizeof(tsbuf), "%lld", (long long) ts);

    msg = malloc(body_len + 1024);

    switch (provider) {

    case INTEGRATIONS_WEBHOOK_STRIPE:
        mlen = t_cat(msg, tsbuf, body, body_len, "");
        memmove(msg + strlen(tsbuf) + 1, msg + strlen(tsbuf), body_len);
        msg[strlen(tsbuf)] = '.';
        mlen++;
        n = t_hmac(0, key, klen, msg, mlen, mac);
        snprintf(v, sizeof(v), "t=%s,v1=", tsbuf);
        t_encode(v + strlen(v), "", mac, n, 1, mutate);
        t_adds(rq, "Stripe-Signature", v);
        break;

    case INTEGRATIONS_WEBHOOK_STANDARD:
        snprintf((char *) msg, 1024, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W.%s.",
                 tsbuf);
        mlen = strlen((char *) msg);
        memcpy(msg + mlen, body, body_len);
        mlen += body_len;
        n = t_hmac(0, key, klen, msg, mlen, mac);
        t_encode(v, "v1,", mac, n, 0, mutate);
        t_adds(rq, "webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
        t_adds(rq, "webhook-timestamp", tsbuf);
        t_adds(rq, "webhook-signature", v);
        break;

    case INTEGRATIONS_WEBHOOK_TOSS:
        mlen = t_cat(msg, "", body, body_len, ":2024-09-05T12:19:21+09:00");
        n = t_hmac(0, key, klen, msg, mlen, mac);
        t_encode(v, "v1:", mac, n, 0, mutate);
        t_adds(rq, "tosspayments-webhook-signature", v);
        t_adds(rq, "tosspayments-webhook-transmission-time",
               "2024-09-05T12:19:21+09:00");
        t_adds(rq, "tosspayments-webhook-transmission-id", "wh_01J7AB");
        break;

    case INTEGRATIONS_WEBHOOK_COINBASE:
        n = t_hmac(0, key, klen, body, body_len, mac);
        t_encode(v, "", mac, n, 1, mutate);
        t_adds(rq, "X-CC-Webhook-Signature", v);
        break;

    case INTEGRATIONS_WEBHOOK_SQUARE:
        rq->url = t_square_url;
        mlen = t_cat(msg, t_square_url, body, body_len, "");
        n = t_hmac(0, key, klen, msg, mlen, mac);
        t_encode(v, "", mac, n, 0, mutate);
        t_adds(rq, "x-square-hmacsha256-signature", v);
        break;

    case INTEGRATIONS_WEBHOOK_SLACK:
        snprintf((char *) msg, 1024, "v0:%s:", tsbuf);
        mlen = strlen((char *) msg);
        memcpy(msg + mlen, body, body_len);
        mlen += body_len;
        n = t_hmac(0, key, klen, msg, mlen, mac);
        t_encode(v, "v0=", mac, n, 1, mutate);
        t_adds(rq, "X-Slack-Signature", v);
        t_adds(rq, "X-Slack-Request-Timestamp", tsbuf);
        break;

    case INTEGRATIONS_WEBHOOK_GITHUB:
        n = t_hmac(0, key, klen, body, body_len, mac);
        t_encode(v, "sha256=", mac, n, 1, mutate);
        t_adds(rq, "X-Hub-Signature-256", v);
        t_adds(rq, "X-GitHub-Delivery",
               "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        break;

    case INTEGRATIONS_WEBHOOK_SHOPIFY:
        n = t_hmac(0, key, klen, body, body_len, mac);
        t_encode(v, "", mac, n, 0, mutate);
        t_adds(rq, "X-Shopify-Hmac-Sha256", v);
        t_adds(rq, "X-Shopify-Webhook-Id",
               "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
        break;

    case INTEGRATIONS_WEBHOOK_TWILIO:
        rq->url = t_twilio_url;
        n = t_hmac(1, key, klen, (const unsigned char *) twilio_signed,
                   strlen(twilio_signed), mac);
        t_encode(v, "", mac, n, 0, mutate);
        t_adds(rq, "X-Twilio-Signature", v);
        t_adds(rq, "I-Twilio-Idempotency-Token",
               "5b4f6b8e-1e44-4c4d-9a4c-2d0f5f2d8c11");
        break;

    default:
        break;
    }

    free(msg);
}


/* ---- the public vectors ---- */

static const char *
t_json_str(yajl_val node, const char *key)
{
    const char  *path[2];
    yajl_val     v;

    path[0] = key;
    path[1] = NULL;

    v = yajl_tree_get(node, path, yajl_t_string);

    return v ? YAJL_GET_STRING(v) : NULL;
}


static size_t
t_form_encode(char *dst, const char *s)
{
    size_t               n;
    const unsigned char *p;

    n = 0;

    for (p = (const unsigned char *) s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
            || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'
            || *p == '.' || *p == '~')
        {
            dst[n++] = (char) *p;

        } else {
            n += sprintf(dst + n, "%%%02X", *p);
        }
    }

    return n;
}


static void
t_vectors(void)
{
    int            rc1, rc2, expect;
    size_t         i, j, len, n;
    char          *text, *body, errbuf[256], base[1024], *q;
    const char    *prov, *s, *path[2];
    yajl_val       root, list, vec, hdrs, form, pair, node;
    t_req_t        rq;
    t_out_t        out;

    text = tap_slurp(tap_vector_path("webhooks.json"), &len);
    ok(text != NULL, "read %s", tap_vector_path("webhooks.json"));
    if (text == NULL) {
        return;
    }

    root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
    ok(root != NULL, "vectors parse as JSON");
    if (root == NULL) {
        diag("%s", errbuf);
        free(text);
        return;
    }

    path[0] = "vectors";
    path[1] = NULL;
    list = yajl_tree_get(root, path, yajl_t_array);

    ok(list != NULL && YAJL_GET_ARRAY(list)->len >= 14,
       "vectors: at least 14 of them");

    for (i = 0; list && i < YAJL_GET_ARRAY(list)->len; i++) {
        vec = YAJL_GET_ARRAY(list)->values[i];
        prov = t_json_str(vec, "provider");

        memset(&rq, 0, sizeof(rq));
        rq.provider = integrations_webhook_provider_by_name(
                          (const unsigned char *) prov, strlen(prov));

        if ((s = t_json_str(vec, "secret")) != NULL) {
            t_secret(&rq, s);
        }

        if ((s = t_json_str(vec, "public_key")) != NULL) {
            t_secret(&rq, s);
            rq.secrets[rq.nsecrets - 1].kind =
                INTEGRATIONS_WEBHOOK_SECRET_ED25519_PUBLIC;
        }

        s = t_json_str(vec, "key_form");
        rq.key_form = (s && strcmp(s, "hex") == 0)
                      ? INTEGRATIONS_WEBHOOK_KEY_HEX
                      : INTEGRATIONS_WEBHOOK_KEY_ASCII;

        /* Twilio: the configured URL has no query; the request's has. */

        if ((s = t_json_str(vec, "url")) != NULL) {
            snprintf(base, sizeof(base), "%s", s);
            q = strchr(base, '?');

            if (q != NULL && rq.provider == INTEGRATIONS_WEBHOOK_TWILIO) {
                *q++ = '\0';
                rq.query = q;
            }

            rq.url = base;
        }

        body = NULL;

        path[0] = "form";
        form = yajl_tree_get(vec, path, yajl_t_array);

        if (form != NULL) {
            body = malloc(4096);
            n = 0;

            for (j = 0; j < YAJL_GET_ARRAY(form)->len; j++) {
                pair = YAJL_GET_ARRAY(form)->values[j];

                if (j > 0) {
                    body[n++] = '&';
                }

                n += t_form_encode(body + n,
                          YAJL_GET_STRING(YAJL_GET_ARRAY(pair)->values[0]));
                body[n++] = '=';
                n += t_form_encode(body + n,
                          YAJL_GET_STRING(YAJL_GET_ARRAY(pair)->values[1]));
            }

            rq.body = (const unsigned char *) body;
            rq.body_len = n;

        } else if ((s = t_json_str(vec, "body")) != NULL) {
            rq.body = (const unsigned char *) s;
            rq.body_len = strlen(s);
        }

        path[0] = "headers";
        hdrs = yajl_tree_get(vec, path, yajl_t_object);

        for (j = 0; hdrs && j < YAJL_GET_OBJECT(hdrs)->len; j++) {
            t_adds(&rq, YAJL_GET_OBJECT(hdrs)->keys[j],
                   YAJL_GET_STRING(YAJL_GET_OBJECT(hdrs)->values[j]));
        }

        path[0] = "now";
        node = yajl_tree_get(vec, path, yajl_t_number);
        rq.now = node ? YAJL_GET_INTEGER(node) : 0;

        path[0] = "valid";
        node = yajl_tree_get(vec, path, yajl_t_any);
        expect = YAJL_IS_TRUE(node);

        rc1 = t_run(&rq, 0, &out);
        rc2 = t_run(&rq, 1, NULL);

        ok((rc1 == INTEGRATIONS_WEBHOOK_OK) == expect,
           "vector %zu %s: %s (%s)", i, prov,
           expect ? "valid" : "invalid", t_json_str(vec, "source"));

        if ((rc1 == INTEGRATIONS_WEBHOOK_OK) != expect) {
            diag("got %s", t_reason(rc1));
        }

        is_rc(rc2, rc1, "vector %zu %s: 1-byte chunks agree (%s)", i, prov,
              t_reason(rc1));

        /* The invalid vectors each say why: check it is that reason. */

        s = t_json_str(vec, "source");

        if (!expect && strstr(s, "v0") != NULL) {
            is_rc(rc1, INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
                  "vector %zu: only v0 is no_known_scheme", i);
        }

        if (!expect && strstr(s, "tolerance") != NULL) {
            is_rc(rc1, INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE,
                  "vector %zu: stale is timestamp_out_of_tolerance", i);
        }

        if (expect && rq.body_len > 0) {
            ((unsigned char *) rq.body)[0] ^= 0x01;

            is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
                  "vector %zu %s: one flipped body bit fails", i, prov);

            ((unsigned char *) rq.body)[0] ^= 0x01;
        }

        free(body);
    }

    yajl_tree_free(root);
    free(text);
}


/* ---- per provider: damage one thing at a time ---- */

typedef struct {
    integrations_webhook_provider_e  provider;
    const char                      *sig_header;
    const char                      *ts_header;     /* NULL: no time check */
} t_prov_t;


static const char  *t_twilio_signed =
    "https://example.com/twilio/sms" "Bodyhi there" "From+15005550006"
    "To+15005550001";

static const char  *t_twilio_body =
    "To=%2B15005550001&From=%2B15005550006&Body=hi+there";


static void
t_key_of(integrations_webhook_provider_e p, const char *secret,
    const unsigned char **key, size_t *klen)
{
    if (p == INTEGRATIONS_WEBHOOK_STANDARD) {
        *key = t_standard_key;
        *klen = sizeof(t_standard_key);
        (void) secret;
        return;
    }

    *key = (const unsigned char *) secret;
    *klen = strlen(secret);
}


static const char *
t_secret_of(integrations_webhook_provider_e p)
{
    switch (p) {
    case INTEGRATIONS_WEBHOOK_STRIPE:
        return t_stripe_secret;
    case INTEGRATIONS_WEBHOOK_STANDARD:
        return t_standard_secret;
    default:
        return t_plain_secret;
    }
}


static void
t_signed(t_req_t *rq, integrations_webhook_provider_e p, int64_t ts,
    int mutate)
{
    size_t                blen, klen;
    const char           *secret;
    const unsigned char  *body, *key;

    secret = t_secret_of(p);
    t_key_of(p, secret, &key, &klen);

    if (p == INTEGRATIONS_WEBHOOK_TWILIO) {
        body = (const unsigned char *) t_twilio_body;
        blen = strlen(t_twilio_body);

    } else {
        body = (const unsigned char *) t_body;
        blen = strlen(t_body);
    }

    t_sign(rq, p, secret, key, klen, body, blen, ts, mutate,
           t_twilio_signed);
}


static void
t_provider(const t_prov_t *tp)
{
    int             rc, rc1;
    size_t          i;
    char            other[128], upper[64], *b64;
    unsigned char  *body, flipped[64];
    const char     *name;
    t_hdr_t        *hh;
    t_out_t         out;
    t_req_t         rq, bad;

    name = integrations_webhook_provider_name(tp->provider);

    /* good, at once and byte by byte, and the id */

    t_signed(&rq, tp->provider, t_now, T_SIG_OK);

    rc = t_run(&rq, 0, &out);
    is_rc(rc, INTEGRATIONS_WEBHOOK_OK, "%s: signed request verifies", name);
    is_int(out.secret, 0, "%s: ctx.secret names secret 0", name);
    is_int(out.header, -1, "%s: ctx.header is -1 on success", name);

    rc1 = t_run(&rq, 1, NULL);
    is_rc(rc1, rc, "%s: 1-byte chunks give the same verdict", name);
    is_rc(t_run(&rq, 7, NULL), rc, "%s: 7-byte chunks too", name);

    /* one flipped bit: body, signature, secret */

    body = malloc(rq.body_len);
    memcpy(body, rq.body, rq.body_len);
    body[rq.body_len - 2] ^= 0x02;
    bad = rq;
    bad.body = body;

    /* Twilio: "hi+there" becomes "hi+thepe", still a valid form */

    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "%s: flipped body bit fails", name);

    is_rc(t_run(&bad, 1, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "%s: flipped body bit fails byte by byte", name);

    free(body);

    t_signed(&bad, tp->provider, t_now, T_SIG_FLIP);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "%s: flipped signature bit fails", name);

    bad = rq;

    if (tp->provider == INTEGRATIONS_WEBHOOK_STANDARD) {
        memcpy(flipped, t_standard_key, sizeof(t_standard_key));
        flipped[5] ^= 0x01;
        b64 = other + 6;
        memcpy(other, "whsec_", 6);
        b64[integrations_codec_base64_encode((unsigned char *) b64, flipped,
                                             sizeof(t_standard_key))] = '\0';
    } else {
        snprintf(other, sizeof(other), "%s", t_secret_of(tp->provider));
        other[strlen(other) - 1] ^= 0x01;
    }

    bad.nsecrets = 0;
    t_secret(&bad, other);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "%s: flipped secret bit fails", name);

    /* rotation: the right secret second, then first */

    bad = rq;
    bad.nsecrets = 0;
    t_secret(&bad, other);
    t_secret(&bad, t_secret_of(tp->provider));
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "%s: rotation, old secret then new, verifies", name);
    is_int(out.secret, 1, "%s: ctx.secret says the second verified", name);

    bad.nsecrets = 0;
    t_secret(&bad, t_secret_of(tp->provider));
    t_secret(&bad, other);
    is_rc(t_run(&bad, 1, &out), INTEGRATIONS_WEBHOOK_OK,
          "%s: rotation, new secret then old, verifies", name);
    is_int(out.secret, 0, "%s: ctx.secret says the first verified", name);

    /* truncated and overlong signatures */

    t_signed(&bad, tp->provider, t_now, T_SIG_SHORT);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "%s: signature one byte short fails", name);

    t_signed(&bad, tp->provider, t_now, T_SIG_LONG);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "%s: signature one byte long fails", name);

    t_signed(&bad, tp->provider, t_now, T_SIG_CUT);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "%s: signature with its last character cut fails", name);

    /* missing, empty and duplicated signature header */

    bad = rq;
    t_del(&bad, tp->sig_header);
    rc = t_run(&bad, 0, &out);

    if (tp->provider == INTEGRATIONS_WEBHOOK_TOSS) {
        /* t_body is a payout.changed: Toss always signs those */
        is_rc(rc, INTEGRATIONS_WEBHOOK_MISSING_HEADER,
              "%s: unsigned payout.changed is missing_header", name);
    } else {
        is_rc(rc, INTEGRATIONS_WEBHOOK_MISSING_HEADER,
              "%s: no signature header is missing_header", name);
    }

    is_str(integrations_webhook_header_name(out.header), tp->sig_header,
           "%s: ctx.header names the missing header", name);

    bad = rq;
    hh = t_find(&bad, tp->sig_header);
    hh->len = 0;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "%s: empty signature header is malformed", name);

    bad = rq;
    hh = t_find(&bad, tp->sig_header);
    t_add(&bad, tp->sig_header, hh->value, hh->len);
    rc = t_run(&bad, 0, &out);
    is_rc(rc, INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "%s: duplicated signature header (same value) is malformed", name);
    is_str(integrations_webhook_header_name(out.header), tp->sig_header,
           "%s: ctx.header names the duplicated header", name);

    /* the same header in other case counts as a duplicate too */

    bad = rq;
    hh = t_find(&bad, tp->sig_header);

    for (i = 0; i <= strlen(tp->sig_header); i++) {
        upper[i] = (char) toupper((unsigned char) tp->sig_header[i]);
    }

    t_add(&bad, upper, "x", 1);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "%s: a second copy spelt %s is a duplicate", name, upper);

    bad = rq;
    t_add(&bad, "X-Unrelated", "1", 1);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "%s: an unrelated header changes nothing", name);

    if (tp->ts_header == NULL) {
        /* no time check: any clock */
        bad = rq;
        bad.now = 0;
        is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
              "%s: no time check, any clock verifies", name);
        return;
    }

    /* the time window, both sides, at and one past the tolerance */

    t_signed(&bad, tp->provider, t_now - 300, T_SIG_OK);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "%s: 300 s old verifies", name);

    t_signed(&bad, tp->provider, t_now + 300, T_SIG_OK);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "%s: 300 s ahead verifies", name);

    t_signed(&bad, tp->provider, t_now - 301, T_SIG_OK);
    is_rc(t_run(&bad, 0, &out),
          INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE,
          "%s: 301 s old is out of tolerance", name);
    is_int(out.skew, 301, "%s: ctx.skew is now - ts", name);
    is_int(out.secret, -1, "%s: ctx.secret is -1 on failure", name);

    t_signed(&bad, tp->provider, t_now + 301, T_SIG_OK);
    is_rc(t_run(&bad, 0, NULL),
          INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE,
          "%s: 301 s ahead is out of tolerance", name);

    t_signed(&bad, tp->provider, t_now - 301, T_SIG_FLIP);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "%s: stale and forged is bad_signature, not stale", name);

    t_signed(&bad, tp->provider, t_now - 600, T_SIG_OK);
    bad.tolerance = 600;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "%s: tolerance=600 takes 600 s old", name);

    if (tp->provider != INTEGRATIONS_WEBHOOK_STRIPE) {
        bad = rq;
        t_del(&bad, tp->ts_header);
        is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_MISSING_HEADER,
              "%s: no timestamp header is missing_header", name);
        is_str(integrations_webhook_header_name(out.header), tp->ts_header,
               "%s: ctx.header names the timestamp header", name);

        bad = rq;
        hh = t_find(&bad, tp->ts_header);
        t_add(&bad, tp->ts_header, hh->value, hh->len);
        is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
              "%s: duplicated timestamp header is malformed", name);

        bad = rq;
        hh = t_find(&bad, tp->ts_header);
        memcpy(hh->value, "-1700000000", 11);
        hh->len = 11;
        is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
              "%s: signed timestamp is malformed", name);
    }
}


static void
t_stripe(void)
{
    int       i;
    char     *p, v[T_VALUE], good[T_VALUE];
    size_t    n;
    t_req_t   rq;
    t_out_t   out;
    t_hdr_t  *hh;

    t_signed(&rq, INTEGRATIONS_WEBHOOK_STRIPE, t_now, T_SIG_OK);
    hh = t_find(&rq, "Stripe-Signature");
    snprintf(good, sizeof(good), "%.*s", (int) hh->len, hh->value);

    /* several v1: the good one first, among v0 and unknown keys */

    hh->len = snprintf(hh->value, T_VALUE, "%s,v0=%064d,v1=%064d,x=y,junk",
                       good, 0, 0);
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "stripe: good v1 among a bad v1, v0, x= and junk verifies");

    hh->len = snprintf(hh->value, T_VALUE, "v1=%064d,%s", 0, good);
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "stripe: t= after a v1 verifies");

    hh->len = snprintf(hh->value, T_VALUE, "%s", good + 13);
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "stripe: no t= is malformed");

    hh->len = snprintf(hh->value, T_VALUE, "t=%lld,%s", (long long) t_now,
                       good);
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "stripe: two t= is malformed");

    hh->len = snprintf(hh->value, T_VALUE, "t=17e8,%s", good + 13);
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "stripe: non-digit t= is malformed");

    hh->len = snprintf(hh->value, T_VALUE, "t=%lld", (long long) t_now);
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "stripe: t= alone is no_known_scheme");

    /* up to MAX_SIGNATURES v1 (rotation), the good one anywhere */

    n = snprintf(hh->value, T_VALUE, "%s", good);

    for (i = 1; i < INTEGRATIONS_WEBHOOK_MAX_SIGNATURES; i++) {
        n += snprintf(hh->value + n, T_VALUE - n, ",v1=%064d", i);
    }

    hh->len = n;
    is_rc(t_run(&rq, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "stripe: 32 v1, the good one first, verifies");
    is_rc(t_run(&rq, 7, NULL), INTEGRATIONS_WEBHOOK_OK,
          "stripe: ... fed in 7-byte chunks");

    n = snprintf(hh->value, T_VALUE, "t=%lld", (long long) t_now);

    for (i = 1; i < INTEGRATIONS_WEBHOOK_MAX_SIGNATURES; i++) {
        n += snprintf(hh->value + n, T_VALUE - n, ",v1=%064d", i);
    }

    n += snprintf(hh->value + n, T_VALUE - n, ",%s", good + 13);
    hh->len = n;
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "stripe: 32 v1, the good one last, verifies");

    n = snprintf(hh->value, T_VALUE, "%s", good);

    for (i = 1; i <= INTEGRATIONS_WEBHOOK_MAX_SIGNATURES; i++) {
        n += snprintf(hh->value + n, T_VALUE - n, ",v1=%064d", i);
    }

    hh->len = n;
    is_rc(t_run(&rq, 0, &out), INTEGRATIONS_WEBHOOK_TOO_MANY_SIGNATURES,
          "stripe: 33 v1 is too_many_signatures, even with a good one");
    is_int(out.header, INTEGRATIONS_WEBHOOK_H_STRIPE_SIGNATURE,
           "stripe: ... blaming Stripe-Signature");

    n = snprintf(hh->value, T_VALUE, "%s", good);

    for (i = 1; i <= 40; i++) {
        n += snprintf(hh->value + n, T_VALUE - n, ",v0=%064d", i);
    }

    hh->len = n;
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "stripe: 40 v0 do not count against the cap");

    hh->len = snprintf(hh->value, T_VALUE, "t=%lld,v1=zz,v1=", (long long)
                       t_now);
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "stripe: only undecodable v1 is bad_signature");

    /* uppercase hex decodes to the same bytes */

    snprintf(v, sizeof(v), "%s", good);

    for (p = v; *p; p++) {
        if (*p >= 'a' && *p <= 'f') {
            *p -= 32;
        }
    }
    memcpy(v, "t=", 2);
    memcpy(v + 13, "v1=", 3);
    hh->len = snprintf(hh->value, T_VALUE, "%s", v);
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "stripe: uppercase hex verifies");

    /* the key is the whole whsec_ string, not its tail */

    t_signed(&rq, INTEGRATIONS_WEBHOOK_STRIPE, t_now, T_SIG_OK);
    rq.nsecrets = 0;
    t_secret(&rq, "test_secret");
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "stripe: the secret less whsec_ is not the key");
}


static void
t_standard(void)
{
    int            i;
    size_t         n;
    char           v[T_VALUE], secret2[64];
    t_req_t        rq, bad, two;
    unsigned char  key2[sizeof(t_standard_key)];
    t_hdr_t  *hh;
    t_out_t   out;

    t_signed(&rq, INTEGRATIONS_WEBHOOK_STANDARD, t_now, T_SIG_OK);
    hh = t_find(&rq, "webhook-signature");
    snprintf(v, sizeof(v), "%.*s", (int) hh->len, hh->value);

    bad = rq;
    hh = t_find(&bad, "webhook-signature");
    hh->len = snprintf(hh->value, T_VALUE,
                       "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= %s "
                       "v2,xyz nocomma  v1a,AAAA", v);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "standard: good v1 in a list with a bad v1, v2, junk verifies");

    n = 0;

    for (i = 1; i < INTEGRATIONS_WEBHOOK_MAX_SIGNATURES; i++) {
        n += snprintf(hh->value + n, T_VALUE - n,
                      "v1,%043dA= ", i);
    }

    hh->len = n + snprintf(hh->value + n, T_VALUE - n, "%s", v);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "standard: 32 v1, the good one last, verifies");

    hh->len += snprintf(hh->value + hh->len, T_VALUE - hh->len, " v1a,AAAA");
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_TOO_MANY_SIGNATURES,
          "standard: a 33rd (v1a) is too_many_signatures");
    is_str(integrations_webhook_header_name(out.header), "webhook-signature",
           "standard: ... blaming webhook-signature");

    hh->len = snprintf(hh->value, T_VALUE, "v2,%s", v + 3);
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "standard: only v2 is no_known_scheme");
    is_str(integrations_webhook_header_name(out.header), "webhook-signature",
           "standard: ... naming webhook-signature");

    hh->len = snprintf(hh->value, T_VALUE, "v1a,%s", v + 3);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "standard: only v1a and no Ed25519 key is no_known_scheme");

    /* svix-* spelling */

    bad = rq;
    for (i = 0; i < bad.nhdr; i++) {
        bad.hdr[i].name = strcmp(bad.hdr[i].name, "webhook-id") == 0
                          ? "svix-id"
                          : strcmp(bad.hdr[i].name, "webhook-timestamp") == 0
                          ? "Svix-Timestamp" : "SVIX-SIGNATURE";
    }
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "standard: svix-* headers verify");
    is_int(out.id_rc, 0, "standard: svix-id is the event id");

    /* both spellings: either may verify, both must be well formed */

    t_add(&bad, "webhook-id", "msg_other", 9);
    t_adds(&bad, "webhook-timestamp", "1700000000");
    t_adds(&bad, "webhook-signature",
           "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "standard: a bad webhook-* set beside a good svix-* set verifies");
    out.id.data[out.id.len] = '\0';
    is_str((char *) out.id.data, "msg_other",
           "standard: webhook-id is preferred as the event id");

    t_del(&bad, "webhook-signature");
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_MISSING_HEADER,
          "standard: a partial webhook-* set is missing_header");
    is_str(integrations_webhook_header_name(out.header), "webhook-signature",
           "standard: ... naming webhook-signature");

    /*
     * Both spellings, each verified by another secret: the webhook-* set
     * by secret 0 but stale, the svix-* set by secret 1 and fresh.  The
     * secret reported is the one of the set that passed.
     */

    memcpy(key2, t_standard_key, sizeof(key2));
    key2[0] ^= 0x80;
    memcpy(secret2, "whsec_", 6);
    secret2[6 + integrations_codec_base64_encode((unsigned char *) secret2
                                                 + 6, key2, sizeof(key2))]
        = '\0';

    t_signed(&bad, INTEGRATIONS_WEBHOOK_STANDARD, t_now - 1000, T_SIG_OK);
    t_sign(&two, INTEGRATIONS_WEBHOOK_STANDARD, secret2, key2, sizeof(key2),
           bad.body, bad.body_len, t_now, T_SIG_OK, NULL);

    for (i = 0; i < two.nhdr; i++) {
        t_add(&bad, strcmp(two.hdr[i].name, "webhook-id") == 0 ? "svix-id"
                    : strcmp(two.hdr[i].name, "webhook-timestamp") == 0
                    ? "svix-timestamp" : "svix-signature",
              two.hdr[i].value, two.hdr[i].len);
    }

    is_rc(t_run(&bad, 0, &out),
          INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE,
          "standard: stale set by secret 0, fresh set by an unknown key");

    t_secret(&bad, secret2);
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "standard: stale set by secret 0, fresh set by secret 1: ok");
    is_int(out.secret, 1, "standard: ctx.secret is the fresh set's");

    /* the secret: base64 after an optional whsec_ */

    bad = rq;
    bad.nsecrets = 0;
    t_secret(&bad, t_standard_secret + 6);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "standard: secret without whsec_ verifies");

    bad.nsecrets = 0;
    t_secret(&bad, "whsec_not base64!");
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "standard: non-base64 secret is refused at configuration");
}


static void
t_standard_ed25519(void)
{
    char        sig[128], pub[64];
    size_t      n, siglen;
    t_req_t     rq, bad;
    t_out_t     out;
    EVP_PKEY   *pk;
    EVP_MD_CTX *md;
    unsigned char  raw[32], s[64], msg[256];
    const char *body = "{\"type\":\"ed\"}";

    /* A fresh key: the vector covers the public reference key. */

    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    n = sizeof(raw);
    EVP_PKEY_get_raw_public_key(pk, raw, &n);
    memcpy(pub, "whpk_", 5);
    pub[5 + integrations_codec_base64_encode((unsigned char *) pub + 5,
                                             raw, 32)] = '\0';

    n = snprintf((char *) msg, sizeof(msg), "msg_ed.%lld.%s",
                 (long long) t_now, body);
    md = EVP_MD_CTX_new();
    siglen = sizeof(s);
    EVP_DigestSignInit(md, NULL, NULL, NULL, pk);
    EVP_DigestSign(md, s, &siglen, msg, n);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);

    memcpy(sig, "v1a,", 4);
    sig[4 + integrations_codec_base64_encode((unsigned char *) sig + 4,
                                             s, siglen)] = '\0';

    memset(&rq, 0, sizeof(rq));
    rq.provider = INTEGRATIONS_WEBHOOK_STANDARD;
    rq.now = t_now;
    rq.body = (const unsigned char *) body;
    rq.body_len = strlen(body);
    t_secret(&rq, pub);             /* "whpk_" makes it Ed25519 */
    t_adds(&rq, "webhook-id", "msg_ed");
    snprintf((char *) msg, sizeof(msg), "%lld", (long long) t_now);
    t_adds(&rq, "webhook-timestamp", (char *) msg);
    t_adds(&rq, "webhook-signature", sig);

    is_rc(t_run(&rq, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "standard v1a: whpk_ key verifies");
    is_rc(t_run(&rq, 1, NULL), INTEGRATIONS_WEBHOOK_OK,
          "standard v1a: byte by byte verifies");

    bad = rq;
    bad.now = t_now + 301;
    is_rc(t_run(&bad, 0, NULL),
          INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE,
          "standard v1a: 301 s late is out of tolerance");

    bad = rq;
    bad.max_buffer = 4;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE,
          "standard v1a: body over max_buffer is body_too_large");

    /* an HMAC secret beside: v1 can stand in when v1a overflows */

    t_signed(&bad, INTEGRATIONS_WEBHOOK_STANDARD, t_now, T_SIG_OK);
    t_secret(&bad, pub);
    bad.max_buffer = 4;
    t_find(&bad, "webhook-signature")->len +=
        snprintf(t_find(&bad, "webhook-signature")->value
                 + t_find(&bad, "webhook-signature")->len, 200, " %s", sig);
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "standard: v1 verifies though v1a overflowed max_buffer");
    is_int(out.secret, 0, "standard: ... by the HMAC secret");

    /* flipped signature bit */

    bad = rq;
    t_find(&bad, "webhook-signature")->value[10] ^= 0x01;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "standard v1a: flipped signature bit fails");

    bad = rq;
    bad.nsecrets = 0;
    t_secret(&bad, "whpk_AAAA");
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "standard v1a: a 3-byte public key is refused");

    bad = rq;
    bad.provider = INTEGRATIONS_WEBHOOK_STRIPE;
    bad.secrets[0].kind = INTEGRATIONS_WEBHOOK_SECRET_ED25519_PUBLIC;
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "Ed25519 keys are refused for stripe");
}


static void
t_toss(void)
{
    char      v[T_VALUE], hexkey[65];
    size_t    i;
    t_req_t   rq, bad;
    t_hdr_t  *hh;
    t_out_t   out;
    unsigned char  key[32];

    t_signed(&rq, INTEGRATIONS_WEBHOOK_TOSS, 0, T_SIG_OK);
    hh = t_find(&rq, "tosspayments-webhook-signature");
    snprintf(v, sizeof(v), "%.*s", (int) hh->len, hh->value);

    bad = rq;
    hh = t_find(&bad, "tosspayments-webhook-signature");
    hh->len = snprintf(hh->value, T_VALUE,
                       "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,%s", v);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "toss: second of two signatures verifies");

    hh->len = snprintf(hh->value, T_VALUE, "v2:%s", v + 3);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "toss: only v2 is no_known_scheme");

    /* time is signed: another one fails; none at all is missing */

    bad = rq;
    hh = t_find(&bad, "tosspayments-webhook-transmission-time");
    hh->value[hh->len - 1] ^= 0x01;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "toss: flipped transmission-time bit fails");

    bad = rq;
    t_del(&bad, "tosspayments-webhook-transmission-time");
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_MISSING_HEADER,
          "toss: no transmission-time is missing_header");
    is_str(integrations_webhook_header_name(out.header),
           "tosspayments-webhook-transmission-time",
           "toss: ... naming it");

    /* unsigned deliveries */

    bad = rq;
    t_del(&bad, "tosspayments-webhook-signature");
    bad.body = (const unsigned char *)
               "{\"eventType\":\"PAYMENT_STATUS_CHANGED\",\"data\":{}}";
    bad.body_len = strlen((const char *) bad.body);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_UNSIGNED,
          "toss: unsigned PAYMENT_STATUS_CHANGED is unsigned");
    is_rc(t_run(&bad, 1, NULL), INTEGRATIONS_WEBHOOK_UNSIGNED,
          "toss: ... byte by byte too");

    bad.body = (const unsigned char *)
               " {\"eventType\" : \"SELLER.CHANGED\"} ";
    bad.body_len = strlen((const char *) bad.body);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MISSING_HEADER,
          "toss: unsigned seller.changed (any case) is missing_header");

    bad.body = (const unsigned char *)
               "{\"eventType\":\"DEPOSIT_CALLBACK\","
               "\"eventType\":\"payout.changed\"}";
    bad.body_len = strlen((const char *) bad.body);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MISSING_HEADER,
          "toss: unsigned with a second eventType payout.changed refused");

    bad.body = (const unsigned char *)
               "{\"event\\u0054ype\":\"payout.changed\"}";
    bad.body_len = strlen((const char *) bad.body);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MISSING_HEADER,
          "toss: unsigned with an escaped member name refused");

    bad.body = (const unsigned char *)
               "{\"eventType\":\"payout\\u002echanged\"}";
    bad.body_len = strlen((const char *) bad.body);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MISSING_HEADER,
          "toss: unsigned with an escaped eventType refused");

    bad.body = (const unsigned char *) "{\"eventType\":\"X\"";
    bad.body_len = strlen((const char *) bad.body);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MISSING_HEADER,
          "toss: unsigned truncated JSON refused");

    bad.body = (const unsigned char *)
               "{\"data\":{\"eventType\":\"payout.changed\"},"
               "\"eventType\":\"PAYMENT_STATUS_CHANGED\"}";
    bad.body_len = strlen((const char *) bad.body);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_UNSIGNED,
          "toss: a nested eventType is not the event's type");

    bad.max_buffer = 8;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE,
          "toss: unsigned body over max_buffer is body_too_large");

    /* key_form=hex: the same text, hex-decoded, is another key */

    for (i = 0; i < sizeof(key); i++) {
        key[i] = (unsigned char) (0xa0 + i);
    }

    integrations_codec_hex_encode((unsigned char *) hexkey, key, 32);
    hexkey[64] = '\0';

    t_sign(&bad, INTEGRATIONS_WEBHOOK_TOSS, hexkey, key, 32,
           (const unsigned char *) t_body, strlen(t_body), 0, T_SIG_OK, NULL);
    bad.key_form = INTEGRATIONS_WEBHOOK_KEY_HEX;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "toss: key_form=hex verifies a hex-decoded key");

    bad.key_form = INTEGRATIONS_WEBHOOK_KEY_ASCII;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "toss: ... and key_form=ascii does not");

    bad.key_form = INTEGRATIONS_WEBHOOK_KEY_HEX;
    bad.nsecrets = 0;
    t_secret(&bad, "0123456789abcdeg");
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "toss: key_form=hex with a non-hex secret is refused");

    bad = rq;
    bad.provider = INTEGRATIONS_WEBHOOK_GITHUB;
    bad.key_form = INTEGRATIONS_WEBHOOK_KEY_HEX;
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "key_form=hex is refused for github");
}


static void
t_single(void)
{
    t_req_t   rq, bad;
    t_hdr_t  *hh;

    t_signed(&rq, INTEGRATIONS_WEBHOOK_GITHUB, 0, T_SIG_OK);

    bad = rq;
    hh = t_find(&bad, "X-Hub-Signature-256");
    memcpy(hh->value, "sha1", 4);
    memmove(hh->value + 4, hh->value + 6, hh->len - 6);
    hh->len -= 2;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "github: sha1= is no_known_scheme");

    bad = rq;
    hh = t_find(&bad, "X-Hub-Signature-256");
    memmove(hh->value, hh->value + 7, hh->len - 7);
    hh->len -= 7;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "github: bare hex without sha256= is malformed");

    t_signed(&rq, INTEGRATIONS_WEBHOOK_SLACK, t_now, T_SIG_OK);
    bad = rq;
    hh = t_find(&bad, "X-Slack-Signature");
    hh->value[1] = '1';
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "slack: v1= is no_known_scheme");

    t_signed(&rq, INTEGRATIONS_WEBHOOK_SHOPIFY, 0, T_SIG_OK);
    bad = rq;
    hh = t_find(&bad, "X-Shopify-Hmac-Sha256");
    hh->value[hh->len - 1] = 'A';       /* '=' padding turned into data */
    hh->value[hh->len] = '\0';
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "shopify: padding replaced by data fails");

    bad = rq;
    hh = t_find(&bad, "X-Shopify-Hmac-Sha256");
    hh->value[hh->len++] = '\n';
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "shopify: trailing newline in base64 fails");

    t_signed(&rq, INTEGRATIONS_WEBHOOK_SQUARE, 0, T_SIG_OK);
    bad = rq;
    bad.url = "https://example.com/webhooks/squarE";
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "square: another notification URL fails");

    bad.url = NULL;
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "square: no url= is refused at configuration");

    t_signed(&rq, INTEGRATIONS_WEBHOOK_COINBASE, 0, T_SIG_OK);
    bad = rq;
    bad.url = t_square_url;
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "coinbase: url= is refused at configuration");
}


/*
 * A Twilio request with a JSON body: the query is bodySHA256=HEX, the
 * URL signed (with SHA-1) is the configured one with that query.
 */

static void
t_twilio_json(t_req_t *rq, const char *json, char *q, size_t qsize,
    char *url, size_t usize)
{
    unsigned char  digest[32], hex[65];

    EVP_Digest(json, strlen(json), digest, NULL, EVP_sha256(), NULL);
    integrations_codec_hex_encode(hex, digest, 32);
    hex[64] = '\0';
    snprintf(q, qsize, "bodySHA256=%s", hex);
    snprintf(url, usize, "%s?%s", t_twilio_url, q);

    t_sign(rq, INTEGRATIONS_WEBHOOK_TWILIO, t_plain_secret,
           (const unsigned char *) t_plain_secret, strlen(t_plain_secret),
           (const unsigned char *) json, strlen(json), 0, T_SIG_OK, url);
}


static void
t_twilio(void)
{
    size_t          n;
    char            q[256], url[512];
    t_req_t         rq, bad;
    t_out_t         out;

    /* port variants: signed without the port, configured with it */

    t_sign(&rq, INTEGRATIONS_WEBHOOK_TWILIO, t_plain_secret,
           (const unsigned char *) t_plain_secret, strlen(t_plain_secret),
           (const unsigned char *) t_twilio_body, strlen(t_twilio_body), 0,
           T_SIG_OK, t_twilio_signed);
    bad = rq;
    bad.url = "https://example.com:443/twilio/sms";
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio: signed without port, configured with :443, verifies");

    t_sign(&rq, INTEGRATIONS_WEBHOOK_TWILIO, t_plain_secret,
           (const unsigned char *) t_plain_secret, strlen(t_plain_secret),
           (const unsigned char *) t_twilio_body, strlen(t_twilio_body), 0,
           T_SIG_OK,
           "https://example.com:443/twilio/sms"
           "Bodyhi thereFrom+15005550006To+15005550001");
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio: signed with :443, configured without, verifies");

    bad = rq;
    bad.url = "https://example.com:8443/twilio/sms";
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "twilio: signed with :443, configured with :8443, fails");

    /* query string is signed */

    t_sign(&rq, INTEGRATIONS_WEBHOOK_TWILIO, t_plain_secret,
           (const unsigned char *) t_plain_secret, strlen(t_plain_secret),
           (const unsigned char *) t_twilio_body, strlen(t_twilio_body), 0,
           T_SIG_OK,
           "https://example.com/twilio/sms?a=1"
           "Bodyhi thereFrom+15005550006To+15005550001");
    rq.query = "a=1";
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio: the request's query is signed");
    rq.query = "a=2";
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "twilio: ... another query fails");

    /* repeated names sort by value; empty values count; GET has none */

    t_sign(&rq, INTEGRATIONS_WEBHOOK_TWILIO, t_plain_secret,
           (const unsigned char *) t_plain_secret, strlen(t_plain_secret),
           (const unsigned char *) "b=2&a=z&&a=y&c=&d", 17, 0, T_SIG_OK,
           "https://example.com/twilio/sms" "ayazb2cd");
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio: repeated names, empty values, no '=' verify");
    is_rc(t_run(&rq, 1, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio: ... byte by byte");

    t_sign(&rq, INTEGRATIONS_WEBHOOK_TWILIO, t_plain_secret,
           (const unsigned char *) t_plain_secret, strlen(t_plain_secret),
           (const unsigned char *) "", 0, 0, T_SIG_OK,
           "https://example.com/twilio/sms");
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio: empty body signs the URL alone");

    t_sign(&rq, INTEGRATIONS_WEBHOOK_TWILIO, t_plain_secret,
           (const unsigned char *) t_plain_secret, strlen(t_plain_secret),
           (const unsigned char *) "a=%zz", 5, 0, T_SIG_OK,
           "https://example.com/twilio/sms");
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_BODY,
          "twilio: a bad percent-escape is malformed_body");

    rq.max_buffer = 4;
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE,
          "twilio: form over max_buffer is body_too_large");

    /* JSON: bodySHA256 in the query */

    t_twilio_json(&rq, "{\"sid\":\"MM123\"}", q, sizeof(q), url,
                  sizeof(url));
    rq.query = q;
    is_rc(t_run(&rq, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "twilio: JSON body with bodySHA256 verifies");
    is_rc(t_run(&rq, 1, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio: ... byte by byte");

    bad = rq;
    bad.body = (const unsigned char *) "{\"sid\":\"MM124\"}";
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "twilio: JSON body not matching bodySHA256 fails");

    bad = rq;
    n = strlen(q);
    q[n - 1] = q[n - 1] == '0' ? '1' : '0';
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "twilio: another bodySHA256 in the URL fails");
    q[n - 1] = '\0';
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "twilio: a 63-digit bodySHA256 fails");

    bad = rq;
    bad.url = "https://example.com/twilio/sms?x=1";
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "twilio: url= with a query is refused at configuration");
}


static void t_ids_unusable(integrations_webhook_headers_t *h);


/*
 * Twilio's SharedKey signatures (HMAC-SHA256), announced by
 * X-Twilio-Webhooks-Signature-Settings as twilio-node 6.3 reads it.
 */

static void
t_twilio_resign(t_req_t *rq, int sha1, const char *signed_str,
    const char *settings)
{
    size_t          n;
    char            v[128];
    t_hdr_t        *hh;
    unsigned char   mac[32];

    n = t_hmac(sha1, t_plain_secret, strlen(t_plain_secret),
               (const unsigned char *) signed_str, strlen(signed_str), mac);
    t_encode(v, "", mac, n, 0, T_SIG_OK);
    hh = t_find(rq, "X-Twilio-Signature");
    hh->len = snprintf(hh->value, T_VALUE, "%s", v);

    t_del(rq, "X-Twilio-Webhooks-Signature-Settings");

    if (settings != NULL) {
        t_adds(rq, "X-Twilio-Webhooks-Signature-Settings", settings);
    }
}


static void
t_twilio_sha256(void)
{
    size_t          i;
    char            q[256], url[512];
    t_req_t         rq, sha1, bad;
    t_out_t         out;

    static const char  *sk =
        "key=webhooks_sharedkey_01J9Z8,algorithm=HMAC_SHA256";

    static const struct {
        const char  *settings;
        int          rc;
        const char  *what;
    } auto_cases[] = {
        { "key=webhooks_sharedkey_01J9Z8,algorithm=HMAC_SHA256",
          INTEGRATIONS_WEBHOOK_OK, "key=,algorithm=HMAC_SHA256" },
        { "algorithm=HMAC_SHA256", INTEGRATIONS_WEBHOOK_OK,
          "algorithm= alone" },
        { " key = k , algorithm =\thmac_sha256 ", INTEGRATIONS_WEBHOOK_OK,
          "spaces trimmed, the algorithm in any case" },
        { "key=k,algorithm=,algorithm=HMAC_SHA256", INTEGRATIONS_WEBHOOK_OK,
          "an empty algorithm= skipped" },
        { "algorithm=HMAC_SHA256,algorithm=HMAC_SHA1",
          INTEGRATIONS_WEBHOOK_OK, "the first algorithm= counts" },
        { "Algorithm=HMAC_SHA256", INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "\"Algorithm\" is not the parameter: SHA-1" },
        { "key=k", INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "no algorithm=: SHA-1" },
        { "", INTEGRATIONS_WEBHOOK_BAD_SIGNATURE, "empty: SHA-1" },
        { "key=k,algorithm=HMAC_SHA1", INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "announcing SHA-1 over a SHA-256 MAC" },
        { "key=k,algorithm=HMAC_SHA512", INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "HMAC_SHA512" },
        { "key=k,algorithm=HMAC_SHA2567", INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "HMAC_SHA2567" }
    };

    /* a form body, signed with SHA-256 */

    t_sign(&rq, INTEGRATIONS_WEBHOOK_TWILIO, t_plain_secret,
           (const unsigned char *) t_plain_secret, strlen(t_plain_secret),
           (const unsigned char *) t_twilio_body, strlen(t_twilio_body), 0,
           T_SIG_OK, t_twilio_signed);
    sha1 = rq;
    t_twilio_resign(&rq, 0, t_twilio_signed, sk);

    rq.algorithm = INTEGRATIONS_WEBHOOK_ALG_SHA256;
    is_rc(t_run(&rq, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "twilio sha256: a SharedKey delivery verifies");
    is_int(out.secret, 0, "twilio sha256: ... with the secret");
    is_rc(t_run(&rq, 3, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio sha256: ... fed in 3-byte chunks");

    rq.algorithm = INTEGRATIONS_WEBHOOK_ALG_AUTO;
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio auto: a SharedKey delivery verifies");

    rq.algorithm = INTEGRATIONS_WEBHOOK_ALG_DEFAULT;
    is_rc(t_run(&rq, 0, &out), INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "twilio (default sha1): an HMAC_SHA256 delivery: no_known_scheme");
    is_str(integrations_webhook_header_name(out.header),
           "X-Twilio-Webhooks-Signature-Settings",
           "twilio: ... blaming the settings header");
    rq.algorithm = INTEGRATIONS_WEBHOOK_ALG_SHA1;
    is_rc(t_run(&rq, 0, NULL), INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "twilio sha1: an HMAC_SHA256 delivery: no_known_scheme");

    /* the Auth Token's SHA-1, no settings header */

    sha1.algorithm = INTEGRATIONS_WEBHOOK_ALG_AUTO;
    is_rc(t_run(&sha1, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio auto: a SHA-1 delivery without the header verifies");
    sha1.algorithm = INTEGRATIONS_WEBHOOK_ALG_SHA256;
    is_rc(t_run(&sha1, 0, &out), INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
          "twilio sha256: a SHA-1 delivery: no_known_scheme");
    bad = sha1;
    t_adds(&bad, "X-Twilio-Webhooks-Signature-Settings",
           "key=k,algorithm=HMAC_SHA1");
    bad.algorithm = INTEGRATIONS_WEBHOOK_ALG_AUTO;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio auto: SHA-1 announced as HMAC_SHA1 verifies");
    bad.algorithm = INTEGRATIONS_WEBHOOK_ALG_SHA1;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio sha1: ... and with algorithm=sha1");

    /* how the header is read */

    for (i = 0; i < sizeof(auto_cases) / sizeof(auto_cases[0]); i++) {
        bad = rq;
        t_twilio_resign(&bad, 0, t_twilio_signed, auto_cases[i].settings);
        bad.algorithm = INTEGRATIONS_WEBHOOK_ALG_AUTO;
        is_rc(t_run(&bad, 0, NULL), auto_cases[i].rc,
              "twilio auto, %s", auto_cases[i].what);
    }

    bad = rq;
    t_adds(&bad, "x-twilio-webhooks-signature-settings", sk);
    bad.algorithm = INTEGRATIONS_WEBHOOK_ALG_AUTO;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "twilio auto: a repeated settings header is malformed");

    bad = rq;
    t_twilio_resign(&bad, 0,
                    "https://example.com/twilio/sms"
                    "Bodyhi thereFrom+15005550006To+15005550002", sk);
    bad.algorithm = INTEGRATIONS_WEBHOOK_ALG_AUTO;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "twilio auto: SHA-256 over other parameters fails");

    /* a JSON body: bodySHA256, and the URL signed with SHA-256 */

    t_twilio_json(&bad, "{\"sid\":\"MM123\"}", q, sizeof(q), url,
                  sizeof(url));
    t_twilio_resign(&bad, 0, url, sk);
    bad.query = q;
    bad.algorithm = INTEGRATIONS_WEBHOOK_ALG_AUTO;
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_OK,
          "twilio auto: a JSON body signed with SHA-256 verifies");
    bad.body = (const unsigned char *) "{\"sid\":\"MM124\"}";
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "twilio auto: ... another body fails");

    /* configuration */

    t_signed(&bad, INTEGRATIONS_WEBHOOK_STRIPE, t_now, T_SIG_OK);
    bad.algorithm = INTEGRATIONS_WEBHOOK_ALG_SHA256;
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "config: algorithm= is refused for stripe");
    bad = rq;
    bad.algorithm = (integrations_webhook_alg_e) 9;
    is_rc(t_run(&bad, 0, NULL), T_RC_NONE,
          "config: an unknown algorithm is refused");
}


/* t/vectors/twilio.json: made by twilio-node 6.3.1 itself */

static void
t_twilio_sdk_vectors(void)
{
    int            alg;
    size_t         i, len;
    char          *text, errbuf[256];
    const char    *path[2], *name, *url, *query, *body, *secret, *want;
    yajl_val       root, list, vec, hdrs;
    t_req_t        rq;

    static const int  algs[] = {
        INTEGRATIONS_WEBHOOK_ALG_DEFAULT, INTEGRATIONS_WEBHOOK_ALG_SHA256,
        INTEGRATIONS_WEBHOOK_ALG_AUTO
    };

    text = tap_slurp("t/vectors/twilio.json", &len);
    ok(text != NULL, "twilio SDK vectors: t/vectors/twilio.json read");
    if (text == NULL) {
        return;
    }

    root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
    path[0] = "vectors";
    path[1] = NULL;
    list = root ? yajl_tree_get(root, path, yajl_t_array) : NULL;
    ok(list != NULL && YAJL_GET_ARRAY(list)->len >= 3,
       "twilio SDK vectors: three or more");

    for (i = 0; list != NULL && i < YAJL_GET_ARRAY(list)->len; i++) {
        vec = YAJL_GET_ARRAY(list)->values[i];
        name = t_json_str(vec, "name");
        url = t_json_str(vec, "url");
        query = t_json_str(vec, "query");
        body = t_json_str(vec, "body");
        secret = t_json_str(vec, "secret");
        want = t_json_str(vec, "algorithm");
        path[0] = "headers";
        hdrs = yajl_tree_get(vec, path, yajl_t_object);

        if (!name || !url || !query || !body || !secret || !want || !hdrs) {
            ok(0, "twilio SDK vector %zu: complete", i);
            continue;
        }

        for (alg = 0; alg < 3; alg++) {
            size_t  k;

            memset(&rq, 0, sizeof(rq));
            rq.provider = INTEGRATIONS_WEBHOOK_TWILIO;
            rq.url = url;
            rq.query = query;
            rq.body = (const unsigned char *) body;
            rq.body_len = strlen(body);
            rq.now = t_now;
            rq.algorithm = algs[alg];
            t_secret(&rq, "not-this-one");
            t_secret(&rq, secret);

            for (k = 0; k < YAJL_GET_OBJECT(hdrs)->len; k++) {
                t_adds(&rq, YAJL_GET_OBJECT(hdrs)->keys[k],
                       YAJL_GET_STRING(YAJL_GET_OBJECT(hdrs)->values[k]));
            }

            if (algs[alg] == INTEGRATIONS_WEBHOOK_ALG_AUTO
                || (algs[alg] == INTEGRATIONS_WEBHOOK_ALG_SHA256)
                   == (strcmp(want, "HMAC_SHA256") == 0))
            {
                is_rc(t_run(&rq, 5, NULL), INTEGRATIONS_WEBHOOK_OK,
                      "twilio SDK vector %s, algorithm %d: verifies", name,
                      algs[alg]);
            } else {
                is_rc(t_run(&rq, 0, NULL),
                      INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
                      "twilio SDK vector %s, algorithm %d: no_known_scheme",
                      name, algs[alg]);
            }
        }
    }

    yajl_tree_free(root);
    free(text);
}


/*
 * Shopify's newer event webhooks: shopify-hmac-sha256 and
 * shopify-webhook-id, alone or beside the X-Shopify-* names.
 */

static void
t_shopify_events(void)
{
    t_req_t   rq, bad;
    t_out_t   out;
    t_hdr_t  *hh;
    char      mac[T_VALUE];

    static const char  *wid = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043";

    t_signed(&rq, INTEGRATIONS_WEBHOOK_SHOPIFY, 0, T_SIG_OK);
    hh = t_find(&rq, "X-Shopify-Hmac-Sha256");
    snprintf(mac, sizeof(mac), "%.*s", (int) hh->len, hh->value);

    bad = rq;
    t_del(&bad, "X-Shopify-Hmac-Sha256");
    t_del(&bad, "X-Shopify-Webhook-Id");
    t_adds(&bad, "shopify-hmac-sha256", mac);
    t_adds(&bad, "shopify-webhook-id", wid);
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "shopify: shopify-hmac-sha256 alone verifies");
    is_int(out.id_rc, INTEGRATIONS_WEBHOOK_ID_FOUND,
           "shopify: shopify-webhook-id is the id");
    is_str(out.id.field, "shopify-webhook-id", "shopify: ... so named");

    t_adds(&bad, "X-Shopify-Hmac-Sha256", mac);
    t_adds(&bad, "X-Shopify-Webhook-Id", wid);
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "shopify: both names, one value, verify");
    is_int(out.id_rc, INTEGRATIONS_WEBHOOK_ID_FOUND,
           "shopify: both id names, one value: the id");

    hh = t_find(&bad, "X-Shopify-Webhook-Id");
    hh->value[0] = 'c';
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_OK,
          "shopify: two id values: the signature still verifies");
    is_int(out.id_rc, INTEGRATIONS_WEBHOOK_ID_INVALID,
           "shopify: ... but there is no usable id");
    is_str(out.id.field, "shopify-webhook-id", "shopify: ... naming it");
    hh->value[0] = 'b';

    hh = t_find(&bad, "shopify-hmac-sha256");
    hh->value[0] = hh->value[0] == 'A' ? 'B' : 'A';
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "shopify: two HMAC values (the X- one good) are malformed");
    is_str(integrations_webhook_header_name(out.header),
           "shopify-hmac-sha256", "shopify: ... blaming shopify-hmac-sha256");

    t_del(&bad, "X-Shopify-Hmac-Sha256");
    t_adds(&bad, "X-Shopify-Hmac-Sha256", "AAAA");
    hh = t_find(&bad, "shopify-hmac-sha256");
    hh->len = snprintf(hh->value, T_VALUE, "%s", mac);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "shopify: two HMAC values (the new one good) are malformed");

    bad = rq;
    t_adds(&bad, "shopify-hmac-sha256", mac);
    t_adds(&bad, "Shopify-Hmac-Sha256", mac);
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
          "shopify: shopify-hmac-sha256 twice is malformed");

    bad = rq;
    t_del(&bad, "X-Shopify-Hmac-Sha256");
    is_rc(t_run(&bad, 0, &out), INTEGRATIONS_WEBHOOK_MISSING_HEADER,
          "shopify: neither name: missing_header");
    is_str(integrations_webhook_header_name(out.header),
           "X-Shopify-Hmac-Sha256", "shopify: ... naming the X- one");

    bad = rq;
    hh = t_find(&bad, "X-Shopify-Hmac-Sha256");
    hh->value[0] = hh->value[0] == 'A' ? 'B' : 'A';
    hh->name = "shopify-hmac-sha256";
    is_rc(t_run(&bad, 0, NULL), INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
          "shopify: a bad shopify-hmac-sha256 alone is bad_signature");
}


static void
t_event_ids(void)
{
    t_req_t   rq;
    t_out_t   out;
    integrations_webhook_headers_t   h;
    integrations_webhook_event_id_t  id;
    const char  *b;

#define T_ID(p, exp, src, what)                                               \
    do {                                                                      \
        t_signed(&rq, p, t_now, T_SIG_OK);                                    \
        is_rc(t_run(&rq, 1, &out), INTEGRATIONS_WEBHOOK_OK,                   \
              "%s id: request verifies", what);                               \
        is_int(out.id_rc, 0, "%s id: found", what);                           \
        out.id.data[out.id.len < INTEGRATIONS_WEBHOOK_EVENT_ID_MAX            \
                    ? out.id.len : 0] = '\0';                                 \
        is_str((char *) out.id.data, exp, "%s id is %s", what, exp);          \
        is_int(out.id.source, src, "%s id source", what);                     \
    } while (0)

    T_ID(INTEGRATIONS_WEBHOOK_STRIPE, "evt_1", INTEGRATIONS_WEBHOOK_ID_BODY,
         "stripe");
    T_ID(INTEGRATIONS_WEBHOOK_STANDARD, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
         INTEGRATIONS_WEBHOOK_ID_HEADER, "standard");
    T_ID(INTEGRATIONS_WEBHOOK_TOSS, "wh_01J7AB",
         INTEGRATIONS_WEBHOOK_ID_HEADER, "toss");
    T_ID(INTEGRATIONS_WEBHOOK_COINBASE, "cb-1", INTEGRATIONS_WEBHOOK_ID_BODY,
         "coinbase");
    T_ID(INTEGRATIONS_WEBHOOK_SQUARE, "sq-1", INTEGRATIONS_WEBHOOK_ID_BODY,
         "square");
    T_ID(INTEGRATIONS_WEBHOOK_GITHUB, "72d3162e-cc78-11e3-81ab-4c9367dc0958",
         INTEGRATIONS_WEBHOOK_ID_HEADER, "github");
    T_ID(INTEGRATIONS_WEBHOOK_SHOPIFY, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
         INTEGRATIONS_WEBHOOK_ID_HEADER, "shopify");
    T_ID(INTEGRATIONS_WEBHOOK_TWILIO, "5b4f6b8e-1e44-4c4d-9a4c-2d0f5f2d8c11",
         INTEGRATIONS_WEBHOOK_ID_HEADER, "twilio");

    /* Slack: t_body has no event_id member at top level... it has: */
    T_ID(INTEGRATIONS_WEBHOOK_SLACK, "sq-1", INTEGRATIONS_WEBHOOK_ID_BODY,
         "slack (Events API event_id)");

#undef T_ID

    /* Slack slash command: form body, no id: ts ":" signature */

    integrations_webhook_headers_init(&h);
    integrations_webhook_headers_add(&h,
        (const unsigned char *) "X-Slack-Request-Timestamp", 25,
        (const unsigned char *) "1531420618", 10);
    integrations_webhook_headers_add(&h,
        (const unsigned char *) "x-slack-signature", 17,
        (const unsigned char *) "v0=a2114d57", 11);
    b = "token=x&text=";
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_SLACK, &h,
                                         (const unsigned char *) b,
                                         strlen(b), &id),
           0, "slack: a form body has a derived id");
    id.data[id.len] = '\0';
    is_str((char *) id.data, "1531420618:v0=a2114d57",
           "slack: derived id is ts:signature");
    is_int(id.source, INTEGRATIONS_WEBHOOK_ID_DERIVED,
           "slack: its source says derived");

    /* Coinbase: event.id first, then the top-level id (a number) */

    b = "{\"id\":12345,\"scheduled_for\":\"x\",\"event\":{\"data\":{\"id\":"
        "\"inner\"},\"id\":\"f47ac10b\"}}";
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_COINBASE, &h,
                                         (const unsigned char *) b,
                                         strlen(b), &id),
           0, "coinbase: event.id found past a nested data.id");
    id.data[id.len] = '\0';
    is_str((char *) id.data, "f47ac10b", "coinbase: it is event.id");

    b = "{\"id\":12345,\"event\":\"none\"}";
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_COINBASE, &h,
                                         (const unsigned char *) b,
                                         strlen(b), &id),
           0, "coinbase: falls back to the top-level id");
    id.data[id.len] = '\0';
    is_str((char *) id.data, "12345", "coinbase: a numeric id is its digits");

    /* Stripe: nested "id"s are not the event's; a cut prefix finds none */

    b = "{\"data\":{\"object\":{\"id\":\"pi_1\"}},\"id\":\"evt_2\"}";
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_STRIPE, &h,
                                         (const unsigned char *) b,
                                         strlen(b), &id),
           0, "stripe: id after a nested one");
    id.data[id.len] = '\0';
    is_str((char *) id.data, "evt_2", "stripe: the top-level one");

    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_STRIPE, &h,
                                         (const unsigned char *) b,
                                         strlen(b) - 5, &id),
           -1, "stripe: a prefix cut inside the id finds none");

    t_ids_unusable(&h);

    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_GITHUB, &h,
                                         NULL, 0, &id),
           -1, "github: no X-GitHub-Delivery, no id");

    integrations_webhook_headers_add(&h,
        (const unsigned char *) "X-GitHub-Delivery", 17,
        (const unsigned char *) "a", 1);
    integrations_webhook_headers_add(&h,
        (const unsigned char *) "X-GitHub-Delivery", 17,
        (const unsigned char *) "b", 1);
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_GITHUB, &h,
                                         NULL, 0, &id),
           INTEGRATIONS_WEBHOOK_ID_INVALID,
           "github: a duplicated X-GitHub-Delivery is an unusable id");
    is_str(id.field, "X-GitHub-Delivery", "github: ... naming the header");
}


/*
 * Ids that are there but cannot serve (issue 8): never cut or cleaned
 * into another event's id, and told apart from a delivery without one.
 */

static void
t_ids_unusable(integrations_webhook_headers_t *h)
{
    size_t                           i;
    char                             big[400];
    integrations_webhook_event_id_t  id;

    static const struct {
        const char  *body;
        size_t       len;           /* 0: strlen */
        int          rc;
        const char  *id;
        const char  *what;
    } cases[] = {
        { "{\"id\":\"evt_1\\u0000x\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "an escaped NUL" },
        { "{\"id\":\"evt_1\0x\"}", 16, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "a raw NUL" },
        { "{\"id\":\"evt_1\001\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "a raw control character" },
        { "{\"id\":\"evt_1\\n\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "an escaped newline" },
        { "{\"id\":\"evt_1\\t\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "an escaped tab" },
        { "{\"id\":\"evt 1\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID, NULL,
          "a space" },
        { "{\"id\":\"evt_\\u0020\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "an escaped space" },
        { "{\"id\":\"evt_\xc3\xa9\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "UTF-8" },
        { "{\"id\":\"evt_\\u00e9\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "an escaped non-ASCII character" },
        { "{\"id\":\"evt_\\ud83d\\ude00\"}", 0,
          INTEGRATIONS_WEBHOOK_ID_INVALID, NULL, "a surrogate pair" },
        { "{\"id\":\"evt_\\u00zz\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "a bad \\u escape" },
        { "{\"id\":\"evt_\\x41\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID,
          NULL, "an escape JSON has not" },
        { "{\"id\":\"\"}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID, NULL,
          "an empty string" },
        { "{\"id\":null}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID, NULL, "null" },
        { "{\"id\":{\"x\":1}}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID, NULL,
          "an object" },
        { "{\"id\":1.5}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID, NULL,
          "a fraction" },
        { "{\"id\":-,\"x\":1}", 0, INTEGRATIONS_WEBHOOK_ID_INVALID, NULL,
          "a lone '-'" },
        { "{\"id\":\"evt_\\u0031\"}", 0, INTEGRATIONS_WEBHOOK_ID_FOUND,
          "evt_1", "\\u0031: decoded" },
        { "{\"id\":\"a\\/b\\\"c\\\\d\"}", 0, INTEGRATIONS_WEBHOOK_ID_FOUND,
          "a/b\"c\\d", "\\/ \\\" \\\\: decoded" },
        { "{\"\\u0069d\":\"evt_3\"}", 0, INTEGRATIONS_WEBHOOK_ID_FOUND,
          "evt_3", "a member name written with escapes" },
        { "{\"type\":\"x\"}", 0, INTEGRATIONS_WEBHOOK_ID_NONE, NULL,
          "no id member" },
        { "{\"id\":\"evt_1\\u00", 0, INTEGRATIONS_WEBHOOK_ID_NONE, NULL,
          "an escape cut by the end of the prefix" },
        { "{\"id\":12", 0, INTEGRATIONS_WEBHOOK_ID_NONE, NULL,
          "an integer cut by the end of the prefix" },
        { "not json", 0, INTEGRATIONS_WEBHOOK_ID_NONE, NULL, "no JSON" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&id, 0, sizeof(id));

        is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_STRIPE, h,
                   (const unsigned char *) cases[i].body,
                   cases[i].len ? cases[i].len : strlen(cases[i].body), &id),
               cases[i].rc, "stripe id, %s: %s", cases[i].what,
               cases[i].rc == INTEGRATIONS_WEBHOOK_ID_FOUND ? "found"
               : cases[i].rc == INTEGRATIONS_WEBHOOK_ID_NONE ? "none"
               : "unusable");

        if (cases[i].id != NULL) {
            ok(id.len == strlen(cases[i].id)
               && memcmp(id.data, cases[i].id, id.len) == 0,
               "stripe id, %s: is %s", cases[i].what, cases[i].id);
        }

        if (cases[i].rc == INTEGRATIONS_WEBHOOK_ID_INVALID) {
            is_str(id.field, "id", "stripe id, %s: the field is named",
                   cases[i].what);
        }
    }

    /* 255 bytes is an id, 256 is not; nor decoded past 255 */

    memset(big, 'a', sizeof(big));
    memcpy(big, "{\"id\":\"", 7);
    memcpy(big + 7 + 255, "\"}", 3);
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_STRIPE, h,
                                         (const unsigned char *) big,
                                         strlen(big), &id),
           INTEGRATIONS_WEBHOOK_ID_FOUND, "stripe: a 255-byte id is one");
    big[7 + 255] = 'a';
    memcpy(big + 7 + 256, "\"}", 3);
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_STRIPE, h,
                                         (const unsigned char *) big,
                                         strlen(big), &id),
           INTEGRATIONS_WEBHOOK_ID_INVALID, "stripe: a 256-byte id is not");
    memcpy(big + 7 + 250, "\\u0061\"}", 9);
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_STRIPE, h,
                                         (const unsigned char *) big,
                                         strlen(big), &id),
           INTEGRATIONS_WEBHOOK_ID_FOUND,
           "stripe: 250 bytes and one escape decode to 251");
    memset(big + 7, 'a', 300);
    memcpy(big + 7 + 250, "\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\"}",
           39);
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_STRIPE, h,
                                         (const unsigned char *) big,
                                         strlen(big), &id),
           INTEGRATIONS_WEBHOOK_ID_INVALID,
           "stripe: escapes decoding past 255 bytes are not an id");

    /* Coinbase: an unusable event.id is not replaced by the top-level id */

    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_COINBASE, h,
               (const unsigned char *)
               "{\"id\":\"top\",\"event\":{\"id\":\"cb\\u0000\"}}",
               38, &id),
           INTEGRATIONS_WEBHOOK_ID_INVALID,
           "coinbase: an unusable event.id is unusable, no fallback");
    is_str(id.field, "event.id", "coinbase: ... naming event.id");

    /* Square, Slack: their field's name */

    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_SQUARE, h,
               (const unsigned char *) "{\"event_id\":\"a\\u0000\"}", 22,
               &id),
           INTEGRATIONS_WEBHOOK_ID_INVALID, "square: an unusable event_id");
    is_str(id.field, "event_id", "square: ... naming event_id");
    is_int(integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_SLACK, h,
               (const unsigned char *) "{\"event_id\":\"Ev 1\"}", 19, &id),
           INTEGRATIONS_WEBHOOK_ID_INVALID,
           "slack: an unusable event_id is not replaced by ts:signature");
}


static void
t_names(void)
{
    int          i;
    const char  *want[] = {
        "ok", "missing_header", "malformed_header", "no_known_scheme",
        "bad_signature", "timestamp_out_of_tolerance", "unsigned",
        "malformed_body", "body_too_large", "internal_error",
        "too_many_signatures"
    };

    for (i = 0; i < INTEGRATIONS_WEBHOOK_RC_MAX; i++) {
        is_str(integrations_webhook_reason_str(i), want[i],
               "reason %d is %s", i, want[i]);
    }

    is_str(integrations_webhook_reason_str(99), "internal_error",
           "an unknown rc is internal_error");

    for (i = 0; i < INTEGRATIONS_WEBHOOK_PROVIDER_MAX; i++) {
        const char  *n = integrations_webhook_provider_name(i);

        is_int(integrations_webhook_provider_by_name(
                   (const unsigned char *) n, strlen(n)),
               i, "provider %s round-trips", n);
    }

    is_int(integrations_webhook_provider_by_name(
               (const unsigned char *) "stripex", 6),
           INTEGRATIONS_WEBHOOK_STRIPE, "a name is taken by its length");
    is_int(integrations_webhook_provider_by_name(
               (const unsigned char *) "paypal", 6),
           INTEGRATIONS_WEBHOOK_PROVIDER_MAX, "paypal is not (yet) known");

    ok(integrations_webhook_header_name(INTEGRATIONS_WEBHOOK_H_MAX) == NULL,
       "no name past the last header");
}


static void
t_config(void)
{
    char                             err[256];
    integrations_webhook_params_t    p;
    integrations_webhook_secret_t    s[INTEGRATIONS_WEBHOOK_MAX_SECRETS + 1];
    integrations_webhook_verifier_t *v;
    int                              i;

    for (i = 0; i <= INTEGRATIONS_WEBHOOK_MAX_SECRETS; i++) {
        s[i].data = (const unsigned char *) "k";
        s[i].len = 1;
        s[i].kind = INTEGRATIONS_WEBHOOK_SECRET_AUTO;
    }

    memset(&p, 0, sizeof(p));
    p.provider = INTEGRATIONS_WEBHOOK_GITHUB;
    p.secrets = s;

    v = integrations_webhook_verifier_create(&p, err, sizeof(err));
    ok(v == NULL && strstr(err, "no secret") != NULL,
       "config: no secret refused (%s)", err);

    p.nsecrets = INTEGRATIONS_WEBHOOK_MAX_SECRETS + 1;
    v = integrations_webhook_verifier_create(&p, err, sizeof(err));
    ok(v == NULL, "config: too many secrets refused (%s)", err);

    p.nsecrets = INTEGRATIONS_WEBHOOK_MAX_SECRETS;
    v = integrations_webhook_verifier_create(&p, err, sizeof(err));
    ok(v != NULL, "config: %d secrets taken",
       INTEGRATIONS_WEBHOOK_MAX_SECRETS);
    integrations_webhook_verifier_free(v);

    s[2].len = 0;
    v = integrations_webhook_verifier_create(&p, err, sizeof(err));
    ok(v == NULL && strncmp(err, "secret 3:", 9) == 0,
       "config: an empty secret is named by position (%s)", err);
    s[2].len = 1;

    p.tolerance = -1;
    v = integrations_webhook_verifier_create(&p, err, sizeof(err));
    ok(v == NULL, "config: negative tolerance refused (%s)", err);

    p.tolerance = 0;
    p.provider = INTEGRATIONS_WEBHOOK_PROVIDER_MAX;
    v = integrations_webhook_verifier_create(&p, err, sizeof(err));
    ok(v == NULL, "config: unknown provider refused (%s)", err);

    integrations_webhook_verifier_free(NULL);
    integrations_webhook_cleanup(NULL);
    ok(1, "free(NULL) and cleanup(NULL) are no-ops");
}


static void
t_zeroed_ctx(void)
{
    integrations_webhook_ctx_t  ctx;

    memset(&ctx, 0, sizeof(ctx));

    is_rc(integrations_webhook_update(&ctx, "x", 1),
          INTEGRATIONS_WEBHOOK_INTERNAL_ERROR,
          "update() on a ctx never initialised is internal_error");
    integrations_webhook_cleanup(&ctx);
    ok(ctx.state == NULL, "cleanup() on it is harmless");
}


int
main(void)
{
    size_t          i;
    const t_prov_t  provs[] = {
        { INTEGRATIONS_WEBHOOK_STRIPE, "Stripe-Signature", "t=" },
        { INTEGRATIONS_WEBHOOK_STANDARD, "webhook-signature",
          "webhook-timestamp" },
        { INTEGRATIONS_WEBHOOK_TOSS, "tosspayments-webhook-signature", NULL },
        { INTEGRATIONS_WEBHOOK_COINBASE, "X-CC-Webhook-Signature", NULL },
        { INTEGRATIONS_WEBHOOK_SQUARE, "x-square-hmacsha256-signature",
          NULL },
        { INTEGRATIONS_WEBHOOK_SLACK, "X-Slack-Signature",
          "X-Slack-Request-Timestamp" },
        { INTEGRATIONS_WEBHOOK_GITHUB, "X-Hub-Signature-256", NULL },
        { INTEGRATIONS_WEBHOOK_SHOPIFY, "X-Shopify-Hmac-Sha256", NULL },
        { INTEGRATIONS_WEBHOOK_TWILIO, "X-Twilio-Signature", NULL }
    };

    for (i = 0; i < sizeof(t_standard_key); i++) {
        t_standard_key[i] = (unsigned char) i;
    }

    memcpy(t_standard_secret, "whsec_", 6);
    t_standard_secret[6 + integrations_codec_base64_encode(
                              (unsigned char *) t_standard_secret + 6,
                              t_standard_key, sizeof(t_standard_key))] = '\0';

    t_vectors();

    for (i = 0; i < sizeof(provs) / sizeof(provs[0]); i++) {
        t_provider(&provs[i]);
    }

    t_stripe();
    t_standard();
    t_standard_ed25519();
    t_toss();
    t_single();
    t_twilio();
    t_twilio_sha256();
    t_twilio_sdk_vectors();
    t_shopify_events();
    t_event_ids();
    t_names();
    t_config();
    t_zeroed_ctx();

    return done_testing();
}
