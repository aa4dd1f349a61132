/*
 * E-book activation links, the pure core: see integrations_activation.h.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "integrations_codec.h"
#include "integrations_hmac.h"
#include "integrations_json.h"
#include "integrations_activation.h"


#define ACT_KST           (9 * 3600)
#define ACT_URL_MAX       512

#define ACT_NELTS(a)      (sizeof(a) / sizeof((a)[0]))


typedef struct {
    char    *p;
    size_t   len;
    size_t   size;
    int      failed;
} act_buf_t;

struct integrations_act_signer_s {
    integrations_hmac_key_t  key;
};

struct integrations_act_claim_key_s {
    integrations_hmac_key_t  key;
};


static int name_index(const char **names, size_t n, const char *name,
    size_t len);
static const char *name_at(const char **names, size_t n, int i);
static void buf_add(act_buf_t *b, const char *s, size_t n);
static void buf_adds(act_buf_t *b, const char *s);
static void buf_printf(act_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void buf_html(act_buf_t *b, const char *s, size_t n);
static char *buf_done(act_buf_t *b, size_t *len);
static size_t b64url_encode(char *out, const unsigned char *in, size_t n);
static int b64url_decode(unsigned char *out, size_t size, const char *in,
    size_t n, size_t *out_len);
static int b64url_char(int c);
static int url_chars_ok(const char *s, size_t n);
static int safe_scheme(const char *s, size_t n);
static void kst_date(int64_t t, char *out);
static void utc_iso(int64_t t, char *out);
static int phone_of(const integrations_coupang_str_t *s, int mobile_only,
    integrations_act_contact_t *out);


/* ------------------------------------------------------------------ */
/* Tokens                                                             */

static const char  act_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
integrations_act_token_encode(const unsigned char *random, size_t len,
    char *out)
{
    char  tmp[INTEGRATIONS_CODEC_BASE64_LEN(INTEGRATIONS_ACT_TOKEN_BYTES)];

    if (len != INTEGRATIONS_ACT_TOKEN_BYTES) {
        return -1;
    }

    /* the encoder writes the padding too: 44 bytes, of which 43 are kept */

    b64url_encode(tmp, random, len);
    memcpy(out, tmp, INTEGRATIONS_ACT_TOKEN_LEN);

    return 0;
}


int
integrations_act_token_valid(const char *p, size_t len)
{
    size_t  i;
    int     v;

    if (p == NULL || len != INTEGRATIONS_ACT_TOKEN_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        v = b64url_char((unsigned char) p[i]);

        if (v < 0) {
            return 0;
        }
    }

    /* 256 bits in 43 characters: the last one's two low bits are spare */

    return (v & 3) == 0;
}


void
integrations_act_token_hash(const char *token, size_t len,
    unsigned char *out)
{
    SHA256((const unsigned char *) token, len, out);
}


void
integrations_act_token_hash_hex(const char *token, size_t len, char *out)
{
    unsigned char  md[INTEGRATIONS_ACT_HASH_LEN];

    SHA256((const unsigned char *) token, len, md);
    integrations_codec_hex_encode((unsigned char *) out, md, sizeof(md));
}


int
integrations_act_path_token(const char *path, size_t len, const char *prefix,
    size_t prefix_len, const char **token)
{
    if (path == NULL || len != prefix_len + INTEGRATIONS_ACT_TOKEN_LEN
        || memcmp(path, prefix, prefix_len) != 0
        || !integrations_act_token_valid(path + prefix_len,
                                         INTEGRATIONS_ACT_TOKEN_LEN))
    {
        return -1;
    }

    *token = path + prefix_len;

    return 0;
}


int
integrations_act_link_base_check(const char *base, size_t len, char *err,
    size_t err_len)
{
    size_t  skip;

    if (len >= 8 && strncasecmp(base, "https://", 8) == 0) {
        skip = 8;

    } else if (len >= 7 && strncasecmp(base, "http://", 7) == 0) {
        skip = 7;

    } else {
        snprintf(err, err_len, "must start with https:// or http://");
        return -1;
    }

    if (len == skip || base[skip] == '/') {
        snprintf(err, err_len, "has no host");
        return -1;
    }

    if (len > ACT_URL_MAX) {
        snprintf(err, err_len, "is longer than %d bytes", ACT_URL_MAX);
        return -1;
    }

    if (!url_chars_ok(base, len)) {
        snprintf(err, err_len,
                 "holds white space, a quote, an angle bracket, a "
                 "backslash, a \"#\" or a non-ASCII byte");
        return -1;
    }

    if (base[len - 1] != '/' && base[len - 1] != '=') {
        snprintf(err, err_len,
                 "must end in \"/\" or \"=\", where the token follows");
        return -1;
    }

    return 0;
}


long
integrations_act_link(const char *base, size_t base_len, const char *token,
    size_t token_len, char *out, size_t size)
{
    if (base_len + token_len + 1 > size) {
        return -1;
    }

    memcpy(out, base, base_len);
    memcpy(out + base_len, token, token_len);
    out[base_len + token_len] = '\0';

    return (long) (base_len + token_len);
}


/* ------------------------------------------------------------------ */
/* Quantities                                                         */

unsigned
integrations_act_link_count(int64_t shipping_count, int64_t cancel_count,
    int64_t hold_count, integrations_act_quantity_e mode)
{
    int64_t  left;

    if (shipping_count <= 0 || cancel_count < 0 || hold_count < 0
        || cancel_count > shipping_count || hold_count > shipping_count)
    {
        return 0;
    }

    left = shipping_count - cancel_count - hold_count;

    if (left <= 0) {
        return 0;
    }

    if (mode == INTEGRATIONS_ACT_PER_ORDER) {
        return 1;
    }

    return left > INTEGRATIONS_ACT_MAX_UNITS ? INTEGRATIONS_ACT_MAX_UNITS
                                             : (unsigned) left;
}


/* ------------------------------------------------------------------ */
/* Buyer contact                                                      */

static const char  *act_sources[] = {
    "none", "orderer", "receiver", "answer", "answer_email", "answer_phone"
};


int
integrations_act_source_by_name(const char *name, size_t len)
{
    return name_index(act_sources, ACT_NELTS(act_sources), name, len);
}


const char *
integrations_act_source_name(integrations_act_source_e src)
{
    return name_at(act_sources, ACT_NELTS(act_sources), (int) src);
}


int
integrations_act_phone(const char *p, size_t len, int mobile_only, char *out,
    size_t *out_len)
{
    char    d[16];
    size_t  i, k, n;
    int     intl;

    n = 0;
    intl = 0;
    i = 0;

    while (i < len && p[i] == ' ') {
        i++;
    }

    if (i < len && p[i] == '+') {
        if (len - i < 3 || p[i + 1] != '8' || p[i + 2] != '2') {
            return -1;                      /* not a Korean number */
        }

        intl = 1;
        i += 3;
    }

    for ( /* void */ ; i < len; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            if (n == sizeof(d) - 1) {
                return -1;
            }

            d[n++] = p[i];
            continue;
        }

        /* separators people and Coupang write; anything else ("*" of a
           masked number included) refuses the number */

        if (p[i] != '-' && p[i] != ' ' && p[i] != '.' && p[i] != '('
            && p[i] != ')')
        {
            return -1;
        }
    }

    if (n == 0) {
        return -1;
    }

    /* +82 10 1234 5678 -> 010 1234 5678; "+82 (0)10" has its 0 already */

    if (intl && d[0] != '0') {
        if (n == sizeof(d) - 1) {
            return -1;
        }

        /*
         * a byte loop, not memmove(): with _FORTIFY_SOURCE memmove() is
         * __memmove_chk, which valgrind reports as an overlapping
         * __memcpy_chk
         */
        for (k = n; k > 0; k--) {
            d[k] = d[k - 1];
        }

        d[0] = '0';
        n++;
    }

    /* mobile 01[016789] + 7 or 8 digits; safe numbers 050x + 7 or 8 */

    if (n >= 10 && n <= 11 && d[0] == '0' && d[1] == '1'
        && strchr("016789", d[2]) != NULL)
    {
        /* a mobile number */

    } else if (!mobile_only && n >= 11 && n <= 12 && d[0] == '0'
               && d[1] == '5' && d[2] == '0')
    {
        /* a safe number */

    } else {
        return -1;
    }

    memcpy(out, d, n);
    out[n] = '\0';
    *out_len = n;

    return 0;
}


/*
 * A plain address: local part of [A-Za-z0-9] and !#$%&+-/=?^_{|}~. (no
 * "*": masked values, "ab***@...", are not addresses), no dot at either
 * end or twice in a row, at most 64 bytes; a domain of at least two
 * labels of [A-Za-z0-9-], none starting or ending with "-", the last one
 * at least two letters; 254 bytes in all.  Quoted local parts, comments
 * and IP literals are refused: a buyer typing one is a mistake.
 */

