/*
 * Unit tests of the Coupang order API core: request targets, KST dates,
 * the sync-window planner, bodies, and every answer parser, against the
 * shapes docs/coupang-orders.md records (DOC19 samples, v5 changes).
 */

#include "tap.h"
#include "integrations_coupang_orders.h"

#include <time.h>


static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;

    return (int64_t) timegm(&tm);
}


static int
str_is(integrations_coupang_str_t s, const char *exp)
{
    return s.data != NULL && s.len == strlen(exp)
           && memcmp(s.data, exp, s.len) == 0 && s.data[s.len] == '\0';
}


#define S(lit)  (lit), (sizeof(lit) - 1)


static long
url(integrations_coupang_query_t *q, char *out)
{
    q->vendor_id = q->vendor_id ? q->vendor_id : "A00012345";
    q->vendor_id_len = strlen(q->vendor_id);

    return integrations_coupang_url(q, out, INTEGRATIONS_COUPANG_URL_MAX);
}


static void
test_times(void)
{
    char     out[32];
    int64_t  t;

    /* the KST trap: 01:20 UTC is 10:20 in Seoul */

    t = utc(2025, 9, 1, 1, 20, 0);
    integrations_coupang_format_minute(t, INTEGRATIONS_COUPANG_V4, out);
    is_str(out, "2025-09-01T10:20", "v4 minute is KST wall time");
    integrations_coupang_format_minute(t, INTEGRATIONS_COUPANG_V5, out);
    is_str(out, "2025-09-01T10:20%2B09:00", "v5 minute has the encoded +09:00");

    /* 20:00 UTC on Aug 31 is already Sep 1 in Seoul */

    t = utc(2025, 8, 31, 20, 0, 0);
    integrations_coupang_format_day(t, INTEGRATIONS_COUPANG_V4, out);
    is_str(out, "2025-09-01", "the KST day, not the UTC day");
    integrations_coupang_format_day(t, INTEGRATIONS_COUPANG_V5, out);
    is_str(out, "2025-09-01%2B09:00", "v5 day");
    integrations_coupang_format_minute(utc(2024, 12, 31, 14, 59, 59),
                                       INTEGRATIONS_COUPANG_V4, out);
    is_str(out, "2024-12-31T23:59", "the year's last KST minute");
    integrations_coupang_format_minute(utc(2024, 12, 31, 15, 0, 0) + 3600,
                                       INTEGRATIONS_COUPANG_V4, out);
    is_str(out, "2025-01-01T01:00", "a KST new year");

    ok(integrations_coupang_parse_time("2025-09-01T10:20:16", 19, &t) == 0
       && t == utc(2025, 9, 1, 1, 20, 16), "v4 time without offset is KST");
    ok(integrations_coupang_parse_time("2025-09-01 10:20:16", 19, &t) == 0
       && t == utc(2025, 9, 1, 1, 20, 16), "space separated");
    ok(integrations_coupang_parse_time("2025-01-15T14:17:13.973885-08:00",
                                       32, &t) == 0
       && t == utc(2025, 1, 15, 22, 17, 13), "v5: fraction and offset");
    ok(integrations_coupang_parse_time("2025-01-15T14:17:13Z", 20, &t) == 0
       && t == utc(2025, 1, 15, 14, 17, 13), "Z");
    ok(integrations_coupang_parse_time("2025-01-15T14:17+0900", 21, &t) == 0
       && t == utc(2025, 1, 15, 5, 17, 0), "+0900, no seconds");
    ok(integrations_coupang_parse_time("2024-02-29", 10, &t) == 0
       && t == utc(2024, 2, 28, 15, 0, 0), "a bare date is KST midnight");
    ok(integrations_coupang_parse_time("2023-02-29", 10, &t) != 0,
       "no Feb 29 in 2023");
    ok(integrations_coupang_parse_time("", 0, &t) != 0, "empty refused");
    ok(integrations_coupang_parse_time("2025-09-01T24:00", 16, &t) != 0,
       "hour 24 refused");
    ok(integrations_coupang_parse_time("2025-09-01T10:20:16+09", 22, &t)
       != 0, "a half offset refused");
    ok(integrations_coupang_parse_time("2025-09-01T10:20:16.", 20, &t) != 0,
       "an empty fraction refused");
}


