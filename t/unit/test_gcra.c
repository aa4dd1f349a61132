/*
 * Unit tests of the GCRA core with an explicit clock.
 */

#include "tap.h"
#include "integrations_gcra.h"

#include <stdint.h>


#define SIM_MAX  (1u << 20)


typedef enum {
    PATTERN_EVERY_MS = 0,
    PATTERN_FLOOD,
    PATTERN_BURSTS,
    PATTERN_RANDOM,
    PATTERN_SPARSE,
    PATTERN_WORKERS,
    PATTERN_LAST
} pattern_e;


static const char  *pattern_names[] = {
    "one per ms", "20 per ms", "bursts of 50 every 500 ms",
    "0-3 per ms at random", "sparse random gaps", "two skewed workers"
};


typedef struct {
    integrations_gcra_params_t   params;
    integrations_gcra_mode_e     mode;
    integrations_gcra_state_t    state;

    size_t                       n;
    uint64_t                    *at;
    uint64_t                    *rel;

    uint64_t                     requests;
    unsigned                     bad_state;
    unsigned                     bad_retry;
    unsigned                     bad_remaining;
    unsigned                     bad_reset;
    unsigned                     bad_delay;
} sim_t;


static uint64_t  rnd_state = 88172645463325252ULL;


static uint64_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;

    return rnd_state;
}


static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}


static integrations_gcra_params_t
mkparams(uint32_t count, uint32_t period, uint32_t burst)
{
    integrations_gcra_params_t  p;
    const char                 *err;

    err = integrations_gcra_params_init(&p, count, period, burst);
    if (err != NULL) {
        diag("params_init(%u, %u, %u): %s", count, period, burst, err);
        abort();
    }

    return p;
}


static integrations_gcra_verdict_e
decide(integrations_gcra_state_t *st, const integrations_gcra_params_t *p,
    uint64_t now, integrations_gcra_mode_e mode, integrations_gcra_result_t *r)
{
    integrations_gcra_result_t  dummy;

    return integrations_gcra_decide(st, p, now, mode, r ? r : &dummy);
}


/* One request through the simulator, checking every reported number. */

static void
sim_request(sim_t *s, uint64_t now)
{
    uint64_t                     k, tau_ceil;
    integrations_gcra_state_t    before, copy;
    integrations_gcra_result_t   r, r2;
    integrations_gcra_verdict_e  v;

    s->requests++;
    before = s->state;

    v = decide(&s->state, &s->params, now, s->mode, &r);

    if (v == INTEGRATIONS_GCRA_REJECTED) {

        if (memcmp(&before, &s->state, sizeof(before)) != 0) {
            s->bad_state++;
        }

        if (r.retry_after < 1 || r.remaining != 0 || r.delay != 0) {
            s->bad_retry++;
            return;
        }

        /* retry_after is the exact earliest whole ms */

        copy = s->state;
        if (decide(&copy, &s->params, now + r.retry_after - 1, s->mode, NULL)
            != INTEGRATIONS_GCRA_REJECTED)
        {
            s->bad_retry++;
        }

        copy = s->state;
        if (decide(&copy, &s->params, now + r.retry_after, s->mode, NULL)
            == INTEGRATIONS_GCRA_REJECTED)
        {
            s->bad_retry++;
        }

        return;
    }

    if (s->n < SIM_MAX) {
        s->at[s->n] = now;
        s->rel[s->n] = now + r.delay;
        s->n++;
    }

    tau_ceil = s->params.tau_ms + (s->params.tau_frac != 0);

    if (s->mode == INTEGRATIONS_GCRA_NODELAY) {
        if (v != INTEGRATIONS_GCRA_PASSED || r.delay != 0) {
            s->bad_delay++;
        }

    } else if ((v == INTEGRATIONS_GCRA_DELAYED) != (r.delay > 0)
               || r.delay > tau_ceil)
    {
        s->bad_delay++;
    }

    /* exactly "remaining" more requests are admitted at the same instant */

    copy = s->state;

    for (k = 0; k < r.remaining; k++) {
        if (decide(&copy, &s->params, now, s->mode, NULL)
            == INTEGRATIONS_GCRA_REJECTED)
        {
            s->bad_remaining++;
            break;
        }
    }

    if (decide(&copy, &s->params, now, s->mode, NULL)
        != INTEGRATIONS_GCRA_REJECTED)
    {
        s->bad_remaining++;
    }

    /* at now + reset the key is fresh again, a ms earlier it is not */

    copy = s->state;
    decide(&copy, &s->params, now + r.reset, s->mode, &r2);

    if (r2.verdict == INTEGRATIONS_GCRA_REJECTED
        || r2.remaining != s->params.burst
        || !integrations_gcra_idle(&s->state, &s->params, now + r.reset))
    {
        s->bad_reset++;
    }

    if (r.reset > 0) {
        copy = s->state;
        decide(&copy, &s->params, now + r.reset - 1, s->mode, &r2);

        if ((r2.verdict != INTEGRATIONS_GCRA_REJECTED
             && r2.remaining >= s->params.burst)
            || integrations_gcra_idle(&s->state, &s->params,
                                      now + r.reset - 1))
        {
            s->bad_reset++;
        }
    }
}


