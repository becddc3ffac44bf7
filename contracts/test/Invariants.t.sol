// SPDX-License-Identifier: MIT
// Invariants.t.sol: forge invariant tests over random sequences of actions by several actors on
// one deployment, with classifier tasks (GameFixture's chain model, k = 2, T = 2^5: InvariantsTest)
// or generation tasks (GenFixture's one-layer step graph, a 4-id prompt and 5 new ids, the liars
// lying at a random token step in a random way: GenInvariantsTest):
//   requesters (2) ask and cancel; honest submitters (2) submit right results; liars (2) submit
//   lies at a random node, each with a sock puppet that challenges its own lies and wins (the
//   liar losing on purpose); honest validators (2) challenge every lie before its window closes
//   (they are online: `_watch` runs before every action); a griefer challenges honest results and
//   selects wrong parts; anyone plays a game to its decision, lets a liar's clock run out, resolves
//   a decided game (any party: a stranger, the winner or the loser), abandons a game whose
//   submission is gone (decided or not), finalizes, warps time, withdraws (to itself or another
//   address).
// After every action:
//   - money is conserved: the oracle, the one bank, holds exactly what its books say (credits,
//     fees, live bonds, open games' bonds, unclaimed shares, burned wei), the game holds nothing,
//     and no wei appears or vanishes;
//   - an honest party never loses money: honest submitters and validators hold at least what
//     they started with (counting what they have locked in the contracts), and a requester's
//     ether is all there but the fees of its finalized tasks;
//   - no lie finalizes, and a lie never ends with its submitter whole: each liar (with its sock
//     puppet) is short of at least half a bond per rejected lie.
pragma solidity ^0.8.28;

import {Test} from "./lib/Test.sol";
import {GenFixture} from "./lib/GenFixture.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {InferenceOracle} from "../src/InferenceOracle.sol";

