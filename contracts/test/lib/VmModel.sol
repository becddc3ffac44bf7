// SPDX-License-Identifier: MIT
// VmModel.sol: a test-side RISC-V machine for the forge tests: a sparse Merkle memory (only the
// leaves ever written are stored; every other subtree is a zero root), packed states, memory
// proofs in the docs/vm.md layout, and a trace runner that drives RiscvStep.execute one step at a
// time, applying stores to its own memory with its own store logic and checking that its memory
// root equals the contract's after every step. Whole-game tests take honest VM traces from here.
pragma solidity ^0.8.28;

import {Merkle} from "../../src/lib/Merkle.sol";
import {RiscvStep} from "../../src/RiscvStep.sol";

contract VmModel {
    RiscvStep public immutable rv;
    bytes32[28] internal Z;

    mapping(uint256 => bytes32) internal leafOf; // global leaf index (address >> 5) => leaf
    mapping(uint256 => uint256[]) internal slotLeaves; // slot => leaf indices ever written
    mapping(uint256 => bool) internal present;

    /// the trace of the last run(): pre-state and step proof of step j, and states[j]'s hash
    bytes[] public states;
    bytes[] public proofs;

    constructor(RiscvStep step) {
        rv = step;
        for (uint256 h = 1; h < 28; h++) Z[h] = Merkle.parent(Z[h - 1], Z[h - 1]);
    }

    function zero(uint256 h) external view returns (bytes32) {
        return Z[h];
    }

    // ---- memory ----

    function setLeaf(uint256 li, bytes32 v) public {
        if (!present[li]) {
            present[li] = true;
            slotLeaves[li >> 23].push(li);
        }
        leafOf[li] = v;
    }

    function leaf(uint256 li) external view returns (bytes32) {
        return leafOf[li];
    }

    /// Writes `data` at `addr` (32-byte aligned).
    function writeBytes(uint256 addr, bytes memory data) public {
        require(addr & 31 == 0, "VmModel: unaligned write");
        for (uint256 o = 0; o < data.length; o += 32) {
            bytes32 w;
            assembly {
                w := mload(add(add(data, 0x20), o))
            }
            uint256 n = data.length - o;
            if (n < 32) w &= bytes32(~(type(uint256).max >> (n * 8)));
            setLeaf((addr + o) >> 5, w);
        }
    }

    /// Root of the aligned subtree of height h whose first leaf is `first`.
    function subtree(uint256 h, uint256 first) public view returns (bytes32) {
        if (h > 23) {
            return Merkle.parent(subtree(h - 1, first), subtree(h - 1, first + (1 << (h - 1))));
        }
        uint256[] storage ls = slotLeaves[first >> 23];
        uint256 cnt;
        for (uint256 i = 0; i < ls.length; i++) {
            if (ls[i] >> h == first >> h) cnt++;
        }
        if (cnt == 0) return Z[h];
        if (h == 0) return leafOf[first];
        return Merkle.parent(subtree(h - 1, first), subtree(h - 1, first + (1 << (h - 1))));
    }

    function slotRoot(uint256 s) public view returns (bytes32) {
        return subtree(23, s << 23);
    }

    function memRoot() public view returns (bytes32) {
        return subtree(27, 0);
    }

    /// The 896-byte memory proof of leaf `li`.
    function proveLeaf(uint256 li) public view returns (bytes memory out) {
        out = abi.encodePacked(leafOf[li]);
        for (uint256 h = 0; h < 27; h++) {
            out = abi.encodePacked(out, subtree(h, ((li >> h) ^ 1) << h));
        }
    }

    /// The 4 siblings of slot `s` in the depth-4 slot tree (slot level first).
    function slotSiblings(uint256 s) public view returns (bytes32[] memory sib) {
        sib = new bytes32[](4);
        for (uint256 h = 0; h < 4; h++) sib[h] = subtree(23 + h, (((s >> h) ^ 1) << h) << 23);
    }

    /// The memory root with slot `s`'s root replaced by `slotRoot` (the other slots as they are).
    function rootFromSlot(uint256 s, bytes32 slotRoot) external view returns (bytes32 r) {
        bytes32[] memory sib = slotSiblings(s);
        r = slotRoot;
        for (uint256 h = 0; h < 4; h++) {
            r = (s >> h) & 1 == 1 ? Merkle.parent(sib[h], r) : Merkle.parent(r, sib[h]);
        }
    }

    // ---- states ----

    /// The packed initial state for the current memory: pc 0, registers 0, running.
    function initialState() public view returns (bytes memory) {
        return abi.encodePacked(memRoot(), uint32(0), uint64(0), uint8(0), uint32(0), new bytes(124));
    }

    function withReg(bytes memory s, uint256 r, uint32 v) public pure returns (bytes memory) {
        bytes memory t = bytes.concat(s);
        uint256 off = 45 + 4 * r;
        for (uint256 i = 0; i < 4; i++) t[off + i] = bytes1(uint8(v >> (24 - 8 * i)));
        return t;
    }

    function withPc(bytes memory s, uint32 pc) public pure returns (bytes memory) {
        bytes memory t = bytes.concat(s);
        for (uint256 i = 0; i < 4; i++) t[32 + i] = bytes1(uint8(pc >> (24 - 8 * i)));
        return t;
    }

    function withRoot(bytes memory s, bytes32 root) public pure returns (bytes memory) {
        bytes memory t = bytes.concat(s);
        for (uint256 i = 0; i < 32; i++) t[i] = root[i];
        return t;
    }

    function reg(bytes memory s, uint256 r) public pure returns (uint32 v) {
        if (r == 0) return 0;
        for (uint256 i = 0; i < 4; i++) v = (v << 8) | uint32(uint8(s[45 + 4 * r + i]));
    }

    function pcOf(bytes memory s) public pure returns (uint32 v) {
        for (uint256 i = 0; i < 4; i++) v = (v << 8) | uint32(uint8(s[32 + i]));
    }

    function statusOf(bytes memory s) public pure returns (uint8) {
        return uint8(s[44]);
    }

    function exitOf(bytes memory s) public pure returns (uint32 v) {
        for (uint256 i = 0; i < 4; i++) v = (v << 8) | uint32(uint8(s[45 + i]));
    }

    function stepOf(bytes memory s) public pure returns (uint64 v) {
        for (uint256 i = 0; i < 8; i++) v = (v << 8) | uint64(uint8(s[36 + i]));
    }

    /// The step proof RiscvStep needs for state `s` under this model's current memory.
    function stepProof(bytes memory s) public view returns (bytes memory) {
        uint32 pc = pcOf(s);
        if (statusOf(s) != 0 || pc & 3 != 0) return "";
        bytes memory p = proveLeaf(pc >> 5);
        uint256 insn = _insnAt(pc);
        uint256 op = insn & 0x7f;
        uint256 f3 = (insn >> 12) & 7;
        bool isLoad = op == 0x03 && f3 != 3 && f3 < 6;
        bool isStore = op == 0x23 && f3 < 3;
        if (!isLoad && !isStore) return p;
        uint256 imm = isLoad ? insn >> 20 : ((insn >> 25) << 5) | ((insn >> 7) & 31);
        if (imm & 0x800 != 0) imm |= 0xfffff000;
        uint256 addr = (uint256(reg(s, (insn >> 15) & 31)) + imm) & 0xffffffff;
        if (addr & ((1 << (f3 & 3)) - 1) != 0) return p;
        return bytes.concat(p, proveLeaf(addr >> 5));
    }

    function _insnAt(uint256 pc) internal view returns (uint256) {
        uint256 w = uint256(leafOf[pc >> 5]) >> ((28 - (pc & 31)) * 8) & 0xffffffff;
        return ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >> 8) & 0xff00) | (w >> 24);
    }

    /// Executes one step of `s` through RiscvStep, applies a store to this model's memory and
    /// checks the roots agree. Returns the post-state.
    function advance(bytes memory s) public returns (bytes memory post) {
        bytes memory p = stepProof(s);
        post = rv.execute(s, p);
        if (p.length == 1792) {
            uint256 insn = _insnAt(pcOf(s));
            if (insn & 0x7f == 0x23 && statusOf(post) == 0) {
                uint256 f3 = (insn >> 12) & 7;
                uint256 imm = ((insn >> 25) << 5) | ((insn >> 7) & 31);
                if (imm & 0x800 != 0) imm |= 0xfffff000;
                uint256 addr = (uint256(reg(s, (insn >> 15) & 31)) + imm) & 0xffffffff;
                uint256 v = reg(s, (insn >> 20) & 31);
                bytes32 l = leafOf[addr >> 5];
                for (uint256 i = 0; i < (1 << f3); i++) {
                    uint256 byteAt = (addr & 31) + i;
                    l &= ~bytes32(uint256(0xff) << ((31 - byteAt) * 8));
                    l |= bytes32(((v >> (8 * i)) & 0xff) << ((31 - byteAt) * 8));
                }
                setLeaf(addr >> 5, l);
            }
        }
        bytes32 root;
        assembly {
            root := mload(add(post, 0x20))
        }
        require(root == memRoot(), "VmModel: memory root differs from RiscvStep's");
    }

    /// Runs from `s` until halted or `maxSteps`, recording states[0..] and proofs[0..]; states has
    /// one entry more than proofs (the last state). Returns the number of steps run.
    function run(bytes memory s, uint256 maxSteps) external returns (uint256 n) {
        delete states;
        delete proofs;
        states.push(s);
        while (n < maxSteps && statusOf(s) == 0) {
            proofs.push(stepProof(s));
            s = advance(s);
            states.push(s);
            n++;
        }
    }

    function traceLength() external view returns (uint256) {
        return states.length;
    }

    /// Hash of the state at step j of the last run (the final state for j past the halt).
    function stateHashAt(uint256 j) external view returns (bytes32) {
        if (j >= states.length) j = states.length - 1;
        return keccak256(states[j]);
    }

    function stateAt(uint256 j) external view returns (bytes memory) {
        if (j >= states.length) j = states.length - 1;
        return states[j];
    }

    /// The proof for step j (from stateAt(j)); empty past the halt.
    function proofAt(uint256 j) external view returns (bytes memory) {
        if (j >= proofs.length) return "";
        return proofs[j];
    }
}

