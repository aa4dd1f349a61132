/*
 * Coupang Wing order API: the pure core, free of nginx.
 *
 * What the order-sync, fulfilment, return and CS jobs send to Coupang and
 * read back, as bytes: request targets (path and query, ready to be CEA
 * signed exactly as they go on the wire), request bodies, the planner of
 * overlapping sync windows, and parsers of every answer.  Sources and the
 * reasons for each rule: docs/coupang-orders.md (in ../shared/docs).
 *
 * Conventions
 *   - Times are unix seconds (UTC).  Coupang's query dates and its times
 *     without an offset are Korean wall-clock time (KST, UTC+9, no DST):
 *     formatting a query with gmtime() alone would ask for the wrong
 *     nine hours and miss orders.  Every formatter here shifts to KST.
 *   - Ids (shipmentBoxId: 18 digits since 2024-11; responseKey: 19 digits,
 *     signed) are kept as the digits Coupang wrote, never through a
 *     double; a JSON number and a JSON string of digits are the same id.
 *   - "code" is 200 (number) in list answers and "200" (string) in others:
 *     both are taken.
 *   - v4 and v5 answers are both read by the same parsers: money may be a
 *     number (v4) or {currencyCode, units, nanos} (v5), times may carry an
 *     offset and a fraction (v5) or not (v4, KST).
 *   - Answers are read by the strict reader of integrations_json.h: a
 *     "\u0000" anywhere refuses the whole answer (MALFORMED, with the
 *     path, "data[0].orderer.name", in status.error), so no string is
 *     ever cut short.  Every string a parser keeps is also refused when
 *     it holds any other control character, and is kept whole (no fixed
 *     buffers).  A record with such a field, or with a malformed id or
 *     count, is kept with error set to the field's name rather than
 *     dropped: the glue alerts on it and nothing is silently lost.  (A
 *     MALFORMED answer stops the window it came in until Coupang answers
 *     otherwise: the glue must alert on it, not only retry.)
 *   - Strings (integrations_coupang_str_t) point into the parse result and
 *     are NUL-terminated; they live until its free().
 *
 * Request targets are written into a caller's buffer; each builder
 * returns the length written (no NUL counted, one written when there is
 * room), or -1 when an input is invalid or the buffer is too small.
 */

#ifndef INTEGRATIONS_COUPANG_ORDERS_H
#define INTEGRATIONS_COUPANG_ORDERS_H

#include <stddef.h>
#include <stdint.h>



#define INTEGRATIONS_COUPANG_KST          (9 * 3600)
#define INTEGRATIONS_COUPANG_DAY          86400

/* minute mode ("searchType=timeFrame"): at most 24 h a call */
#define INTEGRATIONS_COUPANG_TIMEFRAME_MAX  INTEGRATIONS_COUPANG_DAY
/* day mode: at most 31 days a call */
#define INTEGRATIONS_COUPANG_DAYS_MAX     31
/* acknowledgement: at most 50 shipmentBoxIds a call */
#define INTEGRATIONS_COUPANG_ACK_MAX      50
/* inquiries: 7 days a call; page sizes */
#define INTEGRATIONS_COUPANG_INQUIRY_DAYS 7
#define INTEGRATIONS_COUPANG_ONLINE_PAGE  50
#define INTEGRATIONS_COUPANG_CALL_PAGE    30
/* returnWithdrawRequests: 7 days, at most 100 a page */
#define INTEGRATIONS_COUPANG_WITHDRAW_PAGE  100

/* a buffer certainly large enough for any target built here */
#define INTEGRATIONS_COUPANG_URL_MAX      1024


typedef struct {
    const char  *data;
    size_t       len;
} integrations_coupang_str_t;

/* What a parse result owns (the JSON tree and the records): opaque. */
typedef struct integrations_coupang_mem_s  integrations_coupang_mem_t;


/* ------------------------------------------------------------------ */
/* Request targets                                                    */

typedef enum {
    INTEGRATIONS_COUPANG_V4 = 4,
    INTEGRATIONS_COUPANG_V5 = 5
} integrations_coupang_api_e;

