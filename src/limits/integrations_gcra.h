/*
 * GCRA (generic cell rate algorithm) rate limiter: the pure core.
 *
 * No nginx headers, no globals, no I/O, no allocation.  Time is always a
 * parameter: "now" is in milliseconds on any clock that the callers share
 * (the glue passes ngx_current_msec).
 *
 * Model.  A rate of "count" requests per "period" ms has the emission
 * interval T = period / count ms and the tolerance tau = burst * T.  Each
 * key keeps one theoretical arrival time (TAT).  A request arriving at t is
 * admitted if TAT <= t + tau; then TAT becomes max(TAT, t) + T.  A rejected
 * request leaves the state untouched.
 *
 * Exactness.  T is usually not a whole number of ms (3r/s, 7r/s), so the
 * TAT is kept as whole ms plus a fraction in units of 1/count ms: every
 * step is exact rational arithmetic, no drift, no floating point.  Only the
 * values handed back (delay, retry_after, reset) are rounded, and always
 * up, so that acting on them never runs ahead of the rate.
 *
 * Modes.  Admission is the same in both modes; they differ only in what is
 * reported to the caller:
 *   NODELAY  every admitted request is PASSED at once (up to burst + 1
 *            back to back), excess is REJECTED.
 *   DELAY    an admitted request is released at its conformance time
 *            r = max(TAT, t): PASSED if r == t, else DELAYED by ceil(r - t)
 *            ms.  Successive conformance times are exactly T apart, so at
 *            most burst requests wait at any time; excess is REJECTED.
 *
 * Guarantees (proved in integrations_gcra.c, checked by t/unit/test_gcra.c),
 * for any order of calls and any "now" values, including callers whose
 * clocks disagree by a few ms (nginx workers):
 *
 *   (1) Admissions.  For every closed window [x, x + W] of W ms, the number
 *       of admitted requests (PASSED or DELAYED) whose "now" lies in the
 *       window is at most
 *
 *           floor(W * count / period) + burst + 1
 *
 *       and this bound is reached (e.g. burst + 1 requests at one instant).
 *
 *   (2) Releases in DELAY mode.  For every closed window [x, x + W], the
 *       number of requests released (now + delay) in the window is at most
 *
 *           ceil((W + 1) * count / period)
 *
 *       which equals floor(W / T) + 1 when T is a whole number of ms: the
 *       released requests are never closer than T to each other.  With a
 *       fractional T the +1 ms comes from rounding each delay up to whole ms.
 *
 * Clock resolution.  "now" is in whole ms, so between two instants
 * requests are seen at most once per ms.  When T < 1 ms (above 1000r/s)
 * or T is fractional and burst = 0, each admission may start its interval
 * up to 1 ms late and the achieved rate falls below the configured one;
 * a burst with burst * T >= 1 ms (burst >= ceil(count / period)) removes
 * that loss: the bound in (1) is then reached exactly by a steady flood.
 * "now" must stay below 2^62 (any real ms clock does).
 *
 * The all-zero state is a fresh key (full burst available).  A state with
 * TAT <= now is equivalent to a fresh one, so it may be evicted from shared
 * memory at no cost: see integrations_gcra_idle().
 */

#ifndef INTEGRATIONS_GCRA_H
#define INTEGRATIONS_GCRA_H

#include <stddef.h>
#include <stdint.h>


#define INTEGRATIONS_GCRA_MAX_COUNT   1000000    /* requests per period */
#define INTEGRATIONS_GCRA_MAX_BURST   1000000
#define INTEGRATIONS_GCRA_PER_SECOND  1000       /* period of "r/s", ms */
#define INTEGRATIONS_GCRA_PER_MINUTE  60000      /* period of "r/m", ms */
#define INTEGRATIONS_GCRA_MAX_PERIOD  86400000   /* a day, in ms */


typedef enum {
    INTEGRATIONS_GCRA_NODELAY = 0,
    INTEGRATIONS_GCRA_DELAY
} integrations_gcra_mode_e;


typedef enum {
    INTEGRATIONS_GCRA_PASSED = 0,
    INTEGRATIONS_GCRA_DELAYED,
    INTEGRATIONS_GCRA_REJECTED
} integrations_gcra_verdict_e;


/*
 * Per-key state, plain old data of fixed size (16 bytes): it lives in
 * shared memory as is.  The TAT is tat_ms + tat_frac / count ms; tat_frac
 * is always below count, and a larger one (left by a reload that lowered
 * the rate) is read as one more whole ms.
 */

typedef struct {
    uint64_t  tat_ms;
    uint32_t  tat_frac;
    uint32_t  reserved;
} integrations_gcra_state_t;


/*
 * Parameters, filled by integrations_gcra_params_init() only: the derived
 * fields must agree with count, period and burst.  Plain old data too.
 */

