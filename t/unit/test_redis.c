/*
 * Unit tests of the Redis client's core: the RESP2 codec, URLs, and the
 * cluster GCRA script, the last two against a real redis-server started
 * here (no TCP port, a unix socket in a temporary directory, no
 * persistence), spoken to through the codec under test.
 */

#include "tap.h"
#include "integrations_gcra.h"
#include "integrations_gcra_cluster.h"
#include "integrations_redis.h"
#include "integrations_resp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>


static const unsigned char *
u(const char *s)
{
    return (const unsigned char *) s;
}


static int
parse(const char *s, integrations_resp_reply_t *r, size_t *used)
{
    const char  *err;

    err = NULL;
    return integrations_resp_parse(u(s), strlen(s), r, used, &err);
}


static void
test_encode(void)
{
    unsigned char         buf[256], *end;
    size_t                lens[3], n;
    const unsigned char  *argv[3];

    argv[0] = u("SET");
    lens[0] = 3;
    argv[1] = u("k\r\n\0x");
    lens[1] = 5;
    argv[2] = u("");
    lens[2] = 0;

    n = integrations_resp_command_len(3, argv, lens);
    end = integrations_resp_command(buf, 3, argv, lens);

    is_int(end - buf, n, "command length as computed");
    ok(n == sizeof("*3\r\n$3\r\nSET\r\n$5\r\nk\r\n\0x\r\n$0\r\n\r\n") - 1
       && memcmp(buf, "*3\r\n$3\r\nSET\r\n$5\r\nk\r\n\0x\r\n$0\r\n\r\n", n)
          == 0,
       "binary-safe bulk strings, an empty one");

    argv[0] = u("0123456789");
    lens[0] = 10;
    n = integrations_resp_command_len(1, argv, lens);
    end = integrations_resp_command(buf, 1, argv, lens);
    ok(n == 21 && memcmp(buf, "*1\r\n$10\r\n0123456789\r\n", 21) == 0,
       "two-digit length");
}


