/* vm_steps.c: a model's node runs in the VM, counted (see vm_steps.h). */
#include "vm_steps.h"

#include "clock.h"
#include "errmsg.h"
#include "vm_model.h"

#include <stdlib.h>
#include <string.h>

/* The synthetic input's integer values cycle through 1 .. VM_STEPS_INT_CYCLE: never 0, which
 * models use for padding, and padded positions cost less (fortunes_textcls: its attention Softmax
 * takes 30.6M steps on a 19-token input, 51.5M on one of 64 tokens). */
#define VM_STEPS_INT_CYCLE 7
/* The generation's token ids: 1 + (37 i mod VM_STEPS_ID_SPAN), inside any vocabulary past it. */
#define VM_STEPS_ID_SPAN 200


/* The synthetic input of a classifier's input t (vm_steps.h), into buf of kd_nbytes(t) bytes. */
static void synthetic_input(const kd_tensor *t, uint8_t *buf) {
    uint64_t n = kd_numel(t), x = 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        if (t->dtype == KD_F32) {
            float f = (float)(x >> 40) / (float)(1u << 24);
            memcpy(buf + 4 * i, &f, 4);
        } else if (t->dtype == KD_I64) {
            int64_t v = (int64_t)(1 + i % VM_STEPS_INT_CYCLE);
            memcpy(buf + 8 * i, &v, 8);
        } else if (t->dtype == KD_I32) {
            int32_t v = (int32_t)(1 + i % VM_STEPS_INT_CYCLE);
            memcpy(buf + 4 * i, &v, 4);
        } else if (t->dtype == KD_I8) {
            buf[i] = (uint8_t)(1 + i % VM_STEPS_INT_CYCLE);
        } else if (t->dtype == KD_BOOL) {
            buf[i] = (uint8_t)(i % 2);
        }
    }
}

static int prepare_classifier(vm_steps_run *s, char *err, size_t errlen) {
    const opml_model *m = s->m;
    size_t total = 0;
    for (uint32_t i = 0; i < m->nin; i++) total += (size_t)kd_nbytes(&m->inputs[i]);
    const void **ins = calloc(m->nin ? m->nin : 1, sizeof *ins);
    size_t *lens = calloc(m->nin ? m->nin : 1, sizeof *lens);
    s->input = calloc(total ? total : 1, 1);
    if (!ins || !lens || !s->input || !(s->backend = opml_backend_new("ref"))) {
        free(ins), free(lens);
        return opml_errf(err, errlen, "out of memory for the model's input");
    }
    uint8_t *p = s->input;
    for (uint32_t i = 0; i < m->nin; i++) {
        ins[i] = p, lens[i] = (size_t)kd_nbytes(&m->inputs[i]);
        synthetic_input(&m->inputs[i], p);
        p += lens[i];
    }
    int rc = opml_run_init(&s->run, m, s->backend, err, errlen);
    if (rc == 0) rc = opml_run_exec(&s->run, ins, lens, 1, err, errlen);
    free(ins), free(lens);
    s->view = &s->run;
    return rc;
}

/* Step `position` of a sampled generation with its commitments; the view's caches are their bytes
 * before the step, as the contract has them (the run's are the caches after it). */
static int prepare_generation(vm_steps_run *s, uint32_t position, char *err, size_t errlen) {
    const opml_llama_hparams *hp = opml_llama_hparams_of(s->llama);
    const opml_model *m = s->m;
    char e[600];
    if (position == UINT32_MAX) position = hp->ctx - 1;
    if (position >= hp->ctx) return opml_errf(err, errlen, "position %u is past the context of %u", position, hp->ctx);
    s->position = position;
    if (opml_llama_session_new(s->llama, 0, "blas", 0, &s->session, e, sizeof e))
        return opml_errf(err, errlen, "%s", e);
    s->ids = calloc((size_t)position + 1, sizeof *s->ids);
    s->before = calloc(m->nin, sizeof *s->before);
    s->values = malloc(((size_t)m->nin + m->n) * sizeof *s->values);
    if (!s->ids || !s->before || !s->values) return opml_errf(err, errlen, "out of memory");
    uint32_t span = hp->vocab - 1 < VM_STEPS_ID_SPAN ? hp->vocab - 1 : VM_STEPS_ID_SPAN;
    for (uint32_t i = 0; i <= position; i++) s->ids[i] = (int32_t)(1 + 37u * i % (span ? span : 1));
    /* temperature 0.8, top-k all, top-p 0.9, seed 7: Sample orders every logit */
    opml_gen_sampler sp = {0x3F4CCCCDu, 0, 0x3F666666u, 7};
    uint32_t prompt_len = position < 1 ? 1 : 2;
    if (opml_llama_replay(s->session, s->ids, position, e, sizeof e)) return opml_errf(err, errlen, "%s", e);
    for (uint32_t i = 0; i < 2 * hp->layers && i < m->nin; i++) {
        size_t cb;
        const void *c = opml_llama_session_cache(s->session, i, &cb);
        if (c && !(s->before[i] = malloc(cb))) return opml_errf(err, errlen, "out of memory for the caches");
        if (c) memcpy(s->before[i], c, cb);
    }
    const opml_run *run;
    if (opml_llama_commit_step(s->session, s->ids, position, prompt_len, &sp, &run, e, sizeof e))
        return opml_errf(err, errlen, "%s", e);
    memcpy(s->values, run->values, ((size_t)m->nin + m->n) * sizeof *s->values);
    for (uint32_t i = 0; i < m->nin; i++)
        if (s->before[i]) s->values[i] = s->before[i];
    s->gen_view = *run;
    s->gen_view.values = s->values;
    s->view = &s->gen_view;
    return 0;
}

