/*
 * Unit tests of the circuit breaker core with an explicit clock.
 */

#include "tap.h"
#include "integrations_breaker.h"

#include <stdint.h>


#define S_CLOSED     INTEGRATIONS_BREAKER_CLOSED
#define S_OPEN       INTEGRATIONS_BREAKER_OPEN
#define S_HALF       INTEGRATIONS_BREAKER_HALF_OPEN

#define V_ALLOW      INTEGRATIONS_BREAKER_ALLOW
#define V_PROBE      INTEGRATIONS_BREAKER_ALLOW_PROBE
#define V_REJECT     INTEGRATIONS_BREAKER_REJECT

#define O_OK         INTEGRATIONS_BREAKER_SUCCESS
#define O_CONNECT    INTEGRATIONS_BREAKER_CONNECT_ERROR
#define O_TIMEOUT    INTEGRATIONS_BREAKER_TIMEOUT
#define O_STATUS     INTEGRATIONS_BREAKER_STATUS


typedef integrations_breaker_state_t       state_t;
typedef integrations_breaker_conf_t        conf_t;
typedef integrations_breaker_decision_t    decision_t;
typedef integrations_breaker_transition_t  transition_t;


static uint64_t  rnd_state = 0x9e3779b97f4a7c15ULL;


static uint64_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;

    return rnd_state;
}


static conf_t
mkconf(void)
{
    conf_t  c;

    integrations_breaker_conf_init(&c);

    return c;
}


/* Everything but the statistics: what stale outcomes must not touch. */

static int
same_state(const state_t *a, const state_t *b)
{
    state_t  x, y;

    x = *a;
    y = *b;
    memset(&x.stats, 0, sizeof(x.stats));
    memset(&y.stats, 0, sizeof(y.stats));

    return memcmp(&x, &y, sizeof(x)) == 0;
}


/* One complete call: acquire, then record if allowed.  Returns verdict. */

static int
call(state_t *st, const conf_t *c, uint64_t now,
    integrations_breaker_outcome_e o, uint64_t duration, transition_t *tr)
{
    decision_t    d;
    transition_t  dummy;

    integrations_breaker_acquire(st, c, now, &d);

    if (d.verdict != V_REJECT) {
        integrations_breaker_record(st, c, now + duration, d.ticket, o,
                                    duration, tr ? tr : &dummy);
    }

    return d.verdict;
}


static void
fail_n(state_t *st, const conf_t *c, uint64_t now, int n, transition_t *tr)
{
    int  i;

    for (i = 0; i < n; i++) {
        call(st, c, now, O_CONNECT, 0, tr);
    }
}


static void
test_conf(void)
{
    conf_t  c;

    c = mkconf();
    ok(c.failures == 5 && c.failure_rate == 50 && c.window == 10000
       && c.min_calls == 20 && c.slow == 0 && c.open_time == 30000
       && c.max_open == 300000 && c.half_open == 1, "defaults");
    ok(integrations_breaker_conf_check(&c) == NULL, "defaults are valid");

    c = mkconf();
    c.failure_rate = 101;
    ok(integrations_breaker_conf_check(&c) != NULL, "failure_rate 101");

    c = mkconf();
    c.failure_rate = 0;
    c.slow = 500;
    ok(integrations_breaker_conf_check(&c) != NULL,
       "slow without failure_rate");

    c = mkconf();
    c.failure_rate = 0;
    ok(integrations_breaker_conf_check(&c) == NULL,
       "failure_rate 0 (rate trips off) is valid");

    c = mkconf();
    c.min_calls = 0;
    ok(integrations_breaker_conf_check(&c) != NULL, "min_calls 0");

    c = mkconf();
    c.window = 9;
    ok(integrations_breaker_conf_check(&c) != NULL, "window of 9 ms");

    c = mkconf();
    c.half_open = 0;
    ok(integrations_breaker_conf_check(&c) != NULL, "half_open 0");

    c = mkconf();
    c.open_time = 0;
    ok(integrations_breaker_conf_check(&c) != NULL, "open time 0");

    c = mkconf();
    c.max_open = 29999;
    ok(integrations_breaker_conf_check(&c) != NULL,
       "max_open below open time");

    c = mkconf();
    c.max_open = INTEGRATIONS_BREAKER_MAX_TIME + 1;
    ok(integrations_breaker_conf_check(&c) != NULL, "max_open too large");

    c = mkconf();
    c.window = UINT64_MAX;
    ok(integrations_breaker_conf_check(&c) != NULL, "window too large");

    ok(sizeof(state_t) % 8 == 0 && sizeof(state_t) <= 512,
       "state is %zu bytes, a multiple of 8", sizeof(state_t));
}


