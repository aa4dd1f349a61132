/*
 * libFuzzer target: every notification provider's answer classifier and
 * the FCM token answer.  The first byte picks the classifier, the HTTP
 * status and a Retry-After; the rest is the body (and, for SendGrid, also
 * the X-Message-Id header).  Whatever comes in, the result is one of the
 * four outcomes and its strings are terminated and free of control bytes.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_fcm.h"
#include "integrations_json.h"
#include "integrations_notify.h"
#include "integrations_sendgrid.h"
#include "integrations_slack.h"
#include "integrations_solapi.h"
#include "integrations_twilio.h"


typedef int (*classify_pt)(const integrations_notify_response_t *r,
    integrations_notify_result_t *res);


static void
check(const integrations_notify_result_t *res)
{
    if (res->outcome < INTEGRATIONS_NOTIFY_SENT
        || res->outcome > INTEGRATIONS_NOTIFY_UNKNOWN
        || memchr(res->message_id, '\0', sizeof(res->message_id)) == NULL
        || memchr(res->code, '\0', sizeof(res->code)) == NULL
        || memchr(res->text, '\0', sizeof(res->text)) == NULL
        || !integrations_json_plain(res->message_id, strlen(res->message_id),
                                    0)
        || !integrations_json_plain(res->code, strlen(res->code), 0)
        || !integrations_json_plain(res->text, strlen(res->text), 0))
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                             token[INTEGRATIONS_FCM_TOKEN_MAX + 1];
    size_t                           k;
    time_t                           at, ex;
    integrations_notify_result_t     res;
    integrations_notify_response_t   r;

    static const classify_pt  classifiers[] = {
        integrations_solapi_classify,
        integrations_twilio_classify,
        integrations_sendgrid_classify,
        integrations_slack_classify,
        integrations_slack_webhook_classify,
        integrations_fcm_classify,
    };

    static const unsigned  statuses[] = {
        0, 200, 201, 202, 400, 401, 403, 404, 410, 429, 500, 503
    };

    if (size < 1) {
        return 0;
    }

    memset(&r, 0, sizeof(r));
    r.status = statuses[(data[0] >> 3) % 12];
    r.transport = data[0] & 3;
    r.retry_after = (data[0] & 4) ? 30 : -1;
    r.body = (const char *) data + 1;
    r.body_len = size - 1;
    r.message_id = r.body;
    r.message_id_len = r.body_len;

    k = data[0] % 7;

    if (k < 6) {
        classifiers[k](&r, &res);
        check(&res);

    } else {
        if (integrations_fcm_token_parse(&r, 1000, token, sizeof(token), &at,
                                         &ex, &res) == 0)
        {
            if (strlen(token) == 0 || at <= 1000 || ex < at
                || !integrations_json_plain(token, strlen(token), 0))
            {
                abort();
            }
        }

        check(&res);
    }

    return 0;
}
