/*
 * Notification providers: the notify_provider directive and the send layer
 * the delivery worker calls.
 *
 *     notify_provider  NAME  type=TYPE  key_file=PATH  [base_url=URL]
 *                      [rate_limit=ZONE]  [circuit_breaker=ZONE]
 *                      [timeout=TIME]  [connect_timeout=TIME]
 *                      [concurrency=N]  [idempotency_header=NAME]
 *                      [type's own parameters];                    (http)
 *
 *     type           serves           key_file holds        own parameters
 *     smtp           email            user:password (or     url=smtp://h:587
 *                                     "-": no AUTH)         | smtps://h:465,
 *                                                           starttls=on|off,
 *                                                           from=, from_name=
 *     sendgrid       email            API key               from=, from_name=
 *     twilio         sms              AccountSid:AuthToken  from= |
 *                                                           messaging_service=,
 *                                                           status_callback=,
 *                                                           default_country=
 *     solapi         sms, alimtalk    apiKey:apiSecret      from=, pf_id=
 *     fcm            push             service-account JSON  (project from
 *                                                           the key file)
 *     slack          slack            bot token (xoxb-)
 *     slack_webhook  slack            the webhook URL
 *
 * Secrets come only from files (ngx_http_integrations_secret_read()), and
 * are never logged.  A bad parameter fails nginx -t naming it.
 *
 * The life of one send, as the delivery worker drives it:
 *
 *   config   p = ngx_http_integrations_notify_provider_find(cf, &name),
 *            from postconfiguration or later (every notify_provider of the
 *            http block is read by then); NULL: no such provider.
 *            ngx_http_integrations_notify_provider_route() fills the
 *            pure core's route for a channel it serves.
 *   worker   fill an ngx_http_integrations_notify_message_t (it must stay
 *            valid, with every string it points to, until done() or
 *            cancel), call ngx_http_integrations_notify_send(); done()
 *            comes once, later, from the event loop: never from inside
 *            send().  Even a refusal (rate limit, open breaker, the
 *            concurrency bound) arrives through done(), with
 *            attempted == 0 and a RETRYABLE result.
 *   outcome  the pure core's integrations_notify_result_t (see
 *            integrations_notify.h: SENT, RETRYABLE, PERMANENT, UNKNOWN,
 *            flags F_PRUNE, F_CONFIG, F_FALLBACK, F_AMBIGUOUS), plus
 *            whether anything was sent at all.  F_REAUTH is handled here
 *            (FCM's cached token is dropped before done()): the caller
 *            just retries.
 *
 * Each send passes the provider's rate_limit= zone, then its
 * circuit_breaker= zone, as every outbound call does, and is recorded in
 * the breaker when it ends.  A provider with idempotency_header=NAME
 * sends "NAME: <the message's idempotency key>" (derived from the
 * notification id, the same on every attempt), and is then "dedupes": a
 * send that may have reached it (F_AMBIGUOUS) may be retried.  None of
 * the real providers documents such a key for these APIs, so the default
 * is off (SMTP's Message-ID is derived from the notification id all the
 * same, which lets mail systems recognise a repeat).
 */

#ifndef NGX_HTTP_INTEGRATIONS_NOTIFY_PROVIDER_H
#define NGX_HTTP_INTEGRATIONS_NOTIFY_PROVIDER_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_notify.h"
#include "integrations_notify_request.h"


/* type= */
typedef enum {
    NGX_HTTP_INTEGRATIONS_NOTIFY_SMTP = 0,
    NGX_HTTP_INTEGRATIONS_NOTIFY_SENDGRID,
    NGX_HTTP_INTEGRATIONS_NOTIFY_TWILIO,
    NGX_HTTP_INTEGRATIONS_NOTIFY_SOLAPI,
    NGX_HTTP_INTEGRATIONS_NOTIFY_FCM,
    NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK,
    NGX_HTTP_INTEGRATIONS_NOTIFY_SLACK_WEBHOOK
} ngx_http_integrations_notify_provider_type_e;


