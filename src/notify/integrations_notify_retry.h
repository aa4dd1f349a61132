/*
 * When to try a notification again: exponential backoff with jitter,
 * bounded by a number of attempts and an age (notify_retry attempts=N
 * max_age=TIME), and never sooner than a provider's Retry-After.
 *
 * Pure: the clock and the random bits are parameters, so the glue draws
 * 64 bits (RAND_bytes) per decision and the outbox stores the time.
 *
 *   full jitter          delay = uniform(0, min(cap, base * 2^(n-1)))
 *   decorrelated jitter  delay = min(cap, uniform(base, 3 * previous))
 *
 * (n: attempts made so far; "previous": the delay chosen last time, base
 * before the first.)  Full jitter spreads a crowd of retries the most;
 * decorrelated jitter grows more smoothly.  Both are from "Exponential
 * Backoff And Jitter" (AWS Architecture Blog, 2015).  A Retry-After
 * longer than the delay replaces it, even beyond cap: the provider said
 * when it will take the request.
 */

#ifndef INTEGRATIONS_NOTIFY_RETRY_H
#define INTEGRATIONS_NOTIFY_RETRY_H

#include <stddef.h>
#include <stdint.h>


typedef enum {
    INTEGRATIONS_RETRY_FULL = 0,
    INTEGRATIONS_RETRY_DECORRELATED
} integrations_notify_jitter_e;


typedef struct {
    unsigned  attempts;               /* attempts in all, the first included;
                                         1: never retry */
    int64_t   max_age_ms;             /* no attempt later than created +
                                         max_age; 0: no limit */
    int64_t   base_ms;                /* the first delay's bound (> 0) */
    int64_t   cap_ms;                 /* the largest computed delay */
    int       jitter;                 /* integrations_notify_jitter_e */
} integrations_notify_retry_t;


/*
 * The time (ms, same clock as now_ms) of the next attempt after `attempt`
 * attempts have failed (1 after the first), or -1: give up (attempts
 * used, or the next attempt would come after created_ms + max_age_ms).
 * retry_after_ms: the provider's Retry-After, -1 for none.
 * prev_delay_ms: the delay this returned last time (decorrelated jitter;
 * 0 the first time).  *delay_ms (may be NULL) gets the delay chosen.
 */
int64_t integrations_notify_next_attempt_at(
    const integrations_notify_retry_t *policy, unsigned attempt,
    int64_t created_ms, int64_t now_ms, int64_t retry_after_ms,
    int64_t prev_delay_ms, uint64_t rand, int64_t *delay_ms);

/*
 * A Retry-After header's value (RFC 9110 10.2.3): delta-seconds
 * ("120"), or an HTTP-date in the IMF-fixdate form ("Wed, 21 Oct 2015
 * 07:28:00 GMT"), as seconds from now (0 for a date past).  White space
 * around the value is allowed.  -1: absent or not one of those forms (the
 * obsolete RFC 850 and asctime dates are not taken).  At most 86400: a
 * provider's wait longer than a day is a day.
 */
int64_t integrations_notify_retry_after(const char *v, size_t len,
    int64_t now);

#endif /* INTEGRATIONS_NOTIFY_RETRY_H */
