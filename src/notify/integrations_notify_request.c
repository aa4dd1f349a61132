/*
 * POST /notifications(/bulk) bodies: see integrations_notify_request.h.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_fcm.h"
#include "integrations_json.h"
#include "integrations_notify.h"
#include "integrations_notify_request.h"
#include "integrations_recipient.h"
#include "integrations_slack.h"
#include "integrations_sms_kr.h"
#include "integrations_time.h"
#include "integrations_twilio.h"


#define INTEGRATIONS_NOTIFY_MAX_DEPTH   32
#define INTEGRATIONS_NOTIFY_RENDER_MAX  (1024 * 1024)

/* which inline fields a channel takes */
#define F_SUBJECT  0x01
#define F_TEXT     0x02
#define F_HTML     0x04


typedef struct {
    const integrations_notify_env_t  *env;
    time_t                            now;
    const char                       *prefix;      /* "", "items[3]." */
    integrations_notify_problem_t    *pb;
    integrations_notify_item_t       *item;
    yajl_val                          data;
} integrations_notify_ctx_t;


static int integrations_notify_item(integrations_notify_ctx_t *c,
    yajl_val v);
static int integrations_notify_fail(integrations_notify_ctx_t *c,
    unsigned status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int integrations_notify_string(integrations_notify_ctx_t *c,
    yajl_val obj, const char *key, int text, int required, const char **s,
    size_t *n);
static const integrations_notify_route_t *integrations_notify_route(
    const integrations_notify_env_t *env, const char *channel, size_t clen,
    const char *provider, size_t plen, int *unknown_provider);
static int integrations_notify_content(integrations_notify_ctx_t *c,
    yajl_val v);
static int integrations_notify_render(integrations_notify_ctx_t *c,
    const integrations_tpl_t *t, int escape, unsigned flags,
    const char *part, char **out, size_t *n);
static int integrations_notify_subject(integrations_notify_ctx_t *c);
static int integrations_notify_check(integrations_notify_ctx_t *c);
static int integrations_notify_korean(integrations_notify_ctx_t *c,
    const char *field, const char *what);
static int integrations_notify_alimtalk(integrations_notify_ctx_t *c);
static int integrations_notify_schedule(integrations_notify_ctx_t *c,
    yajl_val v);
static int integrations_notify_push_data(integrations_notify_ctx_t *c,
    yajl_val v);
static char *integrations_notify_dup(const char *s, size_t n);


static const char  *integrations_notify_fields[] = {
    "channel", "to", "provider", "template", "subject", "text", "html",
    "data", "push_data", "idempotency_key", "fallback", "send_at", NULL
};

static const char  *integrations_notify_types[] = {
    "email", "sms", "alimtalk", "push", "slack"
};

/* an empty object: the data of a template rendered without "data" */
static struct yajl_val_s  integrations_notify_empty = { yajl_t_object,
                                                        { NULL } };


const char *
integrations_notify_channel_type_name(int type)
{
    if (type < 0 || type > INTEGRATIONS_NOTIFY_SLACK) {
        return "unknown";
    }

    return integrations_notify_types[type];
}


int
integrations_notify_parse(const char *body, size_t len, int bulk,
    const integrations_notify_env_t *env, time_t now,
    integrations_notify_request_t *req, integrations_notify_problem_t *pb)
{
    char                       prefix[32];
    size_t                     i, n, max;
    yajl_val                   root, items;
    integrations_json_err_t    err;
    integrations_notify_ctx_t  c;

    memset(req, 0, sizeof(integrations_notify_request_t));
    memset(pb, 0, sizeof(integrations_notify_problem_t));

    c.env = env;
    c.now = now;
    c.prefix = "";
    c.pb = pb;
    c.item = NULL;
    c.data = NULL;

    root = integrations_json_parse(body, len, INTEGRATIONS_NOTIFY_MAX_DEPTH,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, &err);
    if (root == NULL) {
        integrations_notify_fail(&c, 400, err.path[0] ? err.path : "body",
                                 "%s %s", err.path[0] ? err.path : "the body",
                                 integrations_json_strerror(err.error));
        return -1;
    }

    req->tree = root;

    if (!YAJL_IS_OBJECT(root)) {
        integrations_notify_fail(&c, 400, "body", "the body is not a JSON "
                                 "object");
        goto failed;
    }

    if (!bulk) {
        req->items = calloc(1, sizeof(integrations_notify_item_t));
        if (req->items == NULL) {
            goto nomem;
        }

        req->nitems = 1;
        c.item = &req->items[0];

        if (integrations_notify_item(&c, root) != 0) {
            goto failed;
        }

        return 0;
    }

    for (i = 0; i < root->u.object.len; i++) {
        if (strcmp(root->u.object.keys[i], "items") != 0) {
            integrations_notify_fail(&c, 400, root->u.object.keys[i],
                                     "a bulk body has only \"items\"");
            goto failed;
        }
    }

    items = integrations_json_get(root, "items");

    if (items == NULL) {
        integrations_notify_fail(&c, 422, "items", "items is required");
        goto failed;
    }

    if (!YAJL_IS_ARRAY(items)) {
        integrations_notify_fail(&c, 400, "items", "items is not an array");
        goto failed;
    }

    max = env->max_items ? env->max_items : INTEGRATIONS_NOTIFY_MAX_ITEMS;
    n = items->u.array.len;

    if (n == 0 || n > max) {
        integrations_notify_fail(&c, 422, "items", "items holds %zu "
                                 "notifications; 1 to %zu are taken", n, max);
        goto failed;
    }

    req->items = calloc(n, sizeof(integrations_notify_item_t));
    if (req->items == NULL) {
        goto nomem;
    }

    req->nitems = n;

    for (i = 0; i < n; i++) {
        snprintf(prefix, sizeof(prefix), "items[%zu].", i);
        c.prefix = prefix;
        c.item = &req->items[i];

        if (integrations_notify_item(&c, items->u.array.values[i]) != 0) {
            goto failed;
        }
    }

    return 0;

nomem:

    integrations_notify_fail(&c, 422, "body", "the body is too large to "
                             "take (out of memory)");

failed:

    integrations_notify_request_free(req);

    return -1;
}


void
integrations_notify_request_free(integrations_notify_request_t *req)
{
    size_t                       i;
    integrations_notify_item_t  *it;

    for (i = 0; req->items && i < req->nitems; i++) {
        it = &req->items[i];

        free(it->to);
        free(it->subject);
        free(it->text);
        free(it->html);
        free(it->variables);
    }

    free(req->items);
    yajl_tree_free(req->tree);

    memset(req, 0, sizeof(integrations_notify_request_t));
}


static int
integrations_notify_fail(integrations_notify_ctx_t *c, unsigned status,
    const char *field, const char *fmt, ...)
{
    size_t   i;
    va_list  ap;

    c->pb->status = status;

    snprintf(c->pb->field, sizeof(c->pb->field), "%s%s", c->prefix, field);

    /* the item itself: "items[3]", not "items[3]." */

    i = strlen(c->pb->field);

    if (field[0] == '\0' && i > 0 && c->pb->field[i - 1] == '.') {
        c->pb->field[i - 1] = '\0';
    }

    va_start(ap, fmt);
    vsnprintf(c->pb->detail, sizeof(c->pb->detail), fmt, ap);
    va_end(ap);

    /* a field name can come from the client: keep both printable */

    for (i = 0; c->pb->field[i]; i++) {
        if ((unsigned char) c->pb->field[i] < 0x20
            || c->pb->field[i] == 0x7f)
        {
            c->pb->field[i] = '?';
        }
    }

    for (i = 0; c->pb->detail[i]; i++) {
        if ((unsigned char) c->pb->detail[i] < 0x20
            || c->pb->detail[i] == 0x7f)
        {
            c->pb->detail[i] = '?';
        }
    }

    return -1;
}


/*
 * A string field: 0 with the string (or NULL when absent and not
 * required), -1 with the problem (a wrong type or a control character is
 * 400, a missing required field 422).
 */

static int
integrations_notify_string(integrations_notify_ctx_t *c, yajl_val obj,
    const char *key, int text, int required, const char **s, size_t *n)
{
    yajl_val  v;

    *s = NULL;
    *n = 0;

    v = integrations_json_get(obj, key);

    if (v == NULL) {
        if (required) {
            return integrations_notify_fail(c, 422, key, "%s is required",
                                            key);
        }

        return 0;
    }

    if (!YAJL_IS_STRING(v)) {
        return integrations_notify_fail(c, 400, key, "%s is not a string",
                                        key);
    }

    if (integrations_notify_json_str(v, text, s, n) != 0) {
        return integrations_notify_fail(c, 400, key, "%s holds a control "
                                        "character", key);
    }

    if (*n == 0) {
        return integrations_notify_fail(c, 422, key, "%s is empty", key);
    }

    return 0;
}


static const integrations_notify_route_t *
integrations_notify_route(const integrations_notify_env_t *env,
    const char *channel, size_t clen, const char *provider, size_t plen,
    int *unknown_provider)
{
    size_t                              i;
    const integrations_notify_route_t  *r;

    *unknown_provider = 0;

    for (i = 0; i < env->nroutes; i++) {
        r = &env->routes[i];

        if (strlen(r->channel) != clen || memcmp(r->channel, channel, clen)) {
            continue;
        }

        if (provider == NULL) {
            return r;
        }

        *unknown_provider = 1;

        if (strlen(r->provider) == plen
            && memcmp(r->provider, provider, plen) == 0)
        {
            *unknown_provider = 0;
            return r;
        }
    }

    return NULL;
}


static int
integrations_notify_item(integrations_notify_ctx_t *c, yajl_val v)
{
    int                                  unknown;
    char                                 norm[INTEGRATIONS_RCPT_MAX + 1];
    size_t                               i, k, cl, pl, tl, il;
    yajl_val                             f;
    const char                          *ch, *pr, *to, *why, *idem;
    integrations_notify_item_t          *it;
    const integrations_notify_route_t   *r;

    it = c->item;
    it->send_at = -1;

    if (!YAJL_IS_OBJECT(v)) {
        return integrations_notify_fail(c, 400, "", "%s is not an object",
                                        c->prefix[0] ? "the item"
                                                     : "the body");
    }

    for (i = 0; i < v->u.object.len; i++) {
        for (k = 0; integrations_notify_fields[k]; k++) {
            if (strcmp(v->u.object.keys[i], integrations_notify_fields[k])
                == 0)
            {
                break;
            }
        }

        if (integrations_notify_fields[k] == NULL) {
            return integrations_notify_fail(c, 400, v->u.object.keys[i],
                                            "not a field of a notification");
        }
    }

    /* the route: channel and, optionally, provider */

    if (integrations_notify_string(c, v, "channel", 0, 1, &ch, &cl) != 0
        || integrations_notify_string(c, v, "provider", 0, 0, &pr, &pl) != 0)
    {
        return -1;
    }

    r = integrations_notify_route(c->env, ch, cl, pr, pl, &unknown);

    if (r == NULL) {
        if (unknown) {
            return integrations_notify_fail(c, 422, "provider", "not a "
                                            "provider of this channel");
        }

        return integrations_notify_fail(c, 422, "channel", "no such channel");
    }

    it->route = r;

    /* the recipient */

    if (r->recipient == INTEGRATIONS_RCPT_NONE) {
        if (integrations_json_get(v, "to") != NULL) {
            return integrations_notify_fail(c, 422, "to", "this channel "
                                            "sends to its configured "
                                            "webhook: no \"to\"");
        }

    } else {
        if (integrations_notify_string(c, v, "to", 0, 1, &to, &tl) != 0) {
            return -1;
        }

        if (integrations_rcpt_normalize(r->recipient, r->default_cc, to, tl,
                                        norm, sizeof(norm), &it->to_len,
                                        &why)
            != 0)
        {
            return integrations_notify_fail(c, 422, "to", "to %s; this "
                                            "channel takes %s", why,
                                            integrations_rcpt_kind_text(
                                                r->recipient));
        }

        it->to = integrations_notify_dup(norm, it->to_len);
        if (it->to == NULL) {
            return integrations_notify_fail(c, 422, "to", "out of memory");
        }
    }

    /* the optional fields */

    if (integrations_notify_string(c, v, "idempotency_key", 0, 0, &idem, &il)
        != 0)
    {
        return -1;
    }

    if (idem) {
        for (i = 0; i < il; i++) {
            if (idem[i] <= 0x20 || idem[i] >= 0x7f) {
                break;
            }
        }

        if (i < il || il > INTEGRATIONS_NOTIFY_IDEM_MAX) {
            return integrations_notify_fail(c, 422, "idempotency_key",
                                            "idempotency_key is 1 to 255 "
                                            "visible ASCII characters");
        }

        it->idempotency_key = idem;
        it->idempotency_key_len = il;
    }

    f = integrations_json_get(v, "fallback");

    if (f != NULL) {
        if (!YAJL_IS_TRUE(f) && !YAJL_IS_FALSE(f)) {
            return integrations_notify_fail(c, 400, "fallback", "fallback is "
                                            "not a boolean");
        }

        it->fallback = YAJL_IS_TRUE(f);

        if (it->fallback && r->type != INTEGRATIONS_NOTIFY_ALIMTALK) {
            return integrations_notify_fail(c, 422, "fallback", "fallback is "
                                            "for AlimTalk only");
        }
    }

    if (integrations_notify_schedule(c, integrations_json_get(v, "send_at"))
        != 0)
    {
        return -1;
    }

    if (integrations_notify_push_data(c, integrations_json_get(v,
                                                               "push_data"))
        != 0)
    {
        return -1;
    }

    /* what to send */

    return integrations_notify_content(c, v);
}


static int
integrations_notify_schedule(integrations_notify_ctx_t *c, yajl_val v)
{
    size_t       n;
    int64_t      t, max;
    long long    x;
    const char  *s;

    if (v == NULL) {
        return 0;
    }

    if (YAJL_IS_NUMBER(v)) {
        if (integrations_notify_json_int(v, 0, 253402300799LL, &x) != 0) {
            return integrations_notify_fail(c, 422, "send_at", "send_at is "
                                            "not a time in Unix seconds");
        }

        t = x;

    } else if (YAJL_IS_STRING(v)) {
        if (integrations_notify_json_str(v, 0, &s, &n) != 0
            || integrations_notify_parse_time(s, n, &t) != 0)
        {
            return integrations_notify_fail(c, 422, "send_at", "send_at is "
                                            "not an RFC 3339 time "
                                            "(2025-07-01T09:00:00+09:00)");
        }

    } else {
        return integrations_notify_fail(c, 400, "send_at", "send_at is not "
                                        "a string or a number");
    }

    max = c->env->max_schedule ? c->env->max_schedule
                               : INTEGRATIONS_NOTIFY_SCHEDULE_MAX;

    if (t > (int64_t) c->now + max) {
        return integrations_notify_fail(c, 422, "send_at", "send_at is more "
                                        "than %lld days ahead",
                                        (long long) (max / 86400));
    }

    c->item->send_at = t;

    return 0;
}


/*
 * push_data: FCM's message.data, string to string, sent as it is (never
 * templated: "data" is the template's).  The pairs point into the tree;
 * the outbox keeps them as the AlimTalk variables are kept.
 */

static int
integrations_notify_push_data(integrations_notify_ctx_t *c, yajl_val v)
{
    char                         field[INTEGRATIONS_NOTIFY_PUSH_KEY_MAX + 16];
    size_t                       i, k, n, kl, vl;
    const char                  *key, *value;
    integrations_notify_item_t  *it;

    if (v == NULL) {
        return 0;
    }

    it = c->item;

    if (it->route->type != INTEGRATIONS_NOTIFY_PUSH) {
        return integrations_notify_fail(c, 422, "push_data", "push_data is "
                                        "for push only");
    }

    if (!YAJL_IS_OBJECT(v)) {
        return integrations_notify_fail(c, 400, "push_data", "push_data is "
                                        "not an object");
    }

    n = v->u.object.len;

    if (n == 0) {
        return 0;
    }

    it->variables = calloc(n, sizeof(integrations_notify_kv_t));
    if (it->variables == NULL) {
        return integrations_notify_fail(c, 422, "push_data", "out of memory");
    }

    for (i = 0; i < n; i++) {
        key = v->u.object.keys[i];
        kl = strlen(key);

        if (kl == 0 || kl > INTEGRATIONS_NOTIFY_PUSH_KEY_MAX
            || integrations_notify_utf8_check((const unsigned char *) key, kl)
               != kl)
        {
            return integrations_notify_fail(c, 422, "push_data", "a key of "
                                            "push_data is 1 to %d bytes of "
                                            "UTF-8",
                                            INTEGRATIONS_NOTIFY_PUSH_KEY_MAX);
        }

        for (k = 0; k < kl; k++) {
            if ((unsigned char) key[k] < 0x20 || key[k] == 0x7f) {
                return integrations_notify_fail(c, 400, "push_data", "a key "
                                                "of push_data holds a "
                                                "control character");
            }
        }

        snprintf(field, sizeof(field), "push_data.%s", key);

        /*
         * FCM's reserved keys: "from" and the "google." prefix (Firebase's
         * DataMessagePayload); FCM refuses the whole message, permanently,
         * after it was accepted here
         */

        if (strcmp(key, "from") == 0 || strncmp(key, "google.", 7) == 0) {
            return integrations_notify_fail(c, 422, field, "%s is a key FCM "
                                            "reserves (\"from\", "
                                            "\"google.*\")", field);
        }

        if (!YAJL_IS_STRING(v->u.object.values[i])) {
            /* FCM takes strings only: say which, before it is queued */
            return integrations_notify_fail(c, 422, field, "%s is not a "
                                            "string (FCM data values are "
                                            "strings)", field);
        }

        if (integrations_notify_json_str(v->u.object.values[i], 1, &value,
                                         &vl)
            != 0)
        {
            return integrations_notify_fail(c, 400, field, "%s holds a "
                                            "control character", field);
        }

        it->variables[i].key = key;
        it->variables[i].key_len = kl;
        it->variables[i].value = value;
        it->variables[i].value_len = vl;
        it->nvariables++;
    }

    return 0;
}


static int
integrations_notify_content(integrations_notify_ctx_t *c, yajl_val v)
{
    int                                    type;
    size_t                                 n, sl, tl, hl;
    unsigned                               allowed;
    yajl_val                               data;
    const char                            *name, *s, *t, *h, *tname;
    integrations_notify_item_t            *it;
    const integrations_notify_template_t  *tpl;

    it = c->item;
    type = it->route->type;
    tname = integrations_notify_types[type];

    if (integrations_notify_string(c, v, "template", 0, 0, &name, &n) != 0
        || integrations_notify_string(c, v, "subject", 0, 0, &s, &sl) != 0
        || integrations_notify_string(c, v, "text", 1, 0, &t, &tl) != 0
        || integrations_notify_string(c, v, "html", 1, 0, &h, &hl) != 0)
    {
        return -1;
    }

    data = integrations_json_get(v, "data");

    if (data != NULL && !YAJL_IS_OBJECT(data)) {
        return integrations_notify_fail(c, 400, "data", "data is not an "
                                        "object");
    }

    if (name == NULL) {
        /* inline content: literal, never a template */

        allowed = (type == INTEGRATIONS_NOTIFY_EMAIL)
                  ? (F_SUBJECT | F_TEXT | F_HTML)
                  : (type == INTEGRATIONS_NOTIFY_SMS
                     || type == INTEGRATIONS_NOTIFY_PUSH)
                  ? (F_SUBJECT | F_TEXT)
                  : (type == INTEGRATIONS_NOTIFY_SLACK) ? F_TEXT : 0;

        if (allowed == 0) {
            return integrations_notify_fail(c, 422, "template", "an AlimTalk "
                                            "is sent from its approved "
                                            "template: give \"template\"");
        }

        if ((s && !(allowed & F_SUBJECT)) || (h && !(allowed & F_HTML))) {
            return integrations_notify_fail(c, 422, s && !(allowed & F_SUBJECT)
                                                    ? "subject" : "html",
                                            "not used by %s", tname);
        }

        if (data != NULL) {
            return integrations_notify_fail(c, 422, "data", "data is for a "
                                            "template; inline text is sent "
                                            "as it is");
        }

        if (t == NULL && h == NULL) {
            return integrations_notify_fail(c, 422, "text", "give "
                                            "\"template\", or the text to "
                                            "send");
        }

        if (s && (it->subject = integrations_notify_dup(s, sl)) == NULL) {
            return integrations_notify_fail(c, 422, "subject",
                                            "out of memory");
        }

        it->subject_len = sl;

        if (t && (it->text = integrations_notify_dup(t, tl)) == NULL) {
            return integrations_notify_fail(c, 422, "text", "out of memory");
        }

        it->text_len = tl;

        if (h && (it->html = integrations_notify_dup(h, hl)) == NULL) {
            return integrations_notify_fail(c, 422, "html", "out of memory");
        }

        it->html_len = hl;

        return integrations_notify_check(c);
    }

    if (s || t || h) {
        return integrations_notify_fail(c, 422, s ? "subject" : t ? "text"
                                                                  : "html",
                                        "give a template or the content, "
                                        "not both");
    }

    tpl = c->env->lookup ? c->env->lookup(c->env->ctx, name, n) : NULL;

    if (tpl == NULL) {
        return integrations_notify_fail(c, 422, "template", "no such "
                                        "template");
    }

    it->template = tpl;
    it->template_name = name;
    it->template_name_len = n;
    c->data = data ? data : &integrations_notify_empty;

    if (type == INTEGRATIONS_NOTIFY_ALIMTALK) {
        return integrations_notify_alimtalk(c);
    }

    if (type != INTEGRATIONS_NOTIFY_SLACK
        && integrations_notify_subject(c) != 0)
    {
        return -1;
    }

    if (tpl->file.text
        && integrations_notify_render(c, tpl->file.text,
                                      type == INTEGRATIONS_NOTIFY_SLACK
                                      ? INTEGRATIONS_TPL_ESC_SLACK
                                      : INTEGRATIONS_TPL_ESC_NONE, 0,
                                      "text", &it->text, &it->text_len)
           != 0)
    {
        return -1;
    }

    if (tpl->file.html && type == INTEGRATIONS_NOTIFY_EMAIL
        && integrations_notify_render(c, tpl->file.html,
                                      INTEGRATIONS_TPL_ESC_HTML, 0, "html",
                                      &it->html, &it->html_len)
           != 0)
    {
        return -1;
    }

    return integrations_notify_check(c);
}


static int
integrations_notify_render(integrations_notify_ctx_t *c,
    const integrations_tpl_t *t, int escape, unsigned flags,
    const char *part, char **out, size_t *n)
{
    int                              rc;
    integrations_tpl_opts_t          opts;
    integrations_tpl_render_error_t  err;

    opts.escape = escape;
    opts.flags = INTEGRATIONS_TPL_STRICT | flags;
    opts.max_len = c->env->max_render ? c->env->max_render
                                      : INTEGRATIONS_NOTIFY_RENDER_MAX;

    rc = integrations_tpl_render(t, c->data, &opts, out, n, &err);

    if (rc == INTEGRATIONS_TPL_OK) {
        return 0;
    }

    if (err.name[0] == '\0' || rc == INTEGRATIONS_TPL_TOO_LONG
        || rc == INTEGRATIONS_TPL_NOMEM)
    {
        return integrations_notify_fail(c, 422, "data", "the %s of template "
                                        "\"%.*s\" %s", part,
                                        (int) c->item->template_name_len,
                                        c->item->template_name,
                                        integrations_tpl_render_error_text(rc));
    }

    {
        char  field[INTEGRATIONS_TPL_NAME_MAX + 8];

        snprintf(field, sizeof(field), "data.%s", err.name);

        return integrations_notify_fail(c, 422, field, "data.%s %s (the %s "
                                        "of template \"%.*s\", line %u)",
                                        err.name,
                                        integrations_tpl_render_error_text(
                                            rc), part,
                                        (int) c->item->template_name_len,
                                        c->item->template_name, err.line);
    }
}


/* the template's Subject: header, if it has one: one line, not escaped */

static int
integrations_notify_subject(integrations_notify_ctx_t *c)
{
    integrations_notify_item_t  *it;

    it = c->item;

    if (it->template->file.subject == NULL) {
        return 0;
    }

    return integrations_notify_render(c, it->template->file.subject,
                                      INTEGRATIONS_TPL_ESC_NONE,
                                      INTEGRATIONS_TPL_SINGLE_LINE,
                                      "Subject", &it->subject,
                                      &it->subject_len);
}


/* what each channel needs, on the rendered or inline content */

static int
integrations_notify_check(integrations_notify_ctx_t *c)
{
    size_t                       i, n;
    integrations_notify_item_t  *it;

    it = c->item;

    switch (it->route->type) {

    case INTEGRATIONS_NOTIFY_EMAIL:
        if (it->subject == NULL || it->subject_len == 0) {
            return integrations_notify_fail(c, 422, it->template ? "template"
                                                                 : "subject",
                                            "an email needs a subject");
        }

        if (it->text_len == 0 && it->html_len == 0) {
            return integrations_notify_fail(c, 422, it->template ? "template"
                                                                 : "text",
                                            "an email needs a text or an "
                                            "html part");
        }

        return 0;

    case INTEGRATIONS_NOTIFY_SMS:
    case INTEGRATIONS_NOTIFY_PUSH:
    case INTEGRATIONS_NOTIFY_SLACK:
        if (it->text == NULL || it->text_len == 0) {
            return integrations_notify_fail(c, 422, it->template ? "template"
                                                                 : "text",
                                            "%s needs a text",
                                            integrations_notify_types[
                                                it->route->type]);
        }

        break;
    }

    switch (it->route->type) {

    case INTEGRATIONS_NOTIFY_SMS:
        if (it->route->korean_sms) {
            return integrations_notify_korean(c, "text", "an SMS");
        }

        n = integrations_notify_utf8_count(it->text, it->text_len, 1);

        if (n > INTEGRATIONS_TWILIO_BODY_MAX) {
            return integrations_notify_fail(c, 422, "text", "the text is %zu "
                                            "characters; an SMS takes %d",
                                            n, INTEGRATIONS_TWILIO_BODY_MAX);
        }

        return 0;

    case INTEGRATIONS_NOTIFY_PUSH:
        /* as integrations_fcm_message_body() counts it */
        n = it->subject_len + it->text_len;

        for (i = 0; i < it->nvariables; i++) {
            n += it->variables[i].key_len + it->variables[i].value_len;
        }

        if (n > INTEGRATIONS_FCM_PAYLOAD_MAX) {
            return integrations_notify_fail(c, 422, it->nvariables
                                                    ? "push_data" : "text",
                                            "the title, text and push_data "
                                            "are over %d bytes",
                                            INTEGRATIONS_FCM_PAYLOAD_MAX);
        }

        return 0;

    case INTEGRATIONS_NOTIFY_SLACK:
        n = integrations_notify_utf8_count(it->text, it->text_len, 1);

        if (n > INTEGRATIONS_SLACK_TEXT_MAX) {
            return integrations_notify_fail(c, 422, "text", "the text is over "
                                            "%d characters",
                                            INTEGRATIONS_SLACK_TEXT_MAX);
        }

        return 0;
    }

    return 0;
}


/*
 * Korean SMS rules for the text (and the subject of an LMS): SMS or LMS,
 * a default LMS subject, a 422 naming the character EUC-KR cannot hold.
 */

static int
integrations_notify_korean(integrations_notify_ctx_t *c, const char *field,
    const char *what)
{
    int                          rc;
    char                         d[160];
    size_t                       n;
    integrations_sms_class_t     cls;
    integrations_notify_item_t  *it;

    it = c->item;

    rc = integrations_sms_classify(it->route->charset, it->text, it->text_len,
                                   it->subject, it->subject_len, &cls);

    if (rc != INTEGRATIONS_SMS_OK) {
        integrations_sms_describe(cls.in_subject ? &cls.subject : &cls.text,
                                  it->route->charset, cls.in_subject, d,
                                  sizeof(d));

        return integrations_notify_fail(c, 422, cls.in_subject ? "subject"
                                                               : field,
                                        "the %s of %s: %s",
                                        cls.in_subject ? "subject" : "text",
                                        what, d);
    }

    it->sms_type = cls.type;

    if (cls.type == INTEGRATIONS_SMS_TYPE_LMS && it->subject_len == 0) {
        n = integrations_sms_default_subject(it->route->charset, it->text,
                                             it->text_len);
        if (n > 0) {
            free(it->subject);
            it->subject = integrations_notify_dup(it->text, n);
            it->subject_len = it->subject ? n : 0;
        }
    }

    return 0;
}


static int
integrations_notify_alimtalk(integrations_notify_ctx_t *c)
{
    int                                    rc;
    size_t                                 i, n, vl;
    const char                            *name, *value;
    integrations_tpl_error_t               err;
    integrations_notify_item_t            *it;
    const integrations_notify_template_t  *tpl;

    it = c->item;
    tpl = it->template;

    if (tpl->alimtalk_id == NULL || tpl->file.text == NULL) {
        return integrations_notify_fail(c, 422, "template", "not an AlimTalk "
                                        "template (alimtalk_template_id=)");
    }

    if (!integrations_tpl_is_flat(tpl->file.text, &err)) {
        return integrations_notify_fail(c, 422, "template", "%s",
                                        err.message);
    }

    if (integrations_notify_subject(c) != 0) {
        return -1;
    }

    if (integrations_notify_render(c, tpl->file.text,
                                   INTEGRATIONS_TPL_ESC_NONE, 0, "text",
                                   &it->text, &it->text_len)
        != 0)
    {
        return -1;
    }

    if (integrations_sms_alimtalk_fits(it->text, it->text_len) != 0) {
        return integrations_notify_fail(c, 422, "data", "the AlimTalk with "
                                        "its values is over %d characters",
                                        INTEGRATIONS_ATA_MAX_CHARS);
    }

    /* kakaoOptions.variables: each name and its value, as rendered */

    n = integrations_tpl_nvars(tpl->file.text);

    if (n) {
        it->variables = calloc(n, sizeof(integrations_notify_kv_t));
        if (it->variables == NULL) {
            return integrations_notify_fail(c, 422, "data", "out of memory");
        }
    }

    for (i = 0; i < n; i++) {
        name = integrations_tpl_var(tpl->file.text, i, &vl);
        it->variables[i].key_len = vl;
        rc = integrations_tpl_lookup(c->data, name, vl, &value, &vl);

        if (rc != INTEGRATIONS_TPL_OK) {
            /* the render succeeded, so this cannot happen */
            return integrations_notify_fail(c, 422, "data", "a variable %s",
                                            integrations_tpl_render_error_text(
                                                rc));
        }

        it->variables[i].key = name;
        it->variables[i].value = value;
        it->variables[i].value_len = vl;
        it->nvariables++;
    }

    if (it->fallback) {
        return integrations_notify_korean(c, "fallback", "the fallback SMS");
    }

    return 0;
}


static char *
integrations_notify_dup(const char *s, size_t n)
{
    char  *p;

    p = malloc(n + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, n);
    p[n] = '\0';

    return p;
}


int
integrations_notify_parse_time(const char *s, size_t len, int64_t *t)
{
    int     i, off, v[6];
    size_t  p;

    static const int  at[6] = { 0, 5, 8, 11, 14, 17 };
    static const int  width[6] = { 4, 2, 2, 2, 2, 2 };

    /* YYYY-MM-DDTHH:MM:SS */

    if (len < 20 || s[4] != '-' || s[7] != '-'
        || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
    {
        return -1;
    }

    for (i = 0; i < 6; i++) {
        v[i] = 0;

        for (p = at[i]; p < (size_t) (at[i] + width[i]); p++) {
            if (s[p] < '0' || s[p] > '9') {
                return -1;
            }
            v[i] = v[i] * 10 + (s[p] - '0');
        }
    }

    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23
        || v[4] > 59 || v[5] > 60)
    {
        return -1;
    }

    p = 19;

    if (s[p] == '.') {
        for (p++; p < len && s[p] >= '0' && s[p] <= '9'; p++) {
            /* a fraction of a second: dropped */
        }

        if (p == 20) {
            return -1;
        }
    }

    if (p < len && (s[p] == 'Z' || s[p] == 'z') && p + 1 == len) {
        off = 0;

    } else if (p + 6 == len && (s[p] == '+' || s[p] == '-')
               && s[p + 1] >= '0' && s[p + 1] <= '9'
               && s[p + 2] >= '0' && s[p + 2] <= '9' && s[p + 3] == ':'
               && s[p + 4] >= '0' && s[p + 4] <= '5'
               && s[p + 5] >= '0' && s[p + 5] <= '9')
    {
        off = ((s[p + 1] - '0') * 10 + (s[p + 2] - '0')) * 3600
              + ((s[p + 4] - '0') * 10 + (s[p + 5] - '0')) * 60;

        if (off > 23 * 3600 + 59 * 60) {
            return -1;
        }

        off = (s[p] == '-') ? -off : off;

    } else {
        return -1;
    }

    if ((unsigned) v[2] > integrations_time_month_days(v[0], v[1])) {
        return -1;                    /* 31 February */
    }

    *t = integrations_time_days_from_civil(v[0], v[1], v[2]) * 86400
         + v[3] * 3600 + v[4] * 60 + (v[5] == 60 ? 59 : v[5]);

    *t -= off;

    return 0;
}
