/*
 * E-book activation links: the pure core, free of nginx.
 *
 * The flow it serves (issue 12; the glue, store and notifications build on
 * these pieces):
 *
 *   order sync     an ACCEPT order is ingested; for each item mapped by
 *                  activation_product, integrations_act_link_count() links
 *                  (one per unit, or one per order line); the buyer's
 *                  contact is chosen by integrations_act_contact_choose();
 *                  the machine's INGEST event says what to do: mint a
 *                  token (integrations_act_token_encode() over 32 random
 *                  bytes, stored as integrations_act_token_hash()), queue
 *                  the message with integrations_act_link(), or alert
 *                  (no_contact).
 *   message sent   SENT: acknowledge and upload the DIRECT invoice at
 *                  Coupang (integrations_coupang_orders.h).
 *   GET /a/{tok}   integrations_act_path_token(), a store lookup, then
 *                  integrations_act_token_verdict() picks the page;
 *                  integrations_act_page() renders it (Korean, or English
 *                  by integrations_act_language()).  GET changes nothing:
 *                  link scanners in messengers fetch links.
 *   POST /a/{tok}  the store redeems the token in one statement; the
 *                  grant call (integrations_act_grant_body(), signed with
 *                  integrations_act_sign()) runs; on success REDEEMED and a
 *                  303 to integrations_act_redirect_url() with a claim
 *                  (integrations_act_claim()); when it fails for good,
 *                  GRANT_FAILED and the "we are on it" page.
 *   returns        RETURN: the token is revoked, activation_revoke is
 *                  called (integrations_act_revoke_body()); a withdrawn
 *                  return is RETURN_WITHDRAWN (an alert: an admin may
 *                  resend, which reinstates).
 *   CS, key, admin integrations_act_cs_*(), integrations_act_key_check(),
 *                  integrations_act_csv_row(), integrations_act_mask().
 *
 * Every function writes into the caller's buffer or returns malloc()ed
 * bytes it documents; none keeps state between calls except a signer or
 * a claim key, which are created once and freed.
 */

#ifndef INTEGRATIONS_ACTIVATION_H
#define INTEGRATIONS_ACTIVATION_H

#include <stddef.h>
#include <stdint.h>

#include "integrations_coupang_orders.h"


/* ------------------------------------------------------------------ */
/* Tokens                                                             */

/*
 * A token is 32 random bytes (256 bits: far above the 128 a guess must
 * beat), base64url without padding: 43 characters of [A-Za-z0-9_-], the
 * last one of the 16 that leave its two spare bits zero, so that every
 * token has exactly one spelling.  The store keeps only SHA-256 of the
 * 43 characters: a leaked table opens no link.
 */
#define INTEGRATIONS_ACT_TOKEN_BYTES     32
#define INTEGRATIONS_ACT_TOKEN_LEN       43
#define INTEGRATIONS_ACT_HASH_LEN        32
#define INTEGRATIONS_ACT_HASH_HEX_LEN    64

/* activation_ttl's default: 30 days */
#define INTEGRATIONS_ACT_TTL_DEFAULT     (30 * 86400)

/* Writes the 43 characters (no NUL) of random[0..32); returns 0, or -1
   when len is not INTEGRATIONS_ACT_TOKEN_BYTES. */
int integrations_act_token_encode(const unsigned char *random, size_t len,
    char *out);

/* 1 when p[0..len) is a token's exact spelling, 0 otherwise. */
int integrations_act_token_valid(const char *p, size_t len);

/* SHA-256 of the token text, raw (32 bytes) and lowercase hex (64). */
void integrations_act_token_hash(const char *token, size_t len,
    unsigned char *out);
void integrations_act_token_hash_hex(const char *token, size_t len,
    char *out);

/*
 * The token of a request path: prefix (e.g. "/a/") then the token and
 * nothing else: no trailing "/", no second segment, no encoding.  The
 * path is nginx's r->uri (decoded; the query is not part of it).
 * Returns 0 with *token pointing into path, or -1.
 */
