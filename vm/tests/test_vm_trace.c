/* test_vm_trace.c: state hashes and proofs from a checkpointed run equal those of a fresh run to
 * the same step, for steps asked in any order (a bisection's pattern, backwards jumps, past the
 * end). */
#include "vm_trace.h"
#include "vm_node.h"
#include "kernel.h"
#include "keccak.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static uint8_t desc[KD_BYTES];
static float input[7 * 13];

static void node_machine(vm *v) {
    const void *in[VM_NODE_OPERANDS] = {input};
    size_t len[VM_NODE_OPERANDS] = {sizeof input};
    CHECK_EQ_INT(vm_init(v), 0);
    CHECK_EQ_INT(vm_node_load(v, desc, sizeof desc, in, len), 0);
}

static void fresh_hash(uint64_t j, uint8_t out[32]) {
    vm v;
    node_machine(&v);
    vm_run(&v, j);
    vm_state_hash(&v, out);
    vm_free(&v);
}

int main(void) {
    kd_desc d;
    memset(&d, 0, sizeof d);
    d.op = OP_TANH;
    d.noperands = 1;
    d.in[0].dtype = KD_F32, d.in[0].rank = 2, d.in[0].dims[0] = 7, d.in[0].dims[1] = 13;
    d.out = d.in[0];
    kd_encode(&d, desc);
    for (size_t i = 0; i < 7 * 13; i++) input[i] = (float)i * 0.37f - 15.0f;

    vm v;
    node_machine(&v);
    vm_trace t;
    CHECK_EQ_INT(vm_trace_record(&t, &v, 100000000, 8192), 0);
    CHECK(t.halted);
    CHECK(t.nckpts > 10);
    uint64_t end = t.final_step;
    printf("run of %llu steps, %zu checkpoints\n", (unsigned long long)end, t.nckpts);

    /* a bisection over [0, 2^20]: 20 queries, then random ones, then some past the end */
    uint64_t lo = 0, hi = 1u << 20;
    uint8_t got[32], want[32];
    while (hi - lo > 1) {
        uint64_t mid = (lo + hi) / 2;
        CHECK_EQ_INT(vm_trace_state_hash(&t, mid, got), 0);
        fresh_hash(mid, want);
        CHECK_MEM(got, want, 32);
        if (mid % 3) hi = mid; else lo = mid;
    }
    uint64_t qs[] = {0, 1, 8191, 8192, 8193, end - 1, end, end + 5, 1ull << 40, 12345, 5, 100000, 99999};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        CHECK_EQ_INT(vm_trace_state_hash(&t, qs[i], got), 0);
        fresh_hash(qs[i], want);
        CHECK_MEM(got, want, 32);
    }
    /* proofs from the trace verify to the next state's hash */
    for (int k = 0; k < 30; k++) {
        uint64_t j = (uint64_t)rand() % (end + 2);
        if (k == 0) j = end - 1;
        uint8_t state[VM_STATE_BYTES], proof[VM_PROOF_MAX], pre[32], post[32];
        long len = vm_trace_prove(&t, j, state, proof);
        CHECK(len >= 0);
        vm_trace_state_hash(&t, j, pre);
        vm_trace_state_hash(&t, j + 1, post);
        CHECK(vm_check_step(pre, state, VM_STATE_BYTES, proof, (size_t)len, post, NULL));
    }
    vm_trace_free(&t);
    return check_summary("test_vm_trace");
}
