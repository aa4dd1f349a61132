/*
 * The outbound HTTP client: libcurl's multi interface driven by nginx's
 * event loop.  One CURLM per worker; curl's sockets are watched through
 * nginx connections and its timeouts through one nginx timer, so a call
 * never blocks the worker and thousands may be in flight at once.
 *
 * A call is described by an ngx_http_integrations_outbound_req_t the
 * caller allocates (ngx_pcalloc) from a pool that outlives the call and
 * fills; done() runs once, from the event loop, unless the call was
 * cancelled.
 *
 * From a content handler: set req->request; the handler keeps the
 * request alive (r->main->count++ or a read request body) and finalizes
 * it in done().  A client that goes away destroys the request pool, and
 * a cleanup on that pool cancels the call: done() is not called then.
 *
 * From a timer, with no request: leave req->request NULL and give a pool
 * and a log; the caller destroys the pool after done().
 */

#ifndef NGX_HTTP_INTEGRATIONS_OUTBOUND_H
#define NGX_HTTP_INTEGRATIONS_OUTBOUND_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_INTEGRATIONS_OUTBOUND_MAX_RESPONSE  (1024 * 1024)


typedef struct ngx_http_integrations_outbound_req_s
    ngx_http_integrations_outbound_req_t;

typedef struct ngx_http_integrations_outbound_limits_s
    ngx_http_integrations_outbound_limits_t;

typedef void (*ngx_http_integrations_outbound_done_pt)(
    ngx_http_integrations_outbound_req_t *req);


typedef enum {
    NGX_HTTP_INTEGRATIONS_OUTBOUND_OK = 0,     /* a response, any status */
    NGX_HTTP_INTEGRATIONS_OUTBOUND_CONNECT,    /* resolve/connect/TLS failed */
    NGX_HTTP_INTEGRATIONS_OUTBOUND_TIMEOUT,    /* connect or total timeout */
    NGX_HTTP_INTEGRATIONS_OUTBOUND_TOO_LARGE,  /* response over max_response */
    NGX_HTTP_INTEGRATIONS_OUTBOUND_ERROR,      /* anything else */
    NGX_HTTP_INTEGRATIONS_OUTBOUND_REFUSED     /* admit() refused it after
                                                  waiting: req->refused */
} ngx_http_integrations_outbound_error_e;


struct ngx_http_integrations_outbound_req_s {
    /* what to send */
    ngx_str_t                                 provider;  /* for logs, hooks */
    ngx_str_t                                 method;
    ngx_str_t                                 url;
    ngx_array_t                              *headers;   /* ngx_str_t lines,
                                                            "Name: value" */
    ngx_str_t                                 body;

    /*
     * SMTP mode, when smtp.rcpt is set: url is smtp://host:port (STARTTLS
     * with smtp.starttls, required then) or smtps://host:port (implicit
     * TLS); body is the whole RFC 5322 message, uploaded after DATA as it
     * is (CRLF line ends are the caller's; curl dot-stuffs); username and
     * password, when set, AUTH.  method and headers are not used.  status
     * is then the server's last reply code: 250 once the message is
     * accepted, or the 4xx/5xx reply that refused it (error OK: the
     * server answered).
     */
    struct {
        ngx_str_t                             mail_from;  /* "<a@b>" */
        ngx_str_t                             rcpt;       /* "<c@d>" */
        unsigned                              starttls:1;
    }                                         smtp;
    ngx_str_t                                 username;   /* SMTP AUTH */
    ngx_str_t                                 password;

    /* the caller's own limits; NULL: ngx_http_integrations_outbound_hooks */
    ngx_http_integrations_outbound_limits_t  *limits;

    unsigned                                  url_secret:1;  /* the URL
                                                    holds a secret (a Slack
                                                    webhook's path): logs
                                                    show its scheme and host
                                                    only */
    unsigned                                  once:1;  /* the request
                                                    leaves once at most:
                                                    curl's own resend, when
                                                    a kept-alive connection
                                                    closes unanswered, fails
                                                    the call instead (the
                                                    receiver may not
                                                    deduplicate) */

    ngx_msec_t                                connect_timeout;  /* 0: 5s */
    ngx_msec_t                                timeout;          /* 0: 30s */
    size_t                                    max_response;     /* 0: 1M */

    /* the caller's context */
    ngx_http_request_t                       *request;   /* NULL: no client */
    ngx_pool_t                               *pool;      /* r->pool if NULL */
    ngx_log_t                                *log;       /* r's if NULL */
    ngx_str_t                                 request_id;  /* $request_id
                                                              if empty */
    ngx_http_integrations_outbound_done_pt    done;
    void                                     *data;

    /* the outcome, valid in done() */
    ngx_uint_t                                status;    /* 0: no response */
    ngx_str_t                                 response_headers;  /* raw */
    ngx_str_t                                 response_body;
    ngx_http_integrations_outbound_error_e    error;
    ngx_str_t                                 error_text;  /* curl's */
    ngx_msec_t                                duration;
    unsigned                                  started:1;  /* the connect
                                                    (for SMTP the whole
                                                    handshake) was done and
                                                    the request may have
                                                    left: a failure is
                                                    ambiguous */

