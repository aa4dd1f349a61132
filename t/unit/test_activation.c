/*
 * Unit tests of the activation core: tokens and links, contacts, the
 * state machine, pages and Accept-Language, the Standard Webhooks signer
 * (the standard's own vector, and the module's own verifier), the claim,
 * CS and key messages, CSV rows and masking.
 */

#include "tap.h"
#include "integrations_activation.h"
#include "integrations_webhook.h"

#include <time.h>
#include <yajl/yajl_tree.h>


#define S(lit)  (lit), (sizeof(lit) - 1)


static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;

    return (int64_t) timegm(&tm);
}


static const char *
vstr(yajl_val v, const char *name)
{
    const char  *path[] = { name, NULL };
    yajl_val     s;

    s = yajl_tree_get(v, path, yajl_t_string);

    return s ? YAJL_GET_STRING(s) : "";
}


static integrations_coupang_str_t
cs(const char *s)
{
    integrations_coupang_str_t  v;

    v.data = s;
    v.len = strlen(s);

    return v;
}


static void
test_tokens(void)
{
    char            tok[INTEGRATIONS_ACT_TOKEN_LEN + 1], hex[65], bad[44];
    const char     *p;
    unsigned char   r[32];
    size_t          i;
    char            path[64], link[128], err[128];

    for (i = 0; i < 32; i++) {
        r[i] = (unsigned char) i;
    }

    ok(integrations_act_token_encode(r, 32, tok) == 0, "encoded");
    tok[INTEGRATIONS_ACT_TOKEN_LEN] = '\0';
    is_str(tok, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
           "base64url without padding, 43 characters");
    ok(integrations_act_token_encode(r, 16, tok) != 0,
       "anything but 32 random bytes refused");

    ok(integrations_act_token_valid(tok, 43), "its own token is valid");
    ok(!integrations_act_token_valid(tok, 42), "42 characters refused");

    memcpy(bad, tok, 43);
    bad[43] = '=';
    ok(!integrations_act_token_valid(bad, 44), "padding refused");
    bad[42] = 'B';
    ok(!integrations_act_token_valid(bad, 43),
       "a last character with spare bits set refused (one spelling)");
    memcpy(bad, tok, 43);
    bad[5] = '+';
    ok(!integrations_act_token_valid(bad, 43), "'+' refused");
    bad[5] = '/';
    ok(!integrations_act_token_valid(bad, 43), "'/' refused");
    bad[5] = '\0';
    ok(!integrations_act_token_valid(bad, 43), "NUL refused");
    bad[5] = '-';
    bad[6] = '_';
    ok(integrations_act_token_valid(bad, 43), "'-' and '_' taken");

    integrations_act_token_hash_hex(tok, 43, hex);
    hex[64] = '\0';
    is_str(hex,
           "ea866a757e4c38babfa8127cbe9a409d3e1f93a00ff1488ff735fcf917afffd0",
           "stored form: SHA-256 of the token text");

    snprintf(path, sizeof(path), "/a/%s", tok);
    ok(integrations_act_path_token(path, strlen(path), S("/a/"), &p) == 0
       && p == path + 3, "/a/{token}");
    snprintf(path, sizeof(path), "/a/%s/", tok);
    ok(integrations_act_path_token(path, strlen(path), S("/a/"), &p) != 0,
       "a trailing slash refused");
    snprintf(path, sizeof(path), "/b/%s", tok);
    ok(integrations_act_path_token(path, strlen(path), S("/a/"), &p) != 0,
       "another prefix refused");
    ok(integrations_act_path_token(S("/a/short"), S("/a/"), &p) != 0,
       "a short token refused");

    ok(integrations_act_link_base_check(S("https://shop.example/a/"), err,
                                        sizeof(err)) == 0, "https .../a/");
    ok(integrations_act_link_base_check(S("https://x.example/act?t="), err,
                                        sizeof(err)) == 0, "a query form");
    ok(integrations_act_link_base_check(S("https://x.example/a"), err,
                                        sizeof(err)) != 0
       && strstr(err, "end") != NULL, "no separator before the token");
    ok(integrations_act_link_base_check(S("ftp://x.example/a/"), err,
                                        sizeof(err)) != 0, "ftp refused");
    ok(integrations_act_link_base_check(S("https://x.example/a b/"), err,
                                        sizeof(err)) != 0, "a space refused");
    ok(integrations_act_link_base_check(S("https://x.example/#/"), err,
                                        sizeof(err)) != 0, "a # refused");
    ok(integrations_act_link_base_check(S("https:///a/"), err, sizeof(err))
       != 0, "no host refused");

    ok(integrations_act_link(S("https://shop.example/a/"), tok, 43, link,
                             sizeof(link)) == 23 + 43
       && strncmp(link, "https://shop.example/a/AAECAw", 29) == 0,
       "the link");
    ok(integrations_act_link(S("https://shop.example/a/"), tok, 43, link, 66)
       < 0, "no room: refused");
}


static void
test_quantities(void)
{
    is_int(integrations_act_link_count(1, 0, 0, INTEGRATIONS_ACT_PER_ITEM),
           1, "one bought, one link");
    is_int(integrations_act_link_count(3, 1, 0, INTEGRATIONS_ACT_PER_ITEM),
           2, "three bought, one cancelled: two links");
    is_int(integrations_act_link_count(3, 1, 1, INTEGRATIONS_ACT_PER_ITEM),
           1, "minus the units held for cancellation");
    is_int(integrations_act_link_count(3, 0, 0, INTEGRATIONS_ACT_PER_ORDER),
           1, "per_order: one link");
    is_int(integrations_act_link_count(2, 2, 0, INTEGRATIONS_ACT_PER_ORDER),
           0, "all cancelled: none");
    is_int(integrations_act_link_count(1000, 0, 0, INTEGRATIONS_ACT_PER_ITEM),
           INTEGRATIONS_ACT_MAX_UNITS, "capped");
    is_int(integrations_act_link_count(-1, 0, 0, INTEGRATIONS_ACT_PER_ITEM),
           0, "nonsense counts: none");
}


