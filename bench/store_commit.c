/*
 * The cost of one durable commit, as the store makes it: a write
 * operation (the writer lock, BEGIN IMMEDIATE, one upsert, COMMIT with
 * the WAL fsynced) run n times in a row through integrations_store_db_run
 * on a database in DIR, and the same with synchronous=NORMAL for
 * comparison (what "stored" would cost without surviving a power loss).
 * With a PostgreSQL URL as the second argument, the same operation there.
 *
 *   build/bench/store_commit DIR [postgresql://...] [n]
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "integrations_store.h"
#include "integrations_store_db.h"


static double
run(const char *url, unsigned n, const char *label)
{
    char                       holder[32];
    uint64_t                   t0, t1;
    unsigned                   i;
    const char                *err;
    integrations_store_op_t    op;
    integrations_store_conf_t  conf;
    integrations_store_pool_t  pool;

    memset(&conf, 0, sizeof(conf));

    if (integrations_store_url_parse((const unsigned char *) url,
                                     strlen(url), &conf.url, &err) != 0)
    {
        fprintf(stderr, "%s: %s\n", url, err);
        exit(1);
    }

    conf.timeout = 5000;
    conf.connect_timeout = 5000;
    conf.pool = 1;

    integrations_store_pool_init(&pool, &conf);
    memset(&op, 0, sizeof(op));

    t0 = 0;

    for (i = 0; i <= n; i++) {
        if (i == 1) {
            t0 = integrations_store_clock_us();   /* after the first */
        }

        memset(&op, 0, sizeof(op));
        op.kind = INTEGRATIONS_STORE_OP_LEASE_ACQUIRE;
        op.now = integrations_store_wall_clock();
        op.deadline = integrations_store_clock() + 5000;
        snprintf(holder, sizeof(holder), "bench-%u", i);
        op.in.lease.name.data = (const unsigned char *) "bench";
        op.in.lease.name.len = 5;
        op.in.lease.holder.data = (const unsigned char *) holder;
        op.in.lease.holder.len = strlen(holder);
        op.in.lease.ttl_ms = 0;          /* expired at once: always taken */

        integrations_store_db_run(&pool, &op);

        if (op.rc != INTEGRATIONS_STORE_OK) {
            fprintf(stderr, "%s: %s\n", label, op.error);
            exit(1);
        }
    }

    t1 = integrations_store_clock_us();
    integrations_store_pool_destroy(&pool);

    printf("%-36s %8.1f us per commit (%u commits)\n", label,
           (double) (t1 - t0) / n, n);

    return (double) (t1 - t0) / n;
}


int
main(int argc, char **argv)
{
    char      url[1024], path[1024];
    unsigned  n;
    sqlite3  *db;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [postgresql://...] [n]\n", argv[0]);
        return 2;
    }

    n = (argc > 3) ? (unsigned) atoi(argv[3]) : 2000;

    snprintf(path, sizeof(path), "%s/commit.db", argv[1]);
    snprintf(url, sizeof(url), "sqlite:%s", path);
    run(url, n, "sqlite WAL, synchronous=FULL");

    /* the same file, with the pragma a connection of our own sets */

    if (sqlite3_open(path, &db) == SQLITE_OK) {
        uint64_t  t0;
        unsigned  i;

        sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
        t0 = integrations_store_clock_us();

        for (i = 0; i < n; i++) {
            sqlite3_exec(db, "BEGIN IMMEDIATE;UPDATE integrations_leases SET"
                         " expires_at = expires_at + 1;COMMIT", NULL, NULL,
                         NULL);
        }

        printf("%-36s %8.1f us per commit (%u commits)\n",
               "sqlite WAL, synchronous=NORMAL", (double)
               (integrations_store_clock_us() - t0) / n, n);
        sqlite3_close(db);
    }

    if (argc > 2 && argv[2][0]) {
        run(argv[2], n, "postgresql (fsync on)");
    }

    return 0;
}
