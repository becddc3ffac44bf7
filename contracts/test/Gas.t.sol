// SPDX-License-Identifier: MIT
// Gas.t.sol: the gas of a whole dispute at fashion_cnn's size (10 graph nodes, phase 2 over
// T = 2^26 VM steps), from challenge to payout, for k = 2 .. 64: a liar at the middle node whose
// VM trace goes wrong at step 6, against an honest challenger; and the one-step proof of the worst
// instruction (a store: two memory proofs, one path recomputed) on its own.
// Run with `forge test --isolate` (the ctest does): every call is then its own transaction with
// cold storage, and the gas measured is what the transaction costs in all (21000 + calldata +
// execution, refunds not subtracted). Without --isolate the figures would be far too low (warm
// storage, no intrinsic gas), so the test refuses to run.
// Fails if a dissection or selection move costs more than 100,000 gas, the one-step proof more
// than 100,000, or the whole dispute at the best k (16) more than 2,000,000.
pragma solidity ^0.8.28;

import {GameFixture} from "./lib/GameFixture.sol";
import {VmModel, Asm} from "./lib/VmModel.sol";

contract GasTest is GameFixture {
    uint256 constant FASHION_NODES = 10;
    uint8 constant FASHION_LOG_T = 26;

    function setUp() public {
        _deploy();
    }

    /// Under --isolate a call to an empty account costs at least the 21000 of a transaction.
    function _requireIsolated() internal {
        uint256 g0 = gasleft();
        (bool ok,) = anyone.call("");
        require(ok);
        if (g0 - gasleft() < 21000) {
            emit log("gas figures need `forge test --isolate` (each call its own transaction): skipping");
            vm.skip(true);
        }
    }

    /// RiscvStep.step is a static call, which --isolate does not make a transaction of, so its
    /// transaction cost is written out: 21000 + the calldata's gas + cold account access +
    /// the measured execution.
    function test_gas_worst_step_alone() public {
        VmModel m = new VmModel(rv);
        uint32[] memory w = new uint32[](1);
        w[0] = Asm.sw(6, 5, 8);
        m.writeBytes(0x100, Asm.image(w));
        m.writeBytes(0x20000000, hex"8192a3b4c5d6e7f8");
        bytes memory s = m.withReg(m.withReg(m.withPc(m.initialState(), 0x100), 5, 0x20000000), 6, 0x11223344);
        bytes memory p = m.stepProof(s);
        uint256 g0 = gasleft();
        rv.step(s, p);
        uint256 used = g0 - gasleft();
        bytes memory cd = abi.encodeCall(rv.step, (s, p));
        uint256 calldataGas;
        for (uint256 i = 0; i < cd.length; i++) calldataGas += cd[i] == 0 ? 4 : 16;
        emit log_named_uint("RiscvStep.step(sw, two proofs): execution", used);
        emit log_named_uint("RiscvStep.step(sw, two proofs): calldata", calldataGas);
        emit log_named_uint("RiscvStep.step(sw, two proofs): as a transaction", 21000 + 2600 + calldataGas + used);
        assertTrue(used <= 100_000, "the one-step proof within 100k gas");
    }

    function _dispute(uint16 k) internal returns (uint256 total) {
        _requireIsolated();
        _register(uint32(FASHION_NODES), k, FASHION_LOG_T);
        lieNode = 4;
        lieStep = 6;
        uint256 task = _request(requester);
        _submit(task, submitter, 4);
        _resetGas();
        uint256 id = _challenge(task, challenger);
        assertTrue(_play(id, submitter, challenger), "dispute ended");
        _withdrawAll(challenger);
        assertEq(challenger.balance, 100 ether + _share(1), "challenger paid");
        emit log(string.concat("== fashion_cnn-sized dispute, k = ", vm.toString(uint256(k))));
        total = _report();
        assertTrue(maxOf[1] <= 100_000, "a dissection move within 100k gas");
        assertTrue(maxOf[2] <= 100_000, "a selection move within 100k gas");
        assertTrue(maxOf[uint256(Kind.Bind)] <= 100_000, "the binding within 100k gas");
    }

    /// Every kind of transaction of the game just played: count, gas, the largest; returns the sum.
    function _report() internal returns (uint256 total) {
        string[KINDS] memory names =
            ["challenge", "dissect", "select", "openNode", "step", "timeout", "withdraw", "bindEnd/bindTokens", "openStep"];
        for (uint256 i = 0; i < KINDS; i++) {
            if (countOf[i] == 0) continue;
            emit log(
                string.concat(
                    names[i], ": transactions ", vm.toString(countOf[i]), ", gas ", vm.toString(gasOf[i]), ", largest ",
                    vm.toString(maxOf[i])
                )
            );
            total += gasOf[i];
        }
        emit log_named_uint("whole dispute, gas of all transactions", total);
    }

    function test_gas_fashion_k2() public {
        _dispute(2);
    }

    function test_gas_fashion_k4() public {
        _dispute(4);
    }

    function test_gas_fashion_k8() public {
        _dispute(8);
    }

    function test_gas_fashion_k16() public {
        assertTrue(_dispute(16) < 2_000_000, "whole dispute under 2M gas at k = 16");
    }

    function test_gas_fashion_k32() public {
        assertTrue(_dispute(32) < 2_000_000, "whole dispute under 2M gas at k = 32");
    }

    function test_gas_fashion_k64() public {
        _dispute(64);
    }
}
