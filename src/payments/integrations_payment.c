/*
 * The unified payments API: see integrations_payment.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "integrations_json.h"
#include "integrations_money.h"
#include "integrations_payment.h"


#define INTEGRATIONS_PAY_MAX_DEPTH  32
#define INTEGRATIONS_PAY_MAX_BODY   (1024 * 1024)


typedef struct {
    char    *data;
    size_t   len;
    size_t   size;
    int      failed;
} integrations_pay_buf_t;


static const char  *integrations_pay_names[] = {
    "stripe", "toss", "paypal", "square", "coinbase"
};

static const char  *integrations_pay_statuses[] = {
    "pending", "processing", "completed", "failed", "cancelled", "refunded"
};


static void buf_add(integrations_pay_buf_t *b, const char *s, size_t n);
static void buf_adds(integrations_pay_buf_t *b, const char *s);
static void buf_form(integrations_pay_buf_t *b, const char *s, size_t n);
static void form_field(integrations_pay_buf_t *b, const char *key,
    const char *v, size_t n);
static void form_meta(integrations_pay_buf_t *b, const char *k, size_t kn,
    const char *v, size_t vn);
static yajl_val parse_tree(const char *json, size_t len,
    integrations_json_err_t *err);
static yajl_val get(yajl_val obj, const char *key);
static yajl_val get_path(yajl_val v, const char **path);
static yajl_val first(yajl_val arr);
static yajl_val last(yajl_val arr);
static int get_str(yajl_val obj, const char *key,
    integrations_pay_str_t *s);
static int copy_str(char *dst, size_t size, yajl_val v);
static int number_text(yajl_val v, const char **s, size_t *n);
static int amount_of(yajl_val v, int exponent, int64_t *minor);
static int money_of(yajl_val amount, yajl_val currency, int minor_units,
    integrations_pay_result_t *res);
static void gen_str(yajl_gen g, const char *s);
static void gen_strn(yajl_gen g, const char *s, size_t n);
static void gen_money(yajl_gen g, int64_t minor, int exponent, int number);
static char *gen_done(yajl_gen g, size_t *len);
static int status_of(const char *table[][2], const char *s, int dflt);
static int parse_stripe(int op, yajl_val root,
    integrations_pay_result_t *res);
static int parse_toss(int op, yajl_val root, integrations_pay_result_t *res);
static int parse_paypal(int op, yajl_val root,
    integrations_pay_result_t *res);
static int parse_square(int op, yajl_val root,
    integrations_pay_result_t *res);
static int parse_coinbase(int op, yajl_val root,
    integrations_pay_result_t *res);
static void parse_error(int provider, yajl_val root,
    integrations_pay_result_t *res);
static int build_stripe(const integrations_pay_call_t *call,
    integrations_pay_http_t *h, integrations_pay_buf_t *b);
static int build_json(const integrations_pay_call_t *call,
    integrations_pay_http_t *h, integrations_pay_buf_t *path, yajl_gen g);


int
integrations_pay_provider(const char *name, size_t len)
{
    int  i;

    for (i = 0; i < INTEGRATIONS_PAY_NPROVIDERS; i++) {
        if (strlen(integrations_pay_names[i]) == len
            && memcmp(integrations_pay_names[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


const char *
integrations_pay_provider_name(int provider)
{
    if (provider < 0 || provider >= INTEGRATIONS_PAY_NPROVIDERS) {
        return "unknown";
    }

    return integrations_pay_names[provider];
}


const char *
integrations_pay_status_name(int status)
{
    if (status < 0 || status > INTEGRATIONS_PAY_REFUNDED) {
        return "pending";
    }

    return integrations_pay_statuses[status];
}


const char *
integrations_pay_default_currencies(int provider)
{
    switch (provider) {
    case INTEGRATIONS_PAY_STRIPE:
        return "USD,EUR,GBP,JPY,KRW,CAD,AUD,SGD,HKD,CHF";
    case INTEGRATIONS_PAY_TOSS:
        return "KRW";
    case INTEGRATIONS_PAY_PAYPAL:
        return "USD,EUR,GBP,JPY,CAD,AUD";
    case INTEGRATIONS_PAY_SQUARE:
        return "USD,CAD,GBP,AUD,JPY,EUR";
    case INTEGRATIONS_PAY_COINBASE:
        return "USD,EUR,GBP";
    }

    return "";
}


const char *
integrations_pay_default_methods(int provider)
{
    switch (provider) {
    case INTEGRATIONS_PAY_STRIPE:
        return "card";
    case INTEGRATIONS_PAY_TOSS:
        return "card,transfer,virtual_account,mobile_phone";
    case INTEGRATIONS_PAY_PAYPAL:
        return "paypal,card";
    case INTEGRATIONS_PAY_SQUARE:
        return "card";
    case INTEGRATIONS_PAY_COINBASE:
        return "cryptocurrency";
    }

    return "";
}


int
integrations_pay_id_valid(const char *id, size_t len)
{
    size_t  i;

    if (len == 0 || len > INTEGRATIONS_PAY_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')
              || (id[i] >= '0' && id[i] <= '9') || id[i] == '_'
              || id[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* client requests */

/*
 * A string field: -1 when required and missing, not a string, empty, too
 * long, or holding a control character (ids and names none at all; text,
 * a description or a reason, its tabs and line breaks).  A NUL never
 * gets here: the parser refuses it.
 */

static int
text_field(integrations_pay_input_t *in, const char *key,
    integrations_pay_str_t *s, int required, size_t max, int text)
{
    yajl_val  v;

    v = get(in->tree, key);

    if (v == NULL || YAJL_IS_NULL(v)) {
        s->data = NULL;
        s->len = 0;
        return required ? -1 : 0;
    }

    if (!YAJL_IS_STRING(v)) {
        return -1;
    }

    s->data = v->u.string;
    s->len = strlen(v->u.string);

    if (!integrations_json_plain(s->data, s->len, text)) {
        in->why = "holds a control character";
        return -1;
    }

    return (s->len == 0 || s->len > max) ? -1 : 0;
}


static int
amount_field(yajl_val root, int64_t *amount, int required)
{
    size_t       n;
    yajl_val     v;
    const char  *s;

    v = get(root, "amount");

    if (v == NULL || YAJL_IS_NULL(v)) {
        *amount = -1;
        return required ? -1 : 0;
    }

    /* integer minor units: "10.5" or 1e3 from a client is a mistake */

    if (!YAJL_IS_NUMBER(v) || number_text(v, &s, &n) != 0
        || integrations_money_parse(s, n, 0, amount) != 0
        || *amount == 0)
    {
        return -1;
    }

    return 0;
}


