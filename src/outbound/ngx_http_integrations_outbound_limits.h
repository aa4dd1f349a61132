/*
 * The limits of an outbound call: a caller's rate_limit= zone, then its
 * circuit_breaker= zone, keyed by the caller's name (a payment or a
 * notification provider), and the breaker told how the call ended.
 *
 * A caller that owns its limits points req->limits at one of these (kept
 * for the configuration's life: the breaker's ticket refers to its
 * breaker_conf) and the outbound client runs admit before the call and
 * record or release after it; without req->limits the process's hooks
 * (ngx_http_integrations_outbound_hooks) decide.
 */

#ifndef NGX_HTTP_INTEGRATIONS_OUTBOUND_LIMITS_H
#define NGX_HTTP_INTEGRATIONS_OUTBOUND_LIMITS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_breaker.h"
#include "ngx_http_integrations_outbound.h"


struct ngx_http_integrations_outbound_limits_s {
    ngx_str_t                    name;          /* the key in both zones */
    const char                  *who;           /* "payments": log lines */
    ngx_shm_zone_t              *rate_limit;    /* NULL: not limited */
    ngx_shm_zone_t              *breaker;       /* NULL: no breaker */
    integrations_breaker_conf_t  breaker_conf;
};


/*
 * One parameter of a provider directive that names its limits, at
 * configuration time: "rate_limit=ZONE", "circuit_breaker=ZONE" or a
 * breaker tuning parameter ("failures=5", "open=30s", ...).  Both the
 * payment and the notification providers take the same set, so they parse
 * it here.  NGX_OK: a zone taken; NGX_DONE: a breaker parameter taken (the
 * caller remembers it: it needs "circuit_breaker=", which the caller's own
 * message says); NGX_DECLINED: not a limits parameter; NGX_ERROR: a bad
 * value (the caller's "invalid parameter"); NGX_ABORT: no such zone, the
 * error already logged.
 */
ngx_int_t ngx_http_integrations_outbound_limits_param(ngx_conf_t *cf,
    ngx_str_t *value, ngx_http_integrations_outbound_limits_t *l);

/*
 * "connect_timeout=TIME" or "timeout=TIME" of a provider directive, a
 * non-zero time.  NGX_OK: taken; NGX_DECLINED: not a timeout parameter;
 * NGX_ERROR: a bad value.
 */
ngx_int_t ngx_http_integrations_outbound_timeout_param(ngx_str_t *value,
    ngx_msec_t *connect_timeout, ngx_msec_t *timeout);

/*
 * The limiter is asked without committing, then the breaker, then the
 * limiter commits: a call the breaker refuses uses up none of the rate.
 * NGX_OK: admitted (req->admission holds the breaker's ticket); NGX_BUSY:
 * over the rate (or Redis down under on_error=reject); NGX_DECLINED: the
 * breaker is open; NGX_ERROR.  *wait is the refusal's wait in ms.
 * NGX_AGAIN: a scope=cluster zone asks Redis (the breaker has already
 * admitted), and ngx_http_integrations_outbound_admitted() gets the
 * answer; release() stops the wait.
 */
ngx_int_t ngx_http_integrations_outbound_limits_admit(
    ngx_http_integrations_outbound_limits_t *l,
    ngx_http_integrations_outbound_req_t *req, uint64_t *wait);

/* whether the breaker would admit a call now, without side effects */
ngx_int_t ngx_http_integrations_outbound_limits_available(
    ngx_http_integrations_outbound_limits_t *l);

/*
 * A finished call: no answer, or a 5xx (an SMTP 4xx), is a failure of
 * the provider; any other answer a success.
 */
void ngx_http_integrations_outbound_limits_record(
    ngx_http_integrations_outbound_req_t *req);

/* an admitted call that ends with no outcome */
void ngx_http_integrations_outbound_limits_release(
    ngx_http_integrations_outbound_req_t *req);

#endif /* NGX_HTTP_INTEGRATIONS_OUTBOUND_LIMITS_H */
