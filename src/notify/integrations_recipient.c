/*
 * Recipients: see integrations_recipient.h.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "integrations_notify.h"
#include "integrations_recipient.h"


#define INTEGRATIONS_RCPT_DIGITS_MAX  20


static int integrations_rcpt_digits(const char *in, size_t len, char *d,
    size_t *nd, int *plus);
static int integrations_rcpt_e164(unsigned cc, const char *in, size_t len,
    char *out, size_t size, size_t *out_len, const char **why);
static int integrations_rcpt_kr(const char *in, size_t len, char *out,
    size_t size, size_t *out_len, const char **why);
static int integrations_rcpt_email(const char *in, size_t len, char *out,
    size_t size, size_t *out_len, const char **why);
static int integrations_rcpt_label(const char *l, size_t n, char *out,
    size_t size, size_t *out_len);
static int integrations_rcpt_fcm(const char *in, size_t len, char *out,
    size_t size, size_t *out_len, const char **why);
static int integrations_rcpt_slack(const char *in, size_t len, char *out,
    size_t size, size_t *out_len, const char **why);
static int integrations_rcpt_kr_valid(const char *d, size_t n);
static size_t integrations_rcpt_cc_len(const char *d, size_t n);
static int integrations_rcpt_atext(unsigned char c);
static size_t integrations_rcpt_dot(const char *s, size_t len);


static const char  *integrations_rcpt_kinds[] = {
    "an E.164 phone number (+ and country code)",
    "a Korean mobile number (010...)",
    "an email address",
    "an FCM registration token",
    "a Slack channel",
    "nothing"
};


const char *
integrations_rcpt_kind_text(int kind)
{
    if (kind < 0 || kind > INTEGRATIONS_RCPT_NONE) {
        return "a recipient";
    }

    return integrations_rcpt_kinds[kind];
}


int
integrations_rcpt_normalize(int kind, unsigned default_cc, const char *in,
    size_t len, char *out, size_t size, size_t *out_len, const char **why)
{
    *why = "is empty";

    if (size > 0) {
        out[0] = '\0';
    }

    /* white space around a recipient is a copy-and-paste accident */

    while (len > 0 && (in[0] == ' ' || in[0] == '\t')) {
        in++;
        len--;
    }

    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t')) {
        len--;
    }

    if (len == 0 || size == 0) {
        return -1;
    }

    if (len > INTEGRATIONS_RCPT_MAX) {
        *why = "is too long";
        return -1;
    }

    switch (kind) {
    case INTEGRATIONS_RCPT_E164:
        return integrations_rcpt_e164(default_cc, in, len, out, size,
                                      out_len, why);
    case INTEGRATIONS_RCPT_KR_MOBILE:
        return integrations_rcpt_kr(in, len, out, size, out_len, why);
    case INTEGRATIONS_RCPT_EMAIL:
        return integrations_rcpt_email(in, len, out, size, out_len, why);
    case INTEGRATIONS_RCPT_FCM_TOKEN:
        return integrations_rcpt_fcm(in, len, out, size, out_len, why);
    case INTEGRATIONS_RCPT_SLACK_CHANNEL:
        return integrations_rcpt_slack(in, len, out, size, out_len, why);
    }

    *why = "is not used by this channel";

    return -1;
}


/*
 * The digits of a phone number: an optional leading "+" (or "00", the
 * international prefix), then digits and separators.  Returns 0, or -1
 * for anything else (letters, "*", a second "+", too many digits).
 */

static int
integrations_rcpt_digits(const char *in, size_t len, char *d, size_t *nd,
    int *plus)
{
    size_t  i, n;

    n = 0;
    i = 0;
    *plus = 0;

    if (len > 0 && in[0] == '+') {
        *plus = 1;
        i = 1;
    }

    for ( /* void */ ; i < len; i++) {
        if (in[i] >= '0' && in[i] <= '9') {
            if (n == INTEGRATIONS_RCPT_DIGITS_MAX) {
                return -1;
            }

            d[n++] = in[i];
            continue;
        }

        if (in[i] == ' ' || in[i] == '\t' || in[i] == '-' || in[i] == '.'
            || in[i] == '(' || in[i] == ')')
        {
            continue;
        }

        return -1;
    }

    if (!*plus && n > 2 && d[0] == '0' && d[1] == '0') {
        *plus = 1;
        memmove(d, d + 2, n - 2);
        n -= 2;
    }

    *nd = n;
    d[n] = '\0';

    return n ? 0 : -1;
}


