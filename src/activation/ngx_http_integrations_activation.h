/*
 * A seller's endpoint that the activation flow calls (activation_grant,
 * activation_revoke): its URL, the Standard Webhooks secret it is signed
 * with, its timeout and attempts, and the limits every outbound caller
 * has (rate_limit=, circuit_breaker= and the breaker's tuning).  Both
 * directives take the same parameters, so they parse them here.
 */

#ifndef NGX_HTTP_INTEGRATIONS_ACTIVATION_H
#define NGX_HTTP_INTEGRATIONS_ACTIVATION_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_activation.h"
#include "ngx_http_integrations_outbound_limits.h"


typedef struct {
    ngx_str_t                                url;       /* NULL: none */
    integrations_act_signer_t               *signer;
    ngx_msec_t                               timeout;
    ngx_uint_t                               attempts;
    ngx_http_integrations_outbound_limits_t  limits;    /* keyed by the
                                                           directive's
                                                           name */
} ngx_http_integrations_act_endpoint_t;


/* the defaults, from create_main_conf */
void ngx_http_integrations_act_endpoint_init(
    ngx_http_integrations_act_endpoint_t *ep, ngx_msec_t timeout,
    ngx_uint_t attempts);

/*
 * "NAME URL secret_file=PATH [timeout=TIME] [attempts=N]
 * [rate_limit=ZONE] [circuit_breaker=ZONE] [failures=N ...]", the
 * directive's name naming the key in both zones
 */
char *ngx_http_integrations_act_endpoint_conf(ngx_conf_t *cf,
    ngx_command_t *cmd, ngx_http_integrations_act_endpoint_t *ep);

/*
 * From postconfiguration: a zone named before its rate_limit_zone or
 * circuit_breaker_zone is only known once every directive is read.
 */
ngx_int_t ngx_http_integrations_act_endpoint_check(ngx_conf_t *cf,
    ngx_http_integrations_act_endpoint_t *ep);

#endif /* NGX_HTTP_INTEGRATIONS_ACTIVATION_H */
