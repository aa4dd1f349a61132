/*
 * GCRA across gateway nodes, on Redis: see integrations_gcra_cluster.h.
 *
 * The script is integrations_gcra_decide() in microseconds: admitted if
 * TAT <= now + TAU; then TAT' = max(TAT, now) + T.  string.format("%d")
 * writes the TAT as an integer (tostring() would give 1.7e+15).  Redis 7
 * replicates a script's effects, not the script, so a write after TIME
 * is allowed.  The TTL is the time until TAT, plus a ms: a key that has
 * expired is as good as fresh.  A TAKE of N admits the first
 * k = min(N, (limit - TAT) / T + 1) at once: N requests at one instant,
 * decided in order, as N TAKEs in a row would.
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
    "local k = 1\n"
    "if op == '1' then\n"
    "  k = math.min(tonumber(ARGV[4]), math.floor((limit - tat) / T) + 1)\n"
    "  if k < 1 then k = 1 end\n"
    "end\n"
    "local new = tat + k * T\n"
    "if op == '1' then\n"
    "  redis.call('SET', KEYS[1], string.format('%d', new), 'PX',\n"
    "             math.floor((new - now) / 1000) + 1)\n"
    "end\n"
    "local rem = 0\n"
    "if new <= limit then rem = math.floor((limit - new) / T) + 1 end\n"
    "return {k, tat - now, new - now, rem}\n";


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
integrations_gcra_cluster_nth(const int64_t *v, size_t n, uint64_t count,
    uint64_t i, uint64_t interval_us, uint64_t tau_us, int64_t *one)
{
    int64_t  t, tau, tat, k;

    t = (int64_t) interval_us;
    tau = (int64_t) tau_us;

    if (n != 4 || v[0] < 0 || (uint64_t) v[0] > count || v[1] < 0
        || v[2] < 0 || v[3] < 0 || i >= count || t <= 0)
    {
        return "unexpected answer of the rate limit script";
    }

    k = v[0];

    if (k == 0) {
        /* all rejected, with the same wait */
        one[0] = 0; one[1] = v[1]; one[2] = v[2]; one[3] = 0;
        return NULL;
    }

    if ((int64_t) i >= k) {
        /* after the k admitted: the TAT they left, over the limit */
        tat = v[2];
        one[0] = 0; one[1] = tat > tau ? tat - tau : 0; one[2] = tat;
        one[3] = 0;
        return NULL;
    }

    tat = v[1] + (int64_t) i * t;

    one[0] = 1;
    one[1] = tat;
    one[2] = tat + t;
    one[3] = (tat + t <= tau) ? (tau - tat - t) / t + 1 : 0;

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
