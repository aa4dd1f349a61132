/*
 * A JSON tree that keeps every string's length: see integrations_json.h.
 *
 * yajl's callbacks fill one growing vector of values per open container
 * (a stack of frames, one per depth, each vector reused by the next
 * container at that depth).  When a container closes, its values are
 * copied once, contiguously, into the arena, so that the finished tree
 * costs one node per value and no per-node allocation.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "integrations_json.h"


#define INTEGRATIONS_JSON_BLOCK  16384
#define INTEGRATIONS_JSON_ALIGN  16        /* any type's alignment on the
                                             targets nginx runs on */


typedef struct integrations_json_block_s  integrations_json_block_t;

struct integrations_json_block_s {
    integrations_json_block_t  *next;
    size_t                      used;
    size_t                      size;
    /* the block's bytes follow, INTEGRATIONS_JSON_ALIGN aligned */
};

struct integrations_json_doc_s {
    integrations_json_block_t  *blocks;
    integrations_json_t         root;
};

typedef struct {
    integrations_json_t  *v;
    size_t                n;
    size_t                size;
    int                   object;
    const char           *key;        /* the pending member name */
    size_t                key_len;
} integrations_json_frame_t;

typedef struct {
    integrations_json_doc_t    *doc;
    integrations_json_frame_t  *frames;
    size_t                      depth;     /* open containers */
    size_t                      max_depth;
    size_t                      nodes;
    size_t                      max_nodes;
    const char                 *error;
} integrations_json_ctx_t;


static int json_add(integrations_json_ctx_t *c, integrations_json_t *v);
static const char *json_copy(integrations_json_doc_t *doc, const void *s,
    size_t n);
static int json_scalar(integrations_json_ctx_t *c,
    integrations_json_type_e type, const void *s, size_t n);
static int json_null(void *ctx);
static int json_boolean(void *ctx, int b);
static int json_number(void *ctx, const char *s, size_t n);
static int json_string(void *ctx, const unsigned char *s, size_t n);
static int json_start(integrations_json_ctx_t *c, int object);
static int json_start_map(void *ctx);
static int json_map_key(void *ctx, const unsigned char *s, size_t n);
static int json_end(void *ctx);
static int json_start_array(void *ctx);
static int json_integer_text(const char *s, size_t n);


static const yajl_callbacks  integrations_json_callbacks = {
    json_null,
    json_boolean,
    NULL,                   /* yajl_integer: yajl_number has the text */
    NULL,                   /* yajl_double */
    json_number,
    json_string,
    json_start_map,
    json_map_key,
    json_end,
    json_start_array,
    json_end
};


integrations_json_doc_t *
integrations_json_parse(const char *p, size_t len,
    const integrations_json_limits_t *lim, char *err, size_t err_len)
{
    size_t                    max_len, i;
    yajl_handle               h;
    yajl_status               st;
    integrations_json_ctx_t   c;
    integrations_json_doc_t  *doc;

    memset(&c, 0, sizeof(c));

    max_len = (lim && lim->max_len) ? lim->max_len : INTEGRATIONS_JSON_MAX_LEN;
    c.max_depth = (lim && lim->max_depth) ? lim->max_depth
                                          : INTEGRATIONS_JSON_MAX_DEPTH;
    c.max_nodes = (lim && lim->max_nodes) ? lim->max_nodes
                                          : INTEGRATIONS_JSON_MAX_NODES;

    if (err_len) {
        err[0] = '\0';
    }

    if (len == 0) {
        snprintf(err, err_len, "empty body");
        return NULL;
    }

    if (len > max_len) {
        snprintf(err, err_len, "body larger than %zu bytes", max_len);
        return NULL;
    }

    doc = calloc(1, sizeof(integrations_json_doc_t));
    c.frames = calloc(c.max_depth + 1, sizeof(integrations_json_frame_t));

    if (doc == NULL || c.frames == NULL) {
        free(doc);
        free(c.frames);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }

    c.doc = doc;

    h = yajl_alloc(&integrations_json_callbacks, NULL, &c);
    if (h == NULL) {
        c.error = "out of memory";
        goto failed;
    }

    st = yajl_parse(h, (const unsigned char *) p, len);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    if (st != yajl_status_ok || c.frames[0].n != 1 || c.depth != 0) {
        if (c.error == NULL) {
            c.error = "not one well-formed JSON value";
        }

        goto failed;
    }

    doc->root = c.frames[0].v[0];
    doc->root.key = NULL;
    doc->root.key_len = 0;

    for (i = 0; i <= c.max_depth; i++) {
        free(c.frames[i].v);
    }

    free(c.frames);

    return doc;

failed:

    for (i = 0; i <= c.max_depth; i++) {
        free(c.frames[i].v);
    }

    free(c.frames);
    integrations_json_free(doc);

    snprintf(err, err_len, "%s", c.error);

    return NULL;
}


