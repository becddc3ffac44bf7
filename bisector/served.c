/* served.c: the models this identity serves and checks (the `model` setting). Each is loaded from
 * its file at start and learns its on-chain id and game parameters from its ModelRegistered event
 * (fold.c; fold_model finds one by its id). Before anything else the bytes behind every root the
 * contract builds a node's VM state from (each node's descriptor, each weight tensor) are put into
 * storage, where vmjudge fetches them: phase 2 of a game on the model cannot run without them.
 * That is model_tensors_publish (storage/model_file.h): once per model, whichever identity is
 * first; the others find its record and send nothing. */
#include "bisector.h"
#include "hex.h"
#include "log.h"
#include "model_file.h"

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

int served_publish(bisector *b) {
    for (size_t i = 0; i < b->s.nmodels; i++) {
        const opml_model *m = &b->s.models[i].m;
        char err[600], hex[67];
        uint64_t sent;
        hex_encode(m->root, 32, hex);
        if (model_tensors_publish(b->st, m, &sent, err, sizeof err)) {
            log_error("model %s: its descriptors and weights could not be stored: %s", hex, err);
            return -1;
        }
        if (sent) log_info("model %s: its descriptors and weights stored (%llu bytes)", hex, (unsigned long long)sent);
        else log_info("model %s: its descriptors and weights were in storage already", hex);
    }
    return 0;
}
