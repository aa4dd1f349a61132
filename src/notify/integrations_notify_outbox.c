/*
 * The outbox sender's decisions: see integrations_notify_outbox.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_codec.h"
#include "integrations_json.h"
#include "integrations_notify_outbox.h"


#define INTEGRATIONS_NOTIFY_REFUSED_MIN  1000   /* ms: the least wait after
                                                   a refusal that named
                                                   none */


static void
integrations_notify_done(integrations_notify_decision_t *d, int action,
    const char *reason, const char *outcome)
{
    d->action = action;
    d->reason = reason;
    d->outcome = outcome;
    d->alert = (action == INTEGRATIONS_NOTIFY_DO_FAILED
                || action == INTEGRATIONS_NOTIFY_DO_UNKNOWN);
}


/* the last failure: the fallback if there is one, else failed */

static void
integrations_notify_last(const integrations_notify_attempt_t *a,
    integrations_notify_decision_t *d, const char *reason)
{
    if (a->can_fall_back) {
        integrations_notify_done(d, INTEGRATIONS_NOTIFY_DO_FALLBACK, reason,
                                 "fallback");
        d->next_at = a->now_ms;
        return;
    }

    integrations_notify_done(d, INTEGRATIONS_NOTIFY_DO_FAILED, reason,
                             "failed");
}


void
integrations_notify_decide(const integrations_notify_attempt_t *a,
    integrations_notify_decision_t *d)
{
    int64_t                       next, wait, delay;
    integrations_notify_retry_t   policy;
    const integrations_notify_result_t  *res;

    memset(d, 0, sizeof(integrations_notify_decision_t));

    res = a->result;

    if (res->outcome == INTEGRATIONS_NOTIFY_SENT) {
        integrations_notify_done(d, INTEGRATIONS_NOTIFY_DO_SENT, NULL,
                                 "sent");
        return;
    }

    if (res->outcome == INTEGRATIONS_NOTIFY_PERMANENT) {
        /* an AlimTalk Kakao cannot deliver (not a KakaoTalk user, a
         * template mismatch) may still reach the person by SMS; a bad
         * number would not */

        if (res->flags & INTEGRATIONS_NOTIFY_F_FALLBACK) {
            integrations_notify_last(a, d, "permanent");
            return;
        }

        integrations_notify_done(d, INTEGRATIONS_NOTIFY_DO_FAILED,
                                 "permanent", "failed");
        return;
    }

    if (!a->attempted) {
        /* refused before it left: not an attempt, and never ambiguous */

        wait = a->wait_ms;

        if (wait <= 0 && res->retry_after > 0) {
            wait = res->retry_after * 1000;
        }

        if (wait < INTEGRATIONS_NOTIFY_REFUSED_MIN) {
            wait = INTEGRATIONS_NOTIFY_REFUSED_MIN;
        }

        if (a->now_ms + wait > a->expires_ms) {
            integrations_notify_last(a, d, "expired");
            return;
        }

        integrations_notify_done(d, INTEGRATIONS_NOTIFY_DO_RETRY, "refused",
                                 "refused");
        d->next_at = a->now_ms + wait;
        d->delay_ms = a->last_delay_ms;
        d->uncount = 1;
        return;
    }

    /* it may have reached the provider: only a deduplicating one again */

    if ((res->outcome == INTEGRATIONS_NOTIFY_UNKNOWN
         || (res->flags & INTEGRATIONS_NOTIFY_F_AMBIGUOUS))
        && !a->dedupes)
    {
        integrations_notify_done(d, INTEGRATIONS_NOTIFY_DO_UNKNOWN,
                                 "ambiguous", "unknown");
        return;
    }

    policy = *a->policy;
    policy.max_age_ms = 0;

    next = integrations_notify_next_attempt_at(&policy, a->attempt, 0,
                                               a->now_ms,
                                               res->retry_after >= 0
                                               ? res->retry_after * 1000 : -1,
                                               a->last_delay_ms, a->rand,
                                               &delay);

    if (next < 0 || next > a->expires_ms) {
        integrations_notify_last(a, d, next < 0 ? "exhausted" : "expired");
        return;
    }

    integrations_notify_done(d, INTEGRATIONS_NOTIFY_DO_RETRY, "retryable",
                             "retry");
    d->next_at = next;
    d->delay_ms = delay;
}


void
integrations_notify_before_send(int reclaimed, int dedupes, int64_t now_ms,
    int64_t expires_ms, integrations_notify_decision_t *d)
{
    memset(d, 0, sizeof(integrations_notify_decision_t));

    if (reclaimed && !dedupes) {
        integrations_notify_done(d, INTEGRATIONS_NOTIFY_DO_UNKNOWN,
                                 "interrupted", "unknown");
        return;
    }

    if (now_ms > expires_ms) {
        integrations_notify_done(d, INTEGRATIONS_NOTIFY_DO_FAILED, "expired",
                                 "failed");
        return;
    }

    d->action = INTEGRATIONS_NOTIFY_DO_SEND;
}