const integrations_json_t *
integrations_json_root(const integrations_json_doc_t *doc)
{
    return doc ? &doc->root : NULL;
}


void *
integrations_json_alloc(integrations_json_doc_t *doc, size_t size)
{
    size_t                      align, need;
    unsigned char              *p;
    integrations_json_block_t  *b;

    align = INTEGRATIONS_JSON_ALIGN;
    size = (size + align - 1) / align * align;

    if (size == 0) {
        size = align;
    }

    b = doc->blocks;

    if (b == NULL || b->size - b->used < size) {
        need = size > INTEGRATIONS_JSON_BLOCK ? size : INTEGRATIONS_JSON_BLOCK;

        /* the header is rounded up so that the bytes stay aligned */

        b = malloc((sizeof(integrations_json_block_t) + align - 1)
                   / align * align + need);
        if (b == NULL) {
            return NULL;
        }

        b->used = 0;
        b->size = need;
        b->next = doc->blocks;
        doc->blocks = b;
    }

    p = (unsigned char *) b
        + (sizeof(integrations_json_block_t) + align - 1) / align * align
        + b->used;
    b->used += size;

    memset(p, 0, size);

    return p;
}


void
integrations_json_free(integrations_json_doc_t *doc)
{
    integrations_json_block_t  *b, *next;

    if (doc == NULL) {
        return;
    }

    for (b = doc->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    free(doc);
}


const integrations_json_t *
integrations_json_get(const integrations_json_t *v, const char *key)
{
    size_t  i, n;

    if (v == NULL || v->type != INTEGRATIONS_JSON_OBJECT) {
        return NULL;
    }

    n = strlen(key);

    /* the last of duplicate names, as most JSON parsers answer */

    for (i = v->n; i > 0; i--) {
        if (v->items[i - 1].key_len == n
            && memcmp(v->items[i - 1].key, key, n) == 0)
        {
            return &v->items[i - 1];
        }
    }

    return NULL;
}


size_t
integrations_json_count(const integrations_json_t *v)
{
    if (v == NULL
        || (v->type != INTEGRATIONS_JSON_ARRAY
            && v->type != INTEGRATIONS_JSON_OBJECT))
    {
        return 0;
    }

    return v->n;
}


const integrations_json_t *
integrations_json_at(const integrations_json_t *v, size_t i)
{
    if (i >= integrations_json_count(v)) {
        return NULL;
    }

    return &v->items[i];
}


int
integrations_json_absent(const integrations_json_t *v)
{
    return v == NULL || v->type == INTEGRATIONS_JSON_NULL;
}


int
integrations_json_text(const integrations_json_t *v, const char **s,
    size_t *len)
{
    size_t               i;
    const unsigned char *p;

    if (v == NULL || v->type != INTEGRATIONS_JSON_STRING) {
        return -1;
    }

    p = (const unsigned char *) v->text;

    for (i = 0; i < v->len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return -1;
        }
    }

    *s = v->text;
    *len = v->len;

    return 0;
}


