/*
 * The store's activation operations (integrations_store_act.h), on top of
 * a driver, in a pool thread.  The rules they apply (which transition an
 * event makes, an order's state from its units') are the activation
 * core's; this file only reads and writes rows.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "integrations_activation.h"
#include "integrations_store_db.h"
#include "integrations_store_orders.h"


/* the columns of STMT_ACT_MESSAGE_GET */
enum {
    MSG_ID = 0,
    MSG_CHANNEL,
    MSG_PROVIDER,
    MSG_RECIPIENT,
    MSG_MASK,
    MSG_TEMPLATE,
    MSG_SUBJECT,
    MSG_TEXT,
    MSG_HTML,
    MSG_VARIABLES,
    MSG_TEMPLATE_ID,
    MSG_SMS_TYPE,
    MSG_FALLBACK,
    MSG_NCOLS
};


#define E(op)  (op)->error, sizeof((op)->error)


/* the columns of STMT_ACT_LINK_GET */
enum {
    LINK_EXPIRES = 0,
    LINK_USED,
    LINK_REVOKED,
    LINK_STATE,
    LINK_GRANT,
    LINK_GRANT_UNTIL,
    LINK_ITEM_NAME,
    LINK_VENDOR,
    LINK_BOX,
    LINK_ITEM,
    LINK_UNIT,
    LINK_UNITS,
    LINK_ORDER,
    LINK_PRODUCT,
    LINK_NCOLS
};

/* the columns of STMT_ACT_UNIT_NEXT */
enum {
    UNIT_VENDOR = 0,
    UNIT_BOX,
    UNIT_ITEM,
    UNIT_UNIT,
    UNIT_STATE,
    UNIT_PRODUCT,
    UNIT_UNITS,
    UNIT_ITEM_NAME,
    UNIT_NCOLS
};


typedef struct {
    const integrations_store_driver_t  *d;
    integrations_store_conn_t          *c;
    integrations_store_op_t            *op;
} act_tx_t;


static integrations_store_rc_e act_lookup(act_tx_t *t);
static integrations_store_rc_e act_redeem(act_tx_t *t);
static integrations_store_rc_e act_grant_finish(act_tx_t *t);
static integrations_store_rc_e act_grant_defer(act_tx_t *t,
    integrations_store_val_t *pk);
static integrations_store_rc_e act_grant_sweep(act_tx_t *t);
static integrations_store_rc_e act_grant_taken(act_tx_t *t,
    integrations_store_val_t *hash, integrations_store_val_t *pk,
    int retaken);
static integrations_store_rc_e act_list(act_tx_t *t);
static integrations_store_rc_e act_order(act_tx_t *t);
static integrations_store_rc_e act_change(act_tx_t *t, int resend);
static integrations_store_rc_e act_queue(act_tx_t *t);
static integrations_store_rc_e act_resend_messages(act_tx_t *t,
    const char *vendor, integrations_store_act_unit_t *units, size_t n,
    integrations_store_act_change_result_t *out);
static integrations_store_rc_e act_resend_message(act_tx_t *t,
    const char *vendor, const char *box, integrations_store_act_unit_t *units,
    size_t n, int *queued);
static size_t act_relink(act_tx_t *t, const char *vendor, const char *box,
    integrations_store_act_unit_t *units, size_t n, unsigned char *text,
    size_t len, integrations_store_rc_e *rc);
static int act_token_char(unsigned char c);
static integrations_store_rc_e act_link_get(act_tx_t *t,
    integrations_store_val_t *hash, integrations_store_act_link_t *l);
static integrations_store_rc_e act_event(act_tx_t *t,
    const integrations_store_val_t *pk, const char *event, int64_t state,
    const unsigned char *detail, size_t detail_len);
static integrations_store_rc_e act_box_done(act_tx_t *t,
    const integrations_store_val_t *box, const char *vendor, int resend);
static integrations_store_rc_e act_order_state(act_tx_t *t,
    const integrations_store_val_t *box);
static integrations_store_rc_e act_exec(act_tx_t *t,
    integrations_store_stmt_e stmt, const integrations_store_val_t *p,
    integrations_store_val_t *row, unsigned ncols, int *found,
    int64_t *changed);
static void act_copy(char *dst, size_t size,
    const integrations_store_val_t *v);
static void act_cstr(integrations_store_val_t *v, const char *s);
static integrations_store_rc_e act_json_copy(act_tx_t *t,
    integrations_store_val_t *v, size_t at, size_t *len);


integrations_store_rc_e
integrations_store_db_act(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    act_tx_t  t;

    t.d = d;
    t.c = c;
    t.op = op;

    switch (op->kind) {

    case INTEGRATIONS_STORE_OP_ACT_LOOKUP:
        return act_lookup(&t);

    case INTEGRATIONS_STORE_OP_ACT_REDEEM:
        return act_redeem(&t);

    case INTEGRATIONS_STORE_OP_ACT_GRANT_FINISH:
        return act_grant_finish(&t);

    case INTEGRATIONS_STORE_OP_ACT_GRANT_SWEEP:
        return act_grant_sweep(&t);

    case INTEGRATIONS_STORE_OP_ACT_LIST:
        return act_list(&t);

    case INTEGRATIONS_STORE_OP_ACT_ORDER:
        return act_order(&t);

    case INTEGRATIONS_STORE_OP_ACT_REVOKE:
        return act_change(&t, 0);

    case INTEGRATIONS_STORE_OP_ACT_RESEND:
        return act_change(&t, 1);

    case INTEGRATIONS_STORE_OP_ACT_QUEUE:
        return act_queue(&t);

    default:
        snprintf(E(op), "unknown operation %d", (int) op->kind);
        return INTEGRATIONS_STORE_ERROR;
    }
}


/* ---- the buyer's side -------------------------------------------------- */

static integrations_store_rc_e
act_lookup(act_tx_t *t)
{
    integrations_store_val_t  hash;

    memset(&t->op->out.act_link, 0, sizeof(integrations_store_act_link_t));

    integrations_store_db_text(&hash, &t->op->in.act_token.token_hash);

    return act_link_get(t, &hash, &t->op->out.act_link);
}


/*
 * The single-use step, in one transaction: the link's UPDATE ... WHERE
 * used_at IS NULL ... RETURNING decides between concurrent redeems (the
 * databases serialize writers to one row: SQLite has one writer at a
 * time, PostgreSQL's second UPDATE waits for the first and finds the row
 * used); then the unit's grant is taken for this attempt.  A unit that
 * cannot be granted (revoked, failed, redeemed through another link)
 * rolls the link's use back.  A link whose grant attempt died (pending
 * past its lock) is taken again by the next redeem.
 */