int
integrations_act_email_valid(const char *p, size_t len)
{
    size_t       i, at, label, labels;
    int          alpha_tld;
    const char  *local_ok = "!#$%&+-/=?^_{|}~.'";
    char         c;

    if (p == NULL || len < 6 || len > 254) {
        return 0;
    }

    for (at = 0; at < len && p[at] != '@'; at++) {
        c = p[at];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || (c != '\0' && strchr(local_ok, c))))
        {
            return 0;
        }

        if (c == '.' && (at == 0 || p[at - 1] == '.')) {
            return 0;
        }
    }

    if (at == 0 || at > 64 || at == len || p[at - 1] == '.') {
        return 0;
    }

    labels = 0;
    label = 0;
    alpha_tld = 1;

    for (i = at + 1; i <= len; i++) {
        c = (i < len) ? p[i] : '.';

        if (c == '.') {
            if (label == 0 || label > 63 || p[i - 1] == '-') {
                return 0;
            }

            labels++;

            if (i == len) {
                break;
            }

            label = 0;
            alpha_tld = 1;
            continue;
        }

        if (c == '-' && label == 0) {
            return 0;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-'))
        {
            return 0;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            alpha_tld = 0;
        }

        label++;
    }

    return labels >= 2 && alpha_tld && label >= 2;
}


int
integrations_act_contact_choose(const integrations_act_source_e *order,
    size_t n, const integrations_coupang_order_t *o,
    const integrations_coupang_order_item_t *item,
    integrations_act_contact_t *out)
{
    size_t                             i, k;
    const integrations_coupang_str_t  *a;

    memset(out, 0, sizeof(*out));

    for (i = 0; i < n && i < INTEGRATIONS_ACT_SOURCES_MAX; i++) {

        switch (order[i]) {

        case INTEGRATIONS_ACT_SRC_NONE:
            return -1;

        case INTEGRATIONS_ACT_SRC_ORDERER:
            if (phone_of(&o->orderer_safe_number, 0, out) == 0
                || phone_of(&o->orderer_number, 0, out) == 0)
            {
                out->source = order[i];
                return 0;
            }

            break;

        case INTEGRATIONS_ACT_SRC_RECEIVER:
            if (phone_of(&o->receiver_safe_number, 0, out) == 0
                || phone_of(&o->receiver_number, 0, out) == 0)
            {
                out->source = order[i];
                return 0;
            }

            break;

        case INTEGRATIONS_ACT_SRC_ANSWER:
        case INTEGRATIONS_ACT_SRC_ANSWER_EMAIL:
        case INTEGRATIONS_ACT_SRC_ANSWER_PHONE:
            if (item == NULL) {
                break;
            }

            for (k = 0; k < item->n_etc_info_values; k++) {
                a = &item->etc_info_values[k];

                if (order[i] != INTEGRATIONS_ACT_SRC_ANSWER_PHONE
                    && integrations_act_email_valid(a->data, a->len)
                    && a->len < sizeof(out->value))
                {
                    out->kind = INTEGRATIONS_ACT_CONTACT_EMAIL;
                    memcpy(out->value, a->data, a->len);
                    out->value[a->len] = '\0';
                    out->len = a->len;
                    out->source = order[i];
                    return 0;
                }

                if (order[i] != INTEGRATIONS_ACT_SRC_ANSWER_EMAIL
                    && phone_of(a, 1, out) == 0)
                {
                    out->source = order[i];
                    return 0;
                }
            }

            break;

        default:
            break;
        }
    }

    memset(out, 0, sizeof(*out));

    return -1;
}


static int
phone_of(const integrations_coupang_str_t *s, int mobile_only,
    integrations_act_contact_t *out)
{
    if (s->data == NULL || s->len == 0
        || integrations_act_phone(s->data, s->len, mobile_only, out->value,
                                  &out->len) != 0)
    {
        return -1;
    }

    out->kind = INTEGRATIONS_ACT_CONTACT_PHONE;

    return 0;
}


/* ------------------------------------------------------------------ */
/* The state machine                                                  */

static const char  *act_states[] = {
    "synced", "no_contact", "link_sent", "redeemed", "revoked", "failed"
};

static const char  *act_events[] = {
    "ingest", "ingest_no_contact", "sent", "send_failed", "redeemed",
    "grant_failed", "return", "return_withdrawn", "resend", "revoke"
};


const char *
integrations_act_state_name(integrations_act_state_e state)
{
    return name_at(act_states, ACT_NELTS(act_states), (int) state);
}


int
integrations_act_state_by_name(const char *name, size_t len)
{
    return name_index(act_states, ACT_NELTS(act_states), name, len);
}


const char *
integrations_act_event_name(integrations_act_event_e event)
{
    return name_at(act_events, ACT_NELTS(act_events), (int) event);
}


integrations_act_verdict_e
integrations_act_transition(integrations_act_state_e state,
    integrations_act_event_e event, integrations_act_state_e *next,
    unsigned *actions)
{
    integrations_act_state_e  s;
    unsigned                  a;

    *next = state;
    *actions = 0;

    if (state < INTEGRATIONS_ACT_NEW || state >= INTEGRATIONS_ACT_NSTATES
        || event < 0 || event >= INTEGRATIONS_ACT_NEVENTS)
    {
        return INTEGRATIONS_ACT_REFUSED;
    }

    /* ingest: only what is not stored yet; a second ingest is a no-op */

    if (event == INTEGRATIONS_ACT_EV_INGEST
        || event == INTEGRATIONS_ACT_EV_INGEST_NO_CONTACT)
    {
        if (state != INTEGRATIONS_ACT_NEW) {
            return INTEGRATIONS_ACT_IGNORED;
        }

        if (event == INTEGRATIONS_ACT_EV_INGEST) {
            *next = INTEGRATIONS_ACT_SYNCED;
            *actions = INTEGRATIONS_ACT_DO_ISSUE_TOKEN
                       | INTEGRATIONS_ACT_DO_SEND;

        } else {
            *next = INTEGRATIONS_ACT_NO_CONTACT;
            *actions = INTEGRATIONS_ACT_DO_ALERT;
        }

        return INTEGRATIONS_ACT_APPLIED;
    }

    if (state == INTEGRATIONS_ACT_NEW) {
        return INTEGRATIONS_ACT_REFUSED;
    }

    s = state;
    a = 0;

    switch (event) {

    case INTEGRATIONS_ACT_EV_SENT:

        /*
         * The message went out: now Coupang may hear of it (the
         * acknowledgement and the DIRECT invoice).  A resend's delivery
         * comes here too; fulfilment is idempotent.
         */

        if (state != INTEGRATIONS_ACT_SYNCED) {
            return INTEGRATIONS_ACT_IGNORED;
        }

        s = INTEGRATIONS_ACT_LINK_SENT;
        a = INTEGRATIONS_ACT_DO_FULFIL;
        break;

    case INTEGRATIONS_ACT_EV_SEND_FAILED:
        if (state != INTEGRATIONS_ACT_SYNCED) {
            return INTEGRATIONS_ACT_IGNORED;
        }

        s = INTEGRATIONS_ACT_FAILED;
        a = INTEGRATIONS_ACT_DO_ALERT;
        break;

    case INTEGRATIONS_ACT_EV_REDEEMED:

        /*
         * From synced as well: the buyer can click before the outbox has
         * marked the message sent.  Then fulfilment starts here.
         */

        if (state == INTEGRATIONS_ACT_LINK_SENT) {
            s = INTEGRATIONS_ACT_REDEEMED;
            a = INTEGRATIONS_ACT_DO_REDIRECT;

        } else if (state == INTEGRATIONS_ACT_SYNCED) {
            s = INTEGRATIONS_ACT_REDEEMED;
            a = INTEGRATIONS_ACT_DO_REDIRECT | INTEGRATIONS_ACT_DO_FULFIL;

        } else if (state == INTEGRATIONS_ACT_FAILED) {

            /*
             * The outbox gave up on the message (or could not tell), yet
             * the buyer holds the link and used it: it reached them.  (A
             * grant that failed used the link: no redeem gets here.)
             */

            s = INTEGRATIONS_ACT_REDEEMED;
            a = INTEGRATIONS_ACT_DO_REDIRECT | INTEGRATIONS_ACT_DO_FULFIL;

        } else {
            /*
             * revoked meanwhile (a return raced the click): the grant
             * happened, so it is undone
             */

            if (state == INTEGRATIONS_ACT_REVOKED) {
                *actions = INTEGRATIONS_ACT_DO_CALL_REVOKE;
            }

            return INTEGRATIONS_ACT_IGNORED;
        }

        break;

    case INTEGRATIONS_ACT_EV_GRANT_FAILED:
        if (state != INTEGRATIONS_ACT_LINK_SENT
            && state != INTEGRATIONS_ACT_SYNCED)
        {
            return INTEGRATIONS_ACT_IGNORED;
        }

        s = INTEGRATIONS_ACT_FAILED;
        a = INTEGRATIONS_ACT_DO_ON_IT_PAGE | INTEGRATIONS_ACT_DO_ALERT;
        break;

    case INTEGRATIONS_ACT_EV_RETURN:
    case INTEGRATIONS_ACT_EV_REVOKE:

        s = INTEGRATIONS_ACT_REVOKED;

        switch (state) {

        case INTEGRATIONS_ACT_SYNCED:
            a = INTEGRATIONS_ACT_DO_REVOKE_TOKEN
                | INTEGRATIONS_ACT_DO_CANCEL_SEND;
            break;

        case INTEGRATIONS_ACT_NO_CONTACT:
            a = 0;
            break;

        case INTEGRATIONS_ACT_LINK_SENT:
            a = INTEGRATIONS_ACT_DO_REVOKE_TOKEN;
            break;

        case INTEGRATIONS_ACT_REDEEMED:

            /* failed after a grant may have reached the seller (a timeout
               is not a "no"): the revoke call is idempotent there */

        case INTEGRATIONS_ACT_FAILED:
            a = INTEGRATIONS_ACT_DO_REVOKE_TOKEN
                | INTEGRATIONS_ACT_DO_CALL_REVOKE;
            break;

        default:                                    /* revoked already */
            if (event == INTEGRATIONS_ACT_EV_REVOKE) {
                return INTEGRATIONS_ACT_REFUSED;
            }

            return INTEGRATIONS_ACT_IGNORED;
        }

        break;

    case INTEGRATIONS_ACT_EV_RETURN_WITHDRAWN:

        /*
         * The buyer kept the book after all.  Reinstating is a person's
         * call (the refund may have gone through): alert, and let an
         * admin resend.
         */

        if (state != INTEGRATIONS_ACT_REVOKED) {
            return INTEGRATIONS_ACT_IGNORED;
        }

        *actions = INTEGRATIONS_ACT_DO_ALERT;
        return INTEGRATIONS_ACT_APPLIED;

    case INTEGRATIONS_ACT_EV_RESEND:

        /*
         * A fresh link replaces the old one (one live token per
         * activation).  A redeemed activation needs none; resending a
         * revoked one reinstates it, on purpose.
         */

        if (state == INTEGRATIONS_ACT_REDEEMED) {
            return INTEGRATIONS_ACT_REFUSED;
        }

        s = INTEGRATIONS_ACT_SYNCED;
        a = INTEGRATIONS_ACT_DO_ISSUE_TOKEN | INTEGRATIONS_ACT_DO_SEND;

        if (state == INTEGRATIONS_ACT_SYNCED) {
            a |= INTEGRATIONS_ACT_DO_REVOKE_TOKEN
                 | INTEGRATIONS_ACT_DO_CANCEL_SEND;

        } else if (state == INTEGRATIONS_ACT_LINK_SENT
                   || state == INTEGRATIONS_ACT_FAILED)
        {
            a |= INTEGRATIONS_ACT_DO_REVOKE_TOKEN;
        }

        break;

    default:
        return INTEGRATIONS_ACT_REFUSED;
    }

    *next = s;
    *actions = a;

    return INTEGRATIONS_ACT_APPLIED;
}


