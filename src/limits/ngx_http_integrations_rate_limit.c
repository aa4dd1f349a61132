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
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_rate_limit.h"
#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_zone.h"

#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_OFF      0
#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_ON       1
#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_LEGACY   2


/* the zone's totals, in its header */

typedef struct {
    ngx_atomic_t                  passed;
    ngx_atomic_t                  delayed;
    ngx_atomic_t                  rejected;
} ngx_http_integrations_rate_limit_totals_t;


/* the zone's configuration */

typedef struct {
    integrations_gcra_params_t    params;
    ngx_http_complex_value_t      key;
} ngx_http_integrations_rate_limit_zone_t;


/* one decision: the data of a zone operation */

typedef struct {
    const integrations_gcra_params_t  *params;
    uint64_t                           now;
    integrations_gcra_mode_e           mode;
    ngx_uint_t                         commit;
    integrations_gcra_result_t        *result;
    integrations_gcra_state_t          after;   /* the key's, for headers */
} ngx_http_integrations_rate_limit_decision_t;


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
} ngx_http_integrations_rate_limit_ctx_t;


static ngx_int_t ngx_http_integrations_rate_limit_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_rate_limit_account(
    ngx_http_request_t *r, ngx_http_integrations_rate_limit_t *limit,
    ngx_uint_t commit, uint64_t now,
    ngx_http_integrations_rate_limit_decision_t *d);
static ngx_int_t ngx_http_integrations_rate_limit_decide(
    ngx_shm_zone_t *shm_zone, ngx_str_t *key, ngx_log_t *log,
    ngx_http_integrations_rate_limit_decision_t *d);
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
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1234,
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
    NULL,                                          /* init process */
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


static ngx_int_t
ngx_http_integrations_rate_limit_handler(ngx_http_request_t *r)
{
    uint64_t                                      now, delay;
    ngx_int_t                                     rc;
    ngx_uint_t                                    n, last, pass;
    integrations_gcra_quota_t                     quota, shown;
    integrations_gcra_result_t                    result;
    ngx_http_integrations_rate_limit_t           *limits, *shown_limit;
    ngx_http_integrations_rate_limit_ctx_t       *ctx;
    ngx_http_integrations_rate_limit_zone_t      *zone;
    ngx_http_integrations_rate_limit_loc_conf_t  *lcf;
    ngx_http_integrations_rate_limit_decision_t   d;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_rate_limit_module);

    if (ctx) {
        /* decided before: this is the phase run again after a delay */
        return NGX_DECLINED;
    }

    lcf = ngx_http_get_module_loc_conf(r,
                                       ngx_http_integrations_rate_limit_module);

    if (lcf->limits.nelts == 0) {
        return NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool,
                      sizeof(ngx_http_integrations_rate_limit_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_integrations_rate_limit_module);

    ctx->verdict = INTEGRATIONS_GCRA_PASSED;

    limits = lcf->limits.elts;
    last = lcf->limits.nelts - 1;
    now = ngx_current_msec;
    delay = 0;
    shown_limit = NULL;
    d.result = &result;

    /*
     * All limits must pass.  The first pass only checks the limits before
     * the last one, and decides the last one; the second pass commits the
     * others, so that a request rejected by one limit uses up no other.
     * A commit may still reject, if another worker took the last token in
     * between: then the limits committed before it count the request
     * although it was rejected, which errs on the safe side.
     */

    for (pass = 0; pass < 2; pass++) {

        for (n = 0; n <= last; n++) {

            if (pass == 1 && n == last) {
                break;
            }

            rc = ngx_http_integrations_rate_limit_account(r, &limits[n],
                                                 pass == 1 || n == last,
                                                 now, &d);

            if (rc == NGX_DECLINED) {
                continue;
            }

            if (rc != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (result.verdict == INTEGRATIONS_GCRA_REJECTED) {
                ctx->verdict = INTEGRATIONS_GCRA_REJECTED;

                return ngx_http_integrations_rate_limit_reject(r, lcf,
                                                               &limits[n],
                                                               &d);
            }

            if (pass == 0 && n != last) {
                continue;
            }

            if (result.delay > delay) {
                delay = result.delay;
            }

            if (lcf->headers == NGX_HTTP_INTEGRATIONS_RATE_LIMIT_OFF) {
                continue;
            }

            /* the headers show the limit with the least of its quota left */

            zone = ((ngx_http_integrations_zone_t *)
                        limits[n].shm_zone->data)->conf;

            integrations_gcra_quota(&d.after, &zone->params, now, 0, &quota);

            if (shown_limit == NULL || quota.remaining < shown.remaining) {
                shown = quota;
                shown_limit = &limits[n];
            }
        }

        if (last == 0) {
            break;
        }
    }

    if (shown_limit
        && ngx_http_integrations_rate_limit_headers(r, lcf, shown_limit,
                                                    &shown)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (delay == 0) {
        return NGX_DECLINED;
    }

    ctx->verdict = INTEGRATIONS_GCRA_DELAYED;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "rate_limit: delaying request for %uL ms", delay);

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_integrations_rate_limit_delay;

    r->connection->write->delayed = 1;
    ngx_add_timer(r->connection->write, (ngx_msec_t) delay);

    return NGX_AGAIN;
}


/*
 * Decides one limit for a request: the key is the zone's expression.
 * Returns what ngx_http_integrations_rate_limit_account_key() returns.
 */

static ngx_int_t
ngx_http_integrations_rate_limit_account(ngx_http_request_t *r,
    ngx_http_integrations_rate_limit_t *limit, ngx_uint_t commit,
    uint64_t now, ngx_http_integrations_rate_limit_decision_t *d)
{
    ngx_str_t                                 key;
    ngx_http_integrations_zone_t             *kz;
    ngx_http_integrations_rate_limit_zone_t  *zone;

    kz = limit->shm_zone->data;
    zone = kz->conf;

    if (ngx_http_complex_value(r, &zone->key, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    d->mode = limit->mode;
    d->commit = commit;
    d->now = now;

    return ngx_http_integrations_rate_limit_decide(limit->shm_zone, &key,
                                                   r->connection->log, d);
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
    ngx_http_integrations_rate_limit_decision_t  d;

    d.mode = mode;
    d.commit = commit;
    d.now = now;
    d.result = result;

    return ngx_http_integrations_rate_limit_decide(shm_zone, key, log, &d);
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
    ngx_http_integrations_rate_limit_totals_t  *totals;

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

    d->params = &zone->params;

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

    return NGX_OK;
}


/*
 * Decided on d->after, a copy of the key's state (all zero for a key the
 * zone does not hold), which is stored back only with commit.
 */

static ngx_uint_t
ngx_http_integrations_rate_limit_apply(ngx_http_integrations_zone_op_t *op,
    void *value)
{
    ngx_http_integrations_rate_limit_decision_t *d = op->data;

    if (value) {
        ngx_memcpy(&d->after, value, sizeof(integrations_gcra_state_t));

    } else {
        ngx_memzero(&d->after, sizeof(integrations_gcra_state_t));
    }

    (void) integrations_gcra_decide(&d->after, d->params, d->now, d->mode,
                                    d->result);

    if (value && d->commit) {
        ngx_memcpy(value, &d->after, sizeof(integrations_gcra_state_t));
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
    ngx_str_t                                     *value, name;
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

    kz = ngx_http_integrations_zone_add(cf, &name, size,
                                      &ngx_http_integrations_rate_limit_type,
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
    ngx_http_handler_pt                           *h;
    ngx_http_core_main_conf_t                     *cmcf;
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
