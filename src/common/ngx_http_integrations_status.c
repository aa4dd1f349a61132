/*
 * The metrics registry and the "integrations_status" endpoint: see
 * ngx_http_integrations_status.h.
 *
 *     location = /metrics {
 *         integrations_status;
 *         allow 127.0.0.1;
 *         deny all;
 *     }
 *
 * GET /metrics answers the Prometheus text exposition format;
 * GET /metrics?format=json the same families as JSON:
 *
 *     {"metrics":[{"name":"...","type":"counter","help":"...",
 *                  "samples":[{"labels":{"zone":"api"},"value":12}]}]}
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_integrations_status.h"


#define NGX_HTTP_INTEGRATIONS_STATUS_MAGIC     0x49535443  /* "ISTC" */
#define NGX_HTTP_INTEGRATIONS_STATUS_VERSION   1
#define NGX_HTTP_INTEGRATIONS_STATUS_SLOTS     64
#define NGX_HTTP_INTEGRATIONS_STATUS_NAME_LEN  64
#define NGX_HTTP_INTEGRATIONS_STATUS_BUF_SIZE  4096


typedef struct {
    ngx_http_integrations_status_collect_pt   collect;
    void                                     *data;
} ngx_http_integrations_status_collector_t;


struct ngx_http_integrations_status_counter_s {
    const char                               *name;
    const char                               *help;
    ngx_atomic_t                             *value;
    ngx_atomic_t                              local;  /* if no slot */
};


/* the shared counters zone: a fixed table of named slots */

typedef struct {
    u_char                                    name[
                                       NGX_HTTP_INTEGRATIONS_STATUS_NAME_LEN];
    ngx_atomic_t                              value;
} ngx_http_integrations_status_slot_t;


typedef struct {
    uint32_t                                  magic;
    uint32_t                                  version;
    uint32_t                                  size;   /* of this struct */
    uint32_t                                  nslots;
    ngx_http_integrations_status_slot_t       slots[
                                           NGX_HTTP_INTEGRATIONS_STATUS_SLOTS];
} ngx_http_integrations_status_shctx_t;


typedef struct {
    ngx_array_t                               collectors;
    ngx_array_t                               counters;  /* of pointers */
    ngx_shm_zone_t                           *shm_zone;
} ngx_http_integrations_status_main_conf_t;


struct ngx_http_integrations_status_writer_s {
    ngx_http_request_t                       *request;
    ngx_chain_t                              *out;
    ngx_chain_t                             **last;
    ngx_buf_t                                *buf;
    const char                               *family;
    ngx_uint_t                                families;
    ngx_uint_t                                samples;
    unsigned                                  json:1;
};


static ngx_int_t ngx_http_integrations_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_integrations_status_collect_counters(
    ngx_http_integrations_status_writer_t *w, void *data);
static u_char *ngx_http_integrations_status_reserve(
    ngx_http_integrations_status_writer_t *w, size_t size);
static ngx_int_t ngx_http_integrations_status_write(
    ngx_http_integrations_status_writer_t *w, const char *s);
static ngx_int_t ngx_http_integrations_status_end_family(
    ngx_http_integrations_status_writer_t *w);
static u_char *ngx_http_integrations_status_labels(u_char *p,
    ngx_http_integrations_status_label_t *labels, ngx_uint_t nlabels,
    ngx_uint_t json);
static u_char *ngx_http_integrations_status_escape(u_char *dst,
    ngx_str_t *src);
static ngx_int_t ngx_http_integrations_status_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static char *ngx_http_integrations_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_integrations_status_create_main_conf(ngx_conf_t *cf);


