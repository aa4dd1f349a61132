/*
 * The Redis client on nginx's event loop: see ngx_http_integrations_redis.h.
 *
 * Why a codec of our own and not hiredis: hiredis 0.14 (Debian 12) has
 * adapters for libevent, libev, libuv and others, none for nginx, and its
 * async context wants to own the socket and the read buffer and to be
 * driven by its adapter's callbacks; its reader alone would still need
 * everything here (connections, timers, pipelining, reconnection).  The
 * RESP2 subset a client needs is small, nginx-free and fuzzed
 * (integrations_resp.c), and it reads replies in place, without a
 * malloc per reply.
 *
 * The sockets are our own (socket(), connect(), then an nginx connection
 * from ngx_get_connection()), not ngx_event_connect_peer(): that logs a
 * failed connect() at "crit" for anything but a few errno values, and a
 * Redis stopped cleanly removes its unix socket (ENOENT).  A Redis that
 * is down is an expected state here, logged once at "warn".
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "integrations_redis.h"
#include "integrations_resp.h"
#include "ngx_http_integrations_redis.h"
#include "ngx_http_integrations_secret.h"
#include "ngx_http_integrations_status.h"


#define NGX_HTTP_INTEGRATIONS_REDIS_TIMEOUT   1000
#define NGX_HTTP_INTEGRATIONS_REDIS_POOL      2
#define NGX_HTTP_INTEGRATIONS_REDIS_MAX_POOL  64
#define NGX_HTTP_INTEGRATIONS_REDIS_PROBE     1000   /* ms, while down */
#define NGX_HTTP_INTEGRATIONS_REDIS_IN        16384
#define NGX_HTTP_INTEGRATIONS_REDIS_IN_MAX    (4 * 65536 + 65536)
#define NGX_HTTP_INTEGRATIONS_REDIS_OUT       16384

/* commands with up to this much of EVAL's tail are kept for reuse */
#define NGX_HTTP_INTEGRATIONS_REDIS_CMD_SIZE  512
#define NGX_HTTP_INTEGRATIONS_REDIS_CMD_KEPT  256

/* connection states */
#define NGX_HTTP_INTEGRATIONS_REDIS_CLOSED      0
#define NGX_HTTP_INTEGRATIONS_REDIS_CONNECTING  1
#define NGX_HTTP_INTEGRATIONS_REDIS_READY       2

/* the shared state word: what was last logged */
#define NGX_HTTP_INTEGRATIONS_REDIS_S_UNKNOWN   0
#define NGX_HTTP_INTEGRATIONS_REDIS_S_UP        1
#define NGX_HTTP_INTEGRATIONS_REDIS_S_DOWN      2

/* internal commands */
#define NGX_HTTP_INTEGRATIONS_REDIS_AUTH        1
#define NGX_HTTP_INTEGRATIONS_REDIS_SELECT      2
#define NGX_HTTP_INTEGRATIONS_REDIS_PING        3


typedef struct {
    ngx_str_t                     url;          /* as written */
    ngx_addr_t                    addr;
    ngx_str_t                     password;     /* empty: no AUTH */
    ngx_uint_t                    db;
    ngx_msec_t                    timeout;
    ngx_uint_t                    pool;
    ngx_shm_zone_t               *shm_zone;
    ngx_atomic_t                 *state;        /* in shared memory */

    ngx_http_integrations_status_counter_t  *commands;
    ngx_http_integrations_status_counter_t  *failed;
    ngx_http_integrations_status_counter_t  *downs;
} ngx_http_integrations_redis_main_conf_t;


typedef struct {
    ngx_connection_t             *c;
    ngx_uint_t                    state;
    ngx_queue_t                   cmds;         /* in the order sent */

    u_char                       *out;
    size_t                        out_pos;
    size_t                        out_len;
    size_t                        out_size;
    size_t                        secret_end;   /* AUTH's bytes end here */

    u_char                       *in;
    size_t                        in_pos;
    size_t                        in_len;
    size_t                        in_size;

    ngx_msec_t                    timer;        /* the read timer's
                                                   deadline */
} ngx_http_integrations_redis_conn_t;


typedef struct {
    ngx_http_integrations_redis_main_conf_t  *conf;
    ngx_http_integrations_redis_conn_t       *conns;
    ngx_uint_t                                next;
    ngx_uint_t                                up;
    ngx_uint_t                                probing;   /* a PING out */
    ngx_event_t                               probe;
    ngx_log_t                                *log;
    ngx_queue_t                               free;      /* commands */
    ngx_uint_t                                nfree;
} ngx_http_integrations_redis_worker_t;


static ngx_http_integrations_redis_conn_t *ngx_http_integrations_redis_pick(
    void);
static ngx_int_t ngx_http_integrations_redis_connect(
    ngx_http_integrations_redis_conn_t *rc);
static ngx_http_integrations_redis_cmd_t *ngx_http_integrations_redis_queue(
    ngx_http_integrations_redis_conn_t *rc, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_integrations_redis_script_t *script, ngx_uint_t internal);
static ngx_http_integrations_redis_cmd_t *
    ngx_http_integrations_redis_cmd_alloc(size_t tail);
static void ngx_http_integrations_redis_cmd_free(
    ngx_http_integrations_redis_cmd_t *cmd);
static ngx_int_t ngx_http_integrations_redis_append(
    ngx_http_integrations_redis_conn_t *rc, size_t len, u_char **p);
static void ngx_http_integrations_redis_schedule(
    ngx_http_integrations_redis_conn_t *rc);
static void ngx_http_integrations_redis_write_handler(ngx_event_t *wev);
static void ngx_http_integrations_redis_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_integrations_redis_reply(
    ngx_http_integrations_redis_conn_t *rc,
    ngx_http_integrations_redis_cmd_t *cmd,
    integrations_resp_reply_t *reply);
