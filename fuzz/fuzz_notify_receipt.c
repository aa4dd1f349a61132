/*
 * libFuzzer target: what the outbox reads from outside or from its own
 * rows: a Twilio status callback body (integrations_notify_twilio_
 * receipt()) and the stored AlimTalk variables (integrations_notify_kv_
 * parse(), whose output must survive a round trip through
 * integrations_notify_kv_json()).  The first byte picks the parser.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_notify_outbox.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                           *json;
    size_t                          i, n, m, len;
    const char                     *why;
    integrations_notify_kv_t       *kv, *back;
    integrations_notify_receipt_t   rc;

    if (size == 0) {
        return 0;
    }

    if (data[0] & 1) {
        if (integrations_notify_twilio_receipt((const char *) data + 1,
                                               size - 1, &rc, &why)
            == 0)
        {
            if (memchr(rc.message_id, '\0', sizeof(rc.message_id)) == NULL
                || strlen(rc.message_id) != 34
                || memchr(rc.error, '\0', sizeof(rc.error)) == NULL
                || rc.status < INTEGRATIONS_NOTIFY_RECEIPT_NONE
                || rc.status > INTEGRATIONS_NOTIFY_RECEIPT_FAILED)
            {
                abort();
            }

        } else if (why == NULL) {
            abort();
        }

        return 0;
    }

    if (integrations_notify_kv_parse((const char *) data + 1, size - 1, &kv,
                                     &n)
        != 0)
    {
        return 0;
    }

    json = integrations_notify_kv_json(kv, n, &len);

    if (json == NULL
        || integrations_notify_kv_parse(json, len, &back, &m) != 0
        || m != n)
    {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (back[i].key_len != kv[i].key_len
            || back[i].value_len != kv[i].value_len
            || memcmp(back[i].key, kv[i].key, kv[i].key_len) != 0
            || memcmp(back[i].value, kv[i].value, kv[i].value_len) != 0)
        {
            abort();
        }
    }

    free(back);
    free(json);
    free(kv);

    return 0;
}
