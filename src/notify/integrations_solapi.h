/*
 * Solapi messages/v4: Korean SMS, LMS and Kakao AlimTalk (ATA).
 *
 *   POST https://api.solapi.com/messages/v4/send
 *   Authorization: <integrations_solapi_auth()>
 *   Content-Type: application/json
 *   <integrations_solapi_body()>
 *
 * The signature is hex HMAC-SHA256(api secret, date + salt) with the date
 * in ISO 8601 UTC ("2019-07-01T00:41:48Z": the form Solapi's documents
 * show) and a salt made from 16 random bytes the glue draws (32 hex
 * characters, as the official SDK's 32-character salt).  A signature may
 * be used once within 15 minutes, and the date must be within 15 minutes
 * of Solapi's clock: sign each request, never reuse a header.
 *
 * SMS or LMS: integrations_sms_classify() decides (90 bytes of EUC-KR).
 * ATA: kakaoOptions {pfId, templateId, variables {"#{name}": "value"},
 * disableSms}; the text is sent too (the rendered template, which is
 * also what Solapi falls back to when disableSms is false and the
 * AlimTalk cannot be delivered), and subject titles that fallback LMS.
 */

#ifndef INTEGRATIONS_SOLAPI_H
#define INTEGRATIONS_SOLAPI_H

#include <stddef.h>
#include <time.h>

#include "integrations_notify.h"


#define INTEGRATIONS_SOLAPI_SALT_BYTES  16
#define INTEGRATIONS_SOLAPI_AUTH_LEN    256  /* room for the header value */


typedef enum {
    INTEGRATIONS_SOLAPI_SMS = 0,
    INTEGRATIONS_SOLAPI_LMS,
    INTEGRATIONS_SOLAPI_ATA
} integrations_solapi_type_e;


typedef struct {
    int                              type;     /* integrations_solapi_type_e */
    const char                      *to;       /* "01012345678" */
    size_t                           to_len;
    const char                      *from;     /* a registered sender */
    size_t                           from_len;
    const char                      *text;
    size_t                           text_len;
    const char                      *subject;  /* LMS, ATA fallback; or NULL */
    size_t                           subject_len;

    /* ATA */
    const char                      *pf_id;
    size_t                           pf_id_len;
    const char                      *template_id;
    size_t                           template_id_len;
    const integrations_notify_kv_t  *variables; /* names without #{ } */
    size_t                           nvariables;
    int                              allow_fallback;

    /* customFields.ref, to match delivery reports; or NULL */
    const char                      *ref;
    size_t                           ref_len;
} integrations_solapi_message_t;


/*
 * The Authorization header value ("HMAC-SHA256 apiKey=..., date=...,
 * salt=..., signature=..."), NUL-terminated in out (size >=
 * INTEGRATIONS_SOLAPI_AUTH_LEN).  Returns its length, or 0 for an api key
 * that is empty, too long, or holds a byte outside visible ASCII or one of
 * ", =" (it is written into the header as it is).
 */
size_t integrations_solapi_auth(const char *api_key, size_t key_len,
    const unsigned char *secret, size_t secret_len, time_t now,
    const unsigned char salt[INTEGRATIONS_SOLAPI_SALT_BYTES], char *out,
    size_t size);

/* ISO 8601 UTC of now into out (21 bytes with the NUL) */
void integrations_solapi_date(time_t now, char out[21]);

/*
 * {"message":{...}}: malloc()ed, or NULL and *why (a field missing for
 * the type, invalid UTF-8).
 */
char *integrations_solapi_body(const integrations_solapi_message_t *m,
    size_t *len, const char **why);

/*
 * A sender number: separators dropped, then 8 to 12 digits, starting with
 * 0 (010-..., 02-...) or 1 (15xx/16xx/18xx representative numbers).
 * 0 and the digits in out (16 bytes), or -1.
 */
int integrations_solapi_sender(const char *in, size_t len, char out[16]);

/*
 * The answer to /messages/v4/send.  200 with statusCode 2000 (or 3000,
 * 4000) is SENT with messageId.  A 1xxx intake refusal is PERMANENT (a
 * low balance, 1030/2230, and an unregistered sender, 1062/2062, are
 * RETRYABLE with F_CONFIG: the operator can fix those); an AlimTalk
 * refusal (1042, 1043, 3103-3107) carries F_FALLBACK.  Non-200 bodies are
 * {"errorCode","errorMessage"}: signature and key errors are RETRYABLE
 * with F_CONFIG (DuplicatedSignature without: the next attempt signs
 * anew), ValidationError and the like PERMANENT.
 */
int integrations_solapi_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res);

#endif /* INTEGRATIONS_SOLAPI_H */
