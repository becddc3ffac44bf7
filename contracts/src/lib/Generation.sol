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

/// @dev The siblings of a leaf of a tokens tensor: its depth, Merkle.SLOT_DEPTH (a literal, for
///      array lengths and assembly).
uint256 constant SLOT_SIBLINGS = 23;

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

    /// @notice The tokens roots of a token step's opening (docs/generation.md, "Opening a token
    ///         step"), in one walk up the 23 levels of a tokens tensor. Leaf l = t / 8 of
    ///         tokensRoot_t is `tokenLeaf`; its siblings are `tokenPath` at the heights h where bit
    ///         h of l is 1 (subtrees of earlier ids), leaf level first, and Z(h) where it is 0 (ids
    ///         after t are zero). tokensRoot_{t+1} has id t + 1 = `next` (its 4 bytes first in the
    ///         word) written into leaf n = (t + 1) / 8 (x_t's leaf, or a new one) and the same
    ///         siblings, but where n's path meets l's (n = l + 1) and below. `nextSiblings` (memory,
    ///         23 words) receives tokensRoot_{t+1}'s siblings of leaf n (promptRootFrom takes the
    ///         earlier ones). ok is false when tokenPath has not exactly one sibling per 1 bit of l.
    ///         Requires t + 1 < 2^26 (a tensor's ids: the registry bounds ctx so); `z` is
    ///         Merkle.zeros().
    function tokenRoots(
        bytes32 tokenLeaf,
        uint256 t,
        bytes32 next,
        bytes32[] calldata tokenPath,
        bytes32[SLOT_SIBLINGS] memory nextSiblings,
        bytes32[ZEROS] memory z
    ) internal pure returns (bytes32 root, bytes32 nextRoot, bool ok) {
        uint256 slotNext = (t + 1) % IDS_PER_LEAF;
        nextRoot = slotNext == 0 ? next & bytes32(TOP4) : withSlot(tokenLeaf, slotNext, next);
        root = tokenLeaf;
        uint256 h; // the height from which both paths are the leftmost, beside zero subtrees only
        assembly ("memory-safe") {
            let l := shr(3, t)
            let n := shr(3, add(t, 1))
            let tp := tokenPath.offset
            let zp := z
            // n >= l: once n is 0 so is l
            for {} n {} {
                // l's sibling: an earlier subtree from the path, or a zero one
                let sib := mload(zp)
                if and(l, 1) {
                    sib := calldataload(tp)
                    tp := add(tp, 0x20)
                }
                // n's: l's own node where the two are siblings, else l's sibling on a 1 bit, zero on a 0 bit
                let nsib := mload(zp)
                if and(n, 1) {
                    nsib := sib
                    if eq(xor(n, 1), l) { nsib := root }
                }
                mstore(add(nextSiblings, sub(zp, z)), nsib)
                mstore(shl(5, and(l, 1)), root)
                mstore(shl(5, iszero(and(l, 1))), sib)
                root := keccak256(0x00, 0x40)
                mstore(shl(5, and(n, 1)), nextRoot)
                mstore(shl(5, iszero(and(n, 1))), nsib)
                nextRoot := keccak256(0x00, 0x40)
                l := shr(1, l)
                n := shr(1, n)
                zp := add(zp, 0x20)
            }
            ok := eq(tp, add(tokenPath.offset, shl(5, tokenPath.length)))
            h := shr(5, sub(zp, z))
        }
        root = Merkle.zeroPadded(root, h, SLOT_SIBLINGS, z);
        nextRoot = Merkle.zeroPadded(nextRoot, h, SLOT_SIBLINGS, z);
    }

    /// @notice The prompt's root implied by its leaf n = (t + 1) / 8 `promptLeaf` at a prompt step:
    ///         its siblings where bit h of n is 1 are tokensRoot_{t+1}'s (`nextSiblings` of
    ///         tokenRoots: earlier ids, all prompt ids), where it is 0 the next of `promptPath`
    ///         (later prompt ids, leaf level first; Z(h) once it is used up). ok is false when
    ///         promptPath has more than the 0 bits of n use.
    function promptRootFrom(
        bytes32 promptLeaf,
        uint256 t,
        bytes32[] calldata promptPath,
        bytes32[SLOT_SIBLINGS] memory nextSiblings,
        bytes32[ZEROS] memory z
    ) internal pure returns (bytes32 r, bool ok) {
        uint256 h; // the height from which the path is the leftmost, beside zero subtrees only
        assembly ("memory-safe") {
            let n := shr(3, add(t, 1))
            let pp := promptPath.offset
            let pend := add(pp, shl(5, promptPath.length))
            let sp := nextSiblings
            r := promptLeaf
            let zp := z
            let end := add(z, shl(5, SLOT_SIBLINGS))
            for {} and(lt(zp, end), or(n, lt(pp, pend))) {
                zp := add(zp, 0x20)
                sp := add(sp, 0x20)
                n := shr(1, n)
            } {
                switch and(n, 1)
                case 1 {
                    mstore(0x00, mload(sp))
                    mstore(0x20, r)
                }
                default {
                    let s := mload(zp)
                    if lt(pp, pend) {
                        s := calldataload(pp)
                        pp := add(pp, 0x20)
                    }
                    mstore(0x00, r)
                    mstore(0x20, s)
                }
                r := keccak256(0x00, 0x40)
            }
            ok := eq(pp, pend)
            h := shr(5, sub(zp, z))
        }
        r = Merkle.zeroPadded(r, h, SLOT_SIBLINGS, z);
    }

    /// @notice The step graph's State_n implied by openStep's state path (docs/generation.md): at
    ///         a prompt step (!sampled) the kv subtree's D - c siblings (from height c up); at a
    ///         generated step the kv subtree's siblings from height c up to m - 2, then the sampled
    ///         token leaf's from height 0 up to m - 2, then their common ones from height m up (m
    ///         = Merkle.meetHeight(kvValue, outputValue), where the kv subtree (node kvValue >> c
    ///         at height c) and the sampled token's leaf meet: the registry aligns kvValue to 2^c
    ///         and keeps outputValue out of the cache outputs, so m > c; the two paths' nodes at
    ///         m - 1 are each other's siblings), D + m - c - 2
    ///         in all. ok is false for another count. Requires c < D (the registry's layout).
    function stateNFrom(
        bytes32 kvRoot,
        bytes32 sampledRoot,
        bool sampled,
        uint256 kvValue,
        uint256 c,
        uint256 outputValue,
        uint256 depth,
        bytes32[] calldata path
    ) internal pure returns (bytes32 r, bool ok) {
        // the kv side is walked up to height top; the sampled side takes it as its sibling there
        uint256 top = sampled ? Merkle.meetHeight(kvValue, outputValue) - 1 : depth;
        if (path.length != (sampled ? depth + top - 1 : depth) - c) return (0, false);
        assembly ("memory-safe") {
            let p := path.offset
            let idx := shr(c, kvValue)
            r := kvRoot
            for { let h := c } lt(h, top) { h := add(h, 1) } {
                let b := and(idx, 1)
                mstore(shl(5, b), r)
                mstore(shl(5, xor(b, 1)), calldataload(p))
                r := keccak256(0x00, 0x40)
                p := add(p, 0x20)
                idx := shr(1, idx)
            }
            if sampled {
                let kvSide := r
                r := sampledRoot
                idx := outputValue
                for { let h := 0 } lt(h, depth) { h := add(h, 1) } {
                    let s := kvSide
                    if iszero(eq(h, top)) {
                        s := calldataload(p)
                        p := add(p, 0x20)
                    }
                    let b := and(idx, 1)
                    mstore(shl(5, b), r)
                    mstore(shl(5, xor(b, 1)), s)
                    r := keccak256(0x00, 0x40)
                    idx := shr(1, idx)
                }
            }
        }
        ok = true;
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
            r = Merkle.parent(kvRoot, Merkle.zeroPadded(r, 2, c, z));
            h = c + 1;
        }
        return Merkle.zeroPadded(r, h, depth, z);
    }
}
