/*
 * Unit tests of the CEA signer: every public vector, the request head
 * parser, and the head rewrite.
 */

#include "tap.h"
#include "integrations_cea.h"

#include <time.h>
#include <yajl/yajl_tree.h>


static const char *
str(yajl_val v, const char *name)
{
    const char  *path[] = { name, NULL };
    yajl_val     s;

    s = yajl_tree_get(v, path, yajl_t_string);

    return s ? YAJL_GET_STRING(s) : NULL;
}


static integrations_cea_key_t *
key_of(const char *secret)
{
    return integrations_cea_key_new((const unsigned char *) secret,
                                    strlen(secret));
}


static void
test_vectors(void)
{
    char                     *json, sig[65], auth[512];
    size_t                    i;
    yajl_val                  root, vectors, v;
    const char               *path[] = { "vectors", NULL };
    const char               *query;
    integrations_cea_key_t   *key;

    json = tap_slurp(tap_vector_path("coupang_cea.json"), NULL);
    if (!ok(json != NULL, "read coupang_cea.json")) {
        return;
    }

    root = yajl_tree_parse(json, NULL, 0);
    vectors = yajl_tree_get(root, path, yajl_t_array);

    if (!ok(vectors != NULL && YAJL_GET_ARRAY(vectors)->len > 0,
            "vectors parsed"))
    {
        return;
    }

    for (i = 0; i < YAJL_GET_ARRAY(vectors)->len; i++) {
        v = YAJL_GET_ARRAY(vectors)->values[i];

        key = key_of(str(v, "secret_key"));
        query = str(v, "query");

        sig[64] = '\0';

        ok(integrations_cea_sign(key, str(v, "signed_date"),
               (const unsigned char *) str(v, "method"),
               strlen(str(v, "method")),
               (const unsigned char *) str(v, "path"), strlen(str(v, "path")),
               (const unsigned char *) query, strlen(query), sig)
           == 0, "vector %zu signs", i);

        is_str(sig, str(v, "signature"), "vector %zu signature", i);

        snprintf(auth, sizeof(auth),
                 "CEA algorithm=HmacSHA256, access-key=%s, signed-date=%s, "
                 "signature=%s", str(v, "access_key"), str(v, "signed_date"),
                 sig);

        is_str(auth, str(v, "authorization"), "vector %zu authorization", i);

        integrations_cea_key_free(key);
    }

    yajl_tree_free(root);
    free(json);
}


/* RFC 4231 cases 2 and 6: a short key, and one longer than the block */

static void
test_rfc4231(void)
{
    char                     sig[65];
    unsigned char            big[131];
    integrations_cea_key_t  *key;

    sig[64] = '\0';

    key = key_of("Jefe");
    integrations_cea_sign(key, "what do ya wan", (const unsigned char *) "t ",
                          2, (const unsigned char *) "for ", 4,
                          (const unsigned char *) "nothing?", 8, sig);
    is_str(sig, "5bdcc146bf60754e6a042426089575c7"
                "5a003f089d2739839dec58b964ec3843", "RFC 4231 case 2");
    integrations_cea_key_free(key);

    memset(big, 0xaa, sizeof(big));
    key = integrations_cea_key_new(big, sizeof(big));
    integrations_cea_sign(key, "Test Using Lar",
        (const unsigned char *) "ger Than Block-Size Key - Hash Key First",
        40, (const unsigned char *) "", 0, NULL, 0, sig);
    is_str(sig, "60e431591ee0b67f0d8a26aacbf5b77f"
                "8e0bc6213728c5140546040f0ee37f54", "RFC 4231 case 6");
    integrations_cea_key_free(key);
}


static void
test_date(void)
{
    char  d[INTEGRATIONS_CEA_DATE_LEN + 1];

    d[INTEGRATIONS_CEA_DATE_LEN] = '\0';

    integrations_cea_format_date(1704067200, d);     /* 2024-01-01 00:00 */
    is_str(d, "240101T000000Z", "date at 2024-01-01");

    integrations_cea_format_date(1753793999, d);     /* 2025-07-29 12:59:59 */
    is_str(d, "250729T125959Z", "date in the afternoon");

    integrations_cea_format_date(4102444799, d);     /* 2099-12-31 23:59:59 */
    is_str(d, "991231T235959Z", "date at the end of 2099");

    integrations_cea_format_date(951782400, d);      /* 2000-02-29 */
    is_str(d, "000229T000000Z", "leap day of 2000");

    /* the arithmetic agrees with gmtime_r() from 1970 to 2106 */

    {
        int        mismatches;
        char       want[32];
        time_t     t;
        struct tm  tm;

        mismatches = 0;

        for (t = 0; t < 4294967295LL; t += 86399 + (t % 7919)) {
            integrations_cea_format_date(t, d);
            gmtime_r(&t, &tm);
            strftime(want, sizeof(want), "%y%m%dT%H%M%SZ", &tm);

            if (strcmp(d, want) != 0 && mismatches++ < 3) {
                diag("%lld: %s, gmtime_r says %s", (long long) t, d, want);
            }
        }

        is_int(mismatches, 0, "date matches gmtime_r() over 136 years");
    }
}


