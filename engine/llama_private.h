/* llama_private.h: the state that llama_session.c (models, sessions, passes of the step graph)
 * and llama_gen.c (generations, the caches' incremental roots, the states G_t, committed steps)
 * share (docs/architecture.md: x_private.h). */
#ifndef OPML_LLAMA_PRIVATE_H
#define OPML_LLAMA_PRIVATE_H

#include "engine.h"
#include "llama.h"
#include "tensor_tree.h"

#define VARIANTS 3 /* T-token graphs kept per session */

struct opml_llama {
    opml_model m;      /* the model's tables (the caller's, not freed, when borrowed: opml_llama_wrap) */
    int borrowed;
    opml_llama_hparams hp;
    llama_step g; /* the file's one-token graph as the builder makes it: value ids, kv_out */
};

typedef struct variant {
    llama_step g;
    uint32_t *buf_of;  /* per value: its buffer, or UINT32_MAX for a value in an input's bytes */
    uint32_t *root_of; /* per value: the value whose bytes it is (a Reshape's operand, a KVAppend's cache) */
    uint8_t **bufs;
    uint32_t nbufs;
    void **cache;      /* the backend's slot per node */
    uint64_t used;     /* the session's clock at the last use */
} variant;

struct opml_llama_session {
    opml_llama *model;
    opml_backend *b;
    uint32_t n_ctx, pos;
    uint8_t **kv;       /* 2 per layer: n_ctx rows of kv_row bytes */
    size_t kv_row;      /* bytes of one cache row */
    int32_t *hist;      /* the token of each position held (hist[0 .. pos)) */
    variant var[VARIANTS];
    uint64_t clock;
    void *scratch;
    size_t scratch_len;
    /* the caches' tensor roots, kept incrementally (llama_gen.c): trees[i] over cache i covers
     * rows [0, synced) as the caches hold them (made on first use) */
    opml_tensor_tree *trees;
    uint32_t synced;
    opml_run *run;      /* the committed graph's runner (llama_gen.c), made on the first committed step */
    int committed;
    uint8_t state[32];
};

/* A pass of T = |tokens| tokens at s->pos on variant v with this sampler input (20 bytes). */
int llama_pass(opml_llama_session *s, variant *v, const int32_t *tokens, const uint8_t *sampler, char *err,
               size_t errlen);
/* The variant for T tokens (built and planned if not cached), all logits or the last token's. */
variant *llama_variant(opml_llama_session *s, uint32_t T, int last_only, char *err, size_t errlen);
/* Run tokens[0..n) at s->pos in passes, each ending with the Sample node on its last token with
 * this sampler input; sampled (when not NULL) gets the last pass's token, logits (when not NULL)
 * the last token's logits. 0 or -1 + err. */
int llama_run_tokens(opml_llama_session *s, const int32_t *tokens, uint32_t n, const uint8_t *sampler,
                     int32_t *sampled, float *logits, char *err, size_t errlen);

/* llama_gen.c: the one-token committed step at s->pos (token, sampler input) on the file's graph,
 * with every root and the graph states (the caches' roots from their incremental trees); logits
 * (vocab floats) and run (the runner, its values, roots and states) when not NULL. Precondition:
 * s->pos < n_ctx. 0 or -1 + err. */
int llama_commit_one(opml_llama_session *s, int32_t token, const uint8_t *sampler, float *logits,
                     const opml_run **run, char *err, size_t errlen);
/* Bring the caches' trees to rows [0, rows) of the caches as they are (rows <= s->pos). 0 or -1
 * (out of memory for the trees). */
int llama_trees_sync(opml_llama_session *s, uint32_t rows);
/* Free what llama_gen.c made for s (trees, the committed runner). */
void llama_gen_free(opml_llama_session *s);

#endif