static void
sim_run(sim_t *s, pattern_e pattern, uint64_t duration)
{
    int       skew;
    uint64_t  t, i, k, k1, k2, w2;

    skew = 0;

    for (t = 0; t <= duration; t++) {

        switch (pattern) {

        case PATTERN_EVERY_MS:
            sim_request(s, t);
            break;

        case PATTERN_FLOOD:
            for (i = 0; i < 20; i++) {
                sim_request(s, t);
            }
            break;

        case PATTERN_BURSTS:
            if (t % 500 == 0) {
                for (i = 0; i < 50; i++) {
                    sim_request(s, t);
                }
            }
            break;

        case PATTERN_RANDOM:
            k = rnd() % 4;
            for (i = 0; i < k; i++) {
                sim_request(s, t);
            }
            break;

        case PATTERN_SPARSE:
            sim_request(s, t);
            t += rnd() % 300;
            break;

        case PATTERN_WORKERS:

            /*
             * Two workers share the state, each with its own cached clock;
             * the second one runs up to 7 ms behind or ahead.
             */

            if (t % 50 == 0) {
                skew = (int) (rnd() % 15) - 7;
            }

            w2 = (skew < 0 && t < (uint64_t) -skew) ? 0 : t + skew;

            k1 = rnd() % 3;
            k2 = rnd() % 3;

            while (k1 + k2 > 0) {
                if (k2 == 0 || (k1 > 0 && (rnd() & 1))) {
                    sim_request(s, t);
                    k1--;

                } else {
                    sim_request(s, w2);
                    k2--;
                }
            }
            break;

        default:
            break;
        }
    }
}


/* The most points of a sorted array that fit in a closed window of w ms. */

static uint64_t
max_in_window(const uint64_t *a, size_t n, uint64_t w)
{
    size_t    i, j;
    uint64_t  best;

    best = 0;
    j = 0;

    for (i = 0; i < n; i++) {
        if (j < i) {
            j = i;
        }

        while (j < n && a[j] <= a[i] + w) {
            j++;
        }

        if (j - i > best) {
            best = j - i;
        }
    }

    return best;
}


/* Most requests waiting (admitted, not yet released) at any instant. */

static uint64_t
max_waiting(const uint64_t *at, const uint64_t *rel, size_t n)
{
    size_t     i, m;
    uint64_t   cur, best;
    uint64_t  *ev;

    ev = malloc(2 * n * sizeof(uint64_t) + 1);
    m = 0;

    /* a request waits over [at, rel); at one instant releases go first */

    for (i = 0; i < n; i++) {
        if (rel[i] > at[i]) {
            ev[m++] = at[i] * 2 + 1;
            ev[m++] = rel[i] * 2;
        }
    }

    qsort(ev, m, sizeof(uint64_t), cmp_u64);

    cur = 0;
    best = 0;

    for (i = 0; i < m; i++) {
        if (ev[i] & 1) {
            cur++;
            if (cur > best) {
                best = cur;
            }

        } else {
            cur--;
        }
    }

    free(ev);

    return best;
}


static const uint64_t  windows[] = {
    0, 1, 2, 99, 100, 101, 142, 143, 333, 334, 399, 400, 999, 1000, 1001,
    2500, 3333, 10000, 20000, 60000
};

#define NWINDOWS  (sizeof(windows) / sizeof(windows[0]))


