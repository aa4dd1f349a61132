/*
 * Korean SMS rules: EUC-KR length and representability, SMS vs LMS, the
 * character a 422 names.
 */

#include <stdint.h>

#include "tap.h"
#include "integrations_sms_kr.h"


#define S(s)  s, sizeof(s) - 1


static void
test_measure(void)
{
    char                        buf[160];
    integrations_sms_measure_t  m;

    ok(integrations_sms_init() == 0, "EUC-KR and CP949 converters open");

    is_int(integrations_sms_measure(0, S("Hello 123"), &m), 0, "ASCII");
    is_int(m.bytes, 9, "one byte a character");

    is_int(integrations_sms_measure(0, S("[쿠팡] 인증번호 123456"), &m), 0,
           "Hangul");
    is_int(m.bytes, 22, "two bytes a syllable");
    is_int(m.chars, 16, "characters counted");

    is_int(integrations_sms_measure(0, S("€ ㈜ 漢"), &m), 0,
           "KS X 1001 symbols and hanja");
    is_int(m.bytes, 8, "two bytes each");

    is_int(integrations_sms_measure(0, S("안녕 😀!"), &m),
           INTEGRATIONS_SMS_UNREPRESENTABLE, "an emoji is refused");
    is_int(m.code_point, 0x1F600, "naming its code point");
    is_int(m.offset, 7, "and its byte offset in the UTF-8");

    integrations_sms_describe(&m, 0, 0, buf, sizeof(buf));
    is_str(buf, "U+1F600 at byte 7 is not in EUC-KR: a Korean SMS cannot "
           "carry it", "the 422 detail");

    is_int(integrations_sms_measure(0, S("뷁"), &m),
           INTEGRATIONS_SMS_UNREPRESENTABLE,
           "a syllable outside KS X 1001's 2350 is refused");
    is_int(m.code_point, 0xBDC1, "U+BDC1");

    is_int(integrations_sms_measure(INTEGRATIONS_SMS_CP949, S("뷁"), &m), 0,
           "CP949 holds every syllable");
    is_int(m.bytes, 2, "in two bytes");

    is_int(integrations_sms_measure(0, S("a\xc3"), &m),
           INTEGRATIONS_SMS_BAD_UTF8, "cut UTF-8");
    is_int(m.offset, 1, "at its first bad byte");
    is_int(integrations_sms_measure(0, S("\xed\xa0\x80"), &m),
           INTEGRATIONS_SMS_BAD_UTF8, "an encoded surrogate");
    is_int(integrations_sms_measure(0, S("\xc0\xaf"), &m),
           INTEGRATIONS_SMS_BAD_UTF8, "an overlong");
    is_int(integrations_sms_measure(0, "", 0, &m), INTEGRATIONS_SMS_EMPTY,
           "empty");
}


static void
test_classify(void)
{
    char                      text[4200], buf[160];
    size_t                    i, n;
    integrations_sms_class_t  c;

    /* 45 syllables are 90 bytes: an SMS; 46 are an LMS */

    text[0] = '\0';
    for (i = 0; i < 45; i++) {
        strcat(text, "가");
    }

    is_int(integrations_sms_classify(0, text, strlen(text), NULL, 0, &c), 0,
           "45 syllables");
    ok(c.type == INTEGRATIONS_SMS_TYPE_SMS && c.text.bytes == 90,
       "90 bytes: SMS");

    strcat(text, "a");
    is_int(integrations_sms_classify(0, text, strlen(text), S("제목"), &c), 0,
           "91 bytes");
    ok(c.type == INTEGRATIONS_SMS_TYPE_LMS && c.subject.bytes == 4,
       "LMS, with its subject measured");

    /* 2000 bytes fit an LMS, 2001 do not */

    text[0] = '\0';
    for (i = 0; i < 1000; i++) {
        strcat(text, "가");
    }

    is_int(integrations_sms_classify(0, text, strlen(text), NULL, 0, &c), 0,
           "2000 bytes: LMS");
    strcat(text, "a");
    is_int(integrations_sms_classify(0, text, strlen(text), NULL, 0, &c),
           INTEGRATIONS_SMS_TOO_LONG, "2001 bytes: too long");
    integrations_sms_describe(&c.text, 0, c.in_subject, buf, sizeof(buf));
    is_str(buf, "2001 bytes in EUC-KR; an LMS holds 2000", "described");

    is_int(integrations_sms_classify(0, S("짧은 문자"), S("😀"), &c), 0,
           "an SMS's subject is not sent, so not checked");

    memset(text, 'x', 100);
    is_int(integrations_sms_classify(0, text, 100, S("제목 😀"), &c),
           INTEGRATIONS_SMS_UNREPRESENTABLE, "an LMS subject is checked");
    ok(c.in_subject && c.subject.offset == 7, "naming the subject");

    is_int(integrations_sms_classify(0, text, 100,
                                     S("스물한글자제목입니다스물한글자제목입니다가"),
                                     &c),
           INTEGRATIONS_SMS_TOO_LONG, "a 42-byte subject is too long");

    /* a default subject: the first line, cut to 40 bytes at a character */

    n = integrations_sms_default_subject(0, S("주문하신 전자책이 준비되었습니다 링크를 확인하세요\n본문"));
    is_int(n, 3 * 18 + 3, "18 syllables and 3 spaces, the last blank dropped");
    n = integrations_sms_default_subject(0, S("Short title \nbody"));
    is_int(n, 11, "a short first line, without trailing blanks");
    n = integrations_sms_default_subject(0, S("😀 emoji\nbody"));
    is_int(n, 0, "stops before a character the charset lacks");

    /* AlimTalk counts characters */

    text[0] = '\0';
    for (i = 0; i < 1000; i++) {
        strcat(text, "가");
    }
    is_int(integrations_sms_alimtalk_fits(text, strlen(text)), 0,
           "AlimTalk: 1000 characters");
    strcat(text, "a");
    is_int(integrations_sms_alimtalk_fits(text, strlen(text)), -1,
           "AlimTalk: 1001 are too many");
}


int
main(void)
{
    test_measure();
    test_classify();

    return done_testing();
}
