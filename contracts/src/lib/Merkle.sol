// SPDX-License-Identifier: MIT
// Merkle.sol: the binary Keccak Merkle tree of docs/commitments.md (normative), the same bytes as
// base/merkle.c. A leaf is 32 bytes of data (not hashed), a parent is keccak256(left ++ right),
// missing data is zero with zero-subtree roots Z(h). Proof siblings run from the leaf's level up;
// at height h the node is the right child when bit h of the leaf index is 1.
// Hashing uses the scratch space 0x00..0x3f, so no memory is allocated per hash.
pragma solidity ^0.8.28;

// How many zero roots Merkle.zeros holds: Z(0) .. Z(35), every one these contracts use (a tensor's
// 23 levels, a state tree of at most 2^25 values, a kv tree of at most 2^12 cache tensors above a
// tensor's root). At file level, as an array length must be.
uint256 constant ZEROS = 36;

// Z(1) .. Z(35), Z(h) = keccak256(Z(h-1) ++ Z(h-1)), Z(0) = 0 (Commitments.t.sol holds them to the
// shared vectors): a proof's zero sibling is then a constant instead of a hash.
bytes32 constant Z1 = 0xad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5;
bytes32 constant Z2 = 0xb4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30;
bytes32 constant Z3 = 0x21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85;
bytes32 constant Z4 = 0xe58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344;
bytes32 constant Z5 = 0x0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d;
bytes32 constant Z6 = 0x887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968;
bytes32 constant Z7 = 0xffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83;
bytes32 constant Z8 = 0x9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af;
bytes32 constant Z9 = 0xcefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0;
bytes32 constant Z10 = 0xf9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5;
bytes32 constant Z11 = 0xf8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf892;
bytes32 constant Z12 = 0x3490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99c;
bytes32 constant Z13 = 0xc1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb;
bytes32 constant Z14 = 0x5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8becc;
bytes32 constant Z15 = 0xda7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d2;
bytes32 constant Z16 = 0x2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f;
bytes32 constant Z17 = 0xe1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a;
bytes32 constant Z18 = 0x5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0;
bytes32 constant Z19 = 0xb46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0;
bytes32 constant Z20 = 0xc65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2;
bytes32 constant Z21 = 0xf4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd9;
bytes32 constant Z22 = 0x5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377;
bytes32 constant Z23 = 0x4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652;
bytes32 constant Z24 = 0xcdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef;
bytes32 constant Z25 = 0x0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618d;
bytes32 constant Z26 = 0xb8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0;
bytes32 constant Z27 = 0x838c5655cb21c6cb83313b5a631175dff4963772cce9108188b34ac87c81c41e;
bytes32 constant Z28 = 0x662ee4dd2dd7b2bc707961b1e646c4047669dcb6584f0d8d770daf5d7e7deb2e;
bytes32 constant Z29 = 0x388ab20e2573d171a88108e79d820e98f26c0b84aa8b2f4aa4968dbb818ea322;
bytes32 constant Z30 = 0x93237c50ba75ee485f4c22adf2f741400bdf8d6a9cc7df7ecae576221665d735;
bytes32 constant Z31 = 0x8448818bb4ae4562849e949e17ac16e0be16688e156b5cf15e098c627c0056a9;
bytes32 constant Z32 = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;
bytes32 constant Z33 = 0xbf558bebd2ceec7f3c5dce04a4782f88c2c6036ae78ee206d0bc5289d20461a2;
bytes32 constant Z34 = 0xe21908c2968c0699040a6fd866a577a99a9d2ec88745c815fd4a472c789244da;
bytes32 constant Z35 = 0xae824d72ddc272aab68a8c3022e36f10454437c1886f3ff9927b64f232df414f;

