/*
 * Inbound webhook signature verification: the pure core, free of nginx.
 *
 * Life cycle, as the glue drives it:
 *
 *   configuration time, once per webhook_verify directive:
 *       v = integrations_webhook_verifier_create(&params, err, sizeof(err));
 *       (register integrations_webhook_verifier_free(v) as a cf->pool
 *       cleanup; the secrets may be cleansed right after create)
 *
 *   per request, access phase:
 *       integrations_webhook_headers_init(&h);
 *       for each request header:
 *           integrations_webhook_headers_add(&h, name, nlen, value, vlen);
 *       (register integrations_webhook_cleanup(&ctx) as an r->pool cleanup)
 *       rc = integrations_webhook_init(&ctx, v, &h, args, args_len, now);
 *       if rc == OK: (integrations_webhook_ctx_skip_id_prefix(&ctx) when
 *                    the body is one buffer in memory, see below)
 *                    for each body chunk (memory buffer or file read),
 *                        rc = integrations_webhook_update(&ctx, p, n);
 *                    rc = integrations_webhook_final(&ctx);
 *       rc != OK: respond with the reason, see integrations_webhook_rc_e.
 *
 * The body is MACed incrementally, chunk by chunk, with one HMAC context
 * per (secret x signed-bytes variant).  Three cases need the whole body in
 * memory, and buffer it up to params.max_buffer bytes:
 *   - Standard Webhooks "v1a" (Ed25519): OpenSSL has no streaming
 *     Ed25519 (PureEdDSA hashes the message twice), so id.ts.body is
 *     verified in one shot at final;
 *   - Twilio form bodies: the signed string is made of the POST
 *     parameters, decoded and sorted;
 *   - an unsigned Toss delivery: its "eventType" is checked (see below).
 *
 * Per provider (signed bytes; MAC and key; encoding; time check):
 *
 *   stripe    Stripe-Signature: t=TS,v1=HEX[,v1=HEX...]; other schemes
 *             (v0) ignored, no v1 at all is NO_KNOWN_SCHEME.
 *             TS "." body; HMAC-SHA256 keyed with the whole "whsec_..."
 *             string; hex; |now - TS| <= tolerance.
 *   standard  webhook-id, webhook-timestamp, webhook-signature, or the
 *             same three as svix-*; when both sets are sent, each must be
 *             well formed and in time, and either may verify.
 *             ID "." TS "." body; signature list "v1,B64 v1a,B64 ...";
 *             v1: HMAC-SHA256 keyed with base64-decode(secret less an
 *             optional "whsec_"); v1a: Ed25519 with a 32-byte public key
 *             given as a secret of kind ED25519_PUBLIC, or any secret
 *             starting "whpk_" (base64 of the raw key follows);
 *             |now - TS| <= tolerance.
 *   toss      tosspayments-webhook-signature: v1:B64[,v1:B64] and
 *             tosspayments-webhook-transmission-time.
 *             body ":" TIME; HMAC-SHA256 keyed with the security key as
 *             its ASCII text (key_form ascii) or hex-decoded (key_form
 *             hex), Toss's documentation leaving it open; no time check.
 *             No signature header at all is UNSIGNED (Toss signs only
 *             payout.changed and seller.changed) unless the body's
 *             top-level "eventType" is one of those two, is written with
 *             escapes, or cannot be read: then the missing signature is
 *             MISSING_HEADER, so that unsigned=allow never lets a forged
 *             payout through.
 *   coinbase  X-CC-Webhook-Signature: HEX.  body; HMAC-SHA256; no time.
 *   square    x-square-hmacsha256-signature: B64.  URL body, URL being
 *             params.url (the notification URL as configured with
 *             Square, never rebuilt from request headers); HMAC-SHA256
 *             with the key as ASCII; no time check.
 *   slack     X-Slack-Signature: v0=HEX, X-Slack-Request-Timestamp.
 *             "v0:" TS ":" body; HMAC-SHA256; |now - TS| <= tolerance.
 *   github    X-Hub-Signature-256: sha256=HEX.  body; HMAC-SHA256.
 *   shopify   X-Shopify-Hmac-Sha256: B64, or shopify-hmac-sha256 (the
 *             unprefixed name of Shopify's newer event webhooks, which
 *             @shopify/shopify-api 13 prefers); both may come only with
 *             the same value.  body; HMAC-SHA256.
 *   twilio    X-Twilio-Signature: B64, HMAC-SHA1 (the Auth Token) or
 *             HMAC-SHA256 (a SharedKey) as params.algorithm says (see
 *             integrations_webhook_alg_e); a SharedKey signature is
 *             announced by X-Twilio-Webhooks-Signature-Settings:
 *             key=ID,algorithm=NAME, read as twilio-node 6.3's
 *             getSignatureAlgorithm() reads it (no header, or no
 *             algorithm=, is HMAC_SHA1).  The MAC covers the URL, which is
 *             params.url (the public URL Twilio calls, without a query)
 *             plus "?" and the request's own query string as given to
 *             init() when it has one; followed, for a form body, by every
 *             POST parameter percent-decoded ("+" is a space) and sorted by
 *             name then value (bytewise), as name + value with no
 *             separator.  When the URL's query has bodySHA256=HEX (JSON
 *             bodies), the signature covers the URL alone and the
 *             SHA-256 of the raw body must equal HEX.  As Twilio's own
 *             validators do, the URL is tried with its port removed and
 *             with the scheme's default port added.
 *
 * Every provider takes several secrets (rotation): a request passes when
 * any secret verifies any of its signatures.  Signatures are decoded
 * first and compared as bytes with CRYPTO_memcmp; one that does not
 * decode, or decodes to the wrong length, is a candidate that cannot
 * match.  The expected MAC never leaves the final call.
 *
 * Checks run in this order: header presence and syntax (init), then the
 * signature (final), then the time: a stale request with a valid
 * signature is TIMESTAMP_OUT_OF_TOLERANCE (a replay), one with a bad
 * signature is BAD_SIGNATURE whatever its timestamp.
 */

