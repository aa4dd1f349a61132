/*
 * integrations_redis URLs: the pure core.
 *
 *     redis://HOST[:PORT][/DB]      TCP, port 6379 and database 0 by
 *                                   default; HOST a name, an IPv4 address
 *                                   or [an IPv6 address]
 *     unix:/PATH[?db=DB]            a unix socket
 *
 * A password in the URL ("redis://:secret@host") is refused: secrets come
 * from files (password_file=), never from nginx.conf.  DB is 0..15 in a
 * default Redis; anything up to 9999 is accepted here, Redis says the
 * rest ("ERR DB index is out of range"), which the client logs.
 */

#ifndef INTEGRATIONS_REDIS_H
#define INTEGRATIONS_REDIS_H

#include <stddef.h>
#include <stdint.h>


#define INTEGRATIONS_REDIS_PORT      6379
#define INTEGRATIONS_REDIS_MAX_DB    9999
#define INTEGRATIONS_REDIS_MAX_HOST  255
#define INTEGRATIONS_REDIS_MAX_PATH  107    /* sun_path less its NUL */


typedef struct {
    int                   unix_socket;
    const unsigned char  *host;      /* the name, the address (without
                                        brackets), or the socket's path */
    size_t                host_len;
    unsigned              port;      /* TCP only */
    unsigned              db;
} integrations_redis_url_t;


/*
 * Parses len bytes at s (not NUL-terminated); u->host points into s.
 * Returns NULL, or a message for the log (u is then undefined).
 */
const char *integrations_redis_url_parse(const unsigned char *s, size_t len,
    integrations_redis_url_t *u);


#endif /* INTEGRATIONS_REDIS_H */
