// SPDX-License-Identifier: MIT
// Gas.t.sol: the gas of a whole dispute at fashion_cnn's size (10 graph nodes, phase 2 over
// T = 2^26 VM steps), from challenge to payout, for k = 2 .. 64: a liar at the middle node whose
// VM trace goes wrong at step 6, against an honest challenger; and the one-step proof of the worst
// instruction (a store: two memory proofs, one path recomputed) on its own.
// Run with `forge test --isolate` (the ctest does): every call is then its own transaction with
// cold storage, and the gas measured is what the transaction costs in all (21000 + calldata +
// execution, refunds not subtracted). Without --isolate the figures would be far too low (warm
// storage, no intrinsic gas), so the test refuses to run.
// Fails if a dissection or selection move, the binding, the node's opening, the one-step proof (the
// step transaction), the timeout or the resolve (the payout) costs more than 100,000 gas, or the
// whole dispute at the best k (16) more than 2,000,000. The decision's transactions are also
// measured at their dearest: on a fresh oracle (the first burn), the challenger winning with three
// games open (the rejection record for the others), by step and by timeout.
// And a generation dispute at the fortunes model's size (4 layers: 8 caches, 61 step-graph nodes,
// a 16-id prompt and 64 new tokens: T = 79 token steps, phase 2 over 2^26 VM steps), a lie at the
// 40th new token: every move under 100,000 gas (openStep and the node's opening of the deeper step
// graph too, openStep also at its dearest steps), the whole game under 3M.
pragma solidity ^0.8.28;

import {GenFixture} from "./lib/GenFixture.sol";
import {VmModel, Asm} from "./lib/VmModel.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {InferenceOracle} from "../src/InferenceOracle.sol";

