/*
 * Money: ISO 4217 exponents, exact decimal parsing and formatting.
 */

#include <stdint.h>

#include "tap.h"
#include "integrations_money.h"


static int64_t
parse(const char *s, int exponent, int *rc)
{
    int64_t  v = -1;

    *rc = integrations_money_parse(s, strlen(s), exponent, &v);

    return v;
}


int
main(void)
{
    int      rc;
    char     buf[INTEGRATIONS_MONEY_STR_LEN];
    size_t   i, n;
    int64_t  v, w;

    static const struct { const char *s; int exp; int64_t v; }  good[] = {
        { "10.50", 2, 1050 }, { "10.5", 2, 1050 }, { "10", 2, 1000 },
        { "0.01", 2, 1 }, { "0", 2, 0 }, { "1000", 0, 1000 },
        { "1.234", 3, 1234 }, { "007", 0, 7 }, { "0.1", 2, 10 },
        { "92233720368547758.07", 2, INT64_MAX },
        { "9223372036854775807", 0, INT64_MAX },
    };

    static const struct { const char *s; int exp; }  bad[] = {
        { "", 2 }, { "10.505", 2 }, { "10.5", 0 }, { "1.", 2 }, { ".5", 2 },
        { "-1", 2 }, { "+1", 2 }, { " 1", 2 }, { "1 ", 2 }, { "1e3", 2 },
        { "1,5", 2 }, { "1.2.3", 2 }, { "0x10", 0 }, { "NaN", 2 },
        { "92233720368547758.08", 2 }, { "9223372036854775808", 0 },
        { "99999999999999999999999", 0 }, { "1", 5 }, { "1", -1 },
    };

    is_int(integrations_money_exponent("KRW", 3), 0, "KRW has no decimals");
    is_int(integrations_money_exponent("JPY", 3), 0, "JPY has no decimals");
    is_int(integrations_money_exponent("USD", 3), 2, "USD has 2");
    is_int(integrations_money_exponent("eur", 3), 2, "lowercase eur has 2");
    is_int(integrations_money_exponent("KWD", 3), 3, "KWD has 3");
    is_int(integrations_money_exponent("XXX", 3), -1, "unknown code refused");
    is_int(integrations_money_exponent("US", 2), -1, "short code refused");
    is_int(integrations_money_exponent("U$D", 3), -1, "junk refused");

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        v = parse(good[i].s, good[i].exp, &rc);
        ok(rc == 0 && v == good[i].v, "\"%s\" exponent %d is %lld",
           good[i].s, good[i].exp, (long long) good[i].v);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        parse(bad[i].s, bad[i].exp, &rc);
        is_int(rc, -1, "\"%s\" exponent %d refused", bad[i].s, bad[i].exp);
    }

    rc = integrations_money_parse("10.50x", 5, 2, &v);
    ok(rc == 0 && v == 1050, "only len bytes are read");

    n = integrations_money_format(1050, 2, buf);
    is_str(buf, "10.50", "1050 USD formats as 10.50");
    is_int(n, 5, "and its length");
    integrations_money_format(5, 2, buf);
    is_str(buf, "0.05", "5 cents");
    integrations_money_format(0, 2, buf);
    is_str(buf, "0.00", "zero with decimals");
    integrations_money_format(1000, 0, buf);
    is_str(buf, "1000", "KRW has no point");
    integrations_money_format(-1234, 3, buf);
    is_str(buf, "-1.234", "negative KWD");
    integrations_money_format(INT64_MAX, 2, buf);
    is_str(buf, "92233720368547758.07", "INT64_MAX");
    integrations_money_format(INT64_MIN, 2, buf);
    is_str(buf, "-92233720368547758.08", "INT64_MIN");

    /* round trip: format then parse gives the same minor units */

    for (v = 0; v < 100000; v += 37) {
        integrations_money_format(v, 2, buf);
        if (integrations_money_parse(buf, strlen(buf), 2, &w) != 0
            || w != v)
        {
            break;
        }
    }

    ok(v >= 100000, "format/parse round trip for 0..100000");

    return done_testing();
}
