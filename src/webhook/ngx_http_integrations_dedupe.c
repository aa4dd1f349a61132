/*
 * Replay store for webhook deliveries: see ngx_http_integrations_dedupe.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_integrations_dedupe.h"
#include "ngx_http_integrations_zone.h"


#define NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT  1
#define NGX_HTTP_INTEGRATIONS_DEDUPE_S_DELIVERED  2


/* the value of a key; all zeroes: not marked */

typedef struct {
    time_t                          expire;
    ngx_uint_t                      token;
    ngx_uint_t                      state;
} ngx_http_integrations_dedupe_value_t;


/* the zone's own part of its header */

typedef struct {
    ngx_atomic_t                    seq;       /* of tokens */
} ngx_http_integrations_dedupe_totals_t;


struct ngx_http_integrations_dedupe_s {
    ngx_http_integrations_zone_t   *zone;      /* conf: this */
    time_t                          ttl;
};


/* one begin() or end(): the data of a zone operation */

typedef struct {
    ngx_uint_t                      begin;
    time_t                          now;
    time_t                          ttl;
    ngx_uint_t                      token;
    ngx_uint_t                      delivered;
    ngx_http_integrations_dedupe_rc_e  rc;
} ngx_http_integrations_dedupe_call_t;


static ngx_int_t ngx_http_integrations_dedupe_call(
    ngx_http_integrations_dedupe_t *dd, u_char *key, size_t len,
    ngx_http_integrations_dedupe_call_t *call, ngx_log_t *log);
static ngx_uint_t ngx_http_integrations_dedupe_apply(
    ngx_http_integrations_zone_op_t *op, void *value);
static ngx_uint_t ngx_http_integrations_dedupe_idle(
    ngx_http_integrations_zone_op_t *op, void *value);


/*
 * The marks are what stops a replay: an old zone that cannot be read is
 * refused, not emptied.
 */

static ngx_http_integrations_zone_type_t  ngx_http_integrations_dedupe_type = {
    "webhook_dedupe_zone",
    "evicting the oldest entries (logged once): replays older than them "
    "are no longer recognised, make the zone larger",
    0x77686464,                                    /* "whdd" */
    2,
    sizeof(ngx_http_integrations_dedupe_value_t),
    sizeof(ngx_http_integrations_dedupe_totals_t),
    0
};


ngx_http_integrations_dedupe_t *
ngx_http_integrations_dedupe_ref(ngx_conf_t *cf, ngx_str_t *name, void *tag)
{
    ngx_http_integrations_zone_t    *zone;
    ngx_http_integrations_dedupe_t  *dd;

    zone = ngx_http_integrations_zone_add(cf, name, 0,
                                          &ngx_http_integrations_dedupe_type,
                                          tag);

    if (zone != NULL && zone->conf == NULL) {

        /* the first mention of the name */

        dd = ngx_palloc(cf->pool, sizeof(ngx_http_integrations_dedupe_t));

        if (dd != NULL) {
            dd->zone = zone;
            dd->ttl = NGX_HTTP_INTEGRATIONS_DEDUPE_TTL;
        }

        zone->conf = dd;
    }

    return (zone == NULL) ? NULL : zone->conf;
}


ngx_http_integrations_dedupe_t *
ngx_http_integrations_dedupe_declare(ngx_conf_t *cf, ngx_str_t *name,
    size_t size, time_t ttl, void *tag)
{
    ngx_http_integrations_dedupe_t  *dd;

    if (ngx_http_integrations_zone_check_size(cf, size, name) != NGX_OK) {
        return NULL;
    }

    dd = ngx_http_integrations_dedupe_ref(cf, name, tag);
    if (dd == NULL) {
        return NULL;
    }

    if (dd->zone->declared) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", name);
        return NULL;
    }

    if (dd->zone->shm_zone->shm.size == 0) {
        dd->zone->shm_zone->shm.size = size;
    }

    dd->zone->declared = 1;
    dd->ttl = ttl;

    return dd;
}


