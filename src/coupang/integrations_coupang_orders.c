/*
 * Coupang Wing order API, the pure core: see integrations_coupang_orders.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "integrations_json.h"
#include "integrations_time.h"
#include "integrations_coupang_orders.h"


#define COUPANG_PREFIX       "/v2/providers/openapi/apis/api/"
#define COUPANG_MAX_BODY     (2 * 1024 * 1024)
#define COUPANG_MAX_DEPTH    16
#define COUPANG_ALIGN        16
/* 0000-01-01 .. 9999-12-31 in unix seconds: what the formatters print */
#define COUPANG_TIME_MIN     (-62167219200LL)
#define COUPANG_TIME_MAX     253402300799LL

#define coupang_lit(s)       { (s), sizeof(s) - 1 }

/* answer_open() flags */
#define COUPANG_ONE          1          /* a lone object is one record */
#define COUPANG_BARE         2          /* "data" may be the array itself */

/* keep_id() flags */
#define COUPANG_REQUIRED     1
#define COUPANG_SIGNED       2          /* the responseKey only */


typedef struct {
    char    *p;
    size_t   size;
    size_t   len;
    int      failed;
} coupang_buf_t;

typedef struct coupang_block_s  coupang_block_t;

struct coupang_block_s {
    coupang_block_t  *next;
    /* the block's bytes follow, COUPANG_ALIGN aligned */
};

struct integrations_coupang_mem_s {
    yajl_val          tree;
    coupang_block_t  *blocks;
};

/* The parse context of one answer. */
typedef struct {
    integrations_coupang_mem_t  *mem;
    int                          nomem;
    const char                  *error;   /* a record's first bad field */
    yajl_val                     root;
    yajl_val                     list;    /* the records: an array, or
                                             one object */
    size_t                       n;
} coupang_rec_t;


static const integrations_coupang_str_t  coupang_empty = coupang_lit("");

static const char  *coupang_order_statuses[] = {
    "ACCEPT", "INSTRUCT", "DEPARTURE", "DELIVERING", "FINAL_DELIVERY",
    "NONE_TRACKING", NULL
};

static const char  *coupang_return_statuses[] = {
    "RU", "UC", "CC", "PR", NULL
};


static void buf_add(coupang_buf_t *b, const char *s, size_t n);
static void buf_adds(coupang_buf_t *b, const char *s);
static void buf_uint(coupang_buf_t *b, unsigned long long v);
static void buf_pct(coupang_buf_t *b, const char *s, size_t n);
static void buf_vendor_path(coupang_buf_t *b, const char *version,
    const integrations_coupang_query_t *q);
static int digits(const char *s, size_t n);
static int one_of(const char *s, const char **set);
static int64_t kst_day(int64_t t);
static int num2(const char *p, unsigned *v);

static yajl_val parse_top(const char *body, size_t len,
    integrations_coupang_status_t *st, integrations_coupang_mem_t **mem);
static int answer_open(coupang_rec_t *r, const char *body, size_t len,
    integrations_coupang_status_t *st, integrations_coupang_mem_t **mem,
    const char *sub, int flags);
static yajl_val answer_record(const coupang_rec_t *r,
    size_t i);
static int answer_token(coupang_rec_t *r, integrations_coupang_status_t *st,
    const char *name, int digits_only, integrations_coupang_str_t *out);
static void *answer_alloc(coupang_rec_t *r,
    integrations_coupang_status_t *st, size_t size);
static void *rec_array(coupang_rec_t *r, size_t n, size_t size);
static void mem_free(integrations_coupang_mem_t *mem);
static int absent(yajl_val v);
static size_t count(yajl_val v);
static yajl_val at(yajl_val v, size_t i);
static int string_of(yajl_val v, const char **s, size_t *len);
static int bool_of(yajl_val v, int *out);
static void keep_text(coupang_rec_t *r, yajl_val obj,
    const char *name, const char *field, integrations_coupang_str_t *out);
static void keep_id(coupang_rec_t *r, yajl_val obj,
    const char *name, const char *field, int flags,
    integrations_coupang_str_t *out);
static void keep_count(coupang_rec_t *r, yajl_val obj,
    const char *name, const char *field, int required, int64_t *out);
static void keep_time(yajl_val obj, const char *name,
    int64_t *out);
static void keep_bool(yajl_val obj, const char *name,
    int *out);
static void keep_money(coupang_rec_t *r, yajl_val obj,
    const char *name, const char *field, integrations_coupang_money_t *out);
static void parse_order(coupang_rec_t *r, yajl_val v,
    integrations_coupang_order_t *o);
static void parse_item(coupang_rec_t *r, yajl_val v,
    integrations_coupang_order_item_t *it);
static int mentions_return(yajl_val v);



/* ------------------------------------------------------------------ */
/* Request targets                                                    */

const char *
integrations_coupang_method(integrations_coupang_query_e kind)
{
    switch (kind) {

    case INTEGRATIONS_COUPANG_Q_ACKNOWLEDGE:
        return "PUT";

    case INTEGRATIONS_COUPANG_Q_INVOICE:
        return "POST";

    default:
        return "GET";
    }
}


int
integrations_coupang_vendor_id_valid(const char *p, size_t len)
{
    size_t  i;

    if (p == NULL || len < 2 || len > 32
        || !((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')))
    {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= 'a' && p[i] <= 'z')))
        {
            return 0;
        }
    }

    return 1;
}


size_t
integrations_coupang_format_minute(int64_t t, integrations_coupang_api_e api,
    char *out)
{
    int64_t   y, s;
    unsigned  m, d;

    if (t < COUPANG_TIME_MIN + INTEGRATIONS_COUPANG_DAY
        || t > COUPANG_TIME_MAX - INTEGRATIONS_COUPANG_DAY)
    {
        t = 0;
    }

    s = t + INTEGRATIONS_COUPANG_KST;
    integrations_time_civil_from_days(kst_day(t), &y, &m, &d);
    s = ((s % INTEGRATIONS_COUPANG_DAY) + INTEGRATIONS_COUPANG_DAY)
        % INTEGRATIONS_COUPANG_DAY;

    return (size_t) sprintf(out, "%04d-%02u-%02uT%02d:%02d%s", (int) y, m, d,
                            (int) (s / 3600), (int) (s / 60 % 60),
                            api == INTEGRATIONS_COUPANG_V5 ? "%2B09:00" : "");
}


size_t
integrations_coupang_format_day(int64_t t, integrations_coupang_api_e api,
    char *out)
{
    int64_t   y;
    unsigned  m, d;

    if (t < COUPANG_TIME_MIN + INTEGRATIONS_COUPANG_DAY
        || t > COUPANG_TIME_MAX - INTEGRATIONS_COUPANG_DAY)
    {
        t = 0;
    }

    integrations_time_civil_from_days(kst_day(t), &y, &m, &d);

    return (size_t) sprintf(out, "%04d-%02u-%02u%s", (int) y, m, d,
                            api == INTEGRATIONS_COUPANG_V5 ? "%2B09:00" : "");
}


int
integrations_coupang_parse_time(const char *p, size_t len, int64_t *t)
{
    size_t    i;
    int64_t   y, off;
    unsigned  mo, d, h, mi, s, oh, om;

    /* yyyy-MM-dd */

    if (len < 10 || p[4] != '-' || p[7] != '-') {
        return -1;
    }

    for (i = 0; i < 4; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
    }

    y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10
        + (p[3] - '0');

    if (num2(p + 5, &mo) != 0 || num2(p + 8, &d) != 0
        || mo < 1 || mo > 12 || d < 1)
    {
        return -1;
    }

    if (d > integrations_time_month_days(y, mo)) {
        return -1;
    }

    h = mi = s = 0;
    off = INTEGRATIONS_COUPANG_KST;
    i = 10;

    if (i < len) {

        /* ('T' | ' ') HH:mm [:ss [.fraction]] */

        if ((p[i] != 'T' && p[i] != ' ') || len - i < 6 || p[i + 3] != ':'
            || num2(p + i + 1, &h) != 0 || num2(p + i + 4, &mi) != 0
            || h > 23 || mi > 59)
        {
            return -1;
        }

        i += 6;

        if (i < len && p[i] == ':') {
            if (len - i < 3 || num2(p + i + 1, &s) != 0 || s > 59) {
                return -1;
            }

            i += 3;

            if (i < len && p[i] == '.') {
                i++;

                if (i == len || p[i] < '0' || p[i] > '9') {
                    return -1;
                }

                while (i < len && p[i] >= '0' && p[i] <= '9') {
                    i++;
                }
            }
        }

        /* "Z" | ("+" | "-") HH [":"] mm */

        if (i < len) {
            if (p[i] == 'Z' && i + 1 == len) {
                off = 0;

            } else if (p[i] == '+' || p[i] == '-') {
                if (len - i == 6 && p[i + 3] == ':') {
                    if (num2(p + i + 1, &oh) != 0
                        || num2(p + i + 4, &om) != 0)
                    {
                        return -1;
                    }

                } else if (len - i == 5) {
                    if (num2(p + i + 1, &oh) != 0
                        || num2(p + i + 3, &om) != 0)
                    {
                        return -1;
                    }

                } else {
                    return -1;
                }

                if (oh > 14 || om > 59) {
                    return -1;
                }

                off = (int64_t) oh * 3600 + om * 60;
                if (p[i] == '-') {
                    off = -off;
                }

            } else {
                return -1;
            }
        }
    }

    *t = integrations_time_days_from_civil(y, mo, d) * INTEGRATIONS_COUPANG_DAY
         + h * 3600 + mi * 60 + s - off;

    return 0;
}


