/*
 * The payments API's metrics: see ngx_http_integrations_payments_metrics.h.
 *
 * One dense table of cells in a shared memory zone, a cell per provider,
 * operation and currency, laid out at configuration time; the workers
 * add to it with atomic operations, no lock.  A reload keeps the values
 * if the layout (providers, currencies, buckets) is the same.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_integrations_payments.h"
#include "ngx_http_integrations_payments_metrics.h"
#include "ngx_http_integrations_status.h"


#define NGX_HTTP_PAY_METRICS_MAGIC    0x49504d54  /* "IPMT" */
#define NGX_HTTP_PAY_METRICS_VERSION  1
#define NGX_HTTP_PAY_METRICS_OPS      4
#define NGX_HTTP_PAY_METRICS_ERRORS   10
#define NGX_HTTP_PAY_METRICS_BUCKETS  8


typedef struct {
    ngx_atomic_t                  successes;
    ngx_atomic_t                  failures[NGX_HTTP_PAY_METRICS_ERRORS];
    ngx_atomic_t                  buckets[NGX_HTTP_PAY_METRICS_BUCKETS + 1];
    ngx_atomic_t                  sum_ms;
} ngx_http_integrations_pay_metrics_cell_t;


typedef struct {
    uint32_t                      magic;
    uint32_t                      version;
    uint32_t                      layout;      /* crc32 of the layout */
    uint32_t                      ncells;
    ngx_http_integrations_pay_metrics_cell_t  cells[1];
} ngx_http_integrations_pay_metrics_shctx_t;


struct ngx_http_integrations_pay_metrics_s {
    ngx_http_integrations_pay_metrics_shctx_t  *sh;
    ngx_shm_zone_t               *shm_zone;
    ngx_str_t                    *providers;   /* then "none" */
    ngx_uint_t                    nproviders;
    ngx_array_t                   currencies;  /* of ngx_str_t; then
                                                  "none", "other" */
    ngx_uint_t                    ncells;
    uint32_t                      layout;
};


static ngx_int_t ngx_http_integrations_pay_metrics_collect(
    ngx_http_integrations_status_writer_t *w, void *data);
static ngx_int_t ngx_http_integrations_pay_metrics_index(const char *s,
    const char **list, ngx_uint_t n);
static void ngx_http_integrations_pay_metrics_labels(
    ngx_http_integrations_pay_metrics_t *m, ngx_uint_t cell,
    ngx_http_integrations_status_label_t *l);
static ngx_int_t ngx_http_integrations_pay_metrics_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);


static const char  *ngx_http_pay_metrics_ops[] = {
    "create", "get", "refund", "capture"
};

/* as ngx_http_integrations_pay_metrics_observe() gets them */

static const char  *ngx_http_pay_metrics_errors[] = {
    "invalid", "declined", "not_found", "conflict", "rate_limited",
    "breaker_open", "unavailable", "timeout", "client_closed", "internal"
};

static ngx_msec_t  ngx_http_pay_metrics_bounds[] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000
};

static const char  *ngx_http_pay_metrics_le[] = {
    "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"
};

static ngx_str_t  ngx_http_pay_metrics_zone_name =
    ngx_string("integrations_payment_metrics");