static void
test_urls(void)
{
    char                          out[INTEGRATIONS_COUPANG_URL_MAX];
    int64_t                       from, to;
    integrations_coupang_query_t  q;

    from = utc(2025, 9, 1, 1, 5, 0);
    to = utc(2025, 9, 1, 1, 20, 0);

    memset(&q, 0, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_ORDERSHEETS_TIMEFRAME;
    q.from = from;
    q.to = to;
    ok(url(&q, out) > 0, "v4 timeFrame built");
    is_str(out, "/v2/providers/openapi/apis/api/v4/vendors/A00012345/"
                "ordersheets?createdAtFrom=2025-09-01T10:05&createdAtTo="
                "2025-09-01T10:20&searchType=timeFrame&status=ACCEPT",
           "v4 timeFrame target");

    q.api = INTEGRATIONS_COUPANG_V5;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v5/vendors/A00012345/"
                "ordersheets?createdAtFrom=2025-09-01T10:05%2B09:00&"
                "createdAtTo=2025-09-01T10:20%2B09:00&searchType=timeFrame&"
                "status=ACCEPT", "v5 timeFrame target");

    q.to = from + 86400;
    ok(url(&q, out) > 0, "exactly 24 h is allowed");
    q.to = from + 86401;
    ok(url(&q, out) < 0, "more than 24 h refused");
    q.to = from;
    ok(url(&q, out) < 0, "an empty range refused");
    q.to = to;
    q.status = "PAID";
    ok(url(&q, out) < 0, "an unknown status refused");
    q.status = NULL;
    q.vendor_id = "A0001/../x";
    ok(url(&q, out) < 0, "a vendor id with / refused");
    q.vendor_id = NULL;
    ok(integrations_coupang_url(&q, out, 40) < 0, "a short buffer refused");

    memset(&q, 0, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_ORDERSHEETS_DAY;
    q.from = utc(2025, 8, 20, 0, 0, 0);
    q.to = utc(2025, 9, 1, 1, 20, 0);
    q.next_token = "a b+/=";
    q.next_token_len = 6;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v4/vendors/A00012345/"
                "ordersheets?createdAtFrom=2025-08-20&createdAtTo=2025-09-01"
                "&status=ACCEPT&maxPerPage=50&nextToken=a%20b%2B%2F%3D",
           "day mode, paged, the token encoded");
    q.from = q.to - 31 * 86400;
    ok(url(&q, out) < 0, "31 days apart refused");
    q.from = q.to - 30 * 86400;
    ok(url(&q, out) > 0, "30 days apart allowed");

    memset(&q, 0, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_ORDERSHEET;
    q.id = "642538971006401429";
    q.id_len = 18;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v4/vendors/A00012345/"
                "ordersheets/642538971006401429", "one box");
    q.id = "12a";
    q.id_len = 3;
    ok(url(&q, out) < 0, "a box id with a letter refused");

    q.kind = INTEGRATIONS_COUPANG_Q_ORDER;
    q.id = "22000009546234";
    q.id_len = 14;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v4/vendors/A00012345/"
                "22000009546234/ordersheets", "one order: id before "
                                              "ordersheets");

    memset(&q, 0, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_ACKNOWLEDGE;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v4/vendors/A00012345/"
                "ordersheets/acknowledgement", "acknowledgement");
    is_str(integrations_coupang_method(q.kind), "PUT", "acknowledge: PUT");
    q.kind = INTEGRATIONS_COUPANG_Q_INVOICE;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v4/vendors/A00012345/"
                "orders/invoices", "invoices");
    is_str(integrations_coupang_method(q.kind), "POST", "invoices: POST");

    memset(&q, 0, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_RETURNS;
    q.from = from;
    q.to = to;
    q.cancel_type = INTEGRATIONS_COUPANG_CANCEL;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v6/vendors/A00012345/"
                "returnRequests?searchType=timeFrame&createdAtFrom="
                "2025-09-01T10:05&createdAtTo=2025-09-01T10:20&"
                "cancelType=CANCEL", "cancellations: no status");
    q.status = "UC";
    ok(url(&q, out) < 0, "a CANCEL list with a status refused");
    q.cancel_type = INTEGRATIONS_COUPANG_RETURN;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v6/vendors/A00012345/"
                "returnRequests?searchType=timeFrame&createdAtFrom="
                "2025-09-01T10:05&createdAtTo=2025-09-01T10:20&"
                "cancelType=RETURN&status=UC", "returns filed");
    q.status = NULL;
    ok(url(&q, out) < 0, "a RETURN list without status refused");
    q.status = "XX";
    ok(url(&q, out) < 0, "a RETURN status not RU/UC/CC/PR refused");

    memset(&q, 0, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_WITHDRAWALS;
    q.from = utc(2025, 8, 25, 15, 0, 0);
    q.to = utc(2025, 9, 1, 1, 0, 0);
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v4/vendors/A00012345/"
                "returnWithdrawRequests?dateFrom=2025-08-26&dateTo="
                "2025-09-01&pageIndex=1&sizePerPage=100",
           "withdrawals, 7 KST days");
    q.from -= 86400;
    ok(url(&q, out) < 0, "8 days refused");
    q.from += 86400;
    q.page_size = 101;
    ok(url(&q, out) < 0, "sizePerPage over 100 refused");

    memset(&q, 0, sizeof(q));
    q.kind = INTEGRATIONS_COUPANG_Q_ONLINE_INQUIRIES;
    q.from = utc(2025, 8, 25, 15, 0, 0);
    q.to = utc(2025, 9, 1, 1, 0, 0);
    q.page = 2;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v5/vendors/A00012345/"
                "onlineInquiries?vendorId=A00012345&inquiryStartAt=2025-08-26"
                "&inquiryEndAt=2025-09-01&answeredType=NOANSWER&pageNum=2&"
                "pageSize=50", "product Q&A, vendorId repeated");

    q.kind = INTEGRATIONS_COUPANG_Q_CALL_INQUIRIES;
    q.page = 0;
    url(&q, out);
    is_str(out, "/v2/providers/openapi/apis/api/v5/vendors/A00012345/"
                "callCenterInquiries?vendorId=A00012345&inquiryStartAt="
                "2025-08-26&inquiryEndAt=2025-09-01&partnerCounselingStatus="
                "NO_ANSWER&pageNum=1&pageSize=30", "call center, 30 a page");
    q.page_size = 31;
    ok(url(&q, out) < 0, "call center pageSize over 30 refused");

    ok(integrations_coupang_vendor_id_valid("A00012345", 9), "A00012345");
    ok(integrations_coupang_vendor_id_valid("C000001234", 10), "C000001234");
    ok(!integrations_coupang_vendor_id_valid("1234", 4), "digits only");
    ok(!integrations_coupang_vendor_id_valid("A", 1), "one letter");
}


