/* test_generation.c: the generation commitments (generation.h) against their definitions written
 * out another way: c and the input layout per layer count; kvRoot_0 = Z(23 + c) and the pad leaves;
 * G_0 from a one-id tensor; the draw state's wrap; the sampler input's bytes; the step graph's
 * inputs; the token-root update's proofs (both leaves, every step up to 40); the layout rules, each
 * broken once. (The Solidity side is held to the same bytes by tests/vectors/generation.json.) */
#include "check.h"
#include "generation.h"
#include "keccak.h"
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

static void test_layout_numbers(void) {
    static const uint32_t layers[] = {1, 2, 3, 4, 5, 16, 32};
    static const unsigned c[] = {1, 2, 3, 3, 4, 5, 6};
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
        CHECK_EQ_INT(opml_gen_kv_height(layers[i]), c[i]);
        CHECK_EQ_INT(opml_gen_token_input(layers[i]), 1u << c[i]);
    }
}

static void test_states(void) {
    uint8_t z[4][32], kv[32], want[32];
    memset(z, 0, sizeof z);
    for (int i = 0; i < 4; i++) memcpy(z[i], merkle_zero(MERKLE_SLOT_DEPTH), 32);
    opml_gen_kv_root((const uint8_t (*)[32])z, 2, kv); /* zero caches */
    CHECK_MEM(kv, merkle_zero(MERKLE_SLOT_DEPTH + 2), 32);
    opml_gen_kv_root((const uint8_t (*)[32])z, 1, kv);
    CHECK_MEM(kv, merkle_zero(MERKLE_SLOT_DEPTH + 1), 32);
    /* three layers: six caches and two pads of Z(23) */
    uint8_t caches[6][32], leaves[8][32];
    for (int i = 0; i < 6; i++) keccak256(&i, sizeof i, caches[i]);
    memcpy(leaves, caches, sizeof caches);
    memcpy(leaves[6], merkle_zero(MERKLE_SLOT_DEPTH), 32);
    memcpy(leaves[7], merkle_zero(MERKLE_SLOT_DEPTH), 32);
    opml_gen_kv_root((const uint8_t (*)[32])caches, 3, kv);
    CHECK_EQ_INT(merkle_root(leaves, sizeof leaves, 3, want), 0);
    CHECK_MEM(kv, want, 32);
    /* G_0: the first id's tensor root beside Z(23 + c) */
    uint8_t id[4] = {0x39, 0x30, 0, 0}, tok[32], g0[32];
    merkle_tensor_root(id, 4, tok);
    opml_gen_state0(12345, 4, g0);
    keccak256_pair(tok, merkle_zero(MERKLE_SLOT_DEPTH + 3), want);
    CHECK_MEM(g0, want, 32);
}

static void test_sampler(void) {
    CHECK(opml_gen_draw_state(7, 4, 5) == 7); /* t + 1 - P = 0: the first draw starts from the seed */
    CHECK(opml_gen_draw_state(7, 9, 5) == 7 + 5 * OPML_GEN_GOLDEN);
    CHECK(opml_gen_draw_state(7, 0, 5) == 7 - 4 * OPML_GEN_GOLDEN); /* a prompt step: wraps */
    opml_gen_sampler s = {0x3f800000, 40, 0x3f666666, 0x0102030405060708ull};
    uint8_t in[20];
    opml_gen_sampler_input(&s, 0, 1, in);
    static const uint8_t want[20] = {8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0x80, 0x3f, 40, 0, 0, 0, 0x66, 0x66, 0x66, 0x3f};
    CHECK_MEM(in, want, 20);
    uint8_t caches[2][32], roots[5][32], r[32];
    memset(caches, 0xab, sizeof caches);
    opml_gen_step_inputs((const uint8_t (*)[32])caches, 1, 77, 3, in, roots);
    CHECK_MEM(roots[0], caches[0], 32);
    uint8_t b[4] = {77, 0, 0, 0};
    merkle_tensor_root(b, 4, r);
    CHECK_MEM(roots[2], r, 32);
    b[0] = 3;
    merkle_tensor_root(b, 4, r);
    CHECK_MEM(roots[3], r, 32);
    merkle_tensor_root(in, 20, r);
    CHECK_MEM(roots[4], r, 32);
}

/* The full 23 siblings of a leaf from the siblings at the heights where its bit is `bit`, the
 * others zero roots (how openStep reads a token path, bit 1, and a prompt path, bit 0). */
