/*
 * Circuit breaker state machine: the pure core.  See integrations_breaker.h
 * for the states, the tickets and the sliding window.
 */

#include "integrations_breaker.h"

#include <string.h>


/* a ticket: generation << 1 | probe bit */
#define INTEGRATIONS_BREAKER_PROBE_BIT  1


static uint64_t integrations_breaker_ticket(
    const integrations_breaker_state_t *st, int probe);
static uint32_t integrations_breaker_width(
    const integrations_breaker_conf_t *conf);
static void integrations_breaker_count(integrations_breaker_state_t *st,
    const integrations_breaker_conf_t *conf, uint64_t now, int failed,
    int slow);
static void integrations_breaker_sum(const integrations_breaker_state_t *st,
    const integrations_breaker_conf_t *conf, uint64_t now, uint64_t *calls,
    uint64_t *failures, uint64_t *slow);
static void integrations_breaker_open(integrations_breaker_state_t *st,
    const integrations_breaker_conf_t *conf, uint64_t now,
    integrations_breaker_reason_e reason, uint64_t count, uint64_t calls,
    integrations_breaker_transition_t *tr);
static void integrations_breaker_close(integrations_breaker_state_t *st,
    uint64_t now, integrations_breaker_transition_t *tr);
static void integrations_breaker_move(integrations_breaker_state_t *st,
    integrations_breaker_state_e to, uint64_t now,
    integrations_breaker_reason_e reason,
    integrations_breaker_transition_t *tr);


void
integrations_breaker_conf_init(integrations_breaker_conf_t *conf)
{
    conf->failures = 5;
    conf->failure_rate = 50;
    conf->min_calls = 20;
    conf->half_open = 1;
    conf->window = 10000;
    conf->slow = 0;
    conf->open_time = 30000;
    conf->max_open = 300000;
}


const char *
integrations_breaker_conf_check(const integrations_breaker_conf_t *conf)
{
    if (conf->failure_rate > 100) {
        return "failure_rate must be a percentage from 0 to 100";
    }

    if (conf->slow > 0 && conf->failure_rate == 0) {
        return "slow calls need a failure_rate to trip at";
    }

    if (conf->min_calls == 0) {
        return "min_calls must be positive";
    }

    if (conf->window < INTEGRATIONS_BREAKER_BUCKETS) {
        return "window must be at least 10ms";
    }

    if (conf->half_open == 0) {
        return "half_open must be positive";
    }

    if (conf->open_time == 0) {
        return "open time must be positive";
    }

    if (conf->max_open < conf->open_time) {
        return "max_open must not be less than the open time";
    }

    if (conf->window > INTEGRATIONS_BREAKER_MAX_TIME
        || conf->slow > INTEGRATIONS_BREAKER_MAX_TIME
        || conf->max_open > INTEGRATIONS_BREAKER_MAX_TIME)
    {
        return "time is too large";
    }

    return NULL;
}


