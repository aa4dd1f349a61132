/*
 * The outbound HTTP client: see ngx_http_integrations_outbound.h.
 *
 *     integrations_outbound_bind                 192.0.2.10;
 *     integrations_outbound_trusted_certificate  /etc/ssl/private-ca.pem;
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to wake it up (CURLMOPT_TIMERFUNCTION); we watch each socket through an
 * nginx connection taken with ngx_get_connection() and the deadline with
 * one timer per worker, and hand every event back to
 * curl_multi_socket_action().
 *
 * Events are level-triggered (NGX_LEVEL_EVENT): curl reads at most a
 * buffer per call and would never see the rest of a socket under epoll's
 * default edge triggering.
 *
 * Who owns a descriptor.  curl decides when a socket opens and closes;
 * this file does both (CURLOPT_OPENSOCKETFUNCTION, _CLOSESOCKETFUNCTION),
 * so each descriptor curl connects with passes through here at both ends,
 * and only the close callback closes one.  While curl watches a
 * descriptor (from its first CURLMOPT_SOCKETFUNCTION call to
 * CURL_POLL_REMOVE) an nginx connection, kept in the worker's table by
 * descriptor, holds its epoll registration; it is freed, never closed, on
 * CURL_POLL_REMOVE.  A descriptor in curl's connection cache is open and
 * has no nginx connection.
 *
 * nginx needs the registration deleted while the descriptor is open:
 * epoll_ctl() on a closed one fails with EBADF (an alert), on a reused
 * one it hits another file.  curl's own order is that one (CURL_POLL_REMOVE,
 * then the close callback), except that libcurl 7.88 to 8.1 closes a
 * socket whose connect has not completed with a bare close(): neither
 * through the close callback nor after CURL_POLL_REMOVE, which follows
 * later in the same curl call (curl/curl#11439, fixed in 8.2.0).  The
 * kernel drops the registration with the socket, so each watched
 * descriptor records the socket it registered (fstat(): st_dev, st_ino);
 * a descriptor that no longer is that socket had its registration
 * dropped, and it is forgotten without a system call.  By case:
 *
 *   call finished: curl_multi_remove_handle() tells CURL_POLL_REMOVE for
 *     its sockets (deleted, freed); the socket stays open in curl's cache;
 *   reused from curl's cache: watched anew, with a new nginx connection;
 *   cancelled (the client went away: the request pool's cleanup; or the
 *     caller cancelled) or timed out by curl: a connected socket is told
 *     CURL_POLL_REMOVE, then closed through the callback, or kept in the
 *     cache; a connecting one is closed first by old libcurl, then told
 *     CURL_POLL_REMOVE: forgotten, freed;
 *   happy eyeballs: curl may connect two sockets at once, two nginx
 *     connections; the loser is closed while connecting: as above;
 *   the next address of a host, after a connect closed unannounced: curl
 *     may get the same number again before it tells CURL_POLL_REMOVE, and
 *     believes the old registration still there; the open callback
 *     forgets it and registers the new socket for the same events;
 *   worker exit or reload: a graceful exit waits for the calls in flight;
 *     on a fast one they are removed as if cancelled, then
 *     curl_multi_cleanup() closes the cache through the close callback.
 *
 * An unannounced close and its CURL_POLL_REMOVE happen within one curl
 * call, so no nginx code takes the number in between; a resolver thread
 * may, and the check holds whatever the number went to: a descriptor that
 * is not the registered socket never reaches epoll_ctl().
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <curl/curl.h>

#include "ngx_http_integrations_outbound.h"
#include "ngx_http_integrations_outbound_limits.h"


typedef struct {
    ngx_str_t                  bind;
    ngx_str_t                  trusted_certificate;
    ngx_str_t                  trusted;     /* the file's PEM */
    ngx_int_t                  request_id_index;
    long                       ipresolve;
} ngx_http_integrations_outbound_main_conf_t;


/* a descriptor curl watches, and the socket its registration is for */

typedef struct {
    ngx_connection_t                            *connection;
    dev_t                                        dev;
    ino_t                                        ino;
} ngx_http_integrations_outbound_sock_t;


/* one per worker */

typedef struct {
    CURLM                                       *multi;
    ngx_event_t                                  timer;
    ngx_queue_t                                  calls;
    ngx_uint_t                                   running;
    ngx_http_integrations_outbound_sock_t       *socks;   /* by descriptor */
    ngx_uint_t                                   nsocks;
    ngx_log_t                                   *log;
    ngx_http_integrations_outbound_main_conf_t  *conf;
} ngx_http_integrations_outbound_worker_t;


