/*
 * The activation admin API's requests.  See integrations_activation_admin.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "integrations_activation_admin.h"
#include "integrations_coupang_orders.h"
#include "integrations_json.h"
#include "integrations_recipient.h"
#include "integrations_time.h"


#define ADMIN_VALUE_MAX  256       /* a decoded query value */


static int admin_digits(const char *p, size_t len, size_t max);
static int admin_unescape(const char *p, size_t len, char *out,
    size_t size, size_t *out_len);
static int admin_hex(char c);
static int admin_states(const char *p, size_t len, unsigned *mask,
    char *err, size_t err_len);
static int admin_cursor_parse(const char *p, size_t len,
    integrations_act_admin_query_t *out);


integrations_act_admin_route_e
integrations_act_admin_route(const char *path, size_t len, const char **id,
    size_t *id_len, int *post)
{
    size_t       i, at, rest;
    const char  *p, *slash;

    *id = NULL;
    *id_len = 0;
    *post = 0;

    /* the last "/orders" that is a whole segment */

    at = 0;

    for (i = len; i >= 7; i--) {
        if (memcmp(path + i - 7, "/orders", 7) == 0
            && (i == len || path[i] == '/' || path[i] == '.'))
        {
            at = i;
            break;
        }
    }

    if (at == 0) {
        return INTEGRATIONS_ACT_ADMIN_NONE;
    }

    p = path + at;
    rest = len - at;

    if (rest == 0 || (rest == 1 && p[0] == '/')) {
        return INTEGRATIONS_ACT_ADMIN_LIST;
    }

    if (rest == 4 && memcmp(p, ".csv", 4) == 0) {
        return INTEGRATIONS_ACT_ADMIN_CSV;
    }

    if (p[0] != '/') {
        return INTEGRATIONS_ACT_ADMIN_NONE;
    }

    p++;
    rest--;

    slash = memchr(p, '/', rest);

    *id = p;
    *id_len = slash ? (size_t) (slash - p) : rest;

    if (!admin_digits(*id, *id_len, INTEGRATIONS_ACT_ADMIN_ID_MAX)) {
        *id = NULL;
        *id_len = 0;
        return INTEGRATIONS_ACT_ADMIN_NONE;
    }

    if (slash == NULL) {
        return INTEGRATIONS_ACT_ADMIN_ORDER;
    }

    rest -= *id_len + 1;
    p = slash + 1;

    *post = 1;

    if (rest == 6 && memcmp(p, "resend", 6) == 0) {
        return INTEGRATIONS_ACT_ADMIN_RESEND;
    }

    if (rest == 6 && memcmp(p, "revoke", 6) == 0) {
        return INTEGRATIONS_ACT_ADMIN_REVOKE;
    }

    *post = 0;
    *id = NULL;
    *id_len = 0;

    return INTEGRATIONS_ACT_ADMIN_NONE;
}


