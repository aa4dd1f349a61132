/*
 * Strict JSON into a yajl tree: see integrations_json.h.
 *
 * The tree is built from yajl's parser callbacks the way yajl_tree does,
 * so that yajl_tree_free() frees it: every node, string, key and array
 * is malloc()ed.  Open containers are kept in a stack of frames that is
 * also what the path of an error is rendered from.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "integrations_json.h"


/* the deepest any caller may ask for: the frames live on the C stack */
#define INTEGRATIONS_JSON_MAX_DEPTH   128

/* an object this small is checked for a key twice without sorting */
#define INTEGRATIONS_JSON_SMALL       16

#define INTEGRATIONS_JSON_KEY_SHOWN   40


typedef struct {
    yajl_val                  value;    /* the open object or array */
    char                     *key;      /* the key whose value is next */
    size_t                    size;     /* room in the value's arrays */
} integrations_json_frame_t;


typedef struct {
    integrations_json_frame_t  frames[INTEGRATIONS_JSON_MAX_DEPTH];
    unsigned                   depth;
    unsigned                   max_depth;
    unsigned                   flags;
    yajl_val                   root;
    integrations_json_err_t   *err;
} integrations_json_ctx_t;


static int json_null(void *data);
static int json_boolean(void *data, int b);
static int json_number(void *data, const char *s, size_t len);
static int json_string(void *data, const unsigned char *s, size_t len);
static int json_start_map(void *data);
static int json_map_key(void *data, const unsigned char *s, size_t len);
static int json_end_map(void *data);
static int json_start_array(void *data);
static int json_end_array(void *data);
static int json_add(integrations_json_ctx_t *ctx, yajl_val v);
static int json_open(integrations_json_ctx_t *ctx, yajl_type type);
static const char *json_duplicate(yajl_val obj);
static int json_strcmp(const void *a, const void *b);
static int json_fail(integrations_json_ctx_t *ctx, int error,
    unsigned frames, const char *key);
static void json_path_key(char *path, size_t *n, const char *key);
static void json_path_add(char *path, size_t *n, const char *s, size_t len);
static int json_integer_text(const char *s, size_t n);
static int json_number_text(yajl_val v, const char **s, size_t *len);


static const yajl_callbacks  integrations_json_callbacks = {
    json_null,
    json_boolean,
    NULL,
    NULL,
    json_number,
    json_string,
    json_start_map,
    json_map_key,
    json_end_map,
    json_start_array,
    json_end_array
};


yajl_val
integrations_json_parse(const char *json, size_t len, unsigned max_depth,
    unsigned flags, integrations_json_err_t *err)
{
    unsigned                  i;
    yajl_status               st;
    yajl_handle               h;
    integrations_json_err_t   dummy;
    integrations_json_ctx_t   ctx;

    if (err == NULL) {
        err = &dummy;
    }

    err->error = INTEGRATIONS_JSON_OK;
    err->path[0] = '\0';

    ctx.depth = 0;
    ctx.max_depth = (max_depth < INTEGRATIONS_JSON_MAX_DEPTH)
                    ? max_depth : INTEGRATIONS_JSON_MAX_DEPTH;
    ctx.flags = flags;
    ctx.root = NULL;
    ctx.err = err;

    h = yajl_alloc(&integrations_json_callbacks, NULL, &ctx);
    if (h == NULL) {
        err->error = INTEGRATIONS_JSON_NOMEM;
        return NULL;
    }

    /* yajl's defaults are strict JSON: no comments, one value, UTF-8 */

    st = yajl_parse(h, (const unsigned char *) json, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    if (st == yajl_status_ok && ctx.root != NULL) {
        return ctx.root;
    }

    if (err->error == INTEGRATIONS_JSON_OK) {
        err->error = INTEGRATIONS_JSON_INVALID;
        err->path[0] = '\0';
    }

    /* what was built so far: open containers are not in their parent */

    for (i = ctx.depth; i > 0; i--) {
        free(ctx.frames[i - 1].key);
        yajl_tree_free(ctx.frames[i - 1].value);
    }

    yajl_tree_free(ctx.root);

    return NULL;
}


const char *
integrations_json_strerror(int error)
{
    switch (error) {
    case INTEGRATIONS_JSON_OK:
        return "is valid";
    case INTEGRATIONS_JSON_TOO_DEEP:
        return "is nested too deep";
    case INTEGRATIONS_JSON_NUL:
        return "holds a NUL character";
    case INTEGRATIONS_JSON_DUPLICATE:
        return "is given more than once";
    case INTEGRATIONS_JSON_NOMEM:
        return "could not be read: out of memory";
    }

    return "is not valid JSON";
}


yajl_val
integrations_json_get(yajl_val obj, const char *key)
{
    size_t  i;

    if (obj == NULL || !YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = obj->u.object.len; i > 0; i--) {
        if (strcmp(obj->u.object.keys[i - 1], key) == 0) {
            return obj->u.object.values[i - 1];
        }
    }

    return NULL;
}


int
integrations_json_plain(const char *s, size_t len, int text)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c != 0x7f) {
            continue;
        }

        if (text && (c == '\t' || c == '\n' || c == '\r')) {
            continue;
        }

        return 0;
    }

    return 1;
}


