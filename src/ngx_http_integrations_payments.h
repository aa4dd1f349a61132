/*
 * The unified payments API (payment_api): what other modules may hook.
 */

#ifndef NGX_HTTP_INTEGRATIONS_PAYMENTS_H
#define NGX_HTTP_INTEGRATIONS_PAYMENTS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * Called once per payments API request, in the log phase, for the
 * metrics registry: payment_attempts_total, payment_successes_total,
 * payment_failures_total{provider,currency,error} and the
 * payment_duration_seconds histogram.
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
 * NULL until the metrics module sets it.
 */
typedef void (*ngx_http_integrations_payments_observe_pt)(
    ngx_str_t *provider, const char *op, const char *currency,
    const char *error, ngx_msec_t duration);

extern ngx_http_integrations_payments_observe_pt
    ngx_http_integrations_payments_observe;


extern ngx_module_t  ngx_http_integrations_payments_module;

#endif /* NGX_HTTP_INTEGRATIONS_PAYMENTS_H */
