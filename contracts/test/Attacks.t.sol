// SPDX-License-Identifier: MIT
// Attacks.t.sol: one test per attack on the game's economics and inputs (issue 12, docs/game.md
// "Attacks"), each played by the attacker as it would on-chain. Written for the old ABI and run
// against the contracts before the fixes (1f26e2d), each failed but the griefing one (a challenge
// already cost its bond; the zero bond was the hole, caught by the registry test):
//   - a liar losing on purpose to its own second address (sock puppet) to get its bond back;
//   - sock-puppet games opened to dilute the honest challenger's share;
//   - a rejected lie resubmitted in the transaction that rejects it (a task held hostage), and
//     lies resubmitted from fresh addresses, cycle after cycle;
//   - output and input bytes cut or padded with zeros (the tensor root does not see them);
//   - a caller starving the requester's callback with a large output;
//   - parameters no honest side can win with (k = 65535, one-second windows and clocks, no bonds);
//   - a refund stuck at a requester contract without a payable receive;
//   - tasks requested before the game is bound (unchallengeable);
//   - a submission copied from the mempool by someone who cannot defend it;
//   - challenges of an honest result to delay it (griefing);
//   - the liar front-running an honest challenge with its own rejection;
//   - the decided game's payout (resolve) sent by a third party or by the loser, twice, raced
//     by abandon after another game's rejection, or never sent (issue 14: deciding and paying
//     are two transactions).
pragma solidity ^0.8.28;

import {GameFixture, Receiver} from "./lib/GameFixture.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {InferenceOracle, IOpmlReceiver} from "../src/InferenceOracle.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {RiscvStep} from "../src/RiscvStep.sol";
import {Credits} from "../src/lib/Credits.sol";
import {Merkle} from "../src/lib/Merkle.sol";

/// A requester that keeps the gas its callback was given.
contract GasProbe is IOpmlReceiver {
    uint256 public gotGas;

    function opmlResult(uint256, bytes calldata) external {
        gotGas = gasleft();
    }
}

/// A requester contract without a payable receive or fallback: ether sent to it bounces.
contract NoReceive {
    function request(InferenceOracle o, uint256 modelId, bytes[] calldata inputs) external payable returns (uint256) {
        return o.request{value: msg.value}(modelId, inputs);
    }

    function cancel(InferenceOracle o, uint256 taskId) external {
        o.cancel(taskId);
    }

    function withdraw(InferenceOracle o) external {
        o.withdraw();
    }

    function withdrawTo(InferenceOracle o, address payable to) external {
        o.withdrawTo(to);
    }
}

/// The liar's contract: ends its own game (its sock puppet wins on time, and the game is paid
/// out) and resubmits the lie in the same transaction, so that the task is never Open in any block.
contract Resubmitter {
    function run(
        DisputeGame g,
        InferenceOracle o,
        uint256 gameId,
        uint256 taskId,
        bytes calldata output
    ) external payable {
        g.timeout(gameId);
        g.resolve(gameId);
        o.submit{value: msg.value}(taskId, output);
    }
}

