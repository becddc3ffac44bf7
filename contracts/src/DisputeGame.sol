// SPDX-License-Identifier: MIT
// DisputeGame.sol: the verification game (docs/architecture.md); the rules in one place are
// docs/game.md, and docs/generation.md for the token phase. One game = one submission (the
// oracle's) against one challenger; any number of games may run against the same submission.
//
// A game is a range [lo, hi] with the agreed hash at lo (startHash) and the submitter's claimed
// hash at hi (endHash). Nothing but the output was committed at submission: the game's first move
// is the submitter's binding of its end state to the submitted output (bindEnd: State_n holds the
// output's tensor root at the output value; bindTokens: a generation's G_T holds the tokens root of
// prompt ++ output). Then the submitter dissects the range into m = min(k, hi - lo) parts by
// posting m - 1 roots (kept only as a hash, partsHash; the roots travel in calldata and events);
// the challenger selects the part whose start it agrees with and whose end it disputes. A
// generation game starts with the token phase (phase 0) over token steps [0, T] (G_t hashes); at
// one token step the submitter opens it (openStep): the contract builds the step graph's State_0
// from G_t and checks the claimed State_n against G_{t+1}. Phase 1 runs over graph steps [0, n]
// (graph state roots); at one step the submitter opens the node (openNode): the contract builds
// the VM's initial state for that node and takes the submitter's claimed final VM state, and
// phase 2 runs the same dissection over VM steps [0, T] (VM state hashes). At one VM step the
// one-step proof (RiscvStep) decides. Chess clocks: each side has `clock` seconds in all; the side
// to move that runs out loses (timeout, callable by anyone). A decided game (step or timeout) waits
// in turn Resolve, no clock running, until anyone sends resolve, which tells the oracle the
// outcome: deciding and paying are two transactions, each under 100,000 gas (docs/game.md, Gas).
//
// Money: none here. challenge forwards the challenger's bond to the oracle (gameOpened), which
// holds every bond and fee and pays every credit (InferenceOracle's withdraw()): when the game ends
// (resolve or abandon) the oracle credits the bond to the winner, or back to the challenger when
// the submission was rejected elsewhere, with the challenger's share of a rejected bond. Invariant:
// this contract's balance is 0.
pragma solidity ^0.8.28;

import {Merkle, ZEROS} from "./lib/Merkle.sol";
import {Commitments} from "./lib/Commitments.sol";
import {Generation, SLOT_SIBLINGS} from "./lib/Generation.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {InferenceOracle} from "./InferenceOracle.sol";
import {RiscvStep} from "./RiscvStep.sol";