static ngx_int_t ngx_http_integrations_outbound_start(
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_integrations_outbound_unadmit(
    ngx_http_integrations_outbound_req_t *req);
static CURLM *ngx_http_integrations_outbound_multi(void);
static curl_socket_t ngx_http_integrations_outbound_open_socket(void *data,
    curlsocktype purpose, struct curl_sockaddr *addr);
static int ngx_http_integrations_outbound_close_socket(void *data,
    curl_socket_t s);
static int ngx_http_integrations_outbound_socket(CURL *easy, curl_socket_t s,
    int what, void *userp, void *socketp);
static ngx_http_integrations_outbound_sock_t *
    ngx_http_integrations_outbound_sock(curl_socket_t s, ngx_log_t *log);
static ngx_int_t ngx_http_integrations_outbound_watch(curl_socket_t s,
    int what, ngx_log_t *log);
static ngx_int_t ngx_http_integrations_outbound_registered(
    ngx_http_integrations_outbound_sock_t *sk);
static void ngx_http_integrations_outbound_identify(
    ngx_http_integrations_outbound_sock_t *sk);
static int ngx_http_integrations_outbound_timer(CURLM *multi, long timeout_ms,
    void *userp);
static void ngx_http_integrations_outbound_event(ngx_event_t *ev);
static void ngx_http_integrations_outbound_timeout(ngx_event_t *ev);
static void ngx_http_integrations_outbound_action(curl_socket_t s, int mask);
static void ngx_http_integrations_outbound_unwatch(
    ngx_http_integrations_outbound_sock_t *sk);
static void ngx_http_integrations_outbound_finish(
    ngx_http_integrations_outbound_req_t *req, CURLcode code);
static void ngx_http_integrations_outbound_release(
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_integrations_outbound_log(
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_integrations_outbound_cleanup(void *data);
static ngx_int_t ngx_http_integrations_outbound_wait(
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_integrations_outbound_wait_cleanup(void *data);
static size_t ngx_http_integrations_outbound_write(char *ptr, size_t size,
    size_t nmemb, void *userdata);
static size_t ngx_http_integrations_outbound_read(char *ptr, size_t size,
    size_t nmemb, void *userdata);
static ngx_int_t ngx_http_integrations_outbound_smtp(
    ngx_http_integrations_outbound_req_t *req, CURL *easy);
static size_t ngx_http_integrations_outbound_header_line(char *ptr,
    size_t size, size_t nmemb, void *userdata);
static int ngx_http_integrations_outbound_prereq(void *userdata,
    char *primary_ip, char *local_ip, int primary_port, int local_port);
static ngx_int_t ngx_http_integrations_outbound_append(u_char **buf,
    size_t *len, size_t *size, char *data, size_t n, size_t max);
static ngx_int_t ngx_http_integrations_outbound_read_pem(ngx_conf_t *cf,
    ngx_http_integrations_outbound_main_conf_t *omcf);
static ngx_int_t ngx_http_integrations_outbound_postconf(ngx_conf_t *cf);
static void *ngx_http_integrations_outbound_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_integrations_outbound_init_main_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_http_integrations_outbound_init_process(
    ngx_cycle_t *cycle);
static void ngx_http_integrations_outbound_exit_process(ngx_cycle_t *cycle);


ngx_http_integrations_outbound_hooks_t  ngx_http_integrations_outbound_hooks;

static ngx_http_integrations_outbound_worker_t  ngx_http_integrations_worker;


static ngx_command_t  ngx_http_integrations_outbound_commands[] = {

    { ngx_string("integrations_outbound_bind"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_integrations_outbound_main_conf_t, bind),
      NULL },

    { ngx_string("integrations_outbound_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_integrations_outbound_main_conf_t,
               trusted_certificate),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_outbound_module_ctx = {
    NULL,                                          /* preconfiguration */
    ngx_http_integrations_outbound_postconf,       /* postconfiguration */

    ngx_http_integrations_outbound_create_main_conf, /* create main conf */
    ngx_http_integrations_outbound_init_main_conf, /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    NULL,                                          /* create location conf */
    NULL                                           /* merge location conf */
};


ngx_module_t  ngx_http_integrations_outbound_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_outbound_module_ctx,    /* module context */
    ngx_http_integrations_outbound_commands,       /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    NULL,                                          /* init module */
    ngx_http_integrations_outbound_init_process,   /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    ngx_http_integrations_outbound_exit_process,   /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_int_t
ngx_http_integrations_outbound_call(ngx_http_integrations_outbound_req_t *req,
    time_t *retry_after)
{
    ngx_int_t  rc;

    if (req->pool == NULL) {
        req->pool = req->request->pool;
    }

    if (req->log == NULL) {
        req->log = req->request ? req->request->connection->log
                                : ngx_cycle->log;
    }

    /* the limiter and the breaker of req->provider decide first */

    if (req->limits) {
        uint64_t  wait;

        rc = ngx_http_integrations_outbound_limits_admit(req->limits, req,
                                                         &wait);
        if (rc == NGX_AGAIN) {
            return ngx_http_integrations_outbound_wait(req);
        }

        if (rc != NGX_OK) {
            req->refused = rc;
            req->refused_wait = (ngx_msec_t) wait;

            if (retry_after) {
                *retry_after = (time_t) ((wait + 999) / 1000);
            }

            return rc;
        }

    } else if (ngx_http_integrations_outbound_hooks.admit) {
        rc = ngx_http_integrations_outbound_hooks.admit(req, retry_after);

        if (rc == NGX_AGAIN) {
            return ngx_http_integrations_outbound_wait(req);
        }

        if (rc != NGX_OK) {
            return rc;
        }
    }

    rc = ngx_http_integrations_outbound_start(req);

    if (rc != NGX_OK) {
        ngx_http_integrations_outbound_unadmit(req);
    }

    return rc;
}


/*
 * admit() waits: the call is started, or refused, when it answers; a
 * client that goes meanwhile makes the pool cleanup stop the wait.
 */

static ngx_int_t
ngx_http_integrations_outbound_wait(ngx_http_integrations_outbound_req_t *req)
{
    ngx_pool_cleanup_t  *cln;

    req->admitting = 1;

    if (req->request) {
        cln = ngx_pool_cleanup_add(req->request->pool, 0);
        if (cln == NULL) {
            ngx_http_integrations_outbound_cancel(req);
            return NGX_ERROR;
        }

        cln->handler = ngx_http_integrations_outbound_wait_cleanup;
        cln->data = req;
    }

    return NGX_OK;
}


static void
ngx_http_integrations_outbound_wait_cleanup(void *data)
{
    ngx_http_integrations_outbound_req_t  *req = data;

    if (req->admitting) {
        req->admitting = 0;
        ngx_http_integrations_outbound_unadmit(req);
    }
}


void
ngx_http_integrations_outbound_admitted(
    ngx_http_integrations_outbound_req_t *req, ngx_int_t rc, ngx_msec_t wait)
{
    if (!req->admitting) {
        return;
    }

    req->admitting = 0;

    if (rc == NGX_OK) {
        rc = ngx_http_integrations_outbound_start(req);

        if (rc == NGX_OK) {
            return;
        }

        ngx_http_integrations_outbound_unadmit(req);

        req->error = NGX_HTTP_INTEGRATIONS_OUTBOUND_ERROR;
        ngx_str_set(&req->error_text, "the call could not be started");

    } else {
        req->error = NGX_HTTP_INTEGRATIONS_OUTBOUND_REFUSED;
        req->refused = rc;
        req->refused_wait = wait;
        ngx_str_set(&req->error_text, "refused by its limits");
    }

    req->status = 0;
    req->done(req);
}


static ngx_int_t
ngx_http_integrations_outbound_start(
    ngx_http_integrations_outbound_req_t *req)
{
    u_char                                      *p, *method;
    CURL                                        *easy;
    CURLM                                       *multi;
    ngx_str_t                                   *line, id;
    ngx_uint_t                                   i;
    ngx_pool_cleanup_t                          *cln;
    struct curl_blob                             blob;
    struct curl_slist                           *sl, *next;
    ngx_http_variable_value_t                   *vv;
    ngx_http_integrations_outbound_main_conf_t  *omcf;

    multi = ngx_http_integrations_outbound_multi();
    if (multi == NULL) {
        return NGX_ERROR;
    }

    omcf = ngx_http_integrations_worker.conf;

    if (req->request_id.len == 0 && req->request
        && omcf->request_id_index != NGX_ERROR)
    {
        vv = ngx_http_get_indexed_variable(req->request,
                                           omcf->request_id_index);
        if (vv && !vv->not_found) {
            req->request_id.data = vv->data;
            req->request_id.len = vv->len;
        }
    }

    req->errbuf = ngx_pcalloc(req->pool, CURL_ERROR_SIZE);
    if (req->errbuf == NULL) {
        return NGX_ERROR;
    }

    /* curl wants NUL-terminated strings */

    p = ngx_pnalloc(req->pool, req->url.len + 1 + req->method.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, req->url.data, req->url.len);
    p[req->url.len] = '\0';
    req->url.data = p;

    method = p + req->url.len + 1;
    ngx_memcpy(method, req->method.data, req->method.len);
    method[req->method.len] = '\0';

    easy = curl_easy_init();
    if (easy == NULL) {
        ngx_log_error(NGX_LOG_ERR, req->log, 0,
                      "outbound: curl_easy_init() failed");
        return NGX_ERROR;
    }

    sl = NULL;

    /*
     * "Expect:" keeps curl from waiting for "100 Continue" on larger
     * bodies; the request id ties our log lines to the provider's.
     */

    next = curl_slist_append(sl, "Expect:");
    if (next == NULL) {
        goto failed;
    }
    sl = next;

    if (req->request_id.len) {
        id.len = sizeof("X-Request-Id: ") - 1 + req->request_id.len;
        id.data = ngx_pnalloc(req->pool, id.len + 1);
        if (id.data == NULL) {
            goto failed;
        }

        ngx_sprintf(id.data, "X-Request-Id: %V%Z", &req->request_id);

        next = curl_slist_append(sl, (char *) id.data);
        if (next == NULL) {
            goto failed;
        }
        sl = next;
    }

    if (req->headers) {
        line = req->headers->elts;

        for (i = 0; i < req->headers->nelts; i++) {
            p = ngx_pnalloc(req->pool, line[i].len + 1);
            if (p == NULL) {
                goto failed;
            }

            ngx_memcpy(p, line[i].data, line[i].len);
            p[line[i].len] = '\0';

            next = curl_slist_append(sl, (char *) p);
            if (next == NULL) {
                goto failed;
            }
            sl = next;
        }
    }

    req->easy = easy;
    req->slist = sl;

    curl_easy_setopt(easy, CURLOPT_URL, req->url.data);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->errbuf);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, sl);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "ngx_integrations_module");
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) (req->connect_timeout ? req->connect_timeout
                                                  : 5000));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     (long) (req->timeout ? req->timeout : 30000));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION,
                     ngx_http_integrations_outbound_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION,
                     ngx_http_integrations_outbound_header_line);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, req);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION,
                     ngx_http_integrations_outbound_open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, req);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION,
                     ngx_http_integrations_outbound_close_socket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, NULL);

    req->left = 0;

    if (req->once) {
        curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION,
                         ngx_http_integrations_outbound_prereq);
        curl_easy_setopt(easy, CURLOPT_PREREQDATA, req);
    }

    if (omcf->bind.len) {
        curl_easy_setopt(easy, CURLOPT_INTERFACE, omcf->bind.data);
        curl_easy_setopt(easy, CURLOPT_IPRESOLVE, omcf->ipresolve);
    }

    if (omcf->trusted.len) {
        blob.data = omcf->trusted.data;
        blob.len = omcf->trusted.len;
        blob.flags = CURL_BLOB_NOCOPY;

        curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
    }

    if (req->smtp.rcpt.len) {
        if (ngx_http_integrations_outbound_smtp(req, easy) != NGX_OK) {
            goto failed;
        }

    } else if (req->method.len == 3 && ngx_strncmp(method, "GET", 3) == 0) {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);

    } else {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) req->body.len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                         req->body.len ? (char *) req->body.data : "");

        if (!(req->method.len == 4 && ngx_strncmp(method, "POST", 4) == 0)) {
            curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, (char *) method);
        }
    }

    if (req->request) {
        cln = ngx_pool_cleanup_add(req->request->pool, 0);
        if (cln == NULL) {
            goto failed;
        }

        cln->handler = ngx_http_integrations_outbound_cleanup;
        cln->data = req;
    }

    req->start = ngx_current_msec;
    req->active = 1;

    ngx_queue_insert_tail(&ngx_http_integrations_worker.calls, &req->queue);
    ngx_http_integrations_worker.running++;

    /* curl calls back the timer function: the call starts from the loop */

    if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
        ngx_log_error(NGX_LOG_ERR, req->log, 0,
                      "outbound: curl_multi_add_handle() failed");
        ngx_queue_remove(&req->queue);
        ngx_http_integrations_worker.running--;
        req->active = 0;
        goto failed;
    }

    return NGX_OK;

