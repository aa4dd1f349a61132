/*
 * Inbound webhook signature verification, with replay protection.
 *
 *     webhook_dedupe_zone  zone=webhooks:10m ttl=24h;
 *
 *     location = /hooks/stripe {
 *         webhook_verify  stripe secret_file=stripe.key dedupe=webhooks;
 *         proxy_pass      http://app;
 *     }
 *
 * The access phase handler reads the request body (in memory or spooled
 * to a temporary file), feeds it unchanged to the pure core
 * (integrations_webhook.[ch]), and either lets the request go on, with
 * r->request_body left as it was for proxy_pass to send the very same
 * bytes, or answers it: 401/413/500 problem+json for a delivery that does
 * not verify, 200 for a copy of a delivery already delivered, 409 for a
 * copy of one still in flight.
 *
 * A verified delivery is let through, not granted: the handler returns
 * NGX_DECLINED, so that under "satisfy any" the other access modules
 * still decide, while a refusal is answered here whatever "satisfy" says.
 *
 * The outcome of a delivery is the status of the upstream's last attempt
 * (r->upstream_states, as $upstream_status ends), not the status the
 * provider sees: nginx answers 499 to a provider that hung up while the
 * application was accepting the event, and error_page may turn an upstream
 * failure into a 200.  It is settled by a header filter, as the response
 * head goes out: by then the upstream's answer is final (no further
 * proxy_next_upstream attempt or error_page redirect can follow), and a
 * copy sent once the provider has its answer finds the delivery recorded
 * or its mark removed, never a 409 for a request still being logged.  A
 * request that ends without a response head (the provider hung up: 499)
 * is settled in the LOG phase, which runs once per request whatever ended
 * it, and the request pool's cleanup removes a mark that neither settled:
 * no delivery is wedged in flight.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>

#include "integrations_webhook.h"
#include "integrations_paypal_webhook.h"
#include "ngx_http_integrations_dedupe.h"
#include "ngx_http_integrations_paypal_cert.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_secret.h"
#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_zone.h"


#define NGX_HTTP_INTEGRATIONS_WEBHOOK_MAGIC    0x7768636e   /* "whcn" */
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_VERSION  4   /* + too_many_signatures,
                                                      keyed zone header */
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_READ     65536

/*
 * PayPal is verified here, not by the pure core of the nine others: its
 * certificate is fetched (integrations_paypal_webhook.h).  It takes the
 * provider number after theirs, and two reasons of its own after theirs.
 */
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL                                \
    INTEGRATIONS_WEBHOOK_PROVIDER_MAX
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_PROVIDERS                             \
    (INTEGRATIONS_WEBHOOK_PROVIDER_MAX + 1)

#define NGX_HTTP_INTEGRATIONS_WEBHOOK_BAD_CERTIFICATE                       \
    INTEGRATIONS_WEBHOOK_RC_MAX
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_CERTIFICATE_UNAVAILABLE               \
    (INTEGRATIONS_WEBHOOK_RC_MAX + 1)
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_REASONS                               \
    (INTEGRATIONS_WEBHOOK_RC_MAX + 2)

#define NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL_TOLERANCE  300
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL_MAX_BODY                       \
    INTEGRATIONS_WEBHOOK_DEFAULT_MAX_BUFFER


typedef enum {
    NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_NONE = 0,
    NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_VERIFIED,
    NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_INVALID,
    NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_EXPIRED,
    NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_REPLAYED,
    NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_UNSIGNED
} ngx_http_integrations_webhook_status_e;


typedef struct {
    ngx_str_t                          webhook_id;
    ngx_str_t                          cert_url_host; /* tests: where the
                                                         certificate is
                                                         fetched from */
    time_t                             tolerance;     /* 0: off */
} ngx_http_integrations_webhook_paypal_conf_t;


typedef struct {
    integrations_webhook_verifier_t   *verifier;      /* NULL: off */
    ngx_http_integrations_webhook_paypal_conf_t  *paypal;  /* or this */
    integrations_webhook_provider_e    provider;
    ngx_http_integrations_dedupe_t    *dedupe;
    ngx_flag_t                         allow_unsigned;
} ngx_http_integrations_webhook_loc_conf_t;


typedef struct {
    ngx_atomic_t                       verified;
    ngx_atomic_t                       unsigned_;
    ngx_atomic_t                       replayed;
    ngx_atomic_t                       in_flight;
    ngx_atomic_t                failed[NGX_HTTP_INTEGRATIONS_WEBHOOK_REASONS];
} ngx_http_integrations_webhook_shcounters_t;


typedef struct {
    ngx_http_integrations_webhook_shcounters_t
                             provider[NGX_HTTP_INTEGRATIONS_WEBHOOK_PROVIDERS];
} ngx_http_integrations_webhook_sh_t;


typedef struct {
    ngx_http_integrations_zone_t      *counters;      /* data: the sh_t */
    ngx_array_t                        dedupes;       /* of dedupe_t * */
    ngx_uint_t                         providers;     /* bit per provider */
    ngx_uint_t                         used;
} ngx_http_integrations_webhook_main_conf_t;


typedef struct {
    integrations_webhook_ctx_t         core;          /* first */
    integrations_webhook_headers_t     headers;
    integrations_webhook_event_id_t    id;
    ngx_str_t                          whole;         /* see id_bytes() */

    integrations_webhook_provider_e    provider;
    ngx_http_integrations_webhook_status_e  status;

    ngx_http_integrations_dedupe_t    *dedupe;
    ngx_uint_t                         token;
    size_t                             key_len;
    u_char                   key[32 + INTEGRATIONS_WEBHOOK_EVENT_ID_MAX];

    /* PayPal */
    integrations_paypal_headers_t      paypal;
    ngx_str_t                          cert_url;      /* where to fetch */
    ngx_str_t                          body;          /* a copy */
    ngx_http_integrations_paypal_waiter_t  waiter;

    /* scope=cluster: the mark asked of Redis */
    ngx_http_integrations_dedupe_wait_t    dwait;

    unsigned                           passed:1;
    unsigned                           has_id:1;
    unsigned                           marked:1;
    unsigned                           id_whole:1;   /* whole is set */
} ngx_http_integrations_webhook_ctx_t;


