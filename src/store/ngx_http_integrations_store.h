/*
 * The durable store's nginx glue: the "integrations_store" directive, the
 * thread pool the operations run on, their results delivered back to the
 * event loop, the store's health, its metrics, and background cleanups.
 *
 *     integrations_store  sqlite:/var/lib/nginx/integrations/store.db;
 *     integrations_store  postgresql://gw@db.internal:5432/gateway
 *                         password_file=/etc/nginx/secrets/db threads=4;
 *
 * A feature uses the store through operations (integrations_store.h lists
 * them, with their arguments and results); it never sees SQL or which
 * database is behind.  From a content handler, for a request:
 *
 *     op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_IDEM_BEGIN,
 *                                         0);
 *     op->core.in.idem_begin.key = ...;       (bytes that outlive the op:
 *                                               the request's pool does)
 *     op->done = my_done;  op->data = my_ctx;
 *
 *     rc = ngx_http_integrations_store_post(op, r);
 *     if (rc != NGX_OK) {
 *         return ngx_http_integrations_store_unavailable(r);  (503)
 *     }
 *     return NGX_DONE;  (the handler keeps the request: r->main->count++)
 *
 * The request is held as nginx holds one that waits for a file read in a
 * thread (r->main->blocked, r->aio), so it cannot be freed under the
 * operation; the worker does not exit with one in flight.  my_done(op)
 * runs on the event loop when the operation is over:
 *
 *   - op->core.rc: INTEGRATIONS_STORE_OK, or why not (UNAVAILABLE,
 *     TIMEOUT, SCHEMA, OVERLOAD, ERROR): answer 503 then;
 *   - op->core.out: the results; bytes in them are freed with the op
 *     right after my_done() returns: copy what is kept;
 *   - op->abandoned: the client went away meanwhile.  The request is being
 *     torn down: do no I/O on it, only settle what the result leaves (a
 *     key taken must be released: post a background operation).
 *
 * Without a request (a timer, a cleanup): post(op, NULL).  Bytes in "in"
 * must then live in the op: ngx_http_integrations_store_op() takes a size
 * of room for them, ngx_http_integrations_store_copy() fills it.  An
 * operation without a request is not waited for at exit: it still runs
 * to its end in its thread (nginx drains the pool), but done() may not.
 *
 * While the store is down (a stopped server, a full disk, an unwritable
 * file, a schema newer than this module) post() declines at once, without
 * queueing anything: one probe a second, from any worker, finds when it
 * is back.  The error log says so once per change of state.
 *
 * Background cleanups: a feature registers one at configuration time
 * (ngx_http_integrations_store_add_cleanup(), from its postconfiguration);
 * the store runs it every interval, in batches of "batch" rows until none
 * is left, on one worker of one node at a time (under the store lease
 * "integrations_cleanup"), never on a request's path.
 */

#ifndef NGX_HTTP_INTEGRATIONS_STORE_H
#define NGX_HTTP_INTEGRATIONS_STORE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "integrations_store.h"


typedef struct ngx_http_integrations_store_op_s
    ngx_http_integrations_store_op_t;

typedef void (*ngx_http_integrations_store_done_pt)(
    ngx_http_integrations_store_op_t *op);


struct ngx_http_integrations_store_op_s {
    integrations_store_op_t               core;     /* in, out, rc */
    ngx_http_integrations_store_done_pt   done;
    void                                 *data;
    unsigned                              abandoned:1;

    /* private */
    ngx_thread_task_t                     task;
    ngx_http_request_t                   *request;
    ngx_http_event_handler_pt             write_handler;
    ngx_event_t                           guard;
    uint64_t                              start;    /* us */
    ngx_atomic_uint_t                     seen;     /* the store's state */
    u_char                               *room;
    u_char                               *room_end;
};


/* Configuration time. */

/* 1 when the http block has an integrations_store */
ngx_int_t ngx_http_integrations_store_enabled(ngx_conf_t *cf);

/* the store's timeout (ms): how long an operation may take at most */
ngx_msec_t ngx_http_integrations_store_timeout(ngx_conf_t *cf);

/* a cleanup operation (its "in" is set by the store: now, limit) */
ngx_int_t ngx_http_integrations_store_add_cleanup(ngx_conf_t *cf,
    integrations_store_kind_e kind, ngx_msec_t interval, ngx_uint_t batch);

/* the same, for rows older than age: in.purge.before is now - age */
ngx_int_t ngx_http_integrations_store_add_cleanup_age(ngx_conf_t *cf,
    integrations_store_kind_e kind, ngx_msec_t interval, ngx_uint_t batch,
    ngx_msec_t age);


/* Run time. */

/* a zeroed operation with room bytes for "in" (malloc'd; NULL on error) */
ngx_http_integrations_store_op_t *ngx_http_integrations_store_op(
    integrations_store_kind_e kind, size_t room);

/* copies len bytes into the op's room and points *b at them */
ngx_int_t ngx_http_integrations_store_copy(
    ngx_http_integrations_store_op_t *op, integrations_store_bytes_t *b,
    const u_char *data, size_t len);

/*
 * NGX_OK: done() will run (and the op be freed after it).  Otherwise the
 * op is freed and nothing runs: NGX_DECLINED the store is down,
 * NGX_BUSY too many operations wait already, NGX_ERROR it could not be
 * queued; a request gets ngx_http_integrations_store_unavailable().
 */
ngx_int_t ngx_http_integrations_store_post(
    ngx_http_integrations_store_op_t *op, ngx_http_request_t *r);

/* frees an op that was not posted */
void ngx_http_integrations_store_free(ngx_http_integrations_store_op_t *op);

/* 503 problem+json "store_unavailable" with Retry-After */
ngx_int_t ngx_http_integrations_store_unavailable(ngx_http_request_t *r);

/* a random 63-bit fencing token for an attempt */
int64_t ngx_http_integrations_store_token(void);


extern ngx_module_t  ngx_http_integrations_store_module;

#endif /* NGX_HTTP_INTEGRATIONS_STORE_H */