static integrations_store_rc_e
act_redeem(act_tx_t *t)
{
    int                              found, taken, retaken;
    int64_t                          now;
    integrations_store_rc_e          rc;
    integrations_store_val_t         hash, use[2], row[4], p[8];
    integrations_store_op_t         *op;
    integrations_store_act_link_t   *l;
    integrations_store_act_token_t  *in;

    op = t->op;
    in = &op->in.act_token;
    l = &op->out.act_link;
    now = op->now;

    memset(l, 0, sizeof(integrations_store_act_link_t));

    integrations_store_db_text(&hash, &in->token_hash);

    /*
     * Not durable at commit: a redeem lost in a power cut lets the link be
     * redeemed again, and the grant, sent again with the same webhook-id,
     * is deduplicated by the seller.  Isolation is what makes it single
     * use, and that a relaxed commit keeps.
     */

    rc = t->d->begin(t->c, INTEGRATIONS_STORE_TX_RELAXED, op->deadline,
                     E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    use[0] = hash;
    integrations_store_db_int(&use[1], now);

    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_LINK_USE, use, row, 4,
                  &found, NULL);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    taken = 0;
    retaken = 0;

    if (found) {
        taken = 1;

    } else {
        /* used, revoked, expired or unknown: perhaps a dead attempt's */

        rc = act_link_get(t, &hash, l);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        if (!(l->found && l->used && !l->revoked
              && l->grant_state == INTEGRATIONS_STORE_GRANT_PENDING))
        {
            return t->d->end(t->c, 1, op->deadline, E(op));
        }

        act_cstr(&row[0], l->vendor_id);
        act_cstr(&row[1], l->shipment_box_id);
        act_cstr(&row[2], l->vendor_item_id);
        integrations_store_db_int(&row[3], l->unit);
        retaken = 1;
    }

    /* the unit's grant, for this attempt */

    p[0] = row[0];
    p[1] = row[1];
    p[2] = row[2];
    p[3] = row[3];
    p[3].type = INTEGRATIONS_STORE_INT;
    integrations_store_db_int(&p[4], in->owner);
    integrations_store_db_int(&p[5], now + in->lock_ms);
    integrations_store_db_int(&p[6], now);
    p[7] = hash;

    /* the row's bytes go with the next statement: keep them */

    {
        char  v[INTEGRATIONS_STORE_ACT_ID_LEN], b[INTEGRATIONS_STORE_ACT_ID_LEN],
              i[INTEGRATIONS_STORE_ACT_ID_LEN];

        act_copy(v, sizeof(v), &row[0]);
        act_copy(b, sizeof(b), &row[1]);
        act_copy(i, sizeof(i), &row[2]);
        act_cstr(&p[0], v);
        act_cstr(&p[1], b);
        act_cstr(&p[2], i);

        found = 0;

        rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_GRANT_TAKE, p, NULL, 0,
                      &found, NULL);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        if (!found) {
            /* the unit cannot be granted: the link stays as it was */

            if (taken) {
                (void) t->d->end(t->c, 0, op->deadline, NULL, 0);

                memset(l, 0, sizeof(integrations_store_act_link_t));
                rc = act_link_get(t, &hash, l);

                /* what it says is what the page says; it is not usable */
                if (rc == INTEGRATIONS_STORE_OK && l->found && !l->used) {
                    l->revoked = 1;
                }

                return rc;
            }

            /* another attempt took the dead one's grant first */
            return t->d->end(t->c, 1, op->deadline, E(op));
        }

        rc = act_grant_taken(t, &hash, p, retaken);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }
    }

    rc = t->d->end(t->c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        l->won = 1;
        l->retaken = retaken;

    } else {
        OPENSSL_cleanse(l->contact, sizeof(l->contact));
    }

    return rc;

failed:

    (void) t->d->end(t->c, 0, op->deadline, NULL, 0);
    OPENSSL_cleanse(l->contact, sizeof(l->contact));

    return rc;
}


/*
 * What a grant just taken needs, in its transaction: the unit, its order,
 * the buyer's contact; and the history row.  pk is the unit's key
 * (vendor, box, item, unit).
 */

static integrations_store_rc_e
act_grant_taken(act_tx_t *t, integrations_store_val_t *hash,
    integrations_store_val_t *pk, int retaken)
{
    int                             found;
    integrations_store_rc_e         rc;
    integrations_store_val_t        crow[3];
    integrations_store_act_link_t  *l;

    l = &t->op->out.act_link;

    rc = act_link_get(t, hash, l);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_CONTACT_GET, pk, crow, 3,
                  &found, NULL);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    if (found) {
        l->contact_kind = crow[0].i;
        act_copy(l->contact, sizeof(l->contact), &crow[1]);
    }

    return act_event(t, pk, t->op->kind == INTEGRATIONS_STORE_OP_ACT_GRANT_SWEEP
                            ? "grant_retaken"
                            : retaken ? "redeem_retaken" : "redeem",
                     l->state, NULL, 0);
}


/*
 * The sweeper's step: the pending grant that lapsed longest ago, taken by
 * STMT_ACT_GRANT_TAKE, the same conditional UPDATE as a retaking redeem
 * (grant_state 1 AND grant_until <= now): on PostgreSQL a second node's
 * UPDATE waits for the first's row lock and finds the lock renewed, on
 * SQLite writers are one at a time, so one sweeper wins it.  The SELECT
 * only names a candidate; the UPDATE decides.
 */

static integrations_store_rc_e
act_grant_sweep(act_tx_t *t)
{
    int                              found;
    char                             h[INTEGRATIONS_STORE_ACT_ID_LEN * 4],
                                     v[INTEGRATIONS_STORE_ACT_ID_LEN],
                                     b[INTEGRATIONS_STORE_ACT_ID_LEN],
                                     i[INTEGRATIONS_STORE_ACT_ID_LEN];
    int64_t                          now;
    integrations_store_rc_e          rc;
    integrations_store_val_t         hash, due[1], row[1], p[8];
    integrations_store_op_t         *op;
    integrations_store_act_link_t   *l;
    integrations_store_act_token_t  *in;

    op = t->op;
    in = &op->in.act_token;
    l = &op->out.act_link;
    now = op->now;

    memset(l, 0, sizeof(integrations_store_act_link_t));

    /* relaxed as a redeem is: a lost take is only taken again */

    rc = t->d->begin(t->c, INTEGRATIONS_STORE_TX_RELAXED, op->deadline,
                     E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    integrations_store_db_int(&due[0], now);
    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_GRANT_DUE, due, row, 1,
                  &found, NULL);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    if (!found) {
        return t->d->end(t->c, 1, op->deadline, E(op));
    }

    act_copy(h, sizeof(h), &row[0]);
    act_cstr(&hash, h);

    rc = act_link_get(t, &hash, l);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    if (!l->found) {
        return t->d->end(t->c, 1, op->deadline, E(op));
    }

    /* the link's fields are rewritten by the next read: keep them */

    snprintf(v, sizeof(v), "%s", l->vendor_id);
    snprintf(b, sizeof(b), "%s", l->shipment_box_id);
    snprintf(i, sizeof(i), "%s", l->vendor_item_id);
    act_cstr(&p[0], v);
    act_cstr(&p[1], b);
    act_cstr(&p[2], i);
    integrations_store_db_int(&p[3], l->unit);
    integrations_store_db_int(&p[4], in->owner);
    integrations_store_db_int(&p[5], now + in->lock_ms);
    integrations_store_db_int(&p[6], now);
    p[7] = hash;

    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_GRANT_TAKE, p, NULL, 0,
                  &found, NULL);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    memset(l, 0, sizeof(integrations_store_act_link_t));

    if (!found) {
        /* another sweeper, or the buyer's POST, took it first */
        return t->d->end(t->c, 1, op->deadline, E(op));
    }

    rc = act_grant_taken(t, &hash, p, 1);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    rc = t->d->end(t->c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        l->won = 1;
        l->retaken = 1;

    } else {
        OPENSSL_cleanse(l->contact, sizeof(l->contact));
    }

    return rc;

