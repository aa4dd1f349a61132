/*
 * Rate limiting of proxied routes: GCRA (integrations_gcra.c) over keys
 * kept in shared memory.
 *
 *     rate_limit_zone  $binary_remote_addr zone=clients:10m rate=20r/s
 *                      burst=10;
 *     rate_limit_zone  coupang zone=coupang:64k rate=10r/s burst=5;
 *
 *     location /coupang/ {
 *         rate_limit          zone=clients;
 *         rate_limit          zone=coupang delay;
 *         rate_limit_headers  on;
 *         proxy_pass          https://coupang;
 *     }
 *
 * The keys live in a keyed zone (ngx_http_integrations_zone.h): idle keys
 * (equivalent to fresh ones) are expired as new ones come, and when the
 * zone is full the least recently used key is evicted, idle or not.  The
 * zone header keeps the totals the metrics endpoint reports.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_gcra.h"
#include "integrations_gcra_cluster.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_rate_limit.h"
#include "ngx_http_integrations_redis.h"
#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_zone.h"

#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_OFF      0
#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_ON       1
#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_LEGACY   2

/* on_error= of a scope=cluster zone */
#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_LOCAL    0
#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_REJECT   1

/* keys reconciled by one sync= round, at most */
#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_SYNC_MAX 1024

/* the TAKEs of one key one command carries at most */
#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_BATCH    64


/* the zone's totals, in its header */

typedef struct {
    ngx_atomic_t                  passed;
    ngx_atomic_t                  delayed;
    ngx_atomic_t                  rejected;
} ngx_http_integrations_rate_limit_totals_t;


/*
 * The value of a key in a scope=cluster zone: the node's own GCRA state
 * (used with sync=, and while Redis is down) and, with sync=, the
 * admissions not yet reported to Redis.
 */

typedef struct {
    integrations_gcra_state_t     state;
    uint32_t                      pending;
    uint32_t                      reserved;
} ngx_http_integrations_rate_limit_cluster_value_t;


/* the zone's configuration */

typedef struct {
    integrations_gcra_params_t    params;
    ngx_http_complex_value_t      key;

    /* scope=cluster */
    ngx_uint_t                    cluster;
    ngx_msec_t                    sync;        /* 0: Redis decides each */
    ngx_uint_t                    on_error;
    ngx_uint_t                    nodes;
    integrations_gcra_params_t    local;       /* a node's share */
    ngx_str_t                     prefix;      /* of the Redis keys */
    ngx_str_t                     interval;    /* T, tau in us, as text */
    ngx_str_t                     tau;
    ngx_shm_zone_t               *shm_zone;
    ngx_event_t                   sync_ev;     /* worker 0's */
} ngx_http_integrations_rate_limit_zone_t;


/* one decision: the data of a zone operation */

typedef struct {
    const integrations_gcra_params_t  *params;
    uint64_t                           now;
    integrations_gcra_mode_e           mode;
    ngx_uint_t                         commit;
    ngx_uint_t                         pending;  /* count for sync= */
    uint64_t                           ahead;    /* sync=: Redis's TAT */
    integrations_gcra_result_t        *result;
    integrations_gcra_state_t          after;   /* the key's, for headers */
} ngx_http_integrations_rate_limit_decision_t;


/*
 * A decision that waits for Redis: the rate limit handler's, or an
 * outbound call's admission.  done(ask) gets ask->rc: NGX_OK with
 * ask->d.result, NGX_BUSY for on_error=reject, NGX_ERROR.
 */

typedef struct ngx_http_integrations_rate_limit_ask_s
    ngx_http_integrations_rate_limit_ask_t;

typedef struct ngx_http_integrations_rate_limit_batch_s
    ngx_http_integrations_rate_limit_batch_t;

struct ngx_http_integrations_rate_limit_ask_s {
    ngx_http_integrations_redis_cmd_t *cmd;
    ngx_http_integrations_rate_limit_batch_t  *batch;  /* or in one */
    ngx_uint_t                         index;    /* in batch->asks */
    ngx_shm_zone_t                    *shm_zone;
    ngx_str_t                          key;      /* the zone's key */
    ngx_log_t                         *log;
    ngx_int_t                          rc;
    ngx_http_integrations_rate_limit_decision_t  d;
    integrations_gcra_result_t         result;
    void                             (*done)(
                                    ngx_http_integrations_rate_limit_ask_t *);
    void                              *data;
};


/*
 * A worker's TAKEs of one key in one pass of its event loop, sent to
 * Redis as one TAKE of n when the pass ends (a posted event): a busy key
 * costs Redis one script run a pass, not one a request, and each request
 * still waits for Redis's decision on it.  A cancelled ask leaves a
 * hole.  key is the Redis key (the zone's prefix and the key).
 */

struct ngx_http_integrations_rate_limit_batch_s {
    ngx_queue_t                         queue;    /* an open one's */
    ngx_shm_zone_t                     *shm_zone;
    ngx_http_integrations_redis_cmd_t  *cmd;      /* once sent */
    uint32_t                            hash;
    ngx_uint_t                          n;
    ngx_uint_t                          left;     /* not cancelled */
    ngx_str_t                           key;
    ngx_http_integrations_rate_limit_ask_t
                              *asks[NGX_HTTP_INTEGRATIONS_RATE_LIMIT_BATCH];
};


typedef struct {
    ngx_shm_zone_t               *shm_zone;
    integrations_gcra_mode_e      mode;
} ngx_http_integrations_rate_limit_t;


typedef struct {
    ngx_array_t                   limits;
    ngx_uint_t                    status_code;
    ngx_uint_t                    headers;
} ngx_http_integrations_rate_limit_loc_conf_t;


typedef struct {
    ngx_http_integrations_zone_list_t  list;
} ngx_http_integrations_rate_limit_main_conf_t;


typedef struct {
    integrations_gcra_verdict_e   verdict;

    /* where the handler is, when it waits for Redis */
    ngx_http_request_t           *request;
    ngx_uint_t                    pass;
    ngx_uint_t                    n;
    uint64_t                      delay;
    ngx_http_integrations_rate_limit_t  *shown_limit;
    integrations_gcra_quota_t     shown;
    ngx_http_integrations_rate_limit_ask_t  ask;
    unsigned                      waiting:1;
    unsigned                      cleanup:1;
    unsigned                      answered:1;
    unsigned                      decided:1;
} ngx_http_integrations_rate_limit_ctx_t;


static ngx_int_t ngx_http_integrations_rate_limit_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_rate_limit_account(
    ngx_http_request_t *r, ngx_http_integrations_rate_limit_ctx_t *ctx,
    ngx_http_integrations_rate_limit_t *limit, ngx_uint_t commit,
    uint64_t now);
static void ngx_http_integrations_rate_limit_answered(
    ngx_http_integrations_rate_limit_ask_t *ask);
static void ngx_http_integrations_rate_limit_cleanup(void *data);
static ngx_int_t ngx_http_integrations_rate_limit_unavailable(
    ngx_http_request_t *r, ngx_http_integrations_rate_limit_loc_conf_t *lcf,
    ngx_http_integrations_rate_limit_t *limit);
static ngx_int_t ngx_http_integrations_rate_limit_decide(
    ngx_shm_zone_t *shm_zone, ngx_str_t *key, ngx_log_t *log,
    ngx_http_integrations_rate_limit_decision_t *d);
static ngx_int_t ngx_http_integrations_rate_limit_ask(
    ngx_http_integrations_rate_limit_ask_t *ask, ngx_pool_t *pool);
static void ngx_http_integrations_rate_limit_redis_done(
    ngx_http_integrations_redis_cmd_t *cmd, integrations_resp_reply_t *reply);
static ngx_int_t ngx_http_integrations_rate_limit_join(
    ngx_http_integrations_rate_limit_ask_t *ask);
static void ngx_http_integrations_rate_limit_batch_handler(ngx_event_t *ev);
static void ngx_http_integrations_rate_limit_batch_done(
    ngx_http_integrations_redis_cmd_t *cmd, integrations_resp_reply_t *reply);
static void ngx_http_integrations_rate_limit_cancel(
    ngx_http_integrations_rate_limit_ask_t *ask);
static const char *ngx_http_integrations_rate_limit_unlogged(
    integrations_resp_reply_t *reply, const char *err);
static const char *ngx_http_integrations_rate_limit_reply(
    integrations_resp_reply_t *reply, int64_t *v);
static void ngx_http_integrations_rate_limit_answer(
    ngx_http_integrations_rate_limit_ask_t *ask, int64_t *v,
    const char *err);
