/*
 * The Coupang e-book flow's store operations (migration 4) against a
 * real database, without nginx: SQLite in a temporary directory, and
 * PostgreSQL as well when STORE_TEST_PG names one.  Ingest is idempotent
 * (once per box, also from threads racing on one box), a hook runs inside
 * the ingest transaction and its failure undoes everything, cursors only
 * move forward, message outcomes and fulfil steps apply once, marks do
 * not repeat until they expire, a return revokes unredeemed units first
 * and only once, a withdrawal is noticed once.
 */

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "integrations_store.h"
#include "integrations_store_db.h"
#include "integrations_store_orders.h"


static const char  *backend;
static const char  *dburl;
static char         sqlite_path[512];


#define B(s)  ((integrations_store_bytes_t) { (const unsigned char *) (s),     \
                                              strlen(s) })


static void
t_conf(integrations_store_conf_t *conf, const char *url)
{
    const char  *err;

    memset(conf, 0, sizeof(integrations_store_conf_t));

    if (integrations_store_url_parse((const unsigned char *) url,
                                     strlen(url), &conf->url, &err)
        != 0)
    {
        printf("Bail out! bad URL %s: %s\n", url, err);
        exit(1);
    }

    conf->timeout = 5000;
    conf->connect_timeout = 2000;
    conf->pool = 4;
}


static void
t_op(integrations_store_op_t *op, integrations_store_kind_e kind,
    int64_t now)
{
    integrations_store_op_clear(op);
    memset(op, 0, sizeof(integrations_store_op_t));
    op->kind = kind;
    op->now = now;
    op->deadline = integrations_store_clock() + 5000;
}


/* one number from SQL, through the backend's own client library */

static long long
t_value(const char *sql)
{
    long long      v;
    sqlite3       *db;
    sqlite3_stmt  *st;
    PGconn        *pg;
    PGresult      *res;

    v = -1;

    if (strcmp(backend, "sqlite") == 0) {
        if (sqlite3_open(sqlite_path, &db) != SQLITE_OK) {
            return -1;
        }

        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW) {
                v = sqlite3_column_int64(st, 0);
            }

            sqlite3_finalize(st);
        }

        sqlite3_close(db);
        return v;
    }

    pg = PQconnectdb(dburl);

    if (PQstatus(pg) == CONNECTION_OK) {
        res = PQexec(pg, sql);

        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
            v = atoll(PQgetvalue(res, 0, 0));
        }

        PQclear(res);
    }

    PQfinish(pg);
    return v;
}


/* SQLite: 1 if the plan of sql names index, 0 if not, -1 on error */

static int
t_plan_uses(const char *sql, const char *index)
{
    int            uses;
    char           q[1024];
    sqlite3       *db;
    sqlite3_stmt  *st;
    const char    *detail;

    if (sqlite3_open(sqlite_path, &db) != SQLITE_OK) {
        return -1;
    }

    snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
    uses = -1;

    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK) {
        uses = 0;

        while (sqlite3_step(st) == SQLITE_ROW) {
            detail = (const char *) sqlite3_column_text(st, 3);

            if (detail && strstr(detail, index)) {
                uses = 1;
            }
        }

        sqlite3_finalize(st);
    }

    sqlite3_close(db);
    return uses;
}


static void
t_exec(const char *sql)
{
    sqlite3   *db;
    PGconn    *pg;
    PGresult  *res;

    if (strcmp(backend, "sqlite") == 0) {
        if (sqlite3_open(sqlite_path, &db) == SQLITE_OK) {
            sqlite3_exec(db, sql, NULL, NULL, NULL);
        }

        sqlite3_close(db);
        return;
    }

    pg = PQconnectdb(dburl);
    PQclear(PQexec(pg, "SET client_min_messages TO warning"));
    res = PQexec(pg, sql);
    PQclear(res);
    PQfinish(pg);
}


/* ---- an order: box 642538971006401429, two items, three units ---------- */

static integrations_store_order_item_t  t_items[2];
static integrations_store_order_unit_t  t_units[3];
static char                              t_hash[3][65];
static char                              t_msg[64];
static char                              t_order[32];


static void
t_ingest(integrations_store_op_t *op, const char *box, int64_t now)
{
    int  i;

    t_op(op, INTEGRATIONS_STORE_OP_ORDER_INGEST, now);

    memset(t_items, 0, sizeof(t_items));
    memset(t_units, 0, sizeof(t_units));

    t_items[0].vendor_item_id = B("3242596358");
    t_items[0].product_code = B("EBOOK-001");
    t_items[0].item_name = B("[전자책] 예제 도서, PDF");
    t_items[0].quantity = 2;
    t_items[0].links = 2;
    t_items[1].vendor_item_id = B("3242596359");
    t_items[1].product_code = B("EBOOK-002");
    t_items[1].quantity = 1;
    t_items[1].links = 1;

    for (i = 0; i < 3; i++) {
        snprintf(t_hash[i], sizeof(t_hash[i]), "%s%02d%048d", box, i, 0);
        t_hash[i][64] = '\0';
        t_units[i].vendor_item_id = (i < 2) ? B("3242596358")
                                            : B("3242596359");
        t_units[i].product_code = (i < 2) ? B("EBOOK-001") : B("EBOOK-002");
        t_units[i].unit = (i < 2) ? i + 1 : 1;
        t_units[i].units = (i < 2) ? 2 : 1;
        t_units[i].token_hash.data = (const unsigned char *) t_hash[i];
        t_units[i].token_hash.len = 64;
        t_units[i].expires_at = now + 30LL * 86400 * 1000;
    }

    op->in.ingest.vendor_id = B("A00012345");
    op->in.ingest.shipment_box_id.data = (const unsigned char *) box;
    op->in.ingest.shipment_box_id.len = strlen(box);
    /* the racers' box is another order */
    snprintf(t_order, sizeof(t_order), "%s",
             strcmp(box, "642538971006409999") == 0 ? "22000009549999"
                                                    : "22000009546234");
    snprintf(t_msg, sizeof(t_msg), "coupang:A00012345:%s", box);
    op->in.ingest.order_id = B(t_order);
    op->in.ingest.coupang_status = B("ACCEPT");
    op->in.ingest.contact = B("05031235464");
    op->in.ingest.contact_source = B("orderer");
    op->in.ingest.buyer_name = B("신*희");
    op->in.ingest.message_id = B(t_msg);
    op->in.ingest.detail = B("2 items, 3 links");
    op->in.ingest.api = 4;
    op->in.ingest.contact_kind = 1;
    op->in.ingest.ordered_at = now - 60000;
    op->in.ingest.message_state = INTEGRATIONS_STORE_MSG_QUEUED;
    op->in.ingest.fulfil_state = INTEGRATIONS_STORE_FULFIL_WAIT;
    op->in.ingest.items = t_items;
    op->in.ingest.nitems = 2;
    op->in.ingest.units = t_units;
    op->in.ingest.nunits = 3;
}


