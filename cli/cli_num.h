/* cli_num.h: the one parser of the `opml` tool's number flags (--k, --steps-log2, --model-id,
 * --timeout, -n, --ctx, --seed, ...): every command takes a number the same way and refuses a bad
 * one the same way, before it opens, loads or sends anything.
 *
 * A number is whole and decimal: one or more ASCII digits and nothing else. No sign ("-1" would
 * otherwise wrap to 2^64 - 1 through strtoull, "+1" is not how a count is written), no spaces, no
 * base prefix, no trailing characters ("12x"), not empty, not past 64 bits, and inside the flag's
 * range [lo, hi]. Floats (temperatures, divisors) are strtof's whole-string forms. */
#ifndef OPML_CLI_NUM_H
#define OPML_CLI_NUM_H

#include <stddef.h>
#include <stdint.h>

/* s as a whole decimal number in [lo, hi] into *out (left untouched on failure). 0 or -1. */
int cli_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
int cli_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);
/* s as a whole float (strtof: sign, decimals, exponent, inf, nan) into *out. 0 or -1. */
int cli_parse_float(const char *s, float *out);

/* cli_parse_u64 for the value s of option `flag`: 0, or -1 with the reason in err naming the flag,
 * the value and the range:  --k '1' is not a whole number from 2 to 64 */
int cli_flag_check(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out, char *err,
                   size_t errlen);
/* cli_flag_check for option `flag` of command `cmd`, a bad value reported on stderr:
 *   opml register: --k '1' is not a whole number from 2 to 64
 * 0, or -1 after the report. */
int cli_flag_u64(const char *cmd, const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
int cli_flag_u32(const char *cmd, const char *flag, const char *s, uint32_t lo, uint32_t hi, uint32_t *out);

#endif