static ngx_int_t ngx_http_integrations_rate_limit_fallback(
    ngx_http_integrations_rate_limit_ask_t *ask);
static void ngx_http_integrations_rate_limit_count(
    ngx_http_integrations_zone_t *kz,
    ngx_http_integrations_rate_limit_decision_t *d);
static void ngx_http_integrations_rate_limit_sync_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_integrations_rate_limit_sync_visit(void *data,
    ngx_str_t *key, void *value);
static void ngx_http_integrations_rate_limit_sync_done(
    ngx_http_integrations_redis_cmd_t *cmd, integrations_resp_reply_t *reply);
static ngx_uint_t ngx_http_integrations_rate_limit_sync_apply(
    ngx_http_integrations_zone_op_t *op, void *value);
static void ngx_http_integrations_rate_limit_async_done(
    ngx_http_integrations_rate_limit_ask_t *ask);
static ngx_int_t ngx_http_integrations_rate_limit_init_process(
    ngx_cycle_t *cycle);
static ngx_uint_t ngx_http_integrations_rate_limit_apply(
    ngx_http_integrations_zone_op_t *op, void *value);
static ngx_uint_t ngx_http_integrations_rate_limit_idle(
    ngx_http_integrations_zone_op_t *op, void *value);
static ngx_int_t ngx_http_integrations_rate_limit_reject(
    ngx_http_request_t *r, ngx_http_integrations_rate_limit_loc_conf_t *lcf,
    ngx_http_integrations_rate_limit_t *limit,
    ngx_http_integrations_rate_limit_decision_t *d);
static ngx_int_t ngx_http_integrations_rate_limit_headers(
    ngx_http_request_t *r, ngx_http_integrations_rate_limit_loc_conf_t *lcf,
    ngx_http_integrations_rate_limit_t *limit,
    integrations_gcra_quota_t *quota);
static ngx_int_t ngx_http_integrations_rate_limit_header(
    ngx_http_request_t *r, const char *name, u_char *value, u_char *last);