static void
check_bounds(const char *what, uint32_t count, uint32_t period,
    uint32_t burst, integrations_gcra_mode_e mode, pattern_e pattern,
    uint64_t duration)
{
    int        tight;
    size_t     i, w;
    uint64_t   got, bound, worst_w, worst_got, worst_bound, gap;
    sim_t      s;
    uint64_t  *sorted;
    unsigned   over, over_rel, under;

    memset(&s, 0, sizeof(s));
    s.params = mkparams(count, period, burst);
    s.mode = mode;
    s.at = malloc(SIM_MAX * sizeof(uint64_t));
    s.rel = malloc(SIM_MAX * sizeof(uint64_t));
    sorted = malloc(SIM_MAX * sizeof(uint64_t));

    sim_run(&s, pattern, duration);

    ok(s.n < SIM_MAX, "%s, %s: %zu of %llu admitted", what,
       pattern_names[pattern], s.n, (unsigned long long) s.requests);

    ok(s.bad_state + s.bad_retry + s.bad_remaining + s.bad_reset
       + s.bad_delay == 0,
       "%s, %s: rejections keep state (%u), retry_after (%u), "
       "remaining (%u), reset (%u), delay (%u) all exact", what,
       pattern_names[pattern], s.bad_state, s.bad_retry, s.bad_remaining,
       s.bad_reset, s.bad_delay);

    /*
     * (1): admitted in [x, x + W] <= floor(W * count / period) + burst + 1.
     * A flood reaches it exactly for windows within the run, as long as
     * no fraction of a ms is lost between arrivals: burst * T >= 1 ms or
     * T whole.
     */

    memcpy(sorted, s.at, s.n * sizeof(uint64_t));
    qsort(sorted, s.n, sizeof(uint64_t), cmp_u64);

    tight = pattern == PATTERN_FLOOD
            && ((uint64_t) burst * period >= count || period % count == 0);

    over = 0;
    under = 0;
    worst_w = 0;
    worst_got = 0;
    worst_bound = 0;

    for (w = 0; w < NWINDOWS; w++) {
        got = max_in_window(sorted, s.n, windows[w]);
        bound = windows[w] * count / period + burst + 1;

        if (got > bound) {
            over++;
        }

        if (tight && windows[w] <= duration && got != bound) {
            under++;
        }

        if (bound - got <= worst_bound - worst_got || w == 0) {
            worst_w = windows[w];
            worst_got = got;
            worst_bound = bound;
        }
    }

    ok(over == 0, "%s, %s: admissions within floor(W/T) + burst + 1 "
       "(closest: W=%llu got %llu of %llu)", what, pattern_names[pattern],
       (unsigned long long) worst_w, (unsigned long long) worst_got,
       (unsigned long long) worst_bound);

    if (tight) {
        ok(under == 0, "%s, %s: the bound is reached for every window",
           what, pattern_names[pattern]);
    }

    if (mode != INTEGRATIONS_GCRA_DELAY) {
        goto done;
    }

    /* (2): released in [x, x + W] <= ceil((W + 1) * count / period) */

    memcpy(sorted, s.rel, s.n * sizeof(uint64_t));
    qsort(sorted, s.n, sizeof(uint64_t), cmp_u64);

    over_rel = 0;

    for (w = 0; w < NWINDOWS; w++) {
        got = max_in_window(sorted, s.n, windows[w]);
        bound = ((windows[w] + 1) * count + period - 1) / period;

        if (got > bound) {
            over_rel++;
        }
    }

    ok(over_rel == 0, "%s, %s: releases within ceil((W + 1)/T)", what,
       pattern_names[pattern]);

    if (period % count == 0) {
        gap = UINT64_MAX;

        for (i = 1; i < s.n; i++) {
            if (sorted[i] - sorted[i - 1] < gap) {
                gap = sorted[i] - sorted[i - 1];
            }
        }

        ok(s.n < 2 || gap >= period / count,
           "%s, %s: releases at least T=%u ms apart (closest %llu)", what,
           pattern_names[pattern], period / count, (unsigned long long) gap);
    }

    got = max_waiting(s.at, s.rel, s.n);

    ok(got <= burst, "%s, %s: at most burst=%u waiting at once (saw %llu)",
       what, pattern_names[pattern], burst, (unsigned long long) got);

done:

    free(s.at);
    free(s.rel);
    free(sorted);
}


static void
test_parse(void)
{
    size_t       i;
    uint32_t     count, period;
    const char  *err;

    static const struct {
        const char  *in;
        uint32_t     count;
        uint32_t     period;
    } good[] = {
        { "10r/s", 10, 1000 },
        { "600r/m", 600, 60000 },
        { "1r/s", 1, 1000 },
        { "3r/m", 3, 60000 },
        { "007r/s", 7, 1000 },
        { "1000000r/s", 1000000, 1000 },
    };

    static const char  *bad[] = {
        "", "r/s", "10", "10r", "10r/", "10r/h", "10r/ss", "10R/S", " 10r/s",
        "10r/s ", "+10r/s", "-1r/s", "1.5r/s", "10 r/s", "10r\\s", "0r/s",
        "000r/m", "1000001r/s", "4294967296r/s",
        "99999999999999999999999999999r/m", "10r/s\n"
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        count = 0;
        period = 0;

        err = integrations_gcra_parse_rate((const unsigned char *) good[i].in,
                                           strlen(good[i].in), &count,
                                           &period);

        ok(err == NULL && count == good[i].count
           && period == good[i].period,
           "parse \"%s\" -> %u per %u ms", good[i].in, count, period);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        count = 12345;
        period = 6789;

        err = integrations_gcra_parse_rate((const unsigned char *) bad[i],
                                           strlen(bad[i]), &count, &period);

        ok(err != NULL && count == 12345 && period == 6789,
           "parse rejects \"%s\" (%s), outputs untouched", bad[i],
           err ? err : "accepted");
    }

    err = integrations_gcra_parse_rate((const unsigned char *) "0r/s", 4,
                                       &count, &period);
    is_str(err, "rate must be positive", "zero rate message");

    err = integrations_gcra_parse_rate((const unsigned char *) "2000000r/s",
                                       10, &count, &period);
    is_str(err, "rate is too large", "overflow message");

    /* a byte range: only len bytes are read */

    err = integrations_gcra_parse_rate((const unsigned char *) "25r/mXYZ", 5,
                                       &count, &period);
    ok(err == NULL && count == 25 && period == 60000,
       "parse reads only len bytes");

    err = integrations_gcra_parse_rate((const unsigned char *) "25r/m", 4,
                                       &count, &period);
    ok(err != NULL, "parse of a truncated range fails");

    err = integrations_gcra_parse_rate(NULL, 0, &count, &period);
    ok(err != NULL, "parse of an empty range fails");
}


