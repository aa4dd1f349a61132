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
    /* activation (integrations_store_act.h) */
    INTEGRATIONS_STORE_OP_ACT_LOOKUP,
    INTEGRATIONS_STORE_OP_ACT_REDEEM,
    INTEGRATIONS_STORE_OP_ACT_GRANT_FINISH,
    INTEGRATIONS_STORE_OP_ACT_LIST,
    INTEGRATIONS_STORE_OP_ACT_ORDER,
    INTEGRATIONS_STORE_OP_ACT_REVOKE,
    INTEGRATIONS_STORE_OP_ACT_RESEND,
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
        integrations_store_act_token_t       act_token;
        integrations_store_act_grant_t       act_grant;
        integrations_store_act_list_t        act_list;
        integrations_store_act_order_t       act_order;
    } in;

    union {
        integrations_store_probe_result_t       probe;
        integrations_store_idem_begin_result_t  idem_begin;
        int64_t                                 changed;  /* rows */
        integrations_store_lease_result_t       lease;
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
