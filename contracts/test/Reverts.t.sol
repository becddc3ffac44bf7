// SPDX-License-Identifier: MIT
// Reverts.t.sol: every move out of turn, by the wrong party or with a bad proof reverts with its
// custom error; the registry and oracle reject inconsistent input; a failing or gas-burning
// callback cannot block finalization; and a fuzzed stranger can make no move for either party.
pragma solidity ^0.8.28;

import {GameFixture, Receiver, RevertingReceiver, GasBurner} from "./lib/GameFixture.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {InferenceOracle} from "../src/InferenceOracle.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {RiscvStep} from "../src/RiscvStep.sol";
import {Merkle} from "../src/lib/Merkle.sol";
import {Commitments} from "../src/lib/Commitments.sol";
import {Credits} from "../src/lib/Credits.sol";

contract RevertsTest is GameFixture {
    uint256 task;
    uint256 id;

    function setUp() public {
        _deploy();
        _register(5, 2, 5);
        lieNode = 2;
        lieStep = 3;
        task = _request(requester);
        _submit(task, submitter, 2);
        id = _challenge(task, challenger);
        _bind(id);
    }

    function _bind(uint256 gameId) internal {
        vm.prank(submitter);
        (bool ok, bytes memory ret) = address(game).call(_bindCall(gameId));
        _bubble(ok, ret);
    }

    /// The binding: only the submitter, only first, only State_n holding the submitted output.
    function test_bad_bindings() public {
        uint256 task2 = _request(requester);
        _submit(task2, submitter, 2);
        uint256 g2 = _challenge(task2, challenger);
        assertTrue(game.game(g2).turn == DisputeGame.Turn.Bind, "the binding first");
        assertEq(game.game(g2).endHash, game.UNBOUND(), "nothing claimed yet");
        uint32[] memory v = _values(2);
        bytes32 stateN = _state(v, n);
        bytes memory out = _le4(v[NIN + n - 1]);
        bytes32[] memory proof = _siblings(_leaves(v, n), NIN + n - 1, D);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourMove.selector, submitter));
        game.bindEnd(g2, stateN, out, proof);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Bind));
        game.dissect(g2, new bytes32[](1));
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Bind));
        game.bindTokens(g2, 0, 0, "", out);
        vm.prank(submitter);
        vm.expectRevert(DisputeGame.WrongOutput.selector);
        game.bindEnd(g2, stateN, _le4(v[NIN + n - 1] + 1), proof);
        vm.prank(submitter);
        vm.expectRevert(DisputeGame.BadStatePath.selector);
        game.bindEnd(g2, bytes32(uint256(stateN) ^ 1), out, proof);
        vm.prank(submitter);
        vm.expectRevert(DisputeGame.BadStatePath.selector);
        game.bindEnd(g2, stateN, out, new bytes32[](1));
        vm.prank(submitter);
        game.bindEnd(g2, stateN, out, proof);
        DisputeGame.Game memory g = game.game(g2);
        assertEq(g.endHash, stateN, "State_n bound");
        assertTrue(g.turn == DisputeGame.Turn.Dissect, "then the dissection");
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Dissect));
        game.bindEnd(g2, stateN, out, proof);
    }

    function test_moves_out_of_turn_and_by_the_wrong_party() public {
        bytes32[] memory one = new bytes32[](1);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourMove.selector, submitter));
        game.dissect(id, one);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Dissect));
        game.select(id, one, 0);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongRootCount.selector, uint256(1), uint256(2)));
        game.dissect(id, new bytes32[](2));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Dissect));
        game.step(id, "", "");
        DisputeGame.NodeOpening memory o;
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Dissect));
        game.openNode(id, o);
        vm.prank(submitter);
        game.dissect(id, one);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourMove.selector, challenger));
        game.select(id, one, 0);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.PartsMismatch.selector);
        game.select(id, new bytes32[](2), 0);
        one[0] = bytes32(uint256(5));
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.PartsMismatch.selector);
        game.select(id, one, 0);
        one[0] = 0;
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BadPart.selector, uint256(2), uint256(2)));
        game.select(id, one, 2);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.UnknownGame.selector, uint256(99)));
        game.timeout(99);
    }

    /// Plays the honest challenger up to the opening, then tries bad openings.
    function test_bad_openings() public {
        subStopAfter = 0; // the driver stops at the submitter's first move; play by hand
        _playToOpening();
        uint64 s = game.game(id).hi;
        assertEq(s, 3, "narrowed to graph step 3 (node 2)");
        DisputeGame.NodeOpening memory o = _opening(s);
        DisputeGame.NodeOpening memory b = _opening(s);
        b.output = bytes32(uint256(1));
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadStatePath.selector));
        b = _opening(s);
        b.statePath = new bytes32[](1);
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadStatePath.selector));
        b = _opening(s);
        b.refs[1] = bytes32(uint256(7)); // a different weight: not the registered node
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadNodePath.selector));
        b = _opening(s);
        b.valueRoots[0] = bytes32(uint256(7));
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadValuePath.selector, uint256(0)));
        b = _opening(s);
        b.valueRoots = new bytes32[](0);
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadValueCount.selector, uint256(1), uint256(0)));
        // the value operand (leaf 2) meets the opened leaf (3) at height 0: statePath[0] is its
        // root, and it needs no sibling; one more, or the D of a whole path, is refused
        assertEq(o.valuePaths.length, 0, "leaf 2 shares leaf 3's path from height 0");
        b = _opening(s);
        b.valuePaths = new bytes32[](1);
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadValueSiblings.selector, uint256(0), uint256(1)));
        b = _opening(s);
        b.valuePaths = new bytes32[](D);
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadValueSiblings.selector, uint256(0), uint256(D)));
        // more than 12 refs; a trailing ref that is not the empty slot is another node leaf
        b = _opening(s);
        b.refs = new bytes32[](13);
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadRefs.selector, uint256(13)));
        b = _opening(s);
        bytes32[] memory longer = new bytes32[](3);
        (longer[0], longer[1], longer[2]) = (b.refs[0], b.refs[1], bytes32(0));
        b.refs = longer;
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadNodePath.selector));
        b = _opening(s);
        b.finalState = vmRun.withPc(b.finalState, 4); // any other state: its memory root still holds o
        b.finalState[44] = 0x00; // but it must be exited
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadFinalState.selector));
        b = _opening(s);
        b.slotPath[2] = bytes32(uint256(1));
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadOutputSlot.selector));
        // the same leaf with its empty refs written out (all 12) opens as well
        b = _opening(s);
        bytes32[] memory all = new bytes32[](12);
        for (uint256 j = 0; j < 12; j++) all[j] = j < b.refs.length ? b.refs[j] : Commitments.EMPTY_SLOT;
        b.refs = all;
        vm.prank(submitter);
        game.openNode(id, b);
        assertTrue(game.game(id).phase == 2, "phase 2");
    }

    /// A value operand whose path meets the opened leaf's high up sends its siblings below that
    /// height, and each is checked: the fashion-sized chain at graph step 4 (leaf 4, its operand
    /// leaf 3: they meet at height 2).
    function test_bad_value_siblings_below_the_shared_height() public {
        lieNode = 3;
        uint256 task3 = _request(requester);
        _submit(task3, submitter, 3);
        id = _challenge(task3, challenger);
        vm.prank(submitter);
        (bool ok, bytes memory ret) = address(game).call(_bindCall(id));
        _bubble(ok, ret);
        _playToOpening();
        uint64 s = game.game(id).hi;
        assertEq(s, 4, "narrowed to graph step 4 (node 3)");
        DisputeGame.NodeOpening memory o = _opening(s);
        assertEq(o.valuePaths.length, 2, "two siblings below height 2");
        DisputeGame.NodeOpening memory b = _opening(s);
        b.valuePaths[1] = bytes32(uint256(1));
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadValuePath.selector, uint256(0)));
        b = _opening(s);
        bytes32[] memory one = new bytes32[](1);
        one[0] = b.valuePaths[0];
        b.valuePaths = one;
        _expectOpen(b, abi.encodeWithSelector(DisputeGame.BadValueSiblings.selector, uint256(2), uint256(1)));
        vm.prank(submitter);
        game.openNode(id, o);
        assertTrue(game.game(id).phase == 2, "phase 2");
    }

    /// Plays game `id`'s phase 1 by hand (the submitter dissecting, the honest challenger
    /// selecting) until the node's opening is due.
    function _playToOpening() internal {
        while (game.game(id).turn != DisputeGame.Turn.Open) {
            DisputeGame.Game memory g = game.game(id);
            if (g.turn == DisputeGame.Turn.Dissect) {
                uint256 len = g.hi - g.lo;
                uint256 m = len < g.k ? len : g.k;
                delete lastRoots;
                for (uint256 j = 1; j < m; j++) lastRoots.push(_subHash(1, g.lo + (len * j) / m, g.hi));
                vm.prank(submitter);
                game.dissect(id, lastRoots);
            } else {
                vm.prank(challenger);
                game.select(id, lastRoots, _pick(g));
            }
        }
    }

    function _expectOpen(DisputeGame.NodeOpening memory o, bytes memory err) internal {
        vm.prank(submitter);
        vm.expectRevert(err);
        game.openNode(id, o);
    }

    function test_bad_step_proofs() public {
        // play until the one-step proof is due
        chalStopAfter = NONE;
        for (uint256 guard = 0; guard < 100; guard++) {
            DisputeGame.Game memory g = game.game(id);
            if (g.turn == DisputeGame.Turn.Step) break;
            if (g.turn == DisputeGame.Turn.Dissect) {
                uint256 len = g.hi - g.lo;
                uint256 m = len < g.k ? len : g.k;
                delete lastRoots;
                for (uint256 j = 1; j < m; j++) lastRoots.push(_subHash(g.phase, g.lo + (len * j) / m, g.hi));
                vm.prank(submitter);
                game.dissect(id, lastRoots);
            } else if (g.turn == DisputeGame.Turn.Select) {
                uint256 pick = _pick(g);
                vm.prank(challenger);
                game.select(id, lastRoots, pick);
            } else {
                DisputeGame.NodeOpening memory o = _opening(g.hi);
                vm.prank(submitter);
                game.openNode(id, o);
            }
        }
        DisputeGame.Game memory g2 = game.game(id);
        assertTrue(g2.turn == DisputeGame.Turn.Step, "step due");
        assertEq(g2.lo, lieStep - 1, "narrowed to the first lying VM step");
        bytes memory pre = vmRun.stateAt(g2.lo);
        bytes memory proof = vmRun.proofAt(g2.lo);
        bytes memory next = vmRun.stateAt(g2.lo + 1);
        vm.expectRevert(DisputeGame.WrongPreState.selector);
        game.step(id, next, proof);
        bytes memory bad = bytes.concat(proof);
        bad[100] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(RiscvStep.BadMemoryProof.selector, uint256(vmRun.pcOf(pre) >> 5)));
        game.step(id, pre, bad);
        vm.expectRevert(abi.encodeWithSelector(RiscvStep.BadProofLength.selector, uint256(896), uint256(0)));
        game.step(id, pre, "");
        vm.prank(anyone); // anyone may send the proof
        game.step(id, pre, proof);
        assertTrue(game.game(id).turn == DisputeGame.Turn.Resolve && game.game(id).challengerWon, "decided for the challenger");
        // decided: no move, no clock, and no abandon while the submission is live
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Resolve));
        game.step(id, pre, proof);
        vm.warp(block.timestamp + 2 * CLOCK);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Resolve));
        game.timeout(id);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Resolve));
        game.dissect(id, new bytes32[](1));
        vm.expectRevert(DisputeGame.StillLive.selector);
        game.abandon(id);
        game.resolve(id);
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "the challenger won");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Done));
        game.step(id, pre, proof);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Done));
        game.timeout(id);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Done));
        game.resolve(id);
    }

    /// resolve before the game is decided, in each turn a game passes through (Bind, Dissect,
    /// Select, Open, Step; OpenStep is GenReverts'), reverts with WrongTurn; an unknown game with
    /// UnknownGame.
    function test_resolve_before_the_decision() public {
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.UnknownGame.selector, uint256(99)));
        game.resolve(99);
        uint256 task2 = _request(requester);
        _submit(task2, submitter, 2);
        uint256 g2 = _challenge(task2, challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Bind));
        game.resolve(g2);
        bool[9] memory seen;
        for (uint256 guard = 0; guard < 200; guard++) {
            DisputeGame.Turn t = game.game(id).turn;
            if (t == DisputeGame.Turn.Resolve) break;
            seen[uint256(t)] = true;
            vm.prank(anyone);
            vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, t));
            game.resolve(id);
            assertTrue(_playOne(id, submitter, challenger), "moved");
        }
        assertTrue(seen[uint256(DisputeGame.Turn.Dissect)] && seen[uint256(DisputeGame.Turn.Select)], "dissect, select");
        assertTrue(seen[uint256(DisputeGame.Turn.Open)] && seen[uint256(DisputeGame.Turn.Step)], "open, step");
        game.resolve(id);
    }

    function test_challenge_and_submit_errors() public {
        vm.prank(submitter);
        vm.expectRevert(DisputeGame.SelfChallenge.selector);
        game.challenge{value: CHAL_BOND}(task);
        vm.prank(challenger2);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongBond.selector, uint256(CHAL_BOND), uint256(1)));
        game.challenge{value: 1}(task);
        vm.prank(submitter2);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongStatus.selector, InferenceOracle.Status.Submitted));
        oracle.submit{value: SUB_BOND}(task, "");
        uint256 t2 = _request(requester);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.NotSubmitted.selector);
        game.challenge{value: CHAL_BOND}(t2);
        vm.startPrank(submitter2);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongBond.selector, uint256(SUB_BOND), uint256(0)));
        oracle.submit(t2, _outputOf(NONE));
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongOutputLength.selector, uint256(4), uint256(3)));
        oracle.submit{value: SUB_BOND}(t2, hex"010203");
        vm.stopPrank();
        bytes[] memory two = new bytes[](2);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongInputCount.selector, uint256(1), uint256(2)));
        oracle.request(modelId, two);
        bytes[] memory in1 = new bytes[](1);
        uint256 huge = uint256(type(uint96).max) + 1;
        vm.deal(anyone, huge);
        vm.prank(anyone);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.FeeTooLarge.selector, huge));
        oracle.request{value: huge}(modelId, in1);
        vm.deal(anyone, 100 ether);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, uint256(42)));
        oracle.request(42, two);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.UnknownTask.selector, uint256(42)));
        oracle.finalize(42, "");
        vm.expectRevert(InferenceOracle.OnlyGame.selector);
        oracle.gameOpened(task, 1);
        vm.prank(anyone); // a bond paid in other than by the game's challenge
        vm.expectRevert(InferenceOracle.OnlyGame.selector);
        oracle.gameOpened{value: CHAL_BOND}(task, 1);
        vm.expectRevert(InferenceOracle.OnlyGame.selector);
        oracle.gameEnded(task, 1, true, address(this));
        // neither contract takes ether but through its functions: the game none at all
        vm.prank(anyone);
        (bool toGame,) = address(game).call{value: 1}("");
        vm.prank(anyone);
        (bool toOracle,) = address(oracle).call{value: 1}("");
        assertTrue(!toGame && !toOracle, "plain transfers bounce");
        assertEq(address(game).balance, 0, "the game holds nothing");
        vm.expectRevert(InferenceOracle.GameAlreadyBound.selector);
        oracle.bindGame(address(1));
        vm.prank(anyone);
        vm.expectRevert(InferenceOracle.OnlyDeployer.selector);
        oracle.bindGame(address(1));
        vm.prank(anyone);
        vm.expectRevert(InferenceOracle.NotRequester.selector);
        oracle.cancel(t2);
        vm.prank(requester);
        oracle.cancel(t2);
        assertEq(oracle.credit(requester), FEE, "fee refunded");
        vm.prank(anyone);
        vm.expectRevert(Credits.NothingToWithdraw.selector);
        oracle.withdraw();
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WindowOpen.selector, oracle.task(task).deadline));
        oracle.finalize(task, _outputOf(2));
    }

    function test_registry_rejects_inconsistent_models() public {
        ModelRegistry.ModelSpec memory s = reg.spec(modelId);
        s.stateDepth = 2;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadStateDepth.selector, uint8(3), uint8(2)));
        reg.register(s);
        s = reg.spec(modelId);
        s.k = 1;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadArity.selector, uint16(1)));
        reg.register(s);
        s = reg.spec(modelId);
        s.outputValue = 6;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadOutputValue.selector, uint32(6), uint32(6)));
        reg.register(s);
        s = reg.spec(modelId);
        s.stepsLog2 = 63;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadStepBound.selector, uint8(63)));
        reg.register(s);
        s = reg.spec(modelId);
        s.n = 0;
        vm.expectRevert(ModelRegistry.NoNodes.selector);
        reg.register(s);
        s = reg.spec(modelId);
        s.clock = 0;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadClock.selector, uint32(0), reg.movesPerSide(5, 2, 5, 0), uint32(30 days)));
        reg.register(s);
        s = reg.spec(modelId);
        s.inputBytes = new uint32[](2);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadInputBytes.selector, uint256(2)));
        reg.register(s);
        s.inputBytes = new uint32[](1);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadInputBytes.selector, uint256(0)));
        reg.register(s);
        s = reg.spec(modelId);
        s.outputBytes = 0; // reserved for an output whose length another commitment fixes
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadOutputBytes.selector, uint32(0), uint32(1 << 17)));
        reg.register(s);
        s = reg.spec(modelId);
        assertEq(
            reg.model(modelId).modelRoot,
            keccak256(abi.encodePacked(s.nodesRoot, s.nin, s.n, s.outputValue, s.stateDepth, s.outputBytes, s.inputBytes[0])),
            "model root over the graph and the input and output byte lengths"
        );
    }

    /// A requester whose callback reverts (with a 100 kB reason) or burns all its gas: the task
    /// still finalizes and the submitter is paid.
    function test_bad_callbacks_cannot_block_finalization() public {
        address[2] memory bad = [address(new RevertingReceiver()), address(new GasBurner())];
        for (uint256 i = 0; i < 2; i++) {
            vm.deal(bad[i], 1 ether);
            lieNode = NONE;
            uint256 t = _request(bad[i]);
            _submit(t, submitter2, NONE);
            vm.warp(block.timestamp + WINDOW);
            uint256 before = oracle.credit(submitter2);
            uint256 g0 = gasleft();
            oracle.finalize{gas: 400_000}(t, _outputOf(NONE));
            assertTrue(g0 - gasleft() < 400_000, "bounded gas");
            assertTrue(oracle.task(t).status == InferenceOracle.Status.Finalized, "finalized");
            assertEq(oracle.credit(submitter2) - before, SUB_BOND + FEE, "paid");
        }
        // a caller cannot starve the callback by sending too little gas
        Receiver r = new Receiver();
        vm.deal(address(r), 1 ether);
        uint256 t3 = _request(address(r));
        _submit(t3, submitter2, NONE);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(InferenceOracle.InsufficientGasForCallback.selector);
        oracle.finalize{gas: 150_000}(t3, _outputOf(NONE));
        vm.expectRevert(InferenceOracle.WrongOutput.selector);
        oracle.finalize(t3, _outputOf(1));
        oracle.finalize(t3, _outputOf(NONE));
        assertEq(r.calls(), 1, "called back once");
    }

    /// No address other than the party on move can make the move.
    function testFuzz_no_party_moves_for_another(address stranger, uint256 part) public {
        vm.assume(stranger != submitter && stranger != challenger);
        bytes32[] memory one = new bytes32[](1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourMove.selector, submitter));
        game.dissect(id, one);
        DisputeGame.NodeOpening memory o;
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Dissect));
        game.openNode(id, o);
        vm.prank(submitter);
        game.dissect(id, one);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourMove.selector, challenger));
        game.select(id, one, part % 2);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockRunning.selector, uint256(CLOCK)));
        game.timeout(id);
        vm.prank(stranger);
        vm.expectRevert(DisputeGame.StillLive.selector);
        game.abandon(id);
        DisputeGame.Game memory g = game.game(id);
        assertTrue(g.turn == DisputeGame.Turn.Select, "still the challenger's move");
    }
}
