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
 *
 * A signature is a credential: whoever receives it can replay it, from a
 * whitelisted address, within its validity.  So a request is signed only
 * where the configuration fixed its destination: proxy_pass names a host
 * or an upstream, or its host comes from variables and is then checked,
 * in the PRECONTENT phase, against coupang_sign_hosts.  Anything else is
 * refused: by "nginx -t" where the configuration shows it, with 502 where
 * only the request does.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>
#include <openssl/crypto.h>

#include "integrations_cea.h"
#include "ngx_http_integrations_coupang.h"
#include "ngx_integrations_module.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_secret.h"
#include "ngx_http_integrations_status.h"


/*
 * Whether the location's proxy_pass has variables: proxy_lengths is not
 * NULL then (and proxy_values evaluates its URL).  nginx 1.29.4 and later
 * publish ngx_http_proxy_loc_conf_t; before, it is private to
 * ngx_http_proxy_module.c, and its head up to proxy_values is the same
 * from 1.18.0 to 1.29.3: that head is mirrored here.
 */

#if (nginx_version >= 1029004)

#include <ngx_http_proxy_module.h>

typedef ngx_http_proxy_loc_conf_t  ngx_http_integrations_coupang_proxy_conf_t;

#elif (nginx_version >= 1018000)

typedef struct {
    ngx_array_t              *flushes;
    ngx_array_t              *lengths;
    ngx_array_t              *values;
    ngx_hash_t                hash;
} ngx_http_integrations_coupang_proxy_headers_t;


typedef struct {
    ngx_http_upstream_conf_t                        upstream;

    ngx_array_t                                    *body_flushes;
    ngx_array_t                                    *body_lengths;
    ngx_array_t                                    *body_values;
    ngx_str_t                                       body_source;

    ngx_http_integrations_coupang_proxy_headers_t   headers;
#if (NGX_HTTP_CACHE)
    ngx_http_integrations_coupang_proxy_headers_t   headers_cache;
#endif
    ngx_array_t                                    *headers_source;

    ngx_array_t                                    *proxy_lengths;
    ngx_array_t                                    *proxy_values;
} ngx_http_integrations_coupang_proxy_conf_t;

#else
#error "coupang_sign needs nginx 1.18.0 or later"
#endif


/* a coupang_sign_hosts entry: HOST (no_port) or HOST:PORT */
typedef struct {
    ngx_str_t                 name;      /* as written */
    ngx_str_t                 host;
    in_port_t                 port;
    unsigned                  no_port:1;
} ngx_http_integrations_coupang_host_t;


typedef struct {
    ngx_str_t                 access_key;
    ngx_str_t                 vendor_id;
    integrations_cea_key_t   *key;
    ngx_flag_t                sign;
    ngx_array_t              *hosts;     /* of ngx_..._coupang_host_t */
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

    /* the upstream a host from variables was checked to name */
    ngx_http_upstream_srv_conf_t  *destination;
} ngx_http_integrations_coupang_ctx_t;


