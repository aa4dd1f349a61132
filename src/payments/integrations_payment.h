/*
 * The unified payments API: the pure core.
 *
 * No nginx headers and no I/O: the glue hands in the client's JSON and
 * gets back the provider request (method, path, body, headers) to send;
 * then it hands in the provider's answer and gets back one result shape
 * for every provider.  Built with yajl (yajl_gen out, yajl_tree in);
 * amounts and ids are read from the numbers' original text, never as
 * doubles.  Memory handed out is malloc()ed and freed by the *_free()
 * functions.
 */

#ifndef INTEGRATIONS_PAYMENT_H
#define INTEGRATIONS_PAYMENT_H

#include <stddef.h>
#include <stdint.h>

#include "integrations_json.h"


typedef enum {
    INTEGRATIONS_PAY_STRIPE = 0,
    INTEGRATIONS_PAY_TOSS,
    INTEGRATIONS_PAY_PAYPAL,
    INTEGRATIONS_PAY_SQUARE,
    INTEGRATIONS_PAY_COINBASE,
    INTEGRATIONS_PAY_NPROVIDERS
} integrations_pay_provider_e;


typedef enum {
    INTEGRATIONS_PAY_PENDING = 0,
    INTEGRATIONS_PAY_PROCESSING,
    INTEGRATIONS_PAY_COMPLETED,
    INTEGRATIONS_PAY_FAILED,
    INTEGRATIONS_PAY_CANCELLED,
    INTEGRATIONS_PAY_REFUNDED
} integrations_pay_status_e;


typedef enum {
    INTEGRATIONS_PAY_CREATE = 0,
    INTEGRATIONS_PAY_GET,
    INTEGRATIONS_PAY_REFUND,
    INTEGRATIONS_PAY_CAPTURE,
    INTEGRATIONS_PAY_TOKEN           /* PayPal OAuth client credentials */
} integrations_pay_op_e;


/* what a provider's answer means for the client */
typedef enum {
    INTEGRATIONS_PAY_OK = 0,         /* 200 with the payment */
    INTEGRATIONS_PAY_DECLINED,       /* 402: the provider refused */
    INTEGRATIONS_PAY_NOT_FOUND,      /* 404 */
    INTEGRATIONS_PAY_CONFLICT,       /* 409: same key, other request */
    INTEGRATIONS_PAY_UNAVAILABLE,    /* 502: 5xx, 429, our credentials */
    INTEGRATIONS_PAY_BAD_RESPONSE    /* 502: not what the API answers */
} integrations_pay_kind_e;


#define INTEGRATIONS_PAY_MAX_METADATA   20
#define INTEGRATIONS_PAY_IDEM_LEN       40   /* hex, fits Square's 45 */
#define INTEGRATIONS_PAY_ID_MAX         255


typedef struct {
    const char  *data;
    size_t       len;
} integrations_pay_str_t;


typedef struct {
    integrations_pay_str_t  key;
    integrations_pay_str_t  value;
} integrations_pay_kv_t;


/* a client's create or refund request, pointing into its parsed JSON */
typedef struct {
    int64_t                 amount;        /* minor units; -1: none */
    char                    currency[4];   /* upper case, "" if none */
    int                     exponent;
    integrations_pay_str_t  provider;
    integrations_pay_str_t  order_id;
    integrations_pay_str_t  customer_id;
    integrations_pay_str_t  description;
    integrations_pay_str_t  method;
    integrations_pay_str_t  source;
    integrations_pay_str_t  payment_key;
    integrations_pay_str_t  reason;
    integrations_pay_kv_t   metadata[INTEGRATIONS_PAY_MAX_METADATA];
    size_t                  nmetadata;
    const char             *why;           /* of a refusal, or NULL */
    char                    where[INTEGRATIONS_JSON_PATH_LEN];
    void                   *tree;          /* private */
} integrations_pay_input_t;


/* one provider call to make */
typedef struct {
    int                              provider;
    int                              op;
    integrations_pay_str_t           id;      /* GET/REFUND/CAPTURE; the
                                                 capture id for a PayPal
                                                 refund */
    const integrations_pay_input_t  *in;      /* CREATE/REFUND */
    int64_t                          amount;  /* REFUND: -1 for all */
    const char                      *currency;   /* REFUND, if known */
    integrations_pay_str_t           idempotency_key;
} integrations_pay_call_t;