static ngx_int_t ngx_http_integrations_webhook_handler(ngx_http_request_t *r);
static void ngx_http_integrations_webhook_body_handler(ngx_http_request_t *r);
static void ngx_http_integrations_webhook_resume(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_integrations_webhook_paypal_headers(
    ngx_http_request_t *r, ngx_http_integrations_webhook_ctx_t *ctx,
    ngx_http_integrations_webhook_loc_conf_t *wlcf);
static ngx_int_t ngx_http_integrations_webhook_paypal_body(
    ngx_http_request_t *r, ngx_http_integrations_webhook_ctx_t *ctx);
static void ngx_http_integrations_webhook_paypal_ready(
    ngx_http_integrations_paypal_waiter_t *w);
static ngx_int_t ngx_http_integrations_webhook_paypal_decide(
    ngx_http_request_t *r, ngx_http_integrations_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_webhook_paypal_refuse(
    ngx_http_request_t *r, ngx_http_integrations_webhook_ctx_t *ctx,
    ngx_uint_t reason, const char *detail, const char *header);
static ngx_int_t ngx_http_integrations_webhook_read_body(
    ngx_http_request_t *r, ngx_str_t *body);
static const char *ngx_http_integrations_webhook_name(ngx_uint_t provider);
static const char *ngx_http_integrations_webhook_reason(ngx_uint_t reason);
static integrations_webhook_rc_e ngx_http_integrations_webhook_feed(
    ngx_http_request_t *r, ngx_http_integrations_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_webhook_id_bytes(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_webhook_decide(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx, integrations_webhook_rc_e rc);
static ngx_int_t ngx_http_integrations_webhook_refuse(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx, integrations_webhook_rc_e rc);
static ngx_int_t ngx_http_integrations_webhook_refuse_id(
    ngx_http_request_t *r, ngx_http_integrations_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_integrations_webhook_answer(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx, ngx_uint_t status,
    integrations_webhook_rc_e rc, ngx_str_t *detail);
static void ngx_http_integrations_webhook_dedupe_ready(
    ngx_http_integrations_dedupe_wait_t *w);
static ngx_int_t ngx_http_integrations_webhook_dedupe_answer(
    ngx_http_request_t *r, ngx_http_integrations_webhook_ctx_t *ctx,
    ngx_http_integrations_dedupe_t *dd, ngx_http_integrations_dedupe_rc_e drc);
static ngx_int_t ngx_http_integrations_webhook_dedupe(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx,
    ngx_http_integrations_webhook_loc_conf_t *wlcf);
static ngx_int_t ngx_http_integrations_webhook_replayed(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_webhook_header_filter(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_webhook_log_handler(
    ngx_http_request_t *r);
static void ngx_http_integrations_webhook_settle(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx);
static ngx_uint_t ngx_http_integrations_webhook_delivered(
    ngx_http_request_t *r);
static void ngx_http_integrations_webhook_cleanup(void *data);
static ngx_http_integrations_webhook_ctx_t *
    ngx_http_integrations_webhook_get_ctx(ngx_http_request_t *r);
static ngx_http_integrations_webhook_shcounters_t *
    ngx_http_integrations_webhook_counters_of(ngx_http_request_t *r,
    integrations_webhook_provider_e provider);
static ngx_int_t ngx_http_integrations_webhook_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_integrations_webhook_verify(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_integrations_webhook_verify_paypal(ngx_conf_t *cf,
    ngx_command_t *cmd, ngx_http_integrations_webhook_loc_conf_t *wlcf);
static ngx_int_t ngx_http_integrations_webhook_common_param(
    ngx_str_t *value, ngx_int_t *tolerance, ngx_str_t *zone);
static char *ngx_http_integrations_webhook_enable(ngx_conf_t *cf,
    ngx_http_integrations_webhook_loc_conf_t *wlcf, ngx_uint_t provider,
    ngx_str_t *zone);
static char *ngx_http_integrations_webhook_dedupe_zone(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_integrations_webhook_counters_zone(ngx_conf_t *cf,
    ngx_http_integrations_webhook_main_conf_t *wmcf);
static ngx_int_t ngx_http_integrations_webhook_collect(
    ngx_http_integrations_status_writer_t *w, void *data);
static ngx_int_t ngx_http_integrations_webhook_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_integrations_webhook_init(ngx_conf_t *cf);
static void *ngx_http_integrations_webhook_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_integrations_webhook_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_integrations_webhook_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static void ngx_http_integrations_webhook_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_integrations_webhook_commands[] = {

    { ngx_string("webhook_verify"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_integrations_webhook_verify,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_dedupe_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1234,
      ngx_http_integrations_webhook_dedupe_zone,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_webhook_module_ctx = {
    ngx_http_integrations_webhook_add_variables,   /* preconfiguration */
    ngx_http_integrations_webhook_init,            /* postconfiguration */

    ngx_http_integrations_webhook_create_main_conf, /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    ngx_http_integrations_webhook_create_loc_conf, /* create location conf */
    ngx_http_integrations_webhook_merge_loc_conf   /* merge location conf */
};


ngx_module_t  ngx_http_integrations_webhook_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_webhook_module_ctx,     /* module context */
    ngx_http_integrations_webhook_commands,        /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    NULL,                                          /* init module */
    NULL,                                          /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    ngx_http_integrations_webhook_exit_process,    /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


/* the counters zone's tag: a dedupe zone's is the module */
static ngx_uint_t  ngx_http_integrations_webhook_counters_tag;

static ngx_str_t  ngx_http_integrations_webhook_counters_name =
    ngx_string("integrations_webhook_counters");

/* a keyed zone without keys; the counts must not restart: refused */
static ngx_http_integrations_zone_type_t
    ngx_http_integrations_webhook_counters_type = {
    "zone", "", NGX_HTTP_INTEGRATIONS_WEBHOOK_MAGIC,
    NGX_HTTP_INTEGRATIONS_WEBHOOK_VERSION, 0,
    sizeof(ngx_http_integrations_webhook_sh_t), 0
};


#define NGX_HTTP_INTEGRATIONS_WEBHOOK_VAR_PROVIDER  0
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_VAR_EVENT_ID  1
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_VAR_STATUS    2

static ngx_http_variable_t  ngx_http_integrations_webhook_vars[] = {

    { ngx_string("webhook_provider"), NULL,
      ngx_http_integrations_webhook_variable,
      NGX_HTTP_INTEGRATIONS_WEBHOOK_VAR_PROVIDER,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_event_id"), NULL,
      ngx_http_integrations_webhook_variable,
      NGX_HTTP_INTEGRATIONS_WEBHOOK_VAR_EVENT_ID,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_status"), NULL,
      ngx_http_integrations_webhook_variable,
      NGX_HTTP_INTEGRATIONS_WEBHOOK_VAR_STATUS,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_integrations_webhook_statuses[] = {
    ngx_null_string,
    ngx_string("verified"),
    ngx_string("invalid"),
    ngx_string("expired"),
    ngx_string("replayed"),
    ngx_string("unsigned")
};


/* problem type and title per verdict, indexed by integrations_webhook_rc_e */

static const char  *ngx_http_integrations_webhook_problems[][2] = {
    { "webhook_ok", "Verified" },
    { "webhook_missing_header", "Webhook signature header missing" },
    { "webhook_malformed_header", "Webhook signature header malformed" },
    { "webhook_no_known_scheme", "No webhook signature with a known scheme" },
    { "webhook_bad_signature", "Webhook signature does not verify" },
    { "webhook_timestamp_out_of_tolerance",
      "Webhook timestamp outside the tolerance" },
    { "webhook_unsigned", "Unsigned webhook delivery refused" },
    { "webhook_malformed_body", "Webhook body malformed" },
    { "webhook_body_too_large", "Webhook body too large to verify" },
    { "webhook_internal_error", "Webhook verification failed" },
    { "webhook_too_many_signatures", "Too many webhook signatures" },
    { "webhook_bad_certificate", "Webhook signing certificate refused" },
    { "webhook_certificate_unavailable",
      "Webhook signing certificate unavailable" }
};


static ngx_int_t
ngx_http_integrations_webhook_handler(ngx_http_request_t *r)
{
    ngx_int_t                                  rc;
    ngx_uint_t                                 i;
    ngx_list_part_t                           *part;
    ngx_table_elt_t                           *h;
    ngx_pool_cleanup_t                        *cln;
    integrations_webhook_rc_e                  wrc;
    ngx_http_integrations_webhook_ctx_t       *ctx;
    ngx_http_integrations_webhook_loc_conf_t  *wlcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    wlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_integrations_webhook_module);

    if (wlcf->verifier == NULL && wlcf->paypal == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_integrations_webhook_get_ctx(r);

    if (ctx != NULL) {
        /*
         * Back after the body was read, or after an internal redirect of
         * a delivery verified once already: the same body is not verified
         * (nor marked in flight) twice.  Until the body is read, phases
         * that run again wait.
         */
        return ctx->passed ? NGX_DECLINED : NGX_DONE;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_integrations_webhook_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the core's state is freed whatever ends the request, and the mark */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_integrations_webhook_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_integrations_webhook_module);

    ctx->provider = wlcf->provider;

    if (wlcf->paypal) {
        rc = ngx_http_integrations_webhook_paypal_headers(r, ctx, wlcf);

        if (rc != NGX_DECLINED) {
            ngx_http_finalize_request(r, rc);
            return NGX_DONE;
        }

        goto body;
    }

    /* every header, so that a repeated one is seen as such */

    integrations_webhook_headers_init(&ctx->headers);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        (void) integrations_webhook_headers_add(&ctx->headers,
                                                h[i].key.data, h[i].key.len,
                                                h[i].value.data,
                                                h[i].value.len);
    }

    wrc = integrations_webhook_init(&ctx->core, wlcf->verifier,
                                    &ctx->headers,
                                    r->args.len ? r->args.data : NULL,
                                    r->args.len, (int64_t) ngx_time());

    if (wrc != INTEGRATIONS_WEBHOOK_OK) {

        /* the headers decide: the body is discarded, never MACed */

        rc = ngx_http_integrations_webhook_decide(r, ctx, wrc);

        if (rc == NGX_DECLINED) {
            ctx->passed = 1;
            return NGX_DECLINED;
        }

        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

body:

    /*
     * Bodies above client_max_body_size were refused before this phase
     * (Content-Length) or are refused while they are read (chunked), with
     * nginx's own 413, before any MAC work.
     */

    rc = ngx_http_read_client_request_body(r,
                                   ngx_http_integrations_webhook_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    /*
     * The body handler may have run already; either way it continues or
     * ends the request, which holds one more reference until then.
     */

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}


static void
ngx_http_integrations_webhook_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    integrations_webhook_rc_e             wrc;
    ngx_http_integrations_webhook_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_webhook_module);

    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ctx->provider == NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL) {
        rc = ngx_http_integrations_webhook_paypal_body(r, ctx);

        if (rc == NGX_AGAIN) {
            /* the read body keeps the request until the certificate */
            return;
        }

        ngx_http_integrations_webhook_resume(r, ctx, rc);
        return;
    }

    wrc = ngx_http_integrations_webhook_feed(r, ctx);

    if (wrc == INTEGRATIONS_WEBHOOK_OK) {
        wrc = integrations_webhook_final(&ctx->core);
    }

    rc = ngx_http_integrations_webhook_decide(r, ctx, wrc);

    ngx_http_integrations_webhook_resume(r, ctx, rc);
}


/* NGX_DECLINED: the request goes on; anything else finalizes it */

static void
ngx_http_integrations_webhook_resume(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx, ngx_int_t rc)
{
    if (rc == NGX_AGAIN) {
        /* Redis is asked for the mark: the read body keeps the request */
        return;
    }

    if (rc == NGX_DECLINED) {
        ctx->passed = 1;

        r->preserve_body = 1;

        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
        return;
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * PayPal: the headers decide before the body is read.  NGX_DECLINED: read
 * the body; anything else was answered.
 */

static ngx_int_t
ngx_http_integrations_webhook_paypal_headers(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx,
    ngx_http_integrations_webhook_loc_conf_t *wlcf)
{
    u_char                                       *p, *path;
    ngx_str_t                                    *host;
    ngx_uint_t                                    i, k;
    ngx_list_part_t                              *part;
    ngx_table_elt_t                              *h;
    integrations_paypal_str_t                    *v;
    ngx_http_integrations_webhook_paypal_conf_t  *pcf;

    static const char  *names[] = {
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-TIME",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-CERT-URL",
        "PAYPAL-AUTH-ALGO"
    };

    integrations_paypal_str_t  *slots[] = {
        &ctx->paypal.transmission_id,
        &ctx->paypal.transmission_time,
        &ctx->paypal.transmission_sig,
        &ctx->paypal.cert_url,
        &ctx->paypal.auth_algo
    };

    pcf = wlcf->paypal;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        for (k = 0; k < 5; k++) {
            if (h[i].key.len != ngx_strlen(names[k])
                || ngx_strncasecmp(h[i].key.data, (u_char *) names[k],
                                   h[i].key.len)
                   != 0)
            {
                continue;
            }

            v = slots[k];

            /* two values of one header: which did PayPal sign? neither */

            if (v->data != NULL) {
                return ngx_http_integrations_webhook_paypal_refuse(r, ctx,
                                       INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
                                       "the header is repeated", names[k]);
            }

            v->data = (const char *) h[i].value.data;
            v->len = h[i].value.len;
        }
    }

    for (k = 0; k < 5; k++) {
        if (slots[k]->data == NULL || slots[k]->len == 0) {
            return ngx_http_integrations_webhook_paypal_refuse(r, ctx,
                                       INTEGRATIONS_WEBHOOK_MISSING_HEADER,
                                       "missing_header", names[k]);
        }
    }

    if (ctx->paypal.auth_algo.len != sizeof("SHA256withRSA") - 1
        || ngx_strncmp(ctx->paypal.auth_algo.data, "SHA256withRSA",
                       sizeof("SHA256withRSA") - 1)
           != 0)
    {
        return ngx_http_integrations_webhook_paypal_refuse(r, ctx,
                                       INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME,
                                       "not SHA256withRSA",
                                       "PAYPAL-AUTH-ALGO");
    }

    /* the pin: whoever sends the delivery names the certificate */

    if (!integrations_paypal_cert_url_ok(ctx->paypal.cert_url.data,
                                         ctx->paypal.cert_url.len))
    {
        return ngx_http_integrations_webhook_paypal_refuse(r, ctx,
                                       INTEGRATIONS_WEBHOOK_MALFORMED_HEADER,
                                       "not an https URL under paypal.com",
                                       "PAYPAL-CERT-URL");
    }

    ctx->cert_url.data = (u_char *) ctx->paypal.cert_url.data;
    ctx->cert_url.len = ctx->paypal.cert_url.len;

    if (pcf->cert_url_host.len == 0) {
        return NGX_DECLINED;
    }

    /*
     * cert_url_host=: the same path, from another host.  The URL above
     * passed the pin all the same, and is the cache's key.
     */

    host = &pcf->cert_url_host;

    path = ngx_strlchr(ctx->cert_url.data + sizeof("https://") - 1,
                       ctx->cert_url.data + ctx->cert_url.len, '/');
    if (path == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    k = ctx->cert_url.data + ctx->cert_url.len - path;

    p = ngx_pnalloc(r->pool, sizeof("https://") - 1 + host->len + k);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->cert_url.data = p;
    p = ngx_cpymem(p, "https://", sizeof("https://") - 1);
    p = ngx_cpymem(p, host->data, host->len);
    p = ngx_cpymem(p, path, k);
    ctx->cert_url.len = p - ctx->cert_url.data;

    return NGX_DECLINED;
}


/*
 * The body is read: a copy for the CRC and the event id, then the
 * certificate.  NGX_AGAIN: waiting for it; else as decide().
 */

static ngx_int_t
ngx_http_integrations_webhook_paypal_body(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx)
{
    ngx_int_t                               rc;
    ngx_str_t                               url;
    ngx_http_integrations_paypal_waiter_t  *w;

    rc = ngx_http_integrations_webhook_read_body(r, &ctx->body);

    if (rc == NGX_DECLINED) {
        return ngx_http_integrations_webhook_paypal_refuse(r, ctx,
                                       INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE,
                                       "over 1 MiB", NULL);
    }

    if (rc != NGX_OK) {
        return ngx_http_integrations_webhook_paypal_refuse(r, ctx,
                                       INTEGRATIONS_WEBHOOK_INTERNAL_ERROR,
                                       "the body could not be read", NULL);
    }

    w = &ctx->waiter;
    w->request = r;
    w->ready = ngx_http_integrations_webhook_paypal_ready;
    w->data = ctx;

    url.data = (u_char *) ctx->paypal.cert_url.data;
    url.len = ctx->paypal.cert_url.len;

    w->rc = ngx_http_integrations_paypal_cert_get(&url, &ctx->cert_url, w);

    if (w->rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    return ngx_http_integrations_webhook_paypal_decide(r, ctx);
}


/* from the event loop, the certificate fetched (or not) */

static void
ngx_http_integrations_webhook_paypal_ready(
    ngx_http_integrations_paypal_waiter_t *w)
{
    ngx_int_t                             rc;
    ngx_connection_t                     *c;
    ngx_http_request_t                   *r;
    ngx_http_integrations_webhook_ctx_t  *ctx;

    r = w->request;
    ctx = w->data;
    c = r->connection;

    rc = ngx_http_integrations_webhook_paypal_decide(r, ctx);

    ngx_http_integrations_webhook_resume(r, ctx, rc);

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_integrations_webhook_paypal_decide(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx)
{
    int                                           rc;
    const char                                   *err;
    ngx_uint_t                                    reason;
    integrations_webhook_headers_t               *h;
    ngx_http_integrations_paypal_waiter_t        *w;
    ngx_http_integrations_webhook_loc_conf_t     *wlcf;
    ngx_http_integrations_webhook_shcounters_t   *cnt;
    ngx_http_integrations_webhook_paypal_conf_t  *pcf;

    wlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_integrations_webhook_module);

    w = &ctx->waiter;

    if (w->rc == NGX_ERROR) {
        /* not the sender's fault: PayPal retries a 5xx later */

        if (ngx_http_integrations_retry_after(r, w->retry_after) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_integrations_webhook_paypal_refuse(r, ctx,
                         NGX_HTTP_INTEGRATIONS_WEBHOOK_CERTIFICATE_UNAVAILABLE,
                         w->err, "PAYPAL-CERT-URL");
    }

    if (w->rc != NGX_OK) {
        return ngx_http_integrations_webhook_paypal_refuse(r, ctx,
                                 NGX_HTTP_INTEGRATIONS_WEBHOOK_BAD_CERTIFICATE,
                                 w->err, "PAYPAL-CERT-URL");
    }

    err = "internal error";

    pcf = wlcf->paypal;

    rc = integrations_paypal_verify(w->cert, &ctx->paypal,
                                    (const char *) pcf->webhook_id.data,
                                    pcf->webhook_id.len,
                                    ctx->body.data, ctx->body.len,
                                    ngx_time(), pcf->tolerance, &err);

    if (rc != INTEGRATIONS_PAYPAL_OK) {

        switch (rc) {

        case INTEGRATIONS_PAYPAL_BAD_SIGNATURE:
            reason = INTEGRATIONS_WEBHOOK_BAD_SIGNATURE;
            break;

        case INTEGRATIONS_PAYPAL_TOO_OLD:
            reason = INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE;
            break;

        case INTEGRATIONS_PAYPAL_CERT_EXPIRED:
            reason = NGX_HTTP_INTEGRATIONS_WEBHOOK_BAD_CERTIFICATE;
            break;

        case INTEGRATIONS_PAYPAL_NO_MEMORY:
            reason = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
            break;

        default: /* INTEGRATIONS_PAYPAL_MALFORMED */
            reason = INTEGRATIONS_WEBHOOK_MALFORMED_HEADER;
        }

        return ngx_http_integrations_webhook_paypal_refuse(r, ctx, reason,
                                                           err, NULL);
    }

    /*
     * The event id: the body's top-level "id" ("WH-..."), the same in
     * every retry of one event, found by the core's scanner under the
     * Coinbase rule ("event"."id" else "id": a PayPal event has no
     * "event" member); else PAYPAL-TRANSMISSION-ID, which catches
     * replays of one transmission only.  Either, if unusable, refuses
     * the delivery where dedupe= needs it (refuse_id()).
     */

    h = &ctx->headers;
    integrations_webhook_headers_init(h);

    rc = integrations_webhook_event_id(INTEGRATIONS_WEBHOOK_COINBASE, h,
                                       ctx->body.data, ctx->body.len,
                                       &ctx->id);

    if (rc == INTEGRATIONS_WEBHOOK_ID_NONE) {
        ctx->id.source = INTEGRATIONS_WEBHOOK_ID_HEADER;
        ctx->id.field = "PAYPAL-TRANSMISSION-ID";
        ctx->id.len = ctx->paypal.transmission_id.len;
        rc = INTEGRATIONS_WEBHOOK_ID_FOUND;

        if (ctx->id.len == 0 || ctx->id.len > INTEGRATIONS_WEBHOOK_EVENT_ID_MAX)
        {
            rc = INTEGRATIONS_WEBHOOK_ID_INVALID;

        } else {
            ngx_memcpy(ctx->id.data, ctx->paypal.transmission_id.data,
                       ctx->id.len);
        }

        /* printable ASCII only, as the core's ids: safe in logs and keys */

        for (reason = 0; rc == INTEGRATIONS_WEBHOOK_ID_FOUND
                         && reason < ctx->id.len; reason++)
        {
            if (ctx->id.data[reason] < 0x21 || ctx->id.data[reason] > 0x7e) {
                rc = INTEGRATIONS_WEBHOOK_ID_INVALID;
            }
        }
    }

    ctx->has_id = (rc == INTEGRATIONS_WEBHOOK_ID_FOUND);

    if (rc == INTEGRATIONS_WEBHOOK_ID_INVALID && wlcf->dedupe != NULL) {
        return ngx_http_integrations_webhook_refuse_id(r, ctx);
    }

    ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_VERIFIED;

    cnt = ngx_http_integrations_webhook_counters_of(r, ctx->provider);

    if (cnt) {
        (void) ngx_atomic_fetch_add(&cnt->verified, 1);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook_verify: paypal delivery verified, event id "
                   "\"%*s\"", ctx->has_id ? ctx->id.len : 0, ctx->id.data);

    if (wlcf->dedupe == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_integrations_webhook_dedupe(r, ctx, wlcf);
}


static ngx_int_t
ngx_http_integrations_webhook_paypal_refuse(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx, ngx_uint_t reason,
    const char *detail, const char *header)
{
    u_char                                      *p;
    ngx_str_t                                    d;
    ngx_uint_t                                   status;
    ngx_http_integrations_webhook_shcounters_t  *cnt;
    u_char                                       buf[256];

    cnt = ngx_http_integrations_webhook_counters_of(r, ctx->provider);

    if (cnt) {
        (void) ngx_atomic_fetch_add(&cnt->failed[reason], 1);
    }

    ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_INVALID;

    switch (reason) {

    case INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE:
        status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        break;

    case INTEGRATIONS_WEBHOOK_INTERNAL_ERROR:
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_NONE;
        break;

    case NGX_HTTP_INTEGRATIONS_WEBHOOK_CERTIFICATE_UNAVAILABLE:
        status = NGX_HTTP_BAD_GATEWAY;
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_NONE;
        break;

    case INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE:
        status = NGX_HTTP_UNAUTHORIZED;
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_EXPIRED;
        break;

    default:
        status = NGX_HTTP_UNAUTHORIZED;
    }

    /* the reason, the header blamed, the core's words: never a signature */

    p = ngx_snprintf(buf, sizeof(buf), "%s",
                     ngx_http_integrations_webhook_reason(reason));

    if (header != NULL) {
        p = ngx_snprintf(p, buf + sizeof(buf) - p, " (%s)", header);
    }

    if (detail != NULL && reason != INTEGRATIONS_WEBHOOK_MISSING_HEADER) {
        p = ngx_snprintf(p, buf + sizeof(buf) - p, ": %s", detail);
    }

    d.data = buf;
    d.len = p - buf;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "webhook_verify: paypal delivery refused: %V", &d);

    return ngx_http_integrations_problem(r, status,
                              ngx_http_integrations_webhook_problems[reason][0],
                              ngx_http_integrations_webhook_problems[reason][1],
                              &d);
}


/*
 * The whole body in one buffer, from memory or the temporary file, none
 * of its buffers moved: proxy_pass sends the same chain.  NGX_DECLINED:
 * over NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL_MAX_BODY.
 */

static ngx_int_t
ngx_http_integrations_webhook_read_body(ngx_http_request_t *r,
    ngx_str_t *body)
{
    off_t         size;
    ssize_t       n;
    u_char       *p;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    if (size > NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL_MAX_BODY) {
        return NGX_DECLINED;
    }

    if (size == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (b->in_file && b->file_last > b->file_pos) {
            n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                              b->file_pos);

            if (n != b->file_last - b->file_pos) {
                ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                              ngx_read_file_n " read only %z of %O "
                              "from \"%V\"", n, b->file_last - b->file_pos,
                              &b->file->name);
                return NGX_ERROR;
            }

            p += n;
        }
    }

    body->len = p - body->data;

    return NGX_OK;
}


/*
 * A small body is all in memory: in one buffer, or in two when the
 * headers took part of it (the read buffers are followed by the empty
 * last_buf of nginx's body filter).  Its first bytes, in place or copied
 * once into the pool, are where decide() looks for the event id, so that
 * the core need not keep its own 16 KiB copy.  A body with a part in a
 * file is left to the core's copy, which it reads as it is fed.
 */

static ngx_int_t
ngx_http_integrations_webhook_id_bytes(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx)
{
    size_t        len, n;
    u_char       *p;
    ngx_buf_t    *b, *first;
    ngx_uint_t    pieces;
    ngx_chain_t  *cl;

    first = NULL;
    pieces = 0;
    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!ngx_buf_in_memory(b)) {
            if (b->in_file && b->file_last > b->file_pos) {
                return NGX_OK;
            }

            continue;
        }

        if (b->last > b->pos) {
            first = first ? first : b;
            pieces++;
            len += b->last - b->pos;
        }
    }

    len = ngx_min(len, INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX);

    if (pieces > 1) {
        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ctx->whole.data = p;

        for (cl = r->request_body->bufs; cl && len; cl = cl->next) {
            b = cl->buf;

            if (!ngx_buf_in_memory(b)) {
                continue;
            }

            n = ngx_min((size_t) (b->last - b->pos), len);
            p = ngx_cpymem(p, b->pos, n);
            len -= n;
        }

        len = p - ctx->whole.data;

    } else {
        ctx->whole.data = first ? first->pos : NULL;
    }

    ctx->whole.len = len;
    ctx->id_whole = 1;

    integrations_webhook_ctx_skip_id_prefix(&ctx->core);

    return NGX_OK;
}


/*
 * Each body buffer as it is, from memory or from the temporary file,
 * without moving any of its pointers: proxy_pass sends the same chain.
 */

static integrations_webhook_rc_e
ngx_http_integrations_webhook_feed(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx)
{
    off_t                       offset;
    size_t                      size;
    ssize_t                     n;
    u_char                     *buf;
    ngx_buf_t                  *b;
    ngx_chain_t                *cl;
    integrations_webhook_rc_e   rc;

    if (r->request_body == NULL) {
        return integrations_webhook_update(&ctx->core, NULL, 0);
    }

    if (ngx_http_integrations_webhook_id_bytes(r, ctx) != NGX_OK) {
        return INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
    }

    buf = NULL;
    rc = INTEGRATIONS_WEBHOOK_OK;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            if (b->last > b->pos) {
                rc = integrations_webhook_update(&ctx->core, b->pos,
                                                 b->last - b->pos);
            }

        } else if (b->in_file) {

            if (buf == NULL) {
                buf = ngx_palloc(r->pool, NGX_HTTP_INTEGRATIONS_WEBHOOK_READ);
                if (buf == NULL) {
                    rc = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
                    break;
                }
            }

            for (offset = b->file_pos;
                 offset < b->file_last && rc == INTEGRATIONS_WEBHOOK_OK;
                 offset += n)
            {
                size = (size_t) ngx_min(b->file_last - offset,
                                       NGX_HTTP_INTEGRATIONS_WEBHOOK_READ);

                n = ngx_read_file(b->file, buf, size, offset);

                if (n == NGX_ERROR) {
                    rc = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
                    break;
                }

                if ((size_t) n != size) {
                    ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                                  ngx_read_file_n " read only %z of %uz "
                                  "from \"%V\"", n, size, &b->file->name);
                    rc = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
                    break;
                }

                rc = integrations_webhook_update(&ctx->core, buf, n);
            }
        }

        if (rc != INTEGRATIONS_WEBHOOK_OK) {
            break;
        }
    }

    if (buf != NULL) {
        ngx_pfree(r->pool, buf);
    }

    return rc;
}


/*
 * NGX_DECLINED lets the request go on; anything else was answered, and is
 * what ngx_http_finalize_request() is given.
 */

static ngx_int_t
ngx_http_integrations_webhook_decide(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx, integrations_webhook_rc_e rc)
{
    int                                          id_rc;
    size_t                                       len;
    ngx_http_integrations_webhook_loc_conf_t    *wlcf;
    ngx_http_integrations_webhook_shcounters_t  *cnt;

    wlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_integrations_webhook_module);

    cnt = ngx_http_integrations_webhook_counters_of(r, ctx->provider);

    if (rc == INTEGRATIONS_WEBHOOK_OK) {

        if (ctx->id_whole) {
            /* the same bytes the core would have kept */
            len = ngx_min(ctx->whole.len, INTEGRATIONS_WEBHOOK_ID_PREFIX_MAX);

            id_rc = integrations_webhook_event_id(ctx->core.provider,
                                                  &ctx->headers,
                                                  ctx->whole.data, len,
                                                  &ctx->id);
        } else {
            id_rc = integrations_webhook_ctx_event_id(&ctx->core,
                                                      &ctx->headers,
                                                      &ctx->id);
        }

        ctx->has_id = (id_rc == INTEGRATIONS_WEBHOOK_ID_FOUND);

    } else {
        id_rc = INTEGRATIONS_WEBHOOK_ID_NONE;
    }

    /* the MAC contexts and the buffered body go now, not with the request */

    integrations_webhook_cleanup(&ctx->core);

    if (rc == INTEGRATIONS_WEBHOOK_UNSIGNED && wlcf->allow_unsigned) {
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_UNSIGNED;

        if (cnt) {
            (void) ngx_atomic_fetch_add(&cnt->unsigned_, 1);
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webhook_verify: %s delivery without a signature "
                      "let through (unsigned=allow)",
                      ngx_http_integrations_webhook_name(ctx->provider));

        return NGX_DECLINED;
    }

    if (rc != INTEGRATIONS_WEBHOOK_OK) {
        return ngx_http_integrations_webhook_refuse(r, ctx, rc);
    }

    if (id_rc == INTEGRATIONS_WEBHOOK_ID_INVALID && wlcf->dedupe != NULL) {
        return ngx_http_integrations_webhook_refuse_id(r, ctx);
    }

    ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_VERIFIED;

    if (cnt) {
        (void) ngx_atomic_fetch_add(&cnt->verified, 1);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook_verify: %s delivery verified, event id \"%*s\"",
                   ngx_http_integrations_webhook_name(ctx->provider),
                   ctx->has_id ? ctx->id.len : 0, ctx->id.data);

    if (wlcf->dedupe == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_integrations_webhook_dedupe(r, ctx, wlcf);
}


static ngx_int_t
ngx_http_integrations_webhook_refuse(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx, integrations_webhook_rc_e rc)
{
    u_char                                      *p;
    ngx_str_t                                    detail;
    ngx_uint_t                                   status;
    const char                                  *header, *reason;
    ngx_http_integrations_webhook_shcounters_t  *cnt;
    u_char                                       buf[256];

    if ((unsigned) rc >= INTEGRATIONS_WEBHOOK_RC_MAX) {
        rc = INTEGRATIONS_WEBHOOK_INTERNAL_ERROR;
    }

    cnt = ngx_http_integrations_webhook_counters_of(r, ctx->provider);

    if (cnt) {
        (void) ngx_atomic_fetch_add(&cnt->failed[rc], 1);
    }

    switch (rc) {

    case INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE:
        status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_INVALID;
        break;

    case INTEGRATIONS_WEBHOOK_INTERNAL_ERROR:
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_NONE;
        break;

    case INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE:
        status = NGX_HTTP_UNAUTHORIZED;
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_EXPIRED;
        break;

    default:
        status = NGX_HTTP_UNAUTHORIZED;
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_INVALID;
    }

    reason = integrations_webhook_reason_str(rc);

    header = (rc == INTEGRATIONS_WEBHOOK_MISSING_HEADER
              || rc == INTEGRATIONS_WEBHOOK_MALFORMED_HEADER
              || rc == INTEGRATIONS_WEBHOOK_NO_KNOWN_SCHEME
              || rc == INTEGRATIONS_WEBHOOK_TOO_MANY_SIGNATURES)
             ? integrations_webhook_header_name(ctx->core.header) : NULL;

    /* the reason, the header blamed, the skew: never a signature or MAC */

    p = ngx_snprintf(buf, sizeof(buf), "%s", reason);

    if (header != NULL) {
        p = ngx_snprintf(p, buf + sizeof(buf) - p, " (%s)", header);
    }

    if (rc == INTEGRATIONS_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE) {
        p = ngx_snprintf(p, buf + sizeof(buf) - p, " (skew %L s)",
                         ctx->core.skew);
    }

    detail.data = buf;
    detail.len = p - buf;

    return ngx_http_integrations_webhook_answer(r, ctx, status, rc, &detail);
}


/* The refusal, logged once at warn and answered as problem+json. */

static ngx_int_t
ngx_http_integrations_webhook_answer(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx, ngx_uint_t status,
    integrations_webhook_rc_e rc, ngx_str_t *detail)
{
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "webhook_verify: %s delivery refused: %V",
                  ngx_http_integrations_webhook_name(ctx->provider), detail);

    return ngx_http_integrations_problem(r, status,
                              ngx_http_integrations_webhook_problems[rc][0],
                              ngx_http_integrations_webhook_problems[rc][1],
                              detail);
}


/*
 * An authentic delivery whose event id is there but unusable (a NUL, a
 * control character, a space, non-ASCII, too long, two values...), at a
 * location with dedupe=: it cannot be told apart from other events, and
 * cutting or cleaning the id could make it a copy of another one, which
 * would be answered "replayed" and lost.  400 names the field; the
 * provider's retries get the same answer, and its dashboard shows them.
 */

static ngx_int_t
ngx_http_integrations_webhook_refuse_id(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx)
{
    u_char                                      *p;
    ngx_str_t                                    detail;
    integrations_webhook_rc_e                    rc;
    ngx_http_integrations_webhook_shcounters_t  *cnt;
    u_char                                       buf[256];

    rc = (ctx->id.source == INTEGRATIONS_WEBHOOK_ID_BODY)
         ? INTEGRATIONS_WEBHOOK_MALFORMED_BODY
         : INTEGRATIONS_WEBHOOK_MALFORMED_HEADER;

    ctx->has_id = 0;
    ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_INVALID;

    cnt = ngx_http_integrations_webhook_counters_of(r, ctx->provider);

    if (cnt) {
        (void) ngx_atomic_fetch_add(&cnt->failed[rc], 1);
    }

    /* the field, never its value: it may hold anything */

    p = ngx_snprintf(buf, sizeof(buf), "%s (%s): not usable as an event id "
                     "(1 to %d printable ASCII characters)",
                     integrations_webhook_reason_str(rc),
                     ctx->id.field ? ctx->id.field : "id",
                     INTEGRATIONS_WEBHOOK_EVENT_ID_MAX);

    detail.data = buf;
    detail.len = p - buf;

    return ngx_http_integrations_webhook_answer(r, ctx, NGX_HTTP_BAD_REQUEST,
                                                rc, &detail);
}


static ngx_int_t
ngx_http_integrations_webhook_dedupe(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx,
    ngx_http_integrations_webhook_loc_conf_t *wlcf)
{
    u_char                             *p;
    ngx_http_integrations_dedupe_rc_e   drc;

    if (!ctx->has_id) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webhook_verify: %s delivery has no event id, "
                      "not deduplicated",
                      ngx_http_integrations_webhook_name(ctx->provider));
        return NGX_DECLINED;
    }

    /* "provider:id": ids of two providers never meet in a shared zone */

    p = ngx_cpymem(ctx->key,
                   ngx_http_integrations_webhook_name(ctx->provider),
                   ngx_strlen(ngx_http_integrations_webhook_name(
                                                            ctx->provider)));
    *p++ = ':';
    p = ngx_cpymem(p, ctx->id.data, ctx->id.len);
    ctx->key_len = p - ctx->key;

    ctx->dwait.ready = ngx_http_integrations_webhook_dedupe_ready;
    ctx->dwait.data = r;

    drc = ngx_http_integrations_dedupe_begin(wlcf->dedupe, r->connection->log,
                                             ctx->key, ctx->key_len,
                                             &ctx->token, &ctx->dwait);

    if (drc == NGX_HTTP_INTEGRATIONS_DEDUPE_AGAIN) {
        return NGX_AGAIN;
    }

    return ngx_http_integrations_webhook_dedupe_answer(r, ctx, wlcf->dedupe,
                                                       drc);
}


static void
ngx_http_integrations_webhook_dedupe_ready(
    ngx_http_integrations_dedupe_wait_t *w)
{
    ngx_int_t                                  rc;
    ngx_connection_t                          *c;
    ngx_http_request_t                        *r;
    ngx_http_integrations_webhook_ctx_t       *ctx;
    ngx_http_integrations_webhook_loc_conf_t  *wlcf;

    r = w->data;
    c = r->connection;

    ctx = ngx_http_integrations_webhook_get_ctx(r);
    wlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_integrations_webhook_module);

    ctx->token = w->token;

    rc = ngx_http_integrations_webhook_dedupe_answer(r, ctx, wlcf->dedupe,
                                                     w->rc);

    ngx_http_integrations_webhook_resume(r, ctx, rc);

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_integrations_webhook_dedupe_answer(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx,
    ngx_http_integrations_dedupe_t *dd, ngx_http_integrations_dedupe_rc_e drc)
{
    ngx_str_t                                    detail;
    ngx_http_integrations_webhook_shcounters_t  *cnt;

    cnt = ngx_http_integrations_webhook_counters_of(r, ctx->provider);

    switch (drc) {

    case NGX_HTTP_INTEGRATIONS_DEDUPE_NEW:
        ctx->dedupe = dd;
        ctx->marked = 1;
        return NGX_DECLINED;

    case NGX_HTTP_INTEGRATIONS_DEDUPE_UNAVAILABLE:

        /* the provider retries later: nothing lost, nothing twice */

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webhook_verify: %s event \"%*s\": the replay marks "
                      "of webhook_dedupe_zone \"%V\" cannot be read "
                      "(Redis is down), answered 503",
                      ngx_http_integrations_webhook_name(ctx->provider),
                      ctx->id.len, ctx->id.data,
                      ngx_http_integrations_dedupe_name(dd));

        if (ngx_http_integrations_retry_after(r, 10) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_str_set(&detail, "the replay protection cannot be reached, "
                             "retry later");

        return ngx_http_integrations_problem(r,
                                             NGX_HTTP_SERVICE_UNAVAILABLE,
                                             "webhook_dedupe_unavailable",
                                             "Webhook replay protection "
                                             "unavailable", &detail);

    case NGX_HTTP_INTEGRATIONS_DEDUPE_DELIVERED:
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_REPLAYED;

        if (cnt) {
            (void) ngx_atomic_fetch_add(&cnt->replayed, 1);
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webhook_verify: %s event \"%*s\" delivered already, "
                      "answered 200",
                      ngx_http_integrations_webhook_name(ctx->provider),
                      ctx->id.len, ctx->id.data);

        return ngx_http_integrations_webhook_replayed(r);

    case NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT:
        ctx->status = NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_REPLAYED;

        if (cnt) {
            (void) ngx_atomic_fetch_add(&cnt->in_flight, 1);
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webhook_verify: %s event \"%*s\" is in flight, "
                      "answered 409",
                      ngx_http_integrations_webhook_name(ctx->provider),
                      ctx->id.len, ctx->id.data);

        ngx_str_set(&detail, "a copy of this delivery is being processed, "
                             "retry later");

        return ngx_http_integrations_problem(r, NGX_HTTP_CONFLICT,
                                             "webhook_in_flight",
                                             "Webhook delivery in flight",
                                             &detail);

    default: /* NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED */

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "webhook_verify: webhook_dedupe_zone \"%V\" cannot "
                      "hold %s event \"%*s\", passed without dedupe",
                      ngx_http_integrations_dedupe_name(dd),
                      ngx_http_integrations_webhook_name(ctx->provider),
                      ctx->id.len, ctx->id.data);
        return NGX_DECLINED;
    }
}


static ngx_int_t
ngx_http_integrations_webhook_replayed(ngx_http_request_t *r)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    static ngx_str_t  ct = ngx_string("application/json");
    static u_char     body[] = "{\"status\":\"replayed\"}\n";

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body;
    b->last = body + sizeof(body) - 1;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = ct;
    r->headers_out.content_type_len = ct.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = sizeof(body) - 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_integrations_webhook_header_filter(ngx_http_request_t *r)
{
    ngx_http_integrations_webhook_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_integrations_webhook_get_ctx(r);

    if (ctx != NULL && ctx->marked) {
        ngx_http_integrations_webhook_settle(r, ctx);
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_integrations_webhook_log_handler(ngx_http_request_t *r)
{
    ngx_http_integrations_webhook_ctx_t  *ctx;

    ctx = ngx_http_integrations_webhook_get_ctx(r);

    if (ctx != NULL && ctx->marked) {
        ngx_http_integrations_webhook_settle(r, ctx);
    }

    return NGX_OK;
}


static void
ngx_http_integrations_webhook_settle(ngx_http_request_t *r,
    ngx_http_integrations_webhook_ctx_t *ctx)
{
    ngx_uint_t  delivered;

    delivered = ngx_http_integrations_webhook_delivered(r);

    ngx_http_integrations_dedupe_end(ctx->dedupe, ctx->key, ctx->key_len,
                                     ctx->token, delivered);
    ctx->marked = 0;

    if (!delivered) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webhook_verify: %s event \"%*s\" not delivered, "
                      "its retry will go through",
                      ngx_http_integrations_webhook_name(ctx->provider),
                      ctx->id.len, ctx->id.data);
    }
}


/*
 * The last upstream attempt's status, as $upstream_status ends; without
 * an upstream (a location that answers itself), the response's status.
 */

static ngx_uint_t
ngx_http_integrations_webhook_delivered(ngx_http_request_t *r)
{
    ngx_uint_t                  status;
    ngx_http_upstream_state_t  *state;

    if (r->upstream_states != NULL && r->upstream_states->nelts > 0) {
        state = r->upstream_states->elts;
        status = state[r->upstream_states->nelts - 1].status;

    } else {
        status = r->headers_out.status;
    }

    return (status >= 200 && status < 300);
}


static void
ngx_http_integrations_webhook_cleanup(void *data)
{
    ngx_http_integrations_webhook_ctx_t  *ctx = data;

    integrations_webhook_cleanup(&ctx->core);

    /* a delivery whose client went while its certificate was fetched */

    ngx_http_integrations_paypal_cert_cancel(&ctx->waiter);

    /* a mark Redis takes after the client went is removed by dedupe */
    ngx_http_integrations_dedupe_cancel(&ctx->dwait);

    if (ctx->marked) {
        ngx_http_integrations_dedupe_end(ctx->dedupe, ctx->key, ctx->key_len,
                                         ctx->token, 0);
        ctx->marked = 0;
    }
}


/*
 * An internal redirect (error_page) or a filter finalization clears the
 * modules' contexts; the pool cleanup still knows it, as the realip
 * module finds its own.
 */

static ngx_http_integrations_webhook_ctx_t *
ngx_http_integrations_webhook_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t                   *cln;
    ngx_http_integrations_webhook_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_integrations_webhook_module);

    if (ctx != NULL || !(r->internal || r->filter_finalize)) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_integrations_webhook_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_integrations_webhook_module);
            return ctx;
        }
    }

    return NULL;
}


static ngx_http_integrations_webhook_shcounters_t *
ngx_http_integrations_webhook_counters_of(ngx_http_request_t *r,
    integrations_webhook_provider_e provider)
{
    ngx_http_integrations_webhook_sh_t         *sh;
    ngx_http_integrations_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_integrations_webhook_module);

    if (wmcf->counters == NULL || wmcf->counters->data == NULL
        || (unsigned) provider >= NGX_HTTP_INTEGRATIONS_WEBHOOK_PROVIDERS)
    {
        return NULL;
    }

    sh = wmcf->counters->data;

    return &sh->provider[provider];
}