int
integrations_json_string(const integrations_json_t *v, const char **s,
    size_t *len)
{
    if (v == NULL || v->type != INTEGRATIONS_JSON_STRING) {
        return -1;
    }

    *s = v->text;
    *len = v->len;

    return 0;
}


int
integrations_json_int64(const integrations_json_t *v, int64_t *out)
{
    int       neg;
    size_t    i;
    uint64_t  u, limit;

    if (v == NULL
        || (v->type != INTEGRATIONS_JSON_NUMBER
            && v->type != INTEGRATIONS_JSON_STRING)
        || !json_integer_text(v->text, v->len))
    {
        return -1;
    }

    neg = (v->text[0] == '-');
    limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    u = 0;

    for (i = neg; i < v->len; i++) {
        if (u > (limit - (v->text[i] - '0')) / 10) {
            return -1;
        }

        u = u * 10 + (v->text[i] - '0');
    }

    if (neg) {
        *out = (u == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) u;

    } else {
        *out = (int64_t) u;
    }

    return 0;
}


int
integrations_json_id(const integrations_json_t *v, const char **s,
    size_t *len)
{
    if (v == NULL
        || (v->type != INTEGRATIONS_JSON_NUMBER
            && v->type != INTEGRATIONS_JSON_STRING)
        || v->len > INTEGRATIONS_JSON_ID_MAX
        || (v->len == INTEGRATIONS_JSON_ID_MAX && v->text[0] != '-')
        || !json_integer_text(v->text, v->len))
    {
        return -1;
    }

    *s = v->text;
    *len = v->len;

    return 0;
}


int
integrations_json_bool(const integrations_json_t *v, int *out)
{
    if (v == NULL || v->type != INTEGRATIONS_JSON_BOOL) {
        return -1;
    }

    *out = v->boolean;

    return 0;
}


/* "-"? ("0" | [1-9][0-9]*) */

