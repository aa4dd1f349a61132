/*
 * The durable store's nginx glue: see ngx_http_integrations_store.h.
 *
 * Where things run.  The directive adds a thread pool of its own,
 * "integrations_store" (thread pools exist only when the configuration is
 * read); each worker, at its start, sets up its connection pool (the
 * connections themselves are opened by the threads, after the fork), and
 * every operation is a task of that pool: the thread runs it with
 * integrations_store_db_run(), nginx hands the finished task back to the
 * event loop (ngx_notify), and the completion below delivers the result.
 * The event loop never touches SQLite or libpq.
 *
 * Health, in shared memory for all workers: unknown, up, down, or refused
 * (a schema newer than ours).  A failure of the store itself moves it to
 * down, a success to up; the process that makes the change logs it, so
 * the error log has one line per change, not one per request.  While it
 * is not up, operations are declined at once, and one probe a second
 * (from whichever worker claims it) tries again; while it is up, a probe
 * every few seconds notices what operations would not (a schema that
 * another node upgraded).
 *
 * The master creates a SQLite database's files (0600, owned by the
 * workers' user) so that the directory need not be writable by the
 * workers; nginx -t touches no database.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "integrations_store.h"
#include "integrations_store_db.h"
#include "integrations_store_sqlite.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_secret.h"
#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_store.h"


#if !(NGX_THREADS)
#error "integrations_store needs nginx built --with-threads"
#endif


#define NGX_HTTP_STORE_MAGIC          0x49535452  /* "ISTR" */
#define NGX_HTTP_STORE_VERSION        1
#define NGX_HTTP_STORE_SLOTS          64
#define NGX_HTTP_STORE_BUCKETS        12
#define NGX_HTTP_STORE_PROBE          1000        /* ms, while not up */
#define NGX_HTTP_STORE_CHECK          5000        /* ms, while up */
#define NGX_HTTP_STORE_RETRY_AFTER    2           /* s */
#define NGX_HTTP_STORE_QUEUE          1024        /* ops per worker */
#define NGX_HTTP_STORE_CLEANUPS       8

#define NGX_HTTP_STORE_UNKNOWN        0
#define NGX_HTTP_STORE_UP             1
#define NGX_HTTP_STORE_DOWN           2
#define NGX_HTTP_STORE_REFUSED        3

#define NGX_HTTP_STORE_NRC            (INTEGRATIONS_STORE_ERROR + 1)

/* the state word: a generation above, the state in the low byte */
#define ngx_http_store_state(w)       ((w) & 0xff)
#define ngx_http_store_next(w, st)    (((((w) >> 8) + 1) << 8) | (st))


extern ngx_module_t  ngx_thread_pool_module;


typedef struct {
    integrations_store_kind_e      kind;
    ngx_msec_t                     interval;
    ngx_uint_t                     batch;
    ngx_msec_t                     age;         /* 0: expired by itself */
} ngx_http_integrations_store_cleanup_t;


typedef struct {
    ngx_flag_t                     enabled;
    ngx_str_t                      url_text;    /* for logs, no secrets */
    integrations_store_conf_t      conf;
    ngx_uint_t                     threads;
    ngx_thread_pool_t             *tp;
    ngx_shm_zone_t                *zone;
    ngx_http_integrations_store_cleanup_t  cleanups[NGX_HTTP_STORE_CLEANUPS];
    ngx_uint_t                     ncleanups;
    ngx_msec_t                     cleanup_interval;
} ngx_http_integrations_store_main_conf_t;


/* a worker's connection counts, summed by the collector */

typedef struct {
    ngx_atomic_t                   pid;
    uint64_t                       open;
    uint64_t                       busy;
} ngx_http_integrations_store_slot_t;


typedef struct {
    uint32_t                       magic;
    uint32_t                       version;
    uint32_t                       size;
    uint32_t                       pad;

    ngx_atomic_t                   state;       /* generation, state */
    ngx_atomic_t                   probe_at;    /* ngx_current_msec */
    ngx_atomic_t                   schema;

    ngx_atomic_t                   ops[INTEGRATIONS_STORE_NKINDS]
                                      [NGX_HTTP_STORE_NRC];
    ngx_atomic_t                   buckets[INTEGRATIONS_STORE_NKINDS]
                                          [NGX_HTTP_STORE_BUCKETS];
    ngx_atomic_t                   count[INTEGRATIONS_STORE_NKINDS];
    ngx_atomic_t                   sum_us[INTEGRATIONS_STORE_NKINDS];

    ngx_http_integrations_store_slot_t  slots[NGX_HTTP_STORE_SLOTS];
} ngx_http_integrations_store_shctx_t;


/* this worker's */

typedef struct {
    ngx_http_integrations_store_main_conf_t  *smcf;
    ngx_http_integrations_store_shctx_t      *sh;
    ngx_http_integrations_store_slot_t       *slot;
    integrations_store_pool_t                 pool;
    ngx_uint_t                                inflight;
    ngx_event_t                               health;
    ngx_event_t                               cleanup;
    ngx_uint_t                                cleanup_next;
    u_char                                    node[64];
    size_t                                    node_len;
    u_char                                    holder[128];
    size_t                                    holder_len;
    unsigned                                  running:1;
} ngx_http_integrations_store_proc_t;


static ngx_http_integrations_store_proc_t  ngx_http_integrations_store_proc;

static ngx_str_t  ngx_http_integrations_store_pool_name =
    ngx_string("integrations_store");
static ngx_str_t  ngx_http_integrations_store_lease =
    ngx_string("integrations_cleanup");

static const char  *ngx_http_integrations_store_le[NGX_HTTP_STORE_BUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25", "0.5", "1", "2.5"
};

static const uint64_t  ngx_http_integrations_store_le_us[] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000
};


