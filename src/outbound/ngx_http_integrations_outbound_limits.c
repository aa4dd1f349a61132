/*
 * The limits of an outbound call: see ngx_http_integrations_outbound_limits.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_breaker.h"
#include "integrations_gcra.h"
#include "ngx_http_integrations_circuit_breaker.h"
#include "ngx_http_integrations_outbound.h"
#include "ngx_http_integrations_outbound_limits.h"
#include "ngx_http_integrations_rate_limit.h"


/* a call waiting for Redis's decision */
typedef struct {
    ngx_http_integrations_rate_limit_async_t   async;
    ngx_http_integrations_outbound_limits_t   *limits;
    ngx_http_integrations_outbound_req_t      *req;
} ngx_http_integrations_outbound_limits_wait_t;


static ngx_int_t ngx_http_integrations_outbound_limits_breaker(
    ngx_http_integrations_outbound_limits_t *l,
    ngx_http_integrations_outbound_req_t *req, uint64_t *wait);
static ngx_int_t ngx_http_integrations_outbound_limits_cluster(
    ngx_http_integrations_outbound_limits_t *l,
    ngx_http_integrations_outbound_req_t *req, uint64_t *wait);
static void ngx_http_integrations_outbound_limits_decided(
    ngx_http_integrations_rate_limit_async_t *a);
static ngx_int_t ngx_http_integrations_outbound_limits_answer(
    ngx_http_integrations_outbound_limits_t *l,
    ngx_http_integrations_outbound_req_t *req, ngx_int_t rc,
    integrations_gcra_result_t *res, uint64_t *wait);


/*
 * Over the rate a call is refused, never delayed: the caller says when
 * to come back (a client's 429, a notification's next attempt).
 */

ngx_int_t
ngx_http_integrations_outbound_limits_admit(
    ngx_http_integrations_outbound_limits_t *l,
    ngx_http_integrations_outbound_req_t *req, uint64_t *wait)
{
    uint64_t                    now;
    ngx_int_t                   rc;
    integrations_gcra_result_t  res;

    now = ngx_current_msec;
    *wait = 0;

    if (l->rate_limit
        && ngx_http_integrations_rate_limit_remote(l->rate_limit))
    {
        return ngx_http_integrations_outbound_limits_cluster(l, req, wait);
    }

    if (l->rate_limit) {
        rc = ngx_http_integrations_rate_limit_account_key(l->rate_limit,
                                                 &l->name,
                                                 INTEGRATIONS_GCRA_NODELAY,
                                                 0, now, req->log, &res);

        if (rc == NGX_OK && res.verdict == INTEGRATIONS_GCRA_REJECTED) {
            *wait = res.retry_after;
            goto limited;
        }
    }

    rc = ngx_http_integrations_outbound_limits_breaker(l, req, wait);
    if (rc != NGX_OK) {
        return rc;
    }

    if (l->rate_limit) {
        rc = ngx_http_integrations_rate_limit_account_key(l->rate_limit,
                                                 &l->name,
                                                 INTEGRATIONS_GCRA_NODELAY,
                                                 1, now, req->log, &res);

        if (rc == NGX_OK && res.verdict == INTEGRATIONS_GCRA_REJECTED) {

            /* another worker took the last of the burst meanwhile */

            ngx_http_integrations_outbound_limits_release(req);
            req->admission = NULL;

            *wait = res.retry_after;
            goto limited;
        }
    }

    return NGX_OK;

limited:

    ngx_log_error(NGX_LOG_INFO, req->log, 0,
                  "%s: %V call refused by rate_limit_zone \"%V\", "
                  "retry in %uL ms", l->who, &l->name,
                  &l->rate_limit->shm.name, *wait);

    return NGX_BUSY;
}


/* the breaker's ticket in req->admission, or NGX_DECLINED: it is open */

