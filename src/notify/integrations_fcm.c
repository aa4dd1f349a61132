/*
 * FCM HTTP v1 with a service account: see integrations_fcm.h.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "integrations_codec.h"
#include "integrations_fcm.h"
#include "integrations_notify.h"
#include "integrations_json.h"


#define INTEGRATIONS_FCM_KEY_FILE_MAX  (64 * 1024)


static char *integrations_fcm_dup(yajl_val v, int policy, size_t max);
static int integrations_fcm_no_password(char *buf, int size, int rwflag,
    void *u);
static void integrations_fcm_b64url(integrations_notify_buf_t *b,
    const unsigned char *s, size_t n);
static int integrations_fcm_project_valid(const char *s);


static char *
integrations_fcm_dup(yajl_val v, int policy, size_t max)
{
    char        *p;
    size_t       n;
    const char  *s;

    if (integrations_notify_json_str(v, policy, &s, &n) != 0 || n == 0
        || n > max)
    {
        return NULL;
    }

    p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n + 1);
    }

    return p;
}


static int
integrations_fcm_no_password(char *buf, int size, int rwflag, void *u)
{
    /* an encrypted key is refused, never prompted for on a terminal */

    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;

    return 0;
}


static int
integrations_fcm_project_valid(const char *s)
{
    for ( /* void */ ; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')
              || *s == '-' || *s == '.' || *s == ':'))
        {
            return 0;
        }
    }

    return 1;
}


int
integrations_fcm_key_parse(const char *json, size_t len,
    integrations_fcm_key_t *key, const char **why)
{
    BIO                          *bio;
    size_t                        n;
    yajl_val                      root, v, pk;
    const char                   *s;
    integrations_json_err_t       st;

    memset(key, 0, sizeof(integrations_fcm_key_t));

    root = integrations_json_parse(json, len, 8,
                                    INTEGRATIONS_JSON_UNIQUE_KEYS, &st);
    if (root == NULL || !YAJL_IS_OBJECT(root)) {
        *why = "is not a JSON object";
        yajl_tree_free(root);
        return -1;
    }

    pk = integrations_json_get(root, "private_key");

    v = integrations_json_get(root, "type");

    if (v != NULL
        && (integrations_notify_json_str(v, 0, &s, &n) != 0
            || n != 15 || memcmp(s, "service_account", 15) != 0))
    {
        *why = "is not a service account key (\"type\")";
        goto failed;
    }

    key->client_email = integrations_fcm_dup(
                              integrations_json_get(root, "client_email"),
                              0, 320);
    if (key->client_email == NULL || strchr(key->client_email, '@') == NULL) {
        *why = "has no valid \"client_email\"";
        goto failed;
    }

    key->project_id = integrations_fcm_dup(
                              integrations_json_get(root, "project_id"),
                              0, 100);
    if (key->project_id == NULL
        || !integrations_fcm_project_valid(key->project_id))
    {
        *why = "has no valid \"project_id\"";
        goto failed;
    }

    v = integrations_json_get(root, "token_uri");

    if (v == NULL) {
        key->token_uri = strdup(INTEGRATIONS_FCM_TOKEN_URI);

    } else {
        key->token_uri = integrations_fcm_dup(v, 0,
                                              512);
        if (key->token_uri == NULL
            || strncmp(key->token_uri, "https://", 8) != 0
            || strchr(key->token_uri, ' ') != NULL)
        {
            *why = "has a \"token_uri\" that is not an https URL";
            goto failed;
        }
    }

    if (key->token_uri == NULL) {
        *why = "cannot be read (out of memory)";
        goto failed;
    }

    v = integrations_json_get(root, "private_key_id");

    if (v != NULL) {
        key->private_key_id = integrations_fcm_dup(v, 0,
                                                   128);
        if (key->private_key_id == NULL) {
            *why = "has an invalid \"private_key_id\"";
            goto failed;
        }
    }

    if (integrations_notify_json_str(pk, 1, &s, &n) != 0
        || n == 0)
    {
        *why = "has no \"private_key\"";
        goto failed;
    }

    bio = BIO_new_mem_buf(s, (int) n);
    if (bio == NULL) {
        *why = "cannot be read (out of memory)";
        goto failed;
    }

    key->pkey = PEM_read_bio_PrivateKey(bio, NULL,
                                        integrations_fcm_no_password, NULL);
    BIO_free(bio);

    if (key->pkey == NULL) {
        *why = "has a \"private_key\" that is not an unencrypted PEM key";
        goto failed;
    }

    if (EVP_PKEY_base_id(key->pkey) != EVP_PKEY_RSA
        || EVP_PKEY_bits(key->pkey) < 2048)
    {
        *why = "has a \"private_key\" that is not an RSA key of 2048 bits "
               "or more";
        goto failed;
    }

    OPENSSL_cleanse(pk->u.string, n);
    yajl_tree_free(root);

    return 0;

failed:

    if (pk != NULL && YAJL_IS_STRING(pk)) {
        OPENSSL_cleanse(pk->u.string, strlen(pk->u.string));
    }

    yajl_tree_free(root);
    integrations_fcm_key_free(key);

    return -1;
}


