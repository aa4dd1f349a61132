/*
 * The durable store: the pure core.  No nginx headers, no I/O, no globals
 * that change; times are parameters.
 *
 * What is here:
 *   - the store URL ("sqlite:PATH", "postgresql://USER@HOST:PORT/DB"),
 *   - the request hash and the key scope of client idempotency,
 *   - the numbered schema migrations and their ordering,
 *   - the SQL text of every statement, per backend,
 *   - the domain operations (their kinds, arguments and results): the one
 *     interface every feature uses, whichever backend is behind it.
 *
 * integrations_store_db.[ch] runs the operations on a connection (in an
 * nginx thread-pool thread, never on the event loop); the drivers
 * integrations_store_sqlite.c and integrations_store_pg.c speak to the
 * databases; ngx_http_integrations_store.[ch] is the nginx glue.
 *
 * Adding an operation (notifications, orders, activation), in this shape:
 *   1. a kind in integrations_store_kind_e and its name in
 *      integrations_store_kind_name() (the metrics label);
 *   2. its arguments and results as a struct in the in/out unions of
 *      integrations_store_op_t (byte strings are integrations_store_bytes_t
 *      that the caller keeps alive until done, see the glue's header);
 *   3. its statements in integrations_store_stmt_e and the SQL table in
 *      integrations_store.c, one text per backend, "$1".."$n" for
 *      PostgreSQL and "?1".."?n" for SQLite, times as epoch milliseconds;
 *   4. its body in integrations_store_db.c (integrations_store_db_run());
 *   5. its tables in a new numbered migration at the end of the list.
 * Features never see SQL or a backend: they fill an op and get it back.
 *
 * Planned kinds, in this shape (not implemented yet):
 *   OUTBOX_ENQUEUE (in the same transaction as what it announces),
 *   OUTBOX_CLAIM (a batch, with a lease and an attempt id as the fencing
 *   token: SQLite "UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING",
 *   PostgreSQL the same inside a CTE "FOR UPDATE SKIP LOCKED"),
 *   OUTBOX_FINISH ("... WHERE id = $1 AND attempt = $2"),
 *   ORDER_INGEST ("INSERT ... ON CONFLICT DO NOTHING" with its activation
 *   token and outbox row in one transaction), ACTIVATION_ISSUE,
 *   ACTIVATION_REDEEM (one "UPDATE ... WHERE used_at IS NULL AND
 *   expires_at > $now RETURNING": the single-use guarantee).
 */

#ifndef INTEGRATIONS_STORE_H
#define INTEGRATIONS_STORE_H

#include <stddef.h>
#include <stdint.h>


typedef enum {
    INTEGRATIONS_STORE_NONE = 0,
    INTEGRATIONS_STORE_SQLITE,
    INTEGRATIONS_STORE_POSTGRESQL
} integrations_store_backend_e;


/* ---- the URL ---------------------------------------------------------- */

#define INTEGRATIONS_STORE_PATH_LEN   1024
#define INTEGRATIONS_STORE_NAME_LEN   64     /* user, database */
#define INTEGRATIONS_STORE_HOST_LEN   256    /* a name, address or socket dir */


/* Fields are NUL-terminated: they go to sqlite3_open_v2() and libpq. */

typedef struct {
    integrations_store_backend_e  backend;
    char                          path[INTEGRATIONS_STORE_PATH_LEN];
    char                          user[INTEGRATIONS_STORE_NAME_LEN];
    char                          host[INTEGRATIONS_STORE_HOST_LEN];
    unsigned                      port;
    char                          dbname[INTEGRATIONS_STORE_NAME_LEN];
    char                          sslmode[16];
} integrations_store_url_t;


/*
 * "sqlite:PATH" (PATH as given: the glue makes a relative one absolute)
 * or "postgresql://USER@HOST[:PORT]/DB[?sslmode=MODE]" ("postgres://"
 * too).  USER, HOST and DB are percent-decoded; HOST is a DNS name, an
 * IPv4 address, "[IPv6]", or a percent-encoded directory of a unix socket
 * ("%2Frun%2Fpostgresql"); PORT defaults to 5432; MODE is one of libpq's.
 * A password in the URL is refused: it comes from a file.  Returns 0, or
 * -1 with *err saying what is wrong (a static string).
 */