failed:

    curl_easy_cleanup(easy);
    curl_slist_free_all(sl);
    curl_slist_free_all(req->rcpt_slist);
    req->easy = NULL;
    req->slist = NULL;
    req->rcpt_slist = NULL;

    return NGX_ERROR;
}


void
ngx_http_integrations_outbound_cancel(ngx_http_integrations_outbound_req_t *req)
{
    if (req->admitting) {
        req->admitting = 0;
        ngx_http_integrations_outbound_unadmit(req);
        return;
    }

    if (!req->active) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, req->log, 0,
                   "outbound: cancel %V", &req->url);

    ngx_http_integrations_outbound_release(req);
    ngx_http_integrations_outbound_unadmit(req);
}


/* an admitted call ends with no outcome: the limits hooks let it go */

static void
ngx_http_integrations_outbound_unadmit(
    ngx_http_integrations_outbound_req_t *req)
{
    if (req->limits) {
        ngx_http_integrations_outbound_limits_release(req);

    } else if (ngx_http_integrations_outbound_hooks.release) {
        ngx_http_integrations_outbound_hooks.release(req);
    }
}


ngx_int_t
ngx_http_integrations_outbound_add_header(
    ngx_http_integrations_outbound_req_t *req, ngx_pool_t *pool,
    const char *name, ngx_str_t *value)
{
    size_t      nlen;
    ngx_str_t  *line;

    if (req->headers == NULL) {
        req->headers = ngx_array_create(pool, 8, sizeof(ngx_str_t));
        if (req->headers == NULL) {
            return NGX_ERROR;
        }
    }

    line = ngx_array_push(req->headers);
    if (line == NULL) {
        return NGX_ERROR;
    }

    nlen = ngx_strlen(name);

    line->data = ngx_pnalloc(pool, nlen + 2 + value->len);
    if (line->data == NULL) {
        return NGX_ERROR;
    }

    line->len = ngx_sprintf(line->data, "%s: %V", name, value) - line->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_integrations_outbound_header(
    ngx_http_integrations_outbound_req_t *req, const char *name,
    ngx_str_t *value)
{
    u_char  *p, *last, *eol, *v;
    size_t   nlen;

    nlen = ngx_strlen(name);
    p = req->response_headers.data;
    last = p + req->response_headers.len;

    while (p < last) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        if ((size_t) (eol - p) > nlen && p[nlen] == ':'
            && ngx_strncasecmp(p, (u_char *) name, nlen) == 0)
        {
            v = p + nlen + 1;

            while (v < eol && (*v == ' ' || *v == '\t')) {
                v++;
            }

            while (eol > v && (eol[-1] == '\r' || eol[-1] == ' '
                               || eol[-1] == '\n'))
            {
                eol--;
            }

            value->data = v;
            value->len = eol - v;
            return NGX_OK;
        }

        p = eol + 1;
    }

    return NGX_DECLINED;
}


