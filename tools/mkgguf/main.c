/* main.c: the mkgguf command (mkgguf.h).
 * Usage: mkgguf OUT.gguf [--preset tiny|7b] [--layers N] [--embd N] [--heads N] [--heads-kv N]
 *        [--ff N] [--vocab N] [--ctx N] [--rope-base F] [--rms-eps F] [--type f32|f16|q8_0]
 *        [--tied] [--seed S]
 * Presets: tiny (the default): 2 layers, embd 64, 4 heads, ff 128, vocab 512, ctx 128, F32;
 * 7b: LLaMA-7B's shapes (embd 4096, 32 heads, ff 11008, vocab 32000, ctx 4096) with 8 layers, Q8_0.
 * Options after the preset change it. Prints one line: the file, its tensors and bytes. */
#include "gguf_file.h"
#include "mkgguf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mkgguf_shape PRESET_TINY = {2, 64, 4, 4, 128, 512, 128, 10000.0f, 1e-5f, GGUF_T_F32, 0, 1};
static const mkgguf_shape PRESET_7B = {8, 4096, 32, 32, 11008, 32000, 4096, 10000.0f, 1e-5f, GGUF_T_Q8_0, 0, 1};

static int usage(const char *why) {
    fprintf(stderr, "mkgguf: %s\nusage: mkgguf OUT.gguf [--preset tiny|7b] [--layers N] [--embd N] [--heads N] "
                    "[--heads-kv N] [--ff N] [--vocab N] [--ctx N] [--rope-base F] [--rms-eps F] "
                    "[--type f32|f16|q8_0] [--tied] [--seed S]\n", why);
    return 2;
}

static int parse_u32(const char *s, uint32_t *out) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_f32(const char *s, float *out) {
    char *end;
    *out = strtof(s, &end);
    return *s && !*end ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') return usage("no output file");
    mkgguf_shape s = PRESET_TINY;
    for (int a = 2; a < argc; a++) {
        const char *f = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (strcmp(f, "--tied") == 0) {
            s.tied = 1;
            continue;
        }
        if (!v) return usage("an option lacks its value");
        a++;
        int bad = 0;
        if (strcmp(f, "--preset") == 0) {
            if (strcmp(v, "tiny") == 0) s = PRESET_TINY;
            else if (strcmp(v, "7b") == 0) s = PRESET_7B;
            else bad = 1;
        } else if (strcmp(f, "--layers") == 0) bad = parse_u32(v, &s.layers);
        else if (strcmp(f, "--embd") == 0) bad = parse_u32(v, &s.embd);
        else if (strcmp(f, "--heads") == 0) bad = parse_u32(v, &s.heads);
        else if (strcmp(f, "--heads-kv") == 0) bad = parse_u32(v, &s.heads_kv);
        else if (strcmp(f, "--ff") == 0) bad = parse_u32(v, &s.ff);
        else if (strcmp(f, "--vocab") == 0) bad = parse_u32(v, &s.vocab);
        else if (strcmp(f, "--ctx") == 0) bad = parse_u32(v, &s.ctx);
        else if (strcmp(f, "--rope-base") == 0) bad = parse_f32(v, &s.rope_base);
        else if (strcmp(f, "--rms-eps") == 0) bad = parse_f32(v, &s.rms_eps);
        else if (strcmp(f, "--seed") == 0) {
            char *end;
            s.seed = strtoull(v, &end, 10);
            bad = !*v || *end;
        } else if (strcmp(f, "--type") == 0) {
            if (strcmp(v, "f32") == 0) s.type = GGUF_T_F32;
            else if (strcmp(v, "f16") == 0) s.type = GGUF_T_F16;
            else if (strcmp(v, "q8_0") == 0) s.type = GGUF_T_Q8_0;
            else bad = 1;
        } else return usage("unknown option");
        if (bad) {
            fprintf(stderr, "mkgguf: bad value '%s' for %s\n", v, f);
            return 2;
        }
    }
    char err[512];
    uint64_t bytes = 0;
    if (mkgguf_write(&s, argv[1], &bytes, err, sizeof err) != 0) {
        fprintf(stderr, "mkgguf: %s\n", err);
        return 1;
    }
    printf("mkgguf: %s: %" PRIu32 " layers, embd %" PRIu32 ", heads %" PRIu32 "/%" PRIu32 ", ff %" PRIu32
           ", vocab %" PRIu32 ", %s%s, %" PRIu64 " bytes\n",
           argv[1], s.layers, s.embd, s.heads, s.heads_kv, s.ff, s.vocab, gguf_ggml_type_name(s.type),
           s.tied ? ", tied output" : "", bytes);
    return 0;
}
