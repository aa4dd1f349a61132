/*
 * GCRA across gateway nodes, on Redis: the pure core of
 * rate_limit_zone ... scope=cluster.
 *
 * The decision is one Lua script that Redis runs atomically (EVALSHA, and
 * EVAL when Redis answers NOSCRIPT), on Redis's clock (TIME): the nodes'
 * clocks never meet, and no node reads a TAT and writes it back later
 * (the mistake of Kong's and APISIX's first Redis limiters, which let
 * concurrent requests see the same count).  The key holds the TAT in
 * microseconds as a decimal string, with a TTL at which it is as good as
 * fresh.
 *
 *     EVALSHA sha 1 KEY  T  TAU  OP  N
 *
 * T and TAU are the emission interval and the tolerance in microseconds
 * (integrations_gcra_cluster_args()): T is rounded up to a whole
 * microsecond, so the cluster's rate is never above the configured one
 * (3r/s admits one request per 333334 us).  Lua numbers are doubles,
 * exact to 2^53 us (285 years of the Unix epoch).  OP:
 *
 *   CHECK (0)  the decision, the key untouched;
 *   TAKE  (1)  the decision, and an admitted request's TAT written;
 *              with N > 1, the decisions of N requests at one instant
 *              (a worker's requests for one key in one pass of its event
 *              loop: one command for them all), answered as below with
 *              admitted = k, the number admitted (the first k of them),
 *              wait that of the first and reset, remaining after the
 *              k-th; integrations_gcra_cluster_nth() gives each its own;
 *   ADD   (2)  sync=: N admissions made locally are added to the TAT
 *              (TAT = max(TAT, now) + N T), whatever the limit.
 *
 * CHECK and TAKE answer {admitted, wait, reset, remaining}: admitted 1 or
 * 0; for an admitted request wait = max(TAT, now) - now (its delay in
 * DELAY mode) and reset = TAT' - now; for a rejected one wait is the
 * retry-after (TAT - now - TAU) and reset = TAT - now; remaining is the
 * admissions left right now, as in integrations_gcra_decide().  ADD
 * answers {TAT' - now}: how far the cluster's TAT is ahead of now.
 */

#ifndef INTEGRATIONS_GCRA_CLUSTER_H
#define INTEGRATIONS_GCRA_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "integrations_gcra.h"


#define INTEGRATIONS_GCRA_CLUSTER_CHECK  0
#define INTEGRATIONS_GCRA_CLUSTER_TAKE   1
#define INTEGRATIONS_GCRA_CLUSTER_ADD    2


extern const char  integrations_gcra_cluster_script[];


/* T and TAU of params, in microseconds */
void integrations_gcra_cluster_args(const integrations_gcra_params_t *params,
    uint64_t *interval_us, uint64_t *tau_us);

/*
 * The i-th (from 0) of the count requests of one TAKE of count: the
 * answer (v, n integers) a TAKE of its own would have had at that
 * instant, in one[4].  Returns NULL, or a message if v is not an answer.
 */
const char *integrations_gcra_cluster_nth(const int64_t *v, size_t n,
    uint64_t count, uint64_t i, uint64_t interval_us, uint64_t tau_us,
    int64_t *one);

/*
 * The answer of CHECK or TAKE (its n integers) as the result
 * integrations_gcra_decide() gives, in whole ms rounded up; *ahead_ms is
 * how far the key's TAT is ahead of now after it (for the rate limit
 * headers).  Returns NULL, or a message if the answer is not one.
 */
const char *integrations_gcra_cluster_result(const int64_t *v, size_t n,
    const integrations_gcra_params_t *params, integrations_gcra_mode_e mode,
    integrations_gcra_result_t *result, uint64_t *ahead_ms);

/*
 * The parameters a node falls back to while Redis cannot be reached:
 * the zone's quota shared among "nodes" nodes, count / nodes requests per
 * period (exactly: count per nodes * period) and burst / nodes, so that
 * the nodes together never admit more than the zone admits, up to
 * nodes - 1 requests of rounding.  NULL or a message.
 */
const char *integrations_gcra_cluster_local(
    const integrations_gcra_params_t *params, uint32_t nodes,
    integrations_gcra_params_t *local);


#endif /* INTEGRATIONS_GCRA_CLUSTER_H */
