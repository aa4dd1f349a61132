/*
 * Circuit breaker state machine: the pure core.
 *
 * No nginx headers, no globals, no I/O, no allocation.  "now" is in
 * milliseconds on a clock shared by the callers (ngx_current_msec).
 *
 *   CLOSED ----- failures in a row, failure rate, slow rate ----> OPEN
 *   OPEN ------- open time over, seen by the next acquire() ----> HALF_OPEN
 *   HALF_OPEN -- a probe succeeds ------------------------------> CLOSED
 *   HALF_OPEN -- a probe fails or is slow: open time doubled,
 *                capped at max_open ----------------------------> OPEN
 *
 * Usage, per request: integrations_breaker_acquire() before the upstream
 * call; if it allows, keep decision.ticket and, when the call is over,
 * pass it to integrations_breaker_record() with the outcome, or to
 * integrations_breaker_release_probe() if there was no outcome (client
 * gone, request finalized before the upstream answered).  Both must be
 * called with the state locked (the zone mutex), like every function here
 * that takes a non-const state.
 *
 * Tickets.  A ticket names the period in which the call was admitted: a
 * generation number bumped on every transition (and when lost probes are
 * written off), plus a probe bit.  An outcome whose ticket is not of the
 * current period is stale: it is counted in the statistics but changes
 * nothing else.  So calls that started before the breaker opened cannot
 * reopen it after it closed again, and a late probe cannot close it on
 * behalf of a later half-open period.
 *
 * Probes.  HALF_OPEN admits up to conf->half_open probes at a time.  The
 * first probe outcome decides: success closes (window and failure count
 * cleared, open time back to conf->open_time), failure (or success slower
 * than conf->slow) opens again for twice the last open time, capped at
 * conf->max_open.  A probe slot is freed by record() or release_probe();
 * if neither comes (a worker died), the probes are written off once the
 * last one has been out for conf->max_open, so HALF_OPEN cannot last
 * forever.
 *
 * Sliding window.  INTEGRATIONS_BREAKER_BUCKETS buckets of
 * width = ceil(window / BUCKETS) ms each; a bucket is identified by
 * floor(now / width).  At "now" the window holds the current bucket and
 * the BUCKETS - 1 before it: a call is always counted while younger than
 * window - width (for a window divisible by BUCKETS) and never once
 * BUCKETS * width old.  Rate trips need at least min_calls in the window:
 * failures * 100 >= failure_rate * calls trips "failure rate",
 * slow * 100 >= failure_rate * calls trips "slow rate"; a call is slow
 * when its duration_ms > conf->slow.  Only outcomes recorded while CLOSED
 * (with a current ticket) count.  The buckets are cleared when the breaker
 * closes, and when a reload changes the bucket width.
 *
 * The all-zero state is a fresh CLOSED breaker.
 */

#ifndef INTEGRATIONS_BREAKER_H
#define INTEGRATIONS_BREAKER_H

#include <stdint.h>


#define INTEGRATIONS_BREAKER_BUCKETS     10

/* retry_after when HALF_OPEN and every probe slot is taken */
#define INTEGRATIONS_BREAKER_BUSY_RETRY  1000

/* upper limit of every duration in the conf: about 24 days */
#define INTEGRATIONS_BREAKER_MAX_TIME    (1ULL << 31)


typedef enum {
    INTEGRATIONS_BREAKER_CLOSED = 0,
    INTEGRATIONS_BREAKER_OPEN,
    INTEGRATIONS_BREAKER_HALF_OPEN
} integrations_breaker_state_e;


typedef enum {
    INTEGRATIONS_BREAKER_ALLOW = 0,
    INTEGRATIONS_BREAKER_ALLOW_PROBE,
    INTEGRATIONS_BREAKER_REJECT
} integrations_breaker_verdict_e;


typedef enum {
    INTEGRATIONS_BREAKER_SUCCESS = 0,
    INTEGRATIONS_BREAKER_CONNECT_ERROR,
    INTEGRATIONS_BREAKER_TIMEOUT,
    INTEGRATIONS_BREAKER_STATUS          /* a status the route calls failed */
} integrations_breaker_outcome_e;


typedef enum {
    INTEGRATIONS_BREAKER_NONE = 0,
    INTEGRATIONS_BREAKER_CONSECUTIVE,    /* closed -> open */
    INTEGRATIONS_BREAKER_FAILURE_RATE,   /* closed -> open */
    INTEGRATIONS_BREAKER_SLOW_RATE,      /* closed -> open */
    INTEGRATIONS_BREAKER_OPEN_ELAPSED,   /* open -> half_open */
    INTEGRATIONS_BREAKER_PROBE_FAILED,   /* half_open -> open */
    INTEGRATIONS_BREAKER_PROBE_SLOW,     /* half_open -> open */
    INTEGRATIONS_BREAKER_PROBE_SUCCEEDED, /* half_open -> closed */
    INTEGRATIONS_BREAKER_PROBES_LOST     /* half_open, no state change */
} integrations_breaker_reason_e;


/*
 * Configuration: plain old data, all times in ms.  Fill it with
 * integrations_breaker_conf_init(), override, then check it with
 * integrations_breaker_conf_check().
 */

