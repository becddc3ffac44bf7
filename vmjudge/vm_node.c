/* vm_node.c: the node loader (see vm_node.h). */
#include "vm_node.h"

#include "merkle.h"
#include "vm_guest.h"

#include <string.h>

void vm_node_initial_state(const uint8_t guest_root[32], const uint8_t desc_root[32],
                           const uint8_t operand_roots[VM_NODE_OPERANDS][32], uint8_t state[VM_STATE_BYTES]) {
    uint8_t slots[16][32];
    memcpy(slots[VM_SLOT_GUEST], guest_root, 32);
    memcpy(slots[VM_SLOT_DESC], desc_root, 32);
    memcpy(slots[VM_SLOT_SCRATCH], merkle_zero(MERKLE_SLOT_DEPTH), 32);
    for (unsigned j = 0; j < VM_NODE_OPERANDS; j++) memcpy(slots[VM_SLOT_OPERAND0 + j], operand_roots[j], 32);
    memcpy(slots[VM_SLOT_OUTPUT], merkle_zero(MERKLE_SLOT_DEPTH), 32);
    vm_cpu c;
    memset(&c, 0, sizeof c);
    merkle_root(slots, sizeof slots, 4, c.mem_root);
    vm_state_encode(&c, state);
}

int vm_node_load(vm *v, const uint8_t *desc, size_t desc_len, const void *const data[VM_NODE_OPERANDS],
                 const size_t len[VM_NODE_OPERANDS]) {
    if (vm_mem_load_slot(&v->mem, VM_SLOT_GUEST, vm_guest_image, vm_guest_image_len) != 0) return -1;
    if (vm_mem_load_slot(&v->mem, VM_SLOT_DESC, desc, desc_len) != 0) return -1;
    for (unsigned j = 0; j < VM_NODE_OPERANDS; j++)
        if (len[j] && vm_mem_load_slot(&v->mem, VM_SLOT_OPERAND0 + j, data[j], len[j]) != 0) return -1;
    return 0;
}

void vm_node_output_root(vm *v, uint8_t root[32]) {
    uint8_t mem[32];
    vm_mem_root(&v->mem, mem);
    vm_mem_slot_root(&v->mem, VM_SLOT_OUTPUT, root);
}
