/*
 * The durable store: the connection pool and the domain operations, on
 * top of a driver.  See integrations_store_db.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "integrations_store_db.h"
#include "integrations_store_orders.h"


#define E(op)  (op)->error, sizeof((op)->error)


/* the columns of STMT_IDEM_GET */
enum {
    IDEM_HASH = 0,
    IDEM_STATE,
    IDEM_STATUS,
    IDEM_CTYPE,
    IDEM_BODY,
    IDEM_LOCKED,
    IDEM_EXPIRES,
    IDEM_OWNER,
    IDEM_NCOLS
};

#define IDEM_STARTED  0
#define IDEM_DONE     1

/* rows ended by their owner's cancel request per claim; more: the next */
#define INTEGRATIONS_STORE_OUTBOX_CANCEL_MAX  100


static integrations_store_rc_e integrations_store_db_acquire(
    integrations_store_pool_t *pool, integrations_store_op_t *op,
    integrations_store_conn_t **c, int *reused);
static integrations_store_rc_e integrations_store_db_op(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static void integrations_store_db_release(integrations_store_pool_t *pool,
    integrations_store_conn_t *c, integrations_store_rc_e rc);
static void integrations_store_db_gauges(integrations_store_pool_t *pool);
static integrations_store_rc_e integrations_store_db_probe(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_db_idem_begin(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static int integrations_store_db_idem_verdict(integrations_store_op_t *op,
    integrations_store_val_t *row);
static integrations_store_rc_e integrations_store_db_write(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op, integrations_store_tx_e tx,
    integrations_store_stmt_e stmt, integrations_store_val_t *p,
    integrations_store_val_t *row, unsigned ncols, int *found);
static void integrations_store_db_bytes(integrations_store_val_t *v,
    const integrations_store_bytes_t *b);

static integrations_store_rc_e integrations_store_db_outbox_one(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    const integrations_store_outbox_item_t *it, int64_t now,
    uint64_t deadline, integrations_store_outbox_result_t *res, char *err,
    size_t errlen);
static int integrations_store_db_outbox_verdict(
    const integrations_store_outbox_item_t *it, int64_t now,
    integrations_store_val_t *row, integrations_store_outbox_result_t *res);
static integrations_store_rc_e integrations_store_db_outbox_enqueue(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_db_outbox_get(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_db_outbox_claim(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_db_outbox_finish(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_db_outbox_receipt(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_db_outbox_stats(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);


uint64_t
integrations_store_clock(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


uint64_t
integrations_store_clock_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


int64_t
integrations_store_wall_clock(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int
integrations_store_pool_init(integrations_store_pool_t *pool,
    const integrations_store_conf_t *conf)
{
    pthread_condattr_t  attr;

    memset(pool, 0, sizeof(integrations_store_pool_t));

    pool->conf = conf;
    pool->driver = (conf->url.backend == INTEGRATIONS_STORE_SQLITE)
                   ? &integrations_store_sqlite_driver
                   : &integrations_store_pg_driver;
    pool->max = conf->pool;

    if (pool->max == 0 || pool->max > INTEGRATIONS_STORE_POOL_MAX) {
        return -1;
    }

    if (pthread_mutex_init(&pool->mtx, NULL) != 0) {
        return -1;
    }

    /* waits for a connection end at deadlines on the monotonic clock */

    if (pthread_condattr_init(&attr) != 0
        || pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0
        || pthread_cond_init(&pool->cond, &attr) != 0)
    {
        pthread_mutex_destroy(&pool->mtx);
        return -1;
    }

    pthread_condattr_destroy(&attr);

    return 0;
}


void
integrations_store_pool_destroy(integrations_store_pool_t *pool)
{
    unsigned  i;

    if (pool->driver == NULL) {
        return;
    }

    for (i = 0; i < pool->nidle; i++) {
        pool->driver->close(pool->idle[i]);
    }

    pool->open -= pool->nidle;
    pool->nidle = 0;
    integrations_store_db_gauges(pool);

    pthread_cond_destroy(&pool->cond);
    pthread_mutex_destroy(&pool->mtx);
    pool->driver = NULL;
}


void
integrations_store_db_run(integrations_store_pool_t *pool,
    integrations_store_op_t *op)
{
    int                                reused;
    unsigned                           tries;
    integrations_store_rc_e            rc;
    integrations_store_conn_t         *c;
    const integrations_store_driver_t *d;

    d = pool->driver;
    op->error[0] = '\0';

    if (integrations_store_clock() >= op->deadline) {
        snprintf(E(op), "waited for a thread past the store's timeout");
        op->rc = INTEGRATIONS_STORE_TIMEOUT;
        return;
    }

    rc = integrations_store_db_acquire(pool, op, &c, &reused);

    if (rc != INTEGRATIONS_STORE_OK) {
        op->rc = rc;
        return;
    }

    rc = integrations_store_db_op(d, c, op);

    /*
     * An idle connection whose server went away (a restart) fails on its
     * first use: the operation runs again on another, until one that was
     * not idle through the restart (a new one).  Every
     * operation is safe to run twice (its writes are keyed by the
     * attempt's owner or holder), since a connection that breaks after a
     * commit cannot tell whether it happened.
     */

    for (tries = 0;
         rc == INTEGRATIONS_STORE_UNAVAILABLE && reused && d->broken(c)
         && tries <= pool->max && integrations_store_clock() < op->deadline;
         tries++)
    {
        /* the other idle ones may be as stale: each is closed in turn */

        integrations_store_db_release(pool, c, rc);

        rc = integrations_store_db_acquire(pool, op, &c, &reused);

        if (rc != INTEGRATIONS_STORE_OK) {
            op->rc = rc;
            return;
        }

        rc = integrations_store_db_op(d, c, op);
    }

    integrations_store_db_release(pool, c, rc);

    op->rc = rc;
}


static integrations_store_rc_e
integrations_store_db_op(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    integrations_store_rc_e  rc;

    op->error[0] = '\0';

    switch (op->kind) {

    case INTEGRATIONS_STORE_OP_PROBE:
        return integrations_store_db_probe(d, c, op);

    case INTEGRATIONS_STORE_OP_IDEM_BEGIN:
        return integrations_store_db_idem_begin(d, c, op);

    case INTEGRATIONS_STORE_OP_IDEM_FINISH:
        {
        integrations_store_val_t  p[6];

        integrations_store_db_text(&p[0], &op->in.idem_finish.scope);
        integrations_store_db_text(&p[1], &op->in.idem_finish.key);
        integrations_store_db_int(&p[2], op->in.idem_finish.owner);
        integrations_store_db_int(&p[3], op->in.idem_finish.status);
        integrations_store_db_text(&p[4], &op->in.idem_finish.content_type);
        integrations_store_db_text(&p[5], &op->in.idem_finish.body);
        p[5].type = INTEGRATIONS_STORE_BLOB;

        return integrations_store_db_write(d, c, op, INTEGRATIONS_STORE_TX_WRITE,
                                         INTEGRATIONS_STORE_STMT_IDEM_FINISH,
                                         p, NULL, 0, NULL);
        }

    case INTEGRATIONS_STORE_OP_IDEM_RELEASE:
        {
        integrations_store_val_t  p[3];

        integrations_store_db_text(&p[0], &op->in.idem_release.scope);
        integrations_store_db_text(&p[1], &op->in.idem_release.key);
        integrations_store_db_int(&p[2], op->in.idem_release.owner);

        return integrations_store_db_write(d, c, op, INTEGRATIONS_STORE_TX_WRITE,
                                        INTEGRATIONS_STORE_STMT_IDEM_RELEASE,
                                        p, NULL, 0, NULL);
        }

    case INTEGRATIONS_STORE_OP_IDEM_PURGE:
        {
        integrations_store_val_t  p[2];

        integrations_store_db_int(&p[0], op->now);
        integrations_store_db_int(&p[1], op->in.purge.limit);

        return integrations_store_db_write(d, c, op, INTEGRATIONS_STORE_TX_RELAXED,
                                         INTEGRATIONS_STORE_STMT_IDEM_PURGE,
                                         p, NULL, 0, NULL);
        }

    case INTEGRATIONS_STORE_OP_LEASE_ACQUIRE:
        {
        int                       found;
        integrations_store_val_t  p[4], row[1];

        integrations_store_db_text(&p[0], &op->in.lease.name);
        integrations_store_db_text(&p[1], &op->in.lease.holder);
        integrations_store_db_int(&p[2], op->now + op->in.lease.ttl_ms);
        integrations_store_db_int(&p[3], op->now);

        found = 0;

        rc = integrations_store_db_write(d, c, op, INTEGRATIONS_STORE_TX_WRITE,
                                        INTEGRATIONS_STORE_STMT_LEASE_ACQUIRE,
                                        p, row, 1, &found);

        op->out.lease.acquired = (rc == INTEGRATIONS_STORE_OK && found);
        op->out.lease.token = found ? row[0].i : 0;

        return rc;
        }

    case INTEGRATIONS_STORE_OP_LEASE_RELEASE:
        {
        integrations_store_val_t  p[2];

        integrations_store_db_text(&p[0], &op->in.lease.name);
        integrations_store_db_text(&p[1], &op->in.lease.holder);

        return integrations_store_db_write(d, c, op, INTEGRATIONS_STORE_TX_WRITE,
                                        INTEGRATIONS_STORE_STMT_LEASE_RELEASE,
                                        p, NULL, 0, NULL);
        }

    case INTEGRATIONS_STORE_OP_OUTBOX_ENQUEUE:
        return integrations_store_db_outbox_enqueue(d, c, op);

    case INTEGRATIONS_STORE_OP_OUTBOX_GET:
        return integrations_store_db_outbox_get(d, c, op);

    case INTEGRATIONS_STORE_OP_OUTBOX_CLAIM:
        return integrations_store_db_outbox_claim(d, c, op);

    case INTEGRATIONS_STORE_OP_OUTBOX_FINISH:
        return integrations_store_db_outbox_finish(d, c, op);

    case INTEGRATIONS_STORE_OP_OUTBOX_RECEIPT:
        return integrations_store_db_outbox_receipt(d, c, op);

    case INTEGRATIONS_STORE_OP_OUTBOX_PURGE:
        {
        integrations_store_val_t  p[2];

        integrations_store_db_int(&p[0], op->in.purge.before);
        integrations_store_db_int(&p[1], op->in.purge.limit);

        return integrations_store_db_write(d, c, op,
                                         INTEGRATIONS_STORE_TX_RELAXED,
                                         INTEGRATIONS_STORE_STMT_OUTBOX_PURGE,
                                         p, NULL, 0, NULL);
        }

    case INTEGRATIONS_STORE_OP_OUTBOX_STATS:
        return integrations_store_db_outbox_stats(d, c, op);

    case INTEGRATIONS_STORE_OP_ORDER_INGEST:
    case INTEGRATIONS_STORE_OP_CURSOR_GET:
    case INTEGRATIONS_STORE_OP_CURSOR_SET:
    case INTEGRATIONS_STORE_OP_ORDER_DUE:
    case INTEGRATIONS_STORE_OP_ORDER_FULFIL:
    case INTEGRATIONS_STORE_OP_ORDER_MESSAGE:
    case INTEGRATIONS_STORE_OP_MARK:
    case INTEGRATIONS_STORE_OP_RETURN_APPLY:
    case INTEGRATIONS_STORE_OP_RETURN_WITHDRAW:
    case INTEGRATIONS_STORE_OP_REVOKE_DUE:
    case INTEGRATIONS_STORE_OP_REVOKE_CALL:
    case INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC:
        return integrations_store_orders_op(d, c, op);

    case INTEGRATIONS_STORE_OP_ACT_LOOKUP:
    case INTEGRATIONS_STORE_OP_ACT_REDEEM:
    case INTEGRATIONS_STORE_OP_ACT_GRANT_FINISH:
    case INTEGRATIONS_STORE_OP_ACT_LIST:
    case INTEGRATIONS_STORE_OP_ACT_ORDER:
    case INTEGRATIONS_STORE_OP_ACT_REVOKE:
    case INTEGRATIONS_STORE_OP_ACT_RESEND:
    case INTEGRATIONS_STORE_OP_ACT_GRANT_SWEEP:
    case INTEGRATIONS_STORE_OP_ACT_QUEUE:
        return integrations_store_db_act(d, c, op);

    default:
        snprintf(E(op), "unknown operation %d", (int) op->kind);
        return INTEGRATIONS_STORE_ERROR;
    }
}


/* ---- connections ------------------------------------------------------- */

static integrations_store_rc_e
integrations_store_db_acquire(integrations_store_pool_t *pool,
    integrations_store_op_t *op, integrations_store_conn_t **c, int *reused)
{
    unsigned                 version;
    uint64_t                 ms;
    struct timespec          ts;
    integrations_store_rc_e  rc;

    pthread_mutex_lock(&pool->mtx);

    for ( ;; ) {

        if (pool->nidle) {
            *reused = 1;
            *c = pool->idle[--pool->nidle];
            integrations_store_db_gauges(pool);
            pthread_mutex_unlock(&pool->mtx);
            return INTEGRATIONS_STORE_OK;
        }

        if (pool->open < pool->max) {
            pool->open++;
            integrations_store_db_gauges(pool);
            pthread_mutex_unlock(&pool->mtx);
            break;
        }

        ms = op->deadline;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000;

        if (pthread_cond_timedwait(&pool->cond, &pool->mtx, &ts) == ETIMEDOUT
            && pool->nidle == 0)
        {
            pthread_mutex_unlock(&pool->mtx);
            snprintf(E(op), "all %u store connections stayed busy past the "
                     "timeout", pool->max);
            return INTEGRATIONS_STORE_TIMEOUT;
        }
    }

    /* a new connection: opened here, in this thread, then migrated */

    *reused = 0;

    rc = pool->driver->open(pool->conf, op->deadline, c, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        rc = integrations_store_db_migrate(pool->driver, *c, op->now,
                                           op->deadline, &version, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            pool->driver->close(*c);
        }
    }

    if (rc != INTEGRATIONS_STORE_OK) {
        pthread_mutex_lock(&pool->mtx);
        pool->open--;
        integrations_store_db_gauges(pool);
        pthread_cond_signal(&pool->cond);
        pthread_mutex_unlock(&pool->mtx);
        *c = NULL;
    }

    return rc;
}


static void
integrations_store_db_release(integrations_store_pool_t *pool,
    integrations_store_conn_t *c, integrations_store_rc_e rc)
{
    int  close;

    /* after a failure of the store itself a connection is not trusted */

    close = pool->driver->broken(c) || rc == INTEGRATIONS_STORE_UNAVAILABLE
            || rc == INTEGRATIONS_STORE_SCHEMA;

    if (close) {
        pool->driver->close(c);
    }

    pthread_mutex_lock(&pool->mtx);

    if (close) {
        pool->open--;

    } else {
        pool->idle[pool->nidle++] = c;
    }

    integrations_store_db_gauges(pool);
    pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->mtx);
}


/* under pool->mtx */

static void
integrations_store_db_gauges(integrations_store_pool_t *pool)
{
    if (pool->open_gauge) {
        __atomic_store_n(pool->open_gauge, (uint64_t) pool->open,
                         __ATOMIC_RELAXED);
    }

    if (pool->busy_gauge) {
        __atomic_store_n(pool->busy_gauge,
                         (uint64_t) (pool->open - pool->nidle),
                         __ATOMIC_RELAXED);
    }
}


/* ---- the schema -------------------------------------------------------- */

integrations_store_rc_e
integrations_store_db_migrate(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, int64_t now, uint64_t deadline,
    unsigned *version, char *err, size_t errlen)
{
    int                                    found;
    size_t                                 first;
    unsigned                               latest;
    integrations_store_rc_e                rc;
    integrations_store_val_t               row[1], p[3];
    const integrations_store_migration_t  *m;

    m = integrations_store_migrations;
    latest = integrations_store_schema_latest(m,
                                              integrations_store_nmigrations);

    /* most connections find the schema current: no lock for that */

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_SCHEMA_VERSION, NULL, row, 1,
                 &found, NULL, deadline, err, errlen);

    if (rc == INTEGRATIONS_STORE_OK && found) {
        *version = (unsigned) row[0].i;

        if (*version == latest) {
            return INTEGRATIONS_STORE_OK;
        }
    }

    /* one migration per transaction, each under the lock */

    for ( ;; ) {

        rc = d->begin(c, INTEGRATIONS_STORE_TX_MIGRATE, deadline, err,
                      errlen);
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_SCHEMA_TABLE, NULL, NULL, 0,
                     NULL, NULL, deadline, err, errlen);

        if (rc == INTEGRATIONS_STORE_OK) {
            found = 0;
            rc = d->exec(c, INTEGRATIONS_STORE_STMT_SCHEMA_VERSION, NULL, row,
                         1, &found, NULL, deadline, err, errlen);
        }

        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        *version = found ? (unsigned) row[0].i : 0;

        if (integrations_store_migrations_pending(m,
                integrations_store_nmigrations, *version, &first)
            != 0)
        {
            snprintf(err, errlen, "the database schema is version %u, newer "
                     "than this module's %u: upgrade the module", *version,
                     latest);
            rc = INTEGRATIONS_STORE_SCHEMA;
            goto failed;
        }

        if (first == integrations_store_nmigrations) {
            return d->end(c, 1, deadline, err, errlen);
        }

        /* the version row first: a second migrator fails on its key */

        integrations_store_db_int(&p[0], m[first].version);
        p[1].type = INTEGRATIONS_STORE_TEXT;
        p[1].p = (const unsigned char *) m[first].name;
        p[1].len = strlen(m[first].name);
        integrations_store_db_int(&p[2], now);

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_SCHEMA_INSERT, p, NULL, 0,
                     NULL, NULL, deadline, err, errlen);

        if (rc == INTEGRATIONS_STORE_OK) {
            rc = d->script(c, (d->backend == INTEGRATIONS_STORE_SQLITE)
                              ? m[first].sqlite : m[first].postgresql,
                           deadline, err, errlen);
        }

        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        rc = d->end(c, 1, deadline, err, errlen);
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }

        *version = m[first].version;
    }

failed:

    (void) d->end(c, 0, deadline, NULL, 0);

    return rc;
}


/* ---- operations -------------------------------------------------------- */

static integrations_store_rc_e
integrations_store_db_probe(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                       found;
    unsigned                  version, latest;
    integrations_store_rc_e   rc;
    integrations_store_val_t  row[1], p[2];

    latest = integrations_store_schema_latest(integrations_store_migrations,
                                              integrations_store_nmigrations);

    /* another node may have changed the schema since this one connected */

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_SCHEMA_VERSION, NULL, row, 1,
                 &found, NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    version = found ? (unsigned) row[0].i : 0;

    if (version != latest) {
        rc = integrations_store_db_migrate(d, c, op->now, op->deadline,
                                           &version, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }
    }

    op->out.probe.version = version;

    /* a write, so that a full disk or a read-only database shows */

    integrations_store_db_text(&p[0], &op->in.probe.node);
    integrations_store_db_int(&p[1], op->now);

    return integrations_store_db_write(d, c, op, INTEGRATIONS_STORE_TX_RELAXED,
                                       INTEGRATIONS_STORE_STMT_HEALTH, p,
                                       NULL, 0, NULL);
}


/*
 * A read first, without the writer lock: a replay, a mismatch or an
 * attempt in flight are answered from it.  Only a key that may be taken
 * (none, expired, or its attempt's lock lapsed) needs the write, which
 * decides again against what is there by then.
 */

static integrations_store_rc_e
integrations_store_db_idem_begin(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                               found, tries;
    integrations_store_rc_e           rc;
    integrations_store_val_t          p[7], row[IDEM_NCOLS];
    integrations_store_idem_begin_t  *in;

    in = &op->in.idem_begin;

    integrations_store_db_text(&p[0], &in->scope);
    integrations_store_db_text(&p[1], &in->key);

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_IDEM_GET, p, row, IDEM_NCOLS,
                 &found, NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    if (found && integrations_store_db_idem_verdict(op, row)) {
        return INTEGRATIONS_STORE_OK;
    }

    integrations_store_db_text(&p[2], &in->request_hash);
    integrations_store_db_int(&p[3], in->owner);
    integrations_store_db_int(&p[4], op->now + in->lock_ms);
    integrations_store_db_int(&p[5], op->now);
    integrations_store_db_int(&p[6], op->now + in->ttl_ms);

    /*
     * The claim need not survive a power cut: lost, it only lets the
     * retry claim again (and call the provider again, with the same
     * provider key).  What must survive, the answer, is written by
     * IDEM_FINISH with a durable commit, which makes the claim durable
     * too.  So a first request waits for the disk once, not twice.
     */

    for (tries = 0; tries < 3; tries++) {

        rc = d->begin(c, INTEGRATIONS_STORE_TX_RELAXED, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }

        found = 0;

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_IDEM_CLAIM, p, row, 1,
                     &found, NULL, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        if (found) {
            rc = d->end(c, 1, op->deadline, E(op));
            if (rc == INTEGRATIONS_STORE_OK) {
                op->out.idem_begin.verdict = INTEGRATIONS_STORE_IDEM_NEW;
            }

            return rc;
        }

        /* taken: what by? */

        found = 0;

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_IDEM_GET, p, row, IDEM_NCOLS,
                     &found, NULL, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        if (found && integrations_store_db_idem_verdict(op, row)) {
            return d->end(c, 1, op->deadline, E(op));
        }

        /* released or purged in between (PostgreSQL): once more */

        rc = d->end(c, 1, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }
    }

    op->out.idem_begin.verdict = INTEGRATIONS_STORE_IDEM_IN_FLIGHT;
    op->out.idem_begin.retry_ms = 100;

    return INTEGRATIONS_STORE_OK;

failed:

    (void) d->end(c, 0, op->deadline, NULL, 0);

    return rc;
}


/* 1: the row decides (out set); 0: the key may be taken */

static int
integrations_store_db_idem_verdict(integrations_store_op_t *op,
    integrations_store_val_t *row)
{
    size_t                                   clen, blen;
    unsigned char                           *p;
    integrations_store_idem_begin_t         *in;
    integrations_store_idem_begin_result_t  *out;

    in = &op->in.idem_begin;
    out = &op->out.idem_begin;

    if (row[IDEM_EXPIRES].i <= op->now) {
        return 0;
    }

    if (row[IDEM_HASH].len != in->request_hash.len
        || memcmp(row[IDEM_HASH].p, in->request_hash.data,
                  in->request_hash.len) != 0)
    {
        out->verdict = INTEGRATIONS_STORE_IDEM_MISMATCH;
        return 1;
    }

    if (row[IDEM_STATE].i == IDEM_DONE) {
        clen = (row[IDEM_CTYPE].type == INTEGRATIONS_STORE_NULL)
               ? 0 : row[IDEM_CTYPE].len;
        blen = (row[IDEM_BODY].type == INTEGRATIONS_STORE_NULL)
               ? 0 : row[IDEM_BODY].len;

        free(op->result);

        op->result = malloc(clen + blen + 1);
        if (op->result == NULL) {
            return 0;
        }

        p = op->result;

        if (clen) {
            memcpy(p, row[IDEM_CTYPE].p, clen);
        }

        if (blen) {
            memcpy(p + clen, row[IDEM_BODY].p, blen);
        }

        out->verdict = INTEGRATIONS_STORE_IDEM_REPLAY;
        out->status = (unsigned) row[IDEM_STATUS].i;
        out->content_type.data = p;
        out->content_type.len = clen;
        out->body.data = p + clen;
        out->body.len = blen;

        return 1;
    }

    if (row[IDEM_OWNER].i == in->owner) {
        /* this attempt's own claim, run again: still ours */
        out->verdict = INTEGRATIONS_STORE_IDEM_NEW;
        return 1;
    }

    if (row[IDEM_LOCKED].i > op->now) {
        out->verdict = INTEGRATIONS_STORE_IDEM_IN_FLIGHT;
        out->retry_ms = row[IDEM_LOCKED].i - op->now;
        return 1;
    }

    return 0;
}


/* ---- the notification outbox ------------------------------------------ */

/*
 * Results that hold bytes are built in two growable buffers, structs in
 * one and their bytes in the other, with offsets where the pointers go
 * (offset + 1: 0 stays NULL, SQL NULL); at the end both are copied into
 * one block, op->result, and the offsets made pointers.
 */

typedef struct {
    unsigned char  *p;
    size_t          len;
    size_t          size;
    int             failed;
} integrations_store_grow_t;


static size_t
integrations_store_grow_add(integrations_store_grow_t *g, const void *data,
    size_t n, int nul)
{
    size_t          off, size;
    unsigned char  *p;

    if (g->failed) {
        return 0;
    }

    if (g->len + n + 1 > g->size) {
        size = g->size ? g->size : 1024;

        while (size < g->len + n + 1) {
            size *= 2;
        }

        p = realloc(g->p, size);
        if (p == NULL) {
            g->failed = 1;
            return 0;
        }

        g->p = p;
        g->size = size;
    }

    off = g->len;

    if (n) {
        memcpy(g->p + off, data, n);
    }

    g->len += n;

    if (nul) {
        g->p[g->len++] = '\0';
    }

    return off;
}


/* a text or blob value kept in bytes: its offset + 1, or NULL */

static void
integrations_store_grow_keep(integrations_store_grow_t *bytes,
    const integrations_store_val_t *v, integrations_store_bytes_t *b)
{
    size_t  off;

    if (v->type == INTEGRATIONS_STORE_NULL || v->type == INTEGRATIONS_STORE_INT)
    {
        b->data = NULL;
        b->len = 0;
        return;
    }

    off = integrations_store_grow_add(bytes, v->p, v->len, 1);

    b->data = (const unsigned char *) (uintptr_t) (off + 1);
    b->len = v->len;
}


static void
integrations_store_grow_fix(integrations_store_bytes_t *b,
    const unsigned char *base)
{
    if (b->data) {
        b->data = base + ((uintptr_t) b->data - 1);
    }
}


/* structs then bytes, in one malloc'd block: op->result */

static unsigned char *
integrations_store_grow_done(integrations_store_op_t *op,
    integrations_store_grow_t *structs, integrations_store_grow_t *bytes,
    unsigned char **base)
{
    unsigned char  *p;

    free(op->result);
    op->result = NULL;

    if (structs->failed || bytes->failed) {
        return NULL;
    }

    /* the bytes after the structs, aligned for them */

    p = malloc(structs->len + bytes->len + 1);
    if (p == NULL) {
        return NULL;
    }

    if (structs->len) {
        memcpy(p, structs->p, structs->len);
    }

    if (bytes->len) {
        memcpy(p + structs->len, bytes->p, bytes->len);
    }

    *base = p + structs->len;
    op->result = p;

    return p;
}


static void
integrations_store_grow_free(integrations_store_grow_t *g)
{
    free(g->p);
    g->p = NULL;
    g->len = 0;
    g->size = 0;
}


integrations_store_rc_e
integrations_store_db_outbox_insert(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, const integrations_store_outbox_item_t *items,
    size_t n, int64_t now, uint64_t deadline,
    integrations_store_outbox_result_t *results, char *err, size_t errlen)
{
    size_t                   i;
    integrations_store_rc_e  rc;

    for (i = 0; i < n; i++) {
        rc = integrations_store_db_outbox_one(d, c, &items[i], now, deadline,
                                              &results[i], err, errlen);
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }
    }

    return INTEGRATIONS_STORE_OK;
}


/* the columns of STMT_OUTBOX_KEY_GET */
enum {
    KEY_ID = 0,
    KEY_HASH,
    KEY_EXPIRES,
    KEY_STATE,
    KEY_NCOLS
};


static integrations_store_rc_e
integrations_store_db_outbox_one(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, const integrations_store_outbox_item_t *it,
    int64_t now, uint64_t deadline, integrations_store_outbox_result_t *res,
    char *err, size_t errlen)
{
    int                       found, keyed;
    int64_t                   changed;
    integrations_store_rc_e   rc;
    integrations_store_val_t  p[20], k[2], row[KEY_NCOLS];

    memset(res, 0, sizeof(integrations_store_outbox_result_t));

    keyed = (it->idem_key.data != NULL);

    if (keyed) {
        integrations_store_db_text(&k[0],
                                   (integrations_store_bytes_t *) &it->scope);
        integrations_store_db_text(&k[1],
                                (integrations_store_bytes_t *) &it->idem_key);

        found = 0;

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_KEY_GET, k, row,
                     KEY_NCOLS, &found, NULL, deadline, err, errlen);
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }

        if (found) {
            if (integrations_store_db_outbox_verdict(it, now, row, res)) {
                return INTEGRATIONS_STORE_OK;
            }

            /* the key's time is over: its first keeps its row, not it */

            rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_KEY_RELEASE, k,
                         NULL, 0, NULL, NULL, deadline, err, errlen);
            if (rc != INTEGRATIONS_STORE_OK) {
                return rc;
            }
        }
    }

    integrations_store_db_text(&p[0], (integrations_store_bytes_t *) &it->id);
    integrations_store_db_text(&p[1],
                               (integrations_store_bytes_t *) &it->scope);
    integrations_store_db_bytes(&p[2], &it->idem_key);
    integrations_store_db_bytes(&p[3], &it->idem_hash);
    integrations_store_db_int(&p[4], now + it->idem_ttl_ms);
    integrations_store_db_text(&p[5],
                               (integrations_store_bytes_t *) &it->channel);
    integrations_store_db_text(&p[6],
                               (integrations_store_bytes_t *) &it->provider);
    integrations_store_db_text(&p[7],
                               (integrations_store_bytes_t *) &it->recipient);
    integrations_store_db_text(&p[8],
                          (integrations_store_bytes_t *) &it->recipient_mask);
    integrations_store_db_bytes(&p[9], &it->template_name);
    integrations_store_db_bytes(&p[10], &it->subject);
    integrations_store_db_bytes(&p[11], &it->text);
    integrations_store_db_bytes(&p[12], &it->html);
    integrations_store_db_bytes(&p[13], &it->variables);
    integrations_store_db_bytes(&p[14], &it->template_id);
    integrations_store_db_int(&p[15], it->sms_type);
    integrations_store_db_int(&p[16], it->fallback);
    integrations_store_db_int(&p[17], it->send_at > now ? it->send_at : now);
    integrations_store_db_int(&p[18], now);
    integrations_store_db_int(&p[19], it->expires_at);

    if (!keyed) {
        p[4].type = INTEGRATIONS_STORE_NULL;
    }

    changed = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_INSERT, p, NULL, 0, NULL,
                 &changed, deadline, err, errlen);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    res->verdict = INTEGRATIONS_STORE_OUTBOX_NEW;
    res->state = INTEGRATIONS_STORE_NOTIFY_QUEUED;

    if (changed == 1 || !keyed) {
        /* inserted, or (no key) its id is there: this insert, run again */
        return INTEGRATIONS_STORE_OK;
    }

    /* the key was taken meanwhile (PostgreSQL: another transaction) */

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_KEY_GET, k, row, KEY_NCOLS,
                 &found, NULL, deadline, err, errlen);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    if (found && integrations_store_db_outbox_verdict(it, now, row, res)) {
        return INTEGRATIONS_STORE_OK;
    }

    snprintf(err, errlen, "a notification could not be inserted, nor its "
             "key's first found");

    return INTEGRATIONS_STORE_ERROR;
}


