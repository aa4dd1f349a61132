/*
 * Notification templates: the Mustache spec's interpolation, sections,
 * inverted and comments files (t/mustache/, MIT, see its LICENSE), strict
 * mode, compile errors with lines, template files, AlimTalk's flat form.
 */

#include <stdint.h>

#include "tap.h"
#include "integrations_json.h"
#include "integrations_notify.h"
#include "integrations_template.h"


#define S(s)  s, sizeof(s) - 1


/*
 * The spec cases whose expected output is what a miss or a null renders
 * as ("").  In strict mode each must be refused instead, naming the name.
 */
static const struct {
    const char  *test;
    const char  *name;
} strict_refused[] = {   /* all in interpolation.json */
    { "Basic Null Interpolation", "cannot" },
    { "Triple Mustache Null Interpolation", "cannot" },
    { "Ampersand Null Interpolation", "cannot" },
    { "Basic Context Miss Interpolation", "cannot" },
    { "Triple Mustache Context Miss Interpolation", "cannot" },
    { "Ampersand Context Miss Interpolation", "cannot" },
    { "Dotted Names - Broken Chains", "a.b.c" },
    { "Dotted Names - Broken Chain Resolution", "a.b.c.name" },
    { "Dotted Names - Context Precedence", "b.c" },
    { "Dotted Names are never single keys", "a.b" },
};


static char *
render(const char *tpl, size_t tlen, const char *json, int escape,
    unsigned flags, int *rc, integrations_tpl_render_error_t *rerr)
{
    char                         *out;
    size_t                        n;
    yajl_val                      data;
    integrations_tpl_t           *t;
    integrations_tpl_opts_t       opts;
    integrations_tpl_error_t      err;
    integrations_json_err_t       st;

    data = integrations_json_parse(json, strlen(json), 32,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, &st);
    if (data == NULL) {
        *rc = -2;
        return NULL;
    }

    t = integrations_tpl_compile(tpl, tlen, 1, &err);
    if (t == NULL) {
        yajl_tree_free(data);
        *rc = -1;
        return NULL;
    }

    opts.escape = escape;
    opts.flags = flags;
    opts.max_len = 0;

    *rc = integrations_tpl_render(t, data, &opts, &out, &n, rerr);

    integrations_tpl_free(t);
    yajl_tree_free(data);

    return out;
}


static const char *
refused_name(const char *test)
{
    size_t  i;

    for (i = 0; i < sizeof(strict_refused) / sizeof(strict_refused[0]);
         i++)
    {
        if (strcmp(strict_refused[i].test, test) == 0) {
            return strict_refused[i].name;
        }
    }

    return NULL;
}


static void
run_spec(const char *file, size_t *nrefused)
{
    int                               rc;
    char                             *json, *out, path[256];
    size_t                            len = 0, i, olen;
    yajl_val                          root, tests, tc, data;
    const char                       *name, *tpl, *expected, *dir, *want;
    size_t                            tlen, elen;
    integrations_tpl_t               *t;
    integrations_tpl_opts_t           opts;
    integrations_tpl_error_t          err;
    integrations_json_err_t           st;
    integrations_tpl_render_error_t   rerr;

    dir = getenv("MUSTACHE_DIR");
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "t/mustache", file);

    json = tap_slurp(path, &len);
    if (!ok(json != NULL, "%s read", path)) {
        return;
    }

    root = integrations_json_parse(json, len, 64,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, &st);
    free(json);

    tests = integrations_json_get(root, "tests");

    if (!ok(tests != NULL && YAJL_IS_ARRAY(tests), "%s: tests", file)) {
        yajl_tree_free(root);
        return;
    }

    for (i = 0; i < tests->u.array.len; i++) {
        tc = tests->u.array.values[i];

        integrations_notify_json_field(tc, "name", 1, &name, &tlen);
        integrations_notify_json_field(tc, "expected", 1, &expected, &elen);
        integrations_notify_json_field(tc, "template", 1, &tpl, &tlen);
        data = integrations_json_get(tc, "data");

        t = integrations_tpl_compile(tpl, tlen, 1, &err);

        if (!ok(t != NULL, "%s: %s compiles", file, name)) {
            diag("line %u: %s", err.line, err.message);
            continue;
        }

        /* the spec's own (non-strict) rules */

        opts.escape = INTEGRATIONS_TPL_ESC_HTML;
        opts.flags = 0;
        opts.max_len = 0;

        rc = integrations_tpl_render(t, data, &opts, &out, &olen, &rerr);

        ok(rc == INTEGRATIONS_TPL_OK && out != NULL && olen == elen
           && memcmp(out, expected, elen) == 0, "%s: %s", file, name);
        free(out);

        /* strict: the same output, or a refusal where the spec renders a
         * miss or a null as "" */

        opts.flags = INTEGRATIONS_TPL_STRICT;
        rc = integrations_tpl_render(t, data, &opts, &out, &olen, &rerr);
        want = strcmp(file, "interpolation.json") == 0
               ? refused_name(name) : NULL;

        if (want) {
            ok(rc != INTEGRATIONS_TPL_OK && out == NULL
               && strcmp(rerr.name, want) == 0 && rerr.line == 1,
               "%s: %s: strict mode refuses \"%s\"", file, name, want);
            (*nrefused)++;

        } else {
            ok(rc == INTEGRATIONS_TPL_OK && olen == elen
               && memcmp(out, expected, elen) == 0,
               "%s: %s (strict)", file, name);
        }

        free(out);
        integrations_tpl_free(t);
    }

    yajl_tree_free(root);
}


