/* fault.c: the fault-injection setting and the lies it produces (fault.h). */
#include "fault.h"

#include "errmsg.h"
#include "keccak.h"
#include "merkle.h"
#include "tensor_root.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A whole unsigned decimal number from s up to end; -1 on anything else. */
static int parse_u64(const char *s, const char *end, uint64_t *out) {
    if (s == end || *s < '0' || *s > '9') return -1;
    uint64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9') return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int fault_parse(const char *text, fault *f, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    if (!text) return opml_errf(err, errlen, "fault setting \"\": missing");
    const char *end = text + strlen(text);
    const char *at = strchr(text, '@');
    if (at) {
        uint64_t nth;
        if (parse_u64(at + 1, end, &nth) != 0 || nth == 0 || nth > UINT32_MAX)
            return opml_errf(err, errlen, "fault setting \"%s\": @K needs a submission number >= 1", text);
        f->only_nth = (uint32_t)nth;
        end = at;
    }
    const char *slash = memchr(text, '/', (size_t)(end - text));
    if (slash) { /* a generation's token step: node=N/T, vm=N[:STEP]/T */
        if (parse_u64(slash + 1, end, &f->step) != 0 || (strncmp(text, "node=", 5) && strncmp(text, "vm=", 3)))
            return opml_errf(err, errlen, "fault setting \"%s\": /T (a token step) follows node=N or vm=N[:STEP]", text);
        f->step_set = 1;
        end = slash;
    }
    const char *eq = memchr(text, '=', (size_t)(end - text));
    const char *kend = eq ? eq : end;
    size_t klen = (size_t)(kend - text);
    const char *arg = eq ? eq + 1 : NULL;
    uint64_t v;
    if (klen == 4 && !memcmp(text, "none", 4)) {
        if (arg || f->only_nth) return opml_errf(err, errlen, "fault setting \"%s\": none takes no argument", text);
        f->kind = FAULT_NONE;
    } else if (klen == 4 && !memcmp(text, "node", 4)) {
        if (!arg || parse_u64(arg, end, &v) != 0 || v > UINT32_MAX)
            return opml_errf(err, errlen, "fault setting \"%s\": node=N needs a node number", text);
        f->kind = FAULT_NODE;
        f->node = (uint32_t)v;
    } else if (klen == 6 && !memcmp(text, "random", 6)) {
        f->kind = FAULT_RANDOM_NODE;
        if (arg && parse_u64(arg, end, &f->seed) != 0)
            return opml_errf(err, errlen, "fault setting \"%s\": random=SEED needs a number", text);
    } else if (klen == 6 && !memcmp(text, "output", 6)) {
        if (arg) return opml_errf(err, errlen, "fault setting \"%s\": output takes no argument", text);
        f->kind = FAULT_OUTPUT;
    } else if (klen == 2 && !memcmp(text, "vm", 2)) {
        if (!arg) return opml_errf(err, errlen, "fault setting \"%s\": vm=N[:STEP] needs a node number", text);
        const char *colon = memchr(arg, ':', (size_t)(end - arg));
        if (parse_u64(arg, colon ? colon : end, &v) != 0 || v > UINT32_MAX)
            return opml_errf(err, errlen, "fault setting \"%s\": vm=N[:STEP] needs a node number", text);
        f->kind = FAULT_VM;
        f->node = (uint32_t)v;
        if (colon && (parse_u64(colon + 1, end, &f->vm_step) != 0 || f->vm_step == 0))
            return opml_errf(err, errlen, "fault setting \"%s\": vm=N:STEP needs a step >= 1", text);
    } else if ((klen == 5 && !memcmp(text, "token", 5)) || (klen == 2 && !memcmp(text, "kv", 2))) {
        if (!arg || parse_u64(arg, end, &f->step) != 0)
            return opml_errf(err, errlen, "fault setting \"%s\": %.*s=N needs a number", text, (int)klen, text);
        f->kind = klen == 5 ? FAULT_TOKEN : FAULT_KV;
    } else {
        return opml_errf(err, errlen,
                         "fault setting \"%s\": unknown kind (none, node=N, random[=SEED], output, vm=N[:STEP], token=J, kv=T, "
                         "each with @K, node and vm with /T)", text);
    }
    return 0;
}