    /* the admit hook's state, for record() or release() */
    void                                     *admission;
    void                                     *admission_wait;  /* while
                                                   admit() waits */

    /*
     * A refusal by the limits: NGX_BUSY (over the rate) or NGX_DECLINED
     * (breaker open), given at once by ngx_http_integrations_outbound_call()
     * or, after a wait, to done() as error REFUSED; and its wait in ms.
     */
    ngx_int_t                                 refused;
    ngx_msec_t                                refused_wait;

    /* private */
    void                                     *easy;
    void                                     *slist;
    void                                     *rcpt_slist;
    size_t                                    upload_pos;
    ngx_queue_t                               queue;
    ngx_msec_t                                start;
    u_char                                   *rbuf;
    size_t                                    rlen;
    size_t                                    rsize;
    u_char                                   *hbuf;
    size_t                                    hlen;
    size_t                                    hsize;
    char                                     *errbuf;
    unsigned                                  active:1;
    unsigned                                  admitting:1;
    unsigned                                  left:1;  /* once: the
                                                    request went out */
};


/*
 * Where the rate limiter and the circuit breaker (the "limits" branch)
 * plug in.  Every hook may be NULL.
 *
 * admit() runs before a call is started: NGX_OK lets it go; NGX_BUSY
 * (limited) or NGX_DECLINED (breaker open) refuses it, and
 * ngx_http_integrations_outbound_call() returns that code at once, with
 * *retry_after set, without calling done().  NGX_AGAIN: it waits (a
 * scope=cluster rate limit asks Redis) and calls
 * ngx_http_integrations_outbound_admitted() later; the call then returns
 * NGX_OK, and a refusal comes to done() as error REFUSED with
 * req->refused and req->refused_wait.  The same holds for req->limits
 * (ngx_http_integrations_outbound_limits.h).  release() is called for a call
 * cancelled while admit() waits (it must stop waiting).
 * available() asks, without side effects, whether the provider's breaker
 * would admit a call now: provider selection skips those that would not.
 * record() sees every finished call (req->status, req->error) and feeds
 * the breaker and the metrics.
 * release() sees every admitted call that ends with no outcome: it could
 * not start, was cancelled, its client went away, or the worker exits;
 * a breaker's probe slot must not stay taken by it.  Exactly one of
 * record() and release() follows an admit() that returned NGX_OK.
 * retry_after may be NULL: the caller does not want it.
 */
typedef struct {
    ngx_int_t  (*admit)(ngx_http_integrations_outbound_req_t *req,
                        time_t *retry_after);
    ngx_int_t  (*available)(ngx_str_t *provider, ngx_log_t *log);
    void       (*record)(ngx_http_integrations_outbound_req_t *req);
    void       (*release)(ngx_http_integrations_outbound_req_t *req);
} ngx_http_integrations_outbound_hooks_t;

extern ngx_http_integrations_outbound_hooks_t
    ngx_http_integrations_outbound_hooks;


/*
 * Starts a call.  NGX_OK: done() will be called (or the call cancelled
 * with its request); NGX_BUSY/NGX_DECLINED: refused by admit();
 * NGX_ERROR: could not start (logged), done() will not be called.
 */
ngx_int_t ngx_http_integrations_outbound_call(
    ngx_http_integrations_outbound_req_t *req, time_t *retry_after);

/*
 * admit()'s late answer: NGX_OK starts the call; NGX_BUSY or NGX_DECLINED
 * (with the wait in ms) comes to done() as error REFUSED
 */
void ngx_http_integrations_outbound_admitted(
    ngx_http_integrations_outbound_req_t *req, ngx_int_t rc, ngx_msec_t wait);

/* Cancels a call in flight; done() is not called.  Idempotent. */
void ngx_http_integrations_outbound_cancel(
    ngx_http_integrations_outbound_req_t *req);

/* Appends "name: value" to req->headers, creating the array. */
ngx_int_t ngx_http_integrations_outbound_add_header(
    ngx_http_integrations_outbound_req_t *req, ngx_pool_t *pool,
    const char *name, ngx_str_t *value);

/* The first response header with this name (case-insensitive). */
ngx_int_t ngx_http_integrations_outbound_header(
    ngx_http_integrations_outbound_req_t *req, const char *name,
    ngx_str_t *value);

/* Calls in flight in this worker. */
ngx_uint_t ngx_http_integrations_outbound_running(void);

/*
 * The PEM of integrations_outbound_trusted_certificate (read by the
 * master), empty when the system's roots are used: the PayPal webhook
 * certificate chain is checked against the same roots as provider TLS.
 */
ngx_str_t *ngx_http_integrations_outbound_trusted(void);


extern ngx_module_t  ngx_http_integrations_outbound_module;

#endif /* NGX_HTTP_INTEGRATIONS_OUTBOUND_H */