static void
test_consecutive(void)
{
    int           i;
    conf_t        c;
    state_t       st, before;
    decision_t    d;
    transition_t  tr;

    c = mkconf();
    memset(&st, 0, sizeof(st));

    integrations_breaker_acquire(&st, &c, 1000, &d);
    ok(d.verdict == V_ALLOW && d.retry_after == 0
       && !integrations_breaker_is_probe(d.ticket)
       && d.transition.reason == INTEGRATIONS_BREAKER_NONE,
       "zero state: closed, allows");

    is_int(integrations_breaker_record(&st, &c, 1000, d.ticket, O_OK, 5, &tr),
           0, "success: no transition");

    fail_n(&st, &c, 1000, 4, &tr);
    ok(st.state == S_CLOSED && st.consecutive == 4,
       "4 failures in a row: still closed");

    call(&st, &c, 1000, O_OK, 0, &tr);
    ok(st.consecutive == 0, "a success resets the count");

    call(&st, &c, 1000, O_CONNECT, 0, &tr);
    call(&st, &c, 1000, O_TIMEOUT, 0, &tr);
    call(&st, &c, 1000, O_STATUS, 0, &tr);
    call(&st, &c, 1000, O_STATUS, 0, &tr);
    ok(st.state == S_CLOSED && tr.reason == INTEGRATIONS_BREAKER_NONE,
       "4 mixed failures: closed");

    integrations_breaker_acquire(&st, &c, 2000, &d);
    is_int(integrations_breaker_record(&st, &c, 2000, d.ticket, O_TIMEOUT, 0,
                                       &tr), 1, "5th failure: transition");
    ok(st.state == S_OPEN && tr.reason == INTEGRATIONS_BREAKER_CONSECUTIVE
       && tr.from == S_CLOSED && tr.to == S_OPEN && tr.count == 5
       && tr.open_for == 30000,
       "closed -> open: 5 consecutive failures, next probe in 30s");
    is_str(integrations_breaker_reason_str(tr.reason), "consecutive failures",
           "reason string");

    ok(st.stats.transitions == 1 && st.stats.opened == 1
       && st.stats.connect_errors == 5 && st.stats.timeouts == 2
       && st.stats.status_errors == 2 && st.stats.successes == 2,
       "counters: transitions, failures by cause, successes");

    /* open */

    integrations_breaker_acquire(&st, &c, 2001, &d);
    ok(d.verdict == V_REJECT && d.retry_after == 29999,
       "open: rejected, retry_after 29999");

    integrations_breaker_acquire(&st, &c, 31999, &d);
    ok(d.verdict == V_REJECT && d.retry_after == 1,
       "open: 1 ms before the probe, retry_after 1");
    is_int(st.stats.rejected, 2, "short-circuited count");

    before = st;
    ok(integrations_breaker_current(&st, 31999) == S_OPEN
       && integrations_breaker_current(&st, 32000) == S_HALF
       && memcmp(&st, &before, sizeof(st)) == 0,
       "current(): open turns half_open at open_until, read-only");

    /* half-open */

    integrations_breaker_acquire(&st, &c, 32000, &d);
    ok(d.verdict == V_PROBE && integrations_breaker_is_probe(d.ticket)
       && d.transition.reason == INTEGRATIONS_BREAKER_OPEN_ELAPSED
       && d.transition.from == S_OPEN && d.transition.to == S_HALF
       && st.state == S_HALF && st.probes == 1,
       "open -> half_open at open_until; this call is the probe");

    for (i = 0; i < 3; i++) {
        decision_t  d2;

        integrations_breaker_acquire(&st, &c, 32001, &d2);
        ok(d2.verdict == V_REJECT
           && d2.retry_after == INTEGRATIONS_BREAKER_BUSY_RETRY
           && d2.transition.reason == INTEGRATIONS_BREAKER_NONE,
           "half_open=1: call %d during the probe rejected", i + 1);
    }

    is_int(integrations_breaker_record(&st, &c, 32100, d.ticket, O_OK, 100,
                                       &tr), 1, "probe success: transition");
    ok(st.state == S_CLOSED && tr.reason == INTEGRATIONS_BREAKER_PROBE_SUCCEEDED
       && tr.from == S_HALF && tr.to == S_CLOSED && st.consecutive == 0
       && st.probes == 0 && st.open_for == 0,
       "half_open -> closed: probe succeeded, counters reset");
    is_int(st.stats.transitions, 3, "three transitions so far");

    fail_n(&st, &c, 40000, 5, &tr);
    ok(st.state == S_OPEN && tr.open_for == 30000,
       "reopened after closing: open time back to 30s");

    /* failures = 0 switches the consecutive trip off */

    c = mkconf();
    c.failures = 0;
    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 19, &tr);
    ok(st.state == S_CLOSED && st.consecutive == 19,
       "failures=0: 19 in a row do not trip (min_calls 20)");
}


