/* models.c: the executor's loaded models (models.h); their files in storage are model_file.h's. */
#include "models.h"
#include "errmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"

int models_init(model_cache *c, unsigned cap, opml_backend *b, storage_client *st) {
    memset(c, 0, sizeof *c);
    c->slots = calloc(cap, sizeof *c->slots);
    c->cap = cap, c->backend = b, c->st = st;
    return c->slots ? 0 : -1;
}

static void drop(exec_model *e) {
    opml_llama_session_free(e->session);
    opml_llama_close(e->llama);
    if (e->run_ready) opml_run_free(&e->run);
    opml_model_free(&e->m);
    free(e);
}

void models_free(model_cache *c) {
    for (unsigned i = 0; i < c->count; i++) drop(c->slots[i]);
    free(c->slots);
    memset(c, 0, sizeof *c);
}

/* Take ownership of a parsed model and put it in the cache, dropping the least recently used
 * model when full (its runner and session are made when a request needs them). */
static exec_model *keep(model_cache *c, opml_model *m, char *err, size_t errlen) {
    exec_model *e = calloc(1, sizeof *e);
    if (!e) {
        opml_model_free(m);
        opml_errf(err, errlen, "out of memory");
        return NULL;
    }
    e->m = *m;
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

int models_load_file(model_cache *c, const char *path, char *err, size_t errlen) {
    opml_model m;
    if (opml_model_load(path, &m, err, errlen)) return -1;
    exec_model *e = keep(c, &m, err, errlen);
    if (!e) return -1;
    c->loads_file++;
    char hex[67], why[300];
    hex_encode(e->m.root, 32, hex);
    uint64_t sent;
    if (model_file_publish(c->st, &e->m, &sent, why, sizeof why))
        log_warn("model %s loaded from %s, but other executors cannot load it: %s", hex, path, why);
    else if (sent)
        log_info("model %s loaded from %s (%u nodes) and published to storage", hex, path, e->m.n);
    else
        log_info("model %s loaded from %s (%u nodes); storage had its file already", hex, path, e->m.n);
    return 0;
}

/* Fetch and parse the model file recorded in storage under root. */
static exec_model *from_storage(model_cache *c, const uint8_t root[32], int *code, char *err, size_t errlen) {
    char hex[67];
    hex_encode(root, 32, hex);
    uint8_t *file;
    size_t flen;
    if ((*code = model_file_fetch(c->st, root, &file, &flen, err, errlen))) return NULL;
    *code = OPML_E_INTERNAL;
    opml_model m;
    char why[400];
    int rc = opml_model_parse(file, flen, &m, why, sizeof why);
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

int models_run(model_cache *c, exec_model *e, char *err, size_t errlen) {
    if (e->run_ready) return 0;
    if (opml_run_init(&e->run, &e->m, c->backend, err, errlen)) return -1;
    e->run_ready = 1;
    return 0;
}

opml_llama_session *models_llama(model_cache *c, exec_model *e, char *err, size_t errlen) {
    if (e->session) return e->session;
    if (!e->llama && opml_llama_wrap(&e->m, &e->llama, err, errlen)) return NULL;
    if (opml_llama_session_new(e->llama, 0, c->backend->ops->name, 0, &e->session, err, errlen)) return NULL;
    return e->session;
}
