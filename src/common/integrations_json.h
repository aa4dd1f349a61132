/*
 * Strict JSON into a yajl tree, for input from outside.
 *
 * yajl_tree_parse() hands out strings as C strings: a "\u0000" escape in
 * a string or key cuts it at the NUL without a word, so "o\u0000x" reads
 * as "o".  It keeps both values of a key given twice (readers then pick
 * one, usually the last), allows comments, and needs a NUL-terminated
 * copy of the input.  integrations_json_parse() builds the same tree
 * (freed with yajl_tree_free(), read with the YAJL_* macros) from a byte
 * range, and refuses instead:
 *
 *     - anything that is not one JSON text (comments, trailing bytes,
 *       invalid UTF-8 included);
 *     - a string or key holding U+0000, always: a tree of C strings
 *       cannot hold it;
 *     - nesting deeper than max_depth, before it is built (the tree is
 *       freed recursively);
 *     - with INTEGRATIONS_JSON_UNIQUE_KEYS, an object with a key twice,
 *       at any depth.
 *
 * On a refusal err says what and where: the path of the value or key,
 * "metadata.sku", "items[2].id" (a key that cannot be shown as it is,
 * with bytes outside printable ASCII, is "*"; "" is the whole text).
 */

#ifndef INTEGRATIONS_JSON_H
#define INTEGRATIONS_JSON_H

#include <stddef.h>
#include <yajl/yajl_tree.h>


#define INTEGRATIONS_JSON_UNIQUE_KEYS   0x01

#define INTEGRATIONS_JSON_PATH_LEN      128


typedef enum {
    INTEGRATIONS_JSON_OK = 0,
    INTEGRATIONS_JSON_INVALID,        /* not one JSON text */
    INTEGRATIONS_JSON_TOO_DEEP,
    INTEGRATIONS_JSON_NUL,            /* U+0000 in the string or key */
    INTEGRATIONS_JSON_DUPLICATE,      /* the key at path given twice */
    INTEGRATIONS_JSON_NOMEM
} integrations_json_error_e;


typedef struct {
    int   error;                      /* integrations_json_error_e */
    char  path[INTEGRATIONS_JSON_PATH_LEN];
} integrations_json_err_t;


/* NULL and err filled on a refusal; err may be NULL */
yajl_val integrations_json_parse(const char *json, size_t len,
    unsigned max_depth, unsigned flags, integrations_json_err_t *err);

/* "holds a NUL character", ...: to follow a quoted path in a message */
const char *integrations_json_strerror(int error);

/*
 * The value of key in an object (the last one when keys may repeat), or
 * NULL: obj NULL or not an object, or no such key.
 */
yajl_val integrations_json_get(yajl_val obj, const char *key);

/*
 * 1 if s[0..len) has no control character: none of U+0000..U+001F, nor
 * DEL; with text set, tab, line feed and carriage return are allowed.
 */
int integrations_json_plain(const char *s, size_t len, int text);

#endif /* INTEGRATIONS_JSON_H */