static void
test_backoff(void)
{
    int           i;
    conf_t        c;
    state_t       st;
    uint64_t      now;
    decision_t    d;
    transition_t  tr;

    static const uint64_t  expect[] = {
        30000, 60000, 120000, 240000, 300000, 300000, 300000
    };

    c = mkconf();
    memset(&st, 0, sizeof(st));

    now = 0;
    fail_n(&st, &c, now, 5, &tr);

    for (i = 0; i < 7; i++) {
        ok(st.state == S_OPEN && st.open_for == expect[i]
           && st.open_until == now + expect[i],
           "open #%d lasts %llu ms", i + 1, (unsigned long long) expect[i]);

        if (i > 0) {
            ok(tr.reason == INTEGRATIONS_BREAKER_PROBE_FAILED
               && tr.from == S_HALF && tr.to == S_OPEN
               && tr.open_for == expect[i],
               "half_open -> open: probe failed, next probe in %llu ms",
               (unsigned long long) expect[i]);
        }

        integrations_breaker_acquire(&st, &c, now, &d);
        ok(d.verdict == V_REJECT && d.retry_after == expect[i],
           "retry_after %llu", (unsigned long long) d.retry_after);

        now += expect[i];

        integrations_breaker_acquire(&st, &c, now, &d);
        ok(d.verdict == V_PROBE, "probe admitted after %llu ms",
           (unsigned long long) expect[i]);

        if (i < 6) {
            integrations_breaker_record(&st, &c, now, d.ticket, O_TIMEOUT, 0,
                                        &tr);
        }
    }

    integrations_breaker_record(&st, &c, now, d.ticket, O_OK, 0, &tr);
    ok(st.state == S_CLOSED && st.open_for == 0, "probe success closes");

    fail_n(&st, &c, now, 5, &tr);
    ok(st.open_for == 30000, "and the next open is back to the base 30s");

    /* a reload lowering max_open caps the stored open time */

    memset(&st, 0, sizeof(st));
    st.state = S_HALF;
    st.open_for = 240000;
    c.max_open = 100000;

    integrations_breaker_acquire(&st, &c, 0, &d);
    integrations_breaker_record(&st, &c, 0, d.ticket, O_STATUS, 0, &tr);
    ok(st.state == S_OPEN && st.open_for == 100000,
       "max_open lowered by a reload caps the doubling");

    /* an open time that does not divide max_open still stops at the cap */

    c = mkconf();
    c.open_time = 7000;
    c.max_open = 50000;
    memset(&st, 0, sizeof(st));
    now = 0;
    fail_n(&st, &c, now, 5, &tr);

    for (i = 0; i < 4; i++) {
        now = st.open_until;
        integrations_breaker_acquire(&st, &c, now, &d);
        integrations_breaker_record(&st, &c, now, d.ticket, O_CONNECT, 0, &tr);
    }

    ok(st.open_for == 50000, "7s, 14s, 28s, 50s (capped), 50s: %llu",
       (unsigned long long) st.open_for);
}


