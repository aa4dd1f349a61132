/*
 * The SQLite driver of the durable store: see integrations_store_sqlite.h.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     /* F_OFD_SETLK */
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#include <sqlite3.h>

#include "integrations_store_sqlite.h"


#define INTEGRATIONS_STORE_SQLITE_FRAMES  1000   /* pages, as SQLite's own
                                                    auto-checkpoint */

/*
 * In the lock file, shared by every connection of every process: the
 * release count that waiters sleep on (a futex), and how many sleep.
 */

typedef struct {
    uint32_t                         seq;
    uint32_t                         waiters;
    uint32_t                         starving;  /* whom to wake: a count a
                                                   killed waiter may leave
                                                   high, which only wakes
                                                   more than needed */
} integrations_store_sqlite_turn_t;

typedef struct {
    sqlite3                         *db;
    sqlite3_stmt                    *stmts[INTEGRATIONS_STORE_NSTMTS];
    int                              lock_fd;
    integrations_store_sqlite_turn_t *turn;       /* or NULL: polled */
    unsigned                         locked:1;
    unsigned                         in_tx:1;
    unsigned                         broken:1;
    unsigned                         relaxed:1;    /* synchronous=NORMAL */
    int                              wal_frames;
    int                              checkpoint_frames;
    unsigned                         timeout;
    unsigned char                   *rowbuf;
    size_t                           rowsize;
} integrations_store_sqlite_t;


const char  *integrations_store_sqlite_suffixes[] = {
    "-wal", "-shm", INTEGRATIONS_STORE_SQLITE_LOCK, NULL
};


static integrations_store_rc_e integrations_store_sqlite_open(
    const integrations_store_conf_t *conf, uint64_t deadline,
    integrations_store_conn_t **c, char *err, size_t errlen);
static void integrations_store_sqlite_close(integrations_store_conn_t *c);
static integrations_store_rc_e integrations_store_sqlite_begin(
    integrations_store_conn_t *c, integrations_store_tx_e tx,
    uint64_t deadline, char *err, size_t errlen);
static integrations_store_rc_e integrations_store_sqlite_end(
    integrations_store_conn_t *c, int commit, uint64_t deadline, char *err,
    size_t errlen);
static integrations_store_rc_e integrations_store_sqlite_exec(
    integrations_store_conn_t *c, integrations_store_stmt_e stmt,
    const integrations_store_val_t *p, integrations_store_val_t *row,
    unsigned ncols, int *found, int64_t *changed, uint64_t deadline,
    char *err, size_t errlen);
static integrations_store_rc_e integrations_store_sqlite_query(
    integrations_store_conn_t *c, integrations_store_stmt_e stmt,
    const integrations_store_val_t *p, unsigned ncols,
    integrations_store_row_pt each, void *data, uint64_t deadline,
    char *err, size_t errlen);
static integrations_store_rc_e integrations_store_sqlite_script(
    integrations_store_conn_t *c, const char *sql, uint64_t deadline,
    char *err, size_t errlen);
static integrations_store_rc_e integrations_store_sqlite_prepare(
    integrations_store_sqlite_t *s, integrations_store_stmt_e stmt,
    const integrations_store_val_t *p, sqlite3_stmt **stp, char *err,
    size_t errlen);
static int integrations_store_sqlite_broken(integrations_store_conn_t *c);

static integrations_store_rc_e integrations_store_sqlite_lock(
    integrations_store_sqlite_t *s, uint64_t deadline, char *err,
    size_t errlen);
static void integrations_store_sqlite_unlock(integrations_store_sqlite_t *s);
static integrations_store_sqlite_turn_t *integrations_store_sqlite_turn(
    int fd);
static void integrations_store_sqlite_sleep(integrations_store_sqlite_t *s,
    uint32_t seq, uint64_t us);
static void integrations_store_sqlite_starve(integrations_store_sqlite_t *s,
    int on);
static int integrations_store_sqlite_others_starve(
    integrations_store_sqlite_t *s);
static integrations_store_rc_e integrations_store_sqlite_simple(
    integrations_store_sqlite_t *s, const char *sql, char *err,
    size_t errlen);
static integrations_store_rc_e integrations_store_sqlite_fail(
    integrations_store_sqlite_t *s, int rc, const char *what, char *err,
    size_t errlen);
static void integrations_store_sqlite_timeout(integrations_store_sqlite_t *s,
    uint64_t deadline);
