/* executor_private.h: the executor actor's state and what main.c (runs, inference, states,
 * values) and gen.c (generation tasks) share (docs/architecture.md: x_private.h). */
#ifndef OPML_EXECUTOR_PRIVATE_H
#define OPML_EXECUTOR_PRIVATE_H

#include "actor.h"
#include "client.h"
#include "executor.pb-c.h"
#include "models.h"

typedef struct executor {
    model_cache models;
    storage_client *st;
    opml_backend *backend;
    uint64_t runs, infers, generations, gen_steps, queries, refused;
} executor;

/* Counts the refusal and sets the reply to an opml.Error with this code and text. */
int exec_refuse(executor *x, actor_reply *reply, unsigned code, const char *what);

/* The model model_root names (32 bytes), loaded or from storage: NULL with the reply set (a
 * refusal: a root of the wrong length, a model neither loaded nor stored, storage down). */
exec_model *exec_model_for(executor *x, const ProtobufCBinaryData *model_root, actor_reply *reply);

/* Every value's tensor of the committed run r into storage (but those with skip[v] set: stored by
 * the caller, or read by no node; skip may be NULL), then the run record under (model root,
 * State_0). 0, or an OPML_E_* code with the reason in err. */
int exec_store_run(executor *x, const opml_run *r, const uint8_t *skip, char *err, size_t errlen);

/* Serve the generation requests (gen.c) on a. */
void exec_gen_register(actor *a, executor *x);

#endif