/* appends s[0..n) with control bytes as spaces; stops at the end */

static size_t
integrations_notify_put(char *buf, size_t size, size_t off, const char *s,
    size_t n)
{
    size_t  i;

    for (i = 0; i < n && off + 1 < size; i++) {
        buf[off++] = ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                     ? ' ' : s[i];
    }

    return off;
}


size_t
integrations_notify_alert_text(char *buf, size_t size, const char *id,
    size_t id_len, const char *channel, size_t channel_len,
    const char *provider, size_t provider_len, const char *mask,
    size_t mask_len, const char *reason, const char *code, const char *text)
{
    size_t  off;

    if (size == 0) {
        return 0;
    }

    off = 0;

#define PUT(s, n)  off = integrations_notify_put(buf, size, off, s, n)
#define PUTS(s)    PUT(s, strlen(s))

    PUTS("notification ");
    PUT(id, id_len);
    PUTS(" (");
    PUT(channel, channel_len);
    PUTS(" via ");
    PUT(provider, provider_len);
    PUTS(") to ");
    PUT(mask, mask_len);
    PUTS(" ");
    PUTS(reason ? reason : "failed");

    if ((code && code[0]) || (text && text[0])) {
        PUTS(":");

        if (code && code[0]) {
            PUTS(" ");
            PUTS(code);
        }

        if (text && text[0]) {
            PUTS(" ");
            PUTS(text);
        }
    }

#undef PUT
#undef PUTS

    /* never half a character at the cut */

    if (off + 1 >= size) {
        while (off > 0 && ((unsigned char) buf[off] & 0xc0) == 0x80) {
            off--;
        }
    }

    if (integrations_notify_utf8_check((const unsigned char *) buf, off)
        != off)
    {
        off = integrations_notify_utf8_check((const unsigned char *) buf,
                                             off);
    }

    buf[off] = '\0';

    return off;
}


char *
integrations_notify_log_line(const integrations_notify_log_t *l, size_t *len)
{
    integrations_notify_gen_t  j;

    integrations_notify_gen_init(&j);

    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_cstr(&j, "notify");
    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_key(&j, "id", l->id, l->id_len);
    integrations_notify_gen_key(&j, "channel", l->channel, l->channel_len);
    integrations_notify_gen_key(&j, "provider", l->provider,
                                l->provider_len);
    integrations_notify_gen_key(&j, "to", l->to_mask, l->to_mask_len);
    integrations_notify_gen_cstr(&j, "attempt");
    integrations_notify_gen_int(&j, l->attempt);
    integrations_notify_gen_key(&j, "outcome", l->outcome,
                                strlen(l->outcome));
    integrations_notify_gen_cstr(&j, "status");
    integrations_notify_gen_int(&j, l->http_status);
    integrations_notify_gen_cstr(&j, "duration_ms");
    integrations_notify_gen_int(&j, (long long) l->duration_ms);

    if (l->message_id && l->message_id[0]) {
        integrations_notify_gen_key(&j, "message_id", l->message_id,
                                    strlen(l->message_id));
    }

    if (l->error && l->error[0]) {
        integrations_notify_gen_key(&j, "error", l->error, strlen(l->error));
    }

    integrations_notify_gen_map(&j, 0);
    integrations_notify_gen_map(&j, 0);

    return integrations_notify_gen_done(&j, len);
}


char *
integrations_notify_kv_json(const integrations_notify_kv_t *kv, size_t n,
    size_t *len)
{
    size_t                     i;
    integrations_notify_gen_t  j;

    integrations_notify_gen_init(&j);
    integrations_notify_gen_map(&j, 1);

    for (i = 0; i < n; i++) {
        integrations_notify_gen_str(&j, kv[i].key, kv[i].key_len);
        integrations_notify_gen_str(&j, kv[i].value, kv[i].value_len);
    }

    integrations_notify_gen_map(&j, 0);

    return integrations_notify_gen_done(&j, len);
}