static void
test_probes(void)
{
    conf_t        c;
    state_t       st, before;
    uint64_t      t1, t2, t3, t4, old;
    decision_t    d;
    transition_t  tr;

    /* half_open = 3 */

    c = mkconf();
    c.half_open = 3;
    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 5, &tr);

    integrations_breaker_acquire(&st, &c, 30000, &d);
    t1 = d.ticket;
    ok(d.verdict == V_PROBE && st.probes == 1, "probe 1 of 3");
    integrations_breaker_acquire(&st, &c, 30001, &d);
    t2 = d.ticket;
    ok(d.verdict == V_PROBE && st.probes == 2, "probe 2 of 3");
    integrations_breaker_acquire(&st, &c, 30002, &d);
    t3 = d.ticket;
    ok(d.verdict == V_PROBE && st.probes == 3, "probe 3 of 3");
    integrations_breaker_acquire(&st, &c, 30003, &d);
    ok(d.verdict == V_REJECT && st.probes == 3, "4th call rejected");

    is_int(integrations_breaker_release_probe(&st, t2), 1,
           "release of probe 2 frees its slot");
    ok(st.probes == 2 && st.stats.released == 1, "2 probes in flight");

    integrations_breaker_acquire(&st, &c, 30004, &d);
    t4 = d.ticket;
    ok(d.verdict == V_PROBE && st.probes == 3, "freed slot admits a probe");

    is_int(integrations_breaker_record(&st, &c, 30100, t1, O_OK, 100, &tr), 1,
           "probe 1 succeeds: transition");
    ok(st.state == S_CLOSED && st.probes == 0, "first probe outcome closes");

    before = st;
    is_int(integrations_breaker_record(&st, &c, 30200, t3, O_TIMEOUT, 200,
                                       &tr), 0, "late probe 3 failure: none");
    is_int(integrations_breaker_record(&st, &c, 30200, t4, O_CONNECT, 200,
                                       &tr), 0, "late probe 4 failure: none");
    is_int(integrations_breaker_release_probe(&st, t4), 0,
           "late release: nothing to free");
    ok(same_state(&st, &before) && st.stats.stale == 2
       && st.stats.timeouts == 1 && st.stats.connect_errors == 6,
       "late probe outcomes only counted as stale");

    /* half_open = 1, release and repeated release */

    c = mkconf();
    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 5, &tr);

    integrations_breaker_acquire(&st, &c, 30000, &d);
    t1 = d.ticket;
    is_int(integrations_breaker_release_probe(&st, t1), 1,
           "client gone: probe released");
    is_int(integrations_breaker_release_probe(&st, t1), 0,
           "second release: nothing to free");
    ok(st.state == S_HALF && st.probes == 0, "still half_open, no probes");

    integrations_breaker_acquire(&st, &c, 30500, &d);
    ok(d.verdict == V_PROBE && d.transition.reason == INTEGRATIONS_BREAKER_NONE,
       "next call becomes the probe, no transition");
    t2 = d.ticket;

    integrations_breaker_acquire(&st, &c, 30500, &d);
    is_int(integrations_breaker_release_probe(&st, d.ticket & ~1ULL), 0,
           "release with a non-probe ticket: nothing");
    ok(st.probes == 1, "probe count intact");

    integrations_breaker_record(&st, &c, 31000, t2, O_STATUS, 500, &tr);
    ok(st.state == S_OPEN && tr.reason == INTEGRATIONS_BREAKER_PROBE_FAILED
       && tr.open_for == 60000, "probe failed: open for 60s");
    is_int(integrations_breaker_release_probe(&st, t2), 0,
           "release after the probe decided: nothing");

    /* lost probes are written off after max_open */

    c = mkconf();
    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 5, &tr);

    integrations_breaker_acquire(&st, &c, 30000, &d);
    old = d.ticket;

    integrations_breaker_acquire(&st, &c, 30000 + 299999, &d);
    ok(d.verdict == V_REJECT, "probe out 299999 ms: still waiting for it");

    integrations_breaker_acquire(&st, &c, 30000 + 300000, &d);
    ok(d.verdict == V_PROBE
       && d.transition.reason == INTEGRATIONS_BREAKER_PROBES_LOST
       && d.transition.count == 1 && d.transition.from == S_HALF
       && d.transition.to == S_HALF && st.stats.lost == 1
       && st.stats.transitions == 2,
       "probe out max_open: written off, a new probe admitted");
    ok(d.ticket != old, "with a new ticket");
    t1 = d.ticket;

    before = st;
    is_int(integrations_breaker_release_probe(&st, old), 0,
           "the lost probe's late release frees nothing");
    is_int(integrations_breaker_record(&st, &c, 330001, old, O_OK, 300001,
                                       &tr), 0,
           "the lost probe's late success does not close");
    ok(same_state(&st, &before) && st.probes == 1, "and changes nothing");

    integrations_breaker_record(&st, &c, 330002, t1, O_OK, 2, &tr);
    ok(st.state == S_CLOSED, "the new probe's success closes");

    /* a lagging clock does not write probes off */

    c = mkconf();
    memset(&st, 0, sizeof(st));
    st.state = S_HALF;
    st.probes = 1;
    st.probe_at = 500000;

    integrations_breaker_acquire(&st, &c, 100000, &d);
    ok(d.verdict == V_REJECT && st.probes == 1,
       "probe_at ahead of now: not written off");

    /* slow probe */

    c = mkconf();
    c.slow = 1000;
    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 5, &tr);

    integrations_breaker_acquire(&st, &c, 30000, &d);
    integrations_breaker_record(&st, &c, 31000, d.ticket, O_OK, 1000, &tr);
    ok(st.state == S_CLOSED, "probe of exactly slow ms is not slow: closes");

    fail_n(&st, &c, 40000, 5, &tr);
    integrations_breaker_acquire(&st, &c, 70000, &d);
    integrations_breaker_record(&st, &c, 71001, d.ticket, O_OK, 1001, &tr);
    ok(st.state == S_OPEN && tr.reason == INTEGRATIONS_BREAKER_PROBE_SLOW
       && tr.open_for == 60000, "slow successful probe reopens, doubled");
}


