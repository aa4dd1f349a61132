/*
 * Coupang CEA signing of proxied requests.
 *
 *     location /coupang/ {
 *         coupang_sign  on;
 *         proxy_pass    https://coupang/;
 *     }
 *
 * The signature is computed over the request head that proxy_pass built,
 * before each attempt to reach a peer (see the peer hook in
 * ngx_integrations_module.c): it covers exactly the method, path and query
 * on the wire, whatever rewrite, the proxy_pass URI or the client's
 * request form made of them, and every retry gets a fresh signed-date.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>

#include "integrations_cea.h"
#include "ngx_integrations_module.h"
#include "ngx_http_integrations_secret.h"
#include "ngx_http_integrations_status.h"


typedef struct {
    ngx_str_t                 access_key;
    ngx_str_t                 vendor_id;
    integrations_cea_key_t   *key;
    ngx_flag_t                sign;
} ngx_http_integrations_coupang_loc_conf_t;


typedef struct {
    ngx_uint_t                               sign_used;
                                             /* unsigned  sign_used:1; */
    ngx_http_integrations_status_counter_t  *signed_requests;
} ngx_http_integrations_coupang_main_conf_t;


typedef struct {
    u_char                    date[INTEGRATIONS_CEA_DATE_LEN];
    u_char                    signature[INTEGRATIONS_CEA_SIGNATURE_LEN];
    ngx_uint_t                attempts;
} ngx_http_integrations_coupang_ctx_t;


static ngx_int_t ngx_http_integrations_coupang_wants(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_coupang_sign(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_coupang_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_integrations_coupang_token(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_coupang_secret_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_coupang_sign_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_integrations_coupang_free_key(void *data);
static ngx_int_t ngx_http_integrations_coupang_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_integrations_coupang_init(ngx_conf_t *cf);
static void *ngx_http_integrations_coupang_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_integrations_coupang_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_integrations_coupang_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


static ngx_command_t  ngx_http_integrations_coupang_commands[] = {

    { ngx_string("coupang_access_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_integrations_coupang_token,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_coupang_loc_conf_t, access_key),
      NULL },

    { ngx_string("coupang_secret_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_integrations_coupang_secret_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("coupang_vendor_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_integrations_coupang_token,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_coupang_loc_conf_t, vendor_id),
      NULL },

    { ngx_string("coupang_sign"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_integrations_coupang_sign_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_coupang_loc_conf_t, sign),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_coupang_module_ctx = {
    ngx_http_integrations_coupang_add_variables,   /* preconfiguration */
    ngx_http_integrations_coupang_init,            /* postconfiguration */

    ngx_http_integrations_coupang_create_main_conf, /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    ngx_http_integrations_coupang_create_loc_conf, /* create location conf */
    ngx_http_integrations_coupang_merge_loc_conf   /* merge location conf */
};


ngx_module_t  ngx_http_integrations_coupang_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_coupang_module_ctx,     /* module context */
    ngx_http_integrations_coupang_commands,        /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    NULL,                                          /* init module */
    NULL,                                          /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    NULL,                                          /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_integrations_peer_hook_t  ngx_http_integrations_coupang_hook = {
    ngx_http_integrations_coupang_wants,
    ngx_http_integrations_coupang_sign
};


static ngx_http_variable_t  ngx_http_integrations_coupang_vars[] = {

    { ngx_string("coupang_signed_date"), NULL,
      ngx_http_integrations_coupang_variable,
      offsetof(ngx_http_integrations_coupang_ctx_t, date),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("coupang_signature"), NULL,
      ngx_http_integrations_coupang_variable,
      offsetof(ngx_http_integrations_coupang_ctx_t, signature),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_integrations_coupang_wants(ngx_http_request_t *r)
{
    ngx_http_integrations_coupang_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_integrations_coupang_module);

    return clcf->sign;
}


static ngx_int_t
ngx_http_integrations_coupang_sign(ngx_http_request_t *r)
{
    long                                        n;
    ngx_buf_t                                  *b, *nb;
    ngx_http_upstream_t                        *u;
    integrations_cea_identity_t                 id;
    ngx_http_integrations_coupang_ctx_t        *ctx;
    ngx_http_integrations_coupang_loc_conf_t   *clcf;
    ngx_http_integrations_coupang_main_conf_t  *cmcf;

    u = r->upstream;

    clcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_integrations_coupang_module);

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_coupang_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool,
                          sizeof(ngx_http_integrations_coupang_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_integrations_coupang_module);
    }

    /*
     * The head proxy_pass built is the first buffer of the request chain;
     * on a retry it is the head this function signed before, which signs
     * again the same way.  b->start, not b->pos: a retry rewinds it.
     */

    b = (u->request_bufs != NULL) ? u->request_bufs->buf : NULL;

    if (b == NULL || !ngx_buf_in_memory(b) || b->last <= b->start) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "coupang_sign: no upstream request head to sign");
        return NGX_ERROR;
    }

    nb = ngx_create_temp_buf(r->pool, (b->last - b->start)
                             + INTEGRATIONS_CEA_HEAD_EXTRA(
                                   clcf->access_key.len, clcf->vendor_id.len));
    if (nb == NULL) {
        return NGX_ERROR;
    }

    id.access_key = clcf->access_key.data;
    id.access_key_len = clcf->access_key.len;
    id.vendor_id = clcf->vendor_id.len ? clcf->vendor_id.data : NULL;
    id.vendor_id_len = clcf->vendor_id.len;

    n = integrations_cea_sign_head(clcf->key, &id, ngx_time(), b->start,
                                   b->last - b->start, nb->pos,
                                   (char *) ctx->date,
                                   (char *) ctx->signature);
    if (n < 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "coupang_sign: the upstream request is not HTTP/1.x, "
                      "only proxy_pass can be signed");
        return NGX_ERROR;
    }

    cmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_integrations_coupang_module);

    ngx_http_integrations_status_increment(cmcf->signed_requests);

    nb->last = nb->pos + n;
    nb->flush = b->flush;
    nb->last_buf = b->last_buf;
    nb->last_in_chain = b->last_in_chain;

    u->request_bufs->buf = nb;

    ctx->attempts++;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "coupang_sign: attempt %ui signed-date %*s",
                   ctx->attempts, (size_t) INTEGRATIONS_CEA_DATE_LEN,
                   ctx->date);

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_coupang_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_integrations_coupang_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_coupang_module);

    if (ctx == NULL || ctx->attempts == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = (u_char *) ctx + data;
    v->len = (data == offsetof(ngx_http_integrations_coupang_ctx_t, date))
             ? INTEGRATIONS_CEA_DATE_LEN : INTEGRATIONS_CEA_SIGNATURE_LEN;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* An access key or vendor id goes into a header: visible ASCII, no ',' */

static char *
ngx_http_integrations_coupang_token(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    size_t      i;
    ngx_str_t  *field, *value;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= 0x20 || value[1].data[i] >= 0x7f
            || value[1].data[i] == ',' || value[1].data[i] == '"')
        {
            break;
        }
    }

    if (value[1].len == 0 || i < value[1].len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    *field = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_integrations_coupang_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_coupang_loc_conf_t *clcf = conf;

    ngx_str_t           *value, secret;
    ngx_pool_cleanup_t  *cln;

    if (clcf->key != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_integrations_secret_read(cf, &cmd->name, &value[1], &secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    clcf->key = integrations_cea_key_new(secret.data, secret.len);

    /* the MAC context holds the key now; the file's bytes are not needed */

    OPENSSL_cleanse(secret.data, secret.len);

    if (clcf->key == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: cannot create an HMAC key", &cmd->name);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_integrations_coupang_free_key;
    cln->data = clcf->key;

    return NGX_CONF_OK;
}


static char *
ngx_http_integrations_coupang_sign_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char                                       *rv;
    ngx_http_integrations_coupang_main_conf_t  *cmcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK) {
        cmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_integrations_coupang_module);
        cmcf->sign_used = 1;
    }

    return rv;
}


