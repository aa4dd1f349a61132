/*
 * The store's operations of the buyer's side of an activation and of its
 * admin API (issue 12), on migration 4's tables: included by
 * integrations_store.h, which lists their kinds.
 *
 *   ACT_LOOKUP        a link by its token's hash: what its page says; reads
 *   ACT_REDEEM        the single-use step: one
 *                       UPDATE integrations_activation_links SET used_at
 *                       WHERE token_hash = $1 AND used_at IS NULL AND
 *                       revoked_at IS NULL AND expires_at > $now RETURNING
 *                     then the unit's grant taken for this attempt (owner,
 *                     until), in one transaction; of N concurrent redeems
 *                     of one token exactly one gets won = 1.  A link used
 *                     by an attempt that died (its grant still pending
 *                     after "until") is won again by the next POST: the
 *                     grant's webhook-id is the same, the seller dedupes.
 *   ACT_GRANT_FINISH  the grant call's outcome, fenced by the owner: the
 *                     unit redeemed (or failed), the order's state, the
 *                     history; or, with retry_at, no outcome: the limits
 *                     refused the last attempt, and the unit's grant,
 *                     still pending, lapses at retry_at (when a breaker
 *                     lets a probe through) rather than at its whole lock
 *   ACT_GRANT_SWEEP   a pending grant whose attempt's lock lapsed (its
 *                     worker died, or the grant endpoint's limits refused
 *                     its last attempt) taken for a new attempt (owner,
 *                     until) by the same conditional UPDATE as ACT_REDEEM's
 *                     retake, so of any number of sweepers on any nodes
 *                     exactly one gets won = 1; the link as REDEEM's
 *                     (in: act_token's owner and lock_ms; out: act_link)
 *   ACT_LIST          the admin list: one page of orders (JSON rows)
 *   ACT_ORDER         one order: its boxes, units and history (JSON rows)
 *   ACT_REVOKE        admin: every unit of an order revoked
 *   ACT_RESEND        admin: every unit that may be resent gets a fresh
 *                     token (minted in the store's thread) and the old one
 *                     revoked; each box's last buyer message is queued
 *                     again in the same transaction (the outbox's own
 *                     insert), its links replaced by the new ones (found
 *                     by their hashes), to the contact given if any;
 *                     a box with no message to renew (it had no contact,
 *                     or the contact given is of another kind) has its
 *                     units marked "fresh", their tokens, names and the
 *                     box's contact handed back for a new message
 *   ACT_QUEUE         a resend's new messages (prepared by the glue as the
 *                     order sync prepares its own): each box's outbox
 *                     rows inserted and the box's message set, in one
 *                     transaction, for a box still synced only
 */

#ifndef INTEGRATIONS_STORE_ACT_H
#define INTEGRATIONS_STORE_ACT_H


/* integrations_activations.grant_state */
#define INTEGRATIONS_STORE_GRANT_NONE      0
#define INTEGRATIONS_STORE_GRANT_PENDING   1    /* an attempt holds it */
#define INTEGRATIONS_STORE_GRANT_DONE      2
#define INTEGRATIONS_STORE_GRANT_FAILED    3

/* the longest ids and texts these operations hand back */
#define INTEGRATIONS_STORE_ACT_ID_LEN      24
#define INTEGRATIONS_STORE_ACT_CODE_LEN    128
#define INTEGRATIONS_STORE_ACT_NAME_LEN    256
#define INTEGRATIONS_STORE_ACT_CONTACT_LEN 256

/* ACT_RESEND mints at most this many tokens for one order */
#define INTEGRATIONS_STORE_ACT_UNITS_MAX   100


/* ACT_LOOKUP, ACT_REDEEM */
typedef struct {
    integrations_store_bytes_t  token_hash;    /* 64 hex digits */
    int64_t                     owner;         /* REDEEM: the attempt */
    int64_t                     lock_ms;       /* REDEEM: its grant's
                                                  longest life */
} integrations_store_act_token_t;

typedef struct {
    int       found;
    int       won;              /* REDEEM: this attempt holds the grant */
    int       retaken;          /* ... of a link an attempt that died used */
    int       used;
    int       revoked;          /* the link, or its unit */
    int64_t   expires_at;       /* ms */
    int64_t   state;            /* the unit's integrations_act_state_e */
    int64_t   grant_state;
    int64_t   unit;
    int64_t   units;
    int64_t   contact_kind;     /* integrations_act_contact_kind_e */
    char      vendor_id[INTEGRATIONS_STORE_ACT_ID_LEN];
    char      shipment_box_id[INTEGRATIONS_STORE_ACT_ID_LEN];
    char      order_id[INTEGRATIONS_STORE_ACT_ID_LEN];
    char      vendor_item_id[INTEGRATIONS_STORE_ACT_ID_LEN];
    char      product_code[INTEGRATIONS_STORE_ACT_CODE_LEN];
    char      item_name[INTEGRATIONS_STORE_ACT_NAME_LEN];
    char      contact[INTEGRATIONS_STORE_ACT_CONTACT_LEN];  /* REDEEM */
} integrations_store_act_link_t;