static void
test_stale(void)
{
    int           i;
    conf_t        c;
    state_t       st, before;
    uint64_t      early[10], t;
    decision_t    d;
    transition_t  tr;

    c = mkconf();
    memset(&st, 0, sizeof(st));

    /* ten calls start while closed, then the breaker opens */

    for (i = 0; i < 10; i++) {
        integrations_breaker_acquire(&st, &c, 0, &d);
        early[i] = d.ticket;
    }

    fail_n(&st, &c, 10, 5, &tr);
    ok(st.state == S_OPEN, "opened with ten calls in flight");

    before = st;

    for (i = 0; i < 5; i++) {
        is_int(integrations_breaker_record(&st, &c, 100, early[i],
                                           i % 2 ? O_OK : O_TIMEOUT, 90, &tr),
               0, "outcome %d while open: no transition", i);
    }

    ok(same_state(&st, &before) && st.stats.stale == 5,
       "outcomes while open change nothing but the stats");

    integrations_breaker_acquire(&st, &c, 30010, &d);
    t = d.ticket;
    before = st;

    integrations_breaker_record(&st, &c, 30020, early[5], O_OK, 30020, &tr);
    integrations_breaker_record(&st, &c, 30020, early[6], O_OK, 30020, &tr);
    ok(same_state(&st, &before) && st.state == S_HALF && st.probes == 1,
       "successes of old calls while half_open do not close it");

    integrations_breaker_record(&st, &c, 30030, t, O_OK, 20, &tr);
    ok(st.state == S_CLOSED, "the probe closes it");

    before = st;
    integrations_breaker_record(&st, &c, 30040, early[7], O_CONNECT, 1, &tr);
    integrations_breaker_record(&st, &c, 30040, early[8], O_CONNECT, 1, &tr);
    integrations_breaker_record(&st, &c, 30040, early[9], O_CONNECT, 1, &tr);
    ok(same_state(&st, &before) && st.consecutive == 0,
       "failures of calls from before the opening do not count after it");

    ok(st.stats.stale == 10, "all ten counted stale");

    /* a plain ticket presented as a probe, and the reverse */

    c = mkconf();
    memset(&st, 0, sizeof(st));
    integrations_breaker_acquire(&st, &c, 0, &d);
    before = st;
    integrations_breaker_record(&st, &c, 0, d.ticket | 1, O_OK, 0, &tr);
    ok(same_state(&st, &before), "probe bit on a closed ticket: stale");

    /* an unknown state value recovers to closed */

    memset(&st, 0, sizeof(st));
    st.state = 77;
    integrations_breaker_acquire(&st, &c, 0, &d);
    ok(d.verdict == V_ALLOW && st.state == S_CLOSED,
       "garbage state recovers to closed");
    is_int(integrations_breaker_current(&st, 0), S_CLOSED, "current closed");
}


static void
test_rate(void)
{
    int           i;
    conf_t        c;
    state_t       st;
    transition_t  tr;

    c = mkconf();
    c.failures = 0;

    /* min_calls: 19 failures are not enough, the 20th trips */

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 19, &tr);
    ok(st.state == S_CLOSED, "19 calls, 100%% failed: below min_calls");

    fail_n(&st, &c, 0, 1, &tr);
    ok(st.state == S_OPEN && tr.reason == INTEGRATIONS_BREAKER_FAILURE_RATE
       && tr.count == 20 && tr.calls == 20 && tr.open_for == 30000,
       "20th call: failure rate 20/20");

    /* exactly at the rate: 51 successes, then failures */

    memset(&st, 0, sizeof(st));

    for (i = 0; i < 51; i++) {
        call(&st, &c, 0, O_OK, 0, &tr);
    }

    fail_n(&st, &c, 0, 50, &tr);
    ok(st.state == S_CLOSED, "50 of 101 failed: 49.5%%, closed");

    fail_n(&st, &c, 0, 1, &tr);
    ok(st.state == S_OPEN && tr.count == 51 && tr.calls == 102,
       "51 of 102: exactly 50%%, open");

    /* a success can trip it too: the rate is what counts */

    memset(&st, 0, sizeof(st));

    for (i = 0; i < 19; i++) {
        call(&st, &c, 0, i % 2 ? O_OK : O_STATUS, 0, &tr);
    }

    ok(st.state == S_CLOSED, "10 of 19 failed: below min_calls");
    call(&st, &c, 0, O_OK, 0, &tr);
    ok(st.state == S_OPEN && tr.count == 10 && tr.calls == 20,
       "a success as 20th call: 10 of 20, open");

    /* min_calls = 1 */

    c.min_calls = 1;
    memset(&st, 0, sizeof(st));
    call(&st, &c, 0, O_OK, 0, &tr);
    ok(st.state == S_CLOSED, "min_calls=1: a success stays closed");
    call(&st, &c, 0, O_TIMEOUT, 0, &tr);
    ok(st.state == S_OPEN && tr.calls == 2, "min_calls=1: 1 of 2 opens");

    /* failure_rate = 0: rate trips off, even at 100% */

    c = mkconf();
    c.failures = 0;
    c.failure_rate = 0;
    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 1000, &tr);
    ok(st.state == S_CLOSED, "failure_rate=0, failures=0: never opens");

    /* 100% */

    c = mkconf();
    c.failures = 0;
    c.failure_rate = 100;
    memset(&st, 0, sizeof(st));
    call(&st, &c, 0, O_OK, 0, &tr);
    fail_n(&st, &c, 0, 100, &tr);
    ok(st.state == S_CLOSED, "failure_rate=100: one success keeps it closed");
}