static void ngx_http_integrations_redis_timer(
    ngx_http_integrations_redis_conn_t *rc);
static void ngx_http_integrations_redis_fail(
    ngx_http_integrations_redis_conn_t *rc, const char *why, ngx_err_t err);
static void ngx_http_integrations_redis_close(
    ngx_http_integrations_redis_conn_t *rc, ngx_uint_t notify);
static void ngx_http_integrations_redis_set_state(ngx_uint_t up,
    const char *why, ngx_err_t err);
static void ngx_http_integrations_redis_probe_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_integrations_redis_shm_init(
    ngx_shm_zone_t *shm_zone, void *data);
static ngx_int_t ngx_http_integrations_redis_collect(
    ngx_http_integrations_status_writer_t *w, void *data);
static char *ngx_http_integrations_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_integrations_redis_postconf(ngx_conf_t *cf);
static void *ngx_http_integrations_redis_create_main_conf(ngx_conf_t *cf);
static void ngx_http_integrations_redis_cleanse(void *data);
static ngx_int_t ngx_http_integrations_redis_init_process(ngx_cycle_t *cycle);
static void ngx_http_integrations_redis_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_integrations_redis_commands[] = {

    { ngx_string("integrations_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_integrations_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_redis_module_ctx = {
    NULL,                                          /* preconfiguration */
    ngx_http_integrations_redis_postconf,          /* postconfiguration */

    ngx_http_integrations_redis_create_main_conf,  /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    NULL,                                          /* create location conf */
    NULL                                           /* merge location conf */
};


ngx_module_t  ngx_http_integrations_redis_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_redis_module_ctx,       /* module context */
    ngx_http_integrations_redis_commands,          /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    NULL,                                          /* init module */
    ngx_http_integrations_redis_init_process,      /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    ngx_http_integrations_redis_exit_process,      /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_integrations_redis_worker_t  ngx_http_integrations_redis_w;


ngx_int_t
ngx_http_integrations_redis_configured(ngx_conf_t *cf)
{
    ngx_http_integrations_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_integrations_redis_module);

    return rmcf->url.len != 0;
}


void
ngx_http_integrations_redis_script_init(
    ngx_http_integrations_redis_script_t *script, const char *text)
{
    u_char  md[SHA_DIGEST_LENGTH];

    script->text.data = (u_char *) text;
    script->text.len = ngx_strlen(text);

    SHA1(script->text.data, script->text.len, md);
    ngx_hex_dump(script->sha, md, SHA_DIGEST_LENGTH);
}


ngx_msec_t
ngx_http_integrations_redis_timeout(void)
{
    if (ngx_http_integrations_redis_w.conf == NULL) {
        return NGX_HTTP_INTEGRATIONS_REDIS_TIMEOUT;
    }

    return ngx_http_integrations_redis_w.conf->timeout;
}


/*
 * Down when this worker found it so, or another worker did (the shared
 * word): then this one stops asking too, and probes for itself.
 */

ngx_uint_t
ngx_http_integrations_redis_up(void)
{
    if (ngx_http_integrations_redis_w.conf == NULL) {
        return 0;
    }

    if (ngx_http_integrations_redis_w.up
        && *ngx_http_integrations_redis_w.conf->state
           == NGX_HTTP_INTEGRATIONS_REDIS_S_DOWN)
    {
        ngx_http_integrations_redis_set_state(0, NULL, 0);
    }

    return ngx_http_integrations_redis_w.up;
}


ngx_http_integrations_redis_cmd_t *
ngx_http_integrations_redis_send(ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_integrations_redis_script_t *script,
    ngx_http_integrations_redis_done_pt done, void *data, ngx_log_t *log)
{
    ngx_http_integrations_redis_cmd_t   *cmd;
    ngx_http_integrations_redis_conn_t  *rc;

    if (!ngx_http_integrations_redis_up()) {
        return NULL;
    }

    rc = ngx_http_integrations_redis_pick();
    if (rc == NULL) {
        return NULL;
    }

    cmd = ngx_http_integrations_redis_queue(rc, argc, argv, script, 0);
    if (cmd == NULL) {
        return NULL;
    }

    cmd->done = done;
    cmd->data = data;
    cmd->log = log;

    ngx_http_integrations_status_increment(
                                ngx_http_integrations_redis_w.conf->commands);

    return cmd;
}


void
ngx_http_integrations_redis_flush(ngx_http_integrations_redis_cmd_t *cmd)
{
    ngx_http_integrations_redis_conn_t  *rc;

    ssize_t                              n;
    ngx_connection_t                    *c;

    rc = cmd->conn;

    if (rc->state != NGX_HTTP_INTEGRATIONS_REDIS_READY) {
        return;
    }

    c = rc->c;

    /*
     * What can be sent now; a failure is left to the posted write
     * handler, which fails the connection from the event loop, not from
     * within the caller (a filter, say).
     */

    while (c->write->ready && rc->out_pos < rc->out_len) {
        n = c->send(c, rc->out + rc->out_pos, rc->out_len - rc->out_pos);

        if (n == NGX_AGAIN || n == NGX_ERROR) {
            break;
        }

        rc->out_pos += n;
    }

    if (!c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


/* the next connection of the pool, opened if it is not */

static ngx_http_integrations_redis_conn_t *
ngx_http_integrations_redis_pick(void)
{
    ngx_http_integrations_redis_conn_t  *rc;

    rc = ngx_http_integrations_redis_w.conns
         + ngx_http_integrations_redis_w.next;

    if (++ngx_http_integrations_redis_w.next
        == ngx_http_integrations_redis_w.conf->pool)
    {
        ngx_http_integrations_redis_w.next = 0;
    }

    if (rc->state == NGX_HTTP_INTEGRATIONS_REDIS_CLOSED
        && ngx_http_integrations_redis_connect(rc) != NGX_OK)
    {
        return NULL;
    }

    return rc;
}


/*
 * Opens the connection and queues AUTH and SELECT: the commands sent
 * meanwhile wait behind them in the output buffer.
 */

static ngx_int_t
ngx_http_integrations_redis_connect(ngx_http_integrations_redis_conn_t *rc)
{
    int                                       rv;
    u_char                                    db[NGX_INT_T_LEN];
    ngx_err_t                                 err;
    ngx_str_t                                 args[2];
    ngx_socket_t                              s;
    ngx_event_t                              *rev, *wev;
    ngx_connection_t                         *c;
    ngx_http_integrations_redis_main_conf_t  *conf;

    conf = ngx_http_integrations_redis_w.conf;

    s = ngx_socket(conf->addr.sockaddr->sa_family, SOCK_STREAM, 0);

    if (s == (ngx_socket_t) -1) {
        ngx_http_integrations_redis_set_state(0, "socket() failed",
                                              ngx_socket_errno);
        return NGX_ERROR;
    }

    if (ngx_nonblocking(s) == -1) {
        err = ngx_socket_errno;
        ngx_close_socket(s);
        ngx_http_integrations_redis_set_state(0, "fcntl(O_NONBLOCK) failed",
                                              err);
        return NGX_ERROR;
    }

    c = ngx_get_connection(s, ngx_http_integrations_redis_w.log);
    if (c == NULL) {
        ngx_close_socket(s);
        return NGX_ERROR;
    }

    c->type = SOCK_STREAM;
    c->recv = ngx_recv;
    c->send = ngx_send;
    c->recv_chain = ngx_recv_chain;
    c->send_chain = ngx_send_chain;
    c->log_error = NGX_ERROR_INFO;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);
    c->data = rc;

    rev = c->read;
    wev = c->write;
    rev->log = c->log;
    wev->log = c->log;
    rev->handler = ngx_http_integrations_redis_read_handler;
    wev->handler = ngx_http_integrations_redis_write_handler;

    if (ngx_add_conn) {
        if (ngx_add_conn(c) == NGX_ERROR) {
            goto failed;
        }
    }

    rv = connect(s, conf->addr.sockaddr, conf->addr.socklen);

    if (rv == -1) {
        err = ngx_socket_errno;

        if (err != NGX_EINPROGRESS) {
            ngx_http_integrations_redis_set_state(0, "connect() failed", err);
            goto failed;
        }
    }

    if (ngx_add_conn == NULL) {
        if (ngx_add_event(rev, NGX_READ_EVENT, NGX_CLEAR_EVENT) != NGX_OK
            || ngx_add_event(wev, NGX_WRITE_EVENT, NGX_CLEAR_EVENT) != NGX_OK)
        {
            goto failed;
        }
    }

    rc->c = c;
    rc->out_pos = 0;
    rc->out_len = 0;
    rc->secret_end = 0;
    rc->in_pos = 0;
    rc->in_len = 0;

    if (rv == 0) {
        rc->state = NGX_HTTP_INTEGRATIONS_REDIS_READY;
        wev->ready = 1;

    } else {
        rc->state = NGX_HTTP_INTEGRATIONS_REDIS_CONNECTING;
        ngx_add_timer(wev, conf->timeout);
    }

    if (conf->password.len) {
        ngx_str_set(&args[0], "AUTH");
        args[1] = conf->password;

        if (ngx_http_integrations_redis_queue(rc, 2, args, NULL,
                                        NGX_HTTP_INTEGRATIONS_REDIS_AUTH)
            == NULL)
        {
            ngx_http_integrations_redis_close(rc, 0);
            return NGX_ERROR;
        }

        rc->secret_end = rc->out_len;
    }

    if (conf->db) {
        ngx_str_set(&args[0], "SELECT");
        args[1].data = db;
        args[1].len = ngx_sprintf(args[1].data, "%ui", conf->db)
                      - args[1].data;

        if (ngx_http_integrations_redis_queue(rc, 2, args, NULL,
                                        NGX_HTTP_INTEGRATIONS_REDIS_SELECT)
            == NULL)
        {
            ngx_http_integrations_redis_close(rc, 0);
            return NGX_ERROR;
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, c->log, 0,
                   "redis: connection %p opened", c);

    return NGX_OK;

failed:

    ngx_close_connection(c);

    return NGX_ERROR;
}


/*
 * The command into the connection's output buffer and its queue; the
 * write is posted, so that the commands of one event-loop turn leave in
 * one write.
 */

static ngx_http_integrations_redis_cmd_t *
ngx_http_integrations_redis_queue(ngx_http_integrations_redis_conn_t *rc,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_integrations_redis_script_t *script, ngx_uint_t internal)
{
    u_char                             *p, *t;
    size_t                              len, tail;
    ngx_uint_t                          i, n;
    ngx_http_integrations_redis_cmd_t  *cmd;

    if (argc > NGX_HTTP_INTEGRATIONS_REDIS_MAX_ARGS) {
        return NULL;
    }

    tail = 0;

    for (i = 0; i < argc; i++) {
        tail += integrations_resp_bulk_len(argv[i].len);
    }

    n = argc + (script ? 2 : 0);

    len = integrations_resp_array_len(n) + tail;

    if (script) {
        len += integrations_resp_bulk_len(7)
               + integrations_resp_bulk_len(40);
    }

    /* the command and, for a script, its arguments kept for EVAL */

    cmd = ngx_http_integrations_redis_cmd_alloc(script ? tail : 0);
    if (cmd == NULL) {
        return NULL;
    }

    if (ngx_http_integrations_redis_append(rc, len, &p) != NGX_OK) {
        ngx_http_integrations_redis_cmd_free(cmd);
        return NULL;
    }

    p = integrations_resp_array(p, n);

    if (script) {
        p = integrations_resp_bulk(p, (u_char *) "EVALSHA", 7);
        p = integrations_resp_bulk(p, script->sha, 40);
    }

    t = p;

    for (i = 0; i < argc; i++) {
        p = integrations_resp_bulk(p, argv[i].data, argv[i].len);
    }

    cmd->done = NULL;
    cmd->data = NULL;
    cmd->log = ngx_http_integrations_redis_w.log;
    cmd->deadline = ngx_current_msec
                    + ngx_http_integrations_redis_w.conf->timeout;
    cmd->script = script;
    cmd->tail = NULL;
    cmd->tail_len = 0;
    cmd->argc = n;
    cmd->internal = internal;
    cmd->conn = rc;

    if (script) {
        cmd->tail = (u_char *) (cmd + 1);
        cmd->tail_len = tail;
        ngx_memcpy(cmd->tail, t, tail);
    }

    ngx_queue_insert_tail(&rc->cmds, &cmd->queue);

    ngx_http_integrations_redis_schedule(rc);

    return cmd;
}


/*
 * A command, from the worker's free list when it is small (most are: a
 * malloc and a free per request otherwise).
 */

static ngx_http_integrations_redis_cmd_t *
ngx_http_integrations_redis_cmd_alloc(size_t tail)
{
    size_t                              size;
    ngx_queue_t                        *q;
    ngx_http_integrations_redis_cmd_t  *cmd;

    size = sizeof(ngx_http_integrations_redis_cmd_t) + tail;

    if (size <= NGX_HTTP_INTEGRATIONS_REDIS_CMD_SIZE) {

        if (!ngx_queue_empty(&ngx_http_integrations_redis_w.free)) {
            q = ngx_queue_head(&ngx_http_integrations_redis_w.free);
            ngx_queue_remove(q);
            ngx_http_integrations_redis_w.nfree--;

            return ngx_queue_data(q, ngx_http_integrations_redis_cmd_t,
                                  queue);
        }

        size = NGX_HTTP_INTEGRATIONS_REDIS_CMD_SIZE;
    }

    cmd = ngx_alloc(size, ngx_http_integrations_redis_w.log);
    if (cmd == NULL) {
        return NULL;
    }

    cmd->size = size;

    return cmd;
}


static void
ngx_http_integrations_redis_cmd_free(ngx_http_integrations_redis_cmd_t *cmd)
{
    if (cmd->size == NGX_HTTP_INTEGRATIONS_REDIS_CMD_SIZE
        && ngx_http_integrations_redis_w.nfree
           < NGX_HTTP_INTEGRATIONS_REDIS_CMD_KEPT
        && ngx_http_integrations_redis_w.conf != NULL)
    {
        ngx_queue_insert_head(&ngx_http_integrations_redis_w.free,
                              &cmd->queue);
        ngx_http_integrations_redis_w.nfree++;
        return;
    }

    ngx_free(cmd);
}


/* room for len more bytes of output at *p */

static ngx_int_t
ngx_http_integrations_redis_append(ngx_http_integrations_redis_conn_t *rc,
    size_t len, u_char **p)
{
    u_char  *out;
    size_t   size;

    if (rc->out_pos && rc->out_pos == rc->out_len) {
        rc->out_pos = 0;
        rc->out_len = 0;
    }

    if (rc->out_size - rc->out_len < len) {
        size = rc->out_size ? rc->out_size : NGX_HTTP_INTEGRATIONS_REDIS_OUT;

        while (size - rc->out_len < len) {
            size *= 2;
        }

        out = ngx_alloc(size, ngx_http_integrations_redis_w.log);
        if (out == NULL) {
            return NGX_ERROR;
        }

        if (rc->out) {
            ngx_memcpy(out, rc->out, rc->out_len);
            OPENSSL_cleanse(rc->out, rc->out_len);
            ngx_free(rc->out);
        }

        rc->out = out;
        rc->out_size = size;
    }

    *p = rc->out + rc->out_len;
    rc->out_len += len;

    return NGX_OK;
}


static void
ngx_http_integrations_redis_schedule(ngx_http_integrations_redis_conn_t *rc)
{
    ngx_event_t  *wev;

    wev = rc->c->write;

    if (rc->state == NGX_HTTP_INTEGRATIONS_REDIS_READY && wev->ready
        && !wev->posted)
    {
        ngx_post_event(wev, &ngx_posted_events);
    }

    ngx_http_integrations_redis_timer(rc);
}


static void
ngx_http_integrations_redis_write_handler(ngx_event_t *wev)
{
    int                                  err;
    ssize_t                              n;
    socklen_t                            len;
    ngx_connection_t                    *c;
    ngx_http_integrations_redis_conn_t  *rc;

    c = wev->data;
    rc = c->data;

    if (rc->state == NGX_HTTP_INTEGRATIONS_REDIS_CONNECTING) {

        if (wev->timedout) {
            ngx_http_integrations_redis_fail(rc, "connect() timed out", 0);
            return;
        }

        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            ngx_http_integrations_redis_fail(rc, "connect() failed", err);
            return;
        }

        if (wev->timer_set) {
            ngx_del_timer(wev);
        }

        rc->state = NGX_HTTP_INTEGRATIONS_REDIS_READY;
    }

    while (rc->out_pos < rc->out_len) {

        n = c->send(c, rc->out + rc->out_pos, rc->out_len - rc->out_pos);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR) {
            ngx_http_integrations_redis_fail(rc, "send() failed",
                                             ngx_socket_errno);
            return;
        }

        rc->out_pos += n;
    }

    if (rc->secret_end && rc->out_pos >= rc->secret_end) {
        OPENSSL_cleanse(rc->out, rc->secret_end);
        rc->secret_end = 0;
    }

    if (rc->out_pos == rc->out_len) {
        rc->out_pos = 0;
        rc->out_len = 0;
    }

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_integrations_redis_fail(rc, "epoll failed", 0);
    }
}


