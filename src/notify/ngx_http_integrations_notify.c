/*
 * Notifications: directives, the API and the C API.  See
 * ngx_http_integrations_notify.h; the sender and the metrics are in
 * ngx_http_integrations_notify_sender.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>

#include "integrations_notify_outbox.h"
#include "integrations_recipient.h"
#include "integrations_store.h"
#include "ngx_http_integrations_notify.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_store.h"


#define NGX_HTTP_NOTIFY_TEMPLATE_MAX   (64 * 1024 + 4096)
#define NGX_HTTP_NOTIFY_MAX_BODY       (8 * 1024 * 1024)
#define NGX_HTTP_NOTIFY_FOREVER        ((int64_t) 100 * 365 * 86400000)
#define NGX_HTTP_NOTIFY_PURGE_BATCH    500


typedef struct {
    ngx_flag_t                     enable;
    ngx_http_complex_value_t      *scope;
} ngx_http_integrations_notify_loc_conf_t;


/* a request's state */
typedef struct {
    ngx_uint_t                           bulk;
    integrations_notify_request_t        req;
    ngx_uint_t                           parsed:1;
    integrations_store_outbox_item_t    *items;
    integrations_store_outbox_result_t  *results;
    size_t                               n;
    u_char                               scope[INTEGRATIONS_STORE_HASH_LEN
                                               + 1];
    ngx_str_t                            id;         /* GET */
    ngx_queue_t                          queue;      /* in a group */
    ngx_http_request_t                  *request;
    ngx_http_event_handler_pt            write_handler;
} ngx_http_integrations_notify_ctx_t;


/*
 * Group commit: the enqueues of one worker that arrive while its commit is
 * in flight go together in the next transaction, so that a busy worker
 * waits for the disk once per group, not once per request.
 */
typedef struct {
    ngx_queue_t                          waiting;
    ngx_uint_t                           inflight;
    ngx_event_t                          guard;
} ngx_http_integrations_notify_group_t;

typedef struct {
    ngx_uint_t                           n;
    ngx_http_integrations_notify_ctx_t **ctx;
} ngx_http_integrations_notify_grouped_t;

/*
 * One commit in flight per worker: a second would only queue behind the
 * first on the store's writer lock, and every enqueue that joins it waits
 * for two commits instead of one.
 */
#define NGX_HTTP_NOTIFY_GROUPS       1        /* commits in flight */
#define NGX_HTTP_NOTIFY_GROUP_ITEMS  4000


/* an enqueue from the C API: its memory */
typedef struct {
    ngx_pool_t                                *pool;
    integrations_notify_request_t              req;
    ngx_uint_t                                 parsed:1;
    integrations_store_outbox_item_t          *items;
    integrations_store_outbox_result_t        *results;
    size_t                                     n;
    ngx_http_integrations_notify_enqueued_pt   done;
    void                                      *data;
} ngx_http_integrations_notify_job_t;


static ngx_int_t ngx_http_integrations_notify_handler(ngx_http_request_t *r);
static void ngx_http_integrations_notify_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_notify_read_body(
    ngx_http_request_t *r, ngx_str_t *body);
static ngx_int_t ngx_http_integrations_notify_items(ngx_pool_t *pool,
    ngx_http_integrations_notify_main_conf_t *nmcf,
    integrations_notify_request_t *req, u_char *scope,
    integrations_store_outbox_item_t **items, size_t *n);
