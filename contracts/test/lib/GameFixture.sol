// SPDX-License-Identifier: MIT
// GameFixture.sol: a whole deployment (registry, oracle, game, RiscvStep) plus scripted parties
// for the game tests. The test model is a chain of n nodes over one uint32 input: node k computes
// value_k + descriptor_k + weight_k with a real RV32 guest (VmModel runs it through RiscvStep),
// operand 0 is the previous value (a graph value), operand 1 a weight tensor. Parties:
//   submitter: honest, or a consistent liar at node `lieNode` (its value there is off by one and
//              every later node is computed from it); in phase 2 it posts honest VM hashes before
//              VM step `lieStep` and made-up ones from there, and claims a final state whose
//              output slot holds its wrong value;
//   challenger: honest (selects the first part whose end it disputes), or one that always picks
//              the first or the last part (a wrong selector / colluder);
// and either side may stop moving after a number of moves (to test the clocks). play() drives a
// game to its end (a third party sends resolve once it is decided) and accounts the gas of every
// move by kind (forge's gas for the call, and the transaction's intrinsic gas: 21000 + calldata).
// The hashes, openings and the binding are virtual: GenFixture plays generation games (the token
// phase first) with the same driver.
pragma solidity ^0.8.28;

import {Test} from "./Test.sol";
import {VmModel, Asm} from "./VmModel.sol";
import {Merkle} from "../../src/lib/Merkle.sol";
import {Commitments} from "../../src/lib/Commitments.sol";
import {RiscvStep} from "../../src/RiscvStep.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {InferenceOracle, IOpmlReceiver} from "../../src/InferenceOracle.sol";
import {DisputeGame} from "../../src/DisputeGame.sol";
import {Credits} from "../../src/lib/Credits.sol";

/// A requester contract that keeps what it was called back with.
contract Receiver is IOpmlReceiver {
    uint256 public calls;
    uint256 public lastTask;
    bytes public lastOutput;

    function opmlResult(uint256 taskId, bytes calldata output) external {
        calls++;
        lastTask = taskId;
        lastOutput = output;
    }
}

/// A requester whose callback reverts with a huge reason.
contract RevertingReceiver is IOpmlReceiver {
    function opmlResult(uint256, bytes calldata) external pure {
        assembly {
            revert(0, 100000)
        }
    }
}

/// A requester whose callback burns all the gas it is given.
contract GasBurner is IOpmlReceiver {
    function opmlResult(uint256, bytes calldata) external pure {
        while (true) {}
    }
}

