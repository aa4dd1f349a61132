/*
 * Recipients: validated and normalized per channel at the request (a 422
 * names the field), masked for logs and alerts.
 *
 *   kind            accepts                                 normalized
 *   E164 (Twilio)   "+1 (415) 555-0123", "00 44 20 ...",    "+14155550123"
 *                   national "010-1234-5678" with a
 *                   default country code (82)               "+821012345678"
 *   KR_MOBILE       "010-1234-5678", "010 1234 5678",       "01012345678"
 *   (Solapi)        "+82 10-1234-5678", "+82 010 ...",
 *                   "0082...", "821012345678"; mobile
 *                   prefixes 010 (8 more digits), 011, 016,
 *                   017, 018, 019 (7 or 8)
 *   EMAIL           a practical RFC 5321 subset: an ASCII   "Kim@example.com"
 *                   dot-atom local part (no quotes, no      (the domain in
 *                   comments, <= 64 bytes), a domain of     lower case)
 *                   two or more LDH labels (<= 253 bytes);
 *                   UTF-8 labels become A-labels            "a@xn--3e0b707e.kr"
 *                   ("a@한국.kr")
 *   FCM_TOKEN       32..4096 of [A-Za-z0-9_:.-]             as given
 *   SLACK_CHANNEL   "#name" or "name" (lower case, no       "name", "C0123ABCD"
 *                   spaces, dots or commas, <= 80 bytes)
 *                   or an id "C0123ABCD" (C, G, D, U, W)
 *
 * Spaces, tabs, "-", ".", "(" and ")" between digits are separators in
 * phone numbers; nothing else is.  White space around any recipient is
 * trimmed.  IDN: labels are lower-cased in ASCII, Latin-1, Greek and
 * Cyrillic only, and not NFC-normalized (full IDNA2008 mapping needs
 * tables this core does not carry); "。" (U+3002) and its full-width kin
 * separate labels as "." does.
 *
 * Masks (for logs and alerts; never the full recipient):
 *   KR_MOBILE  "010-****-5678"          E164  "+1 ***-***-0123",
 *                                             "+82 10-****-5678",
 *                                             "+44 ******0958"
 *   EMAIL      "j***@example.com"       FCM   "dXb3Rk***"
 *   SLACK      as it is (a channel is not personal)
 */

#ifndef INTEGRATIONS_RECIPIENT_H
#define INTEGRATIONS_RECIPIENT_H

#include <stddef.h>


typedef enum {
    INTEGRATIONS_RCPT_E164 = 0,
    INTEGRATIONS_RCPT_KR_MOBILE,
    INTEGRATIONS_RCPT_EMAIL,
    INTEGRATIONS_RCPT_FCM_TOKEN,
    INTEGRATIONS_RCPT_SLACK_CHANNEL,
    INTEGRATIONS_RCPT_NONE            /* a Slack webhook: the URL is the
                                         recipient, "to" is not used */
} integrations_rcpt_kind_e;


#define INTEGRATIONS_RCPT_MAX   4096  /* normalized, without the NUL */
#define INTEGRATIONS_RCPT_MASK  64    /* a mask, with the NUL */


/*
 * Normalizes in[0..len) into out (size bytes, NUL-terminated): 0 and
 * *out_len, or -1 and *why, a short reason for the 422 ("not a Korean
 * mobile number").  default_cc: the country calling code a national
 * number is in (E164 only; 0: a number must start with "+" or "00").
 */
int integrations_rcpt_normalize(int kind, unsigned default_cc,
    const char *in, size_t len, char *out, size_t size, size_t *out_len,
    const char **why);

/*
 * The mask of a normalized recipient into out (INTEGRATIONS_RCPT_MASK
 * bytes): its length.  Something not in normalized form masks as "***".
 */
size_t integrations_rcpt_mask(int kind, const char *r, size_t len,
    char *out);

/* the kind's name for messages: "an E.164 phone number"... */
const char *integrations_rcpt_kind_text(int kind);

/*
 * RFC 3492 punycode of code points (no "xn--"): 0 and *out_len, or -1 if
 * it does not fit size bytes.
 */
int integrations_rcpt_punycode(const unsigned *cp, size_t n, char *out,
    size_t size, size_t *out_len);

#endif /* INTEGRATIONS_RECIPIENT_H */