static void
test_contact(void)
{
    char                                 ph[16];
    size_t                               n;
    integrations_act_contact_t           c;
    integrations_coupang_order_t         o;
    integrations_coupang_order_item_t    it;
    integrations_coupang_str_t           answers[3];
    integrations_act_source_e            order[4];

    static const struct {
        const char  *in;
        int          mobile_only;
        const char  *out;
    } phones[] = {
        { "0503-1234-5464", 0, "050312345464" },
        { "0505-123-4567", 0, "05051234567" },
        { "+8250312345464", 0, "050312345464" },
        { "+82 10-1234-5678", 1, "01012345678" },
        { "+82 (0)10 1234 5678", 1, "01012345678" },
        { "010.1234.5678", 1, "01012345678" },
        { "011-123-4567", 1, "0111234567" },
        { "0503-1234-5464", 1, NULL },
        { "0503-****-5464", 0, NULL },
        { "02-123-4567", 0, NULL },
        { "+1 415 555 0100", 0, NULL },
        { "010-1234-56789", 1, NULL },
        { "01012345678x", 1, NULL },
        { "", 0, NULL },
    };

    static const struct {
        const char  *in;
        int          valid;
    } emails[] = {
        { "buyer@example.com", 1 },
        { "first.last+tag@mail.example.co.kr", 1 },
        { "o'brien@example.ie", 1 },
        { "ab***@naver.com", 0 },
        { "eu*****@na", 0 },
        { "no-at.example.com", 0 },
        { "a@b", 0 },
        { ".a@example.com", 0 },
        { "a..b@example.com", 0 },
        { "a.@example.com", 0 },
        { "a@-example.com", 0 },
        { "a@example-.com", 0 },
        { "a@example.c", 0 },
        { "a@example.123", 0 },
        { "a@example.com.", 0 },
        { "a b@example.com", 0 },
        { "\"a\"@example.com", 0 },
        { "a@[127.0.0.1]", 0 },
        { "a@b@example.com", 0 },
    };

    size_t  i;

    for (i = 0; i < sizeof(phones) / sizeof(phones[0]); i++) {
        int rc = integrations_act_phone(phones[i].in, strlen(phones[i].in),
                                        phones[i].mobile_only, ph, &n);

        if (phones[i].out) {
            ok(rc == 0 && strcmp(ph, phones[i].out) == 0
               && n == strlen(phones[i].out), "phone %s -> %s",
               phones[i].in, phones[i].out);

        } else {
            ok(rc != 0, "phone %s refused%s", phones[i].in,
               phones[i].mobile_only ? " (mobile only)" : "");
        }
    }

    for (i = 0; i < sizeof(emails) / sizeof(emails[0]); i++) {
        ok(integrations_act_email_valid(emails[i].in, strlen(emails[i].in))
           == emails[i].valid, "email %s %s", emails[i].in,
           emails[i].valid ? "taken" : "refused");
    }

    is_int(integrations_act_source_by_name(S("orderer")),
           INTEGRATIONS_ACT_SRC_ORDERER, "orderer");
    is_int(integrations_act_source_by_name(S("answer_email")),
           INTEGRATIONS_ACT_SRC_ANSWER_EMAIL, "answer_email");
    is_int(integrations_act_source_by_name(S("none")),
           INTEGRATIONS_ACT_SRC_NONE, "none");
    is_int(integrations_act_source_by_name(S("email")), -1,
           "an unknown name: -1");

    memset(&o, 0, sizeof(o));
    memset(&it, 0, sizeof(it));
    o.orderer_safe_number = cs("0503-****-5464");     /* masked */
    o.receiver_safe_number = cs("0503-1111-2222");
    answers[0] = cs("please send it");
    answers[1] = cs("010-9876-5432");
    answers[2] = cs("reader@example.com");
    it.etc_info_values = answers;
    it.n_etc_info_values = 3;

    order[0] = INTEGRATIONS_ACT_SRC_ANSWER;
    order[1] = INTEGRATIONS_ACT_SRC_ORDERER;
    ok(integrations_act_contact_choose(order, 2, &o, &it, &c) == 0
       && c.kind == INTEGRATIONS_ACT_CONTACT_PHONE
       && c.source == INTEGRATIONS_ACT_SRC_ANSWER
       && strcmp(c.value, "01098765432") == 0,
       "answer first: the first answer that is a contact");

    order[0] = INTEGRATIONS_ACT_SRC_ANSWER_EMAIL;
    ok(integrations_act_contact_choose(order, 1, &o, &it, &c) == 0
       && c.kind == INTEGRATIONS_ACT_CONTACT_EMAIL
       && strcmp(c.value, "reader@example.com") == 0, "answer_email");

    order[0] = INTEGRATIONS_ACT_SRC_ORDERER;
    order[1] = INTEGRATIONS_ACT_SRC_RECEIVER;
    ok(integrations_act_contact_choose(order, 2, &o, &it, &c) == 0
       && c.source == INTEGRATIONS_ACT_SRC_RECEIVER
       && strcmp(c.value, "050311112222") == 0,
       "a masked orderer number is passed over for the receiver's");

    order[0] = INTEGRATIONS_ACT_SRC_ORDERER;
    order[1] = INTEGRATIONS_ACT_SRC_NONE;
    order[2] = INTEGRATIONS_ACT_SRC_RECEIVER;
    ok(integrations_act_contact_choose(order, 3, &o, &it, &c) != 0
       && c.kind == INTEGRATIONS_ACT_CONTACT_NONE,
       "none ends the list: no_contact");

    it.n_etc_info_values = 1;
    order[0] = INTEGRATIONS_ACT_SRC_ANSWER;
    ok(integrations_act_contact_choose(order, 1, &o, &it, &c) != 0,
       "an answer that is no contact: no_contact");
}


