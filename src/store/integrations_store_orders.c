/*
 * The durable store: the Coupang e-book flow's operations (migration 4),
 * on top of a driver.  See integrations_store.h for what each one does
 * and integrations_store_db.h for where they run.
 *
 * Results with several rows are read one row a statement (LIMIT 1 OFFSET
 * n inside one read transaction, or "the next row" after a write that
 * took the previous one away): the driver hands back one row per
 * statement.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_store_orders.h"


#define E(op)  (op)->error, sizeof((op)->error)

/* integrations_act_state_e, as stored */
#define ACT_SYNCED      0
#define ACT_LINK_SENT   2
#define ACT_REDEEMED    3
#define ACT_REVOKED     4
#define ACT_FAILED      5

#define MAX_DUE         50


static integrations_store_rc_e integrations_store_orders_ingest(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_orders_ingest_one(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op, const integrations_store_order_ingest_t *in,
    int *inserted);
static integrations_store_rc_e integrations_store_orders_due(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_orders_fulfil(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_orders_message(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_orders_apply(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op, const integrations_store_bytes_t *message_id,
    int64_t message_state, int64_t *changed);
static integrations_store_rc_e integrations_store_orders_cancelled(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op, const integrations_store_val_t *message_id,
    int64_t *changed);
static integrations_store_rc_e integrations_store_orders_sync(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_orders_return(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_orders_revoke_due(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);
static integrations_store_rc_e integrations_store_orders_one(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op, integrations_store_tx_e tx,
    integrations_store_stmt_e stmt, integrations_store_val_t *p);
static integrations_store_rc_e integrations_store_orders_event(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op, const integrations_store_bytes_t *vendor,
    const integrations_store_val_t *box, const integrations_store_val_t *item,
    int64_t unit, const char *event, int64_t state,
    const integrations_store_bytes_t *detail);
static void integrations_store_orders_copy(char *dst, size_t size,
    const integrations_store_val_t *v);
static void v_text_null(integrations_store_val_t *v,
    const integrations_store_bytes_t *b);
static void v_str(integrations_store_val_t *v, const char *s);
static void v_null(integrations_store_val_t *v);


integrations_store_rc_e
integrations_store_orders_op(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                       found;
    integrations_store_rc_e   rc;
    integrations_store_val_t  p[8], row[1];

    switch (op->kind) {

    case INTEGRATIONS_STORE_OP_ORDER_INGEST:
        return integrations_store_orders_ingest(d, c, op);

    case INTEGRATIONS_STORE_OP_CURSOR_GET:
        integrations_store_db_text(&p[0], &op->in.cursor.name);
        found = 0;

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_CURSOR_GET, p, row, 1, &found,
                     NULL, op->deadline, E(op));

        op->out.cursor.found = (rc == INTEGRATIONS_STORE_OK && found);
        op->out.cursor.value = op->out.cursor.found ? row[0].i : 0;
        return rc;

    case INTEGRATIONS_STORE_OP_CURSOR_SET:
        integrations_store_db_text(&p[0], &op->in.cursor.name);
        integrations_store_db_int(&p[1], op->in.cursor.value);
        integrations_store_db_int(&p[2], op->now);

        return integrations_store_orders_one(d, c, op,
                                             INTEGRATIONS_STORE_TX_WRITE,
                                             INTEGRATIONS_STORE_STMT_CURSOR_SET,
                                             p);

    case INTEGRATIONS_STORE_OP_ORDER_DUE:
        return integrations_store_orders_due(d, c, op);

    case INTEGRATIONS_STORE_OP_ORDER_FULFIL:
        return integrations_store_orders_fulfil(d, c, op);

    case INTEGRATIONS_STORE_OP_ORDER_MESSAGE:
        return integrations_store_orders_message(d, c, op);

    case INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC:
        return integrations_store_orders_sync(d, c, op);

    case INTEGRATIONS_STORE_OP_MARK:
        if (op->in.mark.table == 1) {
            integrations_store_db_text(&p[0], &op->in.mark.vendor_id);
            integrations_store_db_text(&p[1], &op->in.mark.mark);
            integrations_store_db_int(&p[2], op->in.mark.at);
            integrations_store_db_int(&p[3], op->now);

            return integrations_store_orders_one(d, c, op,
                       INTEGRATIONS_STORE_TX_WRITE,
                       INTEGRATIONS_STORE_STMT_INQUIRY_INSERT, p);
        }

        integrations_store_db_text(&p[0], &op->in.mark.mark);
        integrations_store_db_int(&p[1], op->now);
        integrations_store_db_int(&p[2], op->in.mark.expires_at);

        return integrations_store_orders_one(d, c, op,
                   INTEGRATIONS_STORE_TX_WRITE,
                   INTEGRATIONS_STORE_STMT_MARK_INSERT, p);

    case INTEGRATIONS_STORE_OP_RETURN_APPLY:
        return integrations_store_orders_return(d, c, op);

    case INTEGRATIONS_STORE_OP_RETURN_WITHDRAW:
        integrations_store_db_text(&p[0], &op->in.withdraw.vendor_id);
        integrations_store_db_text(&p[1], &op->in.withdraw.receipt_id);
        integrations_store_db_int(&p[2], op->now);

        return integrations_store_orders_one(d, c, op,
                                        INTEGRATIONS_STORE_TX_WRITE,
                                        INTEGRATIONS_STORE_STMT_RETURN_WITHDRAW,
                                        p);

    case INTEGRATIONS_STORE_OP_REVOKE_DUE:
        return integrations_store_orders_revoke_due(d, c, op);

    case INTEGRATIONS_STORE_OP_REVOKE_CALL:
        integrations_store_db_text(&p[0], &op->in.revoke_call.vendor_id);
        integrations_store_db_text(&p[1], &op->in.revoke_call.shipment_box_id);
        integrations_store_db_text(&p[2], &op->in.revoke_call.vendor_item_id);
        integrations_store_db_int(&p[3], op->in.revoke_call.unit);
        integrations_store_db_int(&p[4], op->in.revoke_call.state);
        integrations_store_db_int(&p[5], op->in.revoke_call.attempts);
        integrations_store_db_int(&p[6], op->in.revoke_call.next_at);
        integrations_store_db_int(&p[7], op->now);

        return integrations_store_orders_one(d, c, op,
                                        INTEGRATIONS_STORE_TX_WRITE,
                                        INTEGRATIONS_STORE_STMT_REVOKE_CALL_SET,
                                        p);

    default:
        snprintf(E(op), "unknown operation %d", (int) op->kind);
        return INTEGRATIONS_STORE_ERROR;
    }
}


/*
 * The box first: if it is there already, nothing else is written (and
 * the hook does not run), so overlapping windows, restarts and other
 * nodes process each box once.
 */

static integrations_store_rc_e
integrations_store_orders_ingest(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                                 inserted;
    size_t                              i, n;
    integrations_store_rc_e             rc;
    integrations_store_order_ingest_t  *in;

    in = &op->in.ingest;
    op->out.ingest.inserted = 0;

    rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    n = 0;

    if (in->nboxes == 0) {
        rc = integrations_store_orders_ingest_one(d, c, op, in, &inserted);
        n = (size_t) inserted;

    } else {
        for (i = 0; i < in->nboxes; i++) {
            rc = integrations_store_orders_ingest_one(d, c, op,
                                                      &in->boxes[i],
                                                      &inserted);
            if (rc != INTEGRATIONS_STORE_OK) {
                break;
            }

            if (in->inserted) {
                in->inserted[i] = inserted;
            }

            n += (size_t) inserted;
        }
    }

    if (rc != INTEGRATIONS_STORE_OK) {
        (void) d->end(c, 0, op->deadline, NULL, 0);

        for (i = 0; in->inserted && i < in->nboxes; i++) {
            in->inserted[i] = 0;
        }

        return rc;
    }

    rc = d->end(c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        op->out.ingest.inserted = (int) n;

    } else {
        for (i = 0; in->inserted && i < in->nboxes; i++) {
            in->inserted[i] = 0;
        }
    }

    return rc;
}


/* one box inside the ingest's transaction; *inserted 1 if it was new */

static integrations_store_rc_e
integrations_store_orders_ingest_one(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op,
    const integrations_store_order_ingest_t *in, int *inserted)
{
    int                                      found;
    size_t                                   i;
    integrations_store_tx_t                  tx;
    integrations_store_rc_e                  rc;
    integrations_store_val_t                 p[19], row[1];
    const integrations_store_order_unit_t   *u;
    const integrations_store_order_item_t   *it;

    *inserted = 0;
    integrations_store_db_text(&p[0], &in->vendor_id);
    integrations_store_db_text(&p[1], &in->shipment_box_id);
    integrations_store_db_text(&p[2], &in->order_id);
    integrations_store_db_int(&p[3], in->api);
    integrations_store_db_text(&p[4], &in->coupang_status);
    integrations_store_db_int(&p[5], in->state);
    integrations_store_db_int(&p[6], in->contact_kind);
    v_text_null(&p[7], &in->contact);
    v_text_null(&p[8], &in->contact_source);
    v_text_null(&p[9], &in->buyer_name);
    integrations_store_db_int(&p[10], in->ordered_at);
    integrations_store_db_int(&p[11], in->paid_at);
    integrations_store_db_int(&p[12], op->now);
    integrations_store_db_int(&p[13], (int64_t) in->nitems);
    integrations_store_db_int(&p[14], (int64_t) in->nunits);
    integrations_store_db_int(&p[15], in->unmapped);
    v_text_null(&p[16], &in->message_id);
    integrations_store_db_int(&p[17], in->message_state);
    integrations_store_db_int(&p[18], in->fulfil_state);

    if (in->ordered_at == 0) {
        v_null(&p[10]);
    }

    if (in->paid_at == 0) {
        v_null(&p[11]);
    }

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_INSERT, p, row, 1, &found,
                 NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    if (!found) {
        /* seen before: nothing to do */
        return INTEGRATIONS_STORE_OK;
    }

    for (i = 0; i < in->nitems; i++) {
        it = &in->items[i];

        integrations_store_db_text(&p[0], &in->vendor_id);
        integrations_store_db_text(&p[1], &in->shipment_box_id);
        integrations_store_db_text(&p[2], &it->vendor_item_id);
        integrations_store_db_text(&p[3], &in->order_id);
        v_text_null(&p[4], &it->product_code);
        v_text_null(&p[5], &it->item_name);
        integrations_store_db_int(&p[6], it->quantity);
        integrations_store_db_int(&p[7], it->cancel_count);
        integrations_store_db_int(&p[8], it->hold_count);
        integrations_store_db_int(&p[9], it->links);
        integrations_store_db_int(&p[10], it->state);

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_ITEM_INSERT, p, NULL, 0,
                     NULL, NULL, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }
    }

    for (i = 0; i < in->nunits; i++) {
        u = &in->units[i];

        integrations_store_db_text(&p[0], &in->vendor_id);
        integrations_store_db_text(&p[1], &in->shipment_box_id);
        integrations_store_db_text(&p[2], &u->vendor_item_id);
        integrations_store_db_int(&p[3], u->unit);
        integrations_store_db_int(&p[4], u->units);
        integrations_store_db_text(&p[5], &in->order_id);
        integrations_store_db_text(&p[6], &u->product_code);
        integrations_store_db_int(&p[7], u->state);
        v_text_null(&p[8], &u->token_hash);
        integrations_store_db_int(&p[9], op->now);

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_ACTIVATION_INSERT, p, NULL, 0,
                     NULL, NULL, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }

        if (u->token_hash.len == 0) {
            continue;
        }

        integrations_store_db_text(&p[0], &u->token_hash);
        integrations_store_db_text(&p[1], &in->vendor_id);
        integrations_store_db_text(&p[2], &in->shipment_box_id);
        integrations_store_db_text(&p[3], &u->vendor_item_id);
        integrations_store_db_int(&p[4], u->unit);
        integrations_store_db_int(&p[5], 1);
        integrations_store_db_int(&p[6], op->now);
        integrations_store_db_int(&p[7], u->expires_at);

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_LINK_INSERT, p, NULL, 0,
                     NULL, NULL, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }
    }

    integrations_store_db_text(&p[1], &in->shipment_box_id);

    rc = integrations_store_orders_event(d, c, op, &in->vendor_id, &p[1],
                                         NULL, 0, "ingest", in->state,
                                         &in->detail);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    if (in->hook) {
        tx.driver = d;
        tx.conn = c;
        tx.op = op;

        rc = (integrations_store_rc_e) in->hook(&tx, in->hook_data);
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }
    }

    *inserted = 1;

    return INTEGRATIONS_STORE_OK;
}


static integrations_store_rc_e
integrations_store_orders_due(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                              found;
    size_t                           n, limit;
    unsigned                         k;
    integrations_store_rc_e          rc;
    integrations_store_val_t         p[3], row[5], q[3], irow[1];
    integrations_store_due_order_t  *o, *orders;

    limit = (size_t) op->in.due.limit;

    if (limit == 0 || limit > MAX_DUE) {
        limit = MAX_DUE;
    }

    free(op->result);

    op->result = calloc(limit, sizeof(integrations_store_due_order_t));
    if (op->result == NULL) {
        snprintf(E(op), "out of memory");
        return INTEGRATIONS_STORE_ERROR;
    }

    orders = (integrations_store_due_order_t *) op->result;
    op->out.due.orders = orders;
    op->out.due.n = 0;

    rc = d->begin(c, INTEGRATIONS_STORE_TX_READ, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    for (n = 0; n < limit; n++) {
        integrations_store_db_text(&p[0], &op->in.due.vendor_id);
        integrations_store_db_int(&p[1], op->now);
        integrations_store_db_int(&p[2], (int64_t) n);

        found = 0;

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_DUE_NEXT, p, row, 5,
                     &found, NULL, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        if (!found) {
            break;
        }

        o = &orders[n];
        integrations_store_orders_copy(o->shipment_box_id,
                                       sizeof(o->shipment_box_id), &row[0]);
        integrations_store_orders_copy(o->order_id, sizeof(o->order_id),
                                       &row[1]);
        o->fulfil_state = row[2].i;
        o->attempts = row[3].i;
        o->check = (row[4].i != 0);

        for (k = 0; k < INTEGRATIONS_STORE_DUE_ITEMS; k++) {
            integrations_store_db_text(&q[0], &op->in.due.vendor_id);
            v_str(&q[1], o->shipment_box_id);
            integrations_store_db_int(&q[2], k);

            found = 0;

            rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_ITEM_NEXT, q, irow,
                         1, &found, NULL, op->deadline, E(op));
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }

            if (!found) {
                break;
            }

            integrations_store_orders_copy(o->items[k], sizeof(o->items[k]),
                                           &irow[0]);
        }

        o->nitems = k;
    }

    op->out.due.n = n;

    return d->end(c, 1, op->deadline, E(op));

failed:

    (void) d->end(c, 0, op->deadline, NULL, 0);

    return rc;
}