int integrations_store_url_parse(const unsigned char *s, size_t len,
    integrations_store_url_t *url, const char **err);


/* ---- idempotency: request hash and key scope --------------------------- */

#define INTEGRATIONS_STORE_HASH_LEN   64     /* lowercase hex of SHA-256 */
#define INTEGRATIONS_STORE_KEY_MAX    255


/*
 * What makes two requests "the same request": SHA-256 over the method,
 * the path and the body, each preceded by its length (so that no two
 * different triples hash alike by shifting bytes between fields).  Writes
 * INTEGRATIONS_STORE_HASH_LEN hex digits and a NUL.
 */
void integrations_store_request_hash(const unsigned char *method,
    size_t mlen, const unsigned char *path, size_t plen,
    const unsigned char *body, size_t blen, char *hex);

/*
 * The scope a client's keys live in: SHA-256 of the feature's name and
 * the client's identity (which may be a credential: only its hash is
 * stored).  The same key under two identities is two records.  Writes
 * INTEGRATIONS_STORE_HASH_LEN hex digits and a NUL.
 */
void integrations_store_key_scope(const char *feature,
    const unsigned char *identity, size_t len, char *hex);

/* 1 if a client key may be stored: 1 to 255 visible ASCII bytes. */
int integrations_store_key_valid(const unsigned char *key, size_t len);


/* ---- schema migrations ------------------------------------------------- */

/*
 * Versions are 1, 2, 3, ... in order, one per feature, never edited once
 * released: a change is a new version.  Each is applied once, in its own
 * transaction, under the store's migration lock, by the first worker (of
 * any node) that gets there; its row in integrations_schema is inserted
 * first, so that a second migrator fails on the key rather than apply it
 * twice.  A database whose version is newer than the last one here is
 * refused: an older module must not write a schema it does not know.
 */

typedef struct {
    unsigned     version;
    const char  *name;
    const char  *sqlite;           /* statements separated by ";" */
    const char  *postgresql;
} integrations_store_migration_t;


extern const integrations_store_migration_t  integrations_store_migrations[];
extern const size_t                          integrations_store_nmigrations;


/* 0 if the list is 1..n in order with both texts; else 1 + the bad index */
size_t integrations_store_migrations_check(
    const integrations_store_migration_t *m, size_t n);

/* the version a fully migrated database has */
unsigned integrations_store_schema_latest(const integrations_store_migration_t *m,
    size_t n);

/*
 * For a database at version current: 0 and *first (the index of the
 * first migration to apply, n if none); -1 if current is newer than the
 * list.
 */
int integrations_store_migrations_pending(
    const integrations_store_migration_t *m, size_t n, unsigned current,
    size_t *first);


/* ---- statements -------------------------------------------------------- */

typedef enum {
    INTEGRATIONS_STORE_STMT_SCHEMA_TABLE = 0,
    INTEGRATIONS_STORE_STMT_SCHEMA_VERSION,
    INTEGRATIONS_STORE_STMT_SCHEMA_INSERT,
    INTEGRATIONS_STORE_STMT_HEALTH,
    INTEGRATIONS_STORE_STMT_IDEM_GET,
    INTEGRATIONS_STORE_STMT_IDEM_CLAIM,
    INTEGRATIONS_STORE_STMT_IDEM_FINISH,
    INTEGRATIONS_STORE_STMT_IDEM_RELEASE,
    INTEGRATIONS_STORE_STMT_IDEM_PURGE,
    INTEGRATIONS_STORE_STMT_LEASE_ACQUIRE,
    INTEGRATIONS_STORE_STMT_LEASE_RELEASE,
    /* migration 4: the Coupang e-book flow */
    INTEGRATIONS_STORE_STMT_ORDER_INSERT,
    INTEGRATIONS_STORE_STMT_ORDER_ITEM_INSERT,
    INTEGRATIONS_STORE_STMT_ACTIVATION_INSERT,
    INTEGRATIONS_STORE_STMT_LINK_INSERT,
    INTEGRATIONS_STORE_STMT_EVENT_INSERT,
    INTEGRATIONS_STORE_STMT_CURSOR_GET,
    INTEGRATIONS_STORE_STMT_CURSOR_SET,
    INTEGRATIONS_STORE_STMT_ORDER_DUE_NEXT,
    INTEGRATIONS_STORE_STMT_ORDER_ITEM_NEXT,
    INTEGRATIONS_STORE_STMT_ORDER_FULFIL_SET,
    INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_SET,
    INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_STATE,
    INTEGRATIONS_STORE_STMT_ACTIVATIONS_SENT,
    INTEGRATIONS_STORE_STMT_MARK_INSERT,
    INTEGRATIONS_STORE_STMT_INQUIRY_INSERT,
    INTEGRATIONS_STORE_STMT_RETURN_INSERT,
    INTEGRATIONS_STORE_STMT_RETURN_UNIT_NEXT,
    INTEGRATIONS_STORE_STMT_ACTIVATION_REVOKE,
    INTEGRATIONS_STORE_STMT_LINKS_REVOKE,
    INTEGRATIONS_STORE_STMT_ORDER_STATE_SET,
    INTEGRATIONS_STORE_STMT_RETURN_WITHDRAW,
    INTEGRATIONS_STORE_STMT_REVOKE_DUE_NEXT,
    INTEGRATIONS_STORE_STMT_REVOKE_CALL_SET,
    INTEGRATIONS_STORE_NSTMTS
} integrations_store_stmt_e;


