/*
 * The payments API's metrics on integrations_status, kept in shared
 * memory so that every worker reports the same totals:
 *
 *   integrations_payment_attempts_total{provider,operation,currency}
 *   integrations_payment_successes_total{provider,operation,currency}
 *   integrations_payment_failures_total{provider,operation,currency,error}
 *   integrations_payment_duration_seconds{provider,operation}  histogram
 *
 * The label values are bounded by the configuration: the providers
 * configured (or "none" when the request named none that could be
 * used), create/get/refund/capture, the currencies the providers take
 * ("none" when the request gave none, "other" for any other code), and
 * the error types: "invalid", "declined", "not_found", "conflict",
 * "rate_limited", "breaker_open", "unavailable", "timeout",
 * "client_closed", "internal".
 */

#ifndef NGX_HTTP_INTEGRATIONS_PAYMENTS_METRICS_H
#define NGX_HTTP_INTEGRATIONS_PAYMENTS_METRICS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct ngx_http_integrations_pay_metrics_s
    ngx_http_integrations_pay_metrics_t;


/*
 * Configuration time (postconfiguration): names[i] and currencies[i]
 * ("USD,EUR") of the n providers, in the configuration's order.  Adds the
 * shared memory zone and the collector.  NULL on error (logged).
 */
ngx_http_integrations_pay_metrics_t *
    ngx_http_integrations_pay_metrics_create(ngx_conf_t *cf,
    ngx_str_t *names, ngx_str_t *currencies, ngx_uint_t n);

/*
 * Run time, from the log phase: one API request.  provider is empty when
 * none was chosen; op is "create", "get", "refund", "capture",
 * "providers" or "unknown"; currency "" when not known; error NULL on
 * success; duration from the request's start to its answer.
 */
void ngx_http_integrations_pay_metrics_observe(
    ngx_http_integrations_pay_metrics_t *m, ngx_str_t *provider,
    const char *op, const char *currency, const char *error,
    ngx_msec_t duration);


#endif /* NGX_HTTP_INTEGRATIONS_PAYMENTS_METRICS_H */
