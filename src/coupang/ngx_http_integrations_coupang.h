/*
 * Coupang CEA signing: what other Coupang features use of it.
 *
 * The order sync job (ngx_http_integrations_coupang_orders.c) calls the
 * Wing API itself, through the outbound client, signed with the same
 * credentials as coupang_sign: coupang_access_key and
 * coupang_secret_key_file at the http{} level.
 */

#ifndef NGX_HTTP_INTEGRATIONS_COUPANG_H
#define NGX_HTTP_INTEGRATIONS_COUPANG_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_cea.h"


/*
 * The http{} level's access key and secret key (NULL when either is not
 * set there); from a postconfiguration handler.  The key lives as long as
 * the configuration.
 */
ngx_int_t ngx_http_integrations_coupang_credentials(ngx_conf_t *cf,
    ngx_str_t *access_key, integrations_cea_key_t **key);


extern ngx_module_t  ngx_http_integrations_coupang_module;

#endif /* NGX_HTTP_INTEGRATIONS_COUPANG_H */
