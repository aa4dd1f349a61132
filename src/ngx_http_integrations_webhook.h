/*
 * Inbound webhook verification (webhook_verify): the counters it keeps,
 * for the metrics endpoint.
 */

#ifndef NGX_HTTP_INTEGRATIONS_WEBHOOK_H
#define NGX_HTTP_INTEGRATIONS_WEBHOOK_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "integrations_webhook.h"


/*
 * Per provider, since the zone was created (they survive reloads, not
 * restarts).  failed[] is indexed by integrations_webhook_rc_e, named by
 * integrations_webhook_reason_str(); failed[INTEGRATIONS_WEBHOOK_OK] is
 * always 0.  unsigned_ counts unsigned Toss deliveries let through by
 * unsigned=allow (refused ones count in failed[UNSIGNED]); replayed the
 * copies answered 200 from the dedupe zone, in_flight the copies answered
 * 409 while the first was in flight.
 */
typedef struct {
    uint64_t  verified;
    uint64_t  unsigned_;
    uint64_t  replayed;
    uint64_t  in_flight;
    uint64_t  failed[INTEGRATIONS_WEBHOOK_RC_MAX];
} ngx_http_integrations_webhook_counters_t;


/*
 * Copies the counters of every provider into out[], indexed by
 * integrations_webhook_provider_e (names:
 * integrations_webhook_provider_name()).  Each value is read atomically,
 * the set is not a transaction.  Returns NGX_OK, or NGX_DECLINED (out
 * zeroed) when the configuration has no webhook_verify.  Any worker may
 * call it at any time after the cycle is initialized.
 */
ngx_int_t ngx_http_integrations_webhook_counters(ngx_cycle_t *cycle,
    ngx_http_integrations_webhook_counters_t
        out[INTEGRATIONS_WEBHOOK_PROVIDER_MAX]);


extern ngx_module_t  ngx_http_integrations_webhook_module;

#endif /* NGX_HTTP_INTEGRATIONS_WEBHOOK_H */
