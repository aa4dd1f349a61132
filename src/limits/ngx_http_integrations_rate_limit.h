/*
 * Rate limiting: what other modules may use without a request.
 *
 * The outbound client's calls are limited per provider through the same
 * zones, keys and totals as proxied routes: a module that names a
 * rate_limit_zone in its own directive takes a reference at
 * configuration time and accounts calls with an explicit key (the zone's
 * own key expression is for requests and is not evaluated then).
 */

#ifndef NGX_HTTP_INTEGRATIONS_RATE_LIMIT_H
#define NGX_HTTP_INTEGRATIONS_RATE_LIMIT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_gcra.h"


/*
 * A reference to the rate_limit_zone "name", which may be defined later
 * in the configuration: the caller checks shm_zone->data != NULL in its
 * postconfiguration.
 */
ngx_shm_zone_t *ngx_http_integrations_rate_limit_zone_ref(ngx_conf_t *cf,
    ngx_str_t *name);

/*
 * Decides one call for key in the zone at "now" (ngx_current_msec).
 * Without commit the state is left as it was.  A scope=cluster zone
 * without sync= is decided on this node's share of the quota (as when
 * Redis is down, on_error=local), as the caller cannot wait for Redis.
 * Returns NGX_OK with *result filled, NGX_DECLINED if the key cannot be
 * limited (empty, or longer than 65535 bytes: logged), NGX_ERROR if the
 * zone cannot hold the key (logged).
 */
ngx_int_t ngx_http_integrations_rate_limit_account_key(
    ngx_shm_zone_t *shm_zone, ngx_str_t *key, integrations_gcra_mode_e mode,
    ngx_uint_t commit, uint64_t now, ngx_log_t *log,
    integrations_gcra_result_t *result);


/*
 * Whether the zone's decisions are Redis's own, one round trip each
 * (scope=cluster without sync=): a caller that can wait should use
 * ngx_http_integrations_rate_limit_account_async().
 */
ngx_uint_t ngx_http_integrations_rate_limit_remote(ngx_shm_zone_t *shm_zone);

/*
 * The same for a caller that can wait (an outbound call's admission), so
 * that a scope=cluster zone asks Redis: NGX_OK, NGX_DECLINED, NGX_ERROR
 * as above, with a->result filled; NGX_BUSY: Redis cannot decide and
 * the zone says on_error=reject; NGX_AGAIN: a->done(a) runs later on the
 * event loop with a->rc one of those and a->result, unless
 * ngx_http_integrations_rate_limit_account_cancel(a) was called first.
 * pool outlives the decision (or the cancel).
 */

typedef struct ngx_http_integrations_rate_limit_async_s
    ngx_http_integrations_rate_limit_async_t;

struct ngx_http_integrations_rate_limit_async_s {
    void                        (*done)(
                                ngx_http_integrations_rate_limit_async_t *a);
    void                         *data;
    ngx_int_t                     rc;
    integrations_gcra_result_t    result;
    void                         *ask;          /* private */
};

ngx_int_t ngx_http_integrations_rate_limit_account_async(
    ngx_shm_zone_t *shm_zone, ngx_str_t *key, ngx_uint_t commit,
    ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_integrations_rate_limit_async_t *a);

void ngx_http_integrations_rate_limit_account_cancel(
    ngx_http_integrations_rate_limit_async_t *a);


extern ngx_module_t  ngx_http_integrations_rate_limit_module;

#endif /* NGX_HTTP_INTEGRATIONS_RATE_LIMIT_H */