contract GasTest is GenFixture {
    uint256 constant FASHION_NODES = 10;
    uint8 constant FASHION_LOG_T = 26;

    function setUp() public {
        _deploy();
    }

    /// Under --isolate a call to an empty account costs at least the 21000 of a transaction.
    function _requireIsolated() internal {
        uint256 g0 = gasleft();
        (bool ok,) = anyone.call("");
        require(ok);
        if (g0 - gasleft() < 21000) {
            emit log("gas figures need `forge test --isolate` (each call its own transaction): skipping");
            vm.skip(true);
        }
    }

    /// RiscvStep.step is a static call, which --isolate does not make a transaction of, so its
    /// transaction cost is written out: 21000 + the calldata's gas + cold account access +
    /// the measured execution.
    function test_gas_worst_step_alone() public {
        VmModel m = new VmModel(rv);
        uint32[] memory w = new uint32[](1);
        w[0] = Asm.sw(6, 5, 8);
        m.writeBytes(0x100, Asm.image(w));
        m.writeBytes(0x20000000, hex"8192a3b4c5d6e7f8");
        bytes memory s = m.withReg(m.withReg(m.withPc(m.initialState(), 0x100), 5, 0x20000000), 6, 0x11223344);
        bytes memory p = m.stepProof(s);
        uint256 g0 = gasleft();
        rv.step(s, p);
        uint256 used = g0 - gasleft();
        bytes memory cd = abi.encodeCall(rv.step, (s, p));
        uint256 calldataGas;
        for (uint256 i = 0; i < cd.length; i++) calldataGas += cd[i] == 0 ? 4 : 16;
        emit log_named_uint("RiscvStep.step(sw, two proofs): execution", used);
        emit log_named_uint("RiscvStep.step(sw, two proofs): calldata", calldataGas);
        emit log_named_uint("RiscvStep.step(sw, two proofs): as a transaction", 21000 + 2600 + calldataGas + used);
        assertTrue(used <= 100_000, "the one-step proof within 100k gas");
    }

    function _dispute(uint16 k) internal returns (uint256 total) {
        _requireIsolated();
        _register(uint32(FASHION_NODES), k, FASHION_LOG_T);
        lieNode = 4;
        lieStep = 6;
        uint256 task = _request(requester);
        _submit(task, submitter, 4);
        _resetGas();
        uint256 id = _challenge(task, challenger);
        assertTrue(_play(id, submitter, challenger), "dispute ended");
        _withdrawAll(challenger);
        assertEq(challenger.balance, 100 ether + _share(1), "challenger paid");
        emit log(string.concat("== fashion_cnn-sized dispute, k = ", vm.toString(uint256(k))));
        total = _report();
        assertTrue(maxOf[1] <= 100_000, "a dissection move within 100k gas");
        assertTrue(maxOf[2] <= 100_000, "a selection move within 100k gas");
        assertTrue(maxOf[uint256(Kind.Bind)] <= 100_000, "the binding within 100k gas");
        assertTrue(maxOf[uint256(Kind.Open)] <= 100_000, "the node's opening within 100k gas");
        _assertDecisionUnder100k();
    }

    function _assertDecisionUnder100k() internal {
        assertTrue(maxOf[uint256(Kind.Step)] <= 100_000, "the one-step proof (step) within 100k gas");
        assertTrue(maxOf[uint256(Kind.Timeout)] <= 100_000, "timeout within 100k gas");
        assertTrue(maxOf[uint256(Kind.Resolve)] <= 100_000, "resolve within 100k gas");
    }

    /// The decision at its dearest, on a fresh oracle: a lie challenged by three games, one played
    /// to its one-step proof (or left by the liar to time out), then resolved (the first burn, the
    /// rejection record for the other two games, the winner's credit in a fresh slot), another
    /// abandoned; the step, timeout and resolve each under 100,000 gas.
    function _decisionWorst(bool byTimeout) internal {
        _requireIsolated();
        _register(uint32(FASHION_NODES), 16, FASHION_LOG_T);
        lieNode = 4;
        lieStep = 10; // the disputed step is [9, 10], the guest's store: the dearest proof
        uint256 task = _request(requester);
        _submit(task, submitter, 4);
        uint256 id = _challenge(task, challenger);
        uint256 second = _challenge(task, challenger2);
        _challenge(task, anyone);
        resolves = false;
        if (byTimeout) subStopAfter = 3;
        _resetGas();
        assertTrue(_play(id, submitter, challenger) != byTimeout, "decided by the proof, or the liar stopped");
        if (byTimeout) {
            vm.warp(block.timestamp + CLOCK + 1);
            _move(Kind.Timeout, anyone, abi.encodeCall(DisputeGame.timeout, (id)));
        }
        emit log(string.concat("== the decision by ", byTimeout ? "timeout" : "step", ", three games open, fresh oracle"));
        _resolve(id, anyone);
        assertEq(oracle.rejection(task, 1).unclaimed, 2, "two games still to claim their shares");
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(3), "the winner's bond and share");
        _tx(anyone, address(game), 0, abi.encodeCall(DisputeGame.abandon, (second)), "abandon (bond and share)");
        _report();
        _assertDecisionUnder100k();
    }


    /// Every kind of transaction of the game just played: count, gas, the largest; returns the sum.
    function _report() internal returns (uint256 total) {
        string[KINDS] memory names = [
            "challenge", "dissect", "select", "openNode", "step", "timeout", "withdraw", "bindEnd/bindTokens", "openStep",
            "resolve"
        ];
        for (uint256 i = 0; i < KINDS; i++) {
            if (countOf[i] == 0) continue;
            emit log(
                string.concat(
                    names[i], ": transactions ", vm.toString(countOf[i]), ", gas ", vm.toString(gasOf[i]), ", largest ",
                    vm.toString(maxOf[i])
                )
            );
            total += gasOf[i];
        }
        emit log_named_uint("whole dispute, gas of all transactions", total);
    }

    function test_gas_decision_by_step_worst() public {
        _decisionWorst(false);
    }

    function test_gas_decision_by_timeout_worst() public {
        _decisionWorst(true);
    }

    function test_gas_fashion_k2() public {
        _dispute(2);
    }

    function test_gas_fashion_k4() public {
        _dispute(4);
    }

    function test_gas_fashion_k8() public {
        _dispute(8);
    }

    function test_gas_fashion_k16() public {
        assertTrue(_dispute(16) < 2_000_000, "whole dispute under 2M gas at k = 16");
    }

    function test_gas_fashion_k32() public {
        assertTrue(_dispute(32) < 2_000_000, "whole dispute under 2M gas at k = 32");
    }

    function test_gas_fashion_k64() public {
        _dispute(64);
    }

    /// The fortunes-sized generation dispute; returns the whole game's gas.
    function _genDispute(uint16 k) internal returns (uint256 total) {
        _requireIsolated();
        _registerGen(4, 50, k, FASHION_LOG_T);
        assertEq(gn, 61, "61 nodes");
        _setPrompt(16, 5);
        maxNew = 64;
        sampler = InferenceOracle.Sampler({temperature: 0x3f4ccccd, topK: 40, topP: 0x3f733333, seed: 42});
        genLie = Lie.Token;
        lieAt = 16 + 38; // the step that samples the 40th new token
        lieStep = 6;
        uint256 task = _requestGen(requester);
        _submitGen(task, submitter, true);
        _resetGas();
        uint256 id = _challenge(task, challenger);
        assertTrue(_play(id, submitter, challenger), "dispute ended");
        assertEq(openedAt, lieAt, "decided at the lying step");
        _withdrawAll(challenger);
        emit log(string.concat("== fortunes-sized generation dispute (T = 79, 61 nodes, 2^26 VM steps), k = ", vm.toString(uint256(k))));
        total = _report();
        assertTrue(maxOf[uint256(Kind.Dissect)] <= 100_000, "a dissection move within 100k gas");
        assertTrue(maxOf[uint256(Kind.Select)] <= 100_000, "a selection move within 100k gas");
        assertTrue(maxOf[uint256(Kind.Bind)] <= 100_000, "bindTokens within 100k gas");
        assertTrue(maxOf[uint256(Kind.OpenStep)] <= 100_000, "openStep within 100k gas");
        assertTrue(maxOf[uint256(Kind.Open)] <= 100_000, "the node's opening within 100k gas");
        _assertDecisionUnder100k();
        assertTrue(total < 3_000_000, "the whole generation dispute under 3M gas");
    }

    function test_gas_generation_k16() public {
        _genDispute(16);
    }

    function test_gas_generation_k32() public {
        _genDispute(32);
    }

    /// The happy path of a generation at the fortunes model's size: requestGeneration (16 ids),
    /// submit (64 ids, each checked against the vocabulary and the stop token), finalize with the
    /// callback; and the classifier's request and submit beside them.
    function test_gas_generation_happy_path() public {
        _requireIsolated();
        _registerGen(4, 50, 16, FASHION_LOG_T);
        _setPrompt(16, 5);
        maxNew = 64;
        sampler = InferenceOracle.Sampler({temperature: 0x3f4ccccd, topK: 40, topP: 0x3f733333, seed: 42});
        bytes memory cd = abi.encodeCall(oracle.requestGeneration, (genModelId, _ids(promptIds), maxNew, stopToken, sampler));
        uint256 task = abi.decode(_tx(requester, address(oracle), FEE, cd, "requestGeneration (16 ids)"), (uint256));
        bytes memory out = _genOutput(false);
        _tx(submitter, address(oracle), SUB_BOND, abi.encodeCall(oracle.submit, (task, out)), "submit (64 ids)");
        vm.warp(block.timestamp + WINDOW);
        _tx(anyone, address(oracle), 0, abi.encodeCall(oracle.finalize, (task, out)), "finalize (64 ids)");
        _register(uint32(FASHION_NODES), 16, FASHION_LOG_T);
        bytes[] memory inputs = new bytes[](1);
        inputs[0] = _le4(INPUT);
        task = abi.decode(
            _tx(requester, address(oracle), FEE, abi.encodeCall(oracle.request, (modelId, inputs)), "classifier request"), (uint256)
        );
        _tx(submitter, address(oracle), SUB_BOND, abi.encodeCall(oracle.submit, (task, _outputOf(NONE))), "classifier submit");
    }

    /// One call as a transaction (under --isolate: 21000 + calldata + execution), logged under `what`.
    function _tx(address from, address to, uint256 value, bytes memory cd, string memory what)
        internal
        returns (bytes memory ret)
    {
        vm.prank(from);
        uint256 g0 = gasleft();
        bool ok;
        (ok, ret) = to.call{value: value}(cd);
        uint256 used = g0 - gasleft();
        _bubble(ok, ret);
        emit log_named_uint(what, used);
    }

    /// openStep at its dearest: a generated step whose next id starts a new leaf of ids (the token
    /// paths of two leaves and the sampled token's path), a prompt step (the prompt's path
    /// instead) and the last step of the longest generation the context holds (112 new ids, T -
    /// 1 = 126: x_t's leaf 15 with four earlier siblings, the most of any step here); each under
    /// 100,000 gas.
    function test_gas_open_step_worst() public {
        _requireIsolated();
        _registerGen(4, 50, 16, FASHION_LOG_T);
        _setPrompt(16, 5);
        maxNew = 64;
        uint256[3] memory steps = [uint256(23), 6, 126]; // 24 = 3 * 8: a new leaf; 6 + 1 < P: the prompt's id
        string[3] memory names = ["openStep, generated step across leaves", "openStep, prompt step", "openStep, last step"];
        for (uint256 i = 0; i < steps.length; i++) {
            if (i == 2) maxNew = uint32(CTX - promptIds.length);
            (, uint256 id) = _liarGame(Lie.KvRow, steps[i]);
            _resetGas();
            subStopAfter = NONE;
            assertTrue(_play(id, submitter, challenger), "ended");
            assertEq(openedAt, steps[i], "opened at the lying step");
            emit log_named_uint(names[i], maxOf[uint256(Kind.OpenStep)]);
            assertTrue(maxOf[uint256(Kind.OpenStep)] <= 100_000, "openStep within 100k gas");
            subMoves = 0;
            chalMoves = 0;
        }
    }
}
