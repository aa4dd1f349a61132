/*
 * Replay store for webhook deliveries: see ngx_http_integrations_dedupe.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_integrations_dedupe.h"


#define NGX_HTTP_INTEGRATIONS_DEDUPE_MAGIC    0x77686464   /* "whdd" */
#define NGX_HTTP_INTEGRATIONS_DEDUPE_VERSION  1


typedef enum {
    NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT = 1,
    NGX_HTTP_INTEGRATIONS_DEDUPE_S_DELIVERED
} ngx_http_integrations_dedupe_state_e;


/* laid over an ngx_rbtree_node_t from its color field on */

typedef struct {
    u_char                       color;
    u_char                       state;
    u_short                      len;
    ngx_queue_t                  queue;      /* most recently written first */
    time_t                       expire;
    ngx_uint_t                   token;
    u_char                       data[1];
} ngx_http_integrations_dedupe_node_t;


typedef struct {
    uint32_t                     magic;
    uint32_t                     version;
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;
    ngx_uint_t                   seq;
    ngx_uint_t                   evicted;    /* logged once */
} ngx_http_integrations_dedupe_sh_t;


struct ngx_http_integrations_dedupe_s {
    ngx_http_integrations_dedupe_sh_t  *sh;
    ngx_slab_pool_t                    *shpool;
    ngx_shm_zone_t                     *shm_zone;
    time_t                              ttl;
    ngx_uint_t                          declared;
};


static ngx_int_t ngx_http_integrations_dedupe_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_integrations_dedupe_rbtree_insert_value(
    ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel);
static ngx_rbtree_node_t *ngx_http_integrations_dedupe_lookup(
    ngx_http_integrations_dedupe_t *dd, u_char *key, size_t len,
    uint32_t hash);
static void ngx_http_integrations_dedupe_delete(
    ngx_http_integrations_dedupe_t *dd, ngx_rbtree_node_t *node);
static void ngx_http_integrations_dedupe_expire(
    ngx_http_integrations_dedupe_t *dd, time_t now);


#define ngx_http_integrations_dedupe_node(node)                               \
    ((ngx_http_integrations_dedupe_node_t *) &(node)->color)

#define ngx_http_integrations_dedupe_rbnode(dn)                               \
    ((ngx_rbtree_node_t *)                                                    \
         ((u_char *) (dn) - offsetof(ngx_rbtree_node_t, color)))


ngx_http_integrations_dedupe_t *
ngx_http_integrations_dedupe_ref(ngx_conf_t *cf, ngx_str_t *name, void *tag)
{
    ngx_shm_zone_t                  *shm_zone;
    ngx_http_integrations_dedupe_t  *dd;

    shm_zone = ngx_shared_memory_add(cf, name, 0, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        return shm_zone->data;
    }

    dd = ngx_pcalloc(cf->pool, sizeof(ngx_http_integrations_dedupe_t));
    if (dd == NULL) {
        return NULL;
    }

    dd->shm_zone = shm_zone;
    dd->ttl = NGX_HTTP_INTEGRATIONS_DEDUPE_TTL;

    shm_zone->init = ngx_http_integrations_dedupe_init_zone;
    shm_zone->data = dd;

    return dd;
}


ngx_http_integrations_dedupe_t *
ngx_http_integrations_dedupe_declare(ngx_conf_t *cf, ngx_str_t *name,
    size_t size, time_t ttl, void *tag)
{
    ngx_http_integrations_dedupe_t  *dd;

    if (size < 8 * ngx_pagesize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", name);
        return NULL;
    }

    dd = ngx_http_integrations_dedupe_ref(cf, name, tag);
    if (dd == NULL) {
        return NULL;
    }

    if (dd->declared) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", name);
        return NULL;
    }

    if (dd->shm_zone->shm.size == 0) {
        dd->shm_zone->shm.size = size;
    }

    dd->declared = 1;
    dd->ttl = ttl;

    return dd;
}