/// RV32 encoders for the tests' small programs.
library Asm {
    function r(uint256 f7, uint256 rs2, uint256 rs1, uint256 f3, uint256 rd, uint256 op) internal pure returns (uint32) {
        return uint32((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op);
    }

    function i(int256 imm, uint256 rs1, uint256 f3, uint256 rd, uint256 op) internal pure returns (uint32) {
        return uint32(((uint256(imm) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op);
    }

    function s(int256 imm, uint256 rs2, uint256 rs1, uint256 f3) internal pure returns (uint32) {
        uint256 u = uint256(imm) & 0xfff;
        return uint32(((u >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((u & 31) << 7) | 0x23);
    }

    function b(int256 imm, uint256 rs2, uint256 rs1, uint256 f3) internal pure returns (uint32) {
        uint256 u = uint256(imm) & 0x1fff;
        return uint32(
            (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12)
                | (((u >> 1) & 0xf) << 8) | (((u >> 11) & 1) << 7) | 0x63
        );
    }

    function jal(int256 imm, uint256 rd) internal pure returns (uint32) {
        uint256 u = uint256(imm) & 0x1fffff;
        return uint32(
            (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3ff) << 21) | (((u >> 11) & 1) << 20) | (((u >> 12) & 0xff) << 12)
                | (rd << 7) | 0x6f
        );
    }

    function lui(uint256 rd, uint256 imm20) internal pure returns (uint32) {
        return uint32((imm20 << 12) | (rd << 7) | 0x37);
    }

    function addi(uint256 rd, uint256 rs1, int256 imm) internal pure returns (uint32) {
        return i(imm, rs1, 0, rd, 0x13);
    }

    function lw(uint256 rd, uint256 rs1, int256 imm) internal pure returns (uint32) {
        return i(imm, rs1, 2, rd, 0x03);
    }

    function sw(uint256 rs2, uint256 rs1, int256 imm) internal pure returns (uint32) {
        return s(imm, rs2, rs1, 2);
    }

    function add(uint256 rd, uint256 rs1, uint256 rs2) internal pure returns (uint32) {
        return r(0, rs2, rs1, 0, rd, 0x33);
    }

    uint32 internal constant ECALL = 0x00000073;

    /// The tests' guest: out = operand0 + descriptor + operand1 (uint32 words at the start of slots
    /// 3, 1 and 4), stored at the start of slot 15, then exit 0. 13 instructions.
    function adder() internal pure returns (uint32[] memory w) {
        w = new uint32[](13);
        w[0] = lui(5, 0x30000);
        w[1] = lw(6, 5, 0);
        w[2] = lui(7, 0x10000);
        w[3] = lw(28, 7, 0);
        w[4] = add(6, 6, 28);
        w[5] = lui(5, 0x40000);
        w[6] = lw(28, 5, 0);
        w[7] = add(6, 6, 28);
        w[8] = lui(5, 0xF0000);
        w[9] = sw(6, 5, 0);
        w[10] = addi(17, 0, 93);
        w[11] = addi(10, 0, 0);
        w[12] = ECALL;
    }

    function andi(uint256 rd, uint256 rs1, int256 imm) internal pure returns (uint32) {
        return i(imm, rs1, 7, rd, 0x13);
    }

    /// The generation tests' guest: the adder with its sum masked to 10 bits (token ids below
    /// 1024 whatever the operands), stored at the start of slot 15, then exit 0. 14 instructions.
    function maskedAdder() internal pure returns (uint32[] memory w) {
        uint32[] memory a = adder();
        w = new uint32[](14);
        for (uint256 k = 0; k < 8; k++) w[k] = a[k];
        w[8] = andi(6, 6, 1023);
        for (uint256 k = 8; k < 13; k++) w[k + 1] = a[k];
    }

    /// Little-endian bytes of a program.
    function image(uint32[] memory words) internal pure returns (bytes memory out) {
        out = new bytes(words.length * 4);
        for (uint256 k = 0; k < words.length; k++) {
            for (uint256 j = 0; j < 4; j++) out[4 * k + j] = bytes1(uint8(words[k] >> (8 * j)));
        }
    }
}