int
integrations_notify_kv_parse(const char *json, size_t len,
    integrations_notify_kv_t **kv, size_t *n)
{
    char                      *p;
    size_t                     i, need, klen, vlen, count;
    yajl_val                   tree, v;
    const char                *s;
    integrations_notify_kv_t  *out;

    *kv = NULL;
    *n = 0;

    tree = integrations_json_parse(json, len, 2, INTEGRATIONS_JSON_UNIQUE_KEYS,
                                   NULL);

    if (tree == NULL || !YAJL_IS_OBJECT(tree)) {
        yajl_tree_free(tree);
        return -1;
    }

    count = tree->u.object.len;
    need = count * sizeof(integrations_notify_kv_t) + 1;

    for (i = 0; i < count; i++) {
        v = tree->u.object.values[i];

        if (integrations_notify_json_str(v, 1, &s, &vlen) != 0) {
            yajl_tree_free(tree);
            return -1;
        }

        need += strlen(tree->u.object.keys[i]) + vlen + 2;
    }

    out = malloc(need);
    if (out == NULL) {
        yajl_tree_free(tree);
        return -1;
    }

    p = (char *) (out + count);

    for (i = 0; i < count; i++) {
        klen = strlen(tree->u.object.keys[i]);
        (void) integrations_notify_json_str(tree->u.object.values[i], 1, &s,
                                            &vlen);

        memcpy(p, tree->u.object.keys[i], klen);
        p[klen] = '\0';
        out[i].key = p;
        out[i].key_len = klen;
        p += klen + 1;

        memcpy(p, s, vlen);
        p[vlen] = '\0';
        out[i].value = p;
        out[i].value_len = vlen;
        p += vlen + 1;
    }

    yajl_tree_free(tree);

    *kv = out;
    *n = count;

    return 0;
}


int
integrations_notify_twilio_receipt(const char *body, size_t len,
    integrations_notify_receipt_t *rc, const char **why)
{
    int            seen_sid, seen_status, seen_code;
    char           key[32], val[64];
    size_t         klen, vlen, i;
    const char    *p, *end, *amp, *eq;

    memset(rc, 0, sizeof(integrations_notify_receipt_t));
    seen_sid = 0;
    seen_status = 0;
    seen_code = 0;

    p = body;
    end = body + len;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);
        if (eq == NULL) {
            eq = amp;
        }

        /* only the fields read here are decoded; others are skipped */

        if (eq - p < (ptrdiff_t) sizeof(key)
            && integrations_codec_percent_decode((unsigned char *) key,
                   sizeof(key) - 1, (const unsigned char *) p, eq - p, 1,
                   &klen)
               == 0)
        {
            key[klen] = '\0';

        } else {
            key[0] = '\0';
            klen = 0;
        }

        vlen = 0;

        if (strcmp(key, "MessageSid") == 0
            || strcmp(key, "MessageStatus") == 0
            || strcmp(key, "ErrorCode") == 0)
        {
            if (eq == amp || amp - eq - 1 >= (ptrdiff_t) sizeof(val)
                || integrations_codec_percent_decode((unsigned char *) val,
                       sizeof(val) - 1, (const unsigned char *) eq + 1,
                       amp - eq - 1, 1, &vlen)
                   != 0)
            {
                *why = "a field of the callback is not valid form data";
                return -1;
            }

            val[vlen] = '\0';

            for (i = 0; i < vlen; i++) {
                if (!((val[i] >= 'a' && val[i] <= 'z')
                      || (val[i] >= 'A' && val[i] <= 'Z')
                      || (val[i] >= '0' && val[i] <= '9')
                      || (val[i] == '_'
                          && strcmp(key, "MessageStatus") == 0)))
                {
                    *why = "a field of the callback holds an unexpected "
                           "character";
                    return -1;
                }
            }
        }

        if (strcmp(key, "MessageSid") == 0) {
            if (seen_sid++ || vlen != 34 || val[0] != 'S') {
                *why = "MessageSid is missing, given twice or invalid";
                return -1;
            }

            memcpy(rc->message_id, val, vlen + 1);

        } else if (strcmp(key, "MessageStatus") == 0) {
            if (seen_status++) {
                *why = "MessageStatus is given twice";
                return -1;
            }

            if (strcmp(val, "delivered") == 0) {
                rc->status = INTEGRATIONS_NOTIFY_RECEIPT_DELIVERED;

            } else if (strcmp(val, "undelivered") == 0
                       || strcmp(val, "failed") == 0)
            {
                rc->status = INTEGRATIONS_NOTIFY_RECEIPT_FAILED;
            }

        } else if (strcmp(key, "ErrorCode") == 0) {
            if (seen_code++ || vlen > 10) {
                *why = "ErrorCode is given twice or invalid";
                return -1;
            }

            for (i = 0; i < vlen; i++) {
                if (val[i] < '0' || val[i] > '9') {
                    *why = "ErrorCode is not a number";
                    return -1;
                }
            }

            if (vlen) {
                snprintf(rc->error, sizeof(rc->error), "twilio:%.10s", val);
            }
        }

        p = (amp < end) ? amp + 1 : end;
    }

    if (!seen_sid || !seen_status) {
        *why = "MessageSid and MessageStatus are required";
        return -1;
    }

    return 0;
}
