/*
 * Strict JSON input for the notification core: yajl_tree, made safe to read
 * with strlen().
 *
 * yajl_tree keeps duplicate keys (a later lookup may see either), turns
 * "\u0000" into a NUL that cuts the string for every later strlen(),
 * turns a lone surrogate into "?", and accepts comments.  This parser
 * refuses all of those before the tree is used, so that every string in
 * a tree it returns has strlen() == its real length, every object has
 * unique keys, and no key holds a control byte.  Control bytes inside
 * values (escaped "\n", "\u0007") are legal JSON: the readers below say
 * which a field may keep.
 *
 * (No common JSON helper existed in src/common/ when this was written;
 * if one lands there, this file should become a thin user of it.)
 */

#ifndef INTEGRATIONS_NOTIFY_JSON_H
#define INTEGRATIONS_NOTIFY_JSON_H

#include <stddef.h>
#include <yajl/yajl_tree.h>


typedef enum {
    INTEGRATIONS_NJSON_OK = 0,
    INTEGRATIONS_NJSON_SYNTAX,        /* not JSON, trailing bytes, comment */
    INTEGRATIONS_NJSON_TOO_LARGE,     /* over max_len */
    INTEGRATIONS_NJSON_DEPTH,         /* nested deeper than max_depth */
    INTEGRATIONS_NJSON_NUL,           /* a NUL byte or "\u0000" */
    INTEGRATIONS_NJSON_SURROGATE,     /* a "\uD800".."\uDFFF" not in a pair */
    INTEGRATIONS_NJSON_DUPLICATE,     /* a key twice in one object */
    INTEGRATIONS_NJSON_KEY            /* a key with a control byte */
} integrations_njson_error_e;


typedef struct {
    int   error;                      /* integrations_njson_error_e */
    char  path[128];                  /* DUPLICATE, KEY: where, as
                                         "items[3].to"; cut if long */
} integrations_njson_status_t;


/* string policies for integrations_njson_str() */
#define INTEGRATIONS_NJSON_LINE   0   /* no control byte at all */
#define INTEGRATIONS_NJSON_TEXT   1   /* tab, LF, CR allowed; no others */


/*
 * Parses json[0..len) (no NUL needed).  Returns the tree, to be freed
 * with yajl_tree_free(), or NULL and st->error.
 */
yajl_val integrations_njson_parse(const char *json, size_t len,
    size_t max_len, size_t max_depth, integrations_njson_status_t *st);

const char *integrations_njson_error_text(int error);

/* the value of key in obj, or NULL (also when obj is not an object) */
yajl_val integrations_njson_get(yajl_val obj, const char *key);

/*
 * A string value and its length: 0, or -1 when v is not a string or holds
 * a control byte the policy does not allow (DEL counts as one).
 */
int integrations_njson_str(yajl_val v, int policy, const char **s,
    size_t *len);

/* the policy check alone, on any bytes */
int integrations_njson_clean(const char *s, size_t len, int policy);

/* a number's text as written ("1.21", "85"), or NULL */
const char *integrations_njson_number(yajl_val v);

/*
 * Parses an integer number value into *n: 0, or -1 for a non-number, a
 * fraction or exponent, or one outside [min, max].
 */
int integrations_njson_int(yajl_val v, long long min, long long max,
    long long *n);

#endif /* INTEGRATIONS_NOTIFY_JSON_H */
