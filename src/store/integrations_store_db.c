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

    case INTEGRATIONS_STORE_OP_ACT_LOOKUP:
    case INTEGRATIONS_STORE_OP_ACT_REDEEM:
    case INTEGRATIONS_STORE_OP_ACT_GRANT_FINISH:
    case INTEGRATIONS_STORE_OP_ACT_LIST:
    case INTEGRATIONS_STORE_OP_ACT_ORDER:
    case INTEGRATIONS_STORE_OP_ACT_REVOKE:
    case INTEGRATIONS_STORE_OP_ACT_RESEND:
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