static int
parse_common(const char *json, size_t len, integrations_pay_input_t *in,
    const char **field)
{
    yajl_val                 root;
    integrations_json_err_t  err;

    memset(in, 0, sizeof(integrations_pay_input_t));
    in->amount = -1;
    in->exponent = -1;

    root = parse_tree(json, len, &err);

    if (root == NULL || !YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        *field = "body";

        /* a NUL or a key twice: where it is, not just "body" */

        if (root == NULL && err.path[0]
            && (err.error == INTEGRATIONS_JSON_NUL
                || err.error == INTEGRATIONS_JSON_DUPLICATE))
        {
            memcpy(in->where, err.path, sizeof(in->where));
            *field = in->where;
            in->why = integrations_json_strerror(err.error);

        } else if (root == NULL && err.error != INTEGRATIONS_JSON_INVALID) {
            in->why = integrations_json_strerror(err.error);
        }

        return -1;
    }

    in->tree = root;

    return 0;
}


int
integrations_pay_parse_create(const char *json, size_t len,
    integrations_pay_input_t *in, const char **field)
{
    size_t                   i;
    yajl_val                 root, v, meta;
    integrations_pay_str_t   cur;

    if (parse_common(json, len, in, field) != 0) {
        return -1;
    }

    root = in->tree;

    if (text_field(in, "provider", &in->provider, 0, 32, 0) != 0) {
        *field = "provider";
        return -1;
    }

    if (amount_field(root, &in->amount, 1) != 0) {
        *field = "amount";
        return -1;
    }

    if (text_field(in, "currency", &cur, 1, 3, 0) != 0
        || (in->exponent = integrations_money_exponent(cur.data, cur.len))
           < 0)
    {
        *field = "currency";
        return -1;
    }

    for (i = 0; i < 3; i++) {
        in->currency[i] = (cur.data[i] >= 'a') ? cur.data[i] - 'a' + 'A'
                                               : cur.data[i];
    }

    /* order ids go into provider URLs and keys: keep them plain */

    if (text_field(in, "order_id", &in->order_id, 1, 64, 0) != 0
        || !integrations_pay_id_valid(in->order_id.data, in->order_id.len))
    {
        *field = "order_id";
        return -1;
    }

    if (text_field(in, "customer_id", &in->customer_id, 1, 255, 0) != 0) {
        *field = "customer_id";
        return -1;
    }

    if (text_field(in, "description", &in->description, 1, 500, 1) != 0) {
        *field = "description";
        return -1;
    }

    if (text_field(in, "method", &in->method, 0, 32, 0) != 0) {
        *field = "method";
        return -1;
    }

    if (text_field(in, "source", &in->source, 0, 255, 0) != 0) {
        *field = "source";
        return -1;
    }

    if (text_field(in, "payment_key", &in->payment_key, 0, 200, 0) != 0
        || (in->payment_key.len
            && !integrations_pay_id_valid(in->payment_key.data,
                                          in->payment_key.len)))
    {
        *field = "payment_key";
        return -1;
    }

    meta = get(root, "metadata");

    if (meta && !YAJL_IS_NULL(meta)) {
        if (!YAJL_IS_OBJECT(meta)
            || meta->u.object.len > INTEGRATIONS_PAY_MAX_METADATA)
        {
            *field = "metadata";
            return -1;
        }

        for (i = 0; i < meta->u.object.len; i++) {
            v = meta->u.object.values[i];

            if (!YAJL_IS_STRING(v)) {
                goto bad_metadata;
            }

            in->metadata[i].key.data = meta->u.object.keys[i];
            in->metadata[i].key.len = strlen(meta->u.object.keys[i]);
            in->metadata[i].value.data = v->u.string;
            in->metadata[i].value.len = strlen(v->u.string);

            if (in->metadata[i].key.len == 0
                || in->metadata[i].key.len > 40
                || in->metadata[i].value.len > 500)
            {
                goto bad_metadata;
            }

            /* keys are names; values are text */

            if (!integrations_json_plain(in->metadata[i].key.data,
                                         in->metadata[i].key.len, 0)
                || !integrations_json_plain(in->metadata[i].value.data,
                                            in->metadata[i].value.len, 1))
            {
                in->why = "holds a control character";
                goto bad_metadata;
            }
        }

        in->nmetadata = meta->u.object.len;
    }

    return 0;

bad_metadata:

    *field = "metadata";
    return -1;
}


int
integrations_pay_parse_refund(const char *json, size_t len,
    integrations_pay_input_t *in, const char **field)
{
    if (parse_common(json, len, in, field) != 0) {
        return -1;
    }

    if (amount_field(in->tree, &in->amount, 0) != 0) {
        *field = "amount";
        return -1;
    }

    if (text_field(in, "reason", &in->reason, 1, 500, 1) != 0) {
        *field = "reason";
        return -1;
    }

    return 0;
}


void
integrations_pay_input_free(integrations_pay_input_t *in)
{
    yajl_tree_free(in->tree);
    in->tree = NULL;
}