static void
test_plan(void)
{
    char                              err[128];
    size_t                            n;
    int64_t                           now, resume;
    integrations_coupang_window_t     w[16];
    integrations_coupang_sync_conf_t  c;

    memset(&c, 0, sizeof(c));
    c.interval = 60;
    c.window = 900;

    ok(integrations_coupang_sync_conf_check(&c, err, sizeof(err)) == 0,
       "1m interval, 15m window: fine");

    now = utc(2025, 9, 1, 1, 20, 30);

    /* a first run: the last window's worth */

    n = integrations_coupang_sync_plan(&c, 0, now, w, 16, &resume);
    ok(n == 1 && w[0].mode == INTEGRATIONS_COUPANG_WINDOW_TIMEFRAME
       && w[0].from == utc(2025, 9, 1, 1, 5, 0)
       && w[0].to == utc(2025, 9, 1, 1, 21, 0) && resume == now,
       "first run: one call, minute aligned, the current minute included");

    /* the next run overlaps the previous one by the window */

    n = integrations_coupang_sync_plan(&c, now, now + 60, w, 16, &resume);
    ok(n == 1 && w[0].from <= now - 900 && w[0].to >= now + 60
       && w[0].to - w[0].from <= 900 + 120,
       "a run on time: one call reaching the window behind the last one");

    /* an hour late: several minute-mode windows, contiguous */

    n = integrations_coupang_sync_plan(&c, now - 3600, now, w, 16, &resume);
    ok(n == 5 && w[0].from == utc(2025, 9, 1, 0, 5, 0)
       && w[4].to == utc(2025, 9, 1, 1, 21, 0), "an hour late: 5 windows");
    {
        size_t  i;
        int     contiguous = 1;

        for (i = 1; i < n; i++) {
            contiguous &= (w[i].from == w[i - 1].to)
                          && (w[i].to - w[i].from <= 1020);
        }

        ok(contiguous, "windows are contiguous, each within the chunk");
    }

    /* a day's outage: one paged day-mode window */

    n = integrations_coupang_sync_plan(&c, now - 86400 * 2, now, w, 16,
                                       &resume);
    ok(n == 1 && w[0].mode == INTEGRATIONS_COUPANG_WINDOW_DAY
       && w[0].from == now - 86400 * 2 - 900 - 30 && w[0].to == now,
       "an outage: one day-mode window");

    /* never further than max_lookback (7 days) */

    n = integrations_coupang_sync_plan(&c, now - 86400 * 20, now, w, 16,
                                       &resume);
    ok(n == 1 && w[0].from >= now - 7 * 86400 - 60,
       "the look-back is capped at 7 days");

    /* a stored time ahead of the clock */

    n = integrations_coupang_sync_plan(&c, now + 86400, now, w, 16, &resume);
    ok(n == 1 && w[0].from == utc(2025, 9, 1, 1, 5, 0),
       "a future last_ok is taken as now");

    /* the output array caps the minute windows: day mode then */

    n = integrations_coupang_sync_plan(&c, now - 3600, now, w, 4, &resume);
    ok(n == 1 && w[0].mode == INTEGRATIONS_COUPANG_WINDOW_DAY,
       "more windows than room: day mode");

    c.window = 60;
    ok(integrations_coupang_sync_conf_check(&c, err, sizeof(err)) != 0
       && strstr(err, "window") != NULL, "window <= interval refused");
    c.interval = 10;
    c.window = 900;
    ok(integrations_coupang_sync_conf_check(&c, err, sizeof(err)) == 0,
       "an interval of 10 s is taken");
    c.interval = 9;
    ok(integrations_coupang_sync_conf_check(&c, err, sizeof(err)) != 0
       && strstr(err, "10s") != NULL, "9 s is not");
    c.interval = 60;
    c.window = 900;
    c.chunk = 90000;
    ok(integrations_coupang_sync_conf_check(&c, err, sizeof(err)) != 0,
       "a chunk over 24 h refused");
    c.chunk = 0;
    c.max_lookback = 31 * 86400;
    ok(integrations_coupang_sync_conf_check(&c, err, sizeof(err)) != 0,
       "a look-back over 30 days refused");
}


static const char  v4_list[] =
    "{\"code\":200,\"message\":\"OK\",\"nextToken\":\"\","
    "\"data\":[{\"shipmentBoxId\":642538971006401429,"
    "\"orderId\":22000009546234,"
    "\"orderedAt\":\"2025-09-01T10:20:16\",\"paidAt\":\"2025-09-01T10:20:19\","
    "\"status\":\"ACCEPT\","
    "\"orderer\":{\"name\":\"\xec\x8b\xa0*\xed\x9d\xac\",\"email\":\"\","
    "\"safeNumber\":\"0503-1234-5464\",\"ordererNumber\":null},"
    "\"receiver\":{\"name\":\"\xec\x8b\xa0*\xed\x9d\xac\","
    "\"safeNumber\":\"0503-1234-5464\",\"receiverNumber\":null,"
    "\"addr1\":\"line\\n1\",\"addr2\":\"\",\"postCode\":\"18130\"},"
    "\"shippingPrice\":0,\"remotePrice\":null,\"splitShipping\":false,"
    "\"orderItems\":[{\"productId\":31846051,\"vendorItemId\":3242596358,"
    "\"vendorItemName\":\"[\xec\xa0\x84\xec\x9e\x90\xec\xb1\x85] book, PDF\","
    "\"shippingCount\":2,\"salesPrice\":9900,\"orderPrice\":19800,"
    "\"discountPrice\":null,\"externalVendorSkuCode\":\"EBOOK-001\","
    "\"etcInfoHeader\":\"email?\","
    "\"etcInfoValues\":[\"  buyer@example.com\\n\",\"bad\\u0001x\",\"\"],"
    "\"sellerProductId\":80240831,\"sellerProductName\":\"book\","
    "\"sellerProductItemName\":\"PDF\",\"cancelCount\":0,"
    "\"holdCountForCancel\":0,\"canceled\":false}],"
    "\"deliveryCompanyName\":\"\",\"invoiceNumber\":\"\"}]}";

