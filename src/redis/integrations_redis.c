/*
 * integrations_redis URLs: see integrations_redis.h.
 */

#include <string.h>

#include "integrations_redis.h"


static const char *integrations_redis_number(const unsigned char *p,
    const unsigned char *end, unsigned max, unsigned *value);


const char *
integrations_redis_url_parse(const unsigned char *s, size_t len,
    integrations_redis_url_t *u)
{
    const char           *err;
    const unsigned char  *p, *end, *host, *host_end, *q;

    end = s + len;

    memset(u, 0, sizeof(integrations_redis_url_t));

    if (len > 5 && memcmp(s, "unix:", 5) == 0) {
        p = s + 5;

        for (q = p; q < end && *q != '?'; q++) {
            if (*q < 0x21 || *q == 0x7f) {
                return "invalid character in the socket path";
            }
        }

        if (q == p || *p != '/') {
            return "the socket path must be absolute";
        }

        if ((size_t) (q - p) > INTEGRATIONS_REDIS_MAX_PATH) {
            return "the socket path is too long";
        }

        u->unix_socket = 1;
        u->host = p;
        u->host_len = q - p;

        if (q == end) {
            return NULL;
        }

        if (end - q < 5 || memcmp(q, "?db=", 4) != 0) {
            return "invalid parameter after the socket path, "
                   "expected \"?db=N\"";
        }

        return integrations_redis_number(q + 4, end,
                                         INTEGRATIONS_REDIS_MAX_DB, &u->db);
    }

    if (len < 8 || memcmp(s, "redis://", 8) != 0) {
        return "invalid URL, expected \"redis://HOST[:PORT][/DB]\" or "
               "\"unix:/PATH\"";
    }

    p = s + 8;

    for (q = p; q < end && *q != '/'; q++) {
        if (*q == '@') {
            return "a password in the URL is refused, use password_file=";
        }
    }

    if (p < end && *p == '[') {
        host = p + 1;

        for (q = host; q < end && *q != ']'; q++) {
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')
                  || (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.'))
            {
                return "invalid IPv6 address";
            }
        }

        if (q == end || q == host) {
            return "invalid IPv6 address";
        }

        host_end = q;
        p = q + 1;

    } else {
        host = p;

        for (q = p; q < end && *q != ':' && *q != '/'; q++) {
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z')
                  || (*q >= 'A' && *q <= 'Z') || *q == '-' || *q == '.'
                  || *q == '_'))
            {
                return "invalid host name";
            }
        }

        if (q == host) {
            return "no host in the URL";
        }

        host_end = q;
        p = q;
    }

    if ((size_t) (host_end - host) > INTEGRATIONS_REDIS_MAX_HOST) {
        return "the host name is too long";
    }

    u->host = host;
    u->host_len = host_end - host;
    u->port = INTEGRATIONS_REDIS_PORT;

    if (p < end && *p == ':') {
        for (q = p + 1; q < end && *q != '/'; q++) { /* void */ }

        err = integrations_redis_number(p + 1, q, 65535, &u->port);
        if (err) {
            return "invalid port";
        }

        if (u->port == 0) {
            return "invalid port";
        }

        p = q;
    }

    if (p == end) {
        return NULL;
    }

    if (*p != '/') {
        return "invalid URL after the host";
    }

    p++;

    if (p == end) {
        return NULL;
    }

    return integrations_redis_number(p, end, INTEGRATIONS_REDIS_MAX_DB,
                                     &u->db);
}


static const char *
integrations_redis_number(const unsigned char *p, const unsigned char *end,
    unsigned max, unsigned *value)
{
    unsigned long  n;

    if (p == end) {
        return "invalid database number";
    }

    n = 0;

    for ( /* void */ ; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return "invalid database number";
        }

        n = n * 10 + (*p - '0');

        if (n > max) {
            return "database number out of range";
        }
    }

    *value = (unsigned) n;

    return NULL;
}