static void
test_parse(void)
{
    int                         rc;
    size_t                      used, i, len;
    const char                 *err, *s;
    integrations_resp_reply_t   r;

    rc = parse("+OK\r\n", &r, &used);
    ok(rc == INTEGRATIONS_RESP_OK && used == 5 && r.n == 1
       && r.v[0].type == INTEGRATIONS_RESP_STATUS && r.v[0].len == 2
       && memcmp(r.v[0].data, "OK", 2) == 0, "status");

    rc = parse("-NOSCRIPT No matching script. Please use EVAL.\r\n", &r,
               &used);
    ok(rc == INTEGRATIONS_RESP_OK
       && integrations_resp_is_error(&r.v[0], "NOSCRIPT")
       && !integrations_resp_is_error(&r.v[0], "NOSCRIP")
       && !integrations_resp_is_error(&r.v[0], "ERR"), "error and its code");

    rc = parse(":-9223372036854775808\r\n", &r, &used);
    ok(rc == INTEGRATIONS_RESP_OK && r.v[0].integer == INT64_MIN,
       "smallest integer");
    rc = parse(":9223372036854775807\r\n", &r, &used);
    ok(rc == INTEGRATIONS_RESP_OK && r.v[0].integer == INT64_MAX,
       "largest integer");
    is_int(parse(":9223372036854775808\r\n", &r, &used),
           INTEGRATIONS_RESP_INVALID, "integer overflow refused");
    is_int(parse(":\r\n", &r, &used), INTEGRATIONS_RESP_INVALID,
           "empty integer refused");
    is_int(parse(":1x\r\n", &r, &used), INTEGRATIONS_RESP_INVALID,
           "junk in integer refused");

    rc = parse("$-1\r\n", &r, &used);
    ok(rc == INTEGRATIONS_RESP_OK && r.v[0].type == INTEGRATIONS_RESP_NIL,
       "nil bulk");
    rc = parse("*-1\r\n", &r, &used);
    ok(rc == INTEGRATIONS_RESP_OK && r.v[0].type == INTEGRATIONS_RESP_NIL,
       "nil array");
    rc = parse("$0\r\n\r\n", &r, &used);
    ok(rc == INTEGRATIONS_RESP_OK && r.v[0].type == INTEGRATIONS_RESP_BULK
       && r.v[0].len == 0 && used == 6, "empty bulk");

    s = "$5\r\na\r\nb\0\r\n";
    err = NULL;
    rc = integrations_resp_parse(u(s), 11, &r, &used, &err);
    ok(rc == INTEGRATIONS_RESP_OK && r.v[0].len == 5
       && memcmp(r.v[0].data, "a\r\nb\0", 5) == 0 && used == 11,
       "bulk with CRLF and NUL inside");

    is_int(parse("$3\r\nabcd\r\n", &r, &used), INTEGRATIONS_RESP_INVALID,
           "bulk longer than said refused");
    is_int(parse("$65537\r\n", &r, &used), INTEGRATIONS_RESP_INVALID,
           "bulk over the maximum refused");
    is_int(parse("$-2\r\n", &r, &used), INTEGRATIONS_RESP_INVALID,
           "negative bulk length refused");
    is_int(parse("%1\r\n", &r, &used), INTEGRATIONS_RESP_INVALID,
           "RESP3 map refused");
    is_int(parse("+O\nK\r\n", &r, &used), INTEGRATIONS_RESP_INVALID,
           "bare LF refused");
    is_int(parse("+O\rK\r\n", &r, &used), INTEGRATIONS_RESP_INVALID,
           "bare CR refused");

    s = "*4\r\n:1\r\n:0\r\n*2\r\n$1\r\nx\r\n*0\r\n:7\r\n+NEXT\r\n";
    rc = parse(s, &r, &used);
    ok(rc == INTEGRATIONS_RESP_OK && r.n == 7
       && r.v[0].type == INTEGRATIONS_RESP_ARRAY && r.v[0].integer == 4
       && r.v[1].integer == 1 && r.v[2].integer == 0
       && r.v[3].type == INTEGRATIONS_RESP_ARRAY && r.v[3].integer == 2
       && r.v[4].type == INTEGRATIONS_RESP_BULK
       && r.v[5].type == INTEGRATIONS_RESP_ARRAY && r.v[5].integer == 0
       && r.v[6].integer == 7 && used == strlen(s) - 7,
       "nested arrays in pre-order, the next reply left");

    /* every proper prefix is incomplete, not invalid */

    len = strlen(s) - 7;

    for (i = 0; i < len; i++) {
        err = NULL;
        rc = integrations_resp_parse(u(s), i, &r, &used, &err);
        if (rc != INTEGRATIONS_RESP_AGAIN) {
            break;
        }
    }

    is_int(i, len, "each prefix of a reply asks for more");

    is_int(parse("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", &r, &used),
           INTEGRATIONS_RESP_INVALID, "five levels of arrays refused");
    ok(parse("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", &r, &used)
       == INTEGRATIONS_RESP_OK && r.n == 5, "four levels accepted");
    is_int(parse("*16\r\n", &r, &used), INTEGRATIONS_RESP_INVALID,
           "an array of more values than a reply holds refused");

    {
        char  line[2100];

        line[0] = '+';
        memset(line + 1, 'a', 2000);
        line[2001] = '\0';
        is_int(parse(line, &r, &used), INTEGRATIONS_RESP_INVALID,
               "an endless status line refused before its end");
    }
}


static void
test_url(void)
{
    const char                *err;
    integrations_redis_url_t   url;

#define URL(s)  integrations_redis_url_parse(u(s), strlen(s), &url)

    err = URL("redis://127.0.0.1:6380/2");
    ok(err == NULL && !url.unix_socket && url.host_len == 9
       && memcmp(url.host, "127.0.0.1", 9) == 0 && url.port == 6380
       && url.db == 2, "host, port, db");

    err = URL("redis://redis.internal");
    ok(err == NULL && url.port == 6379 && url.db == 0 && url.host_len == 14,
       "defaults");

    err = URL("redis://[::1]:7000/");
    ok(err == NULL && url.host_len == 3 && memcmp(url.host, "::1", 3) == 0
       && url.port == 7000 && url.db == 0, "IPv6, empty db");

    err = URL("unix:/tmp/r.sock");
    ok(err == NULL && url.unix_socket && url.host_len == 11
       && url.db == 0, "unix socket");

    err = URL("unix:/tmp/r.sock?db=3");
    ok(err == NULL && url.unix_socket && url.host_len == 11 && url.db == 3,
       "unix socket with db");

    ok(URL("redis://:secret@host") != NULL, "password in the URL refused");
    is_str(URL("redis://u:p@h:1/0"),
           "a password in the URL is refused, use password_file=",
           "the message says why");
    ok(URL("redis://host:0") != NULL, "port 0 refused");
    ok(URL("redis://host:65536") != NULL, "port over 65535 refused");
    ok(URL("redis://host:") != NULL, "empty port refused");
    ok(URL("redis://host/x") != NULL, "db not a number refused");
    ok(URL("redis://host/10000") != NULL, "db too large refused");
    ok(URL("redis://") != NULL, "no host refused");
    ok(URL("redis://[::1") != NULL, "unclosed IPv6 refused");
    ok(URL("redis://ho st") != NULL, "space refused");
    ok(URL("unix:tmp/r.sock") != NULL, "relative socket path refused");
    ok(URL("unix:/tmp/r.sock?x=1") != NULL, "unknown socket parameter");
    ok(URL("http://host") != NULL, "other scheme refused");
    ok(URL("rediss://host") != NULL, "TLS scheme refused");
}