void
integrations_fcm_key_free(integrations_fcm_key_t *key)
{
    free(key->client_email);
    free(key->token_uri);
    free(key->project_id);
    free(key->private_key_id);
    EVP_PKEY_free(key->pkey);

    memset(key, 0, sizeof(integrations_fcm_key_t));
}


/* base64url without padding (RFC 7515, section 2) */

static void
integrations_fcm_b64url(integrations_notify_buf_t *b, const unsigned char *s,
    size_t n)
{
    size_t          i, len;
    unsigned char  *e;

    e = malloc(INTEGRATIONS_CODEC_BASE64_LEN(n) + 1);
    if (e == NULL) {
        b->failed = 1;
        return;
    }

    len = integrations_codec_base64_encode(e, s, n);

    while (len > 0 && e[len - 1] == '=') {
        len--;
    }

    for (i = 0; i < len; i++) {
        if (e[i] == '+') {
            e[i] = '-';

        } else if (e[i] == '/') {
            e[i] = '_';
        }
    }

    integrations_notify_buf_add(b, e, len);
    free(e);
}


char *
integrations_fcm_jwt(const integrations_fcm_key_t *key, time_t now,
    size_t *len)
{
    char                       *part;
    size_t                      plen, siglen;
    EVP_MD_CTX                 *md;
    unsigned char              *sig;
    integrations_notify_buf_t   b;
    integrations_notify_gen_t   j;

    if (key->pkey == NULL) {
        return NULL;
    }

    memset(&b, 0, sizeof(integrations_notify_buf_t));

    integrations_notify_gen_init(&j);
    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_key(&j, "alg", "RS256", 5);
    integrations_notify_gen_key(&j, "typ", "JWT", 3);

    if (key->private_key_id) {
        integrations_notify_gen_key(&j, "kid", key->private_key_id,
                                    strlen(key->private_key_id));
    }

    integrations_notify_gen_map(&j, 0);

    part = integrations_notify_gen_done(&j, &plen);
    if (part == NULL) {
        return NULL;
    }

    integrations_fcm_b64url(&b, (unsigned char *) part, plen);
    free(part);
    integrations_notify_buf_addc(&b, '.');

    integrations_notify_gen_init(&j);
    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_key(&j, "iss", key->client_email,
                                strlen(key->client_email));
    integrations_notify_gen_key(&j, "scope", INTEGRATIONS_FCM_SCOPE,
                                sizeof(INTEGRATIONS_FCM_SCOPE) - 1);
    integrations_notify_gen_key(&j, "aud", key->token_uri,
                                strlen(key->token_uri));
    integrations_notify_gen_cstr(&j, "iat");
    integrations_notify_gen_int(&j, (long long) now);
    integrations_notify_gen_cstr(&j, "exp");
    integrations_notify_gen_int(&j, (long long) now
                                    + INTEGRATIONS_FCM_JWT_LIFETIME);
    integrations_notify_gen_map(&j, 0);

    part = integrations_notify_gen_done(&j, &plen);
    if (part == NULL) {
        integrations_notify_buf_free(&b);
        return NULL;
    }

    integrations_fcm_b64url(&b, (unsigned char *) part, plen);
    free(part);

    if (b.failed) {
        integrations_notify_buf_free(&b);
        return NULL;
    }

    /* RS256 over "header.claims" */

    sig = NULL;
    siglen = 0;
    md = EVP_MD_CTX_new();

    if (md == NULL
        || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key->pkey) != 1
        || EVP_DigestSign(md, NULL, &siglen, (unsigned char *) b.data, b.len)
           != 1
        || (sig = malloc(siglen)) == NULL
        || EVP_DigestSign(md, sig, &siglen, (unsigned char *) b.data, b.len)
           != 1)
    {
        EVP_MD_CTX_free(md);
        free(sig);
        integrations_notify_buf_free(&b);
        return NULL;
    }

    EVP_MD_CTX_free(md);

    integrations_notify_buf_addc(&b, '.');
    integrations_fcm_b64url(&b, sig, siglen);
    free(sig);

    return integrations_notify_buf_done(&b, len);
}


