/*
 * libFuzzer target: the ordersheet parser (v4 and v5 answers), then what
 * the sync job does with an order: choose a contact, count links, build
 * the acknowledgement and invoice bodies from the ids it read.  Every kept
 * string must be whole, NUL-terminated and free of control characters;
 * every id must be digits.
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


static void
digits(integrations_coupang_str_t s, int required)
{
    size_t  i;

    clean(s);

    if (required && s.len == 0) {
        abort();
    }

    for (i = 0; i < s.len; i++) {
        if (s.data[i] < '0' || s.data[i] > '9') {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                                 *b;
    size_t                                i, j, k, len, n_ids;
    integrations_coupang_str_t            ids[INTEGRATIONS_COUPANG_ACK_MAX];
    integrations_coupang_invoice_t        inv;
    integrations_act_contact_t            c;
    integrations_coupang_order_t         *o;
    integrations_coupang_order_item_t    *it;
    integrations_coupang_ordersheets_t    r;

    static const integrations_act_source_e  order[] = {
        INTEGRATIONS_ACT_SRC_ANSWER, INTEGRATIONS_ACT_SRC_ORDERER,
        INTEGRATIONS_ACT_SRC_RECEIVER
    };

    integrations_coupang_parse_ordersheets((const char *) data, size, &r);

    clean(r.status.message);
    clean(r.status.code_text);
    clean(r.next_token);

    n_ids = 0;

    for (i = 0; i < r.n_orders; i++) {
        o = &r.orders[i];

        clean(o->orderer_name);
        clean(o->orderer_safe_number);
        clean(o->receiver_safe_number);
        digits(o->shipment_box_id, o->error == NULL);
        digits(o->order_id, o->error == NULL);

        if (o->error == NULL && n_ids < INTEGRATIONS_COUPANG_ACK_MAX) {
            ids[n_ids++] = o->shipment_box_id;
        }

        for (j = 0; j < o->n_items; j++) {
            it = &o->items[j];

            digits(it->vendor_item_id, o->error == NULL);
            clean(it->vendor_item_name);

            for (k = 0; k < it->n_etc_info_values; k++) {
                clean(it->etc_info_values[k]);
            }

            if (integrations_act_contact_choose(order, 3, o, it, &c) == 0
                && (c.len == 0 || c.value[c.len] != '\0'))
            {
                abort();
            }

            if (integrations_act_link_count(it->shipping_count,
                                            it->cancel_count, it->hold_count,
                                            INTEGRATIONS_ACT_PER_ITEM)
                > INTEGRATIONS_ACT_MAX_UNITS)
            {
                abort();
            }

            if (o->error == NULL) {
                inv.shipment_box_id = o->shipment_box_id;
                inv.order_id = o->order_id;
                inv.vendor_item_id = it->vendor_item_id;
                inv.invoice_number = o->shipment_box_id;

                b = integrations_coupang_invoice_body("A00012345", 9, &inv, 1,
                                                      &len);
                if (b == NULL) {
                    abort();        /* digits in, a body out */
                }

                free(b);
            }
        }
    }

    if (n_ids) {
        b = integrations_coupang_ack_body("A00012345", 9, ids, n_ids, &len);
        if (b == NULL) {
            abort();
        }

        free(b);
    }

    integrations_coupang_ordersheets_free(&r);

    return 0;
}
