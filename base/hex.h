/* hex.h: 0x-prefixed hex for hashes, keys and addresses in logs, JSON and tests. */
#ifndef OPML_HEX_H
#define OPML_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes "0x" + 2*len lowercase hex digits + NUL into out (room for 2*len + 3 bytes). */
void hex_encode(const void *data, size_t len, char *out);

/* Parses exactly `len` bytes from hex (with or without "0x", either case). Returns 0, or -1 if the
 * text is not exactly 2*len hex digits. */
int hex_decode(const char *hex, void *out, size_t len);

#endif
