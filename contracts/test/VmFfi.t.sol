// SPDX-License-Identifier: MIT
// VmFfi.t.sol: RiscvStep against the C VM on random instructions: forge's fuzzer draws an
// instruction word (biased to the RV32IM opcodes, any other bits random), the registers it reads
// and the pc; the test builds the state and proof (VmModel), runs `opml vm-step` through ffi and
// requires the same post-state hash as RiscvStep.step. OPML_BIN names the binary (the ctest sets
// it to the build's cli/opml); without it the test is skipped with a message saying so.
pragma solidity ^0.8.28;

import {Test} from "./lib/Test.sol";
import {VmModel} from "./lib/VmModel.sol";
import {RiscvStep} from "../src/RiscvStep.sol";

contract VmFfiTest is Test {
    RiscvStep rv;
    VmModel m;
    string bin;

    function setUp() public {
        rv = new RiscvStep();
        m = new VmModel(rv);
        bin = vm.envOr("OPML_BIN", string(""));
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

    function _cStep(bytes memory state, bytes memory proof) internal returns (bytes32) {
        string[] memory cmd = new string[](4);
        cmd[0] = bin;
        cmd[1] = "vm-step";
        cmd[2] = _hex(state);
        cmd[3] = _hex(proof);
        bytes memory out = vm.ffi(cmd); // forge decodes the printed 0x-hex into bytes
        assertEq(out.length, 32, "opml vm-step printed one hash");
        return bytes32(out);
    }

    function testFuzz_step_matches_c_vm(uint32 raw, uint8 opSel, uint32 pcSeed, uint32[4] memory regs, bytes32 data)
        public
    {
        if (bytes(bin).length == 0) {
            emit log("OPML_BIN is not set: skipping the ffi comparison with `opml vm-step` (ctest sets it)");
            vm.skip(true);
        }
        uint8[11] memory ops = [0x37, 0x17, 0x6f, 0x67, 0x63, 0x03, 0x23, 0x13, 0x33, 0x0f, 0x73];
        uint32 insn = raw;
        if (opSel < 240) insn = (raw & ~uint32(0x7f)) | ops[opSel % 11];
        if (opSel % 16 == 0 && ops[opSel % 11] == 0x73) insn = opSel & 1 == 0 ? 0x73 : 0x00100073;
        uint32 pc = pcSeed & 0xfffffffc;
        if (opSel >= 250) pc = pcSeed; // sometimes a misaligned fetch
        if (uint32(pc) & 3 == 0) {
            uint32[] memory w = new uint32[](1);
            w[0] = insn;
            bytes memory img = new bytes(4);
            for (uint256 j = 0; j < 4; j++) img[j] = bytes1(uint8(insn >> (8 * j)));
            // place the word at pc inside its leaf, the rest of the leaf random
            uint256 off = (pc & 31);
            bytes32 leaf = data;
            for (uint256 j = 0; j < 4; j++) {
                leaf &= ~bytes32(uint256(0xff) << ((31 - off - j) * 8));
                leaf |= bytes32(uint256(uint8(img[j])) << ((31 - off - j) * 8));
            }
            m.setLeaf(pc >> 5, leaf);
        }
        // a data word near what loads and stores from the random registers will touch
        m.setLeaf((uint256(regs[0]) >> 5), data);
        bytes memory s = m.withPc(m.initialState(), pc);
        uint256 rs1 = (insn >> 15) & 31;
        uint256 rs2 = (insn >> 20) & 31;
        if (rs1 != 0) s = m.withReg(s, rs1, regs[0]);
        if (rs2 != 0 && rs2 != rs1) s = m.withReg(s, rs2, regs[1]);
        s = m.withReg(s, 10, regs[2]);
        s = m.withReg(s, 17, regs[3] & 1 == 0 ? 93 : regs[3]);
        s = m.withReg(s, 31, regs[3]);
        bytes memory proof = m.stepProof(s);
        assertEq(_cStep(s, proof), rv.step(s, proof), "C VM and RiscvStep agree");
    }
}