static void
ngx_http_integrations_redis_read_handler(ngx_event_t *rev)
{
    int                                  prc;
    u_char                              *in;
    size_t                               used, size;
    ssize_t                              n;
    ngx_queue_t                         *q;
    const char                          *err;
    ngx_connection_t                    *c;
    integrations_resp_reply_t            reply;
    ngx_http_integrations_redis_cmd_t   *cmd;
    ngx_http_integrations_redis_conn_t  *rc;

    c = rev->data;
    rc = c->data;

    if (rev->timedout) {
        ngx_http_integrations_redis_fail(rc, "timed out", 0);
        return;
    }

    for ( ;; ) {

        if (rc->in_pos == rc->in_len) {
            rc->in_pos = 0;
            rc->in_len = 0;
        }

        if (rc->in_len == rc->in_size) {

            if (rc->in_pos) {
                ngx_memmove(rc->in, rc->in + rc->in_pos,
                            rc->in_len - rc->in_pos);
                rc->in_len -= rc->in_pos;
                rc->in_pos = 0;

            } else {
                size = rc->in_size ? 2 * rc->in_size
                                   : NGX_HTTP_INTEGRATIONS_REDIS_IN;

                if (size > NGX_HTTP_INTEGRATIONS_REDIS_IN_MAX) {
                    ngx_http_integrations_redis_fail(rc,
                                                     "reply too large", 0);
                    return;
                }

                in = ngx_alloc(size, c->log);
                if (in == NULL) {
                    ngx_http_integrations_redis_fail(rc, "out of memory", 0);
                    return;
                }

                if (rc->in) {
                    ngx_memcpy(in, rc->in, rc->in_len);
                    ngx_free(rc->in);
                }

                rc->in = in;
                rc->in_size = size;
            }
        }

        n = c->recv(c, rc->in + rc->in_len, rc->in_size - rc->in_len);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            if (ngx_queue_empty(&rc->cmds)) {
                /* an idle connection Redis closed: no loss */
                ngx_http_integrations_redis_close(rc, 0);
                return;
            }

            ngx_http_integrations_redis_fail(rc, n == 0
                                             ? "connection closed by Redis"
                                             : "recv() failed", 0);
            return;
        }

        rc->in_len += n;

        /* every complete reply answers the oldest command */

        for ( ;; ) {
            err = NULL;
            prc = integrations_resp_parse(rc->in + rc->in_pos,
                                          rc->in_len - rc->in_pos, &reply,
                                          &used, &err);

            if (prc == INTEGRATIONS_RESP_AGAIN) {
                break;
            }

            if (prc == INTEGRATIONS_RESP_INVALID
                || ngx_queue_empty(&rc->cmds))
            {
                ngx_http_integrations_redis_fail(rc, err ? err
                                                 : "a reply to no command",
                                                 0);
                return;
            }

            q = ngx_queue_head(&rc->cmds);
            ngx_queue_remove(q);
            cmd = ngx_queue_data(q, ngx_http_integrations_redis_cmd_t, queue);

            if (ngx_http_integrations_redis_reply(rc, cmd, &reply)
                != NGX_OK)
            {
                return;
            }

            rc->in_pos += used;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_integrations_redis_fail(rc, "epoll failed", 0);
        return;
    }

    ngx_http_integrations_redis_timer(rc);
}


