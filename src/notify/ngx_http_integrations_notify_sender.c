/*
 * The outbox sender, one per worker, and the notification metrics.
 *
 * Every notify_delivery interval (and at once after an enqueue in this
 * worker), for each provider with room under its concurrency bound, the
 * sender claims that provider's due rows (OUTBOX_CLAIM: a lease, a fresh
 * attempt id, at most the room left), sends each through the provider
 * layer, decides what follows (integrations_notify_outbox.h) and writes
 * the outcomes back in batches (OUTBOX_FINISH, fenced by the attempt id,
 * with the operator's alert in the same transaction).  A claim that came
 * back full is followed by another at once.
 *
 * Nothing is dropped on the way: a FINISH that fails (the store is down)
 * is tried again until the store takes it or the rows' lease has lapsed
 * (then another claim owns them and the late outcome is fenced out).  A
 * worker that is told to exit (reload, quit) claims nothing more and
 * stays until its sends and their FINISH are done: a timer that is not
 * cancelable holds it, as nginx holds a worker for its requests.  A
 * worker that dies (kill -9) leaves its rows "sending" under a lease that
 * lapses; the next claim takes them back as "reclaimed".
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>

#include "integrations_notify_outbox.h"
#include "integrations_recipient.h"
#include "integrations_store_db.h"
#include "ngx_http_integrations_notify.h"
#include "ngx_http_integrations_store.h"


#define NGX_HTTP_NOTIFY_FINISH_BATCH   256
#define NGX_HTTP_NOTIFY_FINISHING      2       /* FINISH ops in flight */
#define NGX_HTTP_NOTIFY_FINISH_RETRY   500     /* ms */
#define NGX_HTTP_NOTIFY_STATS_EVERY    2000    /* ms */


typedef struct {
    ngx_http_integrations_notify_provider_t  *provider;
    ngx_uint_t                                index;
    ngx_uint_t                                inflight;  /* claimed rows not
                                                            yet finished */
    unsigned                                  claiming:1;
} ngx_http_integrations_notify_sp_t;


typedef struct {
    ngx_pool_t                                *pool;
    ngx_http_integrations_notify_sp_t         *sp;
    ngx_http_integrations_notify_provider_t   *provider;  /* may be NULL */
    ngx_http_integrations_notify_route_t      *route;
    integrations_store_outbox_row_t            row;
    int64_t                                    attempt_id;
    ngx_uint_t                                 type;
    ngx_msec_t                                 start;
    ngx_http_integrations_notify_message_t     msg;
    integrations_store_outbox_finish_rec_t     rec;
    integrations_store_outbox_item_t           alert;
    ngx_queue_t                                queue;
    unsigned                                   sending:1;
} ngx_http_integrations_notify_send_t;


typedef struct {
    ngx_queue_t                                sends;
    integrations_store_outbox_finish_rec_t    *recs;
} ngx_http_integrations_notify_batch_t;


typedef struct {
    ngx_http_integrations_notify_main_conf_t  *nmcf;
    ngx_http_integrations_notify_sp_t          sp[NGX_HTTP_NOTIFY_PROVIDERS];
    ngx_uint_t                                 nsp;
    ngx_event_t                                poll;
    ngx_event_t                                flush;
    ngx_event_t                                guard;
    ngx_event_t                                stats;
    ngx_queue_t                                pending;
    ngx_queue_t                                sending;
    ngx_uint_t                                 npending;
    ngx_uint_t                                 finishing;
    ngx_uint_t                                 claims;
    ngx_msec_t                                 lease;
    u_char                                     holder[96];
    size_t                                     holder_len;
    u_char                                     scope[
                                                 INTEGRATIONS_STORE_HASH_LEN
                                                 + 1];
    unsigned                                   running:1;
} ngx_http_integrations_notify_sender_t;


static ngx_http_integrations_notify_sender_t  ngx_http_notify_sender;


static void ngx_http_integrations_notify_poll(ngx_event_t *ev);
static void ngx_http_integrations_notify_claim(
    ngx_http_integrations_notify_sp_t *sp);
