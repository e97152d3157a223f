"""What the node is and serves: ``eth_config`` (EIP-7910) and ``eth_capabilities`` (execution-apis).

``eth_config`` describes the fork the head runs under, the next scheduled
one and the last scheduled one: activation time, blob schedule, chain id,
EIP-2124 fork id, precompiles and system contracts by their EIP-7910 names.
``eth_capabilities`` says which history the node can answer for: all of it
(Hyperion keeps every block, receipt, log and state from genesis).
"""

from __future__ import annotations

import zlib
from typing import Any

from hyperion.chain import system
from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.formatting import d, q
from hyperion.vm.precompiles import precompiles_for

# EIP-7910's names where MetisVM's differ.
PRECOMPILE_NAMES = {"ECRECOVER": "ECREC", "IDENTITY": "ID", "POINT_EVALUATION": "KZG_POINT_EVALUATION"}


def _activations(schedule) -> tuple[list[int], list[int]]:
    """EIP-2124's fork points: block numbers, then timestamps (sorted, deduplicated, none at genesis)."""
    blocks = sorted({a.block for a in schedule.activations if a.block})
    times = sorted({a.time for a in schedule.activations if a.time})
    return blocks, times


def fork_hash(genesis_hash: bytes, points: list[int]) -> str:
    """EIP-2124 FORK_HASH: CRC32 of the genesis hash, then of each past fork point (8 bytes, big-endian)."""
    checksum = zlib.crc32(genesis_hash)
    for point in points:
        checksum = zlib.crc32(point.to_bytes(8, "big"), checksum)
    return "0x" + checksum.to_bytes(4, "big").hex()


def _system_contracts(chain, fork) -> dict[str, str]:
    contracts = {}
    if fork.has_beacon_root:
        contracts["BEACON_ROOTS_ADDRESS"] = d(system.BEACON_ROOTS_ADDRESS)
    if fork.has_requests:
        contracts["CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS"] = d(system.CONSOLIDATION_REQUEST_ADDRESS)
        deposit_contract = chain.spec.deposit_contract
        if deposit_contract is not None:
            contracts["DEPOSIT_CONTRACT_ADDRESS"] = d(deposit_contract)
    if fork.has_history_storage:
        contracts["HISTORY_STORAGE_ADDRESS"] = d(system.HISTORY_STORAGE_ADDRESS)
    if fork.has_requests:
        contracts["WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS"] = d(system.WITHDRAWAL_REQUEST_ADDRESS)
    return dict(sorted(contracts.items()))


def _fork_config(chain, activation, genesis_hash: bytes, points: list[int]) -> dict:
    schedule = chain.spec.schedule
    fork = schedule.evm_fork(activation.name)
    blob = schedule.blob_params(activation.name)
    precompiles = {PRECOMPILE_NAMES.get(p.name, p.name): d(address)
                   for address, p in precompiles_for(fork).items()}
    own_point = activation.time if activation.time is not None else (activation.block or 0)
    return {
        "activationTime": activation.time or 0,
        "blobSchedule": None if blob is None else {
            "target": blob.target, "max": blob.max, "baseFeeUpdateFraction": blob.update_fraction},
        "chainId": q(chain.chain_id),
        "forkId": fork_hash(genesis_hash, [p for p in points if p <= own_point]),
        "precompiles": dict(sorted(precompiles.items())),
        "systemContracts": _system_contracts(chain, fork),
    }


@rpc_method("eth_config")
def config(ctx) -> dict:
    """EIP-7910: the current, next and last fork's configuration (next/last null when none is scheduled)."""
    chain = ctx.chain
    schedule = chain.spec.schedule
    head = chain.head().header
    genesis_hash = chain.block_by_number(0).hash
    blocks, times = _activations(schedule)
    points = blocks + [t for t in times if t > chain.block_by_number(0).header.timestamp]
    current = [a for a in schedule.activations if a.active(head.number, head.timestamp)][-1]
    future = [a for a in schedule.activations if a.time is not None and a.time > head.timestamp]
    return {
        "current": _fork_config(chain, current, genesis_hash, points),
        "next": _fork_config(chain, future[0], genesis_hash, points) if future else None,
        "last": _fork_config(chain, future[-1], genesis_hash, points) if future else None,
    }


def _everything() -> dict:
    return {"disabled": False, "oldestBlock": "0x0"}


@rpc_method("eth_capabilities")
def capabilities(ctx) -> dict:
    """Which history this node answers for (every kind, from genesis: it prunes nothing)."""
    head = ctx.chain.head()
    result: dict[str, Any] = {"head": {"number": q(head.header.number), "hash": d(head.hash)}}
    for part in ("state", "tx", "logs", "receipts", "blocks", "stateproofs"):
        result[part] = _everything()
    return result