integrations_act_state_e
integrations_act_order_state(const integrations_act_state_e *states,
    size_t n)
{
    size_t  i, k;

    static const integrations_act_state_e  priority[] = {
        INTEGRATIONS_ACT_FAILED, INTEGRATIONS_ACT_NO_CONTACT,
        INTEGRATIONS_ACT_SYNCED, INTEGRATIONS_ACT_LINK_SENT,
        INTEGRATIONS_ACT_REDEEMED
    };

    if (n == 0) {
        return INTEGRATIONS_ACT_SYNCED;
    }

    for (k = 0; k < sizeof(priority) / sizeof(priority[0]); k++) {
        for (i = 0; i < n; i++) {
            if (states[i] == priority[k]) {
                return priority[k];
            }
        }
    }

    return INTEGRATIONS_ACT_REVOKED;
}


size_t
integrations_act_units_to_revoke(const integrations_act_state_e *states,
    size_t n, int64_t count, size_t *out)
{
    size_t  i, k, pass;

    k = 0;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n && (int64_t) k < count; i++) {
            if (states[i] == INTEGRATIONS_ACT_REVOKED
                || (pass == 0) == (states[i] == INTEGRATIONS_ACT_REDEEMED))
            {
                continue;
            }

            out[k++] = i;
        }
    }

    return k;
}


/* ------------------------------------------------------------------ */
/* Pages                                                              */

typedef struct {
    const char  *title;
    const char  *text;
} act_words_t;