int
integrations_act_admin_query(const char *q, size_t len, int csv,
    integrations_act_admin_query_t *out, const char **field, char *err,
    size_t err_len)
{
    char         v[ADMIN_VALUE_MAX];
    size_t       i, j, end, eq, vlen;
    unsigned     seen, bit;
    int64_t      n;
    const char  *name, *p;

    static const char  *names[] = {
        "state", "since", "until", "limit", "after", "format"
    };

    memset(out, 0, sizeof(integrations_act_admin_query_t));
    out->since = -1;
    out->until = -1;
    out->limit = 0;
    out->csv = csv;

    *field = "";
    seen = 0;

    if (err_len) {
        err[0] = '\0';
    }

    for (i = 0; q != NULL && i < len; i = end + 1) {

        p = memchr(q + i, '&', len - i);
        end = p ? (size_t) (p - q) : len;

        if (end == i) {
            continue;                       /* "a=1&&b=2", a trailing "&" */
        }

        p = memchr(q + i, '=', end - i);
        eq = p ? (size_t) (p - q) : end;

        name = NULL;

        for (bit = 0; bit < sizeof(names) / sizeof(names[0]); bit++) {
            if (eq - i == strlen(names[bit])
                && memcmp(q + i, names[bit], eq - i) == 0)
            {
                name = names[bit];
                break;
            }
        }

        if (name == NULL) {
            *field = "";
            snprintf(err, err_len, "unknown query parameter (one of state, "
                     "since, until, limit, after, format)");
            return -1;
        }

        *field = name;

        if (seen & (1u << bit)) {
            snprintf(err, err_len, "is given more than once");
            return -1;
        }

        seen |= 1u << bit;

        if (eq == end || eq + 1 == end) {
            snprintf(err, err_len, "is empty");
            return -1;
        }

        if (admin_unescape(q + eq + 1, end - eq - 1, v, sizeof(v), &vlen)
            != 0)
        {
            snprintf(err, err_len, "is not a valid percent-encoded value of "
                     "at most %d bytes", ADMIN_VALUE_MAX - 1);
            return -1;
        }

        switch (bit) {

        case 0:
            if (admin_states(v, vlen, &out->states, err, err_len) != 0) {
                return -1;
            }
            break;

        case 1:
        case 2:
            if (integrations_act_admin_time(v, vlen, &n) != 0) {
                snprintf(err, err_len, "is not an RFC 3339 time "
                         "(2025-09-01T10:00:00+09:00) or a date "
                         "(2025-09-01)");
                return -1;
            }

            if (bit == 1) {
                out->since = n;
            } else {
                out->until = n;
            }
            break;

        case 3:
            n = 0;

            if (admin_digits(v, vlen, 4)) {
                for (j = 0; j < vlen; j++) {
                    n = n * 10 + (v[j] - '0');
                }
            }

            if (n < 1) {
                snprintf(err, err_len, "must be an integer from 1 to %d "
                         "(%d for CSV)", INTEGRATIONS_ACT_ADMIN_LIMIT_MAX,
                         INTEGRATIONS_ACT_ADMIN_CSV_MAX);
                return -1;
            }

            out->limit = (unsigned) n;
            break;

        case 4:
            if (admin_cursor_parse(v, vlen, out) != 0) {
                snprintf(err, err_len, "is not a cursor this API gave "
                         "(\"next\")");
                return -1;
            }
            break;

        default:
            if (vlen == 3 && memcmp(v, "csv", 3) == 0) {
                out->csv = 1;

            } else if (vlen == 4 && memcmp(v, "json", 4) == 0) {
                out->csv = 0;

            } else {
                snprintf(err, err_len, "must be \"json\" or \"csv\"");
                return -1;
            }
        }
    }

    if (out->limit == 0) {
        out->limit = out->csv ? INTEGRATIONS_ACT_ADMIN_CSV_DEFAULT
                              : INTEGRATIONS_ACT_ADMIN_LIMIT_DEFAULT;

    } else if (out->limit > (out->csv ? INTEGRATIONS_ACT_ADMIN_CSV_MAX
                                      : INTEGRATIONS_ACT_ADMIN_LIMIT_MAX))
    {
        *field = "limit";
        snprintf(err, err_len, "must be an integer from 1 to %d "
                 "(%d for CSV)", INTEGRATIONS_ACT_ADMIN_LIMIT_MAX,
                 INTEGRATIONS_ACT_ADMIN_CSV_MAX);
        return -1;
    }

    if (out->since >= 0 && out->until >= 0 && out->until <= out->since) {
        *field = "until";
        snprintf(err, err_len, "must be later than \"since\"");
        return -1;
    }

    *field = "";

    return 0;
}


long
integrations_act_admin_cursor(int64_t at, const char *id, size_t id_len,
    char *out, size_t size)
{
    int  n;

    if (at < 0 || !admin_digits(id, id_len, INTEGRATIONS_ACT_ADMIN_ID_MAX)) {
        return -1;
    }

    n = snprintf(out, size, "%lld.%.*s", (long long) at, (int) id_len, id);

    if (n < 0 || (size_t) n >= size) {
        return -1;
    }

    return n;
}


int
integrations_act_admin_time(const char *p, size_t len, int64_t *ms)
{
    size_t   i;
    int64_t  t, frac, scale;

    /*
     * Coupang's reader takes RFC 3339 with an offset or "Z", a bare date
     * (KST midnight) and a time without an offset (KST); an admin query
     * must say which zone it means unless it gives a date.
     */

    if (len != 10) {
        for (i = 10; i < len; i++) {
            if (p[i] == 'Z' || p[i] == '+' || p[i] == '-') {
                break;
            }
        }

        if (i == len || len < 20 || (p[10] != 'T' && p[10] != 't')) {
            return -1;
        }
    }

    if (integrations_coupang_parse_time(p, len, &t) != 0) {
        return -1;
    }

    if (t < 0 || t > (int64_t) 253402300799LL) {    /* 9999-12-31 */
        return -1;
    }

    /* the milliseconds of a fraction (finer digits dropped) */

    frac = 0;

    if (len > 20 && p[19] == '.') {
        for (i = 20, scale = 100; i < len && p[i] >= '0' && p[i] <= '9';
             i++, scale /= 10)
        {
            frac += (p[i] - '0') * scale;
        }
    }

    *ms = t * 1000 + frac;

    return 0;
}


void
integrations_act_admin_iso(int64_t ms, char *out)
{
    int64_t   days, secs, y;
    unsigned  mo, d;

    if (ms < 0) {
        ms = 0;
    }

    days = ms / 86400000;
    secs = (ms / 1000) % 86400;

    integrations_time_civil_from_days(days, &y, &mo, &d);

    snprintf(out, 25, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long) y,
             mo, d, (unsigned) (secs / 3600), (unsigned) (secs / 60 % 60),
             (unsigned) (secs % 60), (unsigned) (ms % 1000));
}