integrations_breaker_verdict_e
integrations_breaker_acquire(integrations_breaker_state_t *st,
    const integrations_breaker_conf_t *conf, uint64_t now,
    integrations_breaker_decision_t *d)
{
    memset(d, 0, sizeof(*d));

    switch (st->state) {

    case INTEGRATIONS_BREAKER_CLOSED:
        d->verdict = INTEGRATIONS_BREAKER_ALLOW;
        d->ticket = integrations_breaker_ticket(st, 0);
        return d->verdict;

    case INTEGRATIONS_BREAKER_OPEN:

        if (now < st->open_until) {
            st->stats.rejected++;
            d->verdict = INTEGRATIONS_BREAKER_REJECT;
            d->retry_after = st->open_until - now;
            return d->verdict;
        }

        /* the open time is over: this very call may be the first probe */

        integrations_breaker_move(st, INTEGRATIONS_BREAKER_HALF_OPEN, now,
                                  INTEGRATIONS_BREAKER_OPEN_ELAPSED,
                                  &d->transition);
        break;

    case INTEGRATIONS_BREAKER_HALF_OPEN:
        break;

    default:
        /* not a state we wrote: start over rather than stay stuck */
        st->state = INTEGRATIONS_BREAKER_CLOSED;
        st->generation++;
        st->probes = 0;
        d->verdict = INTEGRATIONS_BREAKER_ALLOW;
        d->ticket = integrations_breaker_ticket(st, 0);
        return d->verdict;
    }

    /*
     * HALF_OPEN.  Every probe slot taken, and the last probe out for
     * max_open: whatever the glue lost (a worker that died mid-probe, a
     * missing release), write the probes off.  The generation moves on so
     * their tickets, should they still come back, are stale.
     */

    if (st->probes > 0
        && st->probes >= conf->half_open
        && now >= st->probe_at
        && now - st->probe_at >= conf->max_open)
    {
        st->stats.lost += st->probes;

        d->transition.reason = INTEGRATIONS_BREAKER_PROBES_LOST;
        d->transition.from = INTEGRATIONS_BREAKER_HALF_OPEN;
        d->transition.to = INTEGRATIONS_BREAKER_HALF_OPEN;
        d->transition.count = st->probes;

        st->probes = 0;
        st->generation++;
    }

    if (st->probes < conf->half_open) {
        st->probes++;
        st->probe_at = now;
        st->stats.probes++;

        d->verdict = INTEGRATIONS_BREAKER_ALLOW_PROBE;
        d->ticket = integrations_breaker_ticket(st, 1);

        return d->verdict;
    }

    st->stats.rejected++;

    d->verdict = INTEGRATIONS_BREAKER_REJECT;
    d->retry_after = INTEGRATIONS_BREAKER_BUSY_RETRY;

    return d->verdict;
}


int
integrations_breaker_record(integrations_breaker_state_t *st,
    const integrations_breaker_conf_t *conf, uint64_t now, uint64_t ticket,
    integrations_breaker_outcome_e outcome, uint64_t duration_ms,
    integrations_breaker_transition_t *tr)
{
    int       failed, slow, probe;
    uint64_t  calls, failures, slows;

    memset(tr, 0, sizeof(*tr));

    switch (outcome) {

    case INTEGRATIONS_BREAKER_SUCCESS:
        st->stats.successes++;
        break;

    case INTEGRATIONS_BREAKER_CONNECT_ERROR:
        st->stats.connect_errors++;
        break;

    case INTEGRATIONS_BREAKER_TIMEOUT:
        st->stats.timeouts++;
        break;

    default:
        outcome = INTEGRATIONS_BREAKER_STATUS;
        st->stats.status_errors++;
        break;
    }

    failed = (outcome != INTEGRATIONS_BREAKER_SUCCESS);
    slow = (conf->slow > 0 && duration_ms > conf->slow);

    if (slow) {
        st->stats.slow_calls++;
    }

    probe = (ticket & INTEGRATIONS_BREAKER_PROBE_BIT) != 0;

    /*
     * Only the period that admitted the call may act on its outcome: a
     * probe ticket in HALF_OPEN, a plain ticket in CLOSED, both of the
     * current generation.  Anything else started before a transition.
     */

    if ((uint32_t) (ticket >> 1) != st->generation
        || st->state != (probe ? INTEGRATIONS_BREAKER_HALF_OPEN
                               : INTEGRATIONS_BREAKER_CLOSED))
    {
        st->stats.stale++;
        return 0;
    }

    if (probe) {

        /* the first probe outcome decides for all of them */

        if (failed) {
            integrations_breaker_open(st, conf, now,
                                      INTEGRATIONS_BREAKER_PROBE_FAILED, 1,
                                      0, tr);

        } else if (slow) {
            integrations_breaker_open(st, conf, now,
                                      INTEGRATIONS_BREAKER_PROBE_SLOW, 1, 0,
                                      tr);

        } else {
            integrations_breaker_close(st, now, tr);
        }

        return 1;
    }

    integrations_breaker_count(st, conf, now, failed, slow);

    if (failed) {
        if (st->consecutive < UINT32_MAX) {
            st->consecutive++;
        }

    } else {
        st->consecutive = 0;
    }

    if (conf->failures > 0 && st->consecutive >= conf->failures) {
        integrations_breaker_open(st, conf, now,
                                  INTEGRATIONS_BREAKER_CONSECUTIVE,
                                  st->consecutive, 0, tr);
        return 1;
    }

    if (conf->failure_rate == 0) {
        return 0;
    }

    integrations_breaker_sum(st, conf, now, &calls, &failures, &slows);

    if (calls < conf->min_calls) {
        return 0;
    }

    if (failures * 100 >= (uint64_t) conf->failure_rate * calls) {
        integrations_breaker_open(st, conf, now,
                                  INTEGRATIONS_BREAKER_FAILURE_RATE,
                                  failures, calls, tr);
        return 1;
    }

    if (conf->slow > 0
        && slows * 100 >= (uint64_t) conf->failure_rate * calls)
    {
        integrations_breaker_open(st, conf, now,
                                  INTEGRATIONS_BREAKER_SLOW_RATE, slows,
                                  calls, tr);
        return 1;
    }

    return 0;
}


