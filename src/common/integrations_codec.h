/*
 * Strict byte codecs for the pure core: hex, base64 and percent-decoding.
 *
 * Every decoder takes a pointer and a length (inputs are never assumed to
 * be NUL-terminated), writes at most dst_size bytes, and either decodes
 * the whole input or fails: there is no partial result, no skipped junk,
 * no white space, and no reading past len.  Decoded lengths are returned
 * through *out_len, so that a caller comparing a decoded signature can
 * check its length before comparing a single byte.
 */

#ifndef INTEGRATIONS_CODEC_H
#define INTEGRATIONS_CODEC_H

#include <stddef.h>


/* Buffer sizes for encoders; no NUL is ever written. */
#define INTEGRATIONS_CODEC_HEX_LEN(n)     ((n) * 2)
#define INTEGRATIONS_CODEC_BASE64_LEN(n)  ((((n) + 2) / 3) * 4)

/* Upper bound of a decoded length, for sizing destination buffers. */
#define INTEGRATIONS_CODEC_BASE64_DECODED_MAX(n)  (((n) / 4) * 3)


/*
 * Hex, either case, an even number of digits.  An empty input decodes to
 * zero bytes.  Returns 0, or -1 on an odd length, a non-hex byte, or when
 * the result would not fit in dst_size bytes.
 */
int integrations_codec_hex_decode(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len, size_t *out_len);

/* Lowercase hex; writes INTEGRATIONS_CODEC_HEX_LEN(len) bytes. */
size_t integrations_codec_hex_encode(unsigned char *dst,
    const unsigned char *src, size_t len);

/*
 * Standard base64 (RFC 4648 section 4, alphabet "+/") with padding: the
 * length is a multiple of 4, "=" appears only as the last one or two
 * bytes, and the bits that padding leaves unused are zero, so that every
 * byte string has exactly one accepted encoding.  URL-safe alphabet, white
 * space and missing padding are all rejected.  An empty input decodes to
 * zero bytes.  Returns 0, or -1 (and nothing useful in dst).
 */
int integrations_codec_base64_decode(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len, size_t *out_len);

/* Padded standard base64; writes INTEGRATIONS_CODEC_BASE64_LEN(len) bytes. */
size_t integrations_codec_base64_encode(unsigned char *dst,
    const unsigned char *src, size_t len);

/*
 * Percent-decoding: "%XX" (hex, either case) becomes one byte; any other
 * byte is copied, except that with plus_as_space "+" becomes " ", as
 * application/x-www-form-urlencoded wants.  A "%" not followed by two hex
 * digits is an error.  The output is never longer than the input, so
 * dst_size >= len always suffices; dst may equal src (in-place decoding).
 * Returns 0, or -1.
 */
int integrations_codec_percent_decode(unsigned char *dst, size_t dst_size,
    const unsigned char *src, size_t len, int plus_as_space,
    size_t *out_len);

#endif /* INTEGRATIONS_CODEC_H */
