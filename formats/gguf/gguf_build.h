/* gguf_build.h: GGUF bytes composed field by field in memory: the header, key/values and tensor
 * infos of a file a tool writes (tools/mkgguf), and in the tests valid files and files broken in
 * one chosen place. No checks: what is composed is what the caller asked for (gguf_file.c is the
 * one that checks). All integers little-endian (the host's order; opml's hosts are little-endian). */
#ifndef OPML_GGUF_BUILD_H
#define OPML_GGUF_BUILD_H

#include <stddef.h>
#include <stdint.h>

typedef struct gb {
    uint8_t *p;
    size_t n, cap;
    int oom; /* set when memory ran out: later writes are dropped; check it once at the end */
} gb;

void gb_bytes(gb *b, const void *p, size_t n);
void gb_u32(gb *b, uint32_t v);
void gb_u64(gb *b, uint64_t v);
void gb_str(gb *b, const char *s);                   /* u64 length ++ bytes */
void gb_strn(gb *b, const char *s, uint64_t len);    /* the same for len bytes at s */
void gb_pad(gb *b, size_t align);                    /* zero bytes up to a multiple of align */
void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv);
void gb_kv_u32(gb *b, const char *key, uint32_t v);
void gb_kv_f32(gb *b, const char *key, float v);
void gb_kv_bool(gb *b, const char *key, int v);
void gb_kv_str(gb *b, const char *key, const char *v);
/* The key and an array header (element type, count); the caller writes the n elements. */
void gb_kv_arr(gb *b, const char *key, uint32_t elem_type, uint64_t n);
void gb_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset);
void gb_free(gb *b);
/* Writes the bytes composed to path (created or truncated): 0, or -1 when b ran out of memory or
 * the file cannot be written. */
int gb_write_file(const gb *b, const char *path);

#endif