static void
test_cluster_core(void)
{
    int64_t                     v[4];
    uint64_t                    t, tau, ahead;
    const char                 *err;
    integrations_gcra_params_t  p, local;
    integrations_gcra_result_t  res;

    integrations_gcra_params_init(&p, 10, 1000, 5);
    integrations_gcra_cluster_args(&p, &t, &tau);
    ok(t == 100000 && tau == 500000, "10r/s burst=5: T 100 ms, tau 500 ms");

    integrations_gcra_params_init(&p, 3, 1000, 0);
    integrations_gcra_cluster_args(&p, &t, &tau);
    is_int(t, 333334, "3r/s: T rounded up to a whole microsecond");

    integrations_gcra_params_init(&p, 10, 1000, 5);

    v[0] = 1; v[1] = 1500; v[2] = 101500; v[3] = 4;
    err = integrations_gcra_cluster_result(v, 4, &p, INTEGRATIONS_GCRA_DELAY,
                                           &res, &ahead);
    ok(err == NULL && res.verdict == INTEGRATIONS_GCRA_DELAYED
       && res.delay == 2 && res.reset == 102 && ahead == 102
       && res.remaining == 4 && res.limit == 6, "delayed, rounded up");

    err = integrations_gcra_cluster_result(v, 4, &p,
                                           INTEGRATIONS_GCRA_NODELAY, &res,
                                           &ahead);
    ok(err == NULL && res.verdict == INTEGRATIONS_GCRA_PASSED
       && res.delay == 0, "nodelay: passed");

    v[0] = 0; v[1] = 1; v[2] = 600001; v[3] = 0;
    err = integrations_gcra_cluster_result(v, 4, &p,
                                           INTEGRATIONS_GCRA_NODELAY, &res,
                                           &ahead);
    ok(err == NULL && res.verdict == INTEGRATIONS_GCRA_REJECTED
       && res.retry_after == 1 && res.reset == 601, "rejected");

    v[0] = 2;
    ok(integrations_gcra_cluster_result(v, 4, &p, INTEGRATIONS_GCRA_NODELAY,
                                        &res, &ahead) != NULL,
       "a verdict other than 0 and 1 refused");
    v[0] = 1; v[1] = -1;
    ok(integrations_gcra_cluster_result(v, 4, &p, INTEGRATIONS_GCRA_NODELAY,
                                        &res, &ahead) != NULL,
       "a negative time refused");
    ok(integrations_gcra_cluster_result(v, 3, &p, INTEGRATIONS_GCRA_NODELAY,
                                        &res, &ahead) != NULL,
       "three values refused");

    /* one TAKE of 10 at 10r/s burst=5 on a fresh key: 6 admitted */

    {
        int64_t  b[4] = { 6, 0, 600000, 0 }, one[4];

        err = integrations_gcra_cluster_nth(b, 4, 10, 0, 100000, 500000, one);
        ok(err == NULL && one[0] == 1 && one[1] == 0 && one[2] == 100000
           && one[3] == 5, "the first of a batch: as a fresh key's TAKE");
        err = integrations_gcra_cluster_nth(b, 4, 10, 5, 100000, 500000, one);
        ok(err == NULL && one[0] == 1 && one[1] == 500000
           && one[2] == 600000 && one[3] == 0,
           "the sixth: admitted, 500 ms behind, none left");
        err = integrations_gcra_cluster_nth(b, 4, 10, 6, 100000, 500000, one);
        ok(err == NULL && one[0] == 0 && one[1] == 100000
           && one[2] == 600000 && one[3] == 0,
           "the seventh: rejected, retry in T");

        b[0] = 0; b[1] = 2000; b[2] = 502000;
        err = integrations_gcra_cluster_nth(b, 4, 10, 3, 100000, 500000, one);
        ok(err == NULL && one[0] == 0 && one[1] == 2000 && one[2] == 502000,
           "none admitted: each the batch's wait");

        b[0] = 11;
        ok(integrations_gcra_cluster_nth(b, 4, 10, 0, 100000, 500000, one)
           != NULL, "more admitted than asked refused");
        b[0] = 1;
        ok(integrations_gcra_cluster_nth(b, 4, 10, 10, 100000, 500000, one)
           != NULL, "an index past the batch refused");
    }

    err = integrations_gcra_cluster_local(&p, 3, &local);
    ok(err == NULL && local.count == 10 && local.period == 3000
       && local.burst == 1, "nodes=3: a third of the rate and burst");

    integrations_gcra_params_init(&p, 1, 60000, 0);
    ok(integrations_gcra_cluster_local(&p, 2000, &local) != NULL,
       "a share below one a day refused");
}


