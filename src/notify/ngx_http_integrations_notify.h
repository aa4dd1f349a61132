/*
 * Notifications: the outbox, its API and its sender (nginx glue).
 *
 *     notify_template  order_ready  file=templates/order_ready.txt;
 *     notify_template  activation   file=templates/activation.kakao
 *                                   alimtalk_template_id=KA01TP...;
 *     notify_route     sms       sms_kr;                  (optional)
 *     notify_route     alimtalk  sms_kr  fallback=sms_kr;
 *     notify_retry     attempts=5 max_age=1h;
 *     notify_alert     ops_slack channel=#alerts;
 *     notify_retention 30d;
 *
 *     location /notifications {
 *         notify_api;
 *     }
 *
 *     POST /notifications              one notification: 202 once durable
 *     POST /notifications/bulk         up to 1,000 in one transaction
 *     GET  /notifications/{id}         status and every attempt
 *     POST /notifications/receipts/twilio   Twilio's status callbacks
 *                                      (behind webhook_verify twilio)
 *
 * A notification is rendered and checked at the request (the pure core's
 * integrations_notify_parse()), committed to the store's outbox
 * (OUTBOX_ENQUEUE) and only then answered.  Each worker's sender
 * (ngx_http_integrations_notify_sender.c) claims due rows per provider
 * under a lease, sends them through ngx_http_integrations_notify_send()
 * (the provider layer: limiter, breaker, concurrency), and writes the
 * outcome back, fenced by the claim's attempt id; the rules of what
 * follows an outcome are integrations_notify_outbox.h's.
 *
 * The C API below lets other modules send: a notification given as the
 * JSON body POST /notifications takes (enqueued on its own, or prepared
 * into outbox items that another store operation inserts in its own
 * transaction), and operator alerts through notify_alert.
 */

#ifndef NGX_HTTP_INTEGRATIONS_NOTIFY_H
#define NGX_HTTP_INTEGRATIONS_NOTIFY_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_notify_request.h"
#include "integrations_notify_retry.h"
#include "integrations_store.h"
#include "ngx_http_integrations_notify_provider.h"
#include "ngx_http_integrations_status.h"


/* ---- the C API --------------------------------------------------------- */

/*
 * What became of an enqueue: rc NGX_OK and the notification's id (for
 * GET /notifications/{id}; valid during the call), or NGX_ERROR (the
 * store failed: nothing was queued).
 */
typedef void (*ngx_http_integrations_notify_enqueued_pt)(void *data,
    ngx_int_t rc, ngx_str_t *id);

/*
 * Enqueues one notification, given as the JSON body of POST
 * /notifications ({"channel":"sms","to":"010-1234-5678","template":
 * "activation","data":{...},"idempotency_key":"order-42"}), from any
 * module at run time (no request needed).  It is checked and rendered
 * now: NGX_DECLINED and *problem (if not NULL) when it is invalid, as the
 * API would answer 400/422; NGX_ERROR when the store is down or no
 * memory; NGX_OK: done(data, rc, id) follows once the store has answered
 * (done may be NULL).  An idempotency_key makes it safe to call again.
 */
ngx_int_t ngx_http_integrations_notify_enqueue(const u_char *json,
    size_t len, ngx_http_integrations_notify_enqueued_pt done, void *data,
    integrations_notify_problem_t *problem);

/*
 * The same check and render, into outbox items for a store operation that
 * inserts them in its own transaction with integrations_store_db_outbox_
 * insert() (integrations_store_db.h): an order and its message commit
 * together.  The items (*items, *n) and every byte they point to are in
 * pool.  NGX_OK, NGX_DECLINED with *problem, or NGX_ERROR.
 */
ngx_int_t ngx_http_integrations_notify_prepare(ngx_pool_t *pool,
    const u_char *json, size_t len, integrations_store_outbox_item_t **items,
    size_t *n, integrations_notify_problem_t *problem);

/*
 * An operator alert through notify_alert (Slack-style: one line of text,
 * no personal data: mask recipients with integrations_rcpt_mask()),
 * durably queued and delivered by the sender like any notification.
 * NGX_OK queued (or being queued); NGX_DECLINED no notify_alert is
 * configured; NGX_ERROR the store is down.
 */
ngx_int_t ngx_http_integrations_notify_alert(const u_char *text,
    size_t len);


/* ---- shared by the module's files ------------------------------------- */

#define NGX_HTTP_NOTIFY_ALERT_CHANNEL  "notify_alert"
#define NGX_HTTP_NOTIFY_ID_LEN         36     /* "ntf_" + 32 hex */
#define NGX_HTTP_NOTIFY_STATS          64     /* channel+provider pairs */
#define NGX_HTTP_NOTIFY_PROVIDERS      32