failed:

    (void) t->d->end(t->c, 0, op->deadline, NULL, 0);
    OPENSSL_cleanse(l->contact, sizeof(l->contact));

    return rc;
}


/*
 * A grant's outcome, from the attempt that holds it (a late outcome of an
 * attempt whose grant was taken over changes nothing): the transition of
 * EV_REDEEMED or EV_GRANT_FAILED from the unit's state, the history, the
 * box's state; fulfilment due when the buyer redeemed before the message
 * was marked sent.
 */

static integrations_store_rc_e
act_grant_finish(act_tx_t *t)
{
    int                              found;
    unsigned                         actions;
    int64_t                          changed;
    integrations_store_rc_e          rc;
    integrations_act_state_e         state, next;
    integrations_act_verdict_e       verdict;
    integrations_store_val_t         pk[9], row[3], fp[3];
    integrations_store_op_t         *op;
    integrations_store_act_grant_t  *in;

    op = t->op;
    in = &op->in.act_grant;

    memset(&op->out.act_grant, 0, sizeof(integrations_store_act_grant_result_t));

    integrations_store_db_text(&pk[0], &in->vendor_id);
    integrations_store_db_text(&pk[1], &in->shipment_box_id);
    integrations_store_db_text(&pk[2], &in->vendor_item_id);
    integrations_store_db_int(&pk[3], in->unit);

    if (in->retry_at > 0) {
        return act_grant_defer(t, pk);
    }

    /*
     * Not durable at commit either (one fsync per redeem would cap
     * redeems at the disk's commit rate): lost in a power cut, the unit's
     * grant is pending again, the next POST of its link takes it after
     * its lock and grants again with the same webhook-id, which the
     * seller deduplicates.  The next durable commit of any operation, or
     * SQLite's checkpoint, makes it durable.
     */

    rc = t->d->begin(t->c, INTEGRATIONS_STORE_TX_RELAXED, op->deadline,
                     E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_UNIT_GET, pk, row, 3, &found,
                  NULL);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    if (!found || row[1].i != INTEGRATIONS_STORE_GRANT_PENDING
        || row[2].type == INTEGRATIONS_STORE_NULL || row[2].i != in->owner)
    {
        /* not this attempt's any more (run twice: already recorded) */
        return t->d->end(t->c, 1, op->deadline, E(op));
    }

    state = (integrations_act_state_e) row[0].i;

    verdict = integrations_act_transition(state,
                  in->granted ? INTEGRATIONS_ACT_EV_REDEEMED
                              : INTEGRATIONS_ACT_EV_GRANT_FAILED,
                  &next, &actions);

    if (verdict != INTEGRATIONS_ACT_APPLIED) {
        next = state;
    }

    integrations_store_db_int(&pk[4], in->owner);
    integrations_store_db_int(&pk[5], in->granted
                                      ? INTEGRATIONS_STORE_GRANT_DONE
                                      : INTEGRATIONS_STORE_GRANT_FAILED);
    integrations_store_db_int(&pk[6], next);
    integrations_store_db_int(&pk[7], op->now);
    integrations_store_db_int(&pk[8],
                              (actions & INTEGRATIONS_ACT_DO_CALL_REVOKE)
                              ? 1 : 0);

    changed = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_GRANT_SET, pk, NULL, 0,
                  NULL, &changed);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    if (changed == 0) {
        return t->d->end(t->c, 1, op->deadline, E(op));
    }

    rc = act_event(t, pk,
                   in->granted ? (verdict == INTEGRATIONS_ACT_APPLIED
                                  ? "redeemed" : "granted_after_revoke")
                               : "grant_failed",
                   next, in->detail.data, in->detail.len);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    if (actions & INTEGRATIONS_ACT_DO_FULFIL) {
        fp[0] = pk[0];
        fp[1] = pk[1];
        integrations_store_db_int(&fp[2], op->now);

        rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_FULFIL_DUE, fp, NULL, 0,
                      NULL, NULL);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }
    }

    rc = act_order_state(t, pk);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    rc = t->d->end(t->c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        op->out.act_grant.applied = (verdict == INTEGRATIONS_ACT_APPLIED);
        op->out.act_grant.call_revoke =
                               (actions & INTEGRATIONS_ACT_DO_CALL_REVOKE) != 0;
        op->out.act_grant.state = next;
    }

    return rc;

failed:

    (void) t->d->end(t->c, 0, op->deadline, NULL, 0);

    return rc;
}


/*
 * The limits refused the grant's last attempt: no outcome, the grant
 * stays this attempt's, but its lock ends at retry_at, so the sweeper
 * takes it again then (when the breaker admits a probe) rather than at
 * the lock's end.  Relaxed as an outcome is: lost, the whole lock is
 * waited out, as before.  applied: the lock was shortened.
 */

static integrations_store_rc_e
act_grant_defer(act_tx_t *t, integrations_store_val_t *pk)
{
    int64_t                          changed;
    integrations_store_rc_e          rc;
    integrations_store_op_t         *op;
    integrations_store_act_grant_t  *in;

    op = t->op;
    in = &op->in.act_grant;

    integrations_store_db_int(&pk[4], in->owner);
    integrations_store_db_int(&pk[5], in->retry_at);
    integrations_store_db_int(&pk[6], op->now);

    rc = t->d->begin(t->c, INTEGRATIONS_STORE_TX_RELAXED, op->deadline,
                     E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    changed = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_GRANT_DEFER, pk, NULL, 0,
                  NULL, &changed);
    if (rc != INTEGRATIONS_STORE_OK) {
        (void) t->d->end(t->c, 0, op->deadline, NULL, 0);
        return rc;
    }

    rc = t->d->end(t->c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        op->out.act_grant.applied = (changed > 0);
    }

    return rc;
}