ngx_uint_t
ngx_http_integrations_outbound_running(void)
{
    return ngx_http_integrations_worker.running;
}


static CURLM *
ngx_http_integrations_outbound_multi(void)
{
    CURLM  *multi;

    if (ngx_http_integrations_worker.multi) {
        return ngx_http_integrations_worker.multi;
    }

    if (ngx_http_integrations_worker.conf == NULL) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "outbound: client used outside a worker");
        return NULL;
    }

    multi = curl_multi_init();
    if (multi == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "outbound: curl_multi_init() failed");
        return NULL;
    }

    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION,
                      ngx_http_integrations_outbound_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION,
                      ngx_http_integrations_outbound_timer);

    /* idle connections kept for reuse, across all providers */
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 256L);

    ngx_http_integrations_worker.multi = multi;

    return multi;
}


/*
 * Every socket curl connects with is opened here: a number that comes
 * back while the worker's table still holds a connection for it tells of
 * a close curl did not announce (see the top of this file).
 */

static curl_socket_t
ngx_http_integrations_outbound_open_socket(void *data, curlsocktype purpose,
    struct curl_sockaddr *addr)
{
    ngx_http_integrations_outbound_req_t  *req = data;

    int                                     what;
    ngx_socket_t                            s;
    ngx_connection_t                       *c;
    ngx_http_integrations_outbound_sock_t  *sk;

    if (purpose != CURLSOCKTYPE_IPCXN) {
        return CURL_SOCKET_BAD;
    }

    s = ngx_socket(addr->family, addr->socktype, addr->protocol);

    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ERR, req->log, ngx_socket_errno,
                      "outbound: " ngx_socket_n " failed");
        return CURL_SOCKET_BAD;
    }

    sk = ngx_http_integrations_outbound_sock(s, req->log);
    if (sk == NULL) {
        goto failed;
    }

    if (sk->connection == NULL) {
        return s;
    }

    /*
     * curl closed the socket that had this number while it was still
     * connecting, without a word, and believes its registration is still
     * here: the kernel dropped it with that socket; the new one gets the
     * same events
     */

    c = sk->connection;

    what = (c->read->active ? CURL_POLL_IN : 0)
           | (c->write->active ? CURL_POLL_OUT : 0);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, req->log, 0,
                   "outbound: socket %d reopened, events %d", s, what);

    ngx_http_integrations_outbound_unwatch(sk);

    if (ngx_http_integrations_outbound_watch(s, what, req->log) != NGX_OK) {
        goto failed;
    }

    return s;

failed:

    /* curl fails the connect: CURLE_COULDNT_CONNECT */

    if (ngx_close_socket(s) == -1) {
        ngx_log_error(NGX_LOG_ERR, req->log, ngx_socket_errno,
                      "outbound: " ngx_close_socket_n " failed");
    }

    return CURL_SOCKET_BAD;
}


/*
 * The one place a descriptor of curl's is closed.  curl tells
 * CURL_POLL_REMOVE first; if it ever did not, the registration goes
 * here, while the descriptor is still open.  data is NULL: a connection
 * in curl's cache outlives the call that opened it.
 */

static int
ngx_http_integrations_outbound_close_socket(void *data, curl_socket_t s)
{
    ngx_http_integrations_outbound_sock_t  *sk;

    if ((ngx_uint_t) s < ngx_http_integrations_worker.nsocks) {
        sk = &ngx_http_integrations_worker.socks[s];

        if (sk->connection) {
            ngx_http_integrations_outbound_unwatch(sk);
        }
    }

    if (ngx_close_socket(s) == -1) {
        ngx_log_error(NGX_LOG_ERR, ngx_http_integrations_worker.log,
                      ngx_socket_errno,
                      "outbound: " ngx_close_socket_n " %d failed", s);
        return 1;
    }

    return 0;
}


/*
 * Never -1: it marks the whole multi handle dead and fails every call in
 * flight.  A socket that cannot be watched (the failure is logged) fails
 * only its own call, at its timeout.
 */

static int
ngx_http_integrations_outbound_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp)
{
    ngx_http_integrations_outbound_sock_t  *sk;

    if (what == CURL_POLL_REMOVE) {
        if ((ngx_uint_t) s < ngx_http_integrations_worker.nsocks) {
            sk = &ngx_http_integrations_worker.socks[s];

            if (sk->connection) {
                ngx_http_integrations_outbound_unwatch(sk);
            }
        }

        return 0;
    }

    (void) ngx_http_integrations_outbound_watch(s, what,
                                            ngx_http_integrations_worker.log);

    return 0;
}


/* the worker's table entry for a descriptor, grown on demand */