/* parameter types, for PostgreSQL's binary parameters */
typedef enum {
    INTEGRATIONS_STORE_INT = 1,     /* int64 */
    INTEGRATIONS_STORE_TEXT,
    INTEGRATIONS_STORE_BLOB,
    INTEGRATIONS_STORE_NULL
} integrations_store_type_e;

#define INTEGRATIONS_STORE_MAX_PARAMS  24
#define INTEGRATIONS_STORE_MAX_COLS    16

typedef struct {
    const char                 *sqlite;
    const char                 *postgresql;
    unsigned                    nparams;
    integrations_store_type_e   types[INTEGRATIONS_STORE_MAX_PARAMS];
} integrations_store_sql_t;


const integrations_store_sql_t *integrations_store_sql(
    integrations_store_stmt_e stmt);

/* the text for a backend */
const char *integrations_store_sql_text(integrations_store_backend_e b,
    integrations_store_stmt_e stmt);

/*
 * 0 if text numbers its placeholders 1..nparams, each used at least once,
 * with the backend's sigil ('?' or '$') and no other; else -1.  For the
 * unit tests, which check every statement of the table.
 */
int integrations_store_sql_check(const char *text, char sigil,
    unsigned nparams);


/* ---- operations -------------------------------------------------------- */

typedef enum {
    INTEGRATIONS_STORE_OK = 0,
    INTEGRATIONS_STORE_UNAVAILABLE,   /* cannot connect or open, disk full,
                                         I/O error, read-only, stopped */
    INTEGRATIONS_STORE_TIMEOUT,       /* busy or slow past the deadline */
    INTEGRATIONS_STORE_SCHEMA,        /* the schema is newer than ours */
    INTEGRATIONS_STORE_OVERLOAD,      /* refused before it ran (glue) */
    INTEGRATIONS_STORE_ERROR          /* anything else: a bug */
} integrations_store_rc_e;


typedef enum {
    INTEGRATIONS_STORE_OP_PROBE = 0,
    INTEGRATIONS_STORE_OP_IDEM_BEGIN,
    INTEGRATIONS_STORE_OP_IDEM_FINISH,
    INTEGRATIONS_STORE_OP_IDEM_RELEASE,
    INTEGRATIONS_STORE_OP_IDEM_PURGE,
    INTEGRATIONS_STORE_OP_LEASE_ACQUIRE,
    INTEGRATIONS_STORE_OP_LEASE_RELEASE,
    INTEGRATIONS_STORE_OP_ORDER_INGEST,
    INTEGRATIONS_STORE_OP_CURSOR_GET,
    INTEGRATIONS_STORE_OP_CURSOR_SET,
    INTEGRATIONS_STORE_OP_ORDER_DUE,
    INTEGRATIONS_STORE_OP_ORDER_FULFIL,
    INTEGRATIONS_STORE_OP_ORDER_MESSAGE,
    INTEGRATIONS_STORE_OP_MARK,
    INTEGRATIONS_STORE_OP_RETURN_APPLY,
    INTEGRATIONS_STORE_OP_RETURN_WITHDRAW,
    INTEGRATIONS_STORE_OP_REVOKE_DUE,
    INTEGRATIONS_STORE_OP_REVOKE_CALL,
    INTEGRATIONS_STORE_NKINDS
} integrations_store_kind_e;