static const char  v5_one[] =
    "{\"code\":\"200\",\"message\":\"OK\","
    "\"data\":{\"shipmentBoxId\":\"642538971006401430\","
    "\"orderId\":\"22000009546235\","
    "\"orderedAt\":\"2025-09-01T10:20:16.973885+09:00\","
    "\"paidAt\":\"2025-09-01T01:20:19Z\",\"status\":\"ACCEPT\","
    "\"orderer\":{\"name\":\"K*\",\"email\":\"\","
    "\"safeNumber\":\"+8250312345464\"},"
    "\"receiver\":{\"name\":\"K*\",\"safeNumber\":\"+8250312345464\"},"
    "\"orderItems\":[{\"vendorItemId\":\"3242596358\","
    "\"shippingCount\":1,"
    "\"salesPrice\":{\"currencyCode\":\"KRW\",\"units\":9900,\"nanos\":0},"
    "\"orderPrice\":{\"currencyCode\":\"KRW\",\"units\":\"9900\"},"
    "\"discountPrice\":null,\"etcInfoValues\":null}],"
    "\"shipmentType\":\"THIRD_PARTY\"}}";


static void
test_ordersheets(void)
{
    integrations_coupang_order_t        *o;
    integrations_coupang_order_item_t   *it;
    integrations_coupang_ordersheets_t   r;

    ok(integrations_coupang_parse_ordersheets(v4_list, sizeof(v4_list) - 1,
                                              &r)
       == INTEGRATIONS_COUPANG_OK && r.n_orders == 1, "v4 list parsed");

    o = &r.orders[0];
    ok(o->error == NULL, "v4 order has no error");
    ok(str_is(o->shipment_box_id, "642538971006401429"),
       "18-digit shipmentBoxId kept as text");
    ok(str_is(o->order_id, "22000009546234"), "orderId");
    ok(o->ordered_at == utc(2025, 9, 1, 1, 20, 16), "orderedAt is KST");
    ok(str_is(o->orderer_safe_number, "0503-1234-5464"), "safe number");
    ok(str_is(o->orderer_email, "") && str_is(o->orderer_number, ""),
       "empty email, null ordererNumber: empty");
    ok(str_is(r.next_token, ""), "the last page");
    ok(o->n_items == 1, "one item");

    it = &o->items[0];
    ok(str_is(it->vendor_item_id, "3242596358"), "vendorItemId");
    ok(it->shipping_count == 2 && it->cancel_count == 0, "counts");
    ok(it->sales_price.present && it->sales_price.units == 9900
       && strcmp(it->sales_price.currency, "KRW") == 0, "v4 money: KRW");
    ok(!it->discount_price.present, "null money: absent");
    ok(str_is(it->external_sku, "EBOOK-001"), "externalVendorSkuCode");
    ok(it->n_etc_info_values == 1
       && str_is(it->etc_info_values[0], "buyer@example.com")
       && it->etc_refused == 1,
       "answers trimmed; one with a control character refused; empty "
       "skipped");

    integrations_coupang_ordersheets_free(&r);

    ok(integrations_coupang_parse_ordersheets(v5_one, sizeof(v5_one) - 1, &r)
       == INTEGRATIONS_COUPANG_OK && r.n_orders == 1,
       "v5 single box (data object, code \"200\")");

    o = &r.orders[0];
    ok(o->error == NULL, "v5 order has no error");
    ok(str_is(o->shipment_box_id, "642538971006401430"), "id as a string");
    ok(o->ordered_at == utc(2025, 9, 1, 1, 20, 16)
       && o->paid_at == utc(2025, 9, 1, 1, 20, 19), "v5 times with offsets");
    ok(str_is(o->orderer_safe_number, "+8250312345464"), "E.164 kept");
    it = &o->items[0];
    ok(it->sales_price.present && it->sales_price.units == 9900
       && it->order_price.units == 9900, "v5 money objects, units as text");

    integrations_coupang_ordersheets_free(&r);

    /* errors */

    {
        static const char  err[] =
            "{\"code\":\"ERROR\",\"message\":\"Invalid signature.\","
            "\"transactionId\":\"x\"}";
        static const char  nul[] =
            "{\"code\":200,\"data\":[{\"shipmentBoxId\":1,\"orderId\":2,"
            "\"orderer\":{\"name\":\"a\\u0000b\"},\"orderItems\":[{"
            "\"vendorItemId\":3,\"shippingCount\":1}]}]}";
        static const char  bad[] =
            "{\"code\":200,\"data\":[{\"shipmentBoxId\":1,\"orderId\":2,"
            "\"orderer\":{\"name\":\"a\\tb\"},\"orderItems\":[{"
            "\"vendorItemId\":3,\"shippingCount\":1}]},"
            "{\"shipmentBoxId\":1.5e3,\"orderId\":2,\"orderItems\":[]},"
            "{\"shipmentBoxId\":4,\"orderId\":5,\"orderItems\":[{"
            "\"vendorItemId\":6,\"shippingCount\":-1}]},"
            "{\"shipmentBoxId\":7,\"orderId\":8,\"orderItems\":[{"
            "\"vendorItemId\":9,\"shippingCount\":1,"
            "\"salesPrice\":{\"units\":1,\"nanos\":2000000000}}]}]}";

        ok(integrations_coupang_parse_ordersheets(err, sizeof(err) - 1, &r)
           == INTEGRATIONS_COUPANG_API_ERROR && r.status.code == -1
           && str_is(r.status.code_text, "ERROR")
           && str_is(r.status.message, "Invalid signature."),
           "an auth error: API_ERROR with its message");
        integrations_coupang_ordersheets_free(&r);

        ok(integrations_coupang_parse_ordersheets(
               S("<html>Access Denied</html>"), &r)
           == INTEGRATIONS_COUPANG_MALFORMED, "Akamai HTML: MALFORMED");
        integrations_coupang_ordersheets_free(&r);

        ok(integrations_coupang_parse_ordersheets(S("{\"code\":200}"), &r)
           == INTEGRATIONS_COUPANG_MALFORMED, "no data: MALFORMED");
        integrations_coupang_ordersheets_free(&r);

        /* the strict reader refuses a NUL anywhere, and says where */

        ok(integrations_coupang_parse_ordersheets(nul, sizeof(nul) - 1, &r)
           == INTEGRATIONS_COUPANG_MALFORMED
           && strstr(r.status.error, "data[0].orderer.name") != NULL
           && strstr(r.status.error, "NUL") != NULL,
           "a NUL in a name: the answer refused, never a name cut short");
        integrations_coupang_ordersheets_free(&r);

        ok(integrations_coupang_parse_ordersheets(bad, sizeof(bad) - 1, &r)
           == INTEGRATIONS_COUPANG_OK && r.n_orders == 4, "bad orders kept");
        ok(r.orders[0].error && strcmp(r.orders[0].error, "orderer.name") == 0
           && str_is(r.orders[0].orderer_name, ""),
           "a TAB in a name: the order is flagged, the name not kept");
        ok(r.orders[1].error
           && strcmp(r.orders[1].error, "shipmentBoxId") == 0,
           "a float id: flagged");
        ok(r.orders[2].error
           && strcmp(r.orders[2].error, "orderItems[].shippingCount") == 0,
           "a negative count: flagged");
        ok(r.orders[3].error
           && strcmp(r.orders[3].error, "orderItems[].salesPrice") == 0,
           "nanos out of range: flagged");
        integrations_coupang_ordersheets_free(&r);
    }
}


