/*
 * Notifications, the pure core: what every provider's code shares.
 *
 * The notification core is a set of nginx-free pieces the glue (directives,
 * the POST /notifications handler, the outbox sender) puts together:
 *
 *   integrations_template.h         the Mustache subset and template files
 *   integrations_sms_kr.h           EUC-KR length, SMS vs LMS, 422 text
 *   integrations_recipient.h        E.164, Korean mobiles, email, FCM
 *                                   tokens, Slack channels; masking
 *   integrations_notify_request.h   POST /notifications(/bulk) bodies
 *   integrations_notify_retry.h     backoff with jitter, max age, Retry-After
 *   integrations_solapi.h           Solapi messages/v4: auth header, SMS,
 *                                   LMS and AlimTalk bodies, classifier
 *   integrations_twilio.h           Twilio Messages.json form, classifier
 *   integrations_sendgrid.h         SendGrid v3 mail/send JSON, classifier
 *   integrations_slack.h            chat.postMessage, incoming webhooks
 *   integrations_fcm.h              FCM HTTP v1: service-account key, RS256
 *                                   JWT, token answer, message, classifier
 *   integrations_mime.h             the SMTP message (RFC 5322 + MIME)
 *
 * The life of a notification, as the glue is meant to drive it:
 *
 *   config     notify_template: integrations_tpl_file_parse() (errors name
 *              the file's line; an AlimTalk one must pass
 *              integrations_tpl_is_flat()); notify_provider: read its key
 *              file (integrations_fcm_key_parse() for FCM) and build the
 *              integrations_notify_route_t table
 *   request    integrations_notify_parse(): 400/422 problem, or rendered
 *              items with normalized recipients, to commit to the outbox
 *              before answering
 *   sender     per item and provider: the builder (integrations_solapi_
 *              body(), _twilio_body(), _sendgrid_body(), _mime_build(),
 *              _slack_*_body(), _fcm_message_body()), the outbound call,
 *              then the provider's classifier on the answer (or on no
 *              answer: status 0 and the transport kind)
 *   outcome    SENT: done, keep message_id; RETRYABLE:
 *              integrations_notify_next_attempt_at() with retry_after, or
 *              give up; PERMANENT: failed (F_FALLBACK: an AlimTalk may go
 *              as SMS/LMS); UNKNOWN: do not resend, alert.  Logs and
 *              alerts name integrations_rcpt_mask() of the recipient and
 *              never a body.
 *
 * This header holds the one result shape every response classifier
 * returns, a growable buffer the builders write into, JSON out (yajl_gen)
 * and readers for the strict JSON trees of integrations_json.h.  Every
 * JSON input (client bodies, provider answers, key files) is parsed with
 * integrations_json_parse() and INTEGRATIONS_JSON_UNIQUE_KEYS: no NUL in
 * any string, no key twice; strings are then read through
 * integrations_notify_json_str(), which refuses control characters.
 *
 * The core never draws random bytes, reads a clock or does I/O: salts,
 * boundaries, Message-IDs and jitter take random input; times are
 * parameters (Unix seconds, or milliseconds where named *_ms).
 */

#ifndef INTEGRATIONS_NOTIFY_H
#define INTEGRATIONS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>


/* what a provider's answer means for the notification */
typedef enum {
    INTEGRATIONS_NOTIFY_SENT = 0,     /* accepted by the provider */
    INTEGRATIONS_NOTIFY_RETRYABLE,    /* not sent, try again later */
    INTEGRATIONS_NOTIFY_PERMANENT,    /* will never be sent as it is */
    INTEGRATIONS_NOTIFY_UNKNOWN       /* may or may not have been sent:
                                         do not resend blindly, alert */
} integrations_notify_outcome_e;


/* flags: what else the glue should do with the outcome */
#define INTEGRATIONS_NOTIFY_F_PRUNE      0x01  /* the recipient is dead
                                                  (FCM UNREGISTERED): drop it */
#define INTEGRATIONS_NOTIFY_F_REAUTH     0x02  /* drop the cached OAuth token
                                                  and fetch a new one first */
#define INTEGRATIONS_NOTIFY_F_CONFIG     0x04  /* our credentials or sender
                                                  are wrong: alert the
                                                  operator, the message is
                                                  not at fault */
#define INTEGRATIONS_NOTIFY_F_FALLBACK   0x08  /* an AlimTalk failure that an
                                                  SMS/LMS of the same text
                                                  may replace */
