/*
 * Korean SMS rules: see integrations_sms_kr.h.
 */

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

#include "integrations_notify.h"
#include "integrations_sms_kr.h"


static iconv_t integrations_sms_cd(int charset);


static const char  *integrations_sms_charsets[] = { "EUC-KR", "CP949" };

static iconv_t  integrations_sms_cds[2] = { (iconv_t) -1, (iconv_t) -1 };


static iconv_t
integrations_sms_cd(int charset)
{
    if (charset != INTEGRATIONS_SMS_CP949) {
        charset = INTEGRATIONS_SMS_EUC_KR;
    }

    if (integrations_sms_cds[charset] == (iconv_t) -1) {
        integrations_sms_cds[charset] =
                      iconv_open(integrations_sms_charsets[charset], "UTF-8");
    }

    return integrations_sms_cds[charset];
}


int
integrations_sms_init(void)
{
    if (integrations_sms_cd(INTEGRATIONS_SMS_EUC_KR) == (iconv_t) -1
        || integrations_sms_cd(INTEGRATIONS_SMS_CP949) == (iconv_t) -1)
    {
        return -1;
    }

    return 0;
}


int
integrations_sms_measure(int charset, const char *s, size_t len,
    integrations_sms_measure_t *m)
{
    char      out[512], *op, *ip;
    size_t    i, n, il, ol, r;
    iconv_t   cd;
    uint32_t  cp;

    memset(m, 0, sizeof(integrations_sms_measure_t));

    /* UTF-8 first: iconv's decoder is not the judge of what is valid */

    i = 0;

    while (i < len) {
        n = integrations_notify_utf8_next((const unsigned char *) s + i,
                                          len - i, &cp);
        if (n == 0) {
            m->error = INTEGRATIONS_SMS_BAD_UTF8;
            m->offset = i;
            return m->error;
        }

        i += n;
        m->chars++;
    }

    cd = integrations_sms_cd(charset);
    if (cd == (iconv_t) -1) {
        m->error = INTEGRATIONS_SMS_NO_ICONV;
        return m->error;
    }

    iconv(cd, NULL, NULL, NULL, NULL);

    ip = (char *) s;
    il = len;

    while (il > 0) {
        op = out;
        ol = sizeof(out);

        r = iconv(cd, &ip, &il, &op, &ol);

        m->bytes += sizeof(out) - ol;

        if (r != (size_t) -1) {
            continue;
        }

        if (errno == E2BIG) {
            continue;
        }

        /*
         * EILSEQ: the input stops at the character the charset lacks (the
         * UTF-8 is valid, so EINVAL, a cut sequence, cannot happen).
         */

        m->error = INTEGRATIONS_SMS_UNREPRESENTABLE;
        m->offset = ip - s;

        if (integrations_notify_utf8_next((const unsigned char *) ip, il, &cp)
            == 0)
        {
            cp = 0xfffd;
        }

        m->code_point = cp;

        return m->error;
    }

    if (len == 0) {
        m->error = INTEGRATIONS_SMS_EMPTY;
    }

    return m->error;
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
    size_t    i, n, chars;
    uint32_t  cp;

    chars = 0;

    for (i = 0; i < tlen; i += n) {
        n = integrations_notify_utf8_next((const unsigned char *) text + i,
                                          tlen - i, &cp);
        if (n == 0 || ++chars > INTEGRATIONS_ATA_MAX_CHARS) {
            return -1;
        }
    }

    return 0;
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
        snprintf(buf, size, "the %s converter is not available", cs);
    }
}
