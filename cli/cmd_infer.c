/* cmd_infer.c: `opml infer MODEL.opml INPUT [--backend ref|blas] [--json]`: run a model with
 * commitments and print, per input, the model root, State_n, the output and each node's output
 * root (--json: one object per line with model_root, state_root, output, node_output_roots).
 * INPUT is a raw file of the model input's little-endian bytes (float32, or int64 token ids, ...;
 * one input per model-input-size chunk), idx:PATH#N (item N of an IDX file: bytes divided by the
 * model's pixel divisor for a float input, integers for an integer one), idx:PATH#A-B or idx:PATH
 * (items A to B or all, one result each), read by cli/input.c as for `opml vm-run`. Outputs of
 * any element dtype are printed as numbers (a Q8_0 output, blocks without an element size, is refused). */
#include "commands.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "hex.h"
#include "input.h"

static int usage(void) {
    fprintf(stderr, "usage: opml infer MODEL.opml INPUT [--backend %s] [--json]\n"
                    "  INPUT: a raw file of the model input's dtype, idx:PATH, idx:PATH#N or idx:PATH#A-B\n", opml_backend_names());
    return 2;
}

/* A float32 to 9 significant digits (it reads back exactly), an integer in full. */
static void print_value(double v, unsigned dtype) {
    if (isfinite(v)) printf(dtype == KD_F32 ? "%.9g" : "%.17g", v);
    else printf("null"); /* JSON has no NaN or Inf */
}

static void report(const opml_run *r, const char *label, int json) {
    const opml_model *m = r->m;
    char hex[67];
    size_t nb;
    const void *out = opml_run_output(r, &nb);
    unsigned dt = m->values[m->output_value].dtype;
    size_t n = nb / kd_elsize(dt);
    if (json) {
        printf("{\"input\":\"%s\",\"model_root\":\"", label);
        hex_encode(m->root, 32, hex);
        printf("%s\",\"state_root\":\"", hex);
        hex_encode(r->states[m->n], 32, hex);
        printf("%s\",\"output\":[", hex);
        for (size_t i = 0; i < n; i++) {
            if (i) putchar(',');
            print_value(opml_value_at(out, dt, i), dt);
        }
        printf("],\"node_output_roots\":[");
        for (uint32_t k = 0; k < m->n; k++) {
            hex_encode(r->roots[m->nin + k], 32, hex);
            printf(k ? ",\"%s\"" : "\"%s\"", hex);
        }
        printf("]}\n");
        return;
    }
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (opml_value_at(out, dt, i) > opml_value_at(out, dt, best)) best = i;
    hex_encode(m->root, 32, hex);
    printf("input       %s\nmodel_root  %s\n", label, hex);
    hex_encode(r->states[m->n], 32, hex);
    printf("state_root  %s\noutput     ", hex);
    for (size_t i = 0; i < n; i++) printf(dt == KD_F32 ? " %.9g" : " %.17g", opml_value_at(out, dt, i));
    printf("\nargmax      %zu\n", best);
}

int cmd_infer(int argc, char **argv) {
    const char *model_path = NULL, *input = NULL, *backend = "ref";
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1]) return usage();
        else if (!model_path) model_path = argv[i];
        else if (!input) input = argv[i];
        else return usage();
    }
    if (!model_path || !input) return usage();
    char err[512];
    opml_model m;
    if (opml_model_load(model_path, &m, err, sizeof err)) {
        fprintf(stderr, "opml infer: %s\n", err);
        return 1;
    }
    int rc = 1;
    opml_backend *b = opml_backend_new(backend);
    opml_run r = {0};
    cli_input in = {0};
    if (!b) {
        fprintf(stderr, "opml infer: unknown backend '%s' (this build has %s; cuda needs a CUDA device)\n", backend, opml_backend_names());
        goto done;
    }
    unsigned odt = m.values[m.output_value].dtype;
    if (!kd_elsize(odt)) { /* Q8_0: blocks, not elements to print */
        fprintf(stderr, "opml infer: %s: the output is %s, which has no elements to print\n", model_path,
                opml_dtype_name(odt));
        goto done;
    }
    if (cli_input_open(&in, input, &m, SIZE_MAX, err, sizeof err) || opml_run_init(&r, &m, b, err, sizeof err)) {
        fprintf(stderr, "opml infer: %s\n", err);
        goto done;
    }
    for (size_t k = 0; k < in.count; k++) {
        char label[4200];
        const void *x[1] = {cli_input_at(&in, k, label, sizeof label)};
        if (opml_run_exec(&r, x, &in.need, 1, err, sizeof err)) {
            fprintf(stderr, "opml infer: %s\n", err);
            goto done;
        }
        report(&r, label, json);
    }
    rc = fflush(stdout) ? 1 : 0;
done:
    if (r.m) opml_run_free(&r);
    opml_backend_free(b);
    opml_model_free(&m);
    cli_input_close(&in);
    return rc;
}