/* 1: the key's row decides (res set); 0: the key has expired */

static int
integrations_store_db_outbox_verdict(const integrations_store_outbox_item_t *it,
    int64_t now, integrations_store_val_t *row,
    integrations_store_outbox_result_t *res)
{
    size_t  n;

    if (row[KEY_ID].len == it->id.len
        && memcmp(row[KEY_ID].p, it->id.data, it->id.len) == 0)
    {
        /* this very item, inserted by this transaction run before */
        res->verdict = INTEGRATIONS_STORE_OUTBOX_NEW;
        res->state = (int) row[KEY_STATE].i;
        return 1;
    }

    if (row[KEY_EXPIRES].type == INTEGRATIONS_STORE_INT
        && row[KEY_EXPIRES].i <= now)
    {
        return 0;
    }

    if (row[KEY_HASH].len == it->idem_hash.len
        && memcmp(row[KEY_HASH].p, it->idem_hash.data, it->idem_hash.len)
           == 0)
    {
        res->verdict = INTEGRATIONS_STORE_OUTBOX_REPLAY;

    } else {
        res->verdict = INTEGRATIONS_STORE_OUTBOX_MISMATCH;
    }

    res->state = (int) row[KEY_STATE].i;

    n = row[KEY_ID].len;
    if (n > INTEGRATIONS_STORE_OUTBOX_ID_MAX) {
        n = INTEGRATIONS_STORE_OUTBOX_ID_MAX;
    }

    memcpy(res->id, row[KEY_ID].p, n);
    res->id[n] = '\0';

    return 1;
}