#ifndef INTEGRATIONS_WEBHOOK_H
#define INTEGRATIONS_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>


#define INTEGRATIONS_WEBHOOK_DEFAULT_TOLERANCE   300        /* seconds */
#define INTEGRATIONS_WEBHOOK_DEFAULT_MAX_BUFFER  (1024 * 1024)

#define INTEGRATIONS_WEBHOOK_MAX_SECRETS         8

/*
 * Signatures of a known scheme in one header (Stripe's v1, Standard's v1
 * and v1a, Toss's v1); more is TOO_MANY_SIGNATURES.  A provider sends one
 * per live secret: two while a rolled secret expires (Stripe keeps the
 * old one up to 24 hours, see README), more only if secrets are rolled
 * again and again inside that window.  32 covers a roll every hour for a
 * day, and still bounds the work a forged header can ask for.
 */
#define INTEGRATIONS_WEBHOOK_MAX_SIGNATURES      32
#define INTEGRATIONS_WEBHOOK_MAX_URL             8192
#define INTEGRATIONS_WEBHOOK_EVENT_ID_MAX        255

/* Body bytes kept by the ctx for integrations_webhook_ctx_event_id(). */
#define INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX       16384


typedef enum {
    INTEGRATIONS_WEBHOOK_STRIPE = 0,
    INTEGRATIONS_WEBHOOK_STANDARD,
    INTEGRATIONS_WEBHOOK_TOSS,
    INTEGRATIONS_WEBHOOK_COINBASE,
    INTEGRATIONS_WEBHOOK_SQUARE,
    INTEGRATIONS_WEBHOOK_SLACK,
    INTEGRATIONS_WEBHOOK_GITHUB,
    INTEGRATIONS_WEBHOOK_SHOPIFY,
    INTEGRATIONS_WEBHOOK_TWILIO,
    INTEGRATIONS_WEBHOOK_PROVIDER_MAX
} integrations_webhook_provider_e;


/*
 * Verdicts.  The glue answers 401 for MISSING_HEADER .. UNSIGNED, for
 * MALFORMED_BODY and TOO_MANY_SIGNATURES, 413 for BODY_TOO_LARGE, 500 for
 * INTERNAL_ERROR.
 */
typedef enum {
    INTEGRATIONS_WEBHOOK_OK = 0,
    INTEGRATIONS_WEBHOOK_MISSING_HEADER,       /* ctx.header says which */
    INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,     /* ctx.header; or duplicated */
    INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,      /* e.g. Stripe v0 only */
    INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
    INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE,
    INTEGRATIONS_WEBHOOK_UNSIGNED,             /* Toss, no signature sent */
    INTEGRATIONS_WEBHOOK_MALFORMED_BODY,       /* Twilio form encoding */
    INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE,       /* over params.max_buffer */
    INTEGRATIONS_WEBHOOK_INTERNAL_ERROR,       /* allocation or OpenSSL */
    INTEGRATIONS_WEBHOOK_TOO_MANY_SIGNATURES,  /* ctx.header; over
                                                  MAX_SIGNATURES */
    INTEGRATIONS_WEBHOOK_RC_MAX
} integrations_webhook_rc_e;


