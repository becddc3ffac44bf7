/* vm_trace.c: checkpointed runs (see vm_trace.h).
 *
 * Invariant while recording: every page written since checkpoint k-1 is in cur.mem's written
 * list; checkpoint k takes that list with the pages' bytes and hashes. So the memory at
 * checkpoint k is: base memory, overridden page by page by the newest copy among checkpoints
 * 1..k. */
#include "vm_trace.h"

#include <stdlib.h>
#include <string.h>

struct vm_ckpt {
    uint32_t x[VM_REG_SINK + 1], pc, exit_code;
    uint64_t step;
    uint8_t status;
    size_t npages;
    uint32_t *index;     /* page numbers */
    uint8_t *data;       /* npages x VM_PAGE_SIZE */
    uint8_t (*hash)[32]; /* their roots */
};

static void ckpt_free(vm_ckpt *c) {
    free(c->index);
    free(c->data);
    free(c->hash);
}

static int take_checkpoint(vm_trace *t) {
    vm *v = &t->cur;
    uint8_t root[32];
    vm_mem_root(&v->mem, root); /* brings every written page's hash up to date */
    if (t->nckpts % 64 == 0) {
        vm_ckpt *n = realloc(t->ckpts, (t->nckpts + 64) * sizeof *n);
        if (!n) return -1;
        t->ckpts = n;
    }
    vm_ckpt *c = &t->ckpts[t->nckpts];
    memset(c, 0, sizeof *c);
    size_t n;
    const uint32_t *written = vm_mem_take_written(&v->mem, &n);
    c->index = malloc((n ? n : 1) * sizeof *c->index);
    c->data = malloc((n ? n : 1) * VM_PAGE_SIZE);
    c->hash = malloc((n ? n : 1) * 32);
    if (!c->index || !c->data || !c->hash) {
        ckpt_free(c);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const vm_page *p = v->mem.pages[written[i]];
        if (!p) continue;
        c->index[c->npages] = written[i];
        memcpy(c->data + c->npages * VM_PAGE_SIZE, p->data, VM_PAGE_SIZE);
        memcpy(c->hash[c->npages], p->hash, 32);
        c->npages++;
    }
    memcpy(c->x, v->x, sizeof c->x);
    c->pc = v->pc;
    c->exit_code = v->exit_code;
    c->step = v->step;
    c->status = v->status;
    t->nckpts++;
    return 0;
}

int vm_trace_record(vm_trace *t, vm *initial, uint64_t max_step, uint64_t interval) {
    return vm_trace_record_until(t, initial, max_step, interval, NULL, NULL);
}

int vm_trace_record_until(vm_trace *t, vm *initial, uint64_t max_step, uint64_t interval, int (*stop)(void *arg),
                          void *arg) {
    memset(t, 0, sizeof *t);
    t->interval = interval;
    t->base = *initial;
    memset(initial, 0, sizeof *initial);
    uint8_t root[32];
    vm_mem_root(&t->base.mem, root);
    if (vm_mem_copy(&t->cur.mem, &t->base.mem) != 0) return -1;
    memcpy(t->cur.x, t->base.x, sizeof t->cur.x);
    t->cur.pc = t->base.pc;
    t->cur.step = t->base.step;
    t->cur.status = t->base.status;
    t->cur.exit_code = t->base.exit_code;
    size_t n;
    vm_mem_take_written(&t->cur.mem, &n); /* the copy itself is not a change */
    while (t->cur.status == VM_RUNNING && t->cur.step < max_step) {
        uint64_t next = (t->cur.step / interval + 1) * interval;
        if (vm_run(&t->cur, next < max_step ? next : max_step) != 0) return -1;
        if (t->cur.step == next && t->cur.status == VM_RUNNING && take_checkpoint(t) != 0) return -1;
        if (stop && stop(arg)) return -2;
    }
    t->final_step = t->cur.step;
    t->halted = t->cur.status != VM_RUNNING;
    return 0;
}

void vm_trace_free(vm_trace *t) {
    for (size_t i = 0; i < t->nckpts; i++) ckpt_free(&t->ckpts[i]);
    free(t->ckpts);
    vm_free(&t->base);
    vm_free(&t->cur);
    memset(t, 0, sizeof *t);
}

/* Rebuilds t->cur as checkpoint k (0 = the initial machine). */
static int restore(vm_trace *t, size_t k) {
    vm_mem_free(&t->cur.mem); /* keeps t->cur's translations: vm_run checks them against memory */
    if (vm_mem_copy(&t->cur.mem, &t->base.mem) != 0) return -1;
    uint8_t *done = calloc(VM_PAGE_COUNT / 8, 1);
    if (!done) return -1;
    for (size_t i = k; i >= 1; i--) {
        const vm_ckpt *c = &t->ckpts[i - 1];
        for (size_t p = 0; p < c->npages; p++) {
            uint32_t idx = c->index[p];
            if (done[idx >> 3] & (1u << (idx & 7))) continue;
            done[idx >> 3] |= (uint8_t)(1u << (idx & 7));
            if (vm_mem_put_page(&t->cur.mem, idx, c->data + p * VM_PAGE_SIZE, c->hash[p]) != 0) {
                free(done);
                return -1;
            }
        }
    }
    free(done);
    if (k == 0) {
        memcpy(t->cur.x, t->base.x, sizeof t->cur.x);
        t->cur.pc = t->base.pc, t->cur.step = t->base.step;
        t->cur.status = t->base.status, t->cur.exit_code = t->base.exit_code;
    } else {
        const vm_ckpt *c = &t->ckpts[k - 1];
        memcpy(t->cur.x, c->x, sizeof t->cur.x);
        t->cur.pc = c->pc, t->cur.step = c->step;
        t->cur.status = c->status, t->cur.exit_code = c->exit_code;
    }
    return 0;
}

int vm_trace_seek(vm_trace *t, uint64_t j) {
    if (j > t->final_step) j = t->final_step;
    size_t k = (size_t)(j / t->interval);
    if (k > t->nckpts) k = t->nckpts;
    uint64_t from = k ? t->ckpts[k - 1].step : t->base.step;
    /* run forward from where we are when that is no further than from the checkpoint */
    if (!(t->cur.step <= j && t->cur.step >= from) && restore(t, k) != 0) return -1;
    return vm_run(&t->cur, j);
}

int vm_trace_state_hash(vm_trace *t, uint64_t j, uint8_t out[32]) {
    if (vm_trace_seek(t, j) != 0) return -1;
    vm_state_hash(&t->cur, out);
    return 0;
}

long vm_trace_prove(vm_trace *t, uint64_t j, uint8_t state[VM_STATE_BYTES], uint8_t proof[VM_PROOF_MAX]) {
    if (vm_trace_seek(t, j) != 0) return -1;
    return (long)vm_prove_step(&t->cur, state, proof);
}