static int
parse(const char *head, integrations_cea_request_t *rq)
{
    return integrations_cea_parse_request((const unsigned char *) head,
                                          strlen(head), rq);
}


static char *
range(const unsigned char *p, size_t len)
{
    static char  buf[4][1024];
    static int   n;
    char        *b;

    b = buf[n++ % 4];
    memcpy(b, p ? (const char *) p : "", len);
    b[len] = '\0';

    return b;
}


static void
test_parse(void)
{
    integrations_cea_request_t  rq;
    const char                 *h;

    h = "GET /v2/x?a=1%2B09:00&b=2 HTTP/1.1\r\nHost: h\r\n\r\n";
    ok(parse(h, &rq) == 0, "origin-form parses");
    is_str(range(rq.method, rq.method_len), "GET", "method");
    is_str(range(rq.path, rq.path_len), "/v2/x", "path");
    is_str(range(rq.query, rq.query_len), "a=1%2B09:00&b=2",
           "query kept as sent");
    is_int(rq.line_end, strlen("GET /v2/x?a=1%2B09:00&b=2 HTTP/1.1\r\n"),
           "line end");
    is_int(rq.head_end, strlen(h), "head end");

    ok(parse("PUT /p HTTP/1.0\r\n\r\nbody", &rq) == 0, "no headers, body");
    is_int(rq.query_len, 0, "no query");
    ok(rq.query == NULL, "query absent");
    is_int(rq.head_end, strlen("PUT /p HTTP/1.0\r\n\r\n"), "head end");

    ok(parse("GET /p? HTTP/1.1\r\n\r\n", &rq) == 0, "empty query");
    is_int(rq.query_len, 0, "empty query length");
    is_str(range(rq.path, rq.path_len), "/p", "path before empty query");

    ok(parse("GET http://api-gateway.coupang.com/v2/a?x=1 HTTP/1.1\r\n\r\n",
             &rq) == 0, "absolute-form parses");
    is_str(range(rq.path, rq.path_len), "/v2/a", "absolute-form path");
    is_str(range(rq.query, rq.query_len), "x=1", "absolute-form query");

    ok(parse("GET HTTPS://h:443?x=1 HTTP/1.1\r\n\r\n", &rq) == 0,
       "absolute-form without a path");
    is_int(rq.path_len, 0, "no path");

    ok(parse("GET /a?b?c HTTP/1.1\r\n\r\n", &rq) == 0, "second '?' in query");
    is_str(range(rq.query, rq.query_len), "b?c", "query after first '?'");

    ok(parse("", &rq) == -1, "empty input");
    ok(parse("GET", &rq) == -1, "method only");
    ok(parse("GET  /p HTTP/1.1\r\n\r\n", &rq) == -1, "empty target");
    ok(parse("GET /p HTTP/1.1\r\n", &rq) == -1, "head not terminated");
    ok(parse("GET /p HTTP/1.1\r\nA: b\r\n", &rq) == -1, "unfinished headers");
    ok(parse("GET /p HTTP/1.1\nA: b\n\n", &rq) == -1, "bare LF");
    ok(parse("GET /p HTTP/1.1\r\nA: b\nc\r\n\r\n", &rq) == -1,
       "LF inside a header");
    ok(parse("GET /p HTX/1.1\r\n\r\n", &rq) == -1, "bad protocol");
    ok(parse("G(T /p HTTP/1.1\r\n\r\n", &rq) == -1, "bad method");
    ok(parse("GET * HTTP/1.1\r\n\r\n", &rq) == -1, "asterisk-form");
    ok(parse("GET h:80 HTTP/1.1\r\n\r\n", &rq) == -1, "authority-form");
    ok(parse("GET /p\r\nx HTTP/1.1\r\n\r\n", &rq) == -1,
       "line break in target");
    ok(parse("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", &rq) == 0,
       "raw 8-bit target signed as sent");
}