static void
ngx_http_integrations_coupang_free_key(void *data)
{
    integrations_cea_key_free(data);
}


static ngx_int_t
ngx_http_integrations_coupang_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_integrations_coupang_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_coupang_init(ngx_conf_t *cf)
{
    ngx_http_integrations_coupang_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_integrations_coupang_module);

    /* configurations that never sign leave the upstreams untouched */

    if (!cmcf->sign_used) {
        return NGX_OK;
    }

    cmcf->signed_requests = ngx_http_integrations_status_add_counter(cf,
                                "integrations_coupang_signed_requests_total",
                                "Upstream attempts signed for Coupang.");
    if (cmcf->signed_requests == NULL) {
        return NGX_ERROR;
    }

    return ngx_integrations_add_peer_hook(cf,
                                          &ngx_http_integrations_coupang_hook);
}


static void *
ngx_http_integrations_coupang_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_coupang_main_conf_t));
}


static void *
ngx_http_integrations_coupang_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_coupang_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_coupang_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->access_key = { 0, NULL };
     *     conf->vendor_id = { 0, NULL };
     */

    conf->key = NGX_CONF_UNSET_PTR;
    conf->sign = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_integrations_coupang_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_integrations_coupang_loc_conf_t  *prev = parent;
    ngx_http_integrations_coupang_loc_conf_t  *conf = child;

    ngx_conf_merge_str_value(conf->access_key, prev->access_key, "");
    ngx_conf_merge_str_value(conf->vendor_id, prev->vendor_id, "");
    ngx_conf_merge_ptr_value(conf->key, prev->key, NULL);
    ngx_conf_merge_value(conf->sign, prev->sign, 0);

    if (conf->sign && (conf->key == NULL || conf->access_key.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_sign\" requires \"coupang_access_key\" "
                           "and \"coupang_secret_key_file\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