static void ngx_http_integrations_store_thread(void *data, ngx_log_t *log);
static void ngx_http_integrations_store_complete(ngx_event_t *ev);
static void ngx_http_integrations_store_wait(ngx_http_request_t *r);
static void ngx_http_integrations_store_guard(ngx_event_t *ev);
static void ngx_http_integrations_store_observe(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_store_health(ngx_event_t *ev);
static void ngx_http_integrations_store_probe(void);
static void ngx_http_integrations_store_cleanup(ngx_event_t *ev);
static void ngx_http_integrations_store_leased(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_store_cleanup_step(void);
static void ngx_http_integrations_store_cleaned(
    ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_integrations_store_collect(
    ngx_http_integrations_status_writer_t *w, void *data);
static ngx_int_t ngx_http_integrations_store_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static ngx_int_t ngx_http_integrations_store_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_integrations_store_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_integrations_store_init_process(
    ngx_cycle_t *cycle);
static void ngx_http_integrations_store_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_integrations_store_create_files(
    ngx_cycle_t *cycle, ngx_http_integrations_store_main_conf_t *smcf);
static char *ngx_http_integrations_store(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_integrations_store_thread_pool(ngx_conf_t *cf,
    ngx_http_integrations_store_main_conf_t *smcf);
static ngx_int_t ngx_http_integrations_store_check_dir(ngx_conf_t *cf,
    ngx_str_t *path);
static void ngx_http_integrations_store_cleanse(void *data);
static void *ngx_http_integrations_store_create_main_conf(ngx_conf_t *cf);


static ngx_command_t  ngx_http_integrations_store_commands[] = {

    { ngx_string("integrations_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_integrations_store,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_store_module_ctx = {
    NULL,                                          /* preconfiguration */
    ngx_http_integrations_store_init,              /* postconfiguration */

    ngx_http_integrations_store_create_main_conf,  /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    NULL,                                          /* create location conf */
    NULL                                           /* merge location conf */
};


ngx_module_t  ngx_http_integrations_store_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_store_module_ctx,       /* module context */
    ngx_http_integrations_store_commands,          /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    ngx_http_integrations_store_init_module,       /* init module */
    ngx_http_integrations_store_init_process,      /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    ngx_http_integrations_store_exit_process,      /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


/* ---- configuration-time API -------------------------------------------- */

ngx_int_t
ngx_http_integrations_store_enabled(ngx_conf_t *cf)
{
    ngx_http_integrations_store_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                         ngx_http_integrations_store_module);

    return smcf->enabled == 1;
}


ngx_msec_t
ngx_http_integrations_store_timeout(ngx_conf_t *cf)
{
    ngx_http_integrations_store_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                         ngx_http_integrations_store_module);

    return smcf->conf.timeout;
}


ngx_int_t
ngx_http_integrations_store_add_cleanup(ngx_conf_t *cf,
    integrations_store_kind_e kind, ngx_msec_t interval, ngx_uint_t batch)
{
    return ngx_http_integrations_store_add_cleanup_age(cf, kind, interval,
                                                       batch, 0);
}


ngx_int_t
ngx_http_integrations_store_add_cleanup_age(ngx_conf_t *cf,
    integrations_store_kind_e kind, ngx_msec_t interval, ngx_uint_t batch,
    ngx_msec_t age)
{
    ngx_http_integrations_store_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                         ngx_http_integrations_store_module);

    if (smcf->ncleanups == NGX_HTTP_STORE_CLEANUPS) {
        return NGX_ERROR;
    }

    smcf->cleanups[smcf->ncleanups].kind = kind;
    smcf->cleanups[smcf->ncleanups].interval = interval;
    smcf->cleanups[smcf->ncleanups].batch = batch;
    smcf->cleanups[smcf->ncleanups].age = age;
    smcf->ncleanups++;

    /* the shortest interval asked for drives them all */

    if (smcf->cleanup_interval == 0 || interval < smcf->cleanup_interval) {
        smcf->cleanup_interval = interval;
    }

    return NGX_OK;
}


/* ---- run-time API ------------------------------------------------------ */

ngx_http_integrations_store_op_t *
ngx_http_integrations_store_op(integrations_store_kind_e kind, size_t room)
{
    ngx_http_integrations_store_op_t  *op;

    op = ngx_calloc(sizeof(ngx_http_integrations_store_op_t) + room,
                    ngx_cycle->log);
    if (op == NULL) {
        return NULL;
    }

    op->core.kind = kind;
    op->room = (u_char *) (op + 1);
    op->room_end = op->room + room;

    return op;
}


ngx_int_t
ngx_http_integrations_store_copy(ngx_http_integrations_store_op_t *op,
    integrations_store_bytes_t *b, const u_char *data, size_t len)
{
    if ((size_t) (op->room_end - op->room) < len) {
        return NGX_ERROR;
    }

    b->data = op->room;
    b->len = len;

    if (len) {
        op->room = ngx_cpymem(op->room, data, len);
    }

    return NGX_OK;
}


void
ngx_http_integrations_store_free(ngx_http_integrations_store_op_t *op)
{
    if (op) {
        integrations_store_op_clear(&op->core);
        ngx_free(op);
    }
}


int64_t
ngx_http_integrations_store_token(void)
{
    uint64_t  v;

    if (RAND_bytes((unsigned char *) &v, sizeof(v)) != 1) {
        v = ((uint64_t) ngx_random() << 32) ^ (uint64_t) ngx_random()
            ^ (uint64_t) ngx_pid << 16 ^ ngx_current_msec;
    }

    return (int64_t) (v >> 1);
}


ngx_int_t
ngx_http_integrations_store_post(ngx_http_integrations_store_op_t *op,
    ngx_http_request_t *r)
{
    ngx_atomic_uint_t                         st;
    ngx_http_integrations_store_proc_t       *p;
    ngx_http_integrations_store_main_conf_t  *smcf;

    p = &ngx_http_integrations_store_proc;
    smcf = p->smcf;

    if (!p->running || smcf == NULL || smcf->tp == NULL
        || (r && op->done == NULL))
    {
        ngx_http_integrations_store_free(op);
        return NGX_ERROR;
    }

    /* while the store is not up, only the probe goes */

    op->seen = p->sh->state;
    st = ngx_http_store_state(op->seen);

    if ((st == NGX_HTTP_STORE_DOWN || st == NGX_HTTP_STORE_REFUSED)
        && op->core.kind != INTEGRATIONS_STORE_OP_PROBE)
    {
        ngx_http_integrations_store_free(op);
        return NGX_DECLINED;
    }

    if (p->inflight >= NGX_HTTP_STORE_QUEUE) {
        op->core.rc = INTEGRATIONS_STORE_OVERLOAD;
        ngx_http_integrations_store_observe(op);
        ngx_http_integrations_store_free(op);
        return NGX_BUSY;
    }

    op->core.now = integrations_store_wall_clock();
    op->core.deadline = integrations_store_clock() + smcf->conf.timeout;
    op->start = integrations_store_clock_us();

    op->task.ctx = op;
    op->task.handler = ngx_http_integrations_store_thread;
    op->task.event.handler = ngx_http_integrations_store_complete;
    op->task.event.data = op;
    op->task.event.log = ngx_cycle->log;

    if (ngx_thread_task_post(smcf->tp, &op->task) != NGX_OK) {
        op->core.rc = INTEGRATIONS_STORE_OVERLOAD;
        ngx_http_integrations_store_observe(op);
        ngx_http_integrations_store_free(op);
        return NGX_BUSY;
    }

    p->inflight++;

    if (r) {
        /* held as a file-cache read in a thread holds it */

        op->request = r;
        op->write_handler = r->write_event_handler;
        r->main->blocked++;
        r->aio = 1;
        r->write_event_handler = ngx_http_integrations_store_wait;

        /* and the worker does not exit with it in flight */

        op->guard.handler = ngx_http_integrations_store_guard;
        op->guard.data = op;
        op->guard.log = r->connection->log;
        ngx_add_timer(&op->guard, smcf->conf.timeout + 5000);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_integrations_store_unavailable(ngx_http_request_t *r)
{
    ngx_str_t  d = ngx_string("the durable store is not available; "
                              "retry later");

    if (ngx_http_integrations_retry_after(r, NGX_HTTP_STORE_RETRY_AFTER)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_integrations_problem(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "store_unavailable",
                                         "Store unavailable", &d);
}


/* ---- the task ---------------------------------------------------------- */

/* in a pool thread: no nginx calls here, no logging */

static void
ngx_http_integrations_store_thread(void *data, ngx_log_t *log)
{
    ngx_http_integrations_store_op_t  *op = data;

    (void) log;

    integrations_store_db_run(&ngx_http_integrations_store_proc.pool,
                              &op->core);
}


/* on the event loop, when the thread is done with it */

static void
ngx_http_integrations_store_complete(ngx_event_t *ev)
{
    ngx_connection_t                  *c;
    ngx_http_request_t                *r;
    ngx_http_integrations_store_op_t  *op;

    op = ev->data;

    ngx_http_integrations_store_proc.inflight--;

    if (op->guard.timer_set) {
        ngx_del_timer(&op->guard);
    }

    ngx_http_integrations_store_observe(op);

    r = op->request;

    if (r == NULL) {
        if (op->done) {
            op->done(op);
        }

        ngx_http_integrations_store_free(op);
        return;
    }

    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;
    r->aio = 0;

    if (r->write_event_handler == ngx_http_integrations_store_wait) {
        r->write_event_handler = op->write_handler;
        op->done(op);

    } else {
        /* terminated meanwhile (the client went away): the finalizer */
        op->abandoned = 1;
        op->done(op);
        r->write_event_handler(r);
    }

    ngx_http_integrations_store_free(op);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_integrations_store_wait(ngx_http_request_t *r)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "integrations store: waiting for an operation");
}


static void
ngx_http_integrations_store_guard(ngx_event_t *ev)
{
    ngx_http_integrations_store_op_t  *op = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "integrations_store: a \"%s\" operation is still running "
                  "past its timeout", integrations_store_kind_name(
                                          op->core.kind));
}


/*
 * Metrics, and the store's state: a failure of the store moves it down,
 * any success up.  Only the change is logged, by the process that makes
 * it.
 */

static void
ngx_http_integrations_store_observe(ngx_http_integrations_store_op_t *op)
{
    uint64_t                              us;
    ngx_uint_t                            i, k, rc, level;
    ngx_atomic_uint_t                     st, want;
    ngx_http_integrations_store_shctx_t  *sh;

    sh = ngx_http_integrations_store_proc.sh;

    if (sh == NULL) {
        return;
    }

    k = op->core.kind;
    rc = op->core.rc;

    if (k >= INTEGRATIONS_STORE_NKINDS || rc >= NGX_HTTP_STORE_NRC) {
        return;
    }

    (void) ngx_atomic_fetch_add(&sh->ops[k][rc], 1);

    if (rc != INTEGRATIONS_STORE_OVERLOAD) {
        us = integrations_store_clock_us() - op->start;

        for (i = 0; i < NGX_HTTP_STORE_BUCKETS; i++) {
            if (us <= ngx_http_integrations_store_le_us[i]) {
                (void) ngx_atomic_fetch_add(&sh->buckets[k][i], 1);
                break;
            }
        }

        (void) ngx_atomic_fetch_add(&sh->count[k], 1);
        (void) ngx_atomic_fetch_add(&sh->sum_us[k], us);
    }

    switch (rc) {

    case INTEGRATIONS_STORE_OK:
        want = NGX_HTTP_STORE_UP;
        break;

    case INTEGRATIONS_STORE_UNAVAILABLE:
        want = NGX_HTTP_STORE_DOWN;
        break;

    case INTEGRATIONS_STORE_SCHEMA:
        want = NGX_HTTP_STORE_REFUSED;
        break;

    case INTEGRATIONS_STORE_ERROR:
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "integrations_store: \"%s\" failed: %s",
                      integrations_store_kind_name(op->core.kind),
                      op->core.error);
        return;

    case INTEGRATIONS_STORE_TIMEOUT:
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "integrations_store: \"%s\" timed out: %s",
                      integrations_store_kind_name(op->core.kind),
                      op->core.error);
        return;

    default:
        return;
    }

    if (op->core.kind == INTEGRATIONS_STORE_OP_PROBE
        && rc == INTEGRATIONS_STORE_OK)
    {
        sh->schema = op->core.out.probe.version;
    }

    /*
     * Only an operation that saw the state it would change may change
     * it: one posted before the last change is stale (a success queued
     * before an outage, a probe that read the schema before it was
     * fixed).  Only a probe, which checks the schema, says it is up.
     */

    st = ngx_http_store_state(op->seen);

    if (st == want
        || (want == NGX_HTTP_STORE_UP
            && op->core.kind != INTEGRATIONS_STORE_OP_PROBE)
        || !ngx_atomic_cmp_set(&sh->state, op->seen,
                               ngx_http_store_next(op->seen, want)))
    {
        return;
    }

    if (want == NGX_HTTP_STORE_UP) {
        level = (st == NGX_HTTP_STORE_UNKNOWN) ? NGX_LOG_INFO
                                               : NGX_LOG_NOTICE;

        ngx_log_error(level, ngx_cycle->log, 0,
                      "integrations_store: %V is %s, schema version %uA",
                      &ngx_http_integrations_store_proc.smcf->url_text,
                      st == NGX_HTTP_STORE_UNKNOWN ? "ready"
                                                   : "available again",
                      sh->schema);
        return;
    }

    sh->probe_at = ngx_current_msec + NGX_HTTP_STORE_PROBE;

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "integrations_store: %V is unavailable, routes that need "
                  "it answer 503 until it is back: %s",
                  &ngx_http_integrations_store_proc.smcf->url_text,
                  op->core.error);
}


/* ---- health and cleanups ----------------------------------------------- */

static void
ngx_http_integrations_store_health(ngx_event_t *ev)
{
    ngx_msec_t                            next;
    ngx_atomic_uint_t                     at;
    ngx_http_integrations_store_shctx_t  *sh;

    sh = ngx_http_integrations_store_proc.sh;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    /* one probe per interval for the whole node: whoever claims it */

    at = sh->probe_at;
    next = (ngx_http_store_state(sh->state) == NGX_HTTP_STORE_UP)
           ? NGX_HTTP_STORE_CHECK
                                            : NGX_HTTP_STORE_PROBE;

    if ((ngx_msec_int_t) (ngx_current_msec - at) >= 0
        && ngx_atomic_cmp_set(&sh->probe_at, at, ngx_current_msec + next))
    {
        ngx_http_integrations_store_probe();
    }

    ngx_add_timer(ev, NGX_HTTP_STORE_PROBE);
}


static void
ngx_http_integrations_store_probe(void)
{
    ngx_http_integrations_store_op_t    *op;
    ngx_http_integrations_store_proc_t  *p;

    p = &ngx_http_integrations_store_proc;

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_PROBE,
                                        p->node_len);
    if (op == NULL) {
        return;
    }

    (void) ngx_http_integrations_store_copy(op, &op->core.in.probe.node,
                                            p->node, p->node_len);

    (void) ngx_http_integrations_store_post(op, NULL);
}


