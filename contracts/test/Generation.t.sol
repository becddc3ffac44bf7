// SPDX-License-Identifier: MIT
// Generation.t.sol: the Solidity generation commitments (lib/Generation.sol, Commitments.sol's
// generation root, ModelRegistry.registerGeneration's layout rules) against the C side's vectors
// (tests/vectors/generation.json, written by tests/vectors/generation_gen.c from
// numerics/model/generation.c): generation roots, tokens roots, kv roots with pad caches, G and
// G_0, the token pieces of openStep (tokens roots, the prompt's proof) and its state paths, the
// sampler input of a step, the step graph's State_0 built from kvRoot (C builds it from every
// input leaf) and the layout a registry accepts.
pragma solidity ^0.8.28;

import {GameFixture} from "./lib/GameFixture.sol";
import {Vectors} from "./lib/Vectors.sol";
import {Merkle, ZEROS} from "../src/lib/Merkle.sol";
import {Generation, SLOT_SIBLINGS} from "../src/lib/Generation.sol";
import {Commitments} from "../src/lib/Commitments.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";

/// External wrappers, so the calldata variants run on real calldata.
contract GenerationHarness {
    function tokenRoots(bytes32 tokenLeaf, uint256 t, bytes32 next, bytes32[] calldata tokenPath)
        external
        pure
        returns (bytes32 root, bytes32 nextRoot, bool ok)
    {
        bytes32[SLOT_SIBLINGS] memory sib;
        return Generation.tokenRoots(tokenLeaf, t, next, tokenPath, sib, Merkle.zeros());
    }

    /// tokensRoot_{t+1} and the prompt's root at a prompt step.
    function promptRoots(bytes32 tokenLeaf, uint256 t, bytes32[] calldata tokenPath, bytes32 promptLeaf, bytes32[] calldata promptPath)
        external
        pure
        returns (bytes32 nextRoot, bytes32 promptRoot, bool ok)
    {
        bytes32[SLOT_SIBLINGS] memory sib;
        bytes32[ZEROS] memory z = Merkle.zeros();
        bool tokenOk;
        (, nextRoot, tokenOk) = Generation.tokenRoots(tokenLeaf, t, Generation.slot(promptLeaf, (t + 1) % 8), tokenPath, sib, z);
        (promptRoot, ok) = Generation.promptRootFrom(promptLeaf, t, promptPath, sib, z);
        ok = ok && tokenOk;
    }

    /// `layout`: kvValue, c, outputValue, D.
    function stateNFrom(bytes32 kvRoot, bytes32 sampledRoot, bool sampled, uint256[4] calldata layout, bytes32[] calldata path)
        external
        pure
        returns (bytes32, bool)
    {
        return Generation.stateNFrom(kvRoot, sampledRoot, sampled, layout[0], layout[1], layout[2], layout[3], path);
    }

    function firstOutOfVocab(bytes calldata ids, uint32 vocab) external pure returns (uint256) {
        return Generation.firstOutOfVocab(ids, vocab);
    }

    function state0(bytes calldata prompt, uint256 c) external pure returns (bytes32 w) {
        assembly {
            w := calldataload(prompt.offset)
        }
        return Generation.state0(w, c);
    }
}

