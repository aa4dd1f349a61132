/*
 * GCRA rate limiter: the pure core.  See integrations_gcra.h for the model
 * and the guarantees; the proofs are here, beside the code they rely on.
 *
 * Proof of (1).  Take the admitted requests whose "now" lies in [x, x + W],
 * in the order they were decided (not necessarily the order of their "now"
 * values).  Deciding the first of them leaves TAT >= now_1 + T >= x + T,
 * and every later admission, in the window or not, raises the TAT by at
 * least T, because TAT' = max(TAT, t) + T >= TAT + T; rejections leave it
 * alone.  So the k-th of them finds TAT >= x + (k - 1) T, and being
 * admitted needs TAT <= now_k + tau <= x + W + burst T.  Hence
 * (k - 1) T <= W + burst T, that is k <= W / T + burst + 1.
 *
 * Proof of (2).  The conformance time r = max(TAT, t) of an admitted
 * request is followed by TAT' = r + T, so in decision order each r is at
 * least T after the previous one.  The release time is
 * t + ceil(r - t) = ceil(r), since t is whole.  ceil(r) lies in [x, x + W]
 * iff r lies in (x - 1, x + W], a half-open span of W + 1 ms; n points at
 * least T apart inside it satisfy (n - 1) T < W + 1, so
 * n <= ceil((W + 1) / T).
 */

#include "integrations_gcra.h"


/*
 * An instant or a duration: ms + frac / count, with frac < count.  Only
 * used on the stack; the shared state stores the same thing in 12 bytes.
 */

typedef struct {
    uint64_t  ms;
    uint64_t  frac;
} integrations_gcra_time_t;


static void integrations_gcra_add(integrations_gcra_time_t *a,
    uint64_t ms, uint64_t frac, uint64_t count);
static int integrations_gcra_cmp(const integrations_gcra_time_t *a,
    const integrations_gcra_time_t *b);
static integrations_gcra_time_t integrations_gcra_sub(
    const integrations_gcra_time_t *a, const integrations_gcra_time_t *b,
    uint64_t count);
static uint64_t integrations_gcra_ceil(const integrations_gcra_time_t *a);


const char *
integrations_gcra_parse_rate(const unsigned char *data, size_t len,
    uint32_t *count, uint32_t *period)
{
    size_t    i;
    uint64_t  n;
    uint32_t  per;

    n = 0;

    for (i = 0; i < len && data[i] >= '0' && data[i] <= '9'; i++) {
        n = n * 10 + (data[i] - '0');

        /* checked on every digit, so n never gets near overflowing */
        if (n > INTEGRATIONS_GCRA_MAX_COUNT) {
            return "rate is too large";
        }
    }

    if (i == 0 || len - i != 3 || data[i] != 'r' || data[i + 1] != '/') {
        return "invalid rate, expected a number followed by \"r/s\" "
               "or \"r/m\"";
    }

    switch (data[i + 2]) {

    case 's':
        per = INTEGRATIONS_GCRA_PER_SECOND;
        break;

    case 'm':
        per = INTEGRATIONS_GCRA_PER_MINUTE;
        break;

    default:
        return "invalid rate, expected a number followed by \"r/s\" "
               "or \"r/m\"";
    }

    if (n == 0) {
        return "rate must be positive";
    }

    *count = (uint32_t) n;
    *period = per;

    return NULL;
}


const char *
integrations_gcra_params_init(integrations_gcra_params_t *params,
    uint32_t count, uint32_t period, uint32_t burst)
{
    uint64_t  tau;

    if (count == 0) {
        return "rate must be positive";
    }

    if (count > INTEGRATIONS_GCRA_MAX_COUNT) {
        return "rate is too large";
    }

    if (period == 0 || period > INTEGRATIONS_GCRA_MAX_PERIOD) {
        return "invalid rate period";
    }

    if (burst > INTEGRATIONS_GCRA_MAX_BURST) {
        return "burst is too large";
    }

    /* at most 10^6 * 86400000, far below 2^64 */
    tau = (uint64_t) burst * period;

    params->count = count;
    params->period = period;
    params->burst = burst;
    params->interval_ms = period / count;
    params->interval_frac = period % count;
    params->tau_ms = tau / count;
    params->tau_frac = (uint32_t) (tau % count);
    params->reserved = 0;

    return NULL;
}