/*
 * One reply for one command.  NGX_OK, or NGX_ERROR once the connection is
 * closed (the command was freed, or failed with the others).
 */

static ngx_int_t
ngx_http_integrations_redis_reply(ngx_http_integrations_redis_conn_t *rc,
    ngx_http_integrations_redis_cmd_t *cmd, integrations_resp_reply_t *reply)
{
    u_char                                   *p;
    size_t                                    len;

    if (cmd->internal) {

        if (cmd->internal == NGX_HTTP_INTEGRATIONS_REDIS_PING) {
            ngx_http_integrations_redis_w.probing = 0;
        }

        if (reply->v[0].type == INTEGRATIONS_RESP_ERROR) {
            /* AUTH's error does not echo the password */
            ngx_log_error(NGX_LOG_ERR, rc->c->log, 0,
                          "redis: %s refused: \"%*s\"",
                          cmd->internal == NGX_HTTP_INTEGRATIONS_REDIS_AUTH
                          ? "AUTH"
                          : cmd->internal == NGX_HTTP_INTEGRATIONS_REDIS_SELECT
                          ? "SELECT" : "PING",
                          ngx_min(reply->v[0].len, 200), reply->v[0].data);
            ngx_http_integrations_redis_cmd_free(cmd);
            ngx_http_integrations_redis_fail(rc, "refused the connection", 0);
            return NGX_ERROR;
        }

        if (cmd->internal == NGX_HTTP_INTEGRATIONS_REDIS_PING) {
            ngx_http_integrations_redis_set_state(1, NULL, 0);
        }

        ngx_http_integrations_redis_cmd_free(cmd);
        return NGX_OK;
    }

    if (cmd->script && integrations_resp_is_error(&reply->v[0], "NOSCRIPT")) {

        /* the same arguments as EVAL, the script in full */

        len = integrations_resp_array_len(cmd->argc)
              + integrations_resp_bulk_len(4)
              + integrations_resp_bulk_len(cmd->script->text.len)
              + cmd->tail_len;

        if (ngx_http_integrations_redis_append(rc, len, &p) != NGX_OK) {
            ngx_http_integrations_redis_fail(rc, "out of memory", 0);
            ngx_http_integrations_redis_cmd_free(cmd);
            return NGX_ERROR;
        }

        p = integrations_resp_array(p, cmd->argc);
        p = integrations_resp_bulk(p, (u_char *) "EVAL", 4);
        p = integrations_resp_bulk(p, cmd->script->text.data,
                                   cmd->script->text.len);
        ngx_memcpy(p, cmd->tail, cmd->tail_len);

        /* answered without the script: no other command of this one */
        cmd->script = NULL;

        ngx_queue_insert_tail(&rc->cmds, &cmd->queue);
        ngx_http_integrations_redis_schedule(rc);

        return NGX_OK;
    }

    if (reply->v[0].type == INTEGRATIONS_RESP_ERROR) {

        if (integrations_resp_is_error(&reply->v[0], "NOAUTH")
            || integrations_resp_is_error(&reply->v[0], "WRONGPASS")
            || integrations_resp_is_error(&reply->v[0], "NOPERM")
            || integrations_resp_is_error(&reply->v[0], "LOADING")
            || integrations_resp_is_error(&reply->v[0], "BUSY")
            || integrations_resp_is_error(&reply->v[0], "MASTERDOWN")
            || integrations_resp_is_error(&reply->v[0], "READONLY"))
        {
            /* this Redis cannot answer: down, logged once, probed */
            ngx_queue_insert_head(&rc->cmds, &cmd->queue);
            ngx_http_integrations_redis_fail(rc, "it refuses commands", 0);
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_ERR, cmd->log, 0,
                      "redis: command refused: \"%*s\"",
                      ngx_min(reply->v[0].len, 200), reply->v[0].data);
    }

    ngx_http_integrations_redis_set_state(1, NULL, 0);

    if (cmd->done) {
        cmd->done(cmd, reply);
    }

    ngx_http_integrations_redis_cmd_free(cmd);

    return NGX_OK;
}


