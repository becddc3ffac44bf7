/* models.h: the executor's loaded models (docs/executor.md). A model is loaded once, from the
 * `model` file of the configuration or from storage by its model root, parsed and checked (the
 * root it hashes to must be the one asked for), prepared for the configured backend (buffers,
 * cached weights) and kept; the least recently used one is dropped when `max_models` are loaded.
 *
 * In storage, a model file is kept as pieces of at most MODELS_PIECE bytes, each a tensor, and the
 * key-value pair  "exec/model/" ++ modelRoot(32)  ->  u64 file length (big-endian) ++ the pieces'
 * tensor roots. models_publish writes them (an executor started with a model file, `opml register`);
 * any executor can then load the model by its root. */
#ifndef OPML_EXECUTOR_MODELS_H
#define OPML_EXECUTOR_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "engine.h"

#define MODELS_PIECE (32u << 20)
#define MODELS_KEY_PREFIX "exec/model/"

typedef struct exec_model {
    opml_model m;
    opml_run run;      /* prepared for the cache's backend */
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

/* The tensor with this root as exactly `len` bytes (a malloc'd *data, never NULL). A tensor root
 * does not fix a length (docs/commitments.md: zero bytes past the data do not change it), so
 * storage may hold the same root with fewer bytes (zero-extended here) or more (accepted when
 * the extra bytes are zero). Returns 0, or an OPML_E_* code with the reason in err. */
int exec_fetch_tensor(storage_client *st, const uint8_t root[32], size_t len, uint8_t **data, char *err,
                      size_t errlen);

/* Precondition: cap >= 1; b and st outlive the cache. Returns 0 or -1 (out of memory). */
int models_init(model_cache *c, unsigned cap, opml_backend *b, storage_client *st);
void models_free(model_cache *c);

/* Writes the model's file to storage as pieces and its record (above), so that any executor can
 * load the model by its root. Precondition: m was parsed or loaded from a file (m->file holds its
 * m->file_len bytes; a model assembled in memory has no file). Writing a model that is stored
 * already stores the same again. Returns 0, or -1 with the reason (the storage client's) in err. */
int models_publish(storage_client *st, const opml_model *m, char *err, size_t errlen);

/* Load the model file at path into the cache and publish it to storage (a storage failure is
 * logged: the model is still served here). Returns 0 or -1 + err (the file does not load). */
int models_load_file(model_cache *c, const char *path, char *err, size_t errlen);

/* The model with this root: cached, or loaded from storage now. NULL with an OPML_E_* code in
 * *code and the reason in err when storage has no such model, its file is corrupt, or storage does
 * not answer. */
exec_model *models_get(model_cache *c, const uint8_t root[32], int *code, char *err, size_t errlen);

#endif