static void ngx_http_integrations_notify_claimed(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_notify_start(
    ngx_http_integrations_notify_sp_t *sp,
    integrations_store_outbox_row_t *row, int64_t attempt_id);
static ngx_int_t ngx_http_integrations_notify_copy_row(ngx_pool_t *pool,
    integrations_store_outbox_row_t *dst,
    const integrations_store_outbox_row_t *src);
static ngx_uint_t ngx_http_integrations_notify_type(
    ngx_http_integrations_notify_provider_t *p,
    integrations_store_outbox_row_t *row);
static ngx_int_t ngx_http_integrations_notify_message(
    ngx_http_integrations_notify_send_t *s);
static void ngx_http_integrations_notify_sent(void *data,
    ngx_http_integrations_notify_outcome_t *outcome);
static void ngx_http_integrations_notify_outcome(
    ngx_http_integrations_notify_send_t *s,
    integrations_notify_decision_t *d, integrations_notify_result_t *res,
    ngx_http_integrations_notify_outcome_t *outcome);
static void ngx_http_integrations_notify_queue(
    ngx_http_integrations_notify_send_t *s);
static void ngx_http_integrations_notify_flush(ngx_event_t *ev);
static void ngx_http_integrations_notify_finished(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_notify_guard(ngx_event_t *ev);
static void ngx_http_integrations_notify_hold(void);
static void ngx_http_integrations_notify_stats(ngx_event_t *ev);
static void ngx_http_integrations_notify_stats_done(
    ngx_http_integrations_store_op_t *op);
static void ngx_http_integrations_notify_count(
    ngx_http_integrations_notify_send_t *s,
    integrations_notify_decision_t *d);
static ngx_str_t *ngx_http_integrations_notify_bytes(
    integrations_store_bytes_t *b, ngx_str_t *s);


/* ---- the worker's sender ----------------------------------------------- */

ngx_int_t
ngx_http_integrations_notify_sender_init(ngx_cycle_t *cycle)
{
    ngx_uint_t                                 i;
    ngx_msec_t                                 longest;
    ngx_http_integrations_notify_sender_t     *S;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    S = &ngx_http_notify_sender;
    ngx_memzero(S, sizeof(ngx_http_integrations_notify_sender_t));

    nmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                          ngx_http_integrations_notify_module);
    S->nmcf = nmcf;

    ngx_queue_init(&S->pending);
    ngx_queue_init(&S->sending);

    longest = 0;

    for (i = 0; i < nmcf->nproviders; i++) {
        S->sp[i].provider = nmcf->providers[i];
        S->sp[i].index = i;

        if (nmcf->providers[i]->timeout > longest) {
            longest = nmcf->providers[i]->timeout;
        }
    }

    S->nsp = nmcf->nproviders;

    /* a send outlives no lease: twice the longest send, and room to
     * write its outcome */

    S->lease = nmcf->lease ? nmcf->lease : 2 * longest + 30000;

    if (S->lease <= longest) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0, "notify_delivery lease=%M "
                      "is not longer than a provider's timeout (%M): a slow "
                      "send may be taken over and marked unknown", S->lease,
                      longest);
    }

    S->holder_len = ngx_snprintf(S->holder, sizeof(S->holder), "%V:%P",
                                 &cycle->hostname, ngx_pid)
                    - S->holder;

    integrations_store_key_scope("notify", NULL, 0, (char *) S->scope);

    S->poll.handler = ngx_http_integrations_notify_poll;
    S->poll.log = cycle->log;
    S->poll.data = S;
    S->poll.cancelable = 1;

    S->flush.handler = ngx_http_integrations_notify_flush;
    S->flush.log = cycle->log;
    S->flush.data = S;
    S->flush.cancelable = 1;

    S->guard.handler = ngx_http_integrations_notify_guard;
    S->guard.log = cycle->log;
    S->guard.data = S;

    S->stats.handler = ngx_http_integrations_notify_stats;
    S->stats.log = cycle->log;
    S->stats.data = S;
    S->stats.cancelable = 1;

    S->running = 1;

    /* the first poll a moment after the start: the store opens first */

    ngx_add_timer(&S->poll, 100 + ngx_random() % 100);
    ngx_add_timer(&S->stats, 500);

    return NGX_OK;
}


void
ngx_http_integrations_notify_sender_exit(ngx_cycle_t *cycle)
{
    ngx_queue_t                          *q;
    ngx_http_integrations_notify_send_t  *s;

    (void) cycle;

    if (!ngx_http_notify_sender.running) {
        return;
    }

    ngx_http_notify_sender.running = 0;

    /* what is still in flight now stays "sending": its lease lapses */

    while (!ngx_queue_empty(&ngx_http_notify_sender.sending)) {
        q = ngx_queue_head(&ngx_http_notify_sender.sending);
        ngx_queue_remove(q);
        s = ngx_queue_data(q, ngx_http_integrations_notify_send_t, queue);
        ngx_destroy_pool(s->pool);
    }
}


void
ngx_http_integrations_notify_sender_kick(void)
{
    ngx_http_integrations_notify_sender_t  *S;

    S = &ngx_http_notify_sender;

    if (!S->running || ngx_exiting || S->poll.posted) {
        return;
    }

    ngx_post_event(&S->poll, &ngx_posted_events);
}


static void
ngx_http_integrations_notify_poll(ngx_event_t *ev)
{
    ngx_uint_t                              i;
    ngx_http_integrations_notify_sender_t  *S;

    S = ev->data;

    if (!S->running || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    for (i = 0; i < S->nsp; i++) {
        ngx_http_integrations_notify_claim(&S->sp[i]);
    }

    if (!S->poll.timer_set) {
        ngx_add_timer(&S->poll, S->nmcf->interval);
    }
}


static void
ngx_http_integrations_notify_claim(ngx_http_integrations_notify_sp_t *sp)
{
    ngx_uint_t                                room, limit;
    ngx_http_integrations_store_op_t         *op;
    integrations_store_outbox_claim_t        *in;
    ngx_http_integrations_notify_sender_t    *S;

    S = &ngx_http_notify_sender;

    if (sp->claiming || !S->running || ngx_exiting) {
        return;
    }

    room = sp->provider->concurrency > sp->inflight
           ? sp->provider->concurrency - sp->inflight : 0;

    if (room == 0) {
        return;
    }

    limit = room < S->nmcf->batch ? room : S->nmcf->batch;

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_OUTBOX_CLAIM,
                                        0);
    if (op == NULL) {
        return;
    }

    in = &op->core.in.outbox_claim;
    in->provider.data = sp->provider->name.data;
    in->provider.len = sp->provider->name.len;
    in->holder.data = S->holder;
    in->holder.len = S->holder_len;
    in->attempt_id = ngx_http_integrations_store_token();
    in->lease_ms = (int64_t) S->lease;
    in->limit = (int64_t) limit;

    op->done = ngx_http_integrations_notify_claimed;
    op->data = sp;

    if (ngx_http_integrations_store_post(op, NULL) != NGX_OK) {
        return;
    }

    sp->claiming = 1;
    S->claims++;
    ngx_http_integrations_notify_hold();
}


static void
ngx_http_integrations_notify_claimed(ngx_http_integrations_store_op_t *op)
{
    size_t                                  i;
    integrations_store_outbox_claim_t      *in;
    ngx_http_integrations_notify_sp_t      *sp;
    ngx_http_integrations_notify_sender_t  *S;
    integrations_store_outbox_claim_result_t  *out;

    S = &ngx_http_notify_sender;
    sp = op->data;
    in = &op->core.in.outbox_claim;
    out = &op->core.out.outbox_claim;

    sp->claiming = 0;
    S->claims--;

    /* every way out lets the guard go, or an exiting worker stays */

    if (!S->running) {
        ngx_http_integrations_notify_hold();
        return;
    }

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        if (op->core.rc != INTEGRATIONS_STORE_UNAVAILABLE) {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "notify: claiming \"%V\"'s due notifications "
                          "failed: %s", &sp->provider->name, op->core.error);
        }

        ngx_http_integrations_notify_hold();
        return;
    }

    for (i = 0; i < out->n; i++) {
        ngx_http_integrations_notify_start(sp, &out->rows[i], in->attempt_id);
    }

    /* a full claim: more may be due, claim again now */

    if (out->n > 0 && (int64_t) out->n == in->limit && !ngx_exiting) {
        ngx_http_integrations_notify_claim(sp);
    }

    ngx_http_integrations_notify_hold();
}


