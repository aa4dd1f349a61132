/*
 * A shared-memory zone of keyed nodes: see ngx_http_integrations_zone.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_zone.h"


/* bumped whenever the header or the node below change */
#define NGX_HTTP_INTEGRATIONS_ZONE_LAYOUT  1


/* laid over an ngx_rbtree_node_t from its color field on */

typedef struct {
    u_char                             color;
    u_char                             dummy;
    u_short                            len;
    ngx_queue_t                        queue;
    u_char                             data[1];   /* the key, then at the
                                                     next 8-byte boundary
                                                     the value */
} ngx_http_integrations_zone_node_t;


#define ngx_http_integrations_zone_node(node)                                 \
    ((ngx_http_integrations_zone_node_t *) &(node)->color)

#define ngx_http_integrations_zone_rbnode(zn)                                 \
    ((ngx_rbtree_node_t *)                                                    \
         ((u_char *) (zn) - offsetof(ngx_rbtree_node_t, color)))

/* an rbtree node is 8-byte aligned, and so is its color field here */
#define ngx_http_integrations_zone_value_offset(len)                          \
    ngx_align(offsetof(ngx_http_integrations_zone_node_t, data) + (len), 8)

#define ngx_http_integrations_zone_value(zn)                                  \
    ((u_char *) (zn) + ngx_http_integrations_zone_value_offset((zn)->len))


static ngx_int_t ngx_http_integrations_zone_push(ngx_array_t *a, void *elt);
static ngx_int_t ngx_http_integrations_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_rbtree_node_t *ngx_http_integrations_zone_lookup(
    ngx_http_integrations_zone_t *zone, ngx_http_integrations_zone_op_t *op);
static void ngx_http_integrations_zone_rbtree_insert_value(
    ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel);
static ngx_rbtree_node_t *ngx_http_integrations_zone_create(
    ngx_http_integrations_zone_t *zone, ngx_http_integrations_zone_op_t *op);
static void ngx_http_integrations_zone_delete(
    ngx_http_integrations_zone_t *zone, ngx_http_integrations_zone_node_t *zn);
static void ngx_http_integrations_zone_expire(
    ngx_http_integrations_zone_t *zone, ngx_http_integrations_zone_op_t *op);


