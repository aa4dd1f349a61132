/*
 * RFC 9457 problem details: the one shape of every error this module
 * answers itself.
 */

#ifndef NGX_HTTP_INTEGRATIONS_PROBLEM_H
#define NGX_HTTP_INTEGRATIONS_PROBLEM_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * Sends status with an "application/problem+json" body:
 *     {"type":"urn:integrations:problem:TYPE","title":...,"status":N,
 *      "detail":...}
 * type is a stable snake_case name clients may switch on; detail may be
 * NULL.  Extra response headers (Retry-After) are set before the call.
 *
 * Returns what the output filter returned: a content handler returns it
 * as is; a phase handler passes it to ngx_http_finalize_request() and
 * returns NGX_DONE.
 */
ngx_int_t ngx_http_integrations_problem(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *title,
    ngx_str_t *detail);

/* The same with a "field" member: the request's member it is about. */
ngx_int_t ngx_http_integrations_problem_field(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *title,
    const char *field, ngx_str_t *detail);

/* Adds "Retry-After: seconds" to the response headers. */
ngx_int_t ngx_http_integrations_retry_after(ngx_http_request_t *r,
    time_t seconds);

/*
 * A directive slot for the status of an error the module answers itself:
 * an ngx_uint_t (NGX_CONF_UNSET_UINT until set) from 400 to 599.
 */
char *ngx_http_integrations_problem_status_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

#endif /* NGX_HTTP_INTEGRATIONS_PROBLEM_H */
