/*
 * Circuit breaking of proxied routes: the state machine of
 * integrations_breaker.c, one breaker per key, kept in shared memory.
 *
 *     circuit_breaker_zone  zone=breakers:1m;
 *
 *     location /coupang/ {
 *         circuit_breaker  zone=breakers key=coupang failures=5 open=30s;
 *         proxy_pass       https://coupang;
 *     }
 *
 * The check runs in the ACCESS phase: an open breaker answers at once
 * with circuit_breaker_status, Retry-After and a problem body.  The
 * outcome is recorded in the LOG phase from r->upstream_states, one
 * outcome per upstream attempt (proxy_next_upstream retries included):
 *
 *     status 0                         no outcome (client gone, ...)
 *     no header, 504                   timeout (connect or read)
 *     no header, 502                   connect error (refused, reset,
 *                                      invalid or truncated header)
 *     a status in the failure list     failing status
 *     anything else                    success
 *
 * A probe admitted in HALF_OPEN that ends with no outcome frees its slot
 * at once; a pool cleanup frees it too if the log phase never sees it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_breaker.h"
#include "ngx_http_integrations_circuit_breaker.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_zone.h"


#define NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_ACQUIRE  0
#define NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_RECORD   1
#define NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_PEEK     2


/* one call on a breaker: the data of a zone operation */

typedef struct {
    ngx_uint_t                          what;
    const integrations_breaker_conf_t  *conf;
    uint64_t                            now;
    ngx_http_integrations_circuit_breaker_ticket_t  *t;

    integrations_breaker_decision_t     d;           /* acquire, peek */

    integrations_breaker_outcome_e     *outcomes;    /* record */
    uint64_t                           *durations;
    ngx_uint_t                          n;
    integrations_breaker_transition_t   first;
} ngx_http_integrations_circuit_breaker_call_t;


typedef struct {
    ngx_shm_zone_t                 *shm_zone;
    ngx_http_complex_value_t       *key;         /* NULL: the location */
    ngx_str_t                       location;
    integrations_breaker_conf_t     conf;
    ngx_uint_t                      status_code;
    ngx_array_t                    *failure_statuses;  /* of ngx_uint_t */
} ngx_http_integrations_circuit_breaker_loc_conf_t;


typedef struct {
    ngx_http_integrations_zone_list_t  list;
} ngx_http_integrations_circuit_breaker_main_conf_t;


typedef struct {
    ngx_http_integrations_circuit_breaker_loc_conf_t  *conf;
    ngx_http_integrations_circuit_breaker_ticket_t     t;  /* t.state: for
                                                              the variable */
    ngx_pool_cleanup_t                                 cln;
} ngx_http_integrations_circuit_breaker_ctx_t;


/* a copy of one breaker, taken under the lock for the metrics */

typedef struct {
    ngx_str_t                       zone;
    ngx_str_t                       key;
    integrations_breaker_state_e    state;
    integrations_breaker_stats_t    stats;
} ngx_http_integrations_circuit_breaker_snap_t;


typedef struct {
    ngx_array_t                     snaps;
    ngx_pool_t                     *pool;
    ngx_str_t                       zone;
    uint64_t                        now;
} ngx_http_integrations_circuit_breaker_walk_t;


static ngx_int_t ngx_http_integrations_circuit_breaker_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_circuit_breaker_log_handler(
    ngx_http_request_t *r);
static void ngx_http_integrations_circuit_breaker_cleanup(void *data);
static ngx_http_integrations_circuit_breaker_ctx_t *
    ngx_http_integrations_circuit_breaker_get_ctx(ngx_http_request_t *r);
static integrations_breaker_outcome_e
    ngx_http_integrations_circuit_breaker_outcome(
    ngx_http_integrations_circuit_breaker_loc_conf_t *bcf,
    ngx_http_upstream_state_t *state, ngx_uint_t *known);
static ngx_int_t ngx_http_integrations_circuit_breaker_call(
    ngx_shm_zone_t *shm_zone,
    ngx_http_integrations_circuit_breaker_call_t *call, ngx_log_t *log);
static ngx_uint_t ngx_http_integrations_circuit_breaker_apply(
    ngx_http_integrations_zone_op_t *op, void *value);
static void ngx_http_integrations_circuit_breaker_log_transition(
    ngx_log_t *log, ngx_http_integrations_circuit_breaker_ticket_t *t,
    integrations_breaker_transition_t *tr);
static ngx_int_t ngx_http_integrations_circuit_breaker_collect(
    ngx_http_integrations_status_writer_t *w, void *data);
static ngx_int_t ngx_http_integrations_circuit_breaker_snap(void *data,
    ngx_str_t *key, void *value);
