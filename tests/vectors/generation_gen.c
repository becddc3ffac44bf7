/* generation_gen.c: writes tests/vectors/generation.json, the generation vectors of
 * docs/generation.md that the C side produces (numerics/model/generation.c) and
 * contracts/test/Generation.t.sol checks the Solidity side against: generation roots, tokens roots,
 * kv roots (with pad caches), G_t and G_0, the token pieces of openStep (x_t's leaf and its
 * earlier siblings, the prompt's leaf and its later ones) and its state paths, the sampler input of
 * a step, the step graph's State_0 built from
 * its input leaves (the contract builds it from kvRoot alone) and the registry's layout rules.
 * Data is a fixed pseudo-random stream, so the file is the same on every run.
 *
 *   generation_gen OUT.json          write the file
 *   generation_gen --check FILE      exit 1 if FILE differs from what would be written (stale) */
#include "vector_file.h"
#include "generation.h"
#include "hex.h"
#include "keccak.h"
#include "merkle.h"
#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;

/* A fixed xorshift stream. */
static uint32_t rnd(void) {
    static uint32_t s = 0x6f706d6c;
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
}

static void hash_of(uint32_t seed, uint8_t h[32]) { keccak256(&seed, sizeof seed, h); }

static void hex(const uint8_t *b, size_t n) { vector_hex(out, b, n); }

static void hex_list(const uint8_t (*b)[32], size_t n) { vector_hex_list(out, b, n); }

static void uint_list(const uint32_t *v, size_t n) {
    fprintf(out, "[");
    for (size_t i = 0; i < n; i++) fprintf(out, "%s%u", i ? ", " : "", v[i]);
    fprintf(out, "]");
}

