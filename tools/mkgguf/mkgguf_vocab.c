/* mkgguf_vocab.c: a SentencePiece-shaped vocabulary of n tokens: <unk> (unknown), <s> and </s>
 * (control), the 256 byte tokens <0x00>..<0xFF>, then normal tokens by falling frequency: U+2581
 * ("▁", the space), the 94 printable ASCII characters, then for L = 1, 2, ... every string s of L
 * letters a-z as "▁" + s and (from L = 2) s, until n tokens. Every normal token longer than one
 * character is its prefix plus one character, so the merges reach it. Scores: 0 for the specials
 * and bytes, -k for the k-th normal token (SentencePiece's convention). */
#include "mkgguf.h"

#include "gguf_file.h"

#include <stdio.h>
#include <string.h>

#define SPACE_MARK "\xe2\x96\x81"
#define N_SPECIAL 3
#define N_BYTES 256
#define MAX_TOKEN 32

/* The k-th token's text (k < n) into buf; returns its type. */
static int32_t token(uint32_t k, char *buf) {
    if (k < N_SPECIAL) {
        static const char *sp[N_SPECIAL] = {"<unk>", "<s>", "</s>"};
        strcpy(buf, sp[k]);
        return k == 0 ? 2 : 3; /* unknown, control */
    }
    k -= N_SPECIAL;
    if (k < N_BYTES) {
        snprintf(buf, MAX_TOKEN, "<0x%02X>", k);
        return 6; /* byte */
    }
    k -= N_BYTES;
    if (k == 0) {
        strcpy(buf, SPACE_MARK);
        return 1;
    }
    k -= 1;
    if (k < 94) {
        buf[0] = (char)('!' + k), buf[1] = 0;
        return 1;
    }
    k -= 94;
    /* strings of L letters: 26^L with the mark first, then (L >= 2) 26^L without */
    for (uint32_t len = 1;; len++) {
        uint64_t count = 1;
        for (uint32_t i = 0; i < len; i++) count *= 26;
        for (int mark = 1; mark >= (len >= 2 ? 0 : 1); mark--) {
            if (k < count) {
                size_t o = 0;
                if (mark) memcpy(buf, SPACE_MARK, 3), o = 3;
                for (uint32_t i = 0; i < len; i++) { /* most significant letter first */
                    uint64_t div = count;
                    for (uint32_t j = 0; j <= i; j++) div /= 26;
                    buf[o++] = (char)('a' + (k / div) % 26);
                }
                buf[o] = 0;
                return 1;
            }
            k -= (uint32_t)count;
        }
    }
}

void mkgguf_vocab(gb *b, uint32_t n) {
    char t[MAX_TOKEN];
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    gb_kv_str(b, "tokenizer.ggml.pre", "default");
    gb_kv_arr(b, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, n);
    for (uint32_t k = 0; k < n; k++) {
        token(k, t);
        gb_str(b, t);
    }
    gb_kv_arr(b, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, n);
    for (uint32_t k = 0; k < n; k++) {
        float s = token(k, t) == 1 ? -(float)(k - N_SPECIAL - N_BYTES) : 0.0f;
        gb_bytes(b, &s, 4);
    }
    gb_kv_arr(b, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, n);
    for (uint32_t k = 0; k < n; k++) {
        int32_t ty = token(k, t);
        gb_bytes(b, &ty, 4);
    }
    gb_kv_u32(b, "tokenizer.ggml.unknown_token_id", 0);
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
    gb_kv_u32(b, "tokenizer.ggml.eos_token_id", 2);
    gb_kv_bool(b, "tokenizer.ggml.add_bos_token", 1);
    gb_kv_bool(b, "tokenizer.ggml.add_eos_token", 0);
}
