/* backend.c: the registry of backends (backend.h) and the `ref` backend, which is the reference
 * kernels themselves. */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

static int ref_run(opml_backend *b, const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out,
                   void *scratch, size_t scratch_len, void **cache) {
    (void)b, (void)cache;
    return kernel_exec(d, in, out, scratch, scratch_len);
}

const opml_backend_ops opml_backend_ref_ops = {"ref", NULL, NULL, ref_run, NULL, NULL};

static const opml_backend_ops *const registry[] = {&opml_backend_ref_ops, &opml_backend_blas_ops,
#ifdef OPML_HAVE_CUDA
                                                   &opml_backend_cuda_ops,
#endif
};

opml_backend *opml_backend_new(const char *name) {
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++) {
        if (strcmp(registry[i]->name, name)) continue;
        opml_backend *b = calloc(1, sizeof *b);
        if (!b) return NULL;
        b->ops = registry[i];
        if (b->ops->init && b->ops->init(b)) {
            free(b);
            return NULL;
        }
        return b;
    }
    return NULL;
}

void opml_backend_free(opml_backend *b) {
    if (!b) return;
    if (b->ops->destroy) b->ops->destroy(b);
    free(b);
}

void opml_backend_set_threads(opml_backend *b, int n) {
    if (b && b->ops->set_threads && n >= 1) b->ops->set_threads(b, n);
}

const char *opml_backend_names(void) {
#ifdef OPML_HAVE_CUDA
    return "ref|blas|cuda";
#else
    return "ref|blas";
#endif
}
