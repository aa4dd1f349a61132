/*
 * Strict hex, base64 and percent codecs; see integrations_codec.h.
 *
 * The decoders are table driven: a byte outside the alphabet maps to a
 * value with the high bit set, so one test per byte rejects it.  They are
 * used on signatures, keys at configuration time and form bodies; none of
 * these needs constant-time decoding (a signature is not a secret, and a
 * key is decoded once, before any request).
 */

#include <stdint.h>
#include <string.h>

#include "integrations_codec.h"


#define INTEGRATIONS_CODEC_BAD  0x80


static int integrations_codec_hex_value(unsigned char c);
static unsigned char integrations_codec_base64_value(unsigned char c);


static const char  integrations_codec_hex_digits[] = "0123456789abcdef";

static const char  integrations_codec_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


static int
integrations_codec_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


int
integrations_codec_hex_decode(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len, size_t *out_len)
{
    int     hi, lo;
    size_t  i;

    if (len % 2 != 0 || len / 2 > dst_size) {
        return -1;
    }

    for (i = 0; i < len; i += 2) {
        hi = integrations_codec_hex_value(src[i]);
        lo = integrations_codec_hex_value(src[i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        dst[i / 2] = (unsigned char) (hi << 4 | lo);
    }

    *out_len = len / 2;

    return 0;
}


size_t
integrations_codec_hex_encode(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        dst[2 * i] = integrations_codec_hex_digits[src[i] >> 4];
        dst[2 * i + 1] = integrations_codec_hex_digits[src[i] & 0x0f];
    }

    return 2 * len;
}


static unsigned char
integrations_codec_base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+') {
        return 62;
    }

    if (c == '/') {
        return 63;
    }

    return INTEGRATIONS_CODEC_BAD;
}


int
integrations_codec_base64_decode(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len, size_t *out_len)
{
    size_t         i, n, pad;
    uint32_t       w;
    unsigned char  v[4];

    if (len % 4 != 0) {
        return -1;
    }

    pad = 0;

    if (len > 0 && src[len - 1] == '=') {
        pad = (src[len - 2] == '=') ? 2 : 1;
    }

    n = len / 4 * 3 - pad;

    if (n > dst_size) {
        return -1;
    }

    for (i = 0; i < len; i += 4) {
        v[0] = integrations_codec_base64_value(src[i]);
        v[1] = integrations_codec_base64_value(src[i + 1]);

        /* "=" maps to BAD too: only the last quantum may carry it. */

        if (i + 4 == len && pad > 0) {
            v[2] = (pad == 2) ? 0 : integrations_codec_base64_value(src[i + 2]);
            v[3] = 0;

        } else {
            v[2] = integrations_codec_base64_value(src[i + 2]);
            v[3] = integrations_codec_base64_value(src[i + 3]);
        }

        if ((v[0] | v[1] | v[2] | v[3]) & INTEGRATIONS_CODEC_BAD) {
            return -1;
        }

        w = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12
            | (uint32_t) v[2] << 6 | v[3];

        if (i + 4 == len && pad == 2) {
            if (w & 0xffff) {
                return -1;          /* non-zero unused bits */
            }

            dst[i / 4 * 3] = (unsigned char) (w >> 16);
            break;
        }

        if (i + 4 == len && pad == 1) {
            if (w & 0xff) {
                return -1;
            }

            dst[i / 4 * 3] = (unsigned char) (w >> 16);
            dst[i / 4 * 3 + 1] = (unsigned char) (w >> 8);
            break;
        }

        dst[i / 4 * 3] = (unsigned char) (w >> 16);
        dst[i / 4 * 3 + 1] = (unsigned char) (w >> 8);
        dst[i / 4 * 3 + 2] = (unsigned char) w;
    }

    *out_len = n;

    return 0;
}


size_t
integrations_codec_base64_encode(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    size_t          i, o;
    uint32_t        w;
    const char     *a;

    a = integrations_codec_base64_alphabet;
    o = 0;

    for (i = 0; i + 3 <= len; i += 3) {
        w = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8 | src[i + 2];

        dst[o++] = a[w >> 18 & 0x3f];
        dst[o++] = a[w >> 12 & 0x3f];
        dst[o++] = a[w >> 6 & 0x3f];
        dst[o++] = a[w & 0x3f];
    }

    if (len - i == 1) {
        w = (uint32_t) src[i] << 16;

        dst[o++] = a[w >> 18 & 0x3f];
        dst[o++] = a[w >> 12 & 0x3f];
        dst[o++] = '=';
        dst[o++] = '=';

    } else if (len - i == 2) {
        w = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8;

        dst[o++] = a[w >> 18 & 0x3f];
        dst[o++] = a[w >> 12 & 0x3f];
        dst[o++] = a[w >> 6 & 0x3f];
        dst[o++] = '=';
    }

    return o;
}


int
integrations_codec_percent_decode(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len, int plus_as_space,
    size_t *out_len)
{
    int     hi, lo;
    size_t  i, o;

    o = 0;

    for (i = 0; i < len; i++) {

        /* Checked per byte: in-place decoding never outruns the input. */

        if (o >= dst_size) {
            return -1;
        }

        if (src[i] == '%') {
            if (len - i < 3) {
                return -1;
            }

            hi = integrations_codec_hex_value(src[i + 1]);
            lo = integrations_codec_hex_value(src[i + 2]);

            if (hi < 0 || lo < 0) {
                return -1;
            }

            dst[o++] = (unsigned char) (hi << 4 | lo);
            i += 2;

        } else if (src[i] == '+' && plus_as_space) {
            dst[o++] = ' ';

        } else {
            dst[o++] = src[i];
        }
    }

    *out_len = o;

    return 0;
}
