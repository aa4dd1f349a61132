/*
 * Twilio Programmable Messaging: see integrations_twilio.h.
 */

#include <stdio.h>
#include <string.h>

#include "integrations_notify.h"
#include "integrations_json.h"
#include "integrations_twilio.h"


static void integrations_twilio_error(yajl_val root,
    integrations_notify_result_t *res);


int
integrations_twilio_sid_valid(const char *sid, size_t len,
    const char *prefix)
{
    size_t  i;

    if (len != 34 || sid[0] != prefix[0] || sid[1] != prefix[1]) {
        return 0;
    }

    for (i = 2; i < len; i++) {
        if (!((sid[i] >= '0' && sid[i] <= '9')
              || (sid[i] >= 'a' && sid[i] <= 'f')
              || (sid[i] >= 'A' && sid[i] <= 'F')))
        {
            return 0;
        }
    }

    return 1;
}


char *
integrations_twilio_body(const integrations_twilio_message_t *m,
    size_t *len, const char **why)
{
    size_t                     chars;
    integrations_notify_buf_t  b;

    if (m->to_len == 0 || m->body_len == 0
        || (m->from_len == 0 && m->messaging_service_sid_len == 0))
    {
        *why = "To, Body, and From or MessagingServiceSid are needed";
        return NULL;
    }

    /* Twilio counts UTF-16 units */

    chars = integrations_notify_utf8_count(m->body, m->body_len, 1);

    if (chars == (size_t) -1) {
        *why = "the body is not UTF-8";
        return NULL;
    }

    if (chars > INTEGRATIONS_TWILIO_BODY_MAX) {
        *why = "the body is over 1600 characters";
        return NULL;
    }

    memset(&b, 0, sizeof(integrations_notify_buf_t));

    integrations_notify_buf_field(&b, "To", m->to, m->to_len);

    if (m->messaging_service_sid_len) {
        integrations_notify_buf_field(&b, "MessagingServiceSid",
                                      m->messaging_service_sid,
                                      m->messaging_service_sid_len);

    } else {
        integrations_notify_buf_field(&b, "From", m->from, m->from_len);
    }

    integrations_notify_buf_field(&b, "Body", m->body, m->body_len);

    if (m->status_callback_len) {
        integrations_notify_buf_field(&b, "StatusCallback",
                                      m->status_callback,
                                      m->status_callback_len);
    }

    *why = "out of memory";

    return integrations_notify_buf_done(&b, len);
}


int
integrations_twilio_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res)
{
    size_t                       n;
    yajl_val                     root, v;
    const char                  *s;

    if (integrations_notify_classify_transport(r, res)) {
        return res->outcome;
    }

    root = integrations_notify_answer_json(r);

    if (r->status == 200 || r->status == 201) {
        if (integrations_notify_json_field(root, "sid", 0, &s, &n) != 0
            || n < 3
            || integrations_notify_copy_id(res->message_id,
                                           sizeof(res->message_id), s, n)
               != 0)
        {
            res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
            strcpy(res->code, "bad_response");
            yajl_tree_free(root);
            return res->outcome;
        }

        res->outcome = INTEGRATIONS_NOTIFY_SENT;

        if (integrations_notify_json_field(root, "status", 0, &s, &n) == 0
            && ((n == 6 && memcmp(s, "failed", 6) == 0)
                || (n == 11 && memcmp(s, "undelivered", 11) == 0)
                || (n == 8 && memcmp(s, "canceled", 8) == 0)))
        {
            res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;

            v = integrations_json_get(root, "error_code");
            s = integrations_notify_json_number(v);

            if (s != NULL) {
                integrations_notify_copy_id(res->code, sizeof(res->code), s,
                                            strlen(s));
            }

            if (integrations_notify_json_field(root, "error_message", 0, &s,
                                               &n) == 0)
            {
                integrations_notify_copy_text(res->text, sizeof(res->text),
                                              s, n);
            }
        }

        yajl_tree_free(root);
        return res->outcome;
    }

    integrations_notify_classify_status(r, res);

    if (root != NULL) {
        integrations_twilio_error(root, res);
        yajl_tree_free(root);
    }

    return res->outcome;
}


static void
integrations_twilio_error(yajl_val root, integrations_notify_result_t *res)
{
    long long    code;
    size_t       n;
    const char  *s;

    if (integrations_notify_json_field(root, "message", 0, &s, &n) == 0)
    {
        integrations_notify_copy_text(res->text, sizeof(res->text), s, n);
    }

    if (integrations_notify_json_int(integrations_json_get(root, "code"), 0,
                                     999999, &code) != 0)
    {
        return;
    }

    snprintf(res->code, sizeof(res->code), "%lld", code);

    switch (code) {

    case 20429:                       /* too many concurrent requests */
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->flags &= ~INTEGRATIONS_NOTIFY_F_CONFIG;
        return;

    case 20003:                       /* authentication */
    case 20404:                       /* no such account or service */
    case 21606:                       /* From is not a valid sender */
    case 21659:
    case 21660:                       /* From is not ours */
    case 21212:                       /* invalid From */
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->flags |= INTEGRATIONS_NOTIFY_F_CONFIG;
        return;
    }

    if (res->http_status >= 500 || res->http_status == 429) {
        return;
    }

    /* 21211 invalid To, 21610 unsubscribed, 21614 not a mobile, 30xxx... */

    if (code >= 21000 && code < 40000) {
        res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;
        res->flags &= ~INTEGRATIONS_NOTIFY_F_CONFIG;
    }
}