long
integrations_coupang_url(const integrations_coupang_query_t *q, char *out,
    size_t size)
{
    char           from[32], to[32];
    size_t         page, page_size, max_page;
    int64_t        span;
    const char    *version, *status;
    coupang_buf_t  b;

    integrations_coupang_api_e  api;

    b.p = out;
    b.size = size;
    b.len = 0;
    b.failed = 0;

    if (!integrations_coupang_vendor_id_valid(q->vendor_id, q->vendor_id_len)
        || (q->api != 0 && q->api != INTEGRATIONS_COUPANG_V4
            && q->api != INTEGRATIONS_COUPANG_V5))
    {
        return -1;
    }

    if (q->from < 0 || q->to < 0
        || q->from > COUPANG_TIME_MAX - INTEGRATIONS_COUPANG_DAY
        || q->to > COUPANG_TIME_MAX - INTEGRATIONS_COUPANG_DAY)
    {
        return -1;
    }

    api = q->api == INTEGRATIONS_COUPANG_V5 ? INTEGRATIONS_COUPANG_V5
                                            : INTEGRATIONS_COUPANG_V4;
    version = api == INTEGRATIONS_COUPANG_V5 ? "v5" : "v4";
    page = q->page ? q->page : 1;
    span = q->to - q->from;

    switch (q->kind) {

    case INTEGRATIONS_COUPANG_Q_ORDERSHEETS_TIMEFRAME:
    case INTEGRATIONS_COUPANG_Q_ORDERSHEETS_DAY:
        status = q->status ? q->status : "ACCEPT";

        if (!one_of(status, coupang_order_statuses)) {
            return -1;
        }

        buf_vendor_path(&b, version, q);
        buf_adds(&b, "/ordersheets?createdAtFrom=");

        if (q->kind == INTEGRATIONS_COUPANG_Q_ORDERSHEETS_TIMEFRAME) {

            /* minute mode: from inclusive, to exclusive, at most 24 h */

            if (span <= 0 || span > INTEGRATIONS_COUPANG_TIMEFRAME_MAX) {
                return -1;
            }

            buf_add(&b, from,
                    integrations_coupang_format_minute(q->from, api, from));
            buf_adds(&b, "&createdAtTo=");
            buf_add(&b, to, integrations_coupang_format_minute(q->to, api, to));
            buf_adds(&b, "&searchType=timeFrame&status=");
            buf_adds(&b, status);
            break;
        }

        /* day mode: KST dates, both inclusive, fewer than 31 days apart */

        span = kst_day(q->to) - kst_day(q->from);
        if (span < 0 || span >= INTEGRATIONS_COUPANG_DAYS_MAX
            || q->page_size > 50)
        {
            return -1;
        }

        buf_add(&b, from, integrations_coupang_format_day(q->from, api, from));
        buf_adds(&b, "&createdAtTo=");
        buf_add(&b, to, integrations_coupang_format_day(q->to, api, to));
        buf_adds(&b, "&status=");
        buf_adds(&b, status);
        buf_adds(&b, "&maxPerPage=");
        buf_uint(&b, q->page_size ? q->page_size : 50);

        if (q->next_token_len) {
            buf_adds(&b, "&nextToken=");
            buf_pct(&b, q->next_token, q->next_token_len);
        }

        break;

    case INTEGRATIONS_COUPANG_Q_ORDERSHEET:
        if (!digits(q->id, q->id_len)) {
            return -1;
        }

        buf_vendor_path(&b, version, q);
        buf_adds(&b, "/ordersheets/");
        buf_add(&b, q->id, q->id_len);
        break;

    case INTEGRATIONS_COUPANG_Q_ORDER:
        if (!digits(q->id, q->id_len)) {
            return -1;
        }

        /* the orderId comes before "ordersheets" */

        buf_vendor_path(&b, version, q);
        buf_adds(&b, "/");
        buf_add(&b, q->id, q->id_len);
        buf_adds(&b, "/ordersheets");
        break;

    case INTEGRATIONS_COUPANG_Q_ACKNOWLEDGE:
        buf_vendor_path(&b, version, q);
        buf_adds(&b, "/ordersheets/acknowledgement");
        break;

    case INTEGRATIONS_COUPANG_Q_INVOICE:
        buf_vendor_path(&b, "v4", q);
        buf_adds(&b, "/orders/invoices");
        break;

    case INTEGRATIONS_COUPANG_Q_RETURNS:
        if (span <= 0 || span > INTEGRATIONS_COUPANG_TIMEFRAME_MAX) {
            return -1;
        }

        if (q->cancel_type == INTEGRATIONS_COUPANG_RETURN) {
            /* a RETURN list without status is refused by the API */
            if (q->status == NULL || !one_of(q->status,
                                             coupang_return_statuses))
            {
                return -1;
            }

        } else if (q->cancel_type != INTEGRATIONS_COUPANG_CANCEL
                   || q->status != NULL)
        {
            /* cancellations at ACCEPT: cancelType=CANCEL, no status */
            return -1;
        }

        buf_vendor_path(&b, "v6", q);
        buf_adds(&b, "/returnRequests?searchType=timeFrame&createdAtFrom=");
        buf_add(&b, from, integrations_coupang_format_minute(
                              q->from, INTEGRATIONS_COUPANG_V4, from));
        buf_adds(&b, "&createdAtTo=");
        buf_add(&b, to, integrations_coupang_format_minute(
                            q->to, INTEGRATIONS_COUPANG_V4, to));

        if (q->cancel_type == INTEGRATIONS_COUPANG_CANCEL) {
            buf_adds(&b, "&cancelType=CANCEL");

        } else {
            buf_adds(&b, "&cancelType=RETURN&status=");
            buf_adds(&b, q->status);
        }

        break;

    case INTEGRATIONS_COUPANG_Q_WITHDRAWALS:
    case INTEGRATIONS_COUPANG_Q_ONLINE_INQUIRIES:
    case INTEGRATIONS_COUPANG_Q_CALL_INQUIRIES:

        /* KST dates, both inclusive, a 7-day range at most */

        span = kst_day(q->to) - kst_day(q->from);
        if (span < 0 || span >= INTEGRATIONS_COUPANG_INQUIRY_DAYS) {
            return -1;
        }

        max_page = q->kind == INTEGRATIONS_COUPANG_Q_WITHDRAWALS
                   ? INTEGRATIONS_COUPANG_WITHDRAW_PAGE
                   : q->kind == INTEGRATIONS_COUPANG_Q_ONLINE_INQUIRIES
                     ? INTEGRATIONS_COUPANG_ONLINE_PAGE
                     : INTEGRATIONS_COUPANG_CALL_PAGE;
        page_size = q->page_size ? q->page_size : max_page;

        if (page_size > max_page || page > 100000) {
            return -1;
        }

        integrations_coupang_format_day(q->from, INTEGRATIONS_COUPANG_V4,
                                        from);
        integrations_coupang_format_day(q->to, INTEGRATIONS_COUPANG_V4, to);

        if (q->kind == INTEGRATIONS_COUPANG_Q_WITHDRAWALS) {
            buf_vendor_path(&b, "v4", q);
            buf_adds(&b, "/returnWithdrawRequests?dateFrom=");
            buf_adds(&b, from);
            buf_adds(&b, "&dateTo=");
            buf_adds(&b, to);
            buf_adds(&b, "&pageIndex=");
            buf_uint(&b, page);
            buf_adds(&b, "&sizePerPage=");
            buf_uint(&b, page_size);
            break;
        }

        /* the inquiry APIs want the vendorId in the query as well */

        buf_vendor_path(&b, "v5", q);
        buf_adds(&b, q->kind == INTEGRATIONS_COUPANG_Q_ONLINE_INQUIRIES
                     ? "/onlineInquiries?vendorId="
                     : "/callCenterInquiries?vendorId=");
        buf_add(&b, q->vendor_id, q->vendor_id_len);
        buf_adds(&b, "&inquiryStartAt=");
        buf_adds(&b, from);
        buf_adds(&b, "&inquiryEndAt=");
        buf_adds(&b, to);
        buf_adds(&b, q->kind == INTEGRATIONS_COUPANG_Q_ONLINE_INQUIRIES
                     ? "&answeredType=NOANSWER"
                     : "&partnerCounselingStatus=NO_ANSWER");
        buf_adds(&b, "&pageNum=");
        buf_uint(&b, page);
        buf_adds(&b, "&pageSize=");
        buf_uint(&b, page_size);
        break;

    default:
        return -1;
    }

    if (b.failed || b.len >= size) {
        return -1;
    }

    out[b.len] = '\0';

    return (long) b.len;
}


