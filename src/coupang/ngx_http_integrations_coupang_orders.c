/*
 * The Coupang order sync: a background job that pulls ACCEPT ordersheets,
 * ingests each box once (its activation links minted and its buyer
 * message queued in the same store transaction), and, once the outbox
 * has sent the message, acknowledges the box and uploads its DIRECT
 * invoice.
 *
 *     coupang_access_key       AK;
 *     coupang_secret_key_file  /etc/nginx/secrets/coupang;
 *     coupang_orders           vendor_id=A00012345 interval=1m window=15m
 *                              api=v4 rate_limit=coupang;
 *     activation_product       3242596358 EBOOK-001;
 *     activation_contact       orderer receiver answer;
 *     activation_link_base     https://books.example.com/a/;
 *     activation_message       sms=solapi;
 *     activation_alert         slack to=#orders;
 *
 * Every worker runs a timer; each tick asks the store for the lease
 * "coupang_orders:VENDOR" (holder: host and pid).  The holder runs the
 * sync every interval; a holder that dies stops renewing, its lease
 * lapses within three quarters of an interval and the next tick of any
 * worker of any node takes it.  Work done twice by an old and a new
 * holder is harmless: ingest is "ON CONFLICT DO NOTHING" per box, and a
 * fulfil step applies only from the state it started at.
 *
 * Calls to Coupang go one at a time, at least 100 ms apart (never above
 * 10 calls/s), and through the rate_limit= zone when one is named (its
 * key is the vendor id: every node and worker shares it); each is CEA
 * signed just before it leaves, on the outbound client.
 *
 * The run is a chain of steps, each a store operation or a Coupang call
 * whose completion starts the next: a worker never waits.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>

#include "integrations_activation.h"
#include "integrations_activation_message.h"
#include "integrations_cea.h"
#include "integrations_coupang_orders.h"
#include "integrations_store.h"
#include "integrations_store_orders.h"
#include "ngx_http_integrations_activation.h"
#include "ngx_http_integrations_coupang.h"
#include "ngx_http_integrations_notify.h"
#include "ngx_http_integrations_outbound.h"
#include "ngx_http_integrations_rate_limit.h"
#include "ngx_http_integrations_secret.h"
#include "ngx_http_integrations_status.h"
#include "ngx_http_integrations_store.h"


#define NGX_HTTP_CO_URL          "https://api-gateway.coupang.com"
/*
 * ms between calls: under 10/s with a margin, so that ten calls in a row
 * cannot arrive within one second at Coupang when the network delays the
 * first of them more than the last (at 100 ms, eleven could)
 */
#define NGX_HTTP_CO_GAP          110
#define NGX_HTTP_CO_WINDOWS      16
#define NGX_HTTP_CO_429_TRIES    4
#define NGX_HTTP_CO_ACK_TRIES    10
#define NGX_HTTP_CO_INVOICE_TRIES  40
#define NGX_HTTP_CO_MAX_LINKS    (INTEGRATIONS_ACT_MAX_UNITS * 4)
#define NGX_HTTP_CO_BATCH        50        /* boxes a transaction */
/* a due box whose acknowledgement is to be looked up singly (ACK_CHECK) */
#define NGX_HTTP_CO_CHECKING     (-2)


typedef struct {
    ngx_str_t                     vendor_item_id;
    ngx_str_t                     product_code;
    integrations_act_quantity_e   mode;
} ngx_http_co_product_t;


typedef struct {
    ngx_flag_t                    enabled;
    ngx_str_t                     vendor_id;
    ngx_msec_t                    interval;
    ngx_msec_t                    window;
    ngx_msec_t                    fulfil_retry;
    integrations_coupang_api_e    api;
    ngx_shm_zone_t               *rate_limit;
    ngx_str_t                     rate_limit_name;
    ngx_str_t                     url;
    ngx_msec_t                    timeout;

    ngx_str_t                     access_key;
    integrations_cea_key_t       *key;

    ngx_array_t                  *products;     /* ngx_http_co_product_t */
    integrations_act_source_e     sources[INTEGRATIONS_ACT_SOURCES_MAX];
    ngx_uint_t                    nsources;
    ngx_str_t                     link_base;
    time_t                        ttl;

    ngx_str_t                     channel;      /* activation_message */
    ngx_str_t                     template_name;
    ngx_str_t                     email_channel;
    ngx_str_t                     email_template;
    ngx_flag_t                    fallback;
    ngx_str_t                     shop;         /* the message's name */

    ngx_http_integrations_act_endpoint_t  revoke;  /* activation_revoke */

    int64_t                       key_issued;   /* unix s; 0: not set */

    /* metrics (shared by the workers) */
    ngx_http_integrations_status_counter_t  *m_boxes;
    ngx_http_integrations_status_counter_t  *m_unmapped;
    ngx_http_integrations_status_counter_t  *m_no_contact;
    ngx_http_integrations_status_counter_t  *m_fulfilled;
    ngx_http_integrations_status_counter_t  *m_fulfil_failed;
    ngx_http_integrations_status_counter_t  *m_revoked;
    ngx_http_integrations_status_counter_t  *m_window_failed;
    ngx_http_integrations_status_counter_t  *m_calls;

    ngx_msec_t                    cs_interval;  /* 0: no CS monitor */
    ngx_msec_t                    cs_urgent;

    integrations_coupang_sync_conf_t  sync;
} ngx_http_co_main_conf_t;


typedef enum {
    NGX_HTTP_CO_CURSOR = 0,
    NGX_HTTP_CO_FETCH,
    NGX_HTTP_CO_INGEST,
    NGX_HTTP_CO_RESUME,
    NGX_HTTP_CO_RETURNS,
    NGX_HTTP_CO_RETURN_APPLY,
    NGX_HTTP_CO_WITHDRAWALS,
    NGX_HTTP_CO_WITHDRAW_APPLY,
    NGX_HTTP_CO_KEY,
    NGX_HTTP_CO_CS,
    NGX_HTTP_CO_CS_MARK,
    NGX_HTTP_CO_MESSAGES,
    NGX_HTTP_CO_DUE,
    NGX_HTTP_CO_ACK,
    NGX_HTTP_CO_ACK_CHECK,
    NGX_HTTP_CO_INVOICE,
    NGX_HTTP_CO_FULFILLED,
    NGX_HTTP_CO_REVOKE_DUE,
    NGX_HTTP_CO_REVOKE_CALL,
    NGX_HTTP_CO_DONE
} ngx_http_co_step_e;


typedef struct ngx_http_co_run_s  ngx_http_co_run_t;

typedef void (*ngx_http_co_answer_pt)(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req);


/* a fulfil outcome waiting to be written */
typedef struct {
    char                          box[INTEGRATIONS_STORE_ID_LEN];
    int64_t                       from;
    int64_t                       to;
    int64_t                       attempts;
    int64_t                       next_at;
    const char                   *event;
    ngx_str_t                     error;
    ngx_uint_t                    invoice;
} ngx_http_co_outcome_t;


/* one box being ingested */
typedef struct {
    ngx_http_co_run_t                   *run;
    integrations_coupang_order_t        *order;
    integrations_coupang_str_t          *product;
    integrations_act_alert_e             alert;
    unsigned                             links;
    unsigned                             refused:1;
} ngx_http_co_box_t;


struct ngx_http_co_run_s {
    ngx_pool_t                          *pool;
    ngx_log_t                           *log;
    ngx_http_co_main_conf_t             *cmcf;
    ngx_http_co_step_e                   step;
    int64_t                              started;     /* unix s */
    ngx_uint_t                           failed;      /* a window failed */
    ngx_uint_t                           sync;        /* not fulfil only */
    ngx_uint_t                           lost;        /* the lease went */

    /* windows */
    integrations_coupang_window_t        windows[NGX_HTTP_CO_WINDOWS];
    size_t                               nwindows;
    size_t                               window;
    int64_t                              resume;
    ngx_str_t                            next_token;

    /* the page being ingested */
    integrations_coupang_ordersheets_t   sheets;
    ngx_uint_t                           have_sheets;
    size_t                               order;

    /* the batch being ingested: boxes in one transaction */
    integrations_store_order_ingest_t   *batch;
    ngx_http_co_box_t                  **bboxes;
    int                                 *bflags;
    size_t                               nbatch;

    /* returns and withdrawals */
    ngx_uint_t                           rkind;       /* 0 CANCEL, 1 UC,
                                                         2 RU, 3 PR,
                                                         4 CC */
    integrations_coupang_returns_t       returns;
    ngx_uint_t                           have_returns;
    integrations_coupang_withdrawals_t   withdrawals;
    ngx_uint_t                           have_withdrawals;
    size_t                               rat;

    /* the CS monitor */
    ngx_uint_t                           cs_kind;     /* 0 online, 1 call */
    unsigned                             cs_page;
    integrations_coupang_inquiries_t     inquiries;
    ngx_uint_t                           have_inquiries;
    integrations_act_cs_counts_t         cs_counts;

    /* activation_revoke calls */
    integrations_store_revoke_due_unit_t *revokes;
    size_t                               nrevokes;
    size_t                               revoke_at;

    /* fulfilment */
    integrations_store_due_order_t      *due;
    size_t                               ndue;
    size_t                               due_at;      /* next to check */
    ngx_array_t                         *outcomes;    /* ngx_http_co_outcome_t */
    ngx_uint_t                           outcome_at;

    /* the call in flight, and its pacing */
    ngx_str_t                            method;
    ngx_str_t                            target;      /* path?query */
    ngx_str_t                            body;
    ngx_http_co_answer_pt                answer;
    ngx_uint_t                           tries;
    ngx_event_t                          wait;

    /* counters of this run, for the log */
    ngx_uint_t                           seen;
    ngx_uint_t                           ingested;
};


typedef struct {
    ngx_event_t                          tick;
    ngx_http_co_run_t                   *run;
    ngx_msec_t                           last_run;    /* ngx_current_msec */
    ngx_msec_t                           last_call;
    ngx_uint_t                           leasing;     /* op in flight */
    ngx_uint_t                           holding;
    ngx_msec_t                           asked;       /* the op's post */
    ngx_msec_t                           until;       /* ours at most until:
                                                         its post + ttl */
    ngx_uint_t                           ran;
    ngx_msec_t                           last_cs;
    ngx_uint_t                           cs_ran;
    int64_t                              token;
    u_char                               holder[NGX_MAXHOSTNAMELEN + 32];
    size_t                               holder_len;
    u_char                               lease[64];
    size_t                               lease_len;
    ngx_http_co_main_conf_t             *cmcf;
} ngx_http_co_proc_t;


static ngx_http_co_proc_t  ngx_http_co_proc;


