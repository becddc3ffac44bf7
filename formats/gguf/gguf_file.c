/* gguf_file.c: the GGUF reader (gguf_file.h). One pass over the header with a bounds-checked
 * cursor (every read checks the bytes left first; every count is compared with the bytes left
 * before it sizes an allocation, so a hostile count fails fast instead of allocating), then the
 * checks that need the whole table (unique keys and names, alignment, tensors inside the data
 * section and disjoint) on sorted copies of the tables, which also serve the lookups. */
#include "gguf_file.h"

#include "errmsg.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The fewest bytes a key/value and a tensor info can take (an empty-array value is 12 bytes, a u8
 * 1; a key or name has at least one byte), so that a count is refused before any allocation when
 * the bytes left cannot hold it. */
#define GGUF_MIN_KV_BYTES (8 + 1 + 4 + 1)
#define GGUF_MIN_TENSOR_BYTES (8 + 1 + 4 + 4 + 8)
#define GGUF_STR_PREFIX 8

typedef struct cursor {
    const uint8_t *p;
    size_t len, off;
} cursor;

static size_t left(const cursor *c) { return c->len - c->off; }

static int rd_u32(cursor *c, uint32_t *v) {
    if (left(c) < 4) return -1;
    memcpy(v, c->p + c->off, 4);
    c->off += 4;
    return 0;
}

static int rd_u64(cursor *c, uint64_t *v) {
    if (left(c) < 8) return -1;
    memcpy(v, c->p + c->off, 8);
    c->off += 8;
    return 0;
}

/* A string: its u64 length then the bytes; -1 when either runs past the end. */
static int rd_str(cursor *c, gguf_str *s) {
    uint64_t n;
    if (rd_u64(c, &n) != 0 || n > left(c)) return -1;
    s->p = (const char *)(c->p + c->off);
    s->len = n;
    c->off += (size_t)n;
    return 0;
}

static const struct {
    const char *name;
    size_t size;
} vtypes[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = {"u8", 1},     [GGUF_TYPE_INT8] = {"i8", 1},    [GGUF_TYPE_UINT16] = {"u16", 2},
    [GGUF_TYPE_INT16] = {"i16", 2},    [GGUF_TYPE_UINT32] = {"u32", 4}, [GGUF_TYPE_INT32] = {"i32", 4},
    [GGUF_TYPE_FLOAT32] = {"f32", 4},  [GGUF_TYPE_BOOL] = {"bool", 1},  [GGUF_TYPE_STRING] = {"string", 0},
    [GGUF_TYPE_ARRAY] = {"array", 0},  [GGUF_TYPE_UINT64] = {"u64", 8}, [GGUF_TYPE_INT64] = {"i64", 8},
    [GGUF_TYPE_FLOAT64] = {"f64", 8},
};

const char *gguf_vtype_name(uint32_t t) { return t < GGUF_TYPE_COUNT ? vtypes[t].name : NULL; }
size_t gguf_vtype_size(uint32_t t) { return t < GGUF_TYPE_COUNT ? vtypes[t].size : 0; }

/* ggml's tensor types as GGUF files number them (ggml.h), with ggml's block geometry
 * (ggml-common.h): values per block and bytes per block. Numbers ggml removed are absent. */
static const struct {
    const char *name;
    uint32_t blck, bytes;
} ggml_types[] = {
    [0] = {"F32", 1, 4},        [1] = {"F16", 1, 2},         [2] = {"Q4_0", 32, 18},     [3] = {"Q4_1", 32, 20},
    [6] = {"Q5_0", 32, 22},     [7] = {"Q5_1", 32, 24},      [8] = {"Q8_0", 32, 34},     [9] = {"Q8_1", 32, 36},
    [10] = {"Q2_K", 256, 84},   [11] = {"Q3_K", 256, 110},   [12] = {"Q4_K", 256, 144},  [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},  [15] = {"Q8_K", 256, 292},   [16] = {"IQ2_XXS", 256, 66}, [17] = {"IQ2_XS", 256, 74},
    [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},  [20] = {"IQ4_NL", 32, 18},  [21] = {"IQ3_S", 256, 110},
    [22] = {"IQ2_S", 256, 82},  [23] = {"IQ4_XS", 256, 136}, [24] = {"I8", 1, 1},        [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},       [27] = {"I64", 1, 8},        [28] = {"F64", 1, 8},       [29] = {"IQ1_M", 256, 56},
    [30] = {"BF16", 1, 2},      [34] = {"TQ1_0", 256, 54},   [35] = {"TQ2_0", 256, 66},  [39] = {"MXFP4", 32, 17},
};
#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