static void
test_machine(void)
{
    int                        s, e;
    unsigned                   a;
    integrations_act_state_e   next;
    integrations_act_verdict_e v;
    int                        sane = 1;

    static const struct {
        integrations_act_state_e    from;
        integrations_act_event_e    ev;
        integrations_act_verdict_e  verdict;
        integrations_act_state_e    to;
        unsigned                    actions;
        const char                 *what;
    } rows[] = {
        { INTEGRATIONS_ACT_NEW, INTEGRATIONS_ACT_EV_INGEST,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_SYNCED,
          INTEGRATIONS_ACT_DO_ISSUE_TOKEN | INTEGRATIONS_ACT_DO_SEND,
          "ingest: token and message" },
        { INTEGRATIONS_ACT_NEW, INTEGRATIONS_ACT_EV_INGEST_NO_CONTACT,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_NO_CONTACT,
          INTEGRATIONS_ACT_DO_ALERT, "no contact: alert" },
        { INTEGRATIONS_ACT_SYNCED, INTEGRATIONS_ACT_EV_INGEST,
          INTEGRATIONS_ACT_IGNORED, INTEGRATIONS_ACT_SYNCED, 0,
          "a second ingest (overlapping windows) changes nothing" },
        { INTEGRATIONS_ACT_SYNCED, INTEGRATIONS_ACT_EV_SENT,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_LINK_SENT,
          INTEGRATIONS_ACT_DO_FULFIL, "sent: acknowledge and invoice" },
        { INTEGRATIONS_ACT_LINK_SENT, INTEGRATIONS_ACT_EV_SENT,
          INTEGRATIONS_ACT_IGNORED, INTEGRATIONS_ACT_LINK_SENT, 0,
          "a repeated delivery report changes nothing" },
        { INTEGRATIONS_ACT_SYNCED, INTEGRATIONS_ACT_EV_SEND_FAILED,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_FAILED,
          INTEGRATIONS_ACT_DO_ALERT, "the message gave up: failed" },
        { INTEGRATIONS_ACT_LINK_SENT, INTEGRATIONS_ACT_EV_REDEEMED,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_REDEEMED,
          INTEGRATIONS_ACT_DO_REDIRECT, "redeemed: redirect" },
        { INTEGRATIONS_ACT_SYNCED, INTEGRATIONS_ACT_EV_REDEEMED,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_REDEEMED,
          INTEGRATIONS_ACT_DO_REDIRECT | INTEGRATIONS_ACT_DO_FULFIL,
          "redeemed before the sent report: fulfil then" },
        { INTEGRATIONS_ACT_LINK_SENT, INTEGRATIONS_ACT_EV_GRANT_FAILED,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_FAILED,
          INTEGRATIONS_ACT_DO_ON_IT_PAGE | INTEGRATIONS_ACT_DO_ALERT,
          "grant failed for good: on-it page, alert" },
        { INTEGRATIONS_ACT_SYNCED, INTEGRATIONS_ACT_EV_RETURN,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_REVOKED,
          INTEGRATIONS_ACT_DO_REVOKE_TOKEN | INTEGRATIONS_ACT_DO_CANCEL_SEND,
          "a cancel before sending: revoke, drop the message" },
        { INTEGRATIONS_ACT_NO_CONTACT, INTEGRATIONS_ACT_EV_RETURN,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_REVOKED, 0,
          "a cancel with no link: nothing to undo" },
        { INTEGRATIONS_ACT_LINK_SENT, INTEGRATIONS_ACT_EV_RETURN,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_REVOKED,
          INTEGRATIONS_ACT_DO_REVOKE_TOKEN,
          "a return of an unredeemed link: revoke the token" },
        { INTEGRATIONS_ACT_REDEEMED, INTEGRATIONS_ACT_EV_RETURN,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_REVOKED,
          INTEGRATIONS_ACT_DO_REVOKE_TOKEN | INTEGRATIONS_ACT_DO_CALL_REVOKE,
          "a return of a redeemed book: call activation_revoke" },
        { INTEGRATIONS_ACT_FAILED, INTEGRATIONS_ACT_EV_RETURN,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_REVOKED,
          INTEGRATIONS_ACT_DO_REVOKE_TOKEN | INTEGRATIONS_ACT_DO_CALL_REVOKE,
          "failed (a grant may have landed): revoke call too" },
        { INTEGRATIONS_ACT_REVOKED, INTEGRATIONS_ACT_EV_RETURN,
          INTEGRATIONS_ACT_IGNORED, INTEGRATIONS_ACT_REVOKED, 0,
          "a return seen again: nothing" },
        { INTEGRATIONS_ACT_REVOKED, INTEGRATIONS_ACT_EV_REVOKE,
          INTEGRATIONS_ACT_REFUSED, INTEGRATIONS_ACT_REVOKED, 0,
          "admin revoke of a revoked one: 409" },
        { INTEGRATIONS_ACT_REVOKED, INTEGRATIONS_ACT_EV_RETURN_WITHDRAWN,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_REVOKED,
          INTEGRATIONS_ACT_DO_ALERT, "a withdrawn return is noticed" },
        { INTEGRATIONS_ACT_LINK_SENT, INTEGRATIONS_ACT_EV_RETURN_WITHDRAWN,
          INTEGRATIONS_ACT_IGNORED, INTEGRATIONS_ACT_LINK_SENT, 0,
          "a withdrawal of a return never seen: nothing" },
        { INTEGRATIONS_ACT_REVOKED, INTEGRATIONS_ACT_EV_REDEEMED,
          INTEGRATIONS_ACT_IGNORED, INTEGRATIONS_ACT_REVOKED,
          INTEGRATIONS_ACT_DO_CALL_REVOKE,
          "a grant that raced a return is undone" },
        { INTEGRATIONS_ACT_LINK_SENT, INTEGRATIONS_ACT_EV_RESEND,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_SYNCED,
          INTEGRATIONS_ACT_DO_REVOKE_TOKEN | INTEGRATIONS_ACT_DO_ISSUE_TOKEN
          | INTEGRATIONS_ACT_DO_SEND, "resend: a fresh link replaces it" },
        { INTEGRATIONS_ACT_NO_CONTACT, INTEGRATIONS_ACT_EV_RESEND,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_SYNCED,
          INTEGRATIONS_ACT_DO_ISSUE_TOKEN | INTEGRATIONS_ACT_DO_SEND,
          "resend once a contact is known" },
        { INTEGRATIONS_ACT_REVOKED, INTEGRATIONS_ACT_EV_RESEND,
          INTEGRATIONS_ACT_APPLIED, INTEGRATIONS_ACT_SYNCED,
          INTEGRATIONS_ACT_DO_ISSUE_TOKEN | INTEGRATIONS_ACT_DO_SEND,
          "resend reinstates a revoked one (after a withdrawal)" },
        { INTEGRATIONS_ACT_REDEEMED, INTEGRATIONS_ACT_EV_RESEND,
          INTEGRATIONS_ACT_REFUSED, INTEGRATIONS_ACT_REDEEMED, 0,
          "resend of a redeemed one: 409" },
        { INTEGRATIONS_ACT_NEW, INTEGRATIONS_ACT_EV_SENT,
          INTEGRATIONS_ACT_REFUSED, INTEGRATIONS_ACT_NEW, 0,
          "no event before ingest" },
    };

    size_t  i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        v = integrations_act_transition(rows[i].from, rows[i].ev, &next, &a);
        ok(v == rows[i].verdict && next == rows[i].to
           && a == rows[i].actions, "%s -> %s: %s",
           rows[i].from == INTEGRATIONS_ACT_NEW
           ? "new" : integrations_act_state_name(rows[i].from),
           integrations_act_event_name(rows[i].ev), rows[i].what);
    }

    /* every pair: a valid next state; nothing but APPLIED moves */

    for (s = INTEGRATIONS_ACT_NEW; s < INTEGRATIONS_ACT_NSTATES; s++) {
        for (e = 0; e < INTEGRATIONS_ACT_NEVENTS; e++) {
            v = integrations_act_transition(s, e, &next, &a);

            if (next < INTEGRATIONS_ACT_NEW || next >= INTEGRATIONS_ACT_NSTATES
                || (v != INTEGRATIONS_ACT_APPLIED && next != s)
                || (v == INTEGRATIONS_ACT_REFUSED && a != 0)
                || (next == INTEGRATIONS_ACT_REDEEMED
                    && s != INTEGRATIONS_ACT_REDEEMED
                    && e != INTEGRATIONS_ACT_EV_REDEEMED))
            {
                sane = 0;
                diag("state %d event %d: verdict %d next %d", s, e, v, next);
            }
        }
    }

    ok(sane, "all %d x %d pairs: only the grant makes redeemed",
       INTEGRATIONS_ACT_NSTATES + 1, INTEGRATIONS_ACT_NEVENTS);

    ok(integrations_act_transition(99, 0, &next, &a)
       == INTEGRATIONS_ACT_REFUSED, "an unknown state refused");

    for (s = 0; s < INTEGRATIONS_ACT_NSTATES; s++) {
        const char *name = integrations_act_state_name(s);

        ok(integrations_act_state_by_name(name, strlen(name)) == s,
           "state name %s", name);
    }

    {
        integrations_act_state_e  st[4];
        size_t                    idx[4], k;

        st[0] = INTEGRATIONS_ACT_REDEEMED;
        st[1] = INTEGRATIONS_ACT_REVOKED;
        ok(integrations_act_order_state(st, 2) == INTEGRATIONS_ACT_REDEEMED,
           "one of two returned: the order shows redeemed");
        st[0] = INTEGRATIONS_ACT_REVOKED;
        ok(integrations_act_order_state(st, 2) == INTEGRATIONS_ACT_REVOKED,
           "all returned: revoked");
        st[2] = INTEGRATIONS_ACT_FAILED;
        ok(integrations_act_order_state(st, 3) == INTEGRATIONS_ACT_FAILED,
           "any failed: failed");

        st[0] = INTEGRATIONS_ACT_REDEEMED;
        st[1] = INTEGRATIONS_ACT_LINK_SENT;
        st[2] = INTEGRATIONS_ACT_REVOKED;
        st[3] = INTEGRATIONS_ACT_REDEEMED;
        k = integrations_act_units_to_revoke(st, 4, 2, idx);
        ok(k == 2 && idx[0] == 1 && idx[1] == 0,
           "a return of 2: the unredeemed first, then a redeemed one");
        k = integrations_act_units_to_revoke(st, 4, 10, idx);
        ok(k == 3, "never a revoked one twice");
    }
}


