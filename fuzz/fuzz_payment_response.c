/*
 * libFuzzer target: every provider's answer parser, for every call and a
 * spread of HTTP statuses, plus the one response shape built from it.
 * The first byte picks provider, call and status; the rest is the body.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_payment.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                         provider, op;
    char                       *json, token[256];
    size_t                      len;
    int64_t                     expires;
    unsigned                    status;
    integrations_pay_result_t   res;

    static const unsigned  statuses[] = { 200, 201, 400, 402, 404, 500 };

    if (size < 1) {
        return 0;
    }

    provider = data[0] % INTEGRATIONS_PAY_NPROVIDERS;
    op = (data[0] / INTEGRATIONS_PAY_NPROVIDERS) % 4;
    status = statuses[(data[0] / 20) % 6];

    integrations_pay_parse_response(provider, op, status,
                                    (const char *) data + 1, size - 1, &res);

    /* every string in the result is terminated inside its array */

    if (memchr(res.payment_id, '\0', sizeof(res.payment_id)) == NULL
        || memchr(res.message, '\0', sizeof(res.message)) == NULL
        || memchr(res.code, '\0', sizeof(res.code)) == NULL)
    {
        abort();
    }

    if (res.kind == INTEGRATIONS_PAY_OK) {

        /* an id the API hands out is one it can be asked about */

        if (res.payment_id[0]
            && !integrations_pay_id_valid(res.payment_id,
                                          strlen(res.payment_id)))
        {
            abort();
        }

        json = integrations_pay_result_json(&res, provider, &len);
        free(json);
    }

    integrations_pay_parse_token((const char *) data + 1, size - 1, token,
                                 sizeof(token), &expires);

    return 0;
}
