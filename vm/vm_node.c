/* vm_node.c: the node loader (see vm_node.h). */
#include "vm_node.h"

#include "merkle.h"
#include "vm_guest.h"

#include "hex.h"

#include <stdio.h>
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

/* Fetches the bytes behind root and checks them. NULL + err on failure; *len 0 for Z(23). */
static const void *fetch_checked(const uint8_t root[32], size_t *len, vm_fetch_fn fetch, void *user, const char *what,
                                 char *err, size_t errlen) {
    static const uint8_t none[1];
    if (!memcmp(root, merkle_zero(MERKLE_SLOT_DEPTH), 32)) {
        *len = 0;
        return none;
    }
    char hex[67], why[200] = "";
    hex_encode(root, 32, hex);
    const void *data = fetch(root, len, user, why, sizeof why);
    if (!data) {
        snprintf(err, errlen, "%s %s: cannot fetch its bytes%s%s", what, hex, why[0] ? ": " : "", why);
        return NULL;
    }
    uint8_t got[32];
    if (merkle_tensor_root(data, *len, got) != 0 || memcmp(got, root, 32) != 0) {
        snprintf(err, errlen, "%s %s: the fetched %zu bytes have another root", what, hex, *len);
        return NULL;
    }
    return data;
}

int vm_node_load_roots(vm *v, const uint8_t guest_root[32], const uint8_t desc_root[32],
                       const uint8_t operand_roots[VM_NODE_OPERANDS][32], vm_fetch_fn fetch, void *user, char *err,
                       size_t errlen) {
    if (memcmp(guest_root, vm_guest_root, 32) != 0) {
        char hex[67];
        hex_encode(guest_root, 32, hex);
        snprintf(err, errlen, "guest root %s is not this build's pinned guest", hex);
        return -1;
    }
    size_t desc_len;
    const void *desc = fetch_checked(desc_root, &desc_len, fetch, user, "descriptor", err, errlen);
    if (!desc || vm_mem_load_slot(&v->mem, VM_SLOT_DESC, desc, desc_len) != 0) {
        if (desc) snprintf(err, errlen, "descriptor of %zu bytes does not fit a slot", desc_len);
        return -1;
    }
    for (unsigned j = 0; j < VM_NODE_OPERANDS; j++) {
        char what[32];
        snprintf(what, sizeof what, "operand %u", j);
        size_t len;
        const void *data = fetch_checked(operand_roots[j], &len, fetch, user, what, err, errlen);
        if (!data) return -1;
        if (len && vm_mem_load_slot(&v->mem, VM_SLOT_OPERAND0 + j, data, len) != 0) {
            snprintf(err, errlen, "%s: out of memory", what);
            return -1;
        }
    }
    if (vm_mem_load_slot(&v->mem, VM_SLOT_GUEST, vm_guest_image, vm_guest_image_len) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void vm_node_output_root(vm *v, uint8_t root[32]) {
    uint8_t mem[32];
    vm_mem_root(&v->mem, mem);
    vm_mem_slot_root(&v->mem, VM_SLOT_OUTPUT, root);
}

void vm_node_output_path(vm *v, uint8_t path[4][32]) {
    uint8_t mem[32], slots[16][32];
    vm_mem_root(&v->mem, mem);
    for (unsigned s = 0; s < 16; s++) vm_mem_slot_root(&v->mem, s, slots[s]);
    merkle_proof p;
    merkle_prove(slots, sizeof slots, 4, VM_SLOT_OUTPUT, &p);
    memcpy(path, p.siblings, 4 * 32);
}