typedef struct {
    uint32_t  count;          /* requests per period, 1..MAX_COUNT */
    uint32_t  period;         /* ms, 1..MAX_PERIOD */
    uint32_t  burst;          /* 0..MAX_BURST */
    uint32_t  interval_frac;  /* T = interval_ms + interval_frac / count */
    uint64_t  interval_ms;
    uint64_t  tau_ms;         /* tau = tau_ms + tau_frac / count */
    uint32_t  tau_frac;
    uint32_t  reserved;
} integrations_gcra_params_t;


typedef struct {
    integrations_gcra_verdict_e  verdict;

    uint64_t                     delay;        /* ms, > 0 only if DELAYED */
    uint64_t                     retry_after;  /* ms, >= 1 only if REJECTED */

    /* for the RateLimit-* response headers */
    uint64_t                     limit;        /* burst + 1 */
    uint64_t                     remaining;    /* admissions left right now */
    uint64_t                     reset;        /* ms until fully reset */
} integrations_gcra_result_t;


/*
 * What the RateLimit-Policy and RateLimit response headers advertise
 * (draft-ietf-httpapi-ratelimit-headers): a quota of "quota" requests per
 * window of "window" whole seconds, and of it, "remaining" requests left
 * for the next window, the full quota being back after "reset" seconds.
 *
 * The window W is the longer of the rate's own period and the time the
 * burst takes to come back, (burst + 1) T, rounded up to whole seconds;
 * the quota is what the rate alone admits in it, q = floor(W / T).  So:
 *
 *     50r/s              q=50;w=1
 *     100r/m burst=99    q=100;w=60
 *     1r/m burst=1       q=2;w=120
 *     10r/s burst=50     q=60;w=6
 *
 * The limiter honours it: requests sent one every W / q >= T ms are never
 * rejected, and by guarantee (1) no client gets more than q + burst + 1
 * admitted in any W.  The burst is tolerance on top, never advertised.
 *
 * For a key in "state" at "now" (after integrations_gcra_decide()), with
 * the TAT d ms ahead of now (0 if behind): remaining = floor((W - d) / T)
 * (0 if d >= W), the part of the quota the key's debt leaves for the next
 * W ms: q on a fresh key, at most q - 1 after an admission, and 0 after a
 * rejection, as the request was just refused.  reset = ceil(d / 1000) s,
 * after which the key is fresh again; after an admission d <= (burst + 1)
 * T <= W, so reset <= window, but for a few ms of clock skew between
 * workers and a state kept across a reload that lowered the rate.
 */

typedef struct {
    uint64_t  quota;      /* q, at least count and burst + 1 */
    uint64_t  window;     /* w, seconds, at least 1 */
    uint64_t  remaining;  /* r */
    uint64_t  reset;      /* t, seconds */
} integrations_gcra_quota_t;


/*
 * Parses "10r/s" or "600r/m" (a byte range, not NUL-terminated) into count
 * and period.  Returns NULL on success, else a message for the log; junk,
 * an empty number, zero and a count above MAX_COUNT are errors.  Outputs
 * are written only on success.
 */
const char *integrations_gcra_parse_rate(const unsigned char *data,
    size_t len, uint32_t *count, uint32_t *period);

/* Validates and fills params.  Returns NULL or a message for the log. */
const char *integrations_gcra_params_init(integrations_gcra_params_t *params,
    uint32_t count, uint32_t period, uint32_t burst);

/*
 * Decides on one request at "now" and updates the state unless the request
 * is rejected.  Fills *result completely and returns result->verdict.
 */
integrations_gcra_verdict_e integrations_gcra_decide(
    integrations_gcra_state_t *state,
    const integrations_gcra_params_t *params, uint64_t now,
    integrations_gcra_mode_e mode, integrations_gcra_result_t *result);

/*
 * The quota of params, and the remaining and reset of a key in "state" at
 * "now", as above; "rejected" when integrations_gcra_decide() just
 * rejected a request at "now" (remaining is then 0).
 */
void integrations_gcra_quota(const integrations_gcra_state_t *state,
    const integrations_gcra_params_t *params, uint64_t now, int rejected,
    integrations_gcra_quota_t *quota);

/* True if the state is equivalent to a fresh one at "now" (TAT <= now). */
int integrations_gcra_idle(const integrations_gcra_state_t *state,
    const integrations_gcra_params_t *params, uint64_t now);

/*
 * "PASSED", "DELAYED", "REJECTED": values for $rate_limit_status, spelled
 * as nginx spells $limit_req_status.
 */
const char *integrations_gcra_verdict_str(integrations_gcra_verdict_e v);


#endif /* INTEGRATIONS_GCRA_H */
