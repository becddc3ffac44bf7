// SPDX-License-Identifier: MIT
// GenReverts.t.sol: every bad generation request, result, binding and token-step opening reverts
// with its custom error before anything is spent or moved: unknown ids, a prompt longer than the
// context, no new tokens, a bad stop token or sampler, the wrong task kind; results of the wrong
// length, with ids out of the vocabulary, a stop token before the end or missing at an early end;
// a binding to other ids or another prompt; a token step opened with any of its proofs mutated;
// and generation models whose step graph is not laid out as docs/generation.md says.
pragma solidity ^0.8.28;

import {GenFixture} from "./lib/GenFixture.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {InferenceOracle} from "../src/InferenceOracle.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {Generation} from "../src/lib/Generation.sol";
import {Commitments} from "../src/lib/Commitments.sol";
import {Merkle} from "../src/lib/Merkle.sol";

contract GenRevertsTest is GenFixture {
    bool holdOpenStep;

    function setUp() public {
        _genSetUp(true, 7);
    }

    function _canOpenStep() internal view override returns (bool) {
        return !holdOpenStep && super._canOpenStep();
    }

    function _ask(bytes memory prompt, uint32 n, uint32 stop, bytes memory err) internal {
        vm.prank(requester);
        vm.expectRevert(err);
        oracle.requestGeneration{value: FEE}(genModelId, prompt, n, stop, sampler);
    }

    function test_bad_requests_are_refused() public {
        bytes memory p = _ids(promptIds);
        _ask("", 4, Generation.NO_STOP, abi.encodeWithSelector(InferenceOracle.BadPromptLength.selector, uint256(0)));
        _ask(hex"010203", 4, Generation.NO_STOP, abi.encodeWithSelector(InferenceOracle.BadPromptLength.selector, uint256(3)));
        _ask(p, 0, Generation.NO_STOP, abi.encodeWithSelector(InferenceOracle.NoNewTokens.selector));
        _ask(p, CTX - 3, Generation.NO_STOP, abi.encodeWithSelector(InferenceOracle.TooLong.selector, uint256(4), uint256(CTX - 3), uint256(CTX)));
        uint32[] memory long = new uint32[](CTX);
        _ask(_ids(long), 1, Generation.NO_STOP, abi.encodeWithSelector(InferenceOracle.TooLong.selector, uint256(CTX), uint256(1), uint256(CTX)));
        uint32[] memory bad = new uint32[](3);
        bad[1] = 5;
        bad[2] = VOCAB;
        _ask(_ids(bad), 4, Generation.NO_STOP, abi.encodeWithSelector(InferenceOracle.BadTokenId.selector, uint256(2), VOCAB, VOCAB));
        bad[2] = type(uint32).max; // an int32 -1
        _ask(_ids(bad), 4, Generation.NO_STOP, abi.encodeWithSelector(InferenceOracle.BadTokenId.selector, uint256(2), type(uint32).max, VOCAB));
        _ask(p, 4, VOCAB, abi.encodeWithSelector(InferenceOracle.BadStopToken.selector, VOCAB, VOCAB));
        // the sampler: a negative, infinite or NaN temperature; top-p outside (0, 1] when sampling
        uint32[5] memory temps = [uint32(0x80000000), 0xbf800000, 0x7f800000, 0x7fc00000, 0xff800000];
        for (uint256 i = 0; i < temps.length; i++) {
            sampler.temperature = temps[i];
            sampler.topP = 0x3f800000;
            _ask(p, 4, Generation.NO_STOP, abi.encodeWithSelector(InferenceOracle.BadSampler.selector));
        }
        sampler.temperature = 0x3f000000;
        uint32[3] memory tops = [uint32(0), 0x3f800001, 0x7fc00000];
        for (uint256 i = 0; i < tops.length; i++) {
            sampler.topP = tops[i];
            _ask(p, 4, Generation.NO_STOP, abi.encodeWithSelector(InferenceOracle.BadSampler.selector));
        }
        sampler.topP = 0x3f800000; // top-p 1 and any top-k: fine
        sampler.topK = type(uint32).max;
        vm.prank(requester);
        oracle.requestGeneration{value: FEE}(genModelId, p, 4, 0, sampler); // stop token 0: a real id
        // the wrong kind of task, an unknown model, no game bound yet
        _register(5, 2, 5);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongTaskKind.selector, modelId));
        oracle.requestGeneration(modelId, p, 4, Generation.NO_STOP, sampler);
        bytes[] memory inputs = new bytes[](gnin);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.WrongTaskKind.selector, genModelId));
        oracle.request(genModelId, inputs);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, uint256(99)));
        oracle.requestGeneration(99, p, 4, Generation.NO_STOP, sampler);
        InferenceOracle lone = new InferenceOracle(reg);
        vm.expectRevert(InferenceOracle.GameNotBound.selector);
        lone.requestGeneration(genModelId, p, 4, Generation.NO_STOP, sampler);
        assertEq(oracle.taskCount(), 1, "only the good request made a task");
    }

    function _result(uint32[] memory ids, bytes memory err) internal returns (uint256 task) {
        task = _requestGen(requester);
        vm.prank(submitter);
        vm.expectRevert(err);
        oracle.submit{value: SUB_BOND}(task, _ids(ids));
    }

    function test_bad_results_are_refused() public {
        stopToken = 9;
        uint32[] memory ids = new uint32[](0);
        _result(ids, abi.encodeWithSelector(InferenceOracle.BadGeneratedLength.selector, uint256(0), maxNew));
        ids = new uint32[](maxNew + 1);
        _result(ids, abi.encodeWithSelector(InferenceOracle.BadGeneratedLength.selector, uint256(4 * (maxNew + 1)), maxNew));
        uint256 task = _requestGen(requester);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(InferenceOracle.BadGeneratedLength.selector, uint256(5), maxNew));
        oracle.submit{value: SUB_BOND}(task, hex"0100000002");
        ids = new uint32[](3);
        ids[1] = VOCAB + 5;
        _result(ids, abi.encodeWithSelector(InferenceOracle.BadTokenId.selector, uint256(1), VOCAB + 5, VOCAB));
        ids[1] = 9; // the stop token before the end
        ids[2] = 9;
        _result(ids, abi.encodeWithSelector(InferenceOracle.EarlyStopToken.selector, uint256(1)));
        ids[1] = 4; // ended early without the stop token
        ids[2] = 5;
        _result(ids, abi.encodeWithSelector(InferenceOracle.MissingStopToken.selector));
        ids[2] = 9; // ended early at the stop token: accepted
        task = _requestGen(requester);
        vm.prank(submitter);
        oracle.submit{value: SUB_BOND}(task, _ids(ids));
        assertEq(oracle.task(task).generated, 3, "M = 3");
        ids = new uint32[](maxNew); // all N, the last one the stop token or not: accepted
        ids[maxNew - 1] = 9;
        task = _requestGen(requester);
        vm.prank(submitter);
        oracle.submit{value: SUB_BOND}(task, _ids(ids));
        ids[maxNew - 1] = 8;
        task = _requestGen(requester);
        vm.prank(submitter);
        oracle.submit{value: SUB_BOND}(task, _ids(ids));
        assertEq(oracle.task(task).generated, maxNew, "M = N");
    }

    /// Plays a liar's game up to the token step's opening; returns the game.
    function _toOpenStep(Lie l, uint256 at) internal returns (uint256 id) {
        (, id) = _liarGame(l, at);
        holdOpenStep = true;
        assertTrue(!_play(id, submitter, challenger), "held at the opening");
        holdOpenStep = false;
        assertTrue(game.game(id).turn == DisputeGame.Turn.OpenStep && game.game(id).lo == at, "the token step is due");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.OpenStep));
        game.resolve(id); // not decided
    }

    function test_bad_bindings() public {
        (, uint256 id) = _liarGame(Lie.Token, 5);
        genPlaying = true;
        Trace memory tr = _trace(true, false);
        bytes32 tokens = _tokensRoot(tr, tr.T);
        bytes32 kv = _kvRoot(tr, tr.T);
        bytes memory p = _ids(promptIds);
        bytes memory out = _output(tr);
        vm.startPrank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Bind));
        game.bindEnd(id, tokens, out, new bytes32[](0)); // a classifier's binding
        bytes memory other = bytes.concat(out);
        other[0] ^= 0x01;
        vm.expectRevert(DisputeGame.WrongOutput.selector);
        game.bindTokens(id, tokens, kv, p, other);
        bytes memory p2 = bytes.concat(p);
        p2[0] ^= 0x01;
        vm.expectRevert(DisputeGame.BadPrompt.selector);
        game.bindTokens(id, tokens, kv, p2, out);
        vm.expectRevert(DisputeGame.BadTokensRoot.selector);
        game.bindTokens(id, bytes32(uint256(tokens) ^ 1), kv, p, out);
        vm.stopPrank();
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourMove.selector, submitter));
        game.bindTokens(id, tokens, kv, p, out);
        vm.prank(submitter);
        game.bindTokens(id, tokens, kv, p, out);
        assertEq(game.game(id).endHash, Generation.state(tokens, kv), "G_T bound");
    }

    function _expectOpen(uint256 id, DisputeGame.StepOpening memory o, bytes memory err) internal {
        vm.prank(submitter);
        vm.expectRevert(err);
        game.openStep(id, o);
    }

    /// A generated step (t + 1 >= P) inside one leaf of ids: every proof mutated is refused.
    function test_bad_openings_of_a_generated_step() public {
        uint256 id = _toOpenStep(Lie.Sampler, 5);
        DisputeGame.StepOpening memory o = _stepOpening(5);
        DisputeGame.StepOpening memory b = _stepOpening(5);
        b.kvRoot = bytes32(uint256(1));
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.WrongGenerationState.selector));
        b = _stepOpening(5);
        b.nextKvRoot = bytes32(uint256(1));
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.WrongGenerationState.selector));
        b = _stepOpening(5);
        b.tokenLeaf = bytes32(uint256(b.tokenLeaf) ^ 1); // tokensRoot_t from another leaf
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.WrongGenerationState.selector));
        b = _stepOpening(5);
        assertEq(b.tokenPath.length, 0, "leaf 0 has no earlier siblings");
        b.tokenPath = new bytes32[](1);
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadTokenPath.selector));
        b = _stepOpening(5);
        b.promptPath = new bytes32[](1); // no prompt proof at a generated step
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadPromptPath.selector));
        b = _stepOpening(5);
        b.nextLeaf ^= bytes32(uint256(1) << 255); // not the id written into G_{t+1}
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.WrongGenerationState.selector));
        b = _stepOpening(5);
        b.statePath = new bytes32[](o.statePath.length - 1);
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadStatePath.selector));
        b = _stepOpening(5);
        b.statePath = new bytes32[](o.statePath.length + 1);
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadStatePath.selector));
        b = _stepOpening(5);
        b.statePath = _statePath(leavesOf[1], false); // a prompt step's: the kv subtree's alone
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadStatePath.selector));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourMove.selector, submitter));
        game.openStep(id, o);
        vm.prank(submitter);
        game.openStep(id, o);
        DisputeGame.Game memory g = game.game(id);
        assertTrue(g.phase == 1 && g.lo == 0 && g.hi == gn && g.turn == DisputeGame.Turn.Dissect, "phase 1 over the step graph");
        assertEq(g.startHash, _stepState(true, 0), "State_0 built on-chain from G_t");
        assertEq(g.endHash, _stepState(true, gn), "State_n from the state path: the liar's run's");
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongTurn.selector, DisputeGame.Turn.Dissect));
        game.openStep(id, o);
    }

    /// A generated step in the second leaf of ids (t = 8): x_t's leaf has an earlier sibling.
    function test_bad_token_paths_of_a_later_step() public {
        uint256 id = _toOpenStep(Lie.Token, 8);
        DisputeGame.StepOpening memory o = _stepOpening(8);
        assertEq(o.tokenPath.length, 1, "leaf 1: one earlier sibling (leaf 0)");
        DisputeGame.StepOpening memory b = _stepOpening(8);
        b.tokenPath[0] ^= bytes32(uint256(1));
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.WrongGenerationState.selector));
        b.tokenPath = new bytes32[](0);
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadTokenPath.selector));
        b.tokenPath = new bytes32[](2);
        b.tokenPath[0] = o.tokenPath[0]; // a zero root where none is taken
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadTokenPath.selector));
        vm.prank(submitter);
        game.openStep(id, o);
        assertEq(game.game(id).endHash, _stepState(true, gn), "opened");
    }

    /// A prompt step whose next id starts a new leaf (t = 7, P = 20): the prompt's proof, its
    /// earlier siblings taken from the tokens; each mutated is refused.
    function test_bad_openings_of_a_prompt_step_across_leaves() public {
        _setPrompt(20, 3);
        uint256 id = _toOpenStep(Lie.KvRow, 7);
        DisputeGame.StepOpening memory o = _stepOpening(7);
        assertEq(o.promptPath.length, 1, "leaf 1 of 3: one later sibling (leaf 2 beside a zero leaf)");
        DisputeGame.StepOpening memory b = _stepOpening(7);
        b.nextLeaf ^= bytes32(uint256(1) << 255); // prompt[8] other
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadPromptPath.selector));
        b = _stepOpening(7);
        b.nextLeaf ^= bytes32(uint256(1)); // another prompt id of the leaf other
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadPromptPath.selector));
        b = _stepOpening(7);
        b.promptPath = new bytes32[](0);
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadPromptPath.selector));
        b = _stepOpening(7);
        b.promptPath[0] ^= bytes32(uint256(1));
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadPromptPath.selector));
        b = _stepOpening(7);
        b.promptPath = new bytes32[](23); // more siblings than leaf 1 has later ones
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadPromptPath.selector));
        b = _stepOpening(7);
        b.statePath = _statePath(leavesOf[1], true); // a generated step's: the sampled token is not proven here
        _expectOpen(id, b, abi.encodeWithSelector(DisputeGame.BadStatePath.selector));
        b = _stepOpening(7);
        b.promptPath = new bytes32[](2);
        b.promptPath[0] = o.promptPath[0];
        b.promptPath[1] = Merkle.zero(2); // a trailing zero root given: the same root
        vm.prank(submitter);
        game.openStep(id, b);
        assertEq(game.game(id).phase, 1, "opened");
        assertEq(game.game(id).endHash, _stepState(true, gn), "the claimed State_n");
    }

    /// The kv subtree's path and the sampled token's share their upper siblings: a submitter that
    /// lies in one (here the shared sibling at the top, its G_{t+1} honest: the last token step)
    /// has claimed a State_n that is not its run's, whose last graph step it cannot open: it loses.
    function test_lying_shared_sibling_claims_a_state_it_cannot_defend() public {
        _registerGen(1, 2, 2, 5); // two fillers: the sampled token's leaf beside the kv subtree
        uint256 m = Merkle.meetHeight(gnin + kvNode, gnin + sampledNode);
        assertTrue(m < gD, "the two paths share siblings");
        (uint256 task, uint256 id) = _liarGame(Lie.None, 0);
        statePathLie = gD + m - kvH - 3; // the last of the state path: the shared one at the top
        assertTrue(!_play(id, submitter, challenger), "the submitter is stuck");
        DisputeGame.Game memory g = game.game(id);
        assertTrue(g.phase == 1 && g.turn == DisputeGame.Turn.Open && g.hi == gn, "at the graph's last step");
        assertTrue(g.endHash != _stepState(true, gn), "the opened State_n is not the run's");
        vm.warp(uint256(g.lastMove) + g.submitterTime + 1);
        vm.prank(anyone);
        game.timeout(id);
        game.resolve(id);
        assertEq(oracle.credit(challenger), CHAL_BOND + _share(1), "the challenger wins");
        assertTrue(oracle.task(task).status == InferenceOracle.Status.Open, "task reopened");
    }

    function _badGen(ModelRegistry.ModelSpec memory s, ModelRegistry.GenerationSpec memory g, bytes memory err) internal {
        vm.expectRevert(err);
        reg.registerGeneration(s, g);
    }

    /// A step graph's inputs never travel in a request (the caches' roots are in G_t), so only a
    /// VM slot bounds each: a LLaMA-7B-shaped context (32 layers, 4096 positions, K and V caches of
    /// 4096 x 4096 f32, 64 MiB each, 4 GiB in all) registers under the test bounds' 1 MiB of
    /// request inputs; a cache past a slot (2^28 bytes) is still refused. A classifier's inputs
    /// travel and stay bounded by maxInputBytes (Attacks.t.sol).
    function test_registry_bounds_a_step_graphs_inputs_by_a_slot_not_by_a_request() public {
        _buildStepGraph(32, 1); // 64 caches (c = 6): nin 67
        (ModelRegistry.ModelSpec memory s, ModelRegistry.GenerationSpec memory g) = _genSpec(2, 5);
        for (uint256 i = 0; i < 64; i++) s.inputBytes[i] = 4096 * 4096 * 4;
        g.ctx = 4096;
        uint256 id = reg.registerGeneration(s, g);
        assertEq(reg.generation(id).kvHeight, 6, "registered, c = 6");
        s.inputBytes[63] = uint32(1 << 28) + 1;
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.InputsTooLarge.selector, uint256(1 << 28) + 1, uint256(1 << 28)));
        s.inputBytes[63] = uint32(1 << 28); // exactly a slot
        reg.registerGeneration(s, g);
    }

    function test_registry_refuses_step_graphs_not_laid_out() public {
        _buildStepGraph(3, 1); // 6 caches and 2 pads (c = 3): nin 11, token 8, pos 9, sampler 10
        (ModelRegistry.ModelSpec memory s, ModelRegistry.GenerationSpec memory g) = _genSpec(2, 5);
        uint256 id = reg.registerGeneration(s, g);
        bytes32 step = Commitments.modelRoot(s.nodesRoot, s.nin, s.n, s.outputValue, s.stateDepth, s.outputBytes, s.inputBytes);
        assertEq(
            reg.model(id).modelRoot, keccak256(abi.encodePacked(step, g.vocab, g.ctx, g.layers, g.kvValue)), "generation root"
        );
        ModelRegistry.GenerationFacts memory f = reg.generation(id);
        assertTrue(f.vocab == VOCAB && f.kvHeight == 3 && f.stateDepth == s.stateDepth && f.n == s.n, "facts");
        assertEq(reg.generation(1).kvHeight, 1, "the setUp model's c");
        g.vocab = 0;
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadVocab.selector, uint32(0)));
        g.vocab = uint32(1 << 31) + 1;
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadVocab.selector, g.vocab));
        g.vocab = VOCAB;
        g.ctx = 1;
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadContext.selector, uint32(1), uint256(1 << 15)));
        g.ctx = (1 << 15) + 1; // the test bounds: 128 KiB of output, 32,768 ids
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadContext.selector, g.ctx, uint256(1 << 15)));
        g.ctx = CTX;
        g.layers = 0;
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadLayers.selector, uint32(0)));
        g.layers = 2; // 4 caches: nin would be 7
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadStepInputs.selector, uint256(11)));
        g.layers = 5; // 10 caches: nin would be 19
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadStepInputs.selector, uint256(11)));
        g.layers = 3;
        s.inputBytes[8] = 8; // the token input
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadStepInputs.selector, uint256(8)));
        s.inputBytes[8] = 4;
        s.inputBytes[9] = 2; // the position input
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadStepInputs.selector, uint256(9)));
        s.inputBytes[9] = 4;
        s.inputBytes[10] = 16; // the sampler input
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadStepInputs.selector, uint256(10)));
        s.inputBytes[10] = 20;
        uint32 kvv = g.kvValue;
        g.kvValue = kvv + 1; // not aligned
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadKvValue.selector, kvv + 1));
        g.kvValue = 8; // aligned, but inputs, not node outputs
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadKvValue.selector, uint32(8)));
        g.kvValue = kvv + 8; // past the graph
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadKvValue.selector, kvv + 8));
        g.kvValue = kvv;
        s.outputValue = kvv + 1; // the sampled token inside the cache outputs
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadSampledValue.selector, kvv + 1));
        s.outputValue = 5; // an input
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadSampledValue.selector, uint32(5)));
        s.outputValue = gnin + sampledNode;
        s.outputBytes = 8;
        _badGen(s, g, abi.encodeWithSelector(ModelRegistry.BadSampledValue.selector, s.outputValue));
        s.outputBytes = 4;
        s.clock = uint32(reg.movesPerSide(s.n, s.k, s.stepsLog2, 0)); // enough without the token phase
        _badGen(
            s,
            g,
            abi.encodeWithSelector(ModelRegistry.BadClock.selector, s.clock, reg.movesPerSide(s.n, s.k, s.stepsLog2, CTX), uint32(30 days))
        );
    }
}
