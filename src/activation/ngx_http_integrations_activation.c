/*
 * The buyer's side of an activation link (issue 12).
 *
 *     activation_grant     https://seller.example/grants
 *                          secret_file=keys/grant attempts=3 timeout=5s
 *                          circuit_breaker=seller;
 *     activation_redirect  solve://activate secret_file=keys/claim ttl=5m;
 *
 *     location /a/ {
 *         activation_api;
 *     }
 *
 *     GET  /a/{token}   the page of the link (Korean; English by
 *                       Accept-Language); changes nothing: link previewers
 *                       and mail scanners fetch every GET
 *     POST /a/{token}   redeems: the store's ACT_REDEEM decides, in one
 *                       statement, which of any number of concurrent
 *                       POSTs wins; the winner's grant call goes to the
 *                       seller (Standard Webhooks, retried), then 303 to
 *                       activation_redirect with a short-lived claim; a
 *                       grant that fails for good shows "we are on it"
 *                       and alerts the staff
 *
 * The grant runs on its own once the redeem is won: a buyer who closes
 * the page does not stop it (its pool is its own; the request, while it
 * waits, only listens for the outcome).  Its outcome goes to the store
 * (ACT_GRANT_FINISH, fenced by the attempt's owner) with no request.
 *
 * The rules (which page, which transition, the call's body and signature,
 * the claim) are the core's: integrations_activation.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>

#include "integrations_activation.h"
#include "integrations_recipient.h"
#include "integrations_store_db.h"
#include "ngx_http_integrations_activation.h"
#include "ngx_http_integrations_notify.h"
#include "ngx_http_integrations_outbound.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_secret.h"
#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_store.h"


#define NGX_HTTP_ACT_RETRY_AFTER     2          /* s: the store is down */
#define NGX_HTTP_ACT_BACKOFF         250        /* ms, doubled per retry */
#define NGX_HTTP_ACT_BACKOFF_MAX     2000       /* ms */
#define NGX_HTTP_ACT_SEE_OTHER       303
#define NGX_HTTP_ACT_SWEEP           2000       /* ms: the sweeper's tick */
#define NGX_HTTP_ACT_SWEEP_BATCH     16         /* grants a tick at most */


/* the sweeper of lapsed grants: one worker per node, under a lease */
typedef struct {
    ngx_event_t                      tick;
    ngx_uint_t                       busy;        /* a step in flight */
    ngx_uint_t                       taken;       /* this tick */
    u_char                           lease[128];
    size_t                           lease_len;
    u_char                           holder[128];
    size_t                           holder_len;
} ngx_http_integrations_act_sweep_t;


typedef struct {
    ngx_http_integrations_act_endpoint_t  grant;
    ngx_flag_t                       api;         /* an activation_api */
    ngx_msec_t                       store_timeout;

    ngx_str_t                        redirect;        /* empty: none */
    integrations_act_claim_key_t    *claim_key;
    time_t                           claim_ttl;

    ngx_http_integrations_status_counter_t  *redeems;
    ngx_http_integrations_status_counter_t  *refused;
    ngx_http_integrations_status_counter_t  *granted;
    ngx_http_integrations_status_counter_t  *grant_retries;
    ngx_http_integrations_status_counter_t  *grant_failed;
    ngx_http_integrations_status_counter_t  *grant_refused;
    ngx_http_integrations_status_counter_t  *grant_deferred;
    ngx_http_integrations_status_counter_t  *unavailable;
} ngx_http_integrations_act_main_conf_t;


typedef struct {
    ngx_flag_t                       enable;
} ngx_http_integrations_act_loc_conf_t;


typedef struct ngx_http_integrations_act_grant_s
    ngx_http_integrations_act_grant_t;


/* a buyer's request */
typedef struct {
    ngx_http_request_t                  *request;
    ngx_http_integrations_act_grant_t   *grant;      /* POST, once won */
    integrations_act_lang_e              lang;
    u_char                               hash[INTEGRATIONS_ACT_HASH_HEX_LEN];
} ngx_http_integrations_act_ctx_t;


/* a grant call, with its retries: lives in its own pool */
struct ngx_http_integrations_act_grant_s {
    ngx_pool_t                          *pool;
    ngx_log_t                           *log;
    ngx_http_integrations_act_ctx_t     *ctx;        /* NULL: client gone */
    ngx_http_integrations_act_main_conf_t  *amcf;
    ngx_event_t                          retry;
    ngx_str_t                            request_id;
    ngx_str_t                            body;
    ngx_uint_t                           attempt;
    ngx_uint_t                           last_status;
    ngx_uint_t                           refused;   /* the last attempt:
                                                       by the limits */
    ngx_msec_t                           refused_wait;
    int64_t                              owner;
    int64_t                              at;
    integrations_store_act_link_t        link;
    integrations_act_contact_t           contact;
    integrations_act_call_t              call;
    char                                 msg_id[INTEGRATIONS_ACT_MSG_ID_LEN];
    ngx_http_integrations_outbound_req_t  *req;
};