int integrations_act_path_token(const char *path, size_t len,
    const char *prefix, size_t prefix_len, const char **token);

/*
 * activation_link_base: an absolute http(s) URL without white space,
 * quotes, angle brackets or fragment, ending in "/" or "=" so that the
 * token can follow (".../a/" or "...?t="), at most 512 bytes.
 * Returns 0, or -1 with the reason in err.
 */
int integrations_act_link_base_check(const char *base, size_t len,
    char *err, size_t err_len);

/* base + token into out; returns the length (NUL written), or -1. */
long integrations_act_link(const char *base, size_t base_len,
    const char *token, size_t token_len, char *out, size_t size);


/* ------------------------------------------------------------------ */
/* Quantities                                                         */

typedef enum {
    INTEGRATIONS_ACT_PER_ITEM = 0,     /* a link per unit bought */
    INTEGRATIONS_ACT_PER_ORDER         /* one link per order line */
} integrations_act_quantity_e;

#define INTEGRATIONS_ACT_MAX_UNITS  100

/*
 * Links an order line gets: the units still to fulfil, shippingCount -
 * (cancelCount + holdCountForCancel) (coupang-orders.md, MDv5), each a
 * link (per_item, at most INTEGRATIONS_ACT_MAX_UNITS) or one in all
 * (per_order); 0 when nothing is left.
 */
unsigned integrations_act_link_count(int64_t shipping_count,
    int64_t cancel_count, int64_t hold_count,
    integrations_act_quantity_e mode);


/* ------------------------------------------------------------------ */
/* Buyer contact                                                      */

typedef enum {
    INTEGRATIONS_ACT_SRC_NONE = 0,
    INTEGRATIONS_ACT_SRC_ORDERER,        /* orderer.safeNumber */
    INTEGRATIONS_ACT_SRC_RECEIVER,       /* receiver.safeNumber */
    INTEGRATIONS_ACT_SRC_ANSWER,         /* an etcInfoValues answer that
                                            is an email or a mobile */
    INTEGRATIONS_ACT_SRC_ANSWER_EMAIL,   /* ... an email only */
    INTEGRATIONS_ACT_SRC_ANSWER_PHONE    /* ... a mobile number only */
} integrations_act_source_e;

#define INTEGRATIONS_ACT_SOURCES_MAX  8

typedef enum {
    INTEGRATIONS_ACT_CONTACT_NONE = 0,
    INTEGRATIONS_ACT_CONTACT_PHONE,      /* domestic digits, "0..." */
    INTEGRATIONS_ACT_CONTACT_EMAIL
} integrations_act_contact_kind_e;

typedef struct {
    integrations_act_contact_kind_e  kind;
    integrations_act_source_e        source;
    char                             value[256];   /* NUL-terminated */
    size_t                           len;
} integrations_act_contact_t;

/*
 * The names activation_contact takes: "orderer", "receiver", "answer",
 * "answer_email", "answer_phone", and "none" (ends the list: nothing
 * found is no_contact).  Returns the source, SRC_NONE for "none", or -1.
 */
int integrations_act_source_by_name(const char *name, size_t len);
const char *integrations_act_source_name(integrations_act_source_e src);

/*
 * Goes through sources in order and takes the first usable contact:
 *   orderer, receiver   the safe number (0503-...; v5 writes +82...),
 *                       else ordererNumber / receiverNumber should
 *                       Coupang fill them: a Korean number, unmasked
 *                       ("0503-****-5464" as the docs print it is
 *                       unusable), normalized to digits; safe (050x) and
 *                       mobile (01x) numbers only
 *   answer*             each etcInfoValues answer of the item, whole:
 *                       an email address, or a mobile number (010-...,
 *                       +82 10-..., with "-", " " or "." between digits)
 * Returns 0 with out filled, or -1 (out->kind NONE): no_contact.
 */
