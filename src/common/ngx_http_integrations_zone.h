/*
 * A shared-memory zone of keyed nodes: where rate_limit_zone,
 * circuit_breaker_zone and webhook_dedupe_zone keep their keys, and the
 * webhook counters their totals (a zone with no keys).
 *
 * Layout, as ngx_http_limit_req_module's: a slab pool whose first
 * allocation is the header (ngx_http_integrations_zone_sh_t: the layout
 * version, a red-black tree of nodes by key hash, then key, an LRU queue,
 * the totals every zone has, then the feature's own part, its counters);
 * a node is an ngx_rbtree_node_t, the key, then the feature's value, of a
 * fixed size.  A feature describes its zone once, statically:
 *
 *     static ngx_http_integrations_zone_type_t  my_type = {
 *         "my_zone",                      directive, names it in messages
 *         "evicting the least recently used keys (logged once)",
 *         0x4d595a4e, 1,                  magic and version of what follows
 *         sizeof(my_value_t),             the value of a key
 *         sizeof(my_totals_t),            the feature's part of the header
 *         NGX_HTTP_INTEGRATIONS_ZONE_RESET
 *     };
 *
 * Configuration.  ngx_http_integrations_zone_parse() reads "zone=NAME:SIZE"
 * and ngx_http_integrations_zone_check_size() refuses a zone below
 * NGX_HTTP_INTEGRATIONS_ZONE_MIN (8 pages: 32k); then
 * ngx_http_integrations_zone_add() finds or makes the zone and
 * ngx_http_integrations_zone_declare() declares it once.  A feature keeps
 * its zones in an ngx_http_integrations_zone_list_t (in its main conf):
 * the ones declared, for its metrics, and the ones its directives name,
 * perhaps before their declaration, which
 * ngx_http_integrations_zone_list_check() checks at postconfiguration,
 * where it also registers the feature's metrics collector; that writes
 * the totals every zone has (keys, evictions) with
 * ngx_http_integrations_zone_collect().
 * The zone is set up when the shared memory is, and across
 * "nginx -s reload" the old zone
 * and its keys are kept when magic, version, sizes and this file's layout
 * all match.  An old zone that does not match (another build of the
 * module) is emptied with a notice when the type says
 * NGX_HTTP_INTEGRATIONS_ZONE_RESET (state that may be lost: limits,
 * breakers), else refused, which fails the reload with a message asking
 * for a restart (state whose loss would let replays through).
 *
 * Operations.  Everything a feature does to a key is one operation, an
 * ngx_http_integrations_zone_op_t that the caller owns and fills (with
 * ngx_http_integrations_zone_op_init(), then flags and idle as needed):
 *
 *     op->key, op->hash   the key (up to 65535 bytes) and
 *                         ngx_http_integrations_zone_hash() of it
 *     op->flags           NGX_HTTP_INTEGRATIONS_ZONE_CREATE: an absent key
 *                         is made, with an all-zero value
 *     op->idle            NULL, or before an absent key is made, up to
 *                         two keys at the LRU end for which
 *                         idle(op, value) holds are freed
 *     op->apply           the decision on the key's value
 *     op->data            the caller's inputs and outputs, for apply, idle
 *     op->done            NULL: the caller cannot wait (see below)
 *     op->log             where "is full" is logged
 *
 *     rc = ngx_http_integrations_zone_update(zone, op);
 *
 * update() finds the key (making it if asked to, evicting the least
 * recently used keys while the zone has no room, which is counted and
 * logged once per zone) and calls apply(op, value), with value NULL for
 * an absent key that was not to be made.  apply() returns what becomes of
 * the key: NGX_HTTP_INTEGRATIONS_ZONE_KEEP, _TOUCH (now the most recently
 * used) or _REMOVE.  update() returns
 *
 *     NGX_OK      apply() ran, its outputs in op->data are the answer;
 *     NGX_ERROR   the key could not be made, even with every other key
 *                 evicted (or is too long): apply() did not run;
 *     NGX_AGAIN   the answer is pending: op->done(op) will be called on
 *                 the event loop, never from within update(), with
 *                 op->rc set to NGX_OK or NGX_ERROR as above.  Until then
 *                 the caller keeps op, its key and its data alive, or
 *                 calls ngx_http_integrations_zone_cancel(op) (from a pool
 *                 cleanup, say), after which done() is not called and
 *                 whether the operation took effect is unknown.
 *
 * Only a caller that set op->done gets NGX_AGAIN.  The shared-memory
 * backend here always answers at once: update() is one lock, one tree
 * lookup and one apply() call, and never NGX_AGAIN.  The cluster scope
 * (rate_limit_zone and webhook_dedupe_zone "scope=cluster") does not run
 * apply() remotely: a C decision on a value read from Redis and written
 * back would be the read-then-write race of Kong's and APISIX's limiters.
 * Each feature has its own atomic Redis operation instead (a Lua GCRA, a
 * SET NX), through ngx_http_integrations_redis.h, and keeps this zone
 * under it for sync= and on_error=local (docs/architecture.md, "Redis").
 *
 * So that one operation runs unchanged on any backend, apply() and idle():
 *   - read and change only the value and op->data: no logging, no
 *     allocation, no other shared state; what the caller should say or
 *     count (the zone's totals in zone->data, with ngx_atomic_fetch_add())
 *     it does after the answer, from op->data;
 *   - may run more than once for one update, each time on the stored
 *     value as it then is (a backend retrying a compare-and-set): only
 *     the last run's value and outputs count;
 *   - take the value as plain bytes of type->value_size, no pointers in
 *     it, where all zeroes means "nothing known", as for a key never seen.
 *
 * ngx_http_integrations_zone_walk() visits the keys this node's zone
 * holds, most recently used first, under the lock: for the metrics.
 */

