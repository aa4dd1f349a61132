/*
 * SendGrid v3 Mail Send.
 *
 *   POST https://api.sendgrid.com/v3/mail/send   (EU: api.eu.sendgrid.com)
 *   Authorization: Bearer <API key>
 *   Content-Type: application/json
 *   <integrations_sendgrid_body()>
 *
 * Success is 202 with an empty body and the message id in the
 * X-Message-Id header (the glue hands it in r->message_id); errors are
 * {"errors":[{"message","field","help"}]}.  SendGrid takes no
 * idempotency key: a timeout after acceptance may deliver twice.
 */

#ifndef INTEGRATIONS_SENDGRID_H
#define INTEGRATIONS_SENDGRID_H

#include <stddef.h>

#include "integrations_notify.h"


typedef struct {
    const char  *from_email;
    size_t       from_email_len;
    const char  *from_name;           /* ASCII (SendGrid refuses Unicode
                                         in from), or NULL */
    size_t       from_name_len;
    const char  *to_email;
    size_t       to_email_len;
    const char  *to_name;             /* no ";" or ",", or NULL */
    size_t       to_name_len;
    const char  *reply_to;            /* or NULL */
    size_t       reply_to_len;
    const char  *subject;
    size_t       subject_len;
    const char  *text;                /* at least one of text and html */
    size_t       text_len;
    const char  *html;
    size_t       html_len;
    const char  *ref;                 /* custom_args.ref, echoed in the
                                         Event Webhook; or NULL */
    size_t       ref_len;
} integrations_sendgrid_message_t;


/*
 * {"personalizations":[{"to":[...],"custom_args":{"ref"}}],"from",
 *  "reply_to","subject","content":[text/plain, text/html]}: malloc()ed,
 * or NULL and *why.
 */
char *integrations_sendgrid_body(const integrations_sendgrid_message_t *m,
    size_t *len, const char **why);

/*
 * 202 is SENT with X-Message-Id (an id with a control byte or none leaves
 * message_id empty: the mail was accepted all the same); 429 and 5xx
 * RETRYABLE with Retry-After; 401/403 RETRYABLE with F_CONFIG; 400, 413
 * and other 4xx PERMANENT, with errors[0].message as the text and
 * errors[0].field as the code.
 */
int integrations_sendgrid_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res);

#endif /* INTEGRATIONS_SENDGRID_H */