static void
test_language(void)
{
    static const struct {
        const char              *h;
        integrations_act_lang_e  lang;
    } cases[] = {
        { "", INTEGRATIONS_ACT_KO },
        { "en", INTEGRATIONS_ACT_EN },
        { "en-US,en;q=0.9", INTEGRATIONS_ACT_EN },
        { "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", INTEGRATIONS_ACT_KO },
        { "en-US,en;q=0.9,ko;q=0.8", INTEGRATIONS_ACT_EN },
        { "ko;q=0.5, en;q=0.6", INTEGRATIONS_ACT_EN },
        { "en;q=0.5, ko;q=0.5", INTEGRATIONS_ACT_EN },
        { "ko;q=0.5, en;q=0.5", INTEGRATIONS_ACT_KO },
        { "fr-FR, en;q=0.5", INTEGRATIONS_ACT_EN },
        { "fr-FR, de", INTEGRATIONS_ACT_KO },
        { "en;q=0", INTEGRATIONS_ACT_KO },
        { "*", INTEGRATIONS_ACT_KO },
        { "en;q=0.5, *", INTEGRATIONS_ACT_KO },
        { "EN-gb ; Q=1.000", INTEGRATIONS_ACT_EN },
        { "en;q=1.5", INTEGRATIONS_ACT_KO },
        { "en;q=0.12345", INTEGRATIONS_ACT_KO },
        { "en;q=abc", INTEGRATIONS_ACT_KO },
        { "english", INTEGRATIONS_ACT_KO },
        { "en;level=1", INTEGRATIONS_ACT_KO },
        { ",,,en,,", INTEGRATIONS_ACT_EN },
        { "ko-KR;q=0.001,en;q=0.000", INTEGRATIONS_ACT_KO },
    };

    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok(integrations_act_language(cases[i].h, strlen(cases[i].h))
           == cases[i].lang, "Accept-Language \"%s\": %s", cases[i].h,
           cases[i].lang == INTEGRATIONS_ACT_EN ? "en" : "ko");
    }

    ok(integrations_act_language(NULL, 0) == INTEGRATIONS_ACT_KO,
       "no header: Korean");
}