static int
integrations_rcpt_e164(unsigned cc, const char *in, size_t len, char *out,
    size_t size, size_t *out_len, const char **why)
{
    int     plus;
    char    d[INTEGRATIONS_RCPT_DIGITS_MAX + 1], e[40];
    size_t  nd, n;

    *why = "is not a phone number";

    if (integrations_rcpt_digits(in, len, d, &nd, &plus) != 0) {
        return -1;
    }

    if (plus) {
        /* "+82 010-...": Korean numbers are often written with the trunk
         * 0 kept after the country code, which E.164 drops */

        if (nd > 3 && d[0] == '8' && d[1] == '2' && d[2] == '0') {
            memmove(d + 2, d + 3, nd - 2);
            nd--;

            /* one trunk 0 only: a Korean number never starts with 0 */

            if (d[2] == '0') {
                *why = "is not an E.164 number";
                return -1;
            }
        }

        n = snprintf(e, sizeof(e), "+%s", d);

    } else if (cc == 0 || cc > 999) {
        *why = "needs a country code (\"+\" and digits)";
        return -1;

    } else if (d[0] == '0' && nd > 1) {
        /* national, with its trunk prefix */
        n = snprintf(e, sizeof(e), "+%u%s", cc, d + 1);

    } else if (cc == 1 && nd == 10) {
        n = snprintf(e, sizeof(e), "+1%s", d);

    } else if (cc == 1 && nd == 11 && d[0] == '1') {
        n = snprintf(e, sizeof(e), "+%s", d);

    } else {
        /* "821012345678": with or without its country code?  Ask. */
        *why = "needs a country code (\"+\" and digits)";
        return -1;
    }

    if (n < 8 || n > 16 || e[1] == '0') {
        *why = "is not an E.164 number (a country code and at most 15 "
               "digits)";
        return -1;
    }

    if (n >= size) {
        *why = "is too long";
        return -1;
    }

    memcpy(out, e, n + 1);
    *out_len = n;

    return 0;
}


static int
integrations_rcpt_kr(const char *in, size_t len, char *out, size_t size,
    size_t *out_len, const char **why)
{
    int     plus;
    char    d[INTEGRATIONS_RCPT_DIGITS_MAX + 1], k[INTEGRATIONS_RCPT_DIGITS_MAX
                                                   + 2];
    size_t  nd, n;

    *why = "is not a Korean mobile or safe number (010-XXXX-XXXX, "
           "0503-XXXX-XXXX)";

    if (integrations_rcpt_digits(in, len, d, &nd, &plus) != 0) {
        return -1;
    }

    if (plus || (nd >= 11 && d[0] == '8' && d[1] == '2')) {
        /* +82 10..., +82 010..., 0082..., 8210... */

        if (nd < 3 || d[0] != '8' || d[1] != '2') {
            *why = "is not a Korean number (+82)";
            return -1;
        }

        if (d[2] == '0') {
            n = snprintf(k, sizeof(k), "%s", d + 2);

        } else {
            n = snprintf(k, sizeof(k), "0%s", d + 2);
        }

    } else {
        n = snprintf(k, sizeof(k), "%s", d);
    }

    if (!integrations_rcpt_kr_valid(k, n) || n >= size) {
        return -1;
    }

    memcpy(out, k, n + 1);
    *out_len = n;

    return 0;
}


/*
 * 010 and 8 digits; 011, 016-019 and 7 or 8; and the virtual "safe
 * numbers" (안심번호) 0502..0508 and 8 digits, which marketplaces such as
 * Coupang give in place of a buyer's mobile and which take SMS.
 */

static int
integrations_rcpt_kr_valid(const char *d, size_t n)
{
    if (n == 12 && d[0] == '0' && d[1] == '5' && d[2] == '0'
        && d[3] >= '2' && d[3] <= '8')
    {
        return 1;
    }

    if (n < 10 || n > 11 || d[0] != '0' || d[1] != '1') {
        return 0;
    }

    switch (d[2]) {
    case '0':
        return n == 11;
    case '1':
    case '6':
    case '7':
    case '8':
    case '9':
        return 1;
    }

    return 0;
}


static int
integrations_rcpt_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}


/*
 * The length of a label separator at s: "." or one of the ideographic and
 * full-width full stops IDNA treats as one; 0 for anything else.
 */

static size_t
integrations_rcpt_dot(const char *s, size_t len)
{
    if (s[0] == '.') {
        return 1;
    }

    if (len >= 3
        && (memcmp(s, "\xe3\x80\x82", 3) == 0       /* U+3002 */
            || memcmp(s, "\xef\xbc\x8e", 3) == 0    /* U+FF0E */
            || memcmp(s, "\xef\xbd\xa1", 3) == 0))  /* U+FF61 */
    {
        return 3;
    }

    return 0;
}