static int integrations_store_sqlite_wal_hook(void *data, sqlite3 *db,
    const char *name, int frames);


const integrations_store_driver_t  integrations_store_sqlite_driver = {
    "sqlite",
    INTEGRATIONS_STORE_SQLITE,
    integrations_store_sqlite_open,
    integrations_store_sqlite_close,
    integrations_store_sqlite_begin,
    integrations_store_sqlite_end,
    integrations_store_sqlite_exec,
    integrations_store_sqlite_query,
    integrations_store_sqlite_script,
    integrations_store_sqlite_broken
};


int
integrations_store_sqlite_init_file(const char *path, char *err,
    size_t errlen)
{
    int            rc;
    sqlite3       *db;
    const char    *mode;
    sqlite3_stmt  *st;

    db = NULL;

    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                         | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 1000);
        rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    }

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        mode = (rc == SQLITE_ROW) ? (const char *) sqlite3_column_text(st, 0)
                                  : NULL;
        rc = (mode && strcmp(mode, "wal") == 0) ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(st);
    }

    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", db ? sqlite3_errmsg(db)
                                       : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return -1;
    }

    sqlite3_close_v2(db);

    return 0;
}


static integrations_store_rc_e
integrations_store_sqlite_open(const integrations_store_conf_t *conf,
    uint64_t deadline, integrations_store_conn_t **c, char *err,
    size_t errlen)
{
    int                           rc;
    char                          lock[INTEGRATIONS_STORE_PATH_LEN + 8];
    const char                   *mode;
    sqlite3_stmt                 *st;
    integrations_store_rc_e       src;
    integrations_store_sqlite_t  *s;

    s = calloc(1, sizeof(integrations_store_sqlite_t));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return INTEGRATIONS_STORE_UNAVAILABLE;
    }

    s->lock_fd = -1;
    s->timeout = conf->timeout;
    s->checkpoint_frames = conf->checkpoint_frames
                           ? (int) conf->checkpoint_frames
                           : INTEGRATIONS_STORE_SQLITE_FRAMES;

    snprintf(lock, sizeof(lock), "%s%s", conf->url.path,
             INTEGRATIONS_STORE_SQLITE_LOCK);

    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (s->lock_fd == -1) {
        snprintf(err, errlen, "cannot open \"%s\": %s", lock,
                 strerror(errno));
        integrations_store_sqlite_close((integrations_store_conn_t *) s);
        return INTEGRATIONS_STORE_UNAVAILABLE;
    }

    s->turn = integrations_store_sqlite_turn(s->lock_fd);

    /* one connection, one thread at a time: SQLite's mutexes are not
     * needed; a symbolic link in place of the database is refused */

    rc = sqlite3_open_v2(conf->url.path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                         | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);

    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open \"%s\": %s", conf->url.path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        integrations_store_sqlite_close((integrations_store_conn_t *) s);
        return INTEGRATIONS_STORE_UNAVAILABLE;
    }

    sqlite3_extended_result_codes(s->db, 1);
    (void) sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
                             NULL);
    sqlite3_busy_timeout(s->db, (int) s->timeout);

    src = integrations_store_sqlite_simple(s,
                                           "PRAGMA synchronous=FULL;"
                                           "PRAGMA foreign_keys=ON;"
                                           "PRAGMA temp_store=MEMORY;"
                                           "PRAGMA mmap_size=0",
                                           err, errlen);
    if (src != INTEGRATIONS_STORE_OK) {
        goto failed;
    }

    /* our hook replaces SQLite's automatic checkpoints */

    sqlite3_wal_hook(s->db, integrations_store_sqlite_wal_hook, s);

    /* WAL, switched to under the writer lock the first time */

    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        src = integrations_store_sqlite_fail(s, rc, "journal mode", err,
                                             errlen);
        goto failed;
    }

    rc = sqlite3_step(st);
    mode = (rc == SQLITE_ROW) ? (const char *) sqlite3_column_text(st, 0)
                              : NULL;

    if (mode && strcmp(mode, "wal") == 0) {
        sqlite3_finalize(st);

    } else {
        sqlite3_finalize(st);

        src = integrations_store_sqlite_lock(s, deadline, err, errlen);
        if (src != INTEGRATIONS_STORE_OK) {
            goto failed;
        }

        rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st,
                                NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st);
            mode = (rc == SQLITE_ROW)
                   ? (const char *) sqlite3_column_text(st, 0) : NULL;

            if (mode == NULL || strcmp(mode, "wal") != 0) {
                snprintf(err, errlen, "\"%s\" cannot be switched to WAL "
                         "(the directory must be writable for that, or let "
                         "nginx create the database): %s", conf->url.path,
                         (rc == SQLITE_ROW) ? "it stays in another mode"
                                            : sqlite3_errmsg(s->db));
                sqlite3_finalize(st);
                integrations_store_sqlite_unlock(s);
                src = (rc == SQLITE_ROW) ? INTEGRATIONS_STORE_ERROR
                      : integrations_store_sqlite_fail(s, rc, NULL, NULL, 0);
                goto failed;
            }

            sqlite3_finalize(st);

        } else {
            src = integrations_store_sqlite_fail(s, rc, "journal mode", err,
                                                 errlen);
            integrations_store_sqlite_unlock(s);
            goto failed;
        }

        integrations_store_sqlite_unlock(s);
    }

    *c = (integrations_store_conn_t *) s;

    return INTEGRATIONS_STORE_OK;

