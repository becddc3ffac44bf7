/* test_vm_node.c: the guest program runs nodes in the VM with exactly the host reference
 * kernels' output and exactly qemu-riscv32's output for the same guest (nodeelf.h), and the node
 * loader's machine has the state the contract builds from roots. */
#include "vm_node.h"
#include "vm_guest.h"
#include "kernel.h"
#include "merkle.h"
#include "keccak.h"
#include "check.h"
#include "nodeelf.h"

#include <unistd.h>

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

static kd_tensor tens3(uint8_t dtype, uint32_t a, uint32_t b, uint32_t c) {
    kd_tensor t = tens(dtype, 3, a, b);
    t.dims[2] = c;
    return t;
}

static kd_tensor tens4(uint8_t dtype, uint32_t a, uint32_t b, uint32_t c, uint32_t e) {
    kd_tensor t = tens(dtype, 4, a, b);
    t.dims[2] = c;
    t.dims[3] = e;
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
        else if (d->in[j].dtype == KD_I32) /* token ids and positions: small and in range */
            for (size_t i = 0; i < len[j] / 4; i++) ((int32_t *)in[j])[i] = (int32_t)(rnd() % 4);
        else if (d->in[j].dtype == KD_I64) /* indices: in range, negative, a few out of range */
            for (size_t i = 0; i < len[j] / 8; i++) ((int64_t *)in[j])[i] = (int64_t)(rnd() % 12) - 5;
        else if (d->in[j].dtype == KD_BOOL) /* 0, 1 and a non-canonical true */
            for (size_t i = 0; i < len[j]; i++) ((uint8_t *)in[j])[i] = (uint8_t)(rnd() % 3);
        else
            for (size_t i = 0; i < len[j]; i++) ((uint8_t *)in[j])[i] = (uint8_t)(rnd() % 255 + 129);
        if (d->in[j].dtype == KD_Q8_0) /* finite block scales */
            for (size_t b = 0; b < len[j] / KD_Q8_BYTES; b++) ((uint8_t *)in[j])[b * KD_Q8_BYTES + 1] &= 0x3F;
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
    uint8_t slot_path[4][32], final_state[VM_STATE_BYTES], via_path[32];
    vm_node_output_path(&v, slot_path);
    vm_pack(&v, final_state);
    merkle_root_from_path(got, VM_SLOT_OUTPUT, 4, (const uint8_t (*)[32])slot_path, via_path);
    CHECK_MEM(via_path, final_state, 32); /* the output root is slot 15 of the final memory root */
    /* the same guest and memory under qemu-riscv32 */
    char path[] = "/tmp/opml-vmnode-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ_INT(nodeelf_write(path, desc, sizeof desc, (const void *const *)in, len, (uint32_t)out_len, 0), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "qemu-riscv32 %s", path);
    FILE *q = popen(cmd, "r");
    uint8_t *qout = malloc(out_len + 1);
    size_t got_len = q ? fread(qout, 1, out_len + 1, q) : 0;
    CHECK_EQ_INT(q ? pclose(q) : -1, 0);
    CHECK_EQ_INT(got_len, out_len);
    uint8_t vm_out_bytes[4096];
    size_t cmp = out_len < sizeof vm_out_bytes ? out_len : sizeof vm_out_bytes;
    vm_mem_read(&v.mem, 0xF0000000u, vm_out_bytes, cmp);
    CHECK_MEM(vm_out_bytes, qout, cmp);
    free(qout);
    unlink(path);
    printf("%-10s %10llu instructions, output equal to the host kernels and to qemu\n", name, (unsigned long long)v.step);
    vm_free(&v);
    for (unsigned j = 0; j < d->noperands; j++) free(in[j]);
    free(out);
    free(scratch);
}

/* A fetch over a table of (root, bytes); `tamper` flips a byte of what it hands out. */
typedef struct table {
    unsigned n;
    uint8_t root[4][32];
    uint8_t *data[4];
    size_t len[4];
    int tamper;
} table;

static const void *table_fetch(const uint8_t root[32], size_t *len, void *user, char *err, size_t errlen) {
    table *t = user;
    for (unsigned i = 0; i < t->n; i++)
        if (!memcmp(t->root[i], root, 32)) {
            *len = t->len[i];
            if (t->tamper) t->data[i][0] ^= 1;
            return t->data[i];
        }
    snprintf(err, errlen, "unknown root");
    return NULL;
}

