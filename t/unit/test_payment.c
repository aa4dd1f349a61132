/*
 * The payments core: client bodies, provider requests on the wire,
 * provider answers, the one response shape.
 */

#include <stdint.h>

#include "tap.h"
#include "integrations_payment.h"


#define S(s)  s, sizeof(s) - 1


static const char  *create_body =
    "{\"amount\":1050,\"currency\":\"usd\",\"order_id\":\"ord-1\","
    "\"customer_id\":\"cus 7\",\"description\":\"Caf\xc3\xa9 & co\","
    "\"source\":\"pm_card_visa\","
    "\"metadata\":{\"sku\":\"a=b&c\",\"note\":\"x y\"}}";


static void
test_parse_create(void)
{
    const char                *field;
    integrations_pay_input_t   in;

    static const struct { const char *body; const char *field; }  bad[] = {
        { "[]", "body" },
        { "{", "body" },
        { "{} x", "body" },
        { "{\"amount\":1050} /* c */", "body" },
        { "{\"currency\":\"USD\"}", "amount" },
        { "{\"amount\":10.5,\"currency\":\"USD\"}", "amount" },
        { "{\"amount\":-1,\"currency\":\"USD\"}", "amount" },
        { "{\"amount\":0,\"currency\":\"USD\"}", "amount" },
        { "{\"amount\":\"1050\",\"currency\":\"USD\"}", "amount" },
        { "{\"amount\":1e3,\"currency\":\"USD\"}", "amount" },
        { "{\"amount\":99999999999999999999,\"currency\":\"USD\"}", "amount" },
        { "{\"amount\":1,\"currency\":\"XXX\"}", "currency" },
        { "{\"amount\":1,\"currency\":\"USD\"}", "order_id" },
        { "{\"amount\":1,\"currency\":\"USD\",\"order_id\":\"a/b\"}",
          "order_id" },
        { "{\"amount\":1,\"currency\":\"USD\",\"order_id\":\"o\"}",
          "customer_id" },
        { "{\"amount\":1,\"currency\":\"USD\",\"order_id\":\"o\","
          "\"customer_id\":\"c\"}", "description" },
        { "{\"amount\":1,\"currency\":\"USD\",\"order_id\":\"o\","
          "\"customer_id\":\"c\",\"description\":\"d\",\"metadata\":[]}",
          "metadata" },
        { "{\"amount\":1,\"currency\":\"USD\",\"order_id\":\"o\","
          "\"customer_id\":\"c\",\"description\":\"d\","
          "\"metadata\":{\"k\":1}}", "metadata" },
        { "{\"provider\":7,\"amount\":1}", "provider" },
    };

    size_t  i;

    ok(integrations_pay_parse_create(create_body, strlen(create_body), &in,
                                     &field) == 0, "create body parsed");
    is_int(in.amount, 1050, "amount in minor units");
    is_str(in.currency, "USD", "currency upper-cased");
    is_int(in.exponent, 2, "its exponent");
    is_int(in.nmetadata, 2, "two metadata pairs");
    ok(in.order_id.len == 5 && memcmp(in.order_id.data, "ord-1", 5) == 0,
       "order_id");
    integrations_pay_input_free(&in);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        field = NULL;
        ok(integrations_pay_parse_create(bad[i].body, strlen(bad[i].body),
                                         &in, &field) == -1
           && field && strcmp(field, bad[i].field) == 0,
           "refused, naming %s: %s", bad[i].field, bad[i].body);
        integrations_pay_input_free(&in);
    }

    /* beyond a double's 53 bits, still exact */

    ok(integrations_pay_parse_create(S("{\"amount\":9007199254740993,"
           "\"currency\":\"KRW\",\"order_id\":\"o1\",\"customer_id\":\"c\","
           "\"description\":\"d\"}"), &in, &field) == 0
       && in.amount == 9007199254740993LL,
       "2^53 + 1 kept exact");
    integrations_pay_input_free(&in);

    ok(integrations_pay_parse_refund(S("{\"reason\":\"dup\"}"), &in, &field)
       == 0 && in.amount == -1, "refund without amount");
    integrations_pay_input_free(&in);
    ok(integrations_pay_parse_refund(S("{\"amount\":5}"), &in, &field) == -1
       && strcmp(field, "reason") == 0, "refund without reason refused");
    integrations_pay_input_free(&in);
}