contract GenerationTest is Vectors, GameFixture {
    GenerationHarness h;

    function setUp() public {
        json = vm.readFile("../tests/vectors/generation.json");
        h = new GenerationHarness();
        _deploy();
    }

    function _u(string memory arr, uint256 i, string memory f) internal view returns (uint256) {
        return vm.parseJsonUint(json, _at(arr, i, f));
    }

    function _b32(string memory arr, uint256 i, string memory f) internal view returns (bytes32) {
        return vm.parseJsonBytes32(json, _at(arr, i, f));
    }

    function _b32s(string memory arr, uint256 i, string memory f) internal view returns (bytes32[] memory) {
        return vm.parseJsonBytes32Array(json, _at(arr, i, f));
    }

    function _ids(uint256[] memory ids) internal pure returns (bytes memory b) {
        b = new bytes(4 * ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            for (uint256 j = 0; j < 4; j++) b[4 * i + j] = bytes1(uint8(ids[i] >> (8 * j)));
        }
    }

    function test_generation_roots() public view {
        uint256 c = _count("roots");
        assertTrue(c >= 3, "vectors present");
        for (uint256 i = 0; i < c; i++) {
            bytes32 r = Commitments.generationRoot(
                _b32("roots", i, "step_root"),
                uint32(_u("roots", i, "vocab")),
                uint32(_u("roots", i, "ctx")),
                uint32(_u("roots", i, "layers")),
                uint32(_u("roots", i, "kv_value"))
            );
            assertEq(r, _b32("roots", i, "root"), "generation root");
        }
    }

    function test_tokens_roots_and_ids() public view {
        uint256 c = _count("tokens");
        assertTrue(c >= 5, "vectors present");
        for (uint256 i = 0; i < c; i++) {
            uint256[] memory ids = vm.parseJsonUintArray(json, _at("tokens", i, "ids"));
            bytes memory b = _ids(ids);
            assertEq(Merkle.tensorRootMem(b), _b32("tokens", i, "root"), "tokens root");
            for (uint256 k = 0; k < ids.length; k++) {
                assertEq(Generation.id(Generation.slot(_word(b, k / 8), k % 8)), ids[k], "id from its leaf");
                assertEq(Generation.le32(uint32(ids[k])), _word4(b, k), "le32");
            }
            assertEq(h.firstOutOfVocab(b, type(uint32).max), ids.length, "all in a huge vocabulary");
            assertEq(h.firstOutOfVocab(b, uint32(ids[0])), 0, "the first id is not below itself");
        }
    }

    function _word(bytes memory b, uint256 leaf) internal pure returns (bytes32 w) {
        for (uint256 i = 0; i < 32 && 32 * leaf + i < b.length; i++) w |= bytes32(b[32 * leaf + i]) >> (8 * i);
    }

    function _word4(bytes memory b, uint256 k) internal pure returns (bytes32 w) {
        for (uint256 i = 0; i < 4; i++) w |= bytes32(b[4 * k + i]) >> (8 * i);
    }

    function _kvRoot(bytes32[] memory caches, uint256 c) internal pure returns (bytes32) {
        bytes32[] memory l = new bytes32[](uint256(1) << c);
        for (uint256 i = 0; i < l.length; i++) l[i] = i < caches.length ? caches[i] : Commitments.EMPTY_SLOT;
        return Merkle.rootOfLeaves(l, c);
    }

    function test_kv_roots_and_states() public view {
        uint256 c = _count("kv");
        assertEq(c, 5, "L = 1 .. 5");
        for (uint256 i = 0; i < c; i++) {
            uint256 layers = _u("kv", i, "layers");
            uint256 kvH = Merkle.depthFor(2 * layers);
            bytes32[] memory caches = vm.parseJsonBytes32Array(json, _at("kv", i, "caches"));
            assertEq(_kvRoot(caches, kvH), _b32("kv", i, "kv_root"), "kv root, Z(23) pads");
            assertEq(
                Generation.state(_b32("kv", i, "tokens_root"), _b32("kv", i, "kv_root")), _b32("kv", i, "g"), "G"
            );
            uint256[] memory first = new uint256[](1);
            first[0] = _u("kv", i, "first");
            assertEq(h.state0(_ids(first), kvH), _b32("kv", i, "g0"), "G_0 as requestGeneration computes it");
            bytes32[] memory zero = new bytes32[](0);
            assertEq(_kvRoot(zero, kvH), Merkle.zero(23 + kvH), "kvRoot_0 = Z(23 + c)");
        }
    }

    function test_token_root_updates() public view {
        uint256 c = _count("append");
        assertTrue(c >= 6, "vectors present");
        uint256 crossed;
        for (uint256 i = 0; i < c; i++) {
            uint256 t = _u("append", i, "t");
            bytes32[] memory tp = _b32s("append", i, "token_path");
            bytes32 leaf = _b32("append", i, "token_leaf");
            bytes32 next = Generation.le32(uint32(_u("append", i, "next")));
            if (_u("append", i, "cross") == 1) crossed++;
            (bytes32 root, bytes32 nextRoot, bool ok) = h.tokenRoots(leaf, t, next, tp);
            assertTrue(ok, "one sibling per earlier subtree");
            assertEq(root, _b32("append", i, "root"), "tokensRoot_t");
            assertEq(nextRoot, _b32("append", i, "next_root"), "tokensRoot_{t+1}");
            (, bytes32 other,) = h.tokenRoots(leaf, t, Generation.le32(uint32(_u("append", i, "next")) + 1), tp);
            assertTrue(other != nextRoot, "another id, another root");
            bytes32[] memory longer = new bytes32[](tp.length + 1);
            (,, ok) = h.tokenRoots(leaf, t, next, longer);
            assertTrue(!ok, "a sibling too many");
        }
        assertTrue(crossed >= 2 && crossed < c, "both kinds of step");
    }

    function test_prompt_proofs() public view {
        uint256 c = _count("prompt");
        assertTrue(c >= 6, "vectors present");
        for (uint256 i = 0; i < c; i++) {
            uint256 t = _u("prompt", i, "t");
            uint256[] memory ids = vm.parseJsonUintArray(json, _at("prompt", i, "ids"));
            bytes32[] memory tp = _b32s("prompt", i, "token_path");
            bytes32[] memory pp = _b32s("prompt", i, "prompt_path");
            bytes32 pleaf = _b32("prompt", i, "prompt_leaf");
            bytes32 next = Generation.slot(pleaf, (t + 1) % 8);
            assertEq(uint256(Generation.id(next)), ids[t + 1], "x_{t+1} from the prompt's leaf");
            (bytes32 nextRoot, bytes32 promptRoot, bool ok) = h.promptRoots(_b32("prompt", i, "token_leaf"), t, tp, pleaf, pp);
            assertTrue(ok, "counts");
            assertEq(promptRoot, _b32("prompt", i, "prompt_root"), "the prompt's root");
            assertEq(promptRoot, Merkle.tensorRootMem(_ids(ids)), "the prompt's root, again");
            assertEq(nextRoot, _b32("prompt", i, "next_root"), "tokensRoot_{t+1}");
            (, bytes32 other,) = h.promptRoots(_b32("prompt", i, "token_leaf"), t, tp, pleaf ^ bytes32(uint256(1)), pp);
            assertTrue(other != promptRoot, "another leaf, another root");
        }
    }

    function test_state_paths() public view {
        uint256 c = _count("state_path");
        assertTrue(c >= 4, "vectors present");
        uint256 shared;
        for (uint256 i = 0; i < c; i++) {
            uint256[4] memory layout = [
                _u("state_path", i, "kv_value"), _u("state_path", i, "c"), _u("state_path", i, "output_value"), _u("state_path", i, "depth")
            ];
            uint256 m = Merkle.meetHeight(layout[0], layout[2]);
            assertEq(m, _u("state_path", i, "meet"), "meet height");
            if (m < layout[3]) shared++;
            bytes32 kv = _b32("state_path", i, "kv_root");
            bytes32 sampled = _b32("state_path", i, "sampled_root");
            bytes32 want = _b32("state_path", i, "state_n");
            bytes32[] memory kvOnly = _b32s("state_path", i, "prompt_path");
            (bytes32 r, bool ok) = h.stateNFrom(kv, sampled, false, layout, kvOnly);
            assertTrue(ok && r == want, "a prompt step's: the kv subtree's path");
            (r, ok) = h.stateNFrom(kv, sampled, true, layout, _b32s("state_path", i, "path"));
            assertTrue(ok && r == want, "a generated step's: both, sharing");
            (r, ok) = h.stateNFrom(kv, sampled ^ bytes32(uint256(1)), true, layout, _b32s("state_path", i, "path"));
            assertTrue(ok && r != want, "another sampled token, another State_n");
            (r, ok) = h.stateNFrom(kv, sampled, true, layout, kvOnly);
            assertTrue(!ok || r != want, "the kv subtree's path alone does not prove the sampled token");
        }
        assertTrue(shared >= 2 && shared < c, "paths that share siblings and paths that meet at the root");
    }

    function test_sampler_inputs() public view {
        uint256 c = _count("sampler");
        assertTrue(c >= 8, "vectors present");
        for (uint256 i = 0; i < c; i++) {
            uint64 d = Generation.drawState(
                uint64(_u("sampler", i, "seed")), _u("sampler", i, "t"), _u("sampler", i, "prompt_length")
            );
            assertEq(d, _u("sampler", i, "draw_state"), "draw state");
            bytes32 w = Generation.samplerWord(
                d,
                uint32(_u("sampler", i, "temperature")),
                uint32(_u("sampler", i, "top_k")),
                uint32(_u("sampler", i, "top_p"))
            );
            bytes memory in20 = vm.parseJsonBytes(json, _at("sampler", i, "input"));
            assertEq(in20.length, 20, "20 bytes");
            assertEq(w, _word(in20, 0), "sampler input bytes");
            assertEq(Merkle.wordTensorRoot(w), _b32("sampler", i, "root"), "its tensor root");
        }
    }

    function test_step_state0_from_kv_root() public view {
        uint256 c = _count("step_state0");
        assertEq(c, 5, "L = 1 .. 5");
        for (uint256 i = 0; i < c; i++) {
            uint256 kvH = Merkle.depthFor(2 * _u("step_state0", i, "layers"));
            bytes32[] memory inputs = vm.parseJsonBytes32Array(json, _at("step_state0", i, "inputs"));
            assertEq(inputs.length, (uint256(1) << kvH) + 3, "nin = 2^c + 3");
            bytes memory in20 = vm.parseJsonBytes(json, _at("step_state0", i, "sampler_input"));
            bytes32[ZEROS] memory z = Merkle.zeros();
            bytes32 tok = Merkle.wordTensorRoot(Generation.le32(uint32(_u("step_state0", i, "token"))));
            bytes32 pos = Merkle.wordTensorRoot(Generation.le32(uint32(_u("step_state0", i, "t"))));
            bytes32 smp = Merkle.wordTensorRoot(_word(in20, 0));
            uint256 kv = uint256(1) << kvH;
            assertEq(tok, inputs[kv], "token root");
            assertEq(pos, inputs[kv + 1], "pos root");
            assertEq(smp, inputs[kv + 2], "sampler root");
            bytes32 s0 = Generation.stepState0(
                _b32("step_state0", i, "kv_root"), kvH, tok, pos, smp, _u("step_state0", i, "depth"), z
            );
            assertEq(s0, _b32("step_state0", i, "state0"), "State_0 from kvRoot and three leaves");
        }
    }

    function test_layouts_the_registry_accepts() public {
        uint256 c = _count("layout");
        assertTrue(c >= 10, "vectors present");
        uint256 refused;
        for (uint256 i = 0; i < c; i++) {
            uint256[] memory ib = vm.parseJsonUintArray(json, _at("layout", i, "input_bytes"));
            uint32[] memory inputBytes = new uint32[](ib.length);
            for (uint256 k = 0; k < ib.length; k++) inputBytes[k] = uint32(ib[k]);
            ModelRegistry.ModelSpec memory s = _modelSpec(
                keccak256("nodes"),
                uint32(_u("layout", i, "nin")),
                uint32(_u("layout", i, "n")),
                uint32(_u("layout", i, "output_value")),
                inputBytes,
                ""
            );
            s.outputBytes = uint32(_u("layout", i, "output_bytes"));
            s.k = 4;
            s.stepsLog2 = 20;
            ModelRegistry.GenerationSpec memory g = ModelRegistry.GenerationSpec({
                vocab: uint32(_u("layout", i, "vocab")),
                ctx: uint32(_u("layout", i, "ctx")),
                layers: uint32(_u("layout", i, "layers")),
                kvValue: uint32(_u("layout", i, "kv_value"))
            });
            string memory want = vm.parseJsonString(json, _at("layout", i, "error"));
            (bool ok, bytes memory ret) = address(reg).call(abi.encodeCall(ModelRegistry.registerGeneration, (s, g)));
            if (bytes(want).length == 0) {
                assertTrue(ok, "a layout C accepts is registered");
            } else {
                assertTrue(!ok && ret.length >= 4, "a layout C refuses is refused");
                assertEq(bytes32(bytes4(ret)), bytes32(_selector(want)), string.concat("the same reason: ", want));
                refused++;
            }
        }
        assertTrue(refused >= 10, "every rule broken once");
    }

    function _selector(string memory name) internal pure returns (bytes4) {
        bytes32 n = keccak256(bytes(name));
        if (n == keccak256("BadVocab")) return ModelRegistry.BadVocab.selector;
        if (n == keccak256("BadContext")) return ModelRegistry.BadContext.selector;
        if (n == keccak256("BadLayers")) return ModelRegistry.BadLayers.selector;
        if (n == keccak256("BadStepInputs")) return ModelRegistry.BadStepInputs.selector;
        if (n == keccak256("BadKvValue")) return ModelRegistry.BadKvValue.selector;
        if (n == keccak256("BadSampledValue")) return ModelRegistry.BadSampledValue.selector;
        revert(string.concat("unknown error name ", name));
    }
}
