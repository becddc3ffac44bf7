/* test_vm_steps.c: the measure of `opml register` (cli/vm_steps.h) against the VM's own runs, on
 * two shared models: fashion_mlp (a classifier, on the synthetic input) and tinyllama_fortunes
 * (converted with a 16-position context, measured at its last position, 15).
 *   - vm_steps_longest's figure and node are exactly those of the VM's interpreter alone (the
 *     definition, vm_interpret) run on every node of the same committed run, the first node of
 *     each descriptor; every other node's run is within the margin of its descriptor's first (the
 *     LLaMA layers repeat descriptors on other data);
 *   - a node run bounded at its own step count halts, one step fewer does not (an error naming
 *     the node), so the figure is the step at which the guest exits;
 *   - an output root other than the engine's is refused;
 *   - vm_steps_log2_need / _choose at their edges and on the measured figures.
 *   test_vm_steps MODELS_DIR */
#include "check.h"
#include "convert.h"
#include "gguf_import.h"
#include "vm_model.h"
#include "vm_steps.h"

#include <stdlib.h>
#include <unistd.h>

/* Node k of s run by the interpreter alone until it halts: its steps, or UINT64_MAX. */
static uint64_t interpreted(const vm_steps_run *s, uint32_t k) {
    vm v;
    char err[600];
    uint64_t steps = UINT64_MAX;
    if (vm_init(&v)) return steps;
    if (vm_model_load_node(&v, s->view, k, err, sizeof err) == 0 && vm_interpret(&v, UINT64_MAX) == 0 &&
        v.status == VM_EXITED && v.exit_code == 0)
        steps = v.step;
    else
        fprintf(stderr, "node %u did not run: %s\n", k, err);
    vm_free(&v);
    return steps;
}

static void check_model(const char *name, const opml_model *m, int generation) {
    vm_steps_run s;
    char err[600];
    int rc = vm_steps_prepare(&s, m, UINT32_MAX, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s: %s\n", name, err);
        vm_steps_free(&s);
        return;
    }
    CHECK_EQ_INT(s.generation, generation);
    vm_steps_longest_result l;
    rc = vm_steps_longest(&s, NULL, NULL, &l, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc) fprintf(stderr, "%s: %s\n", name, err);
    /* the interpreter over every node: the first of each descriptor gives the figure exactly */
    uint64_t most = 0, most_any = 0, *steps = calloc(m->n, sizeof *steps);
    uint32_t at = 0, distinct = 0;
    double spread = 0; /* the most a node's run exceeds the first of its descriptor's, relative */
    for (uint32_t k = 0; steps && k < m->n; k++) {
        uint64_t n = steps[k] = interpreted(&s, k);
        CHECK(n != UINT64_MAX);
        if (n > most_any) most_any = n;
        uint32_t j = 0;
        while (j < k && memcmp(m->nodes[j].desc_root, m->nodes[k].desc_root, 32)) j++;
        if (j < k) { /* the same guest code on the same shapes, other data: within the margin */
            CHECK(n <= steps[j] + steps[j] / VM_STEPS_MARGIN_DIV);
            if ((double)n / (double)steps[j] - 1 > spread) spread = (double)n / (double)steps[j] - 1;
            continue;
        }
        distinct++;
        if (n > most) most = n, at = k;
    }
    free(steps);
    CHECK_EQ_INT(l.steps, most);
    CHECK_EQ_INT(l.node, at);
    CHECK_EQ_INT(l.runs, distinct);
    CHECK(most_any <= most + most / VM_STEPS_MARGIN_DIV);
    printf("%s: %u nodes, %u distinct, longest node %u (%s) %llu VM steps (%llu over every node; equal descriptors "
           "differ by at most %.2f%%): stepsLog2 %u, chosen %u\n", name, m->n, distinct, l.node,
           kernel_op_name(m->nodes[l.node].d.op), (unsigned long long)l.steps, (unsigned long long)most_any,
           100 * spread, vm_steps_log2_need(l.steps), vm_steps_log2_choose(l.steps));
    /* bounded at its own figure the run halts; one step fewer, it is still running */
    uint64_t n = 0;
    CHECK_EQ_INT(vm_steps_node(&s, l.node, l.steps, &n, err, sizeof err), 0);
    CHECK_EQ_INT(n, l.steps);
    CHECK_EQ_INT(vm_steps_node(&s, l.node, l.steps - 1, &n, err, sizeof err), -1);
    CHECK(strstr(err, "runs past") != NULL);
    CHECK_EQ_INT(vm_steps_node(&s, m->n, l.steps, &n, err, sizeof err), -1);
    /* an output root the engine did not compute is refused */
    uint8_t *root = ((opml_run *)s.view)->roots[m->nin + l.node];
    root[0] ^= 1;
    CHECK_EQ_INT(vm_steps_node(&s, l.node, l.steps, &n, err, sizeof err), -1);
    CHECK(strstr(err, "differs from the engine's") != NULL);
    root[0] ^= 1;
    vm_steps_free(&s);
}