library Merkle {
    /// @dev A slot is 2^28 bytes: a tensor root is a tree of depth 23.
    uint256 internal constant SLOT_DEPTH = 23;
    uint256 internal constant SLOT_BYTES = 1 << 28;

    error TensorTooLarge(uint256 length);

    /// @notice Z(0) .. Z(ZEROS - 1) as a table, for paths whose zero siblings start at a height
    ///         known only at run time (a memory read each instead of a hash).
    function zeros() internal pure returns (bytes32[ZEROS] memory z) {
        z[1] = Z1;
        z[2] = Z2;
        z[3] = Z3;
        z[4] = Z4;
        z[5] = Z5;
        z[6] = Z6;
        z[7] = Z7;
        z[8] = Z8;
        z[9] = Z9;
        z[10] = Z10;
        z[11] = Z11;
        z[12] = Z12;
        z[13] = Z13;
        z[14] = Z14;
        z[15] = Z15;
        z[16] = Z16;
        z[17] = Z17;
        z[18] = Z18;
        z[19] = Z19;
        z[20] = Z20;
        z[21] = Z21;
        z[22] = Z22;
        z[23] = Z23;
        z[24] = Z24;
        z[25] = Z25;
        z[26] = Z26;
        z[27] = Z27;
        z[28] = Z28;
        z[29] = Z29;
        z[30] = Z30;
        z[31] = Z31;
        z[32] = Z32;
        z[33] = Z33;
        z[34] = Z34;
        z[35] = Z35;
    }

    /// @notice Z(h): the root of 2^h zero leaves.
    function zero(uint256 h) internal pure returns (bytes32 z) {
        if (h < ZEROS) return zeros()[h];
        z = zeros()[ZEROS - 1];
        for (uint256 i = ZEROS - 1; i < h; i++) z = parent(z, z);
    }

    /// @notice The height at which the paths of leaves a and b meet: the lowest h with a >> h ==
    ///         b >> h (0 when a == b). Below it each path has its own siblings; at h - 1 each one's
    ///         node is the other's sibling, and from h up the two share them. The C twin is
    ///         merkle_meet_height (base/merkle.h).
    function meetHeight(uint256 a, uint256 b) internal pure returns (uint256 h) {
        assembly ("memory-safe") {
            for { let x := xor(a, b) } x { x := shr(1, x) } { h := add(h, 1) }
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

    /// @notice `r`, the leftmost node at height `from`, hashed up to height `to` beside zero
    ///         subtrees: at each height h the sibling is Z(h) (z[h]), on the right. Requires
    ///         to <= ZEROS.
    function zeroPadded(bytes32 r, uint256 from, uint256 to, bytes32[ZEROS] memory z) internal pure returns (bytes32) {
        assembly ("memory-safe") {
            let end := add(z, shl(5, to))
            for { let p := add(z, shl(5, from)) } lt(p, end) { p := add(p, 0x20) } {
                mstore(0x00, r)
                mstore(0x20, mload(p))
                r := keccak256(0x00, 0x40)
            }
        }
        return r;
    }

    /// @notice The tensor root of a tensor of at most 32 bytes, `w` its bytes zero-padded: the
    ///         depth-23 root with `w` as leaf 0 and every other leaf zero (unrolled over the
    ///         constants: about 60 gas a level).
    function wordTensorRoot(bytes32 w) internal pure returns (bytes32 r) {
        r = parent(w, 0);
        r = parent(r, Z1);
        r = parent(r, Z2);
        r = parent(r, Z3);
        r = parent(r, Z4);
        r = parent(r, Z5);
        r = parent(r, Z6);
        r = parent(r, Z7);
        r = parent(r, Z8);
        r = parent(r, Z9);
        r = parent(r, Z10);
        r = parent(r, Z11);
        r = parent(r, Z12);
        r = parent(r, Z13);
        r = parent(r, Z14);
        r = parent(r, Z15);
        r = parent(r, Z16);
        r = parent(r, Z17);
        r = parent(r, Z18);
        r = parent(r, Z19);
        r = parent(r, Z20);
        r = parent(r, Z21);
        r = parent(r, Z22);
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