static int
integrations_rcpt_email(const char *in, size_t len, char *out, size_t size,
    size_t *out_len, const char **why)
{
    char         buf[INTEGRATIONS_RCPT_MAX + 1];
    size_t       at, i, n, start, dot, labels, ln, tld;
    const char  *p;

    *why = "is not an email address";

    p = memchr(in, '@', len);
    if (p == NULL || memchr(p + 1, '@', len - (p - in) - 1) != NULL) {
        return -1;
    }

    at = p - in;

    if (at == 0 || at > 64 || in[0] == '.' || in[at - 1] == '.') {
        *why = at > 64 ? "has a local part over 64 bytes"
                       : "is not an email address";
        return -1;
    }

    for (i = 0; i < at; i++) {
        if (in[i] == '.') {
            if (in[i + 1] == '.') {
                return -1;
            }
            continue;
        }

        if (!integrations_rcpt_atext((unsigned char) in[i])) {
            *why = "has a local part this gateway does not send to "
                   "(letters, digits and !#$%&'*+/=?^_`{|}~.- only)";
            return -1;
        }
    }

    memcpy(buf, in, at + 1);
    n = at + 1;

    /* the domain, label by label */

    i = at + 1;
    start = i;
    labels = 0;
    tld = 0;

    for ( ;; ) {
        dot = (i < len) ? integrations_rcpt_dot(in + i, len - i) : 0;

        if (i < len && dot == 0) {
            i++;
            continue;
        }

        if (i == start) {
            *why = "has an empty domain label";
            return -1;
        }

        if (n > 0 && labels > 0) {
            buf[n++] = '.';
        }

        tld = n;

        if (integrations_rcpt_label(in + start, i - start, buf + n,
                                    sizeof(buf) - n, &ln) != 0)
        {
            *why = "has an invalid domain";
            return -1;
        }

        n += ln;
        labels++;

        if (i >= len) {
            break;
        }

        i += dot;
        start = i;

        if (i >= len) {
            *why = "has an empty domain label";
            return -1;
        }
    }

    if (labels < 2) {
        *why = "has no domain with a dot";
        return -1;
    }

    /* an all-digit last label is an IP address, not a host name */

    for (i = tld; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
        /* void */
    }

    if (i == n) {
        *why = "has an invalid domain";
        return -1;
    }

    if (n - at - 1 > 253 || n > 254) {
        *why = "is too long";
        return -1;
    }

    if (n >= size) {
        *why = "is too long";
        return -1;
    }

    memcpy(out, buf, n);
    out[n] = '\0';
    *out_len = n;

    return 0;
}


/*
 * One domain label into out: ASCII LDH, lower-cased; or UTF-8, lower-cased
 * in its ASCII letters and written as an A-label.  Returns 0 or -1.
 */

static int
integrations_rcpt_label(const char *l, size_t n, char *out, size_t size,
    size_t *out_len)
{
    int            ascii;
    size_t         i, k, cl, pl;
    unsigned       cps[64];
    uint32_t       cp;
    unsigned char  c;

    ascii = 1;

    for (i = 0; i < n; i++) {
        if ((unsigned char) l[i] >= 0x80) {
            ascii = 0;
            break;
        }
    }

    if (ascii) {
        if (n > 63 || n >= size || l[0] == '-' || l[n - 1] == '-') {
            return -1;
        }

        for (i = 0; i < n; i++) {
            c = (unsigned char) l[i];

            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;
            }

            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                  || c == '-'))
            {
                return -1;
            }

            out[i] = c;
        }

        *out_len = n;

        return 0;
    }

    k = 0;

    for (i = 0; i < n; i += cl) {
        cl = integrations_notify_utf8_next((const unsigned char *) l + i,
                                           n - i, &cp);
        if (cl == 0 || k == sizeof(cps) / sizeof(cps[0])) {
            return -1;
        }

        if (cp < 0x80) {
            if (cp >= 'A' && cp <= 'Z') {
                cp |= 0x20;
            }

            if (!((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')
                  || cp == '-'))
            {
                return -1;
            }

        } else if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7) {
            cp += 0x20;             /* Latin-1 capitals: the common case */

        } else if ((cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
                   || (cp >= 0x410 && cp <= 0x42f))
        {
            cp += 0x20;             /* Greek and Cyrillic capitals */

        } else if (cp >= 0x400 && cp <= 0x40f) {
            cp += 0x50;

        } else if (cp < 0xa1 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200f)
                   || (cp >= 0x2028 && cp <= 0x202f)
                   || (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000
                   || cp == 0xfeff || cp >= 0xfff0)
        {
            /* spaces, invisible formatting, specials: not in a host name */
            return -1;
        }

        cps[k++] = cp;
    }

    if (cps[0] == '-' || cps[k - 1] == '-' || size < 5) {
        return -1;
    }

    memcpy(out, "xn--", 4);

    if (integrations_rcpt_punycode(cps, k, out + 4, size - 4, &pl) != 0
        || pl + 4 > 63)
    {
        return -1;
    }

    *out_len = pl + 4;

    return 0;
}