int integrations_act_contact_choose(const integrations_act_source_e *order,
    size_t n, const integrations_coupang_order_t *o,
    const integrations_coupang_order_item_t *item,
    integrations_act_contact_t *out);

/* Korean phone number to domestic digits; mobile_only refuses 050x. */
int integrations_act_phone(const char *p, size_t len, int mobile_only,
    char *out, size_t *out_len);

/* 1 when p[0..len) is a plain email address (see the .c for the rules). */
int integrations_act_email_valid(const char *p, size_t len);


/* ------------------------------------------------------------------ */
/* The state machine of one activation (one link's worth of an item)  */

typedef enum {
    INTEGRATIONS_ACT_NEW = -1,           /* not stored yet */
    INTEGRATIONS_ACT_SYNCED = 0,         /* ingested; link not delivered */
    INTEGRATIONS_ACT_NO_CONTACT,         /* no way to reach the buyer */
    INTEGRATIONS_ACT_LINK_SENT,          /* the message went out */
    INTEGRATIONS_ACT_REDEEMED,           /* granted at the seller */
    INTEGRATIONS_ACT_REVOKED,            /* returned, cancelled, or by hand */
    INTEGRATIONS_ACT_FAILED,             /* sending or granting gave up */
    INTEGRATIONS_ACT_NSTATES
} integrations_act_state_e;

typedef enum {
    INTEGRATIONS_ACT_EV_INGEST = 0,      /* with a contact */
    INTEGRATIONS_ACT_EV_INGEST_NO_CONTACT,
    INTEGRATIONS_ACT_EV_SENT,            /* the outbox delivered it */
    INTEGRATIONS_ACT_EV_SEND_FAILED,     /* the outbox gave up */
    INTEGRATIONS_ACT_EV_REDEEMED,        /* the grant call succeeded */
    INTEGRATIONS_ACT_EV_GRANT_FAILED,    /* the grant call gave up */
    INTEGRATIONS_ACT_EV_RETURN,          /* a return or cancel for it */
    INTEGRATIONS_ACT_EV_RETURN_WITHDRAWN,
    INTEGRATIONS_ACT_EV_RESEND,          /* admin; a contact must exist */
    INTEGRATIONS_ACT_EV_REVOKE,          /* admin */
    INTEGRATIONS_ACT_NEVENTS
} integrations_act_event_e;

/* What the glue does after a transition, in this order. */
#define INTEGRATIONS_ACT_DO_REVOKE_TOKEN  0x0001  /* mark the live token
                                                     revoked */
#define INTEGRATIONS_ACT_DO_CANCEL_SEND   0x0002  /* drop a queued message */
#define INTEGRATIONS_ACT_DO_ISSUE_TOKEN   0x0004  /* mint a fresh token */
#define INTEGRATIONS_ACT_DO_SEND          0x0008  /* queue the link message */
#define INTEGRATIONS_ACT_DO_FULFIL        0x0010  /* acknowledge + DIRECT
                                                     invoice (idempotent:
                                                     skip when done) */
#define INTEGRATIONS_ACT_DO_CALL_REVOKE   0x0020  /* activation_revoke */
#define INTEGRATIONS_ACT_DO_REDIRECT      0x0040  /* 303 to the app */
#define INTEGRATIONS_ACT_DO_ON_IT_PAGE    0x0080  /* "we are on it" page */
#define INTEGRATIONS_ACT_DO_ALERT         0x0100  /* tell a human */

typedef enum {
    INTEGRATIONS_ACT_APPLIED = 0,        /* next and actions apply */
    INTEGRATIONS_ACT_IGNORED,            /* a late or repeated event:
                                            record it, change nothing */
    INTEGRATIONS_ACT_REFUSED             /* an admin action this state does
                                            not allow: 409 */
} integrations_act_verdict_e;