static void
ngx_http_integrations_notify_start(ngx_http_integrations_notify_sp_t *sp,
    integrations_store_outbox_row_t *row, int64_t attempt_id)
{
    ngx_int_t                                  rc;
    ngx_str_t                                  channel, provider;
    ngx_pool_t                                *pool;
    ngx_uint_t                                 i;
    integrations_notify_result_t               res;
    integrations_notify_decision_t             d;
    ngx_http_integrations_notify_send_t       *s;
    ngx_http_integrations_notify_sender_t     *S;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    S = &ngx_http_notify_sender;
    nmcf = S->nmcf;

    sp->inflight++;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        sp->inflight--;
        return;            /* the lease lets it go */
    }

    s = ngx_pcalloc(pool, sizeof(ngx_http_integrations_notify_send_t));
    if (s == NULL || ngx_http_integrations_notify_copy_row(pool, &s->row, row)
                     != NGX_OK)
    {
        ngx_destroy_pool(pool);
        sp->inflight--;
        return;
    }

    s->pool = pool;
    s->sp = sp;
    s->attempt_id = attempt_id;
    s->start = ngx_current_msec;

    for (i = 0; i < nmcf->nproviders; i++) {
        if (nmcf->providers[i]->name.len == s->row.provider.len
            && ngx_strncmp(nmcf->providers[i]->name.data,
                           s->row.provider.data, s->row.provider.len) == 0)
        {
            s->provider = nmcf->providers[i];
        }
    }

    s->route = ngx_http_integrations_notify_route(nmcf,
                      ngx_http_integrations_notify_bytes(&s->row.channel,
                                                         &channel), NULL);

    if (s->route && s->route->provider != s->provider) {
        /* the route of this channel and provider, if several share it */
        s->route = ngx_http_integrations_notify_route(nmcf, &channel,
                      ngx_http_integrations_notify_bytes(&s->row.provider,
                                                         &provider));
        if (s->route == NULL) {
            s->route = ngx_http_integrations_notify_route(nmcf, &channel,
                                                          NULL);
        }
    }

    s->type = s->provider ? ngx_http_integrations_notify_type(s->provider,
                                                              &s->row)
                          : 0;

    integrations_notify_result_init(&res, 0);

    integrations_notify_before_send(s->row.reclaimed,
                                    s->provider && s->provider->dedupes,
                                    integrations_store_wall_clock(),
                                    s->row.expires_at, &d);

    if (s->provider == NULL) {
        d.action = INTEGRATIONS_NOTIFY_DO_FAILED;
        d.reason = "permanent";
        d.outcome = "failed";
        d.alert = 1;
        ngx_cpystrn((u_char *) res.code, (u_char *) "provider_gone",
                    sizeof(res.code));
    }

    if (d.action != INTEGRATIONS_NOTIFY_DO_SEND) {
        ngx_http_integrations_notify_outcome(s, &d, &res, NULL);
        return;
    }

    if (ngx_http_integrations_notify_message(s) != NGX_OK) {
        d.action = INTEGRATIONS_NOTIFY_DO_FAILED;
        d.reason = "permanent";
        d.outcome = "failed";
        d.alert = 1;
        ngx_cpystrn((u_char *) res.code, (u_char *) "invalid_row",
                    sizeof(res.code));
        ngx_http_integrations_notify_outcome(s, &d, &res, NULL);
        return;
    }

    s->sending = 1;
    ngx_queue_insert_tail(&S->sending, &s->queue);

    rc = ngx_http_integrations_notify_send(s->provider, &s->msg, pool,
                                           ngx_cycle->log,
                                           ngx_http_integrations_notify_sent,
                                           s);
    if (rc != NGX_OK) {
        /* nothing left: as a refusal */

        ngx_http_integrations_notify_outcome_t  oc;

        ngx_memzero(&oc, sizeof(oc));
        integrations_notify_result_init(&oc.result, 0);
        oc.result.outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        ngx_cpystrn((u_char *) oc.result.code, (u_char *) "no_memory",
                    sizeof(oc.result.code));
        oc.attempted = 0;

        ngx_http_integrations_notify_sent(s, &oc);
    }
}


static ngx_int_t
ngx_http_integrations_notify_copy_row(ngx_pool_t *pool,
    integrations_store_outbox_row_t *dst,
    const integrations_store_outbox_row_t *src)
{
    u_char                      *p;
    size_t                       need;
    ngx_uint_t                   i;
    integrations_store_bytes_t  *b[10];

    *dst = *src;

    b[0] = &dst->id;
    b[1] = &dst->channel;
    b[2] = &dst->provider;
    b[3] = &dst->recipient;
    b[4] = &dst->recipient_mask;
    b[5] = &dst->subject;
    b[6] = &dst->text;
    b[7] = &dst->html;
    b[8] = &dst->variables;
    b[9] = &dst->template_id;

    need = 0;

    for (i = 0; i < 10; i++) {
        need += b[i]->len + 1;
    }

    p = ngx_pnalloc(pool, need);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < 10; i++) {
        if (b[i]->data == NULL) {
            continue;
        }

        ngx_memcpy(p, b[i]->data, b[i]->len);
        p[b[i]->len] = '\0';
        b[i]->data = p;
        p += b[i]->len + 1;
    }

    return NGX_OK;
}


/* the channel type a row goes as with its provider */