typedef enum {
    /* GET ordersheets, minute mode: from/to, status; no paging */
    INTEGRATIONS_COUPANG_Q_ORDERSHEETS_TIMEFRAME = 0,
    /* GET ordersheets, day mode: from/to (dates), status, page_size
       (maxPerPage), next_token */
    INTEGRATIONS_COUPANG_Q_ORDERSHEETS_DAY,
    /* GET ordersheets/{id}: one box; id = shipmentBoxId */
    INTEGRATIONS_COUPANG_Q_ORDERSHEET,
    /* GET {id}/ordersheets: every box of one order; id = orderId */
    INTEGRATIONS_COUPANG_Q_ORDER,
    /* PUT (or PATCH) ordersheets/acknowledgement; body from ack_body() */
    INTEGRATIONS_COUPANG_Q_ACKNOWLEDGE,
    /* POST orders/invoices (v4 only); body from invoice_body() */
    INTEGRATIONS_COUPANG_Q_INVOICE,
    /* GET v6 returnRequests, minute mode: from/to, cancel_type, status
       (required for RETURN, refused for CANCEL) */
    INTEGRATIONS_COUPANG_Q_RETURNS,
    /* GET v4 returnWithdrawRequests: from/to (dates, <= 7 days), page
       (pageIndex, from 1), page_size (sizePerPage, <= 100) */
    INTEGRATIONS_COUPANG_Q_WITHDRAWALS,
    /* GET v5 onlineInquiries: from/to (dates, <= 7 days),
       answeredType=NOANSWER, page (pageNum), page_size (<= 50) */
    INTEGRATIONS_COUPANG_Q_ONLINE_INQUIRIES,
    /* GET v5 callCenterInquiries: from/to (dates, <= 7 days),
       partnerCounselingStatus=NO_ANSWER, page, page_size (<= 30) */
    INTEGRATIONS_COUPANG_Q_CALL_INQUIRIES,
    INTEGRATIONS_COUPANG_Q_MAX
} integrations_coupang_query_e;

typedef enum {
    INTEGRATIONS_COUPANG_RETURN = 0,        /* cancelType=RETURN */
    INTEGRATIONS_COUPANG_CANCEL             /* cancelType=CANCEL */
} integrations_coupang_cancel_type_e;

typedef struct {
    integrations_coupang_query_e        kind;
    integrations_coupang_api_e          api;      /* ordersheets, ack;
                                                     0 = v4 */
    const char                         *vendor_id;
    size_t                              vendor_id_len;
    int64_t                             from;     /* unix s; minute or
                                                     day, as the kind */
    int64_t                             to;       /* exclusive minute in
                                                     minute mode, the
                                                     (inclusive) KST day
                                                     holding it otherwise */
    const char                         *status;   /* "ACCEPT", "UC", ...;
                                                     NULL: ACCEPT for
                                                     ordersheets */
    integrations_coupang_cancel_type_e  cancel_type;
    const char                         *id;       /* digits */
    size_t                              id_len;
    const char                         *next_token;  /* opaque; encoded */
    size_t                              next_token_len;
    unsigned                            page;     /* 0: 1 */
    unsigned                            page_size;   /* 0: the maximum */
} integrations_coupang_query_t;


/* "GET", "PUT", "POST" for a kind (acknowledge: PUT; PATCH also works) */
const char *integrations_coupang_method(integrations_coupang_query_e kind);

/*
 * path ["?" query] for q, query parameters in a fixed order, values
 * percent-encoded where they need it ("+" of an offset as %2B): sign and
 * send exactly these bytes.  Refuses a vendor id that is not a letter and
 * digits, an id that is not digits, a time range the API would reject
 * (from >= to, minute mode wider than 24 h, day mode wider than 31 days,
 * inquiries and withdrawals wider than 7 days), a status of the wrong
 * set.
 */
long integrations_coupang_url(const integrations_coupang_query_t *q,
    char *out, size_t size);

/* "A00012345": a letter, then 1..31 letters or digits */
int integrations_coupang_vendor_id_valid(const char *p, size_t len);

/*
 * KST time text for queries and messages, written to out (NUL
 * terminated) and its length returned:
 *   minute v4 "2025-09-01T10:20"       v5 "2025-09-01T10:20%2B09:00"
 *   day    v4 "2025-09-01"             v5 "2025-09-01%2B09:00"
 * out needs 32 bytes.
 */
size_t integrations_coupang_format_minute(int64_t t,
    integrations_coupang_api_e api, char *out);