/* ------------------------------------------------------------------ */
/* Sync windows                                                       */

int
integrations_coupang_sync_conf_check(
    const integrations_coupang_sync_conf_t *conf, char *err, size_t err_len)
{
    int64_t  chunk, lookback;

    chunk = conf->chunk ? conf->chunk : conf->window + 120;
    lookback = conf->max_lookback ? conf->max_lookback
                                  : 7 * INTEGRATIONS_COUPANG_DAY;

    if (conf->interval < 10) {
        snprintf(err, err_len, "interval must be at least 10s");
        return -1;
    }

    if (conf->window < conf->interval + 60) {
        snprintf(err, err_len,
                 "window must exceed interval by at least 1m, "
                 "or orders between runs are missed");
        return -1;
    }

    if (chunk < 60 || chunk > INTEGRATIONS_COUPANG_TIMEFRAME_MAX) {
        snprintf(err, err_len, "a window call spans 1m to 24h");
        return -1;
    }

    if (lookback < conf->window || lookback > 30 * INTEGRATIONS_COUPANG_DAY)
    {
        snprintf(err, err_len,
                 "the look-back after an outage spans window to 30d");
        return -1;
    }

    return 0;
}


size_t
integrations_coupang_sync_plan(const integrations_coupang_sync_conf_t *conf,
    int64_t last_ok, int64_t now, integrations_coupang_window_t *out,
    size_t max, int64_t *resume)
{
    size_t   n, max_windows;
    int64_t  start, end, chunk, lookback, t, day0;

    /*
     * By default a run on time is one call: the window, plus the two
     * minutes that aligning its ends to minutes can add.
     */

    chunk = conf->chunk ? conf->chunk : conf->window + 120;
    lookback = conf->max_lookback ? conf->max_lookback
                                  : 7 * INTEGRATIONS_COUPANG_DAY;
    max_windows = conf->max_windows ? conf->max_windows : 8;

    if (chunk < 60) {
        chunk = 60;
    }

    if (chunk > INTEGRATIONS_COUPANG_TIMEFRAME_MAX) {
        chunk = INTEGRATIONS_COUPANG_TIMEFRAME_MAX;
    }

    *resume = now;

    if (max == 0 || now <= 0) {
        return 0;
    }

    /* a stored time ahead of the clock (it was set back): start afresh */

    if (last_ok <= 0 || last_ok > now) {
        last_ok = now;
    }

    start = last_ok - conf->window;

    if (start < now - lookback) {
        start = now - lookback;
    }

    start -= ((start % 60) + 60) % 60;
    end = now + (60 - ((now % 60) + 60) % 60) % 60;

    if (end <= start) {
        end = start + 60;
    }

    n = (size_t) ((end - start + chunk - 1) / chunk);

    if (n > max_windows || n > max
        || end - start > INTEGRATIONS_COUPANG_TIMEFRAME_MAX)
    {
        /*
         * An outage: one day-mode call, paged, reaches further back than
         * many minute-mode calls would; its dates are KST days, fewer
         * than 31 apart.
         */

        day0 = (kst_day(now) - (INTEGRATIONS_COUPANG_DAYS_MAX - 1))
               * INTEGRATIONS_COUPANG_DAY - INTEGRATIONS_COUPANG_KST;

        out[0].mode = INTEGRATIONS_COUPANG_WINDOW_DAY;
        out[0].from = start < day0 ? day0 : start;
        out[0].to = now;

        return 1;
    }

    for (n = 0, t = start; t < end; t += chunk) {
        out[n].mode = INTEGRATIONS_COUPANG_WINDOW_TIMEFRAME;
        out[n].from = t;
        out[n].to = t + chunk < end ? t + chunk : end;
        n++;
    }

    return n;
}


/* ------------------------------------------------------------------ */
/* Answers                                                            */

integrations_coupang_rc_e
integrations_coupang_parse_ordersheets(const char *body, size_t len,
    integrations_coupang_ordersheets_t *out)
{
    size_t         i;
    coupang_rec_t  r;

    memset(out, 0, sizeof(*out));
    out->next_token = coupang_empty;

    if (answer_open(&r, body, len, &out->status, &out->mem, NULL,
                    COUPANG_ONE) != 0
        || answer_token(&r, &out->status, "nextToken", 0, &out->next_token)
           != 0)
    {
        return out->status.rc;
    }

    out->orders = answer_alloc(&r, &out->status,
                               sizeof(integrations_coupang_order_t));
    if (out->orders == NULL && r.n) {
        return out->status.rc;
    }

    for (i = 0; i < r.n; i++) {
        r.error = NULL;
        parse_order(&r, answer_record(&r, i), &out->orders[i]);

        if (r.nomem) {
            out->status.rc = INTEGRATIONS_COUPANG_NOMEM;
            return out->status.rc;
        }

        out->orders[i].error = r.error;
    }

    out->n_orders = r.n;

    return INTEGRATIONS_COUPANG_OK;
}


void
integrations_coupang_ordersheets_free(integrations_coupang_ordersheets_t *out)
{
    mem_free(out->mem);
    memset(out, 0, sizeof(*out));
}


static void
parse_order(coupang_rec_t *r, yajl_val v,
    integrations_coupang_order_t *o)
{
    size_t                      i, n;
    yajl_val                    who, items;

    o->shipment_box_id = coupang_empty;
    o->order_id = coupang_empty;

    if (v == NULL || !YAJL_IS_OBJECT(v)) {
        r->error = "data[]";
        return;
    }

    keep_id(r, v, "shipmentBoxId", "shipmentBoxId", COUPANG_REQUIRED,
            &o->shipment_box_id);
    keep_id(r, v, "orderId", "orderId", COUPANG_REQUIRED, &o->order_id);
    keep_text(r, v, "status", "status", &o->status);
    keep_time(v, "orderedAt", &o->ordered_at);
    keep_time(v, "paidAt", &o->paid_at);

    who = integrations_json_get(v, "orderer");
    keep_text(r, who, "name", "orderer.name", &o->orderer_name);
    keep_text(r, who, "email", "orderer.email", &o->orderer_email);
    keep_text(r, who, "safeNumber", "orderer.safeNumber",
              &o->orderer_safe_number);
    keep_text(r, who, "ordererNumber", "orderer.ordererNumber",
              &o->orderer_number);

    who = integrations_json_get(v, "receiver");
    keep_text(r, who, "name", "receiver.name", &o->receiver_name);
    keep_text(r, who, "safeNumber", "receiver.safeNumber",
              &o->receiver_safe_number);
    keep_text(r, who, "receiverNumber", "receiver.receiverNumber",
              &o->receiver_number);

    items = integrations_json_get(v, "orderItems");
    n = count(items);

    if (items == NULL || !YAJL_IS_ARRAY(items) || n == 0) {
        if (r->error == NULL) {
            r->error = "orderItems";
        }

        return;
    }

    o->items = rec_array(r, n, sizeof(integrations_coupang_order_item_t));
    if (o->items == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        parse_item(r, at(items, i), &o->items[i]);
    }

    o->n_items = n;
}