static ngx_int_t ngx_http_integrations_coupang_wants(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_coupang_destination(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_coupang_refuse(ngx_http_request_t *r,
    ngx_str_t *host, const char *why);
static ngx_http_integrations_coupang_ctx_t *
    ngx_http_integrations_coupang_get_ctx(ngx_http_request_t *r);
static ngx_uint_t ngx_http_integrations_coupang_allowed(ngx_array_t *hosts,
    ngx_str_t *host, in_port_t port, ngx_uint_t no_port);
static ngx_http_upstream_srv_conf_t *ngx_http_integrations_coupang_upstream(
    ngx_http_request_t *r, ngx_str_t *host, in_port_t port,
    ngx_uint_t no_port);
static char *ngx_http_integrations_coupang_hosts(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_coupang_check_hosts(ngx_conf_t *cf,
    ngx_array_t *hosts);
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

    { ngx_string("coupang_sign_hosts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_integrations_coupang_hosts,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_coupang_loc_conf_t, hosts),
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


extern ngx_module_t  ngx_http_proxy_module;


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


/*
 * The peer hook asks whether to sign.  u->resolved is NULL exactly when
 * proxy_pass (or another module's *_pass) named its upstream without
 * variables: nginx then uses u->conf->upstream, the location's own.
 * Otherwise the host came from variables and nginx looked it up among
 * all the upstreams it knows, this location's or not: signed only if the
 * PRECONTENT check approved this very upstream.
 */

static ngx_int_t
ngx_http_integrations_coupang_wants(ngx_http_request_t *r)
{
    ngx_http_upstream_t                       *u;
    ngx_http_integrations_coupang_ctx_t       *ctx;
    ngx_http_integrations_coupang_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_integrations_coupang_module);

    if (!clcf->sign) {
        return NGX_DECLINED;
    }

    u = r->upstream;

    if (u->resolved == NULL) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_coupang_module);

    if (ctx != NULL && ctx->destination == u->upstream) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "coupang_sign: refused to sign for \"%V\", a host from "
                  "variables that \"coupang_sign_hosts\" did not allow",
                  &u->resolved->host);

    return NGX_ERROR;
}


/*
 * PRECONTENT, where proxy_pass has variables: the host they give is
 * checked against coupang_sign_hosts before the request goes anywhere.
 * The URL is evaluated as ngx_http_proxy_eval() will evaluate it, from
 * the same cached variables; the peer hook checks again that nginx chose
 * the upstream approved here.
 */

static ngx_int_t
ngx_http_integrations_coupang_destination(ngx_http_request_t *r)
{
    size_t                                       add;
    in_port_t                                    port;
    ngx_str_t                                    proxy;
    ngx_url_t                                    url;
    ngx_http_upstream_srv_conf_t                *uscf;
    ngx_http_integrations_coupang_ctx_t         *ctx;
    ngx_http_integrations_coupang_loc_conf_t    *clcf;
    ngx_http_integrations_coupang_proxy_conf_t  *plcf;

    clcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_integrations_coupang_module);

    if (!clcf->sign) {
        return NGX_DECLINED;
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_proxy_module);

    if (plcf->proxy_lengths == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_script_run(r, &proxy, plcf->proxy_lengths->elts, 0,
                            plcf->proxy_values->elts)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a URL proxy_pass cannot use fails there, with its own message */

    if (proxy.len > 7
        && ngx_strncasecmp(proxy.data, (u_char *) "http://", 7) == 0)
    {
        add = 7;
        port = 80;

    } else if (proxy.len > 8
               && ngx_strncasecmp(proxy.data, (u_char *) "https://", 8) == 0)
    {
        add = 8;
        port = 443;

    } else {
        return NGX_DECLINED;
    }

    ngx_memzero(&url, sizeof(ngx_url_t));

    url.url.len = proxy.len - add;
    url.url.data = proxy.data + add;
    url.default_port = port;
    url.uri_part = 1;
    url.no_resolve = 1;

    if (ngx_parse_url(r->pool, &url) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (!url.no_port) {
        port = url.port;
    }

    if (clcf->hosts == NULL
        || !ngx_http_integrations_coupang_allowed(clcf->hosts, &url.host,
                                                  port, url.no_port))
    {
        return ngx_http_integrations_coupang_refuse(r, &url.host,
                                       "is not in \"coupang_sign_hosts\"");
    }

    uscf = ngx_http_integrations_coupang_upstream(r, &url.host, port,
                                                  url.no_port);
    if (uscf == NULL) {
        return ngx_http_integrations_coupang_refuse(r, &url.host,
                       "names no upstream, so its requests cannot be signed");
    }

    ctx = ngx_http_integrations_coupang_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->destination = uscf;

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_integrations_coupang_refuse(ngx_http_request_t *r, ngx_str_t *host,
    const char *why)
{
    ngx_str_t  detail;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "coupang_sign: refused to sign for \"%V\": it %s",
                  host, why);

    ngx_str_set(&detail, "The destination of this request comes from the "
                "request, and the gateway signs only for destinations its "
                "configuration allows.");

    ngx_http_finalize_request(r,
        ngx_http_integrations_problem(r, NGX_HTTP_BAD_GATEWAY,
                                      "coupang_destination_not_allowed",
                                      "Destination not allowed for signing",
                                      &detail));

    return NGX_DONE;
}


static ngx_http_integrations_coupang_ctx_t *
ngx_http_integrations_coupang_get_ctx(ngx_http_request_t *r)
{
    ngx_http_integrations_coupang_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_coupang_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool,
                          sizeof(ngx_http_integrations_coupang_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_integrations_coupang_module);
    }

    return ctx;
}


/*
 * HOST matches a URL without a port, HOST:PORT one that writes that port;
 * hosts compare case-insensitively, as nginx compares upstream names.
 */

static ngx_uint_t
ngx_http_integrations_coupang_allowed(ngx_array_t *hosts, ngx_str_t *host,
    in_port_t port, ngx_uint_t no_port)
{
    ngx_uint_t                             i;
    ngx_http_integrations_coupang_host_t  *h;

    h = hosts->elts;

    for (i = 0; i < hosts->nelts; i++) {

        if (h[i].host.len == host->len
            && ngx_strncasecmp(h[i].host.data, host->data, host->len) == 0
            && (h[i].no_port ? no_port : (!no_port && h[i].port == port)))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The upstream ngx_http_upstream_init_request() will choose for a host
 * from variables, by its own rule; NULL where it will create a peer on
 * the fly (an address, or a name for the resolver), which no hook sees.
 */

static ngx_http_upstream_srv_conf_t *
ngx_http_integrations_coupang_upstream(ngx_http_request_t *r,
    ngx_str_t *host, in_port_t port, ngx_uint_t no_port)
{
    ngx_uint_t                       i;
    ngx_http_upstream_srv_conf_t   **uscfp;
    ngx_http_upstream_main_conf_t   *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_upstream_module);

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {

        if (uscfp[i]->host.len == host->len
            && ((uscfp[i]->port == 0 && no_port) || uscfp[i]->port == port)
            && ngx_strncasecmp(uscfp[i]->host.data, host->data, host->len)
               == 0)
        {
            return uscfp[i];
        }
    }

    return NULL;
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

    ctx = ngx_http_integrations_coupang_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
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


/*
 * coupang_sign_hosts HOST[:PORT] ...: the hosts a proxy_pass with
 * variables may give for a request to be signed.  An address or a name,
 * as proxy_pass writes it; no scheme, no path, no UNIX socket.
 */

static char *
ngx_http_integrations_coupang_hosts(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    u_char                                 c;
    ngx_str_t                             *value;
    ngx_url_t                              url;
    ngx_uint_t                             i, j;
    ngx_array_t                          **hosts;
    ngx_http_integrations_coupang_host_t  *h;

    hosts = (ngx_array_t **) (p + cmd->offset);

    if (*hosts != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    *hosts = ngx_array_create(cf->pool, cf->args->nelts - 1,
                              sizeof(ngx_http_integrations_coupang_host_t));
    if (*hosts == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        ngx_memzero(&url, sizeof(ngx_url_t));

        url.url = value[i];
        url.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &url) != NGX_OK
            || url.family == AF_UNIX || url.host.len == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid host \"%V\" in \"%V\" directive%s%s",
                               &value[i], &cmd->name,
                               url.err ? ", " : "", url.err ? url.err : "");
            return NGX_CONF_ERROR;
        }

        for (j = 0; url.host.data[0] != '[' && j < url.host.len; j++) {
            c = ngx_tolower(url.host.data[j]);

            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                  || c == '.' || c == '-' || c == '_'))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid host \"%V\" in \"%V\" directive",
                                   &value[i], &cmd->name);
                return NGX_CONF_ERROR;
            }
        }

        h = ngx_array_push(*hosts);
        if (h == NULL) {
            return NGX_CONF_ERROR;
        }

        h->name = value[i];
        h->host = url.host;
        h->port = url.no_port ? 0 : url.port;
        h->no_port = url.no_port;
    }

    return NGX_CONF_OK;
}


