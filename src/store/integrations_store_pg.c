/*
 * The PostgreSQL driver of the durable store: see integrations_store_pg.h.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "integrations_store_pg.h"


/* type OIDs (catalog/pg_type.h is the server's header) */
#define PG_BOOLOID     16
#define PG_BYTEAOID    17
#define PG_INT8OID     20
#define PG_INT2OID     21
#define PG_INT4OID     23
#define PG_TEXTOID     25


typedef struct {
    PGconn                          *pg;
    unsigned char                    prepared[INTEGRATIONS_STORE_NSTMTS];
    unsigned                         in_tx:1;
    unsigned                         broken:1;
    unsigned char                   *rowbuf;
    size_t                           rowsize;
} integrations_store_pg_t;


static integrations_store_rc_e integrations_store_pg_open(
    const integrations_store_conf_t *conf, uint64_t deadline,
    integrations_store_conn_t **c, char *err, size_t errlen);
static void integrations_store_pg_close(integrations_store_conn_t *c);
static integrations_store_rc_e integrations_store_pg_begin(
    integrations_store_conn_t *c, integrations_store_tx_e tx,
    uint64_t deadline, char *err, size_t errlen);
static integrations_store_rc_e integrations_store_pg_end(
    integrations_store_conn_t *c, int commit, uint64_t deadline, char *err,
    size_t errlen);
static integrations_store_rc_e integrations_store_pg_exec(
    integrations_store_conn_t *c, integrations_store_stmt_e stmt,
    const integrations_store_val_t *p, integrations_store_val_t *row,
    unsigned ncols, int *found, int64_t *changed, uint64_t deadline,
    char *err, size_t errlen);
static integrations_store_rc_e integrations_store_pg_query(
    integrations_store_conn_t *c, integrations_store_stmt_e stmt,
    const integrations_store_val_t *p, unsigned ncols,
    integrations_store_row_pt each, void *data, uint64_t deadline,
    char *err, size_t errlen);
static integrations_store_rc_e integrations_store_pg_script(
    integrations_store_conn_t *c, const char *sql, uint64_t deadline,
    char *err, size_t errlen);
static integrations_store_rc_e integrations_store_pg_run(
    integrations_store_pg_t *s, integrations_store_stmt_e stmt,
    const integrations_store_val_t *p, PGresult **res, uint64_t deadline,
    char *err, size_t errlen);
static void integrations_store_pg_row(PGresult *res, int r,
    integrations_store_val_t *row, unsigned ncols);
static int integrations_store_pg_broken(integrations_store_conn_t *c);

static integrations_store_rc_e integrations_store_pg_simple(
    integrations_store_pg_t *s, const char *sql, const char *tag,
    uint64_t deadline, char *err, size_t errlen);
static integrations_store_rc_e integrations_store_pg_complete(
    integrations_store_pg_t *s, int sent, const char *what, PGresult **res,
    uint64_t deadline, char *err, size_t errlen);
static integrations_store_rc_e integrations_store_pg_flush(
    integrations_store_pg_t *s, uint64_t deadline, char *err,
    size_t errlen);
static integrations_store_rc_e integrations_store_pg_result(
    integrations_store_pg_t *s, PGresult **res, uint64_t deadline, char *err,
    size_t errlen);
static int integrations_store_pg_wait(int fd, short events,
    uint64_t deadline);
static integrations_store_rc_e integrations_store_pg_fail(
    integrations_store_pg_t *s, PGresult *res, const char *what, char *err,
    size_t errlen);
static integrations_store_rc_e integrations_store_pg_lost(
    integrations_store_pg_t *s, const char *what, char *err, size_t errlen);
static void integrations_store_pg_line(char *dst, size_t size,
    const char *src);
static void integrations_store_pg_notice(void *arg, const char *message);


const integrations_store_driver_t  integrations_store_pg_driver = {
    "postgresql",
    INTEGRATIONS_STORE_POSTGRESQL,
    integrations_store_pg_open,
    integrations_store_pg_close,
    integrations_store_pg_begin,
    integrations_store_pg_end,
    integrations_store_pg_exec,
    integrations_store_pg_query,
    integrations_store_pg_script,
    integrations_store_pg_broken
};


