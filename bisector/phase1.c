/* phase1.c: phase 1 of a game, the bisection over the graph's steps. Graph state s is the Merkle
 * root of the model's values after node s - 1 ran (State_0: the inputs; docs/commitments.md),
 * computed from the executor's run of the task (submitter.c's run_task): the submitter's claims or
 * our honest values. The game's first move is the submitter's binding of its State_n to the output
 * it submitted (bindEnd). At one graph step the submitter opens the node (openNode): the node's output
 * and its path into State_s, the node's leaf (its refs less the trailing empty slots) and its path
 * into the model, each value operand's root and its siblings into the agreed State_{s-1} below
 * where its path meets the output's, and the claimed final state of the node's VM run
 * (phase2.c), which starts phase 2. */
#include "bisector.h"
#include "hex.h"
#include "merkle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int graph_hashes(const task *t, const model_entry *me, int sub, const uint64_t *pts, unsigned m, uint8_t (*out)[32]) {
    for (unsigned j = 0; j <= m; j++)
        if (state_at(t, me, sub, pts[j], out[j])) return -1;
    return 0;
}

int end_binding(const task *t, const model_entry *me, cJSON *args) {
    unsigned D = me->m.state_depth;
    uint8_t state_n[32];
    merkle_proof pr;
    size_t nvals = (size_t)me->m.nin + me->m.n;
    if (state_at(t, me, 1, me->m.n, state_n) || merkle_prove(t->claimed, nvals * 32, D, me->m.output_value, &pr)) return -1;
    char h[67];
    char *out = malloc(2 * t->claimed_out_len + 3);
    if (!out) return -1;
    hex_encode(state_n, 32, h);
    cJSON_AddItemToArray(args, cJSON_CreateString(h));
    hex_encode(t->claimed_out, t->claimed_out_len, out);
    cJSON_AddItemToArray(args, cJSON_CreateString(out));
    cJSON_AddItemToArray(args, hashes_json((const uint8_t (*)[32])pr.siblings, D));
    free(out);
    return 0;
}

/* The value operands' roots (in operand order) and their siblings in State_{s-1}, appended to values
 * and paths: operand leaf y's path meets the opened leaf x = nin - 1 + s's at the height h of the
 * top bit of x ^ y, above which the contract takes statePath's siblings (statePath[h] is y's
 * subtree root), so only y's h siblings below travel; y == x (the node's own output, zero in
 * State_{s-1}) sends root 0 and none. Returns 0 or -1. */
static int operand_proofs(const task *t, const model_entry *me, uint64_t s, cJSON *values, cJSON *paths) {
    uint32_t nin = me->m.nin, node = (uint32_t)(s - 1);
    uint64_t x = nin - 1 + s;
    unsigned D = me->m.state_depth;
    char h[67];
    for (int j = 0; j < KD_MAX_OPERANDS; j++) {
        if (!(me->m.nodes[node].input_mask >> j & 1)) continue;
        uint32_t ref = me->m.nodes[node].ref[j];
        if (ref == x) {
            static const uint8_t zero[32];
            hex_encode(zero, 32, h);
            cJSON_AddItemToArray(values, cJSON_CreateString(h));
            continue;
        }
        merkle_proof vp;
        if (merkle_prove(t->claimed, (size_t)(nin + s - 1) * 32, D, ref, &vp)) return -1;
        hex_encode(t->claimed[ref], 32, h);
        cJSON_AddItemToArray(values, cJSON_CreateString(h));
        unsigned top = merkle_meet_height(x, ref) - 1; /* ref != x: the height of x ^ ref's top bit */
        for (unsigned i = 0; i < top; i++) {
            hex_encode(vp.siblings[i], 32, h);
            cJSON_AddItemToArray(paths, cJSON_CreateString(h));
        }
    }
    return 0;
}

/* openNode's argument (DisputeGame.NodeOpening) for graph step s, as a JSON tuple. */
cJSON *node_opening(bisector *b, task *t, const model_entry *me, uint64_t s) {
    uint32_t nin = me->m.nin, node = (uint32_t)(s - 1);
    unsigned D = me->m.state_depth;
    vm_opening c;
    if (vm_opening_claim(b, t, me, node, &c)) return NULL;
    merkle_proof sp, np;
    uint8_t(*leaves)[32] = malloc((size_t)me->m.n * 32);
    unsigned nd = 0;
    while ((1ull << nd) < me->m.n) nd++;
    if (!leaves) return NULL;
    for (uint32_t i = 0; i < me->m.n; i++) memcpy(leaves[i], me->m.nodes[i].leaf, 32);
    int bad = merkle_prove(t->claimed, (size_t)(nin + s) * 32, D, nin - 1 + s, &sp) ||
              merkle_prove(leaves, (size_t)me->m.n * 32, nd, node, &np);
    free(leaves);
    if (bad) return NULL;
    cJSON *o = cJSON_CreateArray(), *values = cJSON_CreateArray(), *paths = cJSON_CreateArray();
    char h[67], mask[8];
    hex_encode(t->claimed[nin + node], 32, h);
    cJSON_AddItemToArray(o, cJSON_CreateString(h));
    cJSON_AddItemToArray(o, hashes_json((const uint8_t (*)[32])sp.siblings, D));
    hex_encode(c.desc_root, 32, h);
    cJSON_AddItemToArray(o, cJSON_CreateString(h));
    snprintf(mask, sizeof mask, "%u", me->m.nodes[node].input_mask);
    cJSON_AddItemToArray(o, cJSON_CreateString(mask));
    /* the refs less the trailing empty slots (Z(23)), which the contract fills in */
    size_t nrefs = KD_MAX_OPERANDS;
    while (nrefs > 0 && memcmp(c.refs[nrefs - 1], merkle_zero(MERKLE_SLOT_DEPTH), 32) == 0) nrefs--;
    cJSON_AddItemToArray(o, hashes_json((const uint8_t (*)[32])c.refs, nrefs));
    cJSON_AddItemToArray(o, hashes_json((const uint8_t (*)[32])np.siblings, nd));
    if (operand_proofs(t, me, s, values, paths)) {
        cJSON_Delete(o), cJSON_Delete(values), cJSON_Delete(paths);
        return NULL;
    }
    cJSON_AddItemToArray(o, values);
    cJSON_AddItemToArray(o, paths);
    char packed[2 + 346 + 1];
    hex_encode(c.packed, 173, packed);
    cJSON_AddItemToArray(o, cJSON_CreateString(packed));
    cJSON_AddItemToArray(o, hashes_json((const uint8_t (*)[32])c.slot_path, 4));
    return o;
}
