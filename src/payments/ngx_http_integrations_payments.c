/*
 * The unified payments API.
 *
 *     payment_provider  stripe  key_file=keys/stripe base_url=https://...;
 *     payment_provider  paypal  key_file=keys/paypal;   # client_id:secret
 *
 *     location /payments {
 *         payment_api;
 *     }
 *
 *     POST /payments                          create (Toss: confirm)
 *     GET  /payments/providers                what is configured
 *     GET  /payments/{provider}/{id}          status
 *     POST /payments/{provider}/{id}/refund   refund or cancel
 *     POST /payments/{provider}/{id}/capture  capture (PayPal)
 *
 * The handler translates: the request and the answer are the pure core's
 * (integrations_payment.c), the call is the outbound client's.  A call
 * takes one to three steps: the PayPal token when there is no fresh one,
 * a read of the payment when the refund needs what it holds (PayPal's
 * capture id, Square's amount), then the call itself.
 *
 * PayPal's token lives in shared memory for all workers.  A worker that
 * finds none fetches it while the others wait for it (polling the zone,
 * never blocking); a token in the last tenth of its life is still used
 * while one worker refreshes it in the background, from a timer-driven
 * call with no client request.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>

#include "integrations_breaker.h"
#include "integrations_gcra.h"
#include "integrations_money.h"
#include "integrations_payment.h"
#include "ngx_http_integrations_outbound.h"
#include "ngx_http_integrations_outbound_limits.h"
#include "ngx_http_integrations_payments.h"
#include "ngx_http_integrations_payments_metrics.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_secret.h"
#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_store.h"


#define NGX_HTTP_PAY_MAX_BODY        65536
#define NGX_HTTP_PAY_TOKEN_LEN       2048
#define NGX_HTTP_PAY_TOKEN_POLL      20      /* ms */
#define NGX_HTTP_PAY_PAYMENT_REQUIRED  402
#define NGX_HTTP_PAY_RETRY_AFTER     2       /* s, when the provider says
                                                nothing */
#define NGX_HTTP_PAY_UNPROCESSABLE   422
#define NGX_HTTP_PAY_IDEM_BATCH      100     /* expired keys per delete */

/* a client Idempotency-Key's record, as this request sees it */
#define NGX_HTTP_PAY_IDEM_NONE       0       /* not kept in the store */
#define NGX_HTTP_PAY_IDEM_WAITING    1       /* asked the store */
#define NGX_HTTP_PAY_IDEM_OWNED      2       /* the key is this attempt's */
#define NGX_HTTP_PAY_IDEM_FINISHING  3       /* storing the answer */
#define NGX_HTTP_PAY_IDEM_RELEASING  4       /* letting the key go */
#define NGX_HTTP_PAY_IDEM_SETTLED    5       /* nothing left to do */

typedef struct {
    ngx_str_t                  name;
    ngx_int_t                  type;        /* integrations_pay_provider_e */
    ngx_str_t                  base_url;
    ngx_str_t                  credential;  /* cleansed with cf->pool */
    ngx_str_t                  currencies;  /* "USD,EUR" */
    ngx_str_t                  methods;
    ngx_str_t                  auth;        /* the header line, or the
                                               token call's for PayPal */
    ngx_msec_t                 connect_timeout;
    ngx_msec_t                 timeout;
    uint32_t                   fingerprint; /* of base_url + credential */
    ngx_shm_zone_t            *zone;        /* PayPal's token */
    ngx_http_integrations_outbound_limits_t  limits;  /* rate_limit=,
                                               circuit_breaker= */
} ngx_http_integrations_pay_provider_t;


/* PayPal's token, shared by the workers */

typedef struct {
    uint32_t                   fingerprint;
    time_t                     expires;     /* 0: none */
    time_t                     refresh_at;
    ngx_msec_t                 fetching;    /* ngx_current_msec deadline */
    ngx_pid_t                  fetcher;
    size_t                     len;
    u_char                     token[NGX_HTTP_PAY_TOKEN_LEN];
} ngx_http_integrations_pay_token_t;


typedef struct {
    ngx_array_t                providers;   /* of provider_t */
    ngx_shm_zone_t            *token_zone;
    ngx_http_integrations_pay_metrics_t  *metrics;

    /* client idempotency, with a store */
    ngx_flag_t                 idem;
    ngx_msec_t                 idem_lock;   /* an attempt's longest life */
    ngx_msec_t                 idem_min_ttl;
    ngx_http_integrations_status_counter_t  *idem_replays;
    ngx_http_integrations_status_counter_t  *idem_conflicts;
    ngx_http_integrations_status_counter_t  *idem_unavailable;
} ngx_http_integrations_pay_main_conf_t;


typedef struct {
    ngx_flag_t                 enable;
    ngx_msec_t                 idem_ttl;
    ngx_http_complex_value_t  *idem_scope;
} ngx_http_integrations_pay_loc_conf_t;


typedef enum {
    NGX_HTTP_PAY_STEP_TOKEN = 0,
    NGX_HTTP_PAY_STEP_READ,
    NGX_HTTP_PAY_STEP_CALL
} ngx_http_integrations_pay_step_e;


typedef struct {
    ngx_http_request_t                    *request;
    ngx_http_integrations_pay_provider_t  *provider;
    ngx_int_t                              op;
    ngx_int_t                              step;
    ngx_str_t                              id;
    ngx_str_t                              idempotency_key;
    ngx_str_t                              body;   /* read so far */
    integrations_pay_input_t               in;
    unsigned                               have_input:1;
    unsigned                               have_read:1;
    integrations_pay_result_t              read;   /* the READ step's */
    ngx_str_t                              token;
    ngx_event_t                            wait;
    ngx_msec_t                             wait_until;
    ngx_int_t                              rc;     /* of a sent answer */
    ngx_msec_t                             start;

    /* the client's Idempotency-Key in the store */
    ngx_uint_t                             idem;
    unsigned                               idem_answered:1;
    int64_t                                idem_owner;
    u_char                                 idem_scope[
                                               INTEGRATIONS_STORE_HASH_LEN
                                               + 1];
    u_char                                 idem_hash[
                                               INTEGRATIONS_STORE_HASH_LEN
                                               + 1];
    ngx_http_integrations_outbound_req_t  *idem_req;    /* answered after
                                                           the release */
    ngx_uint_t                             idem_status;  /* the answer */
    ngx_str_t                              idem_body;    /* being stored */
} ngx_http_integrations_pay_ctx_t;