/* a bit per integrations_notify_channel_type_e */
#define NGX_HTTP_INTEGRATIONS_NOTIFY_CH(type)  (1u << (type))

#define NGX_HTTP_INTEGRATIONS_NOTIFY_CONCURRENCY  32  /* default, a worker */
#define NGX_HTTP_INTEGRATIONS_NOTIFY_KEY_MAX      128 /* idempotency key */


typedef struct ngx_http_integrations_notify_provider_s
    ngx_http_integrations_notify_provider_t;

struct ngx_http_integrations_notify_provider_s {
    ngx_str_t    name;          /* notify_provider NAME */
    ngx_uint_t   type;          /* ngx_http_integrations_notify_provider_
                                   type_e */
    ngx_str_t    type_name;     /* "solapi", for logs and metric labels */
    ngx_uint_t   channels;      /* NGX_HTTP_INTEGRATIONS_NOTIFY_CH() bits of
                                   the channel types it serves: solapi
                                   serves SMS and ALIMTALK, the others
                                   one */
    ngx_flag_t   dedupes;       /* 1: it deduplicates by the idempotency
                                   key (idempotency_header=), so a send
                                   that may have reached it may be retried;
                                   0: such a send must become "unknown" */
    ngx_uint_t   concurrency;   /* the most sends in flight in one worker
                                   (concurrency=, default 32); send()
                                   refuses past it (attempted == 0) */
    ngx_msec_t   timeout;       /* a send's longest life, connect included
                                   (FCM: plus a token fetch): for leases */
    void        *ctx;           /* private: the type's configuration */
};


/*
 * One rendered notification, as the worker hands it over.  Strings are
 * not copied: they must outlive the send.  Empty (len 0) means absent.
 */
typedef struct {
    ngx_str_t                  id;            /* the notification's id: the
                                                 idempotency key, SMTP's
                                                 Message-ID, Solapi's
                                                 customFields.ref, SendGrid's
                                                 custom_args.ref derive from
                                                 it; the same on every
                                                 attempt */
    ngx_uint_t                 attempt;       /* 1 for the first; for logs */
    ngx_uint_t                 channel;       /* integrations_notify_channel_
                                                 type_e: what to send (a
                                                 solapi provider sends SMS/
                                                 LMS for SMS, AlimTalk for
                                                 ALIMTALK; an AlimTalk
                                                 falling back is resent with
                                                 channel SMS) */
    ngx_str_t                  to;            /* normalized recipient
                                                 (integrations_rcpt_
                                                 normalize()); for SLACK the
                                                 channel ("C0123ABCD",
                                                 "alerts"); ignored by
                                                 slack_webhook */
    ngx_str_t                  subject;       /* email subject; LMS subject
                                                 (Solapi: a default from the
                                                 text's first line when
                                                 empty); push title */
    ngx_str_t                  text;          /* the text: SMS/LMS/AlimTalk
                                                 body, email text part, push
                                                 body, Slack text */
    ngx_str_t                  html;          /* email HTML part */
    ngx_str_t                  to_name;       /* email display name */

    /* ALIMTALK */
    ngx_str_t                  template_id;   /* the approved AlimTalk
                                                 template's id */
    integrations_notify_kv_t  *variables;     /* name (without #{ }) ->
                                                 rendered value */
    ngx_uint_t                 nvariables;
    ngx_flag_t                 fallback;      /* the notification allows an
                                                 SMS/LMS of the same text
                                                 (Solapi's disableSms:
                                                 false) */

    /* PUSH */
    integrations_notify_kv_t  *data;          /* FCM data, string values */
    ngx_uint_t                 ndata;

    /* private: the send in flight, for cancel */
    void                      *send;
} ngx_http_integrations_notify_message_t;