static void
test_build(void)
{
    char                       key[INTEGRATIONS_PAY_IDEM_LEN + 1];
    char                       key2[INTEGRATIONS_PAY_IDEM_LEN + 1];
    char                      *auth;
    const char                *field;
    integrations_pay_call_t    call;
    integrations_pay_http_t    h;
    integrations_pay_input_t   in;

    integrations_pay_parse_create(create_body, strlen(create_body), &in,
                                  &field);

    integrations_pay_idempotency_key(INTEGRATIONS_PAY_STRIPE, S("ord-1"),
                                     "create", key);
    integrations_pay_idempotency_key(INTEGRATIONS_PAY_STRIPE, S("ord-1"),
                                     "create", key2);
    is_int(strlen(key), INTEGRATIONS_PAY_IDEM_LEN, "key length");
    is_str(key, key2, "same order, same key");
    integrations_pay_idempotency_key(INTEGRATIONS_PAY_PAYPAL, S("ord-1"),
                                     "create", key2);
    ok(strcmp(key, key2) != 0, "other provider, other key");
    integrations_pay_idempotency_key(INTEGRATIONS_PAY_STRIPE, S("ord-12"),
                                     "create", key2);
    ok(strcmp(key, key2) != 0, "other order, other key");

    memset(&call, 0, sizeof(call));
    call.provider = INTEGRATIONS_PAY_STRIPE;
    call.op = INTEGRATIONS_PAY_CREATE;
    call.in = &in;
    call.idempotency_key.data = key;
    call.idempotency_key.len = strlen(key);

    ok(integrations_pay_build(&call, &h) == 0, "stripe create built");
    is_str(h.method, "POST", "stripe: POST");
    is_str(h.path, "/v1/payment_intents", "stripe: path");
    is_str(h.content_type, "application/x-www-form-urlencoded",
           "stripe: form encoded");
    is_str(h.idempotency_header, "Idempotency-Key", "stripe: key header");
    is_str(h.body, "amount=1050&currency=usd"
           "&description=Caf%C3%A9%20%26%20co"
           "&payment_method=pm_card_visa&confirm=true"
           "&metadata[order_id]=ord-1&metadata[customer_id]=cus%207"
           "&metadata[sku]=a%3Db%26c&metadata[note]=x%20y",
           "stripe: body, metadata and percent-encoding");
    integrations_pay_http_free(&h);

    call.op = INTEGRATIONS_PAY_REFUND;
    call.id.data = "pi_123";
    call.id.len = 6;
    call.amount = 500;
    ok(integrations_pay_build(&call, &h) == 0, "stripe refund built");
    is_str(h.path, "/v1/refunds", "stripe refund: path");
    is_str(h.body, "payment_intent=pi_123&amount=500", "stripe refund: body");
    integrations_pay_http_free(&h);

    call.op = INTEGRATIONS_PAY_GET;
    call.id.data = "pi_1/../x";
    call.id.len = 9;
    is_int(integrations_pay_build(&call, &h), -1, "id with a slash refused");

    call.op = INTEGRATIONS_PAY_CAPTURE;
    call.id.data = "pi_1";
    call.id.len = 4;
    is_int(integrations_pay_build(&call, &h), -1, "no capture at stripe");

    /* Toss */

    auth = integrations_pay_auth_header(INTEGRATIONS_PAY_TOSS,
                 INTEGRATIONS_PAY_CREATE,
                 S("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"));
    is_str(auth, "Authorization: Basic "
           "dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg==",
           "toss: Basic base64(key + \":\")");
    free(auth);

    ok(integrations_pay_auth_header(INTEGRATIONS_PAY_STRIPE, 0,
                                    S("sk\r\nX: y")) == NULL,
       "a credential with CR LF refused");

    auth = integrations_pay_auth_header(INTEGRATIONS_PAY_PAYPAL,
                                        INTEGRATIONS_PAY_TOKEN, S("id:sec"));
    is_str(auth, "Authorization: Basic aWQ6c2Vj", "paypal token: Basic");
    free(auth);

    auth = integrations_pay_auth_header(INTEGRATIONS_PAY_COINBASE, 0,
                                        S("cb-key"));
    is_str(auth, "X-CC-Api-Key: cb-key", "coinbase: api key header");
    free(auth);

    integrations_pay_input_free(&in);

    integrations_pay_parse_create(S("{\"amount\":15000,\"currency\":\"KRW\","
        "\"order_id\":\"order-77\",\"customer_id\":\"c1\",\"description\":"
        "\"d\",\"payment_key\":\"tgen_2024\"}"), &in, &field);

    call.provider = INTEGRATIONS_PAY_TOSS;
    call.op = INTEGRATIONS_PAY_CREATE;
    call.in = &in;
    ok(integrations_pay_build(&call, &h) == 0, "toss confirm built");
    is_str(h.path, "/v1/payments/confirm", "toss: confirm path");
    is_str(h.body, "{\"paymentKey\":\"tgen_2024\",\"orderId\":\"order-77\","
           "\"amount\":15000}", "toss: JSON body, amount a number");
    is_str(h.idempotency_header, "Idempotency-Key", "toss: key header");
    integrations_pay_http_free(&h);

    call.op = INTEGRATIONS_PAY_REFUND;
    call.id.data = "tgen_2024";
    call.id.len = 9;
    call.amount = -1;
    in.reason.data = "changed mind";
    in.reason.len = 12;
    ok(integrations_pay_build(&call, &h) == 0, "toss cancel built");
    is_str(h.path, "/v1/payments/tgen_2024/cancel", "toss: cancel path");
    is_str(h.body, "{\"cancelReason\":\"changed mind\"}",
           "toss: full cancel has no amount");
    integrations_pay_http_free(&h);
    integrations_pay_input_free(&in);

    /* PayPal */

    integrations_pay_parse_create(S("{\"amount\":1050,\"currency\":\"EUR\","
        "\"order_id\":\"o-9\",\"customer_id\":\"c1\",\"description\":\"d\"}"),
        &in, &field);

    call.provider = INTEGRATIONS_PAY_PAYPAL;
    call.op = INTEGRATIONS_PAY_CREATE;
    ok(integrations_pay_build(&call, &h) == 0, "paypal order built");
    is_str(h.path, "/v2/checkout/orders", "paypal: orders path");
    is_str(h.idempotency_header, "PayPal-Request-Id", "paypal: request id");
    is_str(h.body, "{\"intent\":\"CAPTURE\",\"purchase_units\":[{"
           "\"reference_id\":\"o-9\",\"custom_id\":\"c1\",\"description\":"
           "\"d\",\"amount\":{\"currency_code\":\"EUR\",\"value\":\"10.50\"}"
           "}]}", "paypal: decimal string amount");
    integrations_pay_http_free(&h);

    call.op = INTEGRATIONS_PAY_REFUND;
    call.id.data = "CAP1";
    call.id.len = 4;
    call.amount = 5;
    call.currency = "JPY";
    ok(integrations_pay_build(&call, &h) == 0, "paypal refund built");
    is_str(h.path, "/v2/payments/captures/CAP1/refund", "paypal: refund path");
    is_str(h.body, "{\"amount\":{\"value\":\"5\",\"currency_code\":\"JPY\"}}",
           "paypal: JPY refund without decimals");
    integrations_pay_http_free(&h);

    call.op = INTEGRATIONS_PAY_TOKEN;
    ok(integrations_pay_build(&call, &h) == 0
       && strcmp(h.body, "grant_type=client_credentials") == 0
       && strcmp(h.path, "/v1/oauth2/token") == 0, "paypal token call");
    integrations_pay_http_free(&h);
    integrations_pay_input_free(&in);

    /* Square */

    integrations_pay_parse_create(S("{\"amount\":1050,\"currency\":\"USD\","
        "\"order_id\":\"o-9\",\"customer_id\":\"c1\",\"description\":\"d\","
        "\"source\":\"cnon:card-nonce-ok\"}"), &in, &field);

    call.provider = INTEGRATIONS_PAY_SQUARE;
    call.op = INTEGRATIONS_PAY_CREATE;
    call.idempotency_key.data = "k1";
    call.idempotency_key.len = 2;
    ok(integrations_pay_build(&call, &h) == 0, "square payment built");
    ok(h.idempotency_header == NULL, "square: no key header");
    ok(strstr(h.body, "\"idempotency_key\":\"k1\"") != NULL
       && strstr(h.body, "\"amount_money\":{\"amount\":1050,"
                 "\"currency\":\"USD\"}") != NULL,
       "square: key and amount_money in the body");
    integrations_pay_http_free(&h);

    call.op = INTEGRATIONS_PAY_REFUND;
    call.id.data = "sq1";
    call.id.len = 3;
    call.amount = -1;
    is_int(integrations_pay_build(&call, &h), -1,
           "square refund needs an amount");
    integrations_pay_input_free(&in);

    /* Coinbase */

    integrations_pay_parse_create(S("{\"amount\":1050,\"currency\":\"USD\","
        "\"order_id\":\"o-9\",\"customer_id\":\"c1\",\"description\":\"d\"}"),
        &in, &field);

    call.provider = INTEGRATIONS_PAY_COINBASE;
    call.op = INTEGRATIONS_PAY_CREATE;
    ok(integrations_pay_build(&call, &h) == 0, "coinbase charge built");
    is_str(h.path, "/charges", "coinbase: path");
    ok(strstr(h.body, "\"local_price\":{\"amount\":\"10.50\","
              "\"currency\":\"USD\"}") != NULL
       && strstr(h.body, "\"pricing_type\":\"fixed_price\"") != NULL,
       "coinbase: fixed local price as a decimal string");
    is_str(integrations_pay_version_header(INTEGRATIONS_PAY_COINBASE),
           "X-CC-Version: 2018-03-22", "coinbase: version header");
    integrations_pay_http_free(&h);
    integrations_pay_input_free(&in);
}


