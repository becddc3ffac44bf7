/* test_vm_proof.c: step proofs on every step of random programs verify and give the next state's
 * hash (the verifier and the fast interpreter agree); every kind of tampering is rejected. */
#include "vm_proof.h"
#include "randprog.h"
#include "check.h"
#include "keccak.h"

#include <stdlib.h>
#include <string.h>

static void load_program(vm *v, const uint32_t *code, size_t n) {
    CHECK_EQ_INT(vm_init(v), 0);
    CHECK_EQ_INT(vm_mem_write(&v->mem, RP_TEXT, code, 4 * n), 0);
    v->pc = RP_TEXT;
}

/* Tampering with a valid (state, proof) of the step from a state whose hash is pre and whose
 * successor's hash is next: nothing may verify to `next` from a state other than `pre`. */
static void tamper(const uint8_t *state, const uint8_t *proof, size_t len, const uint8_t next[32]) {
    uint8_t s[VM_STATE_BYTES], p[VM_PROOF_MAX + 1], post[32], pre[32];
    keccak256(state, VM_STATE_BYTES, pre);
    CHECK(vm_check_step(pre, state, VM_STATE_BYTES, proof, len, next, NULL));
    /* wrong lengths */
    CHECK_EQ_INT(vm_verify_step(state, VM_STATE_BYTES - 1, proof, len, NULL, post), VM_VERIFY_BAD_STATE_LENGTH);
    CHECK_EQ_INT(vm_verify_step(state, VM_STATE_BYTES + 1, proof, len, NULL, post), VM_VERIFY_BAD_STATE_LENGTH);
    memcpy(p, proof, len);
    p[len] = 0;
    CHECK_EQ_INT(vm_verify_step(state, VM_STATE_BYTES, p, len + 1, NULL, post), VM_VERIFY_BAD_PROOF_LENGTH);
    if (len) CHECK_EQ_INT(vm_verify_step(state, VM_STATE_BYTES, p, len - 1, NULL, post), VM_VERIFY_BAD_PROOF_LENGTH);
    if (len == VM_PROOF_MAX)
        CHECK_EQ_INT(vm_verify_step(state, VM_STATE_BYTES, p, VM_MEMPROOF_BYTES, NULL, post), VM_VERIFY_BAD_PROOF_LENGTH);
    if (len == VM_MEMPROOF_BYTES) {
        uint8_t twice[VM_PROOF_MAX];
        memcpy(twice, proof, len);
        memcpy(twice + len, proof, len);
        CHECK_EQ_INT(vm_verify_step(state, VM_STATE_BYTES, twice, VM_PROOF_MAX, NULL, post), VM_VERIFY_BAD_PROOF_LENGTH);
    }
    if (len == 0) return;
    /* a sibling, a leaf byte (each memory proof), the memory root */
    for (size_t at = 0; at < len; at += VM_MEMPROOF_BYTES) {
        memcpy(p, proof, len);
        p[at + 32 + 32 * (rand() % VM_MEM_DEPTH) + rand() % 32] ^= 1;
        CHECK_EQ_INT(vm_verify_step(state, VM_STATE_BYTES, p, len, NULL, post), VM_VERIFY_BAD_MEMORY_PROOF);
        memcpy(p, proof, len);
        p[at + rand() % 32] ^= 0x80;
        CHECK_EQ_INT(vm_verify_step(state, VM_STATE_BYTES, p, len, NULL, post), VM_VERIFY_BAD_MEMORY_PROOF);
    }
    memcpy(s, state, VM_STATE_BYTES);
    s[rand() % 32] ^= 4;
    CHECK_EQ_INT(vm_verify_step(s, VM_STATE_BYTES, proof, len, NULL, post), VM_VERIFY_BAD_MEMORY_PROOF);
    /* the step number, a register, pc, status: the game rejects the step (a changed step number
     * also changes the post-state the verifier computes) */
    static const size_t fields[] = {43, 35, 44, 48};
    for (size_t f = 0; f < 4; f++) {
        memcpy(s, state, VM_STATE_BYTES);
        s[fields[f]] ^= 1;
        CHECK(!vm_check_step(pre, s, VM_STATE_BYTES, proof, len, next, NULL));
    }
    memcpy(s, state, VM_STATE_BYTES);
    s[43] ^= 1;
    if (vm_verify_step(s, VM_STATE_BYTES, proof, len, NULL, post) == 0) CHECK(memcmp(post, next, 32) != 0);
    memcpy(s, state, VM_STATE_BYTES);
    s[49 + rand() % 124] ^= 0x10;
    CHECK(!vm_check_step(pre, s, VM_STATE_BYTES, proof, len, next, NULL));
}