typedef struct {
    const unsigned char  *data;
    size_t                len;
} integrations_store_bytes_t;


/*
 * PROBE: migrates when needed, checks the schema version, and writes the
 * node's row in integrations_health (so that a full disk shows).
 */
typedef struct {
    integrations_store_bytes_t  node;
} integrations_store_probe_t;

typedef struct {
    unsigned                    version;
} integrations_store_probe_result_t;


/*
 * IDEM_BEGIN: the first request with (scope, key) takes the key for an
 * attempt (owner, a random fencing token) for lock_ms; the record lives
 * ttl_ms.  A later request with the same key is told what became of it.
 * An attempt whose lock lapsed (its worker died) is taken over by the
 * same request; an expired record counts as none.
 */
typedef struct {
    integrations_store_bytes_t  scope;          /* key scope, hex */
    integrations_store_bytes_t  key;
    integrations_store_bytes_t  request_hash;   /* hex */
    int64_t                     owner;
    int64_t                     lock_ms;
    int64_t                     ttl_ms;
} integrations_store_idem_begin_t;

typedef enum {
    INTEGRATIONS_STORE_IDEM_NEW = 0,      /* the key is ours: go on */
    INTEGRATIONS_STORE_IDEM_REPLAY,       /* the stored answer is in out */
    INTEGRATIONS_STORE_IDEM_MISMATCH,     /* the key is another request's */
    INTEGRATIONS_STORE_IDEM_IN_FLIGHT     /* the first is still running */
} integrations_store_idem_e;

typedef struct {
    integrations_store_idem_e   verdict;
    unsigned                    status;         /* REPLAY */
    integrations_store_bytes_t  content_type;   /* REPLAY */
    integrations_store_bytes_t  body;           /* REPLAY */
    int64_t                     retry_ms;       /* IN_FLIGHT */
} integrations_store_idem_begin_result_t;


/* IDEM_FINISH: the attempt's final answer; "stored" 0 if fenced out */
typedef struct {
    integrations_store_bytes_t  scope;
    integrations_store_bytes_t  key;
    int64_t                     owner;
    unsigned                    status;
    integrations_store_bytes_t  content_type;
    integrations_store_bytes_t  body;
} integrations_store_idem_finish_t;

/* IDEM_RELEASE: an attempt that did not end in a final answer */
typedef struct {
    integrations_store_bytes_t  scope;
    integrations_store_bytes_t  key;
    int64_t                     owner;
} integrations_store_idem_release_t;

/* IDEM_PURGE: deletes at most limit expired records */
typedef struct {
    int64_t                     limit;
} integrations_store_purge_t;


/*
 * LEASE_ACQUIRE: holder takes (or renews) the lease "name" for ttl_ms
 * when nobody else holds an unexpired one.  The token grows by one at
 * every change of holder: work done under a lease carries it, so that a
 * holder that lost the lease cannot overwrite its successor's work.
 * LEASE_RELEASE lets it go at once.
 */
typedef struct {
    integrations_store_bytes_t  name;
    integrations_store_bytes_t  holder;
    int64_t                     ttl_ms;
} integrations_store_lease_t;

typedef struct {
    int                         acquired;
    int64_t                     token;
} integrations_store_lease_result_t;


/* ---- the Coupang e-book flow (migration 4) ------------------------------ */

/*
 * An order's progress beyond its activations' states: the buyer's
 * message (integrations_orders.message_state) and the fulfilment at
 * Coupang (fulfil_state).
 */
typedef enum {
    INTEGRATIONS_STORE_MSG_NONE = 0,      /* none queued: no_contact, or
                                             nothing mapped */
    INTEGRATIONS_STORE_MSG_QUEUED,        /* in the outbox */
    INTEGRATIONS_STORE_MSG_SENT,          /* the provider took it */
    INTEGRATIONS_STORE_MSG_FAILED         /* the outbox gave up */
} integrations_store_msg_e;