#ifndef NGX_HTTP_INTEGRATIONS_ZONE_H
#define NGX_HTTP_INTEGRATIONS_ZONE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_integrations_status.h"


#define NGX_HTTP_INTEGRATIONS_ZONE_MIN      (8 * ngx_pagesize)

/* type flags */
#define NGX_HTTP_INTEGRATIONS_ZONE_RESET    0x01

/* op flags */
#define NGX_HTTP_INTEGRATIONS_ZONE_CREATE   0x01

/* the totals of ngx_http_integrations_zone_collect() */
#define NGX_HTTP_INTEGRATIONS_ZONE_KEYS     0
#define NGX_HTTP_INTEGRATIONS_ZONE_EVICTED  1

/* what apply() returns */
#define NGX_HTTP_INTEGRATIONS_ZONE_KEEP     0
#define NGX_HTTP_INTEGRATIONS_ZONE_TOUCH    1
#define NGX_HTTP_INTEGRATIONS_ZONE_REMOVE   2


#define ngx_http_integrations_zone_hash(data, len)                            \
    ngx_crc32_short(data, len)


typedef struct ngx_http_integrations_zone_op_s  ngx_http_integrations_zone_op_t;

typedef ngx_uint_t (*ngx_http_integrations_zone_apply_pt)(
    ngx_http_integrations_zone_op_t *op, void *value);
typedef ngx_uint_t (*ngx_http_integrations_zone_idle_pt)(
    ngx_http_integrations_zone_op_t *op, void *value);
typedef void (*ngx_http_integrations_zone_done_pt)(
    ngx_http_integrations_zone_op_t *op);
typedef ngx_int_t (*ngx_http_integrations_zone_visit_pt)(void *data,
    ngx_str_t *key, void *value);


typedef struct {
    const char                           *name;        /* the directive */
    const char                           *full;        /* after "is full, " */
    uint32_t                              magic;
    uint32_t                              version;     /* of value, totals */
    size_t                                value_size;
    size_t                                data_size;   /* the totals */
    ngx_uint_t                            flags;
} ngx_http_integrations_zone_type_t;


/* the header, first in the slab pool */

typedef struct {
    uint32_t                              magic;       /* the type's */
    uint32_t                              version;     /* the type's */
    uint32_t                              layout;      /* of this file's */
    uint32_t                              size;        /* with the totals */
    uint32_t                              value_size;
    uint32_t                              reserved;

    ngx_rbtree_t                          rbtree;
    ngx_rbtree_node_t                     sentinel;
    ngx_queue_t                           queue;       /* most recent first */

    ngx_atomic_t                          keys;
    ngx_atomic_t                          evicted;
    ngx_atomic_t                          full_logged;
} ngx_http_integrations_zone_sh_t;


typedef struct {
    ngx_array_t                           zones;       /* declared, of
                                                          zone pointers */
    ngx_array_t                           refs;        /* named, of shm_zone
                                                          pointers */
} ngx_http_integrations_zone_list_t;


