/*
 * The notification outbox's store operations against a real database,
 * without nginx: SQLite in a temporary directory always, and PostgreSQL
 * as well when STORE_TEST_PG names one (t/store_db.t starts one and runs
 * this with it).  The same checks run on both backends.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "integrations_store.h"
#include "integrations_store_db.h"


static const char  *backend;


#define B(s)  ((integrations_store_bytes_t) { (const unsigned char *) (s),     \
                                              strlen(s) })
#define NB    ((integrations_store_bytes_t) { NULL, 0 })


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
    conf->pool = 4;
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


static void
t_item(integrations_store_outbox_item_t *it, const char *id,
    const char *key, const char *hash, const char *provider)
{
    memset(it, 0, sizeof(integrations_store_outbox_item_t));
    it->id = B(id);
    it->scope = B("scope-a");
    it->idem_key = key ? B(key) : NB;
    it->idem_hash = hash ? B(hash) : NB;
    it->idem_ttl_ms = 86400000;
    it->channel = B("sms");
    it->provider = B(provider);
    it->recipient = B("01012345678");
    it->recipient_mask = B("010-****-5678");
    it->template_name = B("welcome");
    it->text = B("안녕하세요 홍길동님");
    it->sms_type = 0;
    it->fallback = 0;
    it->send_at = 0;
    it->expires_at = 1000000000;
}


static void
t_enqueue(integrations_store_pool_t *pool, integrations_store_op_t *op,
    integrations_store_outbox_item_t *items, size_t n,
    integrations_store_outbox_result_t *res, int64_t now)
{
    t_op(op, INTEGRATIONS_STORE_OP_OUTBOX_ENQUEUE, now);
    op->in.outbox_enqueue.items = items;
    op->in.outbox_enqueue.n = n;
    op->in.outbox_enqueue.results = res;
    integrations_store_db_run(pool, op);
}


static void
t_claim(integrations_store_pool_t *pool, integrations_store_op_t *op,
    const char *provider, int64_t attempt_id, int64_t limit, int64_t lease,
    int64_t now)
{
    t_op(op, INTEGRATIONS_STORE_OP_OUTBOX_CLAIM, now);
    op->in.outbox_claim.provider = B(provider);
    op->in.outbox_claim.holder = B("unit:1");
    op->in.outbox_claim.attempt_id = attempt_id;
    op->in.outbox_claim.lease_ms = lease;
    op->in.outbox_claim.limit = limit;
    integrations_store_db_run(pool, op);
}


static void
t_get(integrations_store_pool_t *pool, integrations_store_op_t *op,
    const char *id, const char *scope)
{
    t_op(op, INTEGRATIONS_STORE_OP_OUTBOX_GET, 5000);
    op->in.outbox_get.id = B(id);
    op->in.outbox_get.scope = B(scope);
    integrations_store_db_run(pool, op);
}


static void
t_fin(integrations_store_outbox_finish_rec_t *f, const char *id,
    int64_t attempt_id, int state, int64_t next, const char *message_id,
    unsigned attempt, const char *outcome)
{
    memset(f, 0, sizeof(integrations_store_outbox_finish_rec_t));
    f->id = B(id);
    f->attempt_id = attempt_id;
    f->state = state;
    f->next_attempt_at = next;
    f->provider = B("solapi");
    f->message_id = message_id ? B(message_id) : NB;
    f->error = (state == INTEGRATIONS_STORE_NOTIFY_SENT) ? NB : B("http_503");
    f->attempt = attempt;
    f->at = 3000 + attempt;
    f->attempt_provider = B("solapi");
    f->outcome = B(outcome);
    f->http_status = (state == INTEGRATIONS_STORE_NOTIFY_SENT) ? 200 : 503;
    f->duration_ms = 12;
}


static void
t_finish(integrations_store_pool_t *pool, integrations_store_op_t *op,
    integrations_store_outbox_finish_rec_t *f, size_t n, int64_t now)
{
    t_op(op, INTEGRATIONS_STORE_OP_OUTBOX_FINISH, now);
    op->in.outbox_finish.recs = f;
    op->in.outbox_finish.n = n;
    integrations_store_db_run(pool, op);
}


static int
t_bytes_is(integrations_store_bytes_t b, const char *s)
{
    if (s == NULL) {
        return b.data == NULL;
    }

    return b.data && b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}


/* n-3's row in a claim, with its bytes right */