static integrations_store_rc_e
integrations_store_db_outbox_enqueue(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    integrations_store_rc_e               rc;
    integrations_store_outbox_enqueue_t  *in;

    in = &op->in.outbox_enqueue;

    rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    rc = integrations_store_db_outbox_insert(d, c, in->items, in->n, op->now,
                                             op->deadline, in->results,
                                             E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        (void) d->end(c, 0, op->deadline, NULL, 0);
        return rc;
    }

    return d->end(c, 1, op->deadline, E(op));
}


/* the columns of STMT_OUTBOX_GET and STMT_OUTBOX_ATTEMPTS */
enum {
    GET_ID = 0,
    GET_STATE,
    GET_CHANNEL,
    GET_PROVIDER,
    GET_MASK,
    GET_TEMPLATE,
    GET_ATTEMPTS,
    GET_NEXT,
    GET_MESSAGE,
    GET_ERROR,
    GET_CREATED,
    GET_UPDATED,
    GET_FALLBACK,
    GET_NCOLS
};

enum {
    ATT_ATTEMPT = 0,
    ATT_AT,
    ATT_PROVIDER,
    ATT_MESSAGE,
    ATT_OUTCOME,
    ATT_ERROR,
    ATT_STATUS,
    ATT_DURATION,
    ATT_NCOLS
};


