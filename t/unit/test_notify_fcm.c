/*
 * FCM HTTP v1: the service-account key, the RS256 JWT (verified with the
 * key's public half), the token answer, the message, the classifier.
 */

#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "tap.h"
#include "integrations_codec.h"
#include "integrations_fcm.h"
#include "integrations_json.h"


#define S(s)  s, sizeof(s) - 1


#define HEADER  "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"0a1b2c\"}"


static EVP_PKEY  *rsa;


/* a service-account key file around a fresh RSA key */

static char *
key_file(const char *type, int bits, const char *extra)
{
    BIO        *bio;
    char       *pem, *json, *p, *q;
    long        n;
    EVP_PKEY   *k;

    k = EVP_RSA_gen(bits);

    if (bits == 2048) {
        rsa = k;
    }

    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(bio, &p);

    /* the PEM's line breaks as JSON escapes */

    pem = malloc(2 * n + 1);
    for (q = pem; n > 0; n--, p++) {
        if (*p == '\n') {
            *q++ = '\\';
            *q++ = 'n';
        } else {
            *q++ = *p;
        }
    }
    *q = '\0';
    BIO_free(bio);

    if (k != rsa) {
        EVP_PKEY_free(k);
    }

    json = malloc(strlen(pem) + 1024);
    sprintf(json, "{\"type\":\"%s\",\"project_id\":\"books-1234\","
            "\"private_key_id\":\"0a1b2c\",\"private_key\":\"%s\","
            "\"client_email\":\"fcm@books-1234.iam.gserviceaccount.com\","
            "\"client_id\":\"1\",\"token_uri\":"
            "\"https://oauth2.googleapis.com/token\"%s}", type, pem, extra);
    free(pem);

    return json;
}


static unsigned char *
b64url_decode(const char *s, size_t n, size_t *out)
{
    char           *t;
    size_t          i, m;
    unsigned char  *d;

    m = (n + 3) / 4 * 4;
    t = malloc(m + 1);

    for (i = 0; i < n; i++) {
        t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    }
    for ( /* void */ ; i < m; i++) {
        t[i] = '=';
    }

    d = malloc(m);
    if (integrations_codec_base64_decode(d, m, (unsigned char *) t, m, out)
        != 0)
    {
        free(d);
        d = NULL;
    }

    free(t);

    return d;
}


