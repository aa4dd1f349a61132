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
 * The notification outbox (migration 3) is OUTBOX_ENQUEUE, _GET, _CLAIM,
 * _FINISH, _RECEIPT, _PURGE and _STATS below; an operation of another
 * feature that must commit a message with what it announces calls
 * integrations_store_db_outbox_insert() (integrations_store_db.h) inside
 * its own transaction.
 *
 * Planned kinds, in this shape (not implemented yet):
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
    INTEGRATIONS_STORE_STMT_OUTBOX_KEY_GET,
    INTEGRATIONS_STORE_STMT_OUTBOX_KEY_RELEASE,
    INTEGRATIONS_STORE_STMT_OUTBOX_INSERT,
    INTEGRATIONS_STORE_STMT_OUTBOX_GET,
    INTEGRATIONS_STORE_STMT_OUTBOX_ATTEMPTS,
    INTEGRATIONS_STORE_STMT_OUTBOX_DUE,
    INTEGRATIONS_STORE_STMT_OUTBOX_CLAIM,
    INTEGRATIONS_STORE_STMT_OUTBOX_CANCEL_DUE,
    INTEGRATIONS_STORE_STMT_OUTBOX_FINISH,
    INTEGRATIONS_STORE_STMT_OUTBOX_ATTEMPT,
    INTEGRATIONS_STORE_STMT_OUTBOX_RECEIPT,
    INTEGRATIONS_STORE_STMT_OUTBOX_PURGE,
    INTEGRATIONS_STORE_STMT_OUTBOX_STATS,
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
    INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_CANCEL,
    INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_CANCELLED,
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
    INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_DONE_NEXT,
    /* activation: the buyer's side and the admin API */
    INTEGRATIONS_STORE_STMT_ACT_LINK_GET,
    INTEGRATIONS_STORE_STMT_ACT_LINK_USE,
    INTEGRATIONS_STORE_STMT_ACT_GRANT_TAKE,
    INTEGRATIONS_STORE_STMT_ACT_CONTACT_GET,
    INTEGRATIONS_STORE_STMT_ACT_EVENT_ADD,
    INTEGRATIONS_STORE_STMT_ACT_UNIT_GET,
    INTEGRATIONS_STORE_STMT_ACT_GRANT_SET,
    INTEGRATIONS_STORE_STMT_ACT_ORDER_STATES,
    INTEGRATIONS_STORE_STMT_ACT_ORDER_STATE_SET,
    INTEGRATIONS_STORE_STMT_ACT_LIST,
    INTEGRATIONS_STORE_STMT_ACT_ORDER_BOXES,
    INTEGRATIONS_STORE_STMT_ACT_ORDER_UNITS,
    INTEGRATIONS_STORE_STMT_ACT_ORDER_EVENTS,
    INTEGRATIONS_STORE_STMT_ACT_UNIT_NEXT,
    INTEGRATIONS_STORE_STMT_ACT_UNIT_REVOKE,
    INTEGRATIONS_STORE_STMT_ACT_LINKS_REVOKE,
    INTEGRATIONS_STORE_STMT_ACT_LINK_ADD,
    INTEGRATIONS_STORE_STMT_ACT_UNIT_RESEND,
    INTEGRATIONS_STORE_STMT_ACT_CONTACT_SET,
    INTEGRATIONS_STORE_STMT_ACT_FULFIL_DUE,
    INTEGRATIONS_STORE_STMT_ACT_ORDER_FIND,
    INTEGRATIONS_STORE_STMT_ACT_MESSAGE_GET,
    INTEGRATIONS_STORE_STMT_ACT_LINK_UNIT,
    INTEGRATIONS_STORE_STMT_ACT_MESSAGE_SET,
    INTEGRATIONS_STORE_STMT_ACT_GRANT_DUE,
    INTEGRATIONS_STORE_STMT_ACT_MESSAGE_QUEUE,
    INTEGRATIONS_STORE_STMT_ACT_GRANT_DEFER,
    INTEGRATIONS_STORE_NSTMTS
} integrations_store_stmt_e;