static void
test_params(void)
{
    integrations_gcra_params_t  p;

    p = mkparams(10, 1000, 0);
    ok(p.interval_ms == 100 && p.interval_frac == 0 && p.tau_ms == 0,
       "10r/s: T = 100 ms");

    p = mkparams(3, 60000, 2);
    ok(p.interval_ms == 20000 && p.interval_frac == 0 && p.tau_ms == 40000,
       "3r/m burst=2: T = 20000 ms, tau = 40000 ms");

    p = mkparams(1000, 1000, 5);
    ok(p.interval_ms == 1 && p.interval_frac == 0 && p.tau_ms == 5,
       "1000r/s: T = 1 ms");

    p = mkparams(3, 1000, 2);
    ok(p.interval_ms == 333 && p.interval_frac == 1 && p.tau_ms == 666
       && p.tau_frac == 2, "3r/s burst=2: T = 333+1/3, tau = 666+2/3");

    p = mkparams(2500, 1000, 1);
    ok(p.interval_ms == 0 && p.interval_frac == 1000 && p.tau_ms == 0
       && p.tau_frac == 1000, "2500r/s: T = 0+1000/2500 ms");

    ok(integrations_gcra_params_init(&p, 0, 1000, 0) != NULL,
       "count 0 refused");
    ok(integrations_gcra_params_init(&p, 1000001, 1000, 0) != NULL,
       "count above the maximum refused");
    ok(integrations_gcra_params_init(&p, 10, 0, 0) != NULL,
       "period 0 refused");
    ok(integrations_gcra_params_init(&p, 10, 1000, 1000001) != NULL,
       "burst above the maximum refused");
    ok(integrations_gcra_params_init(&p, 1000000, 60000, 1000000) == NULL,
       "largest count and burst accepted");
}


static void
test_nodelay(void)
{
    int                          i;
    integrations_gcra_state_t    st, before;
    integrations_gcra_params_t   p;
    integrations_gcra_result_t   r;

    /* 10r/s, no burst */

    memset(&st, 0, sizeof(st));
    p = mkparams(10, 1000, 0);

    ok(integrations_gcra_idle(&st, &p, 0), "zero state is idle");

    decide(&st, &p, 1000, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED && r.limit == 1
       && r.remaining == 0 && r.reset == 100 && r.delay == 0
       && r.retry_after == 0,
       "10r/s: first request passes, limit 1, remaining 0, reset 100");

    ok(!integrations_gcra_idle(&st, &p, 1099)
       && integrations_gcra_idle(&st, &p, 1100),
       "idle exactly T after the only request");

    before = st;
    decide(&st, &p, 1000, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 100
       && r.reset == 100 && r.remaining == 0,
       "second at once rejected, retry_after 100");
    ok(memcmp(&st, &before, sizeof(st)) == 0, "rejection left state alone");

    decide(&st, &p, 1099, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 1,
       "at 99 ms retry_after is 1");

    for (i = 0; i < 100; i++) {
        decide(&st, &p, 1050, INTEGRATIONS_GCRA_NODELAY, &r);
    }
    ok(memcmp(&st, &before, sizeof(st)) == 0,
       "100 more rejections left state alone");

    decide(&st, &p, 1100, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED, "passes at exactly T");

    /* 10r/s burst=5: six back to back, then rejected */

    memset(&st, 0, sizeof(st));
    p = mkparams(10, 1000, 5);

    for (i = 0; i < 6; i++) {
        decide(&st, &p, 5000, INTEGRATIONS_GCRA_NODELAY, &r);
        ok(r.verdict == INTEGRATIONS_GCRA_PASSED && r.limit == 6
           && r.remaining == (uint64_t) (5 - i)
           && r.reset == (uint64_t) (100 * (i + 1)),
           "burst=5: request %d passes, remaining %d, reset %d", i + 1,
           5 - i, 100 * (i + 1));
    }

    before = st;
    decide(&st, &p, 5000, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 100
       && r.reset == 600, "burst=5: 7th rejected, retry_after 100, reset 600");
    ok(memcmp(&st, &before, sizeof(st)) == 0, "and state is unchanged");

    decide(&st, &p, 5100, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED && r.remaining == 0,
       "burst=5: one more after T, remaining 0");

    decide(&st, &p, 5700, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED && r.remaining == 5,
       "burst=5: fully refilled after reset");

    /* 3r/m: T = 20 s */

    memset(&st, 0, sizeof(st));
    p = mkparams(3, 60000, 0);

    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED && r.reset == 20000,
       "3r/m: passes, reset 20000");
    decide(&st, &p, 19999, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 1,
       "3r/m: rejected 1 ms early, retry_after 1");
    decide(&st, &p, 20000, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED, "3r/m: passes at 20000");

    /* 1000r/s: T = 1 ms */

    memset(&st, 0, sizeof(st));
    p = mkparams(1000, 1000, 0);

    decide(&st, &p, 7, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED && r.reset == 1,
       "1000r/s: passes, reset 1");
    decide(&st, &p, 7, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 1,
       "1000r/s: second in the same ms rejected, retry_after 1");
    decide(&st, &p, 8, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED, "1000r/s: passes next ms");
}


