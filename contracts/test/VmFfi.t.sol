// SPDX-License-Identifier: MIT
// VmFfi.t.sol: RiscvStep against the C VM (`opml vm-step`, through ffi), differentially, on states
// and proofs forge's fuzzer draws:
//   - random instructions (biased to the RV32IM opcodes, any other bits random), the registers
//     they read and the pc, a misaligned fetch now and then;
//   - halted states (exited or faulted, any exit code): they step to themselves;
//   - edge addresses: a pc and load/store addresses at the ends of memory, of a slot, of a leaf,
//     and base + offset sums that wrap around 2^32;
//   - stores into the leaf that holds the instruction itself (one leaf proven twice, the
//     instruction's own bytes overwritten);
// and both must give the same post-state hash; and mutated step proofs (a flipped byte anywhere,
// a proof cut short or grown, a state of the wrong length) which both must refuse: RiscvStep
// reverts, `opml vm-step` exits 1.
// OPML_BIN names the binary; the ctest contracts.vm_ffi sets it to the build's cli/opml and sets
// OPML_FFI_REQUIRED=1, under which a missing binary fails the test instead of skipping it.
pragma solidity ^0.8.28;

import {Test, FfiResult} from "./lib/Test.sol";
import {VmModel} from "./lib/VmModel.sol";
import {RiscvStep} from "../src/RiscvStep.sol";