/* parameter types, for PostgreSQL's binary parameters */
typedef enum {
    INTEGRATIONS_STORE_INT = 1,     /* int64 */
    INTEGRATIONS_STORE_TEXT,
    INTEGRATIONS_STORE_BLOB,
    INTEGRATIONS_STORE_NULL
} integrations_store_type_e;

#define INTEGRATIONS_STORE_MAX_PARAMS  24     /* sql_check: at most 31 */
#define INTEGRATIONS_STORE_MAX_COLS    24

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
    INTEGRATIONS_STORE_OP_OUTBOX_ENQUEUE,
    INTEGRATIONS_STORE_OP_OUTBOX_GET,
    INTEGRATIONS_STORE_OP_OUTBOX_CLAIM,
    INTEGRATIONS_STORE_OP_OUTBOX_FINISH,
    INTEGRATIONS_STORE_OP_OUTBOX_RECEIPT,
    INTEGRATIONS_STORE_OP_OUTBOX_PURGE,
    INTEGRATIONS_STORE_OP_OUTBOX_STATS,
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
    INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC,
    /* activation (integrations_store_act.h) */
    INTEGRATIONS_STORE_OP_ACT_LOOKUP,
    INTEGRATIONS_STORE_OP_ACT_REDEEM,
    INTEGRATIONS_STORE_OP_ACT_GRANT_FINISH,
    INTEGRATIONS_STORE_OP_ACT_LIST,
    INTEGRATIONS_STORE_OP_ACT_ORDER,
    INTEGRATIONS_STORE_OP_ACT_REVOKE,
    INTEGRATIONS_STORE_OP_ACT_RESEND,
    INTEGRATIONS_STORE_OP_ACT_GRANT_SWEEP,
    INTEGRATIONS_STORE_OP_ACT_QUEUE,
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

/*
 * IDEM_PURGE: deletes at most limit expired records.  OUTBOX_PURGE: at
 * most limit notifications (and their attempts) in a final state created
 * before "before" (ms; the store's cleanups set it to now - the age they
 * were registered with).
 */
