// SPDX-License-Identifier: MIT
// Vectors.sol: reading the shared vectors of tests/vectors/ (C writes them, these tests check the
// Solidity side against them): a file's JSON and the paths into its arrays of objects.
pragma solidity ^0.8.28;

import {Test} from "./Test.sol";

abstract contract Vectors is Test {
    string internal json;

    /// The JSON path of `field` of element i of array `arr` (the element itself when field is "").
    function _at(string memory arr, uint256 i, string memory field) internal view returns (string memory) {
        return string.concat(".", arr, "[", vm.toString(i), "]", bytes(field).length > 0 ? "." : "", field);
    }

    /// The number of elements of array `arr`.
    function _count(string memory arr) internal view returns (uint256 i) {
        while (vm.keyExistsJson(json, _at(arr, i, ""))) i++;
    }
}
