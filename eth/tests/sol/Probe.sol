// SPDX-License-Identifier: MIT
// Probe.sol: chainwatch's own test contract. It exercises what the C side must get right before
// the real contracts exist: every ABI shape (static and dynamic, arrays, tuples, nested), events
// with indexed and plain fields, constructor arguments, value transfers, and every kind of revert
// (Error(string), Panic(uint256), custom errors with arguments).
pragma solidity ^0.8.20;

contract Probe {
    struct Pair {
        uint64 a;
        bytes32 b;
    }

    struct Claim {
        address who;
        uint256[] values;
        string note;
        Pair pair;
    }

    error TooLarge(uint256 given, uint256 limit);
    error NotOwner(address caller);

    event Stored(uint256 indexed id, address indexed by, bytes32 root, string note);
    event Claimed(uint256 indexed id, Claim claim, int32 delta);
    event Tagged(string indexed tag, bytes payload, uint8[3] small);
    event Paid(address indexed from, uint256 amount);

    address public owner;
    uint256 public limit;
    uint256 public count;
    mapping(uint256 => bytes32) public roots;
    string public name;

    constructor(uint256 limit_, string memory name_) payable {
        owner = msg.sender;
        limit = limit_;
        name = name_;
    }

    function store(bytes32 root, string calldata note) external returns (uint256 id) {
        if (count >= limit) revert TooLarge(count + 1, limit);
        id = ++count;
        roots[id] = root;
        emit Stored(id, msg.sender, root, note);
    }

    function claim(Claim calldata c, int32 delta) external returns (uint256 id) {
        id = ++count;
        emit Claimed(id, c, delta);
    }

    function tag(string calldata t, bytes calldata payload, uint8[3] calldata small) external {
        emit Tagged(t, payload, small);
    }

    function pay() external payable {
        emit Paid(msg.sender, msg.value);
    }

    function echo(int256 x, bool f, address a, bytes memory b, uint16[] memory xs, Pair[2] memory ps, string[] memory ss)
        external pure returns (int256, bool, address, bytes memory, uint16[] memory, Pair[2] memory, string[] memory)
    {
        return (x, f, a, b, xs, ps, ss);
    }

    function sum(uint256[] calldata xs) external pure returns (uint256 s) {
        for (uint256 i = 0; i < xs.length; i++) s += xs[i];
    }

    function onlyOwner() external view {
        if (msg.sender != owner) revert NotOwner(msg.sender);
    }

    function fail(string calldata why) external pure {
        require(false, why);
    }

    function divide(uint256 a, uint256 b) external pure returns (uint256) {
        return a / b;
    }

    function burn(uint256 rounds) external {
        for (uint256 i = 0; i < rounds; i++) roots[1000000 + i] = bytes32(i + 1);
    }
}