static void check_log2(void) {
    CHECK_EQ_INT(vm_steps_log2_need(0), VM_STEPS_LOG2_MIN);
    CHECK_EQ_INT(vm_steps_log2_need(2), 1);
    CHECK_EQ_INT(vm_steps_log2_need(3), 2);
    CHECK_EQ_INT(vm_steps_log2_need(1ull << 23), 23);
    CHECK_EQ_INT(vm_steps_log2_need((1ull << 23) + 1), 24);
    CHECK_EQ_INT(vm_steps_log2_need(UINT64_MAX), 64);
    /* the margin: S + S / 8 must fit */
    CHECK_EQ_INT(vm_steps_log2_choose(7413043), 23);  /* fashion_cnn's QConv: 8.34M <= 2^23 */
    CHECK_EQ_INT(vm_steps_log2_choose(7456541), 23);  /* 7456541 + 932067 = 2^23 */
    CHECK_EQ_INT(vm_steps_log2_choose(7456542), 24);
    CHECK_EQ_INT(vm_steps_log2_choose(33264728), 26); /* tinyllama's Attention at 255: needs 25 */
    CHECK_EQ_INT(vm_steps_log2_choose(3271276730ull), 32); /* 7B-shaped Attention at 2047 */
    CHECK_EQ_INT(vm_steps_log2_choose(1ull << 62), 63);    /* past the registry's bound */
    CHECK_EQ_INT(vm_steps_log2_choose(UINT64_MAX), 64);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_vm_steps MODELS_DIR\n");
        return 2;
    }
    check_log2();
    char path[4096], err[600];
    /* a classifier, converted in memory */
    snprintf(path, sizeof path, "%s/fashion_mlp.onnx", argv[1]);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return check_summary("test_vm_steps");
    static uint8_t onnx[1 << 22];
    size_t len = fread(onnx, 1, sizeof onnx, f);
    fclose(f);
    opml_convert_opts o = {.batch = 1, .input_divisor = 255.0f};
    uint8_t *file;
    size_t file_len;
    opml_model m;
    CHECK_EQ_INT(opml_convert(onnx, len, &o, &file, &file_len, err, sizeof err), 0);
    CHECK_EQ_INT(opml_model_parse(file, file_len, &m, err, sizeof err), 0);
    free(file);
    check_model("fashion_mlp", &m, 0);
    opml_model_free(&m);
    /* a generation model: the step graph at the last position of a 16-position context */
    char opml[] = "/tmp/opml-vm-steps-XXXXXX";
    int fd = mkstemp(opml);
    CHECK(fd >= 0);
    close(fd);
    snprintf(path, sizeof path, "%s/tinyllama_fortunes-q8_0.gguf", argv[1]);
    gguf_import_opts go = {.ctx = 16};
    uint8_t root[32];
    uint32_t nodes, weights;
    uint64_t bytes;
    CHECK_EQ_INT(gguf_import(path, opml, &go, root, &nodes, &weights, &bytes, err, sizeof err), 0);
    CHECK_EQ_INT(opml_model_map(opml, 0, &m, err, sizeof err), 0);
    check_model("tinyllama_fortunes ctx 16", &m, 1);
    opml_model_free(&m);
    unlink(opml);
    return check_summary("test_vm_steps");
}
