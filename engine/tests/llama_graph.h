/* llama_graph.h: a LLaMA-shaped model built in memory with seeded random int8 weights, for the
 * transformer tests and bench/bench_transformer.c (import from GGUF comes later). One graph is one
 * step of `tokens` tokens at positions pos .. pos+tokens-1:
 *
 *   inputs   0 ids int32 [T]; 1 pos int32 [1]; 2 + 2l, 3 + 2l: layer l's key and value caches
 *            f32 [max_seq, kv_heads, head_dim]
 *   x = Embedding(ids); per layer: h = RMSNorm(x); q, k, v = QLinear(h) (reshaped to heads);
 *   q, k = Rope(q, k, pos); K, V = KVAppend(caches, k, v, pos); a = Attention(q, K, V, pos);
 *   x = x + QLinear_o(a); h = RMSNorm(x); x = x + QLinear_down(SiLU(QLinear_gate(h)) * QLinear_up(h));
 *   logits = QLinear_head(RMSNorm(x)); output: next = ArgMax(logits), int32 [T].
 *
 * The updated caches are node outputs (llama_cache_value gives their value ids): the caller feeds
 * them back as the next step's inputs. Weights depend on the seed only, not on `tokens`, so graphs
 * for a prompt (T > 1) and for decoding (T = 1) share them. */
#ifndef OPML_LLAMA_GRAPH_H
#define OPML_LLAMA_GRAPH_H

#include <stdint.h>

#include "model.h"

typedef struct llama_cfg {
    uint32_t vocab, dim, heads, kv_heads, head_dim, ffn, layers, max_seq, tokens;
    int with_head;  /* 0: no final norm, head and argmax (a bare stack of blocks; output = x) */
    uint64_t seed;
} llama_cfg;

typedef struct llama_graph {
    opml_model m;          /* committed: roots computed */
    llama_cfg cfg;
    kd_tensor *inputs;
    opml_weight *weights;
    opml_node *nodes;
    uint8_t *blob;         /* every weight's bytes */
    uint32_t *kv_out;      /* value ids of the updated caches: 2 per layer (keys, values) */
} llama_graph;

/* Builds and commits the graph. Returns 0 or -1 + err (out of memory, a shape the kernels refuse). */
int llama_build(const llama_cfg *c, llama_graph *g, char *err, size_t errlen);
void llama_free(llama_graph *g);

/* Bytes of int8 weights one block (layer) reads. */
uint64_t llama_block_weight_bytes(const llama_cfg *c);

#endif