/*
 * The read timer: the oldest command's deadline, exactly (ngx_add_timer()
 * alone may leave a timer up to 300 ms off, longer than a short timeout).
 */

static void
ngx_http_integrations_redis_timer(ngx_http_integrations_redis_conn_t *rc)
{
    ngx_msec_t                          now;
    ngx_event_t                        *rev;
    ngx_http_integrations_redis_cmd_t  *cmd;

    rev = rc->c->read;

    if (ngx_queue_empty(&rc->cmds)) {
        if (rev->timer_set) {
            ngx_del_timer(rev);
        }

        return;
    }

    cmd = ngx_queue_data(ngx_queue_head(&rc->cmds),
                         ngx_http_integrations_redis_cmd_t, queue);

    if (rev->timer_set) {
        if (rc->timer == cmd->deadline) {
            return;
        }

        ngx_del_timer(rev);
    }

    now = ngx_current_msec;
    rc->timer = cmd->deadline;

    ngx_add_timer(rev, ((ngx_msec_int_t) (cmd->deadline - now) > 0)
                       ? cmd->deadline - now : 1);
}


/* the connection failed: Redis is taken to be down, its commands fail */

static void
ngx_http_integrations_redis_fail(ngx_http_integrations_redis_conn_t *rc,
    const char *why, ngx_err_t err)
{
    ngx_http_integrations_redis_set_state(0, why, err);
    ngx_http_integrations_redis_close(rc, 1);
}