static void
test_spec(void)
{
    size_t  nrefused = 0;

    run_spec("interpolation.json", &nrefused);
    run_spec("sections.json", &nrefused);
    run_spec("inverted.json", &nrefused);
    run_spec("comments.json", &nrefused);

    is_int(nrefused, sizeof(strict_refused) / sizeof(strict_refused[0]),
           "every miss and null case is refused in strict mode");

    diag("not in the subset, not run: partials, delimiters, ~lambdas, "
         "~inheritance, ~dynamic-names (they do not compile, see below)");
}


static void
test_strict(void)
{
    int                              rc;
    char                            *out;
    integrations_tpl_render_error_t  rerr;

    out = render(S("Hi {{name}},\nyour order {{order.id}}\n"),
                 "{\"name\":\"Kim\",\"order\":{}}", INTEGRATIONS_TPL_ESC_NONE,
                 INTEGRATIONS_TPL_STRICT, &rc, &rerr);
    ok(out == NULL && rc == INTEGRATIONS_TPL_MISSING
       && strcmp(rerr.name, "order.id") == 0 && rerr.line == 2,
       "strict: the first missing variable, dotted, with its line");

    out = render(S("{{a}}{{b}}"), "{\"b\":1}", INTEGRATIONS_TPL_ESC_NONE,
                 INTEGRATIONS_TPL_STRICT, &rc, &rerr);
    ok(rc == INTEGRATIONS_TPL_MISSING && strcmp(rerr.name, "a") == 0,
       "strict: the first one");

    out = render(S("{{a}}"), "{\"a\":{\"x\":1}}", INTEGRATIONS_TPL_ESC_NONE,
                 INTEGRATIONS_TPL_STRICT, &rc, &rerr);
    is_int(rc, INTEGRATIONS_TPL_NOT_SCALAR, "strict: an object is no text");

    out = render(S("{{a}}"), "{\"a\":[1]}", INTEGRATIONS_TPL_ESC_NONE,
                 0, &rc, &rerr);
    ok(rc == 0 && strcmp(out, "") == 0, "non-strict: a list renders empty");
    free(out);

    out = render(S("[{{#coupon}}code {{code}}{{/coupon}}]"), "{}",
                 INTEGRATIONS_TPL_ESC_NONE, INTEGRATIONS_TPL_STRICT, &rc,
                 &rerr);
    ok(rc == 0 && strcmp(out, "[]") == 0,
       "strict: a section over a missing name is not shown");
    free(out);

    out = render(S("[{{#coupon}}code {{code}}{{/coupon}}]"),
                 "{\"coupon\":{\"x\":1}}", INTEGRATIONS_TPL_ESC_NONE,
                 INTEGRATIONS_TPL_STRICT, &rc, &rerr);
    ok(rc == INTEGRATIONS_TPL_MISSING && strcmp(rerr.name, "code") == 0,
       "strict: but a miss inside a shown section is refused");

    out = render(S("{{^s}}none{{/s}}{{#s}}some{{/s}}"), "{\"s\":\"\"}",
                 INTEGRATIONS_TPL_ESC_NONE, INTEGRATIONS_TPL_STRICT, &rc,
                 &rerr);
    ok(rc == 0 && strcmp(out, "none") == 0, "an empty string is falsey");
    free(out);

    out = render(S("{{n}} {{t}} {{f}} {{big}}"),
                 "{\"n\":0,\"t\":true,\"f\":false,"
                 "\"big\":123456789012345678901234567890}",
                 INTEGRATIONS_TPL_ESC_NONE, INTEGRATIONS_TPL_STRICT, &rc,
                 &rerr);
    ok(rc == 0 && strcmp(out, "0 true false 123456789012345678901234567890")
       == 0, "numbers as written, booleans as words");
    free(out);

    out = render(S("{{이름}}님 {{{html}}} {{html}}"),
                 "{\"이름\":\"홍길동\",\"html\":\"<b>'&'</b>\"}",
                 INTEGRATIONS_TPL_ESC_HTML, INTEGRATIONS_TPL_STRICT, &rc,
                 &rerr);
    is_str(out, "홍길동님 <b>'&'</b> &lt;b&gt;&#39;&amp;&#39;&lt;/b&gt;",
           "Korean names; HTML escaping of & < > \" '");
    free(out);

    out = render(S("{{x}}"), "{\"x\":\"<a href=\\\"y\\\">&'</a>\"}",
                 INTEGRATIONS_TPL_ESC_SLACK, INTEGRATIONS_TPL_STRICT, &rc,
                 &rerr);
    is_str(out, "&lt;a href=\"y\"&gt;&amp;'&lt;/a&gt;",
           "Slack escaping: & < > only");
    free(out);

    out = render(S("Re: {{s}}"), "{\"s\":\"a\\r\\nBcc: x@y\"}",
                 INTEGRATIONS_TPL_ESC_NONE,
                 INTEGRATIONS_TPL_STRICT | INTEGRATIONS_TPL_SINGLE_LINE, &rc,
                 &rerr);
    ok(out == NULL && rc == INTEGRATIONS_TPL_LINE_BREAK
       && strcmp(rerr.name, "s") == 0,
       "single-line: a value with CR LF is refused (header injection)");
}