/* a box of its own order, with its buyer message queued in the outbox */

static void
t_box_outbox(integrations_store_pool_t *pool,
    integrations_store_outbox_item_t *item, integrations_store_orders_outbox_t *ob,
    const char *box, int64_t now)
{
    static char                  id[64], order[32];
    integrations_store_op_t      op;

    snprintf(id, sizeof(id), "coupang:A00012345:%s", box);
    snprintf(order, sizeof(order), "2200000954%s", box + strlen(box) - 4);

    item->id = B(id);
    item->send_at = now;
    item->expires_at = now + 86400000;

    memset(&op, 0, sizeof(op));
    t_ingest(&op, box, now);
    op.in.ingest.order_id = B(order);
    op.in.ingest.message_id = B(id);
    op.in.ingest.hook = integrations_store_orders_outbox_hook;
    op.in.ingest.hook_data = ob;
    integrations_store_db_run(pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ingest.inserted == 1,
       "[%s] box %s with its message queued (%s)", backend, box, op.error);
    integrations_store_op_clear(&op);
}


/* a return of every unit of t_ingest()'s items */

static void
t_return_all(integrations_store_pool_t *pool, integrations_store_op_t *op,
    const char *receipt, const char *order, int64_t now)
{
    static integrations_store_return_item_t  ri[2];

    ri[0].vendor_item_id = B("3242596358");
    ri[0].count = 2;
    ri[1].vendor_item_id = B("3242596359");
    ri[1].count = 1;

    t_op(op, INTEGRATIONS_STORE_OP_RETURN_APPLY, now);
    op->in.ret.vendor_id = B("A00012345");
    op->in.ret.receipt_id.data = (const unsigned char *) receipt;
    op->in.ret.receipt_id.len = strlen(receipt);
    op->in.ret.order_id.data = (const unsigned char *) order;
    op->in.ret.order_id.len = strlen(order);
    op->in.ret.receipt_type = B("RETURN");
    op->in.ret.receipt_status = B("REQUEST_COUPANG_CHECK");
    op->in.ret.reason = B("return");
    op->in.ret.revoke_call_state = INTEGRATIONS_STORE_REVOKE_DUE;
    op->in.ret.items = ri;
    op->in.ret.nitems = 2;
    integrations_store_db_run(pool, op);
}


typedef struct {
    int  calls;
    int  fail;
} t_hook_t;


static int
t_hook(integrations_store_tx_t *tx, void *data)
{
    t_hook_t  *h = data;

    (void) tx;
    h->calls++;

    return h->fail ? INTEGRATIONS_STORE_ERROR : INTEGRATIONS_STORE_OK;
}


typedef struct {
    integrations_store_pool_t  *pool;
    integrations_store_op_t     op;     /* prepared before the threads */
    int                         inserted;
    integrations_store_rc_e     rc;
} t_racer_t;


static void *
t_racer(void *data)
{
    t_racer_t  *r = data;

    integrations_store_db_run(r->pool, &r->op);
    r->rc = r->op.rc;
    r->inserted = r->op.out.ingest.inserted;
    integrations_store_op_clear(&r->op);

    return NULL;
}