static void ngx_http_integrations_rate_limit_delay(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_rate_limit_collect(
    ngx_http_integrations_status_writer_t *w, void *data);
static ngx_int_t ngx_http_integrations_rate_limit_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_integrations_rate_limit_zone(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_rate_limit_cluster_conf(ngx_conf_t *cf,
    ngx_command_t *cmd, ngx_http_integrations_rate_limit_zone_t *zone,
    ngx_str_t *name, ngx_str_t *scope);
static char *ngx_http_integrations_rate_limit(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_rate_limit_headers_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_integrations_rate_limit_add_variables(
    ngx_conf_t *cf);
static ngx_int_t ngx_http_integrations_rate_limit_init(ngx_conf_t *cf);
static void *ngx_http_integrations_rate_limit_create_main_conf(
    ngx_conf_t *cf);
static void *ngx_http_integrations_rate_limit_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_integrations_rate_limit_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


static ngx_conf_enum_t  ngx_http_integrations_rate_limit_headers_values[] = {
    { ngx_string("off"), NGX_HTTP_INTEGRATIONS_RATE_LIMIT_OFF },
    { ngx_string("on"), NGX_HTTP_INTEGRATIONS_RATE_LIMIT_ON },
    { ngx_string("legacy"), NGX_HTTP_INTEGRATIONS_RATE_LIMIT_LEGACY },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_integrations_rate_limit_commands[] = {

    { ngx_string("rate_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_integrations_rate_limit_zone,
      0,
      0,
      NULL },

    { ngx_string("rate_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_integrations_rate_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("rate_limit_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_integrations_problem_status_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_rate_limit_loc_conf_t, status_code),
      NULL },

    { ngx_string("rate_limit_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_integrations_rate_limit_headers_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_rate_limit_loc_conf_t, headers),
      &ngx_http_integrations_rate_limit_headers_values },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_rate_limit_module_ctx = {
    ngx_http_integrations_rate_limit_add_variables, /* preconfiguration */
    ngx_http_integrations_rate_limit_init,         /* postconfiguration */

    ngx_http_integrations_rate_limit_create_main_conf, /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    ngx_http_integrations_rate_limit_create_loc_conf, /* create loc conf */
    ngx_http_integrations_rate_limit_merge_loc_conf /* merge loc conf */
};


ngx_module_t  ngx_http_integrations_rate_limit_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_rate_limit_module_ctx,  /* module context */
    ngx_http_integrations_rate_limit_commands,     /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    NULL,                                          /* init module */
    ngx_http_integrations_rate_limit_init_process, /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    NULL,                                          /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_integrations_rate_limit_status_name =
    ngx_string("rate_limit_status");


static ngx_http_integrations_zone_type_t  ngx_http_integrations_rate_limit_type
    = {
    "rate_limit_zone",
    "evicting the least recently used keys (logged once)",
    0x49524c5a,                                    /* "IRLZ" */
    2,
    sizeof(integrations_gcra_state_t),
    sizeof(ngx_http_integrations_rate_limit_totals_t),
    NGX_HTTP_INTEGRATIONS_ZONE_RESET               /* limits may restart */
};


/* scope=cluster: the node's state and what sync= has to report */

static ngx_http_integrations_zone_type_t
    ngx_http_integrations_rate_limit_cluster_type = {
    "rate_limit_zone",
    "evicting the least recently used keys (logged once)",
    0x49524c43,                                    /* "IRLC" */
    1,
    sizeof(ngx_http_integrations_rate_limit_cluster_value_t),
    sizeof(ngx_http_integrations_rate_limit_totals_t),
    NGX_HTTP_INTEGRATIONS_ZONE_RESET
};


static ngx_http_integrations_redis_script_t
    ngx_http_integrations_rate_limit_script;


static ngx_int_t
ngx_http_integrations_rate_limit_handler(ngx_http_request_t *r)
{
    ngx_int_t                                     rc;
    ngx_uint_t                                    n, last, pass;
    integrations_gcra_quota_t                     quota;
    ngx_pool_cleanup_t                           *cln;
    integrations_gcra_result_t                   *result;
    ngx_http_integrations_rate_limit_t           *limits;
    ngx_http_integrations_rate_limit_ctx_t       *ctx;
    ngx_http_integrations_rate_limit_zone_t      *zone;
    ngx_http_integrations_rate_limit_loc_conf_t  *lcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_rate_limit_module);

    if (ctx && ctx->decided) {
        /* decided before: this is the phase run again after a delay */
        return NGX_DECLINED;
    }

    if (ctx && ctx->waiting) {
        /* an event while Redis decides: it goes on waiting */
        return NGX_AGAIN;
    }

    lcf = ngx_http_get_module_loc_conf(r,
                                       ngx_http_integrations_rate_limit_module);

    if (lcf->limits.nelts == 0) {
        return NGX_DECLINED;
    }

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool,
                          sizeof(ngx_http_integrations_rate_limit_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_integrations_rate_limit_module);

        ctx->request = r;
        ctx->verdict = INTEGRATIONS_GCRA_PASSED;
    }

    limits = lcf->limits.elts;
    last = lcf->limits.nelts - 1;
    result = &ctx->ask.result;

    /*
     * All limits must pass.  The first pass only checks the limits before
     * the last one, and decides the last one; the second pass commits the
     * others, so that a request rejected by one limit uses up no other.
     * A commit may still reject, if another worker took the last token in
     * between: then the limits committed before it count the request
     * although it was rejected, which errs on the safe side.  A limit of
     * a scope=cluster zone may have to wait for Redis: the handler then
     * returns NGX_AGAIN, and the answer runs the phase again, which goes
     * on where it was (ctx->pass, ctx->n).
     */

    for ( /* void */ ; ctx->pass < 2; ctx->pass++, ctx->n = 0) {

        pass = ctx->pass;

        for ( /* void */ ; ctx->n <= last; ctx->n++) {

            n = ctx->n;

            if (pass == 1 && n == last) {
                break;
            }

            if (ctx->answered) {
                ctx->answered = 0;
                rc = ctx->ask.rc;

            } else {
                rc = ngx_http_integrations_rate_limit_account(r, ctx,
                                                 &limits[n],
                                                 pass == 1 || n == last,
                                                 ngx_current_msec);
            }

            if (rc == NGX_AGAIN) {

                if (!ctx->cleanup) {

                    /* a decision Redis has not answered when the request
                     * goes is cancelled */

                    cln = ngx_pool_cleanup_add(r->pool, 0);
                    if (cln == NULL) {
                        ngx_http_integrations_rate_limit_cleanup(ctx);
                        ctx->decided = 1;
                        return NGX_HTTP_INTERNAL_SERVER_ERROR;
                    }

                    cln->handler = ngx_http_integrations_rate_limit_cleanup;
                    cln->data = ctx;
                    ctx->cleanup = 1;
                }

                ctx->waiting = 1;
                r->write_event_handler = ngx_http_request_empty_handler;
                return NGX_AGAIN;
            }

            if (rc == NGX_DECLINED) {
                continue;
            }

            if (rc == NGX_BUSY) {
                ctx->decided = 1;
                return ngx_http_integrations_rate_limit_unavailable(r, lcf,
                                                                  &limits[n]);
            }

            if (rc != NGX_OK) {
                ctx->decided = 1;
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (result->verdict == INTEGRATIONS_GCRA_REJECTED) {
                ctx->decided = 1;
                ctx->verdict = INTEGRATIONS_GCRA_REJECTED;

                return ngx_http_integrations_rate_limit_reject(r, lcf,
                                                               &limits[n],
                                                               &ctx->ask.d);
            }

            if (pass == 0 && n != last) {
                continue;
            }

            if (result->delay > ctx->delay) {
                ctx->delay = result->delay;
            }

            if (lcf->headers == NGX_HTTP_INTEGRATIONS_RATE_LIMIT_OFF) {
                continue;
            }

            /* the headers show the limit with the least of its quota left */

            zone = ((ngx_http_integrations_zone_t *)
                        limits[n].shm_zone->data)->conf;

            integrations_gcra_quota(&ctx->ask.d.after, ctx->ask.d.params,
                                    ctx->ask.d.now, 0, &quota);

            (void) zone;

            if (ctx->shown_limit == NULL
                || quota.remaining < ctx->shown.remaining)
            {
                ctx->shown = quota;
                ctx->shown_limit = &limits[n];
            }
        }

        if (last == 0) {
            break;
        }
    }

    ctx->decided = 1;

    if (ctx->shown_limit
        && ngx_http_integrations_rate_limit_headers(r, lcf, ctx->shown_limit,
                                                    &ctx->shown)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->delay == 0) {
        return NGX_DECLINED;
    }

    ctx->verdict = INTEGRATIONS_GCRA_DELAYED;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "rate_limit: delaying request for %uL ms", ctx->delay);

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_integrations_rate_limit_delay;

    r->connection->write->delayed = 1;
    ngx_add_timer(r->connection->write, (ngx_msec_t) ctx->delay);

    return NGX_AGAIN;
}


/*
 * Decides one limit for a request: the key is the zone's expression.
 * NGX_AGAIN: Redis decides, the answer comes to
 * ngx_http_integrations_rate_limit_answered(); otherwise what
 * ngx_http_integrations_rate_limit_ask() returns.
 */

static ngx_int_t
ngx_http_integrations_rate_limit_account(ngx_http_request_t *r,
    ngx_http_integrations_rate_limit_ctx_t *ctx,
    ngx_http_integrations_rate_limit_t *limit, ngx_uint_t commit,
    uint64_t now)
{
    ngx_http_integrations_zone_t             *kz;
    ngx_http_integrations_rate_limit_ask_t   *ask;
    ngx_http_integrations_rate_limit_zone_t  *zone;

    kz = limit->shm_zone->data;
    zone = kz->conf;
    ask = &ctx->ask;

    if (ngx_http_complex_value(r, &zone->key, &ask->key) != NGX_OK) {
        return NGX_ERROR;
    }

    ask->shm_zone = limit->shm_zone;
    ask->log = r->connection->log;
    ask->done = ngx_http_integrations_rate_limit_answered;
    ask->data = ctx;
    ask->d.mode = limit->mode;
    ask->d.commit = commit;
    ask->d.now = now;
    ask->d.result = &ask->result;

    return ngx_http_integrations_rate_limit_ask(ask, r->pool);
}


static void
ngx_http_integrations_rate_limit_answered(
    ngx_http_integrations_rate_limit_ask_t *ask)
{
    ngx_connection_t                        *c;
    ngx_http_request_t                      *r;
    ngx_http_integrations_rate_limit_ctx_t  *ctx;

    ctx = ask->data;
    r = ctx->request;
    c = r->connection;

    ctx->waiting = 0;
    ctx->answered = 1;

    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_integrations_rate_limit_cleanup(void *data)
{
    ngx_http_integrations_rate_limit_ctx_t *ctx = data;

    ngx_http_integrations_rate_limit_cancel(&ctx->ask);
}


/* on_error=reject while Redis cannot decide: 503, retry in a second */

static ngx_int_t
ngx_http_integrations_rate_limit_unavailable(ngx_http_request_t *r,
    ngx_http_integrations_rate_limit_loc_conf_t *lcf,
    ngx_http_integrations_rate_limit_t *limit)
{
    u_char     buf[NGX_MAX_ERROR_STR], *p;
    ngx_int_t  rc;
    ngx_str_t  detail;

    (void) lcf;

    if (ngx_http_integrations_retry_after(r, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_snprintf(buf, sizeof(buf), "rate limit \"%V\" cannot be "
                     "decided: Redis is unavailable",
                     &limit->shm_zone->shm.name);

    detail.data = buf;
    detail.len = p - buf;

    rc = ngx_http_integrations_problem(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       "rate_limit_unavailable",
                                       "Rate limit unavailable", &detail);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_shm_zone_t *
ngx_http_integrations_rate_limit_zone_ref(ngx_conf_t *cf, ngx_str_t *name)
{
    return ngx_shared_memory_add(cf, name, 0,
                                 &ngx_http_integrations_rate_limit_module);
}


ngx_int_t
ngx_http_integrations_rate_limit_account_key(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, integrations_gcra_mode_e mode, ngx_uint_t commit,
    uint64_t now, ngx_log_t *log, integrations_gcra_result_t *result)
{
    ngx_int_t                                rc;
    ngx_http_integrations_rate_limit_ask_t   ask;

    /* a caller that cannot wait: Redis is not asked */

    ngx_memzero(&ask, sizeof(ngx_http_integrations_rate_limit_ask_t));

    ask.shm_zone = shm_zone;
    ask.key = *key;
    ask.log = log;
    ask.d.mode = mode;
    ask.d.commit = commit;
    ask.d.now = now;
    ask.d.result = result;

    rc = ngx_http_integrations_rate_limit_ask(&ask, NULL);

    return (rc == NGX_BUSY) ? NGX_ERROR : rc;
}


ngx_uint_t
ngx_http_integrations_rate_limit_remote(ngx_shm_zone_t *shm_zone)
{
    ngx_http_integrations_zone_t             *kz;
    ngx_http_integrations_rate_limit_zone_t  *zone;

    kz = shm_zone->data;
    zone = kz ? kz->conf : NULL;

    return zone && zone->cluster && zone->sync == 0;
}


ngx_int_t
ngx_http_integrations_rate_limit_account_async(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, ngx_uint_t commit, ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_integrations_rate_limit_async_t *a)
{
    ngx_http_integrations_rate_limit_ask_t  *ask;

    ask = ngx_pcalloc(pool, sizeof(ngx_http_integrations_rate_limit_ask_t));
    if (ask == NULL) {
        return NGX_ERROR;
    }

    ask->shm_zone = shm_zone;
    ask->key = *key;
    ask->log = log;
    ask->done = ngx_http_integrations_rate_limit_async_done;
    ask->data = a;
    ask->d.mode = INTEGRATIONS_GCRA_NODELAY;
    ask->d.commit = commit;
    ask->d.now = ngx_current_msec;
    ask->d.result = &a->result;

    a->ask = ask;

    return ngx_http_integrations_rate_limit_ask(ask, pool);
}


void
ngx_http_integrations_rate_limit_account_cancel(
    ngx_http_integrations_rate_limit_async_t *a)
{
    ngx_http_integrations_rate_limit_ask_t  *ask;

    ask = a->ask;

    if (ask) {
        ngx_http_integrations_rate_limit_cancel(ask);
    }
}


static void
ngx_http_integrations_rate_limit_async_done(
    ngx_http_integrations_rate_limit_ask_t *ask)
{
    ngx_http_integrations_rate_limit_async_t  *a;

    a = ask->data;
    a->rc = ask->rc;
    a->done(a);
}


/*
 * One decision for ask->key in its zone.  A shared-memory zone, a
 * scope=cluster zone with sync=, and one whose Redis is down (with
 * on_error=local) decide here and now: NGX_OK with ask->d filled,
 * NGX_DECLINED (the key cannot be limited), NGX_ERROR.  A scope=cluster
 * zone otherwise asks Redis when the caller can wait (a pool is given):
 * NGX_AGAIN, and ask->done(ask) with ask->rc later.  NGX_BUSY:
 * on_error=reject and Redis is down.
 */

static ngx_int_t
ngx_http_integrations_rate_limit_ask(
    ngx_http_integrations_rate_limit_ask_t *ask, ngx_pool_t *pool)
{
    u_char                                   *p;
    ngx_str_t                                 args[6];
    ngx_http_integrations_zone_t             *kz;
    ngx_http_integrations_rate_limit_zone_t  *zone;

    kz = ask->shm_zone->data;
    zone = kz->conf;

    ask->d.params = &zone->params;
    ask->d.pending = 0;
    ask->cmd = NULL;
    ask->batch = NULL;

    if (!zone->cluster) {
        return ngx_http_integrations_rate_limit_decide(ask->shm_zone,
                                                       &ask->key, ask->log,
                                                       &ask->d);
    }

    if (ask->key.len == 0) {
        return NGX_DECLINED;
    }

    if (!ngx_http_integrations_redis_up()) {
        return ngx_http_integrations_rate_limit_fallback(ask);
    }

    if (zone->sync) {
        /* decided here on the whole quota; reported at the next sync */
        ask->d.pending = 1;
        return ngx_http_integrations_rate_limit_decide(ask->shm_zone,
                                                       &ask->key, ask->log,
                                                       &ask->d);
    }

    if (pool == NULL) {
        /* a caller that cannot wait gets the node's share */
        return ngx_http_integrations_rate_limit_fallback(ask);
    }

    if (ask->key.len > 65535) {
        return ngx_http_integrations_rate_limit_decide(ask->shm_zone,
                                                       &ask->key, ask->log,
                                                       &ask->d);
    }

    if (ask->d.commit) {
        return ngx_http_integrations_rate_limit_join(ask);
    }

    /* EVALSHA sha 1 PREFIX+KEY T TAU OP */

    p = ngx_pnalloc(pool, zone->prefix.len + ask->key.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(p, zone->prefix.data, zone->prefix.len),
               ask->key.data, ask->key.len);

    ngx_str_set(&args[0], "1");
    args[1].data = p;
    args[1].len = zone->prefix.len + ask->key.len;
    args[2] = zone->interval;
    args[3] = zone->tau;
    ngx_str_set(&args[4], "0");     /* INTEGRATIONS_GCRA_CLUSTER_CHECK */
    ngx_str_set(&args[5], "0");

    ask->cmd = ngx_http_integrations_redis_send(6, args,
                                    &ngx_http_integrations_rate_limit_script,
                                    ngx_http_integrations_rate_limit_redis_done,
                                    ask, ask->log);

    if (ask->cmd == NULL) {
        return ngx_http_integrations_rate_limit_fallback(ask);
    }

    return NGX_AGAIN;
}


static void
ngx_http_integrations_rate_limit_redis_done(
    ngx_http_integrations_redis_cmd_t *cmd, integrations_resp_reply_t *reply)
{
    ngx_http_integrations_rate_limit_ask_t *ask = cmd->data;

    int64_t      v[4];
    const char  *err;

    ask->cmd = NULL;

    err = ngx_http_integrations_rate_limit_reply(reply, v);

    ngx_http_integrations_rate_limit_answer(ask, err ? NULL : v,
                           ngx_http_integrations_rate_limit_unlogged(reply,
                                                                     err));
}


/*
 * err, what is wrong with reply, if it is still to be logged: not when
 * there was no answer, nor for an error reply, which the Redis client has
 * logged
 */

static const char *
ngx_http_integrations_rate_limit_unlogged(integrations_resp_reply_t *reply,
    const char *err)
{
    if (reply == NULL || reply->v[0].type == INTEGRATIONS_RESP_ERROR) {
        return NULL;
    }

    return err;
}


/* the script's answer to CHECK or TAKE in v[4]: NULL, or what is wrong */

static const char *
ngx_http_integrations_rate_limit_reply(integrations_resp_reply_t *reply,
    int64_t *v)
{
    size_t  i;

    if (reply == NULL) {
        return "no answer";
    }

    if (reply->v[0].type != INTEGRATIONS_RESP_ARRAY || reply->n != 5) {
        return "unexpected answer of the rate limit script";
    }

    for (i = 0; i < 4; i++) {
        if (reply->v[i + 1].type != INTEGRATIONS_RESP_INTEGER) {
            return "unexpected answer of the rate limit script";
        }

        v[i] = reply->v[i + 1].integer;
    }

    return NULL;
}


/*
 * Redis's answer v for ask (a single TAKE's or CHECK's), or none (NULL):
 * then err, if any, is logged and the fallback decides.  ask->done()
 * runs.
 */

static void
ngx_http_integrations_rate_limit_answer(
    ngx_http_integrations_rate_limit_ask_t *ask, int64_t *v, const char *err)
{
    uint64_t                                  ahead;
    ngx_http_integrations_zone_t             *kz;
    ngx_http_integrations_rate_limit_zone_t  *zone;

    kz = ask->shm_zone->data;
    zone = kz->conf;

    if (v) {
        err = integrations_gcra_cluster_result(v, 4, &zone->params,
                                               ask->d.mode, ask->d.result,
                                               &ahead);
    }

    if (v && err == NULL) {
        /* what the headers need: the key's TAT, on this node's clock */
        ask->d.after.tat_ms = ask->d.now + ahead;
        ask->d.after.tat_frac = 0;
        ask->d.after.reserved = 0;

        ngx_http_integrations_rate_limit_count(kz, &ask->d);

        ask->rc = NGX_OK;

    } else {
        if (err) {
            ngx_log_error(NGX_LOG_ERR, ask->log, 0,
                          "rate_limit_zone \"%V\": %s",
                          &ask->shm_zone->shm.name, err);
        }

        ask->d.now = ngx_current_msec;
        ask->rc = ngx_http_integrations_rate_limit_fallback(ask);
    }

    ask->done(ask);
}


/* this worker's open batches, and the event that sends them */

static ngx_queue_t  ngx_http_integrations_rate_limit_batches;
static ngx_event_t  ngx_http_integrations_rate_limit_batch_ev;


/* a TAKE waits in its key's open batch: NGX_AGAIN, or the fallback's */

static ngx_int_t
ngx_http_integrations_rate_limit_join(
    ngx_http_integrations_rate_limit_ask_t *ask)
{
    size_t                                     len;
    uint32_t                                   hash;
    ngx_queue_t                               *q;
    ngx_http_integrations_zone_t              *kz;
    ngx_http_integrations_rate_limit_zone_t   *zone;
    ngx_http_integrations_rate_limit_batch_t  *b;

    kz = ask->shm_zone->data;
    zone = kz->conf;

    len = zone->prefix.len + ask->key.len;
    hash = ngx_crc32_short(ask->key.data, ask->key.len);

    for (q = ngx_queue_head(&ngx_http_integrations_rate_limit_batches);
         q != ngx_queue_sentinel(&ngx_http_integrations_rate_limit_batches);
         q = ngx_queue_next(q))
    {
        b = ngx_queue_data(q, ngx_http_integrations_rate_limit_batch_t,
                           queue);

        if (b->shm_zone == ask->shm_zone && b->hash == hash
            && b->key.len == len
            && b->n < NGX_HTTP_INTEGRATIONS_RATE_LIMIT_BATCH
            && ngx_memcmp(b->key.data + zone->prefix.len, ask->key.data,
                          ask->key.len) == 0)
        {
            goto join;
        }
    }

    b = ngx_alloc(sizeof(ngx_http_integrations_rate_limit_batch_t) + len,
                  ask->log);
    if (b == NULL) {
        return ngx_http_integrations_rate_limit_fallback(ask);
    }

    b->shm_zone = ask->shm_zone;
    b->cmd = NULL;
    b->hash = hash;
    b->n = 0;
    b->left = 0;
    b->key.data = (u_char *) &b[1];
    b->key.len = len;

    ngx_memcpy(ngx_cpymem(b->key.data, zone->prefix.data, zone->prefix.len),
               ask->key.data, ask->key.len);

    ngx_queue_insert_head(&ngx_http_integrations_rate_limit_batches,
                          &b->queue);

    if (!ngx_http_integrations_rate_limit_batch_ev.posted) {
        ngx_post_event(&ngx_http_integrations_rate_limit_batch_ev,
                       &ngx_posted_events);
    }

join:

    ask->batch = b;
    ask->index = b->n;
    b->asks[b->n++] = ask;
    b->left++;

    return NGX_AGAIN;
}


/* the pass has ended: each open batch goes to Redis as a TAKE of n */

static void
ngx_http_integrations_rate_limit_batch_handler(ngx_event_t *ev)
{
    u_char                                     num[NGX_INT_T_LEN];
    ngx_str_t                                  args[6];
    ngx_uint_t                                 i, n;
    ngx_queue_t                               *q;
    ngx_http_integrations_zone_t              *kz;
    ngx_http_integrations_rate_limit_ask_t    *ask;
    ngx_http_integrations_rate_limit_zone_t   *zone;
    ngx_http_integrations_rate_limit_batch_t  *b;

    while (!ngx_queue_empty(&ngx_http_integrations_rate_limit_batches)) {

        q = ngx_queue_last(&ngx_http_integrations_rate_limit_batches);
        ngx_queue_remove(q);

        b = ngx_queue_data(q, ngx_http_integrations_rate_limit_batch_t,
                           queue);

        /* the holes of cancelled asks closed */

        for (i = 0, n = 0; i < b->n; i++) {
            if (b->asks[i]) {
                b->asks[i]->index = n;
                b->asks[n++] = b->asks[i];
            }
        }

        b->n = n;

        if (n == 0) {
            ngx_free(b);
            continue;
        }

        kz = b->shm_zone->data;
        zone = kz->conf;

        /* EVALSHA sha 1 PREFIX+KEY T TAU 1 N */

        ngx_str_set(&args[0], "1");
        args[1] = b->key;
        args[2] = zone->interval;
        args[3] = zone->tau;
        ngx_str_set(&args[4], "1");     /* INTEGRATIONS_GCRA_CLUSTER_TAKE */
        args[5].data = num;
        args[5].len = ngx_sprintf(num, "%ui", n) - num;

        b->cmd = ngx_http_integrations_redis_send(6, args,
                                    &ngx_http_integrations_rate_limit_script,
                                    ngx_http_integrations_rate_limit_batch_done,
                                    b, ev->log);

        if (b->cmd == NULL) {
            /* Redis cannot be asked: each decides on its own now */

            for (i = 0; i < n; i++) {
                ask = b->asks[i];

                if (ask) {
                    ask->batch = NULL;
                    b->asks[i] = NULL;
                    ngx_http_integrations_rate_limit_answer(ask, NULL, NULL);
                }
            }

            ngx_free(b);
        }
    }
}


static void
ngx_http_integrations_rate_limit_batch_done(
    ngx_http_integrations_redis_cmd_t *cmd, integrations_resp_reply_t *reply)
{
    ngx_http_integrations_rate_limit_batch_t *b = cmd->data;

    size_t                                    i;
    int64_t                                   v[4], one[4];
    uint64_t                                  t, tau;
    const char                               *err;
    ngx_http_integrations_zone_t             *kz;
    ngx_http_integrations_rate_limit_ask_t   *ask;
    ngx_http_integrations_rate_limit_zone_t  *zone;

    /* answered: a cancel from within a done() below leaves b to us */
    b->cmd = NULL;

    kz = b->shm_zone->data;
    zone = kz->conf;

    integrations_gcra_cluster_args(&zone->params, &t, &tau);

    err = ngx_http_integrations_rate_limit_reply(reply, v);

    if (err == NULL) {
        /* the answer's own checks: the same for every place in it */
        err = integrations_gcra_cluster_nth(v, 4, b->n, 0, t, tau, one);
    }

    /* once for the batch, not once for each request in it */

    if (ngx_http_integrations_rate_limit_unlogged(reply, err)) {
        ngx_log_error(NGX_LOG_ERR, cmd->log, 0, "rate_limit_zone \"%V\": %s",
                      &b->shm_zone->shm.name, err);
    }

    /*
     * done() may end a request whose cleanup cancels another ask of this
     * batch: each is taken out before its done() runs
     */

    for (i = 0; i < b->n; i++) {
        ask = b->asks[i];

        if (ask == NULL) {
            continue;
        }

        b->asks[i] = NULL;
        b->left--;
        ask->batch = NULL;

        if (err
            || integrations_gcra_cluster_nth(v, 4, b->n, i, t, tau, one))
        {
            /* logged above: each falls back */
            ngx_http_integrations_rate_limit_answer(ask, NULL, NULL);
            continue;
        }

        ngx_http_integrations_rate_limit_answer(ask, one, NULL);
    }

    ngx_free(b);
}


/* an ask whose request has gone: its answer is never given */

static void
ngx_http_integrations_rate_limit_cancel(
    ngx_http_integrations_rate_limit_ask_t *ask)
{
    ngx_http_integrations_rate_limit_batch_t  *b;

    if (ask->cmd) {
        ngx_http_integrations_redis_cancel(ask->cmd);
        ask->cmd = NULL;
    }

    b = ask->batch;

    if (b == NULL) {
        return;
    }

    ask->batch = NULL;
    b->asks[ask->index] = NULL;

    if (--b->left == 0 && b->cmd) {
        /* sent: nobody waits for the answer any more */
        ngx_http_integrations_redis_cancel(b->cmd);
        ngx_free(b);
    }

    /* not sent, or being answered: freed there */
}


/*
 * Redis cannot decide: on_error=local decides on the node's share of the
 * quota (nodes=), on_error=reject refuses (NGX_BUSY).
 */

static ngx_int_t
ngx_http_integrations_rate_limit_fallback(
    ngx_http_integrations_rate_limit_ask_t *ask)
{
    ngx_http_integrations_zone_t             *kz;
    ngx_http_integrations_rate_limit_zone_t  *zone;

    kz = ask->shm_zone->data;
    zone = kz->conf;

    if (zone->on_error == NGX_HTTP_INTEGRATIONS_RATE_LIMIT_REJECT) {
        return NGX_BUSY;
    }

    ask->d.params = &zone->local;
    ask->d.pending = 0;

    return ngx_http_integrations_rate_limit_decide(ask->shm_zone, &ask->key,
                                                   ask->log, &ask->d);
}


/*
 * One decision in the zone: d->result, and d->after, the key's state
 * after it.  The totals are counted here, once the answer is in.
 */

static ngx_int_t
ngx_http_integrations_rate_limit_decide(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, ngx_log_t *log,
    ngx_http_integrations_rate_limit_decision_t *d)
{
    ngx_http_integrations_zone_t               *kz;
    ngx_http_integrations_zone_op_t             op;
    ngx_http_integrations_rate_limit_zone_t    *zone;

    if (key->len == 0) {
        return NGX_DECLINED;
    }

    if (key->len > 65535) {
        /* the key may be a credential: never logged */
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "the key of rate_limit_zone \"%V\" is more than "
                      "65535 bytes, not limited", &shm_zone->shm.name);
        return NGX_DECLINED;
    }

    kz = shm_zone->data;
    zone = kz->conf;

    if (d->params == NULL) {
        d->params = &zone->params;
    }

    ngx_http_integrations_zone_op_init(&op, key,
                           ngx_http_integrations_zone_hash(key->data, key->len),
                           ngx_http_integrations_rate_limit_apply, d, log);

    op.flags = d->commit ? NGX_HTTP_INTEGRATIONS_ZONE_CREATE : 0;
    op.idle = ngx_http_integrations_rate_limit_idle;

    if (ngx_http_integrations_zone_update(kz, &op) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "rate_limit_zone \"%V\" is too small for "
                      "a key of %uz bytes", &shm_zone->shm.name, key->len);
        return NGX_ERROR;
    }

    ngx_http_integrations_rate_limit_count(kz, d);

    return NGX_OK;
}


static void
ngx_http_integrations_rate_limit_count(ngx_http_integrations_zone_t *kz,
    ngx_http_integrations_rate_limit_decision_t *d)
{
    ngx_http_integrations_rate_limit_totals_t  *totals;

    totals = kz->data;

    switch (d->result->verdict) {

    case INTEGRATIONS_GCRA_REJECTED:
        (void) ngx_atomic_fetch_add(&totals->rejected, 1);
        break;

    case INTEGRATIONS_GCRA_DELAYED:
        if (d->commit) {
            (void) ngx_atomic_fetch_add(&totals->delayed, 1);
        }
        break;

    default:
        if (d->commit) {
            (void) ngx_atomic_fetch_add(&totals->passed, 1);
        }
        break;
    }
}


/*
 * Decided on d->after, a copy of the key's state (all zero for a key the
 * zone does not hold), which is stored back only with commit.  In a
 * scope=cluster zone the state is followed by the sync= count.
 */

static ngx_uint_t
ngx_http_integrations_rate_limit_apply(ngx_http_integrations_zone_op_t *op,
    void *value)
{
    ngx_http_integrations_rate_limit_decision_t *d = op->data;

    ngx_http_integrations_rate_limit_cluster_value_t  *cv;

    if (value) {
        ngx_memcpy(&d->after, value, sizeof(integrations_gcra_state_t));

    } else {
        ngx_memzero(&d->after, sizeof(integrations_gcra_state_t));
    }

    (void) integrations_gcra_decide(&d->after, d->params, d->now, d->mode,
                                    d->result);

    if (value && d->commit) {
        ngx_memcpy(value, &d->after, sizeof(integrations_gcra_state_t));

        if (d->pending
            && d->result->verdict != INTEGRATIONS_GCRA_REJECTED)
        {
            cv = value;
            cv->pending++;
        }
    }

    return NGX_HTTP_INTEGRATIONS_ZONE_TOUCH;
}


/* an idle key is as good as a fresh one: it may go at no cost */

static ngx_uint_t
ngx_http_integrations_rate_limit_idle(ngx_http_integrations_zone_op_t *op,
    void *value)
{
    ngx_http_integrations_rate_limit_decision_t *d = op->data;

    return integrations_gcra_idle(value, d->params, d->now);
}


/*
 * sync=: worker 0 of each node reports, every interval, the admissions
 * its node made on each key since the last report (ADD), and takes the
 * cluster's TAT back into the node's state: a key that other nodes used
 * is then as far ahead here as in Redis.  Between two reports each node
 * decides alone on the whole quota, so the cluster admits at most
 * nodes x rate x sync more than the rate (plus each node's burst).
 */

typedef struct {
    ngx_http_integrations_rate_limit_zone_t  *zone;
    ngx_queue_t                               queue;
    uint32_t                                  n;
    size_t                                    len;
    u_char                                    key[1];
} ngx_http_integrations_rate_limit_sync_t;


typedef struct {
    ngx_queue_t                               items;
    ngx_uint_t                                count;
    ngx_http_integrations_rate_limit_zone_t  *zone;
} ngx_http_integrations_rate_limit_sync_walk_t;


static void
ngx_http_integrations_rate_limit_sync_handler(ngx_event_t *ev)
{
    u_char                                        *p;
    ngx_str_t                                      args[6];
    ngx_queue_t                                   *q;
    ngx_http_integrations_rate_limit_zone_t       *zone;
    ngx_http_integrations_rate_limit_sync_t       *item;
    ngx_http_integrations_rate_limit_sync_walk_t   walk;
    u_char                                         n[NGX_INT32_LEN];

    zone = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(ev, zone->sync);

    if (!ngx_http_integrations_redis_up()) {
        /* the node decides on its share meanwhile: nothing to report */
        return;
    }

    ngx_queue_init(&walk.items);
    walk.count = 0;
    walk.zone = zone;

    (void) ngx_http_integrations_zone_walk(zone->shm_zone->data,
                                  ngx_http_integrations_rate_limit_sync_visit,
                                  &walk);

    while (!ngx_queue_empty(&walk.items)) {
        q = ngx_queue_head(&walk.items);
        ngx_queue_remove(q);
        item = ngx_queue_data(q, ngx_http_integrations_rate_limit_sync_t,
                              queue);

        p = ngx_alloc(zone->prefix.len + item->len, ev->log);
        if (p == NULL) {
            ngx_free(item);
            continue;
        }

        ngx_memcpy(ngx_cpymem(p, zone->prefix.data, zone->prefix.len),
                   item->key, item->len);

        ngx_str_set(&args[0], "1");
        args[1].data = p;
        args[1].len = zone->prefix.len + item->len;
        args[2] = zone->interval;
        args[3] = zone->tau;
        ngx_str_set(&args[4], "2");
        args[5].data = n;
        args[5].len = ngx_sprintf(n, "%uD", item->n) - n;

        if (ngx_http_integrations_redis_send(6, args,
                                   &ngx_http_integrations_rate_limit_script,
                                   ngx_http_integrations_rate_limit_sync_done,
                                   item, ev->log)
            == NULL)
        {
            ngx_free(item);
        }

        /* the command holds its own copy of the arguments */
        ngx_free(p);
    }
}


/* under the zone's lock: takes each key's count, leaves it at 0 */

static ngx_int_t
ngx_http_integrations_rate_limit_sync_visit(void *data, ngx_str_t *key,
    void *value)
{
    ngx_http_integrations_rate_limit_sync_walk_t *walk = data;

    ngx_http_integrations_rate_limit_sync_t           *item;
    ngx_http_integrations_rate_limit_cluster_value_t  *cv;

    cv = value;

    if (cv->pending == 0) {
        return NGX_OK;
    }

    item = ngx_alloc(sizeof(ngx_http_integrations_rate_limit_sync_t)
                     + key->len, ngx_cycle->log);
    if (item == NULL) {
        return NGX_DONE;
    }

    item->zone = walk->zone;
    item->n = cv->pending;
    item->len = key->len;
    ngx_memcpy(item->key, key->data, key->len);

    cv->pending = 0;

    ngx_queue_insert_tail(&walk->items, &item->queue);

    if (++walk->count == NGX_HTTP_INTEGRATIONS_RATE_LIMIT_SYNC_MAX) {
        return NGX_DONE;
    }

    return NGX_OK;
}


static void
ngx_http_integrations_rate_limit_sync_done(
    ngx_http_integrations_redis_cmd_t *cmd, integrations_resp_reply_t *reply)
{
    ngx_http_integrations_rate_limit_sync_t *item = cmd->data;

    uint64_t                          target;
    ngx_str_t                         key;
    ngx_http_integrations_zone_op_t   op;

    if (reply && reply->n == 2 && reply->v[0].type == INTEGRATIONS_RESP_ARRAY
        && reply->v[1].type == INTEGRATIONS_RESP_INTEGER
        && reply->v[1].integer >= 0)
    {
        /* the cluster's TAT on this node's clock */
        target = ngx_current_msec + ((uint64_t) reply->v[1].integer + 999)
                                    / 1000;

        key.data = item->key;
        key.len = item->len;

        ngx_http_integrations_zone_op_init(&op, &key,
                           ngx_http_integrations_zone_hash(key.data, key.len),
                           ngx_http_integrations_rate_limit_sync_apply,
                           &target, cmd->log);

        (void) ngx_http_integrations_zone_update(item->zone->shm_zone->data,
                                                 &op);
    }

    ngx_free(item);
}


static ngx_uint_t
ngx_http_integrations_rate_limit_sync_apply(ngx_http_integrations_zone_op_t *op,
    void *value)
{
    uint64_t  *target = op->data;

    ngx_http_integrations_rate_limit_cluster_value_t  *cv;

    cv = value;

    if (cv == NULL) {
        return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
    }

    if (cv->state.tat_ms < *target) {
        cv->state.tat_ms = *target;
        cv->state.tat_frac = 0;
    }

    return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
}


static ngx_int_t
ngx_http_integrations_rate_limit_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                                     i;
    ngx_http_conf_ctx_t                           *ctx;
    ngx_http_integrations_zone_t                 **zones;
    ngx_http_integrations_rate_limit_zone_t       *zone;
    ngx_http_integrations_rate_limit_main_conf_t  *rmcf;

    ngx_queue_init(&ngx_http_integrations_rate_limit_batches);

    ngx_http_integrations_rate_limit_batch_ev.handler =
                                ngx_http_integrations_rate_limit_batch_handler;
    ngx_http_integrations_rate_limit_batch_ev.log = cycle->log;

    if (ngx_process != NGX_PROCESS_WORKER || ngx_worker != 0) {
        return NGX_OK;
    }

    ctx = (ngx_http_conf_ctx_t *) cycle->conf_ctx[ngx_http_module.index];
    if (ctx == NULL) {
        return NGX_OK;
    }

    rmcf = ctx->main_conf[ngx_http_integrations_rate_limit_module.ctx_index];
    zones = rmcf->list.zones.elts;

    for (i = 0; i < rmcf->list.zones.nelts; i++) {
        zone = zones[i]->conf;

        if (!zone->cluster || zone->sync == 0) {
            continue;
        }

        zone->sync_ev.handler = ngx_http_integrations_rate_limit_sync_handler;
        zone->sync_ev.data = zone;
        zone->sync_ev.log = cycle->log;
        zone->sync_ev.cancelable = 1;

        ngx_add_timer(&zone->sync_ev, zone->sync);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_rate_limit_reject(ngx_http_request_t *r,
    ngx_http_integrations_rate_limit_loc_conf_t *lcf,
    ngx_http_integrations_rate_limit_t *limit,
    ngx_http_integrations_rate_limit_decision_t *d)
{
    u_char                     buf[NGX_MAX_ERROR_STR], *p;
    ngx_int_t                  rc;
    ngx_str_t                  detail;
    integrations_gcra_quota_t  quota;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "rate_limit: rejected by zone \"%V\", retry in %uL ms",
                  &limit->shm_zone->shm.name, d->result->retry_after);

    if (ngx_http_integrations_retry_after(r,
                          (time_t) ((d->result->retry_after + 999) / 1000))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lcf->headers != NGX_HTTP_INTEGRATIONS_RATE_LIMIT_OFF) {

        integrations_gcra_quota(&d->after, d->params, d->now, 1, &quota);

        if (ngx_http_integrations_rate_limit_headers(r, lcf, limit, &quota)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    p = ngx_snprintf(buf, sizeof(buf), "rate limit \"%V\" exceeded",
                     &limit->shm_zone->shm.name);

    detail.data = buf;
    detail.len = p - buf;

    rc = ngx_http_integrations_problem(r, lcf->status_code, "rate_limited",
                                       "Too many requests", &detail);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * RateLimit-Policy: "NAME";q=QUOTA;w=WINDOW and RateLimit:
 * "NAME";r=REMAINING;t=RESET (draft-ietf-httpapi-ratelimit-headers), or
 * the same numbers as the X-RateLimit-* triple: a quota over a window of
 * whole seconds that the limiter honours, see integrations_gcra_quota().
 */

static ngx_int_t
ngx_http_integrations_rate_limit_headers(ngx_http_request_t *r,
    ngx_http_integrations_rate_limit_loc_conf_t *lcf,
    ngx_http_integrations_rate_limit_t *limit,
    integrations_gcra_quota_t *quota)
{
    u_char     *p, *v;
    ngx_str_t  *name;

    name = &limit->shm_zone->shm.name;

    if (lcf->headers == NGX_HTTP_INTEGRATIONS_RATE_LIMIT_LEGACY) {

        v = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN);
        if (v == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(v, "%uL", quota->quota);

        if (ngx_http_integrations_rate_limit_header(r, "X-RateLimit-Limit",
                                                    v, p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        v = p;
        p = ngx_sprintf(v, "%uL", quota->remaining);

        if (ngx_http_integrations_rate_limit_header(r,
                                                "X-RateLimit-Remaining", v, p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        v = p;
        p = ngx_sprintf(v, "%uL", quota->reset);

        return ngx_http_integrations_rate_limit_header(r, "X-RateLimit-Reset",
                                                       v, p);
    }

    v = ngx_pnalloc(r->pool, 2 * (name->len + 16 + 2 * NGX_INT64_LEN));
    if (v == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(v, "\"%V\";q=%uL;w=%uL", name, quota->quota,
                    quota->window);

    if (ngx_http_integrations_rate_limit_header(r, "RateLimit-Policy", v, p)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    v = p;
    p = ngx_sprintf(v, "\"%V\";r=%uL;t=%uL", name, quota->remaining,
                    quota->reset);

    return ngx_http_integrations_rate_limit_header(r, "RateLimit", v, p);
}


static ngx_int_t
ngx_http_integrations_rate_limit_header(ngx_http_request_t *r,
    const char *name, u_char *value, u_char *last)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = last - value;

    return NGX_OK;
}


static void
ngx_http_integrations_rate_limit_delay(ngx_http_request_t *r)
{
    ngx_event_t  *wev;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "rate_limit delay");

    wev = r->connection->write;

    if (wev->delayed) {

        if (ngx_handle_write_event(wev, 0) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_integrations_rate_limit_collect(
    ngx_http_integrations_status_writer_t *w, void *data)
{
    ngx_http_integrations_rate_limit_main_conf_t *rmcf = data;

    ngx_uint_t                                  i, j;
    ngx_atomic_uint_t                           value;
    ngx_http_integrations_zone_t              **zones;
    ngx_http_integrations_status_label_t        l[2];
    ngx_http_integrations_rate_limit_totals_t  *totals;

    static const char  *results[] = { "passed", "delayed", "rejected" };

    zones = rmcf->list.zones.elts;

    if (rmcf->list.zones.nelts == 0) {
        return NGX_OK;
    }

    ngx_str_set(&l[0].name, "zone");
    ngx_str_set(&l[1].name, "result");

    if (ngx_http_integrations_status_family(w,
            "integrations_rate_limit_requests_total",
            NGX_HTTP_INTEGRATIONS_STATUS_COUNTER,
            "Requests decided by each rate limit zone, by result.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < rmcf->list.zones.nelts; i++) {
        l[0].value = zones[i]->shm_zone->shm.name;
        totals = zones[i]->data;

        for (j = 0; j < 3; j++) {
            l[1].value.data = (u_char *) results[j];
            l[1].value.len = ngx_strlen(results[j]);

            value = (j == 0) ? totals->passed
                    : (j == 1) ? totals->delayed
                    : totals->rejected;

            if (ngx_http_integrations_status_sample(w, l, 2, value)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (ngx_http_integrations_zone_collect(w, &rmcf->list,
            NGX_HTTP_INTEGRATIONS_ZONE_EVICTED,
            "integrations_rate_limit_evictions_total",
            "Keys evicted from a full rate limit zone.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_integrations_zone_collect(w, &rmcf->list,
            NGX_HTTP_INTEGRATIONS_ZONE_KEYS, "integrations_rate_limit_keys",
            "Keys held in each rate limit zone.");
}


static ngx_int_t
ngx_http_integrations_rate_limit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char                              *s;
    ngx_http_integrations_rate_limit_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main,
                                  ngx_http_integrations_rate_limit_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = integrations_gcra_verdict_str(ctx->verdict);

    v->data = (u_char *) s;
    v->len = ngx_strlen(s);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static char *
ngx_http_integrations_rate_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ssize_t                                        size;
    uint32_t                                       count, period, burst;
    ngx_int_t                                      n;
    ngx_str_t                                     *value, name, s, *scope;
    ngx_uint_t                                     i;
    const char                                    *err;
    ngx_http_integrations_zone_t                  *kz;
    ngx_http_compile_complex_value_t               ccv;
    ngx_http_integrations_rate_limit_zone_t       *zone;
    ngx_http_integrations_rate_limit_main_conf_t  *rmcf;

    value = cf->args->elts;

    zone = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_rate_limit_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = &zone->key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    size = 0;
    count = 0;
    period = 0;
    burst = 0;
    name.len = 0;
    scope = NULL;
    zone->sync = NGX_CONF_UNSET_MSEC;
    zone->on_error = NGX_CONF_UNSET_UINT;
    zone->nodes = NGX_CONF_UNSET_UINT;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            if (ngx_http_integrations_zone_parse(cf, &value[i], &name, &size)
                != NGX_OK
                || ngx_http_integrations_zone_check_size(cf, size, &value[i])
                   != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "rate=", 5) == 0) {

            err = integrations_gcra_parse_rate(value[i].data + 5,
                                               value[i].len - 5,
                                               &count, &period);
            if (err) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid rate \"%V\": %s",
                                   &value[i], err);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {

            n = ngx_atoi(value[i].data + 6, value[i].len - 6);

            if (n == NGX_ERROR || n > INTEGRATIONS_GCRA_MAX_BURST) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid burst value \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            burst = (uint32_t) n;

            continue;
        }

        if (ngx_strcmp(value[i].data, "scope=cluster") == 0) {
            zone->cluster = 1;
            scope = &value[i];
            continue;
        }

        if (ngx_strcmp(value[i].data, "scope=local") == 0) {
            zone->cluster = 0;
            scope = &value[i];
            continue;
        }

        if (ngx_strncmp(value[i].data, "sync=", 5) == 0) {

            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            n = ngx_parse_time(&s, 0);

            if (n == NGX_ERROR || n == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid sync value \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            zone->sync = (ngx_msec_t) n;
            continue;
        }

        if (ngx_strcmp(value[i].data, "on_error=local") == 0) {
            zone->on_error = NGX_HTTP_INTEGRATIONS_RATE_LIMIT_LOCAL;
            continue;
        }

        if (ngx_strcmp(value[i].data, "on_error=reject") == 0) {
            zone->on_error = NGX_HTTP_INTEGRATIONS_RATE_LIMIT_REJECT;
            continue;
        }

        if (ngx_strncmp(value[i].data, "nodes=", 6) == 0) {

            n = ngx_atoi(value[i].data + 6, value[i].len - 6);

            if (n == NGX_ERROR || n == 0 || n > 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid nodes value \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            zone->nodes = (ngx_uint_t) n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (count == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"rate\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    err = integrations_gcra_params_init(&zone->params, count, period, burst);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\" directive",
                           err, &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_integrations_rate_limit_cluster_conf(cf, cmd, zone, &name,
                                                      scope)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    kz = ngx_http_integrations_zone_add(cf, &name, size,
                              zone->cluster
                              ? &ngx_http_integrations_rate_limit_cluster_type
                              : &ngx_http_integrations_rate_limit_type,
                              &ngx_http_integrations_rate_limit_module);
    if (kz == NULL) {
        return NGX_CONF_ERROR;
    }

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                     ngx_http_integrations_rate_limit_module);

    switch (ngx_http_integrations_zone_declare(&rmcf->list, kz)) {

    case NGX_OK:
        kz->conf = zone;
        return NGX_CONF_OK;

    case NGX_DECLINED:
        zone = kz->conf;

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V \"%V\" is already bound to key \"%V\"",
                           &cmd->name, &name, &zone->key.value);
        return NGX_CONF_ERROR;

    default:
        return NGX_CONF_ERROR;
    }
}


/*
 * scope=cluster [sync=TIME] [on_error=local|reject] [nodes=N]: the
 * parameters after the others are read; on_error=local (the default)
 * needs nodes=, the share a node falls back to.
 */

static char *
ngx_http_integrations_rate_limit_cluster_conf(ngx_conf_t *cf,
    ngx_command_t *cmd, ngx_http_integrations_rate_limit_zone_t *zone,
    ngx_str_t *name, ngx_str_t *scope)
{
    u_char      *p;
    uint64_t     t, tau;
    const char  *err;

    if (!zone->cluster) {
        if (zone->sync != NGX_CONF_UNSET_MSEC
            || zone->on_error != NGX_CONF_UNSET_UINT
            || zone->nodes != NGX_CONF_UNSET_UINT)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" directive: \"sync\", \"on_error\" "
                               "and \"nodes\" need \"scope=cluster\"",
                               &cmd->name);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    (void) scope;

    if (zone->sync == NGX_CONF_UNSET_MSEC) {
        zone->sync = 0;
    }

    if (zone->on_error == NGX_CONF_UNSET_UINT) {
        zone->on_error = NGX_HTTP_INTEGRATIONS_RATE_LIMIT_LOCAL;
    }

    if (zone->nodes == NGX_CONF_UNSET_UINT) {

        if (zone->on_error == NGX_HTTP_INTEGRATIONS_RATE_LIMIT_LOCAL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" directive: \"scope=cluster\" with "
                               "\"on_error=local\" needs \"nodes=N\", the "
                               "number of gateways that share the quota",
                               &cmd->name);
            return NGX_CONF_ERROR;
        }

        zone->nodes = 1;
    }

    err = integrations_gcra_cluster_local(&zone->params,
                                          (uint32_t) zone->nodes,
                                          &zone->local);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\" directive",
                           err, &cmd->name);
        return NGX_CONF_ERROR;
    }

    /* the Redis keys: integrations:rl:NAME:KEY */

    zone->prefix.len = sizeof("integrations:rl:") - 1 + name->len + 1;
    zone->prefix.data = ngx_pnalloc(cf->pool, zone->prefix.len);
    if (zone->prefix.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(zone->prefix.data, "integrations:rl:%V:", name);

    integrations_gcra_cluster_args(&zone->params, &t, &tau);

    p = ngx_pnalloc(cf->pool, 2 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->interval.data = p;
    zone->interval.len = ngx_sprintf(p, "%uL", t) - p;
    p += zone->interval.len;
    zone->tau.data = p;
    zone->tau.len = ngx_sprintf(p, "%uL", tau) - p;

    return NGX_CONF_OK;
}


static char *
ngx_http_integrations_rate_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_rate_limit_loc_conf_t *lcf = conf;

    ngx_str_t                                     *value, s;
    ngx_uint_t                                     i;
    ngx_shm_zone_t                                *shm_zone;
    integrations_gcra_mode_e                       mode;
    ngx_http_integrations_rate_limit_t            *limit, *limits;
    ngx_http_integrations_rate_limit_main_conf_t  *rmcf;

    value = cf->args->elts;

    shm_zone = NULL;
    mode = INTEGRATIONS_GCRA_NODELAY;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            s.len = value[i].len - 5;
            s.data = value[i].data + 5;

            if (s.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            /* checked in postconfiguration: it may be declared later */

            rmcf = ngx_http_conf_get_module_main_conf(cf,
                                     ngx_http_integrations_rate_limit_module);

            shm_zone = ngx_http_integrations_zone_ref(cf, &rmcf->list, &s,
                                     &ngx_http_integrations_rate_limit_module);
            if (shm_zone == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "delay") == 0) {
            mode = INTEGRATIONS_GCRA_DELAY;
            continue;
        }

        if (ngx_strcmp(value[i].data, "nodelay") == 0) {
            mode = INTEGRATIONS_GCRA_NODELAY;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    limits = lcf->limits.elts;

    if (limits == NULL) {
        if (ngx_array_init(&lcf->limits, cf->pool, 1,
                           sizeof(ngx_http_integrations_rate_limit_t))
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 0; i < lcf->limits.nelts; i++) {
        if (shm_zone == limits[i].shm_zone) {
            return "is duplicate";
        }
    }

    limit = ngx_array_push(&lcf->limits);
    if (limit == NULL) {
        return NGX_CONF_ERROR;
    }

    limit->shm_zone = shm_zone;
    limit->mode = mode;

    return NGX_CONF_OK;
}


/* ngx_conf_set_enum_slot(), with the directive named in the message */

static char *
ngx_http_integrations_rate_limit_headers_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t        *value;
    ngx_uint_t       *np, i;
    ngx_conf_enum_t  *e;

    np = (ngx_uint_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (e = cmd->post, i = 0; e[i].name.len != 0; i++) {
        if (e[i].name.len == value[1].len
            && ngx_strcasecmp(e[i].name.data, value[1].data) == 0)
        {
            *np = e[i].value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be \"on\", \"off\" or \"legacy\"",
                       &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_integrations_rate_limit_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf,
                                &ngx_http_integrations_rate_limit_status_name,
                                0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_integrations_rate_limit_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_rate_limit_init(ngx_conf_t *cf)
{
    ngx_uint_t                                     i;
    ngx_http_handler_pt                           *h;
    ngx_http_core_main_conf_t                     *cmcf;
    ngx_http_integrations_zone_t                 **zones;
    ngx_http_integrations_rate_limit_zone_t       *zone;
    ngx_http_integrations_rate_limit_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                     ngx_http_integrations_rate_limit_module);

    if (ngx_http_integrations_zone_list_check(cf, &rmcf->list, "rate_limit",
                                    ngx_http_integrations_rate_limit_collect,
                                    rmcf)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    zones = rmcf->list.zones.elts;

    for (i = 0; i < rmcf->list.zones.nelts; i++) {
        zone = zones[i]->conf;

        if (!zone->cluster) {
            continue;
        }

        zone->shm_zone = zones[i]->shm_zone;

        if (!ngx_http_integrations_redis_configured(cf)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "rate_limit_zone \"%V\" is scope=cluster: "
                               "\"integrations_redis\" is not set",
                               &zones[i]->shm_zone->shm.name);
            return NGX_ERROR;
        }
    }

    ngx_http_integrations_redis_script_init(
                                    &ngx_http_integrations_rate_limit_script,
                                    integrations_gcra_cluster_script);

    if (rmcf->list.refs.nelts == 0) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_integrations_rate_limit_handler;

    return NGX_OK;
}


static void *
ngx_http_integrations_rate_limit_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_rate_limit_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_rate_limit_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    if (ngx_http_integrations_zone_list_init(cf, &rmcf->list) != NGX_OK) {
        return NULL;
    }

    return rmcf;
}


static void *
ngx_http_integrations_rate_limit_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_rate_limit_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_rate_limit_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->limits.elts = NULL;
     */

    conf->status_code = NGX_CONF_UNSET_UINT;
    conf->headers = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_integrations_rate_limit_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_integrations_rate_limit_loc_conf_t *prev = parent;
    ngx_http_integrations_rate_limit_loc_conf_t *conf = child;

    if (conf->limits.elts == NULL) {
        conf->limits = prev->limits;
    }

    ngx_conf_merge_uint_value(conf->status_code, prev->status_code,
                              NGX_HTTP_TOO_MANY_REQUESTS);

    ngx_conf_merge_uint_value(conf->headers, prev->headers,
                              NGX_HTTP_INTEGRATIONS_RATE_LIMIT_OFF);

    return NGX_CONF_OK;
}