ngx_int_t
ngx_http_integrations_zone_parse(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *name, ssize_t *size)
{
    u_char     *p;
    ngx_str_t   s;

    name->data = value->data + sizeof("zone=") - 1;
    name->len = 0;

    p = ngx_strlchr(name->data, value->data + value->len, ':');

    if (p != NULL) {
        name->len = p - name->data;

        s.data = p + 1;
        s.len = value->data + value->len - s.data;

        *size = ngx_parse_size(&s);

        if (*size != NGX_ERROR && name->len != 0) {
            return NGX_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid zone size \"%V\"",
                       value);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_integrations_zone_check_size(ngx_conf_t *cf, ssize_t size,
    ngx_str_t *shown)
{
    if (size < (ssize_t) NGX_HTTP_INTEGRATIONS_ZONE_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small, the minimum is %uzk",
                           shown,
                           (size_t) NGX_HTTP_INTEGRATIONS_ZONE_MIN / 1024);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_http_integrations_zone_t *
ngx_http_integrations_zone_add(ngx_conf_t *cf, ngx_str_t *name, size_t size,
    const ngx_http_integrations_zone_type_t *type, void *tag)
{
    ngx_shm_zone_t                *shm_zone;
    ngx_http_integrations_zone_t  *zone;

    shm_zone = ngx_shared_memory_add(cf, name, size, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        return shm_zone->data;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_integrations_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    zone->shm_zone = shm_zone;
    zone->type = type;

    shm_zone->init = ngx_http_integrations_zone_init;
    shm_zone->data = zone;

    return zone;
}


ngx_int_t
ngx_http_integrations_zone_declare(ngx_http_integrations_zone_list_t *list,
    ngx_http_integrations_zone_t *zone)
{
    if (zone->declared) {
        return NGX_DECLINED;
    }

    zone->declared = 1;

    return (list == NULL) ? NGX_OK
                          : ngx_http_integrations_zone_push(&list->zones, zone);
}


ngx_int_t
ngx_http_integrations_zone_list_init(ngx_conf_t *cf,
    ngx_http_integrations_zone_list_t *list)
{
    if (ngx_array_init(&list->zones, cf->pool, 2,
                       sizeof(ngx_http_integrations_zone_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_array_init(&list->refs, cf->pool, 2, sizeof(ngx_shm_zone_t *));
}


ngx_shm_zone_t *
ngx_http_integrations_zone_ref(ngx_conf_t *cf,
    ngx_http_integrations_zone_list_t *list, ngx_str_t *name, void *tag)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, name, 0, tag);

    if (shm_zone == NULL || list == NULL) {
        return shm_zone;
    }

    if (ngx_http_integrations_zone_push(&list->refs, shm_zone) != NGX_OK) {
        return NULL;
    }

    return shm_zone;
}


ngx_int_t
ngx_http_integrations_zone_list_check(ngx_conf_t *cf,
    ngx_http_integrations_zone_list_t *list, const char *directive,
    ngx_http_integrations_status_collect_pt collect, void *data)
{
    ngx_uint_t                      i;
    ngx_shm_zone_t                **ref;
    ngx_http_integrations_zone_t   *zone;

    ref = list->refs.elts;

    for (i = 0; i < list->refs.nelts; i++) {
        zone = ref[i]->data;

        if (zone == NULL || !zone->declared) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%s\" zone \"%V\" is unknown",
                               directive, &ref[i]->shm.name);
            return NGX_ERROR;
        }
    }

    if (list->zones.nelts == 0) {
        return NGX_OK;
    }

    return ngx_http_integrations_status_add_collector(cf, collect, data);
}


ngx_int_t
ngx_http_integrations_zone_collect(ngx_http_integrations_status_writer_t *w,
    ngx_http_integrations_zone_list_t *list, ngx_uint_t total,
    const char *name, const char *help)
{
    ngx_uint_t                             i;
    ngx_http_integrations_zone_t         **zones;
    ngx_http_integrations_status_label_t   l;

    if (ngx_http_integrations_status_family(w, name,
                                 (total == NGX_HTTP_INTEGRATIONS_ZONE_KEYS)
                                 ? NGX_HTTP_INTEGRATIONS_STATUS_GAUGE
                                 : NGX_HTTP_INTEGRATIONS_STATUS_COUNTER,
                                 help)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&l.name, "zone");

    zones = list->zones.elts;

    for (i = 0; i < list->zones.nelts; i++) {
        l.value = zones[i]->shm_zone->shm.name;

        if (ngx_http_integrations_status_sample(w, &l, 1,
                                   (total == NGX_HTTP_INTEGRATIONS_ZONE_KEYS)
                                   ? zones[i]->sh->keys
                                   : zones[i]->sh->evicted)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_integrations_zone_t  *zone = shm_zone->data;

    size_t                                    len, head;
    ngx_slab_pool_t                          *shpool;
    ngx_http_integrations_zone_sh_t          *sh;
    const ngx_http_integrations_zone_type_t  *type;

    type = zone->type;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    zone->shpool = shpool;

    head = ngx_align(sizeof(ngx_http_integrations_zone_sh_t), 8);

    if (data || shm_zone->shm.exists) {

        /*
         * A reload: the zone and its keys stay if they are laid out the
         * same.  The old configuration's zone (data) may come from
         * another build of the module: only the header in shared memory
         * is read.
         */

        sh = shpool->data;

        if (sh != NULL
            && sh->magic == type->magic
            && sh->version == type->version
            && sh->layout == NGX_HTTP_INTEGRATIONS_ZONE_LAYOUT
            && sh->size == head + type->data_size
            && sh->value_size == type->value_size)
        {
            zone->sh = sh;
            zone->data = (u_char *) sh + head;
            return NGX_OK;
        }

        if (!(type->flags & NGX_HTTP_INTEGRATIONS_ZONE_RESET)) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "%s \"%V\" was created by another version of the "
                          "module, restart nginx",
                          type->name, &shm_zone->shm.name);
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "%s \"%V\" reset, the shared memory layout changed",
                      type->name, &shm_zone->shm.name);

        ngx_slab_init(shpool);
    }

    sh = ngx_slab_calloc(shpool, head + type->data_size);
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->magic = type->magic;
    sh->version = type->version;
    sh->layout = NGX_HTTP_INTEGRATIONS_ZONE_LAYOUT;
    sh->size = head + type->data_size;
    sh->value_size = type->value_size;

    ngx_rbtree_init(&sh->rbtree, &sh->sentinel,
                    ngx_http_integrations_zone_rbtree_insert_value);

    ngx_queue_init(&sh->queue);

    zone->sh = sh;
    zone->data = (u_char *) sh + head;
    shpool->data = sh;

    len = sizeof(" in  \"\"") + ngx_strlen(type->name)
          + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in %s \"%V\"%Z", type->name,
                &shm_zone->shm.name);

    /* a full zone evicts, and says so once: no "ngx_slab_alloc() failed" */

    shpool->log_nomem = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_integrations_zone_update(ngx_http_integrations_zone_t *zone,
    ngx_http_integrations_zone_op_t *op)
{
    ngx_uint_t                          fate;
    ngx_rbtree_node_t                  *node;
    ngx_http_integrations_zone_node_t  *zn;

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_http_integrations_zone_lookup(zone, op);

    if (node == NULL) {

        if (!(op->flags & NGX_HTTP_INTEGRATIONS_ZONE_CREATE)) {
            ngx_shmtx_unlock(&zone->shpool->mutex);

            (void) op->apply(op, NULL);
            return NGX_OK;
        }

        /*
         * idle keys go when a key is made, as limit_req's do: expiring on
         * every update freed and made again a key that was idle between
         * its own requests (one node alloc and free per request)
         */

        if (op->idle) {
            ngx_http_integrations_zone_expire(zone, op);
        }

        node = ngx_http_integrations_zone_create(zone, op);

        if (node == NULL) {
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return NGX_ERROR;
        }
    }

    zn = ngx_http_integrations_zone_node(node);

    fate = op->apply(op, ngx_http_integrations_zone_value(zn));

    switch (fate) {

    case NGX_HTTP_INTEGRATIONS_ZONE_TOUCH:
        ngx_queue_remove(&zn->queue);
        ngx_queue_insert_head(&zone->sh->queue, &zn->queue);
        break;

    case NGX_HTTP_INTEGRATIONS_ZONE_REMOVE:
        ngx_http_integrations_zone_delete(zone, zn);
        break;

    default: /* NGX_HTTP_INTEGRATIONS_ZONE_KEEP */
        break;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_integrations_zone_walk(ngx_http_integrations_zone_t *zone,
    ngx_http_integrations_zone_visit_pt visit, void *data)
{
    ngx_int_t                           rc;
    ngx_str_t                           key;
    ngx_queue_t                        *q;
    ngx_http_integrations_zone_node_t  *zn;

    rc = NGX_OK;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (q = ngx_queue_head(&zone->sh->queue);
         q != ngx_queue_sentinel(&zone->sh->queue);
         q = ngx_queue_next(q))
    {
        zn = ngx_queue_data(q, ngx_http_integrations_zone_node_t, queue);

        key.data = zn->data;
        key.len = zn->len;

        rc = visit(data, &key, ngx_http_integrations_zone_value(zn));

        if (rc != NGX_OK) {
            break;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


static ngx_rbtree_node_t *
ngx_http_integrations_zone_lookup(ngx_http_integrations_zone_t *zone,
    ngx_http_integrations_zone_op_t *op)
{
    ngx_int_t                           rc;
    ngx_rbtree_node_t                  *node, *sentinel;
    ngx_http_integrations_zone_node_t  *zn;

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (op->hash < node->key) {
            node = node->left;
            continue;
        }

        if (op->hash > node->key) {
            node = node->right;
            continue;
        }

        /* hash == node->key */

        zn = ngx_http_integrations_zone_node(node);

        rc = ngx_memn2cmp(op->key.data, zn->data, op->key.len,
                          (size_t) zn->len);

        if (rc == 0) {
            return node;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* a new key, all-zero value; when the zone is full the LRU keys go */

static ngx_rbtree_node_t *
ngx_http_integrations_zone_create(ngx_http_integrations_zone_t *zone,
    ngx_http_integrations_zone_op_t *op)
{
    size_t                              size, off;
    ngx_uint_t                          idle;
    ngx_queue_t                        *q;
    ngx_rbtree_node_t                  *node;
    ngx_http_integrations_zone_sh_t    *sh;
    ngx_http_integrations_zone_node_t  *zn;

    if (op->key.len > 65535) {
        return NULL;
    }

    sh = zone->sh;

    off = ngx_http_integrations_zone_value_offset(op->key.len);
    size = offsetof(ngx_rbtree_node_t, color) + off
           + zone->type->value_size;

    for ( ;; ) {
        node = ngx_slab_alloc_locked(zone->shpool, size);

        if (node != NULL || ngx_queue_empty(&sh->queue)) {
            break;
        }

        /* full: the least recently used key goes, whatever its state */

        q = ngx_queue_last(&sh->queue);
        zn = ngx_queue_data(q, ngx_http_integrations_zone_node_t, queue);

        idle = op->idle
               && op->idle(op, ngx_http_integrations_zone_value(zn));

        ngx_http_integrations_zone_delete(zone, zn);

        if (idle) {
            /* no state lost: not an eviction */
            continue;
        }

        sh->evicted++;

        if (!sh->full_logged) {
            sh->full_logged = 1;

            ngx_log_error(NGX_LOG_WARN, op->log, 0, "%s \"%V\" is full, %s",
                          zone->type->name, &zone->shm_zone->shm.name,
                          zone->type->full);
        }
    }

    if (node == NULL) {
        return NULL;
    }

    node->key = op->hash;

    zn = ngx_http_integrations_zone_node(node);

    zn->len = (u_short) op->key.len;
    ngx_memcpy(zn->data, op->key.data, op->key.len);
    ngx_memzero((u_char *) zn + off, zone->type->value_size);

    ngx_rbtree_insert(&sh->rbtree, node);
    ngx_queue_insert_head(&sh->queue, &zn->queue);

    sh->keys++;

    return node;
}


/* up to two idle keys at the LRU end: the amortized cost of an insert */

static void
ngx_http_integrations_zone_expire(ngx_http_integrations_zone_t *zone,
    ngx_http_integrations_zone_op_t *op)
{
    ngx_uint_t                          n;
    ngx_queue_t                        *q;
    ngx_http_integrations_zone_node_t  *zn;

    for (n = 0; n < 2; n++) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&zone->sh->queue);
        zn = ngx_queue_data(q, ngx_http_integrations_zone_node_t, queue);

        if (!op->idle(op, ngx_http_integrations_zone_value(zn))) {
            return;
        }

        ngx_http_integrations_zone_delete(zone, zn);
    }
}


static void
ngx_http_integrations_zone_delete(ngx_http_integrations_zone_t *zone,
    ngx_http_integrations_zone_node_t *zn)
{
    ngx_rbtree_node_t  *node;

    node = ngx_http_integrations_zone_rbnode(zn);

    ngx_queue_remove(&zn->queue);
    ngx_rbtree_delete(&zone->sh->rbtree, node);
    ngx_slab_free_locked(zone->shpool, node);

    zone->sh->keys--;
}


static void
ngx_http_integrations_zone_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t                  **p;
    ngx_http_integrations_zone_node_t   *zn, *znt;

    for ( ;; ) {

        if (node->key < temp->key) {

            p = &temp->left;

        } else if (node->key > temp->key) {

            p = &temp->right;

        } else { /* node->key == temp->key */

            zn = ngx_http_integrations_zone_node(node);
            znt = ngx_http_integrations_zone_node(temp);

            p = (ngx_memn2cmp(zn->data, znt->data, zn->len, znt->len) < 0)
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


static ngx_int_t
ngx_http_integrations_zone_push(ngx_array_t *a, void *elt)
{
    void  **p;

    p = ngx_array_push(a);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p = elt;

    return NGX_OK;
}
