/*
 * Circuit breaking: what other modules may use without a request.
 *
 * The outbound client's calls pass a breaker per provider in a
 * circuit_breaker_zone, the same breakers (zone, key, state, totals) that
 * integrations_status reports.  Per call:
 *
 *     ngx_http_integrations_circuit_breaker_ticket_t  t;
 *
 *     v = ..._acquire_key(shm_zone, &conf, &key, now, log, &t,
 *                         &retry_after);
 *     if (v == INTEGRATIONS_BREAKER_REJECT) { refuse; }
 *     ... the call ...
 *     ..._record_key(&t, &outcome, &duration, 1, now, log);   or
 *     ..._record_key(&t, NULL, NULL, 0, now, log);   (no outcome)
 *
 * A ticket is used once: record_key() disarms it, and a ticket that is
 * not armed (never acquired, or already used) is ignored, so a caller may
 * call record_key() from several exits without counting twice.  The key
 * is copied into the ticket's pool memory by the caller: it must live as
 * long as the ticket.
 */

#ifndef NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_H
#define NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_breaker.h"


typedef struct {
    ngx_shm_zone_t                      *shm_zone;
    const integrations_breaker_conf_t   *conf;
    ngx_str_t                            key;
    uint32_t                             hash;
    integrations_breaker_state_e         state;   /* as last seen */
    uint64_t                             ticket;
    unsigned                             armed:1; /* ticket not used yet */
    unsigned                             probe:1;
} ngx_http_integrations_circuit_breaker_ticket_t;


/*
 * A reference to the circuit_breaker_zone "name", which may be defined
 * later: the caller checks shm_zone->data != NULL in its
 * postconfiguration.
 */
ngx_shm_zone_t *ngx_http_integrations_circuit_breaker_zone_ref(
    ngx_conf_t *cf, ngx_str_t *name);

/*
 * One breaker parameter of the circuit_breaker directive ("failures=5",
 * "open=30s", ...) into conf.  NGX_OK; NGX_ERROR: a bad value; NGX_DECLINED:
 * not a breaker parameter.  Check the whole conf afterwards with
 * integrations_breaker_conf_check().
 */
ngx_int_t ngx_http_integrations_circuit_breaker_param(ngx_str_t *value,
    integrations_breaker_conf_t *conf);

/*
 * Asks the breaker of key whether a call may go now, creating it if
 * needed.  Fills *t (armed unless rejected) and, on REJECT, *retry_after
 * in ms.  A zone that cannot hold the key fails open: ALLOW, not armed.
 */
integrations_breaker_verdict_e
    ngx_http_integrations_circuit_breaker_acquire_key(
    ngx_shm_zone_t *shm_zone, const integrations_breaker_conf_t *conf,
    ngx_str_t *key, uint64_t now, ngx_log_t *log,
    ngx_http_integrations_circuit_breaker_ticket_t *t,
    uint64_t *retry_after);

/*
 * Records n outcomes of the call with its ticket (a request proxied with
 * retries has several), or with n == 0 frees the probe slot of a call
 * that ended with no outcome.  Disarms the ticket; does nothing if it is
 * not armed.
 */
void ngx_http_integrations_circuit_breaker_record_key(
    ngx_http_integrations_circuit_breaker_ticket_t *t,
    integrations_breaker_outcome_e *outcomes, uint64_t *durations,
    ngx_uint_t n, uint64_t now, ngx_log_t *log);

/*
 * Whether acquire_key() would let a call through now, changing nothing:
 * NGX_OK or NGX_DECLINED.
 */
ngx_int_t ngx_http_integrations_circuit_breaker_peek_key(
    ngx_shm_zone_t *shm_zone, const integrations_breaker_conf_t *conf,
    ngx_str_t *key, uint64_t now);


extern ngx_module_t  ngx_http_integrations_circuit_breaker_module;

#endif /* NGX_HTTP_INTEGRATIONS_CIRCUIT_BREAKER_H */