static ngx_uint_t
ngx_http_integrations_notify_type(ngx_http_integrations_notify_provider_t *p,
    integrations_store_outbox_row_t *row)
{
    ngx_uint_t  t, k, one;

    if (row->fallback == 2) {
        return INTEGRATIONS_NOTIFY_SMS;
    }

    k = 0;
    one = 0;

    for (t = 0; t <= INTEGRATIONS_NOTIFY_SLACK; t++) {
        if (p->channels & NGX_HTTP_INTEGRATIONS_NOTIFY_CH(t)) {
            k++;
            one = t;
        }
    }

    if (k == 1) {
        return one;
    }

    return row->template_id.data ? INTEGRATIONS_NOTIFY_ALIMTALK
                                 : INTEGRATIONS_NOTIFY_SMS;
}


static ngx_int_t
ngx_http_integrations_notify_message(ngx_http_integrations_notify_send_t *s)
{
    size_t                                   n, i, len;
    u_char                                  *p;
    integrations_notify_kv_t                *kv, *copy;
    ngx_http_integrations_notify_message_t  *m;

    m = &s->msg;

    ngx_http_integrations_notify_bytes(&s->row.id, &m->id);
    m->attempt = (ngx_uint_t) s->row.attempts;
    m->channel = s->type;
    ngx_http_integrations_notify_bytes(&s->row.recipient, &m->to);
    ngx_http_integrations_notify_bytes(&s->row.subject, &m->subject);
    ngx_http_integrations_notify_bytes(&s->row.text, &m->text);
    ngx_http_integrations_notify_bytes(&s->row.html, &m->html);

    if (s->type == INTEGRATIONS_NOTIFY_ALIMTALK) {
        ngx_http_integrations_notify_bytes(&s->row.template_id,
                                           &m->template_id);
        m->fallback = 0;    /* our own fallback, after the last failure */
    }

    /* AlimTalk variables or push data: the same JSON object of strings */

    if (s->row.variables.data
        && (s->type == INTEGRATIONS_NOTIFY_ALIMTALK
            || s->type == INTEGRATIONS_NOTIFY_PUSH))
    {
        if (integrations_notify_kv_parse((const char *) s->row.variables.data,
                                         s->row.variables.len, &kv, &n)
            != 0)
        {
            return NGX_ERROR;
        }

        len = n * sizeof(integrations_notify_kv_t);

        for (i = 0; i < n; i++) {
            len += kv[i].key_len + kv[i].value_len + 2;
        }

        copy = ngx_palloc(s->pool, len + 1);
        if (copy == NULL) {
            free(kv);
            return NGX_ERROR;
        }

        p = (u_char *) (copy + n);

        for (i = 0; i < n; i++) {
            copy[i].key = (const char *) p;
            copy[i].key_len = kv[i].key_len;
            p = ngx_cpymem(p, kv[i].key, kv[i].key_len);
            *p++ = '\0';
            copy[i].value = (const char *) p;
            copy[i].value_len = kv[i].value_len;
            p = ngx_cpymem(p, kv[i].value, kv[i].value_len);
            *p++ = '\0';
        }

        free(kv);

        if (s->type == INTEGRATIONS_NOTIFY_PUSH) {
            m->data = copy;
            m->ndata = n;

        } else {
            m->variables = copy;
            m->nvariables = n;
        }
    }

    return NGX_OK;
}


static void
ngx_http_integrations_notify_sent(void *data,
    ngx_http_integrations_notify_outcome_t *outcome)
{
    ngx_http_integrations_notify_send_t *s = data;

    integrations_notify_attempt_t            a;
    integrations_notify_decision_t           d;
    ngx_http_integrations_notify_sender_t   *S;

    S = &ngx_http_notify_sender;

    if (s->sending) {
        s->sending = 0;
        ngx_queue_remove(&s->queue);
    }

    ngx_memzero(&a, sizeof(a));
    a.result = &outcome->result;
    a.attempted = outcome->attempted ? 1 : 0;
    a.wait_ms = (int64_t) outcome->retry_after_ms;
    a.attempt = (unsigned) s->row.attempts;
    a.now_ms = integrations_store_wall_clock();
    a.expires_ms = s->row.expires_at;
    a.last_delay_ms = s->row.last_delay;
    a.dedupes = s->provider->dedupes ? 1 : 0;
    a.can_fall_back = (s->type == INTEGRATIONS_NOTIFY_ALIMTALK
                       && s->row.fallback == 1 && s->route
                       && s->route->fallback != NULL);
    a.policy = &S->nmcf->retry;

    if (RAND_bytes((u_char *) &a.rand, sizeof(a.rand)) != 1) {
        a.rand = ((uint64_t) ngx_random() << 32) ^ ngx_random();
    }

    integrations_notify_decide(&a, &d);

    ngx_http_integrations_notify_outcome(s, &d, &outcome->result, outcome);
}


/*
 * The decision as the row's next state, its attempt's record, the alert,
 * the metrics and the log line; then queued for the next FINISH.
 */

