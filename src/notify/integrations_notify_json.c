/*
 * Strict JSON input: see integrations_notify_json.h.
 *
 * One pass over the bytes before yajl sees them finds what the tree would
 * hide (NUL escapes, lone surrogates, comments, depth); one walk over the
 * tree after finds duplicate keys and control bytes in keys.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_notify_json.h"


#define INTEGRATIONS_NJSON_SORT_FROM  16   /* keys: sort instead of n^2 */


static int integrations_njson_scan(const char *json, size_t len,
    size_t max_depth);
static int integrations_njson_hex4(const char *p, size_t left,
    unsigned *v);
static int integrations_njson_walk(yajl_val v, char *path, size_t plen,
    size_t size, integrations_njson_status_t *st);
static void integrations_njson_path(char *path, size_t plen, size_t size,
    const char *fmt, const char *key, size_t index);
static int integrations_njson_cmp(const void *a, const void *b);


static const char  *integrations_njson_errors[] = {
    "ok",
    "not valid JSON",
    "too large",
    "nested too deeply",
    "a NUL character",
    "an unpaired surrogate escape",
    "a duplicate key",
    "a control character in a key"
};


const char *
integrations_njson_error_text(int error)
{
    if (error < 0 || error > INTEGRATIONS_NJSON_KEY) {
        return "not valid JSON";
    }

    return integrations_njson_errors[error];
}


yajl_val
integrations_njson_parse(const char *json, size_t len, size_t max_len,
    size_t max_depth, integrations_njson_status_t *st)
{
    int        rc;
    char      *copy;
    yajl_val   root;
    char       path[sizeof(st->path)];

    st->error = INTEGRATIONS_NJSON_OK;
    st->path[0] = '\0';

    if (json == NULL || len == 0) {
        st->error = INTEGRATIONS_NJSON_SYNTAX;
        return NULL;
    }

    if (len > max_len) {
        st->error = INTEGRATIONS_NJSON_TOO_LARGE;
        return NULL;
    }

    rc = integrations_njson_scan(json, len, max_depth);
    if (rc != INTEGRATIONS_NJSON_OK) {
        st->error = rc;
        return NULL;
    }

    copy = malloc(len + 1);
    if (copy == NULL) {
        st->error = INTEGRATIONS_NJSON_TOO_LARGE;
        return NULL;
    }

    memcpy(copy, json, len);
    copy[len] = '\0';

    root = yajl_tree_parse(copy, NULL, 0);

    free(copy);

    if (root == NULL) {
        st->error = INTEGRATIONS_NJSON_SYNTAX;
        return NULL;
    }

    path[0] = '\0';

    if (integrations_njson_walk(root, path, 0, sizeof(path), st) != 0) {
        yajl_tree_free(root);
        return NULL;
    }

    return root;
}


/*
 * The byte pass.  Strings are skipped escape by escape; outside them a
 * "/" can only start a comment (yajl_tree allows comments), and brackets
 * count depth (yajl_tree_free() recurses, so depth is bounded before the
 * tree is built).  The grammar itself is yajl's to check.
 */

static int
integrations_njson_scan(const char *json, size_t len, size_t max_depth)
{
    size_t    i, depth;
    unsigned  u, lo;

    if (memchr(json, '\0', len) != NULL) {
        return INTEGRATIONS_NJSON_NUL;
    }

    depth = 0;

    for (i = 0; i < len; i++) {
        switch (json[i]) {

        case '"':
            for (i++; i < len && json[i] != '"'; i++) {
                if (json[i] != '\\') {
                    continue;
                }

                if (++i >= len) {
                    return INTEGRATIONS_NJSON_SYNTAX;
                }

                if (json[i] != 'u') {
                    continue;
                }

                if (integrations_njson_hex4(json + i + 1, len - i - 1, &u)
                    != 0)
                {
                    return INTEGRATIONS_NJSON_SYNTAX;
                }

                i += 4;

                if (u == 0) {
                    return INTEGRATIONS_NJSON_NUL;
                }

                if (u >= 0xdc00 && u <= 0xdfff) {
                    return INTEGRATIONS_NJSON_SURROGATE;
                }

                if (u >= 0xd800 && u <= 0xdbff) {
                    if (i + 2 >= len || json[i + 1] != '\\'
                        || json[i + 2] != 'u'
                        || integrations_njson_hex4(json + i + 3,
                                                   len - i - 3, &lo) != 0
                        || lo < 0xdc00 || lo > 0xdfff)
                    {
                        return INTEGRATIONS_NJSON_SURROGATE;
                    }

                    i += 6;
                }
            }

            if (i >= len) {
                return INTEGRATIONS_NJSON_SYNTAX;
            }

            break;

        case '[':
        case '{':
            if (++depth > max_depth) {
                return INTEGRATIONS_NJSON_DEPTH;
            }
            break;

        case ']':
        case '}':
            if (depth == 0) {
                return INTEGRATIONS_NJSON_SYNTAX;
            }
            depth--;
            break;

        case '/':
            return INTEGRATIONS_NJSON_SYNTAX;
        }
    }

    return INTEGRATIONS_NJSON_OK;
}


