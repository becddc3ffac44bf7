/* engine.c: the graph runner (engine.h). */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "merkle.h"
#include "tensor_root.h"

int opml_run_init(opml_run *r, const opml_model *m, opml_backend *b, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->m = m;
    r->backend = b;
    size_t nv = (size_t)m->nin + m->n, leaves = (size_t)1 << m->state_depth;
    r->values = calloc(nv, sizeof *r->values);
    r->roots = calloc(nv, 32);
    r->states = calloc((size_t)m->n + 1, 32);
    r->tree = calloc(2 * leaves, 32);
    r->cache = calloc(m->n, sizeof *r->cache);
    if (!r->values || !r->roots || !r->states || !r->tree || !r->cache) goto oom;
    for (size_t v = 0; v < nv; v++) {
        size_t nb = (size_t)kd_nbytes(&m->values[v]);
        r->values[v] = aligned_alloc(64, (nb + 63) & ~(size_t)63 ? (nb + 63) & ~(size_t)63 : 64);
        if (!r->values[v]) goto oom;
    }
    for (uint32_t k = 0; k < m->n; k++) {
        size_t s = kernel_scratch_size(&m->nodes[k].d);
        if (s > r->scratch_len) r->scratch_len = s;
    }
    r->scratch = malloc(r->scratch_len ? r->scratch_len : 1);
    if (!r->scratch) goto oom;
    return 0;
oom:
    opml_run_free(r);
    return opml_errf(err, errlen, "engine: out of memory for model buffers");
}

void opml_run_free(opml_run *r) {
    if (r->values)
        for (size_t v = 0; v < (size_t)r->m->nin + r->m->n; v++) free(r->values[v]);
    if (r->cache && r->backend->ops->release)
        for (uint32_t k = 0; k < r->m->n; k++)
            if (r->cache[k]) r->backend->ops->release(r->backend, r->cache[k]);
    free(r->values), free(r->roots), free(r->states), free(r->tree), free(r->cache), free(r->scratch);
    memset(r, 0, sizeof *r);
}

/* Set leaf i of the state tree and rehash its path to the root. */
static void set_leaf(opml_run *r, size_t i, const uint8_t root[32]) {
    size_t at = ((size_t)1 << r->m->state_depth) + i;
    memcpy(r->tree[at], root, 32);
    for (; at > 1; at >>= 1) keccak256_pair(r->tree[at & ~(size_t)1], r->tree[at | 1], r->tree[at >> 1]);
}

int opml_run_exec(opml_run *r, const void *const *inputs, const size_t *input_len, int commit, char *err,
                  size_t errlen) {
    const opml_model *m = r->m;
    for (uint32_t i = 0; i < m->nin; i++) {
        size_t want = (size_t)kd_nbytes(&m->inputs[i]);
        if (input_len[i] != want)
            return opml_errf(err, errlen, "input %u: %zu bytes given, the model expects %zu (%llu values)", i, input_len[i],
                        want, (unsigned long long)kd_numel(&m->inputs[i]));
        memcpy(r->values[i], inputs[i], want);
    }
    if (commit) {
        unsigned d = m->state_depth;
        for (unsigned h = 0; h <= d; h++) /* every node of height h starts as Z(h) */
            for (size_t at = (size_t)1 << (d - h); at < (size_t)2 << (d - h); at++) memcpy(r->tree[at], merkle_zero(h), 32);
        for (uint32_t i = 0; i < m->nin; i++) {
            opml_tensor_root(r->values[i], (size_t)kd_nbytes(&m->inputs[i]), r->roots[i]);
            set_leaf(r, i, r->roots[i]);
        }
        memcpy(r->states[0], r->tree[1], 32);
    }
    for (uint32_t k = 0; k < m->n; k++) {
        const opml_node *nd = &m->nodes[k];
        const void *in[KD_MAX_OPERANDS] = {0};
        for (unsigned j = 0; j < nd->d.noperands; j++)
            in[j] = nd->input_mask >> j & 1 ? (const void *)r->values[nd->ref[j]] : (const void *)m->weights[nd->ref[j]].data;
        uint32_t v = m->nin + k;
        int rc = r->backend->ops->run(r->backend, &nd->d, in, r->values[v], r->scratch, r->scratch_len, &r->cache[k]);
        if (rc)
            return opml_errf(err, errlen, "node %u (%s) failed on backend %s (error %d)", k, kernel_op_name(nd->d.op),
                        r->backend->ops->name, rc);
        if (commit) {
            /* a tensor root ignores the shape: a Reshape's output has its operand's root */
            if (nd->d.op == OP_RESHAPE && (nd->input_mask & 1)) memcpy(r->roots[v], r->roots[nd->ref[0]], 32);
            else opml_tensor_root(r->values[v], (size_t)kd_nbytes(&nd->d.out), r->roots[v]);
            set_leaf(r, v, r->roots[v]);
            memcpy(r->states[k + 1], r->tree[1], 32);
        }
    }
    return 0;
}

const float *opml_run_output(const opml_run *r, size_t *nbytes) {
    *nbytes = (size_t)kd_nbytes(&r->m->values[r->m->output_value]);
    return (const float *)r->values[r->m->output_value];
}