typedef struct {
    const char  *method;
    char        *path;            /* NUL-terminated */
    char        *body;            /* NULL: no body */
    size_t       body_len;
    const char  *content_type;
    const char  *idempotency_header;  /* NULL: in the body or none */
    const char  *extra_header;    /* a whole "Name: value" line, or NULL */
} integrations_pay_http_t;


typedef struct {
    int      kind;
    int      status;                 /* integrations_pay_status_e */
    int64_t  amount;                 /* -1: not in the answer */
    char     currency[4];
    char     payment_id[INTEGRATIONS_PAY_ID_MAX + 1];
    char     order_id[INTEGRATIONS_PAY_ID_MAX + 1];
    char     capture_id[INTEGRATIONS_PAY_ID_MAX + 1];   /* PayPal */
    char     created_at[64];
    char     provider_status[64];
    char     code[64];               /* the provider's error code */
    char     message[512];           /* and its message */
} integrations_pay_result_t;


int integrations_pay_provider(const char *name, size_t len);
const char *integrations_pay_provider_name(int provider);
const char *integrations_pay_status_name(int status);

/* "USD,EUR,...": what a provider settles in unless configured otherwise */
const char *integrations_pay_default_currencies(int provider);
const char *integrations_pay_default_methods(int provider);

/* ids that go into a provider URL path: [A-Za-z0-9_-], 1..255 bytes */
int integrations_pay_id_valid(const char *id, size_t len);

/*
 * Client bodies.  0: parsed; -1: *field names what is wrong ("amount",
 * "metadata.sku" for a key given twice, "body" for JSON that is not an
 * object...; it may point into in->where) and in->why says how when it
 * is more than "missing or invalid" ("holds a NUL character", "is given
 * more than once", "holds a control character").  The text is strict
 * JSON (integrations_json.h): a NUL in any string or a key twice in any
 * object refuses the body.  The input points into the parsed tree until
 * integrations_pay_input_free().
 */
int integrations_pay_parse_create(const char *json, size_t len,
    integrations_pay_input_t *in, const char **field);
int integrations_pay_parse_refund(const char *json, size_t len,
    integrations_pay_input_t *in, const char **field);
void integrations_pay_input_free(integrations_pay_input_t *in);

/*
 * The idempotency key made when the client gives none: hex SHA-256 of
 * provider, order id and what the call does, so a retried create or
 * refund of the same order maps to the same key.
 */
void integrations_pay_idempotency_key(int provider, const char *order_id,
    size_t len, const char *what, char out[INTEGRATIONS_PAY_IDEM_LEN + 1]);

/*
 * The authentication header line for a provider and a credential from
 * its key file (PayPal: "client_id:secret" for the token call, the
 * token for the others).  NULL for a credential with control bytes.
 */
char *integrations_pay_auth_header(int provider, int op, const char *cred,
    size_t len);

/* "Square-Version: ..." or "X-CC-Version: ...", or NULL */
const char *integrations_pay_version_header(int provider);

/* 0 or -1 (a call the provider does not have: capture outside PayPal) */
int integrations_pay_build(const integrations_pay_call_t *call,
    integrations_pay_http_t *out);
void integrations_pay_http_free(integrations_pay_http_t *h);

/*
 * A provider's answer to a call.  Returns res->kind.  Strings too long
 * for the result make it a BAD_RESPONSE rather than be cut, and so does
 * a 2xx answer that is not strict JSON (a NUL in a string, a key twice)
 * or whose payment id is not one integrations_pay_id_valid() takes.
 */
int integrations_pay_parse_response(int provider, int op,
    unsigned http_status, const char *body, size_t len,
    integrations_pay_result_t *res);

/* PayPal's token answer: 0 and the token, or -1 */
int integrations_pay_parse_token(const char *body, size_t len, char *token,
    size_t size, int64_t *expires_in);

/*
 * The one response shape:
 * {"payment_id","provider","status","amount","currency","order_id",
 *  "created_at","provider_status"}; unknown fields are null.
 * Returns a malloc()ed NUL-terminated string, or NULL.
 */
char *integrations_pay_result_json(const integrations_pay_result_t *res,
    int provider, size_t *len);

#endif /* INTEGRATIONS_PAYMENT_H */
