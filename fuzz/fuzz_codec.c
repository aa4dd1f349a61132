/*
 * libFuzzer target: the strict codecs.  Besides memory safety, checks the
 * properties the verifier relies on: a decoder never reports more bytes
 * than fit; base64 and hex encodings are canonical (what decodes
 * re-encodes to the same text, hex up to case); percent-decoding never
 * grows its input and works in place.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "integrations_codec.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          n, m, cap;
    uint8_t        *src, *out, *enc;

    /* exact-size copies: a read or write past the end is an ASan report */

    src = malloc(size ? size : 1);
    memcpy(src, data, size);

    cap = size / 2 + 1;
    out = malloc(cap + size);
    enc = malloc(INTEGRATIONS_CODEC_BASE64_LEN(size) + 2 * size + 1);

    if (integrations_codec_hex_decode(out, cap, src, size, &n) == 0) {
        if (n * 2 != size
            || integrations_codec_hex_encode(enc, out, n) != size
            || strncasecmp((char *) enc, (char *) src, size) != 0)
        {
            abort();
        }
    }

    cap = INTEGRATIONS_CODEC_BASE64_DECODED_MAX(size);

    if (integrations_codec_base64_decode(out, cap, src, size, &n) == 0) {
        if (n > cap
            || integrations_codec_base64_encode(enc, out, n) != size
            || memcmp(enc, src, size) != 0)
        {
            abort();
        }
    }

    /* anything encodes to something that decodes back to it */

    m = integrations_codec_base64_encode(enc, src, size);

    if (integrations_codec_base64_decode(out, size + 1, enc, m, &n) != 0
        || n != size || memcmp(out, src, size) != 0)
    {
        abort();
    }

    if (integrations_codec_percent_decode(out, size, src, size, size & 1, &n)
        == 0)
    {
        if (n > size
            || integrations_codec_percent_decode(src, size, src, size,
                                                 size & 1, &m) != 0
            || m != n || memcmp(src, out, n) != 0)
        {
            abort();
        }
    }

    free(enc);
    free(out);
    free(src);

    return 0;
}
