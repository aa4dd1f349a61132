/*
 * Unit tests of the calendar helpers, against libc's timegm() over four
 * centuries of days, leap rules included.
 */

#include "tap.h"
#include "integrations_time.h"

#include <time.h>


int
main(void)
{
    int64_t    days, y;
    unsigned   m, d;
    int        agree;
    time_t     t;
    struct tm  tm;

    agree = 1;

    /* 1900-01-01 .. 2300-01-01, every day both ways */

    for (days = -25567; days < 120526; days++) {
        t = (time_t) (days * 86400);
        gmtime_r(&t, &tm);

        integrations_time_civil_from_days(days, &y, &m, &d);

        if (y != tm.tm_year + 1900 || m != (unsigned) tm.tm_mon + 1
            || d != (unsigned) tm.tm_mday
            || integrations_time_days_from_civil(y, m, d) != days)
        {
            agree = 0;
            diag("day %lld: %lld-%u-%u", (long long) days, (long long) y, m,
                 d);
            break;
        }
    }

    ok(agree, "400 years of days agree with gmtime_r, both ways");

    is_int(integrations_time_days_from_civil(1970, 1, 1), 0, "the epoch");
    is_int(integrations_time_days_from_civil(0, 3, 1), -719468,
           "0000-03-01, the algorithm's origin");
    ok(integrations_time_leap(2000) && !integrations_time_leap(1900)
       && integrations_time_leap(2024) && !integrations_time_leap(2025),
       "leap years: 2000 and 2024, not 1900 or 2025");
    is_int(integrations_time_month_days(2024, 2), 29, "Feb 2024");
    is_int(integrations_time_month_days(2100, 2), 28, "Feb 2100");
    is_int(integrations_time_month_days(2025, 13), 0, "no month 13");

    return done_testing();
}
