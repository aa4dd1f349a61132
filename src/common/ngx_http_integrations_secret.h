/*
 * Secrets are read from files at configuration time, never written inline
 * in nginx.conf, and cleansed from memory when the configuration goes.
 */

#ifndef NGX_HTTP_INTEGRATIONS_SECRET_H
#define NGX_HTTP_INTEGRATIONS_SECRET_H

#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_INTEGRATIONS_SECRET_MAX  65536


/*
 * Reads the secret in the file at path (relative to the prefix) into
 * memory owned by cf->pool and cleansed with it; trailing white space
 * (a final newline) is dropped.  A missing, unreadable, empty or oversized
 * file is an error logged at "emerg" naming the directive and the path;
 * a file others may read is logged at "warn".  The secret is never logged.
 */
ngx_int_t ngx_http_integrations_secret_read(ngx_conf_t *cf,
    ngx_str_t *directive, ngx_str_t *path, ngx_str_t *secret);

#endif /* NGX_HTTP_INTEGRATIONS_SECRET_H */
