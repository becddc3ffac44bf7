// SPDX-License-Identifier: MIT
// Test.sol: the minimal forge test base opml's contract tests use, written here because the build
// is offline and npm's forge-std (an unofficial 1.1.2 repackaging) lacks the ds-test file its
// Test.sol imports. Vm declares only the cheatcodes these tests call; the assertions revert with a
// message naming what differed, which forge prints as the failure reason.
pragma solidity ^0.8.28;

/// What vm.tryFfi returns.
struct FfiResult {
    int32 exitCode;
    bytes stdout;
    bytes stderr;
}

interface Vm {
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function deal(address who, uint256 amount) external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 selector) external;
    function expectRevert() external;
    function expectEmit(address emitter) external;
    function ffi(string[] calldata command) external returns (bytes memory result);
    function tryFfi(string[] calldata command) external returns (FfiResult memory result);
    function readFile(string calldata path) external view returns (string memory data);
    function exists(string calldata path) external view returns (bool);
    function parseJson(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonUintArray(string calldata json, string calldata key) external pure returns (uint256[] memory);
    function parseJsonBytes32Array(string calldata json, string calldata key) external pure returns (bytes32[] memory);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
    function parseJsonKeys(string calldata json, string calldata key) external pure returns (string[] memory);
    function envOr(string calldata name, string calldata defaultValue) external view returns (string memory);
    function keyExistsJson(string calldata json, string calldata key) external view returns (bool);
    function toString(uint256 value) external pure returns (string memory);
    function toString(bytes calldata value) external pure returns (string memory);
    function toString(bytes32 value) external pure returns (string memory);
    function assume(bool condition) external pure;
    function skip(bool skipTest) external;
    function startSnapshotGas(string calldata name) external;
    function stopSnapshotGas() external returns (uint256 gasUsed);
    function addr(uint256 privateKey) external pure returns (address);
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);
}

abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev forge reads this to know the contract is a test suite.
    bool public IS_TEST = true;

    event log_named_uint(string key, uint256 val);
    event log_named_bytes32(string key, bytes32 val);
    event log(string message);

    function fail(string memory why) internal pure {
        revert(why);
    }

    function assertTrue(bool c, string memory what) internal pure {
        if (!c) revert(string.concat("assertTrue failed: ", what));
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) {
            revert(string.concat("assertEq failed: ", what, ": ", _u(a), " != ", _u(b)));
        }
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert(string.concat("assertEq failed: ", what, ": ", _h(a), " != ", _h(b)));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert(string.concat("assertEq failed: ", what, ": addresses differ"));
    }

    function assertEq(bytes memory a, bytes memory b, string memory what) internal pure {
        if (keccak256(a) != keccak256(b)) revert(string.concat("assertEq failed: ", what, ": bytes differ"));
    }

    function _u(uint256 v) private pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b = new bytes(78);
        uint256 i = 78;
        while (v != 0) {
            b[--i] = bytes1(uint8(48 + (v % 10)));
            v /= 10;
        }
        bytes memory o = new bytes(78 - i);
        for (uint256 j = 0; j < o.length; j++) o[j] = b[i + j];
        return string(o);
    }

    function _h(bytes32 v) private pure returns (string memory) {
        bytes memory o = new bytes(66);
        o[0] = "0";
        o[1] = "x";
        bytes16 digits = "0123456789abcdef";
        for (uint256 i = 0; i < 32; i++) {
            o[2 + 2 * i] = digits[uint8(v[i]) >> 4];
            o[3 + 2 * i] = digits[uint8(v[i]) & 15];
        }
        return string(o);
    }
}
