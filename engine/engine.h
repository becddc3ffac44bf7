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

typedef struct opml_run opml_run;
/* Fills r->roots[v] of the given values (opml_run_given) after the last node of a committed run. */
typedef void (*opml_roots_fn)(void *user, opml_run *r);

struct opml_run {
    const opml_model *m;
    opml_backend *backend;
    uint8_t **values;       /* nin + n buffers, values[v] holds kd_nbytes(&m->values[v]) bytes */
    uint8_t *bound;         /* per value: 1 when values[v] is the caller's buffer (opml_run_bind) */
    uint8_t *given;         /* per value: 1 when the caller gives its root (opml_run_given) */
    opml_roots_fn fill;
    void *fill_user;
    uint8_t (*roots)[32];   /* tensor root of each value (after a committed run) */
    uint8_t (*states)[32];  /* State_0 .. State_n (after a committed run) */
    struct opml_commit *commit; /* the hashing plan and helper thread, made on the first committed run */
    void **cache;           /* one backend cache slot per node */
    void *scratch;
    size_t scratch_len;
};

/* Prepare buffers to run model m (which must outlive r) on backend b. Returns 0 or -1 + err. */
int opml_run_init(opml_run *r, const opml_model *m, opml_backend *b, char *err, size_t errlen);
/* Run the graph on nin inputs (inputs[i] of input_len[i] bytes, which must be exactly the input
 * tensor's size). commit: also compute value roots and states. Returns 0 or -1 + err (wrong
 * input size, a node that fails, out of memory for the commitments). Not reentrant on one r. */
int opml_run_exec(opml_run *r, const void *const *inputs, const size_t *input_len, int commit, char *err,
                  size_t errlen);
/* Value v lives in buf from now on (the caller's, at least kd_nbytes of it, kept alive while r
 * runs; never freed by r): a LLaMA cache used in place by its graph input and by the KVAppend
 * that writes it (the graph's last nodes, so no node reads the input after the append). An input
 * whose bytes are given at buf itself is not copied. 0 or -1 (v out of range). */
int opml_run_bind(opml_run *r, uint32_t v, void *buf);
/* The roots of these values are the caller's (a cache whose root is kept incrementally): a
 * committed run does not hash them and, after its last node, calls fill(user, r), which must set
 * r->roots[v] for each of them; then the states are computed. Call before the first committed
 * run. 0 or -1 (a value out of range, or called after a committed run). */
int opml_run_given(opml_run *r, const uint32_t *values, size_t count, opml_roots_fn fill, void *user);
/* The output value's bytes and size. */
const float *opml_run_output(const opml_run *r, size_t *nbytes);
void opml_run_free(opml_run *r);

#endif
