/*
 * The durable store: running operations on a connection.  No nginx
 * headers; this runs in nginx thread-pool threads (and in the unit
 * tests), never on the event loop, and blocks as databases do.
 *
 * A pool holds one process's connections, at most conf->pool of them,
 * opened on first use in the thread that needs one (never before fork)
 * and reopened after a failure.  integrations_store_db_run() takes an
 * idle connection (or opens one, or waits for one until the operation's
 * deadline), runs the operation, and gives the connection back.
 *
 * Each connection, when it is opened, brings the schema up to date
 * (migrations under the store's lock) or refuses a schema newer than this
 * module's; a failure there closes it again.
 *
 * The drivers (integrations_store_sqlite.c, integrations_store_pg.c)
 * implement integrations_store_driver_t; the domain operations are
 * written once, here, on top of it.
 */

#ifndef INTEGRATIONS_STORE_DB_H
#define INTEGRATIONS_STORE_DB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "integrations_store.h"


#define INTEGRATIONS_STORE_POOL_MAX   64


typedef struct {
    integrations_store_url_t     url;        /* SQLite: an absolute path */
    char                        *password;   /* NUL-terminated, or NULL */
    unsigned                     timeout;    /* ms: statements, waits */
    unsigned                     connect_timeout;   /* ms */
    unsigned                     pool;       /* most connections */
    unsigned                     checkpoint_frames; /* SQLite; 0: 1000 */
} integrations_store_conf_t;


/* a transaction's kind, for begin() */
typedef enum {
    INTEGRATIONS_STORE_TX_READ = 0,   /* statements that only read */
    INTEGRATIONS_STORE_TX_WRITE,      /* writes that stand alone: SQLite
                                         serializes them with its writer
                                         lock; PostgreSQL autocommits
                                         each statement */
    INTEGRATIONS_STORE_TX_ATOMIC,     /* one transaction on both */
    INTEGRATIONS_STORE_TX_MIGRATE,    /* ATOMIC under the migration lock */
    INTEGRATIONS_STORE_TX_RELAXED     /* ATOMIC, but its commit does not
                                         wait for the disk: for a write
                                         whose loss in a power cut is
                                         harmless (a claim a retry makes
                                         again); every later durable
                                         commit makes it durable too */
} integrations_store_tx_e;


typedef struct {
    integrations_store_type_e   type;    /* NULL for SQL NULL */
    int64_t                     i;
    const unsigned char        *p;       /* TEXT, BLOB */
    size_t                      len;
} integrations_store_val_t;


typedef struct integrations_store_conn_s  integrations_store_conn_t;


/*
 * A row of a query, handed to its callback; its values are valid during
 * the call only.  0 goes on, -1 stops the query (out of memory): it then
 * fails with INTEGRATIONS_STORE_ERROR.
 */
typedef int (*integrations_store_row_pt)(void *data,
    const integrations_store_val_t *row, unsigned ncols);


/*
 * Every call gets the operation's deadline (integrations_store_clock())
 * and returns an integrations_store_rc_e; on failure err (size errlen)
 * says why, in words that hold no row data.  Values a row hands back
 * stay valid until the next call on the connection.
 */
typedef struct {
    const char                    *name;
    integrations_store_backend_e   backend;

    integrations_store_rc_e  (*open)(const integrations_store_conf_t *conf,
        uint64_t deadline, integrations_store_conn_t **c, char *err,
        size_t errlen);
    void  (*close)(integrations_store_conn_t *c);

    integrations_store_rc_e  (*begin)(integrations_store_conn_t *c,
        integrations_store_tx_e tx, uint64_t deadline, char *err,
        size_t errlen);
    integrations_store_rc_e  (*end)(integrations_store_conn_t *c,
        int commit, uint64_t deadline, char *err, size_t errlen);

    /* one statement of the table; *found: a row came back in row[] */
    integrations_store_rc_e  (*exec)(integrations_store_conn_t *c,
        integrations_store_stmt_e stmt, const integrations_store_val_t *p,
        integrations_store_val_t *row, unsigned ncols, int *found,
        int64_t *changed, uint64_t deadline, char *err, size_t errlen);

    /* one statement of the table, every row it returns to each() */
    integrations_store_rc_e  (*query)(integrations_store_conn_t *c,
        integrations_store_stmt_e stmt, const integrations_store_val_t *p,
        unsigned ncols, integrations_store_row_pt each, void *data,
        uint64_t deadline, char *err, size_t errlen);

    /* statements separated by ";", no parameters (migrations) */
    integrations_store_rc_e  (*script)(integrations_store_conn_t *c,
        const char *sql, uint64_t deadline, char *err, size_t errlen);

    /* 1 when the connection must be closed rather than reused */
    int  (*broken)(integrations_store_conn_t *c);
} integrations_store_driver_t;