static void
test_fractional(void)
{
    int                          i, bad;
    uint64_t                     t;
    integrations_gcra_state_t    st;
    integrations_gcra_params_t   p;
    integrations_gcra_result_t   r;

    /* 3r/s burst=2: T = 333.33 ms; remaining must not suffer rounding */

    memset(&st, 0, sizeof(st));
    p = mkparams(3, 1000, 2);

    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.remaining == 2 && r.reset == 334,
       "3r/s burst=2: remaining 2 (slack exactly T), reset ceil(333.3)");
    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.remaining == 1 && r.reset == 667, "remaining 1, reset 667");
    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.remaining == 0 && r.reset == 1000, "remaining 0, reset 1000");

    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 334,
       "4th rejected, retry_after ceil(333.3) = 334");
    decide(&st, &p, 333, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 1,
       "at 333 still rejected, retry_after 1");
    decide(&st, &p, 334, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED, "passes at 334");

    /* 3 per second forever, no drift: 3000 requests in exactly 1000 s */

    memset(&st, 0, sizeof(st));
    p = mkparams(3, 1000, 1);

    t = 0;
    bad = 0;

    for (i = 0; i < 3000; i++) {
        decide(&st, &p, t, INTEGRATIONS_GCRA_NODELAY, &r);

        if (r.verdict == INTEGRATIONS_GCRA_REJECTED) {
            t += r.retry_after;

            if (decide(&st, &p, t, INTEGRATIONS_GCRA_NODELAY, &r)
                == INTEGRATIONS_GCRA_REJECTED)
            {
                bad++;
            }
        }
    }

    ok(bad == 0 && st.tat_ms == 1000000 && st.tat_frac == 0,
       "3r/s: retrying at retry_after always passes, and the TAT after "
       "3000 admissions is exactly 1000 s (%llu+%u/3)",
       (unsigned long long) st.tat_ms, st.tat_frac);
    ok(t == 999334,
       "3r/s: the 3000th admission came at %llu ms", (unsigned long long) t);

    /* 2500r/s: T = 0.4 ms; a ms clock needs burst to reach the rate */

    memset(&st, 0, sizeof(st));
    p = mkparams(2500, 1000, 0);

    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 1,
       "2500r/s burst=0: second in the ms rejected, retry_after 1");

    /* 7r/s delay mode: delays round up, TAT keeps the fraction */

    memset(&st, 0, sizeof(st));
    p = mkparams(7, 1000, 3);

    decide(&st, &p, 0, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED, "7r/s: first passes");
    decide(&st, &p, 0, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_DELAYED && r.delay == 143,
       "7r/s: second delayed ceil(142.86) = 143");
    decide(&st, &p, 0, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.delay == 286, "7r/s: third delayed ceil(285.71) = 286");
    decide(&st, &p, 0, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.delay == 429, "7r/s: fourth delayed ceil(428.57) = 429");
    decide(&st, &p, 0, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 143,
       "7r/s: fifth rejected, retry_after 143");
    decide(&st, &p, 142, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 1,
       "7r/s: still rejected at 142 ms");
    decide(&st, &p, 143, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_DELAYED && r.delay == 429,
       "7r/s: at 143 ms, delayed to slot 571.43: ceil(428.43) = 429");
}


static void
test_delay(void)
{
    int                          i;
    integrations_gcra_state_t    st, before;
    integrations_gcra_params_t   p;
    integrations_gcra_result_t   r;

    memset(&st, 0, sizeof(st));
    p = mkparams(10, 1000, 5);

    decide(&st, &p, 0, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED && r.delay == 0
       && r.remaining == 5, "delay mode: first passes at once");

    for (i = 1; i < 6; i++) {
        decide(&st, &p, 0, INTEGRATIONS_GCRA_DELAY, &r);
        ok(r.verdict == INTEGRATIONS_GCRA_DELAYED
           && r.delay == (uint64_t) (100 * i)
           && r.remaining == (uint64_t) (5 - i),
           "delay mode: request %d delayed %d ms, spaced T apart", i + 1,
           100 * i);
    }

    before = st;
    decide(&st, &p, 0, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 100
       && r.delay == 0, "delay mode: past the burst rejected");
    ok(memcmp(&st, &before, sizeof(st)) == 0, "and state is unchanged");

    decide(&st, &p, 150, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_DELAYED && r.delay == 450,
       "delay mode: at 150 ms the next slot is 600 ms, delay 450");

    decide(&st, &p, 800, INTEGRATIONS_GCRA_DELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED && r.delay == 0,
       "delay mode: conforming request passes undelayed");

    /* a delayed request in nodelay mode is simply passed */

    memset(&st, 0, sizeof(st));
    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED && r.delay == 0,
       "nodelay mode: the same request passes without delay");
}


/*
 * The quota the RateLimit headers advertise: q over a whole-second w that
 * the limiter honours, and r and t consistent with it.
 */

static void
quota_after(integrations_gcra_state_t *st, const integrations_gcra_params_t *p,
    uint64_t now, integrations_gcra_quota_t *q)
{
    integrations_gcra_result_t  r;

    decide(st, p, now, INTEGRATIONS_GCRA_NODELAY, &r);
    integrations_gcra_quota(st, p, now,
                            r.verdict == INTEGRATIONS_GCRA_REJECTED, q);
}


