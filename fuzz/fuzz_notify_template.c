/*
 * libFuzzer target: the Mustache subset and template files.  The first
 * two bytes give the length of a JSON data part (parsed strictly); the
 * rest is a template, compiled and rendered in every mode, and parsed as
 * a template file.  A render's output is as long as it says, single-line
 * output has no line break from a value, and a strict render either
 * succeeds or names what failed.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_json.h"
#include "integrations_template.h"


static void
render_all(const integrations_tpl_t *t, yajl_val data)
{
    int                              rc, esc, f;
    char                            *out, *k;
    size_t                           n, i;
    const char                      *v;
    integrations_tpl_opts_t          opts;
    integrations_tpl_error_t         err;
    integrations_tpl_render_error_t  rerr;

    for (esc = 0; esc < 3; esc++) {
        for (f = 0; f < 4; f++) {
            opts.escape = esc;
            opts.flags = f;
            opts.max_len = 64 * 1024;

            rc = integrations_tpl_render(t, data, &opts, &out, &n, &rerr);

            if (rc == INTEGRATIONS_TPL_OK) {
                if (out == NULL || out[n] != '\0' || n > opts.max_len) {
                    abort();
                }

                free(out);

            } else if (out != NULL
                       || memchr(rerr.name, '\0', sizeof(rerr.name)) == NULL)
            {
                abort();
            }
        }
    }

    if (integrations_tpl_is_flat(t, &err)) {
        k = integrations_tpl_kakao_form(t, &n);
        if (k == NULL) {
            abort();
        }
        free(k);
    }

    for (i = 0; i < integrations_tpl_nvars(t); i++) {
        v = integrations_tpl_var(t, i, &n);
        if (v == NULL || n == 0) {
            abort();
        }

        integrations_tpl_lookup(data, v, n, &v, &n);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                    dlen;
    yajl_val                  tree;
    const char               *src;
    integrations_tpl_t       *t;
    integrations_tpl_file_t   file;
    integrations_tpl_error_t  err;

    static const char  fallback[] =
        "{\"a\":{\"b\":[1,\"x\",true,null,{\"c\":\"<&>\"}]},\"s\":\"\","
        "\"l\":[[1,2],[3]],\"n\":1.21,\"t\":true,\"이름\":\"홍\"}";

    if (size < 2) {
        return 0;
    }

    dlen = ((size_t) data[0] << 8 | data[1]) % (size - 1);
    src = (const char *) data + 2 + dlen;

    tree = integrations_json_parse((const char *) data + 2, dlen, 16,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, NULL);
    if (tree == NULL) {
        tree = integrations_json_parse(fallback, sizeof(fallback) - 1, 16,
                                       INTEGRATIONS_JSON_UNIQUE_KEYS, NULL);
    }

    t = integrations_tpl_compile(src, size - 2 - dlen, 1, &err);

    if (t != NULL) {
        render_all(t, tree);
        integrations_tpl_free(t);

    } else if (err.line == 0
               || memchr(err.message, '\0', sizeof(err.message)) == NULL)
    {
        abort();
    }

    if (integrations_tpl_file_parse(src, size - 2 - dlen, &file, &err) == 0) {
        if (file.text == NULL && file.html == NULL) {
            abort();
        }

        if (file.subject) {
            render_all(file.subject, tree);
        }

        integrations_tpl_file_free(&file);
    }

    yajl_tree_free(tree);

    return 0;
}
