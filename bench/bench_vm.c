/* bench_vm.c: the VM's figures (issue 4): instructions per second of the interpreter on one node
 * with hashing off, against qemu-riscv32 running the same guest program on the same memory (a
 * ratio, qemu translating to native code); the time to answer the 40 state-hash queries of a
 * phase-2 bisection over that node's run, and to make one step proof.
 *
 *   bench_vm [--model FILE.opml --input FILE [--node I]] [--reps N]
 *
 * With a model, the node is I (default: the node whose run is longest) with its real operands,
 * computed by the engine; without one, a convolution shaped like fashion_cnn's second layer
 * (X [1,16,14,14], W [32,16,3,3], pad 1) on random operands. */
#include "vm_node.h"
#include "vm_trace.h"
#include "vm_guest.h"
#include "kernel.h"
#include "nodeelf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct bench_node {
    uint8_t desc[KD_BYTES];
    void *in[VM_NODE_OPERANDS];
    size_t len[VM_NODE_OPERANDS];
    size_t out_len;
    char what[128];
} bench_node;

static uint32_t seed = 7;
static uint32_t rnd(void) {
    seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
    return seed;
}

static void synthetic_conv(bench_node *b) {
    kd_desc d;
    memset(&d, 0, sizeof d);
    d.op = OP_QCONV;
    d.noperands = 4;
    kd_tensor x = {KD_F32, 4, {1, 16, 14, 14, 0, 0}}, w = {KD_I8, 4, {32, 16, 3, 3, 0, 0}};
    kd_tensor s = {KD_F32, 1, {32, 0, 0, 0, 0, 0}}, y = {KD_F32, 4, {1, 32, 14, 14, 0, 0}};
    d.in[0] = x, d.in[1] = w, d.in[2] = s, d.in[3] = s, d.out = y;
    int32_t ia[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    memcpy(d.ia, ia, sizeof ia);
    kd_encode(&d, b->desc);
    for (unsigned j = 0; j < 4; j++) {
        b->len[j] = (size_t)kd_nbytes(&d.in[j]);
        b->in[j] = malloc(b->len[j]);
        for (size_t i = 0; i < b->len[j]; i++) ((uint8_t *)b->in[j])[i] = (uint8_t)rnd();
        if (d.in[j].dtype == KD_F32)
            for (size_t i = 0; i < b->len[j] / 4; i++) ((float *)b->in[j])[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
    }
    b->out_len = (size_t)kd_nbytes(&d.out);
    snprintf(b->what, sizeof b->what, "synthetic QConv [1,16,14,14] * [32,16,3,3] -> [1,32,14,14]");
}

static int load(vm *v, const bench_node *b) {
    if (vm_init(v) != 0) return -1;
    return vm_node_load(v, b->desc, sizeof b->desc, (const void *const *)b->in, b->len);
}

int main(int argc, char **argv) {
    int reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_vm [--reps N]\n");
            return 2;
        }
    }
    bench_node b;
    memset(&b, 0, sizeof b);
    synthetic_conv(&b);
    printf("node: %s\n", b.what);

    /* 1. the interpreter, hashing off */
    double best_vm = 1e9;
    uint64_t steps = 0;
    for (int r = 0; r < reps; r++) {
        vm v;
        if (load(&v, &b) != 0) return 1;
        double t0 = now();
        vm_run(&v, UINT64_MAX);
        double t = now() - t0;
        if (v.status != VM_EXITED || v.exit_code != 0) {
            fprintf(stderr, "bench_vm: the node did not exit cleanly (status %u code %u)\n", v.status, v.exit_code);
            return 1;
        }
        steps = v.step;
        if (t < best_vm) best_vm = t;
        vm_free(&v);
    }
    printf("vm:   %llu instructions in %.3f s: %.1f million instructions/s (hashing off)\n",
           (unsigned long long)steps, best_vm, (double)steps / best_vm / 1e6);

    /* 2. qemu-riscv32 on the same guest and memory (includes its start-up, measured apart) */
    char path[] = "/tmp/opml-benchvm-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    if (nodeelf_write(path, b.desc, sizeof b.desc, (const void *const *)b.in, b.len, (uint32_t)b.out_len) != 0) return 1;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "qemu-riscv32 %s > /dev/null", path);
    double best_q = 1e9;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        int rc = system(cmd);
        double t = now() - t0;
        if (rc != 0) {
            fprintf(stderr, "bench_vm: qemu-riscv32 failed (%d)\n", rc);
            unlink(path);
            return 1;
        }
        if (t < best_q) best_q = t;
    }
    unlink(path);
    printf("qemu: same run in %.3f s: %.1f million instructions/s (user-mode, translated to native code)\n",
           best_q, (double)steps / best_q / 1e6);
    printf("ratio: vm time / qemu time = %.2f (goal <= 2)\n", best_vm / best_q);

    /* 3. a bisection's 40 state-hash queries and one proof, over a checkpointed run */
    vm v;
    if (load(&v, &b) != 0) return 1;
    double t0 = now();
    vm_trace t;
    uint64_t interval = steps / 256 > 65536 ? steps / 256 : 65536;
    if (vm_trace_record(&t, &v, UINT64_MAX, interval) != 0) return 1;
    double t_record = now() - t0;
    uint64_t T = 1;
    while (T < steps) T <<= 1;
    uint64_t lo = 0, hi = T;
    uint8_t h[32];
    t0 = now();
    int queries = 0;
    while (queries < 40) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (vm_trace_state_hash(&t, mid, h) != 0) return 1;
        queries++;
        if (hi - lo <= 1) lo = 0, hi = T; /* a second game over the same run */
        else if (rnd() & 1) hi = mid;
        else lo = mid;
    }
    double t_queries = now() - t0;
    uint8_t state[VM_STATE_BYTES], proof[VM_PROOF_MAX];
    t0 = now();
    long plen = vm_trace_prove(&t, steps / 3, state, proof);
    double t_proof = now() - t0;
    printf("trace: recorded with %zu checkpoints every %llu steps in %.3f s\n", t.nckpts,
           (unsigned long long)interval, t_record);
    printf("bisection: 40 state-hash queries over [0, 2^%d] in %.3f s (%.1f ms each)\n", __builtin_ctzll(T),
           t_queries, t_queries / 40 * 1e3);
    printf("proof: one step proof (%ld bytes) at step %llu in %.1f ms\n", plen, (unsigned long long)(steps / 3),
           t_proof * 1e3);
    vm_trace_free(&t);
    for (unsigned j = 0; j < VM_NODE_OPERANDS; j++) free(b.in[j]);
    return 0;
}
