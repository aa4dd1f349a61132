/*
 * GCRA across gateway nodes, on Redis: see integrations_gcra_cluster.h.
 *
 * The script is integrations_gcra_decide() in microseconds: admitted if
 * TAT <= now + TAU; then TAT' = max(TAT, now) + T.  string.format("%d")
 * writes the TAT as an integer (tostring() would give 1.7e+15).  Redis 7
 * replicates a script's effects, not the script, so a write after TIME
 * is allowed.  The TTL is the time until TAT, plus a ms: a key that has
 * expired is as good as fresh.
 */

#include "integrations_gcra_cluster.h"


const char  integrations_gcra_cluster_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local T = tonumber(ARGV[1])\n"
    "local tau = tonumber(ARGV[2])\n"
    "local op = ARGV[3]\n"
    "local tat = tonumber(redis.call('GET', KEYS[1])) or now\n"
    "if tat < now then tat = now end\n"
    "if op == '2' then\n"
    "  local n = tonumber(ARGV[4])\n"
    "  if n > 0 then\n"
    "    tat = tat + n * T\n"
    "    redis.call('SET', KEYS[1], string.format('%d', tat), 'PX',\n"
    "               math.floor((tat - now) / 1000) + 1)\n"
    "  end\n"
    "  return {tat - now}\n"
    "end\n"
    "local limit = now + tau\n"
    "if tat > limit then\n"
    "  return {0, tat - limit, tat - now, 0}\n"
    "end\n"
    "local new = tat + T\n"
    "if op == '1' then\n"
    "  redis.call('SET', KEYS[1], string.format('%d', new), 'PX',\n"
    "             math.floor((new - now) / 1000) + 1)\n"
    "end\n"
    "local rem = 0\n"
    "if new <= limit then rem = math.floor((limit - new) / T) + 1 end\n"
    "return {1, tat - now, new - now, rem}\n";


void
integrations_gcra_cluster_args(const integrations_gcra_params_t *params,
    uint64_t *interval_us, uint64_t *tau_us)
{
    uint64_t  t;

    /* period * 1000 is at most 8.64 * 10^10: no overflow */

    t = ((uint64_t) params->period * 1000 + params->count - 1)
        / params->count;

    *interval_us = t;
    *tau_us = t * params->burst;
}


const char *
integrations_gcra_cluster_result(const int64_t *v, size_t n,
    const integrations_gcra_params_t *params, integrations_gcra_mode_e mode,
    integrations_gcra_result_t *result, uint64_t *ahead_ms)
{
    uint64_t  wait, reset;

    if (n != 4 || (v[0] != 0 && v[0] != 1) || v[1] < 0 || v[2] < 0
        || v[3] < 0)
    {
        return "unexpected answer of the rate limit script";
    }

    wait = ((uint64_t) v[1] + 999) / 1000;
    reset = ((uint64_t) v[2] + 999) / 1000;

    result->limit = (uint64_t) params->burst + 1;
    result->delay = 0;
    result->retry_after = 0;
    result->reset = reset;
    result->remaining = (uint64_t) v[3];

    *ahead_ms = reset;

    if (v[0] == 0) {
        /* rejected: at least a ms, as the local limiter says */
        result->retry_after = wait ? wait : 1;
        result->remaining = 0;
        result->verdict = INTEGRATIONS_GCRA_REJECTED;

        return NULL;
    }

    if (mode == INTEGRATIONS_GCRA_DELAY && v[1] > 0) {
        result->delay = wait;
        result->verdict = INTEGRATIONS_GCRA_DELAYED;

    } else {
        result->verdict = INTEGRATIONS_GCRA_PASSED;
    }

    return NULL;
}


const char *
integrations_gcra_cluster_local(const integrations_gcra_params_t *params,
    uint32_t nodes, integrations_gcra_params_t *local)
{
    uint64_t  period;

    if (nodes == 0) {
        return "nodes must be positive";
    }

    period = (uint64_t) params->period * nodes;

    if (period > INTEGRATIONS_GCRA_MAX_PERIOD) {
        return "the rate divided by nodes is below one request a day";
    }

    return integrations_gcra_params_init(local, params->count,
                                         (uint32_t) period,
                                         params->burst / nodes);
}
