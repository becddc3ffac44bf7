// SPDX-License-Identifier: MIT
// Merkle.sol: the binary Keccak Merkle tree of docs/commitments.md (normative), the same bytes as
// base/merkle.c. A leaf is 32 bytes of data (not hashed), a parent is keccak256(left ++ right),
// missing data is zero with zero-subtree roots Z(h). Proof siblings run from the leaf's level up;
// at height h the node is the right child when bit h of the leaf index is 1.
// Hashing uses the scratch space 0x00..0x3f, so no memory is allocated per hash.
pragma solidity ^0.8.28;

library Merkle {
    /// @dev A slot is 2^28 bytes: a tensor root is a tree of depth 23.
    uint256 internal constant SLOT_DEPTH = 23;
    uint256 internal constant SLOT_BYTES = 1 << 28;

    error TensorTooLarge(uint256 length);

    /// @notice Z(h): the root of 2^h zero leaves.
    function zero(uint256 h) internal pure returns (bytes32 z) {
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, h) { i := add(i, 1) } {
                mstore(0x00, z)
                mstore(0x20, z)
                z := keccak256(0x00, 0x40)
            }
        }
    }

    /// @notice The depth of the smallest tree with room for `leaves` leaves: the smallest d with
    ///         2^d >= leaves (0 for 0 or 1 leaf).
    function depthFor(uint256 leaves) internal pure returns (uint8 d) {
        while ((uint256(1) << d) < leaves) d++;
    }

    /// @notice keccak256(left ++ right).
    function parent(bytes32 left, bytes32 right) internal pure returns (bytes32 p) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            p := keccak256(0x00, 0x40)
        }
    }

    /// @notice The root that `leaf` at `index` implies with `siblings` (leaf level first); the
    ///         tree's depth is siblings.length.
    function rootFromPath(bytes32 leaf, uint256 index, bytes32[] calldata siblings)
        internal
        pure
        returns (bytes32 r)
    {
        assembly ("memory-safe") {
            r := leaf
            let n := siblings.length
            let off := siblings.offset
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let b := and(shr(i, index), 1)
                mstore(shl(5, b), r)
                mstore(shl(5, xor(b, 1)), calldataload(add(off, shl(5, i))))
                r := keccak256(0x00, 0x40)
            }
        }
    }

    /// @notice rootFromPath in a tree of depth `depth` whose siblings above the given ones are zero
    ///         roots: siblings[h] for h < siblings.length, Z(h) after (a proof in a sparse tree,
    ///         such as a short tensor's, without its trailing zero roots). Requires
    ///         siblings.length <= depth.
    function rootFromZeroPadded(bytes32 leaf, uint256 index, bytes32[] calldata siblings, uint256 depth)
        internal
        pure
        returns (bytes32 r)
    {
        uint256 n = siblings.length;
        r = rootFromPath(leaf, index, siblings);
        bytes32 z = zero(n);
        for (uint256 h = n; h < depth; h++) {
            r = (index >> h) & 1 == 1 ? parent(z, r) : parent(r, z);
            z = parent(z, z);
        }
    }

    /// @notice rootFromPath over `depth` siblings packed as 32-byte words at calldata `offset`
    ///         (the raw layout of a VM memory proof). The caller checks the bounds.
    function rootFromPacked(bytes32 leaf, uint256 index, uint256 offset, uint256 depth)
        internal
        pure
        returns (bytes32 r)
    {
        assembly ("memory-safe") {
            r := leaf
            for { let i := 0 } lt(i, depth) { i := add(i, 1) } {
                let b := and(shr(i, index), 1)
                mstore(shl(5, b), r)
                mstore(shl(5, xor(b, 1)), calldataload(add(offset, shl(5, i))))
                r := keccak256(0x00, 0x40)
            }
        }
    }

    /// @notice The root at depth `depth` over `leaves` from leaf 0 on, zero leaves after.
    ///         Overwrites `leaves` (it is used as the working buffer). Requires
    ///         leaves.length <= 2^depth.
    function rootOfLeaves(bytes32[] memory leaves, uint256 depth) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            let n := mload(leaves)
            let base := add(leaves, 0x20)
            let z := 0
            for { let h := 0 } lt(h, depth) { h := add(h, 1) } {
                let m := shr(1, add(n, 1))
                for { let i := 0 } lt(i, m) { i := add(i, 1) } {
                    let l := add(base, shl(6, i))
                    mstore(0x00, mload(l))
                    switch lt(add(shl(1, i), 1), n)
                    case 1 { mstore(0x20, mload(add(l, 0x20))) }
                    default { mstore(0x20, z) }
                    mstore(add(base, shl(5, i)), keccak256(0x00, 0x40))
                }
                n := m
                mstore(0x00, z)
                mstore(0x20, z)
                z := keccak256(0x00, 0x40)
            }
            switch n
            case 0 { r := z }
            default { r := mload(base) }
        }
    }

    /// @notice The tensor root of `data` (calldata): the depth-23 root of its bytes at the start
    ///         of a zero-filled 2^28-byte slot. Reverts with TensorTooLarge past 2^28 bytes.
    function tensorRoot(bytes calldata data) internal pure returns (bytes32 r) {
        uint256 len = data.length;
        if (len > SLOT_BYTES) revert TensorTooLarge(len);
        bytes32[] memory buf = new bytes32[]((len + 31) >> 5);
        assembly ("memory-safe") {
            calldatacopy(add(buf, 0x20), data.offset, len) // the tail of the last word stays zero
        }
        return rootOfLeaves(buf, SLOT_DEPTH);
    }

    /// @notice The tensor root of `data` in memory (see tensorRoot).
    function tensorRootMem(bytes memory data) internal pure returns (bytes32) {
        uint256 len = data.length;
        if (len > SLOT_BYTES) revert TensorTooLarge(len);
        bytes32[] memory buf = new bytes32[]((len + 31) >> 5);
        assembly ("memory-safe") {
            mcopy(add(buf, 0x20), add(data, 0x20), len)
        }
        return rootOfLeaves(buf, SLOT_DEPTH);
    }
}