/* ---- the admin API ----------------------------------------------------- */

static integrations_store_rc_e
act_list(act_tx_t *t)
{
    int                             found;
    size_t                          len;
    integrations_store_rc_e         rc;
    integrations_store_val_t        p[7], row[1];
    integrations_store_op_t        *op;
    integrations_store_act_list_t  *in;

    op = t->op;
    in = &op->in.act_list;

    memset(&op->out.act_json, 0, sizeof(integrations_store_act_json_t));

    integrations_store_db_int(&p[0], in->states);
    integrations_store_db_int(&p[1], in->since);
    integrations_store_db_int(&p[2], in->until);
    integrations_store_db_int(&p[3], in->after ? 1 : 0);
    integrations_store_db_int(&p[4], in->after_at);
    integrations_store_db_text(&p[5], &in->after_id);
    integrations_store_db_int(&p[6], in->limit);

    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_LIST, p, row, 1, &found,
                  NULL);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    if (!found) {
        act_cstr(&row[0], "[]");
    }

    rc = act_json_copy(t, &row[0], 0, &len);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    op->out.act_json.rows.data = op->result;
    op->out.act_json.rows.len = len;

    return INTEGRATIONS_STORE_OK;
}


static integrations_store_rc_e
act_order(act_tx_t *t)
{
    int                             found;
    size_t                          off[3], len[3], i;
    integrations_store_rc_e         rc;
    integrations_store_val_t        p[1], row[1];
    integrations_store_op_t        *op;

    static const integrations_store_stmt_e  stmts[3] = {
        INTEGRATIONS_STORE_STMT_ACT_ORDER_BOXES,
        INTEGRATIONS_STORE_STMT_ACT_ORDER_UNITS,
        INTEGRATIONS_STORE_STMT_ACT_ORDER_EVENTS
    };

    op = t->op;

    memset(&op->out.act_json, 0, sizeof(integrations_store_act_json_t));

    integrations_store_db_text(&p[0], &op->in.act_order.order_id);

    /* one snapshot for the three */

    rc = t->d->begin(t->c, INTEGRATIONS_STORE_TX_READ, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    off[0] = 0;

    for (i = 0; i < 3; i++) {
        found = 0;

        rc = act_exec(t, stmts[i], p, row, 1, &found, NULL);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        if (!found) {
            act_cstr(&row[0], "[]");
        }

        rc = act_json_copy(t, &row[0], off[i], &len[i]);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        if (i < 2) {
            off[i + 1] = off[i] + len[i] + 1;
        }
    }

    rc = t->d->end(t->c, 1, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    op->out.act_json.boxes.data = op->result + off[0];
    op->out.act_json.boxes.len = len[0];
    op->out.act_json.units.data = op->result + off[1];
    op->out.act_json.units.len = len[1];
    op->out.act_json.events.data = op->result + off[2];
    op->out.act_json.events.len = len[2];

    return INTEGRATIONS_STORE_OK;

failed:

    (void) t->d->end(t->c, 0, op->deadline, NULL, 0);

    return rc;
}


/*
 * Revoke or resend every unit of an order, each by the transition its
 * state allows (integrations_act_transition(): EV_REVOKE, EV_RESEND); a
 * unit the state keeps (revoked already; redeemed, for a resend) is
 * counted as refused.  A resend mints each new token here (32 random
 * bytes), keeps only its hash, and hands the token back once, for the
 * message.  A resend of a box without a contact needs one given.
 */

static integrations_store_rc_e
act_change(act_tx_t *t, int resend)
{
    int                                      found, have_contact;
    char                                     box[INTEGRATIONS_STORE_ACT_ID_LEN],
                                             item[INTEGRATIONS_STORE_ACT_ID_LEN],
                                             vendor[INTEGRATIONS_STORE_ACT_ID_LEN],
                                             last_vendor[INTEGRATIONS_STORE_ACT_ID_LEN],
                                             last_box[INTEGRATIONS_STORE_ACT_ID_LEN],
                                             hash[INTEGRATIONS_ACT_HASH_HEX_LEN];
    char                  bcontact[INTEGRATIONS_STORE_ACT_CONTACT_LEN];
    size_t                                   n;
    int64_t                                  unit, bkind;
    unsigned                                 actions;
    unsigned char                            rnd[INTEGRATIONS_ACT_TOKEN_BYTES];
    integrations_store_rc_e                  rc;
    integrations_act_state_e                 state, next;
    integrations_act_verdict_e               verdict;
    integrations_store_val_t                 cur[4], row[UNIT_NCOLS], pk[8],
                                             crow[3], lb[2];
    integrations_store_op_t                 *op;
    integrations_store_act_unit_t           *units, *u;
    integrations_store_act_order_t          *in;
    integrations_store_act_change_result_t  *out;

    op = t->op;
    in = &op->in.act_order;
    out = &op->out.act_change;

    memset(out, 0, sizeof(integrations_store_act_change_result_t));

    units = calloc(INTEGRATIONS_STORE_ACT_UNITS_MAX,
                   sizeof(integrations_store_act_unit_t));
    if (units == NULL) {
        snprintf(E(op), "out of memory");
        return INTEGRATIONS_STORE_ERROR;
    }

    rc = t->d->begin(t->c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        free(units);
        return rc;
    }

    integrations_store_db_text(&cur[0], &in->order_id);

    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_ORDER_FIND, cur, crow, 2,
                  &found, NULL);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    if (!found) {
        free(units);
        return t->d->end(t->c, 1, op->deadline, E(op));
    }

    out->found = 1;
    act_copy(out->vendor_id, sizeof(out->vendor_id), &crow[0]);

    box[0] = '\0';
    item[0] = '\0';
    last_box[0] = '\0';
    last_vendor[0] = '\0';
    unit = -1;
    n = 0;
    have_contact = 0;
    bkind = INTEGRATIONS_ACT_CONTACT_NONE;
    bcontact[0] = '\0';

    for ( ;; ) {
        act_cstr(&cur[1], box);
        act_cstr(&cur[2], item);
        integrations_store_db_int(&cur[3], unit);

        found = 0;

        rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_UNIT_NEXT, cur, row,
                      UNIT_NCOLS, &found, NULL);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        if (!found) {
            break;
        }

        act_copy(vendor, sizeof(vendor), &row[UNIT_VENDOR]);
        act_copy(box, sizeof(box), &row[UNIT_BOX]);
        act_copy(item, sizeof(item), &row[UNIT_ITEM]);
        unit = row[UNIT_UNIT].i;
        state = (integrations_act_state_e) row[UNIT_STATE].i;

        if (n == INTEGRATIONS_STORE_ACT_UNITS_MAX) {
            snprintf(E(op), "the order has more than %d units",
                     INTEGRATIONS_STORE_ACT_UNITS_MAX);
            rc = INTEGRATIONS_STORE_ERROR;
            goto failed;
        }

        u = &units[n];
        snprintf(u->shipment_box_id, sizeof(u->shipment_box_id), "%s", box);
        snprintf(u->vendor_item_id, sizeof(u->vendor_item_id), "%s", item);
        act_copy(u->product_code, sizeof(u->product_code),
                 &row[UNIT_PRODUCT]);
        act_copy(u->item_name, sizeof(u->item_name), &row[UNIT_ITEM_NAME]);
        u->unit = unit;
        u->units = row[UNIT_UNITS].i;
        u->was_state = state;
        u->state = state;

        act_cstr(&pk[0], vendor);
        act_cstr(&pk[1], box);
        act_cstr(&pk[2], item);
        integrations_store_db_int(&pk[3], unit);

        /* a new box: the previous one's state, and this one's contact */

        if (strcmp(box, last_box) != 0 || strcmp(vendor, last_vendor) != 0) {

            if (last_box[0]) {
                act_cstr(&lb[0], last_vendor);
                act_cstr(&lb[1], last_box);

                rc = act_box_done(t, lb, last_vendor, resend);
                if (rc != INTEGRATIONS_STORE_OK) {
                    goto failed;
                }
            }

            snprintf(last_box, sizeof(last_box), "%s", box);
            snprintf(last_vendor, sizeof(last_vendor), "%s", vendor);

            if (resend) {
                if (in->contact_kind != INTEGRATIONS_ACT_CONTACT_NONE) {
                    integrations_store_val_t  cs[6];

                    cs[0] = pk[0];
                    cs[1] = pk[1];
                    integrations_store_db_int(&cs[2], in->contact_kind);
                    integrations_store_db_text(&cs[3], &in->contact);
                    act_cstr(&cs[4], "admin");
                    integrations_store_db_int(&cs[5], op->now);

                    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_CONTACT_SET,
                                  cs, NULL, 0, NULL, NULL);
                    if (rc != INTEGRATIONS_STORE_OK) {
                        goto failed;
                    }

                    rc = act_event(t, pk, "contact_set", state,
                                   (const unsigned char *) "by an admin",
                                   sizeof("by an admin") - 1);
                    if (rc != INTEGRATIONS_STORE_OK) {
                        goto failed;
                    }
                }

                found = 0;

                rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_CONTACT_GET, pk,
                              crow, 3, &found, NULL);
                if (rc != INTEGRATIONS_STORE_OK) {
                    goto failed;
                }

                have_contact = found
                               && crow[0].i != INTEGRATIONS_ACT_CONTACT_NONE
                               && crow[1].type != INTEGRATIONS_STORE_NULL
                               && crow[1].len > 0;

                bkind = INTEGRATIONS_ACT_CONTACT_NONE;
                bcontact[0] = '\0';

                if (have_contact) {
                    bkind = crow[0].i;
                    act_copy(bcontact, sizeof(bcontact), &crow[1]);
                }

                if (have_contact && out->contact_kind == 0) {
                    out->contact_kind = crow[0].i;
                    act_copy(out->contact, sizeof(out->contact), &crow[1]);
                }
            }
        }

        n++;

        verdict = integrations_act_transition(state,
                      resend ? INTEGRATIONS_ACT_EV_RESEND
                             : INTEGRATIONS_ACT_EV_REVOKE,
                      &next, &actions);

        if (verdict != INTEGRATIONS_ACT_APPLIED) {
            out->refused++;
            continue;
        }

        if (resend && !have_contact) {
            out->no_contact++;
            continue;
        }

        integrations_store_db_int(&pk[4], op->now);

        if (actions & INTEGRATIONS_ACT_DO_REVOKE_TOKEN) {
            rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_LINKS_REVOKE, pk,
                          NULL, 0, NULL, NULL);
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }
        }

        if (resend) {
            integrations_store_val_t  lp[7], rp[7];

            if (RAND_bytes(rnd, sizeof(rnd)) != 1
                || integrations_act_token_encode(rnd, sizeof(rnd), u->token)
                   != 0)
            {
                OPENSSL_cleanse(rnd, sizeof(rnd));
                snprintf(E(op), "no random bytes for a token");
                rc = INTEGRATIONS_STORE_ERROR;
                goto failed;
            }

            OPENSSL_cleanse(rnd, sizeof(rnd));
            u->token[INTEGRATIONS_ACT_TOKEN_LEN] = '\0';
            u->contact_kind = bkind;
            snprintf(u->contact, sizeof(u->contact), "%s", bcontact);

            integrations_act_token_hash_hex(u->token,
                                            INTEGRATIONS_ACT_TOKEN_LEN, hash);

            lp[0].type = INTEGRATIONS_STORE_TEXT;
            lp[0].p = (const unsigned char *) hash;
            lp[0].len = INTEGRATIONS_ACT_HASH_HEX_LEN;
            lp[0].i = 0;
            lp[1] = pk[0];
            lp[2] = pk[1];
            lp[3] = pk[2];
            lp[4] = pk[3];
            integrations_store_db_int(&lp[5], op->now);
            integrations_store_db_int(&lp[6], op->now + in->ttl_ms);

            rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_LINK_ADD, lp, NULL, 0,
                          NULL, NULL);
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }

            rp[0] = pk[0];
            rp[1] = pk[1];
            rp[2] = pk[2];
            rp[3] = pk[3];
            rp[4] = lp[0];
            integrations_store_db_int(&rp[5], next);
            integrations_store_db_int(&rp[6], op->now);

            rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_UNIT_RESEND, rp, NULL,
                          0, NULL, NULL);
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }

        } else {
            integrations_store_db_text(&pk[5], &in->reason);
            if (in->reason.len == 0) {
                act_cstr(&pk[5], "admin");
            }
            integrations_store_db_int(&pk[6],
                                  (actions & INTEGRATIONS_ACT_DO_CALL_REVOKE)
                                  ? 1 : 0);

            rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_UNIT_REVOKE, pk, NULL,
                          0, NULL, NULL);
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }
        }

        rc = act_event(t, pk, resend ? "resend" : "revoke", next,
                       in->reason.data, in->reason.len);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        u->state = next;
        out->changed++;
    }

    if (last_box[0]) {
        act_cstr(&lb[0], last_vendor);
        act_cstr(&lb[1], last_box);

        rc = act_box_done(t, lb, last_vendor, resend);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }
    }

    if (resend && out->changed) {
        rc = act_resend_messages(t, out->vendor_id, units, n, out);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }
    }

    rc = t->d->end(t->c, 1, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        OPENSSL_cleanse(units, INTEGRATIONS_STORE_ACT_UNITS_MAX
                               * sizeof(integrations_store_act_unit_t));
        free(units);
        memset(out, 0, sizeof(integrations_store_act_change_result_t));
        return rc;
    }

    free(op->result);
    op->result = (unsigned char *) units;
    out->units = units;
    out->n = n;

    return INTEGRATIONS_STORE_OK;

