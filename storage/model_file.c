/* model_file.c: a model kept in storage: its file as pieces and a record, its tensors and a record
 * (model_file.h). */
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

#define FILE_KEY_BYTES (sizeof MODEL_FILE_KEY_PREFIX - 1 + 32)
#define TENSORS_KEY_BYTES (sizeof MODEL_TENSORS_KEY_PREFIX - 1 + 32)

/* key = prefix ++ root (the caller's buffer holds strlen(prefix) + 32 bytes) */
static void record_key(const char *prefix, const uint8_t root[32], uint8_t *key) {
    size_t n = strlen(prefix);
    memcpy(key, prefix, n);
    memcpy(key + n, root, 32);
}

/* The file record of model root: on 0, *rec (malloc'd: u64 length ++ piece roots) with *flen and
 * *npieces checked to fit each other. OPML_E_UNAVAILABLE, OPML_E_NOT_FOUND or OPML_E_INTERNAL (a
 * malformed record) otherwise, with the reason in err. */
static int file_record_get(storage_client *st, const uint8_t root[32], uint8_t **rec, uint64_t *flen, size_t *npieces,
                           char *err, size_t errlen) {
    char hex[67];
    hex_encode(root, 32, hex);
    uint8_t key[FILE_KEY_BYTES];
    size_t rlen;
    int found;
    record_key(MODEL_FILE_KEY_PREFIX, root, key);
    if (storage_client_kv_get(st, key, sizeof key, &found, rec, &rlen)) {
        opml_errf(err, errlen, "storage: %s", storage_client_error(st));
        return OPML_E_UNAVAILABLE;
    }
    if (!found) {
        opml_errf(err, errlen, "unknown model %s: not loaded here and not in storage", hex);
        return OPML_E_NOT_FOUND;
    }
    *flen = 0;
    for (size_t b = 0; b < 8 && b < rlen; b++) *flen = *flen << 8 | (*rec)[b];
    *npieces = rlen >= 8 ? (rlen - 8) / 32 : 0;
    /* the pieces must cover the file, the last one not empty */
    if (rlen < 8 || (rlen - 8) % 32 || *flen > (uint64_t)*npieces * MODEL_FILE_PIECE ||
        *flen + MODEL_FILE_PIECE <= (uint64_t)*npieces * MODEL_FILE_PIECE) {
        free(*rec);
        *rec = NULL;
        opml_errf(err, errlen, "model %s: malformed record in storage (%zu bytes)", hex, rlen);
        return OPML_E_INTERNAL;
    }
    return 0;
}

/* Whether storage holds the tensor: 1, 0, or -1 when it does not answer (reason in err). */
static int tensor_stored(storage_client *st, const uint8_t root[32], char *err, size_t errlen) {
    int found;
    uint64_t len;
    if (storage_client_stat_tensor(st, root, &found, &len))
        return opml_errf(err, errlen, "storage: %s", storage_client_error(st));
    return found != 0;
}

/* Whether the model's file is published: its record well-formed and every piece it names stored.
 * 1, 0, or -1 when storage does not answer. */
static int file_published(storage_client *st, const uint8_t root[32], char *err, size_t errlen) {
    uint8_t *rec;
    uint64_t flen;
    size_t npieces;
    int rc = file_record_get(st, root, &rec, &flen, &npieces, err, errlen);
    if (rc) return rc == OPML_E_UNAVAILABLE ? -1 : 0;
    int have = 1;
    for (size_t i = 0; have == 1 && i < npieces; i++) have = tensor_stored(st, rec + 8 + 32 * i, err, errlen);
    free(rec);
    return have;
}