size_t integrations_coupang_format_day(int64_t t,
    integrations_coupang_api_e api, char *out);

/*
 * Coupang's time texts to unix seconds:
 *   "2025-09-01T10:20:16", "2025-09-01 10:20:16", "2025-09-01T10:20"
 *   (no offset: KST), "2025-01-15T14:17:13.973885-08:00", "...Z",
 *   "...+0900", and a bare date "2025-09-01" (KST midnight).
 * Returns 0, or -1 for anything else (an empty string included).
 */
int integrations_coupang_parse_time(const char *p, size_t len, int64_t *t);


/* ------------------------------------------------------------------ */
/* Sync windows                                                       */

typedef struct {
    int64_t  interval;     /* s between runs (coupang_orders interval=) */
    int64_t  window;       /* s each run reaches back behind the previous
                              run's end: covers the ~10 min an order
                              takes to reach the list, and a late timer */
    int64_t  chunk;        /* s, widest minute-mode call; 0: window +
                              2 min, so that a run on time is one call */
    int64_t  max_lookback; /* s, the furthest back a run reaches after an
                              outage; 0: 7 days; at most 30 days */
    size_t   max_windows;  /* minute-mode calls a run makes before it
                              switches to one paged day-mode call; 0: 8 */
} integrations_coupang_sync_conf_t;

typedef enum {
    INTEGRATIONS_COUPANG_WINDOW_TIMEFRAME = 0,
    INTEGRATIONS_COUPANG_WINDOW_DAY          /* page it with nextToken */
} integrations_coupang_window_mode_e;

typedef struct {
    integrations_coupang_window_mode_e  mode;
    int64_t                             from;   /* minute aligned */
    int64_t                             to;     /* exclusive */
} integrations_coupang_window_t;

/*
 * Checks the configuration: interval >= 10 s, window >= interval + 60 s
 * (else minutes fall between runs), chunk 60 s..24 h, max_lookback up to
 * 30 days.  Returns 0, or -1 with the reason in err.
 */
int integrations_coupang_sync_conf_check(
    const integrations_coupang_sync_conf_t *conf, char *err, size_t err_len);

/*
 * The windows one run fetches, oldest first: from (last_ok or, on a
 * first run, now) minus window, never further back than max_lookback,
 * to now; minute aligned (timeFrame's "to" is exclusive, so the current
 * minute is included).  A span of at most max_windows chunks is split
 * into minute-mode windows; a wider one (an outage) becomes a single
 * day-mode window, paged by nextToken, since a day-mode call covers up
 * to 31 days (KST dates, both inclusive).  last_ok is the resume value
 * the glue stored after the previous run that fetched all of its
 * windows; *resume is what it stores after this one does (now).  A
 * run with a failed window stores nothing, so the next run covers the
 * same span again: ingest is idempotent.  Returns the number of
 * windows written (at most max).
 */
size_t integrations_coupang_sync_plan(
    const integrations_coupang_sync_conf_t *conf, int64_t last_ok,
    int64_t now, integrations_coupang_window_t *out, size_t max,
    int64_t *resume);


/* ------------------------------------------------------------------ */
/* Answers                                                            */

typedef enum {
    INTEGRATIONS_COUPANG_OK = 0,
    INTEGRATIONS_COUPANG_MALFORMED,   /* not JSON, or not the shape */
    INTEGRATIONS_COUPANG_API_ERROR,   /* JSON with a code other than 200:
                                         code_text and message say which */
    INTEGRATIONS_COUPANG_NOMEM
} integrations_coupang_rc_e;

/* What every answer carries. */
typedef struct {
    integrations_coupang_rc_e    rc;
    int64_t                      code;       /* 200, or -1 when the code
                                                is not a number ("ERROR") */
    integrations_coupang_str_t   code_text;
    integrations_coupang_str_t   message;
    char                         error[96];  /* why MALFORMED; no input
                                                bytes quoted */
} integrations_coupang_status_t;

typedef struct {
    int64_t                      units;      /* whole units (KRW: won) */
    int32_t                      nanos;      /* v5; 0 for v4 */
    char                         currency[4];   /* "KRW" when v4 */
    unsigned                     present:1;  /* 0: absent or null */
} integrations_coupang_money_t;


/* ordersheets ------------------------------------------------------ */

