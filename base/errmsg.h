/* errmsg.h: the one way opml functions report why they failed: a message written into the
 * caller's buffer, and an error value returned, so that `return opml_errf(err, errlen, "...", ...);`
 * reads as the failure it is. opml_errf returns -1; opml_errc returns the caller's error code
 * (OPML_E_*, STORE_E_*, ...); opml_verrc is for a helper that adds its own context (a node's name,
 * a status) around the caller's format. Every one of them formats through opml_verrc. */
#ifndef OPML_ERRMSG_H
#define OPML_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>

/* Formats the message into err (truncated to errlen; nothing written when err is NULL or errlen
 * is 0) and returns code. */
int opml_verrc(char *err, size_t errlen, int code, const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
/* opml_verrc with the arguments inline. */
int opml_errc(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* opml_errc returning -1. */
int opml_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