static void
test_pages(void)
{
    int                              p, distinct;
    char                            *html, esc[64];
    size_t                           len, n;
    unsigned                         seen[8];
    integrations_act_page_input_t    in;

    ok(integrations_act_token_verdict(0, 0, 0, 0, 0)
       == INTEGRATIONS_ACT_PAGE_UNKNOWN, "not found: unknown");
    ok(integrations_act_token_verdict(1, 1, 1, 100, 50)
       == INTEGRATIONS_ACT_PAGE_REVOKED, "revoked beats used");
    ok(integrations_act_token_verdict(1, 0, 1, 100, 500)
       == INTEGRATIONS_ACT_PAGE_USED, "used beats expired");
    ok(integrations_act_token_verdict(1, 0, 0, 100, 100)
       == INTEGRATIONS_ACT_PAGE_EXPIRED, "expired at expires_at");
    ok(integrations_act_token_verdict(1, 0, 0, 100, 99)
       == INTEGRATIONS_ACT_PAGE_READY, "ready before");

    /* each outcome its own status */

    distinct = 1;
    for (p = INTEGRATIONS_ACT_PAGE_USED; p < INTEGRATIONS_ACT_NPAGES; p++) {
        seen[p] = integrations_act_page_status(p);
        for (n = INTEGRATIONS_ACT_PAGE_USED; n < (size_t) p; n++) {
            distinct &= seen[n] != seen[p];
        }
    }

    ok(distinct && integrations_act_page_status(INTEGRATIONS_ACT_PAGE_READY)
                   == 200
       && integrations_act_page_status(INTEGRATIONS_ACT_PAGE_USED) == 409
       && integrations_act_page_status(INTEGRATIONS_ACT_PAGE_EXPIRED) == 410
       && integrations_act_page_status(INTEGRATIONS_ACT_PAGE_REVOKED) == 403
       && integrations_act_page_status(INTEGRATIONS_ACT_PAGE_UNKNOWN) == 404
       && integrations_act_page_status(INTEGRATIONS_ACT_PAGE_ON_IT) == 202,
       "used 409, expired 410, revoked 403, unknown 404, on-it 202");

    memset(&in, 0, sizeof(in));
    in.product = "<script>alert(\"x\")</script> & 'y'";
    in.product_len = strlen(in.product);
    in.action = "/a/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    in.action_len = strlen(in.action);
    in.expires_at = utc(2025, 9, 30, 15, 30, 0);      /* Oct 1, KST */

    html = integrations_act_page(INTEGRATIONS_ACT_PAGE_READY,
                                 INTEGRATIONS_ACT_KO, &in, &len);
    ok(html != NULL && len == strlen(html), "ready page, Korean");
    ok(html && strstr(html, "<html lang=\"ko\">") != NULL, "lang=ko");
    ok(html && strstr(html, "\xec\xa0\x84\xec\x9e\x90\xec\xb1\x85 "
                            "\xed\x99\x9c\xec\x84\xb1\xed\x99\x94") != NULL,
       "a Korean title");
    ok(html && strstr(html, "<script>") == NULL
       && strstr(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
                       "&amp; &#39;y&#39;") != NULL, "the product escaped");
    ok(html && strstr(html, "<form method=\"post\" action=\"/a/AAECAw")
       != NULL, "a POST form to the same path");
    ok(html && strstr(html, "2025-10-01") != NULL, "the expiry as a KST date");
    free(html);

    html = integrations_act_page(INTEGRATIONS_ACT_PAGE_READY,
                                 INTEGRATIONS_ACT_EN, &in, &len);
    ok(html && strstr(html, "lang=\"en\"") && strstr(html, "Activate")
       && strstr(html, "until 2025-10-01"), "ready page, English");
    free(html);

    for (p = 0; p < INTEGRATIONS_ACT_NPAGES; p++) {
        html = integrations_act_page(p, INTEGRATIONS_ACT_EN, &in, &len);
        ok(html && (p == INTEGRATIONS_ACT_PAGE_READY)
                   == (strstr(html, "<form") != NULL),
           "page %d: a form only on the ready page", p);
        free(html);
    }

    html = integrations_act_page(INTEGRATIONS_ACT_PAGE_ON_IT,
                                 INTEGRATIONS_ACT_EN, NULL, &len);
    ok(html && strstr(html, "We are on it"), "on-it page without input");
    free(html);

    in.app_url = "myapp://library?claim=abc";
    in.app_url_len = strlen(in.app_url);
    html = integrations_act_page(INTEGRATIONS_ACT_PAGE_DONE,
                                 INTEGRATIONS_ACT_KO, &in, &len);
    ok(html && strstr(html, "href=\"myapp://library?claim=abc\""),
       "done page links into the app");
    free(html);

    in.app_url = "javascript:alert(1)";
    in.app_url_len = strlen(in.app_url);
    html = integrations_act_page(INTEGRATIONS_ACT_PAGE_DONE,
                                 INTEGRATIONS_ACT_KO, &in, &len);
    ok(html && strstr(html, "href=") == NULL, "never a javascript: link");
    free(html);

    ok(integrations_act_page(99, INTEGRATIONS_ACT_KO, &in, &len) == NULL,
       "an unknown page: NULL");

    n = integrations_act_html_escape(S("a<b"), esc, 3);
    ok(n == 6, "escape reports the length it needs");
    n = integrations_act_html_escape(S("a<b"), esc, sizeof(esc));
    esc[n] = '\0';
    is_str(esc, "a&lt;b", "escaped");
}