static void
ngx_http_integrations_notify_outcome(ngx_http_integrations_notify_send_t *s,
    integrations_notify_decision_t *d, integrations_notify_result_t *res,
    ngx_http_integrations_notify_outcome_t *outcome)
{
    char                                      *line, text[512];
    u_char                                    *p;
    size_t                                     len, n;
    int64_t                                    now;
    ngx_uint_t                                 slot, k;
    integrations_notify_log_t                  l;
    integrations_store_outbox_finish_rec_t    *f;
    ngx_http_integrations_notify_shctx_t      *sh;
    ngx_http_integrations_notify_sender_t     *S;
    ngx_http_integrations_notify_main_conf_t  *nmcf;

    S = &ngx_http_notify_sender;
    nmcf = S->nmcf;
    now = integrations_store_wall_clock();
    f = &s->rec;

    f->id = s->row.id;
    f->attempt_id = s->attempt_id;
    f->provider = s->row.provider;
    f->fallback = s->row.fallback;
    f->last_delay = s->row.last_delay;

    switch (d->action) {

    case INTEGRATIONS_NOTIFY_DO_SENT:
        f->state = INTEGRATIONS_STORE_NOTIFY_SENT;
        break;

    case INTEGRATIONS_NOTIFY_DO_RETRY:
        f->state = INTEGRATIONS_STORE_NOTIFY_QUEUED;
        f->next_attempt_at = d->next_at;
        f->last_delay = d->delay_ms;
        f->uncount = d->uncount ? 1 : 0;
        break;

    case INTEGRATIONS_NOTIFY_DO_FALLBACK:
        f->state = INTEGRATIONS_STORE_NOTIFY_QUEUED;
        f->next_attempt_at = now;
        f->last_delay = 0;
        f->fallback = 2;
        f->provider.data = s->route->fallback->name.data;
        f->provider.len = s->route->fallback->name.len;
        f->uncount = s->row.attempts;    /* the SMS gets its own attempts */
        break;

    case INTEGRATIONS_NOTIFY_DO_UNKNOWN:
        f->state = INTEGRATIONS_STORE_NOTIFY_UNKNOWN;
        break;

    default:
        f->state = INTEGRATIONS_STORE_NOTIFY_FAILED;
    }

    /* the error: the provider's code, or why we gave up */

    if (res->code[0] || d->reason) {
        n = ngx_snprintf((u_char *) text, sizeof(text) - 1, "%s%s%s",
                         res->code[0] ? res->code : "",
                         (res->code[0] && d->reason
                          && d->action != INTEGRATIONS_NOTIFY_DO_SENT)
                         ? " " : "",
                         (d->reason && d->action != INTEGRATIONS_NOTIFY_DO_SENT)
                         ? d->reason : "")
            - (u_char *) text;

        if (n && d->action != INTEGRATIONS_NOTIFY_DO_SENT) {
            p = ngx_pnalloc(s->pool, n + 1);
            if (p) {
                ngx_memcpy(p, text, n);
                p[n] = '\0';
                f->error.data = p;
                f->error.len = n;
            }
        }
    }

    if (res->message_id[0]) {
        f->message_id.data = (u_char *) res->message_id;
        f->message_id.len = ngx_strlen(res->message_id);
    }

    /* the attempt's record: only what left this host */

    if (outcome && outcome->attempted) {
        f->attempt = (unsigned) s->row.attempts;
        f->at = now - (int64_t) outcome->duration;
        f->attempt_provider = s->row.provider;
        f->outcome.data = (const u_char *) d->outcome;
        f->outcome.len = ngx_strlen(d->outcome);
        f->http_status = res->http_status;
        f->duration_ms = (int64_t) outcome->duration;

    } else if (outcome == NULL && d->action != INTEGRATIONS_NOTIFY_DO_SEND) {
        /* decided before any send (expired, interrupted): recorded too */
        f->attempt = (unsigned) s->row.attempts;
        f->at = now;
        f->attempt_provider = s->row.provider;
        f->outcome.data = (const u_char *) d->outcome;
        f->outcome.len = ngx_strlen(d->outcome);
    }

    /* the operator's alert, inserted with the outcome */

    if (d->alert && nmcf->alert_provider
        && !(s->row.channel.len == sizeof(NGX_HTTP_NOTIFY_ALERT_CHANNEL) - 1
             && ngx_strncmp(s->row.channel.data,
                            NGX_HTTP_NOTIFY_ALERT_CHANNEL,
                            s->row.channel.len) == 0))
    {
        len = integrations_notify_alert_text(text, sizeof(text),
                  (const char *) s->row.id.data, s->row.id.len,
                  (const char *) s->row.channel.data, s->row.channel.len,
                  (const char *) s->row.provider.data, s->row.provider.len,
                  (const char *) s->row.recipient_mask.data,
                  s->row.recipient_mask.len, d->reason, res->code,
                  res->text);

        p = ngx_pnalloc(s->pool, len + 6 + s->row.id.len + 1);

        if (p) {
            s->alert.text.data = p;
            s->alert.text.len = len;
            p = ngx_cpymem(p, text, len);

            /* one alert per notification, however often this runs */
            s->alert.id.data = p;
            p = ngx_cpymem(p, "alert-", 6);
            p = ngx_cpymem(p, s->row.id.data,
                           ngx_min(s->row.id.len,
                                   INTEGRATIONS_STORE_OUTBOX_ID_MAX - 6));
            s->alert.id.len = p - s->alert.id.data;

            s->alert.scope.data = S->scope;
            s->alert.scope.len = INTEGRATIONS_STORE_HASH_LEN;
            s->alert.channel.data = (const u_char *)
                                    NGX_HTTP_NOTIFY_ALERT_CHANNEL;
            s->alert.channel.len = sizeof(NGX_HTTP_NOTIFY_ALERT_CHANNEL) - 1;
            s->alert.provider.data = nmcf->alert_provider->name.data;
            s->alert.provider.len = nmcf->alert_provider->name.len;
            s->alert.recipient.data = nmcf->alert_channel.data;
            s->alert.recipient.len = nmcf->alert_channel.len;
            s->alert.recipient_mask = s->alert.recipient;
            s->alert.expires_at = now + (int64_t) (nmcf->max_age
                                                   ? nmcf->max_age
                                                   : 86400000);
            f->alert = &s->alert;
        }
    }

    /* metrics */

    ngx_http_integrations_notify_count(s, d);

    sh = ngx_http_integrations_notify_sh();

    if (sh && outcome && outcome->attempted && s->provider) {
        slot = nmcf->latency[s->sp->index];

        if (slot < NGX_HTTP_NOTIFY_PROVIDERS) {
            static const ngx_msec_t  le[NGX_HTTP_NOTIFY_BUCKETS] = {
                10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
            };

            for (k = 0; k < NGX_HTTP_NOTIFY_BUCKETS; k++) {
                if (outcome->duration <= le[k]) {
                    (void) ngx_atomic_fetch_add(
                                          &sh->latency[slot].buckets[k], 1);
                    break;
                }
            }

            (void) ngx_atomic_fetch_add(&sh->latency[slot].count, 1);
            (void) ngx_atomic_fetch_add(&sh->latency[slot].sum_ms,
                                        outcome->duration);
        }
    }

    /* the JSON log line: the masked recipient, never the body */

    ngx_memzero(&l, sizeof(l));
    l.id = (const char *) s->row.id.data;
    l.id_len = s->row.id.len;
    l.channel = (const char *) s->row.channel.data;
    l.channel_len = s->row.channel.len;
    l.provider = (const char *) s->row.provider.data;
    l.provider_len = s->row.provider.len;
    l.to_mask = (const char *) s->row.recipient_mask.data;
    l.to_mask_len = s->row.recipient_mask.len;
    l.attempt = (unsigned) s->row.attempts;
    l.outcome = d->outcome ? d->outcome : "failed";
    l.http_status = res->http_status;
    l.duration_ms = outcome ? (int64_t) outcome->duration : 0;
    l.message_id = res->message_id;
    l.error = f->error.data ? (const char *) f->error.data : NULL;

    line = integrations_notify_log_line(&l, &len);

    if (line) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0, "%*s", len, line);
        free(line);
    }

    ngx_http_integrations_notify_queue(s);
}


