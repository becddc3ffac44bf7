/* test_vm_llama.c: the nodes of a converted LLaMA model's decoding step run in the VM give the
 * output root the native engine gives. The GGUF is converted (convert/gguf/gguf_import.h) with a
 * small cache, the steps of a sampled generation replayed natively (engine/llama.h), and the last
 * step run with its commitments (opml_llama_commit_step); its nodes are run from roots, as the
 * contract would have them (the caches' bytes before the step, the sampler input of the step):
 * every node (--all), the smallest node of each kind (--smallest: for large models, where the VM
 * takes longer on the largest products), the largest node of each kind (--largest: the figure a
 * model's phase-2 step bound 2^stepsLog2 must cover; with --steps equal to --ctx the step is at the
 * last position, where Attention costs most), or one node (--node K). It ends with the longest run
 * and the least stepsLog2 that covers it; --max-log2 L fails when a run needs more than 2^L steps.
 *   test_vm_llama MODEL.gguf [--ctx N] [--steps N] [--all | --smallest | --largest | --node K]
 *                 [--max-log2 L] */
#include "check.h"
#include "engine.h"
#include "llama.h"
#include "gguf_import.h"
#include "vm_model.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* bytes a node moves: operands and output (what loading it into the VM costs) */
static uint64_t node_bytes(const opml_model *m, uint32_t k) {
    const opml_node *nd = &m->nodes[k];
    uint64_t b = kd_nbytes(&nd->d.out);
    for (unsigned j = 0; j < nd->d.noperands; j++) b += kd_nbytes(&nd->d.in[j]);
    return b;
}

/* a key per node kind: the operator, and Embedding / Q8Linear split by their operands' dtype */
static unsigned kind(const opml_node *nd) { return nd->d.op * 8u + nd->d.in[1].dtype; }

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
    double t0 = now();
    if (gguf_import(gguf, path, &o, root, &nodes, &weights, &bytes, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        unlink(path);
        return 1;
    }
    opml_llama *lm;
    CHECK_EQ_INT(opml_llama_open(path, OPML_LLAMA_VERIFY, &lm, err, sizeof err), 0);
    const opml_model *mm = opml_llama_model(lm);
    printf("converted %s: %u nodes, %u weights, %.1f MB, context %u (%.1f s)\n", gguf, mm->n, mm->nweights, bytes / 1e6,
           ctx, now() - t0);
    /* the generation's ids: a two-token prompt, then tokens of a sampled generation (temperature
     * 0.8, top-p 0.9): the last step samples with its draw state */
    opml_llama_session *ses;
    CHECK_EQ_INT(opml_llama_session_new(lm, 0, "blas", 0, &ses, err, sizeof err), 0);
    int32_t *ids = calloc(steps + 1, sizeof *ids);
    for (uint32_t i = 0; i <= steps; i++) ids[i] = (int32_t)(1 + 37 * i % 200);
    opml_gen_sampler sp = {0x3F4CCCCDu, 0, 0x3F666666u, 7}; /* 0.8, all, 0.9, seed 7 */
    uint32_t t = steps - 1, prompt_len = steps < 2 ? 1 : 2;
    CHECK_EQ_INT(opml_llama_replay(ses, ids, t, err, sizeof err), 0);
    uint8_t **before = calloc(mm->nin, sizeof *before);
    for (uint32_t i = 0; i < mm->nin; i++) {
        size_t cb;
        const void *c = i < 2 * opml_llama_hparams_of(lm)->layers ? opml_llama_session_cache(ses, i, &cb) : NULL;
        if (c) before[i] = malloc(cb), memcpy(before[i], c, cb);
    }
    const opml_run *run;
    CHECK_EQ_INT(opml_llama_commit_step(ses, ids, t, prompt_len, &sp, &run, err, sizeof err), 0);
    /* the run as the contract sees it: the caches' inputs are their bytes before the step */
    const opml_model m = *mm;
    uint8_t **vals = malloc(((size_t)m.nin + m.n) * sizeof *vals);
    memcpy(vals, run->values, ((size_t)m.nin + m.n) * sizeof *vals);
    for (uint32_t i = 0; i < m.nin; i++)
        if (before[i]) vals[i] = before[i];
    opml_run view = *run;
    view.values = vals;
    const opml_run *rp = &view;
    /* the nodes to run: all, or per kind the one moving the fewest (--largest: the most) bytes,
     * the first of equals */
    uint8_t *pick = calloc(m.n, 1);
    for (uint32_t k = 0; k < m.n; k++) {
        int best = 1;
        for (uint32_t j = 0; !all && j < m.n && best; j++)
            if (j != k && kind(&m.nodes[j]) == kind(&m.nodes[k])) {
                uint64_t bj = node_bytes(&m, j), bk = node_bytes(&m, k);
                best = (largest ? bj < bk : bj > bk) || (bj == bk && j > k);
            }
        pick[k] = (uint8_t)(only >= 0 ? (long)k == only : best);
    }
    uint64_t longest = 0;
    uint32_t longest_at = 0;
    unsigned ran = 0, kinds_seen[512] = {0};
    for (uint32_t k = 0; k < m.n; k++) {
        if (!pick[k]) continue;
        vm v;
        double t = now();
        CHECK_EQ_INT(vm_init(&v), 0);
        int rc = vm_model_load_node(&v, rp, k, err, sizeof err);
        CHECK_EQ_INT(rc, 0);
        if (rc) fprintf(stderr, "node %u: %s\n", k, err);
        CHECK_EQ_INT(vm_run(&v, 400000000000ull), 0);
        CHECK(v.status == VM_EXITED && v.exit_code == 0);
        uint8_t out[32];
        vm_node_output_root(&v, out);
        CHECK_MEM(out, rp->roots[m.nin + k], 32);
        int same = !memcmp(out, rp->roots[m.nin + k], 32);
        kinds_seen[kind(&m.nodes[k]) % 512] = 1;
        if (v.step > longest) longest = v.step, longest_at = k;
        printf("node %3u %-10s %8.1f MB in: %12llu VM steps, %6.1f s, output root %s native\n", k,
               kernel_op_name(m.nodes[k].d.op), node_bytes(&m, k) / 1e6, (unsigned long long)v.step, now() - t,
               same ? "==" : "!=");
        vm_free(&v);
        ran++;
    }
    unsigned nk = 0;
    for (unsigned i = 0; i < 512; i++) nk += kinds_seen[i];
    printf("%u nodes of %u kinds run in the VM at step %u: every output root equal to the native engine's\n", ran, nk,
           steps - 1);
    unsigned need = 1;
    while (need < 63 && (1ull << need) < longest) need++;
    printf("longest run: node %u (%s), %llu VM steps: stepsLog2 >= %u\n", longest_at,
           kernel_op_name(m.nodes[longest_at].d.op), (unsigned long long)longest, need);
    CHECK(need <= max_log2);
    if (need > max_log2) fprintf(stderr, "node %u needs more than 2^%u VM steps\n", longest_at, max_log2);
    for (uint32_t i = 0; i < m.nin; i++) free(before[i]);
    free(before), free(vals), free(ids), free(pick);
    opml_llama_session_free(ses);
    opml_llama_close(lm);
    unlink(path);
    return check_summary("test_vm_llama");
}
