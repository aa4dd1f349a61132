/*
 * The activation admin API's requests: the pure core, free of nginx.
 *
 *     GET  .../orders[.csv]?state=S[,S]&since=T&until=T&limit=N&after=C
 *     GET  .../orders/{order_id}
 *     POST .../orders/{order_id}/resend   [{"to": "...",
 *                                            "reason": "..."}]
 *     POST .../orders/{order_id}/revoke   [{"reason": "..."}]
 *
 * Everything here reads outside input (a query string, a path, a JSON
 * body) and refuses what it cannot read exactly, naming the field; the
 * glue answers 400 with that name.  Nothing is guessed: a parameter
 * given twice, an unknown one, an empty value, a percent escape that is
 * not two hex digits, or a NUL are refused.
 */

#ifndef INTEGRATIONS_ACTIVATION_ADMIN_H
#define INTEGRATIONS_ACTIVATION_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "integrations_activation.h"


#define INTEGRATIONS_ACT_ADMIN_LIMIT_DEFAULT  50
#define INTEGRATIONS_ACT_ADMIN_LIMIT_MAX      500
#define INTEGRATIONS_ACT_ADMIN_CSV_DEFAULT    1000
#define INTEGRATIONS_ACT_ADMIN_CSV_MAX        5000
#define INTEGRATIONS_ACT_ADMIN_ID_MAX         20     /* digits of an id */
#define INTEGRATIONS_ACT_ADMIN_REASON_MAX     200    /* bytes */
#define INTEGRATIONS_ACT_ADMIN_MASK_LEN       300    /* a masked value */


typedef enum {
    INTEGRATIONS_ACT_ADMIN_NONE = 0,     /* no such endpoint: 404 */
    INTEGRATIONS_ACT_ADMIN_LIST,         /* GET  /orders */
    INTEGRATIONS_ACT_ADMIN_CSV,          /* GET  /orders.csv */
    INTEGRATIONS_ACT_ADMIN_ORDER,        /* GET  /orders/{id} */
    INTEGRATIONS_ACT_ADMIN_RESEND,       /* POST /orders/{id}/resend */
    INTEGRATIONS_ACT_ADMIN_REVOKE        /* POST /orders/{id}/revoke */
} integrations_act_admin_route_e;


/*
 * The endpoint of a path (nginx's r->uri, decoded): the part from its
 * last "/orders" segment on decides, so that "/admin/orders" and
 * "/api/v1/activation/orders" both work.  *post says whether the
 * endpoint takes POST (1) or GET (0); *id points into path (the
 * order id's digits, at most INTEGRATIONS_ACT_ADMIN_ID_MAX of them).
 * A path with an order id that is not digits is NONE.
 */
integrations_act_admin_route_e integrations_act_admin_route(
    const char *path, size_t len, const char **id, size_t *id_len,
    int *post);


typedef struct {
    unsigned   states;        /* 1 << integrations_act_state_e; 0: any */
    int64_t    since;         /* ms since the epoch, inclusive; -1: none */
    int64_t    until;         /* ms, exclusive; -1: none */
    unsigned   limit;         /* 1..LIMIT_MAX (CSV: 1..CSV_MAX) */
    int        after;         /* a cursor was given */
    int64_t    after_at;      /* the cursor: the last row's created_at */
    char       after_id[INTEGRATIONS_ACT_ADMIN_ID_MAX + 1];  /* and id */
    size_t     after_id_len;
    int        csv;           /* format=csv (or the .csv endpoint) */
} integrations_act_admin_query_t;

/*
 * The list's query string (without the "?"; NULL or empty for none):
 *   state   a state name, or several separated by ","
 *           (synced, no_contact, link_sent, redeemed, revoked, failed)
 *   since   an RFC 3339 time ("2025-09-01T10:00:00+09:00", "...Z";
 *           milliseconds kept, finer digits dropped) or a date
 *           "2025-09-01" (its KST midnight: the seller's day); until
 *           likewise
 *   limit   1..500 (default 50); CSV 1..5000 (default 1000)
 *   after   the "next" cursor of the previous page: "<ms>.<order_id>"
 *   format  json or csv (csv: the default, from the .csv endpoint)
 * Returns 0, or -1 with *field naming the parameter ("state", ...: a
 * static string) and err saying what is wrong with it.
 */
int integrations_act_admin_query(const char *q, size_t len, int csv,
    integrations_act_admin_query_t *out, const char **field, char *err,
    size_t err_len);

/* "<ms>.<order_id>" into out; returns its length (NUL written), or -1 */
long integrations_act_admin_cursor(int64_t at, const char *id,
    size_t id_len, char *out, size_t size);

