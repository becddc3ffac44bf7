/* idx.h: IDX files (the MNIST / Fashion-MNIST format, gzip-compressed or not) as model inputs.
 * Unsigned-byte data (type 0x08: images, labels, small ids) and int32 data (type 0x0C, big-endian
 * in the file: token ids, indices) are accepted. */
#ifndef OPML_IDX_H
#define OPML_IDX_H

#include <stddef.h>
#include <stdint.h>

typedef struct opml_idx {
    uint32_t count;      /* items: the first dimension */
    size_t item_bytes;   /* bytes per item: the product of the other dimensions times elsize */
    size_t item_elems;   /* elements per item: the product of the other dimensions */
    unsigned elsize;     /* 1 (unsigned bytes) or 4 (int32, held in host order) */
    uint8_t *data;       /* count * item_bytes */
} opml_idx;

/* Read a whole IDX file. Returns 0, or -1 with a message naming the file and the problem. */
int opml_idx_load(const char *path, opml_idx *out, char *err, size_t errlen);
void opml_idx_free(opml_idx *x);

/* Items first .. first + n - 1 as floats: byte / divisor (one IEEE division each), into out
 * (n * item_elems floats). Precondition: elsize 1, first + n <= count, divisor != 0. */
void opml_idx_floats(const opml_idx *x, uint32_t first, uint32_t n, float divisor, float *out);
/* Items first .. first + n - 1 as integers of model dtype (KD_I64, KD_I32, KD_I8 wrapping, KD_BOOL
 * non-zero), little-endian, into out (n * item_elems elements). Precondition: first + n <= count. */
void opml_idx_ints(const opml_idx *x, uint32_t first, uint32_t n, unsigned dtype, void *out);

#endif
