/*
 * Calendar arithmetic for the pure core: proleptic Gregorian dates to and
 * from days since 1970-01-01 (H. Hinnant's algorithms), on int64, with no
 * time zone, no locale and no libc state (timegm() and gmtime_r() are
 * neither portable to every range nor free of locks).
 */

#ifndef INTEGRATIONS_TIME_H
#define INTEGRATIONS_TIME_H

#include <stdint.h>


/* m 1..12, d 1..31 (not checked against the month: callers do) */
int64_t integrations_time_days_from_civil(int64_t y, unsigned m, unsigned d);

void integrations_time_civil_from_days(int64_t days, int64_t *y,
    unsigned *m, unsigned *d);

/* 1 for a leap year */
int integrations_time_leap(int64_t y);

/* days in month m (1..12) of year y */
unsigned integrations_time_month_days(int64_t y, unsigned m);

#endif /* INTEGRATIONS_TIME_H */
