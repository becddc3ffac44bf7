/* gguf_file.h: the GGUF file reader (interface 1 of issue 13): a GGUF file mapped read-only and
 * checked in full before anything is handed out, then metadata by key and tensors by name.
 *
 * The format (ggml's GGUF, versions 2 and 3; all integers little-endian, no padding between
 * fields):
 *   u32 magic "GGUF"   u32 version   u64 n_tensors   u64 n_kv
 *   n_kv key/values:   string key, u32 value type, value
 *   n_tensors infos:   string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset
 *   padding to general.alignment (u32, a power of two, default 32), then the data section;
 *   a tensor's bytes are at data section + offset.
 *   string = u64 length ++ that many bytes (no terminator);
 *   value = the scalar's bytes, a string, or for an array: u32 element type, u64 count, elements.
 *
 * What parsing guarantees (else it fails with a message naming the key/tensor and the offset):
 * magic, version 2 or 3, every length and count inside the file (a count is checked against the
 * bytes left before anything is allocated), known value types, no arrays of arrays, keys unique
 * and non-empty without NUL bytes, general.alignment a u32 power of two; tensor names unique,
 * 1..63 bytes, no NUL bytes; n_dims <= 4; the element count representable in int64; a known ggml
 * type with ne[0] a multiple of its block; offsets multiples of the alignment; every tensor's
 * bytes inside the data section and no two tensors' bytes overlapping. Lookups are O(log n).
 *
 * Preconditions: a little-endian host (opml's targets: x86-64, RV32). Strings from the file are
 * NOT NUL-terminated (gguf_str); keys and tensor names are (copies). */
#ifndef OPML_GGUF_FILE_H
#define OPML_GGUF_FILE_H

#include <stddef.h>
#include <stdint.h>

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME 64 /* a tensor name has at most GGUF_MAX_NAME - 1 bytes, as ggml requires */

/* Metadata value types. */
enum gguf_vtype {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
};

/* ggml tensor types that opml names (the full table of known types is in gguf_file.c). */
enum gguf_ggml_type {
    GGUF_T_F32 = 0,
    GGUF_T_F16 = 1,
    GGUF_T_Q4_0 = 2,
    GGUF_T_Q8_0 = 8,
    GGUF_T_Q4_K = 12,
    GGUF_T_BF16 = 30,
};
#define GGUF_QK8_0 32       /* values per Q8_0 block */
#define GGUF_Q8_0_BYTES 34  /* fp16 scale d ++ int8 q[32] */

/* A string in the mapped file: len bytes at p, not NUL-terminated. */
typedef struct gguf_str {
    const char *p;
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    char *key;          /* NUL-terminated copy */
    uint32_t type;      /* enum gguf_vtype; GGUF_TYPE_ARRAY for an array */
    uint32_t elem_type; /* the elements' type for an array, else == type */
    uint64_t n;         /* elements of an array; 1 for a scalar */
    const uint8_t *data; /* the value in the file: a scalar's bytes, a string's u64 length prefix,
                            an array's first element (for strings: the first length prefix) */
    uint64_t *str_at;    /* arrays of strings only: element i's length prefix is at data + str_at[i] */
} gguf_kv;

typedef struct gguf_tensor {
    char name[GGUF_MAX_NAME];
    uint32_t type;    /* ggml type */
    uint32_t n_dims;  /* 0..4 */
    uint64_t ne[GGUF_MAX_DIMS]; /* ne[0] varies fastest (a row); 1 past n_dims */
    uint64_t nelem;
    uint64_t offset;  /* from the data section's start */
    uint64_t nbytes;
    const uint8_t *data; /* nbytes in the mapped file */
} gguf_tensor;

typedef struct gguf_file {
    uint32_t version, alignment;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;          /* in file order */
    gguf_tensor *tensors; /* in file order */
    uint64_t data_offset; /* the data section's offset in the file */
    const uint8_t *base;  /* the whole file */
    size_t size;
    /* private */
    gguf_kv **kv_sorted;
    gguf_tensor **tensor_sorted;
    int mapped;
} gguf_file;

/* Map the file at path read-only and parse it. Returns 0, or -1 with the reason in err (g is
 * then empty; gguf_close on it is harmless). */
int gguf_open(const char *path, gguf_file *g, char *err, size_t errlen);
/* Parse len bytes at buf, which must stay valid and unchanged until gguf_close. 0 or -1 + err. */
int gguf_parse(const uint8_t *buf, size_t len, gguf_file *g, char *err, size_t errlen);
/* Frees the tables and unmaps a file that gguf_open mapped. */
void gguf_close(gguf_file *g);

/* Tensor by name, NULL if absent. */
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);
/* Key/value by key, NULL if absent. */
const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key);

/* Typed lookups: 0, or -1 with a message naming the key when it is absent or of another type.
 * gguf_get_uint accepts any integer type whose value is in [0, max]; gguf_get_int any integer type
 * within int64; gguf_get_float FLOAT32 or FLOAT64; gguf_get_bool BOOL (any non-zero byte is 1). */
int gguf_get_uint(const gguf_file *g, const char *key, uint64_t max, uint64_t *out, char *err, size_t errlen);
int gguf_get_int(const gguf_file *g, const char *key, int64_t *out, char *err, size_t errlen);
int gguf_get_float(const gguf_file *g, const char *key, double *out, char *err, size_t errlen);
int gguf_get_bool(const gguf_file *g, const char *key, int *out, char *err, size_t errlen);
int gguf_get_str(const gguf_file *g, const char *key, gguf_str *out, char *err, size_t errlen);
/* An array whose elements are of elem_type. */
int gguf_get_arr(const gguf_file *g, const char *key, uint32_t elem_type, const gguf_kv **out, char *err,
                 size_t errlen);

/* Scalar values and array elements; precondition: i < kv->n (i = 0 for a scalar).
 * gguf_val_int: 0 and *out for any integer type whose value fits int64, else -1.
 * gguf_val_f64: precondition: FLOAT32 or FLOAT64. gguf_val_f32: precondition: FLOAT32.
 * gguf_val_str: precondition: STRING. */
int gguf_val_int(const gguf_kv *kv, uint64_t i, int64_t *out);
double gguf_val_f64(const gguf_kv *kv, uint64_t i);
float gguf_val_f32(const gguf_kv *kv, uint64_t i);
gguf_str gguf_val_str(const gguf_kv *kv, uint64_t i);
/* Element i's raw bytes (little-endian value, or a string's bytes without the length prefix). */
gguf_str gguf_val_raw(const gguf_kv *kv, uint64_t i);

/* Metadata value type: its name ("u32", "string", ...) and its size in bytes (0 for strings and
 * arrays); NULL / 0 when unknown. */
const char *gguf_vtype_name(uint32_t t);
size_t gguf_vtype_size(uint32_t t);
/* ggml tensor type: its name ("F32", "Q8_0", "Q4_K", ...), NULL when unknown to this reader; and
 * its block (values per block, bytes per block), 0 when unknown. */
const char *gguf_ggml_type_name(uint32_t type);
int gguf_ggml_type_block(uint32_t type, uint32_t *blck, uint32_t *bytes);

#endif
