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
 * lie to the submitter's K-th submission (1-based): `node=3@2`. `none` never lies.
 *
 * Generation tasks (docs/generation.md): a lie is told in one token step's run of the step graph,
 * and the liar's claims are coherent around it: its G_t are the honest ones up to that step t, its
 * G_{t+1} opens on the step's claimed State_n (openStep), and the G after it carry its claimed ids
 * and a false kv root (no one opens them). G_{t+1} commits to two things of the step's run: the
 * updated caches and, at a step past the prompt, the sampled token; so a lie must reach one of
 * them, as a classifier's lie reaches the output. A lie at a cache output shows in the kv root
 * (and the last new id is lied too, so that validators see it: it must not be the step's own
 * sampled token, or phase 1 would stop at the Sample node, which runs before the cache outputs);
 * a lie at any other node also lies about the step's sampled token x_{t+1} (phase 1 then stops at
 * the lied node, the first one claimed wrong), which needs a step past the prompt. A lied id is the
 * honest one's successor modulo the vocabulary, or the one after when that is the stop token. Kinds:
 *   `token=J`          the J-th new id (0-based) is wrong: step P + J - 1's Sample node;
 *   `kv=T`             the first updated cache (K_0, its row T) of step T is wrong;
 *   `node=N/T`, `vm=N[:STEP]/T`  node N of step T (default: the middle step of the new ids);
 *   `output`           the last new id; `random[=SEED]`: a node of a step, drawn. */
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
    FAULT_TOKEN, /* generation: a wrong sampled token */
    FAULT_KV,    /* generation: a wrong cache row */
} fault_kind;

typedef struct fault {
    fault_kind kind;
    uint32_t node;      /* NODE, VM */
    uint64_t vm_step;   /* VM: first lied step (>= 1); 0: the middle of the honest run */
    uint64_t seed;      /* RANDOM_NODE */
    uint32_t only_nth;  /* lie only on this submission (1-based); 0: on every one */
    uint64_t step;      /* generation: TOKEN the new id's index J; KV, NODE, VM (when step_set) the token step */
    int step_set;
} fault;

/* The lie for one task, resolved from a fault setting. */
typedef struct fault_plan {
    int active;
    uint32_t node;      /* the lied node; its value is nin + node */
    int output_bytes;   /* the lied value is the model's output: the posted bytes change */
    int in_vm;          /* phase 2: lie from vm_step on (else only the final claim is false) */
    uint64_t vm_step;   /* 0: the middle of the honest run (resolved by fault_vm_first_step) */
    int gen;            /* a generation task's lie: in token step `step`'s run */
    uint64_t step;
    int token;          /* gen: the step's sampled token x_{step+1} is lied (else the last id is) */
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

/* What a generation lie needs of the task: the step graph (nin inputs, n nodes, the sampled token's
 * value output_value, the first cache output kv_value) and the generation (P prompt ids, T = P + M - 1
 * steps). */
typedef struct fault_gen_shape {
    uint32_t nin, n, output_value, kv_value, kv_count; /* kv_count: 2^c cache outputs (pads included) */
    uint64_t P, T;
} fault_gen_shape;

/* The plan of a generation task (above): as fault_plan_for, with the token step resolved. Returns 0
 * (p->active 0 when no lie applies), or -1 with the reason in err when the setting does not fit (a
 * step outside [0, T), a token index outside the new ids, a cache lie at the last step, whose only
 * visible effect would be the sampled token, a lie at another node of a prompt step, which nothing
 * G_{t+1} commits to would show). */
int fault_gen_plan_for(const fault *f, uint32_t nth, uint64_t task_id, const fault_gen_shape *sh, fault_plan *p, char *err,
                       size_t errlen);

/* The lied id of an honest id x: (x + 1) mod vocab, or (x + 2) mod vocab when that is the stop. */
uint32_t fault_gen_lied_id(uint32_t x, uint32_t vocab, uint32_t stop);

/* Applies generation plan p to ids x_0 .. x_T (count = T + 1): the lied id (x_{step+1}, or x_T).
 * Returns the index changed, or -1 when p is inactive. */
int64_t fault_gen_apply_ids(const fault_plan *p, uint32_t *ids, uint64_t count, uint32_t vocab, uint32_t stop);

/* Applies generation plan p to the value roots of its step's run (roots[0 .. nin + n), honest in,
 * claimed out): the lied node's root false (unless it is the sampled token's), and when the claimed
 * x_{step+1} is a lied id (next_lied), the sampled token's root is that of `next` (4 bytes,
 * little-endian). Returns 0 or -1. Precondition: p->gen. */
int fault_gen_apply_step(const fault_plan *p, uint32_t nin, uint32_t output_value, int next_lied, uint32_t next,
                         uint8_t (*roots)[32]);

/* keccak256("opml.fault" ++ honest): the false hash of a lied root or state. */
void fault_false_hash(const uint8_t honest[32], uint8_t out[32]);

/* The plan's change of the posted output bytes alone (what fault_apply_values does to them): the
 * low bit of byte 0 flipped. Returns 0, or -1 when the output is empty. */
int fault_apply_output(const fault_plan *p, uint8_t *output, size_t output_len);

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
