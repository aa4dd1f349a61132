/*
 * Unit tests of the store's pure core: URL parsing (and bad input),
 * request hashing, key scoping, the migration list and its ordering, the
 * SQL table's placeholders.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tap.h"
#include "integrations_codec.h"
#include "integrations_store.h"


static int
t_url(const char *s, integrations_store_url_t *u, const char **err)
{
    int             rc;
    size_t          len;
    unsigned char  *copy;

    /* an exact-size copy: a read past the end shows under valgrind */

    len = strlen(s);
    copy = malloc(len ? len : 1);
    memcpy(copy, s, len);

    *err = NULL;
    rc = integrations_store_url_parse(copy, len, u, err);

    free(copy);

    return rc;
}


static void
test_url_good(void)
{
    const char               *err;
    integrations_store_url_t  u;

    ok(t_url("sqlite:/var/lib/nginx/store.db", &u, &err) == 0
       && u.backend == INTEGRATIONS_STORE_SQLITE, "sqlite: absolute path");
    is_str(u.path, "/var/lib/nginx/store.db", "  the path as given");

    ok(t_url("sqlite:build/run/store.db", &u, &err) == 0, "sqlite: relative");
    is_str(u.path, "build/run/store.db", "  kept relative (glue resolves)");

    ok(t_url("postgresql://gw@db.internal:5433/payments", &u, &err) == 0
       && u.backend == INTEGRATIONS_STORE_POSTGRESQL, "postgresql URL");
    is_str(u.user, "gw", "  user");
    is_str(u.host, "db.internal", "  host");
    is_int(u.port, 5433, "  port");
    is_str(u.dbname, "payments", "  database");
    is_str(u.sslmode, "", "  no sslmode");

    ok(t_url("postgres://gw@10.0.0.5/db?sslmode=verify-full", &u, &err) == 0,
       "postgres:// with sslmode, default port");
    is_int(u.port, 5432, "  port 5432");
    is_str(u.sslmode, "verify-full", "  sslmode");
    is_str(u.host, "10.0.0.5", "  IPv4 host");

    ok(t_url("postgresql://gw@[::1]:6000/db", &u, &err) == 0, "IPv6 host");
    is_str(u.host, "::1", "  without brackets");
    is_int(u.port, 6000, "  its port");

    ok(t_url("postgresql://gw@%2Ftmp%2Fpg.sock/db", &u, &err) == 0,
       "a percent-encoded socket directory");
    is_str(u.host, "/tmp/pg.sock", "  decoded");

    ok(t_url("postgresql://my%2Buser@h/my%2Ddb", &u, &err) == 0,
       "percent-encoded user and database");
    is_str(u.user, "my+user", "  user decoded");
    is_str(u.dbname, "my-db", "  database decoded");
}


static void
test_url_bad(void)
{
    size_t                    i;
    const char               *err;
    integrations_store_url_t  u;

    static const char  *bad[] = {
        "",
        "sqlite:",
        "sqlite://var/db",
        "sqlite::memory:",
        "sqlite:/var/lib/",
        "sqlite:/var/\x01lib",
        "mysql://u@h/db",
        "postgresql://",
        "postgresql://h/db",                      /* no user */
        "postgresql://@h/db",
        "postgresql://u:secret@h/db",             /* a password */
        "postgresql://u@/db",                     /* no host */
        "postgresql://u@h",                       /* no database */
        "postgresql://u@h/",
        "postgresql://u@h:0/db",
        "postgresql://u@h:65536/db",
        "postgresql://u@h:12x/db",
        "postgresql://u@h:/db",
        "postgresql://u@h:123456/db",
        "postgresql://u@[::1/db",
        "postgresql://u@[]/db",
        "postgresql://u@[::1]x/db",
        "postgresql://u@[::g]/db",
        "postgresql://u@h_x/db",
        "postgresql://u@h..x/db",
        "postgresql://u@h/db/x",
        "postgresql://u@h/db?sslmode=maybe",
        "postgresql://u@h/db?password=x",
        "postgresql://u@h/db?sslmode",
        "postgresql://u@h/db#frag",
        "postgresql://u@h/d b",
        "postgresql://u@v@h/db",
        "postgresql://u@h/%zz",
        "postgresql://u@h/%00",
        "postgresql://u%20x@h/db",
        "postgresql://uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
            "uuuuuuuuuuu@h/db",
        NULL
    };

    for (i = 0; bad[i]; i++) {
        ok(t_url(bad[i], &u, &err) == -1 && err != NULL,
           "refused: \"%s\" (%s)", bad[i], err ? err : "no reason");
    }

    t_url("postgresql://u:pw@h/db", &u, &err);
    ok(err && strstr(err, "password_file"), "a password says password_file=");
}


