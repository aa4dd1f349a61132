/*
 * The Mustache subset and template files: see integrations_template.h.
 *
 * A template compiles to a flat array of nodes over its own copy of the
 * source: text runs, interpolations, and sections that know the index of
 * the node after their closing tag, so rendering is a loop with one level
 * of recursion per nested section and never looks at "{{" again.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "integrations_notify.h"
#include "integrations_template.h"


#define INTEGRATIONS_TPL_MAX_OUT    (1024 * 1024)
#define INTEGRATIONS_TPL_MAX_WORK   2000000
#define INTEGRATIONS_TPL_MAX_NODES  16384
#define INTEGRATIONS_TPL_KAKAO_MAX  40


typedef enum {
    INTEGRATIONS_TPL_N_TEXT = 0,
    INTEGRATIONS_TPL_N_VAR,
    INTEGRATIONS_TPL_N_SECTION,
    INTEGRATIONS_TPL_N_INVERTED
} integrations_tpl_node_e;


typedef struct {
    unsigned char  type;
    unsigned char  raw;               /* VAR: {{{ }}} or {{& }} */
    uint32_t       off;               /* text or name, in t->src */
    uint32_t       len;
    uint32_t       end;               /* sections: the node after them */
    uint32_t       line;
} integrations_tpl_node_t;


struct integrations_tpl_s {
    char                     *src;
    size_t                    len;
    integrations_tpl_node_t  *nodes;
    size_t                    nnodes;
    size_t                    nalloc;
    uint32_t                 *vars;   /* node index of each distinct name */
    size_t                    nvars;
};


typedef struct {
    const integrations_tpl_t         *t;
    const integrations_tpl_opts_t    *opts;
    integrations_notify_buf_t         out;
    yajl_val                          stack[INTEGRATIONS_TPL_MAX_DEPTH + 1];
    size_t                            depth;
    size_t                            work;
    integrations_tpl_render_error_t  *err;
} integrations_tpl_ctx_t;


static int integrations_tpl_add_node(integrations_tpl_t *t, int type,
    size_t off, size_t len, unsigned line);
static int integrations_tpl_name_valid(const char *s, size_t len);
static int integrations_tpl_add_var(integrations_tpl_t *t, size_t node);
static void integrations_tpl_fail(integrations_tpl_error_t *err,
    unsigned line, const char *fmt, const char *a, size_t alen);
static int integrations_tpl_standalone(const char *s, size_t len,
    size_t open, size_t close, size_t *line_start, size_t *next);
static int integrations_tpl_run(integrations_tpl_ctx_t *c, size_t from,
    size_t to);
static int integrations_tpl_resolve(yajl_val *stack, size_t depth,
    const char *name, size_t len, yajl_val *out);
static yajl_val integrations_tpl_member(yajl_val obj, const char *key,
    size_t len);
static int integrations_tpl_scalar(yajl_val v, const char **s, size_t *n);
static int integrations_tpl_truthy(yajl_val v);
static int integrations_tpl_emit(integrations_tpl_ctx_t *c,
    const integrations_tpl_node_t *node, const char *s, size_t n);
static int integrations_tpl_error(integrations_tpl_ctx_t *c,
    const integrations_tpl_node_t *node, int code);
static size_t integrations_tpl_line_end(const char *s, size_t len,
    size_t pos);
static const char *integrations_tpl_find(const char *s, size_t len,
    const char *pat, size_t plen);


static const char  *integrations_tpl_render_errors[] = {
    "ok",
    "is missing",
    "is null",
    "is not a string or number",
    "holds a line break",
    "makes the message too long",
    "cannot be rendered (out of memory)"
};


/* compiling */