static ngx_command_t  ngx_http_integrations_status_commands[] = {

    { ngx_string("integrations_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_integrations_status,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_integrations_status_module_ctx = {
    NULL,                                          /* preconfiguration */
    NULL,                                          /* postconfiguration */

    ngx_http_integrations_status_create_main_conf, /* create main conf */
    NULL,                                          /* init main conf */

    NULL,                                          /* create server conf */
    NULL,                                          /* merge server conf */

    NULL,                                          /* create location conf */
    NULL                                           /* merge location conf */
};


ngx_module_t  ngx_http_integrations_status_module = {
    NGX_MODULE_V1,
    &ngx_http_integrations_status_module_ctx,      /* module context */
    ngx_http_integrations_status_commands,         /* module directives */
    NGX_HTTP_MODULE,                               /* module type */
    NULL,                                          /* init master */
    NULL,                                          /* init module */
    NULL,                                          /* init process */
    NULL,                                          /* init thread */
    NULL,                                          /* exit thread */
    NULL,                                          /* exit process */
    NULL,                                          /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_integrations_status_zone_name =
    ngx_string("ngx_integrations_counters");


ngx_int_t
ngx_http_integrations_status_add_collector(ngx_conf_t *cf,
    ngx_http_integrations_status_collect_pt collect, void *data)
{
    ngx_http_integrations_status_collector_t  *c;
    ngx_http_integrations_status_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                       ngx_http_integrations_status_module);

    c = ngx_array_push(&smcf->collectors);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->collect = collect;
    c->data = data;

    return NGX_OK;
}


ngx_http_integrations_status_counter_t *
ngx_http_integrations_status_add_counter(ngx_conf_t *cf, const char *name,
    const char *help)
{
    ngx_http_integrations_status_counter_t    *c, **cp;
    ngx_http_integrations_status_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                       ngx_http_integrations_status_module);

    if (ngx_strlen(name) >= NGX_HTTP_INTEGRATIONS_STATUS_NAME_LEN
        || smcf->counters.nelts >= NGX_HTTP_INTEGRATIONS_STATUS_SLOTS)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "integrations: cannot register counter \"%s\"",
                           name);
        return NULL;
    }

    if (smcf->shm_zone == NULL) {
        smcf->shm_zone = ngx_shared_memory_add(cf,
                                     &ngx_http_integrations_status_zone_name,
                                     8 * ngx_pagesize,
                                     &ngx_http_integrations_status_module);
        if (smcf->shm_zone == NULL) {
            return NULL;
        }

        smcf->shm_zone->init = ngx_http_integrations_status_init_zone;
        smcf->shm_zone->data = smcf;

        if (ngx_http_integrations_status_add_collector(cf,
                ngx_http_integrations_status_collect_counters, smcf)
            != NGX_OK)
        {
            return NULL;
        }
    }

    c = ngx_pcalloc(cf->pool, sizeof(ngx_http_integrations_status_counter_t));
    if (c == NULL) {
        return NULL;
    }

    c->name = name;
    c->help = help;
    c->value = &c->local;

    cp = ngx_array_push(&smcf->counters);
    if (cp == NULL) {
        return NULL;
    }

    *cp = c;

    return c;
}


void
ngx_http_integrations_status_increment(
    ngx_http_integrations_status_counter_t *counter)
{
    if (counter) {
        (void) ngx_atomic_fetch_add(counter->value, 1);
    }
}