typedef struct {
    integrations_store_grow_t  structs;
    integrations_store_grow_t  bytes;
    size_t                     n;
} integrations_store_rows_t;


static int
integrations_store_db_attempt_row(void *data,
    const integrations_store_val_t *row, unsigned ncols)
{
    integrations_store_rows_t *x = data;

    integrations_store_outbox_attempt_t  a;

    (void) ncols;

    memset(&a, 0, sizeof(a));

    a.attempt = (unsigned) row[ATT_ATTEMPT].i;
    a.at = row[ATT_AT].i;
    a.http_status = (unsigned) row[ATT_STATUS].i;
    a.duration_ms = row[ATT_DURATION].i;
    integrations_store_grow_keep(&x->bytes, &row[ATT_PROVIDER], &a.provider);
    integrations_store_grow_keep(&x->bytes, &row[ATT_MESSAGE], &a.message_id);
    integrations_store_grow_keep(&x->bytes, &row[ATT_OUTCOME], &a.outcome);
    integrations_store_grow_keep(&x->bytes, &row[ATT_ERROR], &a.error);

    (void) integrations_store_grow_add(&x->structs, &a, sizeof(a), 0);
    x->n++;

    return (x->structs.failed || x->bytes.failed) ? -1 : 0;
}


static integrations_store_rc_e
integrations_store_db_outbox_get(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                                      found;
    size_t                                   i;
    unsigned char                           *base;
    integrations_store_rc_e                  rc;
    integrations_store_val_t                 p[2], row[GET_NCOLS];
    integrations_store_rows_t                x;
    integrations_store_outbox_attempt_t     *a;
    integrations_store_outbox_get_result_t  *out;

    out = &op->out.outbox_get;
    memset(out, 0, sizeof(integrations_store_outbox_get_result_t));
    memset(&x, 0, sizeof(integrations_store_rows_t));

    integrations_store_db_text(&p[0], &op->in.outbox_get.id);
    integrations_store_db_text(&p[1], &op->in.outbox_get.scope);

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_GET, p, row, GET_NCOLS,
                 &found, NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK || !found) {
        return rc;
    }

    /* kept before the next statement reuses the row */

    out->found = 1;
    out->state = (int) row[GET_STATE].i;
    out->fallback = (int) row[GET_FALLBACK].i;
    out->attempts = row[GET_ATTEMPTS].i;
    out->next_attempt_at = row[GET_NEXT].i;
    out->created_at = row[GET_CREATED].i;
    out->updated_at = row[GET_UPDATED].i;
    integrations_store_grow_keep(&x.bytes, &row[GET_ID], &out->id);
    integrations_store_grow_keep(&x.bytes, &row[GET_CHANNEL], &out->channel);
    integrations_store_grow_keep(&x.bytes, &row[GET_PROVIDER],
                                 &out->provider);
    integrations_store_grow_keep(&x.bytes, &row[GET_MASK],
                                 &out->recipient_mask);
    integrations_store_grow_keep(&x.bytes, &row[GET_TEMPLATE],
                                 &out->template_name);
    integrations_store_grow_keep(&x.bytes, &row[GET_MESSAGE],
                                 &out->message_id);
    integrations_store_grow_keep(&x.bytes, &row[GET_ERROR], &out->error);

    rc = d->query(c, INTEGRATIONS_STORE_STMT_OUTBOX_ATTEMPTS, p, ATT_NCOLS,
                  integrations_store_db_attempt_row, &x, op->deadline,
                  E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        if (integrations_store_grow_done(op, &x.structs, &x.bytes, &base)
            == NULL)
        {
            snprintf(E(op), "out of memory");
            rc = INTEGRATIONS_STORE_ERROR;

        } else {
            integrations_store_grow_fix(&out->id, base);
            integrations_store_grow_fix(&out->channel, base);
            integrations_store_grow_fix(&out->provider, base);
            integrations_store_grow_fix(&out->recipient_mask, base);
            integrations_store_grow_fix(&out->template_name, base);
            integrations_store_grow_fix(&out->message_id, base);
            integrations_store_grow_fix(&out->error, base);

            a = (integrations_store_outbox_attempt_t *) op->result;
            out->attempt = x.n ? a : NULL;
            out->nattempts = x.n;

            for (i = 0; i < x.n; i++) {
                integrations_store_grow_fix(&a[i].provider, base);
                integrations_store_grow_fix(&a[i].message_id, base);
                integrations_store_grow_fix(&a[i].outcome, base);
                integrations_store_grow_fix(&a[i].error, base);
            }
        }
    }

    if (rc != INTEGRATIONS_STORE_OK) {
        memset(out, 0, sizeof(integrations_store_outbox_get_result_t));
    }

    integrations_store_grow_free(&x.structs);
    integrations_store_grow_free(&x.bytes);

    return rc;
}