int
integrations_act_admin_action(const char *body, size_t len, int resend,
    integrations_act_admin_action_t *out, const char **field, char *err,
    size_t err_len)
{
    int                       kind;
    size_t                    i, n;
    const char               *s, *name, *why;
    yajl_val                  v, m;
    integrations_json_err_t   jerr;

    memset(out, 0, sizeof(integrations_act_admin_action_t));

    *field = "";

    if (err_len) {
        err[0] = '\0';
    }

    for (i = 0; i < len; i++) {
        if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r'
            && body[i] != '\n')
        {
            break;
        }
    }

    if (i == len) {
        return 0;                           /* no body: nothing to change */
    }

    v = integrations_json_parse(body, len, 4, INTEGRATIONS_JSON_UNIQUE_KEYS,
                                &jerr);
    if (v == NULL) {
        *field = "";
        if (jerr.error == INTEGRATIONS_JSON_INVALID) {
            snprintf(err, err_len, "the body is not a JSON object");
        } else {
            snprintf(err, err_len, "\"%s\" %s", jerr.path,
                     integrations_json_strerror(jerr.error));
        }
        return -1;
    }

    if (!YAJL_IS_OBJECT(v)) {
        yajl_tree_free(v);
        snprintf(err, err_len, "the body is not a JSON object");
        return -1;
    }

    for (i = 0; i < v->u.object.len; i++) {
        const char  *k = v->u.object.keys[i];

        if (strcmp(k, "reason") == 0) {
            continue;
        }

        if (resend && (strcmp(k, "to") == 0 || strcmp(k, "contact") == 0)) {
            continue;
        }

        yajl_tree_free(v);
        *field = "";
        snprintf(err, err_len, "unknown member (%s)",
                 resend ? "\"to\" and \"reason\" are known"
                        : "\"reason\" is known");
        return -1;
    }

    m = integrations_json_get(v, "reason");

    if (m != NULL) {
        *field = "reason";

        if (integrations_json_text(m, &s, &n) != 0 || n == 0
            || n > INTEGRATIONS_ACT_ADMIN_REASON_MAX)
        {
            yajl_tree_free(v);
            snprintf(err, err_len, "must be a string of 1 to %d bytes "
                     "without control characters",
                     INTEGRATIONS_ACT_ADMIN_REASON_MAX);
            return -1;
        }

        memcpy(out->reason, s, n);
        out->reason[n] = '\0';
        out->reason_len = n;
    }

    m = integrations_json_get(v, "to");
    name = "to";

    if (m != NULL && integrations_json_get(v, "contact") != NULL) {
        yajl_tree_free(v);
        *field = "to";
        snprintf(err, err_len, "and \"contact\" (its old name) are both "
                 "given");
        return -1;
    }

    if (m == NULL) {
        m = integrations_json_get(v, "contact");
        name = "contact";
    }

    if (m != NULL) {
        *field = name;

        if (integrations_json_text(m, &s, &n) != 0 || n == 0) {
            yajl_tree_free(v);
            snprintf(err, err_len, "must be a Korean mobile number "
                     "(010-1234-5678) or an email address");
            return -1;
        }

        /*
         * as notifications check a recipient (integrations_recipient.h):
         * a mobile for AlimTalk and SMS, an address for email, in the
         * form their outbox keeps
         */

        kind = memchr(s, '@', n) ? INTEGRATIONS_RCPT_EMAIL
                                 : INTEGRATIONS_RCPT_KR_MOBILE;

        /* the list shows contacts masked: one pasted back is refused */

        for (i = 0; i + 2 < n; i++) {
            if (s[i] == '*' && s[i + 1] == '*' && s[i + 2] == '*') {
                yajl_tree_free(v);
                snprintf(err, err_len, "is masked (\"***\"): the buyer's "
                         "full number or address is needed");
                return -1;
            }
        }

        if (integrations_rcpt_normalize(kind, 0, s, n, out->contact.value,
                                        sizeof(out->contact.value),
                                        &out->contact.len, &why)
            != 0)
        {
            yajl_tree_free(v);
            snprintf(err, err_len, "is %s: %s", why,
                     kind == INTEGRATIONS_RCPT_EMAIL
                     ? "an email address is needed"
                     : "a Korean mobile number (010-1234-5678) or an "
                       "email address is needed");
            return -1;
        }

        out->contact.kind = (kind == INTEGRATIONS_RCPT_EMAIL)
                            ? INTEGRATIONS_ACT_CONTACT_EMAIL
                            : INTEGRATIONS_ACT_CONTACT_PHONE;
        out->contact.source = INTEGRATIONS_ACT_SRC_NONE;
    }

    yajl_tree_free(v);

    *field = "";

    return 0;
}