static integrations_store_rc_e
integrations_store_orders_fulfil(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int64_t                             changed;
    integrations_store_rc_e             rc;
    integrations_store_val_t            p[9];
    integrations_store_order_fulfil_t  *in;

    in = &op->in.fulfil;
    op->out.changed = 0;

    rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    integrations_store_db_text(&p[0], &in->vendor_id);
    integrations_store_db_text(&p[1], &in->shipment_box_id);
    integrations_store_db_int(&p[2], in->from_state);
    integrations_store_db_int(&p[3], in->to_state);
    integrations_store_db_int(&p[4], in->attempts);
    integrations_store_db_int(&p[5], in->next_at);
    v_text_null(&p[6], &in->error);
    v_text_null(&p[7], &in->invoice_number);
    integrations_store_db_int(&p[8], op->now);

    changed = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_FULFIL_SET, p, NULL, 0,
                 NULL, &changed, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK && changed && in->event) {
        rc = integrations_store_orders_event(d, c, op, &in->vendor_id, &p[1],
                                             NULL, 0,
                                             in->event, -1, &in->error);
    }

    if (rc != INTEGRATIONS_STORE_OK) {
        (void) d->end(c, 0, op->deadline, NULL, 0);
        return rc;
    }

    rc = d->end(c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        op->out.changed = changed;
    }

    return rc;
}


