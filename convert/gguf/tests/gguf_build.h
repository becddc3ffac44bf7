/* gguf_build.h: GGUF bytes composed field by field in memory, for the reader's tests and its fuzz
 * seeds: valid files and files broken in one chosen place. */
#ifndef OPML_GGUF_BUILD_H
#define OPML_GGUF_BUILD_H

#include <stddef.h>
#include <stdint.h>

typedef struct gb {
    uint8_t *p;
    size_t n, cap;
} gb;

void gb_bytes(gb *b, const void *p, size_t n);
void gb_u32(gb *b, uint32_t v);
void gb_u64(gb *b, uint64_t v);
void gb_str(gb *b, const char *s); /* u64 length ++ bytes */
void gb_pad(gb *b, size_t align);  /* zero bytes up to a multiple of align */
void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv);
void gb_kv_u32(gb *b, const char *key, uint32_t v);
void gb_kv_str(gb *b, const char *key, const char *v);
void gb_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset);
void gb_free(gb *b);

/* The reference valid file: version 3, 14 key/values of every value type (see the .c) and two
 * tensors, "w" Q8_0 [32, 2] at offset 0 and "n" F32 [4] at offset 96, data filled with i % 251;
 * the file ends with the last tensor's bytes. */
void gb_valid(gb *b);

#endif