abstract contract GameFixture is Test {
    uint256 internal constant NONE = type(uint256).max;
    uint96 internal constant SUB_BOND = 1 ether;
    uint96 internal constant CHAL_BOND = 0.5 ether;
    uint256 internal constant FEE = 0.1 ether;
    uint32 internal constant WINDOW = 1 hours;
    uint32 internal constant CLOCK = 1 days;
    uint32 internal constant NIN = 1;

    enum Mode {
        Honest,
        First,
        Last
    }

    enum Kind {
        Challenge,
        Dissect,
        Select,
        Open,
        Step,
        Timeout,
        Payout,
        Bind,
        OpenStep,
        Resolve
    }
    uint256 internal constant KINDS = 10;

    RiscvStep internal rv;
    ModelRegistry internal reg;
    InferenceOracle internal oracle;
    DisputeGame internal game;

    address internal requester = address(0xA11CE);
    address internal submitter = address(0x5B);
    address internal submitter2 = address(0x5B2);
    address internal challenger = address(0xC1);
    address internal challenger2 = address(0xC2);
    address internal anyone = address(0xE0);
    address[] internal parties;

    // the model
    uint32 internal n;
    uint8 internal D;
    uint256 internal modelId;
    bytes internal program;
    uint32 internal constant INPUT = 7;

    // the submitter's behaviour
    uint256 internal lieNode = NONE;
    uint256 internal lieStep = NONE;
    uint256 internal subStopAfter = NONE; // moves after the binding
    bool internal subBinds = true; // false: it never binds its end state
    // the challenger's behaviour
    Mode internal chalMode = Mode.Honest;
    uint256 internal chalStopAfter = NONE;
    // the driver: false, play() stops at the decision (turn Resolve) instead of sending resolve
    bool internal resolves = true;

    // the game being played
    bytes32[] internal lastRoots;
    VmModel internal vmRun;
    uint256 internal vmLast; // index of the last recorded state
    bytes32 internal forgedFinal; // the liar's claimed final state hash (0: honest)
    uint256 internal subMoves;
    uint256 internal chalMoves;

    // gas accounting by Kind
    uint256[KINDS] internal gasOf;
    uint256[KINDS] internal countOf;
    uint256[KINDS] internal intrinsicOf;
    uint256[KINDS] internal maxOf;

    /// The bounds the tests deploy with: short windows and clocks, any nonzero bond (the
    /// production values are in docs/game.md and compose/deploy.sh).
    function _testBounds() internal pure returns (ModelRegistry.Bounds memory) {
        return ModelRegistry.Bounds({
            minWindow: 1,
            maxWindow: 30 days,
            minMoveTime: 1,
            maxClock: 30 days,
            minSubmitterBond: 1,
            minChallengerBond: 1,
            maxInputBytes: 1 << 20,
            maxOutputBytes: 1 << 17
        });
    }

    /// The production defaults of docs/game.md ("Model parameters").
    function _productionBounds() internal pure returns (ModelRegistry.Bounds memory) {
        return ModelRegistry.Bounds({
            minWindow: 1 hours,
            maxWindow: 30 days,
            minMoveTime: 5 minutes,
            maxClock: 30 days,
            minSubmitterBond: 0.2 ether,
            minChallengerBond: 0.1 ether,
            maxInputBytes: 128 * 1024,
            maxOutputBytes: 64 * 1024
        });
    }

    function _deploy() internal {
        rv = new RiscvStep();
        reg = new ModelRegistry(_testBounds());
        oracle = new InferenceOracle(reg);
        game = new DisputeGame(reg, oracle, rv);
        oracle.bindGame(address(game));
        parties = [requester, submitter, submitter2, challenger, challenger2, anyone];
        for (uint256 i = 0; i < parties.length; i++) vm.deal(parties[i], 100 ether);
        program = Asm.image(Asm.adder());
    }

    // ---- the model ----

    function _le4(uint32 v) internal pure returns (bytes memory b) {
        b = new bytes(4);
        for (uint256 i = 0; i < 4; i++) b[i] = bytes1(uint8(v >> (8 * i)));
    }

    function _root4(uint32 v) internal pure returns (bytes32) {
        return Merkle.tensorRootMem(_le4(v));
    }

    function _desc(uint256 k) internal pure returns (uint32) {
        return uint32(3 * k + 2);
    }

    function _weight(uint256 k) internal pure returns (uint32) {
        return uint32(100 + k);
    }

    function _refs(uint256 k) internal view returns (bytes32[12] memory refs) {
        refs[0] = bytes32(k); // value k: the input for node 0, else node k-1's output
        refs[1] = _root4(_weight(k));
        bytes32 z = Merkle.zero(23);
        for (uint256 j = 2; j < 12; j++) refs[j] = z;
    }

    function _nodeLeaf(uint256 k) internal view returns (bytes32) {
        return keccak256(abi.encodePacked(_root4(_desc(k)), uint16(1), _refs(k)));
    }

    function _nodeLeaves() internal view returns (bytes32[] memory l) {
        l = new bytes32[](n);
        for (uint256 k = 0; k < n; k++) l[k] = _nodeLeaf(k);
    }

    function _register(uint32 n_, uint16 k, uint8 stepsLog2) internal {
        modelId = reg.register(_spec(n_, k, stepsLog2));
    }

    /// The chain model's spec (every value a 4-byte uint32), and n and D set for it.
    function _spec(uint32 n_, uint16 k, uint8 stepsLog2) internal returns (ModelRegistry.ModelSpec memory s) {
        n = n_;
        D = Merkle.depthFor(NIN + n_);
        uint32[] memory inputBytes = new uint32[](NIN);
        inputBytes[0] = 4;
        s = _modelSpec(Merkle.rootOfLeaves(_nodeLeaves(), Merkle.depthFor(n_)), NIN, n_, NIN + n_ - 1, inputBytes, program);
        s.k = k;
        s.stepsLog2 = stepsLog2;
        s.uri = "file:///models/chain-adder";
    }

    /// A spec with the fixture's game parameters (window, clock, bonds), a 4-byte output, k 2 and
    /// 2^5 VM steps (the caller sets others).
    function _modelSpec(
        bytes32 nodesRoot,
        uint32 nin_,
        uint32 n_,
        uint32 outputValue,
        uint32[] memory inputBytes,
        bytes memory guest
    ) internal pure returns (ModelRegistry.ModelSpec memory s) {
        s.nodesRoot = nodesRoot;
        s.nin = nin_;
        s.n = n_;
        s.outputValue = outputValue;
        s.stateDepth = Merkle.depthFor(uint256(nin_) + n_);
        s.inputBytes = inputBytes;
        s.outputBytes = 4;
        s.guestRoot = Merkle.tensorRootMem(guest);
        s.k = 2;
        s.stepsLog2 = 5;
        s.challengeWindow = WINDOW;
        s.clock = CLOCK;
        s.submitterBond = SUB_BOND;
        s.challengerBond = CHAL_BOND;
    }

    /// Values 0 .. NIN + n - 1 as a party computes them; `lie` = the node it gets wrong (or NONE).
    function _values(uint256 lie) internal view returns (uint32[] memory v) {
        v = new uint32[](NIN + n);
        v[0] = INPUT;
        for (uint256 k = 0; k < n; k++) {
            unchecked {
                v[NIN + k] = v[k] + _desc(k) + _weight(k);
                if (k == lie) v[NIN + k] += 1;
            }
        }
    }

    function _leaves(uint32[] memory v, uint256 s) internal view returns (bytes32[] memory l) {
        l = new bytes32[](uint256(1) << D);
        for (uint256 i = 0; i < NIN + s; i++) l[i] = _root4(v[i]);
    }

    function _state(uint32[] memory v, uint256 s) internal view returns (bytes32) {
        return Merkle.rootOfLeaves(_leaves(v, s), D);
    }

    /// Siblings of leaf `idx` in the full tree over `leaves` (2^depth of them).
    function _siblings(bytes32[] memory leaves, uint256 idx, uint256 depth) internal pure returns (bytes32[] memory sib) {
        sib = new bytes32[](depth);
        bytes32[] memory level = leaves;
        for (uint256 h = 0; h < depth; h++) {
            sib[h] = level[idx ^ 1];
            bytes32[] memory up = new bytes32[](level.length / 2);
            for (uint256 i = 0; i < up.length; i++) up[i] = Merkle.parent(level[2 * i], level[2 * i + 1]);
            level = up;
            idx >>= 1;
        }
    }

    // ---- tasks ----

    function _request(address who) internal returns (uint256 taskId) {
        bytes[] memory inputs = new bytes[](1);
        inputs[0] = _le4(INPUT);
        vm.prank(who);
        taskId = oracle.request{value: FEE}(modelId, inputs);
    }

    function _outputOf(uint256 lie) internal view returns (bytes memory) {
        return _le4(_values(lie)[NIN + n - 1]);
    }

    function _submit(uint256 taskId, address who, uint256 lie) internal {
        vm.prank(who);
        oracle.submit{value: SUB_BOND}(taskId, _outputOf(lie));
    }

    /// A task whose submitter lies at `node` (in its VM run from `step` on), submitted.
    function _lieTask(uint256 node, uint256 step) internal returns (uint256 taskId) {
        lieNode = node;
        lieStep = step;
        taskId = _request(requester);
        _submit(taskId, submitter, node);
    }

    /// The driver's counters and the challenger's strategy reset for the next game played.
    function _nextGame(Mode mode) internal {
        chalMode = mode;
        subMoves = 0;
        chalMoves = 0;
    }

    /// The submitter's binding of its end state: State_n of its values and the output's path.
    function _bindCall(uint256 id) internal view virtual returns (bytes memory) {
        uint32[] memory v = _values(lieNode);
        bytes32[] memory proof = _siblings(_leaves(v, n), NIN + n - 1, D);
        return abi.encodeCall(DisputeGame.bindEnd, (id, _state(v, n), _le4(v[NIN + n - 1]), proof));
    }

    /// Whether the submitter can open the token step due (a liar whose G_{t+1} is no state cannot).
    function _canOpenStep() internal view virtual returns (bool) {
        return true;
    }

    /// Whether the submitter can open graph step s (one whose claimed end is not its run's cannot).
    function _canOpenNode(uint256) internal view virtual returns (bool) {
        return true;
    }

    /// The submitter's opening of token step t (generation games only).
    function _stepOpening(uint256) internal virtual returns (DisputeGame.StepOpening memory) {
        revert("not a generation game");
    }

    function _challenge(uint256 taskId, address who) internal returns (uint256 gameId) {
        bytes memory cd = abi.encodeCall(DisputeGame.challenge, (taskId));
        vm.prank(who);
        uint256 g0 = gasleft();
        (bool ok, bytes memory ret) = address(game).call{value: CHAL_BOND}(cd);
        _account(Kind.Challenge, g0 - gasleft(), cd);
        _bubble(ok, ret);
        gameId = abi.decode(ret, (uint256));
    }

    // ---- driving a game ----

    function _bubble(bool ok, bytes memory ret) internal pure {
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    function _account(Kind kind, uint256 used, bytes memory cd) internal {
        uint256 intrinsic = 21000;
        for (uint256 i = 0; i < cd.length; i++) intrinsic += cd[i] == 0 ? 4 : 16;
        gasOf[uint256(kind)] += used;
        countOf[uint256(kind)] += 1;
        intrinsicOf[uint256(kind)] += intrinsic;
        if (used > maxOf[uint256(kind)]) maxOf[uint256(kind)] = used;
    }

    function _move(Kind kind, address who, bytes memory cd) internal {
        vm.prank(who);
        uint256 g0 = gasleft();
        (bool ok, bytes memory ret) = address(game).call(cd);
        _account(kind, g0 - gasleft(), cd);
        _bubble(ok, ret);
    }

    /// The submitter's hash at position j of the current phase.
    function _subHash(uint8 phase, uint256 j, uint64 hi) internal view virtual returns (bytes32) {
        if (phase == 1) return _state(_values(lieNode), j);
        if (forgedFinal != 0 && j >= lieStep) {
            if (j == hi && j == _T()) return forgedFinal;
            return keccak256(abi.encode("lie", j));
        }
        return vmRun.stateHashAt(j);
    }

    /// The honest hash at position j (the honest challenger's view).
    function _honestHash(uint8 phase, uint256 j) internal view virtual returns (bytes32) {
        if (phase == 1) return _state(_values(NONE), j);
        return vmRun.stateHashAt(j);
    }

    function _T() internal view returns (uint256) {
        return uint256(1) << reg.spec(modelId).stepsLog2;
    }

    /// Plays game `id` until it ends or a party stops; returns true when the game ended (with
    /// `resolves` false: when it is decided, turn Resolve, not yet paid out).
    function _play(uint256 id, address sub, address chal) internal virtual returns (bool ended) {
        for (uint256 guard = 0; guard < 400; guard++) {
            DisputeGame.Turn t = game.game(id).turn;
            if (t == DisputeGame.Turn.Done || (t == DisputeGame.Turn.Resolve && !resolves)) return true;
            if (!_playOne(id, sub, chal)) return false;
        }
        revert("game did not end");
    }

    /// The next move of game `id` (not Done) by the party due, a minute after the last (resolve:
    /// by `anyone`); false when that party stops instead.
    function _playOne(uint256 id, address sub, address chal) internal returns (bool moved) {
        DisputeGame.Game memory g = game.game(id);
        vm.warp(block.timestamp + 60);
        if (g.turn == DisputeGame.Turn.Resolve) {
            _resolve(id, anyone);
        } else if (g.turn == DisputeGame.Turn.Bind) {
            if (!subBinds) return false;
            _move(Kind.Bind, sub, _bindCall(id));
        } else if (g.turn == DisputeGame.Turn.OpenStep) {
            if (subMoves++ >= subStopAfter || !_canOpenStep()) return false;
            _move(Kind.OpenStep, sub, abi.encodeCall(DisputeGame.openStep, (id, _stepOpening(g.lo))));
        } else if (g.turn == DisputeGame.Turn.Dissect) {
            if (subMoves++ >= subStopAfter) return false;
            uint256 len = g.hi - g.lo;
            uint256 m = len < g.k ? len : g.k;
            delete lastRoots;
            for (uint256 j = 1; j < m; j++) lastRoots.push(_subHash(g.phase, g.lo + (len * j) / m, g.hi));
            _move(Kind.Dissect, sub, abi.encodeCall(DisputeGame.dissect, (id, lastRoots)));
        } else if (g.turn == DisputeGame.Turn.Select) {
            if (chalMoves++ >= chalStopAfter) return false;
            _move(Kind.Select, chal, abi.encodeCall(DisputeGame.select, (id, lastRoots, _pick(g))));
        } else if (g.turn == DisputeGame.Turn.Open) {
            if (subMoves++ >= subStopAfter || !_canOpenNode(g.hi)) return false;
            _move(Kind.Open, sub, abi.encodeCall(DisputeGame.openNode, (id, _opening(g.hi))));
        } else {
            if (chalMoves++ >= chalStopAfter) return false;
            bytes memory pre = vmRun.stateAt(g.lo);
            if (keccak256(pre) != g.startHash) return false; // nobody can prove from a made-up state
            _move(Kind.Step, chal, abi.encodeCall(DisputeGame.step, (id, pre, vmRun.proofAt(g.lo))));
        }
        return true;
    }

    function _pick(DisputeGame.Game memory g) internal view returns (uint256) {
        uint256 m = lastRoots.length + 1;
        if (chalMode == Mode.First) return 0;
        if (chalMode == Mode.Last) return m - 1;
        uint256 len = g.hi - g.lo;
        for (uint256 j = 0; j < m; j++) {
            bytes32 end = j < m - 1 ? lastRoots[j] : g.endHash;
            if (end != _honestHash(g.phase, g.lo + (len * (j + 1)) / m)) return j;
        }
        return m - 1;
    }

    /// An opening's refs: the node leaf's refs less its trailing empty slots (Z(23)).
    function _openingRefs(bytes32[12] memory r) internal pure returns (bytes32[] memory out) {
        uint256 count = 12;
        while (count > 0 && r[count - 1] == Commitments.EMPTY_SLOT) count--;
        out = new bytes32[](count);
        for (uint256 j = 0; j < count; j++) out[j] = r[j];
    }

    /// A value operand's siblings in an opening: those of leaf y below the height where its path
    /// meets the opened leaf x's (the top bit of x ^ y); none when y == x.
    function _valueSiblings(bytes32[] memory full, uint256 x, uint256 y) internal pure returns (bytes32[] memory p) {
        if (x == y) return new bytes32[](0);
        p = new bytes32[](Merkle.meetHeight(x, y) - 1);
        for (uint256 i = 0; i < p.length; i++) p[i] = full[i];
    }

    /// The submitter's opening of graph step s, and the VM run (vmRun) of node s - 1 from its values.
    function _opening(uint256 s) internal virtual returns (DisputeGame.NodeOpening memory o) {
        uint32[] memory v = _values(lieNode);
        uint256 k = s - 1;
        vmRun = new VmModel(rv);
        vmRun.writeBytes(0, program);
        vmRun.writeBytes(0x10000000, _le4(_desc(k)));
        vmRun.writeBytes(0x30000000, _le4(v[k]));
        vmRun.writeBytes(0x40000000, _le4(_weight(k)));
        vmLast = vmRun.run(vmRun.initialState(), 1000);
        o.output = _root4(v[NIN + k]);
        o.statePath = _siblings(_leaves(v, s), NIN - 1 + s, D);
        o.descriptorRoot = _root4(_desc(k));
        o.inputMask = 1;
        o.refs = _openingRefs(_refs(k));
        o.nodePath = _siblings(_padded(_nodeLeaves()), k, Merkle.depthFor(n));
        o.valueRoots = new bytes32[](1);
        o.valueRoots[0] = _root4(v[k]);
        o.valuePaths = _valueSiblings(_siblings(_leaves(v, s - 1), k, D), NIN - 1 + s, k);
        bytes memory fin = vmRun.stateAt(vmLast);
        bytes32[] memory sp = vmRun.slotSiblings(15);
        for (uint256 i = 0; i < 4; i++) o.slotPath[i] = sp[i];
        forgedFinal = 0;
        if (k == lieNode) {
            // the liar's claimed final state: its wrong output in slot 15
            bytes32 root = vmRun.rootFromSlot(15, o.output);
            fin = vmRun.withRoot(fin, root);
            forgedFinal = keccak256(fin);
        }
        o.finalState = fin;
    }

    function _padded(bytes32[] memory l) internal pure returns (bytes32[] memory p) {
        uint256 size = uint256(1) << Merkle.depthFor(l.length);
        p = new bytes32[](size);
        for (uint256 i = 0; i < l.length; i++) p[i] = l[i];
    }

    // ---- money ----

    /// Every wei is where the books say: the oracle, the one bank, holds exactly its credits plus
    /// what it keeps for open tasks, live submissions, open games' challenger bonds, rejected
    /// bonds' unclaimed shares and the burned wei; the game holds nothing; nothing is created or
    /// lost.
    function _checkConservation(uint256 initialTotal) internal view {
        uint256 oc;
        uint256 held;
        for (uint256 i = 0; i < parties.length; i++) {
            oc += oracle.credit(parties[i]);
            held += parties[i].balance;
        }
        uint256 oracleOwes = oc;
        for (uint256 t = 1; t <= oracle.taskCount(); t++) {
            InferenceOracle.Task memory tk = oracle.task(t);
            if (tk.status == InferenceOracle.Status.Open || tk.status == InferenceOracle.Status.Submitted) oracleOwes += tk.fee;
            if (tk.status == InferenceOracle.Status.Submitted) oracleOwes += tk.bond;
            for (uint32 sub = 1; sub <= tk.subId; sub++) {
                InferenceOracle.Rejection memory r = oracle.rejection(t, sub);
                oracleOwes += uint256(r.share) * r.unclaimed;
            }
        }
        oracleOwes += oracle.burned();
        for (uint256 id = 1; id <= game.gameCount(); id++) {
            if (game.game(id).turn != DisputeGame.Turn.Done) oracleOwes += CHAL_BOND;
        }
        assertEq(address(oracle).balance, oracleOwes, "oracle balance == what it owes");
        assertEq(address(game).balance, 0, "the game holds nothing");
        assertEq(held + address(oracle).balance + address(game).balance, initialTotal, "no wei created or lost");
    }

    /// Each open game's share of a rejected submitter's bond when `games` were open against it.
    function _share(uint256 games) internal view returns (uint256) {
        return (SUB_BOND - (SUB_BOND * oracle.BURN_BPS()) / 10_000) / games;
    }

    function _total() internal view returns (uint256 t) {
        for (uint256 i = 0; i < parties.length; i++) t += parties[i].balance;
        t += address(oracle).balance + address(game).balance;
    }

    function _withdrawAll(address who) internal {
        if (oracle.credit(who) > 0) {
            bytes memory cd = abi.encodeCall(Credits.withdraw, ());
            vm.prank(who);
            uint256 g0 = gasleft();
            oracle.withdraw();
            _account(Kind.Payout, g0 - gasleft(), cd);
        }
    }

    /// Resolves decided game `id` (turn Resolve), sent by `who`.
    function _resolve(uint256 id, address who) internal {
        _move(Kind.Resolve, who, abi.encodeCall(DisputeGame.resolve, (id)));
    }

    function _resetGas() internal {
        for (uint256 i = 0; i < KINDS; i++) {
            gasOf[i] = 0;
            countOf[i] = 0;
            intrinsicOf[i] = 0;
            maxOf[i] = 0;
        }
    }
}
