/*
 * Unit tests of the strict JSON reader: what it refuses (a NUL, a key
 * twice, nesting, anything not one JSON text) and where it says it is,
 * and that the tree it builds is yajl_tree's, freed by yajl_tree_free().
 * Inputs are copied to exact-size heap buffers with no NUL after them,
 * so that valgrind or ASan would catch a read past the length.
 */

#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#include "tap.h"
#include "integrations_json.h"


#define U  INTEGRATIONS_JSON_UNIQUE_KEYS
#define S_(s)  s, sizeof(s) - 1


static yajl_val
t_parse(const char *s, unsigned depth, unsigned flags,
    integrations_json_err_t *err)
{
    char      *copy;
    size_t     len;
    yajl_val   v;

    len = strlen(s);
    copy = malloc(len ? len : 1);
    memcpy(copy, s, len);

    v = integrations_json_parse(copy, len, depth, flags, err);
    free(copy);

    return v;
}


static void
test_tree(void)
{
    yajl_val                  v, a;
    integrations_json_err_t   err;

    v = t_parse("{\"a\":\"x\",\"n\":-12.50,\"i\":42,\"t\":true,\"f\":false,"
                "\"z\":null,\"arr\":[1,\"two\",{\"k\":[]}],\"e\":{},"
                "\"u\":\"caf\\u00e9 \\ud83d\\ude00\"}", 32, U, &err);

    ok(v != NULL && YAJL_IS_OBJECT(v), "an object parsed");
    is_int(err.error, INTEGRATIONS_JSON_OK, "no error");
    is_int(v->u.object.len, 9, "nine keys, in order");
    is_str(v->u.object.keys[0], "a", "the first key");
    is_str(YAJL_GET_STRING(integrations_json_get(v, "a")), "x", "a string");
    is_str(YAJL_GET_NUMBER(integrations_json_get(v, "n")), "-12.50",
           "a number keeps its text");
    ok(YAJL_IS_INTEGER(integrations_json_get(v, "i"))
       && YAJL_GET_INTEGER(integrations_json_get(v, "i")) == 42,
       "an integer is an integer");
    ok(!YAJL_IS_INTEGER(integrations_json_get(v, "n"))
       && YAJL_IS_DOUBLE(integrations_json_get(v, "n")),
       "a decimal is a double only");
    ok(YAJL_IS_TRUE(integrations_json_get(v, "t"))
       && YAJL_IS_FALSE(integrations_json_get(v, "f"))
       && YAJL_IS_NULL(integrations_json_get(v, "z")), "true, false, null");

    a = integrations_json_get(v, "arr");
    ok(YAJL_IS_ARRAY(a) && a->u.array.len == 3
       && YAJL_IS_OBJECT(a->u.array.values[2])
       && YAJL_IS_ARRAY(integrations_json_get(a->u.array.values[2], "k")),
       "nested arrays and objects");
    ok(YAJL_IS_OBJECT(integrations_json_get(v, "e"))
       && integrations_json_get(v, "e")->u.object.len == 0, "{}");
    is_str(YAJL_GET_STRING(integrations_json_get(v, "u")),
           "caf\xc3\xa9 \xf0\x9f\x98\x80", "escapes decoded to UTF-8");
    ok(integrations_json_get(v, "nope") == NULL, "no such key: NULL");
    ok(integrations_json_get(a, "k") == NULL, "get on an array: NULL");
    ok(integrations_json_get(NULL, "k") == NULL, "get on NULL: NULL");
    yajl_tree_free(v);

    v = t_parse(" \"top\" ", 32, U, &err);
    is_str(YAJL_GET_STRING(v), "top", "a string alone is a JSON text");
    yajl_tree_free(v);

    v = t_parse("7", 32, 0, NULL);
    ok(YAJL_IS_NUMBER(v), "a number alone, err may be NULL");
    yajl_tree_free(v);

    /* big objects: the sorted check */

    {
        char    body[4096], *p;
        int     i;

        p = body;
        *p++ = '{';
        for (i = 0; i < 200; i++) {
            p += sprintf(p, "%s\"k%d\":%d", i ? "," : "", i, i);
        }
        strcpy(p, "}");

        v = t_parse(body, 32, U, &err);
        ok(v && v->u.object.len == 200, "200 distinct keys");
        yajl_tree_free(v);

        strcpy(p, ",\"k77\":1}");
        v = t_parse(body, 32, U, &err);
        ok(v == NULL && err.error == INTEGRATIONS_JSON_DUPLICATE,
           "201 keys, one twice");
        is_str(err.path, "k77", "the key named");

        v = t_parse(body, 32, 0, &err);
        ok(v != NULL, "without UNIQUE_KEYS both are kept");
        is_str(YAJL_GET_NUMBER(integrations_json_get(v, "k77")), "1",
               "get: the last of the two");
        yajl_tree_free(v);
    }
}


