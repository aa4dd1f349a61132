/*
 * Retry timing: see integrations_notify_retry.h.
 */

#include "integrations_notify_retry.h"


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