static void
parse_item(coupang_rec_t *r, yajl_val v,
    integrations_coupang_order_item_t *it)
{
    size_t                      i, n, k, len;
    const char                 *s;
    yajl_val                    a;

    it->vendor_item_id = coupang_empty;

    if (v == NULL || !YAJL_IS_OBJECT(v)) {
        if (r->error == NULL) {
            r->error = "orderItems[]";
        }

        return;
    }

    keep_id(r, v, "vendorItemId", "orderItems[].vendorItemId", COUPANG_REQUIRED,
            &it->vendor_item_id);
    keep_text(r, v, "vendorItemName", "orderItems[].vendorItemName",
              &it->vendor_item_name);
    keep_id(r, v, "sellerProductId", "orderItems[].sellerProductId", 0,
            &it->seller_product_id);
    keep_text(r, v, "sellerProductName", "orderItems[].sellerProductName",
              &it->seller_product_name);
    keep_text(r, v, "sellerProductItemName",
              "orderItems[].sellerProductItemName",
              &it->seller_product_item_name);
    keep_text(r, v, "externalVendorSkuCode",
              "orderItems[].externalVendorSkuCode", &it->external_sku);
    keep_count(r, v, "shippingCount", "orderItems[].shippingCount", 1,
               &it->shipping_count);
    keep_count(r, v, "cancelCount", "orderItems[].cancelCount", 0,
               &it->cancel_count);
    keep_count(r, v, "holdCountForCancel",
               "orderItems[].holdCountForCancel", 0, &it->hold_count);
    keep_bool(v, "canceled", &it->canceled);
    keep_money(r, v, "salesPrice", "orderItems[].salesPrice",
               &it->sales_price);
    keep_money(r, v, "orderPrice", "orderItems[].orderPrice",
               &it->order_price);
    keep_money(r, v, "discountPrice", "orderItems[].discountPrice",
               &it->discount_price);
    keep_text(r, v, "etcInfoHeader", "orderItems[].etcInfoHeader",
              &it->etc_info_header);

    a = integrations_json_get(v, "etcInfoValues");

    if (absent(a)) {
        return;
    }

    if (!YAJL_IS_ARRAY(a)) {
        if (r->error == NULL) {
            r->error = "orderItems[].etcInfoValues";
        }

        return;
    }

    n = count(a);
    if (n == 0) {
        return;
    }

    it->etc_info_values = rec_array(r, n, sizeof(integrations_coupang_str_t));
    if (it->etc_info_values == NULL) {
        return;
    }

    for (i = 0, k = 0; i < n; i++) {
        if (absent(a->u.array.values[i])) {
            continue;
        }

        if (string_of(a->u.array.values[i], &s, &len) != 0) {
            it->etc_refused++;
            continue;
        }

        /* the buyer typed it: white space around it is no part of it */

        while (len && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r'
                       || s[0] == '\n'))
        {
            s++;
            len--;
        }

        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'
                       || s[len - 1] == '\r' || s[len - 1] == '\n'))
        {
            len--;
        }

        if (memchr(s, '\0', len) != NULL || len == 0) {
            it->etc_refused += (len != 0);
            continue;
        }

        for (k = 0; k < len; k++) {
            if ((unsigned char) s[k] < 0x20 || s[k] == 0x7f) {
                break;
            }
        }

        if (k < len) {
            it->etc_refused++;
            continue;
        }

        /* a trimmed copy, NUL-terminated like every kept string */

        it->etc_info_values[it->n_etc_info_values].data =
            rec_array(r, 1, len + 1);

        if (it->etc_info_values[it->n_etc_info_values].data == NULL) {
            return;
        }

        memcpy((char *) it->etc_info_values[it->n_etc_info_values].data, s,
               len);
        it->etc_info_values[it->n_etc_info_values].len = len;
        it->n_etc_info_values++;
    }
}


/* acknowledgement and invoice -------------------------------------- */

char *
integrations_coupang_ack_body(const char *vendor_id, size_t vendor_len,
    const integrations_coupang_str_t *ids, size_t n, size_t *len)
{
    size_t                   i;
    integrations_json_gen_t  w;

    if (!integrations_coupang_vendor_id_valid(vendor_id, vendor_len)
        || n == 0 || n > INTEGRATIONS_COUPANG_ACK_MAX)
    {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        if (!digits(ids[i].data, ids[i].len)) {
            return NULL;
        }
    }

    if (integrations_json_gen_init(&w) != 0) {
        return NULL;
    }

    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "vendorId");
    integrations_json_gen_str(&w, vendor_id, vendor_len);
    integrations_json_gen_cstr(&w, "shipmentBoxIds");
    yajl_gen_array_open(w.g);

    for (i = 0; i < n; i++) {
        integrations_json_gen_number(&w, ids[i].data, ids[i].len);
    }

    yajl_gen_array_close(w.g);
    yajl_gen_map_close(w.g);

    return integrations_json_gen_done(&w, len);
}


size_t
integrations_coupang_chunks(size_t n, size_t max)
{
    if (max == 0) {
        return 0;
    }

    return (n + max - 1) / max;
}


size_t
integrations_coupang_chunk(size_t n, size_t max, size_t i, size_t *count)
{
    size_t  first;

    if (max == 0 || i >= integrations_coupang_chunks(n, max)) {
        *count = 0;
        return n;
    }

    first = i * max;
    *count = n - first < max ? n - first : max;

    return first;
}


char *
integrations_coupang_invoice_body(const char *vendor_id, size_t vendor_len,
    const integrations_coupang_invoice_t *e, size_t n, size_t *len)
{
    size_t                   i;
    integrations_json_gen_t  w;

    if (!integrations_coupang_vendor_id_valid(vendor_id, vendor_len)
        || n == 0 || n > 1000)
    {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        if (!digits(e[i].shipment_box_id.data, e[i].shipment_box_id.len)
            || !digits(e[i].order_id.data, e[i].order_id.len)
            || !digits(e[i].vendor_item_id.data, e[i].vendor_item_id.len)
            || !digits(e[i].invoice_number.data, e[i].invoice_number.len)
            || e[i].invoice_number.len > 30)
        {
            return NULL;
        }
    }

    if (integrations_json_gen_init(&w) != 0) {
        return NULL;
    }

    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "vendorId");
    integrations_json_gen_str(&w, vendor_id, vendor_len);
    integrations_json_gen_cstr(&w, "orderSheetInvoiceApplyDtos");
    yajl_gen_array_open(w.g);

    for (i = 0; i < n; i++) {
        yajl_gen_map_open(w.g);
        integrations_json_gen_cstr(&w, "shipmentBoxId");
        integrations_json_gen_number(&w, e[i].shipment_box_id.data,
                                     e[i].shipment_box_id.len);
        integrations_json_gen_cstr(&w, "orderId");
        integrations_json_gen_number(&w, e[i].order_id.data, e[i].order_id.len);
        integrations_json_gen_cstr(&w, "vendorItemId");
        integrations_json_gen_number(&w, e[i].vendor_item_id.data,
                                     e[i].vendor_item_id.len);
        integrations_json_gen_cstr(&w, "deliveryCompanyCode");
        integrations_json_gen_cstr(&w, "DIRECT");
        integrations_json_gen_cstr(&w, "invoiceNumber");
        integrations_json_gen_str(&w, e[i].invoice_number.data,
                                  e[i].invoice_number.len);
        integrations_json_gen_cstr(&w, "splitShipping");
        integrations_json_gen_bool(&w, 0);
        integrations_json_gen_cstr(&w, "preSplitShipped");
        integrations_json_gen_bool(&w, 0);
        integrations_json_gen_cstr(&w, "estimatedShippingDate");
        integrations_json_gen_cstr(&w, "");
        yajl_gen_map_close(w.g);
    }

    yajl_gen_array_close(w.g);
    yajl_gen_map_close(w.g);

    return integrations_json_gen_done(&w, len);
}