static void
test_refused(void)
{
    size_t                    i;
    yajl_val                  v;
    integrations_json_err_t   err;

    static const struct {
        const char  *json;
        unsigned     flags;
        int          error;
        const char  *path;
    } bad[] = {
        { "", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "   ", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "{", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "{\"a\":1,}", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "{} x", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "{} {}", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "{\"a\":1} /* c */", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "{}// c", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "{\"a\":\"\xff\"}", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "{\"a\":\"\x01\"}", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "{'a':1}", 0, INTEGRATIONS_JSON_INVALID, "" },
        { "[01]", 0, INTEGRATIONS_JSON_INVALID, "" },

        /* a NUL: the value's path, or the object's for a key */
        { "\"a\\u0000\"", 0, INTEGRATIONS_JSON_NUL, "" },
        { "{\"order_id\":\"o\\u0000x\"}", 0, INTEGRATIONS_JSON_NUL,
          "order_id" },
        { "{\"m\":{\"note\":\"\\u0000\"}}", 0, INTEGRATIONS_JSON_NUL,
          "m.note" },
        { "{\"m\":{\"no\\u0000te\":\"x\"}}", 0, INTEGRATIONS_JSON_NUL, "m" },
        { "{\"\\u0000\":1}", 0, INTEGRATIONS_JSON_NUL, "" },
        { "{\"a\":[\"ok\",{\"b\":[1,2,\"\\u0000\"]}]}", 0,
          INTEGRATIONS_JSON_NUL, "a[1].b[2]" },
        { "[[],[],[],[],[],[],[],[],[],[],[\"\\u0000\"]]", 0,
          INTEGRATIONS_JSON_NUL, "[10][0]" },

        /* a key twice, at any depth */
        { "{\"a\":1,\"a\":2}", U, INTEGRATIONS_JSON_DUPLICATE, "a" },
        { "{\"a\":1,\"b\":{\"c\":1,\"c\":1}}", U,
          INTEGRATIONS_JSON_DUPLICATE, "b.c" },
        { "[{},{\"x\":[{\"y\":0,\"y\":0}]}]", U,
          INTEGRATIONS_JSON_DUPLICATE, "[1].x[0].y" },
        { "{\"\":1,\"\":2}", U, INTEGRATIONS_JSON_DUPLICATE, "*" },
        { "{\"a b\":1,\"a b\":2}", U, INTEGRATIONS_JSON_DUPLICATE, "*" },
        { "{\"q\\\"\":1,\"q\\\"\":2}", U, INTEGRATIONS_JSON_DUPLICATE, "*" },
        { "{\"\\u00e9\":1,\"\xc3\xa9\":2}", U, INTEGRATIONS_JSON_DUPLICATE,
          "*" },
        { "{\"m\":{\"a\":1},\"m\":{\"a\":1}}", U,
          INTEGRATIONS_JSON_DUPLICATE, "m" },

        /* deeper than asked */
        { "[[[[1]]]]", 0, INTEGRATIONS_JSON_TOO_DEEP, "[0][0][0]" },
        { "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}", 0, INTEGRATIONS_JSON_TOO_DEEP,
          "a.b.c" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = t_parse(bad[i].json,
                    bad[i].error == INTEGRATIONS_JSON_TOO_DEEP ? 3 : 8,
                    bad[i].flags, &err);

        ok(v == NULL, "refused: %s", bad[i].json);
        is_int(err.error, bad[i].error, "  with error %d", bad[i].error);
        is_str(err.path, bad[i].path, "  at its path (case %zu)", i);
        yajl_tree_free(v);
    }

    v = t_parse("{\"a\":1,\"a\":2,\"b\":{\"b\":1}}", 3, 0, &err);
    ok(v != NULL, "a key twice is kept without UNIQUE_KEYS");
    yajl_tree_free(v);

    v = t_parse("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":1}}", 3, U, &err);
    ok(v != NULL, "the same key in different objects is no duplicate");
    yajl_tree_free(v);

    v = t_parse("[[[1]]]", 3, U, &err);
    ok(v != NULL, "exactly max_depth deep");
    yajl_tree_free(v);

    v = t_parse("\"a\\u0001b\\u007f\\n\"", 3, U, &err);
    ok(v != NULL, "escaped control characters other than NUL are kept");
    ok(v && memcmp(v->u.string, "a\x01" "b\x7f\n", 6) == 0, "  decoded");
    yajl_tree_free(v);

    /* a JSON text longer than the stack of frames: refused, not crashed */

    {
        char  *deep;

        deep = malloc(100001);
        memset(deep, '[', 100000);
        deep[100000] = '\0';
        v = t_parse(deep, 1000, 0, &err);
        ok(v == NULL && err.error == INTEGRATIONS_JSON_TOO_DEEP,
           "100000 brackets with max_depth 1000: the cap is 128");
        free(deep);
    }

    /* a long path ends with "..." inside the buffer */

    {
        char    body[2048], *p;
        int     i;

        p = body;
        for (i = 0; i < 20; i++) {
            p += sprintf(p, "{\"abcdefghijklmnopqrstuvwxyz%02d\":", i);
        }
        strcpy(p, "\"\\u0000\"");
        p += strlen(p);
        for (i = 0; i < 20; i++) {
            *p++ = '}';
        }
        *p = '\0';

        v = t_parse(body, 32, U, &err);
        ok(v == NULL && err.error == INTEGRATIONS_JSON_NUL, "a deep NUL");
        ok(strlen(err.path) < INTEGRATIONS_JSON_PATH_LEN
           && strcmp(err.path + strlen(err.path) - 3, "...") == 0,
           "its long path cut with ...: %s", err.path);
        ok(strncmp(err.path, "abcdefghijklmnopqrstuvwxyz00."
                   "abcdefghijklmnopqrstuvwxyz01.", 58) == 0,
           "  from the top");
    }

    is_str(integrations_json_strerror(INTEGRATIONS_JSON_NUL),
           "holds a NUL character", "strerror: NUL");
    is_str(integrations_json_strerror(INTEGRATIONS_JSON_DUPLICATE),
           "is given more than once", "strerror: duplicate");
    is_str(integrations_json_strerror(INTEGRATIONS_JSON_INVALID),
           "is not valid JSON", "strerror: invalid");
}