/*
 * Every interval, on every worker: the lease first, and the cleanups
 * only where it was granted, so that one worker of one node does them.
 */

static void
ngx_http_integrations_store_cleanup(ngx_event_t *ev)
{
    ngx_http_integrations_store_op_t    *op;
    ngx_http_integrations_store_proc_t  *p;

    p = &ngx_http_integrations_store_proc;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (ngx_http_store_state(p->sh->state) != NGX_HTTP_STORE_UP) {
        ngx_add_timer(ev, p->smcf->cleanup_interval);
        return;
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_LEASE_ACQUIRE,
                                 ngx_http_integrations_store_lease.len
                                 + p->holder_len);
    if (op == NULL) {
        ngx_add_timer(ev, p->smcf->cleanup_interval);
        return;
    }

    (void) ngx_http_integrations_store_copy(op, &op->core.in.lease.name,
                                      ngx_http_integrations_store_lease.data,
                                      ngx_http_integrations_store_lease.len);
    (void) ngx_http_integrations_store_copy(op, &op->core.in.lease.holder,
                                            p->holder, p->holder_len);
    op->core.in.lease.ttl_ms = 3 * p->smcf->cleanup_interval;
    op->done = ngx_http_integrations_store_leased;

    if (ngx_http_integrations_store_post(op, NULL) != NGX_OK) {
        ngx_add_timer(ev, p->smcf->cleanup_interval);
    }
}


