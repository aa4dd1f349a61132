/*
 * The store's domain operations against a real database, without nginx:
 * SQLite in a temporary directory always, and PostgreSQL as well when
 * STORE_TEST_PG names one (t/lib/Store.pm exports it for the integration
 * tests; "make unit" alone runs SQLite only).  The same checks run on
 * both backends.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "integrations_store.h"
#include "integrations_store_db.h"


static const char  *backend;


static void
t_conf(integrations_store_conf_t *conf, const char *url)
{
    const char  *err;

    memset(conf, 0, sizeof(integrations_store_conf_t));

    if (integrations_store_url_parse((const unsigned char *) url,
                                     strlen(url), &conf->url, &err)
        != 0)
    {
        printf("Bail out! bad URL %s: %s\n", url, err);
        exit(1);
    }

    conf->timeout = 5000;
    conf->connect_timeout = 2000;
    conf->pool = 2;
}


static void
t_op(integrations_store_op_t *op, integrations_store_kind_e kind,
    int64_t now)
{
    integrations_store_op_clear(op);
    memset(op, 0, sizeof(integrations_store_op_t));
    op->kind = kind;
    op->now = now;
    op->deadline = integrations_store_clock() + 5000;
}


#define B(s)  ((integrations_store_bytes_t) { (const unsigned char *) (s),     \
                                              strlen(s) })

static void
t_begin(integrations_store_op_t *op, const char *key, const char *hash,
    int64_t owner, int64_t now, int64_t lock_ms, int64_t ttl_ms)
{
    t_op(op, INTEGRATIONS_STORE_OP_IDEM_BEGIN, now);
    op->in.idem_begin.scope = B("scope-a");
    op->in.idem_begin.key = B(key);
    op->in.idem_begin.request_hash = B(hash);
    op->in.idem_begin.owner = owner;
    op->in.idem_begin.lock_ms = lock_ms;
    op->in.idem_begin.ttl_ms = ttl_ms;
}


static void
t_finish(integrations_store_op_t *op, const char *key, int64_t owner,
    unsigned status, const char *body, int64_t now)
{
    t_op(op, INTEGRATIONS_STORE_OP_IDEM_FINISH, now);
    op->in.idem_finish.scope = B("scope-a");
    op->in.idem_finish.key = B(key);
    op->in.idem_finish.owner = owner;
    op->in.idem_finish.status = status;
    op->in.idem_finish.content_type = B("application/json");
    op->in.idem_finish.body = B(body);
}


static void
t_lease(integrations_store_op_t *op, integrations_store_kind_e kind,
    const char *holder, int64_t now)
{
    t_op(op, kind, now);
    op->in.lease.name = B("cleanup");
    op->in.lease.holder = B(holder);
    op->in.lease.ttl_ms = 1000;
}


static void
t_probe(integrations_store_pool_t *pool, integrations_store_op_t *op,
    int64_t now)
{
    t_op(op, INTEGRATIONS_STORE_OP_PROBE, now);
    op->in.probe.node = B("unit");
    integrations_store_db_run(pool, op);
}


typedef struct {
    const char               *url;
    integrations_store_rc_e   rc;
    unsigned                  version;
} t_migrator_t;


static void *
t_migrator(void *data)
{
    t_migrator_t               *m = data;
    integrations_store_op_t     op;
    integrations_store_conf_t   conf;
    integrations_store_pool_t   pool;

    memset(&op, 0, sizeof(op));
    t_conf(&conf, m->url);
    integrations_store_pool_init(&pool, &conf);
    t_probe(&pool, &op, 1000);
    m->rc = op.rc;
    m->version = op.out.probe.version;
    integrations_store_pool_destroy(&pool);

    return NULL;
}


/* a connection of url's backend, whose driver is *d, or bail out */

static integrations_store_conn_t *
t_open(const char *url, const integrations_store_driver_t **d)
{
    char                        err[256];
    integrations_store_conn_t  *c;
    integrations_store_conf_t   conf;

    t_conf(&conf, url);
    *d = (conf.url.backend == INTEGRATIONS_STORE_SQLITE)
         ? &integrations_store_sqlite_driver : &integrations_store_pg_driver;

    if ((*d)->open(&conf, integrations_store_clock() + 5000, &c, err,
                   sizeof(err))
        != INTEGRATIONS_STORE_OK)
    {
        printf("Bail out! open: %s\n", err);
        exit(1);
    }

    return c;
}


