/*
 * Replay store for webhook deliveries: see ngx_http_integrations_dedupe.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <openssl/rand.h>

#include "ngx_http_integrations_dedupe.h"
#include "ngx_http_integrations_redis.h"
#include "ngx_http_integrations_zone.h"


#define NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT  1
#define NGX_HTTP_INTEGRATIONS_DEDUPE_S_DELIVERED  2

/* a token whose mark is in Redis, not in the node's zone */
#define NGX_HTTP_INTEGRATIONS_DEDUPE_REDIS                                  \
    ((ngx_uint_t) 1 << (sizeof(ngx_uint_t) * 8 - 1))

/* "f" + this worker's 16 hex digits + the token's: a mark in flight */
#define NGX_HTTP_INTEGRATIONS_DEDUPE_MARK_LEN    (1 + 16 + 16)


/* the value of a key; all zeroes: not marked */

typedef struct {
    time_t                          expire;
    ngx_uint_t                      token;
    ngx_uint_t                      state;
} ngx_http_integrations_dedupe_value_t;


/* the zone's own part of its header */

typedef struct {
    ngx_atomic_t                    seq;       /* of tokens */
} ngx_http_integrations_dedupe_totals_t;


struct ngx_http_integrations_dedupe_s {
    ngx_http_integrations_zone_t   *zone;      /* conf: this */
    time_t                          ttl;
    ngx_uint_t                      cluster;
    ngx_uint_t                      on_error_local;
    ngx_str_t                       prefix;    /* of the Redis keys */
    ngx_str_t                       ttl_ms;    /* as text, for PX */
};


/* one begin() or end(): the data of a zone operation */

typedef struct {
    ngx_uint_t                      begin;
    time_t                          now;
    time_t                          ttl;
    ngx_uint_t                      token;
    ngx_uint_t                      delivered;
    ngx_http_integrations_dedupe_rc_e  rc;
} ngx_http_integrations_dedupe_call_t;


static ngx_int_t ngx_http_integrations_dedupe_call(
    ngx_http_integrations_dedupe_t *dd, u_char *key, size_t len,
    ngx_http_integrations_dedupe_call_t *call, ngx_log_t *log);
static ngx_uint_t ngx_http_integrations_dedupe_apply(
    ngx_http_integrations_zone_op_t *op, void *value);
static ngx_uint_t ngx_http_integrations_dedupe_idle(
    ngx_http_integrations_zone_op_t *op, void *value);
static u_char *ngx_http_integrations_dedupe_key(
    ngx_http_integrations_dedupe_t *dd, u_char *key, size_t len,
    ngx_str_t *out);
static u_char *ngx_http_integrations_dedupe_mark(u_char *p,
    ngx_uint_t token);
static void ngx_http_integrations_dedupe_began(
    ngx_http_integrations_redis_cmd_t *cmd, integrations_resp_reply_t *reply);
static void ngx_http_integrations_dedupe_ended(
    ngx_http_integrations_redis_cmd_t *cmd, integrations_resp_reply_t *reply);


/*
 * end() in Redis: the caller's mark only (a mark that lapsed and was
 * taken by another copy, on any node, is left alone), DELIVERED for the
 * ttl, or removed.
 */