failed:

    integrations_store_sqlite_close((integrations_store_conn_t *) s);

    return src;
}


static void
integrations_store_sqlite_close(integrations_store_conn_t *c)
{
    integrations_store_sqlite_t *s = (integrations_store_sqlite_t *) c;

    unsigned  i;

    if (s == NULL) {
        return;
    }

    for (i = 0; i < INTEGRATIONS_STORE_NSTMTS; i++) {
        if (s->stmts[i]) {
            sqlite3_finalize(s->stmts[i]);
        }
    }

    if (s->db) {
        if (s->in_tx) {
            (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }

        /* no checkpoint on close (NO_CKPT_ON_CLOSE): nothing to lock */
        sqlite3_close_v2(s->db);
    }

    integrations_store_sqlite_unlock(s);

    if (s->turn) {
        (void) munmap(s->turn, sizeof(integrations_store_sqlite_turn_t));
    }

    if (s->lock_fd != -1) {
        close(s->lock_fd);
    }

    free(s->rowbuf);
    free(s);
}


static integrations_store_rc_e
integrations_store_sqlite_begin(integrations_store_conn_t *c,
    integrations_store_tx_e tx, uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_sqlite_t *s = (integrations_store_sqlite_t *) c;

    integrations_store_rc_e  rc;

    integrations_store_sqlite_timeout(s, deadline);

    if (tx == INTEGRATIONS_STORE_TX_READ) {
        return INTEGRATIONS_STORE_OK;
    }

    rc = integrations_store_sqlite_lock(s, deadline, err, errlen);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    /*
     * In WAL mode synchronous=NORMAL commits without an fsync; the next
     * FULL commit syncs the WAL, and with it every frame before it.
     */

    if ((tx == INTEGRATIONS_STORE_TX_RELAXED) != s->relaxed) {
        rc = integrations_store_sqlite_simple(s,
                                    (tx == INTEGRATIONS_STORE_TX_RELAXED)
                                    ? "PRAGMA synchronous=NORMAL"
                                    : "PRAGMA synchronous=FULL",
                                    err, errlen);
        if (rc != INTEGRATIONS_STORE_OK) {
            integrations_store_sqlite_unlock(s);
            return rc;
        }

        s->relaxed = (tx == INTEGRATIONS_STORE_TX_RELAXED);
    }

    rc = integrations_store_sqlite_simple(s, "BEGIN IMMEDIATE", err, errlen);

    if (rc != INTEGRATIONS_STORE_OK) {
        integrations_store_sqlite_unlock(s);
        return rc;
    }

    s->in_tx = 1;

    return INTEGRATIONS_STORE_OK;
}


static integrations_store_rc_e
integrations_store_sqlite_end(integrations_store_conn_t *c, int commit,
    uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_sqlite_t *s = (integrations_store_sqlite_t *) c;

    int                      log, done;
    char                     dummy[8];
    integrations_store_rc_e  rc;

    (void) deadline;

    if (!s->in_tx) {
        return INTEGRATIONS_STORE_OK;
    }

    if (err == NULL) {
        err = dummy;
        errlen = sizeof(dummy);
    }

    rc = integrations_store_sqlite_simple(s, commit ? "COMMIT" : "ROLLBACK",
                                          err, errlen);

    if (rc != INTEGRATIONS_STORE_OK && sqlite3_get_autocommit(s->db) == 0) {
        /* a COMMIT that failed (a full disk) leaves the transaction */
        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }

    s->in_tx = 0;

    /* the checkpoint, still under the writer lock */

    if (rc == INTEGRATIONS_STORE_OK
        && s->wal_frames >= s->checkpoint_frames)
    {
        log = 0;
        done = 0;

        if (sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                      &log, &done)
            == SQLITE_OK)
        {
            s->wal_frames = log - done;
        }
    }

    integrations_store_sqlite_unlock(s);

    return rc;
}