static void
test_sign_head(void)
{
    long                          n;
    char                          date[15], sig[65], expect[65];
    unsigned char                 out[2048];
    const char                   *in, *o;
    integrations_cea_key_t       *key;
    integrations_cea_identity_t   id;

    key = key_of("TEST_SECRET_KEY");

    id.access_key = (const unsigned char *) "AK";
    id.access_key_len = 2;
    id.vendor_id = (const unsigned char *) "A00012345";
    id.vendor_id_len = 9;

    in = "POST /v2/x?q=%2B1 HTTP/1.1\r\n"
         "Host: api\r\n"
         "authorization: Bearer client-token\r\n"
         "X-Requested-By: someone\r\n"
         "Content-Length: 4\r\n"
         "\r\n"
         "BODY";

    date[14] = sig[64] = expect[64] = '\0';

    n = integrations_cea_sign_head(key, &id, 1704067200,
                                   (const unsigned char *) in, strlen(in),
                                   out, date, sig);

    ok(n > 0 && (size_t) n <= strlen(in) + INTEGRATIONS_CEA_HEAD_EXTRA(2, 9),
       "head signed within the bound");
    out[n > 0 ? n : 0] = '\0';
    o = (const char *) out;

    is_str(date, "240101T000000Z", "date reported");

    integrations_cea_sign(key, "240101T000000Z",
                          (const unsigned char *) "POST", 4,
                          (const unsigned char *) "/v2/x", 5,
                          (const unsigned char *) "q=%2B1", 6, expect);
    is_str(sig, expect, "signature over the request line");

    ok(strstr(o, "client-token") == NULL, "client Authorization removed");
    ok(strstr(o, "someone") == NULL, "client X-Requested-By removed");
    ok(strstr(o, "Host: api\r\n") != NULL, "other headers kept");
    ok(strstr(o, "Content-Length: 4\r\n") != NULL, "length kept");
    ok(strncmp(o, "POST /v2/x?q=%2B1 HTTP/1.1\r\n", 28) == 0,
       "request line unchanged");
    ok(strstr(o, "X-Requested-By: A00012345\r\n") != NULL, "vendor id sent");
    ok(strlen(o) >= 6 && strcmp(o + strlen(o) - 6, "\r\nBODY") == 0,
       "body after the head unchanged");

    {
        char  want[256];

        snprintf(want, sizeof(want),
                 "Authorization: CEA algorithm=HmacSHA256, access-key=AK, "
                 "signed-date=240101T000000Z, signature=%s\r\n", expect);
        ok(strstr(o, want) != NULL, "Authorization header exact");
    }

    /* without a vendor id, a client X-Requested-By is left alone */

    id.vendor_id = NULL;
    n = integrations_cea_sign_head(key, &id, 1704067200,
                                   (const unsigned char *) in, strlen(in),
                                   out, NULL, NULL);
    out[n > 0 ? n : 0] = '\0';
    ok(strstr((char *) out, "X-Requested-By: someone\r\n") != NULL,
       "X-Requested-By passes without coupang_vendor_id");

    /* a header whose name merely starts with Authorization stays */

    in = "GET / HTTP/1.1\r\nAuthorizationX: 1\r\nAuthorization:x\r\n\r\n";
    n = integrations_cea_sign_head(key, &id, 0, (const unsigned char *) in,
                                   strlen(in), out, NULL, NULL);
    out[n > 0 ? n : 0] = '\0';
    ok(strstr((char *) out, "AuthorizationX: 1\r\n") != NULL,
       "longer header name kept");
    ok(strstr((char *) out, "Authorization:x") == NULL,
       "Authorization without a space removed");

    /* the signature moves with time */

    in = "GET /t HTTP/1.1\r\n\r\n";
    integrations_cea_sign_head(key, &id, 1704067200,
                               (const unsigned char *) in, strlen(in), out,
                               NULL, sig);
    integrations_cea_sign_head(key, &id, 1704067201,
                               (const unsigned char *) in, strlen(in), out,
                               NULL, expect);
    ok(strcmp(sig, expect) != 0, "signature changes a second later");

    n = integrations_cea_sign_head(key, &id, 0, (const unsigned char *) "x",
                                   1, out, NULL, NULL);
    is_int(n, -1, "garbage is refused");

    integrations_cea_key_free(key);
}


int
main(void)
{
    test_vectors();
    test_rfc4231();
    test_date();
    test_parse();
    test_sign_head();

    return done_testing();
}
