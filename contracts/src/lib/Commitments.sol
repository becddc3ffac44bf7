// SPDX-License-Identifier: MIT
// Commitments.sol: the model and VM commitments of docs/commitments.md and docs/vm.md that the
// contracts compute (the C side: numerics/model/model.c, numerics/model/generation.c, vm/vm_node.c):
// the node leaf, the model root, a generation model's root and the hash of a node run's initial VM
// state built from roots. Checked against
// tests/vectors/commitments.json by test/Commitments.t.sol.
pragma solidity ^0.8.28;

import {Merkle} from "./Merkle.sol";

library Commitments {
    /// @dev Z(23): the tensor root of an empty slot (an unused operand, the scratch and output slots).
    bytes32 internal constant EMPTY_SLOT = 0x4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652;

    /// @notice keccak256(descriptorRoot ++ inputMask (uint16 BE) ++ refs[0..11]): 418 bytes.
    function nodeLeaf(bytes32 descriptorRoot, uint16 inputMask, bytes32[12] memory refs) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40) // scratch past the free memory pointer, not kept
            mstore(p, descriptorRoot)
            mstore(add(p, 0x20), shl(240, and(inputMask, 0xffff)))
            mcopy(add(p, 0x22), refs, 0x180)
            h := keccak256(p, 418)
        }
    }

    /// @notice keccak256(nodesRoot ++ nin ++ n ++ outputValue ++ D ++ outputBytes ++ inputBytes[0..nin-1]):
    ///         49 + 4 * nin bytes, integers big-endian (uint32, D a uint8).
    function modelRoot(
        bytes32 nodesRoot,
        uint32 nin,
        uint32 n,
        uint32 outputValue,
        uint8 stateDepth,
        uint32 outputBytes,
        uint32[] memory inputBytes
    ) internal pure returns (bytes32 r) {
        uint256 w = 0xffffffff; // values narrower than a word are masked: assembly sees raw stack words
        assembly ("memory-safe") {
            let count := mload(inputBytes)
            let p := mload(0x40) // scratch past the free memory pointer, not kept
            mstore(p, nodesRoot)
            mstore(
                add(p, 32),
                or(
                    or(shl(224, and(nin, w)), shl(192, and(n, w))),
                    or(shl(160, and(outputValue, w)), or(shl(152, and(stateDepth, 0xff)), shl(120, and(outputBytes, w))))
                )
            )
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                mstore(add(add(p, 49), shl(2, i)), shl(224, and(mload(add(add(inputBytes, 32), shl(5, i))), w)))
            }
            r := keccak256(p, add(49, shl(2, count)))
        }
    }

    /// @notice A generation model's root: keccak256(stepRoot ++ vocab ++ ctx ++ layers ++ kvValue),
    ///         48 bytes, integers uint32 big-endian; stepRoot is the step graph's model root.
    function generationRoot(bytes32 stepRoot, uint32 vocab, uint32 ctx, uint32 layers, uint32 kvValue)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(stepRoot, vocab, ctx, layers, kvValue));
    }

    /// @notice The hash of a node run's initial packed VM state: memory = the depth-4 tree over
    ///         the slot roots [guest, descriptor, empty, operands 0..11, empty]; pc, step, status,
    ///         exit code and every register zero.
    function vmInitialState(bytes32 guestRoot, bytes32 descriptorRoot, bytes32[12] memory operands)
        internal
        pure
        returns (bytes32 h)
    {
        bytes32 empty = EMPTY_SLOT;
        assembly ("memory-safe") {
            // the 16 slot roots at the free memory pointer (not kept), then each level of the
            // depth-4 tree written over the one below it
            let p := mload(0x40)
            mstore(p, guestRoot)
            mstore(add(p, 0x20), descriptorRoot)
            mstore(add(p, 0x40), empty)
            mcopy(add(p, 0x60), operands, 0x180)
            mstore(add(p, 0x1e0), empty)
            for { let n := 8 } n { n := shr(1, n) } {
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    mstore(add(p, shl(5, i)), keccak256(add(p, shl(6, i)), 0x40))
                }
            }
            // the packed state: the memory root, then 141 zero bytes (pc, step, status, exit
            // code, registers)
            mstore(add(p, 0x20), 0)
            mstore(add(p, 0x40), 0)
            mstore(add(p, 0x60), 0)
            mstore(add(p, 0x80), 0)
            mstore(add(p, 0xa0), 0)
            h := keccak256(p, 173)
        }
    }
}