ngx_int_t
ngx_http_integrations_dedupe_check(ngx_conf_t *cf,
    ngx_http_integrations_dedupe_t *dd)
{
    if (!dd->zone->declared) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown webhook_dedupe_zone \"%V\"",
                           &dd->zone->shm_zone->shm.name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_str_t *
ngx_http_integrations_dedupe_name(ngx_http_integrations_dedupe_t *dd)
{
    return &dd->zone->shm_zone->shm.name;
}


ngx_http_integrations_dedupe_rc_e
ngx_http_integrations_dedupe_begin(ngx_http_integrations_dedupe_t *dd,
    ngx_log_t *log, u_char *key, size_t len, ngx_uint_t *token)
{
    ngx_http_integrations_dedupe_call_t     call;
    ngx_http_integrations_dedupe_totals_t  *totals;

    if (len == 0 || len > NGX_HTTP_INTEGRATIONS_DEDUPE_KEY_MAX) {
        return NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED;
    }

    totals = dd->zone->data;

    /* taken before: apply() touches nothing but the key's value */

    call.begin = 1;
    call.token = ngx_atomic_fetch_add(&totals->seq, 1) + 1;

    if (ngx_http_integrations_dedupe_call(dd, key, len, &call, log)
        != NGX_OK)
    {
        return NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED;
    }

    *token = call.token;

    return call.rc;
}


void
ngx_http_integrations_dedupe_end(ngx_http_integrations_dedupe_t *dd,
    u_char *key, size_t len, ngx_uint_t token, ngx_uint_t delivered)
{
    ngx_http_integrations_dedupe_call_t  call;

    call.begin = 0;
    call.token = token;
    call.delivered = delivered;

    (void) ngx_http_integrations_dedupe_call(dd, key, len, &call,
                                             ngx_cycle->log);
}


/* begin() makes the key, and first expires a couple of old ones */

static ngx_int_t
ngx_http_integrations_dedupe_call(ngx_http_integrations_dedupe_t *dd,
    u_char *key, size_t len, ngx_http_integrations_dedupe_call_t *call,
    ngx_log_t *log)
{
    ngx_str_t                        k;
    ngx_http_integrations_zone_op_t  op;

    call->now = ngx_time();
    call->ttl = dd->ttl;

    k.data = key;
    k.len = len;

    ngx_http_integrations_zone_op_init(&op, &k,
                                     ngx_http_integrations_zone_hash(key, len),
                                     ngx_http_integrations_dedupe_apply,
                                     call, log);

    if (call->begin) {
        op.flags = NGX_HTTP_INTEGRATIONS_ZONE_CREATE;
        op.idle = ngx_http_integrations_dedupe_idle;
    }

    return ngx_http_integrations_zone_update(dd->zone, &op);
}


static ngx_uint_t
ngx_http_integrations_dedupe_apply(ngx_http_integrations_zone_op_t *op,
    void *value)
{
    ngx_http_integrations_dedupe_call_t   *call = op->data;
    ngx_http_integrations_dedupe_value_t  *v = value;

    if (call->begin) {

        if (v->state != 0 && v->expire > call->now) {
            call->rc = (v->state == NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT)
                       ? NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT
                       : NGX_HTTP_INTEGRATIONS_DEDUPE_DELIVERED;

            return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
        }

        /* unknown, or expired: marked in flight now */

        v->state = NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT;
        v->expire = call->now + NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT_MAX;
        v->token = call->token;

        call->rc = NGX_HTTP_INTEGRATIONS_DEDUPE_NEW;

        /* the queue is by the time of writing */

        return NGX_HTTP_INTEGRATIONS_ZONE_TOUCH;
    }

    /* end(): the owner's mark only, not one that lapsed and was retaken */

    if (v == NULL
        || v->token != call->token
        || v->state != NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT)
    {
        return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
    }

    if (!call->delivered) {
        return NGX_HTTP_INTEGRATIONS_ZONE_REMOVE;
    }

    v->state = NGX_HTTP_INTEGRATIONS_DEDUPE_S_DELIVERED;
    v->expire = call->now + call->ttl;

    return NGX_HTTP_INTEGRATIONS_ZONE_TOUCH;
}


static ngx_uint_t
ngx_http_integrations_dedupe_idle(ngx_http_integrations_zone_op_t *op,
    void *value)
{
    ngx_http_integrations_dedupe_call_t   *call = op->data;
    ngx_http_integrations_dedupe_value_t  *v = value;

    return v->expire <= call->now;
}