typedef struct {
    integrations_coupang_str_t     vendor_item_id;       /* digits */
    integrations_coupang_str_t     vendor_item_name;
    integrations_coupang_str_t     seller_product_id;    /* digits or "" */
    integrations_coupang_str_t     seller_product_name;
    integrations_coupang_str_t     seller_product_item_name;
    integrations_coupang_str_t     external_sku;    /* externalVendorSku-
                                                       Code */
    int64_t                        shipping_count;
    int64_t                        cancel_count;
    int64_t                        hold_count;      /* holdCountForCancel */
    int                            canceled;
    integrations_coupang_money_t   sales_price;
    integrations_coupang_money_t   order_price;
    integrations_coupang_money_t   discount_price;
    integrations_coupang_str_t     etc_info_header;
    /*
     * etcInfoValues: the buyer's answers to the product page's custom
     * prompt, each trimmed of surrounding white space.  An answer that
     * still holds a control character is not kept; etc_refused counts
     * those.
     */
    integrations_coupang_str_t    *etc_info_values;
    size_t                         n_etc_info_values;
    size_t                         etc_refused;
} integrations_coupang_order_item_t;

typedef struct {
    integrations_coupang_str_t           shipment_box_id;   /* digits */
    integrations_coupang_str_t           order_id;          /* digits */
    integrations_coupang_str_t           status;            /* "ACCEPT" */
    int64_t                              ordered_at;   /* 0: unknown */
    int64_t                              paid_at;
    integrations_coupang_str_t           orderer_name;      /* masked */
    integrations_coupang_str_t           orderer_email;     /* "" */
    integrations_coupang_str_t           orderer_safe_number;
    integrations_coupang_str_t           orderer_number;
    integrations_coupang_str_t           receiver_name;
    integrations_coupang_str_t           receiver_safe_number;
    integrations_coupang_str_t           receiver_number;
    integrations_coupang_order_item_t   *items;
    size_t                               n_items;
    const char                          *error;   /* NULL, or the field
                                                     that could not be
                                                     read */
} integrations_coupang_order_t;

typedef struct {
    integrations_coupang_status_t   status;
    integrations_coupang_str_t      next_token;    /* "" on the last page */
    integrations_coupang_order_t   *orders;
    size_t                          n_orders;
    integrations_coupang_mem_t     *mem;            /* owns everything */
} integrations_coupang_ordersheets_t;

/*
 * A list answer ({"data": [...]}) or a single-box answer ({"data":
 * {...}}), v4 or v5.  Returns rc (also in out->status.rc); out must be
 * freed with integrations_coupang_ordersheets_free() whatever rc is.
 */
integrations_coupang_rc_e integrations_coupang_parse_ordersheets(
    const char *body, size_t len, integrations_coupang_ordersheets_t *out);
void integrations_coupang_ordersheets_free(
    integrations_coupang_ordersheets_t *out);


/* acknowledgement and invoice -------------------------------------- */

/*
 * {"vendorId": V, "shipmentBoxIds": [N, ...]}: ids (digits) go out as
 * JSON numbers written digit for digit.  1..50 ids.  Returns a malloc()ed
 * body and its length, or NULL on a bad input.
 */
char *integrations_coupang_ack_body(const char *vendor_id, size_t vendor_len,
    const integrations_coupang_str_t *ids, size_t n, size_t *len);

/* How many calls n ids take at max per call, and call i's first id. */
size_t integrations_coupang_chunks(size_t n, size_t max);
size_t integrations_coupang_chunk(size_t n, size_t max, size_t i,
    size_t *count);

typedef struct {
    integrations_coupang_str_t  shipment_box_id;   /* digits */
    integrations_coupang_str_t  order_id;          /* digits */
    integrations_coupang_str_t  vendor_item_id;    /* digits */
    integrations_coupang_str_t  invoice_number;    /* digits */
} integrations_coupang_invoice_t;

/*
 * {"vendorId": V, "orderSheetInvoiceApplyDtos": [{shipmentBoxId, orderId,
 * vendorItemId, "deliveryCompanyCode": "DIRECT", invoiceNumber,
 * "splitShipping": false, "preSplitShipped": false,
 * "estimatedShippingDate": ""}, ...]}: one entry per vendorItemId of each
 * box (a missing one gives NOT_FOUND_VENDOR_ITEM).  A DIRECT invoice
 * number is digits only and is not tracked; use one per box (the
 * shipmentBoxId itself is unique and all digits).
 */