static ngx_int_t ngx_http_integrations_pay_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_pay_log(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_pay_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_integrations_pay_route(ngx_http_request_t *r,
    ngx_http_integrations_pay_ctx_t *ctx);
static void ngx_http_integrations_pay_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_pay_proceed(
    ngx_http_integrations_pay_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_pay_idem_begin(
    ngx_http_integrations_pay_ctx_t *ctx, ngx_str_t *body);
static void ngx_http_integrations_pay_idem_begun(
    ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_integrations_pay_final(
    ngx_http_integrations_pay_ctx_t *ctx, ngx_uint_t status, u_char *data,
    size_t len);
static void ngx_http_integrations_pay_idem_finished(
    ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_integrations_pay_idem_release(
    ngx_http_integrations_pay_ctx_t *ctx,
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_integrations_pay_idem_released(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_pay_idem_abandon(
    ngx_http_integrations_pay_ctx_t *ctx);
static void ngx_http_integrations_pay_idem_attempt(
    ngx_http_integrations_pay_ctx_t *ctx, integrations_store_bytes_t *scope,
    integrations_store_bytes_t *key, int64_t *owner);
static ngx_int_t ngx_http_integrations_pay_read_body(ngx_http_request_t *r,
    ngx_http_integrations_pay_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_pay_body_refused(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_integrations_pay_input(ngx_http_request_t *r,
    ngx_http_integrations_pay_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_pay_client_key(ngx_http_request_t *r,
    ngx_str_t **key);
static ngx_int_t ngx_http_integrations_pay_select(ngx_http_request_t *r,
    ngx_http_integrations_pay_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_pay_sent(
    ngx_http_integrations_pay_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_integrations_pay_next(
    ngx_http_integrations_pay_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_pay_token(
    ngx_http_integrations_pay_ctx_t *ctx);
static void ngx_http_integrations_pay_token_wait(ngx_event_t *ev);
static ngx_int_t ngx_http_integrations_pay_token_store(
    ngx_http_integrations_pay_provider_t *p,
    ngx_http_integrations_outbound_req_t *req, ngx_log_t *log);
static void ngx_http_integrations_pay_token_refresh(
    ngx_http_integrations_pay_provider_t *p, ngx_log_t *log);
static void ngx_http_integrations_pay_token_refreshed(
    ngx_http_integrations_outbound_req_t *req);
static ngx_int_t ngx_http_integrations_pay_send(
    ngx_http_integrations_pay_ctx_t *ctx, ngx_int_t op);
static ngx_http_integrations_outbound_req_t *
    ngx_http_integrations_pay_request(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_integrations_pay_provider_t *p, integrations_pay_http_t *h,
    ngx_str_t *auth, ngx_str_t *key);
static void ngx_http_integrations_pay_done(
    ngx_http_integrations_outbound_req_t *req);
static ngx_int_t ngx_http_integrations_pay_answer(
    ngx_http_integrations_pay_ctx_t *ctx,
    ngx_http_integrations_outbound_req_t *req);
static ngx_int_t ngx_http_integrations_pay_unavailable(
    ngx_http_request_t *r, ngx_http_integrations_outbound_req_t *req,
    const char *what);
static ngx_int_t ngx_http_integrations_pay_refused(ngx_http_request_t *r,
    ngx_int_t rc, time_t retry_after);
static ngx_int_t ngx_http_integrations_pay_bad_field(ngx_http_request_t *r,
    const char *field, const char *why);
static ngx_int_t ngx_http_integrations_pay_declined(
    ngx_http_integrations_pay_ctx_t *ctx, integrations_pay_result_t *res);
static ngx_int_t ngx_http_integrations_pay_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len);
static ngx_int_t ngx_http_integrations_pay_providers(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_pay_supports(ngx_str_t *list,
    const char *code);
static void ngx_http_integrations_pay_cleanup(void *data);
static ngx_http_integrations_pay_provider_t *
    ngx_http_integrations_pay_find(ngx_http_request_t *r, u_char *name,
    size_t len);
static ngx_http_integrations_pay_provider_t *
    ngx_http_integrations_pay_limited(ngx_str_t *name);
static ngx_int_t ngx_http_integrations_pay_admit(
    ngx_http_integrations_outbound_req_t *req, time_t *retry_after);
static ngx_int_t ngx_http_integrations_pay_available(ngx_str_t *provider,
    ngx_log_t *log);
static void ngx_http_integrations_pay_record(
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_integrations_pay_release(
    ngx_http_integrations_outbound_req_t *req);
static ngx_http_integrations_pay_token_t *
    ngx_http_integrations_pay_token_shared(
    ngx_http_integrations_pay_provider_t *p);
static char *ngx_http_integrations_pay_provider(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_pay_api(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_integrations_pay_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_integrations_pay_free(void *data);
static void *ngx_http_integrations_pay_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_integrations_pay_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_integrations_pay_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


static ngx_command_t  ngx_http_integrations_pay_commands[] = {

    { ngx_string("payment_provider"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_integrations_pay_provider,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("payment_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_integrations_pay_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("payment_idempotency_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_pay_loc_conf_t, idem_ttl),
      NULL },

    { ngx_string("payment_idempotency_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_integrations_pay_loc_conf_t, idem_scope),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_payments_module_ctx = {
    NULL,                                          /* preconfiguration */
    ngx_http_integrations_pay_init,                /* postconfiguration */

    ngx_http_integrations_pay_create_main_conf,    /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    ngx_http_integrations_pay_create_loc_conf,     /* create location conf */
    ngx_http_integrations_pay_merge_loc_conf       /* merge location conf */
};


ngx_module_t  ngx_http_integrations_payments_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_payments_module_ctx,    /* module context */
    ngx_http_integrations_pay_commands,            /* module directives */
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
ngx_http_integrations_pay_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_pool_cleanup_t               *cln;
    ngx_http_integrations_pay_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_integrations_pay_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->start = ngx_current_msec;
    ctx->op = -2;                               /* no endpoint yet */

    /* the parsed client body and a token wait go with the request */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_integrations_pay_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_integrations_payments_module);

    rc = ngx_http_integrations_pay_route(r, ctx);

    if (rc == NGX_HTTP_NOT_FOUND) {
        return ngx_http_integrations_problem(r, rc, "not_found",
                                             "No such payments endpoint",
                                             NULL);
    }

    if (rc == NGX_HTTP_NOT_ALLOWED) {
        return ngx_http_integrations_problem(r, rc, "method_not_allowed",
                                             "Method not allowed", NULL);
    }

    if (r->method == NGX_HTTP_POST) {
        if (r->headers_in.content_length_n > NGX_HTTP_PAY_MAX_BODY) {
            return ngx_http_integrations_problem(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body_too_large",
                                        "Request body too large", NULL);
        }

        /*
         * Unbuffered: the body is taken as it comes, so that one without
         * a length (chunked) is refused as soon as it passes the limit,
         * not spooled up to client_max_body_size and refused by nginx's
         * own HTML page.  Whatever the reader refuses is ours to answer.
         */

        r->request_body_no_buffering = 1;

        rc = ngx_http_read_client_request_body(r,
                                            ngx_http_integrations_pay_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return ngx_http_integrations_pay_body_refused(r, rc);
        }

        return NGX_DONE;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->op < 0) {
        return ngx_http_integrations_pay_providers(r);
    }

    /* the request waits for the provider; the callback finalizes it */

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;

    rc = ngx_http_integrations_pay_next(ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    return NGX_DONE;
}


/* one observation per request, whatever path answered it */

static ngx_int_t
ngx_http_integrations_pay_log(ngx_http_request_t *r)
{
    ngx_str_t                               provider;
    ngx_uint_t                              status;
    const char                             *op, *error, *currency;
    ngx_http_integrations_pay_ctx_t        *ctx;
    ngx_http_integrations_pay_main_conf_t  *pmcf;

    static const char  *ops[] = { "create", "get", "refund", "capture" };

    pmcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_integrations_payments_module);

    if (pmcf->metrics == NULL) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_payments_module);

    /* replays and refusals by the key's record have counters of their own */

    if (ctx == NULL || ctx->idem_answered) {
        return NGX_OK;
    }

    if (ctx->provider) {
        provider = ctx->provider->name;
    } else {
        ngx_str_null(&provider);
    }

    op = (ctx->op >= 0 && ctx->op <= INTEGRATIONS_PAY_CAPTURE)
         ? ops[ctx->op] : (ctx->op == -1) ? "providers" : "unknown";

    currency = ctx->in.currency[0] ? ctx->in.currency : ctx->read.currency;

    status = r->headers_out.status;

    if (status >= 200 && status < 300) {
        error = NULL;

    } else {
        switch (status) {
        case NGX_HTTP_BAD_REQUEST:
        case NGX_HTTP_NOT_ALLOWED:
        case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
            error = "invalid";
            break;
        case NGX_HTTP_PAY_PAYMENT_REQUIRED:
            error = "declined";
            break;
        case NGX_HTTP_NOT_FOUND:
            error = "not_found";
            break;
        case NGX_HTTP_CONFLICT:
            error = "conflict";
            break;
        case NGX_HTTP_TOO_MANY_REQUESTS:
            error = "rate_limited";
            break;
        case NGX_HTTP_SERVICE_UNAVAILABLE:
            error = "breaker_open";
            break;
        case NGX_HTTP_BAD_GATEWAY:
            error = "unavailable";
            break;
        case NGX_HTTP_GATEWAY_TIME_OUT:
            error = "timeout";
            break;
        default:
            error = (r->connection->error || status == 0
                     || status == NGX_HTTP_CLIENT_CLOSED_REQUEST)
                    ? "client_closed" : "internal";
        }
    }

    ngx_http_integrations_pay_metrics_observe(pmcf->metrics, &provider, op,
                                              currency, error,
                                              ngx_current_msec - ctx->start);

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_pay_init(ngx_conf_t *cf)
{
    ngx_str_t                              *names, *currencies;
    ngx_uint_t                              i;
    ngx_http_handler_pt                    *h;
    ngx_http_core_main_conf_t              *cmcf;
    ngx_http_integrations_pay_provider_t   *p;
    ngx_http_integrations_pay_main_conf_t  *pmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_integrations_pay_log;

    /* the zones a provider names may be defined after it */

    pmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_integrations_payments_module);
    p = pmcf->providers.elts;

    for (i = 0; i < pmcf->providers.nelts; i++) {

        if (p[i].limits.rate_limit
            && p[i].limits.rate_limit->data == NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "payment provider \"%V\": rate_limit_zone "
                               "\"%V\" is unknown", &p[i].name,
                               &p[i].limits.rate_limit->shm.name);
            return NGX_ERROR;
        }

        if (p[i].limits.breaker && p[i].limits.breaker->data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "payment provider \"%V\": "
                               "circuit_breaker_zone \"%V\" is unknown",
                               &p[i].name, &p[i].limits.breaker->shm.name);
            return NGX_ERROR;
        }
    }

    if (pmcf->providers.nelts) {
        names = ngx_palloc(cf->pool,
                           2 * pmcf->providers.nelts * sizeof(ngx_str_t));
        if (names == NULL) {
            return NGX_ERROR;
        }

        currencies = names + pmcf->providers.nelts;

        for (i = 0; i < pmcf->providers.nelts; i++) {
            names[i] = p[i].name;
            currencies[i] = p[i].currencies;
        }

        pmcf->metrics = ngx_http_integrations_pay_metrics_create(cf, names,
                                                                 currencies,
                                                  pmcf->providers.nelts);
        if (pmcf->metrics == NULL) {
            return NGX_ERROR;
        }
    }

    /* client idempotency keys live in the store when there is one */

    if (pmcf->providers.nelts && ngx_http_integrations_store_enabled(cf)) {
        ngx_msec_t  longest;

        longest = 0;

        for (i = 0; i < pmcf->providers.nelts; i++) {
            longest = ngx_max(longest, p[i].timeout);
        }

        /* a token, a read and the call, each up to the timeout */

        pmcf->idem = 1;
        pmcf->idem_lock = 3 * longest
                          + 2 * ngx_http_integrations_store_timeout(cf);

        pmcf->idem_replays = ngx_http_integrations_status_add_counter(cf,
                         "integrations_payment_idempotent_replays_total",
                         "Requests answered with the stored answer of their "
                         "Idempotency-Key.");
        pmcf->idem_conflicts = ngx_http_integrations_status_add_counter(cf,
                         "integrations_payment_idempotency_conflicts_total",
                         "Requests refused: their Idempotency-Key was in "
                         "flight (409) or used for another request (422).");
        pmcf->idem_unavailable = ngx_http_integrations_status_add_counter(cf,
                         "integrations_payment_store_unavailable_total",
                         "Requests with an Idempotency-Key answered 503: the "
                         "store was unavailable.");

        if (pmcf->idem_replays == NULL || pmcf->idem_conflicts == NULL
            || pmcf->idem_unavailable == NULL)
        {
            return NGX_ERROR;
        }

        /* expired keys go in the background, at least twice a TTL */

        if (ngx_http_integrations_store_add_cleanup(cf,
                INTEGRATIONS_STORE_OP_IDEM_PURGE,
                ngx_max(1000, ngx_min(60000, (pmcf->idem_min_ttl
                                              ? pmcf->idem_min_ttl
                                              : 86400000) / 2)),
                NGX_HTTP_PAY_IDEM_BATCH)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /*
     * The hooks are the process's, not the cycle's, so they are always
     * set: they find the provider in ngx_cycle's configuration, and a
     * provider with no zones is let through.  A reload that fails half
     * way thus cannot leave the running configuration without limits.
     */

    ngx_http_integrations_outbound_hooks.admit =
                                           ngx_http_integrations_pay_admit;
    ngx_http_integrations_outbound_hooks.available =
                                           ngx_http_integrations_pay_available;
    ngx_http_integrations_outbound_hooks.record =
                                           ngx_http_integrations_pay_record;
    ngx_http_integrations_outbound_hooks.release =
                                           ngx_http_integrations_pay_release;

    return NGX_OK;
}


/*
 * The limits of the outbound client's calls, by provider name: the
 * limiter first, then the breaker, as on proxied routes.
 */

static ngx_http_integrations_pay_provider_t *
ngx_http_integrations_pay_limited(ngx_str_t *name)
{
    ngx_uint_t                              i;
    ngx_http_integrations_pay_provider_t   *p;
    ngx_http_integrations_pay_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                        ngx_http_integrations_payments_module);
    if (pmcf == NULL) {
        return NULL;
    }

    p = pmcf->providers.elts;

    for (i = 0; i < pmcf->providers.nelts; i++) {
        if (p[i].name.len == name->len
            && ngx_strncmp(p[i].name.data, name->data, name->len) == 0)
        {
            return (p[i].limits.rate_limit || p[i].limits.breaker) ? &p[i]
                                                                   : NULL;
        }
    }

    return NULL;
}


/*
 * The limiter, then the breaker (ngx_http_integrations_outbound_limits.h).
 * Over the rate a call is refused, never delayed: a client waits for the
 * payment anyway, and 429 with Retry-After tells it when to come back.
 */

static ngx_int_t
ngx_http_integrations_pay_admit(ngx_http_integrations_outbound_req_t *req,
    time_t *retry_after)
{
    uint64_t                               wait;
    ngx_int_t                              rc;
    ngx_http_integrations_pay_provider_t  *p;

    p = ngx_http_integrations_pay_limited(&req->provider);
    if (p == NULL) {
        return NGX_OK;
    }

    rc = ngx_http_integrations_outbound_limits_admit(&p->limits, req, &wait);

    if ((rc == NGX_BUSY || rc == NGX_DECLINED) && retry_after) {
        *retry_after = (time_t) ((wait + 999) / 1000);
    }

    return rc;
}


static ngx_int_t
ngx_http_integrations_pay_available(ngx_str_t *provider, ngx_log_t *log)
{
    ngx_http_integrations_pay_provider_t  *p;

    p = ngx_http_integrations_pay_limited(provider);

    return ngx_http_integrations_outbound_limits_available(
                                                  p ? &p->limits : NULL);
}


static void
ngx_http_integrations_pay_record(ngx_http_integrations_outbound_req_t *req)
{
    ngx_http_integrations_outbound_limits_record(req);
}


static void
ngx_http_integrations_pay_release(ngx_http_integrations_outbound_req_t *req)
{
    ngx_http_integrations_outbound_limits_release(req);
}


/*
 * The path after ".../payments": "" (create), "/providers",
 * "/{provider}/{id}", "/{provider}/{id}/refund|capture".
 */

static ngx_int_t
ngx_http_integrations_pay_route(ngx_http_request_t *r,
    ngx_http_integrations_pay_ctx_t *ctx)
{
    u_char     *p, *last, *seg[4];
    size_t      len[4];
    ngx_uint_t  n, want;

    p = r->uri.data;
    last = p + r->uri.len;

    for ( ;; ) {
        p = ngx_strlcasestrn(p, last, (u_char *) "/payments",
                             sizeof("/payments") - 2);
        if (p == NULL) {
            return NGX_HTTP_NOT_FOUND;
        }

        p += sizeof("/payments") - 1;

        if (p == last || *p == '/') {
            break;
        }
    }

    n = 0;

    while (p < last && n < 4) {
        p++;                                     /* '/' */
        seg[n] = p;

        while (p < last && *p != '/') {
            p++;
        }

        len[n] = p - seg[n];
        n++;
    }

    if (p < last || (n > 0 && len[n - 1] == 0)) {
        return NGX_HTTP_NOT_FOUND;
    }

    want = NGX_HTTP_GET;

    if (n == 0) {
        ctx->op = INTEGRATIONS_PAY_CREATE;
        want = NGX_HTTP_POST;

    } else if (n == 1 && len[0] == 9 && ngx_strncmp(seg[0], "providers", 9)
               == 0)
    {
        ctx->op = -1;

    } else if (n == 2) {
        ctx->op = INTEGRATIONS_PAY_GET;

    } else if (n == 3 && len[2] == 6 && ngx_strncmp(seg[2], "refund", 6)
               == 0)
    {
        ctx->op = INTEGRATIONS_PAY_REFUND;
        want = NGX_HTTP_POST;

    } else if (n == 3 && len[2] == 7 && ngx_strncmp(seg[2], "capture", 7)
               == 0)
    {
        ctx->op = INTEGRATIONS_PAY_CAPTURE;
        want = NGX_HTTP_POST;

    } else {
        return NGX_HTTP_NOT_FOUND;
    }

    if (!(r->method & want)) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (n >= 2) {
        ctx->provider = ngx_http_integrations_pay_find(r, seg[0], len[0]);
        if (ctx->provider == NULL) {
            return NGX_HTTP_NOT_FOUND;
        }

        if (!integrations_pay_id_valid((char *) seg[1], len[1])) {
            return NGX_HTTP_NOT_FOUND;
        }

        ctx->id.data = seg[1];
        ctx->id.len = len[1];

        if (ctx->op == INTEGRATIONS_PAY_CAPTURE
            && ctx->provider->type != INTEGRATIONS_PAY_PAYPAL)
        {
            return NGX_HTTP_NOT_FOUND;
        }
    }

    return NGX_OK;
}


/*
 * The body's post handler, and its read event handler while more of it
 * is to come.
 */

static void
ngx_http_integrations_pay_body(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_integrations_pay_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_payments_module);

    rc = ngx_http_integrations_pay_read_body(r, ctx);

    if (rc == NGX_AGAIN) {
        r->read_event_handler = ngx_http_integrations_pay_body;
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r,
                           ngx_http_integrations_pay_body_refused(r, rc));
        return;
    }

    r->read_event_handler = ngx_http_test_reading;

    ngx_http_integrations_pay_input(r, ctx);
}


static void
ngx_http_integrations_pay_input(ngx_http_request_t *r,
    ngx_http_integrations_pay_ctx_t *ctx)
{
    ngx_int_t                               rc;
    ngx_str_t                              *key;
    const char                             *field;
    ngx_http_integrations_pay_main_conf_t  *pmcf;

    field = NULL;

    if (ctx->op == INTEGRATIONS_PAY_CREATE) {
        rc = integrations_pay_parse_create((char *) ctx->body.data,
                                           ctx->body.len, &ctx->in, &field);

    } else if (ctx->op == INTEGRATIONS_PAY_REFUND) {
        rc = integrations_pay_parse_refund((char *) ctx->body.data,
                                           ctx->body.len, &ctx->in, &field);

    } else {
        /* capture: no body needed, any is ignored */
        rc = 0;
    }

    ctx->have_input = (ctx->in.tree != NULL);

    if (rc != 0) {
        rc = ngx_http_integrations_pay_bad_field(r, field,
                 ctx->in.why ? ctx->in.why : "is missing or invalid");
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* the client's key: kept in the store when there is one */

    if (ngx_http_integrations_pay_client_key(r, &key) != NGX_OK) {
        rc = ngx_http_integrations_pay_bad_field(r, "Idempotency-Key",
                                                 "is given more than once");
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (key) {
        if (key->len == 0 || key->len > 45
            || !integrations_pay_id_valid((char *) key->data, key->len))
        {
            rc = ngx_http_integrations_pay_bad_field(r, "Idempotency-Key",
                     "must be 1 to 45 letters, digits, '-' or '_'");
            ngx_http_finalize_request(r, rc);
            return;
        }

        ctx->idempotency_key = *key;

        pmcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_integrations_payments_module);

        if (pmcf->idem) {
            rc = ngx_http_integrations_pay_idem_begin(ctx, &ctx->body);

            if (rc != NGX_DONE) {
                ngx_http_finalize_request(r, rc);
            }

            return;
        }
    }

    rc = ngx_http_integrations_pay_proceed(ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * After the body, and the client's key if it has one in the store: the
 * provider, the key the provider gets, and the first step.  Returns what
 * ngx_http_finalize_request() wants, or NGX_DONE.
 */

static ngx_int_t
ngx_http_integrations_pay_proceed(ngx_http_integrations_pay_ctx_t *ctx)
{
    char                *what;
    u_char              *p;
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (ctx->op == INTEGRATIONS_PAY_CREATE) {
        rc = ngx_http_integrations_pay_select(r, ctx);
        if (rc != NGX_OK) {
            return (rc == NGX_ABORT) ? ctx->rc : rc;
        }
    }

    /* without the client's key, one made from what makes the call the same */

    if (ctx->idempotency_key.len == 0) {
        p = ngx_pnalloc(r->pool, INTEGRATIONS_PAY_IDEM_LEN + 1
                                 + INTEGRATIONS_MONEY_STR_LEN + 8);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        what = (char *) p + INTEGRATIONS_PAY_IDEM_LEN + 1;

        if (ctx->op == INTEGRATIONS_PAY_CREATE) {
            integrations_pay_idempotency_key(ctx->provider->type,
                                             ctx->in.order_id.data,
                                             ctx->in.order_id.len,
                                             "create", (char *) p);
        } else {
            /* a refund of all and one of part are not the same call */
            ngx_sprintf((u_char *) what, "%s:%L%Z",
                        ctx->op == INTEGRATIONS_PAY_REFUND ? "refund"
                                                           : "capture",
                        ctx->op == INTEGRATIONS_PAY_REFUND
                        ? (int64_t) ctx->in.amount : (int64_t) 0);
            integrations_pay_idempotency_key(ctx->provider->type,
                                             (char *) ctx->id.data,
                                             ctx->id.len, what, (char *) p);
        }

        ctx->idempotency_key.data = p;
        ctx->idempotency_key.len = ngx_strlen(p);
    }

    return ngx_http_integrations_pay_next(ctx);
}


/*
 * The client's Idempotency-Key, or NULL; NGX_DECLINED when it is given
 * more than once: two keys for one call cannot both hold, and taking
 * either hides a client bug.
 */

static ngx_int_t
ngx_http_integrations_pay_client_key(ngx_http_request_t *r, ngx_str_t **key)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    *key = NULL;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_OK;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Idempotency-Key") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Idempotency-Key",
                               sizeof("Idempotency-Key") - 1) == 0)
        {
            if (*key) {
                return NGX_DECLINED;
            }

            *key = &h[i].value;
        }
    }
}


/*
 * Takes what the reader has of the body and reads on: NGX_OK with the
 * whole body in ctx->body, NGX_AGAIN to wait for more, or a status to
 * refuse it with (413 as soon as it passes the limit, before the rest
 * of it is read).  As nginx's upstream does with an unbuffered body, the
 * buffers taken are marked consumed so that the reader reuses them.
 */

static ngx_int_t
ngx_http_integrations_pay_read_body(ngx_http_request_t *r,
    ngx_http_integrations_pay_ctx_t *ctx)
{
    size_t                    n, size, got;
    ngx_int_t                 rc;
    ngx_buf_t                *b;
    ngx_uint_t                read;
    ngx_chain_t              *cl;
    ngx_http_request_body_t  *rb;

    rb = r->request_body;

    if (rb == NULL) {
        return NGX_OK;
    }

    read = 0;

    for ( ;; ) {
        got = 0;

        for (cl = rb->bufs; cl; cl = cl->next) {
            b = cl->buf;

            if (b->in_file) {
                /* an unbuffered body is never written to a file */
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "payments: request body in a file");
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            size = b->last - b->pos;

            if (size == 0) {
                continue;
            }

            if (size > NGX_HTTP_PAY_MAX_BODY - ctx->body.len) {
                return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
            }

            if (ctx->body.data == NULL) {

                /* the length when it is known, else room for the limit */

                n = r->headers_in.chunked
                    ? NGX_HTTP_PAY_MAX_BODY
                    : (size_t) r->headers_in.content_length_n;

                ctx->body.data = ngx_pnalloc(r->pool, ngx_max(n, size));
                if (ctx->body.data == NULL) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }
            }

            ngx_memcpy(ctx->body.data + ctx->body.len, b->pos, size);
            ctx->body.len += size;
            b->pos = b->last;
            got += size;
        }

        rb->bufs = NULL;

        if (!r->reading_body || (read && got == 0)) {
            break;
        }

        rc = ngx_http_read_unbuffered_request_body(r);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        read = 1;
    }

    return r->reading_body ? NGX_AGAIN : NGX_OK;
}


/*
 * What the body reader refused, answered as this module answers: a body
 * over the limit (ours or client_max_body_size) or a malformed chunked
 * one.  A client gone or too slow is nginx's to end.
 */

static ngx_int_t
ngx_http_integrations_pay_body_refused(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_str_t  d;

    if (r->connection->error || r->connection->timedout) {
        return rc;
    }

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE || rc == NGX_HTTP_BAD_REQUEST)
    {
        /* the rest of the body is unread: drained, then closed */
        r->keepalive = 0;
        r->lingering_close = 1;
    }

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        ngx_str_set(&d, "the body is over 64 KB or client_max_body_size");
        return ngx_http_integrations_problem(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body_too_large",
                                        "Request body too large", &d);
    }

    if (rc == NGX_HTTP_BAD_REQUEST) {
        ngx_str_set(&d, "the chunked body is malformed");
        return ngx_http_integrations_problem(r, NGX_HTTP_BAD_REQUEST,
                                             "invalid_request",
                                             "Invalid request", &d);
    }

    return rc;
}


/*
 * The provider for a create: the one named, or the first configured that
 * settles in the currency, has what it needs from the client, and whose
 * breaker would let a call through.
 */

static ngx_int_t
ngx_http_integrations_pay_select(ngx_http_request_t *r,
    ngx_http_integrations_pay_ctx_t *ctx)
{
    ngx_uint_t                              i, refused;
    integrations_pay_input_t               *in;
    ngx_http_integrations_pay_provider_t   *p;
    ngx_http_integrations_pay_main_conf_t  *pmcf;

    in = &ctx->in;

    if (in->provider.len) {
        p = ngx_http_integrations_pay_find(r, (u_char *) in->provider.data,
                                           in->provider.len);
        if (p == NULL) {
            return ngx_http_integrations_pay_sent(ctx,
                   ngx_http_integrations_pay_bad_field(r, "provider",
                                            "is not a configured provider"));
        }

        if (!ngx_http_integrations_pay_supports(&p->currencies,
                                                in->currency))
        {
            return ngx_http_integrations_pay_sent(ctx,
                   ngx_http_integrations_pay_bad_field(r, "currency",
                                        "is not supported by the provider"));
        }

        if (p->type == INTEGRATIONS_PAY_TOSS && in->payment_key.len == 0) {
            return ngx_http_integrations_pay_sent(ctx,
                   ngx_http_integrations_pay_bad_field(r, "payment_key",
                                    "is required to confirm a Toss payment"));
        }

        if (p->type == INTEGRATIONS_PAY_SQUARE && in->source.len == 0) {
            return ngx_http_integrations_pay_sent(ctx,
                   ngx_http_integrations_pay_bad_field(r, "source",
                                    "is required for a Square payment"));
        }

        ctx->provider = p;
        return NGX_OK;
    }

    pmcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_integrations_payments_module);

    p = pmcf->providers.elts;
    refused = 0;

    for (i = 0; i < pmcf->providers.nelts; i++) {

        if (!ngx_http_integrations_pay_supports(&p[i].currencies,
                                                in->currency))
        {
            continue;
        }

        if ((p[i].type == INTEGRATIONS_PAY_TOSS && in->payment_key.len == 0)
            || (p[i].type == INTEGRATIONS_PAY_SQUARE && in->source.len == 0))
        {
            continue;
        }

        if (ngx_http_integrations_outbound_hooks.available
            && ngx_http_integrations_outbound_hooks.available(&p[i].name,
                                                    r->connection->log)
               != NGX_OK)
        {
            refused++;
            continue;
        }

        ctx->provider = &p[i];
        return NGX_OK;
    }

    if (refused) {
        return ngx_http_integrations_pay_sent(ctx,
                   ngx_http_integrations_pay_refused(r, NGX_DECLINED,
                                                 NGX_HTTP_PAY_RETRY_AFTER));
    }

    return ngx_http_integrations_pay_sent(ctx,
                   ngx_http_integrations_pay_bad_field(r, "currency",
                                   "is not supported by any provider here"));
}


/*
 * A step that answered the client itself returns NGX_ABORT, keeping what
 * the output filter returned for ngx_http_finalize_request(): that may be
 * NGX_OK, which would otherwise read as "go on".
 */

static ngx_int_t
ngx_http_integrations_pay_sent(ngx_http_integrations_pay_ctx_t *ctx,
    ngx_int_t rc)
{
    ctx->rc = rc;

    return NGX_ABORT;
}


/* the next step: the token if needed, the read if needed, the call */

static ngx_int_t
ngx_http_integrations_pay_next(ngx_http_integrations_pay_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->provider->type == INTEGRATIONS_PAY_PAYPAL
        && ctx->token.len == 0)
    {
        ctx->step = NGX_HTTP_PAY_STEP_TOKEN;

        rc = ngx_http_integrations_pay_token(ctx);

        if (rc != NGX_OK) {
            return (rc == NGX_ABORT) ? ctx->rc : rc;
        }
    }

    if (ctx->op == INTEGRATIONS_PAY_REFUND && !ctx->have_read
        && (ctx->provider->type == INTEGRATIONS_PAY_PAYPAL
            || (ctx->provider->type == INTEGRATIONS_PAY_SQUARE
                && ctx->in.amount < 0)))
    {
        ctx->step = NGX_HTTP_PAY_STEP_READ;
        return ngx_http_integrations_pay_send(ctx, INTEGRATIONS_PAY_GET);
    }

    ctx->step = NGX_HTTP_PAY_STEP_CALL;

    return ngx_http_integrations_pay_send(ctx, ctx->op);
}


/*
 * NGX_OK: ctx->token is set; NGX_DONE: a fetch or a wait is under way and
 * will come back to ngx_http_integrations_pay_next(); else an HTTP status.
 */

static ngx_int_t
ngx_http_integrations_pay_token(ngx_http_integrations_pay_ctx_t *ctx)
{
    time_t                                 now, retry_after;
    ngx_int_t                              rc;
    ngx_uint_t                             fetch, refresh;
    ngx_slab_pool_t                       *shpool;
    integrations_pay_http_t                h;
    integrations_pay_call_t                call;
    ngx_http_request_t                    *r;
    ngx_http_integrations_pay_token_t     *tok;
    ngx_http_integrations_outbound_req_t  *req;

    r = ctx->request;
    tok = ngx_http_integrations_pay_token_shared(ctx->provider);

    if (tok == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    shpool = (ngx_slab_pool_t *) ctx->provider->zone->shm.addr;
    now = ngx_time();
    fetch = 0;
    refresh = 0;

    ngx_shmtx_lock(&shpool->mutex);

    /* tok->fetching is a deadline: past it, nobody is fetching */

    if (tok->fingerprint == ctx->provider->fingerprint
        && tok->expires > now && tok->len)
    {
        ctx->token.data = ngx_pnalloc(r->pool, tok->len);
        if (ctx->token.data) {
            ngx_memcpy(ctx->token.data, tok->token, tok->len);
            ctx->token.len = tok->len;
        }

        if (now >= tok->refresh_at
            && (ngx_msec_int_t) (ngx_current_msec - tok->fetching) >= 0)
        {
            tok->fetching = ngx_current_msec + ctx->provider->timeout + 1000;
            refresh = 1;
        }

    } else if ((ngx_msec_int_t) (ngx_current_msec - tok->fetching) >= 0) {
        tok->fetching = ngx_current_msec + ctx->provider->timeout + 1000;
        fetch = 1;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (ctx->token.len == 0 && !fetch) {

        if (ctx->token.data == NULL && tok->len && tok->expires > now
            && tok->fingerprint == ctx->provider->fingerprint)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* another request fetches it: poll the zone until it is there */

        ctx->wait.handler = ngx_http_integrations_pay_token_wait;
        ctx->wait.data = ctx;
        ctx->wait.log = r->connection->log;

        ngx_add_timer(&ctx->wait, NGX_HTTP_PAY_TOKEN_POLL);

        return NGX_DONE;
    }

    if (refresh) {
        ngx_http_integrations_pay_token_refresh(ctx->provider,
                                                r->connection->log);
    }

    if (!fetch) {
        return NGX_OK;
    }

    ngx_memzero(&call, sizeof(integrations_pay_call_t));
    call.provider = INTEGRATIONS_PAY_PAYPAL;
    call.op = INTEGRATIONS_PAY_TOKEN;

    if (integrations_pay_build(&call, &h) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req = ngx_http_integrations_pay_request(r->pool, r->connection->log,
                                            ctx->provider, &h,
                                            &ctx->provider->auth, NULL);
    integrations_pay_http_free(&h);

    if (req == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req->request = r;
    req->data = ctx;

    retry_after = NGX_HTTP_PAY_RETRY_AFTER;

    rc = ngx_http_integrations_outbound_call(req, &retry_after);

    if (rc != NGX_OK) {
        ngx_shmtx_lock(&shpool->mutex);
        tok->fetching = ngx_current_msec;
        ngx_shmtx_unlock(&shpool->mutex);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_integrations_pay_sent(ctx,
                   ngx_http_integrations_pay_refused(r, rc, retry_after));
    }

    return NGX_DONE;
}


static void
ngx_http_integrations_pay_token_wait(ngx_event_t *ev)
{
    ngx_int_t                         rc;
    ngx_connection_t                 *c;
    ngx_http_request_t               *r;
    ngx_http_integrations_pay_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    rc = ngx_http_integrations_pay_next(ctx);

    /* finalizing may free the request: c is what stays */

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_integrations_pay_token_store(ngx_http_integrations_pay_provider_t *p,
    ngx_http_integrations_outbound_req_t *req, ngx_log_t *log)
{
    char                                buf[NGX_HTTP_PAY_TOKEN_LEN];
    time_t                              now;
    int64_t                             expires_in;
    ngx_slab_pool_t                    *shpool;
    ngx_http_integrations_pay_token_t  *tok;

    tok = ngx_http_integrations_pay_token_shared(p);
    shpool = (ngx_slab_pool_t *) p->zone->shm.addr;

    if (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_OK
        && req->status == 200
        && integrations_pay_parse_token((char *) req->response_body.data,
                                        req->response_body.len, buf,
                                        sizeof(buf), &expires_in) == 0
        && expires_in > 0)
    {
        now = ngx_time();

        ngx_shmtx_lock(&shpool->mutex);

        tok->fingerprint = p->fingerprint;
        tok->len = ngx_strlen(buf);
        ngx_memcpy(tok->token, buf, tok->len);
        tok->expires = now + (time_t) ngx_min(expires_in, 86400 * 30);

        /* refreshed in the last tenth of its life, a minute at least */

        tok->refresh_at = tok->expires
                          - ngx_max((time_t) (expires_in / 10), 60);
        tok->fetching = ngx_current_msec;
        tok->fetcher = ngx_pid;

        ngx_shmtx_unlock(&shpool->mutex);

        OPENSSL_cleanse(buf, sizeof(buf));

        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "payments: paypal token fetched, expires in %L s",
                      (int64_t) expires_in);
        return NGX_OK;
    }

    OPENSSL_cleanse(buf, sizeof(buf));

    ngx_shmtx_lock(&shpool->mutex);
    tok->fetching = ngx_current_msec;
    ngx_shmtx_unlock(&shpool->mutex);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "payments: paypal token call failed: status %ui %V",
                  req->status, &req->error_text);

    return NGX_ERROR;
}


/* a refresh with no client waiting: its own pool, freed when done */

static void
ngx_http_integrations_pay_token_refresh(
    ngx_http_integrations_pay_provider_t *p, ngx_log_t *log)
{
    ngx_pool_t                            *pool;
    integrations_pay_http_t                h;
    integrations_pay_call_t                call;
    ngx_http_integrations_outbound_req_t  *req;

    if (ngx_exiting) {
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ngx_memzero(&call, sizeof(integrations_pay_call_t));
    call.provider = INTEGRATIONS_PAY_PAYPAL;
    call.op = INTEGRATIONS_PAY_TOKEN;

    if (integrations_pay_build(&call, &h) != 0) {
        ngx_destroy_pool(pool);
        return;
    }

    req = ngx_http_integrations_pay_request(pool, ngx_cycle->log, p, &h,
                                            &p->auth, NULL);
    integrations_pay_http_free(&h);

    if (req == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    req->done = ngx_http_integrations_pay_token_refreshed;
    req->data = p;

    if (ngx_http_integrations_outbound_call(req, NULL) != NGX_OK) {
        ngx_destroy_pool(pool);
    }
}


static void
ngx_http_integrations_pay_token_refreshed(
    ngx_http_integrations_outbound_req_t *req)
{
    (void) ngx_http_integrations_pay_token_store(req->data, req,
                                                 ngx_cycle->log);
    ngx_destroy_pool(req->pool);
}


static ngx_int_t
ngx_http_integrations_pay_send(ngx_http_integrations_pay_ctx_t *ctx,
    ngx_int_t op)
{
    time_t                                 retry_after;
    u_char                                *p;
    ngx_int_t                              rc;
    ngx_str_t                              auth, *key;
    ngx_http_request_t                    *r;
    integrations_pay_http_t                h;
    integrations_pay_call_t                call;
    ngx_http_integrations_outbound_req_t  *req;

    r = ctx->request;

    ngx_memzero(&call, sizeof(integrations_pay_call_t));
    call.provider = ctx->provider->type;
    call.op = op;
    call.in = ctx->have_input ? &ctx->in : NULL;
    call.id.data = (char *) ctx->id.data;
    call.id.len = ctx->id.len;
    call.amount = ctx->in.amount;
    call.idempotency_key.data = (char *) ctx->idempotency_key.data;
    call.idempotency_key.len = ctx->idempotency_key.len;

    if (op == INTEGRATIONS_PAY_REFUND && ctx->have_read) {

        /* what the read found: PayPal refunds a capture, not an order */

        if (ctx->provider->type == INTEGRATIONS_PAY_PAYPAL) {
            if (ctx->read.capture_id[0] == '\0') {
                ngx_str_t  d = ngx_string("the order has no capture to "
                                          "refund; capture it first");

                return ngx_http_integrations_problem(r, NGX_HTTP_CONFLICT,
                                   "not_captured", "Nothing to refund", &d);
            }

            call.id.data = ctx->read.capture_id;
            call.id.len = ngx_strlen(ctx->read.capture_id);
        }

        if (call.amount < 0 && ctx->provider->type == INTEGRATIONS_PAY_SQUARE)
        {
            call.amount = ctx->read.amount;
        }

        if (ctx->read.currency[0]) {
            call.currency = ctx->read.currency;
        }
    }

    if (integrations_pay_build(&call, &h) != 0) {
        return ngx_http_integrations_pay_bad_field(r,
                   op == INTEGRATIONS_PAY_REFUND ? "amount" : "body",
                   "cannot be sent to this provider");
    }

    if (ctx->provider->type == INTEGRATIONS_PAY_PAYPAL) {
        auth.len = sizeof("Authorization: Bearer ") - 1 + ctx->token.len;
        auth.data = ngx_pnalloc(r->pool, auth.len);
        if (auth.data == NULL) {
            integrations_pay_http_free(&h);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(auth.data, "Authorization: Bearer ",
                       sizeof("Authorization: Bearer ") - 1);
        ngx_memcpy(p, ctx->token.data, ctx->token.len);

    } else {
        auth = ctx->provider->auth;
    }

    key = (h.idempotency_header && op != INTEGRATIONS_PAY_GET)
          ? &ctx->idempotency_key : NULL;

    req = ngx_http_integrations_pay_request(r->pool, r->connection->log,
                                            ctx->provider, &h, &auth, key);
    integrations_pay_http_free(&h);

    if (req == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req->request = r;
    req->data = ctx;

    retry_after = NGX_HTTP_PAY_RETRY_AFTER;

    rc = ngx_http_integrations_outbound_call(req, &retry_after);

    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_integrations_pay_refused(r, rc, retry_after);
}


static ngx_http_integrations_outbound_req_t *
ngx_http_integrations_pay_request(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_integrations_pay_provider_t *p, integrations_pay_http_t *h,
    ngx_str_t *auth, ngx_str_t *key)
{
    u_char                                *u;
    ngx_str_t                             *line, v;
    const char                            *version;
    ngx_http_integrations_outbound_req_t  *req;

    req = ngx_pcalloc(pool, sizeof(ngx_http_integrations_outbound_req_t));
    if (req == NULL) {
        return NULL;
    }

    req->provider = p->name;
    req->method.data = (u_char *) h->method;
    req->method.len = ngx_strlen(h->method);
    req->connect_timeout = p->connect_timeout;
    req->timeout = p->timeout;
    req->pool = pool;
    req->log = log;
    req->done = ngx_http_integrations_pay_done;

    req->url.len = p->base_url.len + ngx_strlen(h->path);
    req->url.data = ngx_pnalloc(pool, req->url.len);
    if (req->url.data == NULL) {
        return NULL;
    }

    u = ngx_cpymem(req->url.data, p->base_url.data, p->base_url.len);
    ngx_memcpy(u, h->path, ngx_strlen(h->path));

    if (h->body) {
        req->body.data = ngx_pnalloc(pool, h->body_len + 1);
        if (req->body.data == NULL) {
            return NULL;
        }

        ngx_memcpy(req->body.data, h->body, h->body_len);
        req->body.len = h->body_len;
    }

    req->headers = ngx_array_create(pool, 6, sizeof(ngx_str_t));
    if (req->headers == NULL) {
        return NULL;
    }

    line = ngx_array_push(req->headers);
    if (line == NULL) {
        return NULL;
    }

    *line = *auth;

    version = integrations_pay_version_header(p->type);

    if (version) {
        line = ngx_array_push(req->headers);
        if (line == NULL) {
            return NULL;
        }

        line->data = (u_char *) version;
        line->len = ngx_strlen(version);
    }

    if (h->extra_header) {
        line = ngx_array_push(req->headers);
        if (line == NULL) {
            return NULL;
        }

        line->data = (u_char *) h->extra_header;
        line->len = ngx_strlen(h->extra_header);
    }

    if (h->content_type) {
        v.data = (u_char *) h->content_type;
        v.len = ngx_strlen(h->content_type);

        if (ngx_http_integrations_outbound_add_header(req, pool,
                                                      "Content-Type", &v)
            != NGX_OK)
        {
            return NULL;
        }
    }

    if (key && key->len) {
        if (ngx_http_integrations_outbound_add_header(req, pool,
                                                      h->idempotency_header,
                                                      key)
            != NGX_OK)
        {
            return NULL;
        }
    }

    return req;
}


static void
ngx_http_integrations_pay_done(ngx_http_integrations_outbound_req_t *req)
{
    ngx_int_t                         rc;
    ngx_connection_t                 *c;
    ngx_http_request_t               *r;
    ngx_http_integrations_pay_ctx_t  *ctx;

    ctx = req->data;
    r = ctx->request;
    c = r->connection;

    if (ctx->step == NGX_HTTP_PAY_STEP_TOKEN) {
        if (ngx_http_integrations_pay_token_store(ctx->provider, req,
                                                  r->connection->log)
            != NGX_OK)
        {
            rc = ngx_http_integrations_pay_unavailable(r, req, "token");

        } else {
            rc = ngx_http_integrations_pay_next(ctx);
        }

    } else {
        rc = ngx_http_integrations_pay_answer(ctx, req);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_integrations_pay_answer(ngx_http_integrations_pay_ctx_t *ctx,
    ngx_http_integrations_outbound_req_t *req)
{
    char                       *json;
    size_t                      len;
    u_char                     *p;
    ngx_int_t                   kind, op;
    ngx_str_t                   d;
    ngx_http_request_t         *r;
    integrations_pay_result_t   res;

    r = ctx->request;

    if (req->error != NGX_HTTP_INTEGRATIONS_OUTBOUND_OK) {
        if (ctx->idem == NGX_HTTP_PAY_IDEM_OWNED) {
            return ngx_http_integrations_pay_idem_release(ctx, req);
        }

        return ngx_http_integrations_pay_unavailable(r, req, NULL);
    }

    op = (ctx->step == NGX_HTTP_PAY_STEP_READ) ? INTEGRATIONS_PAY_GET
                                               : ctx->op;

    kind = integrations_pay_parse_response(ctx->provider->type, op,
                                           req->status,
                                           (char *) req->response_body.data,
                                           req->response_body.len, &res);

    /*
     * Only an answer that settles the payment (done, or declined) is
     * kept for the key; anything else lets the key go first, so that the
     * client's retry calls the provider again, with the same provider
     * key, and the provider deduplicates.
     */

    if (ctx->idem == NGX_HTTP_PAY_IDEM_OWNED
        && kind != INTEGRATIONS_PAY_OK
        && !(kind == INTEGRATIONS_PAY_DECLINED
             && ctx->step == NGX_HTTP_PAY_STEP_CALL))
    {
        return ngx_http_integrations_pay_idem_release(ctx, req);
    }

    switch (kind) {

    case INTEGRATIONS_PAY_OK:
        break;

    case INTEGRATIONS_PAY_DECLINED:
        return ngx_http_integrations_pay_declined(ctx, &res);

    case INTEGRATIONS_PAY_NOT_FOUND:
        ngx_str_set(&d, "the provider has no such payment");
        return ngx_http_integrations_problem(r, NGX_HTTP_NOT_FOUND,
                                             "payment_not_found",
                                             "Payment not found", &d);

    case INTEGRATIONS_PAY_CONFLICT:
        ngx_str_set(&d, "the provider is still processing a request with "
                        "this idempotency key, or it was used for another "
                        "request");
        return ngx_http_integrations_problem(r, NGX_HTTP_CONFLICT,
                                             "idempotency_conflict",
                                             "Idempotency conflict", &d);

    default:
        return ngx_http_integrations_pay_unavailable(r, req, NULL);
    }

    if (ctx->step == NGX_HTTP_PAY_STEP_READ) {
        ctx->read = res;
        ctx->have_read = 1;
        return ngx_http_integrations_pay_next(ctx);
    }

    /* what the answer leaves out, the request or the read knew */

    if (ctx->op != INTEGRATIONS_PAY_CREATE) {
        if (ctx->op == INTEGRATIONS_PAY_REFUND
            || res.payment_id[0] == '\0')
        {
            ngx_memcpy(res.payment_id, ctx->id.data, ctx->id.len);
            res.payment_id[ctx->id.len] = '\0';
        }

        if (ctx->have_read) {
            if (res.order_id[0] == '\0') {
                ngx_memcpy(res.order_id, ctx->read.order_id,
                           sizeof(res.order_id));
            }

            if (res.created_at[0] == '\0') {
                ngx_memcpy(res.created_at, ctx->read.created_at,
                           sizeof(res.created_at));
            }

            if (res.amount < 0) {
                res.amount = ctx->read.amount;
                ngx_memcpy(res.currency, ctx->read.currency, 4);
            }
        }

        if (ctx->op == INTEGRATIONS_PAY_REFUND && res.amount < 0
            && ctx->in.amount > 0 && ctx->have_read)
        {
            res.amount = ctx->in.amount;
        }

    } else {
        if (res.order_id[0] == '\0' && ctx->in.order_id.len
            && ctx->in.order_id.len < sizeof(res.order_id))
        {
            ngx_memcpy(res.order_id, ctx->in.order_id.data,
                       ctx->in.order_id.len);
            res.order_id[ctx->in.order_id.len] = '\0';
        }

        if (res.amount < 0) {
            res.amount = ctx->in.amount;
            ngx_memcpy(res.currency, ctx->in.currency, 4);
        }
    }

    json = integrations_pay_result_json(&res, ctx->provider->type, &len);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        free(json);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, json, len);
    p[len] = '\n';
    free(json);

    return ngx_http_integrations_pay_final(ctx,
               ctx->op == INTEGRATIONS_PAY_CREATE ? NGX_HTTP_CREATED
                                                  : NGX_HTTP_OK,
               p, len + 1);
}


/* 502 or 504 with Retry-After: the provider's own when it gave one */

static ngx_int_t
ngx_http_integrations_pay_unavailable(ngx_http_request_t *r,
    ngx_http_integrations_outbound_req_t *req, const char *what)
{
    time_t      retry;
    ngx_str_t   v, d;
    ngx_int_t   n;
    ngx_uint_t  status;

    if (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_REFUSED) {
        /* refused by its limits after waiting for Redis */
        return ngx_http_integrations_pay_refused(r, req->refused,
                                 (time_t) ((req->refused_wait + 999) / 1000));
    }

    retry = NGX_HTTP_PAY_RETRY_AFTER;

    if (ngx_http_integrations_outbound_header(req, "Retry-After", &v)
        == NGX_OK)
    {
        n = ngx_atoi(v.data, v.len);
        if (n > 0 && n < 3600) {
            retry = n;
        }
    }

    if (ngx_http_integrations_retry_after(r, retry) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    d.data = ngx_pnalloc(r->pool, 128 + req->provider.len);
    if (d.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_TIMEOUT) {
        d.len = ngx_sprintf(d.data, "%V did not answer in time%s%s",
                            &req->provider, what ? ": " : "",
                            what ? what : "") - d.data;

        return ngx_http_integrations_problem(r, NGX_HTTP_GATEWAY_TIME_OUT,
                                             "provider_timeout",
                                             "Payment provider timed out",
                                             &d);
    }

    status = NGX_HTTP_BAD_GATEWAY;

    /*
     * A 2xx answer this API cannot read (not JSON, a NUL in a string, a
     * key twice, an id that is none): not an outage, and the call may
     * have taken effect; the same Idempotency-Key replays it safely.
     */

    if (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_OK
        && req->status >= 200 && req->status < 300)
    {
        d.len = ngx_sprintf(d.data, "%V answered %ui with a body that is "
                            "not what its API sends%s%s", &req->provider,
                            req->status, what ? ": " : "",
                            what ? what : "") - d.data;

        return ngx_http_integrations_problem(r, status,
                                        "provider_bad_response",
                                        "Unreadable payment provider answer",
                                        &d);
    }

    if (req->error != NGX_HTTP_INTEGRATIONS_OUTBOUND_OK) {
        d.len = ngx_sprintf(d.data, "%V cannot be reached%s%s",
                            &req->provider, what ? ": " : "",
                            what ? what : "") - d.data;
    } else {
        d.len = ngx_sprintf(d.data, "%V answered %ui%s%s", &req->provider,
                            req->status, what ? ": " : "",
                            what ? what : "") - d.data;
    }

    return ngx_http_integrations_problem(r, status, "provider_unavailable",
                                         "Payment provider unavailable", &d);
}


/* the limiter (NGX_BUSY) or the breaker (NGX_DECLINED) said no */

static ngx_int_t
ngx_http_integrations_pay_refused(ngx_http_request_t *r, ngx_int_t rc,
    time_t retry_after)
{
    ngx_str_t  d;

    if (ngx_http_integrations_retry_after(r, retry_after) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_BUSY) {
        ngx_str_set(&d, "too many calls to the provider");
        return ngx_http_integrations_problem(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                             "provider_rate_limited",
                                             "Rate limited", &d);
    }

    ngx_str_set(&d, "the provider's circuit breaker is open");
    return ngx_http_integrations_problem(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "provider_unavailable",
                                         "Payment provider unavailable", &d);
}


static ngx_int_t
ngx_http_integrations_pay_bad_field(ngx_http_request_t *r, const char *field,
    const char *why)
{
    ngx_str_t  d;

    if (field == NULL) {
        field = "body";
    }

    d.data = ngx_pnalloc(r->pool, ngx_strlen(field) + ngx_strlen(why) + 4);
    if (d.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    d.len = ngx_sprintf(d.data, "\"%s\" %s", field, why) - d.data;

    return ngx_http_integrations_problem(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "Invalid request", &d);
}


/*
 * 402: a problem body carrying the provider's own code and message, so
 * a client can tell "insufficient funds" from "stolen card".
 */

static ngx_int_t
ngx_http_integrations_pay_declined(ngx_http_integrations_pay_ctx_t *ctx,
    integrations_pay_result_t *res)
{
    u_char              *p, *last;
    size_t               clen, mlen, len;
    ngx_http_request_t  *r;

    static ngx_str_t  ct = ngx_string("application/problem+json");

    r = ctx->request;

    clen = ngx_strlen(res->code);
    mlen = ngx_strlen(res->message);

    len = sizeof("{\"type\":\"urn:integrations:problem:payment_declined\","
                 "\"title\":\"Payment declined\",\"status\":402,"
                 "\"detail\":\"\",\"provider_code\":\"\","
                 "\"provider_message\":\"\"}\n") - 1
          + 2 * (clen + ngx_escape_json(NULL, (u_char *) res->code, clen))
          + 2 * (mlen + ngx_escape_json(NULL, (u_char *) res->message, mlen))
          + 2;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_sprintf(p, "{\"type\":\"urn:integrations:problem:"
                       "payment_declined\",\"title\":\"Payment declined\","
                       "\"status\":402,\"detail\":\"");
    last = (u_char *) ngx_escape_json(last, (u_char *) res->message, mlen);
    last = ngx_cpymem(last, "\",\"provider_code\":\"",
                      sizeof("\",\"provider_code\":\"") - 1);
    last = (u_char *) ngx_escape_json(last, (u_char *) res->code, clen);
    last = ngx_cpymem(last, "\",\"provider_message\":\"",
                      sizeof("\",\"provider_message\":\"") - 1);
    last = (u_char *) ngx_escape_json(last, (u_char *) res->message, mlen);
    last = ngx_cpymem(last, "\"}\n", 3);

    r->headers_out.content_type = ct;
    r->headers_out.content_type_len = ct.len;

    return ngx_http_integrations_pay_final(ctx, NGX_HTTP_PAY_PAYMENT_REQUIRED,
                                           p, last - p);
}


static ngx_int_t
ngx_http_integrations_pay_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (r->headers_out.content_type.len == 0) {
        ngx_str_set(&r->headers_out.content_type, "application/json");
        r->headers_out.content_type_len = sizeof("application/json") - 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_integrations_pay_providers(ngx_http_request_t *r)
{
    u_char                                 *p, *last, *s, *e, *end;
    size_t                                  len;
    ngx_uint_t                              i, j;
    ngx_str_t                              *lists[2];
    ngx_http_integrations_pay_provider_t   *pv;
    ngx_http_integrations_pay_main_conf_t  *pmcf;

    static const char  *names[2] = { "currencies", "methods" };

    pmcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_integrations_payments_module);

    pv = pmcf->providers.elts;
    len = sizeof("{\"providers\":[]}\n");

    for (i = 0; i < pmcf->providers.nelts; i++) {
        len += sizeof("{\"name\":\"\",\"currencies\":[],\"methods\":[],"
                      "\"available\":false},")
               + pv[i].name.len
               + 4 * (pv[i].currencies.len + pv[i].methods.len + 2);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_cpymem(p, "{\"providers\":[", sizeof("{\"providers\":[") - 1);

    for (i = 0; i < pmcf->providers.nelts; i++) {
        last = ngx_sprintf(last, "%s{\"name\":\"%V\"", i ? "," : "",
                           &pv[i].name);

        lists[0] = &pv[i].currencies;
        lists[1] = &pv[i].methods;

        for (j = 0; j < 2; j++) {
            last = ngx_sprintf(last, ",\"%s\":[", names[j]);

            /* configuration values: letters, digits and '_' only */

            s = lists[j]->data;
            end = s + lists[j]->len;

            while (s < end) {
                e = ngx_strlchr(s, end, ',');
                if (e == NULL) {
                    e = end;
                }

                last = ngx_sprintf(last, "%s\"%*s\"",
                                   s == lists[j]->data ? "" : ",",
                                   (size_t) (e - s), s);
                s = e + 1;
            }

            *last++ = ']';
        }

        last = ngx_sprintf(last, ",\"available\":%s}",
                           (ngx_http_integrations_outbound_hooks.available
                            == NULL
                            || ngx_http_integrations_outbound_hooks.available(
                                   &pv[i].name, r->connection->log)
                               == NGX_OK)
                           ? "true" : "false");
    }

    last = ngx_cpymem(last, "]}\n", 3);

    return ngx_http_integrations_pay_json(r, NGX_HTTP_OK, p, last - p);
}


static ngx_int_t
ngx_http_integrations_pay_supports(ngx_str_t *list, const char *code)
{
    u_char  *s, *end;

    s = list->data;
    end = s + list->len;

    while (s + 3 <= end) {
        if (ngx_strncmp(s, code, 3) == 0 && (s + 3 == end || s[3] == ',')) {
            return 1;
        }

        s = ngx_strlchr(s, end, ',');
        if (s == NULL) {
            break;
        }

        s++;
    }

    return 0;
}


static void
ngx_http_integrations_pay_cleanup(void *data)
{
    ngx_http_integrations_pay_ctx_t  *ctx = data;

    if (ctx->wait.timer_set) {
        ngx_del_timer(&ctx->wait);
    }

    if (ctx->wait.posted) {
        ngx_delete_posted_event(&ctx->wait);
    }

    if (ctx->idem == NGX_HTTP_PAY_IDEM_OWNED) {
        ngx_http_integrations_pay_idem_abandon(ctx);
    }

    integrations_pay_input_free(&ctx->in);
}


/*
 * Client idempotency, with integrations_store (Stripe's rules): the first
 * request with an Idempotency-Key takes the key for its attempt; its
 * final answer (status and body) is stored with a hash of the request
 * (method, path, body) under the client's scope; the same key with the
 * same request gets that answer again, from any worker or node, without
 * a provider call; with another request 422; while the first is still in
 * flight 409 with Retry-After.  An outcome that is not final (no answer
 * from the provider, a 5xx, a limit or a breaker that refused) is not
 * stored: the key is let go, and the retry calls the provider again with
 * the same provider-side key.
 */

static ngx_int_t
ngx_http_integrations_pay_idem_begin(ngx_http_integrations_pay_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_str_t                               scope;
    ngx_http_request_t                     *r;
    ngx_http_integrations_store_op_t       *op;
    integrations_store_idem_begin_t        *in;
    ngx_http_integrations_pay_loc_conf_t   *plcf;
    ngx_http_integrations_pay_main_conf_t  *pmcf;

    r = ctx->request;

    pmcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_integrations_payments_module);
    plcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_integrations_payments_module);

    ngx_str_null(&scope);

    if (plcf->idem_scope
        && ngx_http_complex_value(r, plcf->idem_scope, &scope) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    integrations_store_key_scope("payments", scope.data, scope.len,
                                 (char *) ctx->idem_scope);
    integrations_store_request_hash(r->method_name.data, r->method_name.len,
                                    r->uri.data, r->uri.len, body->data,
                                    body->len, (char *) ctx->idem_hash);

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_IDEM_BEGIN, 0);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the request's own memory outlives the operation */

    ctx->idem_owner = ngx_http_integrations_store_token();

    in = &op->core.in.idem_begin;
    in->scope.data = ctx->idem_scope;
    in->scope.len = INTEGRATIONS_STORE_HASH_LEN;
    in->key.data = ctx->idempotency_key.data;
    in->key.len = ctx->idempotency_key.len;
    in->request_hash.data = ctx->idem_hash;
    in->request_hash.len = INTEGRATIONS_STORE_HASH_LEN;
    in->owner = ctx->idem_owner;
    in->lock_ms = (int64_t) pmcf->idem_lock;
    in->ttl_ms = (int64_t) plcf->idem_ttl;

    op->done = ngx_http_integrations_pay_idem_begun;
    op->data = ctx;

    if (ngx_http_integrations_store_post(op, r) != NGX_OK) {
        ctx->idem_answered = 1;
        ngx_http_integrations_status_increment(pmcf->idem_unavailable);
        return ngx_http_integrations_store_unavailable(r);
    }

    ctx->idem = NGX_HTTP_PAY_IDEM_WAITING;

    return NGX_DONE;
}


static void
ngx_http_integrations_pay_idem_begun(ngx_http_integrations_store_op_t *op)
{
    time_t                                   retry;
    ngx_int_t                                rc;
    ngx_str_t                                d;
    ngx_table_elt_t                         *h;
    ngx_http_request_t                      *r;
    ngx_http_integrations_pay_ctx_t         *ctx;
    integrations_store_idem_begin_result_t  *res;
    ngx_http_integrations_pay_main_conf_t   *pmcf;

    ctx = op->data;
    r = ctx->request;
    res = &op->core.out.idem_begin;

    if (op->abandoned) {
        /* gone: a key taken for nothing is let go by the pool cleanup */
        ctx->idem = (op->core.rc == INTEGRATIONS_STORE_OK
                     && res->verdict == INTEGRATIONS_STORE_IDEM_NEW)
                    ? NGX_HTTP_PAY_IDEM_OWNED : NGX_HTTP_PAY_IDEM_NONE;
        return;
    }

    pmcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_integrations_payments_module);

    ctx->idem = NGX_HTTP_PAY_IDEM_SETTLED;

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        ctx->idem_answered = 1;
        ngx_http_integrations_status_increment(pmcf->idem_unavailable);
        rc = ngx_http_integrations_store_unavailable(r);
        ngx_http_finalize_request(r, rc);
        return;
    }

    switch (res->verdict) {

    case INTEGRATIONS_STORE_IDEM_NEW:
        ctx->idem = NGX_HTTP_PAY_IDEM_OWNED;
        rc = ngx_http_integrations_pay_proceed(ctx);
        break;

    case INTEGRATIONS_STORE_IDEM_REPLAY:
        ctx->idem_answered = 1;
        ngx_http_integrations_status_increment(pmcf->idem_replays);

        /* the first answer, byte for byte, copied out of the op */

        d.len = res->body.len;
        d.data = ngx_pnalloc(r->pool, d.len + res->content_type.len + 1);
        if (d.data == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        ngx_memcpy(d.data, res->body.data, d.len);

        if (res->content_type.len) {
            r->headers_out.content_type.data = d.data + d.len;
            r->headers_out.content_type.len = res->content_type.len;
            ngx_memcpy(r->headers_out.content_type.data,
                       res->content_type.data, res->content_type.len);
            r->headers_out.content_type_len = res->content_type.len;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Idempotent-Replayed");
        ngx_str_set(&h->value, "true");

        rc = ngx_http_integrations_pay_json(r, res->status, d.data, d.len);
        break;

    case INTEGRATIONS_STORE_IDEM_MISMATCH:
        ctx->idem_answered = 1;
        ngx_http_integrations_status_increment(pmcf->idem_conflicts);
        ngx_str_set(&d, "this Idempotency-Key was used for another request "
                        "(method, path or body); use a new key");
        rc = ngx_http_integrations_problem(r, NGX_HTTP_PAY_UNPROCESSABLE,
                                           "idempotency_key_reused",
                                           "Idempotency key reused", &d);
        break;

    default: /* INTEGRATIONS_STORE_IDEM_IN_FLIGHT */
        ctx->idem_answered = 1;
        ngx_http_integrations_status_increment(pmcf->idem_conflicts);

        /*
         * A second: an attempt in flight is usually done by then.  One
         * whose worker died is taken over once its lock lapses
         * (res->retry_ms), which may be much later.
         */

        retry = 1;

        if (ngx_http_integrations_retry_after(r, retry) != NGX_OK) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        ngx_str_set(&d, "a request with this Idempotency-Key is still in "
                        "progress; retry later");
        rc = ngx_http_integrations_problem(r, NGX_HTTP_CONFLICT,
                                           "idempotency_in_flight",
                                           "Request in progress", &d);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * A final answer: stored for the key first (an answer that says it was
 * done is on disk before the client reads it), then sent.  When the
 * store fails here the answer is sent all the same: the payment was
 * made; the key's attempt then lapses, and a retry after that calls the
 * provider, which deduplicates by the same provider key.
 */

static ngx_int_t
ngx_http_integrations_pay_final(ngx_http_integrations_pay_ctx_t *ctx,
    ngx_uint_t status, u_char *data, size_t len)
{
    ngx_http_request_t                *r;
    integrations_store_idem_finish_t  *in;
    ngx_http_integrations_store_op_t  *op;

    r = ctx->request;

    if (ctx->idem != NGX_HTTP_PAY_IDEM_OWNED) {
        return ngx_http_integrations_pay_json(r, status, data, len);
    }

    if (r->headers_out.content_type.len == 0) {
        ngx_str_set(&r->headers_out.content_type, "application/json");
        r->headers_out.content_type_len = sizeof("application/json") - 1;
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_IDEM_FINISH, 0);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->idem_status = status;
    ctx->idem_body.data = data;
    ctx->idem_body.len = len;

    in = &op->core.in.idem_finish;
    ngx_http_integrations_pay_idem_attempt(ctx, &in->scope, &in->key,
                                           &in->owner);
    in->status = (unsigned) status;
    in->content_type.data = r->headers_out.content_type.data;
    in->content_type.len = r->headers_out.content_type.len;
    in->body.data = data;
    in->body.len = len;

    op->done = ngx_http_integrations_pay_idem_finished;
    op->data = ctx;

    if (ngx_http_integrations_store_post(op, r) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "payments: the answer for an Idempotency-Key could not "
                      "be stored: the store is unavailable");
        ctx->idem = NGX_HTTP_PAY_IDEM_SETTLED;
        return ngx_http_integrations_pay_json(r, status, data, len);
    }

    ctx->idem = NGX_HTTP_PAY_IDEM_FINISHING;

    return NGX_DONE;
}


static void
ngx_http_integrations_pay_idem_finished(ngx_http_integrations_store_op_t *op)
{
    ngx_int_t                         rc;
    ngx_http_request_t               *r;
    ngx_http_integrations_pay_ctx_t  *ctx;

    ctx = op->data;
    r = ctx->request;

    /* stored or not, the key is settled: a lapse is all that is left */

    ctx->idem = NGX_HTTP_PAY_IDEM_SETTLED;

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "payments: the answer for an Idempotency-Key could not "
                      "be stored: %s",
                      integrations_store_rc_name(op->core.rc));

    } else if (op->core.out.changed == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "payments: the Idempotency-Key's attempt had lapsed "
                      "and was taken over; its answer was not stored");
    }

    if (op->abandoned) {
        return;
    }

    rc = ngx_http_integrations_pay_json(r, ctx->idem_status,
                                        ctx->idem_body.data,
                                        ctx->idem_body.len);

    ngx_http_finalize_request(r, rc);
}


/* the attempt's key, as FINISH and RELEASE name it (the request's bytes) */

static void
ngx_http_integrations_pay_idem_attempt(ngx_http_integrations_pay_ctx_t *ctx,
    integrations_store_bytes_t *scope, integrations_store_bytes_t *key,
    int64_t *owner)
{
    scope->data = ctx->idem_scope;
    scope->len = INTEGRATIONS_STORE_HASH_LEN;
    key->data = ctx->idempotency_key.data;
    key->len = ctx->idempotency_key.len;
    *owner = ctx->idem_owner;
}


/* an outcome that is not final: the key is let go, then the answer */

static ngx_int_t
ngx_http_integrations_pay_idem_release(ngx_http_integrations_pay_ctx_t *ctx,
    ngx_http_integrations_outbound_req_t *req)
{
    ngx_http_request_t                 *r;
    integrations_store_idem_release_t  *in;
    ngx_http_integrations_store_op_t   *op;

    r = ctx->request;

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_IDEM_RELEASE, 0);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    in = &op->core.in.idem_release;
    ngx_http_integrations_pay_idem_attempt(ctx, &in->scope, &in->key,
                                           &in->owner);

    op->done = ngx_http_integrations_pay_idem_released;
    op->data = ctx;

    ctx->idem_req = req;

    if (ngx_http_integrations_store_post(op, r) != NGX_OK) {
        /* the attempt lapses instead */
        ctx->idem = NGX_HTTP_PAY_IDEM_SETTLED;
        return ngx_http_integrations_pay_answer(ctx, req);
    }

    ctx->idem = NGX_HTTP_PAY_IDEM_RELEASING;

    return NGX_DONE;
}


static void
ngx_http_integrations_pay_idem_released(ngx_http_integrations_store_op_t *op)
{
    ngx_int_t                         rc;
    ngx_http_integrations_pay_ctx_t  *ctx;

    ctx = op->data;

    ctx->idem = NGX_HTTP_PAY_IDEM_SETTLED;

    if (op->abandoned) {
        return;
    }

    rc = ngx_http_integrations_pay_answer(ctx, ctx->idem_req);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(ctx->request, rc);
    }
}


/*
 * The request ends (any other answer, or the client went away) while
 * its attempt owns the key: let it go in the background, with copies,
 * since the request's memory goes now.
 */

static void
ngx_http_integrations_pay_idem_abandon(ngx_http_integrations_pay_ctx_t *ctx)
{
    integrations_store_idem_release_t  *in;
    ngx_http_integrations_store_op_t   *op;

    ctx->idem = NGX_HTTP_PAY_IDEM_SETTLED;

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_IDEM_RELEASE,
                                        2 * INTEGRATIONS_STORE_HASH_LEN
                                        + ctx->idempotency_key.len);
    if (op == NULL) {
        return;
    }

    in = &op->core.in.idem_release;
    in->owner = ctx->idem_owner;

    (void) ngx_http_integrations_store_copy(op, &in->scope, ctx->idem_scope,
                                            INTEGRATIONS_STORE_HASH_LEN);
    (void) ngx_http_integrations_store_copy(op, &in->key,
                                            ctx->idempotency_key.data,
                                            ctx->idempotency_key.len);

    (void) ngx_http_integrations_store_post(op, NULL);
}


static ngx_http_integrations_pay_provider_t *
ngx_http_integrations_pay_find(ngx_http_request_t *r, u_char *name,
    size_t len)
{
    ngx_uint_t                              i;
    ngx_http_integrations_pay_provider_t   *p;
    ngx_http_integrations_pay_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r,
                                        ngx_http_integrations_payments_module);

    p = pmcf->providers.elts;

    for (i = 0; i < pmcf->providers.nelts; i++) {
        if (p[i].name.len == len
            && ngx_strncmp(p[i].name.data, name, len) == 0)
        {
            return &p[i];
        }
    }

    return NULL;
}


static ngx_http_integrations_pay_token_t *
ngx_http_integrations_pay_token_shared(ngx_http_integrations_pay_provider_t *p)
{
    ngx_slab_pool_t  *shpool;

    if (p->zone == NULL) {
        return NULL;
    }

    shpool = (ngx_slab_pool_t *) p->zone->shm.addr;

    return shpool->data;
}


/*
 * payment_provider NAME [key_file=PATH] [base_url=URL] [currencies=A,B]
 *                  [methods=a,b] [connect_timeout=TIME] [timeout=TIME]
 *                  [rate_limit=ZONE] [circuit_breaker=ZONE
 *                  [failures=N] [open=TIME] ...];
 */

static char *
ngx_http_integrations_pay_provider(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_pay_main_conf_t *pmcf = conf;

    char                                  *auth;
    u_char                                *s;
    size_t                                 i;
    ngx_int_t                              type, rc;
    ngx_str_t                             *value, key_file, name;
    ngx_uint_t                             n, breaker_params;
    const char                            *err;
    ngx_pool_cleanup_t                    *cln;
    ngx_http_integrations_pay_provider_t  *p;

    static const char  *defaults[] = {
        "https://api.stripe.com",
        "https://api.tosspayments.com",
        "https://api-m.paypal.com",
        "https://connect.squareup.com",
        "https://api.commerce.coinbase.com"
    };

    value = cf->args->elts;

    type = integrations_pay_provider((char *) value[1].data, value[1].len);

    if (type < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown payment provider \"%V\", expected "
                           "stripe, toss, paypal, square or coinbase",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    p = pmcf->providers.elts;

    for (n = 0; n < pmcf->providers.nelts; n++) {
        if (p[n].type == type) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate payment provider \"%V\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    p = ngx_array_push(&pmcf->providers);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(p, sizeof(ngx_http_integrations_pay_provider_t));

    p->name = value[1];
    p->type = type;
    p->limits.name = value[1];
    p->limits.who = "payments";
    p->connect_timeout = 5000;
    p->timeout = 30000;
    ngx_str_null(&key_file);
    integrations_breaker_conf_init(&p->limits.breaker_conf);
    breaker_params = 0;

    for (n = 2; n < cf->args->nelts; n++) {

        if (ngx_strncmp(value[n].data, "key_file=", 9) == 0) {
            key_file.data = value[n].data + 9;
            key_file.len = value[n].len - 9;
            continue;
        }

        if (ngx_strncmp(value[n].data, "base_url=", 9) == 0) {
            p->base_url.data = value[n].data + 9;
            p->base_url.len = value[n].len - 9;

            while (p->base_url.len
                   && p->base_url.data[p->base_url.len - 1] == '/')
            {
                p->base_url.len--;
            }

            if (!(p->base_url.len > 7
                  && ngx_strncmp(p->base_url.data, "http://", 7) == 0)
                && !(p->base_url.len > 8
                     && ngx_strncmp(p->base_url.data, "https://", 8) == 0))
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[n].data, "currencies=", 11) == 0) {
            p->currencies.data = value[n].data + 11;
            p->currencies.len = value[n].len - 11;

            /* three-letter codes this module knows, comma-separated */

            for (s = p->currencies.data;
                 s < p->currencies.data + p->currencies.len;
                 s += 4)
            {
                if (integrations_money_exponent((char *) s, 3) < 0
                    || (s + 3 < p->currencies.data + p->currencies.len
                        && s[3] != ','))
                {
                    goto invalid;
                }

                for (i = 0; i < 3; i++) {
                    s[i] = ngx_toupper(s[i]);
                }
            }

            continue;
        }

        if (ngx_strncmp(value[n].data, "methods=", 8) == 0) {
            p->methods.data = value[n].data + 8;
            p->methods.len = value[n].len - 8;

            for (i = 0; i < p->methods.len; i++) {
                if (!((p->methods.data[i] >= 'a'
                       && p->methods.data[i] <= 'z')
                      || (p->methods.data[i] >= '0'
                          && p->methods.data[i] <= '9')
                      || p->methods.data[i] == '_'
                      || p->methods.data[i] == ','))
                {
                    goto invalid;
                }
            }

            continue;
        }

        rc = ngx_http_integrations_outbound_limits_param(cf, &value[n],
                                                         &p->limits);
        if (rc == NGX_ERROR) {
            goto invalid;
        }

        if (rc == NGX_ABORT) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DONE) {
            breaker_params = n;
        }

        if (rc != NGX_DECLINED) {
            continue;
        }

        rc = ngx_http_integrations_outbound_timeout_param(&value[n],
                                                          &p->connect_timeout,
                                                          &p->timeout);
        if (rc == NGX_ERROR) {
            goto invalid;
        }

        if (rc == NGX_OK) {
            continue;
        }

        goto invalid;
    }

    if (key_file.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "payment provider \"%V\" needs \"key_file=\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (breaker_params && p->limits.breaker == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "parameter \"%V\" of payment provider \"%V\" "
                           "needs \"circuit_breaker=\"",
                           &value[breaker_params], &value[1]);
        return NGX_CONF_ERROR;
    }

    if (p->limits.breaker) {
        err = integrations_breaker_conf_check(&p->limits.breaker_conf);
        if (err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s for payment provider \"%V\"", err,
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_integrations_secret_read(cf, &cmd->name, &key_file,
                                          &p->credential)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (type == INTEGRATIONS_PAY_PAYPAL
        && ngx_strlchr(p->credential.data,
                       p->credential.data + p->credential.len, ':') == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the paypal key file must hold "
                           "\"client_id:secret\"");
        return NGX_CONF_ERROR;
    }

    if (p->base_url.len == 0) {
        p->base_url.data = (u_char *) defaults[type];
        p->base_url.len = ngx_strlen(defaults[type]);
    }

    if (p->currencies.len == 0) {
        p->currencies.data =
                     (u_char *) integrations_pay_default_currencies(type);
        p->currencies.len = ngx_strlen(p->currencies.data);
    }

    if (p->methods.len == 0) {
        p->methods.data = (u_char *) integrations_pay_default_methods(type);
        p->methods.len = ngx_strlen(p->methods.data);
    }

    auth = integrations_pay_auth_header(type, INTEGRATIONS_PAY_TOKEN,
                                        (char *) p->credential.data,
                                        p->credential.len);
    if (auth == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the %V key file holds control characters",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    /* the header line holds the secret: cleansed and freed with cf->pool */

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        OPENSSL_cleanse(auth, ngx_strlen(auth));
        free(auth);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_integrations_pay_free;
    cln->data = auth;

    p->auth.data = (u_char *) auth;
    p->auth.len = ngx_strlen(auth);

    p->fingerprint = ngx_crc32_long(p->base_url.data, p->base_url.len)
                     ^ ngx_crc32_long(p->credential.data, p->credential.len);

    if (type == INTEGRATIONS_PAY_PAYPAL) {
        ngx_str_set(&name, "integrations_paypal_token");

        pmcf->token_zone = ngx_shared_memory_add(cf, &name, 64 * 1024,
                                        &ngx_http_integrations_payments_module);
        if (pmcf->token_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        pmcf->token_zone->init = ngx_http_integrations_pay_init_zone;
        pmcf->token_zone->data = pmcf;
        p->zone = pmcf->token_zone;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[n]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_integrations_pay_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_integrations_pay_loc_conf_t *plcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (plcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    plcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_integrations_pay_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_integrations_pay_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                    *shpool;
    ngx_http_integrations_pay_token_t  *tok;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /* a reload keeps the token: the fingerprint says if it still fits */

    if (data || shm_zone->shm.exists) {
        return NGX_OK;
    }

    tok = ngx_slab_calloc(shpool, sizeof(ngx_http_integrations_pay_token_t));
    if (tok == NULL) {
        return NGX_ERROR;
    }

    shpool->data = tok;

    return NGX_OK;
}


static void
ngx_http_integrations_pay_free(void *data)
{
    OPENSSL_cleanse(data, ngx_strlen(data));
    free(data);
}


static void *
ngx_http_integrations_pay_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_pay_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_pay_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&pmcf->providers, cf->pool, 5,
                       sizeof(ngx_http_integrations_pay_provider_t))
        != NGX_OK)
    {
        return NULL;
    }

    return pmcf;
}


static void *
ngx_http_integrations_pay_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_pay_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_pay_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;
    conf->idem_ttl = NGX_CONF_UNSET_MSEC;
    /* unset, which ngx_http_set_complex_value_slot also takes as unset */
    conf->idem_scope = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_integrations_pay_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_integrations_pay_loc_conf_t  *prev = parent;
    ngx_http_integrations_pay_loc_conf_t  *conf = child;

    ngx_http_integrations_pay_main_conf_t  *pmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_msec_value(conf->idem_ttl, prev->idem_ttl, 86400000);
    ngx_conf_merge_ptr_value(conf->idem_scope, prev->idem_scope, NULL);

    if (conf->idem_ttl < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"payment_idempotency_ttl\" must be at least 1s");
        return NGX_CONF_ERROR;
    }

    if (conf->enable == 1) {
        pmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_integrations_payments_module);

        if (pmcf->idem_min_ttl == 0 || conf->idem_ttl < pmcf->idem_min_ttl) {
            pmcf->idem_min_ttl = conf->idem_ttl;
        }
    }

    if (conf->enable == 1 && prev != conf) {
        pmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_integrations_payments_module);

        if (pmcf->providers.nelts == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"payment_api\" requires at least one "
                               "\"payment_provider\"");
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}
