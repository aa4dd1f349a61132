/*
 * Retry timing: see integrations_notify_retry.h.
 */

#include <string.h>

#include "integrations_notify_retry.h"
#include "integrations_time.h"


#define INTEGRATIONS_RETRY_AFTER_MAX  86400


/* uniform in [lo, hi]; the modulo bias of 64 random bits is negligible */

static int64_t
integrations_retry_uniform(int64_t lo, int64_t hi, uint64_t rand)
{
    if (hi <= lo) {
        return lo;
    }

    return lo + (int64_t) (rand % ((uint64_t) (hi - lo) + 1));
}


int64_t
integrations_notify_next_attempt_at(const integrations_notify_retry_t *p,
    unsigned attempt, int64_t created_ms, int64_t now_ms,
    int64_t retry_after_ms, int64_t prev_delay_ms, uint64_t rand,
    int64_t *delay_ms)
{
    int64_t   base, cap, ceiling, delay, next;
    unsigned  n;

    if (delay_ms) {
        *delay_ms = 0;
    }

    if (attempt == 0 || attempt >= p->attempts) {
        return -1;
    }

    base = p->base_ms > 0 ? p->base_ms : 1;
    cap = p->cap_ms >= base ? p->cap_ms : base;

    if (p->jitter == INTEGRATIONS_RETRY_DECORRELATED) {
        prev_delay_ms = prev_delay_ms >= base ? prev_delay_ms : base;

        ceiling = (prev_delay_ms > cap / 3) ? cap : prev_delay_ms * 3;
        delay = integrations_retry_uniform(base, ceiling, rand);

    } else {
        /* base * 2^(attempt-1), doubled only while below cap */

        ceiling = base;

        for (n = 1; n < attempt && ceiling < cap; n++) {
            ceiling = (ceiling > cap / 2) ? cap : ceiling * 2;
        }

        if (ceiling > cap) {
            ceiling = cap;
        }

        delay = integrations_retry_uniform(0, ceiling, rand);
    }

    if (retry_after_ms > delay) {
        delay = retry_after_ms;
    }

    if (delay > INT64_MAX - now_ms) {
        return -1;
    }

    next = now_ms + delay;

    if (p->max_age_ms > 0 && next - created_ms > p->max_age_ms) {
        return -1;
    }

    if (delay_ms) {
        *delay_ms = delay;
    }

    return next;
}


static int
integrations_retry_digits(const char *s, size_t n, int64_t *v)
{
    size_t  i;

    *v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        *v = *v * 10 + (s[i] - '0');
    }

    return 0;
}


int64_t
integrations_notify_retry_after(const char *v, size_t len, int64_t now)
{
    size_t          i, n;
    int64_t         secs, day, year, hour, min, sec, t;
    unsigned        month;
    const char     *p;

    static const char  *wdays = "MonTueWedThuFriSatSun";
    static const char  *months = "JanFebMarAprMayJunJulAugSepOctNovDec";

    if (v == NULL) {
        return -1;
    }

    while (len && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        len--;
    }

    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
    }

    if (len == 0) {
        return -1;
    }

    /* delta-seconds: digits only (at most 9 of them: no overflow) */

    if (v[0] >= '0' && v[0] <= '9') {
        if (len > 9 || integrations_retry_digits(v, len, &secs) != 0) {
            return -1;
        }

        return secs > INTEGRATIONS_RETRY_AFTER_MAX
               ? INTEGRATIONS_RETRY_AFTER_MAX : secs;
    }

    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes */

    if (len != 29) {
        return -1;
    }

    p = v;

    for (i = 0; i < 7; i++) {
        if (memcmp(p, wdays + 3 * i, 3) == 0) {
            break;
        }
    }

    if (i == 7 || p[3] != ',' || p[4] != ' ' || p[7] != ' '
        || p[11] != ' ' || p[16] != ' ' || p[19] != ':' || p[22] != ':'
        || p[25] != ' ' || memcmp(p + 26, "GMT", 3) != 0)
    {
        return -1;
    }

    for (n = 0; n < 12; n++) {
        if (memcmp(p + 8, months + 3 * n, 3) == 0) {
            break;
        }
    }

    if (n == 12
        || integrations_retry_digits(p + 5, 2, &day) != 0
        || integrations_retry_digits(p + 12, 4, &year) != 0
        || integrations_retry_digits(p + 17, 2, &hour) != 0
        || integrations_retry_digits(p + 20, 2, &min) != 0
        || integrations_retry_digits(p + 23, 2, &sec) != 0)
    {
        return -1;
    }

    month = (unsigned) n + 1;

    if (day < 1 || day > (int64_t) integrations_time_month_days(year, month)
        || hour > 23 || min > 59 || sec > 60)
    {
        return -1;
    }

    t = integrations_time_days_from_civil(year, month, (unsigned) day) * 86400
        + hour * 3600 + min * 60 + sec;

    if (t <= now) {
        return 0;
    }

    return (t - now > INTEGRATIONS_RETRY_AFTER_MAX)
           ? INTEGRATIONS_RETRY_AFTER_MAX : t - now;
}
