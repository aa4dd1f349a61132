/*
 * Notification providers: see ngx_http_integrations_notify_provider.h.
 *
 * A send builds the provider's request with the pure core's builders
 * (integrations_solapi.h, _twilio.h, _sendgrid.h, _slack.h, _fcm.h,
 * _mime.h), hands it to the outbound client with the provider's limits,
 * and classifies the answer with the same core.  Nothing here decides
 * what an answer means.
 *
 * FCM's OAuth2 token lives in shared memory, one zone per fcm provider,
 * as PayPal's does: a worker that finds none (or none it may still use)
 * fetches it while the others poll the zone, never blocking.  From its
 * refresh time (5 minutes before it ends) the first send to see it takes
 * the zone's fetch slot and refreshes it in the background, on a pool of
 * its own, while it and every other send go on with the old token: one
 * exchange per refresh across the workers, and no send waits on one
 * after the first.  A 401 from FCM (F_REAUTH) drops it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "integrations_breaker.h"
#include "integrations_codec.h"
#include "integrations_fcm.h"
#include "integrations_json.h"
#include "integrations_mime.h"
#include "integrations_notify.h"
#include "integrations_notify_request.h"
#include "integrations_notify_retry.h"
#include "integrations_recipient.h"
#include "integrations_sendgrid.h"
#include "integrations_slack.h"
#include "integrations_sms_kr.h"
#include "integrations_solapi.h"
#include "integrations_twilio.h"
#include "ngx_http_integrations_notify_provider.h"
#include "ngx_http_integrations_outbound.h"
#include "ngx_http_integrations_outbound_limits.h"
#include "ngx_http_integrations_problem.h"
#include "ngx_http_integrations_secret.h"


#define NGX_HTTP_NP_TOKEN_POLL       20        /* ms */
#define NGX_HTTP_NP_TOKEN_FAIL_HOLD  1000      /* ms a failed fetch is
                                                  believed by the waiters */
#define NGX_HTTP_NP_MAX_RESPONSE     65536


/* FCM's token, shared by the workers */

typedef struct {
    uint32_t                   fingerprint;
    time_t                     refresh_at;  /* refreshed from then */
    time_t                     expires;     /* 0: none; not used from then */
    ngx_msec_t                 fetching;    /* ngx_current_msec deadline */
    ngx_msec_t                 failed;      /* until then a fetch failed */
    unsigned                   fail_flags;
    size_t                     len;
    u_char                     token[INTEGRATIONS_FCM_TOKEN_MAX];
} ngx_http_integrations_np_token_t;


typedef struct {
    ngx_http_integrations_notify_provider_t  *provider;

    ngx_str_t                  base_url;    /* no trailing "/" */
    ngx_str_t                  url;         /* where a send goes */
    ngx_str_t                  secret;      /* the key file, cleansed */
    ngx_str_t                  user;        /* the secret's two halves: */
    ngx_str_t                  pass;        /* sid:token, key:secret,
                                               user:password */
    ngx_str_t                  auth;        /* "Basic ..." / "Bearer ..." */
    ngx_str_t                  from;
    ngx_str_t                  from_name;
    ngx_str_t                  reply_to;
    ngx_str_t                  messaging_service;
    ngx_str_t                  status_callback;
    ngx_str_t                  pf_id;
    ngx_str_t                  idem_header;
    ngx_uint_t                 default_cc;
    ngx_int_t                  charset;     /* integrations_sms_charset_e */
    ngx_flag_t                 starttls;
    ngx_msec_t                 connect_timeout;
    ngx_msec_t                 timeout;

    ngx_http_integrations_outbound_limits_t  limits;

    /* fcm */
    integrations_fcm_key_t     fcm;
    ngx_str_t                  token_url;
    ngx_shm_zone_t            *token_zone;
    uint32_t                   fingerprint;

    /* this worker's sends in flight */
    ngx_uint_t                 inflight;
} ngx_http_integrations_np_conf_t;


typedef struct {
    ngx_array_t                providers;   /* of provider_t * */
} ngx_http_integrations_np_main_conf_t;


typedef enum {
    NGX_HTTP_NP_STEP_TOKEN = 0,             /* FCM: getting the token */
    NGX_HTTP_NP_STEP_SEND,
    NGX_HTTP_NP_STEP_DONE                   /* outcome known */
} ngx_http_integrations_np_step_e;


typedef struct {
    ngx_http_integrations_notify_provider_t  *provider;
    ngx_http_integrations_np_conf_t          *conf;
    ngx_http_integrations_notify_message_t   *msg;
    ngx_pool_t                               *pool;
    ngx_log_t                                *log;
    ngx_http_integrations_notify_done_pt      done;
    void                                     *data;

    ngx_http_integrations_notify_outcome_t    outcome;
    ngx_http_integrations_outbound_req_t     *req;     /* in flight */
    ngx_event_t                               ev;      /* a token poll, or
                                                          done() posted */
    ngx_msec_t                                deadline;
    ngx_str_t                                 token;   /* FCM's, as used */
    ngx_str_t                                 smtp_id; /* our Message-ID */
    u_char                                    key[
                                        NGX_HTTP_INTEGRATIONS_NOTIFY_KEY_MAX];

    ngx_uint_t                                step;
    unsigned                                  counted:1;   /* in inflight */
    unsigned                                  in_send:1;   /* inside send() */
    unsigned                                  fetcher:1;   /* FCM token */
    unsigned                                  called:1;    /* done() ran or
                                                              cancelled */
} ngx_http_integrations_np_send_t;


static const char *ngx_http_integrations_np_type_names[] = {
    "smtp", "sendgrid", "twilio", "solapi", "fcm", "slack", "slack_webhook",
    NULL
};


static void ngx_http_integrations_np_step(
    ngx_http_integrations_np_send_t *s);
static ngx_int_t ngx_http_integrations_np_token(
    ngx_http_integrations_np_send_t *s);
static ngx_int_t ngx_http_integrations_np_token_fetch(
    ngx_http_integrations_np_conf_t *cf, ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_integrations_outbound_done_pt done, void *data,
    ngx_http_integrations_outbound_req_t **out);