void
integrations_pay_idempotency_key(int provider, const char *order_id,
    size_t len, const char *what, char out[INTEGRATIONS_PAY_IDEM_LEN + 1])
{
    size_t         i;
    unsigned int   mdlen;
    unsigned char  md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX    *ctx;

    static const char  hex[] = "0123456789abcdef";

    /* NUL separators: ("a", "bc") and ("ab", "c") never collide */

    ctx = EVP_MD_CTX_new();

    if (ctx == NULL
        || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(ctx, integrations_pay_provider_name(provider),
                            strlen(integrations_pay_provider_name(provider))
                            + 1) != 1
        || EVP_DigestUpdate(ctx, order_id, len) != 1
        || EVP_DigestUpdate(ctx, "", 1) != 1
        || EVP_DigestUpdate(ctx, what, strlen(what)) != 1
        || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
    {
        /* no digest, no made-up key: an empty one makes the call fail */
        out[0] = '\0';
        EVP_MD_CTX_free(ctx);
        return;
    }

    EVP_MD_CTX_free(ctx);

    for (i = 0; i < INTEGRATIONS_PAY_IDEM_LEN / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }

    out[INTEGRATIONS_PAY_IDEM_LEN] = '\0';
}


char *
integrations_pay_auth_header(int provider, int op, const char *cred,
    size_t len)
{
    int                     n;
    char                   *raw;
    size_t                  i, rlen;
    integrations_pay_buf_t  b;

    for (i = 0; i < len; i++) {
        if ((unsigned char) cred[i] < 0x20 || cred[i] == 0x7f) {
            return NULL;
        }
    }

    memset(&b, 0, sizeof(b));

    switch (provider) {

    case INTEGRATIONS_PAY_TOSS:
    case INTEGRATIONS_PAY_PAYPAL:

        if (provider == INTEGRATIONS_PAY_PAYPAL
            && op != INTEGRATIONS_PAY_TOKEN)
        {
            goto bearer;
        }

        /* Toss: base64(secretKey + ":"), the colon of an empty password */

        rlen = len + (provider == INTEGRATIONS_PAY_TOSS);
        raw = malloc(rlen + 1);
        if (raw == NULL) {
            return NULL;
        }

        memcpy(raw, cred, len);
        raw[len] = ':';

        buf_adds(&b, "Authorization: Basic ");

        if (!b.failed) {
            buf_add(&b, NULL, 4 * ((rlen + 2) / 3) + 1);
        }

        if (!b.failed) {
            b.len -= 4 * ((rlen + 2) / 3) + 1;
            n = EVP_EncodeBlock((unsigned char *) b.data + b.len,
                                (unsigned char *) raw, rlen);
            b.len += n;
            b.data[b.len] = '\0';
        }

        memset(raw, 0, rlen);
        free(raw);
        break;

    case INTEGRATIONS_PAY_COINBASE:
        buf_adds(&b, "X-CC-Api-Key: ");
        buf_add(&b, cred, len);
        break;

    default:
    bearer:
        buf_adds(&b, "Authorization: Bearer ");
        buf_add(&b, cred, len);
    }

    if (b.failed) {
        free(b.data);
        return NULL;
    }

    return b.data;
}


const char *
integrations_pay_version_header(int provider)
{
    switch (provider) {
    case INTEGRATIONS_PAY_SQUARE:
        return "Square-Version: 2024-01-18";
    case INTEGRATIONS_PAY_COINBASE:
        return "X-CC-Version: 2018-03-22";
    }

    return NULL;
}


/* provider requests */

int
integrations_pay_build(const integrations_pay_call_t *call,
    integrations_pay_http_t *out)
{
    int                     rc;
    yajl_gen                g;
    integrations_pay_buf_t  path, body;

    memset(out, 0, sizeof(integrations_pay_http_t));
    memset(&path, 0, sizeof(path));
    memset(&body, 0, sizeof(body));

    if (call->op != INTEGRATIONS_PAY_TOKEN
        && call->op != INTEGRATIONS_PAY_CREATE
        && !integrations_pay_id_valid(call->id.data, call->id.len))
    {
        return -1;
    }

    if (call->provider == INTEGRATIONS_PAY_STRIPE) {
        rc = build_stripe(call, out, &path);
        if (rc == 0 && path.failed) {
            rc = -1;
        }

        if (rc != 0) {
            free(path.data);
            free(out->body);
            out->body = NULL;
            return -1;
        }

        out->path = path.data;
        return 0;
    }

    if (call->op == INTEGRATIONS_PAY_TOKEN) {
        if (call->provider != INTEGRATIONS_PAY_PAYPAL) {
            return -1;
        }

        out->method = "POST";
        out->content_type = "application/x-www-form-urlencoded";
        buf_adds(&path, "/v1/oauth2/token");
        buf_adds(&body, "grant_type=client_credentials");

        if (path.failed || body.failed) {
            free(path.data);
            free(body.data);
            return -1;
        }

        out->path = path.data;
        out->body = body.data;
        out->body_len = body.len;
        return 0;
    }

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return -1;
    }

    yajl_gen_config(g, yajl_gen_validate_utf8, 1);

    rc = build_json(call, out, &path, g);

    if (rc == 0 && path.failed) {
        rc = -1;
    }

    if (rc == 0 && out->body == NULL && out->content_type) {
        out->body = gen_done(g, &out->body_len);
        if (out->body == NULL) {
            rc = -1;
        }
    }

    yajl_gen_free(g);

    if (rc != 0) {
        free(path.data);
        free(out->body);
        out->body = NULL;
        return -1;
    }

    out->path = path.data;

    return 0;
}


void
integrations_pay_http_free(integrations_pay_http_t *h)
{
    free(h->path);
    free(h->body);
    h->path = NULL;
    h->body = NULL;
}


static int
build_stripe(const integrations_pay_call_t *call, integrations_pay_http_t *h,
    integrations_pay_buf_t *path)
{
    char                             cur[4], num[INTEGRATIONS_MONEY_STR_LEN];
    size_t                           i, n;
    integrations_pay_buf_t           b;
    const integrations_pay_input_t  *in;

    memset(&b, 0, sizeof(b));
    in = call->in;

    switch (call->op) {

    case INTEGRATIONS_PAY_CREATE:
        h->method = "POST";
        h->idempotency_header = "Idempotency-Key";
        buf_adds(path, "/v1/payment_intents");

        /* Stripe takes minor units already, and lowercase currencies */

        n = integrations_money_format(in->amount, 0, num);
        form_field(&b, "amount", num, n);

        for (i = 0; i < 3; i++) {
            cur[i] = in->currency[i] - 'A' + 'a';
        }

        form_field(&b, "currency", cur, 3);
        form_field(&b, "description", in->description.data,
                   in->description.len);

        if (in->source.len) {
            form_field(&b, "payment_method", in->source.data,
                       in->source.len);
            form_field(&b, "confirm", "true", 4);
        }

        if (in->method.len) {
            form_field(&b, "payment_method_types[]", in->method.data,
                       in->method.len);
        }

        form_meta(&b, "order_id", 8, in->order_id.data, in->order_id.len);
        form_meta(&b, "customer_id", 11, in->customer_id.data,
                  in->customer_id.len);

        for (i = 0; i < in->nmetadata; i++) {
            form_meta(&b, in->metadata[i].key.data, in->metadata[i].key.len,
                      in->metadata[i].value.data,
                      in->metadata[i].value.len);
        }

        break;

    case INTEGRATIONS_PAY_GET:
        h->method = "GET";
        buf_adds(path, "/v1/payment_intents/");
        buf_add(path, call->id.data, call->id.len);
        return 0;

    case INTEGRATIONS_PAY_REFUND:
        h->method = "POST";
        h->idempotency_header = "Idempotency-Key";
        buf_adds(path, "/v1/refunds");

        form_field(&b, "payment_intent", call->id.data, call->id.len);

        if (call->amount > 0) {
            n = integrations_money_format(call->amount, 0, num);
            form_field(&b, "amount", num, n);
        }

        /* "reason" is an enum at Stripe: the client's words go to metadata */

        if (in && in->reason.len) {
            form_meta(&b, "reason", 6, in->reason.data, in->reason.len);
        }

        break;

    default:
        return -1;
    }

    if (b.failed) {
        free(b.data);
        return -1;
    }

    h->content_type = "application/x-www-form-urlencoded";
    h->body = b.data;
    h->body_len = b.len;

    if (h->body == NULL) {
        h->body = malloc(1);
        if (h->body == NULL) {
            return -1;
        }
        h->body[0] = '\0';
    }

    return 0;
}


static void
gen_input_metadata(yajl_gen g, const integrations_pay_input_t *in,
    const char *idem, size_t idem_len)
{
    size_t  i;

    yajl_gen_map_open(g);
    gen_str(g, "order_id");
    gen_strn(g, in->order_id.data, in->order_id.len);
    gen_str(g, "customer_id");
    gen_strn(g, in->customer_id.data, in->customer_id.len);

    if (idem) {
        gen_str(g, "idempotency_key");
        gen_strn(g, idem, idem_len);
    }

    for (i = 0; i < in->nmetadata; i++) {
        gen_strn(g, in->metadata[i].key.data, in->metadata[i].key.len);
        gen_strn(g, in->metadata[i].value.data, in->metadata[i].value.len);
    }

    yajl_gen_map_close(g);
}