static integrations_store_rc_e
integrations_store_orders_message(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int64_t                  changed;
    integrations_store_rc_e  rc;

    changed = 0;

    rc = integrations_store_orders_apply(d, c, op,
                                         &op->in.message.message_id,
                                         op->in.message.message_state,
                                         &changed);

    op->out.changed = changed;

    return rc;
}


/* a message's outcome in its own transaction; *changed 1 if it applied */

static integrations_store_rc_e
integrations_store_orders_apply(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op,
    const integrations_store_bytes_t *message_id, int64_t message_state,
    int64_t *changed)
{
    int                         found, sent;
    char                        vendor[64], box[INTEGRATIONS_STORE_ID_LEN];
    int64_t                     state, box_state;
    integrations_store_rc_e     rc;
    integrations_store_val_t    p[5], row[3];
    integrations_store_bytes_t  vb;

    sent = (message_state == INTEGRATIONS_STORE_MSG_SENT);
    state = sent ? ACT_LINK_SENT : ACT_FAILED;
    *changed = 0;

    rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    integrations_store_db_text(&p[0], message_id);
    integrations_store_db_int(&p[1], message_state);
    integrations_store_db_int(&p[2], op->now);
    integrations_store_db_int(&p[3], state);
    integrations_store_db_int(&p[4], sent ? INTEGRATIONS_STORE_FULFIL_ACK
                  : INTEGRATIONS_STORE_FULFIL_HELD);

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_SET, p, row, 3,
                 &found, NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    if (!found) {
        /* not queued (any more): a repeated or unknown outcome */
        return d->end(c, 1, op->deadline, E(op));
    }

    integrations_store_orders_copy(vendor, sizeof(vendor), &row[0]);
    integrations_store_orders_copy(box, sizeof(box), &row[1]);
    box_state = row[2].i;           /* redeemed or revoked stay so */

    v_str(&p[0], vendor);
    v_str(&p[1], box);
    integrations_store_db_int(&p[2], state);
    integrations_store_db_int(&p[3], op->now);

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_ACTIVATIONS_SENT, p, NULL, 0, NULL,
                 NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    vb.data = (const unsigned char *) vendor;
    vb.len = strlen(vendor);

    rc = integrations_store_orders_event(d, c, op, &vb, &p[1], NULL, 0,
                                         sent ? "message_sent"
                                              : "message_failed",
                                         box_state, NULL);
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    rc = d->end(c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        *changed = 1;
    }

    return rc;

failed:

    (void) d->end(c, 0, op->deadline, NULL, 0);

    return rc;
}


