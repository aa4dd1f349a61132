/*
 * ngx_integrations_module: the module that names the shared object and
 * owns the machinery its sibling modules share.
 */

#ifndef NGX_INTEGRATIONS_MODULE_H
#define NGX_INTEGRATIONS_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * A peer hook runs before every attempt to reach an upstream peer
 * (proxy_next_upstream retries included), after the upstream request has
 * been created, so it may rewrite the bytes that are about to be sent.
 *
 * wants() is asked once per upstream request, when the upstream nginx
 * chose for it (r->upstream->upstream) initializes its peers: NGX_OK to
 * run before() before each attempt, NGX_DECLINED to leave the request
 * alone, NGX_ERROR to fail it (nginx answers 500; wants() logs why).
 * before() fails the request with NGX_ERROR.
 *
 * Only requests that reach an upstream nginx knows by name (an upstream
 * block or the implicit one of a literal proxy_pass) pass the hook: a
 * proxy_pass with variables whose host names none goes to a peer nginx
 * creates on the fly, and no hook sees it.
 */
typedef struct {
    ngx_int_t  (*wants)(ngx_http_request_t *r);
    ngx_int_t  (*before)(ngx_http_request_t *r);
} ngx_integrations_peer_hook_t;


/* Called from postconfiguration: upstreams are initialized by then. */
ngx_int_t ngx_integrations_add_peer_hook(ngx_conf_t *cf,
    ngx_integrations_peer_hook_t *hook);


extern ngx_module_t  ngx_integrations_module;

#endif /* NGX_INTEGRATIONS_MODULE_H */