void fault_format(const fault *f, char *out, size_t outlen) {
    char nth[48] = "";
    if (f->step_set) snprintf(nth, sizeof nth, "/%" PRIu64, f->step);
    if (f->only_nth) snprintf(nth + strlen(nth), sizeof nth - strlen(nth), "@%" PRIu32, f->only_nth);
    switch (f->kind) {
    case FAULT_NONE: snprintf(out, outlen, "none"); break;
    case FAULT_NODE: snprintf(out, outlen, "node=%" PRIu32 "%s", f->node, nth); break;
    case FAULT_RANDOM_NODE: snprintf(out, outlen, "random=%" PRIu64 "%s", f->seed, nth); break;
    case FAULT_OUTPUT: snprintf(out, outlen, "output%s", nth); break;
    case FAULT_VM:
        if (f->vm_step) snprintf(out, outlen, "vm=%" PRIu32 ":%" PRIu64 "%s", f->node, f->vm_step, nth);
        else snprintf(out, outlen, "vm=%" PRIu32 "%s", f->node, nth);
        break;
    case FAULT_TOKEN: snprintf(out, outlen, "token=%" PRIu64 "%s", f->step, nth); break;
    case FAULT_KV: snprintf(out, outlen, "kv=%" PRIu64 "%s", f->step, nth); break;
    }
}

/* splitmix64: a fixed, portable mixer, so that a restarted liar draws the same node. */
static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

int fault_plan_for(const fault *f, uint32_t nth, uint64_t task_id, uint32_t nin, uint32_t n, uint32_t output_value,
                   fault_plan *p, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    if (f->kind == FAULT_NONE || (f->only_nth && f->only_nth != nth)) return 0;
    if (n == 0) return opml_errf(err, errlen, "fault setting \"\": the model has no nodes");
    uint32_t node;
    switch (f->kind) {
    case FAULT_NODE:
    case FAULT_VM: node = f->node; break;
    case FAULT_RANDOM_NODE: node = (uint32_t)(mix64(f->seed ^ task_id) % n); break;
    case FAULT_OUTPUT:
        if (output_value < nin)
            return opml_errf(err, errlen, "fault output: the model's output is input %" PRIu32 ", not a node", output_value);
        node = output_value - nin;
        break;
    default: return opml_errf(err, errlen, "fault setting: token=J and kv=T lie in generation tasks only");
    }
    if (node >= n) return opml_errf(err, errlen, "fault at node %" PRIu32 ": the model has %" PRIu32 " nodes", node, n);
    p->active = 1;
    p->node = node;
    p->output_bytes = nin + node == output_value;
    p->in_vm = f->kind == FAULT_VM;
    p->vm_step = f->kind == FAULT_VM ? f->vm_step : 0;
    return 0;
}

int fault_gen_plan_for(const fault *f, uint32_t nth, uint64_t task_id, const fault_gen_shape *sh, fault_plan *p, char *err,
                       size_t errlen) {
    memset(p, 0, sizeof *p);
    if (f->kind == FAULT_NONE || (f->only_nth && f->only_nth != nth)) return 0;
    if (sh->T < 1 || sh->P < 1 || sh->T < sh->P || sh->output_value < sh->nin || sh->kv_value < sh->nin)
        return opml_errf(err, errlen, "fault: not a generation's shape");
    uint32_t sample = sh->output_value - sh->nin;
    uint64_t M = sh->T - sh->P + 1, step = (sh->P - 1 + sh->T) / 2; /* the middle step that samples */
    if (f->step_set) step = f->step;
    switch (f->kind) {
    case FAULT_TOKEN:
        if (f->step >= M) return opml_errf(err, errlen, "fault token=%" PRIu64 ": there are %" PRIu64 " new ids", f->step, M);
        p->node = sample, p->step = sh->P + f->step - 1;
        break;
    case FAULT_OUTPUT: p->node = sample, p->step = sh->T - 1; break;
    case FAULT_KV: p->node = sh->kv_value - sh->nin, p->step = f->step; break;
    case FAULT_NODE:
    case FAULT_VM: p->node = f->node, p->step = step; break;
    case FAULT_RANDOM_NODE: /* a node before the cache outputs, at a step that samples */
        p->node = (uint32_t)(mix64(f->seed ^ task_id) % (sh->kv_value - sh->nin));
        p->step = sh->P - 1 + mix64(f->seed ^ ~task_id) % M;
        break;
    default: return opml_errf(err, errlen, "fault setting: unknown kind");
    }
    if (p->node >= sh->n) return opml_errf(err, errlen, "fault at node %" PRIu32 ": the step graph has %" PRIu32 " nodes", p->node, sh->n);
    if (p->step >= sh->T) return opml_errf(err, errlen, "fault at step %" PRIu64 ": the generation has %" PRIu64 " steps", p->step, sh->T);
    int cache = sh->nin + p->node >= sh->kv_value && sh->nin + p->node < sh->kv_value + sh->kv_count;
    if (cache && p->step + 1 >= sh->T)
        return opml_errf(err, errlen, "fault at cache output node %" PRIu32 " of the last step: only its sampled token shows", p->node);
    if (!cache && p->step + 1 < sh->P)
        return opml_errf(err, errlen, "fault at node %" PRIu32 " of prompt step %" PRIu64 ": only the cache outputs of a prompt step show",
                         p->node, p->step);
    p->active = p->gen = 1;
    p->token = !cache;
    p->output_bytes = p->token;
    p->in_vm = f->kind == FAULT_VM;
    p->vm_step = f->kind == FAULT_VM ? f->vm_step : 0;
    return 0;
}

