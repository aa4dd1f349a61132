/*
 * libFuzzer target: the strict JSON reader on any bytes.  The first byte
 * picks the flags and the depth; the rest is the text.  A tree must hold
 * no NUL in a string or key (what it is for), no key twice in an object
 * when UNIQUE_KEYS is asked, and no deeper nesting than asked; a refusal
 * must say why, with a terminated path.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_json.h"


static void
check(yajl_val v, unsigned depth, unsigned max, unsigned flags)
{
    size_t  i, j;

    if (v == NULL || depth > max) {
        abort();
    }

    if (YAJL_IS_OBJECT(v)) {
        if (depth == max) {
            abort();
        }

        for (i = 0; i < v->u.object.len; i++) {
            if (flags & INTEGRATIONS_JSON_UNIQUE_KEYS) {
                for (j = 0; j < i; j++) {
                    if (strcmp(v->u.object.keys[i], v->u.object.keys[j])
                        == 0)
                    {
                        abort();
                    }
                }
            }

            check(v->u.object.values[i], depth + 1, max, flags);
        }

    } else if (YAJL_IS_ARRAY(v)) {
        if (depth == max) {
            abort();
        }

        for (i = 0; i < v->u.array.len; i++) {
            check(v->u.array.values[i], depth + 1, max, flags);
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned                  flags, max;
    yajl_val                  v;
    integrations_json_err_t   err;

    if (size < 1) {
        return 0;
    }

    flags = data[0] & INTEGRATIONS_JSON_UNIQUE_KEYS;
    max = (data[0] >> 1) % 40;

    v = integrations_json_parse((const char *) data + 1, size - 1, max,
                                flags, &err);

    if (v == NULL) {
        if (err.error == INTEGRATIONS_JSON_OK
            || memchr(err.path, '\0', sizeof(err.path)) == NULL)
        {
            abort();
        }

        return 0;
    }

    if (err.error != INTEGRATIONS_JSON_OK) {
        abort();
    }

    check(v, 0, max, flags);
    yajl_tree_free(v);

    return 0;
}