static void
test_key_and_jwt(void)
{
    char                    *json, *jwt, *dot1, *dot2, *body;
    size_t                   n, hl, cl, sl;
    const char              *why;
    unsigned char           *h, *c, *sig;
    EVP_MD_CTX              *md;
    yajl_val                 claims;
    integrations_fcm_key_t   key;
    integrations_json_err_t  st;

    json = key_file("service_account", 2048, "");
    ok(integrations_fcm_key_parse(json, strlen(json), &key, &why) == 0,
       "a service-account key file");
    free(json);

    is_str(key.client_email, "fcm@books-1234.iam.gserviceaccount.com",
           "client_email");
    is_str(key.project_id, "books-1234", "project_id");
    is_str(key.token_uri, "https://oauth2.googleapis.com/token", "token_uri");
    is_str(key.private_key_id, "0a1b2c", "private_key_id");

    jwt = integrations_fcm_jwt(&key, 1700000000, &n);
    ok(jwt != NULL && n == strlen(jwt), "a JWT");

    dot1 = strchr(jwt, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    ok(dot2 != NULL && strchr(dot2 + 1, '.') == NULL
       && strpbrk(jwt, "+/=") == NULL, "three base64url parts, no padding");

    h = b64url_decode(jwt, dot1 - jwt, &hl);
    c = b64url_decode(dot1 + 1, dot2 - dot1 - 1, &cl);
    sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &sl);

    ok(h && hl == strlen(HEADER) && memcmp(h, HEADER, hl) == 0,
       "the header");

    claims = integrations_json_parse((char *) c, cl, 4,
                                    INTEGRATIONS_JSON_UNIQUE_KEYS, &st);
    ok(claims != NULL
       && strcmp(integrations_json_get(claims, "iss")->u.string,
                 "fcm@books-1234.iam.gserviceaccount.com") == 0
       && strcmp(integrations_json_get(claims, "scope")->u.string,
                 "https://www.googleapis.com/auth/firebase.messaging") == 0
       && strcmp(integrations_json_get(claims, "aud")->u.string,
                 "https://oauth2.googleapis.com/token") == 0
       && strcmp(integrations_notify_json_number(
                     integrations_json_get(claims, "iat")), "1700000000")
          == 0
       && strcmp(integrations_notify_json_number(
                     integrations_json_get(claims, "exp")), "1700003600")
          == 0,
       "claims iss, scope, aud, iat, exp = iat + 3600");
    yajl_tree_free(claims);

    md = EVP_MD_CTX_new();
    ok(sl == 256
       && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, rsa) == 1
       && EVP_DigestVerify(md, sig, sl, (unsigned char *) jwt, dot2 - jwt)
          == 1, "RS256 signature verifies with the public key");
    EVP_MD_CTX_free(md);

    free(h);
    free(c);
    free(sig);
    free(jwt);

    body = integrations_fcm_token_body(&key, 1700000000, &n);
    ok(body != NULL
       && strncmp(body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type"
                  "%3Ajwt-bearer&assertion=ey", 77) == 0,
       "the token request form");
    free(body);

    integrations_fcm_key_free(&key);
    EVP_PKEY_free(rsa);

    /* refusals */

    json = key_file("authorized_user", 2048, "");
    ok(integrations_fcm_key_parse(json, strlen(json), &key, &why) == -1
       && strstr(why, "type") != NULL, "not a service account");
    free(json);
    EVP_PKEY_free(rsa);

    json = key_file("service_account", 1024, "");
    ok(integrations_fcm_key_parse(json, strlen(json), &key, &why) == -1
       && strstr(why, "2048") != NULL, "a 1024-bit key");
    free(json);

    ok(integrations_fcm_key_parse(S("{\"type\":\"service_account\","
                                    "\"client_email\":\"a@b\","
                                    "\"project_id\":\"p\","
                                    "\"private_key\":\"-----BEGIN PRIVATE "
                                    "KEY-----\\nAAAA\\n-----END PRIVATE "
                                    "KEY-----\\n\"}"), &key, &why) == -1
       && strstr(why, "PEM") != NULL, "a broken PEM");

    ok(integrations_fcm_key_parse(S("{\"client_email\":\"a@b\","
                                    "\"project_id\":\"p/../x\","
                                    "\"private_key\":\"x\"}"), &key, &why)
       == -1 && strstr(why, "project_id") != NULL,
       "a project id that would change the URL path");

    ok(integrations_fcm_key_parse(S("{\"client_email\":\"a@b\","
                                    "\"project_id\":\"p\","
                                    "\"token_uri\":\"http://x\","
                                    "\"private_key\":\"x\"}"), &key, &why)
       == -1 && strstr(why, "https") != NULL, "a token_uri not https");

    ok(integrations_fcm_key_parse(S("{\"client_email\":\"a@b\","
                                    "\"client_email\":\"c@d\"}"), &key, &why)
       == -1, "duplicate keys");
}