failed:

    (void) t->d->end(t->c, 0, op->deadline, NULL, 0);

    OPENSSL_cleanse(units, INTEGRATIONS_STORE_ACT_UNITS_MAX
                           * sizeof(integrations_store_act_unit_t));
    free(units);
    memset(out, 0, sizeof(integrations_store_act_change_result_t));

    return rc;
}


/*
 * A resend's new messages: each box's outbox rows and its message set in
 * one transaction; a box revoked (or redeemed) since the resend is
 * skipped, its message never queued.
 */

static integrations_store_rc_e
act_queue(act_tx_t *t)
{
    int                                  found;
    size_t                               i;
    integrations_store_rc_e              rc;
    integrations_store_val_t             p[4], pk[4], row[1];
    integrations_store_op_t             *op;
    integrations_store_act_queue_box_t  *b;

    op = t->op;
    op->out.changed = 0;

    rc = t->d->begin(t->c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    for (i = 0; i < op->in.act_queue.n; i++) {
        b = &op->in.act_queue.boxes[i];

        if (b->n == 0) {
            continue;
        }

        integrations_store_db_text(&p[0], &b->vendor_id);
        integrations_store_db_text(&p[1], &b->shipment_box_id);
        integrations_store_db_text(&p[2], &b->items[0].id);
        integrations_store_db_int(&p[3], op->now);

        found = 0;

        rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_MESSAGE_QUEUE, p, row, 1,
                      &found, NULL);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        if (!found) {
            continue;
        }

        rc = integrations_store_db_outbox_insert(t->d, t->c, b->items, b->n,
                                                 op->now, op->deadline,
                                                 b->results, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        pk[0] = p[0];
        pk[1] = p[1];
        pk[2].type = INTEGRATIONS_STORE_NULL;
        pk[2].i = 0;
        pk[2].p = NULL;
        pk[2].len = 0;
        pk[3] = pk[2];

        rc = act_event(t, pk, "message_queued", row[0].i,
                       b->items[0].channel.data, b->items[0].channel.len);
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        op->out.changed++;
    }

    return t->d->end(t->c, 1, op->deadline, E(op));

failed:

    (void) t->d->end(t->c, 0, op->deadline, NULL, 0);
    op->out.changed = 0;

    return rc;
}


/* ---- helpers ----------------------------------------------------------- */

static integrations_store_rc_e
act_link_get(act_tx_t *t, integrations_store_val_t *hash,
    integrations_store_act_link_t *l)
{
    int                       found;
    integrations_store_rc_e   rc;
    integrations_store_val_t  row[LINK_NCOLS];

    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_LINK_GET, hash, row,
                  LINK_NCOLS, &found, NULL);
    if (rc != INTEGRATIONS_STORE_OK || !found) {
        l->found = 0;
        return rc;
    }

    l->found = 1;
    l->expires_at = row[LINK_EXPIRES].i;
    l->used = row[LINK_USED].i != 0;
    l->revoked = row[LINK_REVOKED].i != 0;
    l->state = row[LINK_STATE].i;
    l->grant_state = row[LINK_GRANT].i;
    l->unit = row[LINK_UNIT].i;
    l->units = row[LINK_UNITS].i;

    act_copy(l->item_name, sizeof(l->item_name), &row[LINK_ITEM_NAME]);
    act_copy(l->vendor_id, sizeof(l->vendor_id), &row[LINK_VENDOR]);
    act_copy(l->shipment_box_id, sizeof(l->shipment_box_id), &row[LINK_BOX]);
    act_copy(l->vendor_item_id, sizeof(l->vendor_item_id), &row[LINK_ITEM]);
    act_copy(l->order_id, sizeof(l->order_id), &row[LINK_ORDER]);
    act_copy(l->product_code, sizeof(l->product_code), &row[LINK_PRODUCT]);

    return INTEGRATIONS_STORE_OK;
}