/*
 * The outbox's outcomes of queued buyer messages, one at a time: each is
 * ORDER_MESSAGE's own transaction, so a message handled is not found
 * again by the next look.
 */

static integrations_store_rc_e
integrations_store_orders_sync(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                         found, sent, cancelled;
    char                        id[INTEGRATIONS_STORE_OUTBOX_ID_MAX + 1];
    int64_t                     n, limit, state, changed;
    integrations_store_rc_e     rc;
    integrations_store_val_t    p[1], row[3];
    integrations_store_bytes_t  idb;

    limit = op->in.sync.limit ? op->in.sync.limit : 100;
    op->out.sync.sent = 0;
    op->out.sync.failed = 0;
    op->out.sync.cancelled = 0;

    for (n = 0; n < limit; n++) {
        integrations_store_db_text(&p[0], &op->in.sync.vendor_id);
        found = 0;

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_DONE_NEXT, p,
                     row, 3, &found, NULL, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }

        if (!found) {
            break;
        }

        integrations_store_orders_copy(id, sizeof(id), &row[0]);
        state = row[1].i;
        cancelled = (row[2].i == 1);
        sent = (state == INTEGRATIONS_STORE_NOTIFY_SENT
                || state == INTEGRATIONS_STORE_NOTIFY_DELIVERED);

        idb.data = (const unsigned char *) id;
        idb.len = strlen(id);

        if (cancelled) {
            /* a revoke caught it being sent, and it was not sent */

            rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline,
                          E(op));
            if (rc != INTEGRATIONS_STORE_OK) {
                return rc;
            }

            integrations_store_db_text(&p[0], &idb);

            rc = integrations_store_orders_cancelled(d, c, op, &p[0],
                                                     &changed);
            if (rc != INTEGRATIONS_STORE_OK) {
                (void) d->end(c, 0, op->deadline, NULL, 0);
                return rc;
            }

            rc = d->end(c, 1, op->deadline, E(op));

        } else {
            rc = integrations_store_orders_apply(d, c, op, &idb,
                                       sent ? INTEGRATIONS_STORE_MSG_SENT
                                            : INTEGRATIONS_STORE_MSG_FAILED,
                                       &changed);
        }

        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }

        if (changed == 0) {
            break;
        }

        if (cancelled) {
            op->out.sync.cancelled++;

        } else if (sent) {
            op->out.sync.sent++;

        } else {
            op->out.sync.failed++;
        }
    }

    return INTEGRATIONS_STORE_OK;
}