static void ngx_http_integrations_notify_group_post(void);
static void ngx_http_integrations_notify_grouped(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_notify_wait(ngx_http_request_t *r);
static void ngx_http_integrations_notify_group_guard(ngx_event_t *ev);
static void ngx_http_integrations_notify_answer(ngx_http_request_t *r,
    ngx_http_integrations_notify_ctx_t *ctx, ngx_int_t ok);
static void ngx_http_integrations_notify_respond(ngx_http_request_t *r,
    ngx_http_integrations_notify_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_notify_get(ngx_http_request_t *r,
    ngx_http_integrations_notify_ctx_t *ctx);
static void ngx_http_integrations_notify_got(
    ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_integrations_notify_receipt(ngx_http_request_t *r,
    ngx_str_t *body);
static void ngx_http_integrations_notify_receipted(
    ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_integrations_notify_scope(ngx_http_request_t *r,
    u_char *hex);
static ngx_int_t ngx_http_integrations_notify_json(ngx_http_request_t *r,
    ngx_uint_t status, char *json, size_t len);
static ngx_int_t ngx_http_integrations_notify_problem(ngx_http_request_t *r,
    integrations_notify_problem_t *pb);
static void ngx_http_integrations_notify_counted(
    ngx_http_integrations_notify_main_conf_t *nmcf,
    integrations_store_outbox_item_t *items,
    integrations_store_outbox_result_t *results, size_t n);
static const integrations_notify_template_t *
    ngx_http_integrations_notify_lookup(void *ctx, const char *name,
    size_t len);
static void ngx_http_integrations_notify_env(
    ngx_http_integrations_notify_main_conf_t *nmcf,
    integrations_notify_env_t *env);
static void ngx_http_integrations_notify_req_free(void *data);
static void ngx_http_integrations_notify_job_done(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_notify_time(int64_t ms, u_char *buf);

static char *ngx_http_integrations_notify_template(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_notify_route_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_notify_retry(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_notify_alert_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_notify_delivery(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_notify_api(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_integrations_notify_postconf(ngx_conf_t *cf);
static ngx_int_t ngx_http_integrations_notify_routes(ngx_conf_t *cf,
    ngx_http_integrations_notify_main_conf_t *nmcf);
static ngx_int_t ngx_http_integrations_notify_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static ngx_uint_t ngx_http_integrations_notify_slot(
    ngx_http_integrations_notify_shctx_t *sh, ngx_str_t *channel,
    ngx_str_t *provider);
static ngx_int_t ngx_http_integrations_notify_init_process(
    ngx_cycle_t *cycle);
static void ngx_http_integrations_notify_exit_process(ngx_cycle_t *cycle);
static void *ngx_http_integrations_notify_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_integrations_notify_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_integrations_notify_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_integrations_notify_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static void ngx_http_integrations_notify_tpl_free(void *data);


static ngx_conf_num_bounds_t  ngx_http_integrations_notify_batch_bounds = {
    ngx_conf_check_num_bounds, 1, 1000
};


static const char  *ngx_http_integrations_notify_types[] = {
    "email", "sms", "alimtalk", "push", "slack", NULL
};


static ngx_command_t  ngx_http_integrations_notify_commands[] = {

    { ngx_string("notify_template"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE23,
      ngx_http_integrations_notify_template,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("notify_route"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2|NGX_CONF_TAKE3|NGX_CONF_TAKE4,
      ngx_http_integrations_notify_route_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("notify_retry"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_integrations_notify_retry,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("notify_alert"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_integrations_notify_alert_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("notify_retention"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_integrations_notify_main_conf_t, retention),
      NULL },

    { ngx_string("notify_idempotency_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_integrations_notify_main_conf_t, idem_ttl),
      NULL },

    { ngx_string("notify_delivery"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_integrations_notify_delivery,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("notify_idempotency_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_notify_loc_conf_t, scope),
      NULL },

    { ngx_string("notify_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_integrations_notify_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_notify_module_ctx = {
    NULL,                                          /* preconfiguration */
    ngx_http_integrations_notify_postconf,         /* postconfiguration */

    ngx_http_integrations_notify_create_main_conf, /* create main conf */
    ngx_http_integrations_notify_init_main_conf,   /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    ngx_http_integrations_notify_create_loc_conf,  /* create location conf */
    ngx_http_integrations_notify_merge_loc_conf    /* merge location conf */
};


ngx_module_t  ngx_http_integrations_notify_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_notify_module_ctx,      /* module context */
    ngx_http_integrations_notify_commands,         /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    NULL,                                          /* init module */
    ngx_http_integrations_notify_init_process,     /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    ngx_http_integrations_notify_exit_process,     /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_integrations_notify_group_t  ngx_http_notify_group;

/* what the event code's debug lines read an event's data as */
static ngx_connection_t  ngx_http_notify_group_ident;

static ngx_str_t  ngx_http_integrations_notify_zone_name =
    ngx_string("integrations_notify");

static ngx_str_t  ngx_http_integrations_notify_webhook_var =
    ngx_string("webhook_provider");


/* ---- run-time lookups --------------------------------------------------- */

ngx_http_integrations_notify_main_conf_t *
ngx_http_integrations_notify_conf(void)
{
    if (ngx_cycle == NULL || ngx_cycle->conf_ctx == NULL
        || ngx_get_conf(ngx_cycle->conf_ctx, ngx_http_module) == NULL)
    {
        return NULL;
    }

    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                          ngx_http_integrations_notify_module);
}


ngx_http_integrations_notify_shctx_t *
ngx_http_integrations_notify_sh(void)
{
    ngx_slab_pool_t                           *shpool;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    nmcf = ngx_http_integrations_notify_conf();

    if (nmcf == NULL || nmcf->zone == NULL || nmcf->zone->shm.addr == NULL) {
        return NULL;
    }

    shpool = (ngx_slab_pool_t *) nmcf->zone->shm.addr;

    return shpool->data;
}


ngx_http_integrations_notify_route_t *
ngx_http_integrations_notify_route(
    ngx_http_integrations_notify_main_conf_t *nmcf, ngx_str_t *channel,
    ngx_str_t *provider)
{
    ngx_uint_t                             i;
    ngx_http_integrations_notify_route_t  *rt;

    rt = nmcf->routes.elts;

    for (i = 0; i < nmcf->routes.nelts; i++) {
        if (rt[i].channel.len == channel->len
            && ngx_strncmp(rt[i].channel.data, channel->data, channel->len)
               == 0
            && (provider == NULL
                || (rt[i].provider->name.len == provider->len
                    && ngx_strncmp(rt[i].provider->name.data,
                                   provider->data, provider->len) == 0)))
        {
            return &rt[i];
        }
    }

    return NULL;
}


ngx_uint_t
ngx_http_integrations_notify_stat(
    ngx_http_integrations_notify_main_conf_t *nmcf, ngx_str_t *channel,
    ngx_str_t *provider)
{
    ngx_uint_t                             i;
    ngx_http_integrations_notify_stat_t   *st;
    ngx_http_integrations_notify_shctx_t  *sh;

    (void) nmcf;

    sh = ngx_http_integrations_notify_sh();

    if (sh == NULL) {
        return NGX_HTTP_NOTIFY_STATS;
    }

    for (i = 0; i < NGX_HTTP_NOTIFY_STATS; i++) {
        st = &sh->stats[i];

        if (st->used
            && ngx_strlen(st->channel) == channel->len
            && ngx_strncmp(st->channel, channel->data, channel->len) == 0
            && ngx_strlen(st->provider) == provider->len
            && ngx_strncmp(st->provider, provider->data, provider->len) == 0)
        {
            return i;
        }
    }

    return NGX_HTTP_NOTIFY_STATS;
}


/*
 * "ntf_" and 32 hex digits: the creation time in milliseconds (48 bits),
 * then 80 random bits.  Time first, as UUIDv7 is, so that a new row goes
 * at the end of the id index: with random ids each enqueue dirtied a
 * random page of it, and a checkpoint under the writer lock copied one
 * page per notification (4.9 ms for 1,000 WAL pages, 1.2 ms now, and
 * about 40% fewer pages written per enqueue).
 */

void
ngx_http_integrations_notify_new_id(u_char *id)
{
    u_char      raw[16];
    uint64_t    a, b, ms;
    ngx_int_t   i;
    ngx_time_t *tp;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        a = ((uint64_t) ngx_random() << 32) ^ (uint64_t) ngx_random()
            ^ (uint64_t) ngx_pid << 20;
        b = ((uint64_t) ngx_random() << 32) ^ (uint64_t) ngx_random()
            ^ (uint64_t) ngx_current_msec;
        ngx_memcpy(raw, &a, 8);
        ngx_memcpy(raw + 8, &b, 8);
    }

    tp = ngx_timeofday();
    ms = (uint64_t) tp->sec * 1000 + tp->msec;

    for (i = 5; i >= 0; i--) {
        raw[i] = (u_char) ms;
        ms >>= 8;
    }

    id = ngx_cpymem(id, "ntf_", 4);
    (void) ngx_hex_dump(id, raw, sizeof(raw));
}


/* ---- the API ----------------------------------------------------------- */

/*
 * The path after the location's last "/notifications" segment decides:
 * "" (POST), "/bulk" (POST), "/receipts/twilio" (POST), "/{id}" (GET).
 */

static ngx_int_t
ngx_http_integrations_notify_handler(ngx_http_request_t *r)
{
    u_char                              *p, *last, *tail;
    ngx_int_t                            rc;
    ngx_str_t                            d;
    ngx_http_integrations_notify_ctx_t  *ctx;

    static const char  seg[] = "/notifications";

    tail = NULL;
    last = r->uri.data + r->uri.len;

    for (p = r->uri.data; p + sizeof(seg) - 1 <= last; p++) {
        if (ngx_strncmp(p, seg, sizeof(seg) - 1) == 0
            && (p + sizeof(seg) - 1 == last || p[sizeof(seg) - 1] == '/'))
        {
            tail = p + sizeof(seg) - 1;
        }
    }

    if (tail == NULL) {
        ngx_str_set(&d, "the API's paths are under /notifications");
        return ngx_http_integrations_problem(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "Not found", &d);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_integrations_notify_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_integrations_notify_module);

    if (ngx_http_integrations_notify_scope(r, ctx->scope) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (tail == last || (last - tail == 1 && *tail == '/')
        || (last - tail == 5 && ngx_strncmp(tail, "/bulk", 5) == 0)
        || (last - tail == 16
            && ngx_strncmp(tail, "/receipts/twilio", 16) == 0))
    {
        if (r->method != NGX_HTTP_POST) {
            ngx_str_set(&d, "this path takes POST");
            return ngx_http_integrations_problem(r, NGX_HTTP_NOT_ALLOWED,
                                                 "method_not_allowed",
                                                 "Method not allowed", &d);
        }

        ctx->bulk = (last - tail == 5) ? 1 : (last - tail == 16) ? 2 : 0;

        r->request_body_in_single_buf = 1;

        rc = ngx_http_read_client_request_body(r,
                                           ngx_http_integrations_notify_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    /* GET /notifications/{id} */

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        ngx_str_set(&d, "a notification is read with GET");
        return ngx_http_integrations_problem(r, NGX_HTTP_NOT_ALLOWED,
                                             "method_not_allowed",
                                             "Method not allowed", &d);
    }

    ctx->id.data = tail + 1;
    ctx->id.len = last - tail - 1;

    return ngx_http_integrations_notify_get(r, ctx);
}


static void
ngx_http_integrations_notify_body(ngx_http_request_t *r)
{
    time_t                                     now;
    ngx_int_t                                  rc;
    ngx_str_t                                  body;
    ngx_pool_cleanup_t                        *cln;
    integrations_notify_env_t                  env;
    integrations_notify_problem_t              pb;
    ngx_http_integrations_notify_ctx_t        *ctx;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_notify_module);
    nmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_integrations_notify_module);

    rc = ngx_http_integrations_notify_read_body(r, &body);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ctx->bulk == 2) {
        ngx_http_finalize_request(r,
                              ngx_http_integrations_notify_receipt(r, &body));
        return;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_integrations_notify_env(nmcf, &env);
    now = ngx_time();

    ngx_memzero(&pb, sizeof(integrations_notify_problem_t));

    if (integrations_notify_parse((const char *) body.data, body.len,
                                  ctx->bulk, &env, now, &ctx->req, &pb)
        != 0)
    {
        ngx_http_finalize_request(r,
                               ngx_http_integrations_notify_problem(r, &pb));
        return;
    }

    cln->handler = ngx_http_integrations_notify_req_free;
    cln->data = &ctx->req;

    if (ngx_http_integrations_notify_items(r->pool, nmcf, &ctx->req,
                                           ctx->scope, &ctx->items, &ctx->n)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->results = ngx_pcalloc(r->pool, ctx->n
                                   * sizeof(integrations_store_outbox_result_t));
    if (ctx->results == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /*
     * Held as the store holds a request for its operation (a file read in
     * a thread): it cannot be freed meanwhile; its body read holds it once.
     */

    ctx->request = r;
    ctx->write_handler = r->write_event_handler;
    r->main->blocked++;
    r->aio = 1;
    r->write_event_handler = ngx_http_integrations_notify_wait;

    if (ngx_http_notify_group.waiting.next == NULL) {
        ngx_queue_init(&ngx_http_notify_group.waiting);
    }

    ngx_queue_insert_tail(&ngx_http_notify_group.waiting, &ctx->queue);

    if (ngx_http_notify_group.inflight < NGX_HTTP_NOTIFY_GROUPS) {
        ngx_http_integrations_notify_group_post();
    }
    /* the request stays until done(): its body read holds it once */
}


/* the body in one piece: memory, or the file nginx spooled it to */

static ngx_int_t
ngx_http_integrations_notify_read_body(ngx_http_request_t *r,
    ngx_str_t *body)
{
    u_char       *p;
    off_t         len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->data = (u_char *) "";
    body->len = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
    }

    if (len > NGX_HTTP_NOTIFY_MAX_BODY) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    p = ngx_pnalloc(r->pool, (size_t) len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, (size_t) (b->file_last
                                                    - b->file_pos),
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            p += n;

        } else {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    *p = '\0';
    body->len = p - body->data;

    return NGX_OK;
}


/*
 * The parser's items as outbox rows: ids, the key's scope and hash, the
 * masked recipient, the AlimTalk variables as JSON, the deadlines.
 */

static ngx_int_t
ngx_http_integrations_notify_items(ngx_pool_t *pool,
    ngx_http_integrations_notify_main_conf_t *nmcf,
    integrations_notify_request_t *req, u_char *scope,
    integrations_store_outbox_item_t **items, size_t *n)
{
    char                                  *json, mask[INTEGRATIONS_RCPT_MASK];
    u_char                                *p;
    size_t                                 i, len, mlen;
    int64_t                                now, due;
    ngx_str_t                              channel, provider;
    integrations_notify_item_t            *it;
    integrations_store_bytes_t             f[9];
    integrations_store_outbox_item_t      *o;
    ngx_http_integrations_notify_route_t  *rt;

    now = (int64_t) ngx_time() * 1000;

    o = ngx_pcalloc(pool, req->nitems
                          * sizeof(integrations_store_outbox_item_t));
    if (o == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < req->nitems; i++) {
        it = &req->items[i];

        p = ngx_pnalloc(pool, NGX_HTTP_NOTIFY_ID_LEN
                              + INTEGRATIONS_STORE_HASH_LEN + 2);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_http_integrations_notify_new_id(p);
        o[i].id.data = p;
        o[i].id.len = NGX_HTTP_NOTIFY_ID_LEN;

        o[i].scope.data = scope;
        o[i].scope.len = INTEGRATIONS_STORE_HASH_LEN;

        o[i].channel.data = (const u_char *) it->route->channel;
        o[i].channel.len = ngx_strlen(it->route->channel);
        o[i].provider.data = (const u_char *) it->route->provider;
        o[i].provider.len = ngx_strlen(it->route->provider);

        o[i].recipient.data = (const u_char *) it->to;
        o[i].recipient.len = it->to_len;

        mlen = integrations_rcpt_mask(it->route->recipient, it->to,
                                      it->to_len, mask);
        o[i].recipient_mask.data = ngx_pstrdup(pool,
                                   &(ngx_str_t) { mlen, (u_char *) mask });
        o[i].recipient_mask.len = mlen;
        if (o[i].recipient_mask.data == NULL) {
            return NGX_ERROR;
        }

        if (it->template_name) {
            o[i].template_name.data = (const u_char *) it->template_name;
            o[i].template_name.len = it->template_name_len;
        }

        if (it->subject) {
            o[i].subject.data = (const u_char *) it->subject;
            o[i].subject.len = it->subject_len;
        }

        if (it->text) {
            o[i].text.data = (const u_char *) it->text;
            o[i].text.len = it->text_len;
        }

        if (it->html) {
            o[i].html.data = (const u_char *) it->html;
            o[i].html.len = it->html_len;
        }

        if (it->nvariables) {
            json = integrations_notify_kv_json(it->variables, it->nvariables,
                                               &len);
            if (json == NULL) {
                return NGX_ERROR;
            }

            o[i].variables.data = ngx_pnalloc(pool, len + 1);
            if (o[i].variables.data == NULL) {
                free(json);
                return NGX_ERROR;
            }

            ngx_memcpy((u_char *) o[i].variables.data, json, len + 1);
            o[i].variables.len = len;
            free(json);
        }

        if (it->route->type == INTEGRATIONS_NOTIFY_ALIMTALK && it->template
            && it->template->alimtalk_id)
        {
            o[i].template_id.data = (const u_char *) it->template->alimtalk_id;
            o[i].template_id.len = ngx_strlen(it->template->alimtalk_id);
        }

        o[i].sms_type = it->sms_type;

        channel.data = (u_char *) it->route->channel;
        channel.len = o[i].channel.len;
        provider.data = (u_char *) it->route->provider;
        provider.len = o[i].provider.len;
        rt = ngx_http_integrations_notify_route(nmcf, &channel, &provider);

        o[i].fallback = (it->fallback && rt && rt->fallback
                         && it->route->type == INTEGRATIONS_NOTIFY_ALIMTALK);

        due = (it->send_at >= 0) ? it->send_at * 1000 : 0;
        o[i].send_at = due;
        o[i].expires_at = (due > now ? due : now)
                          + (nmcf->max_age ? (int64_t) nmcf->max_age
                                           : NGX_HTTP_NOTIFY_FOREVER);

        /* the key, and what makes two requests with it the same */

        if (it->idempotency_key) {
            o[i].idem_key.data = (const u_char *) it->idempotency_key;
            o[i].idem_key.len = it->idempotency_key_len;
            o[i].idem_ttl_ms = (int64_t) nmcf->idem_ttl;

            f[0] = o[i].channel;
            f[1] = o[i].provider;
            f[2] = o[i].recipient;
            f[3] = o[i].template_name;
            f[4] = o[i].subject;
            f[5] = o[i].text;
            f[6] = o[i].html;
            f[7] = o[i].variables;
            f[8].data = (const u_char *) (o[i].fallback ? "1" : "0");
            f[8].len = 1;

            p += NGX_HTTP_NOTIFY_ID_LEN + 1;
            integrations_store_hash_fields(f, 9, (char *) p);
            o[i].idem_hash.data = p;
            o[i].idem_hash.len = INTEGRATIONS_STORE_HASH_LEN;
        }
    }

    *items = o;
    *n = req->nitems;

    return NGX_OK;
}


/* the next group: every request waiting, up to a bound on items */

static void
ngx_http_integrations_notify_group_post(void)
{
    size_t                                   n, k, i, off;
    ngx_queue_t                             *q, taken;
    ngx_http_integrations_store_op_t        *op;
    ngx_http_integrations_notify_ctx_t      *ctx;
    ngx_http_integrations_notify_group_t    *g;
    ngx_http_integrations_notify_grouped_t  *gr;
    integrations_store_outbox_item_t        *items;

    g = &ngx_http_notify_group;

    if (ngx_queue_empty(&g->waiting)) {
        return;
    }

    n = 0;
    k = 0;

    for (q = ngx_queue_head(&g->waiting);
         q != ngx_queue_sentinel(&g->waiting);
         q = ngx_queue_next(q))
    {
        ctx = ngx_queue_data(q, ngx_http_integrations_notify_ctx_t, queue);

        if (k && n + ctx->n > NGX_HTTP_NOTIFY_GROUP_ITEMS) {
            break;
        }

        n += ctx->n;
        k++;
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_OUTBOX_ENQUEUE,
                    sizeof(ngx_http_integrations_notify_grouped_t)
                    + k * sizeof(ngx_http_integrations_notify_ctx_t *)
                    + n * (sizeof(integrations_store_outbox_item_t)
                           + sizeof(integrations_store_outbox_result_t))
                    + 16);

    if (op == NULL) {
        /* no memory: every waiting request gets a 500 */

        while (!ngx_queue_empty(&g->waiting)) {
            q = ngx_queue_head(&g->waiting);
            ngx_queue_remove(q);
            ctx = ngx_queue_data(q, ngx_http_integrations_notify_ctx_t,
                                 queue);
            ngx_http_integrations_notify_answer(ctx->request, ctx,
                                                NGX_ERROR);
        }

        return;
    }

    gr = (ngx_http_integrations_notify_grouped_t *) op->room;
    gr->n = k;
    gr->ctx = (ngx_http_integrations_notify_ctx_t **) (gr + 1);
    items = (integrations_store_outbox_item_t *)
            ngx_align_ptr((u_char *) (gr->ctx + k), 16);

    op->core.in.outbox_enqueue.items = items;
    op->core.in.outbox_enqueue.results =
                             (integrations_store_outbox_result_t *) (items + n);
    op->core.in.outbox_enqueue.n = n;
    op->done = ngx_http_integrations_notify_grouped;
    op->data = gr;

    off = 0;
    ngx_queue_init(&taken);

    for (i = 0; i < k; i++) {
        q = ngx_queue_head(&g->waiting);
        ngx_queue_remove(q);
        ngx_queue_insert_tail(&taken, q);
        ctx = ngx_queue_data(q, ngx_http_integrations_notify_ctx_t, queue);

        gr->ctx[i] = ctx;
        ngx_memcpy(&items[off], ctx->items,
                   ctx->n * sizeof(integrations_store_outbox_item_t));
        off += ctx->n;
    }

    if (ngx_http_integrations_store_post(op, NULL) != NGX_OK) {
        /* the op is freed with gr: the store is down, 503 for each */

        while (!ngx_queue_empty(&taken)) {
            q = ngx_queue_head(&taken);
            ngx_queue_remove(q);
            ctx = ngx_queue_data(q, ngx_http_integrations_notify_ctx_t,
                                 queue);
            ngx_http_integrations_notify_answer(ctx->request, ctx,
                                                NGX_DECLINED);
        }

        return;
    }

    g->inflight++;

    if (!g->guard.timer_set) {
        g->guard.handler = ngx_http_integrations_notify_group_guard;
        g->guard.log = ngx_cycle->log;
        ngx_http_notify_group_ident.fd = (ngx_socket_t) -1;
        g->guard.data = &ngx_http_notify_group_ident;
        ngx_add_timer(&g->guard, 600000);
    }
}


static void
ngx_http_integrations_notify_grouped(ngx_http_integrations_store_op_t *op)
{
    size_t                                   i, off;
    ngx_int_t                                ok;
    ngx_http_integrations_notify_ctx_t      *ctx;
    ngx_http_integrations_notify_group_t    *g;
    ngx_http_integrations_notify_grouped_t  *gr;

    g = &ngx_http_notify_group;
    gr = op->data;
    g->inflight--;

    ok = (op->core.rc == INTEGRATIONS_STORE_OK) ? NGX_OK : NGX_DECLINED;
    off = 0;

    for (i = 0; i < gr->n; i++) {
        ctx = gr->ctx[i];
        ngx_memcpy(ctx->results, op->core.in.outbox_enqueue.results + off,
                   ctx->n * sizeof(integrations_store_outbox_result_t));
        off += ctx->n;

        ngx_http_integrations_notify_answer(ctx->request, ctx, ok);
    }

    if (!ngx_queue_empty(&g->waiting)) {
        ngx_http_integrations_notify_group_post();
    }

    if (g->inflight == 0 && ngx_queue_empty(&g->waiting)
        && g->guard.timer_set)
    {
        ngx_del_timer(&g->guard);
    }
}


static void
ngx_http_integrations_notify_wait(ngx_http_request_t *r)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "notify: waiting for the outbox");
}


/* a worker that exits waits for its enqueues (a non-cancelable timer) */

static void
ngx_http_integrations_notify_group_guard(ngx_event_t *ev)
{
    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "notify: enqueues still in flight after 10 minutes");
}


/*
 * One request's answer (ok: NGX_OK committed, NGX_DECLINED the store
 * said no, NGX_ERROR no memory), after its hold is released.  A request
 * whose client went away meanwhile is finalized by the handler nginx left
 * in its place, after its notifications are counted: they were accepted.
 */

static void
ngx_http_integrations_notify_answer(ngx_http_request_t *r,
    ngx_http_integrations_notify_ctx_t *ctx, ngx_int_t ok)
{
    ngx_connection_t  *c;

    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;
    r->aio = 0;

    if (r->write_event_handler != ngx_http_integrations_notify_wait) {
        if (ok == NGX_OK) {
            ngx_http_integrations_notify_counted(
                    ngx_http_get_module_main_conf(r,
                                       ngx_http_integrations_notify_module),
                    ctx->items, ctx->results, ctx->n);
        }

        r->write_event_handler(r);
        ngx_http_run_posted_requests(c);
        return;
    }

    r->write_event_handler = ctx->write_handler;

    if (ok == NGX_DECLINED) {
        ngx_http_finalize_request(r,
                                 ngx_http_integrations_store_unavailable(r));

    } else if (ok != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);

    } else {
        ngx_http_integrations_notify_respond(r, ctx);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_integrations_notify_respond(ngx_http_request_t *r,
    ngx_http_integrations_notify_ctx_t *ctx)
{
    char                                      *json;
    size_t                                     i, len;
    ngx_int_t                                  rc;
    ngx_str_t                                  d;
    ngx_table_elt_t                           *h;
    integrations_notify_gen_t                  j;
    integrations_store_outbox_result_t        *res;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    nmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_integrations_notify_module);

    /* durable now */

    ngx_http_integrations_notify_counted(nmcf, ctx->items, ctx->results,
                                         ctx->n);
    ngx_http_integrations_notify_sender_kick();

    res = ctx->results;

    if (!ctx->bulk) {
        if (res[0].verdict == INTEGRATIONS_STORE_OUTBOX_MISMATCH) {
            ngx_str_set(&d, "the idempotency_key was used within its TTL "
                            "for another notification");
            ngx_http_finalize_request(r,
                ngx_http_integrations_problem(r, 422,
                                              "idempotency_key_reused",
                                              "Idempotency key reused", &d));
            return;
        }

        if (res[0].verdict == INTEGRATIONS_STORE_OUTBOX_REPLAY) {
            h = ngx_list_push(&r->headers_out.headers);
            if (h == NULL) {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            h->hash = 1;
            ngx_str_set(&h->key, "Idempotent-Replayed");
            ngx_str_set(&h->value, "true");
        }
    }

    integrations_notify_gen_init(&j);
    integrations_notify_gen_map(&j, 1);

    if (ctx->bulk) {
        integrations_notify_gen_cstr(&j, "items");
        integrations_notify_gen_array(&j, 1);
    }

    for (i = 0; i < ctx->n; i++) {
        if (ctx->bulk) {
            integrations_notify_gen_map(&j, 1);
        }

        if (res[i].verdict == INTEGRATIONS_STORE_OUTBOX_NEW) {
            integrations_notify_gen_key(&j, "id",
                                        (const char *) ctx->items[i].id.data,
                                        ctx->items[i].id.len);
            integrations_notify_gen_key(&j, "status", "queued", 6);

        } else {
            integrations_notify_gen_key(&j, "id", res[i].id,
                                        ngx_strlen(res[i].id));
            integrations_notify_gen_cstr(&j, "status");
            integrations_notify_gen_cstr(&j,
                              integrations_store_notify_state_name(
                                  res[i].state));

            if (res[i].verdict == INTEGRATIONS_STORE_OUTBOX_REPLAY) {
                integrations_notify_gen_cstr(&j, "replayed");
                integrations_notify_gen_bool(&j, 1);

            } else {
                integrations_notify_gen_cstr(&j, "error");
                integrations_notify_gen_cstr(&j, "idempotency_key_reused");
            }
        }

        if (ctx->bulk) {
            integrations_notify_gen_map(&j, 0);
        }
    }

    if (ctx->bulk) {
        integrations_notify_gen_array(&j, 0);
    }

    integrations_notify_gen_map(&j, 0);

    json = integrations_notify_gen_done(&j, &len);

    rc = ngx_http_integrations_notify_json(r, NGX_HTTP_ACCEPTED, json, len);
    free(json);

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_integrations_notify_get(ngx_http_request_t *r,
    ngx_http_integrations_notify_ctx_t *ctx)
{
    ngx_str_t                          d;
    ngx_http_integrations_store_op_t  *op;

    if (ctx->id.len == 0 || ctx->id.len > INTEGRATIONS_STORE_OUTBOX_ID_MAX
        || !integrations_store_key_valid(ctx->id.data, ctx->id.len))
    {
        ngx_str_set(&d, "no such notification");
        return ngx_http_integrations_problem(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "Not found", &d);
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_OUTBOX_GET, 0);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    op->core.in.outbox_get.id.data = ctx->id.data;
    op->core.in.outbox_get.id.len = ctx->id.len;
    op->core.in.outbox_get.scope.data = ctx->scope;
    op->core.in.outbox_get.scope.len = INTEGRATIONS_STORE_HASH_LEN;
    op->done = ngx_http_integrations_notify_got;
    op->data = r;

    if (ngx_http_integrations_store_post(op, r) != NGX_OK) {
        return ngx_http_integrations_store_unavailable(r);
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_integrations_notify_got(ngx_http_integrations_store_op_t *op)
{
    char                                    *json;
    u_char                                   t[32];
    size_t                                   i, len;
    ngx_int_t                                rc;
    ngx_str_t                                d;
    ngx_http_request_t                      *r;
    integrations_notify_gen_t                j;
    integrations_store_outbox_attempt_t     *a;
    integrations_store_outbox_get_result_t  *g;

    r = op->data;

    if (op->abandoned) {
        return;
    }

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        ngx_http_finalize_request(r,
                                 ngx_http_integrations_store_unavailable(r));
        return;
    }

    g = &op->core.out.outbox_get;

    if (!g->found) {
        ngx_str_set(&d, "no such notification");
        ngx_http_finalize_request(r,
            ngx_http_integrations_problem(r, NGX_HTTP_NOT_FOUND, "not_found",
                                          "Not found", &d));
        return;
    }

#define STR(k, b)                                                             \
    if ((b).data) {                                                           \
        integrations_notify_gen_key(&j, k, (const char *) (b).data,           \
                                    (b).len);                                 \
    } else {                                                                  \
        integrations_notify_gen_cstr(&j, k);                                  \
        (void) yajl_gen_null(j.g);                                            \
    }

    integrations_notify_gen_init(&j);
    integrations_notify_gen_map(&j, 1);
    STR("id", g->id);
    integrations_notify_gen_cstr(&j, "status");
    integrations_notify_gen_cstr(&j,
                                 integrations_store_notify_state_name(g->state));
    STR("channel", g->channel);
    STR("provider", g->provider);
    STR("to", g->recipient_mask);
    STR("template", g->template_name);
    STR("provider_message_id", g->message_id);
    STR("error", g->error);
    integrations_notify_gen_cstr(&j, "fallback_used");
    integrations_notify_gen_bool(&j, g->fallback == 2);

    ngx_http_integrations_notify_time(g->created_at, t);
    integrations_notify_gen_key(&j, "created_at", (char *) t,
                                ngx_strlen(t));
    ngx_http_integrations_notify_time(g->updated_at, t);
    integrations_notify_gen_key(&j, "updated_at", (char *) t,
                                ngx_strlen(t));

    integrations_notify_gen_cstr(&j, "next_attempt_at");

    if (g->state == INTEGRATIONS_STORE_NOTIFY_QUEUED) {
        ngx_http_integrations_notify_time(g->next_attempt_at, t);
        integrations_notify_gen_cstr(&j, (char *) t);

    } else {
        (void) yajl_gen_null(j.g);
    }

    integrations_notify_gen_cstr(&j, "attempts");
    integrations_notify_gen_array(&j, 1);

    for (i = 0; i < g->nattempts; i++) {
        a = &g->attempt[i];

        integrations_notify_gen_map(&j, 1);
        integrations_notify_gen_cstr(&j, "attempt");
        integrations_notify_gen_int(&j, a->attempt);
        ngx_http_integrations_notify_time(a->at, t);
        integrations_notify_gen_key(&j, "at", (char *) t, ngx_strlen(t));
        STR("provider", a->provider);
        STR("outcome", a->outcome);
        STR("provider_message_id", a->message_id);
        STR("error", a->error);
        integrations_notify_gen_cstr(&j, "http_status");
        integrations_notify_gen_int(&j, a->http_status);
        integrations_notify_gen_cstr(&j, "duration_ms");
        integrations_notify_gen_int(&j, (long long) a->duration_ms);
        integrations_notify_gen_map(&j, 0);
    }

    integrations_notify_gen_array(&j, 0);
    integrations_notify_gen_map(&j, 0);

#undef STR

    json = integrations_notify_gen_done(&j, &len);

    rc = ngx_http_integrations_notify_json(r, NGX_HTTP_OK, json, len);
    free(json);

    ngx_http_finalize_request(r, rc);
}


/* a Twilio status callback, verified by webhook_verify twilio */

static ngx_int_t
ngx_http_integrations_notify_receipt(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_str_t                             d;
    ngx_uint_t                            key;
    const char                           *why;
    ngx_http_variable_value_t            *v;
    integrations_notify_receipt_t         rc;
    ngx_http_integrations_store_op_t     *op;
    integrations_store_outbox_receipt_t  *in;

    key = ngx_hash_key(ngx_http_integrations_notify_webhook_var.data,
                       ngx_http_integrations_notify_webhook_var.len);
    v = ngx_http_get_variable(r, &ngx_http_integrations_notify_webhook_var,
                              key);

    if (v == NULL || v->not_found || v->len != 6
        || ngx_strncmp(v->data, "twilio", 6) != 0)
    {
        ngx_str_set(&d, "status callbacks are taken only behind "
                        "\"webhook_verify twilio\"");
        return ngx_http_integrations_problem(r, NGX_HTTP_FORBIDDEN,
                                             "forbidden", "Forbidden", &d);
    }

    if (integrations_notify_twilio_receipt((const char *) body->data,
                                           body->len, &rc, &why)
        != 0)
    {
        d.data = (u_char *) why;
        d.len = ngx_strlen(why);
        return ngx_http_integrations_problem(r, NGX_HTTP_BAD_REQUEST,
                                             "invalid_request",
                                             "Invalid request", &d);
    }

    if (rc.status == INTEGRATIONS_NOTIFY_RECEIPT_NONE) {
        r->headers_out.status = NGX_HTTP_NO_CONTENT;
        r->header_only = 1;
        r->headers_out.content_length_n = 0;
        return ngx_http_send_header(r);
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_OUTBOX_RECEIPT,
                                        sizeof(rc.message_id)
                                        + sizeof(rc.error) + 64);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    in = &op->core.in.outbox_receipt;
    in->state = (rc.status == INTEGRATIONS_NOTIFY_RECEIPT_DELIVERED)
                ? INTEGRATIONS_STORE_NOTIFY_DELIVERED
                : INTEGRATIONS_STORE_NOTIFY_FAILED;

    (void) ngx_http_integrations_store_copy(op, &in->message_id,
                                            (u_char *) rc.message_id,
                                            ngx_strlen(rc.message_id));

    if (rc.error[0]) {
        (void) ngx_http_integrations_store_copy(op, &in->error,
                                                (u_char *) rc.error,
                                                ngx_strlen(rc.error));
    }

    /* the provider is found by its message id: any twilio provider */

    in->provider.data = NULL;
    op->data = r;
    op->done = ngx_http_integrations_notify_receipted;

    if (ngx_http_integrations_notify_conf()
        && ngx_http_integrations_notify_conf()->nproviders)
    {
        ngx_uint_t                                 i;
        ngx_http_integrations_notify_main_conf_t  *nmcf;

        nmcf = ngx_http_integrations_notify_conf();

        for (i = 0; i < nmcf->nproviders; i++) {
            if (nmcf->providers[i]->type == NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO)
            {
                in->provider.data = nmcf->providers[i]->name.data;
                in->provider.len = nmcf->providers[i]->name.len;
                break;
            }
        }
    }

    if (in->provider.data == NULL) {
        ngx_http_integrations_store_free(op);
        ngx_str_set(&d, "no twilio notify_provider is configured");
        return ngx_http_integrations_problem(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "Not found", &d);
    }

    if (ngx_http_integrations_store_post(op, r) != NGX_OK) {
        return ngx_http_integrations_store_unavailable(r);
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_integrations_notify_receipted(ngx_http_integrations_store_op_t *op)
{
    ngx_uint_t                                   slot;
    ngx_str_t                                    channel, provider;
    ngx_http_request_t                          *r;
    ngx_http_integrations_notify_shctx_t        *sh;
    integrations_store_outbox_receipt_result_t  *out;

    r = op->data;
    out = &op->core.out.outbox_receipt;

    if (op->core.rc == INTEGRATIONS_STORE_OK && out->found) {
        sh = ngx_http_integrations_notify_sh();
        channel.data = (u_char *) out->channel.data;
        channel.len = out->channel.len;
        provider.data = (u_char *) op->core.in.outbox_receipt.provider.data;
        provider.len = op->core.in.outbox_receipt.provider.len;

        slot = ngx_http_integrations_notify_stat(NULL, &channel, &provider);

        if (sh && slot < NGX_HTTP_NOTIFY_STATS) {
            if (op->core.in.outbox_receipt.state
                == INTEGRATIONS_STORE_NOTIFY_DELIVERED)
            {
                (void) ngx_atomic_fetch_add(&sh->stats[slot].delivered, 1);

            } else {
                (void) ngx_atomic_fetch_add(
                                    &sh->stats[slot].failed_undelivered, 1);
            }
        }
    }

    if (op->abandoned) {
        return;
    }

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        ngx_http_finalize_request(r,
                                 ngx_http_integrations_store_unavailable(r));
        return;
    }

    /* an unknown message id is answered 204 too: Twilio must not retry */

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->header_only = 1;
    r->headers_out.content_length_n = 0;

    ngx_http_finalize_request(r, ngx_http_send_header(r));
}


static ngx_int_t
ngx_http_integrations_notify_scope(ngx_http_request_t *r, u_char *hex)
{
    ngx_str_t                                 id;
    ngx_http_integrations_notify_loc_conf_t  *nlcf;

    nlcf = ngx_http_get_module_loc_conf(r, ngx_http_integrations_notify_module);

    ngx_str_null(&id);

    if (nlcf->scope
        && ngx_http_complex_value(r, nlcf->scope, &id) != NGX_OK)
    {
        return NGX_ERROR;
    }

    integrations_store_key_scope("notify", id.data, id.len, (char *) hex);

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_notify_json(ngx_http_request_t *r, ngx_uint_t status,
    char *json, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, json, len);
    *b->last++ = '\n';
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len + 1;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* 400/422 problem+json with the field it is about */

static ngx_int_t
ngx_http_integrations_notify_problem(ngx_http_request_t *r,
    integrations_notify_problem_t *pb)
{
    size_t        flen, dlen, len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;
    const char   *type, *title;

    if (pb->status == 422) {
        type = "unprocessable_notification";
        title = "Notification cannot be sent";

    } else {
        pb->status = NGX_HTTP_BAD_REQUEST;
        type = "invalid_request";
        title = "Invalid request";
    }

    flen = ngx_strlen(pb->field);
    dlen = ngx_strlen(pb->detail);

    len = sizeof("{\"type\":\"urn:integrations:problem:\",\"title\":\"\","
                 "\"status\":422,\"field\":\"\",\"detail\":\"\"}\n")
          + ngx_strlen(type) + ngx_strlen(title)
          + flen + ngx_escape_json(NULL, (u_char *) pb->field, flen)
          + dlen + ngx_escape_json(NULL, (u_char *) pb->detail, dlen);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last, "{\"type\":\"urn:integrations:problem:%s\","
                          "\"title\":\"%s\",\"status\":%ui,\"field\":\"",
                          type, title, (ngx_uint_t) pb->status);
    b->last = (u_char *) ngx_escape_json(b->last, (u_char *) pb->field, flen);
    b->last = ngx_cpymem(b->last, "\",\"detail\":\"", 12);
    b->last = (u_char *) ngx_escape_json(b->last, (u_char *) pb->detail,
                                         dlen);
    b->last = ngx_cpymem(b->last, "\"}\n", 3);
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    r->headers_out.status = pb->status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/problem+json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* queued, per channel and provider */

static void
ngx_http_integrations_notify_counted(
    ngx_http_integrations_notify_main_conf_t *nmcf,
    integrations_store_outbox_item_t *items,
    integrations_store_outbox_result_t *results, size_t n)
{
    size_t                                 i;
    ngx_uint_t                             slot;
    ngx_str_t                              channel, provider;
    ngx_http_integrations_notify_shctx_t  *sh;

    sh = ngx_http_integrations_notify_sh();

    if (sh == NULL) {
        return;
    }

    slot = NGX_HTTP_NOTIFY_STATS;
    channel.len = 0;
    provider.len = 0;

    for (i = 0; i < n; i++) {
        if (results[i].verdict != INTEGRATIONS_STORE_OUTBOX_NEW) {
            continue;
        }

        /* bulk items mostly share one route */

        if (slot == NGX_HTTP_NOTIFY_STATS
            || channel.len != items[i].channel.len
            || ngx_strncmp(channel.data, items[i].channel.data,
                           channel.len) != 0
            || provider.len != items[i].provider.len
            || ngx_strncmp(provider.data, items[i].provider.data,
                           provider.len) != 0)
        {
            channel.data = (u_char *) items[i].channel.data;
            channel.len = items[i].channel.len;
            provider.data = (u_char *) items[i].provider.data;
            provider.len = items[i].provider.len;
            slot = ngx_http_integrations_notify_stat(nmcf, &channel,
                                                     &provider);
        }

        if (slot < NGX_HTTP_NOTIFY_STATS) {
            (void) ngx_atomic_fetch_add(&sh->stats[slot].queued, 1);
        }
    }
}


static const integrations_notify_template_t *
ngx_http_integrations_notify_lookup(void *ctx, const char *name, size_t len)
{
    ngx_http_integrations_notify_main_conf_t *nmcf = ctx;

    ngx_uint_t                           i;
    ngx_http_integrations_notify_tpl_t  *t;

    t = nmcf->templates.elts;

    for (i = 0; i < nmcf->templates.nelts; i++) {
        if (t[i].name.len == len && ngx_strncmp(t[i].name.data, name, len)
                                    == 0)
        {
            return &t[i].tpl;
        }
    }

    return NULL;
}


static void
ngx_http_integrations_notify_env(ngx_http_integrations_notify_main_conf_t *nmcf,
    integrations_notify_env_t *env)
{
    ngx_memzero(env, sizeof(integrations_notify_env_t));

    env->routes = nmcf->core_routes;
    env->nroutes = nmcf->nroutes;
    env->lookup = ngx_http_integrations_notify_lookup;
    env->ctx = nmcf;
}


static void
ngx_http_integrations_notify_req_free(void *data)
{
    integrations_notify_request_free(data);
}


/* "2025-07-01T09:00:00.123Z" */

static void
ngx_http_integrations_notify_time(int64_t ms, u_char *buf)
{
    integrations_notify_tm_t  tm;

    integrations_notify_utc(ms / 1000, &tm);

    *ngx_sprintf(buf, "%04L-%02ui-%02uiT%02ui:%02ui:%02ui.%03LZ",
                 (int64_t) tm.year, (ngx_uint_t) tm.month,
                 (ngx_uint_t) tm.day, (ngx_uint_t) tm.hour,
                 (ngx_uint_t) tm.min, (ngx_uint_t) tm.sec,
                 (int64_t) (ms % 1000)) = '\0';
}


/* ---- the C API --------------------------------------------------------- */

static ngx_int_t
ngx_http_integrations_notify_render(ngx_pool_t *pool,
    ngx_http_integrations_notify_main_conf_t *nmcf, const u_char *json,
    size_t len, integrations_notify_request_t *req,
    integrations_store_outbox_item_t **items, size_t *n,
    integrations_notify_problem_t *problem)
{
    u_char                          *scope;
    ngx_pool_cleanup_t              *cln;
    integrations_notify_env_t        env;
    integrations_notify_problem_t    pb;

    cln = ngx_pool_cleanup_add(pool, 0);
    scope = ngx_pnalloc(pool, INTEGRATIONS_STORE_HASH_LEN + 1);

    if (cln == NULL || scope == NULL) {
        return NGX_ERROR;
    }

    ngx_http_integrations_notify_env(nmcf, &env);
    ngx_memzero(&pb, sizeof(pb));

    if (integrations_notify_parse((const char *) json, len, 0, &env,
                                  ngx_time(), req, &pb)
        != 0)
    {
        if (problem) {
            *problem = pb;
        }

        return NGX_DECLINED;
    }

    cln->handler = ngx_http_integrations_notify_req_free;
    cln->data = req;

    /* modules' own notifications share the scope of an API without one */

    integrations_store_key_scope("notify", NULL, 0, (char *) scope);

    return ngx_http_integrations_notify_items(pool, nmcf, req, scope, items,
                                              n);
}


ngx_int_t
ngx_http_integrations_notify_prepare(ngx_pool_t *pool, const u_char *json,
    size_t len, integrations_store_outbox_item_t **items, size_t *n,
    integrations_notify_problem_t *problem)
{
    integrations_notify_request_t             *req;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    nmcf = ngx_http_integrations_notify_conf();
    if (nmcf == NULL || nmcf->nroutes == 0) {
        return NGX_ERROR;
    }

    req = ngx_pcalloc(pool, sizeof(integrations_notify_request_t));
    if (req == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_integrations_notify_render(pool, nmcf, json, len, req,
                                               items, n, problem);
}


ngx_int_t
ngx_http_integrations_notify_enqueue(const u_char *json, size_t len,
    ngx_http_integrations_notify_enqueued_pt done, void *data,
    integrations_notify_problem_t *problem)
{
    ngx_int_t                                  rc;
    ngx_pool_t                                *pool;
    ngx_http_integrations_store_op_t          *op;
    ngx_http_integrations_notify_job_t        *job;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    nmcf = ngx_http_integrations_notify_conf();
    if (nmcf == NULL || nmcf->nroutes == 0) {
        return NGX_ERROR;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_http_integrations_notify_job_t));
    if (job == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    job->pool = pool;
    job->done = done;
    job->data = data;

    rc = ngx_http_integrations_notify_render(pool, nmcf, json, len,
                                             &job->req, &job->items, &job->n,
                                             problem);
    if (rc != NGX_OK) {
        ngx_destroy_pool(pool);
        return rc;
    }

    job->results = ngx_pcalloc(pool, job->n
                               * sizeof(integrations_store_outbox_result_t));
    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_OUTBOX_ENQUEUE,
                                        0);

    if (job->results == NULL || op == NULL) {
        ngx_http_integrations_store_free(op);
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    op->core.in.outbox_enqueue.items = job->items;
    op->core.in.outbox_enqueue.n = job->n;
    op->core.in.outbox_enqueue.results = job->results;
    op->done = ngx_http_integrations_notify_job_done;
    op->data = job;

    if (ngx_http_integrations_store_post(op, NULL) != NGX_OK) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_integrations_notify_job_done(ngx_http_integrations_store_op_t *op)
{
    ngx_str_t                            id;
    ngx_http_integrations_notify_job_t  *job;

    job = op->data;

    if (op->core.rc == INTEGRATIONS_STORE_OK) {
        ngx_http_integrations_notify_counted(
                                         ngx_http_integrations_notify_conf(),
                                         job->items, job->results, job->n);
        ngx_http_integrations_notify_sender_kick();

        if (job->results[0].verdict == INTEGRATIONS_STORE_OUTBOX_NEW) {
            id.data = (u_char *) job->items[0].id.data;
            id.len = job->items[0].id.len;

        } else {
            id.data = (u_char *) job->results[0].id;
            id.len = ngx_strlen(job->results[0].id);
        }

        if (job->done) {
            job->done(job->data, NGX_OK, &id);
        }

    } else {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "notify: a notification could not be queued: %s",
                      op->core.error);

        if (job->done) {
            job->done(job->data, NGX_ERROR, NULL);
        }
    }

    ngx_destroy_pool(job->pool);
}


ngx_int_t
ngx_http_integrations_notify_alert(const u_char *text, size_t len)
{
    u_char                                    *p;
    size_t                                     room;
    ngx_http_integrations_store_op_t          *op;
    integrations_store_outbox_item_t          *it;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    nmcf = ngx_http_integrations_notify_conf();

    if (nmcf == NULL || nmcf->alert_provider == NULL) {
        return NGX_DECLINED;
    }

    if (len > 4000) {
        len = 4000;
    }

    room = sizeof(integrations_store_outbox_item_t)
           + sizeof(integrations_store_outbox_result_t)
           + NGX_HTTP_NOTIFY_ID_LEN + len + INTEGRATIONS_STORE_HASH_LEN
           + nmcf->alert_channel.len + 16;

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_OUTBOX_ENQUEUE,
                                        room);
    if (op == NULL) {
        return NGX_ERROR;
    }

    /* the item and its result live in the op's room */

    it = (integrations_store_outbox_item_t *) op->room;
    ngx_memzero(it, sizeof(integrations_store_outbox_item_t)
                    + sizeof(integrations_store_outbox_result_t));
    op->room += sizeof(integrations_store_outbox_item_t)
                + sizeof(integrations_store_outbox_result_t);

    p = op->room;
    ngx_http_integrations_notify_new_id(p);
    it->id.data = p;
    it->id.len = NGX_HTTP_NOTIFY_ID_LEN;
    op->room += NGX_HTTP_NOTIFY_ID_LEN;

    p = op->room;
    integrations_store_key_scope("notify", NULL, 0, (char *) p);
    it->scope.data = p;
    it->scope.len = INTEGRATIONS_STORE_HASH_LEN;
    op->room += INTEGRATIONS_STORE_HASH_LEN + 1;

    (void) ngx_http_integrations_store_copy(op, &it->text, text, len);

    it->channel.data = (u_char *) NGX_HTTP_NOTIFY_ALERT_CHANNEL;
    it->channel.len = sizeof(NGX_HTTP_NOTIFY_ALERT_CHANNEL) - 1;
    it->provider.data = nmcf->alert_provider->name.data;
    it->provider.len = nmcf->alert_provider->name.len;
    it->recipient.data = nmcf->alert_channel.data;
    it->recipient.len = nmcf->alert_channel.len;
    it->recipient_mask = it->recipient;
    it->expires_at = (int64_t) ngx_time() * 1000
                     + (nmcf->max_age ? (int64_t) nmcf->max_age
                                      : NGX_HTTP_NOTIFY_FOREVER);

    op->core.in.outbox_enqueue.items = it;
    op->core.in.outbox_enqueue.n = 1;
    op->core.in.outbox_enqueue.results =
                              (integrations_store_outbox_result_t *) (it + 1);

    if (ngx_http_integrations_store_post(op, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_integrations_notify_sender_kick();

    return NGX_OK;
}


/* ---- directives -------------------------------------------------------- */

/* notify_template NAME file=PATH [alimtalk_template_id=ID] */

static char *
ngx_http_integrations_notify_template(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_notify_main_conf_t *nmcf = conf;

    u_char                              *buf;
    size_t                               size;
    ssize_t                              n;
    ngx_fd_t                             fd;
    ngx_str_t                           *value, path, id;
    ngx_uint_t                           i;
    ngx_file_t                           file;
    ngx_file_info_t                      fi;
    ngx_pool_cleanup_t                  *cln;
    integrations_tpl_error_t             err;
    ngx_http_integrations_notify_tpl_t  *t;

    value = cf->args->elts;

    ngx_str_null(&path);
    ngx_str_null(&id);

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "file=", 5) == 0 && path.len == 0) {
            path.data = value[i].data + 5;
            path.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "alimtalk_template_id=", 21) == 0
            && id.len == 0 && value[i].len > 21)
        {
            id.data = value[i].data + 21;
            id.len = value[i].len - 21;

            if (!integrations_store_key_valid(id.data, id.len)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"notify_template\" directive invalid "
                                   "parameter \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_template\" "
                           "directive invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_template\" "
                           "directive needs \"file=\"");
        return NGX_CONF_ERROR;
    }

    t = nmcf->templates.elts;

    for (i = 0; i < nmcf->templates.nelts; i++) {
        if (t[i].name.len == value[1].len
            && ngx_strncmp(t[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "duplicate "
                               "\"notify_template\" \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"notify_template\" \"%V\": cannot open \"%s\"",
                           &value[1], path.data);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_HTTP_NOTIFY_TEMPLATE_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"notify_template\" \"%V\": \"%s\" cannot be "
                           "read or is larger than 64 KB", &value[1],
                           path.data);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    size = (size_t) ngx_file_size(&fi);

    buf = ngx_pnalloc(cf->pool, size + 1);
    if (buf == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = path;
    file.log = cf->log;

    n = ngx_read_file(&file, buf, size, 0);
    ngx_close_file(fd);

    if (n != (ssize_t) size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"notify_template\" \"%V\": cannot read \"%s\"",
                           &value[1], path.data);
        return NGX_CONF_ERROR;
    }

    t = ngx_array_push(&nmcf->templates);
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(t, sizeof(ngx_http_integrations_notify_tpl_t));

    t->name.data = ngx_pnalloc(cf->pool, value[1].len + 1);
    if (t->name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(t->name.data, value[1].data, value[1].len);
    t->name.data[value[1].len] = '\0';
    t->name.len = value[1].len;

    ngx_memzero(&err, sizeof(err));

    if (integrations_tpl_file_parse((const char *) buf, size, &t->tpl.file,
                                    &err)
        != 0)
    {
        nmcf->templates.nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"notify_template\" \"%V\": %s:%ui: %s",
                           &value[1], path.data, (ngx_uint_t) err.line,
                           err.message);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        integrations_tpl_file_free(&t->tpl.file);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_integrations_notify_tpl_free;
    cln->data = &t->tpl.file;

    if (id.len) {
        if (t->tpl.file.text == NULL || t->tpl.file.html
            || !integrations_tpl_is_flat(t->tpl.file.text, &err))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"notify_template\" \"%V\": %s:%ui: an "
                               "AlimTalk template is plain text with "
                               "{{name}} tags only (at most 40): %s",
                               &value[1], path.data, (ngx_uint_t) err.line,
                               t->tpl.file.html ? "it has an HTML part"
                                                : err.message);
            return NGX_CONF_ERROR;
        }

        t->tpl.alimtalk_id = (const char *) ngx_pnalloc(cf->pool,
                                                        id.len + 1);
        if (t->tpl.alimtalk_id == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy((u_char *) t->tpl.alimtalk_id, id.data, id.len);
        ((u_char *) t->tpl.alimtalk_id)[id.len] = '\0';
    }

    (void) cmd;

    return NGX_CONF_OK;
}


static void
ngx_http_integrations_notify_tpl_free(void *data)
{
    integrations_tpl_file_free(data);
}


/* notify_route CHANNEL PROVIDER [type=TYPE] [fallback=PROVIDER|off] */

static char *
ngx_http_integrations_notify_route_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf)
{
    ngx_http_integrations_notify_main_conf_t *nmcf = conf;

    u_char                                *p;
    ngx_str_t                             *value;
    ngx_uint_t                             i, k;
    ngx_http_integrations_notify_route_t  *rt;

    value = cf->args->elts;

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '_' || *p == '-'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_route\" "
                               "directive invalid channel \"%V\" (lower "
                               "case letters, digits, \"_\", \"-\")",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 0 || value[1].len > 63
        || ngx_strcmp(value[1].data, NGX_HTTP_NOTIFY_ALERT_CHANNEL) == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_route\" directive "
                           "invalid channel \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    rt = ngx_array_push(&nmcf->routes);
    if (rt == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(rt, sizeof(ngx_http_integrations_notify_route_t));
    rt->channel = value[1];
    rt->provider_name = value[2];
    rt->type_given = -1;

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "type=", 5) == 0
            && rt->type_given == -1)
        {
            for (k = 0; ngx_http_integrations_notify_types[k]; k++) {
                if (ngx_strcmp(value[i].data + 5,
                               ngx_http_integrations_notify_types[k]) == 0)
                {
                    rt->type_given = (ngx_int_t) k;
                }
            }

            if (rt->type_given != -1) {
                continue;
            }
        }

        if (ngx_strncmp(value[i].data, "fallback=", 9) == 0
            && rt->fallback_name.len == 0 && !rt->fallback_none
            && value[i].len > 9)
        {
            if (ngx_strcmp(value[i].data + 9, "off") == 0) {
                rt->fallback_none = 1;

            } else {
                rt->fallback_name.data = value[i].data + 9;
                rt->fallback_name.len = value[i].len - 9;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_route\" directive "
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    (void) cmd;

    return NGX_CONF_OK;
}


/*
 * notify_retry attempts=N [max_age=TIME] [base=TIME] [cap=TIME]
 *              [jitter=full|decorrelated]
 */

static char *
ngx_http_integrations_notify_retry(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_notify_main_conf_t *nmcf = conf;

    ngx_int_t    n;
    ngx_str_t   *value, s;
    ngx_msec_t   ms;
    ngx_uint_t   i;

    if (nmcf->retry_set) {
        return "is duplicate";
    }

    nmcf->retry_set = 1;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "attempts=", 9) == 0) {
            n = ngx_atoi(value[i].data + 9, value[i].len - 9);
            if (n < 1 || n > 100) {
                goto invalid;
            }

            nmcf->retry.attempts = (unsigned) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "jitter=", 7) == 0) {
            if (ngx_strcmp(value[i].data + 7, "full") == 0) {
                nmcf->retry.jitter = INTEGRATIONS_RETRY_FULL;

            } else if (ngx_strcmp(value[i].data + 7, "decorrelated") == 0) {
                nmcf->retry.jitter = INTEGRATIONS_RETRY_DECORRELATED;

            } else {
                goto invalid;
            }

            continue;
        }

        s.data = (u_char *) ngx_strchr(value[i].data, '=');
        if (s.data == NULL) {
            goto invalid;
        }

        s.data++;
        s.len = value[i].data + value[i].len - s.data;

        ms = ngx_parse_time(&s, 0);
        if (ms == (ngx_msec_t) NGX_ERROR) {
            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "max_age=", 8) == 0) {
            nmcf->max_age = ms;

        } else if (ngx_strncmp(value[i].data, "base=", 5) == 0 && ms > 0) {
            nmcf->retry.base_ms = (int64_t) ms;

        } else if (ngx_strncmp(value[i].data, "cap=", 4) == 0 && ms > 0) {
            nmcf->retry.cap_ms = (int64_t) ms;

        } else {
            goto invalid;
        }
    }

    (void) cmd;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_retry\" directive "
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/* notify_alert PROVIDER channel=NAME */

static char *
ngx_http_integrations_notify_alert_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf)
{
    ngx_http_integrations_notify_main_conf_t *nmcf = conf;

    ngx_str_t  *value;

    if (nmcf->alert_provider_name.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strncmp(value[2].data, "channel=", 8) != 0 || value[2].len == 8) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_alert\" directive "
                           "invalid parameter \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    nmcf->alert_provider_name = value[1];
    nmcf->alert_channel.data = value[2].data + 8;
    nmcf->alert_channel.len = value[2].len - 8;

    (void) cmd;

    return NGX_CONF_OK;
}


/* notify_delivery [lease=TIME] [interval=TIME] [batch=N] */

static char *
ngx_http_integrations_notify_delivery(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_notify_main_conf_t *nmcf = conf;

    ngx_int_t    n;
    ngx_str_t   *value, s;
    ngx_msec_t   ms;
    ngx_uint_t   i;

    if (nmcf->delivery_set) {
        return "is duplicate";
    }

    nmcf->delivery_set = 1;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "batch=", 6) == 0) {
            n = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (n < (ngx_int_t) ngx_http_integrations_notify_batch_bounds.low
                || n > (ngx_int_t)
                       ngx_http_integrations_notify_batch_bounds.high)
            {
                goto invalid;
            }

            nmcf->batch = (ngx_uint_t) n;
            continue;
        }

        s.data = (u_char *) ngx_strchr(value[i].data, '=');
        if (s.data == NULL) {
            goto invalid;
        }

        s.data++;
        s.len = value[i].data + value[i].len - s.data;

        ms = ngx_parse_time(&s, 0);
        if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "lease=", 6) == 0) {
            nmcf->lease = ms;

        } else if (ngx_strncmp(value[i].data, "interval=", 9) == 0) {
            nmcf->interval = ms;

        } else {
            goto invalid;
        }
    }

    (void) cmd;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_delivery\" directive "
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_integrations_notify_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_notify_loc_conf_t *nlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (nlcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    nlcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_integrations_notify_handler;

    (void) cmd;

    return NGX_CONF_OK;
}


/* ---- configuration ----------------------------------------------------- */

static ngx_int_t
ngx_http_integrations_notify_postconf(ngx_conf_t *cf)
{
    ngx_uint_t                                 i;
    ngx_msec_t                                 interval;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    nmcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_integrations_notify_module);

    nmcf->providers = ngx_http_integrations_notify_providers(cf,
                                                            &nmcf->nproviders);

    if (nmcf->nproviders > NGX_HTTP_NOTIFY_PROVIDERS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "more than %d "
                           "\"notify_provider\"", NGX_HTTP_NOTIFY_PROVIDERS);
        return NGX_ERROR;
    }

    if (ngx_http_integrations_notify_routes(cf, nmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (nmcf->enabled && !ngx_http_integrations_store_enabled(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_api\" requires "
                           "\"integrations_store\": the outbox is durable");
        return NGX_ERROR;
    }

    if (nmcf->enabled && nmcf->nproviders == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_api\" requires "
                           "at least one \"notify_provider\"");
        return NGX_ERROR;
    }

    if (nmcf->nproviders == 0 || !ngx_http_integrations_store_enabled(cf)) {
        nmcf->enabled = 0;
        return NGX_OK;
    }

    /* providers and a store: the sender runs, the C API works */

    nmcf->enabled = 1;

    nmcf->zone = ngx_shared_memory_add(cf,
                                   &ngx_http_integrations_notify_zone_name,
                                   sizeof(ngx_http_integrations_notify_shctx_t)
                                   + 16 * ngx_pagesize,
                                   &ngx_http_integrations_notify_module);
    if (nmcf->zone == NULL) {
        return NGX_ERROR;
    }

    nmcf->zone->init = ngx_http_integrations_notify_init_zone;
    nmcf->zone->data = nmcf;

    interval = nmcf->retention / 4;

    if (interval > 60000) {
        interval = 60000;
    }

    if (interval < 1000) {
        interval = 1000;
    }

    if (ngx_http_integrations_store_add_cleanup_age(cf,
                INTEGRATIONS_STORE_OP_OUTBOX_PURGE, interval,
                NGX_HTTP_NOTIFY_PURGE_BATCH, nmcf->retention)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "notify: too many store "
                           "cleanups");
        return NGX_ERROR;
    }

    for (i = 0; i < nmcf->nproviders; i++) {
        nmcf->latency[i] = i;
    }

    return ngx_http_integrations_status_add_collector(cf,
                                   ngx_http_integrations_notify_collect, nmcf);
}


/*
 * The routes: as given by notify_route, or (none given) one per provider
 * and channel type it serves, named after the type ("sms", "alimtalk",
 * "email", "push", "slack"), in the order of the providers.  An AlimTalk
 * route falls back to its own provider's SMS when that provider sends
 * SMS (solapi), unless fallback=off.
 */

static ngx_int_t
ngx_http_integrations_notify_routes(ngx_conf_t *cf,
    ngx_http_integrations_notify_main_conf_t *nmcf)
{
    u_char                                *p;
    ngx_uint_t                             i, k, t, n;
    ngx_http_integrations_notify_route_t  *rt;
    integrations_notify_route_t           *core;

    if (nmcf->routes.nelts == 0) {
        for (i = 0; i < nmcf->nproviders; i++) {
            for (t = 0; ngx_http_integrations_notify_types[t]; t++) {
                if (!(nmcf->providers[i]->channels
                      & NGX_HTTP_INTEGRATIONS_NOTIFY_CH(t)))
                {
                    continue;
                }

                rt = ngx_array_push(&nmcf->routes);
                if (rt == NULL) {
                    return NGX_ERROR;
                }

                ngx_memzero(rt, sizeof(ngx_http_integrations_notify_route_t));
                rt->channel.data = (u_char *)
                                   ngx_http_integrations_notify_types[t];
                rt->channel.len = ngx_strlen(rt->channel.data);
                rt->provider_name = nmcf->providers[i]->name;
                rt->type_given = (ngx_int_t) t;
            }
        }
    }

    n = nmcf->routes.nelts;
    rt = nmcf->routes.elts;

    core = ngx_pcalloc(cf->pool, (n ? n : 1)
                                 * sizeof(integrations_notify_route_t));
    if (core == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        rt[i].provider = ngx_http_integrations_notify_provider_find(cf,
                                                         &rt[i].provider_name);
        if (rt[i].provider == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_route\" "
                               "\"%V\": no \"notify_provider\" \"%V\"",
                               &rt[i].channel, &rt[i].provider_name);
            return NGX_ERROR;
        }

        if (rt[i].type_given == -1) {
            /* the channel's name if it is a type, else the provider's one */

            for (t = 0; ngx_http_integrations_notify_types[t]; t++) {
                if (rt[i].channel.len
                        == ngx_strlen(ngx_http_integrations_notify_types[t])
                    && ngx_strncmp(rt[i].channel.data,
                                   ngx_http_integrations_notify_types[t],
                                   rt[i].channel.len) == 0
                    && (rt[i].provider->channels
                        & NGX_HTTP_INTEGRATIONS_NOTIFY_CH(t)))
                {
                    rt[i].type_given = (ngx_int_t) t;
                }
            }

            for (t = 0, k = 0; rt[i].type_given == -1
                               && ngx_http_integrations_notify_types[t]; t++)
            {
                if (rt[i].provider->channels
                    & NGX_HTTP_INTEGRATIONS_NOTIFY_CH(t))
                {
                    k++;
                    if (k == 1) {
                        rt[i].type = t;
                    }
                }
            }

            if (rt[i].type_given == -1) {
                if (k != 1) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "\"notify_route\" \"%V\": provider "
                                       "\"%V\" serves several channel "
                                       "types: give \"type=\"",
                                       &rt[i].channel, &rt[i].provider_name);
                    return NGX_ERROR;
                }

                rt[i].type_given = (ngx_int_t) rt[i].type;
            }
        }

        rt[i].type = (ngx_uint_t) rt[i].type_given;

        if (ngx_http_integrations_notify_provider_route(rt[i].provider,
                                                        rt[i].type, &core[i])
            != NGX_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_route\" "
                               "\"%V\": provider \"%V\" does not send %s",
                               &rt[i].channel, &rt[i].provider_name,
                               ngx_http_integrations_notify_types[rt[i].type]);
            return NGX_ERROR;
        }

        p = ngx_pnalloc(cf->pool, rt[i].channel.len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, rt[i].channel.data, rt[i].channel.len);
        p[rt[i].channel.len] = '\0';
        rt[i].channel.data = p;
        core[i].channel = (const char *) p;

        /* the AlimTalk fallback */

        if (rt[i].fallback_name.len) {
            if (rt[i].type != INTEGRATIONS_NOTIFY_ALIMTALK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_route\" "
                                   "\"%V\": \"fallback=\" is for alimtalk "
                                   "routes", &rt[i].channel);
                return NGX_ERROR;
            }

            rt[i].fallback = ngx_http_integrations_notify_provider_find(cf,
                                                         &rt[i].fallback_name);

            if (rt[i].fallback == NULL
                || !(rt[i].fallback->channels
                     & NGX_HTTP_INTEGRATIONS_NOTIFY_CH(INTEGRATIONS_NOTIFY_SMS))
                || rt[i].fallback->type != NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_route\" "
                                   "\"%V\": the fallback \"%V\" is not a "
                                   "solapi \"notify_provider\" (the SMS of "
                                   "an AlimTalk takes a Korean number)",
                                   &rt[i].channel, &rt[i].fallback_name);
                return NGX_ERROR;
            }

        } else if (rt[i].type == INTEGRATIONS_NOTIFY_ALIMTALK
                   && !rt[i].fallback_none
                   && (rt[i].provider->channels
                       & NGX_HTTP_INTEGRATIONS_NOTIFY_CH(
                             INTEGRATIONS_NOTIFY_SMS)))
        {
            rt[i].fallback = rt[i].provider;
        }
    }

    nmcf->core_routes = core;
    nmcf->nroutes = n;

    /* the alert's provider */

    if (nmcf->alert_provider_name.len) {
        integrations_notify_route_t  ar;
        char                         norm[INTEGRATIONS_RCPT_MAX + 1];
        size_t                       nlen;
        const char                  *why;

        nmcf->alert_provider = ngx_http_integrations_notify_provider_find(cf,
                                                   &nmcf->alert_provider_name);
        if (nmcf->alert_provider == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_alert\": no "
                               "\"notify_provider\" \"%V\"",
                               &nmcf->alert_provider_name);
            return NGX_ERROR;
        }

        for (t = 0; ngx_http_integrations_notify_types[t]; t++) {
            if (ngx_http_integrations_notify_provider_route(
                    nmcf->alert_provider, t, &ar) == NGX_OK)
            {
                break;
            }
        }

        if (ngx_http_integrations_notify_types[t] == NULL
            || integrations_rcpt_normalize(ar.recipient, ar.default_cc,
                   (const char *) nmcf->alert_channel.data,
                   nmcf->alert_channel.len, norm, sizeof(norm), &nlen, &why)
               != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_alert\" "
                               "invalid parameter \"channel=%V\"",
                               &nmcf->alert_channel);
            return NGX_ERROR;
        }

        nmcf->alert_channel.data = ngx_pnalloc(cf->pool, nlen + 1);
        if (nmcf->alert_channel.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(nmcf->alert_channel.data, norm, nlen + 1);
        nmcf->alert_channel.len = nlen;
    }

    return NGX_OK;
}


/* the counters: one slot per channel and provider, kept across reloads */

static ngx_int_t
ngx_http_integrations_notify_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_integrations_notify_main_conf_t *nmcf = shm_zone->data;

    ngx_str_t                              alert;
    ngx_uint_t                             i, k;
    ngx_slab_pool_t                       *shpool;
    ngx_http_integrations_notify_route_t  *rt;
    ngx_http_integrations_notify_shctx_t  *sh;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sh = NULL;

    if (data || shm_zone->shm.exists) {
        sh = shpool->data;

        if (sh == NULL || sh->magic != 0x4e544659
            || sh->size != sizeof(ngx_http_integrations_notify_shctx_t))
        {
            ngx_slab_init(shpool);
            sh = NULL;
        }
    }

    if (sh == NULL) {
        sh = ngx_slab_calloc(shpool,
                             sizeof(ngx_http_integrations_notify_shctx_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        sh->magic = 0x4e544659;
        sh->size = sizeof(ngx_http_integrations_notify_shctx_t);
        shpool->data = sh;
    }

    rt = nmcf->routes.elts;

    for (i = 0; i < nmcf->routes.nelts; i++) {
        rt[i].stat = ngx_http_integrations_notify_slot(sh, &rt[i].channel,
                                                       &rt[i].provider->name);
        rt[i].fallback_stat = rt[i].fallback
                              ? ngx_http_integrations_notify_slot(sh,
                                    &rt[i].channel, &rt[i].fallback->name)
                              : NGX_HTTP_NOTIFY_STATS;
    }

    if (nmcf->alert_provider) {
        ngx_str_set(&alert, NGX_HTTP_NOTIFY_ALERT_CHANNEL);
        nmcf->alert_stat = ngx_http_integrations_notify_slot(sh, &alert,
                                                &nmcf->alert_provider->name);
    }

    for (i = 0; i < nmcf->nproviders; i++) {
        nmcf->latency[i] = NGX_HTTP_NOTIFY_PROVIDERS;

        for (k = 0; k < NGX_HTTP_NOTIFY_PROVIDERS; k++) {
            if (sh->latency[k].used
                && ngx_strcmp(sh->latency[k].provider,
                              nmcf->providers[i]->name.data) == 0)
            {
                nmcf->latency[i] = k;
                break;
            }
        }

        for (k = 0; nmcf->latency[i] == NGX_HTTP_NOTIFY_PROVIDERS
                    && k < NGX_HTTP_NOTIFY_PROVIDERS; k++)
        {
            if (!sh->latency[k].used
                && nmcf->providers[i]->name.len < 64)
            {
                ngx_memcpy(sh->latency[k].provider,
                           nmcf->providers[i]->name.data,
                           nmcf->providers[i]->name.len);
                sh->latency[k].provider[nmcf->providers[i]->name.len] = '\0';
                sh->latency[k].used = 1;
                nmcf->latency[i] = k;
            }
        }
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_integrations_notify_slot(ngx_http_integrations_notify_shctx_t *sh,
    ngx_str_t *channel, ngx_str_t *provider)
{
    ngx_uint_t                            i;
    ngx_http_integrations_notify_stat_t  *st;

    if (channel->len >= 64 || provider->len >= 64) {
        return NGX_HTTP_NOTIFY_STATS;
    }

    for (i = 0; i < NGX_HTTP_NOTIFY_STATS; i++) {
        st = &sh->stats[i];

        if (st->used
            && ngx_strlen(st->channel) == channel->len
            && ngx_strncmp(st->channel, channel->data, channel->len) == 0
            && ngx_strlen(st->provider) == provider->len
            && ngx_strncmp(st->provider, provider->data, provider->len) == 0)
        {
            return i;
        }
    }

    for (i = 0; i < NGX_HTTP_NOTIFY_STATS; i++) {
        st = &sh->stats[i];

        if (!st->used) {
            ngx_memcpy(st->channel, channel->data, channel->len);
            st->channel[channel->len] = '\0';
            ngx_memcpy(st->provider, provider->data, provider->len);
            st->provider[provider->len] = '\0';
            st->used = 1;
            return i;
        }
    }

    return NGX_HTTP_NOTIFY_STATS;
}


static ngx_int_t
ngx_http_integrations_notify_init_process(ngx_cycle_t *cycle)
{
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (ngx_get_conf(cycle->conf_ctx, ngx_http_module) == NULL) {
        return NGX_OK;
    }

    nmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                          ngx_http_integrations_notify_module);

    if (nmcf == NULL || !nmcf->enabled) {
        return NGX_OK;
    }

    return ngx_http_integrations_notify_sender_init(cycle);
}


static void
ngx_http_integrations_notify_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_integrations_notify_sender_exit(cycle);
}


static void *
ngx_http_integrations_notify_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    nmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_notify_main_conf_t));
    if (nmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&nmcf->templates, cf->pool, 4,
                       sizeof(ngx_http_integrations_notify_tpl_t))
        != NGX_OK
        || ngx_array_init(&nmcf->routes, cf->pool, 4,
                          sizeof(ngx_http_integrations_notify_route_t))
           != NGX_OK)
    {
        return NULL;
    }

    nmcf->retention = NGX_CONF_UNSET_MSEC;
    nmcf->idem_ttl = NGX_CONF_UNSET_MSEC;
    nmcf->max_age = NGX_CONF_UNSET_MSEC;
    nmcf->retry.attempts = 0;
    nmcf->retry.jitter = INTEGRATIONS_RETRY_FULL;

    return nmcf;
}