static integrations_store_rc_e
act_event(act_tx_t *t, const integrations_store_val_t *pk, const char *event,
    int64_t state, const unsigned char *detail, size_t detail_len)
{
    integrations_store_val_t  p[8];

    p[0] = pk[0];
    p[1] = pk[1];
    p[2] = pk[2];
    p[3] = pk[3];
    integrations_store_db_int(&p[4], t->op->now);
    act_cstr(&p[5], event);
    integrations_store_db_int(&p[6], state);

    if (detail_len) {
        p[7].type = INTEGRATIONS_STORE_TEXT;
        p[7].i = 0;
        p[7].p = detail;
        p[7].len = detail_len;

    } else {
        p[7].type = INTEGRATIONS_STORE_NULL;
        p[7].i = 0;
        p[7].p = NULL;
        p[7].len = 0;
    }

    return act_exec(t, INTEGRATIONS_STORE_STMT_ACT_EVENT_ADD, p, NULL, 0, NULL,
                    NULL);
}


/*
 * A box whose units an admin walked: its state from its units', and on a
 * revoke, its buyer message given up if it is still queued and the box
 * revoked whole (integrations_store_orders_cancel_message())
 */

static integrations_store_rc_e
act_box_done(act_tx_t *t, const integrations_store_val_t *box,
    const char *vendor, int resend)
{
    integrations_store_rc_e     rc;
    integrations_store_bytes_t  vb;

    rc = act_order_state(t, box);

    if (rc != INTEGRATIONS_STORE_OK || resend) {
        return rc;
    }

    vb.data = (const unsigned char *) vendor;
    vb.len = strlen(vendor);

    return integrations_store_orders_cancel_message(t->d, t->c, t->op, &vb,
                                                    &box[1]);
}


/* a box's state from its units' (integrations_act_order_state()) */