static ngx_int_t
ngx_http_integrations_outbound_limits_breaker(
    ngx_http_integrations_outbound_limits_t *l,
    ngx_http_integrations_outbound_req_t *req, uint64_t *wait)
{
    integrations_breaker_verdict_e                   v;
    ngx_http_integrations_circuit_breaker_ticket_t  *t;

    if (l->breaker == NULL) {
        return NGX_OK;
    }

    t = ngx_pcalloc(req->pool,
                    sizeof(ngx_http_integrations_circuit_breaker_ticket_t));
    if (t == NULL) {
        return NGX_ERROR;
    }

    v = ngx_http_integrations_circuit_breaker_acquire_key(l->breaker,
                                                          &l->breaker_conf,
                                                          &l->name,
                                                          ngx_current_msec,
                                                          req->log, t, wait);

    if (v == INTEGRATIONS_BREAKER_REJECT) {
        ngx_log_error(NGX_LOG_INFO, req->log, 0,
                      "%s: %V call refused, its circuit breaker is %s",
                      l->who, &l->name,
                      integrations_breaker_state_str(t->state));

        return NGX_DECLINED;
    }

    req->admission = t;

    return NGX_OK;
}


/*
 * A scope=cluster zone decided by Redis, one round trip: the breaker
 * first (here, at once), then one TAKE on Redis; a call the limit refuses
 * gives its breaker slot back, so it uses up neither.  NGX_AGAIN: the
 * answer comes to ngx_http_integrations_outbound_admitted().
 */

static ngx_int_t
ngx_http_integrations_outbound_limits_cluster(
    ngx_http_integrations_outbound_limits_t *l,
    ngx_http_integrations_outbound_req_t *req, uint64_t *wait)
{
    ngx_int_t                                      rc;
    ngx_http_integrations_rate_limit_async_t      *a;
    ngx_http_integrations_outbound_limits_wait_t  *w;

    rc = ngx_http_integrations_outbound_limits_breaker(l, req, wait);
    if (rc != NGX_OK) {
        return rc;
    }

    w = ngx_pcalloc(req->pool,
                    sizeof(ngx_http_integrations_outbound_limits_wait_t));
    if (w == NULL) {
        ngx_http_integrations_outbound_limits_release(req);
        req->admission = NULL;
        return NGX_ERROR;
    }

    w->limits = l;
    w->req = req;

    a = &w->async;
    a->done = ngx_http_integrations_outbound_limits_decided;
    a->data = w;

    rc = ngx_http_integrations_rate_limit_account_async(l->rate_limit,
                                                        &l->name, 1,
                                                        req->pool, req->log,
                                                        a);

    if (rc == NGX_AGAIN) {
        req->admission_wait = a;
        return NGX_AGAIN;
    }

    rc = ngx_http_integrations_outbound_limits_answer(l, req, rc, &a->result,
                                                      wait);
    if (rc != NGX_OK) {
        ngx_http_integrations_outbound_limits_release(req);
        req->admission = NULL;
    }

    return rc;
}


static void
ngx_http_integrations_outbound_limits_decided(
    ngx_http_integrations_rate_limit_async_t *a)
{
    uint64_t                                       wait;
    ngx_int_t                                      rc;
    ngx_http_integrations_outbound_req_t          *req;
    ngx_http_integrations_outbound_limits_wait_t  *w;

    w = a->data;
    req = w->req;
    req->admission_wait = NULL;
    wait = 0;

    rc = ngx_http_integrations_outbound_limits_answer(w->limits, req, a->rc,
                                                      &a->result, &wait);
    if (rc != NGX_OK) {
        ngx_http_integrations_outbound_limits_release(req);
        req->admission = NULL;
    }

    ngx_http_integrations_outbound_admitted(req, rc, (ngx_msec_t) wait);
}


/* NGX_OK, or NGX_BUSY: over the rate, or Redis down with on_error=reject */

static ngx_int_t
ngx_http_integrations_outbound_limits_answer(
    ngx_http_integrations_outbound_limits_t *l,
    ngx_http_integrations_outbound_req_t *req, ngx_int_t rc,
    integrations_gcra_result_t *res, uint64_t *wait)
{
    if (rc == NGX_BUSY) {
        ngx_log_error(NGX_LOG_INFO, req->log, 0,
                      "%s: %V call refused: rate_limit_zone \"%V\" "
                      "cannot be decided, Redis is down", l->who, &l->name,
                      &l->rate_limit->shm.name);
        *wait = 1000;
        return NGX_BUSY;
    }

    if (rc != NGX_OK || res->verdict != INTEGRATIONS_GCRA_REJECTED) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, req->log, 0,
                  "%s: %V call refused by rate_limit_zone \"%V\", "
                  "retry in %uL ms", l->who, &l->name,
                  &l->rate_limit->shm.name, res->retry_after);

    *wait = res->retry_after;

    return NGX_BUSY;
}