static void
test_window(void)
{
    conf_t        c;
    state_t       st;
    transition_t  tr;

    c = mkconf();
    c.failures = 0;

    /* width 1000: at 9999 the bucket of 0..999 is still in the window */

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 15, &tr);
    fail_n(&st, &c, 9999, 4, &tr);
    ok(st.state == S_CLOSED, "15 at 0 + 4 at 9999: 19 calls");
    fail_n(&st, &c, 9999, 1, &tr);
    ok(st.state == S_OPEN && tr.calls == 20, "20th at 9999 counts all");

    /* at 10000 it has expired */

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 999, 15, &tr);
    fail_n(&st, &c, 10000, 5, &tr);
    ok(st.state == S_CLOSED, "15 at 999 expired by 10000: 5 calls only");
    fail_n(&st, &c, 10000, 14, &tr);
    ok(st.state == S_CLOSED, "19 in the window");
    fail_n(&st, &c, 10000, 1, &tr);
    ok(st.state == S_OPEN && tr.calls == 20, "the 20th trips");

    /* expired while another slot is written */

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 15, &tr);
    fail_n(&st, &c, 11000, 5, &tr);
    ok(st.state == S_CLOSED && st.buckets[0].calls == 15,
       "bucket 11 epochs old is not counted");

    /* the reused slot is cleared, not added to */

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 500, 19, &tr);
    fail_n(&st, &c, 10500, 1, &tr);
    ok(st.state == S_CLOSED && st.buckets[0].calls == 1
       && st.buckets[0].epoch == 10, "slot of epoch 0 reused by epoch 10");

    /* calls spread over the window, one per 500 ms */

    memset(&st, 0, sizeof(st));
    {
        int       i;
        uint64_t  now;

        for (i = 0, now = 0; i < 40; i++, now += 500) {
            call(&st, &c, now, i % 2 ? O_STATUS : O_OK, 0, &tr);
        }

        ok(st.state == S_OPEN, "every 2nd of calls 500 ms apart fails: open");
    }

    /* lagging worker: a bucket ahead of its clock still counts */

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 5000, 19, &tr);
    fail_n(&st, &c, 4999, 1, &tr);
    ok(st.state == S_OPEN && tr.calls == 20,
       "record at 4999 after 19 at 5000: all 20 counted");

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 15000, 10, &tr);
    fail_n(&st, &c, 14999, 9, &tr);
    ok(st.state == S_CLOSED && st.buckets[4].epoch == 14
       && st.buckets[5].epoch == 15, "lagging writer uses its own bucket");
    fail_n(&st, &c, 14999, 1, &tr);
    ok(st.state == S_OPEN, "and both buckets count");

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 15000, 10, &tr);
    fail_n(&st, &c, 5000, 1, &tr);
    ok(st.buckets[5].epoch == 15 && st.buckets[5].calls == 11,
       "a writer a whole window behind adds to the newer bucket");

    /* closing clears the window, even when it is longer than open time */

    c.open_time = 1000;
    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 20, &tr);
    ok(st.state == S_OPEN, "rate trip with a 1 s open time");
    call(&st, &c, 1000, O_OK, 0, &tr);
    ok(st.state == S_CLOSED, "probe closes at 1000");
    fail_n(&st, &c, 1000, 19, &tr);
    ok(st.state == S_CLOSED, "19 new failures: the old 20 are gone");
    c.open_time = 30000;

    /* a reload changing the window clears the buckets */

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 19, &tr);
    c.window = 20000;
    fail_n(&st, &c, 0, 1, &tr);
    ok(st.state == S_CLOSED && st.width == 2000,
       "window changed by a reload: old buckets dropped");

    /* window not divisible by 10: width rounds up */

    c = mkconf();
    c.failures = 0;
    c.window = 1234;
    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 10, &tr);
    fail_n(&st, &c, 1239, 9, &tr);
    ok(st.state == S_CLOSED && st.width == 124, "width 124");
    fail_n(&st, &c, 1239, 1, &tr);
    ok(st.state == S_OPEN, "1239 is still epoch 9: 20 calls");

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 10, &tr);
    fail_n(&st, &c, 1240, 10, &tr);
    ok(st.state == S_CLOSED, "1240 is epoch 10: the first 10 expired");
}


