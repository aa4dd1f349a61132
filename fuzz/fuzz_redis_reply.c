/*
 * libFuzzer target: the RESP2 reply parser on any bytes, as a Redis
 * server (or anything listening where it should be) may send them.  A
 * reply it accepts must lie within the input, its values in pre-order
 * with array counts that add up, texts inside the input; parsing the
 * input in every split gives the same answer (pipelined replies read as
 * they come).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_resp.h"


/* the values from i on form one complete value: returns the next index */

static size_t
fuzz_walk(const integrations_resp_reply_t *r, size_t i, int depth)
{
    int64_t  k;

    if (i >= r->n || depth > INTEGRATIONS_RESP_MAX_DEPTH) {
        abort();
    }

    if (r->v[i].type != INTEGRATIONS_RESP_ARRAY) {
        return i + 1;
    }

    k = r->v[i].integer;
    i++;

    while (k-- > 0) {
        i = fuzz_walk(r, i, depth + 1);
    }

    return i;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                         rc, rc2;
    size_t                      i, used, used2;
    const char                 *err;
    unsigned char              *copy;
    integrations_resp_reply_t   r, r2;

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    err = NULL;
    rc = integrations_resp_parse(copy, size, &r, &used, &err);

    if (rc == INTEGRATIONS_RESP_INVALID && err == NULL) {
        abort();
    }

    if (rc == INTEGRATIONS_RESP_OK) {
        if (used == 0 || used > size || r.n == 0
            || fuzz_walk(&r, 0, 0) != r.n)
        {
            abort();
        }

        for (i = 0; i < r.n; i++) {
            if (r.v[i].data
                && (r.v[i].data < copy
                    || r.v[i].data + r.v[i].len > copy + used))
            {
                abort();
            }
        }

        /* any shorter prefix of the reply is incomplete */

        for (i = 0; i < used; i += 1 + used / 16) {
            err = NULL;
            rc2 = integrations_resp_parse(copy, i, &r2, &used2, &err);

            if (rc2 != INTEGRATIONS_RESP_AGAIN) {
                abort();
            }
        }
    }

    free(copy);

    return 0;
}
