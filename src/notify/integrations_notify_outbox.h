/*
 * The outbox sender's decisions, pure: what becomes of a notification
 * after an attempt (or before one), the operator's alert text, the JSON
 * log line of a send, and the AlimTalk variables as the outbox stores
 * them.  The glue (ngx_http_integrations_notify_sender.c) claims rows,
 * calls the provider and writes back what these functions decide.
 *
 * What a user can rely on follows from these rules:
 *
 *   - a send that was accepted (SENT) is never sent again;
 *   - a send that was refused before it left (a rate limit, an open
 *     breaker, the concurrency bound: "not attempted") is queued again
 *     at the refusal's wait and does not count as an attempt;
 *   - a RETRYABLE failure is tried again with backoff and jitter, never
 *     sooner than the provider's Retry-After, until the attempts or the
 *     notification's max age run out ("exhausted");
 *   - a failure that may have reached the provider (F_AMBIGUOUS, or an
 *     UNKNOWN answer) is retried only when the provider deduplicates by
 *     the notification's idempotency key; otherwise the notification is
 *     "unknown" and the operator alerted, never silently sent twice; a
 *     row whose sender died mid-send (its lease lapsed) is treated the
 *     same way;
 *   - a PERMANENT failure is not retried;
 *   - after the last failure, an AlimTalk that allows it falls back to
 *     SMS/LMS with the same text (once), and only then is the
 *     notification failed and the operator alerted.
 */

#ifndef INTEGRATIONS_NOTIFY_OUTBOX_H
#define INTEGRATIONS_NOTIFY_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "integrations_notify.h"
#include "integrations_notify_retry.h"


typedef enum {
    INTEGRATIONS_NOTIFY_DO_SENT = 0,  /* done: sent */
    INTEGRATIONS_NOTIFY_DO_RETRY,     /* queued again at next_at */
    INTEGRATIONS_NOTIFY_DO_FALLBACK,  /* queued again now, as SMS/LMS */
    INTEGRATIONS_NOTIFY_DO_FAILED,    /* done: failed, alert */
    INTEGRATIONS_NOTIFY_DO_UNKNOWN,   /* done: may have been sent, alert */
    INTEGRATIONS_NOTIFY_DO_SEND       /* (before a send) go on */
} integrations_notify_action_e;


typedef struct {
    const integrations_notify_result_t  *result;
    int                                  attempted;   /* 0: nothing left */
    int64_t                              wait_ms;     /* a refusal's wait,
                                                         0: none */
    unsigned                             attempt;     /* this one, from 1 */
    int64_t                              now_ms;
    int64_t                              expires_ms;  /* no attempt after */
    int64_t                              last_delay_ms;
    int                                  dedupes;     /* the provider */
    int                                  can_fall_back;  /* an AlimTalk that
                                                         allows it, with an
                                                         SMS provider */
    const integrations_notify_retry_t   *policy;      /* max_age ignored:
                                                         expires_ms holds
                                                         it */
    uint64_t                             rand;
} integrations_notify_attempt_t;


typedef struct {
    int          action;              /* integrations_notify_action_e */
    int64_t      next_at;             /* RETRY */
    int64_t      delay_ms;            /* RETRY: the backoff chosen */
    int          uncount;             /* 1: this was not an attempt */
    int          alert;               /* 1: tell the operator */
    const char  *reason;              /* FAILED, UNKNOWN: "permanent",
                                         "exhausted", "expired",
                                         "ambiguous", "interrupted";
                                         RETRY: "retryable", "refused" */
    const char  *outcome;             /* the attempt's record: "sent",
                                         "retry", "refused", "fallback",
                                         "failed", "unknown" */
} integrations_notify_decision_t;


/* after an attempt (or a refusal) */
void integrations_notify_decide(const integrations_notify_attempt_t *a,
    integrations_notify_decision_t *d);

/*
 * Before a send, for a claimed row: SEND, or FAILED ("expired": past its
 * max age) or UNKNOWN ("interrupted": its last sender died mid-send and
 * the provider does not deduplicate).
 */
void integrations_notify_before_send(int reclaimed, int dedupes,
    int64_t now_ms, int64_t expires_ms, integrations_notify_decision_t *d);


/*
 * The operator's alert: "notification ID (CHANNEL via PROVIDER) to MASK
 * REASON: CODE TEXT" (code and text when there are), one line, at most
 * size - 1 bytes (cut at a UTF-8 boundary) and NUL-terminated; its
 * length.  Only the masked recipient is named, never a body.
 */
size_t integrations_notify_alert_text(char *buf, size_t size,
    const char *id, size_t id_len, const char *channel, size_t channel_len,
    const char *provider, size_t provider_len, const char *mask,
    size_t mask_len, const char *reason, const char *code,
    const char *text);


/* what one send's JSON log line says */
typedef struct {
    const char  *id;
    size_t       id_len;
    const char  *channel;
    size_t       channel_len;
    const char  *provider;
    size_t       provider_len;
    const char  *to_mask;             /* never the recipient itself */
    size_t       to_mask_len;
    unsigned     attempt;
    const char  *outcome;             /* the decision's */
    unsigned     http_status;
    int64_t      duration_ms;
    const char  *message_id;          /* or NULL */
    const char  *error;               /* or NULL */
} integrations_notify_log_t;

/*
 * {"notify":{"id":...,"channel":...,"provider":...,"to":"010-****-5678",
 * "attempt":1,"outcome":"sent","status":200,"duration_ms":52,
 * "message_id":...,"error":...}}: malloc()ed, or NULL.
 */
char *integrations_notify_log_line(const integrations_notify_log_t *l,
    size_t *len);


/*
 * AlimTalk variables as the outbox keeps them: a JSON object of strings.
 * kv_json: malloc()ed text or NULL.  kv_parse: *kv a malloc()ed array of
 * *n pairs pointing into one block freed with it (free(*kv)); 0, or -1
 * for text that is not such an object.
 */
char *integrations_notify_kv_json(const integrations_notify_kv_t *kv,
    size_t n, size_t *len);
int integrations_notify_kv_parse(const char *json, size_t len,
    integrations_notify_kv_t **kv, size_t *n);


/*
 * A Twilio status callback (application/x-www-form-urlencoded, verified
 * by webhook_verify twilio before it gets here): MessageSid,
 * MessageStatus and ErrorCode.  "delivered" is a delivery, "undelivered"
 * and "failed" a failure; the other statuses (queued, sent...) say
 * nothing final.  Strict: a field given twice, bad percent-encoding, a
 * sid that is not 34 letters and digits, or a code that is not digits,
 * is refused.
 */
typedef enum {
    INTEGRATIONS_NOTIFY_RECEIPT_NONE = 0,   /* not final: ignore */
    INTEGRATIONS_NOTIFY_RECEIPT_DELIVERED,
    INTEGRATIONS_NOTIFY_RECEIPT_FAILED
} integrations_notify_receipt_e;

typedef struct {
    int   status;                     /* integrations_notify_receipt_e */
    char  message_id[64];             /* "SM..." */
    char  error[32];                  /* "twilio:30003", or "" */
} integrations_notify_receipt_t;

/* 0, or -1 and *why (a static string) */
int integrations_notify_twilio_receipt(const char *body, size_t len,
    integrations_notify_receipt_t *rc, const char **why);

#endif /* INTEGRATIONS_NOTIFY_OUTBOX_H */