static void roots(void) {
    static const opml_gen_facts f[] = {{1000, 256, 4, 72}, {32000, 4096, 32, 704}, {1u << 31, 2, 1, 8}};
    fprintf(out, "  \"roots\": [");
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        uint8_t step[32], r[32];
        hash_of(100 + (uint32_t)i, step);
        opml_gen_root(step, &f[i], r);
        fprintf(out, "%s\n    {\"step_root\": ", i ? "," : "");
        hex(step, 32);
        fprintf(out, ", \"vocab\": %u, \"ctx\": %u, \"layers\": %u, \"kv_value\": %u, \"root\": ", f[i].vocab, f[i].ctx,
                f[i].layers, f[i].kv_value);
        hex(r, 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n");
}

static void tokens(void) {
    static const size_t counts[] = {1, 2, 7, 8, 9, 16, 17, 100};
    fprintf(out, "  \"tokens\": [");
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        uint32_t ids[100];
        for (size_t k = 0; k < counts[i]; k++) ids[k] = i == 0 ? 0x7fffffff : rnd() % 32000;
        uint8_t r[32];
        opml_gen_tokens_root(ids, counts[i], r);
        fprintf(out, "%s\n    {\"ids\": ", i ? "," : "");
        uint_list(ids, counts[i]);
        fprintf(out, ", \"root\": ");
        hex(r, 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n");
}

/* kv roots and G_0 for L = 1 .. 5 (pads at 3 and 5), and G over a tokens root and a kv root. */
static void states(void) {
    fprintf(out, "  \"kv\": [");
    for (uint32_t l = 1; l <= 5; l++) {
        uint8_t caches[10][32], kv[32], tok[32], g[32], g0[32];
        for (uint32_t i = 0; i < 2 * l; i++) hash_of(200 + 10 * l + i, caches[i]);
        if (l == 2) memcpy(caches[1], merkle_zero(MERKLE_SLOT_DEPTH), 32); /* a zero cache: its root is Z(23) */
        opml_gen_kv_root((const uint8_t (*)[32])caches, l, kv);
        uint32_t ids[3] = {rnd() % 1000, rnd() % 1000, rnd() % 1000};
        opml_gen_tokens_root(ids, 3, tok);
        opml_gen_state(tok, kv, g);
        uint32_t first = rnd() % 1000;
        opml_gen_state0(first, l, g0);
        fprintf(out, "%s\n    {\"layers\": %u, \"caches\": ", l > 1 ? "," : "", l);
        hex_list((const uint8_t (*)[32])caches, 2 * l);
        fprintf(out, ", \"kv_root\": ");
        hex(kv, 32);
        fprintf(out, ", \"tokens_root\": ");
        hex(tok, 32);
        fprintf(out, ", \"g\": ");
        hex(g, 32);
        fprintf(out, ", \"first\": %u, \"g0\": ", first);
        hex(g0, 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n");
}

/* openStep's token pieces at steps inside a leaf and across leaves. */
static void appends(void) {
    static const uint64_t steps[] = {0, 5, 6, 7, 8, 15, 22, 23, 63};
    fprintf(out, "  \"append\": [");
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        uint64_t t = steps[i];
        uint32_t ids[65];
        for (uint64_t k = 0; k <= t + 1; k++) ids[k] = rnd() % 1000;
        opml_gen_append a;
        if (opml_gen_append_proof(ids, t, &a)) abort();
        fprintf(out, "%s\n    {\"t\": %" PRIu64 ", \"next\": %u, \"root\": ", i ? "," : "", t, ids[t + 1]);
        hex(a.root, 32);
        fprintf(out, ", \"next_root\": ");
        hex(a.next_root, 32);
        fprintf(out, ", \"token_leaf\": ");
        hex(a.token_leaf, 32);
        fprintf(out, ", \"token_path\": ");
        hex_list((const uint8_t (*)[32])a.token_path, a.n_token_path);
        fprintf(out, ", \"cross\": %d}", (t + 1) % OPML_GEN_IDS_PER_LEAF == 0);
    }
    fprintf(out, "\n  ],\n");
}

/* openStep's prompt pieces at prompt steps (t + 1 < P): the prompt's leaf (t + 1) / 8 and its later
 * siblings, beside x_t's leaf and its earlier ones. */
static void prompts(void) {
    static const uint32_t at[][2] = {{2, 0}, {9, 7}, {20, 3}, {20, 7}, {37, 15}, {37, 30}, {100, 62}, {100, 70}}; /* P, t */
    fprintf(out, "  \"prompt\": [");
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        uint32_t P = at[i][0], t = at[i][1], ids[100];
        for (uint32_t k = 0; k < P; k++) ids[k] = rnd() % 1000;
        opml_gen_append a;
        opml_gen_prompt_proof pp;
        uint8_t root[32];
        if (opml_gen_append_proof(ids, t, &a) || opml_gen_prompt_proof_of(ids, P, t, &pp) || opml_gen_tokens_root(ids, P, root)) abort();
        fprintf(out, "%s\n    {\"t\": %u, \"ids\": ", i ? "," : "", t);
        uint_list(ids, P);
        fprintf(out, ", \"token_leaf\": ");
        hex(a.token_leaf, 32);
        fprintf(out, ", \"token_path\": ");
        hex_list((const uint8_t (*)[32])a.token_path, a.n_token_path);
        fprintf(out, ", \"prompt_leaf\": ");
        hex(pp.leaf, 32);
        fprintf(out, ", \"prompt_path\": ");
        hex_list((const uint8_t (*)[32])pp.path, pp.n_path);
        fprintf(out, ", \"prompt_root\": ");
        hex(root, 32);
        fprintf(out, ", \"next_root\": ");
        hex(a.next_root, 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n");
}

/* openStep's state paths over step runs of several layouts: a prompt step's (the kv subtree's
 * alone) and a generated step's (with the sampled token's, sharing the upper siblings). */
static void state_paths(void) {
    typedef struct {
        uint32_t nvals, c, kv, ov;
    } sc;
    /* the fortunes-sized test graph (nin 11, 61 nodes: meet at the root), the one-layer graphs
     * with 0 and 2 fillers, a sampled token right after the caches, and one far below them */
    static const sc cases[] = {{72, 3, 64, 63}, {10, 1, 8, 7}, {12, 1, 10, 9}, {40, 2, 16, 20}, {200, 3, 136, 13}};
    fprintf(out, "  \"state_path\": [");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const sc *k = &cases[i];
        uint8_t(*v)[32] = malloc((size_t)k->nvals * 32), path[16][32], kv[32], state[32];
        if (!v) abort();
        for (uint32_t j = 0; j < k->nvals; j++) hash_of(700 + 1000 * (uint32_t)i + j, v[j]);
        unsigned depth = opml_state_depth(0, k->nvals), n;
        if (merkle_root(v, (size_t)k->nvals * 32, depth, state) || merkle_subtree_root(v, (size_t)k->nvals * 32, k->kv, k->c, kv))
            abort();
        fprintf(out, "%s\n    {\"depth\": %u, \"c\": %u, \"kv_value\": %u, \"output_value\": %u, \"meet\": %u, \"kv_root\": ",
                i ? "," : "", depth, k->c, k->kv, k->ov, opml_gen_meet_height(k->kv, k->c, k->ov));
        hex(kv, 32);
        fprintf(out, ", \"sampled_root\": ");
        hex(v[k->ov], 32);
        if (opml_gen_state_path((const uint8_t (*)[32])v, k->nvals, depth, k->kv, k->c, k->ov, 0, path, &n)) abort();
        fprintf(out, ", \"prompt_path\": ");
        hex_list((const uint8_t (*)[32])path, n);
        if (opml_gen_state_path((const uint8_t (*)[32])v, k->nvals, depth, k->kv, k->c, k->ov, 1, path, &n)) abort();
        fprintf(out, ", \"path\": ");
        hex_list((const uint8_t (*)[32])path, n);
        fprintf(out, ", \"state_n\": ");
        hex(state, 32);
        fprintf(out, "}");
        free(v);
    }
    fprintf(out, "\n  ],\n");
}

static void samplers(void) {
    static const opml_gen_sampler s[] = {
        {0, 0, 0, 0}, {0x3f800000, 40, 0x3f666666, 12345}, {0x3f000000, 0, 0x3f800000, 0xffffffffffffffffull}};
    static const uint64_t at[][2] = {{0, 1}, {3, 4}, {2, 9}, {100, 7}}; /* t, P: t + 1 < P wraps */
    fprintf(out, "  \"sampler\": [");
    int first = 1;
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        for (size_t j = 0; j < sizeof at / sizeof *at; j++) {
            uint8_t in[20], r[32];
            opml_gen_sampler_input(&s[i], at[j][0], at[j][1], in);
            merkle_tensor_root(in, 20, r);
            fprintf(out, "%s\n    {\"temperature\": %u, \"top_k\": %u, \"top_p\": %u, \"seed\": \"%" PRIu64
                         "\", \"t\": %" PRIu64 ", \"prompt_length\": %" PRIu64 ", \"draw_state\": \"%" PRIu64 "\", \"input\": ",
                    first ? "" : ",", s[i].temperature, s[i].top_k, s[i].top_p, s[i].seed, at[j][0], at[j][1],
                    opml_gen_draw_state(s[i].seed, at[j][0], at[j][1]));
            hex(in, 20);
            fprintf(out, ", \"root\": ");
            hex(r, 32);
            fprintf(out, "}");
            first = 0;
        }
    fprintf(out, "\n  ],\n");
}

/* The step graph's State_0 over its full input leaves, for the contract to build from kvRoot. */
static void step_states(void) {
    static const uint32_t layers[] = {1, 2, 3, 4, 5};
    static const uint32_t nodes[] = {5, 1, 40, 61, 9};
    fprintf(out, "  \"step_state0\": [");
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
        uint32_t l = layers[i], nin = opml_gen_token_input(l) + 3;
        uint8_t caches[10][32], kv[32], in[20], leaves[19][32], s0[32];
        for (uint32_t k = 0; k < 2 * l; k++) hash_of(300 + 10 * l + k, caches[k]);
        opml_gen_kv_root((const uint8_t (*)[32])caches, l, kv);
        opml_gen_sampler s = {0x3f800000, 40, 0x3f666666, 99 + i};
        uint64_t t = 3 + 7 * i;
        uint32_t token = rnd() % 1000;
        opml_gen_sampler_input(&s, t, 5, in);
        opml_gen_step_inputs((const uint8_t (*)[32])caches, l, token, t, in, leaves);
        unsigned depth = opml_state_depth(nin, nodes[i]);
        opml_graph_state((const uint8_t (*)[32])leaves, nin, depth, s0);
        fprintf(out, "%s\n    {\"layers\": %u, \"n\": %u, \"depth\": %u, \"token\": %u, \"t\": %" PRIu64 ", \"kv_root\": ",
                i ? "," : "", l, nodes[i], depth, token, t);
        hex(kv, 32);
        fprintf(out, ", \"sampler_input\": ");
        hex(in, 20);
        fprintf(out, ", \"inputs\": ");
        hex_list((const uint8_t (*)[32])leaves, nin);
        fprintf(out, ", \"state0\": ");
        hex(s0, 32);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ],\n");
}

/* The registry's layout rules: a valid step graph and one break of each rule. */
static void layouts(void) {
    typedef struct {
        uint32_t nin, n, ob, ov, vocab, ctx, layers, kv, tokb, posb, smpb;
    } lc;
    /* L = 3: 6 caches + 2 pads, c = 3, nin 11; 61 nodes, cache outputs at 64 .. 71, sampled at 13 */
    static const lc cases[] = {
        {11, 61, 4, 13, 1000, 256, 3, 64, 4, 4, 20},       /* valid */
        {11, 61, 4, 13, 0, 256, 3, 64, 4, 4, 20},          /* BadVocab */
        {11, 61, 4, 13, (1u << 31) + 1, 256, 3, 64, 4, 4, 20},
        {11, 61, 4, 13, 1000, 1, 3, 64, 4, 4, 20},         /* BadContext */
        {11, 61, 4, 13, 1000, 256, 0, 64, 4, 4, 20},       /* BadLayers */
        {11, 61, 4, 13, 1000, 256, 2, 64, 4, 4, 20},       /* BadStepInputs: nin of L = 2 is 7 */
        {11, 61, 4, 13, 1000, 256, 3, 64, 8, 4, 20},       /* token bytes */
        {11, 61, 4, 13, 1000, 256, 3, 64, 4, 2, 20},       /* pos bytes */
        {11, 61, 4, 13, 1000, 256, 3, 64, 4, 4, 32},       /* sampler bytes */
        {11, 61, 4, 13, 1000, 256, 3, 60, 4, 4, 20},       /* BadKvValue: not aligned */
        {11, 61, 4, 13, 1000, 256, 3, 8, 4, 4, 20},        /* inputs */
        {11, 61, 4, 13, 1000, 256, 3, 72, 4, 4, 20},       /* past the graph */
        {11, 61, 4, 66, 1000, 256, 3, 64, 4, 4, 20},       /* BadSampledValue: a cache output */
        {11, 61, 4, 9, 1000, 256, 3, 64, 4, 4, 20},        /* an input */
        {11, 61, 8, 13, 1000, 256, 3, 64, 4, 4, 20},       /* 8 bytes */
        {5, 5, 4, 7, 1024, 128, 1, 8, 4, 4, 20},           /* L = 1, c = 1: valid */
    };
    fprintf(out, "  \"layout\": [");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const lc *c = &cases[i];
        uint32_t ib[11];
        for (uint32_t k = 0; k < c->nin; k++) ib[k] = 64;
        uint32_t kv = c->nin - 3;
        ib[kv] = c->tokb, ib[kv + 1] = c->posb, ib[kv + 2] = c->smpb;
        opml_gen_facts f = {c->vocab, c->ctx, c->layers, c->kv};
        char err[200], name[40] = "";
        if (opml_gen_check_layout(c->nin, c->n, ib, c->ov, c->ob, &f, err, sizeof err)) {
            size_t k = strcspn(err, ":");
            memcpy(name, err, k < sizeof name ? k : sizeof name - 1);
            name[k < sizeof name ? k : sizeof name - 1] = 0;
        }
        fprintf(out, "%s\n    {\"nin\": %u, \"n\": %u, \"input_bytes\": ", i ? "," : "", c->nin, c->n);
        uint_list(ib, c->nin);
        fprintf(out, ", \"output_value\": %u, \"output_bytes\": %u, \"vocab\": %u, \"ctx\": %u, \"layers\": %u, "
                     "\"kv_value\": %u, \"error\": \"%s\"}",
                c->ov, c->ob, c->vocab, c->ctx, c->layers, c->kv, name);
    }
    fprintf(out, "\n  ]\n");
}

static void generate(void) {
    fprintf(out, "{\n");
    roots();
    tokens();
    states();
    appends();
    prompts();
    state_paths();
    samplers();
    step_states();
    layouts();
    fprintf(out, "}\n");
}

int main(int argc, char **argv) {
    return vector_file_main(argc, argv, "generation_gen", &out, generate);
}
