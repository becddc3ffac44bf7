// SPDX-License-Identifier: MIT
// RiscvStep.t.sol: the one-step interpreter against hand-computed expectations for every
// instruction class, each corner case of docs/vm.md (division, shifts, sign extension, faults,
// halting) and every kind of invalid input (lengths, proofs). The C VM is held to the same bytes
// by VmVectors.t.sol (vectors) and VmFfi.t.sol (random instructions through `opml vm-step`).
pragma solidity ^0.8.28;

import {Test} from "./lib/Test.sol";
import {VmModel, Asm} from "./lib/VmModel.sol";
import {RiscvStep} from "../src/RiscvStep.sol";

contract RiscvStepTest is Test {
    RiscvStep rv;
    VmModel m;

    function setUp() public {
        rv = new RiscvStep();
        m = new VmModel(rv);
    }

    /// Places `insn` at pc 0x100 (plus a data word at 0x20000000) and returns the pre-state with
    /// x5 = a, x6 = b.
    function _pre(uint32 insn, uint32 a, uint32 b) internal returns (bytes memory s) {
        uint32[] memory w = new uint32[](1);
        w[0] = insn;
        m.writeBytes(0x100, Asm.image(w));
        m.writeBytes(0x20000000, hex"8192a3b4c5d6e7f8");
        s = m.withPc(m.initialState(), 0x100);
        s = m.withReg(s, 5, a);
        s = m.withReg(s, 6, b);
    }

    function _one(uint32 insn, uint32 a, uint32 b) internal returns (bytes memory) {
        bytes memory s = _pre(insn, a, b);
        return m.advance(s);
    }

    function _rd(uint32 insn, uint32 a, uint32 b) internal returns (uint32) {
        bytes memory post = _one(insn, a, b);
        assertEq(m.statusOf(post), 0, "running");
        assertEq(m.pcOf(post), 0x104, "pc advanced");
        assertEq(m.stepOf(post), 1, "step counted");
        return m.reg(post, 7);
    }

    function _fault(uint32 insn, uint32 a, uint32 b, uint32 code) internal {
        bytes memory s = _pre(insn, a, b);
        bytes memory post = m.advance(s);
        assertEq(m.statusOf(post), 2, "faulted");
        assertEq(m.exitOf(post), code, "fault code");
        assertEq(m.pcOf(post), 0x100, "pc kept");
        assertEq(m.stepOf(post), 1, "step counted");
        // everything but step, status and exit code is the pre-state's
        for (uint256 i = 0; i < 36; i++) assertEq(uint8(post[i]), uint8(s[i]), "root and pc kept");
        for (uint256 i = 49; i < 173; i++) assertEq(uint8(post[i]), uint8(s[i]), "registers kept");
    }

    function test_alu() public {
        assertEq(_rd(Asm.add(7, 5, 6), 0xffffffff, 2), 1, "add wraps");
        assertEq(_rd(Asm.r(0x20, 6, 5, 0, 7, 0x33), 1, 2), 0xffffffff, "sub");
        assertEq(_rd(Asm.r(0, 6, 5, 1, 7, 0x33), 1, 33), 2, "sll masks to 5 bits");
        assertEq(_rd(Asm.r(0, 6, 5, 2, 7, 0x33), 0xffffffff, 0), 1, "slt signed");
        assertEq(_rd(Asm.r(0, 6, 5, 3, 7, 0x33), 0xffffffff, 0), 0, "sltu");
        assertEq(_rd(Asm.r(0, 6, 5, 4, 7, 0x33), 0xf0f0, 0xff00), 0x0ff0, "xor");
        assertEq(_rd(Asm.r(0, 6, 5, 5, 7, 0x33), 0x80000000, 31), 1, "srl");
        assertEq(_rd(Asm.r(0x20, 6, 5, 5, 7, 0x33), 0x80000000, 31), 0xffffffff, "sra");
        assertEq(_rd(Asm.r(0, 6, 5, 6, 7, 0x33), 0xf0, 0x0f), 0xff, "or");
        assertEq(_rd(Asm.r(0, 6, 5, 7, 7, 0x33), 0xf0, 0x3c), 0x30, "and");
        assertEq(_rd(Asm.addi(7, 5, -1), 0, 0), 0xffffffff, "addi negative");
        assertEq(_rd(Asm.i(-1, 5, 2, 7, 0x13), 0xfffffffe, 0), 1, "slti");
        assertEq(_rd(Asm.i(-1, 5, 3, 7, 0x13), 5, 0), 1, "sltiu compares with 0xffffffff");
        assertEq(_rd(Asm.i(0x0ff, 5, 4, 7, 0x13), 0xf0, 0), 0x0f, "xori");
        assertEq(_rd(Asm.i(0x00f, 5, 6, 7, 0x13), 0xf0, 0), 0xff, "ori");
        assertEq(_rd(Asm.i(0x03c, 5, 7, 7, 0x13), 0xf0, 0), 0x30, "andi");
        assertEq(_rd(Asm.i(31, 5, 1, 7, 0x13), 1, 0), 0x80000000, "slli");
        assertEq(_rd(Asm.i(4, 5, 5, 7, 0x13), 0x80000000, 0), 0x08000000, "srli");
        assertEq(_rd(Asm.i(0x404, 5, 5, 7, 0x13), 0x80000000, 0), 0xf8000000, "srai");
        assertEq(_rd(Asm.lui(7, 0xabcde), 0, 0), 0xabcde000, "lui");
        assertEq(_rd(uint32((0x00001 << 12) | (7 << 7) | 0x17), 0, 0), 0x1100, "auipc");
    }

    function test_mul_div() public {
        assertEq(_rd(Asm.r(1, 6, 5, 0, 7, 0x33), 0xffffffff, 0xffffffff), 1, "mul");
        assertEq(_rd(Asm.r(1, 6, 5, 1, 7, 0x33), 0xffffffff, 0xffffffff), 0, "mulh (-1*-1)");
        assertEq(_rd(Asm.r(1, 6, 5, 1, 7, 0x33), 0x80000000, 0x80000000), 0x40000000, "mulh min*min");
        assertEq(_rd(Asm.r(1, 6, 5, 2, 7, 0x33), 0xffffffff, 0xffffffff), 0xffffffff, "mulhsu -1*(2^32-1)");
        assertEq(_rd(Asm.r(1, 6, 5, 3, 7, 0x33), 0xffffffff, 0xffffffff), 0xfffffffe, "mulhu");
        assertEq(_rd(Asm.r(1, 6, 5, 4, 7, 0x33), 7, 0), 0xffffffff, "div by 0");
        assertEq(_rd(Asm.r(1, 6, 5, 4, 7, 0x33), 0x80000000, 0xffffffff), 0x80000000, "div overflow");
        assertEq(_rd(Asm.r(1, 6, 5, 4, 7, 0x33), 0xfffffff9, 2), 0xfffffffd, "div truncates toward 0");
        assertEq(_rd(Asm.r(1, 6, 5, 5, 7, 0x33), 7, 0), 0xffffffff, "divu by 0");
        assertEq(_rd(Asm.r(1, 6, 5, 5, 7, 0x33), 0xfffffff9, 2), 0x7ffffffc, "divu");
        assertEq(_rd(Asm.r(1, 6, 5, 6, 7, 0x33), 7, 0), 7, "rem by 0");
        assertEq(_rd(Asm.r(1, 6, 5, 6, 7, 0x33), 0x80000000, 0xffffffff), 0, "rem overflow");
        assertEq(_rd(Asm.r(1, 6, 5, 6, 7, 0x33), 0xfffffff9, 2), 0xffffffff, "rem takes dividend sign");
        assertEq(_rd(Asm.r(1, 6, 5, 7, 7, 0x33), 7, 0), 7, "remu by 0");
        assertEq(_rd(Asm.r(1, 6, 5, 7, 7, 0x33), 0xfffffff9, 2), 1, "remu");
    }

    function test_x0_is_never_written() public {
        bytes memory post = _one(Asm.addi(0, 5, 1), 41, 0);
        assertEq(m.reg(post, 0), 0, "x0");
        bytes memory s = _pre(Asm.addi(0, 5, 1), 41, 0);
        for (uint256 i = 49; i < 173; i++) assertEq(uint8(post[i]), uint8(s[i]), "no register changed");
    }

    function test_branches_and_jumps() public {
        bytes memory post = _one(Asm.b(-8, 6, 5, 0), 3, 3); // beq taken, backwards
        assertEq(m.pcOf(post), 0xf8, "beq taken");
        post = _one(Asm.b(16, 6, 5, 1), 3, 3); // bne not taken
        assertEq(m.pcOf(post), 0x104, "bne not taken");
        post = _one(Asm.b(16, 6, 5, 4), 0xffffffff, 0); // blt signed taken
        assertEq(m.pcOf(post), 0x110, "blt");
        post = _one(Asm.b(16, 6, 5, 5), 0xffffffff, 0); // bge not taken
        assertEq(m.pcOf(post), 0x104, "bge");
        post = _one(Asm.b(16, 6, 5, 6), 0xffffffff, 0); // bltu not taken
        assertEq(m.pcOf(post), 0x104, "bltu");
        post = _one(Asm.b(4094, 6, 5, 7), 0xffffffff, 0); // bgeu taken, largest offset
        assertEq(m.pcOf(post), 0x100 + 4094, "bgeu to a misaligned target");
        post = _one(Asm.jal(-0x100, 7), 0, 0);
        assertEq(m.pcOf(post), 0, "jal");
        assertEq(m.reg(post, 7), 0x104, "jal link");
        post = _one(Asm.i(3, 5, 0, 7, 0x67), 0x1001, 0); // jalr clears bit 0
        assertEq(m.pcOf(post), 0x1004, "jalr");
        assertEq(m.reg(post, 7), 0x104, "jalr link");
        post = _one(Asm.i(0, 0, 0, 0, 0x0f), 0, 0); // fence
        assertEq(m.pcOf(post), 0x104, "fence");
        post = _one(Asm.i(0, 0, 1, 0, 0x0f), 0, 0); // fence.i
        assertEq(m.pcOf(post), 0x104, "fence.i");
    }

    function test_loads() public {
        // memory at 0x20000000: 81 92 a3 b4 c5 d6 e7 f8
        assertEq(_rd(Asm.i(1, 5, 0, 7, 0x03), 0x20000000, 0), 0xffffff92, "lb sign-extends");
        assertEq(_rd(Asm.i(1, 5, 4, 7, 0x03), 0x20000000, 0), 0x92, "lbu");
        assertEq(_rd(Asm.i(2, 5, 1, 7, 0x03), 0x20000000, 0), 0xffffb4a3, "lh");
        assertEq(_rd(Asm.i(6, 5, 5, 7, 0x03), 0x20000000, 0), 0xf8e7, "lhu");
        assertEq(_rd(Asm.lw(7, 5, 4), 0x20000000, 0), 0xf8e7d6c5, "lw");
        assertEq(_rd(Asm.lw(7, 5, -4), 0x20000004, 0), 0xb4a39281, "lw negative offset");
    }

    function test_stores() public {
        bytes memory post = _one(Asm.sw(6, 5, 8), 0x20000000, 0x11223344);
        assertEq(m.leaf(0x20000000 >> 5), bytes32(hex"8192a3b4c5d6e7f844332211"), "sw little-endian");
        assertEq(m.pcOf(post), 0x104, "pc");
        _one(Asm.s(3, 6, 5, 1), 0x1ffffffd, 0xaabbccdd); // sh at 0x20000000
        assertEq(m.leaf(0x20000000 >> 5), bytes32(hex"ddcca3b4c5d6e7f8"), "sh");
        _one(Asm.s(31, 6, 5, 0), 0x20000000, 0x77); // sb at the leaf's last byte
        assertEq(m.leaf(0x20000000 >> 5), bytes32(hex"8192a3b4c5d6e7f8000000000000000000000000000000000000000000000077"), "sb");
    }

    function test_faults() public {
        _fault(0xffffffff, 0, 0, 1);
        _fault(0x00002073, 0, 0, 1); // csrrs
        _fault(Asm.i(0x420, 5, 1, 7, 0x13), 0, 0, 1); // slli with funct7 bits set (shamt >= 32)
        _fault(Asm.i(0x220, 5, 5, 7, 0x13), 0, 0, 1); // srli with a wrong funct7
        _fault(Asm.r(2, 6, 5, 0, 7, 0x33), 0, 0, 1); // funct7 2
        _fault(Asm.r(0x20, 6, 5, 1, 7, 0x33), 0, 0, 1); // sub's funct7 with sll
        _fault(Asm.i(0, 5, 3, 7, 0x03), 0x20000000, 0, 1); // load funct3 3
        _fault(Asm.s(0, 6, 5, 3), 0x20000000, 0, 1); // store funct3 3
        _fault(Asm.b(8, 6, 5, 2), 0, 0, 1); // branch funct3 2
        _fault(Asm.i(0, 5, 1, 7, 0x67), 0, 0, 1); // jalr funct3 1
        _fault(Asm.i(0, 0, 2, 0, 0x0f), 0, 0, 1); // misc-mem funct3 2
        _fault(Asm.lw(7, 5, 2), 0x20000000, 0, 3);
        _fault(Asm.i(1, 5, 5, 7, 0x03), 0x20000000, 0, 3); // lhu odd
        _fault(Asm.sw(6, 5, 1), 0x20000000, 0, 4);
        _fault(Asm.s(1, 6, 5, 1), 0x20000000, 0, 4); // sh odd
        _fault(Asm.ECALL, 0, 0, 5); // a7 = 0
        _fault(0x00100073, 0, 0, 6);
        _fault(0x10500073, 0, 0, 1); // wfi
    }

    function test_misaligned_fetch_and_halt() public {
        bytes memory s = m.withPc(m.initialState(), 0x102);
        bytes memory post = rv.execute(s, "");
        assertEq(m.statusOf(post), 2, "faulted");
        assertEq(m.exitOf(post), 2, "fetch fault");
        assertEq(m.stepOf(post), 1, "step counted");
        // a halted state steps to itself, step not counted
        bytes memory again = rv.execute(post, "");
        assertEq(again, post, "halted steps to itself");
        assertEq(rv.step(post, ""), keccak256(post), "hash of itself");
    }

    function test_ecall_exit() public {
        bytes memory s = _pre(Asm.ECALL, 0, 0);
        s = m.withReg(s, 17, 93);
        s = m.withReg(s, 10, 0xdeadbeef);
        bytes memory post = m.advance(s);
        assertEq(m.statusOf(post), 1, "exited");
        assertEq(m.exitOf(post), 0xdeadbeef, "exit code = a0");
        assertEq(m.pcOf(post), 0x100, "pc stays at the ecall");
        assertEq(m.stepOf(post), 1, "step counted");
    }

    function test_bad_inputs_revert() public {
        bytes memory s = _pre(Asm.lw(7, 5, 0), 0x20000000, 0);
        bytes memory p = m.stepProof(s);
        assertEq(p.length, 1792, "load has two proofs");
        bytes memory short = new bytes(172);
        vm.expectRevert(abi.encodeWithSelector(RiscvStep.BadStateLength.selector, 172));
        rv.step(short, p);
        // one proof only
        bytes memory one = new bytes(896);
        for (uint256 i = 0; i < 896; i++) one[i] = p[i];
        vm.expectRevert(abi.encodeWithSelector(RiscvStep.BadProofLength.selector, 1792, 896));
        rv.step(s, one);
        vm.expectRevert(abi.encodeWithSelector(RiscvStep.BadProofLength.selector, 896, 100));
        rv.step(s, new bytes(100));
        // a flipped sibling in the data proof
        bytes memory bad = bytes.concat(p);
        bad[896 + 32 + 5] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(RiscvStep.BadMemoryProof.selector, uint256(0x20000000 >> 5)));
        rv.step(s, bad);
        // a wrong instruction leaf
        bad = bytes.concat(p);
        bad[0] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(RiscvStep.BadMemoryProof.selector, uint256(0x100 >> 5)));
        rv.step(s, bad);
        // a halted or misaligned state takes no proof
        bytes memory mis = m.withPc(s, 0x101);
        vm.expectRevert(abi.encodeWithSelector(RiscvStep.BadProofLength.selector, 0, 1792));
        rv.step(mis, p);
        // an ALU instruction takes exactly one proof
        s = _pre(Asm.add(7, 5, 6), 1, 2);
        bytes memory two = bytes.concat(m.stepProof(s), m.proveLeaf(0));
        vm.expectRevert(abi.encodeWithSelector(RiscvStep.BadProofLength.selector, 896, 1792));
        rv.step(s, two);
    }

    /// The worst instruction for gas: a store (two proofs, 3 x 27 hashes). Measured for the report.
    function test_gas_worst_step_store() public {
        bytes memory s = _pre(Asm.sw(6, 5, 8), 0x20000000, 0x11223344);
        bytes memory p = m.stepProof(s);
        uint256 g = gasleft();
        rv.step(s, p);
        g -= gasleft();
        emit log_named_uint("gas: step (sw, two proofs)", g);
        assertTrue(g <= 100_000, "store step within 100k gas");
    }

    function test_gas_load_step() public {
        bytes memory s = _pre(Asm.lw(7, 5, 4), 0x20000000, 0);
        bytes memory p = m.stepProof(s);
        uint256 g = gasleft();
        rv.step(s, p);
        g -= gasleft();
        emit log_named_uint("gas: step (lw, two proofs)", g);
        assertTrue(g <= 100_000, "load step within 100k gas");
    }

    /// The tests' guest program end to end: loads from three slots, adds, stores the output in slot
    /// 15 and exits 0.
    function test_program_runs_to_exit() public {
        m.writeBytes(0, Asm.image(Asm.adder()));
        m.writeBytes(0x10000000, hex"05000000");
        m.writeBytes(0x30000000, hex"07000000");
        m.writeBytes(0x40000000, hex"0b000000");
        uint256 n = m.run(m.initialState(), 100);
        bytes memory fin = m.stateAt(n);
        assertEq(n, 13, "steps");
        assertEq(m.statusOf(fin), 1, "exited");
        assertEq(m.exitOf(fin), 0, "exit 0");
        assertEq(m.leaf(0xF0000000 >> 5), bytes32(uint256(0x17) << 248), "output 5+7+11 = 23");
    }
}