static void
ngx_http_integrations_store_leased(ngx_http_integrations_store_op_t *op)
{
    ngx_http_integrations_store_proc_t  *p;

    p = &ngx_http_integrations_store_proc;

    if (op->core.rc != INTEGRATIONS_STORE_OK || !op->core.out.lease.acquired)
    {
        ngx_add_timer(&p->cleanup, p->smcf->cleanup_interval);
        return;
    }

    p->cleanup_next = 0;

    ngx_http_integrations_store_cleanup_step();
}


static void
ngx_http_integrations_store_cleanup_step(void)
{
    ngx_http_integrations_store_op_t       *op;
    ngx_http_integrations_store_proc_t     *p;
    ngx_http_integrations_store_cleanup_t  *cl;

    p = &ngx_http_integrations_store_proc;

    if (p->cleanup_next >= p->smcf->ncleanups || ngx_exiting) {
        ngx_add_timer(&p->cleanup, p->smcf->cleanup_interval);
        return;
    }

    cl = &p->smcf->cleanups[p->cleanup_next];

    op = ngx_http_integrations_store_op(cl->kind, 0);
    if (op == NULL) {
        ngx_add_timer(&p->cleanup, p->smcf->cleanup_interval);
        return;
    }

    op->core.in.purge.limit = (int64_t) cl->batch;
    op->core.in.purge.before = integrations_store_wall_clock()
                               - (int64_t) cl->age;
    op->done = ngx_http_integrations_store_cleaned;

    if (ngx_http_integrations_store_post(op, NULL) != NGX_OK) {
        ngx_add_timer(&p->cleanup, p->smcf->cleanup_interval);
    }
}


