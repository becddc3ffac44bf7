/* llama_cli.c: see llama_cli.h. */
#include "llama_cli.h"

#include "convert.h"
#include "errmsg.h"
#include "gguf_file.h"
#include "model.h"
#include "tok_gguf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_llama_open(const char *path, uint32_t n_ctx, const char *backend, int threads, cli_llama *l, char *err,
                   size_t errlen) {
    memset(l, 0, sizeof *l);
    if (opml_convert_file_format(path) == OPML_FORMAT_GGUF)
        return opml_errf(err, errlen, "%s is a GGUF file: convert it first (opml convert %s -o MODEL.opml)", path,
                         path);
    char e[512];
    if (opml_llama_open(path, 0, &l->model, e, sizeof e) != 0) return opml_errf(err, errlen, "%s: %s", path, e);
    l->hp = opml_llama_hparams_of(l->model);
    gguf_file meta;
    int rc = opml_model_meta(opml_llama_model(l->model), &meta, e, sizeof e);
    if (rc == 0) {
        rc = opml_tok_from_gguf(&meta, &l->tok, e, sizeof e);
        gguf_close(&meta);
    }
    if (rc == 0 && n_ctx > l->hp->ctx) {
        snprintf(e, sizeof e, "a context of %u positions is above the model's %u", n_ctx, l->hp->ctx);
        rc = -1;
    }
    if (rc == 0 && opml_tok_n_vocab(l->tok) != l->hp->vocab) {
        snprintf(e, sizeof e, "the tokenizer has %u tokens, the model %u", opml_tok_n_vocab(l->tok), l->hp->vocab);
        rc = -1;
    }
    if (rc == 0) rc = opml_llama_session_new(l->model, n_ctx, backend, threads, &l->session, e, sizeof e);
    if (rc != 0) {
        cli_llama_close(l);
        return opml_errf(err, errlen, "%s: %s", path, e);
    }
    return 0;
}

void cli_llama_close(cli_llama *l) {
    if (l->session) opml_llama_session_free(l->session);
    if (l->tok) opml_tok_free(l->tok);
    if (l->model) opml_llama_close(l->model);
    memset(l, 0, sizeof *l);
}

/* Bytes of the valid UTF-8 character at s (n bytes left), 0 if none starts there. */
static size_t utf8_char(const unsigned char *s, size_t n) {
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n || (len == 2 && s[0] < 0xC2)) return 0;
    uint32_t cp = len == 1 ? s[0] : s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

void cli_json_string(FILE *f, const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        size_t n = utf8_char(u + i, len - i);
        if (n == 0) {
            fputs("\\ufffd", f);
            i++;
        } else if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c), i++;
        } else if (c == '\n') {
            fputs("\\n", f), i++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(f, "\\u%04x", c), i++;
        } else {
            fwrite(u + i, 1, n, f);
            i += n;
        }
    }
    fputc('"', f);
}

void cli_json_ids(FILE *f, const int32_t *ids, size_t n) {
    fputc('[', f);
    for (size_t i = 0; i < n; i++) fprintf(f, i ? ",%d" : "%d", ids[i]);
    fputc(']', f);
}
