/*
 * Unit tests of the length-keeping JSON tree.
 */

#include "tap.h"
#include "integrations_json.h"


static integrations_json_doc_t *
parse(const char *s)
{
    char  err[64];

    return integrations_json_parse(s, strlen(s), NULL, err, sizeof(err));
}


static void
test_strings(void)
{
    size_t                      n;
    const char                 *s;
    integrations_json_doc_t    *doc;
    const integrations_json_t  *root, *v;

    /* a \u0000 inside a string is kept, with the length, never cut */

    doc = parse("{\"a\":\"x\\u0000y\",\"b\":\"tab\\there\",\"c\":\"ok\"}");
    root = integrations_json_root(doc);
    v = integrations_json_get(root, "a");

    ok(v && v->type == INTEGRATIONS_JSON_STRING && v->len == 3
       && memcmp(v->text, "x\0y", 3) == 0, "NUL inside a string: 3 bytes");
    ok(integrations_json_text(v, &s, &n) != 0, "text() refuses a NUL");
    ok(integrations_json_string(v, &s, &n) == 0 && n == 3,
       "string() gives all 3 bytes");
    ok(integrations_json_text(integrations_json_get(root, "b"), &s, &n) != 0,
       "text() refuses a TAB");
    ok(integrations_json_text(integrations_json_get(root, "c"), &s, &n) == 0
       && n == 2 && strcmp(s, "ok") == 0, "text() takes a clean string");
    ok(integrations_json_text(integrations_json_get(root, "zz"), &s, &n) != 0,
       "a missing member is refused, not a crash");

    integrations_json_free(doc);

    /* a key with a NUL is not the key without it */

    doc = parse("{\"a\\u0000b\":1}");
    ok(integrations_json_get(integrations_json_root(doc), "a") == NULL,
       "a key is compared with its length");
    integrations_json_free(doc);

    doc = parse("{\"k\":1,\"k\":2}");
    v = integrations_json_get(integrations_json_root(doc), "k");
    ok(v && v->len == 1 && v->text[0] == '2', "duplicate names: the last");
    integrations_json_free(doc);
}


static void
test_numbers(void)
{
    size_t                      n;
    int64_t                     i;
    const char                 *s;
    integrations_json_doc_t    *doc;
    const integrations_json_t  *root;

    doc = parse("{\"box\":642538971006401429,\"key\":-7326489997410939972,"
                "\"code\":\"200\",\"f\":1.5,\"e\":1e3,\"max\":"
                "9223372036854775807,\"over\":9223372036854775808,"
                "\"min\":-9223372036854775808,\"zero\":\"007\","
                "\"big\":123456789012345678901,\"neg0\":-0,\"t\":true}");
    root = integrations_json_root(doc);

    ok(integrations_json_id(integrations_json_get(root, "box"), &s, &n) == 0
       && n == 18 && memcmp(s, "642538971006401429", 18) == 0,
       "an 18-digit id keeps every digit");
    ok(integrations_json_id(integrations_json_get(root, "key"), &s, &n) == 0
       && n == 20 && memcmp(s, "-7326489997410939972", 20) == 0,
       "a signed 19-digit id keeps every digit");
    ok(integrations_json_int64(integrations_json_get(root, "key"), &i) == 0
       && i == -7326489997410939972LL, "and it fits int64 exactly");
    ok(integrations_json_int64(integrations_json_get(root, "code"), &i) == 0
       && i == 200, "\"200\" is 200");
    ok(integrations_json_int64(integrations_json_get(root, "f"), &i) != 0,
       "a fraction is no integer");
    ok(integrations_json_int64(integrations_json_get(root, "e"), &i) != 0,
       "an exponent is no integer");
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
    ok(integrations_json_int64(integrations_json_get(root, "t"), &i) != 0,
       "true is no number");

    integrations_json_free(doc);
}


static void
test_limits(void)
{
    int                         i;
    char                        deep[200], err[64];
    integrations_json_doc_t    *doc;
    integrations_json_limits_t  lim;

    static const char  *bad[] = {
        "", "{", "{}x", "{} {}", "{\"a\":1,}", "[1,]", "'a'", "{a:1}",
        "/* c */ {}", "\"\xff\"", "[01]", "nul", NULL
    };

    for (i = 0; bad[i]; i++) {
        doc = parse(bad[i]);
        ok(doc == NULL, "refused: %s", bad[i]);
        integrations_json_free(doc);
    }

    doc = parse("\"top\"");
    ok(doc && integrations_json_root(doc)->type == INTEGRATIONS_JSON_STRING,
       "a scalar at the top");
    integrations_json_free(doc);

    for (i = 0; i < 40; i++) {
        deep[i] = '[';
        deep[40 + i] = ']';
    }

    doc = integrations_json_parse(deep, 80, NULL, err, sizeof(err));
    ok(doc == NULL && strstr(err, "deep") != NULL, "40 levels: too deep");

    memset(&lim, 0, sizeof(lim));
    lim.max_depth = 64;
    doc = integrations_json_parse(deep, 80, &lim, err, sizeof(err));
    ok(doc != NULL, "40 levels under max_depth 64");
    integrations_json_free(doc);

    lim.max_depth = 0;
    lim.max_nodes = 3;
    doc = integrations_json_parse("[1,2,3]", 7, &lim, err, sizeof(err));
    ok(doc == NULL, "4 values over max_nodes 3");

    lim.max_nodes = 0;
    lim.max_len = 4;
    doc = integrations_json_parse("[1,2]", 5, &lim, err, sizeof(err));
    ok(doc == NULL && strstr(err, "larger") != NULL, "over max_len");

    /* many members: the arena grows past one block */

    {
        char    *big;
        size_t   n, k;
        const integrations_json_t  *root;

        big = malloc(200000);
        n = 0;
        big[n++] = '[';
        for (k = 0; k < 20000; k++) {
            n += (size_t) sprintf(big + n, "%s\"v%zu\"", k ? "," : "", k);
        }
        big[n++] = ']';

        doc = integrations_json_parse(big, n, NULL, err, sizeof(err));
        root = integrations_json_root(doc);
        ok(doc && integrations_json_count(root) == 20000
           && strcmp(integrations_json_at(root, 19999)->text, "v19999") == 0,
           "20000 elements, the last intact");
        integrations_json_free(doc);
        free(big);
    }
}


int
main(void)
{
    test_strings();
    test_numbers();
    test_limits();

    return done_testing();
}