int
integrations_act_admin_keys(const char *text, size_t len,
    void (*each)(const char *key, size_t len, void *data), void *data,
    char *err, size_t err_len)
{
    int          count;
    size_t       i, end, n, line, j;
    const char  *p;

    count = 0;
    line = 0;

    for (i = 0; i < len; i = end + 1) {
        line++;

        p = memchr(text + i, '\n', len - i);
        end = p ? (size_t) (p - text) : len;

        n = end - i;

        while (n && (text[i + n - 1] == ' ' || text[i + n - 1] == '\t'
                     || text[i + n - 1] == '\r'))
        {
            n--;
        }

        if (n == 0 || text[i] == '#') {
            continue;
        }

        if (n < 16 || n > 256) {
            snprintf(err, err_len, "line %zu: a key must be 16 to 256 "
                     "bytes", line);
            return -1;
        }

        for (j = 0; j < n; j++) {
            if (text[i + j] <= 0x20 || text[i + j] >= 0x7f) {
                snprintf(err, err_len, "line %zu: a key must be visible "
                         "ASCII without spaces", line);
                return -1;
            }
        }

        each(text + i, n, data);
        count++;
    }

    if (count == 0) {
        snprintf(err, err_len, "no key in the file");
        return -1;
    }

    return count;
}


int
integrations_act_admin_bearer(const char *h, size_t len, const char **key,
    size_t *key_len)
{
    size_t  i;

    if (len < 8 || strncasecmp(h, "bearer ", 7) != 0) {
        return -1;
    }

    for (i = 7; i < len && h[i] == ' '; i++) { /* void */ }

    while (len > i && (h[len - 1] == ' ' || h[len - 1] == '\t')) {
        len--;
    }

    if (i == len) {
        return -1;
    }

    *key = h + i;
    *key_len = len - i;

    return 0;
}


/* ---- helpers ----------------------------------------------------------- */

static int
admin_digits(const char *p, size_t len, size_t max)
{
    size_t  i;

    if (len == 0 || len > max) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }

    return 1;
}


static int
admin_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


/* percent-decoding, "+" as a space; a NUL or a control byte refuses */

static int
admin_unescape(const char *p, size_t len, char *out, size_t size,
    size_t *out_len)
{
    int     hi, lo;
    char    c;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c == '%') {
            if (len - i < 3) {
                return -1;
            }

            hi = admin_hex(p[i + 1]);
            lo = admin_hex(p[i + 2]);

            if (hi < 0 || lo < 0) {
                return -1;
            }

            c = (char) (hi * 16 + lo);
            i += 2;

        } else if (c == '+') {
            c = ' ';
        }

        if ((unsigned char) c < 0x20 || c == 0x7f) {
            return -1;
        }

        if (n + 1 >= size) {
            return -1;
        }

        out[n++] = c;
    }

    out[n] = '\0';
    *out_len = n;

    return 0;
}


static int
admin_states(const char *p, size_t len, unsigned *mask, char *err,
    size_t err_len)
{
    int          s;
    size_t       i, end;
    const char  *c;

    *mask = 0;

    for (i = 0; i <= len; i = end + 1) {
        c = memchr(p + i, ',', len - i);
        end = c ? (size_t) (c - p) : len;

        s = integrations_act_state_by_name(p + i, end - i);

        if (s < 0) {
            snprintf(err, err_len, "must be one or more of synced, "
                     "no_contact, link_sent, redeemed, revoked, failed "
                     "separated by \",\"");
            return -1;
        }

        *mask |= 1u << s;

        if (end == len) {
            break;
        }
    }

    return 0;
}


static int
admin_cursor_parse(const char *p, size_t len,
    integrations_act_admin_query_t *out)
{
    size_t       i;
    int64_t      at;
    const char  *dot;

    dot = memchr(p, '.', len);

    if (dot == NULL || dot == p || (size_t) (dot - p) > 15) {
        return -1;
    }

    at = 0;

    for (i = 0; p + i < dot; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        at = at * 10 + (p[i] - '0');
    }

    i++;

    if (!admin_digits(p + i, len - i, INTEGRATIONS_ACT_ADMIN_ID_MAX)) {
        return -1;
    }

    out->after = 1;
    out->after_at = at;
    memcpy(out->after_id, p + i, len - i);
    out->after_id[len - i] = '\0';
    out->after_id_len = len - i;

    return 0;
}


/* ---- the answers ------------------------------------------------------- */

/* the list's columns (STMT_ACT_LIST) */
enum {
    L_VENDOR = 0, L_BOX, L_ORDER, L_STATE, L_CKIND, L_CONTACT, L_SEEN,
    L_UNITS, L_REDEEMED, L_MSG, L_SENT, L_FULFIL, L_UPDATED, L_PRODUCTS,
    L_NCOLS
};

/* STMT_ACT_ORDER_BOXES */
enum {
    B_VENDOR = 0, B_BOX, B_ORDER, B_STATE, B_CKIND, B_CONTACT, B_SOURCE,
    B_BUYER, B_SEEN, B_ORDERED, B_PAID, B_MSG, B_SENT, B_FULFIL, B_ACKED,
    B_INVOICED, B_NCOLS
};