ngx_http_integrations_pay_metrics_t *
ngx_http_integrations_pay_metrics_create(ngx_conf_t *cf, ngx_str_t *names,
    ngx_str_t *currencies, ngx_uint_t n)
{
    size_t                                size;
    u_char                               *s, *end;
    uint32_t                              crc;
    ngx_str_t                            *c;
    ngx_uint_t                            i, j;
    ngx_http_integrations_pay_metrics_t  *m;

    m = ngx_pcalloc(cf->pool, sizeof(ngx_http_integrations_pay_metrics_t));
    if (m == NULL) {
        return NULL;
    }

    m->providers = names;
    m->nproviders = n;

    if (ngx_array_init(&m->currencies, cf->pool, 16, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    ngx_crc32_init(crc);

    /* the union of the providers' currencies, in order of appearance */

    for (i = 0; i < n; i++) {
        ngx_crc32_update(&crc, names[i].data, names[i].len);
        ngx_crc32_update(&crc, (u_char *) "/", 1);

        s = currencies[i].data;
        end = s + currencies[i].len;

        for ( /* void */ ; s + 3 <= end; s += 4) {
            c = m->currencies.elts;

            for (j = 0; j < m->currencies.nelts; j++) {
                if (ngx_strncmp(c[j].data, s, 3) == 0) {
                    break;
                }
            }

            if (j < m->currencies.nelts) {
                continue;
            }

            c = ngx_array_push(&m->currencies);
            if (c == NULL) {
                return NULL;
            }

            c->data = s;
            c->len = 3;

            ngx_crc32_update(&crc, s, 3);
        }
    }

    ngx_crc32_final(crc);

    m->layout = crc ^ (NGX_HTTP_PAY_METRICS_BUCKETS << 8)
                ^ NGX_HTTP_PAY_METRICS_ERRORS;

    m->ncells = (n + 1) * NGX_HTTP_PAY_METRICS_OPS
                * (m->currencies.nelts + 2);

    size = offsetof(ngx_http_integrations_pay_metrics_shctx_t, cells)
           + m->ncells * sizeof(ngx_http_integrations_pay_metrics_cell_t);

    /* the slab pool's own pages and descriptors come on top */

    size = ngx_align(size, ngx_pagesize) + 8 * ngx_pagesize;

    /* the tag outlives the cycle: a reload finds the zone again */

    m->shm_zone = ngx_shared_memory_add(cf, &ngx_http_pay_metrics_zone_name,
                                        size,
                                        &ngx_http_integrations_payments_module);
    if (m->shm_zone == NULL) {
        return NULL;
    }

    m->shm_zone->init = ngx_http_integrations_pay_metrics_init_zone;
    m->shm_zone->data = m;

    if (ngx_http_integrations_status_add_collector(cf,
            ngx_http_integrations_pay_metrics_collect, m)
        != NGX_OK)
    {
        return NULL;
    }

    return m;
}


void
ngx_http_integrations_pay_metrics_observe(
    ngx_http_integrations_pay_metrics_t *m, ngx_str_t *provider,
    const char *op, const char *currency, const char *error,
    ngx_msec_t duration)
{
    ngx_int_t                                  o, e;
    ngx_str_t                                 *c;
    ngx_uint_t                                 p, k, b;
    ngx_http_integrations_pay_metrics_cell_t  *cell;

    if (m->sh == NULL) {
        return;
    }

    o = ngx_http_integrations_pay_metrics_index(op, ngx_http_pay_metrics_ops,
                                                NGX_HTTP_PAY_METRICS_OPS);
    if (o == NGX_ERROR) {
        /* "providers", "unknown": not a payment */
        return;
    }

    for (p = 0; p < m->nproviders; p++) {
        if (m->providers[p].len == provider->len
            && ngx_strncmp(m->providers[p].data, provider->data,
                           provider->len) == 0)
        {
            break;
        }
    }

    c = m->currencies.elts;

    if (currency == NULL || currency[0] == '\0') {
        k = m->currencies.nelts;                           /* "none" */

    } else {
        for (k = 0; k < m->currencies.nelts; k++) {
            if (ngx_strlen(currency) == 3
                && ngx_strncmp(c[k].data, currency, 3) == 0)
            {
                break;
            }
        }

        if (k == m->currencies.nelts) {
            k++;                                           /* "other" */
        }
    }

    cell = &m->sh->cells[(p * NGX_HTTP_PAY_METRICS_OPS + o)
                         * (m->currencies.nelts + 2) + k];

    if (error == NULL) {
        (void) ngx_atomic_fetch_add(&cell->successes, 1);

    } else {
        e = ngx_http_integrations_pay_metrics_index(error,
                                                ngx_http_pay_metrics_errors,
                                                NGX_HTTP_PAY_METRICS_ERRORS);
        if (e == NGX_ERROR) {
            e = NGX_HTTP_PAY_METRICS_ERRORS - 1;           /* "internal" */
        }

        (void) ngx_atomic_fetch_add(&cell->failures[e], 1);
    }

    for (b = 0; b < NGX_HTTP_PAY_METRICS_BUCKETS; b++) {
        if (duration <= ngx_http_pay_metrics_bounds[b]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&cell->buckets[b], 1);
    (void) ngx_atomic_fetch_add(&cell->sum_ms, duration);
}


static ngx_int_t
ngx_http_integrations_pay_metrics_index(const char *s, const char **list,
    ngx_uint_t n)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(s, list[i]) == 0) {
            return i;
        }
    }

    return NGX_ERROR;
}