/*
 * Header slots.  The glue hands every request header to
 * integrations_webhook_headers_add(), which files the ones below (names
 * matched without regard to case) and counts repeats: a header a provider
 * reads that came more than once is MALFORMED_HEADER, since a proxy and a
 * backend may disagree on which copy counts.
 */
typedef enum {
    INTEGRATIONS_WEBHOOK_H_STRIPE_SIGNATURE = 0,
    INTEGRATIONS_WEBHOOK_H_WEBHOOK_ID,
    INTEGRATIONS_WEBHOOK_H_WEBHOOK_TIMESTAMP,
    INTEGRATIONS_WEBHOOK_H_WEBHOOK_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_SVIX_ID,
    INTEGRATIONS_WEBHOOK_H_SVIX_TIMESTAMP,
    INTEGRATIONS_WEBHOOK_H_SVIX_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_TOSS_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_TOSS_TRANSMISSION_TIME,
    INTEGRATIONS_WEBHOOK_H_TOSS_TRANSMISSION_ID,
    INTEGRATIONS_WEBHOOK_H_COINBASE_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_SQUARE_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_SLACK_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_SLACK_TIMESTAMP,
    INTEGRATIONS_WEBHOOK_H_GITHUB_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_GITHUB_DELIVERY,
    INTEGRATIONS_WEBHOOK_H_SHOPIFY_HMAC,
    INTEGRATIONS_WEBHOOK_H_SHOPIFY_WEBHOOK_ID,
    INTEGRATIONS_WEBHOOK_H_TWILIO_SIGNATURE,
    INTEGRATIONS_WEBHOOK_H_TWILIO_IDEMPOTENCY,
    INTEGRATIONS_WEBHOOK_H_SHOPIFY_EVENTS_HMAC,       /* shopify-hmac-sha256 */
    INTEGRATIONS_WEBHOOK_H_SHOPIFY_EVENTS_WEBHOOK_ID, /* shopify-webhook-id */
    INTEGRATIONS_WEBHOOK_H_TWILIO_SIGNATURE_SETTINGS,
    INTEGRATIONS_WEBHOOK_H_MAX
} integrations_webhook_header_e;


typedef struct {
    const unsigned char  *data;
    size_t                len;
    unsigned              count;        /* 0 absent, 1, >1 duplicated */
} integrations_webhook_header_t;

typedef struct {
    integrations_webhook_header_t  h[INTEGRATIONS_WEBHOOK_H_MAX];
} integrations_webhook_headers_t;


typedef enum {
    INTEGRATIONS_WEBHOOK_KEY_ASCII = 0,   /* key bytes as given */
    INTEGRATIONS_WEBHOOK_KEY_HEX          /* hex-decoded; toss only */
} integrations_webhook_key_form_e;

typedef enum {
    INTEGRATIONS_WEBHOOK_SECRET_AUTO = 0, /* HMAC; standard: "whpk_" Ed25519 */
    INTEGRATIONS_WEBHOOK_SECRET_HMAC,
    INTEGRATIONS_WEBHOOK_SECRET_ED25519_PUBLIC   /* standard only */
} integrations_webhook_secret_kind_e;

typedef struct {
    const unsigned char                 *data;
    size_t                               len;
    integrations_webhook_secret_kind_e   kind;
} integrations_webhook_secret_t;

/*
 * Twilio's MAC.  SHA1 takes HMAC-SHA1 only, SHA256 HMAC-SHA256 only, AUTO
 * what each delivery's X-Twilio-Webhooks-Signature-Settings announces (as
 * twilio-node 6.3's webhook() middleware does); every secret is tried
 * with the algorithm chosen.  A delivery announcing another algorithm
 * than a fixed one, or one that is neither, is NO_KNOWN_SCHEME.  Other
 * providers take DEFAULT only.
 */
typedef enum {
    INTEGRATIONS_WEBHOOK_ALG_DEFAULT = 0, /* twilio: SHA1 */
    INTEGRATIONS_WEBHOOK_ALG_SHA1,
    INTEGRATIONS_WEBHOOK_ALG_SHA256,
    INTEGRATIONS_WEBHOOK_ALG_AUTO
} integrations_webhook_alg_e;