static void
run_suite(const char *url)
{
    int                        i, inserted;
    char                       q[256];
    t_hook_t                   hook;
    pthread_t                  th[4];
    t_racer_t                  racer[4];
    integrations_store_op_t    op;
    integrations_store_conf_t  conf;
    integrations_store_pool_t  pool;
    integrations_store_return_item_t  ri[1];

    memset(&op, 0, sizeof(op));
    dburl = url;

    t_exec("DROP TABLE IF EXISTS integrations_orders;"
           "DROP TABLE IF EXISTS integrations_order_items;"
           "DROP TABLE IF EXISTS integrations_activations;"
           "DROP TABLE IF EXISTS integrations_activation_links;"
           "DROP TABLE IF EXISTS integrations_order_events;"
           "DROP TABLE IF EXISTS integrations_coupang_returns;"
           "DROP TABLE IF EXISTS integrations_coupang_inquiries;"
           "DROP TABLE IF EXISTS integrations_alert_marks;"
           "DROP TABLE IF EXISTS integrations_job_cursors;"
           "DROP TABLE IF EXISTS integrations_notification_attempts;"
           "DROP TABLE IF EXISTS integrations_notifications;"
           "DROP TABLE IF EXISTS integrations_idempotency;"
           "DROP TABLE IF EXISTS integrations_leases;"
           "DROP TABLE IF EXISTS integrations_health;"
           "DROP TABLE IF EXISTS integrations_schema");

    t_conf(&conf, url);
    ok(integrations_store_pool_init(&pool, &conf) == 0, "[%s] pool", backend);

    /* ingest: once */

    memset(&hook, 0, sizeof(hook));
    t_ingest(&op, "642538971006401429", 1000);
    op.in.ingest.hook = t_hook;
    op.in.ingest.hook_data = &hook;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ingest.inserted == 1,
       "[%s] a new box is ingested (%s)", backend, op.error);
    is_int(hook.calls, 1, "[%s]   its hook ran in the transaction", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_order_items"), 2,
           "[%s]   two items", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_activations"), 3,
           "[%s]   three units", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_activation_links"), 3,
           "[%s]   three links", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_order_events"), 1,
           "[%s]   one event", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006401429'"
                   " AND order_id = '22000009546234'"), 1,
           "[%s]   the 18-digit id kept as written", backend);

    t_ingest(&op, "642538971006401429", 2000);
    op.in.ingest.hook = t_hook;
    op.in.ingest.hook_data = &hook;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ingest.inserted == 0,
       "[%s] the same box again: nothing", backend);
    is_int(hook.calls, 1, "[%s]   the hook did not run", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_activations"), 3,
           "[%s]   no unit added", backend);

    /* a failing hook undoes the box */

    hook.fail = 1;
    t_ingest(&op, "642538971006401430", 2000);
    op.in.ingest.hook = t_hook;
    op.in.ingest.hook_data = &hook;
    integrations_store_db_run(&pool, &op);
    ok(op.rc != INTEGRATIONS_STORE_OK && op.out.ingest.inserted == 0,
       "[%s] a failing hook fails the ingest", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006401430'"), 0,
           "[%s]   and rolls the box back", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_activations"), 3,
           "[%s]   with its units", backend);

    /* four threads race on one box: one wins */

    memset(racer, 0, sizeof(racer));

    for (i = 0; i < 4; i++) {
        racer[i].pool = &pool;
        t_ingest(&racer[i].op, "642538971006409999", 5000);
    }

    for (i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, t_racer, &racer[i]);
    }

    inserted = 0;

    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        inserted += racer[i].inserted;
        ok(racer[i].rc == INTEGRATIONS_STORE_OK, "[%s] racer %d: %s", backend,
           i, integrations_store_rc_name(racer[i].rc));
    }

    is_int(inserted, 1, "[%s] four racers on one box: one ingests it",
           backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_activations WHERE"
                   " shipment_box_id = '642538971006409999'"), 3,
           "[%s]   its units once", backend);

    /* a batch in one transaction: a box seen before among new ones */

    {
    int                                 flags[3];
    integrations_store_order_ingest_t   boxes[3];
    integrations_store_order_unit_t     nolink[3];
    static const char                  *ids[3] = {
        "642538971006401429", "642538971006407001", "642538971006407002"
    };

    for (i = 0; i < 3; i++) {
        t_ingest(&op, ids[i], 6000);
        boxes[i] = op.in.ingest;
        boxes[i].shipment_box_id.data = (const unsigned char *) ids[i];
        boxes[i].shipment_box_id.len = strlen(ids[i]);
        boxes[i].message_id.len = 0;
        boxes[i].order_id = B("22000009547000");
    }

    memcpy(nolink, t_units, sizeof(nolink));
    for (i = 0; i < 3; i++) {
        nolink[i].token_hash.len = 0;
    }
    for (i = 0; i < 3; i++) {
        boxes[i].units = nolink;
    }

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_INGEST, 6000);
    op.in.ingest.boxes = boxes;
    op.in.ingest.nboxes = 3;
    op.in.ingest.inserted = flags;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ingest.inserted == 2,
       "[%s] a batch of three, one seen before: two ingested (%s)", backend,
       op.error);
    ok(flags[0] == 0 && flags[1] == 1 && flags[2] == 1,
       "[%s]   each box says whether it was new", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_activations WHERE"
                   " order_id = '22000009547000'"), 6,
           "[%s]   the new boxes' units", backend);
    }

    /* cursors move forward only */

    t_op(&op, INTEGRATIONS_STORE_OP_CURSOR_GET, 1000);
    op.in.cursor.name = B("coupang_orders:A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && !op.out.cursor.found,
       "[%s] no cursor yet", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_CURSOR_SET, 1000);
    op.in.cursor.name = B("coupang_orders:A00012345");
    op.in.cursor.value = 500;
    integrations_store_db_run(&pool, &op);
    t_op(&op, INTEGRATIONS_STORE_OP_CURSOR_SET, 1000);
    op.in.cursor.name = B("coupang_orders:A00012345");
    op.in.cursor.value = 400;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 0,
       "[%s] a cursor does not move back", backend);
    t_op(&op, INTEGRATIONS_STORE_OP_CURSOR_GET, 1000);
    op.in.cursor.name = B("coupang_orders:A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.out.cursor.found && op.out.cursor.value == 500,
       "[%s]   it stays at 500", backend);

    /* nothing is due before the message is sent */

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_DUE, 10000);
    op.in.due.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.due.n == 0,
       "[%s] nothing due while the message is queued", backend);

    /* the message's outcome, once */

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGE, 3000);
    op.in.message.message_id = B("coupang:A00012345:642538971006401429");
    op.in.message.message_state = INTEGRATIONS_STORE_MSG_SENT;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 1,
       "[%s] the message sent", backend);
    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGE, 3100);
    op.in.message.message_id = B("coupang:A00012345:642538971006401429");
    op.in.message.message_state = INTEGRATIONS_STORE_MSG_SENT;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 0,
       "[%s]   told twice: nothing more", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_activations WHERE"
                   " shipment_box_id = '642538971006401429' AND state = 2"), 3,
           "[%s]   its units are link_sent", backend);
    is_int(t_value("SELECT sent_at FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006401429'"), 3000,
           "[%s]   sent_at recorded", backend);

    /* due: the box with both items */

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_DUE, 10000);
    op.in.due.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.due.n == 1,
       "[%s] one box due (%s)", backend, op.error);

    if (op.out.due.n == 1) {
        is_str(op.out.due.orders[0].shipment_box_id, "642538971006401429",
               "[%s]   its id", backend);
        is_str(op.out.due.orders[0].order_id, "22000009546234",
               "[%s]   its order", backend);
        is_int(op.out.due.orders[0].fulfil_state,
               INTEGRATIONS_STORE_FULFIL_ACK, "[%s]   to acknowledge",
               backend);
        is_int(op.out.due.orders[0].nitems, 2, "[%s]   two items", backend);
        is_str(op.out.due.orders[0].items[1], "3242596359",
               "[%s]   the second item", backend);
    }

    /* a fulfil step applies from its state only */

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_FULFIL, 11000);
    op.in.fulfil.vendor_id = B("A00012345");
    op.in.fulfil.shipment_box_id = B("642538971006401429");
    op.in.fulfil.event = "acknowledged";
    op.in.fulfil.from_state = INTEGRATIONS_STORE_FULFIL_ACK;
    op.in.fulfil.to_state = INTEGRATIONS_STORE_FULFIL_INVOICE;
    op.in.fulfil.next_at = 11000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 1,
       "[%s] acknowledged", backend);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 0,
       "[%s]   a repeated outcome changes nothing", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_FULFIL, 12000);
    op.in.fulfil.vendor_id = B("A00012345");
    op.in.fulfil.shipment_box_id = B("642538971006401429");
    op.in.fulfil.event = "invoiced";
    op.in.fulfil.invoice_number = B("642538971006401429");
    op.in.fulfil.from_state = INTEGRATIONS_STORE_FULFIL_INVOICE;
    op.in.fulfil.to_state = INTEGRATIONS_STORE_FULFIL_DONE;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 1,
       "[%s] invoiced", backend);
    is_int(t_value("SELECT acked_at + invoiced_at FROM integrations_orders"
                   " WHERE shipment_box_id = '642538971006401429'"), 23000,
           "[%s]   both times recorded", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                   " shipment_box_id = '642538971006401429'"), 4,
           "[%s]   four events", backend);

    /* marks */

    t_op(&op, INTEGRATIONS_STORE_OP_MARK, 1000);
    op.in.mark.mark = B("key_expiry:2025-09-01");
    op.in.mark.expires_at = 2000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 1,
       "[%s] a new mark", backend);
    t_op(&op, INTEGRATIONS_STORE_OP_MARK, 1500);
    op.in.mark.mark = B("key_expiry:2025-09-01");
    op.in.mark.expires_at = 2500;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 0,
       "[%s]   not again while it lasts", backend);
    t_op(&op, INTEGRATIONS_STORE_OP_MARK, 2000);
    op.in.mark.mark = B("key_expiry:2025-09-01");
    op.in.mark.expires_at = 3000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 1,
       "[%s]   again once it expired", backend);

    for (i = 0; i < 2; i++) {
        t_op(&op, INTEGRATIONS_STORE_OP_MARK, 1000);
        op.in.mark.table = 1;
        op.in.mark.vendor_id = B("A00012345");
        op.in.mark.mark = B("online:123");
        integrations_store_db_run(&pool, &op);
        ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == (i == 0),
           "[%s] an inquiry reported %s", backend,
           i ? "again: not new" : "first: new");
    }

    /* a return of one unit of the first item: the unredeemed one goes */

    t_exec("UPDATE integrations_activations SET state = 3 WHERE"
           " shipment_box_id = '642538971006401429' AND unit = 1"
           " AND vendor_item_id = '3242596358'");

    ri[0].vendor_item_id = B("3242596358");
    ri[0].count = 1;

    for (i = 0; i < 2; i++) {
        t_op(&op, INTEGRATIONS_STORE_OP_RETURN_APPLY, 20000);
        op.in.ret.vendor_id = B("A00012345");
        op.in.ret.receipt_id = B("365937");
        op.in.ret.order_id = B("22000009546234");
        op.in.ret.receipt_type = B("RETURN");
        op.in.ret.receipt_status = B("RETURNS_UNCHECKED");
        op.in.ret.reason = B("return");
        op.in.ret.revoke_call_state = INTEGRATIONS_STORE_REVOKE_DUE;
        op.in.ret.items = ri;
        op.in.ret.nitems = 1;
        integrations_store_db_run(&pool, &op);

        if (i == 0) {
            ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ret.is_new
               && op.out.ret.n == 1, "[%s] a return revokes one unit (%s)",
               backend, op.error);
            ok(op.out.ret.n == 1 && op.out.ret.units[0].unit == 2
               && op.out.ret.units[0].was_state == 2,
               "[%s]   the unredeemed one", backend);

        } else {
            ok(op.rc == INTEGRATIONS_STORE_OK && !op.out.ret.is_new
               && op.out.ret.n == 0, "[%s]   seen again: nothing", backend);
        }
    }

    snprintf(q, sizeof(q), "SELECT COUNT(*) FROM integrations_activation_links"
             " WHERE revoked_at = 20000");
    is_int(t_value(q), 1, "[%s]   its link revoked", backend);
    is_int(t_value("SELECT state FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006401429'"), 2,
           "[%s]   the order is not all revoked", backend);

    /* the rest of it: the redeemed unit and the second item */

    ri[0].count = 5;
    t_op(&op, INTEGRATIONS_STORE_OP_RETURN_APPLY, 21000);
    op.in.ret.vendor_id = B("A00012345");
    op.in.ret.receipt_id = B("365938");
    op.in.ret.order_id = B("22000009546234");
    op.in.ret.receipt_type = B("RETURN");
    op.in.ret.receipt_status = B("RETURNS_UNCHECKED");
    op.in.ret.reason = B("return");
    op.in.ret.revoke_call_state = INTEGRATIONS_STORE_REVOKE_DUE;
    op.in.ret.items = ri;
    op.in.ret.nitems = 1;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ret.n == 1
       && op.out.ret.units[0].was_state == 3,
       "[%s] a second return takes the redeemed unit", backend);

    ri[0].vendor_item_id = B("3242596359");
    ri[0].count = 1;
    t_op(&op, INTEGRATIONS_STORE_OP_RETURN_APPLY, 22000);
    op.in.ret.vendor_id = B("A00012345");
    op.in.ret.receipt_id = B("365939");
    op.in.ret.order_id = B("22000009546234");
    op.in.ret.receipt_type = B("CANCEL");
    op.in.ret.receipt_status = B("RELEASE_STOP_UNCHECKED");
    op.in.ret.reason = B("cancel");
    op.in.ret.items = ri;
    op.in.ret.nitems = 1;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ret.n == 1,
       "[%s] a cancel takes the last unit", backend);
    is_int(t_value("SELECT state FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006401429'"), 4,
           "[%s]   the order is revoked", backend);

    /* revoke calls due: the two returns' units (the cancel's has none) */

    t_op(&op, INTEGRATIONS_STORE_OP_REVOKE_DUE, 30000);
    op.in.revoke_due.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.revoke_due.n == 2,
       "[%s] two activation_revoke calls due (%s)", backend, op.error);

    if (op.out.revoke_due.n == 2) {
        is_str(op.out.revoke_due.units[0].receipt_id, "365937",
               "[%s]   the first return's", backend);
        is_str(op.out.revoke_due.units[0].product_code, "EBOOK-001",
               "[%s]   with its product", backend);
        is_str(op.out.revoke_due.units[0].reason, "return",
               "[%s]   and reason", backend);
    }

    t_op(&op, INTEGRATIONS_STORE_OP_REVOKE_CALL, 30000);
    op.in.revoke_call.vendor_id = B("A00012345");
    op.in.revoke_call.shipment_box_id = B("642538971006401429");
    op.in.revoke_call.vendor_item_id = B("3242596358");
    op.in.revoke_call.unit = 2;
    op.in.revoke_call.state = INTEGRATIONS_STORE_REVOKE_DONE;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 1,
       "[%s] a revoke call done", backend);
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == 0,
       "[%s]   twice: nothing", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_REVOKE_DUE, 30000);
    op.in.revoke_due.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    is_int(op.out.revoke_due.n, 1, "[%s]   one left", backend);

    /* the transactional outbox: the buyer's message with the box */

    {
    integrations_store_outbox_item_t    item;
    integrations_store_outbox_result_t  res;
    integrations_store_orders_outbox_t  ob;

    memset(&item, 0, sizeof(item));
    item.id = B("coupang:A00012345:642538971006405555");
    item.scope = B("");
    item.idem_hash = B("h");
    item.channel = B("sms");
    item.provider = B("sms");
    item.recipient = B("05031235464");
    item.recipient_mask = B("0503****5464");
    item.text = B("link");
    item.send_at = 50000;
    item.expires_at = 50000 + 86400000;
    ob.items = &item;
    ob.n = 1;
    ob.results = &res;

    t_ingest(&op, "642538971006405555", 50000);
    op.in.ingest.hook = integrations_store_orders_outbox_hook;
    op.in.ingest.hook_data = &ob;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ingest.inserted == 1,
       "[%s] a box with its message in the outbox (%s)", backend, op.error);
    is_int(t_value("SELECT COUNT(*) FROM integrations_notifications WHERE"
                   " id = 'coupang:A00012345:642538971006405555'"), 1,
           "[%s]   the notification row", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 51000);
    op.in.sync.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.sync.sent == 0
       && op.out.sync.failed == 0, "[%s]   queued: nothing to sync",
       backend);

    t_exec("UPDATE integrations_notifications SET state = 2 WHERE"
           " id = 'coupang:A00012345:642538971006405555'");

    for (i = 0; i < 2; i++) {
        t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 52000);
        op.in.sync.vendor_id = B("A00012345");
        integrations_store_db_run(&pool, &op);
        ok(op.rc == INTEGRATIONS_STORE_OK && op.out.sync.sent == (i == 0),
           "[%s]   sent by the outbox: %s", backend,
           i ? "once only" : "synced");
    }

    is_int(t_value("SELECT fulfil_state FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006405555'"),
           INTEGRATIONS_STORE_FULFIL_ACK, "[%s]   its acknowledgement due",
           backend);

    /*
     * A message's outcome never takes a box back: the buyer redeemed
     * before the outbox's answer was synced (redeemed stays), a return
     * revoked the box while its message was being sent (revoked stays)
     */

    t_box_outbox(&pool, &item, &ob, "642538971006407777", 60000);

    for (i = 0; i < 3; i++) {
        t_op(&op, INTEGRATIONS_STORE_OP_ACT_REDEEM, 61000);
        op.in.act_token.token_hash.data = (const unsigned char *) t_hash[i];
        op.in.act_token.token_hash.len = 64;
        op.in.act_token.owner = 7000 + i;
        op.in.act_token.lock_ms = 60000;
        integrations_store_db_run(&pool, &op);
        ok(op.rc == INTEGRATIONS_STORE_OK && op.out.act_link.won,
           "[%s] the buyer redeems unit %d before the outcome (%s)", backend,
           i, op.error);

        t_op(&op, INTEGRATIONS_STORE_OP_ACT_GRANT_FINISH, 61500);
        op.in.act_grant.vendor_id = B("A00012345");
        op.in.act_grant.shipment_box_id = B("642538971006407777");
        op.in.act_grant.vendor_item_id = (i < 2) ? B("3242596358")
                                                 : B("3242596359");
        op.in.act_grant.unit = (i < 2) ? i + 1 : 1;
        op.in.act_grant.owner = 7000 + i;
        op.in.act_grant.granted = 1;
        op.in.act_grant.attempts = 1;
        integrations_store_db_run(&pool, &op);
        ok(op.rc == INTEGRATIONS_STORE_OK && op.out.act_grant.applied,
           "[%s]   granted (%s)", backend, op.error);
    }

    is_int(t_value("SELECT state FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006407777'"), 3,
           "[%s]   the box is redeemed", backend);
    t_exec("UPDATE integrations_notifications SET state = 2 WHERE"
           " id = 'coupang:A00012345:642538971006407777'");

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 62000);
    op.in.sync.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.sync.sent == 1,
       "[%s]   then the message's outcome: sent", backend);
    is_int(t_value("SELECT state * 10 + message_state FROM integrations_orders"
                   " WHERE shipment_box_id = '642538971006407777'"), 32,
           "[%s]   the box stays redeemed, its message sent", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_activations WHERE"
                   " shipment_box_id = '642538971006407777' AND state = 3"), 3,
           "[%s]   its units stay redeemed", backend);
    is_int(t_value("SELECT state FROM integrations_order_events WHERE"
                   " shipment_box_id = '642538971006407777' AND event ="
                   " 'message_sent'"), 3,
           "[%s]   its history: message_sent, the box redeemed", backend);

    t_box_outbox(&pool, &item, &ob, "642538971006408888", 63000);
    t_exec("UPDATE integrations_notifications SET state = 1 WHERE"
           " id = 'coupang:A00012345:642538971006408888'");
    t_return_all(&pool, &op, "365990", "22000009548888", 64000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ret.n == 3,
       "[%s] a return revokes a box whose message is being sent (%s)",
       backend, op.error);
    is_int(t_value("SELECT state FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006408888'"), 4,
           "[%s]   the box is revoked", backend);
    t_exec("UPDATE integrations_notifications SET state = 2 WHERE"
           " id = 'coupang:A00012345:642538971006408888'");

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 65000);
    op.in.sync.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.sync.sent == 1,
       "[%s]   then the message's outcome: sent", backend);
    is_int(t_value("SELECT state * 10 + message_state FROM integrations_orders"
                   " WHERE shipment_box_id = '642538971006408888'"), 42,
           "[%s]   the box stays revoked, its message sent", backend);
    is_int(t_value("SELECT fulfil_state FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006408888'"),
           INTEGRATIONS_STORE_FULFIL_CANCELED, "[%s]   and not to fulfil",
           backend);

    /*
     * A return before the send: a box revoked in part keeps its queued
     * message (the buyer keeps the rest), revoked whole gives it up
     */

    t_box_outbox(&pool, &item, &ob, "642538971006409191", 66000);

    ri[0].vendor_item_id = B("3242596359");
    ri[0].count = 1;
    t_op(&op, INTEGRATIONS_STORE_OP_RETURN_APPLY, 67000);
    op.in.ret.vendor_id = B("A00012345");
    op.in.ret.receipt_id = B("365991");
    op.in.ret.order_id = B("22000009549191");
    op.in.ret.receipt_type = B("RETURN");
    op.in.ret.receipt_status = B("RETURNS_UNCHECKED");
    op.in.ret.reason = B("return");
    op.in.ret.revoke_call_state = INTEGRATIONS_STORE_REVOKE_DUE;
    op.in.ret.items = ri;
    op.in.ret.nitems = 1;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ret.n == 1,
       "[%s] a return of one of three units (%s)", backend, op.error);
    is_int(t_value("SELECT state FROM integrations_notifications WHERE"
                   " id = 'coupang:A00012345:642538971006409191'"), 0,
           "[%s]   the message stays queued", backend);

    t_return_all(&pool, &op, "365992", "22000009549191", 68000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ret.n == 2,
       "[%s] a return of the rest: the box revoked whole (%s)", backend,
       op.error);
    is_int(t_value("SELECT state FROM integrations_notifications WHERE"
                   " id = 'coupang:A00012345:642538971006409191'"
                   " AND error LIKE 'cancelled%'"), 4,
           "[%s]   the queued message is given up", backend);
    is_int(t_value("SELECT state * 10 + message_state FROM integrations_orders"
                   " WHERE shipment_box_id = '642538971006409191'"),
           40 + INTEGRATIONS_STORE_MSG_CANCELLED,
           "[%s]   the box revoked, its message cancelled", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                   " shipment_box_id = '642538971006409191' AND event ="
                   " 'message_cancelled'"), 1,
           "[%s]   its history: message_cancelled", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_CLAIM, 69000);
    op.in.outbox_claim.provider = B("sms");
    op.in.outbox_claim.holder = B("test");
    op.in.outbox_claim.limit = 10;
    op.in.outbox_claim.attempt_id = 1;
    op.in.outbox_claim.lease_ms = 30000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 0,
       "[%s]   no sender takes it (%s)", backend, op.error);

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 70000);
    op.in.sync.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.sync.sent == 0
       && op.out.sync.failed == 0, "[%s]   nor the order sync", backend);

    /*
     * A return while the message is being sent (issue 12), through the
     * outbox's own CLAIM and FINISH: the attempt's retry ends it
     * cancelled, never queued again; a sender that dies leaves it to the
     * next claim, which ends it cancelled too; a send that reached the
     * provider stands.  The box follows once, in ORDER_MESSAGES_SYNC.
     */

    {
    integrations_store_outbox_finish_rec_t  f;

    t_box_outbox(&pool, &item, &ob, "642538971006402121", 71000);

    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_CLAIM, 71500);
    op.in.outbox_claim.provider = B("sms");
    op.in.outbox_claim.holder = B("test");
    op.in.outbox_claim.limit = 10;
    op.in.outbox_claim.attempt_id = 21;
    op.in.outbox_claim.lease_ms = 30000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 1,
       "[%s] box 2121's message claimed: being sent (%s)", backend,
       op.error);

    t_return_all(&pool, &op, "365993", "22000009542121", 72000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ret.n == 3,
       "[%s]   a return revokes the box meanwhile (%s)", backend, op.error);
    is_int(t_value("SELECT state FROM integrations_notifications WHERE"
                   " id = 'coupang:A00012345:642538971006402121' AND"
                   " cancel_requested = 'cancelled: the order was revoked'"),
           1, "[%s]   the message, still being sent, is marked", backend);
    is_int(t_value("SELECT message_state FROM integrations_orders WHERE"
                   " shipment_box_id = '642538971006402121'"),
           INTEGRATIONS_STORE_MSG_QUEUED,
           "[%s]   the box waits for its outcome", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 72500);
    op.in.sync.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.sync.sent == 0
       && op.out.sync.failed == 0 && op.out.sync.cancelled == 0,
       "[%s]   the order sync: nothing yet", backend);

    /* the attempt fails retryably (a 503): not queued again */

    memset(&f, 0, sizeof(f));
    f.id = B("coupang:A00012345:642538971006402121");
    f.attempt_id = 21;
    f.state = INTEGRATIONS_STORE_NOTIFY_QUEUED;
    f.next_attempt_at = 80000;
    f.last_delay = 8000;
    f.provider = B("sms");
    f.error = B("http_503");
    f.attempt = 1;
    f.at = 72800;
    f.attempt_provider = B("sms");
    f.outcome = B("retry");
    f.http_status = 503;
    f.duration_ms = 900;

    for (i = 0; i < 2; i++) {
        t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_FINISH, 73000);
        op.in.outbox_finish.recs = &f;
        op.in.outbox_finish.n = 1;
        f.stored = 0;
        integrations_store_db_run(&pool, &op);
        ok(op.rc == INTEGRATIONS_STORE_OK && f.stored,
           "[%s]   %s retryable failure is stored (%s)", backend,
           i ? "the same" : "its", op.error);
        is_int(t_value("SELECT state FROM integrations_notifications WHERE"
                       " id = 'coupang:A00012345:642538971006402121' AND"
                       " error = 'cancelled: the order was revoked'"), 4,
               "[%s]   as cancelled, not queued again", backend);
    }

    is_int(t_value("SELECT COUNT(*) FROM integrations_notification_attempts"
                   " WHERE notification_id ="
                   " 'coupang:A00012345:642538971006402121'"), 1,
           "[%s]   its attempt recorded once", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_CLAIM, 90000);
    op.in.outbox_claim.provider = B("sms");
    op.in.outbox_claim.holder = B("test");
    op.in.outbox_claim.limit = 10;
    op.in.outbox_claim.attempt_id = 22;
    op.in.outbox_claim.lease_ms = 30000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 0,
       "[%s]   after its retry time no sender takes it (%s)", backend,
       op.error);

    for (i = 0; i < 2; i++) {
        t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 91000);
        op.in.sync.vendor_id = B("A00012345");
        integrations_store_db_run(&pool, &op);
        ok(op.rc == INTEGRATIONS_STORE_OK && op.out.sync.sent == 0
           && op.out.sync.failed == 0 && op.out.sync.cancelled == (i == 0),
           "[%s]   the order sync: %s", backend,
           i ? "again, nothing" : "one cancelled");
    }

    is_int(t_value("SELECT state * 10 + message_state FROM integrations_orders"
                   " WHERE shipment_box_id = '642538971006402121'"),
           40 + INTEGRATIONS_STORE_MSG_CANCELLED,
           "[%s]   the box revoked, its message cancelled", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                   " shipment_box_id = '642538971006402121' AND event ="
                   " 'message_cancelled' AND state = 4"), 1,
           "[%s]   its history: message_cancelled, once", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                   " shipment_box_id = '642538971006402121' AND event IN"
                   " ('message_sent', 'message_failed')"), 0,
           "[%s]   and neither sent nor failed", backend);

    /* the sender dies while sending: its lease lapses */

    t_box_outbox(&pool, &item, &ob, "642538971006403131", 92000);

    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_CLAIM, 92500);
    op.in.outbox_claim.provider = B("sms");
    op.in.outbox_claim.holder = B("test");
    op.in.outbox_claim.limit = 10;
    op.in.outbox_claim.attempt_id = 31;
    op.in.outbox_claim.lease_ms = 5000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 1,
       "[%s] box 3131's message claimed (%s)", backend, op.error);

    t_return_all(&pool, &op, "365994", "22000009543131", 93000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ret.n == 3,
       "[%s]   a return revokes the box meanwhile (%s)", backend, op.error);

    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_CLAIM, 98000);
    op.in.outbox_claim.provider = B("sms");
    op.in.outbox_claim.holder = B("test");
    op.in.outbox_claim.limit = 10;
    op.in.outbox_claim.attempt_id = 32;
    op.in.outbox_claim.lease_ms = 30000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 0,
       "[%s]   its lease lapsed: the next claim does not take it (%s)",
       backend, op.error);
    is_int(t_value("SELECT state * 100 + attempt_id FROM"
                   " integrations_notifications WHERE"
                   " id = 'coupang:A00012345:642538971006403131' AND"
                   " error = 'cancelled: the order was revoked' AND"
                   " lease_holder IS NULL"), 432,
           "[%s]   but ends it cancelled, under its own attempt id",
           backend);

    memset(&f, 0, sizeof(f));
    f.id = B("coupang:A00012345:642538971006403131");
    f.attempt_id = 31;
    f.state = INTEGRATIONS_STORE_NOTIFY_QUEUED;
    f.next_attempt_at = 99000;
    f.provider = B("sms");
    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_FINISH, 98500);
    op.in.outbox_finish.recs = &f;
    op.in.outbox_finish.n = 1;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && !f.stored,
       "[%s]   the dead attempt's late outcome is fenced out", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 99000);
    op.in.sync.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.sync.cancelled == 1
       && op.out.sync.sent == 0 && op.out.sync.failed == 0,
       "[%s]   the order sync: one cancelled", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                   " shipment_box_id = '642538971006403131' AND event ="
                   " 'message_cancelled'"), 1,
           "[%s]   its history: message_cancelled", backend);

    /* the in-flight attempt reaches the provider: it stays sent */

    t_box_outbox(&pool, &item, &ob, "642538971006404141", 100000);

    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_CLAIM, 100500);
    op.in.outbox_claim.provider = B("sms");
    op.in.outbox_claim.holder = B("test");
    op.in.outbox_claim.limit = 10;
    op.in.outbox_claim.attempt_id = 41;
    op.in.outbox_claim.lease_ms = 30000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.outbox_claim.n == 1,
       "[%s] box 4141's message claimed (%s)", backend, op.error);

    t_return_all(&pool, &op, "365995", "22000009544141", 101000);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.ret.n == 3,
       "[%s]   a return revokes the box meanwhile (%s)", backend, op.error);

    memset(&f, 0, sizeof(f));
    f.id = B("coupang:A00012345:642538971006404141");
    f.attempt_id = 41;
    f.state = INTEGRATIONS_STORE_NOTIFY_SENT;
    f.provider = B("sms");
    f.message_id = B("M4141");
    t_op(&op, INTEGRATIONS_STORE_OP_OUTBOX_FINISH, 101500);
    op.in.outbox_finish.recs = &f;
    op.in.outbox_finish.n = 1;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && f.stored,
       "[%s]   the attempt is sent (%s)", backend, op.error);
    is_int(t_value("SELECT state FROM integrations_notifications WHERE"
                   " id = 'coupang:A00012345:642538971006404141' AND"
                   " error IS NULL"), 2,
           "[%s]   and stays sent", backend);

    t_op(&op, INTEGRATIONS_STORE_OP_ORDER_MESSAGES_SYNC, 102000);
    op.in.sync.vendor_id = B("A00012345");
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.sync.sent == 1
       && op.out.sync.cancelled == 0,
       "[%s]   the order sync: one sent", backend);
    is_int(t_value("SELECT state * 10 + message_state FROM integrations_orders"
                   " WHERE shipment_box_id = '642538971006404141'"), 42,
           "[%s]   the box stays revoked, its message sent", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                   " shipment_box_id = '642538971006404141' AND event ="
                   " 'message_cancelled'"), 0,
           "[%s]   no message_cancelled", backend);
    }

    /*
     * A grant whose last attempt the limits refused (an open breaker):
     * its lock is made to end at the breaker's retry time, only sooner,
     * only by its owner; the sweeper takes it then
     */

    t_box_outbox(&pool, &item, &ob, "642538971006405151", 103000);

    t_op(&op, INTEGRATIONS_STORE_OP_ACT_REDEEM, 103500);
    op.in.act_token.token_hash.data = (const unsigned char *) t_hash[0];
    op.in.act_token.token_hash.len = 64;
    op.in.act_token.owner = 8000;
    op.in.act_token.lock_ms = 60000;
    integrations_store_db_run(&pool, &op);
    ok(op.rc == INTEGRATIONS_STORE_OK && op.out.act_link.won,
       "[%s] box 5151: a redeem holds the grant for 60 s (%s)", backend,
       op.error);

    {
    static const struct { int64_t owner, retry_at; int applied; } d[] = {
        { 8001, 106000, 0 },        /* not its owner */
        { 8000, 106000, 1 },
        { 8000, 110000, 0 },        /* later: never */
        { 8000, 106000, 0 },        /* the same: nothing to change */
    };

    for (i = 0; i < 4; i++) {
        t_op(&op, INTEGRATIONS_STORE_OP_ACT_GRANT_FINISH, 104000);
        op.in.act_grant.vendor_id = B("A00012345");
        op.in.act_grant.shipment_box_id = B("642538971006405151");
        op.in.act_grant.vendor_item_id = B("3242596358");
        op.in.act_grant.unit = 1;
        op.in.act_grant.owner = d[i].owner;
        op.in.act_grant.attempts = 2;
        op.in.act_grant.retry_at = d[i].retry_at;
        integrations_store_db_run(&pool, &op);
        ok(op.rc == INTEGRATIONS_STORE_OK
           && op.out.act_grant.applied == d[i].applied,
           "[%s]   the lock to end at %lld by %lld: %s (%s)", backend,
           (long long) d[i].retry_at, (long long) d[i].owner,
           d[i].applied ? "shortened" : "unchanged", op.error);
    }
    }

    is_int(t_value("SELECT grant_state * 1000000 + grant_until FROM"
                   " integrations_activations WHERE shipment_box_id ="
                   " '642538971006405151' AND unit = 1 AND vendor_item_id ="
                   " '3242596358'"), 1106000,
           "[%s]   still pending, until 106000", backend);
    is_int(t_value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                   " shipment_box_id = '642538971006405151' AND event LIKE"
                   " 'grant%'"), 0, "[%s]   no outcome in its history",
           backend);

    for (i = 0; i < 2; i++) {
        t_op(&op, INTEGRATIONS_STORE_OP_ACT_GRANT_SWEEP, i ? 106500 : 105500);
        op.in.act_token.owner = 8100 + i;
        op.in.act_token.lock_ms = 60000;
        integrations_store_db_run(&pool, &op);
        ok(op.rc == INTEGRATIONS_STORE_OK && op.out.act_link.won == i,
           "[%s]   the sweeper at %s (%s)", backend,
           i ? "106500 takes it" : "105500 does not take it", op.error);
    }

    /* migration 6: the sweeper's look for lapsed grants by an index */

    if (strcmp(backend, "sqlite") == 0) {
        is_int(t_plan_uses(integrations_store_sql_text(
                   INTEGRATIONS_STORE_SQLITE,
                   INTEGRATIONS_STORE_STMT_ACT_GRANT_DUE),
                   "integrations_activations_grant_due"), 1,
               "[%s] STMT_ACT_GRANT_DUE uses its index", backend);

    } else {
        is_int(t_value("SELECT COUNT(*) FROM pg_indexes WHERE indexname ="
                       " 'integrations_activations_grant_due'"), 1,
               "[%s] STMT_ACT_GRANT_DUE's index exists", backend);
    }

    /*
     * migration 7: a claim's look for the marked rows by their own index,
     * not by reading every due row (8-12 ms a claim with 20,000 queued)
     */

    if (strcmp(backend, "sqlite") == 0) {
        is_int(t_plan_uses(integrations_store_sql_text(
                   INTEGRATIONS_STORE_SQLITE,
                   INTEGRATIONS_STORE_STMT_OUTBOX_CANCEL_DUE),
                   "integrations_notifications_cancel_due"), 1,
               "[%s] STMT_OUTBOX_CANCEL_DUE uses its index", backend);

    } else {
        is_int(t_value("SELECT COUNT(*) FROM pg_indexes WHERE indexname ="
                       " 'integrations_notifications_cancel_due'"), 1,
               "[%s] STMT_OUTBOX_CANCEL_DUE's index exists", backend);
    }
    }

    /* a withdrawal, once */

    for (i = 0; i < 2; i++) {
        t_op(&op, INTEGRATIONS_STORE_OP_RETURN_WITHDRAW, 40000);
        op.in.withdraw.vendor_id = B("A00012345");
        op.in.withdraw.receipt_id = B("365937");
        integrations_store_db_run(&pool, &op);
        ok(op.rc == INTEGRATIONS_STORE_OK && op.out.changed == (i == 0),
           "[%s] a withdrawal %s", backend, i ? "again: nothing" : "noticed");
    }

    integrations_store_op_clear(&op);
    integrations_store_pool_destroy(&pool);
}


int
main(void)
{
    char         dir[] = "/tmp/test_store_orders-XXXXXX";
    char         url[600], cmd[600];
    const char  *pg;

    if (mkdtemp(dir) == NULL) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }

    backend = "sqlite";
    snprintf(sqlite_path, sizeof(sqlite_path), "%s/store.db", dir);
    snprintf(url, sizeof(url), "sqlite:%s", sqlite_path);
    run_suite(url);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        diag("could not remove %s", dir);
    }

    pg = getenv("STORE_TEST_PG");

    if (pg && pg[0]) {
        backend = "postgresql";
        run_suite(pg);

    } else {
        diag("STORE_TEST_PG is not set: PostgreSQL skipped here");
    }

    return done_testing();
}