char *
integrations_fcm_token_body(const integrations_fcm_key_t *key, time_t now,
    size_t *len)
{
    char                       *jwt;
    size_t                      n;
    integrations_notify_buf_t   b;

    jwt = integrations_fcm_jwt(key, now, &n);
    if (jwt == NULL) {
        return NULL;
    }

    memset(&b, 0, sizeof(integrations_notify_buf_t));

    integrations_notify_buf_field(&b, "grant_type",
                                  "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                  43);
    integrations_notify_buf_field(&b, "assertion", jwt, n);

    free(jwt);

    return integrations_notify_buf_done(&b, len);
}


int
integrations_fcm_token_parse(const integrations_notify_response_t *r,
    time_t now, char *token, size_t size, time_t *refresh_at,
    time_t *expires_at, integrations_notify_result_t *res)
{
    size_t                        n, i;
    long long                     expires;
    yajl_val                      root;
    const char                   *s;

    if (size > 0) {
        token[0] = '\0';
    }

    if (integrations_notify_classify_transport(r, res)) {
        return -1;
    }

    root = integrations_notify_answer_json(r);

    if (r->status != 200) {
        integrations_notify_classify_status(r, res);

        if (integrations_notify_json_field(root, "error", 0, &s, &n) == 0)
        {
            integrations_notify_copy_id(res->code, sizeof(res->code), s, n);

            if ((n == 13 && memcmp(s, "invalid_grant", 13) == 0)
                || (n == 14 && memcmp(s, "invalid_client", 14) == 0)
                || (n == 19 && memcmp(s, "unauthorized_client", 19) == 0))
            {
                res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
                res->flags |= INTEGRATIONS_NOTIFY_F_CONFIG;
            }
        }

        if (integrations_notify_json_field(root, "error_description", 0, &s,
                                           &n) == 0)
        {
            integrations_notify_copy_text(res->text, sizeof(res->text), s, n);
        }

        /* a token request can always be made again: nothing is sent */

        if (res->outcome != INTEGRATIONS_NOTIFY_SENT) {
            res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        }

        yajl_tree_free(root);
        return -1;
    }

    res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
    strcpy(res->code, "bad_response");

    if (integrations_notify_json_field(root, "access_token", 0, &s, &n) != 0
        || n == 0 || n > INTEGRATIONS_FCM_TOKEN_MAX || n >= size)
    {
        yajl_tree_free(root);
        return -1;
    }

    /* it goes into "Authorization: Bearer ...": visible ASCII only */

    for (i = 0; i < n; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f) {
            yajl_tree_free(root);
            return -1;
        }
    }

    if (integrations_notify_json_int(integrations_json_get(root, "expires_in"),
                                     1, 86400, &expires) != 0)
    {
        yajl_tree_free(root);
        return -1;
    }

    if (integrations_notify_json_field(root, "token_type", 0, &s, &i) == 0
        && !(i == 6 && strncasecmp(s, "Bearer", 6) == 0))
    {
        yajl_tree_free(root);
        return -1;
    }

    integrations_notify_json_field(root, "access_token", 0, &s, &n);
    memcpy(token, s, n);
    token[n] = '\0';
    OPENSSL_cleanse((void *) s, n);

    /*
     * Refreshed 5 minutes before its end (half its life if shorter) while
     * sends go on with it; not used in its last minute (quarter), so that
     * a send on its way, or a clock a little off, does not meet a 401.
     */

    *refresh_at = now + expires - (expires / 2 < 300 ? expires / 2 : 300);
    *expires_at = now + expires - (expires / 4 < 60 ? expires / 4 : 60);

    res->outcome = INTEGRATIONS_NOTIFY_SENT;
    res->code[0] = '\0';

    yajl_tree_free(root);

    return 0;
}


