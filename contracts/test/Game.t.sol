// SPDX-License-Identifier: MIT
// Game.t.sol: whole games between scripted parties (GameFixture) on a 5-node chain model, k = 2
// and k = 3, T = 2^5: lies at the first, a middle and the last node, in the output only and at
// chosen VM steps; challengers that select wrong parts; each side timing out; two challengers
// one of whom colludes; re-submission after a lost game; and the money conserved after each. Every
// payout is a credit in the oracle (the one bank): a challenger who wins has its bond and its share
// of the liar's bond there in one credit.
pragma solidity ^0.8.28;

import {GameFixture, Receiver} from "./lib/GameFixture.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {InferenceOracle} from "../src/InferenceOracle.sol";

contract GameTest is GameFixture {
    uint256 total;

    function setUp() public {
        _deploy();
        _register(5, 2, 5);
        total = _total();
    }

    /// A liar at `node` (VM lie from `step`) against an honest challenger: the challenger wins,
    /// gets its bond back and half the liar's (the other half burned), the submission is rejected
    /// and the task reopens.
    function _liarLoses(uint256 node, uint256 step) internal {
        lieNode = node;
        lieStep = step;
        uint256 task = _request(requester);
        _submit(task, submitter, node);
        uint256 id = _challenge(task, challenger);
        assertTrue(_play(id, submitter, challenger), "game ended");
        DisputeGame.Game memory g = game.game(id);
        assertEq(g.phase, 2, "reached phase 2");
        assertEq(g.node, node + 1, "narrowed to the lying node");
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "its bond back and half the submitter's");
        assertEq(oracle.burned(), SUB_BOND - _share(1), "the other half burned");
        assertEq(oracle.credit(submitter), 0, "submitter gets nothing");
        InferenceOracle.Task memory t = oracle.task(task);
        assertTrue(t.status == InferenceOracle.Status.Open, "task reopened");
        _checkConservation(total);
        _withdrawAll(challenger);
        _checkConservation(total);
    }

    function test_lie_at_first_node() public {
        _liarLoses(0, 5);
    }

    function test_lie_at_middle_node() public {
        _liarLoses(2, 1);
    }

    function test_lie_at_last_node() public {
        _liarLoses(4, 9);
    }

    function test_lie_in_output_only() public {
        _liarLoses(4, NONE); // every VM hash honest but the claimed final state
    }

    function test_lie_inside_vm_run_after_halt() public {
        _liarLoses(1, 20); // halted at 13: the lie sits where the machine steps to itself
    }

    function test_lie_inside_vm_run_k3() public {
        _register(5, 3, 5);
        _liarLoses(3, 10); // the lie starts right after the store
    }

    /// An honest submitter against a challenger that selects wrong parts: the submitter wins the
    /// one-step proof and the challenger's bond, and the result finalizes.
    function _honestWins(Mode mode) internal {
        chalMode = mode;
        {
            uint256 task = _request(requester);
            _submit(task, submitter, NONE);
            uint256 id = _challenge(task, challenger);
            assertTrue(_play(id, submitter, challenger), "game ended");
            assertEq(oracle.credit(submitter), CHAL_BOND, "challenger's bond to the submitter");
            assertEq(oracle.credit(challenger), 0, "challenger gets nothing");
            vm.warp(block.timestamp + WINDOW);
            oracle.finalize(task, _outputOf(NONE));
            assertEq(oracle.credit(submitter), CHAL_BOND + SUB_BOND + FEE, "and its bond back plus fee");
            _checkConservation(total);
        }
    }

    function test_challenger_selecting_first_part_loses() public {
        _honestWins(Mode.First);
    }

    function test_challenger_selecting_last_part_loses() public {
        _honestWins(Mode.Last);
    }

    function test_honest_challenger_against_honest_submitter_loses() public {
        _honestWins(Mode.Honest);
    }

    /// A liar that is challenged by a wrong selector can still win that game (the challenger
    /// disputed a step the liar computed right); an honest challenger beside it still wins.
    function test_two_challengers_one_colluding() public {
        lieNode = 1;
        lieStep = 3;
        uint256 task = _request(requester);
        _submit(task, submitter, 1);
        chalMode = Mode.Last; // the colluder picks the last part every time
        uint256 bad = _challenge(task, challenger2);
        uint256 good = _challenge(task, challenger);
        assertTrue(_play(bad, submitter, challenger2), "colluder's game ended");
        assertEq(oracle.credit(submitter), CHAL_BOND, "the colluder's bond went to the submitter");
        InferenceOracle.Task memory t = oracle.task(task);
        assertEq(t.openGames, 1, "one game still open");
        // finalization must wait for the honest game
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.GamesOpen.selector, uint32(1)));
        oracle.finalize(task, _outputOf(1));
        chalMode = Mode.Honest;
        subMoves = 0;
        chalMoves = 0;
        assertTrue(_play(good, submitter, challenger), "honest game ended");
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "its bond back and, the only game open, the whole share");
        assertTrue(oracle.task(task).status == InferenceOracle.Status.Open, "task reopened");
        _checkConservation(total);
    }

    /// The honest game ends first: the other open game against the same submission is abandoned,
    /// its challenger's bond returned and its share of the rejected bond credited.
    function test_other_games_end_with_bonds_returned() public {
        lieNode = 3;
        lieStep = 2;
        uint256 task = _request(requester);
        _submit(task, submitter, 3);
        uint256 good = _challenge(task, challenger);
        uint256 other = _challenge(task, challenger2);
        vm.expectRevert(DisputeGame.StillLive.selector);
        game.abandon(other);
        assertTrue(_play(good, submitter, challenger), "honest game ended");
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(2), "the prover's bond and share: two games were open");
        vm.prank(anyone);
        game.abandon(other);
        assertEq(oracle.credit(challenger2), CHAL_BOND + _share(2), "bond returned and the same share of the rejected bond");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Done));
        game.abandon(other);
        _checkConservation(total);
    }

    /// A submitter that never binds its end state (it cannot: it did not compute the result, or
    /// went away) loses on its clock.
    function test_submitter_that_never_binds_times_out() public {
        subBinds = false;
        (uint256 task,) = _stuckThenTimedOut();
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "the challenger wins on time");
        assertTrue(oracle.task(task).status == InferenceOracle.Status.Open, "task reopened");
        _checkConservation(total);
    }

    function test_submitter_times_out() public {
        lieNode = 2;
        subStopAfter = 1; // it dissects once, then stops
        uint256 task = _request(requester);
        _submit(task, submitter, 2);
        uint256 id = _challenge(task, challenger);
        assertTrue(!_play(id, submitter, challenger), "submitter stopped");
        DisputeGame.Game memory g = game.game(id);
        uint256 left = g.submitterTime - (block.timestamp - g.lastMove);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockRunning.selector, left));
        game.timeout(id);
        vm.warp(uint256(g.lastMove) + g.submitterTime + 1);
        vm.prank(submitter); // too late to move
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockExpired.selector, uint256(1)));
        game.dissect(id, lastRoots);
        vm.prank(anyone);
        game.timeout(id);
        assertTrue(game.game(id).turn == DisputeGame.Turn.Resolve, "decided, not yet paid");
        assertTrue(game.game(id).challengerWon, "for the challenger");
        assertEq(oracle.credit(challenger), 0, "nothing paid before resolve");
        _resolve(id, anyone);
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "challenger wins on time, its bond back");
        _checkConservation(total);
    }

    /// An honest result challenged, a game in which one side stops moving, and the timeout once
    /// the clocks have run out.
    function _stuckThenTimedOut() internal returns (uint256 task, uint256 id) {
        task = _request(requester);
        _submit(task, submitter, NONE);
        id = _challenge(task, challenger);
        assertTrue(!_play(id, submitter, challenger), "a side stopped");
        vm.warp(block.timestamp + CLOCK + 1);
        vm.prank(anyone);
        game.timeout(id);
        _resolve(id, anyone);
    }

    function test_challenger_times_out() public {
        chalStopAfter = 3;
        (uint256 task,) = _stuckThenTimedOut();
        assertEq(oracle.credit(submitter), CHAL_BOND, "submitter wins on time");
        vm.warp(block.timestamp + WINDOW);
        oracle.finalize(task, _outputOf(NONE));
        _checkConservation(total);
    }

    /// After a lost game, another submitter submits the right result; it finalizes and the
    /// requester contract is called back with the output.
    function test_resubmission_after_lost_game() public {
        Receiver r = new Receiver();
        vm.deal(address(r), 1 ether);
        parties.push(address(r));
        total = _total();
        lieNode = 0;
        lieStep = 4;
        uint256 task = _request(address(r));
        _submit(task, submitter, 0);
        uint256 id = _challenge(task, challenger);
        assertTrue(_play(id, submitter, challenger), "ended");
        assertTrue(oracle.task(task).status == InferenceOracle.Status.Open, "reopened");
        vm.warp(oracle.task(task).resubmitAt);
        _submit(task, submitter2, NONE);
        assertEq(oracle.task(task).subId, 2, "second submission");
        vm.warp(block.timestamp + WINDOW);
        vm.prank(challenger2);
        vm.expectRevert(DisputeGame.WindowClosed.selector);
        game.challenge{value: CHAL_BOND}(task);
        oracle.finalize(task, _outputOf(NONE));
        assertEq(r.calls(), 1, "called back");
        assertEq(r.lastTask(), task, "with the task");
        assertEq(r.lastOutput(), _outputOf(NONE), "and the output");
        assertEq(oracle.credit(submitter2), SUB_BOND + FEE, "paid");
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongStatus.selector, InferenceOracle.Status.Finalized));
        oracle.finalize(task, _outputOf(NONE));
        _withdrawAll(submitter2);
        _withdrawAll(challenger);
        _checkConservation(total);
    }

    function test_single_node_model_goes_straight_to_opening() public {
        _register(1, 2, 4);
        lieNode = 0;
        lieStep = 7;
        uint256 task = _request(requester);
        _submit(task, submitter, 0);
        uint256 id = _challenge(task, challenger);
        assertTrue(game.game(id).turn == DisputeGame.Turn.Bind, "the binding first");
        _move(Kind.Bind, submitter, _bindCall(id));
        assertTrue(game.game(id).turn == DisputeGame.Turn.Open, "then the opening");
        assertTrue(_play(id, submitter, challenger), "ended");
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "challenger wins");
        _checkConservation(total);
    }

    /// Any arity, any lying node and VM step: an honest challenger beats a liar; an honest
    /// submitter beats any challenger strategy; the money is conserved either way.
    /// forge-config: default.fuzz.runs = 24
    function testFuzz_honest_party_wins(uint8 nodeSeed, uint8 stepSeed, uint8 kSeed, uint8 modeSeed, bool liar) public {
        _register(5, uint16(2 + (kSeed % 7)), 5);
        uint256 task = _request(requester);
        if (liar) {
            lieNode = nodeSeed % 5;
            lieStep = stepSeed % 40 >= 32 ? NONE : 1 + (stepSeed % 31);
            chalMode = Mode.Honest;
        } else {
            chalMode = Mode(modeSeed % 3);
        }
        _submit(task, submitter, lieNode);
        uint256 id = _challenge(task, challenger);
        assertTrue(_play(id, submitter, challenger), "game ended");
        if (liar) {
            assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "the liar lost its bond");
            assertTrue(oracle.task(task).status == InferenceOracle.Status.Open, "task reopened");
        } else {
            assertEq(oracle.credit(submitter), CHAL_BOND, "the honest submitter won");
        }
        _checkConservation(total);
    }
}