const char *gguf_ggml_type_name(uint32_t type) { return type < N_GGML_TYPES ? ggml_types[type].name : NULL; }

int gguf_ggml_type_block(uint32_t type, uint32_t *blck, uint32_t *bytes) {
    if (type >= N_GGML_TYPES || !ggml_types[type].name) return -1;
    *blck = ggml_types[type].blck;
    *bytes = ggml_types[type].bytes;
    return 0;
}

/* Printable prefix of a string from the file, for messages: bytes outside 0x20..0x7e become '?'. */
static const char *printable(const char *p, uint64_t len, char buf[48]) {
    size_t n = len < 40 ? (size_t)len : 40;
    for (size_t i = 0; i < n; i++) buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
    strcpy(buf + n, len > n ? "..." : "");
    return buf;
}

/* The value of key/value k (its key already read) at the cursor. */
static int parse_value(cursor *c, gguf_kv *k, char *err, size_t errlen) {
    size_t at = c->off;
    if (rd_u32(c, &k->type) != 0) return opml_errf(err, errlen, "key '%s': value type past the end", k->key);
    if (k->type >= GGUF_TYPE_COUNT)
        return opml_errf(err, errlen, "key '%s': unknown value type %" PRIu32 " at offset %zu", k->key, k->type, at);
    k->elem_type = k->type;
    k->n = 1;
    if (k->type == GGUF_TYPE_ARRAY) {
        if (rd_u32(c, &k->elem_type) != 0 || rd_u64(c, &k->n) != 0)
            return opml_errf(err, errlen, "key '%s': array header past the end", k->key);
        if (k->elem_type >= GGUF_TYPE_COUNT)
            return opml_errf(err, errlen, "key '%s': unknown array element type %" PRIu32, k->key, k->elem_type);
        if (k->elem_type == GGUF_TYPE_ARRAY)
            return opml_errf(err, errlen, "key '%s': arrays of arrays are not supported", k->key);
    }
    k->data = c->p + c->off;
    if (k->elem_type != GGUF_TYPE_STRING) {
        size_t sz = vtypes[k->elem_type].size;
        if (k->n > left(c) / sz)
            return opml_errf(err, errlen, "key '%s': %" PRIu64 " values of type %s run past the end of the file",
                             k->key, k->n, vtypes[k->elem_type].name);
        c->off += (size_t)k->n * sz;
        return 0;
    }
    if (k->type != GGUF_TYPE_ARRAY) {
        gguf_str s;
        if (rd_str(c, &s) != 0) return opml_errf(err, errlen, "key '%s': string value past the end", k->key);
        return 0;
    }
    if (k->n > left(c) / GGUF_STR_PREFIX)
        return opml_errf(err, errlen, "key '%s': %" PRIu64 " strings cannot fit in the %zu bytes left", k->key, k->n,
                         left(c));
    k->str_at = malloc((size_t)(k->n ? k->n : 1) * sizeof *k->str_at);
    if (!k->str_at) return opml_errf(err, errlen, "key '%s': out of memory", k->key);
    size_t start = c->off;
    for (uint64_t i = 0; i < k->n; i++) {
        gguf_str s;
        k->str_at[i] = c->off - start;
        if (rd_str(c, &s) != 0)
            return opml_errf(err, errlen, "key '%s': string %" PRIu64 " of %" PRIu64 " runs past the end", k->key, i,
                             k->n);
    }
    return 0;
}

static int parse_kvs(cursor *c, gguf_file *g, char *err, size_t errlen) {
    if (g->n_kv > left(c) / GGUF_MIN_KV_BYTES)
        return opml_errf(err, errlen, "%" PRIu64 " key/values cannot fit in the %zu bytes left", g->n_kv, left(c));
    g->kv = calloc((size_t)(g->n_kv ? g->n_kv : 1), sizeof *g->kv);
    if (!g->kv) return opml_errf(err, errlen, "out of memory");
    for (uint64_t i = 0; i < g->n_kv; i++) {
        gguf_kv *k = &g->kv[i];
        gguf_str key;
        size_t at = c->off;
        if (rd_str(c, &key) != 0)
            return opml_errf(err, errlen, "key/value %" PRIu64 ": key runs past the end (offset %zu)", i, at);
        if (key.len == 0) return opml_errf(err, errlen, "key/value %" PRIu64 ": empty key", i);
        if (memchr(key.p, 0, (size_t)key.len))
            return opml_errf(err, errlen, "key/value %" PRIu64 ": key contains a NUL byte", i);
        k->key = malloc((size_t)key.len + 1);
        if (!k->key) return opml_errf(err, errlen, "out of memory");
        memcpy(k->key, key.p, (size_t)key.len);
        k->key[key.len] = 0;
        if (parse_value(c, k, err, errlen) != 0) return -1;
    }
    return 0;
}