/* The node loader from roots: the contract's state, and refusals of bad bytes and guests. */
static void test_load_roots(void) {
    kd_desc d;
    memset(&d, 0, sizeof d);
    d.op = OP_RELU;
    d.noperands = 1;
    d.in[0] = d.out = tens(KD_F32, 1, 50, 0);
    uint8_t desc[KD_BYTES];
    kd_encode(&d, desc);
    float x[50];
    for (int i = 0; i < 50; i++) x[i] = rndf();
    table t = {2, {{0}}, {desc, (uint8_t *)x}, {sizeof desc, sizeof x}, 0};
    merkle_tensor_root(desc, sizeof desc, t.root[0]);
    merkle_tensor_root(x, sizeof x, t.root[1]);
    uint8_t ops[VM_NODE_OPERANDS][32];
    for (unsigned j = 0; j < VM_NODE_OPERANDS; j++) memcpy(ops[j], merkle_zero(MERKLE_SLOT_DEPTH), 32);
    memcpy(ops[0], t.root[1], 32);
    uint8_t want[VM_STATE_BYTES], got[VM_STATE_BYTES];
    vm_node_initial_state(vm_guest_root, t.root[0], ops, want);
    char err[300];
    vm v;
    CHECK_EQ_INT(vm_init(&v), 0);
    CHECK_EQ_INT(vm_node_load_roots(&v, vm_guest_root, t.root[0], ops, table_fetch, &t, err, sizeof err), 0);
    vm_pack(&v, got);
    CHECK_MEM(got, want, VM_STATE_BYTES);
    vm_run(&v, 10000000);
    CHECK_EQ_INT(v.status, VM_EXITED);
    CHECK_EQ_INT(v.exit_code, 0);
    vm_free(&v);
    /* a guest root other than the pinned one */
    uint8_t other[32];
    memcpy(other, vm_guest_root, 32);
    other[31] ^= 1;
    CHECK_EQ_INT(vm_init(&v), 0);
    CHECK_EQ_INT(vm_node_load_roots(&v, other, t.root[0], ops, table_fetch, &t, err, sizeof err), -1);
    CHECK(strstr(err, "guest root") != NULL);
    vm_free(&v);
    /* bytes that do not hash to their root */
    t.tamper = 1;
    CHECK_EQ_INT(vm_init(&v), 0);
    CHECK_EQ_INT(vm_node_load_roots(&v, vm_guest_root, t.root[0], ops, table_fetch, &t, err, sizeof err), -1);
    CHECK(strstr(err, "another root") != NULL);
    vm_free(&v);
    /* a root nobody has (the tampered descriptor byte restored) */
    t.tamper = 0;
    desc[0] ^= 1;
    ops[1][0] ^= 1;
    CHECK_EQ_INT(vm_init(&v), 0);
    CHECK_EQ_INT(vm_node_load_roots(&v, vm_guest_root, t.root[0], ops, table_fetch, &t, err, sizeof err), -1);
    CHECK(strstr(err, "operand 1") != NULL && strstr(err, "unknown root") != NULL);
    vm_free(&v);
}

/* The breadth operators of the ONNX importer (ids 96 and up), each on a small node whose shapes
 * and attributes it accepts: the VM's output equals the host kernels' and qemu's. The element-wise
 * maps without attributes are also covered by main's loop over every f32 map. */