static void
ngx_http_integrations_redis_close(ngx_http_integrations_redis_conn_t *rc,
    ngx_uint_t notify)
{
    ngx_queue_t                         *q, cmds;
    ngx_http_integrations_redis_cmd_t   *cmd;

    if (rc->c) {
        ngx_close_connection(rc->c);
        rc->c = NULL;
    }

    rc->state = NGX_HTTP_INTEGRATIONS_REDIS_CLOSED;

    if (rc->out) {
        OPENSSL_cleanse(rc->out, rc->out_len);
    }

    rc->out_pos = 0;
    rc->out_len = 0;
    rc->secret_end = 0;
    rc->in_pos = 0;
    rc->in_len = 0;

    /* done() may send again: the failed ones are taken out first */

    ngx_queue_init(&cmds);

    if (!ngx_queue_empty(&rc->cmds)) {
        cmds = rc->cmds;
        cmds.next->prev = &cmds;
        cmds.prev->next = &cmds;
        ngx_queue_init(&rc->cmds);
    }

    while (!ngx_queue_empty(&cmds)) {
        q = ngx_queue_head(&cmds);
        ngx_queue_remove(q);
        cmd = ngx_queue_data(q, ngx_http_integrations_redis_cmd_t, queue);

        if (cmd->internal == NGX_HTTP_INTEGRATIONS_REDIS_PING) {
            ngx_http_integrations_redis_w.probing = 0;
        }

        if (notify && cmd->done) {
            ngx_http_integrations_status_increment(
                                  ngx_http_integrations_redis_w.conf->failed);
            cmd->done(cmd, NULL);
        }

        ngx_http_integrations_redis_cmd_free(cmd);
    }
}


/*
 * This worker's view, and the shared word: the worker that changes the
 * word logs the change, once for all workers.  Down arms the probe.
 */