static void
test_slow(void)
{
    int           i;
    conf_t        c;
    state_t       st;
    transition_t  tr;

    c = mkconf();
    c.slow = 1000;

    memset(&st, 0, sizeof(st));

    for (i = 0; i < 100; i++) {
        call(&st, &c, 0, O_OK, 1000, &tr);
    }

    ok(st.state == S_CLOSED && st.stats.slow_calls == 0,
       "calls of exactly slow ms are not slow");

    memset(&st, 0, sizeof(st));

    for (i = 0; i < 19; i++) {
        call(&st, &c, 0, O_OK, 1001, &tr);
    }

    ok(st.state == S_CLOSED && st.stats.slow_calls == 19,
       "19 slow calls: below min_calls");

    call(&st, &c, 0, O_OK, 1001, &tr);
    ok(st.state == S_OPEN && tr.reason == INTEGRATIONS_BREAKER_SLOW_RATE
       && tr.count == 20 && tr.calls == 20, "20 slow of 20: slow call rate");
    is_str(integrations_breaker_reason_str(tr.reason), "slow call rate",
           "reason string");

    memset(&st, 0, sizeof(st));

    for (i = 0; i < 20; i++) {
        call(&st, &c, 0, O_OK, i < 9 ? 5000 : 10, &tr);
    }

    ok(st.state == S_CLOSED, "9 slow of 20: closed");
    call(&st, &c, 0, O_OK, 5000, &tr);
    call(&st, &c, 0, O_OK, 5000, &tr);
    ok(st.state == S_OPEN && tr.count == 11 && tr.calls == 22,
       "11 slow of 22: 50%%, open");

    /* a slow success still breaks a run of failures */

    memset(&st, 0, sizeof(st));
    fail_n(&st, &c, 0, 4, &tr);
    call(&st, &c, 0, O_OK, 2000, &tr);
    fail_n(&st, &c, 0, 4, &tr);
    ok(st.state == S_CLOSED && st.consecutive == 4,
       "slow success resets the failure run");

    /* slow = 0: durations do not matter */

    c = mkconf();
    memset(&st, 0, sizeof(st));

    for (i = 0; i < 50; i++) {
        call(&st, &c, 0, O_OK, 10000000, &tr);
    }

    ok(st.state == S_CLOSED && st.stats.slow_calls == 0, "slow=0: off");

    /* failures and slowness counted separately; failure rate wins */

    c = mkconf();
    c.failures = 0;
    c.slow = 100;
    memset(&st, 0, sizeof(st));

    for (i = 0; i < 20; i++) {
        call(&st, &c, 0, O_TIMEOUT, 200, &tr);
    }

    ok(st.state == S_OPEN && tr.reason == INTEGRATIONS_BREAKER_FAILURE_RATE
       && st.stats.slow_calls == 20 && st.stats.timeouts == 20,
       "slow timeouts: failure rate reported first");
}


static void
test_strings(void)
{
    is_str(integrations_breaker_state_str(S_CLOSED), "closed", "closed");
    is_str(integrations_breaker_state_str(S_OPEN), "open", "open");
    is_str(integrations_breaker_state_str(S_HALF), "half_open", "half_open");
    is_str(integrations_breaker_reason_str(INTEGRATIONS_BREAKER_FAILURE_RATE),
           "failure rate", "reason failure rate");
    is_str(integrations_breaker_reason_str(INTEGRATIONS_BREAKER_OPEN_ELAPSED),
           "open time elapsed", "reason open time elapsed");
    is_str(integrations_breaker_reason_str(INTEGRATIONS_BREAKER_PROBE_FAILED),
           "probe failed", "reason probe failed");
    is_str(integrations_breaker_reason_str(INTEGRATIONS_BREAKER_PROBE_SLOW),
           "probe too slow", "reason probe too slow");
    is_str(integrations_breaker_reason_str(
               INTEGRATIONS_BREAKER_PROBE_SUCCEEDED),
           "probe succeeded", "reason probe succeeded");
    is_str(integrations_breaker_reason_str(INTEGRATIONS_BREAKER_PROBES_LOST),
           "probes lost", "reason probes lost");
    is_str(integrations_breaker_reason_str(INTEGRATIONS_BREAKER_NONE), "none",
           "reason none");
}