#define INTEGRATIONS_NOTIFY_F_AMBIGUOUS  0x10  /* the request may have been
                                                  received (a timeout after
                                                  sending): a retry may
                                                  deliver twice */


#define INTEGRATIONS_NOTIFY_ID_MAX    255
#define INTEGRATIONS_NOTIFY_CODE_MAX  63
#define INTEGRATIONS_NOTIFY_TEXT_MAX  255


/*
 * The one shape of every classifier's answer.  Every string is
 * NUL-terminated and holds no control character: a provider's id with one
 * makes the answer unusable (UNKNOWN on a 2xx), an error text with one is
 * not kept.  retry_after is in seconds, -1 when the provider named none.
 */
typedef struct {
    int       outcome;                /* integrations_notify_outcome_e */
    unsigned  flags;                  /* INTEGRATIONS_NOTIFY_F_* */
    unsigned  http_status;            /* as given, 0: no answer */
    int64_t   retry_after;
    char      message_id[INTEGRATIONS_NOTIFY_ID_MAX + 1];
    char      code[INTEGRATIONS_NOTIFY_CODE_MAX + 1];
    char      text[INTEGRATIONS_NOTIFY_TEXT_MAX + 1];
} integrations_notify_result_t;


/* what the glue hands a classifier: one HTTP answer, or none */
typedef struct {
    unsigned     status;              /* 0: transport failure, see below */
    const char  *body;
    size_t       body_len;
    const char  *message_id;          /* SendGrid's X-Message-Id header */
    size_t       message_id_len;
    int64_t      retry_after;         /* Retry-After in seconds (libcurl's
                                         CURLINFO_RETRY_AFTER), -1: none */
    int          transport;           /* integrations_notify_transport_e,
                                         when status is 0 */
} integrations_notify_response_t;


typedef enum {
    INTEGRATIONS_NOTIFY_T_NONE = 0,
    INTEGRATIONS_NOTIFY_T_CONNECT,    /* no connection: nothing was sent */
    INTEGRATIONS_NOTIFY_T_TIMEOUT,    /* sent, no answer: ambiguous */
    INTEGRATIONS_NOTIFY_T_OTHER       /* TLS, reset...: treated as timeout */
} integrations_notify_transport_e;


const char *integrations_notify_outcome_name(int outcome);

/* an empty result: UNKNOWN, no id, retry_after -1 */
void integrations_notify_result_init(integrations_notify_result_t *res,
    unsigned http_status);

/*
 * What every classifier does first: no HTTP answer (status 0) is
 * RETRYABLE, with F_AMBIGUOUS unless the connection was never made.
 * Returns 1 when res is complete, 0 when the classifier must look at the
 * answer.
 */
int integrations_notify_classify_transport(
    const integrations_notify_response_t *r,
    integrations_notify_result_t *res);

/*
 * The answer's body as a strict JSON tree (no NUL, no key twice, at most
 * 32 deep), or NULL: not JSON, or no body.  Freed with yajl_tree_free().
 */
yajl_val integrations_notify_answer_json(
    const integrations_notify_response_t *r);

/*
 * The default by HTTP status, for answers a provider-specific rule does
 * not cover: 2xx SENT, 408/429/5xx RETRYABLE (with Retry-After), 401/403
 * RETRYABLE with F_CONFIG, other 4xx PERMANENT, anything else UNKNOWN.
 */
void integrations_notify_classify_status(
    const integrations_notify_response_t *r,
    integrations_notify_result_t *res);

/*
 * Copies s into dst (size bytes with the NUL) if it fits and holds no
 * control byte (< 0x20, 0x7f) and no NUL: returns 0, else -1 and dst "".
 * integrations_notify_copy_text() cuts a too-long text at a UTF-8
 * character boundary instead of refusing it.
 */
int integrations_notify_copy_id(char *dst, size_t size, const char *s,
    size_t len);
int integrations_notify_copy_text(char *dst, size_t size, const char *s,
    size_t len);


/*
 * A growable byte buffer.  An allocation failure, or growing past max
 * (0: 16 MiB), sets failed and later adds do nothing, so a builder checks
 * once at the end.  data is NUL-terminated whenever it is not NULL (the
 * NUL is not counted in len).
 */
typedef struct {
    char    *data;
    size_t   len;
    size_t   size;
    size_t   max;
    int      failed;
} integrations_notify_buf_t;

