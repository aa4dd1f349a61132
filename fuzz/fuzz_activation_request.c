/*
 * libFuzzer target: what a buyer's request brings to the activation
 * handler: the /a/{token} path, the Accept-Language header, and a claim
 * handed back for verification.  The first byte picks one.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations_activation.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                           *claims, hex[64];
    size_t                          i, n;
    const char                     *tok, *p;
    integrations_act_claim_key_t   *k;
    integrations_act_lang_e         lang;

    static const unsigned char  key[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

    if (size < 1) {
        return 0;
    }

    p = (const char *) data + 1;
    n = size - 1;

    switch (data[0] % 3) {

    case 0:
        if (integrations_act_path_token(p, n, "/a/", 3, &tok) == 0) {

            /* only the exact alphabet and length get through */

            if (n != 3 + INTEGRATIONS_ACT_TOKEN_LEN
                || !integrations_act_token_valid(tok,
                                                 INTEGRATIONS_ACT_TOKEN_LEN))
            {
                abort();
            }

            for (i = 0; i < INTEGRATIONS_ACT_TOKEN_LEN; i++) {
                if (!((tok[i] >= 'A' && tok[i] <= 'Z')
                      || (tok[i] >= 'a' && tok[i] <= 'z')
                      || (tok[i] >= '0' && tok[i] <= '9') || tok[i] == '-'
                      || tok[i] == '_'))
                {
                    abort();
                }
            }

            integrations_act_token_hash_hex(tok, INTEGRATIONS_ACT_TOKEN_LEN,
                                            hex);
        }

        break;

    case 1:
        lang = integrations_act_language(p, n);
        if (lang != INTEGRATIONS_ACT_KO && lang != INTEGRATIONS_ACT_EN) {
            abort();
        }

        break;

    default:
        k = integrations_act_claim_key_new(key, sizeof(key));
        if (k == NULL) {
            return 0;
        }

        if (integrations_act_claim_verify(k, p, n, 0, &claims, &i) == 0) {
            /* a forged claim verifying would be a finding */
            abort();
        }

        integrations_act_claim_key_free(k);
        break;
    }

    return 0;
}