static void
ngx_http_integrations_notify_count(ngx_http_integrations_notify_send_t *s,
    integrations_notify_decision_t *d)
{
    ngx_str_t                              channel, provider;
    ngx_uint_t                             slot;
    ngx_atomic_t                          *c;
    ngx_http_integrations_notify_stat_t   *st;
    ngx_http_integrations_notify_shctx_t  *sh;

    sh = ngx_http_integrations_notify_sh();
    if (sh == NULL) {
        return;
    }

    slot = ngx_http_integrations_notify_stat(NULL,
                 ngx_http_integrations_notify_bytes(&s->row.channel, &channel),
                 ngx_http_integrations_notify_bytes(&s->row.provider,
                                                    &provider));
    if (slot >= NGX_HTTP_NOTIFY_STATS) {
        return;
    }

    st = &sh->stats[slot];
    c = NULL;

    switch (d->action) {

    case INTEGRATIONS_NOTIFY_DO_SENT:
        c = &st->sent;
        break;

    case INTEGRATIONS_NOTIFY_DO_RETRY:
        c = d->uncount ? NULL : &st->retries;
        break;

    case INTEGRATIONS_NOTIFY_DO_FALLBACK:
        c = &st->fallbacks;
        break;

    case INTEGRATIONS_NOTIFY_DO_UNKNOWN:
        c = &st->unknown;
        break;

    case INTEGRATIONS_NOTIFY_DO_FAILED:
        c = (d->reason && ngx_strcmp(d->reason, "exhausted") == 0)
            ? &st->failed_exhausted
            : (d->reason && ngx_strcmp(d->reason, "expired") == 0)
              ? &st->failed_expired : &st->failed_permanent;
        break;
    }

    if (c) {
        (void) ngx_atomic_fetch_add(c, 1);
    }
}


static void
ngx_http_integrations_notify_queue(ngx_http_integrations_notify_send_t *s)
{
    ngx_http_integrations_notify_sender_t  *S;

    S = &ngx_http_notify_sender;

    ngx_queue_insert_tail(&S->pending, &s->queue);
    S->npending++;

    ngx_http_integrations_notify_hold();

    if (!S->flush.posted && !S->flush.timer_set) {
        ngx_post_event(&S->flush, &ngx_posted_events);
    }
}


/* FINISH in batches, at most NGX_HTTP_NOTIFY_FINISHING at once */

static void
ngx_http_integrations_notify_flush(ngx_event_t *ev)
{
    ngx_uint_t                              n;
    ngx_queue_t                            *q, mine;
    ngx_http_integrations_store_op_t       *op;
    ngx_http_integrations_notify_send_t    *s;
    ngx_http_integrations_notify_batch_t   *b;
    ngx_http_integrations_notify_sender_t  *S;

    S = ev->data;

    while (S->npending && S->finishing < NGX_HTTP_NOTIFY_FINISHING) {

        n = ngx_min(S->npending, NGX_HTTP_NOTIFY_FINISH_BATCH);

        op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_OUTBOX_FINISH,
                                            sizeof(
                                        ngx_http_integrations_notify_batch_t)
                                            + n * sizeof(
                                      integrations_store_outbox_finish_rec_t));
        if (op == NULL) {
            break;
        }

        b = (ngx_http_integrations_notify_batch_t *) op->room;
        b->recs = (integrations_store_outbox_finish_rec_t *) (b + 1);
        ngx_queue_init(&b->sends);

        for (n = 0; n < NGX_HTTP_NOTIFY_FINISH_BATCH && S->npending; n++) {
            q = ngx_queue_head(&S->pending);
            ngx_queue_remove(q);
            S->npending--;

            s = ngx_queue_data(q, ngx_http_integrations_notify_send_t, queue);
            b->recs[n] = s->rec;
            ngx_queue_insert_tail(&b->sends, q);
        }

        op->core.in.outbox_finish.recs = b->recs;
        op->core.in.outbox_finish.n = n;
        op->done = ngx_http_integrations_notify_finished;
        op->data = b;

        /* the sends' list outside the op, which a refusal frees */

        ngx_queue_init(&mine);

        if (!ngx_queue_empty(&b->sends)) {
            mine.next = b->sends.next;
            mine.prev = b->sends.prev;
            mine.next->prev = &mine;
            mine.prev->next = &mine;
        }

        if (ngx_http_integrations_store_post(op, NULL) != NGX_OK) {
            /* the store is down: all back, in order, and again later */

            while (!ngx_queue_empty(&mine)) {
                q = ngx_queue_last(&mine);
                ngx_queue_remove(q);
                ngx_queue_insert_head(&S->pending, q);
                S->npending++;
            }

            ngx_add_timer(&S->flush, NGX_HTTP_NOTIFY_FINISH_RETRY);
            break;
        }

        /* posted: the list goes back into the op for done() */

        ngx_queue_init(&b->sends);

        if (!ngx_queue_empty(&mine)) {
            b->sends.next = mine.next;
            b->sends.prev = mine.prev;
            b->sends.next->prev = &b->sends;
            b->sends.prev->next = &b->sends;
        }

        S->finishing++;
    }

    ngx_http_integrations_notify_hold();
}