static int
t_has_n3(integrations_store_op_t *op)
{
    size_t                            i;
    integrations_store_outbox_row_t  *r;

    r = op->out.outbox_claim.rows;

    for (i = 0; i < op->out.outbox_claim.n; i++) {
        if (t_bytes_is(r[i].id, "n-3")) {
            return t_bytes_is(r[i].subject, "제목")
                   && t_bytes_is(r[i].text, "안녕하세요 홍길동님")
                   && t_bytes_is(r[i].html, NULL)
                   && t_bytes_is(r[i].variables, "{\"#{name}\":\"kim\"}");
        }
    }

    return 0;
}


/* two claimers at once: no row is handed to both */

typedef struct {
    integrations_store_pool_t  *pool;
    int64_t                     attempt_id;
    size_t                      got;
    char                        ids[200][16];
} t_claimer_t;


static void *
t_claimer(void *data)
{
    t_claimer_t              *t = data;
    size_t                    i;
    integrations_store_op_t   op;

    memset(&op, 0, sizeof(op));

    for ( ;; ) {
        t_claim(t->pool, &op, "race", t->attempt_id, 7, 60000, 9000);

        if (op.rc != INTEGRATIONS_STORE_OK) {
            diag("claim: %s", op.error);
            break;
        }

        if (op.out.outbox_claim.n == 0) {
            break;
        }

        for (i = 0; i < op.out.outbox_claim.n && t->got < 200; i++) {
            snprintf(t->ids[t->got++], 16, "%.*s",
                     (int) op.out.outbox_claim.rows[i].id.len,
                     op.out.outbox_claim.rows[i].id.data);
        }
    }

    integrations_store_op_clear(&op);

    return NULL;
}


/* the transactional outbox: rolled back with what it announced */

static void
t_in_transaction(const char *url)
{
    char                                 err[256];
    integrations_store_rc_e              rc;
    integrations_store_conn_t           *c;
    integrations_store_conf_t            conf;
    integrations_store_outbox_item_t     it[2];
    integrations_store_outbox_result_t   res[2];
    const integrations_store_driver_t   *d;
    uint64_t                             deadline;

    t_conf(&conf, url);
    d = (conf.url.backend == INTEGRATIONS_STORE_SQLITE)
        ? &integrations_store_sqlite_driver : &integrations_store_pg_driver;
    deadline = integrations_store_clock() + 5000;

    rc = d->open(&conf, deadline, &c, err, sizeof(err));
    if (rc != INTEGRATIONS_STORE_OK) {
        printf("Bail out! open: %s\n", err);
        exit(1);
    }

    t_item(&it[0], "tx-1", "order-1", "h1", "tx");
    t_item(&it[1], "tx-2", NULL, NULL, "tx");

    rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, deadline, err,
                  sizeof(err));
    if (rc == INTEGRATIONS_STORE_OK) {
        rc = integrations_store_db_outbox_insert(d, c, it, 2, 1000, deadline,
                                                 res, err, sizeof(err));
    }

    ok(rc == INTEGRATIONS_STORE_OK
       && res[0].verdict == INTEGRATIONS_STORE_OUTBOX_NEW
       && res[1].verdict == INTEGRATIONS_STORE_OUTBOX_NEW,
       "[%s] outbox_insert inside a transaction", backend);
    (void) d->end(c, 0, deadline, NULL, 0);

    /* rolled back: the key is free, the rows are not there */

    rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, deadline, err,
                  sizeof(err));
    if (rc == INTEGRATIONS_STORE_OK) {
        rc = integrations_store_db_outbox_insert(d, c, it, 1, 1000, deadline,
                                                 res, err, sizeof(err));
    }

    ok(rc == INTEGRATIONS_STORE_OK
       && res[0].verdict == INTEGRATIONS_STORE_OUTBOX_NEW,
       "[%s]   rolled back with its transaction: the key is new again",
       backend);

    if (rc == INTEGRATIONS_STORE_OK) {
        rc = d->end(c, 1, deadline, err, sizeof(err));
    }

    ok(rc == INTEGRATIONS_STORE_OK, "[%s]   committed the second time",
       backend);

    d->close(c);
}