char *integrations_coupang_invoice_body(const char *vendor_id,
    size_t vendor_len, const integrations_coupang_invoice_t *e, size_t n,
    size_t *len);

typedef enum {
    INTEGRATIONS_COUPANG_DONE = 0,     /* succeeded */
    INTEGRATIONS_COUPANG_RETRY,        /* retryRequired: try again soon */
    INTEGRATIONS_COUPANG_RETRY_LATER,  /* invoice INVALID_STATUS: the
                                          acknowledgement takes up to 30
                                          minutes to show; try in minutes */
    INTEGRATIONS_COUPANG_CHECK,        /* may already be done (a lost
                                          answer): look the box up singly
                                          before anything else */
    INTEGRATIONS_COUPANG_CANCELED,     /* the order was cancelled or is
                                          being refunded: the return poll
                                          takes over */
    INTEGRATIONS_COUPANG_FAILED        /* for good: alert */
} integrations_coupang_outcome_e;

typedef enum {
    INTEGRATIONS_COUPANG_ACK = 0,
    INTEGRATIONS_COUPANG_INVOICE
} integrations_coupang_call_e;

typedef struct {
    integrations_coupang_str_t      shipment_box_id;
    int                             succeed;
    int                             retry_required;
    integrations_coupang_str_t      result_code;     /* "OK", ... */
    integrations_coupang_str_t      result_message;
    integrations_coupang_outcome_e  outcome;
    const char                     *error;
} integrations_coupang_result_t;

typedef struct {
    integrations_coupang_status_t    status;
    integrations_coupang_str_t       response_key;   /* signed digits */
    int64_t                          response_code;  /* 0 all, 1 partial,
                                                        99 none, -1 */
    integrations_coupang_str_t       response_message;
    integrations_coupang_result_t   *results;
    size_t                           n_results;
    integrations_coupang_mem_t      *mem;
} integrations_coupang_results_t;

/* The answer to an acknowledgement or an invoice upload. */
integrations_coupang_rc_e integrations_coupang_parse_results(
    integrations_coupang_call_e call, const char *body, size_t len,
    integrations_coupang_results_t *out);
void integrations_coupang_results_free(integrations_coupang_results_t *out);

/*
 * The single lookup (GET ordersheets/{shipmentBoxId}) of a box whose
 * acknowledgement had no clear answer (a timeout, a 5xx, an unreadable
 * answer, an item neither succeeded nor retryRequired): Coupang may have
 * applied it.  status and body are the lookup's HTTP answer (status 0:
 * none).  DONE: the box is past ACCEPT (INSTRUCT, or further: it was
 * acknowledged); RETRY: still ACCEPT (acknowledge it again); CANCELED:
 * 400 "해당 주문이 취소 또는 반품되었습니다." (never looked up in a loop);
 * CHECK: the answer says nothing (look again later).
 */
integrations_coupang_outcome_e integrations_coupang_ack_check(int status,
    const char *body, size_t len, const char *box, size_t box_len);

/* The outcome of one resultCode/retryRequired/succeed (used by the above) */
integrations_coupang_outcome_e integrations_coupang_outcome(
    integrations_coupang_call_e call, int succeed, int retry_required,
    const char *result_code, size_t len);


/* returns and cancellations ---------------------------------------- */

typedef enum {
    INTEGRATIONS_COUPANG_RS_UNKNOWN = 0,
    INTEGRATIONS_COUPANG_RS_RELEASE_STOP_UNCHECKED,    /* RU */
    INTEGRATIONS_COUPANG_RS_RETURNS_UNCHECKED,         /* UC */
    INTEGRATIONS_COUPANG_RS_VENDOR_WAREHOUSE_CONFIRM,
    INTEGRATIONS_COUPANG_RS_REQUEST_COUPANG_CHECK,     /* PR */
    INTEGRATIONS_COUPANG_RS_RETURNS_COMPLETED          /* CC */
} integrations_coupang_receipt_status_e;

typedef struct {
    integrations_coupang_str_t  vendor_item_id;
    integrations_coupang_str_t  shipment_box_id;     /* "" when absent */
    int64_t                     cancel_count;
    int64_t                     purchase_count;
} integrations_coupang_return_item_t;