static void
test_bodies(void)
{
    char                            *b;
    size_t                           len, i, first, count;
    integrations_coupang_str_t       ids[51];
    integrations_coupang_invoice_t   e[2];

    ids[0].data = "642538971006401429";
    ids[0].len = 18;
    ids[1].data = "1";
    ids[1].len = 1;

    b = integrations_coupang_ack_body("A00012345", 9, ids, 2, &len);
    is_str(b, "{\"vendorId\":\"A00012345\",\"shipmentBoxIds\":"
              "[642538971006401429,1]}", "acknowledgement body, ids digit "
                                         "for digit");
    free(b);

    for (i = 0; i < 51; i++) {
        ids[i] = ids[1];
    }

    b = integrations_coupang_ack_body("A00012345", 9, ids, 51, &len);
    ok(b == NULL, "51 ids refused");
    b = integrations_coupang_ack_body("A00012345", 9, ids, 50, &len);
    ok(b != NULL, "50 ids taken");
    free(b);

    ids[3].data = "1e5";
    ids[3].len = 3;
    b = integrations_coupang_ack_body("A00012345", 9, ids, 4, &len);
    ok(b == NULL, "a non-digit id refused");

    is_int(integrations_coupang_chunks(0, 50), 0, "0 ids: 0 calls");
    is_int(integrations_coupang_chunks(50, 50), 1, "50 ids: 1 call");
    is_int(integrations_coupang_chunks(51, 50), 2, "51 ids: 2 calls");
    first = integrations_coupang_chunk(120, 50, 2, &count);
    ok(first == 100 && count == 20, "120 ids: the third call has 20");
    integrations_coupang_chunk(120, 50, 3, &count);
    is_int(count, 0, "no fourth call");

    e[0].shipment_box_id.data = "642538971006401429";
    e[0].shipment_box_id.len = 18;
    e[0].order_id.data = "22000009546234";
    e[0].order_id.len = 14;
    e[0].vendor_item_id.data = "3242596358";
    e[0].vendor_item_id.len = 10;
    e[0].invoice_number = e[0].shipment_box_id;
    e[1] = e[0];
    e[1].vendor_item_id.data = "3242596359";

    b = integrations_coupang_invoice_body("A00012345", 9, e, 1, &len);
    is_str(b, "{\"vendorId\":\"A00012345\",\"orderSheetInvoiceApplyDtos\":[{"
              "\"shipmentBoxId\":642538971006401429,\"orderId\":"
              "22000009546234,\"vendorItemId\":3242596358,"
              "\"deliveryCompanyCode\":\"DIRECT\",\"invoiceNumber\":"
              "\"642538971006401429\",\"splitShipping\":false,"
              "\"preSplitShipped\":false,\"estimatedShippingDate\":\"\"}]}",
           "DIRECT invoice body");
    free(b);

    b = integrations_coupang_invoice_body("A00012345", 9, e, 2, &len);
    ok(b && strstr(b, "3242596359") != NULL, "one entry per vendorItemId");
    free(b);

    e[0].invoice_number.data = "INV-1";
    e[0].invoice_number.len = 5;
    b = integrations_coupang_invoice_body("A00012345", 9, e, 1, &len);
    ok(b == NULL, "a DIRECT invoice number is digits only");
}


