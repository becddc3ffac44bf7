/* test_vm_node.c: the guest program runs nodes in the VM with exactly the host reference
 * kernels' output, and the node loader's machine has the state the contract builds from roots. */
#include "vm_node.h"
#include "vm_guest.h"
#include "kernel.h"
#include "merkle.h"
#include "keccak.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static uint32_t seed = 99;
static uint32_t rnd(void) {
    seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
    return seed;
}
static float rndf(void) { return ((float)(rnd() % 20001) - 10000.0f) / 1000.0f; }

static kd_tensor tens(uint8_t dtype, unsigned rank, uint32_t d0, uint32_t d1) {
    kd_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.rank = (uint8_t)rank;
    t.dims[0] = d0;
    t.dims[1] = d1;
    return t;
}

/* Runs d on random operands on the host and in the VM; their output roots must be equal. */
static void run_both(const char *name, kd_desc *d) {
    uint8_t desc[KD_BYTES];
    kd_encode(d, desc);
    void *in[KD_MAX_OPERANDS] = {0};
    size_t len[KD_MAX_OPERANDS] = {0};
    for (unsigned j = 0; j < d->noperands; j++) {
        len[j] = (size_t)kd_nbytes(&d->in[j]);
        in[j] = malloc(len[j] + 4);
        if (d->in[j].dtype == KD_F32)
            for (size_t i = 0; i < len[j] / 4; i++) ((float *)in[j])[i] = rndf();
        else
            for (size_t i = 0; i < len[j]; i++) ((uint8_t *)in[j])[i] = (uint8_t)(rnd() % 255 + 129);
    }
    size_t out_len = (size_t)kd_nbytes(&d->out);
    uint8_t *out = calloc(1, out_len);
    size_t scratch_len = 1 << 20;
    void *scratch = malloc(scratch_len);
    CHECK_EQ_INT(kernel_run(desc, sizeof desc, (const void *const *)in, out, scratch, scratch_len), KD_OK);
    uint8_t want[32], got[32];
    merkle_tensor_root(out, out_len, want);

    vm v;
    CHECK_EQ_INT(vm_init(&v), 0);
    CHECK_EQ_INT(vm_node_load(&v, desc, sizeof desc, (const void *const *)in, len), 0);
    /* the loaded machine is the state the contract builds from roots */
    uint8_t roots[VM_NODE_OPERANDS][32], desc_root[32], from_roots[VM_STATE_BYTES], loaded[VM_STATE_BYTES];
    for (unsigned j = 0; j < VM_NODE_OPERANDS; j++) merkle_tensor_root(in[j], len[j], roots[j]);
    merkle_tensor_root(desc, sizeof desc, desc_root);
    vm_node_initial_state(vm_guest_root, desc_root, roots, from_roots);
    vm_pack(&v, loaded);
    CHECK_MEM(from_roots, loaded, VM_STATE_BYTES);
    CHECK_EQ_INT(vm_run(&v, 2000000000ull), 0);
    CHECK_EQ_INT(v.status, VM_EXITED);
    CHECK_EQ_INT(v.exit_code, 0);
    vm_node_output_root(&v, got);
    CHECK_MEM(got, want, 32);
    printf("%-10s %10llu instructions\n", name, (unsigned long long)v.step);
    vm_free(&v);
    for (unsigned j = 0; j < d->noperands; j++) free(in[j]);
    free(out);
    free(scratch);
}

int main(void) {
    /* the embedded guest image is the pinned one */
    uint8_t root[32];
    merkle_tensor_root(vm_guest_image, vm_guest_image_len, root);
    CHECK_MEM(root, vm_guest_root, 32);

    kd_desc d;
    static const unsigned unary[] = {OP_RELU, OP_SIGMOID, OP_TANH};
    for (size_t i = 0; i < 3; i++) {
        memset(&d, 0, sizeof d);
        d.op = (uint16_t)unary[i];
        d.noperands = 1;
        d.in[0] = d.out = tens(KD_F32, 2, 7, 13);
        run_both(kernel_op_name(d.op), &d);
    }
    memset(&d, 0, sizeof d);
    d.op = OP_ADD;
    d.noperands = 2;
    d.in[0] = d.out = tens(KD_F32, 2, 5, 9);
    d.in[1] = tens(KD_F32, 1, 9, 0);
    run_both("Add", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_SOFTMAX;
    d.noperands = 1;
    d.in[0] = d.out = tens(KD_F32, 2, 3, 10);
    d.ia[0] = 1;
    run_both("Softmax", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_QLINEAR;
    d.noperands = 4;
    d.in[0] = tens(KD_F32, 2, 2, 50);
    d.in[1] = tens(KD_I8, 2, 16, 50);
    d.in[2] = tens(KD_F32, 1, 16, 0);
    d.in[3] = tens(KD_F32, 1, 16, 0);
    d.out = tens(KD_F32, 2, 2, 16);
    run_both("QLinear", &d);

    /* a malformed descriptor: the guest exits with the kernel's error, not a fault */
    uint8_t bad[KD_BYTES] = {1, 2, 3};
    const void *none[KD_MAX_OPERANDS] = {0};
    size_t zero[KD_MAX_OPERANDS] = {0};
    vm v;
    CHECK_EQ_INT(vm_init(&v), 0);
    CHECK_EQ_INT(vm_node_load(&v, bad, sizeof bad, none, zero), 0);
    vm_run(&v, 100000000);
    CHECK_EQ_INT(v.status, VM_EXITED);
    CHECK_EQ_INT(v.exit_code, -KD_EFORMAT);
    vm_free(&v);
    return check_summary("test_vm_node");
}