static void
test_quota_cases(void)
{
    int                          i;
    integrations_gcra_state_t    st;
    integrations_gcra_params_t   p;
    integrations_gcra_quota_t    q;

    /* 50r/s burst=0: the case, q=1;w=1 before */

    memset(&st, 0, sizeof(st));
    p = mkparams(50, 1000, 0);

    integrations_gcra_quota(&st, &p, 1000, 0, &q);
    ok(q.quota == 50 && q.window == 1 && q.remaining == 50 && q.reset == 0,
       "50r/s: q=50;w=1, a fresh key has r=50;t=0 (%llu %llu %llu %llu)",
       (unsigned long long) q.quota, (unsigned long long) q.window,
       (unsigned long long) q.remaining, (unsigned long long) q.reset);

    quota_after(&st, &p, 1000, &q);
    ok(q.remaining == 49 && q.reset == 1,
       "50r/s: after one request r=49;t=1");

    quota_after(&st, &p, 1000, &q);
    ok(q.remaining == 0 && q.reset == 1,
       "50r/s: a second in the same ms is refused: r=0;t=1");

    for (i = 1; i < 50; i++) {
        quota_after(&st, &p, 1000 + 20 * i, &q);
    }
    ok(q.remaining == 49 && q.reset == 1,
       "50r/s: 50 requests 20 ms apart all pass, r stays 49");

    /* 100r/m burst=99 */

    memset(&st, 0, sizeof(st));
    p = mkparams(100, 60000, 99);

    integrations_gcra_quota(&st, &p, 0, 0, &q);
    ok(q.quota == 100 && q.window == 60, "100r/m burst=99: q=100;w=60");

    quota_after(&st, &p, 0, &q);
    ok(q.remaining == 99 && q.reset == 1,
       "100r/m burst=99: after one r=99;t=1 (600 ms of debt)");

    for (i = 1; i < 100; i++) {
        quota_after(&st, &p, 0, &q);
    }
    ok(q.remaining == 0 && q.reset == 60,
       "100r/m burst=99: after 100 at once r=0;t=60");

    quota_after(&st, &p, 0, &q);
    ok(q.remaining == 0 && q.reset == 60, "and the 101st is refused");

    integrations_gcra_quota(&st, &p, 60000, 0, &q);
    ok(q.remaining == 100 && q.reset == 0, "60 s later r=100;t=0");

    /* 100r/m burst=0: the window is the minute, not the 600 ms interval */

    memset(&st, 0, sizeof(st));
    p = mkparams(100, 60000, 0);

    quota_after(&st, &p, 0, &q);
    ok(q.quota == 100 && q.window == 60 && q.remaining == 99
       && q.reset == 1, "100r/m burst=0: q=100;w=60, then r=99;t=1");

    /* 1r/m burst=1: what t/rate_limit.t's "minute" zone shows */

    memset(&st, 0, sizeof(st));
    p = mkparams(1, 60000, 1);

    quota_after(&st, &p, 5000, &q);
    ok(q.quota == 2 && q.window == 120 && q.remaining == 1 && q.reset == 60,
       "1r/m burst=1: q=2;w=120, then r=1;t=60");
    quota_after(&st, &p, 5000, &q);
    ok(q.remaining == 0 && q.reset == 120, "1r/m burst=1: then r=0;t=120");
    quota_after(&st, &p, 5000, &q);
    ok(q.remaining == 0 && q.reset == 120, "1r/m burst=1: 429 r=0;t=120");

    /* small and large bursts at 10r/s */

    memset(&st, 0, sizeof(st));
    p = mkparams(10, 1000, 5);

    quota_after(&st, &p, 0, &q);
    ok(q.quota == 10 && q.window == 1 && q.remaining == 9 && q.reset == 1,
       "10r/s burst=5: q=10;w=1 (the burst comes back within 1 s), r=9");

    memset(&st, 0, sizeof(st));
    p = mkparams(10, 1000, 50);

    quota_after(&st, &p, 0, &q);
    ok(q.quota == 60 && q.window == 6 && q.remaining == 59 && q.reset == 1,
       "10r/s burst=50: q=60;w=6 (5.1 s to refill), r=59;t=1");

    for (i = 1; i < 51; i++) {
        quota_after(&st, &p, 0, &q);
    }
    ok(q.remaining == 9 && q.reset == 6,
       "10r/s burst=50: after 51 at once r=9;t=6");

    /* fractional T: 3r/s burst=2, 7r/m burst=10 */

    memset(&st, 0, sizeof(st));
    p = mkparams(3, 1000, 2);

    quota_after(&st, &p, 0, &q);
    ok(q.quota == 3 && q.window == 1 && q.remaining == 2 && q.reset == 1,
       "3r/s burst=2: q=3;w=1, r=2 exactly after 333.33 ms of debt");

    memset(&st, 0, sizeof(st));
    p = mkparams(7, 60000, 10);

    integrations_gcra_quota(&st, &p, 0, 0, &q);
    ok(q.quota == 11 && q.window == 95,
       "7r/m burst=10: w=95 (94.3 s to refill), q=floor(11.08)=11");

    /* the largest parameters do not overflow */

    memset(&st, 0, sizeof(st));
    p = mkparams(1000000, 60000, 1000000);

    quota_after(&st, &p, 0, &q);
    ok(q.window == 61 && q.quota == 1016666 && q.remaining == 1016665,
       "1000000r/m burst=1000000: w=61, q=1016666, r=1016665");

    memset(&st, 0, sizeof(st));
    p = mkparams(1, 86400000, 1000000);

    quota_after(&st, &p, 0, &q);
    ok(q.window == 86400086400ULL && q.quota == 1000001
       && q.remaining == 1000000 && q.reset == 86400,
       "1 a day burst=1000000: q=1000001 over 86400086400 s");

    /* a TAT far ahead (a reload that lowered the rate): r=0, no overflow */

    st.tat_ms = 1ULL << 61;
    st.tat_frac = 0;
    p = mkparams(1000000, 1000, 0);

    integrations_gcra_quota(&st, &p, 0, 0, &q);
    ok(q.remaining == 0 && q.reset == ((1ULL << 61) + 999) / 1000,
       "a TAT 2^61 ms ahead: r=0, t its distance");
}


