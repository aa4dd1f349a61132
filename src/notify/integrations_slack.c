/*
 * Slack: see integrations_slack.h.
 */

#include <stdio.h>
#include <string.h>

#include "integrations_notify.h"
#include "integrations_json.h"
#include "integrations_slack.h"


static int integrations_slack_text_ok(const char *text, size_t tlen,
    const char **why);
static int integrations_slack_in(const char *word, const char **list);


static const char  *integrations_slack_retry[] = {
    "ratelimited", "rate_limited", "internal_error", "service_unavailable",
    "request_timeout", NULL
};

static const char  *integrations_slack_config[] = {
    "invalid_auth", "not_authed", "token_revoked", "token_expired",
    "account_inactive", "missing_scope", "not_allowed_token_type",
    "no_permission", "ekm_access_denied", "not_in_channel",
    "team_access_not_granted", "invalid_token", NULL
};


static int
integrations_slack_text_ok(const char *text, size_t tlen, const char **why)
{
    size_t  n;

    if (tlen == 0) {
        *why = "the text is empty";
        return 0;
    }

    n = integrations_notify_utf8_count(text, tlen, 1);

    if (n == (size_t) -1) {
        *why = "the text is not UTF-8";
        return 0;
    }

    if (n > INTEGRATIONS_SLACK_TEXT_MAX) {
        *why = "the text is over 40000 characters";
        return 0;
    }

    return 1;
}


char *
integrations_slack_post_body(const char *channel, size_t clen,
    const char *text, size_t tlen, size_t *len, const char **why)
{
    integrations_notify_gen_t  j;

    if (clen == 0) {
        *why = "no channel";
        return NULL;
    }

    if (!integrations_slack_text_ok(text, tlen, why)) {
        return NULL;
    }

    integrations_notify_gen_init(&j);
    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_key(&j, "channel", channel, clen);
    integrations_notify_gen_key(&j, "text", text, tlen);
    integrations_notify_gen_map(&j, 0);

    *why = "a field is not UTF-8";

    return integrations_notify_gen_done(&j, len);
}


char *
integrations_slack_webhook_body(const char *text, size_t tlen, size_t *len,
    const char **why)
{
    integrations_notify_gen_t  j;

    if (!integrations_slack_text_ok(text, tlen, why)) {
        return NULL;
    }

    integrations_notify_gen_init(&j);
    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_key(&j, "text", text, tlen);
    integrations_notify_gen_map(&j, 0);

    *why = "out of memory";

    return integrations_notify_gen_done(&j, len);
}


static int
integrations_slack_in(const char *word, const char **list)
{
    size_t  i;

    for (i = 0; list[i]; i++) {
        if (strcmp(word, list[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


int
integrations_slack_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res)
{
    size_t                       cl, tl;
    yajl_val                     root, ok;
    const char                  *c, *t;

    if (integrations_notify_classify_transport(r, res)) {
        return res->outcome;
    }

    if (r->status != 200) {
        integrations_notify_classify_status(r, res);
        return res->outcome;
    }

    root = integrations_notify_answer_json(r);
    ok = integrations_json_get(root, "ok");

    if (ok == NULL || !(YAJL_IS_TRUE(ok) || YAJL_IS_FALSE(ok))) {
        res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
        strcpy(res->code, "bad_response");
        yajl_tree_free(root);
        return res->outcome;
    }

    if (YAJL_IS_TRUE(ok)) {
        res->outcome = INTEGRATIONS_NOTIFY_SENT;

        if (integrations_notify_json_field(root, "channel", 0, &c, &cl) == 0
            && integrations_notify_json_field(root, "ts", 0, &t, &tl) == 0
            && cl + tl + 1 < sizeof(res->message_id))
        {
            /* both are free of control bytes (LINE): safe to keep */
            snprintf(res->message_id, sizeof(res->message_id), "%.*s/%.*s",
                     (int) cl, c, (int) tl, t);
        }

        yajl_tree_free(root);
        return res->outcome;
    }

    if (integrations_notify_json_field(root, "error", 0, &c, &cl) != 0
        || integrations_notify_copy_id(res->code, sizeof(res->code), c, cl)
           != 0)
    {
        strcpy(res->code, "unknown_error");
    }

    if (integrations_slack_in(res->code, integrations_slack_retry)) {
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->retry_after = r->retry_after;

    } else if (strcmp(res->code, "fatal_error") == 0) {
        /* "the server could not complete your operation(s) without
         * encountering a catastrophic error": it may have posted */
        res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;

    } else if (integrations_slack_in(res->code, integrations_slack_config)) {
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->flags |= INTEGRATIONS_NOTIFY_F_CONFIG;

    } else {
        res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;
    }

    yajl_tree_free(root);

    return res->outcome;
}


int
integrations_slack_webhook_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res)
{
    size_t  n;

    if (integrations_notify_classify_transport(r, res)) {
        return res->outcome;
    }

    n = r->body_len;

    while (n > 0 && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'
                     || r->body[n - 1] == ' '))
    {
        n--;
    }

    if (n > 0 && n <= 64) {
        integrations_notify_copy_id(res->code, sizeof(res->code), r->body, n);
    }

    if (r->status == 200) {
        if (n == 2 && memcmp(r->body, "ok", 2) == 0) {
            res->outcome = INTEGRATIONS_NOTIFY_SENT;
            res->code[0] = '\0';

        } else {
            res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
        }

        return res->outcome;
    }

    integrations_notify_classify_status(r, res);

    if (r->status >= 400 && r->status < 500 && r->status != 408
        && r->status != 429)
    {
        if (strcmp(res->code, "invalid_payload") == 0
            || strcmp(res->code, "no_text") == 0)
        {
            res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;
            res->flags &= ~INTEGRATIONS_NOTIFY_F_CONFIG;

        } else {
            res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
            res->flags |= INTEGRATIONS_NOTIFY_F_CONFIG;
        }
    }

    return res->outcome;
}
