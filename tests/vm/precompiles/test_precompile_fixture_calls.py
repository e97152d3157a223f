"""Precompiles against the official state-test fixtures' expected results.

Each fixture here wraps one precompile call; see precompile_fixture_calls.
A call succeeds when gas(data) fits the gas the wrapper passes and run(data)
does not raise; where recorded, the output's length and keccak must match.
"""

from __future__ import annotations

import pytest
from precompile_fixture_calls import STATE_TESTS, calls_in

from hyperion.primitives.keccak import keccak256
from hyperion.vm.forks import FORKS
from hyperion.vm.precompiles import PrecompileError, precompile_address, precompiles_for

FIXTURE_DIRS = [
    "prague/eip2537_bls_12_381_precompiles",
    "cancun/eip4844_blobs/point_evaluation_precompile",
    "istanbul/eip152_blake2",
    "byzantium/eip198_modexp_precompile",
]
# Their contracts build the input themselves, or straddle a fork transition.
OTHER_SHAPES = (
    "bls12_variable_length_input_contracts",
    "bls12_precompiles_before_fork",
    "precompile_before_fork.json",
    "tx_entry_point.json",
)
FIXTURE_FILES = sorted(
    path
    for d in FIXTURE_DIRS
    for path in (STATE_TESTS / d).rglob("*.json")
    if not any(part in OTHER_SHAPES for part in path.parts)
)


def _outcome(precompile, data: bytes, call_gas: int) -> tuple[bool, bytes]:
    if precompile.gas(data) > call_gas:
        return False, b""
    try:
        return True, precompile.run(data)
    except PrecompileError:
        return False, b""


@pytest.mark.skipif(not STATE_TESTS.is_dir(), reason="shared fixtures not available")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(STATE_TESTS)))
def test_fixture_precompile_calls(path):
    checked = 0
    failures = []
    for call in calls_in(path):
        fork = FORKS.get(call.fork)
        if fork is None:  # transition forks such as CancunToPragueAtTime15k
            continue
        precompile = precompiles_for(fork).get(precompile_address(call.address))
        if precompile is None:
            continue
        success, output = _outcome(precompile, call.data, call.call_gas)
        checked += 1
        if success != call.success:
            failures.append(f"{call.test_name}: success {success}, expected {call.success}")
        elif call.returndata_hash is not None and (
            keccak256(output) != call.returndata_hash or len(output) != call.returndata_size
        ):
            failures.append(f"{call.test_name}: output {output.hex()[:64]}... differs")
    assert not failures, "\n".join(failures[:10])
    assert checked > 0, "no wrapped precompile call found in this fixture"