/* ACT_GRANT_FINISH */
typedef struct {
    integrations_store_bytes_t  vendor_id;
    integrations_store_bytes_t  shipment_box_id;
    integrations_store_bytes_t  vendor_item_id;
    int64_t                     unit;
    int64_t                     owner;
    int64_t                     granted;       /* 1 granted, 0 failed */
    int64_t                     attempts;      /* calls made */
    integrations_store_bytes_t  detail;        /* for the history: "HTTP
                                                  503", never row data */
    int64_t                     retry_at;      /* > 0: not an outcome, the
                                                  lock ends then (ms; only
                                                  ever made shorter) */
} integrations_store_act_grant_t;

typedef struct {
    int       applied;          /* 0: fenced out, or the state said no */
    int       call_revoke;      /* revoked meanwhile: the grant is undone
                                   (activation_revoke is due) */
    int64_t   state;            /* the unit's state afterwards */
} integrations_store_act_grant_result_t;


/* ACT_LIST: rows newest first, by (first_seen_at, shipment_box_id) */
typedef struct {
    int64_t                     states;        /* mask; 0: any */
    int64_t                     since;         /* ms; -1: none */
    int64_t                     until;
    int64_t                     limit;
    int64_t                     after;         /* 1: a cursor */
    int64_t                     after_at;
    integrations_store_bytes_t  after_id;
} integrations_store_act_list_t;

/* ACT_ORDER, ACT_REVOKE, ACT_RESEND: an order by its orderId */
typedef struct {
    integrations_store_bytes_t  order_id;
    integrations_store_bytes_t  reason;        /* REVOKE, RESEND */
    int64_t                     contact_kind;  /* RESEND: 0 keep */
    integrations_store_bytes_t  contact;
    int64_t                     ttl_ms;        /* RESEND: the new links' */
} integrations_store_act_order_t;

/*
 * JSON texts the database built (arrays of arrays, the columns of each
 * statement's comment in integrations_store.c), in op->result; read by
 * integrations_activation_admin.c.  ACT_LIST fills rows; ACT_ORDER
 * boxes, units and events.
 */
typedef struct {
    integrations_store_bytes_t  rows;
    integrations_store_bytes_t  boxes;
    integrations_store_bytes_t  units;
    integrations_store_bytes_t  events;
} integrations_store_act_json_t;

typedef struct {
    char      shipment_box_id[INTEGRATIONS_STORE_ACT_ID_LEN];
    char      vendor_item_id[INTEGRATIONS_STORE_ACT_ID_LEN];
    char      product_code[INTEGRATIONS_STORE_ACT_CODE_LEN];
    int64_t   unit;
    int64_t   was_state;
    int64_t   state;
    char      token[48];        /* RESEND: the new token, in clear */
    int64_t   units;            /* of its item */
    int       fresh;            /* RESEND: its box needs a new message */
    int64_t   contact_kind;     /* fresh: the box's contact */
    char      contact[INTEGRATIONS_STORE_ACT_CONTACT_LEN];
    char      item_name[INTEGRATIONS_STORE_ACT_NAME_LEN];
} integrations_store_act_unit_t;

typedef struct {
    int                              found;     /* the order exists */
    size_t                           changed;   /* units changed */
    size_t                           refused;   /* units the state kept */
    size_t                           no_contact;  /* RESEND: units of a
                                                     box without one */
    size_t                           queued;    /* RESEND: boxes whose
                                                   message was queued */
    size_t                           unqueued;  /* ... that had no message
                                                   to renew, or whose new
                                                   contact needs another
                                                   channel */
    int64_t                          contact_kind;
    char                             contact[INTEGRATIONS_STORE_ACT_CONTACT_LEN];
    char                             vendor_id[INTEGRATIONS_STORE_ACT_ID_LEN];
    integrations_store_act_unit_t   *units;     /* in op->result */
    size_t                           n;
} integrations_store_act_change_result_t;


/* ACT_QUEUE: one box's new message */
typedef struct {
    integrations_store_bytes_t           vendor_id;
    integrations_store_bytes_t           shipment_box_id;
    integrations_store_outbox_item_t    *items;      /* items[0].id: the
                                                        box's message */
    integrations_store_outbox_result_t  *results;
    size_t                               n;
} integrations_store_act_queue_box_t;

/* out.changed: how many boxes had their message queued */
typedef struct {
    integrations_store_act_queue_box_t  *boxes;
    size_t                               n;
} integrations_store_act_queue_t;

#endif /* INTEGRATIONS_STORE_ACT_H */