static integrations_store_rc_e
act_order_state(act_tx_t *t, const integrations_store_val_t *box)
{
    int                       found, s;
    size_t                    n;
    integrations_store_rc_e   rc;
    integrations_act_state_e  states[INTEGRATIONS_ACT_NSTATES], st;
    integrations_store_val_t  row[2], p[4];

    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_ORDER_STATES, box, row, 2,
                  &found, NULL);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    if (!found || row[1].i == 0) {
        return INTEGRATIONS_STORE_OK;       /* nothing mapped: as it was */
    }

    n = 0;

    for (s = 0; s < INTEGRATIONS_ACT_NSTATES; s++) {
        if (row[0].i & ((int64_t) 1 << s)) {
            states[n++] = (integrations_act_state_e) s;
        }
    }

    st = integrations_act_order_state(states, n);

    p[0] = box[0];
    p[1] = box[1];
    integrations_store_db_int(&p[2], st);
    integrations_store_db_int(&p[3], t->op->now);

    return act_exec(t, INTEGRATIONS_STORE_STMT_ACT_ORDER_STATE_SET, p, NULL, 0,
                    NULL, NULL);
}


static integrations_store_rc_e
act_exec(act_tx_t *t, integrations_store_stmt_e stmt,
    const integrations_store_val_t *p, integrations_store_val_t *row,
    unsigned ncols, int *found, int64_t *changed)
{
    return t->d->exec(t->c, stmt, p, row, ncols, found, changed,
                      t->op->deadline, E(t->op));
}


/* a TEXT column into a NUL-terminated buffer; NULL is "" */

static void
act_copy(char *dst, size_t size, const integrations_store_val_t *v)
{
    size_t  n;

    if (v->type != INTEGRATIONS_STORE_TEXT && v->type != INTEGRATIONS_STORE_BLOB)
    {
        dst[0] = '\0';
        return;
    }

    n = v->len < size - 1 ? v->len : size - 1;

    memcpy(dst, v->p, n);
    dst[n] = '\0';
}


static void
act_cstr(integrations_store_val_t *v, const char *s)
{
    v->type = INTEGRATIONS_STORE_TEXT;
    v->i = 0;
    v->p = (const unsigned char *) s;
    v->len = strlen(s);
}


/* the JSON text of a row into op->result at "at" (NUL-terminated) */

static integrations_store_rc_e
act_json_copy(act_tx_t *t, integrations_store_val_t *v, size_t at,
    size_t *len)
{
    unsigned char  *p;

    if (v->type != INTEGRATIONS_STORE_TEXT && v->type != INTEGRATIONS_STORE_BLOB)
    {
        act_cstr(v, "[]");
    }

    p = realloc(t->op->result, at + v->len + 1);
    if (p == NULL) {
        snprintf(E(t->op), "out of memory");
        return INTEGRATIONS_STORE_ERROR;
    }

    t->op->result = p;
    memcpy(p + at, v->p, v->len);
    p[at + v->len] = '\0';
    *len = v->len;

    return INTEGRATIONS_STORE_OK;
}


/*
 * A resend's messages: for each box with a new link, its last buyer
 * message (the one the order sync queued, or an earlier resend) is queued
 * again in this transaction, through the outbox's own insert, with every
 * link in it replaced by its unit's new one (a token's hash names its
 * unit; tokens are all 43 characters, so the text keeps its length and
 * its channel's limits).  A box that never had a message (no_contact at
 * ingest) has none to renew; a new contact of another kind than the
 * message's channel (an email for an SMS) cannot take it either: both are
 * counted as unqueued, and their units marked fresh: the glue prepares a
 * new message for them as the order sync does, and ACT_QUEUE queues it.
 */

static integrations_store_rc_e
act_resend_messages(act_tx_t *t, const char *vendor,
    integrations_store_act_unit_t *units, size_t n,
    integrations_store_act_change_result_t *out)
{
    int                      queued;
    size_t                   i, j;
    integrations_store_rc_e  rc;

    for (i = 0; i < n; i++) {

        if (units[i].token[0] == '\0') {
            continue;
        }

        /* each box once: at its first unit with a new link */

        for (j = 0; j < i; j++) {
            if (units[j].token[0] != '\0'
                && strcmp(units[j].shipment_box_id,
                          units[i].shipment_box_id) == 0)
            {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        queued = 0;

        rc = act_resend_message(t, vendor, units[i].shipment_box_id, units,
                                n, &queued);
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }

        if (queued) {
            out->queued++;
            continue;
        }

        out->unqueued++;

        for (j = i; j < n; j++) {
            if (units[j].token[0] != '\0'
                && strcmp(units[j].shipment_box_id,
                          units[i].shipment_box_id) == 0)
            {
                units[j].fresh = 1;
            }
        }
    }

    return INTEGRATIONS_STORE_OK;
}


static integrations_store_rc_e
act_resend_message(act_tx_t *t, const char *vendor, const char *box,
    integrations_store_act_unit_t *units, size_t n, int *queued)
{
    int                                  found, email;
    char                                 id[INTEGRATIONS_STORE_OUTBOX_ID_MAX
                                            + 1],
                                         mask[INTEGRATIONS_STORE_ACT_CONTACT_LEN];
    size_t                               i, off, need, replaced, len[MSG_NCOLS];
    unsigned char                       *buf, *v[MSG_NCOLS];
    integrations_store_rc_e              rc;
    integrations_store_val_t             p[4], row[MSG_NCOLS];
    integrations_store_op_t             *op;
    integrations_store_act_order_t      *in;
    integrations_act_contact_t           c;
    integrations_store_outbox_item_t     item;
    integrations_store_outbox_result_t   res;

    op = t->op;
    in = &op->in.act_order;
    *queued = 0;

    act_cstr(&p[0], vendor);
    act_cstr(&p[1], box);

    found = 0;

    rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_MESSAGE_GET, p, row,
                  MSG_NCOLS, &found, NULL);
    if (rc != INTEGRATIONS_STORE_OK || !found
        || row[MSG_TEXT].type == INTEGRATIONS_STORE_NULL)
    {
        return rc;
    }

    email = (row[MSG_CHANNEL].len == 5
             && memcmp(row[MSG_CHANNEL].p, "email", 5) == 0);

    if (in->contact_kind != INTEGRATIONS_ACT_CONTACT_NONE
        && (in->contact_kind == INTEGRATIONS_ACT_CONTACT_EMAIL) != email)
    {
        return INTEGRATIONS_STORE_OK;       /* another channel: unqueued */
    }

    /* the row's bytes go with the next statement: one copy of them all */

    need = 0;

    for (i = 0; i < MSG_NCOLS; i++) {
        len[i] = (row[i].type == INTEGRATIONS_STORE_TEXT
                  || row[i].type == INTEGRATIONS_STORE_BLOB) ? row[i].len : 0;
        need += len[i] + 1;
    }

    buf = malloc(need);
    if (buf == NULL) {
        snprintf(E(op), "out of memory");
        return INTEGRATIONS_STORE_ERROR;
    }

    off = 0;

    for (i = 0; i < MSG_NCOLS; i++) {
        v[i] = NULL;

        if (row[i].type == INTEGRATIONS_STORE_TEXT
            || row[i].type == INTEGRATIONS_STORE_BLOB)
        {
            v[i] = buf + off;
            memcpy(v[i], row[i].p, len[i]);
            v[i][len[i]] = '\0';
            off += len[i] + 1;
        }
    }

    memset(&item, 0, sizeof(item));
    item.sms_type = (int) row[MSG_SMS_TYPE].i;
    item.fallback = (int) row[MSG_FALLBACK].i;

    /* the links: replaced in the text and in the template's variables */

    replaced = act_relink(t, vendor, box, units, n, v[MSG_TEXT],
                          len[MSG_TEXT], &rc);

    if (rc == INTEGRATIONS_STORE_OK && v[MSG_VARIABLES]) {
        replaced += act_relink(t, vendor, box, units, n, v[MSG_VARIABLES],
                               len[MSG_VARIABLES], &rc);
    }

    if (rc != INTEGRATIONS_STORE_OK || replaced == 0) {
        OPENSSL_cleanse(buf, need);
        free(buf);
        return rc;
    }

    snprintf(id, sizeof(id), "act:%s:%s:%lld", vendor, box,
             (long long) op->now);

#define ACT_B(f, s, l)  do { item.f.data = (const unsigned char *) (s);       \
                             item.f.len = (l); } while (0)

    ACT_B(id, id, strlen(id));
    ACT_B(scope, "", 0);
    ACT_B(idem_hash, id, strlen(id));
    ACT_B(channel, v[MSG_CHANNEL], len[MSG_CHANNEL]);
    ACT_B(provider, v[MSG_PROVIDER], len[MSG_PROVIDER]);
    ACT_B(recipient, v[MSG_RECIPIENT], len[MSG_RECIPIENT]);
    ACT_B(recipient_mask, v[MSG_MASK], len[MSG_MASK]);

    if (in->contact_kind != INTEGRATIONS_ACT_CONTACT_NONE) {
        memset(&c, 0, sizeof(c));
        c.kind = (integrations_act_contact_kind_e) in->contact_kind;
        c.len = in->contact.len < sizeof(c.value) - 1
                ? in->contact.len : sizeof(c.value) - 1;
        memcpy(c.value, in->contact.data, c.len);

        ACT_B(recipient, in->contact.data, in->contact.len);
        ACT_B(recipient_mask, mask,
              integrations_act_mask_contact(&c, mask, sizeof(mask)));
        OPENSSL_cleanse(&c, sizeof(c));
    }

    if (v[MSG_TEMPLATE]) {
        ACT_B(template_name, v[MSG_TEMPLATE], len[MSG_TEMPLATE]);
    }

    if (v[MSG_SUBJECT]) {
        ACT_B(subject, v[MSG_SUBJECT], len[MSG_SUBJECT]);
    }

    ACT_B(text, v[MSG_TEXT], len[MSG_TEXT]);

    if (v[MSG_HTML]) {
        ACT_B(html, v[MSG_HTML], len[MSG_HTML]);
    }

    if (v[MSG_VARIABLES]) {
        ACT_B(variables, v[MSG_VARIABLES], len[MSG_VARIABLES]);
    }

    if (v[MSG_TEMPLATE_ID]) {
        ACT_B(template_id, v[MSG_TEMPLATE_ID], len[MSG_TEMPLATE_ID]);
    }