static integrations_store_rc_e
integrations_store_pg_open(const integrations_store_conf_t *conf,
    uint64_t deadline, integrations_store_conn_t **c, char *err,
    size_t errlen)
{
    int                        n, fd;
    char                       port[8], options[192], tcp[16], msg[160];
    uint64_t                   until;
    const char                *kw[16], *val[16];
    PostgresPollingStatusType  st;
    integrations_store_pg_t   *s;

    s = calloc(1, sizeof(integrations_store_pg_t));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return INTEGRATIONS_STORE_UNAVAILABLE;
    }

    snprintf(port, sizeof(port), "%u", conf->url.port);

    /* the server gives up when we would have: no query outlives us */

    snprintf(options, sizeof(options),
             "-c statement_timeout=%u -c idle_in_transaction_session_timeout"
             "=%u -c client_min_messages=warning", conf->timeout,
             conf->timeout * 2 + 1000);
    snprintf(tcp, sizeof(tcp), "%u", conf->timeout + 1000);

    n = 0;
    kw[n] = "host";              val[n++] = conf->url.host;
    kw[n] = "port";              val[n++] = port;
    kw[n] = "dbname";            val[n++] = conf->url.dbname;
    kw[n] = "user";              val[n++] = conf->url.user;
    kw[n] = "application_name";  val[n++] = "nginx-integrations";
    kw[n] = "options";           val[n++] = options;
    kw[n] = "keepalives";        val[n++] = "1";
    kw[n] = "keepalives_idle";   val[n++] = "5";
    kw[n] = "keepalives_interval";  val[n++] = "2";
    kw[n] = "keepalives_count";  val[n++] = "3";
    kw[n] = "tcp_user_timeout";  val[n++] = tcp;

    if (conf->url.sslmode[0]) {
        kw[n] = "sslmode";       val[n++] = conf->url.sslmode;
    }

    if (conf->password) {
        kw[n] = "password";      val[n++] = conf->password;
    }

    kw[n] = NULL;
    val[n] = NULL;

    s->pg = PQconnectStartParams(kw, val, 0);

    if (s->pg == NULL) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return INTEGRATIONS_STORE_UNAVAILABLE;
    }

    /* notices would go to stderr: the module logs what matters itself */

    (void) PQsetNoticeProcessor(s->pg, integrations_store_pg_notice, NULL);

    until = integrations_store_clock() + conf->connect_timeout;
    if (until > deadline) {
        until = deadline;
    }

    st = PGRES_POLLING_WRITING;

    while (PQstatus(s->pg) != CONNECTION_BAD && st != PGRES_POLLING_OK
           && st != PGRES_POLLING_FAILED)
    {
        /* the socket may change from one poll to the next */

        fd = PQsocket(s->pg);

        n = integrations_store_pg_wait(fd,
                              st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                              until);
        if (n == 0) {
            snprintf(err, errlen, "cannot connect to %s:%u: timed out",
                     conf->url.host, conf->url.port);
            integrations_store_pg_close((integrations_store_conn_t *) s);
            return INTEGRATIONS_STORE_UNAVAILABLE;
        }

        st = PQconnectPoll(s->pg);
    }

    if (PQstatus(s->pg) != CONNECTION_OK) {
        integrations_store_pg_line(msg, sizeof(msg), PQerrorMessage(s->pg));
        snprintf(err, errlen, "cannot connect to %s:%u: %s", conf->url.host,
                 conf->url.port, msg);
        integrations_store_pg_close((integrations_store_conn_t *) s);
        return INTEGRATIONS_STORE_UNAVAILABLE;
    }

    if (PQsetnonblocking(s->pg, 1) != 0) {
        snprintf(err, errlen, "cannot make the connection non-blocking");
        integrations_store_pg_close((integrations_store_conn_t *) s);
        return INTEGRATIONS_STORE_UNAVAILABLE;
    }

    *c = (integrations_store_conn_t *) s;

    return INTEGRATIONS_STORE_OK;
}


static void
integrations_store_pg_close(integrations_store_conn_t *c)
{
    integrations_store_pg_t *s = (integrations_store_pg_t *) c;

    if (s == NULL) {
        return;
    }

    /* an open transaction ends with the connection: rolled back */

    if (s->pg) {
        PQfinish(s->pg);
    }

    free(s->rowbuf);
    free(s);
}


