/*
 * Retry timing: backoff with full and decorrelated jitter, attempts, max
 * age, Retry-After.
 */

#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "integrations_notify_retry.h"


static uint64_t
next_rand(uint64_t *s)
{
    /* splitmix64: deterministic bits for the test */

    uint64_t  z;

    z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;

    return z ^ (z >> 31);
}


static void
test_full(void)
{
    int       bad;
    int64_t   t, d, bound;
    unsigned  a, i;
    uint64_t  seed;

    integrations_notify_retry_t  p = { 8, 0, 1000, 60000,
                                       INTEGRATIONS_RETRY_FULL };

    t = integrations_notify_next_attempt_at(&p, 1, 0, 5000, -1, 0, 0, &d);
    ok(t == 5000 && d == 0, "full jitter: 0 random bits, no delay");

    t = integrations_notify_next_attempt_at(&p, 1, 0, 5000, -1, 0, 1000, &d);
    ok(t == 6000 && d == 1000, "attempt 1: at most base");

    t = integrations_notify_next_attempt_at(&p, 3, 0, 5000, -1, 0, 4000, &d);
    ok(d == 4000, "attempt 3: at most 4 x base");
    t = integrations_notify_next_attempt_at(&p, 3, 0, 5000, -1, 0, 4001, &d);
    ok(d == 0, "(uniform over 0..4000)");

    /* a thousand draws per attempt stay within [0, min(cap, base 2^n)] */

    bad = 0;
    seed = 1;

    for (a = 1; a < 8; a++) {
        bound = 1000LL << (a - 1);
        bound = bound > 60000 ? 60000 : bound;

        for (i = 0; i < 1000; i++) {
            t = integrations_notify_next_attempt_at(&p, a, 0, 0, -1, 0,
                                                    next_rand(&seed), &d);
            if (t != d || d < 0 || d > bound) {
                bad++;
            }
        }
    }

    is_int(bad, 0, "every delay within its bound, capped at 60 s");

    p.attempts = 1000;
    t = integrations_notify_next_attempt_at(&p, 999, 0, 0, -1, 0,
                                            UINT64_MAX, &d);
    ok(t >= 0 && d <= 60000, "attempt 999 does not overflow: %lld",
       (long long) d);
}


static void
test_decorrelated(void)
{
    int       bad;
    int64_t   t, d, prev;
    unsigned  i;
    uint64_t  seed;

    integrations_notify_retry_t  p = { 100, 0, 500, 30000,
                                       INTEGRATIONS_RETRY_DECORRELATED };

    t = integrations_notify_next_attempt_at(&p, 1, 0, 0, -1, 0, 0, &d);
    ok(d == 500, "decorrelated: at least base");
    t = integrations_notify_next_attempt_at(&p, 1, 0, 0, -1, 0, 1000, &d);
    ok(d == 1500, "at most 3 x base the first time");

    bad = 0;
    seed = 7;
    prev = 0;

    for (i = 1; i < 100; i++) {
        t = integrations_notify_next_attempt_at(&p, i, 0, 0, -1, prev,
                                                next_rand(&seed), &d);
        if (t != d || d < 500 || d > 30000
            || d > 3 * (prev > 500 ? prev : 500))
        {
            bad++;
        }

        prev = d;
    }

    is_int(bad, 0, "each delay in [base, min(cap, 3 x previous)]");
}


static void
test_limits(void)
{
    int64_t  t, d;

    integrations_notify_retry_t  p = { 3, 10000, 1000, 60000,
                                       INTEGRATIONS_RETRY_FULL };

    t = integrations_notify_next_attempt_at(&p, 2, 0, 1000, -1, 0, 500, &d);
    is_int(t, 1500, "attempt 2 of 3: retried");
    t = integrations_notify_next_attempt_at(&p, 3, 0, 1000, -1, 0, 500, &d);
    ok(t == -1 && d == 0, "attempt 3 of 3: given up");
    t = integrations_notify_next_attempt_at(&p, 0, 0, 1000, -1, 0, 500, &d);
    is_int(t, -1, "attempt 0 is not a failure to retry");

    t = integrations_notify_next_attempt_at(&p, 1, 0, 9000, -1, 0, 1000, &d);
    is_int(t, 10000, "exactly at max_age: still tried");
    t = integrations_notify_next_attempt_at(&p, 1, 0, 9000, -1, 0, 1001, &d);
    is_int(t, 9000, "(uniform: 1001 random bits are a delay of 0)");
    t = integrations_notify_next_attempt_at(&p, 2, 0, 9500, -1, 0, 1999, &d);
    is_int(t, -1, "past max_age: given up");

    /* Retry-After */

    t = integrations_notify_next_attempt_at(&p, 1, 0, 1000, 5000, 0, 0, &d);
    ok(t == 6000 && d == 5000, "Retry-After longer than the delay wins");
    t = integrations_notify_next_attempt_at(&p, 1, 0, 1000, 100, 0, 800, &d);
    ok(t == 1800 && d == 800, "a shorter one does not shorten it");
    t = integrations_notify_next_attempt_at(&p, 1, 0, 1000, 20000, 0, 0, &d);
    is_int(t, -1, "a Retry-After past max_age: given up now, not later");

    p.max_age_ms = 0;
    t = integrations_notify_next_attempt_at(&p, 1, 0, 1000, 120000, 0, 0, &d);
    ok(t == 121000, "Retry-After beyond cap is honoured");
    t = integrations_notify_next_attempt_at(&p, 1, 0, INT64_MAX - 10, 100, 0,
                                            0, &d);
    is_int(t, -1, "no overflow at the end of time");
}


static void
test_retry_after_header(void)
{
    size_t   i;
    int64_t  now;

    static const struct {
        const char  *v;
        int64_t      want;
    } cases[] = {
        { "120", 120 },
        { " 7 ", 7 },
        { "0", 0 },
        { "999999999", 86400 },
        { "1234567890", -1 },
        { "-1", -1 },
        { "1.5", -1 },
        { "12a", -1 },
        { "", -1 },
        { "   ", -1 },
        { "Wed, 21 Oct 2015 07:28:30 GMT", 30 },
        { "Wed, 21 Oct 2015 07:28:00 GMT", 0 },
        { "Tue, 20 Oct 2015 07:28:00 GMT", 0 },
        { "Thu, 22 Oct 2015 08:28:00 GMT", 86400 },
        { "Wed, 21 Oct 2015 07:28:30 UTC", -1 },
        { "Wed, 21 Oct 2015 07:28:30 GMT ", 30 },
        { "Wednesday, 21-Oct-15 07:28:30 GMT", -1 },
        { "Wed Oct 21 07:28:30 2015", -1 },
        { "Wed, 31 Feb 2015 07:28:30 GMT", -1 },
        { "Wed, 21 Foo 2015 07:28:30 GMT", -1 },
        { "Wed, 21 Oct 2015 24:28:30 GMT", -1 },
        { "Xyz, 21 Oct 2015 07:28:30 GMT", -1 },
    };

    /* Wed, 21 Oct 2015 07:28:00 GMT */
    now = 1445412480;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok(integrations_notify_retry_after(cases[i].v, strlen(cases[i].v), now)
           == cases[i].want, "Retry-After \"%s\": %lld", cases[i].v,
           (long long) cases[i].want);
    }

    ok(integrations_notify_retry_after(NULL, 0, now) == -1, "none: -1");
}


int
main(void)
{
    test_retry_after_header();
    test_full();
    test_decorrelated();
    test_limits();

    return done_testing();
}
