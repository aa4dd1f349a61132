/*
 * Firebase Cloud Messaging, HTTP v1, with a service account.
 *
 * At configuration time the glue reads the service-account JSON key file
 * (key_file=) and parses it with integrations_fcm_key_parse(): client
 * email, private key (RSA, PEM), token URI, project id.  Then, whenever
 * no token is cached or now >= refresh_at:
 *
 *   POST <key.token_uri>                  (https://oauth2.googleapis.com/token)
 *   Content-Type: application/x-www-form-urlencoded
 *   <integrations_fcm_token_body()>       grant_type=...&assertion=<JWT>
 *
 * and integrations_fcm_token_parse() gives the access token and when to
 * refresh it (a few minutes before it expires).  Each message:
 *
 *   POST https://fcm.googleapis.com/v1/projects/<key.project_id>/messages:send
 *   Authorization: Bearer <access token>
 *   Content-Type: application/json
 *   <integrations_fcm_message_body()>
 *
 * The JWT is RS256 (RSASSA-PKCS1-v1_5 with SHA-256, OpenSSL EVP) over
 * {"alg":"RS256","typ":"JWT","kid":<private_key_id>} and {"iss":<client
 * email>,"scope":".../auth/firebase.messaging","aud":<token_uri>,"iat":
 * now,"exp":now+3600}.
 */

#ifndef INTEGRATIONS_FCM_H
#define INTEGRATIONS_FCM_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>

#include "integrations_notify.h"


#define INTEGRATIONS_FCM_SCOPE  \
    "https://www.googleapis.com/auth/firebase.messaging"
#define INTEGRATIONS_FCM_TOKEN_URI  "https://oauth2.googleapis.com/token"
#define INTEGRATIONS_FCM_JWT_LIFETIME  3600
#define INTEGRATIONS_FCM_PAYLOAD_MAX   4096
#define INTEGRATIONS_FCM_TOKEN_MAX     2048


typedef struct {
    char      *client_email;
    char      *token_uri;
    char      *project_id;            /* [a-z0-9.:-], safe in the URL path */
    char      *private_key_id;        /* NULL when the file has none */
    EVP_PKEY  *pkey;
} integrations_fcm_key_t;


typedef struct {
    const char                      *token;      /* the device's */
    size_t                           token_len;
    const char                      *title;      /* or NULL */
    size_t                           title_len;
    const char                      *body;
    size_t                           body_len;
    const integrations_notify_kv_t  *data;       /* string values */
    size_t                           ndata;
} integrations_fcm_message_t;


/*
 * The service-account key file's JSON.  0, or -1 and *why ("no
 * client_email", "private_key is not an RSA key"...; never the key).
 * The bytes of the private key are cleansed from the parse tree.
 */
int integrations_fcm_key_parse(const char *json, size_t len,
    integrations_fcm_key_t *key, const char **why);
void integrations_fcm_key_free(integrations_fcm_key_t *key);

/* the signed assertion, malloc()ed and NUL-terminated, or NULL */
char *integrations_fcm_jwt(const integrations_fcm_key_t *key, time_t now,
    size_t *len);

/* the token request's form body, with a fresh JWT */
char *integrations_fcm_token_body(const integrations_fcm_key_t *key,
    time_t now, size_t *len);

/*
 * The token endpoint's answer: 0 with the token in token (size bytes),
 * *refresh_at (now + expires_in, less 5 minutes, or half the lifetime if
 * that is shorter: from then a send refreshes it in the background while
 * it goes on with this one) and *expires_at (now + expires_in, less a
 * minute, or a quarter of the lifetime: no send uses it from then); or
 * -1 and res: RETRYABLE, with F_CONFIG
 * for invalid_grant, invalid_client, unauthorized_client and 401/403
 * (a revoked key, a wrong clock), UNKNOWN for a 200 that is not a token.
 */
int integrations_fcm_token_parse(const integrations_notify_response_t *r,
    time_t now, char *token, size_t size, time_t *refresh_at,
    time_t *expires_at, integrations_notify_result_t *res);

/*
 * {"message":{"token","notification":{"title","body"},"data":{...}}}:
 * malloc()ed, or NULL and *why (no token or body, invalid UTF-8, title,
 * body and data over 4096 bytes).
 */
char *integrations_fcm_message_body(const integrations_fcm_message_t *m,
    size_t *len, const char **why);

/*
 * messages:send: 200 {"name":"projects/p/messages/id"} is SENT, the name
 * the id.  Errors come from error.details[].errorCode, not the HTTP
 * status: UNREGISTERED (F_PRUNE), SENDER_ID_MISMATCH (F_PRUNE) and
 * INVALID_ARGUMENT are PERMANENT, THIRD_PARTY_AUTH_ERROR PERMANENT with
 * F_CONFIG; QUOTA_EXCEEDED RETRYABLE after at least 60 s; UNAVAILABLE and
 * INTERNAL RETRYABLE with Retry-After.  Without an errorCode, 401 is
 * RETRYABLE with F_REAUTH (the token expired), 403 RETRYABLE with
 * F_CONFIG, else by HTTP status.
 */
int integrations_fcm_classify(const integrations_notify_response_t *r,
    integrations_notify_result_t *res);

#endif /* INTEGRATIONS_FCM_H */