int model_file_publish(storage_client *st, const opml_model *m, uint64_t *sent, char *err, size_t errlen) {
    if (sent) *sent = 0;
    int have = file_published(st, m->root, err, errlen);
    if (have) return have < 0 ? -1 : 0;
    size_t npieces = (m->file_len + MODEL_FILE_PIECE - 1) / MODEL_FILE_PIECE;
    uint8_t *rec = malloc(8 + 32 * npieces);
    if (!rec) return opml_errf(err, errlen, "out of memory");
    for (int b = 0; b < 8; b++) rec[b] = (uint8_t)((uint64_t)m->file_len >> (56 - 8 * b));
    /* Pieces stored by a publish cut short are not written again (the server finds them), but
     * they are sent: their roots are known only once hashed, as the server hashes them anyway. */
    for (size_t i = 0; i < npieces; i++) {
        size_t off = i * MODEL_FILE_PIECE,
               len = m->file_len - off < MODEL_FILE_PIECE ? m->file_len - off : MODEL_FILE_PIECE;
        if (storage_client_put_tensor(st, m->file + off, len, NULL, rec + 8 + 32 * i)) {
            free(rec);
            return opml_errf(err, errlen, "storing piece %zu of the model file: %s", i, storage_client_error(st));
        }
        if (sent) *sent += len;
    }
    uint8_t key[FILE_KEY_BYTES];
    record_key(MODEL_FILE_KEY_PREFIX, m->root, key);
    int rc = storage_client_kv_put(st, key, sizeof key, rec, 8 + 32 * npieces); /* last: see model_file.h */
    free(rec);
    if (rc) return opml_errf(err, errlen, "storing the model record: %s", storage_client_error(st));
    return 0;
}

/* Puts one tensor of the model unless storage holds it. Returns 0 or -1. */
static int put_missing(storage_client *st, const void *data, size_t len, const uint8_t root[32], uint64_t *sent,
                       char *err, size_t errlen) {
    int have = tensor_stored(st, root, err, errlen);
    if (have) return have < 0 ? -1 : 0;
    uint8_t got[32];
    if (storage_client_put_tensor(st, data, len, root, got))
        return opml_errf(err, errlen, "storage: %s", storage_client_error(st));
    *sent += len;
    return 0;
}

int model_tensors_publish(storage_client *st, const opml_model *m, uint64_t *sent, char *err, size_t errlen) {
    uint64_t bytes = 0;
    if (sent) *sent = 0;
    uint8_t key[TENSORS_KEY_BYTES], *rec = NULL;
    size_t rlen;
    int found;
    record_key(MODEL_TENSORS_KEY_PREFIX, m->root, key);
    if (storage_client_kv_get(st, key, sizeof key, &found, &rec, &rlen))
        return opml_errf(err, errlen, "storage: %s", storage_client_error(st));
    free(rec);
    if (found) return 0; /* written last: every tensor is there */
    char why[400];
    for (uint32_t i = 0; i < m->n; i++)
        if (put_missing(st, m->nodes[i].desc, KD_BYTES, m->nodes[i].desc_root, &bytes, why, sizeof why))
            return opml_errf(err, errlen, "node %u's descriptor: %s", i, why);
    for (uint32_t i = 0; i < m->nweights; i++)
        if (put_missing(st, m->weights[i].data, (size_t)kd_nbytes(&m->weights[i].t), m->weights[i].root, &bytes, why,
                        sizeof why))
            return opml_errf(err, errlen, "weight %u: %s", i, why);
    uint8_t count[4];
    uint32_t n = m->n + m->nweights;
    for (int b = 0; b < 4; b++) count[b] = (uint8_t)(n >> (24 - 8 * b));
    if (storage_client_kv_put(st, key, sizeof key, count, sizeof count))
        return opml_errf(err, errlen, "storing the model's tensors record: %s", storage_client_error(st));
    if (sent) *sent = bytes;
    return 0;
}

int model_file_fetch(storage_client *st, const uint8_t root[32], uint8_t **out, size_t *out_len, char *err,
                     size_t errlen) {
    char hex[67];
    hex_encode(root, 32, hex);
    uint8_t *rec, *file;
    uint64_t flen;
    size_t npieces;
    int code = file_record_get(st, root, &rec, &flen, &npieces, err, errlen);
    if (code) return code;
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