typedef struct {
    ngx_shm_zone_t                       *shm_zone;    /* data: this */
    const ngx_http_integrations_zone_type_t  *type;
    ngx_slab_pool_t                      *shpool;
    ngx_http_integrations_zone_sh_t      *sh;          /* NULL until set up */
    void                                 *data;        /* the totals, in the
                                                          header; likewise */
    void                                 *conf;        /* the feature's */
    unsigned                              declared:1;
} ngx_http_integrations_zone_t;


struct ngx_http_integrations_zone_op_s {
    ngx_str_t                             key;
    uint32_t                              hash;
    ngx_uint_t                            flags;
    ngx_http_integrations_zone_idle_pt    idle;
    ngx_http_integrations_zone_apply_pt   apply;
    void                                 *data;
    ngx_http_integrations_zone_done_pt    done;
    ngx_log_t                            *log;

    ngx_int_t                             rc;          /* for done() */
};


/*
 * "zone=NAME:SIZE" into name and size, the syntax only: "invalid zone
 * size" is logged for anything else.  NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_integrations_zone_parse(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *name, ssize_t *size);

/* Refuses a size below the minimum, naming the zone by "shown". */
ngx_int_t ngx_http_integrations_zone_check_size(ngx_conf_t *cf,
    ssize_t size, ngx_str_t *shown);

/*
 * The zone "name" of this type and tag: declared with size > 0, referred
 * to with size 0 (before or after its declaration; nginx refuses it at
 * start if it is never declared with a size).  The same zone for the same
 * name; NULL on an error, which nginx has logged.
 */
ngx_http_integrations_zone_t *ngx_http_integrations_zone_add(ngx_conf_t *cf,
    ngx_str_t *name, size_t size,
    const ngx_http_integrations_zone_type_t *type, void *tag);

/*
 * Marks the zone declared and adds it to list->zones (list may be NULL).
 * NGX_OK; NGX_DECLINED: declared before, for the caller to say so in its
 * own words; NGX_ERROR.
 */
ngx_int_t ngx_http_integrations_zone_declare(
    ngx_http_integrations_zone_list_t *list,
    ngx_http_integrations_zone_t *zone);

ngx_int_t ngx_http_integrations_zone_list_init(ngx_conf_t *cf,
    ngx_http_integrations_zone_list_t *list);

/*
 * A reference to the zone "name", declared before or later, kept in
 * list->refs when list is not NULL; a caller without a list checks
 * shm_zone->data != NULL in its postconfiguration.
 */
ngx_shm_zone_t *ngx_http_integrations_zone_ref(ngx_conf_t *cf,
    ngx_http_integrations_zone_list_t *list, ngx_str_t *name, void *tag);

/*
 * At postconfiguration: refuses a reference to a zone never declared
 * ("DIRECTIVE" zone "NAME" is unknown), and when zones were declared
 * registers collect(data) with the metrics endpoint.
 */
ngx_int_t ngx_http_integrations_zone_list_check(ngx_conf_t *cf,
    ngx_http_integrations_zone_list_t *list, const char *directive,
    ngx_http_integrations_status_collect_pt collect, void *data);

/*
 * The family "name" of one total every zone has, _KEYS (a gauge) or
 * _EVICTED (a counter), a sample per zone of the list labelled zone.
 */
ngx_int_t ngx_http_integrations_zone_collect(
    ngx_http_integrations_status_writer_t *w,
    ngx_http_integrations_zone_list_t *list, ngx_uint_t total,
    const char *name, const char *help);

/* an operation on "key", without flags, idle or done */

static ngx_inline void
ngx_http_integrations_zone_op_init(ngx_http_integrations_zone_op_t *op,
    ngx_str_t *key, uint32_t hash, ngx_http_integrations_zone_apply_pt apply,
    void *data, ngx_log_t *log)
{
    op->key = *key;
    op->hash = hash;
    op->flags = 0;
    op->idle = NULL;
    op->apply = apply;
    op->data = data;
    op->done = NULL;
    op->log = log;
}


ngx_int_t ngx_http_integrations_zone_update(
    ngx_http_integrations_zone_t *zone, ngx_http_integrations_zone_op_t *op);

/* Nothing is ever pending in shared memory. */
#define ngx_http_integrations_zone_cancel(op)

/* Stops at, and returns, the first visit() result other than NGX_OK. */
ngx_int_t ngx_http_integrations_zone_walk(ngx_http_integrations_zone_t *zone,
    ngx_http_integrations_zone_visit_pt visit, void *data);

#endif /* NGX_HTTP_INTEGRATIONS_ZONE_H */