static const char *
ngx_http_integrations_webhook_name(ngx_uint_t provider)
{
    if (provider == NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL) {
        return "paypal";
    }

    return integrations_webhook_provider_name(provider);
}


static const char *
ngx_http_integrations_webhook_reason(ngx_uint_t reason)
{
    switch (reason) {

    case NGX_HTTP_INTEGRATIONS_WEBHOOK_BAD_CERTIFICATE:
        return "bad_certificate";

    case NGX_HTTP_INTEGRATIONS_WEBHOOK_CERTIFICATE_UNAVAILABLE:
        return "certificate_unavailable";

    default:
        return integrations_webhook_reason_str(reason);
    }
}


/*
 * The metrics, for the providers this configuration verifies: one family
 * at a time, each with every provider's samples, as the registry wants.
 */

static ngx_int_t
ngx_http_integrations_webhook_collect(
    ngx_http_integrations_status_writer_t *w, void *data)
{
    ngx_http_integrations_webhook_main_conf_t *wmcf = data;

    const char                                  *reason;
    ngx_uint_t                                   f, p, rc, n;
    ngx_atomic_uint_t                            value;
    ngx_http_integrations_webhook_sh_t          *sh;
    ngx_http_integrations_webhook_shcounters_t  *c;
    ngx_http_integrations_status_label_t         l[2];

    static const struct {
        const char  *name;
        const char  *help;
        size_t       offset;
    } families[] = {
        { "integrations_webhook_verified_total",
          "Deliveries whose signature verified, replayed copies too.",
          offsetof(ngx_http_integrations_webhook_shcounters_t, verified) },
        { "integrations_webhook_replayed_total",
          "Copies of a delivered event answered 200 without reaching "
          "the upstream.",
          offsetof(ngx_http_integrations_webhook_shcounters_t, replayed) },
        { "integrations_webhook_in_flight_total",
          "Copies answered 409 while the first was in flight.",
          offsetof(ngx_http_integrations_webhook_shcounters_t, in_flight) },
        { "integrations_webhook_unsigned_total",
          "Unsigned Toss deliveries let through by unsigned=allow.",
          offsetof(ngx_http_integrations_webhook_shcounters_t, unsigned_) }
    };

    if (wmcf->counters == NULL || wmcf->counters->data == NULL) {
        return NGX_OK;
    }

    sh = wmcf->counters->data;

    ngx_str_set(&l[0].name, "provider");
    ngx_str_set(&l[1].name, "reason");

    for (f = 0; f < sizeof(families) / sizeof(families[0]); f++) {

        if (ngx_http_integrations_status_family(w, families[f].name,
                                           NGX_HTTP_INTEGRATIONS_STATUS_COUNTER,
                                           families[f].help)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (p = 0; p < NGX_HTTP_INTEGRATIONS_WEBHOOK_PROVIDERS; p++) {

            if (!(wmcf->providers & ((ngx_uint_t) 1 << p))) {
                continue;
            }

            c = &sh->provider[p];
            value = *(ngx_atomic_t *) ((u_char *) c + families[f].offset);

            l[0].value.data = (u_char *) ngx_http_integrations_webhook_name(p);
            l[0].value.len = ngx_strlen(l[0].value.data);

            if (ngx_http_integrations_status_sample(w, l, 1, value)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (ngx_http_integrations_status_family(w,
            "integrations_webhook_failed_total",
            NGX_HTTP_INTEGRATIONS_STATUS_COUNTER,
            "Deliveries refused, by reason.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (p = 0; p < NGX_HTTP_INTEGRATIONS_WEBHOOK_PROVIDERS; p++) {

        if (!(wmcf->providers & ((ngx_uint_t) 1 << p))) {
            continue;
        }

        l[0].value.data = (u_char *) ngx_http_integrations_webhook_name(p);
        l[0].value.len = ngx_strlen(l[0].value.data);

        n = (p == NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL)
            ? NGX_HTTP_INTEGRATIONS_WEBHOOK_REASONS
            : INTEGRATIONS_WEBHOOK_RC_MAX;

        for (rc = INTEGRATIONS_WEBHOOK_OK + 1; rc < n; rc++) {
            reason = ngx_http_integrations_webhook_reason(rc);

            l[1].value.data = (u_char *) reason;
            l[1].value.len = ngx_strlen(reason);

            if (ngx_http_integrations_status_sample(w, l, 2,
                                               sh->provider[p].failed[rc])
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_webhook_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char                           *name;
    ngx_str_t                            *s;
    ngx_http_integrations_webhook_ctx_t  *ctx;

    ctx = ngx_http_integrations_webhook_get_ctx(r->main);

    v->not_found = 1;

    if (ctx == NULL) {
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_INTEGRATIONS_WEBHOOK_VAR_PROVIDER:
        name = ngx_http_integrations_webhook_name(ctx->provider);
        v->data = (u_char *) name;
        v->len = ngx_strlen(name);
        break;

    case NGX_HTTP_INTEGRATIONS_WEBHOOK_VAR_EVENT_ID:
        if (!ctx->has_id) {
            return NGX_OK;
        }

        v->data = ctx->id.data;
        v->len = ctx->id.len;
        break;

    default: /* NGX_HTTP_INTEGRATIONS_WEBHOOK_VAR_STATUS */
        if (ctx->status == NGX_HTTP_INTEGRATIONS_WEBHOOK_ST_NONE) {
            return NGX_OK;
        }

        s = &ngx_http_integrations_webhook_statuses[ctx->status];
        v->data = s->data;
        v->len = s->len;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static char *
ngx_http_integrations_webhook_verify(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_webhook_loc_conf_t *wlcf = conf;

    char                                        err[256];
    u_char                                     *url;
    ngx_int_t                                   rc, tolerance;
    ngx_str_t                                  *value, s, zone, secret;
    ngx_uint_t                                  i, nsecrets, key_form_set,
                                                allow_unsigned, alg_set;
    ngx_pool_cleanup_t                         *cln;
    integrations_webhook_params_t               params;
    integrations_webhook_provider_e             provider;
    integrations_webhook_secret_kind_e          kind;
    integrations_webhook_verifier_t            *v;
    integrations_webhook_secret_t     secrets[INTEGRATIONS_WEBHOOK_MAX_SECRETS];

    if (wlcf->verifier != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 6 && ngx_strncmp(value[1].data, "paypal", 6) == 0) {
        return ngx_http_integrations_webhook_verify_paypal(cf, cmd, wlcf);
    }

    provider = integrations_webhook_provider_by_name(value[1].data,
                                                     value[1].len);

    if (provider == INTEGRATIONS_WEBHOOK_PROVIDER_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown webhook provider \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&params, sizeof(integrations_webhook_params_t));
    ngx_memzero(&zone, sizeof(ngx_str_t));

    params.provider = provider;
    params.key_form = INTEGRATIONS_WEBHOOK_KEY_ASCII;

    nsecrets = 0;
    key_form_set = 0;
    allow_unsigned = 0;
    alg_set = 0;
    tolerance = -1;
    url = NULL;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "secret_file=", 12) == 0
            || ngx_strncmp(value[i].data, "public_key_file=", 16) == 0)
        {
            if (value[i].data[0] == 's') {
                kind = INTEGRATIONS_WEBHOOK_SECRET_AUTO;
                s.data = value[i].data + 12;
                s.len = value[i].len - 12;

            } else {
                if (provider != INTEGRATIONS_WEBHOOK_STANDARD) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "\"public_key_file=\" is only for "
                                       "standard, not %V", &value[1]);
                    return NGX_CONF_ERROR;
                }

                kind = INTEGRATIONS_WEBHOOK_SECRET_ED25519_PUBLIC;
                s.data = value[i].data + 16;
                s.len = value[i].len - 16;
            }

            if (s.len == 0) {
                goto invalid;
            }

            if (nsecrets == INTEGRATIONS_WEBHOOK_MAX_SECRETS) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "too many secrets in \"%V\", at most %d",
                                   &cmd->name,
                                   INTEGRATIONS_WEBHOOK_MAX_SECRETS);
                return NGX_CONF_ERROR;
            }

            if (ngx_http_integrations_secret_read(cf, &cmd->name, &s, &secret)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            secrets[nsecrets].data = secret.data;
            secrets[nsecrets].len = secret.len;
            secrets[nsecrets].kind = kind;
            nsecrets++;

            continue;
        }

        rc = ngx_http_integrations_webhook_common_param(&value[i],
                                                        &tolerance, &zone);
        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "url=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            if (!(s.len > 7 && ngx_strncmp(s.data, "http://", 7) == 0)
                && !(s.len > 8 && ngx_strncmp(s.data, "https://", 8) == 0))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\": the url must "
                                   "start with http:// or https://",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            if (ngx_strlchr(s.data, s.data + s.len, '?') != NULL
                || ngx_strlchr(s.data, s.data + s.len, '#') != NULL)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\": the url is "
                                   "given without a query or fragment",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            url = s.data;
            params.url = s.data;
            params.url_len = s.len;

            continue;
        }

        if (ngx_strcmp(value[i].data, "key_form=ascii") == 0) {
            params.key_form = INTEGRATIONS_WEBHOOK_KEY_ASCII;
            key_form_set = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "key_form=hex") == 0) {
            params.key_form = INTEGRATIONS_WEBHOOK_KEY_HEX;
            key_form_set = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "unsigned=allow") == 0) {
            allow_unsigned = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "algorithm=", 10) == 0) {

            if (ngx_strcmp(value[i].data + 10, "sha1") == 0) {
                params.algorithm = INTEGRATIONS_WEBHOOK_ALG_SHA1;

            } else if (ngx_strcmp(value[i].data + 10, "sha256") == 0) {
                params.algorithm = INTEGRATIONS_WEBHOOK_ALG_SHA256;

            } else if (ngx_strcmp(value[i].data + 10, "auto") == 0) {
                params.algorithm = INTEGRATIONS_WEBHOOK_ALG_AUTO;

            } else {
                goto invalid;
            }

            alg_set = 1;
            continue;
        }

        goto invalid;
    }

    if (nsecrets == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" requires at least one \"secret_file=\"",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (url == NULL && (provider == INTEGRATIONS_WEBHOOK_SQUARE
                        || provider == INTEGRATIONS_WEBHOOK_TWILIO))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"url=\" is required for %V", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (url != NULL && provider != INTEGRATIONS_WEBHOOK_SQUARE
        && provider != INTEGRATIONS_WEBHOOK_TWILIO)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"url=\" is only for square and twilio, not %V",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (tolerance != -1 && provider != INTEGRATIONS_WEBHOOK_STRIPE
        && provider != INTEGRATIONS_WEBHOOK_STANDARD
        && provider != INTEGRATIONS_WEBHOOK_SLACK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tolerance=\" is only for stripe, standard and "
                           "slack: %V signs no timestamp", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (alg_set && provider != INTEGRATIONS_WEBHOOK_TWILIO) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"algorithm=\" is only for twilio, not %V",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if ((key_form_set || allow_unsigned)
        && provider != INTEGRATIONS_WEBHOOK_TOSS)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" is only for toss, not %V",
                           key_form_set ? "key_form=" : "unsigned=allow",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    params.secrets = secrets;
    params.nsecrets = nsecrets;
    params.tolerance = (tolerance == -1) ? 0 : tolerance;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    err[0] = '\0';

    v = integrations_webhook_verifier_create(&params, err, sizeof(err));

    /* the verifier holds the keys now: the files' bytes are not needed */

    for (i = 0; i < nsecrets; i++) {
        OPENSSL_cleanse((void *) secrets[i].data, secrets[i].len);
    }

    if (v == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" %V: %s",
                           &cmd->name, &value[1], err);
        return NGX_CONF_ERROR;
    }

    cln->handler = integrations_webhook_verifier_free;
    cln->data = v;

    wlcf->verifier = v;
    wlcf->provider = provider;
    wlcf->allow_unsigned = allow_unsigned;

    return ngx_http_integrations_webhook_enable(cf, wlcf, provider, &zone);

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/*
 * webhook_verify paypal webhook_id=ID [tolerance=time] [dedupe=zone]
 *                       [cert_url_host=host[:port]];
 */

static char *
ngx_http_integrations_webhook_verify_paypal(ngx_conf_t *cf,
    ngx_command_t *cmd, ngx_http_integrations_webhook_loc_conf_t *wlcf)
{
    u_char                                       *p;
    ngx_int_t                                     rc, tolerance;
    ngx_str_t                                    *value, s, zone;
    ngx_uint_t                                    i;
    ngx_http_integrations_webhook_paypal_conf_t  *pcf;

    value = cf->args->elts;

    pcf = ngx_pcalloc(cf->pool,
                      sizeof(ngx_http_integrations_webhook_paypal_conf_t));
    if (pcf == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&zone);
    tolerance = NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL_TOLERANCE;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "webhook_id=", 11) == 0) {
            s.data = value[i].data + 11;
            s.len = value[i].len - 11;

            /* signed as "id|time|webhook_id|crc": no '|', printable */

            if (s.len == 0 || s.len > 255) {
                goto invalid;
            }

            for (p = s.data; p < s.data + s.len; p++) {
                if (*p < 0x21 || *p > 0x7e || *p == '|') {
                    goto invalid;
                }
            }

            pcf->webhook_id = s;
            continue;
        }

        rc = ngx_http_integrations_webhook_common_param(&value[i],
                                                        &tolerance, &zone);
        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "cert_url_host=", 14) == 0) {
            s.data = value[i].data + 14;
            s.len = value[i].len - 14;

            /* a host and a port: nothing that would change the path */

            if (s.len == 0) {
                goto invalid;
            }

            for (p = s.data; p < s.data + s.len; p++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                      || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'
                      || *p == ':' || *p == '[' || *p == ']'))
                {
                    goto invalid;
                }
            }

            pcf->cert_url_host = s;
            continue;
        }

        goto invalid;
    }

    if (pcf->webhook_id.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" paypal requires \"webhook_id=\"",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    pcf->tolerance = (time_t) tolerance;

    wlcf->verifier = NULL;
    wlcf->paypal = pcf;
    wlcf->provider = NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL;
    wlcf->allow_unsigned = 0;

    return ngx_http_integrations_webhook_enable(cf, wlcf,
                                      NGX_HTTP_INTEGRATIONS_WEBHOOK_PAYPAL,
                                      &zone);

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/*
 * The parameters every provider takes: "tolerance=" and "dedupe=".
 * NGX_OK: taken; NGX_DECLINED: another parameter; NGX_ERROR: invalid.
 */

static ngx_int_t
ngx_http_integrations_webhook_common_param(ngx_str_t *value,
    ngx_int_t *tolerance, ngx_str_t *zone)
{
    ngx_str_t  s;

    if (ngx_strncmp(value->data, "tolerance=", 10) == 0) {
        s.data = value->data + 10;
        s.len = value->len - 10;

        *tolerance = ngx_parse_time(&s, 1);

        return (*tolerance == NGX_ERROR || s.len == 0) ? NGX_ERROR : NGX_OK;
    }

    if (ngx_strncmp(value->data, "dedupe=", 7) == 0) {
        zone->data = value->data + 7;
        zone->len = value->len - 7;

        return zone->len ? NGX_OK : NGX_ERROR;
    }

    return NGX_DECLINED;
}


/* the dedupe zone, the counters, the phase handlers: for every provider */

static char *
ngx_http_integrations_webhook_enable(ngx_conf_t *cf,
    ngx_http_integrations_webhook_loc_conf_t *wlcf, ngx_uint_t provider,
    ngx_str_t *zone)
{
    ngx_http_integrations_dedupe_t            **ddp;
    ngx_http_integrations_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_integrations_webhook_module);

    if (zone->len) {
        wlcf->dedupe = ngx_http_integrations_dedupe_ref(cf, zone,
                                       &ngx_http_integrations_webhook_module);
        if (wlcf->dedupe == NULL) {
            return NGX_CONF_ERROR;
        }

        ddp = ngx_array_push(&wmcf->dedupes);
        if (ddp == NULL) {
            return NGX_CONF_ERROR;
        }

        *ddp = wlcf->dedupe;
    }

    if (ngx_http_integrations_webhook_counters_zone(cf, wmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    wmcf->used = 1;
    wmcf->providers |= (ngx_uint_t) 1 << provider;

    return NGX_CONF_OK;
}


static char *
ngx_http_integrations_webhook_dedupe_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ssize_t      size;
    ngx_int_t                        ttl;
    ngx_str_t                       *value, name, s;
    ngx_uint_t                       i, cluster, local, on_error;
    ngx_http_integrations_dedupe_t  *dd;

    value = cf->args->elts;

    ngx_memzero(&name, sizeof(ngx_str_t));
    size = 0;
    ttl = NGX_HTTP_INTEGRATIONS_DEDUPE_TTL;
    cluster = 0;
    local = 0;
    on_error = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            if (ngx_http_integrations_zone_parse(cf, &value[i], &name, &size)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            ttl = ngx_parse_time(&s, 1);
            if (ttl == NGX_ERROR || ttl == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "scope=cluster") == 0) {
            cluster = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "scope=local") == 0) {
            cluster = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "on_error=local") == 0) {
            local = 1;
            on_error = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "on_error=reject") == 0) {
            local = 0;
            on_error = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (on_error && !cluster) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive: \"on_error\" needs "
                           "\"scope=cluster\"", &cmd->name);
        return NGX_CONF_ERROR;
    }

    dd = ngx_http_integrations_dedupe_declare(cf, &name, size, (time_t) ttl,
                                       &ngx_http_integrations_webhook_module);
    if (dd == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cluster && ngx_http_integrations_dedupe_cluster(cf, dd, local)
                   != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_integrations_webhook_counters_zone(ngx_conf_t *cf,
    ngx_http_integrations_webhook_main_conf_t *wmcf)
{
    if (wmcf->counters != NULL) {
        return NGX_OK;
    }

    wmcf->counters = ngx_http_integrations_zone_add(cf,
                                &ngx_http_integrations_webhook_counters_name,
                                NGX_HTTP_INTEGRATIONS_ZONE_MIN,
                                &ngx_http_integrations_webhook_counters_type,
                                &ngx_http_integrations_webhook_counters_tag);

    return (wmcf->counters == NULL) ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_http_integrations_webhook_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_integrations_webhook_vars; v->name.len; v++) {
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
ngx_http_integrations_webhook_init(ngx_conf_t *cf)
{
    ngx_uint_t                                  i;
    ngx_http_handler_pt                        *h;
    ngx_http_core_main_conf_t                  *cmcf;
    ngx_http_integrations_dedupe_t            **ddp;
    ngx_http_integrations_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_integrations_webhook_module);

    ddp = wmcf->dedupes.elts;

    for (i = 0; i < wmcf->dedupes.nelts; i++) {
        if (ngx_http_integrations_dedupe_check(cf, ddp[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* configurations without webhook_verify pay nothing per request */

    if (!wmcf->used) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_integrations_webhook_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_integrations_webhook_log_handler;

    if (ngx_http_integrations_status_add_collector(cf,
            ngx_http_integrations_webhook_collect, wmcf)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_integrations_webhook_header_filter;

    return NGX_OK;
}


static void *
ngx_http_integrations_webhook_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_webhook_main_conf_t  *wmcf;

    wmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_webhook_main_conf_t));
    if (wmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&wmcf->dedupes, cf->pool, 4,
                       sizeof(ngx_http_integrations_dedupe_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return wmcf;
}


static void *
ngx_http_integrations_webhook_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_webhook_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_webhook_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->provider = INTEGRATIONS_WEBHOOK_STRIPE;
     *     conf->dedupe = NULL;
     *     conf->allow_unsigned = 0;
     */

    conf->verifier = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_integrations_webhook_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_integrations_webhook_loc_conf_t  *prev = parent;
    ngx_http_integrations_webhook_loc_conf_t  *conf = child;

    /* the directive's parameters go together, into nested locations too */

    if (conf->verifier == NGX_CONF_UNSET_PTR) {
        conf->verifier = (prev->verifier == NGX_CONF_UNSET_PTR)
                         ? NULL : prev->verifier;
        conf->paypal = prev->paypal;
        conf->provider = prev->provider;
        conf->dedupe = prev->dedupe;
        conf->allow_unsigned = prev->allow_unsigned;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_integrations_webhook_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_integrations_paypal_cert_exit();
}
