/* vm_proof.c: step proofs and the C verifier (see vm_proof.h).
 *
 * The verifier is deliberately a second, plain implementation of one step over a vm_cpu and the
 * proof's leaves, written the way the contract executes it; it shares only the decoder and the
 * M-extension helpers with the fast interpreter. Tests hold the two to the same post-states on
 * every step of real runs. */
#include "vm_proof.h"

#include "keccak.h"
#include "merkle.h"

#include <string.h>

size_t vm_prove_step(vm *v, uint8_t state[VM_STATE_BYTES], uint8_t proof[VM_PROOF_MAX]) {
    vm_pack(v, state);
    if (v->status != VM_RUNNING || (v->pc & 3)) return 0;
    uint32_t leaf = v->pc >> 5;
    vm_mem_leaf(&v->mem, leaf, proof);
    vm_mem_siblings(&v->mem, leaf, (uint8_t (*)[32])(proof + 32));
    uint32_t word = proof[v->pc & 31] | (uint32_t)proof[(v->pc & 31) + 1] << 8 |
                    (uint32_t)proof[(v->pc & 31) + 2] << 16 | (uint32_t)proof[(v->pc & 31) + 3] << 24;
    vm_insn in = vm_decode(word);
    unsigned size;
    if (!vm_insn_mem_kind(&in, &size)) return VM_MEMPROOF_BYTES;
    uint32_t addr = v->x[in.rs1] + in.imm;
    if (addr & (size - 1)) return VM_MEMPROOF_BYTES;
    uint8_t *second = proof + VM_MEMPROOF_BYTES;
    vm_mem_leaf(&v->mem, addr >> 5, second);
    vm_mem_siblings(&v->mem, addr >> 5, (uint8_t (*)[32])(second + 32));
    return 2 * VM_MEMPROOF_BYTES;
}

/* 1 if the memory proof at p puts its leaf at `leaf` under root. */
static int memproof_ok(const uint8_t *p, uint32_t leaf, const uint8_t root[32]) {
    uint8_t got[32];
    merkle_root_from_path(p, leaf, VM_MEM_DEPTH, (const uint8_t (*)[32])(p + 32), got);
    return memcmp(got, root, 32) == 0;
}

/* Executes the non-memory instruction `in` at c->pc on registers x (33 entries, x[32] the sink).
 * Returns the fault code, 0 when the instruction executed. */
static uint32_t exec_alu(vm_cpu *c, uint32_t *x, vm_insn in) {
    uint32_t a = x[in.rs1], b = x[in.rs2], imm = in.imm, pc = c->pc, npc = pc + 4;
    switch ((enum vm_op)in.op) {
    case VM_OP_LUI: x[in.rd] = imm; break;
    case VM_OP_AUIPC: x[in.rd] = pc + imm; break;
    case VM_OP_JAL: x[in.rd] = pc + 4; npc = pc + imm; break;
    case VM_OP_JALR: x[in.rd] = pc + 4; npc = (a + imm) & ~1u; break;
    case VM_OP_BEQ: if (a == b) npc = pc + imm; break;
    case VM_OP_BNE: if (a != b) npc = pc + imm; break;
    case VM_OP_BLT: if ((int32_t)a < (int32_t)b) npc = pc + imm; break;
    case VM_OP_BGE: if ((int32_t)a >= (int32_t)b) npc = pc + imm; break;
    case VM_OP_BLTU: if (a < b) npc = pc + imm; break;
    case VM_OP_BGEU: if (a >= b) npc = pc + imm; break;
    case VM_OP_ADDI: x[in.rd] = a + imm; break;
    case VM_OP_SLTI: x[in.rd] = (int32_t)a < (int32_t)imm; break;
    case VM_OP_SLTIU: x[in.rd] = a < imm; break;
    case VM_OP_XORI: x[in.rd] = a ^ imm; break;
    case VM_OP_ORI: x[in.rd] = a | imm; break;
    case VM_OP_ANDI: x[in.rd] = a & imm; break;
    case VM_OP_SLLI: x[in.rd] = a << imm; break;
    case VM_OP_SRLI: x[in.rd] = a >> imm; break;
    case VM_OP_SRAI: x[in.rd] = vm_sra(a, imm); break;
    case VM_OP_ADD: x[in.rd] = a + b; break;
    case VM_OP_SUB: x[in.rd] = a - b; break;
    case VM_OP_SLL: x[in.rd] = a << (b & 31); break;
    case VM_OP_SLT: x[in.rd] = (int32_t)a < (int32_t)b; break;
    case VM_OP_SLTU: x[in.rd] = a < b; break;
    case VM_OP_XOR: x[in.rd] = a ^ b; break;
    case VM_OP_SRL: x[in.rd] = a >> (b & 31); break;
    case VM_OP_SRA: x[in.rd] = vm_sra(a, b); break;
    case VM_OP_OR: x[in.rd] = a | b; break;
    case VM_OP_AND: x[in.rd] = a & b; break;
    case VM_OP_MUL: x[in.rd] = a * b; break;
    case VM_OP_MULH: x[in.rd] = vm_mulh(a, b); break;
    case VM_OP_MULHSU: x[in.rd] = vm_mulhsu(a, b); break;
    case VM_OP_MULHU: x[in.rd] = vm_mulhu(a, b); break;
    case VM_OP_DIV: x[in.rd] = vm_div(a, b); break;
    case VM_OP_DIVU: x[in.rd] = vm_divu(a, b); break;
    case VM_OP_REM: x[in.rd] = vm_rem(a, b); break;
    case VM_OP_REMU: x[in.rd] = vm_remu(a, b); break;
    case VM_OP_FENCE: break;
    case VM_OP_ECALL:
        if (x[17] != VM_ECALL_EXIT) return VM_FAULT_ECALL;
        c->status = VM_EXITED;
        c->exit_code = x[10];
        npc = pc;
        break;
    case VM_OP_EBREAK: return VM_FAULT_EBREAK;
    default: return VM_FAULT_ILLEGAL; /* ILLEGAL; loads and stores never come here */
    }
    c->pc = npc;
    return 0;
}