static ngx_int_t
ngx_http_integrations_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                                  rc;
    ngx_str_t                                  format;
    ngx_uint_t                                 i;
    ngx_chain_t                               *cl;
    ngx_http_integrations_status_writer_t      w;
    ngx_http_integrations_status_collector_t  *c;
    ngx_http_integrations_status_main_conf_t  *smcf;

    static ngx_str_t  text = ngx_string("text/plain; version=0.0.4");
    static ngx_str_t  json = ngx_string("application/json");

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_memzero(&w, sizeof(ngx_http_integrations_status_writer_t));

    w.request = r;
    w.last = &w.out;

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK
        && format.len == 4 && ngx_strncmp(format.data, "json", 4) == 0)
    {
        w.json = 1;
    }

    if (w.json
        && ngx_http_integrations_status_write(&w, "{\"metrics\":[") != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    smcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_integrations_status_module);

    c = smcf->collectors.elts;

    for (i = 0; i < smcf->collectors.nelts; i++) {
        if (c[i].collect(&w, c[i].data) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_integrations_status_end_family(&w) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (w.json && ngx_http_integrations_status_write(&w, "]}\n") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (w.buf == NULL) {
        /* nothing registered: an empty exposition */
        if (ngx_http_integrations_status_reserve(&w, 0) == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = w.json ? json : text;
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = 0;

    for (cl = w.out; cl; cl = cl->next) {
        r->headers_out.content_length_n += cl->buf->last - cl->buf->pos;
    }

    w.buf->last_buf = (r == r->main) ? 1 : 0;
    w.buf->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, w.out);
}


ngx_int_t
ngx_http_integrations_status_family(ngx_http_integrations_status_writer_t *w,
    const char *name, ngx_http_integrations_status_type_e type,
    const char *help)
{
    u_char      *p;
    size_t       nlen, hlen;
    const char  *t;

    if (ngx_http_integrations_status_end_family(w) != NGX_OK) {
        return NGX_ERROR;
    }

    t = (type == NGX_HTTP_INTEGRATIONS_STATUS_COUNTER) ? "counter"
        : (type == NGX_HTTP_INTEGRATIONS_STATUS_GAUGE) ? "gauge"
        : "histogram";
    nlen = ngx_strlen(name);
    hlen = ngx_strlen(help);

    p = ngx_http_integrations_status_reserve(w, 2 * nlen + hlen + 96);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (w->json) {
        w->buf->last = ngx_sprintf(p, "%s{\"name\":\"%s\",\"type\":\"%s\","
                                   "\"help\":\"%s\",\"samples\":[",
                                   w->families ? "," : "", name, t, help);

    } else {
        w->buf->last = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n",
                                   name, help, name, t);
    }

    w->family = name;
    w->families++;
    w->samples = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_integrations_status_sample(ngx_http_integrations_status_writer_t *w,
    ngx_http_integrations_status_label_t *labels, ngx_uint_t nlabels,
    uint64_t value)
{
    u_char      *p;
    size_t       size;
    ngx_uint_t   i;

    if (w->family == NULL) {
        return NGX_ERROR;
    }

    size = ngx_strlen(w->family) + NGX_INT64_LEN + 32;

    for (i = 0; i < nlabels; i++) {
        size += labels[i].name.len + 2 * labels[i].value.len + 8;
    }

    p = ngx_http_integrations_status_reserve(w, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (w->json) {
        p = ngx_sprintf(p, "%s{\"labels\":{", w->samples ? "," : "");

        for (i = 0; i < nlabels; i++) {
            p = ngx_sprintf(p, "%s\"%V\":\"", i ? "," : "", &labels[i].name);
            p = ngx_http_integrations_status_escape(p, &labels[i].value);
            *p++ = '"';
        }

        p = ngx_sprintf(p, "},\"value\":%uL}", value);

    } else {
        p = ngx_sprintf(p, "%s", w->family);

        for (i = 0; i < nlabels; i++) {
            p = ngx_sprintf(p, "%c%V=\"", i ? ',' : '{', &labels[i].name);
            p = ngx_http_integrations_status_escape(p, &labels[i].value);
            *p++ = '"';
        }

        p = ngx_sprintf(p, "%s %uL\n", nlabels ? "}" : "", value);
    }

    w->buf->last = p;
    w->samples++;

    return NGX_OK;
}


ngx_int_t
ngx_http_integrations_status_histogram(
    ngx_http_integrations_status_writer_t *w,
    ngx_http_integrations_status_label_t *labels, ngx_uint_t nlabels,
    const char **le, uint64_t *counts, ngx_uint_t nbuckets, uint64_t count,
    uint64_t sum_milli)
{
    u_char      *p;
    size_t       size, lsize;
    uint64_t     acc;
    ngx_uint_t   i;

    if (w->family == NULL) {
        return NGX_ERROR;
    }

    lsize = 0;

    for (i = 0; i < nlabels; i++) {
        lsize += labels[i].name.len + 2 * labels[i].value.len + 8;
    }

    /* a line per bucket, +Inf, sum and count, each with the labels */

    size = (nbuckets + 3)
           * (ngx_strlen(w->family) + lsize + 2 * NGX_INT64_LEN + 48);

    for (i = 0; i < nbuckets; i++) {
        size += ngx_strlen(le[i]);
    }

    p = ngx_http_integrations_status_reserve(w, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    acc = 0;

    if (w->json) {
        p = ngx_sprintf(p, "%s{\"labels\":{", w->samples ? "," : "");
        p = ngx_http_integrations_status_labels(p, labels, nlabels, 1);
        p = ngx_sprintf(p, "},\"buckets\":[");

        for (i = 0; i < nbuckets; i++) {
            acc += counts[i];
            p = ngx_sprintf(p, "{\"le\":\"%s\",\"count\":%uL},", le[i],
                            acc);
        }

        p = ngx_sprintf(p, "{\"le\":\"+Inf\",\"count\":%uL}],"
                        "\"sum\":%uL.%03uL,\"count\":%uL}",
                        count, sum_milli / 1000, sum_milli % 1000, count);

    } else {
        for (i = 0; i <= nbuckets; i++) {
            acc += (i < nbuckets) ? counts[i] : 0;

            p = ngx_sprintf(p, "%s_bucket{", w->family);
            p = ngx_http_integrations_status_labels(p, labels, nlabels, 0);
            p = ngx_sprintf(p, "%sle=\"%s\"} %uL\n", nlabels ? "," : "",
                            (i < nbuckets) ? le[i] : "+Inf",
                            (i < nbuckets) ? acc : count);
        }

        p = ngx_sprintf(p, "%s_sum", w->family);

        if (nlabels) {
            *p++ = '{';
            p = ngx_http_integrations_status_labels(p, labels, nlabels, 0);
            *p++ = '}';
        }

        p = ngx_sprintf(p, " %uL.%03uL\n%s_count", sum_milli / 1000,
                        sum_milli % 1000, w->family);

        if (nlabels) {
            *p++ = '{';
            p = ngx_http_integrations_status_labels(p, labels, nlabels, 0);
            *p++ = '}';
        }

        p = ngx_sprintf(p, " %uL\n", count);
    }

    w->buf->last = p;
    w->samples++;

    return NGX_OK;
}


/* name="value",... (text) or "name":"value",... (JSON), no braces */

static u_char *
ngx_http_integrations_status_labels(u_char *p,
    ngx_http_integrations_status_label_t *labels, ngx_uint_t nlabels,
    ngx_uint_t json)
{
    ngx_uint_t  i;

    for (i = 0; i < nlabels; i++) {
        p = ngx_sprintf(p, json ? "%s\"%V\":\"" : "%s%V=\"", i ? "," : "",
                        &labels[i].name);
        p = ngx_http_integrations_status_escape(p, &labels[i].value);
        *p++ = '"';
    }

    return p;
}


ngx_pool_t *
ngx_http_integrations_status_pool(ngx_http_integrations_status_writer_t *w)
{
    return w->request->pool;
}


static ngx_int_t
ngx_http_integrations_status_end_family(
    ngx_http_integrations_status_writer_t *w)
{
    if (w->family == NULL) {
        return NGX_OK;
    }

    w->family = NULL;

    return w->json ? ngx_http_integrations_status_write(w, "]}") : NGX_OK;
}


static ngx_int_t
ngx_http_integrations_status_collect_counters(
    ngx_http_integrations_status_writer_t *w, void *data)
{
    ngx_http_integrations_status_main_conf_t  *smcf = data;

    ngx_uint_t                               i;
    ngx_http_integrations_status_counter_t **c;

    c = smcf->counters.elts;

    for (i = 0; i < smcf->counters.nelts; i++) {

        if (ngx_http_integrations_status_family(w, c[i]->name,
                                        NGX_HTTP_INTEGRATIONS_STATUS_COUNTER,
                                        c[i]->help)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ngx_http_integrations_status_sample(w, NULL, 0, *c[i]->value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a pointer to at least size free bytes at the end of the output */

static u_char *
ngx_http_integrations_status_reserve(ngx_http_integrations_status_writer_t *w,
    size_t size)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (w->buf && (size_t) (w->buf->end - w->buf->last) >= size) {
        return w->buf->last;
    }

    if (size < NGX_HTTP_INTEGRATIONS_STATUS_BUF_SIZE) {
        size = NGX_HTTP_INTEGRATIONS_STATUS_BUF_SIZE;
    }

    b = ngx_create_temp_buf(w->request->pool, size);
    if (b == NULL) {
        return NULL;
    }

    cl = ngx_alloc_chain_link(w->request->pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    *w->last = cl;
    w->last = &cl->next;
    w->buf = b;

    return b->last;
}


static ngx_int_t
ngx_http_integrations_status_write(ngx_http_integrations_status_writer_t *w,
    const char *s)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(s);

    p = ngx_http_integrations_status_reserve(w, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    w->buf->last = ngx_cpymem(p, s, len);

    return NGX_OK;
}


/*
 * A label value, for either format: '\' and '"' escaped with '\', any byte
 * outside printable ASCII written as '?', so that keys made of request
 * bytes can break neither the exposition format nor JSON.  At most twice
 * the length of the source.
 */

static u_char *
ngx_http_integrations_status_escape(u_char *dst, ngx_str_t *src)
{
    u_char      c;
    ngx_uint_t  i;

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if (c == '\\' || c == '"') {
            *dst++ = '\\';
            *dst++ = c;

        } else if (c < 0x20 || c >= 0x7f) {
            *dst++ = '?';

        } else {
            *dst++ = c;
        }
    }

    return dst;
}


static ngx_int_t
ngx_http_integrations_status_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_integrations_status_main_conf_t  *smcf = shm_zone->data;

    size_t                                   len;
    ngx_uint_t                               i, j, free;
    ngx_slab_pool_t                         *shpool;
    ngx_http_integrations_status_shctx_t    *sh;
    ngx_http_integrations_status_counter_t **c;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sh = NULL;

    if (data || shm_zone->shm.exists) {
        sh = shpool->data;

        if (sh == NULL
            || sh->magic != NGX_HTTP_INTEGRATIONS_STATUS_MAGIC
            || sh->version != NGX_HTTP_INTEGRATIONS_STATUS_VERSION
            || sh->size != sizeof(ngx_http_integrations_status_shctx_t))
        {
            /* a zone of another layout: start over */
            ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                          "integrations: counters reset, the shared "
                          "memory layout changed");
            ngx_slab_init(shpool);
            sh = NULL;
        }
    }

    if (sh == NULL) {
        sh = ngx_slab_calloc(shpool,
                             sizeof(ngx_http_integrations_status_shctx_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        sh->magic = NGX_HTTP_INTEGRATIONS_STATUS_MAGIC;
        sh->version = NGX_HTTP_INTEGRATIONS_STATUS_VERSION;
        sh->size = sizeof(ngx_http_integrations_status_shctx_t);
        sh->nslots = NGX_HTTP_INTEGRATIONS_STATUS_SLOTS;

        shpool->data = sh;
    }

    /* each counter takes the slot of its name, or a free one */

    c = smcf->counters.elts;

    for (i = 0; i < smcf->counters.nelts; i++) {

        len = ngx_strlen(c[i]->name);
        free = NGX_HTTP_INTEGRATIONS_STATUS_SLOTS;

        for (j = 0; j < NGX_HTTP_INTEGRATIONS_STATUS_SLOTS; j++) {

            if (sh->slots[j].name[0] == '\0') {
                if (free == NGX_HTTP_INTEGRATIONS_STATUS_SLOTS) {
                    free = j;
                }

                continue;
            }

            if (ngx_strncmp(sh->slots[j].name, c[i]->name, len + 1) == 0) {
                break;
            }
        }

        if (j == NGX_HTTP_INTEGRATIONS_STATUS_SLOTS) {

            if (free == NGX_HTTP_INTEGRATIONS_STATUS_SLOTS) {
                ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                              "integrations: no slot left for counter "
                              "\"%s\", counting per worker", c[i]->name);
                continue;
            }

            j = free;
            ngx_memcpy(sh->slots[j].name, c[i]->name, len + 1);
            sh->slots[j].value = 0;
        }

        c[i]->value = &sh->slots[j].value;
    }

    return NGX_OK;
}


static char *
ngx_http_integrations_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_integrations_status_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_integrations_status_handler;

    return NGX_CONF_OK;
}


static void *
ngx_http_integrations_status_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_integrations_status_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_integrations_status_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     smcf->shm_zone = NULL;
     */

    if (ngx_array_init(&smcf->collectors, cf->pool, 4,
                       sizeof(ngx_http_integrations_status_collector_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&smcf->counters, cf->pool, 4,
                       sizeof(ngx_http_integrations_status_counter_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}
