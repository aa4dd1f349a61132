/*
 * PayPal webhook certificates: see ngx_http_integrations_paypal_cert.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ngx_http_integrations_outbound.h"
#include "ngx_http_integrations_paypal_cert.h"


#define NGX_HTTP_INTEGRATIONS_PAYPAL_ENTRIES      16
#define NGX_HTTP_INTEGRATIONS_PAYPAL_MAX_AGE      86400   /* seconds */
#define NGX_HTTP_INTEGRATIONS_PAYPAL_BAD_AGE      60
#define NGX_HTTP_INTEGRATIONS_PAYPAL_RETRY_AFTER  10
#define NGX_HTTP_INTEGRATIONS_PAYPAL_MAX_CERT     65536


typedef struct {
    ngx_queue_t                            queue;     /* the cache, the most
                                                         recently used first */
    ngx_str_t                              url;
    integrations_paypal_cert_t            *cert;
    const char                            *err;       /* did not check */
    time_t                                 expires;
    ngx_http_integrations_outbound_req_t  *fetch;     /* in flight */
    ngx_pool_t                            *pool;      /* the fetch's */
    ngx_queue_t                            waiters;
    ngx_uint_t                             busy;      /* waiters resuming */
} ngx_http_integrations_paypal_entry_t;


static ngx_int_t ngx_http_integrations_paypal_fetch(
    ngx_http_integrations_paypal_entry_t *e, ngx_str_t *url,
    ngx_http_integrations_paypal_waiter_t *w);
static void ngx_http_integrations_paypal_fetched(
    ngx_http_integrations_outbound_req_t *req);
static ngx_int_t ngx_http_integrations_paypal_load(
    ngx_http_integrations_paypal_entry_t *e, ngx_str_t *pem);
static X509_STORE *ngx_http_integrations_paypal_roots(void);
static void ngx_http_integrations_paypal_evict(void);
static void ngx_http_integrations_paypal_free(
    ngx_http_integrations_paypal_entry_t *e);


static ngx_queue_t   ngx_http_integrations_paypal_cache;
static ngx_uint_t    ngx_http_integrations_paypal_entries;
static ngx_uint_t    ngx_http_integrations_paypal_inited;
static X509_STORE   *ngx_http_integrations_paypal_store;


ngx_int_t
ngx_http_integrations_paypal_cert_get(ngx_str_t *url, ngx_str_t *connect,
    ngx_http_integrations_paypal_waiter_t *w)
{
    time_t                                 now;
    ngx_queue_t                           *q;
    ngx_http_integrations_paypal_entry_t  *e;

    if (!ngx_http_integrations_paypal_inited) {
        ngx_queue_init(&ngx_http_integrations_paypal_cache);
        ngx_http_integrations_paypal_inited = 1;
    }

    now = ngx_time();

    for (q = ngx_queue_head(&ngx_http_integrations_paypal_cache);
         q != ngx_queue_sentinel(&ngx_http_integrations_paypal_cache);
         q = ngx_queue_next(q))
    {
        e = ngx_queue_data(q, ngx_http_integrations_paypal_entry_t, queue);

        if (e->url.len != url->len
            || ngx_strncmp(e->url.data, url->data, url->len) != 0)
        {
            continue;
        }

        if (e->fetch) {
            ngx_queue_insert_tail(&e->waiters, &w->queue);
            w->waiting = 1;
            return NGX_AGAIN;
        }

        if (e->expires <= now && e->busy == 0) {
            ngx_queue_remove(&e->queue);
            ngx_http_integrations_paypal_entries--;
            ngx_http_integrations_paypal_free(e);
            break;
        }

        ngx_queue_remove(&e->queue);
        ngx_queue_insert_head(&ngx_http_integrations_paypal_cache, &e->queue);

        if (e->cert) {
            w->cert = e->cert;
            return NGX_OK;
        }

        w->err = e->err;
        return NGX_DECLINED;
    }

    ngx_http_integrations_paypal_evict();

    e = ngx_calloc(sizeof(ngx_http_integrations_paypal_entry_t),
                   ngx_cycle->log);
    if (e == NULL) {
        goto failed;
    }

    e->url.data = ngx_alloc(url->len, ngx_cycle->log);
    if (e->url.data == NULL) {
        ngx_free(e);
        goto failed;
    }

    ngx_memcpy(e->url.data, url->data, url->len);
    e->url.len = url->len;
    ngx_queue_init(&e->waiters);

    if (ngx_http_integrations_paypal_fetch(e, connect->len ? connect : url, w)
        != NGX_OK)
    {
        ngx_http_integrations_paypal_free(e);
        return NGX_ERROR;
    }

    ngx_queue_insert_head(&ngx_http_integrations_paypal_cache, &e->queue);
    ngx_http_integrations_paypal_entries++;

    ngx_queue_insert_tail(&e->waiters, &w->queue);
    w->waiting = 1;

    return NGX_AGAIN;

failed:

    w->err = "out of memory";
    w->retry_after = NGX_HTTP_INTEGRATIONS_PAYPAL_RETRY_AFTER;

    return NGX_ERROR;
}