static const act_words_t  act_pages[INTEGRATIONS_ACT_NPAGES][2] = {

    /* READY */
    { { "\xec\xa0\x84\xec\x9e\x90\xec\xb1\x85 \xed\x99\x9c\xec\x84\xb1\xed"
        "\x99\x94",                                     /* 전자책 활성화 */
        "\xea\xb5\xac\xeb\xa7\xa4\xed\x95\x98\xec\x8b\xa0 \xec\xa0\x84\xec"
        "\x9e\x90\xec\xb1\x85\xec\x9d\x84 \xea\xb3\x84\xec\xa0\x95\xec\x97"
        "\x90 \xeb\x93\xb1\xeb\xa1\x9d\xed\x95\xa9\xeb\x8b\x88\xeb\x8b\xa4."
        /* 구매하신 전자책을 계정에 등록합니다. */ },
      { "Activate your e-book",
        "Add the e-book you bought to your account." } },

    /* DONE */
    { { "\xed\x99\x9c\xec\x84\xb1\xed\x99\x94 \xec\x99\x84\xeb\xa3\x8c",
        /* 활성화 완료 */
        "\xec\xa0\x84\xec\x9e\x90\xec\xb1\x85\xec\x9d\xb4 \xeb\x93\xb1\xeb"
        "\xa1\x9d\xeb\x90\x98\xec\x97\x88\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b"
        "\xa4. \xec\x95\xb1\xec\x97\x90\xec\x84\x9c \xeb\xb0\x94\xeb\xa1\x9c "
        "\xec\x9d\xbd\xec\x9d\x84 \xec\x88\x98 \xec\x9e\x88\xec\x8a\xb5\xeb"
        "\x8b\x88\xeb\x8b\xa4."
        /* 전자책이 등록되었습니다. 앱에서 바로 읽을 수 있습니다. */ },
      { "Activated",
        "Your e-book has been added. You can read it in the app now." } },

    /* USED */
    { { "\xec\x9d\xb4\xeb\xaf\xb8 \xec\x82\xac\xec\x9a\xa9\xeb\x90\x9c "
        "\xeb\xa7\x81\xed\x81\xac",                     /* 이미 사용된 링크 */
        "\xec\x9d\xb4 \xeb\xa7\x81\xed\x81\xac\xeb\x8a\x94 \xec\x9d\xb4\xeb"
        "\xaf\xb8 \xec\x82\xac\xec\x9a\xa9\xeb\x90\x98\xec\x97\x88\xec\x8a"
        "\xb5\xeb\x8b\x88\xeb\x8b\xa4. \xec\xa0\x84\xec\x9e\x90\xec\xb1\x85"
        "\xec\x9d\x80 \xec\x95\xb1\xec\x97\x90\xec\x84\x9c \xed\x99\x95\xec"
        "\x9d\xb8\xed\x95\xa0 \xec\x88\x98 \xec\x9e\x88\xec\x8a\xb5\xeb\x8b"
        "\x88\xeb\x8b\xa4. \xeb\xac\xb8\xec\xa0\x9c\xea\xb0\x80 \xec\x9e\x88"
        "\xec\x9c\xbc\xeb\xa9\xb4 \xea\xb3\xa0\xea\xb0\x9d\xec\x84\xbc\xed"
        "\x84\xb0\xeb\xa1\x9c \xeb\xac\xb8\xec\x9d\x98\xed\x95\xb4 \xec\xa3"
        "\xbc\xec\x84\xb8\xec\x9a\x94."
        /* 이 링크는 이미 사용되었습니다. 전자책은 앱에서 확인할 수
           있습니다. 문제가 있으면 고객센터로 문의해 주세요. */ },
      { "Link already used",
        "This link has already been used: your e-book is in the app. If "
        "something is wrong, please contact us." } },

    /* EXPIRED */
    { { "\xeb\xa7\x8c\xeb\xa3\x8c\xeb\x90\x9c \xeb\xa7\x81\xed\x81\xac",
        /* 만료된 링크 */
        "\xec\x9d\xb4 \xeb\xa7\x81\xed\x81\xac\xec\x9d\x98 \xec\x82\xac\xec"
        "\x9a\xa9 \xea\xb8\xb0\xea\xb0\x84\xec\x9d\xb4 \xec\xa7\x80\xeb\x82"
        "\xac\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b\xa4. \xec\x83\x88 \xeb\xa7\x81"
        "\xed\x81\xac\xea\xb0\x80 \xed\x95\x84\xec\x9a\x94\xed\x95\x98\xec"
        "\x8b\x9c\xeb\xa9\xb4 \xea\xb3\xa0\xea\xb0\x9d\xec\x84\xbc\xed\x84"
        "\xb0\xeb\xa1\x9c \xeb\xac\xb8\xec\x9d\x98\xed\x95\xb4 \xec\xa3\xbc"
        "\xec\x84\xb8\xec\x9a\x94."
        /* 이 링크의 사용 기간이 지났습니다. 새 링크가 필요하시면
           고객센터로 문의해 주세요. */ },
      { "Link expired",
        "This link has expired. Please contact us for a new one." } },

    /* REVOKED */
    { { "\xec\x82\xac\xec\x9a\xa9\xed\x95\xa0 \xec\x88\x98 \xec\x97\x86"
        "\xeb\x8a\x94 \xeb\xa7\x81\xed\x81\xac",      /* 사용할 수 없는 링크 */
        "\xec\x9d\xb4 \xeb\xa7\x81\xed\x81\xac\xeb\x8a\x94 \xec\xb7\xa8\xec"
        "\x86\x8c\xeb\x90\x98\xec\x97\x88\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b"
        "\xa4. \xec\xa3\xbc\xeb\xac\xb8\xec\x9d\xb4 \xec\xb7\xa8\xec\x86\x8c "
        "\xeb\x98\x90\xeb\x8a\x94 \xeb\xb0\x98\xed\x92\x88\xeb\x90\x98\xec"
        "\x97\x88\xea\xb1\xb0\xeb\x82\x98 \xec\x83\x88 \xeb\xa7\x81\xed\x81"
        "\xac\xea\xb0\x80 \xeb\xb0\x9c\xec\x86\xa1\xeb\x90\x98\xec\x97\x88"
        "\xec\x9d\x84 \xec\x88\x98 \xec\x9e\x88\xec\x8a\xb5\xeb\x8b\x88\xeb"
        "\x8b\xa4."
        /* 이 링크는 취소되었습니다. 주문이 취소 또는 반품되었거나 새
           링크가 발송되었을 수 있습니다. */ },
      { "Link no longer valid",
        "This link was cancelled: the order may have been cancelled or "
        "returned, or a new link was sent." } },

    /* UNKNOWN */
    { { "\xeb\xa7\x81\xed\x81\xac\xeb\xa5\xbc \xec\xb0\xbe\xec\x9d\x84 "
        "\xec\x88\x98 \xec\x97\x86\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b\xa4",
        /* 링크를 찾을 수 없습니다 */
        "\xeb\xb0\x9b\xec\x9c\xbc\xec\x8b\xa0 \xeb\xa9\x94\xec\x8b\x9c\xec"
        "\xa7\x80\xec\x9d\x98 \xec\xa3\xbc\xec\x86\x8c \xec\xa0\x84\xec\xb2"
        "\xb4\xeb\xa5\xbc \xed\x99\x95\xec\x9d\xb8\xed\x95\xb4 \xec\xa3\xbc"
        "\xec\x84\xb8\xec\x9a\x94."
        /* 받으신 메시지의 주소 전체를 확인해 주세요. */ },
      { "Link not found",
        "We could not find this link. Please check that the whole address "
        "from the message was opened." } },

    /* ON_IT */
    { { "\xed\x99\x95\xec\x9d\xb8\xed\x95\x98\xea\xb3\xa0 \xec\x9e\x88"
        "\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b\xa4",        /* 확인하고 있습니다 */
        "\xec\xa7\x80\xea\xb8\x88\xec\x9d\x80 \xed\x99\x9c\xec\x84\xb1\xed"
        "\x99\x94\xeb\xa5\xbc \xeb\xa7\x88\xec\xb9\x98\xec\xa7\x80 \xeb\xaa"
        "\xbb\xed\x96\x88\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b\xa4. \xeb\x8b\xb4"
        "\xeb\x8b\xb9\xec\x9e\x90\xea\xb0\x80 \xed\x99\x95\xec\x9d\xb8\xed"
        "\x95\x98\xea\xb3\xa0 \xec\x97\xb0\xeb\x9d\xbd\xeb\x93\x9c\xeb\xa6"
        "\xac\xea\xb2\xa0\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b\xa4. \xeb\x8b\xa4"
        "\xec\x8b\x9c \xec\x8b\x9c\xeb\x8f\x84\xed\x95\x98\xec\x8b\xa4 "
        "\xed\x95\x84\xec\x9a\x94\xeb\x8a\x94 \xec\x97\x86\xec\x8a\xb5\xeb"
        "\x8b\x88\xeb\x8b\xa4."
        /* 지금은 활성화를 마치지 못했습니다. 담당자가 확인하고
           연락드리겠습니다. 다시 시도하실 필요는 없습니다. */ },
      { "We are on it",
        "We could not finish the activation just now. Our team has been "
        "told and will get back to you; there is no need to try again." } },

    /* UNAVAILABLE */
    { { "\xec\x9e\xa0\xec\x8b\x9c \xed\x9b\x84 \xeb\x8b\xa4\xec\x8b\x9c "
        "\xec\x8b\x9c\xeb\x8f\x84\xed\x95\xb4 \xec\xa3\xbc\xec\x84\xb8\xec"
        "\x9a\x94",                          /* 잠시 후 다시 시도해 주세요 */
        "\xec\x9d\xbc\xec\x8b\x9c\xec\xa0\x81\xec\x9d\xb8 \xeb\xac\xb8\xec"
        "\xa0\x9c\xeb\xa1\x9c \xec\x9a\x94\xec\xb2\xad\xec\x9d\x84 \xec\xb2"
        "\x98\xeb\xa6\xac\xed\x95\x98\xec\xa7\x80 \xeb\xaa\xbb\xed\x96\x88"
        "\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b\xa4. \xeb\xa7\x81\xed\x81\xac"
        "\xeb\x8a\x94 \xea\xb7\xb8\xeb\x8c\x80\xeb\xa1\x9c \xec\x9c\xa0"
        "\xed\x9a\xa8\xed\x95\xa9\xeb\x8b\x88\xeb\x8b\xa4."
        /* 일시적인 문제로 요청을 처리하지 못했습니다. 링크는 그대로
           유효합니다. */ },
      { "Please try again shortly",
        "A temporary problem stopped us; your link is still valid. Please "
        "try again in a few minutes." } }
};

/* READY's button and expiry line, DONE's app link, per language */
static const char  *act_button[2] = {
    "\xed\x99\x9c\xec\x84\xb1\xed\x99\x94\xed\x95\x98\xea\xb8\xb0",
    /* 활성화하기 */
    "Activate"
};

static const char  *act_until[2] = {
    "\xec\x9d\xb4 \xeb\xa7\x81\xed\x81\xac\xeb\x8a\x94 %s\xea\xb9\x8c"
    "\xec\xa7\x80 \xed\x95\x9c \xeb\xb2\x88\xeb\xa7\x8c \xec\x93\xb8 \xec"
    "\x88\x98 \xec\x9e\x88\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b\xa4.",
    /* 이 링크는 %s까지 한 번만 쓸 수 있습니다. */
    "This link works once, until %s."
};

static const char  *act_open_app[2] = {
    "\xec\x95\xb1\xec\x97\x90\xec\x84\x9c \xec\x97\xb4\xea\xb8\xb0",
    /* 앱에서 열기 */
    "Open the app"
};

static const unsigned  act_statuses[INTEGRATIONS_ACT_NPAGES] = {
    200, 200, 409, 410, 403, 404, 202, 503
};


integrations_act_lang_e
integrations_act_language(const char *p, size_t len)
{
    size_t                   i, start, end, tag_len, k;
    int                      q, best_q, frac;
    const char              *tag, *v;
    integrations_act_lang_e  lang, best;

    best = INTEGRATIONS_ACT_KO;
    best_q = 0;

    if (p == NULL) {
        return best;
    }

    for (start = 0; start < len; start = end + 1) {

        for (end = start; end < len && p[end] != ','; end++) {
            /* void */
        }

        /* OWS language-range */

        i = start;
        while (i < end && (p[i] == ' ' || p[i] == '\t')) {
            i++;
        }

        tag = p + i;
        while (i < end && p[i] != ';' && p[i] != ' ' && p[i] != '\t') {
            i++;
        }

        tag_len = (size_t) (p + i - tag);

        while (i < end && (p[i] == ' ' || p[i] == '\t')) {
            i++;
        }

        /* [ OWS ";" OWS "q=" qvalue OWS ]; anything else: skip the range */

        q = 1000;

        if (i < end) {
            if (p[i] != ';') {
                continue;
            }

            i++;
            while (i < end && (p[i] == ' ' || p[i] == '\t')) {
                i++;
            }

            if (end - i < 3 || (p[i] != 'q' && p[i] != 'Q')
                || p[i + 1] != '=')
            {
                continue;
            }

            v = p + i + 2;
            k = end - i - 2;

            while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t')) {
                k--;
            }

            /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */

            if (k < 1 || k > 5 || (v[0] != '0' && v[0] != '1')
                || (k > 1 && v[1] != '.'))
            {
                continue;
            }

            q = (v[0] - '0') * 1000;

            for (i = 2, frac = 100; i < k; i++, frac /= 10) {
                if (v[i] < '0' || v[i] > '9') {
                    break;
                }

                q += (v[i] - '0') * frac;
            }

            if (i < k || q > 1000) {
                continue;
            }
        }

        if (q == 0 || tag_len == 0) {
            continue;                           /* "not acceptable" */
        }

        /* the primary subtag: "ko", "ko-KR"; "en", "en-GB"; "*" */

        if ((tag_len == 2 || (tag_len > 2 && tag[2] == '-'))
            && strncasecmp(tag, "en", 2) == 0)
        {
            lang = INTEGRATIONS_ACT_EN;

        } else if (((tag_len == 2 || (tag_len > 2 && tag[2] == '-'))
                    && strncasecmp(tag, "ko", 2) == 0)
                   || (tag_len == 1 && tag[0] == '*'))
        {
            lang = INTEGRATIONS_ACT_KO;

        } else {
            continue;
        }

        /* the highest q wins; of equal ones, the one listed first */

        if (q > best_q) {
            best_q = q;
            best = lang;
        }
    }

    return best;
}