static void
test_limits(void)
{
    int                              rc;
    char                            *out, *json, *tpl;
    size_t                           i, n;
    integrations_tpl_t              *t;
    integrations_tpl_opts_t          opts;
    integrations_tpl_error_t         err;
    integrations_tpl_render_error_t  rerr;
    integrations_json_err_t          st;
    yajl_val                         data;

    /* 20 nested sections over a 1000-item list would never end */

    json = malloc(8192);
    strcpy(json, "{\"l\":[");
    for (i = 0; i < 1000; i++) {
        strcat(json, i ? ",1" : "1");
    }
    strcat(json, "]}");

    tpl = malloc(1024);
    tpl[0] = '\0';
    for (i = 0; i < 20; i++) {
        strcat(tpl, "{{#l}}");
    }
    for (i = 0; i < 20; i++) {
        strcat(tpl, "{{/l}}");
    }

    data = integrations_json_parse(json, strlen(json), 8,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, &st);
    t = integrations_tpl_compile(tpl, strlen(tpl), 1, &err);
    opts.escape = 0;
    opts.flags = INTEGRATIONS_TPL_STRICT;
    opts.max_len = 0;

    rc = integrations_tpl_render(t, data, &opts, &out, &n, &rerr);
    ok(rc == INTEGRATIONS_TPL_TOO_LONG && out == NULL,
       "nested lists: bounded work");
    integrations_tpl_free(t);

    t = integrations_tpl_compile(S("{{#l}}0123456789{{/l}}"), 1, &err);
    opts.max_len = 5000;
    rc = integrations_tpl_render(t, data, &opts, &out, &n, &rerr);
    ok(rc == INTEGRATIONS_TPL_TOO_LONG && out == NULL,
       "output over max_len is refused, not cut");
    opts.max_len = 10000;
    rc = integrations_tpl_render(t, data, &opts, &out, &n, &rerr);
    ok(rc == 0 && n == 10000, "exactly max_len fits");
    free(out);
    integrations_tpl_free(t);

    yajl_tree_free(data);

    tpl[0] = '\0';
    for (i = 0; i < 33; i++) {
        strcat(tpl, "{{#l}}");
    }
    t = integrations_tpl_compile(tpl, strlen(tpl), 1, &err);
    ok(t == NULL && strstr(err.message, "32") != NULL,
       "sections nested 33 deep do not compile");

    free(tpl);
    free(json);
}


