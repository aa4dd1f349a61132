/*
 * Slack: chat.postMessage and incoming webhooks.
 *
 *   POST https://slack.com/api/chat.postMessage
 *   Authorization: Bearer xoxb-...
 *   Content-Type: application/json; charset=utf-8
 *   <integrations_slack_post_body()>
 *
 *   POST https://hooks.slack.com/services/T.../B.../...  (URL from a file)
 *   Content-Type: application/json
 *   <integrations_slack_webhook_body()>
 *
 * chat.postMessage answers HTTP 200 to application errors too, with
 * {"ok":false,"error":"channel_not_found"}: ok is what counts.  Webhooks
 * answer a plain "ok", or a plain error word with 400/403/404/410/500.
 * Both answer 429 with Retry-After.  Text is rendered with
 * INTEGRATIONS_TPL_ESC_SLACK (& < > escaped: mrkdwn would take "<...>"
 * for a link).
 */

#ifndef INTEGRATIONS_SLACK_H
#define INTEGRATIONS_SLACK_H

#include <stddef.h>

#include "integrations_notify.h"


#define INTEGRATIONS_SLACK_TEXT_MAX  40000   /* characters */


/* {"channel","text"}: malloc()ed, or NULL and *why */
char *integrations_slack_post_body(const char *channel, size_t clen,
    const char *text, size_t tlen, size_t *len, const char **why);

/* {"text"} */
char *integrations_slack_webhook_body(const char *text, size_t tlen,
    size_t *len, const char **why);

/*
 * chat.postMessage: ok:true is SENT with "channel/ts" as the id;
 * ok:false with ratelimited, rate_limited, internal_error,
 * service_unavailable or request_timeout is RETRYABLE; fatal_error is
 * UNKNOWN (Slack says the message may have been posted); token and scope
 * errors (invalid_auth, not_authed, token_revoked, token_expired,
 * account_inactive, missing_scope, not_in_channel...) RETRYABLE with
 * F_CONFIG; anything else (channel_not_found, is_archived, msg_too_long,
 * no_text...) PERMANENT.  HTTP 429 is RETRYABLE with Retry-After.
 */
int integrations_slack_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res);

/*
 * Webhooks: 200 "ok" is SENT (no id); 400 invalid_payload PERMANENT;
 * other 4xx (the URL revoked, the channel gone or archived, the action
 * prohibited) RETRYABLE with F_CONFIG, since the URL is configuration;
 * 429 and 5xx RETRYABLE.  The error word, when clean, is the code.
 */
int integrations_slack_webhook_classify(
    const integrations_notify_response_t *r,
    integrations_notify_result_t *res);

#endif /* INTEGRATIONS_SLACK_H */