/* STMT_ACT_ORDER_UNITS */
enum {
    U_BOX = 0, U_ITEM, U_UNIT, U_UNITS, U_PRODUCT, U_NAME, U_STATE, U_GRANT,
    U_ATTEMPTS, U_GRANTED, U_REDEEMED, U_REVOKED, U_REASON, U_GEN,
    U_EXPIRES, U_USED, U_NCOLS
};

/* STMT_ACT_ORDER_EVENTS */
enum {
    E_ID = 0, E_BOX, E_ITEM, E_UNIT, E_AT, E_EVENT, E_STATE, E_DETAIL,
    E_NCOLS
};


static yajl_val admin_rows(const char *json, size_t len, size_t ncols);
static yajl_val admin_col(yajl_val row, size_t i);
static int admin_str(yajl_val row, size_t i, const char **s, size_t *n);
static int64_t admin_int(yajl_val row, size_t i, int64_t dflt);
static void admin_gen_str(integrations_json_gen_t *w, const char *key,
    yajl_val row, size_t i);
static void admin_gen_time(integrations_json_gen_t *w, const char *key,
    yajl_val row, size_t i);
static void admin_gen_int(integrations_json_gen_t *w, const char *key,
    yajl_val row, size_t i);
static void admin_gen_name(integrations_json_gen_t *w, const char *key,
    const char *name);
static void admin_gen_contact(integrations_json_gen_t *w, yajl_val row,
    size_t kind, size_t value);
static size_t admin_masked(yajl_val row, size_t kind, size_t value,
    char *out, size_t size);


const char *
integrations_act_admin_message_name(int64_t state)
{
    static const char  *names[] = {
        "none", "queued", "sent", "failed", "cancelled"
    };

    return (state >= 0 && state < 5) ? names[state] : "unknown";
}


const char *
integrations_act_admin_fulfil_name(int64_t state)
{
    static const char  *names[] = {
        "wait", "ack", "invoice", "done", "failed", "canceled", "held"
    };

    return (state >= 0 && state < 7) ? names[state] : "unknown";
}


const char *
integrations_act_admin_grant_name(int64_t state)
{
    static const char  *names[] = { "none", "pending", "granted", "failed" };

    return (state >= 0 && state < 4) ? names[state] : "unknown";
}