typedef struct {
    integrations_coupang_str_t              receipt_id;
    integrations_coupang_str_t              order_id;
    integrations_coupang_cancel_type_e      type;   /* receiptType */
    integrations_coupang_str_t              receipt_status;
    integrations_coupang_receipt_status_e   status;
    int64_t                                 created_at;
    int64_t                                 modified_at;
    int64_t                                 cancel_count_sum;
    int                                     pre_refund;
    integrations_coupang_return_item_t     *items;
    size_t                                  n_items;
    const char                             *error;
} integrations_coupang_return_t;

typedef struct {
    integrations_coupang_status_t    status;
    integrations_coupang_str_t       next_token;
    integrations_coupang_return_t   *returns;
    size_t                           n_returns;
    integrations_coupang_mem_t      *mem;
} integrations_coupang_returns_t;

integrations_coupang_rc_e integrations_coupang_parse_returns(
    const char *body, size_t len, integrations_coupang_returns_t *out);
void integrations_coupang_returns_free(integrations_coupang_returns_t *out);

/*
 * Withdrawn returns vanish from returnRequests; returnWithdrawRequests
 * lists them: cancelId is the receiptId of the return, vendorItemIds the
 * items it covered.
 */
typedef struct {
    integrations_coupang_str_t   cancel_id;      /* = receiptId */
    integrations_coupang_str_t   order_id;
    int64_t                      created_at;     /* when withdrawn */
    integrations_coupang_str_t  *vendor_item_ids;
    size_t                       n_vendor_item_ids;
    const char                  *error;
} integrations_coupang_withdrawal_t;

typedef struct {
    integrations_coupang_status_t        status;
    integrations_coupang_str_t           next_page;  /* "" on the last */
    integrations_coupang_withdrawal_t   *withdrawals;
    size_t                               n_withdrawals;
    integrations_coupang_mem_t          *mem;
} integrations_coupang_withdrawals_t;

integrations_coupang_rc_e integrations_coupang_parse_withdrawals(
    const char *body, size_t len, integrations_coupang_withdrawals_t *out);
void integrations_coupang_withdrawals_free(
    integrations_coupang_withdrawals_t *out);


/* CS inquiries ----------------------------------------------------- */

typedef enum {
    INTEGRATIONS_COUPANG_INQUIRY_ONLINE = 0,     /* product Q&A */
    INTEGRATIONS_COUPANG_INQUIRY_CALL_CENTER
} integrations_coupang_inquiry_kind_e;

typedef struct {
    integrations_coupang_inquiry_kind_e  kind;
    integrations_coupang_str_t           inquiry_id;      /* digits */
    integrations_coupang_str_t           vendor_item_id;  /* first; "" */
    integrations_coupang_str_t           order_id;        /* first; "" */
    int64_t                              inquiry_at;      /* 0: unknown */
    int                                  answered;   /* a reply exists
                                                        (online), or the
                                                        call center says
                                                        answered */
    int                                  return_hint;  /* the call-center
                                                          category or the
                                                          text mentions a
                                                          return, refund or
                                                          cancellation */
    const char                          *error;
    /* neither the question's text nor the buyer's contact is kept */
} integrations_coupang_inquiry_t;

typedef struct {
    integrations_coupang_status_t     status;
    integrations_coupang_inquiry_t   *inquiries;
    size_t                            n_inquiries;
    int64_t                           current_page;
    int64_t                           total_pages;    /* 0: unknown */
    integrations_coupang_mem_t       *mem;
} integrations_coupang_inquiries_t;

integrations_coupang_rc_e integrations_coupang_parse_inquiries(
    integrations_coupang_inquiry_kind_e kind, const char *body, size_t len,
    integrations_coupang_inquiries_t *out);
void integrations_coupang_inquiries_free(
    integrations_coupang_inquiries_t *out);

/*
 * "online:123" / "call:123", the key under which the CS monitor records
 * an inquiry it has reported.  out needs 32 bytes; returns the length.
 */
size_t integrations_coupang_inquiry_key(
    const integrations_coupang_inquiry_t *q, char *out);

#endif /* INTEGRATIONS_COUPANG_ORDERS_H */
