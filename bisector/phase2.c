/* phase2.c: phase 2 of a game, the bisection over the VM run of the node phase 1 ended at. Every
 * VM fact comes from vmjudge (any, through the bus's work broker): the run of a node is named by
 * the roots the contract builds its initial state from (the guest, the node's descriptor, its 12
 * operands: a value operand's root from the state the run starts in, a weight's its root), so
 * both sides and the contract agree on which run is bisected.
 *
 *   - the submitter's claimed final state (openNode, phase 1's last move: vm_opening_claim): the
 *     honest one, or with slot 15 set to the lied output and its hash lying from the first false
 *     step on (fault.h);
 *   - the state hashes at a dissection's points (vm_point_hashes): the submitter's claims or the
 *     challenger's honest ones;
 *   - at one step, the challenger's one-step proof (vm_step_args). */
#include "bisector.h"
#include "fault.h"
#include "hex.h"
#include "keccak.h"
#include "log.h"
#include "merkle.h"
#include "vm_guest.h"
#include "vmjudge.pb-c.h"

#include <stdlib.h>
#include <string.h>

typedef struct node_run {
    Opml__VmNodeRun run;
    ProtobufCBinaryData ops[KD_MAX_OPERANDS];
    uint8_t op_roots[KD_MAX_OPERANDS][32];
    uint8_t refs[KD_MAX_OPERANDS][32];   /* the node leaf's refs (value ids or weight roots) */
    uint8_t desc_root[32];
} node_run;

/* The run of node `node` as the contract builds it from the values `vals` (claimed or honest). */
static void node_run_init(node_run *nr, const model_entry *me, const uint8_t (*vals)[32], uint32_t node) {
    const opml_node *nd = &me->m.nodes[node];
    memset(nr, 0, sizeof *nr);
    opml__vm_node_run__init(&nr->run);
    memcpy(nr->desc_root, nd->desc_root, 32);
    for (int j = 0; j < KD_MAX_OPERANDS; j++) {
        uint32_t ref = nd->ref[j];
        if (nd->input_mask >> j & 1) {
            memset(nr->refs[j], 0, 32);
            for (int i = 0; i < 4; i++) nr->refs[j][28 + i] = (uint8_t)(ref >> (24 - 8 * i));
            memcpy(nr->op_roots[j], vals[ref], 32);
        } else {
            const uint8_t *r = ref == OPML_REF_NONE ? merkle_zero(23) : me->m.weights[ref].root;
            memcpy(nr->refs[j], r, 32);
            memcpy(nr->op_roots[j], r, 32);
        }
        nr->ops[j].data = nr->op_roots[j];
        nr->ops[j].len = 32;
    }
    nr->run.guest_root.data = (uint8_t *)vm_guest_root;
    nr->run.guest_root.len = 32;
    nr->run.desc_root.data = nr->desc_root;
    nr->run.desc_root.len = 32;
    nr->run.n_operand_roots = KD_MAX_OPERANDS;
    nr->run.operand_roots = nr->ops;
    nr->run.max_steps = 1ull << me->steps_log2;
}

static ProtobufCMessage *vm_call(bisector *b, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d) {
    char err[600];
    ProtobufCMessage *rep = NULL;
    if (rpc_call_max(b->work, req, d, ENVELOPE_MAX_BYTES, &rep, 120000, 1, err, sizeof err)) {
        log_warn("vmjudge: %s", err);
        return NULL;
    }
    return rep;
}

/* State hashes of the run at steps[0..n); *halt = the step it halted at. */
static int vm_hashes(bisector *b, node_run *nr, const uint64_t *steps, size_t n, uint8_t (*out)[32], uint64_t *halt) {
    Opml__VmStateHashes req = OPML__VM_STATE_HASHES__INIT;
    req.run = &nr->run;
    req.n_steps = n;
    req.steps = (uint64_t *)steps;
    Opml__VmStateHashesReply *r = (Opml__VmStateHashesReply *)vm_call(b, &req.base, &opml__vm_state_hashes_reply__descriptor);
    if (!r) return -1;
    int rc = r->n_hashes == n ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (r->hashes[i].len != 32) rc = -1;
        else memcpy(out[i], r->hashes[i].data, 32);
    }
    if (halt) *halt = r->final_step;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}

