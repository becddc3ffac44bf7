// SPDX-License-Identifier: MIT
// Receiver.sol: a requester contract for the system tests: it asks the oracle for an inference
// and keeps what the oracle's callback (IOpmlReceiver.opmlResult) delivers.
pragma solidity ^0.8.28;

interface IOracle {
    function request(uint256 modelId, bytes[] calldata inputs) external payable returns (uint256);
}

contract Receiver {
    address public immutable oracle;
    uint256 public lastTask;
    bytes public lastOutput;
    uint256 public calls;

    constructor(address oracle_) {
        oracle = oracle_;
    }

    function ask(uint256 modelId, bytes[] calldata inputs) external payable returns (uint256) {
        return IOracle(oracle).request{value: msg.value}(modelId, inputs);
    }

    function opmlResult(uint256 taskId, bytes calldata output) external {
        require(msg.sender == oracle, "not the oracle");
        lastTask = taskId;
        lastOutput = output;
        calls++;
    }
}