/* the columns of STMT_OUTBOX_CLAIM */
enum {
    CLAIM_ID = 0,
    CLAIM_ATTEMPTS,
    CLAIM_RECLAIMED,
    CLAIM_CHANNEL,
    CLAIM_PROVIDER,
    CLAIM_RECIPIENT,
    CLAIM_MASK,
    CLAIM_SUBJECT,
    CLAIM_TEXT,
    CLAIM_HTML,
    CLAIM_VARIABLES,
    CLAIM_TEMPLATE_ID,
    CLAIM_SMS_TYPE,
    CLAIM_FALLBACK,
    CLAIM_CREATED,
    CLAIM_EXPIRES,
    CLAIM_LAST_DELAY,
    CLAIM_NCOLS
};


static int
integrations_store_db_claim_row(void *data, const integrations_store_val_t *row,
    unsigned ncols)
{
    integrations_store_rows_t *x = data;

    integrations_store_outbox_row_t  r;

    (void) ncols;

    memset(&r, 0, sizeof(r));

    r.attempts = row[CLAIM_ATTEMPTS].i;
    r.reclaimed = (int) row[CLAIM_RECLAIMED].i;
    r.sms_type = (int) row[CLAIM_SMS_TYPE].i;
    r.fallback = (int) row[CLAIM_FALLBACK].i;
    r.created_at = row[CLAIM_CREATED].i;
    r.expires_at = row[CLAIM_EXPIRES].i;
    r.last_delay = row[CLAIM_LAST_DELAY].i;
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_ID], &r.id);
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_CHANNEL], &r.channel);
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_PROVIDER], &r.provider);
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_RECIPIENT],
                                 &r.recipient);
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_MASK],
                                 &r.recipient_mask);
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_SUBJECT], &r.subject);
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_TEXT], &r.text);
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_HTML], &r.html);
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_VARIABLES],
                                 &r.variables);
    integrations_store_grow_keep(&x->bytes, &row[CLAIM_TEMPLATE_ID],
                                 &r.template_id);

    (void) integrations_store_grow_add(&x->structs, &r, sizeof(r), 0);
    x->n++;

    return (x->structs.failed || x->bytes.failed) ? -1 : 0;
}


