/* chainerr.h: how every chainwatch function reports a failure: a sentence in the caller's
 * (err, errlen) buffer, and -1. err may be NULL or errlen 0 when the caller does not want it. */
#ifndef OPML_CHAIN_CHAINERR_H
#define OPML_CHAIN_CHAINERR_H

#include <stddef.h>

/* Formats into err and returns -1, so that `return chain_err(err, errlen, "...")` reads well. */
int chain_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