/// The actors' actions, called by forge's invariant fuzzer with random arguments.
contract Handler is GenFixture {
    uint256 internal constant START = 100 ether;
    uint256 internal constant LIE_STEP = 3;

    enum Who {
        Validator,
        Sock,
        Griefer
    }

    address[2] internal requesters = [address(0xA1), address(0xA2)];
    address[2] internal honest = [address(0xB1), address(0xB2)];
    address[2] internal liars = [address(0xD1), address(0xD2)];
    address[2] internal socks = [address(0xE1), address(0xE2)];
    address[2] internal validators = [address(0xF1), address(0xF2)];
    address internal griefer = address(0x9F);
    address internal stranger = address(0x77);

    uint256 internal initialTotal;
    uint256 public calls;
    bool internal gen; // generation tasks, else classifier tasks
    // task => subId => the lie + 1 (0: honest): a classifier's lied node, or a generation's
    // kind * 1000 + token step
    mapping(uint256 => mapping(uint32 => uint256)) internal lieOf;
    mapping(uint256 => mapping(uint32 => bool)) internal watched; // a validator challenged it
    mapping(uint256 => Who) internal kindOf; // game => who challenged
    mapping(uint256 => mapping(uint32 => uint256)) internal liarOf; // task => subId => liar index
    mapping(address => uint256) internal sentAway; // withdrawn to the stranger's address

    constructor(bool generation) {
        gen = generation;
        resolves = false; // a decided game waits for the resolve action
        _deploy();
        delete parties;
        for (uint256 i = 0; i < 2; i++) {
            parties.push(requesters[i]);
            parties.push(honest[i]);
            parties.push(liars[i]);
            parties.push(socks[i]);
            parties.push(validators[i]);
        }
        parties.push(griefer);
        parties.push(stranger);
        for (uint256 i = 0; i < parties.length; i++) vm.deal(parties[i], START);
        if (gen) {
            _registerGen(1, 1, 2, 5);
            _setPrompt(4, 11);
            maxNew = 5;
            sampler.temperature = 0x3f800000;
            sampler.topP = 0x3f800000;
            sampler.seed = 3;
        } else {
            _register(5, 2, 5);
        }
        initialTotal = _total();
    }

    /// The lie of a submission as lieOf records it, set for the fixture's computations.
    function _setLie(uint256 lie) internal {
        genLie = lie == 0 ? Lie.None : Lie((lie - 1) / 1000);
        lieAt = lie == 0 ? NONE : (lie - 1) % 1000;
    }

    /// The output a submission with `lie` posted.
    function _postedOutput(uint256 lie) internal returns (bytes memory) {
        if (!gen) return _outputOf(lie == 0 ? NONE : lie - 1);
        _setLie(lie);
        return _genOutput(lie != 0);
    }

    // ---- the actions ----

    function request(uint8 who, uint96 fee) external {
        _watch();
        vm.prank(requesters[who % 2]);
        if (gen) {
            oracle.requestGeneration{value: fee % 1 ether}(genModelId, _ids(promptIds), maxNew, stopToken, sampler);
        } else {
            bytes[] memory inputs = new bytes[](1);
            inputs[0] = _le4(INPUT);
            oracle.request{value: fee % 1 ether}(modelId, inputs);
        }
        calls++;
    }

    function _post(uint256 t, address who, uint256 lie) internal {
        bytes memory out = _postedOutput(lie);
        vm.prank(who);
        oracle.submit{value: SUB_BOND}(t, out);
    }

    function submitHonest(uint8 taskSeed, uint8 who) external {
        _watch();
        uint256 t = _openTask(taskSeed);
        if (t == 0) return;
        _post(t, honest[who % 2], 0);
        calls++;
    }

    /// A lie: a classifier's at node `seed` % n; a generation's of kind 1 + seed % 4 (Token,
    /// Sampler, KvRow, Node) at a token step where it shows (a sampler's lie at a prompt step
    /// changes nothing).
    function submitLie(uint8 taskSeed, uint8 who, uint8 seed) external {
        _watch();
        uint256 t = _openTask(taskSeed);
        if (t == 0) return;
        uint256 lie;
        if (gen) {
            uint256 kind = 1 + (seed % 4);
            uint256 first = Lie(kind) == Lie.Sampler ? promptIds.length - 1 : 0;
            lie = kind * 1000 + first + (uint256(seed) / 4) % (promptIds.length + maxNew - 1 - first) + 1;
        } else {
            lie = uint256(seed % n) + 1;
        }
        _post(t, liars[who % 2], lie);
        uint32 sub = oracle.task(t).subId;
        lieOf[t][sub] = lie;
        liarOf[t][sub] = who % 2;
        calls++;
    }

    /// The liar's sock puppet challenges its own lie (to lose to it on purpose).
    function sockChallenge(uint8 taskSeed) external {
        _watch();
        (uint256 t, InferenceOracle.Task memory tk) = _submittedTask(taskSeed);
        if (t == 0 || lieOf[t][tk.subId] == 0 || block.timestamp >= tk.deadline) return;
        address sock = tk.submitter == liars[0] ? socks[0] : socks[1];
        kindOf[_challenge(t, sock)] = Who.Sock;
        calls++;
    }

    /// A dishonest challenger disputes an honest result.
    function grief(uint8 taskSeed) external {
        _watch();
        (uint256 t, InferenceOracle.Task memory tk) = _submittedTask(taskSeed);
        if (t == 0 || lieOf[t][tk.subId] != 0 || block.timestamp >= tk.deadline) return;
        kindOf[_challenge(t, griefer)] = Who.Griefer;
        calls++;
    }

    /// Plays an open game to its decision (turn Resolve), each side by its strategy.
    function play(uint8 gameSeed) external {
        _watch();
        uint256 id = _openGame(gameSeed);
        if (id == 0 || !oracle.isLive(game.game(id).taskId, game.game(id).subId)) return;
        _playOut(id);
        calls++;
    }

    /// A liar stops playing one of its games: every other game is played out first (the honest
    /// sides are online), then its clock runs out.
    function liarQuits(uint8 gameSeed) external {
        _watch();
        uint256 id = _openGame(gameSeed);
        if (id == 0) return;
        DisputeGame.Game memory g = game.game(id);
        if (lieOf[g.taskId][g.subId] == 0 || !oracle.isLive(g.taskId, g.subId)) return;
        if (!_submitterMoves(g.turn)) return;
        for (uint256 other = 1; other <= game.gameCount(); other++) {
            if (other != id && game.game(other).turn != DisputeGame.Turn.Done) _endOrAbandon(other);
        }
        if (game.game(id).turn == DisputeGame.Turn.Done) return;
        g = game.game(id);
        vm.warp(uint256(g.lastMove) + g.submitterTime + 1);
        vm.prank(stranger);
        game.timeout(id);
        calls++;
    }

    /// Resolves a decided game, sent by any party (the loser too): who sends it changes nothing.
    function resolve(uint8 gameSeed, uint8 senderSeed) external {
        _watch();
        uint256 c = game.gameCount();
        for (uint256 i = 0; i < c; i++) {
            uint256 id = 1 + ((gameSeed + i) % c);
            if (game.game(id).turn != DisputeGame.Turn.Resolve) continue;
            vm.prank(parties[senderSeed % parties.length]);
            game.resolve(id);
            calls++;
            return;
        }
    }

    function abandon(uint8 gameSeed) external {
        _watch();
        uint256 id = _openGame(gameSeed);
        if (id == 0 || oracle.isLive(game.game(id).taskId, game.game(id).subId)) return;
        vm.prank(stranger);
        game.abandon(id);
        calls++;
    }

    function finalize(uint8 taskSeed) external {
        _watch();
        (uint256 t, InferenceOracle.Task memory tk) = _submittedTask(taskSeed);
        if (t == 0 || block.timestamp < tk.deadline || tk.openGames != 0) return;
        bytes memory out = _postedOutput(lieOf[t][tk.subId]);
        vm.prank(stranger);
        oracle.finalize(t, out);
        calls++;
    }

    function cancel(uint8 taskSeed) external {
        _watch();
        if (oracle.taskCount() == 0) return;
        uint256 t = 1 + (taskSeed % oracle.taskCount());
        InferenceOracle.Task memory tk = oracle.task(t);
        if (tk.status != InferenceOracle.Status.Open) return;
        vm.prank(tk.requester);
        oracle.cancel(t);
        calls++;
    }

    /// Time passes: games whose honest side would run out of clock meanwhile are played out
    /// first (honest parties are online).
    function warp(uint32 secs) external {
        _watch();
        uint256 dt = secs % (3 hours);
        for (uint256 id = 1; id <= game.gameCount(); id++) {
            DisputeGame.Game memory g = game.game(id);
            if (g.turn == DisputeGame.Turn.Done || g.turn == DisputeGame.Turn.Resolve) continue; // no clock runs
            uint256 left = _submitterMoves(g.turn) ? g.submitterTime : g.challengerTime;
            if (g.lastMove + left < block.timestamp + dt + 1 hours) _endOrAbandon(id);
        }
        vm.warp(block.timestamp + dt);
        calls++;
    }

    function withdraw(uint8 who, bool elsewhere) external {
        _watch();
        address a = parties[who % parties.length];
        address payable to = payable(elsewhere && a != stranger ? stranger : a);
        if (to != a) sentAway[a] += oracle.credit(a);
        if (oracle.credit(a) > 0) {
            vm.prank(a);
            oracle.withdrawTo(to);
        }
        calls++;
    }

    function _submitterMoves(DisputeGame.Turn t) internal pure returns (bool) {
        return t == DisputeGame.Turn.Bind || t == DisputeGame.Turn.Dissect || t == DisputeGame.Turn.Open
            || t == DisputeGame.Turn.OpenStep;
    }

    // ---- the honest parties' duties ----

    /// The validators see every lie in its window and challenge it.
    function _watch() internal {
        for (uint256 t = 1; t <= oracle.taskCount(); t++) {
            InferenceOracle.Task memory tk = oracle.task(t);
            if (tk.status != InferenceOracle.Status.Submitted || lieOf[t][tk.subId] == 0 || watched[t][tk.subId]) continue;
            if (block.timestamp >= tk.deadline) revert("a lie's window passed unwatched"); // the model's fault
            watched[t][tk.subId] = true;
            kindOf[_challenge(t, validators[t % 2])] = Who.Validator;
        }
    }

    /// Plays game `id` to its decision, or abandons it when its submission is gone.
    function _endOrAbandon(uint256 id) internal {
        DisputeGame.Game memory g = game.game(id);
        if (oracle.isLive(g.taskId, g.subId)) {
            _playOut(id);
        } else {
            vm.prank(stranger);
            game.abandon(id);
        }
    }

    function _playOut(uint256 id) internal {
        DisputeGame.Game memory g = game.game(id);
        uint256 lie = lieOf[g.taskId][g.subId];
        lieNode = lie == 0 || gen ? NONE : lie - 1;
        lieStep = lie == 0 ? NONE : LIE_STEP;
        if (gen) _setLie(lie);
        chalMode = kindOf[id] == Who.Griefer ? Mode.Last : Mode.Honest;
        subMoves = 0;
        chalMoves = 0;
        require(_play(id, g.submitter, g.challenger), "game decided");
    }

    // ---- picking ----

    function _openTask(uint8 seed) internal view returns (uint256) {
        uint256 c = oracle.taskCount();
        for (uint256 i = 0; i < c; i++) {
            uint256 t = 1 + ((seed + i) % c);
            InferenceOracle.Task memory tk = oracle.task(t);
            if (tk.status == InferenceOracle.Status.Open && block.timestamp >= tk.resubmitAt) return t;
        }
        return 0;
    }

    function _submittedTask(uint8 seed) internal view returns (uint256, InferenceOracle.Task memory tk) {
        uint256 c = oracle.taskCount();
        for (uint256 i = 0; i < c; i++) {
            uint256 t = 1 + ((seed + i) % c);
            tk = oracle.task(t);
            if (tk.status == InferenceOracle.Status.Submitted) return (t, tk);
        }
        return (0, tk);
    }

    function _openGame(uint8 seed) internal view returns (uint256) {
        uint256 c = game.gameCount();
        for (uint256 i = 0; i < c; i++) {
            uint256 id = 1 + ((seed + i) % c);
            if (game.game(id).turn != DisputeGame.Turn.Done) return id;
        }
        return 0;
    }

    // ---- the invariants' checks ----

    function checkMoney() external view {
        _checkConservation(initialTotal);
    }

    /// What `who` has: its balance, what it withdrew to the stranger's address, and what it holds
    /// in the contracts: credits, bonds of its live submissions and open games, fees of its tasks
    /// not yet decided.
    function _wealth(address who) internal view returns (uint256 sum) {
        sum = who.balance + sentAway[who] + oracle.credit(who);
        for (uint256 t = 1; t <= oracle.taskCount(); t++) {
            InferenceOracle.Task memory tk = oracle.task(t);
            bool undecided = tk.status == InferenceOracle.Status.Open || tk.status == InferenceOracle.Status.Submitted;
            if (tk.requester == who && undecided) sum += tk.fee;
            if (tk.submitter == who && tk.status == InferenceOracle.Status.Submitted) sum += tk.bond;
        }
        for (uint256 id = 1; id <= game.gameCount(); id++) {
            DisputeGame.Game memory g = game.game(id);
            if (g.challenger == who && g.turn != DisputeGame.Turn.Done) sum += CHAL_BOND;
        }
    }

    function _paidFees(address who) internal view returns (uint256 sum) {
        for (uint256 t = 1; t <= oracle.taskCount(); t++) {
            InferenceOracle.Task memory tk = oracle.task(t);
            if (tk.requester == who && tk.status == InferenceOracle.Status.Finalized) sum += tk.fee;
        }
    }

    function checkHonest() external view {
        for (uint256 i = 0; i < 2; i++) {
            require(_wealth(honest[i]) >= START, "an honest submitter lost money");
            require(_wealth(validators[i]) >= START, "a validator lost money");
            require(
                _wealth(requesters[i]) + _paidFees(requesters[i]) == START,
                "a requester lost more than the fees of its finalized tasks"
            );
        }
    }

    function checkLies() external view {
        uint256[2] memory rejected;
        for (uint256 t = 1; t <= oracle.taskCount(); t++) {
            InferenceOracle.Task memory tk = oracle.task(t);
            if (tk.status == InferenceOracle.Status.Finalized) require(lieOf[t][tk.subId] == 0, "a lie finalized");
            for (uint32 s = 1; s <= tk.subId; s++) {
                if (lieOf[t][s] == 0) continue;
                bool live = s == tk.subId && tk.status == InferenceOracle.Status.Submitted;
                if (!live) rejected[liarOf[t][s]]++;
            }
        }
        for (uint256 i = 0; i < 2; i++) {
            uint256 held = _wealth(liars[i]) + _wealth(socks[i]);
            require(held + (rejected[i] * SUB_BOND) / 2 <= 2 * START, "a liar kept more than half its bond");
        }
    }

    /// How many actions did something (forge also calls ones that find nothing to do).
    function summary() external view returns (uint256 actions, uint256 tasks, uint256 games, uint256 burnt) {
        return (calls, oracle.taskCount(), game.gameCount(), oracle.burned());
    }
}

