// SPDX-License-Identifier: MIT
// GenGame.t.sol: whole generation games (docs/generation.md) between scripted parties (GenFixture)
// on synthetic step graphs of one layer (c = 1), three layers (c = 3, two pad caches) and four:
// liars at a prompt step's cache row, at the first, a middle and the last generated token, at the
// sampler's choice, at a node and inside a node's VM run, each decided at that node and slashed;
// a liar that cannot open its G_{t+1} losing on time; honest submitters beating challengers that
// select wrong parts; generations stopped early by the stop token; the callback with the ids.
pragma solidity ^0.8.28;

import {GenFixture} from "./lib/GenFixture.sol";
import {Receiver} from "./lib/GameFixture.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {InferenceOracle} from "../src/InferenceOracle.sol";
import {Generation} from "../src/lib/Generation.sol";

contract GenGameTest is GenFixture {
    uint256 total;

    function setUp() public {
        _genSetUp(false, 12345);
        total = _total();
    }

    /// A requester contract with ether, counted among the parties.
    function _receiver() internal returns (Receiver r) {
        r = new Receiver();
        vm.deal(address(r), 1 ether);
        parties.push(address(r));
        total = _total();
    }

    /// A liar (genLie at token step `at`) against an honest challenger: decided at the lying node
    /// of that step, the liar slashed, the task reopened.
    function _liarLoses(Lie l, uint256 at, uint256 vmStep) internal {
        lieStep = vmStep;
        (uint256 task, uint256 id) = _liarGame(l, at);
        assertTrue(game.game(id).phase == 0 && game.game(id).turn == DisputeGame.Turn.Bind, "token phase, binding first");
        assertTrue(_play(id, submitter, challenger), "game ended");
        DisputeGame.Game memory g = game.game(id);
        assertEq(openedAt, at, "the token step narrowed to is the lie's");
        assertEq(g.phase, 2, "reached phase 2");
        assertEq(g.node, _lieNode(l) + 1, "narrowed to the lying node");
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "its bond back and half the liar's");
        assertTrue(oracle.task(task).status == InferenceOracle.Status.Open, "task reopened");
        _checkConservation(total);
    }

    function test_lie_in_a_prompt_steps_kv_row() public {
        _liarLoses(Lie.KvRow, 1, 5); // a prompt step: its token is forced, its cache row is not
    }

    function test_lie_at_the_first_generated_token() public {
        _liarLoses(Lie.Token, 3, 7); // step P - 1 samples the first new token
    }

    function test_lie_at_a_middle_token() public {
        _liarLoses(Lie.Token, 6, 2);
    }

    function test_lie_at_the_last_token() public {
        _liarLoses(Lie.Token, 8, 9); // T = P + N - 1 = 9: the last step is 8
    }

    function test_lie_at_the_samplers_choice() public {
        _liarLoses(Lie.Sampler, 5, 4);
    }

    function test_lie_at_a_node() public {
        _liarLoses(Lie.Node, 4, 3);
    }

    function test_lie_inside_a_vm_run_only_in_the_final_claim() public {
        _liarLoses(Lie.Node, 7, NONE); // every VM hash honest but the claimed final state
    }

    function test_lie_in_the_last_steps_kv_row() public {
        _liarLoses(Lie.KvRow, 8, 6); // the output is right, but G_T is not: a challenged lie still loses
    }

    function test_three_layers_with_pad_caches() public {
        _registerGen(3, 2, 3, 5); // 6 caches and 2 pads (c = 3), fillers, k = 3
        _liarLoses(Lie.KvRow, 5, 4);
    }

    function test_eight_caches_k16() public {
        _registerGen(4, 5, 16, 5); // c = 3, no pads
        _setPrompt(9, 2); // a prompt over two leaves of ids: steps 7 and 8 cross a leaf
        _liarLoses(Lie.Token, 7, 3);
    }

    /// The liar's G_{t+1} is no state (it never computed the trace it claims): it cannot open the
    /// disputed step and loses on its clock.
    function test_liar_that_cannot_open_its_next_state_times_out() public {
        (uint256 task, uint256 id) = _liarGame(Lie.Unopenable, 5);
        assertTrue(!_play(id, submitter, challenger), "the liar is stuck");
        DisputeGame.Game memory g = game.game(id);
        assertTrue(g.turn == DisputeGame.Turn.OpenStep && g.lo == 5, "at the disputed token step");
        DisputeGame.StepOpening memory o = _stepOpening(5); // its best try: G_{t+1} has no preimage
        vm.prank(submitter);
        vm.expectRevert(DisputeGame.WrongGenerationState.selector);
        game.openStep(id, o);
        vm.warp(uint256(g.lastMove) + g.submitterTime + 1);
        vm.prank(anyone);
        game.timeout(id);
        _resolve(id, anyone);
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "the challenger wins on time");
        assertTrue(oracle.task(task).status == InferenceOracle.Status.Open, "task reopened");
        _checkConservation(total);
    }

    /// An honest submitter against a challenger that selects wrong parts in every phase: the
    /// submitter wins, and the generation finalizes with the callback receiving the ids.
    function _honestWins(Mode mode) internal {
        chalMode = mode;
        Receiver r = _receiver();
        uint256 task = _requestGen(address(r));
        _submitGen(task, submitter, false);
        uint256 id = _challenge(task, challenger);
        assertTrue(_play(id, submitter, challenger), "game ended");
        assertEq(oracle.credit(submitter), CHAL_BOND, "the challenger's bond to the submitter");
        vm.warp(block.timestamp + WINDOW);
        oracle.finalize(task, _genOutput(false));
        assertEq(r.lastOutput(), _genOutput(false), "the callback got the token ids");
        assertEq(oracle.credit(submitter), CHAL_BOND + SUB_BOND + FEE, "and its bond back plus fee");
        _checkConservation(total);
    }

    function test_challenger_selecting_first_parts_loses() public {
        _honestWins(Mode.First);
    }

    function test_challenger_selecting_last_parts_loses() public {
        _honestWins(Mode.Last);
    }

    /// A generation stopped early by the stop token: M < N, the last id is the stop token, the
    /// token phase runs over [0, P + M - 1]; a liar that claims it went on is caught.
    function test_stop_token_ends_the_generation_early() public {
        bytes memory full = _genOutput(false);
        stopToken = Generation.id(bytes32(_slice4(full, 2))); // the third new token
        bool earlier = Generation.id(bytes32(_slice4(full, 0))) == stopToken || Generation.id(bytes32(_slice4(full, 1))) == stopToken;
        assertTrue(!earlier, "the stop token is new at index 2");
        Receiver r = _receiver();
        uint256 task = _requestGen(address(r));
        bytes memory out = _genOutput(false);
        assertEq(out.length, 12, "three ids");
        _submitGen(task, submitter, false);
        assertEq(oracle.task(task).generated, 3, "M = 3");
        uint256 id = _challenge(task, challenger2); // a griefer: the honest result stands
        assertEq(game.game(id).hi, promptIds.length + 2, "T = P + M - 1");
        chalMode = Mode.Last;
        assertTrue(_play(id, submitter, challenger2), "ended");
        assertEq(oracle.credit(submitter), CHAL_BOND, "the honest stop wins");
        vm.warp(block.timestamp + WINDOW);
        oracle.finalize(task, out);
        assertEq(r.lastOutput(), out, "called back with the three ids");
        _checkConservation(total);
    }

    function _slice4(bytes memory b, uint256 i) internal pure returns (bytes4 w) {
        w = bytes4(bytes.concat(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]));
    }

    /// Any lie kind, step and arity: the honest challenger wins at the lie; an honest submitter
    /// beats any challenger; money is conserved.
    /// forge-config: default.fuzz.runs = 12
    function testFuzz_honest_party_wins(uint8 kindSeed, uint8 atSeed, uint8 kSeed, uint8 modeSeed, bool liar) public {
        _registerGen(1, 1, uint16(2 + (kSeed % 5)), 5);
        if (liar) {
            genLie = Lie(1 + (kindSeed % 4));
            // a sampler lie at a prompt step changes nothing: lie where it shows
            uint256 first = genLie == Lie.Sampler ? promptIds.length - 1 : 0;
            lieAt = first + (atSeed % (promptIds.length + maxNew - 1 - first));
            lieStep = 1 + (atSeed % 13);
        } else {
            chalMode = Mode(modeSeed % 3);
        }
        uint256 task = _requestGen(requester);
        _submitGen(task, submitter, liar);
        uint256 id = _challenge(task, challenger);
        assertTrue(_play(id, submitter, challenger), "game ended");
        if (liar) assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "the liar lost");
        else assertEq(oracle.credit(submitter), CHAL_BOND, "the honest submitter won");
        _checkConservation(total);
    }
}