static void
test_plain(void)
{
    ok(integrations_json_plain(S_("cus 7 caf\xc3\xa9"), 0), "plain text");
    ok(integrations_json_plain("", 0, 0), "empty is plain");
    ok(!integrations_json_plain(S_("a\tb"), 0), "a tab in an id");
    ok(integrations_json_plain(S_("a\tb\r\nc"), 1), "tab, CR, LF in text");
    ok(!integrations_json_plain(S_("a\x01"), 1), "SOH in text");
    ok(!integrations_json_plain(S_("a\x1f"), 1), "US in text");
    ok(!integrations_json_plain(S_("a\x7f"), 1), "DEL in text");
    ok(!integrations_json_plain("a\0b", 3, 1), "NUL in text");
    ok(!integrations_json_plain(S_("\x1b[31m"), 1), "an escape sequence");
}


/* the readers of one value, and the writer with its sticky failure */

static void
test_readers(void)
{
    char                     *out;
    size_t                    n;
    int64_t                   i;
    yajl_val                  root;
    const char               *s;
    integrations_json_gen_t   w;

    root = t_parse("{\"box\":642538971006401429,\"key\":-7326489997410939972,"
                   "\"code\":\"200\",\"f\":1.5,\"e\":1e3,\"max\":"
                   "9223372036854775807,\"over\":9223372036854775808,"
                   "\"min\":-9223372036854775808,\"zero\":\"007\","
                   "\"big\":123456789012345678901,\"t\":true,"
                   "\"tab\":\"a\\tb\",\"ok\":\"fine\"}", 8, 0, NULL);

    ok(integrations_json_id(integrations_json_get(root, "box"), &s, &n) == 0
       && n == 18 && memcmp(s, "642538971006401429", 18) == 0,
       "an 18-digit id keeps every digit");
    ok(integrations_json_id(integrations_json_get(root, "key"), &s, &n) == 0
       && n == 20 && memcmp(s, "-7326489997410939972", 20) == 0,
       "a signed 19-digit id keeps every digit");
    ok(integrations_json_int64(integrations_json_get(root, "key"), &i) == 0
       && i == -7326489997410939972LL, "and reads as int64 exactly");
    ok(integrations_json_int64(integrations_json_get(root, "code"), &i) == 0
       && i == 200, "\"200\" is 200");
    ok(integrations_json_int64(integrations_json_get(root, "f"), &i) != 0
       && integrations_json_int64(integrations_json_get(root, "e"), &i) != 0,
       "a fraction, an exponent: no integer");
    ok(integrations_json_int64(integrations_json_get(root, "max"), &i) == 0
       && i == INT64_MAX, "INT64_MAX");
    ok(integrations_json_int64(integrations_json_get(root, "over"), &i) != 0,
       "INT64_MAX + 1 refused");
    ok(integrations_json_int64(integrations_json_get(root, "min"), &i) == 0
       && i == INT64_MIN, "INT64_MIN");
    ok(integrations_json_id(integrations_json_get(root, "zero"), &s, &n) != 0,
       "leading zeros refused: one id, one spelling");
    ok(integrations_json_id(integrations_json_get(root, "big"), &s, &n) != 0,
       "21 digits refused");
    ok(integrations_json_int64(integrations_json_get(root, "t"), &i) != 0
       && integrations_json_int64(integrations_json_get(root, "no"), &i) != 0,
       "true, a missing member: no number");
    ok(integrations_json_text(integrations_json_get(root, "tab"), &s, &n)
       != 0, "text() refuses a TAB");
    ok(integrations_json_text(integrations_json_get(root, "ok"), &s, &n) == 0
       && n == 4, "text() takes a clean string");

    yajl_tree_free(root);

    ok(integrations_json_gen_init(&w) == 0, "writer");
    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "id");
    integrations_json_gen_number(&w, S_("642538971006401429"));
    integrations_json_gen_cstr(&w, "ok");
    integrations_json_gen_bool(&w, 1);
    integrations_json_gen_cstr(&w, "n");
    integrations_json_gen_int(&w, -5);
    yajl_gen_map_close(w.g);
    out = integrations_json_gen_done(&w, &n);
    is_str(out, "{\"id\":642538971006401429,\"ok\":true,\"n\":-5}",
           "a number written as its text");
    free(out);

    integrations_json_gen_init(&w);
    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "bad");
    integrations_json_gen_str(&w, S_("\xff"));
    yajl_gen_map_close(w.g);
    ok(integrations_json_gen_done(&w, &n) == NULL,
       "invalid UTF-8: no body at all");
}


int
main(void)
{
    test_tree();
    test_refused();
    test_plain();
    test_readers();

    return done_testing();
}