static void
ngx_http_integrations_redis_set_state(ngx_uint_t up, const char *why,
    ngx_err_t err)
{
    ngx_atomic_uint_t                         old, new;
    ngx_http_integrations_redis_main_conf_t  *conf;

    conf = ngx_http_integrations_redis_w.conf;

    if (ngx_http_integrations_redis_w.up == up) {
        return;
    }

    ngx_http_integrations_redis_w.up = up;

    if (!up && !ngx_http_integrations_redis_w.probe.timer_set) {
        ngx_add_timer(&ngx_http_integrations_redis_w.probe,
                      NGX_HTTP_INTEGRATIONS_REDIS_PROBE);
    }

    new = up ? NGX_HTTP_INTEGRATIONS_REDIS_S_UP
             : NGX_HTTP_INTEGRATIONS_REDIS_S_DOWN;

    for ( ;; ) {
        old = *conf->state;

        if (old == new) {
            return;
        }

        if (ngx_atomic_cmp_set(conf->state, old, new)) {
            break;
        }
    }

    if (up) {
        if (old != NGX_HTTP_INTEGRATIONS_REDIS_S_UNKNOWN) {
            ngx_log_error(NGX_LOG_WARN, ngx_http_integrations_redis_w.log, 0,
                          "redis: %V is up again", &conf->url);
        }

        return;
    }

    ngx_http_integrations_status_increment(conf->downs);

    ngx_log_error(NGX_LOG_WARN, ngx_http_integrations_redis_w.log, err,
                  "redis: %V is down (%s): deciding without it, as each "
                  "zone's on_error says, until it answers",
                  &conf->url, why);
}


/* while down: once a second, a PING on the first connection */

static void
ngx_http_integrations_redis_probe_handler(ngx_event_t *ev)
{
    ngx_str_t                            ping;
    ngx_http_integrations_redis_conn_t  *rc;

    if (ngx_http_integrations_redis_w.up || ngx_exiting || ngx_terminate
        || ngx_quit)
    {
        return;
    }

    rc = &ngx_http_integrations_redis_w.conns[0];

    if (!ngx_http_integrations_redis_w.probing
        && (rc->state != NGX_HTTP_INTEGRATIONS_REDIS_CLOSED
            || ngx_http_integrations_redis_connect(rc) == NGX_OK))
    {
        ngx_str_set(&ping, "PING");

        if (ngx_http_integrations_redis_queue(rc, 1, &ping, NULL,
                                          NGX_HTTP_INTEGRATIONS_REDIS_PING)
            == NULL)
        {
            ngx_http_integrations_redis_close(rc, 1);

        } else {
            ngx_http_integrations_redis_w.probing = 1;
        }
    }

    if (!ngx_http_integrations_redis_w.up && !ev->timer_set) {
        ngx_add_timer(ev, NGX_HTTP_INTEGRATIONS_REDIS_PROBE);
    }
}


static ngx_int_t
ngx_http_integrations_redis_shm_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                          *shpool;
    ngx_http_integrations_redis_main_conf_t  *rmcf;

    rmcf = shm_zone->data;

    if (data) {
        /* a reload: the word of the old cycle goes on */
        rmcf->state = data;
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        rmcf->state = shpool->data;
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    rmcf->state = ngx_slab_calloc(shpool, sizeof(ngx_atomic_t));
    if (rmcf->state == NULL) {
        return NGX_ERROR;
    }

    shpool->data = (void *) rmcf->state;
    shm_zone->data = (void *) rmcf->state;

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_redis_collect(ngx_http_integrations_status_writer_t *w,
    void *data)
{
    ngx_http_integrations_redis_main_conf_t *rmcf = data;

    if (ngx_http_integrations_status_family(w, "integrations_redis_up",
                            NGX_HTTP_INTEGRATIONS_STATUS_GAUGE,
                            "1 while Redis answers, 0 while it is taken to "
                            "be down.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_integrations_status_sample(w, NULL, 0,
                    *rmcf->state == NGX_HTTP_INTEGRATIONS_REDIS_S_DOWN ? 0 : 1);
}


static char *
ngx_http_integrations_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_integrations_redis_main_conf_t *rmcf = conf;

    u_char                    *p;
    ngx_str_t                 *value, s, path;
    ngx_url_t                  u;
    ngx_int_t                  n;
    ngx_uint_t                 i;
    const char                *err;
    ngx_pool_cleanup_t        *cln;
    integrations_redis_url_t   url;

    if (rmcf->url.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    err = integrations_redis_url_parse(value[1].data, value[1].len, &url);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive invalid URL \"%V\": %s",
                           &cmd->name, &value[1], err);
        return NGX_CONF_ERROR;
    }

    rmcf->url = value[1];
    rmcf->db = url.db;

    /* nginx's own parser finds the address: "unix:/path" or host:port */

    ngx_memzero(&u, sizeof(ngx_url_t));

    p = ngx_pnalloc(cf->pool, url.host_len + sizeof("unix:[]:65535"));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    if (url.unix_socket) {
        u.url.len = ngx_sprintf(p, "unix:%*s", url.host_len, url.host) - p;

    } else if (ngx_strlchr((u_char *) url.host,
                           (u_char *) url.host + url.host_len, ':'))
    {
        u.url.len = ngx_sprintf(p, "[%*s]:%ui", url.host_len, url.host,
                                (ngx_uint_t) url.port) - p;

    } else {
        u.url.len = ngx_sprintf(p, "%*s:%ui", url.host_len, url.host,
                                (ngx_uint_t) url.port) - p;
    }

    u.url.data = p;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive cannot use \"%V\": %s",
                           &cmd->name, &value[1],
                           u.err ? u.err : "no address");
        return NGX_CONF_ERROR;
    }

    rmcf->addr = u.addrs[0];

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "password_file=", 14) == 0) {

            path.data = value[i].data + 14;
            path.len = value[i].len - 14;

            if (path.len == 0) {
                goto invalid;
            }

            if (ngx_http_integrations_secret_read(cf, &cmd->name, &path,
                                                  &rmcf->password)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {

            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            n = ngx_parse_time(&s, 0);

            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            rmcf->timeout = (ngx_msec_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "pool=", 5) == 0) {

            n = ngx_atoi(value[i].data + 5, value[i].len - 5);

            if (n == NGX_ERROR || n == 0
                || n > NGX_HTTP_INTEGRATIONS_REDIS_MAX_POOL)
            {
                goto invalid;
            }

            rmcf->pool = (ngx_uint_t) n;
            continue;
        }

        goto invalid;
    }

    if (rmcf->password.len) {
        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_integrations_redis_cleanse;
        cln->data = &rmcf->password;
    }

    ngx_str_set(&s, "integrations_redis");

    rmcf->shm_zone = ngx_shared_memory_add(cf, &s, 8 * ngx_pagesize,
                                        &ngx_http_integrations_redis_module);
    if (rmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    rmcf->shm_zone->init = ngx_http_integrations_redis_shm_init;
    rmcf->shm_zone->data = rmcf;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive invalid parameter \"%V\"",
                       &cmd->name, &value[i]);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_integrations_redis_postconf(ngx_conf_t *cf)
{
    ngx_http_integrations_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_integrations_redis_module);

    if (rmcf->url.len == 0) {
        return NGX_OK;
    }

    if (rmcf->timeout == NGX_CONF_UNSET_MSEC) {
        rmcf->timeout = NGX_HTTP_INTEGRATIONS_REDIS_TIMEOUT;
    }

    if (rmcf->pool == NGX_CONF_UNSET_UINT) {
        rmcf->pool = NGX_HTTP_INTEGRATIONS_REDIS_POOL;
    }

    rmcf->commands = ngx_http_integrations_status_add_counter(cf,
                         "integrations_redis_commands_total",
                         "Commands sent to Redis.");
    rmcf->failed = ngx_http_integrations_status_add_counter(cf,
                         "integrations_redis_failures_total",
                         "Commands that got no answer from Redis (timed "
                         "out, connection lost).");
    rmcf->downs = ngx_http_integrations_status_add_counter(cf,
                         "integrations_redis_down_total",
                         "Times Redis was found down.");

    if (rmcf->commands == NULL || rmcf->failed == NULL || rmcf->downs == NULL)
    {
        return NGX_ERROR;
    }

    return ngx_http_integrations_status_add_collector(cf,
                                       ngx_http_integrations_redis_collect,
                                       rmcf);
}


