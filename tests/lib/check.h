/* check.h: the few assertion macros every opml C test uses. A failed CHECK prints where and why
 * and counts; a test's main returns check_summary(), non-zero when anything failed. */
#ifndef OPML_CHECK_H
#define OPML_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long check_a_ = (long long)(a), check_b_ = (long long)(b); check_count++; \
    if (check_a_ != check_b_) { check_failures++; fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
    __FILE__, __LINE__, #a, #b, check_a_, check_b_); } } while (0)
#define CHECK_MEM(a, b, n) do { check_count++; if (memcmp((a), (b), (n)) != 0) { check_failures++; \
    fprintf(stderr, "%s:%d: bytes of %s and %s differ\n", __FILE__, __LINE__, #a, #b); } } while (0)

static inline int check_summary(const char *name) {
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