static void
test_compile_errors(void)
{
    size_t                     i;
    integrations_tpl_t        *t;
    integrations_tpl_error_t   err;

    static const struct {
        const char  *tpl;
        unsigned     line;
        const char  *says;
    } bad[] = {
        { "a\nb {{name\nc", 2, "not closed" },
        { "a\n{{{x}}\n", 2, "not closed" },
        { "x\n\n{{#a}}\n{{/b}}\n", 4, "closes \"{{#a}}\" of line 3" },
        { "{{/a}}", 1, "closes no section" },
        { "1\n{{#a}}\n2\n", 2, "\"{{#a}}\" is not closed" },
        { "1\n2\n{{^a}}", 3, "\"{{^a}}\" is not closed" },
        { "{{> part}}", 1, "partials" },
        { "{{=<% %>=}}", 1, "delimiter" },
        { "{{}}", 1, "invalid name" },
        { "{{a b}}", 1, "invalid name" },
        { "{{a..b}}", 1, "invalid name" },
        { "{{.a}}", 1, "invalid name" },
        { "{{#}}{{/}}", 1, "invalid name" },
        { "{{a\"b}}", 1, "invalid name" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = integrations_tpl_compile(bad[i].tpl, strlen(bad[i].tpl), 1, &err);
        ok(t == NULL && err.line == bad[i].line
           && strstr(err.message, bad[i].says) != NULL,
           "does not compile, line %u: %s", bad[i].line, err.message);
        integrations_tpl_free(t);
    }

    t = integrations_tpl_compile(S("x\n{{a"), 10, &err);
    ok(t == NULL && err.line == 11, "lines count from first_line");

    t = integrations_tpl_compile(S("{{! a }} comment {{ b }}"), 1, &err);
    ok(t != NULL, "comments and padded names compile");
    integrations_tpl_free(t);
}


static void
test_file(void)
{
    int                               rc;
    char                             *out;
    size_t                            n, i;
    yajl_val                          data;
    integrations_tpl_opts_t           opts;
    integrations_tpl_file_t           f;
    integrations_tpl_error_t          err;
    integrations_json_err_t           st;
    integrations_tpl_render_error_t   rerr;

    static const char  email[] =
        "\xef\xbb\xbf" "Subject: {{name}}님, 주문 {{order}}\r\n"
        "\r\n"
        "--- text\r\n"
        "안녕하세요 {{name}}님,\r\n"
        "{{{link}}}\r\n"
        "--- html\r\n"
        "<p>{{name}} &amp; {{{link}}}</p>\r\n";

    static const char  json[] =
        "{\"name\":\"<홍>\",\"order\":\"A-1\",\"link\":\"https://x/?a=1&b\"}";

    static const struct {
        const char  *file;
        unsigned     line;
        const char  *says;
    } bad[] = {
        { "Subject: x\nFrom: y\n--- text\nhi\n", 2, "expected" },
        { "Subject: x\n", 1, "no \"--- text\"" },
        { "Subject: x\n--- text\n--- html\nhi", 2, "empty" },
        { "Subject: x\n--- text\na\n--- text\nb\n", 4, "second" },
        { "Subject: x\n--- txt\nhi\n", 2, "unknown part" },
        { "Subject: x\nSubject: y\n--- text\nhi\n", 2, "second" },
        { "Subject:  \n--- text\nhi\n", 1, "subject is empty" },
        { "Subject: {{a\n--- text\nhi\n", 1, "not closed" },
        { "Subject: x\n--- text\nok\n{{#a}}\n--- html\n<p>", 4,
          "not closed" },
        { "Subject: x\n--- text\nok\n--- html\n<p>\n{{/a}}", 6,
          "closes no section" },
        { "hi\n\xff\n", 2, "UTF-8" },
    };

    ok(integrations_tpl_file_parse(S(email), &f, &err) == 0,
       "email template file parsed");
    ok(f.subject && f.text && f.html && f.subject_line == 1,
       "subject, text and html");

    data = integrations_json_parse(S(json), 8,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, &st);

    opts.escape = INTEGRATIONS_TPL_ESC_NONE;
    opts.flags = INTEGRATIONS_TPL_STRICT | INTEGRATIONS_TPL_SINGLE_LINE;
    opts.max_len = 0;
    rc = integrations_tpl_render(f.subject, data, &opts, &out, &n, &rerr);
    ok(rc == 0 && strcmp(out, "<홍>님, 주문 A-1") == 0, "the subject");
    free(out);

    opts.flags = INTEGRATIONS_TPL_STRICT;
    rc = integrations_tpl_render(f.text, data, &opts, &out, &n, &rerr);
    ok(rc == 0 && strcmp(out, "안녕하세요 <홍>님,\r\nhttps://x/?a=1&b") == 0,
       "the text part, without the line break before the marker");
    free(out);

    opts.escape = INTEGRATIONS_TPL_ESC_HTML;
    rc = integrations_tpl_render(f.html, data, &opts, &out, &n, &rerr);
    ok(rc == 0 && strcmp(out, "<p>&lt;홍&gt; &amp; https://x/?a=1&b</p>")
       == 0, "the html part, escaped, without the final line break");
    free(out);

    yajl_tree_free(data);
    integrations_tpl_file_free(&f);

    /* errors name the line in the file */

    data = integrations_json_parse(S("{}"), 8,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, &st);
    ok(integrations_tpl_file_parse(S("Subject: a\n--- text\n\n{{x}}\n"), &f,
                                   &err) == 0, "a part's lines count");
    rc = integrations_tpl_render(f.text, data, &opts, &out, &n, &rerr);
    ok(rc == INTEGRATIONS_TPL_MISSING && rerr.line == 4,
       "a render error names the file's line");
    integrations_tpl_file_free(&f);
    yajl_tree_free(data);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(integrations_tpl_file_parse(bad[i].file, strlen(bad[i].file), &f,
                                       &err) == -1
           && err.line == bad[i].line
           && strstr(err.message, bad[i].says) != NULL,
           "bad file, line %u: %s", bad[i].line, err.message);
    }

    /* all text */

    ok(integrations_tpl_file_parse(S("[쿠팡] {{name}}님 인증번호 {{code}}\n"),
                                   &f, &err) == 0
       && f.subject == NULL && f.text && f.html == NULL,
       "a file that is all text");
    data = integrations_json_parse(S("{\"name\":\"김\",\"code\":123456}"), 8,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, &st);
    opts.escape = INTEGRATIONS_TPL_ESC_NONE;
    rc = integrations_tpl_render(f.text, data, &opts, &out, &n, &rerr);
    is_str(out, "[쿠팡] 김님 인증번호 123456", "loses its final line break");
    free(out);
    yajl_tree_free(data);
    integrations_tpl_file_free(&f);

    ok(integrations_tpl_file_parse(S("--- text\nonly text\n"), &f, &err) == 0
       && f.subject == NULL && f.text && f.html == NULL,
       "a file with a text part and no subject");
    integrations_tpl_file_free(&f);
}