int vm_steps_prepare(vm_steps_run *s, const opml_model *m, uint32_t position, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->m = m;
    if (!m->has_roots) return opml_errf(err, errlen, "the model was loaded without its roots");
    char e[300];
    if (opml_llama_wrap(m, &s->llama, e, sizeof e)) return prepare_classifier(s, err, errlen);
    s->generation = 1;
    return prepare_generation(s, position, err, errlen);
}

void vm_steps_free(vm_steps_run *s) {
    if (s->before)
        for (uint32_t i = 0; i < s->m->nin; i++) free(s->before[i]);
    free(s->before), free(s->values), free(s->ids), free(s->input);
    if (s->session) opml_llama_session_free(s->session);
    if (s->llama) opml_llama_close(s->llama);
    if (s->backend) opml_run_free(&s->run), opml_backend_free(s->backend);
    memset(s, 0, sizeof *s);
}

int vm_steps_node(const vm_steps_run *s, uint32_t node, uint64_t max_step, uint64_t *steps, char *err,
                  size_t errlen) {
    vm v;
    char e[600];
    if (node >= s->m->n) return opml_errf(err, errlen, "node %u: the model has %u nodes", node, s->m->n);
    if (vm_init(&v)) return opml_errf(err, errlen, "node %u: out of memory for the VM", node);
    int rc = -1;
    const char *op = kernel_op_name(s->m->nodes[node].d.op);
    if (vm_model_load_node(&v, s->view, node, e, sizeof e)) opml_errf(err, errlen, "node %u (%s): %s", node, op, e);
    else if (vm_run(&v, max_step)) opml_errf(err, errlen, "node %u (%s): out of memory in the VM", node, op);
    else if (v.status == VM_RUNNING)
        opml_errf(err, errlen, "node %u (%s) runs past %llu VM steps", node, op, (unsigned long long)max_step);
    else if (v.status != VM_EXITED || v.exit_code != 0)
        opml_errf(err, errlen, "node %u (%s) fails in the VM: %s %u after %llu steps", node, op,
                  v.status == VM_EXITED ? "exit code" : "fault", v.exit_code, (unsigned long long)v.step);
    else {
        uint8_t out[32];
        vm_node_output_root(&v, out);
        if (memcmp(out, s->view->roots[s->m->nin + node], 32))
            opml_errf(err, errlen, "node %u (%s): the VM's output root differs from the engine's", node, op);
        else
            *steps = v.step, rc = 0;
    }
    vm_free(&v);
    return rc;
}

int vm_steps_longest(const vm_steps_run *s, vm_steps_fn on_run, void *user, vm_steps_longest_result *out, char *err,
                     size_t errlen) {
    const opml_model *m = s->m;
    memset(out, 0, sizeof *out);
    for (uint32_t k = 0; k < m->n; k++) {
        uint32_t j = 0;
        while (j < k && memcmp(m->nodes[j].desc_root, m->nodes[k].desc_root, 32)) j++;
        if (j < k) continue; /* an equal descriptor ran already */
        uint64_t steps;
        double t0 = opml_now_s();
        if (vm_steps_node(s, k, 1ull << VM_STEPS_LOG2_MAX, &steps, err, errlen)) return -1;
        double dt = opml_now_s() - t0;
        out->seconds += dt;
        out->runs++;
        if (steps > out->steps) out->steps = steps, out->node = k;
        if (on_run) on_run(user, k, steps, dt);
    }
    return 0;
}

unsigned vm_steps_log2_need(uint64_t steps) {
    unsigned l = VM_STEPS_LOG2_MIN;
    while (l < 64 && (1ull << l) < steps) l++;
    return l;
}

unsigned vm_steps_log2_choose(uint64_t steps) {
    uint64_t room = steps / VM_STEPS_MARGIN_DIV;
    return vm_steps_log2_need(steps > UINT64_MAX - room ? UINT64_MAX : steps + room);
}
