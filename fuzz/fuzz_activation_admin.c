/*
 * libFuzzer target: what an admin request brings to activation_admin:
 * the path (route and order id), the list's query string, the resend or
 * revoke body, the Authorization header, and the key file.  The first
 * byte picks one.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_activation_admin.h"


static void
each(const char *key, size_t len, void *data)
{
    size_t  i;

    (void) data;

    if (len < 16 || len > 256) {
        abort();
    }

    for (i = 0; i < len; i++) {
        if (key[i] <= 0x20 || key[i] >= 0x7f) {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                              post;
    char                             err[256], cur[64];
    size_t                           n, i;
    const char                      *p, *id, *field, *k;
    integrations_act_admin_query_t   q;
    integrations_act_admin_action_t  a;

    if (size < 1) {
        return 0;
    }

    p = (const char *) data + 1;
    n = size - 1;

    switch (data[0] % 5) {

    case 0:
        if (integrations_act_admin_route(p, n, &id, &i, &post)
            != INTEGRATIONS_ACT_ADMIN_NONE && id != NULL)
        {
            /* an id is digits inside the path */
            if (id < p || id + i > p + n || i == 0
                || i > INTEGRATIONS_ACT_ADMIN_ID_MAX)
            {
                abort();
            }

            while (i--) {
                if (id[i] < '0' || id[i] > '9') {
                    abort();
                }
            }
        }
        break;

    case 1:
        if (integrations_act_admin_query(p, n, data[0] & 0x80, &q, &field,
                                         err, sizeof(err))
            == 0)
        {
            if (q.limit < 1
                || q.limit > (q.csv ? INTEGRATIONS_ACT_ADMIN_CSV_MAX
                                    : INTEGRATIONS_ACT_ADMIN_LIMIT_MAX)
                || q.states >= (1u << INTEGRATIONS_ACT_NSTATES))
            {
                abort();
            }

            /* a cursor read back is written back the same */
            if (q.after
                && integrations_act_admin_cursor(q.after_at, q.after_id,
                                                 q.after_id_len, cur,
                                                 sizeof(cur)) < 0)
            {
                abort();
            }
        }
        break;

    case 2:
        if (integrations_act_admin_action(p, n, data[0] & 0x80, &a, &field,
                                          err, sizeof(err)) == 0)
        {
            if (a.reason_len > INTEGRATIONS_ACT_ADMIN_REASON_MAX
                || strlen(a.reason) != a.reason_len
                || strlen(a.contact.value) != a.contact.len)
            {
                abort();
            }
        }
        break;

    case 3:
        if (integrations_act_admin_bearer(p, n, &k, &i) == 0
            && (k < p || k + i > p + n || i == 0))
        {
            abort();
        }
        break;

    default:
        (void) integrations_act_admin_keys(p, n, each, NULL, err,
                                           sizeof(err));
    }

    return 0;
}
