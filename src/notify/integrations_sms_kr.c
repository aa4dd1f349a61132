/*
 * Korean SMS rules: see integrations_sms_kr.h.
 */

#include <stdio.h>
#include <string.h>

#include "integrations_notify.h"
#include "integrations_sms_kr.h"
#include "integrations_sms_kr_table.h"


static const char  *integrations_sms_charsets[] = { "EUC-KR", "CP949" };


/* 2: the character is two bytes in the charset; 0: the charset lacks it */

static int
integrations_sms_width(int charset, uint32_t cp)
{
    unsigned  row;

    if (cp < 0x80) {
        return 1;
    }

    if (charset == INTEGRATIONS_SMS_CP949) {
        /* CP949 is EUC-KR with every modern syllable, less two symbols */

        if (cp >= 0xac00 && cp <= 0xd7a3) {
            return 2;
        }

        if (cp == 0x20a9 || cp == 0x327e) {
            return 0;
        }
    }

    if (cp > 0xffff) {
        return 0;
    }

    row = integrations_sms_euckr_index[cp >> 8];

    if (row == 0) {
        return 0;
    }

    return (integrations_sms_euckr_bits[row - 1][(cp & 0xff) >> 3]
            >> (cp & 7)) & 1 ? 2 : 0;
}


int
integrations_sms_measure(int charset, const char *s, size_t len,
    integrations_sms_measure_t *m)
{
    int       w;
    size_t    i, n;
    uint32_t  cp;

    memset(m, 0, sizeof(integrations_sms_measure_t));

    if (len == 0) {
        m->error = INTEGRATIONS_SMS_EMPTY;
        return m->error;
    }

    for (i = 0; i < len; i += n) {
        n = integrations_notify_utf8_next((const unsigned char *) s + i,
                                          len - i, &cp);
        if (n == 0) {
            m->error = INTEGRATIONS_SMS_BAD_UTF8;
            m->offset = i;
            return m->error;
        }

        w = integrations_sms_width(charset, cp);

        if (w == 0) {
            m->error = INTEGRATIONS_SMS_UNREPRESENTABLE;
            m->code_point = cp;
            m->offset = i;
            return m->error;
        }

        m->bytes += w;
        m->chars++;
    }

    return INTEGRATIONS_SMS_OK;
}


int
integrations_sms_classify(int charset, const char *text, size_t tlen,
    const char *subject, size_t slen, integrations_sms_class_t *c)
{
    memset(c, 0, sizeof(integrations_sms_class_t));

    c->error = integrations_sms_measure(charset, text, tlen, &c->text);
    if (c->error != INTEGRATIONS_SMS_OK) {
        return c->error;
    }

    if (c->text.bytes <= INTEGRATIONS_SMS_MAX_BYTES) {
        c->type = INTEGRATIONS_SMS_TYPE_SMS;
        return INTEGRATIONS_SMS_OK;
    }

    c->type = INTEGRATIONS_SMS_TYPE_LMS;

    if (c->text.bytes > INTEGRATIONS_LMS_MAX_BYTES) {
        c->error = INTEGRATIONS_SMS_TOO_LONG;
        c->text.error = c->error;
        return c->error;
    }

    if (subject == NULL || slen == 0) {
        return INTEGRATIONS_SMS_OK;
    }

    c->error = integrations_sms_measure(charset, subject, slen, &c->subject);

    if (c->error == INTEGRATIONS_SMS_OK
        && c->subject.bytes > INTEGRATIONS_LMS_SUBJECT_MAX_BYTES)
    {
        c->error = INTEGRATIONS_SMS_TOO_LONG;
        c->subject.error = c->error;
    }

    c->in_subject = (c->error != INTEGRATIONS_SMS_OK);

    return c->error;
}


size_t
integrations_sms_default_subject(int charset, const char *text, size_t tlen)
{
    size_t                      i, n, end, bytes;
    uint32_t                    cp;
    integrations_sms_measure_t  m;

    end = 0;
    bytes = 0;
    i = 0;

    while (i < tlen && text[i] != '\n' && text[i] != '\r') {
        n = integrations_notify_utf8_next((const unsigned char *) text + i,
                                          tlen - i, &cp);
        if (n == 0) {
            break;
        }

        if (integrations_sms_measure(charset, text + i, n, &m)
            != INTEGRATIONS_SMS_OK
            || bytes + m.bytes > INTEGRATIONS_LMS_SUBJECT_MAX_BYTES)
        {
            break;
        }

        bytes += m.bytes;
        i += n;
        end = i;
    }

    /* no trailing blanks in a title */

    while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\t')) {
        end--;
    }

    return end;
}


int
integrations_sms_alimtalk_fits(const char *text, size_t tlen)
{
    size_t  n;

    n = integrations_notify_utf8_count(text, tlen, 0);

    return (n == (size_t) -1 || n > INTEGRATIONS_ATA_MAX_CHARS) ? -1 : 0;
}


void
integrations_sms_describe(const integrations_sms_measure_t *m, int charset,
    int in_subject, char *buf, size_t size)
{
    const char  *cs;

    cs = integrations_sms_charsets[charset == INTEGRATIONS_SMS_CP949];

    switch (m->error) {

    case INTEGRATIONS_SMS_OK:
        snprintf(buf, size, "fits");
        break;

    case INTEGRATIONS_SMS_BAD_UTF8:
        snprintf(buf, size, "not UTF-8 at byte %zu", m->offset);
        break;

    case INTEGRATIONS_SMS_UNREPRESENTABLE:
        snprintf(buf, size, "U+%04X at byte %zu is not in %s: a Korean "
                 "SMS cannot carry it", (unsigned) m->code_point, m->offset,
                 cs);
        break;

    case INTEGRATIONS_SMS_EMPTY:
        snprintf(buf, size, "empty");
        break;

    case INTEGRATIONS_SMS_TOO_LONG:
        if (in_subject) {
            snprintf(buf, size, "%zu bytes in %s; an LMS subject holds %d",
                     m->bytes, cs, INTEGRATIONS_LMS_SUBJECT_MAX_BYTES);

        } else {
            snprintf(buf, size, "%zu bytes in %s; an LMS holds %d", m->bytes,
                     cs, INTEGRATIONS_LMS_MAX_BYTES);
        }
        break;

    default:
        snprintf(buf, size, "cannot be measured");
    }
}
