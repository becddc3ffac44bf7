// SPDX-License-Identifier: MIT
// Chatter.sol: a contract that emits an event when asked, for the system tests: a chainwatch that
// follows it beside the project's contracts numbers its event stream differently from one that
// does not (system.dispute.foreign-stream).
pragma solidity ^0.8.28;

contract Chatter {
    event Chatted(uint256 n);

    uint256 public count;

    function chat() external {
        count++;
        emit Chatted(count);
    }
}