typedef enum {
    INTEGRATIONS_STORE_FULFIL_WAIT = 0,   /* until the message is sent */
    INTEGRATIONS_STORE_FULFIL_ACK,        /* acknowledge (ACCEPT->INSTRUCT)
                                             due at next_fulfil_at */
    INTEGRATIONS_STORE_FULFIL_INVOICE,    /* the DIRECT invoice due */
    INTEGRATIONS_STORE_FULFIL_DONE,       /* DEPARTURE */
    INTEGRATIONS_STORE_FULFIL_FAILED,     /* gave up: alerted */
    INTEGRATIONS_STORE_FULFIL_CANCELED,   /* cancelled or returned first */
    INTEGRATIONS_STORE_FULFIL_HELD        /* not fulfilled: no_contact or
                                             nothing mapped */
} integrations_store_fulfil_e;

/* the ids the flow keeps are Coupang's digits: at most 20 */
#define INTEGRATIONS_STORE_ID_LEN     24
#define INTEGRATIONS_STORE_DUE_ITEMS  50

/*
 * Operations that run a transaction may call a hook inside it (the
 * outbox's own insert, say): it gets the transaction (the driver and the
 * connection, integrations_store_db.h) and its data.  Anything other than
 * INTEGRATIONS_STORE_OK rolls the whole transaction back.
 */
typedef struct integrations_store_tx_s  integrations_store_tx_t;
typedef int (*integrations_store_tx_hook_pt)(integrations_store_tx_t *tx,
    void *data);

typedef struct {
    integrations_store_bytes_t  vendor_item_id;
    integrations_store_bytes_t  product_code;    /* len 0: not mapped */
    integrations_store_bytes_t  item_name;
    int64_t                     quantity;        /* shippingCount */
    int64_t                     cancel_count;
    int64_t                     hold_count;
    int64_t                     links;
    int64_t                     state;           /* integrations_act_state_e */
} integrations_store_order_item_t;

typedef struct {
    integrations_store_bytes_t  vendor_item_id;  /* its item's */
    integrations_store_bytes_t  product_code;
    int64_t                     unit;            /* 1..units */
    int64_t                     units;
    int64_t                     state;
    integrations_store_bytes_t  token_hash;      /* hex; len 0: none */
    int64_t                     expires_at;      /* ms */
} integrations_store_order_unit_t;

/*
 * ORDER_INGEST: one shipment box, its items, its units (with their first
 * tokens, hashed) and its buyer message, in one transaction:
 * "INSERT ... ON CONFLICT DO NOTHING" on (vendor_id, shipment_box_id)
 * first; a box already there (another window, another node, a restart)
 * changes nothing and out.ingest.inserted is 0: each box is processed
 * once.  The hook (the outbox insert) runs only for a new box.
 */
typedef struct {
    integrations_store_bytes_t        vendor_id;
    integrations_store_bytes_t        shipment_box_id;
    integrations_store_bytes_t        order_id;
    integrations_store_bytes_t        coupang_status;
    integrations_store_bytes_t        contact;         /* len 0: none */
    integrations_store_bytes_t        contact_source;
    integrations_store_bytes_t        buyer_name;
    integrations_store_bytes_t        message_id;      /* len 0: none */
    integrations_store_bytes_t        detail;          /* the event's */
    int64_t                           api;
    int64_t                           state;
    int64_t                           contact_kind;
    int64_t                           ordered_at;      /* ms; 0 unknown */
    int64_t                           paid_at;
    int64_t                           unmapped;
    int64_t                           message_state;
    int64_t                           fulfil_state;
    const integrations_store_order_item_t  *items;
    size_t                            nitems;
    const integrations_store_order_unit_t  *units;
    size_t                            nunits;
    integrations_store_tx_hook_pt     hook;
    void                             *hook_data;
} integrations_store_order_ingest_t;

typedef struct {
    int                               inserted;
} integrations_store_order_ingest_result_t;

/* CURSOR_GET / CURSOR_SET: a job's resume point; SET only moves forward */
typedef struct {
    integrations_store_bytes_t        name;
    int64_t                           value;           /* SET */
} integrations_store_cursor_t;