/*
 * A read first, without the writer lock: most polls find nothing due.
 * The claim itself commits durably before anything is sent, so that a
 * power cut cannot forget that a send may have begun.
 */

static integrations_store_rc_e
integrations_store_db_outbox_claim(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                                  found;
    size_t                               i;
    unsigned char                       *base;
    integrations_store_rc_e              rc;
    integrations_store_val_t             p[6], q[4], row[1];
    integrations_store_rows_t            x;
    integrations_store_outbox_row_t     *r;
    integrations_store_outbox_claim_t   *in;

    in = &op->in.outbox_claim;
    op->out.outbox_claim.n = 0;
    op->out.outbox_claim.rows = NULL;

    integrations_store_db_text(&p[0], &in->provider);
    integrations_store_db_int(&p[1], op->now);

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_DUE, p, row, 1, &found,
                 NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK || !found || in->limit <= 0) {
        return rc;
    }

    integrations_store_db_text(&p[0], &in->holder);
    integrations_store_db_int(&p[1], in->attempt_id);
    integrations_store_db_int(&p[2], op->now + in->lease_ms);
    integrations_store_db_int(&p[3], op->now);
    integrations_store_db_int(&p[4], in->limit);
    integrations_store_db_text(&p[5], &in->provider);

    memset(&x, 0, sizeof(integrations_store_rows_t));

    rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    /* the rows their owners asked to cancel end first, never claimed */

    integrations_store_db_text(&q[0], &in->provider);
    integrations_store_db_int(&q[1], in->attempt_id);
    integrations_store_db_int(&q[2], op->now);
    integrations_store_db_int(&q[3], INTEGRATIONS_STORE_OUTBOX_CANCEL_MAX);

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_CANCEL_DUE, q, NULL, 0,
                 NULL, NULL, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        rc = d->query(c, INTEGRATIONS_STORE_STMT_OUTBOX_CLAIM, p,
                      CLAIM_NCOLS, integrations_store_db_claim_row, &x,
                      op->deadline, E(op));
    }

    if (rc == INTEGRATIONS_STORE_OK) {
        rc = d->end(c, 1, op->deadline, E(op));

    } else {
        (void) d->end(c, 0, op->deadline, NULL, 0);
    }

    if (rc == INTEGRATIONS_STORE_OK && x.n) {
        if (integrations_store_grow_done(op, &x.structs, &x.bytes, &base)
            == NULL)
        {
            /* claimed, not handed out: the lease lets them go again */
            snprintf(E(op), "out of memory");
            rc = INTEGRATIONS_STORE_ERROR;

        } else {
            r = (integrations_store_outbox_row_t *) op->result;

            for (i = 0; i < x.n; i++) {
                integrations_store_grow_fix(&r[i].id, base);
                integrations_store_grow_fix(&r[i].channel, base);
                integrations_store_grow_fix(&r[i].provider, base);
                integrations_store_grow_fix(&r[i].recipient, base);
                integrations_store_grow_fix(&r[i].recipient_mask, base);
                integrations_store_grow_fix(&r[i].subject, base);
                integrations_store_grow_fix(&r[i].text, base);
                integrations_store_grow_fix(&r[i].html, base);
                integrations_store_grow_fix(&r[i].variables, base);
                integrations_store_grow_fix(&r[i].template_id, base);
            }

            op->out.outbox_claim.n = x.n;
            op->out.outbox_claim.rows = r;
        }
    }

    integrations_store_grow_free(&x.structs);
    integrations_store_grow_free(&x.bytes);

    return rc;
}


