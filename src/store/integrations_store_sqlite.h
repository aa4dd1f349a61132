/*
 * The SQLite driver of the durable store: integrations_store_sqlite_driver
 * (declared in integrations_store_db.h).  No nginx headers.
 *
 * The arrangement, and why (docs/architecture.md, "Store", has the
 * reasoning at length):
 *
 *   - WAL journal, synchronous=FULL: a commit is on disk (the WAL fsynced)
 *     before "stored" is answered, and readers never wait for the writer.
 *   - One writer at a time across every connection of every process:
 *     each write transaction, and every checkpoint, runs under an
 *     exclusive flock() on "PATH-lock", taken before BEGIN IMMEDIATE and
 *     let go after COMMIT.  SQLite's own automatic checkpoints are off
 *     (the WAL hook is ours), checkpoints are run by the writer that
 *     holds the lock when the WAL has grown past checkpoint_frames, and
 *     closing a connection never checkpoints (NO_CKPT_ON_CLOSE).  So no
 *     two connections ever write or checkpoint at the same time, which
 *     the WAL-reset bug of SQLite 3.7.0 to 3.51.2 needs (a checkpoint
 *     running while another connection's commit restarts the WAL).
 *   - flock() locks belong to the open file, so threads of one process
 *     exclude each other as processes do, and the kernel lets go of the
 *     lock of a process that dies (kill -9) mid-transaction.  Waiters
 *     sleep on a futex in the lock file, and one that has waited 5 ms
 *     goes before newcomers (integrations_store_sqlite_lock()).
 *   - mmap off, temporary tables in memory, foreign keys on.
 */

#ifndef INTEGRATIONS_STORE_SQLITE_H
#define INTEGRATIONS_STORE_SQLITE_H

#include "integrations_store_db.h"


/* the suffix of the writer lock's file beside the database */
#define INTEGRATIONS_STORE_SQLITE_LOCK  "-lock"

/* the files SQLite keeps beside the database, and ours */
extern const char  *integrations_store_sqlite_suffixes[];

/*
 * Puts a new database file in WAL mode, from a process that is the only
 * one using it (nginx's master, before its workers exist), so that the
 * workers need not create a rollback journal in a directory they may not
 * write to.  Opens and closes its own connection.  0, or -1 and err.
 */
int integrations_store_sqlite_init_file(const char *path, char *err,
    size_t errlen);

#endif /* INTEGRATIONS_STORE_SQLITE_H */