static void
test_results(void)
{
    integrations_coupang_results_t  r;

    static const char  ack[] =
        "{\"code\":\"200\",\"message\":\"OK\",\"data\":{"
        "\"responseKey\":-7326489997410939972,\"responseCode\":1,"
        "\"responseMessage\":\"apply instructStatus result - Partial "
        "errors.\",\"responseList\":["
        "{\"shipmentBoxId\":102391542,\"succeed\":true,\"resultCode\":\"OK\","
        "\"retryRequired\":false,\"resultMessage\":\"request succeeded.\"},"
        "{\"shipmentBoxId\":102391599,\"succeed\":false,\"resultCode\":"
        "\"NOT_FOUND_SHIPMENT_BOX\",\"retryRequired\":true,\"resultMessage\":"
        "\"shipmentBoxId (102391599) is not found.\"},"
        "{\"shipmentBoxId\":102391600,\"succeed\":false,\"resultCode\":"
        "\"99\",\"retryRequired\":false},"
        "{\"succeed\":true}]}}";

    static const char  inv[] =
        "{\"code\":200,\"data\":{\"responseCode\":99,\"responseList\":["
        "{\"shipmentBoxId\":1,\"succeed\":false,\"resultCode\":"
        "\"INVALID_STATUS\",\"retryRequired\":false},"
        "{\"shipmentBoxId\":2,\"succeed\":false,\"resultCode\":"
        "\"ORDER_DELIVERY_CANCELED\",\"retryRequired\":false},"
        "{\"shipmentBoxId\":3,\"succeed\":false,\"resultCode\":"
        "\"NOT_ALLOW_INVOICE_NUMBER_RE_UPLOAD\",\"retryRequired\":false},"
        "{\"shipmentBoxId\":4,\"succeed\":false,\"resultCode\":"
        "\"PERMISSION_DENIED\",\"retryRequired\":false},"
        "{\"shipmentBoxId\":5,\"succeed\":false,\"resultCode\":"
        "\"UNDEFINED_ERROR_OCCUR\",\"retryRequired\":true},"
        "{\"shipmentBoxId\":6,\"succeed\":\"true\",\"resultCode\":\"OK\"}]}}";

    ok(integrations_coupang_parse_results(INTEGRATIONS_COUPANG_ACK, ack,
                                          sizeof(ack) - 1, &r)
       == INTEGRATIONS_COUPANG_OK && r.n_results == 4, "ack answer parsed");
    ok(str_is(r.response_key, "-7326489997410939972"),
       "19-digit signed responseKey kept as text");
    is_int(r.response_code, 1, "responseCode 1: partial");
    ok(r.results[0].outcome == INTEGRATIONS_COUPANG_DONE
       && str_is(r.results[0].shipment_box_id, "102391542"), "succeeded");
    ok(r.results[1].outcome == INTEGRATIONS_COUPANG_RETRY,
       "retryRequired: RETRY");
    ok(r.results[2].outcome == INTEGRATIONS_COUPANG_CHECK,
       "refused without retry: look the box up");
    ok(r.results[3].outcome == INTEGRATIONS_COUPANG_CHECK
       && r.results[3].error != NULL,
       "an item without its id is never a success");
    integrations_coupang_results_free(&r);

    ok(integrations_coupang_parse_results(INTEGRATIONS_COUPANG_INVOICE, inv,
                                          sizeof(inv) - 1, &r)
       == INTEGRATIONS_COUPANG_OK && r.n_results == 6, "invoice answer");
    ok(r.results[0].outcome == INTEGRATIONS_COUPANG_RETRY_LATER,
       "INVALID_STATUS: retry later");
    ok(r.results[1].outcome == INTEGRATIONS_COUPANG_CANCELED,
       "ORDER_DELIVERY_CANCELED: cancelled");
    ok(r.results[2].outcome == INTEGRATIONS_COUPANG_CHECK,
       "re-upload refused: maybe done, check");
    ok(r.results[3].outcome == INTEGRATIONS_COUPANG_FAILED,
       "PERMISSION_DENIED: failed");
    ok(r.results[4].outcome == INTEGRATIONS_COUPANG_RETRY_LATER,
       "UNDEFINED_ERROR_OCCUR: retry later");
    ok(r.results[5].outcome == INTEGRATIONS_COUPANG_CHECK,
       "succeed as a string is not a boolean: check");
    integrations_coupang_results_free(&r);

    ok(integrations_coupang_parse_results(INTEGRATIONS_COUPANG_ACK,
           S("{\"code\":\"ERROR\",\"message\":\"Request timed out\"}"), &r)
       == INTEGRATIONS_COUPANG_API_ERROR, "a 504 body: API_ERROR");
    integrations_coupang_results_free(&r);
}


