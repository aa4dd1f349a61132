/*
 * Solapi messages/v4: see integrations_solapi.h.
 */

#include <stdio.h>
#include <string.h>

#include "integrations_codec.h"
#include "integrations_hmac.h"
#include "integrations_notify.h"
#include "integrations_json.h"
#include "integrations_solapi.h"


static void integrations_solapi_status(yajl_val root,
    integrations_notify_result_t *res);
static void integrations_solapi_error(yajl_val root,
    integrations_notify_result_t *res);


static const char  *integrations_solapi_types[] = { "SMS", "LMS", "ATA" };


void
integrations_solapi_date(time_t now, char out[21])
{
    integrations_notify_tm_t  tm;

    integrations_notify_utc(now, &tm);

    if (tm.year < 0 || tm.year > 9999) {
        /* not a clock this runs on */
        memcpy(out, "1970-01-01T00:00:00Z", 21);
        return;
    }

    snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned) tm.year,
             tm.month % 100, tm.day % 100, tm.hour % 100, tm.min % 100,
             tm.sec % 100);
}


size_t
integrations_solapi_auth(const char *api_key, size_t key_len,
    const unsigned char *secret, size_t secret_len, time_t now,
    const unsigned char salt[INTEGRATIONS_SOLAPI_SALT_BYTES], char *out,
    size_t size)
{
    int                       n;
    char                      date[21];
    size_t                    i;
    unsigned char             md[INTEGRATIONS_HMAC_MAX_LEN];
    unsigned char             salt_hex[INTEGRATIONS_SOLAPI_SALT_BYTES * 2];
    unsigned char             sig_hex[INTEGRATIONS_HMAC_MAX_LEN * 2];
    integrations_hmac_t       mac;
    integrations_hmac_key_t   key;

    if (key_len == 0 || key_len > 64 || size < INTEGRATIONS_SOLAPI_AUTH_LEN) {
        return 0;
    }

    for (i = 0; i < key_len; i++) {
        if (api_key[i] <= 0x20 || api_key[i] >= 0x7f || api_key[i] == ','
            || api_key[i] == '=')
        {
            return 0;
        }
    }

    integrations_solapi_date(now, date);
    integrations_codec_hex_encode(salt_hex, salt,
                                  INTEGRATIONS_SOLAPI_SALT_BYTES);

    integrations_hmac_key_init(&key, INTEGRATIONS_HMAC_SHA256, secret,
                               secret_len);
    integrations_hmac_start(&mac, &key);
    integrations_hmac_update(&mac, date, 20);
    integrations_hmac_update(&mac, salt_hex, sizeof(salt_hex));
    integrations_hmac_final(&mac, md);
    integrations_hmac_key_clear(&key);

    integrations_codec_hex_encode(sig_hex, md, 32);

    n = snprintf(out, size, "HMAC-SHA256 apiKey=%.*s, date=%s, salt=%.*s, "
                 "signature=%.*s", (int) key_len, api_key, date,
                 (int) sizeof(salt_hex), salt_hex, (int) sizeof(sig_hex),
                 sig_hex);

    return (n > 0 && (size_t) n < size) ? (size_t) n : 0;
}


int
integrations_solapi_sender(const char *in, size_t len, char out[16])
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (in[i] >= '0' && in[i] <= '9') {
            if (n == 12) {
                return -1;
            }
            out[n++] = in[i];

        } else if (in[i] != '-' && in[i] != ' ') {
            return -1;
        }
    }

    out[n] = '\0';

    return (n >= 8 && (out[0] == '0' || out[0] == '1')) ? 0 : -1;
}


char *
integrations_solapi_body(const integrations_solapi_message_t *m,
    size_t *len, const char **why)
{
    char                       *p, key[INTEGRATIONS_NOTIFY_CODE_MAX + 8];
    size_t                      i;
    integrations_notify_gen_t   j;

    *why = "a field is missing";

    if (m->type < INTEGRATIONS_SOLAPI_SMS || m->type > INTEGRATIONS_SOLAPI_ATA
        || m->to_len == 0 || m->from_len == 0 || m->text_len == 0)
    {
        return NULL;
    }

    if (m->type == INTEGRATIONS_SOLAPI_ATA
        && (m->pf_id_len == 0 || m->template_id_len == 0))
    {
        *why = "an AlimTalk needs pfId and templateId";
        return NULL;
    }

    *why = NULL;

    integrations_notify_gen_init(&j);

    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_cstr(&j, "message");
    integrations_notify_gen_map(&j, 1);

    integrations_notify_gen_key(&j, "to", m->to, m->to_len);
    integrations_notify_gen_key(&j, "from", m->from, m->from_len);
    integrations_notify_gen_key(&j, "text", m->text, m->text_len);
    integrations_notify_gen_cstr(&j, "type");
    integrations_notify_gen_cstr(&j, integrations_solapi_types[m->type]);

    /* an SMS has no subject; an LMS and an AlimTalk's fallback do */

    if (m->type != INTEGRATIONS_SOLAPI_SMS && m->subject_len) {
        integrations_notify_gen_key(&j, "subject", m->subject,
                                    m->subject_len);
    }

    /* automatic type detection would undo the SMS/LMS choice made here */

    integrations_notify_gen_cstr(&j, "autoTypeDetect");
    integrations_notify_gen_bool(&j, 0);

    if (m->type == INTEGRATIONS_SOLAPI_ATA) {
        integrations_notify_gen_cstr(&j, "kakaoOptions");
        integrations_notify_gen_map(&j, 1);
        integrations_notify_gen_key(&j, "pfId", m->pf_id, m->pf_id_len);
        integrations_notify_gen_key(&j, "templateId", m->template_id,
                                    m->template_id_len);

        integrations_notify_gen_cstr(&j, "variables");
        integrations_notify_gen_map(&j, 1);

        for (i = 0; i < m->nvariables; i++) {
            if (m->variables[i].key_len == 0
                || m->variables[i].key_len > sizeof(key) - 4)
            {
                j.failed = 1;
                *why = "an AlimTalk variable name is empty or too long";
                break;
            }

            snprintf(key, sizeof(key), "#{%.*s}",
                     (int) m->variables[i].key_len, m->variables[i].key);
            integrations_notify_gen_str(&j, key, m->variables[i].key_len + 3);
            integrations_notify_gen_str(&j, m->variables[i].value,
                                        m->variables[i].value_len);
        }

        integrations_notify_gen_map(&j, 0);

        integrations_notify_gen_cstr(&j, "disableSms");
        integrations_notify_gen_bool(&j, !m->allow_fallback);
        integrations_notify_gen_map(&j, 0);
    }

    if (m->ref_len) {
        integrations_notify_gen_cstr(&j, "customFields");
        integrations_notify_gen_map(&j, 1);
        integrations_notify_gen_key(&j, "ref", m->ref, m->ref_len);
        integrations_notify_gen_map(&j, 0);
    }

    integrations_notify_gen_map(&j, 0);
    integrations_notify_gen_map(&j, 0);

    p = integrations_notify_gen_done(&j, len);

    if (p == NULL && *why == NULL) {
        *why = "a field is not UTF-8";
    }

    return p;
}