integrations_act_page_e
integrations_act_token_verdict(int found, int revoked, int used,
    int64_t expires_at, int64_t now)
{
    if (!found) {
        return INTEGRATIONS_ACT_PAGE_UNKNOWN;
    }

    if (revoked) {
        return INTEGRATIONS_ACT_PAGE_REVOKED;
    }

    if (used) {
        return INTEGRATIONS_ACT_PAGE_USED;
    }

    if (now >= expires_at) {
        return INTEGRATIONS_ACT_PAGE_EXPIRED;
    }

    return INTEGRATIONS_ACT_PAGE_READY;
}


unsigned
integrations_act_page_status(integrations_act_page_e page)
{
    if (page < 0 || page >= INTEGRATIONS_ACT_NPAGES) {
        return 500;
    }

    return act_statuses[page];
}


size_t
integrations_act_html_escape(const char *s, size_t len, char *out,
    size_t size)
{
    size_t       i, n, k;
    const char  *e;

    for (i = 0, n = 0; i < len; i++) {
        switch (s[i]) {
        case '&':  e = "&amp;";  break;
        case '<':  e = "&lt;";   break;
        case '>':  e = "&gt;";   break;
        case '"':  e = "&quot;"; break;
        case '\'': e = "&#39;";  break;
        default:   e = NULL;
        }

        k = e ? strlen(e) : 1;

        if (n + k <= size) {
            memcpy(out + n, e ? e : &s[i], k);
        }

        n += k;
    }

    return n;
}


char *
integrations_act_page(integrations_act_page_e page,
    integrations_act_lang_e lang, const integrations_act_page_input_t *in,
    size_t *len)
{
    char               date[16], line[256];
    act_buf_t          b;
    const act_words_t *w;

    if (page < 0 || page >= INTEGRATIONS_ACT_NPAGES
        || (lang != INTEGRATIONS_ACT_KO && lang != INTEGRATIONS_ACT_EN))
    {
        return NULL;
    }

    w = &act_pages[page][lang];

    memset(&b, 0, sizeof(b));

    buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"");
    buf_adds(&b, lang == INTEGRATIONS_ACT_EN ? "en" : "ko");
    buf_adds(&b, "\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, "
                 "initial-scale=1\">"
                 "<meta name=\"robots\" content=\"noindex\">"
                 "<meta name=\"referrer\" content=\"no-referrer\"><title>");
    buf_adds(&b, w->title);
    buf_adds(&b, "</title><style>"
                 "body{font-family:system-ui,sans-serif;margin:0;"
                 "background:#f6f6f6;color:#222}"
                 "main{max-width:28rem;margin:4rem auto;padding:2rem;"
                 "background:#fff;border-radius:12px}"
                 "h1{font-size:1.4rem}"
                 ".product{font-weight:600}"
                 "button,.app{display:block;width:100%;padding:.9rem;"
                 "font-size:1.1rem;border:0;border-radius:8px;"
                 "background:#346aff;color:#fff;text-align:center;"
                 "text-decoration:none;cursor:pointer}"
                 "</style></head>\n<body><main><h1>");
    buf_adds(&b, w->title);
    buf_adds(&b, "</h1>\n<p>");
    buf_adds(&b, w->text);
    buf_adds(&b, "</p>\n");

    if (in && in->product && in->product_len
        && (page == INTEGRATIONS_ACT_PAGE_READY
            || page == INTEGRATIONS_ACT_PAGE_DONE))
    {
        buf_adds(&b, "<p class=\"product\">");
        buf_html(&b, in->product, in->product_len);
        buf_adds(&b, "</p>\n");
    }

    if (page == INTEGRATIONS_ACT_PAGE_READY) {
        if (in && in->expires_at > 0) {
            kst_date(in->expires_at, date);
            snprintf(line, sizeof(line), act_until[lang], date);
            buf_adds(&b, "<p>");
            buf_adds(&b, line);
            buf_adds(&b, "</p>\n");
        }

        /* the POST redeems; a GET by a link scanner changes nothing */

        buf_adds(&b, "<form method=\"post\" action=\"");
        if (in && in->action) {
            buf_html(&b, in->action, in->action_len);
        }
        buf_adds(&b, "\"><button type=\"submit\">");
        buf_adds(&b, act_button[lang]);
        buf_adds(&b, "</button></form>\n");
    }

    if (page == INTEGRATIONS_ACT_PAGE_DONE && in && in->app_url
        && in->app_url_len && safe_scheme(in->app_url, in->app_url_len)
        && url_chars_ok(in->app_url, in->app_url_len))
    {
        buf_adds(&b, "<a class=\"app\" href=\"");
        buf_html(&b, in->app_url, in->app_url_len);
        buf_adds(&b, "\">");
        buf_adds(&b, act_open_app[lang]);
        buf_adds(&b, "</a>\n");
    }

    buf_adds(&b, "</main></body></html>\n");

    return buf_done(&b, len);
}


/* ------------------------------------------------------------------ */
/* Standard Webhooks                                                  */

integrations_act_signer_t *
integrations_act_signer_new(const char *secret, size_t len, char *err,
    size_t err_len)
{
    size_t                      klen;
    unsigned char              *key;
    integrations_act_signer_t  *s;

    while (len && (secret[len - 1] == '\n' || secret[len - 1] == '\r'
                   || secret[len - 1] == ' ' || secret[len - 1] == '\t'))
    {
        len--;
    }

    if (len > 6 && memcmp(secret, "whsec_", 6) == 0) {
        secret += 6;
        len -= 6;
    }

    key = malloc(len + 1);
    s = malloc(sizeof(integrations_act_signer_t));

    if (key == NULL || s == NULL) {
        free(key);
        free(s);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }

    if (integrations_codec_base64_decode(key, len + 1,
                                         (const unsigned char *) secret, len,
                                         &klen) != 0)
    {
        OPENSSL_cleanse(key, len + 1);
        free(key);
        free(s);
        snprintf(err, err_len,
                 "secret is not base64 (after an optional whsec_)");
        return NULL;
    }

    if (klen < 16) {
        OPENSSL_cleanse(key, len + 1);
        free(key);
        free(s);
        snprintf(err, err_len, "secret decodes to fewer than 16 bytes");
        return NULL;
    }

    integrations_hmac_key_init(&s->key, INTEGRATIONS_HMAC_SHA256, key, klen);

    OPENSSL_cleanse(key, len + 1);
    free(key);

    return s;
}


void
integrations_act_signer_free(integrations_act_signer_t *s)
{
    if (s == NULL) {
        return;
    }

    integrations_hmac_key_clear(&s->key);
    free(s);
}


void
integrations_act_sign(const integrations_act_signer_t *s, const char *id,
    size_t id_len, int64_t timestamp, const char *body, size_t body_len,
    char *out)
{
    char                 ts[24];
    unsigned char        md[INTEGRATIONS_HMAC_MAX_LEN];
    integrations_hmac_t  mac;

    integrations_hmac_start(&mac, &s->key);
    integrations_hmac_update(&mac, id, id_len);
    integrations_hmac_update(&mac, ".", 1);
    integrations_hmac_update(&mac, ts,
                             (size_t) sprintf(ts, "%lld",
                                              (long long) timestamp));
    integrations_hmac_update(&mac, ".", 1);
    integrations_hmac_update(&mac, body, body_len);
    integrations_hmac_final(&mac, md);

    memcpy(out, "v1,", 3);
    integrations_codec_base64_encode((unsigned char *) out + 3, md, 32);

    OPENSSL_cleanse(md, sizeof(md));
}


void
integrations_act_msg_id(integrations_act_call_e call, const char *order_id,
    size_t order_len, const char *item_id, size_t item_len, unsigned unit,
    char *out)
{
    char           u[16];
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX    *ctx;

    /* each field ends in NUL: no two inputs give the same bytes */

    memset(md, 0, sizeof(md));

    ctx = EVP_MD_CTX_new();

    if (ctx == NULL
        || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(ctx, call == INTEGRATIONS_ACT_CALL_GRANT
                                 ? "grant" : "revoke",
                            call == INTEGRATIONS_ACT_CALL_GRANT ? 6 : 7) != 1
        || EVP_DigestUpdate(ctx, order_id, order_len) != 1
        || EVP_DigestUpdate(ctx, "", 1) != 1
        || EVP_DigestUpdate(ctx, item_id, item_len) != 1
        || EVP_DigestUpdate(ctx, "", 1) != 1
        || EVP_DigestUpdate(ctx, u, (size_t) sprintf(u, "%u", unit) + 1) != 1
        || EVP_DigestFinal_ex(ctx, md, &n) != 1)
    {
        /* no memory: an id still, if a less telling one */
        memset(md, 0, sizeof(md));
    }

    EVP_MD_CTX_free(ctx);

    memcpy(out, "msg_", 4);
    integrations_codec_hex_encode((unsigned char *) out + 4, md, 16);
}