static int
json_integer_text(const char *s, size_t n)
{
    size_t  i;

    i = (n > 0 && s[0] == '-');

    if (i == n) {
        return 0;
    }

    if (s[i] == '0' && n - i > 1) {
        return 0;
    }

    for ( /* void */ ; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    return 1;
}


static const char *
json_copy(integrations_json_doc_t *doc, const void *s, size_t n)
{
    char  *p;

    p = integrations_json_alloc(doc, n + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, n);
    p[n] = '\0';

    return p;
}


static int
json_add(integrations_json_ctx_t *c, integrations_json_t *v)
{
    size_t                      size;
    integrations_json_t        *nv;
    integrations_json_frame_t  *f;

    if (++c->nodes > c->max_nodes) {
        c->error = "too many values";
        return 0;
    }

    f = &c->frames[c->depth];

    if (f->object) {
        v->key = f->key;
        v->key_len = f->key_len;
        f->key = NULL;
    }

    if (f->n == f->size) {
        size = f->size ? f->size * 2 : 16;
        nv = realloc(f->v, size * sizeof(integrations_json_t));

        if (nv == NULL) {
            c->error = "out of memory";
            return 0;
        }

        f->v = nv;
        f->size = size;
    }

    f->v[f->n++] = *v;

    return 1;
}


static int
json_null(void *ctx)
{
    integrations_json_t  v;

    memset(&v, 0, sizeof(v));
    v.type = INTEGRATIONS_JSON_NULL;

    return json_add(ctx, &v);
}


static int
json_boolean(void *ctx, int b)
{
    integrations_json_t  v;

    memset(&v, 0, sizeof(v));
    v.type = INTEGRATIONS_JSON_BOOL;
    v.boolean = b ? 1 : 0;

    return json_add(ctx, &v);
}


static int
json_scalar(integrations_json_ctx_t *c, integrations_json_type_e type,
    const void *s, size_t n)
{
    integrations_json_t  v;

    memset(&v, 0, sizeof(v));
    v.type = type;
    v.text = json_copy(c->doc, s, n);
    v.len = n;

    if (v.text == NULL) {
        c->error = "out of memory";
        return 0;
    }

    return json_add(c, &v);
}


static int
json_number(void *ctx, const char *s, size_t n)
{
    return json_scalar(ctx, INTEGRATIONS_JSON_NUMBER, s, n);
}


static int
json_string(void *ctx, const unsigned char *s, size_t n)
{
    return json_scalar(ctx, INTEGRATIONS_JSON_STRING, s, n);
}


static int
json_start(integrations_json_ctx_t *c, int object)
{
    integrations_json_frame_t  *f;

    if (c->depth + 1 > c->max_depth) {
        c->error = "nested too deeply";
        return 0;
    }

    /*
     * The container's own node is added to its parent when it closes;
     * its member name waits in the parent's frame until then.
     */

    c->depth++;
    f = &c->frames[c->depth];
    f->n = 0;
    f->object = object;
    f->key = NULL;

    return 1;
}


static int
json_start_map(void *ctx)
{
    return json_start(ctx, 1);
}


static int
json_start_array(void *ctx)
{
    return json_start(ctx, 0);
}


static int
json_map_key(void *ctx, const unsigned char *s, size_t n)
{
    integrations_json_ctx_t    *c = ctx;
    integrations_json_frame_t  *f;

    f = &c->frames[c->depth];
    f->key = json_copy(c->doc, s, n);
    f->key_len = n;

    if (f->key == NULL) {
        c->error = "out of memory";
        return 0;
    }

    return 1;
}


static int
json_end(void *ctx)
{
    integrations_json_t         v, *items;
    integrations_json_ctx_t    *c = ctx;
    integrations_json_frame_t  *f;

    f = &c->frames[c->depth];

    items = NULL;

    if (f->n) {
        items = integrations_json_alloc(c->doc,
                                        f->n * sizeof(integrations_json_t));
        if (items == NULL) {
            c->error = "out of memory";
            return 0;
        }

        memcpy(items, f->v, f->n * sizeof(integrations_json_t));
    }

    memset(&v, 0, sizeof(v));
    v.type = f->object ? INTEGRATIONS_JSON_OBJECT : INTEGRATIONS_JSON_ARRAY;
    v.items = items;
    v.n = f->n;

    f->n = 0;
    c->depth--;

    return json_add(c, &v);
}


int
integrations_json_gen_init(integrations_json_gen_t *w)
{
    w->failed = 0;
    w->g = yajl_gen_alloc(NULL);

    if (w->g == NULL) {
        return -1;
    }

    yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);

    return 0;
}


void
integrations_json_gen_str(integrations_json_gen_t *w, const char *s,
    size_t n)
{
    if (yajl_gen_string(w->g, (const unsigned char *) s, n)
        != yajl_gen_status_ok)
    {
        w->failed = 1;
    }
}


void
integrations_json_gen_cstr(integrations_json_gen_t *w, const char *s)
{
    integrations_json_gen_str(w, s, strlen(s));
}


void
integrations_json_gen_number(integrations_json_gen_t *w, const char *s,
    size_t n)
{
    if (yajl_gen_number(w->g, s, n) != yajl_gen_status_ok) {
        w->failed = 1;
    }
}


void
integrations_json_gen_int(integrations_json_gen_t *w, long long v)
{
    if (yajl_gen_integer(w->g, v) != yajl_gen_status_ok) {
        w->failed = 1;
    }
}


void
integrations_json_gen_bool(integrations_json_gen_t *w, int b)
{
    if (yajl_gen_bool(w->g, b) != yajl_gen_status_ok) {
        w->failed = 1;
    }
}


char *
integrations_json_gen_done(integrations_json_gen_t *w, size_t *len)
{
    char                 *out;
    size_t                n;
    const unsigned char  *buf;

    out = NULL;

    if (!w->failed
        && yajl_gen_get_buf(w->g, &buf, &n) == yajl_gen_status_ok)
    {
        out = malloc(n + 1);

        if (out != NULL) {
            memcpy(out, buf, n);
            out[n] = '\0';
            *len = n;
        }
    }

    yajl_gen_free(w->g);
    w->g = NULL;

    return out;
}
