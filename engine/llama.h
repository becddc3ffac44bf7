/* llama.h: LLaMA models in the engine (interface 4 of issue 13): open a converted model (mapped,
 * weights used in place), make sessions with a key/value cache, run steps of tokens and get
 * logits. `opml generate` and `opml perplexity` are written against this header.
 *
 * The model file (docs/model-format.md, "LLaMA models") holds the graph of ONE decoding step: one
 * token at position pos over caches of S positions (its model root is what gets registered and
 * disputed). A step of T tokens runs the same operators on [T, ..] shapes: every operator of the
 * graph treats tokens independently (per row, per position, causal attention over the cache), so
 * a prompt run as one T-token pass gives exactly the bits of T one-token steps (normative,
 * docs/numerics.md "LLaMA steps"; tested). The engine builds those T-token graphs itself from the
 * same builder that wrote the file's graph (numerics/model/llama_build.h), and checks at open that the builder
 * reproduces the file's graph node for node.
 *
 * Memory: the weights are the mapped file (read-only, shared with the page cache, never copied,
 * no float copy on any backend); a session adds its caches (2 x layers x n_ctx x kv_heads x
 * head_dim floats) and the values of one pass (buffers reused between nodes). */
#ifndef OPML_LLAMA_H
#define OPML_LLAMA_H

#include <stddef.h>
#include <stdint.h>

#include "llama_build.h" /* opml_llama_hparams */
#include "model.h"

typedef struct opml_llama opml_llama;
typedef struct opml_llama_session opml_llama_session;

#define OPML_LLAMA_VERIFY 1u /* open: hash every weight and compute the model root (slow on large models) */

/* Open a converted LLaMA model file (`opml convert MODEL.gguf`). Returns 0, or -1 with the reason
 * (not a file of this kind, metadata missing, a graph that is not the builder's). */
int opml_llama_open(const char *path, unsigned flags, opml_llama **out, char *err, size_t errlen);
void opml_llama_close(opml_llama *m);
const opml_llama_hparams *opml_llama_hparams_of(const opml_llama *m);
/* The committed one-token graph; its metadata section (tokenizer, llama.* keys) through
 * opml_model_meta. Its root is set only with OPML_LLAMA_VERIFY. */
const opml_model *opml_llama_model(const opml_llama *m);

/* A session: caches of n_ctx positions (1 <= n_ctx <= the model's ctx; 0 = the model's ctx),
 * zero, on backend "ref" or "blas" (threads: 0 = one per CPU; blas only). 0 or -1 + err. */
int opml_llama_session_new(opml_llama *m, uint32_t n_ctx, const char *backend, int threads,
                           opml_llama_session **out, char *err, size_t errlen);
void opml_llama_session_free(opml_llama_session *s);
uint32_t opml_llama_session_ctx(const opml_llama_session *s);
/* Positions holding tokens: the cache rows written by the steps so far. */
uint32_t opml_llama_session_pos(const opml_llama_session *s);

#define OPML_LLAMA_ALL_LOGITS 1u /* step: logits of every token (perplexity), not only the last */
#define OPML_LLAMA_COMMIT 2u     /* step: one token, run on the committed graph with every value's
                                    root and the graph states (docs/commitments.md) computed */

/* Run tokens[0..n) at positions pos .. pos+n-1. Preconditions: n >= 1, pos <= the session's pos
 * (a smaller pos first truncates: rows >= pos are zeroed, so a cache is always exactly what its
 * token history made from zero), pos + n <= n_ctx; token ids outside the vocabulary give NaN
 * logits (the graph cannot refuse data). logits: NULL, or room for vocab floats (the last
 * token's) or n * vocab floats (OPML_LLAMA_ALL_LOGITS, row t = token t). A long n runs in passes
 * of at most OPML_LLAMA_MAX_BATCH tokens: the same bits. With OPML_LLAMA_COMMIT (n must be 1)
 * the step runs on the committed graph through the engine's commitments (opml_run, engine.h),
 * S = n_ctx = the model's ctx; opml_llama_last_state gives State_n. Returns 0 or -1 + err. */
#define OPML_LLAMA_MAX_BATCH 512
int opml_llama_step(opml_llama_session *s, const int32_t *tokens, uint32_t n, uint32_t pos, unsigned flags,
                    float *logits, char *err, size_t errlen);
/* Forget positions >= n_keep (their cache rows become zero again). Precondition: n_keep <= pos. */
void opml_llama_session_truncate(opml_llama_session *s, uint32_t n_keep);
/* The last committed step's final graph state State_n (32 bytes), or NULL when none ran. */
const uint8_t *opml_llama_last_state(const opml_llama_session *s);

#endif
