// SPDX-License-Identifier: MIT
// ModelRegistry.sol: the registered models. A model is its commitment (docs/commitments.md: the
// nodes root and the four numbers that make up the model root), the guest program root the VM runs
// it with (docs/vm.md, slot 0), the game parameters every task on it uses (dissection arity k,
// phase-2 step bound T = 2^stepsLog2, challenge window, chess clock, bonds) and a URI where the
// model files are published. Models are immutable once registered: tasks and games read their
// parameters at any time and always get the values they started with.
pragma solidity ^0.8.28;

import {Merkle} from "./lib/Merkle.sol";
import {Commitments} from "./lib/Commitments.sol";

contract ModelRegistry {
    /// @notice What a registrant supplies.
    struct ModelSpec {
        bytes32 nodesRoot; // Merkle root over the node leaves, depth ceil(log2(n))
        uint32 nin; // graph inputs
        uint32 n; // graph nodes
        uint32 outputValue; // the value id whose tensor is the result
        uint8 stateDepth; // D = ceil(log2(nin + n))
        bytes32 guestRoot; // tensor root of the pinned guest program image
        uint16 k; // dissection arity, >= 2
        uint8 stepsLog2; // phase 2 runs over VM steps [0, 2^stepsLog2]
        uint32 challengeWindow; // seconds after a submission during which games may open
        uint32 clock; // seconds of thinking time per side per game (chess clock)
        uint96 submitterBond; // wei
        uint96 challengerBond; // wei
        string uri; // where the model files can be fetched
    }

    /// @notice A registered model: the spec plus its model root and registrant.
    struct Model {
        bytes32 modelRoot;
        address owner;
        ModelSpec spec;
    }

    mapping(uint256 => Model) internal models;
    uint256 public modelCount;

    event ModelRegistered(
        uint256 indexed modelId,
        bytes32 indexed modelRoot,
        address indexed owner,
        bytes32 nodesRoot,
        bytes32 guestRoot,
        ModelSpec spec
    );

    error UnknownModel(uint256 modelId);
    error NoNodes();
    error NoInputs();
    error BadStateDepth(uint8 expected, uint8 given);
    error BadOutputValue(uint32 outputValue, uint32 values);
    error BadArity(uint16 k);
    error BadStepBound(uint8 stepsLog2);
    error BadTiming();

    /// @notice Registers a model; returns its id (1, 2, ...). The model root is computed here from
    ///         the spec (docs/commitments.md, "Node leaf and model root").
    /// @dev Reverts when the numbers are inconsistent: no nodes or inputs, a state depth other
    ///      than ceil(log2(nin + n)), an output value past the graph, k < 2, a step bound outside
    ///      1..62 (2^stepsLog2 steps), or a zero window or clock.
    function register(ModelSpec calldata spec) external returns (uint256 modelId) {
        if (spec.n == 0) revert NoNodes();
        if (spec.nin == 0) revert NoInputs();
        uint256 values = uint256(spec.nin) + spec.n;
        uint8 d = Merkle.depthFor(values);
        if (spec.stateDepth != d) revert BadStateDepth(d, spec.stateDepth);
        if (spec.outputValue >= values) revert BadOutputValue(spec.outputValue, uint32(values));
        if (spec.k < 2) revert BadArity(spec.k);
        if (spec.stepsLog2 == 0 || spec.stepsLog2 > 62) revert BadStepBound(spec.stepsLog2);
        if (spec.challengeWindow == 0 || spec.clock == 0) revert BadTiming();
        modelId = ++modelCount;
        bytes32 root = Commitments.modelRoot(spec.nodesRoot, spec.nin, spec.n, spec.outputValue, spec.stateDepth);
        Model storage m = models[modelId];
        m.modelRoot = root;
        m.owner = msg.sender;
        m.spec = spec;
        emit ModelRegistered(modelId, root, msg.sender, spec.nodesRoot, spec.guestRoot, spec);
    }

    /// @notice The registered model `modelId`; reverts with UnknownModel if there is none.
    function model(uint256 modelId) external view returns (Model memory) {
        Model storage m = models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
        return m;
    }

    /// @notice The challenger bond of a model (one storage read; the game's payouts need only it).
    function challengerBond(uint256 modelId) external view returns (uint256) {
        Model storage m = models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
        return m.spec.challengerBond;
    }

    /// @notice The model's spec alone (what the oracle and the game read).
    function spec(uint256 modelId) external view returns (ModelSpec memory) {
        Model storage m = models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
        return m.spec;
    }
}