typedef struct {
    int                               found;
    int64_t                           value;
} integrations_store_cursor_result_t;

/*
 * ORDER_DUE: up to limit (<= 50) boxes of vendor_id whose fulfil step
 * is due (ACK or INVOICE, next_fulfil_at <= now), with their items.
 */
typedef struct {
    integrations_store_bytes_t        vendor_id;
    int64_t                           limit;
} integrations_store_order_due_t;

typedef struct {
    char      shipment_box_id[INTEGRATIONS_STORE_ID_LEN];
    char      order_id[INTEGRATIONS_STORE_ID_LEN];
    int64_t   fulfil_state;
    int64_t   attempts;
    unsigned  nitems;
    char      items[INTEGRATIONS_STORE_DUE_ITEMS][INTEGRATIONS_STORE_ID_LEN];
} integrations_store_due_order_t;

typedef struct {
    integrations_store_due_order_t   *orders;          /* in op->result */
    size_t                            n;
} integrations_store_order_due_result_t;

/*
 * ORDER_FULFIL: the outcome of a fulfil step for one box, applied only
 * when the box is still at from_state (a late or repeated outcome
 * changes nothing: out.changed 0).  next_at is the next attempt's time
 * (ms) for a state still due.  An event with the detail is recorded.
 */
typedef struct {
    integrations_store_bytes_t        vendor_id;
    integrations_store_bytes_t        shipment_box_id;
    const char                       *event;           /* static; NULL:
                                                          none */
    integrations_store_bytes_t        error;           /* len 0: none */
    integrations_store_bytes_t        invoice_number;  /* len 0: none */
    int64_t                           from_state;
    int64_t                           to_state;
    int64_t                           attempts;
    int64_t                           next_at;
} integrations_store_order_fulfil_t;

/*
 * ORDER_MESSAGE: the outbox's outcome for a box's message (found by
 * message_id): SENT makes the order and its units link_sent and its
 * acknowledgement due now; FAILED makes them failed.  A repeated outcome
 * changes nothing (out.changed 0).
 */
typedef struct {
    integrations_store_bytes_t        message_id;
    int64_t                           message_state;   /* SENT, FAILED */
} integrations_store_order_message_t;

/*
 * MARK: a mark that must not repeat (an alert, a reported inquiry):
 * out.changed 1 when it is new or its previous one expired, 0 when it is
 * still marked.  table 0: integrations_alert_marks (mark, until
 * expires_at); 1: integrations_coupang_inquiries (vendor_id, mark).
 */
typedef struct {
    integrations_store_bytes_t        vendor_id;       /* inquiries */
    integrations_store_bytes_t        mark;
    int64_t                           table;
    int64_t                           at;              /* inquiries: its
                                                          inquiry time */
    int64_t                           expires_at;
} integrations_store_mark_t;

/*
 * RETURN_APPLY: a return or cancellation receipt, seen for the first
 * time (its insert "ON CONFLICT DO NOTHING" decides; out.ret.is_new).
 * For each item (vendor_item_id, count) of its order, up to count
 * activations are revoked (integrations_act_units_to_revoke(): those not
 * redeemed first): the unit revoked, its links revoked, its
 * activation_revoke call due; the order's state follows.  out.ret lists
 * the units revoked (in op->result).
 */
#define INTEGRATIONS_STORE_RETURN_ITEMS  16

typedef struct {
    integrations_store_bytes_t        vendor_item_id;
    int64_t                           count;
} integrations_store_return_item_t;

typedef struct {
    integrations_store_bytes_t        vendor_id;
    integrations_store_bytes_t        receipt_id;
    integrations_store_bytes_t        order_id;
    integrations_store_bytes_t        receipt_type;    /* RETURN, CANCEL */
    integrations_store_bytes_t        receipt_status;
    integrations_store_bytes_t        reason;          /* "return", ... */
    int64_t                           requested_at;
    int64_t                           revoke_call_state;  /* DUE when
                                                             activation_revoke
                                                             is set */
    const integrations_store_return_item_t  *items;
    size_t                            nitems;
} integrations_store_return_apply_t;

typedef struct {
    char      shipment_box_id[INTEGRATIONS_STORE_ID_LEN];
    char      vendor_item_id[INTEGRATIONS_STORE_ID_LEN];
    int64_t   unit;
    int64_t   was_state;
} integrations_store_revoked_unit_t;

