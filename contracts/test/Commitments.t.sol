// SPDX-License-Identifier: MIT
// Commitments.t.sol: the Solidity commitments (Merkle.sol, Commitments.sol) against the C side's
// vectors (tests/vectors/commitments.json, written by tests/vectors/commitments_gen.c): Keccak,
// zero roots, Merkle roots and proofs, tensor roots of calldata and memory bytes, graph states,
// node leaves, nodes and model roots, and the VM initial state the dispute game builds.
pragma solidity ^0.8.28;

import {Vectors} from "./lib/Vectors.sol";
import {Merkle, ZEROS} from "../src/lib/Merkle.sol";
import {Commitments} from "../src/lib/Commitments.sol";

/// External wrappers, so the calldata variants run on real calldata.
contract MerkleHarness {
    function tensorRoot(bytes calldata data) external pure returns (bytes32) {
        return Merkle.tensorRoot(data);
    }

    function rootFromPath(bytes32 leaf, uint256 index, bytes32[] calldata siblings) external pure returns (bytes32) {
        return Merkle.rootFromPath(leaf, index, siblings);
    }

    function rootFromPacked(bytes32 leaf, uint256 index, bytes calldata siblings) external pure returns (bytes32 r) {
        uint256 off;
        assembly {
            off := siblings.offset
        }
        return Merkle.rootFromPacked(leaf, index, off, siblings.length / 32);
    }
}

