/* cmd_convert.c: `opml convert MODEL.onnx -o MODEL.opml [--batch N] [--pixel-divisor D]
 * [--no-fuse]`: ONNX to an opml model file (convert/convert.h), printing the model root and the
 * node list. The pixel divisor recorded for IDX inputs comes from --pixel-divisor, else from the
 * "input" field of MODEL.json beside the ONNX file ("... pixel/255"), else 255. --no-fuse keeps
 * decomposed LayerNorm and GELU chains node by node (the same outputs, more nodes). */
#include "cli_num.h"
#include "commands.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "hex.h"
#include "model.h"

#define CONVERT_MAX_BATCH 65536 /* --batch: a symbolic input dimension at most this */

static int usage(void) {
    fprintf(stderr, "usage: opml convert MODEL.onnx -o MODEL.opml [--batch N] [--pixel-divisor D] [--no-fuse]\n"
                    "       opml convert MODEL.gguf -o MODEL.opml [--ctx N]\n");
    return 2;
}

/* "pixel/255" in the "input" field of the JSON beside the model, or 0 */
static float divisor_from_json(const char *onnx_path) {
    size_t n = strlen(onnx_path);
    if (n < 5 || strcmp(onnx_path + n - 5, ".onnx")) return 0;
    char path[4096];
    snprintf(path, sizeof path, "%.*s.json", (int)(n - 5), onnx_path);
    size_t len;
    char *text = (char *)opml_read_file(path, &len);
    if (!text) return 0;
    char *z = realloc(text, len + 1);
    if (!z) {
        free(text);
        return 0;
    }
    z[len] = 0;
    cJSON *j = cJSON_Parse(z);
    free(z);
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "input");
    float d = 0;
    const char *p = cJSON_IsString(in) ? strstr(in->valuestring, "pixel/") : NULL;
    if (p) d = strtof(p + 6, NULL);
    cJSON_Delete(j);
    return d > 0 ? d : 0;
}

int cmd_convert(int argc, char **argv) {
    if (cmd_convert_is_gguf(argc, argv)) return cmd_convert_gguf(argc, argv);
    const char *in = NULL, *out = NULL;
    opml_convert_opts o = {.batch = 1, .input_divisor = 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--no-fuse")) o.no_fuse = 1;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            if (cli_flag_u32("convert", "--batch", argv[++i], 1, CONVERT_MAX_BATCH, &o.batch)) return 2;
        } else if (!strcmp(argv[i], "--pixel-divisor") && i + 1 < argc) {
            char *e;
            o.input_divisor = strtof(argv[++i], &e);
            if (*e || !(o.input_divisor > 0) || !opml_input_divisor_ok(o.input_divisor)) return usage();
        } else if (argv[i][0] == '-' || in) return usage();
        else in = argv[i];
    }
    if (!in || !out) return usage();
    if (!o.input_divisor) o.input_divisor = divisor_from_json(in);
    if (!o.input_divisor) o.input_divisor = 255.0f;
    size_t len;
    uint8_t *onnx = opml_read_file(in, &len);
    if (!onnx) {
        fprintf(stderr, "opml convert: %s: cannot read: %s\n", in, strerror(errno));
        return 1;
    }
    uint8_t *model;
    size_t mlen;
    char err[512];
    int rc = opml_convert(onnx, len, &o, &model, &mlen, err, sizeof err);
    free(onnx);
    if (rc) {
        fprintf(stderr, "opml convert: %s: %s\n", in, err);
        return 1;
    }
    opml_model m;
    if (opml_model_parse(model, mlen, &m, err, sizeof err)) { /* never expected: the writer's own check */
        fprintf(stderr, "opml convert: %s\n", err);
        free(model);
        return 1;
    }
    FILE *f = fopen(out, "wb");
    int werr = !f || fwrite(model, 1, mlen, f) != mlen;
    if (f && fclose(f)) werr = 1;
    free(model);
    if (werr) {
        fprintf(stderr, "opml convert: %s: cannot write\n", out);
        opml_model_free(&m);
        remove(out);
        return 1;
    }
    char hex[67];
    hex_encode(m.root, 32, hex);
    printf("model_root %s\ninputs %u nodes %u weights %u bytes %zu\n", hex, m.nin, m.n, m.nweights, mlen);
    for (uint32_t k = 0; k < m.n; k++) {
        const kd_tensor *t = &m.nodes[k].d.out;
        printf("  node %u %-18s out [", k, kernel_op_name(m.nodes[k].d.op));
        for (unsigned i = 0; i < t->rank; i++) printf(i ? ",%u" : "%u", t->dims[i]);
        printf("]\n");
    }
    opml_model_free(&m);
    return 0;
}