integrations_coupang_outcome_e
integrations_coupang_outcome(integrations_coupang_call_e call, int succeed,
    int retry_required, const char *code, size_t len)
{
    size_t  i;

    static const integrations_coupang_str_t  canceled[] = {
        coupang_lit("ORDER_DELIVERY_CANCELED"),
        coupang_lit("ORDER_DELIVERY_PARTIAL_STOP_REQUESTED"),
        coupang_lit("ORDER_DELIVERY_CANCELED_HOLDING_FOR_CANCEL"),
        { NULL, 0 }
    };

    static const integrations_coupang_str_t  maybe_done[] = {
        coupang_lit("NOT_ALLOW_INVOICE_NUMBER_RE_UPLOAD"),
        coupang_lit("DUPLICATE_INVOICE_NUMBER"),
        { NULL, 0 }
    };

#define coupang_is(s)  (len == sizeof(s) - 1 && memcmp(code, s, len) == 0)

    if (succeed) {
        return INTEGRATIONS_COUPANG_DONE;
    }

    if (code == NULL) {
        len = 0;
        code = "";
    }

    if (call == INTEGRATIONS_COUPANG_INVOICE) {

        /*
         * An acknowledgement takes up to 30 minutes to show: an invoice
         * sent right after it finds the box not yet INSTRUCT.
         */

        if (coupang_is("INVALID_STATUS") || coupang_is("UNDEFINED_ERROR_OCCUR"))
        {
            return INTEGRATIONS_COUPANG_RETRY_LATER;
        }

        for (i = 0; canceled[i].data; i++) {
            if (len == canceled[i].len
                && memcmp(code, canceled[i].data, len) == 0)
            {
                return INTEGRATIONS_COUPANG_CANCELED;
            }
        }

        /* an earlier upload whose answer was lost */

        for (i = 0; maybe_done[i].data; i++) {
            if (len == maybe_done[i].len
                && memcmp(code, maybe_done[i].data, len) == 0)
            {
                return INTEGRATIONS_COUPANG_CHECK;
            }
        }

        return retry_required ? INTEGRATIONS_COUPANG_RETRY
                              : INTEGRATIONS_COUPANG_FAILED;
    }

    if (retry_required) {
        return INTEGRATIONS_COUPANG_RETRY;
    }

    /*
     * An acknowledgement refused without a retry means the box is not
     * ACCEPT: acknowledged already (an answer lost), or a refund is in
     * progress.  Only a single lookup tells which.
     */

    return INTEGRATIONS_COUPANG_CHECK;

#undef coupang_is
}


integrations_coupang_outcome_e
integrations_coupang_ack_check(int status, const char *body, size_t len,
    const char *box, size_t box_len)
{
    size_t                               i, j, n;
    const char                          *st;
    integrations_coupang_order_t        *o;
    integrations_coupang_outcome_e       oc;
    integrations_coupang_ordersheets_t   sheets;

    static const char  *past[] = {
        "INSTRUCT", "DEPARTURE", "DELIVERING", "FINAL_DELIVERY",
        "NONE_TRACKING", NULL
    };

    if (body == NULL) {
        len = 0;
        body = "";
    }

    if (status == 400) {
        /* "해당 주문이 취소 또는 반품되었습니다.": cancelled or returned */

        for (i = 0; i + 6 <= len; i++) {
            if (memcmp(body + i, "\xec\xb7\xa8\xec\x86\x8c", 6) == 0
                || memcmp(body + i, "\xeb\xb0\x98\xed\x92\x88", 6) == 0)
            {
                return INTEGRATIONS_COUPANG_CANCELED;
            }
        }

        return INTEGRATIONS_COUPANG_CHECK;
    }

    if (status != 200) {
        return INTEGRATIONS_COUPANG_CHECK;
    }

    oc = INTEGRATIONS_COUPANG_CHECK;

    if (integrations_coupang_parse_ordersheets(body, len, &sheets)
        == INTEGRATIONS_COUPANG_OK)
    {
        for (i = 0; i < sheets.n_orders; i++) {
            o = &sheets.orders[i];

            /* another field unreadable (o->error) does not matter here */

            if (o->shipment_box_id.len != box_len
                || memcmp(o->shipment_box_id.data, box, box_len) != 0)
            {
                continue;
            }

            st = o->status.data;
            n = o->status.len;

            if (n == 6 && memcmp(st, "ACCEPT", 6) == 0) {
                oc = INTEGRATIONS_COUPANG_RETRY;
                break;
            }

            for (j = 0; past[j]; j++) {
                if (n == strlen(past[j]) && memcmp(st, past[j], n) == 0) {
                    oc = INTEGRATIONS_COUPANG_DONE;
                    break;
                }
            }

            break;
        }
    }

    integrations_coupang_ordersheets_free(&sheets);

    return oc;
}


integrations_coupang_rc_e
integrations_coupang_parse_results(integrations_coupang_call_e call,
    const char *body, size_t len, integrations_coupang_results_t *out)
{
    size_t                          i;
    coupang_rec_t                   r;
    yajl_val                        data, v;
    integrations_coupang_result_t  *res;

    memset(out, 0, sizeof(*out));
    out->response_key = coupang_empty;
    out->response_code = -1;

    if (answer_open(&r, body, len, &out->status, &out->mem, "responseList",
                    0) != 0)
    {
        return out->status.rc;
    }

    data = integrations_json_get(r.root, "data");

    keep_id(&r, data, "responseKey", "responseKey", COUPANG_SIGNED,
            &out->response_key);
    keep_text(&r, data, "responseMessage", "responseMessage",
              &out->response_message);

    v = integrations_json_get(data, "responseCode");
    if (!absent(v)
        && integrations_json_int64(v, &out->response_code) != 0)
    {
        r.error = "responseCode";
    }

    if (r.error) {
        snprintf(out->status.error, sizeof(out->status.error),
                 "\"%s\" unreadable", r.error);
        out->status.rc = INTEGRATIONS_COUPANG_MALFORMED;
        return out->status.rc;
    }

    out->results = answer_alloc(&r, &out->status,
                                sizeof(integrations_coupang_result_t));
    if (out->results == NULL && r.n) {
        return out->status.rc;
    }

    for (i = 0; i < r.n; i++) {
        res = &out->results[i];
        v = answer_record(&r, i);
        r.error = NULL;

        res->shipment_box_id = coupang_empty;
        res->result_code = coupang_empty;

        if (!YAJL_IS_OBJECT(v)) {
            res->error = "responseList[]";
            res->outcome = INTEGRATIONS_COUPANG_CHECK;
            continue;
        }

        keep_id(&r, v, "shipmentBoxId", "responseList[].shipmentBoxId",
                COUPANG_REQUIRED,
                &res->shipment_box_id);
        keep_text(&r, v, "resultCode", "responseList[].resultCode",
                  &res->result_code);
        keep_text(&r, v, "resultMessage", "responseList[].resultMessage",
                  &res->result_message);

        if (bool_of(integrations_json_get(v, "succeed"),
                                   &res->succeed) != 0)
        {
            if (r.error == NULL) {
                r.error = "responseList[].succeed";
            }
        }

        keep_bool(v, "retryRequired", &res->retry_required);

        res->error = r.error;

        /* an item it cannot read is never taken for a success */

        res->outcome = r.error ? INTEGRATIONS_COUPANG_CHECK
                               : integrations_coupang_outcome(call,
                                     res->succeed, res->retry_required,
                                     res->result_code.data,
                                     res->result_code.len);
    }

    out->n_results = r.n;

    return INTEGRATIONS_COUPANG_OK;
}


void
integrations_coupang_results_free(integrations_coupang_results_t *out)
{
    mem_free(out->mem);
    memset(out, 0, sizeof(*out));
}


/* returns and cancellations ---------------------------------------- */