int
integrations_store_orders_outbox_hook(integrations_store_tx_t *tx,
    void *data)
{
    integrations_store_orders_outbox_t  *ob = data;

    return integrations_store_db_outbox_insert(tx->driver, tx->conn,
                                               ob->items, ob->n, tx->op->now,
                                               tx->op->deadline, ob->results,
                                               tx->op->error,
                                               sizeof(tx->op->error));
}


/*
 * A receipt seen for the first time revokes, per item, up to its count
 * of units (unredeemed first); the units it took are listed for the
 * alert.  A receipt seen before changes nothing.
 */

static integrations_store_rc_e
integrations_store_orders_return(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                                  found;
    char                                 box[INTEGRATIONS_STORE_ID_LEN];
    size_t                               i, n, max;
    int64_t                              k, changed, unit;
    integrations_store_rc_e              rc;
    integrations_store_val_t             p[8], q[3], row[3];
    integrations_store_revoked_unit_t   *units, *ru;
    integrations_store_return_apply_t   *in;

    in = &op->in.ret;
    op->out.ret.is_new = 0;
    op->out.ret.known = 0;
    op->out.ret.n = 0;
    op->out.ret.units = NULL;

    max = 0;

    for (i = 0; i < in->nitems; i++) {
        if (in->items[i].count > 0 && in->items[i].count <= 100) {
            max += (size_t) in->items[i].count;
        }
    }

    free(op->result);
    op->result = calloc(max ? max : 1,
                        sizeof(integrations_store_revoked_unit_t));
    if (op->result == NULL) {
        snprintf(E(op), "out of memory");
        return INTEGRATIONS_STORE_ERROR;
    }

    units = (integrations_store_revoked_unit_t *) op->result;

    rc = d->begin(c, INTEGRATIONS_STORE_TX_ATOMIC, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    integrations_store_db_text(&p[0], &in->vendor_id);
    integrations_store_db_text(&p[1], &in->receipt_id);
    integrations_store_db_text(&p[2], &in->order_id);
    integrations_store_db_text(&p[3], &in->receipt_type);
    integrations_store_db_text(&p[4], &in->receipt_status);
    integrations_store_db_int(&p[5], in->requested_at);
    integrations_store_db_int(&p[6], op->now);

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_RETURN_INSERT, p, row, 1, &found,
                 NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    if (!found) {
        return d->end(c, 1, op->deadline, E(op));
    }

    op->out.ret.is_new = 1;
    n = 0;

    for (i = 0; i < in->nitems; i++) {

        for (k = 0; k < in->items[i].count && n < max; k++) {
            integrations_store_db_text(&p[0], &in->vendor_id);
            integrations_store_db_text(&p[1], &in->order_id);
            integrations_store_db_text(&p[2], &in->items[i].vendor_item_id);

            found = 0;

            rc = d->exec(c, INTEGRATIONS_STORE_STMT_RETURN_UNIT_NEXT, p, row,
                         3, &found, NULL, op->deadline, E(op));
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }

            if (!found) {
                break;
            }

            ru = &units[n];
            integrations_store_orders_copy(box, sizeof(box), &row[0]);
            unit = row[1].i;

            memcpy(ru->shipment_box_id, box, sizeof(box));
            ru->unit = unit;
            ru->was_state = row[2].i;
            integrations_store_db_text(&p[2], &in->items[i].vendor_item_id);
            integrations_store_orders_copy(ru->vendor_item_id,
                                           sizeof(ru->vendor_item_id),
                                           &p[2]);

            integrations_store_db_text(&p[0], &in->vendor_id);
            v_str(&p[1], box);
            integrations_store_db_text(&p[2], &in->items[i].vendor_item_id);
            integrations_store_db_int(&p[3], unit);
            integrations_store_db_int(&p[4], op->now);
            integrations_store_db_text(&p[5], &in->reason);
            integrations_store_db_text(&p[6], &in->receipt_id);
            integrations_store_db_int(&p[7], in->revoke_call_state);

            changed = 0;

            rc = d->exec(c, INTEGRATIONS_STORE_STMT_ACTIVATION_REVOKE, p,
                         NULL, 0, NULL, &changed, op->deadline, E(op));
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }

            if (changed == 0) {
                /* cannot happen under the transaction; do not loop */
                break;
            }

            rc = d->exec(c, INTEGRATIONS_STORE_STMT_LINKS_REVOKE, p, NULL, 0,
                         NULL, NULL, op->deadline, E(op));
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }

            rc = integrations_store_orders_event(d, c, op, &in->vendor_id,
                                                 &p[1], &p[2], unit,
                                                 "revoked", ACT_REVOKED,
                                                 &in->receipt_id);
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }

            integrations_store_db_text(&q[0], &in->vendor_id);
            v_str(&q[1], box);
            integrations_store_db_int(&q[2], op->now);

            rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_STATE_SET, q, NULL,
                         0, NULL, NULL, op->deadline, E(op));
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }

            rc = integrations_store_orders_cancel_message(d, c, op,
                                                          &in->vendor_id,
                                                          &q[1]);
            if (rc != INTEGRATIONS_STORE_OK) {
                goto failed;
            }

            n++;
        }
    }

    op->out.ret.known = (n > 0);

    rc = d->end(c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        op->out.ret.units = units;
        op->out.ret.n = n;

    } else {
        op->out.ret.is_new = 0;
    }

    return rc;