/*
 * The transition table (see the .c for each row's reason).  *next and
 * *actions are always set (to state and 0 when nothing applies).
 */
integrations_act_verdict_e integrations_act_transition(
    integrations_act_state_e state, integrations_act_event_e event,
    integrations_act_state_e *next, unsigned *actions);

/* "synced", "no_contact", ... (the admin API's filter names); NULL. */
const char *integrations_act_state_name(integrations_act_state_e state);
int integrations_act_state_by_name(const char *name, size_t len);
const char *integrations_act_event_name(integrations_act_event_e event);

/*
 * An order's state for the admin list, from its activations': the first
 * of failed, no_contact, synced, link_sent, redeemed present, revoked
 * only when all are.  n == 0: synced.
 */
integrations_act_state_e integrations_act_order_state(
    const integrations_act_state_e *states, size_t n);

/*
 * Which activations a return of count units revokes: those not redeemed
 * first (a buyer who returns one of two keeps the one they use), then
 * redeemed ones, each in index order; revoked ones are skipped.  Writes up
 * to count indexes to out and returns how many.
 */
size_t integrations_act_units_to_revoke(
    const integrations_act_state_e *states, size_t n, int64_t count,
    size_t *out);


/* ------------------------------------------------------------------ */
/* Redemption pages                                                   */

typedef enum {
    INTEGRATIONS_ACT_PAGE_READY = 0,     /* 200: a POST form */
    INTEGRATIONS_ACT_PAGE_DONE,          /* 200: redeemed, the app link
                                            (when no redirect is set) */
    INTEGRATIONS_ACT_PAGE_USED,          /* 409 */
    INTEGRATIONS_ACT_PAGE_EXPIRED,       /* 410 */
    INTEGRATIONS_ACT_PAGE_REVOKED,       /* 403 */
    INTEGRATIONS_ACT_PAGE_UNKNOWN,       /* 404 */
    INTEGRATIONS_ACT_PAGE_ON_IT,         /* 202: the grant failed for good;
                                            a human follows up */
    INTEGRATIONS_ACT_PAGE_UNAVAILABLE,   /* 503: the store is down; try
                                            again (Retry-After) */
    INTEGRATIONS_ACT_NPAGES
} integrations_act_page_e;

typedef enum {
    INTEGRATIONS_ACT_KO = 0,
    INTEGRATIONS_ACT_EN
} integrations_act_lang_e;

/*
 * Accept-Language (RFC 9110 12.5.4): the language ranges with their
 * q-values; English when an "en" range has a higher q than any "ko" range
 * (ties: the one listed first), Korean otherwise, and for an absent,
 * empty or unreadable header.  "*" stands for Korean.
 */
integrations_act_lang_e integrations_act_language(const char *p, size_t len);

/*
 * The page for a token looked up in the store: found 0 is UNKNOWN;
 * then revoked, used (redeemed_at set), expired (now >= expires_at).
 * A revoked token says REVOKED even when it was used: a returned book.
 */
integrations_act_page_e integrations_act_token_verdict(int found,
    int revoked, int used, int64_t expires_at, int64_t now);

unsigned integrations_act_page_status(integrations_act_page_e page);

typedef struct {
    const char  *product;        /* the product's name; may be NULL */
    size_t       product_len;
    const char  *action;         /* READY: the form's action, the same
                                    /a/{token} path */
    size_t       action_len;
    const char  *app_url;        /* DONE: the link into the app; NULL */
    size_t       app_url_len;
    int64_t      expires_at;     /* READY: shown as a KST date; 0: not */
} integrations_act_page_input_t;

/*
 * A complete HTML page (UTF-8, no script, no outside resource), every
 * value escaped.  Returns malloc()ed bytes and their length, or NULL.
 * Headers the glue should send with it:
 */
#define INTEGRATIONS_ACT_PAGE_CSP                                             \
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "    \
    "frame-ancestors 'none'; base-uri 'none'"
