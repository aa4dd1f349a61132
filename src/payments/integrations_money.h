/*
 * Money: integer minor units and ISO 4217 exponents; the pure core.
 *
 * No nginx headers, no globals but a constant table, no allocation, no
 * floating point anywhere: "10.50" USD is 1050 minor units exactly,
 * because a double cannot hold 0.1 and a payment API must not round.
 */

#ifndef INTEGRATIONS_MONEY_H
#define INTEGRATIONS_MONEY_H

#include <stddef.h>
#include <stdint.h>


/* "-9223372036854775808" with a point and a NUL fits in 24 bytes */
#define INTEGRATIONS_MONEY_STR_LEN  24


/*
 * The number of digits after the point for a currency code (3 letters,
 * either case): 0 for KRW and JPY, 2 for USD and EUR, 3 for KWD...
 * -1 for a code this table does not know: callers reject those rather
 * than guess an exponent.
 */
int integrations_money_exponent(const char *code, size_t len);

/*
 * Parses a non-negative decimal "123", "10.5", "10.50" into minor units
 * of a currency with the given exponent (0..4).  Rejects an empty string,
 * a sign, white space, exponents ("1e3"), a point with no digit on either
 * side, more decimals than the exponent, and values above INT64_MAX.
 * Returns 0 and stores *minor, or -1.
 */
int integrations_money_parse(const char *s, size_t len, int exponent,
    int64_t *minor);

/*
 * Formats minor units as a decimal with exactly "exponent" decimals
 * (1050, 2 -> "10.50"; 1000, 0 -> "1000"; -5, 2 -> "-0.05") into buf of
 * INTEGRATIONS_MONEY_STR_LEN bytes, NUL-terminated.  Returns the length.
 */
size_t integrations_money_format(int64_t minor, int exponent, char *buf);

#endif /* INTEGRATIONS_MONEY_H */