/* a full batch: there may be more, the next batch at once; else on */

static void
ngx_http_integrations_store_cleaned(ngx_http_integrations_store_op_t *op)
{
    ngx_http_integrations_store_proc_t     *p;
    ngx_http_integrations_store_cleanup_t  *cl;

    p = &ngx_http_integrations_store_proc;
    cl = &p->smcf->cleanups[p->cleanup_next];

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        ngx_add_timer(&p->cleanup, p->smcf->cleanup_interval);
        return;
    }

    if (op->core.out.changed > 0) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "integrations_store: \"%s\" deleted %L rows",
                      integrations_store_kind_name(cl->kind),
                      op->core.out.changed);
    }

    if (op->core.out.changed < (int64_t) cl->batch) {
        p->cleanup_next++;
    }

    ngx_http_integrations_store_cleanup_step();
}


/* ---- metrics ----------------------------------------------------------- */

static ngx_int_t
ngx_http_integrations_store_collect(ngx_http_integrations_status_writer_t *w,
    void *data)
{
    ngx_http_integrations_store_main_conf_t  *smcf = data;

    uint64_t                                  open, busy, counts[
                                                  NGX_HTTP_STORE_BUCKETS];
    ngx_pid_t                                 pid;
    ngx_uint_t                                k, rc, i;
    ngx_slab_pool_t                          *shpool;
    ngx_http_integrations_store_shctx_t      *sh;
    ngx_http_integrations_status_label_t      l[2];

    shpool = (ngx_slab_pool_t *) smcf->zone->shm.addr;
    sh = shpool->data;

    if (sh == NULL) {
        return NGX_OK;
    }

    ngx_str_set(&l[0].name, "op");
    ngx_str_set(&l[1].name, "outcome");

    if (ngx_http_integrations_status_family(w,
            "integrations_store_operations_total",
            NGX_HTTP_INTEGRATIONS_STATUS_COUNTER,
            "Store operations by kind and outcome.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (k = 0; k < INTEGRATIONS_STORE_NKINDS; k++) {
        for (rc = 0; rc < NGX_HTTP_STORE_NRC; rc++) {
            if (sh->ops[k][rc] == 0) {
                continue;
            }

            l[0].value.data = (u_char *) integrations_store_kind_name(k);
            l[0].value.len = ngx_strlen(l[0].value.data);
            l[1].value.data = (u_char *) integrations_store_rc_name(rc);
            l[1].value.len = ngx_strlen(l[1].value.data);

            if (ngx_http_integrations_status_sample(w, l, 2, sh->ops[k][rc])
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (ngx_http_integrations_status_family(w,
            "integrations_store_operation_duration_seconds",
            NGX_HTTP_INTEGRATIONS_STATUS_HISTOGRAM,
            "Store operation latency, from the request to the result.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (k = 0; k < INTEGRATIONS_STORE_NKINDS; k++) {
        if (sh->count[k] == 0) {
            continue;
        }

        for (i = 0; i < NGX_HTTP_STORE_BUCKETS; i++) {
            counts[i] = sh->buckets[k][i];
        }

        l[0].value.data = (u_char *) integrations_store_kind_name(k);
        l[0].value.len = ngx_strlen(l[0].value.data);

        if (ngx_http_integrations_status_histogram(w, l, 1,
                ngx_http_integrations_store_le, counts,
                NGX_HTTP_STORE_BUCKETS, sh->count[k], sh->sum_us[k] / 1000)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the live workers' connections */

    open = 0;
    busy = 0;

    for (i = 0; i < NGX_HTTP_STORE_SLOTS; i++) {
        pid = (ngx_pid_t) sh->slots[i].pid;

        if (pid == 0 || (kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH)) {
            continue;
        }

        open += sh->slots[i].open;
        busy += sh->slots[i].busy;
    }

    ngx_str_set(&l[0].name, "state");

    if (ngx_http_integrations_status_family(w, "integrations_store_connections",
            NGX_HTTP_INTEGRATIONS_STATUS_GAUGE,
            "Store connections open, and in use by an operation.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&l[0].value, "open");

    if (ngx_http_integrations_status_sample(w, l, 1, open) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&l[0].value, "in_use");

    if (ngx_http_integrations_status_sample(w, l, 1, busy) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&l[0].name, "backend");

    if (smcf->conf.url.backend == INTEGRATIONS_STORE_SQLITE) {
        ngx_str_set(&l[0].value, "sqlite");
    } else {
        ngx_str_set(&l[0].value, "postgresql");
    }

    if (ngx_http_integrations_status_family(w, "integrations_store_up",
            NGX_HTTP_INTEGRATIONS_STATUS_GAUGE,
            "1 when the store answered its last operation, 0 when it is "
            "down or refused.")
        != NGX_OK
        || ngx_http_integrations_status_sample(w, l, 1,
               ngx_http_store_state(sh->state) == NGX_HTTP_STORE_UP ? 1 : 0)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_integrations_status_family(w,
            "integrations_store_schema_version",
            NGX_HTTP_INTEGRATIONS_STATUS_GAUGE,
            "The database schema's version, as last seen.")
        != NGX_OK
        || ngx_http_integrations_status_sample(w, NULL, 0, sh->schema)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_store_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                      *shpool;
    ngx_http_integrations_store_shctx_t  *sh;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data || shm_zone->shm.exists) {
        sh = shpool->data;

        /* a reload keeps the counts and the state, if the layout fits */

        if (sh && sh->magic == NGX_HTTP_STORE_MAGIC
            && sh->version == NGX_HTTP_STORE_VERSION
            && sh->size == sizeof(ngx_http_integrations_store_shctx_t))
        {
            return NGX_OK;
        }

        ngx_slab_init(shpool);
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_integrations_store_shctx_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->magic = NGX_HTTP_STORE_MAGIC;
    sh->version = NGX_HTTP_STORE_VERSION;
    sh->size = sizeof(ngx_http_integrations_store_shctx_t);

    shpool->data = sh;

    return NGX_OK;
}


/* ---- life cycle -------------------------------------------------------- */

static ngx_int_t
ngx_http_integrations_store_init(ngx_conf_t *cf)
{
    ngx_http_integrations_store_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                         ngx_http_integrations_store_module);

    if (smcf->enabled != 1) {
        return NGX_OK;
    }

    return ngx_http_integrations_status_add_collector(cf,
                                  ngx_http_integrations_store_collect, smcf);
}


static ngx_int_t
ngx_http_integrations_store_init_module(ngx_cycle_t *cycle)
{
    ngx_http_integrations_store_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                         ngx_http_integrations_store_module);

    if (smcf == NULL || smcf->enabled != 1 || ngx_test_config
        || smcf->conf.url.backend != INTEGRATIONS_STORE_SQLITE)
    {
        return NGX_OK;
    }

    return ngx_http_integrations_store_create_files(cycle, smcf);
}


/*
 * In the master, before the workers: the database and the files beside
 * it, 0600 and owned by the workers' user, so that they may open them
 * whatever the directory's owner.  A file that cannot be made is logged
 * and left to the workers, whose operations then fail and say why (503
 * for the routes that need the store; nginx itself still starts).
 */

static ngx_int_t
ngx_http_integrations_store_create_files(ngx_cycle_t *cycle,
    ngx_http_integrations_store_main_conf_t *smcf)
{
    int               fd;
    char              err[256];
    u_char            name[4][INTEGRATIONS_STORE_PATH_LEN + 16];
    ngx_uint_t        i, n, existed[4];
    ngx_file_info_t   fi;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    /* the database, "-wal", "-shm" and the writer lock */

    for (n = 0; n < 4; n++) {
        ngx_sprintf(name[n], "%s%s%Z", smcf->conf.url.path,
                    n ? integrations_store_sqlite_suffixes[n - 1] : "");
        existed[n] = (ngx_link_info(name[n], &fi) != NGX_FILE_ERROR);
    }

    /*
     * A new database is put in WAL mode here, by the only process using
     * it: switching needs a rollback journal beside it, which workers
     * may not be allowed to create.
     */

    if (!existed[0] || (ngx_file_info(name[0], &fi) != NGX_FILE_ERROR
                        && ngx_is_file(&fi) && ngx_file_size(&fi) == 0))
    {
        if (integrations_store_sqlite_init_file((char *) name[0], err,
                                                sizeof(err))
            != 0)
        {
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "integrations_store: cannot create \"%s\": %s",
                          name[0], err);
        }
    }

    for (i = 0; i < n; i++) {

        fd = open((char *) name[i], O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                  0600);

        if (fd == -1) {
            ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_errno,
                          "integrations_store: cannot open \"%s\"", name[i]);
            continue;
        }

        if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR || !ngx_is_file(&fi)) {
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "integrations_store: \"%s\" is not a regular file",
                          name[i]);
            close(fd);
            continue;
        }

        /* what this process made is the workers', and theirs only */

        if (!existed[i]) {
            (void) fchmod(fd, 0600);

            if (geteuid() == 0
                && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
                && fchown(fd, ccf->user, ccf->group) == -1)
            {
                ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_errno,
                              "integrations_store: chown(\"%s\") failed",
                              name[i]);
            }

        } else if (i == 0 && (fi.st_mode & 0077)) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "integrations_store: \"%s\" may be read by other "
                          "users than its owner (mode 0%ui%ui%ui)", name[i],
                          (ngx_uint_t) (fi.st_mode >> 6) & 7,
                          (ngx_uint_t) (fi.st_mode >> 3) & 7,
                          (ngx_uint_t) fi.st_mode & 7);
        }

        if (existed[i] && geteuid() == 0
            && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
            && fi.st_uid != ccf->user)
        {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "integrations_store: \"%s\" is owned by uid %d, "
                          "the workers run as uid %d and may not open it",
                          name[i], (int) fi.st_uid, (int) ccf->user);
        }

        close(fd);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_store_init_process(ngx_cycle_t *cycle)
{
    u_char                                   *q;
    ngx_uint_t                                i;
    ngx_pid_t                                 pid;
    ngx_slab_pool_t                          *shpool;
    ngx_http_integrations_store_proc_t       *p;
    ngx_http_integrations_store_main_conf_t  *smcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                         ngx_http_integrations_store_module);

    if (smcf == NULL || smcf->enabled != 1) {
        return NGX_OK;
    }

    p = &ngx_http_integrations_store_proc;
    ngx_memzero(p, sizeof(ngx_http_integrations_store_proc_t));

    p->smcf = smcf;

    shpool = (ngx_slab_pool_t *) smcf->zone->shm.addr;
    p->sh = shpool->data;

    if (integrations_store_pool_init(&p->pool, &smcf->conf) != 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "integrations_store: cannot set up the pool");
        return NGX_ERROR;
    }

    /* a slot for this worker's counts: a free one, or a dead worker's */

    for (i = 0; i < NGX_HTTP_STORE_SLOTS; i++) {
        pid = (ngx_pid_t) p->sh->slots[i].pid;

        if (pid != 0 && !(kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH)) {
            continue;
        }

        if (ngx_atomic_cmp_set(&p->sh->slots[i].pid, (ngx_atomic_uint_t) pid,
                               (ngx_atomic_uint_t) ngx_pid))
        {
            p->slot = &p->sh->slots[i];
            p->slot->open = 0;
            p->slot->busy = 0;
            p->pool.open_gauge = &p->slot->open;
            p->pool.busy_gauge = &p->slot->busy;
            break;
        }
    }

    if (gethostname((char *) p->node, sizeof(p->node) - 1) == -1) {
        ngx_cpystrn(p->node, (u_char *) "localhost", sizeof(p->node));
    }

    p->node[sizeof(p->node) - 1] = '\0';
    p->node_len = ngx_strlen(p->node);

    q = ngx_snprintf(p->holder, sizeof(p->holder), "%s/%P/%016xL",
                     p->node, ngx_pid,
                     (uint64_t) ngx_http_integrations_store_token());
    p->holder_len = q - p->holder;

    p->running = 1;

    /* a probe at once: it opens a connection and migrates the schema */

    p->health.handler = ngx_http_integrations_store_health;
    p->health.log = cycle->log;
    p->health.data = p;
    p->health.cancelable = 1;

    p->sh->probe_at = ngx_current_msec;
    ngx_add_timer(&p->health, 1);

    if (smcf->ncleanups) {
        p->cleanup.handler = ngx_http_integrations_store_cleanup;
        p->cleanup.log = cycle->log;
        p->cleanup.data = p;
        p->cleanup.cancelable = 1;

        ngx_add_timer(&p->cleanup, smcf->cleanup_interval);
    }

    return NGX_OK;
}


