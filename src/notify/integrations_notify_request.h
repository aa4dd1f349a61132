/*
 * POST /notifications and POST /notifications/bulk: the client's body in,
 * rendered notifications out, or one problem naming the field.
 *
 * A notification:
 *
 *   {"channel": "sms",                     a configured channel (route)
 *    "to": "010-1234-5678",                validated per channel, stored
 *                                          normalized ("01012345678")
 *    "provider": "solapi",                 optional: one of the channel's
 *    "template": "order_ready",            a notify_template, or inline:
 *    "subject": "...", "text": "...",      literal (never templated)
 *    "html": "...",                        content; html for email only
 *    "data": {"name": "홍길동", ...},       the template's data (strict: a
 *                                          variable it lacks is a 422)
 *    "push_data": {"order": "42"},         push only: FCM's message.data,
 *                                          string values only (a number
 *                                          is a 422 naming
 *                                          "push_data.badge"), sent as it
 *                                          is, never templated
 *    "idempotency_key": "order-42-ready",  optional, 1..255 visible ASCII
 *    "fallback": true,                     AlimTalk only: SMS/LMS of the
 *                                          same text if Kakao cannot
 *                                          deliver it (default false)
 *    "send_at": "2025-07-01T09:00:00+09:00" or 1751328000}   optional
 *
 * Bulk: {"items": [notification, ...]}, 1 to 1000 of them; all are
 * checked before any is accepted, and a problem names the item:
 * "items[3].to".
 *
 * Problems: 400 for a body that is not what the API takes (not JSON, a
 * NUL or a key twice anywhere, an unknown field, a field of the wrong
 * type, a control character in a field that takes none); 422 for a body
 * that is well-formed but cannot be sent (unknown channel, provider or
 * template, an invalid recipient, a variable the data lacks, text that a
 * Korean SMS cannot carry, too long, send_at too far ahead).  The detail
 * never quotes a recipient or a message body.
 *
 * Rendering happens here, at the request: what the outbox stores is what
 * will be sent, and a template error is the client's 422 now rather than
 * a failed delivery later.  Escaping by channel: HTML in an email's HTML
 * part, Slack's & < > for Slack, nothing for subjects, text, SMS,
 * AlimTalk and push.  Subjects must render to one line.
 */

#ifndef INTEGRATIONS_NOTIFY_REQUEST_H
#define INTEGRATIONS_NOTIFY_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#include "integrations_notify.h"
#include "integrations_template.h"


#define INTEGRATIONS_NOTIFY_MAX_ITEMS     1000
#define INTEGRATIONS_NOTIFY_IDEM_MAX      255
#define INTEGRATIONS_NOTIFY_SCHEDULE_MAX  (30 * 86400)
#define INTEGRATIONS_NOTIFY_PUSH_KEY_MAX  100   /* bytes; the problem's
                                                   field names it */


typedef enum {
    INTEGRATIONS_NOTIFY_EMAIL = 0,
    INTEGRATIONS_NOTIFY_SMS,
    INTEGRATIONS_NOTIFY_ALIMTALK,
    INTEGRATIONS_NOTIFY_PUSH,
    INTEGRATIONS_NOTIFY_SLACK
} integrations_notify_channel_type_e;


/*
 * A route: a channel name as clients give it and the provider behind it.
 * Several routes may share a channel name (the first is the default, the
 * others chosen with "provider").
 */
typedef struct {
    const char  *channel;             /* "sms" */
    const char  *provider;            /* the notify_provider's NAME */
    int          type;                /* integrations_notify_channel_type_e */
    int          recipient;           /* integrations_rcpt_kind_e */
    unsigned     default_cc;          /* E164: the country of national
                                         numbers, 0: none */
    int          korean_sms;          /* EUC-KR rules (Solapi) */
    int          charset;             /* integrations_sms_charset_e */
} integrations_notify_route_t;


/* a notify_template */
typedef struct {
    integrations_tpl_file_t  file;
    const char              *alimtalk_id;   /* NULL: not an AlimTalk one */
} integrations_notify_template_t;


typedef const integrations_notify_template_t *(*integrations_notify_lookup_pt)(
    void *ctx, const char *name, size_t len);


typedef struct {
    const integrations_notify_route_t  *routes;
    size_t                              nroutes;
    integrations_notify_lookup_pt       lookup;    /* templates by name */
    void                               *ctx;
    size_t                              max_items; /* 0: 1000 */
    int64_t                             max_schedule; /* s; 0: 30 days */
    size_t                              max_render;   /* a part; 0: 1 MiB */
} integrations_notify_env_t;


/* one accepted notification; strings malloc()ed or in the request's tree */
typedef struct {
    const integrations_notify_route_t     *route;
    const integrations_notify_template_t  *template;   /* NULL: inline */
    const char                            *template_name;
    size_t                                 template_name_len;

    char                                  *to;         /* normalized */
    size_t                                 to_len;
    char                                  *subject;    /* NULL: none */
    size_t                                 subject_len;
    char                                  *text;       /* NULL: none */
    size_t                                 text_len;
    char                                  *html;
    size_t                                 html_len;

    int                                    sms_type;   /* korean_sms SMS,
                                                          ALIMTALK fallback:
                                                          integrations_sms_
                                                          type_e */
    integrations_notify_kv_t              *variables;  /* ALIMTALK: name ->
                                                          rendered value;
                                                          PUSH: push_data */
    size_t                                 nvariables;

    const char                            *idempotency_key;   /* or NULL */
    size_t                                 idempotency_key_len;
    int                                    fallback;
    int64_t                                send_at;    /* -1: now */
} integrations_notify_item_t;


typedef struct {
    integrations_notify_item_t  *items;
    size_t                       nitems;
    yajl_val                     tree;           /* private */
} integrations_notify_request_t;


typedef struct {
    unsigned  status;                 /* 400 or 422 */
    char      field[128];             /* "to", "items[3].data.name" */
    char      detail[256];
} integrations_notify_problem_t;


/*
 * Parses, checks and renders a body (bulk: {"items":[...]}).  0 and req,
 * freed with integrations_notify_request_free(); or -1 and pb.
 */
int integrations_notify_parse(const char *body, size_t len, int bulk,
    const integrations_notify_env_t *env, time_t now,
    integrations_notify_request_t *req, integrations_notify_problem_t *pb);

void integrations_notify_request_free(integrations_notify_request_t *req);

/*
 * RFC 3339 ("2025-07-01T09:00:00+09:00", "...Z", fractions dropped) to
 * Unix seconds: 0 or -1.
 */
int integrations_notify_parse_time(const char *s, size_t len, int64_t *t);

const char *integrations_notify_channel_type_name(int type);

#endif /* INTEGRATIONS_NOTIFY_REQUEST_H */
