/*
 * libFuzzer target: POST /notifications and /notifications/bulk bodies,
 * against routes for every channel and a few templates.  The first byte
 * picks single or bulk; the rest is the body.  What is accepted is
 * complete for its channel; what is refused names a printable field.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_json.h"
#include "integrations_notify_request.h"
#include "integrations_recipient.h"
#include "integrations_sms_kr.h"


static const integrations_notify_route_t  routes[] = {
    { "email", "sendgrid", INTEGRATIONS_NOTIFY_EMAIL, INTEGRATIONS_RCPT_EMAIL,
      0, 0, 0 },
    { "sms", "solapi", INTEGRATIONS_NOTIFY_SMS, INTEGRATIONS_RCPT_KR_MOBILE,
      0, 1, INTEGRATIONS_SMS_EUC_KR },
    { "sms", "twilio", INTEGRATIONS_NOTIFY_SMS, INTEGRATIONS_RCPT_E164, 82,
      0, 0 },
    { "alimtalk", "solapi", INTEGRATIONS_NOTIFY_ALIMTALK,
      INTEGRATIONS_RCPT_KR_MOBILE, 0, 1, INTEGRATIONS_SMS_CP949 },
    { "push", "fcm", INTEGRATIONS_NOTIFY_PUSH, INTEGRATIONS_RCPT_FCM_TOKEN,
      0, 0, 0 },
    { "slack", "slack", INTEGRATIONS_NOTIFY_SLACK,
      INTEGRATIONS_RCPT_SLACK_CHANNEL, 0, 0, 0 },
    { "ops", "hook", INTEGRATIONS_NOTIFY_SLACK, INTEGRATIONS_RCPT_NONE,
      0, 0, 0 },
};

static const char  *sources[] = {
    "Subject: {{name}} {{order.id}}\n--- text\n{{#items}}{{title}}\n"
    "{{/items}}{{^items}}none{{/items}}\n--- html\n<p>{{name}}</p>\n",
    "{{code}}",
    "Subject: t\n--- text\n{{이름}} {{title}}\n",
};

static integrations_notify_template_t  templates[3];
static int                             ready;


static const integrations_notify_template_t *
lookup(void *ctx, const char *name, size_t len)
{
    (void) ctx;

    if (len == 1 && name[0] >= 'a' && name[0] <= 'c') {
        return &templates[name[0] - 'a'];
    }

    return NULL;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                          i;
    integrations_tpl_error_t        err;
    integrations_notify_env_t       env;
    integrations_notify_problem_t   pb;
    integrations_notify_request_t   req;
    integrations_notify_item_t     *it;

    if (!ready) {
        for (i = 0; i < 3; i++) {
            if (integrations_tpl_file_parse(sources[i], strlen(sources[i]),
                                            &templates[i].file, &err) != 0)
            {
                abort();
            }
        }

        templates[2].alimtalk_id = "TP1";
        ready = 1;
    }

    if (size < 1) {
        return 0;
    }

    memset(&env, 0, sizeof(env));
    env.routes = routes;
    env.nroutes = sizeof(routes) / sizeof(routes[0]);
    env.lookup = lookup;
    env.max_items = 50;

    if (integrations_notify_parse((const char *) data + 1, size - 1,
                                  data[0] & 1, &env, 1751328000, &req, &pb)
        != 0)
    {
        if ((pb.status != 400 && pb.status != 422)
            || memchr(pb.field, '\0', sizeof(pb.field)) == NULL
            || !integrations_json_plain(pb.field, strlen(pb.field), 0)
            || !integrations_json_plain(pb.detail, strlen(pb.detail), 0)
            || req.items != NULL || req.tree != NULL)
        {
            abort();
        }

        return 0;
    }

    for (i = 0; i < req.nitems; i++) {
        it = &req.items[i];

        if (it->route == NULL
            || (it->route->recipient != INTEGRATIONS_RCPT_NONE
                && (it->to == NULL || strlen(it->to) != it->to_len))
            || (it->route->type == INTEGRATIONS_NOTIFY_EMAIL
                && (it->subject == NULL
                    || (it->text == NULL && it->html == NULL)))
            || (it->route->type != INTEGRATIONS_NOTIFY_EMAIL
                && it->text == NULL)
            || (it->subject && (memchr(it->subject, '\n', it->subject_len)
                                || memchr(it->subject, '\r',
                                          it->subject_len))))
        {
            abort();
        }
    }

    integrations_notify_request_free(&req);

    return 0;
}