uint32_t fault_gen_lied_id(uint32_t x, uint32_t vocab, uint32_t stop) {
    uint32_t y = (uint32_t)(((uint64_t)x + 1) % vocab);
    return y == stop ? (uint32_t)(((uint64_t)x + 2) % vocab) : y; /* x itself when vocab <= 2 and no other fits */
}

int64_t fault_gen_apply_ids(const fault_plan *p, uint32_t *ids, uint64_t count, uint32_t vocab, uint32_t stop) {
    if (!p->active || !p->gen || count < 2) return -1;
    uint64_t i = p->token ? p->step + 1 : count - 1;
    if (i >= count) return -1;
    ids[i] = fault_gen_lied_id(ids[i], vocab, stop);
    return (int64_t)i;
}

int fault_gen_apply_step(const fault_plan *p, uint32_t nin, uint32_t output_value, int next_lied, uint32_t next,
                         uint8_t (*roots)[32]) {
    if (nin + p->node != output_value) fault_false_hash(roots[nin + p->node], roots[nin + p->node]);
    if (!next_lied) return 0;
    uint8_t b[4] = {(uint8_t)next, (uint8_t)(next >> 8), (uint8_t)(next >> 16), (uint8_t)(next >> 24)};
    return merkle_tensor_root(b, 4, roots[output_value]);
}

void fault_false_hash(const uint8_t honest[32], uint8_t out[32]) {
    static const char tag[] = "opml.fault";
    uint8_t buf[sizeof tag - 1 + 32];
    memcpy(buf, tag, sizeof tag - 1);
    memcpy(buf + sizeof tag - 1, honest, 32);
    keccak256(buf, sizeof buf, out);
}

int fault_apply_output(const fault_plan *p, uint8_t *output, size_t output_len) {
    if (!p->active) return 0;
    if (output_len == 0) return -1;
    output[0] ^= 1;
    return 0;
}

int fault_apply_values(const fault_plan *p, uint32_t nin, uint32_t output_value, uint8_t (*roots)[32], uint8_t *output,
                       size_t output_len) {
    if (!p->active) return 0;
    if (fault_apply_output(p, output, output_len)) return -1;
    if (!p->output_bytes) fault_false_hash(roots[nin + p->node], roots[nin + p->node]);
    return merkle_tensor_root(output, output_len, roots[output_value]);
}

uint64_t fault_vm_first_step(const fault_plan *p, uint64_t halt, uint64_t T) {
    if (!p->in_vm) return T;
    uint64_t s = p->vm_step ? p->vm_step : halt / 2;
    if (s < 1) s = 1;
    return s > T ? T : s;
}

void fault_final_state(const uint8_t honest[173], const uint8_t slot_path[4][32], const uint8_t lied_output[32],
                       uint8_t out[173]) {
    memcpy(out, honest, 173);
    merkle_root_from_path(lied_output, 15, 4, slot_path, out); /* memRoot: bytes 0..31 */
}

void fault_vm_hash(uint64_t j, uint64_t first, uint64_t T, const uint8_t honest[32], const uint8_t claimed_final[32],
                   uint8_t out[32]) {
    if (j >= T) memcpy(out, claimed_final, 32);
    else if (j < first) memcpy(out, honest, 32);
    else fault_false_hash(honest, out);
}