integrations_tpl_t *
integrations_tpl_compile(const char *src, size_t len, unsigned first_line,
    integrations_tpl_error_t *err)
{
    int                  raw;
    char                 sigil;
    size_t               pos, text, open, close, end, a, b, ls, next;
    size_t               stack[INTEGRATIONS_TPL_MAX_DEPTH], depth, counted;
    unsigned             line, tag_line;
    const char          *s, *p, *closer;
    integrations_tpl_t  *t;

    err->line = first_line;
    err->message[0] = '\0';

    if (len > INTEGRATIONS_TPL_MAX_SOURCE) {
        integrations_tpl_fail(err, first_line, "the template is larger "
                              "than 64 KiB", NULL, 0);
        return NULL;
    }

    t = calloc(1, sizeof(integrations_tpl_t));
    if (t == NULL) {
        integrations_tpl_fail(err, first_line, "out of memory", NULL, 0);
        return NULL;
    }

    t->src = malloc(len + 1);
    if (t->src == NULL) {
        free(t);
        integrations_tpl_fail(err, first_line, "out of memory", NULL, 0);
        return NULL;
    }

    if (len) {
        memcpy(t->src, src, len);
    }

    t->src[len] = '\0';
    t->len = len;
    s = t->src;

    pos = 0;
    text = 0;
    depth = 0;
    line = first_line;
    counted = 0;

    for ( ;; ) {
        p = integrations_tpl_find(s + pos, len - pos, "{{", 2);

        if (p == NULL) {
            break;
        }

        open = p - s;

        /* the line of the tag, counting only what was not counted yet */

        for ( /* void */ ; counted < open; counted++) {
            if (s[counted] == '\n') {
                line++;
            }
        }

        tag_line = line;

        raw = 0;
        a = open + 2;
        closer = "}}";

        if (a < len && s[a] == '{') {
            raw = 1;
            a++;
            closer = "}}}";
        }

        p = integrations_tpl_find(s + a, len - a, closer, strlen(closer));
        if (p == NULL) {
            integrations_tpl_fail(err, tag_line, "a tag is not closed "
                                  "(\"{{\" without \"%.*s\")", closer,
                                  strlen(closer));
            goto failed;
        }

        close = p - s;
        end = close + strlen(closer);

        sigil = raw ? '&' : (a < close ? s[a] : '\0');

        switch (sigil) {
        case '!':
        case '#':
        case '^':
        case '/':
            a++;
            break;
        case '&':
            if (!raw) {
                a++;
            }
            raw = 1;
            break;
        case '>':
            integrations_tpl_fail(err, tag_line, "partials (\"{{>\") are "
                                  "not supported", NULL, 0);
            goto failed;
        case '=':
            integrations_tpl_fail(err, tag_line, "delimiter changes "
                                  "(\"{{=\") are not supported", NULL, 0);
            goto failed;
        default:
            sigil = '\0';
        }

        /* the name, without the white space around it */

        b = close;

        while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'
                         || s[a] == '\n'))
        {
            a++;
        }

        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'
                         || s[b - 1] == '\r' || s[b - 1] == '\n'))
        {
            b--;
        }

        if (sigil != '!' && !integrations_tpl_name_valid(s + a, b - a)) {
            integrations_tpl_fail(err, tag_line, "invalid name \"%.*s\" "
                                  "(letters, digits, \"_\", \"-\", "
                                  "dot-separated)", s + a,
                                  b - a > 40 ? 40 : b - a);
            goto failed;
        }

        /* a standalone section, closing or comment tag takes its line */

        ls = open;
        next = end;

        if (sigil == '!' || sigil == '#' || sigil == '^' || sigil == '/') {
            integrations_tpl_standalone(s, len, open, end, &ls, &next);
        }

        if (ls < text) {
            ls = text;
        }

        if (ls > text
            && integrations_tpl_add_node(t, INTEGRATIONS_TPL_N_TEXT, text,
                                         ls - text, tag_line) != 0)
        {
            goto nomem;
        }

        text = next;
        pos = next;

        switch (sigil) {

        case '!':
            break;

        case '#':
        case '^':
            if (depth == INTEGRATIONS_TPL_MAX_DEPTH) {
                integrations_tpl_fail(err, tag_line, "sections nested more "
                                      "than 32 deep", NULL, 0);
                goto failed;
            }

            stack[depth++] = t->nnodes;

            if (integrations_tpl_add_node(t, sigil == '#'
                                             ? INTEGRATIONS_TPL_N_SECTION
                                             : INTEGRATIONS_TPL_N_INVERTED,
                                          a, b - a, tag_line) != 0)
            {
                goto nomem;
            }

            break;

        case '/':
            if (depth == 0) {
                integrations_tpl_fail(err, tag_line, "\"{{/%.*s}}\" closes "
                                      "no section", s + a,
                                      b - a > 40 ? 40 : b - a);
                goto failed;
            }

            {
                integrations_tpl_node_t  *o = &t->nodes[stack[depth - 1]];

                if (o->len != b - a || memcmp(s + o->off, s + a, o->len)) {
                    char  m[120];

                    snprintf(m, sizeof(m), "\"{{/%%.*s}}\" closes "
                             "\"{{%c%.*s}}\" of line %u",
                             o->type == INTEGRATIONS_TPL_N_SECTION
                             ? '#' : '^',
                             (int) (o->len > 40 ? 40 : o->len),
                             s + o->off, (unsigned) o->line);
                    integrations_tpl_fail(err, tag_line, m, s + a,
                                          b - a > 40 ? 40 : b - a);
                    goto failed;
                }

                o->end = t->nnodes;
            }

            depth--;
            break;

        default:
            if (integrations_tpl_add_node(t, INTEGRATIONS_TPL_N_VAR, a,
                                          b - a, tag_line) != 0
                || integrations_tpl_add_var(t, t->nnodes - 1) != 0)
            {
                goto nomem;
            }

            t->nodes[t->nnodes - 1].raw = raw;
        }

        if (t->nnodes > INTEGRATIONS_TPL_MAX_NODES) {
            integrations_tpl_fail(err, tag_line, "too many tags", NULL, 0);
            goto failed;
        }
    }

    if (depth) {
        integrations_tpl_node_t  *o = &t->nodes[stack[depth - 1]];

        integrations_tpl_fail(err, o->line, "\"{{%.*s}}\" is not closed",
                              s + o->off - 1, o->len + 1);
        goto failed;
    }

    if (len > text
        && integrations_tpl_add_node(t, INTEGRATIONS_TPL_N_TEXT, text,
                                     len - text, line) != 0)
    {
        goto nomem;
    }

    return t;