char *
integrations_act_call_body(integrations_act_call_e call,
    const integrations_act_call_t *c, size_t *len)
{
    char                     ts[32];
    integrations_json_gen_t  w;

    static const char  *reasons[] = { "return", "cancel", "admin" };

    if (c->order_id == NULL || c->vendor_item_id == NULL
        || c->product_code == NULL
        || (unsigned) c->reason >= sizeof(reasons) / sizeof(reasons[0]))
    {
        return NULL;
    }

    if (integrations_json_gen_init(&w) != 0) {
        return NULL;
    }

    utc_iso(c->at, ts);

    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "type");
    integrations_json_gen_cstr(&w, call == INTEGRATIONS_ACT_CALL_GRANT
                                   ? "activation.grant"
                                   : "activation.revoke");
    integrations_json_gen_cstr(&w, "timestamp");
    integrations_json_gen_cstr(&w, ts);
    integrations_json_gen_cstr(&w, "data");
    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "marketplace");
    integrations_json_gen_cstr(&w, "coupang");
    integrations_json_gen_cstr(&w, "order_id");
    integrations_json_gen_str(&w, c->order_id, c->order_id_len);

    if (c->shipment_box_id) {
        integrations_json_gen_cstr(&w, "shipment_box_id");
        integrations_json_gen_str(&w, c->shipment_box_id,
                                  c->shipment_box_id_len);
    }

    integrations_json_gen_cstr(&w, "vendor_item_id");
    integrations_json_gen_str(&w, c->vendor_item_id, c->vendor_item_id_len);
    integrations_json_gen_cstr(&w, "product_code");
    integrations_json_gen_str(&w, c->product_code, c->product_code_len);
    integrations_json_gen_cstr(&w, "unit");
    integrations_json_gen_int(&w, c->unit);
    integrations_json_gen_cstr(&w, "units");
    integrations_json_gen_int(&w, c->units);

    if (call == INTEGRATIONS_ACT_CALL_GRANT) {
        if (c->contact && c->contact->kind != INTEGRATIONS_ACT_CONTACT_NONE) {
            integrations_json_gen_cstr(&w, "contact");
            yajl_gen_map_open(w.g);
            integrations_json_gen_cstr(&w, "kind");
            integrations_json_gen_cstr(&w, c->contact->kind
                                           == INTEGRATIONS_ACT_CONTACT_EMAIL
                                           ? "email" : "phone");
            integrations_json_gen_cstr(&w, "value");
            integrations_json_gen_str(&w, c->contact->value, c->contact->len);
            yajl_gen_map_close(w.g);
        }

    } else {
        integrations_json_gen_cstr(&w, "reason");
        integrations_json_gen_cstr(&w, reasons[c->reason]);

        if (c->receipt_id) {
            integrations_json_gen_cstr(&w, "receipt_id");
            integrations_json_gen_str(&w, c->receipt_id, c->receipt_id_len);
        }
    }

    yajl_gen_map_close(w.g);
    yajl_gen_map_close(w.g);

    return integrations_json_gen_done(&w, len);
}


integrations_act_grant_e
integrations_act_grant_outcome(unsigned status)
{
    if (status >= 200 && status < 300) {
        return INTEGRATIONS_ACT_GRANT_OK;
    }

    if (status == 0 || status == 408 || status == 425 || status == 429
        || status >= 500)
    {
        return INTEGRATIONS_ACT_GRANT_RETRY;
    }

    return INTEGRATIONS_ACT_GRANT_FAIL;
}


/* ------------------------------------------------------------------ */
/* The claim                                                          */

/* base64url({"alg":"HS256","typ":"JWT"}) */
static const char  act_jwt_header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";


integrations_act_claim_key_t *
integrations_act_claim_key_new(const unsigned char *key, size_t len)
{
    integrations_act_claim_key_t  *k;

    if (len < 32) {
        return NULL;
    }

    k = malloc(sizeof(integrations_act_claim_key_t));
    if (k == NULL) {
        return NULL;
    }

    integrations_hmac_key_init(&k->key, INTEGRATIONS_HMAC_SHA256, key, len);

    return k;
}


void
integrations_act_claim_key_free(integrations_act_claim_key_t *k)
{
    if (k == NULL) {
        return;
    }

    integrations_hmac_key_clear(&k->key);
    free(k);
}


char *
integrations_act_claim(const integrations_act_claim_key_t *k,
    const integrations_act_call_t *c, const char *jti, size_t jti_len,
    int64_t now, int64_t ttl, size_t *len)
{
    char                    *claims, *out;
    size_t                   n, h, p;
    unsigned char            md[INTEGRATIONS_HMAC_MAX_LEN];
    integrations_hmac_t      mac;
    integrations_json_gen_t  w;

    if (c->order_id == NULL || c->vendor_item_id == NULL
        || c->product_code == NULL || ttl <= 0)
    {
        return NULL;
    }

    if (integrations_json_gen_init(&w) != 0) {
        return NULL;
    }

    yajl_gen_map_open(w.g);
    integrations_json_gen_cstr(&w, "iss");
    integrations_json_gen_cstr(&w, "ngx_integrations");
    integrations_json_gen_cstr(&w, "aud");
    integrations_json_gen_cstr(&w, "activation");
    integrations_json_gen_cstr(&w, "jti");
    integrations_json_gen_str(&w, jti, jti_len);
    integrations_json_gen_cstr(&w, "iat");
    integrations_json_gen_int(&w, now);
    integrations_json_gen_cstr(&w, "exp");
    integrations_json_gen_int(&w, now + ttl);
    integrations_json_gen_cstr(&w, "order_id");
    integrations_json_gen_str(&w, c->order_id, c->order_id_len);

    if (c->shipment_box_id) {
        integrations_json_gen_cstr(&w, "shipment_box_id");
        integrations_json_gen_str(&w, c->shipment_box_id,
                                  c->shipment_box_id_len);
    }

    integrations_json_gen_cstr(&w, "vendor_item_id");
    integrations_json_gen_str(&w, c->vendor_item_id, c->vendor_item_id_len);
    integrations_json_gen_cstr(&w, "product_code");
    integrations_json_gen_str(&w, c->product_code, c->product_code_len);
    integrations_json_gen_cstr(&w, "unit");
    integrations_json_gen_int(&w, c->unit);
    yajl_gen_map_close(w.g);

    claims = integrations_json_gen_done(&w, &n);
    if (claims == NULL) {
        return NULL;
    }

    h = sizeof(act_jwt_header) - 1;
    /* the encoder writes padding, overwritten by what follows */

    out = malloc(h + 1 + INTEGRATIONS_CODEC_BASE64_LEN(n) + 1
                 + INTEGRATIONS_CODEC_BASE64_LEN(32) + 1);

    if (out == NULL) {
        free(claims);
        return NULL;
    }

    memcpy(out, act_jwt_header, h);
    out[h] = '.';
    p = h + 1 + b64url_encode(out + h + 1, (unsigned char *) claims, n);
    free(claims);

    integrations_hmac_start(&mac, &k->key);
    integrations_hmac_update(&mac, out, p);
    integrations_hmac_final(&mac, md);

    out[p++] = '.';
    p += b64url_encode(out + p, md, 32);
    out[p] = '\0';

    *len = p;

    return out;
}


int
integrations_act_claim_verify(const integrations_act_claim_key_t *k,
    const char *jws, size_t len, int64_t now, char **claims,
    size_t *claims_len)
{
    size_t                h, dot, n, slen;
    int64_t               exp;
    yajl_val              root;
    const char           *s;
    unsigned char         md[INTEGRATIONS_HMAC_MAX_LEN], sig[33];
    unsigned char        *payload;
    integrations_hmac_t   mac;

    h = sizeof(act_jwt_header) - 1;

    if (len < h + 2 || len > 8192 || memcmp(jws, act_jwt_header, h) != 0
        || jws[h] != '.')
    {
        return -1;
    }

    for (dot = len; dot > h + 1 && jws[dot - 1] != '.'; dot--) {
        /* void */
    }

    if (dot <= h + 1) {
        return -1;
    }

    dot--;                                        /* the second '.' */

    if (b64url_decode(sig, sizeof(sig), jws + dot + 1, len - dot - 1, &n)
        != 0 || n != 32)
    {
        return -1;
    }

    integrations_hmac_start(&mac, &k->key);
    integrations_hmac_update(&mac, jws, dot);
    integrations_hmac_final(&mac, md);

    if (CRYPTO_memcmp(md, sig, 32) != 0) {
        return -1;
    }

    payload = malloc(dot - h + 1);
    if (payload == NULL) {
        return -1;
    }

    if (b64url_decode(payload, dot - h, jws + h + 1, dot - h - 1, &n) != 0) {
        free(payload);
        return -1;
    }

    /* keys given twice are refused: no reader may pick another "exp" */

    root = integrations_json_parse((char *) payload, n, 4,
                                   INTEGRATIONS_JSON_UNIQUE_KEYS, NULL);

    if (root == NULL
        || integrations_json_text(integrations_json_get(root, "aud"), &s,
                                  &slen) != 0
        || slen != 10 || memcmp(s, "activation", 10) != 0
        || integrations_json_int64(integrations_json_get(root, "exp"), &exp)
           != 0
        || exp <= now)
    {
        yajl_tree_free(root);
        free(payload);
        return -1;
    }

    yajl_tree_free(root);

    payload[n] = '\0';
    *claims = (char *) payload;
    *claims_len = n;

    return 0;
}


