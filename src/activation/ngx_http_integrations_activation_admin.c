/*
 * The activation admin API (issue 12): staff's view of the orders and
 * their links.
 *
 *     location /admin/ {
 *         allow 10.0.0.0/8;
 *         deny  all;
 *         activation_admin key_file=/etc/nginx/secrets/admin.keys;
 *     }
 *
 *     GET  .../orders[?state=&since=&until=&limit=&after=&format=]
 *     GET  .../orders.csv[?...]                 the same, as CSV
 *     GET  .../orders/{order_id}                boxes, units, history
 *     POST .../orders/{order_id}/resend         new links, old ones revoked
 *     POST .../orders/{order_id}/revoke         every unit revoked
 *
 * A request must present one of the key file's keys ("Authorization:
 * Bearer KEY" or "X-Api-Key: KEY"); they are compared as SHA-256 digests
 * with CRYPTO_memcmp, every key every time.  nginx's allow/deny (ACCESS)
 * run before.  Errors are problem+json naming the field; the store down
 * is 503 with Retry-After.  Requests and answers are read and written by
 * the core (integrations_activation_admin.h); the store's operations are
 * ACT_LIST, ACT_ORDER, ACT_REVOKE and ACT_RESEND.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "integrations_activation.h"
#include "integrations_activation_admin.h"
#include "ngx_http_integrations_coupang.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_secret.h"
#include "ngx_http_integrations_store.h"


#define NGX_HTTP_ACT_ADMIN_MAX_BODY   4096
#define NGX_HTTP_ACT_ADMIN_KEY_HASH   32


typedef struct {
    ngx_array_t                      *keys;     /* SHA-256 digests */
    ngx_msec_t                        ttl;      /* a resent link's life */
} ngx_http_integrations_act_admin_loc_conf_t;


typedef struct {
    ngx_http_request_t                *request;
    integrations_act_admin_route_e     route;
    ngx_str_t                          order_id;
    integrations_act_admin_query_t     query;
    integrations_act_admin_action_t    action;

    /* a resend whose boxes need new messages: its answer, kept meanwhile */
    integrations_store_act_change_result_t  res;
    integrations_store_act_unit_t     *units;
} ngx_http_integrations_act_admin_ctx_t;


static ngx_int_t ngx_http_integrations_act_admin_handler(
    ngx_http_request_t *r);
static int ngx_http_integrations_act_admin_authorized(
    ngx_http_request_t *r, ngx_http_integrations_act_admin_loc_conf_t *conf);
static ngx_int_t ngx_http_integrations_act_admin_unauthorized(
    ngx_http_request_t *r);
static ngx_table_elt_t *ngx_http_integrations_act_admin_header(
    ngx_http_request_t *r, const char *name, size_t len);
static void ngx_http_integrations_act_admin_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_act_admin_post(
    ngx_http_integrations_act_admin_ctx_t *ctx);
