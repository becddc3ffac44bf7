/* model_file.c: a model file kept in storage as pieces and a record (model_file.h). */
#include "model_file.h"
#include "errmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

int storage_fetch_exact(storage_client *st, const uint8_t root[32], size_t len, uint8_t **data, char *err,
                        size_t errlen) {
    uint8_t *got;
    size_t have;
    int code = storage_client_get_tensor(st, root, &got, &have);
    if (code) {
        snprintf(err, errlen, "storage: %s", storage_client_error(st));
        return code == OPML_E_NOT_FOUND ? OPML_E_NOT_FOUND : OPML_E_UNAVAILABLE;
    }
    for (size_t i = len; i < have; i++)
        if (got[i]) {
            free(got);
            snprintf(err, errlen, "the stored tensor has %zu bytes, more than the %zu expected", have, len);
            return OPML_E_BAD_REQUEST;
        }
    if (have < len) {
        uint8_t *p = realloc(got, len);
        if (!p) {
            free(got);
            snprintf(err, errlen, "out of memory");
            return OPML_E_INTERNAL;
        }
        memset(p + have, 0, len - have);
        got = p;
    }
    *data = got;
    return 0;
}

static void model_key(const uint8_t root[32], uint8_t key[sizeof MODEL_FILE_KEY_PREFIX - 1 + 32]) {
    memcpy(key, MODEL_FILE_KEY_PREFIX, sizeof MODEL_FILE_KEY_PREFIX - 1);
    memcpy(key + sizeof MODEL_FILE_KEY_PREFIX - 1, root, 32);
}

int model_file_publish(storage_client *st, const opml_model *m, char *err, size_t errlen) {
    size_t npieces = (m->file_len + MODEL_FILE_PIECE - 1) / MODEL_FILE_PIECE;
    uint8_t *rec = malloc(8 + 32 * npieces);
    if (!rec) return opml_errf(err, errlen, "out of memory");
    for (int b = 0; b < 8; b++) rec[b] = (uint8_t)((uint64_t)m->file_len >> (56 - 8 * b));
    for (size_t i = 0; i < npieces; i++) {
        size_t off = i * MODEL_FILE_PIECE,
               len = m->file_len - off < MODEL_FILE_PIECE ? m->file_len - off : MODEL_FILE_PIECE;
        if (storage_client_put_tensor(st, m->file + off, len, NULL, rec + 8 + 32 * i)) {
            free(rec);
            return opml_errf(err, errlen, "storing piece %zu of the model file: %s", i, storage_client_error(st));
        }
    }
    uint8_t key[sizeof MODEL_FILE_KEY_PREFIX - 1 + 32];
    model_key(m->root, key);
    int rc = storage_client_kv_put(st, key, sizeof key, rec, 8 + 32 * npieces);
    free(rec);
    if (rc) return opml_errf(err, errlen, "storing the model record: %s", storage_client_error(st));
    return 0;
}

int model_file_fetch(storage_client *st, const uint8_t root[32], uint8_t **out, size_t *out_len, char *err,
                     size_t errlen) {
    char hex[67];
    hex_encode(root, 32, hex);
    uint8_t key[sizeof MODEL_FILE_KEY_PREFIX - 1 + 32], *rec = NULL, *file = NULL;
    size_t rlen;
    int found;
    model_key(root, key);
    if (storage_client_kv_get(st, key, sizeof key, &found, &rec, &rlen)) {
        opml_errf(err, errlen, "storage: %s", storage_client_error(st));
        return OPML_E_UNAVAILABLE;
    }
    if (!found) {
        opml_errf(err, errlen, "unknown model %s: not loaded here and not in storage", hex);
        return OPML_E_NOT_FOUND;
    }
    uint64_t flen = 0;
    for (size_t b = 0; b < 8 && b < rlen; b++) flen = flen << 8 | rec[b];
    size_t npieces = rlen >= 8 ? (rlen - 8) / 32 : 0;
    /* the pieces must cover the file, the last one not empty */
    if (rlen < 8 || (rlen - 8) % 32 || flen > (uint64_t)npieces * MODEL_FILE_PIECE ||
        flen + MODEL_FILE_PIECE <= (uint64_t)npieces * MODEL_FILE_PIECE) {
        free(rec);
        opml_errf(err, errlen, "model %s: malformed record in storage (%zu bytes)", hex, rlen);
        return OPML_E_INTERNAL;
    }
    file = malloc(flen ? flen : 1);
    if (!file) {
        free(rec);
        opml_errf(err, errlen, "model %s: out of memory for %llu bytes", hex, (unsigned long long)flen);
        return OPML_E_INTERNAL;
    }
    for (size_t i = 0; i < npieces; i++) {
        uint8_t *piece;
        size_t off = i * MODEL_FILE_PIECE, want = flen - off < MODEL_FILE_PIECE ? flen - off : MODEL_FILE_PIECE;
        char why[300];
        int rc = storage_fetch_exact(st, rec + 8 + 32 * i, want, &piece, why, sizeof why);
        if (rc) {
            opml_errf(err, errlen, "model %s: piece %zu: %s", hex, i, why);
            free(rec), free(file);
            return rc == OPML_E_UNAVAILABLE ? OPML_E_UNAVAILABLE : OPML_E_INTERNAL;
        }
        memcpy(file + off, piece, want);
        free(piece);
    }
    free(rec);
    *out = file;
    *out_len = flen;
    return 0;
}
