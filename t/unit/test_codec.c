/*
 * Unit tests of the strict codecs: hex, base64, percent-decoding.
 * Inputs are copied to exact-size heap buffers, so that valgrind or ASan
 * would catch a decoder reading one byte past the length it was given.
 */

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "tap.h"
#include "integrations_codec.h"


typedef int (*t_decode_pt)(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len, size_t *out_len);


/* Decodes s (exact-size copy) into a 256-byte buffer; -1 or the length. */

static long
t_dec(t_decode_pt dec, const char *s, size_t len, unsigned char *out,
    size_t out_size)
{
    int             rc;
    size_t          n;
    unsigned char  *src;

    src = malloc(len ? len : 1);
    memcpy(src, s, len);

    n = 12345;
    rc = dec(out, out_size, src, len, &n);
    free(src);

    return rc == 0 ? (long) n : -1;
}


static long
t_hex(const char *s, unsigned char *out)
{
    return t_dec(integrations_codec_hex_decode, s, strlen(s), out, 256);
}


static long
t_b64(const char *s, unsigned char *out)
{
    return t_dec(integrations_codec_base64_decode, s, strlen(s), out, 256);
}


static long
t_pct(const char *s, int plus, unsigned char *out, size_t out_size)
{
    int             rc;
    size_t          n, len;
    unsigned char  *src;

    len = strlen(s);
    src = malloc(len ? len : 1);
    memcpy(src, s, len);

    rc = integrations_codec_percent_decode(out, out_size, src, len, plus, &n);
    free(src);

    return rc == 0 ? (long) n : -1;
}


static void
t_hex_cases(void)
{
    int            a, b, good, bad;
    char           in[3];
    long           n;
    unsigned char  out[256], enc[64];

    n = t_hex("00ff7Fa0", out);
    ok(n == 4 && out[0] == 0 && out[1] == 0xff && out[2] == 0x7f
       && out[3] == 0xa0, "hex: mixed case decodes");

    is_int(t_hex("", out), 0, "hex: empty is zero bytes");
    is_int(t_hex("abc", out), -1, "hex: odd length refused");
    is_int(t_hex("0g", out), -1, "hex: non-hex refused");
    is_int(t_hex(" 0a", out), -1, "hex: leading space refused");
    is_int(t_hex("0a\n", out), -1, "hex: trailing newline refused");
    is_int(t_hex("0x0a", out), -1, "hex: 0x prefix refused");

    is_int(t_dec(integrations_codec_hex_decode, "0a0b0c", 6, out, 2), -1,
           "hex: a result larger than dst_size refused");
    is_int(t_dec(integrations_codec_hex_decode, "0a0b0c", 6, out, 3), 3,
           "hex: a result exactly dst_size taken");
    is_int(t_dec(integrations_codec_hex_decode, "0a0b0c00", 6, out, 3), 3,
           "hex: nothing past len is read");

    /* every pair of bytes: accepted exactly when both are hex digits */

    good = 0;
    bad = 0;

    for (a = 0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            in[0] = (char) a;
            in[1] = (char) b;
            n = t_dec(integrations_codec_hex_decode, in, 2, out, 1);

            if ((n == 1) != (isxdigit(a) && isxdigit(b))) {
                bad++;

            } else if (n == 1
                       && out[0] != (unsigned char) strtol(
                              (in[2] = '\0', in), NULL, 16))
            {
                bad++;

            } else {
                good++;
            }
        }
    }

    is_int(bad, 0, "hex: all 65536 byte pairs decode as strtol says (%d)",
           good);

    is_int(integrations_codec_hex_encode(enc, (unsigned char *) "\x00\xab\xff",
                                         3), 6, "hex: encode length");
    ok(memcmp(enc, "00abff", 6) == 0, "hex: encode is lowercase");
}


