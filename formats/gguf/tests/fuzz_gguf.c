/* fuzz_gguf.c: the reader's fuzz target (libFuzzer's entry point; fuzz_replay.c drives it without
 * libFuzzer). Whatever the bytes, gguf_parse returns; when it accepts them, every value, every
 * element and every tensor's first and last byte can be read inside the buffer (ASan checks the
 * reads: libFuzzer hands over exactly `size` bytes) and every lookup finds its own entry. */
#include "gguf_file.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_file g;
    char err[256];
    if (gguf_parse(data, size, &g, err, sizeof err) != 0) {
        if (strncmp(err, "gguf: ", 6) != 0) abort(); /* every refusal says why */
        return 0;
    }
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < g.n_kv; i++) {
        const gguf_kv *kv = &g.kv[i];
        if (gguf_find_kv(&g, kv->key) != kv) abort();
        for (uint64_t j = 0; j < kv->n; j++) {
            gguf_str r = gguf_val_raw(kv, j);
            for (uint64_t k = 0; k < r.len; k++) sink += (uint8_t)r.p[k];
            int64_t v;
            if (gguf_val_int(kv, j, &v) == 0) sink += (uint64_t)v;
            if (kv->elem_type == GGUF_TYPE_FLOAT32 || kv->elem_type == GGUF_TYPE_FLOAT64)
                sink += gguf_val_f64(kv, j) > 0;
        }
    }
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const gguf_tensor *t = &g.tensors[i];
        if (gguf_find_tensor(&g, t->name) != t) abort();
        if (t->nbytes) sink += t->data[0] + t->data[t->nbytes - 1];
    }
    (void)sink;
    gguf_close(&g);
    return 0;
}