contract AttacksTest is GameFixture {
    address sock = address(0x50C); // the liar's second address
    address sock2 = address(0x50C2);
    address sock3 = address(0x50C3);
    uint256 total;

    function setUp() public {
        _deploy();
        address[3] memory more = [sock, sock2, sock3];
        for (uint256 i = 0; i < 3; i++) {
            parties.push(more[i]);
            vm.deal(more[i], 100 ether);
        }
        _register(5, 2, 5);
        total = _total();
    }

    function _wealth(address a) internal view returns (uint256) {
        return a.balance + oracle.credit(a);
    }

    function _liarWealth() internal view returns (uint256) {
        return _wealth(submitter) + _wealth(sock) + _wealth(sock2) + _wealth(sock3);
    }

    /// After the quiet time `who` submits the right result, which finalizes: bond back and fee.
    function _honestResubmissionFinalizes(uint256 task, address who) internal {
        vm.warp(oracle.task(task).resubmitAt);
        _submit(task, who, NONE);
        vm.warp(block.timestamp + WINDOW);
        oracle.finalize(task, _outputOf(NONE));
        assertEq(oracle.credit(who), SUB_BOND + FEE, "the honest submission finalized");
        _checkConservation(total);
    }

    /// The liar challenges its own lie from `sockGames` second addresses beside an honest
    /// challenger and loses the first sock game on purpose, before the honest game ends: the
    /// other games are abandoned. It used to get its whole bond back that way (and the honest
    /// challenger nothing); now half the bond is burned whatever games it plays, and every game
    /// open at the rejection, the honest one included, shares the other half: more sock games
    /// dilute the honest share but never refund the liar.
    function _selfDealing(uint256 sockGames) internal {
        lieNode = 2;
        lieStep = 3;
        uint256 task = _request(requester);
        uint256 liar0 = _liarWealth();
        uint256 honest0 = _wealth(challenger);
        _submit(task, submitter, 2);
        uint256 honest = _challenge(task, challenger);
        address[3] memory from = [sock, sock2, sock3];
        uint256[] memory own = new uint256[](sockGames);
        for (uint256 i = 0; i < sockGames; i++) own[i] = _challenge(task, from[i]);
        assertTrue(_play(own[0], submitter, sock), "its own game ended"); // the sock proves the lie
        assertTrue(oracle.task(task).status == InferenceOracle.Status.Open, "rejected");
        vm.startPrank(anyone);
        for (uint256 i = 1; i < sockGames; i++) game.abandon(own[i]);
        game.abandon(honest);
        vm.stopPrank();
        uint256 games = sockGames + 1;
        assertEq(liar0 - _liarWealth(), SUB_BOND - sockGames * _share(games), "the liar lost its bond less the socks' shares");
        assertTrue(liar0 - _liarWealth() >= SUB_BOND / 2, "at least half its bond");
        assertEq(_wealth(challenger) - honest0, _share(games), "the honest challenger: its bond back and a share");
        assertEq(oracle.burned(), SUB_BOND - games * _share(games), "half burned (and the rounding dust)");
        _checkConservation(total);
    }

    function test_self_dealing_liar_loses_half_its_bond() public {
        _selfDealing(1);
    }

    function test_sock_games_dilute_but_never_refund_the_liar() public {
        _selfDealing(3);
    }

    /// Alone with its sock puppet (no honest challenger), letting its own clock run out: the liar
    /// still loses half its bond.
    function test_self_dealing_liar_alone_loses_half() public {
        lieNode = 1;
        uint256 task = _request(requester);
        uint256 liar0 = _liarWealth();
        _submit(task, submitter, 1);
        uint256 own = _challenge(task, sock);
        vm.warp(block.timestamp + CLOCK + 1);
        game.timeout(own);
        game.resolve(own);
        assertEq(liar0 - _liarWealth(), SUB_BOND / 2, "half the bond burned");
        _checkConservation(total);
    }

    /// The liar ends its own game and resubmits in the same transaction, so that the requester
    /// could never cancel and no honest submitter could get in. Now nobody may submit for the
    /// model's challenge window after a rejection; the requester may cancel during it.
    function test_hostage_resubmission_in_the_rejecting_transaction() public {
        lieNode = 2;
        uint256 task = _request(requester);
        _submit(task, submitter, 2);
        uint256 own = _challenge(task, sock);
        vm.warp(block.timestamp + CLOCK + 1);
        Resubmitter r = new Resubmitter();
        vm.deal(address(r), 10 ether);
        uint40 quietUntil = uint40(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.ResubmitTooEarly.selector, quietUntil));
        r.run{value: SUB_BOND}(game, oracle, own, task, _outputOf(2));
        // without the resubmission the rejection goes through; the task is Open and quiet
        game.timeout(own);
        game.resolve(own);
        InferenceOracle.Task memory t = oracle.task(task);
        assertTrue(t.status == InferenceOracle.Status.Open, "open");
        assertEq(t.resubmitAt, quietUntil, "quiet for the window");
        vm.warp(quietUntil - 1);
        vm.prank(submitter2);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.ResubmitTooEarly.selector, quietUntil));
        oracle.submit{value: SUB_BOND}(task, _outputOf(2));
        vm.prank(requester);
        oracle.cancel(task);
        assertEq(oracle.credit(requester), FEE, "the requester got its fee back");
        _checkConservation(total);
    }

    /// The liar resubmits from a fresh address after each quiet time (the rule binds no address):
    /// each cycle burns half a bond, and the requester may cancel in any quiet time; an honest
    /// submission that gets in first finalizes.
    function test_lie_cycles_from_fresh_addresses_cost_half_a_bond_each() public {
        lieNode = 4;
        lieStep = 2;
        uint256 task = _request(requester);
        uint256 liar0 = _liarWealth();
        address[3] memory liars = [submitter, sock2, sock3];
        for (uint256 c = 0; c < 3; c++) {
            vm.warp(oracle.task(task).resubmitAt);
            _submit(task, liars[c], 4);
            uint256 id = _challenge(task, challenger);
            subMoves = 0;
            chalMoves = 0;
            assertTrue(_play(id, liars[c], challenger), "the honest challenger wins");
            assertEq(oracle.burned(), (c + 1) * (SUB_BOND - _share(1)), "half a bond burned per cycle");
        }
        assertEq(liar0 - _liarWealth(), 3 * SUB_BOND, "three lies, three bonds lost");
        assertEq(oracle.credit(challenger), 3 * (CHAL_BOND + _share(1)), "the validator took the other halves");
        _honestResubmissionFinalizes(task, submitter2);
    }

    /// The output value is a uint32 of a few hundred: its last two bytes are zero, so the cut
    /// output has the same tensor root. Cut or padded, it is refused for its length.
    function test_output_cut_or_padded_is_refused() public {
        uint256 task = _request(requester);
        bytes memory out = _outputOf(NONE);
        assertTrue(out[2] == 0 && out[3] == 0, "trailing zeros");
        bytes memory cut = new bytes(2);
        cut[0] = out[0];
        cut[1] = out[1];
        bytes memory padded = new bytes(10_000);
        for (uint256 i = 0; i < 4; i++) padded[i] = out[i];
        assertEq(Merkle.tensorRootMem(cut), Merkle.tensorRootMem(out), "same root cut");
        assertEq(Merkle.tensorRootMem(padded), Merkle.tensorRootMem(out), "same root padded");
        vm.startPrank(submitter);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongOutputLength.selector, uint256(4), uint256(2)));
        oracle.submit{value: SUB_BOND}(task, cut);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongOutputLength.selector, uint256(4), uint256(10_000)));
        oracle.submit{value: SUB_BOND}(task, padded);
        oracle.submit{value: SUB_BOND}(task, out);
        vm.stopPrank();
    }

    /// The same for the inputs, at request time.
    function test_input_cut_or_padded_is_refused() public {
        bytes[] memory inputs = new bytes[](1);
        inputs[0] = hex"07";
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongInputLength.selector, uint256(0), uint256(4), uint256(1)));
        oracle.request{value: FEE}(modelId, inputs);
        inputs[0] = hex"0700000000";
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongInputLength.selector, uint256(0), uint256(4), uint256(5)));
        oracle.request{value: FEE}(modelId, inputs);
        vm.stopPrank();
    }

    /// A result of the largest size the deployment allows: whatever gas the finalize caller
    /// sends, the callback gets its CALLBACK_GAS, or finalize reverts. The least gas that
    /// finalizes is found exactly (binary search over state snapshots) and the callback's gas
    /// measured there.
    function test_callback_gets_its_gas_at_the_largest_output() public {
        uint32 big = reg.bounds().maxOutputBytes;
        _callbackGasAt(big);
        _callbackGasAt(4);
    }

    function _callbackGasAt(uint32 outputBytes) internal {
        ModelRegistry.ModelSpec memory s = _spec(5, 2, 5);
        s.outputBytes = outputBytes;
        modelId = reg.register(s);
        GasProbe p = new GasProbe();
        vm.deal(address(p), 1 ether);
        uint256 task = _request(address(p));
        bytes memory out = new bytes(outputBytes);
        for (uint256 i = 0; i < out.length; i++) out[i] = bytes1(uint8(i * 7 + 1));
        vm.prank(submitter);
        oracle.submit{value: SUB_BOND}(task, out);
        vm.warp(block.timestamp + WINDOW);
        bytes memory cd = abi.encodeCall(oracle.finalize, (task, out));
        uint256 lo = 0; // reverts with lo gas
        uint256 hi = 10_000_000; // finalizes with hi gas
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            uint256 snap = vm.snapshotState();
            (bool ok,) = address(oracle).call{gas: mid}(cd);
            vm.revertToState(snap);
            if (ok) hi = mid;
            else lo = mid;
        }
        (bool done,) = address(oracle).call{gas: hi}(cd);
        assertTrue(done, "finalized with the least gas");
        emit log_named_uint("output bytes", outputBytes);
        emit log_named_uint("least gas finalize runs with", hi);
        emit log_named_uint("gas the callback got there", p.gotGas());
        // the receiver's dispatcher spends a few hundred gas before it reads gasleft()
        assertTrue(p.gotGas() >= oracle.CALLBACK_GAS() - 500, "the callback had its CALLBACK_GAS");
    }

    /// Parameters under which one side cannot win are refused, each with its own error; the
    /// production bounds admit the parameters the CLI registers by default.
    function test_registry_refuses_unwinnable_parameters() public {
        ModelRegistry prod = new ModelRegistry(_productionBounds());
        ModelRegistry.ModelSpec memory s = _spec(5, 16, 23);
        s.challengeWindow = 1 hours;
        s.clock = 6 hours;
        s.submitterBond = 1 ether;
        s.challengerBond = 1 ether;
        prod.register(s); // the CLI's defaults
        uint256 minClock = prod.movesPerSide(5, 16, 23, 0) * 5 minutes;
        s.k = 65535;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadArity.selector, uint16(65535)));
        prod.register(s);
        s.k = 65;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadArity.selector, uint16(65)));
        prod.register(s);
        s.k = 16;
        s.challengeWindow = 1;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadWindow.selector, uint32(1), uint32(1 hours), uint32(30 days)));
        prod.register(s);
        s.challengeWindow = 31 days;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadWindow.selector, uint32(31 days), uint32(1 hours), uint32(30 days)));
        prod.register(s);
        s.challengeWindow = 1 hours;
        s.clock = 1;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadClock.selector, uint32(1), minClock, uint32(30 days)));
        prod.register(s);
        s.clock = uint32(minClock - 1);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadClock.selector, uint32(minClock - 1), minClock, uint32(30 days)));
        prod.register(s);
        s.clock = uint32(minClock);
        prod.register(s); // exactly enough time for every move
        s.submitterBond = 0;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BondTooSmall.selector, uint256(0), uint256(0.2 ether)));
        prod.register(s);
        s.submitterBond = 1 ether;
        s.challengerBond = 0;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BondTooSmall.selector, uint256(0), uint256(0.1 ether)));
        prod.register(s);
        s.challengerBond = 1 ether;
        s.outputBytes = 64 * 1024 + 1;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadOutputBytes.selector, uint32(64 * 1024 + 1), uint32(64 * 1024)));
        prod.register(s);
        s.outputBytes = 4;
        s.inputBytes[0] = 128 * 1024 + 1;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InputsTooLarge.selector, uint256(128 * 1024 + 1), uint256(128 * 1024)));
        prod.register(s);
        s.inputBytes[0] = 4;
        s.stepsLog2 = 63;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadStepBound.selector, uint8(63)));
        prod.register(s);
        // the bounds themselves must be consistent
        ModelRegistry.Bounds memory b = _productionBounds();
        b.minWindow = 0;
        vm.expectRevert(ModelRegistry.BadBounds.selector);
        new ModelRegistry(b);
        b = _productionBounds();
        b.minChallengerBond = 0;
        vm.expectRevert(ModelRegistry.BadBounds.selector);
        new ModelRegistry(b);
        b = _productionBounds();
        b.maxOutputBytes = uint32(Merkle.SLOT_BYTES + 1);
        vm.expectRevert(ModelRegistry.BadBounds.selector);
        new ModelRegistry(b);
    }

    /// A requester contract without a payable receive cancels: withdraw() bounces, withdrawTo()
    /// pays its refund to another address.
    function test_refund_of_a_contract_without_receive() public {
        NoReceive r = new NoReceive();
        bytes[] memory ins = new bytes[](1);
        ins[0] = _le4(INPUT);
        uint256 t = r.request{value: FEE}(oracle, modelId, ins);
        r.cancel(oracle, t);
        vm.expectRevert(Credits.TransferFailed.selector);
        r.withdraw(oracle);
        vm.expectRevert(Credits.NoRecipient.selector);
        r.withdrawTo(oracle, payable(address(0)));
        uint256 before = requester.balance;
        r.withdrawTo(oracle, payable(requester));
        assertEq(requester.balance - before, FEE, "the refund reached the owner");
        assertEq(oracle.credit(address(r)), 0, "credit taken");
    }

    /// Before the game is bound nothing could be challenged, so nothing can be requested; a game
    /// contract built for another oracle cannot be bound.
    function test_nothing_before_the_game_is_bound() public {
        InferenceOracle o2 = new InferenceOracle(reg);
        bytes[] memory ins = new bytes[](1);
        ins[0] = _le4(INPUT);
        vm.expectRevert(InferenceOracle.GameNotBound.selector);
        o2.request{value: FEE}(modelId, ins);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.GameOfAnotherOracle.selector, address(game)));
        o2.bindGame(address(game));
        DisputeGame g2 = new DisputeGame(reg, o2, rv);
        o2.bindGame(address(g2));
        o2.request{value: FEE}(modelId, ins);
    }

    /// A copier front-runs the honest submission with the same bytes but cannot play the game
    /// that follows: any challenger wins on its clock, half its bond is burned, and the computer
    /// of the result submits after the quiet time and earns the fee.
    function test_copied_submission_that_cannot_be_defended_is_slashed() public {
        uint256 task = _request(requester);
        _submit(task, sock, NONE); // the copy, mined first
        uint256 copier0 = _wealth(sock);
        uint256 id = _challenge(task, challenger2);
        vm.warp(block.timestamp + CLOCK + 1); // the copier has no trace: it cannot bind its end state
        game.timeout(id);
        game.resolve(id);
        assertEq(copier0 - _wealth(sock), 0, "its bond was already paid in");
        assertEq(oracle.credit(challenger2), CHAL_BOND + _share(1), "the challenger took half its bond");
        assertEq(oracle.burned(), SUB_BOND - _share(1), "half burned");
        _honestResubmissionFinalizes(task, submitter); // the computer earns the fee
    }

    /// Three challengers dispute an honest result to delay it: each loses its bond to the honest
    /// submitter, and the result finalizes no later than window + 2 * clock after it was submitted.
    function test_griefing_an_honest_result_costs_each_griefer_its_bond() public {
        uint256 task = _request(requester);
        _submit(task, submitter, NONE);
        uint256 submitted = block.timestamp;
        address[3] memory griefers = [challenger, challenger2, anyone];
        uint256[3] memory ids;
        for (uint256 i = 0; i < 3; i++) ids[i] = _challenge(task, griefers[i]);
        chalMode = Mode.Last;
        for (uint256 i = 0; i < 3; i++) {
            subMoves = 0;
            chalMoves = 0;
            assertTrue(_play(ids[i], submitter, griefers[i]), "played to the end");
        }
        assertEq(oracle.credit(submitter), 3 * CHAL_BOND, "every griefer's bond to the submitter");
        vm.warp(submitted + WINDOW);
        oracle.finalize(task, _outputOf(NONE));
        assertTrue(block.timestamp <= submitted + WINDOW + 2 * CLOCK, "finalized within window + 2 clocks");
        assertEq(oracle.credit(submitter), 3 * CHAL_BOND + SUB_BOND + FEE, "bond and fee");
        _checkConservation(total);
    }

    /// The liar sees an honest challenge coming and rejects itself first through its sock
    /// puppet: the honest challenge reverts (the challenger pays only a reverted transaction's gas,
    /// no bond), and the liar still loses half its bond.
    function test_liar_front_running_a_challenge_with_its_own_rejection() public {
        lieNode = 0;
        lieStep = 2;
        uint256 task = _request(requester);
        uint256 liar0 = _liarWealth();
        _submit(task, submitter, 0);
        uint256 own = _challenge(task, sock);
        assertTrue(_play(own, submitter, sock), "rejected by its own sock");
        uint256 honest0 = _wealth(challenger);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.NotSubmitted.selector);
        game.challenge{value: CHAL_BOND}(task);
        assertEq(_wealth(challenger), honest0, "the honest challenger kept its bond");
        assertEq(liar0 - _liarWealth(), SUB_BOND / 2, "the liar lost half its bond");
        _checkConservation(total);
    }

    // ---- deciding and paying (resolve) ----

    /// A liar's game played to its decision (turn Resolve, the challenger won), not paid out.
    function _decidedLie(address chal) internal returns (uint256 task, uint256 id) {
        task = _lieTask(1, 4);
        id = _challenge(task, chal);
        resolves = false;
        assertTrue(_play(id, submitter, chal), "decided");
        assertTrue(game.game(id).turn == DisputeGame.Turn.Resolve, "waiting for resolve");
    }

    /// Who sends resolve changes nothing of who is paid: the challenger, a third party or the
    /// losing liar itself, the challenger gets its bond and the share, the liar nothing back, and
    /// the same wei are burned. The same for an honest submitter's win resolved by the loser.
    function test_resolve_by_anyone_pays_the_same() public {
        (uint256 task, uint256 id) = _decidedLie(challenger);
        address[3] memory senders = [challenger, anyone, submitter];
        for (uint256 i = 0; i < 3; i++) {
            uint256 snap = vm.snapshotState();
            uint256 liar0 = _liarWealth();
            vm.prank(senders[i]);
            vm.expectEmit(address(game));
            emit DisputeGame.GameResolved(id, challenger, true, CHAL_BOND);
            game.resolve(id);
            assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "the challenger's bond and share");
            assertEq(_liarWealth(), liar0, "the liar gets nothing back");
            assertEq(oracle.credit(senders[i] == challenger ? anyone : senders[i]), 0, "the sender gets nothing");
            assertEq(oracle.burned(), SUB_BOND - _share(1), "half burned");
            assertTrue(oracle.task(task).status == InferenceOracle.Status.Open, "rejected");
            _checkConservation(total);
            vm.revertToState(snap);
        }
        // an honest submitter's win, resolved by the losing griefer or a third party
        lieNode = NONE;
        lieStep = NONE;
        _nextGame(Mode.Last);
        uint256 t2 = _request(requester);
        _submit(t2, submitter2, NONE);
        uint256 g2 = _challenge(t2, challenger2);
        assertTrue(_play(g2, submitter2, challenger2), "decided");
        assertTrue(!game.game(g2).challengerWon, "for the submitter");
        for (uint256 i = 0; i < 2; i++) {
            uint256 snap = vm.snapshotState();
            vm.prank(i == 0 ? challenger2 : anyone);
            game.resolve(g2);
            assertEq(oracle.credit(submitter2), CHAL_BOND, "the griefer's bond to the submitter");
            assertEq(oracle.credit(challenger2), 0, "the griefer gets nothing");
            _checkConservation(total);
            vm.revertToState(snap);
        }
    }

    /// resolve pays once: a second resolve (or abandon, timeout or step) of the ended game reverts
    /// and credits nothing more.
    function test_resolve_twice_reverts() public {
        (, uint256 id) = _decidedLie(challenger);
        bytes memory pre = vmRun.stateAt(game.game(id).lo);
        bytes memory proof = vmRun.proofAt(game.game(id).lo);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Resolve));
        game.step(id, pre, proof); // the decision cannot be made again
        game.resolve(id);
        uint256 paid = oracle.credit(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Done));
        game.resolve(id);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Done));
        game.abandon(id);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Done));
        game.step(id, pre, proof);
        assertEq(oracle.credit(challenger), paid, "paid once");
        _checkConservation(total);
    }

    /// Two games decided against the same lie; the first resolved rejects it. The second, decided
    /// for its challenger (or for the liar: a colluding challenger), may then be resolved or
    /// abandoned, in either order: whichever comes first pays its challenger its bond and its
    /// share once, the other reverts. Every wei is accounted for.
    function test_abandon_and_resolve_race_after_another_rejection() public {
        resolves = false;
        for (uint256 colluding = 0; colluding < 2; colluding++) {
            uint256 snap0 = vm.snapshotState();
            uint256 task2 = _lieTask(1, 4);
            uint256 a = _challenge(task2, challenger);
            uint256 b = _challenge(task2, challenger2);
            _nextGame(Mode.Honest);
            assertTrue(_play(a, submitter, challenger), "a decided");
            _nextGame(colluding == 1 ? Mode.Last : Mode.Honest);
            assertTrue(_play(b, submitter, challenger2), "b decided");
            assertTrue(game.game(b).challengerWon == (colluding == 0), "b's decision");
            game.resolve(a); // rejects task2's submission: two games were open
            assertEq(oracle.credit(challenger), CHAL_BOND + _share(2), "a: bond and share");
            for (uint256 order = 0; order < 2; order++) {
                uint256 snap = vm.snapshotState();
                vm.startPrank(anyone);
                if (order == 0) {
                    vm.expectEmit(address(game));
                    emit DisputeGame.GameResolved(b, challenger2, colluding == 0, CHAL_BOND);
                    game.resolve(b);
                    vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Done));
                    game.abandon(b);
                } else {
                    game.abandon(b);
                    vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Done));
                    game.resolve(b);
                }
                vm.stopPrank();
                assertEq(oracle.credit(challenger2), CHAL_BOND + _share(2), "b: bond and share, once");
                assertEq(oracle.credit(submitter), 0, "the liar: nothing");
                assertEq(oracle.rejection(task2, 1).unclaimed, 0, "every share claimed");
                _checkConservation(total);
                vm.revertToState(snap);
            }
            vm.revertToState(snap0);
        }
    }

    /// A decided game nobody resolves keeps the submission from finalizing (it still counts as
    /// open), and the side it favours can always resolve it: an honest submitter whose griefer
    /// walks away finalizes after resolving; an honest challenger against a liar that does not
    /// resolve gets the lie rejected by resolving itself.
    function test_unresolved_decision_blocks_finalize_until_anyone_resolves() public {
        uint256 task = _request(requester);
        _submit(task, submitter, NONE);
        uint256 id = _challenge(task, challenger2);
        chalMode = Mode.Last;
        resolves = false;
        assertTrue(_play(id, submitter, challenger2), "decided");
        assertTrue(!game.game(id).challengerWon, "for the honest submitter");
        vm.warp(block.timestamp + WINDOW + 30 days);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.GamesOpen.selector, uint32(1)));
        oracle.finalize(task, _outputOf(NONE));
        vm.prank(submitter);
        game.resolve(id);
        oracle.finalize(task, _outputOf(NONE));
        assertEq(oracle.credit(submitter), CHAL_BOND + SUB_BOND + FEE, "bond, fee and the griefer's bond");
        _checkConservation(total);
        // the liar never resolves its lost game: the lie stays in limbo until the challenger does
        _nextGame(Mode.Honest);
        (uint256 t2, uint256 g2) = _decidedLie(challenger);
        vm.warp(block.timestamp + WINDOW + 30 days);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.GamesOpen.selector, uint32(1)));
        oracle.finalize(t2, _outputOf(1));
        vm.prank(challenger);
        game.resolve(g2);
        assertTrue(oracle.task(t2).status == InferenceOracle.Status.Open, "the lie rejected");
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "the challenger paid");
        _checkConservation(total);
    }
}