failed:

    (void) d->end(c, 0, op->deadline, NULL, 0);
    op->out.ret.is_new = 0;

    return rc;
}


/*
 * Inside the caller's transaction, after a box's state was set: if the
 * box is revoked whole, its buyer message is never sent after this (its
 * links are dead).  Still queued, it is given up now: the box's
 * message_state says so, and the history "message_cancelled".  Being
 * sent, it is marked: an attempt that reaches the provider stands (the
 * box's message then follows as sent), but one that would be retried, or
 * was left by a sender that died, ends cancelled in the outbox, and the
 * box follows from ORDER_MESSAGES_SYNC, as here.  Nothing otherwise, and
 * nothing a second time.
 */

integrations_store_rc_e
integrations_store_orders_cancel_message(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op,
    const integrations_store_bytes_t *vendor,
    const integrations_store_val_t *box)
{
    int                       found;
    char                      id[INTEGRATIONS_STORE_OUTBOX_ID_MAX + 1];
    int64_t                   changed;
    integrations_store_rc_e   rc;
    integrations_store_val_t  p[3], row[2];

    integrations_store_db_text(&p[0], vendor);
    p[1] = *box;
    integrations_store_db_int(&p[2], op->now);

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_CANCEL, p, row, 2,
                 &found, NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK || !found
        || row[1].i != INTEGRATIONS_STORE_NOTIFY_FAILED)
    {
        /* none, or being sent: marked, its outcome decides */
        return rc;
    }

    integrations_store_orders_copy(id, sizeof(id), &row[0]);
    v_str(&p[0], id);

    return integrations_store_orders_cancelled(d, c, op, &p[0], &changed);
}


