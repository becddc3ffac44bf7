// SPDX-License-Identifier: MIT
// Credits.sol: pull payments, the one way the oracle and the game pay anyone. A payout is a credit
// (_credit); its owner takes it with withdraw(), or has it paid to another address with
// withdrawTo() (a requester contract that cannot receive ether collects its refund that way). The
// credit is zeroed before the transfer, so a receiver that re-enters or reverts cannot take more or
// block anyone else.
pragma solidity ^0.8.28;

abstract contract Credits {
    /// @notice Wei each address may withdraw.
    mapping(address => uint256) public credit;

    event Withdrawn(address indexed who, address indexed to, uint256 amount);

    error NothingToWithdraw();
    error NoRecipient();
    error TransferFailed();

    /// @notice Pays out the caller's whole credit to the caller.
    function withdraw() external {
        _withdraw(payable(msg.sender));
    }

    /// @notice Pays out the caller's whole credit to `to` (not the zero address).
    function withdrawTo(address payable to) external {
        if (to == address(0)) revert NoRecipient();
        _withdraw(to);
    }

    function _withdraw(address payable to) internal {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credit[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    function _credit(address who, uint256 amount) internal {
        credit[who] += amount;
    }
}