static void expand(const uint8_t (*part)[32], unsigned n, uint64_t idx, unsigned bit, uint8_t (*full)[32]) {
    unsigned k = 0;
    for (unsigned h = 0; h < 23; h++)
        memcpy(full[h], ((idx >> h) & 1) == bit && k < n ? part[k++] : merkle_zero(h), 32);
    CHECK_EQ_INT(k, n);
}

static void test_append(void) {
    uint32_t ids[42];
    for (uint32_t i = 0; i < 42; i++) ids[i] = 1000 + 37 * i;
    for (uint64_t t = 0; t <= 40; t++) {
        opml_gen_append a;
        CHECK_EQ_INT(opml_gen_append_proof(ids, t, &a), 0);
        uint8_t r[32], next[32], full[23][32];
        CHECK_EQ_INT(opml_gen_tokens_root(ids, (size_t)t + 1, r), 0);
        CHECK_EQ_INT(opml_gen_tokens_root(ids, (size_t)t + 2, next), 0);
        CHECK_MEM(a.root, r, 32);
        CHECK_MEM(a.next_root, next, 32);
        CHECK_EQ_INT(a.n_token_path, __builtin_popcountll(t / 8)); /* one sibling per earlier subtree */
        expand((const uint8_t (*)[32])a.token_path, a.n_token_path, t / 8, 1, full);
        merkle_root_from_path(a.token_leaf, t / 8, 23, (const uint8_t (*)[32])full, r);
        CHECK_MEM(r, a.root, 32);
        uint8_t x[4] = {(uint8_t)ids[t], (uint8_t)(ids[t] >> 8), 0, 0};
        CHECK_MEM(a.token_leaf + 4 * (t % 8), x, 4);
    }
}

/* The prompt's piece: leaf (t + 1) / 8 and its later siblings, with the earlier ones (the tokens')
 * giving the prompt's root; refused where t + 1 is not a prompt id. */
static void test_prompt_proof(void) {
    uint32_t prompt[37];
    for (uint32_t i = 0; i < 37; i++) prompt[i] = 7 + 13 * i;
    uint8_t root[32];
    CHECK_EQ_INT(opml_gen_tokens_root(prompt, 37, root), 0);
    for (uint64_t t = 0; t + 1 < 37; t++) {
        opml_gen_prompt_proof pp;
        opml_gen_append a;
        CHECK_EQ_INT(opml_gen_prompt_proof_of(prompt, 37, t, &pp), 0);
        CHECK_EQ_INT(opml_gen_append_proof(prompt, t, &a), 0);
        uint64_t n = (t + 1) / 8;
        uint8_t full[23][32], r[32];
        expand((const uint8_t (*)[32])pp.path, pp.n_path, n, 0, full);
        /* the earlier siblings: those of leaf n in tokensRoot_{t+1} (all prompt ids) */
        uint8_t *b = malloc(4 * (t + 2));
        opml_gen_ids_bytes(prompt, t + 2, b);
        merkle_proof p;
        CHECK_EQ_INT(merkle_prove(b, 4 * (t + 2), 23, n, &p), 0);
        free(b);
        for (unsigned h = 0; h < 23; h++)
            if ((n >> h) & 1) memcpy(full[h], p.siblings[h], 32);
        merkle_root_from_path(pp.leaf, n, 23, (const uint8_t (*)[32])full, r);
        CHECK_MEM(r, root, 32);
        CHECK(pp.n_path == 0 || memcmp(pp.path[pp.n_path - 1], merkle_zero(0), 32)); /* no trailing zero root */
    }
    opml_gen_prompt_proof pp;
    CHECK_EQ_INT(opml_gen_prompt_proof_of(prompt, 37, 36, &pp), -1);
}