char *
integrations_act_admin_list(const char *rows, size_t len, unsigned limit,
    int csv, char *next, size_t *out_len)
{
    char                     *out, *p, iso[32], masked[INTEGRATIONS_ACT_ADMIN_MASK_LEN],
                              units[24], redeemed[24], sent[32];
    size_t                    i, k, n, need, size, plen;
    const char               *s, *products;
    yajl_val                  v, row;
    integrations_json_gen_t   w;
    integrations_act_cell_t   cells[11];

    next[0] = '\0';

    v = admin_rows(rows, len, L_NCOLS);
    if (v == NULL) {
        return NULL;
    }

    n = v->u.array.len;

    if (n && n >= limit) {
        row = v->u.array.values[n - 1];

        if (admin_str(row, L_BOX, &s, &k) != 0
            || integrations_act_admin_cursor(admin_int(row, L_SEEN, 0), s, k,
                                             next, 64)
               < 0)
        {
            next[0] = '\0';
        }
    }

    if (csv) {
        static const char  *head[] = {
            "order_id", "shipment_box_id", "state", "contact",
            "first_seen_at", "units", "redeemed", "message", "fulfilment",
            "products", "updated_at"
        };

        size = 256;
        out = malloc(size);
        if (out == NULL) {
            yajl_tree_free(v);
            return NULL;
        }

        for (i = 0; i < 11; i++) {
            cells[i].data = head[i];
            cells[i].len = strlen(head[i]);
        }

        *out_len = integrations_act_csv_row(cells, 11, out, size);

        for (i = 0; i < n; i++) {
            row = v->u.array.values[i];

            if (admin_str(row, L_ORDER, &cells[0].data, &cells[0].len) != 0
                || admin_str(row, L_BOX, &cells[1].data, &cells[1].len) != 0)
            {
                free(out);
                yajl_tree_free(v);
                return NULL;
            }

            s = integrations_act_state_name(
                    (integrations_act_state_e) admin_int(row, L_STATE, -1));
            cells[2].data = s ? s : "unknown";
            cells[2].len = strlen(cells[2].data);

            cells[3].len = admin_masked(row, L_CKIND, L_CONTACT, masked,
                                        sizeof(masked));
            cells[3].data = masked;

            integrations_act_admin_iso(admin_int(row, L_SEEN, 0), iso);
            cells[4].data = iso;
            cells[4].len = strlen(iso);

            cells[5].len = (size_t) snprintf(units, sizeof(units), "%lld",
                               (long long) admin_int(row, L_UNITS, 0));
            cells[5].data = units;
            cells[6].len = (size_t) snprintf(redeemed, sizeof(redeemed),
                               "%lld", (long long) admin_int(row, L_REDEEMED,
                                                             0));
            cells[6].data = redeemed;

            cells[7].data = integrations_act_admin_message_name(
                                admin_int(row, L_MSG, -1));
            cells[7].len = strlen(cells[7].data);
            cells[8].data = integrations_act_admin_fulfil_name(
                                admin_int(row, L_FULFIL, -1));
            cells[8].len = strlen(cells[8].data);

            if (admin_str(row, L_PRODUCTS, &products, &plen) != 0) {
                products = "";
                plen = 0;
            }

            cells[9].data = products;
            cells[9].len = plen;

            integrations_act_admin_iso(admin_int(row, L_UPDATED, 0), sent);
            cells[10].data = sent;
            cells[10].len = strlen(sent);

            need = integrations_act_csv_row(cells, 11, NULL, 0);

            if (*out_len + need + 1 > size) {
                size = (*out_len + need + 1) * 2;
                p = realloc(out, size);
                if (p == NULL) {
                    free(out);
                    yajl_tree_free(v);
                    return NULL;
                }
                out = p;
            }

            *out_len += integrations_act_csv_row(cells, 11, out + *out_len,
                                                 size - *out_len);
        }

        yajl_tree_free(v);

        return out;
    }

    if (integrations_json_gen_init(&w) != 0) {
        yajl_tree_free(v);
        return NULL;
    }

    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "orders");
    yajl_gen_array_open(w.g);

    for (i = 0; i < n; i++) {
        row = v->u.array.values[i];

        yajl_gen_map_open(w.g);
        admin_gen_str(&w, "order_id", row, L_ORDER);
        admin_gen_str(&w, "shipment_box_id", row, L_BOX);
        admin_gen_str(&w, "vendor_id", row, L_VENDOR);
        admin_gen_name(&w, "state", integrations_act_state_name(
                           (integrations_act_state_e) admin_int(row, L_STATE,
                                                                -1)));
        admin_gen_contact(&w, row, L_CKIND, L_CONTACT);
        admin_gen_time(&w, "first_seen_at", row, L_SEEN);
        admin_gen_int(&w, "units", row, L_UNITS);
        admin_gen_int(&w, "redeemed", row, L_REDEEMED);
        admin_gen_name(&w, "message", integrations_act_admin_message_name(
                                          admin_int(row, L_MSG, -1)));
        admin_gen_time(&w, "sent_at", row, L_SENT);
        admin_gen_name(&w, "fulfilment", integrations_act_admin_fulfil_name(
                                             admin_int(row, L_FULFIL, -1)));
        admin_gen_time(&w, "updated_at", row, L_UPDATED);

        integrations_json_gen_cstr(&w, "products");
        yajl_gen_array_open(w.g);

        if (admin_str(row, L_PRODUCTS, &products, &plen) == 0) {
            for (k = 0; k < plen; k = need + 1) {
                for (need = k; need < plen && products[need] != ',';
                     need++)
                {
                    /* void */
                }

                if (need > k) {
                    integrations_json_gen_str(&w, products + k, need - k);
                }
            }
        }

        yajl_gen_array_close(w.g);
        yajl_gen_map_close(w.g);
    }

    yajl_gen_array_close(w.g);

    integrations_json_gen_cstr(&w, "next");
    if (next[0]) {
        integrations_json_gen_cstr(&w, next);
    } else {
        yajl_gen_null(w.g);
    }

    yajl_gen_map_close(w.g);

    yajl_tree_free(v);

    return integrations_json_gen_done(&w, out_len);
}


