// SPDX-License-Identifier: MIT
// GenFixture.sol: generation games (docs/generation.md) between scripted parties, on GameFixture's
// deployment and driver: the token phase over G_t, the opening of one token step, then phases 1
// and 2 over that step's graph exactly as a classifier's.
//
// The step graph is synthetic, laid out as the registry demands for L layers (c = ceil(log2 2L)):
// inputs 0 .. 2L - 1 the caches K_0, V_0, K_1, ... (one uint32 each), pads up to 2^c (zero), then
// token, pos and the 20-byte sampler input. Every node adds two operands and its descriptor word
// and keeps 10 bits (the masked adder guest, Asm.maskedAdder), so every value is a token id below
// VOCAB = 1024:
//   node 0: h = token + K_0;  nodes 1 .. F (fillers): h = h + pos;  logits = h + V_0;
//   sampled = logits + sampler (its first word: the draw state's low 32 bits) -- the output value;
//   filler nodes until the cache outputs are aligned to 2^c; then per layer K'_l = K_l + h and
//   V'_l = V_l + logits (as KVAppend reads the old cache and the new row), then pad nodes that add
//   a zero input to itself with descriptor 0 (zero outputs, root Z(23)).
// A generation is the honest recurrence of docs/generation.md over this graph. The submitter may
// lie at token step `lieAt` (a consistent liar: everything after follows from its lie): at the
// logits (Token: the sampled token changes), at the sampled token (Sampler), in the first cache
// row (KvRow), at node 0 (Node), or with G_t's that are no states (Unopenable: it cannot open the
// disputed step). In phase 2 the lie of GameFixture (lieStep) applies to the lying node's VM run.
pragma solidity ^0.8.28;

import {GameFixture} from "./GameFixture.sol";
import {VmModel, Asm} from "./VmModel.sol";
import {Merkle} from "../../src/lib/Merkle.sol";
import {Generation} from "../../src/lib/Generation.sol";
import {Commitments} from "../../src/lib/Commitments.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {InferenceOracle} from "../../src/InferenceOracle.sol";
import {DisputeGame} from "../../src/DisputeGame.sol";