/* plus Cache-Control: no-store, Referrer-Policy: no-referrer,
   X-Robots-Tag: noindex, Content-Language: ko or en, Vary:
   Accept-Language. */

char *integrations_act_page(integrations_act_page_e page,
    integrations_act_lang_e lang, const integrations_act_page_input_t *in,
    size_t *len);

/* HTML text and attribute escaping (& < > " '); returns the length the
   escaped text needs, writing it when it fits in size. */
size_t integrations_act_html_escape(const char *s, size_t len, char *out,
    size_t size);


/* ------------------------------------------------------------------ */
/* Grant and revoke calls: Standard Webhooks                          */

/*
 * activation_grant and activation_revoke POST JSON signed as Standard
 * Webhooks (standardwebhooks.com) v1:
 *   webhook-id         msg_ + 32 hex of SHA-256(kind, order, item, unit):
 *                      the same on every retry, so the seller dedupes
 *   webhook-timestamp  unix seconds
 *   webhook-signature  v1,<base64 HMAC-SHA256(key, id "." ts "." body)>
 * with key = base64-decode(secret less "whsec_").
 */
#define INTEGRATIONS_ACT_SIGNATURE_LEN  (3 + 44)      /* "v1," + base64 */
#define INTEGRATIONS_ACT_MSG_ID_LEN     (4 + 32)

typedef struct integrations_act_signer_s  integrations_act_signer_t;

/*
 * From the secret file's bytes ("whsec_" and standard base64; trailing
 * white space taken off).  Returns NULL with the reason in err, which
 * never quotes the secret.
 */
integrations_act_signer_t *integrations_act_signer_new(const char *secret,
    size_t len, char *err, size_t err_len);
void integrations_act_signer_free(integrations_act_signer_t *s);

/* Writes "v1,<base64>" (INTEGRATIONS_ACT_SIGNATURE_LEN, no NUL). */
void integrations_act_sign(const integrations_act_signer_t *s,
    const char *id, size_t id_len, int64_t timestamp, const char *body,
    size_t body_len, char *out);

typedef enum {
    INTEGRATIONS_ACT_CALL_GRANT = 0,
    INTEGRATIONS_ACT_CALL_REVOKE
} integrations_act_call_e;

/* webhook-id for one call about one activation; writes MSG_ID_LEN bytes */
void integrations_act_msg_id(integrations_act_call_e call,
    const char *order_id, size_t order_len, const char *item_id,
    size_t item_len, unsigned unit, char *out);

typedef enum {
    INTEGRATIONS_ACT_WHY_RETURN = 0,
    INTEGRATIONS_ACT_WHY_CANCEL,
    INTEGRATIONS_ACT_WHY_ADMIN
} integrations_act_reason_e;

typedef struct {
    const char                   *order_id;         /* digits */
    size_t                        order_id_len;
    const char                   *shipment_box_id;
    size_t                        shipment_box_id_len;
    const char                   *vendor_item_id;
    size_t                        vendor_item_id_len;
    const char                   *product_code;     /* activation_product */
    size_t                        product_code_len;
    unsigned                      unit;             /* 1-based */
    unsigned                      units;            /* of the line */
    const integrations_act_contact_t  *contact;     /* grant; may be NULL */
    integrations_act_reason_e     reason;           /* revoke */
    const char                   *receipt_id;       /* revoke; may be NULL */
    size_t                        receipt_id_len;
    int64_t                       at;               /* unix s of the event */
} integrations_act_call_t;

/*
 * {"type": "activation.grant" | "activation.revoke",
 *  "timestamp": "2025-09-01T01:20:16Z",
 *  "data": {"marketplace": "coupang", "order_id": "...",
 *           "shipment_box_id": "...", "vendor_item_id": "...",
 *           "product_code": "...", "unit": 1, "units": 1,
 *           grant:  "contact": {"kind": "phone"|"email", "value": "..."}
 *           revoke: "reason": "return"|"cancel"|"admin",
 *                   "receipt_id": "..."}}
 * Ids go as strings: an 18-digit number would lose digits in a
 * JavaScript receiver.  Returns malloc()ed JSON, or NULL.
 */