/* The submitter's claimed final VM state of the opened node (honest, or with slot 15 = the lied
 * output), its slot path, and the first VM step whose claimed hash is false. */
typedef struct claim2 {
    uint8_t packed[173], hash[32], slot_path[4][32];
    uint64_t first, halt;
} claim2;

static int vm_claim(bisector *b, task *t, const model_entry *me, node_run *nr, uint32_t node, claim2 *c) {
    Opml__VmFinalState req = OPML__VM_FINAL_STATE__INIT;
    req.run = &nr->run;
    Opml__VmFinalStateReply *r = (Opml__VmFinalStateReply *)vm_call(b, &req.base, &opml__vm_final_state_reply__descriptor);
    if (!r) return -1;
    int rc = -1;
    if (r->state.len != 173 || r->n_output_slot_path != 4 || r->status != 1 || r->exit_code != 0) {
        log_error("node %u: the VM run did not exit cleanly (status %u, code %u)", node, r->status, r->exit_code);
        goto out;
    }
    for (int i = 0; i < 4; i++) {
        if (r->output_slot_path[i].len != 32) goto out;
        memcpy(c->slot_path[i], r->output_slot_path[i].data, 32);
    }
    c->halt = r->steps;
    const uint8_t *o = t->claimed[me->m.nin + node];
    if (r->output_root.len == 32 && !memcmp(r->output_root.data, o, 32)) {
        memcpy(c->packed, r->state.data, 173);
        c->first = (1ull << me->steps_log2) + 1; /* honest: no step is false */
    } else {
        fault_final_state(r->state.data, (const uint8_t (*)[32])c->slot_path, o, c->packed);
        c->first = fault_vm_first_step(&t->plan, c->halt, 1ull << me->steps_log2);
    }
    keccak256(c->packed, 173, c->hash);
    rc = 0;
out:
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}

int vm_opening_claim(bisector *b, task *t, const model_entry *me, uint32_t node, vm_opening *o) {
    node_run nr;
    claim2 c;
    node_run_init(&nr, me, (const uint8_t (*)[32])t->claimed, node);
    if (vm_claim(b, t, me, &nr, node, &c)) return -1;
    memcpy(o->desc_root, nr.desc_root, 32);
    memcpy(o->refs, nr.refs, sizeof o->refs);
    memcpy(o->packed, c.packed, 173);
    memcpy(o->slot_path, c.slot_path, sizeof o->slot_path);
    return 0;
}

int vm_point_hashes(bisector *b, task *t, const model_entry *me, uint32_t node, int sub, const uint64_t *pts,
                    unsigned m, uint8_t (*out)[32]) {
    node_run nr;
    claim2 c;
    node_run_init(&nr, me, (const uint8_t (*)[32])(sub ? t->claimed : t->honest), node);
    if ((sub && vm_claim(b, t, me, &nr, node, &c)) || vm_hashes(b, &nr, pts, (size_t)m + 1, out, NULL)) return -1;
    if (sub)
        for (unsigned j = 0; j <= m; j++) fault_vm_hash(pts[j], c.first, 1ull << me->steps_log2, out[j], c.hash, out[j]);
    return 0;
}

int vm_step_args(bisector *b, task *t, const model_entry *me, uint32_t node, uint64_t step, cJSON *args) {
    node_run nr;
    node_run_init(&nr, me, (const uint8_t (*)[32])t->honest, node);
    Opml__VmProveStep req = OPML__VM_PROVE_STEP__INIT;
    req.run = &nr.run;
    req.step = step;
    Opml__VmProveStepReply *r = (Opml__VmProveStepReply *)vm_call(b, &req.base, &opml__vm_prove_step_reply__descriptor);
    if (!r) return -1;
    int rc = -1;
    char *st = malloc(2 * r->state.len + 3), *pf = malloc(2 * r->proof.len + 3);
    if (st && pf) {
        hex_encode(r->state.data, r->state.len, st);
        hex_encode(r->proof.data, r->proof.len, pf);
        cJSON_AddItemToArray(args, cJSON_CreateString(st));
        cJSON_AddItemToArray(args, cJSON_CreateString(pf));
        rc = 0;
    }
    free(st), free(pf);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}