int
integrations_breaker_release_probe(integrations_breaker_state_t *st,
    uint64_t ticket)
{
    if ((ticket & INTEGRATIONS_BREAKER_PROBE_BIT) == 0
        || (uint32_t) (ticket >> 1) != st->generation
        || st->state != INTEGRATIONS_BREAKER_HALF_OPEN
        || st->probes == 0)
    {
        return 0;
    }

    st->probes--;
    st->stats.released++;

    return 1;
}


int
integrations_breaker_is_probe(uint64_t ticket)
{
    return (ticket & INTEGRATIONS_BREAKER_PROBE_BIT) != 0;
}


integrations_breaker_state_e
integrations_breaker_current(const integrations_breaker_state_t *st,
    uint64_t now)
{
    switch (st->state) {

    case INTEGRATIONS_BREAKER_OPEN:
        return now < st->open_until ? INTEGRATIONS_BREAKER_OPEN
                                    : INTEGRATIONS_BREAKER_HALF_OPEN;

    case INTEGRATIONS_BREAKER_HALF_OPEN:
        return INTEGRATIONS_BREAKER_HALF_OPEN;

    default:
        return INTEGRATIONS_BREAKER_CLOSED;
    }
}


const char *
integrations_breaker_state_str(integrations_breaker_state_e s)
{
    switch (s) {

    case INTEGRATIONS_BREAKER_CLOSED:
        return "closed";

    case INTEGRATIONS_BREAKER_OPEN:
        return "open";

    case INTEGRATIONS_BREAKER_HALF_OPEN:
        return "half_open";
    }

    return "unknown";
}


const char *
integrations_breaker_reason_str(integrations_breaker_reason_e r)
{
    switch (r) {

    case INTEGRATIONS_BREAKER_NONE:
        return "none";

    case INTEGRATIONS_BREAKER_CONSECUTIVE:
        return "consecutive failures";

    case INTEGRATIONS_BREAKER_FAILURE_RATE:
        return "failure rate";

    case INTEGRATIONS_BREAKER_SLOW_RATE:
        return "slow call rate";

    case INTEGRATIONS_BREAKER_OPEN_ELAPSED:
        return "open time elapsed";

    case INTEGRATIONS_BREAKER_PROBE_FAILED:
        return "probe failed";

    case INTEGRATIONS_BREAKER_PROBE_SLOW:
        return "probe too slow";

    case INTEGRATIONS_BREAKER_PROBE_SUCCEEDED:
        return "probe succeeded";

    case INTEGRATIONS_BREAKER_PROBES_LOST:
        return "probes lost";
    }

    return "unknown";
}


static uint64_t
integrations_breaker_ticket(const integrations_breaker_state_t *st,
    int probe)
{
    return ((uint64_t) st->generation << 1)
           | (probe ? INTEGRATIONS_BREAKER_PROBE_BIT : 0);
}


static uint32_t
integrations_breaker_width(const integrations_breaker_conf_t *conf)
{
    /* window <= MAX_TIME = 2^31, so the width fits */
    return (uint32_t) ((conf->window + INTEGRATIONS_BREAKER_BUCKETS - 1)
                       / INTEGRATIONS_BREAKER_BUCKETS);
}