int
integrations_act_redirect_check(const char *url, size_t len, char *err,
    size_t err_len)
{
    if (len == 0 || len > ACT_URL_MAX) {
        snprintf(err, err_len, "must be 1 to %d bytes", ACT_URL_MAX);
        return -1;
    }

    if (!safe_scheme(url, len)) {
        snprintf(err, err_len,
                 "must start with a scheme (https:, myapp:), not "
                 "javascript:, data:, vbscript: or file:");
        return -1;
    }

    if (!url_chars_ok(url, len)) {
        snprintf(err, err_len,
                 "holds white space, a quote, an angle bracket, a "
                 "backslash, a \"#\" or a non-ASCII byte");
        return -1;
    }

    return 0;
}


long
integrations_act_redirect_url(const char *url, size_t url_len,
    const char *jws, size_t jws_len, char *out, size_t size)
{
    size_t  n;
    char    sep;

    sep = memchr(url, '?', url_len) ? '&' : '?';

    if (url_len && (url[url_len - 1] == '?' || url[url_len - 1] == '&')) {
        sep = '\0';
    }

    n = url_len + (sep != '\0') + 6 + jws_len;

    if (n + 1 > size) {
        return -1;
    }

    memcpy(out, url, url_len);
    n = url_len;

    if (sep) {
        out[n++] = sep;
    }

    memcpy(out + n, "claim=", 6);
    n += 6;
    memcpy(out + n, jws, jws_len);
    n += jws_len;
    out[n] = '\0';

    return (long) n;
}


/* ------------------------------------------------------------------ */
/* CS monitor, key expiry                                             */

int
integrations_act_cs_urgent(const integrations_coupang_inquiry_t *q,
    int64_t now, int64_t urgent_after)
{
    if (q->kind == INTEGRATIONS_COUPANG_INQUIRY_CALL_CENTER
        || q->return_hint)
    {
        return 1;
    }

    return q->inquiry_at > 0 && urgent_after > 0
           && now - q->inquiry_at >= urgent_after;
}


void
integrations_act_cs_count(integrations_act_cs_counts_t *c,
    const integrations_coupang_inquiry_t *q, int64_t now,
    int64_t urgent_after)
{
    if (q->answered) {
        return;
    }

    if (integrations_act_cs_urgent(q, now, urgent_after)) {
        c->urgent++;

    } else {
        c->normal++;
    }

    if (q->kind == INTEGRATIONS_COUPANG_INQUIRY_CALL_CENTER) {
        c->call_center++;

    } else {
        c->online++;
    }
}


char *
integrations_act_cs_message(const integrations_act_cs_counts_t *c,
    int64_t now, const char *wing, size_t wing_len, size_t *len)
{
    char       when[32];
    act_buf_t  b;

    if (c->urgent + c->normal == 0) {
        return NULL;
    }

    if (wing == NULL || wing_len == 0) {
        wing = INTEGRATIONS_ACT_WING_INQUIRIES;
        wing_len = sizeof(INTEGRATIONS_ACT_WING_INQUIRIES) - 1;
    }

    if (!url_chars_ok(wing, wing_len) || memchr(wing, '|', wing_len)) {
        return NULL;
    }

    integrations_coupang_format_minute(now, INTEGRATIONS_COUPANG_V4, when);
    when[10] = ' ';

    memset(&b, 0, sizeof(b));

    /* 🔔 쿠팡 고객문의 알림 */
    buf_adds(&b, "\xf0\x9f\x94\x94 \xec\xbf\xa0\xed\x8c\xa1 \xea\xb3\xa0"
                 "\xea\xb0\x9d\xeb\xac\xb8\xec\x9d\x98 \xec\x95\x8c\xeb"
                 "\xa6\xbc\n");
    /* 🚨 긴급: N건 */
    buf_printf(&b, "\xf0\x9f\x9a\xa8 \xea\xb8\xb4\xea\xb8\x89: %zu\xea\xb1"
                   "\xb4\n", c->urgent);
    /* 📋 일반: N건 */
    buf_printf(&b, "\xf0\x9f\x93\x8b \xec\x9d\xbc\xeb\xb0\x98: %zu\xea\xb1"
                   "\xb4\n", c->normal);
    /* (상품문의 N건, 콜센터문의 N건) */
    buf_printf(&b, "(\xec\x83\x81\xed\x92\x88\xeb\xac\xb8\xec\x9d\x98 %zu"
                   "\xea\xb1\xb4, \xec\xbd\x9c\xec\x84\xbc\xed\x84\xb0"
                   "\xeb\xac\xb8\xec\x9d\x98 %zu\xea\xb1\xb4)\n",
               c->online, c->call_center);
    /* ⏰ yyyy-MM-dd HH:mm KST 기준 */
    buf_printf(&b, "\xe2\x8f\xb0 %s KST \xea\xb8\xb0\xec\xa4\x80\n", when);
    /* 🔗 <url|쿠팡 윙에서 확인하기> */
    buf_adds(&b, "\xf0\x9f\x94\x97 <");
    buf_add(&b, wing, wing_len);
    buf_adds(&b, "|\xec\xbf\xa0\xed\x8c\xa1 \xec\x9c\x99\xec\x97\x90\xec"
                 "\x84\x9c \xed\x99\x95\xec\x9d\xb8\xed\x95\x98\xea\xb8"
                 "\xb0>");

    return buf_done(&b, len);
}


int
integrations_act_parse_date(const char *p, size_t len, int64_t *t)
{
    if (len != 10) {
        return -1;
    }

    return integrations_coupang_parse_time(p, len, t);
}


integrations_act_key_e
integrations_act_key_check(int64_t issued, int64_t now, int64_t *expires,
    int64_t *days_left)
{
    int64_t  left;

    *expires = issued + INTEGRATIONS_ACT_KEY_LIFE;
    left = *expires - now;

    *days_left = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);

    if (left <= 0) {
        return INTEGRATIONS_ACT_KEY_EXPIRED;
    }

    if (left <= INTEGRATIONS_ACT_KEY_WARN) {
        return INTEGRATIONS_ACT_KEY_EXPIRING;
    }

    return INTEGRATIONS_ACT_KEY_OK;
}


char *
integrations_act_key_message(integrations_act_key_e st, int64_t expires,
    int64_t days_left, size_t *len)
{
    char       date[16];
    act_buf_t  b;

    if (st == INTEGRATIONS_ACT_KEY_OK) {
        return NULL;
    }

    kst_date(expires, date);
    memset(&b, 0, sizeof(b));

    if (st == INTEGRATIONS_ACT_KEY_EXPIRING) {
        /* ⚠️ 쿠팡 API 키가 N일 후(date) 만료됩니다. */
        buf_printf(&b, "\xe2\x9a\xa0\xef\xb8\x8f \xec\xbf\xa0\xed\x8c\xa1 "
                       "API \xed\x82\xa4\xea\xb0\x80 %lld\xec\x9d\xbc "
                       "\xed\x9b\x84(%s) \xeb\xa7\x8c\xeb\xa3\x8c\xeb\x90"
                       "\xa9\xeb\x8b\x88\xeb\x8b\xa4.",
                   (long long) days_left, date);

    } else {
        /* 🚨 쿠팡 API 키가 date에 만료되었습니다. */
        buf_printf(&b, "\xf0\x9f\x9a\xa8 \xec\xbf\xa0\xed\x8c\xa1 API "
                       "\xed\x82\xa4\xea\xb0\x80 %s\xec\x97\x90 \xeb\xa7"
                       "\x8c\xeb\xa3\x8c\xeb\x90\x98\xec\x97\x88\xec\x8a"
                       "\xb5\xeb\x8b\x88\xeb\x8b\xa4.", date);
    }

    /* Wing에서 새 키를 발급받아 coupang_access_key,
       coupang_secret_key_file, coupang_key_issued를 바꿔 주세요.
       재발급하면 이전 키는 바로 쓸 수 없습니다. */
    buf_adds(&b, " Wing\xec\x97\x90\xec\x84\x9c \xec\x83\x88 \xed\x82\xa4"
                 "\xeb\xa5\xbc \xeb\xb0\x9c\xea\xb8\x89\xeb\xb0\x9b\xec"
                 "\x95\x84 coupang_access_key, coupang_secret_key_file, "
                 "coupang_key_issued\xeb\xa5\xbc \xeb\xb0\x94\xea\xbf\x94 "
                 "\xec\xa3\xbc\xec\x84\xb8\xec\x9a\x94. \xec\x9e\xac\xeb"
                 "\xb0\x9c\xea\xb8\x89\xed\x95\x98\xeb\xa9\xb4 \xec\x9d"
                 "\xb4\xec\xa0\x84 \xed\x82\xa4\xeb\x8a\x94 \xeb\xb0\x94"
                 "\xeb\xa1\x9c \xec\x93\xb8 \xec\x88\x98 \xec\x97\x86"
                 "\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b\xa4.");

    return buf_done(&b, len);
}