/* Properties over many configurations and arrival patterns. */

static void
test_quota_properties(void)
{
    int                          k;
    size_t                       c, i;
    uint64_t                     now, pace, w_ms, t_scaled;
    unsigned                     bad_bounds, bad_honoured, bad_reset;
    integrations_gcra_state_t    st, copy;
    integrations_gcra_params_t   p;
    integrations_gcra_result_t   r;
    integrations_gcra_quota_t    q, q2;

    static const struct {
        uint32_t  count, period, burst;
    } cfg[] = {
        { 1, 1000, 0 }, { 3, 1000, 0 }, { 50, 1000, 0 }, { 7, 1000, 3 },
        { 10, 1000, 5 }, { 10, 1000, 50 }, { 1000, 1000, 0 },
        { 2500, 1000, 7 }, { 1, 60000, 0 }, { 1, 60000, 1 },
        { 7, 60000, 10 }, { 100, 60000, 0 }, { 100, 60000, 99 },
        { 600, 60000, 5 }, { 999, 60000, 2000 }
    };

    bad_bounds = 0;
    bad_honoured = 0;
    bad_reset = 0;

    for (c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
        p = mkparams(cfg[c].count, cfg[c].period, cfg[c].burst);

        memset(&st, 0, sizeof(st));
        integrations_gcra_quota(&st, &p, 0, 0, &q);

        w_ms = q.window * 1000;

        /* q T <= W: the advertised pace is one the rate allows */

        if (q.quota < cfg[c].count || q.quota < (uint64_t) cfg[c].burst + 1
            || q.quota * cfg[c].period > w_ms * cfg[c].count
            || (q.quota + 1) * cfg[c].period <= w_ms * cfg[c].count
            || q.remaining != q.quota)
        {
            bad_bounds++;
        }

        /* three windows at the advertised pace from a fresh key: all pass */

        pace = (w_ms + q.quota - 1) / q.quota;
        now = 0;

        for (i = 0; i < 3 * q.quota && i < 20000; i++) {
            if (decide(&st, &p, now, INTEGRATIONS_GCRA_NODELAY, &r)
                == INTEGRATIONS_GCRA_REJECTED)
            {
                bad_honoured++;
                break;
            }

            now += pace;
        }

        /* random arrivals: r and t within bounds, and consistent */

        memset(&st, 0, sizeof(st));
        now = 1000000;

        for (i = 0; i < 20000; i++) {
            now += rnd() % (2 * (cfg[c].period / cfg[c].count) + 2);

            decide(&st, &p, now, INTEGRATIONS_GCRA_NODELAY, &r);
            integrations_gcra_quota(&st, &p, now,
                                    r.verdict == INTEGRATIONS_GCRA_REJECTED,
                                    &q);

            if (q.remaining > q.quota
                || (r.verdict != INTEGRATIONS_GCRA_REJECTED
                    && (q.remaining >= q.quota || q.reset > q.window
                        || q.reset == 0))
                || (r.verdict == INTEGRATIONS_GCRA_REJECTED
                    && q.remaining != 0))
            {
                bad_bounds++;
            }

            /* r is floor((W - d) / T): r T <= W - d < (r + 1) T */

            t_scaled = st.tat_ms * cfg[c].count + st.tat_frac
                       - now * cfg[c].count;

            if (r.verdict != INTEGRATIONS_GCRA_REJECTED
                && (q.remaining * cfg[c].period
                        > w_ms * cfg[c].count - t_scaled
                    || (q.remaining + 1) * cfg[c].period
                        <= w_ms * cfg[c].count - t_scaled))
            {
                bad_bounds++;
            }

            /* t s later the key is fresh, and not a second earlier */

            integrations_gcra_quota(&st, &p, now + q.reset * 1000, 0, &q2);

            if (q2.remaining != q2.quota || q2.reset != 0) {
                bad_reset++;
            }

            if (q.reset > 0) {
                integrations_gcra_quota(&st, &p, now + q.reset * 1000 - 1000,
                                        0, &q2);
                if (q2.reset == 0) {
                    bad_reset++;
                }
            }

            /* the next r at the advertised pace all pass */

            if (i % 97 == 0 && r.verdict != INTEGRATIONS_GCRA_REJECTED) {
                copy = st;

                for (k = 1; k <= (int) q.remaining && k < 5000; k++) {
                    if (decide(&copy, &p, now + k * pace,
                               INTEGRATIONS_GCRA_NODELAY, &r)
                        == INTEGRATIONS_GCRA_REJECTED)
                    {
                        bad_honoured++;
                        break;
                    }
                }
            }
        }
    }

    ok(bad_bounds == 0,
       "quota: q T <= W < (q + 1) T, r = floor((W - d) / T) <= q, "
       "t <= w (%u bad)", bad_bounds);
    ok(bad_honoured == 0,
       "quota: requests at the advertised pace are never refused (%u bad)",
       bad_honoured);
    ok(bad_reset == 0, "quota: t s later the whole quota is back (%u bad)",
       bad_reset);
}


