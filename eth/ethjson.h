/* ethjson.h: Ethereum's JSON-RPC encodings of values, checked strictly because the node's reply
 * is untrusted input. A quantity is "0x" + hex digits (at most 16 for 64 bits, 64 for u256); data
 * is "0x" + an even number of hex digits. Each reader returns 0, or -1 if the value is missing or
 * of the wrong shape, so that callers can report a malformed reply instead of misreading it. */
#ifndef OPML_CHAIN_ETHJSON_H
#define OPML_CHAIN_ETHJSON_H

#include "u256.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

int ej_quantity(const cJSON *v, uint64_t *out);
/* Exactly len bytes. */
int ej_data_fixed(const cJSON *v, uint8_t *out, size_t len);
/* Any length; *out is malloc'd (non-NULL even when empty) and owned by the caller. */
int ej_data(const cJSON *v, uint8_t **out, size_t *len);

/* The member `key` of object o (NULL if o is not an object or lacks it). */
const cJSON *ej_get(const cJSON *o, const char *key);

/* New JSON strings (NULL when out of memory). */
cJSON *ej_new_quantity(uint64_t v);
cJSON *ej_new_quantity256(const u256 *v);
cJSON *ej_new_data(const uint8_t *data, size_t len);

/* Variable-length hex text (with or without 0x) to bytes: *out malloc'd. Returns 0 or -1. */
int hex_to_bytes(const char *text, uint8_t **out, size_t *len);

#endif