void
ngx_http_integrations_paypal_cert_cancel(
    ngx_http_integrations_paypal_waiter_t *w)
{
    if (w->waiting) {
        ngx_queue_remove(&w->queue);
        w->waiting = 0;
    }
}


void
ngx_http_integrations_paypal_cert_exit(void)
{
    ngx_queue_t                            *q, *wq;
    ngx_http_integrations_paypal_entry_t   *e;
    ngx_http_integrations_paypal_waiter_t  *w;

    if (ngx_http_integrations_paypal_inited) {

        while (!ngx_queue_empty(&ngx_http_integrations_paypal_cache)) {
            q = ngx_queue_head(&ngx_http_integrations_paypal_cache);
            e = ngx_queue_data(q, ngx_http_integrations_paypal_entry_t,
                               queue);
            ngx_queue_remove(q);

            /* the waiters' requests are closed by nginx after this */

            while (!ngx_queue_empty(&e->waiters)) {
                wq = ngx_queue_head(&e->waiters);
                w = ngx_queue_data(wq, ngx_http_integrations_paypal_waiter_t,
                                   queue);
                ngx_queue_remove(wq);
                w->waiting = 0;
            }

            ngx_http_integrations_paypal_free(e);
        }

        ngx_http_integrations_paypal_entries = 0;
    }

    if (ngx_http_integrations_paypal_store) {
        X509_STORE_free(ngx_http_integrations_paypal_store);
        ngx_http_integrations_paypal_store = NULL;
    }
}


/*
 * The fetch belongs to no request: the first delivery to need the
 * certificate may go away while the others still wait for it.
 */

static ngx_int_t
ngx_http_integrations_paypal_fetch(ngx_http_integrations_paypal_entry_t *e,
    ngx_str_t *url, ngx_http_integrations_paypal_waiter_t *w)
{
    time_t                                 retry_after;
    ngx_int_t                              rc;
    ngx_pool_t                            *pool;
    ngx_http_integrations_outbound_req_t  *req;

    w->err = "the certificate could not be fetched";
    w->retry_after = NGX_HTTP_INTEGRATIONS_PAYPAL_RETRY_AFTER;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    req = ngx_pcalloc(pool, sizeof(ngx_http_integrations_outbound_req_t));
    if (req == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ngx_str_set(&req->provider, "paypal_webhook_cert");
    ngx_str_set(&req->method, "GET");
    req->url = *url;
    req->connect_timeout = 5000;
    req->timeout = 10000;
    req->max_response = NGX_HTTP_INTEGRATIONS_PAYPAL_MAX_CERT;
    req->pool = pool;
    req->log = ngx_cycle->log;
    req->done = ngx_http_integrations_paypal_fetched;
    req->data = e;

    retry_after = 0;

    rc = ngx_http_integrations_outbound_call(req, &retry_after);

    if (rc != NGX_OK) {
        if ((rc == NGX_BUSY || rc == NGX_DECLINED) && retry_after > 0) {
            w->retry_after = retry_after;
        }

        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    e->fetch = req;
    e->pool = pool;

    return NGX_OK;
}


static void
ngx_http_integrations_paypal_fetched(ngx_http_integrations_outbound_req_t *req)
{
    ngx_int_t                               rc;
    ngx_queue_t                             waiters, *q;
    ngx_http_integrations_paypal_entry_t   *e;
    ngx_http_integrations_paypal_waiter_t  *w;

    e = req->data;
    e->fetch = NULL;

    if (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_OK
        && req->status == 200)
    {
        rc = ngx_http_integrations_paypal_load(e, &req->response_body);

    } else {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "webhook_verify: paypal certificate \"%V\" could not "
                      "be fetched: status %ui %V", &e->url, req->status,
                      &req->error_text);

        /* not remembered: the next delivery fetches again */

        ngx_queue_remove(&e->queue);
        ngx_http_integrations_paypal_entries--;

        rc = NGX_ERROR;
    }

    ngx_destroy_pool(e->pool);
    e->pool = NULL;

    /*
     * Each waiter resumes its request, which may run other requests that
     * look certificates up: the entry is busy (kept) until all are done.
     */

    ngx_queue_init(&waiters);

    if (!ngx_queue_empty(&e->waiters)) {
        waiters = e->waiters;
        waiters.next->prev = &waiters;
        waiters.prev->next = &waiters;
        ngx_queue_init(&e->waiters);
    }

    e->busy++;

    while (!ngx_queue_empty(&waiters)) {
        q = ngx_queue_head(&waiters);
        w = ngx_queue_data(q, ngx_http_integrations_paypal_waiter_t, queue);
        ngx_queue_remove(q);
        w->waiting = 0;

        w->rc = rc;
        w->cert = e->cert;
        w->err = (rc == NGX_ERROR) ? "the certificate could not be fetched"
                                   : e->err;
        w->retry_after = NGX_HTTP_INTEGRATIONS_PAYPAL_RETRY_AFTER;

        w->ready(w);
    }

    e->busy--;

    if (rc == NGX_ERROR) {
        ngx_http_integrations_paypal_free(e);
    }
}


static ngx_int_t
ngx_http_integrations_paypal_load(ngx_http_integrations_paypal_entry_t *e,
    ngx_str_t *pem)
{
    time_t       now, expires;
    X509_STORE  *roots;

    now = ngx_time();

    e->err = "no trusted roots";

    roots = ngx_http_integrations_paypal_roots();

    /*
     * PayPal's certificate is issued to messageverificationcerts.paypal.com
     * (and the sandbox's to a name under paypal.com too): a leading dot
     * makes X509_check_host() accept any name under paypal.com.
     */

    if (roots) {
        e->cert = integrations_paypal_cert_load((const char *) pem->data,
                                                pem->len, roots,
                                                ".paypal.com", now, &e->err);
    }

    if (e->cert == NULL) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "webhook_verify: paypal certificate \"%V\" refused: %s",
                      &e->url, e->err);

        e->expires = now + NGX_HTTP_INTEGRATIONS_PAYPAL_BAD_AGE;
        return NGX_DECLINED;
    }

    expires = integrations_paypal_cert_expires(e->cert);

    e->expires = ngx_min(expires, now + NGX_HTTP_INTEGRATIONS_PAYPAL_MAX_AGE);
    e->err = NULL;

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "webhook_verify: paypal certificate \"%V\" cached",
                  &e->url);

    return NGX_OK;
}


