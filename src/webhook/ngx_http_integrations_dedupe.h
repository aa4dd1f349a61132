/*
 * Replay store for webhook deliveries: a keyed shared-memory zone
 * (ngx_http_integrations_zone.h) mapping a delivery key to IN_FLIGHT or
 * DELIVERED until it expires.
 *
 *     webhook_dedupe_zone  zone=NAME:SIZE [ttl=24h];
 *
 * A key is marked IN_FLIGHT by begin() when a verified delivery is let
 * through, and end() either records it DELIVERED for the zone's ttl or
 * removes it, so that the provider's retry goes through.  An IN_FLIGHT
 * mark whose owner never ended it (a worker that died) lapses after
 * NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT_MAX seconds.  The zone is reused
 * across reloads; when it is full, the least recently written entries
 * are evicted, which is logged once per zone.
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
    NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED        /* no memory even after
                                                  evicting: not marked */
} ngx_http_integrations_dedupe_rc_e;


typedef struct ngx_http_integrations_dedupe_s  ngx_http_integrations_dedupe_t;


/*
 * webhook_dedupe_zone: declares the zone (size > 0), once per name.
 * Returns NULL after logging the error.
 */
ngx_http_integrations_dedupe_t *ngx_http_integrations_dedupe_declare(
    ngx_conf_t *cf, ngx_str_t *name, size_t size, time_t ttl, void *tag);

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
 * was taken by another copy is never ended by the first one.
 */
ngx_http_integrations_dedupe_rc_e ngx_http_integrations_dedupe_begin(
    ngx_http_integrations_dedupe_t *dd, ngx_log_t *log, u_char *key,
    size_t len, ngx_uint_t *token);

/* delivered: DELIVERED until now + ttl; otherwise the mark is removed. */
void ngx_http_integrations_dedupe_end(ngx_http_integrations_dedupe_t *dd,
    u_char *key, size_t len, ngx_uint_t token, ngx_uint_t delivered);

#endif /* NGX_HTTP_INTEGRATIONS_DEDUPE_H */