/* ------------------------------------------------------------------ */
/* CSV, masking                                                       */

size_t
integrations_act_csv_row(const integrations_act_cell_t *cells, size_t n,
    char *out, size_t size)
{
    size_t       i, k, need;
    int          quote, neutral;
    const char  *s;

#define act_put(c)                                                            \
    do { if (need < size) { out[need] = (c); } need++; } while (0)

    need = 0;

    for (i = 0; i < n; i++) {
        s = cells[i].data;

        if (i) {
            act_put(',');
        }

        neutral = cells[i].len > 0
                  && strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
        quote = neutral;

        for (k = 0; k < cells[i].len && !quote; k++) {
            if (s[k] == ',' || s[k] == '"' || s[k] == '\r' || s[k] == '\n') {
                quote = 1;
            }
        }

        if (quote) {
            act_put('"');
        }

        if (neutral) {
            act_put('\'');
        }

        for (k = 0; k < cells[i].len; k++) {
            if (s[k] == '"') {
                act_put('"');
            }

            act_put(s[k]);
        }

        if (quote) {
            act_put('"');
        }
    }

    act_put('\r');
    act_put('\n');

#undef act_put

    return need;
}


size_t
integrations_act_mask(integrations_act_mask_e kind, const char *s, size_t len,
    char *out, size_t size)
{
    size_t  i, n, d, digits, at, first;

    if (size == 0) {
        return 0;
    }

#define act_out(c)  do { if (n + 1 < size) { out[n++] = (c); } } while (0)

    n = 0;

    switch (kind) {

    case INTEGRATIONS_ACT_MASK_PHONE:

        /* the first three and the last four digits show */

        for (i = 0, digits = 0; i < len; i++) {
            digits += (s[i] >= '0' && s[i] <= '9');
        }

        for (i = 0, d = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9') {
                continue;
            }

            act_out((digits >= 8 && (d < 3 || d >= digits - 4)) ? s[i] : '*');
            d++;
        }

        break;

    case INTEGRATIONS_ACT_MASK_EMAIL:
        for (at = 0; at < len && s[at] != '@'; at++) {
            /* void */
        }

        if (at == len || at == 0) {
            return integrations_act_mask(INTEGRATIONS_ACT_MASK_NAME, s, len,
                                         out, size);
        }

        act_out(s[0]);
        act_out('*');
        act_out('*');
        act_out('*');

        for (i = at; i < len; i++) {
            act_out(((unsigned char) s[i] < 0x20 || s[i] == 0x7f) ? '?'
                                                                   : s[i]);
        }

        break;

    default:

        /* the first character (UTF-8: its lead byte and continuations) */

        if (len == 0) {
            break;
        }

        first = 1;
        while (first < len && ((unsigned char) s[first] & 0xc0) == 0x80) {
            first++;
        }

        if (n + first + 1 < size && (unsigned char) s[0] >= 0x20) {
            memcpy(out, s, first);
            n = first;
        }

        act_out('*');
        break;
    }

#undef act_out

    out[n] = '\0';

    return n;
}


size_t
integrations_act_mask_contact(const integrations_act_contact_t *c, char *out,
    size_t size)
{
    return integrations_act_mask(c->kind == INTEGRATIONS_ACT_CONTACT_EMAIL
                                 ? INTEGRATIONS_ACT_MASK_EMAIL
                                 : INTEGRATIONS_ACT_MASK_PHONE,
                                 c->value, c->len, out, size);
}


/* ------------------------------------------------------------------ */
/* Helpers                                                            */

static int
name_index(const char **names, size_t n, const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
            return (int) i;
        }
    }

    return -1;
}


static const char *
name_at(const char **names, size_t n, int i)
{
    return (i >= 0 && (size_t) i < n) ? names[i] : NULL;
}


static void
buf_add(act_buf_t *b, const char *s, size_t n)
{
    char    *p;
    size_t   size;

    if (b->failed) {
        return;
    }

    if (b->size - b->len < n + 1) {
        size = b->size ? b->size : 1024;

        while (size - b->len < n + 1) {
            size *= 2;
        }

        p = realloc(b->p, size);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        b->p = p;
        b->size = size;
    }

    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}


static void
buf_adds(act_buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}


static void
buf_printf(act_buf_t *b, const char *fmt, ...)
{
    int      n;
    char     tmp[512];
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);

    if (n < 0 || (size_t) n >= sizeof(tmp)) {
        b->failed = 1;
        return;
    }

    buf_add(b, tmp, (size_t) n);
}


static void
buf_html(act_buf_t *b, const char *s, size_t n)
{
    char    tmp[256];
    size_t  i, k, m;

    /* in slices, so that no slice's escaping can outgrow tmp */

    for (i = 0; i < n; i += k) {
        k = n - i < 40 ? n - i : 40;
        m = integrations_act_html_escape(s + i, k, tmp, sizeof(tmp));
        buf_add(b, tmp, m);
    }
}


static char *
buf_done(act_buf_t *b, size_t *len)
{
    if (b->failed || b->p == NULL) {
        free(b->p);
        return NULL;
    }

    *len = b->len;

    return b->p;
}


static size_t
b64url_encode(char *out, const unsigned char *in, size_t n)
{
    size_t  i, k;

    k = integrations_codec_base64_encode((unsigned char *) out, in, n);

    while (k && out[k - 1] == '=') {
        k--;
    }

    for (i = 0; i < k; i++) {
        if (out[i] == '+') {
            out[i] = '-';

        } else if (out[i] == '/') {
            out[i] = '_';
        }
    }

    return k;
}


/* unpadded base64url, canonical (spare bits zero), into out */

static int
b64url_decode(unsigned char *out, size_t size, const char *in, size_t n,
    size_t *out_len)
{
    char           *t;
    size_t          i, padded;
    int             rc;

    if (n % 4 == 1) {
        return -1;
    }

    padded = (n + 3) / 4 * 4;

    t = malloc(padded ? padded : 1);
    if (t == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (b64url_char((unsigned char) in[i]) < 0) {
            free(t);
            return -1;
        }

        t[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    }

    for ( /* void */ ; i < padded; i++) {
        t[i] = '=';
    }

    rc = integrations_codec_base64_decode(out, size, (unsigned char *) t,
                                          padded, out_len);
    free(t);

    return rc;
}


static int
b64url_char(int c)
{
    const char  *p;

    if (c == '\0') {
        return -1;
    }

    p = strchr(act_b64url, c);

    return p ? (int) (p - act_b64url) : -1;
}


/* printable ASCII less what breaks out of an attribute, a header or a
   Slack link: white space, quotes, <>, \, `, # and anything >= 0x7f */

static int
url_chars_ok(const char *s, size_t n)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '<'
            || c == '>' || c == '\\' || c == '`' || c == '#')
        {
            return 0;
        }
    }

    return 1;
}


/* "scheme:" with a scheme that cannot run code in a page */

static int
safe_scheme(const char *s, size_t n)
{
    size_t  i;

    static const char  *bad[] = { "javascript", "data", "vbscript", "file" };

    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z')
                    || (s[0] >= 'A' && s[0] <= 'Z')))
    {
        return 0;
    }

    for (i = 1; i < n && s[i] != ':'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-'
              || s[i] == '.'))
        {
            return 0;
        }
    }

    if (i == n || i + 1 == n) {
        return 0;
    }

    for (n = 0; n < sizeof(bad) / sizeof(bad[0]); n++) {
        if (strlen(bad[n]) == i && strncasecmp(s, bad[n], i) == 0) {
            return 0;
        }
    }

    return 1;
}


static void
kst_date(int64_t t, char *out)
{
    integrations_coupang_format_day(t, INTEGRATIONS_COUPANG_V4, out);
}


static void
utc_iso(int64_t t, char *out)
{
    char  m[32];

    /* the KST minute formatter, shifted back: one calendar routine */

    integrations_coupang_format_minute(t - ACT_KST, INTEGRATIONS_COUPANG_V4,
                                       m);
    snprintf(out, 32, "%.16s:%02dZ", m, (int) (((t % 60) + 60) % 60));
}


integrations_act_page_e
integrations_act_link_verdict(int found, int revoked, int used,
    int grant_failed, integrations_act_state_e state, int64_t expires_at,
    int64_t now)
{
    integrations_act_page_e  page;

    page = integrations_act_token_verdict(found, revoked, used, expires_at,
                                          now);

    if (page == INTEGRATIONS_ACT_PAGE_USED
        && (grant_failed || state == INTEGRATIONS_ACT_FAILED))
    {
        return INTEGRATIONS_ACT_PAGE_ON_IT;
    }

    return page;
}