static int
build_json(const integrations_pay_call_t *call, integrations_pay_http_t *h,
    integrations_pay_buf_t *path, yajl_gen g)
{
    int                              exp;
    const char                      *cur;
    const integrations_pay_input_t  *in;

    in = call->in;
    h->content_type = "application/json";

    switch (call->provider * 8 + call->op) {

    /* Toss: the payment is made in its widget; we confirm it */

    case INTEGRATIONS_PAY_TOSS * 8 + INTEGRATIONS_PAY_CREATE:
        if (in->payment_key.len == 0) {
            return -1;
        }

        h->method = "POST";
        h->idempotency_header = "Idempotency-Key";
        buf_adds(path, "/v1/payments/confirm");

        yajl_gen_map_open(g);
        gen_str(g, "paymentKey");
        gen_strn(g, in->payment_key.data, in->payment_key.len);
        gen_str(g, "orderId");
        gen_strn(g, in->order_id.data, in->order_id.len);
        gen_str(g, "amount");
        gen_money(g, in->amount, in->exponent, 1);
        yajl_gen_map_close(g);
        return 0;

    case INTEGRATIONS_PAY_TOSS * 8 + INTEGRATIONS_PAY_GET:
        h->method = "GET";
        h->content_type = NULL;
        buf_adds(path, "/v1/payments/");
        buf_add(path, call->id.data, call->id.len);
        return 0;

    case INTEGRATIONS_PAY_TOSS * 8 + INTEGRATIONS_PAY_REFUND:
        h->method = "POST";
        h->idempotency_header = "Idempotency-Key";
        buf_adds(path, "/v1/payments/");
        buf_add(path, call->id.data, call->id.len);
        buf_adds(path, "/cancel");

        yajl_gen_map_open(g);
        gen_str(g, "cancelReason");
        gen_strn(g, in->reason.data, in->reason.len);

        if (call->amount > 0) {
            gen_str(g, "cancelAmount");
            exp = call->currency
                  ? integrations_money_exponent(call->currency, 3) : 0;
            gen_money(g, call->amount, exp < 0 ? 0 : exp, 1);
        }

        yajl_gen_map_close(g);
        return 0;

    /* PayPal: orders with decimal string amounts, captured later */

    case INTEGRATIONS_PAY_PAYPAL * 8 + INTEGRATIONS_PAY_CREATE:
        h->method = "POST";
        h->idempotency_header = "PayPal-Request-Id";
        h->extra_header = "Prefer: return=representation";
        buf_adds(path, "/v2/checkout/orders");

        yajl_gen_map_open(g);
        gen_str(g, "intent");
        gen_str(g, "CAPTURE");
        gen_str(g, "purchase_units");
        yajl_gen_array_open(g);
        yajl_gen_map_open(g);
        gen_str(g, "reference_id");
        gen_strn(g, in->order_id.data, in->order_id.len);
        gen_str(g, "custom_id");
        gen_strn(g, in->customer_id.data,
                 in->customer_id.len > 127 ? 127 : in->customer_id.len);
        gen_str(g, "description");
        gen_strn(g, in->description.data,
                 in->description.len > 127 ? 127 : in->description.len);
        gen_str(g, "amount");
        yajl_gen_map_open(g);
        gen_str(g, "currency_code");
        gen_strn(g, in->currency, 3);
        gen_str(g, "value");
        gen_money(g, in->amount, in->exponent, 0);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        return 0;

    case INTEGRATIONS_PAY_PAYPAL * 8 + INTEGRATIONS_PAY_GET:
        h->method = "GET";
        h->content_type = NULL;
        buf_adds(path, "/v2/checkout/orders/");
        buf_add(path, call->id.data, call->id.len);
        return 0;

    case INTEGRATIONS_PAY_PAYPAL * 8 + INTEGRATIONS_PAY_CAPTURE:
        h->method = "POST";
        h->idempotency_header = "PayPal-Request-Id";
        h->extra_header = "Prefer: return=representation";
        buf_adds(path, "/v2/checkout/orders/");
        buf_add(path, call->id.data, call->id.len);
        buf_adds(path, "/capture");

        yajl_gen_map_open(g);
        yajl_gen_map_close(g);
        return 0;

    case INTEGRATIONS_PAY_PAYPAL * 8 + INTEGRATIONS_PAY_REFUND:
        h->method = "POST";
        h->idempotency_header = "PayPal-Request-Id";
        h->extra_header = "Prefer: return=representation";
        buf_adds(path, "/v2/payments/captures/");
        buf_add(path, call->id.data, call->id.len);
        buf_adds(path, "/refund");

        yajl_gen_map_open(g);

        if (call->amount > 0) {
            cur = call->currency;
            exp = cur ? integrations_money_exponent(cur, 3) : -1;
            if (exp < 0) {
                return -1;
            }

            gen_str(g, "amount");
            yajl_gen_map_open(g);
            gen_str(g, "value");
            gen_money(g, call->amount, exp, 0);
            gen_str(g, "currency_code");
            gen_strn(g, cur, 3);
            yajl_gen_map_close(g);
        }

        if (in && in->reason.len) {
            gen_str(g, "note_to_payer");
            gen_strn(g, in->reason.data,
                     in->reason.len > 255 ? 255 : in->reason.len);
        }

        yajl_gen_map_close(g);
        return 0;

    /* Square: the idempotency key travels in the body */

    case INTEGRATIONS_PAY_SQUARE * 8 + INTEGRATIONS_PAY_CREATE:
        if (in->source.len == 0) {
            return -1;
        }

        h->method = "POST";
        buf_adds(path, "/v2/payments");

        yajl_gen_map_open(g);
        gen_str(g, "idempotency_key");
        gen_strn(g, call->idempotency_key.data, call->idempotency_key.len);
        gen_str(g, "source_id");
        gen_strn(g, in->source.data, in->source.len);
        gen_str(g, "amount_money");
        yajl_gen_map_open(g);
        gen_str(g, "amount");
        yajl_gen_integer(g, in->amount);
        gen_str(g, "currency");
        gen_strn(g, in->currency, 3);
        yajl_gen_map_close(g);
        gen_str(g, "reference_id");
        gen_strn(g, in->order_id.data, in->order_id.len);
        gen_str(g, "customer_id");
        gen_strn(g, in->customer_id.data, in->customer_id.len);
        gen_str(g, "note");
        gen_strn(g, in->description.data,
                 in->description.len > 500 ? 500 : in->description.len);
        gen_str(g, "autocomplete");
        yajl_gen_bool(g, 1);
        yajl_gen_map_close(g);
        return 0;

    case INTEGRATIONS_PAY_SQUARE * 8 + INTEGRATIONS_PAY_GET:
        h->method = "GET";
        h->content_type = NULL;
        buf_adds(path, "/v2/payments/");
        buf_add(path, call->id.data, call->id.len);
        return 0;

    case INTEGRATIONS_PAY_SQUARE * 8 + INTEGRATIONS_PAY_REFUND:
        if (call->amount <= 0 || call->currency == NULL) {
            return -1;
        }

        h->method = "POST";
        buf_adds(path, "/v2/refunds");

        yajl_gen_map_open(g);
        gen_str(g, "idempotency_key");
        gen_strn(g, call->idempotency_key.data, call->idempotency_key.len);
        gen_str(g, "payment_id");
        gen_strn(g, call->id.data, call->id.len);
        gen_str(g, "amount_money");
        yajl_gen_map_open(g);
        gen_str(g, "amount");
        yajl_gen_integer(g, call->amount);
        gen_str(g, "currency");
        gen_strn(g, call->currency, 3);
        yajl_gen_map_close(g);

        if (in && in->reason.len) {
            gen_str(g, "reason");
            gen_strn(g, in->reason.data,
                     in->reason.len > 192 ? 192 : in->reason.len);
        }

        yajl_gen_map_close(g);
        return 0;

    /* Coinbase Commerce: charges priced in a local currency */

    case INTEGRATIONS_PAY_COINBASE * 8 + INTEGRATIONS_PAY_CREATE:
        h->method = "POST";
        buf_adds(path, "/charges");

        yajl_gen_map_open(g);
        gen_str(g, "name");
        gen_strn(g, in->description.data,
                 in->description.len > 100 ? 100 : in->description.len);
        gen_str(g, "description");
        gen_strn(g, in->description.data,
                 in->description.len > 200 ? 200 : in->description.len);
        gen_str(g, "pricing_type");
        gen_str(g, "fixed_price");
        gen_str(g, "local_price");
        yajl_gen_map_open(g);
        gen_str(g, "amount");
        gen_money(g, in->amount, in->exponent, 0);
        gen_str(g, "currency");
        gen_strn(g, in->currency, 3);
        yajl_gen_map_close(g);
        gen_str(g, "metadata");

        /* no idempotency at Coinbase: the key is kept for reconciliation */

        gen_input_metadata(g, in, call->idempotency_key.data,
                           call->idempotency_key.len);
        yajl_gen_map_close(g);
        return 0;

    case INTEGRATIONS_PAY_COINBASE * 8 + INTEGRATIONS_PAY_GET:
        h->method = "GET";
        h->content_type = NULL;
        buf_adds(path, "/charges/");
        buf_add(path, call->id.data, call->id.len);
        return 0;

    case INTEGRATIONS_PAY_COINBASE * 8 + INTEGRATIONS_PAY_REFUND:

        /* crypto is not refunded through the API: an unpaid charge is
         * cancelled */

        h->method = "POST";
        h->content_type = NULL;
        buf_adds(path, "/charges/");
        buf_add(path, call->id.data, call->id.len);
        buf_adds(path, "/cancel");
        return 0;
    }

    return -1;
}


