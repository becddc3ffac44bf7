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

#include "engine.h"
#include "generation.h"
#include "llama_build.h" /* opml_llama_hparams */
#include "model.h"

typedef struct opml_llama opml_llama;
typedef struct opml_llama_session opml_llama_session;

#define OPML_LLAMA_VERIFY 1u /* open: hash every weight and compute the model root (slow on large models) */

/* Open a converted LLaMA model file (`opml convert MODEL.gguf`). Returns 0, or -1 with the reason
 * (not a file of this kind, metadata missing, a graph that is not the builder's). */
int opml_llama_open(const char *path, unsigned flags, opml_llama **out, char *err, size_t errlen);
/* The same over a model already loaded and checked (an executor's, parsed with every root): m
 * must outlive the result, which does not free it. 0, or -1 + err (not a LLaMA step graph). */
int opml_llama_wrap(const opml_model *m, opml_llama **out, char *err, size_t errlen);
void opml_llama_close(opml_llama *m);
const opml_llama_hparams *opml_llama_hparams_of(const opml_llama *m);
/* The committed one-token graph; its metadata section (tokenizer, llama.* keys) through
 * opml_model_meta. Its root is set only with OPML_LLAMA_VERIFY. */
const opml_model *opml_llama_model(const opml_llama *m);

/* The generation facts of the file's step graph (ModelRegistry.registerGeneration's spec). */
void opml_llama_gen_facts(const opml_llama *m, opml_gen_facts *f);

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
                                    root and the graph states (docs/commitments.md) computed; the
                                    sampler input is greedy's (zero) */

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
/* Cache i (0 .. 2 x layers - 1: layer i / 2's keys when i is even, values when odd) as the steps
 * so far made it: n_ctx rows of llama_cache_row_bytes, *bytes of them. */
const void *opml_llama_session_cache(const opml_llama_session *s, uint32_t i, size_t *bytes);
/* The token ids the session's positions hold (opml_llama_session_pos of them). */
const int32_t *opml_llama_session_tokens(const opml_llama_session *s);
/* Forget positions >= n_keep (their cache rows become zero again). Precondition: n_keep <= pos. */
void opml_llama_session_truncate(opml_llama_session *s, uint32_t n_keep);
/* The last committed step's final graph state State_n (32 bytes), or NULL when none ran. */
const uint8_t *opml_llama_last_state(const opml_llama_session *s);

/* ---- generation tasks (docs/generation.md) ---- */

/* A generation request: the prompt x_0 .. x_{P-1}, at most max_new new tokens, the stop token
 * (OPML_GEN_NO_STOP: none) and the sampler (binary32 bits, the seed). */
typedef struct opml_llama_request {
    const int32_t *prompt;
    uint32_t prompt_len, max_new, stop;
    opml_gen_sampler sampler;
} opml_llama_request;

/* The request's checks as InferenceOracle.requestGeneration makes them (P >= 1, max_new >= 1,
 * P + max_new <= the model's context, ids and the stop token in the vocabulary, temperature
 * finite and not negative, top-p in (0, 1] when sampling). 0, or -1 + err naming the rule. */
int opml_llama_check_request(const opml_llama *m, const opml_llama_request *q, char *err, size_t errlen);

/* Called with each new token as it is chosen (streaming); NULL for none. */
typedef void (*opml_llama_token_fn)(void *user, int32_t id);

/* Run the whole generation of q from empty caches: the prompt in batches, then one step per new
 * token, each token chosen by the graph's Sample node with step t's sampler input; it stops after
 * max_new tokens or at the first equal to the stop token (included). out (room for max_new) gets
 * the M new ids, *m their count. The session then holds T = P + M - 1 positions (the last token
 * is not run). Precondition: P + max_new <= n_ctx. 0 or -1 + err (a refused request). */
int opml_llama_generate(opml_llama_session *s, const opml_llama_request *q, int32_t *out, uint32_t *m,
                        opml_llama_token_fn on_token, void *user, char *err, size_t errlen);

/* The generation states G_t (docs/generation.md) of the ids x_0 .. x_T (ids[0 .. count), count =
 * T + 1 >= 1, the prompt then the generated tokens, count - 1 <= n_ctx) for every t = 0 .. T:
 * states[t] = keccak256(tokensRoot_t ++ kvRoot_t), with tokens_roots[t] and kv_roots[t] (each
 * array may be NULL, else room for count). x_0 .. x_{T-1} are replayed in batches (no sampling:
 * the ids are given; what the session already holds of them is kept) and the caches' roots are
 * extended row by row from their incremental trees: the hashing grows with the rows written.
 * The session then holds T positions. 0 or -1 + err. */
int opml_llama_gen_states(opml_llama_session *s, const int32_t *ids, uint32_t count, uint8_t (*states)[32],
                          uint8_t (*tokens_roots)[32], uint8_t (*kv_roots)[32], char *err, size_t errlen);

/* Make the session hold ids[0 .. n) (n <= n_ctx): the positions it holds that agree are kept, the
 * rest run in batches. Then the caches are those of step n (opml_llama_session_cache). 0 or -1 +
 * err. */
int opml_llama_replay(opml_llama_session *s, const int32_t *ids, uint32_t n, char *err, size_t errlen);

/* Step t of a generation with all its commitments: ids[0 .. t] are x_0 .. x_t, prompt_len P and
 * sampler the request's; the caches at step t are replayed from x_0 .. x_{t-1} (what the session
 * holds of them is kept), then x_t runs on the file's one-token graph with every value's root and
 * the graph states State_0 .. State_n (the caches' roots before and after from their incremental
 * trees, the rest hashed as the nodes run). *run (valid until the session's next committed step)
 * holds the values, roots and states; its values of the caches are the session's caches after
 * the step (the inputs' bytes before it are the caches of the session at t: take them first).
 * Precondition: the session's n_ctx is the model's context. 0 or -1 + err. */
int opml_llama_commit_step(opml_llama_session *s, const int32_t *ids, uint32_t t, uint32_t prompt_len,
                           const opml_gen_sampler *sampler, const opml_run **run, char *err, size_t errlen);

#endif