static void
t_script(const char *url, const char *sql)
{
    char                        err[256];
    integrations_store_rc_e     rc;
    integrations_store_conn_t  *c;
    const integrations_store_driver_t  *d;

    c = t_open(url, &d);

    rc = d->script(c, sql, integrations_store_clock() + 5000, err,
                   sizeof(err));
    ok(rc == INTEGRATIONS_STORE_OK, "[%s] setup: %s", backend,
       rc == INTEGRATIONS_STORE_OK ? "ok" : err);
    d->close(c);
}


static void
run_suite(const char *url)
{
    int                        i;
    unsigned                   latest;
    pthread_t                  th[4];
    t_migrator_t               mig[4];
    integrations_store_op_t    op;
    integrations_store_conf_t  conf;
    integrations_store_pool_t  pool;

    memset(&op, 0, sizeof(op));
    latest = integrations_store_schema_latest(integrations_store_migrations,
                                              integrations_store_nmigrations);

    t_script(url, "DROP TABLE IF EXISTS integrations_orders;"
                  "DROP TABLE IF EXISTS integrations_order_items;"
                  "DROP TABLE IF EXISTS integrations_activations;"
                  "DROP TABLE IF EXISTS integrations_activation_links;"
                  "DROP TABLE IF EXISTS integrations_order_events;"
                  "DROP TABLE IF EXISTS integrations_coupang_returns;"
                  "DROP TABLE IF EXISTS integrations_coupang_inquiries;"
                  "DROP TABLE IF EXISTS integrations_alert_marks;"
                  "DROP TABLE IF EXISTS integrations_job_cursors;"
                  "DROP TABLE IF EXISTS integrations_idempotency;"
                  "DROP TABLE IF EXISTS integrations_leases;"
                  "DROP TABLE IF EXISTS integrations_health;"
                  "DROP TABLE IF EXISTS integrations_schema");

    /* four migrators at once on a fresh database: each sees it current */

    for (i = 0; i < 4; i++) {
        mig[i].url = url;
        pthread_create(&th[i], NULL, t_migrator, &mig[i]);
    }

    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok(mig[i].rc == INTEGRATIONS_STORE_OK && mig[i].version == latest,
           "[%s] concurrent migrator %d: rc %s, version %u", backend, i,
           integrations_store_rc_name(mig[i].rc), mig[i].version);
    }

    t_conf(&conf, url);
    ok(integrations_store_pool_init(&pool, &conf) == 0, "[%s] pool", backend);

    t_probe(&pool, &op, 1000);
    ok(op.rc == INTEGRATIONS_STORE_OK, "[%s] probe: %s", backend,
       op.rc == INTEGRATIONS_STORE_OK ? "ok" : op.error);
    is_int(op.out.probe.version, latest, "[%s] schema at the latest version",
           backend);

    /* a new key, a duplicate in flight, the answer, a replay */

    t_begin(&op, "k1", "hash-1", 11, 10000, 30000, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK
       && op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_NEW,
       "[%s] a new key is ours", backend);

    /* the same claim again (a connection lost after its commit) */

    t_begin(&op, "k1", "hash-1", 11, 10100, 30000, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK
       && op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_NEW,
       "[%s] the same attempt claiming again is still ours", backend);

    t_begin(&op, "k1", "hash-1", 12, 10500, 30000, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_IN_FLIGHT,
       "[%s] the same key meanwhile is in flight", backend);
    is_int(op.out.idem_begin.retry_ms, 29500, "[%s]   until its lock lapses",
           backend);

    t_begin(&op, "k1", "hash-2", 12, 10500, 30000, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_MISMATCH,
       "[%s] another request with the key meanwhile: mismatch", backend);

    t_finish(&op, "k1", 99, 201, "{\"x\":1}", 11000);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 0,
       "[%s] another owner cannot finish it (fenced)", backend);

    t_finish(&op, "k1", 11, 201, "{\"x\":1}\0tail", 11000);
    op.in.idem_finish.body.len = 13;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 1,
       "[%s] its owner stores the answer", backend);

    t_begin(&op, "k1", "hash-1", 13, 12000, 30000, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_REPLAY,
       "[%s] the same request replays", backend);
    is_int(op.out.idem_begin.status, 201, "[%s]   its status", backend);
    ok(op.out.idem_begin.body.len == 13
       && memcmp(op.out.idem_begin.body.data, "{\"x\":1}\0tail", 13) == 0,
       "[%s]   its body, byte for byte (a NUL inside)", backend);
    ok(op.out.idem_begin.content_type.len == 16
       && memcmp(op.out.idem_begin.content_type.data, "application/json",
                 16) == 0, "[%s]   its content type", backend);

    t_begin(&op, "k1", "hash-2", 13, 12000, 30000, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_MISMATCH,
       "[%s] another request with a used key: mismatch", backend);

    t_finish(&op, "k1", 11, 500, "x", 13000);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 0,
       "[%s] a stored answer is never overwritten", backend);

    /* scopes: the same key elsewhere is another record */

    t_begin(&op, "k1", "hash-2", 14, 12000, 30000, 86400000);
    op.in.idem_begin.scope = B("scope-b");
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_NEW,
       "[%s] the same key in another scope is new", backend);

    /* a release lets the next attempt in */

    t_begin(&op, "k2", "hash-1", 21, 10000, 30000, 86400000);
    integrations_store_db_run(&pool, &op);

    t_op(&op, INTEGRATIONS_STORE_OP_IDEM_RELEASE, 10100);
    op.in.idem_release.scope = B("scope-a");
    op.in.idem_release.key = B("k2");
    op.in.idem_release.owner = 21;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 1,
       "[%s] a released attempt is gone", backend);

    t_begin(&op, "k2", "hash-1", 22, 10200, 30000, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_NEW,
       "[%s] the retry after a release is new", backend);

    /* a lapsed lock (its worker died): the same request takes it over */

    t_begin(&op, "k3", "hash-1", 31, 10000, 100, 86400000);
    integrations_store_db_run(&pool, &op);

    t_begin(&op, "k3", "hash-2", 32, 10200, 100, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_MISMATCH,
       "[%s] a lapsed attempt is not taken by another request", backend);

    t_begin(&op, "k3", "hash-1", 33, 10200, 100, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_NEW,
       "[%s] a lapsed attempt is taken over by the same request", backend);

    t_finish(&op, "k3", 31, 201, "old", 10300);
    integrations_store_db_run(&pool, &op);
    ok(op.out.changed == 0, "[%s] the lapsed owner is fenced out", backend);

    /* expiry: an expired record is none */

    t_begin(&op, "k4", "hash-1", 41, 10000, 100, 1000);
    integrations_store_db_run(&pool, &op);
    t_finish(&op, "k4", 41, 201, "a", 10050);
    integrations_store_db_run(&pool, &op);

    t_begin(&op, "k4", "hash-2", 42, 11000, 100, 1000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_NEW,
       "[%s] an expired key is new again, any request", backend);

    /* purge in batches: k4 (expires 12000) and five more */

    for (i = 0; i < 5; i++) {
        char  key[8];

        snprintf(key, sizeof(key), "p%d", i);
        t_begin(&op, key, "h", 50 + i, 10000, 100, 500);
        op.in.idem_begin.key.data = (const unsigned char *) key;
        op.in.idem_begin.key.len = strlen(key);
        integrations_store_db_run(&pool, &op);
    }

    t_op(&op, INTEGRATIONS_STORE_OP_IDEM_PURGE, 11000);
    op.in.purge.limit = 2;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 2,
       "[%s] purge deletes a batch of 2", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_IDEM_PURGE, 11000);
    op.in.purge.limit = 10;
    integrations_store_db_run(&pool, &op);
    is_int(op.out.changed, 3, "[%s] then the other 3 expired ones", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_IDEM_PURGE, 11000);
    op.in.purge.limit = 10;
    integrations_store_db_run(&pool, &op);
    is_int(op.out.changed, 0, "[%s] then none: live ones stay", backend);

    t_begin(&op, "k1", "hash-1", 15, 12000, 30000, 86400000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.idem_begin.verdict == INTEGRATIONS_STORE_IDEM_REPLAY,
       "[%s] a live record survives the purge", backend);

    /* leases and their fencing tokens */

    t_lease(&op, INTEGRATIONS_STORE_OP_LEASE_ACQUIRE, "node-a", 10000);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.lease.acquired
       && op.out.lease.token == 1, "[%s] a first holder: token 1", backend);

    t_lease(&op, INTEGRATIONS_STORE_OP_LEASE_ACQUIRE, "node-b", 10500);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && !op.out.lease.acquired,
       "[%s] a second holder waits", backend);

    t_lease(&op, INTEGRATIONS_STORE_OP_LEASE_ACQUIRE, "node-a", 10800);
    integrations_store_db_run(&pool, &op);
    ok(op.out.lease.acquired && op.out.lease.token == 1,
       "[%s] the holder renews, same token", backend);

    t_lease(&op, INTEGRATIONS_STORE_OP_LEASE_ACQUIRE, "node-b", 12000);
    integrations_store_db_run(&pool, &op);
    ok(op.out.lease.acquired && op.out.lease.token == 2,
       "[%s] an expired lease moves: token 2", backend);

    t_lease(&op, INTEGRATIONS_STORE_OP_LEASE_RELEASE, "node-b", 12100);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK, "[%s] release", backend);

    t_lease(&op, INTEGRATIONS_STORE_OP_LEASE_ACQUIRE, "node-a", 12200);
    integrations_store_db_run(&pool, &op);
    ok(op.out.lease.acquired && op.out.lease.token == 3,
       "[%s] a released lease moves at once: token 3", backend);

    /* a deadline already past: nothing runs */

    t_begin(&op, "k9", "hash-1", 91, 10000, 100, 1000);
    op.deadline = integrations_store_clock() - 1;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_TIMEOUT, "[%s] a past deadline times out",
       backend);

    integrations_store_pool_destroy(&pool);

    /* a schema newer than this module is refused */

    t_script(url, "INSERT INTO integrations_schema (version, name, applied_at)"
                  " VALUES (999, 'from the future', 0)");

    integrations_store_pool_init(&pool, &conf);
    t_probe(&pool, &op, 1000);
    ok(op.rc == INTEGRATIONS_STORE_SCHEMA, "[%s] a newer schema is refused",
       backend);
    ok(strstr(op.error, "999") && strstr(op.error, "upgrade"),
       "[%s]   saying so: %s", backend, op.error);
    integrations_store_pool_destroy(&pool);

    t_script(url, "DELETE FROM integrations_schema WHERE version = 999");

    integrations_store_op_clear(&op);
}