static integrations_store_rc_e
integrations_store_sqlite_exec(integrations_store_conn_t *c,
    integrations_store_stmt_e stmt, const integrations_store_val_t *p,
    integrations_store_val_t *row, unsigned ncols, int *found,
    int64_t *changed, uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_sqlite_t *s = (integrations_store_sqlite_t *) c;

    int                              rc, type;
    size_t                           need, off, n;
    unsigned                         i, cols;
    sqlite3_stmt                    *st;
    unsigned char                   *buf;
    const void                      *v;
    integrations_store_rc_e          src;

    if (found) {
        *found = 0;
    }

    if (s->in_tx == 0) {
        integrations_store_sqlite_timeout(s, deadline);
    }

    src = integrations_store_sqlite_prepare(s, stmt, p, &st, err, errlen);
    if (src != INTEGRATIONS_STORE_OK) {
        return src;
    }

    src = INTEGRATIONS_STORE_OK;

    rc = sqlite3_step(st);

    if (rc == SQLITE_ROW && row && ncols) {

        /* copied before the reset that ends the statement's read */

        cols = (unsigned) sqlite3_column_count(st);
        need = 0;

        for (i = 0; i < ncols && i < cols; i++) {
            type = sqlite3_column_type(st, i);
            if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
                need += (size_t) sqlite3_column_bytes(st, i) + 1;
            }
        }

        if (need > s->rowsize) {
            buf = realloc(s->rowbuf, need);
            if (buf == NULL) {
                sqlite3_reset(st);
                sqlite3_clear_bindings(st);
                snprintf(err, errlen, "out of memory");
                return INTEGRATIONS_STORE_ERROR;
            }

            s->rowbuf = buf;
            s->rowsize = need;
        }

        off = 0;

        for (i = 0; i < ncols; i++) {
            row[i].type = INTEGRATIONS_STORE_NULL;
            row[i].i = 0;
            row[i].p = (const unsigned char *) "";
            row[i].len = 0;

            if (i >= cols) {
                continue;
            }

            type = sqlite3_column_type(st, i);

            switch (type) {

            case SQLITE_INTEGER:
            case SQLITE_FLOAT:
                row[i].type = INTEGRATIONS_STORE_INT;
                row[i].i = sqlite3_column_int64(st, i);
                break;

            case SQLITE_TEXT:
            case SQLITE_BLOB:
                v = (type == SQLITE_TEXT)
                    ? (const void *) sqlite3_column_text(st, i)
                    : sqlite3_column_blob(st, i);
                n = (size_t) sqlite3_column_bytes(st, i);

                if (n) {
                    memcpy(s->rowbuf + off, v, n);
                }

                s->rowbuf[off + n] = '\0';
                row[i].type = (type == SQLITE_TEXT) ? INTEGRATIONS_STORE_TEXT
                                                    : INTEGRATIONS_STORE_BLOB;
                row[i].p = s->rowbuf + off;
                row[i].len = n;
                off += n + 1;
                break;

            default:
                break;
            }
        }

        if (found) {
            *found = 1;
        }
    }

    while (rc == SQLITE_ROW) {
        if (found && row == NULL) {
            *found = 1;
        }

        rc = sqlite3_step(st);
    }

    if (rc != SQLITE_DONE) {
        src = integrations_store_sqlite_fail(s, rc, NULL, err, errlen);
        if (found) {
            *found = 0;
        }

    } else if (changed) {
        *changed = (int64_t) sqlite3_changes64(s->db);
    }

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    return src;
}


/* the statement, prepared once per connection, with p bound */

