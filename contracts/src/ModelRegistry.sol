// SPDX-License-Identifier: MIT
// ModelRegistry.sol: the registered models. A model is its commitment (docs/commitments.md: the
// nodes root, the four numbers of the graph and the byte lengths of its inputs and output, which
// make up the model root), the guest program root the VM runs it with (docs/vm.md, slot 0), the
// game parameters every task on it uses (dissection arity k, phase-2 step bound T = 2^stepsLog2,
// challenge window, chess clock, bonds) and a URI where the model files are published. Models are
// immutable once registered: tasks and games read their parameters at any time and always get the
// values they started with.
//
// What a model may register is bounded (docs/game.md, "Model parameters"): protocol constants
// (MAX_K, MAX_STEPS_LOG2, MAX_INPUTS, MAX_NODES) where a transaction or the C side sets the limit,
// and the deployment's Bounds (immutable, given to the constructor) where the chain does: how long
// a window and a move must be to resist censorship and block stuffing, how large a bond must be to
// pay for a game, how many bytes a request or a result may carry.
pragma solidity ^0.8.28;

import {Merkle} from "./lib/Merkle.sol";
import {Commitments} from "./lib/Commitments.sol";

contract ModelRegistry {
    /// @notice Largest dissection arity: a dissection of k parts carries k - 1 roots, and a move
    ///         must stay under 100,000 gas (docs/game.md, Gas: k = 64 is 94,572).
    uint16 public constant MAX_K = 64;
    /// @notice Largest phase-2 step bound 2^62: VM steps are uint64 in the state and the game.
    uint8 public constant MAX_STEPS_LOG2 = 62;
    /// @notice Most graph inputs and nodes: the model file's own limits (actors/model/model.c).
    uint32 public constant MAX_INPUTS = 4096;
    uint32 public constant MAX_NODES = 1 << 24;
    /// @notice Largest vocabulary: token ids are int32 in the step graph's tensors.
    uint32 public constant MAX_VOCAB = 1 << 31;
    /// @notice Byte length of a step graph's token and position inputs (int32 [1]) and of its
    ///         sampled token (the output value).
    uint32 public constant TOKEN_BYTES = 4;
    /// @notice Byte length of a step graph's sampler input (docs/generation.md, "The step graph").
    uint32 public constant SAMPLER_BYTES = 20;

    /// @notice The deployment's limits on what a model may register (docs/game.md says what each
    ///         protects and gives the production values).
    struct Bounds {
        uint32 minWindow; // seconds: the least challenge window
        uint32 maxWindow; // seconds: the longest challenge window
        uint32 minMoveTime; // seconds each move of a game may take: clock >= moves * minMoveTime
        uint32 maxClock; // seconds: the longest chess clock
        uint96 minSubmitterBond; // wei
        uint96 minChallengerBond; // wei
        uint32 maxInputBytes; // all of a request's inputs together
        uint32 maxOutputBytes; // a result
    }

    /// @notice What a registrant supplies.
    struct ModelSpec {
        bytes32 nodesRoot; // Merkle root over the node leaves, depth ceil(log2(n))
        uint32 nin; // graph inputs
        uint32 n; // graph nodes
        uint32 outputValue; // the value id whose tensor is the result
        uint8 stateDepth; // D = ceil(log2(nin + n))
        uint32[] inputBytes; // byte length of each graph input (nin of them)
        uint32 outputBytes; // byte length of the result
        bytes32 guestRoot; // tensor root of the pinned guest program image
        uint16 k; // dissection arity, 2 ..= MAX_K
        uint8 stepsLog2; // phase 2 runs over VM steps [0, 2^stepsLog2]
        uint32 challengeWindow; // seconds after a submission during which games may open
        uint32 clock; // seconds of thinking time per side per game (chess clock)
        uint96 submitterBond; // wei
        uint96 challengerBond; // wei
        string uri; // where the model files can be fetched
    }

    /// @notice What a generation model registers beside its step graph's spec (docs/generation.md).
    struct GenerationSpec {
        uint32 vocab; // token ids are 0 .. vocab - 1
        uint32 ctx; // the caches' rows: a request's prompt and new tokens together fit in ctx
        uint32 layers; // L: the step graph's inputs start with the 2L key and value caches
        uint32 kvValue; // the value id of the first of the 2^c cache outputs of the step graph
    }

    /// @notice A generation model's facts as the oracle and the game read them: one storage slot.
    ///         vocab 0: not a generation model.
    struct GenerationFacts {
        uint32 vocab;
        uint32 ctx;
        uint32 n; // the step graph's nodes
        uint32 kvValue;
        uint32 outputValue; // the sampled token's value id
        uint8 kvHeight; // c = ceil(log2(2L)): the kv subtree has 2^c leaves
        uint8 stateDepth; // D of the step graph
    }

    /// @notice What a node's opening needs of its model (DisputeGame.openNode): three storage reads.
    struct NodeFacts {
        bytes32 nodesRoot;
        bytes32 guestRoot;
        uint32 nin;
        uint32 n;
        uint8 stateDepth;
        uint8 stepsLog2;
    }

    /// @notice What a challenge needs of its model (DisputeGame.challenge): three storage reads.
    struct ChallengeFacts {
        uint32 n;
        uint16 k;
        uint32 clock;
        uint96 challengerBond;
    }

    /// @notice A registered model: the spec plus its model root and registrant.
    struct Model {
        bytes32 modelRoot;
        // one slot: the owner and, copied from the spec at registration (a spec never changes),
        // the numbers an opening reads, so that nodeFacts reads three slots, not four
        address owner;
        uint32 nin;
        uint32 n;
        uint8 stateDepth;
        uint8 stepsLog2;
        ModelSpec spec;
    }

    uint32 internal immutable minWindow;
    uint32 internal immutable maxWindow;
    uint32 internal immutable minMoveTime;
    uint32 internal immutable maxClock;
    uint96 internal immutable minSubmitterBond;
    uint96 internal immutable minChallengerBond;
    uint32 internal immutable maxInputBytes;
    uint32 internal immutable maxOutputBytes;

    mapping(uint256 => Model) internal models;
    mapping(uint256 => GenerationFacts) internal generations;
    uint256 public modelCount;

    event ModelRegistered(
        uint256 indexed modelId,
        bytes32 indexed modelRoot,
        address indexed owner,
        bytes32 nodesRoot,
        bytes32 guestRoot,
        ModelSpec spec
    );

    /// @notice A generation model: its step graph's model root and its facts (ModelRegistered,
    ///         emitted with it, carries the generation root as modelRoot).
    event GenerationRegistered(
        uint256 indexed modelId, bytes32 stepRoot, uint32 vocab, uint32 ctx, uint32 layers, uint32 kvValue
    );

    error UnknownModel(uint256 modelId);
    error BadBounds();
    error NoNodes();
    error NoInputs();
    error TooManyValues(uint32 nin, uint32 n);
    error BadStateDepth(uint8 expected, uint8 given);
    error BadOutputValue(uint32 outputValue, uint32 values);
    error BadInputBytes(uint256 input);
    error InputsTooLarge(uint256 total, uint256 max);
    error BadOutputBytes(uint32 outputBytes, uint32 max);
    error BadArity(uint16 k);
    error BadStepBound(uint8 stepsLog2);
    error BadWindow(uint32 window, uint32 min, uint32 max);
    error BadClock(uint32 clock, uint256 min, uint32 max);
    error BondTooSmall(uint256 bond, uint256 min);
    error BadVocab(uint32 vocab);
    error BadContext(uint32 ctx, uint256 max);
    error BadLayers(uint32 layers);
    error BadStepInputs(uint256 input);
    error BadKvValue(uint32 kvValue);
    error BadSampledValue(uint32 outputValue);

    /// @param b the deployment's bounds: minWindow >= 1, minWindow <= maxWindow, minMoveTime >= 1,
    ///          maxClock >= minMoveTime, both byte limits 1 ..= 2^28 (a tensor slot), bonds >= 1 wei.
    constructor(Bounds memory b) {
        if (
            b.minWindow == 0 || b.minWindow > b.maxWindow || b.minMoveTime == 0 || b.maxClock < b.minMoveTime
                || b.minSubmitterBond == 0 || b.minChallengerBond == 0 || b.maxInputBytes == 0
                || b.maxInputBytes > Merkle.SLOT_BYTES || b.maxOutputBytes == 0 || b.maxOutputBytes > Merkle.SLOT_BYTES
        ) revert BadBounds();
        minWindow = b.minWindow;
        maxWindow = b.maxWindow;
        minMoveTime = b.minMoveTime;
        maxClock = b.maxClock;
        minSubmitterBond = b.minSubmitterBond;
        minChallengerBond = b.minChallengerBond;
        maxInputBytes = b.maxInputBytes;
        maxOutputBytes = b.maxOutputBytes;
    }

    /// @notice The deployment's bounds.
    function bounds() external view returns (Bounds memory) {
        return Bounds(
            minWindow, maxWindow, minMoveTime, maxClock, minSubmitterBond, minChallengerBond, maxInputBytes, maxOutputBytes
        );
    }

    /// @notice The most moves one side makes in a game on a model: the binding of the end state
    ///         (or the challenger's wait for it), a dissection (or selection) per round of the
    ///         token phase over up to `tokenSteps` steps (0 for a classifier), of phase 1 over n
    ///         graph steps and of phase 2 over 2^stepsLog2 VM steps (a round divides the range by
    ///         k, rounding up), the token step's opening when there is a token phase, and the
    ///         node's opening (or the one-step proof).
    function movesPerSide(uint32 n, uint16 k, uint8 stepsLog2, uint32 tokenSteps) public pure returns (uint256 moves) {
        if (k < 2) revert BadArity(k);
        moves = 2;
        if (tokenSteps > 0) moves++;
        for (uint256 x = 1; x < tokenSteps; x *= k) moves++;
        for (uint256 x = 1; x < n; x *= k) moves++;
        for (uint256 x = 1; x < uint256(1) << stepsLog2; x *= k) moves++;
    }

    /// @notice Registers a model; returns its id (1, 2, ...). The model root is computed here from
    ///         the spec (docs/commitments.md, "Node leaf and model root").
    /// @dev Reverts when the numbers are inconsistent (no nodes or inputs, more than MAX_INPUTS or
    ///      MAX_NODES, a state depth other than ceil(log2(nin + n)), an output value past the graph,
    ///      not one nonzero byte length per input) or out of bounds (docs/game.md): k outside
    ///      2 ..= MAX_K, a step bound outside 1 ..= MAX_STEPS_LOG2, inputs or output larger than the
    ///      deployment allows, a window outside [minWindow, maxWindow], a clock shorter than
    ///      movesPerSide * minMoveTime or longer than maxClock, a bond under its minimum.
    function register(ModelSpec calldata spec) external returns (uint256 modelId) {
        _checkGraph(spec, true);
        _checkGame(spec, 0);
        modelId = _store(spec, _stepRoot(spec));
    }

    /// @notice Registers a generation model (docs/generation.md): `spec` is its decoding step's
    ///         graph, `gen` the facts of the token phase. Its model root is the generation root
    ///         keccak256(stepRoot ++ vocab ++ ctx ++ layers ++ kvValue) (docs/commitments.md).
    /// @dev Reverts as register does (but the step graph's inputs do not travel in a request: each
    ///      input is bounded by a VM slot, 2^28 bytes, InputsTooLarge, and their sum is not bounded
    ///      by maxInputBytes), and when the step graph is not laid out as docs/generation.md says: vocab outside 1 ..= MAX_VOCAB (BadVocab); ctx under 2 or past what a request or
    ///      result may carry as int32 ids (BadContext); no layers (BadLayers); inputs other than
    ///      the 2^c cache leaves, then token, pos and sampler of 4, 4 and 20 bytes (BadStepInputs);
    ///      a kv output range not aligned to 2^c, not node outputs or past the graph (BadKvValue);
    ///      a sampled token that is not a 4-byte node output outside that range (BadSampledValue).
    function registerGeneration(ModelSpec calldata spec, GenerationSpec calldata gen) external returns (uint256 modelId) {
        _checkGraph(spec, false);
        uint8 c = _checkGeneration(spec, gen);
        _checkGame(spec, gen.ctx);
        bytes32 stepRoot = _stepRoot(spec);
        modelId = _store(spec, Commitments.generationRoot(stepRoot, gen.vocab, gen.ctx, gen.layers, gen.kvValue));
        generations[modelId] = GenerationFacts(gen.vocab, gen.ctx, spec.n, gen.kvValue, spec.outputValue, c, spec.stateDepth);
        emit GenerationRegistered(modelId, stepRoot, gen.vocab, gen.ctx, gen.layers, gen.kvValue);
    }

    function _stepRoot(ModelSpec calldata spec) internal pure returns (bytes32) {
        return Commitments.modelRoot(
            spec.nodesRoot, spec.nin, spec.n, spec.outputValue, spec.stateDepth, spec.outputBytes, spec.inputBytes
        );
    }

    function _store(ModelSpec calldata spec, bytes32 root) internal returns (uint256 modelId) {
        modelId = ++modelCount;
        Model storage m = models[modelId];
        m.modelRoot = root;
        m.owner = msg.sender;
        (m.nin, m.n, m.stateDepth, m.stepsLog2) = (spec.nin, spec.n, spec.stateDepth, spec.stepsLog2);
        m.spec = spec;
        emit ModelRegistered(modelId, root, msg.sender, spec.nodesRoot, spec.guestRoot, spec);
    }

    /// @dev The step graph's layout (docs/generation.md, "The step graph"); returns c.
    function _checkGeneration(ModelSpec calldata spec, GenerationSpec calldata gen) internal view returns (uint8 c) {
        if (gen.vocab == 0 || gen.vocab > MAX_VOCAB) revert BadVocab(gen.vocab);
        // a prompt and its new tokens are int32 ids: both fit in what a request and a result carry
        uint256 maxCtx = (maxInputBytes < maxOutputBytes ? maxInputBytes : maxOutputBytes) / TOKEN_BYTES;
        if (gen.ctx < 2 || gen.ctx > maxCtx) revert BadContext(gen.ctx, maxCtx);
        if (gen.layers == 0 || gen.layers > MAX_INPUTS / 2) revert BadLayers(gen.layers);
        c = Merkle.depthFor(2 * uint256(gen.layers));
        uint256 kv = uint256(1) << c;
        if (spec.nin != kv + 3) revert BadStepInputs(spec.nin);
        if (spec.inputBytes[kv] != TOKEN_BYTES) revert BadStepInputs(kv);
        if (spec.inputBytes[kv + 1] != TOKEN_BYTES) revert BadStepInputs(kv + 1);
        if (spec.inputBytes[kv + 2] != SAMPLER_BYTES) revert BadStepInputs(kv + 2);
        uint256 values = uint256(spec.nin) + spec.n;
        if (gen.kvValue % kv != 0 || gen.kvValue < spec.nin || gen.kvValue + kv > values) revert BadKvValue(gen.kvValue);
        if (
            spec.outputBytes != TOKEN_BYTES || spec.outputValue < spec.nin
                || (spec.outputValue >= gen.kvValue && spec.outputValue < gen.kvValue + kv)
        ) revert BadSampledValue(spec.outputValue);
    }

    /// @dev The commitment's numbers: the graph and the byte lengths of its inputs and output.
    ///      `requested`: the inputs travel in a request (a classifier's), so together they are
    ///      bounded by maxInputBytes. A step graph's inputs never travel (the caches' roots are in
    ///      G_t, token, position and sampler are computed; a request carries the prompt, bounded
    ///      through ctx): each must only fit a VM operand slot, 2^28 bytes.
    function _checkGraph(ModelSpec calldata spec, bool requested) internal view {
        if (spec.n == 0) revert NoNodes();
        if (spec.nin == 0) revert NoInputs();
        if (spec.nin > MAX_INPUTS || spec.n > MAX_NODES) revert TooManyValues(spec.nin, spec.n);
        uint256 values = uint256(spec.nin) + spec.n;
        uint8 d = Merkle.depthFor(values);
        if (spec.stateDepth != d) revert BadStateDepth(d, spec.stateDepth);
        if (spec.outputValue >= values) revert BadOutputValue(spec.outputValue, uint32(values));
        if (spec.inputBytes.length != spec.nin) revert BadInputBytes(spec.inputBytes.length);
        uint256 total;
        for (uint256 i = 0; i < spec.nin; i++) {
            uint256 b = spec.inputBytes[i];
            if (b == 0) revert BadInputBytes(i);
            if (!requested && b > Merkle.SLOT_BYTES) revert InputsTooLarge(b, Merkle.SLOT_BYTES);
            total += b;
        }
        if (requested && total > maxInputBytes) revert InputsTooLarge(total, maxInputBytes);
        // 0 stays reserved for a task kind whose output length another commitment fixes
        if (spec.outputBytes == 0 || spec.outputBytes > maxOutputBytes) revert BadOutputBytes(spec.outputBytes, maxOutputBytes);
    }

    /// @dev The game's parameters against the deployment's bounds; tokenSteps: the most token
    ///      steps a game may bisect (a generation model's ctx; 0 for a classifier).
    function _checkGame(ModelSpec calldata spec, uint32 tokenSteps) internal view {
        if (spec.k < 2 || spec.k > MAX_K) revert BadArity(spec.k);
        if (spec.stepsLog2 == 0 || spec.stepsLog2 > MAX_STEPS_LOG2) revert BadStepBound(spec.stepsLog2);
        if (spec.challengeWindow < minWindow || spec.challengeWindow > maxWindow) {
            revert BadWindow(spec.challengeWindow, minWindow, maxWindow);
        }
        uint256 minClock = movesPerSide(spec.n, spec.k, spec.stepsLog2, tokenSteps) * minMoveTime;
        if (spec.clock < minClock || spec.clock > maxClock) revert BadClock(spec.clock, minClock, maxClock);
        if (spec.submitterBond < minSubmitterBond) revert BondTooSmall(spec.submitterBond, minSubmitterBond);
        if (spec.challengerBond < minChallengerBond) revert BondTooSmall(spec.challengerBond, minChallengerBond);
    }

    /// @notice The registered model `modelId`; reverts with UnknownModel if there is none.
    function model(uint256 modelId) external view returns (Model memory) {
        return _model(modelId);
    }

    /// @notice What the oracle reads when a game against a task on the model ends: the challenge
    ///         window (a rejected task's quiet time) and the challenger bond it pays out, from two
    ///         storage slots. The model's existence is not checked (all zero for an unknown one):
    ///         the oracle asks only about the models of its tasks.
    function payoutFacts(uint256 modelId) external view returns (uint256 challengeWindow_, uint256 challengerBond_) {
        ModelSpec storage s = models[modelId].spec;
        return (s.challengeWindow, s.challengerBond);
    }

    /// @notice What a challenge reads of a model: n, k, the clock and the challenger bond (three
    ///         storage reads: the owner's slot, where n is copied at registration, and two of the
    ///         spec's; spec() would copy the input lengths and the URI too).
    function challengeFacts(uint256 modelId) external view returns (ChallengeFacts memory f) {
        Model storage m = _model(modelId);
        f = ChallengeFacts(m.n, m.spec.k, m.spec.clock, m.spec.challengerBond);
    }

    /// @notice The submitter bond of a model.
    function submitterBond(uint256 modelId) external view returns (uint96) {
        return _model(modelId).spec.submitterBond;
    }

    /// @notice Where a model's output sits in State_n: its value id and the state depth D (one
    ///         storage read; what bindEnd needs).
    function outputLeaf(uint256 modelId) external view returns (uint32 outputValue, uint8 stateDepth) {
        ModelSpec storage s = _model(modelId).spec;
        return (s.outputValue, s.stateDepth);
    }

    /// @notice The byte length of a model's output (a generation model's: its sampled token's).
    function outputBytes(uint256 modelId) external view returns (uint32) {
        return _model(modelId).spec.outputBytes;
    }

    /// @notice The challenge window of a model (the oracle's quiet period after a rejection).
    function challengeWindow(uint256 modelId) external view returns (uint256) {
        return _model(modelId).spec.challengeWindow;
    }

    /// @notice The model's spec alone (what the oracle and the game read).
    function spec(uint256 modelId) external view returns (ModelSpec memory) {
        return _model(modelId).spec;
    }

    /// @notice What openNode reads of a model: its nodes and guest roots, nin, n, D and the step
    ///         bound (three storage reads: the two roots and the owner's slot, where the numbers
    ///         are copied at registration; spec() would read the input lengths and the URI too).
    ///         A registered model has n >= 1, so n == 0 is an unknown model (UnknownModel).
    function nodeFacts(uint256 modelId) external view returns (NodeFacts memory f) {
        Model storage m = models[modelId];
        f = NodeFacts(m.spec.nodesRoot, m.spec.guestRoot, m.nin, m.n, m.stateDepth, m.stepsLog2);
        if (f.n == 0) revert UnknownModel(modelId);
    }

    /// @notice A generation model's facts (one storage read); all zero for a classifier.
    function generation(uint256 modelId) external view returns (GenerationFacts memory f) {
        f = generations[modelId];
        if (f.vocab == 0) _model(modelId); // a classifier's (all zero) or an unknown model's (reverts)
    }

    function _model(uint256 modelId) internal view returns (Model storage m) {
        m = models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
    }
}