/* provider answers */

int
integrations_pay_parse_response(int provider, int op, unsigned http_status,
    const char *body, size_t len, integrations_pay_result_t *res)
{
    int                      rc;
    yajl_val                 root;
    integrations_json_err_t  err;

    memset(res, 0, sizeof(integrations_pay_result_t));
    res->amount = -1;

    root = parse_tree(body, len, &err);

    if (http_status >= 200 && http_status < 300) {

        if (root == NULL || !YAJL_IS_OBJECT(root)) {
            res->kind = INTEGRATIONS_PAY_BAD_RESPONSE;
            yajl_tree_free(root);
            return res->kind;
        }

        switch (provider) {
        case INTEGRATIONS_PAY_STRIPE:
            rc = parse_stripe(op, root, res);
            break;
        case INTEGRATIONS_PAY_TOSS:
            rc = parse_toss(op, root, res);
            break;
        case INTEGRATIONS_PAY_PAYPAL:
            rc = parse_paypal(op, root, res);
            break;
        case INTEGRATIONS_PAY_SQUARE:
            rc = parse_square(op, root, res);
            break;
        case INTEGRATIONS_PAY_COINBASE:
            rc = parse_coinbase(op, root, res);
            break;
        default:
            rc = -1;
        }

        /* a payment id this API could not be asked about is no id */

        if (rc == 0 && res->payment_id[0]
            && !integrations_pay_id_valid(res->payment_id,
                                          strlen(res->payment_id)))
        {
            rc = -1;
        }

        res->kind = (rc == 0) ? INTEGRATIONS_PAY_OK
                              : INTEGRATIONS_PAY_BAD_RESPONSE;
        yajl_tree_free(root);
        return res->kind;
    }

    if (root && YAJL_IS_OBJECT(root)) {
        parse_error(provider, root, res);
    }

    yajl_tree_free(root);

    if (http_status == 404) {
        res->kind = INTEGRATIONS_PAY_NOT_FOUND;

    } else if (http_status == 409) {
        res->kind = INTEGRATIONS_PAY_CONFLICT;

    } else if (http_status == 401 || http_status == 403
               || http_status == 429 || http_status >= 500
               || http_status < 200)
    {
        res->kind = INTEGRATIONS_PAY_UNAVAILABLE;

    } else if (http_status >= 300 && http_status < 400) {
        res->kind = INTEGRATIONS_PAY_BAD_RESPONSE;

    } else if (provider == INTEGRATIONS_PAY_TOSS
               && (strcmp(res->code, "INVALID_API_KEY") == 0
                   || strcmp(res->code, "UNAUTHORIZED_KEY") == 0))
    {
        /* Toss answers a wrong key with 400: that is ours to fix, not
         * the customer's refusal */
        res->kind = INTEGRATIONS_PAY_UNAVAILABLE;

    } else {
        res->kind = INTEGRATIONS_PAY_DECLINED;
    }

    return res->kind;
}


static void
parse_error(int provider, yajl_val root, integrations_pay_result_t *res)
{
    yajl_val  e, d;

    switch (provider) {

    case INTEGRATIONS_PAY_STRIPE:
    case INTEGRATIONS_PAY_COINBASE:
        e = get(root, "error");
        if (!YAJL_IS_OBJECT(e)) {
            break;
        }

        /* decline_code says more than code: "insufficient_funds" */

        if (copy_str(res->code, sizeof(res->code), get(e, "decline_code"))
            != 0
            && copy_str(res->code, sizeof(res->code), get(e, "code")) != 0)
        {
            copy_str(res->code, sizeof(res->code), get(e, "type"));
        }

        copy_str(res->message, sizeof(res->message), get(e, "message"));
        break;

    case INTEGRATIONS_PAY_TOSS:
        copy_str(res->code, sizeof(res->code), get(root, "code"));
        copy_str(res->message, sizeof(res->message), get(root, "message"));
        break;

    case INTEGRATIONS_PAY_PAYPAL:
        d = first(get(root, "details"));

        if (copy_str(res->code, sizeof(res->code), get(d, "issue")) != 0) {
            copy_str(res->code, sizeof(res->code), get(root, "name"));
        }

        if (copy_str(res->message, sizeof(res->message),
                     get(d, "description")) != 0)
        {
            copy_str(res->message, sizeof(res->message),
                     get(root, "message"));
        }

        /* the token endpoint answers OAuth style */

        if (res->code[0] == '\0') {
            copy_str(res->code, sizeof(res->code), get(root, "error"));
            copy_str(res->message, sizeof(res->message),
                     get(root, "error_description"));
        }

        break;

    case INTEGRATIONS_PAY_SQUARE:
        e = first(get(root, "errors"));
        copy_str(res->code, sizeof(res->code), get(e, "code"));
        copy_str(res->message, sizeof(res->message), get(e, "detail"));
        break;
    }
}