static integrations_store_rc_e
integrations_store_sqlite_prepare(integrations_store_sqlite_t *s,
    integrations_store_stmt_e stmt, const integrations_store_val_t *p,
    sqlite3_stmt **stp, char *err, size_t errlen)
{
    int                              rc;
    unsigned                         i;
    sqlite3_stmt                    *st;
    const integrations_store_sql_t  *sql;

    sql = integrations_store_sql(stmt);
    st = s->stmts[stmt];

    if (st == NULL) {
        rc = sqlite3_prepare_v3(s->db, sql->sqlite, -1,
                                SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK) {
            return integrations_store_sqlite_fail(s, rc, "prepare", err,
                                                  errlen);
        }

        s->stmts[stmt] = st;
    }

    for (i = 0; i < sql->nparams; i++) {

        if (p[i].type == INTEGRATIONS_STORE_NULL) {
            rc = sqlite3_bind_null(st, i + 1);

        } else if (sql->types[i] == INTEGRATIONS_STORE_INT) {
            rc = sqlite3_bind_int64(st, i + 1, p[i].i);

        } else if (sql->types[i] == INTEGRATIONS_STORE_BLOB) {
            rc = sqlite3_bind_blob64(st, i + 1, p[i].p, p[i].len,
                                     SQLITE_STATIC);
        } else {
            rc = sqlite3_bind_text64(st, i + 1, (const char *) p[i].p,
                                     p[i].len, SQLITE_STATIC, SQLITE_UTF8);
        }

        if (rc != SQLITE_OK) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return integrations_store_sqlite_fail(s, rc, "bind", err,
                                                  errlen);
        }
    }

    *stp = st;

    return INTEGRATIONS_STORE_OK;
}


static integrations_store_rc_e
integrations_store_sqlite_query(integrations_store_conn_t *c,
    integrations_store_stmt_e stmt, const integrations_store_val_t *p,
    unsigned ncols, integrations_store_row_pt each, void *data,
    uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_sqlite_t *s = (integrations_store_sqlite_t *) c;

    int                       rc, type;
    unsigned                  i, cols;
    sqlite3_stmt             *st;
    integrations_store_rc_e   src;
    integrations_store_val_t  row[INTEGRATIONS_STORE_MAX_COLS];

    if (ncols > INTEGRATIONS_STORE_MAX_COLS) {
        snprintf(err, errlen, "too many columns");
        return INTEGRATIONS_STORE_ERROR;
    }

    if (s->in_tx == 0) {
        integrations_store_sqlite_timeout(s, deadline);
    }

    src = integrations_store_sqlite_prepare(s, stmt, p, &st, err, errlen);
    if (src != INTEGRATIONS_STORE_OK) {
        return src;
    }

    /* values point into SQLite's own memory, valid until the next step */

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {

        cols = (unsigned) sqlite3_column_count(st);

        for (i = 0; i < ncols; i++) {
            row[i].type = INTEGRATIONS_STORE_NULL;
            row[i].i = 0;
            row[i].p = (const unsigned char *) "";
            row[i].len = 0;

            if (i >= cols) {
                continue;
            }

            type = sqlite3_column_type(st, i);

            if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
                row[i].type = INTEGRATIONS_STORE_INT;
                row[i].i = sqlite3_column_int64(st, i);

            } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
                row[i].p = (type == SQLITE_TEXT)
                           ? sqlite3_column_text(st, i)
                           : sqlite3_column_blob(st, i);
                row[i].len = (size_t) sqlite3_column_bytes(st, i);
                row[i].type = (type == SQLITE_TEXT) ? INTEGRATIONS_STORE_TEXT
                                                    : INTEGRATIONS_STORE_BLOB;
                if (row[i].p == NULL) {
                    row[i].p = (const unsigned char *) "";
                }
            }
        }

        if (each(data, row, ncols) != 0) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            snprintf(err, errlen, "out of memory");
            return INTEGRATIONS_STORE_ERROR;
        }
    }

    src = INTEGRATIONS_STORE_OK;

    if (rc != SQLITE_DONE) {
        src = integrations_store_sqlite_fail(s, rc, NULL, err, errlen);
    }

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    return src;
}


static integrations_store_rc_e
integrations_store_sqlite_script(integrations_store_conn_t *c,
    const char *sql, uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_sqlite_t *s = (integrations_store_sqlite_t *) c;

    (void) deadline;

    return integrations_store_sqlite_simple(s, sql, err, errlen);
}


static int
integrations_store_sqlite_broken(integrations_store_conn_t *c)
{
    integrations_store_sqlite_t *s = (integrations_store_sqlite_t *) c;

    return s->broken;
}