/*
 * Inside the caller's transaction: the box whose queued message
 * message_id was cancelled follows it, once (*changed 1 then), and its
 * history says "message_cancelled"
 */

static integrations_store_rc_e
integrations_store_orders_cancelled(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op,
    const integrations_store_val_t *message_id, int64_t *changed)
{
    int                         found;
    char                        vendor[64], box[INTEGRATIONS_STORE_ID_LEN];
    int64_t                     box_state;
    integrations_store_rc_e     rc;
    integrations_store_val_t    p[2], row[3];
    integrations_store_bytes_t  vb;

    *changed = 0;

    p[0] = *message_id;
    integrations_store_db_int(&p[1], op->now);

    found = 0;

    rc = d->exec(c, INTEGRATIONS_STORE_STMT_ORDER_MESSAGE_CANCELLED, p, row,
                 3, &found, NULL, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK || !found) {
        return rc;
    }

    integrations_store_orders_copy(vendor, sizeof(vendor), &row[0]);
    integrations_store_orders_copy(box, sizeof(box), &row[1]);
    box_state = row[2].i;

    vb.data = (const unsigned char *) vendor;
    vb.len = strlen(vendor);
    v_str(&p[1], box);

    *changed = 1;

    return integrations_store_orders_event(d, c, op, &vb, &p[1], NULL, 0,
                                           "message_cancelled", box_state,
                                           NULL);
}


