/* vm_proof.h: one-step proofs of docs/vm.md ("Step proof"): the prover, which reads them off a
 * running machine, and the C verifier, which checks a proof exactly as contracts/src/RiscvStep.sol
 * does and returns the post-state hash.
 *
 * A proof is the contract's calldata: the 173-byte packed pre-state, and 0, 1 or 2 memory proofs
 * of VM_MEMPROOF_BYTES each (leaf ++ 27 siblings, leaf level first): none when the machine is
 * halted or pc is misaligned, else the instruction's leaf, then for a load or store at an aligned
 * address the data leaf. */
#ifndef OPML_VM_PROOF_H
#define OPML_VM_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define VM_MEMPROOF_BYTES (32 + VM_MEM_DEPTH * 32) /* 896 */
#define VM_PROOF_MAX (2 * VM_MEMPROOF_BYTES)

/* Verifier results: 0 or one of these (every one means the contract reverts). */
enum vm_verify_error {
    VM_VERIFY_BAD_STATE_LENGTH = -1, /* the state is not 173 bytes */
    VM_VERIFY_BAD_PROOF_LENGTH = -2, /* the proof is not the length this state and instruction need */
    VM_VERIFY_BAD_MEMORY_PROOF = -3, /* a memory proof does not lead to the state's memRoot */
};

/* The proof of the machine's next step (from its current state, step v->step to v->step + 1):
 * writes the packed pre-state and the proof, returns the proof's length (0, 896 or 1792). */
size_t vm_prove_step(vm *v, uint8_t state[VM_STATE_BYTES], uint8_t proof[VM_PROOF_MAX]);

/* Executes the one step the proof covers. Returns 0 and writes the packed post-state (if
 * post_state is non-NULL) and its hash (if post_hash is non-NULL), or a vm_verify_error. */
int vm_verify_step(const uint8_t *state, size_t state_len, const uint8_t *proof, size_t proof_len,
                   uint8_t post_state[VM_STATE_BYTES], uint8_t post_hash[32]);

/* The game's acceptance of a step: 1 when keccak256(state) is pre_hash, the proof verifies and
 * the post-state hash is post_hash; else 0 (*err, if non-NULL, gets the verifier's error, or 0
 * when the proof verified but a hash did not match). */
int vm_check_step(const uint8_t pre_hash[32], const uint8_t *state, size_t state_len, const uint8_t *proof,
                  size_t proof_len, const uint8_t post_hash[32], int *err);

/* Text for a vm_verify_error. */
const char *vm_verify_strerror(int err);

#endif
