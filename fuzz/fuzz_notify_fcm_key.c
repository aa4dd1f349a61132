/*
 * libFuzzer target: the FCM service-account key file.  A key that parses
 * has every field, a project id safe in a URL path and signs a JWT.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_fcm.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                    *jwt;
    size_t                   n;
    const char              *why;
    integrations_fcm_key_t   key;

    if (integrations_fcm_key_parse((const char *) data, size, &key, &why)
        != 0)
    {
        if (why == NULL) {
            abort();
        }

        return 0;
    }

    if (key.client_email == NULL || key.token_uri == NULL
        || key.project_id == NULL || key.pkey == NULL
        || strpbrk(key.project_id, "/?#% ") != NULL)
    {
        abort();
    }

    jwt = integrations_fcm_jwt(&key, 1700000000, &n);
    if (jwt == NULL || strlen(jwt) != n) {
        abort();
    }

    free(jwt);
    integrations_fcm_key_free(&key);

    return 0;
}