static void
test_odd_states(void)
{
    integrations_gcra_state_t    st, before;
    integrations_gcra_params_t   p;
    integrations_gcra_result_t   r;

    /* a lagging worker clock: "now" before the last decision */

    memset(&st, 0, sizeof(st));
    p = mkparams(10, 1000, 0);

    decide(&st, &p, 10000, INTEGRATIONS_GCRA_NODELAY, &r);
    decide(&st, &p, 9995, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 105
       && r.reset == 105, "clock 5 ms behind: rejected, retry_after 105");

    /* a state far in the future must not overflow anything */

    st.tat_ms = UINT64_MAX / 2;
    st.tat_frac = 0;
    before = st;
    decide(&st, &p, 0, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED
       && r.retry_after == UINT64_MAX / 2 && r.reset == UINT64_MAX / 2
       && memcmp(&st, &before, sizeof(st)) == 0,
       "TAT far ahead: rejected with the plain difference, state kept");

    /* a fraction left by a higher count (reload from 3r/s to 1r/s) */

    st.tat_ms = 1000;
    st.tat_frac = 2;
    p = mkparams(1, 1000, 0);

    ok(!integrations_gcra_idle(&st, &p, 1000)
       && integrations_gcra_idle(&st, &p, 1001),
       "stale fraction reads as one more ms");

    decide(&st, &p, 1000, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_REJECTED && r.retry_after == 1,
       "stale fraction: rejected at 1000, retry_after 1");
    decide(&st, &p, 1001, INTEGRATIONS_GCRA_NODELAY, &r);
    ok(r.verdict == INTEGRATIONS_GCRA_PASSED && st.tat_ms == 2001
       && st.tat_frac == 0, "stale fraction: passes at 1001, TAT 2001+0");

    is_str(integrations_gcra_verdict_str(INTEGRATIONS_GCRA_PASSED), "PASSED",
           "verdict string PASSED");
    is_str(integrations_gcra_verdict_str(INTEGRATIONS_GCRA_DELAYED),
           "DELAYED", "verdict string DELAYED");
    is_str(integrations_gcra_verdict_str(INTEGRATIONS_GCRA_REJECTED),
           "REJECTED", "verdict string REJECTED");

    is_int(sizeof(integrations_gcra_state_t), 16, "state is 16 bytes");
}


static void
test_bounds(void)
{
    int         pat, mode;
    size_t      i;
    const char  *modes[] = { "nodelay", "delay" };
    char         what[64];

    static const struct {
        uint32_t  count;
        uint32_t  period;
        uint32_t  burst;
        uint64_t  duration;
    } cfg[] = {
        { 10, 1000, 0, 10000 },
        { 10, 1000, 5, 10000 },
        { 3, 1000, 2, 10000 },
        { 7, 1000, 1, 10000 },
        { 1000, 1000, 10, 10000 },
        { 2500, 1000, 3, 10000 },
        { 600, 60000, 4, 10000 },
        { 3, 60000, 1, 180000 },
    };

    for (i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
        for (mode = 0; mode < 2; mode++) {
            for (pat = 0; pat < PATTERN_LAST; pat++) {
                snprintf(what, sizeof(what), "%u%s burst=%u %s",
                         cfg[i].count, cfg[i].period == 1000 ? "r/s" : "r/m",
                         cfg[i].burst, modes[mode]);

                check_bounds(what, cfg[i].count, cfg[i].period, cfg[i].burst,
                             mode ? INTEGRATIONS_GCRA_DELAY
                                  : INTEGRATIONS_GCRA_NODELAY,
                             pat, cfg[i].duration);
            }
        }
    }
}


int
main(void)
{
    /* tap.h helpers this file does not need */
    (void) tap_vector_path;
    (void) tap_slurp;

    test_parse();
    test_params();
    test_nodelay();
    test_fractional();
    test_delay();
    test_odd_states();
    test_quota_cases();
    test_quota_properties();
    test_bounds();

    return done_testing();
}