static int
integrations_njson_hex4(const char *p, size_t left, unsigned *v)
{
    size_t    i;
    unsigned  c, d;

    if (left < 4) {
        return -1;
    }

    *v = 0;

    for (i = 0; i < 4; i++) {
        c = (unsigned char) p[i];

        if (c >= '0' && c <= '9') {
            d = c - '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            d = (c | 0x20) - 'a' + 10;

        } else {
            return -1;
        }

        *v = (*v << 4) | d;
    }

    return 0;
}


static int
integrations_njson_walk(yajl_val v, char *path, size_t plen, size_t size,
    integrations_njson_status_t *st)
{
    size_t        i, n, klen;
    const char  **keys, *k;

    if (YAJL_IS_ARRAY(v)) {
        for (i = 0; i < v->u.array.len; i++) {
            integrations_njson_path(path, plen, size, "[%zu]", NULL, i);

            if (integrations_njson_walk(v->u.array.values[i], path,
                                        strlen(path), size, st) != 0)
            {
                return -1;
            }
        }

        path[plen] = '\0';
        return 0;
    }

    if (!YAJL_IS_OBJECT(v)) {
        return 0;
    }

    n = v->u.object.len;

    for (i = 0; i < n; i++) {
        k = v->u.object.keys[i];
        klen = strlen(k);

        integrations_njson_path(path, plen, size, plen ? ".%s" : "%s", k, 0);

        if (!integrations_njson_clean(k, klen, INTEGRATIONS_NJSON_LINE)) {
            /* the key itself is not fit to repeat in a problem */
            path[plen] = '\0';
            snprintf(st->path, sizeof(st->path), "%s", path);
            st->error = INTEGRATIONS_NJSON_KEY;
            return -1;
        }

        if (integrations_njson_walk(v->u.object.values[i], path,
                                    strlen(path), size, st) != 0)
        {
            return -1;
        }
    }

    path[plen] = '\0';

    /* duplicates: few keys are compared pairwise, many sorted */

    k = NULL;

    if (n < INTEGRATIONS_NJSON_SORT_FROM) {
        for (i = 1; i < n && k == NULL; i++) {
            size_t  j;

            for (j = 0; j < i; j++) {
                if (strcmp(v->u.object.keys[i], v->u.object.keys[j]) == 0) {
                    k = v->u.object.keys[i];
                    break;
                }
            }
        }

    } else {
        keys = malloc(n * sizeof(const char *));
        if (keys == NULL) {
            st->error = INTEGRATIONS_NJSON_TOO_LARGE;
            return -1;
        }

        memcpy(keys, v->u.object.keys, n * sizeof(const char *));
        qsort(keys, n, sizeof(const char *), integrations_njson_cmp);

        for (i = 1; i < n; i++) {
            if (strcmp(keys[i], keys[i - 1]) == 0) {
                k = keys[i];
                break;
            }
        }

        free(keys);
    }

    if (k != NULL) {
        integrations_njson_path(path, plen, size, plen ? ".%s" : "%s", k, 0);
        snprintf(st->path, sizeof(st->path), "%s", path);
        path[plen] = '\0';
        st->error = INTEGRATIONS_NJSON_DUPLICATE;
        return -1;
    }

    return 0;
}


/* appends to path at plen; a path that does not fit is cut, never
 * overrun */

static void
integrations_njson_path(char *path, size_t plen, size_t size,
    const char *fmt, const char *key, size_t index)
{
    if (plen >= size - 1) {
        return;
    }

    if (key) {
        snprintf(path + plen, size - plen, fmt, key);

    } else {
        snprintf(path + plen, size - plen, fmt, index);
    }
}


static int
integrations_njson_cmp(const void *a, const void *b)
{
    return strcmp(*(const char * const *) a, *(const char * const *) b);
}


yajl_val
integrations_njson_get(yajl_val obj, const char *key)
{
    size_t  i;

    if (obj == NULL || !YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = 0; i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


int
integrations_njson_clean(const char *s, size_t len, int policy)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c != 0x7f) {
            continue;
        }

        if (policy == INTEGRATIONS_NJSON_TEXT
            && (c == '\t' || c == '\n' || c == '\r'))
        {
            continue;
        }

        return 0;
    }

    return 1;
}


int
integrations_njson_str(yajl_val v, int policy, const char **s, size_t *len)
{
    size_t  n;

    if (v == NULL || !YAJL_IS_STRING(v)) {
        return -1;
    }

    n = strlen(v->u.string);

    if (!integrations_njson_clean(v->u.string, n, policy)) {
        return -1;
    }

    *s = v->u.string;
    *len = n;

    return 0;
}


const char *
integrations_njson_number(yajl_val v)
{
    if (v == NULL || !YAJL_IS_NUMBER(v)) {
        return NULL;
    }

    return v->u.number.r;
}


int
integrations_njson_int(yajl_val v, long long min, long long max,
    long long *n)
{
    int          neg;
    const char  *p;
    long long    x;

    p = integrations_njson_number(v);
    if (p == NULL) {
        return -1;
    }

    neg = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }

    if (*p == '\0') {
        return -1;
    }

    x = 0;

    for ( /* void */ ; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;             /* "1.5", "1e3" */
        }

        if (x > (9223372036854775807LL - 9) / 10) {
            return -1;
        }

        x = x * 10 + (*p - '0');
    }

    if (neg) {
        x = -x;
    }

    if (x < min || x > max) {
        return -1;
    }

    *n = x;

    return 0;
}