static integrations_store_rc_e
integrations_store_pg_begin(integrations_store_conn_t *c,
    integrations_store_tx_e tx, uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_pg_t *s = (integrations_store_pg_t *) c;

    integrations_store_rc_e  rc;

    if (tx == INTEGRATIONS_STORE_TX_READ || tx == INTEGRATIONS_STORE_TX_WRITE)
    {
        return INTEGRATIONS_STORE_OK;
    }

    /* a relaxed commit does not wait for the WAL flush; later ones do */

    rc = integrations_store_pg_simple(s,
                                  (tx == INTEGRATIONS_STORE_TX_RELAXED)
                                  ? "BEGIN; SET LOCAL synchronous_commit = off"
                                  : "BEGIN", NULL, deadline, err, errlen);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    s->in_tx = 1;

    if (tx == INTEGRATIONS_STORE_TX_MIGRATE) {
        rc = integrations_store_pg_simple(s,
                                "SELECT pg_advisory_xact_lock("
                                INTEGRATIONS_STORE_PG_LOCK ")",
                                NULL, deadline, err, errlen);
        if (rc != INTEGRATIONS_STORE_OK) {
            (void) integrations_store_pg_end(c, 0, deadline, NULL, 0);
            return rc;
        }
    }

    return INTEGRATIONS_STORE_OK;
}


static integrations_store_rc_e
integrations_store_pg_end(integrations_store_conn_t *c, int commit,
    uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_pg_t *s = (integrations_store_pg_t *) c;

    char                     dummy[8];
    integrations_store_rc_e  rc;

    if (!s->in_tx) {
        return INTEGRATIONS_STORE_OK;
    }

    if (err == NULL) {
        err = dummy;
        errlen = sizeof(dummy);
    }

    s->in_tx = 0;

    /* a COMMIT of an aborted transaction answers "ROLLBACK": a failure */

    rc = integrations_store_pg_simple(s, commit ? "COMMIT" : "ROLLBACK",
                                      commit ? "COMMIT" : NULL, deadline,
                                      err, errlen);

    if (PQtransactionStatus(s->pg) != PQTRANS_IDLE) {
        s->broken = 1;
    }

    return rc;
}


static integrations_store_rc_e
integrations_store_pg_exec(integrations_store_conn_t *c,
    integrations_store_stmt_e stmt, const integrations_store_val_t *p,
    integrations_store_val_t *row, unsigned ncols, int *found,
    int64_t *changed, uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_pg_t *s = (integrations_store_pg_t *) c;

    size_t                   need, off;
    unsigned                 i;
    PGresult                *res;
    unsigned char           *buf;
    integrations_store_rc_e  rc;

    if (found) {
        *found = 0;
    }

    rc = integrations_store_pg_run(s, stmt, p, &res, deadline, err, errlen);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    if (changed) {
        *changed = atoll(PQcmdTuples(res));
    }

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {

        if (found) {
            *found = 1;
        }

        if (row && ncols) {
            integrations_store_pg_row(res, 0, row, ncols);

            /* copied: the values must outlive the result */

            need = 0;

            for (i = 0; i < ncols; i++) {
                if (row[i].type != INTEGRATIONS_STORE_INT) {
                    need += row[i].len + 1;
                }
            }

            if (need > s->rowsize) {
                buf = realloc(s->rowbuf, need);
                if (buf == NULL) {
                    PQclear(res);
                    snprintf(err, errlen, "out of memory");
                    return INTEGRATIONS_STORE_ERROR;
                }

                s->rowbuf = buf;
                s->rowsize = need;
            }

            off = 0;

            for (i = 0; i < ncols; i++) {
                if (row[i].type == INTEGRATIONS_STORE_INT) {
                    continue;
                }

                if (row[i].len) {
                    memcpy(s->rowbuf + off, row[i].p, row[i].len);
                }

                s->rowbuf[off + row[i].len] = '\0';
                row[i].p = s->rowbuf + off;
                off += row[i].len + 1;
            }
        }
    }

    PQclear(res);

    return INTEGRATIONS_STORE_OK;
}


static integrations_store_rc_e
integrations_store_pg_query(integrations_store_conn_t *c,
    integrations_store_stmt_e stmt, const integrations_store_val_t *p,
    unsigned ncols, integrations_store_row_pt each, void *data,
    uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_pg_t *s = (integrations_store_pg_t *) c;

    int                       r, n;
    PGresult                 *res;
    integrations_store_rc_e   rc;
    integrations_store_val_t  row[INTEGRATIONS_STORE_MAX_COLS];

    if (ncols > INTEGRATIONS_STORE_MAX_COLS) {
        snprintf(err, errlen, "too many columns");
        return INTEGRATIONS_STORE_ERROR;
    }

    rc = integrations_store_pg_run(s, stmt, p, &res, deadline, err, errlen);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    n = (PQresultStatus(res) == PGRES_TUPLES_OK) ? PQntuples(res) : 0;

    for (r = 0; r < n; r++) {
        integrations_store_pg_row(res, r, row, ncols);

        if (each(data, row, ncols) != 0) {
            PQclear(res);
            snprintf(err, errlen, "out of memory");
            return INTEGRATIONS_STORE_ERROR;
        }
    }

    PQclear(res);

    return INTEGRATIONS_STORE_OK;
}


