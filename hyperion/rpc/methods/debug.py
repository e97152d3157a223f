"""debug_traceTransaction / debug_traceCall with geth's struct logger and callTracer; geth's raw block getters."""

from __future__ import annotations

from typing import Any, Optional

from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.errors import InvalidParams, ServerError
from hyperion.rpc.params import (
    Param,
    block_number_or_tag,
    block_overrides,
    block_spec,
    hash32,
    obj,
    state_overrides,
    transaction_args,
)

SUPPORTED_TRACERS = (None, "callTracer", "structLogger")
_STRUCT_LOGGER_OPTIONS = {"disableStorage", "disableStack", "enableMemory", "enableReturnData",
                          "disableMemory", "disableReturnData", "limit", "debug", "timeout",
                          "reexec", "tracer", "tracerConfig", "stateOverrides", "blockOverrides",
                          "txIndex"}


def trace_options(value: Any) -> tuple[Optional[str], dict]:
    """``(tracer, config)``: callTracer takes its config from ``tracerConfig``; the
    struct logger from the top-level flags (disableStorage, enableMemory, ...).
    debug_traceCall's ``stateOverrides`` / ``blockOverrides`` are read by ``trace_call_options``."""
    options = obj(value, "trace options")
    unknown = set(options) - _STRUCT_LOGGER_OPTIONS
    if unknown:
        raise InvalidParams(f"unknown trace option {sorted(unknown)[0]!r}")
    tracer = options.get("tracer")
    if tracer is not None and not isinstance(tracer, str):
        raise InvalidParams("tracer must be a string")
    if tracer == "structLogger":
        tracer = None
    if tracer not in SUPPORTED_TRACERS:
        raise InvalidParams(f"tracer {tracer!r} is not supported (use callTracer or the default struct logger)")
    if tracer is None:
        config = {key: options[key] for key in options
                  if key not in ("tracer", "tracerConfig", "timeout", "reexec", "stateOverrides",
                                 "blockOverrides", "txIndex")}
    else:
        config = obj(options.get("tracerConfig") or {}, "tracerConfig")
    return tracer, config


_NO_OPTIONS = (None, {})


def trace_call_options(value: Any) -> tuple[Optional[str], dict, Optional[dict], Optional[dict]]:
    """debug_traceCall's options: ``(tracer, config, state overrides, block overrides)`` (geth's TraceCallConfig)."""
    tracer, config = trace_options(value)
    options = value if isinstance(value, dict) else {}
    state = options.get("stateOverrides")
    block = options.get("blockOverrides")
    return (tracer, config, None if state is None else state_overrides(state, "stateOverrides"),
            None if block is None else block_overrides(block, "blockOverrides"))


@rpc_method("debug_traceTransaction", Param(hash32), Param(trace_options, optional=True, default=_NO_OPTIONS),
            execution=True)
def trace_transaction(ctx, tx_hash: bytes, options: tuple) -> dict:
    tracer, config = options
    return ctx.chain.trace_transaction(tx_hash, tracer, config)


@rpc_method("debug_traceCall", Param(transaction_args), Param(block_spec, optional=True, default="latest"),
            Param(trace_call_options, optional=True, default=(None, {}, None, None)), execution=True)
def trace_call(ctx, args: dict, spec: Any, options: tuple) -> dict:
    tracer, config, state, block = options
    return ctx.chain.trace_call(args, spec, tracer, config, state, block)


@rpc_method("debug_traceBlockByNumber", Param(block_number_or_tag),
            Param(trace_options, optional=True, default=_NO_OPTIONS), execution=True)
def trace_block_by_number(ctx, spec: Any, options: tuple) -> list:
    block = ctx.chain.resolve_block(spec)
    return _trace_block(ctx, block, options)


@rpc_method("debug_traceBlockByHash", Param(hash32), Param(trace_options, optional=True, default=_NO_OPTIONS),
            execution=True)
def trace_block_by_hash(ctx, block_hash: bytes, options: tuple) -> list:
    block = ctx.chain.resolve_block({"blockHash": block_hash, "requireCanonical": False})
    return _trace_block(ctx, block, options)


def _trace_block(ctx, block, options: tuple) -> list:
    if block.header.number == 0:
        raise ServerError("genesis is not traceable")
    tracer, config = options
    results = ctx.chain.trace_block(block, tracer, config)
    return [{"txHash": "0x" + tx.hash.hex(), "result": result} for tx, result in zip(block.transactions, results)]


@rpc_method("debug_getRawBlock", Param(block_spec))
def get_raw_block(ctx, spec: Any) -> Optional[str]:
    """The block's RLP (geth's method; a rollup follower imports the sequencer's unsafe blocks with it)."""
    block = ctx.block_or_none(spec)
    return None if block is None else "0x" + block.encode().hex()


@rpc_method("debug_getRawHeader", Param(block_spec))
def get_raw_header(ctx, spec: Any) -> Optional[str]:
    block = ctx.block_or_none(spec)
    return None if block is None else "0x" + block.header.encode().hex()