static void
test_kakao(void)
{
    int                       rc;
    char                     *k;
    size_t                    n;
    const char               *v, *s;
    yajl_val                  data;
    integrations_tpl_t       *t;
    integrations_tpl_error_t  err;
    integrations_json_err_t   st;

    t = integrations_tpl_compile(S("#{x} {{이름}}님, {{code}} / {{{이름}}}"), 1,
                                 &err);
    ok(integrations_tpl_is_flat(t, &err), "a flat template");
    is_int(integrations_tpl_nvars(t), 2, "two distinct variables");
    v = integrations_tpl_var(t, 0, &n);
    ok(n == 6 && memcmp(v, "이름", 6) == 0, "in order of first use");
    k = integrations_tpl_kakao_form(t, &n);
    is_str(k, "#{x} #{이름}님, #{code} / #{이름}", "Kakao's form");
    free(k);

    data = integrations_json_parse(S("{\"이름\":\"홍길동\",\"a\":{\"b\":7}}"),
                                   8,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, &st);
    rc = integrations_tpl_lookup(data, v, 6, &s, &n);
    ok(rc == 0 && n == 9 && memcmp(s, "홍길동", 9) == 0, "lookup");
    rc = integrations_tpl_lookup(data, S("a.b"), &s, &n);
    ok(rc == 0 && n == 1 && *s == '7', "lookup, dotted");
    is_int(integrations_tpl_lookup(data, S("code"), &s, &n),
           INTEGRATIONS_TPL_MISSING, "lookup, missing");
    is_int(integrations_tpl_lookup(data, S("a"), &s, &n),
           INTEGRATIONS_TPL_NOT_SCALAR, "lookup, an object");
    yajl_tree_free(data);
    integrations_tpl_free(t);

    t = integrations_tpl_compile(S("a\n{{#x}}y{{/x}}"), 1, &err);
    ok(!integrations_tpl_is_flat(t, &err) && err.line == 2,
       "sections are not flat: %s", err.message);
    ok(integrations_tpl_kakao_form(t, &n) == NULL, "no Kakao form");
    integrations_tpl_free(t);

    t = integrations_tpl_compile(S("{{a.b}}"), 1, &err);
    ok(!integrations_tpl_is_flat(t, &err), "dotted names are not flat");
    integrations_tpl_free(t);
}


int
main(void)
{
    test_spec();
    test_strict();
    test_limits();
    test_compile_errors();
    test_file();
    test_kakao();

    return done_testing();
}