static void ngx_http_integrations_np_token_done(
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_integrations_np_token_refresh(
    ngx_http_integrations_np_conf_t *c, ngx_log_t *log);
static void ngx_http_integrations_np_token_refreshed(
    ngx_http_integrations_outbound_req_t *req);
static ngx_int_t ngx_http_integrations_np_token_store(
    ngx_http_integrations_np_conf_t *c,
    ngx_http_integrations_outbound_req_t *req, ngx_log_t *log,
    integrations_notify_result_t *res);
static void ngx_http_integrations_np_token_poll(ngx_event_t *ev);
static ngx_http_integrations_np_token_t *ngx_http_integrations_np_token_shm(
    ngx_http_integrations_np_conf_t *c, ngx_slab_pool_t **shpool);
static ngx_int_t ngx_http_integrations_np_start(
    ngx_http_integrations_np_send_t *s);
static ngx_int_t ngx_http_integrations_np_build(
    ngx_http_integrations_np_send_t *s,
    ngx_http_integrations_outbound_req_t *req, const char **why);
static ngx_int_t ngx_http_integrations_np_keep(ngx_pool_t *pool, char *data,
    size_t len, ngx_str_t *out);
static ngx_int_t ngx_http_integrations_np_header(
    ngx_http_integrations_outbound_req_t *req, ngx_pool_t *pool,
    const char *name, ngx_str_t *value);
static void ngx_http_integrations_np_answer(
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_integrations_np_response(
    ngx_http_integrations_outbound_req_t *req,
    integrations_notify_response_t *r);
static void ngx_http_integrations_np_refuse(
    ngx_http_integrations_np_send_t *s, int outcome, const char *code,
    const char *text, ngx_msec_t wait);
static void ngx_http_integrations_np_complete(
    ngx_http_integrations_np_send_t *s);
static void ngx_http_integrations_np_deliver(ngx_event_t *ev);
static void ngx_http_integrations_np_cleanup(void *data);
static void ngx_http_integrations_np_stop(ngx_http_integrations_np_send_t *s);
static void ngx_http_integrations_np_log(ngx_http_integrations_np_send_t *s);
static int ngx_http_integrations_np_rcpt_kind(
    ngx_http_integrations_notify_provider_t *p, ngx_uint_t channel);

static char *ngx_http_integrations_np_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_integrations_np_credentials(ngx_conf_t *cf,
    ngx_command_t *cmd, ngx_http_integrations_np_conf_t *c,
    ngx_str_t *key_file);
static ngx_int_t ngx_http_integrations_np_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_integrations_np_fcm_free(void *data);
static ngx_int_t ngx_http_integrations_np_postconf(ngx_conf_t *cf);
static char *ngx_http_integrations_np_test(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_integrations_np_create_main_conf(ngx_conf_t *cf);


static ngx_command_t  ngx_http_integrations_np_commands[] = {

    { ngx_string("notify_provider"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_integrations_np_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("notify_provider_test"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_integrations_np_test,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_np_module_ctx = {
    NULL,                                          /* preconfiguration */
    ngx_http_integrations_np_postconf,             /* postconfiguration */

    ngx_http_integrations_np_create_main_conf,     /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    NULL,                                          /* create location conf */
    NULL                                           /* merge location conf */
};


ngx_module_t  ngx_http_integrations_notify_provider_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_np_module_ctx,          /* module context */
    ngx_http_integrations_np_commands,             /* module directives */
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


/* configuration-time lookups */

ngx_http_integrations_notify_provider_t *
ngx_http_integrations_notify_provider_find(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                                 i, n;
    ngx_http_integrations_notify_provider_t  **pp, *p;

    pp = ngx_http_integrations_notify_providers(cf, &n);

    for (i = 0; i < n; i++) {
        p = pp[i];

        if (p->name.len == name->len
            && ngx_strncmp(p->name.data, name->data, name->len) == 0)
        {
            return p;
        }
    }

    return NULL;
}


ngx_http_integrations_notify_provider_t **
ngx_http_integrations_notify_providers(ngx_conf_t *cf, ngx_uint_t *n)
{
    ngx_http_integrations_np_main_conf_t  *nmcf;

    nmcf = ngx_http_conf_get_module_main_conf(cf,
                                 ngx_http_integrations_notify_provider_module);

    *n = nmcf->providers.nelts;

    return nmcf->providers.elts;
}


ngx_int_t
ngx_http_integrations_notify_provider_route(
    ngx_http_integrations_notify_provider_t *p, ngx_uint_t channel_type,
    integrations_notify_route_t *route)
{
    ngx_http_integrations_np_conf_t  *c;

    if (!(p->channels & NGX_HTTP_INTEGRATIONS_NOTIFY_CH(channel_type))) {
        return NGX_DECLINED;
    }

    c = p->ctx;

    route->provider = (const char *) p->name.data;
    route->type = (int) channel_type;
    route->recipient = ngx_http_integrations_np_rcpt_kind(p, channel_type);
    route->default_cc = (unsigned) c->default_cc;
    route->korean_sms = (p->type == NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI);
    route->charset = (int) c->charset;

    return NGX_OK;
}


ngx_uint_t
ngx_http_integrations_notify_provider_inflight(
    ngx_http_integrations_notify_provider_t *p)
{
    ngx_http_integrations_np_conf_t  *c;

    c = p->ctx;

    return c->inflight;
}


size_t
ngx_http_integrations_notify_idempotency_key(ngx_str_t *id, u_char *key)
{
    u_char      md[SHA256_DIGEST_LENGTH];
    size_t      i;
    ngx_uint_t  visible;

    visible = (id->len > 0
               && id->len <= NGX_HTTP_INTEGRATIONS_NOTIFY_KEY_MAX
                             - (sizeof("ngx-notify-") - 1));

    for (i = 0; visible && i < id->len; i++) {
        if (id->data[i] <= 0x20 || id->data[i] >= 0x7f) {
            visible = 0;
        }
    }

    if (visible) {
        return ngx_cpymem(ngx_cpymem(key, "ngx-notify-",
                                     sizeof("ngx-notify-") - 1),
                          id->data, id->len)
               - key;
    }

    SHA256(id->data, id->len, md);

    (void) ngx_cpymem(key, "ngx-notify-", sizeof("ngx-notify-") - 1);

    return sizeof("ngx-notify-") - 1
           + integrations_codec_hex_encode(key + sizeof("ngx-notify-") - 1,
                                           md, sizeof(md));
}


static int
ngx_http_integrations_np_rcpt_kind(ngx_http_integrations_notify_provider_t *p,
    ngx_uint_t channel)
{
    switch (p->type) {

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP:
    case NGX_HTTP_INTEGRATIONS_NOTIFY_SENDGRID:
        return INTEGRATIONS_RCPT_EMAIL;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO:
        return INTEGRATIONS_RCPT_E164;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI:
        return INTEGRATIONS_RCPT_KR_MOBILE;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_FCM:
        return INTEGRATIONS_RCPT_FCM_TOKEN;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK:
        return INTEGRATIONS_RCPT_SLACK_CHANNEL;

    default:
        return INTEGRATIONS_RCPT_NONE;
    }
}


/* one send */

ngx_int_t
ngx_http_integrations_notify_send(ngx_http_integrations_notify_provider_t *p,
    ngx_http_integrations_notify_message_t *msg, ngx_pool_t *pool,
    ngx_log_t *log, ngx_http_integrations_notify_done_pt done, void *data)
{
    ngx_pool_cleanup_t               *cln;
    ngx_http_integrations_np_conf_t  *c;
    ngx_http_integrations_np_send_t  *s;

    c = p->ctx;

    s = ngx_pcalloc(pool, sizeof(ngx_http_integrations_np_send_t));
    if (s == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    s->provider = p;
    s->conf = c;
    s->msg = msg;
    s->pool = pool;
    s->log = log;
    s->done = done;
    s->data = data;

    s->ev.data = s;
    s->ev.log = log;

    integrations_notify_result_init(&s->outcome.result, 0);

    s->outcome.idempotency_key.data = s->key;
    s->outcome.idempotency_key.len =
                 ngx_http_integrations_notify_idempotency_key(&msg->id, s->key);

    cln->handler = ngx_http_integrations_np_cleanup;
    cln->data = s;

    msg->send = s;

    s->in_send = 1;

    if (!(p->channels & NGX_HTTP_INTEGRATIONS_NOTIFY_CH(msg->channel))) {
        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_PERMANENT,
                                        "invalid_message",
                                        "the provider does not serve the "
                                        "channel", 0);

    } else if (c->inflight >= p->concurrency) {
        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_RETRYABLE,
                                        "concurrency",
                                        "too many sends in flight", 0);

    } else {
        c->inflight++;
        s->counted = 1;
        s->deadline = ngx_current_msec + p->timeout;
        s->step = (p->type == NGX_HTTP_INTEGRATIONS_NOTIFY_FCM)
                  ? NGX_HTTP_NP_STEP_TOKEN : NGX_HTTP_NP_STEP_SEND;

        ngx_http_integrations_np_step(s);
    }

    s->in_send = 0;

    return NGX_OK;
}


void
ngx_http_integrations_notify_send_cancel(
    ngx_http_integrations_notify_message_t *msg)
{
    ngx_http_integrations_np_send_t  *s;

    s = msg->send;

    if (s == NULL) {
        return;
    }

    msg->send = NULL;

    if (s->called) {
        return;
    }

    s->called = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, s->log, 0,
                   "notify: %V send cancelled", &s->provider->name);

    ngx_http_integrations_np_stop(s);
}


/* the next step: the token if needed, then the send */

static void
ngx_http_integrations_np_step(ngx_http_integrations_np_send_t *s)
{
    ngx_int_t  rc;

    if (s->step == NGX_HTTP_NP_STEP_TOKEN) {
        rc = ngx_http_integrations_np_token(s);

        if (rc != NGX_OK) {
            /* NGX_AGAIN: a fetch or a poll comes back here; or refused */
            return;
        }

        s->step = NGX_HTTP_NP_STEP_SEND;
    }

    if (s->step == NGX_HTTP_NP_STEP_SEND) {
        (void) ngx_http_integrations_np_start(s);
    }
}


/*
 * NGX_OK: s->token is set; NGX_AGAIN: a fetch or a poll is under way and
 * will come back to ngx_http_integrations_np_step(); NGX_DONE: the send
 * is refused (complete).
 */

static ngx_int_t
ngx_http_integrations_np_token(ngx_http_integrations_np_send_t *s)
{
    time_t                             now;
    ngx_uint_t                         fetch, refresh;
    ngx_slab_pool_t                   *shpool;
    ngx_http_integrations_np_conf_t   *c;
    ngx_http_integrations_np_token_t  *tok;

    c = s->conf;

    tok = ngx_http_integrations_np_token_shm(c, &shpool);
    if (tok == NULL) {
        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_RETRYABLE,
                                        "token", "no token zone", 0);
        return NGX_DONE;
    }

    now = ngx_time();
    fetch = 0;
    refresh = 0;

    ngx_shmtx_lock(&shpool->mutex);

    /* tok->fetching and tok->failed are deadlines: past them, nobody is
     * fetching and no failure is held */

    if (tok->fingerprint == c->fingerprint && tok->len
        && now < tok->expires)
    {
        s->token.data = ngx_pnalloc(s->pool, tok->len);
        if (s->token.data) {
            ngx_memcpy(s->token.data, tok->token, tok->len);
            s->token.len = tok->len;
        }

        if (now >= tok->refresh_at
            && (ngx_msec_int_t) (ngx_current_msec - tok->fetching) >= 0
            && (ngx_msec_int_t) (tok->failed - ngx_current_msec) <= 0)
        {
            tok->fetching = ngx_current_msec + c->timeout + 1000;
            refresh = 1;
        }

    } else if ((ngx_msec_int_t) (tok->failed - ngx_current_msec) > 0
               && !s->fetcher)
    {
        ngx_shmtx_unlock(&shpool->mutex);

        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_RETRYABLE,
                                        "token", "the token call failed",
                                        NGX_HTTP_NP_TOKEN_FAIL_HOLD);
        s->outcome.result.flags |= tok->fail_flags;
        return NGX_DONE;

    } else if ((ngx_msec_int_t) (ngx_current_msec - tok->fetching) >= 0) {
        tok->fetching = ngx_current_msec + c->timeout + 1000;
        fetch = 1;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (refresh) {
        /* this send goes on with the old token; the new one is for later */
        ngx_http_integrations_np_token_refresh(c, s->log);
    }

    if (s->token.len) {
        return NGX_OK;
    }

    if (s->token.data == NULL && !fetch && tok->len
        && tok->fingerprint == c->fingerprint && now < tok->expires)
    {
        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_RETRYABLE,
                                        "internal", "no memory", 0);
        return NGX_DONE;
    }

    if (fetch) {
        s->fetcher = 1;

        if (ngx_http_integrations_np_token_fetch(c, s->pool, s->log,
                                           ngx_http_integrations_np_token_done,
                                           s, &s->req)
            != NGX_OK)
        {
            ngx_shmtx_lock(&shpool->mutex);
            tok->fetching = ngx_current_msec;
            ngx_shmtx_unlock(&shpool->mutex);

            if (s->step != NGX_HTTP_NP_STEP_DONE) {
                ngx_http_integrations_np_refuse(s,
                                          INTEGRATIONS_NOTIFY_RETRYABLE,
                                          "token", "the token call could "
                                          "not start", 0);
            }

            return NGX_DONE;
        }

        return NGX_AGAIN;
    }

    /* another worker fetches it: poll the zone until it is there */

    if ((ngx_msec_int_t) (ngx_current_msec - s->deadline) >= 0) {
        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_RETRYABLE,
                                        "token", "no token in time", 0);
        return NGX_DONE;
    }

    s->ev.handler = ngx_http_integrations_np_token_poll;
    ngx_add_timer(&s->ev, NGX_HTTP_NP_TOKEN_POLL);

    return NGX_AGAIN;
}


static void
ngx_http_integrations_np_token_poll(ngx_event_t *ev)
{
    ngx_http_integrations_np_send_t  *s = ev->data;

    ngx_http_integrations_np_step(s);
}


static ngx_http_integrations_np_token_t *
ngx_http_integrations_np_token_shm(ngx_http_integrations_np_conf_t *c,
    ngx_slab_pool_t **shpool)
{
    if (c->token_zone == NULL || c->token_zone->shm.addr == NULL) {
        return NULL;
    }

    *shpool = (ngx_slab_pool_t *) c->token_zone->shm.addr;

    return (*shpool)->data;
}


/* the token call, for the send s (which it resumes) */

static ngx_int_t
ngx_http_integrations_np_token_fetch(ngx_http_integrations_np_conf_t *c,
    ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_integrations_outbound_done_pt done, void *data,
    ngx_http_integrations_outbound_req_t **out)
{
    char                                  *body;
    size_t                                 len;
    ngx_int_t                              rc;
    ngx_str_t                              ct;
    ngx_http_integrations_outbound_req_t  *req;

    static ngx_http_integrations_outbound_limits_t  none;

    req = ngx_pcalloc(pool, sizeof(ngx_http_integrations_outbound_req_t));
    if (req == NULL) {
        return NGX_ERROR;
    }

    body = integrations_fcm_token_body(&c->fcm, ngx_time(), &len);
    if (body == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_integrations_np_keep(pool, body, len, &req->body);
    OPENSSL_cleanse(body, len);
    free(body);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&ct, "application/x-www-form-urlencoded");

    if (ngx_http_integrations_outbound_add_header(req, pool, "Content-Type",
                                                  &ct)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    req->provider = c->provider->name;
    ngx_str_set(&req->method, "POST");
    req->url = c->token_url;
    req->connect_timeout = c->connect_timeout;
    req->timeout = c->timeout;
    req->max_response = NGX_HTTP_NP_MAX_RESPONSE;
    req->pool = pool;
    req->log = log;
    req->limits = &none;              /* the token endpoint is not FCM */
    req->done = done;
    req->data = data;

    if (out) {
        *out = req;
    }

    if (ngx_http_integrations_outbound_call(req, NULL) != NGX_OK) {
        if (out) {
            *out = NULL;
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a send's token fetch: store it, then the send goes on, or is refused */

static void
ngx_http_integrations_np_token_done(ngx_http_integrations_outbound_req_t *req)
{
    integrations_notify_result_t      res;
    ngx_http_integrations_np_send_t  *s;

    s = req->data;
    s->req = NULL;

    if (ngx_http_integrations_np_token_store(s->conf, req, s->log, &res)
        == NGX_OK)
    {
        ngx_http_integrations_np_step(s);
        return;
    }

    /* the notification was not sent: nothing left for it */

    s->outcome.result = res;
    s->outcome.result.flags &= ~INTEGRATIONS_NOTIFY_F_AMBIGUOUS;

    if (s->outcome.result.outcome != INTEGRATIONS_NOTIFY_RETRYABLE) {
        s->outcome.result.outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
    }

    s->outcome.attempted = 0;

    ngx_http_integrations_np_complete(s);
}


/*
 * A refresh with no send waiting on it: its own pool, freed when done.
 * The caller holds the zone's fetch slot (tok->fetching); a refresh that
 * cannot start gives it back, and the next send after its refresh time
 * tries again.
 */

static void
ngx_http_integrations_np_token_refresh(ngx_http_integrations_np_conf_t *c,
    ngx_log_t *log)
{
    ngx_pool_t                        *pool;
    ngx_slab_pool_t                   *shpool;
    ngx_http_integrations_np_token_t  *tok;

    pool = NULL;

    if (!ngx_exiting && !ngx_terminate) {
        pool = ngx_create_pool(4096, ngx_cycle->log);
    }

    if (pool != NULL
        && ngx_http_integrations_np_token_fetch(c, pool, ngx_cycle->log,
                                      ngx_http_integrations_np_token_refreshed,
                                      c, NULL)
           == NGX_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "notify: %V token refresh started",
                       &c->provider->name);
        return;
    }

    if (pool != NULL) {
        ngx_destroy_pool(pool);
    }

    tok = ngx_http_integrations_np_token_shm(c, &shpool);

    if (tok) {
        ngx_shmtx_lock(&shpool->mutex);
        tok->fetching = ngx_current_msec;
        ngx_shmtx_unlock(&shpool->mutex);
    }
}


static void
ngx_http_integrations_np_token_refreshed(
    ngx_http_integrations_outbound_req_t *req)
{
    integrations_notify_result_t  res;

    (void) ngx_http_integrations_np_token_store(req->data, req,
                                                ngx_cycle->log, &res);
    ngx_destroy_pool(req->pool);
}


/*
 * The token call's answer into the zone: NGX_OK, or NGX_ERROR with res
 * (the failure held for NGX_HTTP_NP_TOKEN_FAIL_HOLD; a token that is
 * still good stays in use).  Either way the fetch slot is free again.
 */

static ngx_int_t
ngx_http_integrations_np_token_store(ngx_http_integrations_np_conf_t *c,
    ngx_http_integrations_outbound_req_t *req, ngx_log_t *log,
    integrations_notify_result_t *res)
{
    char                               buf[INTEGRATIONS_FCM_TOKEN_MAX];
    time_t                             now, refresh_at, expires;
    ngx_slab_pool_t                   *shpool;
    integrations_notify_response_t     r;
    ngx_http_integrations_np_token_t  *tok;

    shpool = NULL;
    tok = ngx_http_integrations_np_token_shm(c, &shpool);

    if (tok == NULL) {
        integrations_notify_result_init(res, 0);
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        ngx_cpystrn((u_char *) res->code, (u_char *) "token",
                    sizeof(res->code));
        ngx_cpystrn((u_char *) res->text, (u_char *) "no token zone",
                    sizeof(res->text));
        return NGX_ERROR;
    }

    ngx_http_integrations_np_response(req, &r);

    now = ngx_time();

    if (integrations_fcm_token_parse(&r, now, buf, sizeof(buf), &refresh_at,
                                     &expires, res)
        == 0)
    {
        ngx_shmtx_lock(&shpool->mutex);

        tok->fingerprint = c->fingerprint;
        tok->len = ngx_strlen(buf);
        ngx_memcpy(tok->token, buf, tok->len);
        tok->refresh_at = refresh_at;
        tok->expires = expires;
        tok->fetching = ngx_current_msec;
        tok->failed = ngx_current_msec;
        tok->fail_flags = 0;

        ngx_shmtx_unlock(&shpool->mutex);

        OPENSSL_cleanse(buf, sizeof(buf));

        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "notify: %V token fetched, refreshed in %T s",
                      &c->provider->name, refresh_at - now);

        return NGX_OK;
    }

    OPENSSL_cleanse(buf, sizeof(buf));

    ngx_shmtx_lock(&shpool->mutex);
    tok->fetching = ngx_current_msec;
    tok->failed = ngx_current_msec + NGX_HTTP_NP_TOKEN_FAIL_HOLD;
    tok->fail_flags = res->flags & INTEGRATIONS_NOTIFY_F_CONFIG;
    ngx_shmtx_unlock(&shpool->mutex);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "notify: %V token call failed: status %ui %s %V",
                  &c->provider->name, req->status, res->code,
                  &req->error_text);

    return NGX_ERROR;
}


/* builds the provider's request and starts it */

static ngx_int_t
ngx_http_integrations_np_start(ngx_http_integrations_np_send_t *s)
{
    time_t                                 retry_after;
    ngx_int_t                              rc;
    const char                            *why;
    ngx_http_integrations_np_conf_t       *c;
    ngx_http_integrations_outbound_req_t  *req;

    c = s->conf;

    req = ngx_pcalloc(s->pool, sizeof(ngx_http_integrations_outbound_req_t));
    if (req == NULL) {
        goto failed;
    }

    req->provider = s->provider->name;
    ngx_str_set(&req->method, "POST");
    req->url = c->url;
    req->connect_timeout = c->connect_timeout;
    req->timeout = c->timeout;
    req->max_response = NGX_HTTP_NP_MAX_RESPONSE;
    req->pool = s->pool;
    req->log = s->log;
    req->limits = &c->limits;
    req->done = ngx_http_integrations_np_answer;
    req->data = s;
    req->once = !s->provider->dedupes;   /* a resend: a second message */

    why = NULL;

    rc = ngx_http_integrations_np_build(s, req, &why);

    if (rc == NGX_DECLINED) {
        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_PERMANENT,
                                        "invalid_message",
                                        why ? why : "refused by the builder",
                                        0);
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        goto failed;
    }

    if (c->idem_header.len) {
        if (ngx_http_integrations_np_header(req, s->pool,
                                            (char *) c->idem_header.data,
                                            &s->outcome.idempotency_key)
            != NGX_OK)
        {
            goto failed;
        }
    }

    s->req = req;
    retry_after = 0;

    rc = ngx_http_integrations_outbound_call(req, &retry_after);

    if (rc == NGX_OK) {
        return NGX_AGAIN;
    }

    s->req = NULL;

    if (rc == NGX_BUSY) {
        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_RETRYABLE,
                                        "rate_limited",
                                        "refused by the provider's "
                                        "rate_limit", req->refused_wait);
        return NGX_DONE;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_RETRYABLE,
                                        "circuit_open",
                                        "the provider's circuit breaker is "
                                        "open", req->refused_wait);
        return NGX_DONE;
    }

failed:

    ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_RETRYABLE,
                                    "internal", "the call could not start",
                                    0);
    return NGX_DONE;
}


