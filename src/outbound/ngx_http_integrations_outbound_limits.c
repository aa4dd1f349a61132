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


/*
 * Over the rate a call is refused, never delayed: the caller says when
 * to come back (a client's 429, a notification's next attempt).
 */

ngx_int_t
ngx_http_integrations_outbound_limits_admit(
    ngx_http_integrations_outbound_limits_t *l,
    ngx_http_integrations_outbound_req_t *req, uint64_t *wait)
{
    uint64_t                                         now;
    ngx_int_t                                        rc;
    integrations_gcra_result_t                       res;
    integrations_breaker_verdict_e                   v;
    ngx_http_integrations_circuit_breaker_ticket_t  *t;

    now = ngx_current_msec;
    *wait = 0;

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

    if (l->breaker) {
        t = ngx_pcalloc(req->pool,
                       sizeof(ngx_http_integrations_circuit_breaker_ticket_t));
        if (t == NULL) {
            return NGX_ERROR;
        }

        v = ngx_http_integrations_circuit_breaker_acquire_key(l->breaker,
                                                     &l->breaker_conf,
                                                     &l->name, now, req->log,
                                                     t, wait);

        if (v == INTEGRATIONS_BREAKER_REJECT) {
            ngx_log_error(NGX_LOG_INFO, req->log, 0,
                          "%s: %V call refused, its circuit breaker "
                          "is %s", l->who, &l->name,
                          integrations_breaker_state_str(t->state));

            return NGX_DECLINED;
        }

        req->admission = t;
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
    if (req->admission == NULL) {
        return;
    }

    ngx_http_integrations_circuit_breaker_record_key(req->admission, NULL,
                                                     NULL, 0,
                                                     ngx_current_msec,
                                                     req->log);
}
