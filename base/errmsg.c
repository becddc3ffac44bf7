/* errmsg.c: see errmsg.h. */
#include "errmsg.h"

#include <stdio.h>

int opml_verrc(char *err, size_t errlen, int code, const char *fmt, va_list ap) {
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    return code;
}

int opml_errc(char *err, size_t errlen, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    opml_verrc(err, errlen, code, fmt, ap);
    va_end(ap);
    return code;
}

int opml_errf(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    opml_verrc(err, errlen, -1, fmt, ap);
    va_end(ap);
    return -1;
}