/*
 * The request for s's message: NGX_OK, NGX_DECLINED (the message cannot
 * go as it is: *why) or NGX_ERROR.
 */

static ngx_int_t
ngx_http_integrations_np_build(ngx_http_integrations_np_send_t *s,
    ngx_http_integrations_outbound_req_t *req, const char **why)
{
    char                                    *body, auth[
                                                INTEGRATIONS_SOLAPI_AUTH_LEN];
    size_t                                   len, n;
    u_char                                   random[
                                                INTEGRATIONS_MIME_RANDOM_BYTES];
    u_char                                   md[SHA256_DIGEST_LENGTH];
    u_char                                   salt[
                                                INTEGRATIONS_SOLAPI_SALT_BYTES];
    u_char                                  *p;
    ngx_int_t                                rc;
    ngx_str_t                                v, ct;
    ngx_http_integrations_np_conf_t         *c;
    integrations_fcm_message_t               fm;
    integrations_sms_class_t                 cls;
    integrations_mime_message_t              mm;
    integrations_twilio_message_t            tm;
    integrations_solapi_message_t            sm;
    integrations_sendgrid_message_t          gm;
    ngx_http_integrations_notify_message_t  *m;

    c = s->conf;
    m = s->msg;
    body = NULL;
    len = 0;

    ngx_str_set(&ct, "application/json");

    switch (s->provider->type) {

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI:
        ngx_memzero(&sm, sizeof(sm));

        sm.to = (char *) m->to.data;
        sm.to_len = m->to.len;
        sm.from = (char *) c->from.data;
        sm.from_len = c->from.len;
        sm.text = (char *) m->text.data;
        sm.text_len = m->text.len;
        sm.ref = (char *) m->id.data;
        sm.ref_len = m->id.len;

        if (m->subject.len) {
            sm.subject = (char *) m->subject.data;
            sm.subject_len = m->subject.len;
        }

        if (m->channel == INTEGRATIONS_NOTIFY_ALIMTALK) {
            sm.type = INTEGRATIONS_SOLAPI_ATA;
            sm.pf_id = (char *) c->pf_id.data;
            sm.pf_id_len = c->pf_id.len;
            sm.template_id = (char *) m->template_id.data;
            sm.template_id_len = m->template_id.len;
            sm.variables = m->variables;
            sm.nvariables = m->nvariables;
            sm.allow_fallback = m->fallback ? 1 : 0;

            if (c->pf_id.len == 0) {
                *why = "the provider has no pf_id";
                return NGX_DECLINED;
            }

        } else {
            if (integrations_sms_classify((int) c->charset, sm.text,
                                          sm.text_len, sm.subject,
                                          sm.subject_len, &cls)
                != INTEGRATIONS_SMS_OK)
            {
                *why = "the text does not fit a Korean SMS or LMS";
                return NGX_DECLINED;
            }

            sm.type = (cls.type == INTEGRATIONS_SMS_TYPE_SMS)
                      ? INTEGRATIONS_SOLAPI_SMS : INTEGRATIONS_SOLAPI_LMS;

            if (sm.type == INTEGRATIONS_SOLAPI_SMS) {
                sm.subject = NULL;
                sm.subject_len = 0;

            } else if (sm.subject_len == 0) {
                sm.subject = sm.text;
                sm.subject_len = integrations_sms_default_subject(
                                     (int) c->charset, sm.text, sm.text_len);
                if (sm.subject_len == 0) {
                    sm.subject = NULL;
                }
            }
        }

        s->outcome.sent_as = sm.type;

        body = integrations_solapi_body(&sm, &len, why);
        if (body == NULL) {
            return NGX_DECLINED;
        }

        if (RAND_bytes(salt, sizeof(salt)) != 1) {
            free(body);
            return NGX_ERROR;
        }

        n = integrations_solapi_auth((char *) c->user.data, c->user.len,
                                     c->pass.data, c->pass.len, ngx_time(),
                                     salt, auth, sizeof(auth));
        if (n == 0) {
            free(body);
            return NGX_ERROR;
        }

        v.data = (u_char *) auth;
        v.len = n;

        rc = ngx_http_integrations_np_header(req, s->pool, "Authorization",
                                             &v);
        if (rc != NGX_OK) {
            free(body);
            return NGX_ERROR;
        }

        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO:
        ngx_memzero(&tm, sizeof(tm));

        tm.to = (char *) m->to.data;
        tm.to_len = m->to.len;
        tm.body = (char *) m->text.data;
        tm.body_len = m->text.len;

        if (c->from.len) {
            tm.from = (char *) c->from.data;
            tm.from_len = c->from.len;
        }

        if (c->messaging_service.len) {
            tm.messaging_service_sid = (char *) c->messaging_service.data;
            tm.messaging_service_sid_len = c->messaging_service.len;
        }

        if (c->status_callback.len) {
            tm.status_callback = (char *) c->status_callback.data;
            tm.status_callback_len = c->status_callback.len;
        }

        body = integrations_twilio_body(&tm, &len, why);
        if (body == NULL) {
            return NGX_DECLINED;
        }

        ngx_str_set(&ct, "application/x-www-form-urlencoded");
        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SENDGRID:
        ngx_memzero(&gm, sizeof(gm));

        gm.from_email = (char *) c->from.data;
        gm.from_email_len = c->from.len;
        gm.to_email = (char *) m->to.data;
        gm.to_email_len = m->to.len;
        gm.subject = (char *) m->subject.data;
        gm.subject_len = m->subject.len;
        gm.ref = (char *) m->id.data;
        gm.ref_len = m->id.len;

        if (c->from_name.len) {
            gm.from_name = (char *) c->from_name.data;
            gm.from_name_len = c->from_name.len;
        }

        if (c->reply_to.len) {
            gm.reply_to = (char *) c->reply_to.data;
            gm.reply_to_len = c->reply_to.len;
        }

        if (m->to_name.len) {
            gm.to_name = (char *) m->to_name.data;
            gm.to_name_len = m->to_name.len;
        }

        if (m->text.len) {
            gm.text = (char *) m->text.data;
            gm.text_len = m->text.len;
        }

        if (m->html.len) {
            gm.html = (char *) m->html.data;
            gm.html_len = m->html.len;
        }

        body = integrations_sendgrid_body(&gm, &len, why);
        if (body == NULL) {
            return NGX_DECLINED;
        }

        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK:
        body = integrations_slack_post_body((char *) m->to.data, m->to.len,
                                            (char *) m->text.data,
                                            m->text.len, &len, why);
        if (body == NULL) {
            return NGX_DECLINED;
        }

        ngx_str_set(&ct, "application/json; charset=utf-8");
        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK_WEBHOOK:
        body = integrations_slack_webhook_body((char *) m->text.data,
                                               m->text.len, &len, why);
        if (body == NULL) {
            return NGX_DECLINED;
        }

        req->url_secret = 1;
        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_FCM:
        ngx_memzero(&fm, sizeof(fm));

        fm.token = (char *) m->to.data;
        fm.token_len = m->to.len;
        fm.body = (char *) m->text.data;
        fm.body_len = m->text.len;
        fm.data = m->data;
        fm.ndata = m->ndata;

        if (m->subject.len) {
            fm.title = (char *) m->subject.data;
            fm.title_len = m->subject.len;
        }

        body = integrations_fcm_message_body(&fm, &len, why);
        if (body == NULL) {
            return NGX_DECLINED;
        }

        v.len = sizeof("Bearer ") - 1 + s->token.len;
        v.data = ngx_pnalloc(s->pool, v.len);
        if (v.data == NULL) {
            free(body);
            return NGX_ERROR;
        }

        ngx_memcpy(ngx_cpymem(v.data, "Bearer ", sizeof("Bearer ") - 1),
                   s->token.data, s->token.len);

        if (ngx_http_integrations_np_header(req, s->pool, "Authorization",
                                            &v)
            != NGX_OK)
        {
            free(body);
            return NGX_ERROR;
        }

        break;

    default: /* NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP */
        ngx_memzero(&mm, sizeof(mm));

        mm.from_email = (char *) c->from.data;
        mm.from_email_len = c->from.len;
        mm.to_email = (char *) m->to.data;
        mm.to_email_len = m->to.len;
        mm.subject = (char *) m->subject.data;
        mm.subject_len = m->subject.len;
        mm.now = ngx_time();

        if (c->from_name.len) {
            mm.from_name = (char *) c->from_name.data;
            mm.from_name_len = c->from_name.len;
        }

        if (c->reply_to.len) {
            mm.reply_to = (char *) c->reply_to.data;
            mm.reply_to_len = c->reply_to.len;
        }

        if (m->to_name.len) {
            mm.to_name = (char *) m->to_name.data;
            mm.to_name_len = m->to_name.len;
        }

        if (m->text.len) {
            mm.text = (char *) m->text.data;
            mm.text_len = m->text.len;
        }

        if (m->html.len) {
            mm.html = (char *) m->html.data;
            mm.html_len = m->html.len;
        }

        /*
         * The Message-ID is the notification's (a repeat carries the same
         * one, which mail systems may recognise); the boundary is random.
         */

        SHA256(m->id.data, m->id.len, md);
        ngx_memcpy(random, md, 12);

        if (RAND_bytes(random + 12, sizeof(random) - 12) != 1) {
            return NGX_ERROR;
        }

        mm.random = random;

        body = integrations_mime_build(&mm, &len, why);
        if (body == NULL) {
            return NGX_DECLINED;
        }

        /* "<hex@domain>": what the Message-ID header holds */

        p = (u_char *) ngx_strlchr(c->from.data, c->from.data + c->from.len,
                                   '@');

        s->smtp_id.len = 1 + 24 + (c->from.data + c->from.len - p) + 1;
        s->smtp_id.data = ngx_pnalloc(s->pool, s->smtp_id.len);
        if (s->smtp_id.data == NULL) {
            free(body);
            return NGX_ERROR;
        }

        s->smtp_id.data[0] = '<';
        (void) integrations_codec_hex_encode(s->smtp_id.data + 1, md, 12);
        ngx_memcpy(s->smtp_id.data + 25, p, c->from.data + c->from.len - p);
        s->smtp_id.data[s->smtp_id.len - 1] = '>';

        req->smtp.mail_from.len = c->from.len + 2;
        req->smtp.mail_from.data = ngx_pnalloc(s->pool,
                                               c->from.len + 2 + m->to.len
                                               + 2);
        if (req->smtp.mail_from.data == NULL) {
            free(body);
            return NGX_ERROR;
        }

        p = req->smtp.mail_from.data;
        *p++ = '<';
        p = ngx_cpymem(p, c->from.data, c->from.len);
        *p++ = '>';

        req->smtp.rcpt.data = p;
        req->smtp.rcpt.len = m->to.len + 2;
        *p++ = '<';
        p = ngx_cpymem(p, m->to.data, m->to.len);
        *p = '>';

        ngx_str_set(&req->method, "SMTP");   /* for the log line */
        req->smtp.starttls = c->starttls ? 1 : 0;
        req->username = c->user;
        req->password = c->pass;

        rc = ngx_http_integrations_np_keep(s->pool, body, len, &req->body);
        free(body);

        return rc;
    }

    rc = ngx_http_integrations_np_keep(s->pool, body, len, &req->body);
    free(body);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_integrations_np_header(req, s->pool, "Content-Type", &ct)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (c->auth.len
        && ngx_http_integrations_np_header(req, s->pool, "Authorization",
                                           &c->auth)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_np_keep(ngx_pool_t *pool, char *data, size_t len,
    ngx_str_t *out)
{
    out->data = ngx_pnalloc(pool, len ? len : 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, data, len);
    out->len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_np_header(ngx_http_integrations_outbound_req_t *req,
    ngx_pool_t *pool, const char *name, ngx_str_t *value)
{
    return ngx_http_integrations_outbound_add_header(req, pool, name, value);
}


/* the provider answered, or did not */

static void
ngx_http_integrations_np_answer(ngx_http_integrations_outbound_req_t *req)
{
    ngx_slab_pool_t                   *shpool;
    integrations_notify_result_t      *res;
    integrations_notify_response_t     r;
    ngx_http_integrations_np_send_t   *s;
    ngx_http_integrations_np_token_t  *tok;

    s = req->data;
    s->req = NULL;
    res = &s->outcome.result;

    if (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_REFUSED) {

        /* a scope=cluster rate_limit refused it after asking Redis */

        ngx_http_integrations_np_refuse(s, INTEGRATIONS_NOTIFY_RETRYABLE,
                                        (req->refused == NGX_DECLINED)
                                        ? "circuit_open" : "rate_limited",
                                        "refused by the provider's limits",
                                        req->refused_wait);
        return;
    }

    ngx_http_integrations_np_response(req, &r);

    switch (s->provider->type) {

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI:
        (void) integrations_solapi_classify(&r, res);
        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO:
        (void) integrations_twilio_classify(&r, res);
        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SENDGRID:
        (void) integrations_sendgrid_classify(&r, res);
        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK:
        (void) integrations_slack_classify(&r, res);
        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK_WEBHOOK:
        (void) integrations_slack_webhook_classify(&r, res);
        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_FCM:
        (void) integrations_fcm_classify(&r, res);

        if (res->flags & INTEGRATIONS_NOTIFY_F_REAUTH) {

            /* the token we used is dead: drop it, unless already new */

            tok = ngx_http_integrations_np_token_shm(s->conf, &shpool);

            if (tok) {
                ngx_shmtx_lock(&shpool->mutex);

                if (tok->len == s->token.len
                    && CRYPTO_memcmp(tok->token, s->token.data, tok->len) == 0)
                {
                    tok->len = 0;
                    tok->refresh_at = 0;
                    tok->expires = 0;
                }

                ngx_shmtx_unlock(&shpool->mutex);
            }

            ngx_log_error(NGX_LOG_INFO, s->log, 0,
                          "notify: %V token refused, dropped",
                          &s->provider->name);
        }

        break;

    default: /* NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP */
        (void) integrations_mime_smtp_classify(&r, res);

        if (res->outcome == INTEGRATIONS_NOTIFY_SENT && s->smtp_id.len) {
            (void) integrations_notify_copy_id(res->message_id,
                                               sizeof(res->message_id),
                                               (char *) s->smtp_id.data,
                                               s->smtp_id.len);
        }
    }

    s->outcome.attempted = 1;
    s->outcome.duration = req->duration;

    ngx_http_integrations_np_complete(s);
}


/* the outbound client's answer as the pure core takes it */

static void
ngx_http_integrations_np_response(ngx_http_integrations_outbound_req_t *req,
    integrations_notify_response_t *r)
{
    ngx_str_t  v;

    ngx_memzero(r, sizeof(integrations_notify_response_t));

    r->retry_after = -1;

    if (req->error != NGX_HTTP_INTEGRATIONS_OUTBOUND_OK) {
        r->status = 0;
        /* nothing left before the connect (or SMTP's handshake) was done */

        r->transport = (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_CONNECT
                        || !req->started)
                       ? INTEGRATIONS_NOTIFY_T_CONNECT
                       : (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_TIMEOUT)
                         ? INTEGRATIONS_NOTIFY_T_TIMEOUT
                         : INTEGRATIONS_NOTIFY_T_OTHER;
        return;
    }

    r->status = (unsigned) req->status;
    r->body = (char *) req->response_body.data;
    r->body_len = req->response_body.len;

    if (ngx_http_integrations_outbound_header(req, "X-Message-Id", &v)
        == NGX_OK)
    {
        r->message_id = (char *) v.data;
        r->message_id_len = v.len;
    }

    if (ngx_http_integrations_outbound_header(req, "Retry-After", &v)
        == NGX_OK)
    {
        r->retry_after = integrations_notify_retry_after((char *) v.data,
                                                         v.len, ngx_time());
    }
}


/*
 * The send ends without a call: refused, or not buildable.  done() comes
 * from a posted event when still inside send().
 */

static void
ngx_http_integrations_np_refuse(ngx_http_integrations_np_send_t *s,
    int outcome, const char *code, const char *text, ngx_msec_t wait)
{
    integrations_notify_result_t  *res;

    res = &s->outcome.result;

    integrations_notify_result_init(res, 0);

    res->outcome = outcome;
    (void) integrations_notify_copy_id(res->code, sizeof(res->code), code,
                                       ngx_strlen(code));
    (void) integrations_notify_copy_text(res->text, sizeof(res->text), text,
                                         ngx_strlen(text));

    if (wait) {
        s->outcome.retry_after_ms = wait;
        res->retry_after = (int64_t) ((wait + 999) / 1000);
    }

    s->outcome.attempted = 0;

    ngx_http_integrations_np_complete(s);
}


static void
ngx_http_integrations_np_complete(ngx_http_integrations_np_send_t *s)
{
    s->step = NGX_HTTP_NP_STEP_DONE;

    if (s->counted) {
        s->counted = 0;
        s->conf->inflight--;
    }

    if (s->ev.timer_set) {
        ngx_del_timer(&s->ev);
    }

    ngx_http_integrations_np_log(s);

    if (s->in_send) {
        s->ev.handler = ngx_http_integrations_np_deliver;
        ngx_post_event(&s->ev, &ngx_posted_events);
        return;
    }

    ngx_http_integrations_np_deliver(&s->ev);
}


static void
ngx_http_integrations_np_deliver(ngx_event_t *ev)
{
    ngx_http_integrations_np_send_t  *s = ev->data;

    if (s->called) {
        return;
    }

    s->called = 1;

    if (s->msg->send == s) {
        s->msg->send = NULL;
    }

    s->done(s->data, &s->outcome);
}


/* the pool goes: whatever is in flight goes with it, done() is not called */

static void
ngx_http_integrations_np_cleanup(void *data)
{
    ngx_http_integrations_np_send_t  *s = data;

    if (!s->called) {
        s->called = 1;

        if (s->msg->send == s) {
            s->msg->send = NULL;
        }
    }

    ngx_http_integrations_np_stop(s);
}


static void
ngx_http_integrations_np_stop(ngx_http_integrations_np_send_t *s)
{
    ngx_slab_pool_t                   *shpool;
    ngx_http_integrations_np_token_t  *tok;

    if (s->req) {
        ngx_http_integrations_outbound_cancel(s->req);
        s->req = NULL;

        /* a token fetch that will not finish: let another worker try */

        if (s->step == NGX_HTTP_NP_STEP_TOKEN && s->fetcher) {
            tok = ngx_http_integrations_np_token_shm(s->conf, &shpool);

            if (tok) {
                ngx_shmtx_lock(&shpool->mutex);
                tok->fetching = ngx_current_msec;
                ngx_shmtx_unlock(&shpool->mutex);
            }
        }
    }

    if (s->ev.timer_set) {
        ngx_del_timer(&s->ev);
    }

    if (s->ev.posted) {
        ngx_delete_posted_event(&s->ev);
    }

    if (s->counted) {
        s->counted = 0;
        s->conf->inflight--;
    }

    s->step = NGX_HTTP_NP_STEP_DONE;
}


/*
 * One line per send at info: the provider, the masked recipient, the
 * outcome; the recipient itself and the text only at debug.
 */

static void
ngx_http_integrations_np_log(ngx_http_integrations_np_send_t *s)
{
    char                             mask[INTEGRATIONS_RCPT_MASK];
    size_t                           n;
    ngx_http_integrations_notify_message_t  *m;

    m = s->msg;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, s->log, 0,
                   "notify: %V to \"%V\" text \"%V\"", &s->provider->name,
                   &m->to, &m->text);

    if (s->log->log_level < NGX_LOG_INFO) {
        return;
    }

    n = integrations_rcpt_mask(ngx_http_integrations_np_rcpt_kind(
                                   s->provider, m->channel),
                               (char *) m->to.data, m->to.len, mask);

    ngx_log_error(NGX_LOG_INFO, s->log, 0,
                  "notify: %V send of %V attempt %ui to %*s: %s%s %s "
                  "(status %ui, id \"%s\")",
                  &s->provider->name, &m->id, m->attempt, n, mask,
                  integrations_notify_outcome_name(
                      s->outcome.result.outcome),
                  s->outcome.attempted ? "" : " (not sent)",
                  s->outcome.result.code,
                  (ngx_uint_t) s->outcome.result.http_status,
                  s->outcome.result.message_id);
}


/* configuration */

typedef struct {
    ngx_str_t    name;
    size_t       offset;                  /* in the conf */
    ngx_uint_t   types;                   /* bits of provider types */
} ngx_http_integrations_np_param_t;

#define NGX_HTTP_NP_T(t)  (1u << NGX_HTTP_INTEGRATIONS_NOTIFY_##t)
#define NGX_HTTP_NP_EMAIL  (NGX_HTTP_NP_T(SMTP) | NGX_HTTP_NP_T(SENDGRID))
#define NGX_HTTP_NP_ALL    0xffff

static ngx_http_integrations_np_param_t  ngx_http_integrations_np_params[] = {
    { ngx_string("base_url="),
      offsetof(ngx_http_integrations_np_conf_t, base_url),
      NGX_HTTP_NP_ALL & ~NGX_HTTP_NP_T(SLACK_WEBHOOK) },
    { ngx_string("from="),
      offsetof(ngx_http_integrations_np_conf_t, from),
      NGX_HTTP_NP_EMAIL | NGX_HTTP_NP_T(TWILIO) | NGX_HTTP_NP_T(SOLAPI) },
    { ngx_string("from_name="),
      offsetof(ngx_http_integrations_np_conf_t, from_name),
      NGX_HTTP_NP_EMAIL },
    { ngx_string("reply_to="),
      offsetof(ngx_http_integrations_np_conf_t, reply_to),
      NGX_HTTP_NP_EMAIL },
    { ngx_string("messaging_service="),
      offsetof(ngx_http_integrations_np_conf_t, messaging_service),
      NGX_HTTP_NP_T(TWILIO) },
    { ngx_string("status_callback="),
      offsetof(ngx_http_integrations_np_conf_t, status_callback),
      NGX_HTTP_NP_T(TWILIO) },
    { ngx_string("pf_id="),
      offsetof(ngx_http_integrations_np_conf_t, pf_id),
      NGX_HTTP_NP_T(SOLAPI) },
    { ngx_string("token_url="),
      offsetof(ngx_http_integrations_np_conf_t, token_url),
      NGX_HTTP_NP_T(FCM) },
    { ngx_string("idempotency_header="),
      offsetof(ngx_http_integrations_np_conf_t, idem_header),
      NGX_HTTP_NP_ALL },
    { ngx_null_string, 0, 0 }
};


static ngx_int_t
ngx_http_integrations_np_visible(ngx_str_t *v)
{
    size_t  i;

    for (i = 0; i < v->len; i++) {
        if (v->data[i] <= 0x20 || v->data[i] >= 0x7f) {
            return 0;
        }
    }

    return v->len > 0;
}


static ngx_int_t
ngx_http_integrations_np_url(ngx_str_t *v, const char *a, const char *b)
{
    size_t  la, lb;

    la = ngx_strlen(a);
    lb = ngx_strlen(b);

    if (!ngx_http_integrations_np_visible(v)) {
        return 0;
    }

    return (v->len > la && ngx_strncasecmp(v->data, (u_char *) a, la) == 0)
           || (v->len > lb && ngx_strncasecmp(v->data, (u_char *) b, lb) == 0);
}


/* base + path into out, NUL-terminated */

static ngx_int_t
ngx_http_integrations_np_join(ngx_conf_t *cf, ngx_str_t *out,
    ngx_str_t *base, const char *path1, ngx_str_t *mid, const char *path2)
{
    u_char     *p;
    size_t      l1, l2;
    ngx_str_t   b;

    b = *base;                        /* out may be base */
    base = &b;

    l1 = ngx_strlen(path1);
    l2 = path2 ? ngx_strlen(path2) : 0;

    out->len = base->len + l1 + (mid ? mid->len : 0) + l2;
    out->data = ngx_pnalloc(cf->pool, out->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, base->data, base->len);
    p = ngx_cpymem(p, path1, l1);

    if (mid) {
        p = ngx_cpymem(p, mid->data, mid->len);
    }

    if (l2) {
        p = ngx_cpymem(p, path2, l2);
    }

    *p = '\0';

    return NGX_OK;
}


static void
ngx_http_integrations_np_cleanse(void *data)
{
    ngx_str_t  *s = data;

    if (s->data) {
        OPENSSL_cleanse(s->data, s->len);
    }
}


static char *
ngx_http_integrations_np_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_integrations_np_main_conf_t *nmcf = conf;

    u_char                                    *s;
    char                                       out[16];
    size_t                                     olen;
    ngx_int_t                                  rc, n, type;
    ngx_str_t                                 *value, key_file, name;
    ngx_str_t                                 *field;
    ngx_uint_t                                 i, breaker_params;
    const char                                *err, *why;
    ngx_pool_cleanup_t                        *cln;
    ngx_http_integrations_np_conf_t           *c;
    ngx_http_integrations_np_param_t          *prm;
    ngx_http_integrations_notify_provider_t   *p, **pp;
    char                                       norm[INTEGRATIONS_RCPT_MAX + 1];

    value = cf->args->elts;

    pp = nmcf->providers.elts;

    for (i = 0; i < nmcf->providers.nelts; i++) {
        if (pp[i]->name.len == value[1].len
            && ngx_strncmp(pp[i]->name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate notify_provider \"%V\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (!ngx_http_integrations_np_visible(&value[1])) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid notify_provider name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    p = ngx_pcalloc(cf->pool, sizeof(ngx_http_integrations_notify_provider_t));
    c = ngx_pcalloc(cf->pool, sizeof(ngx_http_integrations_np_conf_t));
    if (p == NULL || c == NULL) {
        return NGX_CONF_ERROR;
    }

    pp = ngx_array_push(&nmcf->providers);
    if (pp == NULL) {
        return NGX_CONF_ERROR;
    }

    *pp = p;

    p->name = value[1];
    p->ctx = c;
    p->concurrency = NGX_HTTP_INTEGRATIONS_NOTIFY_CONCURRENCY;
    c->provider = p;
    c->connect_timeout = 5000;
    c->timeout = 10000;
    c->charset = INTEGRATIONS_SMS_EUC_KR;
    c->starttls = NGX_CONF_UNSET;
    c->limits.name = value[1];
    c->limits.who = "notify";
    integrations_breaker_conf_init(&c->limits.breaker_conf);

    /* the type first: the other parameters depend on it */

    type = -1;

    for (n = 2; n < (ngx_int_t) cf->args->nelts; n++) {
        if (ngx_strncmp(value[n].data, "type=", 5) != 0) {
            continue;
        }

        for (i = 0; ngx_http_integrations_np_type_names[i]; i++) {
            if (ngx_strcmp(value[n].data + 5,
                           ngx_http_integrations_np_type_names[i])
                == 0)
            {
                type = (ngx_int_t) i;
            }
        }

        if (type < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"notify_provider\" directive invalid "
                               "parameter \"%V\": expected smtp, sendgrid, "
                               "twilio, solapi, fcm, slack or "
                               "slack_webhook", &value[n]);
            return NGX_CONF_ERROR;
        }
    }

    if (type < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "notify_provider \"%V\" needs \"type=\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    p->type = (ngx_uint_t) type;
    p->type_name.data = (u_char *) ngx_http_integrations_np_type_names[type];
    p->type_name.len = ngx_strlen(p->type_name.data);

#define NGX_HTTP_NP_CH(t)                                                      \
    NGX_HTTP_INTEGRATIONS_NOTIFY_CH(INTEGRATIONS_NOTIFY_##t)

    switch (p->type) {
    case NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP:
    case NGX_HTTP_INTEGRATIONS_NOTIFY_SENDGRID:
        p->channels = NGX_HTTP_NP_CH(EMAIL);
        break;
    case NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO:
        p->channels = NGX_HTTP_NP_CH(SMS);
        break;
    case NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI:
        p->channels = NGX_HTTP_NP_CH(SMS) | NGX_HTTP_NP_CH(ALIMTALK);
        break;
    case NGX_HTTP_INTEGRATIONS_NOTIFY_FCM:
        p->channels = NGX_HTTP_NP_CH(PUSH);
        break;
    default:
        p->channels = NGX_HTTP_NP_CH(SLACK);
    }

    ngx_str_null(&key_file);
    breaker_params = 0;

    for (n = 2; n < (ngx_int_t) cf->args->nelts; n++) {

        if (ngx_strncmp(value[n].data, "type=", 5) == 0) {
            continue;
        }

        if (ngx_strncmp(value[n].data, "key_file=", 9) == 0) {
            key_file.data = value[n].data + 9;
            key_file.len = value[n].len - 9;

            if (key_file.len == 0) {
                goto invalid;
            }

            continue;
        }

        for (prm = ngx_http_integrations_np_params; prm->name.len; prm++) {
            if (value[n].len >= prm->name.len
                && ngx_strncmp(value[n].data, prm->name.data, prm->name.len)
                   == 0)
            {
                break;
            }
        }

        if (prm->name.len) {
            if (!(prm->types & (1u << p->type))) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"notify_provider\" directive parameter "
                                   "\"%V\" is not one of type %V",
                                   &prm->name, &p->type_name);
                return NGX_CONF_ERROR;
            }

            field = (ngx_str_t *) ((u_char *) c + prm->offset);
            field->data = value[n].data + prm->name.len;
            field->len = value[n].len - prm->name.len;

            /* all but display names are visible ASCII */

            if (field->len == 0
                || (field != &c->from_name
                    && !ngx_http_integrations_np_visible(field)))
            {
                goto invalid;
            }

            continue;
        }

        rc = ngx_http_integrations_outbound_limits_param(cf, &value[n],
                                                         &c->limits);
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
                                                          &c->connect_timeout,
                                                          &c->timeout);
        if (rc == NGX_ERROR) {
            goto invalid;
        }

        if (rc == NGX_OK) {
            continue;
        }

        if (ngx_strncmp(value[n].data, "concurrency=", 12) == 0) {
            rc = ngx_atoi(value[n].data + 12, value[n].len - 12);
            if (rc < 1 || rc > 65535) {
                goto invalid;
            }

            p->concurrency = (ngx_uint_t) rc;
            continue;
        }

        if (ngx_strncmp(value[n].data, "default_country=", 16) == 0
            && p->type == NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO)
        {
            rc = ngx_atoi(value[n].data + 16, value[n].len - 16);
            if (rc < 1 || rc > 999) {
                goto invalid;
            }

            c->default_cc = (ngx_uint_t) rc;
            continue;
        }

        if (ngx_strncmp(value[n].data, "charset=", 8) == 0
            && p->type == NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI)
        {
            if (ngx_strcmp(value[n].data + 8, "euc-kr") == 0) {
                c->charset = INTEGRATIONS_SMS_EUC_KR;

            } else if (ngx_strcmp(value[n].data + 8, "cp949") == 0) {
                c->charset = INTEGRATIONS_SMS_CP949;

            } else {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[n].data, "starttls=", 9) == 0
            && p->type == NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP)
        {
            if (ngx_strcmp(value[n].data + 9, "on") == 0) {
                c->starttls = 1;

            } else if (ngx_strcmp(value[n].data + 9, "off") == 0) {
                c->starttls = 0;

            } else {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (breaker_params && c->limits.breaker == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"notify_provider\" directive parameter \"%V\" "
                           "needs \"circuit_breaker=\"",
                           &value[breaker_params]);
        return NGX_CONF_ERROR;
    }

    if (c->limits.breaker) {
        err = integrations_breaker_conf_check(&c->limits.breaker_conf);
        if (err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s for notify_provider \"%V\"", err,
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    /* the parameters' values */

    if (c->idem_header.len) {
        for (i = 0; i < c->idem_header.len; i++) {
            s = &c->idem_header.data[i];

            if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
                  || (*s >= '0' && *s <= '9') || *s == '-'))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"notify_provider\" directive invalid "
                                   "parameter \"idempotency_header=%V\"",
                                   &c->idem_header);
                return NGX_CONF_ERROR;
            }
        }

        p->dedupes = 1;
    }

    if (c->base_url.len) {
        if (p->type == NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP
            ? !ngx_http_integrations_np_url(&c->base_url, "smtp://",
                                            "smtps://")
            : !ngx_http_integrations_np_url(&c->base_url, "http://",
                                            "https://"))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"notify_provider\" directive invalid "
                               "parameter \"base_url=%V\"", &c->base_url);
            return NGX_CONF_ERROR;
        }

        while (c->base_url.len && c->base_url.data[c->base_url.len - 1] == '/')
        {
            c->base_url.len--;
        }
    }

    if (c->status_callback.len
        && !ngx_http_integrations_np_url(&c->status_callback, "http://",
                                         "https://"))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"notify_provider\" directive invalid "
                           "parameter \"status_callback=%V\"",
                           &c->status_callback);
        return NGX_CONF_ERROR;
    }

    if (c->token_url.len
        && !ngx_http_integrations_np_url(&c->token_url, "http://",
                                         "https://"))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"notify_provider\" directive invalid "
                           "parameter \"token_url=%V\"", &c->token_url);
        return NGX_CONF_ERROR;
    }

    switch (p->type) {

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP:
    case NGX_HTTP_INTEGRATIONS_NOTIFY_SENDGRID:
        if (c->from.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "notify_provider \"%V\" needs \"from=\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }

        if (integrations_rcpt_normalize(INTEGRATIONS_RCPT_EMAIL, 0,
                                        (char *) c->from.data, c->from.len,
                                        norm, sizeof(norm), &olen, &why)
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"notify_provider\" directive invalid "
                               "parameter \"from=%V\": %s", &c->from, why);
            return NGX_CONF_ERROR;
        }

        c->from.data = ngx_pnalloc(cf->pool, olen + 1);
        if (c->from.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(c->from.data, norm, olen + 1);
        c->from.len = olen;

        if (c->reply_to.len
            && integrations_rcpt_normalize(INTEGRATIONS_RCPT_EMAIL, 0,
                                           (char *) c->reply_to.data,
                                           c->reply_to.len, norm,
                                           sizeof(norm), &olen, &why)
               != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"notify_provider\" directive invalid "
                               "parameter \"reply_to=%V\": %s",
                               &c->reply_to, why);
            return NGX_CONF_ERROR;
        }

        if (p->type == NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP) {
            if (c->base_url.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "notify_provider \"%V\" needs "
                                   "\"base_url=smtp://HOST:PORT\" or "
                                   "\"base_url=smtps://HOST:PORT\"",
                                   &value[1]);
                return NGX_CONF_ERROR;
            }

            /* smtp:// is STARTTLS unless starttls=off; smtps:// is TLS */

            if (c->starttls == NGX_CONF_UNSET) {
                c->starttls = (c->base_url.data[4] == ':');
            }

            if (c->base_url.data[4] != ':') {
                c->starttls = 0;
            }

            c->url = c->base_url;

        } else {
            if (c->base_url.len == 0) {
                ngx_str_set(&c->base_url, "https://api.sendgrid.com");
            }

            if (ngx_http_integrations_np_join(cf, &c->url, &c->base_url,
                                              "/v3/mail/send", NULL, NULL)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }
        }

        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO:
        if (c->from.len == 0 && c->messaging_service.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "notify_provider \"%V\" needs \"from=\" or "
                               "\"messaging_service=\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        if (c->messaging_service.len
            && !integrations_twilio_sid_valid((char *)
                                              c->messaging_service.data,
                                              c->messaging_service.len, "MG"))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"notify_provider\" directive invalid "
                               "parameter \"messaging_service=%V\"",
                               &c->messaging_service);
            return NGX_CONF_ERROR;
        }

        if (c->base_url.len == 0) {
            ngx_str_set(&c->base_url, "https://api.twilio.com");
        }

        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI:
        if (c->from.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "notify_provider \"%V\" needs \"from=\" (a "
                               "registered sender number)", &value[1]);
            return NGX_CONF_ERROR;
        }

        if (integrations_solapi_sender((char *) c->from.data, c->from.len,
                                       out)
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"notify_provider\" directive invalid "
                               "parameter \"from=%V\": not a Korean sender "
                               "number", &c->from);
            return NGX_CONF_ERROR;
        }

        c->from.len = ngx_strlen(out);
        c->from.data = ngx_pnalloc(cf->pool, c->from.len + 1);
        if (c->from.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(c->from.data, out, c->from.len + 1);

        if (c->base_url.len == 0) {
            ngx_str_set(&c->base_url, "https://api.solapi.com");
        }

        if (ngx_http_integrations_np_join(cf, &c->url, &c->base_url,
                                          "/messages/v4/send", NULL, NULL)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_FCM:
        if (c->base_url.len == 0) {
            ngx_str_set(&c->base_url, "https://fcm.googleapis.com");
        }

        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK:
        if (c->base_url.len == 0) {
            ngx_str_set(&c->base_url, "https://slack.com");
        }

        if (ngx_http_integrations_np_join(cf, &c->url, &c->base_url,
                                          "/api/chat.postMessage", NULL, NULL)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        break;

    default:
        break;
    }

    p->timeout = c->timeout
                 * (p->type == NGX_HTTP_INTEGRATIONS_NOTIFY_FCM ? 2 : 1);

    /* the secrets */

    if (key_file.len == 0) {
        if (p->type != NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "notify_provider \"%V\" needs \"key_file=\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }

    } else if (ngx_http_integrations_np_credentials(cf, cmd, c, &key_file)
               != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_integrations_np_cleanse;
    cln->data = &c->auth;

    if (p->type == NGX_HTTP_INTEGRATIONS_NOTIFY_FCM) {
        name.len = sizeof("integrations_notify_fcm_") - 1 + p->name.len;
        name.data = ngx_pnalloc(cf->pool, name.len);
        if (name.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(ngx_cpymem(name.data, "integrations_notify_fcm_",
                              sizeof("integrations_notify_fcm_") - 1),
                   p->name.data, p->name.len);

        c->token_zone = ngx_shared_memory_add(cf, &name, 64 * 1024,
                                 &ngx_http_integrations_notify_provider_module);
        if (c->token_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        c->token_zone->init = ngx_http_integrations_np_init_zone;
        c->token_zone->data = c;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"notify_provider\" directive invalid parameter "
                       "\"%V\"", &value[n]);

    return NGX_CONF_ERROR;
}


/*
 * The key file, by type: "AccountSid:AuthToken" (twilio), "apiKey:
 * apiSecret" (solapi), "user:password" (smtp), a token (sendgrid,
 * slack), the webhook URL (slack_webhook), the service-account JSON
 * (fcm).  Errors name the file, never what is in it.
 */

static ngx_int_t
ngx_http_integrations_np_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_integrations_np_conf_t *c, ngx_str_t *key_file)
{
    u_char                                   *colon, *p;
    size_t                                    n;
    const char                               *why;
    ngx_str_t                                 b64;
    ngx_pool_cleanup_t                       *cln;
    ngx_http_integrations_notify_provider_t  *pr;

    pr = c->provider;

    if (ngx_http_integrations_secret_read(cf, &cmd->name, key_file,
                                          &c->secret)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    colon = ngx_strlchr(c->secret.data, c->secret.data + c->secret.len, ':');

    switch (pr->type) {

    case NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO:
    case NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI:
    case NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP:
        if (colon == NULL || colon == c->secret.data
            || colon + 1 == c->secret.data + c->secret.len)
        {
            why = (pr->type == NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO)
                  ? "AccountSid:AuthToken"
                  : (pr->type == NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI)
                    ? "apiKey:apiSecret" : "user:password";
            goto bad;
        }

        c->user.data = c->secret.data;
        c->user.len = colon - c->secret.data;
        c->pass.data = colon + 1;
        c->pass.len = c->secret.data + c->secret.len - (colon + 1);

        for (p = c->secret.data; p < c->secret.data + c->secret.len; p++) {
            if (*p < 0x20 || *p == 0x7f) {
                why = "one line, no control characters";
                goto bad;
            }
        }

        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_FCM:
        if (integrations_fcm_key_parse((char *) c->secret.data,
                                       c->secret.len, &c->fcm, &why)
            != 0)
        {
            goto bad;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            integrations_fcm_key_free(&c->fcm);
            return NGX_ERROR;
        }

        cln->handler = ngx_http_integrations_np_fcm_free;
        cln->data = &c->fcm;

        if (c->token_url.len == 0) {
            c->token_url.data = (u_char *) c->fcm.token_uri;
            c->token_url.len = ngx_strlen(c->fcm.token_uri);
        }

        if (ngx_http_integrations_np_join(cf, &c->token_url, &c->token_url,
                                          "", NULL, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ngx_http_integrations_np_join(cf, &c->url, &c->base_url,
                                          "/v1/projects/", NULL, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        b64.data = (u_char *) c->fcm.project_id;
        b64.len = ngx_strlen(c->fcm.project_id);

        if (ngx_http_integrations_np_join(cf, &c->url, &c->url, "", &b64,
                                          "/messages:send")
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        c->fingerprint = ngx_crc32_long(c->token_url.data, c->token_url.len)
                         ^ ngx_crc32_long((u_char *) c->fcm.client_email,
                                          ngx_strlen(c->fcm.client_email))
                         ^ ngx_crc32_long(pr->name.data, pr->name.len);

        return NGX_OK;

    default:
        for (p = c->secret.data; p < c->secret.data + c->secret.len; p++) {
            if (*p <= 0x20 || *p >= 0x7f) {
                why = "one token, visible ASCII";
                goto bad;
            }
        }

        if (pr->type == NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK_WEBHOOK) {
            if (!ngx_http_integrations_np_url(&c->secret, "https://",
                                              "http://"))
            {
                why = "the webhook's http(s) URL";
                goto bad;
            }

            c->url.data = ngx_pnalloc(cf->pool, c->secret.len + 1);
            if (c->url.data == NULL) {
                return NGX_ERROR;
            }

            /* the URL is the secret: cleansed with it */

            ngx_memcpy(c->url.data, c->secret.data, c->secret.len);
            c->url.data[c->secret.len] = '\0';
            c->url.len = c->secret.len;

            cln = ngx_pool_cleanup_add(cf->pool, 0);
            if (cln == NULL) {
                return NGX_ERROR;
            }

            cln->handler = ngx_http_integrations_np_cleanse;
            cln->data = &c->url;

            return NGX_OK;
        }
    }

    /* the header values made from the secret */

    switch (pr->type) {

    case NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO:
        if (!integrations_twilio_sid_valid((char *) c->user.data, c->user.len,
                                           "AC"))
        {
            why = "AccountSid:AuthToken, the sid AC and 32 hex digits";
            goto bad;
        }

        if (ngx_http_integrations_np_join(cf, &c->url, &c->base_url,
                                          "/2010-04-01/Accounts/", &c->user,
                                          "/Messages.json")
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        n = sizeof("Basic ") - 1 + ngx_base64_encoded_length(c->secret.len);
        c->auth.data = ngx_pnalloc(cf->pool, n);
        if (c->auth.data == NULL) {
            return NGX_ERROR;
        }

        b64.data = ngx_cpymem(c->auth.data, "Basic ", sizeof("Basic ") - 1);
        ngx_encode_base64(&b64, &c->secret);
        c->auth.len = sizeof("Basic ") - 1 + b64.len;
        break;

    case NGX_HTTP_INTEGRATIONS_NOTIFY_SENDGRID:
    case NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK:
        n = sizeof("Bearer ") - 1 + c->secret.len;
        c->auth.data = ngx_pnalloc(cf->pool, n);
        if (c->auth.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(ngx_cpymem(c->auth.data, "Bearer ", sizeof("Bearer ") - 1),
                   c->secret.data, c->secret.len);
        c->auth.len = n;
        break;

    default:
        break;
    }

    return NGX_OK;

bad:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       (pr->type == NGX_HTTP_INTEGRATIONS_NOTIFY_FCM)
                       ? "notify_provider \"%V\": \"key_file=%V\" is not a "
                         "usable service-account key: %s"
                       : "notify_provider \"%V\": \"key_file=%V\" must hold "
                         "%s",
                       &pr->name, key_file, why);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_integrations_np_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                   *shpool;
    ngx_http_integrations_np_token_t  *tok;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /* a reload keeps the token: the fingerprint says if it still fits */

    if (data || shm_zone->shm.exists) {
        return NGX_OK;
    }

    tok = ngx_slab_calloc(shpool, sizeof(ngx_http_integrations_np_token_t));
    if (tok == NULL) {
        return NGX_ERROR;
    }

    shpool->data = tok;

    return NGX_OK;
}


static void
ngx_http_integrations_np_fcm_free(void *data)
{
    integrations_fcm_key_free(data);
}


static ngx_int_t
ngx_http_integrations_np_postconf(ngx_conf_t *cf)
{
    ngx_uint_t                                 i;
    ngx_http_integrations_np_conf_t           *c;
    ngx_http_integrations_notify_provider_t  **pp;
    ngx_http_integrations_np_main_conf_t      *nmcf;

    /* the zones a provider names may be defined after it */

    nmcf = ngx_http_conf_get_module_main_conf(cf,
                                 ngx_http_integrations_notify_provider_module);
    pp = nmcf->providers.elts;

    for (i = 0; i < nmcf->providers.nelts; i++) {
        c = pp[i]->ctx;

        if (c->limits.rate_limit && c->limits.rate_limit->data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "notify_provider \"%V\": rate_limit_zone "
                               "\"%V\" is unknown", &pp[i]->name,
                               &c->limits.rate_limit->shm.name);
            return NGX_ERROR;
        }

        if (c->limits.breaker && c->limits.breaker->data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "notify_provider \"%V\": "
                               "circuit_breaker_zone \"%V\" is unknown",
                               &pp[i]->name, &c->limits.breaker->shm.name);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void *
ngx_http_integrations_np_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_np_main_conf_t  *nmcf;

    nmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_np_main_conf_t));
    if (nmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&nmcf->providers, cf->pool, 4,
                       sizeof(ngx_http_integrations_notify_provider_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return nmcf;
}


/*
 * notify_provider_test: one send, now, through a named provider, with no
 * outbox and no retry: to check a provider's configuration and
 * credentials (and the tests' way to drive every provider type).
 *
 *     POST {"provider":"solapi","channel":"sms","to":"010-1234-5678",
 *           "subject":"...","text":"...","html":"...","to_name":"...",
 *           "template_id":"...","variables":{"name":"..."},
 *           "data":{"k":"v"},"fallback":true,"id":"n-1","attempt":1}
 *
 * answers 200 with the outcome: {"outcome":"sent","attempted":true,
 * "code":"","text":"","message_id":"...","http_status":202,
 * "retry_after":-1,"retry_after_ms":0,"flags":["ambiguous"],
 * "sent_as":0,"idempotency_key":"ngx-notify-n-1","dedupes":false}.
 * Recipients are normalized as the provider's route says (a 422 names
 * "to").  Place it behind allow/deny: it sends real messages.
 */

#define NGX_HTTP_NP_TEST_MAX_BODY  (256 * 1024)

typedef struct {
    ngx_http_request_t                       *request;
    ngx_http_integrations_notify_message_t    msg;
    yajl_val                                  tree;
} ngx_http_integrations_np_test_t;


static void ngx_http_integrations_np_test_body(ngx_http_request_t *r);
static void ngx_http_integrations_np_test_done(void *data,
    ngx_http_integrations_notify_outcome_t *o);
static void ngx_http_integrations_np_test_free(void *data);


static ngx_int_t
ngx_http_integrations_np_test_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r->method != NGX_HTTP_POST) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_read_client_request_body(r,
                                       ngx_http_integrations_np_test_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_integrations_np_test_problem(ngx_http_request_t *r,
    ngx_uint_t status, const char *field, const char *why)
{
    ngx_str_t  detail;
    u_char     buf[256];

    detail.data = buf;
    detail.len = ngx_snprintf(buf, sizeof(buf), "\"%s\": %s", field, why)
                 - buf;

    return ngx_http_integrations_problem(r, status,
                                         status == 400 ? "invalid_request"
                                                       : "unprocessable",
                                         status == 400 ? "Invalid request"
                                                       : "Cannot be sent",
                                         &detail);
}


/* a string field, or absent; -1: present but not a clean string */

static ngx_int_t
ngx_http_integrations_np_test_str(yajl_val root, const char *key,
    ngx_str_t *out)
{
    const char  *v;
    size_t       len;
    yajl_val     j;

    j = integrations_json_get(root, key);

    if (j == NULL) {
        ngx_str_null(out);
        return NGX_OK;
    }

    if (integrations_notify_json_str(j, 1, &v, &len) != 0) {
        return NGX_ERROR;
    }

    out->data = (u_char *) v;
    out->len = len;

    return NGX_OK;
}


/* {"k":"v",...} into kv pairs, in r->pool */

static ngx_int_t
ngx_http_integrations_np_test_kv(ngx_http_request_t *r, yajl_val root,
    const char *key, integrations_notify_kv_t **kv, ngx_uint_t *n)
{
    size_t    i, len;
    yajl_val  o;

    o = integrations_json_get(root, key);

    *kv = NULL;
    *n = 0;

    if (o == NULL) {
        return NGX_OK;
    }

    if (!YAJL_IS_OBJECT(o)) {
        return NGX_ERROR;
    }

    *kv = ngx_pcalloc(r->pool, (o->u.object.len + 1)
                               * sizeof(integrations_notify_kv_t));
    if (*kv == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < o->u.object.len; i++) {
        if (integrations_notify_json_str(o->u.object.values[i], 1,
                                         &(*kv)[i].value, &len)
            != 0)
        {
            return NGX_ERROR;
        }

        (*kv)[i].value_len = len;
        (*kv)[i].key = o->u.object.keys[i];
        (*kv)[i].key_len = ngx_strlen(o->u.object.keys[i]);
    }

    *n = o->u.object.len;

    return NGX_OK;
}


static void
ngx_http_integrations_np_test_body(ngx_http_request_t *r)
{
    u_char                                   *body, *p;
    size_t                                    len, olen;
    char                                     *to;
    ngx_int_t                                 rc;
    ngx_str_t                                 name, channel;
    ngx_buf_t                                *b;
    ngx_uint_t                                i, ch;
    yajl_val                                  root, j;
    ngx_chain_t                              *cl;
    const char                               *why, *field;
    ngx_pool_cleanup_t                       *cln;
    integrations_notify_route_t               route;
    ngx_http_integrations_np_test_t          *t;
    ngx_http_integrations_np_main_conf_t     *nmcf;
    ngx_http_integrations_notify_provider_t  *pr, **pp;

    if (r->request_body == NULL || r->request_body->bufs == NULL
        || r->request_body->temp_file)
    {
        ngx_http_finalize_request(r, ngx_http_integrations_np_test_problem(
                                      r, 400, "body", "none, or too large"));
        return;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0 || len > NGX_HTTP_NP_TEST_MAX_BODY) {
        ngx_http_finalize_request(r, ngx_http_integrations_np_test_problem(
                                      r, 400, "body", "empty or too large"));
        return;
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = body;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    t = ngx_pcalloc(r->pool, sizeof(ngx_http_integrations_np_test_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (t == NULL || cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    root = integrations_json_parse((char *) body, len, 8,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, NULL);
    if (root == NULL || !YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        ngx_http_finalize_request(r, ngx_http_integrations_np_test_problem(
                                      r, 400, "body", "not a JSON object"));
        return;
    }

    t->tree = root;
    t->request = r;
    cln->handler = ngx_http_integrations_np_test_free;
    cln->data = t;

    field = "provider";

    if (ngx_http_integrations_np_test_str(root, "provider", &name) != NGX_OK
        || name.len == 0)
    {
        goto invalid;
    }

    nmcf = ngx_http_get_module_main_conf(r,
                                 ngx_http_integrations_notify_provider_module);
    pp = nmcf->providers.elts;
    pr = NULL;

    for (i = 0; i < nmcf->providers.nelts; i++) {
        if (pp[i]->name.len == name.len
            && ngx_strncmp(pp[i]->name.data, name.data, name.len) == 0)
        {
            pr = pp[i];
        }
    }

    if (pr == NULL) {
        ngx_http_finalize_request(r, ngx_http_integrations_np_test_problem(
                                      r, 422, "provider", "no such provider"));
        return;
    }

    field = "channel";

    if (ngx_http_integrations_np_test_str(root, "channel", &channel)
        != NGX_OK)
    {
        goto invalid;
    }

    ch = (ngx_uint_t) -1;

    for (i = 0; i <= INTEGRATIONS_NOTIFY_SLACK; i++) {
        if (channel.len == 0
            ? (pr->channels & NGX_HTTP_INTEGRATIONS_NOTIFY_CH(i))
            : ngx_strlen(integrations_notify_channel_type_name((int) i))
                  == channel.len
              && ngx_strncmp(integrations_notify_channel_type_name((int) i),
                             channel.data, channel.len) == 0)
        {
            ch = i;
            break;
        }
    }

    if (ch == (ngx_uint_t) -1
        || ngx_http_integrations_notify_provider_route(pr, ch, &route)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_http_integrations_np_test_problem(
                                      r, 422, "channel",
                                      "not served by the provider"));
        return;
    }

    t->msg.channel = ch;

    field = "to";

    if (ngx_http_integrations_np_test_str(root, "to", &t->msg.to) != NGX_OK)
    {
        goto invalid;
    }

    if (route.recipient != INTEGRATIONS_RCPT_NONE) {
        to = ngx_pnalloc(r->pool, INTEGRATIONS_RCPT_MAX + 1);
        if (to == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        if (integrations_rcpt_normalize(route.recipient, route.default_cc,
                                        (char *) t->msg.to.data,
                                        t->msg.to.len, to,
                                        INTEGRATIONS_RCPT_MAX + 1, &olen,
                                        &why)
            != 0)
        {
            ngx_http_finalize_request(r, ngx_http_integrations_np_test_problem(
                                          r, 422, "to", why));
            return;
        }

        t->msg.to.data = (u_char *) to;
        t->msg.to.len = olen;
    }

    field = "subject";
    if (ngx_http_integrations_np_test_str(root, "subject", &t->msg.subject)
        != NGX_OK)
    {
        goto invalid;
    }

    field = "text";
    if (ngx_http_integrations_np_test_str(root, "text", &t->msg.text)
        != NGX_OK)
    {
        goto invalid;
    }

    field = "html";
    if (ngx_http_integrations_np_test_str(root, "html", &t->msg.html)
        != NGX_OK)
    {
        goto invalid;
    }

    field = "to_name";
    if (ngx_http_integrations_np_test_str(root, "to_name", &t->msg.to_name)
        != NGX_OK)
    {
        goto invalid;
    }

    field = "template_id";
    if (ngx_http_integrations_np_test_str(root, "template_id",
                                          &t->msg.template_id)
        != NGX_OK)
    {
        goto invalid;
    }

    field = "id";
    if (ngx_http_integrations_np_test_str(root, "id", &t->msg.id) != NGX_OK)
    {
        goto invalid;
    }

    if (t->msg.id.len == 0) {
        ngx_str_set(&t->msg.id, "test");
    }

    field = "variables";
    if (ngx_http_integrations_np_test_kv(r, root, "variables",
                                         &t->msg.variables,
                                         &t->msg.nvariables)
        != NGX_OK)
    {
        goto invalid;
    }

    field = "data";
    if (ngx_http_integrations_np_test_kv(r, root, "data", &t->msg.data,
                                         &t->msg.ndata)
        != NGX_OK)
    {
        goto invalid;
    }

    j = integrations_json_get(root, "fallback");
    t->msg.fallback = YAJL_IS_TRUE(j);

    t->msg.attempt = 1;

    j = integrations_json_get(root, "attempt");
    if (j && YAJL_IS_INTEGER(j) && YAJL_GET_INTEGER(j) > 0) {
        t->msg.attempt = (ngx_uint_t) YAJL_GET_INTEGER(j);
    }

    r->main->count++;

    rc = ngx_http_integrations_notify_send(pr, &t->msg, r->pool,
                                           r->connection->log,
                                           ngx_http_integrations_np_test_done,
                                           t);
    if (rc != NGX_OK) {
        r->main->count--;
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return;

invalid:

    ngx_http_finalize_request(r, ngx_http_integrations_np_test_problem(r, 400,
                                  field, "not a string of text"));
}


static void
ngx_http_integrations_np_test_done(void *data,
    ngx_http_integrations_notify_outcome_t *o)
{
    ngx_http_integrations_np_test_t  *t = data;

    char                      *out;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_buf_t                 *b;
    ngx_chain_t                cl;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    integrations_notify_gen_t  j;

    r = t->request;
    c = r->connection;

    integrations_notify_gen_init(&j);
    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_cstr(&j, "outcome");
    integrations_notify_gen_cstr(&j,
                     integrations_notify_outcome_name(o->result.outcome));
    integrations_notify_gen_cstr(&j, "attempted");
    integrations_notify_gen_bool(&j, o->attempted ? 1 : 0);
    integrations_notify_gen_key(&j, "code", o->result.code,
                                ngx_strlen(o->result.code));
    integrations_notify_gen_key(&j, "text", o->result.text,
                                ngx_strlen(o->result.text));
    integrations_notify_gen_key(&j, "message_id", o->result.message_id,
                                ngx_strlen(o->result.message_id));
    integrations_notify_gen_cstr(&j, "http_status");
    integrations_notify_gen_int(&j, o->result.http_status);
    integrations_notify_gen_cstr(&j, "retry_after");
    integrations_notify_gen_int(&j, o->result.retry_after);
    integrations_notify_gen_cstr(&j, "retry_after_ms");
    integrations_notify_gen_int(&j, (long long) o->retry_after_ms);
    integrations_notify_gen_cstr(&j, "flags");
    integrations_notify_gen_array(&j, 1);

    if (o->result.flags & INTEGRATIONS_NOTIFY_F_PRUNE) {
        integrations_notify_gen_cstr(&j, "prune");
    }
    if (o->result.flags & INTEGRATIONS_NOTIFY_F_REAUTH) {
        integrations_notify_gen_cstr(&j, "reauth");
    }
    if (o->result.flags & INTEGRATIONS_NOTIFY_F_CONFIG) {
        integrations_notify_gen_cstr(&j, "config");
    }
    if (o->result.flags & INTEGRATIONS_NOTIFY_F_FALLBACK) {
        integrations_notify_gen_cstr(&j, "fallback");
    }
    if (o->result.flags & INTEGRATIONS_NOTIFY_F_AMBIGUOUS) {
        integrations_notify_gen_cstr(&j, "ambiguous");
    }

    integrations_notify_gen_array(&j, 0);
    integrations_notify_gen_cstr(&j, "sent_as");
    integrations_notify_gen_int(&j, (long long) o->sent_as);
    integrations_notify_gen_key(&j, "idempotency_key",
                                (char *) o->idempotency_key.data,
                                o->idempotency_key.len);
    integrations_notify_gen_map(&j, 0);

    out = integrations_notify_gen_done(&j, &len);

    if (out == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        free(out);
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    b->last = ngx_cpymem(b->last, out, len);
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;
    free(out);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc != NGX_ERROR && rc <= NGX_OK) {
        cl.buf = b;
        cl.next = NULL;
        rc = ngx_http_output_filter(r, &cl);
    }

done:

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_integrations_np_test_free(void *data)
{
    ngx_http_integrations_np_test_t  *t = data;

    yajl_tree_free(t->tree);
    t->tree = NULL;
}


static char *
ngx_http_integrations_np_test(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_integrations_np_test_handler;

    return NGX_CONF_OK;
}