static char *
ngx_http_integrations_notify_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_integrations_notify_main_conf_t *nmcf = conf;

    ngx_conf_init_msec_value(nmcf->retention, (ngx_msec_t) 30 * 86400000);
    ngx_conf_init_msec_value(nmcf->idem_ttl, 86400000);
    ngx_conf_init_msec_value(nmcf->max_age, 86400000);

    if (nmcf->retry.attempts == 0) {
        nmcf->retry.attempts = 5;
    }

    if (nmcf->retry.base_ms == 0) {
        nmcf->retry.base_ms = 1000;
    }

    if (nmcf->retry.cap_ms == 0) {
        nmcf->retry.cap_ms = 300000;
    }

    if (nmcf->retry.cap_ms < nmcf->retry.base_ms) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_retry\" cap= is "
                           "shorter than base=");
        return NGX_CONF_ERROR;
    }

    nmcf->retry.max_age_ms = (int64_t) nmcf->max_age;

    if (nmcf->retention < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_retention\" must "
                           "be at least 1s");
        return NGX_CONF_ERROR;
    }

    if (nmcf->idem_ttl < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"notify_idempotency_ttl\" "
                           "must be at least 1s");
        return NGX_CONF_ERROR;
    }

    if (nmcf->interval == 0) {
        nmcf->interval = 200;
    }

    if (nmcf->batch == 0) {
        nmcf->batch = 100;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_integrations_notify_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_notify_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_notify_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;
    /* unset, which ngx_http_set_complex_value_slot also takes as unset */
    conf->scope = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_integrations_notify_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_integrations_notify_loc_conf_t  *prev = parent;
    ngx_http_integrations_notify_loc_conf_t  *conf = child;

    ngx_http_integrations_notify_main_conf_t  *nmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_ptr_value(conf->scope, prev->scope, NULL);

    if (conf->enable == 1) {
        nmcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_integrations_notify_module);
        nmcf->enabled = 1;
    }

    return NGX_CONF_OK;
}