/* provider, operation, currency of a cell */

static void
ngx_http_integrations_pay_metrics_labels(
    ngx_http_integrations_pay_metrics_t *m, ngx_uint_t cell,
    ngx_http_integrations_status_label_t *l)
{
    ngx_str_t   *c;
    ngx_uint_t   nc, p, o, k;

    nc = m->currencies.nelts + 2;
    k = cell % nc;
    o = (cell / nc) % NGX_HTTP_PAY_METRICS_OPS;
    p = cell / nc / NGX_HTTP_PAY_METRICS_OPS;

    ngx_str_set(&l[0].name, "provider");
    ngx_str_set(&l[1].name, "operation");
    ngx_str_set(&l[2].name, "currency");

    if (p < m->nproviders) {
        l[0].value = m->providers[p];

    } else {
        ngx_str_set(&l[0].value, "none");
    }

    l[1].value.data = (u_char *) ngx_http_pay_metrics_ops[o];
    l[1].value.len = ngx_strlen(ngx_http_pay_metrics_ops[o]);

    c = m->currencies.elts;

    if (k < m->currencies.nelts) {
        l[2].value = c[k];

    } else if (k == m->currencies.nelts) {
        ngx_str_set(&l[2].value, "none");

    } else {
        ngx_str_set(&l[2].value, "other");
    }
}


/*
 * Series appear once they count something: the cross product of
 * providers, operations, currencies and errors is mostly empty.
 */

