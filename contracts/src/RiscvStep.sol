// SPDX-License-Identifier: MIT
// RiscvStep.sol: the on-chain one-step RV32IM interpreter of docs/vm.md (normative). Given the
// 173-byte packed pre-state and the step proof (0, 1 or 2 memory proofs of 896 bytes), it executes
// exactly one instruction and returns the post-state hash; the C verifier (vmjudge/) computes the
// same bytes. Invalid input (wrong lengths, a proof that does not verify) reverts with a custom
// error and never yields a post-state. Every decodable word leads to a defined post-state: halted
// states step to themselves, everything else executes or faults (status 2, exit code = fault).
//
// The post-state is built in place: the pre-state is copied to memory once and the fields an
// instruction changes are overwritten there, then the 173 bytes are hashed.
pragma solidity ^0.8.28;

import {Merkle} from "./lib/Merkle.sol";

contract RiscvStep {
    /// @dev Packed state layout (docs/vm.md, "State"); integers are big-endian.
    uint256 internal constant STATE_BYTES = 173;
    uint256 internal constant OFF_PC = 32;
    uint256 internal constant OFF_STEP = 36;
    uint256 internal constant OFF_STATUS = 44;
    uint256 internal constant OFF_EXIT = 45;
    /// @dev A memory proof: leaf (32) ++ 27 siblings (27 x 32); the memory tree has depth 27.
    uint256 internal constant PROOF_BYTES = 896;
    uint256 internal constant MEM_DEPTH = 27;

    uint256 internal constant FAULT_ILLEGAL = 1;
    uint256 internal constant FAULT_FETCH = 2;
    uint256 internal constant FAULT_LOAD = 3;
    uint256 internal constant FAULT_STORE = 4;
    uint256 internal constant FAULT_ECALL = 5;
    uint256 internal constant FAULT_EBREAK = 6;

    /// @notice The packed state is not 173 bytes long.
    error BadStateLength(uint256 length);
    /// @notice The step proof's length is not the one this state and instruction need.
    error BadProofLength(uint256 expected, uint256 length);
    /// @notice A memory proof does not lead to the pre-state's memory root.
    error BadMemoryProof(uint256 leafIndex);

    /// @notice Executes one instruction and returns keccak256 of the packed post-state.
    /// @param state the 173-byte packed pre-state (docs/vm.md).
    /// @param proof 0, 1 or 2 memory proofs of 896 bytes (instruction leaf, then data leaf).
    function step(bytes calldata state, bytes calldata proof) external pure returns (bytes32 postHash) {
        bytes memory post = _execute(state, proof);
        assembly ("memory-safe") {
            postHash := keccak256(add(post, 0x20), STATE_BYTES)
        }
    }

    /// @notice Executes one instruction and returns the packed post-state itself (for off-chain
    ///         tooling and tests; the game uses step()).
    function execute(bytes calldata state, bytes calldata proof) external pure returns (bytes memory post) {
        return _execute(state, proof);
    }

    function _execute(bytes calldata state, bytes calldata proof) internal pure returns (bytes memory post) {
        if (state.length != STATE_BYTES) revert BadStateLength(state.length);
        // 32 spare bytes after the state so that 32-byte read-modify-writes of the last field stay
        // inside the allocation.
        post = new bytes(STATE_BYTES + 32);
        uint256 p;
        uint256 halted;
        assembly ("memory-safe") {
            mstore(post, STATE_BYTES)
            p := add(post, 0x20)
            calldatacopy(p, state.offset, STATE_BYTES)
            halted := byte(0, mload(add(p, OFF_STATUS)))
        }
        if (halted != 0) {
            if (proof.length != 0) revert BadProofLength(0, proof.length);
            return post; // a halted machine steps to itself, step count included
        }
        uint256 insn = _fetch(p, proof);
        if (insn > 0xffffffff) return post; // misaligned fetch: faulted
        (uint256 kind, uint256 addr, uint256 fault) = _exec(p, insn);
        if (kind == 0) {
            if (proof.length != PROOF_BYTES) revert BadProofLength(PROOF_BYTES, proof.length);
            if (fault != 0) _fault(p, fault);
            return post;
        }
        // A load (kind 1) or store (kind 2) at an aligned address: the data leaf's proof follows.
        if (proof.length != 2 * PROOF_BYTES) revert BadProofLength(2 * PROOF_BYTES, proof.length);
        _access(p, proof, kind, addr, insn);
    }

    /// @dev Counts the step and fetches the instruction at pc through the first memory proof.
    ///      A misaligned pc faults the state instead and returns 2^32 (no instruction).
    function _fetch(uint256 p, bytes calldata proof) private pure returns (uint256 insn) {
        uint256 pcv;
        assembly ("memory-safe") {
            let a := add(p, OFF_STEP)
            let s := and(add(shr(192, mload(a)), 1), 0xffffffffffffffff)
            mstore(a, or(and(mload(a), not(shl(192, 0xffffffffffffffff))), shl(192, s)))
            pcv := shr(224, mload(add(p, OFF_PC)))
        }
        if (pcv & 3 != 0) {
            if (proof.length != 0) revert BadProofLength(0, proof.length);
            _fault(p, FAULT_FETCH);
            return 1 << 32;
        }
        if (proof.length < PROOF_BYTES) revert BadProofLength(PROOF_BYTES, proof.length);
        uint256 leaf;
        bytes32 memRoot;
        assembly ("memory-safe") {
            memRoot := mload(p)
            leaf := calldataload(proof.offset)
        }
        if (Merkle.rootFromPacked(bytes32(leaf), pcv >> 5, _siblings(proof, 0), MEM_DEPTH) != memRoot) {
            revert BadMemoryProof(pcv >> 5);
        }
        insn = _bswap32((leaf >> ((28 - (pcv & 31)) << 3)) & 0xffffffff);
    }

    /// @dev The data access of a load (kind 1) or store (kind 2) at aligned `addr`: verifies the
    ///      second memory proof against the pre-state's memory root, then writes rd or the new memory root at `p`.
    function _access(uint256 p, bytes calldata proof, uint256 kind, uint256 addr, uint256 insn) private pure {
        uint256 data;
        uint256 sibs = _siblings(proof, PROOF_BYTES);
        {
            bytes32 memRoot;
            assembly ("memory-safe") {
                data := calldataload(add(proof.offset, PROOF_BYTES))
                memRoot := mload(p)
            }
            if (Merkle.rootFromPacked(bytes32(data), addr >> 5, sibs, MEM_DEPTH) != memRoot) {
                revert BadMemoryProof(addr >> 5);
            }
        }
        uint256 f3 = (insn >> 12) & 7;
        uint256 size = 1 << (f3 & 3);
        uint256 shift = (32 - (addr & 31) - size) << 3;
        uint256 mask = (1 << (size << 3)) - 1;
        if (kind == 1) {
            uint256 v = _swap((data >> shift) & mask, size);
            if (f3 == 0) v = _sext(v, 8);
            else if (f3 == 1) v = _sext(v, 16);
            _setReg(p, (insn >> 7) & 31, v);
        } else {
            data = (data & ~(mask << shift)) | (_swap(_reg(p, (insn >> 20) & 31) & mask, size) << shift);
            bytes32 root = Merkle.rootFromPacked(bytes32(data), addr >> 5, sibs, MEM_DEPTH);
            assembly ("memory-safe") {
                mstore(p, root)
            }
        }
    }

    /// @dev Decodes and executes `insn` on the state at memory `p`, except the
    ///      memory access of a load or store: for those it returns kind 1 (load) or 2 (store) and
    ///      the aligned address, with the pc already advanced. A fault is returned, not applied.
    function _exec(uint256 p, uint256 insn) private pure returns (uint256 kind, uint256 addr, uint256 fault) {
        assembly ("memory-safe") {
            function reg(q, r) -> v {
                if r { v := shr(224, mload(add(q, add(45, shl(2, r))))) }
            }
            // sign-extend the low `bits` bits of v to 32 bits
            function sx(v, bits) -> r {
                let m := shl(sub(bits, 1), 1)
                r := and(sub(xor(v, m), m), 0xffffffff)
            }
            function immI(w) -> v {
                v := and(sar(20, signextend(3, w)), 0xffffffff)
            }
            // OP (f7 0, 0x20) and OP-IMM (imm = 1): a op b, or fault 1
            function alu(a, b, f3, f7, imm) -> v, flt {
                switch f3
                case 0 {
                    switch f7
                    case 0 { v := add(a, b) }
                    default {
                        switch and(eq(f7, 0x20), iszero(imm))
                        case 1 { v := sub(a, b) }
                        default { flt := 1 }
                    }
                }
                case 1 {
                    if f7 { flt := 1 }
                    v := shl(and(b, 31), a)
                }
                case 2 { v := slt(signextend(3, a), signextend(3, b)) }
                case 3 { v := lt(a, b) }
                case 4 { v := xor(a, b) }
                case 5 {
                    switch f7
                    case 0 { v := shr(and(b, 31), a) }
                    case 0x20 { v := sar(and(b, 31), signextend(3, a)) }
                    default { flt := 1 }
                }
                case 6 { v := or(a, b) }
                default { v := and(a, b) }
                // only OP checks funct7 for the other functions; OP-IMM's f3 0,2,3,4,6,7 have none
                if and(iszero(imm), and(gt(f7, 0), iszero(or(eq(f3, 0), eq(f3, 5))))) { flt := 1 }
            }
            function muldiv(a, b, f3) -> v {
                switch f3
                case 0 { v := mul(a, b) }
                case 1 { v := shr(32, mul(signextend(3, a), signextend(3, b))) }
                case 2 { v := shr(32, mul(signextend(3, a), b)) }
                case 3 { v := shr(32, mul(a, b)) }
                case 4 { // DIV: by 0 all ones; -2^31 / -1 wraps to -2^31 under the 32-bit mask
                    switch b
                    case 0 { v := 0xffffffff }
                    default { v := sdiv(signextend(3, a), signextend(3, b)) }
                }
                case 5 {
                    switch b
                    case 0 { v := 0xffffffff }
                    default { v := div(a, b) }
                }
                case 6 { // REM: by 0 the dividend; smod takes the dividend's sign, as C does
                    switch b
                    case 0 { v := a }
                    default { v := smod(signextend(3, a), signextend(3, b)) }
                }
                default {
                    switch b
                    case 0 { v := a }
                    default { v := mod(a, b) }
                }
            }
            function taken(a, b, f3) -> t, flt {
                switch f3
                case 0 { t := eq(a, b) }
                case 1 { t := iszero(eq(a, b)) }
                case 4 { t := slt(signextend(3, a), signextend(3, b)) }
                case 5 { t := iszero(slt(signextend(3, a), signextend(3, b))) }
                case 6 { t := lt(a, b) }
                case 7 { t := iszero(lt(a, b)) }
                default { flt := 1 }
            }
            function immB(w) -> v {
                v := or(or(shl(12, shr(31, w)), shl(11, and(shr(7, w), 1))), or(shl(5, and(shr(25, w), 0x3f)), shl(1, and(shr(8, w), 0xf))))
                v := and(sub(xor(v, 0x1000), 0x1000), 0xffffffff) // sign bit 12
            }
            function immJ(w) -> v {
                v := or(or(shl(20, shr(31, w)), shl(12, and(shr(12, w), 0xff))), or(shl(11, and(shr(20, w), 1)), shl(1, and(shr(21, w), 0x3ff))))
                v := and(sub(xor(v, 0x100000), 0x100000), 0xffffffff) // sign bit 20
            }

            let pcv := shr(224, mload(add(p, OFF_PC)))
            let rd := and(shr(7, insn), 31) // set to 0 below for instructions that write no register
            let f3 := and(shr(12, insn), 7)
            let a := reg(p, and(shr(15, insn), 31))
            let npc := add(pcv, 4)
            let val := 0
            switch and(insn, 0x7f)
            case 0x37 { val := and(insn, 0xfffff000) } // LUI
            case 0x17 { val := add(pcv, and(insn, 0xfffff000)) } // AUIPC
            case 0x6f { // JAL
                val := npc
                npc := add(pcv, immJ(insn))
            }
            case 0x67 { // JALR
                val := npc
                npc := and(add(a, immI(insn)), 0xfffffffe)
                if f3 { fault := 1 }
            }
            case 0x63 { // branches
                rd := 0
                let b := reg(p, and(shr(20, insn), 31))
                let t := 0
                t, fault := taken(a, b, f3)
                if t { npc := add(pcv, immB(insn)) }
            }
            case 0x03 { // loads LB LH LW LBU LHU; rd is written by _access
                rd := 0
                switch or(eq(f3, 3), gt(f3, 5))
                case 1 { fault := 1 }
                default {
                    addr := and(add(a, immI(insn)), 0xffffffff)
                    switch and(addr, sub(shl(and(f3, 3), 1), 1))
                    case 0 { kind := 1 }
                    default { fault := 3 }
                }
            }
            case 0x23 { // stores SB SH SW; the low 5 offset bits sit in the rd field
                addr := and(add(a, sx(or(shl(5, shr(25, insn)), rd), 12)), 0xffffffff)
                rd := 0
                switch gt(f3, 2)
                case 1 { fault := 1 }
                default {
                    switch and(addr, sub(shl(f3, 1), 1))
                    case 0 { kind := 2 }
                    default { fault := 4 }
                }
            }
            case 0x13 { // OP-IMM; the shift amount is the rs2 field, funct7 checked for shifts
                let imm := immI(insn)
                let f7 := 0
                if or(eq(f3, 1), eq(f3, 5)) {
                    f7 := shr(25, insn)
                    imm := and(imm, 31)
                }
                val, fault := alu(a, imm, f3, f7, 1)
            }
            case 0x33 { // OP and the M extension
                let b := reg(p, and(shr(20, insn), 31))
                switch shr(25, insn)
                case 1 { val := muldiv(a, b, f3) }
                default { val, fault := alu(a, b, f3, shr(25, insn), 0) }
            }
            case 0x0f { // FENCE, FENCE.I: no-ops
                rd := 0
                if gt(f3, 1) { fault := 1 }
            }
            case 0x73 {
                rd := 0
                switch insn
                case 0x73 { fault := 0x100 } // ECALL, resolved below
                case 0x00100073 { fault := 6 }
                default { fault := 1 }
            }
            default { fault := 1 }

            if eq(fault, 0x100) { // ECALL: exit when a7 == 93, keeping pc at the ecall
                switch reg(p, 17)
                case 93 {
                    fault := 0
                    mstore8(add(p, OFF_STATUS), 1)
                    let e := add(p, OFF_EXIT)
                    mstore(e, or(and(mload(e), not(shl(224, 0xffffffff))), shl(224, reg(p, 10))))
                    npc := pcv
                }
                default { fault := 5 }
            }
            if iszero(fault) {
                if rd {
                    let q := add(p, add(45, shl(2, rd)))
                    mstore(q, or(and(mload(q), not(shl(224, 0xffffffff))), shl(224, and(val, 0xffffffff))))
                }
                let q := add(p, OFF_PC)
                mstore(q, or(and(mload(q), not(shl(224, 0xffffffff))), shl(224, and(npc, 0xffffffff))))
            }
        }
    }

    /// @dev The calldata offset of the siblings of the memory proof at byte `at` of `proof`.
    function _siblings(bytes calldata proof, uint256 at) private pure returns (uint256 off) {
        assembly ("memory-safe") {
            off := add(proof.offset, add(at, 32))
        }
    }

    /// @dev Faults the state at `p`: status 2, exit code `code`; all else keeps its pre-step value.
    function _fault(uint256 p, uint256 code) private pure {
        assembly ("memory-safe") {
            mstore8(add(p, OFF_STATUS), 2)
            let e := add(p, OFF_EXIT)
            mstore(e, or(and(mload(e), not(shl(224, 0xffffffff))), shl(224, code)))
        }
    }

    function _reg(uint256 p, uint256 r) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            if r { v := shr(224, mload(add(p, add(45, shl(2, r))))) }
        }
    }

    function _setReg(uint256 p, uint256 r, uint256 v) private pure {
        assembly ("memory-safe") {
            if r {
                let q := add(p, add(45, shl(2, r)))
                mstore(q, or(and(mload(q), not(shl(224, 0xffffffff))), shl(224, and(v, 0xffffffff))))
            }
        }
    }

    function _sext(uint256 v, uint256 bits) private pure returns (uint256) {
        uint256 m = 1 << (bits - 1);
        unchecked {
            return ((v ^ m) - m) & 0xffffffff;
        }
    }

    function _bswap32(uint256 x) private pure returns (uint256) {
        return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >> 8) & 0xff00) | (x >> 24);
    }

    /// @dev Little-endian <-> big-endian for a value of `size` bytes (1, 2 or 4).
    function _swap(uint256 x, uint256 size) private pure returns (uint256) {
        if (size == 1) return x;
        if (size == 2) return ((x & 0xff) << 8) | (x >> 8);
        return _bswap32(x);
    }
}