char *integrations_act_call_body(integrations_act_call_e call,
    const integrations_act_call_t *c, size_t *len);

typedef enum {
    INTEGRATIONS_ACT_GRANT_OK = 0,
    INTEGRATIONS_ACT_GRANT_RETRY,        /* network, 408, 425, 429, 5xx */
    INTEGRATIONS_ACT_GRANT_FAIL          /* other answers: for good */
} integrations_act_grant_e;

/* status 0: no answer (connect error, timeout). */
integrations_act_grant_e integrations_act_grant_outcome(unsigned status);


/* ------------------------------------------------------------------ */
/* The claim handed to activation_redirect                            */

/*
 * A compact JWS (RFC 7515/7519) with HS256:
 *   header  {"alg":"HS256","typ":"JWT"}
 *   claims  {"iss":"ngx_integrations","aud":"activation",
 *            "jti":"<webhook-id of the grant>","iat":N,"exp":N,
 *            "order_id":"...","shipment_box_id":"...",
 *            "vendor_item_id":"...","product_code":"...","unit":N}
 * The app verifies it with the same key (activation_redirect's secret)
 * and honours it once (jti) before exp (iat + ttl, a few minutes).
 * The redirect is URL ("?" or "&") "claim=" JWS.
 */
typedef struct integrations_act_claim_key_s  integrations_act_claim_key_t;

/* key bytes: at least 32 (RFC 7518 3.2) */
integrations_act_claim_key_t *integrations_act_claim_key_new(
    const unsigned char *key, size_t len);
void integrations_act_claim_key_free(integrations_act_claim_key_t *k);

/* Returns malloc()ed JWS text, or NULL. */
char *integrations_act_claim(const integrations_act_claim_key_t *k,
    const integrations_act_call_t *c, const char *jti, size_t jti_len,
    int64_t now, int64_t ttl, size_t *len);

/*
 * Checks a JWS made by integrations_act_claim(): header, signature
 * (constant time), aud, exp > now.  Returns 0 with the claims' JSON
 * (malloc()ed) in *claims, or -1.
 */
int integrations_act_claim_verify(const integrations_act_claim_key_t *k,
    const char *jws, size_t len, int64_t now, char **claims,
    size_t *claims_len);

/*
 * activation_redirect's URL: a scheme (an app's deep link is fine),
 * no white space, quotes, angle brackets or fragment.  Returns 0, or -1.
 */
int integrations_act_redirect_check(const char *url, size_t len, char *err,
    size_t err_len);

/* URL ("?" or "&") "claim=" jws; returns the length (NUL written), -1. */
long integrations_act_redirect_url(const char *url, size_t url_len,
    const char *jws, size_t jws_len, char *out, size_t size);


/* ------------------------------------------------------------------ */
/* CS monitor, key expiry                                             */

#define INTEGRATIONS_ACT_WING_INQUIRIES                                       \
    "https://wing.coupang.com/tenants/cs/product/inquiries/"

typedef struct {
    size_t  urgent;
    size_t  normal;
    size_t  online;
    size_t  call_center;
} integrations_act_cs_counts_t;

/*
 * Urgent: a call-center inquiry (Coupang's own CS waits on the seller),
 * one that mentions a return, refund or cancellation, or one unanswered
 * for urgent_after seconds or more.  Answered ones are not counted.
 */
int integrations_act_cs_urgent(const integrations_coupang_inquiry_t *q,
    int64_t now, int64_t urgent_after);
void integrations_act_cs_count(integrations_act_cs_counts_t *c,
    const integrations_coupang_inquiry_t *q, int64_t now,
    int64_t urgent_after);