static void ngx_http_co_tick(ngx_event_t *ev);
static void ngx_http_co_leased(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_run_start(ngx_http_co_proc_t *p,
    ngx_http_co_step_e step);
static void ngx_http_co_next(ngx_http_co_run_t *run);
static void ngx_http_co_end(ngx_http_co_run_t *run);
static ngx_int_t ngx_http_co_post(ngx_http_co_run_t *run,
    ngx_http_integrations_store_op_t *op,
    ngx_http_integrations_store_done_pt done);
static void ngx_http_co_cursor_done(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_fetch(ngx_http_co_run_t *run);
static void ngx_http_co_fetched(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_co_ingest_next(ngx_http_co_run_t *run);
static ngx_int_t ngx_http_co_ingest(ngx_http_co_run_t *run,
    integrations_coupang_order_t *o);
static ngx_int_t ngx_http_co_buyer_message(ngx_http_co_main_conf_t *cmcf,
    ngx_pool_t *pool, ngx_str_t *key,
    const integrations_act_contact_t *contact,
    const integrations_act_msg_link_t *links, size_t n, int64_t expires_ms,
    integrations_store_outbox_item_t **items, size_t *nitems,
    integrations_notify_problem_t *problem);
static void ngx_http_co_ingested(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_alert(ngx_http_co_run_t *run,
    integrations_act_alert_e kind, integrations_coupang_order_t *o,
    const char *box, const char *order, integrations_coupang_str_t *product,
    const char *detail, size_t dlen, unsigned count);
static void ngx_http_co_simple_done(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_due_done(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_fulfil_next(ngx_http_co_run_t *run);
static void ngx_http_co_ack_check(ngx_http_co_run_t *run);
static void ngx_http_co_checked(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_co_acked(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_co_invoiced(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_co_outcome(ngx_http_co_run_t *run, const char *box,
    size_t box_len, integrations_store_due_order_t *d, ngx_uint_t invoice,
    integrations_coupang_outcome_e oc, ngx_str_t *why);
static void ngx_http_co_write_outcomes(ngx_http_co_run_t *run);
static void ngx_http_co_outcome_done(ngx_http_integrations_store_op_t *op);
static ngx_int_t ngx_http_co_call(ngx_http_co_run_t *run, const char *method,
    u_char *target, size_t target_len, u_char *body, size_t body_len,
    ngx_http_co_answer_pt answer);
static void ngx_http_co_send(ngx_event_t *ev);
static void ngx_http_co_called(ngx_http_integrations_outbound_req_t *req);
static ngx_int_t ngx_http_co_init_process(ngx_cycle_t *cycle);
static void ngx_http_co_exit_process(ngx_cycle_t *cycle);
static void *ngx_http_co_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_co_init(ngx_conf_t *cf);
static char *ngx_http_co_orders(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_co_product(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_co_contact(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_co_message(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_co_link_base(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_co_revoke(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_co_key_issued(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_co_returns(ngx_http_co_run_t *run);
static void ngx_http_co_returns_got(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_co_return_next(ngx_http_co_run_t *run);
static void ngx_http_co_return_done(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_withdrawals(ngx_http_co_run_t *run);
static void ngx_http_co_withdrawals_got(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_co_withdraw_next(ngx_http_co_run_t *run);
static void ngx_http_co_withdraw_done(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_key(ngx_http_co_run_t *run);
static void ngx_http_co_cs(ngx_http_co_run_t *run);
static void ngx_http_co_cs_got(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_co_cs_mark_next(ngx_http_co_run_t *run);
static void ngx_http_co_cs_mark_done(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_cs_report(ngx_http_co_run_t *run);
static void ngx_http_co_key_done(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_revoke_due_done(ngx_http_integrations_store_op_t *op);
static void ngx_http_co_revoke_next(ngx_http_co_run_t *run);
static void ngx_http_co_revoke_called(
    ngx_http_integrations_outbound_req_t *req);
static void ngx_http_co_revoke_set_done(ngx_http_integrations_store_op_t *op);


static ngx_command_t  ngx_http_co_commands[] = {

    { ngx_string("coupang_orders"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_co_orders,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("activation_product"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE23,
      ngx_http_co_product,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("activation_contact"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_co_contact,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("activation_link_base"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_co_link_base,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_co_main_conf_t, link_base),
      NULL },

    { ngx_string("activation_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_co_main_conf_t, ttl),
      NULL },

    { ngx_string("activation_message"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_co_message,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("activation_revoke"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_co_revoke,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("coupang_key_issued"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_co_key_issued,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_co_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_co_init,                      /* postconfiguration */

    ngx_http_co_create_main_conf,          /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_integrations_coupang_orders_module = {
    NGX_MODULE_V1,
    &ngx_http_co_module_ctx,               /* module context */
    ngx_http_co_commands,                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_co_init_process,              /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_co_exit_process,              /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* ---- the lease ------------------------------------------------------ */

static ngx_msec_t
ngx_http_co_tick_ms(ngx_http_co_main_conf_t *cmcf)
{
    return ngx_max(1000, cmcf->interval / 4);
}


static ngx_msec_t
ngx_http_co_lease_ms(ngx_http_co_main_conf_t *cmcf)
{
    return ngx_max(3000, cmcf->interval * 3 / 4);
}


static void
ngx_http_co_tick(ngx_event_t *ev)
{
    ngx_http_co_proc_t                *p;
    ngx_http_integrations_store_op_t  *op;

    p = &ngx_http_co_proc;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(ev, ngx_http_co_tick_ms(p->cmcf));

    if (p->leasing) {
        return;
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_LEASE_ACQUIRE,
                                        p->lease_len + p->holder_len);
    if (op == NULL) {
        return;
    }

    (void) ngx_http_integrations_store_copy(op, &op->core.in.lease.name,
                                            p->lease, p->lease_len);
    (void) ngx_http_integrations_store_copy(op, &op->core.in.lease.holder,
                                            p->holder, p->holder_len);
    op->core.in.lease.ttl_ms = ngx_http_co_lease_ms(p->cmcf);
    op->done = ngx_http_co_leased;

    if (ngx_http_integrations_store_post(op, NULL) == NGX_OK) {
        p->leasing = 1;
        p->asked = ngx_current_msec;

    } else if (p->holding) {
        /* the store is down: whoever holds it cannot renew either */
        p->holding = 0;
    }
}


static void
ngx_http_co_leased(ngx_http_integrations_store_op_t *op)
{
    ngx_http_co_proc_t  *p;

    p = &ngx_http_co_proc;
    p->leasing = 0;

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        /* unknown: keep a run going only while the lease may last */
        p->holding = 0;
        return;
    }

    if (!op->core.out.lease.acquired) {
        if (p->holding) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "coupang_orders: %*s lost the sync lease",
                          p->holder_len, p->holder);
        }

        p->holding = 0;
        return;
    }

    if (!p->holding) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "coupang_orders: %*s holds the sync lease (token %L)",
                      p->holder_len, p->holder, op->core.out.lease.token);
    }

    p->holding = 1;
    p->token = op->core.out.lease.token;

    /*
     * The store counted the lease from when the operation ran, which is
     * after it was posted: counting from the post, this worker stops
     * before anyone else may start, however slow the store's answer was.
     */
    p->until = p->asked + ngx_http_co_lease_ms(p->cmcf);

    if (p->run) {
        return;
    }

    /*
     * A sync every interval; between them, at every tick, only what is
     * local and cheap when there is nothing to do: the outbox's outcomes,
     * and the acknowledgements and invoices they made due.
     */

    if (!p->ran || ngx_current_msec - p->last_run >= p->cmcf->interval) {
        ngx_http_co_run_start(p, NGX_HTTP_CO_CURSOR);

    } else {
        ngx_http_co_run_start(p, NGX_HTTP_CO_MESSAGES);
    }
}


/* ---- a run ------------------------------------------------------------ */

/* 1 while this worker may act as the holder */

static ngx_uint_t
ngx_http_co_holding(ngx_http_co_proc_t *p)
{
    return p->holding && (ngx_msec_int_t) (p->until - ngx_current_msec) > 0;
}


static void
ngx_http_co_run_start(ngx_http_co_proc_t *p, ngx_http_co_step_e step)
{
    ngx_pool_t         *pool;
    ngx_http_co_run_t  *run;

    pool = ngx_create_pool(16384, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    run = ngx_pcalloc(pool, sizeof(ngx_http_co_run_t));
    if (run == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    run->pool = pool;
    run->log = ngx_cycle->log;
    run->cmcf = p->cmcf;
    run->started = ngx_time();
    run->step = step;
    run->sync = (step == NGX_HTTP_CO_CURSOR);
    run->outcomes = ngx_array_create(pool, 16, sizeof(ngx_http_co_outcome_t));
    run->wait.handler = ngx_http_co_send;
    run->wait.data = run;
    run->wait.log = ngx_cycle->log;
    run->wait.cancelable = 1;

    if (run->outcomes == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    p->run = run;

    if (run->sync) {
        p->ran = 1;
        p->last_run = ngx_current_msec;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, run->log, 0,
                   "coupang_orders: run starts");

    ngx_http_co_next(run);
}


/* the next step; a step whose work is over moves run->step on */

static void
ngx_http_co_next(ngx_http_co_run_t *run)
{
    size_t                             n;
    ngx_http_co_proc_t                *p;
    ngx_http_co_main_conf_t           *cmcf;
    ngx_http_integrations_store_op_t  *op;

    p = &ngx_http_co_proc;
    cmcf = run->cmcf;

    /*
     * Store steps go on without the lease (every write is keyed or
     * fenced): what a call's answer said is still written.  Calls to
     * Coupang need it (ngx_http_co_send()).
     */

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_http_co_end(run);
        return;
    }

    switch (run->step) {

    case NGX_HTTP_CO_CURSOR:
        op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_CURSOR_GET,
                                            0);
        if (op == NULL) {
            ngx_http_co_end(run);
            return;
        }

        op->core.in.cursor.name.data = p->lease;
        op->core.in.cursor.name.len = p->lease_len;

        (void) ngx_http_co_post(run, op, ngx_http_co_cursor_done);
        return;

    case NGX_HTTP_CO_FETCH:
        if (run->window >= run->nwindows) {
            run->step = run->failed ? NGX_HTTP_CO_RETURNS
                                    : NGX_HTTP_CO_RESUME;
            ngx_http_co_next(run);
            return;
        }

        ngx_http_co_fetch(run);
        return;

    case NGX_HTTP_CO_INGEST:
        ngx_http_co_ingest_next(run);
        return;

    case NGX_HTTP_CO_RESUME:
        op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_CURSOR_SET,
                                            0);
        if (op == NULL) {
            ngx_http_co_end(run);
            return;
        }

        op->core.in.cursor.name.data = p->lease;
        op->core.in.cursor.name.len = p->lease_len;
        op->core.in.cursor.value = run->resume * 1000;
        run->step = NGX_HTTP_CO_RETURNS;

        (void) ngx_http_co_post(run, op, ngx_http_co_simple_done);
        return;

    case NGX_HTTP_CO_RETURNS:
        ngx_http_co_returns(run);
        return;

    case NGX_HTTP_CO_RETURN_APPLY:
        ngx_http_co_return_next(run);
        return;

    case NGX_HTTP_CO_WITHDRAWALS:
        ngx_http_co_withdrawals(run);
        return;

    case NGX_HTTP_CO_WITHDRAW_APPLY:
        ngx_http_co_withdraw_next(run);
        return;

    case NGX_HTTP_CO_KEY:
        ngx_http_co_key(run);
        return;

    case NGX_HTTP_CO_CS:
        ngx_http_co_cs(run);
        return;

    case NGX_HTTP_CO_CS_MARK:
        ngx_http_co_cs_mark_next(run);
        return;

    case NGX_HTTP_CO_REVOKE_DUE:
        if (cmcf->revoke.url.len == 0) {
            run->step = NGX_HTTP_CO_DONE;
            ngx_http_co_next(run);
            return;
        }

        op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_REVOKE_DUE,
                                            0);
        if (op == NULL) {
            ngx_http_co_end(run);
            return;
        }

        op->core.in.revoke_due.vendor_id.data = cmcf->vendor_id.data;
        op->core.in.revoke_due.vendor_id.len = cmcf->vendor_id.len;
        op->core.in.revoke_due.limit = 50;

        (void) ngx_http_co_post(run, op, ngx_http_co_revoke_due_done);
        return;

    case NGX_HTTP_CO_REVOKE_CALL:
        ngx_http_co_revoke_next(run);
        return;

    case NGX_HTTP_CO_MESSAGES:
        op = ngx_http_integrations_store_op(
                 INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 0);
        if (op == NULL) {
            ngx_http_co_end(run);
            return;
        }

        op->core.in.sync.vendor_id.data = cmcf->vendor_id.data;
        op->core.in.sync.vendor_id.len = cmcf->vendor_id.len;
        op->core.in.sync.limit = 1000;
        run->step = NGX_HTTP_CO_DUE;

        (void) ngx_http_co_post(run, op, ngx_http_co_simple_done);
        return;

    case NGX_HTTP_CO_DUE:
        op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_ORDER_DUE,
                                            0);
        if (op == NULL) {
            ngx_http_co_end(run);
            return;
        }

        op->core.in.due.vendor_id.data = cmcf->vendor_id.data;
        op->core.in.due.vendor_id.len = cmcf->vendor_id.len;
        op->core.in.due.limit = INTEGRATIONS_COUPANG_ACK_MAX;

        (void) ngx_http_co_post(run, op, ngx_http_co_due_done);
        return;

    case NGX_HTTP_CO_ACK:
    case NGX_HTTP_CO_INVOICE:
        ngx_http_co_fulfil_next(run);
        return;

    case NGX_HTTP_CO_ACK_CHECK:
        ngx_http_co_ack_check(run);
        return;

    case NGX_HTTP_CO_FULFILLED:
        ngx_http_co_write_outcomes(run);
        return;

    case NGX_HTTP_CO_DONE:
        n = run->ingested;

        if (!run->sync) {
            ngx_http_co_end(run);
            return;
        }

        if (run->lost) {
            ngx_log_error(NGX_LOG_INFO, run->log, 0,
                          "coupang_orders: run cut short: the lease is gone");
        }

        ngx_log_error(NGX_LOG_INFO, run->log, 0,
                      "coupang_orders: run done: %ui boxes seen, "
                      "%ui new%s", run->seen, n,
                      run->failed ? ", a window failed (retried next run)"
                                  : "");
        ngx_http_co_end(run);
        return;
    }
}


static void
ngx_http_co_end(ngx_http_co_run_t *run)
{
    ngx_http_co_proc_t  *p;

    p = &ngx_http_co_proc;

    if (run->wait.timer_set) {
        ngx_del_timer(&run->wait);
    }

    if (run->have_sheets) {
        integrations_coupang_ordersheets_free(&run->sheets);
        run->have_sheets = 0;
    }

    if (run->have_returns) {
        integrations_coupang_returns_free(&run->returns);
        run->have_returns = 0;
    }

    if (run->have_withdrawals) {
        integrations_coupang_withdrawals_free(&run->withdrawals);
        run->have_withdrawals = 0;
    }

    if (run->have_inquiries) {
        integrations_coupang_inquiries_free(&run->inquiries);
        run->have_inquiries = 0;
    }

    if (p->run == run) {
        p->run = NULL;
    }

    ngx_destroy_pool(run->pool);
}


/* an op for the run; a refused post ends the run */

static ngx_int_t
ngx_http_co_post(ngx_http_co_run_t *run, ngx_http_integrations_store_op_t *op,
    ngx_http_integrations_store_done_pt done)
{
    op->done = done;
    op->data = run;

    if (ngx_http_integrations_store_post(op, NULL) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, run->log, 0,
                      "coupang_orders: the store is unavailable, the run "
                      "stops (next interval)");
        ngx_http_co_end(run);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_co_op_failed(ngx_http_integrations_store_op_t *op)
{
    ngx_http_co_run_t  *run = op->data;

    if (op->core.rc == INTEGRATIONS_STORE_OK) {
        return 0;
    }

    ngx_log_error(NGX_LOG_WARN, run->log, 0,
                  "coupang_orders: store %s: %s: %s, the run stops",
                  integrations_store_kind_name(op->core.kind),
                  integrations_store_rc_name(op->core.rc), op->core.error);

    ngx_http_co_end(run);

    return 1;
}


static void
ngx_http_co_simple_done(ngx_http_integrations_store_op_t *op)
{
    ngx_http_co_run_t  *run = op->data;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    if (op->core.kind == INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC
        && (op->core.out.sync.sent || op->core.out.sync.failed
            || op->core.out.sync.cancelled))
    {
        ngx_log_error(NGX_LOG_INFO, run->log, 0,
                      "coupang_orders: %L buyer messages sent, %L failed, "
                      "%L cancelled", op->core.out.sync.sent,
                      op->core.out.sync.failed, op->core.out.sync.cancelled);
    }

    ngx_http_co_next(run);
}


static void
ngx_http_co_cursor_done(ngx_http_integrations_store_op_t *op)
{
    int64_t                   last_ok, now;
    ngx_http_co_run_t        *run = op->data;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    last_ok = op->core.out.cursor.found ? op->core.out.cursor.value / 1000
                                        : 0;
    now = (int64_t) ngx_time();

    run->nwindows = integrations_coupang_sync_plan(&run->cmcf->sync, last_ok,
                                                   now, run->windows,
                                                   NGX_HTTP_CO_WINDOWS,
                                                   &run->resume);
    run->window = 0;
    run->step = NGX_HTTP_CO_FETCH;

    ngx_http_co_next(run);
}


/* ---- ordersheets ------------------------------------------------------- */

static void
ngx_http_co_fetch(ngx_http_co_run_t *run)
{
    long                               n;
    u_char                            *target;
    integrations_coupang_query_t       q;
    integrations_coupang_window_t     *w;
    ngx_http_co_main_conf_t           *cmcf;

    cmcf = run->cmcf;
    w = &run->windows[run->window];

    ngx_memzero(&q, sizeof(q));
    q.kind = (w->mode == INTEGRATIONS_COUPANG_WINDOW_DAY)
             ? INTEGRATIONS_COUPANG_Q_ORDERSHEETS_DAY
             : INTEGRATIONS_COUPANG_Q_ORDERSHEETS_TIMEFRAME;
    q.api = cmcf->api;
    q.vendor_id = (const char *) cmcf->vendor_id.data;
    q.vendor_id_len = cmcf->vendor_id.len;
    q.from = w->from;
    q.to = w->to;
    q.status = "ACCEPT";

    if (run->next_token.len) {
        q.next_token = (const char *) run->next_token.data;
        q.next_token_len = run->next_token.len;
    }

    target = ngx_pnalloc(run->pool, INTEGRATIONS_COUPANG_URL_MAX);
    if (target == NULL) {
        ngx_http_co_end(run);
        return;
    }

    n = integrations_coupang_url(&q, (char *) target,
                                 INTEGRATIONS_COUPANG_URL_MAX);
    if (n < 0) {
        ngx_log_error(NGX_LOG_ERR, run->log, 0,
                      "coupang_orders: cannot build the ordersheets query");
        run->failed = 1;
        run->window++;
        run->next_token.len = 0;
        ngx_http_co_next(run);
        return;
    }

    (void) ngx_http_co_call(run, "GET", target, (size_t) n, NULL, 0,
                            ngx_http_co_fetched);
}


static void
ngx_http_co_fetched(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req)
{
    integrations_coupang_rc_e  rc;

    if (req == NULL || req->status != 200) {
        /* logged by the caller; the cursor stays, the next run repeats */
        ngx_http_integrations_status_increment(run->cmcf->m_window_failed);
        run->failed = 1;
        run->window++;
        run->next_token.len = 0;
        ngx_http_co_next(run);
        return;
    }

    rc = integrations_coupang_parse_ordersheets(
             (const char *) req->response_body.data, req->response_body.len,
             &run->sheets);
    run->have_sheets = 1;

    if (rc != INTEGRATIONS_COUPANG_OK) {
        ngx_log_error(NGX_LOG_ERR, run->log, 0,
                      "coupang_orders: an ordersheets answer is unusable "
                      "(%s%s%*s), the window is retried next run",
                      rc == INTEGRATIONS_COUPANG_MALFORMED ? "malformed: "
                                                           : "code ",
                      rc == INTEGRATIONS_COUPANG_MALFORMED
                          ? run->sheets.status.error : "",
                      rc == INTEGRATIONS_COUPANG_MALFORMED
                          ? 0 : (int) run->sheets.status.code_text.len,
                      run->sheets.status.code_text.data);

        integrations_coupang_ordersheets_free(&run->sheets);
        run->have_sheets = 0;
        run->failed = 1;
        run->window++;
        run->next_token.len = 0;
        ngx_http_co_next(run);
        return;
    }

    run->order = 0;
    run->step = NGX_HTTP_CO_INGEST;

    ngx_http_co_next(run);
}


/*
 * The page's boxes, NGX_HTTP_CO_BATCH at a time in one store transaction
 * (one durable commit for them all), then its next page or window.
 */

static void
ngx_http_co_ingest_next(ngx_http_co_run_t *run)
{
    u_char                            *t;
    integrations_coupang_order_t      *o;
    ngx_http_integrations_store_op_t  *op;

    if (run->batch == NULL) {
        run->batch = ngx_palloc(run->pool, NGX_HTTP_CO_BATCH
                                   * sizeof(integrations_store_order_ingest_t));
        run->bboxes = ngx_palloc(run->pool,
                                 NGX_HTTP_CO_BATCH * sizeof(ngx_http_co_box_t *));
        run->bflags = ngx_palloc(run->pool, NGX_HTTP_CO_BATCH * sizeof(int));

        if (run->batch == NULL || run->bboxes == NULL || run->bflags == NULL) {
            ngx_http_co_end(run);
            return;
        }
    }

    run->nbatch = 0;

    while (run->order < run->sheets.n_orders
           && run->nbatch < NGX_HTTP_CO_BATCH)
    {
        o = &run->sheets.orders[run->order++];
        run->seen++;

        if (o->error) {
            ngx_log_error(NGX_LOG_WARN, run->log, 0,
                          "coupang_orders: box %*s skipped: its field "
                          "\"%s\" is unreadable",
                          (int) o->shipment_box_id.len,
                          o->shipment_box_id.data, o->error);
            continue;
        }

        if (o->status.len != 6
            || ngx_strncmp(o->status.data, "ACCEPT", 6) != 0)
        {
            continue;
        }

        if (ngx_http_co_ingest(run, o) != NGX_OK) {
            /* the run ended */
            return;
        }
    }

    if (run->nbatch) {
        op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_ORDER_INGEST,
                                            0);
        if (op == NULL) {
            ngx_http_co_end(run);
            return;
        }

        ngx_memzero(run->bflags, NGX_HTTP_CO_BATCH * sizeof(int));
        op->core.in.ingest.boxes = run->batch;
        op->core.in.ingest.nboxes = run->nbatch;
        op->core.in.ingest.inserted = run->bflags;

        (void) ngx_http_co_post(run, op, ngx_http_co_ingested);
        return;
    }

    /* the page is done */

    if (run->sheets.next_token.len
        && run->windows[run->window].mode == INTEGRATIONS_COUPANG_WINDOW_DAY)
    {
        t = ngx_pnalloc(run->pool, run->sheets.next_token.len);
        if (t == NULL) {
            ngx_http_co_end(run);
            return;
        }

        ngx_memcpy(t, run->sheets.next_token.data,
                   run->sheets.next_token.len);
        run->next_token.data = t;
        run->next_token.len = run->sheets.next_token.len;

    } else {
        run->next_token.len = 0;
        run->window++;
    }

    integrations_coupang_ordersheets_free(&run->sheets);
    run->have_sheets = 0;
    run->step = NGX_HTTP_CO_FETCH;

    ngx_http_co_next(run);
}


static ngx_http_co_product_t *
ngx_http_co_find_product(ngx_http_co_main_conf_t *cmcf,
    integrations_coupang_str_t *id)
{
    ngx_uint_t              i;
    ngx_http_co_product_t  *pr;

    if (cmcf->products == NULL) {
        return NULL;
    }

    pr = cmcf->products->elts;

    for (i = 0; i < cmcf->products->nelts; i++) {
        if (pr[i].vendor_item_id.len == id->len
            && ngx_strncmp(pr[i].vendor_item_id.data, id->data, id->len) == 0)
        {
            return &pr[i];
        }
    }

    return NULL;
}


#define NGX_HTTP_CO_B(b, s, l)                                                \
    (b).data = (const unsigned char *) (s); (b).len = (l)

#define NGX_HTTP_CO_BS(b, cs)                                                 \
    (b).data = (const unsigned char *) (cs).data; (b).len = (cs).len


/*
 * One box: its items mapped, the contact chosen, a token minted for
 * each unit to deliver (only its hash is stored; the link is in the
 * message), and the buyer's message prepared by notifications
 * (ngx_http_integrations_notify_prepare(): channel, template, recipient
 * checked and rendered now) as outbox rows of the same transaction.
 */

static ngx_int_t
ngx_http_co_ingest(ngx_http_co_run_t *run, integrations_coupang_order_t *o)
{
    int                                   have_contact;
    u_char                               *s, *urls, *up;
    char                                  token[INTEGRATIONS_ACT_TOKEN_LEN];
    size_t                                i, nunits, nmapped, nunmapped, k,
                                          nitems;
    unsigned                              links, u;
    int64_t                               now_ms, expires;
    long                                  ll;
    ngx_int_t                             rc;
    ngx_str_t                             key;
    ngx_pool_t                           *pool;
    unsigned char                         rnd[INTEGRATIONS_ACT_TOKEN_BYTES];
    ngx_http_co_product_t                *pr, **maps;
    ngx_http_co_main_conf_t              *cmcf;
    ngx_http_co_box_t                    *box;
    integrations_act_contact_t           *contact;
    integrations_act_msg_link_t          *ml;
    integrations_notify_problem_t         problem;
    integrations_coupang_order_item_t    *it;
    integrations_store_order_item_t      *items;
    integrations_store_order_unit_t      *units;
    integrations_store_outbox_item_t     *ob;
    integrations_store_outbox_result_t   *obr;
    integrations_store_orders_outbox_t   *obh;
    integrations_store_order_ingest_t    *in;

    cmcf = run->cmcf;
    pool = run->pool;
    now_ms = (int64_t) ngx_time() * 1000;
    expires = now_ms + (int64_t) cmcf->ttl * 1000;

    items = ngx_pcalloc(pool, (o->n_items + 1)
                              * sizeof(integrations_store_order_item_t));
    maps = ngx_pcalloc(pool, (o->n_items + 1)
                             * sizeof(ngx_http_co_product_t *));
    contact = ngx_pcalloc(pool, sizeof(integrations_act_contact_t));
    box = ngx_pcalloc(pool, sizeof(ngx_http_co_box_t));
    obh = ngx_pcalloc(pool, sizeof(integrations_store_orders_outbox_t));

    if (items == NULL || maps == NULL || contact == NULL || box == NULL
        || obh == NULL)
    {
        goto nomem;
    }

    box->run = run;
    box->order = o;

    /* items and how many links each gets */

    nunits = 0;
    nmapped = 0;
    nunmapped = 0;

    for (i = 0; i < o->n_items; i++) {
        it = &o->items[i];
        pr = ngx_http_co_find_product(cmcf, &it->vendor_item_id);
        maps[i] = pr;

        NGX_HTTP_CO_BS(items[i].vendor_item_id, it->vendor_item_id);
        NGX_HTTP_CO_BS(items[i].item_name, it->vendor_item_name);
        items[i].quantity = it->shipping_count;
        items[i].cancel_count = it->cancel_count;
        items[i].hold_count = it->hold_count;
        items[i].state = INTEGRATIONS_ACT_SYNCED;

        if (pr == NULL) {
            nunmapped++;
            continue;
        }

        NGX_HTTP_CO_B(items[i].product_code, pr->product_code.data,
                      pr->product_code.len);

        links = integrations_act_link_count(it->shipping_count,
                                            it->cancel_count, it->hold_count,
                                            pr->mode);
        items[i].links = links;
        nunits += links;
        nmapped++;
    }

    /* the contact, from the first mapped item's answers */

    have_contact = 0;

    for (i = 0; i < o->n_items; i++) {
        if (maps[i]) {
            have_contact = (integrations_act_contact_choose(cmcf->sources,
                                                            cmcf->nsources, o,
                                                            &o->items[i],
                                                            contact)
                            == 0);
            break;
        }
    }

    if (nmapped == 0 || nunits == 0) {
        have_contact = 0;
    }

    if (have_contact
        && (contact->kind == INTEGRATIONS_ACT_CONTACT_EMAIL
            ? cmcf->email_channel.len == 0 : cmcf->channel.len == 0))
    {
        /* no channel for this kind of contact */
        have_contact = 0;
    }

    units = ngx_pcalloc(pool, (nunits + 1)
                              * sizeof(integrations_store_order_unit_t));
    ml = ngx_pcalloc(pool, (nunits + 1) * sizeof(integrations_act_msg_link_t));
    urls = ngx_pnalloc(pool, (nunits + 1) * (cmcf->link_base.len
                                             + INTEGRATIONS_ACT_TOKEN_LEN + 1));

    if (units == NULL || ml == NULL || urls == NULL) {
        goto nomem;
    }

    up = urls;
    k = 0;

    for (i = 0; i < o->n_items; i++) {

        if (maps[i] == NULL) {
            continue;
        }

        for (u = 1; u <= items[i].links; u++) {
            NGX_HTTP_CO_BS(units[k].vendor_item_id,
                           o->items[i].vendor_item_id);
            NGX_HTTP_CO_B(units[k].product_code, maps[i]->product_code.data,
                          maps[i]->product_code.len);
            units[k].unit = u;
            units[k].units = items[i].links;
            units[k].expires_at = expires;
            units[k].state = have_contact ? INTEGRATIONS_ACT_SYNCED
                                          : INTEGRATIONS_ACT_NO_CONTACT;

            if (have_contact) {
                if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
                    ngx_log_error(NGX_LOG_ALERT, run->log, 0,
                                  "coupang_orders: RAND_bytes() failed");
                    ngx_http_co_end(run);
                    return NGX_ERROR;
                }

                (void) integrations_act_token_encode(rnd, sizeof(rnd), token);
                ngx_explicit_memzero(rnd, sizeof(rnd));

                s = ngx_pnalloc(pool, INTEGRATIONS_ACT_HASH_HEX_LEN);
                if (s == NULL) {
                    goto nomem;
                }

                integrations_act_token_hash_hex(token, sizeof(token),
                                                (char *) s);
                NGX_HTTP_CO_B(units[k].token_hash, s,
                              INTEGRATIONS_ACT_HASH_HEX_LEN);

                ll = integrations_act_link((const char *) cmcf->link_base.data,
                                           cmcf->link_base.len, token,
                                           sizeof(token), (char *) up,
                                           cmcf->link_base.len
                                           + INTEGRATIONS_ACT_TOKEN_LEN + 1);
                ngx_explicit_memzero(token, sizeof(token));

                if (ll < 0) {
                    goto nomem;
                }

                ml[k].product = o->items[i].vendor_item_name.data;
                ml[k].product_len = o->items[i].vendor_item_name.len;
                ml[k].url = (const char *) up;
                ml[k].url_len = (size_t) ll;
                ml[k].unit = u;
                ml[k].units = (unsigned) items[i].links;
                up += ll + 1;
            }

            k++;
        }
    }

    /* the buyer's message, prepared by notifications */

    nitems = 0;
    ob = NULL;
    obr = NULL;

    if (have_contact) {
        s = ngx_pnalloc(pool, sizeof("coupang:") + cmcf->vendor_id.len
                              + o->shipment_box_id.len + 1);
        if (s == NULL) {
            goto nomem;
        }

        key.data = s;
        key.len = ngx_sprintf(s, "coupang:%V:%*s", &cmcf->vendor_id,
                              o->shipment_box_id.len, o->shipment_box_id.data)
                  - s;

        rc = ngx_http_co_buyer_message(cmcf, pool, &key, contact, ml, k,
                                       expires, &ob, &nitems, &problem);

        if (rc == NGX_ERROR) {
            goto nomem;
        }

        if (rc == NGX_DECLINED || nitems == 0) {
            /* the channel refused it (a recipient it cannot reach...) */
            ngx_log_error(NGX_LOG_WARN, run->log, 0,
                          "coupang_orders: box %*s: the buyer's message "
                          "was refused (%s), the box is held",
                          o->shipment_box_id.len, o->shipment_box_id.data,
                          problem.field[0] ? problem.field : "no item");
            box->refused = 1;
            have_contact = 0;
            nitems = 0;

            for (i = 0; i < k; i++) {
                units[i].state = INTEGRATIONS_ACT_NO_CONTACT;
                units[i].token_hash.len = 0;
            }
        }

        obr = ngx_pcalloc(pool, (nitems + 1)
                                * sizeof(integrations_store_outbox_result_t));
        if (obr == NULL) {
            goto nomem;
        }
    }

    in = &run->batch[run->nbatch];
    ngx_memzero(in, sizeof(integrations_store_order_ingest_t));

    NGX_HTTP_CO_B(in->vendor_id, cmcf->vendor_id.data, cmcf->vendor_id.len);
    NGX_HTTP_CO_BS(in->shipment_box_id, o->shipment_box_id);
    NGX_HTTP_CO_BS(in->order_id, o->order_id);
    NGX_HTTP_CO_BS(in->coupang_status, o->status);
    NGX_HTTP_CO_BS(in->buyer_name, o->orderer_name);
    in->api = cmcf->api;
    in->ordered_at = o->ordered_at * 1000;
    in->paid_at = o->paid_at * 1000;
    in->items = items;
    in->nitems = o->n_items;
    in->units = units;
    in->nunits = k;
    in->unmapped = (int64_t) nunmapped;

    if (contact->kind != INTEGRATIONS_ACT_CONTACT_NONE) {
        in->contact.data = (const unsigned char *) contact->value;
        in->contact.len = contact->len;
        in->contact_kind = contact->kind;
        s = (u_char *) integrations_act_source_name(contact->source);
        NGX_HTTP_CO_B(in->contact_source, s, ngx_strlen(s));
    }

    if (nmapped == 0) {
        box->alert = INTEGRATIONS_ACT_ALERT_UNMAPPED;
        in->state = INTEGRATIONS_ACT_SYNCED;
        in->message_state = INTEGRATIONS_STORE_MSG_NONE;
        in->fulfil_state = INTEGRATIONS_STORE_FULFIL_HELD;
        NGX_HTTP_CO_B(in->detail, "unmapped", 8);

    } else if (!have_contact) {
        box->alert = box->refused ? INTEGRATIONS_ACT_ALERT_MESSAGE_REFUSED
                                  : INTEGRATIONS_ACT_ALERT_NO_CONTACT;
        in->state = INTEGRATIONS_ACT_NO_CONTACT;
        in->message_state = INTEGRATIONS_STORE_MSG_NONE;
        in->fulfil_state = INTEGRATIONS_STORE_FULFIL_HELD;
        NGX_HTTP_CO_B(in->detail, "no_contact", 10);

    } else {
        box->alert = nunmapped ? INTEGRATIONS_ACT_ALERT_UNMAPPED
                               : INTEGRATIONS_ACT_ALERT_NEW_ORDER;
        in->state = INTEGRATIONS_ACT_SYNCED;
        in->message_state = INTEGRATIONS_STORE_MSG_QUEUED;
        in->fulfil_state = nunmapped ? INTEGRATIONS_STORE_FULFIL_HELD
                                     : INTEGRATIONS_STORE_FULFIL_WAIT;
        in->message_id = ob[0].id;
        NGX_HTTP_CO_B(in->detail, nunmapped ? "link_queued,unmapped"
                                            : "link_queued",
                      nunmapped ? 20 : 11);

        obh->items = ob;
        obh->results = obr;
        obh->n = nitems;
        in->hook = integrations_store_orders_outbox_hook;
        in->hook_data = obh;
    }

    box->links = (unsigned) k;

    for (i = 0; i < o->n_items; i++) {
        if (maps[i]) {
            box->product = &o->items[i].vendor_item_name;
            break;
        }
    }

    run->bboxes[run->nbatch++] = box;

    return NGX_OK;

nomem:

    ngx_http_co_end(run);

    return NGX_ERROR;
}


/*
 * The buyer's message of a box, prepared by notifications as outbox items
 * in pool: activation_message's channel and template for the contact's
 * kind (AlimTalk with its SMS fallback, or email), every link one line.
 * The order sync's ingest and an admin's resend both come here, so that
 * a resent message is the first one with new links.  NGX_OK, NGX_DECLINED
 * with *problem (the channel refused it), NGX_ERROR.
 */

static ngx_int_t
ngx_http_co_buyer_message(ngx_http_co_main_conf_t *cmcf, ngx_pool_t *pool,
    ngx_str_t *key, const integrations_act_contact_t *contact,
    const integrations_act_msg_link_t *links, size_t n, int64_t expires_ms,
    integrations_store_outbox_item_t **items, size_t *nitems,
    integrations_notify_problem_t *problem)
{
    char                        *json;
    size_t                       jlen;
    ngx_int_t                    rc;
    integrations_act_message_t   msg;

    ngx_memzero(&msg, sizeof(msg));
    msg.email = (contact->kind == INTEGRATIONS_ACT_CONTACT_EMAIL);
    msg.channel = (const char *) (msg.email ? cmcf->email_channel.data
                                            : cmcf->channel.data);
    msg.template_name = (const char *) (msg.email
                                        ? cmcf->email_template.data
                                        : cmcf->template_name.data);
    msg.to = contact->value;
    msg.to_len = contact->len;
    msg.key = (const char *) key->data;
    msg.key_len = key->len;
    msg.shop = (const char *) cmcf->shop.data;
    msg.shop_len = cmcf->shop.len;
    msg.fallback = !msg.email && cmcf->fallback;
    msg.links = links;
    msg.nlinks = n;
    msg.expires_at = expires_ms / 1000;

    json = integrations_act_message_json(&msg, &jlen);
    ngx_memzero(problem, sizeof(integrations_notify_problem_t));

    rc = json ? ngx_http_integrations_notify_prepare(pool, (u_char *) json,
                                                     jlen, items, nitems,
                                                     problem)
              : NGX_ERROR;

    if (json) {
        ngx_explicit_memzero(json, jlen);
        free(json);
    }

    return rc;
}


int
ngx_http_integrations_coupang_reachable(ngx_http_request_t *r, int kind)
{
    ngx_http_co_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r,
                                ngx_http_integrations_coupang_orders_module);

    if (cmcf == NULL || !cmcf->enabled) {
        return 0;
    }

    return kind == INTEGRATIONS_ACT_CONTACT_EMAIL
           ? cmcf->email_channel.len != 0
           : kind == INTEGRATIONS_ACT_CONTACT_PHONE
           ? cmcf->channel.len != 0 : 0;
}


ngx_int_t
ngx_http_integrations_coupang_message(ngx_http_request_t *r,
    ngx_pool_t *pool, ngx_str_t *box, const integrations_act_contact_t *c,
    integrations_act_msg_link_t *links, size_t n, int64_t expires_ms,
    integrations_store_outbox_item_t **items, size_t *nitems,
    integrations_notify_problem_t *problem)
{
    long                      ll;
    u_char                   *p;
    size_t                    i;
    ngx_str_t                 key;
    ngx_time_t               *tp;
    ngx_http_co_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r,
                                ngx_http_integrations_coupang_orders_module);

    if (!ngx_http_integrations_coupang_reachable(r, c->kind)) {
        ngx_memzero(problem, sizeof(integrations_notify_problem_t));
        return NGX_DECLINED;
    }

    /* a key of its own: the first message's is taken, with other links */

    key.data = ngx_pnalloc(pool, sizeof("coupang::resend:") + NGX_INT64_LEN
                                 + cmcf->vendor_id.len + box->len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    tp = ngx_timeofday();

    key.len = ngx_sprintf(key.data, "coupang:%V:%V:resend:%L",
                          &cmcf->vendor_id, box,
                          (int64_t) tp->sec * 1000 + (int64_t) tp->msec)
              - key.data;

    /* the links' url fields hold their tokens: made links here */

    for (i = 0; i < n; i++) {
        p = ngx_pnalloc(pool, cmcf->link_base.len
                              + INTEGRATIONS_ACT_TOKEN_LEN + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ll = integrations_act_link((const char *) cmcf->link_base.data,
                                   cmcf->link_base.len, links[i].url,
                                   links[i].url_len, (char *) p,
                                   cmcf->link_base.len
                                   + INTEGRATIONS_ACT_TOKEN_LEN + 1);
        if (ll < 0) {
            return NGX_ERROR;
        }

        links[i].url = (const char *) p;
        links[i].url_len = (size_t) ll;
    }

    return ngx_http_co_buyer_message(cmcf, pool, &key, c, links, n,
                                     expires_ms, items, nitems, problem);
}


/* a staff alert through notify_alert (none configured: the log only) */

static void
ngx_http_co_alert(ngx_http_co_run_t *run, integrations_act_alert_e kind,
    integrations_coupang_order_t *o, const char *box, const char *order,
    integrations_coupang_str_t *product, const char *detail, size_t dlen,
    unsigned count)
{
    char                      *text;
    size_t                     len;
    integrations_act_alert_t   a;

    ngx_memzero(&a, sizeof(a));

    if (o) {
        a.box = o->shipment_box_id.data;
        a.box_len = o->shipment_box_id.len;
        a.order = o->order_id.data;
        a.order_len = o->order_id.len;
        a.buyer = o->orderer_name.data;
        a.buyer_len = o->orderer_name.len;

    } else {
        a.box = box;
        a.box_len = box ? ngx_strlen(box) : 0;
        a.order = order;
        a.order_len = order ? ngx_strlen(order) : 0;
    }

    if (product) {
        a.product = product->data;
        a.product_len = product->len;
    }

    a.detail = detail;
    a.detail_len = dlen;
    a.count = count;

    text = integrations_act_alert_text(kind, &a, &len);
    if (text == NULL) {
        return;
    }

    if (ngx_http_integrations_notify_alert((u_char *) text, len) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, run->log, 0,
                      "coupang_orders: alert not queued (no notify_alert, "
                      "or the store is down)");
    }

    free(text);
}


static void
ngx_http_co_ingested(ngx_http_integrations_store_op_t *op)
{
    size_t              i;
    ngx_http_co_box_t  *box;
    ngx_http_co_run_t  *run = op->data;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    for (i = 0; i < run->nbatch; i++) {
        if (!run->bflags[i]) {
            continue;
        }

        box = run->bboxes[i];
        run->ingested++;

        ngx_http_integrations_status_increment(run->cmcf->m_boxes);

        if (box->alert == INTEGRATIONS_ACT_ALERT_UNMAPPED) {
            ngx_http_integrations_status_increment(run->cmcf->m_unmapped);

        } else if (box->alert == INTEGRATIONS_ACT_ALERT_NO_CONTACT
                   || box->alert == INTEGRATIONS_ACT_ALERT_MESSAGE_REFUSED)
        {
            ngx_http_integrations_status_increment(run->cmcf->m_no_contact);
        }

        ngx_http_co_alert(run, box->alert, box->order, NULL, NULL,
                          box->product, NULL, 0, box->links);

        ngx_log_error(NGX_LOG_INFO, run->log, 0,
                      "coupang_orders: box %*s ingested (%s)",
                      run->batch[i].shipment_box_id.len,
                      run->batch[i].shipment_box_id.data,
                      run->batch[i].detail.data);
    }

    ngx_http_co_next(run);
}


/* ---- acknowledgement and DIRECT invoice ------------------------------- */

static void
ngx_http_co_due_done(ngx_http_integrations_store_op_t *op)
{
    size_t              n;
    ngx_http_co_run_t  *run = op->data;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    n = op->core.out.due.n;
    run->ndue = n;
    run->due_at = 0;

    if (n == 0) {
        run->step = NGX_HTTP_CO_REVOKE_DUE;
        ngx_http_co_next(run);
        return;
    }

    /* op->result goes with the op: keep a copy */

    run->due = ngx_pnalloc(run->pool,
                           n * sizeof(integrations_store_due_order_t));
    if (run->due == NULL) {
        ngx_http_co_end(run);
        return;
    }

    ngx_memcpy(run->due, op->core.out.due.orders,
               n * sizeof(integrations_store_due_order_t));

    run->step = NGX_HTTP_CO_ACK;
    ngx_http_co_next(run);
}


/*
 * ACK: every due box at ACK in one call (they are at most 50); then
 * ACK_CHECK: each box whose acknowledgement's answer was ambiguous (now
 * or in an earlier run) looked up singly, one call each; then INVOICE:
 * every due box at INVOICE in one call, one entry per item.  The
 * outcomes are written afterwards, one op each.
 */

static void
ngx_http_co_fulfil_next(ngx_http_co_run_t *run)
{
    long                               n;
    size_t                             i, j, m, len;
    char                              *body;
    u_char                            *target, *b;
    integrations_coupang_str_t        *ids;
    integrations_coupang_query_t       q;
    integrations_coupang_invoice_t    *inv;
    ngx_http_co_main_conf_t           *cmcf;
    integrations_store_due_order_t    *d;

    cmcf = run->cmcf;
    ngx_memzero(&q, sizeof(q));
    q.api = INTEGRATIONS_COUPANG_V4;
    q.vendor_id = (const char *) cmcf->vendor_id.data;
    q.vendor_id_len = cmcf->vendor_id.len;

    target = ngx_pnalloc(run->pool, INTEGRATIONS_COUPANG_URL_MAX);
    ids = ngx_pnalloc(run->pool,
                      (run->ndue + 1) * sizeof(integrations_coupang_str_t));
    inv = ngx_pnalloc(run->pool, (run->ndue * INTEGRATIONS_STORE_DUE_ITEMS + 1)
                                 * sizeof(integrations_coupang_invoice_t));

    if (target == NULL || ids == NULL || inv == NULL) {
        ngx_http_co_end(run);
        return;
    }

    if (run->step == NGX_HTTP_CO_ACK) {
        m = 0;

        for (i = 0; i < run->ndue; i++) {
            d = &run->due[i];

            if (d->fulfil_state != INTEGRATIONS_STORE_FULFIL_ACK) {
                continue;
            }

            /* Coupang may have applied the last one: ask it first */

            if (d->check) {
                d->fulfil_state = NGX_HTTP_CO_CHECKING;
                continue;
            }

            ids[m].data = d->shipment_box_id;
            ids[m].len = ngx_strlen(d->shipment_box_id);
            m++;
        }

        run->step = NGX_HTTP_CO_ACK_CHECK;
        run->due_at = 0;

        if (m == 0) {
            ngx_http_co_next(run);
            return;
        }

        body = integrations_coupang_ack_body((const char *)
                                             cmcf->vendor_id.data,
                                             cmcf->vendor_id.len, ids, m,
                                             &len);
        q.kind = INTEGRATIONS_COUPANG_Q_ACKNOWLEDGE;

        n = integrations_coupang_url(&q, (char *) target,
                                     INTEGRATIONS_COUPANG_URL_MAX);

        if (body == NULL || n < 0) {
            free(body);
            run->step = NGX_HTTP_CO_FULFILLED;
            ngx_http_co_next(run);
            return;
        }

        b = ngx_pnalloc(run->pool, len);
        if (b == NULL) {
            free(body);
            ngx_http_co_end(run);
            return;
        }

        ngx_memcpy(b, body, len);
        free(body);

        (void) ngx_http_co_call(run,
                                integrations_coupang_method(
                                    INTEGRATIONS_COUPANG_Q_ACKNOWLEDGE),
                                target, (size_t) n, b, len,
                                ngx_http_co_acked);
        return;
    }

    /* INVOICE: the boxes that were there already and those just acked */

    m = 0;

    for (i = 0; i < run->ndue; i++) {
        d = &run->due[i];

        if (d->fulfil_state != INTEGRATIONS_STORE_FULFIL_INVOICE) {
            continue;
        }

        for (j = 0; j < d->nitems; j++) {
            inv[m].shipment_box_id.data = d->shipment_box_id;
            inv[m].shipment_box_id.len = ngx_strlen(d->shipment_box_id);
            inv[m].order_id.data = d->order_id;
            inv[m].order_id.len = ngx_strlen(d->order_id);
            inv[m].vendor_item_id.data = d->items[j];
            inv[m].vendor_item_id.len = ngx_strlen(d->items[j]);
            /* DIRECT: digits, one number per box: the box id itself */
            inv[m].invoice_number = inv[m].shipment_box_id;
            m++;
        }
    }

    run->step = NGX_HTTP_CO_FULFILLED;

    if (m == 0) {
        ngx_http_co_next(run);
        return;
    }

    body = integrations_coupang_invoice_body((const char *)
                                             cmcf->vendor_id.data,
                                             cmcf->vendor_id.len, inv, m,
                                             &len);
    q.kind = INTEGRATIONS_COUPANG_Q_INVOICE;

    n = integrations_coupang_url(&q, (char *) target,
                                 INTEGRATIONS_COUPANG_URL_MAX);

    if (body == NULL || n < 0) {
        free(body);
        ngx_http_co_next(run);
        return;
    }

    b = ngx_pnalloc(run->pool, len);
    if (b == NULL) {
        free(body);
        ngx_http_co_end(run);
        return;
    }

    ngx_memcpy(b, body, len);
    free(body);

    (void) ngx_http_co_call(run,
                            integrations_coupang_method(
                                INTEGRATIONS_COUPANG_Q_INVOICE),
                            target, (size_t) n, b, len, ngx_http_co_invoiced);
}


static integrations_store_due_order_t *
ngx_http_co_due_find(ngx_http_co_run_t *run, const char *box, size_t len,
    int64_t state)
{
    size_t                           i;
    integrations_store_due_order_t  *d;

    for (i = 0; i < run->ndue; i++) {
        d = &run->due[i];

        if (d->fulfil_state == state && ngx_strlen(d->shipment_box_id) == len
            && ngx_strncmp(d->shipment_box_id, box, len) == 0)
        {
            return d;
        }
    }

    return NULL;
}


/* the answer of a whole call: every box of the call gets one outcome */

static void
ngx_http_co_results(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req, ngx_uint_t invoice)
{
    size_t                            i;
    int64_t                           state;
    ngx_str_t                         why;
    ngx_uint_t                        ambiguous;
    integrations_coupang_rc_e         rc;
    integrations_coupang_result_t    *r;
    integrations_coupang_results_t    res;
    integrations_store_due_order_t   *d;
    integrations_coupang_outcome_e    oc;

    state = invoice ? INTEGRATIONS_STORE_FULFIL_INVOICE
                    : INTEGRATIONS_STORE_FULFIL_ACK;

    ngx_memzero(&res, sizeof(res));
    rc = INTEGRATIONS_COUPANG_MALFORMED;

    /*
     * An acknowledgement with no clear answer may have been applied: no
     * answer (a timeout), a 5xx, a 200 that does not name the box or
     * that cannot be read, an item neither succeeded nor retryRequired.
     * Such a box is looked up singly (ACK_CHECK), never simply sent
     * again.  A 4xx refused the call: it is retried as it was.
     */

    ambiguous = !invoice && (req == NULL || req->status >= 500
                             || req->status == 200);

    if (req && req->status == 200) {
        rc = integrations_coupang_parse_results(
                 invoice ? INTEGRATIONS_COUPANG_INVOICE
                         : INTEGRATIONS_COUPANG_ACK,
                 (const char *) req->response_body.data,
                 req->response_body.len, &res);
    }

    if (rc == INTEGRATIONS_COUPANG_OK) {
        for (i = 0; i < res.n_results; i++) {
            r = &res.results[i];
            d = ngx_http_co_due_find(run, r->shipment_box_id.data,
                                     r->shipment_box_id.len, state);
            if (d == NULL) {
                continue;
            }

            if (!invoice && r->outcome == INTEGRATIONS_COUPANG_CHECK) {
                d->fulfil_state = NGX_HTTP_CO_CHECKING;
                continue;
            }

            why.data = (u_char *) r->result_code.data;
            why.len = r->result_code.len;

            ngx_http_co_outcome(run, d->shipment_box_id,
                                ngx_strlen(d->shipment_box_id), d, invoice,
                                r->outcome, &why);
        }
    }

    /* boxes the answer did not name (or no usable answer): again later */

    for (i = 0; i < run->ndue; i++) {
        d = &run->due[i];

        if (d->fulfil_state != state) {
            continue;
        }

        if (ambiguous) {
            d->fulfil_state = NGX_HTTP_CO_CHECKING;
            continue;
        }

        ngx_str_set(&why, "no result");
        ngx_http_co_outcome(run, d->shipment_box_id,
                            ngx_strlen(d->shipment_box_id), d, invoice,
                            INTEGRATIONS_COUPANG_RETRY, &why);
    }

    if (rc != INTEGRATIONS_COUPANG_NOMEM) {
        integrations_coupang_results_free(&res);
    }

    (void) oc;
}


/*
 * ACK_CHECK: the next box to look up singly (GET ordersheets/{id}); none
 * left: INVOICE.  One call at a time, paced as every call.
 */

static void
ngx_http_co_ack_check(ngx_http_co_run_t *run)
{
    long                              n;
    u_char                           *target;
    ngx_http_co_main_conf_t          *cmcf;
    integrations_coupang_query_t      q;
    integrations_store_due_order_t   *d;

    cmcf = run->cmcf;

    for ( /* void */ ; run->due_at < run->ndue; run->due_at++) {
        if (run->due[run->due_at].fulfil_state == NGX_HTTP_CO_CHECKING) {
            break;
        }
    }

    if (run->due_at == run->ndue) {
        run->step = NGX_HTTP_CO_INVOICE;
        ngx_http_co_next(run);
        return;
    }

    d = &run->due[run->due_at];

    target = ngx_pnalloc(run->pool, INTEGRATIONS_COUPANG_URL_MAX);
    if (target == NULL) {
        ngx_http_co_end(run);
        return;
    }

    ngx_memzero(&q, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_ORDERSHEET;
    q.api = cmcf->api;
    q.vendor_id = (const char *) cmcf->vendor_id.data;
    q.vendor_id_len = cmcf->vendor_id.len;
    q.id = d->shipment_box_id;
    q.id_len = ngx_strlen(d->shipment_box_id);

    n = integrations_coupang_url(&q, (char *) target,
                                 INTEGRATIONS_COUPANG_URL_MAX);
    if (n < 0) {
        ngx_http_co_checked(run, NULL);
        return;
    }

    (void) ngx_http_co_call(run,
                            integrations_coupang_method(
                                INTEGRATIONS_COUPANG_Q_ORDERSHEET),
                            target, (size_t) n, NULL, 0, ngx_http_co_checked);
}


/*
 * What the single lookup says (integrations_coupang_ack_check()): past
 * ACCEPT, the acknowledgement was applied (its invoice follows in this
 * run); still ACCEPT, it is acknowledged again at the next run; cancelled
 * or returned, the box is left to the return poll; no clear answer, it
 * is looked up again at the next run ("check: ..."), until the
 * acknowledgement's tries are spent and staff are alerted.
 */

static void
ngx_http_co_checked(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req)
{
    ngx_str_t                        why;
    integrations_store_due_order_t  *d;
    integrations_coupang_outcome_e   oc;

    d = &run->due[run->due_at++];

    oc = integrations_coupang_ack_check(req ? (int) req->status : 0,
                                        req ? (const char *)
                                              req->response_body.data
                                            : NULL,
                                        req ? req->response_body.len : 0,
                                        d->shipment_box_id,
                                        ngx_strlen(d->shipment_box_id));

    d->fulfil_state = INTEGRATIONS_STORE_FULFIL_ACK;

    switch (oc) {

    case INTEGRATIONS_COUPANG_DONE:
        ngx_str_set(&why, "");
        break;

    case INTEGRATIONS_COUPANG_RETRY:
        ngx_str_set(&why, "still ACCEPT: acknowledged again");
        break;

    case INTEGRATIONS_COUPANG_CANCELED:
        ngx_str_set(&why, "cancelled or returned");
        break;

    default:
        oc = INTEGRATIONS_COUPANG_CHECK;
        ngx_str_set(&why, "check: the acknowledgement's answer was "
                          "ambiguous and so was the box's lookup");
    }

    ngx_log_error(NGX_LOG_INFO, run->log, 0,
                  "coupang_orders: box %s: the acknowledgement's answer was "
                  "ambiguous; the box's lookup says %s", d->shipment_box_id,
                  oc == INTEGRATIONS_COUPANG_DONE ? "acknowledged"
                  : oc == INTEGRATIONS_COUPANG_RETRY ? "still ACCEPT"
                  : oc == INTEGRATIONS_COUPANG_CANCELED
                  ? "cancelled or returned" : "nothing clear");

    ngx_http_co_outcome(run, d->shipment_box_id,
                        ngx_strlen(d->shipment_box_id), d, 0, oc, &why);

    ngx_http_co_next(run);
}


static void
ngx_http_co_acked(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req)
{
    ngx_http_co_results(run, req, 0);
    ngx_http_co_next(run);
}


static void
ngx_http_co_invoiced(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req)
{
    ngx_http_co_results(run, req, 1);
    ngx_http_co_next(run);
}


/*
 * One box's outcome: recorded for writing, and the box's due entry
 * moved on so that it is not answered twice (an acknowledged box goes on
 * to its invoice in the same run).
 */

static void
ngx_http_co_outcome(ngx_http_co_run_t *run, const char *box, size_t box_len,
    integrations_store_due_order_t *d, ngx_uint_t invoice,
    integrations_coupang_outcome_e oc, ngx_str_t *why)
{
    int64_t                   now_ms, retry, tries;
    ngx_http_co_outcome_t    *w;
    ngx_http_co_main_conf_t  *cmcf;

    cmcf = run->cmcf;
    now_ms = (int64_t) ngx_time() * 1000;
    retry = (int64_t) cmcf->fulfil_retry;

    w = ngx_array_push(run->outcomes);
    if (w == NULL) {
        return;
    }

    ngx_memzero(w, sizeof(ngx_http_co_outcome_t));
    ngx_memcpy(w->box, box, ngx_min(box_len, sizeof(w->box) - 1));
    w->from = d->fulfil_state;
    w->invoice = invoice;
    w->attempts = d->attempts + 1;

    /* why may point into an answer freed before the outcome is written */

    w->error.len = why->len;
    w->error.data = ngx_pnalloc(run->pool, why->len + 1);
    if (w->error.data == NULL) {
        w->error.len = 0;
        w->error.data = (u_char *) "";

    } else {
        ngx_memcpy(w->error.data, why->data, why->len);
    }

    tries = invoice ? NGX_HTTP_CO_INVOICE_TRIES : NGX_HTTP_CO_ACK_TRIES;

    switch (oc) {

    case INTEGRATIONS_COUPANG_DONE:
        w->to = invoice ? INTEGRATIONS_STORE_FULFIL_DONE
                        : INTEGRATIONS_STORE_FULFIL_INVOICE;
        w->attempts = 0;
        w->next_at = now_ms;
        w->event = invoice ? "invoiced" : "acknowledged";
        w->error.len = 0;
        break;

    case INTEGRATIONS_COUPANG_CANCELED:
        w->to = INTEGRATIONS_STORE_FULFIL_CANCELED;
        w->event = "canceled";
        break;

    case INTEGRATIONS_COUPANG_FAILED:
        w->to = INTEGRATIONS_STORE_FULFIL_FAILED;
        w->event = invoice ? "invoice_failed" : "ack_failed";
        break;

    default:   /* RETRY, RETRY_LATER, CHECK */

        if (w->attempts >= tries) {
            w->to = INTEGRATIONS_STORE_FULFIL_FAILED;
            w->event = invoice ? "invoice_failed" : "ack_failed";
            break;
        }

        w->to = d->fulfil_state;
        w->next_at = now_ms + retry * ngx_min(w->attempts, 10);
        w->event = NULL;
        break;
    }

    if (w->to == INTEGRATIONS_STORE_FULFIL_FAILED) {
        ngx_log_error(NGX_LOG_ERR, run->log, 0,
                      "coupang_orders: box %s: %s gave up after %L "
                      "attempts (%V)", w->box,
                      invoice ? "the DIRECT invoice" : "the acknowledgement",
                      w->attempts, &w->error);

        ngx_http_co_alert(run, INTEGRATIONS_ACT_ALERT_FULFIL_FAILED, NULL,
                          w->box, d->order_id, NULL,
                          (const char *) w->error.data, w->error.len, 0);
    }

    /* the same run goes on with an acknowledged box's invoice */
    d->fulfil_state = (oc == INTEGRATIONS_COUPANG_DONE && !invoice)
                      ? INTEGRATIONS_STORE_FULFIL_INVOICE : -1;
    d->attempts = 0;
}


static void
ngx_http_co_write_outcomes(ngx_http_co_run_t *run)
{
    size_t                              i, done;
    ngx_http_co_outcome_t              *w, *all;
    ngx_http_integrations_store_op_t   *op;
    integrations_store_order_fulfil_t  *in;

    all = run->outcomes->elts;

    /* an acknowledged box invoiced in the same run: both, in order */

    done = run->outcome_at;

    if (done >= run->outcomes->nelts) {
        run->step = NGX_HTTP_CO_REVOKE_DUE;
        ngx_http_co_next(run);
        return;
    }

    w = &all[done];
    run->outcome_at++;

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_ORDER_FULFIL, 0);
    if (op == NULL) {
        ngx_http_co_end(run);
        return;
    }

    in = &op->core.in.fulfil;
    in->vendor_id.data = run->cmcf->vendor_id.data;
    in->vendor_id.len = run->cmcf->vendor_id.len;
    in->shipment_box_id.data = (const unsigned char *) w->box;
    in->shipment_box_id.len = ngx_strlen(w->box);
    in->event = w->event;
    in->error.data = w->error.data;
    in->error.len = w->error.len;
    in->from_state = w->from;
    in->to_state = w->to;
    in->attempts = w->attempts;
    in->next_at = w->next_at;

    if (w->invoice && w->to == INTEGRATIONS_STORE_FULFIL_DONE) {
        in->invoice_number = in->shipment_box_id;
    }

    for (i = 0; i < done; i++) {
        /* nothing: outcomes are written in the order they came */
    }

    (void) ngx_http_co_post(run, op, ngx_http_co_outcome_done);
}


static void
ngx_http_co_outcome_done(ngx_http_integrations_store_op_t *op)
{
    ngx_http_co_run_t  *run = op->data;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    if (op->core.out.changed
        && op->core.in.fulfil.to_state == INTEGRATIONS_STORE_FULFIL_DONE)
    {
        ngx_http_integrations_status_increment(run->cmcf->m_fulfilled);
    }

    if (op->core.out.changed
        && op->core.in.fulfil.to_state == INTEGRATIONS_STORE_FULFIL_FAILED)
    {
        ngx_http_integrations_status_increment(run->cmcf->m_fulfil_failed);
    }

    if (op->core.out.changed && op->core.in.fulfil.event) {
        ngx_log_error(NGX_LOG_INFO, run->log, 0,
                      "coupang_orders: box %*s %s",
                      op->core.in.fulfil.shipment_box_id.len,
                      op->core.in.fulfil.shipment_box_id.data,
                      op->core.in.fulfil.event);
    }

    ngx_http_co_next(run);
}


/* ---- calls to Coupang -------------------------------------------------- */

static ngx_int_t
ngx_http_co_call(ngx_http_co_run_t *run, const char *method, u_char *target,
    size_t target_len, u_char *body, size_t body_len,
    ngx_http_co_answer_pt answer)
{
    run->method.data = (u_char *) method;
    run->method.len = ngx_strlen(method);
    run->target.data = target;
    run->target.len = target_len;
    run->body.data = body;
    run->body.len = body_len;
    run->answer = answer;
    run->tries = 0;

    ngx_http_co_send(&run->wait);

    return NGX_OK;
}


/*
 * Sends run's call when the pace allows: 100 ms after the previous call
 * of this worker, and within the rate_limit= zone (all workers and
 * nodes); otherwise waits for it on run->wait.
 */

static void
ngx_http_co_send(ngx_event_t *ev)
{
    u_char                                *q, *p;
    size_t                                 plen, qlen, n;
    ngx_int_t                              rc;
    ngx_str_t                              v;
    ngx_msec_t                             gap;
    ngx_http_co_run_t                     *run = ev->data;
    ngx_http_co_proc_t                    *pp;
    ngx_http_co_main_conf_t               *cmcf;
    integrations_gcra_result_t             res;
    ngx_http_integrations_outbound_req_t  *req;
    char                                   date[INTEGRATIONS_CEA_DATE_LEN];
    char                                   sig[INTEGRATIONS_CEA_SIGNATURE_LEN];

    pp = &ngx_http_co_proc;
    cmcf = run->cmcf;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_http_co_end(run);
        return;
    }

    if (!ngx_http_co_holding(pp)) {
        /* no call without the lease: the step ends as if it failed */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, run->log, 0,
                       "coupang_orders: no lease, no call");
        run->lost = 1;
        run->answer(run, NULL);
        return;
    }

    gap = ngx_current_msec - pp->last_call;

    if (pp->last_call && gap < NGX_HTTP_CO_GAP) {
        ngx_add_timer(&run->wait, NGX_HTTP_CO_GAP - gap);
        return;
    }

    if (cmcf->rate_limit) {
        rc = ngx_http_integrations_rate_limit_account_key(cmcf->rate_limit,
                                                 &cmcf->vendor_id,
                                                 INTEGRATIONS_GCRA_NODELAY,
                                                 1, ngx_current_msec,
                                                 run->log, &res);

        if (rc == NGX_OK && res.verdict == INTEGRATIONS_GCRA_REJECTED) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, run->log, 0,
                           "coupang_orders: paced, %uL ms", res.retry_after);
            ngx_add_timer(&run->wait, ngx_max(res.retry_after, 1));
            return;
        }
    }

    pp->last_call = ngx_current_msec;
    ngx_http_integrations_status_increment(cmcf->m_calls);

    req = ngx_pcalloc(run->pool, sizeof(ngx_http_integrations_outbound_req_t));
    if (req == NULL) {
        ngx_http_co_end(run);
        return;
    }

    /* the URL: the base, then the target exactly as it is signed */

    req->url.data = ngx_pnalloc(run->pool, cmcf->url.len + run->target.len);
    if (req->url.data == NULL) {
        ngx_http_co_end(run);
        return;
    }

    req->url.len = ngx_sprintf(req->url.data, "%V%V", &cmcf->url,
                               &run->target)
                   - req->url.data;

    p = run->target.data;
    q = ngx_strlchr(p, p + run->target.len, '?');
    plen = q ? (size_t) (q - p) : run->target.len;
    qlen = q ? run->target.len - plen - 1 : 0;

    integrations_cea_format_date(ngx_time(), date);

    if (integrations_cea_sign(cmcf->key, date, run->method.data,
                              run->method.len, p, plen,
                              q ? q + 1 : NULL, qlen, sig)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, run->log, 0,
                      "coupang_orders: the call cannot be signed");
        run->answer(run, NULL);
        return;
    }

    n = sizeof("CEA algorithm=HmacSHA256, access-key=, signed-date=, "
               "signature=") - 1
        + cmcf->access_key.len + INTEGRATIONS_CEA_DATE_LEN
        + INTEGRATIONS_CEA_SIGNATURE_LEN;

    v.data = ngx_pnalloc(run->pool, n);
    if (v.data == NULL) {
        ngx_http_co_end(run);
        return;
    }

    v.len = ngx_snprintf(v.data, n, "CEA algorithm=HmacSHA256, access-key=%V, "
                        "signed-date=%*s, signature=%*s", &cmcf->access_key,
                        (size_t) INTEGRATIONS_CEA_DATE_LEN, date,
                        (size_t) INTEGRATIONS_CEA_SIGNATURE_LEN, sig)
            - v.data;

    if (ngx_http_integrations_outbound_add_header(req, run->pool,
                                                  "Authorization", &v)
        != NGX_OK
        || ngx_http_integrations_outbound_add_header(req, run->pool,
                                                     "X-Requested-By",
                                                     &cmcf->vendor_id)
           != NGX_OK)
    {
        ngx_http_co_end(run);
        return;
    }

    if (run->body.len) {
        ngx_str_set(&v, "application/json;charset=UTF-8");

        if (ngx_http_integrations_outbound_add_header(req, run->pool,
                                                      "Content-Type", &v)
            != NGX_OK)
        {
            ngx_http_co_end(run);
            return;
        }
    }

    ngx_str_set(&req->provider, "coupang_orders");
    req->method = run->method;
    req->body = run->body;
    req->pool = run->pool;
    req->log = run->log;
    req->timeout = cmcf->timeout;
    req->connect_timeout = 5000;
    req->max_response = 8 * 1024 * 1024;
    req->done = ngx_http_co_called;
    req->data = run;

    rc = ngx_http_integrations_outbound_call(req, NULL);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, run->log, 0,
                      "coupang_orders: %V %V could not start",
                      &run->method, &run->target);
        run->answer(run, NULL);
    }
}


static void
ngx_http_co_called(ngx_http_integrations_outbound_req_t *req)
{
    ngx_str_t           ra;
    ngx_msec_t          wait;
    ngx_http_co_run_t  *run = req->data;

    if (req->error != NGX_HTTP_INTEGRATIONS_OUTBOUND_OK) {
        ngx_log_error(NGX_LOG_WARN, run->log, 0,
                      "coupang_orders: %V %*s: no answer (%V)", &run->method,
                      (int) (ngx_strlchr(run->target.data, run->target.data
                                         + run->target.len, '?')
                             ? (size_t) (ngx_strlchr(run->target.data,
                                              run->target.data
                                              + run->target.len, '?')
                                         - run->target.data)
                             : run->target.len),
                      run->target.data, &req->error_text);
        run->answer(run, NULL);
        return;
    }

    if (req->status == 429 && ++run->tries < NGX_HTTP_CO_429_TRIES) {
        wait = 1000u << run->tries;

        if (ngx_http_integrations_outbound_header(req, "Retry-After", &ra)
            == NGX_OK)
        {
            ngx_int_t  n = ngx_atoi(ra.data, ra.len);

            if (n > 0 && n < 120) {
                wait = (ngx_msec_t) n * 1000;
            }
        }

        ngx_log_error(NGX_LOG_WARN, run->log, 0,
                      "coupang_orders: Coupang answered 429, again in "
                      "%M ms", wait);
        ngx_add_timer(&run->wait, wait);
        return;
    }

    if (req->status != 200) {
        ngx_log_error(NGX_LOG_WARN, run->log, 0,
                      "coupang_orders: %V: Coupang answered %ui",
                      &run->method, req->status);
    }

    run->answer(run, req);
}


/* ---- processes --------------------------------------------------------- */

static ngx_int_t
ngx_http_co_init_process(ngx_cycle_t *cycle)
{
    ngx_http_co_proc_t       *p;
    ngx_http_co_main_conf_t  *cmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    cmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                   ngx_http_integrations_coupang_orders_module);

    if (cmcf == NULL || !cmcf->enabled) {
        return NGX_OK;
    }

    p = &ngx_http_co_proc;
    ngx_memzero(p, sizeof(ngx_http_co_proc_t));

    p->cmcf = cmcf;
    p->holder_len = ngx_snprintf(p->holder, sizeof(p->holder), "%V:%P",
                                 &cycle->hostname, ngx_pid)
                    - p->holder;
    p->lease_len = ngx_snprintf(p->lease, sizeof(p->lease),
                                "coupang_orders:%V", &cmcf->vendor_id)
                   - p->lease;

    p->tick.handler = ngx_http_co_tick;
    p->tick.data = p;
    p->tick.log = cycle->log;
    p->tick.cancelable = 1;

    /* workers start apart: the first one to ask gets the lease */
    ngx_add_timer(&p->tick, 200 + ngx_random() % 800);

    return NGX_OK;
}


/*
 * The lease is not released here: the store's own exit (earlier in the
 * module order) has ended its pool.  It lapses within three quarters of
 * an interval, and another worker takes it then.
 */

static void
ngx_http_co_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_co_proc.holding = 0;
}


/* ---- configuration ----------------------------------------------------- */

static void *
ngx_http_co_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_co_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_co_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     cmcf->enabled = 0;
     *     cmcf->products = NULL;
     *     cmcf->nsources = 0;
     *     cmcf->link_base = { 0, NULL };
     */

    cmcf->ttl = NGX_CONF_UNSET;

    /* activation_revoke: the calls the order sync made before */
    ngx_http_integrations_act_endpoint_init(&cmcf->revoke, 10000, 10);

    return cmcf;
}


static ngx_int_t
ngx_http_co_init(ngx_conf_t *cf)
{
    char                      err[128];
    ngx_http_co_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf,
                                   ngx_http_integrations_coupang_orders_module);

    if (cmcf->ttl == NGX_CONF_UNSET) {
        cmcf->ttl = INTEGRATIONS_ACT_TTL_DEFAULT;
    }

    if (cmcf->shop.len == 0) {
        ngx_str_set(&cmcf->shop, "쿠팡 전자책");
    }

    if (cmcf->revoke.url.len && !cmcf->enabled) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_revoke\" requires "
                           "\"coupang_orders\"");
        return NGX_ERROR;
    }

    if (ngx_http_integrations_act_endpoint_check(cf, &cmcf->revoke)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (cmcf->nsources == 0) {
        cmcf->sources[0] = INTEGRATIONS_ACT_SRC_ORDERER;
        cmcf->sources[1] = INTEGRATIONS_ACT_SRC_RECEIVER;
        cmcf->sources[2] = INTEGRATIONS_ACT_SRC_ANSWER;
        cmcf->nsources = 3;
    }

    if (!cmcf->enabled) {
        return NGX_OK;
    }

    if (!ngx_http_integrations_store_enabled(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_orders\" requires \"integrations_store\"");
        return NGX_ERROR;
    }

    if (ngx_http_integrations_coupang_credentials(cf, &cmcf->access_key,
                                                  &cmcf->key)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_orders\" requires \"coupang_access_key\" "
                           "and \"coupang_secret_key_file\" in the http block");
        return NGX_ERROR;
    }

    if (cmcf->link_base.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_orders\" requires "
                           "\"activation_link_base\"");
        return NGX_ERROR;
    }

    if (cmcf->rate_limit && cmcf->rate_limit->data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_orders\" rate_limit=%V: no such "
                           "\"rate_limit_zone\"", &cmcf->rate_limit_name);
        return NGX_ERROR;
    }

    if (integrations_coupang_sync_conf_check(&cmcf->sync, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_orders\" %s", err);
        return NGX_ERROR;
    }

#define NGX_HTTP_CO_COUNTER(field, name, help)                                \
    cmcf->field = ngx_http_integrations_status_add_counter(cf, name, help);   \
    if (cmcf->field == NULL) {                                                \
        return NGX_ERROR;                                                     \
    }

    NGX_HTTP_CO_COUNTER(m_boxes, "integrations_coupang_orders_boxes_total",
                        "Coupang boxes ingested (each once).");
    NGX_HTTP_CO_COUNTER(m_unmapped,
                        "integrations_coupang_orders_unmapped_total",
                        "Boxes with an item no activation_product maps.");
    NGX_HTTP_CO_COUNTER(m_no_contact,
                        "integrations_coupang_orders_no_contact_total",
                        "Boxes held without a usable buyer contact.");
    NGX_HTTP_CO_COUNTER(m_fulfilled,
                        "integrations_coupang_orders_fulfilled_total",
                        "Boxes acknowledged and invoiced (DEPARTURE).");
    NGX_HTTP_CO_COUNTER(m_fulfil_failed,
                        "integrations_coupang_orders_fulfil_failed_total",
                        "Acknowledgements or invoices given up (alerted).");
    NGX_HTTP_CO_COUNTER(m_revoked,
                        "integrations_coupang_orders_revoked_total",
                        "Activations revoked by returns and cancellations.");
    NGX_HTTP_CO_COUNTER(m_window_failed,
                        "integrations_coupang_orders_window_failures_total",
                        "Ordersheet windows that failed (retried next sync).");
    NGX_HTTP_CO_COUNTER(m_calls, "integrations_coupang_orders_calls_total",
                        "Calls made to Coupang by the order sync.");

#undef NGX_HTTP_CO_COUNTER

    return NGX_OK;
}


static char *
ngx_http_co_orders(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_co_main_conf_t *cmcf = conf;

    ngx_str_t   *value, v;
    ngx_int_t    ms;
    ngx_uint_t   i;

    if (cmcf->enabled) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cmcf->interval = 60000;
    cmcf->window = 900000;
    cmcf->fulfil_retry = 60000;
    cmcf->timeout = 30000;
    cmcf->cs_interval = 600000;
    cmcf->cs_urgent = 86400000;
    cmcf->api = INTEGRATIONS_COUPANG_V4;
    ngx_str_set(&cmcf->url, NGX_HTTP_CO_URL);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "vendor_id=", 10) == 0) {
            v.data = value[i].data + 10;
            v.len = value[i].len - 10;

            if (!integrations_coupang_vendor_id_valid((const char *) v.data,
                                                      v.len))
            {
                goto invalid;
            }

            cmcf->vendor_id = v;
            continue;
        }

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0
            || ngx_strncmp(value[i].data, "window=", 7) == 0
            || ngx_strncmp(value[i].data, "fulfil_retry=", 13) == 0
            || ngx_strncmp(value[i].data, "timeout=", 8) == 0
            || ngx_strncmp(value[i].data, "cs_interval=", 12) == 0
            || ngx_strncmp(value[i].data, "cs_urgent=", 10) == 0)
        {
            v.data = (u_char *) ngx_strchr(value[i].data, '=') + 1;
            v.len = value[i].data + value[i].len - v.data;

            if (ngx_strncmp(value[i].data, "cs_interval=off", 15) == 0
                && value[i].len == 15)
            {
                cmcf->cs_interval = 0;
                continue;
            }

            ms = ngx_parse_time(&v, 0);
            if (ms == NGX_ERROR || ms <= 0) {
                goto invalid;
            }

            if (value[i].data[1] == 's') {
                if (value[i].data[3] == 'i') {
                    if (ms < 60000) {
                        goto invalid;
                    }

                    cmcf->cs_interval = (ngx_msec_t) ms;

                } else {
                    cmcf->cs_urgent = (ngx_msec_t) ms;
                }

                continue;
            }

            switch (value[i].data[0]) {
            case 'i':
                cmcf->interval = (ngx_msec_t) ms;
                break;
            case 'w':
                cmcf->window = (ngx_msec_t) ms;
                break;
            case 'f':
                cmcf->fulfil_retry = (ngx_msec_t) ms;
                break;
            default:
                cmcf->timeout = (ngx_msec_t) ms;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "api=v4") == 0) {
            cmcf->api = INTEGRATIONS_COUPANG_V4;
            continue;
        }

        if (ngx_strcmp(value[i].data, "api=v5") == 0) {
            cmcf->api = INTEGRATIONS_COUPANG_V5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "rate_limit=", 11) == 0) {
            v.data = value[i].data + 11;
            v.len = value[i].len - 11;

            if (v.len == 0) {
                goto invalid;
            }

            cmcf->rate_limit_name = v;
            cmcf->rate_limit = ngx_http_integrations_rate_limit_zone_ref(cf,
                                                                       &v);
            if (cmcf->rate_limit == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "url=", 4) == 0) {
            v.data = value[i].data + 4;
            v.len = value[i].len - 4;

            if (!((v.len > 7 && ngx_strncmp(v.data, "http://", 7) == 0)
                  || (v.len > 8 && ngx_strncmp(v.data, "https://", 8) == 0))
                || v.data[v.len - 1] == '/')
            {
                goto invalid;
            }

            cmcf->url = v;
            continue;
        }

        goto invalid;
    }

    if (cmcf->vendor_id.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_orders\" requires vendor_id=");
        return NGX_CONF_ERROR;
    }

    cmcf->sync.interval = cmcf->interval / 1000;
    cmcf->sync.window = cmcf->window / 1000;
    cmcf->enabled = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"coupang_orders\" directive invalid parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_co_product(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_co_main_conf_t *cmcf = conf;

    ngx_str_t              *value;
    ngx_uint_t              i;
    ngx_http_co_product_t  *pr;

    value = cf->args->elts;

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] < '0' || value[1].data[i] > '9') {
            break;
        }
    }

    if (value[1].len == 0 || value[1].len > 20 || i < value[1].len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_product\" directive invalid "
                           "vendorItemId \"%V\": digits expected", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (value[2].len == 0 || value[2].len > 63) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_product\" directive invalid product "
                           "code \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (cmcf->products == NULL) {
        cmcf->products = ngx_array_create(cf->pool, 4,
                                          sizeof(ngx_http_co_product_t));
        if (cmcf->products == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    pr = cmcf->products->elts;

    for (i = 0; i < cmcf->products->nelts; i++) {
        if (pr[i].vendor_item_id.len == value[1].len
            && ngx_strncmp(pr[i].vendor_item_id.data, value[1].data,
                           value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"activation_product\" %V is mapped twice",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    pr = ngx_array_push(cmcf->products);
    if (pr == NULL) {
        return NGX_CONF_ERROR;
    }

    pr->vendor_item_id = value[1];
    pr->product_code = value[2];
    pr->mode = INTEGRATIONS_ACT_PER_ITEM;

    if (cf->args->nelts == 4) {
        if (ngx_strcmp(value[3].data, "quantity_links=per_item") == 0) {
            pr->mode = INTEGRATIONS_ACT_PER_ITEM;

        } else if (ngx_strcmp(value[3].data, "quantity_links=per_order") == 0)
        {
            pr->mode = INTEGRATIONS_ACT_PER_ORDER;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"activation_product\" directive invalid "
                               "parameter \"%V\"", &value[3]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_co_contact(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_co_main_conf_t *cmcf = conf;

    int          src;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (cmcf->nsources) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        src = integrations_act_source_by_name((const char *) value[i].data,
                                              value[i].len);

        if (src < 0 || cmcf->nsources >= INTEGRATIONS_ACT_SOURCES_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"activation_contact\" directive invalid "
                               "parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (src == INTEGRATIONS_ACT_SRC_NONE) {
            if (i != cf->args->nelts - 1) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"activation_contact\": \"none\" must "
                                   "come last");
                return NGX_CONF_ERROR;
            }

            break;
        }

        cmcf->sources[cmcf->nsources++] = (integrations_act_source_e) src;
    }

    if (cmcf->nsources == 0) {
        /* "none" alone: every order is held as no_contact */
        cmcf->sources[0] = INTEGRATIONS_ACT_SRC_NONE;
        cmcf->nsources = 1;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_co_link_base(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_co_main_conf_t *cmcf = conf;

    char        err[128];
    ngx_str_t  *value;

    if (cmcf->link_base.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (integrations_act_link_base_check((const char *) value[1].data,
                                         value[1].len, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_link_base\" \"%V\": %s", &value[1],
                           err);
        return NGX_CONF_ERROR;
    }

    cmcf->link_base = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_co_message(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_co_main_conf_t *cmcf = conf;

    u_char      *eq;
    ngx_str_t   *value, *dst;
    ngx_uint_t   i;

    if (cmcf->channel.len || cmcf->email_channel.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "fallback=on") == 0) {
            cmcf->fallback = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "fallback=off") == 0) {
            cmcf->fallback = 0;
            continue;
        }

        eq = (u_char *) ngx_strchr(value[i].data, '=');

        if (eq == NULL || eq == value[i].data + value[i].len - 1) {
            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "channel=", 8) == 0) {
            dst = &cmcf->channel;

        } else if (ngx_strncmp(value[i].data, "template=", 9) == 0) {
            dst = &cmcf->template_name;

        } else if (ngx_strncmp(value[i].data, "email_channel=", 14) == 0) {
            dst = &cmcf->email_channel;

        } else if (ngx_strncmp(value[i].data, "email_template=", 15) == 0) {
            dst = &cmcf->email_template;

        } else if (ngx_strncmp(value[i].data, "shop=", 5) == 0) {
            dst = &cmcf->shop;

        } else {
            goto invalid;
        }

        /* NUL-terminated: the argument's own */
        dst->data = eq + 1;
        dst->len = value[i].data + value[i].len - dst->data;
    }

    if (cmcf->channel.len == 0 && cmcf->email_channel.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"activation_message\" requires channel= or "
                           "email_channel=");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"activation_message\" directive invalid parameter "
                       "\"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* activation_revoke URL secret_file=PATH ...: as activation_grant */

static char *
ngx_http_co_revoke(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_co_main_conf_t *cmcf = conf;

    return ngx_http_integrations_act_endpoint_conf(cf, cmd, &cmcf->revoke);
}


static char *
ngx_http_co_key_issued(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_co_main_conf_t *cmcf = conf;

    int64_t     t;
    ngx_str_t  *value;

    if (cmcf->key_issued) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (integrations_act_parse_date((const char *) value[1].data,
                                    value[1].len, &t)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"coupang_key_issued\" directive invalid date "
                           "\"%V\": YYYY-MM-DD expected", &value[1]);
        return NGX_CONF_ERROR;
    }

    cmcf->key_issued = t;

    return NGX_CONF_OK;
}


/* ---- returns, cancellations, withdrawals -------------------------------- */

/*
 * Five lists a run, over the sync's window, each a call paced by the
 * rate limit like any other: cancellations (cancelType=CANCEL, no
 * status), and returns under each status Coupang lists them by: filed
 * (UC), stopping a release (RU), at Coupang's check (PR) and completed
 * (CC).  A return can first appear as PR or CC (a fast refund, or a poll
 * missed while it was UC), so none is skipped.  A receipt seen again,
 * under the same status or another (the windows overlap, the status
 * moves on), changes nothing: RETURN_APPLY counts it once by its id.
 */

static void
ngx_http_co_returns(ngx_http_co_run_t *run)
{
    long                           n;
    u_char                        *target;
    int64_t                        now;
    integrations_coupang_query_t   q;
    ngx_http_co_main_conf_t       *cmcf;

    static const char  *statuses[] = { NULL, "UC", "RU", "PR", "CC" };

    cmcf = run->cmcf;

    if (run->rkind >= sizeof(statuses) / sizeof(statuses[0])) {
        run->step = NGX_HTTP_CO_WITHDRAWALS;
        ngx_http_co_next(run);
        return;
    }

    now = (int64_t) ngx_time();

    ngx_memzero(&q, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_RETURNS;
    q.vendor_id = (const char *) cmcf->vendor_id.data;
    q.vendor_id_len = cmcf->vendor_id.len;
    q.to = (now / 60 + 1) * 60;
    q.from = q.to - ngx_min((int64_t) cmcf->window / 1000 + 180,
                            INTEGRATIONS_COUPANG_TIMEFRAME_MAX);
    q.cancel_type = run->rkind == 0 ? INTEGRATIONS_COUPANG_CANCEL
                                    : INTEGRATIONS_COUPANG_RETURN;
    q.status = statuses[run->rkind];

    target = ngx_pnalloc(run->pool, INTEGRATIONS_COUPANG_URL_MAX);
    if (target == NULL) {
        ngx_http_co_end(run);
        return;
    }

    n = integrations_coupang_url(&q, (char *) target,
                                 INTEGRATIONS_COUPANG_URL_MAX);
    if (n < 0) {
        run->rkind++;
        ngx_http_co_next(run);
        return;
    }

    (void) ngx_http_co_call(run, "GET", target, (size_t) n, NULL, 0,
                            ngx_http_co_returns_got);
}


static void
ngx_http_co_returns_got(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req)
{
    integrations_coupang_rc_e  rc;

    run->rkind++;

    if (req == NULL || req->status != 200) {
        ngx_http_co_next(run);
        return;
    }

    rc = integrations_coupang_parse_returns(
             (const char *) req->response_body.data, req->response_body.len,
             &run->returns);
    run->have_returns = 1;

    if (rc != INTEGRATIONS_COUPANG_OK) {
        ngx_log_error(NGX_LOG_ERR, run->log, 0,
                      "coupang_orders: a returnRequests answer is unusable%s"
                      "%s", rc == INTEGRATIONS_COUPANG_MALFORMED ? ": " : "",
                      rc == INTEGRATIONS_COUPANG_MALFORMED
                      ? run->returns.status.error : "");
        integrations_coupang_returns_free(&run->returns);
        run->have_returns = 0;
        ngx_http_co_next(run);
        return;
    }

    run->rat = 0;
    run->step = NGX_HTTP_CO_RETURN_APPLY;
    ngx_http_co_next(run);
}


static void
ngx_http_co_return_next(ngx_http_co_run_t *run)
{
    size_t                              i, n;
    integrations_coupang_return_t      *r;
    integrations_store_return_item_t   *items;
    integrations_store_return_apply_t  *in;
    ngx_http_integrations_store_op_t   *op;

    while (run->rat < run->returns.n_returns) {
        r = &run->returns.returns[run->rat++];

        if (r->error || r->n_items == 0) {
            continue;
        }

        items = ngx_pcalloc(run->pool, r->n_items
                                       * sizeof(integrations_store_return_item_t));
        if (items == NULL) {
            ngx_http_co_end(run);
            return;
        }

        n = 0;

        for (i = 0; i < r->n_items; i++) {
            items[n].vendor_item_id.data =
                (const unsigned char *) r->items[i].vendor_item_id.data;
            items[n].vendor_item_id.len = r->items[i].vendor_item_id.len;
            items[n].count = r->items[i].cancel_count > 0
                             ? r->items[i].cancel_count
                             : r->items[i].purchase_count;
            n++;
        }

        op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_RETURN_APPLY,
                                            0);
        if (op == NULL) {
            ngx_http_co_end(run);
            return;
        }

        in = &op->core.in.ret;
        in->vendor_id.data = run->cmcf->vendor_id.data;
        in->vendor_id.len = run->cmcf->vendor_id.len;
        in->receipt_id.data = (const unsigned char *) r->receipt_id.data;
        in->receipt_id.len = r->receipt_id.len;
        in->order_id.data = (const unsigned char *) r->order_id.data;
        in->order_id.len = r->order_id.len;
        in->receipt_type.data = (const unsigned char *)
                                (r->type == INTEGRATIONS_COUPANG_CANCEL
                                 ? "CANCEL" : "RETURN");
        in->receipt_type.len = 6;
        in->receipt_status.data = (const unsigned char *)
                                  r->receipt_status.data;
        in->receipt_status.len = r->receipt_status.len;
        in->reason.data = (const unsigned char *)
                          (r->type == INTEGRATIONS_COUPANG_CANCEL
                           ? "cancel" : "return");
        in->reason.len = 6;
        in->requested_at = r->created_at * 1000;
        in->revoke_call_state = run->cmcf->revoke.url.len
                                ? INTEGRATIONS_STORE_REVOKE_DUE
                                : INTEGRATIONS_STORE_REVOKE_NONE;
        in->items = items;
        in->nitems = n;

        (void) ngx_http_co_post(run, op, ngx_http_co_return_done);
        return;
    }

    integrations_coupang_returns_free(&run->returns);
    run->have_returns = 0;
    run->step = NGX_HTTP_CO_RETURNS;
    ngx_http_co_next(run);
}


static void
ngx_http_co_return_done(ngx_http_integrations_store_op_t *op)
{
    size_t                              n;
    ngx_http_co_run_t                  *run = op->data;
    integrations_store_return_apply_t  *in;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    in = &op->core.in.ret;

    if (op->core.out.ret.is_new && op->core.out.ret.n) {
        for (n = 0; n < op->core.out.ret.n; n++) {
            ngx_http_integrations_status_increment(run->cmcf->m_revoked);
        }

        ngx_log_error(NGX_LOG_NOTICE, run->log, 0,
                      "coupang_orders: %*s %*s of order %*s: %uz "
                      "activation(s) revoked", in->receipt_type.len,
                      in->receipt_type.data, in->receipt_id.len,
                      in->receipt_id.data, in->order_id.len,
                      in->order_id.data, op->core.out.ret.n);

        ngx_http_co_alert(run, INTEGRATIONS_ACT_ALERT_RETURN, NULL,
                          op->core.out.ret.units[0].shipment_box_id,
                          (const char *) in->order_id.data, NULL,
                          (const char *) in->receipt_type.data,
                          in->receipt_type.len,
                          (unsigned) op->core.out.ret.n);
    }

    ngx_http_co_next(run);
}


static void
ngx_http_co_withdrawals(ngx_http_co_run_t *run)
{
    long                           n;
    u_char                        *target;
    int64_t                        now;
    integrations_coupang_query_t   q;
    ngx_http_co_main_conf_t       *cmcf;

    cmcf = run->cmcf;
    now = (int64_t) ngx_time();

    ngx_memzero(&q, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_WITHDRAWALS;
    q.vendor_id = (const char *) cmcf->vendor_id.data;
    q.vendor_id_len = cmcf->vendor_id.len;
    q.to = now;
    q.from = now - 6 * 86400;

    target = ngx_pnalloc(run->pool, INTEGRATIONS_COUPANG_URL_MAX);
    if (target == NULL) {
        ngx_http_co_end(run);
        return;
    }

    n = integrations_coupang_url(&q, (char *) target,
                                 INTEGRATIONS_COUPANG_URL_MAX);
    if (n < 0) {
        run->step = NGX_HTTP_CO_KEY;
        ngx_http_co_next(run);
        return;
    }

    (void) ngx_http_co_call(run, "GET", target, (size_t) n, NULL, 0,
                            ngx_http_co_withdrawals_got);
}


static void
ngx_http_co_withdrawals_got(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req)
{
    integrations_coupang_rc_e  rc;

    run->step = NGX_HTTP_CO_KEY;

    if (req == NULL || req->status != 200) {
        ngx_http_co_next(run);
        return;
    }

    rc = integrations_coupang_parse_withdrawals(
             (const char *) req->response_body.data, req->response_body.len,
             &run->withdrawals);
    run->have_withdrawals = 1;

    if (rc != INTEGRATIONS_COUPANG_OK) {
        integrations_coupang_withdrawals_free(&run->withdrawals);
        run->have_withdrawals = 0;
        ngx_http_co_next(run);
        return;
    }

    run->rat = 0;
    run->step = NGX_HTTP_CO_WITHDRAW_APPLY;
    ngx_http_co_next(run);
}


static void
ngx_http_co_withdraw_next(ngx_http_co_run_t *run)
{
    integrations_coupang_withdrawal_t  *w;
    ngx_http_integrations_store_op_t   *op;

    while (run->rat < run->withdrawals.n_withdrawals) {
        w = &run->withdrawals.withdrawals[run->rat++];

        if (w->error || w->cancel_id.len == 0) {
            continue;
        }

        op = ngx_http_integrations_store_op(
                 INTEGRATIONS_STORE_OP_RETURN_WITHDRAW, 0);
        if (op == NULL) {
            ngx_http_co_end(run);
            return;
        }

        op->core.in.withdraw.vendor_id.data = run->cmcf->vendor_id.data;
        op->core.in.withdraw.vendor_id.len = run->cmcf->vendor_id.len;
        op->core.in.withdraw.receipt_id.data =
            (const unsigned char *) w->cancel_id.data;
        op->core.in.withdraw.receipt_id.len = w->cancel_id.len;

        (void) ngx_http_co_post(run, op, ngx_http_co_withdraw_done);
        return;
    }

    integrations_coupang_withdrawals_free(&run->withdrawals);
    run->have_withdrawals = 0;
    run->step = NGX_HTTP_CO_KEY;
    ngx_http_co_next(run);
}


static void
ngx_http_co_withdraw_done(ngx_http_integrations_store_op_t *op)
{
    ngx_http_co_run_t                  *run = op->data;
    integrations_coupang_withdrawal_t  *w;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    if (op->core.out.changed) {
        w = &run->withdrawals.withdrawals[run->rat - 1];

        ngx_log_error(NGX_LOG_NOTICE, run->log, 0,
                      "coupang_orders: return %*s of order %*s withdrawn",
                      w->cancel_id.len, w->cancel_id.data, w->order_id.len,
                      w->order_id.data);

        ngx_http_co_alert(run, INTEGRATIONS_ACT_ALERT_WITHDRAWN, NULL, "-",
                          w->order_id.data, NULL, w->cancel_id.data,
                          w->cancel_id.len, 0);
    }

    ngx_http_co_next(run);
}


/* ---- the key's expiry: one alert a day from 14 days before ------------- */

static void
ngx_http_co_key(ngx_http_co_run_t *run)
{
    u_char                            *s;
    int64_t                            expires, days;
    integrations_act_key_e             st;
    ngx_http_co_main_conf_t           *cmcf;
    ngx_http_integrations_store_op_t  *op;

    cmcf = run->cmcf;
    run->step = NGX_HTTP_CO_CS;

    if (cmcf->key_issued == 0) {
        ngx_http_co_next(run);
        return;
    }

    st = integrations_act_key_check(cmcf->key_issued, (int64_t) ngx_time(),
                                    &expires, &days);

    if (st == INTEGRATIONS_ACT_KEY_OK) {
        ngx_http_co_next(run);
        return;
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_MARK, 64);
    if (op == NULL) {
        ngx_http_co_end(run);
        return;
    }

    s = ngx_pnalloc(run->pool, 64);
    if (s == NULL) {
        ngx_http_integrations_store_free(op);
        ngx_http_co_end(run);
        return;
    }

    op->core.in.mark.mark.data = s;
    op->core.in.mark.mark.len = ngx_snprintf(s, 64, "coupang_key:%V:%L",
                                             &cmcf->vendor_id,
                                             cmcf->key_issued)
                                - s;
    op->core.in.mark.expires_at = (int64_t) ngx_time() * 1000 + 86400000;

    (void) ngx_http_co_post(run, op, ngx_http_co_key_done);
}


static void
ngx_http_co_key_done(ngx_http_integrations_store_op_t *op)
{
    char                     *text;
    size_t                    len;
    int64_t                   expires, days;
    integrations_act_key_e    st;
    ngx_http_co_run_t        *run = op->data;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    if (op->core.out.changed) {
        st = integrations_act_key_check(run->cmcf->key_issued,
                                        (int64_t) ngx_time(), &expires, &days);
        text = integrations_act_key_message(st, expires, days, &len);

        if (text) {
            ngx_log_error(NGX_LOG_WARN, run->log, 0,
                          "coupang_orders: the Coupang API key %s in %L "
                          "days", st == INTEGRATIONS_ACT_KEY_EXPIRED
                                  ? "expired" : "expires", days);

            (void) ngx_http_integrations_notify_alert((u_char *) text, len);
            free(text);
        }
    }

    ngx_http_co_next(run);
}


/* ---- activation_revoke: signed as Standard Webhooks, retried ----------- */

static void
ngx_http_co_revoke_due_done(ngx_http_integrations_store_op_t *op)
{
    size_t              n;
    ngx_http_co_run_t  *run = op->data;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    n = op->core.out.revoke_due.n;
    run->nrevokes = n;
    run->revoke_at = 0;

    if (n == 0) {
        run->step = NGX_HTTP_CO_DONE;
        ngx_http_co_next(run);
        return;
    }

    run->revokes = ngx_pnalloc(run->pool,
                               n * sizeof(integrations_store_revoke_due_unit_t));
    if (run->revokes == NULL) {
        ngx_http_co_end(run);
        return;
    }

    ngx_memcpy(run->revokes, op->core.out.revoke_due.units,
               n * sizeof(integrations_store_revoke_due_unit_t));

    run->step = NGX_HTTP_CO_REVOKE_CALL;
    ngx_http_co_next(run);
}


static void
ngx_http_co_revoke_next(ngx_http_co_run_t *run)
{
    char                                   *body;
    char                                    id[INTEGRATIONS_ACT_MSG_ID_LEN];
    char                                    sig[INTEGRATIONS_ACT_SIGNATURE_LEN];
    size_t                                  len;
    u_char                                 *b, *ts;
    ngx_int_t                               rc;
    ngx_str_t                               v;
    integrations_act_call_t                 c;
    ngx_http_co_main_conf_t                *cmcf;
    integrations_store_revoke_due_unit_t   *u;
    ngx_http_integrations_outbound_req_t   *req;

    cmcf = run->cmcf;

    if (run->revoke_at >= run->nrevokes) {
        run->step = NGX_HTTP_CO_DONE;
        ngx_http_co_next(run);
        return;
    }

    u = &run->revokes[run->revoke_at++];

    ngx_memzero(&c, sizeof(c));
    c.order_id = u->order_id;
    c.order_id_len = ngx_strlen(u->order_id);
    c.shipment_box_id = u->shipment_box_id;
    c.shipment_box_id_len = ngx_strlen(u->shipment_box_id);
    c.vendor_item_id = u->vendor_item_id;
    c.vendor_item_id_len = ngx_strlen(u->vendor_item_id);
    c.product_code = u->product_code;
    c.product_code_len = ngx_strlen(u->product_code);
    c.unit = (unsigned) u->unit;
    c.units = (unsigned) u->units;
    c.reason = ngx_strcmp(u->reason, "cancel") == 0
               ? INTEGRATIONS_ACT_WHY_CANCEL
               : ngx_strcmp(u->reason, "return") == 0
                 ? INTEGRATIONS_ACT_WHY_RETURN : INTEGRATIONS_ACT_WHY_ADMIN;
    c.receipt_id = u->receipt_id[0] ? u->receipt_id : NULL;
    c.receipt_id_len = ngx_strlen(u->receipt_id);
    c.at = (int64_t) ngx_time();

    body = integrations_act_call_body(INTEGRATIONS_ACT_CALL_REVOKE, &c, &len);
    if (body == NULL) {
        ngx_http_co_end(run);
        return;
    }

    b = ngx_pnalloc(run->pool, len);
    if (b == NULL) {
        free(body);
        ngx_http_co_end(run);
        return;
    }

    ngx_memcpy(b, body, len);
    free(body);

    integrations_act_msg_id(INTEGRATIONS_ACT_CALL_REVOKE, c.order_id,
                            c.order_id_len, c.vendor_item_id,
                            c.vendor_item_id_len, c.unit, id);
    integrations_act_sign(cmcf->revoke.signer, id, sizeof(id), c.at,
                          (const char *) b, len, sig);

    req = ngx_pcalloc(run->pool, sizeof(ngx_http_integrations_outbound_req_t));
    ts = ngx_pnalloc(run->pool, NGX_INT64_LEN);

    if (req == NULL || ts == NULL) {
        ngx_http_co_end(run);
        return;
    }

    v.data = (u_char *) id;
    v.len = sizeof(id);

    if (ngx_http_integrations_outbound_add_header(req, run->pool,
                                                  "webhook-id", &v)
        != NGX_OK)
    {
        ngx_http_co_end(run);
        return;
    }

    v.data = ts;
    v.len = ngx_sprintf(ts, "%L", c.at) - ts;

    if (ngx_http_integrations_outbound_add_header(req, run->pool,
                                                  "webhook-timestamp", &v)
        != NGX_OK)
    {
        ngx_http_co_end(run);
        return;
    }

    v.data = (u_char *) sig;
    v.len = sizeof(sig);

    if (ngx_http_integrations_outbound_add_header(req, run->pool,
                                                  "webhook-signature", &v)
        != NGX_OK)
    {
        ngx_http_co_end(run);
        return;
    }

    ngx_str_set(&v, "application/json");

    if (ngx_http_integrations_outbound_add_header(req, run->pool,
                                                  "Content-Type", &v)
        != NGX_OK)
    {
        ngx_http_co_end(run);
        return;
    }

    ngx_str_set(&req->provider, "activation_revoke");
    ngx_str_set(&req->method, "POST");
    req->url = cmcf->revoke.url;
    req->body.data = b;
    req->body.len = len;
    req->pool = run->pool;
    req->log = run->log;
    req->timeout = cmcf->revoke.timeout;
    req->connect_timeout = ngx_min(5000, cmcf->revoke.timeout);
    req->limits = &cmcf->revoke.limits;
    req->done = ngx_http_co_revoke_called;
    req->data = run;

    rc = ngx_http_integrations_outbound_call(req, NULL);

    if (rc != NGX_OK) {
        req->status = 0;
        req->error = (rc == NGX_BUSY || rc == NGX_DECLINED)
                     ? NGX_HTTP_INTEGRATIONS_OUTBOUND_REFUSED
                     : NGX_HTTP_INTEGRATIONS_OUTBOUND_ERROR;
        ngx_http_co_revoke_called(req);
    }
}


static void
ngx_http_co_revoke_called(ngx_http_integrations_outbound_req_t *req)
{
    int64_t                                 state, attempts, next_at;
    ngx_http_co_run_t                      *run = req->data;
    integrations_act_grant_e                g;
    integrations_store_revoke_due_unit_t   *u;
    integrations_store_revoke_call_t       *in;
    ngx_http_integrations_store_op_t       *op;

    u = &run->revokes[run->revoke_at - 1];
    g = integrations_act_grant_outcome(
            req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_OK ? req->status : 0);

    attempts = u->attempts + 1;
    next_at = 0;

    if (req->error == NGX_HTTP_INTEGRATIONS_OUTBOUND_REFUSED) {

        /* its own limits refused it: the seller was not asked, no attempt */

        state = INTEGRATIONS_STORE_REVOKE_DUE;
        attempts = u->attempts;
        next_at = (int64_t) ngx_time() * 1000
                  + (int64_t) ngx_max(run->cmcf->fulfil_retry,
                                      req->refused_wait);

    } else if (g == INTEGRATIONS_ACT_GRANT_OK) {
        state = INTEGRATIONS_STORE_REVOKE_DONE;

    } else if (g == INTEGRATIONS_ACT_GRANT_RETRY
               && attempts < (int64_t) run->cmcf->revoke.attempts)
    {
        state = INTEGRATIONS_STORE_REVOKE_DUE;
        next_at = (int64_t) ngx_time() * 1000
                  + (int64_t) run->cmcf->fulfil_retry * attempts;

    } else {
        state = INTEGRATIONS_STORE_REVOKE_FAIL;

        ngx_log_error(NGX_LOG_ERR, run->log, 0,
                      "coupang_orders: activation_revoke for box %s item %s "
                      "unit %L gave up (HTTP %ui)", u->shipment_box_id,
                      u->vendor_item_id, u->unit, req->status);

        ngx_http_co_alert(run, INTEGRATIONS_ACT_ALERT_REVOKE_FAILED, NULL,
                          u->shipment_box_id, u->order_id, NULL, NULL, 0, 1);
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_REVOKE_CALL, 0);
    if (op == NULL) {
        ngx_http_co_end(run);
        return;
    }

    in = &op->core.in.revoke_call;
    in->vendor_id.data = run->cmcf->vendor_id.data;
    in->vendor_id.len = run->cmcf->vendor_id.len;
    in->shipment_box_id.data = (const unsigned char *) u->shipment_box_id;
    in->shipment_box_id.len = ngx_strlen(u->shipment_box_id);
    in->vendor_item_id.data = (const unsigned char *) u->vendor_item_id;
    in->vendor_item_id.len = ngx_strlen(u->vendor_item_id);
    in->unit = u->unit;
    in->state = state;
    in->attempts = attempts;
    in->next_at = next_at;

    (void) ngx_http_co_post(run, op, ngx_http_co_revoke_set_done);
}


static void
ngx_http_co_revoke_set_done(ngx_http_integrations_store_op_t *op)
{
    ngx_http_co_run_t  *run = op->data;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    ngx_http_co_next(run);
}



/* ---- the CS monitor ---------------------------------------------------- */

/*
 * Every cs_interval (10 minutes), in a sync run: the unanswered product
 * and call-center inquiries of the last 7 days (a page of 50 / 30 each,
 * up to 5 pages), each marked in the store; those not reported before
 * are counted by urgency into one Slack message with the Wing link.
 */

static void
ngx_http_co_cs(ngx_http_co_run_t *run)
{
    long                           n;
    u_char                        *target;
    int64_t                        now;
    ngx_http_co_proc_t            *p;
    integrations_coupang_query_t   q;
    ngx_http_co_main_conf_t       *cmcf;

    cmcf = run->cmcf;
    p = &ngx_http_co_proc;

    if (run->cs_kind == 0 && run->cs_page == 0) {
        if (!run->sync || cmcf->cs_interval == 0
            || (p->cs_ran && ngx_current_msec - p->last_cs < cmcf->cs_interval))
        {
            run->step = NGX_HTTP_CO_MESSAGES;
            ngx_http_co_next(run);
            return;
        }

        p->cs_ran = 1;
        p->last_cs = ngx_current_msec;
        ngx_memzero(&run->cs_counts, sizeof(run->cs_counts));
        run->cs_page = 1;
    }

    if (run->cs_kind >= 2) {
        ngx_http_co_cs_report(run);
        return;
    }

    now = (int64_t) ngx_time();

    ngx_memzero(&q, sizeof(q));
    q.kind = run->cs_kind == 0 ? INTEGRATIONS_COUPANG_Q_ONLINE_INQUIRIES
                               : INTEGRATIONS_COUPANG_Q_CALL_INQUIRIES;
    q.vendor_id = (const char *) cmcf->vendor_id.data;
    q.vendor_id_len = cmcf->vendor_id.len;
    q.to = now;
    q.from = now - 6 * 86400;
    q.page = run->cs_page;

    target = ngx_pnalloc(run->pool, INTEGRATIONS_COUPANG_URL_MAX);
    if (target == NULL) {
        ngx_http_co_end(run);
        return;
    }

    n = integrations_coupang_url(&q, (char *) target,
                                 INTEGRATIONS_COUPANG_URL_MAX);
    if (n < 0) {
        run->cs_kind++;
        run->cs_page = 1;
        ngx_http_co_next(run);
        return;
    }

    (void) ngx_http_co_call(run, "GET", target, (size_t) n, NULL, 0,
                            ngx_http_co_cs_got);
}


static void
ngx_http_co_cs_got(ngx_http_co_run_t *run,
    ngx_http_integrations_outbound_req_t *req)
{
    integrations_coupang_rc_e  rc;

    if (req == NULL || req->status != 200) {
        run->cs_kind++;
        run->cs_page = 1;
        ngx_http_co_next(run);
        return;
    }

    rc = integrations_coupang_parse_inquiries(
             run->cs_kind == 0 ? INTEGRATIONS_COUPANG_INQUIRY_ONLINE
                               : INTEGRATIONS_COUPANG_INQUIRY_CALL_CENTER,
             (const char *) req->response_body.data, req->response_body.len,
             &run->inquiries);
    run->have_inquiries = 1;

    if (rc != INTEGRATIONS_COUPANG_OK) {
        integrations_coupang_inquiries_free(&run->inquiries);
        run->have_inquiries = 0;
        run->cs_kind++;
        run->cs_page = 1;
        ngx_http_co_next(run);
        return;
    }

    run->rat = 0;
    run->step = NGX_HTTP_CO_CS_MARK;
    ngx_http_co_next(run);
}


static void
ngx_http_co_cs_mark_next(ngx_http_co_run_t *run)
{
    u_char                            *key;
    integrations_coupang_inquiry_t    *iq;
    ngx_http_integrations_store_op_t  *op;

    while (run->rat < run->inquiries.n_inquiries) {
        iq = &run->inquiries.inquiries[run->rat++];

        if (iq->error || iq->answered || iq->inquiry_id.len == 0) {
            continue;
        }

        key = ngx_pnalloc(run->pool, 32);
        op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_MARK, 0);

        if (key == NULL || op == NULL) {
            if (op) {
                ngx_http_integrations_store_free(op);
            }

            ngx_http_co_end(run);
            return;
        }

        op->core.in.mark.table = 1;
        op->core.in.mark.vendor_id.data = run->cmcf->vendor_id.data;
        op->core.in.mark.vendor_id.len = run->cmcf->vendor_id.len;
        op->core.in.mark.mark.data = key;
        op->core.in.mark.mark.len = integrations_coupang_inquiry_key(iq,
                                                                (char *) key);
        op->core.in.mark.at = iq->inquiry_at * 1000;

        (void) ngx_http_co_post(run, op, ngx_http_co_cs_mark_done);
        return;
    }

    /* the next page, or the other kind */

    if (run->inquiries.total_pages > (int64_t) run->cs_page
        && run->cs_page < 5)
    {
        run->cs_page++;

    } else {
        run->cs_kind++;
        run->cs_page = 1;
    }

    integrations_coupang_inquiries_free(&run->inquiries);
    run->have_inquiries = 0;
    run->step = NGX_HTTP_CO_CS;
    ngx_http_co_next(run);
}


static void
ngx_http_co_cs_mark_done(ngx_http_integrations_store_op_t *op)
{
    ngx_http_co_run_t  *run = op->data;

    if (ngx_http_co_op_failed(op)) {
        return;
    }

    if (op->core.out.changed) {
        /* not reported before */
        integrations_act_cs_count(&run->cs_counts,
                                  &run->inquiries.inquiries[run->rat - 1],
                                  (int64_t) ngx_time(),
                                  (int64_t) run->cmcf->cs_urgent / 1000);
    }

    ngx_http_co_next(run);
}


static void
ngx_http_co_cs_report(ngx_http_co_run_t *run)
{
    char    *text;
    size_t   len;

    run->step = NGX_HTTP_CO_MESSAGES;

    if (run->cs_counts.urgent + run->cs_counts.normal) {
        text = integrations_act_cs_message(&run->cs_counts,
                                           (int64_t) ngx_time(), NULL, 0,
                                           &len);
        if (text) {
            ngx_log_error(NGX_LOG_INFO, run->log, 0,
                          "coupang_orders: %uz new unanswered inquiries "
                          "(%uz urgent) reported",
                          run->cs_counts.urgent + run->cs_counts.normal,
                          run->cs_counts.urgent);

            (void) ngx_http_integrations_notify_alert((u_char *) text, len);
            free(text);
        }
    }

    ngx_http_co_next(run);
}