#undef ACT_B

    item.send_at = op->now;
    item.expires_at = op->now + 86400000;

    memset(&res, 0, sizeof(res));

    rc = integrations_store_db_outbox_insert(t->d, t->c, &item, 1, op->now,
                                             op->deadline, &res, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        integrations_store_val_t  mp[4];

        mp[0] = p[0];
        mp[1] = p[1];
        act_cstr(&mp[2], id);
        integrations_store_db_int(&mp[3], op->now);

        rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_MESSAGE_SET, mp, NULL, 0,
                      NULL, NULL);
    }

    /* the text holds the new links in clear */

    OPENSSL_cleanse(buf, need);
    free(buf);

    if (rc == INTEGRATIONS_STORE_OK) {
        *queued = 1;
    }

    return rc;
}


/*
 * Every link of text (a token after "/" or "=", 43 characters of the
 * token alphabet, not inside a longer run) whose hash names a unit of
 * this resend is rewritten with the unit's new token, in place.  Returns
 * how many were.
 */

static size_t
act_relink(act_tx_t *t, const char *vendor, const char *box,
    integrations_store_act_unit_t *units, size_t n, unsigned char *text,
    size_t len, integrations_store_rc_e *rc)
{
    int                       found;
    char                      hash[INTEGRATIONS_ACT_HASH_HEX_LEN],
                              item[INTEGRATIONS_STORE_ACT_ID_LEN];
    size_t                    i, k, replaced;
    int64_t                   unit;
    integrations_store_val_t  p[3], row[2];

    *rc = INTEGRATIONS_STORE_OK;
    replaced = 0;

    for (i = 1; i + INTEGRATIONS_ACT_TOKEN_LEN <= len; i++) {

        if ((text[i - 1] != '/' && text[i - 1] != '=')
            || (i + INTEGRATIONS_ACT_TOKEN_LEN < len
                && act_token_char(text[i + INTEGRATIONS_ACT_TOKEN_LEN]))
            || !integrations_act_token_valid((const char *) text + i,
                                             INTEGRATIONS_ACT_TOKEN_LEN))
        {
            continue;
        }

        integrations_act_token_hash_hex((const char *) text + i,
                                        INTEGRATIONS_ACT_TOKEN_LEN, hash);

        p[0].type = INTEGRATIONS_STORE_TEXT;
        p[0].i = 0;
        p[0].p = (const unsigned char *) hash;
        p[0].len = INTEGRATIONS_ACT_HASH_HEX_LEN;
        act_cstr(&p[1], vendor);
        act_cstr(&p[2], box);

        found = 0;

        *rc = act_exec(t, INTEGRATIONS_STORE_STMT_ACT_LINK_UNIT, p, row, 2,
                       &found, NULL);
        if (*rc != INTEGRATIONS_STORE_OK) {
            return replaced;
        }

        if (!found) {
            continue;
        }

        act_copy(item, sizeof(item), &row[0]);
        unit = row[1].i;

        for (k = 0; k < n; k++) {
            if (units[k].token[0] != '\0' && units[k].unit == unit
                && strcmp(units[k].vendor_item_id, item) == 0
                && strcmp(units[k].shipment_box_id, box) == 0)
            {
                memcpy(text + i, units[k].token, INTEGRATIONS_ACT_TOKEN_LEN);
                replaced++;
                break;
            }
        }

        i += INTEGRATIONS_ACT_TOKEN_LEN - 1;
    }

    return replaced;
}


static int
act_token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
}
