/*
 * libFuzzer target: the store URL parser on any bytes.  What it accepts
 * must hold only NUL-terminated fields of visible ASCII (they go to libpq
 * and sqlite3_open_v2 as they are), a port in range, and a backend.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_store.h"


static void
fuzz_field(const char *f, size_t size, int allow_space)
{
    size_t  i, n;

    n = strnlen(f, size);

    if (n == size) {
        abort();                 /* not terminated */
    }

    for (i = 0; i < n; i++) {
        if ((unsigned char) f[i] < (allow_space ? 0x20 : 0x21)
            || (unsigned char) f[i] == 0x7f)
        {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char                *err;
    unsigned char             *copy;
    integrations_store_url_t   u;

    /* an exact-size copy: ASan sees a read past the end */

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    err = NULL;

    if (integrations_store_url_parse(copy, size, &u, &err) != 0) {
        if (err == NULL) {
            abort();
        }

        free(copy);
        return 0;
    }

    if (u.backend == INTEGRATIONS_STORE_SQLITE) {
        fuzz_field(u.path, sizeof(u.path), 1);

        if (u.path[0] == '\0') {
            abort();
        }

    } else if (u.backend == INTEGRATIONS_STORE_POSTGRESQL) {
        fuzz_field(u.user, sizeof(u.user), 0);
        fuzz_field(u.host, sizeof(u.host), 0);
        fuzz_field(u.dbname, sizeof(u.dbname), 0);
        fuzz_field(u.sslmode, sizeof(u.sslmode), 0);

        if (u.user[0] == '\0' || u.host[0] == '\0' || u.dbname[0] == '\0'
            || u.port == 0 || u.port > 65535)
        {
            abort();
        }

    } else {
        abort();
    }

    free(copy);

    return 0;
}