integrations_coupang_rc_e
integrations_coupang_parse_returns(const char *body, size_t len,
    integrations_coupang_returns_t *out)
{
    size_t                               i, j, k;
    coupang_rec_t                        r;
    yajl_val                             v, items;
    integrations_coupang_return_t       *ret;
    integrations_coupang_return_item_t  *it;

    static const struct {
        integrations_coupang_str_t             name;
        integrations_coupang_receipt_status_e  status;
    } statuses[] = {
        { coupang_lit("RELEASE_STOP_UNCHECKED"),
          INTEGRATIONS_COUPANG_RS_RELEASE_STOP_UNCHECKED },
        { coupang_lit("RETURNS_UNCHECKED"),
          INTEGRATIONS_COUPANG_RS_RETURNS_UNCHECKED },
        { coupang_lit("VENDOR_WAREHOUSE_CONFIRM"),
          INTEGRATIONS_COUPANG_RS_VENDOR_WAREHOUSE_CONFIRM },
        { coupang_lit("REQUEST_COUPANG_CHECK"),
          INTEGRATIONS_COUPANG_RS_REQUEST_COUPANG_CHECK },
        { coupang_lit("RETURNS_COMPLETED"),
          INTEGRATIONS_COUPANG_RS_RETURNS_COMPLETED }
    };

    memset(out, 0, sizeof(*out));
    out->next_token = coupang_empty;

    if (answer_open(&r, body, len, &out->status, &out->mem, NULL,
                    COUPANG_ONE) != 0
        || answer_token(&r, &out->status, "nextToken", 0, &out->next_token)
           != 0)
    {
        return out->status.rc;
    }

    out->returns = answer_alloc(&r, &out->status,
                                sizeof(integrations_coupang_return_t));
    if (out->returns == NULL && r.n) {
        return out->status.rc;
    }

    for (i = 0; i < r.n; i++) {
        ret = &out->returns[i];
        v = answer_record(&r, i);
        r.error = NULL;

        ret->receipt_id = coupang_empty;
        ret->order_id = coupang_empty;
        ret->receipt_status = coupang_empty;

        if (!YAJL_IS_OBJECT(v)) {
            ret->error = "data[]";
            continue;
        }

        keep_id(&r, v, "receiptId", "receiptId", COUPANG_REQUIRED,
                &ret->receipt_id);
        keep_id(&r, v, "orderId", "orderId", COUPANG_REQUIRED,
                &ret->order_id);
        keep_text(&r, v, "receiptStatus", "receiptStatus",
                  &ret->receipt_status);
        keep_time(v, "createdAt", &ret->created_at);
        keep_time(v, "modifiedAt", &ret->modified_at);
        keep_count(&r, v, "cancelCountSum", "cancelCountSum", 0,
                   &ret->cancel_count_sum);
        keep_bool(v, "preRefund", &ret->pre_refund);

        {
            integrations_coupang_str_t  type = coupang_empty;

            keep_text(&r, v, "receiptType", "receiptType", &type);
            ret->type = (type.len == 6 && memcmp(type.data, "CANCEL", 6) == 0)
                        ? INTEGRATIONS_COUPANG_CANCEL
                        : INTEGRATIONS_COUPANG_RETURN;
        }

        for (k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++) {
            if (ret->receipt_status.len == statuses[k].name.len
                && memcmp(ret->receipt_status.data, statuses[k].name.data,
                          statuses[k].name.len) == 0)
            {
                ret->status = statuses[k].status;
            }
        }

        items = integrations_json_get(v, "returnItems");

        if (items == NULL || !YAJL_IS_ARRAY(items)
            || count(items) == 0)
        {
            if (r.error == NULL) {
                r.error = "returnItems";
            }

            ret->error = r.error;
            continue;
        }

        ret->items = rec_array(&r, count(items),
                               sizeof(integrations_coupang_return_item_t));
        if (ret->items == NULL) {
            out->status.rc = INTEGRATIONS_COUPANG_NOMEM;
            return out->status.rc;
        }

        for (j = 0; j < count(items); j++) {
            it = &ret->items[j];
            it->vendor_item_id = coupang_empty;
            it->shipment_box_id = coupang_empty;

            if (!YAJL_IS_OBJECT(items->u.array.values[j])) {
                if (r.error == NULL) {
                    r.error = "returnItems[]";
                }

                continue;
            }

            keep_id(&r, items->u.array.values[j], "vendorItemId",
                    "returnItems[].vendorItemId", COUPANG_REQUIRED,
                    &it->vendor_item_id);
            keep_id(&r, items->u.array.values[j], "shipmentBoxId",
                    "returnItems[].shipmentBoxId", 0, &it->shipment_box_id);
            keep_count(&r, items->u.array.values[j], "cancelCount",
                       "returnItems[].cancelCount", 0, &it->cancel_count);
            keep_count(&r, items->u.array.values[j], "purchaseCount",
                       "returnItems[].purchaseCount", 0, &it->purchase_count);
        }

        ret->n_items = count(items);
        ret->error = r.error;
    }

    out->n_returns = r.n;

    return INTEGRATIONS_COUPANG_OK;
}


void
integrations_coupang_returns_free(integrations_coupang_returns_t *out)
{
    mem_free(out->mem);
    memset(out, 0, sizeof(*out));
}


integrations_coupang_rc_e
integrations_coupang_parse_withdrawals(const char *body, size_t len,
    integrations_coupang_withdrawals_t *out)
{
    size_t                               i, j;
    coupang_rec_t                        r;
    yajl_val                             v, ids;
    integrations_coupang_withdrawal_t   *w;

    memset(out, 0, sizeof(*out));
    out->next_page = coupang_empty;

    /* nextPageIndex: "2", 2, or "" on the last page */

    if (answer_open(&r, body, len, &out->status, &out->mem, NULL, 0) != 0
        || answer_token(&r, &out->status, "nextPageIndex", 1,
                        &out->next_page) != 0)
    {
        return out->status.rc;
    }

    out->withdrawals = answer_alloc(&r, &out->status,
                                    sizeof(integrations_coupang_withdrawal_t));
    if (out->withdrawals == NULL && r.n) {
        return out->status.rc;
    }

    for (i = 0; i < r.n; i++) {
        w = &out->withdrawals[i];
        v = answer_record(&r, i);
        r.error = NULL;

        w->cancel_id = coupang_empty;
        w->order_id = coupang_empty;

        if (!YAJL_IS_OBJECT(v)) {
            w->error = "data[]";
            continue;
        }

        keep_id(&r, v, "cancelId", "cancelId", COUPANG_REQUIRED,
                &w->cancel_id);
        keep_id(&r, v, "orderId", "orderId", 0, &w->order_id);
        keep_time(v, "createdAt", &w->created_at);

        ids = integrations_json_get(v, "vendorItemIds");

        if (!absent(ids)) {
            if (!YAJL_IS_ARRAY(ids)) {
                if (r.error == NULL) {
                    r.error = "vendorItemIds";
                }

            } else if (count(ids)) {
                w->vendor_item_ids = rec_array(&r, count(ids),
                                           sizeof(integrations_coupang_str_t));
                if (w->vendor_item_ids == NULL) {
                    out->status.rc = INTEGRATIONS_COUPANG_NOMEM;
                    return out->status.rc;
                }

                for (j = 0; j < count(ids); j++) {
                    if (integrations_json_id(ids->u.array.values[j],
                                             &w->vendor_item_ids[j].data,
                                             &w->vendor_item_ids[j].len)
                        != 0)
                    {
                        w->vendor_item_ids[j] = coupang_empty;

                        if (r.error == NULL) {
                            r.error = "vendorItemIds[]";
                        }
                    }
                }

                w->n_vendor_item_ids = count(ids);
            }
        }

        w->error = r.error;
    }

    out->n_withdrawals = r.n;

    return INTEGRATIONS_COUPANG_OK;
}


void
integrations_coupang_withdrawals_free(integrations_coupang_withdrawals_t *out)
{
    mem_free(out->mem);
    memset(out, 0, sizeof(*out));
}


/* CS inquiries ----------------------------------------------------- */

