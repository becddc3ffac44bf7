/* tok_gguf.h: a tokenizer from a GGUF file's tokenizer.ggml.* metadata, with llama.cpp's defaults
 * for the "llama" kind where a key is absent (bos 1, eos 2, unk 0, add_bos 1, add_eos 0,
 * add_space_prefix 1, scores 0, types normal). */
#ifndef OPML_TOK_GGUF_H
#define OPML_TOK_GGUF_H

#include "gguf_file.h"
#include "tokenizer.h"

/* 0, or -1 with the reason (a missing or mistyped key, or what opml_tok_new refuses). */
int opml_tok_from_gguf(const gguf_file *g, opml_tok **out, char *err, size_t errlen);

#endif