static ngx_http_integrations_outbound_sock_t *
ngx_http_integrations_outbound_sock(curl_socket_t s, ngx_log_t *log)
{
    size_t                                  size;
    ngx_uint_t                              n;
    ngx_http_integrations_outbound_sock_t  *socks;

    if (s < 0) {
        return NULL;
    }

    if ((ngx_uint_t) s < ngx_http_integrations_worker.nsocks) {
        return &ngx_http_integrations_worker.socks[s];
    }

    n = ngx_max(ngx_http_integrations_worker.nsocks * 2, 64);

    while (n <= (ngx_uint_t) s) {
        n *= 2;
    }

    size = n * sizeof(ngx_http_integrations_outbound_sock_t);

    socks = ngx_alloc(size, log);
    if (socks == NULL) {
        return NULL;
    }

    ngx_memzero(socks, size);

    if (ngx_http_integrations_worker.socks) {
        ngx_memcpy(socks, ngx_http_integrations_worker.socks,
                   ngx_http_integrations_worker.nsocks
                   * sizeof(ngx_http_integrations_outbound_sock_t));
        ngx_free(ngx_http_integrations_worker.socks);
    }

    ngx_http_integrations_worker.socks = socks;
    ngx_http_integrations_worker.nsocks = n;

    return &socks[s];
}


/*
 * Watches s for curl's CURL_POLL_IN and CURL_POLL_OUT: an nginx
 * connection for it the first time, and a new one if the descriptor is
 * no longer the socket the old one registered.
 */