/* RFC 3492, section 6.3, for one label */

#define PC_BASE  36
#define PC_TMIN  1
#define PC_TMAX  26
#define PC_SKEW  38
#define PC_DAMP  700


static unsigned
integrations_rcpt_adapt(unsigned delta, unsigned npoints, int first)
{
    unsigned  k;

    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / npoints;

    for (k = 0; delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2;
         k += PC_BASE)
    {
        delta /= PC_BASE - PC_TMIN;
    }

    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}


int
integrations_rcpt_punycode(const unsigned *cp, size_t n, char *out,
    size_t size, size_t *out_len)
{
    size_t    i, o, h, b;
    unsigned  m, nn, delta, bias, q, k, t, d;

    o = 0;

    for (i = 0; i < n; i++) {
        if (cp[i] < 0x80) {
            if (o + 1 >= size) {
                return -1;
            }
            out[o++] = (char) cp[i];
        }
    }

    h = b = o;

    if (b > 0) {
        if (o + 1 >= size) {
            return -1;
        }
        out[o++] = '-';
    }

    nn = 0x80;
    delta = 0;
    bias = 72;

    while (h < n) {
        m = 0xffffffff;

        for (i = 0; i < n; i++) {
            if (cp[i] >= nn && cp[i] < m) {
                m = cp[i];
            }
        }

        if ((m - nn) > (0xffffffffu - delta) / (h + 1)) {
            return -1;
        }

        delta += (m - nn) * (h + 1);
        nn = m;

        for (i = 0; i < n; i++) {
            if (cp[i] < nn && ++delta == 0) {
                return -1;
            }

            if (cp[i] != nn) {
                continue;
            }

            q = delta;

            for (k = PC_BASE; /* void */ ; k += PC_BASE) {
                t = (k <= bias) ? PC_TMIN
                    : (k >= bias + PC_TMAX) ? PC_TMAX : k - bias;

                if (q < t) {
                    break;
                }

                d = t + (q - t) % (PC_BASE - t);

                if (o + 1 >= size) {
                    return -1;
                }

                out[o++] = d < 26 ? 'a' + d : '0' + d - 26;
                q = (q - t) / (PC_BASE - t);
            }

            if (o + 1 >= size) {
                return -1;
            }

            out[o++] = q < 26 ? 'a' + q : '0' + q - 26;

            bias = integrations_rcpt_adapt(delta, h + 1, h == b);
            delta = 0;
            h++;
        }

        delta++;
        nn++;
    }

    out[o] = '\0';
    *out_len = o;

    return 0;
}


static int
integrations_rcpt_fcm(const char *in, size_t len, char *out, size_t size,
    size_t *out_len, const char **why)
{
    size_t         i;
    unsigned char  c;

    *why = "is not an FCM registration token";

    if (len < 32 || len >= size) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) in[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-'
              || c == '.'))
        {
            return -1;
        }
    }

    memcpy(out, in, len);
    out[len] = '\0';
    *out_len = len;

    return 0;
}


static int
integrations_rcpt_slack(const char *in, size_t len, char *out, size_t size,
    size_t *out_len, const char **why)
{
    int            id;
    size_t         i;
    unsigned char  c;

    *why = "is not a Slack channel (\"#name\" or an id like C0123ABCD)";

    if (in[0] == '#') {
        in++;
        len--;
    }

    if (len == 0 || len > 80 || len >= size) {
        return -1;
    }

    /* an id: upper-case letters and digits after C, G, D, U or W */

    id = (len >= 9 && strchr("CGDUW", in[0]) != NULL);

    for (i = 0; id && i < len; i++) {
        if (!((in[i] >= 'A' && in[i] <= 'Z') || (in[i] >= '0' && in[i] <= '9')))
        {
            id = 0;
        }
    }

    if (!id) {
        if (integrations_notify_utf8_check((const unsigned char *) in, len)
            != len)
        {
            return -1;
        }

        for (i = 0; i < len; i++) {
            c = (unsigned char) in[i];

            if (c <= 0x20 || c == 0x7f || c == '.' || c == ',' || c == '#'
                || (c >= 'A' && c <= 'Z'))
            {
                return -1;
            }
        }
    }

    memcpy(out, in, len);
    out[len] = '\0';
    *out_len = len;

    return 0;
}


