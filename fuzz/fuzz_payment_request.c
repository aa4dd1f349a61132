/*
 * libFuzzer target: the client's create and refund bodies, then every
 * provider's request built from what parsed.  A refusal names a field;
 * what parsed holds no control character in its ids and names.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_payment.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                        p;
    const char                *field;
    integrations_pay_call_t    call;
    integrations_pay_http_t    h;
    integrations_pay_input_t   in;

    field = NULL;

    if (integrations_pay_parse_create((const char *) data, size, &in, &field)
        == 0)
    {
        if (!integrations_json_plain(in.order_id.data, in.order_id.len, 0)
            || !integrations_json_plain(in.customer_id.data,
                                        in.customer_id.len, 0)
            || !integrations_json_plain(in.source.data, in.source.len, 0))
        {
            abort();
        }

        for (p = 0; p < INTEGRATIONS_PAY_NPROVIDERS; p++) {
            memset(&call, 0, sizeof(call));
            call.provider = p;
            call.op = INTEGRATIONS_PAY_CREATE;
            call.in = &in;
            call.idempotency_key.data = "k";
            call.idempotency_key.len = 1;

            if (integrations_pay_build(&call, &h) == 0) {
                if (h.body && strlen(h.body) != h.body_len) {
                    abort();
                }

                integrations_pay_http_free(&h);
            }
        }

    } else if (field == NULL) {
        abort();
    }

    integrations_pay_input_free(&in);

    if (integrations_pay_parse_refund((const char *) data, size, &in, &field)
        == 0)
    {
        for (p = 0; p < INTEGRATIONS_PAY_NPROVIDERS; p++) {
            memset(&call, 0, sizeof(call));
            call.provider = p;
            call.op = INTEGRATIONS_PAY_REFUND;
            call.in = &in;
            call.id.data = "id1";
            call.id.len = 3;
            call.amount = in.amount;
            call.currency = "USD";

            if (integrations_pay_build(&call, &h) == 0) {
                integrations_pay_http_free(&h);
            }
        }
    }

    integrations_pay_input_free(&in);

    return 0;
}