static void
test_returns(void)
{
    integrations_coupang_returns_t      r;
    integrations_coupang_withdrawals_t  w;

    static const char  ret[] =
        "{\"code\":200,\"message\":\"OK\",\"data\":[{\"receiptId\":50229613,"
        "\"orderId\":28000008707838,\"paymentId\":28000009486604,"
        "\"receiptType\":\"RETURN\",\"receiptStatus\":\"RETURNS_UNCHECKED\","
        "\"createdAt\":\"2017-09-02T22:52:42\",\"modifiedAt\":"
        "\"2017-09-02T22:52:42\",\"requesterName\":"
        "\"\xea\xb5\xac*\xec\x88\x99\","
        "\"requesterPhoneNumber\":\"0503-****-3560\",\"cancelReason\":"
        "\"a\\nb\",\"cancelCountSum\":1,\"preRefund\":false,"
        "\"returnItems\":[{\"vendorItemId\":3187044096,\"purchaseCount\":1,"
        "\"cancelCount\":1,\"shipmentBoxId\":434119941,"
        "\"sellerProductId\":57623797}]},"
        "{\"receiptId\":50229614,\"orderId\":1,\"receiptType\":\"CANCEL\","
        "\"receiptStatus\":\"RETURNS_COMPLETED\",\"cancelCountSum\":1,"
        "\"returnItems\":[{\"vendorItemId\":\"9\",\"cancelCount\":1}]},"
        "{\"receiptId\":3,\"orderId\":1,\"returnItems\":[]}]}";

    static const char  wd[] =
        "{\"code\":200,\"message\":\"OK\",\"data\":[{\"cancelId\":116607450,"
        "\"orderId\":29000024470847,\"vendorId\":\"A00123456\","
        "\"refundDeliveryDuty\":\"COM\",\"createdAt\":\"2018-11-06T23:50:39\","
        "\"vendorItemIds\":[3838728011,3838728012]}],\"nextPageIndex\":\"2\"}";

    ok(integrations_coupang_parse_returns(ret, sizeof(ret) - 1, &r)
       == INTEGRATIONS_COUPANG_OK && r.n_returns == 3, "returns parsed");
    ok(r.returns[0].error == NULL && str_is(r.returns[0].receipt_id,
                                            "50229613")
       && r.returns[0].type == INTEGRATIONS_COUPANG_RETURN
       && r.returns[0].status == INTEGRATIONS_COUPANG_RS_RETURNS_UNCHECKED
       && r.returns[0].created_at == utc(2017, 9, 2, 13, 52, 42),
       "a return filed (the reason's newline is not kept, so no error)");
    ok(r.returns[0].n_items == 1
       && str_is(r.returns[0].items[0].vendor_item_id, "3187044096")
       && str_is(r.returns[0].items[0].shipment_box_id, "434119941")
       && r.returns[0].items[0].cancel_count == 1, "its item");
    ok(r.returns[1].type == INTEGRATIONS_COUPANG_CANCEL
       && r.returns[1].status == INTEGRATIONS_COUPANG_RS_RETURNS_COMPLETED
       && str_is(r.returns[1].items[0].vendor_item_id, "9"),
       "a cancellation");
    ok(r.returns[2].error && strcmp(r.returns[2].error, "returnItems") == 0,
       "no items: flagged");
    integrations_coupang_returns_free(&r);

    ok(integrations_coupang_parse_withdrawals(wd, sizeof(wd) - 1, &w)
       == INTEGRATIONS_COUPANG_OK && w.n_withdrawals == 1,
       "withdrawals parsed");
    ok(str_is(w.withdrawals[0].cancel_id, "116607450")
       && w.withdrawals[0].n_vendor_item_ids == 2
       && str_is(w.withdrawals[0].vendor_item_ids[1], "3838728012")
       && str_is(w.next_page, "2"), "cancelId, vendorItemIds, next page");
    integrations_coupang_withdrawals_free(&w);

    ok(integrations_coupang_parse_withdrawals(
           S("{\"code\":200,\"data\":[],\"nextPageIndex\":\"\"}"), &w)
       == INTEGRATIONS_COUPANG_OK && str_is(w.next_page, ""),
       "the last page");
    integrations_coupang_withdrawals_free(&w);
    ok(integrations_coupang_parse_withdrawals(
           S("{\"code\":200,\"data\":[],\"nextPageIndex\":3}"), &w)
       == INTEGRATIONS_COUPANG_OK && str_is(w.next_page, "3"),
       "a numeric page index");
    integrations_coupang_withdrawals_free(&w);
    ok(integrations_coupang_parse_withdrawals(
           S("{\"code\":200,\"data\":[],\"nextPageIndex\":\"x\"}"), &w)
       == INTEGRATIONS_COUPANG_MALFORMED, "a page index of letters refused");
    integrations_coupang_withdrawals_free(&w);
}