/*
 * The roots of integrations_outbound_trusted_certificate, as curl trusts
 * them for provider TLS, or the system's: built once per worker.
 */

static X509_STORE *
ngx_http_integrations_paypal_roots(void)
{
    int                   n;
    BIO                  *bio;
    X509_STORE           *store;
    ngx_str_t            *pem;
    X509_INFO            *xi;
    STACK_OF(X509_INFO)  *infos;

    if (ngx_http_integrations_paypal_store) {
        return ngx_http_integrations_paypal_store;
    }

    store = X509_STORE_new();
    if (store == NULL) {
        return NULL;
    }

    pem = ngx_http_integrations_outbound_trusted();

    if (pem->len == 0) {
        if (X509_STORE_set_default_paths(store) != 1) {
            X509_STORE_free(store);
            return NULL;
        }

        ngx_http_integrations_paypal_store = store;
        return store;
    }

    bio = BIO_new_mem_buf(pem->data, (int) pem->len);
    if (bio == NULL) {
        X509_STORE_free(store);
        return NULL;
    }

    infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    BIO_free(bio);

    n = 0;

    while (infos && sk_X509_INFO_num(infos) > 0) {
        xi = sk_X509_INFO_shift(infos);

        if (xi->x509 && X509_STORE_add_cert(store, xi->x509) == 1) {
            n++;
        }

        X509_INFO_free(xi);
    }

    sk_X509_INFO_free(infos);

    if (n == 0) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "webhook_verify: no certificate in "
                      "\"integrations_outbound_trusted_certificate\"");
        X509_STORE_free(store);
        return NULL;
    }

    ngx_http_integrations_paypal_store = store;

    return store;
}


/* the least recently used entry no request waits on goes */

static void
ngx_http_integrations_paypal_evict(void)
{
    ngx_queue_t                           *q;
    ngx_http_integrations_paypal_entry_t  *e;

    if (ngx_http_integrations_paypal_entries
        < NGX_HTTP_INTEGRATIONS_PAYPAL_ENTRIES)
    {
        return;
    }

    for (q = ngx_queue_last(&ngx_http_integrations_paypal_cache);
         q != ngx_queue_sentinel(&ngx_http_integrations_paypal_cache);
         q = ngx_queue_prev(q))
    {
        e = ngx_queue_data(q, ngx_http_integrations_paypal_entry_t, queue);

        if (e->fetch == NULL && e->busy == 0) {
            ngx_queue_remove(q);
            ngx_http_integrations_paypal_entries--;
            ngx_http_integrations_paypal_free(e);
            return;
        }
    }
}


static void
ngx_http_integrations_paypal_free(ngx_http_integrations_paypal_entry_t *e)
{
    if (e->fetch) {
        ngx_http_integrations_outbound_cancel(e->fetch);
        e->fetch = NULL;
    }

    if (e->pool) {
        ngx_destroy_pool(e->pool);
    }

    integrations_paypal_cert_free(e->cert);
    ngx_free(e->url.data);
    ngx_free(e);
}
