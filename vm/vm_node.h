/* vm_node.h: the node loader. A node run of the VM (docs/vm.md memory map) starts from memory
 * holding the guest program in slot 0, the node descriptor in slot 1, zero in slot 2, operands
 * 0..11 in slots 3..14 and zero in slot 15; pc 0, registers 0, step 0, running.
 *
 * The contract builds that state from roots alone (the registered guest root, the descriptor's
 * root, the operands' tensor roots, an unused operand being the empty tensor Z(23)): memRoot is
 * the depth-4 tree over the 16 slot roots. vm_node_initial_state() does exactly that;
 * vm_node_load() builds the machine from the bytes behind those roots, whose state hash is the
 * same (tests hold the two together). */
#ifndef OPML_VM_NODE_H
#define OPML_VM_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define VM_NODE_OPERANDS 12
#define VM_SLOT_GUEST 0
#define VM_SLOT_DESC 1
#define VM_SLOT_SCRATCH 2
#define VM_SLOT_OPERAND0 3
#define VM_SLOT_OUTPUT 15

/* The packed initial state of a node run from roots only (the contract's construction).
 * operand_roots[j] is operand j's tensor root, or merkle_zero(23) when unused. */
void vm_node_initial_state(const uint8_t guest_root[32], const uint8_t desc_root[32],
                           const uint8_t operand_roots[VM_NODE_OPERANDS][32], uint8_t state[VM_STATE_BYTES]);

/* Makes v (freshly initialised) the initial machine of a node run: the pinned guest image
 * (vm_guest.h) in slot 0, desc in slot 1, operand j's len[j] bytes in slot 3 + j (data[j] may be
 * NULL when len[j] is 0). Returns 0, or -1 (a tensor larger than a slot, out of memory). */
int vm_node_load(vm *v, const uint8_t *desc, size_t desc_len, const void *const data[VM_NODE_OPERANDS],
                 const size_t len[VM_NODE_OPERANDS]);

/* Where the node loader gets bytes: the bytes whose tensor root is `root`, valid until the next
 * call, with *len set; NULL (and a reason in err) when they cannot be had. */
typedef const void *(*vm_fetch_fn)(const uint8_t root[32], size_t *len, void *user, char *err, size_t errlen);

/* The node loader: the initial machine of a node run given only the roots the contract has, the
 * bytes fetched behind each root and checked against it (an empty operand, root Z(23), needs no
 * bytes). guest_root must be the pinned guest's. On success v's state is exactly
 * vm_node_initial_state() of these roots. Returns 0, or -1 with a reason in err. */
int vm_node_load_roots(vm *v, const uint8_t guest_root[32], const uint8_t desc_root[32],
                       const uint8_t operand_roots[VM_NODE_OPERANDS][32], vm_fetch_fn fetch, void *user, char *err,
                       size_t errlen);

/* After a run: the output root (slot 15's tensor root). */
void vm_node_output_root(vm *v, uint8_t root[32]);

/* The proof that the output root is slot 15 of the machine's memory root: the 4 siblings of slot
 * 15 in the depth-4 tree of slot roots, slot level first (the game's `slotPath`). */
void vm_node_output_path(vm *v, uint8_t path[4][32]);

#endif
