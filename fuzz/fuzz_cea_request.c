/*
 * libFuzzer target: the CEA signer's request head parser and rewrite, fed
 * whatever bytes proxy_pass could be made to produce.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_cea.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long                          n;
    unsigned char                *out;
    integrations_cea_request_t    rq;
    integrations_cea_identity_t   id;
    static integrations_cea_key_t  *key;

    if (key == NULL) {
        key = integrations_cea_key_new((const unsigned char *) "k", 1);
    }

    if (integrations_cea_parse_request(data, size, &rq) == 0) {

        /* every range the parser returns lies inside the input */

        if (rq.head_end > size || rq.line_end > rq.head_end
            || rq.path + rq.path_len > data + size
            || (rq.query && rq.query + rq.query_len > data + size))
        {
            abort();
        }
    }

    id.access_key = (const unsigned char *) "AK";
    id.access_key_len = 2;
    id.vendor_id = (size & 1) ? (const unsigned char *) "V" : NULL;
    id.vendor_id_len = 1;

    out = malloc(size + INTEGRATIONS_CEA_HEAD_EXTRA(2, 1));
    if (out == NULL) {
        return 0;
    }

    n = integrations_cea_sign_head(key, &id, 0, data, size, out, NULL, NULL);

    if (n > (long) (size + INTEGRATIONS_CEA_HEAD_EXTRA(2, 1))) {
        abort();
    }

    /* a signed head parses again, and signs to the same length */

    if (n > 0) {
        if (integrations_cea_parse_request(out, n, &rq) != 0) {
            abort();
        }
    }

    free(out);

    return 0;
}