static const char  ngx_http_integrations_dedupe_end_lua[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
    "if ARGV[2] == '1' then\n"
    "  redis.call('SET', KEYS[1], 'd', 'PX', ARGV[3])\n"
    "else\n"
    "  redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 1\n";

static ngx_http_integrations_redis_script_t
    ngx_http_integrations_dedupe_end_script;

/* this worker's part of every mark it writes */
static u_char      ngx_http_integrations_dedupe_self[16];
static ngx_uint_t  ngx_http_integrations_dedupe_self_set;


/*
 * The marks are what stops a replay: an old zone that cannot be read is
 * refused, not emptied.
 */

static ngx_http_integrations_zone_type_t  ngx_http_integrations_dedupe_type = {
    "webhook_dedupe_zone",
    "evicting the oldest entries (logged once): replays older than them "
    "are no longer recognised, make the zone larger",
    0x77686464,                                    /* "whdd" */
    2,
    sizeof(ngx_http_integrations_dedupe_value_t),
    sizeof(ngx_http_integrations_dedupe_totals_t),
    0
};


ngx_http_integrations_dedupe_t *
ngx_http_integrations_dedupe_ref(ngx_conf_t *cf, ngx_str_t *name, void *tag)
{
    ngx_http_integrations_zone_t    *zone;
    ngx_http_integrations_dedupe_t  *dd;

    zone = ngx_http_integrations_zone_add(cf, name, 0,
                                          &ngx_http_integrations_dedupe_type,
                                          tag);

    if (zone != NULL && zone->conf == NULL) {

        /* the first mention of the name */

        dd = ngx_pcalloc(cf->pool, sizeof(ngx_http_integrations_dedupe_t));

        if (dd != NULL) {
            dd->zone = zone;
            dd->ttl = NGX_HTTP_INTEGRATIONS_DEDUPE_TTL;
        }

        zone->conf = dd;
    }

    return (zone == NULL) ? NULL : zone->conf;
}


ngx_http_integrations_dedupe_t *
ngx_http_integrations_dedupe_declare(ngx_conf_t *cf, ngx_str_t *name,
    size_t size, time_t ttl, void *tag)
{
    ngx_http_integrations_dedupe_t  *dd;

    if (ngx_http_integrations_zone_check_size(cf, size, name) != NGX_OK) {
        return NULL;
    }

    dd = ngx_http_integrations_dedupe_ref(cf, name, tag);
    if (dd == NULL) {
        return NULL;
    }

    if (dd->zone->declared) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", name);
        return NULL;
    }

    if (dd->zone->shm_zone->shm.size == 0) {
        dd->zone->shm_zone->shm.size = size;
    }

    dd->zone->declared = 1;
    dd->ttl = ttl;

    return dd;
}


