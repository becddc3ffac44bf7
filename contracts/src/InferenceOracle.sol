// SPDX-License-Identifier: MIT
// InferenceOracle.sol: the task lifecycle of docs/game.md. A requester pays a fee and asks for a
// classifier's output on inputs (each of the byte length the model commits to) or for a
// generation (docs/generation.md: a prompt of token ids, the number of new tokens, a stop token
// and a sampler); what it posts goes in calldata and the event, for data availability. A
// submitter posts the output with a bond: the output tensor's bytes (of the model's output
// length), or the generated token ids (checked against the request's stop rules); nothing else is
// committed on the happy path. During the challenge window the DisputeGame contract may open any
// number of games against that submission (each begins with the submitter binding its end state
// to the output); once the window has passed and no game is open, finalize pays the submitter (bond
// back plus fee) and calls the requester back with the output.
//
// A submission that loses a game is rejected: half its bond is burned (kept here for ever,
// counted in `burned`), the other half is shared equally by every game open against it at that
// moment (the winner's share at once, the others' when their games end), so no game the
// submitter plays against itself gets it its bond back. The task reopens, but for the model's
// challenge window nobody may submit (the requester may cancel): a liar cannot resubmit in the
// transaction that rejects it. docs/game.md ("Money", "Attacks") has the reasoning.
//
// Money: this contract is the one bank of the protocol. Fees, submitter bonds and the challenger
// bonds of open games (the game forwards each with gameOpened) sit here, and every payout is a
// credit withdrawn with withdraw() or withdrawTo() (pull payments: no transfer can fail or re-enter
// a state change). A game's challenger bond goes, when the game ends (gameEnded), to its winner, or
// back to its challenger when the submission was rejected elsewhere, in the same credit slot as the
// challenger's share of a rejected bond. Invariant: this contract's balance == open and submitted
// tasks' fees + live submissions' bonds + the challenger bonds of open games + unclaimed shares of
// rejected bonds + burned + unwithdrawn credits; the game contract holds nothing.
pragma solidity ^0.8.28;

import {Merkle} from "./lib/Merkle.sol";
import {Credits} from "./lib/Credits.sol";
import {Generation} from "./lib/Generation.sol";
import {ModelRegistry} from "./ModelRegistry.sol";

/// @notice The one thing the oracle asks of the game it is bound to.
interface IOracleOf {
    function oracle() external view returns (address);
}

/// @notice What a requester contract implements to receive results: a classifier's output
///         tensor bytes, or a generation's new token ids (int32 little-endian, 4 bytes each).
interface IOpmlReceiver {
    function opmlResult(uint256 taskId, bytes calldata output) external;
}

