/* vm_model.c: a model's nodes as VM runs (see vm_model.h). */
#include "vm_model.h"

#include "merkle.h"
#include "vm_guest.h"

#include <stdio.h>
#include <string.h>

void vm_model_node(const opml_run *r, uint32_t node, uint8_t desc_root[32],
                   uint8_t operand_roots[VM_NODE_OPERANDS][32], vm_node_blobs *blobs) {
    const opml_model *m = r->m;
    const opml_node *nd = &m->nodes[node];
    memcpy(desc_root, nd->desc_root, 32);
    memcpy(blobs->root[0], nd->desc_root, 32);
    blobs->data[0] = nd->desc;
    blobs->len[0] = KD_BYTES;
    blobs->n = 1;
    for (unsigned j = 0; j < VM_NODE_OPERANDS; j++) {
        memcpy(operand_roots[j], merkle_zero(MERKLE_SLOT_DEPTH), 32);
        if (j >= nd->d.noperands) continue;
        uint32_t ref = nd->ref[j];
        const void *data;
        size_t len;
        if (nd->input_mask & (1u << j)) {
            memcpy(operand_roots[j], r->roots[ref], 32);
            data = r->values[ref];
            len = (size_t)kd_nbytes(&m->values[ref]);
        } else {
            memcpy(operand_roots[j], m->weights[ref].root, 32);
            data = m->weights[ref].data;
            len = (size_t)kd_nbytes(&m->weights[ref].t);
        }
        memcpy(blobs->root[blobs->n], operand_roots[j], 32);
        blobs->data[blobs->n] = data;
        blobs->len[blobs->n++] = len;
    }
}

const void *vm_model_fetch(const uint8_t root[32], size_t *len, void *user, char *err, size_t errlen) {
    const vm_node_blobs *b = user;
    for (unsigned i = 0; i < b->n; i++)
        if (!memcmp(b->root[i], root, 32)) {
            *len = b->len[i];
            return b->data[i];
        }
    snprintf(err, errlen, "not among the model's and the run's tensors");
    return NULL;
}

int vm_model_load_node(vm *v, const opml_run *r, uint32_t node, char *err, size_t errlen) {
    uint8_t desc_root[32], roots[VM_NODE_OPERANDS][32];
    vm_node_blobs blobs;
    vm_model_node(r, node, desc_root, roots, &blobs);
    return vm_node_load_roots(v, vm_guest_root, desc_root, roots, vm_model_fetch, &blobs, err, errlen);
}