/* a real redis-server, through the codec */

typedef struct {
    char   dir[64];
    char   sock[128];
    pid_t  pid;
    int    fd;
    char   in[65536];
    size_t len;
    size_t used;     /* by the last reply, dropped at the next read */
} redis_t;


static int
redis_start(redis_t *rs)
{
    int                 i;
    struct sockaddr_un  sa;

    strcpy(rs->dir, "/tmp/test-redis-XXXXXX");
    if (mkdtemp(rs->dir) == NULL) {
        return -1;
    }

    snprintf(rs->sock, sizeof(rs->sock), "%s/r.sock", rs->dir);

    rs->pid = fork();
    if (rs->pid == 0) {
        int  null = open("/dev/null", O_WRONLY);

        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", "--port", "0",
               "--unixsocket", rs->sock, "--save", "", "--appendonly", "no",
               "--dir", rs->dir, (char *) NULL);
        _exit(127);
    }

    for (i = 0; i < 200; i++) {
        rs->fd = socket(AF_UNIX, SOCK_STREAM, 0);
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        strcpy(sa.sun_path, rs->sock);

        if (connect(rs->fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
            rs->len = 0;
            rs->used = 0;
            return 0;
        }

        close(rs->fd);
        usleep(20000);
    }

    return -1;
}


static void
redis_stop(redis_t *rs)
{
    char  path[192];

    close(rs->fd);
    kill(rs->pid, SIGTERM);
    waitpid(rs->pid, NULL, 0);
    snprintf(path, sizeof(path), "%s/r.sock", rs->dir);
    unlink(path);
    rmdir(rs->dir);
}


static void
redis_send(redis_t *rs, size_t argc, const char **args, const size_t *lens0)
{
    size_t                i, n, lens[16];
    unsigned char        *buf;
    const unsigned char  *argv[16];

    for (i = 0; i < argc; i++) {
        argv[i] = u(args[i]);
        lens[i] = lens0 ? lens0[i] : strlen(args[i]);
    }

    n = integrations_resp_command_len(argc, argv, lens);
    buf = malloc(n);
    integrations_resp_command(buf, argc, argv, lens);

    if (write(rs->fd, buf, n) != (ssize_t) n) {
        diag("write: %s", strerror(errno));
    }

    free(buf);
}


/* reads until one reply parses; the bytes stay in rs->in until next */

static int
redis_reply(redis_t *rs, integrations_resp_reply_t *r)
{
    int          rc;
    size_t       used;
    ssize_t      n;
    const char  *err;

    memmove(rs->in, rs->in + rs->used, rs->len - rs->used);
    rs->len -= rs->used;
    rs->used = 0;

    for ( ;; ) {
        err = NULL;
        rc = integrations_resp_parse(u(rs->in), rs->len, r, &used, &err);

        if (rc == INTEGRATIONS_RESP_OK) {
            /* the caller reads r now: dropped at the next call */
            rs->used = used;
            return 0;
        }

        if (rc == INTEGRATIONS_RESP_INVALID) {
            diag("invalid reply: %s", err);
            return -1;
        }

        n = read(rs->fd, rs->in + rs->len, sizeof(rs->in) - rs->len);
        if (n <= 0) {
            return -1;
        }

        rs->len += n;
    }
}