/* the thread pools are gone by now (core modules exit first) */

static void
ngx_http_integrations_store_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_integrations_store_proc_t  *p;

    p = &ngx_http_integrations_store_proc;

    if (!p->running) {
        return;
    }

    p->running = 0;

    integrations_store_pool_destroy(&p->pool);

    if (p->slot) {
        p->slot->open = 0;
        p->slot->busy = 0;
        (void) ngx_atomic_cmp_set(&p->slot->pid, (ngx_atomic_uint_t) ngx_pid,
                                  0);
    }
}


/* ---- the directive ----------------------------------------------------- */

/*
 * integrations_store URL [threads=N] [pool=N] [password_file=PATH]
 *                    [timeout=TIME] [connect_timeout=TIME];
 */

static char *
ngx_http_integrations_store(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_integrations_store_main_conf_t *smcf = conf;

    u_char              *p;
    size_t               n;
    ngx_int_t            v;
    ngx_str_t           *value, s, path, password_file, secret, name;
    ngx_uint_t           i, pool, connect_set;
    ngx_msec_t           ms;
    const char          *err;
    ngx_pool_cleanup_t  *cln;

    if (smcf->enabled != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (integrations_store_url_parse(value[1].data, value[1].len,
                                     &smcf->conf.url, &err)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid store URL \"%V\": %s", &value[1], err);
        return NGX_CONF_ERROR;
    }

    smcf->threads = 4;
    pool = 0;
    connect_set = 0;
    smcf->conf.timeout = 5000;
    ngx_str_null(&password_file);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "threads=", 8) == 0
            || ngx_strncmp(value[i].data, "pool=", 5) == 0)
        {
            p = (u_char *) ngx_strchr(value[i].data, '=') + 1;
            v = ngx_atoi(p, value[i].len - (p - value[i].data));

            if (v < 1 || v > INTEGRATIONS_STORE_POOL_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\": from 1 to %d",
                                   &value[i], INTEGRATIONS_STORE_POOL_MAX);
                return NGX_CONF_ERROR;
            }

            if (value[i].data[0] == 't') {
                smcf->threads = (ngx_uint_t) v;
            } else {
                pool = (ngx_uint_t) v;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "password_file=", 14) == 0) {
            password_file.data = value[i].data + 14;
            password_file.len = value[i].len - 14;

            if (password_file.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0
            || ngx_strncmp(value[i].data, "connect_timeout=", 16) == 0)
        {
            p = (u_char *) ngx_strchr(value[i].data, '=') + 1;
            s.data = p;
            s.len = value[i].len - (p - value[i].data);

            ms = ngx_parse_time(&s, 0);

            if (ms == (ngx_msec_t) NGX_ERROR || ms < 10 || ms > 600000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\": from 10ms "
                                   "to 10m", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (value[i].data[0] == 't') {
                smcf->conf.timeout = (unsigned) ms;
            } else {
                smcf->conf.connect_timeout = (unsigned) ms;
                connect_set = 1;
            }

            continue;
        }

        goto invalid;
    }

    if (!connect_set) {
        smcf->conf.connect_timeout = smcf->conf.timeout;
    }

    smcf->conf.pool = pool ? (unsigned) pool : (unsigned) smcf->threads;

    if (smcf->conf.url.backend == INTEGRATIONS_STORE_SQLITE) {

        if (password_file.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"password_file=\" is for PostgreSQL, not "
                               "SQLite");
            return NGX_CONF_ERROR;
        }

        /* relative to the prefix, as nginx's own paths */

        path.data = (u_char *) smcf->conf.url.path;
        path.len = ngx_strlen(smcf->conf.url.path);

        if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (path.len >= INTEGRATIONS_STORE_PATH_LEN - 16) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the store path \"%V\" is too long", &path);
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(smcf->conf.url.path, path.data, path.len);
        smcf->conf.url.path[path.len] = '\0';

        if (ngx_http_integrations_store_check_dir(cf, &path) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        smcf->url_text.len = sizeof("sqlite:") - 1 + path.len;
        smcf->url_text.data = ngx_pnalloc(cf->pool, smcf->url_text.len);
        if (smcf->url_text.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(smcf->url_text.data, "sqlite:%V", &path);

    } else {
        /* the URL holds no secret: it may be logged as written */

        smcf->url_text = value[1];

        if (password_file.len) {
            if (ngx_http_integrations_secret_read(cf, &cmd->name,
                                                  &password_file, &secret)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            if (ngx_strlchr(secret.data, secret.data + secret.len, '\0')) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "the password file \"%V\" holds a NUL "
                                   "byte", &password_file);
                return NGX_CONF_ERROR;
            }

            /* libpq wants it NUL-terminated: a copy, cleansed likewise */

            smcf->conf.password = ngx_pnalloc(cf->pool, secret.len + 1);
            if (smcf->conf.password == NULL) {
                return NGX_CONF_ERROR;
            }

            cln = ngx_pool_cleanup_add(cf->pool, 0);
            if (cln == NULL) {
                return NGX_CONF_ERROR;
            }

            n = secret.len;
            ngx_memcpy(smcf->conf.password, secret.data, n);
            smcf->conf.password[n] = '\0';

            cln->handler = ngx_http_integrations_store_cleanse;
            cln->data = smcf->conf.password;
        }
    }

    if (ngx_http_integrations_store_thread_pool(cf, smcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&name, "integrations_store");

    smcf->zone = ngx_shared_memory_add(cf, &name, 8 * ngx_pagesize,
                                       &ngx_http_integrations_store_module);
    if (smcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    smcf->zone->init = ngx_http_integrations_store_init_zone;
    smcf->zone->data = smcf;

    smcf->enabled = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * The pool "integrations_store", made by nginx's own thread_pool directive
 * (pools can only be added while the configuration is read, and their
 * size is private to ngx_thread_pool.c).  One given by a "thread_pool
 * integrations_store ..." directive of its own is used as it is.
 */

static ngx_int_t
ngx_http_integrations_store_thread_pool(ngx_conf_t *cf,
    ngx_http_integrations_store_main_conf_t *smcf)
{
    char           *rv;
    ngx_str_t      *a;
    ngx_array_t    *saved, *args;
    ngx_command_t  *c;

    smcf->tp = ngx_thread_pool_get(cf->cycle,
                                   &ngx_http_integrations_store_pool_name);
    if (smcf->tp) {
        return NGX_OK;
    }

    args = ngx_array_create(cf->temp_pool, 4, sizeof(ngx_str_t));
    if (args == NULL) {
        return NGX_ERROR;
    }

    a = ngx_array_push_n(args, 4);
    if (a == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&a[0], "thread_pool");
    a[1] = ngx_http_integrations_store_pool_name;

    a[2].data = ngx_pnalloc(cf->pool, 2 * NGX_INT_T_LEN + 24);
    if (a[2].data == NULL) {
        return NGX_ERROR;
    }

    a[2].len = ngx_sprintf(a[2].data, "threads=%ui", smcf->threads)
               - a[2].data;
    a[3].data = a[2].data + a[2].len;
    a[3].len = ngx_sprintf(a[3].data, "max_queue=%ui",
                           (ngx_uint_t) 2 * NGX_HTTP_STORE_QUEUE)
               - a[3].data;

    rv = NGX_CONF_ERROR;

    for (c = ngx_thread_pool_module.commands; c && c->name.len; c++) {
        if (c->name.len == 11 && ngx_strncmp(c->name.data, "thread_pool", 11)
            == 0)
        {
            saved = cf->args;
            cf->args = args;
            rv = c->set(cf, c, NULL);
            cf->args = saved;
            break;
        }
    }

    if (rv != NGX_CONF_OK) {
        return NGX_ERROR;
    }

    smcf->tp = ngx_thread_pool_get(cf->cycle,
                                   &ngx_http_integrations_store_pool_name);

    return smcf->tp ? NGX_OK : NGX_ERROR;
}


/*
 * The database's directory must exist and must not be writable by
 * anyone without the sticky bit: whoever may write there may replace
 * the database.  Only a stat(): nginx -t needs no database.
 */

static ngx_int_t
ngx_http_integrations_store_check_dir(ngx_conf_t *cf, ngx_str_t *path)
{
    u_char           dir[INTEGRATIONS_STORE_PATH_LEN];
    u_char          *slash;
    ngx_file_info_t  fi;

    ngx_memcpy(dir, path->data, path->len);
    dir[path->len] = '\0';

    slash = (u_char *) strrchr((char *) dir, '/');

    if (slash == NULL) {
        return NGX_OK;
    }

    *(slash == dir ? slash + 1 : slash) = '\0';

    if (ngx_file_info(dir, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "the store's directory \"%s\" cannot be used",
                           dir);
        return NGX_ERROR;
    }

    if (!ngx_is_dir(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the store's directory \"%s\" is not a directory",
                           dir);
        return NGX_ERROR;
    }

    if ((fi.st_mode & S_IWOTH) && !(fi.st_mode & S_ISVTX)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the store's directory \"%s\" is writable by "
                           "everyone", dir);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_integrations_store_cleanse(void *data)
{
    OPENSSL_cleanse(data, ngx_strlen(data));
}


static void *
ngx_http_integrations_store_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_store_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_store_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     smcf->conf = { 0 };
     *     smcf->ncleanups = 0;
     *     smcf->tp = NULL;
     */

    smcf->enabled = NGX_CONF_UNSET;

    return smcf;
}
