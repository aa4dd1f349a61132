/*
 * The metrics registry and the "integrations_status" endpoint.
 *
 * One registry for the whole module: every sibling module that has
 * something to count registers a collector at configuration time (from
 * its postconfiguration), and the endpoint calls the collectors, in the
 * order they were registered, with a writer that renders either the
 * Prometheus text exposition format (version 0.0.4) or JSON:
 *
 *     static ngx_int_t
 *     my_collect(ngx_http_integrations_status_writer_t *w, void *data)
 *     {
 *         ngx_http_integrations_status_label_t  l[1];
 *
 *         ngx_str_set(&l[0].name, "zone");
 *         l[0].value = zone_name;
 *
 *         if (ngx_http_integrations_status_family(w, "x_requests_total",
 *                 NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, "Requests.")
 *             != NGX_OK)
 *         {
 *             return NGX_ERROR;
 *         }
 *
 *         return ngx_http_integrations_status_sample(w, l, 1, count);
 *     }
 *
 * A family (metric name) must be written once, with all its samples after
 * it: a collector that reports several zones iterates the zones inside
 * each family.  Names are "integrations_<module>_<what>", counters end in
 * "_total".  Collectors run in the request's worker, with no lock held:
 * they take their zones' locks themselves, and should copy what they need
 * under the lock rather than write while holding it.
 *
 * Values that must agree across workers live in shared memory.  For a
 * plain counter with no zone of its own, the registry offers shared
 * counters: ngx_http_integrations_status_add_counter() at configuration
 * time, ngx_http_integrations_status_increment() at run time (lock-free).
 * They keep their values across reloads (matched by name) and are
 * reported by the registry itself.
 */

#ifndef NGX_HTTP_INTEGRATIONS_STATUS_H
#define NGX_HTTP_INTEGRATIONS_STATUS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef enum {
    NGX_HTTP_INTEGRATIONS_STATUS_COUNTER = 0,
    NGX_HTTP_INTEGRATIONS_STATUS_GAUGE,
    NGX_HTTP_INTEGRATIONS_STATUS_HISTOGRAM
} ngx_http_integrations_status_type_e;


typedef struct {
    ngx_str_t  name;                  /* [a-zA-Z_][a-zA-Z0-9_]* */
    ngx_str_t  value;                 /* any bytes; escaped on output */
} ngx_http_integrations_status_label_t;


typedef struct ngx_http_integrations_status_writer_s
    ngx_http_integrations_status_writer_t;

typedef struct ngx_http_integrations_status_counter_s
    ngx_http_integrations_status_counter_t;

typedef ngx_int_t (*ngx_http_integrations_status_collect_pt)(
    ngx_http_integrations_status_writer_t *w, void *data);


/* Configuration time (postconfiguration). */

ngx_int_t ngx_http_integrations_status_add_collector(ngx_conf_t *cf,
    ngx_http_integrations_status_collect_pt collect, void *data);

/* name and help are static strings; returns NULL on error */
ngx_http_integrations_status_counter_t *
    ngx_http_integrations_status_add_counter(ngx_conf_t *cf,
    const char *name, const char *help);


/* Run time. */

void ngx_http_integrations_status_increment(
    ngx_http_integrations_status_counter_t *counter);

/* name and help are static strings */
ngx_int_t ngx_http_integrations_status_family(
    ngx_http_integrations_status_writer_t *w, const char *name,
    ngx_http_integrations_status_type_e type, const char *help);

/* the request's pool, for a collector's copies */
ngx_pool_t *ngx_http_integrations_status_pool(
    ngx_http_integrations_status_writer_t *w);

ngx_int_t ngx_http_integrations_status_sample(
    ngx_http_integrations_status_writer_t *w,
    ngx_http_integrations_status_label_t *labels, ngx_uint_t nlabels,
    uint64_t value);

/*
 * One histogram of a HISTOGRAM family: counts[i] observations fell in
 * bucket i, that is at most le[i] and above le[i - 1] (not cumulative:
 * the writer accumulates them), and count - sum(counts) above the last
 * bound; le[] are static strings ("0.05", "1"), in increasing order.
 * sum_milli is the sum of the observations in thousandths of the unit
 * (ms for seconds), written with three decimals.  The text format gets
 * name_bucket{...,le="..."} lines up to le="+Inf", name_sum and
 * name_count; JSON one sample {"labels":{...},"buckets":[{"le":"0.05",
 * "count":3},...],"sum":0.123,"count":5}.
 */
ngx_int_t ngx_http_integrations_status_histogram(
    ngx_http_integrations_status_writer_t *w,
    ngx_http_integrations_status_label_t *labels, ngx_uint_t nlabels,
    const char **le, uint64_t *counts, ngx_uint_t nbuckets,
    uint64_t count, uint64_t sum_milli);


extern ngx_module_t  ngx_http_integrations_status_module;

#endif /* NGX_HTTP_INTEGRATIONS_STATUS_H */
