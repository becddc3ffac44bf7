/* served.c: the models this identity serves and checks (the `model` setting). Each is loaded from
 * its file at start and learns its on-chain id and game parameters from its ModelRegistered event
 * (fold.c; fold_model finds one by its id). Before anything else the bytes behind every root the contract builds a node's VM state
 * from (each node's descriptor, each weight tensor) are put into storage, where vmjudge fetches
 * them: phase 2 of a game on the model cannot run without them. */
#include "bisector.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

int served_load(bisector *b, const char *list, char *err, size_t errlen) {
    char copy[4096], why[600];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save, *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (b->s.nmodels == FOLD_MAX_MODELS) return opml_errf(err, errlen, "model %s: too many models", p);
        if (opml_model_load(p, &b->s.models[b->s.nmodels].m, why, sizeof why)) return opml_errf(err, errlen, "model %s: %s", p, why);
        b->s.nmodels++;
    }
    return 0;
}

/* Puts model m's node descriptors and weights into storage. Returns 0 or -1. */
static int publish_model(bisector *b, const opml_model *m) {
    uint8_t root[32];
    for (uint32_t i = 0; i < m->n; i++)
        if (storage_client_put_tensor(b->st, m->nodes[i].desc, KD_BYTES, m->nodes[i].desc_root, root)) goto bad;
    for (uint32_t i = 0; i < m->nweights; i++)
        if (storage_client_put_tensor(b->st, m->weights[i].data, (size_t)kd_nbytes(&m->weights[i].t), m->weights[i].root, root))
            goto bad;
    return 0;
bad:
    log_error("model: its descriptors and weights could not be stored: %s", storage_client_error(b->st));
    return -1;
}

int served_publish(bisector *b) {
    for (size_t i = 0; i < b->s.nmodels; i++)
        if (publish_model(b, &b->s.models[i].m)) return -1;
    return 0;
}