integrations_coupang_rc_e
integrations_coupang_parse_inquiries(integrations_coupang_inquiry_kind_e kind,
    const char *body, size_t len, integrations_coupang_inquiries_t *out)
{
    size_t                            i, slen;
    const char                       *s;
    coupang_rec_t                     r;
    yajl_val                          data, v, a, page;
    integrations_coupang_inquiry_t   *q;
    integrations_coupang_str_t        st;

    memset(out, 0, sizeof(*out));

    /* data.content; data itself in some older samples */

    if (answer_open(&r, body, len, &out->status, &out->mem, "content",
                    COUPANG_BARE) != 0)
    {
        return out->status.rc;
    }

    data = integrations_json_get(r.root, "data");
    page = integrations_json_get(data, "pagination");
    out->current_page = 1;

    if (integrations_json_int64(integrations_json_get(page, "currentPage"),
                                &out->current_page) != 0)
    {
        out->current_page = 1;
    }

    if (integrations_json_int64(integrations_json_get(page, "totalPages"),
                                &out->total_pages) != 0)
    {
        out->total_pages = 0;
    }

    out->inquiries = answer_alloc(&r, &out->status,
                                  sizeof(integrations_coupang_inquiry_t));
    if (out->inquiries == NULL && r.n) {
        return out->status.rc;
    }

    for (i = 0; i < r.n; i++) {
        q = &out->inquiries[i];
        v = answer_record(&r, i);
        r.error = NULL;

        q->kind = kind;
        q->inquiry_id = coupang_empty;
        q->vendor_item_id = coupang_empty;
        q->order_id = coupang_empty;

        if (!YAJL_IS_OBJECT(v)) {
            q->error = "content[]";
            continue;
        }

        keep_id(&r, v, "inquiryId", "inquiryId", COUPANG_REQUIRED,
                &q->inquiry_id);
        keep_time(v, "inquiryAt", &q->inquiry_at);

        /* vendorItemId: documented a Number, an array in the sample */

        a = integrations_json_get(v, "vendorItemId");
        if (a && YAJL_IS_ARRAY(a)) {
            a = at(a, 0);
        }

        if (!absent(a)
            && integrations_json_id(a, &q->vendor_item_id.data,
                                    &q->vendor_item_id.len) != 0)
        {
            q->vendor_item_id = coupang_empty;
            r.error = r.error ? r.error : "vendorItemId";
        }

        /* orderId (call center), orderIds[] (online, or null) */

        a = integrations_json_get(v, "orderId");
        if (absent(a)) {
            a = at(integrations_json_get(v, "orderIds"), 0);
        }

        if (!absent(a)
            && integrations_json_id(a, &q->order_id.data, &q->order_id.len)
               != 0)
        {
            q->order_id = coupang_empty;
            r.error = r.error ? r.error : "orderId";
        }

        if (kind == INTEGRATIONS_COUPANG_INQUIRY_ONLINE) {
            q->answered = count(
                              integrations_json_get(v, "commentDtoList")) > 0;

        } else {
            st = coupang_empty;

            a = integrations_json_get(v, "csPartnerCounselingStatus");
            if (absent(a)) {
                a = integrations_json_get(v, "partnerCounselingStatus");
            }

            if (string_of(a, &s, &slen) == 0) {
                st.data = s;
                st.len = slen;
            }

            q->answered =
                (st.len == 8 && strncasecmp(st.data, "answered", 8) == 0)
                || (st.len == 6 && strncasecmp(st.data, "answer", 6) == 0);

            if (string_of(integrations_json_get(v,
                                                             "answeredAt"),
                                         &s, &slen) == 0
                && slen > 0)
            {
                q->answered = 1;
            }

            q->return_hint = mentions_return(integrations_json_get(
                                                 v, "receiptCategory"));
        }

        q->return_hint |= mentions_return(integrations_json_get(v, "content"));
        q->error = r.error;
    }

    out->n_inquiries = r.n;

    return INTEGRATIONS_COUPANG_OK;
}


void
integrations_coupang_inquiries_free(integrations_coupang_inquiries_t *out)
{
    mem_free(out->mem);
    memset(out, 0, sizeof(*out));
}


size_t
integrations_coupang_inquiry_key(const integrations_coupang_inquiry_t *q,
    char *out)
{
    size_t  n;

    n = (size_t) sprintf(out, "%s:",
                         q->kind == INTEGRATIONS_COUPANG_INQUIRY_ONLINE
                         ? "online" : "call");

    if (q->inquiry_id.len <= INTEGRATIONS_JSON_ID_MAX) {
        memcpy(out + n, q->inquiry_id.data, q->inquiry_id.len);
        n += q->inquiry_id.len;
    }

    out[n] = '\0';

    return n;
}


/*
 * The words a return, refund or cancellation is asked with.  Only looked
 * for, never kept: the text is the buyer's.
 */

static int
mentions_return(yajl_val v)
{
    size_t       i, n, k;
    const char  *s;

    static const integrations_coupang_str_t  words[] = {
        coupang_lit("\xeb\xb0\x98\xed\x92\x88"),        /* 반품 */
        coupang_lit("\xed\x99\x98\xeb\xb6\x88"),        /* 환불 */
        coupang_lit("\xec\xb7\xa8\xec\x86\x8c"),        /* 취소 */
        coupang_lit("refund"),
        coupang_lit("Refund")
    };

    if (string_of(v, &s, &n) != 0) {
        return 0;
    }

    for (k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
        for (i = 0; i + words[k].len <= n; i++) {
            if (memcmp(s + i, words[k].data, words[k].len) == 0) {
                return 1;
            }
        }
    }

    return 0;
}


/* ------------------------------------------------------------------ */
/* Helpers                                                            */

static void
buf_add(coupang_buf_t *b, const char *s, size_t n)
{
    if (b->failed || b->size - b->len <= n) {
        b->failed = 1;
        return;
    }

    memcpy(b->p + b->len, s, n);
    b->len += n;
}


static void
buf_adds(coupang_buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}


static void
buf_uint(coupang_buf_t *b, unsigned long long v)
{
    char  tmp[24];

    buf_add(b, tmp, (size_t) sprintf(tmp, "%llu", v));
}


/* RFC 3986 unreserved bytes as they are, every other byte as %XX */

static void
buf_pct(coupang_buf_t *b, const char *s, size_t n)
{
    char           e[3];
    size_t         i;
    unsigned char  c;

    static const char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~')
        {
            buf_add(b, (const char *) &s[i], 1);
            continue;
        }

        e[0] = '%';
        e[1] = hex[c >> 4];
        e[2] = hex[c & 0xf];
        buf_add(b, e, 3);
    }
}


static void
buf_vendor_path(coupang_buf_t *b, const char *version,
    const integrations_coupang_query_t *q)
{
    buf_adds(b, COUPANG_PREFIX);
    buf_adds(b, version);
    buf_adds(b, "/vendors/");
    buf_add(b, q->vendor_id, q->vendor_id_len);
}


static int
digits(const char *s, size_t n)
{
    size_t  i;

    if (s == NULL || n == 0 || n > 20) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    return 1;
}