/* Shape, type and byte size of tensor t (name read). */
static int parse_tensor_shape(cursor *c, gguf_tensor *t, char *err, size_t errlen) {
    if (rd_u32(c, &t->n_dims) != 0) return opml_errf(err, errlen, "tensor '%s': n_dims past the end", t->name);
    if (t->n_dims > GGUF_MAX_DIMS)
        return opml_errf(err, errlen, "tensor '%s': %" PRIu32 " dimensions (at most %d)", t->name, t->n_dims,
                         GGUF_MAX_DIMS);
    t->nelem = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d < t->n_dims && rd_u64(c, &t->ne[d]) != 0)
            return opml_errf(err, errlen, "tensor '%s': dimensions past the end", t->name);
        /* ggml keeps counts in int64: the product must stay below INT64_MAX */
        if (t->ne[d] > (uint64_t)INT64_MAX || (t->ne[d] && t->nelem > (uint64_t)INT64_MAX / t->ne[d]))
            return opml_errf(err, errlen, "tensor '%s': element count overflows int64", t->name);
        t->nelem *= t->ne[d];
    }
    if (rd_u32(c, &t->type) != 0) return opml_errf(err, errlen, "tensor '%s': type past the end", t->name);
    uint32_t blck, bytes;
    if (gguf_ggml_type_block(t->type, &blck, &bytes) != 0)
        return opml_errf(err, errlen, "tensor '%s': unknown ggml type %" PRIu32, t->name, t->type);
    if (t->ne[0] % blck)
        return opml_errf(err, errlen, "tensor '%s': row of %" PRIu64 " values is not a multiple of %s's block of %" PRIu32,
                         t->name, t->ne[0], ggml_types[t->type].name, blck);
    uint64_t blocks = t->nelem / blck;
    if (blocks > UINT64_MAX / bytes) return opml_errf(err, errlen, "tensor '%s': byte size overflows", t->name);
    t->nbytes = blocks * bytes;
    return 0;
}

static int parse_tensor_infos(cursor *c, gguf_file *g, char *err, size_t errlen) {
    if (g->n_tensors > left(c) / GGUF_MIN_TENSOR_BYTES)
        return opml_errf(err, errlen, "%" PRIu64 " tensor infos cannot fit in the %zu bytes left", g->n_tensors,
                         left(c));
    g->tensors = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof *g->tensors);
    if (!g->tensors) return opml_errf(err, errlen, "out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        gguf_str name;
        char pb[48];
        size_t at = c->off;
        if (rd_str(c, &name) != 0)
            return opml_errf(err, errlen, "tensor %" PRIu64 ": name runs past the end (offset %zu)", i, at);
        if (name.len == 0 || name.len >= GGUF_MAX_NAME)
            return opml_errf(err, errlen, "tensor %" PRIu64 ": name of %" PRIu64 " bytes ('%s'; 1 to %d allowed)", i,
                             name.len, printable(name.p, name.len, pb), GGUF_MAX_NAME - 1);
        if (memchr(name.p, 0, (size_t)name.len))
            return opml_errf(err, errlen, "tensor %" PRIu64 ": name contains a NUL byte", i);
        memcpy(t->name, name.p, (size_t)name.len);
        t->name[name.len] = 0;
        if (parse_tensor_shape(c, t, err, errlen) != 0) return -1;
        if (rd_u64(c, &t->offset) != 0) return opml_errf(err, errlen, "tensor '%s': offset past the end", t->name);
    }
    return 0;
}

