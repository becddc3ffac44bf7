/* test_vm_llama.c: the nodes of a converted LLaMA model's decoding step run in the VM give the
 * output root the native engine gives. The GGUF is converted (convert/gguf/gguf_import.h) with a
 * small cache, the steps of a sampled generation replayed natively (engine/llama.h), and the last
 * step run with its commitments (opml_llama_commit_step); its nodes are run from roots, as the
 * contract would have them (the caches' bytes before the step, the sampler input of the step):
 * every node (--all), the smallest node of each kind (--smallest: for large models, where the VM
 * takes longer on the largest products), one node of each distinct descriptor (--largest: the
 * measure of `opml register`, vm_steps_longest of cli/vm_steps.h, the figure a model's phase-2 step
 * bound 2^stepsLog2 must cover; with --steps equal to --ctx the step is at the last position, where
 * Attention costs most), or one node (--node K). The step and the VM runs are vm_steps.h's. It ends
 * with the longest run and the least stepsLog2 that covers it, bare and with register's margin;
 * --max-log2 L fails when a run needs more than 2^L steps.
 *   test_vm_llama MODEL.gguf [--ctx N] [--steps N] [--all | --smallest | --largest | --node K]
 *                 [--max-log2 L] */
#include "clock.h"
#include "check.h"
#include "engine.h"
#include "gguf_import.h"
#include "vm_steps.h"

#include <stdlib.h>
#include <unistd.h>


/* bytes a node moves: operands and output (what loading it into the VM costs) */
static uint64_t node_bytes(const opml_model *m, uint32_t k) {
    const opml_node *nd = &m->nodes[k];
    uint64_t b = kd_nbytes(&nd->d.out);
    for (unsigned j = 0; j < nd->d.noperands; j++) b += kd_nbytes(&nd->d.in[j]);
    return b;
}

/* a key per node kind: the operator, and Embedding / Q8Linear split by their operands' dtype */
static unsigned kind(const opml_node *nd) { return nd->d.op * 8u + nd->d.in[1].dtype; }

/* what the runs printed so far saw */
typedef struct report {
    const opml_model *m;
    unsigned kinds_seen[512];
} report;

/* a vm_steps_fn: one line per node run (vm_steps_node checked its output root) */
static void print_run(void *user, uint32_t k, uint64_t steps, double seconds) {
    report *r = user;
    const opml_model *m = r->m;
    r->kinds_seen[kind(&m->nodes[k]) % 512] = 1;
    printf("node %3u %-10s %8.1f MB in: %12llu VM steps, %6.1f s, output root == native\n", k,
           kernel_op_name(m->nodes[k].d.op), node_bytes(m, k) / 1e6, (unsigned long long)steps, seconds);
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *gguf = NULL;
    uint32_t ctx = 16, steps = 3;
    int all = 1, largest = 0;
    long only = -1;
    unsigned max_log2 = 63;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ctx") && i + 1 < argc) ctx = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--all")) all = 1;
        else if (!strcmp(argv[i], "--smallest")) all = 0;
        else if (!strcmp(argv[i], "--largest")) all = 0, largest = 1;
        else if (!strcmp(argv[i], "--max-log2") && i + 1 < argc) max_log2 = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--node") && i + 1 < argc) only = atol(argv[++i]), all = 0;
        else gguf = argv[i];
    }
    if (!gguf || steps < 1 || steps > ctx || max_log2 < 1 || max_log2 > 63) {
        fprintf(stderr, "usage: test_vm_llama MODEL.gguf [--ctx N] [--steps N] [--all | --smallest | --largest | "
                        "--node K] [--max-log2 L]\n");
        return 2;
    }
    char path[] = "/tmp/opml-vm-llama-XXXXXX", err[600];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    gguf_import_opts o = {.ctx = ctx};
    uint8_t root[32];
    uint32_t nodes, weights;
    uint64_t bytes;
    double t0 = opml_now_s();
    if (gguf_import(gguf, path, &o, root, &nodes, &weights, &bytes, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        unlink(path);
        return 1;
    }
    opml_model m;
    CHECK_EQ_INT(opml_model_map(path, 0, &m, err, sizeof err), 0);
    printf("converted %s: %u nodes, %u weights, %.1f MB, context %u (%.1f s)\n", gguf, m.n, m.nweights, bytes / 1e6,
           ctx, opml_now_s() - t0);
    /* step steps - 1 of a sampled generation, its nodes' roots as the contract has them (vm_steps.h) */
    vm_steps_run s;
    t0 = opml_now_s();
    int prepared = vm_steps_prepare(&s, &m, steps - 1, err, sizeof err);
    CHECK_EQ_INT(prepared, 0);
    CHECK(s.generation);
    if (prepared || !s.generation) {
        fprintf(stderr, "%s\n", prepared ? err : "not a LLaMA step graph");
        vm_steps_free(&s);
        opml_model_free(&m);
        unlink(path);
        return check_summary("test_vm_llama");
    }
    printf("step %u run natively with its commitments (%.1f s)\n", steps - 1, opml_now_s() - t0);
    report rep = {&m, {0}};
    vm_steps_longest_result longest = {0};
    if (largest) {
        /* the measure of `opml register`: every distinct node at this position */
        int rc = vm_steps_longest(&s, print_run, &rep, &longest, err, sizeof err);
        CHECK_EQ_INT(rc, 0);
        if (rc) fprintf(stderr, "%s\n", err);
    } else {
        /* the nodes to run: all, or per kind the one moving the fewest bytes, the first of equals */
        for (uint32_t k = 0; k < m.n; k++) {
            int pick = only >= 0 ? (long)k == only : 1;
            for (uint32_t j = 0; only < 0 && !all && j < m.n && pick; j++)
                if (j != k && kind(&m.nodes[j]) == kind(&m.nodes[k])) {
                    uint64_t bj = node_bytes(&m, j), bk = node_bytes(&m, k);
                    pick = bj > bk || (bj == bk && j > k);
                }
            if (!pick) continue;
            uint64_t n = 0;
            double t = opml_now_s();
            int rc = vm_steps_node(&s, k, 1ull << VM_STEPS_LOG2_MAX, &n, err, sizeof err);
            CHECK_EQ_INT(rc, 0);
            if (rc) {
                fprintf(stderr, "%s\n", err);
                continue;
            }
            print_run(&rep, k, n, opml_now_s() - t);
            if (n > longest.steps) longest.steps = n, longest.node = k;
            longest.runs++;
        }
    }
    unsigned nk = 0;
    for (unsigned i = 0; i < 512; i++) nk += rep.kinds_seen[i];
    printf("%u nodes of %u kinds run in the VM at step %u: every output root equal to the native engine's\n",
           longest.runs, nk, steps - 1);
    unsigned need = vm_steps_log2_need(longest.steps);
    printf("longest run: node %u (%s), %llu VM steps: stepsLog2 >= %u (%u with the margin of 1/%u)\n", longest.node,
           kernel_op_name(m.nodes[longest.node].d.op), (unsigned long long)longest.steps, need,
           vm_steps_log2_choose(longest.steps), VM_STEPS_MARGIN_DIV);
    CHECK(need <= max_log2);
    if (need > max_log2) fprintf(stderr, "node %u needs more than 2^%u VM steps\n", longest.node, max_log2);
    vm_steps_free(&s);
    opml_model_free(&m);
    unlink(path);
    return check_summary("test_vm_llama");
}
