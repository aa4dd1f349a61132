/*
 * libFuzzer target: Korean SMS rules on any bytes, both charsets.  A
 * measure is consistent (bytes between chars and twice chars), a
 * refusal points inside the input, the default subject is a prefix cut
 * at a character and fits 40 bytes.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_notify.h"
#include "integrations_sms_kr.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                          cs, rc;
    size_t                       n, half;
    const char                  *s;
    integrations_sms_class_t     c;
    integrations_sms_measure_t   m;

    s = (const char *) data;

    for (cs = 0; cs < 2; cs++) {
        rc = integrations_sms_measure(cs, s, size, &m);

        if (rc == INTEGRATIONS_SMS_OK
            && (m.bytes < m.chars || m.bytes > 2 * m.chars))
        {
            abort();
        }

        if ((rc == INTEGRATIONS_SMS_BAD_UTF8
             || rc == INTEGRATIONS_SMS_UNREPRESENTABLE) && m.offset >= size)
        {
            abort();
        }

        n = integrations_sms_default_subject(cs, s, size);

        if (n > size
            || integrations_notify_utf8_check((const unsigned char *) s, n)
               != n
            || memchr(s, '\n', n) != NULL)
        {
            abort();
        }

        if (n && (integrations_sms_measure(cs, s, n, &m) != 0
                  || m.bytes > INTEGRATIONS_LMS_SUBJECT_MAX_BYTES))
        {
            abort();
        }

        half = size / 2;
        integrations_sms_classify(cs, s, half, s + half, size - half, &c);

        if (c.error == INTEGRATIONS_SMS_OK
            && c.type == INTEGRATIONS_SMS_TYPE_SMS
            && c.text.bytes > INTEGRATIONS_SMS_MAX_BYTES)
        {
            abort();
        }
    }

    integrations_sms_alimtalk_fits(s, size);

    return 0;
}