/*
 * Random traffic from many overlapping calls, checking invariants after
 * every step: the breaker never holds more probes than allowed, never
 * stays half-open with nobody able to probe, and its open times stay
 * within [open_time, max_open].
 */

#define INFLIGHT  64

static void
test_random(void)
{
    int           i, k, n, verdict, bad_probes, bad_open, bad_retry;
    int           bad_stuck, bad_state, opens, closes, probes;
    conf_t        c;
    state_t       st;
    uint64_t      now, tickets[INFLIGHT], rejected;
    decision_t    d;
    transition_t  tr;

    c = mkconf();
    c.half_open = 2;
    c.slow = 800;
    c.open_time = 1000;
    c.max_open = 20000;
    c.failures = 4;
    c.min_calls = 10;

    memset(&st, 0, sizeof(st));
    now = 0;
    n = 0;
    rejected = 0;
    bad_probes = bad_open = bad_retry = bad_stuck = bad_state = 0;
    opens = closes = probes = 0;

    for (i = 0; i < 200000; i++) {
        now += rnd() % 7;

        k = rnd() % 10;

        if (k < 4 && n < INFLIGHT) {
            verdict = integrations_breaker_acquire(&st, &c, now, &d);

            if (verdict == V_REJECT) {
                rejected++;

                if (d.retry_after == 0) {
                    bad_retry++;
                }

                /* half-open and full: a probe slot within max_open */

                if (st.state == S_HALF && now >= st.probe_at + c.max_open) {
                    bad_stuck++;
                }

            } else {
                if (verdict == V_PROBE) {
                    probes++;
                }

                tickets[n++] = d.ticket;
            }

        } else if (n > 0) {
            int  j = rnd() % n;
            int  what = rnd() % 20;

            if (what == 0 && integrations_breaker_is_probe(tickets[j])) {
                integrations_breaker_release_probe(&st, tickets[j]);

            } else if (what != 1) {     /* 1: lost, never reported */
                integrations_breaker_record(&st, &c, now, tickets[j],
                                            (rnd() % 100) < 30
                                            ? (integrations_breaker_outcome_e)
                                              (1 + rnd() % 3)
                                            : O_OK,
                                            rnd() % 1000, &tr);

                if (tr.to == S_OPEN && tr.reason) {
                    opens++;
                }

                if (tr.to == S_CLOSED && tr.reason) {
                    closes++;
                }
            }

            tickets[j] = tickets[--n];
        }

        if (st.state > S_HALF) {
            bad_state++;
        }

        if (st.probes > c.half_open
            || (st.state != S_HALF && st.probes != 0))
        {
            bad_probes++;
        }

        if (st.state == S_OPEN
            && (st.open_for < c.open_time || st.open_for > c.max_open
                || st.open_until != st.changed + st.open_for))
        {
            bad_open++;
        }
    }

    diag("random: %d opens, %d closes, %d probes, %llu rejected, "
         "%llu stale, %llu lost", opens, closes, probes,
         (unsigned long long) rejected, (unsigned long long) st.stats.stale,
         (unsigned long long) st.stats.lost);

    ok(opens > 10 && closes > 10 && probes > 10,
       "random traffic exercised opening and closing");
    ok(bad_state == 0, "state always valid");
    ok(bad_probes == 0, "probes in flight never above half_open");
    ok(bad_open == 0, "open time always within [open_time, max_open]");
    ok(bad_retry == 0, "every rejection has retry_after >= 1");
    ok(bad_stuck == 0, "never stuck half-open without a probe slot");
    is_int(st.stats.rejected, rejected, "rejected counter matches");
}


int
main(void)
{
    /* tap.h helpers this file does not need */
    (void) tap_vector_path;
    (void) tap_slurp;

    test_conf();
    test_consecutive();
    test_backoff();
    test_probes();
    test_stale();
    test_rate();
    test_window();
    test_slow();
    test_strings();
    test_random();

    return done_testing();
}
