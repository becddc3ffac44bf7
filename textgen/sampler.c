/* sampler.c: see sampler.h; the arithmetic is kd_sample's (numerics/kernels/sample.c). */
#include "sampler.h"

#include "errmsg.h"
#include "sample.h"

#include <math.h>
#include <stdlib.h>

uint64_t opml_splitmix64(uint64_t *state) { return kd_splitmix64(state); }

int32_t opml_argmax(const float *l, uint32_t n) { return kd_greedy(l, n); }

int opml_sampler_init(opml_sampler *s, float temperature, uint32_t top_k, float top_p, uint64_t seed,
                      uint32_t n_vocab, char *err, size_t errlen) {
    *s = (opml_sampler){temperature, top_k, top_p, seed, n_vocab, NULL, NULL};
    if (!(temperature >= 0.0f) || isinf(temperature))
        return opml_errf(err, errlen, "temperature must be a finite number >= 0");
    if (!(top_p > 0.0f && top_p <= 1.0f)) return opml_errf(err, errlen, "top-p must be in (0, 1]");
    if (n_vocab == 0) return opml_errf(err, errlen, "empty vocabulary");
    if (top_k > n_vocab) return opml_errf(err, errlen, "top-k %u is above the vocabulary of %u", top_k, n_vocab);
    if (temperature == 0.0f) return 0;
    s->order = malloc(n_vocab * sizeof *s->order);
    s->e = malloc(n_vocab * sizeof *s->e);
    if (!s->order || !s->e) {
        opml_sampler_free(s);
        return opml_errf(err, errlen, "out of memory");
    }
    return 0;
}

void opml_sampler_free(opml_sampler *s) {
    free(s->order);
    free(s->e);
    s->order = NULL, s->e = NULL;
}

int32_t opml_sampler_next(opml_sampler *s, const float *l) {
    kd_sampler k = {s->state, s->temperature, s->top_p, s->top_k};
    s->state += KD_SPLITMIX_GOLDEN;
    return kd_sample(l, s->n_vocab, &k, s->order, s->e);
}