static int
redis_ints(redis_t *rs, int64_t *v, size_t max, size_t *n)
{
    size_t                     i;
    integrations_resp_reply_t  r;

    if (redis_reply(rs, &r) != 0 || r.v[0].type != INTEGRATIONS_RESP_ARRAY) {
        return -1;
    }

    *n = 0;

    for (i = 1; i < r.n && *n < max; i++) {
        if (r.v[i].type != INTEGRATIONS_RESP_INTEGER) {
            return -1;
        }

        v[(*n)++] = r.v[i].integer;
    }

    return 0;
}


static void
gcra_call(redis_t *rs, const char *sha, const char *key,
    const integrations_gcra_params_t *p, int op, int n)
{
    char         targ[32], tauarg[32], oparg[4], narg[16];
    uint64_t     t, tau;
    const char  *args[8];

    integrations_gcra_cluster_args(p, &t, &tau);
    snprintf(targ, sizeof(targ), "%llu", (unsigned long long) t);
    snprintf(tauarg, sizeof(tauarg), "%llu", (unsigned long long) tau);
    snprintf(oparg, sizeof(oparg), "%d", op);
    snprintf(narg, sizeof(narg), "%d", n);

    args[0] = "EVALSHA";
    args[1] = sha;
    args[2] = "1";
    args[3] = key;
    args[4] = targ;
    args[5] = tauarg;
    args[6] = oparg;
    args[7] = narg;

    redis_send(rs, 8, args, NULL);
}