typedef struct {
    integrations_webhook_provider_e    provider;
    const integrations_webhook_secret_t  *secrets;
    size_t                             nsecrets;   /* 1..MAX_SECRETS */
    int64_t                            tolerance;  /* s; 0: default 300 */
    const unsigned char               *url;        /* square, twilio */
    size_t                             url_len;
    integrations_webhook_key_form_e    key_form;
    integrations_webhook_alg_e         algorithm;  /* twilio */
    size_t                             max_buffer; /* 0: default 1 MiB */
} integrations_webhook_params_t;


typedef struct integrations_webhook_verifier_s  integrations_webhook_verifier_t;
typedef struct integrations_webhook_state_s     integrations_webhook_state_t;

/*
 * Per-request context.  The glue may allocate it zeroed from r->pool;
 * only the first fields are meant to be read, after a verdict, for the
 * log line.  None of them holds key or MAC material.
 */
typedef struct {
    integrations_webhook_rc_e       rc;        /* verdict so far */
    int                             header;    /* header_e blamed for
                                                  MISSING_HEADER,
                                                  MALFORMED_HEADER or
                                                  NO_KNOWN_SCHEME, or -1 */
    int                             secret;    /* params index that verified,
                                                  or -1 */
    int64_t                         skew;      /* now - timestamp, where the
                                                  scheme has one */
    integrations_webhook_provider_e provider;
    integrations_webhook_state_t   *state;     /* private */
} integrations_webhook_ctx_t;


typedef enum {
    INTEGRATIONS_WEBHOOK_ID_HEADER = 1,   /* a delivery or event id header */
    INTEGRATIONS_WEBHOOK_ID_BODY,         /* a field of the JSON body */
    INTEGRATIONS_WEBHOOK_ID_DERIVED       /* no id exists: Slack ts:sig */
} integrations_webhook_id_source_e;

typedef struct {
    unsigned char                     data[INTEGRATIONS_WEBHOOK_EVENT_ID_MAX];
    size_t                            len;
    integrations_webhook_id_source_e  source;
    const char                       *field;   /* "id", "event.id", a
                                                  header's name...: where
                                                  it was, or was unusable */
} integrations_webhook_event_id_t;

/* integrations_webhook_event_id() */
#define INTEGRATIONS_WEBHOOK_ID_FOUND     0
#define INTEGRATIONS_WEBHOOK_ID_NONE     -1   /* the delivery has none */
#define INTEGRATIONS_WEBHOOK_ID_INVALID  -2   /* it has one, unusable */


/* "stripe", "standard", ...; returns PROVIDER_MAX for an unknown name. */
integrations_webhook_provider_e integrations_webhook_provider_by_name(
    const unsigned char *name, size_t len);
const char *integrations_webhook_provider_name(
    integrations_webhook_provider_e provider);

/*
 * Stable snake_case names for logs, problem bodies and $webhook_status:
 * "ok", "missing_header", "malformed_header", "no_known_scheme",
 * "bad_signature", "timestamp_out_of_tolerance", "unsigned",
 * "malformed_body", "body_too_large", "internal_error",
 * "too_many_signatures".
 */
const char *integrations_webhook_reason_str(integrations_webhook_rc_e rc);

/* The header's usual spelling ("Stripe-Signature"), or NULL. */
const char *integrations_webhook_header_name(int header);


void integrations_webhook_headers_init(integrations_webhook_headers_t *h);

/*
 * Files one request header if it is a known one.  Returns its slot, or -1
 * for a header no provider reads.  The value is referenced, not copied:
 * it must live until init() and event_id() have returned.
 */
int integrations_webhook_headers_add(integrations_webhook_headers_t *h,
    const unsigned char *name, size_t name_len,
    const unsigned char *value, size_t value_len);


/*
 * Checks and prepares the secrets once: decodes keys (Standard's base64,
 * Toss's hex), loads Ed25519 public keys, absorbs each HMAC key's pads,
 * copies the URL.  Nothing in params is referenced afterwards, so
 * the caller can cleanse its copy of the secrets.  Returns NULL with a
 * message in err (which never quotes a secret) on a bad configuration:
 * no secret, too many, one that does not decode, a kind or key_form the
 * provider does not take, a URL missing for square or twilio.
 */
integrations_webhook_verifier_t *integrations_webhook_verifier_create(
    const integrations_webhook_params_t *params, char *err, size_t err_len);

/* Takes void * to be an ngx_pool_cleanup_pt as is; NULL is allowed. */
void integrations_webhook_verifier_free(void *verifier);

integrations_webhook_provider_e integrations_webhook_verifier_provider(
    const integrations_webhook_verifier_t *v);


