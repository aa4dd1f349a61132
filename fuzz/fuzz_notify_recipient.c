/*
 * libFuzzer target: recipients, every kind.  The first byte picks the
 * kind and a default country code; the rest is the recipient.  What is
 * accepted normalizes to itself again (normalized forms are fixed
 * points), and its mask is short, terminated and never the recipient (an
 * address: only its first character and its domain).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_recipient.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          kind;
    char         out[INTEGRATIONS_RCPT_MAX + 1];
    char         again[INTEGRATIONS_RCPT_MAX + 1];
    char         mask[INTEGRATIONS_RCPT_MASK];
    size_t       n, n2, m;
    unsigned     cc;
    const char  *why;

    if (size < 1) {
        return 0;
    }

    kind = data[0] % 6;
    cc = (data[0] & 0x80) ? 82 : (data[0] & 0x40) ? 1 : 0;

    if (integrations_rcpt_normalize(kind, cc, (const char *) data + 1,
                                    size - 1, out, sizeof(out), &n, &why)
        != 0)
    {
        if (why == NULL || out[0] != '\0') {
            abort();
        }

        return 0;
    }

    if (strlen(out) != n
        || integrations_rcpt_normalize(kind, cc, out, n, again,
                                       sizeof(again), &n2, &why) != 0
        || n2 != n || memcmp(out, again, n) != 0)
    {
        abort();
    }

    m = integrations_rcpt_mask(kind, out, n, mask);

    if (m >= INTEGRATIONS_RCPT_MASK || strlen(mask) != m) {
        abort();
    }

    /* an address keeps its first character and domain, nothing else */

    if (kind == INTEGRATIONS_RCPT_EMAIL) {
        if (m < 5 || mask[0] != out[0] || memcmp(mask + 1, "***@", 4) != 0) {
            abort();
        }

    } else if (kind != INTEGRATIONS_RCPT_SLACK_CHANNEL && m == n
               && memcmp(mask, out, n) == 0)
    {
        abort();
    }

    return 0;
}
