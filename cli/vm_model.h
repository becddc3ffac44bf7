/* vm_model.h: node runs of a model's graph: the roots of a node's operands as the contract has
 * them (value roots from the graph state, weight roots from the model) and the bytes behind them,
 * taken from a committed engine run (engine/engine.h). Used by `opml vm-run` and bench_vm, as the
 * library opml_vm_model: it joins the engine and the VM, so it sits above both, and the VM and the
 * judge (vmjudge/) never link the engine they judge. */
#ifndef OPML_VM_MODEL_H
#define OPML_VM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "vm_node.h"

/* The bytes behind the roots of one node: its descriptor and its operands, for vm_model_fetch. */
typedef struct vm_node_blobs {
    unsigned n;
    uint8_t root[1 + VM_NODE_OPERANDS][32];
    const void *data[1 + VM_NODE_OPERANDS];
    size_t len[1 + VM_NODE_OPERANDS];
} vm_node_blobs;

/* Node `node` of r's model (node < r->m->n; r ran with commit): its descriptor root, operand roots
 * (Z(23) past noperands) and the blobs behind them (pointing into r and its model). */
void vm_model_node(const opml_run *r, uint32_t node, uint8_t desc_root[32],
                   uint8_t operand_roots[VM_NODE_OPERANDS][32], vm_node_blobs *blobs);

/* A vm_fetch_fn over a vm_node_blobs (user). */
const void *vm_model_fetch(const uint8_t root[32], size_t *len, void *user, char *err, size_t errlen);

/* The initial machine of node `node`, built by the node loader from the roots. 0 or -1 + err. */
int vm_model_load_node(vm *v, const opml_run *r, uint32_t node, char *err, size_t errlen);

#endif
