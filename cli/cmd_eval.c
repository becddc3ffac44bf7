/* cmd_eval.c: `opml eval MODEL.opml IMAGES.idx LABELS.idx [--backend ref|blas] [--limit N]
 * [--commit]`: top-1 accuracy and images per second over a labelled IDX set, how an operator checks
 * a converted model before registering it. The model's batch (input size / image size) images run
 * at a time; --commit also computes every tensor root and graph state, as `infer` does. */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "idx.h"

static int usage(void) {
    fprintf(stderr, "usage: opml eval MODEL.opml IMAGES.idx LABELS.idx [--backend %s] [--limit N] [--commit]\n",
            opml_backend_names());
    return 2;
}

int cmd_eval(int argc, char **argv) {
    const char *paths[3] = {0}, *backend = "ref";
    int np = 0, commit = 0;
    long limit = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend = argv[++i];
        else if (!strcmp(argv[i], "--commit")) commit = 1;
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            char *e;
            limit = strtol(argv[++i], &e, 10);
            if (*e || limit < 1) return usage();
        } else if (argv[i][0] == '-' || np == 3) return usage();
        else paths[np++] = argv[i];
    }
    if (np != 3) return usage();
    char err[512];
    opml_model m;
    if (opml_model_load(paths[0], &m, err, sizeof err)) {
        fprintf(stderr, "opml eval: %s\n", err);
        return 1;
    }
    int rc = 1;
    opml_backend *b = opml_backend_new(backend);
    opml_run r = {0};
    opml_idx img = {0}, lab = {0};
    float *buf = NULL;
    if (!b) {
        fprintf(stderr, "opml eval: unknown backend '%s' (this build has %s; cuda needs a CUDA device)\n", backend, opml_backend_names());
        goto done;
    }
    if (opml_idx_load(paths[1], &img, err, sizeof err) || opml_idx_load(paths[2], &lab, err, sizeof err)) {
        fprintf(stderr, "opml eval: %s\n", err);
        goto done;
    }
    if (lab.count != img.count || lab.item_bytes != 1) {
        fprintf(stderr, "opml eval: %u images but %u labels of %zu bytes\n", img.count, lab.count, lab.item_bytes);
        goto done;
    }
    size_t need = (size_t)kd_nbytes(&m.inputs[0]);
    if (m.nin != 1 || m.inputs[0].dtype != KD_F32 || m.inputs[0].rank < 1 || !(m.input_divisor > 0) ||
        kd_numel(&m.inputs[0]) != (uint64_t)m.inputs[0].dims[0] * img.item_bytes) {
        fprintf(stderr, "opml eval: the model's input does not take whole %zu-byte images\n", img.item_bytes);
        goto done;
    }
    uint32_t per = m.inputs[0].dims[0];
    size_t onb = (size_t)kd_nbytes(&m.values[m.output_value]), classes = onb / 4 / per;
    if (classes < 1 || onb != classes * per * 4) {
        fprintf(stderr, "opml eval: the output does not split into %u rows of scores\n", per);
        goto done;
    }
    uint32_t total = img.count;
    if (limit > 0 && (uint32_t)limit < total) total = (uint32_t)limit;
    total -= total % per;
    if (opml_run_init(&r, &m, b, err, sizeof err) || !(buf = malloc(need))) {
        fprintf(stderr, "opml eval: %s\n", buf ? err : "out of memory");
        goto done;
    }
    uint32_t correct = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint32_t i = 0; i < total; i += per) {
        opml_idx_floats(&img, i, per, m.input_divisor, buf);
        const void *in[1] = {buf};
        if (opml_run_exec(&r, in, &need, commit, err, sizeof err)) {
            fprintf(stderr, "opml eval: image %u: %s\n", i, err);
            goto done;
        }
        size_t nb;
        const float *out = opml_run_output(&r, &nb);
        for (uint32_t j = 0; j < per; j++) {
            const float *row = out + (size_t)j * classes;
            size_t best = 0;
            for (size_t c = 1; c < classes; c++)
                if (row[c] > row[best]) best = c;
            correct += best == lab.data[i + j];
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("accuracy %.4f (%u/%u) images/s %.1f backend %s batch %u%s\n", total ? (double)correct / total : 0.0,
           correct, total, secs > 0 ? total / secs : 0.0, b->ops->name, per, commit ? " with commitments" : "");
    rc = 0;
done:
    if (r.m) opml_run_free(&r);
    opml_backend_free(b);
    opml_model_free(&m);
    opml_idx_free(&img), opml_idx_free(&lab);
    free(buf);
    return rc;
}