static void
test_parse(void)
{
    char                        token[64], *json;
    size_t                      len;
    int64_t                     exp;
    integrations_pay_result_t   res;

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_STRIPE,
               INTEGRATIONS_PAY_CREATE, 200,
               S("{\"id\":\"pi_1\",\"object\":\"payment_intent\","
                 "\"amount\":1050,\"currency\":\"usd\",\"status\":"
                 "\"succeeded\",\"created\":1700000000,\"metadata\":"
                 "{\"order_id\":\"ord-1\"}}"), &res),
           INTEGRATIONS_PAY_OK, "stripe intent parsed");
    is_str(res.payment_id, "pi_1", "stripe: id");
    is_int(res.status, INTEGRATIONS_PAY_COMPLETED, "succeeded: completed");
    is_int(res.amount, 1050, "stripe: minor units as given");
    is_str(res.currency, "USD", "stripe: currency upper-cased");
    is_str(res.order_id, "ord-1", "stripe: order id from metadata");
    is_str(res.created_at, "2023-11-14T22:13:20Z", "stripe: created");

    json = integrations_pay_result_json(&res, INTEGRATIONS_PAY_STRIPE, &len);
    is_str(json, "{\"payment_id\":\"pi_1\",\"provider\":\"stripe\","
           "\"status\":\"completed\",\"amount\":1050,\"currency\":\"USD\","
           "\"order_id\":\"ord-1\",\"created_at\":\"2023-11-14T22:13:20Z\","
           "\"provider_status\":\"succeeded\"}", "the one response shape");
    free(json);

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_STRIPE,
               INTEGRATIONS_PAY_CREATE, 402,
               S("{\"error\":{\"type\":\"card_error\",\"code\":"
                 "\"card_declined\",\"decline_code\":\"insufficient_funds\","
                 "\"message\":\"Your card has insufficient funds.\"}}"),
               &res),
           INTEGRATIONS_PAY_DECLINED, "stripe decline");
    is_str(res.code, "insufficient_funds", "stripe: decline code");
    is_str(res.message, "Your card has insufficient funds.",
           "stripe: message");

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_STRIPE,
               INTEGRATIONS_PAY_REFUND, 200,
               S("{\"id\":\"re_1\",\"object\":\"refund\",\"amount\":500,"
                 "\"currency\":\"usd\",\"payment_intent\":\"pi_1\","
                 "\"status\":\"succeeded\"}"), &res),
           INTEGRATIONS_PAY_OK, "stripe refund parsed");
    ok(res.status == INTEGRATIONS_PAY_REFUNDED
       && strcmp(res.payment_id, "pi_1") == 0,
       "stripe refund: refunded, the intent's id");

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_STRIPE,
               INTEGRATIONS_PAY_GET, 500, S("<html>"), &res),
           INTEGRATIONS_PAY_UNAVAILABLE, "5xx: unavailable");
    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_STRIPE,
               INTEGRATIONS_PAY_GET, 200, S("<html>"), &res),
           INTEGRATIONS_PAY_BAD_RESPONSE, "200 not JSON: bad response");
    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_STRIPE,
               INTEGRATIONS_PAY_GET, 200,
               S("{\"id\":\"pi_1\",\"status\":\"succeeded\",\"amount\":10.5,"
                 "\"currency\":\"usd\"}"), &res),
           INTEGRATIONS_PAY_BAD_RESPONSE, "fractional minor units refused");

    /* Toss */

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_TOSS,
               INTEGRATIONS_PAY_CREATE, 200,
               S("{\"paymentKey\":\"tgen_1\",\"orderId\":\"order-77\","
                 "\"status\":\"DONE\",\"totalAmount\":15000,\"currency\":"
                 "\"KRW\",\"requestedAt\":\"2024-02-13T12:17:57+09:00\","
                 "\"approvedAt\":\"2024-02-13T12:18:14+09:00\"}"), &res),
           INTEGRATIONS_PAY_OK, "toss payment parsed");
    ok(res.status == INTEGRATIONS_PAY_COMPLETED && res.amount == 15000
       && strcmp(res.currency, "KRW") == 0
       && strcmp(res.order_id, "order-77") == 0, "toss: DONE, 15000 KRW");

    integrations_pay_parse_response(INTEGRATIONS_PAY_TOSS,
        INTEGRATIONS_PAY_REFUND, 200,
        S("{\"paymentKey\":\"tgen_1\",\"orderId\":\"order-77\",\"status\":"
          "\"CANCELED\",\"totalAmount\":15000,\"currency\":\"KRW\","
          "\"approvedAt\":\"2024-02-13T12:18:14+09:00\"}"), &res);
    is_int(res.status, INTEGRATIONS_PAY_REFUNDED, "toss: paid then CANCELED");

    integrations_pay_parse_response(INTEGRATIONS_PAY_TOSS,
        INTEGRATIONS_PAY_GET, 200,
        S("{\"paymentKey\":\"tgen_1\",\"status\":\"CANCELED\","
          "\"totalAmount\":15000,\"currency\":\"KRW\",\"approvedAt\":null}"),
        &res);
    is_int(res.status, INTEGRATIONS_PAY_CANCELLED,
           "toss: CANCELED before approval");

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_TOSS,
               INTEGRATIONS_PAY_CREATE, 400,
               S("{\"code\":\"INVALID_API_KEY\",\"message\":\"bad key\"}"),
               &res),
           INTEGRATIONS_PAY_UNAVAILABLE, "toss: INVALID_API_KEY is ours");
    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_TOSS,
               INTEGRATIONS_PAY_CREATE, 400,
               S("{\"code\":\"REJECT_CARD_PAYMENT\",\"message\":\"limit\"}"),
               &res),
           INTEGRATIONS_PAY_DECLINED, "toss: a card refusal declines");
    is_str(res.code, "REJECT_CARD_PAYMENT", "toss: code");

    /* PayPal */

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_PAYPAL,
               INTEGRATIONS_PAY_CAPTURE, 201,
               S("{\"id\":\"5O190127TN364715T\",\"status\":\"COMPLETED\","
                 "\"purchase_units\":[{\"reference_id\":\"o-9\","
                 "\"payments\":{\"captures\":[{\"id\":\"3C679366HH908993F\","
                 "\"status\":\"COMPLETED\",\"amount\":{\"currency_code\":"
                 "\"USD\",\"value\":\"100.10\"}}]}}]}"), &res),
           INTEGRATIONS_PAY_OK, "paypal capture parsed");
    ok(res.status == INTEGRATIONS_PAY_COMPLETED && res.amount == 10010
       && strcmp(res.capture_id, "3C679366HH908993F") == 0
       && strcmp(res.order_id, "o-9") == 0,
       "paypal: \"100.10\" is 10010 exactly, capture id kept");

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_PAYPAL,
               INTEGRATIONS_PAY_CREATE, 201,
               S("{\"id\":\"O1\",\"status\":\"CREATED\",\"purchase_units\":"
                 "[{\"amount\":{\"currency_code\":\"USD\",\"value\":"
                 "\"0.1\"}}]}"), &res),
           INTEGRATIONS_PAY_OK, "paypal order parsed");
    ok(res.amount == 10 && res.status == INTEGRATIONS_PAY_PENDING,
       "paypal: \"0.1\" is 10 cents, CREATED is pending");

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_PAYPAL,
               INTEGRATIONS_PAY_CREATE, 201,
               S("{\"id\":\"O1\",\"status\":\"CREATED\",\"purchase_units\":"
                 "[{\"amount\":{\"currency_code\":\"USD\",\"value\":"
                 "\"0.105\"}}]}"), &res),
           INTEGRATIONS_PAY_BAD_RESPONSE, "paypal: three decimals of USD");

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_PAYPAL,
               INTEGRATIONS_PAY_CAPTURE, 422,
               S("{\"name\":\"UNPROCESSABLE_ENTITY\",\"details\":[{\"issue\":"
                 "\"INSTRUMENT_DECLINED\",\"description\":\"declined\"}]}"),
               &res),
           INTEGRATIONS_PAY_DECLINED, "paypal decline");
    is_str(res.code, "INSTRUMENT_DECLINED", "paypal: the issue as code");

    ok(integrations_pay_parse_token(S("{\"access_token\":\"A21AA\","
           "\"token_type\":\"Bearer\",\"expires_in\":32400}"), token,
           sizeof(token), &exp) == 0
       && strcmp(token, "A21AA") == 0 && exp == 32400, "paypal token");
    is_int(integrations_pay_parse_token(S("{\"access_token\":\"A B\","
               "\"expires_in\":1}"), token, sizeof(token), &exp), -1,
           "a token with a space refused");

    /* Square */

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_SQUARE,
               INTEGRATIONS_PAY_CREATE, 200,
               S("{\"payment\":{\"id\":\"sq1\",\"status\":\"COMPLETED\","
                 "\"amount_money\":{\"amount\":1050,\"currency\":\"USD\"},"
                 "\"reference_id\":\"o-9\",\"created_at\":"
                 "\"2024-01-01T00:00:00Z\"}}"), &res),
           INTEGRATIONS_PAY_OK, "square payment parsed");
    ok(res.status == INTEGRATIONS_PAY_COMPLETED && res.amount == 1050,
       "square: completed, 1050");

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_SQUARE,
               INTEGRATIONS_PAY_CREATE, 402,
               S("{\"errors\":[{\"category\":\"PAYMENT_METHOD_ERROR\","
                 "\"code\":\"CARD_DECLINED\",\"detail\":\"declined\"}]}"),
               &res),
           INTEGRATIONS_PAY_DECLINED, "square decline");
    is_str(res.code, "CARD_DECLINED", "square: code");

    /* Coinbase */

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_COINBASE,
               INTEGRATIONS_PAY_GET, 200,
               S("{\"data\":{\"id\":\"f765421f\",\"code\":\"66BEOV2A\","
                 "\"created_at\":\"2024-01-01T00:00:00Z\",\"pricing\":"
                 "{\"local\":{\"amount\":\"10.50\",\"currency\":\"USD\"}},"
                 "\"metadata\":{\"order_id\":\"o-9\"},\"timeline\":["
                 "{\"status\":\"NEW\"},{\"status\":\"PENDING\"},"
                 "{\"status\":\"COMPLETED\"}]}}"), &res),
           INTEGRATIONS_PAY_OK, "coinbase charge parsed");
    ok(res.status == INTEGRATIONS_PAY_COMPLETED && res.amount == 1050
       && strcmp(res.provider_status, "COMPLETED") == 0,
       "coinbase: the last timeline entry, 10.50 exactly");

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_COINBASE,
               INTEGRATIONS_PAY_GET, 404,
               S("{\"error\":{\"type\":\"not_found\",\"message\":\"x\"}}"),
               &res),
           INTEGRATIONS_PAY_NOT_FOUND, "404: not found");

    {
        char  deep[200];
        memset(deep, '[', sizeof(deep));
        is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_STRIPE,
                   INTEGRATIONS_PAY_GET, 200, deep, sizeof(deep), &res),
               INTEGRATIONS_PAY_BAD_RESPONSE, "deep nesting refused");
    }
}