static ngx_int_t
ngx_http_integrations_outbound_watch(curl_socket_t s, int what,
    ngx_log_t *log)
{
    ngx_event_t                            *rev, *wev;
    ngx_connection_t                       *c;
    ngx_http_integrations_outbound_sock_t  *sk;

    sk = ngx_http_integrations_outbound_sock(s, log);
    if (sk == NULL) {
        return NGX_ERROR;
    }

    if (sk->connection && !ngx_http_integrations_outbound_registered(sk)) {
        ngx_http_integrations_outbound_unwatch(sk);
    }

    c = sk->connection;

    if (c == NULL) {
        c = ngx_get_connection(s, ngx_http_integrations_worker.log);
        if (c == NULL) {
            return NGX_ERROR;
        }

        c->data = NULL;
        c->read->handler = ngx_http_integrations_outbound_event;
        c->write->handler = ngx_http_integrations_outbound_event;
        c->read->log = c->log;
        c->write->log = c->log;

        sk->connection = c;
        ngx_http_integrations_outbound_identify(sk);
    }

    rev = c->read;
    wev = c->write;

    if (what & CURL_POLL_IN) {
        if (!rev->active
            && ngx_add_event(rev, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (rev->active) {
        if (ngx_del_event(rev, NGX_READ_EVENT, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (what & CURL_POLL_OUT) {
        if (!wev->active
            && ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT) != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (wev->active) {
        if (ngx_del_event(wev, NGX_WRITE_EVENT, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Ends the watch of a descriptor.  Its registration is deleted while the
 * descriptor is still the socket it was made for; if curl closed that
 * socket, the kernel dropped the registration with it, and an
 * epoll_ctl() now would fail (EBADF) or hit another file.  The connection
 * is freed, not closed: the descriptor is curl's.
 */

static void
ngx_http_integrations_outbound_unwatch(
    ngx_http_integrations_outbound_sock_t *sk)
{
    ngx_connection_t  *c;

    c = sk->connection;

    if (ngx_http_integrations_outbound_registered(sk)) {
        if (c->read->active) {
            ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        if (c->write->active) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
        }

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "outbound: socket %d was closed unannounced", c->fd);
    }

    c->read->active = 0;
    c->write->active = 0;

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);

    /* events of the socket already returned by the kernel are stale */

    c->fd = (ngx_socket_t) -1;

    sk->connection = NULL;
}


/* whether sk's descriptor still is the socket its connection registered */

static ngx_int_t
ngx_http_integrations_outbound_registered(
    ngx_http_integrations_outbound_sock_t *sk)
{
    ngx_file_info_t  fi;

    if (ngx_fd_info(sk->connection->fd, &fi) == NGX_FILE_ERROR) {
        return 0;
    }

    return fi.st_ino == sk->ino && fi.st_dev == sk->dev;
}


static void
ngx_http_integrations_outbound_identify(
    ngx_http_integrations_outbound_sock_t *sk)
{
    ngx_file_info_t  fi;

    if (ngx_fd_info(sk->connection->fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_http_integrations_worker.log,
                      ngx_errno, "outbound: " ngx_fd_info_n " %d failed",
                      sk->connection->fd);
        sk->dev = 0;
        sk->ino = 0;
        return;
    }

    sk->dev = fi.st_dev;
    sk->ino = fi.st_ino;
}


static int
ngx_http_integrations_outbound_timer(CURLM *multi, long timeout_ms,
    void *userp)
{
    ngx_event_t  *ev = &ngx_http_integrations_worker.timer;

    if (timeout_ms < 0) {
        if (ev->timer_set) {
            ngx_del_timer(ev);
        }

        return 0;
    }

    /*
     * While calls are in flight the timer keeps a gracefully exiting
     * worker alive until they finish; curl's timeouts bound the wait.
     */

    ev->cancelable = (ngx_http_integrations_worker.running == 0);

    ngx_add_timer(ev, (ngx_msec_t) timeout_ms);

    return 0;
}


static void
ngx_http_integrations_outbound_event(ngx_event_t *ev)
{
    int                mask;
    ngx_connection_t  *c;

    c = ev->data;

    mask = ev->write ? CURL_CSELECT_OUT : CURL_CSELECT_IN;

    if (ev->error) {
        mask |= CURL_CSELECT_ERR;
    }

    ngx_http_integrations_outbound_action(c->fd, mask);
}


static void
ngx_http_integrations_outbound_timeout(ngx_event_t *ev)
{
    ngx_http_integrations_outbound_action(CURL_SOCKET_TIMEOUT, 0);
}


static void
ngx_http_integrations_outbound_action(curl_socket_t s, int mask)
{
    int                                    running, left;
    CURL                                  *easy;
    CURLMsg                               *msg;
    ngx_http_integrations_outbound_req_t  *req;

    curl_multi_socket_action(ngx_http_integrations_worker.multi, s, mask,
                             &running);

    for ( ;; ) {
        msg = curl_multi_info_read(ngx_http_integrations_worker.multi, &left);
        if (msg == NULL) {
            break;
        }

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        easy = msg->easy_handle;
        req = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &req);

        if (req) {
            /* msg is invalid once the handle is removed: copy first */
            ngx_http_integrations_outbound_finish(req, msg->data.result);
        }
    }

}


static void
ngx_http_integrations_outbound_finish(
    ngx_http_integrations_outbound_req_t *req, CURLcode code)
{
    long        status, sent;
    u_char     *p;
    curl_off_t  pretransfer;

    status = 0;
    curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);

    pretransfer = 0;
    sent = 0;
    curl_easy_getinfo(req->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    curl_easy_getinfo(req->easy, CURLINFO_REQUEST_SIZE, &sent);
    req->started = (pretransfer > 0 || sent > 0 || req->left);

    req->status = (code == CURLE_OK) ? (ngx_uint_t) status : 0;
    req->duration = ngx_current_msec - req->start;

    /* SMTP: a refusal is an answer, its reply code the status */

    if (req->smtp.rcpt.len && code != CURLE_OK && status >= 400
        && status < 600 && code != CURLE_OPERATION_TIMEDOUT)
    {
        req->status = (ngx_uint_t) status;
        code = CURLE_OK;
    }

    switch (code) {

    case CURLE_OK:
        req->error = NGX_HTTP_INTEGRATIONS_OUTBOUND_OK;
        break;

    case CURLE_OPERATION_TIMEDOUT:
        req->error = NGX_HTTP_INTEGRATIONS_OUTBOUND_TIMEOUT;
        break;

    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_INTERFACE_FAILED:
    case CURLE_USE_SSL_FAILED:          /* SMTP: no STARTTLS, nothing sent */
        req->error = NGX_HTTP_INTEGRATIONS_OUTBOUND_CONNECT;
        break;

    case CURLE_WRITE_ERROR:
        req->error = (req->rlen > 0)
                     ? NGX_HTTP_INTEGRATIONS_OUTBOUND_TOO_LARGE
                     : NGX_HTTP_INTEGRATIONS_OUTBOUND_ERROR;
        break;

    default:
        req->error = NGX_HTTP_INTEGRATIONS_OUTBOUND_ERROR;
    }

    if (code != CURLE_OK) {
        req->error_text.data = (u_char *) req->errbuf;
        req->error_text.len = ngx_strlen(req->errbuf);

        if (req->error_text.len == 0) {
            req->error_text.data = (u_char *) curl_easy_strerror(code);
            req->error_text.len = ngx_strlen(req->error_text.data);
        }
    }

    /* the response moves into the caller's pool */

    if (req->rlen) {
        p = ngx_pnalloc(req->pool, req->rlen);
        if (p) {
            ngx_memcpy(p, req->rbuf, req->rlen);
            req->response_body.data = p;
            req->response_body.len = req->rlen;
        }
    }

    if (req->hlen) {
        p = ngx_pnalloc(req->pool, req->hlen);
        if (p) {
            ngx_memcpy(p, req->hbuf, req->hlen);
            req->response_headers.data = p;
            req->response_headers.len = req->hlen;
        }
    }

    ngx_http_integrations_outbound_release(req);

    ngx_http_integrations_outbound_log(req);

    if (req->limits) {
        ngx_http_integrations_outbound_limits_record(req);

    } else if (ngx_http_integrations_outbound_hooks.record) {
        ngx_http_integrations_outbound_hooks.record(req);
    }

    req->done(req);
}


static void
ngx_http_integrations_outbound_release(
    ngx_http_integrations_outbound_req_t *req)
{
    if (req->easy) {
        curl_multi_remove_handle(ngx_http_integrations_worker.multi,
                                 req->easy);
        curl_easy_cleanup(req->easy);
        req->easy = NULL;
    }

    if (req->slist) {
        curl_slist_free_all(req->slist);
        req->slist = NULL;
    }

    if (req->rcpt_slist) {
        curl_slist_free_all(req->rcpt_slist);
        req->rcpt_slist = NULL;
    }

    if (req->rbuf) {
        ngx_free(req->rbuf);
        req->rbuf = NULL;
    }

    if (req->hbuf) {
        ngx_free(req->hbuf);
        req->hbuf = NULL;
    }

    if (req->active) {
        req->active = 0;
        ngx_queue_remove(&req->queue);
        ngx_http_integrations_worker.running--;
    }

    if (ngx_http_integrations_worker.running == 0) {
        ngx_http_integrations_worker.timer.cancelable = 1;
    }
}


static void
ngx_http_integrations_outbound_log(ngx_http_integrations_outbound_req_t *req)
{
    u_char      *p, *q, *last;
    size_t       len;
    ngx_str_t    url;
    ngx_uint_t   level;

    level = NGX_LOG_INFO;

    if (req->log->log_level < level) {
        return;
    }

    /* a query may carry secrets: the log gets the URL up to '?' */

    url = req->url;
    q = ngx_strlchr(url.data, url.data + url.len, '?');
    if (q) {
        url.len = q - url.data;
    }

    if (req->url_secret) {
        q = ngx_strnstr(url.data, (char *) "://", url.len);
        q = q ? ngx_strlchr(q + 3, url.data + url.len, '/') : NULL;
        if (q) {
            url.len = q - url.data;
        }
    }

    len = sizeof("{\"outbound\":{\"provider\":\"\",\"method\":\"\","
                 "\"url\":\"\",\"status\":,\"duration_ms\":,"
                 "\"request_id\":\"\",\"error\":\"\"}}") - 1
          + 6 * (req->provider.len + req->method.len + url.len
                 + req->request_id.len + req->error_text.len)
          + NGX_INT_T_LEN * 2;

    p = ngx_pnalloc(req->pool, len);
    if (p == NULL) {
        return;
    }

    last = ngx_cpymem(p, "{\"outbound\":{\"provider\":\"",
                      sizeof("{\"outbound\":{\"provider\":\"") - 1);
    last = (u_char *) ngx_escape_json(last, req->provider.data,
                                      req->provider.len);
    last = ngx_cpymem(last, "\",\"method\":\"", sizeof("\",\"method\":\"") - 1);
    last = (u_char *) ngx_escape_json(last, req->method.data,
                                      req->method.len);
    last = ngx_cpymem(last, "\",\"url\":\"", sizeof("\",\"url\":\"") - 1);
    last = (u_char *) ngx_escape_json(last, url.data, url.len);
    last = ngx_sprintf(last, "\",\"status\":%ui,\"duration_ms\":%M,"
                       "\"request_id\":\"", req->status, req->duration);
    last = (u_char *) ngx_escape_json(last, req->request_id.data,
                                      req->request_id.len);
    last = ngx_cpymem(last, "\",\"error\":\"", sizeof("\",\"error\":\"") - 1);
    last = (u_char *) ngx_escape_json(last, req->error_text.data,
                                      req->error_text.len);
    last = ngx_cpymem(last, "\"}}", 3);

    ngx_log_error(level, req->log, 0, "%*s", (size_t) (last - p), p);
}


static void
ngx_http_integrations_outbound_cleanup(void *data)
{
    ngx_http_integrations_outbound_req_t  *req = data;

    if (req->active) {
        ngx_log_error(NGX_LOG_INFO, req->log, 0,
                      "outbound: %V call cancelled, the client is gone",
                      &req->provider);

        ngx_http_integrations_outbound_release(req);
        ngx_http_integrations_outbound_unadmit(req);
    }
}


static size_t
ngx_http_integrations_outbound_write(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_integrations_outbound_req_t  *req = userdata;

    size_t  max;

    max = req->max_response ? req->max_response
                            : NGX_HTTP_INTEGRATIONS_OUTBOUND_MAX_RESPONSE;

    if (ngx_http_integrations_outbound_append(&req->rbuf, &req->rlen,
                                              &req->rsize, ptr, size * nmemb,
                                              max)
        != NGX_OK)
    {
        /* a short count makes curl fail the transfer: CURLE_WRITE_ERROR */
        if (req->rlen == 0) {
            req->rlen = 1;
        }

        return 0;
    }

    return size * nmemb;
}


/*
 * SMTP: the envelope, the upload of the message, TLS (required with
 * STARTTLS: CURLUSESSL_TRY would go on in clear) and AUTH.
 */

static ngx_int_t
ngx_http_integrations_outbound_smtp(ngx_http_integrations_outbound_req_t *req,
    CURL *easy)
{
    u_char  *from, *rcpt, *user, *pass;

    /* curl copies them; it wants them NUL-terminated */

    from = ngx_pnalloc(req->pool, req->smtp.mail_from.len + 1
                                  + req->smtp.rcpt.len + 1
                                  + req->username.len + 1
                                  + req->password.len + 1);
    if (from == NULL) {
        return NGX_ERROR;
    }

    rcpt = ngx_cpymem(from, req->smtp.mail_from.data,
                      req->smtp.mail_from.len);
    *rcpt++ = '\0';

    user = ngx_cpymem(rcpt, req->smtp.rcpt.data, req->smtp.rcpt.len);
    *user++ = '\0';

    pass = ngx_cpymem(user, req->username.data, req->username.len);
    *pass++ = '\0';

    *ngx_cpymem(pass, req->password.data, req->password.len) = '\0';

    req->rcpt_slist = curl_slist_append(NULL, (char *) rcpt);
    if (req->rcpt_slist == NULL) {
        return NGX_ERROR;
    }

    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, req->rcpt_slist);
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION,
                     ngx_http_integrations_outbound_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, req);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
                     (curl_off_t) req->body.len);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);

    if (req->smtp.starttls) {
        curl_easy_setopt(easy, CURLOPT_USE_SSL, (long) CURLUSESSL_ALL);
    }

    if (req->username.len) {
        curl_easy_setopt(easy, CURLOPT_USERNAME, user);
        curl_easy_setopt(easy, CURLOPT_PASSWORD, pass);
    }

    /* the password is in curl's copy now */

    ngx_explicit_memzero(pass, req->password.len);

    req->upload_pos = 0;

    return NGX_OK;
}


static size_t
ngx_http_integrations_outbound_read(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_integrations_outbound_req_t  *req = userdata;

    size_t  n;

    n = ngx_min(size * nmemb, req->body.len - req->upload_pos);

    ngx_memcpy(ptr, req->body.data + req->upload_pos, n);
    req->upload_pos += n;

    return n;
}


static size_t
ngx_http_integrations_outbound_header_line(char *ptr, size_t size,
    size_t nmemb, void *userdata)
{
    ngx_http_integrations_outbound_req_t  *req = userdata;

    size_t  n;

    n = size * nmemb;

    /* a new status line (after 100 Continue, say): a new header block */

    if (n > 5 && ngx_strncmp(ptr, "HTTP/", 5) == 0) {
        req->hlen = 0;
    }

    if (ngx_http_integrations_outbound_append(&req->hbuf, &req->hlen,
                                              &req->hsize, ptr, n, 65536)
        != NGX_OK)
    {
        return 0;
    }

    return n;
}


/*
 * Before each request curl puts on a connection.  When a kept-alive
 * connection closes with nothing back, curl sends the request again on
 * another (within the same call, unseen by the caller); the first may have
 * reached the receiver, so a request marked "once" is not sent again: the
 * call fails, having started (ambiguous).
 */

static int
ngx_http_integrations_outbound_prereq(void *userdata, char *primary_ip,
    char *local_ip, int primary_port, int local_port)
{
    ngx_http_integrations_outbound_req_t  *req = userdata;

    if (req->left) {
        ngx_log_error(NGX_LOG_WARN, req->log, 0,
                      "outbound: %V: the connection closed unanswered, "
                      "not sent again", &req->provider);
        return CURL_PREREQFUNC_ABORT;
    }

    req->left = 1;

    return CURL_PREREQFUNC_OK;
}


static ngx_int_t
ngx_http_integrations_outbound_append(u_char **buf, size_t *len,
    size_t *size, char *data, size_t n, size_t max)
{
    u_char  *nb;
    size_t   ns;

    if (n > max - *len) {
        return NGX_ERROR;
    }

    if (*len + n > *size) {
        ns = ngx_max(*size * 2, 4096);

        while (ns < *len + n) {
            ns *= 2;
        }

        /* the buffers live only for the call; realloc keeps growth cheap */

        nb = realloc(*buf, ns);
        if (nb == NULL) {
            return NGX_ERROR;
        }

        *buf = nb;
        *size = ns;
    }

    ngx_memcpy(*buf + *len, data, n);
    *len += n;

    return NGX_OK;
}


/*
 * The trusted certificates are read once, by the master: workers (which
 * may not read the file) hand curl the bytes, and no handshake opens a
 * file.
 */

static ngx_int_t
ngx_http_integrations_outbound_read_pem(ngx_conf_t *cf,
    ngx_http_integrations_outbound_main_conf_t *omcf)
{
    off_t             size;
    ssize_t           n;
    ngx_str_t        *name;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    name = &omcf->trusted_certificate;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = *name;
    file.log = cf->log;

    file.fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", name);
        return NGX_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", name);
        goto failed;
    }

    size = ngx_file_size(&fi);

    if (size == 0 || size > 4 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"integrations_outbound_trusted_certificate\" "
                           "\"%V\" is empty or too large", name);
        goto failed;
    }

    omcf->trusted.data = ngx_pnalloc(cf->pool, (size_t) size);
    if (omcf->trusted.data == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, omcf->trusted.data, (size_t) size, 0);

    if (n != (ssize_t) size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot read \"%V\"", name);
        goto failed;
    }

    omcf->trusted.len = (size_t) size;

    ngx_close_file(file.fd);

    return NGX_OK;

failed:

    ngx_close_file(file.fd);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_integrations_outbound_postconf(ngx_conf_t *cf)
{
    ngx_http_integrations_outbound_main_conf_t  *omcf;

    static ngx_str_t  request_id = ngx_string("request_id");

    omcf = ngx_http_conf_get_module_main_conf(cf,
                                        ngx_http_integrations_outbound_module);

    omcf->request_id_index = ngx_http_get_variable_index(cf, &request_id);

    return NGX_OK;
}


static void *
ngx_http_integrations_outbound_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_outbound_main_conf_t  *omcf;

    omcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_outbound_main_conf_t));
    if (omcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     omcf->bind = { 0, NULL };
     *     omcf->trusted_certificate = { 0, NULL };
     */

    omcf->request_id_index = NGX_ERROR;

    return omcf;
}