integrations_gcra_verdict_e
integrations_gcra_decide(integrations_gcra_state_t *state,
    const integrations_gcra_params_t *params, uint64_t now,
    integrations_gcra_mode_e mode, integrations_gcra_result_t *result)
{
    uint64_t                  count, left;
    integrations_gcra_time_t  tat, t, limit, wait, slack;

    count = params->count;

    tat.ms = state->tat_ms;
    tat.frac = state->tat_frac;

    if (tat.frac >= count) {
        /* written under a higher count before a reload: round up */
        tat.ms++;
        tat.frac = 0;
    }

    t.ms = now;
    t.frac = 0;

    /* the latest TAT at which a request at "now" is still admitted */
    limit = t;
    integrations_gcra_add(&limit, params->tau_ms, params->tau_frac, count);

    result->limit = (uint64_t) params->burst + 1;
    result->delay = 0;
    result->retry_after = 0;

    if (integrations_gcra_cmp(&tat, &limit) > 0) {

        /*
         * Nonconforming: tat > now + tau >= now, so both differences are
         * positive, and retry_after, rounded up, is at least 1 ms.  At
         * now + retry_after the same request conforms, and not a ms
         * earlier.  The state is left as it is.
         */

        wait = integrations_gcra_sub(&tat, &limit, count);
        result->retry_after = integrations_gcra_ceil(&wait);

        wait = integrations_gcra_sub(&tat, &t, count);
        result->reset = integrations_gcra_ceil(&wait);

        result->remaining = 0;
        result->verdict = INTEGRATIONS_GCRA_REJECTED;

        return result->verdict;
    }

    /* conformance time r = max(tat, now); the next TAT is r + T */

    if (integrations_gcra_cmp(&tat, &t) < 0) {
        tat = t;
    }

    wait = integrations_gcra_sub(&tat, &t, count);

    integrations_gcra_add(&tat, params->interval_ms, params->interval_frac,
                          count);

    state->tat_ms = tat.ms;
    state->tat_frac = (uint32_t) tat.frac;
    state->reserved = 0;

    /*
     * Requests still admissible at "now": the k-th more needs
     * tat + (k - 1) T <= limit, so there are floor(slack / T) + 1 of them.
     * In units of 1/count ms T is "period", and slack <= tau, whose scaled
     * value burst * period cannot overflow (see params_init).
     */

    if (integrations_gcra_cmp(&tat, &limit) > 0) {
        left = 0;

    } else {
        slack = integrations_gcra_sub(&limit, &tat, count);
        left = (slack.ms * count + slack.frac) / params->period + 1;
    }

    result->remaining = left;

    /* tat > now here, as T > 0 */
    slack = integrations_gcra_sub(&tat, &t, count);
    result->reset = integrations_gcra_ceil(&slack);

    if (mode == INTEGRATIONS_GCRA_DELAY && (wait.ms | wait.frac) != 0) {
        /* rounded up: released no earlier than the conformance time */
        result->delay = integrations_gcra_ceil(&wait);
        result->verdict = INTEGRATIONS_GCRA_DELAYED;

    } else {
        result->verdict = INTEGRATIONS_GCRA_PASSED;
    }

    return result->verdict;
}


void
integrations_gcra_quota(const integrations_gcra_state_t *state,
    const integrations_gcra_params_t *params, uint64_t now, int rejected,
    integrations_gcra_quota_t *quota)
{
    uint64_t                  count, period, refill, window, scaled;
    integrations_gcra_time_t  tat, t, d;

    count = params->count;
    period = params->period;

    /*
     * (burst + 1) T in whole ms, rounded up: (burst + 1) * period is at
     * most about 8.64 * 10^13, and so are the products below, as W is
     * less than the larger of refill and period plus 1000 ms.
     */

    refill = (((uint64_t) params->burst + 1) * period + count - 1) / count;

    window = (refill > period) ? refill : period;
    window = (window + 999) / 1000;

    quota->window = window;

    /* W and d in units of 1/count ms: T is then "period" */

    scaled = window * 1000 * count;
    quota->quota = scaled / period;

    tat.ms = state->tat_ms;
    tat.frac = state->tat_frac;

    if (tat.frac >= count) {
        /* the same rounding as in decide() */
        tat.ms++;
        tat.frac = 0;
    }

    t.ms = now;
    t.frac = 0;

    if (integrations_gcra_cmp(&tat, &t) <= 0) {
        d.ms = 0;
        d.frac = 0;

    } else {
        d = integrations_gcra_sub(&tat, &t, count);
    }

    quota->reset = (integrations_gcra_ceil(&d) + 999) / 1000;

    if (rejected || d.ms >= window * 1000) {
        quota->remaining = 0;

    } else {
        /* d < W here, so d.ms * count cannot overflow */
        quota->remaining = (scaled - (d.ms * count + d.frac)) / period;
    }
}


int
integrations_gcra_idle(const integrations_gcra_state_t *state,
    const integrations_gcra_params_t *params, uint64_t now)
{
    uint64_t  ms, frac;

    ms = state->tat_ms;
    frac = state->tat_frac;

    /* the same rounding as in decide() */
    if (frac >= params->count) {
        ms++;
        frac = 0;
    }

    return ms < now || (ms == now && frac == 0);
}


const char *
integrations_gcra_verdict_str(integrations_gcra_verdict_e v)
{
    switch (v) {

    case INTEGRATIONS_GCRA_PASSED:
        return "PASSED";

    case INTEGRATIONS_GCRA_DELAYED:
        return "DELAYED";

    case INTEGRATIONS_GCRA_REJECTED:
        return "REJECTED";
    }

    return "UNKNOWN";
}


static void
integrations_gcra_add(integrations_gcra_time_t *a, uint64_t ms,
    uint64_t frac, uint64_t count)
{
    a->ms += ms;
    a->frac += frac;

    if (a->frac >= count) {
        a->frac -= count;
        a->ms++;
    }
}


static int
integrations_gcra_cmp(const integrations_gcra_time_t *a,
    const integrations_gcra_time_t *b)
{
    if (a->ms != b->ms) {
        return a->ms < b->ms ? -1 : 1;
    }

    if (a->frac != b->frac) {
        return a->frac < b->frac ? -1 : 1;
    }

    return 0;
}


/* a - b for a >= b */

static integrations_gcra_time_t
integrations_gcra_sub(const integrations_gcra_time_t *a,
    const integrations_gcra_time_t *b, uint64_t count)
{
    integrations_gcra_time_t  d;

    d.ms = a->ms - b->ms;

    if (a->frac >= b->frac) {
        d.frac = a->frac - b->frac;

    } else {
        d.frac = a->frac + count - b->frac;
        d.ms--;
    }

    return d;
}


static uint64_t
integrations_gcra_ceil(const integrations_gcra_time_t *a)
{
    return a->ms + (a->frac != 0);
}