static int cmp_kv(const void *a, const void *b) {
    return strcmp((*(gguf_kv *const *)a)->key, (*(gguf_kv *const *)b)->key);
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(gguf_tensor *const *)a)->name, (*(gguf_tensor *const *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b) {
    const gguf_tensor *x = *(gguf_tensor *const *)a, *y = *(gguf_tensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* Sorted views, unique keys and names, general.alignment. */
static int check_tables(gguf_file *g, char *err, size_t errlen) {
    g->kv_sorted = malloc((size_t)(g->n_kv ? g->n_kv : 1) * sizeof *g->kv_sorted);
    g->tensor_sorted = malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof *g->tensor_sorted);
    if (!g->kv_sorted || !g->tensor_sorted) return opml_errf(err, errlen, "out of memory");
    for (uint64_t i = 0; i < g->n_kv; i++) g->kv_sorted[i] = &g->kv[i];
    for (uint64_t i = 0; i < g->n_tensors; i++) g->tensor_sorted[i] = &g->tensors[i];
    qsort(g->kv_sorted, (size_t)g->n_kv, sizeof *g->kv_sorted, cmp_kv);
    qsort(g->tensor_sorted, (size_t)g->n_tensors, sizeof *g->tensor_sorted, cmp_tensor_name);
    for (uint64_t i = 1; i < g->n_kv; i++)
        if (strcmp(g->kv_sorted[i - 1]->key, g->kv_sorted[i]->key) == 0)
            return opml_errf(err, errlen, "duplicate key '%s'", g->kv_sorted[i]->key);
    for (uint64_t i = 1; i < g->n_tensors; i++)
        if (strcmp(g->tensor_sorted[i - 1]->name, g->tensor_sorted[i]->name) == 0)
            return opml_errf(err, errlen, "duplicate tensor name '%s'", g->tensor_sorted[i]->name);
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *a = gguf_find_kv(g, "general.alignment");
    if (a) {
        if (a->type != GGUF_TYPE_UINT32)
            return opml_errf(err, errlen, "general.alignment is a %s, not a u32", vtypes[a->type].name);
        memcpy(&g->alignment, a->data, 4);
        if (g->alignment == 0 || (g->alignment & (g->alignment - 1)))
            return opml_errf(err, errlen, "general.alignment %" PRIu32 " is not a power of two", g->alignment);
    }
    return 0;
}

/* Data section after the header, each tensor aligned, inside it and disjoint from the others. */
static int check_data(gguf_file *g, size_t header_end, char *err, size_t errlen) {
    uint64_t start = ((uint64_t)header_end + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors == 0) {
        g->data_offset = start < g->size ? start : g->size;
        return 0;
    }
    if (start > g->size)
        return opml_errf(err, errlen, "data section at %" PRIu64 " starts past the end of the %zu-byte file", start,
                         g->size);
    g->data_offset = start;
    uint64_t data_size = g->size - start;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment)
            return opml_errf(err, errlen, "tensor '%s': offset %" PRIu64 " is not a multiple of the alignment %" PRIu32,
                             t->name, t->offset, g->alignment);
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return opml_errf(err, errlen,
                             "tensor '%s': %" PRIu64 " bytes at offset %" PRIu64 " run past the data section (%" PRIu64
                             " bytes)",
                             t->name, t->nbytes, t->offset, data_size);
        t->data = g->base + start + t->offset;
    }
    gguf_tensor **by_off = malloc((size_t)g->n_tensors * sizeof *by_off);
    if (!by_off) return opml_errf(err, errlen, "out of memory");
    memcpy(by_off, g->tensor_sorted, (size_t)g->n_tensors * sizeof *by_off);
    qsort(by_off, (size_t)g->n_tensors, sizeof *by_off, cmp_tensor_offset);
    /* sorted by offset, a tensor overlaps an earlier one iff it starts before the furthest end so
     * far (empty tensors occupy nothing) */
    int rc = 0;
    const gguf_tensor *furthest = NULL;
    for (uint64_t i = 0; i < g->n_tensors && rc == 0; i++) {
        const gguf_tensor *t = by_off[i];
        if (t->nbytes == 0) continue;
        if (furthest && t->offset < furthest->offset + furthest->nbytes)
            rc = opml_errf(err, errlen, "tensors '%s' and '%s' overlap (offsets %" PRIu64 " and %" PRIu64 ")",
                           furthest->name, t->name, furthest->offset, t->offset);
        if (!furthest || t->offset + t->nbytes > furthest->offset + furthest->nbytes) furthest = t;
    }
    free(by_off);
    return rc;
}