int vm_verify_step(const uint8_t *state, size_t state_len, const uint8_t *proof, size_t proof_len,
                   uint8_t post_state[VM_STATE_BYTES], uint8_t post_hash[32]) {
    if (state_len != VM_STATE_BYTES) return VM_VERIFY_BAD_STATE_LENGTH;
    vm_cpu c;
    vm_state_decode(state, &c);
    uint32_t fault = 0;
    if (c.status != VM_RUNNING) {
        if (proof_len != 0) return VM_VERIFY_BAD_PROOF_LENGTH;
        goto done; /* a halted machine steps to itself */
    }
    c.step++;
    if (c.pc & 3) {
        if (proof_len != 0) return VM_VERIFY_BAD_PROOF_LENGTH;
        fault = VM_FAULT_MISALIGNED_FETCH;
        goto done;
    }
    if (proof_len < VM_MEMPROOF_BYTES) return VM_VERIFY_BAD_PROOF_LENGTH;
    if (!memproof_ok(proof, c.pc >> 5, c.mem_root)) return VM_VERIFY_BAD_MEMORY_PROOF;
    const uint8_t *w = proof + (c.pc & 31);
    vm_insn in = vm_decode(w[0] | (uint32_t)w[1] << 8 | (uint32_t)w[2] << 16 | (uint32_t)w[3] << 24);
    uint32_t x[VM_REG_SINK + 1];
    memcpy(x, c.x, sizeof c.x);
    x[VM_REG_SINK] = 0;
    unsigned size;
    int kind = vm_insn_mem_kind(&in, &size);
    uint32_t addr = x[in.rs1] + in.imm;
    if (!kind || (addr & (size - 1))) {
        if (proof_len != VM_MEMPROOF_BYTES) return VM_VERIFY_BAD_PROOF_LENGTH;
        fault = kind == 1 ? VM_FAULT_MISALIGNED_LOAD : kind == 2 ? VM_FAULT_MISALIGNED_STORE : exec_alu(&c, x, in);
    } else {
        if (proof_len != 2 * VM_MEMPROOF_BYTES) return VM_VERIFY_BAD_PROOF_LENGTH;
        const uint8_t *data = proof + VM_MEMPROOF_BYTES;
        if (!memproof_ok(data, addr >> 5, c.mem_root)) return VM_VERIFY_BAD_MEMORY_PROOF;
        uint8_t leaf[32];
        memcpy(leaf, data, 32);
        uint8_t *at = leaf + (addr & 31);
        uint32_t v = 0;
        for (unsigned i = 0; i < size; i++) v |= (uint32_t)at[i] << (8 * i);
        switch ((enum vm_op)in.op) {
        case VM_OP_LB: x[in.rd] = (uint32_t)(int32_t)(int8_t)v; break;
        case VM_OP_LH: x[in.rd] = (uint32_t)(int32_t)(int16_t)v; break;
        case VM_OP_LW: case VM_OP_LBU: case VM_OP_LHU: x[in.rd] = v; break;
        default: /* stores: the new leaf under the same siblings gives the new memory root */
            for (unsigned i = 0; i < size; i++) at[i] = (uint8_t)(x[in.rs2] >> (8 * i));
            merkle_root_from_path(leaf, addr >> 5, VM_MEM_DEPTH, (const uint8_t (*)[32])(data + 32), c.mem_root);
            break;
        }
        c.pc += 4;
    }
    if (!fault) memcpy(c.x + 1, x + 1, 31 * sizeof x[0]);
done:
    if (fault) {
        c.status = VM_FAULTED;
        c.exit_code = fault;
    }
    uint8_t out[VM_STATE_BYTES];
    vm_state_encode(&c, out);
    if (post_state) memcpy(post_state, out, sizeof out);
    if (post_hash) keccak256(out, sizeof out, post_hash);
    return 0;
}

int vm_check_step(const uint8_t pre_hash[32], const uint8_t *state, size_t state_len, const uint8_t *proof,
                  size_t proof_len, const uint8_t post_hash[32], int *err) {
    uint8_t got[32];
    int rc = vm_verify_step(state, state_len, proof, proof_len, NULL, got);
    if (err) *err = rc;
    if (rc != 0) return 0;
    if (memcmp(got, post_hash, 32) != 0) return 0;
    keccak256(state, state_len, got);
    return memcmp(got, pre_hash, 32) == 0;
}

const char *vm_verify_strerror(int err) {
    switch (err) {
    case 0: return "ok";
    case VM_VERIFY_BAD_STATE_LENGTH: return "the state is not 173 bytes";
    case VM_VERIFY_BAD_PROOF_LENGTH: return "the proof has the wrong length for this state and instruction";
    case VM_VERIFY_BAD_MEMORY_PROOF: return "a memory proof does not lead to the state's memory root";
    default: return "unknown error";
    }
}