char *
integrations_act_admin_order(const char *order_id, size_t id_len,
    const char *boxes, size_t blen, const char *units, size_t ulen,
    const char *events, size_t elen, int *found, size_t *out_len)
{
    char                      masked[INTEGRATIONS_ACT_ADMIN_MASK_LEN];
    size_t                    i, n, k;
    const char               *s;
    yajl_val                  bv, uv, ev, row;
    integrations_act_state_e  states[INTEGRATIONS_ACT_NSTATES], st;
    integrations_json_gen_t   w;
    unsigned                  seen;

    *found = 0;

    bv = admin_rows(boxes, blen, B_NCOLS);
    uv = admin_rows(units, ulen, U_NCOLS);
    ev = admin_rows(events, elen, E_NCOLS);

    if (bv == NULL || uv == NULL || ev == NULL
        || integrations_json_gen_init(&w) != 0)
    {
        yajl_tree_free(bv);
        yajl_tree_free(uv);
        yajl_tree_free(ev);
        return NULL;
    }

    *found = bv->u.array.len > 0;

    /* the order's state: the boxes' states as integrations_act_order_state
       reads units' */

    n = 0;
    seen = 0;

    for (i = 0; i < bv->u.array.len; i++) {
        int64_t  b = admin_int(bv->u.array.values[i], B_STATE, -1);

        if (b >= 0 && b < INTEGRATIONS_ACT_NSTATES && !(seen & (1u << b))) {
            seen |= 1u << b;
            states[n++] = (integrations_act_state_e) b;
        }
    }

    st = integrations_act_order_state(states, n);

    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "order_id");
    integrations_json_gen_str(&w, order_id, id_len);
    admin_gen_name(&w, "state", integrations_act_state_name(st));

    integrations_json_gen_cstr(&w, "boxes");
    yajl_gen_array_open(w.g);

    for (i = 0; i < bv->u.array.len; i++) {
        row = bv->u.array.values[i];

        yajl_gen_map_open(w.g);
        admin_gen_str(&w, "shipment_box_id", row, B_BOX);
        admin_gen_str(&w, "vendor_id", row, B_VENDOR);
        admin_gen_name(&w, "state", integrations_act_state_name(
                           (integrations_act_state_e) admin_int(row, B_STATE,
                                                                -1)));
        admin_gen_contact(&w, row, B_CKIND, B_CONTACT);
        admin_gen_str(&w, "contact_source", row, B_SOURCE);

        integrations_json_gen_cstr(&w, "buyer");
        if (admin_str(row, B_BUYER, &s, &k) == 0 && k) {
            k = integrations_act_mask(INTEGRATIONS_ACT_MASK_NAME, s, k,
                                      masked, sizeof(masked));
            integrations_json_gen_str(&w, masked, k);
        } else {
            yajl_gen_null(w.g);
        }

        admin_gen_time(&w, "first_seen_at", row, B_SEEN);
        admin_gen_time(&w, "ordered_at", row, B_ORDERED);
        admin_gen_time(&w, "paid_at", row, B_PAID);
        admin_gen_name(&w, "message", integrations_act_admin_message_name(
                                          admin_int(row, B_MSG, -1)));
        admin_gen_time(&w, "sent_at", row, B_SENT);
        admin_gen_name(&w, "fulfilment", integrations_act_admin_fulfil_name(
                                             admin_int(row, B_FULFIL, -1)));
        admin_gen_time(&w, "acked_at", row, B_ACKED);
        admin_gen_time(&w, "invoiced_at", row, B_INVOICED);
        yajl_gen_map_close(w.g);
    }

    yajl_gen_array_close(w.g);

    integrations_json_gen_cstr(&w, "units");
    yajl_gen_array_open(w.g);

    for (i = 0; i < uv->u.array.len; i++) {
        row = uv->u.array.values[i];

        yajl_gen_map_open(w.g);
        admin_gen_str(&w, "shipment_box_id", row, U_BOX);
        admin_gen_str(&w, "vendor_item_id", row, U_ITEM);
        admin_gen_int(&w, "unit", row, U_UNIT);
        admin_gen_int(&w, "units", row, U_UNITS);
        admin_gen_str(&w, "product_code", row, U_PRODUCT);
        admin_gen_str(&w, "item_name", row, U_NAME);
        admin_gen_name(&w, "state", integrations_act_state_name(
                           (integrations_act_state_e) admin_int(row, U_STATE,
                                                                -1)));
        admin_gen_name(&w, "grant", integrations_act_admin_grant_name(
                                        admin_int(row, U_GRANT, -1)));
        admin_gen_int(&w, "grant_attempts", row, U_ATTEMPTS);
        admin_gen_time(&w, "granted_at", row, U_GRANTED);
        admin_gen_time(&w, "redeemed_at", row, U_REDEEMED);
        admin_gen_time(&w, "revoked_at", row, U_REVOKED);
        admin_gen_str(&w, "revoke_reason", row, U_REASON);

        integrations_json_gen_cstr(&w, "link");
        if (YAJL_IS_NULL(admin_col(row, U_GEN))) {
            yajl_gen_null(w.g);
        } else {
            yajl_gen_map_open(w.g);
            admin_gen_int(&w, "generation", row, U_GEN);
            admin_gen_time(&w, "expires_at", row, U_EXPIRES);
            admin_gen_time(&w, "used_at", row, U_USED);
            yajl_gen_map_close(w.g);
        }

        yajl_gen_map_close(w.g);
    }

    yajl_gen_array_close(w.g);

    integrations_json_gen_cstr(&w, "history");
    yajl_gen_array_open(w.g);

    for (i = 0; i < ev->u.array.len; i++) {
        row = ev->u.array.values[i];

        yajl_gen_map_open(w.g);
        admin_gen_int(&w, "id", row, E_ID);
        admin_gen_time(&w, "at", row, E_AT);
        admin_gen_str(&w, "event", row, E_EVENT);
        admin_gen_str(&w, "shipment_box_id", row, E_BOX);
        admin_gen_str(&w, "vendor_item_id", row, E_ITEM);
        admin_gen_int(&w, "unit", row, E_UNIT);

        integrations_json_gen_cstr(&w, "state");
        s = YAJL_IS_NULL(admin_col(row, E_STATE))
            ? NULL
            : integrations_act_state_name((integrations_act_state_e)
                                          admin_int(row, E_STATE, -1));
        if (s) {
            integrations_json_gen_cstr(&w, s);
        } else {
            yajl_gen_null(w.g);
        }

        admin_gen_str(&w, "detail", row, E_DETAIL);
        yajl_gen_map_close(w.g);
    }

    yajl_gen_array_close(w.g);
    yajl_gen_map_close(w.g);

    yajl_tree_free(bv);
    yajl_tree_free(uv);
    yajl_tree_free(ev);

    return integrations_json_gen_done(&w, out_len);
}


