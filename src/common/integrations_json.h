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
#include <stdint.h>
#include <yajl/yajl_gen.h>
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


/*
 * Readers of one value, for callers that keep what they read (ids from a
 * provider, counts, names).  Each takes NULL (a missing member) as a
 * value of the wrong type, so lookups chain:
 *     integrations_json_int64(integrations_json_get(obj, "code"), &code)
 */

/* the longest id integrations_json_id() takes: "-" and 20 digits */
#define INTEGRATIONS_JSON_ID_MAX        21

/* a string with no control character at all; returns 0, or -1 */
int integrations_json_text(yajl_val v, const char **s, size_t *len);

/*
 * An integer written as a number or as a string (200 and "200" alike):
 * "-"?, digits, no leading zero but in "0", no fraction, no exponent,
 * within int64.  The number's text is read, never its double.  Returns
 * 0, or -1.
 */
int integrations_json_int64(yajl_val v, int64_t *out);

/*
 * An id written as a number or a string, with the syntax above and at
 * most 20 digits, returned as the text written: an 18-digit id read
 * through a double loses digits.  Returns 0, or -1.
 */
int integrations_json_id(yajl_val v, const char **s, size_t *len);


/*
 * Writing: yajl_gen with UTF-8 validation and a sticky failure, so that a
 * body in which yajl refused one string (invalid UTF-8) is never sent
 * half-written.  Containers are opened and closed with yajl itself
 * (yajl_gen_map_open(w.g), ...); values go through these:
 *
 *     if (integrations_json_gen_init(&w) != 0) { ... }
 *     yajl_gen_map_open(w.g);
 *     integrations_json_gen_cstr(&w, "id");
 *     integrations_json_gen_number(&w, digits, n);
 *     yajl_gen_map_close(w.g);
 *     body = integrations_json_gen_done(&w, &len);     (NULL: failed)
 */
typedef struct {
    yajl_gen  g;
    int       failed;
} integrations_json_gen_t;

int integrations_json_gen_init(integrations_json_gen_t *w);
void integrations_json_gen_str(integrations_json_gen_t *w, const char *s,
    size_t n);
void integrations_json_gen_cstr(integrations_json_gen_t *w, const char *s);
/* a number as the given text (its digits checked by the caller) */
void integrations_json_gen_number(integrations_json_gen_t *w, const char *s,
    size_t n);
void integrations_json_gen_int(integrations_json_gen_t *w, long long v);
void integrations_json_gen_bool(integrations_json_gen_t *w, int b);

/* The text, malloc()ed and NUL-terminated, or NULL; frees the generator. */
char *integrations_json_gen_done(integrations_json_gen_t *w, size_t *len);

#endif /* INTEGRATIONS_JSON_H */