static void
integrations_breaker_count(integrations_breaker_state_t *st,
    const integrations_breaker_conf_t *conf, uint64_t now, int failed,
    int slow)
{
    uint32_t                        width;
    uint64_t                        epoch;
    integrations_breaker_bucket_t  *b;

    width = integrations_breaker_width(conf);

    if (st->width != width) {
        /* a reload changed the window: old epochs mean nothing now */
        memset(st->buckets, 0, sizeof(st->buckets));
        st->width = width;
    }

    epoch = now / width;
    b = &st->buckets[epoch % INTEGRATIONS_BREAKER_BUCKETS];

    /*
     * A bucket of an older epoch is reused.  One of a newer epoch is kept
     * and added to: the caller's clock lags another worker's, and the
     * other worker's calls must not be thrown away.
     */

    if (b->epoch < epoch) {
        memset(b, 0, sizeof(*b));
        b->epoch = epoch;
    }

    b->calls++;

    if (failed) {
        b->failures++;
    }

    if (slow) {
        b->slow++;
    }
}


static void
integrations_breaker_sum(const integrations_breaker_state_t *st,
    const integrations_breaker_conf_t *conf, uint64_t now, uint64_t *calls,
    uint64_t *failures, uint64_t *slow)
{
    int                                   i;
    uint64_t                              epoch;
    const integrations_breaker_bucket_t  *b;

    epoch = now / integrations_breaker_width(conf);

    *calls = 0;
    *failures = 0;
    *slow = 0;

    for (i = 0; i < INTEGRATIONS_BREAKER_BUCKETS; i++) {
        b = &st->buckets[i];

        /* this bucket and the BUCKETS - 1 before it; later ones too */

        if (b->epoch + INTEGRATIONS_BREAKER_BUCKETS <= epoch) {
            continue;
        }

        *calls += b->calls;
        *failures += b->failures;
        *slow += b->slow;
    }
}


static void
integrations_breaker_open(integrations_breaker_state_t *st,
    const integrations_breaker_conf_t *conf, uint64_t now,
    integrations_breaker_reason_e reason, uint64_t count, uint64_t calls,
    integrations_breaker_transition_t *tr)
{
    uint64_t  open_for;

    if (st->state == INTEGRATIONS_BREAKER_CLOSED || st->open_for == 0) {
        open_for = conf->open_time;

    } else if (st->open_for >= conf->max_open / 2) {
        open_for = conf->max_open;

    } else {
        open_for = st->open_for * 2;
    }

    /* a reload may have moved the limits under a stored open_for */

    if (open_for < conf->open_time) {
        open_for = conf->open_time;
    }

    if (open_for > conf->max_open) {
        open_for = conf->max_open;
    }

    integrations_breaker_move(st, INTEGRATIONS_BREAKER_OPEN, now, reason, tr);

    st->open_for = open_for;
    st->open_until = now + open_for;
    st->stats.opened++;

    tr->count = count > UINT32_MAX ? UINT32_MAX : (uint32_t) count;
    tr->calls = calls > UINT32_MAX ? UINT32_MAX : (uint32_t) calls;
    tr->open_for = open_for;
}


static void
integrations_breaker_close(integrations_breaker_state_t *st, uint64_t now,
    integrations_breaker_transition_t *tr)
{
    integrations_breaker_move(st, INTEGRATIONS_BREAKER_CLOSED, now,
                              INTEGRATIONS_BREAKER_PROBE_SUCCEEDED, tr);

    /* a fresh start: no failure history, the next open time is the base */

    st->consecutive = 0;
    st->open_for = 0;
    st->open_until = 0;
    memset(st->buckets, 0, sizeof(st->buckets));
}


static void
integrations_breaker_move(integrations_breaker_state_t *st,
    integrations_breaker_state_e to, uint64_t now,
    integrations_breaker_reason_e reason,
    integrations_breaker_transition_t *tr)
{
    tr->reason = reason;
    tr->from = st->state;
    tr->to = to;

    st->state = to;
    st->generation++;
    st->probes = 0;
    st->changed = now;
    st->stats.transitions++;
}
