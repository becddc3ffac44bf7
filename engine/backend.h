/* backend.h: the engine's backends (docs/numerics.md). A backend runs one node; it must give
 * exactly the bits of the reference kernels (numerics/kernels) for every operator, and the tests in
 * engine/tests hold it to that. `ref` runs the kernels themselves; `blas` replaces the integer
 * dot products of QLinear, QConv and QMatMul by OpenBLAS sgemm on int8-valued floats (exact: K is
 * cut into chunks of at most 1024, so every partial sum stays below 2^24) and runs every other
 * operator with the reference kernel. A new backend (cuda) is one more opml_backend_ops table
 * registered in backend.c. */
#ifndef OPML_BACKEND_H
#define OPML_BACKEND_H

#include <stddef.h>

#include "kernel.h"

typedef struct opml_backend opml_backend;

typedef struct opml_backend_ops {
    const char *name;
    /* Create the backend's state (NULL state is allowed). Returns 0 or -1. */
    int (*init)(opml_backend *b);
    void (*destroy)(opml_backend *b);
    /* Run one checked node, with kernel_exec's contract. cache is NULL, or a slot private to this
     * node of one loaded model where the backend may keep prepared weights between runs (freed by
     * release). Returns KD_OK or a negative kd_err (or KD_ESCRATCH when out of memory). */
    int (*run)(opml_backend *b, const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch,
               size_t scratch_len, void **cache);
    void (*release)(opml_backend *b, void *cached);
    /* Optional: use at most n threads for one node (n >= 1). */
    void (*set_threads)(opml_backend *b, int n);
} opml_backend_ops;

struct opml_backend {
    const opml_backend_ops *ops;
    void *state;
};

/* The backend called `name` ("ref", "blas", "cuda"), or NULL when this build has none by that name or it
 * cannot start (cuda without a CUDA device). */
opml_backend *opml_backend_new(const char *name);
void opml_backend_free(opml_backend *b);
/* Threads one node may use (n >= 1); a backend without threads ignores it. Results never depend on it. */
void opml_backend_set_threads(opml_backend *b, int n);
/* The names this build offers, for usage messages: "ref|blas", or "ref|blas|cuda" with CUDA. */
const char *opml_backend_names(void);

/* im2col of group gi of one image img [C, H, W] of the QConv node d: col [C/G*KH*KW, OH*OW], row
 * (ci, ky, kx), zero where the window leaves the image. The blas backend's float path, and the
 * benchmark's fp32 baseline (bench/bench_engine.c). */
void opml_im2col_f32(const kd_desc *d, const float *img, size_t gi, float *col);

extern const opml_backend_ops opml_backend_ref_ops;
extern const opml_backend_ops opml_backend_blas_ops;
extern const opml_backend_ops opml_backend_cuda_ops; /* builds with OPML_HAVE_CUDA (backend_cuda.cu) */

#endif