static const char  *stripe_intent[][2] = {
    { "requires_payment_method", "pending" },
    { "requires_confirmation", "pending" },
    { "requires_action", "pending" },
    { "processing", "processing" },
    { "requires_capture", "processing" },
    { "succeeded", "completed" },
    { "canceled", "cancelled" },
    { NULL, NULL }
};

static const char  *stripe_refund[][2] = {
    { "pending", "processing" },
    { "requires_action", "processing" },
    { "succeeded", "refunded" },
    { "failed", "failed" },
    { "canceled", "cancelled" },
    { NULL, NULL }
};


static int
stripe_created(yajl_val root, integrations_pay_result_t *res)
{
    size_t       n;
    int64_t      t;
    struct tm    tm;
    time_t       tt;
    const char  *s;

    if (number_text(get(root, "created"), &s, &n) != 0
        || integrations_money_parse(s, n, 0, &t) != 0
        || t > 253402300799)
    {
        return 0;
    }

    tt = (time_t) t;

    if (gmtime_r(&tt, &tm) == NULL) {
        return 0;
    }

    strftime(res->created_at, sizeof(res->created_at), "%Y-%m-%dT%H:%M:%SZ",
             &tm);

    return 0;
}


static int
parse_stripe(int op, yajl_val root, integrations_pay_result_t *res)
{
    integrations_pay_str_t  s;

    if (copy_str(res->provider_status, sizeof(res->provider_status),
                 get(root, "status")) != 0)
    {
        return -1;
    }

    if (op == INTEGRATIONS_PAY_REFUND) {
        if (copy_str(res->payment_id, sizeof(res->payment_id),
                     get(root, "payment_intent")) != 0)
        {
            return -1;
        }

        res->status = status_of(stripe_refund, res->provider_status,
                                INTEGRATIONS_PAY_PROCESSING);

    } else {
        if (copy_str(res->payment_id, sizeof(res->payment_id),
                     get(root, "id")) != 0)
        {
            return -1;
        }

        res->status = status_of(stripe_intent, res->provider_status,
                                INTEGRATIONS_PAY_PENDING);

        if (get_str(get(root, "metadata"), "order_id", &s) == 0) {
            copy_str(res->order_id, sizeof(res->order_id),
                     get(get(root, "metadata"), "order_id"));
        }
    }

    /* Stripe's amounts are minor units already */

    if (money_of(get(root, "amount"), get(root, "currency"), 1, res) != 0) {
        return -1;
    }

    return stripe_created(root, res);
}


static const char  *toss_status[][2] = {
    { "READY", "pending" },
    { "IN_PROGRESS", "processing" },
    { "WAITING_FOR_DEPOSIT", "pending" },
    { "DONE", "completed" },
    { "CANCELED", "refunded" },
    { "PARTIAL_CANCELED", "refunded" },
    { "ABORTED", "failed" },
    { "EXPIRED", "cancelled" },
    { NULL, NULL }
};


static int
parse_toss(int op, yajl_val root, integrations_pay_result_t *res)
{
    yajl_val  approved;

    (void) op;

    if (copy_str(res->payment_id, sizeof(res->payment_id),
                 get(root, "paymentKey")) != 0
        || copy_str(res->provider_status, sizeof(res->provider_status),
                    get(root, "status")) != 0)
    {
        return -1;
    }

    res->status = status_of(toss_status, res->provider_status,
                            INTEGRATIONS_PAY_PENDING);

    /* a payment cancelled before it was approved was never paid */

    approved = get(root, "approvedAt");

    if (strcmp(res->provider_status, "CANCELED") == 0
        && (approved == NULL || YAJL_IS_NULL(approved)))
    {
        res->status = INTEGRATIONS_PAY_CANCELLED;
    }

    copy_str(res->order_id, sizeof(res->order_id), get(root, "orderId"));

    if (copy_str(res->created_at, sizeof(res->created_at),
                 get(root, "requestedAt")) != 0)
    {
        res->created_at[0] = '\0';
    }

    return money_of(get(root, "totalAmount"), get(root, "currency"), 0, res);
}


static const char  *paypal_order[][2] = {
    { "CREATED", "pending" },
    { "SAVED", "pending" },
    { "PAYER_ACTION_REQUIRED", "pending" },
    { "APPROVED", "processing" },
    { "COMPLETED", "completed" },
    { "VOIDED", "cancelled" },
    { NULL, NULL }
};

static const char  *paypal_capture[][2] = {
    { "PENDING", "processing" },
    { "COMPLETED", "completed" },
    { "DECLINED", "failed" },
    { "FAILED", "failed" },
    { "REFUNDED", "refunded" },
    { "PARTIALLY_REFUNDED", "refunded" },
    { NULL, NULL }
};

static const char  *paypal_refund[][2] = {
    { "PENDING", "processing" },
    { "COMPLETED", "refunded" },
    { "FAILED", "failed" },
    { "CANCELLED", "cancelled" },
    { NULL, NULL }
};


static int
parse_paypal(int op, yajl_val root, integrations_pay_result_t *res)
{
    char      st[64];
    yajl_val  unit, capture, amount;

    static const char  *captures[] = { "payments", "captures", NULL };

    if (copy_str(res->provider_status, sizeof(res->provider_status),
                 get(root, "status")) != 0)
    {
        return -1;
    }

    if (op == INTEGRATIONS_PAY_REFUND) {
        res->status = status_of(paypal_refund, res->provider_status,
                                INTEGRATIONS_PAY_PROCESSING);

        amount = get(root, "amount");

        if (amount
            && money_of(get(amount, "value"), get(amount, "currency_code"),
                        0, res) != 0)
        {
            return -1;
        }

        copy_str(res->created_at, sizeof(res->created_at),
                 get(root, "create_time"));

        return 0;
    }

    if (copy_str(res->payment_id, sizeof(res->payment_id), get(root, "id"))
        != 0)
    {
        return -1;
    }

    res->status = status_of(paypal_order, res->provider_status,
                            INTEGRATIONS_PAY_PENDING);

    copy_str(res->created_at, sizeof(res->created_at),
             get(root, "create_time"));

    unit = first(get(root, "purchase_units"));

    if (unit == NULL) {
        return 0;
    }

    copy_str(res->order_id, sizeof(res->order_id),
             get(unit, "reference_id"));

    amount = get(unit, "amount");

    if (amount
        && money_of(get(amount, "value"), get(amount, "currency_code"), 0,
                    res) != 0)
    {
        return -1;
    }

    /* once captured, the capture says what happened to the money */

    capture = last(get_path(unit, captures));

    if (capture) {
        if (copy_str(res->capture_id, sizeof(res->capture_id),
                     get(capture, "id")) != 0
            || !integrations_pay_id_valid(res->capture_id,
                                          strlen(res->capture_id)))
        {
            return -1;
        }

        if (copy_str(st, sizeof(st), get(capture, "status")) == 0) {
            res->status = status_of(paypal_capture, st, res->status);
        }

        amount = get(capture, "amount");

        if (res->amount < 0 && amount
            && money_of(get(amount, "value"), get(amount, "currency_code"),
                        0, res) != 0)
        {
            return -1;
        }
    }

    return 0;
}


