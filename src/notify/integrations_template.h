/*
 * Notification templates: a logic-less Mustache subset, strict, and the
 * template file that carries a subject, a text part and an HTML part.
 *
 * The subset (mustache/spec v1.4: interpolation, sections, inverted,
 * comments; t/mustache/ holds those spec files and t/unit/
 * test_notify_template.c runs every case):
 *
 *   {{name}}            the value, escaped for the part (HTML in an email's
 *                       HTML part, nothing in text, SMS and AlimTalk)
 *   {{{name}}} {{&name}} the value, never escaped
 *   {{a.b.c}}           dotted names: "a" is looked up through the
 *                       enclosing sections, "b" and "c" only inside it
 *   {{.}}               the current item of a section
 *   {{#name}}..{{/name}} shown once for a truthy value (pushed as the
 *                       context), once per item of a non-empty list
 *   {{^name}}..{{/name}} shown when the value is missing, null, false, "" or
 *                       an empty list
 *   {{! comment }}      dropped
 *
 * Whitespace inside tags is ignored ({{ name }}); a section, inverted,
 * closing or comment tag alone on its line removes that whole line, as the
 * spec says.  Partials ({{>x}}), delimiter changes ({{=<% %>=}}) and
 * lambdas are not part of the subset: a template using them does not
 * compile.  Names are letters, digits, "_", "-" and any non-ASCII UTF-8
 * ({{이름}} is fine), dot-separated.
 *
 * Values: a string as it is; a number as written in the JSON ("1.21" stays
 * "1.21": yajl's raw text, never a double); true and false as "true" and
 * "false".  Falsey for sections: missing, null, false, "" and [].
 *
 * Strict mode (what notifications use): an interpolated name that the data
 * lacks, or whose value is null, an object or a list, is an error naming
 * the dotted name, and nothing is rendered: "Hi ," never reaches a
 * customer.  A section over a missing name is simply not shown, so that
 * optional parts ({{#coupon}}..{{/coupon}}) need no placeholder data.
 * Without strict mode the spec's rules apply (missing and null render as
 * "").
 *
 * Limits: a template at most 64 KiB, sections nested at most 32 deep, a
 * render at most max_len bytes of output and a bounded amount of work
 * (nested lists cannot make a render take forever).
 *
 *   t = integrations_tpl_compile(src, len, 1, &err);     at nginx -t
 *   rc = integrations_tpl_render(t, data, &opts, &out, &n, &rerr);
 *   integrations_tpl_free(t);
 *
 * A compiled template owns a copy of its source and is read-only: one
 * template may be rendered by any number of requests.
 *
 *
 * The template file (notify_template NAME file=PATH)
 * --------------------------------------------------
 * A file is either all text (an SMS, an AlimTalk, a Slack message), or
 * headers and parts:
 *
 *   Subject: {{name}}님, 주문하신 책이 준비되었습니다
 *   --- text
 *   안녕하세요 {{name}}님,
 *   주문번호 {{order_id}}의 전자책을 아래 링크에서 받으세요.
 *   {{{link}}}
 *   --- html
 *   <p>안녕하세요 {{name}}님,</p>
 *   <p><a href="{{link}}">전자책 받기</a></p>
 *
 * It has headers and parts when its first line starts with "Subject:" or
 * is a part marker.  Header lines come first; the one header is
 * "Subject:" (the email subject, the LMS title, the push title); blank
 * lines between headers are ignored.  A part starts at a line that is
 * exactly "--- text" or "--- html" and runs to the next marker or the end
 * of the file; the line break before the next marker, and one at the end
 * of the file, are not part of it.  Each part appears at most once; there
 * must be at least one.  A file that is all text loses one final line
 * break too.  A UTF-8 byte order mark at the start is skipped; the file
 * must be UTF-8.  Errors name the line of the file.
 */

#ifndef INTEGRATIONS_TEMPLATE_H
#define INTEGRATIONS_TEMPLATE_H

#include <stddef.h>
#include <yajl/yajl_tree.h>


#define INTEGRATIONS_TPL_MAX_SOURCE   (64 * 1024)
#define INTEGRATIONS_TPL_MAX_DEPTH    32
#define INTEGRATIONS_TPL_NAME_MAX     127


typedef struct integrations_tpl_s  integrations_tpl_t;


typedef struct {
    unsigned  line;                   /* 1-based, in the file */
    char      message[160];
} integrations_tpl_error_t;