/* The state path: the kv subtree's and the sampled token's paths meet; both leaves give the root. */
static void test_state_path(void) {
    enum { NV = 40, D = 6 };
    uint8_t v[NV][32], root[32], out[2 * D][32], full[D][32], r[32];
    for (int i = 0; i < NV; i++) memset(v[i], i + 1, 32);
    CHECK_EQ_INT(merkle_root(v, sizeof v, D, root), 0);
    struct {
        uint32_t kv, c, ov;
    } cases[] = {{16, 3, 13}, {32, 3, 31}, {24, 3, 39}, {8, 2, 5}, {32, 3, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint32_t kv = cases[i].kv, c = cases[i].c, ov = cases[i].ov;
        unsigned m = opml_gen_meet_height(kv, c, ov), n;
        CHECK(m > c && m <= D && (kv >> m) == (ov >> m) && (kv >> (m - 1)) != (ov >> (m - 1)));
        uint8_t kvr[32];
        CHECK_EQ_INT(merkle_subtree_root(v, sizeof v, kv, c, kvr), 0);
        CHECK_EQ_INT(opml_gen_state_path((const uint8_t (*)[32])v, NV, D, kv, c, ov, 0, out, &n), 0);
        CHECK_EQ_INT(n, D - c);
        merkle_root_from_path(kvr, kv >> c, D - c, (const uint8_t (*)[32])out, r);
        CHECK_MEM(r, root, 32);
        CHECK_EQ_INT(opml_gen_state_path((const uint8_t (*)[32])v, NV, D, kv, c, ov, 1, out, &n), 0);
        CHECK_EQ_INT(n, D + m - c - 2);
        /* the kv side up to m - 1, the sampled side up to m - 1, joined, then the shared siblings */
        uint8_t a[32];
        merkle_root_from_path(kvr, kv >> c, m - 1 - c, (const uint8_t (*)[32])out, a);
        memcpy(full, out + (m - 1 - c), (m - 1) * 32);
        memcpy(full[m - 1], a, 32);
        memcpy(full + m, out + (2 * m - 2 - c), (D - m) * 32);
        merkle_root_from_path(v[ov], ov, D, (const uint8_t (*)[32])full, r);
        CHECK_MEM(r, root, 32);
    }
    CHECK_EQ_INT(opml_gen_state_path((const uint8_t (*)[32])v, NV, D, 16, 3, 17, 1, out, &(unsigned){0}), -1); /* inside */
}

static void test_layout_rules(void) {
    uint32_t ib[11] = {64, 64, 64, 64, 64, 64, 64, 64, 4, 4, 20};
    opml_gen_facts f = {1000, 256, 3, 64};
    char err[200];
    CHECK_EQ_INT(opml_gen_check_layout(11, 61, ib, 13, 4, &f, err, sizeof err), 0);
    struct {
        opml_gen_facts f;
        uint32_t nin, ov, ob, token_bytes;
        const char *why;
    } bad[] = {
        {{0, 256, 3, 64}, 11, 13, 4, 4, "BadVocab"},
        {{1000, 1, 3, 64}, 11, 13, 4, 4, "BadContext"},
        {{1000, 256, 0, 64}, 11, 13, 4, 4, "BadLayers"},
        {{1000, 256, 4, 64}, 12, 13, 4, 4, "BadStepInputs"},
        {{1000, 256, 3, 64}, 11, 13, 4, 2, "BadStepInputs: input 8 (token)"},
        {{1000, 256, 3, 60}, 11, 13, 4, 4, "BadKvValue"},
        {{1000, 256, 3, 72}, 11, 13, 4, 4, "BadKvValue"},
        {{1000, 256, 3, 64}, 11, 65, 4, 4, "BadSampledValue"},
        {{1000, 256, 3, 64}, 11, 3, 4, 4, "BadSampledValue"},
        {{1000, 256, 3, 64}, 11, 13, 2, 4, "BadSampledValue"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint32_t b[12] = {64, 64, 64, 64, 64, 64, 64, 64, 4, 4, 20, 20};
        b[8] = bad[i].token_bytes;
        CHECK_EQ_INT(opml_gen_check_layout(bad[i].nin, 61, b, bad[i].ov, bad[i].ob, &bad[i].f, err, sizeof err), -1);
        CHECK(!strncmp(err, bad[i].why, strlen(bad[i].why)));
    }
}

/* ids to int32 little-endian bytes and back */
static void test_ids_bytes(void) {
    const uint32_t ids[3] = {1, 342, 0x7fffffffu};
    uint8_t b[12];
    uint32_t back[3];
    opml_gen_ids_bytes(ids, 3, b);
    CHECK(b[4] == 0x56 && b[5] == 1 && b[6] == 0 && b[11] == 0x7f);
    opml_gen_ids_from_bytes(b, 3, back);
    CHECK(back[0] == 1 && back[1] == 342 && back[2] == 0x7fffffffu);
}

int main(void) {
    test_ids_bytes();
    test_layout_numbers();
    test_states();
    test_sampler();
    test_append();
    test_prompt_proof();
    test_state_path();
    test_layout_rules();
    return check_summary("test_generation");
}