static ngx_int_t ngx_http_integrations_circuit_breaker_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_integrations_circuit_breaker_zone(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_circuit_breaker(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_circuit_breaker_statuses(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_integrations_circuit_breaker_add_variables(
    ngx_conf_t *cf);
static ngx_int_t ngx_http_integrations_circuit_breaker_init(ngx_conf_t *cf);
static void *ngx_http_integrations_circuit_breaker_create_main_conf(
    ngx_conf_t *cf);
static void *ngx_http_integrations_circuit_breaker_create_loc_conf(
    ngx_conf_t *cf);
static char *ngx_http_integrations_circuit_breaker_merge_loc_conf(
    ngx_conf_t *cf, void *parent, void *child);


static ngx_command_t  ngx_http_integrations_circuit_breaker_commands[] = {

    { ngx_string("circuit_breaker_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_integrations_circuit_breaker_zone,
      0,
      0,
      NULL },

    { ngx_string("circuit_breaker"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_integrations_circuit_breaker,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("circuit_breaker_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_integrations_problem_status_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_circuit_breaker_loc_conf_t,
               status_code),
      NULL },

    { ngx_string("circuit_breaker_failure_statuses"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_integrations_circuit_breaker_statuses,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_circuit_breaker_module_ctx = {
    ngx_http_integrations_circuit_breaker_add_variables, /* preconfiguration */
    ngx_http_integrations_circuit_breaker_init,    /* postconfiguration */

    ngx_http_integrations_circuit_breaker_create_main_conf, /* create main */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    ngx_http_integrations_circuit_breaker_create_loc_conf, /* create loc */
    ngx_http_integrations_circuit_breaker_merge_loc_conf /* merge loc */
};


ngx_module_t  ngx_http_integrations_circuit_breaker_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_circuit_breaker_module_ctx, /* module context */
    ngx_http_integrations_circuit_breaker_commands, /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    NULL,                                          /* init module */
    NULL,                                          /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    NULL,                                          /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_integrations_circuit_breaker_state_name =
    ngx_string("circuit_breaker_state");


static ngx_http_integrations_zone_type_t
    ngx_http_integrations_circuit_breaker_type = {
    "circuit_breaker_zone",
    "evicting the least recently used breakers (logged once)",
    0x49434257,                                    /* "ICBW" */
    2,
    sizeof(integrations_breaker_state_t),
    0,
    NGX_HTTP_INTEGRATIONS_ZONE_RESET               /* breakers may restart */
};


static ngx_int_t
ngx_http_integrations_circuit_breaker_handler(ngx_http_request_t *r)
{
    u_char                                            *p;
    uint64_t                                           retry_after;
    ngx_int_t                                          rc;
    ngx_str_t                                          key, detail;
    ngx_pool_cleanup_t                                *cln;
    integrations_breaker_verdict_e                     v;
    ngx_http_integrations_circuit_breaker_ctx_t       *ctx;
    ngx_http_integrations_circuit_breaker_loc_conf_t  *bcf;

    bcf = ngx_http_get_module_loc_conf(r,
                                  ngx_http_integrations_circuit_breaker_module);

    if (bcf->shm_zone == NULL || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r,
                                  ngx_http_integrations_circuit_breaker_module);

    if (ctx || ((r->internal || r->filter_finalize)
                && ngx_http_integrations_circuit_breaker_get_ctx(r)))
    {
        return NGX_DECLINED;
    }

    if (bcf->key) {
        if (ngx_http_complex_value(r, bcf->key, &key) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (key.len == 0) {
            return NGX_DECLINED;
        }

        if (key.len > 65535) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "circuit breaker key is more than 65535 bytes, "
                          "no breaker applies");
            return NGX_DECLINED;
        }

    } else {
        key = bcf->location;
    }

    /*
     * The context holds a pool cleanup, which frees a probe slot the log
     * phase did not see, and keeps the ticket findable after an internal
     * redirect (error_page), which clears the modules' contexts: what
     * ngx_pool_cleanup_add() does, in the context's own allocation.
     * acquire_key() fills all of the ticket.
     */

    ctx = ngx_palloc(r->pool,
                     sizeof(ngx_http_integrations_circuit_breaker_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->conf = bcf;

    v = ngx_http_integrations_circuit_breaker_acquire_key(bcf->shm_zone,
                                                    &bcf->conf, &key,
                                                    ngx_current_msec,
                                                    r->connection->log,
                                                    &ctx->t, &retry_after);

    cln = &ctx->cln;

    cln->handler = ngx_http_integrations_circuit_breaker_cleanup;
    cln->data = ctx;
    cln->next = r->pool->cleanup;
    r->pool->cleanup = cln;

    ngx_http_set_ctx(r, ctx, ngx_http_integrations_circuit_breaker_module);

    if (v != INTEGRATIONS_BREAKER_REJECT) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "circuit breaker \"%V\" is %s, request short-circuited",
                  &ctx->t.key, integrations_breaker_state_str(ctx->t.state));

    if (ngx_http_integrations_retry_after(r,
                                  (time_t) ((retry_after + 999) / 1000))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = (u_char *) ((ctx->t.state == INTEGRATIONS_BREAKER_OPEN)
                    ? "the upstream is failing, calls to it are suspended"
                    : "the upstream is being probed, retry shortly");

    detail.data = p;
    detail.len = ngx_strlen(p);

    rc = ngx_http_integrations_problem(r, bcf->status_code, "circuit_open",
                                       "Service unavailable", &detail);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_integrations_circuit_breaker_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                                    i, n, known;
    uint64_t                                     *durations;
    ngx_http_upstream_state_t                    *state;
    integrations_breaker_outcome_e               *outcomes;
    ngx_http_integrations_circuit_breaker_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r,
                                  ngx_http_integrations_circuit_breaker_module);

    if (ctx == NULL && (r->internal || r->filter_finalize)) {
        ctx = ngx_http_integrations_circuit_breaker_get_ctx(r);
    }

    if (ctx == NULL || !ctx->t.armed) {
        return NGX_OK;
    }

    n = 0;
    outcomes = NULL;
    durations = NULL;

    if (r->upstream_states && r->upstream_states->nelts) {
        state = r->upstream_states->elts;

        outcomes = ngx_palloc(r->pool, r->upstream_states->nelts
                                       * (sizeof(uint64_t)
                                          + sizeof(*outcomes)));
        if (outcomes == NULL) {
            /* the slot of a probe must not stay taken */
            ngx_http_integrations_circuit_breaker_record_key(&ctx->t, NULL,
                                                    NULL, 0,
                                                    ngx_current_msec,
                                                    r->connection->log);
            return NGX_OK;
        }

        durations = (uint64_t *) ((u_char *) outcomes
                                  + r->upstream_states->nelts
                                    * sizeof(*outcomes));

        /* one outcome per upstream attempt, retries included */

        for (i = 0; i < r->upstream_states->nelts; i++) {

            outcomes[n] = ngx_http_integrations_circuit_breaker_outcome(
                              ctx->conf, &state[i], &known);
            if (!known) {
                continue;
            }

            durations[n] = (state[i].response_time == (ngx_msec_t) -1)
                           ? 0 : state[i].response_time;
            n++;
        }
    }

    ngx_http_integrations_circuit_breaker_record_key(&ctx->t, outcomes,
                                                     durations, n,
                                                     ngx_current_msec,
                                                     r->connection->log);

    return NGX_OK;
}


/* the request's pool goes: a probe the log phase did not see is freed */

static void
ngx_http_integrations_circuit_breaker_cleanup(void *data)
{
    ngx_http_integrations_circuit_breaker_ctx_t  *ctx = data;

    if (ctx->t.probe) {
        ngx_http_integrations_circuit_breaker_record_key(&ctx->t, NULL, NULL,
                                                         0, ngx_current_msec,
                                                         ngx_cycle->log);
    }
}


/*
 * An internal redirect (error_page after a failed upstream, say) or a
 * filter finalization clears the modules' contexts; the pool cleanup
 * still knows the ticket, whose outcome the log phase must record.  For
 * a request whose context is gone: r->internal or r->filter_finalize.
 */

static ngx_http_integrations_circuit_breaker_ctx_t *
ngx_http_integrations_circuit_breaker_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t                           *cln;
    ngx_http_integrations_circuit_breaker_ctx_t  *ctx;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_integrations_circuit_breaker_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx,
                             ngx_http_integrations_circuit_breaker_module);
            return ctx;
        }
    }

    return NULL;
}


ngx_shm_zone_t *
ngx_http_integrations_circuit_breaker_zone_ref(ngx_conf_t *cf,
    ngx_str_t *name)
{
    return ngx_shared_memory_add(cf, name, 0,
                                 &ngx_http_integrations_circuit_breaker_module);
}


integrations_breaker_verdict_e
ngx_http_integrations_circuit_breaker_acquire_key(ngx_shm_zone_t *shm_zone,
    const integrations_breaker_conf_t *conf, ngx_str_t *key, uint64_t now,
    ngx_log_t *log, ngx_http_integrations_circuit_breaker_ticket_t *t,
    uint64_t *retry_after)
{
    ngx_http_integrations_circuit_breaker_call_t  call;

    ngx_memzero(t, sizeof(ngx_http_integrations_circuit_breaker_ticket_t));

    t->shm_zone = shm_zone;
    t->conf = conf;
    t->key = *key;
    t->hash = ngx_http_integrations_zone_hash(key->data, key->len);
    t->state = INTEGRATIONS_BREAKER_CLOSED;

    call.what = NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_ACQUIRE;
    call.conf = conf;
    call.now = now;
    call.t = t;

    if (ngx_http_integrations_circuit_breaker_call(shm_zone, &call, log)
        != NGX_OK)
    {

        /* fail open: the zone cannot hold even this one breaker */

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "circuit_breaker_zone \"%V\" is too small for "
                      "a key of %uz bytes", &shm_zone->shm.name,
                      key->len);
        return INTEGRATIONS_BREAKER_ALLOW;
    }

    if (call.d.transition.reason != INTEGRATIONS_BREAKER_NONE) {
        ngx_http_integrations_circuit_breaker_log_transition(log, t,
                                                       &call.d.transition);
    }

    if (call.d.verdict == INTEGRATIONS_BREAKER_REJECT) {
        *retry_after = call.d.retry_after;

    } else {
        t->ticket = call.d.ticket;
        t->armed = 1;
        t->probe = (call.d.verdict == INTEGRATIONS_BREAKER_ALLOW_PROBE);
    }

    return call.d.verdict;
}


void
ngx_http_integrations_circuit_breaker_record_key(
    ngx_http_integrations_circuit_breaker_ticket_t *t,
    integrations_breaker_outcome_e *outcomes, uint64_t *durations,
    ngx_uint_t n, uint64_t now, ngx_log_t *log)
{
    ngx_http_integrations_circuit_breaker_call_t  call;

    if (!t->armed) {
        return;
    }

    t->armed = 0;

    call.what = NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_RECORD;
    call.conf = t->conf;
    call.now = now;
    call.t = t;
    call.outcomes = outcomes;
    call.durations = durations;
    call.n = n;
    call.first.reason = INTEGRATIONS_BREAKER_NONE;

    /* looked up again, never made: the breaker may have been evicted */

    (void) ngx_http_integrations_circuit_breaker_call(t->shm_zone, &call, log);

    if (call.first.reason != INTEGRATIONS_BREAKER_NONE) {
        ngx_http_integrations_circuit_breaker_log_transition(log, t,
                                                             &call.first);
    }
}


ngx_int_t
ngx_http_integrations_circuit_breaker_peek_key(ngx_shm_zone_t *shm_zone,
    const integrations_breaker_conf_t *conf, ngx_str_t *key, uint64_t now)
{
    ngx_http_integrations_circuit_breaker_call_t    call;
    ngx_http_integrations_circuit_breaker_ticket_t  t;

    t.key = *key;
    t.hash = ngx_http_integrations_zone_hash(key->data, key->len);

    call.what = NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_PEEK;
    call.conf = conf;
    call.now = now;
    call.t = &t;

    if (ngx_http_integrations_circuit_breaker_call(shm_zone, &call,
                                                   ngx_cycle->log)
        != NGX_OK)
    {
        return NGX_OK;
    }

    return (call.d.verdict == INTEGRATIONS_BREAKER_REJECT) ? NGX_DECLINED
                                                           : NGX_OK;
}


/* the breaker of call->t's key, made if acquired */

static ngx_int_t
ngx_http_integrations_circuit_breaker_call(ngx_shm_zone_t *shm_zone,
    ngx_http_integrations_circuit_breaker_call_t *call, ngx_log_t *log)
{
    ngx_http_integrations_zone_op_t  op;

    ngx_http_integrations_zone_op_init(&op, &call->t->key, call->t->hash,
                                  ngx_http_integrations_circuit_breaker_apply,
                                  call, log);

    if (call->what == NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_ACQUIRE) {
        op.flags = NGX_HTTP_INTEGRATIONS_ZONE_CREATE;
    }

    return ngx_http_integrations_zone_update(shm_zone->data, &op);
}


static ngx_uint_t
ngx_http_integrations_circuit_breaker_apply(
    ngx_http_integrations_zone_op_t *op, void *value)
{
    ngx_http_integrations_circuit_breaker_call_t *call = op->data;

    ngx_uint_t                          i;
    integrations_breaker_state_t        copy, *state;
    integrations_breaker_transition_t   tr;

    state = value;

    switch (call->what) {

    case NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_ACQUIRE:

        (void) integrations_breaker_acquire(state, call->conf, call->now,
                                            &call->d);

        call->t->state = integrations_breaker_current(state, call->now);

        return NGX_HTTP_INTEGRATIONS_ZONE_TOUCH;

    case NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_PEEK:

        /* the decision of the next acquire, on a copy; none is closed */

        if (state == NULL) {
            call->d.verdict = INTEGRATIONS_BREAKER_ALLOW;
            return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
        }

        copy = *state;

        (void) integrations_breaker_acquire(&copy, call->conf, call->now,
                                            &call->d);

        return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
    }

    /* NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_RECORD */

    call->first.reason = INTEGRATIONS_BREAKER_NONE;

    if (state == NULL) {
        return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
    }

    /*
     * Every outcome is recorded with the call's ticket.  The first outcome
     * of a probe moves the breaker on, and with it the generation: later
     * ones of the same call are then counted as stale and change nothing.
     */

    for (i = 0; i < call->n; i++) {
        if (integrations_breaker_record(state, call->conf, call->now,
                                        call->t->ticket, call->outcomes[i],
                                        call->durations[i], &tr)
            && call->first.reason == INTEGRATIONS_BREAKER_NONE)
        {
            call->first = tr;
        }
    }

    if (call->n == 0) {
        (void) integrations_breaker_release_probe(state, call->t->ticket);
    }

    call->t->state = integrations_breaker_current(state, call->now);

    return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
}


static integrations_breaker_outcome_e
ngx_http_integrations_circuit_breaker_outcome(
    ngx_http_integrations_circuit_breaker_loc_conf_t *bcf,
    ngx_http_upstream_state_t *state, ngx_uint_t *known)
{
    ngx_uint_t   i, *statuses;

    *known = 1;

    if (state->header_time == (ngx_msec_t) -1) {

        /* no response header: nginx set the status itself, if any */

        switch (state->status) {

        case NGX_HTTP_GATEWAY_TIME_OUT:
            return INTEGRATIONS_BREAKER_TIMEOUT;

        case NGX_HTTP_BAD_GATEWAY:
            return INTEGRATIONS_BREAKER_CONNECT_ERROR;

        default:
            *known = 0;
            return INTEGRATIONS_BREAKER_SUCCESS;
        }
    }

    if (state->status == 0) {
        *known = 0;
        return INTEGRATIONS_BREAKER_SUCCESS;
    }

    statuses = bcf->failure_statuses->elts;

    for (i = 0; i < bcf->failure_statuses->nelts; i++) {
        if (statuses[i] == state->status) {
            return INTEGRATIONS_BREAKER_STATUS;
        }
    }

    return INTEGRATIONS_BREAKER_SUCCESS;
}


static void
ngx_http_integrations_circuit_breaker_log_transition(ngx_log_t *log,
    ngx_http_integrations_circuit_breaker_ticket_t *t,
    integrations_breaker_transition_t *tr)
{
    u_char  buf[128], *p, *last;

    p = buf;
    last = buf + sizeof(buf);

    switch (tr->reason) {

    case INTEGRATIONS_BREAKER_CONSECUTIVE:
        p = ngx_slprintf(p, last, ": %uD consecutive failures", tr->count);
        break;

    case INTEGRATIONS_BREAKER_FAILURE_RATE:
        p = ngx_slprintf(p, last, ": failure rate, %uD of %uD calls failed",
                         tr->count, tr->calls);
        break;

    case INTEGRATIONS_BREAKER_SLOW_RATE:
        p = ngx_slprintf(p, last, ": slow call rate, %uD of %uD calls slow",
                         tr->count, tr->calls);
        break;

    case INTEGRATIONS_BREAKER_PROBES_LOST:
        p = ngx_slprintf(p, last, ": %uD probes lost, written off",
                         tr->count);
        break;

    default:
        p = ngx_slprintf(p, last, ": %s",
                         integrations_breaker_reason_str(tr->reason));
        break;
    }

    if (tr->to == INTEGRATIONS_BREAKER_OPEN) {
        p = ngx_slprintf(p, last, ", next probe in %uLs",
                         (tr->open_for + 999) / 1000);
    }

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "circuit breaker \"%V\" in zone \"%V\": %s -> %s%*s",
                  &t->key, &t->shm_zone->shm.name,
                  integrations_breaker_state_str(tr->from),
                  integrations_breaker_state_str(tr->to),
                  (size_t) (p - buf), buf);
}


/*
 * The metrics: each zone's breakers are copied under the zone lock, then
 * written family by family with no lock held.
 */

typedef struct {
    const char   *name;
    const char   *help;
    ngx_uint_t    type;
    size_t        offset;     /* in the stats, or -1 */
    const char   *label;      /* an extra label name, or NULL */
    const char   *value;
} ngx_http_integrations_circuit_breaker_metric_t;


#define NGX_HTTP_CB_STAT(f)  offsetof(integrations_breaker_stats_t, f)

static ngx_http_integrations_circuit_breaker_metric_t
    ngx_http_integrations_circuit_breaker_metrics[] = {

    { "integrations_circuit_breaker_transitions_total",
      "State changes of each breaker.",
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(transitions),
      NULL, NULL },

    { "integrations_circuit_breaker_opened_total",
      "Transitions of each breaker to open.",
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(opened),
      NULL, NULL },

    { "integrations_circuit_breaker_short_circuited_total",
      "Requests answered at once because the breaker was open or busy "
      "probing.",
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(rejected),
      NULL, NULL },

    { "integrations_circuit_breaker_probes_total",
      "Probe requests admitted while half open.",
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(probes),
      NULL, NULL },

    { "integrations_circuit_breaker_probes_released_total",
      "Probe slots freed because the probe ended with no upstream outcome.",
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(released),
      NULL, NULL },

    { "integrations_circuit_breaker_successes_total",
      "Upstream attempts that succeeded.",
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(successes),
      NULL, NULL },

    { "integrations_circuit_breaker_failures_total",
      "Upstream attempts that failed, by cause.",
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(connect_errors),
      "cause", "connect_error" },

    { NULL, NULL,
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(timeouts),
      "cause", "timeout" },

    { NULL, NULL,
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(status_errors),
      "cause", "status" },

    { "integrations_circuit_breaker_slow_calls_total",
      "Upstream attempts slower than the breaker's slow threshold.",
      NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, NGX_HTTP_CB_STAT(slow_calls),
      NULL, NULL },

    { NULL, NULL, 0, 0, NULL, NULL }
};


static ngx_int_t
ngx_http_integrations_circuit_breaker_collect(
    ngx_http_integrations_status_writer_t *w, void *data)
{
    ngx_http_integrations_circuit_breaker_main_conf_t *cmcf = data;

    ngx_uint_t                                       i, j, n, s;
    ngx_http_integrations_zone_t                   **zones;
    ngx_http_integrations_status_label_t             l[3];
    ngx_http_integrations_circuit_breaker_walk_t     walk;
    ngx_http_integrations_circuit_breaker_snap_t    *snap;
    ngx_http_integrations_circuit_breaker_metric_t  *m;

    static const char  *states[] = { "closed", "open", "half_open" };

    if (cmcf->list.zones.nelts == 0) {
        return NGX_OK;
    }

    walk.pool = ngx_http_integrations_status_pool(w);
    walk.now = ngx_current_msec;

    if (ngx_array_init(&walk.snaps, walk.pool, 8,
                       sizeof(ngx_http_integrations_circuit_breaker_snap_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    zones = cmcf->list.zones.elts;

    for (i = 0; i < cmcf->list.zones.nelts; i++) {
        walk.zone = zones[i]->shm_zone->shm.name;

        if (ngx_http_integrations_zone_walk(zones[i],
                                  ngx_http_integrations_circuit_breaker_snap,
                                  &walk)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    snap = walk.snaps.elts;
    n = walk.snaps.nelts;

    ngx_str_set(&l[0].name, "zone");
    ngx_str_set(&l[1].name, "key");
    ngx_str_set(&l[2].name, "state");

    if (ngx_http_integrations_status_family(w,
            "integrations_circuit_breaker_state",
            NGX_HTTP_INTEGRATIONS_STATUS_GAUGE,
            "1 for the state each breaker is in, else 0.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        l[0].value = snap[i].zone;
        l[1].value = snap[i].key;

        for (s = 0; s < 3; s++) {
            l[2].value.data = (u_char *) states[s];
            l[2].value.len = ngx_strlen(states[s]);

            if (ngx_http_integrations_status_sample(w, l, 3,
                                                    snap[i].state == s)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    for (m = ngx_http_integrations_circuit_breaker_metrics; m->help || m->label;
         m++)
    {
        if (m->name
            && ngx_http_integrations_status_family(w, m->name, m->type,
                                                   m->help)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* the samples of one family may span several rows of the table */

        for (i = 0; i < n; i++) {
            l[0].value = snap[i].zone;
            l[1].value = snap[i].key;

            j = 2;

            if (m->label) {
                l[2].name.data = (u_char *) m->label;
                l[2].name.len = ngx_strlen(m->label);
                l[2].value.data = (u_char *) m->value;
                l[2].value.len = ngx_strlen(m->value);
                j = 3;
            }

            if (ngx_http_integrations_status_sample(w, l, j,
                    *(uint64_t *) ((u_char *) &snap[i].stats + m->offset))
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return ngx_http_integrations_zone_collect(w, &cmcf->list,
            NGX_HTTP_INTEGRATIONS_ZONE_EVICTED,
            "integrations_circuit_breaker_evictions_total",
            "Breakers evicted from a full circuit breaker zone.");
}


/* one breaker, copied under the zone's lock */

static ngx_int_t
ngx_http_integrations_circuit_breaker_snap(void *data, ngx_str_t *key,
    void *value)
{
    ngx_http_integrations_circuit_breaker_walk_t *walk = data;

    integrations_breaker_state_t                  *state;
    ngx_http_integrations_circuit_breaker_snap_t  *snap;

    state = value;

    snap = ngx_array_push(&walk->snaps);
    if (snap == NULL) {
        return NGX_ERROR;
    }

    snap->key.data = ngx_pnalloc(walk->pool, key->len);
    if (snap->key.data == NULL) {
        return NGX_ERROR;
    }

    snap->zone = walk->zone;
    snap->key.len = key->len;
    ngx_memcpy(snap->key.data, key->data, key->len);
    snap->state = integrations_breaker_current(state, walk->now);
    snap->stats = state->stats;

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_circuit_breaker_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char                                   *s;
    ngx_http_integrations_circuit_breaker_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main,
                                  ngx_http_integrations_circuit_breaker_module);

    if (ctx == NULL && (r->main->internal || r->main->filter_finalize)) {
        ctx = ngx_http_integrations_circuit_breaker_get_ctx(r->main);
    }

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = integrations_breaker_state_str(ctx->t.state);

    v->data = (u_char *) s;
    v->len = ngx_strlen(s);
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static char *
ngx_http_integrations_circuit_breaker_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ssize_t                                             size;
    ngx_str_t                                          *value, name;
    ngx_http_integrations_zone_t                       *zone;
    ngx_http_integrations_circuit_breaker_main_conf_t  *cmcf;

    value = cf->args->elts;

    if (ngx_strncmp(value[1].data, "zone=", 5) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_integrations_zone_parse(cf, &value[1], &name, &size)
        != NGX_OK
        || ngx_http_integrations_zone_check_size(cf, size, &value[1])
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    zone = ngx_http_integrations_zone_add(cf, &name, size,
                                 &ngx_http_integrations_circuit_breaker_type,
                                 &ngx_http_integrations_circuit_breaker_module);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf,
                                ngx_http_integrations_circuit_breaker_module);

    switch (ngx_http_integrations_zone_declare(&cmcf->list, zone)) {

    case NGX_OK:
        return NGX_CONF_OK;

    case NGX_DECLINED:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;

    default:
        return NGX_CONF_ERROR;
    }
}


/* "slow=2s": ms, via ngx_parse_time() */

static ngx_int_t
ngx_http_integrations_circuit_breaker_time(ngx_str_t *value, size_t skip,
    uint64_t *ms)
{
    ngx_str_t  s;
    ngx_int_t  n;

    s.data = value->data + skip;
    s.len = value->len - skip;

    n = ngx_parse_time(&s, 0);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    *ms = (uint64_t) n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_circuit_breaker_number(ngx_str_t *value, size_t skip,
    uint32_t *n)
{
    ngx_int_t  v;

    v = ngx_atoi(value->data + skip, value->len - skip);

    if (v == NGX_ERROR || v > 1000000) {
        return NGX_ERROR;
    }

    *n = (uint32_t) v;

    return NGX_OK;
}


ngx_int_t
ngx_http_integrations_circuit_breaker_param(ngx_str_t *value,
    integrations_breaker_conf_t *conf)
{
    if (ngx_strncmp(value->data, "failures=", 9) == 0) {
        return ngx_http_integrations_circuit_breaker_number(value, 9,
                                                       &conf->failures);
    }

    if (ngx_strncmp(value->data, "failure_rate=", 13) == 0) {
        return ngx_http_integrations_circuit_breaker_number(value, 13,
                                                       &conf->failure_rate);
    }

    if (ngx_strncmp(value->data, "min_calls=", 10) == 0) {
        return ngx_http_integrations_circuit_breaker_number(value, 10,
                                                       &conf->min_calls);
    }

    if (ngx_strncmp(value->data, "half_open=", 10) == 0) {
        return ngx_http_integrations_circuit_breaker_number(value, 10,
                                                       &conf->half_open);
    }

    if (ngx_strncmp(value->data, "window=", 7) == 0) {
        return ngx_http_integrations_circuit_breaker_time(value, 7,
                                                       &conf->window);
    }

    if (ngx_strncmp(value->data, "slow=", 5) == 0) {
        return ngx_http_integrations_circuit_breaker_time(value, 5,
                                                       &conf->slow);
    }

    if (ngx_strncmp(value->data, "open=", 5) == 0) {
        return ngx_http_integrations_circuit_breaker_time(value, 5,
                                                       &conf->open_time);
    }

    if (ngx_strncmp(value->data, "max_open=", 9) == 0) {
        return ngx_http_integrations_circuit_breaker_time(value, 9,
                                                       &conf->max_open);
    }

    return NGX_DECLINED;
}


static char *
ngx_http_integrations_circuit_breaker(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_circuit_breaker_loc_conf_t *bcf = conf;

    ngx_int_t                                           rc;
    ngx_str_t                                          *value, s;
    ngx_uint_t                                          i;
    const char                                         *err;
    ngx_http_compile_complex_value_t                    ccv;
    ngx_http_integrations_circuit_breaker_main_conf_t  *cmcf;

    if (bcf->shm_zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    bcf->shm_zone = NULL;
    integrations_breaker_conf_init(&bcf->conf);

    for (i = 1; i < cf->args->nelts; i++) {

        rc = NGX_OK;

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            s.len = value[i].len - 5;
            s.data = value[i].data + 5;

            if (s.len == 0) {
                rc = NGX_ERROR;

            } else {
                /* checked in postconfiguration: it may be declared later */

                cmcf = ngx_http_conf_get_module_main_conf(cf,
                                ngx_http_integrations_circuit_breaker_module);

                bcf->shm_zone = ngx_http_integrations_zone_ref(cf,
                                &cmcf->list, &s,
                                &ngx_http_integrations_circuit_breaker_module);
                if (bcf->shm_zone == NULL) {
                    return NGX_CONF_ERROR;
                }
            }

        } else if (ngx_strncmp(value[i].data, "key=", 4) == 0) {

            s.len = value[i].len - 4;
            s.data = value[i].data + 4;

            if (s.len == 0) {
                rc = NGX_ERROR;

            } else {
                bcf->key = ngx_palloc(cf->pool,
                                      sizeof(ngx_http_complex_value_t));
                if (bcf->key == NULL) {
                    return NGX_CONF_ERROR;
                }

                ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

                ccv.cf = cf;
                ccv.value = &s;
                ccv.complex_value = bcf->key;

                if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                    return NGX_CONF_ERROR;
                }
            }

        } else {
            rc = ngx_http_integrations_circuit_breaker_param(&value[i],
                                                             &bcf->conf);

            if (rc == NGX_DECLINED) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        if (rc != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    if (bcf->shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    err = integrations_breaker_conf_check(&bcf->conf);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\" directive",
                           err, &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_integrations_circuit_breaker_statuses(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf)
{
    ngx_http_integrations_circuit_breaker_loc_conf_t *bcf = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t   i, *status;

    if (bcf->failure_statuses != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    bcf->failure_statuses = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                             sizeof(ngx_uint_t));
    if (bcf->failure_statuses == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        n = ngx_atoi(value[i].data, value[i].len);

        if (n < 100 || n > 599) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        status = ngx_array_push(bcf->failure_statuses);
        if (status == NULL) {
            return NGX_CONF_ERROR;
        }

        *status = (ngx_uint_t) n;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_integrations_circuit_breaker_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf,
                            &ngx_http_integrations_circuit_breaker_state_name,
                            NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_integrations_circuit_breaker_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_circuit_breaker_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt                                *h;
    ngx_http_core_main_conf_t                          *cmcf;
    ngx_http_integrations_circuit_breaker_main_conf_t  *bmcf;

    bmcf = ngx_http_conf_get_module_main_conf(cf,
                                ngx_http_integrations_circuit_breaker_module);

    if (ngx_http_integrations_zone_list_check(cf, &bmcf->list,
                               "circuit_breaker",
                               ngx_http_integrations_circuit_breaker_collect,
                               bmcf)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (bmcf->list.refs.nelts == 0) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_integrations_circuit_breaker_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_integrations_circuit_breaker_log_handler;

    return NGX_OK;
}


static void *
ngx_http_integrations_circuit_breaker_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_circuit_breaker_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool,
                  sizeof(ngx_http_integrations_circuit_breaker_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    if (ngx_http_integrations_zone_list_init(cf, &cmcf->list) != NGX_OK) {
        return NULL;
    }

    return cmcf;
}


static void *
ngx_http_integrations_circuit_breaker_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_circuit_breaker_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                   sizeof(ngx_http_integrations_circuit_breaker_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->key = NULL;
     *     conf->location = { 0, NULL };
     *     conf->conf = { 0 };
     */

    conf->shm_zone = NGX_CONF_UNSET_PTR;
    conf->status_code = NGX_CONF_UNSET_UINT;
    conf->failure_statuses = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_integrations_circuit_breaker_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child)
{
    ngx_http_integrations_circuit_breaker_loc_conf_t *prev = parent;
    ngx_http_integrations_circuit_breaker_loc_conf_t *conf = child;

    ngx_uint_t                *status;
    ngx_http_core_loc_conf_t  *clcf;

    static ngx_uint_t  defaults[] = { 500, 502, 503, 504 };

    if (conf->shm_zone == NGX_CONF_UNSET_PTR) {
        conf->shm_zone = prev->shm_zone;
        conf->key = prev->key;
        conf->conf = prev->conf;
    }

    if (conf->shm_zone == NGX_CONF_UNSET_PTR) {
        conf->shm_zone = NULL;
    }

    /* one breaker per location unless a key says otherwise */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    conf->location = clcf->name;

    ngx_conf_merge_uint_value(conf->status_code, prev->status_code,
                              NGX_HTTP_SERVICE_UNAVAILABLE);

    if (conf->failure_statuses == NGX_CONF_UNSET_PTR) {

        if (prev->failure_statuses != NGX_CONF_UNSET_PTR) {
            conf->failure_statuses = prev->failure_statuses;

        } else {
            conf->failure_statuses = ngx_array_create(cf->pool, 4,
                                                      sizeof(ngx_uint_t));
            if (conf->failure_statuses == NULL) {
                return NGX_CONF_ERROR;
            }

            status = ngx_array_push_n(conf->failure_statuses, 4);
            if (status == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memcpy(status, defaults, sizeof(defaults));

            prev->failure_statuses = conf->failure_statuses;
        }
    }

    return NGX_CONF_OK;
}
