/* cmd_infer.c: `opml infer MODEL.opml INPUT [--backend ref|blas] [--json]`: run a model with
 * commitments and print, per input, the model root, State_n, the output and each node's output
 * root (--json: one object per line with model_root, state_root, output, node_output_roots).
 * INPUT is a raw little-endian float32 file (one input per model-input-size chunk), idx:PATH#N
 * (item N of an IDX file, bytes divided by the model's pixel divisor) or idx:PATH#A-B (items A
 * to B, one result each). */
#include "commands.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hex.h"
#include "idx.h"

static int usage(void) {
    fprintf(stderr, "usage: opml infer MODEL.opml INPUT [--backend %s] [--json]\n"
                    "  INPUT: a raw float32 file, idx:PATH#N or idx:PATH#A-B\n", opml_backend_names());
    return 2;
}

static void print_float(float v) {
    if (isfinite(v)) printf("%.9g", v);
    else printf("null"); /* JSON has no NaN or Inf */
}

static void report(const opml_run *r, const char *label, int json) {
    const opml_model *m = r->m;
    char hex[67];
    size_t nb;
    const float *out = opml_run_output(r, &nb);
    size_t n = nb / 4;
    if (json) {
        printf("{\"input\":\"%s\",\"model_root\":\"", label);
        hex_encode(m->root, 32, hex);
        printf("%s\",\"state_root\":\"", hex);
        hex_encode(r->states[m->n], 32, hex);
        printf("%s\",\"output\":[", hex);
        for (size_t i = 0; i < n; i++) {
            if (i) putchar(',');
            print_float(out[i]);
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
        if (out[i] > out[best]) best = i;
    hex_encode(m->root, 32, hex);
    printf("input       %s\nmodel_root  %s\n", label, hex);
    hex_encode(r->states[m->n], 32, hex);
    printf("state_root  %s\noutput     ", hex);
    for (size_t i = 0; i < n; i++) printf(" %.9g", out[i]);
    printf("\nargmax      %zu\n", best);
}

/* idx:PATH#A or idx:PATH#A-B */
static int parse_idx_spec(const char *spec, char *path, size_t pathlen, long *a, long *b) {
    const char *hash = strrchr(spec, '#');
    if (!hash || (size_t)(hash - spec - 4) >= pathlen) return -1;
    memcpy(path, spec + 4, (size_t)(hash - spec - 4));
    path[hash - spec - 4] = 0;
    char *e;
    *a = strtol(hash + 1, &e, 10);
    if (e == hash + 1 || *a < 0) return -1;
    *b = *a;
    if (*e == '-') {
        const char *s = e + 1;
        *b = strtol(s, &e, 10);
        if (e == s || *b < *a) return -1;
    }
    return *e ? -1 : 0;
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
    uint8_t *raw = NULL;
    float *buf = NULL;
    opml_idx idx = {0};
    if (!b) {
        fprintf(stderr, "opml infer: unknown backend '%s' (this build has %s; cuda needs a CUDA device)\n", backend, opml_backend_names());
        goto done;
    }
    if (m.nin != 1) {
        fprintf(stderr, "opml infer: the model has %u inputs; this command feeds exactly one\n", m.nin);
        goto done;
    }
    if (opml_run_init(&r, &m, b, err, sizeof err)) {
        fprintf(stderr, "opml infer: %s\n", err);
        goto done;
    }
    size_t need = (size_t)kd_nbytes(&m.inputs[0]);
    if (!strncmp(input, "idx:", 4)) {
        char path[4096];
        long a, z;
        if (parse_idx_spec(input, path, sizeof path, &a, &z)) {
            fprintf(stderr, "opml infer: bad input '%s' (want idx:PATH#N or idx:PATH#A-B)\n", input);
            goto done;
        }
        if (opml_idx_load(path, &idx, err, sizeof err)) {
            fprintf(stderr, "opml infer: %s\n", err);
            goto done;
        }
        /* one item per batch row: the model input is [B, ...] with B * item_bytes values */
        if (m.inputs[0].dtype != KD_F32 || m.inputs[0].rank < 1 ||
            kd_numel(&m.inputs[0]) != (uint64_t)m.inputs[0].dims[0] * idx.item_bytes) {
            fprintf(stderr, "opml infer: %s: items of %zu bytes do not fill the model input of %llu values\n", path,
                    idx.item_bytes, (unsigned long long)kd_numel(&m.inputs[0]));
            goto done;
        }
        uint32_t per = m.inputs[0].dims[0]; /* items per run: the model's batch */
        if (z >= (long)idx.count || (z - a + 1) % per) {
            fprintf(stderr, "opml infer: %s has %u items; index %ld is out of range%s\n", path, idx.count,
                    z >= (long)idx.count ? z : a, z >= (long)idx.count ? "" : " (or not a multiple of the batch)");
            goto done;
        }
        if (!(m.input_divisor > 0)) {
            fprintf(stderr, "opml infer: the model records no pixel divisor for IDX inputs\n");
            goto done;
        }
        buf = malloc(need);
        if (!buf) goto done;
        for (long i = a; i <= z; i += per) {
            opml_idx_floats(&idx, (uint32_t)i, per, m.input_divisor, buf);
            const void *in[1] = {buf};
            if (opml_run_exec(&r, in, &need, 1, err, sizeof err)) {
                fprintf(stderr, "opml infer: %s\n", err);
                goto done;
            }
            char label[4200];
            if (per == 1) snprintf(label, sizeof label, "idx:%s#%ld", path, i);
            else snprintf(label, sizeof label, "idx:%s#%ld-%ld", path, i, i + per - 1);
            report(&r, label, json);
        }
    } else {
        size_t len;
        raw = opml_read_file(input, &len);
        if (!raw) {
            fprintf(stderr, "opml infer: %s: cannot read\n", input);
            goto done;
        }
        if (len == 0 || len % need) {
            fprintf(stderr, "opml infer: %s: %zu bytes is not a multiple of the model input (%zu bytes = %llu float32)\n",
                    input, len, need, (unsigned long long)kd_numel(&m.inputs[0]));
            goto done;
        }
        for (size_t at = 0; at < len; at += need) {
            const void *in[1] = {raw + at};
            if (opml_run_exec(&r, in, &need, 1, err, sizeof err)) {
                fprintf(stderr, "opml infer: %s\n", err);
                goto done;
            }
            char label[4200];
            snprintf(label, sizeof label, len == need ? "%s" : "%s@%zu", input, at / need);
            report(&r, label, json);
        }
    }
    rc = fflush(stdout) ? 1 : 0;
done:
    if (r.m) opml_run_free(&r);
    opml_backend_free(b);
    opml_model_free(&m);
    opml_idx_free(&idx);
    free(raw), free(buf);
    return rc;
}
