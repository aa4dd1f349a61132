/*
 * PayPal webhook certificates: fetched once per URL, checked, cached.
 *
 * A per-worker cache of the certificates named by PAYPAL-CERT-URL.  A
 * miss starts one fetch (through the outbound client, on the event loop)
 * that every request needing the same URL waits on; the certificate is
 * checked (chain against the outbound trusted certificates or the
 * system's roots, validity, a name under paypal.com) as it arrives and
 * kept until it expires, a day at most.  A certificate that does not
 * check is remembered as such for a minute, so that forged deliveries
 * naming PayPal URLs do not turn into a stream of fetches; a fetch that
 * failed is not remembered: the next delivery tries again.
 */

#ifndef NGX_HTTP_INTEGRATIONS_PAYPAL_CERT_H
#define NGX_HTTP_INTEGRATIONS_PAYPAL_CERT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_paypal_webhook.h"


typedef struct ngx_http_integrations_paypal_waiter_s
    ngx_http_integrations_paypal_waiter_t;

typedef void (*ngx_http_integrations_paypal_ready_pt)(
    ngx_http_integrations_paypal_waiter_t *w);


struct ngx_http_integrations_paypal_waiter_s {
    ngx_http_request_t                     *request;
    ngx_http_integrations_paypal_ready_pt   ready;
    void                                   *data;

    /* the outcome, as cert_get() returns it */
    ngx_int_t                               rc;
    integrations_paypal_cert_t             *cert;     /* NGX_OK: valid in
                                                         ready() only */
    const char                             *err;      /* static text */
    time_t                                  retry_after;

    /* private */
    ngx_queue_t                             queue;
    unsigned                                waiting:1;
};


/*
 * The certificate of url (which passed integrations_paypal_cert_url_ok()),
 * fetched from "connect", the same URL with its host replaced (tests), if
 * not empty.
 *
 * NGX_OK: w->cert, valid until the caller returns to the event loop;
 * NGX_DECLINED: the certificate does not check, w->err says why;
 * NGX_ERROR: it could not be fetched now, w->err, w->retry_after;
 * NGX_AGAIN: w waits: w->ready(w) runs later from the event loop with
 * w->rc one of the above, unless ngx_http_integrations_paypal_cert_cancel()
 * was called first.
 */
ngx_int_t ngx_http_integrations_paypal_cert_get(ngx_str_t *url,
    ngx_str_t *connect, ngx_http_integrations_paypal_waiter_t *w);

/* A waiter that goes away (its request's pool cleanup).  Idempotent. */
void ngx_http_integrations_paypal_cert_cancel(
    ngx_http_integrations_paypal_waiter_t *w);

/* Frees the worker's cache (exit_process). */
void ngx_http_integrations_paypal_cert_exit(void);

#endif /* NGX_HTTP_INTEGRATIONS_PAYPAL_CERT_H */
