/*
 * libFuzzer target: the Retry-After header parser
 * (integrations_notify_retry_after()).  Whatever the value, the answer is
 * -1 or a wait from 0 to a day.
 */

#include <stdint.h>
#include <stdlib.h>

#include "integrations_notify_retry.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t  w;

    w = integrations_notify_retry_after((const char *) data, size,
                                        1445412480);

    if (w < -1 || w > 86400) {
        abort();
    }

    return 0;
}