/* RFC 3339 time (or a KST date) to ms since the epoch; 0, or -1 */
int integrations_act_admin_time(const char *p, size_t len, int64_t *ms);

/* ms since the epoch to "2025-09-01T01:20:16.123Z" (24 bytes, a NUL) */
void integrations_act_admin_iso(int64_t ms, char *out);


typedef struct {
    integrations_act_contact_t  contact;   /* kind NONE: not given */
    char                        reason[INTEGRATIONS_ACT_ADMIN_REASON_MAX
                                       + 1];
    size_t                      reason_len;
} integrations_act_admin_action_t;

/*
 * The body of resend or revoke: empty, or a JSON object with at most
 *   "to"       (resend only; "contact" is its old name) a Korean mobile
 *              number (010-..., +82 10-...) or an email address, checked
 *              and normalized as notifications check a recipient
 *              (integrations_rcpt_normalize(): KR_MOBILE, EMAIL): where
 *              the new links go instead of the order's contact (a buyer
 *              who wrote to CS, a box held as no_contact)
 *   "reason"   text for the history, at most 200 bytes, no control
 *              character
 * and nothing else.  Returns 0, or -1 with *field naming the member
 * ("" for the body as a whole) and err the reason.
 */
int integrations_act_admin_action(const char *body, size_t len, int resend,
    integrations_act_admin_action_t *out, const char **field, char *err,
    size_t err_len);

/*
 * The admin key file: one key per line (blank lines and lines starting
 * with "#" skipped, trailing white space dropped), each 16 to 256
 * visible ASCII bytes.  Calls each(key, len, data) for every key and
 * returns how many there were, or -1 with err naming the line.
 */
int integrations_act_admin_keys(const char *text, size_t len,
    void (*each)(const char *key, size_t len, void *data), void *data,
    char *err, size_t err_len);

/*
 * The key a request presents: "Authorization: Bearer KEY" (the scheme
 * case-insensitive), or the X-Api-Key header's value.  Returns 0 with
 * *key pointing into the header, or -1.
 */
int integrations_act_admin_bearer(const char *h, size_t len,
    const char **key, size_t *key_len);


/*
 * The answers, from the JSON rows the store built (ACT_LIST, ACT_ORDER:
 * arrays of arrays, their columns in integrations_store.c).  Contacts and
 * names are masked (integrations_act_mask()); times are RFC 3339 UTC with
 * milliseconds; states, messages and fulfilment steps by name.
 *
 * The list:
 *   {"orders": [{"order_id", "shipment_box_id", "vendor_id", "state",
 *                "contact": {"kind", "masked"} | null, "first_seen_at",
 *                "units", "redeemed", "message", "sent_at", "fulfilment",
 *                "updated_at", "products": [...]}, ...],
 *    "next": "<cursor>" | null}
 * or as CSV (RFC 4180, a header row, integrations_act_csv_row()); *next
 * gets the cursor (NUL-terminated, 64 bytes) when the page is full.
 * Returns malloc()ed bytes, or NULL when rows are not what the store
 * writes.
 */
char *integrations_act_admin_list(const char *rows, size_t len,
    unsigned limit, int csv, char *next, size_t *out_len);

/*
 * One order:
 *   {"order_id", "state", "boxes": [{"shipment_box_id", "vendor_id",
 *    "state", "contact", "contact_source", "buyer", "first_seen_at",
 *    "ordered_at", "paid_at", "message", "sent_at", "fulfilment",
 *    "acked_at", "invoiced_at"}],
 *    "units": [{"shipment_box_id", "vendor_item_id", "unit", "units",
 *    "product_code", "item_name", "state", "grant", "grant_attempts",
 *    "granted_at", "redeemed_at", "revoked_at", "revoke_reason",
 *    "link": {"generation", "expires_at", "used_at"} | null}],
 *    "history": [{"id", "at", "event", "shipment_box_id",
 *    "vendor_item_id", "unit", "state", "detail"}]}
 * NULL when the rows are not the store's, or there is no box (*found 0).
 */
char *integrations_act_admin_order(const char *order_id, size_t id_len,
    const char *boxes, size_t blen, const char *units, size_t ulen,
    const char *events, size_t elen, int *found, size_t *out_len);

/* "none", "queued", "sent", "failed"; "wait", "ack", "invoice", "done",
   "failed", "canceled", "held"; "none", "pending", "granted", "failed" */
const char *integrations_act_admin_message_name(int64_t state);
const char *integrations_act_admin_fulfil_name(int64_t state);
const char *integrations_act_admin_grant_name(int64_t state);

#endif /* INTEGRATIONS_ACTIVATION_ADMIN_H */