char *
integrations_fcm_message_body(const integrations_fcm_message_t *m,
    size_t *len, const char **why)
{
    size_t                     i, payload;
    integrations_notify_gen_t  j;

    if (m->token_len == 0 || m->body_len == 0) {
        *why = "a token and a body are needed";
        return NULL;
    }

    payload = m->title_len + m->body_len;

    for (i = 0; i < m->ndata; i++) {
        payload += m->data[i].key_len + m->data[i].value_len;
    }

    if (payload > INTEGRATIONS_FCM_PAYLOAD_MAX) {
        *why = "the title, body and data are over FCM's 4096 bytes";
        return NULL;
    }

    integrations_notify_gen_init(&j);
    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_cstr(&j, "message");
    integrations_notify_gen_map(&j, 1);
    integrations_notify_gen_key(&j, "token", m->token, m->token_len);

    integrations_notify_gen_cstr(&j, "notification");
    integrations_notify_gen_map(&j, 1);

    if (m->title_len) {
        integrations_notify_gen_key(&j, "title", m->title, m->title_len);
    }

    integrations_notify_gen_key(&j, "body", m->body, m->body_len);
    integrations_notify_gen_map(&j, 0);

    if (m->ndata) {
        integrations_notify_gen_cstr(&j, "data");
        integrations_notify_gen_map(&j, 1);

        for (i = 0; i < m->ndata; i++) {
            integrations_notify_gen_str(&j, m->data[i].key,
                                        m->data[i].key_len);
            integrations_notify_gen_str(&j, m->data[i].value,
                                        m->data[i].value_len);
        }

        integrations_notify_gen_map(&j, 0);
    }

    integrations_notify_gen_map(&j, 0);
    integrations_notify_gen_map(&j, 0);

    *why = "a field is not UTF-8";

    return integrations_notify_gen_done(&j, len);
}


int
integrations_fcm_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res)
{
    size_t                        n, i;
    yajl_val                      root, err, details, d;
    const char                   *s, *code;

    if (integrations_notify_classify_transport(r, res)) {
        return res->outcome;
    }

    root = integrations_notify_answer_json(r);

    if (r->status == 200) {
        if (integrations_notify_json_field(root, "name", 0, &s, &n) == 0
            && n > 0
            && integrations_notify_copy_id(res->message_id,
                                           sizeof(res->message_id), s, n)
               == 0)
        {
            res->outcome = INTEGRATIONS_NOTIFY_SENT;

        } else {
            res->outcome = INTEGRATIONS_NOTIFY_UNKNOWN;
            strcpy(res->code, "bad_response");
        }

        yajl_tree_free(root);
        return res->outcome;
    }

    integrations_notify_classify_status(r, res);

    err = integrations_json_get(root, "error");

    if (integrations_notify_json_field(err, "message", 0, &s, &n) == 0)
    {
        integrations_notify_copy_text(res->text, sizeof(res->text), s, n);
    }

    /* details[].errorCode, of the FcmError entry or any that has one */

    code = NULL;
    details = integrations_json_get(err, "details");

    for (i = 0; details && YAJL_IS_ARRAY(details)
                && i < details->u.array.len; i++)
    {
        d = details->u.array.values[i];

        if (integrations_notify_json_field(d, "errorCode", 0, &s, &n) == 0
            && integrations_notify_copy_id(res->code, sizeof(res->code), s, n)
               == 0)
        {
            code = res->code;
            break;
        }
    }

    if (code == NULL) {
        if (integrations_notify_json_field(err, "status", 0, &s, &n) == 0)
        {
            integrations_notify_copy_id(res->code, sizeof(res->code), s, n);
        }

        if (r->status == 401) {
            res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
            res->flags &= ~INTEGRATIONS_NOTIFY_F_CONFIG;
            res->flags |= INTEGRATIONS_NOTIFY_F_REAUTH;
        }

        yajl_tree_free(root);
        return res->outcome;
    }

    res->flags &= ~INTEGRATIONS_NOTIFY_F_CONFIG;

    if (strcmp(code, "UNREGISTERED") == 0
        || strcmp(code, "SENDER_ID_MISMATCH") == 0)
    {
        res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;
        res->flags |= INTEGRATIONS_NOTIFY_F_PRUNE;

    } else if (strcmp(code, "INVALID_ARGUMENT") == 0) {
        res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;

    } else if (strcmp(code, "THIRD_PARTY_AUTH_ERROR") == 0) {
        res->outcome = INTEGRATIONS_NOTIFY_PERMANENT;
        res->flags |= INTEGRATIONS_NOTIFY_F_CONFIG;

    } else if (strcmp(code, "QUOTA_EXCEEDED") == 0) {
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->retry_after = r->retry_after > 60 ? r->retry_after : 60;

    } else {
        /* UNAVAILABLE, INTERNAL, UNSPECIFIED_ERROR and any new code */
        res->outcome = INTEGRATIONS_NOTIFY_RETRYABLE;
        res->retry_after = r->retry_after;

        if (r->status == 401) {
            res->flags |= INTEGRATIONS_NOTIFY_F_REAUTH;
        }
    }

    yajl_tree_free(root);

    return res->outcome;
}