int
integrations_json_text(yajl_val v, const char **s, size_t *len)
{
    size_t  n;

    if (v == NULL || !YAJL_IS_STRING(v)) {
        return -1;
    }

    /* the reader refused NULs: strlen() is the whole string */

    n = strlen(v->u.string);

    if (!integrations_json_plain(v->u.string, n, 0)) {
        return -1;
    }

    *s = v->u.string;
    *len = n;

    return 0;
}


int
integrations_json_int64(yajl_val v, int64_t *out)
{
    int          neg;
    size_t       i, n;
    uint64_t     u, limit;
    const char  *s;

    if (json_number_text(v, &s, &n) != 0 || !json_integer_text(s, n)) {
        return -1;
    }

    neg = (s[0] == '-');
    limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    u = 0;

    for (i = neg; i < n; i++) {
        if (u > (limit - (uint64_t) (s[i] - '0')) / 10) {
            return -1;
        }

        u = u * 10 + (uint64_t) (s[i] - '0');
    }

    if (neg) {
        *out = (u == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) u;

    } else {
        *out = (int64_t) u;
    }

    return 0;
}


int
integrations_json_id(yajl_val v, const char **s, size_t *len)
{
    size_t       n;
    const char  *t;

    if (json_number_text(v, &t, &n) != 0
        || n > INTEGRATIONS_JSON_ID_MAX
        || (n == INTEGRATIONS_JSON_ID_MAX && t[0] != '-')
        || !json_integer_text(t, n))
    {
        return -1;
    }

    *s = t;
    *len = n;

    return 0;
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


/* the text of a number, or a string that may hold one */

static int
json_number_text(yajl_val v, const char **s, size_t *len)
{
    if (v != NULL && YAJL_IS_NUMBER(v)) {
        *s = v->u.number.r;

    } else if (v != NULL && YAJL_IS_STRING(v)) {
        *s = v->u.string;

    } else {
        return -1;
    }

    *len = strlen(*s);

    return 0;
}


/* "-"? ("0" | [1-9][0-9]*) */

static int
json_integer_text(const char *s, size_t n)
{
    size_t  i;

    i = (n > 0 && s[0] == '-');

    if (i == n || (s[i] == '0' && n - i > 1)) {
        return 0;
    }

    for ( /* void */ ; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    return 1;
}


static int
json_null(void *data)
{
    yajl_val  v;

    v = calloc(1, sizeof(struct yajl_val_s));
    if (v == NULL) {
        return json_fail(data, INTEGRATIONS_JSON_NOMEM, 0, NULL);
    }

    v->type = yajl_t_null;

    return json_add(data, v);
}


static int
json_boolean(void *data, int b)
{
    yajl_val  v;

    v = calloc(1, sizeof(struct yajl_val_s));
    if (v == NULL) {
        return json_fail(data, INTEGRATIONS_JSON_NOMEM, 0, NULL);
    }

    v->type = b ? yajl_t_true : yajl_t_false;

    return json_add(data, v);
}


static int
json_number(void *data, const char *s, size_t len)
{
    char      *end;
    yajl_val   v;

    v = calloc(1, sizeof(struct yajl_val_s));
    if (v == NULL) {
        return json_fail(data, INTEGRATIONS_JSON_NOMEM, 0, NULL);
    }

    v->type = yajl_t_number;
    v->u.number.r = malloc(len + 1);

    if (v->u.number.r == NULL) {
        free(v);
        return json_fail(data, INTEGRATIONS_JSON_NOMEM, 0, NULL);
    }

    memcpy(v->u.number.r, s, len);
    v->u.number.r[len] = '\0';

    /* the text is what callers should read; these are for the macros */

    errno = 0;
    v->u.number.i = strtoll(v->u.number.r, &end, 10);
    if (errno == 0 && *end == '\0') {
        v->u.number.flags |= YAJL_NUMBER_INT_VALID;
    }

    errno = 0;
    v->u.number.d = strtod(v->u.number.r, &end);
    if (errno == 0 && *end == '\0') {
        v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
    }

    return json_add(data, v);
}


static int
json_string(void *data, const unsigned char *s, size_t len)
{
    yajl_val                  v;
    integrations_json_ctx_t  *ctx = data;

    if (memchr(s, '\0', len) != NULL) {
        return json_fail(ctx, INTEGRATIONS_JSON_NUL, ctx->depth, NULL);
    }

    v = calloc(1, sizeof(struct yajl_val_s));
    if (v == NULL) {
        return json_fail(ctx, INTEGRATIONS_JSON_NOMEM, 0, NULL);
    }

    v->type = yajl_t_string;
    v->u.string = malloc(len + 1);

    if (v->u.string == NULL) {
        free(v);
        return json_fail(ctx, INTEGRATIONS_JSON_NOMEM, 0, NULL);
    }

    memcpy(v->u.string, s, len);
    v->u.string[len] = '\0';

    return json_add(ctx, v);
}


static int
json_map_key(void *data, const unsigned char *s, size_t len)
{
    integrations_json_frame_t  *f;
    integrations_json_ctx_t    *ctx = data;

    /* the key cannot be shown: the path is its object's */

    if (memchr(s, '\0', len) != NULL) {
        return json_fail(ctx, INTEGRATIONS_JSON_NUL, ctx->depth - 1, NULL);
    }

    f = &ctx->frames[ctx->depth - 1];

    f->key = malloc(len + 1);
    if (f->key == NULL) {
        return json_fail(ctx, INTEGRATIONS_JSON_NOMEM, 0, NULL);
    }

    memcpy(f->key, s, len);
    f->key[len] = '\0';

    return 1;
}


static int
json_start_map(void *data)
{
    return json_open(data, yajl_t_object);
}


static int
json_start_array(void *data)
{
    return json_open(data, yajl_t_array);
}


static int
json_end_map(void *data)
{
    yajl_val                  v;
    const char               *dup;
    integrations_json_ctx_t  *ctx = data;

    v = ctx->frames[ctx->depth - 1].value;

    if (ctx->flags & INTEGRATIONS_JSON_UNIQUE_KEYS) {
        dup = json_duplicate(v);

        if (dup == (const char *) -1) {
            return json_fail(ctx, INTEGRATIONS_JSON_NOMEM, 0, NULL);
        }

        if (dup) {
            return json_fail(ctx, INTEGRATIONS_JSON_DUPLICATE,
                             ctx->depth - 1, dup);
        }
    }

    ctx->depth--;

    return json_add(ctx, v);
}


static int
json_end_array(void *data)
{
    integrations_json_ctx_t  *ctx = data;

    ctx->depth--;

    return json_add(ctx, ctx->frames[ctx->depth].value);
}


static int
json_open(integrations_json_ctx_t *ctx, yajl_type type)
{
    yajl_val                    v;
    integrations_json_frame_t  *f;

    if (ctx->depth >= ctx->max_depth) {
        return json_fail(ctx, INTEGRATIONS_JSON_TOO_DEEP, ctx->depth, NULL);
    }

    v = calloc(1, sizeof(struct yajl_val_s));
    if (v == NULL) {
        return json_fail(ctx, INTEGRATIONS_JSON_NOMEM, 0, NULL);
    }

    v->type = type;

    f = &ctx->frames[ctx->depth++];
    f->value = v;
    f->key = NULL;
    f->size = 0;

    return 1;
}


/* a finished value into its container, or as the root */

static int
json_add(integrations_json_ctx_t *ctx, yajl_val v)
{
    void                       *p;
    size_t                      n;
    yajl_val                    c;
    integrations_json_frame_t  *f;

    if (ctx->depth == 0) {
        ctx->root = v;
        return 1;
    }

    f = &ctx->frames[ctx->depth - 1];
    c = f->value;
    n = YAJL_IS_OBJECT(c) ? c->u.object.len : c->u.array.len;

    if (n == f->size) {
        f->size = f->size ? 2 * f->size : 4;

        if (YAJL_IS_OBJECT(c)) {
            p = realloc((void *) c->u.object.keys,
                        f->size * sizeof(const char *));
            if (p == NULL) {
                goto nomem;
            }

            c->u.object.keys = p;
            p = realloc(c->u.object.values, f->size * sizeof(yajl_val));

        } else {
            p = realloc(c->u.array.values, f->size * sizeof(yajl_val));
        }

        if (p == NULL) {
            goto nomem;
        }

        if (YAJL_IS_OBJECT(c)) {
            c->u.object.values = p;

        } else {
            c->u.array.values = p;
        }
    }

    if (YAJL_IS_OBJECT(c)) {
        c->u.object.keys[n] = f->key;
        c->u.object.values[n] = v;
        c->u.object.len++;
        f->key = NULL;

    } else {
        c->u.array.values[n] = v;
        c->u.array.len++;
    }

    return 1;

nomem:

    /* the arrays keep their old size: shrink what "size" promised */

    f->size = n;
    yajl_tree_free(v);

    return json_fail(ctx, INTEGRATIONS_JSON_NOMEM, 0, NULL);
}


/* a key the object has twice, NULL, or (const char *) -1: no memory */

static const char *
json_duplicate(yajl_val obj)
{
    size_t        i, j, n;
    const char   *dup, **keys;

    n = obj->u.object.len;
    keys = obj->u.object.keys;

    if (n <= INTEGRATIONS_JSON_SMALL) {
        for (i = 1; i < n; i++) {
            for (j = 0; j < i; j++) {
                if (strcmp(keys[i], keys[j]) == 0) {
                    return keys[i];
                }
            }
        }

        return NULL;
    }

    /* sorted, a key twice is two neighbours: n log n, not n squared */

    keys = malloc(n * sizeof(const char *));
    if (keys == NULL) {
        return (const char *) -1;
    }

    memcpy(keys, obj->u.object.keys, n * sizeof(const char *));
    qsort(keys, n, sizeof(const char *), json_strcmp);

    dup = NULL;

    for (i = 1; i < n; i++) {
        if (strcmp(keys[i], keys[i - 1]) == 0) {
            dup = keys[i];
            break;
        }
    }

    free(keys);

    return dup;
}


static int
json_strcmp(const void *a, const void *b)
{
    return strcmp(*(const char * const *) a, *(const char * const *) b);
}


/*
 * Records the error with the path through the first "frames" open
 * containers (each one's pending key or next index), then key; returns
 * 0 to stop the parser.
 */

static int
json_fail(integrations_json_ctx_t *ctx, int error, unsigned frames,
    const char *key)
{
    char                        idx[24];
    size_t                      n, v, i;
    unsigned                    k;
    yajl_val                    c;
    integrations_json_frame_t  *f;

    ctx->err->error = error;
    ctx->err->path[0] = '\0';

    n = 0;

    for (k = 0; k < frames && error != INTEGRATIONS_JSON_NOMEM; k++) {
        f = &ctx->frames[k];
        c = f->value;

        if (YAJL_IS_OBJECT(c)) {
            json_path_key(ctx->err->path, &n, f->key);
            continue;
        }

        /* an array's next index, written backwards then turned */

        i = sizeof(idx);
        idx[--i] = ']';
        v = c->u.array.len;

        do {
            idx[--i] = (char) ('0' + v % 10);
            v /= 10;
        } while (v);

        idx[--i] = '[';
        json_path_add(ctx->err->path, &n, idx + i, sizeof(idx) - i);
    }

    if (key && error != INTEGRATIONS_JSON_NOMEM) {
        json_path_key(ctx->err->path, &n, key);
    }

    return 0;
}


/* ".key", or ".*" for a key that cannot be shown as it is */

static void
json_path_key(char *path, size_t *n, const char *key)
{
    size_t  i, len;

    if (key == NULL) {
        return;
    }

    len = strlen(key);

    for (i = 0; i < len; i++) {
        if ((unsigned char) key[i] <= 0x20 || (unsigned char) key[i] >= 0x7f
            || key[i] == '"' || key[i] == '\\')
        {
            break;
        }
    }

    if (len == 0 || i < len || len > INTEGRATIONS_JSON_KEY_SHOWN) {
        key = "*";
        len = 1;
    }

    if (*n) {
        json_path_add(path, n, ".", 1);
    }

    json_path_add(path, n, key, len);
}


/* appends, or ends the path with "..." once it does not fit */

static void
json_path_add(char *path, size_t *n, const char *s, size_t len)
{
    if (*n >= INTEGRATIONS_JSON_PATH_LEN) {
        return;                                  /* ended already */
    }

    if (*n + len + sizeof("...") > INTEGRATIONS_JSON_PATH_LEN) {
        memcpy(path + *n, "...", sizeof("..."));
        *n = INTEGRATIONS_JSON_PATH_LEN;
        return;
    }

    memcpy(path + *n, s, len);
    *n += len;
    path[*n] = '\0';
}