/* One step of a random word (any encoding, legal or not, biased towards the RV32IM opcodes) from
 * random registers: the verifier's post-state is the interpreter's. Covers illegal encodings,
 * misaligned accesses, ecalls and ebreaks that real programs never reach. */
static void random_words(void) {
    static const uint32_t opcodes[] = {0x37, 0x17, 0x6F, 0x67, 0x63, 0x03, 0x23, 0x13, 0x33, 0x0F, 0x73};
    int agree = 0;
    vm v; /* one machine: each case rewrites the word, registers, pc and status */
    CHECK_EQ_INT(vm_init(&v), 0);
    for (int k = 0; k < 20000; k++) {
        uint32_t w = rp_rnd();
        if (k % 4) w = (w & ~0x7Fu) | opcodes[rp_rnd() % 11];
        if (k % 97 == 0) w = rp_rnd() % 2 ? RV_ECALL : RV_EBREAK;
        v.status = VM_RUNNING, v.exit_code = 0, v.step = (uint64_t)k;
        uint32_t pc = 0x3000 + 4 * (rp_rnd() % 64);
        vm_mem_write(&v.mem, pc, &w, 4);
        for (int r = 1; r < 32; r++) v.x[r] = rp_value();
        if (k % 3 == 0) v.x[17] = 93;
        if (k % 2) /* base registers into the written page, so loads see data and stores hit it */
            for (int r = 1; r < 32; r += 2) v.x[r] = 0x3000 + (rp_rnd() % 256);
        v.pc = pc;
        uint8_t state[VM_STATE_BYTES], proof[VM_PROOF_MAX], post[VM_STATE_BYTES], want[VM_STATE_BYTES];
        size_t len = vm_prove_step(&v, state, proof);
        int rc = vm_verify_step(state, sizeof state, proof, len, post, NULL);
        vm_run(&v, v.step + 1);
        vm_pack(&v, want);
        CHECK_EQ_INT(rc, 0);
        if (rc == 0 && memcmp(post, want, sizeof want) == 0) agree++;
        else fprintf(stderr, "word %#010x: verifier and interpreter disagree\n", w);
    }
    vm_free(&v);
    CHECK_EQ_INT(agree, 20000);
}

int main(void) {
    random_words();
    static uint32_t code[4096];
    size_t steps_checked = 0, loads_stores = 0, tampered = 0;
    for (int prog = 0; prog < 12; prog++) {
        rp_seed = 1000 + (uint32_t)prog;
        size_t n = rp_generate(code, 4096, 300);
        vm v;
        load_program(&v, code, n);
        uint8_t state[VM_STATE_BYTES], proof[VM_PROOF_MAX], post[32], want[32], post_state[VM_STATE_BYTES];
        for (;;) {
            int halted = v.status != VM_RUNNING;
            size_t len = vm_prove_step(&v, state, proof);
            int rc = vm_verify_step(state, VM_STATE_BYTES, proof, len, post_state, post);
            CHECK_EQ_INT(rc, 0);
            uint8_t pre[32];
            keccak256(state, VM_STATE_BYTES, pre);
            CHECK_EQ_INT(vm_run(&v, v.step + 1), 0);
            vm_state_hash(&v, want);
            CHECK_MEM(post, want, 32);
            uint8_t now[VM_STATE_BYTES];
            vm_pack(&v, now);
            CHECK_MEM(post_state, now, VM_STATE_BYTES);
            if (memcmp(post, want, 32) != 0) {
                fprintf(stderr, "program %d step %llu pc %#x differs\n", prog, (unsigned long long)v.step, v.pc);
                break;
            }
            steps_checked++;
            loads_stores += len == VM_PROOF_MAX;
            if (rand() % 8 == 0 || len == 0) {
                tamper(state, proof, len, want);
                tampered++;
            }
            if (halted) {
                CHECK_EQ_INT(len, 0);
                CHECK_MEM(pre, want, 32); /* steps to itself */
                break;
            }
        }
        CHECK_EQ_INT(v.status, VM_FAULTED);
        CHECK_EQ_INT(v.exit_code, VM_FAULT_ECALL); /* the write ecall */
        vm_free(&v);
    }
    printf("%zu steps proved and verified (%zu with a data leaf), %zu tampered\n", steps_checked, loads_stores, tampered);
    CHECK(steps_checked > 3000);
    CHECK(loads_stores > 300);
    return check_summary("test_vm_proof");
}
