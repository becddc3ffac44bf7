/* generation.h: the generation commitments of docs/generation.md (normative), the C half of
 * contracts/src/lib/Generation.sol and of ModelRegistry.registerGeneration; shared vectors in
 * tests/vectors/generation.json (tests/vectors/generation_gen.c writes them from these functions,
 * contracts/test/Generation.t.sol checks the Solidity side against them).
 *
 *   - token ids are int32 little-endian, 4 bytes each; tokensRoot_t = tensor root of x_0 .. x_t;
 *   - kvRoot = the Merkle root of height c = ceil(log2 2L) over the 2L cache tensor roots (K_0,
 *     V_0, K_1, V_1, ...) followed by Z(23) pad leaves (an all-zero tensor's root); all caches
 *     zero: kvRoot_0 = Z(23 + c);
 *   - G_t = keccak256(tokensRoot_t ++ kvRoot_t); G_0 = G over the first prompt id and kvRoot_0;
 *   - the step graph's inputs: leaves [0, 2^c) the caches and pads, then token (int32 [1]), pos
 *     (int32 [1]) and the sampler input (20 bytes: the draw state u64, temperature, top-k, top-p
 *     u32, all little-endian); the draw state of step t is seed + (t + 1 - P) * GOLDEN mod 2^64;
 *   - a generation model's root: keccak256(stepRoot ++ vocab ++ ctx ++ layers ++ kvValue), the
 *     integers uint32 big-endian. */
#ifndef OPML_GENERATION_H
#define OPML_GENERATION_H

#include <stddef.h>
#include <stdint.h>

#define OPML_GEN_NO_STOP 0xFFFFFFFFu       /* a request's stop token that never stops */
#define OPML_GEN_TOKEN_BYTES 4u            /* the token and pos inputs, the sampled token */
#define OPML_GEN_SAMPLER_BYTES 20u         /* the sampler input */
#define OPML_GEN_IDS_PER_LEAF 8u
#define OPML_GEN_GOLDEN 0x9E3779B97F4A7C15ull
#define OPML_GEN_MAX_VOCAB (1u << 31)

/* What a generation model registers beside its step graph (ModelRegistry.GenerationSpec). */
typedef struct opml_gen_facts {
    uint32_t vocab, ctx, layers, kv_value;
} opml_gen_facts;

/* A request's sampler: binary32 bits for temperature and top-p (docs/numerics.md, "Sampling"). */
typedef struct opml_gen_sampler {
    uint32_t temperature, top_k, top_p;
    uint64_t seed;
} opml_gen_sampler;

/* c = ceil(log2(2L)): the kv subtree has 2^c leaves. Precondition: layers >= 1. */
unsigned opml_gen_kv_height(uint32_t layers);

/* The step graph's input value ids: token 2^c, pos 2^c + 1, sampler 2^c + 2; nin = 2^c + 3. */
uint32_t opml_gen_token_input(uint32_t layers);

/* The registry's layout rules for a step graph of nin inputs and n nodes (docs/generation.md, "The
 * step graph"): returns 0, or -1 with err starting with the registry's error name (BadVocab,
 * BadContext, BadLayers, BadStepInputs, BadKvValue, BadSampledValue). The registry also bounds ctx
 * by the deployment's byte limits (4 ctx <= maxInputBytes and maxOutputBytes), which only it knows:
 * here ctx >= 2 only. */
int opml_gen_check_layout(uint32_t nin, uint32_t n, const uint32_t *input_bytes, uint32_t output_value,
                          uint32_t output_bytes, const opml_gen_facts *f, char *err, size_t errlen);

/* The generation root over the step graph's model root and the facts. */
void opml_gen_root(const uint8_t step_root[32], const opml_gen_facts *f, uint8_t out[32]);

/* ids as int32 little-endian bytes (4 * count of them). */
void opml_gen_ids_bytes(const uint32_t *ids, size_t count, uint8_t *out);

/* The inverse: count ids from 4 * count int32 little-endian bytes. */
void opml_gen_ids_from_bytes(const uint8_t *b, size_t count, uint32_t *ids);

/* The same into a new array the caller frees; NULL when out of memory. */
uint32_t *opml_gen_ids_new(const uint8_t *b, size_t count);

