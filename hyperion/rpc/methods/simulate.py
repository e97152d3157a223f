"""eth_simulateV1 (execution-apis): calls in simulated blocks, with state and block overrides.

Parsing and the answer's shape live here; the simulation itself is
``hyperion.chain.simulate``. Each simulated block is answered as
``eth_getBlockByNumber`` would answer it, plus ``calls``: per call its
``returnData``, ``logs`` (with ``traceTransfers``, ether transfers too, as
ERC-7528 Transfer logs), ``gasUsed``, ``maxUsedGas``, ``status`` and, when
it failed, an ``error`` (3 for a revert, with its data; -32015 otherwise).
A request-level failure (bad chain of blocks, an invalid transaction, a
limit) is an error with geth's code (-380xx).
"""

from __future__ import annotations

from typing import Any

from hyperion.chain.simulate import BlockSpec, SimulatedBlock, SimulationError, Simulator, parse_withdrawals
from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.errors import InvalidParams, RpcError
from hyperion.rpc.formatting import d, format_block, q
from hyperion.rpc.params import (
    Param,
    address,
    array,
    block_overrides,
    block_spec,
    boolean,
    hash32,
    obj,
    state_overrides,
    transaction_args,
    uint64,
)

_SIM_BLOCK_FIELDS = {"blockOverrides", "stateOverrides", "calls"}
_OPTION_FIELDS = {"blockStateCalls", "traceTransfers", "validation", "returnFullTransactions"}


def withdrawal(value: Any, what: str) -> dict:
    """An EIP-4895 withdrawal object (engine API / eth_simulateV1 shape)."""
    item = obj(value, what)
    return {"index": uint64(item.get("index"), f"{what}.index"),
            "validatorIndex": uint64(item.get("validatorIndex"), f"{what}.validatorIndex"),
            "address": address(item.get("address"), f"{what}.address"),
            "amount": uint64(item.get("amount"), f"{what}.amount")}


def _sim_block_overrides(value: Any, what: str) -> dict:
    fields = dict(obj(value, what))
    extra = {}
    if fields.get("beaconRoot") is not None:
        extra["beaconRoot"] = hash32(fields.pop("beaconRoot"), "beaconRoot")
    else:
        fields.pop("beaconRoot", None)
    if fields.get("withdrawals") is not None:
        items = array(fields.pop("withdrawals"), "withdrawals")
        extra["withdrawals"] = parse_withdrawals([withdrawal(item, f"withdrawals[{i}]")
                                                  for i, item in enumerate(items)])
    else:
        fields.pop("withdrawals", None)
    parsed = block_overrides(fields, what)
    if "difficulty" in parsed:
        parsed.pop("difficulty")  # no effect on proof-of-stake blocks (geth ignores it too)
    return {**parsed, **extra}


def simulate_options(value: Any, what: str = "simulation") -> dict:
    options = obj(value, what)
    unknown = set(options) - _OPTION_FIELDS
    if unknown:
        raise InvalidParams(f"{what}: unknown field {sorted(unknown)[0]!r}")
    blocks = []
    for index, raw in enumerate(array(options.get("blockStateCalls") or [], "blockStateCalls")):
        where = f"blockStateCalls[{index}]"
        entry = obj(raw, where)
        unknown = set(entry) - _SIM_BLOCK_FIELDS
        if unknown:
            raise InvalidParams(f"{where}: unknown field {sorted(unknown)[0]!r}")
        overrides = {} if entry.get("blockOverrides") is None else _sim_block_overrides(
            entry["blockOverrides"], f"{where}.blockOverrides")
        state = None if entry.get("stateOverrides") is None else state_overrides(
            entry["stateOverrides"], f"{where}.stateOverrides")
        calls = [transaction_args(call, f"{where}.calls[{i}]")
                 for i, call in enumerate(array(entry.get("calls") or [], f"{where}.calls"))]
        blocks.append(BlockSpec(overrides, state, calls))
    flags = {name: boolean(options.get(name, False), name)
             for name in ("traceTransfers", "validation", "returnFullTransactions")}
    return {"blocks": blocks, **flags}


def _format_log(log, block) -> dict:
    return {"address": d(log.address), "topics": [d(topic) for topic in log.topics], "data": d(log.data),
            "blockNumber": q(block.header.number), "transactionHash": d(log.tx_hash),
            "transactionIndex": q(log.tx_index), "blockHash": d(block.hash),
            "blockTimestamp": q(block.header.timestamp), "logIndex": q(log.log_index), "removed": False}


def format_simulated_block(simulated: SimulatedBlock, full: bool) -> dict:
    block = simulated.block
    result = format_block(block, full)
    calls = []
    for call in simulated.calls:
        entry = {"returnData": d(call.output), "logs": [_format_log(log, block) for log in call.logs],
                 "gasUsed": q(call.gas_used), "maxUsedGas": q(call.max_used_gas),
                 "status": "0x1" if call.success else "0x0"}
        if call.error is not None:
            entry["error"] = call.error
        calls.append(entry)
    result["calls"] = calls
    return result


@rpc_method("eth_simulateV1", Param(simulate_options), Param(block_spec, optional=True, default="latest"),
            execution=True)
def simulate_v1(ctx, options: dict, spec: Any) -> list[dict]:
    chain = ctx.chain
    base = chain.resolve_block(spec)
    simulator = Simulator(chain, base, validation=options["validation"],
                          trace_transfers=options["traceTransfers"])
    try:
        blocks = simulator.run(options["blocks"])
    except SimulationError as exc:
        raise RpcError(str(exc), exc.code) from None
    return [format_simulated_block(block, options["returnFullTransactions"]) for block in blocks]

