// SPDX-License-Identifier: MIT
// VmVectors.t.sol: RiscvStep against the C VM's step vectors (tests/vectors/vm_steps.json, written
// by tests/vectors/vm_vectors.c): for every vector the same post-state bytes and hash, or the same
// class of error (bad_state_length, bad_proof_length, bad_memory_proof) as a revert.
pragma solidity ^0.8.28;

import {Test} from "./lib/Test.sol";
import {RiscvStep} from "../src/RiscvStep.sol";

contract VmVectorsTest is Test {
    RiscvStep rv;

    function setUp() public {
        rv = new RiscvStep();
    }

    function _selector(string memory err) internal pure returns (bytes4) {
        bytes32 h = keccak256(bytes(err));
        if (h == keccak256("bad_state_length")) return RiscvStep.BadStateLength.selector;
        if (h == keccak256("bad_proof_length")) return RiscvStep.BadProofLength.selector;
        if (h == keccak256("bad_memory_proof")) return RiscvStep.BadMemoryProof.selector;
        revert(string.concat("unknown error class in vectors: ", err));
    }

    function test_vm_step_vectors() public {
        string memory json = vm.readFile("../tests/vectors/vm_steps.json");
        uint256 i;
        uint256 errors;
        for (;; i++) {
            string memory at = string.concat(".vectors[", vm.toString(i), "]");
            if (!vm.keyExistsJson(json, at)) break;
            string memory name = vm.parseJsonString(json, string.concat(at, ".name"));
            bytes memory state = vm.parseJsonBytes(json, string.concat(at, ".state"));
            bytes memory proof = vm.parseJsonBytes(json, string.concat(at, ".proof"));
            if (vm.keyExistsJson(json, string.concat(at, ".error"))) {
                bytes4 want = _selector(vm.parseJsonString(json, string.concat(at, ".error")));
                try rv.step(state, proof) returns (bytes32) {
                    revert(string.concat(name, ": RiscvStep accepted an invalid step"));
                } catch (bytes memory reason) {
                    assertEq(bytes32(bytes4(reason)), bytes32(want), name);
                }
                errors++;
                continue;
            }
            bytes memory post = vm.parseJsonBytes(json, string.concat(at, ".post_state"));
            bytes32 hash = vm.parseJsonBytes32(json, string.concat(at, ".post_hash"));
            assertEq(rv.execute(state, proof), post, name);
            assertEq(rv.step(state, proof), hash, name);
        }
        assertTrue(i >= 100, "the vector file has its ~110 cases");
        assertTrue(errors >= 10, "and its invalid-input cases");
        emit log_named_uint("vm step vectors checked", i);
    }
}