/* a statement of the table, prepared once per connection, run with p */

static integrations_store_rc_e
integrations_store_pg_run(integrations_store_pg_t *s,
    integrations_store_stmt_e stmt, const integrations_store_val_t *p,
    PGresult **res, uint64_t deadline, char *err, size_t errlen)
{
    int                              k, len[INTEGRATIONS_STORE_MAX_PARAMS],
                                     fmt[INTEGRATIONS_STORE_MAX_PARAMS];
    char                             name[16];
    Oid                              types[INTEGRATIONS_STORE_MAX_PARAMS];
    uint64_t                         u;
    unsigned                         i;
    const char                      *vals[INTEGRATIONS_STORE_MAX_PARAMS];
    unsigned char                    ints[INTEGRATIONS_STORE_MAX_PARAMS][8];
    integrations_store_rc_e          rc;
    const integrations_store_sql_t  *sql;

    sql = integrations_store_sql(stmt);
    snprintf(name, sizeof(name), "integrations_%u", (unsigned) stmt);

    if (!s->prepared[stmt]) {

        for (i = 0; i < sql->nparams; i++) {
            types[i] = (sql->types[i] == INTEGRATIONS_STORE_INT) ? PG_INT8OID
                       : (sql->types[i] == INTEGRATIONS_STORE_BLOB)
                         ? PG_BYTEAOID : PG_TEXTOID;
        }

        rc = integrations_store_pg_complete(s,
                 PQsendPrepare(s->pg, name, sql->postgresql,
                               (int) sql->nparams, types),
                 "prepare", res, deadline, err, errlen);
        if (rc != INTEGRATIONS_STORE_OK) {
            return rc;
        }

        PQclear(*res);
        s->prepared[stmt] = 1;
    }

    /* binary parameters: int8 big-endian, text and bytea as they are */

    for (i = 0; i < sql->nparams; i++) {
        fmt[i] = 1;

        if (p[i].type == INTEGRATIONS_STORE_NULL) {
            vals[i] = NULL;
            len[i] = 0;

        } else if (sql->types[i] == INTEGRATIONS_STORE_INT) {
            u = (uint64_t) p[i].i;

            for (k = 7; k >= 0; k--) {
                ints[i][k] = (unsigned char) (u & 0xff);
                u >>= 8;
            }

            vals[i] = (const char *) ints[i];
            len[i] = 8;

        } else {
            vals[i] = (const char *) p[i].p;
            len[i] = (int) p[i].len;
        }
    }

    return integrations_store_pg_complete(s,
               PQsendQueryPrepared(s->pg, name, (int) sql->nparams, vals,
                                   len, fmt, 1),
               NULL, res, deadline, err, errlen);
}


/* row r of a binary result; values point into res */

static void
integrations_store_pg_row(PGresult *res, int r, integrations_store_val_t *row,
    unsigned ncols)
{
    int             k;
    size_t          n;
    uint64_t        u;
    unsigned        i, cols;
    unsigned char  *v;

    cols = (unsigned) PQnfields(res);

    for (i = 0; i < ncols; i++) {
        row[i].type = INTEGRATIONS_STORE_NULL;
        row[i].i = 0;
        row[i].p = (const unsigned char *) "";
        row[i].len = 0;

        if (i >= cols || PQgetisnull(res, r, (int) i)) {
            continue;
        }

        v = (unsigned char *) PQgetvalue(res, r, (int) i);
        n = (size_t) PQgetlength(res, r, (int) i);

        switch (PQftype(res, (int) i)) {

        case PG_INT8OID:
        case PG_INT4OID:
        case PG_INT2OID:
        case PG_BOOLOID:
            u = 0;

            for (k = 0; k < (int) n && k < 8; k++) {
                u = (u << 8) | v[k];
            }

            /* sign-extend the narrower integers */

            if (n > 0 && n < 8 && (v[0] & 0x80)) {
                u |= ~(uint64_t) 0 << (8 * n);
            }

            row[i].type = INTEGRATIONS_STORE_INT;
            row[i].i = (int64_t) u;
            break;

        default:
            row[i].type = (PQftype(res, (int) i) == PG_BYTEAOID)
                          ? INTEGRATIONS_STORE_BLOB : INTEGRATIONS_STORE_TEXT;
            row[i].p = v;
            row[i].len = n;
        }
    }
}


