/*
 * libFuzzer target: the money parser on any bytes, with every exponent;
 * what parses must format back to a string that parses to the same value.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_money.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int      exponent;
    char     buf[INTEGRATIONS_MONEY_STR_LEN];
    size_t   n;
    int64_t  v, w;

    if (size < 1) {
        return 0;
    }

    exponent = data[0] % 6;

    integrations_money_exponent((const char *) data + 1, size - 1);

    if (integrations_money_parse((const char *) data + 1, size - 1, exponent,
                                 &v)
        != 0)
    {
        return 0;
    }

    if (v < 0) {
        abort();
    }

    n = integrations_money_format(v, exponent, buf);

    if (n >= sizeof(buf)
        || integrations_money_parse(buf, n, exponent, &w) != 0
        || w != v)
    {
        abort();
    }

    return 0;
}