static void
test_inquiries(void)
{
    char                              key[32];
    integrations_coupang_inquiries_t  r;

    static const char  call[] =
        "{\"code\":\"200\",\"message\":\"OK\",\"data\":{\"content\":["
        "{\"inquiryId\":1007837450,\"csPartnerCounselingStatus\":\"none\","
        "\"vendorItemId\":[3000000151],\"itemName\":\"a\\tb\","
        "\"content\":\"[\xed\x86\xb5\xed\x95\xa9]\\n\xe2\x97\xbc x\","
        "\"answeredAt\":null,\"replies\":[],\"inquiryAt\":"
        "\"2017-03-09 17:35:02\",\"buyerEmail\":\"c@coupang.com\","
        "\"buyerPhone\":\"010-5232-4251\",\"orderId\":25000000000090,"
        "\"receiptCategory\":\"\xeb\xb0\xb0\xec\x86\xa1\xeb\xac\xb8\xec\x9d"
        "\x98\"},"
        "{\"inquiryId\":1007837449,\"vendorItemId\":3000000151,"
        "\"content\":\"x\",\"inquiryAt\":\"2017-03-09 17:31:11\","
        "\"orderId\":25000000000090,\"receiptCategory\":\"\xeb\xb0\xb0\xec"
        "\x86\xa1\xec\xa7\x80\xec\x8b\x9c \xec\x9d\xb4\xed\x9b\x84 \xeb\xb0"
        "\x98\xed\x92\x88\xeb\xac\xb8\xec\x9d\x98\",\"answeredAt\":"
        "\"2017-03-10 10:00:00\"}],"
        "\"pagination\":{\"currentPage\":1,\"totalPages\":3,"
        "\"totalElements\":4,\"countPerPage\":10}}}";

    static const char  online[] =
        "{\"code\":200,\"data\":{\"content\":["
        "{\"inquiryId\":11,\"productId\":5,\"vendorItemId\":3000000151,"
        "\"content\":\"\xed\x99\x98\xeb\xb6\x88 \xea\xb0\x80\xeb\x8a\xa5"
        "?\",\"inquiryAt\":\"2025-09-01 10:00:00\",\"orderIds\":null,"
        "\"commentDtoList\":[]},"
        "{\"inquiryId\":12,\"content\":\"hi\",\"inquiryAt\":"
        "\"2025-09-01 11:00:00\",\"orderIds\":[22000009546234],"
        "\"commentDtoList\":[{\"inquiryCommentId\":1,\"content\":\"ok\"}]}],"
        "\"pagination\":{\"currentPage\":1,\"totalPages\":1}}}";

    ok(integrations_coupang_parse_inquiries(
           INTEGRATIONS_COUPANG_INQUIRY_CALL_CENTER, call, sizeof(call) - 1,
           &r) == INTEGRATIONS_COUPANG_OK && r.n_inquiries == 2,
       "call-center inquiries parsed");
    ok(r.inquiries[0].error == NULL
       && str_is(r.inquiries[0].inquiry_id, "1007837450")
       && str_is(r.inquiries[0].vendor_item_id, "3000000151")
       && str_is(r.inquiries[0].order_id, "25000000000090")
       && r.inquiries[0].inquiry_at == utc(2017, 3, 9, 8, 35, 2)
       && !r.inquiries[0].answered && !r.inquiries[0].return_hint,
       "vendorItemId as an array; text with TAB and LF not kept");
    ok(r.inquiries[1].return_hint && r.inquiries[1].answered,
       "a return category is a hint; answeredAt means answered");
    ok(r.total_pages == 3, "pagination");
    integrations_coupang_inquiry_key(&r.inquiries[0], key);
    is_str(key, "call:1007837450", "the reported-once key");
    integrations_coupang_inquiries_free(&r);

    ok(integrations_coupang_parse_inquiries(
           INTEGRATIONS_COUPANG_INQUIRY_ONLINE, online, sizeof(online) - 1,
           &r) == INTEGRATIONS_COUPANG_OK && r.n_inquiries == 2,
       "product inquiries parsed");
    ok(!r.inquiries[0].answered && r.inquiries[0].return_hint
       && str_is(r.inquiries[0].order_id, ""),
       "a refund question; orderIds null");
    ok(r.inquiries[1].answered
       && str_is(r.inquiries[1].order_id, "22000009546234"),
       "a comment means answered; the first orderId");
    integrations_coupang_inquiry_key(&r.inquiries[1], key);
    is_str(key, "online:12", "online key");
    integrations_coupang_inquiries_free(&r);

    ok(integrations_coupang_parse_inquiries(
           INTEGRATIONS_COUPANG_INQUIRY_ONLINE,
           S("{\"code\":200,\"data\":{}}"), &r)
       == INTEGRATIONS_COUPANG_MALFORMED, "no content: MALFORMED");
    integrations_coupang_inquiries_free(&r);
}


/* the lookup of box answering one box at status st */
static integrations_coupang_outcome_e
ack_check(const char *st, const char *box)
{
    char  one[1024];
    int   n;

    n = snprintf(one, sizeof(one), "{\"code\":\"200\",\"message\":\"OK\","
                 "\"data\":{\"shipmentBoxId\":642538971006401429,"
                 "\"orderId\":22000009546234,\"status\":\"%s\","
                 "\"orderItems\":[]}}", st);

    return integrations_coupang_ack_check(200, one, (size_t) n, box,
                                          strlen(box));
}


static void
test_ack_check(void)
{
    const char  *box = "642538971006401429";

    ok(ack_check("INSTRUCT", box) == INTEGRATIONS_COUPANG_DONE,
       "INSTRUCT: acknowledged");
    ok(ack_check("DEPARTURE", box) == INTEGRATIONS_COUPANG_DONE,
       "DEPARTURE: past it too");
    ok(ack_check("ACCEPT", box) == INTEGRATIONS_COUPANG_RETRY,
       "ACCEPT: acknowledge again");
    ok(ack_check("INSTRUCT", "642538971006401428")
       == INTEGRATIONS_COUPANG_CHECK, "another box: nothing said");
    ok(ack_check("WHATEVER", box) == INTEGRATIONS_COUPANG_CHECK,
       "an unknown status: nothing said");
    ok(integrations_coupang_ack_check(200, S("{\"code\":\"200\"}"), box, 18)
       == INTEGRATIONS_COUPANG_CHECK, "no data");
    ok(integrations_coupang_ack_check(400,
           S("{\"code\":400,\"message\":\"해당 주문이 취소 또는 반품되었습니다.\"}"),
           box, 18)
       == INTEGRATIONS_COUPANG_CANCELED, "400 취소 또는 반품: cancelled");
    ok(integrations_coupang_ack_check(400, S("{\"code\":400}"), box, 18)
       == INTEGRATIONS_COUPANG_CHECK, "another 400: nothing said");
    ok(integrations_coupang_ack_check(504, S("Request timed out"), box, 18)
       == INTEGRATIONS_COUPANG_CHECK, "504: nothing said");
    ok(integrations_coupang_ack_check(0, NULL, 0, box, 18)
       == INTEGRATIONS_COUPANG_CHECK, "no answer: nothing said");

    /* an acknowledgement's item neither done nor retryRequired: CHECK */
    ok(integrations_coupang_outcome(INTEGRATIONS_COUPANG_ACK, 0, 0, "99", 2)
       == INTEGRATIONS_COUPANG_CHECK, "ack item code 99: check singly");
}


int
main(void)
{
    test_times();
    test_urls();
    test_plan();
    test_ordersheets();
    test_bodies();
    test_results();
    test_returns();
    test_inquiries();
    test_ack_check();

    return done_testing();
}