static integrations_store_rc_e
integrations_store_pg_script(integrations_store_conn_t *c, const char *sql,
    uint64_t deadline, char *err, size_t errlen)
{
    integrations_store_pg_t *s = (integrations_store_pg_t *) c;

    return integrations_store_pg_simple(s, sql, NULL, deadline, err, errlen);
}


static int
integrations_store_pg_broken(integrations_store_conn_t *c)
{
    integrations_store_pg_t *s = (integrations_store_pg_t *) c;

    return s->broken || PQstatus(s->pg) != CONNECTION_OK
           || PQtransactionStatus(s->pg) != (s->in_tx ? PQTRANS_INTRANS
                                                      : PQTRANS_IDLE);
}


/*
 * A simple query (one or more statements, no parameters); every result
 * must succeed, and the last command's tag be "tag" when one is given.
 */

static integrations_store_rc_e
integrations_store_pg_simple(integrations_store_pg_t *s, const char *sql,
    const char *tag, uint64_t deadline, char *err, size_t errlen)
{
    PGresult                *res;
    integrations_store_rc_e  rc;

    rc = integrations_store_pg_complete(s, PQsendQuery(s->pg, sql), NULL,
                                        &res, deadline, err, errlen);
    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    if (tag && strcmp(PQcmdStatus(res), tag) != 0) {
        snprintf(err, errlen, "the transaction was rolled back");
        PQclear(res);
        return INTEGRATIONS_STORE_ERROR;
    }

    PQclear(res);

    return INTEGRATIONS_STORE_OK;
}


/*
 * What was sent (sent: what libpq's send call returned), to its result:
 * NGX_OK-like INTEGRATIONS_STORE_OK with *res to PQclear(), or why not.
 */

static integrations_store_rc_e
integrations_store_pg_complete(integrations_store_pg_t *s, int sent,
    const char *what, PGresult **res, uint64_t deadline, char *err,
    size_t errlen)
{
    ExecStatusType           status;
    integrations_store_rc_e  rc;

    *res = NULL;

    if (!sent) {
        return integrations_store_pg_lost(s, what ? what : "send", err,
                                          errlen);
    }

    rc = integrations_store_pg_flush(s, deadline, err, errlen);
    if (rc == INTEGRATIONS_STORE_OK) {
        rc = integrations_store_pg_result(s, res, deadline, err, errlen);
    }

    if (rc != INTEGRATIONS_STORE_OK) {
        return rc;
    }

    status = PQresultStatus(*res);

    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        rc = integrations_store_pg_fail(s, *res, what, err, errlen);
        PQclear(*res);
        *res = NULL;
        return rc;
    }

    return INTEGRATIONS_STORE_OK;
}


static integrations_store_rc_e
integrations_store_pg_flush(integrations_store_pg_t *s, uint64_t deadline,
    char *err, size_t errlen)
{
    int  rc;

    for ( ;; ) {
        rc = PQflush(s->pg);

        if (rc == 0) {
            return INTEGRATIONS_STORE_OK;
        }

        if (rc < 0) {
            return integrations_store_pg_lost(s, "send", err, errlen);
        }

        rc = integrations_store_pg_wait(PQsocket(s->pg), POLLOUT | POLLIN,
                                        deadline);
        if (rc == 0) {
            s->broken = 1;
            snprintf(err, errlen, "sending to the server timed out");
            return INTEGRATIONS_STORE_TIMEOUT;
        }

        if (rc < 0 || !PQconsumeInput(s->pg)) {
            return integrations_store_pg_lost(s, "send", err, errlen);
        }
    }
}


/*
 * Every result of what was sent: the first is kept (or the first error),
 * the others cleared, until libpq says there are no more.
 */