static char *
ngx_http_integrations_outbound_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_integrations_outbound_main_conf_t  *omcf = conf;

    /* curl takes NUL-terminated paths; nginx's strings from cf are */

    if (omcf->bind.len == 3
        && ngx_strncmp(omcf->bind.data, "off", 3) == 0)
    {
        ngx_str_null(&omcf->bind);
    }

    /*
     * A socket bound to an IPv4 address cannot reach an IPv6 peer, and
     * curl gives up rather than try the next address: "localhost" would
     * fail on ::1.  Resolve names to the bind address's family only.
     */

    omcf->ipresolve = CURL_IPRESOLVE_WHATEVER;

    if (omcf->bind.len) {
        if (ngx_inet_addr(omcf->bind.data, omcf->bind.len) != INADDR_NONE) {
            omcf->ipresolve = CURL_IPRESOLVE_V4;

        } else if (ngx_strlchr(omcf->bind.data,
                               omcf->bind.data + omcf->bind.len, ':'))
        {
            omcf->ipresolve = CURL_IPRESOLVE_V6;
        }
    }

    if (omcf->trusted_certificate.len) {
        if (ngx_http_integrations_outbound_read_pem(cf, omcf) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_integrations_outbound_init_process(ngx_cycle_t *cycle)
{
    ngx_event_t                                 *ev;
    ngx_http_integrations_outbound_main_conf_t  *omcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_module) == NULL) {
        return NGX_OK;
    }

    omcf = ngx_http_cycle_get_module_main_conf(cycle,
                                        ngx_http_integrations_outbound_module);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "outbound: curl_global_init() failed");
        return NGX_ERROR;
    }

    ngx_http_integrations_worker.conf = omcf;
    ngx_http_integrations_worker.log = cycle->log;
    ngx_queue_init(&ngx_http_integrations_worker.calls);

    ev = &ngx_http_integrations_worker.timer;
    ev->handler = ngx_http_integrations_outbound_timeout;
    ev->log = cycle->log;
    ev->data = &ngx_http_integrations_worker;
    ev->cancelable = 1;

    return NGX_OK;
}