static void
ngx_http_integrations_notify_finished(ngx_http_integrations_store_op_t *op)
{
    ngx_uint_t                              i, n;
    ngx_queue_t                            *q;
    ngx_http_integrations_notify_send_t    *s;
    ngx_http_integrations_notify_batch_t   *b;
    ngx_http_integrations_notify_sender_t  *S;
    ngx_http_integrations_notify_sp_t      *touched[NGX_HTTP_NOTIFY_PROVIDERS];

    S = &ngx_http_notify_sender;
    b = op->data;
    S->finishing--;

    if (op->core.rc != INTEGRATIONS_STORE_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "notify: writing %ui outcomes failed (%s), trying "
                      "again", (ngx_uint_t) op->core.in.outbox_finish.n,
                      op->core.error);

        while (!ngx_queue_empty(&b->sends)) {
            q = ngx_queue_last(&b->sends);
            ngx_queue_remove(q);
            ngx_queue_insert_head(&S->pending, q);
            S->npending++;
        }

        if (!S->flush.timer_set) {
            ngx_add_timer(&S->flush, NGX_HTTP_NOTIFY_FINISH_RETRY);
        }

        ngx_http_integrations_notify_hold();
        return;
    }

    n = 0;
    i = 0;

    while (!ngx_queue_empty(&b->sends)) {
        q = ngx_queue_head(&b->sends);
        ngx_queue_remove(q);
        s = ngx_queue_data(q, ngx_http_integrations_notify_send_t, queue);

        if (!b->recs[i].stored) {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "notify: the outcome of %V's attempt %L was fenced "
                          "out: its lease had lapsed",
                          ngx_http_integrations_notify_bytes(&s->row.id,
                                                             &(ngx_str_t) {0,
                                                               NULL}),
                          s->row.attempts);
        }

        if (b->recs[i].alert
            && b->recs[i].alert_result.verdict == INTEGRATIONS_STORE_OUTBOX_NEW
            && b->recs[i].stored)
        {
            ngx_uint_t                             slot;
            ngx_http_integrations_notify_shctx_t  *sh;

            sh = ngx_http_integrations_notify_sh();
            slot = S->nmcf->alert_stat;

            if (sh && slot < NGX_HTTP_NOTIFY_STATS) {
                (void) ngx_atomic_fetch_add(&sh->stats[slot].queued, 1);
            }
        }

        i++;

        s->sp->inflight--;

        if (n < NGX_HTTP_NOTIFY_PROVIDERS) {
            touched[n++] = s->sp;
        }

        ngx_destroy_pool(s->pool);
    }

    /* room again: claim more; a retry now or an alert may be due */

    if (S->running && !ngx_exiting) {
        for (i = 0; i < n; i++) {
            ngx_http_integrations_notify_claim(touched[i]);
        }

        ngx_http_integrations_notify_sender_kick();
    }

    if (S->npending && !S->flush.posted && !S->flush.timer_set) {
        ngx_post_event(&S->flush, &ngx_posted_events);
    }

    ngx_http_integrations_notify_hold();
}


/*
 * While anything is in flight (a claim, a send, a FINISH), a timer that
 * is not cancelable keeps an exiting worker alive.
 */

static void
ngx_http_integrations_notify_hold(void)
{
    ngx_uint_t                              busy, i;
    ngx_http_integrations_notify_sender_t  *S;

    S = &ngx_http_notify_sender;

    busy = S->claims + S->npending + S->finishing;

    for (i = 0; i < S->nsp && busy == 0; i++) {
        busy += S->sp[i].inflight;
    }

    if (busy && !S->guard.timer_set) {
        ngx_add_timer(&S->guard, 2 * S->lease);

    } else if (!busy && S->guard.timer_set) {
        ngx_del_timer(&S->guard);
    }
}


static void
ngx_http_integrations_notify_guard(ngx_event_t *ev)
{
    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "notify: sends are still in flight past twice the lease");

    ngx_http_integrations_notify_hold();
}


/* the outbox's depth, from one worker, for the metrics */