abstract contract GenFixture is GameFixture {
    uint32 internal constant VOCAB = 1024;
    uint32 internal constant MASK = VOCAB - 1;
    uint32 internal constant CTX = 128;

    enum Lie {
        None,
        Token,
        Sampler,
        KvRow,
        Node,
        Unopenable
    }

    /// A party's generation: tokens x_0 .. x_T and the caches before each step.
    struct Trace {
        uint32[] x;
        uint32[][] caches;
        uint256 T;
    }

    // the step graph
    uint32 internal layers;
    uint256 internal kvH; // c
    uint32 internal gnin;
    uint32 internal gn;
    uint8 internal gD;
    uint32 internal logitsNode;
    uint32 internal sampledNode;
    uint32 internal kvNode; // the first cache output node
    uint32[] internal opA;
    uint32[] internal opB;
    uint32[] internal descOf;
    bytes internal genProgram;
    uint256 internal genModelId;

    // the request
    uint32[] internal promptIds;
    uint32 internal maxNew;
    uint32 internal stopToken = Generation.NO_STOP;
    InferenceOracle.Sampler internal sampler;

    // the submitter's lie
    Lie internal genLie;
    uint256 internal lieAt;

    // the game being played, and each party's hashes computed once per game (a generation is
    // long: recomputed for every hash, the test would run out of gas and memory); index 1 the
    // submitter's claims, 0 the honest ones
    bool internal genPlaying;
    uint256 internal openedAt;
    bytes32[][2] internal gOf;
    bytes32[][2] internal leavesOf; // the opened step's value leaves
    uint256 internal statePathLie = NONE; // the submitter's opening flips this sibling of its state path

    // ---- the step graph ----

    function _node(uint32 a, uint32 b, uint32 desc) internal {
        opA.push(a);
        opB.push(b);
        descOf.push(desc);
    }

    /// Builds the step graph for `l` layers and `fillers` filler nodes (see the top comment).
    function _buildStepGraph(uint32 l, uint32 fillers) internal {
        delete opA;
        delete opB;
        delete descOf;
        layers = l;
        kvH = Merkle.depthFor(2 * uint256(l));
        uint32 kv = uint32(1 << kvH);
        gnin = kv + 3;
        uint32 tok = kv;
        uint32 pos = kv + 1;
        _node(tok, 0, 2);
        for (uint32 i = 1; i <= fillers; i++) _node(gnin + i - 1, pos, 3 * i + 2);
        uint32 h = gnin + fillers;
        logitsNode = uint32(opA.length);
        _node(h, 1, 7);
        sampledNode = uint32(opA.length);
        _node(gnin + logitsNode, kv + 2, 11);
        while ((gnin + opA.length) % kv != 0) _node(h, pos, 13);
        kvNode = uint32(opA.length);
        for (uint32 i = 0; i < l; i++) {
            _node(2 * i, h, 17 + i);
            _node(2 * i + 1, gnin + logitsNode, 19 + i);
        }
        for (uint32 p = 2 * l; p < kv; p++) _node(p, p, 0);
        gn = uint32(opA.length);
        gD = Merkle.depthFor(uint256(gnin) + gn);
    }

    /// A node's refs: operands 0 and 1 set by the caller, the others unused (Z(23)).
    function _refsOf() internal pure returns (bytes32[12] memory refs) {
        bytes32 z = Merkle.zero(23);
        for (uint256 j = 2; j < 12; j++) refs[j] = z;
    }

    function _genNodeLeaf(uint256 k) internal view returns (bytes32) {
        bytes32[12] memory refs = _refsOf();
        refs[0] = bytes32(uint256(opA[k]));
        refs[1] = bytes32(uint256(opB[k]));
        return Commitments.nodeLeaf(_root4(descOf[k]), 3, refs);
    }

    function _genNodeLeaves() internal view returns (bytes32[] memory l) {
        l = new bytes32[](gn);
        for (uint256 k = 0; k < gn; k++) l[k] = _genNodeLeaf(k);
    }

    function _genSpec(uint16 k, uint8 stepsLog2)
        internal
        returns (ModelRegistry.ModelSpec memory s, ModelRegistry.GenerationSpec memory g)
    {
        genProgram = Asm.image(Asm.maskedAdder());
        uint32[] memory inputBytes = new uint32[](gnin);
        for (uint256 i = 0; i < gnin; i++) inputBytes[i] = 4;
        inputBytes[gnin - 1] = 20;
        s = _modelSpec(Merkle.rootOfLeaves(_genNodeLeaves(), Merkle.depthFor(gn)), gnin, gn, gnin + sampledNode, inputBytes, genProgram);
        s.k = k;
        s.stepsLog2 = stepsLog2;
        s.uri = "file:///models/gen-adder";
        g = ModelRegistry.GenerationSpec({vocab: VOCAB, ctx: CTX, layers: layers, kvValue: gnin + kvNode});
    }

    function _registerGen(uint32 l, uint32 fillers, uint16 k, uint8 stepsLog2) internal {
        _buildStepGraph(l, fillers);
        (ModelRegistry.ModelSpec memory s, ModelRegistry.GenerationSpec memory g) = _genSpec(k, stepsLog2);
        genModelId = reg.registerGeneration(s, g);
    }

    /// The tests' usual deployment: a one-layer step graph (k 2, 2^5 VM steps), a 4-id prompt, 6
    /// new ids, a sampler with `seed` (temperature 1, top-k 40, top-p 0.9; or greedy when
    /// `greedy`).
    function _genSetUp(bool greedy, uint64 seed) internal {
        _deploy();
        _registerGen(1, 0, 2, 5);
        _setPrompt(4, 1);
        maxNew = 6;
        sampler = greedy
            ? InferenceOracle.Sampler({temperature: 0, topK: 0, topP: 0, seed: seed})
            : InferenceOracle.Sampler({temperature: 0x3f800000, topK: 40, topP: 0x3f666666, seed: seed});
    }

    // ---- generations ----

    function _ids(uint32[] memory ids) internal pure returns (bytes memory b) {
        b = new bytes(4 * ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            for (uint256 j = 0; j < 4; j++) b[4 * i + j] = bytes1(uint8(ids[i] >> (8 * j)));
        }
    }

    function _setPrompt(uint256 p, uint32 seed) internal {
        delete promptIds;
        for (uint256 i = 0; i < p; i++) promptIds.push(uint32(uint256(keccak256(abi.encode(seed, i))) % VOCAB));
    }

    /// A generation requested, a lie of kind `l` at token step `at` submitted by the submitter
    /// (or the truth for Lie.None) and challenged by the challenger.
    function _liarGame(Lie l, uint256 at) internal returns (uint256 task, uint256 id) {
        genLie = l;
        lieAt = at;
        task = _requestGen(requester);
        _submitGen(task, submitter, true);
        id = _challenge(task, challenger);
    }

    function _requestGen(address who) internal returns (uint256 taskId) {
        vm.prank(who);
        taskId = oracle.requestGeneration{value: FEE}(genModelId, _ids(promptIds), maxNew, stopToken, sampler);
    }

    /// Value `vid` of a step as a uint32 (the sampler input: its first word).
    function _input(uint32 vid, uint32 x, uint32[] memory caches, uint256 t, uint32[] memory outs)
        internal
        view
        returns (uint32)
    {
        if (vid >= gnin) return outs[vid - gnin];
        if (vid < 2 * layers) return caches[vid];
        uint32 kv = uint32(1 << kvH);
        if (vid < kv) return 0;
        if (vid == kv) return x;
        if (vid == kv + 1) return uint32(t);
        return uint32(Generation.drawState(sampler.seed, t, promptIds.length));
    }

    /// The node outputs of step t on token x and `caches`, lying at node `lieNode_` (or not: NONE).
    function _run(uint32 x, uint32[] memory caches, uint256 t, uint256 lieNode_) internal view returns (uint32[] memory outs) {
        outs = new uint32[](gn);
        for (uint256 k = 0; k < gn; k++) {
            unchecked {
                uint32 v = _input(opA[k], x, caches, t, outs) + _input(opB[k], x, caches, t, outs) + descOf[k];
                if (k == lieNode_) v += 1;
                outs[k] = v & MASK;
            }
        }
    }

    function _lieNode(Lie l) internal view returns (uint256) {
        if (l == Lie.Token) return logitsNode;
        if (l == Lie.Sampler || l == Lie.Unopenable) return sampledNode;
        if (l == Lie.KvRow) return kvNode;
        if (l == Lie.Node) return 0;
        return NONE;
    }

    /// A party's generation: the liar's (with its lie at lieAt) or the honest one; stopping at the
    /// stop token unless `full` (the honest challenger continues past its own stop when the
    /// submitter claims more steps).
    function _trace(bool liar, bool full) internal view returns (Trace memory tr) {
        uint256 p = promptIds.length;
        uint256 cap = p + maxNew;
        tr.x = new uint32[](cap);
        tr.caches = new uint32[][](cap);
        tr.x[0] = promptIds[0];
        tr.caches[0] = new uint32[](2 * layers);
        for (uint256 t = 0;; t++) {
            uint256 ln = liar && t == lieAt ? _lieNode(genLie) : NONE;
            uint32[] memory outs = _run(tr.x[t], tr.caches[t], t, ln);
            tr.caches[t + 1] = new uint32[](2 * layers);
            for (uint256 i = 0; i < 2 * layers; i++) tr.caches[t + 1][i] = outs[kvNode + i];
            if (t + 1 < p) {
                tr.x[t + 1] = promptIds[t + 1];
                continue;
            }
            tr.x[t + 1] = outs[sampledNode];
            if ((!full && tr.x[t + 1] == stopToken) || t + 2 - p == maxNew) {
                tr.T = t + 1;
                break;
            }
        }
    }

    function _output(Trace memory tr) internal view returns (bytes memory) {
        uint256 p = promptIds.length;
        uint32[] memory o = new uint32[](tr.T + 1 - p);
        for (uint256 i = 0; i < o.length; i++) o[i] = tr.x[p + i];
        return _ids(o);
    }

    function _genOutput(bool liar) internal view returns (bytes memory) {
        return _output(_trace(liar, false));
    }

    function _submitGen(uint256 taskId, address who, bool liar) internal {
        vm.prank(who);
        oracle.submit{value: SUB_BOND}(taskId, _genOutput(liar));
    }

    // ---- the commitments of a trace ----

    function _prefix(Trace memory tr, uint256 t) internal pure returns (bytes memory) {
        uint32[] memory ids = new uint32[](t + 1);
        for (uint256 i = 0; i <= t; i++) ids[i] = tr.x[i];
        return _ids(ids);
    }

    function _tokensRoot(Trace memory tr, uint256 t) internal pure returns (bytes32) {
        return Merkle.tensorRootMem(_prefix(tr, t));
    }

    function _cacheLeaves(uint32[] memory caches) internal view returns (bytes32[] memory l) {
        l = new bytes32[](uint256(1) << kvH);
        for (uint256 i = 0; i < l.length; i++) l[i] = i < caches.length ? _root4(caches[i]) : Merkle.zero(23);
    }

    function _kvRoot(Trace memory tr, uint256 t) internal view returns (bytes32) {
        return Merkle.rootOfLeaves(_cacheLeaves(tr.caches[t]), kvH);
    }

    /// The claimed G_t of the submitter (the liar's) or the honest one, for every t of its trace.
    function _fillStates() internal {
        for (uint256 p = 0; p < 2; p++) {
            bool liar = p == 1;
            Trace memory tr = _trace(liar, !liar);
            delete gOf[p];
            for (uint256 t = 0; t <= tr.T; t++) {
                bytes32 g = Generation.state(_tokensRoot(tr, t), _kvRoot(tr, t));
                if (liar && genLie == Lie.Unopenable && t > lieAt) {
                    g = t == tr.T ? Generation.state(_tokensRoot(tr, t), keccak256("junk")) : keccak256(abi.encode("junk", t));
                }
                gOf[p].push(g);
            }
        }
    }

    function _g(bool liar, uint256 t) internal view returns (bytes32) {
        return gOf[liar ? 1 : 0][t];
    }

    function _samplerWord(uint256 t) internal view returns (bytes32) {
        return Generation.samplerWord(
            Generation.drawState(sampler.seed, t, promptIds.length), sampler.temperature, sampler.topK, sampler.topP
        );
    }

    /// The step graph's value leaves (2^D) of step t of a trace, its graph run included.
    function _stepLeaves(Trace memory tr, uint256 t, bool liar) internal view returns (bytes32[] memory l) {
        l = new bytes32[](uint256(1) << gD);
        bytes32[] memory kv = _cacheLeaves(tr.caches[t]);
        for (uint256 i = 0; i < kv.length; i++) l[i] = kv[i];
        uint256 b = kv.length;
        l[b] = _root4(tr.x[t]);
        l[b + 1] = _root4(uint32(t));
        l[b + 2] = Merkle.wordTensorRoot(_samplerWord(t));
        uint32[] memory outs = _run(tr.x[t], tr.caches[t], t, liar && t == lieAt ? _lieNode(genLie) : NONE);
        for (uint256 k = 0; k < gn; k++) l[gnin + k] = _root4(outs[k]);
    }

    /// The leaves of State_s: values 0 .. nin - 1 + s, zero after.
    function _upTo(bytes32[] memory leaves, uint256 s) internal view returns (bytes32[] memory l) {
        l = new bytes32[](leaves.length);
        for (uint256 i = 0; i < gnin + s; i++) l[i] = leaves[i];
    }

    /// Both parties' value leaves of token step t, kept for the phase that follows its opening.
    function _fillStep(uint256 t) internal {
        openedAt = t;
        for (uint256 p = 0; p < 2; p++) {
            bool liar = p == 1;
            leavesOf[p] = _stepLeaves(_trace(liar, !liar), t, liar);
        }
    }

    function _stepState(bool liar, uint256 s) internal view returns (bytes32) {
        return Merkle.rootOfLeaves(_upTo(leavesOf[liar ? 1 : 0], s), gD);
    }

    // ---- the driver's hooks ----

    function _play(uint256 id, address sub, address chal) internal virtual override returns (bool) {
        genPlaying = game.game(id).modelId == genModelId && genModelId != 0;
        if (genPlaying) _fillStates();
        return super._play(id, sub, chal);
    }

    function _subHash(uint8 phase, uint256 j, uint64 hi) internal view virtual override returns (bytes32) {
        if (!genPlaying || phase == 2) return super._subHash(phase, j, hi);
        return phase == 0 ? _g(true, j) : _stepState(true, j);
    }

    function _honestHash(uint8 phase, uint256 j) internal view virtual override returns (bytes32) {
        if (!genPlaying || phase == 2) return super._honestHash(phase, j);
        return phase == 0 ? _g(false, j) : _stepState(false, j);
    }

    function _canOpenStep() internal view virtual override returns (bool) {
        return !genPlaying || genLie != Lie.Unopenable;
    }

    /// A submitter whose opened State_n is not its run's (a lying state path) cannot open the
    /// graph step at its end.
    function _canOpenNode(uint256 s) internal view virtual override returns (bool) {
        return !genPlaying || statePathLie == NONE || s < gn;
    }

    function _bindCall(uint256 id) internal view virtual override returns (bytes memory) {
        if (!genPlaying) return super._bindCall(id);
        Trace memory tr = _trace(true, false);
        bytes32 kv = genLie == Lie.Unopenable ? keccak256("junk") : _kvRoot(tr, tr.T);
        return abi.encodeCall(
            DisputeGame.bindTokens, (id, _tokensRoot(tr, tr.T), kv, _ids(promptIds), _output(tr))
        );
    }

    /// The submitter's opening of token step t (the driver calls it at Turn.OpenStep).
    function _stepOpening(uint256 t) internal virtual override returns (DisputeGame.StepOpening memory o) {
        _fillStep(t);
        Trace memory tr = _trace(true, false);
        bytes memory toks = _prefix(tr, t);
        o.kvRoot = _kvRoot(tr, t);
        o.nextKvRoot = _kvRoot(tr, t + 1);
        o.tokenLeaf = _leafWord(toks, t / 8);
        o.tokenPath = _bitPath(_fullTensorPath(toks, t / 8), t / 8, 1);
        bool promptStep = t + 1 < promptIds.length;
        if (promptStep) {
            bytes memory p = _ids(promptIds);
            o.nextLeaf = _leafWord(p, (t + 1) / 8);
            o.promptPath = _bitPath(_fullTensorPath(p, (t + 1) / 8), (t + 1) / 8, 0);
        } else {
            o.nextLeaf = Generation.le32(tr.x[t + 1]);
        }
        o.statePath = _statePath(leavesOf[1], !promptStep);
        if (statePathLie != NONE) o.statePath[statePathLie] ^= bytes32(uint256(1));
    }

    /// The siblings of a tensor path (`full`: all 23) at the heights where bit h of leaf `idx` is
    /// `bit` (what openStep takes: its token path, bit 1, and its prompt path, bit 0, without its
    /// trailing zero roots).
    function _bitPath(bytes32[] memory full, uint256 idx, uint256 bit) internal pure returns (bytes32[] memory p) {
        p = new bytes32[](full.length);
        uint256 n;
        uint256 kept;
        for (uint256 h = 0; h < full.length; h++) {
            if ((idx >> h) & 1 != bit) continue;
            p[n++] = full[h];
            if (bit == 1 || full[h] != Merkle.zero(h)) kept = n;
        }
        assembly {
            mstore(p, kept)
        }
    }

    /// openStep's state path over the step graph's value leaves: the kv subtree's siblings from
    /// height c, and when `sampled` the sampled token leaf's, the two stopping below the height m
    /// where they meet, then their common siblings from m up (Generation.stateNFrom).
    function _statePath(bytes32[] memory leaves, bool sampled) internal view returns (bytes32[] memory p) {
        uint256 kvValue = gnin + kvNode;
        bytes32[] memory kv = _siblings(_level(leaves, kvH), kvValue >> kvH, gD - kvH);
        if (!sampled) return kv;
        bytes32[] memory sp = _siblings(leaves, gnin + sampledNode, gD);
        uint256 m = Merkle.meetHeight(kvValue, gnin + sampledNode);
        p = new bytes32[](gD + m - kvH - 2);
        uint256 n;
        for (uint256 h = kvH; h + 1 < m; h++) p[n++] = kv[h - kvH];
        for (uint256 h = 0; h + 1 < m; h++) p[n++] = sp[h];
        for (uint256 h = m; h < gD; h++) p[n++] = sp[h];
    }

    /// The submitter's opening of graph step s of the opened token step, and the VM run of its node.
    function _opening(uint256 s) internal virtual override returns (DisputeGame.NodeOpening memory o) {
        if (!genPlaying) return super._opening(s);
        Trace memory tr = _trace(true, false);
        bytes32[] memory leaves = leavesOf[1];
        uint256 k = s - 1;
        vmRun = new VmModel(rv);
        vmRun.writeBytes(0, genProgram);
        vmRun.writeBytes(0x10000000, _le4(descOf[k]));
        vmRun.writeBytes(0x30000000, _valueBytes(tr, openedAt, opA[k], leaves));
        vmRun.writeBytes(0x40000000, _valueBytes(tr, openedAt, opB[k], leaves));
        vmLast = vmRun.run(vmRun.initialState(), 1000);
        o.output = leaves[gnin + k];
        o.statePath = _siblings(_upTo(leaves, s), gnin - 1 + s, gD);
        o.descriptorRoot = _root4(descOf[k]);
        o.inputMask = 3;
        bytes32[12] memory refs = _refsOf();
        refs[0] = bytes32(uint256(opA[k]));
        refs[1] = bytes32(uint256(opB[k]));
        o.refs = _openingRefs(refs);
        o.nodePath = _siblings(_padded(_genNodeLeaves()), k, Merkle.depthFor(gn));
        bytes32[] memory before = _upTo(leaves, s - 1);
        o.valueRoots = new bytes32[](2);
        o.valueRoots[0] = leaves[opA[k]];
        o.valueRoots[1] = leaves[opB[k]];
        uint256 x = gnin - 1 + s;
        bytes32[] memory pa = _valueSiblings(_siblings(before, opA[k], gD), x, opA[k]);
        bytes32[] memory pb = _valueSiblings(_siblings(before, opB[k], gD), x, opB[k]);
        o.valuePaths = new bytes32[](pa.length + pb.length);
        for (uint256 i = 0; i < pa.length; i++) o.valuePaths[i] = pa[i];
        for (uint256 i = 0; i < pb.length; i++) o.valuePaths[pa.length + i] = pb[i];
        bytes memory fin = vmRun.stateAt(vmLast);
        bytes32[] memory sp = vmRun.slotSiblings(15);
        for (uint256 i = 0; i < 4; i++) o.slotPath[i] = sp[i];
        forgedFinal = 0;
        if (openedAt == lieAt && k == _lieNode(genLie)) {
            fin = vmRun.withRoot(fin, vmRun.rootFromSlot(15, o.output));
            forgedFinal = keccak256(fin);
        }
        o.finalState = fin;
    }

    /// The bytes of value `vid` at step t (what the VM reads for an operand).
    function _valueBytes(Trace memory tr, uint256 t, uint32 vid, bytes32[] memory leaves)
        internal
        view
        returns (bytes memory b)
    {
        if (vid == gnin - 1) {
            bytes32 w = _samplerWord(t);
            b = new bytes(20);
            for (uint256 i = 0; i < 20; i++) b[i] = w[i];
            return b;
        }
        uint32[] memory none = new uint32[](0);
        if (vid < gnin) return _le4(_input(vid, tr.x[t], tr.caches[t], t, none));
        // a node's output: the one whose root is the leaf
        uint32[] memory outs = _run(tr.x[t], tr.caches[t], t, t == lieAt ? _lieNode(genLie) : NONE);
        b = _le4(outs[vid - gnin]);
        require(_root4(outs[vid - gnin]) == leaves[vid], "operand bytes");
    }

    // ---- trees ----

    function _copy(bytes32[] memory a) internal pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length);
        for (uint256 i = 0; i < a.length; i++) b[i] = a[i];
    }

    /// The nodes at height h of the full tree over `leaves`.
    function _level(bytes32[] memory leaves, uint256 h) internal pure returns (bytes32[] memory l) {
        l = leaves;
        for (uint256 i = 0; i < h; i++) {
            bytes32[] memory up = new bytes32[](l.length / 2);
            for (uint256 j = 0; j < up.length; j++) up[j] = Merkle.parent(l[2 * j], l[2 * j + 1]);
            l = up;
        }
    }

    function _leafWord(bytes memory data, uint256 idx) internal pure returns (bytes32 w) {
        for (uint256 i = 0; i < 32 && 32 * idx + i < data.length; i++) w |= bytes32(data[32 * idx + i]) >> (8 * i);
    }

    /// The 23 siblings of leaf `idx` in the tensor tree of `data` (sparse: zero subtrees by Z(h)).
    function _fullTensorPath(bytes memory data, uint256 idx) internal pure returns (bytes32[] memory sib) {
        uint256 words = (data.length + 31) / 32;
        sib = new bytes32[](23);
        for (uint256 h = 0; h < 23; h++) {
            uint256 first = ((idx >> h) ^ 1) << h;
            if (first >= words) {
                sib[h] = Merkle.zero(h);
                continue;
            }
            uint256 last = first + (uint256(1) << h);
            if (last > words) last = words;
            bytes32[] memory part = new bytes32[](last - first);
            for (uint256 i = 0; i < part.length; i++) part[i] = _leafWord(data, first + i);
            sib[h] = Merkle.rootOfLeaves(part, h);
        }
    }
}