static void
ngx_http_integrations_outbound_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                             i;
    ngx_queue_t                           *q;
    ngx_http_integrations_outbound_req_t  *req;

    if (ngx_http_integrations_worker.conf == NULL) {
        return;
    }

    /*
     * A graceful exit waited for the calls in flight (the timer is not
     * cancelable while they run); what remains here is a fast shutdown:
     * the calls go, their clients' connections are closed by nginx.
     */

    while (ngx_http_integrations_worker.multi
           && !ngx_queue_empty(&ngx_http_integrations_worker.calls))
    {
        q = ngx_queue_head(&ngx_http_integrations_worker.calls);
        req = ngx_queue_data(q, ngx_http_integrations_outbound_req_t, queue);

        ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                      "outbound: %V call cancelled, the worker is exiting",
                      &req->provider);

        ngx_http_integrations_outbound_release(req);
        ngx_http_integrations_outbound_unadmit(req);
    }

    if (ngx_http_integrations_worker.timer.timer_set) {
        ngx_del_timer(&ngx_http_integrations_worker.timer);
    }

    if (ngx_http_integrations_worker.multi) {
        /* closes curl's cache through the close callback */
        curl_multi_cleanup(ngx_http_integrations_worker.multi);
        ngx_http_integrations_worker.multi = NULL;
    }

    curl_global_cleanup();

    /* nothing is watched any more: no call is left, nor a multi handle */

    for (i = 0; i < ngx_http_integrations_worker.nsocks; i++) {
        if (ngx_http_integrations_worker.socks[i].connection) {
            ngx_http_integrations_outbound_unwatch(
                                      &ngx_http_integrations_worker.socks[i]);
        }
    }

    if (ngx_http_integrations_worker.socks) {
        ngx_free(ngx_http_integrations_worker.socks);
        ngx_http_integrations_worker.socks = NULL;
        ngx_http_integrations_worker.nsocks = 0;
    }

    ngx_http_integrations_worker.conf = NULL;
}


ngx_str_t *
ngx_http_integrations_outbound_trusted(void)
{
    ngx_http_integrations_outbound_main_conf_t  *omcf;

    static ngx_str_t  none = ngx_null_string;

    if (ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_http_module)
        == NULL)
    {
        return &none;
    }

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                        ngx_http_integrations_outbound_module);

    return &omcf->trusted;
}
