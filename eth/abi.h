/* abi.h: the Solidity contract ABI (https://docs.soliditylang.org/en/latest/abi-spec.html):
 * types parsed from a JSON ABI parameter ({"type", "components"}), and values encoded and decoded
 * as JSON:
 *   uintN, intN  a string, decimal or 0x hex ("-" allowed for intN), or an integer JSON number
 *                below 2^53 in magnitude; decoded as a decimal string
 *   address      "0x" + 40 hex digits (decoded lower case)
 *   bool         true / false
 *   bytesN       "0x" + 2N hex digits; bytes: "0x" + any even number of hex digits
 *   string       a JSON string
 *   T[k], T[]    a JSON array (exactly k elements for T[k])
 *   tuple        a JSON array in component order, or an object by component name; decoded as an
 *                object when every component has a name, else as an array
 * Decoding is strict about the untrusted input: every offset and length is bounds-checked, and a
 * static value whose padding is not clean (a uint8 above 255, an address with high bytes set, a bool
 * other than 0 or 1) is rejected. */
#ifndef OPML_CHAIN_ABI_H
#define OPML_CHAIN_ABI_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef enum abi_kind {
    ABI_UINT,
    ABI_INT,
    ABI_ADDRESS,
    ABI_BOOL,
    ABI_BYTESN,
    ABI_BYTES,
    ABI_STRING,
    ABI_ARRAY,
    ABI_TUPLE,
} abi_kind;

typedef struct abi_type abi_type;
struct abi_type {
    abi_kind kind;
    unsigned size;       /* bits for UINT/INT, N for BYTESN */
    long length;         /* ARRAY: element count, -1 for T[] */
    abi_type *elem;      /* ARRAY */
    size_t nfields;      /* TUPLE */
    abi_type **fields;
    char **names;        /* TUPLE: component names ("" when unnamed) */
    char *canonical;     /* the type as a selector spells it: "(uint64,bytes32)[2]" */
};

/* The type of one JSON ABI parameter object. Returns NULL with a reason in err. */
abi_type *abi_type_parse(const cJSON *param, char *err, size_t errlen);
/* The tuple type of a parameter list (a function's inputs or outputs); NULL list is empty. */
abi_type *abi_tuple_parse(const cJSON *params, char *err, size_t errlen);
void abi_type_free(abi_type *t);

int abi_is_dynamic(const abi_type *t);

/* Encodes value (JSON as above) of type t in the ABI's standard encoding; for a function call pass
 * the inputs tuple and an array (or object) of arguments. *out is malloc'd. Returns 0, or -1 with
 * a reason in err naming the offending value. */
int abi_encode(const abi_type *t, const cJSON *value, uint8_t **out, size_t *len, char *err, size_t errlen);

/* Decodes data (len bytes) as one value of type t (pass a tuple to decode a parameter list).
 * Returns a new cJSON value, or NULL with a reason in err. */
cJSON *abi_decode(const abi_type *t, const uint8_t *data, size_t len, char *err, size_t errlen);

/* Decodes one static value from a 32-byte word (an indexed event topic). NULL on error. */
cJSON *abi_decode_word(const abi_type *t, const uint8_t word[32], char *err, size_t errlen);

#endif