/*
 * A NUL, a control character or a key twice: refused naming the field,
 * never cut short or resolved to one of the two.
 */

#define ORDER_NO_DESCRIPTION(f)                                               \
    "{\"amount\":1050,\"currency\":\"USD\",\"customer_id\":\"c\","            \
    "\"order_id\":\"o-1\"," f "}"
#define ORDER(f)  ORDER_NO_DESCRIPTION("\"description\":\"d\"," f)

static void
test_strict_input(void)
{
    size_t                     i;
    const char                *field;
    integrations_pay_input_t   in;

    static const struct {
        const char  *body;
        const char  *field;
        const char  *why;
    } bad[] = {
        { "{\"amount\":1050,\"currency\":\"USD\",\"order_id\":\"o\\u0000x\","
          "\"customer_id\":\"c\",\"description\":\"d\"}", "order_id",
          "holds a NUL character" },
        { ORDER("\"source\":\"pm\\u0000\""), "source",
          "holds a NUL character" },
        { ORDER("\"metadata\":{\"note\":\"a\\u0000\"}"), "metadata.note",
          "holds a NUL character" },
        { ORDER("\"metadata\":{\"n\\u0000\":\"a\"}"), "metadata",
          "holds a NUL character" },
        { ORDER("\"x\":[\"\\u0000\"]"), "x[0]", "holds a NUL character" },
        { "\"\\u0000\"", "body", "holds a NUL character" },
        { ORDER("\"amount\":1"), "amount", "is given more than once" },
        { ORDER("\"metadata\":{\"k\":\"1\",\"k\":\"2\"}"), "metadata.k",
          "is given more than once" },
        { ORDER("\"x\":{\"y\":[{\"z\":1,\"z\":1}]}"), "x.y[0].z",
          "is given more than once" },
        { ORDER("\"source\":\"pm\\u0001\""), "source",
          "holds a control character" },
        { ORDER("\"method\":\"card\\n\""), "method",
          "holds a control character" },
        { ORDER("\"provider\":\"stripe\\t\""), "provider",
          "holds a control character" },
        { ORDER_NO_DESCRIPTION("\"description\":\"a\\u007f\""),
          "description", "holds a control character" },
        { ORDER("\"metadata\":{\"k\\n\":\"v\"}"), "metadata",
          "holds a control character" },
        { ORDER("\"metadata\":{\"k\":\"v\\u001b[0m\"}"), "metadata",
          "holds a control character" },
        { "{\"amount\":1050,\"currency\":\"USD\",\"order_id\":\"o-1\","
          "\"customer_id\":\"c\\u0002\",\"description\":\"d\"}",
          "customer_id", "holds a control character" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        field = NULL;
        ok(integrations_pay_parse_create(bad[i].body, strlen(bad[i].body),
                                         &in, &field) == -1
           && field && strcmp(field, bad[i].field) == 0
           && in.why && strcmp(in.why, bad[i].why) == 0,
           "refused, %s %s: %s", bad[i].field, bad[i].why, bad[i].body);
        integrations_pay_input_free(&in);
    }

    /* text keeps its line breaks and tabs */

    field = NULL;
    ok(integrations_pay_parse_create(S(ORDER_NO_DESCRIPTION(
           "\"description\":\"l1\\nl2\\t\\r\",\"metadata\":{\"n\":\"a\\nb\"}")),
                                     &in, &field) == 0,
       "tab, LF and CR in description and a metadata value");
    ok(in.description.len == 7
       && memcmp(in.description.data, "l1\nl2\t\r", 7) == 0,
       "  kept as sent");
    ok(in.why == NULL, "  no why");
    integrations_pay_input_free(&in);

    ok(integrations_pay_parse_refund(S("{\"reason\":\"a\",\"reason\":\"b\"}"),
                                     &in, &field) == -1
       && strcmp(field, "reason") == 0
       && strcmp(in.why, "is given more than once") == 0,
       "refund: reason twice");
    integrations_pay_input_free(&in);

    ok(integrations_pay_parse_refund(S("{\"reason\":\"a\\u0000b\"}"), &in,
                                     &field) == -1
       && strcmp(field, "reason") == 0
       && strcmp(in.why, "holds a NUL character") == 0,
       "refund: a NUL in the reason");
    integrations_pay_input_free(&in);

    ok(integrations_pay_parse_refund(S("{\"reason\":\"line 1\\nline 2\"}"),
                                     &in, &field) == 0,
       "refund: a reason on two lines");
    integrations_pay_input_free(&in);
}


/* provider answers: a NUL or a key twice is a bad answer, not a short id */

static void
test_strict_answers(void)
{
    size_t                      i;
    char                        token[64];
    int64_t                     exp;
    integrations_pay_result_t   res;

    static const struct {
        int          provider;
        int          op;
        const char  *body;
        const char  *what;
    } bad[] = {
        { INTEGRATIONS_PAY_STRIPE, INTEGRATIONS_PAY_CREATE,
          "{\"id\":\"pi_1\\u0000x\",\"status\":\"succeeded\",\"amount\":1,"
          "\"currency\":\"usd\"}", "stripe: a NUL in the id" },
        { INTEGRATIONS_PAY_STRIPE, INTEGRATIONS_PAY_CREATE,
          "{\"id\":\"pi_1\",\"status\":\"succeeded\",\"amount\":1,"
          "\"currency\":\"usd\",\"metadata\":{\"order_id\":\"o\\u0000\"}}",
          "stripe: a NUL in the metadata" },
        { INTEGRATIONS_PAY_STRIPE, INTEGRATIONS_PAY_CREATE,
          "{\"id\":\"pi_1\",\"status\":\"failed\",\"status\":\"succeeded\","
          "\"amount\":1,\"currency\":\"usd\"}", "stripe: status twice" },
        { INTEGRATIONS_PAY_STRIPE, INTEGRATIONS_PAY_GET,
          "{\"id\":\"pi_1\",\"status\":\"succeeded\",\"amount\":100,"
          "\"amount\":1,\"currency\":\"usd\"}", "stripe: amount twice" },
        { INTEGRATIONS_PAY_STRIPE, INTEGRATIONS_PAY_CREATE,
          "{\"id\":\"pi_1\\n\",\"status\":\"succeeded\",\"amount\":1,"
          "\"currency\":\"usd\"}", "stripe: a line feed in the id" },
        { INTEGRATIONS_PAY_STRIPE, INTEGRATIONS_PAY_CREATE,
          "{\"id\":\"pi/../1\",\"status\":\"succeeded\",\"amount\":1,"
          "\"currency\":\"usd\"}", "stripe: a path in the id" },
        { INTEGRATIONS_PAY_TOSS, INTEGRATIONS_PAY_CREATE,
          "{\"paymentKey\":\"tgen_1\\u0000\",\"status\":\"DONE\","
          "\"totalAmount\":100,\"currency\":\"KRW\"}",
          "toss: a NUL in the paymentKey" },
        { INTEGRATIONS_PAY_SQUARE, INTEGRATIONS_PAY_REFUND,
          "{\"refund\":{\"payment_id\":\"p\\u0000\",\"status\":\"PENDING\","
          "\"amount_money\":{\"amount\":1,\"currency\":\"USD\"}}}",
          "square: a NUL in the refund's payment id" },
        { INTEGRATIONS_PAY_COINBASE, INTEGRATIONS_PAY_GET,
          "{\"data\":{\"id\":\"c1\",\"timeline\":[{\"status\":\"NEW\"}],"
          "\"pricing\":{\"local\":{\"amount\":\"1.00\",\"currency\":\"USD\","
          "\"currency\":\"EUR\"}}}}", "coinbase: currency twice" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        is_int(integrations_pay_parse_response(bad[i].provider, bad[i].op,
                   200, bad[i].body, strlen(bad[i].body), &res),
               INTEGRATIONS_PAY_BAD_RESPONSE, "%s: bad response",
               bad[i].what);
    }

    /* an error answer that cannot be read keeps its status's meaning */

    is_int(integrations_pay_parse_response(INTEGRATIONS_PAY_STRIPE,
               INTEGRATIONS_PAY_CREATE, 402,
               S("{\"error\":{\"code\":\"card\\u0000_declined\"}}"), &res),
           INTEGRATIONS_PAY_DECLINED, "a 402 with a NUL: still declined");
    is_str(res.code, "", "  with no code rather than a cut one");

    ok(integrations_pay_parse_token(S("{\"access_token\":\"A21\\u0000x\","
                                      "\"expires_in\":100}"),
                                    token, sizeof(token), &exp) == -1,
       "a token with a NUL refused");
    ok(integrations_pay_parse_token(S("{\"access_token\":\"A\","
                                      "\"access_token\":\"B\","
                                      "\"expires_in\":100}"),
                                    token, sizeof(token), &exp) == -1,
       "two tokens refused");
}


int
main(void)
{
    test_parse_create();
    test_build();
    test_parse();
    test_strict_input();
    test_strict_answers();

    return done_testing();
}
