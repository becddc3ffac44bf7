// SPDX-License-Identifier: MIT
// Generation.sol: the generation commitments of docs/generation.md that the contracts compute (the
// C side: numerics/model/generation.c; shared vectors tests/vectors/generation.json, checked by
// test/Generation.t.sol): token ids as int32 little-endian bytes, the generation state
// G_t = keccak256(tokensRoot_t ++ kvRoot_t), kvRoot_0, the sampler input of a step and the step
// graph's State_0 built from G_t's kv root and the step's token, position and sampler inputs.
//
// Words: a 32-byte Merkle leaf is a bytes32 whose first byte is the data's first byte, so the
// 4 little-endian bytes of token i of a leaf sit at bits 255 - 32 (i mod 8) down (`TOP4 >> 32 i`).
pragma solidity ^0.8.28;

import {Merkle, ZEROS} from "./Merkle.sol";

library Generation {
    /// @notice splitmix64's increment (docs/numerics.md, "Sampling").
    uint64 internal constant GOLDEN = 0x9E3779B97F4A7C15;
    /// @notice A request's stop token that never stops the generation.
    uint32 internal constant NO_STOP = type(uint32).max;
    /// @notice Token ids per 32-byte leaf of a tokens tensor.
    uint256 internal constant IDS_PER_LEAF = 8;
    /// @dev The first 4 bytes of a word.
    uint256 internal constant TOP4 = uint256(0xffffffff) << 224;

    /// @notice G = keccak256(tokensRoot ++ kvRoot).
    function state(bytes32 tokensRoot, bytes32 kvRoot) internal pure returns (bytes32) {
        return Merkle.parent(tokensRoot, kvRoot);
    }

    /// @notice G_0 of a prompt whose first token's 4 bytes start `first` (the rest ignored):
    ///         tokensRoot_0 is that one id's tensor root, kvRoot_0 = Z(23 + c) (every cache zero,
    ///         and so every pad leaf: docs/generation.md).
    function state0(bytes32 first, uint256 c) internal pure returns (bytes32) {
        return state(Merkle.wordTensorRoot(first & bytes32(TOP4)), Merkle.zero(Merkle.SLOT_DEPTH + c));
    }

    /// @notice The 4 little-endian bytes of id `v` as the first bytes of a word.
    function le32(uint32 v) internal pure returns (bytes32 w) {
        uint256 x = v;
        x = ((x & 0xff00ff00) >> 8) | ((x & 0x00ff00ff) << 8);
        x = (x >> 16) | ((x & 0xffff) << 16);
        w = bytes32(x << 224);
    }

    /// @notice The id whose 4 little-endian bytes start word `w`.
    function id(bytes32 w) internal pure returns (uint32) {
        uint256 x = uint256(w) >> 224;
        x = ((x & 0xff00ff00) >> 8) | ((x & 0x00ff00ff) << 8);
        return uint32((x >> 16) | ((x & 0xffff) << 16));
    }

    /// @notice Id i of int32 little-endian bytes `ids` (the caller checks i < ids.length / 4).
    function idAt(bytes calldata ids, uint256 i) internal pure returns (uint32) {
        bytes32 w;
        assembly ("memory-safe") {
            w := calldataload(add(ids.offset, shl(2, i)))
        }
        return id(w);
    }

    /// @notice The first id of `ids` that is `vocab` or more: its index, or ids.length / 4 if none.
    function firstOutOfVocab(bytes calldata ids, uint32 vocab) internal pure returns (uint256 i) {
        uint256 count = ids.length >> 2;
        for (; i < count; i++) {
            if (idAt(ids, i) >= vocab) return i;
        }
    }

    /// @notice Slot i (0..7) of a leaf word moved to the start of a word, the rest zero.
    function slot(bytes32 w, uint256 i) internal pure returns (bytes32) {
        return (w << (32 * i)) & bytes32(TOP4);
    }

    /// @notice Leaf word `w` with slot i (0..7) replaced by the first 4 bytes of `v`.
    function withSlot(bytes32 w, uint256 i, bytes32 v) internal pure returns (bytes32) {
        uint256 sh = 32 * i;
        return (w & ~bytes32(TOP4 >> sh)) | ((v & bytes32(TOP4)) >> sh);
    }

    /// @notice The tensor root implied by a leaf of a tokens tensor and its siblings, the ones not
    ///         given being zero roots (Merkle.rootFromZeroPadded at depth 23: a tokens tensor of
    ///         at most ctx ids has no data in the tree's upper levels, so its paths may stop at the
    ///         first height from which every sibling is Z(h)). Requires path.length <= 23.
    function tokensRootFrom(bytes32 leaf, uint256 index, bytes32[] calldata path, bytes32[ZEROS] memory z)
        internal
        pure
        returns (bytes32)
    {
        return Merkle.rootFromZeroPadded(leaf, index, path, Merkle.SLOT_DEPTH, z);
    }

    /// @notice The tokens roots before and after id t + 1 = `next` (its 4 bytes first in the word)
    ///         is appended (docs/generation.md, "Opening a token step"): `tokenLeaf` is leaf t / 8
    ///         of tokensRoot_t (x_t in slot t % 8) with its siblings `tokenPath` (tokensRootFrom);
    ///         id t + 1 goes into that leaf, or, when it starts leaf (t + 1) / 8 (zero in
    ///         tokensRoot_t), into that leaf, whose siblings are `writePath` (empty otherwise). ok
    ///         is false when a path is longer than 23, a write path is given or missing where it
    ///         must not or must be, or the two paths imply different roots.
    function append(
        bytes32 tokenLeaf,
        bytes32[] calldata tokenPath,
        bytes32[] calldata writePath,
        uint256 t,
        bytes32 next,
        bytes32[ZEROS] memory z
    ) internal pure returns (bytes32 root, bytes32 nextRoot, bool ok) {
        uint256 leaf = t / IDS_PER_LEAF;
        uint256 nextLeaf = (t + 1) / IDS_PER_LEAF;
        if (tokenPath.length > Merkle.SLOT_DEPTH) return (0, 0, false);
        root = tokensRootFrom(tokenLeaf, leaf, tokenPath, z);
        if (nextLeaf == leaf) {
            if (writePath.length != 0) return (root, 0, false);
            return (root, tokensRootFrom(withSlot(tokenLeaf, (t + 1) % IDS_PER_LEAF, next), leaf, tokenPath, z), true);
        }
        if (writePath.length == 0 || writePath.length > Merkle.SLOT_DEPTH || tokensRootFrom(0, nextLeaf, writePath, z) != root) {
            return (root, 0, false);
        }
        return (root, tokensRootFrom(next & bytes32(TOP4), nextLeaf, writePath, z), true);
    }

    /// @notice The splitmix64 state before the draw of step t (seed + (t + 1 - P) * GOLDEN mod
    ///         2^64; for t + 1 < P the step samples nothing that is used, and the same formula
    ///         wraps).
    function drawState(uint64 seed, uint256 t, uint256 promptLength) internal pure returns (uint64 s) {
        unchecked {
            s = seed + uint64(t + 1 - promptLength) * GOLDEN;
        }
    }

    /// @notice The sampler input of step t, 20 bytes as a word: the draw state (u64), temperature,
    ///         top-k and top-p (u32 each, binary32 bits for the floats), all little-endian.
    function samplerWord(uint64 drawState_, uint32 temperature, uint32 topK, uint32 topP) internal pure returns (bytes32) {
        uint256 s = drawState_;
        // byte-swap the u64: its low byte first
        s = ((s & 0xff00ff00ff00ff00) >> 8) | ((s & 0x00ff00ff00ff00ff) << 8);
        s = ((s & 0xffff0000ffff0000) >> 16) | ((s & 0x0000ffff0000ffff) << 16);
        s = (s >> 32) | ((s & 0xffffffff) << 32);
        return bytes32(s << 192) | (le32(temperature) >> 64) | (le32(topK) >> 96) | (le32(topP) >> 128);
    }

    /// @notice The step graph's State_0 (docs/generation.md): the depth-D tree whose leaves
    ///         [0, 2^c) are the caches and pads (their subtree's root is kvRoot), leaves 2^c,
    ///         2^c + 1 and 2^c + 2 the token, position and sampler inputs' tensor roots, zero after.
    ///         Requires c >= 1 and c < D <= ZEROS (the registry's layout: nin = 2^c + 3, at most
    ///         2^25 values); `z` is Merkle.zeros().
    function stepState0(
        bytes32 kvRoot,
        uint256 c,
        bytes32 tokenRoot,
        bytes32 posRoot,
        bytes32 samplerRoot,
        uint256 depth,
        bytes32[ZEROS] memory z
    ) internal pure returns (bytes32 r) {
        uint256 h;
        if (c == 1) {
            // leaves 2, 3 beside the kv pair; leaf 4 in the next quarter
            r = Merkle.parent(
                Merkle.parent(kvRoot, Merkle.parent(tokenRoot, posRoot)), Merkle.parent(Merkle.parent(samplerRoot, 0), z[1])
            );
            h = 3;
        } else {
            // the three leaves start the right half of a 2^(c+1) block, as one height-2 subtree
            r = Merkle.parent(Merkle.parent(tokenRoot, posRoot), Merkle.parent(samplerRoot, 0));
            r = Merkle.parent(kvRoot, Merkle.zeroPadded(r, 0, 2, c, z));
            h = c + 1;
        }
        return Merkle.zeroPadded(r, 0, h, depth, z);
    }
}