nomem:

    integrations_tpl_fail(err, line, "out of memory", NULL, 0);

failed:

    integrations_tpl_free(t);

    return NULL;
}


void
integrations_tpl_free(integrations_tpl_t *t)
{
    if (t == NULL) {
        return;
    }

    free(t->src);
    free(t->nodes);
    free(t->vars);
    free(t);
}


static int
integrations_tpl_add_node(integrations_tpl_t *t, int type, size_t off,
    size_t len, unsigned line)
{
    size_t                    n;
    integrations_tpl_node_t  *nodes;

    if (t->nnodes == t->nalloc) {
        n = t->nalloc ? t->nalloc * 2 : 16;

        nodes = realloc(t->nodes, n * sizeof(integrations_tpl_node_t));
        if (nodes == NULL) {
            return -1;
        }

        t->nodes = nodes;
        t->nalloc = n;
    }

    nodes = &t->nodes[t->nnodes++];
    nodes->type = type;
    nodes->raw = 0;
    nodes->off = off;
    nodes->len = len;
    nodes->end = 0;
    nodes->line = line;

    return 0;
}


static int
integrations_tpl_add_var(integrations_tpl_t *t, size_t node)
{
    size_t                    i;
    uint32_t                 *vars;
    integrations_tpl_node_t  *n, *v;

    n = &t->nodes[node];

    for (i = 0; i < t->nvars; i++) {
        v = &t->nodes[t->vars[i]];

        if (v->len == n->len && memcmp(t->src + v->off, t->src + n->off,
                                       n->len) == 0)
        {
            return 0;
        }
    }

    vars = realloc(t->vars, (t->nvars + 1) * sizeof(uint32_t));
    if (vars == NULL) {
        return -1;
    }

    t->vars = vars;
    t->vars[t->nvars++] = node;

    return 0;
}


/*
 * "." alone, or dot-separated segments of [A-Za-z0-9_-] and non-ASCII
 * bytes (the UTF-8 of the whole file was checked by its reader, and a
 * name with a broken sequence can only fail to match).
 */

