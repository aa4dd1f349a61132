/*
 * Money: see integrations_money.h.
 */

#include <string.h>

#include "integrations_money.h"


typedef struct {
    char  code[4];
    int   exponent;
} integrations_currency_t;


/*
 * ISO 4217 minor units of the currencies the providers settle in.  A code
 * missing here is refused, never assumed to have 2 decimals: KRW charged
 * as if it had cents would be a hundredfold charge.
 */

static const integrations_currency_t  integrations_currencies[] = {
    /* no minor unit */
    { "BIF", 0 }, { "CLP", 0 }, { "DJF", 0 }, { "GNF", 0 }, { "ISK", 0 },
    { "JPY", 0 }, { "KMF", 0 }, { "KRW", 0 }, { "PYG", 0 }, { "RWF", 0 },
    { "UGX", 0 }, { "VND", 0 }, { "VUV", 0 }, { "XAF", 0 }, { "XOF", 0 },
    { "XPF", 0 },

    /* three decimals */
    { "BHD", 3 }, { "IQD", 3 }, { "JOD", 3 }, { "KWD", 3 }, { "LYD", 3 },
    { "OMR", 3 }, { "TND", 3 },

    /* two decimals */
    { "AED", 2 }, { "ARS", 2 }, { "AUD", 2 }, { "BGN", 2 }, { "BRL", 2 },
    { "CAD", 2 }, { "CHF", 2 }, { "CNY", 2 }, { "COP", 2 }, { "CZK", 2 },
    { "DKK", 2 }, { "EGP", 2 }, { "EUR", 2 }, { "GBP", 2 }, { "HKD", 2 },
    { "HUF", 2 }, { "IDR", 2 }, { "ILS", 2 }, { "INR", 2 }, { "MXN", 2 },
    { "MYR", 2 }, { "NOK", 2 }, { "NZD", 2 }, { "PEN", 2 }, { "PHP", 2 },
    { "PLN", 2 }, { "RON", 2 }, { "SAR", 2 }, { "SEK", 2 }, { "SGD", 2 },
    { "THB", 2 }, { "TRY", 2 }, { "TWD", 2 }, { "UAH", 2 }, { "USD", 2 },
    { "ZAR", 2 },
};


int
integrations_money_exponent(const char *code, size_t len)
{
    char    up[3];
    size_t  i;

    if (len != 3) {
        return -1;
    }

    for (i = 0; i < 3; i++) {
        if (code[i] >= 'a' && code[i] <= 'z') {
            up[i] = code[i] - 'a' + 'A';

        } else if (code[i] >= 'A' && code[i] <= 'Z') {
            up[i] = code[i];

        } else {
            return -1;
        }
    }

    for (i = 0; i < sizeof(integrations_currencies)
                    / sizeof(integrations_currencies[0]); i++)
    {
        if (memcmp(integrations_currencies[i].code, up, 3) == 0) {
            return integrations_currencies[i].exponent;
        }
    }

    return -1;
}


int
integrations_money_parse(const char *s, size_t len, int exponent,
    int64_t *minor)
{
    int       d, decimals, seen_point, digits;
    size_t    i;
    uint64_t  v, limit;

    if (exponent < 0 || exponent > 4 || len == 0) {
        return -1;
    }

    v = 0;
    limit = (uint64_t) INT64_MAX;
    decimals = 0;
    digits = 0;
    seen_point = 0;

    for (i = 0; i < len; i++) {

        if (s[i] == '.') {
            if (seen_point || digits == 0) {
                return -1;
            }

            seen_point = 1;
            continue;
        }

        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        if (seen_point && ++decimals > exponent) {
            return -1;
        }

        d = s[i] - '0';

        if (v > (limit - d) / 10) {
            return -1;
        }

        v = v * 10 + d;
        digits++;
    }

    if (seen_point && decimals == 0) {
        return -1;
    }

    /* "10.5" with exponent 2 is 1050: scale the missing decimals */

    for ( /* void */ ; decimals < exponent; decimals++) {
        if (v > limit / 10) {
            return -1;
        }

        v *= 10;
    }

    *minor = (int64_t) v;

    return 0;
}


size_t
integrations_money_format(int64_t minor, int exponent, char *buf)
{
    char      tmp[INTEGRATIONS_MONEY_STR_LEN];
    size_t    n, len, i;
    uint64_t  v;

    if (exponent < 0 || exponent > 4) {
        exponent = 0;
    }

    /* the magnitude of INT64_MIN does not fit in int64_t: negate unsigned */

    v = (minor < 0) ? (uint64_t) 0 - (uint64_t) minor : (uint64_t) minor;

    n = 0;

    do {
        tmp[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);

    /* at least one digit before the point: 5 with exponent 2 is "0.05" */

    while (n < (size_t) exponent + 1) {
        tmp[n++] = '0';
    }

    len = 0;

    if (minor < 0) {
        buf[len++] = '-';
    }

    for (i = n; i > 0; i--) {
        if (i == (size_t) exponent && exponent > 0) {
            buf[len++] = '.';
        }

        buf[len++] = tmp[i - 1];
    }

    buf[len] = '\0';

    return len;
}