/* notify_route CHANNEL PROVIDER [type=TYPE] [fallback=PROVIDER] */
typedef struct {
    ngx_str_t                                 channel;
    ngx_http_integrations_notify_provider_t  *provider;
    ngx_http_integrations_notify_provider_t  *fallback;  /* ALIMTALK: its
                                                            SMS, or NULL */
    ngx_uint_t                                type;      /* channel type */
    ngx_uint_t                                stat;
    ngx_uint_t                                fallback_stat;

    ngx_str_t                                 provider_name;
    ngx_str_t                                 fallback_name;
    ngx_int_t                                 type_given;  /* -1: none */
    ngx_uint_t                                fallback_none:1;
} ngx_http_integrations_notify_route_t;


typedef struct {
    ngx_str_t                                 name;  /* NUL-terminated */
    integrations_notify_template_t            tpl;
} ngx_http_integrations_notify_tpl_t;


/* the counters of one channel and provider, in shared memory */
typedef struct {
    u_char                                    channel[64];
    u_char                                    provider[64];
    ngx_atomic_t                              used;
    ngx_atomic_t                              queued;
    ngx_atomic_t                              sent;
    ngx_atomic_t                              delivered;
    ngx_atomic_t                              failed_permanent;
    ngx_atomic_t                              failed_exhausted;
    ngx_atomic_t                              failed_expired;
    ngx_atomic_t                              failed_undelivered;
    ngx_atomic_t                              retries;
    ngx_atomic_t                              unknown;
    ngx_atomic_t                              fallbacks;
} ngx_http_integrations_notify_stat_t;

#define NGX_HTTP_NOTIFY_BUCKETS  10

typedef struct {
    u_char                                    provider[64];
    ngx_atomic_t                              used;
    ngx_atomic_t                              buckets[NGX_HTTP_NOTIFY_BUCKETS];
    ngx_atomic_t                              count;
    ngx_atomic_t                              sum_ms;
} ngx_http_integrations_notify_latency_t;

typedef struct {
    uint32_t                                  magic;
    uint32_t                                  size;
    ngx_http_integrations_notify_stat_t       stats[NGX_HTTP_NOTIFY_STATS];
    ngx_http_integrations_notify_latency_t    latency[
                                                 NGX_HTTP_NOTIFY_PROVIDERS];
    ngx_atomic_t                              depth;
    ngx_atomic_t                              due;
    ngx_atomic_t                              oldest_due_at;   /* ms */
    ngx_atomic_t                              stats_at;        /* msec */
    ngx_atomic_t                              stats_known;
} ngx_http_integrations_notify_shctx_t;


typedef struct {
    ngx_array_t                               templates;
    ngx_array_t                               routes;
    integrations_notify_route_t              *core_routes;
    ngx_uint_t                                nroutes;

    integrations_notify_retry_t               retry;
    ngx_msec_t                                max_age;
    ngx_flag_t                                retry_set;

    ngx_str_t                                 alert_provider_name;
    ngx_http_integrations_notify_provider_t  *alert_provider;
    ngx_str_t                                 alert_channel;
    ngx_uint_t                                alert_stat;

    ngx_msec_t                                retention;
    ngx_msec_t                                lease;
    ngx_msec_t                                interval;
    ngx_uint_t                                batch;
    ngx_msec_t                                idem_ttl;
    ngx_flag_t                                delivery_set;

    ngx_flag_t                                enabled;   /* the sender runs */
    ngx_http_integrations_notify_provider_t **providers;
    ngx_uint_t                                nproviders;
    ngx_uint_t                                latency[
                                                 NGX_HTTP_NOTIFY_PROVIDERS];

    ngx_shm_zone_t                           *zone;
} ngx_http_integrations_notify_main_conf_t;


/* the main conf at run time (set by the module at its init) */
ngx_http_integrations_notify_main_conf_t *ngx_http_integrations_notify_conf(
    void);

/* the shared counters, or NULL */
ngx_http_integrations_notify_shctx_t *ngx_http_integrations_notify_sh(void);

/* a route by channel name and provider name, or NULL */
ngx_http_integrations_notify_route_t *ngx_http_integrations_notify_route(
    ngx_http_integrations_notify_main_conf_t *nmcf, ngx_str_t *channel,
    ngx_str_t *provider);

/* the stat slot of a pair, NGX_HTTP_NOTIFY_STATS if none */
ngx_uint_t ngx_http_integrations_notify_stat(
    ngx_http_integrations_notify_main_conf_t *nmcf, ngx_str_t *channel,
    ngx_str_t *provider);

/* a fresh notification id: "ntf_" and 32 hex digits */
void ngx_http_integrations_notify_new_id(u_char *id);

/* the sender: started by the module in each worker */
ngx_int_t ngx_http_integrations_notify_sender_init(ngx_cycle_t *cycle);
void ngx_http_integrations_notify_sender_exit(ngx_cycle_t *cycle);

/* a hint that rows of this provider may be due now (after an enqueue) */
void ngx_http_integrations_notify_sender_kick(void);

/* the metrics collector */
ngx_int_t ngx_http_integrations_notify_collect(
    ngx_http_integrations_status_writer_t *w, void *data);


extern ngx_module_t  ngx_http_integrations_notify_module;

#endif /* NGX_HTTP_INTEGRATIONS_NOTIFY_H */