static integrations_store_rc_e
integrations_store_pg_result(integrations_store_pg_t *s, PGresult **res,
    uint64_t deadline, char *err, size_t errlen)
{
    int             rc;
    PGresult       *r;
    ExecStatusType  st;

    *res = NULL;

    for ( ;; ) {
        while (PQisBusy(s->pg)) {
            rc = integrations_store_pg_wait(PQsocket(s->pg), POLLIN,
                                            deadline);
            if (rc == 0) {
                /* the query goes on: the connection is of no more use */
                s->broken = 1;
                if (*res) {
                    PQclear(*res);
                    *res = NULL;
                }

                snprintf(err, errlen, "the server did not answer in time");
                return INTEGRATIONS_STORE_TIMEOUT;
            }

            if (rc < 0 || !PQconsumeInput(s->pg)) {
                if (*res) {
                    PQclear(*res);
                    *res = NULL;
                }

                return integrations_store_pg_lost(s, "receive", err, errlen);
            }
        }

        r = PQgetResult(s->pg);

        if (r == NULL) {
            break;
        }

        st = PQresultStatus(r);

        if (*res == NULL) {
            *res = r;

        } else if ((st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR)
                   && PQresultStatus(*res) != PGRES_FATAL_ERROR)
        {
            /* a script's later statement failed: that is the result */
            PQclear(*res);
            *res = r;

        } else {
            PQclear(r);
        }
    }

    if (*res == NULL) {
        return integrations_store_pg_lost(s, "receive", err, errlen);
    }

    return INTEGRATIONS_STORE_OK;
}


/* 1 ready, 0 the deadline passed, -1 an error */

static int
integrations_store_pg_wait(int fd, short events, uint64_t deadline)
{
    int             rc;
    uint64_t        now;
    struct pollfd   pfd;

    if (fd < 0) {
        return -1;
    }

    for ( ;; ) {
        now = integrations_store_clock();

        if (now >= deadline) {
            return 0;
        }

        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;

        rc = poll(&pfd, 1, (int) (deadline - now));

        if (rc > 0) {
            return 1;
        }

        if (rc < 0 && errno != EINTR) {
            return -1;
        }
    }
}


/*
 * The server's error as the store's.  Only the primary message and the
 * SQLSTATE are kept: DETAIL lines may quote row values.
 */

static integrations_store_rc_e
integrations_store_pg_fail(integrations_store_pg_t *s, PGresult *res,
    const char *what, char *err, size_t errlen)
{
    const char              *state, *msg;
    integrations_store_rc_e  rc;

    if (PQstatus(s->pg) != CONNECTION_OK) {
        return integrations_store_pg_lost(s, what, err, errlen);
    }

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    if (state == NULL) {
        state = "";
    }

    rc = INTEGRATIONS_STORE_ERROR;

    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
        /* connection exceptions, the server shutting down */
        s->broken = 1;
        rc = INTEGRATIONS_STORE_UNAVAILABLE;

    } else if (strncmp(state, "53", 2) == 0      /* disk full, memory */
               || strncmp(state, "58", 2) == 0   /* I/O errors */
               || strncmp(state, "XX", 2) == 0   /* corruption */
               || strcmp(state, "25006") == 0)   /* a read-only standby */
    {
        rc = INTEGRATIONS_STORE_UNAVAILABLE;

    } else if (strcmp(state, "57014") == 0       /* statement_timeout */
               || strcmp(state, "55P03") == 0    /* lock not available */
               || strncmp(state, "40", 2) == 0)  /* serialization, deadlock */
    {
        rc = INTEGRATIONS_STORE_TIMEOUT;
    }

    if (err) {
        snprintf(err, errlen, "%s%s%s (SQLSTATE %s)", what ? what : "",
                 what ? ": " : "", msg ? msg : "error", state);
    }

    return rc;
}


static integrations_store_rc_e
integrations_store_pg_lost(integrations_store_pg_t *s, const char *what,
    char *err, size_t errlen)
{
    char  msg[160];

    s->broken = 1;

    if (err) {
        integrations_store_pg_line(msg, sizeof(msg), PQerrorMessage(s->pg));
        snprintf(err, errlen, "%s%sthe connection to the server failed: %s",
                 what ? what : "", what ? ": " : "",
                 msg[0] ? msg : "closed");
    }

    return INTEGRATIONS_STORE_UNAVAILABLE;
}


/* the first line of libpq's message */

static void
integrations_store_pg_line(char *dst, size_t size, const char *src)
{
    size_t  n;

    if (src == NULL) {
        dst[0] = '\0';
        return;
    }

    n = strcspn(src, "\n");

    if (n >= size) {
        n = size - 1;
    }

    memcpy(dst, src, n);
    dst[n] = '\0';
}


static void
integrations_store_pg_notice(void *arg, const char *message)
{
    (void) arg;
    (void) message;
}
