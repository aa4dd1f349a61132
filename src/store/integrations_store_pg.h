/*
 * The PostgreSQL driver of the durable store: integrations_store_pg_driver
 * (declared in integrations_store_db.h).  No nginx headers.
 *
 * libpq in non-blocking mode inside a thread-pool thread: every wait is a
 * poll() that ends at the operation's deadline (connect_timeout for the
 * connection, the operation's timeout for everything), so a stopped or
 * unreachable server costs a thread at most that long, and never the
 * event loop.  Names are resolved by libpq, in the thread.
 *
 * The server enforces the same bound on its side (statement_timeout and
 * idle_in_transaction_session_timeout in the startup options), TCP
 * keepalives and tcp_user_timeout notice a peer that went away.  A
 * connection that timed out, lost its server or was left in an unknown
 * state is closed and reopened by the next operation.
 *
 * Statements are prepared once per connection (in the thread), with
 * binary parameters and results.  Single statements autocommit; the
 * migration lock is pg_advisory_xact_lock() inside the migration's
 * transaction, so that several nodes migrate one at a time.
 */

#ifndef INTEGRATIONS_STORE_PG_H
#define INTEGRATIONS_STORE_PG_H

#include "integrations_store_db.h"


/* the advisory lock's key: "intgstor" */
#define INTEGRATIONS_STORE_PG_LOCK  "7597137609088069490"

#endif /* INTEGRATIONS_STORE_PG_H */