ngx_int_t
ngx_http_integrations_dedupe_check(ngx_conf_t *cf,
    ngx_http_integrations_dedupe_t *dd)
{
    if (!dd->declared) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown webhook_dedupe_zone \"%V\"",
                           &dd->shm_zone->shm.name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_str_t *
ngx_http_integrations_dedupe_name(ngx_http_integrations_dedupe_t *dd)
{
    return &dd->shm_zone->shm.name;
}


static ngx_int_t
ngx_http_integrations_dedupe_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_integrations_dedupe_t  *odd = data;

    size_t                           len;
    ngx_http_integrations_dedupe_t  *dd;

    dd = shm_zone->data;

    if (odd) {
        /* a reload: the entries stay */

        if (odd->sh->magic != NGX_HTTP_INTEGRATIONS_DEDUPE_MAGIC
            || odd->sh->version != NGX_HTTP_INTEGRATIONS_DEDUPE_VERSION)
        {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "webhook_dedupe_zone \"%V\" was created by another "
                          "version of the module, restart nginx",
                          &shm_zone->shm.name);
            return NGX_ERROR;
        }

        dd->sh = odd->sh;
        dd->shpool = odd->shpool;

        return NGX_OK;
    }

    dd->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        dd->sh = dd->shpool->data;
        return NGX_OK;
    }

    dd->sh = ngx_slab_alloc(dd->shpool,
                            sizeof(ngx_http_integrations_dedupe_sh_t));
    if (dd->sh == NULL) {
        return NGX_ERROR;
    }

    dd->shpool->data = dd->sh;

    dd->sh->magic = NGX_HTTP_INTEGRATIONS_DEDUPE_MAGIC;
    dd->sh->version = NGX_HTTP_INTEGRATIONS_DEDUPE_VERSION;
    dd->sh->seq = 0;
    dd->sh->evicted = 0;

    ngx_rbtree_init(&dd->sh->rbtree, &dd->sh->sentinel,
                    ngx_http_integrations_dedupe_rbtree_insert_value);

    ngx_queue_init(&dd->sh->queue);

    len = sizeof(" in webhook_dedupe_zone \"\"") + shm_zone->shm.name.len;

    dd->shpool->log_ctx = ngx_slab_alloc(dd->shpool, len);
    if (dd->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(dd->shpool->log_ctx, " in webhook_dedupe_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone evicts, and says so once: no "ngx_slab_alloc() failed" */

    dd->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_integrations_dedupe_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t                    **p;
    ngx_http_integrations_dedupe_node_t   *dn, *dnt;

    for ( ;; ) {

        if (node->key < temp->key) {

            p = &temp->left;

        } else if (node->key > temp->key) {

            p = &temp->right;

        } else { /* node->key == temp->key */

            dn = ngx_http_integrations_dedupe_node(node);
            dnt = ngx_http_integrations_dedupe_node(temp);

            p = (ngx_memn2cmp(dn->data, dnt->data, dn->len, dnt->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_rbtree_node_t *
ngx_http_integrations_dedupe_lookup(ngx_http_integrations_dedupe_t *dd,
    u_char *key, size_t len, uint32_t hash)
{
    ngx_int_t                             rc;
    ngx_rbtree_node_t                    *node, *sentinel;
    ngx_http_integrations_dedupe_node_t  *dn;

    node = dd->sh->rbtree.root;
    sentinel = dd->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        dn = ngx_http_integrations_dedupe_node(node);

        rc = ngx_memn2cmp(key, dn->data, len, (size_t) dn->len);

        if (rc == 0) {
            return node;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_integrations_dedupe_delete(ngx_http_integrations_dedupe_t *dd,
    ngx_rbtree_node_t *node)
{
    ngx_http_integrations_dedupe_node_t  *dn;

    dn = ngx_http_integrations_dedupe_node(node);

    ngx_queue_remove(&dn->queue);
    ngx_rbtree_delete(&dd->sh->rbtree, node);
    ngx_slab_free_locked(dd->shpool, node);
}


/* the oldest two, when they are due: the amortized cost of an insert */

static void
ngx_http_integrations_dedupe_expire(ngx_http_integrations_dedupe_t *dd,
    time_t now)
{
    ngx_uint_t                            n;
    ngx_queue_t                          *q;
    ngx_http_integrations_dedupe_node_t  *dn;

    for (n = 0; n < 2; n++) {

        if (ngx_queue_empty(&dd->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&dd->sh->queue);
        dn = ngx_queue_data(q, ngx_http_integrations_dedupe_node_t, queue);

        if (dn->expire > now) {
            return;
        }

        ngx_http_integrations_dedupe_delete(dd,
                                   ngx_http_integrations_dedupe_rbnode(dn));
    }
}


ngx_http_integrations_dedupe_rc_e
ngx_http_integrations_dedupe_begin(ngx_http_integrations_dedupe_t *dd,
    ngx_log_t *log, u_char *key, size_t len, ngx_uint_t *token)
{
    size_t                                size;
    time_t                                now;
    uint32_t                              hash;
    ngx_uint_t                            evicted;
    ngx_queue_t                          *q;
    ngx_rbtree_node_t                    *node;
    ngx_http_integrations_dedupe_rc_e     rc;
    ngx_http_integrations_dedupe_node_t  *dn;

    if (len == 0 || len > NGX_HTTP_INTEGRATIONS_DEDUPE_KEY_MAX) {
        return NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED;
    }

    now = ngx_time();
    hash = ngx_crc32_short(key, len);
    evicted = 0;

    ngx_shmtx_lock(&dd->shpool->mutex);

    ngx_http_integrations_dedupe_expire(dd, now);

    node = ngx_http_integrations_dedupe_lookup(dd, key, len, hash);

    if (node != NULL) {
        dn = ngx_http_integrations_dedupe_node(node);

        if (dn->expire > now) {
            rc = (dn->state == NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT)
                 ? NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT
                 : NGX_HTTP_INTEGRATIONS_DEDUPE_DELIVERED;

            ngx_shmtx_unlock(&dd->shpool->mutex);
            return rc;
        }

        ngx_http_integrations_dedupe_delete(dd, node);
    }

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_integrations_dedupe_node_t, data)
           + len;

    for ( ;; ) {
        node = ngx_slab_alloc_locked(dd->shpool, size);

        if (node != NULL || ngx_queue_empty(&dd->sh->queue)) {
            break;
        }

        /* full: the least recently written entry goes */

        q = ngx_queue_last(&dd->sh->queue);
        dn = ngx_queue_data(q, ngx_http_integrations_dedupe_node_t, queue);

        ngx_http_integrations_dedupe_delete(dd,
                                   ngx_http_integrations_dedupe_rbnode(dn));
        evicted++;
    }

    if (evicted && !dd->sh->evicted) {
        dd->sh->evicted = 1;
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "webhook_dedupe_zone \"%V\" is full, evicting the "
                      "oldest entries (logged once): replays older than "
                      "them are no longer recognised, make the zone larger",
                      &dd->shm_zone->shm.name);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&dd->shpool->mutex);
        return NGX_HTTP_INTEGRATIONS_DEDUPE_FAILED;
    }

    node->key = hash;

    dn = ngx_http_integrations_dedupe_node(node);
    dn->state = NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT;
    dn->len = (u_short) len;
    dn->expire = now + NGX_HTTP_INTEGRATIONS_DEDUPE_IN_FLIGHT_MAX;
    dn->token = ++dd->sh->seq;
    ngx_memcpy(dn->data, key, len);

    ngx_rbtree_insert(&dd->sh->rbtree, node);
    ngx_queue_insert_head(&dd->sh->queue, &dn->queue);

    *token = dn->token;

    ngx_shmtx_unlock(&dd->shpool->mutex);

    return NGX_HTTP_INTEGRATIONS_DEDUPE_NEW;
}


void
ngx_http_integrations_dedupe_end(ngx_http_integrations_dedupe_t *dd,
    u_char *key, size_t len, ngx_uint_t token, ngx_uint_t delivered)
{
    ngx_rbtree_node_t                    *node;
    ngx_http_integrations_dedupe_node_t  *dn;

    ngx_shmtx_lock(&dd->shpool->mutex);

    node = ngx_http_integrations_dedupe_lookup(dd, key, len,
                                               ngx_crc32_short(key, len));

    if (node != NULL) {
        dn = ngx_http_integrations_dedupe_node(node);

        if (dn->token == token
            && dn->state == NGX_HTTP_INTEGRATIONS_DEDUPE_S_IN_FLIGHT)
        {
            if (delivered) {
                dn->state = NGX_HTTP_INTEGRATIONS_DEDUPE_S_DELIVERED;
                dn->expire = ngx_time() + dd->ttl;

                ngx_queue_remove(&dn->queue);
                ngx_queue_insert_head(&dd->sh->queue, &dn->queue);

            } else {
                ngx_http_integrations_dedupe_delete(dd, node);
            }
        }
    }

    ngx_shmtx_unlock(&dd->shpool->mutex);
}
