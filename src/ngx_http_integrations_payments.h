/*
 * The unified payments API (payment_api): what other modules may hook.
 */

#ifndef NGX_HTTP_INTEGRATIONS_PAYMENTS_H
#define NGX_HTTP_INTEGRATIONS_PAYMENTS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * Called once per payments API request, in the log phase.  The module
 * counts these itself (ngx_http_integrations_payments_metrics.c:
 * integrations_payment_attempts_total, _successes_total, _failures_total
 * and the integrations_payment_duration_seconds histogram); this hook is
 * for any other observer.
 *
 *   provider  "stripe"... or "" when none was chosen (invalid input)
 *   op        "create", "get", "refund", "capture", "providers", or
 *             "unknown" for a path that is no endpoint
 *   currency  "USD"... or "" when not known
 *   error     NULL on success, else "invalid", "declined", "not_found",
 *             "conflict", "rate_limited", "breaker_open", "unavailable",
 *             "timeout", "client_closed", "internal"
 *   duration  ms from the request's start to its answer
 *
 * NULL unless another module sets it.
 */
typedef void (*ngx_http_integrations_payments_observe_pt)(
    ngx_str_t *provider, const char *op, const char *currency,
    const char *error, ngx_msec_t duration);

extern ngx_http_integrations_payments_observe_pt
    ngx_http_integrations_payments_observe;


extern ngx_module_t  ngx_http_integrations_payments_module;

#endif /* NGX_HTTP_INTEGRATIONS_PAYMENTS_H */
