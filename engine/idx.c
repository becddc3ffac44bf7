/* idx.c: IDX reading through zlib's gz* functions, which read gzip and plain files alike. */
#include "idx.h"

#include "kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int opml_idx_load(const char *path, opml_idx *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    uint8_t hdr[4], dimb[4];
    uint32_t dims[4];
    if (gzread(f, hdr, 4) != 4 || hdr[0] || hdr[1] || (hdr[2] != 0x08 && hdr[2] != 0x0C) || hdr[3] < 1 || hdr[3] > 4) {
        gzclose(f);
        snprintf(err, errlen, "%s: not an IDX file of unsigned bytes or int32", path);
        return -1;
    }
    unsigned es = hdr[2] == 0x0C ? 4 : 1;
    size_t item = 1;
    for (int i = 0; i < hdr[3]; i++) {
        if (gzread(f, dimb, 4) != 4) {
            gzclose(f);
            snprintf(err, errlen, "%s: truncated header", path);
            return -1;
        }
        dims[i] = (uint32_t)dimb[0] << 24 | (uint32_t)dimb[1] << 16 | (uint32_t)dimb[2] << 8 | dimb[3];
        if (i > 0) item *= dims[i];
    }
    if (dims[0] == 0 || item == 0 || item > (1u << 24) || dims[0] > (1u << 28) / (item * es)) {
        gzclose(f);
        snprintf(err, errlen, "%s: implausible dimensions", path);
        return -1;
    }
    size_t total = (size_t)dims[0] * item * es;
    out->data = malloc(total);
    if (!out->data) {
        gzclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    size_t got = 0;
    while (got < total) {
        int r = gzread(f, out->data + got, (unsigned)(total - got > (1u << 30) ? (1u << 30) : total - got));
        if (r <= 0) break;
        got += (size_t)r;
    }
    gzclose(f);
    if (got != total) {
        opml_idx_free(out);
        snprintf(err, errlen, "%s: truncated data (%zu of %zu bytes)", path, got, total);
        return -1;
    }
    for (size_t i = 0; es == 4 && i < total; i += 4) { /* big-endian int32 to host order */
        const uint8_t *b = out->data + i;
        int32_t v = (int32_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
        memcpy(out->data + i, &v, 4);
    }
    out->count = dims[0];
    out->item_elems = item;
    out->elsize = es;
    out->item_bytes = item * es;
    return 0;
}

void opml_idx_free(opml_idx *x) {
    free(x->data);
    memset(x, 0, sizeof *x);
}

void opml_idx_floats(const opml_idx *x, uint32_t first, uint32_t n, float divisor, float *out) {
    const uint8_t *p = x->data + (size_t)first * x->item_bytes;
    for (size_t i = 0; i < (size_t)n * x->item_bytes; i++) out[i] = (float)p[i] / divisor;
}

void opml_idx_ints(const opml_idx *x, uint32_t first, uint32_t n, unsigned dtype, void *out) {
    size_t count = (size_t)n * x->item_elems, at = (size_t)first * x->item_elems;
    uint8_t *o = out;
    for (size_t i = 0; i < count; i++) {
        int32_t v;
        if (x->elsize == 4) memcpy(&v, x->data + 4 * (at + i), 4);
        else v = x->data[at + i];
        int64_t w = v;
        if (dtype == KD_I64) memcpy(o + 8 * i, &w, 8);
        else if (dtype == KD_I32) memcpy(o + 4 * i, &v, 4);
        else o[i] = dtype == KD_BOOL ? v != 0 : (uint8_t)v;
    }
}