int gguf_parse(const uint8_t *buf, size_t len, gguf_file *g, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    g->base = buf;
    g->size = len;
    cursor c = {buf, len, 0};
    char e[256];
    int rc = -1;
    c.off = 4; /* the magic */
    if (len < 4 || memcmp(buf, GGUF_MAGIC, 4) != 0) {
        opml_errf(e, sizeof e, "not a GGUF file (no \"GGUF\" magic)");
    } else if (rd_u32(&c, &g->version) != 0 || rd_u64(&c, &g->n_tensors) != 0 || rd_u64(&c, &g->n_kv) != 0) {
        opml_errf(e, sizeof e, "header truncated (%zu bytes)", len);
    } else if (g->version != 2 && g->version != 3) {
        opml_errf(e, sizeof e, "GGUF version %" PRIu32 " (2 and 3 are supported)", g->version);
    } else if (parse_kvs(&c, g, e, sizeof e) == 0 && parse_tensor_infos(&c, g, e, sizeof e) == 0 &&
               check_tables(g, e, sizeof e) == 0 && check_data(g, c.off, e, sizeof e) == 0) {
        rc = 0;
    }
    if (rc != 0) {
        gguf_close(g);
        return opml_errf(err, errlen, "gguf: %s", e);
    }
    return 0;
}

int gguf_open(const char *path, gguf_file *g, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return opml_errf(err, errlen, "gguf: cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return opml_errf(err, errlen, "gguf: %s is not a regular file", path);
    }
    if (st.st_size < 4) {
        close(fd);
        return opml_errf(err, errlen, "gguf: %s: not a GGUF file (%lld bytes)", path, (long long)st.st_size);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return opml_errf(err, errlen, "gguf: cannot map %s", path);
    char e[300];
    if (gguf_parse(m, (size_t)st.st_size, g, e, sizeof e) != 0) {
        munmap(m, (size_t)st.st_size);
        return opml_errf(err, errlen, "%s: %s", path, e);
    }
    g->mapped = 1;
    return 0;
}

void gguf_close(gguf_file *g) {
    if (g->kv)
        for (uint64_t i = 0; i < g->n_kv; i++) {
            free(g->kv[i].key);
            free(g->kv[i].str_at);
        }
    free(g->kv);
    free(g->tensors);
    free(g->kv_sorted);
    free(g->tensor_sorted);
    if (g->mapped) munmap((void *)g->base, g->size);
    memset(g, 0, sizeof *g);
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
    size_t lo = 0, hi = (size_t)g->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->tensor_sorted[mid]->name, name);
        if (c == 0) return g->tensor_sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key) {
    size_t lo = 0, hi = (size_t)g->n_kv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->kv_sorted[mid]->key, key);
        if (c == 0) return g->kv_sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

gguf_str gguf_val_raw(const gguf_kv *kv, uint64_t i) {
    gguf_str s;
    if (kv->elem_type == GGUF_TYPE_STRING) {
        const uint8_t *at = kv->data + (kv->str_at ? kv->str_at[i] : 0);
        memcpy(&s.len, at, 8);
        s.p = (const char *)at + GGUF_STR_PREFIX;
    } else {
        size_t sz = vtypes[kv->elem_type].size;
        s.p = (const char *)kv->data + i * sz;
        s.len = sz;
    }
    return s;
}

int gguf_val_int(const gguf_kv *kv, uint64_t i, int64_t *out) {
    gguf_str r = gguf_val_raw(kv, i);
    switch (kv->elem_type) {
    case GGUF_TYPE_UINT8: *out = *(const uint8_t *)r.p; return 0;
    case GGUF_TYPE_INT8: *out = *(const int8_t *)r.p; return 0;
    case GGUF_TYPE_UINT16: { uint16_t v; memcpy(&v, r.p, 2); *out = v; return 0; }
    case GGUF_TYPE_INT16: { int16_t v; memcpy(&v, r.p, 2); *out = v; return 0; }
    case GGUF_TYPE_UINT32: { uint32_t v; memcpy(&v, r.p, 4); *out = v; return 0; }
    case GGUF_TYPE_INT32: { int32_t v; memcpy(&v, r.p, 4); *out = v; return 0; }
    case GGUF_TYPE_INT64: memcpy(out, r.p, 8); return 0;
    case GGUF_TYPE_UINT64: {
        uint64_t v;
        memcpy(&v, r.p, 8);
        if (v > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)v;
        return 0;
    }
    default: return -1;
    }
}