static integrations_store_rc_e
integrations_store_db_outbox_finish(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    size_t                                   i;
    int64_t                                  changed;
    integrations_store_rc_e                  rc;
    integrations_store_val_t                 p[11];
    integrations_store_outbox_finish_t      *in;
    integrations_store_outbox_finish_rec_t  *f;

    in = &op->in.outbox_finish;

    rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    for (i = 0; i < in->n; i++) {
        f = &in->recs[i];

        integrations_store_db_text(&p[0], &f->id);
        integrations_store_db_int(&p[1], f->attempt_id);
        integrations_store_db_int(&p[2], f->state);
        integrations_store_db_int(&p[3], f->next_attempt_at);
        integrations_store_db_bytes(&p[4], &f->message_id);
        integrations_store_db_bytes(&p[5], &f->error);
        integrations_store_db_int(&p[6], f->last_delay);
        integrations_store_db_text(&p[7], &f->provider);
        integrations_store_db_int(&p[8], f->fallback);
        integrations_store_db_int(&p[9], f->uncount);
        integrations_store_db_int(&p[10], op->now);

        changed = 0;

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_FINISH, p, NULL, 0,
                     NULL, &changed, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        f->stored = (changed > 0);

        if (f->stored && f->alert) {
            rc = integrations_store_db_outbox_one(d, c, f->alert, op->now,
                                                  op->deadline,
                                                  &f->alert_result, E(op));
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }
        }

        if (f->attempt == 0) {
            continue;
        }

        integrations_store_db_text(&p[0], &f->id);
        integrations_store_db_int(&p[1], f->attempt_id);
        integrations_store_db_int(&p[2], f->attempt);
        integrations_store_db_int(&p[3], f->at);
        integrations_store_db_text(&p[4], &f->attempt_provider);
        integrations_store_db_bytes(&p[5], &f->message_id);
        integrations_store_db_text(&p[6], &f->outcome);
        integrations_store_db_bytes(&p[7], &f->error);
        integrations_store_db_int(&p[8], f->http_status);
        integrations_store_db_int(&p[9], f->duration_ms);

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_ATTEMPT, p, NULL, 0,
                     NULL, NULL, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }
    }

    return d->end(c, 1, op->deadline, E(op));

