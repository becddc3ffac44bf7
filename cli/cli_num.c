/* cli_num.c: the number flags of the `opml` tool (see cli_num.h). */
#include "cli_num.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* room for a message: the flag, the value (cut to fit) and two 20-digit bounds */
#define CLI_NUM_ERR_BYTES 300

int cli_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    if (!s || !*s) return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return -1; /* past 64 bits */
        v = v * 10 + d;
    }
    if (v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
    uint64_t v;
    if (cli_parse_u64(s, lo, hi, &v)) return -1;
    *out = (uint32_t)v;
    return 0;
}

int cli_parse_float(const char *s, float *out) {
    char *end;
    *out = strtof(s, &end);
    return *s && !*end ? 0 : -1;
}

int cli_flag_check(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out, char *err,
                   size_t errlen) {
    if (!cli_parse_u64(s, lo, hi, out)) return 0;
    snprintf(err, errlen, "%s '%s' is not a whole number from %" PRIu64 " to %" PRIu64, flag, s ? s : "", lo, hi);
    return -1;
}

int cli_flag_u64(const char *cmd, const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    char err[CLI_NUM_ERR_BYTES];
    if (!cli_flag_check(flag, s, lo, hi, out, err, sizeof err)) return 0;
    fprintf(stderr, "opml %s: %s\n", cmd, err);
    return -1;
}

int cli_flag_u32(const char *cmd, const char *flag, const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
    uint64_t v;
    if (cli_flag_u64(cmd, flag, s, lo, hi, &v)) return -1;
    *out = (uint32_t)v;
    return 0;
}