static void breadth_operators(void) {
    static const struct {
        uint16_t op;
        float fa[2];
    } maps[] = {{OP_ELU, {0.7f, 0}}, {OP_SELU, {1.6732632f, 1.0507010f}}, {OP_CELU, {1.5f, 0}},
                {OP_THRESHOLDEDRELU, {0.5f, 0}}, {OP_SHRINK, {0.25f, 1.0f}}};
    kd_desc d;
    for (size_t i = 0; i < sizeof maps / sizeof *maps; i++) {
        memset(&d, 0, sizeof d);
        d.op = maps[i].op, d.noperands = 1, d.fa[0] = maps[i].fa[0], d.fa[1] = maps[i].fa[1];
        d.in[0] = d.out = tens(KD_F32, 2, 4, 9);
        run_both(kernel_op_name(d.op), &d);
    }
    static const uint16_t binary[] = {OP_MIN, OP_MAX, OP_PRELU};
    for (size_t i = 0; i < 3; i++) {
        memset(&d, 0, sizeof d);
        d.op = binary[i], d.noperands = 2;
        d.in[0] = d.out = tens3(KD_F32, 2, 3, 5);
        d.in[1] = tens(KD_F32, 1, 5, 0);
        run_both(kernel_op_name(d.op), &d);
    }
    static const uint16_t reductions[] = {OP_REDUCEMIN, OP_REDUCEPROD};
    for (size_t i = 0; i < 2; i++) {
        memset(&d, 0, sizeof d);
        d.op = reductions[i], d.noperands = 1, d.ia[0] = 5; /* axes 0 and 2 of [3, 4, 2] */
        d.in[0] = tens3(KD_F32, 3, 4, 2);
        d.out = tens(KD_F32, 1, 4, 0);
        run_both(kernel_op_name(d.op), &d);
    }
    memset(&d, 0, sizeof d);
    d.op = OP_CUMSUM, d.noperands = 1, d.ia[0] = 1, d.ia[1] = 1, d.ia[2] = 1; /* exclusive, reverse */
    d.in[0] = d.out = tens3(KD_F32, 2, 6, 3);
    run_both("CumSum", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_HARDMAX, d.noperands = 1, d.ia[0] = 1;
    d.in[0] = d.out = tens3(KD_F32, 2, 6, 3);
    run_both("Hardmax", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_TAKE, d.noperands = 2;
    d.in[0] = tens(KD_F32, 2, 3, 4);
    d.in[1] = tens(KD_I32, 2, 5, 7);
    d.out = tens3(KD_F32, 5, 7, 1);
    run_both("Take", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_AXISRESAMPLE, d.noperands = 3, d.ia[0] = 1, d.fa[0] = -2.0f; /* [2, 4, 3] -> [2, 9, 3], 2 taps */
    d.in[0] = tens3(KD_F32, 2, 4, 3);
    d.in[1] = tens(KD_I32, 2, 9, 2);
    d.in[2] = tens(KD_F32, 2, 9, 2);
    d.out = tens3(KD_F32, 2, 9, 3);
    run_both("AxisResample", &d);
    memset(&d, 0, sizeof d); /* [1, 4, 5, 5] -> [1, 6, 11, 10]: groups 2, strides 2, pads 1 0 0 1, output padding 1 0 */
    d.op = OP_QCONVTRANSPOSE, d.noperands = 4;
    d.in[0] = tens4(KD_F32, 1, 4, 5, 5);
    d.in[1] = tens4(KD_I8, 6, 2, 3, 3);
    d.in[2] = d.in[3] = tens(KD_F32, 1, 6, 0);
    d.out = tens4(KD_F32, 1, 6, 11, 10);
    int32_t ct_ia[] = {2, 2, 2, 1, 0, 0, 1, 1, 1};
    memcpy(d.ia, ct_ia, sizeof ct_ia);
    run_both("QConvTranspose", &d);

    /* the recurrent nets: S = 3 steps, B = 2, I = 5, H = 4 */
    memset(&d, 0, sizeof d); /* LSTM, bidirectional, clip 3 */
    d.op = OP_LSTM, d.noperands = 9, d.fa[0] = 3.0f;
    int32_t lstm_ia[] = {2, 1, 2, 2, 1, 2, 2};
    memcpy(d.ia, lstm_ia, sizeof lstm_ia);
    d.in[0] = tens3(KD_F32, 3, 2, 5);
    d.in[1] = tens3(KD_I8, 2, 16, 5), d.in[2] = tens(KD_F32, 2, 2, 16);
    d.in[3] = tens3(KD_I8, 2, 16, 4), d.in[4] = d.in[5] = tens(KD_F32, 2, 2, 16);
    d.in[6] = d.in[7] = tens3(KD_F32, 2, 2, 4), d.in[8] = tens(KD_F32, 2, 2, 12);
    d.out = tens4(KD_F32, 3, 2, 2, 8);
    run_both("LSTM", &d);
    for (int lbr = 0; lbr < 2; lbr++) { /* GRU, reverse, both forms of the reset gate */
        memset(&d, 0, sizeof d);
        d.op = OP_GRU, d.noperands = 8, d.ia[0] = 1, d.ia[1] = 1, d.ia[2] = 2, d.ia[7] = lbr;
        d.in[0] = tens3(KD_F32, 3, 2, 5);
        d.in[1] = tens3(KD_I8, 1, 12, 5), d.in[2] = tens(KD_F32, 2, 1, 12);
        d.in[3] = tens3(KD_I8, 1, 12, 4), d.in[4] = d.in[5] = d.in[6] = tens(KD_F32, 2, 1, 12);
        d.in[7] = tens3(KD_F32, 1, 2, 4);
        d.out = tens4(KD_F32, 3, 1, 2, 4);
        run_both(lbr ? "GRU/lbr" : "GRU", &d);
    }
    memset(&d, 0, sizeof d); /* RNN, forward, Relu */
    d.op = OP_RNN, d.noperands = 7, d.ia[1] = 3;
    d.in[0] = tens3(KD_F32, 3, 2, 5);
    d.in[1] = tens3(KD_I8, 1, 4, 5), d.in[2] = tens(KD_F32, 2, 1, 4);
    d.in[3] = tens3(KD_I8, 1, 4, 4), d.in[4] = d.in[5] = tens(KD_F32, 2, 1, 4);
    d.in[6] = tens3(KD_F32, 1, 2, 4);
    d.out = tens4(KD_F32, 3, 1, 2, 4);
    run_both("RNN", &d);

    for (int mn = 0; mn < 2; mn++) { /* ArgMax, ArgMin over axis 1 of [3, 5, 2], keepdims, last index */
        memset(&d, 0, sizeof d);
        d.op = OP_ARGMINMAX, d.noperands = 1, d.ia[0] = 1, d.ia[1] = mn, d.ia[2] = 1;
        d.in[0] = tens3(KD_F32, 3, 5, 2);
        d.out = tens3(KD_I32, 3, 1, 2);
        run_both(mn ? "ArgMin" : "ArgMax", &d);
    }
    memset(&d, 0, sizeof d);
    d.op = OP_MOD, d.noperands = 2;
    d.in[0] = d.out = tens(KD_F32, 2, 4, 6);
    d.in[1] = tens(KD_F32, 1, 6, 0);
    run_both("Mod", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_DET, d.noperands = 1;
    d.in[0] = tens3(KD_F32, 3, 4, 4);
    d.out = tens(KD_F32, 1, 3, 0);
    run_both("Det", &d);
    for (int ix = 0; ix < 2; ix++) { /* TopK: the 3 smallest along axis 0 of [7, 4], values and indices */
        memset(&d, 0, sizeof d);
        d.op = OP_TOPK, d.noperands = 1, d.ia[0] = 0, d.ia[1] = 0, d.ia[2] = ix;
        d.in[0] = tens(KD_F32, 2, 7, 4);
        d.out = tens(ix ? KD_I32 : KD_F32, 2, 3, 4);
        run_both(ix ? "TopK/indices" : "TopK", &d);
    }
    memset(&d, 0, sizeof d); /* comparisons and logic, bool outputs */
    d.op = OP_COMPARE, d.noperands = 2, d.ia[0] = 1;
    d.in[0] = tens3(KD_F32, 2, 3, 5);
    d.in[1] = tens(KD_F32, 1, 5, 0);
    d.out = tens3(KD_BOOL, 2, 3, 5);
    run_both("Compare", &d);
    d.ia[0] = 3, d.in[0] = d.in[1] = tens(KD_I64, 2, 4, 6), d.out = tens(KD_BOOL, 2, 4, 6);
    run_both("Compare/i64", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_LOGIC, d.noperands = 2, d.ia[0] = 2;
    d.in[0] = d.out = tens(KD_BOOL, 2, 3, 4);
    d.in[1] = tens(KD_BOOL, 1, 4, 0);
    run_both("Logic", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_ISNANINF, d.noperands = 1, d.ia[0] = 1, d.ia[2] = 1;
    d.in[0] = tens(KD_F32, 2, 3, 4);
    d.out = tens(KD_BOOL, 2, 3, 4);
    run_both("IsNaNInf", &d);
}

int main(void) {
    test_load_roots();
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
    d.op = OP_LOGSOFTMAX;
    run_both("LogSoftmax", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_QLINEAR;
    d.noperands = 4;
    d.in[0] = tens(KD_F32, 2, 2, 50);
    d.in[1] = tens(KD_I8, 2, 16, 50);
    d.in[2] = tens(KD_F32, 1, 16, 0);
    d.in[3] = tens(KD_F32, 1, 16, 0);
    d.out = tens(KD_F32, 2, 2, 16);
    run_both("QLinear", &d);

    memset(&d, 0, sizeof d); /* conv: X [1,4,9,9], W [6,4,3,3], stride 1, pad 1 */
    d.op = OP_QCONV;
    d.noperands = 4;
    d.in[0] = tens4(KD_F32, 1, 4, 9, 9);
    d.in[1] = tens4(KD_I8, 6, 4, 3, 3);
    d.in[2] = tens(KD_F32, 1, 6, 0);
    d.in[3] = tens(KD_F32, 1, 6, 0);
    d.out = tens4(KD_F32, 1, 6, 9, 9);
    int32_t conv_ia[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    memcpy(d.ia, conv_ia, sizeof conv_ia);
    run_both("QConv", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_QMATMUL;
    d.noperands = 2;
    d.in[0] = tens(KD_F32, 2, 5, 12);
    d.in[1] = tens(KD_F32, 2, 12, 7);
    d.out = tens(KD_F32, 2, 5, 7);
    run_both("QMatMul", &d);
    static const unsigned pools[] = {OP_MAXPOOL, OP_AVGPOOL};
    for (size_t i = 0; i < 2; i++) {
        memset(&d, 0, sizeof d); /* 2x2 windows, stride 2 */
        d.op = (uint16_t)pools[i];
        d.noperands = 1;
        d.in[0] = tens4(KD_F32, 1, 3, 8, 8);
        d.out = tens4(KD_F32, 1, 3, 4, 4);
        int32_t pool_ia[] = {2, 2, 2, 2, 0, 0, 0, 0, 1, 1};
        memcpy(d.ia, pool_ia, sizeof pool_ia);
        run_both(kernel_op_name(d.op), &d);
    }
    memset(&d, 0, sizeof d);
    d.op = OP_GLOBALAVGPOOL;
    d.noperands = 1;
    d.in[0] = tens4(KD_F32, 1, 3, 5, 5);
    d.out = tens4(KD_F32, 1, 3, 1, 1);
    run_both("GlobalAvgPool", &d);
    static const unsigned binary[] = {OP_SUB, OP_MUL, OP_DIV};
    for (size_t i = 0; i < 3; i++) {
        memset(&d, 0, sizeof d);
        d.op = (uint16_t)binary[i];
        d.noperands = 2;
        d.in[0] = d.out = tens(KD_F32, 2, 4, 6);
        d.in[1] = tens(KD_F32, 2, 4, 1);
        run_both(kernel_op_name(d.op), &d);
    }
    memset(&d, 0, sizeof d);
    d.op = OP_LEAKYRELU;
    d.noperands = 1;
    d.in[0] = d.out = tens(KD_F32, 1, 40, 0);
    d.fa[0] = 0.01f;
    run_both("LeakyRelu", &d);
    d.op = OP_CLIP;
    d.fa[0] = -1.5f, d.fa[1] = 2.0f;
    run_both("Clip", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_TRANSPOSE;
    d.noperands = 1;
    d.in[0] = tens(KD_F32, 2, 6, 10);
    d.out = tens(KD_F32, 2, 10, 6);
    d.ia[0] = 1, d.ia[1] = 0;
    run_both("Transpose", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_RESHAPE;
    d.noperands = 1;
    d.in[0] = tens4(KD_F32, 1, 2, 3, 4);
    d.out = tens(KD_F32, 2, 1, 24);
    run_both("Reshape", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_CONCAT;
    d.noperands = 3;
    d.in[0] = d.in[1] = d.in[2] = tens(KD_F32, 2, 3, 4);
    d.out = tens(KD_F32, 2, 3, 12);
    d.ia[0] = 1;
    run_both("Concat", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_SLICE;
    d.noperands = 1;
    d.in[0] = tens(KD_F32, 2, 6, 8);
    d.out = tens(KD_F32, 2, 3, 4);
    int32_t slice_ia[] = {5, 1, 0, 0, 0, 0, -2, 2};
    memcpy(d.ia, slice_ia, sizeof slice_ia);
    run_both("Slice", &d);

    static const unsigned reductions[] = {OP_REDUCESUM, OP_REDUCEMEAN, OP_REDUCEMAX};
    for (size_t i = 0; i < 3; i++) { /* over axis 1 of [4, 6, 5], kept as 1 */
        memset(&d, 0, sizeof d);
        d.op = (uint16_t)reductions[i];
        d.noperands = 1;
        d.in[0] = tens3(KD_F32, 4, 6, 5);
        d.out = tens3(KD_F32, 4, 1, 5);
        d.ia[0] = 2;
        run_both(kernel_op_name(d.op), &d);
    }
    memset(&d, 0, sizeof d);
    d.op = OP_PAD;
    d.noperands = 1;
    d.in[0] = tens(KD_F32, 2, 3, 4);
    d.out = tens(KD_F32, 2, 6, 5);
    d.ia[0] = 1, d.ia[1] = 0, d.ia[6] = 2, d.ia[7] = 1;
    d.fa[0] = -0.5f;
    run_both("Pad", &d);

    /* the transformer operators on small shapes */
    memset(&d, 0, sizeof d);
    d.op = OP_EMBEDDING;
    d.noperands = 3;
    d.in[0] = tens(KD_I32, 1, 3, 0);
    d.in[1] = tens(KD_I8, 2, 8, 16);
    d.in[2] = tens(KD_F32, 1, 8, 0);
    d.out = tens(KD_F32, 2, 3, 16);
    run_both("Embedding", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_RMSNORM;
    d.noperands = 2;
    d.in[0] = d.out = tens(KD_F32, 2, 4, 16);
    d.in[1] = tens(KD_F32, 1, 16, 0);
    d.fa[0] = 1e-5f;
    run_both("RMSNorm", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_ROPE;
    d.noperands = 4;
    d.in[0] = d.out = tens3(KD_F32, 2, 2, 8);
    d.in[1] = d.in[2] = tens(KD_F32, 2, 8, 4);
    d.in[3] = tens(KD_I32, 1, 1, 0);
    run_both("Rope", &d);
    d.ia[0] = 1;
    run_both("Rope/half", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_KVAPPEND;
    d.noperands = 3;
    d.in[0] = d.out = tens3(KD_F32, 8, 2, 4);
    d.in[1] = tens3(KD_F32, 1, 2, 4);
    d.in[2] = tens(KD_I32, 1, 1, 0);
    run_both("KVAppend", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_ATTENTION;
    d.noperands = 4;
    d.in[0] = d.out = tens3(KD_F32, 1, 4, 8);
    d.in[1] = d.in[2] = tens3(KD_F32, 8, 2, 8);
    d.in[3] = tens(KD_I32, 1, 1, 0);
    d.fa[0] = 0.35355339f;
    run_both("Attention", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_SILU;
    d.noperands = 1;
    d.in[0] = d.out = tens(KD_F32, 2, 3, 7);
    run_both("SiLU", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_ARGMAX;
    d.noperands = 1;
    d.in[0] = tens(KD_F32, 2, 3, 10);
    d.out = tens(KD_I32, 1, 3, 0);
    run_both("ArgMax", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_Q8LINEAR;
    d.noperands = 2;
    d.in[0] = tens(KD_F32, 2, 2, 96);
    d.in[1] = tens(KD_Q8_0, 2, 5, 96);
    d.out = tens(KD_F32, 2, 2, 5);
    run_both("Q8Linear", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_EMBEDDING;
    d.noperands = 3;
    d.in[0] = tens(KD_I32, 1, 3, 0);
    d.in[1] = tens(KD_Q8_0, 2, 2, 64);
    d.in[2] = tens(KD_Q8_0, 2, 3, 64);
    d.out = tens(KD_F32, 2, 3, 64);
    run_both("Embedding/Q8_0", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_KVAPPEND;
    d.noperands = 3;
    d.in[0] = d.out = tens3(KD_Q8_0, 8, 2, 32);
    d.in[1] = tens3(KD_F32, 1, 2, 32);
    d.in[2] = tens(KD_I32, 1, 1, 0);
    run_both("KVAppend/Q8_0", &d);
    memset(&d, 0, sizeof d);
    d.op = OP_ATTENTION;
    d.noperands = 4;
    d.in[0] = d.out = tens3(KD_F32, 1, 4, 64);
    d.in[1] = d.in[2] = tens3(KD_Q8_0, 8, 2, 64);
    d.in[3] = tens(KD_I32, 1, 1, 0);
    d.fa[0] = 0.125f;
    run_both("Attention/Q8_0", &d);

    /* the operators of ONNX transformer exports: integer inputs, masks, normalization, GELU, Pow */
    static const struct {
        const char *name;
        uint16_t op;
        uint8_t n;
        int32_t ia0;
        kd_tensor in[3], out;
    } tx[] = {
        {"Gather", OP_GATHER, 2, 0, {{KD_F32, 2, {6, 16}}, {KD_I64, 2, {2, 5}}}, {KD_F32, 3, {2, 5, 16}}},
        {"Equal", OP_EQUAL, 2, 0, {{KD_I64, 2, {3, 8}}, {KD_I64, 0, {0}}}, {KD_BOOL, 2, {3, 8}}},
        {"Where", OP_WHERE, 3, 0, {{KD_BOOL, 4, {2, 1, 1, 8}}, {KD_F32, 0, {0}}, {KD_F32, 4, {2, 4, 8, 8}}}, {KD_F32, 4, {2, 4, 8, 8}}},
        {"Not", OP_NOT, 1, 0, {{KD_BOOL, 2, {3, 8}}}, {KD_BOOL, 2, {3, 8}}},
        {"Expand", OP_EXPAND, 1, 0, {{KD_F32, 3, {1, 1, 48}}}, {KD_F32, 3, {3, 1, 48}}},
        {"Cast", OP_CAST, 1, 0, {{KD_F32, 2, {3, 8}}}, {KD_I32, 2, {3, 8}}},
        {"Cast", OP_CAST, 1, 0, {{KD_I32, 2, {3, 8}}}, {KD_I64, 2, {3, 8}}},
        {"Cast", OP_CAST, 1, 0, {{KD_I64, 2, {3, 8}}}, {KD_BOOL, 2, {3, 8}}},
        {"Cast", OP_CAST, 1, 0, {{KD_BOOL, 2, {3, 8}}}, {KD_F32, 2, {3, 8}}},
        {"LayerNorm", OP_LAYERNORM, 3, 2, {{KD_F32, 3, {2, 17, 48}}, {KD_F32, 1, {48}}, {KD_F32, 1, {48}}}, {KD_F32, 3, {2, 17, 48}}},
        {"Gelu", OP_GELU, 1, 0, {{KD_F32, 2, {17, 96}}}, {KD_F32, 2, {17, 96}}},
        {"Gelu/tanh", OP_GELU, 1, 1, {{KD_F32, 2, {17, 96}}}, {KD_F32, 2, {17, 96}}},
        {"Pow", OP_POW, 2, 0, {{KD_F32, 3, {2, 17, 48}}, {KD_F32, 1, {48}}}, {KD_F32, 3, {2, 17, 48}}},
    };
    for (size_t i = 0; i < sizeof tx / sizeof *tx; i++) {
        memset(&d, 0, sizeof d);
        d.op = tx[i].op, d.noperands = tx[i].n, d.ia[0] = tx[i].ia0, d.out = tx[i].out;
        for (unsigned j = 0; j < tx[i].n; j++) d.in[j] = tx[i].in[j];
        if (d.op == OP_LAYERNORM) d.fa[0] = 1e-5f;
        run_both(tx[i].name, &d);
    }

    /* every operator that accepts a plain f32 map [3, 7] -> [3, 7] (new element-wise operators
     * are covered without naming them here) */
    for (unsigned op = 1; op <= OP_MAX_ID; op++) {
        memset(&d, 0, sizeof d);
        d.op = (uint16_t)op;
        d.noperands = 1;
        d.in[0] = d.out = tens(KD_F32, 2, 3, 7);
        d.ia[0] = 1; /* an axis for those that read one; zero for the others (unused slots are zero) */
        if (kernel_check(&d) != KD_OK) d.ia[0] = 0;
        if (kernel_op_name(op) && kernel_check(&d) == KD_OK) run_both(kernel_op_name(op), &d);
    }

    breadth_operators();

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
