/* cmd_convert_gguf.c: `opml convert MODEL.gguf -o MODEL.opml [--ctx N]`: a llama-architecture GGUF
 * file to an opml model file (convert/gguf/gguf_import.h), printing the model root and the
 * model's shape. cmd_convert hands over to it when opml_convert_file_format says GGUF. */
#include "cli_num.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "gguf_import.h"
#include "hex.h"
#include "llama.h"

#define CONVERT_MAX_CTX (1u << 20) /* --ctx: cache positions of the step graph at most this */

int cmd_convert_is_gguf(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') { /* every option of convert takes a value */
            i++;
            continue;
        }
        return opml_convert_file_format(argv[i]) == OPML_FORMAT_GGUF;
    }
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: opml convert MODEL.gguf -o MODEL.opml [--ctx N]\n");
    return 2;
}

int cmd_convert_gguf(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    gguf_import_opts o = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--ctx") && i + 1 < argc) {
            if (cli_flag_u32("convert", "--ctx", argv[++i], 1, CONVERT_MAX_CTX, &o.ctx)) return 2;
        } else if (argv[i][0] == '-' || in) return usage();
        else in = argv[i];
    }
    if (!in || !out) return usage();
    uint8_t root[32];
    uint32_t nodes, weights;
    uint64_t bytes;
    char err[600];
    if (gguf_import(in, out, &o, root, &nodes, &weights, &bytes, err, sizeof err)) {
        fprintf(stderr, "opml convert: %s\n", err);
        return 1;
    }
    opml_llama *m;
    if (opml_llama_open(out, 0, &m, err, sizeof err)) { /* never expected: the importer's own graph */
        fprintf(stderr, "opml convert: %s\n", err);
        return 1;
    }
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    char hex[67];
    hex_encode(root, 32, hex);
    printf("model_root %s\ninputs %u nodes %u weights %u bytes %llu\n", hex, opml_llama_model(m)->nin, nodes, weights,
           (unsigned long long)bytes);
    printf("llama: vocab %u, embedding %u, %u layers, %u heads (%u kv) of %u, feed-forward %u, context %u, rope base %g, "
           "rms eps %g%s\n", hp->vocab, hp->dim, hp->layers, hp->heads, hp->kv_heads, hp->head_dim, hp->ffn, hp->ctx,
           hp->rope_base, hp->rms_eps, hp->tied_output ? ", tied output" : "");
    opml_gen_facts f; /* what registerGeneration takes beside the step graph (docs/generation.md) */
    uint8_t groot[32];
    opml_llama_gen_facts(m, &f);
    opml_gen_root(root, &f, groot);
    hex_encode(groot, 32, hex);
    printf("generation: vocab %u, ctx %u, layers %u, kv_value %u, generation_root %s\n", f.vocab, f.ctx, f.layers,
           f.kv_value, hex);
    opml_llama_close(m);
    return 0;
}