static void
ngx_http_integrations_notify_stats(ngx_event_t *ev)
{
    ngx_http_integrations_store_op_t       *op;
    ngx_http_integrations_notify_sender_t  *S;

    S = ev->data;

    if (!S->running || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(&S->stats, NGX_HTTP_NOTIFY_STATS_EVERY);

    if (ngx_worker != 0) {
        return;
    }

    op = ngx_http_integrations_store_op(INTEGRATIONS_STORE_OP_OUTBOX_STATS,
                                        0);
    if (op == NULL) {
        return;
    }

    op->done = ngx_http_integrations_notify_stats_done;

    (void) ngx_http_integrations_store_post(op, NULL);
}


static void
ngx_http_integrations_notify_stats_done(ngx_http_integrations_store_op_t *op)
{
    ngx_http_integrations_notify_shctx_t  *sh;

    sh = ngx_http_integrations_notify_sh();

    if (sh == NULL || op->core.rc != INTEGRATIONS_STORE_OK) {
        return;
    }

    sh->depth = (ngx_atomic_t) op->core.out.outbox_stats.depth;
    sh->due = (ngx_atomic_t) op->core.out.outbox_stats.due;
    sh->oldest_due_at = (ngx_atomic_t) op->core.out.outbox_stats.oldest_due_at;
    sh->stats_known = 1;
}


static ngx_str_t *
ngx_http_integrations_notify_bytes(integrations_store_bytes_t *b,
    ngx_str_t *s)
{
    s->data = (u_char *) b->data;
    s->len = b->data ? b->len : 0;

    return s;
}


/* ---- metrics ----------------------------------------------------------- */

static const char  *ngx_http_integrations_notify_le[NGX_HTTP_NOTIFY_BUCKETS] = {
    "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"
};


ngx_int_t
ngx_http_integrations_notify_collect(ngx_http_integrations_status_writer_t *w,
    void *data)
{
    ngx_http_integrations_notify_main_conf_t *nmcf = data;

    int64_t                                now;
    uint64_t                               counts[NGX_HTTP_NOTIFY_BUCKETS];
    ngx_uint_t                             i, k, f;
    ngx_slab_pool_t                       *shpool;
    ngx_http_integrations_notify_stat_t   *st;
    ngx_http_integrations_notify_shctx_t  *sh;
    ngx_http_integrations_status_label_t   l[3];

    static const struct {
        const char  *name;
        const char  *help;
        size_t       off;
        const char  *reason;
    }  fam[] = {
        { "integrations_notify_queued_total",
          "Notifications accepted into the outbox.",
          offsetof(ngx_http_integrations_notify_stat_t, queued), NULL },
        { "integrations_notify_sent_total",
          "Notifications a provider accepted.",
          offsetof(ngx_http_integrations_notify_stat_t, sent), NULL },
        { "integrations_notify_delivered_total",
          "Notifications a delivery receipt confirmed.",
          offsetof(ngx_http_integrations_notify_stat_t, delivered), NULL },
        { "integrations_notify_failed_total",
          "Notifications given up on, by reason.",
          offsetof(ngx_http_integrations_notify_stat_t, failed_permanent),
          "permanent" },
        { NULL, NULL,
          offsetof(ngx_http_integrations_notify_stat_t, failed_exhausted),
          "exhausted" },
        { NULL, NULL,
          offsetof(ngx_http_integrations_notify_stat_t, failed_expired),
          "expired" },
        { NULL, NULL,
          offsetof(ngx_http_integrations_notify_stat_t, failed_undelivered),
          "undelivered" },
        { "integrations_notify_retries_total",
          "Attempts that failed and were scheduled again.",
          offsetof(ngx_http_integrations_notify_stat_t, retries), NULL },
        { "integrations_notify_unknown_total",
          "Notifications that may or may not have been sent (alerted).",
          offsetof(ngx_http_integrations_notify_stat_t, unknown), NULL },
        { "integrations_notify_fallbacks_total",
          "AlimTalk notifications sent again as SMS/LMS.",
          offsetof(ngx_http_integrations_notify_stat_t, fallbacks), NULL }
    };

    if (nmcf->zone == NULL || nmcf->zone->shm.addr == NULL) {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) nmcf->zone->shm.addr;
    sh = shpool->data;

    if (sh == NULL) {
        return NGX_OK;
    }

    ngx_str_set(&l[0].name, "channel");
    ngx_str_set(&l[1].name, "provider");
    ngx_str_set(&l[2].name, "reason");

    for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {

        if (fam[f].name
            && ngx_http_integrations_status_family(w, fam[f].name,
                   NGX_HTTP_INTEGRATIONS_STATUS_COUNTER, fam[f].help)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i < NGX_HTTP_NOTIFY_STATS; i++) {
            st = &sh->stats[i];

            if (!st->used) {
                continue;
            }

            l[0].value.data = st->channel;
            l[0].value.len = ngx_strlen(st->channel);
            l[1].value.data = st->provider;
            l[1].value.len = ngx_strlen(st->provider);

            if (fam[f].reason) {
                l[2].value.data = (u_char *) fam[f].reason;
                l[2].value.len = ngx_strlen(fam[f].reason);
            }

            if (ngx_http_integrations_status_sample(w, l,
                    fam[f].reason ? 3 : 2,
                    *(ngx_atomic_t *) ((u_char *) st + fam[f].off))
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (ngx_http_integrations_status_family(w,
            "integrations_notify_send_duration_seconds",
            NGX_HTTP_INTEGRATIONS_STATUS_HISTOGRAM,
            "Provider send latency, from the call to its answer.")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_HTTP_NOTIFY_PROVIDERS; i++) {
        if (!sh->latency[i].used || sh->latency[i].count == 0) {
            continue;
        }

        for (k = 0; k < NGX_HTTP_NOTIFY_BUCKETS; k++) {
            counts[k] = sh->latency[i].buckets[k];
        }

        l[1].value.data = sh->latency[i].provider;
        l[1].value.len = ngx_strlen(sh->latency[i].provider);

        if (ngx_http_integrations_status_histogram(w, &l[1], 1,
                ngx_http_integrations_notify_le, counts,
                NGX_HTTP_NOTIFY_BUCKETS, sh->latency[i].count,
                sh->latency[i].sum_ms)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (!sh->stats_known) {
        return NGX_OK;
    }

    now = integrations_store_wall_clock();

    if (ngx_http_integrations_status_family(w,
            "integrations_notify_outbox_depth",
            NGX_HTTP_INTEGRATIONS_STATUS_GAUGE,
            "Notifications queued or sending, as last counted.")
        != NGX_OK
        || ngx_http_integrations_status_sample(w, NULL, 0, sh->depth)
           != NGX_OK
        || ngx_http_integrations_status_family(w,
               "integrations_notify_outbox_due",
               NGX_HTTP_INTEGRATIONS_STATUS_GAUGE,
               "Of them, due for an attempt.")
           != NGX_OK
        || ngx_http_integrations_status_sample(w, NULL, 0, sh->due) != NGX_OK
        || ngx_http_integrations_status_family(w,
               "integrations_notify_oldest_due_seconds",
               NGX_HTTP_INTEGRATIONS_STATUS_GAUGE,
               "How long the oldest due notification has waited.")
           != NGX_OK
        || ngx_http_integrations_status_sample(w, NULL, 0,
               (sh->oldest_due_at && (int64_t) sh->oldest_due_at < now)
               ? (uint64_t) (now - (int64_t) sh->oldest_due_at) / 1000 : 0)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