static int
one_of(const char *s, const char **set)
{
    for ( /* void */ ; *set; set++) {
        if (strcmp(s, *set) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
num2(const char *p, unsigned *v)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') {
        return -1;
    }

    *v = (unsigned) (p[0] - '0') * 10 + (unsigned) (p[1] - '0');

    return 0;
}


/* the number of the KST day holding t, counted from 1970-01-01 */

static int64_t
kst_day(int64_t t)
{
    int64_t  s;

    s = t + INTEGRATIONS_COUPANG_KST;

    return s >= 0 ? s / INTEGRATIONS_COUPANG_DAY
                  : -((-s + INTEGRATIONS_COUPANG_DAY - 1)
                      / INTEGRATIONS_COUPANG_DAY);
}


/*
 * Parses the body, reads "code" and "message", and returns the root
 * object when the answer is a success to read further, NULL otherwise
 * (st->rc says why).
 */

static yajl_val
parse_top(const char *body, size_t len, integrations_coupang_status_t *st,
    integrations_coupang_mem_t **mem)
{
    yajl_val                  root, v;
    integrations_json_err_t   jerr;

    st->rc = INTEGRATIONS_COUPANG_MALFORMED;
    st->code = -1;
    st->code_text = coupang_empty;
    st->message = coupang_empty;

    *mem = calloc(1, sizeof(integrations_coupang_mem_t));
    if (*mem == NULL) {
        st->rc = INTEGRATIONS_COUPANG_NOMEM;
        return NULL;
    }

    if (len > COUPANG_MAX_BODY) {
        snprintf(st->error, sizeof(st->error), "body over %d bytes",
                 COUPANG_MAX_BODY);
        return NULL;
    }

    /*
     * The strict reader refuses a NUL in any string (so that no kept
     * string is ever cut short) and says where: "data[0].orderer.name".
     */

    root = integrations_json_parse(body, len, COUPANG_MAX_DEPTH, 0, &jerr);
    if (root == NULL) {
        if (jerr.error == INTEGRATIONS_JSON_NOMEM) {
            st->rc = INTEGRATIONS_COUPANG_NOMEM;
        }

        snprintf(st->error, sizeof(st->error), "\"%.60s\" %s", jerr.path,
                 integrations_json_strerror(jerr.error));
        return NULL;
    }

    (*mem)->tree = root;

    if (!YAJL_IS_OBJECT(root)) {
        snprintf(st->error, sizeof(st->error), "not a JSON object");
        return NULL;
    }

    v = integrations_json_get(root, "message");
    if (integrations_json_text(v, &st->message.data, &st->message.len) != 0)
    {
        st->message = coupang_empty;
    }

    v = integrations_json_get(root, "code");

    if (absent(v)) {
        /* some answers (history, single lookups) carry no code */
        st->code = 200;

    } else {
        if (integrations_json_text(v, &st->code_text.data,
                                   &st->code_text.len) != 0
            && integrations_json_id(v, &st->code_text.data,
                                    &st->code_text.len) != 0)
        {
            st->code_text = coupang_empty;
        }

        if (integrations_json_int64(v, &st->code) != 0) {
            st->code = -1;
        }
    }

    if (st->code != 200) {
        st->rc = INTEGRATIONS_COUPANG_API_ERROR;
        snprintf(st->error, sizeof(st->error), "code is not 200");
        return NULL;
    }

    st->rc = INTEGRATIONS_COUPANG_OK;

    return root;
}


static int
answer_open(coupang_rec_t *r, const char *body, size_t len,
    integrations_coupang_status_t *st, integrations_coupang_mem_t **mem,
    const char *sub, int flags)
{
    yajl_val  data, list;

    memset(r, 0, sizeof(*r));

    r->root = parse_top(body, len, st, mem);
    if (r->root == NULL) {
        return -1;
    }

    r->mem = *mem;

    data = integrations_json_get(r->root, "data");
    list = data;

    if (sub && !((flags & COUPANG_BARE) && data
                 && YAJL_IS_ARRAY(data)))
    {
        list = integrations_json_get(data, sub);
    }

    if (list && YAJL_IS_ARRAY(list)) {
        r->n = count(list);

    } else if (list && YAJL_IS_OBJECT(list)
               && (flags & COUPANG_ONE))
    {
        r->n = 1;

    } else {
        snprintf(st->error, sizeof(st->error), "no \"data%s%s\" array",
                 sub ? "\".\"" : "", sub ? sub : "");
        st->rc = INTEGRATIONS_COUPANG_MALFORMED;
        return -1;
    }

    r->list = list;

    return 0;
}


static yajl_val
answer_record(const coupang_rec_t *r, size_t i)
{
    return YAJL_IS_ARRAY(r->list) ? r->list->u.array.values[i]
                                                     : r->list;
}


/*
 * A paging token: a clean string or a number ("" when absent or null);
 * digits_only: digits or "".  A token it cannot read fails the answer,
 * since the pages after it would be lost.
 */

static int
answer_token(coupang_rec_t *r, integrations_coupang_status_t *st,
    const char *name, int digits_only, integrations_coupang_str_t *out)
{
    yajl_val  v;

    *out = coupang_empty;

    v = integrations_json_get(r->root, name);

    if (absent(v)
        || integrations_json_id(v, &out->data, &out->len) == 0)
    {
        return 0;
    }

    if (integrations_json_text(v, &out->data, &out->len) == 0
        && (!digits_only || out->len == 0))
    {
        return 0;
    }

    *out = coupang_empty;

    snprintf(st->error, sizeof(st->error), "\"%s\" unreadable", name);
    st->rc = INTEGRATIONS_COUPANG_MALFORMED;

    return -1;
}


static void *
answer_alloc(coupang_rec_t *r, integrations_coupang_status_t *st,
    size_t size)
{
    void  *p;

    p = rec_array(r, r->n, size);

    if (p == NULL && r->n) {
        st->rc = INTEGRATIONS_COUPANG_NOMEM;
    }

    return p;
}


static void *
rec_array(coupang_rec_t *r, size_t n, size_t size)
{
    size_t            head;
    coupang_block_t  *b;

    if (n == 0 || r->mem == NULL || r->nomem) {
        return NULL;
    }

    head = (sizeof(coupang_block_t) + COUPANG_ALIGN - 1) / COUPANG_ALIGN
           * COUPANG_ALIGN;

    if (n > (SIZE_MAX - head) / size) {
        r->nomem = 1;
        return NULL;
    }

    b = calloc(1, head + n * size);
    if (b == NULL) {
        r->nomem = 1;
        return NULL;
    }

    b->next = r->mem->blocks;
    r->mem->blocks = b;

    return (unsigned char *) b + head;
}


static void
mem_free(integrations_coupang_mem_t *mem)
{
    coupang_block_t  *b, *next;

    if (mem == NULL) {
        return;
    }

    for (b = mem->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    yajl_tree_free(mem->tree);
    free(mem);
}


static int
absent(yajl_val v)
{
    return v == NULL || YAJL_IS_NULL(v);
}


static size_t
count(yajl_val v)
{
    if (v && YAJL_IS_ARRAY(v)) {
        return v->u.array.len;
    }

    if (v && YAJL_IS_OBJECT(v)) {
        return v->u.object.len;
    }

    return 0;
}


static yajl_val
at(yajl_val v, size_t i)
{
    return (v && YAJL_IS_ARRAY(v) && i < v->u.array.len)
           ? v->u.array.values[i] : NULL;
}


/* any string (the strict reader has refused NULs): for looking only */

static int
string_of(yajl_val v, const char **s, size_t *len)
{
    if (v == NULL || !YAJL_IS_STRING(v)) {
        return -1;
    }

    *s = v->u.string;
    *len = strlen(v->u.string);

    return 0;
}


static int
bool_of(yajl_val v, int *out)
{
    if (v == NULL || !(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))) {
        return -1;
    }

    *out = YAJL_IS_TRUE(v);

    return 0;
}


static void
keep_text(coupang_rec_t *r, yajl_val obj, const char *name,
    const char *field, integrations_coupang_str_t *out)
{
    yajl_val  v;

    *out = coupang_empty;

    v = integrations_json_get(obj, name);

    if (absent(v)) {
        return;
    }

    if (integrations_json_text(v, &out->data, &out->len) != 0) {
        *out = coupang_empty;

        if (r->error == NULL) {
            r->error = field;
        }
    }
}


static void
keep_id(coupang_rec_t *r, yajl_val obj, const char *name,
    const char *field, int flags, integrations_coupang_str_t *out)
{
    yajl_val  v;

    *out = coupang_empty;

    v = integrations_json_get(obj, name);

    if (absent(v) && !(flags & COUPANG_REQUIRED)) {
        return;
    }

    if (integrations_json_id(v, &out->data, &out->len) != 0
        || (out->data[0] == '-' && !(flags & COUPANG_SIGNED)))
    {
        *out = coupang_empty;

        if (r->error == NULL) {
            r->error = field;
        }
    }
}


static void
keep_count(coupang_rec_t *r, yajl_val obj,
    const char *name, const char *field, int required, int64_t *out)
{
    yajl_val  v;

    *out = 0;

    v = integrations_json_get(obj, name);

    if (absent(v) && !required) {
        return;
    }

    if (integrations_json_int64(v, out) != 0 || *out < 0 || *out > 1000000) {
        *out = 0;

        if (r->error == NULL) {
            r->error = field;
        }
    }
}


/* informational times: an unreadable one is unknown (0), not an error */

static void
keep_time(yajl_val obj, const char *name, int64_t *out)
{
    size_t       n;
    const char  *s;

    *out = 0;

    if (string_of(integrations_json_get(obj, name), &s, &n)
        == 0)
    {
        if (integrations_coupang_parse_time(s, n, out) != 0) {
            *out = 0;
        }
    }
}


static void
keep_bool(yajl_val obj, const char *name, int *out)
{
    if (bool_of(integrations_json_get(obj, name), out) != 0) {
        *out = 0;
    }
}


/* v4: a number of won; v5: {currencyCode, units, nanos}; null: absent */

static void
keep_money(coupang_rec_t *r, yajl_val obj,
    const char *name, const char *field, integrations_coupang_money_t *out)
{
    size_t                      n;
    int64_t                     nanos;
    const char                 *s;
    yajl_val                    v, c;

    memset(out, 0, sizeof(*out));

    v = integrations_json_get(obj, name);

    if (absent(v)) {
        return;
    }

    if (YAJL_IS_OBJECT(v)) {
        c = integrations_json_get(v, "currencyCode");
        nanos = 0;

        if (integrations_json_int64(integrations_json_get(v, "units"),
                                    &out->units) != 0
            || (!absent(integrations_json_get(v, "nanos"))
                && integrations_json_int64(integrations_json_get(v, "nanos"),
                                           &nanos) != 0)
            || nanos <= -1000000000 || nanos >= 1000000000
            || (!absent(c)
                && (integrations_json_text(c, &s, &n) != 0 || n != 3
                    || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z'
                    || s[2] < 'A' || s[2] > 'Z')))
        {
            goto failed;
        }

        out->nanos = (int32_t) nanos;
        memcpy(out->currency, absent(c) ? "KRW" : s, 3);
        out->currency[3] = '\0';
        out->present = 1;
        return;
    }

    if (integrations_json_int64(v, &out->units) != 0) {
        goto failed;
    }

    memcpy(out->currency, "KRW", 4);
    out->present = 1;
    return;

failed:

    memset(out, 0, sizeof(*out));

    if (r->error == NULL) {
        r->error = field;
    }
}