static void
run_suite(const char *url)
{
    int                                      found;
    size_t                                   i, j, dup;
    pthread_t                                th[2];
    t_claimer_t                             *cl;
    integrations_store_op_t                  op;
    integrations_store_conf_t                conf;
    integrations_store_pool_t                pool;
    integrations_store_outbox_row_t         *r;
    integrations_store_outbox_item_t        *items;
    integrations_store_outbox_result_t      *res;
    integrations_store_outbox_finish_rec_t   f[3];
    char                                     (*ids)[16];

    memset(&op, 0, sizeof(op));
    t_conf(&conf, url);
    integrations_store_pool_init(&pool, &conf);

    items = calloc(1000, sizeof(integrations_store_outbox_item_t));
    res = calloc(1000, sizeof(integrations_store_outbox_result_t));
    ids = calloc(1000, 16);

    /* enqueue: three, one with a key */

    t_item(&items[0], "n-1", "key-1", "hash-1", "solapi");
    t_item(&items[1], "n-2", NULL, NULL, "solapi");
    t_item(&items[2], "n-3", NULL, NULL, "solapi");
    items[1].send_at = 1001;       /* claimed in this order */
    items[2].send_at = 1002;
    items[2].subject = B("제목");
    items[2].variables = B("{\"#{name}\":\"kim\"}");

    t_enqueue(&pool, &op, items, 3, res, 1000);
    ok(op.rc == INTEGRATIONS_STORE_OK, "[%s] enqueue three: %s", backend,
       op.error);
    ok(res[0].verdict == INTEGRATIONS_STORE_OUTBOX_NEW
       && res[1].verdict == INTEGRATIONS_STORE_OUTBOX_NEW
       && res[2].verdict == INTEGRATIONS_STORE_OUTBOX_NEW,
       "[%s]   all new", backend);

    /* the same transaction run again (a lost connection): the same */

    t_enqueue(&pool, &op, items, 3, res, 1000);
    ok(op.rc == INTEGRATIONS_STORE_OK
       && res[0].verdict == INTEGRATIONS_STORE_OUTBOX_NEW
       && res[1].verdict == INTEGRATIONS_STORE_OUTBOX_NEW,
       "[%s]   run twice: still new, no second row", backend);

    /* the same key: the first; another request with it: a mismatch */

    t_item(&items[0], "n-1b", "key-1", "hash-1", "solapi");
    t_item(&items[1], "n-1c", "key-1", "hash-other", "solapi");
    t_enqueue(&pool, &op, items, 2, res, 2000);
    ok(op.rc == INTEGRATIONS_STORE_OK
       && res[0].verdict == INTEGRATIONS_STORE_OUTBOX_REPLAY
       && strcmp(res[0].id, "n-1") == 0
       && res[0].state == INTEGRATIONS_STORE_NOTIFY_QUEUED,
       "[%s] the same key and request: the first (%s)", backend, res[0].id);
    ok(res[1].verdict == INTEGRATIONS_STORE_OUTBOX_MISMATCH
       && strcmp(res[1].id, "n-1") == 0,
       "[%s]   another request with the key: a mismatch", backend);

    /* past the key's time it is new again; the first keeps its row */

    t_item(&items[0], "n-1d", "key-1", "hash-1", "solapi");
    t_enqueue(&pool, &op, items, 1, res, 1000 + 86400000 + 1);
    ok(op.rc == INTEGRATIONS_STORE_OK
       && res[0].verdict == INTEGRATIONS_STORE_OUTBOX_NEW,
       "[%s] after 24 h the key is new again", backend);

    t_get(&pool, &op, "n-1", "scope-a");
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_get.found,
       "[%s]   and its first is still there", backend);

    /* GET */

    t_get(&pool, &op, "n-3", "scope-a");
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_get.found
       && op.out.outbox_get.state == INTEGRATIONS_STORE_NOTIFY_QUEUED
       && t_bytes_is(op.out.outbox_get.channel, "sms")
       && t_bytes_is(op.out.outbox_get.recipient_mask, "010-****-5678")
       && t_bytes_is(op.out.outbox_get.message_id, NULL)
       && op.out.outbox_get.nattempts == 0
       && op.out.outbox_get.created_at == 1000,
       "[%s] get: queued, no attempts", backend);

    t_get(&pool, &op, "n-3", "scope-b");
    ok(op.rc == INTEGRATIONS_STORE_OK && !op.out.outbox_get.found,
       "[%s]   not from another client's scope", backend);

    /* claim: in order, two at a time, under a lease */

    t_claim(&pool, &op, "solapi", 77, 2, 60000, 3000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 2,
       "[%s] claim two of the due rows: %zu", backend,
       op.out.outbox_claim.n);
    r = op.out.outbox_claim.rows;
    ok(r && r[0].attempts == 1 && !r[0].reclaimed
       && t_bytes_is(r[0].recipient, "01012345678")
       && t_bytes_is(r[0].provider, "solapi")
       && r[0].expires_at == 1000000000 && r[0].created_at == 1000,
       "[%s]   a claimed row: attempt 1, its fields", backend);

    found = t_has_n3(&op);

    t_claim(&pool, &op, "solapi", 78, 10, 60000, 3000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 1,
       "[%s]   the next claim gets the third", backend);

    found += t_has_n3(&op);
    ok(found == 1, "[%s]   its bytes, NULL kept apart from empty", backend);

    t_claim(&pool, &op, "solapi", 79, 10, 60000, 3000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 0,
       "[%s]   then none (n-1d is not due before its time)", backend);
    t_claim(&pool, &op, "other", 79, 10, 60000, 1e12);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 0,
       "[%s]   another provider's claim takes none of them", backend);

    /* finish: fenced by the attempt id */

    t_fin(&f[0], "n-2", 77, INTEGRATIONS_STORE_NOTIFY_SENT, 0, "M-2", 1,
          "sent");
    t_fin(&f[1], "n-3", 1, INTEGRATIONS_STORE_NOTIFY_SENT, 0, "M-3", 1,
          "sent");
    t_finish(&pool, &op, f, 2, 4000);
    ok(op.rc == INTEGRATIONS_STORE_OK && f[0].stored && !f[1].stored,
       "[%s] finish: stored for the holder, fenced out for another attempt",
       backend);

    t_finish(&pool, &op, f, 1, 4000);
    ok(op.rc == INTEGRATIONS_STORE_OK && f[0].stored,
       "[%s]   run twice: the same", backend);

    t_get(&pool, &op, "n-2", "scope-a");
    ok(op.rc == INTEGRATIONS_STORE_OK
       && op.out.outbox_get.state == INTEGRATIONS_STORE_NOTIFY_SENT
       && t_bytes_is(op.out.outbox_get.message_id, "M-2")
       && op.out.outbox_get.nattempts == 1
       && op.out.outbox_get.attempt[0].attempt == 1
       && t_bytes_is(op.out.outbox_get.attempt[0].message_id, "M-2")
       && t_bytes_is(op.out.outbox_get.attempt[0].outcome, "sent")
       && op.out.outbox_get.attempt[0].http_status == 200,
       "[%s]   get: sent, one attempt with its message id", backend);

    /* a retry: queued again at its time, not before */

    t_fin(&f[0], "n-1", 77, INTEGRATIONS_STORE_NOTIFY_QUEUED, 5000, NULL, 1,
          "retry");
    f[0].last_delay = 2000;
    t_finish(&pool, &op, f, 1, 3000);
    ok(op.rc == INTEGRATIONS_STORE_OK && f[0].stored, "[%s] a retry at 5000",
       backend);
    t_claim(&pool, &op, "solapi", 80, 10, 60000, 4999);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 0,
       "[%s]   not due at 4999", backend);
    t_claim(&pool, &op, "solapi", 81, 10, 100, 5000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 1
       && op.out.outbox_claim.rows[0].attempts == 2
       && op.out.outbox_claim.rows[0].last_delay == 2000,
       "[%s]   due at 5000: attempt 2", backend);

    /* its sender dies: due again when the lease lapses, reclaimed */

    t_claim(&pool, &op, "solapi", 82, 10, 60000, 5099);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 0,
       "[%s] a live lease is not taken", backend);
    t_claim(&pool, &op, "solapi", 83, 10, 60000, 5100);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 1
       && op.out.outbox_claim.rows[0].reclaimed == 1
       && op.out.outbox_claim.rows[0].attempts == 3,
       "[%s]   a lapsed one is, marked reclaimed", backend);

    /* the dead sender's late finish is fenced out */

    t_fin(&f[0], "n-1", 81, INTEGRATIONS_STORE_NOTIFY_SENT, 0, "M-late", 2,
          "sent");
    t_finish(&pool, &op, f, 1, 5200);
    ok(op.rc == INTEGRATIONS_STORE_OK && !f[0].stored,
       "[%s]   the old holder's finish is fenced out", backend);

    /* a limiter said no: nothing attempted, the attempt does not count */

    t_fin(&f[0], "n-1", 83, INTEGRATIONS_STORE_NOTIFY_QUEUED, 6000, NULL, 0,
          "limited");
    f[0].uncount = 1;
    t_finish(&pool, &op, f, 1, 5300);
    t_claim(&pool, &op, "solapi", 84, 10, 60000, 6000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 1
       && op.out.outbox_claim.rows[0].attempts == 3
       && op.out.outbox_claim.rows[0].reclaimed == 0,
       "[%s] an uncounted attempt: the next is attempt 3 again", backend);

    t_fin(&f[0], "n-1", 84, INTEGRATIONS_STORE_NOTIFY_UNKNOWN, 0, NULL, 3,
          "unknown");
    t_finish(&pool, &op, f, 1, 6100);
    t_get(&pool, &op, "n-1", "scope-a");
    ok(op.rc == INTEGRATIONS_STORE_OK
       && op.out.outbox_get.state == INTEGRATIONS_STORE_NOTIFY_UNKNOWN
       && op.out.outbox_get.nattempts == 3
       && t_bytes_is(op.out.outbox_get.attempt[2].outcome, "unknown"),
       "[%s]   unknown, with every attempt (the fenced one too): %zu",
       backend, op.out.outbox_get.nattempts);

    /* receipts */

    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_RECEIPT, 7000);
    op.in.outbox_receipt.provider = B("solapi");
    op.in.outbox_receipt.message_id = B("M-2");
    op.in.outbox_receipt.state = INTEGRATIONS_STORE_NOTIFY_DELIVERED;
    op.in.outbox_receipt.error = NB;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_receipt.found
       && t_bytes_is(op.out.outbox_receipt.id, "n-2")
       && t_bytes_is(op.out.outbox_receipt.channel, "sms"),
       "[%s] a receipt: delivered (%s)", backend, op.error);

    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_receipt.found,
       "[%s]   the same receipt again: the same", backend);

    op.in.outbox_receipt.state = INTEGRATIONS_STORE_NOTIFY_FAILED;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && !op.out.outbox_receipt.found,
       "[%s]   a delivered one does not become failed", backend);

    op.in.outbox_receipt.message_id = B("M-none");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && !op.out.outbox_receipt.found,
       "[%s]   an unknown message id moves nothing", backend);

    t_get(&pool, &op, "n-2", "scope-a");
    ok(op.out.outbox_get.state == INTEGRATIONS_STORE_NOTIFY_DELIVERED,
       "[%s]   get: delivered", backend);

    /* bulk: a thousand in one transaction */

    for (i = 0; i < 1000; i++) {
        snprintf(ids[i], 16, "b-%zu", i);
        t_item(&items[i], ids[i], NULL, NULL, "bulk");
    }

    t_enqueue(&pool, &op, items, 1000, res, 8000);
    ok(op.rc == INTEGRATIONS_STORE_OK
       && res[999].verdict == INTEGRATIONS_STORE_OUTBOX_NEW,
       "[%s] bulk: 1000 in one operation", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_STATS, 9000);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_stats.depth == 1002
       && op.out.outbox_stats.due == 1000
       && op.out.outbox_stats.oldest_due_at == 8000,
       "[%s] stats: depth %lld, due %lld, oldest due %lld", backend,
       (long long) op.out.outbox_stats.depth,
       (long long) op.out.outbox_stats.due,
       (long long) op.out.outbox_stats.oldest_due_at);

    /* two claimers at once: every row once */

    for (i = 0; i < 100; i++) {
        snprintf(ids[i], 16, "r-%zu", i);
        t_item(&items[i], ids[i], NULL, NULL, "race");
    }

    t_enqueue(&pool, &op, items, 100, res, 8000);

    cl = calloc(2, sizeof(t_claimer_t));

    for (i = 0; i < 2; i++) {
        cl[i].pool = &pool;
        cl[i].attempt_id = 100 + i;
        pthread_create(&th[i], NULL, t_claimer, &cl[i]);
    }

    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }

    dup = 0;

    for (i = 0; i < cl[0].got; i++) {
        for (j = 0; j < cl[1].got; j++) {
            if (strcmp(cl[0].ids[i], cl[1].ids[j]) == 0) {
                dup++;
            }
        }
    }

    ok(cl[0].got + cl[1].got == 100 && dup == 0,
       "[%s] two claimers at once: %zu + %zu rows, %zu given to both",
       backend, cl[0].got, cl[1].got, dup);
    free(cl);

    /* retention: final rows created before the cutoff, with attempts */

    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_PURGE, 10000);
    op.in.purge.before = 1000;
    op.in.purge.limit = 100;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 2,
       "[%s] purge: the two final rows created at 1000: %lld", backend,
       (long long) op.out.changed);

    t_get(&pool, &op, "n-1", "scope-a");
    ok(op.rc == INTEGRATIONS_STORE_OK && !op.out.outbox_get.found,
       "[%s]   gone", backend);
    t_get(&pool, &op, "n-3", "scope-a");
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_get.found,
       "[%s]   one still sending stays", backend);

    /* its attempts went with it: a new row of the same id has none */

    t_item(&items[0], "n-1", NULL, NULL, "solapi");
    t_enqueue(&pool, &op, items, 1, res, 11000);
    t_get(&pool, &op, "n-1", "scope-a");
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_get.found
       && op.out.outbox_get.nattempts == 0,
       "[%s]   and its attempts with it", backend);

    integrations_store_op_clear(&op);
    integrations_store_pool_destroy(&pool);

    t_in_transaction(url);

    free(items);
    free(res);
    free(ids);
}


int
main(void)
{
    char         dir[] = "/tmp/test_store_outbox-XXXXXX", url[256],
                 cmd[300];
    const char  *pg;

    if (mkdtemp(dir) == NULL) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }

    backend = "sqlite";
    snprintf(url, sizeof(url), "sqlite:%s/store.db", dir);
    run_suite(url);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        diag("could not remove %s", dir);
    }

    pg = getenv("STORE_TEST_PG");

    if (pg && pg[0]) {
        backend = "postgresql";
        run_suite(pg);

    } else {
        diag("STORE_TEST_PG is not set: PostgreSQL skipped here "
             "(t/store_db.t runs it)");
    }

    return done_testing();
}