/*
 * An allowed host must name an upstream nginx knows (an upstream block or
 * the implicit upstream of a literal proxy_pass), the way it is written:
 * for any other host nginx creates a peer on the fly, which no hook can
 * sign.  Upstreams are all known once the http block is parsed, when the
 * locations are merged.
 */

static char *
ngx_http_integrations_coupang_check_hosts(ngx_conf_t *cf, ngx_array_t *hosts)
{
    ngx_uint_t                             i, k;
    ngx_http_upstream_srv_conf_t         **uscfp;
    ngx_http_upstream_main_conf_t         *umcf;
    ngx_http_integrations_coupang_host_t  *h;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    h = hosts->elts;

    for (i = 0; i < hosts->nelts; i++) {

        for (k = 0; k < umcf->upstreams.nelts; k++) {

            if (uscfp[k]->host.len == h[i].host.len
                && ngx_strncasecmp(uscfp[k]->host.data, h[i].host.data,
                                   h[i].host.len) == 0
                && (h[i].no_port ? (uscfp[k]->port == 0 || uscfp[k]->no_port)
                                 : uscfp[k]->port == h[i].port))
            {
                break;
            }
        }

        if (k == umcf->upstreams.nelts) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"coupang_sign_hosts\" \"%V\" is not an "
                               "upstream (an \"upstream\" block, or the host "
                               "of a literal \"proxy_pass\"), so requests to "
                               "it could not be signed", &h[i].name);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
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
    ngx_http_handler_pt                        *h;
    ngx_http_core_main_conf_t                  *hmcf;
    ngx_http_integrations_coupang_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_integrations_coupang_module);

    /* configurations that never sign leave the upstreams untouched */

    if (!cmcf->sign_used) {
        return NGX_OK;
    }

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&hmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_integrations_coupang_destination;

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
    conf->hosts = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_integrations_coupang_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_integrations_coupang_loc_conf_t  *prev = parent;
    ngx_http_integrations_coupang_loc_conf_t  *conf = child;

    ngx_http_core_loc_conf_t                    *clcf;
    ngx_http_integrations_coupang_proxy_conf_t  *plcf;

    ngx_conf_merge_str_value(conf->access_key, prev->access_key, "");
    ngx_conf_merge_str_value(conf->vendor_id, prev->vendor_id, "");
    ngx_conf_merge_ptr_value(conf->key, prev->key, NULL);
    ngx_conf_merge_value(conf->sign, prev->sign, 0);

    /* the http level's own conf is never merged: NULL for "unset" here */

    if (conf->hosts == NGX_CONF_UNSET_PTR) {
        conf->hosts = (prev->hosts == NGX_CONF_UNSET_PTR) ? NULL
                                                          : prev->hosts;
    }

    if (conf->hosts != NULL
        && ngx_http_integrations_coupang_check_hosts(cf, conf->hosts)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->sign && (conf->key == NULL || conf->access_key.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_sign\" requires \"coupang_access_key\" "
                           "and \"coupang_secret_key_file\"");
        return NGX_CONF_ERROR;
    }

    /*
     * The proxy module's merge has run (it is listed before this one), so
     * a limit_except block has its location's proxy_pass by now.
     */

    plcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_proxy_module);

    if (conf->sign && plcf->proxy_lengths != NULL && conf->hosts == NULL) {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_sign\" in location \"%V\" would sign "
                           "for a host that \"proxy_pass\" takes from "
                           "variables, which the client may choose: name the "
                           "host or an upstream in \"proxy_pass\", or list "
                           "the hosts allowed with \"coupang_sign_hosts\"",
                           &clcf->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_integrations_coupang_credentials(ngx_conf_t *cf,
    ngx_str_t *access_key, integrations_cea_key_t **key)
{
    ngx_http_integrations_coupang_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf,
                                        ngx_http_integrations_coupang_module);

    if (clcf->access_key.len == 0 || clcf->key == NGX_CONF_UNSET_PTR
        || clcf->key == NULL)
    {
        *key = NULL;
        return NGX_DECLINED;
    }

    *access_key = clcf->access_key;
    *key = clcf->key;

    return NGX_OK;
}