static void
test_real_redis(void)
{
    int                         i, admitted, again;
    char                        sha[41];
    size_t                      n;
    int64_t                     v[8];
    unsigned char               md[SHA_DIGEST_LENGTH];
    const char                 *args[8];
    redis_t                     rs;
    integrations_gcra_params_t  p;
    integrations_resp_reply_t   r;

    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        ok(0, "redis-server is installed (make deps installs it)");
        return;
    }

    if (redis_start(&rs) != 0) {
        ok(0, "redis-server started");
        return;
    }

    args[0] = "PING";
    redis_send(&rs, 1, args, NULL);
    ok(redis_reply(&rs, &r) == 0 && r.v[0].type == INTEGRATIONS_RESP_STATUS
       && r.v[0].len == 4 && memcmp(r.v[0].data, "PONG", 4) == 0, "PING");

    {
        size_t  lens[3] = { 3, 5, 6 };

        args[0] = "SET";
        args[1] = "b\0\r\nk";
        args[2] = "v\0\r\n\1\2";
        redis_send(&rs, 3, args, lens);
        ok(redis_reply(&rs, &r) == 0
           && r.v[0].type == INTEGRATIONS_RESP_STATUS, "SET binary key");

        args[0] = "GET";
        redis_send(&rs, 2, args, lens);
        ok(redis_reply(&rs, &r) == 0 && r.v[0].type == INTEGRATIONS_RESP_BULK
           && r.v[0].len == 6 && memcmp(r.v[0].data, "v\0\r\n\1\2", 6) == 0,
           "GET gives the binary value back");
    }

    /* SET NX PX GET: the replay mark of webhook_dedupe_zone */

    args[0] = "SET"; args[1] = "dd"; args[2] = "f1"; args[3] = "NX";
    args[4] = "PX"; args[5] = "60000"; args[6] = "GET";
    redis_send(&rs, 7, args, NULL);
    ok(redis_reply(&rs, &r) == 0 && r.v[0].type == INTEGRATIONS_RESP_NIL,
       "SET NX GET on a new key: nil, set");
    args[2] = "f2";
    redis_send(&rs, 7, args, NULL);
    ok(redis_reply(&rs, &r) == 0 && r.v[0].type == INTEGRATIONS_RESP_BULK
       && r.v[0].len == 2 && memcmp(r.v[0].data, "f1", 2) == 0,
       "SET NX GET on a taken key: the old value, not set");

    /* the script: EVALSHA before it is loaded says NOSCRIPT */

    SHA1(u(integrations_gcra_cluster_script),
         strlen(integrations_gcra_cluster_script), md);

    for (i = 0; i < SHA_DIGEST_LENGTH; i++) {
        snprintf(sha + 2 * i, 3, "%02x", md[i]);
    }

    integrations_gcra_params_init(&p, 10, 1000, 5);

    gcra_call(&rs, sha, "rl", &p, INTEGRATIONS_GCRA_CLUSTER_TAKE, 0);
    ok(redis_reply(&rs, &r) == 0
       && integrations_resp_is_error(&r.v[0], "NOSCRIPT"),
       "EVALSHA of an unknown script: NOSCRIPT");

    args[0] = "SCRIPT"; args[1] = "LOAD";
    args[2] = integrations_gcra_cluster_script;
    redis_send(&rs, 3, args, NULL);
    ok(redis_reply(&rs, &r) == 0 && r.v[0].type == INTEGRATIONS_RESP_BULK
       && r.v[0].len == 40 && memcmp(r.v[0].data, sha, 40) == 0,
       "SCRIPT LOAD gives the SHA1 the client computes");

    /* CHECK leaves the key alone */

    gcra_call(&rs, sha, "rl", &p, INTEGRATIONS_GCRA_CLUSTER_CHECK, 0);
    ok(redis_ints(&rs, v, 8, &n) == 0 && n == 4 && v[0] == 1 && v[3] == 5,
       "CHECK on a fresh key: admitted, 5 more");
    gcra_call(&rs, sha, "rl", &p, INTEGRATIONS_GCRA_CLUSTER_CHECK, 0);
    ok(redis_ints(&rs, v, 8, &n) == 0 && v[0] == 1 && v[3] == 5,
       "and again: CHECK wrote nothing");

    /* 100 TAKEs pipelined in one write: burst + 1 admitted */

    for (i = 0; i < 100; i++) {
        gcra_call(&rs, sha, "rl", &p, INTEGRATIONS_GCRA_CLUSTER_TAKE, 0);
    }

    admitted = 0;
    again = 0;

    for (i = 0; i < 100; i++) {
        if (redis_ints(&rs, v, 8, &n) != 0 || n != 4) {
            break;
        }

        admitted += (int) v[0];

        if (v[0] == 0 && v[1] > 0 && v[1] <= 100000) {
            again++;
        }
    }

    ok(admitted >= 6 && admitted <= 7,
       "100 pipelined TAKEs at 10r/s burst=5: 6 admitted (7 if a 100 ms "
       "tick passed): %d", admitted);
    ok(again >= 90, "the rejected ones retry within T: %d", again);

    /* a TAKE of 10: 6 admitted at once, the key then full */

    gcra_call(&rs, sha, "rb", &p, INTEGRATIONS_GCRA_CLUSTER_TAKE, 10);
    ok(redis_ints(&rs, v, 8, &n) == 0 && n == 4 && v[0] >= 6 && v[0] <= 7
       && v[1] == 0 && v[2] == v[0] * 100000,
       "TAKE 10 on a fresh key: 6 admitted (7 if a tick passed): %lld",
       (long long) v[0]);
    gcra_call(&rs, sha, "rb", &p, INTEGRATIONS_GCRA_CLUSTER_TAKE, 1);
    ok(redis_ints(&rs, v, 8, &n) == 0 && n == 4 && v[0] == 0,
       "then a TAKE of one is refused");

    /* ADD: a node's local admissions pushed */

    gcra_call(&rs, sha, "rs", &p, INTEGRATIONS_GCRA_CLUSTER_ADD, 7);
    ok(redis_ints(&rs, v, 8, &n) == 0 && n == 1 && v[0] == 700000,
       "ADD 7 on a fresh key: 700 ms ahead");
    gcra_call(&rs, sha, "rs", &p, INTEGRATIONS_GCRA_CLUSTER_CHECK, 0);
    ok(redis_ints(&rs, v, 8, &n) == 0 && v[0] == 0 && v[1] > 100000
       && v[1] <= 200000, "then a request is refused for about 200 ms");

    args[0] = "PTTL"; args[1] = "rs";
    redis_send(&rs, 2, args, NULL);
    i = redis_reply(&rs, &r);
    ok(i == 0 && r.v[0].type == INTEGRATIONS_RESP_INTEGER
       && r.v[0].integer > 500 && r.v[0].integer <= 701,
       "the key expires when it is as good as fresh: %lld ms",
       (long long) r.v[0].integer);

    redis_stop(&rs);
}


int
main(void)
{
    test_encode();
    test_parse();
    test_url();
    test_cluster_core();
    test_real_redis();

    return done_testing();
}
