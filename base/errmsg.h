/* errmsg.h: the one way opml functions report why they failed: a message written into the
 * caller's buffer, and -1 returned, so that `return opml_errf(err, errlen, "...", ...);` reads as
 * the failure it is. */
#ifndef OPML_ERRMSG_H
#define OPML_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (truncated to errlen; nothing written when err is NULL or errlen
 * is 0) and returns -1. */
int opml_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