int
integrations_solapi_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res)
{
    yajl_val                     root;

    if (integrations_notify_classify_transport(r, res)) {
        return res->outcome;
    }

    root = integrations_notify_answer_json(r);

    if (r->status == 200) {
        if (root == NULL) {
            /* accepted or not, this answer cannot say */
            res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
            strcpy(res->code, "bad_response");

        } else {
            integrations_solapi_status(root, res);
        }

    } else {
        integrations_notify_classify_status(r, res);

        if (root != NULL) {
            integrations_solapi_error(root, res);
        }
    }

    yajl_tree_free(root);

    return res->outcome;
}


/* 200: {"messageId","statusCode","statusMessage",...} */

static void
integrations_solapi_status(yajl_val root, integrations_notify_result_t *res)
{
    int          code;
    size_t       n, i;
    const char  *s;

    if (integrations_notify_json_field(root, "statusMessage", 0, &s, &n) == 0)
    {
        integrations_notify_copy_text(res->text, sizeof(res->text), s, n);
    }

    code = 0;

    if (integrations_notify_json_field(root, "statusCode", 0, &s, &n) == 0
        && n == 4)
    {
        for (i = 0; i < 4 && s[i] >= '0' && s[i] <= '9'; i++) {
            code = code * 10 + (s[i] - '0');
        }

        if (i < 4) {
            code = 0;
        }
    }

    if (code == 0) {
        res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
        strcpy(res->code, "bad_response");
        return;
    }

    memcpy(res->code, s, 5);

    if (code == 2000 || code == 3000 || code == 4000) {
        if (integrations_notify_json_field(root, "messageId", 0, &s, &n) != 0
            || n == 0
            || integrations_notify_copy_id(res->message_id,
                                           sizeof(res->message_id), s, n)
               != 0)
        {
            res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
            strcpy(res->code, "bad_response");
            return;
        }

        res->outcome = INTEGRATIONS_NOTIFY_SENT;
        return;
    }

    switch (code) {

    case 1030:                        /* balance too low */
    case 2230:
    case 1062:                        /* sender number not registered */
    case 2062:
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->flags |= INTEGRATIONS_NOTIFY_F_CONFIG;
        return;

    case 1042:                        /* bad template id */
    case 1043:                        /* text is not the template */
    case 3103:
    case 3104:                        /* not a KakaoTalk user */
    case 3105:
    case 3106:
    case 3107:                        /* blocked, or inactive 72 h */
        res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;
        res->flags |= INTEGRATIONS_NOTIFY_F_FALLBACK;
        return;
    }

    res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;
}


/* non-200: {"errorCode","errorMessage"} */

static void
integrations_solapi_error(yajl_val root, integrations_notify_result_t *res)
{
    size_t       n, i;
    const char  *s;

    static const char  *config[] = {
        "InvalidAPIKey", "SignatureDoesNotMatch", "RequestTimeTooSkewed",
        "InvalidSignature", "Unauthorized", "Forbidden", "NotEnoughBalance",
        "InsufficientBalance", NULL
    };

    if (integrations_notify_json_field(root, "errorMessage", 0, &s, &n) == 0)
    {
        integrations_notify_copy_text(res->text, sizeof(res->text), s, n);
    }

    if (integrations_notify_json_field(root, "errorCode", 0, &s, &n) != 0
        || integrations_notify_copy_id(res->code, sizeof(res->code), s, n)
           != 0)
    {
        return;
    }

    if (strcmp(res->code, "DuplicatedSignature") == 0) {
        /* the next attempt signs with a new salt */
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->flags &= ~INTEGRATIONS_NOTIFY_F_CONFIG;
        return;
    }

    for (i = 0; config[i]; i++) {
        if (strcmp(res->code, config[i]) == 0) {
            res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
            res->flags |= INTEGRATIONS_NOTIFY_F_CONFIG;
            return;
        }
    }

    if (res->http_status >= 400 && res->http_status < 500
        && res->http_status != 401 && res->http_status != 403
        && res->http_status != 408 && res->http_status != 429)
    {
        res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;
    }
}
