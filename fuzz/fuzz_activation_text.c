/*
 * libFuzzer target: text the activation core takes from buyers and
 * Coupang and puts into pages, CSV files and alerts: a product name in a
 * page (nothing may escape into markup), CSV cells (a cell never starts a
 * formula), masking, and the contact checks over a buyer's answer.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_activation.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                            *html, *row, m[64], ph[16], err[128];
    size_t                           len, n, i, half;
    integrations_act_cell_t          cells[2];
    integrations_act_page_input_t    in;
    integrations_act_contact_t       c;
    integrations_coupang_order_t     o;
    integrations_coupang_order_item_t  it;
    integrations_coupang_str_t       answer;
    integrations_act_source_e        order[2];

    const char  *s = (const char *) data;

    /* a page with the input as the product name */

    memset(&in, 0, sizeof(in));
    in.product = s;
    in.product_len = size;
    in.app_url = s;
    in.app_url_len = size;

    html = integrations_act_page(INTEGRATIONS_ACT_PAGE_DONE,
                                 size % 2 ? INTEGRATIONS_ACT_EN
                                          : INTEGRATIONS_ACT_KO, &in, &len);
    if (html) {
        const char  *body = strstr(html, "<p class=\"product\">");

        if (body) {
            body += 19;
            for (i = 0; body[i] && strncmp(body + i, "</p>", 4) != 0; i++) {
                if (body[i] == '<' || body[i] == '>' || body[i] == '"') {
                    abort();
                }
            }
        }

        free(html);
    }

    /* two CSV cells */

    half = size / 2;
    cells[0].data = s;
    cells[0].len = half;
    cells[1].data = s + half;
    cells[1].len = size - half;

    n = integrations_act_csv_row(cells, 2, NULL, 0);
    row = malloc(n + 1);
    if (row == NULL
        || integrations_act_csv_row(cells, 2, row, n + 1) != n
        || n < 2 || row[n - 2] != '\r' || row[n - 1] != '\n'
        || (half && strchr("=+-@\t\r", row[0]) && row[0] != '\0'))
    {
        abort();
    }

    free(row);

    /* masking: always terminated, never longer than the room */

    for (i = 0; i < 3; i++) {
        n = integrations_act_mask(i, s, size, m, sizeof(m));
        if (n >= sizeof(m) || m[n] != '\0') {
            abort();
        }
    }

    /* a buyer's answer as a contact */

    integrations_act_email_valid(s, size);
    if (integrations_act_phone(s, size, 0, ph, &n) == 0
        && (n < 10 || n > 12 || ph[0] != '0'))
    {
        abort();
    }

    memset(&o, 0, sizeof(o));
    memset(&it, 0, sizeof(it));
    answer.data = s;
    answer.len = size;
    o.orderer_safe_number = answer;
    it.etc_info_values = &answer;
    it.n_etc_info_values = 1;
    order[0] = INTEGRATIONS_ACT_SRC_ANSWER;
    order[1] = INTEGRATIONS_ACT_SRC_ORDERER;

    if (integrations_act_contact_choose(order, 2, &o, &it, &c) == 0
        && (c.len == 0 || c.len >= sizeof(c.value) || c.value[c.len] != '\0'))
    {
        abort();
    }

    integrations_act_link_base_check(s, size, err, sizeof(err));
    integrations_act_redirect_check(s, size, err, sizeof(err));

    return 0;
}
