/*
 * RESP2, the Redis protocol: the pure core of the Redis client.
 *
 * No nginx headers, no globals, no I/O, no allocation.  Commands go out
 * as arrays of bulk strings (binary safe); replies come back one at a
 * time from a byte range that may hold less than a reply (the rest has
 * not arrived yet) or more (pipelined replies behind it).
 *
 *     n = integrations_resp_command_len(argc, argv, lens);
 *     p = integrations_resp_command(buf, argc, argv, lens);   n bytes
 *
 *     rc = integrations_resp_parse(in, len, &reply, &used, &err);
 *
 * parse() returns INTEGRATIONS_RESP_OK with the first reply in "reply"
 * and its length in *used; INTEGRATIONS_RESP_AGAIN when the bytes end
 * inside the first reply (call again with more: nothing is kept between
 * calls, a reply is short); INTEGRATIONS_RESP_INVALID with a message in
 * *err when they cannot be a reply of ours: a byte that is not RESP2, a
 * line without CRLF, a number that is not one, a bulk string longer than
 * INTEGRATIONS_RESP_MAX_BULK, or more than INTEGRATIONS_RESP_MAX_VALUES
 * values or INTEGRATIONS_RESP_MAX_DEPTH levels of arrays in one reply.
 * After INVALID the connection is out of step and must be closed.
 *
 * A reply is its values in pre-order: an array, then its elements.  The
 * texts point into the input range, which must outlive their use.
 */

#ifndef INTEGRATIONS_RESP_H
#define INTEGRATIONS_RESP_H

#include <stddef.h>
#include <stdint.h>


#define INTEGRATIONS_RESP_OK         0
#define INTEGRATIONS_RESP_AGAIN      1
#define INTEGRATIONS_RESP_INVALID    2

#define INTEGRATIONS_RESP_MAX_VALUES 16
#define INTEGRATIONS_RESP_MAX_DEPTH  4
#define INTEGRATIONS_RESP_MAX_BULK   (64 * 1024)
#define INTEGRATIONS_RESP_MAX_LINE   1024   /* status, error, numbers */


typedef enum {
    INTEGRATIONS_RESP_STATUS = 1,    /* +OK */
    INTEGRATIONS_RESP_ERROR,         /* -NOSCRIPT No matching script */
    INTEGRATIONS_RESP_INTEGER,       /* :1 */
    INTEGRATIONS_RESP_BULK,          /* $3 abc */
    INTEGRATIONS_RESP_NIL,           /* $-1 or *-1 */
    INTEGRATIONS_RESP_ARRAY          /* *2 followed by two values */
} integrations_resp_type_e;


typedef struct {
    integrations_resp_type_e    type;
    int64_t                     integer;  /* INTEGER; ARRAY: elements */
    const unsigned char        *data;     /* STATUS, ERROR, BULK */
    size_t                      len;
} integrations_resp_value_t;


typedef struct {
    size_t                      n;
    integrations_resp_value_t   v[INTEGRATIONS_RESP_MAX_VALUES];
} integrations_resp_reply_t;


/* pieces of a command: the array's head, then each bulk string */
size_t integrations_resp_array_len(size_t n);
unsigned char *integrations_resp_array(unsigned char *out, size_t n);
size_t integrations_resp_bulk_len(size_t len);
unsigned char *integrations_resp_bulk(unsigned char *out,
    const unsigned char *data, size_t len);

/* the length of the command, argc >= 1 arguments of lens[i] bytes */
size_t integrations_resp_command_len(size_t argc,
    const unsigned char *const *argv, const size_t *lens);

/* writes it at out, returns the end */
unsigned char *integrations_resp_command(unsigned char *out, size_t argc,
    const unsigned char *const *argv, const size_t *lens);

int integrations_resp_parse(const unsigned char *in, size_t len,
    integrations_resp_reply_t *reply, size_t *used, const char **err);

/*
 * An error reply's first word is its code ("NOSCRIPT", "NOAUTH",
 * "WRONGPASS", "ERR"): true if the reply value v is an error of this
 * code.
 */
int integrations_resp_is_error(const integrations_resp_value_t *v,
    const char *code);


#endif /* INTEGRATIONS_RESP_H */