static void ngx_http_integrations_act_admin_done(
    ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_integrations_act_admin_changed(
    ngx_http_integrations_act_admin_ctx_t *ctx,
    integrations_store_act_change_result_t *res, int resend);
static ngx_int_t ngx_http_integrations_act_admin_fresh(
    ngx_http_integrations_act_admin_ctx_t *ctx,
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_act_admin_queued(
    ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_integrations_act_admin_to(ngx_http_request_t *r,
    const char *field, const char *why);
static ngx_int_t ngx_http_integrations_act_admin_send(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, u_char *data, size_t len);
static ngx_int_t ngx_http_integrations_act_admin_bad(ngx_http_request_t *r,
    const char *field, const char *why);
static char *ngx_http_integrations_act_admin(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_integrations_act_admin_key(const char *key, size_t len,
    void *data);
static void *ngx_http_integrations_act_admin_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_integrations_act_admin_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


static ngx_command_t  ngx_http_integrations_act_admin_commands[] = {

    { ngx_string("activation_admin"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_integrations_act_admin,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_activation_admin_module_ctx = {
    NULL,                                          /* preconfiguration */
    NULL,                                          /* postconfiguration */

    NULL,                                          /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    ngx_http_integrations_act_admin_create_loc_conf, /* create location conf */
    ngx_http_integrations_act_admin_merge_loc_conf   /* merge location conf */
};


ngx_module_t  ngx_http_integrations_activation_admin_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_activation_admin_module_ctx, /* module context */
    ngx_http_integrations_act_admin_commands,      /* module directives */
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


static ngx_int_t
ngx_http_integrations_act_admin_handler(ngx_http_request_t *r)
{
    int                                          post;
    char                                         err[256];
    size_t                                       id_len;
    ngx_int_t                                    rc;
    const char                                  *id, *field;
    ngx_http_integrations_act_admin_ctx_t       *ctx;
    ngx_http_integrations_act_admin_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r,
                                ngx_http_integrations_activation_admin_module);

    if (!ngx_http_integrations_act_admin_authorized(r, conf)) {
        return ngx_http_integrations_act_admin_unauthorized(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_integrations_act_admin_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ngx_http_set_ctx(r, ctx, ngx_http_integrations_activation_admin_module);

    ctx->route = integrations_act_admin_route((const char *) r->uri.data,
                                              r->uri.len, &id, &id_len,
                                              &post);

    if (ctx->route == INTEGRATIONS_ACT_ADMIN_NONE) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_integrations_problem(r, NGX_HTTP_NOT_FOUND,
                                             "not_found",
                                             "No such admin endpoint", NULL);
    }

    if ((post && r->method != NGX_HTTP_POST)
        || (!post && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))))
    {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_integrations_problem(r, NGX_HTTP_NOT_ALLOWED,
                                             "method_not_allowed",
                                             post ? "Use POST" : "Use GET",
                                             NULL);
    }

    if (id) {
        ctx->order_id.data = (u_char *) id;
        ctx->order_id.len = id_len;
    }

    if (!post) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ctx->route == INTEGRATIONS_ACT_ADMIN_LIST
            || ctx->route == INTEGRATIONS_ACT_ADMIN_CSV)
        {
            if (integrations_act_admin_query((const char *) r->args.data,
                    r->args.len, ctx->route == INTEGRATIONS_ACT_ADMIN_CSV,
                    &ctx->query, &field, err, sizeof(err))
                != 0)
            {
                return ngx_http_integrations_act_admin_bad(r, field, err);
            }
        }

        r->main->count++;

        rc = ngx_http_integrations_act_admin_post(ctx);

        if (rc != NGX_DONE) {
            r->main->count--;
        }

        return rc;
    }

    if (r->headers_in.content_length_n > NGX_HTTP_ACT_ADMIN_MAX_BODY) {
        return ngx_http_integrations_problem(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body_too_large",
                                        "Request body too large", NULL);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                       ngx_http_integrations_act_admin_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* 1 when a key of the file is presented */

static int
ngx_http_integrations_act_admin_authorized(ngx_http_request_t *r,
    ngx_http_integrations_act_admin_loc_conf_t *conf)
{
    int                 match;
    size_t              klen;
    u_char             *digest;
    ngx_uint_t          i;
    const char         *key;
    ngx_table_elt_t    *h;
    unsigned char       md[NGX_HTTP_ACT_ADMIN_KEY_HASH];
    unsigned int        mdlen;

    key = NULL;
    klen = 0;

    h = ngx_http_integrations_act_admin_header(r, "Authorization",
                                               sizeof("Authorization") - 1);
    if (h != NULL) {
        if (integrations_act_admin_bearer((const char *) h->value.data,
                                          h->value.len, &key, &klen)
            != 0)
        {
            key = NULL;
        }

    } else {
        h = ngx_http_integrations_act_admin_header(r, "X-Api-Key",
                                                   sizeof("X-Api-Key") - 1);
        if (h != NULL && h->value.len) {
            key = (const char *) h->value.data;
            klen = h->value.len;
        }
    }

    if (key == NULL
        || EVP_Digest(key, klen, md, &mdlen, EVP_sha256(), NULL) != 1)
    {
        return 0;
    }

    digest = conf->keys->elts;
    match = 0;

    /* every key, every time: the time says nothing about which */

    for (i = 0; i < conf->keys->nelts; i++) {
        match |= (CRYPTO_memcmp(md, digest + i * NGX_HTTP_ACT_ADMIN_KEY_HASH,
                                NGX_HTTP_ACT_ADMIN_KEY_HASH)
                  == 0);
    }

    OPENSSL_cleanse(md, sizeof(md));

    return match;
}


static ngx_int_t
ngx_http_integrations_act_admin_unauthorized(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;
    ngx_str_t         d = ngx_string("a key of activation_admin's key_file "
                                     "is needed: \"Authorization: Bearer "
                                     "KEY\" or \"X-Api-Key: KEY\"");

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    ngx_str_set(&h->value, "Bearer realm=\"activation_admin\"");
    r->headers_out.www_authenticate = h;

    return ngx_http_integrations_problem(r, NGX_HTTP_UNAUTHORIZED,
                                         "unauthorized",
                                         "A valid key is needed", &d);
}


static ngx_table_elt_t *
ngx_http_integrations_act_admin_header(ngx_http_request_t *r,
    const char *name, size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


static void
ngx_http_integrations_act_admin_body(ngx_http_request_t *r)
{
    char                                    err[256];
    size_t                                  len;
    u_char                                 *body, *p;
    ngx_int_t                               rc;
    ngx_buf_t                              *b;
    ngx_chain_t                            *cl;
    const char                             *field;
    ngx_http_integrations_act_admin_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r,
                                ngx_http_integrations_activation_admin_module);

    len = 0;

    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        b = cl->buf;

        if (b->in_file && !ngx_buf_in_memory(b)) {
            rc = ngx_http_integrations_problem(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body_too_large",
                                        "Request body too large", NULL);
            ngx_http_finalize_request(r, rc);
            return;
        }

        len += b->last - b->pos;
    }

    if (len > NGX_HTTP_ACT_ADMIN_MAX_BODY) {
        rc = ngx_http_integrations_problem(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body_too_large",
                                        "Request body too large", NULL);
        ngx_http_finalize_request(r, rc);
        return;
    }

    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = body;

    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    if (integrations_act_admin_action((const char *) body, len,
                                      ctx->route
                                      == INTEGRATIONS_ACT_ADMIN_RESEND,
                                      &ctx->action, &field, err, sizeof(err))
        != 0)
    {
        if (ngx_strcmp(field, "to") == 0 || ngx_strcmp(field, "contact") == 0)
        {
            rc = ngx_http_integrations_act_admin_to(r, field, err);

        } else {
            rc = ngx_http_integrations_act_admin_bad(r, field, err);
        }

        ngx_http_finalize_request(r, rc);
        return;
    }

    /* a contact no channel of activation_message carries: nothing minted */

    if (ctx->action.contact.kind != INTEGRATIONS_ACT_CONTACT_NONE
        && !ngx_http_integrations_coupang_reachable(r,
                                                    ctx->action.contact.kind))
    {
        rc = ngx_http_integrations_act_admin_to(r, "to",
                 ctx->action.contact.kind == INTEGRATIONS_ACT_CONTACT_EMAIL
                 ? "is an email address, and activation_message names no "
                   "email channel"
                 : "is a phone number, and activation_message names no "
                   "channel for one");
        ngx_http_finalize_request(r, rc);
        return;
    }

    rc = ngx_http_integrations_act_admin_post(ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* the store's operation for the route; NGX_DONE: done() answers */

static ngx_int_t
ngx_http_integrations_act_admin_post(
    ngx_http_integrations_act_admin_ctx_t *ctx)
{
    ngx_http_request_t                          *r;
    integrations_store_kind_e                    kind;
    integrations_store_act_list_t               *list;
    integrations_store_act_order_t              *order;
    ngx_http_integrations_store_op_t            *op;
    ngx_http_integrations_act_admin_loc_conf_t  *conf;

    r = ctx->request;

    conf = ngx_http_get_module_loc_conf(r,
                                ngx_http_integrations_activation_admin_module);

    switch (ctx->route) {
    case INTEGRATIONS_ACT_ADMIN_LIST:
    case INTEGRATIONS_ACT_ADMIN_CSV:
        kind = INTEGRATIONS_STORE_OP_ACT_LIST;
        break;
    case INTEGRATIONS_ACT_ADMIN_ORDER:
        kind = INTEGRATIONS_STORE_OP_ACT_ORDER;
        break;
    case INTEGRATIONS_ACT_ADMIN_REVOKE:
        kind = INTEGRATIONS_STORE_OP_ACT_REVOKE;
        break;
    default:
        kind = INTEGRATIONS_STORE_OP_ACT_RESEND;
    }

    op = ngx_http_integrations_store_op(kind, 0);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the request's memory outlives the operation */

    if (kind == INTEGRATIONS_STORE_OP_ACT_LIST) {
        list = &op->core.in.act_list;
        list->states = ctx->query.states;
        list->since = ctx->query.since;
        list->until = ctx->query.until;
        list->limit = ctx->query.limit;
        list->after = ctx->query.after;
        list->after_at = ctx->query.after_at;
        list->after_id.data = (u_char *) ctx->query.after_id;
        list->after_id.len = ctx->query.after_id_len;

    } else {
        order = &op->core.in.act_order;
        order->order_id.data = ctx->order_id.data;
        order->order_id.len = ctx->order_id.len;
        order->reason.data = (u_char *) ctx->action.reason;
        order->reason.len = ctx->action.reason_len;
        order->contact_kind = ctx->action.contact.kind;
        order->contact.data = (u_char *) ctx->action.contact.value;
        order->contact.len = ctx->action.contact.len;
        order->ttl_ms = (int64_t) conf->ttl;
    }

    op->done = ngx_http_integrations_act_admin_done;
    op->data = ctx;

    if (ngx_http_integrations_store_post(op, r) != NGX_OK) {
        return ngx_http_integrations_store_unavailable(r);
    }

    return NGX_DONE;
}


static void
ngx_http_integrations_act_admin_done(ngx_http_integrations_store_op_t *op)
{
    int                                     found;
    char                                    next[64], *out;
    size_t                                  len;
    ngx_int_t                               rc;
    ngx_table_elt_t                        *h;
    ngx_http_request_t                     *r;
    integrations_store_act_json_t          *j;
    ngx_http_integrations_act_admin_ctx_t  *ctx;

    ctx = op->data;
    r = ctx->request;

    if (op->core.kind == INTEGRATIONS_STORE_OP_ACT_RESEND
        && op->core.rc == INTEGRATIONS_STORE_OK
        && op->core.out.act_change.units)
    {
        /* what the messages need is taken first; the tokens go here */
        rc = op->abandoned ? NGX_DONE
                           : ngx_http_integrations_act_admin_fresh(ctx, op);

        OPENSSL_cleanse(op->core.out.act_change.units,
                        op->core.out.act_change.n
                        * sizeof(integrations_store_act_unit_t));

        if (op->abandoned || rc == NGX_DONE) {
            return;                         /* queued() answers */
        }

        ngx_http_finalize_request(r, rc);
        return;
    }

    if (op->abandoned) {
        return;
    }

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "activation admin: %s: %s",
                      integrations_store_kind_name(op->core.kind),
                      integrations_store_rc_name(op->core.rc));

        rc = ngx_http_integrations_store_unavailable(r);
        ngx_http_finalize_request(r, rc);
        return;
    }

    j = &op->core.out.act_json;

    switch (op->core.kind) {

    case INTEGRATIONS_STORE_OP_ACT_LIST:
        out = integrations_act_admin_list((const char *) j->rows.data,
                                          j->rows.len, ctx->query.limit,
                                          ctx->query.csv, next, &len);
        if (out == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        if (ctx->query.csv && next[0]) {
            h = ngx_list_push(&r->headers_out.headers);
            if (h == NULL) {
                free(out);
                rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                break;
            }

            h->hash = 1;
            ngx_str_set(&h->key, "X-Next-Cursor");
            h->value.len = ngx_strlen(next);
            h->value.data = ngx_pnalloc(r->pool, h->value.len);
            if (h->value.data == NULL) {
                free(out);
                rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                break;
            }
            ngx_memcpy(h->value.data, next, h->value.len);
        }

        rc = ngx_http_integrations_act_admin_send(r, NGX_HTTP_OK,
                 ctx->query.csv ? "text/csv; charset=utf-8"
                                : "application/json",
                 (u_char *) out, len);
        free(out);
        break;

    case INTEGRATIONS_STORE_OP_ACT_ORDER:
        out = integrations_act_admin_order((const char *) ctx->order_id.data,
                                           ctx->order_id.len,
                                           (const char *) j->boxes.data,
                                           j->boxes.len,
                                           (const char *) j->units.data,
                                           j->units.len,
                                           (const char *) j->events.data,
                                           j->events.len, &found, &len);
        if (out == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        if (!found) {
            free(out);
            rc = ngx_http_integrations_problem(r, NGX_HTTP_NOT_FOUND,
                                               "order_not_found",
                                               "No such order", NULL);
            break;
        }

        rc = ngx_http_integrations_act_admin_send(r, NGX_HTTP_OK,
                                                  "application/json",
                                                  (u_char *) out, len);
        free(out);
        break;

    default:
        rc = ngx_http_integrations_act_admin_changed(ctx,
                 &op->core.out.act_change,
                 op->core.kind == INTEGRATIONS_STORE_OP_ACT_RESEND);
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * A resend's boxes that had no message to renew (no_contact at ingest, or
 * a contact given of another kind than their message's channel) get one
 * now, prepared by the order sync's own path
 * (ngx_http_integrations_coupang_message(): the same channel, template
 * and AlimTalk-to-SMS fallback, or email) with the new links, and queued
 * by ACT_QUEUE.  NGX_DONE: queued() answers; otherwise the answer's
 * status, sent.
 */

static ngx_int_t
ngx_http_integrations_act_admin_fresh(
    ngx_http_integrations_act_admin_ctx_t *ctx,
    ngx_http_integrations_store_op_t *op)
{
    char                           mask[INTEGRATIONS_ACT_ADMIN_MASK_LEN];
    size_t                                  i, j, k, nb, nitems, mlen;
    int64_t                                 expires;
    ngx_int_t                               rc;
    ngx_str_t                               box;
    ngx_http_request_t                     *r;
    integrations_act_contact_t             *c;
    integrations_act_msg_link_t            *links;
    integrations_notify_problem_t           problem;
    integrations_store_act_unit_t          *u;
    integrations_store_act_queue_box_t     *boxes;
    integrations_store_outbox_item_t       *items;
    ngx_http_integrations_store_op_t       *qop;
    integrations_store_act_change_result_t *res;
    ngx_http_integrations_act_admin_loc_conf_t  *conf;

    r = ctx->request;
    res = &op->core.out.act_change;

    conf = ngx_http_get_module_loc_conf(r,
                                ngx_http_integrations_activation_admin_module);

    for (i = 0; i < res->n; i++) {
        if (res->units[i].fresh) {
            break;
        }
    }

    if (i == res->n) {
        return ngx_http_integrations_act_admin_changed(ctx, res, 1);
    }

    /* the answer outlives op: kept without the tokens */

    ctx->res = *res;
    ctx->units = ngx_pnalloc(r->pool,
                             res->n * sizeof(integrations_store_act_unit_t));
    links = ngx_pcalloc(r->pool, res->n * sizeof(integrations_act_msg_link_t));
    boxes = ngx_pcalloc(r->pool,
                        res->n * sizeof(integrations_store_act_queue_box_t));

    if (ctx->units == NULL || links == NULL || boxes == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->units, res->units,
               res->n * sizeof(integrations_store_act_unit_t));
    ctx->res.units = ctx->units;

    expires = (int64_t) ngx_time() * 1000 + (int64_t) conf->ttl;
    nb = 0;

    /* units come by box: each box's fresh ones are one message */

    for (i = 0; i < res->n; i = j) {
        u = &res->units[i];

        for (j = i + 1; j < res->n; j++) {
            if (ngx_strcmp(res->units[j].shipment_box_id, u->shipment_box_id)
                != 0)
            {
                break;
            }
        }

        k = 0;

        for ( /* void */ ; i < j; i++) {
            if (!res->units[i].fresh) {
                continue;
            }

            u = &res->units[i];
            links[k].product = u->item_name;
            links[k].product_len = ngx_strlen(u->item_name);
            links[k].url = u->token;
            links[k].url_len = INTEGRATIONS_ACT_TOKEN_LEN;
            links[k].unit = (unsigned) u->unit;
            links[k].units = (unsigned) u->units;
            k++;
        }

        if (k == 0) {
            continue;
        }

        /* in the pool: the prepared items may point into it */

        c = ngx_pcalloc(r->pool, sizeof(integrations_act_contact_t));
        if (c == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        c->kind = (integrations_act_contact_kind_e) u->contact_kind;
        c->len = ngx_strlen(u->contact);
        ngx_memcpy(c->value, u->contact, c->len);

        box.data = (u_char *) u->shipment_box_id;
        box.len = ngx_strlen(u->shipment_box_id);

        items = NULL;
        nitems = 0;

        rc = ngx_http_integrations_coupang_message(r, r->pool, &box, c,
                                                   links, k, expires, &items,
                                                   &nitems, &problem);

        mlen = integrations_act_mask_contact(c, mask, sizeof(mask));

        if (rc != NGX_OK || nitems == 0) {
            /* the contact masked: a log is no place for it */
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "activation admin: resend order %V box %V: no "
                          "message to %*s (%s)", &ctx->order_id, &box, mlen,
                          mask, rc == NGX_ERROR ? "no memory"
                                : problem.field[0] ? problem.field
                                : "no channel");
            continue;
        }

        boxes[nb].vendor_id.data = (u_char *) ctx->res.vendor_id;
        boxes[nb].vendor_id.len = ngx_strlen(ctx->res.vendor_id);
        boxes[nb].shipment_box_id.data = box.data;
        boxes[nb].shipment_box_id.len = box.len;
        boxes[nb].items = items;
        boxes[nb].n = nitems;
        boxes[nb].results = ngx_pcalloc(r->pool, nitems
                                  * sizeof(integrations_store_outbox_result_t));
        if (boxes[nb].results == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* the box id stays, in the kept copy */
        boxes[nb].shipment_box_id.data =
                            (u_char *) ctx->units[j - 1].shipment_box_id;
        nb++;
    }

    for (i = 0; i < res->n; i++) {
        OPENSSL_cleanse(ctx->units[i].token, sizeof(ctx->units[i].token));
        OPENSSL_cleanse(ctx->units[i].contact, sizeof(ctx->units[i].contact));
    }

    if (nb == 0) {
        return ngx_http_integrations_act_admin_changed(ctx, &ctx->res, 1);
    }

    qop = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_ACT_QUEUE, 0);
    if (qop == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    qop->core.in.act_queue.boxes = boxes;
    qop->core.in.act_queue.n = nb;
    qop->done = ngx_http_integrations_act_admin_queued;
    qop->data = ctx;

    if (ngx_http_integrations_store_post(qop, r) != NGX_OK) {
        return ngx_http_integrations_store_unavailable(r);
    }

    return NGX_DONE;
}


static void
ngx_http_integrations_act_admin_queued(ngx_http_integrations_store_op_t *op)
{
    size_t                                  n;
    ngx_int_t                               rc;
    ngx_str_t                               d;
    ngx_http_request_t                     *r;
    ngx_http_integrations_act_admin_ctx_t  *ctx;

    ctx = op->data;
    r = ctx->request;

    if (op->abandoned) {
        return;
    }

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "activation admin: resend order %V: act_queue: %s",
                      &ctx->order_id, integrations_store_rc_name(op->core.rc));

        ngx_str_set(&d, "the new links are minted and the old ones revoked, "
                        "but their message is not queued: resend again");

        (void) ngx_http_integrations_retry_after(r, 1);
        rc = ngx_http_integrations_problem(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "store_unavailable",
                                           "Store unavailable", &d);
        ngx_http_finalize_request(r, rc);
        return;
    }

    n = (size_t) op->core.out.changed;

    if (n > ctx->res.unqueued) {
        n = ctx->res.unqueued;
    }

    ctx->res.queued += n;
    ctx->res.unqueued -= n;

    rc = ngx_http_integrations_act_admin_changed(ctx, &ctx->res, 1);
    ngx_http_finalize_request(r, rc);
}


/*
 * The answer to revoke and resend:
 *   {"order_id", "changed": n, "unchanged": n, "no_contact": n,
 *    "units": [{"shipment_box_id", "vendor_item_id", "unit", "was",
 *               "state"}], "message": "queued" | "not_queued"}
 * 404 for an order that does not exist, 409 when no unit could change.
 * A resend's new links go to the buyer in one message (never in this
 * answer).
 */

static ngx_int_t
ngx_http_integrations_act_admin_changed(
    ngx_http_integrations_act_admin_ctx_t *ctx,
    integrations_store_act_change_result_t *res, int resend)
{
    u_char                                  *p, *out;
    size_t                                   i, len;
    ngx_str_t                                d;
    ngx_http_request_t                      *r;
    integrations_store_act_unit_t           *u;

    r = ctx->request;

    if (!res->found) {
        return ngx_http_integrations_problem(r, NGX_HTTP_NOT_FOUND,
                                             "order_not_found",
                                             "No such order", NULL);
    }

    if (res->changed == 0) {
        if (res->no_contact) {
            /* nothing minted: the old links stand */
            return ngx_http_integrations_act_admin_to(r, "to",
                                         "is needed: the order has no "
                                         "contact to send a link to");
        }

        if (resend) {
            ngx_str_set(&d, "every unit of the order is redeemed (or it has "
                            "none): there is no link to resend");
        } else {
            ngx_str_set(&d, "every unit of the order is revoked already (or "
                            "it has none)");
        }

        return ngx_http_integrations_problem(r, NGX_HTTP_CONFLICT,
                                             "nothing_to_change",
                                             resend ? "Nothing to resend"
                                                    : "Nothing to revoke",
                                             &d);
    }

    len = sizeof("{\"order_id\":\"\",\"changed\":,\"unchanged\":,"
                 "\"no_contact\":,\"units\":[],\"message\":"
                 "\"partly_queued\",\"messages_queued\":,"
                 "\"messages_unqueued\":}")
          + ctx->order_id.len + 5 * NGX_SIZE_T_LEN
          + res->n * (sizeof("{\"shipment_box_id\":\"\",\"vendor_item_id\":"
                             "\"\",\"unit\":,\"was\":\"\",\"state\":\"\"},")
                      + 2 * INTEGRATIONS_STORE_ACT_ID_LEN + NGX_INT64_LEN
                      + 2 * sizeof("no_contact"));

    out = ngx_pnalloc(r->pool, len);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(out, "{\"order_id\":\"%V\",\"changed\":%uz,"
                    "\"unchanged\":%uz,\"no_contact\":%uz,\"units\":[",
                    &ctx->order_id, res->changed, res->refused,
                    res->no_contact);

    for (i = 0; i < res->n; i++) {
        u = &res->units[i];

        p = ngx_sprintf(p, "%s{\"shipment_box_id\":\"%s\","
                        "\"vendor_item_id\":\"%s\",\"unit\":%L,"
                        "\"was\":\"%s\",\"state\":\"%s\"}",
                        i ? "," : "", u->shipment_box_id, u->vendor_item_id,
                        u->unit,
                        integrations_act_state_name(
                            (integrations_act_state_e) u->was_state),
                        integrations_act_state_name(
                            (integrations_act_state_e) u->state));
    }

    /*
     * A resend queues each box's last buyer message again with the new
     * links (in the store's transaction); a box that never had one, or a
     * new contact another channel must carry, leaves its links waiting.
     */

    p = ngx_sprintf(p, "],\"message\":\"%s\"",
                    !resend ? "none"
                    : res->unqueued == 0 ? "queued"
                    : res->queued ? "partly_queued" : "not_queued");

    if (resend) {
        p = ngx_sprintf(p, ",\"messages_queued\":%uz,"
                        "\"messages_unqueued\":%uz", res->queued,
                        res->unqueued);
    }

    *p++ = '}';

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "activation admin: %s order %V: %uz unit(s) changed, %uz "
                  "unchanged", resend ? "resend" : "revoke", &ctx->order_id,
                  res->changed, res->refused);

    return ngx_http_integrations_act_admin_send(r, NGX_HTTP_OK,
                                                "application/json", out,
                                                p - out);
}


static ngx_int_t
ngx_http_integrations_act_admin_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, u_char *data, size_t len)
{
    ngx_buf_t    *b;
    ngx_int_t     rc;
    ngx_chain_t   out;

    b = ngx_create_temp_buf(r->pool, len ? len : 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, data, len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
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
ngx_http_integrations_act_admin_bad(ngx_http_request_t *r, const char *field,
    const char *why)
{
    ngx_str_t  d;

    d.len = ngx_strlen(field) + ngx_strlen(why) + 4;
    d.data = ngx_pnalloc(r->pool, d.len);
    if (d.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (field[0]) {
        d.len = ngx_sprintf(d.data, "\"%s\" %s", field, why) - d.data;
    } else {
        d.len = ngx_sprintf(d.data, "%s", why) - d.data;
    }

    return ngx_http_integrations_problem(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request", "Invalid request",
                                         &d);
}


/* 422 problem+json naming the member: a recipient no channel can reach */

static ngx_int_t
ngx_http_integrations_act_admin_to(ngx_http_request_t *r, const char *field,
    const char *why)
{
    ngx_str_t  d;

    d.len = ngx_strlen(field) + ngx_strlen(why) + 4;
    d.data = ngx_pnalloc(r->pool, d.len);
    if (d.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    d.len = ngx_sprintf(d.data, "\"%s\" %s", field, why) - d.data;

    return ngx_http_integrations_problem_field(r, 422, "unreachable_buyer",
                                               "No way to reach the buyer",
                                               field, &d);
}


/* ---- configuration ----------------------------------------------------- */

static char *
ngx_http_integrations_act_admin(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_act_admin_loc_conf_t  *alcf = conf;

    char                       err[128];
    ngx_str_t                 *value, path, secret;
    ngx_http_core_loc_conf_t  *clcf;

    if (alcf->keys != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strncmp(value[1].data, "key_file=", 9) != 0
        || value[1].len == 9)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_admin\" invalid parameter \"%V\" "
                           "(key_file=PATH is needed)", &value[1]);
        return NGX_CONF_ERROR;
    }

    path.data = value[1].data + 9;
    path.len = value[1].len - 9;

    if (ngx_http_integrations_secret_read(cf, &cmd->name, &path, &secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    alcf->keys = ngx_array_create(cf->pool, 2, NGX_HTTP_ACT_ADMIN_KEY_HASH);
    if (alcf->keys == NULL) {
        return NGX_CONF_ERROR;
    }

    if (integrations_act_admin_keys((const char *) secret.data, secret.len,
                                    ngx_http_integrations_act_admin_key,
                                    alcf->keys, err, sizeof(err))
        < 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_admin\" key_file \"%V\": %s", &path,
                           err);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_integrations_act_admin_handler;

    return NGX_CONF_OK;
}


/* a key of the file, kept as its SHA-256 only */

static void
ngx_http_integrations_act_admin_key(const char *key, size_t len, void *data)
{
    ngx_array_t   *keys = data;
    u_char        *d;
    unsigned int   n;

    d = ngx_array_push(keys);
    if (d == NULL) {
        return;
    }

    if (EVP_Digest(key, len, d, &n, EVP_sha256(), NULL) != 1) {
        keys->nelts--;
    }
}


static void *
ngx_http_integrations_act_admin_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_act_admin_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_act_admin_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->keys = NGX_CONF_UNSET_PTR;
    conf->ttl = NGX_CONF_UNSET_MSEC;

    return conf;
}


static char *
ngx_http_integrations_act_admin_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_integrations_act_admin_loc_conf_t  *prev = parent;
    ngx_http_integrations_act_admin_loc_conf_t  *conf = child;

    if (conf->keys != NGX_CONF_UNSET_PTR && conf->keys != prev->keys
        && !ngx_http_integrations_store_enabled(cf))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_admin\" requires "
                           "\"integrations_store\"");
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_ptr_value(conf->keys, prev->keys, NULL);

    /* a resent link lives as a first one (activation_ttl's default) */
    ngx_conf_merge_msec_value(conf->ttl, prev->ttl,
                              (ngx_msec_t) INTEGRATIONS_ACT_TTL_DEFAULT
                              * 1000);

    return NGX_CONF_OK;
}