static void
test_token(void)
{
    int                             rc;
    char                            tok[256];
    time_t                          at, ex;
    integrations_notify_result_t    res;
    integrations_notify_response_t  r;

    memset(&r, 0, sizeof(r));
    r.status = 200;
    r.body = "{\"access_token\":\"ya29.c.Kp8BCgi0\",\"expires_in\":3599,"
             "\"token_type\":\"Bearer\"}";
    r.body_len = strlen(r.body);
    r.retry_after = -1;

    rc = integrations_fcm_token_parse(&r, 1000, tok, sizeof(tok), &at, &ex,
                                      &res);
    ok(rc == 0 && strcmp(tok, "ya29.c.Kp8BCgi0") == 0, "the access token");
    is_int(at, 1000 + 3599 - 300, "refreshed 5 minutes before it expires");
    is_int(ex, 1000 + 3599 - 60, "used until a minute before it expires");

    r.body = "{\"access_token\":\"t\",\"expires_in\":120}";
    r.body_len = strlen(r.body);
    rc = integrations_fcm_token_parse(&r, 1000, tok, sizeof(tok), &at, &ex,
                                      &res);
    ok(rc == 0 && at == 1060, "a short lifetime: refreshed at half of it");
    is_int(ex, 1090, "and used until three quarters of it");

    r.body = "{\"access_token\":\"t\",\"expires_in\":6}";
    r.body_len = strlen(r.body);
    rc = integrations_fcm_token_parse(&r, 1000, tok, sizeof(tok), &at, &ex,
                                      &res);
    ok(rc == 0 && at == 1003 && ex == 1005,
       "6 s: refreshed from 3 s, used until 5 s");
    ok(at < ex, "refreshed before it stops being used");

    r.body = "{\"access_token\":\"t t\",\"expires_in\":3599}";
    r.body_len = strlen(r.body);
    ok(integrations_fcm_token_parse(&r, 1000, tok, sizeof(tok), &at, &ex,
                                    &res)
       == -1 && res.outcome == INTEGRATIONS_NOTIFY_UNKNOWN,
       "a token with a space is refused (it goes in a header)");

    r.body = "{\"access_token\":\"t\\r\\nX: y\",\"expires_in\":3599}";
    r.body_len = strlen(r.body);
    ok(integrations_fcm_token_parse(&r, 1000, tok, sizeof(tok), &at, &ex,
                                    &res)
       == -1 && tok[0] == '\0', "and one with CR LF");

    r.body = "{\"access_token\":\"t\",\"expires_in\":\"3599\"}";
    r.body_len = strlen(r.body);
    ok(integrations_fcm_token_parse(&r, 1000, tok, sizeof(tok), &at, &ex,
                                    &res)
       == -1, "expires_in must be a number");

    r.body = "{\"access_token\":\"t\",\"expires_in\":3599,"
             "\"token_type\":\"MAC\"}";
    r.body_len = strlen(r.body);
    ok(integrations_fcm_token_parse(&r, 1000, tok, sizeof(tok), &at, &ex,
                                    &res)
       == -1, "a token that is not Bearer");

    r.status = 400;
    r.body = "{\"error\":\"invalid_grant\",\"error_description\":"
             "\"Invalid JWT Signature.\"}";
    r.body_len = strlen(r.body);
    ok(integrations_fcm_token_parse(&r, 1000, tok, sizeof(tok), &at, &ex,
                                    &res)
       == -1 && res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && (res.flags & INTEGRATIONS_NOTIFY_F_CONFIG)
       && strcmp(res.code, "invalid_grant") == 0,
       "invalid_grant: the key or the clock");

    r.status = 503;
    r.body = "";
    r.body_len = 0;
    ok(integrations_fcm_token_parse(&r, 1000, tok, sizeof(tok), &at, &ex,
                                    &res)
       == -1 && res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE, "503");
}


static void
test_message(void)
{
    char                            *body;
    size_t                           n;
    const char                      *why;
    integrations_fcm_message_t       m;
    integrations_notify_kv_t         kv[1];
    static char                      big[5000];

    memset(&m, 0, sizeof(m));
    m.token = "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1";
    m.token_len = strlen(m.token);
    m.title = "주문 완료";
    m.title_len = strlen(m.title);
    m.body = "전자책이 준비되었습니다";
    m.body_len = strlen(m.body);
    kv[0].key = "link";
    kv[0].key_len = 4;
    kv[0].value = "https://x/y";
    kv[0].value_len = 11;
    m.data = kv;
    m.ndata = 1;

    body = integrations_fcm_message_body(&m, &n, &why);
    is_str(body, "{\"message\":{\"token\":"
           "\"bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1\","
           "\"notification\":{\"title\":\"주문 완료\",\"body\":"
           "\"전자책이 준비되었습니다\"},\"data\":{\"link\":\"https://x/y\"}}}",
           "the FCM message");
    free(body);

    memset(big, 'x', sizeof(big) - 1);
    m.body = big;
    m.body_len = 4090;
    ok(integrations_fcm_message_body(&m, &n, &why) == NULL
       && strstr(why, "4096") != NULL, "over 4096 bytes of payload");
}


