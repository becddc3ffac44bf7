/* llama_cli.h: what `opml generate` and `opml perplexity` share: a converted LLaMA model opened
 * with its session and its tokenizer (from the model's metadata section, nothing else needed),
 * and JSON text output (number flags: cli_num.h). */
#ifndef OPML_CLI_LLAMA_H
#define OPML_CLI_LLAMA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_num.h" /* the number flags */
#include "llama.h"
#include "tokenizer.h"

typedef struct cli_llama {
    opml_llama *model;
    opml_llama_session *session;
    opml_tok *tok;
    const opml_llama_hparams *hp;
} cli_llama;

/* Opens path (a model converted by `opml convert`; a GGUF file is refused with the command that
 * converts it), a session of n_ctx positions (0: the model's) on backend with threads, and the
 * tokenizer of its metadata. 0, or -1 with the reason in err (nothing left open). */
int cli_llama_open(const char *path, uint32_t n_ctx, const char *backend, int threads, cli_llama *l, char *err,
                   size_t errlen);
void cli_llama_close(cli_llama *l);


/* len bytes as a JSON string (quotes included): control characters escaped, valid UTF-8 kept,
 * any byte that is not part of valid UTF-8 written as U+FFFD. */
void cli_json_string(FILE *f, const char *s, size_t len);
/* n ids as a JSON array. */
void cli_json_ids(FILE *f, const int32_t *ids, size_t n);

#endif