static void *
ngx_http_integrations_redis_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_redis_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_redis_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    rmcf->timeout = NGX_CONF_UNSET_MSEC;
    rmcf->pool = NGX_CONF_UNSET_UINT;

    return rmcf;
}


static void
ngx_http_integrations_redis_cleanse(void *data)
{
    ngx_str_t  *s = data;

    OPENSSL_cleanse(s->data, s->len);
}


static ngx_int_t
ngx_http_integrations_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                                i;
    ngx_http_conf_ctx_t                      *ctx;
    ngx_http_integrations_redis_main_conf_t  *rmcf;

    ngx_memzero(&ngx_http_integrations_redis_w,
                sizeof(ngx_http_integrations_redis_worker_t));

    ctx = (ngx_http_conf_ctx_t *) cycle->conf_ctx[ngx_http_module.index];
    if (ctx == NULL) {
        return NGX_OK;
    }

    rmcf = ctx->main_conf[ngx_http_integrations_redis_module.ctx_index];

    if (rmcf == NULL || rmcf->url.len == 0) {
        return NGX_OK;
    }

    ngx_http_integrations_redis_w.conns = ngx_pcalloc(cycle->pool,
                   rmcf->pool * sizeof(ngx_http_integrations_redis_conn_t));
    if (ngx_http_integrations_redis_w.conns == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < rmcf->pool; i++) {
        ngx_queue_init(&ngx_http_integrations_redis_w.conns[i].cmds);
    }

    ngx_queue_init(&ngx_http_integrations_redis_w.free);

    ngx_http_integrations_redis_w.log = cycle->log;
    ngx_http_integrations_redis_w.probe.handler =
                                      ngx_http_integrations_redis_probe_handler;
    ngx_http_integrations_redis_w.probe.log = cycle->log;
    ngx_http_integrations_redis_w.probe.data = &ngx_http_integrations_redis_w;
    ngx_http_integrations_redis_w.probe.cancelable = 1;

    /* taken to be up until a command says otherwise */
    ngx_http_integrations_redis_w.up = 1;
    ngx_http_integrations_redis_w.conf = rmcf;

    return NGX_OK;
}


static void
ngx_http_integrations_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                           i;
    ngx_queue_t                         *q;
    ngx_http_integrations_redis_conn_t  *rc;

    if (ngx_http_integrations_redis_w.conf == NULL) {
        return;
    }

    for (i = 0; i < ngx_http_integrations_redis_w.conf->pool; i++) {
        rc = &ngx_http_integrations_redis_w.conns[i];

        ngx_http_integrations_redis_close(rc, 0);

        if (rc->out) {
            ngx_free(rc->out);
            rc->out = NULL;
        }

        if (rc->in) {
            ngx_free(rc->in);
            rc->in = NULL;
        }
    }

    if (ngx_http_integrations_redis_w.probe.timer_set) {
        ngx_del_timer(&ngx_http_integrations_redis_w.probe);
    }

    ngx_http_integrations_redis_w.conf = NULL;

    while (!ngx_queue_empty(&ngx_http_integrations_redis_w.free)) {
        q = ngx_queue_head(&ngx_http_integrations_redis_w.free);
        ngx_queue_remove(q);
        ngx_free(ngx_queue_data(q, ngx_http_integrations_redis_cmd_t, queue));
    }
}