extern const integrations_store_driver_t  integrations_store_sqlite_driver;
extern const integrations_store_driver_t  integrations_store_pg_driver;


typedef struct {
    const integrations_store_driver_t  *driver;
    const integrations_store_conf_t    *conf;

    pthread_mutex_t                     mtx;
    pthread_cond_t                      cond;
    integrations_store_conn_t          *idle[INTEGRATIONS_STORE_POOL_MAX];
    unsigned                            nidle;
    unsigned                            open;     /* idle and in use */
    unsigned                            max;

    /* where the counts are shown (shared memory), or NULL */
    volatile uint64_t                  *open_gauge;
    volatile uint64_t                  *busy_gauge;
} integrations_store_pool_t;


/* ms on a monotonic clock: deadlines; and us, for latencies */
uint64_t integrations_store_clock(void);
uint64_t integrations_store_clock_us(void);

/* ms since the epoch: what rows record */
int64_t integrations_store_wall_clock(void);


int integrations_store_pool_init(integrations_store_pool_t *pool,
    const integrations_store_conf_t *conf);

/* runs op (op->rc and op->out set, op->error on failure); thread-safe */
void integrations_store_db_run(integrations_store_pool_t *pool,
    integrations_store_op_t *op);

/* closes the idle connections; no thread may be running the pool */
void integrations_store_pool_destroy(integrations_store_pool_t *pool);


/*
 * The schema step of a fresh connection, exposed for the unit tests:
 * brings it to the latest version or refuses a newer one; *version is the
 * database's version afterwards.
 */
integrations_store_rc_e integrations_store_db_migrate(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    int64_t now, uint64_t deadline, unsigned *version, char *err,
    size_t errlen);

/* a statement's parameter from bytes (NULL data: "") or an integer */
void integrations_store_db_text(integrations_store_val_t *v,
    const integrations_store_bytes_t *b);
void integrations_store_db_int(integrations_store_val_t *v, int64_t i);

/* the activation operations (integrations_store_act.c) */
integrations_store_rc_e integrations_store_db_act(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);

/*
 * What a transaction hook (integrations_store_tx_hook_pt) gets: the
 * driver and connection of the open transaction, and the operation (its
 * now, deadline and error buffer).  A hook runs statements with
 * tx->driver->exec(tx->conn, ...) and must not begin or end one.
 */
struct integrations_store_tx_s {
    const integrations_store_driver_t  *driver;
    integrations_store_conn_t          *conn;
    integrations_store_op_t            *op;
};


/*
 * The outbox inside another operation's transaction (the transactional
 * outbox): an order and the message that announces it commit together,
 * or neither does.  Call it from an operation's body in
 * integrations_store_db.c between d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC,
 * ...) and d->end(c, 1, ...), with the operation's now and deadline:
 *
 *     rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
 *     ... the order's own statements ...
 *     rc = integrations_store_db_outbox_insert(d, c, items, n, op->now,
 *                                             op->deadline, results, E(op));
 *     if (rc != INTEGRATIONS_STORE_OK) { d->end(c, 0, ...); return rc; }
 *     rc = d->end(c, 1, op->deadline, E(op));
 *
 * items are those of OUTBOX_ENQUEUE (integrations_store.h: ids made by
 * the caller, e.g. ngx_http_integrations_notify_prepare() in the glue),
 * results[i] what became of items[i] (a key seen within its TTL is the
 * first notification, never a second row).  Safe to run twice in a
 * transaction that is run again: a row whose id is there already counts
 * as NEW.  The sender picks the rows up once the transaction commits.
 */
integrations_store_rc_e integrations_store_db_outbox_insert(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    const integrations_store_outbox_item_t *items, size_t n, int64_t now,
    uint64_t deadline, integrations_store_outbox_result_t *results,
    char *err, size_t errlen);

#endif /* INTEGRATIONS_STORE_DB_H */
