/* llama_build.h: the LLaMA step graph (docs/model-format.md, "LLaMA models"; laid out as
 * docs/generation.md "The step graph" says), built from the hyperparameters and the weights in
 * their canonical order. One builder for the importer (which writes the one-token graph into the
 * model file) and the engine (which builds T-token graphs of the same operators for prompts, and
 * checks that the file's graph is the builder's).
 *
 *   inputs   [0, 2L): the caches, 2l layer l's keys and 2l + 1 its values [S, kv_heads, head_dim],
 *            Q8_0 (f32 when head_dim is not a multiple of 32); [2L, 2^c): pads, int32 [1], zero
 *            (c = opml_gen_kv_height(L): the caches and pads are State_0's aligned kv subtree);
 *            2^c token ids int32 [T]; 2^c + 1 pos int32 [1]; 2^c + 2 the sampler int32 [5]
 *   x = Embedding(ids, token_embd parts)
 *   per layer: h = RMSNorm(x, attn_norm); q, k, v = Q8Linear(h, attn_q | attn_k | attn_v),
 *     reshaped to heads; q, k = Rope(q | k, cos, sin, pos) (adjacent pairs: llama.cpp's NORM);
 *     a = Attention(q, K, k, V, v, pos) (the caches before the step and the new rows apart;
 *     scale 1/sqrt(head_dim)); x = x + Q8Linear(a, attn_output); h = RMSNorm(x, ffn_norm);
 *     x = x + Q8Linear(SiLU(Q8Linear(h, ffn_gate)) * Q8Linear(h, ffn_up), ffn_down)
 *   logits = Q8Linear(RMSNorm(x, output_norm), output parts, or token_embd's when tied)
 *            f32 [T, vocab] (a one-row Slice of x first when only the last token's are wanted)
 *   token = Sample(logits, sampler): the graph's output, int32 [1]
 *   then Reshapes of pos until the next value id is a multiple of 2^c, the 2L KVAppend(cache i,
 *   its new rows, pos) in cache order and a Reshape of each pad input: the updated caches are the
 *   values kv_value .. kv_value + 2^c - 1, State_n's aligned kv subtree.
 * A Q8_0 matrix larger than one VM slot (2^28 bytes) is stored as row parts of at most a slot
 * each; its product is one Q8Linear per part and a Concat of their outputs.
 *
 * Canonical weight order: token_embd parts; rope cos [S, head_dim/2]; rope sin; per layer
 * attn_norm, attn_q parts, attn_k parts, attn_v parts, attn_output parts, ffn_norm, ffn_gate parts,
 * ffn_up parts, ffn_down parts; output_norm; output parts (none when tied). */
#ifndef OPML_LLAMA_BUILD_H
#define OPML_LLAMA_BUILD_H

#include <stdint.h>

#include "generation.h"
#include "model.h"

/* Hyperparameters of a LLaMA model (the importer reads them from the GGUF; the engine from a
 * converted model's metadata section). */
typedef struct opml_llama_hparams {
    uint32_t vocab, dim, layers, heads, kv_heads, head_dim, ffn;
    uint32_t ctx;      /* S: positions of the committed graph's caches and rope tables */
    float rms_eps;     /* llama.attention.layer_norm_rms_epsilon */
    float rope_base;   /* llama.rope.freq_base */
    int tied_output;   /* the output layer is token_embd's table */
} opml_llama_hparams;

#define LLAMA_MAX_PARTS 11 /* row parts of one matrix (Embedding takes at most 11 table operands) */

enum llama_wkind { LLAMA_W_MATRIX, LLAMA_W_VECTOR, LLAMA_W_ROPE_COS, LLAMA_W_ROPE_SIN };

/* One weight of the canonical list: its tensor, the GGUF tensor it comes from (matrices and
 * vectors) and, for a matrix part, the first row it holds. */
typedef struct llama_wdesc {
    kd_tensor t;
    enum llama_wkind kind;
    char name[48];
    uint32_t row0;
} llama_wdesc;

/* The caches' dtype (KD_Q8_0, or KD_F32 when head_dim is not a multiple of 32) and the bytes of
 * one cache row (one position: kv_heads x head_dim values). */
unsigned llama_cache_dtype(const opml_llama_hparams *hp);
uint64_t llama_cache_row_bytes(const opml_llama_hparams *hp);

/* Row parts of a Q8_0 matrix [rows, k]: the count, and rows per part (the last one holds the rest). */
uint32_t llama_parts(uint32_t rows, uint32_t k, uint32_t *rows_per_part);

/* Check hp (multiples of 32, heads a multiple of kv_heads, even head_dim, slot sizes, part
 * counts). 0 or -1 + err naming what is wrong. */
int llama_check_hparams(const opml_llama_hparams *hp, char *err, size_t errlen);

/* The canonical weight list of hp (hp checked): out (NULL to count only) gets the entries; returns
 * their number. */
uint32_t llama_weight_list(const opml_llama_hparams *hp, llama_wdesc *out);

/* A built step graph. m.weights is the caller's array (not owned); inputs and nodes are owned. */
typedef struct llama_step {
    opml_model m;
    kd_tensor *inputs;
    opml_node *nodes;
    uint32_t T, S;
    int last_only;
    uint32_t caches;                        /* 2L: inputs [0, 2L) are the caches */
    uint32_t in_token, in_pos, in_sampler;  /* input ids: 2^c, 2^c + 1, 2^c + 2 */
    uint32_t logits, sampled;               /* value ids of the logits and of the token (the output) */
    uint32_t *kv_out; /* 2^c value ids from kv_value on: the updated caches, then the pads' Reshapes */
    uint32_t *kv_new; /* per cache: the value id of the step's new rows (f32 [T, kv_heads, head_dim]) */
} llama_step;

/* The generation facts of a one-token graph g of hp (what registerGeneration takes beside it). */
void llama_gen_facts(const opml_llama_hparams *hp, const llama_step *g, opml_gen_facts *f);

/* Build and check (opml_model_check, no hashing) the graph of T tokens over caches of S positions
 * on weights w (nw of them, shaped as llama_weight_list says). last_only: logits of the last
 * token only. 0 or -1 + err. */
int llama_step_build(const opml_llama_hparams *hp, opml_weight *w, uint32_t nw, uint32_t T, uint32_t S, int last_only,
                llama_step *g, char *err, size_t errlen);
void llama_step_free(llama_step *g);

/* The rope tables [S, head_dim/2]: angle = p * theta_i with theta_i = rope_base^(-2i/head_dim)
 * (divided by freq_factors[i] when given: LLaMA-3.1's rope_freqs), computed in binary64 by
 * + - * / only (docs/numerics.md, "Conversion-time arithmetic"), rounded once to binary32. */
void llama_rope_tables(const opml_llama_hparams *hp, uint32_t S, const float *freq_factors, float *cos_t, float *sin_t);

#endif