static void
test_hash(void)
{
    char           a[INTEGRATIONS_STORE_HASH_LEN + 1],
                   b[INTEGRATIONS_STORE_HASH_LEN + 1];
    unsigned char  md[32], hex[64];
    unsigned int   n;
    EVP_MD_CTX    *ctx;

#define H(m, p, bd, out)                                                      \
    integrations_store_request_hash((const unsigned char *) m, strlen(m),     \
        (const unsigned char *) p, strlen(p), (const unsigned char *) bd,     \
        strlen(bd), out)

    H("POST", "/payments", "{\"amount\":1}", a);
    H("POST", "/payments", "{\"amount\":1}", b);
    is_int(strlen(a), 64, "a hash is 64 hex digits");
    is_str(a, b, "the same request hashes alike");

    H("POST", "/payments", "{\"amount\":2}", b);
    ok(strcmp(a, b) != 0, "another body, another hash");

    H("PUT", "/payments", "{\"amount\":1}", b);
    ok(strcmp(a, b) != 0, "another method, another hash");

    H("POST", "/payments/stripe/pi_1/refund", "{\"amount\":1}", b);
    ok(strcmp(a, b) != 0, "another path, another hash");

    /* bytes shifted between fields do not collide */

    H("POST", "/pay", "ments{\"amount\":1}", b);
    ok(strcmp(a, b) != 0, "path/body boundary is part of the hash");

    H("POS", "T/payments", "{\"amount\":1}", b);
    ok(strcmp(a, b) != 0, "method/path boundary is part of the hash");

    /* the definition: SHA-256 of 8-byte lengths and bytes */

    ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, "\0\0\0\0\0\0\0\4POST", 12);
    EVP_DigestUpdate(ctx, "\0\0\0\0\0\0\0\x09/payments", 17);
    EVP_DigestUpdate(ctx, "\0\0\0\0\0\0\0\0", 8);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    integrations_codec_hex_encode(hex, md, 32);

    H("POST", "/payments", "", a);
    ok(memcmp(a, hex, 64) == 0, "the hash is SHA-256 over length-prefixed "
       "fields");

    H("POST", "/payments", "", b);
    is_str(a, b, "an empty body hashes");

#undef H
}


static void
test_scope(void)
{
    char  a[INTEGRATIONS_STORE_HASH_LEN + 1], b[INTEGRATIONS_STORE_HASH_LEN + 1];

    integrations_store_key_scope("payments", (const unsigned char *) "", 0,
                                 a);
    integrations_store_key_scope("payments", (const unsigned char *) "", 0,
                                 b);
    is_str(a, b, "one scope for no identity");
    is_int(strlen(a), 64, "a scope is 64 hex digits");

    integrations_store_key_scope("payments", (const unsigned char *) "alice",
                                 5, b);
    ok(strcmp(a, b) != 0, "an identity is a scope of its own");

    integrations_store_key_scope("payments", (const unsigned char *) "alice",
                                 5, a);
    is_str(a, b, "the same identity, the same scope");

    integrations_store_key_scope("payments", (const unsigned char *) "bob",
                                 3, b);
    ok(strcmp(a, b) != 0, "two identities, two scopes");

    integrations_store_key_scope("notify", (const unsigned char *) "alice",
                                 5, b);
    ok(strcmp(a, b) != 0, "two features, two scopes");

    ok(strstr(a, "alice") == NULL, "the identity is not in the scope");

    ok(integrations_store_key_valid((const unsigned char *) "k-1_A", 5),
       "a key is valid");
    ok(!integrations_store_key_valid((const unsigned char *) "", 0),
       "an empty key is not");
    ok(!integrations_store_key_valid((const unsigned char *) "a b", 3),
       "a key with a space is not");
    ok(!integrations_store_key_valid((const unsigned char *) "a\x80", 2),
       "a key with a non-ASCII byte is not");

    {
        unsigned char  k[300];

        memset(k, 'k', sizeof(k));
        ok(integrations_store_key_valid(k, 255), "255 bytes are valid");
        ok(!integrations_store_key_valid(k, 256), "256 are not");
    }
}


