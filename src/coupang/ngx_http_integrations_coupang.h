/*
 * Coupang CEA signing: what other Coupang features use of it.
 *
 * The order sync job (ngx_http_integrations_coupang_orders.c) calls the
 * Wing API itself, through the outbound client, signed with the same
 * credentials as coupang_sign: coupang_access_key and
 * coupang_secret_key_file at the http{} level.
 */

#ifndef NGX_HTTP_INTEGRATIONS_COUPANG_H
#define NGX_HTTP_INTEGRATIONS_COUPANG_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_cea.h"
#include "integrations_activation.h"
#include "integrations_activation_message.h"
#include "integrations_notify_request.h"
#include "integrations_store.h"


/*
 * The http{} level's access key and secret key (NULL when either is not
 * set there); from a postconfiguration handler.  The key lives as long as
 * the configuration.
 */
ngx_int_t ngx_http_integrations_coupang_credentials(ngx_conf_t *cf,
    ngx_str_t *access_key, integrations_cea_key_t **key);


/*
 * For an admin's resend (ngx_http_integrations_activation_admin.c), the
 * order sync's own message path (ngx_http_integrations_coupang_orders.c).
 * reachable: 1 when activation_message names a channel for a contact of
 * this kind (integrations_act_contact_kind_e).  message: the box's buyer
 * message as the sync prepares it (channel, template, AlimTalk with SMS
 * fallback or email), with links[i].url holding the unit's new token (a
 * link is made of it here) and an idempotency key of its own; outbox
 * items in pool for ACT_QUEUE.  NGX_OK, NGX_DECLINED (no channel, or it
 * refused the message: *problem), NGX_ERROR.
 */
int ngx_http_integrations_coupang_reachable(ngx_http_request_t *r,
    int kind);
ngx_int_t ngx_http_integrations_coupang_message(ngx_http_request_t *r,
    ngx_pool_t *pool, ngx_str_t *box, const integrations_act_contact_t *c,
    integrations_act_msg_link_t *links, size_t n, int64_t expires_ms,
    integrations_store_outbox_item_t **items, size_t *nitems,
    integrations_notify_problem_t *problem);


extern ngx_module_t  ngx_http_integrations_coupang_module;

#endif /* NGX_HTTP_INTEGRATIONS_COUPANG_H */
