// SPDX-License-Identifier: MIT
// Credits.sol: pull payments, the one way the oracle and the game pay anyone. A payout is a credit
// (_credit); its owner takes it with withdraw(). The credit is zeroed before the transfer, so a
// receiver that re-enters or reverts cannot take more or block anyone else.
pragma solidity ^0.8.28;

abstract contract Credits {
    /// @notice Wei each address may withdraw.
    mapping(address => uint256) public credit;

    event Withdrawn(address indexed who, uint256 amount);

    error NothingToWithdraw();
    error TransferFailed();

    /// @notice Pays out the caller's whole credit.
    function withdraw() external {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credit[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    function _credit(address who, uint256 amount) internal {
        credit[who] += amount;
    }
}
