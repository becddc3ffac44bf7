/* model_exercise.c: the parser's promises checked on an accepted model (model_exercise.h). */
#include "model_exercise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void broken(const char *what) {
    fprintf(stderr, "model_exercise: %s\n", what);
    abort();
}

static void same_file(const opml_model *m, const uint8_t *bytes, size_t len) {
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    if (!f) broken("open_memstream");
    int w = opml_model_write(m, f);
    if (fclose(f) || w) broken("the model cannot be written back");
    if (blen != len || memcmp(buf, bytes, len)) broken("an accepted file differs from the model written back");
    free(buf);
}

void model_exercise(const opml_model *m, const uint8_t *bytes, size_t len) {
    same_file(m, bytes, len);
    uint64_t total = 0, scratch = 0;
    for (uint32_t v = 0; v < m->nin + m->n; v++) total += kd_nbytes(&m->values[v]);
    for (uint32_t k = 0; k < m->n; k++) {
        uint64_t s = kernel_scratch_size(&m->nodes[k].d);
        scratch = s > scratch ? s : scratch;
    }
    if (total > MODEL_EXERCISE_MAX_BYTES || scratch > MODEL_EXERCISE_MAX_BYTES) return;
    uint8_t **val = calloc(m->nin + m->n, sizeof *val);
    void *scr = malloc(scratch + 1);
    if (!val || !scr) broken("out of memory");
    uint32_t x = 0x9E3779B9u;
    for (uint32_t v = 0; v < m->nin + m->n; v++) {
        size_t nb = (size_t)kd_nbytes(&m->values[v]);
        if (!(val[v] = malloc(nb ? nb : 1))) broken("out of memory");
        for (size_t i = 0; v < m->nin && i < nb; i++) x ^= x << 13, x ^= x >> 17, x ^= x << 5, val[v][i] = (uint8_t)x;
    }
    for (uint32_t k = 0; k < m->n; k++) {
        const opml_node *nd = &m->nodes[k];
        const void *in[KD_MAX_OPERANDS] = {0};
        for (unsigned j = 0; j < nd->d.noperands; j++)
            in[j] = nd->input_mask >> j & 1 ? (const void *)val[nd->ref[j]] : (const void *)m->weights[nd->ref[j]].data;
        if (kernel_exec(&nd->d, in, val[m->nin + k], scr, scratch) != KD_OK) broken("an accepted node does not run");
    }
    for (uint32_t v = 0; v < m->nin + m->n; v++) free(val[v]);
    free(val), free(scr);
}
