/*
 * ngx_integrations_module: the module that names the shared object and
 * owns the machinery its sibling modules share.
 *
 * The peer hook.  nginx builds an upstream request (u->create_request)
 * and then asks the upstream's balancer for a peer before every attempt.
 * Wrapping each upstream's peer.init, as the keepalive module does, is
 * the one place where a module sees the finished request bytes before
 * each attempt, without patching nginx or re-implementing proxy_pass.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_integrations_module.h"


typedef struct {
    ngx_http_upstream_srv_conf_t    *upstream;
    ngx_http_upstream_init_peer_pt   original_init_peer;
} ngx_integrations_upstream_t;


typedef struct {
    ngx_array_t                      hooks;      /* of hook pointers */
    ngx_array_t                      upstreams;  /* of upstream_t */
} ngx_integrations_main_conf_t;


typedef struct {
    ngx_http_request_t              *request;
    ngx_integrations_main_conf_t    *main_conf;
    ngx_uint_t                       wanted;     /* bit i: hooks[i] */

    void                            *data;
    ngx_event_get_peer_pt            original_get_peer;
    ngx_event_free_peer_pt           original_free_peer;

#if (NGX_HTTP_SSL)
    ngx_event_set_peer_session_pt    original_set_session;
    ngx_event_save_peer_session_pt   original_save_session;
#endif
} ngx_integrations_peer_data_t;


static ngx_int_t ngx_integrations_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_integrations_get_peer(ngx_peer_connection_t *pc,
    void *data);
static void ngx_integrations_free_peer(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
#if (NGX_HTTP_SSL)
static ngx_int_t ngx_integrations_set_session(ngx_peer_connection_t *pc,
    void *data);
static void ngx_integrations_save_session(ngx_peer_connection_t *pc,
    void *data);
#endif
static void *ngx_integrations_create_main_conf(ngx_conf_t *cf);


static ngx_http_module_t  ngx_integrations_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_integrations_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_integrations_module = {
    NGX_MODULE_V1,
    &ngx_integrations_module_ctx,          /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_int_t
ngx_integrations_add_peer_hook(ngx_conf_t *cf,
    ngx_integrations_peer_hook_t *hook)
{
    ngx_uint_t                       i;
    ngx_integrations_upstream_t     *iu;
    ngx_http_upstream_srv_conf_t   **uscfp;
    ngx_http_upstream_main_conf_t   *umcf;
    ngx_integrations_peer_hook_t   **h;
    ngx_integrations_main_conf_t    *imcf;

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_integrations_module);

    if (imcf->hooks.nelts == sizeof(ngx_uint_t) * 8) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "integrations: too many peer hooks");
        return NGX_ERROR;
    }

    h = ngx_array_push(&imcf->hooks);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = hook;

    if (imcf->hooks.nelts > 1) {
        return NGX_OK;
    }

    /* the first hook: wrap every upstream, implicit ones included */

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {

        if (uscfp[i]->peer.init == NULL) {
            continue;
        }

        iu = ngx_array_push(&imcf->upstreams);
        if (iu == NULL) {
            return NGX_ERROR;
        }

        iu->upstream = uscfp[i];
        iu->original_init_peer = uscfp[i]->peer.init;

        uscfp[i]->peer.init = ngx_integrations_init_peer;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_integrations_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_int_t                       rc;
    ngx_uint_t                      i, wanted;
    ngx_http_upstream_t            *u;
    ngx_integrations_upstream_t    *iu;
    ngx_integrations_peer_hook_t  **hooks;
    ngx_integrations_peer_data_t   *pd;
    ngx_integrations_main_conf_t   *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_integrations_module);

    iu = imcf->upstreams.elts;

    for (i = 0; i < imcf->upstreams.nelts; i++) {
        if (iu[i].upstream == us) {
            break;
        }
    }

    if (i == imcf->upstreams.nelts) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "integrations: upstream \"%V\" was not wrapped",
                      &us->host);
        return NGX_ERROR;
    }

    rc = iu[i].original_init_peer(r, us);

    if (rc != NGX_OK) {
        return rc;
    }

    /* asked once: a hook that fails the request logs why only once */

    hooks = imcf->hooks.elts;
    wanted = 0;

    for (i = 0; i < imcf->hooks.nelts; i++) {
        rc = hooks[i]->wants(r);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK) {
            wanted |= (ngx_uint_t) 1 << i;
        }
    }

    if (wanted == 0) {
        return NGX_OK;
    }

    pd = ngx_palloc(r->pool, sizeof(ngx_integrations_peer_data_t));
    if (pd == NULL) {
        return NGX_ERROR;
    }

    u = r->upstream;

    pd->request = r;
    pd->main_conf = imcf;
    pd->wanted = wanted;
    pd->data = u->peer.data;
    pd->original_get_peer = u->peer.get;
    pd->original_free_peer = u->peer.free;

    u->peer.data = pd;
    u->peer.get = ngx_integrations_get_peer;
    u->peer.free = ngx_integrations_free_peer;

#if (NGX_HTTP_SSL)
    pd->original_set_session = u->peer.set_session;
    pd->original_save_session = u->peer.save_session;

    if (u->peer.set_session) {
        u->peer.set_session = ngx_integrations_set_session;
    }

    if (u->peer.save_session) {
        u->peer.save_session = ngx_integrations_save_session;
    }
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_integrations_get_peer(ngx_peer_connection_t *pc, void *data)
{
    ngx_integrations_peer_data_t  *pd = data;

    ngx_uint_t                      i;
    ngx_integrations_peer_hook_t  **hooks;

    /* the request bytes do not depend on the peer: hooks run first */

    hooks = pd->main_conf->hooks.elts;

    for (i = 0; i < pd->main_conf->hooks.nelts; i++) {
        if ((pd->wanted & ((ngx_uint_t) 1 << i))
            && hooks[i]->before(pd->request) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return pd->original_get_peer(pc, pd->data);
}


static void
ngx_integrations_free_peer(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_integrations_peer_data_t  *pd = data;

    pd->original_free_peer(pc, pd->data, state);
}


#if (NGX_HTTP_SSL)

static ngx_int_t
ngx_integrations_set_session(ngx_peer_connection_t *pc, void *data)
{
    ngx_integrations_peer_data_t  *pd = data;

    return pd->original_set_session(pc, pd->data);
}


static void
ngx_integrations_save_session(ngx_peer_connection_t *pc, void *data)
{
    ngx_integrations_peer_data_t  *pd = data;

    pd->original_save_session(pc, pd->data);
}

#endif


static void *
ngx_integrations_create_main_conf(ngx_conf_t *cf)
{
    ngx_integrations_main_conf_t  *imcf;

    imcf = ngx_pcalloc(cf->pool, sizeof(ngx_integrations_main_conf_t));
    if (imcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&imcf->hooks, cf->pool, 1,
                       sizeof(ngx_integrations_peer_hook_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&imcf->upstreams, cf->pool, 4,
                       sizeof(ngx_integrations_upstream_t))
        != NGX_OK)
    {
        return NULL;
    }

    return imcf;
}
