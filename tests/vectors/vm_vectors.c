/* vm_vectors.c: writes tests/vectors/vm_steps.json, the step-proof vectors both the C verifier
 * and contracts/src/RiscvStep.sol are checked against: one vector per RV32IM instruction class,
 * corner case, halt and fault of docs/vm.md, plus invalid calldata the verifier must reject.
 *
 * Each valid vector is proved by the fast interpreter's machine (vm_prove_step); the program
 * refuses to write it unless the verifier's post-state equals the interpreter's next state.
 *
 *   vm_vectors OUT.json          write the file
 *   vm_vectors --check FILE      exit 1 if FILE differs from what would be written (stale) */
#include "vector_file.h"
#include "vm_proof.h"
#include "vm_asm.h"
#include "hex.h"
#include "keccak.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC0 0x00001040u  /* the instruction under test (leaf 0x82, not at the start of its leaf) */
#define DATA 0x30000100u /* slot 3: data the loads read */

typedef struct vec_case {
    const char *name;
    uint32_t word;
    uint32_t x[32];      /* register values to set (0 = leave zero) */
    uint32_t pc;         /* 0 = PC0 */
    uint64_t step;       /* 0 = 1000 */
} vec_case;

static FILE *out;
static int count;

static void emit_hex(const char *key, const uint8_t *b, size_t n, int last) {
    char *h = malloc(2 * n + 3);
    if (!h) abort();
    hex_encode(b, n, h);
    fprintf(out, "\"%s\": \"%s\"%s", key, h, last ? "" : ", ");
    free(h);
}

static void begin(const char *name) {
    fprintf(out, "%s\n    {\"name\": \"%s\", ", count++ ? "," : "", name);
}

/* A machine in a realistic state: code around the instruction, data in slot 3, a stack word. */
static void machine(vm *v, const vec_case *c) {
    if (vm_init(v) != 0) abort();
    uint32_t pc = c->pc ? c->pc : PC0;
    uint32_t around[16];
    for (int i = 0; i < 16; i++) around[i] = RV_ADDI(5, 5, i);
    vm_mem_write(&v->mem, (pc & ~63u) - 32, around, sizeof around);
    if (!(pc & 3)) vm_mem_write(&v->mem, pc, &c->word, 4);
    uint8_t data[64];
    for (int i = 0; i < 64; i++) data[i] = (uint8_t)(0x80 + 3 * i);
    vm_mem_write(&v->mem, DATA, data, sizeof data);
    uint32_t stack = 0xCAFEF00D;
    vm_mem_write(&v->mem, 0x2FFFFFFC, &stack, 4);
    memcpy(v->x, c->x, sizeof c->x);
    v->x[0] = 0;
    v->pc = pc;
    v->step = c->step ? c->step : 1000;
}

/* Proves one step of machine v, checks the verifier against the interpreter, writes the vector. */
static void emit_valid(const char *name, vm *v) {
    uint8_t state[VM_STATE_BYTES], proof[VM_PROOF_MAX], post[VM_STATE_BYTES], hash[32], want[VM_STATE_BYTES];
    size_t len = vm_prove_step(v, state, proof);
    int rc = vm_verify_step(state, sizeof state, proof, len, post, hash);
    if (vm_run(v, v->step + 1) != 0) abort();
    vm_pack(v, want);
    if (rc != 0 || memcmp(post, want, sizeof want) != 0) {
        fprintf(stderr, "vm_vectors: %s: the verifier disagrees with the interpreter (rc %d)\n", name, rc);
        exit(1);
    }
    begin(name);
    emit_hex("state", state, sizeof state, 0);
    emit_hex("proof", proof, len, 0);
    emit_hex("post_state", post, sizeof post, 0);
    emit_hex("post_hash", hash, 32, 1);
    fprintf(out, "}");
}

static void emit_invalid(const char *name, const uint8_t *state, size_t slen, const uint8_t *proof, size_t plen) {
    int rc = vm_verify_step(state, slen, proof, plen, NULL, NULL);
    const char *err = rc == VM_VERIFY_BAD_STATE_LENGTH ? "bad_state_length"
                    : rc == VM_VERIFY_BAD_PROOF_LENGTH ? "bad_proof_length"
                    : rc == VM_VERIFY_BAD_MEMORY_PROOF ? "bad_memory_proof" : NULL;
    if (!err) {
        fprintf(stderr, "vm_vectors: %s: expected the verifier to reject it\n", name);
        exit(1);
    }
    begin(name);
    emit_hex("state", state, slen, 0);
    emit_hex("proof", proof, plen, 0);
    fprintf(out, "\"error\": \"%s\"}", err);
}

#define R(f7, f3) rv_r((f7), 2, 1, (f3), 3, 0x33)
#define I(f3, imm) rv_i((imm), 1, (f3), 3, 0x13)
#define X12(a, b) {0, (a), (b)}


