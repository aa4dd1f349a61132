/*
 * Unit tests of the activation admin API's request readers: routes, the
 * list's query string, cursors, times, the resend/revoke body, the key
 * file and the bearer header.
 */

#include "tap.h"
#include "integrations_activation_admin.h"


#define S(lit)  (lit), (sizeof(lit) - 1)


static void
test_route(void)
{
    int          post;
    size_t       n;
    const char  *id;

    is_int(integrations_act_admin_route(S("/admin/orders"), &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_LIST, "/admin/orders: list");
    ok(post == 0, "list is a GET");
    is_int(integrations_act_admin_route(S("/admin/orders/"), &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_LIST, "a trailing slash: list");
    is_int(integrations_act_admin_route(S("/x/orders.csv"), &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_CSV, "orders.csv: CSV");
    is_int(integrations_act_admin_route(S("/api/v1/activation/orders/"
                                          "31000012345"), &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_ORDER, "one order");
    ok(n == 11 && memcmp(id, "31000012345", 11) == 0, "its id");
    is_int(integrations_act_admin_route(S("/orders/7/resend"), &id, &n,
                                        &post),
           INTEGRATIONS_ACT_ADMIN_RESEND, "resend");
    ok(post == 1 && n == 1 && id[0] == '7', "resend is a POST on order 7");
    is_int(integrations_act_admin_route(S("/orders/7/revoke"), &id, &n,
                                        &post),
           INTEGRATIONS_ACT_ADMIN_REVOKE, "revoke");
    is_int(integrations_act_admin_route(S("/orders/7/other"), &id, &n,
                                        &post),
           INTEGRATIONS_ACT_ADMIN_NONE, "an unknown action");
    is_int(integrations_act_admin_route(S("/orders/7a"), &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_NONE, "an id that is not digits");
    is_int(integrations_act_admin_route(S("/orders/123456789012345678901"),
                                        &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_NONE, "an id of 21 digits");
    is_int(integrations_act_admin_route(S("/orders//resend"), &id, &n,
                                        &post),
           INTEGRATIONS_ACT_ADMIN_NONE, "an empty id");
    is_int(integrations_act_admin_route(S("/ordersx"), &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_NONE, "/ordersx is not /orders");
    is_int(integrations_act_admin_route(S("/admin"), &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_NONE, "no /orders at all");
    is_int(integrations_act_admin_route(S("/orders/orders"), &id, &n,
                                        &post),
           INTEGRATIONS_ACT_ADMIN_LIST, "the last /orders decides");
    is_int(integrations_act_admin_route(S("/orders.csv/1"), &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_NONE, "orders.csv takes nothing after it");
    is_int(integrations_act_admin_route(S(""), &id, &n, &post),
           INTEGRATIONS_ACT_ADMIN_NONE, "an empty path");
}


static int
query(const char *q, integrations_act_admin_query_t *out, const char **field,
    char *err)
{
    return integrations_act_admin_query(q, q ? strlen(q) : 0, 0, out, field,
                                        err, 256);
}


static void
test_query(void)
{
    char                            err[256], cur[64];
    long                            n;
    const char                     *field;
    integrations_act_admin_query_t  q;

    ok(query(NULL, &q, &field, err) == 0, "no query string");
    ok(q.states == 0 && q.since == -1 && q.until == -1 && q.limit == 50
       && !q.after && !q.csv, "the defaults");

    ok(query("state=redeemed", &q, &field, err) == 0, "one state");
    is_int(q.states, 1u << INTEGRATIONS_ACT_REDEEMED, "redeemed");

    ok(query("state=no_contact,failed&limit=500", &q, &field, err) == 0,
       "two states and the largest limit");
    is_int(q.states, (1u << INTEGRATIONS_ACT_NO_CONTACT)
                     | (1u << INTEGRATIONS_ACT_FAILED), "no_contact|failed");
    is_int(q.limit, 500, "limit 500");

    ok(query("state=used", &q, &field, err) == -1, "an unknown state");
    is_str(field, "state", "names state");
    ok(query("state=redeemed,", &q, &field, err) == -1, "a trailing comma");
    ok(query("state=", &q, &field, err) == -1, "an empty state");
    is_str(field, "state", "names state");
    ok(query("state", &q, &field, err) == -1, "a state without a value");

    ok(query("limit=0", &q, &field, err) == -1, "limit 0");
    is_str(field, "limit", "names limit");
    ok(query("limit=501", &q, &field, err) == -1, "limit 501");
    ok(query("limit=-1", &q, &field, err) == -1, "a negative limit");
    ok(query("limit=1e2", &q, &field, err) == -1, "an exponent");
    ok(query("limit=10&limit=10", &q, &field, err) == -1, "limit twice");
    is_str(field, "limit", "names limit");
    ok(strstr(err, "more than once") != NULL, "says so");

    ok(query("since=2025-09-01", &q, &field, err) == 0, "a date");
    is_int(q.since, 1756652400000LL, "its KST midnight, in ms");
    ok(query("since=2025-09-01T00:00:00Z&until=2025-09-02T09:00:00%2B09:00",
             &q, &field, err) == 0, "RFC 3339 with Z and an escaped offset");
    is_int(q.since, 1756684800000LL, "since");
    is_int(q.until, 1756771200000LL, "until");
    ok(query("since=2025-09-01T00:00:00", &q, &field, err) == -1,
       "a time without a zone");
    is_str(field, "since", "names since");
    ok(query("until=yesterday", &q, &field, err) == -1, "not a time");
    is_str(field, "until", "names until");
    ok(query("since=2025-09-02&until=2025-09-01", &q, &field, err) == -1,
       "until before since");
    is_str(field, "until", "names until");

    ok(query("format=csv", &q, &field, err) == 0 && q.csv, "format=csv");
    is_int(q.limit, 1000, "CSV's default limit");
    ok(query("format=csv&limit=5000", &q, &field, err) == 0, "CSV: 5000");
    ok(query("format=csv&limit=5001", &q, &field, err) == -1, "CSV: 5001");
    is_str(field, "limit", "names limit");
    ok(query("limit=5000", &q, &field, err) == -1, "JSON: 5000 is too many");
    ok(integrations_act_admin_query(S("limit=2000"), 1, &q, &field, err,
                                    sizeof(err)) == 0
       && q.csv && q.limit == 2000, "the .csv endpoint: CSV by default");
    ok(integrations_act_admin_query(S("format=json"), 1, &q, &field, err,
                                    sizeof(err)) == 0 && !q.csv,
       "...unless format=json");
    ok(query("format=json", &q, &field, err) == 0 && !q.csv, "format=json");
    ok(query("format=xml", &q, &field, err) == -1, "format=xml");
    is_str(field, "format", "names format");

    ok(query("sort=asc", &q, &field, err) == -1, "an unknown parameter");
    ok(strstr(err, "unknown") != NULL, "says so");
    ok(query("state=redeemed&&", &q, &field, err) == 0, "empty pairs");
    ok(query("state=re%ZZ", &q, &field, err) == -1, "a bad escape");
    ok(query("state=re%0", &q, &field, err) == -1, "a short escape");
    ok(query("state=re%00deemed", &q, &field, err) == -1, "an escaped NUL");
    ok(query("state=re%64eemed", &q, &field, err) == 0, "a good escape");

    n = integrations_act_admin_cursor(1756684800123LL, S("310000123"), cur,
                                      sizeof(cur));
    is_str(cur, "1756684800123.310000123", "a cursor");
    ok(n == (long) strlen(cur), "its length");
    ok(integrations_act_admin_cursor(1, S("12a"), cur, sizeof(cur)) == -1,
       "a cursor needs a digit id");
    ok(integrations_act_admin_cursor(1, S("12"), cur, 3) == -1,
       "a cursor that does not fit");

    ok(query("after=1756684800123.310000123", &q, &field, err) == 0,
       "a cursor back");
    ok(q.after && q.after_at == 1756684800123LL
       && strcmp(q.after_id, "310000123") == 0, "read exactly");
    ok(query("after=.1", &q, &field, err) == -1, "no time in the cursor");
    ok(query("after=1.", &q, &field, err) == -1, "no id in the cursor");
    ok(query("after=1234567890123456.1", &q, &field, err) == -1,
       "a time of 16 digits");
    ok(query("after=1x.1", &q, &field, err) == -1, "not digits");
    is_str(field, "after", "names after");
}


static void
test_time(void)
{
    char     iso[32];
    int64_t  ms;

    integrations_act_admin_iso(1756689616123LL, iso);
    is_str(iso, "2025-09-01T01:20:16.123Z", "ms to ISO");
    integrations_act_admin_iso(0, iso);
    is_str(iso, "1970-01-01T00:00:00.000Z", "the epoch");

    ok(integrations_act_admin_time(S("2025-09-01T10:20:16.5+09:00"), &ms)
       == 0 && ms == 1756689616500LL, "a fraction's milliseconds");
    ok(integrations_act_admin_time(S("2025-09-01T01:20:16.123456Z"), &ms)
       == 0 && ms == 1756689616123LL, "finer digits dropped");
    ok(integrations_act_admin_time(S("2025-09-01 10:20:16Z"), &ms) == -1,
       "a space for T is refused");
    ok(integrations_act_admin_time(S("2025-13-01"), &ms) == -1,
       "month 13");
    ok(integrations_act_admin_time(S(""), &ms) == -1, "empty");
}


static int
action(const char *body, int resend, integrations_act_admin_action_t *a,
    const char **field, char *err)
{
    return integrations_act_admin_action(body, strlen(body), resend, a,
                                         field, err, 256);
}


static void
test_action(void)
{
    char                             err[256];
    const char                      *field;
    integrations_act_admin_action_t  a;

    ok(action("", 1, &a, &field, err) == 0, "no body");
    ok(a.contact.kind == INTEGRATIONS_ACT_CONTACT_NONE && a.reason_len == 0,
       "nothing given");
    ok(action(" \r\n", 1, &a, &field, err) == 0, "white space only");
    ok(action("{}", 0, &a, &field, err) == 0, "an empty object");

    ok(action("{\"contact\":\"+82 10-1234-5678\",\"reason\":\"CS #12\"}", 1,
              &a, &field, err) == 0, "a phone and a reason");
    ok(a.contact.kind == INTEGRATIONS_ACT_CONTACT_PHONE
       && strcmp(a.contact.value, "01012345678") == 0, "normalized");
    is_str(a.reason, "CS #12", "the reason");

    ok(action("{\"contact\":\"buyer@example.com\"}", 1, &a, &field, err)
       == 0, "an email");
    ok(a.contact.kind == INTEGRATIONS_ACT_CONTACT_EMAIL
       && strcmp(a.contact.value, "buyer@example.com") == 0, "kept");

    /* "to", checked as notifications check a recipient */
    ok(action("{\"to\":\"010 9876 5432\"}", 1, &a, &field, err) == 0,
       "to: a mobile");
    ok(a.contact.kind == INTEGRATIONS_ACT_CONTACT_PHONE
       && strcmp(a.contact.value, "01098765432") == 0, "to: normalized");
    ok(action("{\"to\":\"0503-1234-5678\"}", 1, &a, &field, err) == 0,
       "to: a safe number, as notifications take it (SMS)");
    ok(action("{\"to\":\"Kim@Example.COM\"}", 1, &a, &field, err) == 0
       && a.contact.kind == INTEGRATIONS_ACT_CONTACT_EMAIL
       && strcmp(a.contact.value, "Kim@example.com") == 0,
       "to: an email, its domain in lower case");
    ok(action("{\"to\":\"02-123-4567\"}", 1, &a, &field, err) == -1,
       "to: a landline");
    is_str(field, "to", "names to");
    ok(action("{\"to\":\"010-12\"}", 1, &a, &field, err) == -1,
       "to: too short");
    is_str(field, "to", "names to");
    ok(action("{\"to\":\"a@b.co\",\"contact\":\"a@b.co\"}", 1, &a,
              &field, err) == -1, "to and contact both");
    is_str(field, "to", "names to");
    ok(action("{\"to\":\"a@b.co\"}", 0, &a, &field, err) == -1,
       "revoke takes no to");
    ok(action("{\"contact\":\"010-123\"}", 1, &a, &field, err) == -1,
       "contact: a bad number");
    is_str(field, "contact", "names contact");
    ok(action("{\"contact\":\"b***@example.com\"}", 1, &a, &field, err)
       == -1, "a masked email");
    ok(action("{\"contact\":12}", 1, &a, &field, err) == -1, "a number");
    ok(action("{\"contact\":\"a@b.co\"}", 0, &a, &field, err) == -1,
       "revoke takes no contact");
    ok(action("{\"reason\":\"\"}", 0, &a, &field, err) == -1,
       "an empty reason");
    is_str(field, "reason", "names reason");
    ok(action("{\"reason\":\"a\\nb\"}", 0, &a, &field, err) == -1,
       "a control character");
    ok(action("{\"reason\":\"a\",\"reason\":\"b\"}", 0, &a, &field, err)
       == -1, "a key twice");
    ok(strstr(err, "reason") != NULL, "named");
    ok(action("[1]", 0, &a, &field, err) == -1, "not an object");
    ok(action("{", 0, &a, &field, err) == -1, "not JSON");
    ok(action("{\"reason\":\"x\"} x", 0, &a, &field, err) == -1,
       "trailing bytes");
    ok(action("{\"why\":\"x\"}", 0, &a, &field, err) == -1,
       "an unknown member");
}


static int   nkeys;
static char  keys[4][300];

static void
each(const char *key, size_t len, void *data)
{
    (void) data;

    if (nkeys < 4) {
        memcpy(keys[nkeys], key, len);
        keys[nkeys][len] = '\0';
    }

    nkeys++;
}


static void
test_keys(void)
{
    char          err[128];
    size_t        n;
    const char   *k;

    nkeys = 0;
    ok(integrations_act_admin_keys(S("# staff\n0123456789abcdef \n\n"
                                     "fedcba9876543210fedc\r\n"), each,
                                   NULL, err, sizeof(err)) == 2, "two keys");
    is_str(keys[0], "0123456789abcdef", "the first, trimmed");
    is_str(keys[1], "fedcba9876543210fedc", "the second, without CR");

    nkeys = 0;
    ok(integrations_act_admin_keys(S("short\n"), each, NULL, err,
                                   sizeof(err)) == -1, "a short key");
    ok(strstr(err, "line 1") != NULL, "names the line");
    ok(integrations_act_admin_keys(S("0123456789 abcdef\n"), each, NULL, err,
                                   sizeof(err)) == -1, "a space inside");
    ok(integrations_act_admin_keys(S("# none\n"), each, NULL, err,
                                   sizeof(err)) == -1, "no key");

    ok(integrations_act_admin_bearer(S("Bearer abc"), &k, &n) == 0
       && n == 3 && memcmp(k, "abc", 3) == 0, "Bearer");
    ok(integrations_act_admin_bearer(S("bearer  abc "), &k, &n) == 0
       && n == 3, "any case, spaces");
    ok(integrations_act_admin_bearer(S("Basic abc"), &k, &n) == -1,
       "Basic");
    ok(integrations_act_admin_bearer(S("Bearer "), &k, &n) == -1,
       "no token");
}


static void
test_answers(void)
{
    int          found;
    char        *out, next[64];
    size_t       len;
    const char  *rows =
        "[[\"A00012345\",\"600001\",\"310001\",3,1,\"050312345678\","
        "1756689616123,2,2,2,1756689617000,3,1756689618000,\"B,A\"],"
        "[\"A00012345\",\"600000\",\"310000\",1,0,null,"
        "1756689600000,1,0,0,null,6,1756689600000,null]]";

    out = integrations_act_admin_list(rows, strlen(rows), 2, 0, next, &len);
    ok(out != NULL, "the list as JSON");
    ok(out && strstr(out, "\"state\":\"redeemed\"") != NULL, "state names");
    ok(out && strstr(out, "\"masked\":\"050*****5678\"") != NULL,
       "the contact masked");
    ok(out && strstr(out, "050312345678") == NULL, "never in clear");
    ok(out && strstr(out, "\"first_seen_at\":\"2025-09-01T01:20:16.123Z\"")
       != NULL, "times in RFC 3339");
    ok(out && strstr(out, "\"products\":[\"B\",\"A\"]") != NULL,
       "products");
    ok(out && strstr(out, "\"contact\":null") != NULL, "no contact: null");
    ok(out && strstr(out, "\"fulfilment\":\"held\"") != NULL, "held");
    is_str(next, "1756689600000.600000", "a full page has a next cursor");
    ok(out && strstr(out, "\"next\":\"1756689600000.600000\"") != NULL,
       "...in the answer");
    free(out);

    out = integrations_act_admin_list(rows, strlen(rows), 3, 0, next, &len);
    ok(out && strstr(out, "\"next\":null") != NULL && next[0] == '\0',
       "a page that is not full: no cursor");
    free(out);

    out = integrations_act_admin_list(rows, strlen(rows), 50, 1, next, &len);
    ok(out != NULL, "the list as CSV");
    ok(out && strncmp(out, "order_id,shipment_box_id,state,contact,", 39)
       == 0, "a header row");
    ok(out && strstr(out, "\r\n310001,600001,redeemed,050*****5678,"
                          "2025-09-01T01:20:16.123Z,2,2,sent,done,\"B,A\","
                          "2025-09-01T01:20:18.000Z\r\n") != NULL,
       "a row, the products quoted");
    ok(out && strstr(out, "310000,600000,no_contact,,") != NULL,
       "no contact: empty");
    free(out);

    out = integrations_act_admin_list(S("[]"), 50, 0, next, &len);
    ok(out && strcmp(out, "{\"orders\":[],\"next\":null}") == 0,
       "an empty page");
    free(out);

    ok(integrations_act_admin_list(S("[[1]]"), 50, 0, next, &len) == NULL,
       "rows that are not the store's");
    ok(integrations_act_admin_list(S("{"), 50, 0, next, &len) == NULL,
       "not JSON");

    out = integrations_act_admin_order(S("310001"),
        S("[[\"A1\",\"600001\",\"310001\",3,2,\"kim@example.com\","
          "\"answer\",\"김철수\",1,2,3,2,4,3,5,6]]"),
        S("[[\"600001\",\"700\",1,1,\"P\",\"책\",3,2,1,7,8,null,null,1,9,"
          "8]]"),
        S("[[1,\"600001\",\"700\",1,8,\"redeemed\",3,null]]"),
        &found, &len);
    ok(out != NULL && found, "one order");
    ok(out && strstr(out, "\"state\":\"redeemed\"") != NULL, "its state");
    ok(out && strstr(out, "k***@example.com") != NULL, "email masked");
    ok(out && strstr(out, "김철수") == NULL, "the buyer's name masked");
    ok(out && strstr(out, "\"grant\":\"granted\"") != NULL, "grant");
    ok(out && strstr(out, "\"link\":{\"generation\":1") != NULL, "link");
    ok(out && strstr(out, "\"history\":[{\"id\":1") != NULL, "history");
    free(out);

    out = integrations_act_admin_order(S("1"), S("[]"), S("[]"), S("[]"),
                                       &found, &len);
    ok(out != NULL && !found, "no box: not found");
    free(out);
}


static void
test_link_verdict(void)
{
    unsigned                  a;
    integrations_act_state_e  next;

    is_int(integrations_act_transition(INTEGRATIONS_ACT_FAILED,
                                       INTEGRATIONS_ACT_EV_REDEEMED, &next,
                                       &a),
           INTEGRATIONS_ACT_APPLIED,
           "a link whose message the outbox gave up on may be redeemed");
    ok(next == INTEGRATIONS_ACT_REDEEMED
       && (a & INTEGRATIONS_ACT_DO_FULFIL), "...redeemed, and fulfilled");

    is_int(integrations_act_link_verdict(1, 0, 1, 1,
                                         INTEGRATIONS_ACT_LINK_SENT, 10, 5),
           INTEGRATIONS_ACT_PAGE_ON_IT, "used, grant failed: on it");
    is_int(integrations_act_link_verdict(1, 0, 1, 0, INTEGRATIONS_ACT_FAILED,
                                         10, 5),
           INTEGRATIONS_ACT_PAGE_ON_IT, "used, unit failed: on it");
    is_int(integrations_act_link_verdict(1, 0, 1, 0,
                                         INTEGRATIONS_ACT_REDEEMED, 10, 5),
           INTEGRATIONS_ACT_PAGE_USED, "used and redeemed: used");
    is_int(integrations_act_link_verdict(1, 1, 1, 1, INTEGRATIONS_ACT_FAILED,
                                         10, 5),
           INTEGRATIONS_ACT_PAGE_REVOKED, "revoked wins");
    is_int(integrations_act_link_verdict(1, 0, 0, 0,
                                         INTEGRATIONS_ACT_LINK_SENT, 10, 10),
           INTEGRATIONS_ACT_PAGE_EXPIRED, "expired");
    is_int(integrations_act_link_verdict(0, 0, 0, 0, 0, 10, 5),
           INTEGRATIONS_ACT_PAGE_UNKNOWN, "unknown");
}


int
main(void)
{
    test_answers();
    test_link_verdict();
    test_route();
    test_query();
    test_time();
    test_action();
    test_keys();

    return done_testing();
}
