/*
 * The activation admin API's requests.  See integrations_activation_admin.h.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "integrations_activation_admin.h"
#include "integrations_coupang_orders.h"
#include "integrations_json.h"
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
integrations_act_admin_query(const char *q, size_t len,
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
    out->limit = INTEGRATIONS_ACT_ADMIN_LIMIT_DEFAULT;

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
            if (!admin_digits(v, vlen, 3)) {
                snprintf(err, err_len, "must be an integer from 1 to %d",
                         INTEGRATIONS_ACT_ADMIN_LIMIT_MAX);
                return -1;
            }

            n = 0;
            for (j = 0; j < vlen; j++) {
                n = n * 10 + (v[j] - '0');
            }

            if (n < 1 || n > INTEGRATIONS_ACT_ADMIN_LIMIT_MAX) {
                snprintf(err, err_len, "must be an integer from 1 to %d",
                         INTEGRATIONS_ACT_ADMIN_LIMIT_MAX);
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
    int64_t  t;

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

    *ms = t * 1000;

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
    size_t                    i, n;
    const char               *s;
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

        if (resend && strcmp(k, "contact") == 0) {
            continue;
        }

        yajl_tree_free(v);
        *field = "";
        snprintf(err, err_len, "unknown member (%s)",
                 resend ? "\"contact\" and \"reason\" are known"
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

    m = integrations_json_get(v, "contact");

    if (m != NULL) {
        *field = "contact";

        if (integrations_json_text(m, &s, &n) != 0 || n == 0
            || n >= sizeof(out->contact.value))
        {
            yajl_tree_free(v);
            snprintf(err, err_len, "must be a mobile number or an email "
                     "address");
            return -1;
        }

        if (memchr(s, '@', n) != NULL) {
            if (!integrations_act_email_valid(s, n)) {
                yajl_tree_free(v);
                snprintf(err, err_len, "is not a plain email address");
                return -1;
            }

            memcpy(out->contact.value, s, n);
            out->contact.value[n] = '\0';
            out->contact.len = n;
            out->contact.kind = INTEGRATIONS_ACT_CONTACT_EMAIL;

        } else {
            if (integrations_act_phone(s, n, 1, out->contact.value,
                                       &out->contact.len)
                != 0)
            {
                yajl_tree_free(v);
                snprintf(err, err_len, "is not a Korean mobile number "
                         "(010-1234-5678) or an email address");
                return -1;
            }

            out->contact.kind = INTEGRATIONS_ACT_CONTACT_PHONE;
        }

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
