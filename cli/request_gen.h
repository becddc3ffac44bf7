/* request_gen.h: the generation half of `opml request` (docs/generation.md): a prompt, given as
 * text (tokenized with the model's own tokenizer, from its file's metadata, BOS added as the model
 * was trained) or as ids, with the request's numbers, made into requestGeneration's arguments. */
#ifndef OPML_CLI_REQUEST_GEN_H
#define OPML_CLI_REQUEST_GEN_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct request_gen_opts {
    const char *prompt;      /* text, or NULL */
    const char *tokens;      /* ids, comma-separated, or NULL */
    const char *max_new;     /* default 32 */
    const char *stop;        /* an id, "eos" (the tokenizer's) or "none" (default) */
    const char *temperature; /* default 0: greedy */
    const char *top_k;       /* default 40 */
    const char *top_p;       /* default 0.95 */
    const char *seed;        /* default 0 */
} request_gen_opts;

/* requestGeneration's arguments (modelId, prompt bytes, maxNew, stopToken, sampler) for model_id,
 * the model file at model_path giving the tokenizer. Returns 0 with *args, or -1 with the reason. */
int request_gen_args(const char *model_path, long long model_id, const request_gen_opts *o, cJSON **args, char *err,
                     size_t errlen);

/* The text of ids (int32 little-endian bytes) by the model's tokenizer, malloc'd; NULL with err. */
char *request_gen_text(const char *model_path, const unsigned char *ids, size_t len, char *err, size_t errlen);

#endif
