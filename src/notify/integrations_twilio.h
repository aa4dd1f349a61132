/*
 * Twilio Programmable Messaging.
 *
 *   POST https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages.json
 *   Authorization: Basic base64(AccountSid:AuthToken)   (CURLOPT_USERPWD)
 *   Content-Type: application/x-www-form-urlencoded
 *   <integrations_twilio_body()>
 *
 * 201 answers {"sid":"SM...","status":"queued",...}; errors are
 * {"code":21211,"message":"...","more_info":"...","status":400}.
 */

#ifndef INTEGRATIONS_TWILIO_H
#define INTEGRATIONS_TWILIO_H

#include <stddef.h>

#include "integrations_notify.h"


#define INTEGRATIONS_TWILIO_BODY_MAX  1600   /* UTF-16 units */


typedef struct {
    const char  *to;                  /* E.164 */
    size_t       to_len;
    const char  *from;                /* E.164 or an alphanumeric sender, */
    size_t       from_len;            /* or NULL with a messaging service */
    const char  *messaging_service_sid;
    size_t       messaging_service_sid_len;
    const char  *body;                /* at most 1600 characters */
    size_t       body_len;
    const char  *status_callback;     /* or NULL */
    size_t       status_callback_len;
} integrations_twilio_message_t;


/*
 * The form body: To, From or MessagingServiceSid (the service when both
 * are given: it picks the sender), Body, StatusCallback.  malloc()ed, or
 * NULL and *why.
 */
char *integrations_twilio_body(const integrations_twilio_message_t *m,
    size_t *len, const char **why);

/* ids that go into the URL path: AC/MG followed by 32 hex digits */
int integrations_twilio_sid_valid(const char *sid, size_t len,
    const char *prefix);

/*
 * 200/201 with a "sid" is SENT (unless "status" already says failed or
 * undelivered: PERMANENT).  Error codes: 21211 (invalid To), 21214,
 * 21408, 21610 (unsubscribed), 21612, 21614 (not a mobile), 21617
 * (too long), 21602, 30003-30008 and the like are PERMANENT; 20003
 * (authentication), 20404, 21606 and 21659/21660 (From not ours) are
 * RETRYABLE with F_CONFIG; 20429 and 429 RETRYABLE; 5xx RETRYABLE.
 */
int integrations_twilio_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res);

#endif /* INTEGRATIONS_TWILIO_H */