contract CommitmentsTest is Vectors {
    MerkleHarness h;

    function setUp() public {
        json = vm.readFile("../tests/vectors/commitments.json");
        h = new MerkleHarness();
    }

    function test_keccak() public view {
        uint256 c = _count("keccak");
        assertTrue(c > 5, "keccak vectors present");
        for (uint256 i = 0; i < c; i++) {
            bytes memory data = vm.parseJsonBytes(json, _at("keccak", i, "data"));
            assertEq(keccak256(data), vm.parseJsonBytes32(json, _at("keccak", i, "hash")), "keccak256");
        }
    }

    function test_zero_roots() public view {
        bytes32[] memory z = vm.parseJsonBytes32Array(json, ".zero");
        assertEq(z.length, 28, "Z(0..27)");
        for (uint256 i = 0; i < z.length; i++) assertEq(Merkle.zero(i), z[i], "zero root");
        // the constant table, past the vectors too: each entry the hash of the one before
        bytes32[ZEROS] memory t = Merkle.zeros();
        assertEq(t[0], bytes32(0), "Z(0)");
        for (uint256 i = 1; i < ZEROS; i++) {
            assertEq(t[i], keccak256(abi.encodePacked(t[i - 1], t[i - 1])), "Z(h) = H(Z(h-1), Z(h-1))");
            if (i < z.length) assertEq(t[i], z[i], "the table's zero root");
        }
        // a tensor of one word, by the unrolled constants and by the generic tree
        bytes32[3] memory ws = [bytes32(0), bytes32(uint256(1) << 248), keccak256("w")];
        for (uint256 i = 0; i < ws.length; i++) {
            assertEq(Merkle.wordTensorRoot(ws[i]), Merkle.tensorRootMem(abi.encodePacked(ws[i])), "one word's tensor root");
        }
        bytes32 above = Merkle.zero(ZEROS); // past the table: hashed on
        assertEq(above, keccak256(abi.encodePacked(t[ZEROS - 1], t[ZEROS - 1])), "Z(36)");
        assertEq(Merkle.zero(ZEROS + 1), keccak256(abi.encodePacked(above, above)), "Z(37)");
        assertEq(Commitments.EMPTY_SLOT, z[23], "empty slot constant");
    }

    function _leaves(bytes memory data) internal pure returns (bytes32[] memory l) {
        l = new bytes32[]((data.length + 31) / 32);
        for (uint256 i = 0; i < data.length; i++) l[i / 32] |= bytes32(uint256(uint8(data[i])) << (8 * (31 - (i % 32))));
    }

    function test_merkle_roots_and_proofs() public view {
        uint256 c = _count("merkle");
        assertTrue(c > 5, "merkle vectors present");
        for (uint256 i = 0; i < c; i++) {
            bytes memory data = vm.parseJsonBytes(json, _at("merkle", i, "data"));
            uint256 depth = vm.parseJsonUint(json, _at("merkle", i, "depth"));
            bytes32 root = vm.parseJsonBytes32(json, _at("merkle", i, "root"));
            assertEq(Merkle.rootOfLeaves(_leaves(data), depth), root, "root of data");
            for (uint256 p = 0; p < 4; p++) {
                string memory at = string.concat(_at("merkle", i, "proofs"), "[", vm.toString(p), "]");
                uint256 idx = vm.parseJsonUint(json, string.concat(at, ".index"));
                bytes32 leaf = vm.parseJsonBytes32(json, string.concat(at, ".leaf"));
                bytes32[] memory sib = depth == 0 ? new bytes32[](0) : vm.parseJsonBytes32Array(json, string.concat(at, ".siblings"));
                assertEq(sib.length, depth, "proof depth");
                assertEq(h.rootFromPath(leaf, idx, sib), root, "proof verifies");
                assertEq(h.rootFromPacked(leaf, idx, abi.encodePacked(sib)), root, "packed proof verifies");
                if (depth > 0) {
                    sib[depth - 1] ^= bytes32(uint256(1));
                    assertTrue(h.rootFromPath(leaf, idx, sib) != root, "a changed sibling fails");
                }
            }
        }
    }

    /// zeroPadded: the leftmost node at a height hashed up beside zero subtrees is the root of the
    /// tree whose only data is that node's.
    function test_zero_padded() public pure {
        uint256 depth = 10;
        for (uint256 from = 0; from <= depth; from++) {
            bytes32[] memory leaves = new bytes32[](1 << depth);
            for (uint256 i = 0; i < (uint256(1) << from); i++) leaves[i] = keccak256(abi.encode(from, i));
            bytes32 node = Merkle.rootOfLeaves(_copy(leaves), depth);
            bytes32[] memory low = new bytes32[](uint256(1) << from);
            for (uint256 i = 0; i < low.length; i++) low[i] = leaves[i];
            assertEq(Merkle.zeroPadded(Merkle.rootOfLeaves(low, from), from, depth, Merkle.zeros()), node, "padded to the root");
        }
        assertEq(Merkle.zeroPadded(0, 0, depth, Merkle.zeros()), Merkle.zero(depth), "all zero");
    }

    /// meetHeight: the lowest h with a >> h == b >> h, the definition merkle_meet_height (C) has,
    /// for every pair of leaves of a depth-6 tree and at the word's top bit.
    /// forge-config: default.fuzz.runs = 16
    function testFuzz_meet_height(uint256 a, uint256 b) public pure {
        for (uint256 x = 0; x < 64; x++) {
            for (uint256 y = 0; y < 64; y++) {
                uint256 h = 0;
                while (x >> h != y >> h) h++;
                assertEq(Merkle.meetHeight(x, y), h, "meet height of two leaves");
            }
        }
        uint256 m = 0;
        while (m < 256 && a >> m != b >> m) m++;
        assertEq(Merkle.meetHeight(a, b), m, "meet height of any two words");
        assertEq(Merkle.meetHeight(0, 1 << 255), 256, "the top bit");
    }

    function _copy(bytes32[] memory a) internal pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length);
        for (uint256 i = 0; i < a.length; i++) b[i] = a[i];
    }

    function test_tensor_roots() public view {
        uint256 c = _count("tensor");
        assertTrue(c > 5, "tensor vectors present");
        for (uint256 i = 0; i < c; i++) {
            bytes memory data = vm.parseJsonBytes(json, _at("tensor", i, "data"));
            bytes32 root = vm.parseJsonBytes32(json, _at("tensor", i, "root"));
            assertEq(h.tensorRoot(data), root, "tensor root of calldata");
            assertEq(Merkle.tensorRootMem(data), root, "tensor root of memory");
        }
    }

    function test_graph_states() public view {
        uint256 nin = vm.parseJsonUint(json, ".graph.nin");
        uint256 n = vm.parseJsonUint(json, ".graph.n");
        uint256 depth = vm.parseJsonUint(json, ".graph.depth");
        assertEq(Merkle.depthFor(nin + n), depth, "state depth");
        bytes32[] memory values = vm.parseJsonBytes32Array(json, ".graph.values");
        bytes32[] memory states = vm.parseJsonBytes32Array(json, ".graph.states");
        for (uint256 s = 0; s <= n; s++) {
            bytes32[] memory l = new bytes32[](nin + s);
            for (uint256 i = 0; i < l.length; i++) l[i] = values[i];
            assertEq(Merkle.rootOfLeaves(l, depth), states[s], "State_s");
        }
    }

    function test_node_leaves_and_model_roots() public view {
        uint256 c = _count("node_leaf");
        bytes32[] memory leaves = new bytes32[](c);
        for (uint256 k = 0; k < c; k++) {
            bytes32[] memory r = vm.parseJsonBytes32Array(json, _at("node_leaf", k, "refs"));
            bytes32[12] memory refs;
            for (uint256 j = 0; j < 12; j++) refs[j] = r[j];
            leaves[k] = Commitments.nodeLeaf(
                vm.parseJsonBytes32(json, _at("node_leaf", k, "desc_root")),
                uint16(vm.parseJsonUint(json, _at("node_leaf", k, "mask"))),
                refs
            );
            assertEq(leaves[k], vm.parseJsonBytes32(json, _at("node_leaf", k, "leaf")), "node leaf");
        }
        assertEq(Merkle.depthFor(c), vm.parseJsonUint(json, ".nodes_root.depth"), "nodes depth");
        assertEq(Merkle.rootOfLeaves(leaves, Merkle.depthFor(c)), vm.parseJsonBytes32(json, ".nodes_root.root"), "nodes root");
        uint256 mc = _count("model_root");
        assertTrue(mc >= 3, "model root vectors present");
        for (uint256 i = 0; i < mc; i++) {
            uint32 nin = uint32(vm.parseJsonUint(json, _at("model_root", i, "nin")));
            uint32 n = uint32(vm.parseJsonUint(json, _at("model_root", i, "n")));
            uint8 d = uint8(vm.parseJsonUint(json, _at("model_root", i, "depth")));
            assertEq(Merkle.depthFor(uint256(nin) + n), d, "state depth");
            uint256[] memory ib = vm.parseJsonUintArray(json, _at("model_root", i, "input_bytes"));
            assertEq(ib.length, nin, "one byte length per input");
            uint32[] memory inputBytes = new uint32[](ib.length);
            for (uint256 j = 0; j < ib.length; j++) inputBytes[j] = uint32(ib[j]);
            bytes32 root = Commitments.modelRoot(
                vm.parseJsonBytes32(json, _at("model_root", i, "nodes_root")),
                nin,
                n,
                uint32(vm.parseJsonUint(json, _at("model_root", i, "output_value"))),
                d,
                uint32(vm.parseJsonUint(json, _at("model_root", i, "output_bytes"))),
                inputBytes
            );
            assertEq(root, vm.parseJsonBytes32(json, _at("model_root", i, "root")), "model root");
        }
    }

    function test_vm_initial_state() public view {
        uint256 c = _count("vm_initial");
        assertTrue(c >= 2, "vm initial vectors present");
        for (uint256 i = 0; i < c; i++) {
            bytes32[] memory o = vm.parseJsonBytes32Array(json, _at("vm_initial", i, "operands"));
            bytes32[12] memory ops;
            for (uint256 j = 0; j < 12; j++) ops[j] = o[j];
            bytes32 hsh = Commitments.vmInitialState(
                vm.parseJsonBytes32(json, _at("vm_initial", i, "guest_root")),
                vm.parseJsonBytes32(json, _at("vm_initial", i, "desc_root")),
                ops
            );
            assertEq(hsh, vm.parseJsonBytes32(json, _at("vm_initial", i, "hash")), "initial state hash");
            assertEq(keccak256(vm.parseJsonBytes(json, _at("vm_initial", i, "state"))), hsh, "hash of the packed state");
        }
    }
}
