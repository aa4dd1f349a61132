/*
 * The durable store: the Coupang e-book flow's operations (migration 4:
 * ORDER_INGEST, CURSOR_*, ORDER_DUE/FULFIL/MESSAGE, MARK, RETURN_*,
 * REVOKE_*), run by integrations_store_db_run() like every operation.
 * No nginx headers.
 */

#ifndef INTEGRATIONS_STORE_ORDERS_H
#define INTEGRATIONS_STORE_ORDERS_H

#include "integrations_store_db.h"


integrations_store_rc_e integrations_store_orders_op(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op);

/*
 * An ORDER_INGEST hook (integrations_store_tx_hook_pt) that inserts the
 * outbox items of data (an integrations_store_orders_outbox_t) in the
 * ingest's transaction: the buyer's message, and alerts, commit with the
 * order or not at all.
 */
typedef struct {
    const integrations_store_outbox_item_t  *items;
    size_t                                   n;
    integrations_store_outbox_result_t      *results;
} integrations_store_orders_outbox_t;

int integrations_store_orders_outbox_hook(integrations_store_tx_t *tx,
    void *data);

/*
 * Inside a transaction that revoked units of a box (a return, an admin's
 * revoke): once the box is revoked whole, its buyer message still queued
 * in the outbox is given up (ORDER_MESSAGE_CANCEL; the box's
 * message_state cancelled; the history "message_cancelled").  box is the
 * shipmentBoxId as a statement parameter.
 */
integrations_store_rc_e integrations_store_orders_cancel_message(
    const integrations_store_driver_t *d, integrations_store_conn_t *c,
    integrations_store_op_t *op, const integrations_store_bytes_t *vendor,
    const integrations_store_val_t *box);

#endif /* INTEGRATIONS_STORE_ORDERS_H */