static int
integrations_tpl_name_valid(const char *s, size_t len)
{
    size_t         i, seg;
    unsigned char  c;

    if (len == 0 || len > INTEGRATIONS_TPL_NAME_MAX) {
        return 0;
    }

    if (len == 1 && s[0] == '.') {
        return 1;
    }

    seg = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '.') {
            if (seg == 0) {
                return 0;
            }
            seg = 0;
            continue;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'
              || c >= 0x80))
        {
            return 0;
        }

        seg++;
    }

    return seg != 0;
}


static void
integrations_tpl_fail(integrations_tpl_error_t *err, unsigned line,
    const char *fmt, const char *a, size_t alen)
{
    size_t  i;

    err->line = line;

    if (a) {
        snprintf(err->message, sizeof(err->message), fmt, (int) alen, a);

    } else {
        snprintf(err->message, sizeof(err->message), "%s", fmt);
    }

    /* the message may quote the template: keep it printable */

    for (i = 0; err->message[i]; i++) {
        if ((unsigned char) err->message[i] < 0x20
            || err->message[i] == 0x7f)
        {
            err->message[i] = ' ';
        }
    }
}


/*
 * A tag [open, close) is standalone when only spaces and tabs stand
 * between it and the start of its line (or of the template) and between
 * it and the end of its line (or of the template).  Then *line_start is
 * where the text before it ends and *next is past the line break after it.
 */

static int
integrations_tpl_standalone(const char *s, size_t len, size_t open,
    size_t close, size_t *line_start, size_t *next)
{
    size_t  a, b;

    a = open;

    while (a > 0 && (s[a - 1] == ' ' || s[a - 1] == '\t')) {
        a--;
    }

    if (a > 0 && s[a - 1] != '\n') {
        return 0;
    }

    b = close;

    while (b < len && (s[b] == ' ' || s[b] == '\t')) {
        b++;
    }

    if (b < len) {
        if (s[b] == '\n') {
            b++;

        } else if (s[b] == '\r' && b + 1 < len && s[b + 1] == '\n') {
            b += 2;

        } else {
            return 0;
        }
    }

    *line_start = a;
    *next = b;

    return 1;
}


/* rendering */

int
integrations_tpl_render(const integrations_tpl_t *t, yajl_val data,
    const integrations_tpl_opts_t *opts, char **out, size_t *out_len,
    integrations_tpl_render_error_t *err)
{
    int                     rc;
    integrations_tpl_ctx_t  c;

    *out = NULL;
    *out_len = 0;

    memset(err, 0, sizeof(integrations_tpl_render_error_t));
    memset(&c, 0, sizeof(integrations_tpl_ctx_t));

    c.t = t;
    c.opts = opts;
    c.err = err;
    c.out.max = opts->max_len ? opts->max_len : INTEGRATIONS_TPL_MAX_OUT;
    c.stack[0] = data;
    c.depth = 1;

    rc = integrations_tpl_run(&c, 0, t->nnodes);

    if (rc == INTEGRATIONS_TPL_OK) {
        *out = integrations_notify_buf_done(&c.out, out_len);

        if (*out == NULL) {
            rc = INTEGRATIONS_TPL_NOMEM;
            err->code = rc;
        }

    } else {
        integrations_notify_buf_free(&c.out);
    }

    return rc;
}


const char *
integrations_tpl_render_error_text(int code)
{
    if (code < 0 || code > INTEGRATIONS_TPL_NOMEM) {
        return "cannot be rendered";
    }

    return integrations_tpl_render_errors[code];
}