/*
 * The writer lock: an exclusive flock() on the lock file, never taken
 * blocking, so that a wait ends at the operation's deadline.  A waiter
 * sleeps on the turn's release count (a futex in the file's first bytes,
 * shared by every process that maps it) and a release wakes one (all,
 * while one starves).
 *
 * Unfair, as a lock that keeps its throughput must be: the writer that has
 * just committed usually takes it again (its connection's page cache is
 * then still valid; handing every commit to another connection doubled
 * the CPU of a redeem).  But not for long: polling alone let a worker
 * take it again and again between its own group commits while the other
 * waited up to 24 ms (bench/notify, 4 connections: p99 1.5 ms or 11 ms
 * from one run to the next, by how the connections fell on the workers).
 * So a waiter that has waited INTEGRATIONS_STORE_SQLITE_STARVE says so,
 * with a shared open-file-description lock on byte 0 of the lock file
 * (independent of the flock, and dropped by the kernel if the waiter
 * dies), and while anyone says so, only those who do try the lock.
 * A holder killed with the lock wakes nobody: sleeps are at most
 * INTEGRATIONS_STORE_SQLITE_NAP.  Without the turn (the file could not be
 * mapped) the lock is polled, in steps from 20 to 320 us.
 */

#define INTEGRATIONS_STORE_SQLITE_STARVE  5      /* ms */
#define INTEGRATIONS_STORE_SQLITE_NAP     10     /* ms */


/* this connection starves (on) or no longer does: byte 0, shared */

static void
integrations_store_sqlite_starve(integrations_store_sqlite_t *s, int on)
{
    struct flock  fl;

    memset(&fl, 0, sizeof(struct flock));
    fl.l_type = on ? F_RDLCK : F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;

    (void) fcntl(s->lock_fd, F_OFD_SETLK, &fl);

    if (s->turn) {
        if (on) {
            (void) __atomic_add_fetch(&s->turn->starving, 1,
                                      __ATOMIC_SEQ_CST);

        } else {
            (void) __atomic_sub_fetch(&s->turn->starving, 1,
                                      __ATOMIC_SEQ_CST);
        }
    }
}


/* does another connection starve?  (a write lock on byte 0 would clash) */

static int
integrations_store_sqlite_others_starve(integrations_store_sqlite_t *s)
{
    struct flock  fl;

    memset(&fl, 0, sizeof(struct flock));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;

    if (fcntl(s->lock_fd, F_OFD_GETLK, &fl) == -1) {
        return 0;
    }

    return fl.l_type != F_UNLCK;
}


static integrations_store_sqlite_turn_t *
integrations_store_sqlite_turn(int fd)
{
    void         *p;
    struct stat   st;

    if (fstat(fd, &st) == -1) {
        return NULL;
    }

    if ((size_t) st.st_size < sizeof(integrations_store_sqlite_turn_t)
        && ftruncate(fd, sizeof(integrations_store_sqlite_turn_t)) == -1)
    {
        return NULL;
    }

    p = mmap(NULL, sizeof(integrations_store_sqlite_turn_t),
             PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    return (p == MAP_FAILED) ? NULL : p;
}


/* sleeps until the turn's count is no longer seq, or for at most us */

static void
integrations_store_sqlite_sleep(integrations_store_sqlite_t *s,
    uint32_t seq, uint64_t us)
{
    struct timespec  ts;

    ts.tv_sec = (time_t) (us / 1000000);
    ts.tv_nsec = (long) (us % 1000000) * 1000;

    if (s->turn == NULL) {
        (void) nanosleep(&ts, NULL);
        return;
    }

    (void) __atomic_add_fetch(&s->turn->waiters, 1, __ATOMIC_SEQ_CST);

    /* returns at once if a release came after seq was read */
    (void) syscall(SYS_futex, &s->turn->seq, FUTEX_WAIT, seq, &ts, NULL, 0);

    (void) __atomic_sub_fetch(&s->turn->waiters, 1, __ATOMIC_SEQ_CST);
}


static integrations_store_rc_e
integrations_store_sqlite_lock(integrations_store_sqlite_t *s,
    uint64_t deadline, char *err, size_t errlen)
{
    int                      starving;
    uint32_t                 seq;
    uint64_t                 now, start, us, step;
    integrations_store_rc_e  rc;

    if (s->locked) {
        return INTEGRATIONS_STORE_OK;
    }

    starving = 0;
    start = 0;
    step = 20;

    for ( ;; ) {
        /* read before the try: a release after it ends the sleep */
        seq = s->turn ? __atomic_load_n(&s->turn->seq, __ATOMIC_SEQ_CST) : 0;

        if (starving || !integrations_store_sqlite_others_starve(s)) {

            if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0) {
                s->locked = 1;
                rc = INTEGRATIONS_STORE_OK;
                break;
            }

            if (errno != EWOULDBLOCK && errno != EINTR) {
                snprintf(err, errlen, "cannot lock the writer lock: %s",
                         strerror(errno));
                rc = INTEGRATIONS_STORE_UNAVAILABLE;
                break;
            }
        }

        now = integrations_store_clock();

        if (now >= deadline) {
            snprintf(err, errlen, "the writer lock stayed taken past the "
                     "timeout");
            rc = INTEGRATIONS_STORE_TIMEOUT;
            break;
        }

        if (start == 0) {
            start = now;
        }

        if (!starving && now - start >= INTEGRATIONS_STORE_SQLITE_STARVE) {
            integrations_store_sqlite_starve(s, 1);
            starving = 1;
            continue;
        }

        if (s->turn) {
            us = INTEGRATIONS_STORE_SQLITE_NAP * 1000;

        } else {
            us = step;
            step = (step < 320) ? step * 2 : 320;
        }

        if (!starving
            && us > (start + INTEGRATIONS_STORE_SQLITE_STARVE - now) * 1000)
        {
            /* to say so in time */
            us = (start + INTEGRATIONS_STORE_SQLITE_STARVE - now) * 1000;
        }

        if (us > (deadline - now) * 1000) {
            us = (deadline - now) * 1000;
        }

        integrations_store_sqlite_sleep(s, seq, us);
    }

    if (starving) {
        integrations_store_sqlite_starve(s, 0);
    }

    return rc;
}