failed:

    (void) d->end(c, 0, op->deadline, NULL, 0);

    return rc;
}


static integrations_store_rc_e
integrations_store_db_outbox_receipt(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                                          found;
    unsigned char                               *m;
    integrations_store_rc_e                      rc;
    integrations_store_val_t                     p[5], row[2];
    integrations_store_outbox_receipt_t         *in;
    integrations_store_outbox_receipt_result_t  *out;

    in = &op->in.outbox_receipt;
    out = &op->out.outbox_receipt;
    memset(out, 0, sizeof(integrations_store_outbox_receipt_result_t));

    integrations_store_db_text(&p[0], &in->provider);
    integrations_store_db_text(&p[1], &in->message_id);
    integrations_store_db_int(&p[2], in->state);
    integrations_store_db_bytes(&p[3], &in->error);
    integrations_store_db_int(&p[4], op->now);

    rc = d->begin(c, INTEGRATIONS_STORE_TX_WRITE, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_RECEIPT, p, row, 2, &found,
                 NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        (void) d->end(c, 0, op->deadline, NULL, 0);
        return rc;
    }

    if (found) {
        free(op->result);

        op->result = malloc(row[0].len + row[1].len + 2);
        if (op->result == NULL) {
            (void) d->end(c, 0, op->deadline, NULL, 0);
            snprintf(E(op), "out of memory");
            return INTEGRATIONS_STORE_ERROR;
        }

        m = op->result;
        memcpy(m, row[0].p, row[0].len);
        m[row[0].len] = '\0';
        memcpy(m + row[0].len + 1, row[1].p, row[1].len);
        m[row[0].len + 1 + row[1].len] = '\0';

        out->found = 1;
        out->id.data = m;
        out->id.len = row[0].len;
        out->channel.data = m + row[0].len + 1;
        out->channel.len = row[1].len;
    }

    rc = d->end(c, 1, op->deadline, E(op));

    if (rc != INTEGRATIONS_STORE_OK) {
        memset(out, 0, sizeof(integrations_store_outbox_receipt_result_t));
    }

    return rc;
}


static integrations_store_rc_e
integrations_store_db_outbox_stats(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                       found;
    integrations_store_rc_e   rc;
    integrations_store_val_t  p[1], row[3];

    memset(&op->out.outbox_stats, 0, sizeof(integrations_store_outbox_stats_t));

    integrations_store_db_int(&p[0], op->now);

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_OUTBOX_STATS, p, row, 3, &found,
                 NULL, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK && found) {
        op->out.outbox_stats.depth = row[0].i;
        op->out.outbox_stats.due = row[1].i;
        op->out.outbox_stats.oldest_due_at =
                            (row[1].i > 0 && row[2].i <= op->now) ? row[2].i
                                                                  : 0;
    }

    return rc;
}


/*
 * One statement in a write transaction; out.changed is its row count.
 * Durable (TX_WRITE) unless losing it in a power cut is harmless.
 */

static integrations_store_rc_e
integrations_store_db_write(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op,
    integrations_store_tx_e tx, integrations_store_stmt_e stmt,
    integrations_store_val_t *p, integrations_store_val_t *row,
    unsigned ncols, int *found)
{
    int64_t                  changed;
    integrations_store_rc_e  rc;

    rc = d->begin(c, tx, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    changed = 0;

    rc = d->exec(c, stmt, p, row, ncols, found, &changed, op->deadline,
                 E(op));

    if (rc != INTEGRATIONS_STORE_OK) {
        (void) d->end(c, 0, op->deadline, NULL, 0);
        return rc;
    }

    rc = d->end(c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK && op->kind != INTEGRATIONS_STORE_OP_PROBE
        && op->kind != INTEGRATIONS_STORE_OP_LEASE_ACQUIRE)
    {
        op->out.changed = changed;
    }

    return rc;
}


void
integrations_store_db_text(integrations_store_val_t *v,
    const integrations_store_bytes_t *b)
{
    v->type = INTEGRATIONS_STORE_TEXT;
    v->i = 0;
    v->p = b->data ? b->data : (const unsigned char *) "";
    v->len = b->len;
}


void
integrations_store_db_int(integrations_store_val_t *v, int64_t i)
{
    v->type = INTEGRATIONS_STORE_INT;
    v->i = i;
    v->p = NULL;
    v->len = 0;
}


/* bytes with data NULL as SQL NULL */

static void
integrations_store_db_bytes(integrations_store_val_t *v,
    const integrations_store_bytes_t *b)
{
    v->i = 0;

    if (b->data == NULL) {
        v->type = INTEGRATIONS_STORE_NULL;
        v->p = NULL;
        v->len = 0;
        return;
    }

    v->type = INTEGRATIONS_STORE_TEXT;
    v->p = b->data;
    v->len = b->len;
}
