/*
 * Minimal TAP producer for the unit tests of the pure C core.
 * Output is read by prove(1); no dependencies beyond libc.
 */

#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>


static int  tap_count;
static int  tap_failed;


static int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>

static int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  ap;

    tap_count++;

    if (!pass) {
        tap_failed++;
    }

    printf("%sok %d - ", pass ? "" : "not ", tap_count);

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);

    printf("\n");

    if (!pass) {
        printf("#   Failed test at %s line %d.\n", file, line);
    }

    fflush(stdout);

    return pass;
}


#define ok(cond, ...)  tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, exp, ...)                                                 \
    do {                                                                      \
        long long  g_ = (long long) (got), e_ = (long long) (exp);            \
        if (!ok(g_ == e_, __VA_ARGS__)) {                                     \
            printf("#          got: %lld\n#     expected: %lld\n", g_, e_);   \
        }                                                                     \
    } while (0)

#define is_str(got, exp, ...)                                                 \
    do {                                                                      \
        const char  *g_ = (got), *e_ = (exp);                                 \
        if (!ok(g_ != NULL && e_ != NULL && strcmp(g_, e_) == 0,              \
                __VA_ARGS__))                                                 \
        {                                                                     \
            printf("#          got: '%s'\n#     expected: '%s'\n",            \
                   g_ ? g_ : "(null)", e_ ? e_ : "(null)");                   \
        }                                                                     \
    } while (0)

#define diag(...)                                                             \
    do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)


__attribute__((unused)) static int
done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}


/* Path of a file in ../shared/vectors, from $VECTORS_DIR or the default. */

__attribute__((unused)) static const char *
tap_vector_path(const char *name)
{
    static char  path[4096];
    const char  *dir;

    dir = getenv("VECTORS_DIR");
    if (dir == NULL) {
        dir = "../shared/vectors";
    }

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    return path;
}


__attribute__((unused)) static char *
tap_slurp(const char *path, size_t *len)
{
    FILE    *f;
    char    *buf;
    long     n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc(n + 1);
    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        fclose(f);
        free(buf);
        return NULL;
    }

    buf[n] = '\0';
    fclose(f);

    if (len) {
        *len = n;
    }

    return buf;
}

#endif /* TAP_H */