static const char  *square_payment[][2] = {
    { "APPROVED", "processing" },
    { "PENDING", "pending" },
    { "COMPLETED", "completed" },
    { "CANCELED", "cancelled" },
    { "FAILED", "failed" },
    { NULL, NULL }
};

static const char  *square_refund[][2] = {
    { "PENDING", "processing" },
    { "COMPLETED", "refunded" },
    { "REJECTED", "failed" },
    { "FAILED", "failed" },
    { NULL, NULL }
};


static int
parse_square(int op, yajl_val root, integrations_pay_result_t *res)
{
    yajl_val  p, money;

    if (op == INTEGRATIONS_PAY_REFUND) {
        p = get(root, "refund");

        if (copy_str(res->payment_id, sizeof(res->payment_id),
                     get(p, "payment_id")) != 0)
        {
            return -1;
        }

    } else {
        p = get(root, "payment");

        if (copy_str(res->payment_id, sizeof(res->payment_id), get(p, "id"))
            != 0)
        {
            return -1;
        }

        copy_str(res->order_id, sizeof(res->order_id),
                 get(p, "reference_id"));
    }

    if (copy_str(res->provider_status, sizeof(res->provider_status),
                 get(p, "status")) != 0)
    {
        return -1;
    }

    res->status = (op == INTEGRATIONS_PAY_REFUND)
                  ? status_of(square_refund, res->provider_status,
                              INTEGRATIONS_PAY_PROCESSING)
                  : status_of(square_payment, res->provider_status,
                              INTEGRATIONS_PAY_PENDING);

    copy_str(res->created_at, sizeof(res->created_at),
             get(p, "created_at"));

    money = get(p, "amount_money");

    return money_of(get(money, "amount"), get(money, "currency"), 1, res);
}


static const char  *coinbase_status[][2] = {
    { "NEW", "pending" },
    { "PENDING", "processing" },
    { "COMPLETED", "completed" },
    { "CONFIRMED", "completed" },
    { "RESOLVED", "completed" },
    { "UNRESOLVED", "failed" },
    { "EXPIRED", "cancelled" },
    { "CANCELED", "cancelled" },
    { NULL, NULL }
};


static int
parse_coinbase(int op, yajl_val root, integrations_pay_result_t *res)
{
    yajl_val  data, local;

    static const char  *local_path[] = { "pricing", "local", NULL };

    (void) op;

    data = get(root, "data");

    if (copy_str(res->payment_id, sizeof(res->payment_id), get(data, "id"))
        != 0)
    {
        return -1;
    }

    /* a charge's status is the last entry of its timeline */

    if (copy_str(res->provider_status, sizeof(res->provider_status),
                 get(last(get(data, "timeline")), "status")) != 0)
    {
        return -1;
    }

    res->status = status_of(coinbase_status, res->provider_status,
                            INTEGRATIONS_PAY_PENDING);

    copy_str(res->created_at, sizeof(res->created_at),
             get(data, "created_at"));
    copy_str(res->order_id, sizeof(res->order_id),
             get(get(data, "metadata"), "order_id"));

    local = get_path(data, local_path);

    return money_of(get(local, "amount"), get(local, "currency"), 0, res);
}


int
integrations_pay_parse_token(const char *body, size_t len, char *token,
    size_t size, int64_t *expires_in)
{
    size_t                   n;
    yajl_val                 root, v;
    const char              *s;
    integrations_json_err_t  err;

    root = parse_tree(body, len, &err);

    if (root == NULL || !YAJL_IS_OBJECT(root)
        || copy_str(token, size, get(root, "access_token")) != 0)
    {
        goto failed;
    }

    /* the token goes into a header line */

    for (n = 0; token[n]; n++) {
        if ((unsigned char) token[n] <= 0x20 || token[n] == 0x7f) {
            goto failed;
        }
    }

    v = get(root, "expires_in");

    if (number_text(v, &s, &n) != 0
        || integrations_money_parse(s, n, 0, expires_in) != 0)
    {
        goto failed;
    }

    yajl_tree_free(root);
    return 0;

failed:

    token[0] = '\0';
    yajl_tree_free(root);
    return -1;
}


char *
integrations_pay_result_json(const integrations_pay_result_t *res,
    int provider, size_t *len)
{
    int       exp;
    char     *out;
    yajl_gen  g;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }

    yajl_gen_config(g, yajl_gen_validate_utf8, 1);

    yajl_gen_map_open(g);

    gen_str(g, "payment_id");
    gen_str(g, res->payment_id);
    gen_str(g, "provider");
    gen_str(g, integrations_pay_provider_name(provider));
    gen_str(g, "status");
    gen_str(g, integrations_pay_status_name(res->status));

    /* integer minor units out, as in: the exponent goes with currency */

    gen_str(g, "amount");

    if (res->amount >= 0) {
        yajl_gen_integer(g, res->amount);
    } else {
        yajl_gen_null(g);
    }

    gen_str(g, "currency");

    exp = integrations_money_exponent(res->currency, strlen(res->currency));

    if (exp >= 0) {
        gen_str(g, res->currency);
    } else {
        yajl_gen_null(g);
    }

    gen_str(g, "order_id");

    if (res->order_id[0]) {
        gen_str(g, res->order_id);
    } else {
        yajl_gen_null(g);
    }

    gen_str(g, "created_at");

    if (res->created_at[0]) {
        gen_str(g, res->created_at);
    } else {
        yajl_gen_null(g);
    }

    gen_str(g, "provider_status");
    gen_str(g, res->provider_status);

    yajl_gen_map_close(g);

    out = gen_done(g, len);

    yajl_gen_free(g);

    return out;
}


/* helpers */

static void
buf_add(integrations_pay_buf_t *b, const char *s, size_t n)
{
    char    *nd;
    size_t   ns;

    if (b->failed) {
        return;
    }

    if (n > INTEGRATIONS_PAY_MAX_BODY || b->len + n + 1 > b->size) {
        ns = b->size ? b->size : 256;

        while (ns < b->len + n + 1) {
            ns *= 2;
        }

        if (ns > 4 * INTEGRATIONS_PAY_MAX_BODY) {
            b->failed = 1;
            return;
        }

        nd = realloc(b->data, ns);
        if (nd == NULL) {
            b->failed = 1;
            return;
        }

        b->data = nd;
        b->size = ns;
    }

    /* s == NULL reserves room */

    if (s) {
        memcpy(b->data + b->len, s, n);
    }

    b->len += n;
    b->data[b->len] = '\0';
}


