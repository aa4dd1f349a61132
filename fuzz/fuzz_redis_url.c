/*
 * libFuzzer target: the integrations_redis URL parser on any bytes.
 * What it accepts must name a host inside the input of visible ASCII, a
 * port in range for TCP, an absolute path for a socket, a db in range.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_redis.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                     i;
    const char                *err;
    unsigned char             *copy;
    integrations_redis_url_t   u;

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    err = integrations_redis_url_parse(copy, size, &u);

    if (err == NULL) {
        if (u.host == NULL || u.host_len == 0 || u.host < copy
            || u.host + u.host_len > copy + size
            || u.db > INTEGRATIONS_REDIS_MAX_DB)
        {
            abort();
        }

        for (i = 0; i < u.host_len; i++) {
            if (u.host[i] < 0x21 || u.host[i] == 0x7f
                || (!u.unix_socket && u.host[i] == '@'))
            {
                abort();
            }
        }

        if (u.unix_socket) {
            if (u.host[0] != '/'
                || u.host_len > INTEGRATIONS_REDIS_MAX_PATH)
            {
                abort();
            }

        } else if (u.port == 0 || u.port > 65535
                   || u.host_len > INTEGRATIONS_REDIS_MAX_HOST)
        {
            abort();
        }
    }

    free(copy);

    return 0;
}