static ngx_int_t ngx_http_integrations_act_handler(ngx_http_request_t *r);
static void ngx_http_integrations_act_looked_up(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_act_redeemed(
    ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_integrations_act_grant_start(
    ngx_http_integrations_act_ctx_t *ctx, integrations_store_act_link_t *l,
    int64_t owner);
static ngx_int_t ngx_http_integrations_act_grant_call(
    ngx_http_integrations_act_grant_t *g);
static void ngx_http_integrations_act_grant_done(
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_integrations_act_grant_retry(ngx_event_t *ev);
static void ngx_http_integrations_act_grant_end(
    ngx_http_integrations_act_grant_t *g, ngx_uint_t granted);
static void ngx_http_integrations_act_grant_stored(
    ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_integrations_act_redirect(ngx_http_request_t *r,
    ngx_http_integrations_act_grant_t *g);
static ngx_int_t ngx_http_integrations_act_page(ngx_http_request_t *r,
    integrations_act_page_e page, integrations_act_lang_e lang,
    integrations_act_page_input_t *in);
static ngx_int_t ngx_http_integrations_act_link_page(ngx_http_request_t *r,
    ngx_http_integrations_act_ctx_t *ctx, integrations_store_act_link_t *l,
    int from_post);
static ngx_int_t ngx_http_integrations_act_header(ngx_http_request_t *r,
    const char *name, const char *value, size_t len);
static integrations_act_lang_e ngx_http_integrations_act_lang(
    ngx_http_request_t *r);
static void ngx_http_integrations_act_cleanup(void *data);
static void ngx_http_integrations_act_alert(ngx_log_t *log,
    ngx_http_integrations_act_grant_t *g, const char *why);
static char *ngx_http_integrations_act_api(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_act_grant_conf(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_act_redirect_conf(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_integrations_act_url_check(ngx_conf_t *cf,
    ngx_str_t *name, ngx_str_t *url);
static void ngx_http_integrations_act_free_signer(void *data);
static void ngx_http_integrations_act_free_claim_key(void *data);
static ngx_int_t ngx_http_integrations_act_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_integrations_act_init_process(ngx_cycle_t *cycle);
static void ngx_http_integrations_act_sweep_tick(ngx_event_t *ev);
static void ngx_http_integrations_act_sweep_leased(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_act_sweep_step(void);
static void ngx_http_integrations_act_sweep_taken(
    ngx_http_integrations_store_op_t *op);
static void *ngx_http_integrations_act_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_integrations_act_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_integrations_act_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


static ngx_command_t  ngx_http_integrations_act_commands[] = {

    { ngx_string("activation_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_integrations_act_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("activation_grant"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_integrations_act_grant_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("activation_redirect"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_integrations_act_redirect_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_activation_module_ctx = {
    NULL,                                          /* preconfiguration */
    ngx_http_integrations_act_init,                /* postconfiguration */

    ngx_http_integrations_act_create_main_conf,    /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    ngx_http_integrations_act_create_loc_conf,     /* create location conf */
    ngx_http_integrations_act_merge_loc_conf       /* merge location conf */
};


ngx_module_t  ngx_http_integrations_activation_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_activation_module_ctx,  /* module context */
    ngx_http_integrations_act_commands,            /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    NULL,                                          /* init module */
    ngx_http_integrations_act_init_process,        /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    NULL,                                          /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_integrations_act_sweep_t  ngx_http_integrations_act_sweep;


/*
 * A grant's longest life: every attempt, every pause, and the store twice
 * (the take before, the outcome after), at integrations_store's timeout
 */

static int64_t
ngx_http_integrations_act_lock_ms(ngx_http_integrations_act_main_conf_t *amcf)
{
    return (int64_t) (amcf->grant.attempts
                      * (amcf->grant.timeout + NGX_HTTP_ACT_BACKOFF_MAX)
                      + 2 * amcf->store_timeout);
}


/* ---- the request ------------------------------------------------------- */

static ngx_int_t
ngx_http_integrations_act_handler(ngx_http_request_t *r)
{
    size_t                                  i, prefix;
    ngx_int_t                               rc;
    const char                             *token;
    ngx_pool_cleanup_t                     *cln;
    integrations_store_act_token_t         *in;
    ngx_http_integrations_act_ctx_t        *ctx;
    ngx_http_integrations_store_op_t       *op;
    ngx_http_integrations_act_main_conf_t  *amcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        if (ngx_http_integrations_act_header(r, "Allow", "GET, HEAD, POST",
                                             sizeof("GET, HEAD, POST") - 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_integrations_problem(r, NGX_HTTP_NOT_ALLOWED,
                                             "method_not_allowed",
                                             "Method not allowed", NULL);
    }

    /* a form's POST carries nothing this needs */

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    amcf = ngx_http_get_module_main_conf(r,
                                      ngx_http_integrations_activation_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_integrations_act_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->lang = ngx_http_integrations_act_lang(r);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_integrations_act_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_integrations_activation_module);

    /* the token is the last segment, whatever the location's prefix */

    for (i = r->uri.len; i > 0 && r->uri.data[i - 1] != '/'; i--) {
        /* void */
    }

    prefix = i;

    if (prefix == 0
        || integrations_act_path_token((const char *) r->uri.data,
                                       r->uri.len,
                                       (const char *) r->uri.data, prefix,
                                       &token)
           != 0)
    {
        /* not a token at all: nothing to ask the store */
        return ngx_http_integrations_act_page(r, INTEGRATIONS_ACT_PAGE_UNKNOWN,
                                              ctx->lang, NULL);
    }

    integrations_act_token_hash_hex(token, INTEGRATIONS_ACT_TOKEN_LEN,
                                    (char *) ctx->hash);

    op = ngx_http_integrations_store_op(
             r->method == NGX_HTTP_POST ? INTEGRATIONS_STORE_OP_ACT_REDEEM
                                        : INTEGRATIONS_STORE_OP_ACT_LOOKUP,
             0);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    in = &op->core.in.act_token;
    in->token_hash.data = ctx->hash;
    in->token_hash.len = INTEGRATIONS_ACT_HASH_HEX_LEN;

    if (r->method == NGX_HTTP_POST) {
        in->owner = ngx_http_integrations_store_token();

        in->lock_ms = ngx_http_integrations_act_lock_ms(amcf);
        op->done = ngx_http_integrations_act_redeemed;

    } else {
        op->done = ngx_http_integrations_act_looked_up;
    }

    op->data = ctx;

    if (ngx_http_integrations_store_post(op, r) != NGX_OK) {
        ngx_http_integrations_status_increment(amcf->unavailable);
        return ngx_http_integrations_act_page(r,
                                         INTEGRATIONS_ACT_PAGE_UNAVAILABLE,
                                         ctx->lang, NULL);
    }

    /* the request waits for the store; done() finalizes it */

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;

    rc = NGX_DONE;

    return rc;
}


static void
ngx_http_integrations_act_looked_up(ngx_http_integrations_store_op_t *op)
{
    ngx_int_t                               rc;
    ngx_http_request_t                     *r;
    ngx_http_integrations_act_ctx_t        *ctx;
    ngx_http_integrations_act_main_conf_t  *amcf;

    if (op->abandoned) {
        return;
    }

    ctx = op->data;
    r = ctx->request;

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        amcf = ngx_http_get_module_main_conf(r,
                                      ngx_http_integrations_activation_module);
        ngx_http_integrations_status_increment(amcf->unavailable);

        rc = ngx_http_integrations_act_page(r,
                                         INTEGRATIONS_ACT_PAGE_UNAVAILABLE,
                                         ctx->lang, NULL);
        ngx_http_finalize_request(r, rc);
        return;
    }

    rc = ngx_http_integrations_act_link_page(r, ctx, &op->core.out.act_link,
                                             0);

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_integrations_act_redeemed(ngx_http_integrations_store_op_t *op)
{
    ngx_int_t                               rc;
    ngx_log_t                              *log;
    ngx_http_request_t                     *r;
    integrations_store_act_link_t          *l;
    ngx_http_integrations_act_ctx_t        *ctx;
    ngx_http_integrations_act_main_conf_t  *amcf;

    ctx = op->data;
    r = ctx->request;
    l = &op->core.out.act_link;

    amcf = ngx_http_get_module_main_conf(r,
                                      ngx_http_integrations_activation_module);

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        if (op->abandoned) {
            return;
        }

        ngx_http_integrations_status_increment(amcf->unavailable);

        rc = ngx_http_integrations_act_page(r,
                                         INTEGRATIONS_ACT_PAGE_UNAVAILABLE,
                                         ctx->lang, NULL);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (!l->won) {
        if (op->abandoned) {
            return;
        }

        ngx_http_integrations_status_increment(amcf->refused);

        rc = ngx_http_integrations_act_link_page(r, ctx, l, 1);
        ngx_http_finalize_request(r, rc);
        return;
    }

    /*
     * Won: the grant is this attempt's, whether or not the buyer is still
     * there to see it (the request is being torn down when abandoned).
     */

    ngx_http_integrations_status_increment(amcf->redeems);

    log = op->abandoned ? ngx_cycle->log : r->connection->log;

    if (l->retaken) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "activation: order %s item %s unit %L: the grant of "
                      "an attempt that ended without an outcome is made "
                      "again", l->order_id, l->vendor_item_id, l->unit);
    }

    if (ngx_http_integrations_act_grant_start(op->abandoned ? NULL : ctx, l,
                                              op->core.in.act_token.owner)
        != NGX_OK)
    {
        /* the unit stays pending: the next POST after its lock takes it */

        if (op->abandoned) {
            return;
        }

        rc = ngx_http_integrations_act_page(r, INTEGRATIONS_ACT_PAGE_ON_IT,
                                            ctx->lang, NULL);
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* the request waits for the grant, listening for its client only */
}


/* ---- the grant call ---------------------------------------------------- */

static ngx_int_t
ngx_http_integrations_act_grant_start(ngx_http_integrations_act_ctx_t *ctx,
    integrations_store_act_link_t *l, int64_t owner)
{
    char                                   *body;
    size_t                                  len;
    ngx_pool_t                             *pool;
    ngx_variable_value_t                   *vv;
    ngx_http_request_t                     *r;
    ngx_http_integrations_act_grant_t      *g;
    ngx_http_integrations_act_main_conf_t  *amcf;

    static ngx_str_t  request_id = ngx_string("request_id");

    amcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                      ngx_http_integrations_activation_module);

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    g = ngx_pcalloc(pool, sizeof(ngx_http_integrations_act_grant_t));
    if (g == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    g->pool = pool;
    g->log = ngx_cycle->log;
    g->amcf = amcf;
    g->owner = owner;
    g->link = *l;
    g->at = (int64_t) ngx_time();

    if (ctx) {
        r = ctx->request;

        vv = ngx_http_get_variable(r, &request_id,
                                   ngx_hash_key(request_id.data,
                                                request_id.len));
        if (vv && !vv->not_found && vv->len) {
            g->request_id.data = ngx_pnalloc(pool, vv->len);
            if (g->request_id.data) {
                ngx_memcpy(g->request_id.data, vv->data, vv->len);
                g->request_id.len = vv->len;
            }
        }
    }

    /* the body is the same on every attempt; only the signature moves */

    g->contact.kind = (integrations_act_contact_kind_e) l->contact_kind;
    g->contact.len = ngx_strlen(l->contact);
    ngx_memcpy(g->contact.value, l->contact, g->contact.len + 1);

    g->call.order_id = g->link.order_id;
    g->call.order_id_len = ngx_strlen(g->link.order_id);
    g->call.shipment_box_id = g->link.shipment_box_id;
    g->call.shipment_box_id_len = ngx_strlen(g->link.shipment_box_id);
    g->call.vendor_item_id = g->link.vendor_item_id;
    g->call.vendor_item_id_len = ngx_strlen(g->link.vendor_item_id);
    g->call.product_code = g->link.product_code;
    g->call.product_code_len = ngx_strlen(g->link.product_code);
    g->call.unit = (unsigned) g->link.unit;
    g->call.units = (unsigned) g->link.units;
    g->call.contact = (g->contact.kind != INTEGRATIONS_ACT_CONTACT_NONE)
                      ? &g->contact : NULL;
    g->call.at = g->at;

    integrations_act_msg_id(INTEGRATIONS_ACT_CALL_GRANT, g->call.order_id,
                            g->call.order_id_len, g->call.vendor_item_id,
                            g->call.vendor_item_id_len, g->call.unit,
                            g->msg_id);

    body = integrations_act_call_body(INTEGRATIONS_ACT_CALL_GRANT, &g->call,
                                      &len);
    if (body == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    g->body.data = ngx_pnalloc(pool, len);
    if (g->body.data == NULL) {
        OPENSSL_cleanse(body, len);
        free(body);
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ngx_memcpy(g->body.data, body, len);
    g->body.len = len;

    /* it names the buyer's contact */
    OPENSSL_cleanse(body, len);
    free(body);

    g->retry.handler = ngx_http_integrations_act_grant_retry;
    g->retry.data = g;
    g->retry.log = g->log;

    /*
     * The buyer is waiting before the first call: a refusal by the limits
     * ends an attempt at once, and with it perhaps the grant.
     */

    if (ctx) {
        g->ctx = ctx;
        ctx->grant = g;
    }

    if (ngx_http_integrations_act_grant_call(g) != NGX_OK) {
        if (ctx) {
            ctx->grant = NULL;
        }

        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    /* g may be gone: an outcome already came */

    return NGX_OK;
}


/* the owner of the REDEEM is kept for the finish: see act_redeemed */

static ngx_int_t
ngx_http_integrations_act_grant_call(ngx_http_integrations_act_grant_t *g)
{
    u_char                                 *p;
    ngx_str_t                               v;
    char                                    sig[INTEGRATIONS_ACT_SIGNATURE_LEN];
    u_char                                  ts[NGX_INT64_LEN];
    time_t                                  now;
    ngx_int_t                               rc;
    ngx_http_integrations_outbound_req_t   *req;
    ngx_http_integrations_act_main_conf_t  *amcf;

    amcf = g->amcf;

    req = ngx_pcalloc(g->pool, sizeof(ngx_http_integrations_outbound_req_t));
    if (req == NULL) {
        return NGX_ERROR;
    }

    g->attempt++;
    now = ngx_time();

    ngx_str_set(&req->provider, "activation_grant");
    ngx_str_set(&req->method, "POST");
    req->url = amcf->grant.url;
    req->body = g->body;
    req->timeout = amcf->grant.timeout;
    req->pool = g->pool;
    req->log = g->log;
    req->request_id = g->request_id;
    req->limits = &amcf->grant.limits;
    req->done = ngx_http_integrations_act_grant_done;
    req->data = g;

    /* Standard Webhooks: the same id on every attempt, signed anew */

    integrations_act_sign(amcf->grant.signer, g->msg_id, INTEGRATIONS_ACT_MSG_ID_LEN,
                          (int64_t) now, (const char *) g->body.data,
                          g->body.len, sig);

    ngx_str_set(&v, "application/json");
    if (ngx_http_integrations_outbound_add_header(req, g->pool,
                                                  "Content-Type", &v)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    v.data = (u_char *) g->msg_id;
    v.len = INTEGRATIONS_ACT_MSG_ID_LEN;
    if (ngx_http_integrations_outbound_add_header(req, g->pool, "webhook-id",
                                                  &v)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_sprintf(ts, "%T", now);
    v.data = ts;
    v.len = p - ts;
    if (ngx_http_integrations_outbound_add_header(req, g->pool,
                                                  "webhook-timestamp", &v)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    v.data = (u_char *) sig;
    v.len = INTEGRATIONS_ACT_SIGNATURE_LEN;
    if (ngx_http_integrations_outbound_add_header(req, g->pool,
                                                  "webhook-signature", &v)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    g->req = req;

    rc = ngx_http_integrations_outbound_call(req, NULL);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_BUSY || rc == NGX_DECLINED) {
        /* refused by the limits: done() sees error REFUSED, as it would */
        req->error = NGX_HTTP_INTEGRATIONS_OUTBOUND_REFUSED;
        req->status = 0;
        g->req = NULL;
        ngx_http_integrations_act_grant_done(req);
        return NGX_OK;
    }

    g->req = NULL;

    return NGX_ERROR;
}


static void
ngx_http_integrations_act_grant_done(ngx_http_integrations_outbound_req_t *req)
{
    ngx_msec_t                              delay;
    integrations_act_grant_e                outcome;
    ngx_http_integrations_act_grant_t      *g;

    g = req->data;
    g->req = NULL;
    g->last_status = req->status;

    /*
     * Refused by the grant endpoint's rate_limit or open breaker: the
     * seller was not asked, so it is an attempt that got no answer, never
     * a refusal for good (see grant_end).
     */

    g->refused = (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_REFUSED);
    g->refused_wait = g->refused ? req->refused_wait : 0;

    if (g->refused) {
        ngx_http_integrations_status_increment(g->amcf->grant_refused);
        ngx_log_error(NGX_LOG_NOTICE, g->log, 0,
                      "activation: the grant for order %s was not sent: "
                      "refused by activation_grant's %s", g->link.order_id,
                      req->refused == NGX_DECLINED ? "circuit_breaker"
                                                   : "rate_limit");
    }

    outcome = integrations_act_grant_outcome((unsigned) req->status);

    if (outcome == INTEGRATIONS_ACT_GRANT_OK) {
        ngx_http_integrations_act_grant_end(g, 1);
        return;
    }

    if (outcome == INTEGRATIONS_ACT_GRANT_RETRY
        && g->attempt < g->amcf->grant.attempts)
    {
        delay = NGX_HTTP_ACT_BACKOFF << (g->attempt - 1);

        /* a refusal says when the limits may admit it; within reason */
        delay = ngx_max(delay, g->refused_wait);

        if (delay > NGX_HTTP_ACT_BACKOFF_MAX) {
            delay = NGX_HTTP_ACT_BACKOFF_MAX;
        }

        ngx_log_error(NGX_LOG_INFO, g->log, 0,
                      "activation: the grant for order %s got %ui, "
                      "attempt %ui of %ui; again in %M ms",
                      g->link.order_id, req->status, g->attempt,
                      g->amcf->grant.attempts, delay);

        ngx_http_integrations_status_increment(g->amcf->grant_retries);

        /* not cancelable: a worker that exits finishes the grant first */
        ngx_add_timer(&g->retry, delay);
        return;
    }

    ngx_http_integrations_act_grant_end(g, 0);
}


static void
ngx_http_integrations_act_grant_retry(ngx_event_t *ev)
{
    ngx_http_integrations_act_grant_t  *g;

    g = ev->data;

    if (ngx_http_integrations_act_grant_call(g) != NGX_OK) {
        ngx_http_integrations_act_grant_end(g, 0);
    }
}


/*
 * The outcome: to the store (with no request: it outlives the buyer),
 * then to the buyer if still there.  The pool goes when the store has
 * it.
 */

static void
ngx_http_integrations_act_grant_end(ngx_http_integrations_act_grant_t *g,
    ngx_uint_t granted)
{
    u_char                             detail[64], *p;
    int64_t                            retry_at;
    ngx_int_t                          rc;
    ngx_http_request_t                *r;
    integrations_store_act_grant_t    *in;
    ngx_http_integrations_act_ctx_t   *ctx;
    ngx_http_integrations_store_op_t  *op;

    retry_at = 0;

    if (!granted && g->refused) {

        /*
         * The last attempt was refused by the endpoint's own limits: the
         * seller has not said no, so nothing is lost.  The unit stays
         * pending under this attempt's lock, and the sweeper sends it
         * again when the lock lapses.  The limits said when they may
         * admit it (an open breaker: its retry time): the lock is made to
         * lapse then (ACT_GRANT_FINISH with retry_at, no outcome), not
         * after the grant's whole life.  The buyer sees what a seller
         * that is down shows.
         */

        ngx_http_integrations_status_increment(g->amcf->grant_deferred);

        if (g->refused_wait == 0) {
            ngx_log_error(NGX_LOG_WARN, g->log, 0,
                          "activation: the grant of order %s item %s unit "
                          "%L stays pending after %ui attempt(s) refused by "
                          "activation_grant's limits; it is sent again "
                          "when its lock lapses", g->link.order_id,
                          g->link.vendor_item_id, g->link.unit, g->attempt);
            op = NULL;
            goto buyer;
        }

        ngx_log_error(NGX_LOG_WARN, g->log, 0,
                      "activation: the grant of order %s item %s unit %L "
                      "stays pending after %ui attempt(s) refused by "
                      "activation_grant's limits; it is sent again in "
                      "%M ms", g->link.order_id, g->link.vendor_item_id,
                      g->link.unit, g->attempt, g->refused_wait);

        retry_at = integrations_store_wall_clock()
                   + (int64_t) g->refused_wait;

    } else if (granted) {
        ngx_http_integrations_status_increment(g->amcf->granted);

    } else {
        ngx_http_integrations_status_increment(g->amcf->grant_failed);
        ngx_http_integrations_act_alert(g->log, g,
                                        g->last_status
                                        ? "the seller's grant endpoint "
                                          "refused it"
                                        : "the seller's grant endpoint did "
                                          "not answer");
    }

    if (g->last_status) {
        p = ngx_snprintf(detail, sizeof(detail), "HTTP %ui after %ui "
                         "attempt(s)", g->last_status, g->attempt);
    } else {
        p = ngx_snprintf(detail, sizeof(detail), "no answer after %ui "
                         "attempt(s)", g->attempt);
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_ACT_GRANT_FINISH,
             sizeof(g->link.vendor_id) + sizeof(g->link.shipment_box_id)
             + sizeof(g->link.vendor_item_id) + sizeof(detail));

    if (op != NULL) {
        in = &op->core.in.act_grant;

        if (ngx_http_integrations_store_copy(op, &in->vendor_id,
                (u_char *) g->link.vendor_id, ngx_strlen(g->link.vendor_id))
            != NGX_OK
            || ngx_http_integrations_store_copy(op, &in->shipment_box_id,
                (u_char *) g->link.shipment_box_id,
                ngx_strlen(g->link.shipment_box_id))
            != NGX_OK
            || ngx_http_integrations_store_copy(op, &in->vendor_item_id,
                (u_char *) g->link.vendor_item_id,
                ngx_strlen(g->link.vendor_item_id))
            != NGX_OK
            || ngx_http_integrations_store_copy(op, &in->detail, detail,
                                                p - detail)
            != NGX_OK)
        {
            ngx_http_integrations_store_free(op);
            op = NULL;

        } else {
            in->unit = g->link.unit;
            in->owner = g->owner;
            in->granted = granted ? 1 : 0;
            in->attempts = (int64_t) g->attempt;
            in->retry_at = retry_at;

            op->done = ngx_http_integrations_act_grant_stored;
            op->data = NULL;

            if (ngx_http_integrations_store_post(op, NULL) != NGX_OK) {
                op = NULL;
            }
        }
    }

    if (op == NULL) {
        ngx_log_error(NGX_LOG_WARN, g->log, 0,
                      "activation: the grant outcome of order %s could not "
                      "be stored; its unit stays pending until its lock "
                      "lapses", g->link.order_id);
    }

buyer:

    ctx = g->ctx;

    if (ctx) {
        r = ctx->request;
        ctx->grant = NULL;
        g->ctx = NULL;

        if (granted) {
            rc = ngx_http_integrations_act_redirect(r, g);

        } else {
            rc = ngx_http_integrations_act_page(r, INTEGRATIONS_ACT_PAGE_ON_IT,
                                                ctx->lang, NULL);
        }

        ngx_http_finalize_request(r, rc);
    }

    ngx_destroy_pool(g->pool);
}


static void
ngx_http_integrations_act_grant_stored(ngx_http_integrations_store_op_t *op)
{
    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "activation: the grant outcome could not be stored: "
                      "%s; its unit stays pending until its lock lapses",
                      integrations_store_rc_name(op->core.rc));
        return;
    }

    if (op->core.out.act_grant.call_revoke) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "activation: a unit was revoked while its grant ran; "
                      "activation_revoke is due for it");
    }
}


/* 303 to activation_redirect with the claim, or the "done" page */

static ngx_int_t
ngx_http_integrations_act_redirect(ngx_http_request_t *r,
    ngx_http_integrations_act_grant_t *g)
{
    char                                   *jws;
    long                                    n;
    size_t                                  len;
    u_char                                 *url;
    ngx_http_integrations_act_ctx_t        *ctx;
    ngx_http_integrations_act_main_conf_t  *amcf;

    amcf = g->amcf;
    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_activation_module);

    if (amcf->redirect.len == 0) {
        return ngx_http_integrations_act_page(r, INTEGRATIONS_ACT_PAGE_DONE,
                                              ctx->lang, NULL);
    }

    jws = integrations_act_claim(amcf->claim_key, &g->call, g->msg_id,
                                 INTEGRATIONS_ACT_MSG_ID_LEN,
                                 (int64_t) ngx_time(),
                                 (int64_t) amcf->claim_ttl, &len);
    if (jws == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    url = ngx_pnalloc(r->pool, amcf->redirect.len + len + 16);
    if (url == NULL) {
        free(jws);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = integrations_act_redirect_url((const char *) amcf->redirect.data,
                                      amcf->redirect.len, jws, len,
                                      (char *) url,
                                      amcf->redirect.len + len + 16);
    free(jws);

    if (n < 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_integrations_act_header(r, "Location", (char *) url,
                                         (size_t) n)
        != NGX_OK
        || ngx_http_integrations_act_header(r, "Cache-Control", "no-store",
                                            sizeof("no-store") - 1)
           != NGX_OK
        || ngx_http_integrations_act_header(r, "Referrer-Policy",
                                            "no-referrer",
                                            sizeof("no-referrer") - 1)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_ACT_SEE_OTHER;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* ---- pages ------------------------------------------------------------- */

static ngx_int_t
ngx_http_integrations_act_link_page(ngx_http_request_t *r,
    ngx_http_integrations_act_ctx_t *ctx, integrations_store_act_link_t *l,
    int from_post)
{
    integrations_act_page_e        page;
    integrations_act_page_input_t  in;

    page = integrations_act_link_verdict(l->found, l->revoked, l->used,
                                         l->grant_state
                                         == INTEGRATIONS_STORE_GRANT_FAILED,
                                         (integrations_act_state_e) l->state,
                                         l->expires_at / 1000,
                                         (int64_t) ngx_time());

    ngx_memzero(&in, sizeof(integrations_act_page_input_t));

    if (l->found && page != INTEGRATIONS_ACT_PAGE_UNKNOWN) {
        in.product = l->item_name;
        in.product_len = ngx_strlen(l->item_name);
    }

    if (page == INTEGRATIONS_ACT_PAGE_READY) {
        in.action = (const char *) r->uri.data;
        in.action_len = r->uri.len;
        in.expires_at = l->expires_at / 1000;
    }

    (void) from_post;

    return ngx_http_integrations_act_page(r, page, ctx->lang, &in);
}


static ngx_int_t
ngx_http_integrations_act_page(ngx_http_request_t *r,
    integrations_act_page_e page, integrations_act_lang_e lang,
    integrations_act_page_input_t *in)
{
    char                           *html;
    size_t                          len;
    ngx_buf_t                      *b;
    ngx_int_t                       rc;
    ngx_chain_t                     out;
    integrations_act_page_input_t   none;

    if (in == NULL) {
        ngx_memzero(&none, sizeof(integrations_act_page_input_t));
        in = &none;
    }

    html = integrations_act_page(page, lang, in, &len);
    if (html == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        free(html);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, html, len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    free(html);

    if (page == INTEGRATIONS_ACT_PAGE_UNAVAILABLE
        && ngx_http_integrations_retry_after(r, NGX_HTTP_ACT_RETRY_AFTER)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_integrations_act_header(r, "Content-Security-Policy",
                                         INTEGRATIONS_ACT_PAGE_CSP,
                                         sizeof(INTEGRATIONS_ACT_PAGE_CSP) - 1)
        != NGX_OK
        || ngx_http_integrations_act_header(r, "Cache-Control", "no-store",
                                            sizeof("no-store") - 1)
           != NGX_OK
        || ngx_http_integrations_act_header(r, "Referrer-Policy",
                                            "no-referrer",
                                            sizeof("no-referrer") - 1)
           != NGX_OK
        || ngx_http_integrations_act_header(r, "X-Robots-Tag", "noindex",
                                            sizeof("noindex") - 1)
           != NGX_OK
        || ngx_http_integrations_act_header(r, "X-Content-Type-Options",
                                            "nosniff", sizeof("nosniff") - 1)
           != NGX_OK
        || ngx_http_integrations_act_header(r, "Content-Language",
                                            lang == INTEGRATIONS_ACT_EN
                                            ? "en" : "ko", 2)
           != NGX_OK
        || ngx_http_integrations_act_header(r, "Vary", "Accept-Language",
                                            sizeof("Accept-Language") - 1)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = integrations_act_page_status(page);
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/html") - 1;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_integrations_act_header(ngx_http_request_t *r, const char *name,
    const char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);

    h->value.data = ngx_pnalloc(r->pool, len);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(h->value.data, value, len);
    h->value.len = len;

    return NGX_OK;
}


static integrations_act_lang_e
ngx_http_integrations_act_lang(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Accept-Language") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Accept-Language",
                               sizeof("Accept-Language") - 1) == 0)
        {
            return integrations_act_language((const char *) h[i].value.data,
                                             h[i].value.len);
        }
    }

    return INTEGRATIONS_ACT_KO;
}


/* the buyer went away: a grant in flight goes on without them */

static void
ngx_http_integrations_act_cleanup(void *data)
{
    ngx_http_integrations_act_ctx_t  *ctx = data;

    if (ctx->grant) {
        ctx->grant->ctx = NULL;
        ctx->grant = NULL;
    }
}


/*
 * Staff hear of a grant that failed for good, through notify_alert (and
 * the error log); the buyer is masked.
 */

static void
ngx_http_integrations_act_alert(ngx_log_t *log,
    ngx_http_integrations_act_grant_t *g, const char *why)
{
    u_char     text[1024], *p;
    char       masked[INTEGRATIONS_STORE_ACT_CONTACT_LEN];
    ngx_int_t  rc;

    masked[0] = '\0';

    if (g->contact.kind != INTEGRATIONS_ACT_CONTACT_NONE) {
        (void) integrations_act_mask_contact(&g->contact, masked,
                                             sizeof(masked));
    }

    p = ngx_snprintf(text, sizeof(text),
                     "activation alert: the grant of order %s, item %s, "
                     "unit %L (buyer %s) failed for good: %s; the buyer was "
                     "told that staff follow up", g->link.order_id,
                     g->link.vendor_item_id, g->link.unit,
                     masked[0] ? masked : "without a contact", why);

    ngx_log_error(NGX_LOG_WARN, log, 0, "%*s", p - text, text);

    rc = ngx_http_integrations_notify_alert(text + sizeof("activation "
                                                          "alert: ") - 1,
                                            p - text
                                            - (sizeof("activation alert: ")
                                               - 1));

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "activation: the alert could not be queued (the "
                      "store is down); the line above stands for it");
    }
}


/* ---- the sweeper of lapsed grants ---------------------------------------- */

/*
 * A grant stays pending when its worker died mid-grant (kill -9, a
 * crash) or the grant endpoint's limits refused its last attempt.  Every
 * NGX_HTTP_ACT_SWEEP ms each worker asks for the store lease
 * "activation_grants:HOST" (the node's); its holder takes the lapsed
 * grants one at a time (ACT_GRANT_SWEEP: the same conditional UPDATE as
 * a retaking redeem, so one sweeper of one node wins each, and a grant
 * is taken again only after its new attempt's lock lapses too) and sends
 * each as a won redeem does, with no buyer waiting.
 */

static void
ngx_http_integrations_act_sweep_tick(ngx_event_t *ev)
{
    ngx_http_integrations_store_op_t   *op;
    ngx_http_integrations_act_sweep_t  *sw;

    sw = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_ACT_SWEEP);

    if (sw->busy) {
        return;
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_LEASE_ACQUIRE,
                                        sw->lease_len + sw->holder_len);
    if (op == NULL) {
        return;
    }

    (void) ngx_http_integrations_store_copy(op, &op->core.in.lease.name,
                                            sw->lease, sw->lease_len);
    (void) ngx_http_integrations_store_copy(op, &op->core.in.lease.holder,
                                            sw->holder, sw->holder_len);
    op->core.in.lease.ttl_ms = 3 * NGX_HTTP_ACT_SWEEP;
    op->done = ngx_http_integrations_act_sweep_leased;

    if (ngx_http_integrations_store_post(op, NULL) == NGX_OK) {
        sw->busy = 1;
    }
}


static void
ngx_http_integrations_act_sweep_leased(ngx_http_integrations_store_op_t *op)
{
    ngx_http_integrations_act_sweep_t  *sw;

    sw = &ngx_http_integrations_act_sweep;
    sw->busy = 0;

    if (op->core.rc != INTEGRATIONS_STORE_OK || !op->core.out.lease.acquired)
    {
        return;
    }

    sw->taken = 0;

    ngx_http_integrations_act_sweep_step();
}


static void
ngx_http_integrations_act_sweep_step(void)
{
    ngx_http_integrations_store_op_t       *op;
    ngx_http_integrations_act_sweep_t      *sw;
    ngx_http_integrations_act_main_conf_t  *amcf;

    sw = &ngx_http_integrations_act_sweep;

    if (ngx_exiting || sw->taken >= NGX_HTTP_ACT_SWEEP_BATCH) {
        return;
    }

    amcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                      ngx_http_integrations_activation_module);

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_ACT_GRANT_SWEEP,
                                        0);
    if (op == NULL) {
        return;
    }

    op->core.in.act_token.owner = ngx_http_integrations_store_token();
    op->core.in.act_token.lock_ms = ngx_http_integrations_act_lock_ms(amcf);
    op->done = ngx_http_integrations_act_sweep_taken;

    if (ngx_http_integrations_store_post(op, NULL) == NGX_OK) {
        sw->busy = 1;
    }
}


static void
ngx_http_integrations_act_sweep_taken(ngx_http_integrations_store_op_t *op)
{
    integrations_store_act_link_t      *l;
    ngx_http_integrations_act_sweep_t  *sw;

    sw = &ngx_http_integrations_act_sweep;
    sw->busy = 0;
    l = &op->core.out.act_link;

    if (op->core.rc != INTEGRATIONS_STORE_OK || !l->won) {
        return;
    }

    sw->taken++;

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "activation: order %s item %s unit %L: a pending grant "
                  "whose attempt ended without an outcome is sent again by "
                  "the sweeper", l->order_id, l->vendor_item_id, l->unit);

    if (ngx_http_integrations_act_grant_start(NULL, l,
                                              op->core.in.act_token.owner)
        != NGX_OK)
    {
        /* it stays pending: taken again when this lock lapses */
        OPENSSL_cleanse(l->contact, sizeof(l->contact));
        return;
    }

    OPENSSL_cleanse(l->contact, sizeof(l->contact));

    ngx_http_integrations_act_sweep_step();
}


static ngx_int_t
ngx_http_integrations_act_init_process(ngx_cycle_t *cycle)
{
    ngx_http_integrations_act_sweep_t      *sw;
    ngx_http_integrations_act_main_conf_t  *amcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    amcf = ngx_http_cycle_get_module_main_conf(cycle,
                                      ngx_http_integrations_activation_module);

    if (amcf == NULL || amcf->grant.url.data == NULL || !amcf->api) {
        return NGX_OK;
    }

    sw = &ngx_http_integrations_act_sweep;
    ngx_memzero(sw, sizeof(ngx_http_integrations_act_sweep_t));

    sw->lease_len = ngx_snprintf(sw->lease, sizeof(sw->lease),
                                 "activation_grants:%V", &cycle->hostname)
                    - sw->lease;
    sw->holder_len = ngx_snprintf(sw->holder, sizeof(sw->holder), "%V:%P",
                                  &cycle->hostname, ngx_pid)
                     - sw->holder;

    sw->tick.handler = ngx_http_integrations_act_sweep_tick;
    sw->tick.data = sw;
    sw->tick.log = cycle->log;
    sw->tick.cancelable = 1;

    /* workers start apart: the first one to ask gets the lease */
    ngx_add_timer(&sw->tick, 500 + ngx_random() % 1000);

    return NGX_OK;
}


/* ---- configuration ----------------------------------------------------- */

static char *
ngx_http_integrations_act_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_integrations_act_loc_conf_t  *alcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (alcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    alcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_integrations_act_handler;

    return NGX_CONF_OK;
}


/* activation_grant URL secret_file=PATH [timeout=5s] [attempts=3] ... */

static char *
ngx_http_integrations_act_grant_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_act_main_conf_t  *amcf = conf;

    return ngx_http_integrations_act_endpoint_conf(cf, cmd, &amcf->grant);
}


void
ngx_http_integrations_act_endpoint_init(
    ngx_http_integrations_act_endpoint_t *ep, ngx_msec_t timeout,
    ngx_uint_t attempts)
{
    ep->timeout = timeout;
    ep->attempts = attempts;
    ep->limits.who = "activation";
    integrations_breaker_conf_init(&ep->limits.breaker_conf);
}


char *
ngx_http_integrations_act_endpoint_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_integrations_act_endpoint_t *ep)
{
    char                 err[128];
    const char          *msg;
    ngx_str_t           *value, path, secret, v;
    ngx_int_t            n, rc;
    ngx_uint_t           i, breaker_params;
    ngx_msec_t           ms;
    ngx_pool_cleanup_t  *cln;

    if (ep->url.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_integrations_act_url_check(cf, &cmd->name, &value[1])
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&path);
    breaker_params = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "secret_file=", 12) == 0) {
            path.data = value[i].data + 12;
            path.len = value[i].len - 12;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;
            ms = ngx_parse_time(&v, 0);

            if (ms == (ngx_msec_t) NGX_ERROR || ms < 100 || ms > 60000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" invalid timeout \"%V\" "
                                   "(100ms to 60s)", &cmd->name, &value[i]);
                return NGX_CONF_ERROR;
            }

            ep->timeout = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "attempts=", 9) == 0) {
            n = ngx_atoi(value[i].data + 9, value[i].len - 9);

            if (n < 1 || n > 10) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" invalid attempts \"%V\" "
                                   "(1 to 10)", &cmd->name, &value[i]);
                return NGX_CONF_ERROR;
            }

            ep->attempts = (ngx_uint_t) n;
            continue;
        }

        /* the limits every outbound caller has, keyed by the directive */

        rc = ngx_http_integrations_outbound_limits_param(cf, &value[i],
                                                         &ep->limits);
        if (rc == NGX_ABORT) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DONE) {
            breaker_params = i;
        }

        if (rc == NGX_OK || rc == NGX_DONE) {
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" invalid parameter \"%V\"", &cmd->name,
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" requires \"secret_file=PATH\"",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (breaker_params && ep->limits.breaker == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" parameter \"%V\" needs "
                           "\"circuit_breaker=\"", &cmd->name,
                           &value[breaker_params]);
        return NGX_CONF_ERROR;
    }

    if (ep->limits.breaker) {
        msg = integrations_breaker_conf_check(&ep->limits.breaker_conf);
        if (msg) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" %s", &cmd->name,
                               msg);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_integrations_secret_read(cf, &cmd->name, &path, &secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ep->signer = integrations_act_signer_new((const char *) secret.data,
                                             secret.len, err, sizeof(err));
    if (ep->signer == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" secret_file \"%V\": %s", &cmd->name,
                           &path, err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        integrations_act_signer_free(ep->signer);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_integrations_act_free_signer;
    cln->data = ep->signer;

    ep->url = value[1];
    ep->limits.name = cmd->name;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_integrations_act_endpoint_check(ngx_conf_t *cf,
    ngx_http_integrations_act_endpoint_t *ep)
{
    if (ep->limits.rate_limit && ep->limits.rate_limit->data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": rate_limit_zone \"%V\" is unknown",
                           &ep->limits.name,
                           &ep->limits.rate_limit->shm.name);
        return NGX_ERROR;
    }

    if (ep->limits.breaker && ep->limits.breaker->data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": circuit_breaker_zone \"%V\" is unknown",
                           &ep->limits.name, &ep->limits.breaker->shm.name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* activation_redirect URL secret_file=PATH [ttl=5m] */

static char *
ngx_http_integrations_act_redirect_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_act_main_conf_t  *amcf = conf;

    char                 err[128];
    time_t               ttl;
    ngx_str_t           *value, path, secret, v;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    if (amcf->redirect.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (integrations_act_redirect_check((const char *) value[1].data,
                                        value[1].len, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_redirect\" invalid URL \"%V\": %s",
                           &value[1], err);
        return NGX_CONF_ERROR;
    }

    amcf->redirect = value[1];
    ngx_str_null(&path);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "secret_file=", 12) == 0) {
            path.data = value[i].data + 12;
            path.len = value[i].len - 12;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            v.data = value[i].data + 4;
            v.len = value[i].len - 4;
            ttl = ngx_parse_time(&v, 1);

            if (ttl == (time_t) NGX_ERROR || ttl < 10 || ttl > 3600) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"activation_redirect\" invalid ttl "
                                   "\"%V\" (10s to 1h)", &value[i]);
                return NGX_CONF_ERROR;
            }

            amcf->claim_ttl = ttl;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_redirect\" invalid parameter "
                           "\"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_redirect\" requires "
                           "\"secret_file=PATH\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_integrations_secret_read(cf, &cmd->name, &path, &secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (secret.len < 32) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_redirect\" secret_file \"%V\": the "
                           "claim key must be at least 32 bytes", &path);
        return NGX_CONF_ERROR;
    }

    amcf->claim_key = integrations_act_claim_key_new(secret.data, secret.len);
    if (amcf->claim_key == NULL) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        integrations_act_claim_key_free(amcf->claim_key);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_integrations_act_free_claim_key;
    cln->data = amcf->claim_key;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_integrations_act_url_check(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *url)
{
    ngx_uint_t  i;

    if (!(url->len > 7 && ngx_strncmp(url->data, "http://", 7) == 0)
        && !(url->len > 8 && ngx_strncmp(url->data, "https://", 8) == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" invalid URL \"%V\": an absolute "
                           "http:// or https:// URL is needed", name, url);
        return NGX_ERROR;
    }

    for (i = 0; i < url->len; i++) {
        if (url->data[i] <= 0x20 || url->data[i] >= 0x7f
            || url->data[i] == '"' || url->data[i] == '<'
            || url->data[i] == '>' || url->data[i] == '#')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" invalid URL \"%V\"", name, url);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_integrations_act_free_signer(void *data)
{
    integrations_act_signer_free(data);
}


static void
ngx_http_integrations_act_free_claim_key(void *data)
{
    integrations_act_claim_key_free(data);
}


static ngx_int_t
ngx_http_integrations_act_init(ngx_conf_t *cf)
{
    ngx_http_integrations_act_main_conf_t  *amcf;

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                      ngx_http_integrations_activation_module);

    if (amcf->grant.url.data == NULL) {
        return NGX_OK;
    }

    if (ngx_http_integrations_act_endpoint_check(cf, &amcf->grant)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    amcf->store_timeout = ngx_http_integrations_store_timeout(cf);

    amcf->redeems = ngx_http_integrations_status_add_counter(cf,
                        "integrations_activation_redeems_total",
                        "Links redeemed: POSTs that won their token.");
    amcf->refused = ngx_http_integrations_status_add_counter(cf,
                        "integrations_activation_redeems_refused_total",
                        "POSTs refused by their token's state: used, "
                        "expired, revoked or unknown.");
    amcf->granted = ngx_http_integrations_status_add_counter(cf,
                        "integrations_activation_grants_total",
                        "Grant calls the seller accepted.");
    amcf->grant_retries = ngx_http_integrations_status_add_counter(cf,
                        "integrations_activation_grant_retries_total",
                        "Grant calls made again after no answer, 408, 425, "
                        "429 or 5xx.");
    amcf->grant_failed = ngx_http_integrations_status_add_counter(cf,
                        "integrations_activation_grant_failures_total",
                        "Grants that failed for good (staff alerted).");
    amcf->grant_refused = ngx_http_integrations_status_add_counter(cf,
                        "integrations_activation_grant_refused_total",
                        "Grant attempts not sent: activation_grant's "
                        "rate_limit or circuit_breaker refused them.");
    amcf->grant_deferred = ngx_http_integrations_status_add_counter(cf,
                        "integrations_activation_grants_deferred_total",
                        "Grants left pending because their last attempt "
                        "was refused by the limits; sent again later.");
    amcf->unavailable = ngx_http_integrations_status_add_counter(cf,
                        "integrations_activation_store_unavailable_total",
                        "Buyer requests answered 503: the store was "
                        "unavailable.");

    if (amcf->redeems == NULL || amcf->refused == NULL
        || amcf->granted == NULL || amcf->grant_retries == NULL
        || amcf->grant_failed == NULL || amcf->unavailable == NULL
        || amcf->grant_refused == NULL || amcf->grant_deferred == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void *
ngx_http_integrations_act_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_act_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_act_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    ngx_http_integrations_act_endpoint_init(&amcf->grant, 5000, 3);
    amcf->claim_ttl = 300;

    return amcf;
}


static void *
ngx_http_integrations_act_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_act_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_integrations_act_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_integrations_act_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_integrations_act_loc_conf_t  *conf = child;

    ngx_http_integrations_act_main_conf_t  *amcf;

    (void) parent;

    if (conf->enable != 1) {
        conf->enable = 0;
        return NGX_CONF_OK;
    }

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                      ngx_http_integrations_activation_module);

    if (amcf->grant.url.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_api\" requires \"activation_grant\"");
        return NGX_CONF_ERROR;
    }

    if (!ngx_http_integrations_store_enabled(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_api\" requires "
                           "\"integrations_store\"");
        return NGX_CONF_ERROR;
    }

    amcf->api = 1;

    return NGX_CONF_OK;
}