double gguf_val_f64(const gguf_kv *kv, uint64_t i) {
    gguf_str r = gguf_val_raw(kv, i);
    if (kv->elem_type == GGUF_TYPE_FLOAT32) {
        float f;
        memcpy(&f, r.p, 4);
        return f;
    }
    double d;
    memcpy(&d, r.p, 8);
    return d;
}

float gguf_val_f32(const gguf_kv *kv, uint64_t i) {
    float f;
    memcpy(&f, kv->data + 4 * i, 4);
    return f;
}

gguf_str gguf_val_str(const gguf_kv *kv, uint64_t i) { return gguf_val_raw(kv, i); }

/* The scalar under key, of one of the types in mask (bit t for type t). */
static int get_scalar(const gguf_file *g, const char *key, unsigned mask, const char *want, const gguf_kv **out,
                      char *err, size_t errlen) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return opml_errf(err, errlen, "gguf: missing key '%s'", key);
    if (kv->type == GGUF_TYPE_ARRAY || !(mask & (1u << kv->type)))
        return opml_errf(err, errlen, "gguf: key '%s' is a%s %s, not %s", key, kv->type == GGUF_TYPE_ARRAY ? "n" : "",
                         vtypes[kv->type].name, want);
    *out = kv;
    return 0;
}

#define INT_TYPES                                                                                                     \
    ((1u << GGUF_TYPE_UINT8) | (1u << GGUF_TYPE_INT8) | (1u << GGUF_TYPE_UINT16) | (1u << GGUF_TYPE_INT16) |         \
     (1u << GGUF_TYPE_UINT32) | (1u << GGUF_TYPE_INT32) | (1u << GGUF_TYPE_UINT64) | (1u << GGUF_TYPE_INT64))

int gguf_get_uint(const gguf_file *g, const char *key, uint64_t max, uint64_t *out, char *err, size_t errlen) {
    const gguf_kv *kv;
    if (get_scalar(g, key, INT_TYPES, "an integer", &kv, err, errlen) != 0) return -1;
    uint64_t v;
    int64_t s;
    if (kv->type == GGUF_TYPE_UINT64) memcpy(&v, kv->data, 8);
    else if (gguf_val_int(kv, 0, &s) != 0 || s < 0)
        return opml_errf(err, errlen, "gguf: key '%s' is negative", key);
    else v = (uint64_t)s;
    if (v > max) return opml_errf(err, errlen, "gguf: key '%s' is %" PRIu64 ", above %" PRIu64, key, v, max);
    *out = v;
    return 0;
}

int gguf_get_int(const gguf_file *g, const char *key, int64_t *out, char *err, size_t errlen) {
    const gguf_kv *kv;
    if (get_scalar(g, key, INT_TYPES, "an integer", &kv, err, errlen) != 0) return -1;
    if (gguf_val_int(kv, 0, out) != 0) return opml_errf(err, errlen, "gguf: key '%s' does not fit int64", key);
    return 0;
}

int gguf_get_float(const gguf_file *g, const char *key, double *out, char *err, size_t errlen) {
    const gguf_kv *kv;
    unsigned m = (1u << GGUF_TYPE_FLOAT32) | (1u << GGUF_TYPE_FLOAT64);
    if (get_scalar(g, key, m, "a float", &kv, err, errlen) != 0) return -1;
    *out = gguf_val_f64(kv, 0);
    return 0;
}

int gguf_get_bool(const gguf_file *g, const char *key, int *out, char *err, size_t errlen) {
    const gguf_kv *kv;
    if (get_scalar(g, key, 1u << GGUF_TYPE_BOOL, "a bool", &kv, err, errlen) != 0) return -1;
    *out = kv->data[0] != 0;
    return 0;
}

int gguf_get_str(const gguf_file *g, const char *key, gguf_str *out, char *err, size_t errlen) {
    const gguf_kv *kv;
    if (get_scalar(g, key, 1u << GGUF_TYPE_STRING, "a string", &kv, err, errlen) != 0) return -1;
    *out = gguf_val_str(kv, 0);
    return 0;
}

int gguf_get_arr(const gguf_file *g, const char *key, uint32_t elem_type, const gguf_kv **out, char *err,
                 size_t errlen) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return opml_errf(err, errlen, "gguf: missing key '%s'", key);
    if (kv->type != GGUF_TYPE_ARRAY || kv->elem_type != elem_type)
        return opml_errf(err, errlen, "gguf: key '%s' is not an array of %s", key, gguf_vtype_name(elem_type));
    *out = kv;
    return 0;
}