/* an array of arrays of at least ncols: the store's rows */

static yajl_val
admin_rows(const char *json, size_t len, size_t ncols)
{
    size_t    i;
    yajl_val  v, row;

    v = integrations_json_parse(json, len, 3, 0, NULL);
    if (v == NULL) {
        return NULL;
    }

    if (!YAJL_IS_ARRAY(v)) {
        yajl_tree_free(v);
        return NULL;
    }

    for (i = 0; i < v->u.array.len; i++) {
        row = v->u.array.values[i];

        if (!YAJL_IS_ARRAY(row) || row->u.array.len < ncols) {
            yajl_tree_free(v);
            return NULL;
        }
    }

    return v;
}


static yajl_val
admin_col(yajl_val row, size_t i)
{
    return row->u.array.values[i];
}


static int
admin_str(yajl_val row, size_t i, const char **s, size_t *n)
{
    return integrations_json_text(admin_col(row, i), s, n);
}


static int64_t
admin_int(yajl_val row, size_t i, int64_t dflt)
{
    int64_t  n;

    return integrations_json_int64(admin_col(row, i), &n) == 0 ? n : dflt;
}


static void
admin_gen_str(integrations_json_gen_t *w, const char *key, yajl_val row,
    size_t i)
{
    size_t       n;
    const char  *s;

    integrations_json_gen_cstr(w, key);

    if (admin_str(row, i, &s, &n) == 0) {
        integrations_json_gen_str(w, s, n);
    } else {
        yajl_gen_null(w->g);
    }
}


static void
admin_gen_time(integrations_json_gen_t *w, const char *key, yajl_val row,
    size_t i)
{
    char     iso[32];
    int64_t  ms;

    integrations_json_gen_cstr(w, key);

    if (integrations_json_int64(admin_col(row, i), &ms) == 0 && ms > 0) {
        integrations_act_admin_iso(ms, iso);
        integrations_json_gen_cstr(w, iso);
    } else {
        yajl_gen_null(w->g);
    }
}


static void
admin_gen_int(integrations_json_gen_t *w, const char *key, yajl_val row,
    size_t i)
{
    int64_t  n;

    integrations_json_gen_cstr(w, key);

    if (integrations_json_int64(admin_col(row, i), &n) == 0) {
        integrations_json_gen_int(w, (long long) n);
    } else {
        yajl_gen_null(w->g);
    }
}


static void
admin_gen_name(integrations_json_gen_t *w, const char *key, const char *name)
{
    integrations_json_gen_cstr(w, key);

    if (name) {
        integrations_json_gen_cstr(w, name);
    } else {
        yajl_gen_null(w->g);
    }
}


static void
admin_gen_contact(integrations_json_gen_t *w, yajl_val row, size_t kind,
    size_t value)
{
    char     masked[INTEGRATIONS_ACT_ADMIN_MASK_LEN];
    size_t   n;
    int64_t  k;

    integrations_json_gen_cstr(w, "contact");

    n = admin_masked(row, kind, value, masked, sizeof(masked));
    k = admin_int(row, kind, 0);

    if (n == 0) {
        yajl_gen_null(w->g);
        return;
    }

    yajl_gen_map_open(w->g);
    integrations_json_gen_cstr(w, "kind");
    integrations_json_gen_cstr(w, k == INTEGRATIONS_ACT_CONTACT_EMAIL
                                  ? "email" : "phone");
    integrations_json_gen_cstr(w, "masked");
    integrations_json_gen_str(w, masked, n);
    yajl_gen_map_close(w->g);
}


/* the masked contact of a row, or "" (no kind, or no value) */

static size_t
admin_masked(yajl_val row, size_t kind, size_t value, char *out, size_t size)
{
    size_t                      n;
    int64_t                     k;
    const char                 *s;
    integrations_act_contact_t  c;

    out[0] = '\0';
    k = admin_int(row, kind, 0);

    if ((k != INTEGRATIONS_ACT_CONTACT_PHONE
         && k != INTEGRATIONS_ACT_CONTACT_EMAIL)
        || admin_str(row, value, &s, &n) != 0 || n == 0
        || n >= sizeof(c.value))
    {
        return 0;
    }

    memset(&c, 0, sizeof(c));
    c.kind = (integrations_act_contact_kind_e) k;
    memcpy(c.value, s, n);
    c.len = n;

    n = integrations_act_mask_contact(&c, out, size);

    memset(&c, 0, sizeof(c));

    return n;
}