/* what done() gets */
typedef struct {
    integrations_notify_result_t  result;     /* the classifier's answer;
                                                 for a refusal RETRYABLE
                                                 with retry_after, code
                                                 "rate_limited",
                                                 "circuit_open" or
                                                 "concurrency"; a message the
                                                 provider cannot take (a
                                                 builder's refusal) is
                                                 PERMANENT, code
                                                 "invalid_message",
                                                 attempted 0 */
    ngx_flag_t                    attempted;  /* 0: nothing left this host
                                                 (refused, or not built):
                                                 no attempt to record as
                                                 sent, never ambiguous */
    ngx_msec_t                    retry_after_ms;  /* a refusal's wait in ms
                                                 (result.retry_after rounds
                                                 it up to seconds); 0:
                                                 none */
    ngx_msec_t                    duration;   /* the call's, 0 if none */
    ngx_str_t                     idempotency_key;  /* what was (or would
                                                 be) sent; in the pool */
    ngx_uint_t                    sent_as;    /* SOLAPI: integrations_
                                                 solapi_type_e (SMS, LMS,
                                                 ATA); else 0 */
} ngx_http_integrations_notify_outcome_t;


typedef void (*ngx_http_integrations_notify_done_pt)(void *data,
    ngx_http_integrations_notify_outcome_t *outcome);


/*
 * The provider of that name, or NULL.  Call it at configuration time,
 * from postconfiguration or later (init_main_conf of a module listed
 * after the provider module, a location's merge).
 */
ngx_http_integrations_notify_provider_t *
    ngx_http_integrations_notify_provider_find(ngx_conf_t *cf,
    ngx_str_t *name);

/* every provider, in directive order: an array of *n pointers */
ngx_http_integrations_notify_provider_t **
    ngx_http_integrations_notify_providers(ngx_conf_t *cf, ngx_uint_t *n);

/*
 * The pure core's route for one channel type the provider serves:
 * provider name, type, recipient kind (E164 with default_country= for
 * twilio, KR_MOBILE and the EUC-KR rules for solapi, EMAIL, FCM_TOKEN,
 * SLACK_CHANNEL, NONE for slack_webhook).  The strings point into the
 * configuration (NUL-terminated).  route->channel is left for the caller.
 * NGX_OK, or NGX_DECLINED: the provider does not serve that type.
 */
ngx_int_t ngx_http_integrations_notify_provider_route(
    ngx_http_integrations_notify_provider_t *p, ngx_uint_t channel_type,
    integrations_notify_route_t *route);

/*
 * Starts one send of msg through p, its memory from pool (which must
 * outlive the send: destroying it cancels the send, done() is then not
 * called), logging to log.  NGX_OK: done(data, outcome) will be called
 * exactly once, later, from the event loop, unless cancelled; the outcome
 * lives in pool.  NGX_ERROR: nothing started (no memory), done() will not
 * be called; treat as RETRYABLE, nothing sent.
 *
 * Recipients and bodies are logged only at debug level, and masked
 * (integrations_rcpt_mask()) elsewhere.
 */
ngx_int_t ngx_http_integrations_notify_send(
    ngx_http_integrations_notify_provider_t *p,
    ngx_http_integrations_notify_message_t *msg, ngx_pool_t *pool,
    ngx_log_t *log, ngx_http_integrations_notify_done_pt done, void *data);

/*
 * Cancels msg's send in flight: done() is not called.  Idempotent, and a
 * no-op for a message not in flight.  A cancelled call may still have
 * reached the provider: treat it as ambiguous.
 */
void ngx_http_integrations_notify_send_cancel(
    ngx_http_integrations_notify_message_t *msg);

/* sends of p in flight in this worker */
ngx_uint_t ngx_http_integrations_notify_provider_inflight(
    ngx_http_integrations_notify_provider_t *p);

/*
 * The idempotency key of a notification id: "ngx-notify-" and the id when
 * it is visible ASCII and fits, else a hex SHA-256 of it; into key
 * (NGX_HTTP_INTEGRATIONS_NOTIFY_KEY_MAX bytes, no NUL), its length.
 */
size_t ngx_http_integrations_notify_idempotency_key(ngx_str_t *id,
    u_char *key);


extern ngx_module_t  ngx_http_integrations_notify_provider_module;

#endif /* NGX_HTTP_INTEGRATIONS_NOTIFY_PROVIDER_H */