typedef struct {
    uint32_t  failures;      /* in a row to open; 0 = off; default 5 */
    uint32_t  failure_rate;  /* percent, 0 = rate trips off; default 50 */
    uint32_t  min_calls;     /* in the window for a rate trip; default 20 */
    uint32_t  half_open;     /* concurrent probes; default 1 */
    uint64_t  window;        /* default 10000 */
    uint64_t  slow;          /* duration counted slow; 0 = off; default 0 */
    uint64_t  open_time;     /* first open period; default 30000 */
    uint64_t  max_open;      /* cap of the doubling; default 300000 */
} integrations_breaker_conf_t;


typedef struct {
    uint64_t  epoch;         /* floor(now / width) when last written */
    uint32_t  calls;
    uint32_t  failures;
    uint32_t  slow;
    uint32_t  reserved;
} integrations_breaker_bucket_t;


/* Counters for the metrics endpoint; they only ever grow. */

typedef struct {
    uint64_t  transitions;   /* state changes */
    uint64_t  opened;        /* of which to OPEN */
    uint64_t  rejected;      /* short-circuited by acquire */
    uint64_t  probes;        /* probes admitted */
    uint64_t  released;      /* probe slots freed without an outcome */
    uint64_t  lost;          /* probes written off */
    uint64_t  successes;
    uint64_t  connect_errors;
    uint64_t  timeouts;
    uint64_t  status_errors;
    uint64_t  slow_calls;    /* of the outcomes above, slower than slow */
    uint64_t  stale;         /* of the outcomes above, from past periods */
} integrations_breaker_stats_t;


/* Per-breaker state, plain old data of fixed size: lives in shared memory. */

typedef struct {
    uint32_t                       state;        /* ..._state_e */
    uint32_t                       generation;
    uint32_t                       consecutive;  /* failures in a row */
    uint32_t                       probes;       /* probes in flight */
    uint64_t                       open_until;   /* OPEN: first probe time */
    uint64_t                       open_for;     /* last open time, 0: none */
    uint64_t                       changed;      /* time of last transition */
    uint64_t                       probe_at;     /* last probe admitted */
    uint32_t                       width;        /* bucket width in use */
    uint32_t                       reserved;
    integrations_breaker_bucket_t  buckets[INTEGRATIONS_BREAKER_BUCKETS];
    integrations_breaker_stats_t   stats;
} integrations_breaker_state_t;


/*
 * A state change (or lost probes) to log, e.g.
 * "closed -> open: 5 consecutive failures, next probe in 30s".
 * reason == NONE means nothing happened.
 */

typedef struct {
    integrations_breaker_reason_e  reason;
    integrations_breaker_state_e   from;
    integrations_breaker_state_e   to;
    uint32_t                       count;     /* failures, slow calls, or
                                                 probes lost */
    uint32_t                       calls;     /* in the window (rate trips) */
    uint64_t                       open_for;  /* to OPEN: ms to next probe */
} integrations_breaker_transition_t;


typedef struct {
    integrations_breaker_verdict_e     verdict;
    uint64_t                           retry_after;  /* ms, REJECT only */
    uint64_t                           ticket;       /* for record() */
    integrations_breaker_transition_t  transition;
} integrations_breaker_decision_t;


/* Defaults: failures 5, failure_rate 50, window 10 s, min_calls 20, ... */
void integrations_breaker_conf_init(integrations_breaker_conf_t *conf);

/* Returns NULL if the conf is usable, else a message for the log. */
const char *integrations_breaker_conf_check(
    const integrations_breaker_conf_t *conf);

/*
 * Decides whether a call may go upstream.  Returns decision->verdict.
 * REJECT carries retry_after >= 1: the time left until the next probe when
 * OPEN, BUSY_RETRY when HALF_OPEN with every probe slot taken.
 */
integrations_breaker_verdict_e integrations_breaker_acquire(
    integrations_breaker_state_t *state,
    const integrations_breaker_conf_t *conf, uint64_t now,
    integrations_breaker_decision_t *decision);

/*
 * Records the outcome of an allowed call; ticket is decision.ticket, which
 * also says whether the call was a probe.  Returns 1 and fills
 * *transition if the state changed, else 0 with transition->reason NONE.
 * An outcome outside the enum is counted as STATUS.
 */
int integrations_breaker_record(integrations_breaker_state_t *state,
    const integrations_breaker_conf_t *conf, uint64_t now, uint64_t ticket,
    integrations_breaker_outcome_e outcome, uint64_t duration_ms,
    integrations_breaker_transition_t *transition);

/*
 * Frees the slot of a probe that ended with no outcome.  Returns 1 if a
 * slot was freed, 0 if there was nothing to do: the ticket is not a probe
 * of the current half-open period (the probe was written off, or another
 * probe decided already) or no probe is in flight.  All probes of one
 * period share a ticket, so the glue must use each ticket once, for
 * record() or for release_probe() (clear it in the request ctx after use).
 */
int integrations_breaker_release_probe(integrations_breaker_state_t *state,
    uint64_t ticket);

/* True if the ticket is a probe ticket. */
int integrations_breaker_is_probe(uint64_t ticket);

/*
 * The state as the next acquire would see it (OPEN past open_until reads
 * as HALF_OPEN), without changing anything: for $circuit_breaker_state and
 * the metrics.
 */
integrations_breaker_state_e integrations_breaker_current(
    const integrations_breaker_state_t *state, uint64_t now);

/* "closed", "open", "half_open" */
const char *integrations_breaker_state_str(integrations_breaker_state_e s);

/* "consecutive failures", "failure rate", ..., "probe succeeded" */
const char *integrations_breaker_reason_str(
    integrations_breaker_reason_e r);


#endif /* INTEGRATIONS_BREAKER_H */