static void
test_signer(void)
{
    char                        *json, sig[INTEGRATIONS_ACT_SIGNATURE_LEN + 1];
    char                         err[128], id[INTEGRATIONS_ACT_MSG_ID_LEN + 1];
    char                         id2[INTEGRATIONS_ACT_MSG_ID_LEN + 1];
    char                        *body, ts[24];
    size_t                       i, len, checked;
    yajl_val                     root, vectors, v, h;
    const char                  *path[] = { "vectors", NULL };
    const char                  *p_headers[] = { "headers", NULL };
    integrations_act_signer_t   *s;

    json = tap_slurp(tap_vector_path("webhooks.json"), NULL);
    if (!ok(json != NULL, "read webhooks.json")) {
        return;
    }

    root = yajl_tree_parse(json, NULL, 0);
    vectors = yajl_tree_get(root, path, yajl_t_array);
    checked = 0;

    for (i = 0; vectors && i < YAJL_GET_ARRAY(vectors)->len; i++) {
        v = YAJL_GET_ARRAY(vectors)->values[i];

        if (strcmp(vstr(v, "provider"), "standard") != 0
            || *vstr(v, "secret") == '\0')
        {
            continue;                       /* v1a (Ed25519) is not ours */
        }

        h = yajl_tree_get(v, p_headers, yajl_t_object);
        s = integrations_act_signer_new(vstr(v, "secret"),
                                        strlen(vstr(v, "secret")), err,
                                        sizeof(err));

        if (!ok(s != NULL, "signer from the vector's secret")) {
            continue;
        }

        body = (char *) vstr(v, "body");
        integrations_act_sign(s, vstr(h, "webhook-id"),
                              strlen(vstr(h, "webhook-id")),
                              strtoll(vstr(h, "webhook-timestamp"), NULL, 10),
                              body, strlen(body), sig);
        sig[INTEGRATIONS_ACT_SIGNATURE_LEN] = '\0';

        is_str(sig, vstr(h, "webhook-signature"), "the standard's vector: %s",
               vstr(v, "source"));
        checked++;
        integrations_act_signer_free(s);
    }

    ok(checked >= 1, "at least one Standard Webhooks vector checked");
    yajl_tree_free(root);
    free(json);

    ok(integrations_act_signer_new(S("whsec_not base64!"), err, sizeof(err))
       == NULL && strstr(err, "base64") != NULL, "a bad secret refused");
    ok(integrations_act_signer_new(S("whsec_YWJj"), err, sizeof(err)) == NULL
       && strstr(err, "16") != NULL, "a 3-byte secret refused");
    s = integrations_act_signer_new(S("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                                      "\n"), err, sizeof(err));
    ok(s != NULL, "a secret file's trailing newline is no part of it");

    /* ids: the same for a retry, different for anything else */

    integrations_act_msg_id(INTEGRATIONS_ACT_CALL_GRANT, S("22000009546234"),
                            S("3242596358"), 1, id);
    id[INTEGRATIONS_ACT_MSG_ID_LEN] = '\0';
    integrations_act_msg_id(INTEGRATIONS_ACT_CALL_GRANT, S("22000009546234"),
                            S("3242596358"), 1, id2);
    id2[INTEGRATIONS_ACT_MSG_ID_LEN] = '\0';
    ok(strncmp(id, "msg_", 4) == 0 && strcmp(id, id2) == 0,
       "webhook-id stable across retries");
    integrations_act_msg_id(INTEGRATIONS_ACT_CALL_GRANT, S("22000009546234"),
                            S("3242596358"), 2, id2);
    ok(strcmp(id, id2) != 0, "another unit, another id");
    integrations_act_msg_id(INTEGRATIONS_ACT_CALL_REVOKE, S("22000009546234"),
                            S("3242596358"), 1, id2);
    ok(strcmp(id, id2) != 0, "the revoke call, another id");
    integrations_act_msg_id(INTEGRATIONS_ACT_CALL_GRANT, S("2200000954623"),
                            S("43242596358"), 1, id2);
    ok(strcmp(id, id2) != 0, "fields cannot slide into each other");

    /* a grant body, signed, passes the module's own verifier */

    {
        integrations_act_call_t          c;
        integrations_act_contact_t       who;
        integrations_webhook_secret_t    sec;
        integrations_webhook_params_t    params;
        integrations_webhook_verifier_t *ver;
        integrations_webhook_headers_t   hd;
        integrations_webhook_ctx_t       ctx;
        integrations_webhook_rc_e        rc;
        int64_t                          now = 1756689616;

        memset(&c, 0, sizeof(c));
        memset(&who, 0, sizeof(who));
        who.kind = INTEGRATIONS_ACT_CONTACT_PHONE;
        strcpy(who.value, "01012345678");
        who.len = 11;
        c.order_id = "22000009546234";
        c.order_id_len = 14;
        c.shipment_box_id = "642538971006401429";
        c.shipment_box_id_len = 18;
        c.vendor_item_id = "3242596358";
        c.vendor_item_id_len = 10;
        c.product_code = "EBOOK-001";
        c.product_code_len = 9;
        c.unit = 1;
        c.units = 1;
        c.contact = &who;
        c.at = now;

        body = integrations_act_call_body(INTEGRATIONS_ACT_CALL_GRANT, &c,
                                          &len);
        is_str(body, "{\"type\":\"activation.grant\",\"timestamp\":"
                     "\"2025-09-01T01:20:16Z\",\"data\":{\"marketplace\":"
                     "\"coupang\",\"order_id\":\"22000009546234\","
                     "\"shipment_box_id\":\"642538971006401429\","
                     "\"vendor_item_id\":\"3242596358\",\"product_code\":"
                     "\"EBOOK-001\",\"unit\":1,\"units\":1,\"contact\":{"
                     "\"kind\":\"phone\",\"value\":\"01012345678\"}}}",
               "the grant body: ids as strings, the contact");

        integrations_act_sign(s, id, INTEGRATIONS_ACT_MSG_ID_LEN, now, body,
                              len, sig);
        sprintf(ts, "%lld", (long long) now);

        sec.data = (const unsigned char *)
                   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        sec.len = strlen((const char *) sec.data);
        sec.kind = INTEGRATIONS_WEBHOOK_SECRET_HMAC;
        memset(&params, 0, sizeof(params));
        params.provider = INTEGRATIONS_WEBHOOK_STANDARD;
        params.secrets = &sec;
        params.nsecrets = 1;

        ver = integrations_webhook_verifier_create(&params, err, sizeof(err));
        integrations_webhook_headers_init(&hd);
        integrations_webhook_headers_add(&hd, (const unsigned char *)
                                         "webhook-id", 10,
                                         (const unsigned char *) id,
                                         INTEGRATIONS_ACT_MSG_ID_LEN);
        integrations_webhook_headers_add(&hd, (const unsigned char *)
                                         "webhook-timestamp", 17,
                                         (const unsigned char *) ts,
                                         strlen(ts));
        integrations_webhook_headers_add(&hd, (const unsigned char *)
                                         "webhook-signature", 17,
                                         (const unsigned char *) sig,
                                         INTEGRATIONS_ACT_SIGNATURE_LEN);

        rc = integrations_webhook_init(&ctx, ver, &hd, NULL, 0, now);
        if (rc == INTEGRATIONS_WEBHOOK_OK) {
            integrations_webhook_update(&ctx, body, len);
            rc = integrations_webhook_final(&ctx);
        }

        ok(ver != NULL && rc == INTEGRATIONS_WEBHOOK_OK,
           "the module's Standard Webhooks verifier accepts our signature");
        integrations_webhook_cleanup(&ctx);

        body[len - 3] = 'X';
        rc = integrations_webhook_init(&ctx, ver, &hd, NULL, 0, now);
        if (rc == INTEGRATIONS_WEBHOOK_OK) {
            integrations_webhook_update(&ctx, body, len);
            rc = integrations_webhook_final(&ctx);
        }

        ok(rc == INTEGRATIONS_WEBHOOK_BAD_SIGNATURE,
           "and refuses it for a changed body");
        integrations_webhook_cleanup(&ctx);
        integrations_webhook_verifier_free(ver);
        free(body);

        c.reason = INTEGRATIONS_ACT_WHY_RETURN;
        c.receipt_id = "50229613";
        c.receipt_id_len = 8;
        body = integrations_act_call_body(INTEGRATIONS_ACT_CALL_REVOKE, &c,
                                          &len);
        ok(body && strstr(body, "\"type\":\"activation.revoke\"")
           && strstr(body, "\"reason\":\"return\",\"receipt_id\":"
                           "\"50229613\"")
           && strstr(body, "contact") == NULL,
           "the revoke body: reason and receipt, no contact");
        free(body);

        c.product_code = "bad\xff";
        c.product_code_len = 4;
        body = integrations_act_call_body(INTEGRATIONS_ACT_CALL_GRANT, &c,
                                          &len);
        ok(body == NULL, "invalid UTF-8 refused by the generator");
    }

    integrations_act_signer_free(s);

    ok(integrations_act_grant_outcome(200) == INTEGRATIONS_ACT_GRANT_OK
       && integrations_act_grant_outcome(204) == INTEGRATIONS_ACT_GRANT_OK,
       "2xx: granted");
    ok(integrations_act_grant_outcome(0) == INTEGRATIONS_ACT_GRANT_RETRY
       && integrations_act_grant_outcome(429) == INTEGRATIONS_ACT_GRANT_RETRY
       && integrations_act_grant_outcome(503) == INTEGRATIONS_ACT_GRANT_RETRY,
       "no answer, 429, 5xx: retry");
    ok(integrations_act_grant_outcome(400) == INTEGRATIONS_ACT_GRANT_FAIL
       && integrations_act_grant_outcome(404) == INTEGRATIONS_ACT_GRANT_FAIL,
       "4xx: for good");
}


static void
test_claim(void)
{
    char                           *jws, *claims, out[512], err[128];
    size_t                          len, n;
    integrations_act_call_t         c;
    integrations_act_claim_key_t   *k, *k2;

    static const unsigned char  key[32] = "0123456789abcdef0123456789abcdef";
    static const unsigned char  key2[32] = "0123456789abcdef0123456789abcdeX";

    ok(integrations_act_claim_key_new(key, 31) == NULL,
       "a key under 32 bytes refused");

    k = integrations_act_claim_key_new(key, 32);
    k2 = integrations_act_claim_key_new(key2, 32);

    memset(&c, 0, sizeof(c));
    c.order_id = "22000009546234";
    c.order_id_len = 14;
    c.vendor_item_id = "3242596358";
    c.vendor_item_id_len = 10;
    c.product_code = "EBOOK-001";
    c.product_code_len = 9;
    c.unit = 1;

    jws = integrations_act_claim(k, &c, S("msg_0123"), 1756689616, 300, &len);
    is_str(jws,
           "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
           "eyJpc3MiOiJuZ3hfaW50ZWdyYXRpb25zIiwiYXVkIjoiYWN0aXZhdGlvbiIsImp0"
           "aSI6Im1zZ18wMTIzIiwiaWF0IjoxNzU2Njg5NjE2LCJleHAiOjE3NTY2ODk5MTYs"
           "Im9yZGVyX2lkIjoiMjIwMDAwMDk1NDYyMzQiLCJ2ZW5kb3JfaXRlbV9pZCI6IjMy"
           "NDI1OTYzNTgiLCJwcm9kdWN0X2NvZGUiOiJFQk9PSy0wMDEiLCJ1bml0IjoxfQ."
           "lbyWTGZJ61moxiLIxvV3QVGsYQsNRS9h8F4KwuU_0Pc",
           "HS256 JWS, as computed independently");

    ok(integrations_act_claim_verify(k, jws, len, 1756689616 + 299, &claims,
                                     &n) == 0
       && strstr(claims, "\"product_code\":\"EBOOK-001\"") != NULL
       && n == strlen(claims), "verified before exp, claims returned");
    free(claims);

    ok(integrations_act_claim_verify(k, jws, len, 1756689616 + 300, &claims,
                                     &n) != 0, "expired at exp");
    ok(integrations_act_claim_verify(k2, jws, len, 1756689616, &claims, &n)
       != 0, "another key refused");

    jws[60] = jws[60] == 'A' ? 'B' : 'A';
    ok(integrations_act_claim_verify(k, jws, len, 1756689616, &claims, &n)
       != 0, "a changed claim refused");
    jws[60] = jws[60] == 'A' ? 'B' : 'A';

    jws[len - 1] = jws[len - 1] == 'U' ? 'V' : 'U';
    ok(integrations_act_claim_verify(k, jws, len, 1756689616, &claims, &n)
       != 0, "a changed signature refused");
    jws[len - 1] = jws[len - 1] == 'U' ? 'V' : 'U';

    ok(integrations_act_claim_verify(k, jws, len - 1, 1756689616, &claims, &n)
       != 0, "a cut signature refused");
    ok(integrations_act_claim_verify(k, S("eyJhbGciOiJub25lIn0.e30."),
                                     1756689616, &claims, &n) != 0,
       "alg none refused");

    ok(integrations_act_redirect_check(S("solvebooks://activate"), err,
                                       sizeof(err)) == 0, "a deep link");
    ok(integrations_act_redirect_check(S("javascript:alert(1)"), err,
                                       sizeof(err)) != 0, "javascript: no");
    ok(integrations_act_redirect_check(S("https://app.example/x#y"), err,
                                       sizeof(err)) != 0, "a fragment: no");
    ok(integrations_act_redirect_check(S("/relative"), err, sizeof(err))
       != 0, "no scheme: no");

    ok(integrations_act_redirect_url(S("solvebooks://activate"), jws, len,
                                     out, sizeof(out)) > 0
       && strncmp(out, "solvebooks://activate?claim=eyJ", 31) == 0,
       "?claim=");
    ok(integrations_act_redirect_url(S("https://app.example/a?x=1"), jws, len,
                                     out, sizeof(out)) > 0
       && strncmp(out, "https://app.example/a?x=1&claim=eyJ", 35) == 0,
       "&claim=");
    ok(integrations_act_redirect_url(S("https://app.example/a?"), jws, len,
                                     out, sizeof(out)) > 0
       && strncmp(out, "https://app.example/a?claim=", 28) == 0,
       "after a bare ?");
    ok(integrations_act_redirect_url(S("https://app.example/a"), jws, len,
                                     out, 40) < 0, "no room: refused");

    free(jws);
    integrations_act_claim_key_free(k);
    integrations_act_claim_key_free(k2);
}


static void
test_cs_and_key(void)
{
    char                            *msg;
    size_t                           len;
    int64_t                          now, issued, expires, left;
    integrations_act_cs_counts_t     c;
    integrations_coupang_inquiry_t   q[4];

    now = utc(2025, 9, 1, 1, 20, 0);
    memset(q, 0, sizeof(q));
    memset(&c, 0, sizeof(c));

    q[0].kind = INTEGRATIONS_COUPANG_INQUIRY_ONLINE;
    q[0].inquiry_at = now - 3600;
    q[1].kind = INTEGRATIONS_COUPANG_INQUIRY_ONLINE;
    q[1].inquiry_at = now - 13 * 3600;                    /* old */
    q[2].kind = INTEGRATIONS_COUPANG_INQUIRY_CALL_CENTER;
    q[2].inquiry_at = now - 60;
    q[3].kind = INTEGRATIONS_COUPANG_INQUIRY_ONLINE;
    q[3].answered = 1;

    ok(!integrations_act_cs_urgent(&q[0], now, 12 * 3600), "fresh: normal");
    ok(integrations_act_cs_urgent(&q[1], now, 12 * 3600), "old: urgent");
    ok(integrations_act_cs_urgent(&q[2], now, 12 * 3600),
       "call center: urgent");
    q[0].return_hint = 1;
    ok(integrations_act_cs_urgent(&q[0], now, 12 * 3600),
       "a refund question: urgent");
    q[0].return_hint = 0;

    msg = integrations_act_cs_message(&c, now, NULL, 0, &len);
    ok(msg == NULL, "nothing new: no message");

    integrations_act_cs_count(&c, &q[0], now, 12 * 3600);
    integrations_act_cs_count(&c, &q[1], now, 12 * 3600);
    integrations_act_cs_count(&c, &q[2], now, 12 * 3600);
    integrations_act_cs_count(&c, &q[3], now, 12 * 3600);
    ok(c.urgent == 2 && c.normal == 1 && c.online == 2 && c.call_center == 1,
       "counts: answered ones left out");

    msg = integrations_act_cs_message(&c, now, NULL, 0, &len);
    is_str(msg,
           "\xf0\x9f\x94\x94 \xec\xbf\xa0\xed\x8c\xa1 \xea\xb3\xa0\xea\xb0"
           "\x9d\xeb\xac\xb8\xec\x9d\x98 \xec\x95\x8c\xeb\xa6\xbc\n"
           "\xf0\x9f\x9a\xa8 \xea\xb8\xb4\xea\xb8\x89: 2\xea\xb1\xb4\n"
           "\xf0\x9f\x93\x8b \xec\x9d\xbc\xeb\xb0\x98: 1\xea\xb1\xb4\n"
           "(\xec\x83\x81\xed\x92\x88\xeb\xac\xb8\xec\x9d\x98 2\xea\xb1\xb4, "
           "\xec\xbd\x9c\xec\x84\xbc\xed\x84\xb0\xeb\xac\xb8\xec\x9d\x98 1"
           "\xea\xb1\xb4)\n"
           "\xe2\x8f\xb0 2025-09-01 10:20 KST \xea\xb8\xb0\xec\xa4\x80\n"
           "\xf0\x9f\x94\x97 <https://wing.coupang.com/tenants/cs/product/"
           "inquiries/|\xec\xbf\xa0\xed\x8c\xa1 \xec\x9c\x99\xec\x97\x90"
           "\xec\x84\x9c \xed\x99\x95\xec\x9d\xb8\xed\x95\x98\xea\xb8\xb0>",
           "the Slack text: counts by urgency, the Wing link");
    free(msg);

    ok(integrations_act_cs_message(&c, now, S("https://x|y"), &len) == NULL,
       "a link that would break Slack's <url|text> refused");

    ok(integrations_act_parse_date(S("2025-03-05"), &issued) == 0
       && issued == utc(2025, 3, 4, 15, 0, 0), "coupang_key_issued, KST");
    ok(integrations_act_parse_date(S("2025-3-5"), &issued) != 0,
       "a sloppy date refused");
    ok(integrations_act_parse_date(S("2025-03-05T00:00"), &issued) != 0,
       "a time refused");

    integrations_act_parse_date(S("2025-03-05"), &issued);

    ok(integrations_act_key_check(issued, issued + 100 * 86400, &expires,
                                  &left) == INTEGRATIONS_ACT_KEY_OK
       && expires == issued + 180 * 86400 && left == 80, "day 100: fine");
    ok(integrations_act_key_check(issued, issued + 166 * 86400 - 1, &expires,
                                  &left) == INTEGRATIONS_ACT_KEY_OK,
       "a second before 14 days left: fine");
    ok(integrations_act_key_check(issued, issued + 166 * 86400, &expires,
                                  &left) == INTEGRATIONS_ACT_KEY_EXPIRING
       && left == 14, "14 days left: alert");
    ok(integrations_act_key_check(issued, issued + 180 * 86400, &expires,
                                  &left) == INTEGRATIONS_ACT_KEY_EXPIRED,
       "day 180: expired");

    integrations_act_key_check(issued, issued + 170 * 86400, &expires, &left);
    msg = integrations_act_key_message(INTEGRATIONS_ACT_KEY_EXPIRING, expires,
                                       left, &len);
    ok(msg && strstr(msg, "10\xec\x9d\xbc") && strstr(msg, "2025-09-01")
       && strstr(msg, "coupang_key_issued"), "the alert: days, date, what "
                                             "to change");
    free(msg);
    ok(integrations_act_key_message(INTEGRATIONS_ACT_KEY_OK, expires, left,
                                    &len) == NULL, "no alert when fine");
}


static void
test_csv_mask(void)
{
    char                     row[256], m[64];
    size_t                   n;
    integrations_act_cell_t  cells[6];

    cells[0].data = "22000009546234";
    cells[0].len = 14;
    cells[1].data = "a,b";
    cells[1].len = 3;
    cells[2].data = "say \"hi\"";
    cells[2].len = 8;
    cells[3].data = "=HYPERLINK(\"x\")";
    cells[3].len = 15;
    cells[4].data = "line\nbreak";
    cells[4].len = 10;
    cells[5].data = "";
    cells[5].len = 0;

    n = integrations_act_csv_row(cells, 6, row, sizeof(row));
    row[n] = '\0';
    is_str(row, "22000009546234,\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK"
                "(\"\"x\"\")\",\"line\nbreak\",\r\n",
           "RFC 4180 quoting, a formula neutralized, CRLF");

    {
        static const char  *lead[] = { "+1", "-1", "@SUM(A1)", "\tx", "\rx" };
        size_t              i;

        for (i = 0; i < 5; i++) {
            cells[0].data = lead[i];
            cells[0].len = strlen(lead[i]);
            n = integrations_act_csv_row(cells, 1, row, sizeof(row));
            ok(n >= 3 && row[0] == '"' && row[1] == '\'',
               "a cell starting with 0x%02x is neutralized",
               (unsigned char) lead[i][0]);
        }
    }

    cells[0].data = "x";
    cells[0].len = 1;
    n = integrations_act_csv_row(cells, 1, row, 2);
    is_int(n, 3, "the length needed, when the buffer is short");

    integrations_act_mask(INTEGRATIONS_ACT_MASK_PHONE, S("010-1234-5678"), m,
                          sizeof(m));
    is_str(m, "010****5678", "a mobile masked");
    integrations_act_mask(INTEGRATIONS_ACT_MASK_PHONE, S("050312345464"), m,
                          sizeof(m));
    is_str(m, "050*****5464", "a safe number masked");
    integrations_act_mask(INTEGRATIONS_ACT_MASK_PHONE, S("12345"), m,
                          sizeof(m));
    is_str(m, "*****", "a short number: all masked");
    integrations_act_mask(INTEGRATIONS_ACT_MASK_EMAIL, S("reader@example.com"),
                          m, sizeof(m));
    is_str(m, "r***@example.com", "an email masked");
    integrations_act_mask(INTEGRATIONS_ACT_MASK_NAME,
                          S("\xec\x8b\xa0\xec\x9c\xa4\xed\x9d\xac"), m,
                          sizeof(m));
    is_str(m, "\xec\x8b\xa0*", "a Korean name: the first syllable");
    integrations_act_mask(INTEGRATIONS_ACT_MASK_EMAIL, S("reader@example.com"),
                          m, 5);
    ok(strlen(m) == 4, "a short buffer: cut, terminated");
}


int
main(void)
{
    test_tokens();
    test_quantities();
    test_contact();
    test_machine();
    test_language();
    test_pages();
    test_signer();
    test_claim();
    test_cs_and_key();
    test_csv_mask();

    return done_testing();
}