static void generate(void) {
    const vec_case cases[] = {
        {"lui", RV_LUI(3, 0xABCDE), {0}, 0, 0},
        {"lui_x0", RV_LUI(0, 0xABCDE), {0}, 0, 0},
        {"auipc", rv_u(0xFFFFF, 3, 0x17), {0}, 0, 0},
        {"jal_forward", rv_j(0x7FE, 1), {0}, 0, 0},
        {"jal_backward_x0", rv_j(-0x40, 0), {0}, 0, 0},
        {"jal_misaligned_target", rv_j(2, 1), {0}, 0, 0},
        {"jalr", rv_i(-3, 1, 0, 1, 0x67), X12(0x2005, 0), 0, 0},
        {"jalr_clears_bit0", rv_i(1, 2, 0, 3, 0x67), X12(0, 0x3000), 0, 0},
        {"beq_taken", rv_b(-0x20, 2, 1, 0), X12(7, 7), 0, 0},
        {"beq_not_taken", rv_b(-0x20, 2, 1, 0), X12(7, 8), 0, 0},
        {"bne_taken", rv_b(0xFFE, 2, 1, 1), X12(7, 8), 0, 0},
        {"blt_taken_signed", rv_b(16, 2, 1, 4), X12(0xFFFFFFFF, 0), 0, 0},
        {"blt_not_taken", rv_b(16, 2, 1, 4), X12(0, 0xFFFFFFFF), 0, 0},
        {"bge_taken_equal", rv_b(16, 2, 1, 5), X12(5, 5), 0, 0},
        {"bge_not_taken", rv_b(16, 2, 1, 5), X12(0x80000000, 5), 0, 0},
        {"bltu_taken", rv_b(-4096, 2, 1, 6), X12(5, 0xFFFFFFFF), 0, 0},
        {"bltu_not_taken", rv_b(16, 2, 1, 6), X12(0xFFFFFFFF, 5), 0, 0},
        {"bgeu_taken", rv_b(16, 2, 1, 7), X12(0xFFFFFFFF, 5), 0, 0},
        {"bgeu_not_taken", rv_b(16, 2, 1, 7), X12(4, 5), 0, 0},
        {"lb_sign_extends", rv_i(5, 1, 0, 3, 0x03), X12(DATA, 0), 0, 0},
        {"lbu", rv_i(5, 1, 4, 3, 0x03), X12(DATA, 0), 0, 0},
        {"lh_sign_extends", rv_i(30, 1, 1, 3, 0x03), X12(DATA, 0), 0, 0},
        {"lhu", rv_i(-2, 1, 5, 3, 0x03), X12(DATA + 32, 0), 0, 0},
        {"lw", rv_i(28, 1, 2, 3, 0x03), X12(DATA, 0), 0, 0},
        {"lw_last_word_of_leaf", rv_i(0x3C, 1, 2, 3, 0x03), X12(DATA, 0), 0, 0},
        {"lw_unwritten_memory", rv_i(0, 1, 2, 3, 0x03), X12(0x87654320, 0), 0, 0},
        {"lw_own_instruction_leaf", rv_i(0, 1, 2, 3, 0x03), X12(PC0 + 4, 0), 0, 0},
        {"lw_x0", rv_i(0, 1, 2, 0, 0x03), X12(DATA, 0), 0, 0},
        {"lh_misaligned", rv_i(1, 1, 1, 3, 0x03), X12(DATA, 0), 0, 0},
        {"lhu_misaligned", rv_i(3, 1, 5, 3, 0x03), X12(DATA, 0), 0, 0},
        {"lw_misaligned", rv_i(2, 1, 2, 3, 0x03), X12(DATA, 0), 0, 0},
        {"sb", rv_s(7, 2, 1, 0), X12(DATA, 0x12345678), 0, 0},
        {"sh", rv_s(-2, 2, 1, 1), X12(DATA + 0x20, 0x12345678), 0, 0},
        {"sw", rv_s(0x1C, 2, 1, 2), X12(DATA, 0x12345678), 0, 0},
        {"sw_new_page", rv_s(0, 2, 1, 2), X12(0x20000000, 0xDEADBEEF), 0, 0},
        {"sw_top_of_memory", rv_s(-4, 2, 1, 2), X12(0, 0xDEADBEEF), 0, 0},
        {"sw_own_instruction_leaf", rv_s(0, 2, 1, 2), X12(PC0 + 8, 0x00000013), 0, 0},
        {"sw_over_itself", rv_s(0, 2, 1, 2), X12(PC0, 0xFFFFFFFF), 0, 0},
        {"sh_misaligned", rv_s(1, 2, 1, 1), X12(DATA, 1), 0, 0},
        {"sw_misaligned", rv_s(2, 2, 1, 2), X12(DATA, 1), 0, 0},
        {"addi_negative", I(0, -1), X12(0, 0), 0, 0},
        {"addi_x0_dropped", rv_i(5, 1, 0, 0, 0x13), X12(9, 0), 0, 0},
        {"slti", I(2, -1), X12(0x80000000, 0), 0, 0},
        {"sltiu_minus_one", I(3, -1), X12(0xFFFFFFFE, 0), 0, 0},
        {"xori_not", I(4, -1), X12(0x0F0F0F0F, 0), 0, 0},
        {"ori", I(6, 0x555), X12(0xA0000000, 0), 0, 0},
        {"andi", I(7, -256), X12(0x12345678, 0), 0, 0},
        {"slli_31", I(1, 31), X12(3, 0), 0, 0},
        {"srli_31", I(5, 31), X12(0x80000000, 0), 0, 0},
        {"srai_31", I(5, 0x400 | 31), X12(0x80000000, 0), 0, 0},
        {"add_wraps", R(0, 0), X12(0xFFFFFFFF, 2), 0, 0},
        {"sub_wraps", R(0x20, 0), X12(0, 1), 0, 0},
        {"sll_masks_amount", R(0, 1), X12(1, 0x21), 0, 0},
        {"slt", R(0, 2), X12(0xFFFFFFFF, 1), 0, 0},
        {"sltu", R(0, 3), X12(0xFFFFFFFF, 1), 0, 0},
        {"xor", R(0, 4), X12(0xFF00FF00, 0x0FF00FF0), 0, 0},
        {"srl_masks_amount", R(0, 5), X12(0x80000000, 0x3F), 0, 0},
        {"sra", R(0x20, 5), X12(0x80000010, 4), 0, 0},
        {"or", R(0, 6), X12(0xF0, 0x0F), 0, 0},
        {"and", R(0, 7), X12(0xF0F0, 0xFF00), 0, 0},
        {"mul", R(1, 0), X12(0x12345678, 0x9ABCDEF0), 0, 0},
        {"mulh", R(1, 1), X12(0x80000000, 0xFFFFFFFF), 0, 0},
        {"mulh_negative", R(1, 1), X12(0xFFFFFFFE, 3), 0, 0},
        {"mulhsu", R(1, 2), X12(0xFFFFFFFF, 0xFFFFFFFF), 0, 0},
        {"mulhu", R(1, 3), X12(0xFFFFFFFF, 0xFFFFFFFF), 0, 0},
        {"div", R(1, 4), X12((uint32_t)-7, 2), 0, 0},
        {"div_by_zero", R(1, 4), X12(7, 0), 0, 0},
        {"div_overflow", R(1, 4), X12(0x80000000, 0xFFFFFFFF), 0, 0},
        {"divu", R(1, 5), X12(0xFFFFFFFF, 7), 0, 0},
        {"divu_by_zero", R(1, 5), X12(7, 0), 0, 0},
        {"rem_negative_dividend", R(1, 6), X12((uint32_t)-7, 2), 0, 0},
        {"rem_negative_divisor", R(1, 6), X12(7, (uint32_t)-2), 0, 0},
        {"rem_by_zero", R(1, 6), X12((uint32_t)-7, 0), 0, 0},
        {"rem_overflow", R(1, 6), X12(0x80000000, 0xFFFFFFFF), 0, 0},
        {"remu", R(1, 7), X12(0xFFFFFFFF, 10), 0, 0},
        {"remu_by_zero", R(1, 7), X12(9, 0), 0, 0},
        {"fence", 0x0FF0000F, {0}, 0, 0},
        {"fence_i", 0x0000100F, {0}, 0, 0},
        {"ecall_exit", RV_ECALL, {[10] = 0xFFFFFFFF, [17] = 93}, 0, 0},
        {"ecall_unknown", RV_ECALL, {[10] = 1, [17] = 64}, 0, 0},
        {"ebreak", RV_EBREAK, {0}, 0, 0},
        {"illegal_zero_word", 0x00000000, {0}, 0, 0},
        {"illegal_csrrw", 0x30001073, {0}, 0, 0},
        {"illegal_slli_shamt_32", I(1, 0x20), {0}, 0, 0},
        {"illegal_srai_funct7", I(5, 0x600 | 1), {0}, 0, 0},
        {"illegal_op_funct7", rv_r(0x20, 2, 1, 1, 3, 0x33), {0}, 0, 0},
        {"illegal_branch_funct3", rv_b(8, 2, 1, 2), {0}, 0, 0},
        {"illegal_load_funct3", rv_i(0, 1, 3, 3, 0x03), {0}, 0, 0},
        {"illegal_store_funct3", rv_s(0, 2, 1, 3), {0}, 0, 0},
        {"illegal_jalr_funct3", rv_i(0, 1, 2, 3, 0x67), {0}, 0, 0},
        {"illegal_fence_funct3", 0x0000200F, {0}, 0, 0},
        {"illegal_compressed", 0x00004501, {0}, 0, 0},
        {"misaligned_fetch", RV_ADDI(3, 0, 1), {0}, PC0 + 2, 0},
        {"pc_at_top_of_memory", RV_ADDI(3, 3, 1), {0}, 0xFFFFFFFCu, 0},
        {"step_carry_32", RV_ADDI(3, 3, 1), {0}, 0, 0xFFFFFFFFull},
    };
    fprintf(out, "{\n  \"description\": \"RV32IM step proofs of docs/vm.md: state (173 bytes), proof (0, 896 or 1792 bytes) "
                 "and the post-state and its keccak256, or the error the verifier (and RiscvStep.sol) must raise. "
                 "Written by tests/vectors/vm_vectors.c; do not edit.\",\n  \"vectors\": [");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vm v;
        machine(&v, &cases[i]);
        v.x[VM_REG_SINK] = 0;
        emit_valid(cases[i].name, &v);
        if (!strcmp(cases[i].name, "ecall_exit") || !strcmp(cases[i].name, "ebreak") ||
            !strcmp(cases[i].name, "misaligned_fetch")) {
            char name[64];
            snprintf(name, sizeof name, "halted_after_%s", cases[i].name);
            emit_valid(name, &v); /* a halted machine steps to itself */
        }
        vm_free(&v);
    }
    /* invalid calldata */
    vm v;
    vec_case lw = {"lw", rv_i(28, 1, 2, 3, 0x03), X12(DATA, 0), 0, 0};
    machine(&v, &lw);
    uint8_t state[VM_STATE_BYTES], proof[VM_PROOF_MAX + 1];
    size_t len = vm_prove_step(&v, state, proof);
    emit_invalid("bad_state_length_short", state, VM_STATE_BYTES - 1, proof, len);
    emit_invalid("bad_proof_length_missing_data_leaf", state, sizeof state, proof, VM_MEMPROOF_BYTES);
    emit_invalid("bad_proof_length_truncated", state, sizeof state, proof, len - 1);
    emit_invalid("bad_proof_length_empty", state, sizeof state, proof, 0);
    proof[len] = 0;
    emit_invalid("bad_proof_length_extra_byte", state, sizeof state, proof, len + 1);
    proof[32 + 5 * 32 + 7] ^= 1;
    emit_invalid("bad_instruction_sibling", state, sizeof state, proof, len);
    proof[32 + 5 * 32 + 7] ^= 1;
    proof[(PC0 & 31) + 1] ^= 1;
    emit_invalid("bad_instruction_leaf", state, sizeof state, proof, len);
    proof[(PC0 & 31) + 1] ^= 1;
    proof[VM_MEMPROOF_BYTES + 32 + 26 * 32] ^= 0x40;
    emit_invalid("bad_data_sibling_top", state, sizeof state, proof, len);
    proof[VM_MEMPROOF_BYTES + 32 + 26 * 32] ^= 0x40;
    proof[VM_MEMPROOF_BYTES + 3] ^= 1;
    emit_invalid("bad_data_leaf", state, sizeof state, proof, len);
    proof[VM_MEMPROOF_BYTES + 3] ^= 1;
    state[0] ^= 1;
    emit_invalid("bad_memory_root", state, sizeof state, proof, len);
    vm_free(&v);
    vec_case add = {"add", R(0, 0), X12(1, 2), 0, 0};
    machine(&v, &add);
    len = vm_prove_step(&v, state, proof);
    uint8_t twice[VM_PROOF_MAX];
    memcpy(twice, proof, len);
    memcpy(twice + len, proof, len);
    emit_invalid("bad_proof_length_alu_with_data_leaf", state, sizeof state, twice, 2 * len);
    vm_free(&v);
    vec_case ex = {"exit", RV_ECALL, {[17] = 93}, 0, 0};
    machine(&v, &ex);
    vm_run(&v, v.step + 1);
    len = vm_prove_step(&v, state, proof);
    uint8_t one[VM_MEMPROOF_BYTES] = {0};
    emit_invalid("bad_proof_length_halted_with_proof", state, sizeof state, one, sizeof one);
    vm_free(&v);
    v.pc = 0;
    vec_case mis = {"mis", RV_ADDI(3, 0, 1), {0}, PC0 + 2, 0};
    machine(&v, &mis);
    len = vm_prove_step(&v, state, proof);
    emit_invalid("bad_proof_length_misaligned_pc_with_proof", state, sizeof state, one, sizeof one);
    vm_free(&v);
    fprintf(out, "\n  ]\n}\n");
}

int main(int argc, char **argv) {
    return vector_file_main(argc, argv, "vm_vectors", &out, generate);
}
