/* models.c: the executor's loaded models and their pieces in storage (models.h). */
#include "models.h"
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"

int exec_fetch_tensor(storage_client *st, const uint8_t root[32], size_t len, uint8_t **data, char *err,
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

int models_init(model_cache *c, unsigned cap, opml_backend *b, storage_client *st) {
    memset(c, 0, sizeof *c);
    c->slots = calloc(cap, sizeof *c->slots);
    c->cap = cap, c->backend = b, c->st = st;
    return c->slots ? 0 : -1;
}

static void drop(exec_model *e) {
    opml_run_free(&e->run);
    opml_model_free(&e->m);
    free(e);
}

void models_free(model_cache *c) {
    for (unsigned i = 0; i < c->count; i++) drop(c->slots[i]);
    free(c->slots);
    memset(c, 0, sizeof *c);
}

/* Take ownership of a parsed model: prepare a run for it and put it in the cache, dropping the
 * least recently used model when full. */
static exec_model *keep(model_cache *c, opml_model *m, char *err, size_t errlen) {
    exec_model *e = calloc(1, sizeof *e);
    if (!e) {
        opml_model_free(m);
        opml_errf(err, errlen, "out of memory");
        return NULL;
    }
    e->m = *m;
    if (opml_run_init(&e->run, &e->m, c->backend, err, errlen)) {
        opml_model_free(&e->m);
        free(e);
        return NULL;
    }
    if (c->count == c->cap) {
        unsigned lru = 0;
        for (unsigned i = 1; i < c->count; i++)
            if (c->slots[i]->last_used < c->slots[lru]->last_used) lru = i;
        drop(c->slots[lru]);
        c->slots[lru] = c->slots[--c->count];
    }
    e->last_used = ++c->clock;
    c->slots[c->count++] = e;
    return e;
}

static void model_key(const uint8_t root[32], uint8_t key[sizeof MODELS_KEY_PREFIX - 1 + 32]) {
    memcpy(key, MODELS_KEY_PREFIX, sizeof MODELS_KEY_PREFIX - 1);
    memcpy(key + sizeof MODELS_KEY_PREFIX - 1, root, 32);
}

int models_publish(storage_client *st, const opml_model *m, char *err, size_t errlen) {
    size_t npieces = (m->file_len + MODELS_PIECE - 1) / MODELS_PIECE;
    uint8_t *rec = malloc(8 + 32 * npieces);
    if (!rec) return opml_errf(err, errlen, "out of memory");
    for (int b = 0; b < 8; b++) rec[b] = (uint8_t)((uint64_t)m->file_len >> (56 - 8 * b));
    for (size_t i = 0; i < npieces; i++) {
        size_t off = i * MODELS_PIECE, len = m->file_len - off < MODELS_PIECE ? m->file_len - off : MODELS_PIECE;
        if (storage_client_put_tensor(st, m->file + off, len, NULL, rec + 8 + 32 * i)) {
            free(rec);
            return opml_errf(err, errlen, "storing piece %zu of the model file: %s", i, storage_client_error(st));
        }
    }
    uint8_t key[sizeof MODELS_KEY_PREFIX - 1 + 32];
    model_key(m->root, key);
    int rc = storage_client_kv_put(st, key, sizeof key, rec, 8 + 32 * npieces);
    free(rec);
    if (rc) return opml_errf(err, errlen, "storing the model record: %s", storage_client_error(st));
    return 0;
}

int models_load_file(model_cache *c, const char *path, char *err, size_t errlen) {
    opml_model m;
    if (opml_model_load(path, &m, err, errlen)) return -1;
    exec_model *e = keep(c, &m, err, errlen);
    if (!e) return -1;
    c->loads_file++;
    char hex[67], why[300];
    hex_encode(e->m.root, 32, hex);
    if (models_publish(c->st, &e->m, why, sizeof why))
        log_warn("model %s loaded from %s, but other executors cannot load it: %s", hex, path, why);
    else
        log_info("model %s loaded from %s (%u nodes) and published to storage", hex, path, e->m.n);
    return 0;
}

/* Fetch and parse the model file recorded in storage under root. */
static exec_model *from_storage(model_cache *c, const uint8_t root[32], int *code, char *err, size_t errlen) {
    char hex[67];
    hex_encode(root, 32, hex);
    uint8_t key[sizeof MODELS_KEY_PREFIX - 1 + 32], *rec = NULL, *file = NULL;
    size_t rlen;
    int found;
    model_key(root, key);
    int rc = storage_client_kv_get(c->st, key, sizeof key, &found, &rec, &rlen);
    if (rc) {
        *code = OPML_E_UNAVAILABLE;
        opml_errf(err, errlen, "storage: %s", storage_client_error(c->st));
        return NULL;
    }
    if (!found) {
        *code = OPML_E_NOT_FOUND;
        opml_errf(err, errlen, "unknown model %s: not loaded here and not in storage", hex);
        return NULL;
    }
    *code = OPML_E_INTERNAL;
    uint64_t flen = 0;
    for (size_t b = 0; b < 8 && b < rlen; b++) flen = flen << 8 | rec[b];
    size_t npieces = rlen >= 8 ? (rlen - 8) / 32 : 0;
    /* the pieces must cover the file, the last one not empty */
    if (rlen < 8 || (rlen - 8) % 32 || flen > (uint64_t)npieces * MODELS_PIECE ||
        flen + MODELS_PIECE <= (uint64_t)npieces * MODELS_PIECE) {
        free(rec);
        opml_errf(err, errlen, "model %s: malformed record in storage (%zu bytes)", hex, rlen);
        return NULL;
    }
    file = malloc(flen ? flen : 1);
    if (!file) {
        free(rec);
        opml_errf(err, errlen, "model %s: out of memory for %llu bytes", hex, (unsigned long long)flen);
        return NULL;
    }
    for (size_t i = 0; i < npieces; i++) {
        uint8_t *piece;
        size_t off = i * MODELS_PIECE, want = flen - off < MODELS_PIECE ? flen - off : MODELS_PIECE;
        char why[300];
        int rc2 = exec_fetch_tensor(c->st, rec + 8 + 32 * i, want, &piece, why, sizeof why);
        if (rc2) {
            *code = rc2 == OPML_E_UNAVAILABLE ? OPML_E_UNAVAILABLE : OPML_E_INTERNAL;
            opml_errf(err, errlen, "model %s: piece %zu: %s", hex, i, why);
            free(rec), free(file);
            return NULL;
        }
        memcpy(file + off, piece, want);
        free(piece);
    }
    free(rec);
    opml_model m;
    char why[400];
    rc = opml_model_parse(file, flen, &m, why, sizeof why);
    free(file);
    if (rc) {
        opml_errf(err, errlen, "model %s from storage: %s", hex, why);
        return NULL;
    }
    if (memcmp(m.root, root, 32)) {
        char got[67];
        hex_encode(m.root, 32, got);
        opml_errf(err, errlen, "storage's file for model %s has model root %s", hex, got);
        opml_model_free(&m);
        return NULL;
    }
    exec_model *e = keep(c, &m, err, errlen);
    if (!e) return NULL;
    c->loads_storage++;
    log_info("model %s loaded from storage (%u nodes, %llu bytes)", hex, e->m.n, (unsigned long long)flen);
    return e;
}

exec_model *models_get(model_cache *c, const uint8_t root[32], int *code, char *err, size_t errlen) {
    for (unsigned i = 0; i < c->count; i++)
        if (!memcmp(c->slots[i]->m.root, root, 32)) {
            c->slots[i]->last_used = ++c->clock;
            return c->slots[i];
        }
    return from_storage(c, root, code, err, errlen);
}