typedef struct {
    int64_t                     limit;
    int64_t                     before;
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


/* ---- the notification outbox (migration 3) ------------------------------
 *
 * A notification is a row of integrations_notifications, rendered at the
 * request: what the row holds is what will be sent.  Its life:
 *
 *   queued (0)  --claim-->  sending (1)  --finish-->  sent (2), failed (4),
 *      ^                       |                      unknown (5), or
 *      '------ finish ---------'                      queued again (a retry
 *              (retry, fallback)                      at next_attempt_at)
 *   sent (2)  --receipt-->  delivered (3) or failed (4)
 *
 * OUTBOX_CLAIM takes due rows of one provider (queued ones whose
 * next_attempt_at has come, and sending ones whose lease lapsed: their
 * sender died) for a holder: state sending, a new attempt id (the fencing
 * token), attempts + 1, and next_attempt_at moved to the lease's end, so
 * that a row whose sender dies is due again then.  A row taken back from a
 * lapsed lease comes with "reclaimed": its last send may have reached the
 * provider, and only the glue knows whether the provider deduplicates.
 * OUTBOX_FINISH writes an attempt's outcome only where the row still has
 * that attempt id: a sender whose lease lapsed cannot overwrite its
 * successor.  Every statement is safe to run twice.
 *
 * A row's owner (the order flow's ORDER_MESSAGE_CANCEL) may ask for it to
 * be cancelled (migration 5: cancel_requested, the error it ends with).
 * Queued, it ends failed at once; sending, its attempt's outcome stands
 * if final (sent, failed, unknown), but instead of queued again (a retry,
 * a fallback) it ends failed with that error, and a claim never takes it
 * (OUTBOX_CLAIM first ends the due ones so: a sender died sending it).
 */

#define INTEGRATIONS_STORE_OUTBOX_ID_MAX   64

/*
 * SHA-256 of n fields, each preceded by its length: the hash of anything
 * made of several byte strings (what makes two notifications the same).
 */
void integrations_store_hash_fields(const integrations_store_bytes_t *f,
    size_t n, char *hex);

typedef enum {
    INTEGRATIONS_STORE_NOTIFY_QUEUED = 0,
    INTEGRATIONS_STORE_NOTIFY_SENDING,
    INTEGRATIONS_STORE_NOTIFY_SENT,
    INTEGRATIONS_STORE_NOTIFY_DELIVERED,
    INTEGRATIONS_STORE_NOTIFY_FAILED,
    INTEGRATIONS_STORE_NOTIFY_UNKNOWN
} integrations_store_notify_state_e;

/* "queued", "sending", "sent", "delivered", "failed", "unknown" */
const char *integrations_store_notify_state_name(int state);


/*
 * One notification to insert.  Bytes with data NULL are SQL NULL (no
 * idempotency key, no subject...); all of them are the caller's until
 * done.
 */
typedef struct {
    integrations_store_bytes_t  id;           /* unique, the caller's */
    integrations_store_bytes_t  scope;        /* key scope, hex (or "") */
    integrations_store_bytes_t  idem_key;     /* NULL: none */
    integrations_store_bytes_t  idem_hash;    /* what makes two the same */
    int64_t                     idem_ttl_ms;  /* how long the key holds */
    integrations_store_bytes_t  channel;      /* the client's channel */
    integrations_store_bytes_t  provider;     /* who sends it first */
    integrations_store_bytes_t  recipient;    /* normalized */
    integrations_store_bytes_t  recipient_mask;  /* for GET and logs */
    integrations_store_bytes_t  template_name;   /* NULL: inline */
    integrations_store_bytes_t  subject;
    integrations_store_bytes_t  text;
    integrations_store_bytes_t  html;
    integrations_store_bytes_t  variables;    /* AlimTalk variables, push
                                                 data: a JSON object */
    integrations_store_bytes_t  template_id;  /* the AlimTalk template id */
    int                         sms_type;     /* integrations_sms_type_e */
    int                         fallback;     /* 1: may go as SMS/LMS */
    int64_t                     send_at;      /* ms: first due */
    int64_t                     expires_at;   /* ms: no attempt after it */
} integrations_store_outbox_item_t;

typedef enum {
    INTEGRATIONS_STORE_OUTBOX_NEW = 0,    /* inserted */
    INTEGRATIONS_STORE_OUTBOX_REPLAY,     /* the key's first notification
                                             is id (the same request) */
    INTEGRATIONS_STORE_OUTBOX_MISMATCH    /* the key is another request's */
} integrations_store_outbox_verdict_e;

typedef struct {
    int       verdict;                    /* ..._outbox_verdict_e */
    int       state;                      /* REPLAY: the first's state */
    char      id[INTEGRATIONS_STORE_OUTBOX_ID_MAX + 1];  /* REPLAY, NUL-
                                                            terminated */
} integrations_store_outbox_result_t;

/*
 * OUTBOX_ENQUEUE: n items in one durable transaction; results[i] (the
 * caller's array) says what became of items[i].  The same (scope, key)
 * within idem_ttl_ms of its first is that first, never a second row.
 */
typedef struct {
    const integrations_store_outbox_item_t  *items;
    size_t                                   n;
    integrations_store_outbox_result_t      *results;
} integrations_store_outbox_enqueue_t;


/* OUTBOX_GET: a notification by id, within the client's scope */
typedef struct {
    integrations_store_bytes_t  id;
    integrations_store_bytes_t  scope;
} integrations_store_outbox_get_t;

typedef struct {
    unsigned                    attempt;      /* 1, 2, ... */
    int64_t                     at;           /* ms */
    unsigned                    http_status;  /* 0: no answer */
    int64_t                     duration_ms;
    integrations_store_bytes_t  provider;
    integrations_store_bytes_t  message_id;   /* NULL: none */
    integrations_store_bytes_t  outcome;      /* "sent", "retry", ... */
    integrations_store_bytes_t  error;        /* NULL: none */
} integrations_store_outbox_attempt_t;

typedef struct {
    int                                   found;
    int                                   state;
    int                                   fallback;  /* 2: it went as SMS */
    int64_t                               attempts;
    int64_t                               next_attempt_at;
    int64_t                               created_at;
    int64_t                               updated_at;
    integrations_store_bytes_t            id;
    integrations_store_bytes_t            channel;
    integrations_store_bytes_t            provider;
    integrations_store_bytes_t            recipient_mask;
    integrations_store_bytes_t            template_name;
    integrations_store_bytes_t            message_id;
    integrations_store_bytes_t            error;
    size_t                                nattempts;
    integrations_store_outbox_attempt_t  *attempt;    /* in time order */
} integrations_store_outbox_get_result_t;


/* OUTBOX_CLAIM: at most limit due rows of provider, for holder */
typedef struct {
    integrations_store_bytes_t  provider;
    integrations_store_bytes_t  holder;
    int64_t                     attempt_id;   /* the fencing token */
    int64_t                     lease_ms;
    int64_t                     limit;
} integrations_store_outbox_claim_t;

typedef struct {
    integrations_store_bytes_t  id;
    integrations_store_bytes_t  channel;
    integrations_store_bytes_t  provider;
    integrations_store_bytes_t  recipient;
    integrations_store_bytes_t  recipient_mask;
    integrations_store_bytes_t  subject;      /* NULL: none */
    integrations_store_bytes_t  text;
    integrations_store_bytes_t  html;
    integrations_store_bytes_t  variables;
    integrations_store_bytes_t  template_id;
    int64_t                     attempts;     /* this one included */
    int                         reclaimed;    /* its lease had lapsed */
    int                         sms_type;
    int                         fallback;
    int64_t                     created_at;
    int64_t                     expires_at;
    int64_t                     last_delay;
} integrations_store_outbox_row_t;

typedef struct {
    size_t                            n;
    integrations_store_outbox_row_t  *rows;
} integrations_store_outbox_claim_result_t;


/*
 * OUTBOX_FINISH: the outcomes of attempts, in one durable transaction.
 * Each is written only where the row still carries attempt_id; "stored"
 * (set by the operation) says whether it was.  An attempt record
 * (attempt > 0) is kept either way: the send happened.
 */
typedef struct {
    integrations_store_bytes_t  id;
    int64_t                     attempt_id;
    int                         state;        /* the row's next state */
    int64_t                     next_attempt_at;   /* ms, when queued */
    int64_t                     last_delay;
    integrations_store_bytes_t  provider;     /* who sends it next (a
                                                 fallback changes it) */
    int                         fallback;
    int64_t                     uncount;      /* attempts to take back:
                                                 1 when nothing was
                                                 attempted (a limiter said
                                                 no), all of them when a
                                                 fallback starts afresh */
    integrations_store_bytes_t  message_id;   /* NULL: none (yet) */
    integrations_store_bytes_t  error;        /* NULL: none */

    /* the attempt's record; attempt 0: none */
    unsigned                    attempt;
    int64_t                     at;
    integrations_store_bytes_t  attempt_provider;
    integrations_store_bytes_t  outcome;
    unsigned                    http_status;
    int64_t                     duration_ms;

    /* a notification to insert with it (the operator's alert), or NULL:
     * inserted only when the outcome is stored */
    const integrations_store_outbox_item_t  *alert;

    int                         stored;       /* out */
    integrations_store_outbox_result_t  alert_result;   /* out */
} integrations_store_outbox_finish_rec_t;

typedef struct {
    integrations_store_outbox_finish_rec_t  *recs;
    size_t                                   n;
} integrations_store_outbox_finish_t;


/* OUTBOX_RECEIPT: a provider's delivery report for its message id */
typedef struct {
    integrations_store_bytes_t  provider;
    integrations_store_bytes_t  message_id;
    int                         state;        /* DELIVERED or FAILED */
    integrations_store_bytes_t  error;        /* NULL: none */
} integrations_store_outbox_receipt_t;

typedef struct {
    int                         found;        /* a row moved (or was
                                                 there already) */
    integrations_store_bytes_t  id;
    integrations_store_bytes_t  channel;
} integrations_store_outbox_receipt_result_t;


/* OUTBOX_STATS: the outbox's depth, for metrics */
typedef struct {
    int64_t                     depth;        /* queued and sending */
    int64_t                     due;          /* of them, due now */
    int64_t                     oldest_due_at;   /* ms; 0: none due */
} integrations_store_outbox_stats_t;


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
    INTEGRATIONS_STORE_MSG_FAILED,        /* the outbox gave up */
    INTEGRATIONS_STORE_MSG_CANCELLED      /* given up: the box was revoked
                                             whole while it was queued, or
                                             being sent and then not sent */
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
 *
 * A batch: with nboxes > 0 the op's own fields are ignored and each of
 * boxes[] is ingested as above, all in one transaction (one durable
 * commit for them all); inserted[i] (the caller's array) says whether
 * boxes[i] was new, out.ingest.inserted how many were.  A failure rolls
 * the whole batch back.
 */
typedef struct integrations_store_order_ingest_s
    integrations_store_order_ingest_t;

struct integrations_store_order_ingest_s {
    const integrations_store_order_ingest_t  *boxes;
    size_t                            nboxes;
    int                              *inserted;
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
};

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
    int       check;         /* ACK: look the box up singly first */
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

/*
 * ORDER_MESSAGES_SYNC: up to limit of vendor_id's queued buyer messages
 * whose notification has an outcome (the outbox's sent or delivered:
 * SENT; failed or unknown: FAILED; the cancellation a revoke asked for
 * while it was being sent: CANCELLED, the history "message_cancelled")
 * get it, each as ORDER_MESSAGE does; out.sync counts them.
 */
typedef struct {
    integrations_store_bytes_t        vendor_id;
    int64_t                           limit;
} integrations_store_messages_sync_t;

typedef struct {
    int64_t                           sent;
    int64_t                           failed;
    int64_t                           cancelled;
} integrations_store_messages_sync_result_t;

#define INTEGRATIONS_STORE_REVOKE_NONE  0
#define INTEGRATIONS_STORE_REVOKE_DUE   1
#define INTEGRATIONS_STORE_REVOKE_DONE  2
#define INTEGRATIONS_STORE_REVOKE_FAIL  3

#include "integrations_store_act.h"


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
        integrations_store_outbox_enqueue_t  outbox_enqueue;
        integrations_store_outbox_get_t      outbox_get;
        integrations_store_outbox_claim_t    outbox_claim;
        integrations_store_outbox_finish_t   outbox_finish;
        integrations_store_outbox_receipt_t  outbox_receipt;
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
        integrations_store_messages_sync_t   sync;
        integrations_store_act_token_t       act_token;
        integrations_store_act_grant_t       act_grant;
        integrations_store_act_list_t        act_list;
        integrations_store_act_order_t       act_order;
        integrations_store_act_queue_t       act_queue;
    } in;

    union {
        integrations_store_probe_result_t       probe;
        integrations_store_idem_begin_result_t  idem_begin;
        int64_t                                 changed;  /* rows */
        integrations_store_lease_result_t       lease;
        integrations_store_outbox_get_result_t  outbox_get;
        integrations_store_outbox_claim_result_t  outbox_claim;
        integrations_store_outbox_receipt_result_t  outbox_receipt;
        integrations_store_outbox_stats_t       outbox_stats;
        integrations_store_order_ingest_result_t  ingest;
        integrations_store_cursor_result_t      cursor;
        integrations_store_order_due_result_t   due;
        integrations_store_return_apply_result_t  ret;
        integrations_store_revoke_due_result_t  revoke_due;
        integrations_store_messages_sync_result_t  sync;
        integrations_store_act_link_t           act_link;
        integrations_store_act_grant_result_t   act_grant;
        integrations_store_act_json_t           act_json;
        integrations_store_act_change_result_t  act_change;
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
