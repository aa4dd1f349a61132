/*
 * Korean SMS rules (Solapi, and Korean carriers generally).
 *
 * Carriers count SMS in EUC-KR bytes: ASCII is 1 byte, a Hangul syllable or
 * any other KS X 1001 character 2.  An SMS holds at most 90 bytes (45
 * syllables); above that the message is an LMS of at most 2000 bytes,
 * with a subject of at most 40 bytes.  A character EUC-KR cannot hold
 * (emoji, most of the 11172 syllables outside KS X 1001's 2350, like
 * "뷁") is refused by Solapi (status 1029), so it is refused here first,
 * with a 422 naming the character, rather than sent broken.
 *
 * Whether a carrier takes CP949 (Microsoft's superset with every
 * syllable) is not documented; INTEGRATIONS_SMS_CP949 is there for a
 * provider that says it does.  The default, and what Solapi documents,
 * is EUC-KR.
 *
 * What EUC-KR holds is a table (integrations_sms_kr_table.h, made from
 * glibc's iconv and checked against it by the unit test), not iconv at
 * run time: no converter state to share between threads, no gconv
 * modules to load in a worker, and none of iconv's silent drops (glibc
 * converts the Unicode tag characters U+E0000..E007F to nothing).  The
 * C1 controls U+0080..U+009F are refused, as control characters.
 */

#ifndef INTEGRATIONS_SMS_KR_H
#define INTEGRATIONS_SMS_KR_H

#include <stddef.h>
#include <stdint.h>


#define INTEGRATIONS_SMS_MAX_BYTES          90
#define INTEGRATIONS_LMS_MAX_BYTES          2000
#define INTEGRATIONS_LMS_SUBJECT_MAX_BYTES  40
#define INTEGRATIONS_ATA_MAX_CHARS          1000   /* AlimTalk, with the
                                                      values substituted */


typedef enum {
    INTEGRATIONS_SMS_EUC_KR = 0,
    INTEGRATIONS_SMS_CP949
} integrations_sms_charset_e;


typedef enum {
    INTEGRATIONS_SMS_OK = 0,
    INTEGRATIONS_SMS_BAD_UTF8,        /* the input is not UTF-8 */
    INTEGRATIONS_SMS_UNREPRESENTABLE, /* a character the charset lacks */
    INTEGRATIONS_SMS_EMPTY,
    INTEGRATIONS_SMS_TOO_LONG,        /* over 2000 bytes (text), 40
                                         (subject), 1000 chars (AlimTalk) */
} integrations_sms_error_e;


typedef enum {
    INTEGRATIONS_SMS_TYPE_SMS = 0,
    INTEGRATIONS_SMS_TYPE_LMS
} integrations_sms_type_e;


typedef struct {
    int       error;                  /* integrations_sms_error_e */
    size_t    bytes;                  /* length in the charset */
    size_t    chars;                  /* code points */
    uint32_t  code_point;             /* UNREPRESENTABLE: the character */
    size_t    offset;                 /* its byte offset in the UTF-8, or
                                         of the first bad byte */
} integrations_sms_measure_t;


typedef struct {
    int                         type;       /* integrations_sms_type_e */
    int                         error;      /* of the text or subject */
    int                         in_subject; /* the error is the subject's */
    integrations_sms_measure_t  text;
    integrations_sms_measure_t  subject;
} integrations_sms_class_t;


/* Returns m->error. */
int integrations_sms_measure(int charset, const char *s, size_t len,
    integrations_sms_measure_t *m);

/*
 * SMS or LMS for a text and an optional subject (NULL, or 0 bytes: none).
 * A text of at most 90 bytes is an SMS (its subject is not sent, so not
 * checked); above, an LMS, whose text and subject must both fit.  Returns
 * c->error.
 */
int integrations_sms_classify(int charset, const char *text, size_t tlen,
    const char *subject, size_t slen, integrations_sms_class_t *c);

/*
 * An LMS subject when the notification has none: the text's first line,
 * cut at a character so that it fits 40 bytes.  Returns its length in
 * bytes of the UTF-8 text (0 for a text that starts with a line break).
 */
size_t integrations_sms_default_subject(int charset, const char *text,
    size_t tlen);

/* AlimTalk's limit: 0 when text holds at most 1000 characters, else -1 */
int integrations_sms_alimtalk_fits(const char *text, size_t tlen);

/*
 * A 422 detail for an error, e.g. "U+1F600 at byte 12 is not in EUC-KR:
 * an SMS cannot carry it" or "2034 bytes in EUC-KR; an LMS holds 2000".
 * Writes at most size bytes with the NUL.
 */
void integrations_sms_describe(const integrations_sms_measure_t *m,
    int charset, int in_subject, char *buf, size_t size);

#endif /* INTEGRATIONS_SMS_KR_H */