/*
 * The SQLite writer lock is not held back for long: one thread commits
 * back to back, taking the lock again a microsecond after each release,
 * while another asks for it once.  Polling alone would never see it free
 * (the retaking thread always got there first); a waiter that starves
 * says so, and the other lets it in.
 */

typedef struct {
    const char        *url;
    volatile int       stop;
    int                commits;
} t_hog_t;


static void *
t_hog(void *data)
{
    t_hog_t  *h = data;

    char                        err[256];
    struct timespec             ts = { 0, 1000000 };
    integrations_store_conn_t  *c;
    const integrations_store_driver_t  *d;

    c = t_open(h->url, &d);

    while (!h->stop) {
        if (d->begin(c, INTEGRATIONS_STORE_TX_RELAXED,
                     integrations_store_clock() + 5000, err, sizeof(err))
            != INTEGRATIONS_STORE_OK)
        {
            break;
        }

        nanosleep(&ts, NULL);        /* a 1 ms transaction */

        (void) d->end(c, 1, integrations_store_clock() + 5000, err,
                      sizeof(err));
        h->commits++;
    }

    d->close(c);

    return NULL;
}


static void
t_lock_fairness(const char *url)
{
    char                        err[256];
    uint64_t                    t0, waited;
    pthread_t                   th;
    t_hog_t                     hog;
    struct timespec             ts = { 0, 20000000 };
    integrations_store_rc_e     rc;
    integrations_store_conn_t  *c;
    const integrations_store_driver_t  *d;

    memset(&hog, 0, sizeof(t_hog_t));
    hog.url = url;
    c = t_open(url, &d);

    pthread_create(&th, NULL, t_hog, &hog);
    nanosleep(&ts, NULL);

    t0 = integrations_store_clock();
    rc = d->begin(c, INTEGRATIONS_STORE_TX_RELAXED, t0 + 2000, err,
                  sizeof(err));
    waited = integrations_store_clock() - t0;

    ok(rc == INTEGRATIONS_STORE_OK && waited < 500, "[sqlite] the writer "
       "lock, retaken back to back by another connection, is ours in %lu "
       "ms (%s)", (unsigned long) waited,
       rc == INTEGRATIONS_STORE_OK ? "ok" : err);

    if (rc == INTEGRATIONS_STORE_OK) {
        (void) d->end(c, 1, integrations_store_clock() + 5000, err,
                      sizeof(err));
    }

    hog.stop = 1;
    pthread_join(th, NULL);
    ok(hog.commits > 0, "[sqlite] the other committed meanwhile (%d)",
       hog.commits);
    d->close(c);
}


int
main(void)
{
    char         dir[] = "/tmp/test_store_db-XXXXXX", url[256], path[256];
    const char  *pg;
    struct stat  st;

    if (mkdtemp(dir) == NULL) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }

    backend = "sqlite";
    snprintf(url, sizeof(url), "sqlite:%s/store.db", dir);
    run_suite(url);

    snprintf(path, sizeof(path), "%s/store.db-lock", dir);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
       "[sqlite] the writer lock's file is 0600");

    t_lock_fairness(url);

    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    if (system(path) != 0) {
        diag("could not remove %s", dir);
    }

    pg = getenv("STORE_TEST_PG");

    if (pg && pg[0]) {
        backend = "postgresql";
        run_suite(pg);

    } else {
        diag("STORE_TEST_PG is not set: PostgreSQL skipped here (the "
             "integration tests run it)");
    }

    return done_testing();
}