/* masks */

/*
 * The length of the country calling code at the start of d: codes are
 * prefix-free, 1 to 3 digits; the 1- and 2-digit ones are few.
 */

static size_t
integrations_rcpt_cc_len(const char *d, size_t n)
{
    static const char  two[] =
        "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 "
        "55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98";

    size_t  i;

    if (n < 1) {
        return 0;
    }

    if (d[0] == '1' || d[0] == '7') {
        return 1;
    }

    if (n < 2) {
        return n;
    }

    for (i = 0; i + 1 < sizeof(two); i += 3) {
        if (two[i] == d[0] && two[i + 1] == d[1]) {
            return 2;
        }
    }

    return n < 3 ? n : 3;
}


size_t
integrations_rcpt_mask(int kind, const char *r, size_t len, char *out)
{
    int          n;
    size_t       i, cc, nat;
    const char  *at, *nd;
    char         stars[24];

    n = -1;

    switch (kind) {

    case INTEGRATIONS_RCPT_KR_MOBILE:
        if (!integrations_rcpt_kr_valid(r, len)) {
            break;
        }

        if (len == 12) {
            /* a safe number: 0503-****-5464 */
            n = snprintf(out, INTEGRATIONS_RCPT_MASK, "%.4s-****-%.4s", r,
                         r + 8);
            break;
        }

        n = snprintf(out, INTEGRATIONS_RCPT_MASK, "%.3s-%s-%.4s", r,
                     len == 11 ? "****" : "***", r + len - 4);
        break;

    case INTEGRATIONS_RCPT_E164:
        if (len < 8 || len > 16 || r[0] != '+') {
            break;
        }

        for (i = 1; i < len; i++) {
            if (r[i] < '0' || r[i] > '9') {
                return snprintf(out, INTEGRATIONS_RCPT_MASK, "***");
            }
        }

        cc = integrations_rcpt_cc_len(r + 1, len - 1);
        nd = r + 1 + cc;
        nat = len - 1 - cc;

        if (nat < 5) {
            n = snprintf(out, INTEGRATIONS_RCPT_MASK, "+%.*s ****", (int) cc,
                         r + 1);

        } else if (cc == 1 && r[1] == '1' && nat == 10) {
            n = snprintf(out, INTEGRATIONS_RCPT_MASK, "+1 ***-***-%.4s",
                         nd + 6);

        } else if (cc == 2 && r[1] == '8' && r[2] == '2' && nd[0] == '1'
                   && (nat == 9 || nat == 10))
        {
            n = snprintf(out, INTEGRATIONS_RCPT_MASK, "+82 %.2s-%s-%.4s", nd,
                         nat == 10 ? "****" : "***", nd + nat - 4);

        } else {
            memset(stars, '*', nat - 4);
            stars[nat - 4] = '\0';
            n = snprintf(out, INTEGRATIONS_RCPT_MASK, "+%.*s %s%.4s",
                         (int) cc, r + 1, stars, nd + nat - 4);
        }

        break;

    case INTEGRATIONS_RCPT_EMAIL:
        at = memchr(r, '@', len);
        if (at == NULL || at == r || at + 1 >= r + len) {
            break;
        }

        i = len - (at + 1 - r);

        if (i > 50) {
            n = snprintf(out, INTEGRATIONS_RCPT_MASK, "%c***@%.*s...", r[0],
                         47, at + 1);

        } else {
            n = snprintf(out, INTEGRATIONS_RCPT_MASK, "%c***@%.*s", r[0],
                         (int) i, at + 1);
        }

        break;

    case INTEGRATIONS_RCPT_FCM_TOKEN:
        if (len < 12) {
            break;
        }

        n = snprintf(out, INTEGRATIONS_RCPT_MASK, "%.6s***", r);
        break;

    case INTEGRATIONS_RCPT_SLACK_CHANNEL:
        if (len == 0 || len > 60
            || integrations_notify_copy_id(out, INTEGRATIONS_RCPT_MASK, r,
                                           len) != 0)
        {
            break;
        }

        n = len;
        break;
    }

    if (n < 0 || n >= INTEGRATIONS_RCPT_MASK) {
        n = snprintf(out, INTEGRATIONS_RCPT_MASK, "***");
    }

    return n;
}