static int
integrations_tpl_run(integrations_tpl_ctx_t *c, size_t from, size_t to)
{
    int                             rc, strict;
    size_t                          i, k, n;
    yajl_val                        v;
    const char                     *s;
    const integrations_tpl_node_t  *node;

    strict = c->opts->flags & INTEGRATIONS_TPL_STRICT;

    i = from;

    while (i < to) {
        node = &c->t->nodes[i];

        if (++c->work > INTEGRATIONS_TPL_MAX_WORK) {
            return integrations_tpl_error(c, node, INTEGRATIONS_TPL_TOO_LONG);
        }

        switch (node->type) {

        case INTEGRATIONS_TPL_N_TEXT:
            integrations_notify_buf_add(&c->out, c->t->src + node->off,
                                        node->len);
            if (c->out.failed) {
                return integrations_tpl_error(c, node,
                                              INTEGRATIONS_TPL_TOO_LONG);
            }

            i++;
            continue;

        case INTEGRATIONS_TPL_N_VAR:
            rc = integrations_tpl_resolve(c->stack, c->depth,
                                          c->t->src + node->off, node->len,
                                          &v);
            if (rc == INTEGRATIONS_TPL_OK) {
                rc = integrations_tpl_scalar(v, &s, &n);
            }

            if (rc != INTEGRATIONS_TPL_OK) {
                if (strict) {
                    return integrations_tpl_error(c, node, rc);
                }

                s = "";
                n = 0;
            }

            rc = integrations_tpl_emit(c, node, s, n);
            if (rc != INTEGRATIONS_TPL_OK) {
                return rc;
            }

            i++;
            continue;

        case INTEGRATIONS_TPL_N_SECTION:
        case INTEGRATIONS_TPL_N_INVERTED:
            if (integrations_tpl_resolve(c->stack, c->depth,
                                         c->t->src + node->off, node->len,
                                         &v)
                != INTEGRATIONS_TPL_OK)
            {
                v = NULL;             /* a missing name is falsey */
            }

            if (node->type == INTEGRATIONS_TPL_N_INVERTED) {
                if (!integrations_tpl_truthy(v)) {
                    rc = integrations_tpl_run(c, i + 1, node->end);
                    if (rc != INTEGRATIONS_TPL_OK) {
                        return rc;
                    }
                }

                i = node->end;
                continue;
            }

            if (!integrations_tpl_truthy(v)) {
                i = node->end;
                continue;
            }

            /* the compiler bounds nesting, so the stack has room */

            if (YAJL_IS_ARRAY(v)) {
                for (k = 0; k < v->u.array.len; k++) {
                    c->stack[c->depth++] = v->u.array.values[k];
                    rc = integrations_tpl_run(c, i + 1, node->end);
                    c->depth--;

                    if (rc != INTEGRATIONS_TPL_OK) {
                        return rc;
                    }
                }

            } else {
                c->stack[c->depth++] = v;
                rc = integrations_tpl_run(c, i + 1, node->end);
                c->depth--;

                if (rc != INTEGRATIONS_TPL_OK) {
                    return rc;
                }
            }

            i = node->end;
            continue;
        }

        i++;
    }

    return INTEGRATIONS_TPL_OK;
}


/*
 * The spec's lookup: "." is the top of the context stack; otherwise the
 * first segment is searched from the top down, and the others only inside
 * what the first found (a broken chain is a miss, not a search further
 * down: "Dotted Names - Broken Chain Resolution").
 */

static int
integrations_tpl_resolve(yajl_val *stack, size_t depth, const char *name,
    size_t len, yajl_val *out)
{
    size_t       d, seg;
    yajl_val     v;
    const char  *dot, *end;

    if (len == 1 && name[0] == '.') {
        *out = stack[depth - 1];
        return INTEGRATIONS_TPL_OK;
    }

    end = name + len;
    dot = memchr(name, '.', len);
    seg = (dot ? dot : end) - name;

    v = NULL;

    for (d = depth; d > 0; d--) {
        v = integrations_tpl_member(stack[d - 1], name, seg);
        if (v != NULL) {
            break;
        }
    }

    while (v != NULL && dot != NULL) {
        name = dot + 1;
        dot = memchr(name, '.', end - name);
        seg = (dot ? dot : end) - name;
        v = integrations_tpl_member(v, name, seg);
    }

    if (v == NULL) {
        return INTEGRATIONS_TPL_MISSING;
    }

    *out = v;

    return INTEGRATIONS_TPL_OK;
}