/*
 * Parses the provider's headers and starts one MAC per (secret x signed
 * bytes variant).  Returns OK when the body must now be fed, or the
 * verdict (the body need not be read then; update() and final() return
 * the same verdict).  query is the request's query string without the
 * "?" (r->args), signed by twilio only; NULL elsewhere.  now is the
 * verifier's clock, unix seconds.  ctx need not be zeroed; calling init()
 * again on a ctx leaks unless cleanup() ran.
 */
integrations_webhook_rc_e integrations_webhook_init(
    integrations_webhook_ctx_t *ctx, const integrations_webhook_verifier_t *v,
    const integrations_webhook_headers_t *h, const unsigned char *query,
    size_t query_len, int64_t now);

/* Feeds the next body bytes; returns OK, or the verdict when it is known. */
integrations_webhook_rc_e integrations_webhook_update(
    integrations_webhook_ctx_t *ctx, const void *data, size_t len);

/* Ends the body and returns the verdict; safe to call more than once. */
integrations_webhook_rc_e integrations_webhook_final(
    integrations_webhook_ctx_t *ctx);

/*
 * Frees every OpenSSL object and buffer of the ctx, and cleanses the MAC
 * states that final() did not finish (final() cleanses the others).
 * Takes void * to be an ngx_pool_cleanup_pt as is; safe on a zeroed ctx
 * and more than once.
 */
void integrations_webhook_cleanup(void *ctx);


/*
 * Event or delivery id for replay protection (dedupe only after OK):
 *
 *   stripe    body: top-level "id" ("evt_...")
 *   standard  header webhook-id, else svix-id
 *   toss      header tosspayments-webhook-transmission-id (unsigned
 *             deliveries usually carry none: no id)
 *   coinbase  body: "event"."id", else top-level "id"
 *   square    body: top-level "event_id"
 *   slack     body: top-level "event_id" (Events API); else, since slash
 *             commands and interactivity carry no id at all, the derived
 *             X-Slack-Request-Timestamp ":" X-Slack-Signature, which
 *             catches replays but not Slack's own retries
 *   github    header X-GitHub-Delivery
 *   shopify   header X-Shopify-Webhook-Id or shopify-webhook-id (both:
 *             the same value)
 *   twilio    header I-Twilio-Idempotency-Token
 *
 * Body fields are found by a bounded scanner of the JSON text in
 * body[0..len) (a prefix of the body is enough when it holds the field; a
 * truncated one just does not find it).  A string value is decoded as a
 * JSON parser would ("\u005f" is "_"), so two spellings of one id are one
 * id; an integer is taken as its digits.  Ids are
 * 1..INTEGRATIONS_WEBHOOK_EVENT_ID_MAX bytes of printable ASCII
 * (0x21-0x7e), so they are safe in a log line and a shm key.
 *
 * Returns ID_FOUND with out filled; ID_NONE when the delivery carries no
 * id (the field or header is absent, or cut off by the end of the
 * prefix); ID_INVALID when it carries one that is not usable: a string
 * holding a NUL, a control character, a space or anything outside
 * printable ASCII (raw or escaped), an empty or overlong one, a value
 * that is neither string nor integer, a duplicated header, or two
 * spellings of a header with two values.  An unusable id is never cut
 * short or cleaned into another event's id.  out->field and out->source
 * say where the id was, found or not usable.
 */
int integrations_webhook_event_id(integrations_webhook_provider_e provider,
    const integrations_webhook_headers_t *h, const unsigned char *body,
    size_t len, integrations_webhook_event_id_t *out);

/*
 * The same, with the first INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX body bytes
 * that the ctx kept while the body went through update(), so that the
 * glue need not keep or re-read a spooled body.  Call after final() and
 * before cleanup().
 */
int integrations_webhook_ctx_event_id(const integrations_webhook_ctx_t *ctx,
    const integrations_webhook_headers_t *h,
    integrations_webhook_event_id_t *out);

/*
 * Called after init() and before the first update(), tells the ctx not to
 * keep the body's first bytes: the caller has the whole body as one piece
 * of memory and will look for the id there itself, with
 * integrations_webhook_event_id() over its first
 * INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX bytes, which finds what
 * integrations_webhook_ctx_event_id() would, without a 16 KiB copy.
 * integrations_webhook_ctx_event_id() then finds no id in the body.
 */
void integrations_webhook_ctx_skip_id_prefix(integrations_webhook_ctx_t *ctx);

#endif /* INTEGRATIONS_WEBHOOK_H */