static ngx_int_t
ngx_http_integrations_pay_metrics_collect(
    ngx_http_integrations_status_writer_t *w, void *data)
{
    ngx_http_integrations_pay_metrics_t *m = data;

    uint64_t                                   *snap, *s, failures, count,
                                                sum, buckets[
                                                NGX_HTTP_PAY_METRICS_BUCKETS];
    ngx_uint_t                                  i, j, k, nc, per, family;
    ngx_http_integrations_status_label_t         l[4];
    ngx_http_integrations_pay_metrics_cell_t   *cell;

    static const char  *names[] = {
        "integrations_payment_attempts_total",
        "integrations_payment_successes_total",
        "integrations_payment_failures_total"
    };

    static const char  *help[] = {
        "Payments API requests, by provider, operation and currency.",
        "Payments API requests answered with success.",
        "Payments API requests that failed, by error type."
    };

    if (m->sh == NULL) {
        return NGX_OK;
    }

    /* a copy first, so that every family tells of the same moment */

    per = sizeof(ngx_http_integrations_pay_metrics_cell_t)
          / sizeof(ngx_atomic_t);

    snap = ngx_palloc(ngx_http_integrations_status_pool(w),
                      m->ncells * per * sizeof(uint64_t));
    if (snap == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < m->ncells; i++) {
        cell = &m->sh->cells[i];

        for (j = 0; j < per; j++) {
            snap[i * per + j] = ((ngx_atomic_t *) cell)[j];
        }
    }

    ngx_str_set(&l[3].name, "error");

    for (family = 0; family < 3; family++) {

        if (ngx_http_integrations_status_family(w, names[family],
                                        NGX_HTTP_INTEGRATIONS_STATUS_COUNTER,
                                        help[family])
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i < m->ncells; i++) {
            s = &snap[i * per];

            /* successes, failures[], buckets[], sum_ms */

            failures = 0;

            for (j = 0; j < NGX_HTTP_PAY_METRICS_ERRORS; j++) {
                failures += s[1 + j];
            }

            if (s[0] + failures == 0) {
                continue;
            }

            ngx_http_integrations_pay_metrics_labels(m, i, l);

            if (family < 2) {
                if (ngx_http_integrations_status_sample(w, l, 3,
                        family == 0 ? s[0] + failures : s[0])
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                continue;
            }

            for (j = 0; j < NGX_HTTP_PAY_METRICS_ERRORS; j++) {
                if (s[1 + j] == 0) {
                    continue;
                }

                l[3].value.data = (u_char *) ngx_http_pay_metrics_errors[j];
                l[3].value.len = ngx_strlen(ngx_http_pay_metrics_errors[j]);

                if (ngx_http_integrations_status_sample(w, l, 4, s[1 + j])
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }
        }
    }

    if (ngx_http_integrations_status_family(w,
            "integrations_payment_duration_seconds",
            NGX_HTTP_INTEGRATIONS_STATUS_HISTOGRAM,
            "Payments API request durations, from the request to its "
            "answer.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* by provider and operation: the currencies of a cell row summed */

    nc = m->currencies.nelts + 2;

    for (i = 0; i < m->ncells; i += nc) {
        ngx_memzero(buckets, sizeof(buckets));
        count = 0;
        sum = 0;

        for (k = 0; k < nc; k++) {
            s = &snap[(i + k) * per + 1 + NGX_HTTP_PAY_METRICS_ERRORS];

            for (j = 0; j <= NGX_HTTP_PAY_METRICS_BUCKETS; j++) {
                if (j < NGX_HTTP_PAY_METRICS_BUCKETS) {
                    buckets[j] += s[j];
                }

                count += s[j];
            }

            sum += s[NGX_HTTP_PAY_METRICS_BUCKETS + 1];
        }

        if (count == 0) {
            continue;
        }

        ngx_http_integrations_pay_metrics_labels(m, i, l);

        if (ngx_http_integrations_status_histogram(w, l, 2,
                                           ngx_http_pay_metrics_le, buckets,
                                           NGX_HTTP_PAY_METRICS_BUCKETS,
                                           count, sum)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_integrations_pay_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data)
{
    ngx_http_integrations_pay_metrics_t  *m = shm_zone->data;

    size_t                                      size;
    ngx_slab_pool_t                            *shpool;
    ngx_http_integrations_pay_metrics_shctx_t  *sh;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    size = offsetof(ngx_http_integrations_pay_metrics_shctx_t, cells)
           + m->ncells * sizeof(ngx_http_integrations_pay_metrics_cell_t);

    if (data || shm_zone->shm.exists) {

        /* a reload: the totals stay if they mean the same */

        sh = shpool->data;

        if (sh != NULL
            && sh->magic == NGX_HTTP_PAY_METRICS_MAGIC
            && sh->version == NGX_HTTP_PAY_METRICS_VERSION
            && sh->layout == m->layout
            && sh->ncells == m->ncells)
        {
            m->sh = sh;
            return NGX_OK;
        }

        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "payment metrics reset, the providers or their "
                      "currencies changed");

        ngx_slab_init(shpool);
    }

    sh = ngx_slab_calloc(shpool, size);
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->magic = NGX_HTTP_PAY_METRICS_MAGIC;
    sh->version = NGX_HTTP_PAY_METRICS_VERSION;
    sh->layout = m->layout;
    sh->ncells = m->ncells;

    shpool->data = sh;
    m->sh = sh;

    return NGX_OK;
}
