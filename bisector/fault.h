/* fault.h: fault injection, the setting that makes a submitter lie so that disputes can be shown
 * and tested (issue 7). A lie must be one the contracts accept until the game exposes it, so it is
 * always coherent as far as a liar can make it:
 *
 *   - the lied value is one node's output: its tensor root is replaced (by keccak256("opml.fault"
 *     ++ honest root)), and every claimed State_s with s past that node is the Merkle root over the
 *     claimed leaves; the posted output bytes change too (the low bit of byte 0 flips) and the
 *     output value's leaf is their tensor root, so that the game's binding of State_n to the
 *     output (bindEnd) holds. Only the output is submitted (docs/game.md), so a lie that left it
 *     right would be no lie to anyone: a lie at an earlier node is one whose effect reaches the
 *     output, and the game narrows it to that node, the first one the liar claims wrong;
 *   - in phase 2 the liar claims a final VM state that is the honest one with slot 15 holding the
 *     lied root (status exited, code 0: what openNode demands), and state hashes that are honest
 *     before the first lied VM step and keccak256("opml.fault" ++ honest) from it on (the final
 *     step T being the claimed final state).
 *
 * Kinds: `node=N` (lie at node N, 0-based), `random[=SEED]` (a node drawn per task from the seed
 * and the task id), `output` (the output node, whichever it is), `vm=N[:STEP]` (lie at node N, and
 * inside its VM run from step STEP on, default the middle of the run). A suffix `@K` limits the
 * lie to the submitter's K-th submission (1-based): `node=3@2`. `none` never lies. */
#ifndef OPML_FAULT_H
#define OPML_FAULT_H

#include <stddef.h>
#include <stdint.h>

typedef enum fault_kind {
    FAULT_NONE = 0,
    FAULT_NODE,
    FAULT_RANDOM_NODE,
    FAULT_OUTPUT,
    FAULT_VM,
} fault_kind;

typedef struct fault {
    fault_kind kind;
    uint32_t node;      /* NODE, VM */
    uint64_t vm_step;   /* VM: first lied step (>= 1); 0: the middle of the honest run */
    uint64_t seed;      /* RANDOM_NODE */
    uint32_t only_nth;  /* lie only on this submission (1-based); 0: on every one */
} fault;

/* The lie for one task, resolved from a fault setting. */
typedef struct fault_plan {
    int active;
    uint32_t node;      /* the lied node; its value is nin + node */
    int output_bytes;   /* the lied value is the model's output: the posted bytes change */
    int in_vm;          /* phase 2: lie from vm_step on (else only the final claim is false) */
    uint64_t vm_step;   /* 0: the middle of the honest run (resolved by fault_vm_first_step) */
} fault_plan;

/* Parses the setting's text (above). Returns 0, or -1 with the reason in err. */
int fault_parse(const char *text, fault *f, char *err, size_t errlen);

/* Writes the setting back as text (the inverse of fault_parse). */
void fault_format(const fault *f, char *out, size_t outlen);

/* The plan for the submitter's nth submission (1-based), task task_id, on a model of nin inputs,
 * n nodes and output value output_value. Returns 0 (p->active 0 when no lie applies), or -1 with
 * the reason in err when the setting does not fit the model (a node >= n; `output` when the
 * output is a model input). */
int fault_plan_for(const fault *f, uint32_t nth, uint64_t task_id, uint32_t nin, uint32_t n, uint32_t output_value,
                   fault_plan *p, char *err, size_t errlen);

/* keccak256("opml.fault" ++ honest): the false hash of a lied root or state. */
void fault_false_hash(const uint8_t honest[32], uint8_t out[32]);

/* Applies the plan to a task's values: roots[0 .. nin + n) the honest value roots (modified in
 * place into the claimed ones) and the output bytes (modified in place; their root becomes the
 * leaf of value output_value, a node's output). Returns 0, or -1 when the output is empty (there is
 * no byte to change). */
int fault_apply_values(const fault_plan *p, uint32_t nin, uint32_t output_value, uint8_t (*roots)[32], uint8_t *output,
                       size_t output_len);

/* The first lied VM step of the plan for a node run that halts at step `halt` within [0, T]:
 * vm_step if set (clamped to [1, T]), else max(1, halt / 2) for an in-VM lie, and T when only the
 * final claim is false. */
uint64_t fault_vm_first_step(const fault_plan *p, uint64_t halt, uint64_t T);

/* The claimed final VM state: the honest packed state (173 bytes) with its memory root recomputed
 * with slot 15's root = lied_output, from slot_path (the 4 siblings of slot 15 in the honest final
 * memory, leaf level first). */
void fault_final_state(const uint8_t honest[173], const uint8_t slot_path[4][32], const uint8_t lied_output[32],
                       uint8_t out[173]);

/* The claimed VM state hash at step j of [0, T]: honest before `first`, the claimed final state's
 * hash at T, the false hash of the honest one otherwise. */
void fault_vm_hash(uint64_t j, uint64_t first, uint64_t T, const uint8_t honest[32], const uint8_t claimed_final[32],
                   uint8_t out[32]);

#endif
