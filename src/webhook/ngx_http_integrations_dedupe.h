/*
 * Replay store for webhook deliveries: a keyed shared-memory zone
 * (ngx_http_integrations_zone.h) mapping a delivery key to IN_FLIGHT or
 * DELIVERED until it expires.
 *
 *     webhook_dedupe_zone  zone=NAME:SIZE [ttl=24h] [scope=cluster]
 *                          [on_error=reject|local];
 *
 * A key is marked IN_FLIGHT by begin() when a verified delivery is let
 * through, and end() either records it DELIVERED for the zone's ttl or
 * removes it, so that the provider's retry goes through.  An IN_FLIGHT
 * mark whose owner never ended it (a worker that died) lapses after
 * NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT_MAX seconds.  The zone is reused
 * across reloads; when it is full, the least recently written entries
 * are evicted, which is logged once per zone.
 *
 * scope=cluster keeps the marks in Redis (integrations_redis), so that
 * every gateway node sees them: begin() is one SET KEY "f..." NX PX
 * 600000 GET (the old value says IN_FLIGHT "f..." or DELIVERED "d"), and
 * end() one script that, if the mark is still the caller's, makes it "d"
 * for the ttl or deletes it.  The keys are integrations:dd:NAME:KEY.
 * While Redis cannot answer, on_error=reject (the default) makes begin()
 * say UNAVAILABLE (the provider gets 503 and retries later: nothing is
 * lost, nothing delivered twice), on_error=local uses the node's own
 * zone (a copy sent to another node meanwhile is not recognised).
 */

#ifndef NGX_HTTP_INTEGRATIONS_DEDUPE_H
#define NGX_HTTP_INTEGRATIONS_DEDUPE_H

#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_INTEGRATIONS_DEDUPE_KEY_MAX        512
#define NGX_HTTP_INTEGRATIONS_DEDUPE_TTL            86400
#define NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT_MAX  600


typedef enum {
    NGX_HTTP_INTEGRATIONS_DEDUPE_NEW = 0,      /* marked in flight now */
    NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT,    /* another copy is in flight */
    NGX_HTTP_INTEGRATIONS_DEDUPE_DELIVERED,    /* delivered within the ttl */
    NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED,       /* no memory even after
                                                  evicting: not marked */
    NGX_HTTP_INTEGRATIONS_DEDUPE_AGAIN,        /* Redis is asked: the
                                                  answer comes to ready() */
    NGX_HTTP_INTEGRATIONS_DEDUPE_UNAVAILABLE   /* scope=cluster,
                                                  on_error=reject, and
                                                  Redis cannot answer */
} ngx_http_integrations_dedupe_rc_e;


typedef struct ngx_http_integrations_dedupe_s  ngx_http_integrations_dedupe_t;

typedef struct ngx_http_integrations_dedupe_wait_s
    ngx_http_integrations_dedupe_wait_t;

/*
 * A begin() that may wait for Redis: ready(w) runs on the event loop with
 * w->rc one of NEW, IN_FLIGHT, DELIVERED, FAILED, UNAVAILABLE and
 * w->token, unless ngx_http_integrations_dedupe_cancel(w) was called.
 */
struct ngx_http_integrations_dedupe_wait_s {
    void                          (*ready)(
                                    ngx_http_integrations_dedupe_wait_t *w);
    void                           *data;
    ngx_http_integrations_dedupe_rc_e  rc;
    ngx_uint_t                      token;

    /* private */
    void                           *cmd;
    ngx_http_integrations_dedupe_t *dd;
    ngx_log_t                      *log;
    u_char                         *key;
    size_t                          len;
};


/*
 * webhook_dedupe_zone: declares the zone (size > 0), once per name.
 * Returns NULL after logging the error.
 */
ngx_http_integrations_dedupe_t *ngx_http_integrations_dedupe_declare(
    ngx_conf_t *cf, ngx_str_t *name, size_t size, time_t ttl, void *tag);

/* scope=cluster for a declared zone; on_error_local: on_error=local */
ngx_int_t ngx_http_integrations_dedupe_cluster(ngx_conf_t *cf,
    ngx_http_integrations_dedupe_t *dd, ngx_uint_t on_error_local);

/*
 * A reference by name (dedupe=NAME), before or after its declaration;
 * ngx_http_integrations_dedupe_check() at postconfiguration time tells
 * whether it was declared.
 */
ngx_http_integrations_dedupe_t *ngx_http_integrations_dedupe_ref(
    ngx_conf_t *cf, ngx_str_t *name, void *tag);

ngx_int_t ngx_http_integrations_dedupe_check(ngx_conf_t *cf,
    ngx_http_integrations_dedupe_t *dd);

ngx_str_t *ngx_http_integrations_dedupe_name(
    ngx_http_integrations_dedupe_t *dd);


/*
 * Looks the key up and, when it is unknown (or expired), marks it
 * IN_FLIGHT with a token that end() must present: a mark that lapsed and
 * was taken by another copy is never ended by the first one.  With w
 * (not NULL) a scope=cluster zone asks Redis and answers AGAIN; the key
 * must then stay in place until ready() or cancel().  Without, it decides
 * on the node's own zone.
 */
ngx_http_integrations_dedupe_rc_e ngx_http_integrations_dedupe_begin(
    ngx_http_integrations_dedupe_t *dd, ngx_log_t *log, u_char *key,
    size_t len, ngx_uint_t *token, ngx_http_integrations_dedupe_wait_t *w);

void ngx_http_integrations_dedupe_cancel(
    ngx_http_integrations_dedupe_wait_t *w);

/* delivered: DELIVERED until now + ttl; otherwise the mark is removed. */
void ngx_http_integrations_dedupe_end(ngx_http_integrations_dedupe_t *dd,
    u_char *key, size_t len, ngx_uint_t token, ngx_uint_t delivered);

#endif /* NGX_HTTP_INTEGRATIONS_DEDUPE_H */
