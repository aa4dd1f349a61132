/*
 * The Redis client: RESP2 (integrations_resp.h) over nginx connections,
 * on the worker's event loop, never blocking.
 *
 *     integrations_redis  redis://10.0.0.5:6379/0  password_file=redis.pw
 *                         timeout=1s  pool=2;
 *
 * Each worker keeps "pool" connections (opened on first use, after the
 * fork) and sends every command down one of them, round robin, without
 * waiting for the replies before it: the commands that the requests of one
 * event-loop turn send leave in one write (pipelining), and the replies
 * come back in order.  AUTH (password_file=) and SELECT (the URL's
 * database) go first on every new connection.
 *
 * A command is answered within the timeout or fails: the oldest command
 * on a connection sets its read timer; when it fires, the connection is
 * closed and every command on it fails.  So does a connection that breaks
 * (Redis restarted), that cannot be opened, or whose peer speaks anything
 * but RESP2.  After a failure the worker takes Redis to be down: commands
 * are refused at once (so a request never waits for a Redis it already
 * knows to be gone), and once a second one connection is tried with a
 * PING; its answer brings Redis back.  The change of state is logged
 * once, at "warn", by the worker that notices it first (a word in shared
 * memory), and counted.
 *
 * Use:
 *
 *     cmd = ngx_http_integrations_redis_send(argc, argv, script,
 *                                            done, data, log);
 *
 * argv are the command's arguments (binary safe); with a script, they are
 * what follows the script in EVAL (numkeys, keys, arguments): the script
 * is sent as EVALSHA, and again as EVAL when Redis answers NOSCRIPT
 * (after a restart, say).  NULL: Redis cannot be asked now (not
 * configured, down, out of memory); the caller decides at once on its
 * own.  Otherwise done(cmd, reply) runs later on the event loop, never
 * from within send(): reply is the answer (an error reply too), or NULL
 * when the command failed; its values point into the connection's buffer
 * and are valid only during done().  The command belongs to the client
 * (a request that goes away does not free it): until done() runs, the
 * caller may ngx_http_integrations_redis_cancel() it, and done() is then
 * never called.
 */

#ifndef NGX_HTTP_INTEGRATIONS_REDIS_H
#define NGX_HTTP_INTEGRATIONS_REDIS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_resp.h"


#define NGX_HTTP_INTEGRATIONS_REDIS_MAX_ARGS  16


typedef struct ngx_http_integrations_redis_cmd_s
    ngx_http_integrations_redis_cmd_t;

typedef void (*ngx_http_integrations_redis_done_pt)(
    ngx_http_integrations_redis_cmd_t *cmd,
    integrations_resp_reply_t *reply);


/* a Lua script, its SHA1 computed once */

typedef struct {
    ngx_str_t                             text;
    u_char                                sha[40];
} ngx_http_integrations_redis_script_t;


struct ngx_http_integrations_redis_cmd_s {
    ngx_http_integrations_redis_done_pt   done;        /* NULL: cancelled */
    void                                 *data;
    ngx_log_t                            *log;

    /* private */
    ngx_queue_t                           queue;
    ngx_msec_t                            deadline;
    ngx_http_integrations_redis_script_t *script;
    u_char                               *tail;        /* EVAL's arguments
                                                          after the script */
    size_t                                tail_len;
    ngx_uint_t                            argc;
    ngx_uint_t                            internal;    /* AUTH, SELECT,
                                                          PING */
    size_t                                size;        /* allocated */
    void                                 *conn;
};


/*
 * At configuration time: whether integrations_redis is set (a directive
 * naming scope=cluster needs it: checked at postconfiguration), and a
 * script's SHA1.
 */
ngx_int_t ngx_http_integrations_redis_configured(ngx_conf_t *cf);

void ngx_http_integrations_redis_script_init(
    ngx_http_integrations_redis_script_t *script, const char *text);

/* The timeout of integrations_redis (for the callers' own timers). */
ngx_msec_t ngx_http_integrations_redis_timeout(void);

ngx_http_integrations_redis_cmd_t *ngx_http_integrations_redis_send(
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_integrations_redis_script_t *script,
    ngx_http_integrations_redis_done_pt done, void *data, ngx_log_t *log);

/*
 * Writes the command (and what is queued before it) now rather than at
 * the end of this turn of the event loop: for a command that an answer
 * to the client must not overtake (a delivery recorded before the
 * provider hears it was).  done() may run from within it if the write
 * fails.
 */
void ngx_http_integrations_redis_flush(ngx_http_integrations_redis_cmd_t *cmd);

#define ngx_http_integrations_redis_cancel(cmd)                             \
    do {                                                                    \
        (cmd)->done = NULL;                                                 \
        (cmd)->data = NULL;                                                 \
        (cmd)->log = ngx_cycle->log;                                        \
    } while (0)

/* This worker's view: Redis answers (1) or is taken to be down (0). */
ngx_uint_t ngx_http_integrations_redis_up(void);


extern ngx_module_t  ngx_http_integrations_redis_module;

#endif /* NGX_HTTP_INTEGRATIONS_REDIS_H */