/* tokensRoot of ids[0 .. count). Returns 0 or -1 (out of memory, or more ids than a slot holds). */
int opml_gen_tokens_root(const uint32_t *ids, size_t count, uint8_t out[32]);

/* kvRoot over the 2L cache roots, padded with Z(23) to 2^c leaves. */
void opml_gen_kv_root(const uint8_t (*cache_roots)[32], uint32_t layers, uint8_t out[32]);

/* G = keccak256(tokensRoot ++ kvRoot). */
void opml_gen_state(const uint8_t tokens_root[32], const uint8_t kv_root[32], uint8_t out[32]);

/* G_0 of a prompt starting with id `first` on a model of `layers` layers. */
void opml_gen_state0(uint32_t first, uint32_t layers, uint8_t out[32]);

/* The splitmix64 state before step t's draw: seed + (t + 1 - P) * GOLDEN mod 2^64. */
uint64_t opml_gen_draw_state(uint64_t seed, uint64_t t, uint64_t prompt_len);

/* The sampler input of step t (20 bytes). */
void opml_gen_sampler_input(const opml_gen_sampler *s, uint64_t t, uint64_t prompt_len, uint8_t out[20]);

/* The tensor roots of the step graph's nin inputs at step t: the caches (2L roots), Z(23) pads,
 * then token, pos and the sampler input. out has room for 2^c + 3 roots. */
void opml_gen_step_inputs(const uint8_t (*cache_roots)[32], uint32_t layers, uint32_t token, uint64_t t,
                          const uint8_t sampler_input[20], uint8_t (*out)[32]);

/* The token pieces of openStep at step t (DisputeGame.StepOpening, docs/generation.md "Opening a
 * token step"): x_t's leaf l = t / 8 of tokensRoot_t and its siblings at the heights h where bit h
 * of l is 1 (subtrees of earlier ids), leaf level first: popcount(l) of them (at the other heights
 * the sibling is Z(h), ids after t being zero); the roots before and after id t + 1 is written. */
typedef struct opml_gen_append {
    uint8_t root[32], next_root[32];
    uint8_t token_leaf[32];
    unsigned n_token_path;
    uint8_t token_path[23][32];
} opml_gen_append;

/* ids[0 .. t + 1] are x_0 .. x_{t+1}. Returns 0 or -1 (out of memory). */
int opml_gen_append_proof(const uint32_t *ids, uint64_t t, opml_gen_append *out);

/* The prompt's piece of openStep at a prompt step t (t + 1 < P): leaf n = (t + 1) / 8 of the
 * prompt's tensor and its siblings at the heights h where bit h of n is 0 (later prompt ids), leaf
 * level first, the trailing zero roots left off (at the 1 bits the contract takes
 * tokensRoot_{t+1}'s, the same earlier ids). */
typedef struct opml_gen_prompt_proof {
    uint8_t leaf[32];
    unsigned n_path;
    uint8_t path[23][32];
} opml_gen_prompt_proof;

/* prompt[0 .. P) the prompt's ids; requires t + 1 < P. Returns 0 or -1 (out of memory, t out of
 * range). */
int opml_gen_prompt_proof_of(const uint32_t *prompt, uint32_t P, uint64_t t, opml_gen_prompt_proof *out);

/* The height at which the step graph's kv subtree (node kv_value >> c at height c) and the sampled
 * token's leaf output_value meet in its state tree (Generation.meetHeight); above c for a layout
 * the registry accepts (the sampled token is not a cache output). */
unsigned opml_gen_meet_height(uint32_t kv_value, unsigned c, uint32_t output_value);

/* openStep's state path over a step run's nvals value leaves (the rest zero) in the state tree of
 * depth D (Generation.stateNFrom): without `sampled` (a prompt step) the kv subtree's D - c
 * siblings from height c up; with it the kv subtree's siblings from height c up to m - 2, the
 * sampled token leaf's from height 0 up to m - 2, then their common ones from height m up (m =
 * opml_gen_meet_height; at m - 1 each path's node is the other's sibling): D + m - c - 2 in all.
 * out has room for 2 D; *count is set. Returns 0 or -1 (out of memory, a value out of the tree, or
 * a layout the registry refuses). */
int opml_gen_state_path(const uint8_t (*values)[32], size_t nvals, unsigned depth, uint32_t kv_value, unsigned c,
                        uint32_t output_value, int sampled, uint8_t (*out)[32], unsigned *count);

#endif
