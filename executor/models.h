/* models.h: the executor's loaded models (docs/executor.md). A model is loaded once, from the
 * `model` file of the configuration or from storage by its model root, parsed and checked (the
 * root it hashes to must be the one asked for), prepared for the configured backend (buffers,
 * cached weights) and kept; the least recently used one is dropped when `max_models` are loaded.
 * The files themselves are kept in storage as storage/model_file.h says: models_load_file publishes
 * one, models_get fetches one it does not have. */
#ifndef OPML_EXECUTOR_MODELS_H
#define OPML_EXECUTOR_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "engine.h"
#include "llama.h"
#include "model_file.h"

typedef struct exec_model {
    opml_model m;
    opml_run run;      /* prepared for the cache's backend on first use (models_run) */
    int run_ready;
    opml_llama *llama; /* a LLaMA step graph's generation state, made on first use (models_llama) */
    opml_llama_session *session;
    uint64_t last_used;
} exec_model;

typedef struct model_cache {
    exec_model **slots;
    unsigned cap, count;
    opml_backend *backend;
    storage_client *st;
    uint64_t clock;
    uint64_t loads_file, loads_storage;
} model_cache;

/* Precondition: cap >= 1; b and st outlive the cache. Returns 0 or -1 (out of memory). */
int models_init(model_cache *c, unsigned cap, opml_backend *b, storage_client *st);
void models_free(model_cache *c);

/* Load the model file at path into the cache and publish it to storage (a storage failure is
 * logged: the model is still served here). Returns 0 or -1 + err (the file does not load). */
int models_load_file(model_cache *c, const char *path, char *err, size_t errlen);

/* The model with this root: cached, or loaded from storage now. NULL with an OPML_E_* code in
 * *code and the reason in err when storage has no such model, its file is corrupt, or storage does
 * not answer. */
exec_model *models_get(model_cache *c, const uint8_t root[32], int *code, char *err, size_t errlen);

/* e's graph runner (buffers for every value), prepared now if not yet. 0 or -1 + err. */
int models_run(model_cache *c, exec_model *e, char *err, size_t errlen);

/* e's LLaMA session (caches of the model's context, the cache's backend), made now if not yet:
 * NULL + err when e is not a LLaMA step graph (docs/model-format.md) or memory runs out. */
opml_llama_session *models_llama(model_cache *c, exec_model *e, char *err, size_t errlen);

#endif