contract VmFfiTest is Test {
    RiscvStep rv;
    VmModel m;
    string bin;

    enum Case {
        Random,
        Halted,
        EdgeAddress,
        StoreIntoOwnLeaf
    }

    function setUp() public {
        rv = new RiscvStep();
        m = new VmModel(rv);
        bin = vm.envOr("OPML_BIN", string(""));
    }

    function _needBin() internal {
        if (bytes(bin).length != 0) return;
        if (keccak256(bytes(vm.envOr("OPML_FFI_REQUIRED", string("")))) == keccak256("1")) {
            fail("OPML_FFI_REQUIRED=1 but OPML_BIN is not set: the C VM cannot be compared");
        }
        emit log("OPML_BIN is not set: skipping the ffi comparison with `opml vm-step` (ctest contracts.vm_ffi sets it)");
        vm.skip(true);
    }

    function _hex(bytes memory b) internal pure returns (string memory) {
        bytes memory o = new bytes(2 + 2 * b.length);
        o[0] = "0";
        o[1] = "x";
        bytes16 d = "0123456789abcdef";
        for (uint256 i = 0; i < b.length; i++) {
            o[2 + 2 * i] = d[uint8(b[i]) >> 4];
            o[3 + 2 * i] = d[uint8(b[i]) & 15];
        }
        return string(o);
    }

    /// `opml vm-step STATE PROOF`: (true, post hash) or (false, 0) when it refuses the step.
    function _cStep(bytes memory state, bytes memory proof) internal returns (bool ok, bytes32 post) {
        string[] memory cmd = new string[](4);
        cmd[0] = bin;
        cmd[1] = "vm-step";
        cmd[2] = _hex(state);
        cmd[3] = _hex(proof);
        FfiResult memory r = vm.tryFfi(cmd); // forge decodes printed 0x-hex into bytes
        if (r.exitCode != 0) {
            assertEq(uint256(int256(r.exitCode)), 1, "opml vm-step refuses a step with exit code 1");
            return (false, 0);
        }
        assertEq(r.stdout.length, 32, "opml vm-step printed one hash");
        return (true, bytes32(r.stdout));
    }

    /// RiscvStep.step: (true, post hash) or (false, 0) when it reverts.
    function _solStep(bytes memory state, bytes memory proof) internal view returns (bool, bytes32) {
        try rv.step(state, proof) returns (bytes32 h) {
            return (true, h);
        } catch {
            return (false, 0);
        }
    }

    function _le(uint32 insn) internal pure returns (bytes memory img) {
        img = new bytes(4);
        for (uint256 j = 0; j < 4; j++) img[j] = bytes1(uint8(insn >> (8 * j)));
    }

    /// Puts `insn` at `pc` (4-byte aligned) in a leaf whose other bytes are `fill`.
    function _place(uint32 pc, uint32 insn, bytes32 fill) internal {
        bytes memory img = _le(insn);
        uint256 off = pc & 31;
        bytes32 leaf = fill;
        for (uint256 j = 0; j < 4; j++) {
            leaf &= ~bytes32(uint256(0xff) << ((31 - off - j) * 8));
            leaf |= bytes32(uint256(uint8(img[j])) << ((31 - off - j) * 8));
        }
        m.setLeaf(pc >> 5, leaf);
    }

    function _immOf(uint32 insn) internal pure returns (uint32 imm) {
        uint32 op = insn & 0x7f;
        imm = op == 0x23 ? ((insn >> 25) << 5) | ((insn >> 7) & 31) : insn >> 20;
        if (imm & 0x800 != 0) imm |= 0xfffff000;
    }

    function _withStatus(bytes memory s, uint8 status, uint32 code) internal pure returns (bytes memory t) {
        t = bytes.concat(s);
        t[44] = bytes1(status);
        for (uint256 i = 0; i < 4; i++) t[45 + i] = bytes1(uint8(code >> (24 - 8 * i)));
    }

    /// A state and its proof for one of the cases, from the fuzzer's seeds.
    function _build(uint8 caseSel, uint32 raw, uint8 opSel, uint32 pcSeed, uint32[4] memory regs, bytes32 data)
        internal
        returns (bytes memory s, bytes memory proof)
    {
        Case c = Case(caseSel % 4);
        uint8[11] memory ops = [0x37, 0x17, 0x6f, 0x67, 0x63, 0x03, 0x23, 0x13, 0x33, 0x0f, 0x73];
        uint32[12] memory edges = [
            uint32(0), 0x1c, 0x20, 0x0ffffffc, 0x10000000, 0x7ffffffc, 0x80000000, 0xefffffe0, 0xf0000000, 0xffffffe0,
            0xfffffffc, 0xffffffff
        ];
        uint32 insn = raw;
        if (opSel < 240) insn = (raw & ~uint32(0x7f)) | ops[opSel % 11];
        if (opSel % 16 == 0 && ops[opSel % 11] == 0x73) insn = opSel & 1 == 0 ? 0x73 : 0x00100073;
        if (c == Case.StoreIntoOwnLeaf) insn = (raw & ~uint32(0x707f)) | 0x23 | (uint32(opSel % 4) << 12); // SB/SH/SW, and f3 3 (illegal)
        uint32 pc = pcSeed & 0xfffffffc;
        if (c == Case.EdgeAddress) pc = edges[pcSeed % 12] & 0xfffffffc;
        if (c == Case.Random && opSel >= 250) pc = pcSeed; // sometimes a misaligned fetch
        if (c == Case.StoreIntoOwnLeaf && (insn >> 15) & 31 == 0) insn |= 5 << 15; // a base register, not x0
        if (pc & 3 == 0) _place(pc, insn, data);
        uint32 rs1 = (insn >> 15) & 31;
        uint32 rs2 = (insn >> 20) & 31;
        uint32 base = regs[0];
        unchecked {
            // base + offset sums that wrap around 2^32 on purpose
            if (c == Case.EdgeAddress) base = edges[(pcSeed >> 8) % 12] - _immOf(insn) + (opSel & 3);
            if (c == Case.StoreIntoOwnLeaf) base = ((pc & ~uint32(31)) | (regs[0] & 31)) - _immOf(insn);
            // a data word where a load or store from rs1 lands (not over the instruction's leaf)
            uint32 target = base + _immOf(insn);
            if (target >> 5 != pc >> 5) m.setLeaf(target >> 5, data ^ bytes32(uint256(0x5a)));
        }
        s = m.withPc(m.initialState(), pc);
        if (rs2 != 0) s = m.withReg(s, rs2, regs[1]);
        if (rs1 != 0) s = m.withReg(s, rs1, base);
        s = m.withReg(s, 10, regs[2]);
        s = m.withReg(s, 17, regs[3] & 1 == 0 ? 93 : regs[3]);
        s = m.withReg(s, 31, regs[3]);
        if (c == Case.Halted) s = _withStatus(s, 1 + (opSel & 1), regs[3]);
        proof = m.stepProof(s);
    }

    /// forge-config: default.fuzz.runs = 1024
    function testFuzz_step_matches_c_vm(
        uint8 caseSel,
        uint32 raw,
        uint8 opSel,
        uint32 pcSeed,
        uint32[4] memory regs,
        bytes32 data
    ) public {
        _needBin();
        (bytes memory s, bytes memory proof) = _build(caseSel, raw, opSel, pcSeed, regs, data);
        (bool okSol, bytes32 sol) = _solStep(s, proof);
        assertTrue(okSol, "RiscvStep takes a valid proof");
        (bool okC, bytes32 c) = _cStep(s, proof);
        assertTrue(okC, "opml vm-step takes a valid proof");
        assertEq(c, sol, "C VM and RiscvStep agree");
        if (Case(caseSel % 4) == Case.Halted) assertEq(sol, keccak256(s), "a halted state steps to itself");
    }

    /// A valid step with its proof or state mutated: both sides refuse it.
    /// forge-config: default.fuzz.runs = 512
    function testFuzz_mutated_proof_is_refused_by_both(
        uint8 caseSel,
        uint32 raw,
        uint8 opSel,
        uint32 pcSeed,
        uint32[4] memory regs,
        bytes32 data,
        uint8 how,
        uint16 at
    ) public {
        _needBin();
        (bytes memory s, bytes memory proof) = _build(caseSel, raw, opSel, pcSeed, regs, data);
        uint256 kind = how % 4;
        if (kind == 0 && proof.length > 0) {
            proof[at % proof.length] ^= bytes1(uint8(1) << (how % 8)); // one bit anywhere: leaf or sibling
        } else if (kind == 1 && proof.length > 0) {
            bytes memory cut = new bytes(proof.length - 1 - (at % 32));
            for (uint256 i = 0; i < cut.length; i++) cut[i] = proof[i];
            proof = cut;
        } else if (kind == 2) {
            proof = bytes.concat(proof, bytes32(data));
        } else {
            s = at & 1 == 0 ? bytes.concat(s, hex"00") : _cutLast(s);
        }
        (bool okSol,) = _solStep(s, proof);
        (bool okC,) = _cStep(s, proof);
        assertTrue(!okSol, "RiscvStep reverts on the mutated step");
        assertTrue(!okC, "opml vm-step refuses the mutated step");
    }

    /// The fuzzed cases, each once by hand, so that each is certain to run: a word store over the
    /// instruction's own next word (one leaf proven twice), and loads and stores at the ends of
    /// memory and across the wrap of base + offset.
    function test_fixed_cases_match_c_vm() public {
        _needBin();
        // sw x6, 4(x5) at 0x100 with x5 = 0x100: writes 0x104, in the instruction's leaf
        uint32 sw = uint32((uint256(6) << 20) | (uint256(5) << 15) | (2 << 12) | (4 << 7) | 0x23);
        _place(0x100, sw, bytes32(uint256(0x1234)));
        bytes memory s = m.withReg(m.withReg(m.withPc(m.initialState(), 0x100), 5, 0x100), 6, 0xdeadbeef);
        bytes memory proof = m.stepProof(s);
        assertEq(proof.length, 2 * 896, "two proofs");
        assertEq(keccak256(_slice(proof, 0, 896)), keccak256(_slice(proof, 896, 896)), "of one leaf");
        _agree(s, proof);
        // lw x7, -4(x5) with x5 = 0: reads 0xfffffffc (wraps); sw at 0xfffffffc; lb at 0xffffffff
        uint32[3] memory ins = [
            uint32((0xffc << 20) | (uint256(5) << 15) | (2 << 12) | (7 << 7) | 0x03),
            uint32((uint256(0x7f) << 25) | (uint256(6) << 20) | (uint256(5) << 15) | (2 << 12) | (0x1c << 7) | 0x23),
            uint32((0xfff << 20) | (uint256(5) << 15) | (0 << 12) | (7 << 7) | 0x03)
        ];
        m.setLeaf(0xffffffff >> 5, bytes32(uint256(0xa1b2c3d4)));
        for (uint256 i = 0; i < 3; i++) {
            uint32 pc = 0xffffffe0 - uint32(4 * (i + 1)); // the last leaves of memory
            _place(pc, ins[i], 0);
            s = m.withReg(m.withReg(m.withPc(m.initialState(), pc), 5, 0), 6, 0x01020304);
            proof = m.stepProof(s);
            assertEq(proof.length, 2 * 896, "a data proof at the top of memory");
            _agree(s, proof);
        }
    }

    function _agree(bytes memory s, bytes memory proof) internal {
        (bool okSol, bytes32 sol) = _solStep(s, proof);
        (bool okC, bytes32 c) = _cStep(s, proof);
        assertTrue(okSol && okC, "both take the step");
        assertEq(c, sol, "C VM and RiscvStep agree");
    }

    function _slice(bytes memory b, uint256 from, uint256 len) internal pure returns (bytes memory o) {
        o = new bytes(len);
        for (uint256 i = 0; i < len; i++) o[i] = b[from + i];
    }

    function _cutLast(bytes memory s) internal pure returns (bytes memory t) {
        t = new bytes(s.length - 1);
        for (uint256 i = 0; i < t.length; i++) t[i] = s[i];
    }
}
