/*
 * A JSON tree that keeps every string's length, for the pure core.
 *
 * yajl_tree hands out NUL-terminated strings without their lengths, so a
 * "\u0000" escape silently cuts a value short wherever the caller uses
 * strlen().  This tree is built from yajl's callback parser instead: each
 * string keeps the exact number of bytes yajl decoded (NUL-terminated as
 * well, for convenience), each number keeps the text the sender wrote, so
 * that an 18- or 19-digit id is never rounded through a double.
 *
 * The whole tree, and anything a caller allocates with
 * integrations_json_alloc(), lives in one arena freed by
 * integrations_json_free().
 *
 *   doc = integrations_json_parse(body, len, NULL, err, sizeof(err));
 *   root = integrations_json_root(doc);
 *   v = integrations_json_get(root, "data");
 *   for (i = 0; i < integrations_json_count(v); i++) {
 *       item = integrations_json_at(v, i);
 *       if (integrations_json_text(integrations_json_get(item, "name"),
 *                                  &s, &n) != 0) { ... refuse ... }
 *   }
 *   integrations_json_free(doc);
 *
 * Accessors take NULL (a missing member) and answer it like a value of
 * the wrong type, so lookups chain without checks in between.
 */

#ifndef INTEGRATIONS_JSON_H
#define INTEGRATIONS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>


/* Defaults of integrations_json_limits_t's zero fields. */
#define INTEGRATIONS_JSON_MAX_LEN    (4 * 1024 * 1024)
#define INTEGRATIONS_JSON_MAX_DEPTH  32
#define INTEGRATIONS_JSON_MAX_NODES  100000

/* Longest id integrations_json_id() takes: "-" and 20 digits. */
#define INTEGRATIONS_JSON_ID_MAX     21


typedef enum {
    INTEGRATIONS_JSON_NULL = 0,
    INTEGRATIONS_JSON_BOOL,
    INTEGRATIONS_JSON_NUMBER,
    INTEGRATIONS_JSON_STRING,
    INTEGRATIONS_JSON_OBJECT,
    INTEGRATIONS_JSON_ARRAY
} integrations_json_type_e;

typedef struct integrations_json_s      integrations_json_t;
typedef struct integrations_json_doc_s  integrations_json_doc_t;

struct integrations_json_s {
    integrations_json_type_e   type;
    int                        boolean;   /* BOOL */
    const char                *text;      /* STRING: decoded bytes;
                                             NUMBER: as written;
                                             NUL-terminated either way */
    size_t                     len;       /* of text, NUL excluded */
    const char                *key;       /* member name in an OBJECT */
    size_t                     key_len;
    const integrations_json_t *items;     /* OBJECT members, ARRAY
                                             elements, in order */
    size_t                     n;
};

typedef struct {
    size_t  max_len;       /* bytes of input; 0: INTEGRATIONS_JSON_MAX_LEN */
    size_t  max_depth;     /* nesting; 0: INTEGRATIONS_JSON_MAX_DEPTH */
    size_t  max_nodes;     /* values; 0: INTEGRATIONS_JSON_MAX_NODES */
} integrations_json_limits_t;


/*
 * Parses exactly one JSON value (RFC 8259: no comments, no trailing
 * bytes, UTF-8 validated by yajl) from p[0..len).  Returns NULL with a
 * short reason in err (which never quotes the input) when the text is not
 * such a value, exceeds a limit, or memory runs out.  lim may be NULL.
 */
integrations_json_doc_t *integrations_json_parse(const char *p, size_t len,
    const integrations_json_limits_t *lim, char *err, size_t err_len);

const integrations_json_t *integrations_json_root(
    const integrations_json_doc_t *doc);

/* size zeroed bytes from the doc's arena, freed with it; NULL: no memory */
void *integrations_json_alloc(integrations_json_doc_t *doc, size_t size);

/* NULL is allowed. */
void integrations_json_free(integrations_json_doc_t *doc);


/* The member named key (the last one when the name repeats), or NULL. */
const integrations_json_t *integrations_json_get(const integrations_json_t *v,
    const char *key);

/* Elements of an ARRAY, members of an OBJECT; 0 for anything else. */
size_t integrations_json_count(const integrations_json_t *v);
const integrations_json_t *integrations_json_at(const integrations_json_t *v,
    size_t i);

/* 1 when v is missing or null. */
int integrations_json_absent(const integrations_json_t *v);


/*
 * A STRING to keep: 0 with its bytes, or -1 when v is not a string or
 * holds a control character (0x00-0x1f, 0x7f), which no kept value
 * (names, ids, phone numbers) has any use for and which would break a log
 * line, a header, a CSV cell or a page.
 */
int integrations_json_text(const integrations_json_t *v, const char **s,
    size_t *len);

/* Any STRING, as decoded, NULs included: for callers that only look. */
int integrations_json_string(const integrations_json_t *v, const char **s,
    size_t *len);

/*
 * An integer written as a NUMBER or as a STRING ("200" and 200 alike):
 * optional "-", digits, no leading zero but in "0", no fraction, no
 * exponent, within int64.  Returns 0, or -1.
 */
int integrations_json_int64(const integrations_json_t *v, int64_t *out);

/*
 * An id written as a NUMBER or a STRING, with the syntax of
 * integrations_json_int64() and at most 20 digits, returned as text: ids
 * are compared and stored as the digits the sender wrote, never through a
 * double.  Returns 0, or -1.
 */
int integrations_json_id(const integrations_json_t *v, const char **s,
    size_t *len);

/* A BOOL; returns 0, or -1. */
int integrations_json_bool(const integrations_json_t *v, int *out);


/*
 * Writing: yajl_gen with UTF-8 validation and a sticky failure, so that a
 * body in which yajl refused one string (invalid UTF-8) is never sent
 * half-written.  Containers are opened and closed with yajl itself
 * (yajl_gen_map_open(w.g), ...); values go through these:
 *
 *   if (integrations_json_gen_init(&w) != 0) { ... }
 *   yajl_gen_map_open(w.g);
 *   integrations_json_gen_cstr(&w, "id");
 *   integrations_json_gen_number(&w, digits, n);
 *   yajl_gen_map_close(w.g);
 *   body = integrations_json_gen_done(&w, &len);      (NULL: failed)
 */
typedef struct {
    yajl_gen  g;
    int       failed;
} integrations_json_gen_t;

int integrations_json_gen_init(integrations_json_gen_t *w);
void integrations_json_gen_str(integrations_json_gen_t *w, const char *s,
    size_t n);
void integrations_json_gen_cstr(integrations_json_gen_t *w, const char *s);
/* a number written as the given text (digits checked by the caller) */
void integrations_json_gen_number(integrations_json_gen_t *w, const char *s,
    size_t n);
void integrations_json_gen_int(integrations_json_gen_t *w, long long v);
void integrations_json_gen_bool(integrations_json_gen_t *w, int b);

/* The text, malloc()ed and NUL-terminated, or NULL; frees the generator. */
char *integrations_json_gen_done(integrations_json_gen_t *w, size_t *len);

#endif /* INTEGRATIONS_JSON_H */