contract DisputeGame {
    /// @notice Whose move it is. Bind, Dissect, OpenStep and Open are the submitter's, Select and
    ///         Step the challenger's (anyone may send the one-step proof). Resolve: the game is
    ///         decided (challengerWon), no clock runs, anyone may send resolve. New turns are
    ///         appended: the numbers are the C side's (bisector/game.h).
    enum Turn {
        None,
        Dissect,
        Select,
        Open,
        Step,
        Done,
        Bind,
        OpenStep,
        Resolve
    }

    /// @dev Laid out so that a move touches few slots: slot 0 is what every move reads and
    ///      writes (the range, the turn, the clock of the last move and the submitter's), slot 1
    ///      the submitter's side and what the phase changes read, slot 2 the challenger's side.
    struct Game {
        // slot 0
        uint64 lo;
        uint64 hi;
        uint8 phase; // 0: token steps (generation), 1: graph steps, 2: VM steps
        Turn turn;
        uint40 lastMove;
        uint40 submitterTime; // clock time left, seconds
        uint32 node; // phase 2: the graph step (node + 1) being run
        // slot 1
        address submitter;
        uint64 taskId;
        uint32 modelId;
        // slot 2
        address challenger;
        uint40 challengerTime;
        uint32 subId;
        uint16 k;
        bool challengerWon; // the decision, once the turn is Resolve
        // slot 3, 4, 5
        bytes32 startHash; // agreed hash at lo
        bytes32 endHash; // submitter's hash at hi (UNBOUND until the binding)
        bytes32 partsHash; // keccak256 of the roots of the pending dissection
    }

    /// @notice The submitter's opening of token step t = lo (see openStep and docs/generation.md,
    ///         "Opening a token step"). The tokens roots and the claimed State_n are not sent: the
    ///         contract computes them from the leaves and paths.
    struct StepOpening {
        bytes32 kvRoot; // kvRoot_t: keccak256(tokensRoot_t ++ kvRoot) == G_t (startHash)
        bytes32 nextKvRoot; // kvRoot_{t+1}: keccak256(tokensRoot_{t+1} ++ nextKvRoot) == G_{t+1} (endHash)
        bytes32 tokenLeaf; // leaf t / 8 of tokensRoot_t: x_t in slot t % 8
        bytes32[] tokenPath; // its siblings at the heights h where bit h of t / 8 is 1, leaf level first
        bytes32 nextLeaf; // t + 1 < P: leaf (t + 1) / 8 of the prompt (x_{t+1} in slot (t + 1) % 8); else x_{t+1}'s 4 bytes first
        bytes32[] promptPath; // t + 1 < P: that leaf's siblings where bit h of (t + 1) / 8 is 0, leaf level first, trailing Z(h) left off; else none
        bytes32[] statePath; // State_n's siblings of the kv subtree, and when t + 1 >= P of the sampled token's leaf (Generation.stateNFrom)
    }

    /// @notice The submitter's opening of graph step `hi` (see openNode and docs/game.md).
    struct NodeOpening {
        bytes32 output; // o: the node's output root, leaf x = nin - 1 + s of State_s
        bytes32[] statePath; // D siblings of leaf x (same in State_{s-1} where it is zero)
        bytes32 descriptorRoot; // node leaf preimage...
        uint16 inputMask;
        bytes32[] refs; // the node leaf's refs[0 .. r-1], r <= 12; refs[r .. 11] are Z(23), the empty slot
        bytes32[] nodePath; // ceil(log2 n) siblings of node leaf s - 1 in nodesRoot
        bytes32[] valueRoots; // tensor roots of the value operands, in operand order
        bytes32[] valuePaths; // per value operand at leaf y != x: its h siblings, h = the top bit of x ^ y (statePath[h] is y's subtree's root); none when y == x
        bytes finalState; // 173-byte packed VM state the submitter claims at step T
        bytes32[4] slotPath; // siblings of slot 15 in the final state's memory root
    }

    /// @notice A game's endHash before the submitter binds its end state (nonzero, so that the
    ///         binding resets a slot instead of setting one: the binding is a move, held to 100k gas).
    bytes32 public constant UNBOUND = bytes32(uint256(1));

    ModelRegistry public immutable registry;
    InferenceOracle public immutable oracle;
    RiscvStep public immutable riscv;

    mapping(uint256 => Game) internal games;
    uint256 public gameCount;

    /// @notice phase 0: a generation's token phase over [0, n = T]; phase 1: graph steps [0, n].
    ///         The submitter's end state follows in EndBound.
    event GameStarted(
        uint256 indexed gameId,
        uint256 indexed taskId,
        address indexed challenger,
        uint32 subId,
        address submitter,
        bytes32 state0,
        uint64 n,
        uint8 phase
    );
    /// @notice The submitter bound its end state (State_n, or a generation's G_T) to the output.
    event EndBound(uint256 indexed gameId, uint8 phase, bytes32 endState);
    /// @notice Token step t opened: phase 1 runs over the step graph's [0, n] from state0 (built
    ///         here from G_t) to the claimed stateN; token is x_t, next x_{t+1}.
    event StepOpened(
        uint256 indexed gameId, uint64 step, uint32 token, uint32 next, bytes32 state0, bytes32 stateN, uint32 n
    );
    event Dissected(uint256 indexed gameId, uint8 phase, uint64 lo, uint64 hi, bytes32[] roots);
    event Selected(uint256 indexed gameId, uint8 phase, uint256 part, uint64 lo, uint64 hi, bytes32 startHash, bytes32 endHash);
    event NodeOpened(
        uint256 indexed gameId, uint32 node, bytes32 output, bytes32 initialState, bytes32 finalState, uint64 steps, bytes finalPacked
    );
    event OneStep(uint256 indexed gameId, uint64 step, bytes32 preState, bytes32 postState, bytes32 claimed);
    event TimedOut(uint256 indexed gameId, Turn turn, address loser);
    event GameResolved(uint256 indexed gameId, address indexed winner, bool challengerWon, uint256 payout);
    event GameAbandoned(uint256 indexed gameId, uint256 refund);

    error UnknownGame(uint256 gameId);
    error NotSubmitted();
    error WindowClosed();
    error WrongBond(uint256 expected, uint256 given);
    error SelfChallenge();
    error WrongTurn(Turn turn);
    error NotYourMove(address expected);
    error ClockExpired(uint256 overBy);
    error ClockRunning(uint256 left);
    error WrongRootCount(uint256 expected, uint256 given);
    error PartsMismatch();
    error BadPart(uint256 part, uint256 parts);
    error BadStatePath();
    error BadNodePath();
    error BadValuePath(uint256 operand);
    error BadValueRef(uint256 operand);
    error BadValueCount(uint256 expected, uint256 given);
    /// @notice An opening's value paths hold other than the siblings its value operands need.
    error BadValueSiblings(uint256 expected, uint256 given);
    /// @notice An opening sent more than 12 refs.
    error BadRefs(uint256 given);
    error BadFinalState();
    error BadOutputSlot();
    error WrongPreState();
    error StillLive();
    error WrongOutput();
    error BadPrompt();
    error BadTokensRoot();
    error WrongGenerationState();
    error BadTokenPath();
    error BadPromptPath();

    constructor(ModelRegistry registry_, InferenceOracle oracle_, RiscvStep riscv_) {
        registry = registry_;
        oracle = oracle_;
        riscv = riscv_;
    }

    // ---- opening ----

    /// @notice Opens a game against the live submission of `taskId`, with the model's challenger
    ///         bond as msg.value (forwarded to the oracle, which holds it until the game ends),
    ///         during the challenge window. The caller becomes the challenger.
    ///         The submitter's first move binds its end state (bindEnd, or bindTokens for a
    ///         generation, whose game starts with the token phase over [0, T]).
    /// @return gameId the new game's id (1, 2, ...)
    function challenge(uint256 taskId) external payable returns (uint256 gameId) {
        InferenceOracle.SubmissionView memory s = oracle.submission(taskId);
        if (s.status != InferenceOracle.Status.Submitted) revert NotSubmitted();
        if (block.timestamp >= s.deadline) revert WindowClosed();
        if (msg.sender == s.submitter) revert SelfChallenge();
        ModelRegistry.ChallengeFacts memory m = registry.challengeFacts(s.modelId);
        if (msg.value != m.challengerBond) revert WrongBond(m.challengerBond, msg.value);
        oracle.gameOpened{value: msg.value}(taskId, s.subId);
        gameId = ++gameCount;
        Game storage g = games[gameId];
        uint8 phase = s.tokenSteps > 0 ? 0 : 1;
        uint64 hi = s.tokenSteps > 0 ? s.tokenSteps : m.n;
        g.submitter = s.submitter;
        g.lo = 0;
        g.phase = phase;
        g.turn = Turn.Bind;
        g.k = m.k;
        g.challenger = msg.sender;
        g.hi = hi;
        g.modelId = uint32(s.modelId);
        g.startHash = s.state0;
        g.endHash = UNBOUND;
        g.partsHash = bytes32(uint256(1)); // kept nonzero: later writes cost a reset, not a set
        g.taskId = uint64(taskId);
        g.subId = s.subId;
        g.lastMove = uint40(block.timestamp);
        g.submitterTime = m.clock;
        g.challengerTime = m.clock;
        emit GameStarted(gameId, taskId, msg.sender, s.subId, s.submitter, s.state0, hi, phase);
    }

    // ---- binding the end state ----

    /// @notice A classifier game's first move, the submitter's: its State_n, which must hold the
    ///         submitted output's tensor root at leaf outputValue (`proof`: the D siblings).
    ///         `output` is the submitted bytes again (checked against the oracle's hash).
    function bindEnd(uint256 gameId, bytes32 stateN, bytes calldata output, bytes32[] calldata proof) external {
        Game storage g = _binding(gameId, 1);
        _checkOutput(g, output);
        (uint32 outputValue, uint8 depth) = registry.outputLeaf(g.modelId);
        if (proof.length != depth) revert BadStatePath();
        if (Merkle.rootFromPath(Merkle.tensorRoot(output), outputValue, proof) != stateN) revert BadStatePath();
        _bound(gameId, g, stateN);
    }

    /// @notice A generation game's first move, the submitter's: its G_T = keccak256(tokensRoot ++
    ///         kvRoot), whose tokensRoot must be the tensor root of prompt ++ output (the request's
    ///         prompt and the submitted ids again, checked against the oracle's roots and hash).
    function bindTokens(uint256 gameId, bytes32 tokensRoot, bytes32 kvRoot, bytes calldata prompt, bytes calldata output)
        external
    {
        Game storage g = _binding(gameId, 0);
        _checkOutput(g, output);
        if (Merkle.tensorRoot(prompt) != oracle.promptRoot(g.taskId)) revert BadPrompt();
        if (Merkle.tensorRootMem(bytes.concat(prompt, output)) != tokensRoot) revert BadTokensRoot();
        _bound(gameId, g, Generation.state(tokensRoot, kvRoot));
    }

    function _binding(uint256 gameId, uint8 phase) internal returns (Game storage g) {
        g = _game(gameId);
        if (g.turn != Turn.Bind || g.phase != phase) revert WrongTurn(g.turn);
        if (msg.sender != g.submitter) revert NotYourMove(g.submitter);
        _tick(g, true);
    }

    function _checkOutput(Game storage g, bytes calldata output) internal view {
        if (keccak256(output) != oracle.outputHash(g.taskId)) revert WrongOutput();
    }

    function _bound(uint256 gameId, Game storage g, bytes32 endState) internal {
        g.endHash = endState;
        g.turn = _turnAt(g.phase, g.lo, g.hi);
        emit EndBound(gameId, g.phase, endState);
    }

    /// @dev The turn once [lo, hi] of `phase` is reached: dissect while longer than one step; at
    ///      one step the token step's opening, the node's opening or the one-step proof.
    function _turnAt(uint8 phase, uint64 lo, uint64 hi) internal pure returns (Turn) {
        if (hi - lo > 1) return Turn.Dissect;
        if (phase == 0) return Turn.OpenStep;
        return phase == 1 ? Turn.Open : Turn.Step;
    }

    // ---- dissection ----

    /// @notice The submitter splits [lo, hi] into m = min(k, hi - lo) parts by posting the m - 1
    ///         inner hashes: roots[j] is its hash at lo + (hi - lo) * (j + 1) / m.
    function dissect(uint256 gameId, bytes32[] calldata roots) external {
        Game storage g = _game(gameId);
        if (g.turn != Turn.Dissect) revert WrongTurn(g.turn);
        if (msg.sender != g.submitter) revert NotYourMove(g.submitter);
        uint256 len = g.hi - g.lo;
        uint256 m = len < g.k ? len : g.k;
        if (roots.length != m - 1) revert WrongRootCount(m - 1, roots.length);
        _tick(g, true);
        bytes32 h;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, roots.offset, shl(5, roots.length))
            h := keccak256(p, shl(5, roots.length))
        }
        g.partsHash = h;
        g.turn = Turn.Select;
        emit Dissected(gameId, g.phase, g.lo, g.hi, roots);
    }

    /// @notice The challenger picks part `part` (0-based) of the last dissection: it agrees with
    ///         the part's start hash and disputes its end hash. `roots` are the dissection's roots
    ///         again (checked against the stored hash).
    function select(uint256 gameId, bytes32[] calldata roots, uint256 part) external {
        Game storage g = _game(gameId);
        if (g.turn != Turn.Select) revert WrongTurn(g.turn);
        if (msg.sender != g.challenger) revert NotYourMove(g.challenger);
        bytes32 h;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, roots.offset, shl(5, roots.length))
            h := keccak256(p, shl(5, roots.length))
        }
        if (h != g.partsHash) revert PartsMismatch();
        uint256 m = roots.length + 1;
        if (part >= m) revert BadPart(part, m);
        _tick(g, false);
        uint256 lo = g.lo;
        uint256 len = g.hi - lo;
        uint64 newLo = uint64(lo + (len * part) / m);
        uint64 newHi = uint64(lo + (len * (part + 1)) / m);
        if (part > 0) g.startHash = roots[part - 1];
        if (part < m - 1) g.endHash = roots[part];
        g.lo = newLo;
        g.hi = newHi;
        g.turn = _turnAt(g.phase, newLo, newHi);
        emit Selected(gameId, g.phase, part, newLo, newHi, g.startHash, g.endHash);
    }

    // ---- the token phase to phase 1 ----

    /// @notice At one token step t = lo (agreed G_t, disputed G_{t+1}) the submitter opens it
    ///         (docs/generation.md, "Opening a token step"): x_t's leaf in tokensRoot_t and its
    ///         earlier siblings give tokensRoot_t, which with kvRoot must make G_t; x_{t+1} is
    ///         prompt[t + 1] (its leaf and later siblings proven in the prompt's root) while
    ///         t + 1 < P, else the sent id; tokensRoot_{t+1} (x_{t+1} written at id t + 1) with
    ///         nextKvRoot must make G_{t+1}. The claimed step-graph State_n is the root the state
    ///         path gives to kvRoot_{t+1} as the kv subtree and, when t + 1 >= P, to x_{t+1}'s
    ///         tensor root at the sampled token's leaf. The contract builds the step graph's
    ///         State_0 from kvRoot_t, x_t, t and the sampler input of step t, and phase 1 starts
    ///         over [0, n] from it to State_n.
    function openStep(uint256 gameId, StepOpening calldata o) external {
        Game storage g = _game(gameId);
        if (g.turn != Turn.OpenStep) revert WrongTurn(g.turn);
        if (msg.sender != g.submitter) revert NotYourMove(g.submitter);
        _tick(g, true);
        uint256 t = g.lo;
        (uint256 promptLength, InferenceOracle.Sampler memory r) = oracle.stepFacts(g.taskId);
        bool promptStep = t + 1 < promptLength;
        bytes32[ZEROS] memory z = Merkle.zeros();
        bytes32 nextWord = _nextTokens(g, o, t, promptStep, z);
        ModelRegistry.GenerationFacts memory f = registry.generation(g.modelId);
        (bytes32 stateN, bool ok) = Generation.stateNFrom(
            o.nextKvRoot, Merkle.wordTensorRoot(nextWord), !promptStep, f.kvValue, f.kvHeight, f.outputValue, f.stateDepth, o.statePath
        );
        if (!ok) revert BadStatePath();
        // State_0 from G_t: the kv subtree, then token, position and sampler inputs
        bytes32 tokenWord = Generation.slot(o.tokenLeaf, t % Generation.IDS_PER_LEAF);
        bytes32 state0 = Generation.stepState0(
            o.kvRoot,
            f.kvHeight,
            Merkle.wordTensorRoot(tokenWord),
            Merkle.wordTensorRoot(Generation.le32(uint32(t))),
            Merkle.wordTensorRoot(
                Generation.samplerWord(Generation.drawState(r.seed, t, promptLength), r.temperature, r.topK, r.topP)
            ),
            f.stateDepth,
            z
        );
        g.phase = 1;
        g.lo = 0;
        g.hi = f.n;
        g.startHash = state0;
        g.endHash = stateN;
        g.turn = _turnAt(1, 0, f.n);
        emit StepOpened(gameId, uint64(t), Generation.id(tokenWord), Generation.id(nextWord), state0, stateN, f.n);
    }

    /// @dev Checks the opening's tokens against G_t and G_{t+1} (and the prompt's root at a
    ///      prompt step); returns x_{t+1} as the first 4 bytes of a word.
    function _nextTokens(Game storage g, StepOpening calldata o, uint256 t, bool promptStep, bytes32[ZEROS] memory z)
        internal
        view
        returns (bytes32 next)
    {
        next = promptStep
            ? Generation.slot(o.nextLeaf, (t + 1) % Generation.IDS_PER_LEAF)
            : o.nextLeaf & bytes32(Generation.TOP4);
        bytes32[SLOT_SIBLINGS] memory nextSiblings;
        (bytes32 root, bytes32 nextRoot, bool ok) = Generation.tokenRoots(o.tokenLeaf, t, next, o.tokenPath, nextSiblings, z);
        if (!ok) revert BadTokenPath();
        if (Generation.state(root, o.kvRoot) != g.startHash) revert WrongGenerationState();
        if (promptStep) {
            bytes32 promptRoot;
            (promptRoot, ok) = Generation.promptRootFrom(o.nextLeaf, t, o.promptPath, nextSiblings, z);
            if (!ok || promptRoot != oracle.promptRoot(g.taskId)) revert BadPromptPath();
        } else if (o.promptPath.length != 0) {
            revert BadPromptPath();
        }
        if (Generation.state(nextRoot, o.nextKvRoot) != g.endHash) revert WrongGenerationState();
    }

    // ---- phase 1 to phase 2 ----

    /// @notice At one graph step s = hi, the submitter opens it: State_s is State_{s-1} with leaf
    ///         nin - 1 + s set to the node's output root o; the node leaf (descriptor root, operand
    ///         mask and refs) is leaf s - 1 of the model's nodesRoot; each value operand's root is
    ///         proven in State_{s-1}. The contract builds the VM's initial state from those (slot 0
    ///         guest root, 1 descriptor, 2 empty, 3..14 operands, 15 empty) and takes the claimed
    ///         final state: exited with code 0, slot 15 root == o. Phase 2 starts over [0, T].
    function openNode(uint256 gameId, NodeOpening calldata o) external {
        Game storage g = _game(gameId);
        if (g.turn != Turn.Open) revert WrongTurn(g.turn);
        if (msg.sender != g.submitter) revert NotYourMove(g.submitter);
        _tick(g, true);
        ModelRegistry.NodeFacts memory m = registry.nodeFacts(g.modelId);
        uint256 s = g.hi; // graph step s runs node s - 1
        bytes32 agreed = g.startHash;
        // State_s = State_{s-1} with one leaf filled
        bytes32[] calldata statePath = o.statePath;
        if (statePath.length != m.stateDepth) revert BadStatePath();
        uint256 leafIndex = uint256(m.nin) - 1 + s;
        if (Merkle.rootFromPath(bytes32(0), leafIndex, statePath) != agreed) revert BadStatePath();
        bytes32 output = o.output;
        if (Merkle.rootFromPath(output, leafIndex, statePath) != g.endHash) revert BadStatePath();
        // the node leaf, its trailing empty refs filled in
        bytes32[] calldata given = o.refs;
        if (given.length > 12) revert BadRefs(given.length);
        bytes32[12] memory refs;
        bytes32 empty = Commitments.EMPTY_SLOT;
        assembly ("memory-safe") {
            let r := given.length
            calldatacopy(refs, given.offset, shl(5, r))
            for { let j := r } lt(j, 12) { j := add(j, 1) } { mstore(add(refs, shl(5, j)), empty) }
        }
        bytes32 descriptorRoot = o.descriptorRoot;
        bytes32 nodeLeaf = Commitments.nodeLeaf(descriptorRoot, o.inputMask, refs);
        bytes32[] calldata nodePath = o.nodePath;
        if (nodePath.length != Merkle.depthFor(m.n)) revert BadNodePath();
        if (Merkle.rootFromPath(nodeLeaf, s - 1, nodePath) != m.nodesRoot) revert BadNodePath();
        // the initial state from the guest root, the descriptor root and the operand roots
        bytes32 initial = Commitments.vmInitialState(m.guestRoot, descriptorRoot, _operands(o, refs, leafIndex, m.stateDepth));
        // the claimed final state
        bytes calldata fin = o.finalState;
        if (fin.length != 173 || uint8(fin[44]) != 1 || bytes4(fin[45:49]) != bytes4(0)) revert BadFinalState();
        if (Merkle.rootFromPath(output, 15, _path4(o.slotPath)) != bytes32(fin[0:32])) revert BadOutputSlot();
        bytes32 finalHash = keccak256(fin);
        uint64 steps = uint64(1) << m.stepsLog2;
        g.phase = 2;
        g.node = uint32(s);
        g.lo = 0;
        g.hi = steps;
        g.startHash = initial;
        g.endHash = finalHash;
        g.turn = Turn.Dissect;
        emit NodeOpened(gameId, uint32(s - 1), output, initial, finalHash, steps, fin);
    }

    /// @dev The operand roots: a weight operand's root is its ref, a value operand's root is
    ///      proven at leaf y = `ref` of the agreed state State_{s-1}, whose path to the root shares
    ///      statePath's siblings (already checked against State_{s-1}, leaf x zero) above the
    ///      height h where the two paths meet (h: the top bit of x ^ y): statePath[h] is the root
    ///      of y's subtree of height h, so y's proof is only its h siblings below. y == x is the
    ///      node's own output, zero in State_{s-1}: root 0, no siblings.
    function _operands(NodeOpening calldata o, bytes32[12] memory refs, uint256 x, uint256 depth)
        internal
        pure
        returns (bytes32[12] memory ops)
    {
        // the calldata arrays taken once: each access through `o` decodes and checks them again
        bytes32[] calldata roots = o.valueRoots;
        bytes32[] calldata paths = o.valuePaths;
        bytes32[] calldata shared = o.statePath;
        uint256 mask = o.inputMask;
        uint256 v;
        uint256 used; // siblings of valuePaths read so far
        ops = refs; // a weight operand's root is its ref; refs is not read after (the node leaf is hashed)
        for (uint256 j = 0; j < 12; j++) {
            if ((mask >> j) & 1 == 0) continue;
            uint256 y = uint256(refs[j]);
            if (y >> depth != 0) revert BadValueRef(j);
            if (v >= roots.length) revert BadValueCount(v + 1, roots.length);
            bytes32 root = roots[v];
            if (y == x) {
                if (root != 0) revert BadValuePath(j);
            } else {
                uint256 h = Merkle.meetHeight(x, y) - 1;
                if (paths.length < used + h) revert BadValueSiblings(used + h, paths.length);
                if (Merkle.rootFromPath(root, y, paths[used:used + h]) != shared[h]) revert BadValuePath(j);
                used += h;
            }
            ops[j] = root;
            v++;
        }
        if (v != roots.length) revert BadValueCount(v, roots.length);
        if (used != paths.length) revert BadValueSiblings(used, paths.length);
    }

    function _path4(bytes32[4] calldata p) internal pure returns (bytes32[] calldata out) {
        assembly ("memory-safe") {
            out.offset := p
            out.length := 4
        }
    }

    // ---- the decision ----

    /// @notice At one VM step [lo, lo + 1], anyone sends the agreed pre-state (its hash is
    ///         startHash) and the step proof; RiscvStep executes it. A post-state hash other than
    ///         the submitter's endHash means the challenger wins; the same hash, the submitter. The
    ///         game is then decided (turn Resolve): resolve pays it out.
    function step(uint256 gameId, bytes calldata preState, bytes calldata proof) external {
        Game storage g = _game(gameId);
        if (g.turn != Turn.Step) revert WrongTurn(g.turn);
        if (keccak256(preState) != g.startHash) revert WrongPreState();
        _tick(g, false);
        bytes32 post = riscv.step(preState, proof);
        bytes32 claimed = g.endHash;
        emit OneStep(gameId, g.lo, g.startHash, post, claimed);
        g.challengerWon = post != claimed;
        g.turn = Turn.Resolve;
    }

    /// @notice Decides a game whose side to move has used up its clock: that side loses (turn
    ///         Resolve: resolve pays it out). Anyone may call it.
    function timeout(uint256 gameId) external {
        Game storage g = _game(gameId);
        Turn t = g.turn;
        if (t == Turn.Done || t == Turn.Resolve) revert WrongTurn(t);
        bool submitterMoves = t == Turn.Dissect || t == Turn.Open || t == Turn.Bind || t == Turn.OpenStep;
        uint256 left = submitterMoves ? g.submitterTime : g.challengerTime;
        uint256 used = block.timestamp - g.lastMove;
        if (used <= left) revert ClockRunning(left - used);
        emit TimedOut(gameId, t, submitterMoves ? g.submitter : g.challenger);
        g.challengerWon = submitterMoves;
        g.turn = Turn.Resolve;
    }

    /// @notice Ends a decided game (turn Resolve) and pays it out; anyone may call it. The oracle
    ///         learns the outcome: a lost live submission is rejected there, the challenger
    ///         credited its bond and its share of the submitter's bond; a won one, the submitter
    ///         credited the challenger's bond. If the submission was rejected elsewhere meanwhile,
    ///         the challenger is credited its bond back and its share, whoever won here (winner:
    ///         the challenger). Until it is resolved the game counts as open: the submission
    ///         cannot be finalized.
    function resolve(uint256 gameId) external {
        Game storage g = _game(gameId);
        if (g.turn != Turn.Resolve) revert WrongTurn(g.turn);
        g.turn = Turn.Done;
        bool challengerWon = g.challengerWon;
        address challenger = g.challenger;
        (bool live, uint256 bond) = oracle.gameEnded(g.taskId, g.subId, challengerWon, challenger);
        emit GameResolved(gameId, challengerWon || !live ? challenger : g.submitter, challengerWon, bond);
    }

    /// @notice Ends a game whose submission is no longer live (another game rejected it), in any
    ///         turn but Done: the oracle credits the challenger its bond back and its share of the
    ///         rejected bond. Anyone may call it.
    function abandon(uint256 gameId) external {
        Game storage g = _game(gameId);
        if (g.turn == Turn.Done) revert WrongTurn(g.turn);
        if (oracle.isLive(g.taskId, g.subId)) revert StillLive();
        g.turn = Turn.Done;
        (, uint256 bond) = oracle.gameEnded(g.taskId, g.subId, false, g.challenger);
        emit GameAbandoned(gameId, bond);
    }

    /// @notice The game record.
    function game(uint256 gameId) external view returns (Game memory) {
        return _game(gameId);
    }

    // ---- internals ----

    function _game(uint256 gameId) internal view returns (Game storage g) {
        g = games[gameId];
        if (g.turn == Turn.None) revert UnknownGame(gameId);
    }

    /// @dev Charges the mover's clock for the time since the last move; reverts past its budget.
    function _tick(Game storage g, bool submitter) internal {
        uint256 used = block.timestamp - g.lastMove;
        uint256 left = submitter ? g.submitterTime : g.challengerTime;
        if (used > left) revert ClockExpired(used - left);
        if (submitter) g.submitterTime = uint40(left - used);
        else g.challengerTime = uint40(left - used);
        g.lastMove = uint40(block.timestamp);
    }
}