contract InferenceOracle is Credits {
    /// @notice Gas given to the requester's callback; finalize needs at least this much left.
    uint256 public constant CALLBACK_GAS = 200_000;
    /// @notice Gas finalize keeps besides the callback's (with the 1/64 that EIP-150 holds back):
    ///         the call itself (a cold account, 2,600) and the CallbackDone event after it.
    uint256 internal constant CALLBACK_OVERHEAD = 10_000;
    /// @notice The share of a rejected submitter's bond that is burned, in basis points.
    uint256 public constant BURN_BPS = 5_000;
    uint256 internal constant BPS = 10_000;

    enum Status {
        None,
        Open, // waiting for a submission
        Submitted, // a submission is in its window or in games
        Finalized,
        Cancelled
    }

    struct Task {
        address requester; // slot 0
        uint96 fee;
        address submitter; // slot 1: the live submission
        uint96 bond;
        uint64 modelId; // slot 2
        uint32 subId; // submissions so far; the live one's id
        uint32 openGames;
        uint40 deadline; // end of the live submission's challenge window
        Status status;
        uint40 resubmitAt; // after a rejection: nobody may submit before this time
        bool generation; // a generation task (its request: generation(taskId))
        uint32 generated; // generation: the live submission's number of new tokens M
        bytes32 state0; // slot 3: State_0 of the inputs, or a generation's G_0
        bytes32 outputHash; // slot 4: keccak256 of the live submission's output bytes
    }

    /// @notice A generation task's request (docs/generation.md): two storage slots.
    struct GenerationRequest {
        bytes32 promptRoot; // tensorRoot of the prompt's ids (int32 little-endian)
        uint32 promptLength; // P
        uint32 maxNew; // N
        uint32 stopToken; // Generation.NO_STOP: none
        uint32 temperature; // binary32 bits; 0: greedy
        uint32 topK;
        uint32 topP; // binary32 bits
        uint64 seed;
    }

    /// @notice The sampler of a generation request (docs/numerics.md, "Sampling").
    struct Sampler {
        uint32 temperature; // binary32 bits, finite and >= 0; 0: greedy (the others are not used)
        uint32 topK; // 0: every candidate
        uint32 topP; // binary32 bits, in (0, 1] unless greedy
        uint64 seed;
    }

    /// @notice What the game contract reads about a task's live submission when it opens a game
    ///         (three of the task's slots; the output's hash is read by the binding, outputHash).
    struct SubmissionView {
        Status status;
        uint32 subId;
        uint64 modelId;
        address submitter;
        uint40 deadline;
        bytes32 state0; // State_0 or G_0
        uint64 tokenSteps; // a generation's T = P + M - 1; 0 for a classifier
    }

    /// @notice What is left of a rejected submission's bond for the games that were open against
    ///         it when it was rejected and have not ended yet.
    struct Rejection {
        uint96 share; // wei per game
        uint32 unclaimed; // games still to end
        // set when a second game opens against the submission (gameOpened), so that a rejection
        // with several games open writes a slot already nonzero (5,000 gas, not a fresh 22,100):
        // the challenge pays for it, the resolving move stays under 100,000 gas
        bool reserved;
    }

    ModelRegistry public immutable registry;
    address public immutable deployer;
    address public game;
    /// @notice Wei of rejected bonds burned: held by this contract for ever, nobody can withdraw it.
    /// @dev Packed in `game`'s slot, which is nonzero once the game is bound (before any task, so
    ///      before any rejection) and which gameEnded reads anyway: the first burn costs a warm
    ///      rewrite (2,900 gas), not a fresh slot (22,100). 96 bits hold more wei than exist.
    uint96 public burned;

    mapping(uint256 => Task) internal tasks;
    mapping(uint256 => GenerationRequest) internal generations;
    uint256 public taskCount;
    mapping(uint256 => mapping(uint32 => Rejection)) internal rejections;

    event TaskRequested(
        uint256 indexed taskId, uint256 indexed modelId, address indexed requester, uint256 fee, bytes32 state0, bytes[] inputs
    );
    /// @notice A generation task: its prompt (int32 little-endian ids), new tokens, stop token
    ///         and sampler; g0 is G_0 (docs/generation.md).
    event GenerationRequested(
        uint256 indexed taskId,
        uint256 indexed modelId,
        address indexed requester,
        uint256 fee,
        bytes32 g0,
        bytes prompt,
        uint32 maxNew,
        uint32 stopToken,
        uint32 temperature,
        uint32 topK,
        uint32 topP,
        uint64 seed
    );
    event ResultSubmitted(
        uint256 indexed taskId, uint32 indexed subId, address indexed submitter, uint40 deadline, bytes output
    );
    event SubmissionRejected(
        uint256 indexed taskId,
        uint32 indexed subId,
        address indexed challenger,
        uint256 bond,
        uint256 burned,
        uint256 share,
        uint32 games,
        uint40 resubmitAt
    );
    event ShareCredited(uint256 indexed taskId, uint32 indexed subId, address indexed challenger, uint256 share);
    event TaskFinalized(uint256 indexed taskId, uint32 indexed subId, address indexed submitter, uint256 paid);
    event CallbackDone(uint256 indexed taskId, address indexed requester, bool ok);
    event TaskCancelled(uint256 indexed taskId, uint256 refund);
    event GameBound(address game);

    error OnlyDeployer();
    error OnlyGame();
    error GameAlreadyBound();
    error GameNotBound();
    error GameOfAnotherOracle(address game);
    error UnknownTask(uint256 taskId);
    error WrongStatus(Status status);
    error WrongInputCount(uint256 expected, uint256 given);
    error WrongInputLength(uint256 input, uint256 expected, uint256 given);
    error WrongOutputLength(uint256 expected, uint256 given);
    error ResubmitTooEarly(uint40 resubmitAt);
    error WrongBond(uint256 expected, uint256 given);
    error WrongTaskKind(uint256 modelId);
    error BadPromptLength(uint256 bytesGiven);
    error NoNewTokens();
    error TooLong(uint256 promptLength, uint256 maxNew, uint256 ctx);
    error BadTokenId(uint256 index, uint32 id, uint32 vocab);
    error BadStopToken(uint32 stopToken, uint32 vocab);
    error BadSampler();
    error BadGeneratedLength(uint256 bytesGiven, uint32 maxNew);
    error EarlyStopToken(uint256 index);
    error MissingStopToken();
    error WindowClosed(uint40 deadline);
    error WindowOpen(uint40 deadline);
    error GamesOpen(uint32 count);
    error WrongOutput();
    error NotRequester();
    error InsufficientGasForCallback();
    error FeeTooLarge(uint256 fee);

    constructor(ModelRegistry registry_) {
        registry = registry_;
        deployer = msg.sender;
    }

    /// @notice Binds the dispute game contract, once, by the deployer (the two contracts refer to
    ///         each other, so one must be told after both exist). The game must name this oracle.
    ///         Until it is bound no task can be requested, so nothing is ever submitted that no
    ///         game could challenge.
    function bindGame(address game_) external {
        if (msg.sender != deployer) revert OnlyDeployer();
        if (game != address(0)) revert GameAlreadyBound();
        if (IOracleOf(game_).oracle() != address(this)) revert GameOfAnotherOracle(game_);
        game = game_;
        emit GameBound(game_);
    }

    /// @notice Asks for model `modelId` on `inputs` (one byte string per graph input, raw
    ///         little-endian tensor bytes, each exactly the model's inputBytes[i] long);
    ///         msg.value is the fee the finalized submitter earns. Reverts until the game is bound.
    /// @return taskId the new task's id (1, 2, ...).
    function request(uint256 modelId, bytes[] calldata inputs) external payable returns (uint256 taskId) {
        if (game == address(0)) revert GameNotBound();
        ModelRegistry.ModelSpec memory s = registry.spec(modelId);
        if (registry.generation(modelId).vocab != 0) revert WrongTaskKind(modelId);
        if (inputs.length != s.nin) revert WrongInputCount(s.nin, inputs.length);
        if (msg.value > type(uint96).max) revert FeeTooLarge(msg.value);
        bytes32[] memory roots = new bytes32[](inputs.length);
        for (uint256 i = 0; i < inputs.length; i++) {
            // a tensor root does not see trailing zero bytes: the length is checked on its own
            if (inputs[i].length != s.inputBytes[i]) revert WrongInputLength(i, s.inputBytes[i], inputs[i].length);
            roots[i] = Merkle.tensorRoot(inputs[i]);
        }
        bytes32 state0 = Merkle.rootOfLeaves(roots, s.stateDepth);
        taskId = _newTask(modelId, state0, false);
        emit TaskRequested(taskId, modelId, msg.sender, msg.value, state0, inputs);
    }

    /// @notice Asks generation model `modelId` to continue `prompt` (docs/generation.md): `prompt`
    ///         is P >= 1 token ids, int32 little-endian, each below the model's vocab; at most
    ///         `maxNew` >= 1 new tokens with P + maxNew <= ctx, stopping early after `stopToken`
    ///         (below vocab, or NO_STOP = 2^32 - 1: never); `sampler` as docs/numerics.md says
    ///         (temperature 0: greedy). msg.value is the fee. G_0 is computed here.
    /// @return taskId the new task's id (1, 2, ...).
    function requestGeneration(uint256 modelId, bytes calldata prompt, uint32 maxNew, uint32 stopToken, Sampler calldata sampler)
        external
        payable
        returns (uint256 taskId)
    {
        if (game == address(0)) revert GameNotBound();
        ModelRegistry.GenerationFacts memory f = registry.generation(modelId);
        if (f.vocab == 0) revert WrongTaskKind(modelId);
        if (msg.value > type(uint96).max) revert FeeTooLarge(msg.value);
        uint256 p = prompt.length >> 2;
        if (p == 0 || prompt.length & 3 != 0) revert BadPromptLength(prompt.length);
        if (maxNew == 0) revert NoNewTokens();
        if (p + maxNew > f.ctx) revert TooLong(p, maxNew, f.ctx);
        uint256 bad = Generation.firstOutOfVocab(prompt, f.vocab);
        if (bad < p) revert BadTokenId(bad, Generation.idAt(prompt, bad), f.vocab);
        if (stopToken >= f.vocab && stopToken != Generation.NO_STOP) revert BadStopToken(stopToken, f.vocab);
        _checkSampler(sampler);
        bytes32 g0;
        assembly ("memory-safe") {
            g0 := calldataload(prompt.offset)
        }
        g0 = Generation.state0(g0, f.kvHeight);
        taskId = _newTask(modelId, g0, true);
        generations[taskId] = GenerationRequest(
            Merkle.tensorRoot(prompt), uint32(p), maxNew, stopToken, sampler.temperature, sampler.topK, sampler.topP, sampler.seed
        );
        emit GenerationRequested(
            taskId, modelId, msg.sender, msg.value, g0, prompt, maxNew, stopToken, sampler.temperature, sampler.topK,
            sampler.topP, sampler.seed
        );
    }

    /// @dev A new Open task of the caller's with msg.value as its fee.
    function _newTask(uint256 modelId, bytes32 state0, bool generation_) internal returns (uint256 taskId) {
        taskId = ++taskCount;
        Task storage t = tasks[taskId];
        t.requester = msg.sender;
        t.fee = uint96(msg.value);
        t.modelId = uint64(modelId);
        t.status = Status.Open;
        t.generation = generation_;
        t.state0 = state0;
    }

    /// @dev temperature finite and not negative; when sampling, top-p in (0, 1] (binary32 bits:
    ///      positive floats order as their bits, and NaN lies above +Inf).
    function _checkSampler(Sampler calldata s) internal pure {
        uint32 one = 0x3f800000;
        if (s.temperature >= 0x7f800000) revert BadSampler(); // negative (sign bit), Inf or NaN
        if (s.temperature != 0 && (s.topP == 0 || s.topP > one)) revert BadSampler();
    }

    /// @notice Submits the result of an open task with the model's submitter bond (msg.value);
    ///         after a rejection, not before the task's resubmitAt. Nothing but the output is
    ///         committed: a game's first move binds the end state to it (DisputeGame.bindEnd).
    /// @param output a classifier's output tensor bytes, exactly the model's outputBytes long; or
    ///        a generation's new token ids, int32 little-endian: M of them with 1 <= M <= maxNew,
    ///        each below vocab, none but the last equal to the stop token, and the last equal to
    ///        it when M < maxNew
    function submit(uint256 taskId, bytes calldata output) external payable {
        Task storage t = _task(taskId);
        if (t.status != Status.Open) revert WrongStatus(t.status);
        if (block.timestamp < t.resubmitAt) revert ResubmitTooEarly(t.resubmitAt);
        uint256 modelId = t.modelId;
        uint96 bond = registry.submitterBond(modelId);
        if (msg.value != bond) revert WrongBond(bond, msg.value);
        if (t.generation) {
            t.generated = _checkGenerated(taskId, modelId, output);
        } else {
            // a tensor root does not see trailing zero bytes: the length is checked on its own
            uint32 len = registry.outputBytes(modelId);
            if (output.length != len) revert WrongOutputLength(len, output.length);
        }
        uint40 deadline = uint40(block.timestamp + registry.challengeWindow(modelId));
        uint32 subId = t.subId + 1;
        t.submitter = msg.sender;
        t.bond = uint96(msg.value);
        t.subId = subId;
        t.deadline = deadline;
        t.status = Status.Submitted;
        t.outputHash = keccak256(output);
        emit ResultSubmitted(taskId, subId, msg.sender, deadline, output);
    }

    /// @dev A generation's output against its request's stop rules; returns M.
    function _checkGenerated(uint256 taskId, uint256 modelId, bytes calldata output) internal view returns (uint32) {
        GenerationRequest storage r = generations[taskId];
        uint32 maxNew = r.maxNew;
        uint32 stop = r.stopToken;
        uint256 m = output.length >> 2;
        if (m == 0 || m > maxNew || output.length & 3 != 0) revert BadGeneratedLength(output.length, maxNew);
        uint32 vocab = registry.generation(modelId).vocab;
        uint256 bad = Generation.firstOutOfVocab(output, vocab);
        if (bad < m) revert BadTokenId(bad, Generation.idAt(output, bad), vocab);
        for (uint256 i = 0; i + 1 < m; i++) {
            if (Generation.idAt(output, i) == stop) revert EarlyStopToken(i);
        }
        if (m < maxNew && Generation.idAt(output, m - 1) != stop) revert MissingStopToken();
        return uint32(m);
    }

    /// @notice Finalizes a task whose window has passed with no game open: credits the submitter
    ///         its bond plus the fee, then calls requester.opmlResult(taskId, output) with
    ///         CALLBACK_GAS gas. The callback's failure or gas use cannot undo the finalization.
    /// @param output the submitted output bytes (from the ResultSubmitted event)
    function finalize(uint256 taskId, bytes calldata output) external {
        Task storage t = _task(taskId);
        if (t.status != Status.Submitted) revert WrongStatus(t.status);
        if (block.timestamp < t.deadline) revert WindowOpen(t.deadline);
        if (t.openGames != 0) revert GamesOpen(t.openGames);
        if (keccak256(output) != t.outputHash) revert WrongOutput();
        t.status = Status.Finalized;
        uint256 paid = uint256(t.bond) + t.fee;
        _credit(t.submitter, paid);
        emit TaskFinalized(taskId, t.subId, t.submitter, paid);
        address requester = t.requester;
        bytes memory data = abi.encodeCall(IOpmlReceiver.opmlResult, (taskId, output));
        // The caller must leave the callback its full gas (EIP-150 keeps 1/64 back). Checked after
        // the output is copied to memory, whose cost grows with its size, so that it holds for any
        // output length.
        if (gasleft() < CALLBACK_GAS + CALLBACK_GAS / 63 + CALLBACK_OVERHEAD) revert InsufficientGasForCallback();
        bool ok;
        assembly ("memory-safe") {
            // no return data is copied: a callback cannot grief with a huge revert reason
            ok := call(CALLBACK_GAS, requester, 0, add(data, 0x20), mload(data), 0, 0)
        }
        emit CallbackDone(taskId, requester, ok);
    }

    /// @notice The requester takes back the fee of a task that has no live submission (Open,
    ///         including the quiet time after a rejection).
    function cancel(uint256 taskId) external {
        Task storage t = _task(taskId);
        if (msg.sender != t.requester) revert NotRequester();
        if (t.status != Status.Open) revert WrongStatus(t.status);
        t.status = Status.Cancelled;
        uint256 fee = t.fee;
        t.fee = 0;
        _credit(msg.sender, fee);
        emit TaskCancelled(taskId, fee);
    }

    // ---- the dispute game's hooks ----

    /// @notice The task's live submission as the game contract needs it.
    function submission(uint256 taskId) external view returns (SubmissionView memory v) {
        Task storage t = _task(taskId);
        uint64 steps = t.generation ? uint64(generations[taskId].promptLength) + t.generated - 1 : 0;
        v = SubmissionView(t.status, t.subId, t.modelId, t.submitter, t.deadline, t.state0, steps);
    }

    /// @notice keccak256 of the live (or last) submission's output bytes.
    function outputHash(uint256 taskId) external view returns (bytes32) {
        return _task(taskId).outputHash;
    }

    /// @notice A generation task's request; all zero for a classifier task.
    function generation(uint256 taskId) external view returns (GenerationRequest memory r) {
        r = generations[taskId];
        if (r.promptLength == 0) _task(taskId); // a classifier's (all zero) or an unknown task's (reverts)
    }

    /// @notice What the game reads of a generation task at a token step, from one storage slot: the
    ///         prompt's length P and the sampler. Reverts for an unknown task; P is 0 for a
    ///         classifier's.
    function stepFacts(uint256 taskId) external view returns (uint256 promptLength, Sampler memory s) {
        GenerationRequest storage r = generations[taskId];
        promptLength = r.promptLength;
        if (promptLength == 0) _task(taskId);
        s = Sampler({temperature: r.temperature, topK: r.topK, topP: r.topP, seed: r.seed});
    }

    /// @notice The tensor root of a generation task's prompt; zero for a classifier's or an
    ///         unknown task.
    function promptRoot(uint256 taskId) external view returns (bytes32) {
        return generations[taskId].promptRoot;
    }

    /// @notice Called by the game contract when a game opens against submission `subId`, with the
    ///         game's challenger bond as msg.value (the game checked it against the model's): the
    ///         oracle holds it until the game ends (gameEnded).
    function gameOpened(uint256 taskId, uint32 subId) external payable {
        if (msg.sender != game) revert OnlyGame();
        Task storage t = tasks[taskId];
        if (t.status != Status.Submitted || t.subId != subId) revert WrongStatus(t.status);
        if (block.timestamp >= t.deadline) revert WindowClosed(t.deadline);
        if (t.openGames != 0) rejections[taskId][subId].reserved = true;
        t.openGames++;
    }

    /// @notice Called by the game contract when a game against `subId` ends; the game's challenger
    ///         bond (the model's) is paid out here, as a credit. If that submission is live
    ///         (`live`), the open-game count drops and: if the challenger won, the submission is
    ///         rejected (_reject) and the challenger credited its bond and its share of the rejected
    ///         bond; if not, the submitter is credited the bond. If the submission was rejected
    ///         while this game was open, the challenger is credited its bond back and its share of
    ///         the rejected bond, whoever won here.
    /// @return live whether the submission was live
    /// @return bond the challenger bond paid out
    function gameEnded(uint256 taskId, uint32 subId, bool challengerWon, address challenger)
        external
        returns (bool live, uint256 bond)
    {
        if (msg.sender != game) revert OnlyGame();
        Task storage t = tasks[taskId];
        uint256 window;
        (window, bond) = registry.payoutFacts(t.modelId);
        if (t.status == Status.Submitted && t.subId == subId) {
            t.openGames--;
            if (challengerWon) _credit(challenger, bond + _reject(t, taskId, subId, challenger, window));
            else _credit(t.submitter, bond);
            return (true, bond);
        }
        Rejection storage r = rejections[taskId][subId];
        uint256 owed = bond;
        if (r.unclaimed != 0) {
            r.unclaimed--;
            uint256 share = r.share;
            owed += share;
            emit ShareCredited(taskId, subId, challenger, share);
        }
        _credit(challenger, owed);
        return (false, bond);
    }

    /// @dev Rejects the live submission, proven a lie by `prover`'s game: BURN_BPS of the bond is
    ///      burned, the rest is shared equally by the games open against it (the prover's and each
    ///      still open; the rounding dust is burned too). Returns the prover's share, which the
    ///      caller credits (with the prover's bond, in one write); the others are credited when
    ///      their games end (gameEnded). The task reopens, and nobody may submit before now + the
    ///      model's challenge window (`window`).
    function _reject(Task storage t, uint256 taskId, uint32 subId, address prover, uint256 window)
        internal
        returns (uint256 share)
    {
        uint256 bond = t.bond;
        uint256 games = uint256(t.openGames) + 1;
        share = (bond - (bond * BURN_BPS) / BPS) / games;
        uint256 burn = bond - share * games;
        burned += uint96(burn);
        // games > 1: the slot was reserved when the second game opened (gameOpened)
        if (games > 1) rejections[taskId][subId] = Rejection(uint96(share), uint32(games - 1), true);
        uint40 resubmitAt = uint40(block.timestamp + window);
        t.bond = 0;
        t.submitter = address(0);
        t.openGames = 0;
        t.status = Status.Open;
        t.resubmitAt = resubmitAt;
        emit SubmissionRejected(taskId, subId, prover, bond, burn, share, uint32(games), resubmitAt);
    }

    /// @notice What is left of rejected submission `subId`'s bond for the games still to end.
    function rejection(uint256 taskId, uint32 subId) external view returns (Rejection memory) {
        return rejections[taskId][subId];
    }

    /// @notice 1 if submission `subId` of the task is the live one and still unresolved.
    function isLive(uint256 taskId, uint32 subId) external view returns (bool) {
        Task storage t = tasks[taskId];
        return t.status == Status.Submitted && t.subId == subId;
    }

    /// @notice The whole task record.
    function task(uint256 taskId) external view returns (Task memory) {
        return _task(taskId);
    }

    function _task(uint256 taskId) internal view returns (Task storage t) {
        t = tasks[taskId];
        if (t.status == Status.None) revert UnknownTask(taskId);
    }
}