/*
 * The one Slack text of a CS run (the glue reports only inquiries it has
 * not reported before, by integrations_coupang_inquiry_key()):
 *   "🔔 쿠팡 고객문의 알림\n🚨 긴급: 2건\n📋 일반: 1건\n(상품문의 2건,
 *    콜센터문의 1건)\n⏰ 2025-09-01 10:20 KST 기준\n🔗 <wing|쿠팡 윙에서
 *    확인하기>"
 * No inquiry text, no buyer data.  wing NULL: the default link.
 * Returns malloc()ed text, or NULL (also when there is nothing to say).
 */
char *integrations_act_cs_message(const integrations_act_cs_counts_t *c,
    int64_t now, const char *wing, size_t wing_len, size_t *len);

/* Coupang API keys live 180 days; alert from 14 days before. */
#define INTEGRATIONS_ACT_KEY_LIFE   (180 * 86400)
#define INTEGRATIONS_ACT_KEY_WARN   (14 * 86400)

typedef enum {
    INTEGRATIONS_ACT_KEY_OK = 0,
    INTEGRATIONS_ACT_KEY_EXPIRING,
    INTEGRATIONS_ACT_KEY_EXPIRED
} integrations_act_key_e;

/* coupang_key_issued's "YYYY-MM-DD" (a KST date) to its KST midnight. */
int integrations_act_parse_date(const char *p, size_t len, int64_t *t);

/* *expires: issued + 180 days; *days_left: whole days, < 0 after. */
integrations_act_key_e integrations_act_key_check(int64_t issued,
    int64_t now, int64_t *expires, int64_t *days_left);

/* The alert's text for EXPIRING or EXPIRED; malloc()ed, or NULL. */
char *integrations_act_key_message(integrations_act_key_e st,
    int64_t expires, int64_t days_left, size_t *len);


/* ------------------------------------------------------------------ */
/* CSV export, masking                                                */

typedef struct {
    const char  *data;
    size_t       len;
} integrations_act_cell_t;

/*
 * One RFC 4180 record, CRLF-terminated: a cell is quoted when it holds
 * a comma, a quote, CR or LF, or when it is neutralized; quotes are
 * doubled.  A cell starting with = + - @, TAB or CR (a spreadsheet would
 * run it as a formula) is neutralized with a leading "'" (OWASP CSV
 * injection).  Returns the length the record needs, writing it when it
 * fits in size.
 */
size_t integrations_act_csv_row(const integrations_act_cell_t *cells,
    size_t n, char *out, size_t size);

typedef enum {
    INTEGRATIONS_ACT_MASK_PHONE = 0,     /* 010****5678 */
    INTEGRATIONS_ACT_MASK_EMAIL,         /* a***@example.com */
    INTEGRATIONS_ACT_MASK_NAME           /* first character, then * */
} integrations_act_mask_e;

/*
 * For alerts and logs, until notify's masking lands (then use that).
 * Writes a NUL-terminated masked copy (at most size - 1 bytes) and
 * returns its length.
 */
size_t integrations_act_mask(integrations_act_mask_e kind, const char *s,
    size_t len, char *out, size_t size);

/* The contact, masked by its kind. */
size_t integrations_act_mask_contact(const integrations_act_contact_t *c,
    char *out, size_t size);

/* ------------------------------------------------------------------ */
/* The page of a link, with its unit's grant                          */

/*
 * integrations_act_token_verdict(), and then for a used link the unit's
 * grant: failed for good (grant_failed set, or the unit FAILED) is the
 * "we are on it" page, on GET and POST alike, since the buyer paid and a
 * person follows up; a grant still in flight or done is USED.
 */
integrations_act_page_e integrations_act_link_verdict(int found,
    int revoked, int used, int grant_failed, integrations_act_state_e state,
    int64_t expires_at, int64_t now);

#endif /* INTEGRATIONS_ACTIVATION_H */