static integrations_store_rc_e
integrations_store_orders_revoke_due(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op)
{
    int                                    found;
    size_t                                 n, limit;
    integrations_store_rc_e                rc;
    integrations_store_val_t               p[3], row[9];
    integrations_store_revoke_due_unit_t  *u, *units;

    limit = (size_t) op->in.revoke_due.limit;

    if (limit == 0 || limit > MAX_DUE) {
        limit = MAX_DUE;
    }

    free(op->result);

    op->result = calloc(limit, sizeof(integrations_store_revoke_due_unit_t));
    if (op->result == NULL) {
        snprintf(E(op), "out of memory");
        return INTEGRATIONS_STORE_ERROR;
    }

    units = (integrations_store_revoke_due_unit_t *) op->result;
    op->out.revoke_due.units = units;
    op->out.revoke_due.n = 0;

    rc = d->begin(c, INTEGRATIONS_STORE_TX_READ, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    for (n = 0; n < limit; n++) {
        integrations_store_db_text(&p[0], &op->in.revoke_due.vendor_id);
        integrations_store_db_int(&p[1], op->now);
        integrations_store_db_int(&p[2], (int64_t) n);

        found = 0;

        rc = d->exec(c, INTEGRATIONS_STORE_STMT_REVOKE_DUE_NEXT, p, row, 9,
                     &found, NULL, op->deadline, E(op));
        if (rc != INTEGRATIONS_STORE_OK) {
            (void) d->end(c, 0, op->deadline, NULL, 0);
            return rc;
        }

        if (!found) {
            break;
        }

        u = &units[n];
        integrations_store_orders_copy(u->shipment_box_id,
                                       sizeof(u->shipment_box_id), &row[0]);
        integrations_store_orders_copy(u->order_id, sizeof(u->order_id),
                                       &row[1]);
        integrations_store_orders_copy(u->vendor_item_id,
                                       sizeof(u->vendor_item_id), &row[2]);
        integrations_store_orders_copy(u->product_code,
                                       sizeof(u->product_code), &row[3]);
        integrations_store_orders_copy(u->receipt_id, sizeof(u->receipt_id),
                                       &row[4]);
        integrations_store_orders_copy(u->reason, sizeof(u->reason), &row[5]);
        u->unit = row[6].i;
        u->units = row[7].i;
        u->attempts = row[8].i;
    }

    op->out.revoke_due.n = n;

    return d->end(c, 1, op->deadline, E(op));
}


/* one statement in its own transaction; out.changed its row count */

static integrations_store_rc_e
integrations_store_orders_one(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op,
    integrations_store_tx_e tx, integrations_store_stmt_e stmt,
    integrations_store_val_t *p)
{
    int64_t                  changed;
    integrations_store_rc_e  rc;

    op->out.changed = 0;

    rc = d->begin(c, tx, op->deadline, E(op));
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    changed = 0;

    rc = d->exec(c, stmt, p, NULL, 0, NULL, &changed, op->deadline, E(op));

    if (rc != INTEGRATIONS_STORE_OK) {
        (void) d->end(c, 0, op->deadline, NULL, 0);
        return rc;
    }

    rc = d->end(c, 1, op->deadline, E(op));

    if (rc == INTEGRATIONS_STORE_OK) {
        op->out.changed = changed;
    }

    return rc;
}


/* a row of history; state -1: none; detail never holds buyer data */

static integrations_store_rc_e
integrations_store_orders_event(const integrations_store_driver_t *d,
    integrations_store_conn_t *c, integrations_store_op_t *op,
    const integrations_store_bytes_t *vendor,
    const integrations_store_val_t *box, const integrations_store_val_t *item,
    int64_t unit, const char *event, int64_t state,
    const integrations_store_bytes_t *detail)
{
    integrations_store_val_t  e[8];

    integrations_store_db_text(&e[0], vendor);
    e[1] = *box;

    if (item) {
        e[2] = *item;
        integrations_store_db_int(&e[3], unit);

    } else {
        v_null(&e[2]);
        v_null(&e[3]);
    }

    integrations_store_db_int(&e[4], op->now);
    v_str(&e[5], event);

    if (state >= 0) {
        integrations_store_db_int(&e[6], state);

    } else {
        v_null(&e[6]);
    }

    if (detail) {
        v_text_null(&e[7], detail);

    } else {
        v_null(&e[7]);
    }

    return d->exec(c, INTEGRATIONS_STORE_STMT_EVENT_INSERT, e, NULL, 0, NULL,
                   NULL, op->deadline, E(op));
}


/* a column's text into a fixed buffer (ids: digits, short) */

static void
integrations_store_orders_copy(char *dst, size_t size,
    const integrations_store_val_t *v)
{
    size_t  n;

    n = (v->type == INTEGRATIONS_STORE_NULL || v->p == NULL) ? 0 : v->len;

    if (n >= size) {
        n = size - 1;
    }

    if (n) {
        memcpy(dst, v->p, n);
    }

    dst[n] = '\0';
}


/* text, or NULL when empty */

static void
v_text_null(integrations_store_val_t *v, const integrations_store_bytes_t *b)
{
    if (b->len == 0) {
        v_null(v);
        return;
    }

    integrations_store_db_text(v, b);
}


static void
v_str(integrations_store_val_t *v, const char *s)
{
    v->type = INTEGRATIONS_STORE_TEXT;
    v->i = 0;
    v->p = (const unsigned char *) s;
    v->len = strlen(s);
}


static void
v_null(integrations_store_val_t *v)
{
    v->type = INTEGRATIONS_STORE_NULL;
    v->i = 0;
    v->p = NULL;
    v->len = 0;
}
