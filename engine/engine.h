/* engine.h: the graph runner. Runs a loaded model's nodes in their order on one backend and, when
 * asked, computes the commitments of docs/commitments.md: the tensor root of every value and the
 * graph states State_0 .. State_n. The hashing (one Keccak permutation per 32 bytes of every
 * value) costs several times the inference of a small model, so it overlaps it: a helper thread
 * hashes each value in chunks as soon as its node has run, the caller's thread joins it after
 * the last node, then all trees and all states are finished level by level, eight parents per
 * AVX-512 permutation batch (docs/numerics.md, "Host acceleration"). */
#ifndef OPML_ENGINE_H
#define OPML_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"

typedef struct opml_run {
    const opml_model *m;
    opml_backend *backend;
    uint8_t **values;       /* nin + n buffers, values[v] holds kd_nbytes(&m->values[v]) bytes */
    uint8_t (*roots)[32];   /* tensor root of each value (after a committed run) */
    uint8_t (*states)[32];  /* State_0 .. State_n (after a committed run) */
    struct opml_commit *commit; /* the hashing plan and helper thread, made on the first committed run */
    void **cache;           /* one backend cache slot per node */
    void *scratch;
    size_t scratch_len;
} opml_run;

/* Prepare buffers to run model m (which must outlive r) on backend b. Returns 0 or -1 + err. */
int opml_run_init(opml_run *r, const opml_model *m, opml_backend *b, char *err, size_t errlen);
/* Run the graph on nin inputs (inputs[i] of input_len[i] bytes, which must be exactly the input
 * tensor's size). commit: also compute value roots and states. Returns 0 or -1 + err (wrong
 * input size, a node that fails, out of memory for the commitments). Not reentrant on one r. */
int opml_run_exec(opml_run *r, const void *const *inputs, const size_t *input_len, int commit, char *err,
                  size_t errlen);
/* The output value's bytes and size. */
const float *opml_run_output(const opml_run *r, size_t *nbytes);
void opml_run_free(opml_run *r);

#endif
