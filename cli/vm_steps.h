/* vm_steps.h: how many VM steps a model's nodes take in the pinned guest, measured by running them.
 *
 * A model's phase-2 step bound 2^stepsLog2 (ModelRegistry, docs/game.md) must cover the longest run
 * of any of its nodes in the guest: an honest submitter claims a halted state at step 2^stepsLog2,
 * and a node still running there can never be played honestly. `opml register` chooses or checks
 * stepsLog2 with vm_steps_longest; test_vm_llama measures LLaMA files with the same functions.
 *
 * The measure is a real run: the model runs natively with its commitments (engine/engine.h), each
 * node is loaded into the VM from the roots as the contract has them (vm_model.h) and run until it
 * halts; its output root must equal the engine's. What is run:
 *   - a classifier: the graph on a fixed synthetic input (float inputs uniform in [0, 1), integer
 *     inputs 1 + i % 7, bools i % 2): valid token ids for any vocabulary of 8 or more, and no
 *     padding (id 0), the costliest case of the attention models (fewer keys are masked);
 *   - a generation model (a LLaMA step graph, docs/generation.md): the step at a position of the
 *     context (the last one, ctx - 1, for the bound: Attention reads the cache up to the position,
 *     so its run is longest there), after the earlier positions were replayed natively, sampling
 *     with top-k all and top-p 0.9 (the whole heap order: Sample's longest run).
 * vm_steps_longest runs one node of each distinct descriptor (operator, shapes, attributes): nodes
 * with equal descriptors run the same guest code on the same shapes, so a LLaMA model's layers are
 * measured once, not once per layer. Runs differ with the data only by the guest's data-dependent
 * branches (its soft-float arithmetic, comparisons): VM_STEPS_MARGIN covers that. */
#ifndef OPML_VM_STEPS_H
#define OPML_VM_STEPS_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "llama.h"

/* The step bound chosen for a measured run of S steps leaves S / VM_STEPS_MARGIN_DIV (12.5%) of
 * room for runs on other data: the least L with 2^L >= S + S / 8. */
#define VM_STEPS_MARGIN_DIV 8
/* The registry's bounds on stepsLog2 (BadStepBound): VM steps are uint64 in the game. */
#define VM_STEPS_LOG2_MIN 1
#define VM_STEPS_LOG2_MAX 62

/* A model's committed native run, its values as the contract has them (view): what its nodes are
 * run in the VM from. */
typedef struct vm_steps_run {
    const opml_model *m;
    const opml_run *view;
    int generation;    /* a LLaMA step graph */
    uint32_t position; /* the step's position (a generation model), else 0 */
    /* private */
    opml_backend *backend;
    opml_run run, gen_view;
    void *input;
    opml_llama *llama;
    opml_llama_session *session;
    int32_t *ids;
    uint8_t **before, **values;
} vm_steps_run;

/* Runs m natively (m loaded with its roots; it must outlive s): a classifier on the synthetic
 * input, a generation model at `position` (UINT32_MAX: the last of its context; else < ctx), the
 * earlier positions replayed natively first (minutes for a 7B model at a long context). s needs
 * vm_steps_free either way. 0, or -1 + err. */
int vm_steps_prepare(vm_steps_run *s, const opml_model *m, uint32_t position, char *err, size_t errlen);
void vm_steps_free(vm_steps_run *s);

/* Runs node `node` of s's model in the VM until it halts (at most max_step steps) and sets *steps.
 * 0, or -1 + err: the node does not load, faults, exits with an error, runs past max_step, or
 * halts with an output root other than the engine's. */
int vm_steps_node(const vm_steps_run *s, uint32_t node, uint64_t max_step, uint64_t *steps, char *err,
                  size_t errlen);

/* Called after each node run of vm_steps_longest (NULL: none). */
typedef void (*vm_steps_fn)(void *user, uint32_t node, uint64_t steps, double seconds);

typedef struct vm_steps_longest_result {
    uint64_t steps; /* the most VM steps of any node run */
    uint32_t node;  /* the node that took them */
    uint32_t runs;  /* nodes run: one per distinct descriptor */
    double seconds; /* the VM runs' time */
} vm_steps_longest_result;

/* The longest run of s's nodes in the VM: one node of each distinct descriptor (the first of
 * equals) run by vm_steps_node with the registry's largest bound 2^VM_STEPS_LOG2_MAX. 0, or -1 +
 * err naming the node that failed. */
int vm_steps_longest(const vm_steps_run *s, vm_steps_fn on_run, void *user, vm_steps_longest_result *out, char *err,
                     size_t errlen);

/* The least L >= VM_STEPS_LOG2_MIN with 2^L >= steps (the bare need), and with 2^L >= steps +
 * steps / VM_STEPS_MARGIN_DIV (the chosen bound). Either may exceed VM_STEPS_LOG2_MAX. */
unsigned vm_steps_log2_need(uint64_t steps);
unsigned vm_steps_log2_choose(uint64_t steps);

#endif
