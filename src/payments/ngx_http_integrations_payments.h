/*
 * The unified payments API (payment_api).
 */

#ifndef NGX_HTTP_INTEGRATIONS_PAYMENTS_H
#define NGX_HTTP_INTEGRATIONS_PAYMENTS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* the shared memory zones of the payments API are tagged with it */
extern ngx_module_t  ngx_http_integrations_payments_module;

#endif /* NGX_HTTP_INTEGRATIONS_PAYMENTS_H */