static void
test_classify(void)
{
    integrations_notify_result_t    res;
    integrations_notify_response_t  r;

    static const struct {
        unsigned     status;
        const char  *code;
        int          outcome;
        unsigned     flags;
    } cases[] = {
        { 404, "UNREGISTERED", INTEGRATIONS_NOTIFY_PERMANENT,
          INTEGRATIONS_NOTIFY_F_PRUNE },
        { 400, "INVALID_ARGUMENT", INTEGRATIONS_NOTIFY_PERMANENT, 0 },
        { 403, "SENDER_ID_MISMATCH", INTEGRATIONS_NOTIFY_PERMANENT,
          INTEGRATIONS_NOTIFY_F_PRUNE },
        { 401, "THIRD_PARTY_AUTH_ERROR", INTEGRATIONS_NOTIFY_PERMANENT,
          INTEGRATIONS_NOTIFY_F_CONFIG },
        { 429, "QUOTA_EXCEEDED", INTEGRATIONS_NOTIFY_RETRYABLE, 0 },
        { 503, "UNAVAILABLE", INTEGRATIONS_NOTIFY_RETRYABLE, 0 },
        { 500, "INTERNAL", INTEGRATIONS_NOTIFY_RETRYABLE, 0 },
    };

    size_t  i;
    char    body[512];

    memset(&r, 0, sizeof(r));
    r.retry_after = -1;

    r.status = 200;
    r.body = "{\"name\":\"projects/books-1234/messages/0:1500415314455276%"
             "31bd1c9631bd1c96\"}";
    r.body_len = strlen(r.body);
    integrations_fcm_classify(&r, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_SENT
       && strncmp(res.message_id, "projects/books-1234/messages/", 29) == 0,
       "200: sent, the name as id");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"error\":{\"code\":%u,\"message\":\"m\",\"status\":"
                 "\"NOT_FOUND\",\"details\":[{\"@type\":\"type.googleapis.com/"
                 "google.firebase.fcm.v1.FcmError\",\"errorCode\":\"%s\"}]}}",
                 cases[i].status, cases[i].code);
        r.status = cases[i].status;
        r.body = body;
        r.body_len = strlen(body);
        r.retry_after = (i == 5) ? 17 : -1;

        integrations_fcm_classify(&r, &res);
        ok(res.outcome == cases[i].outcome && res.flags == cases[i].flags
           && strcmp(res.code, cases[i].code) == 0,
           "%u %s: from details[].errorCode", cases[i].status,
           cases[i].code);
    }

    r.status = 429;
    snprintf(body, sizeof(body), "{\"error\":{\"details\":[{\"errorCode\":"
             "\"QUOTA_EXCEEDED\"}]}}");
    r.body_len = strlen(body);
    r.retry_after = 5;
    integrations_fcm_classify(&r, &res);
    is_int(res.retry_after, 60, "QUOTA_EXCEEDED: at least a minute");

    r.status = 503;
    snprintf(body, sizeof(body), "{\"error\":{\"details\":[{\"errorCode\":"
             "\"UNAVAILABLE\"}]}}");
    r.body_len = strlen(body);
    r.retry_after = 17;
    integrations_fcm_classify(&r, &res);
    is_int(res.retry_after, 17, "UNAVAILABLE: Retry-After honoured");

    r.status = 401;
    snprintf(body, sizeof(body), "{\"error\":{\"code\":401,\"status\":"
             "\"UNAUTHENTICATED\"}}");
    r.body_len = strlen(body);
    r.retry_after = -1;
    integrations_fcm_classify(&r, &res);
    ok(res.outcome == INTEGRATIONS_NOTIFY_RETRYABLE
       && res.flags == INTEGRATIONS_NOTIFY_F_REAUTH
       && strcmp(res.code, "UNAUTHENTICATED") == 0,
       "401 without an errorCode: fetch a new token, retry");

    r.status = 200;
    snprintf(body, sizeof(body), "{\"nam\":\"x\"}");
    r.body_len = strlen(body);
    integrations_fcm_classify(&r, &res);
    is_int(res.outcome, INTEGRATIONS_NOTIFY_UNKNOWN, "200 without a name");
}


int
main(void)
{
    test_key_and_jwt();
    test_token();
    test_message();
    test_classify();

    return done_testing();
}
