/* gguf_import.h: `opml convert MODEL.gguf`: a GGUF file of the llama architecture (as llama.cpp's
 * converters write it) to an opml model file (docs/model-format.md, "LLaMA models").
 *
 * Reads llama.* hyperparameters (embedding length, blocks, feed-forward length, heads, kv heads,
 * key length, rope base and dimension count, RMS epsilon, context length) and the tensors
 * token_embd, blk.N.attn_norm|attn_q|attn_k|attn_v|attn_output|ffn_norm|ffn_gate|ffn_up|ffn_down,
 * output_norm, output (absent: tied to token_embd) and rope_freqs (LLaMA-3.1's frequency factors,
 * optional). Matrices of type F32 and F16 are quantized to Q8_0 by ggml's reference rule; Q8_0
 * ones are copied block for block; norms are F32 (F16 widened exactly). Any other tensor type, an
 * unknown tensor, another architecture or a rope scaling is refused with a message naming it.
 * Matrices larger than one VM slot are written as row parts (llama_build.h). The graph is the
 * one-token step over `ctx` cache positions; the metadata section holds every key of the GGUF
 * (but general.alignment) and the opml.llama.* keys the engine reads.
 *
 * The output is written to a temporary file beside it, checked by loading it (every root
 * computed), then renamed: nothing half-written is ever left under the output's name. */
#ifndef OPML_GGUF_IMPORT_H
#define OPML_GGUF_IMPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct gguf_import_opts {
    uint32_t ctx; /* cache positions of the step graph; 0: llama.context_length, capped so that a
                     cache fits one VM slot */
} gguf_import_opts;

/* Convert in_path to out_path. On success *root is the model root and *nodes, *weights, *bytes
 * describe the file. Returns 0, or -1 with the reason in err (out_path untouched). */
int gguf_import(const char *in_path, const char *out_path, const gguf_import_opts *o, uint8_t root[32],
                uint32_t *nodes, uint32_t *weights, uint64_t *bytes, char *err, size_t errlen);

#endif
