/*
 * Korean SMS rules: EUC-KR length and representability, SMS vs LMS, the
 * character a 422 names.
 */

#include <iconv.h>
#include <stdint.h>

#include "tap.h"
#include "integrations_sms_kr.h"


#define S(s)  s, sizeof(s) - 1


static void
test_measure(void)
{
    char                        buf[160];
    integrations_sms_measure_t  m;

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
                                     S("스물한글자제목입니다"
                                       "스물한글자제목입니다가"),
                                     &c),
           INTEGRATIONS_SMS_TOO_LONG, "a 42-byte subject is too long");

    /* a default subject: the first line, cut to 40 bytes at a character */

    n = integrations_sms_default_subject(0, S("주문하신 전자책이 준비되었습니다"
                                              " 링크를 확인하세요\n본문"));
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


/* iconv's answer for one code point: its length in bytes, or 0 */

static size_t
iconv_width(iconv_t cd, uint32_t cp)
{
    char    in[4], out[16], *ip, *op;
    size_t  il, ol;

    if (cp < 0x800) {
        in[0] = (char) (0xc0 | (cp >> 6));
        in[1] = (char) (0x80 | (cp & 0x3f));
        il = 2;

    } else {
        in[0] = (char) (0xe0 | (cp >> 12));
        in[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        in[2] = (char) (0x80 | (cp & 0x3f));
        il = 3;
    }

    ip = in;
    op = out;
    ol = sizeof(out);

    iconv(cd, NULL, NULL, NULL, NULL);

    if (iconv(cd, &ip, &il, &op, &ol) != 0) {
        return 0;
    }

    return sizeof(out) - ol;
}


static void
test_table(void)
{
    int                          cs, i;
    char                         u[4];
    size_t                       bad, n, w;
    iconv_t                      cd;
    uint32_t                     cp;
    integrations_sms_measure_t   m;

    static const char  *names[] = { "EUC-KR", "CP949" };

    for (cs = 0; cs < 2; cs++) {
        cd = iconv_open(names[cs], "UTF-8");
        if (!ok(cd != (iconv_t) -1, "iconv %s for the cross-check",
                names[cs]))
        {
            continue;
        }

        bad = 0;

        for (cp = 0x80; cp < 0x10000; cp++) {
            if (cp >= 0xd800 && cp < 0xe000) {
                continue;
            }

            if (cp < 0x800) {
                u[0] = (char) (0xc0 | (cp >> 6));
                u[1] = (char) (0x80 | (cp & 0x3f));
                n = 2;

            } else {
                u[0] = (char) (0xe0 | (cp >> 12));
                u[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
                u[2] = (char) (0x80 | (cp & 0x3f));
                n = 3;
            }

            w = iconv_width(cd, cp);

            /* the C1 controls: glibc's EUC-KR passes them, the table not */

            if (cp < 0xa0) {
                w = 0;
            }

            i = integrations_sms_measure(cs, u, n, &m);

            if ((i == 0) != (w == 2) || (i == 0 && m.bytes != 2)) {
                if (bad++ < 5) {
                    diag("%s U+%04X: iconv %zu, table %d", names[cs],
                         (unsigned) cp, w, i);
                }
            }
        }

        is_int(bad, 0, "the %s table agrees with iconv on every BMP "
               "character", names[cs]);
        iconv_close(cd);
    }

    is_int(integrations_sms_measure(0, "\xc2\x85", 2, &m),
           INTEGRATIONS_SMS_UNREPRESENTABLE, "U+0085 (a C1 control) refused");
    is_int(integrations_sms_measure(0, "a\xf3\xa0\x80\x81", 5, &m),
           INTEGRATIONS_SMS_UNREPRESENTABLE,
           "U+E0001 refused (iconv would drop it silently)");
    is_int(m.code_point, 0xE0001, "named");
}


int
main(void)
{
    test_table();
    test_measure();
    test_classify();

    return done_testing();
}