ngx_int_t
ngx_http_integrations_dedupe_check(ngx_conf_t *cf,
    ngx_http_integrations_dedupe_t *dd)
{
    if (!dd->zone->declared) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown webhook_dedupe_zone \"%V\"",
                           &dd->zone->shm_zone->shm.name);
        return NGX_ERROR;
    }

    if (dd->cluster && !ngx_http_integrations_redis_configured(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook_dedupe_zone \"%V\" is scope=cluster: "
                           "\"integrations_redis\" is not set",
                           &dd->zone->shm_zone->shm.name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_integrations_dedupe_cluster(ngx_conf_t *cf,
    ngx_http_integrations_dedupe_t *dd, ngx_uint_t on_error_local)
{
    ngx_str_t  *name;

    name = &dd->zone->shm_zone->shm.name;

    dd->cluster = 1;
    dd->on_error_local = on_error_local;

    dd->prefix.len = sizeof("integrations:dd:") - 1 + name->len + 1;
    dd->prefix.data = ngx_pnalloc(cf->pool, dd->prefix.len);
    if (dd->prefix.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(dd->prefix.data, "integrations:dd:%V:", name);

    dd->ttl_ms.data = ngx_pnalloc(cf->pool, NGX_TIME_T_LEN + 3);
    if (dd->ttl_ms.data == NULL) {
        return NGX_ERROR;
    }

    dd->ttl_ms.len = ngx_sprintf(dd->ttl_ms.data, "%T000", dd->ttl)
                     - dd->ttl_ms.data;

    ngx_http_integrations_redis_script_init(
                                    &ngx_http_integrations_dedupe_end_script,
                                    ngx_http_integrations_dedupe_end_lua);

    return NGX_OK;
}


ngx_str_t *
ngx_http_integrations_dedupe_name(ngx_http_integrations_dedupe_t *dd)
{
    return &dd->zone->shm_zone->shm.name;
}


ngx_http_integrations_dedupe_rc_e
ngx_http_integrations_dedupe_begin(ngx_http_integrations_dedupe_t *dd,
    ngx_log_t *log, u_char *key, size_t len, ngx_uint_t *token,
    ngx_http_integrations_dedupe_wait_t *w)
{
    u_char                                 *p;
    ngx_str_t                               args[7];
    ngx_http_integrations_dedupe_call_t     call;
    ngx_http_integrations_dedupe_totals_t  *totals;
    u_char                     mark[NGX_HTTP_INTEGRATIONS_DEDUPE_MARK_LEN];

    if (len == 0 || len > NGX_HTTP_INTEGRATIONS_DEDUPE_KEY_MAX) {
        return NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED;
    }

    totals = dd->zone->data;

    /* taken before: apply() touches nothing but the key's value */

    call.begin = 1;
    call.token = (ngx_atomic_fetch_add(&totals->seq, 1) + 1)
                 & ~NGX_HTTP_INTEGRATIONS_DEDUPE_REDIS;

    if (dd->cluster && w) {

        if (!ngx_http_integrations_redis_up()) {
            goto unavailable;
        }

        /* SET PREFIX+KEY MARK NX PX 600000 GET */

        w->dd = dd;
        w->log = log;
        w->key = key;
        w->len = len;
        w->token = call.token | NGX_HTTP_INTEGRATIONS_DEDUPE_REDIS;

        p = ngx_http_integrations_dedupe_key(dd, key, len, &args[1]);
        if (p == NULL) {
            return NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED;
        }

        ngx_str_set(&args[0], "SET");
        args[2].data = mark;
        args[2].len = ngx_http_integrations_dedupe_mark(mark, w->token)
                      - mark;
        ngx_str_set(&args[3], "NX");
        ngx_str_set(&args[4], "PX");
        ngx_str_set(&args[5], "600000");    /* IN_FLIGHT_MAX */
        ngx_str_set(&args[6], "GET");

        w->cmd = ngx_http_integrations_redis_send(7, args, NULL,
                                         ngx_http_integrations_dedupe_began,
                                         w, log);
        ngx_free(p);

        if (w->cmd == NULL) {
            goto unavailable;
        }

        return NGX_HTTP_INTEGRATIONS_DEDUPE_AGAIN;
    }

    if (ngx_http_integrations_dedupe_call(dd, key, len, &call, log)
        != NGX_OK)
    {
        return NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED;
    }

    *token = call.token;

    return call.rc;

unavailable:

    if (!dd->on_error_local) {
        return NGX_HTTP_INTEGRATIONS_DEDUPE_UNAVAILABLE;
    }

    return ngx_http_integrations_dedupe_begin(dd, log, key, len, token, NULL);
}


/*
 * The request goes while Redis is asked: the command stays, and a mark
 * it takes is removed at once (as end() would remove it), so that the
 * provider's retry goes through.
 */

typedef struct {
    ngx_http_integrations_dedupe_t  *dd;
    ngx_uint_t                       token;
    size_t                           len;
    u_char                           key[1];
} ngx_http_integrations_dedupe_orphan_t;


static void
ngx_http_integrations_dedupe_orphaned(ngx_http_integrations_redis_cmd_t *cmd,
    integrations_resp_reply_t *reply)
{
    ngx_http_integrations_dedupe_orphan_t *o = cmd->data;

    if (reply && reply->v[0].type == INTEGRATIONS_RESP_NIL) {
        ngx_http_integrations_dedupe_end(o->dd, o->key, o->len, o->token, 0);
    }

    ngx_free(o);
}


void
ngx_http_integrations_dedupe_cancel(ngx_http_integrations_dedupe_wait_t *w)
{
    ngx_http_integrations_redis_cmd_t      *cmd;
    ngx_http_integrations_dedupe_orphan_t  *o;

    cmd = w->cmd;

    if (cmd == NULL) {
        return;
    }

    w->cmd = NULL;

    o = ngx_alloc(sizeof(ngx_http_integrations_dedupe_orphan_t) + w->len,
                  ngx_cycle->log);

    if (o == NULL) {
        /* the mark, if taken, lapses after IN_FLIGHT_MAX */
        ngx_http_integrations_redis_cancel(cmd);
        return;
    }

    o->dd = w->dd;
    o->token = w->token;
    o->len = w->len;
    ngx_memcpy(o->key, w->key, w->len);

    cmd->done = ngx_http_integrations_dedupe_orphaned;
    cmd->data = o;
    cmd->log = ngx_cycle->log;
}


static void
ngx_http_integrations_dedupe_began(ngx_http_integrations_redis_cmd_t *cmd,
    integrations_resp_reply_t *reply)
{
    ngx_http_integrations_dedupe_wait_t *w = cmd->data;

    integrations_resp_value_t  *v;

    w->cmd = NULL;

    if (reply == NULL) {
        /* no answer: whether it took the mark is unknown */
        w->rc = w->dd->on_error_local
                ? ngx_http_integrations_dedupe_begin(w->dd, w->log, w->key,
                                                     w->len, &w->token, NULL)
                : NGX_HTTP_INTEGRATIONS_DEDUPE_UNAVAILABLE;
        w->ready(w);
        return;
    }

    v = &reply->v[0];

    if (v->type == INTEGRATIONS_RESP_NIL) {
        w->rc = NGX_HTTP_INTEGRATIONS_DEDUPE_NEW;

    } else if (v->type == INTEGRATIONS_RESP_BULK && v->len > 0
               && v->data[0] == 'd')
    {
        w->rc = NGX_HTTP_INTEGRATIONS_DEDUPE_DELIVERED;

    } else if (v->type == INTEGRATIONS_RESP_BULK) {
        w->rc = NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT;

    } else {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "webhook_dedupe_zone \"%V\": unexpected answer "
                      "from Redis", &w->dd->zone->shm_zone->shm.name);
        w->rc = NGX_HTTP_INTEGRATIONS_DEDUPE_UNAVAILABLE;
    }

    w->ready(w);
}


/* PREFIX + key, allocated (ngx_free() it) */

static u_char *
ngx_http_integrations_dedupe_key(ngx_http_integrations_dedupe_t *dd,
    u_char *key, size_t len, ngx_str_t *out)
{
    u_char  *p;

    p = ngx_alloc(dd->prefix.len + len, ngx_cycle->log);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(ngx_cpymem(p, dd->prefix.data, dd->prefix.len), key, len);

    out->data = p;
    out->len = dd->prefix.len + len;

    return p;
}


/* "f", this worker's random id, the token: no other copy writes it */

static u_char *
ngx_http_integrations_dedupe_mark(u_char *p, ngx_uint_t token)
{
    u_char  id[8];

    if (!ngx_http_integrations_dedupe_self_set) {
        if (RAND_bytes(id, sizeof(id)) != 1) {
            ngx_memcpy(id, &ngx_pid, sizeof(ngx_pid));
        }

        ngx_hex_dump(ngx_http_integrations_dedupe_self, id, sizeof(id));
        ngx_http_integrations_dedupe_self_set = 1;
    }

    *p++ = 'f';
    p = ngx_cpymem(p, ngx_http_integrations_dedupe_self, 16);

    return ngx_sprintf(p, "%016xL", (uint64_t) token);
}


static void
ngx_http_integrations_dedupe_ended(ngx_http_integrations_redis_cmd_t *cmd,
    integrations_resp_reply_t *reply)
{
    if (reply == NULL) {
        ngx_log_error(NGX_LOG_WARN, cmd->log, 0,
                      "webhook_dedupe_zone: Redis did not take the end of "
                      "a delivery: its mark lapses in %d s",
                      NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT_MAX);
    }
}


void
ngx_http_integrations_dedupe_end(ngx_http_integrations_dedupe_t *dd,
    u_char *key, size_t len, ngx_uint_t token, ngx_uint_t delivered)
{
    u_char                               *p;
    ngx_str_t                             args[6];
    ngx_http_integrations_redis_cmd_t    *cmd;
    ngx_http_integrations_dedupe_call_t   call;
    u_char                     mark[NGX_HTTP_INTEGRATIONS_DEDUPE_MARK_LEN];

    if (token & NGX_HTTP_INTEGRATIONS_DEDUPE_REDIS) {

        /*
         * EVALSHA end 1 PREFIX+KEY MARK DELIVERED TTL_MS, written at once:
         * end() runs as the response head goes out, and a copy the
         * provider sends once it has its answer must find the delivery
         * recorded (Redis reads this connection's bytes before that
         * copy's, which leave later).
         */

        p = ngx_http_integrations_dedupe_key(dd, key, len, &args[1]);
        if (p == NULL) {
            return;
        }

        ngx_str_set(&args[0], "1");
        args[2].data = mark;
        args[2].len = ngx_http_integrations_dedupe_mark(mark, token) - mark;
        args[3].data = (u_char *) (delivered ? "1" : "0");
        args[3].len = 1;
        args[4] = dd->ttl_ms;

        cmd = ngx_http_integrations_redis_send(5, args,
                                      &ngx_http_integrations_dedupe_end_script,
                                      ngx_http_integrations_dedupe_ended,
                                      NULL, ngx_cycle->log);

        if (cmd) {
            ngx_http_integrations_redis_flush(cmd);

        } else {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "webhook_dedupe_zone \"%V\": Redis is down, the "
                          "mark of a delivery lapses in %d s",
                          &dd->zone->shm_zone->shm.name,
                          NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT_MAX);
        }

        ngx_free(p);
        return;
    }

    call.begin = 0;
    call.token = token;
    call.delivered = delivered;

    (void) ngx_http_integrations_dedupe_call(dd, key, len, &call,
                                             ngx_cycle->log);
}


/* begin() makes the key, and first expires a couple of old ones */

static ngx_int_t
ngx_http_integrations_dedupe_call(ngx_http_integrations_dedupe_t *dd,
    u_char *key, size_t len, ngx_http_integrations_dedupe_call_t *call,
    ngx_log_t *log)
{
    ngx_str_t                        k;
    ngx_http_integrations_zone_op_t  op;

    call->now = ngx_time();
    call->ttl = dd->ttl;

    k.data = key;
    k.len = len;

    ngx_http_integrations_zone_op_init(&op, &k,
                                     ngx_http_integrations_zone_hash(key, len),
                                     ngx_http_integrations_dedupe_apply,
                                     call, log);

    if (call->begin) {
        op.flags = NGX_HTTP_INTEGRATIONS_ZONE_CREATE;
        op.idle = ngx_http_integrations_dedupe_idle;
    }

    return ngx_http_integrations_zone_update(dd->zone, &op);
}


static ngx_uint_t
ngx_http_integrations_dedupe_apply(ngx_http_integrations_zone_op_t *op,
    void *value)
{
    ngx_http_integrations_dedupe_call_t   *call = op->data;
    ngx_http_integrations_dedupe_value_t  *v = value;

    if (call->begin) {

        if (v->state != 0 && v->expire > call->now) {
            call->rc = (v->state == NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT)
                       ? NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT
                       : NGX_HTTP_INTEGRATIONS_DEDUPE_DELIVERED;

            return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
        }

        /* unknown, or expired: marked in flight now */

        v->state = NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT;
        v->expire = call->now + NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT_MAX;
        v->token = call->token;

        call->rc = NGX_HTTP_INTEGRATIONS_DEDUPE_NEW;

        /* the queue is by the time of writing */

        return NGX_HTTP_INTEGRATIONS_ZONE_TOUCH;
    }

    /* end(): the owner's mark only, not one that lapsed and was retaken */

    if (v == NULL
        || v->token != call->token
        || v->state != NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT)
    {
        return NGX_HTTP_INTEGRATIONS_ZONE_KEEP;
    }

    if (!call->delivered) {
        return NGX_HTTP_INTEGRATIONS_ZONE_REMOVE;
    }

    v->state = NGX_HTTP_INTEGRATIONS_DEDUPE_S_DELIVERED;
    v->expire = call->now + call->ttl;

    return NGX_HTTP_INTEGRATIONS_ZONE_TOUCH;
}


static ngx_uint_t
ngx_http_integrations_dedupe_idle(ngx_http_integrations_zone_op_t *op,
    void *value)
{
    ngx_http_integrations_dedupe_call_t   *call = op->data;
    ngx_http_integrations_dedupe_value_t  *v = value;

    return v->expire <= call->now;
}
