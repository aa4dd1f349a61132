/*
 * libFuzzer target: the body parsers, which need no valid signature to be
 * reached through integrations_webhook_event_id() (the bounded JSON
 * scanner), an unsigned Toss delivery (the eventType check) and a Twilio
 * request (form decoding and sorting, bodySHA256, URL port variants).
 *
 * Input: byte 0 picks the parser; for Twilio the first line is the query
 * string, and the rest the body.  The signature is a fixed one of the
 * right length: one that did not decode would stop at init(), before the
 * body parsers this target is for.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_webhook.h"


static integrations_webhook_verifier_t  *f_toss;
static integrations_webhook_verifier_t  *f_twilio[2];


static integrations_webhook_verifier_t *
f_verifier(integrations_webhook_provider_e p, const char *url)
{
    integrations_webhook_params_t    params;
    integrations_webhook_secret_t    s;
    integrations_webhook_verifier_t *v;

    memset(&params, 0, sizeof(params));
    s.data = (const unsigned char *) "12345";
    s.len = 5;
    s.kind = INTEGRATIONS_WEBHOOK_SECRET_AUTO;

    params.provider = p;
    params.secrets = &s;
    params.nsecrets = 1;
    params.max_buffer = 512;

    if (url != NULL) {
        params.url = (const unsigned char *) url;
        params.url_len = strlen(url);
    }

    v = integrations_webhook_verifier_create(&params, NULL, 0);

    if (v == NULL) {
        abort();
    }

    return v;
}


static integrations_webhook_rc_e
f_verify(integrations_webhook_verifier_t *v, integrations_webhook_headers_t *h,
    const uint8_t *q, size_t qlen, const uint8_t *body, size_t len)
{
    integrations_webhook_rc_e   rc;
    integrations_webhook_ctx_t  ctx;

    rc = integrations_webhook_init(&ctx, v, h, q, qlen, 0);

    if (rc == INTEGRATIONS_WEBHOOK_OK) {
        integrations_webhook_update(&ctx, body, len);
    }

    rc = integrations_webhook_final(&ctx);
    integrations_webhook_cleanup(&ctx);

    if ((unsigned) rc >= INTEGRATIONS_WEBHOOK_RC_MAX
        || rc == INTEGRATIONS_WEBHOOK_INTERNAL_ERROR)
    {
        abort();
    }

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                               sel, rc;
    size_t                            i, k, qlen;
    uint8_t                          *copy;
    const uint8_t                    *end, *nl, *q;
    integrations_webhook_headers_t    h;
    integrations_webhook_event_id_t   id;

    if (f_toss == NULL) {
        f_toss = f_verifier(INTEGRATIONS_WEBHOOK_TOSS, NULL);
        f_twilio[0] = f_verifier(INTEGRATIONS_WEBHOOK_TWILIO,
                                 "https://mycompany.com/myapp.php");
        f_twilio[1] = f_verifier(INTEGRATIONS_WEBHOOK_TWILIO,
                                 "HTTP://[::1]:80/x");
    }

    if (size < 1) {
        return 0;
    }

    sel = data[0] % 4;
    data++;
    size--;

    /* An exact-size copy: a read past the end is an ASan report. */

    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    end = copy + size;

    integrations_webhook_headers_init(&h);

    switch (sel) {

    case 0:
        for (i = 0; i < INTEGRATIONS_WEBHOOK_PROVIDER_MAX; i++) {
            rc = integrations_webhook_event_id(i, &h, copy, size, &id);

            if (rc == INTEGRATIONS_WEBHOOK_ID_FOUND) {
                if (id.len == 0 || id.len > INTEGRATIONS_WEBHOOK_EVENT_ID_MAX
                    || id.source != INTEGRATIONS_WEBHOOK_ID_BODY)
                {
                    abort();
                }

                /* printable ASCII, escapes decoded: never a NUL kept */

                for (k = 0; k < id.len; k++) {
                    if (id.data[k] < 0x21 || id.data[k] > 0x7e) {
                        abort();
                    }
                }

            } else if (rc == INTEGRATIONS_WEBHOOK_ID_INVALID) {
                if (id.field == NULL) {
                    abort();
                }

            } else if (rc != INTEGRATIONS_WEBHOOK_ID_NONE) {
                abort();
            }
        }

        break;

    case 1:
        /* unsigned Toss: either unsigned or a refused missing header */
        switch (f_verify(f_toss, &h, NULL, 0, copy, size)) {
        case INTEGRATIONS_WEBHOOK_UNSIGNED:
        case INTEGRATIONS_WEBHOOK_MISSING_HEADER:
        case INTEGRATIONS_WEBHOOK_BODY_TOO_LARGE:
            break;
        default:
            abort();
        }

        break;

    default:
        nl = memchr(copy, '\n', size);
        q = copy;
        qlen = nl ? (size_t) (nl - copy) : size;
        data = nl ? nl + 1 : end;

        integrations_webhook_headers_add(&h,
            (const unsigned char *) "x-twilio-signature", 18,
            (const unsigned char *) "RSOYDt4T1cUTdK1PDd93/VVr8B8=", 28);

        f_verify(f_twilio[sel - 2], &h, q, qlen, data, end - data);
        break;
    }

    free(copy);

    return 0;
}