static void
t_base64_cases(void)
{
    size_t         i, len, n;
    long           r;
    int            bad;
    unsigned char  out[256], raw[200], enc[300], ref[300];

    static const char  *rfc[][2] = {
        { "", "" },
        { "f", "Zg==" },
        { "fo", "Zm8=" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" },
        { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" }
    };

    for (i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
        r = t_b64(rfc[i][1], out);
        ok(r == (long) strlen(rfc[i][0])
           && memcmp(out, rfc[i][0], r) == 0,
           "base64: RFC 4648 \"%s\" decodes", rfc[i][1]);

        n = integrations_codec_base64_encode(enc,
                                             (unsigned char *) rfc[i][0],
                                             strlen(rfc[i][0]));
        ok(n == strlen(rfc[i][1]) && memcmp(enc, rfc[i][1], n) == 0,
           "base64: RFC 4648 \"%s\" encodes", rfc[i][0]);
    }

    is_int(t_b64("Zg", out), -1, "base64: missing padding refused");
    is_int(t_b64("Zg=", out), -1, "base64: short padding refused");
    is_int(t_b64("Z===", out), -1, "base64: three pads refused");
    is_int(t_b64("====", out), -1, "base64: only pads refused");
    is_int(t_b64("Zg==Zg==", out), -1, "base64: padding mid-way refused");
    is_int(t_b64("Zm=v", out), -1, "base64: '=' inside a quantum refused");
    is_int(t_b64("Zh==", out), -1, "base64: non-zero pad bits refused");
    is_int(t_b64("Zm9=", out), -1, "base64: non-zero pad bits (1) refused");
    is_int(t_b64("-_-_", out), -1, "base64: URL-safe alphabet refused");
    is_int(t_b64("Zm9v\n", out), -1, "base64: trailing newline refused");
    is_int(t_b64("Zm 9v", out), -1, "base64: inner space refused");
    is_int(t_dec(integrations_codec_base64_decode, "Zm\0v", 4, out, 256),
           -1, "base64: NUL byte refused");
    is_int(t_dec(integrations_codec_base64_decode, "Zm9vYmFy", 8, out, 5),
           -1, "base64: a result larger than dst_size refused");
    is_int(t_dec(integrations_codec_base64_decode, "Zm9vYmE=", 8, out, 5),
           5, "base64: padding counted when sizing (5 in 5)");
    is_int(t_dec(integrations_codec_base64_decode, "Zm9vYmFy====", 8, out,
                 6), 6, "base64: nothing past len is read");

    /* against OpenSSL's encoder, every length up to 200 */

    bad = 0;

    for (len = 0; len <= sizeof(raw); len++) {
        for (i = 0; i < len; i++) {
            raw[i] = (unsigned char) (i * 151 + len * 7 + 3);
        }

        n = integrations_codec_base64_encode(enc, raw, len);
        EVP_EncodeBlock(ref, raw, (int) len);

        if (n != INTEGRATIONS_CODEC_BASE64_LEN(len) || n != strlen((char *) ref)
            || memcmp(enc, ref, n) != 0)
        {
            bad++;
            continue;
        }

        r = t_dec(integrations_codec_base64_decode, (char *) enc, n, out,
                  sizeof(out));

        if (r != (long) len || memcmp(out, raw, len) != 0) {
            bad++;
        }
    }

    is_int(bad, 0, "base64: 0..200 bytes encode as OpenSSL and round-trip");
}


static void
t_percent_cases(void)
{
    long           n;
    size_t         m;
    unsigned char  out[64], buf[16];

    n = t_pct("a%20b%2Bc+d", 1, out, sizeof(out));
    ok(n == 7 && memcmp(out, "a b+c d", 7) == 0,
       "percent: %%20, %%2B and + (form)");

    n = t_pct("a+b", 0, out, sizeof(out));
    ok(n == 3 && memcmp(out, "a+b", 3) == 0, "percent: + kept outside forms");

    n = t_pct("%2b%2B%e2%82%ac", 1, out, sizeof(out));
    ok(n == 5 && memcmp(out, "++\xe2\x82\xac", 5) == 0,
       "percent: either case, UTF-8 bytes");

    n = t_pct("%00", 1, out, sizeof(out));
    ok(n == 1 && out[0] == 0, "percent: %%00 is a NUL byte");

    is_int(t_pct("%", 1, out, sizeof(out)), -1, "percent: lone %% refused");
    is_int(t_pct("a%2", 1, out, sizeof(out)), -1, "percent: %%2 refused");
    is_int(t_pct("%zz", 1, out, sizeof(out)), -1, "percent: %%zz refused");
    is_int(t_pct("%-1", 1, out, sizeof(out)), -1, "percent: %%-1 refused");
    is_int(t_pct("", 1, out, sizeof(out)), 0, "percent: empty is empty");
    is_int(t_pct("abcd", 1, out, 3), -1, "percent: dst too small refused");
    is_int(t_pct("a%20", 1, out, 2), 2, "percent: exact dst_size taken");

    memcpy(buf, "x%41y+z", 7);
    ok(integrations_codec_percent_decode(buf, 7, buf, 7, 1, &m) == 0
       && m == 5 && memcmp(buf, "xAy z", 5) == 0,
       "percent: in place");
}


int
main(void)
{
    t_hex_cases();
    t_base64_cases();
    t_percent_cases();

    return done_testing();
}