/// FuzzSelector as forge's invariant runner reads it from targetSelectors().
struct FuzzSelector {
    address addr;
    bytes4[] selectors;
}

contract InvariantsTest is Test {
    Handler h;

    function setUp() public virtual {
        h = new Handler(false);
    }

    function targetContracts() public view returns (address[] memory a) {
        a = new address[](1);
        a[0] = address(h);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory s) {
        bytes4[] memory sel = new bytes4[](13);
        sel[0] = Handler.request.selector;
        sel[1] = Handler.submitHonest.selector;
        sel[2] = Handler.submitLie.selector;
        sel[3] = Handler.sockChallenge.selector;
        sel[4] = Handler.grief.selector;
        sel[5] = Handler.play.selector;
        sel[6] = Handler.liarQuits.selector;
        sel[7] = Handler.abandon.selector;
        sel[8] = Handler.finalize.selector;
        sel[9] = Handler.cancel.selector;
        sel[10] = Handler.warp.selector;
        sel[11] = Handler.withdraw.selector;
        sel[12] = Handler.resolve.selector;
        s = new FuzzSelector[](1);
        s[0] = FuzzSelector(address(h), sel);
    }

    /// forge-config: default.invariant.runs = 12
    /// forge-config: default.invariant.depth = 30
    function invariant_money_is_conserved() public view virtual {
        h.checkMoney();
    }

    /// forge-config: default.invariant.runs = 12
    /// forge-config: default.invariant.depth = 30
    function invariant_honest_parties_never_lose() public view virtual {
        h.checkHonest();
    }

    /// forge-config: default.invariant.runs = 12
    /// forge-config: default.invariant.depth = 30
    function invariant_no_lie_finalizes_or_ends_whole() public view virtual {
        h.checkLies();
    }
}

/// The same actors and invariants with generation tasks. forge reads a function's inline config
/// where the function is written, so the invariants are written again here with theirs (forge's
/// defaults, 256 runs of depth 500, would take the better part of an hour).
contract GenInvariantsTest is InvariantsTest {
    function setUp() public override {
        h = new Handler(true);
    }

    /// forge-config: default.invariant.runs = 12
    /// forge-config: default.invariant.depth = 30
    function invariant_money_is_conserved() public view override {
        super.invariant_money_is_conserved();
    }

    /// forge-config: default.invariant.runs = 12
    /// forge-config: default.invariant.depth = 30
    function invariant_honest_parties_never_lose() public view override {
        super.invariant_honest_parties_never_lose();
    }

    /// forge-config: default.invariant.runs = 12
    /// forge-config: default.invariant.depth = 30
    function invariant_no_lie_finalizes_or_ends_whole() public view override {
        super.invariant_no_lie_finalizes_or_ends_whole();
    }
}