/* escaping of {{name}} (never of {{{name}}}) */
typedef enum {
    INTEGRATIONS_TPL_ESC_NONE = 0,
    INTEGRATIONS_TPL_ESC_HTML,        /* & < > " ' */
    INTEGRATIONS_TPL_ESC_SLACK        /* & < >, as Slack's mrkdwn wants */
} integrations_tpl_escape_e;


#define INTEGRATIONS_TPL_STRICT       0x01
#define INTEGRATIONS_TPL_SINGLE_LINE  0x02  /* a value with CR or LF is an
                                               error (headers, subjects) */


typedef struct {
    int       escape;                 /* integrations_tpl_escape_e */
    unsigned  flags;                  /* INTEGRATIONS_TPL_* */
    size_t    max_len;                /* output limit; 0: 1 MiB */
} integrations_tpl_opts_t;


typedef enum {
    INTEGRATIONS_TPL_OK = 0,
    INTEGRATIONS_TPL_MISSING,         /* the data lacks the name */
    INTEGRATIONS_TPL_NULL,            /* its value is null */
    INTEGRATIONS_TPL_NOT_SCALAR,      /* an object or a list */
    INTEGRATIONS_TPL_LINE_BREAK,      /* SINGLE_LINE and a CR or LF */
    INTEGRATIONS_TPL_TOO_LONG,        /* over max_len, or too much work */
    INTEGRATIONS_TPL_NOMEM
} integrations_tpl_render_e;


typedef struct {
    int       code;                   /* integrations_tpl_render_e */
    unsigned  line;                   /* of the tag in the file */
    char      name[INTEGRATIONS_TPL_NAME_MAX + 1];   /* dotted, as written */
} integrations_tpl_render_error_t;


/*
 * Compiles src[0..len).  first_line is the file line src starts on (parts
 * of a template file start further down).  NULL and err on failure.
 */
integrations_tpl_t *integrations_tpl_compile(const char *src, size_t len,
    unsigned first_line, integrations_tpl_error_t *err);
void integrations_tpl_free(integrations_tpl_t *t);

/*
 * Renders against data (any JSON value; the root is the first context).
 * Returns INTEGRATIONS_TPL_OK and a malloc()ed NUL-terminated *out of
 * *out_len bytes, or an error code (also in err) and *out NULL.
 */
int integrations_tpl_render(const integrations_tpl_t *t, yajl_val data,
    const integrations_tpl_opts_t *opts, char **out, size_t *out_len,
    integrations_tpl_render_error_t *err);

/* "missing", "null", "not a string or number"... for a 422 detail */
const char *integrations_tpl_render_error_text(int code);

/*
 * Flat templates (AlimTalk): text and plain {{name}} / {{{name}}} tags
 * only, no sections, dots or {{.}}, at most 40 distinct names (Kakao's
 * limit).  Returns 1, or 0 and the offending line in err.
 */
int integrations_tpl_is_flat(const integrations_tpl_t *t,
    integrations_tpl_error_t *err);

/* the distinct interpolated names of a template, in order of first use */
size_t integrations_tpl_nvars(const integrations_tpl_t *t);
const char *integrations_tpl_var(const integrations_tpl_t *t, size_t i,
    size_t *len);

/*
 * The template in Kakao's form: every {{name}} as #{name}, to compare with
 * the text Kakao approved.  malloc()ed and NUL-terminated, or NULL.
 */
char *integrations_tpl_kakao_form(const integrations_tpl_t *t,
    size_t *len);

/*
 * Looks a dotted name up in data from the root, as a top-level {{name}}
 * would.  Returns INTEGRATIONS_TPL_OK and the value's text (a string's
 * bytes, a number's text, "true"/"false"), or the strict error code.
 */
int integrations_tpl_lookup(yajl_val data, const char *name, size_t len,
    const char **s, size_t *n);


/* a template file */

typedef struct {
    integrations_tpl_t  *subject;     /* NULL when the file has none */
    integrations_tpl_t  *text;
    integrations_tpl_t  *html;
    unsigned             subject_line;
} integrations_tpl_file_t;

/* 0, or -1 and err naming the line (of the file, from 1) */
int integrations_tpl_file_parse(const char *src, size_t len,
    integrations_tpl_file_t *file, integrations_tpl_error_t *err);
void integrations_tpl_file_free(integrations_tpl_file_t *file);

#endif /* INTEGRATIONS_TEMPLATE_H */