static void
test_migrations(void)
{
    size_t                                 first;
    const integrations_store_migration_t  *m;
    unsigned                               latest;

    static const integrations_store_migration_t  gap[] = {
        { 1, "a", "x", "x" }, { 3, "b", "x", "x" }
    };
    static const integrations_store_migration_t  order[] = {
        { 2, "a", "x", "x" }, { 1, "b", "x", "x" }
    };
    static const integrations_store_migration_t  half[] = {
        { 1, "a", "x", "x" }, { 2, "b", "x", NULL }
    };
    static const integrations_store_migration_t  dup[] = {
        { 1, "a", "x", "x" }, { 1, "b", "x", "x" }
    };

    m = integrations_store_migrations;

    is_int(integrations_store_migrations_check(m,
               integrations_store_nmigrations), 0,
           "the module's migrations are 1..n in order, both backends");
    ok(integrations_store_nmigrations >= 2, "leases and idempotency exist");

    is_int(integrations_store_migrations_check(gap, 2), 2, "a gap is found");
    is_int(integrations_store_migrations_check(order, 2), 1,
           "an order out of sequence is found");
    is_int(integrations_store_migrations_check(half, 2), 2,
           "a migration without a PostgreSQL text is found");
    is_int(integrations_store_migrations_check(dup, 2), 2,
           "a duplicate version is found");

    latest = integrations_store_schema_latest(m,
                                              integrations_store_nmigrations);
    is_int(latest, integrations_store_nmigrations, "the latest is the last");

    ok(integrations_store_migrations_pending(m,
           integrations_store_nmigrations, 0, &first) == 0 && first == 0,
       "a fresh database gets all of them");
    ok(integrations_store_migrations_pending(m,
           integrations_store_nmigrations, 1, &first) == 0 && first == 1,
       "a database at 1 gets the rest");
    ok(integrations_store_migrations_pending(m,
           integrations_store_nmigrations, latest, &first) == 0
       && first == integrations_store_nmigrations,
       "a current database gets none");
    ok(integrations_store_migrations_pending(m,
           integrations_store_nmigrations, latest + 1, &first) == -1,
       "a newer database is refused");
}


static void
test_sql(void)
{
    unsigned                         i;
    const integrations_store_sql_t  *s;

    for (i = 0; i < INTEGRATIONS_STORE_NSTMTS; i++) {
        s = integrations_store_sql((integrations_store_stmt_e) i);

        ok(s != NULL && s->sqlite && s->postgresql, "statement %u has both "
           "texts", i);

        if (s == NULL) {
            continue;
        }

        ok(integrations_store_sql_check(s->sqlite, '?', s->nparams) == 0,
           "  SQLite text numbers ?1..?%u", s->nparams);
        ok(integrations_store_sql_check(s->postgresql, '$', s->nparams) == 0,
           "  PostgreSQL text numbers $1..$%u", s->nparams);
        is_str(integrations_store_sql_text(INTEGRATIONS_STORE_SQLITE,
                                           (integrations_store_stmt_e) i),
               s->sqlite, "  sql_text(sqlite)");
    }

    ok(integrations_store_sql((integrations_store_stmt_e)
                              INTEGRATIONS_STORE_NSTMTS) == NULL,
       "no statement past the table");

    ok(integrations_store_sql_check("a = ?1 AND b = ?3", '?', 3) == -1,
       "a missing placeholder is found");
    ok(integrations_store_sql_check("a = $1", '?', 1) == -1,
       "the other backend's sigil is found");
    ok(integrations_store_sql_check("a = ?4", '?', 3) == -1,
       "a placeholder past nparams is found");
    ok(integrations_store_sql_check("a = '?1' AND b = ?1", '?', 1) == 0,
       "literals are skipped");

    is_str(integrations_store_kind_name(INTEGRATIONS_STORE_OP_IDEM_BEGIN),
           "idem_begin", "operation names for metrics");
    is_str(integrations_store_kind_name(INTEGRATIONS_STORE_NKINDS),
           "unknown", "  and none past the list");
    is_str(integrations_store_rc_name(INTEGRATIONS_STORE_UNAVAILABLE),
           "unavailable", "outcome names for metrics");
}


int
main(void)
{
    test_url_good();
    test_url_bad();
    test_hash();
    test_scope();
    test_migrations();
    test_sql();

    return done_testing();
}
