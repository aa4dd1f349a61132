/*
 * libFuzzer target: the other Coupang answer parsers.  The first byte
 * picks one: acknowledgement and invoice results, returns, withdrawals,
 * product and call-center inquiries (then the CS summary over them), and
 * Coupang's time texts.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_activation.h"
#include "integrations_coupang_orders.h"


static void
clean(integrations_coupang_str_t s)
{
    size_t  i;

    if (s.data == NULL || s.data[s.len] != '\0') {
        abort();
    }

    for (i = 0; i < s.len; i++) {
        if ((unsigned char) s.data[i] < 0x20 || s.data[i] == 0x7f) {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                                 key[32], *msg, out[32];
    size_t                                i, j, len;
    int64_t                               t;
    const char                           *body;
    integrations_act_cs_counts_t          counts;
    integrations_coupang_results_t        res;
    integrations_coupang_returns_t        ret;
    integrations_coupang_withdrawals_t    wd;
    integrations_coupang_inquiries_t      inq;

    if (size < 1) {
        return 0;
    }

    body = (const char *) data + 1;
    size--;

    switch (data[0] % 6) {

    case 0:
    case 1:
        integrations_coupang_parse_results(data[0] % 2
                                           ? INTEGRATIONS_COUPANG_INVOICE
                                           : INTEGRATIONS_COUPANG_ACK,
                                           body, size, &res);
        clean(res.response_key);

        for (i = 0; i < res.n_results; i++) {
            clean(res.results[i].shipment_box_id);
            clean(res.results[i].result_code);

            /* nothing unreadable is ever taken for a success */

            if (res.results[i].error
                && res.results[i].outcome == INTEGRATIONS_COUPANG_DONE)
            {
                abort();
            }
        }

        integrations_coupang_results_free(&res);
        break;

    case 2:
        integrations_coupang_parse_returns(body, size, &ret);
        clean(ret.next_token);

        for (i = 0; i < ret.n_returns; i++) {
            clean(ret.returns[i].receipt_id);
            clean(ret.returns[i].order_id);

            for (j = 0; j < ret.returns[i].n_items; j++) {
                clean(ret.returns[i].items[j].vendor_item_id);
            }
        }

        integrations_coupang_returns_free(&ret);
        break;

    case 3:
        integrations_coupang_parse_withdrawals(body, size, &wd);
        clean(wd.next_page);

        for (i = 0; i < wd.n_withdrawals; i++) {
            clean(wd.withdrawals[i].cancel_id);

            for (j = 0; j < wd.withdrawals[i].n_vendor_item_ids; j++) {
                clean(wd.withdrawals[i].vendor_item_ids[j]);
            }
        }

        integrations_coupang_withdrawals_free(&wd);
        break;

    case 4:
        integrations_coupang_parse_inquiries(data[0] & 0x80
                                     ? INTEGRATIONS_COUPANG_INQUIRY_CALL_CENTER
                                     : INTEGRATIONS_COUPANG_INQUIRY_ONLINE,
                                     body, size, &inq);
        memset(&counts, 0, sizeof(counts));

        for (i = 0; i < inq.n_inquiries; i++) {
            clean(inq.inquiries[i].inquiry_id);
            clean(inq.inquiries[i].order_id);

            if (integrations_coupang_inquiry_key(&inq.inquiries[i], key)
                >= sizeof(key))
            {
                abort();
            }

            integrations_act_cs_count(&counts, &inq.inquiries[i], 1756689616,
                                      12 * 3600);
        }

        msg = integrations_act_cs_message(&counts, 1756689616, NULL, 0, &len);
        free(msg);
        integrations_coupang_inquiries_free(&inq);
        break;

    default:
        if (integrations_coupang_parse_time(body, size, &t) == 0) {
            integrations_coupang_format_minute(t, INTEGRATIONS_COUPANG_V5,
                                               out);
            integrations_coupang_format_day(t, INTEGRATIONS_COUPANG_V4, out);
        }

        break;
    }

    return 0;
}
