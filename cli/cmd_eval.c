/* cmd_eval.c: `opml eval MODEL.opml INPUTS LABELS [--backend ref|blas] [--limit N] [--commit]`:
 * top-1 accuracy and items per second over a labelled set, how an operator checks a converted
 * model before registering it.
 *
 *   INPUTS  an IDX file of the inputs (images), or an INPUT of `opml infer` named by its prefix:
 *           raw:PATH (raw little-endian model inputs in the input's dtype, e.g. int64 token ids)
 *           or idx:PATH (input.h reads both)
 *   LABELS  an IDX file of unsigned-byte labels, or raw:PATH, little-endian int64 labels
 *
 * Each model input holds the model's batch (its first dimension) of items, one label each; the
 * predicted class of an item is the first maximum of its row of the output. --limit N evaluates
 * the first N items (whole batches); --commit also computes every tensor root and graph state, as
 * `infer` does. */
#include "cli_num.h"
#include "commands.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "idx.h"
#include "input.h"

static int usage(void) {
    fprintf(stderr, "usage: opml eval MODEL.opml INPUTS LABELS [--backend %s] [--limit N] [--commit]\n"
                    "  INPUTS: an IDX file, raw:PATH (model inputs in the input's dtype) or idx:PATH\n"
                    "  LABELS: an IDX file of bytes, or raw:PATH (little-endian int64)\n",
            opml_backend_names());
    return 2;
}

/* The labels as int64 (malloc'd, *count of them): an unsigned-byte IDX file or raw:PATH int64. */
static int64_t *load_labels(const char *spec, size_t *count, char *err, size_t errlen) {
    int64_t *lab = NULL;
    if (!strncmp(spec, "raw:", 4)) {
        size_t len;
        uint8_t *b = cli_read_file(spec + 4, (size_t)1 << 31, &len, err, errlen);
        if (!b) return NULL;
        if (len == 0 || len % 8) snprintf(err, errlen, "%s: %zu bytes is not whole int64 labels", spec + 4, len);
        else if ((lab = malloc(len))) memcpy(lab, b, len), *count = len / 8;
        else snprintf(err, errlen, "out of memory");
        free(b);
        return lab;
    }
    opml_idx x;
    if (opml_idx_load(spec, &x, err, errlen)) return NULL;
    if (x.item_bytes != 1) snprintf(err, errlen, "%s: labels of %zu bytes (want one unsigned byte each)", spec, x.item_bytes);
    else if ((lab = malloc((size_t)x.count * 8))) opml_idx_ints(&x, 0, x.count, KD_I64, lab), *count = x.count;
    else snprintf(err, errlen, "out of memory");
    opml_idx_free(&x);
    return lab;
}

/* Items of INPUTS that have a label: every item of an IDX file, every row of a raw file. */
static size_t items_of(const cli_input *in, uint32_t rows) { return in->raw ? in->count * rows : in->idx.count; }

int cmd_eval(int argc, char **argv) {
    const char *paths[3] = {0}, *backend = "ref";
    int np = 0, commit = 0;
    long limit = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend = argv[++i];
        else if (!strcmp(argv[i], "--commit")) commit = 1;
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            uint64_t n;
            if (cli_flag_u64("eval", "--limit", argv[++i], 1, LONG_MAX, &n)) return 2;
            limit = (long)n;
        } else if (argv[i][0] == '-' || np == 3) return usage();
        else paths[np++] = argv[i];
    }
    if (np != 3) return usage();
    char err[512], spec[4200];
    opml_model m;
    if (opml_model_load(paths[0], &m, err, sizeof err)) {
        fprintf(stderr, "opml eval: %s\n", err);
        return 1;
    }
    int rc = 1;
    opml_backend *b = opml_backend_new(backend);
    opml_run r = {0};
    cli_input in = {0};
    int64_t *lab = NULL;
    size_t nlab = 0;
    if (!b) {
        fprintf(stderr, "opml eval: unknown backend '%s' (this build has %s; cuda needs a CUDA device)\n", backend, opml_backend_names());
        goto done;
    }
    /* a plain path is an IDX file of every input */
    snprintf(spec, sizeof spec, "%s%s", strncmp(paths[1], "raw:", 4) && strncmp(paths[1], "idx:", 4) ? "idx:" : "", paths[1]);
    if (cli_input_open(&in, spec, &m, SIZE_MAX, err, sizeof err) || !(lab = load_labels(paths[2], &nlab, err, sizeof err))) {
        fprintf(stderr, "opml eval: %s\n", err);
        goto done;
    }
    uint32_t rows = m.inputs[0].rank ? m.inputs[0].dims[0] : 1;
    unsigned odt = m.values[m.output_value].dtype;
    size_t onb = (size_t)kd_nbytes(&m.values[m.output_value]), es = kd_elsize(odt);
    if (!es) { /* Q8_0: blocks, no element size to divide by */
        fprintf(stderr, "opml eval: the output is %s, not rows of scores\n", opml_dtype_name(odt));
        goto done;
    }
    size_t classes = onb / es / rows;
    if (classes < 1 || onb != classes * rows * es) {
        fprintf(stderr, "opml eval: the output does not split into %u rows of scores\n", rows);
        goto done;
    }
    if (nlab != items_of(&in, rows)) {
        fprintf(stderr, "opml eval: %zu inputs but %zu labels\n", items_of(&in, rows), nlab);
        goto done;
    }
    size_t batches = in.count;
    if (limit > 0 && (size_t)limit / rows < batches) batches = (size_t)limit / rows;
    if (opml_run_init(&r, &m, b, err, sizeof err)) {
        fprintf(stderr, "opml eval: %s\n", err);
        goto done;
    }
    uint32_t correct = 0, total = (uint32_t)(batches * rows);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t k = 0; k < batches; k++) {
        const void *x[1] = {cli_input_at(&in, k, NULL, 0)};
        if (opml_run_exec(&r, x, &in.need, commit, err, sizeof err)) {
            fprintf(stderr, "opml eval: input %zu: %s\n", k * rows, err);
            goto done;
        }
        size_t nb;
        const void *out = opml_run_output(&r, &nb);
        for (uint32_t j = 0; j < rows; j++) {
            size_t row = (size_t)j * classes, best = 0;
            for (size_t c = 1; c < classes; c++)
                if (opml_value_at(out, odt, row + c) > opml_value_at(out, odt, row + best)) best = c;
            correct += (int64_t)best == lab[k * rows + j];
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("accuracy %.4f (%u/%u) items/s %.1f backend %s batch %u%s\n", total ? (double)correct / total : 0.0, correct,
           total, secs > 0 ? total / secs : 0.0, b->ops->name, rows, commit ? " with commitments" : "");
    rc = 0;
done:
    if (r.m) opml_run_free(&r);
    opml_backend_free(b);
    opml_model_free(&m);
    cli_input_close(&in);
    free(lab);
    return rc;
}