static yajl_val
integrations_tpl_member(yajl_val obj, const char *key, size_t len)
{
    size_t       i;
    const char  *k;

    if (obj == NULL || !YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    /* the last of equal keys, though strict JSON input has none */

    for (i = obj->u.object.len; i > 0; i--) {
        k = obj->u.object.keys[i - 1];

        if (strncmp(k, key, len) == 0 && k[len] == '\0') {
            return obj->u.object.values[i - 1];
        }
    }

    return NULL;
}


static int
integrations_tpl_scalar(yajl_val v, const char **s, size_t *n)
{
    if (YAJL_IS_STRING(v)) {
        *s = v->u.string;

    } else if (YAJL_IS_NUMBER(v)) {
        *s = v->u.number.r;

    } else if (YAJL_IS_TRUE(v)) {
        *s = "true";

    } else if (YAJL_IS_FALSE(v)) {
        *s = "false";

    } else if (YAJL_IS_NULL(v)) {
        return INTEGRATIONS_TPL_NULL;

    } else {
        return INTEGRATIONS_TPL_NOT_SCALAR;
    }

    *n = strlen(*s);

    return INTEGRATIONS_TPL_OK;
}


static int
integrations_tpl_truthy(yajl_val v)
{
    if (v == NULL || YAJL_IS_NULL(v) || YAJL_IS_FALSE(v)) {
        return 0;
    }

    if (YAJL_IS_ARRAY(v)) {
        return v->u.array.len != 0;
    }

    if (YAJL_IS_STRING(v)) {
        return v->u.string[0] != '\0';
    }

    return 1;
}


static int
integrations_tpl_emit(integrations_tpl_ctx_t *c,
    const integrations_tpl_node_t *node, const char *s, size_t n)
{
    int          esc;
    size_t       i, run;
    const char  *rep;

    if ((c->opts->flags & INTEGRATIONS_TPL_SINGLE_LINE)
        && (memchr(s, '\n', n) || memchr(s, '\r', n)))
    {
        return integrations_tpl_error(c, node, INTEGRATIONS_TPL_LINE_BREAK);
    }

    esc = node->raw ? INTEGRATIONS_TPL_ESC_NONE : c->opts->escape;

    if (esc == INTEGRATIONS_TPL_ESC_NONE) {
        integrations_notify_buf_add(&c->out, s, n);

    } else {
        run = 0;

        for (i = 0; i < n; i++) {
            switch (s[i]) {
            case '&':
                rep = "&amp;";
                break;
            case '<':
                rep = "&lt;";
                break;
            case '>':
                rep = "&gt;";
                break;
            case '"':
                rep = (esc == INTEGRATIONS_TPL_ESC_HTML) ? "&quot;" : NULL;
                break;
            case '\'':
                rep = (esc == INTEGRATIONS_TPL_ESC_HTML) ? "&#39;" : NULL;
                break;
            default:
                rep = NULL;
            }

            if (rep == NULL) {
                continue;
            }

            integrations_notify_buf_add(&c->out, s + run, i - run);
            integrations_notify_buf_adds(&c->out, rep);
            run = i + 1;
        }

        integrations_notify_buf_add(&c->out, s + run, n - run);
    }

    if (c->out.failed) {
        return integrations_tpl_error(c, node, INTEGRATIONS_TPL_TOO_LONG);
    }

    return INTEGRATIONS_TPL_OK;
}


static int
integrations_tpl_error(integrations_tpl_ctx_t *c,
    const integrations_tpl_node_t *node, int code)
{
    size_t  n;

    c->err->code = code;
    c->err->line = node->line;

    if (node->type == INTEGRATIONS_TPL_N_TEXT) {
        c->err->name[0] = '\0';

    } else {
        n = node->len;
        memcpy(c->err->name, c->t->src + node->off, n);
        c->err->name[n] = '\0';
    }

    return code;
}


/* AlimTalk */

int
integrations_tpl_is_flat(const integrations_tpl_t *t,
    integrations_tpl_error_t *err)
{
    size_t                          i;
    const integrations_tpl_node_t  *n;

    for (i = 0; i < t->nnodes; i++) {
        n = &t->nodes[i];

        if (n->type == INTEGRATIONS_TPL_N_TEXT) {
            continue;
        }

        if (n->type != INTEGRATIONS_TPL_N_VAR) {
            integrations_tpl_fail(err, n->line, "an AlimTalk template has "
                                  "no sections (\"{{#%.*s}}\")",
                                  t->src + n->off, n->len > 40 ? 40 : n->len);
            return 0;
        }

        if (memchr(t->src + n->off, '.', n->len) != NULL) {
            integrations_tpl_fail(err, n->line, "an AlimTalk variable has "
                                  "no dots (\"{{%.*s}}\")", t->src + n->off,
                                  n->len > 40 ? 40 : n->len);
            return 0;
        }
    }

    if (t->nvars > INTEGRATIONS_TPL_KAKAO_MAX) {
        integrations_tpl_fail(err, t->nodes[t->vars[40]].line,
                              "an AlimTalk template has at most 40 "
                              "variables", NULL, 0);
        return 0;
    }

    return 1;
}


size_t
integrations_tpl_nvars(const integrations_tpl_t *t)
{
    return t->nvars;
}


const char *
integrations_tpl_var(const integrations_tpl_t *t, size_t i, size_t *len)
{
    const integrations_tpl_node_t  *n;

    if (i >= t->nvars) {
        return NULL;
    }

    n = &t->nodes[t->vars[i]];
    *len = n->len;

    return t->src + n->off;
}


char *
integrations_tpl_kakao_form(const integrations_tpl_t *t, size_t *len)
{
    size_t                          i;
    integrations_notify_buf_t       b;
    const integrations_tpl_node_t  *n;

    memset(&b, 0, sizeof(integrations_notify_buf_t));

    for (i = 0; i < t->nnodes; i++) {
        n = &t->nodes[i];

        if (n->type == INTEGRATIONS_TPL_N_VAR) {
            integrations_notify_buf_add(&b, "#{", 2);
            integrations_notify_buf_add(&b, t->src + n->off, n->len);
            integrations_notify_buf_add(&b, "}", 1);

        } else if (n->type == INTEGRATIONS_TPL_N_TEXT) {
            integrations_notify_buf_add(&b, t->src + n->off, n->len);

        } else {
            integrations_notify_buf_free(&b);
            return NULL;
        }
    }

    return integrations_notify_buf_done(&b, len);
}


int
integrations_tpl_lookup(yajl_val data, const char *name, size_t len,
    const char **s, size_t *n)
{
    int       rc;
    yajl_val  v, stack[1];

    if (!integrations_tpl_name_valid(name, len)) {
        return INTEGRATIONS_TPL_MISSING;
    }

    stack[0] = data;

    rc = integrations_tpl_resolve(stack, 1, name, len, &v);
    if (rc != INTEGRATIONS_TPL_OK) {
        return rc;
    }

    return integrations_tpl_scalar(v, s, n);
}


/* template files */

int
integrations_tpl_file_parse(const char *src, size_t len,
    integrations_tpl_file_t *file, integrations_tpl_error_t *err)
{
    int                   structured;
    size_t                pos, eol, next, bad, part_end, i, n;
    size_t                body_start;
    unsigned              line, part_line;
    const char           *l, *v;
    integrations_tpl_t  **part, **cur;

    memset(file, 0, sizeof(integrations_tpl_file_t));
    err->line = 1;
    err->message[0] = '\0';

    if (len >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0) {
        src += 3;
        len -= 3;
    }

    bad = integrations_notify_utf8_check((const unsigned char *) src, len);

    if (bad != len || memchr(src, '\0', len) != NULL) {
        if (bad == len) {
            bad = (const char *) memchr(src, '\0', len) - src;
        }

        line = 1;
        for (i = 0; i < bad; i++) {
            line += (src[i] == '\n');
        }

        integrations_tpl_fail(err, line, "the file is not UTF-8 text",
                              NULL, 0);
        return -1;
    }

    eol = integrations_tpl_line_end(src, len, 0);
    l = src;
    n = eol;

    if (n > 0 && l[n - 1] == '\r') {
        n--;
    }

    structured = (n >= 8 && strncasecmp(l, "subject:", 8) == 0)
                 || (n >= 4 && memcmp(l, "--- ", 4) == 0);

    if (!structured) {
        /* all text, less one final line break */

        part_end = len;

        if (part_end > 0 && src[part_end - 1] == '\n') {
            part_end--;

            if (part_end > 0 && src[part_end - 1] == '\r') {
                part_end--;
            }
        }

        file->text = integrations_tpl_compile(src, part_end, 1, err);

        return file->text ? 0 : -1;
    }

    pos = 0;
    line = 1;
    cur = NULL;
    body_start = 0;
    part_line = 0;

    for ( ;; ) {
        eol = integrations_tpl_line_end(src, len, pos);
        next = (eol < len) ? eol + 1 : len;

        l = src + pos;
        n = eol - pos;

        while (n > 0 && (l[n - 1] == '\r' || l[n - 1] == ' '
                         || l[n - 1] == '\t'))
        {
            n--;
        }

        part = NULL;

        if (pos < len && n >= 4 && memcmp(l, "--- ", 4) == 0) {
            if (n == 8 && memcmp(l + 4, "text", 4) == 0) {
                part = &file->text;

            } else if (n == 8 && memcmp(l + 4, "html", 4) == 0) {
                part = &file->html;

            } else {
                integrations_tpl_fail(err, line, "unknown part \"%.*s\" "
                                      "(\"--- text\" or \"--- html\")",
                                      l, n > 40 ? 40 : n);
                goto failed;
            }
        }

        if (cur != NULL && (part != NULL || pos >= len)) {
            /* the part ends before the line break ahead of the marker */

            part_end = pos;

            if (part_end > body_start && src[part_end - 1] == '\n') {
                part_end--;

                if (part_end > body_start && src[part_end - 1] == '\r') {
                    part_end--;
                }
            }

            if (part_end == body_start) {
                integrations_tpl_fail(err, part_line - 1, "the part is "
                                      "empty", NULL, 0);
                goto failed;
            }

            *cur = integrations_tpl_compile(src + body_start,
                                            part_end - body_start,
                                            part_line, err);
            if (*cur == NULL) {
                goto failed;
            }

            cur = NULL;
        }

        if (pos >= len) {
            break;
        }

        if (part != NULL) {
            if (*part != NULL) {
                integrations_tpl_fail(err, line, "a second \"%.*s\" part",
                                      l, n);
                goto failed;
            }

            cur = part;
            body_start = next;
            part_line = line + 1;

        } else if (cur == NULL) {
            /* headers */

            if (n == 0) {
                /* a blank line between headers */

            } else if (n >= 8 && strncasecmp(l, "subject:", 8) == 0) {
                if (file->subject != NULL) {
                    integrations_tpl_fail(err, line, "a second \"Subject:\"",
                                          NULL, 0);
                    goto failed;
                }

                v = l + 8;
                i = n - 8;

                while (i > 0 && (*v == ' ' || *v == '\t')) {
                    v++;
                    i--;
                }

                if (i == 0) {
                    integrations_tpl_fail(err, line, "the subject is empty",
                                          NULL, 0);
                    goto failed;
                }

                file->subject = integrations_tpl_compile(v, i, line, err);
                if (file->subject == NULL) {
                    goto failed;
                }

                file->subject_line = line;

            } else {
                integrations_tpl_fail(err, line, "expected \"Subject: ...\" "
                                      "or a \"--- text\" or \"--- html\" "
                                      "line, not \"%.*s\"", l,
                                      n > 40 ? 40 : n);
                goto failed;
            }
        }

        pos = next;
        line++;
    }

    if (file->text == NULL && file->html == NULL) {
        integrations_tpl_fail(err, line > 1 ? line - 1 : 1, "no \"--- text\" "
                              "or \"--- html\" part", NULL, 0);
        goto failed;
    }

    return 0;

failed:

    integrations_tpl_file_free(file);

    return -1;
}


void
integrations_tpl_file_free(integrations_tpl_file_t *file)
{
    integrations_tpl_free(file->subject);
    integrations_tpl_free(file->text);
    integrations_tpl_free(file->html);

    file->subject = NULL;
    file->text = NULL;
    file->html = NULL;
}


static size_t
integrations_tpl_line_end(const char *s, size_t len, size_t pos)
{
    const char  *p;

    if (pos >= len) {
        return len;
    }

    p = memchr(s + pos, '\n', len - pos);

    return p ? (size_t) (p - s) : len;
}


static const char *
integrations_tpl_find(const char *s, size_t len, const char *pat,
    size_t plen)
{
    const char  *p, *last;

    if (len < plen) {
        return NULL;
    }

    last = s + len - plen;

    for (p = s; p <= last; p++) {
        p = memchr(p, pat[0], last - p + 1);

        if (p == NULL) {
            return NULL;
        }

        if (memcmp(p, pat, plen) == 0) {
            return p;
        }
    }

    return NULL;
}