typedef struct {
    int                               is_new;
    int                               known;       /* the order is ours */
    integrations_store_revoked_unit_t *units;      /* in op->result */
    size_t                            n;
} integrations_store_return_apply_result_t;

/* RETURN_WITHDRAW: a withdrawn receipt; out.changed 1 the first time */
typedef struct {
    integrations_store_bytes_t        vendor_id;
    integrations_store_bytes_t        receipt_id;
} integrations_store_return_withdraw_t;

/*
 * REVOKE_DUE: up to limit activations whose activation_revoke call is
 * due; REVOKE_CALL: its outcome (state 2 done, 3 failed, 1 again at
 * next_at), applied when the call is still due.
 */
typedef struct {
    integrations_store_bytes_t        vendor_id;
    int64_t                           limit;
} integrations_store_revoke_due_t;

typedef struct {
    char      shipment_box_id[INTEGRATIONS_STORE_ID_LEN];
    char      order_id[INTEGRATIONS_STORE_ID_LEN];
    char      vendor_item_id[INTEGRATIONS_STORE_ID_LEN];
    char      product_code[64];
    char      receipt_id[INTEGRATIONS_STORE_ID_LEN];
    char      reason[16];
    int64_t   unit;
    int64_t   units;
    int64_t   attempts;
} integrations_store_revoke_due_unit_t;

typedef struct {
    integrations_store_revoke_due_unit_t  *units;      /* in op->result */
    size_t                                 n;
} integrations_store_revoke_due_result_t;

typedef struct {
    integrations_store_bytes_t        vendor_id;
    integrations_store_bytes_t        shipment_box_id;
    integrations_store_bytes_t        vendor_item_id;
    int64_t                           unit;
    int64_t                           state;
    int64_t                           attempts;
    int64_t                           next_at;
} integrations_store_revoke_call_t;

#define INTEGRATIONS_STORE_REVOKE_NONE  0
#define INTEGRATIONS_STORE_REVOKE_DUE   1
#define INTEGRATIONS_STORE_REVOKE_DONE  2
#define INTEGRATIONS_STORE_REVOKE_FAIL  3

typedef struct {
    integrations_store_kind_e          kind;
    integrations_store_rc_e            rc;
    int64_t                            now;       /* ms since the epoch */
    uint64_t                           deadline;  /* store clock, ms */

    union {
        integrations_store_probe_t           probe;
        integrations_store_idem_begin_t      idem_begin;
        integrations_store_idem_finish_t     idem_finish;
        integrations_store_idem_release_t    idem_release;
        integrations_store_purge_t           purge;
        integrations_store_lease_t           lease;
        integrations_store_order_ingest_t    ingest;
        integrations_store_cursor_t          cursor;
        integrations_store_order_due_t       due;
        integrations_store_order_fulfil_t    fulfil;
        integrations_store_order_message_t   message;
        integrations_store_mark_t            mark;
        integrations_store_return_apply_t    ret;
        integrations_store_return_withdraw_t withdraw;
        integrations_store_revoke_due_t      revoke_due;
        integrations_store_revoke_call_t     revoke_call;
    } in;

    union {
        integrations_store_probe_result_t       probe;
        integrations_store_idem_begin_result_t  idem_begin;
        int64_t                                 changed;  /* rows */
        integrations_store_lease_result_t       lease;
        integrations_store_order_ingest_result_t  ingest;
        integrations_store_cursor_result_t      cursor;
        integrations_store_order_due_result_t   due;
        integrations_store_return_apply_result_t  ret;
        integrations_store_revoke_due_result_t  revoke_due;
    } out;

    unsigned char                     *result;    /* malloc'd: out's bytes */
    char                               error[192];  /* why, never row data */
} integrations_store_op_t;


/* "probe", "idem_begin", ...: the metrics' label values */
const char *integrations_store_kind_name(integrations_store_kind_e kind);
const char *integrations_store_rc_name(integrations_store_rc_e rc);

/* frees what the run left in op->result */
void integrations_store_op_clear(integrations_store_op_t *op);


#endif /* INTEGRATIONS_STORE_H */