static void
integrations_store_sqlite_unlock(integrations_store_sqlite_t *s)
{
    if (!s->locked) {
        return;
    }

    (void) flock(s->lock_fd, LOCK_UN);
    s->locked = 0;

    if (s->turn == NULL) {
        return;
    }

    (void) __atomic_add_fetch(&s->turn->seq, 1, __ATOMIC_SEQ_CST);

    if (__atomic_load_n(&s->turn->waiters, __ATOMIC_SEQ_CST) != 0) {
        /* one; all if one starves, which may be any of them */
        (void) syscall(SYS_futex, &s->turn->seq, FUTEX_WAKE,
                       __atomic_load_n(&s->turn->starving, __ATOMIC_SEQ_CST)
                       ? INT_MAX : 1, NULL, NULL, 0);
    }
}


static integrations_store_rc_e
integrations_store_sqlite_simple(integrations_store_sqlite_t *s,
    const char *sql, char *err, size_t errlen)
{
    int  rc;

    rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK) {
        return integrations_store_sqlite_fail(s, rc, NULL, err, errlen);
    }

    return INTEGRATIONS_STORE_OK;
}


/* SQLite's result code as the store's; the message has no row data */

static integrations_store_rc_e
integrations_store_sqlite_fail(integrations_store_sqlite_t *s, int rc,
    const char *what, char *err, size_t errlen)
{
    integrations_store_rc_e  src;

    switch (rc & 0xff) {

    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        src = INTEGRATIONS_STORE_TIMEOUT;
        break;

    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
        s->broken = 1;
        src = INTEGRATIONS_STORE_UNAVAILABLE;
        break;

    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_AUTH:
        src = INTEGRATIONS_STORE_UNAVAILABLE;
        break;

    default:
        src = INTEGRATIONS_STORE_ERROR;
    }

    if (err) {
        snprintf(err, errlen, "%s%s%s (%s)", what ? what : "",
                 what ? ": " : "",
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc),
                 sqlite3_errstr(rc));
    }

    return src;
}


/* SQLite's busy handler waits at most until the operation's deadline */

static void
integrations_store_sqlite_timeout(integrations_store_sqlite_t *s,
    uint64_t deadline)
{
    uint64_t  now;

    now = integrations_store_clock();

    sqlite3_busy_timeout(s->db, now < deadline ? (int) (deadline - now) : 1);
}


static int
integrations_store_sqlite_wal_hook(void *data, sqlite3 *db, const char *name,
    int frames)
{
    integrations_store_sqlite_t *s = data;

    (void) db;
    (void) name;

    s->wal_frames = frames;

    return SQLITE_OK;
}