void integrations_notify_buf_add(integrations_notify_buf_t *b,
    const void *s, size_t n);
void integrations_notify_buf_adds(integrations_notify_buf_t *b,
    const char *s);
void integrations_notify_buf_addc(integrations_notify_buf_t *b, char c);

/*
 * application/x-www-form-urlencoded: A-Z a-z 0-9 - . _ ~ as they are,
 * space as "+", every other byte as %XX.
 */
void integrations_notify_buf_form(integrations_notify_buf_t *b,
    const char *s, size_t n);

/* "&key=value" (no "&" when the buffer is empty), both form-encoded */
void integrations_notify_buf_field(integrations_notify_buf_t *b,
    const char *key, const char *value, size_t n);

/* NULL if failed (the buffer is then freed); else the data, owned by the
 * caller */
char *integrations_notify_buf_done(integrations_notify_buf_t *b,
    size_t *len);
void integrations_notify_buf_free(integrations_notify_buf_t *b);

/* a key and a value, for provider fields built from lists */
typedef struct {
    const char  *key;
    size_t       key_len;
    const char  *value;
    size_t       value_len;
} integrations_notify_kv_t;


/*
 * JSON out: yajl_gen with invalid UTF-8 refused, and one failure flag.
 * A yajl_gen call that fails (invalid UTF-8, no memory) leaves the
 * generator as it was, so later calls would build a wrong document: here
 * the first failure sticks, and integrations_notify_gen_done() returns
 * NULL (it always frees the generator).
 */
typedef struct {
    yajl_gen  g;
    int       failed;
} integrations_notify_gen_t;

void integrations_notify_gen_init(integrations_notify_gen_t *j);
void integrations_notify_gen_str(integrations_notify_gen_t *j,
    const char *s, size_t n);
void integrations_notify_gen_cstr(integrations_notify_gen_t *j,
    const char *s);
void integrations_notify_gen_key(integrations_notify_gen_t *j,
    const char *key, const char *s, size_t n);
void integrations_notify_gen_int(integrations_notify_gen_t *j, long long n);
void integrations_notify_gen_bool(integrations_notify_gen_t *j, int b);
void integrations_notify_gen_map(integrations_notify_gen_t *j, int open);
void integrations_notify_gen_array(integrations_notify_gen_t *j, int open);
char *integrations_notify_gen_done(integrations_notify_gen_t *j,
    size_t *len);


/*
 * A string value of a strict tree and its length: 0, or -1 when v is not
 * a string or holds a control character (with text, tab, LF and CR are
 * allowed; DEL never is).
 */
int integrations_notify_json_str(yajl_val v, int text, const char **s,
    size_t *len);

/* the same for the value of key in obj */
int integrations_notify_json_field(yajl_val obj, const char *key, int text,
    const char **s, size_t *len);

/* a number's text as written ("1.21", "85"), or NULL */
const char *integrations_notify_json_number(yajl_val v);

/*
 * An integer number value into *n: 0, or -1 for a non-number, a fraction
 * or exponent ("1.0", "1e3"), or one outside [min, max].
 */
int integrations_notify_json_int(yajl_val v, long long min, long long max,
    long long *n);


/* a Unix time in UTC, from integrations_time (no gmtime_r(), no locale) */
typedef struct {
    int64_t   year;
    unsigned  month;                  /* 1..12 */
    unsigned  day;                    /* 1..31 */
    unsigned  hour;
    unsigned  min;
    unsigned  sec;
    unsigned  wday;                   /* 0 Sunday .. 6 */
} integrations_notify_tm_t;

void integrations_notify_utc(int64_t t, integrations_notify_tm_t *tm);


/*
 * UTF-8 (RFC 3629: no overlongs, surrogates or code points past 10FFFF).
 * Decodes one character at s[0..len): returns its length (1..4) and the
 * code point, or 0 for an invalid sequence.
 */
size_t integrations_notify_utf8_next(const unsigned char *s, size_t len,
    uint32_t *cp);

/* the offset of the first invalid byte, or len when all is valid */
size_t integrations_notify_utf8_check(const unsigned char *s, size_t len);

/*
 * The length of valid UTF-8 in characters, or with utf16 in UTF-16 code
 * units (Twilio's and Slack's characters: outside the BMP a character
 * counts two); (size_t) -1 if it is not valid UTF-8.
 */
size_t integrations_notify_utf8_count(const char *s, size_t len, int utf16);

#endif /* INTEGRATIONS_NOTIFY_H */