static void
buf_adds(integrations_pay_buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}


/* application/x-www-form-urlencoded, spaces as %20: all but unreserved */

static void
buf_form(integrations_pay_buf_t *b, const char *s, size_t n)
{
    char           esc[3];
    size_t         i, start;
    unsigned char  c;

    static const char  hex[] = "0123456789ABCDEF";

    start = 0;

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~')
        {
            continue;
        }

        buf_add(b, s + start, i - start);

        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 0xf];
        buf_add(b, esc, 3);

        start = i + 1;
    }

    buf_add(b, s + start, n - start);
}


static void
form_field(integrations_pay_buf_t *b, const char *key, const char *v,
    size_t n)
{
    if (b->len) {
        buf_add(b, "&", 1);
    }

    /* our own keys: brackets stay literal, as Stripe's docs write them */

    buf_adds(b, key);
    buf_add(b, "=", 1);
    buf_form(b, v, n);
}


static void
form_meta(integrations_pay_buf_t *b, const char *k, size_t kn,
    const char *v, size_t vn)
{
    if (b->len) {
        buf_add(b, "&", 1);
    }

    buf_adds(b, "metadata[");
    buf_form(b, k, kn);
    buf_add(b, "]=", 2);
    buf_form(b, v, vn);
}


/*
 * Client bodies and provider answers alike are read strictly: a string
 * with a NUL (which a tree of C strings would cut), a key twice in an
 * object (which would leave the reader to pick one), a comment, or
 * nesting deeper than the bound is not a JSON text this API reads.  So
 * strlen() of any string in the tree is its length.
 */

static yajl_val
parse_tree(const char *json, size_t len, integrations_json_err_t *err)
{
    if (len == 0 || len > INTEGRATIONS_PAY_MAX_BODY) {
        err->error = INTEGRATIONS_JSON_INVALID;
        err->path[0] = '\0';
        return NULL;
    }

    return integrations_json_parse(json, len, INTEGRATIONS_PAY_MAX_DEPTH,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, err);
}


/* the short name for the many reads below; keys are unique */

static yajl_val
get(yajl_val obj, const char *key)
{
    return integrations_json_get(obj, key);
}


static yajl_val
get_path(yajl_val v, const char **path)
{
    while (*path && v) {
        v = get(v, *path++);
    }

    return v;
}


static yajl_val
first(yajl_val arr)
{
    if (arr == NULL || !YAJL_IS_ARRAY(arr) || arr->u.array.len == 0) {
        return NULL;
    }

    return arr->u.array.values[0];
}


static yajl_val
last(yajl_val arr)
{
    if (arr == NULL || !YAJL_IS_ARRAY(arr) || arr->u.array.len == 0) {
        return NULL;
    }

    return arr->u.array.values[arr->u.array.len - 1];
}


static int
get_str(yajl_val obj, const char *key, integrations_pay_str_t *s)
{
    yajl_val  v;

    v = get(obj, key);

    if (v == NULL || !YAJL_IS_STRING(v)) {
        return -1;
    }

    s->data = v->u.string;
    s->len = strlen(v->u.string);

    return 0;
}


static int
copy_str(char *dst, size_t size, yajl_val v)
{
    size_t  n;

    if (v == NULL || !YAJL_IS_STRING(v)) {
        return -1;
    }

    n = strlen(v->u.string);

    if (n >= size) {
        return -1;
    }

    memcpy(dst, v->u.string, n + 1);

    return 0;
}


/* a number's text as the provider wrote it, or a string holding one */

static int
number_text(yajl_val v, const char **s, size_t *n)
{
    if (v == NULL) {
        return -1;
    }

    if (YAJL_IS_NUMBER(v)) {
        *s = YAJL_GET_NUMBER(v);

    } else if (YAJL_IS_STRING(v)) {
        *s = v->u.string;

    } else {
        return -1;
    }

    *n = strlen(*s);

    return 0;
}


static int
amount_of(yajl_val v, int exponent, int64_t *minor)
{
    size_t       n;
    const char  *s;

    if (number_text(v, &s, &n) != 0) {
        return -1;
    }

    return integrations_money_parse(s, n, exponent, minor);
}


/*
 * An amount and its currency into res.  minor_units: the provider writes
 * minor units (Stripe, Square), else a decimal in the currency's unit
 * (PayPal, Coinbase, Toss).  A currency this module does not know fails
 * the answer: its amount cannot be read without its exponent.
 */

static int
money_of(yajl_val amount, yajl_val currency, int minor_units,
    integrations_pay_result_t *res)
{
    int      i, exp;
    char     cur[4];
    int64_t  v;

    if (copy_str(cur, sizeof(cur), currency) != 0) {
        return -1;
    }

    exp = integrations_money_exponent(cur, strlen(cur));
    if (exp < 0) {
        return -1;
    }

    if (amount_of(amount, minor_units ? 0 : exp, &v) != 0) {
        return -1;
    }

    for (i = 0; i < 3; i++) {
        res->currency[i] = (cur[i] >= 'a') ? cur[i] - 'a' + 'A' : cur[i];
    }

    res->currency[3] = '\0';
    res->amount = v;

    return 0;
}


static void
gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *) s, strlen(s));
}


static void
gen_strn(yajl_gen g, const char *s, size_t n)
{
    yajl_gen_string(g, (const unsigned char *) s, n);
}


/*
 * An amount in the currency's unit, written from its exact text: a
 * decimal string ("10.50", PayPal and Coinbase) or a JSON number (Toss,
 * whose KRW amounts are integers anyway).
 */

static void
gen_money(yajl_gen g, int64_t minor, int exponent, int number)
{
    char    buf[INTEGRATIONS_MONEY_STR_LEN];
    size_t  n;

    n = integrations_money_format(minor, exponent, buf);

    if (number) {
        yajl_gen_number(g, buf, n);
        return;
    }

    yajl_gen_string(g, (const unsigned char *) buf, n);
}


static char *
gen_done(yajl_gen g, size_t *len)
{
    char                 *out;
    size_t                n;
    const unsigned char  *buf;

    if (yajl_gen_get_buf(g, &buf, &n) != yajl_gen_status_ok) {
        return NULL;
    }

    out = malloc(n + 1);
    if (out == NULL) {
        return NULL;
    }

    memcpy(out, buf, n);
    out[n] = '\0';
    *len = n;

    return out;
}


static int
status_of(const char *table[][2], const char *s, int dflt)
{
    int  i, j;

    for (i = 0; table[i][0]; i++) {
        if (strcmp(table[i][0], s) == 0) {
            for (j = 0; j <= INTEGRATIONS_PAY_REFUNDED; j++) {
                if (strcmp(integrations_pay_statuses[j], table[i][1]) == 0) {
                    return j;
                }
            }
        }
    }

    return dflt;
}
