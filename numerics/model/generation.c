/* generation.c: the generation commitments (generation.h, docs/generation.md). Each function is
 * the C twin of one in contracts/src/lib/Generation.sol or ModelRegistry.sol; the shared vectors
 * hold them to the same bytes. */
#include "generation.h"

#include "errmsg.h"
#include "keccak.h"
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

static void wr32be(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void wr32le(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

unsigned opml_gen_kv_height(uint32_t layers) {
    unsigned c = 0;
    while ((1ull << c) < 2ull * layers) c++;
    return c;
}

uint32_t opml_gen_token_input(uint32_t layers) { return 1u << opml_gen_kv_height(layers); }

int opml_gen_check_layout(uint32_t nin, uint32_t n, const uint32_t *input_bytes, uint32_t output_value,
                          uint32_t output_bytes, const opml_gen_facts *f, char *err, size_t errlen) {
    if (f->vocab == 0 || f->vocab > OPML_GEN_MAX_VOCAB) return opml_errf(err, errlen, "BadVocab: vocab %u", f->vocab);
    if (f->ctx < 2) return opml_errf(err, errlen, "BadContext: ctx %u, at least 2", f->ctx);
    if (f->layers == 0 || f->layers > 2048) return opml_errf(err, errlen, "BadLayers: %u layers", f->layers);
    uint32_t kv = opml_gen_token_input(f->layers);
    if (nin != kv + 3) return opml_errf(err, errlen, "BadStepInputs: %u inputs, the layout has %u", nin, kv + 3);
    static const char *const names[3] = {"token", "pos", "sampler"};
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t want = i < 2 ? OPML_GEN_TOKEN_BYTES : OPML_GEN_SAMPLER_BYTES;
        if (input_bytes[kv + i] != want)
            return opml_errf(err, errlen, "BadStepInputs: input %u (%s) has %u bytes, not %u", kv + i, names[i],
                             input_bytes[kv + i], want);
    }
    uint64_t values = (uint64_t)nin + n;
    if (f->kv_value % kv != 0 || f->kv_value < nin || (uint64_t)f->kv_value + kv > values)
        return opml_errf(err, errlen, "BadKvValue: cache outputs at value %u (2^c = %u, values %llu)", f->kv_value, kv,
                         (unsigned long long)values);
    if (output_bytes != OPML_GEN_TOKEN_BYTES || output_value < nin ||
        (output_value >= f->kv_value && output_value < f->kv_value + kv))
        return opml_errf(err, errlen, "BadSampledValue: the sampled token is value %u of %u bytes", output_value,
                         output_bytes);
    return 0;
}

void opml_gen_root(const uint8_t step_root[32], const opml_gen_facts *f, uint8_t out[32]) {
    uint8_t b[48];
    memcpy(b, step_root, 32);
    wr32be(b + 32, f->vocab);
    wr32be(b + 36, f->ctx);
    wr32be(b + 40, f->layers);
    wr32be(b + 44, f->kv_value);
    keccak256(b, sizeof b, out);
}

void opml_gen_ids_bytes(const uint32_t *ids, size_t count, uint8_t *out) {
    for (size_t i = 0; i < count; i++) wr32le(out + 4 * i, ids[i]);
}

void opml_gen_ids_from_bytes(const uint8_t *b, size_t count, uint32_t *ids) {
    for (size_t i = 0; i < count; i++)
        ids[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
}

uint32_t *opml_gen_ids_new(const uint8_t *b, size_t count) {
    uint32_t *ids = malloc(count ? 4 * count : 4);
    if (ids) opml_gen_ids_from_bytes(b, count, ids);
    return ids;
}

int opml_gen_tokens_root(const uint32_t *ids, size_t count, uint8_t out[32]) {
    uint8_t *b = malloc(count ? 4 * count : 1);
    if (!b) return -1;
    opml_gen_ids_bytes(ids, count, b);
    int rc = merkle_tensor_root(b, 4 * count, out);
    free(b);
    return rc;
}

void opml_gen_kv_root(const uint8_t (*cache_roots)[32], uint32_t layers, uint8_t out[32]) {
    unsigned c = opml_gen_kv_height(layers);
    size_t leaves = (size_t)1 << c;
    uint8_t(*l)[32] = malloc(leaves * 32);
    if (!l) abort(); /* 2^c <= 4096 leaves: 128 KiB at the registry's largest */
    for (size_t i = 0; i < leaves; i++) memcpy(l[i], i < 2ull * layers ? cache_roots[i] : merkle_zero(MERKLE_SLOT_DEPTH), 32);
    merkle_root(l, leaves * 32, c, out);
    free(l);
}

void opml_gen_state(const uint8_t tokens_root[32], const uint8_t kv_root[32], uint8_t out[32]) {
    keccak256_pair(tokens_root, kv_root, out);
}

void opml_gen_state0(uint32_t first, uint32_t layers, uint8_t out[32]) {
    uint8_t tokens[32];
    opml_gen_tokens_root(&first, 1, tokens); /* one id: no allocation can fail that matters */
    opml_gen_state(tokens, merkle_zero(MERKLE_SLOT_DEPTH + opml_gen_kv_height(layers)), out);
}

uint64_t opml_gen_draw_state(uint64_t seed, uint64_t t, uint64_t prompt_len) {
    return seed + (t + 1 - prompt_len) * OPML_GEN_GOLDEN; /* u64 arithmetic: mod 2^64, as specified */
}

void opml_gen_sampler_input(const opml_gen_sampler *s, uint64_t t, uint64_t prompt_len, uint8_t out[20]) {
    uint64_t d = opml_gen_draw_state(s->seed, t, prompt_len);
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(d >> (8 * i));
    wr32le(out + 8, s->temperature);
    wr32le(out + 12, s->top_k);
    wr32le(out + 16, s->top_p);
}

void opml_gen_step_inputs(const uint8_t (*cache_roots)[32], uint32_t layers, uint32_t token, uint64_t t,
                          const uint8_t sampler_input[20], uint8_t (*out)[32]) {
    uint32_t kv = opml_gen_token_input(layers);
    for (uint32_t i = 0; i < kv; i++) memcpy(out[i], i < 2 * layers ? cache_roots[i] : merkle_zero(MERKLE_SLOT_DEPTH), 32);
    uint8_t b[4];
    wr32le(b, token);
    merkle_tensor_root(b, 4, out[kv]);
    wr32le(b, (uint32_t)t);
    merkle_tensor_root(b, 4, out[kv + 1]);
    merkle_tensor_root(sampler_input, OPML_GEN_SAMPLER_BYTES, out[kv + 2]);
}

/* The siblings of a full path (depth of them) at the heights where bit h of idx is `bit`, into out;
 * with `trim` the trailing zero roots left off. Returns their count. */
static unsigned bit_path(const uint8_t (*full)[32], unsigned depth, uint64_t idx, unsigned bit, int trim, uint8_t (*out)[32]) {
    unsigned n = 0, kept = 0;
    for (unsigned h = 0; h < depth; h++) {
        if (((idx >> h) & 1) != bit) continue;
        memcpy(out[n++], full[h], 32);
        if (!trim || memcmp(full[h], merkle_zero(h), 32)) kept = n;
    }
    return kept;
}

int opml_gen_append_proof(const uint32_t *ids, uint64_t t, opml_gen_append *out) {
    size_t n = (size_t)t + 2;
    uint8_t *b = malloc(4 * n);
    if (!b) return -1;
    opml_gen_ids_bytes(ids, n, b);
    merkle_proof p;
    uint64_t leaf = t / OPML_GEN_IDS_PER_LEAF;
    int rc = merkle_tensor_root(b, 4 * (n - 1), out->root) || merkle_tensor_root(b, 4 * n, out->next_root) ||
             merkle_prove(b, 4 * (n - 1), MERKLE_SLOT_DEPTH, leaf, &p);
    if (!rc) {
        memcpy(out->token_leaf, p.leaf, 32);
        out->n_token_path = bit_path((const uint8_t (*)[32])p.siblings, MERKLE_SLOT_DEPTH, leaf, 1, 0, out->token_path);
    }
    free(b);
    return rc ? -1 : 0;
}

int opml_gen_prompt_proof_of(const uint32_t *prompt, uint32_t P, uint64_t t, opml_gen_prompt_proof *out) {
    if (t + 1 >= P) return -1;
    uint8_t *b = malloc((size_t)P * 4);
    if (!b) return -1;
    opml_gen_ids_bytes(prompt, P, b);
    merkle_proof p;
    uint64_t leaf = (t + 1) / OPML_GEN_IDS_PER_LEAF;
    int rc = merkle_prove(b, (size_t)P * 4, MERKLE_SLOT_DEPTH, leaf, &p);
    free(b);
    if (rc) return -1;
    memcpy(out->leaf, p.leaf, 32);
    out->n_path = bit_path((const uint8_t (*)[32])p.siblings, MERKLE_SLOT_DEPTH, leaf, 0, 1, out->path);
    return 0;
}

unsigned opml_gen_meet_height(uint32_t kv_value, unsigned c, uint32_t output_value) {
    unsigned m = merkle_meet_height(kv_value, output_value); /* the kv subtree's node is at height c */
    return m > c ? m : c;
}

int opml_gen_state_path(const uint8_t (*values)[32], size_t nvals, unsigned depth, uint32_t kv_value, unsigned c,
                        uint32_t output_value, int sampled, uint8_t (*out)[32], unsigned *count) {
    merkle_proof kv, sp;
    if (c >= depth || merkle_prove(values, nvals * 32, depth, kv_value, &kv)) return -1;
    unsigned n = 0;
    if (!sampled) {
        for (unsigned h = c; h < depth; h++) memcpy(out[n++], kv.siblings[h], 32);
        *count = n;
        return 0;
    }
    unsigned m = opml_gen_meet_height(kv_value, c, output_value);
    if (m <= c || m > depth || merkle_prove(values, nvals * 32, depth, output_value, &sp)) return -1;
    for (unsigned h = c; h + 1 < m; h++) memcpy(out[n++], kv.siblings[h], 32);
    for (unsigned h = 0; h + 1 < m; h++) memcpy(out[n++], sp.siblings[h], 32);
    for (unsigned h = m; h < depth; h++) memcpy(out[n++], sp.siblings[h], 32);
    *count = n;
    return 0;
}
