/* vm_trace.h: a recorded run with checkpoints, so that "the state hash at step j" or "the proof
 * of step j" for any j costs a re-run from the nearest checkpoint, not from step 0 (the queries of
 * a phase-2 bisection, docs/game.md).
 *
 * vm_trace_record() runs the machine to its end once, saving every `interval` steps the registers
 * and the pages written since the previous checkpoint (with their hashes). Seeking to step j
 * rebuilds memory from the initial image plus the newest saved copy of each page up to the
 * checkpoint at or before j, then runs forward; seeks forward from the current position just run. */
#ifndef OPML_VM_TRACE_H
#define OPML_VM_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"
#include "vm_proof.h"

typedef struct vm_ckpt vm_ckpt;

typedef struct vm_trace {
    vm base;             /* the initial machine, never run */
    vm cur;              /* the working machine, at step cur.step */
    uint64_t interval;   /* steps between checkpoints */
    vm_ckpt *ckpts;      /* checkpoint k (k >= 1) at step k * interval */
    size_t nckpts;
    uint64_t final_step; /* the step at which the run halted or was cut off */
    uint8_t halted;      /* the run halted (exited or faulted) by final_step */
} vm_trace;

/* Takes over the initial machine *initial (which must be at step 0 and is left empty) and records
 * its run until it halts or reaches max_step. interval > 0. Returns 0, or -1 out of memory. */
int vm_trace_record(vm_trace *t, vm *initial, uint64_t max_step, uint64_t interval);

/* The same, asking stop(arg) at every checkpoint whether to give up (a process shutting down):
 * returns -2 when it did (t must still be freed). */
int vm_trace_record_until(vm_trace *t, vm *initial, uint64_t max_step, uint64_t interval, int (*stop)(void *arg),
                          void *arg);
void vm_trace_free(vm_trace *t);

/* Positions t->cur at step min(j, final_step). Returns 0 or -1 (out of memory). */
int vm_trace_seek(vm_trace *t, uint64_t j);

/* The state hash at step j (a halted run's final state for any j past its end). Returns 0 or -1. */
int vm_trace_state_hash(vm_trace *t, uint64_t j, uint8_t out[32]);

/* The proof of the step from j to j + 1: packed pre-state and proof bytes; returns the proof
 * length (0, 896 or 1792), or -1. */
long vm_trace_prove(vm_trace *t, uint64_t j, uint8_t state[VM_STATE_BYTES], uint8_t proof[VM_PROOF_MAX]);

#endif