ngx_int_t
ngx_http_integrations_outbound_limits_param(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_integrations_outbound_limits_t *l)
{
    ngx_int_t  rc;
    ngx_str_t  v;

    if (ngx_strncmp(value->data, "rate_limit=", 11) == 0) {
        v.data = value->data + 11;
        v.len = value->len - 11;

        if (v.len == 0) {
            return NGX_ERROR;
        }

        l->rate_limit = ngx_http_integrations_rate_limit_zone_ref(cf, &v);

        return (l->rate_limit == NULL) ? NGX_ABORT : NGX_OK;
    }

    if (ngx_strncmp(value->data, "circuit_breaker=", 16) == 0) {
        v.data = value->data + 16;
        v.len = value->len - 16;

        if (v.len == 0) {
            return NGX_ERROR;
        }

        l->breaker = ngx_http_integrations_circuit_breaker_zone_ref(cf, &v);

        return (l->breaker == NULL) ? NGX_ABORT : NGX_OK;
    }

    rc = ngx_http_integrations_circuit_breaker_param(value, &l->breaker_conf);

    return (rc == NGX_OK) ? NGX_DONE : rc;
}


ngx_int_t
ngx_http_integrations_outbound_timeout_param(ngx_str_t *value,
    ngx_msec_t *connect_timeout, ngx_msec_t *timeout)
{
    ngx_str_t    v;
    ngx_msec_t   ms, *to;

    if (ngx_strncmp(value->data, "connect_timeout=", 16) == 0) {
        v.data = value->data + 16;
        to = connect_timeout;

    } else if (ngx_strncmp(value->data, "timeout=", 8) == 0) {
        v.data = value->data + 8;
        to = timeout;

    } else {
        return NGX_DECLINED;
    }

    v.len = value->len - (v.data - value->data);

    ms = ngx_parse_time(&v, 0);
    if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
        return NGX_ERROR;
    }

    *to = ms;

    return NGX_OK;
}


ngx_int_t
ngx_http_integrations_outbound_limits_available(
    ngx_http_integrations_outbound_limits_t *l)
{
    if (l == NULL || l->breaker == NULL) {
        return NGX_OK;
    }

    return ngx_http_integrations_circuit_breaker_peek_key(l->breaker,
                                                          &l->breaker_conf,
                                                          &l->name,
                                                          ngx_current_msec);
}


void
ngx_http_integrations_outbound_limits_record(
    ngx_http_integrations_outbound_req_t *req)
{
    uint64_t                                         duration;
    integrations_breaker_outcome_e                   outcome;
    ngx_http_integrations_circuit_breaker_ticket_t  *t;

    t = req->admission;

    if (t == NULL) {
        return;
    }

    switch (req->error) {

    case NGX_HTTP_INTEGRATIONS_OUTBOUND_OK:
        if (req->smtp.rcpt.len) {
            outcome = (req->status >= 400 && req->status < 500)
                      ? INTEGRATIONS_BREAKER_STATUS
                      : INTEGRATIONS_BREAKER_SUCCESS;
        } else {
            outcome = (req->status >= 500) ? INTEGRATIONS_BREAKER_STATUS
                                           : INTEGRATIONS_BREAKER_SUCCESS;
        }
        break;

    case NGX_HTTP_INTEGRATIONS_OUTBOUND_TIMEOUT:
        outcome = INTEGRATIONS_BREAKER_TIMEOUT;
        break;

    case NGX_HTTP_INTEGRATIONS_OUTBOUND_TOO_LARGE:
        outcome = INTEGRATIONS_BREAKER_STATUS;
        break;

    default:
        outcome = INTEGRATIONS_BREAKER_CONNECT_ERROR;
    }

    duration = req->duration;

    ngx_http_integrations_circuit_breaker_record_key(t, &outcome, &duration,
                                                     1, ngx_current_msec,
                                                     req->log);
}


void
ngx_http_integrations_outbound_limits_release(
    ngx_http_integrations_outbound_req_t *req)
{
    if (req->admission_wait) {
        /* cancelled while Redis decides */
        ngx_http_integrations_rate_limit_account_cancel(req->admission_wait);
        req->admission_wait = NULL;
    }

    if (req->admission == NULL) {
        return;
    }

    ngx_http_integrations_circuit_breaker_record_key(req->admission, NULL,
                                                     NULL, 0,
                                                     ngx_current_msec,
                                                     req->log);
}
