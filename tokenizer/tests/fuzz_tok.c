/* fuzz_tok.c: the tokenizer's fuzz target. The input is u16 text length L, L bytes of text, then a
 * GGUF file: when the GGUF parses and its tokenizer.ggml.* metadata builds a tokenizer, the text is
 * encoded (plain and with special tokens parsed), every id is checked to be in the vocabulary and
 * decoded, and the decoding streams through the UTF-8 holder; whatever the vocabulary. */
#include "tok_gguf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t tl = (size_t)(data[0] | data[1] << 8);
    if (tl > size - 2) tl = size - 2;
    const char *text = (const char *)data + 2;
    gguf_file g;
    char err[256];
    if (gguf_parse(data + 2 + tl, size - 2 - tl, &g, err, sizeof err) != 0) return 0;
    opml_tok *t;
    if (opml_tok_from_gguf(&g, &t, err, sizeof err) == 0) {
        for (unsigned flags = 0; flags < 4; flags++) {
            int32_t *ids;
            size_t n;
            if (opml_tok_encode(t, text, tl, flags, &ids, &n, err, sizeof err) != 0) abort();
            for (size_t i = 0; i < n; i++)
                if (ids[i] < 0 || (uint32_t)ids[i] >= opml_tok_n_vocab(t)) abort();
            char *d;
            size_t dl;
            if (opml_tok_decode(t, ids, n, flags & 2 ? OPML_TOK_SHOW_SPECIAL : 0, &d, &dl, err, sizeof err) != 0)
                abort();
            char out[64];
            opml_tok_utf8 u = {0};
            for (size_t i = 0; i < dl; i += 16) opml_tok_utf8_put(&u, d + i, dl - i < 16 ? dl - i : 16, out);
            opml_tok_utf8_flush(&u, out);
            free(d);
            free(ids);
        }
        opml_tok_free(t);
    }
    gguf_close(&g);
    return 0;
}
