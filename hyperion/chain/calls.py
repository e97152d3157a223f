"""Read-only execution: eth_call, eth_estimateGas, eth_createAccessList, debug_traceCall.

Every run executes on a throw-away ``reader.pending()`` state of the chosen
block (an MVCC snapshot: no chain lock is held), with geth's call semantics:
no signature, the sender's nonce taken from the state, a zero base fee when
the caller gave no fee fields, the gas defaulting to the RPC gas cap (and an
explicit gas above it lowered to it) and not bounded by what the block has
left. Runs use the bounded fork variant and a deadline (``limits``), so an
endless loop stops with geth's "execution aborted (timeout = 5s)".

Transaction fields come as a dict with the JSON-RPC names, already parsed
by the RPC layer: ``from``/``to`` (bytes), ``gas``, ``gasPrice``,
``maxFeePerGas``, ``maxPriorityFeePerGas``, ``value``, ``nonce`` (ints),
``data``/``input`` (bytes), ``accessList`` (list of ``{"address",
"storageKeys"}`` or ``(address, keys)``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from hyperion.chain.blocks import ZERO_ADDRESS, Block
from hyperion.chain.builder import BlockBuilder
from hyperion.chain.errors import ChainError, ExecutionFailed, ExecutionReverted
from hyperion.chain.limits import budget, bounded_fork, check, evm_timeout_message
from hyperion.execution.intrinsic import InvalidTransactionError, intrinsic_gas
from hyperion.execution.transaction import InvalidTransaction, apply_transaction
from hyperion.primitives.transactions import (
    AccessListTransaction,
    FeeMarketTransaction,
    LegacyTransaction,
)
from hyperion.state.database import StateUnavailable
from hyperion.vm.environment import BlockEnv
from hyperion.vm.instructions.system import DELEGATION_PREFIX
from hyperion.vm.precompiles import precompiles_for
from hyperion.vm.tracing import decode_revert_reason

CALL_STIPEND = 2300
TX_GAS = 21000


@dataclass
class CallResult:
    output: bytes
    gas_used: int
    success: bool
    revert_data: Optional[bytes] = None
    error: Optional[str] = None


def _int_field(fields: dict, name: str, default: Optional[int] = None) -> Optional[int]:
    value = fields.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ChainError(f"invalid {name}: expected a non-negative integer, got {value!r}")
    return value


def _address_field(fields: dict, name: str) -> Optional[bytes]:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, (bytes, bytearray)) or len(value) != 20:
        raise ChainError(f"invalid {name}: expected a 20-byte address")
    return bytes(value)


def call_data(fields: dict) -> bytes:
    data = fields.get("input")
    if data is None:
        data = fields.get("data")
    if data is None:
        return b""
    if not isinstance(data, (bytes, bytearray)):
        raise ChainError("invalid input: expected bytes")
    if fields.get("data") is not None and fields.get("input") is not None and fields["data"] != fields["input"]:
        raise ChainError('both "data" and "input" are set and not equal. Please use "input" to pass transaction call data')
    return bytes(data)


def parse_access_list(value) -> tuple:
    """Normalise an access list to the transaction form ``((address, (key32, ...)), ...)``."""
    if not value:
        return ()
    entries = []
    for entry in value:
        if isinstance(entry, dict):
            address, keys = entry.get("address"), entry.get("storageKeys") or []
        else:
            try:
                address, keys = entry
            except (TypeError, ValueError):
                raise ChainError("invalid accessList entry") from None
        if not isinstance(address, (bytes, bytearray)) or len(address) != 20:
            raise ChainError("invalid accessList address")
        normalised = []
        for key in keys:
            if isinstance(key, int):
                key = key.to_bytes(32, "big")
            if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
                raise ChainError("invalid accessList storage key")
            normalised.append(bytes(key))
        entries.append((bytes(address), tuple(normalised)))
    return tuple(entries)


def build_call_transaction(fields: dict, *, chain_id: int, nonce: int, gas: int):
    """An unsigned transaction object for a call, with its sender preset.

    Returns ``(tx, priced)``; ``priced`` is False when the caller gave no fee
    fields (the call then runs with a zero base fee, as geth does).
    """
    sender = _address_field(fields, "from") or ZERO_ADDRESS
    to = _address_field(fields, "to")
    value = _int_field(fields, "value", 0)
    data = call_data(fields)
    access_list = parse_access_list(fields.get("accessList"))
    gas_price = _int_field(fields, "gasPrice")
    max_fee = _int_field(fields, "maxFeePerGas")
    max_tip = _int_field(fields, "maxPriorityFeePerGas")
    if gas_price is not None and (max_fee is not None or max_tip is not None):
        raise ChainError("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
    priced = gas_price is not None or max_fee is not None or max_tip is not None
    if gas_price is not None:
        if access_list:
            tx = AccessListTransaction(chain_id, nonce, gas_price, gas, to, value, data, access_list)
        else:
            tx = LegacyTransaction(nonce, gas_price, gas, to, value, data)
    else:
        if max_fee is None:
            max_fee = max_tip or 0
        if max_tip is None:
            max_tip = 0
        if max_tip > max_fee:
            raise ChainError(
                f"max priority fee per gas higher than max fee per gas: maxPriorityFeePerGas: {max_tip}, "
                f"maxFeePerGas: {max_fee}")
        tx = FeeMarketTransaction(chain_id, nonce, max_tip, max_fee, gas, to, value, data, access_list)
    object.__setattr__(tx, "_sender", sender)
    return tx, priced


def apply_state_overrides(state, overrides: Optional[dict]) -> None:
    """geth's state override set: per address ``balance``, ``nonce``, ``code``, ``state`` (replace) or ``stateDiff``."""
    if not overrides:
        return
    for address, override in overrides.items():
        if not isinstance(address, (bytes, bytearray)) or len(address) != 20:
            raise ChainError("state override address must be 20 bytes")
        if not isinstance(override, dict):
            raise ChainError("state override must be an object")
        if override.get("state") is not None and override.get("stateDiff") is not None:
            raise ChainError(f"account 0x{address.hex()} has both 'state' and 'stateDiff'")
        if override.get("state") is not None:
            balance, nonce, code = state.get_balance(address), state.get_nonce(address), state.get_code(address)
            state.destroy_account(address)
            state.set_balance(address, balance)
            state.set_nonce(address, nonce)
            if code:
                state.set_code(address, code)
        if override.get("balance") is not None:
            state.set_balance(address, _override_int(override["balance"], "balance"))
        if override.get("nonce") is not None:
            state.set_nonce(address, _override_int(override["nonce"], "nonce"))
        if override.get("code") is not None:
            code = override["code"]
            if not isinstance(code, (bytes, bytearray)):
                raise ChainError("state override code must be bytes")
            state.set_code(address, bytes(code))
        for slots in (override.get("state"), override.get("stateDiff")):
            for key, value in (slots or {}).items():
                state.set_storage(address, _slot(key), _slot(value))


def _override_int(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ChainError(f"state override {name} must be a non-negative integer")
    return value


def _slot(value) -> int:
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "big")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**256:
        return value
    raise ChainError(f"invalid storage slot or value {value!r}")


def apply_block_overrides(env: BlockEnv, overrides: Optional[dict]) -> BlockEnv:
    if not overrides:
        return env
    mapping = {"number": "number", "time": "timestamp", "gasLimit": "gas_limit", "feeRecipient": "coinbase",
               "coinbase": "coinbase", "prevRandao": "prev_randao", "random": "prev_randao", "baseFee": "base_fee",
               "baseFeePerGas": "base_fee"}
    changes = {}
    for key, value in overrides.items():
        if key in mapping:
            changes[mapping[key]] = value
        elif key == "blobBaseFee":
            changes["blob_base_fee"] = value
        else:
            raise ChainError(f"unsupported block override {key!r}")
    return dataclasses.replace(env, **changes)


def state_reader(chain, number: int):
    """A read snapshot of block ``number``'s state (close it after use); ChainError when it is not kept."""
    try:
        return chain.db.reader(number)
    except StateUnavailable as exc:
        raise ChainError(f"missing trie node: state of block {number} is not available ({exc})") from None


_UNCAPPED: dict = {}


def uncapped_fork(fork):
    """``fork`` without EIP-7825's per-transaction gas cap and EIP-3607's code-sender rule: geth skips
    those checks for calls (``SkipTransactionChecks``), so an eth_call at the RPC gas cap still runs on
    Osaka, and a simulated call from a contract runs with its code in place."""
    if not fork.tx_gas_limit_cap and not fork.rejects_code_senders:
        return fork
    variant = _UNCAPPED.get(id(fork))
    if variant is None or variant[0] is not fork:
        variant = (fork, dataclasses.replace(fork, tx_gas_limit_cap=0, rejects_code_senders=False))
        _UNCAPPED[id(fork)] = variant
    return variant[1]


class CallRunner:
    """Runs call-style executions against one block of a chain, under the RPC work limits.

    Every execution uses the bounded variant of the fork (it stops at the
    calling thread's deadline, see ``limits``) and at most the RPC gas cap:
    an explicit ``gas`` above the cap is lowered to it, as geth does. With
    ``pending`` the executions see the block that would be built next on
    ``block``: its number, timestamp, base fee and pre-block system calls.
    """

    def __init__(self, chain, block: Block, state_overrides: Optional[dict] = None,
                 block_overrides: Optional[dict] = None, *, pending: bool = False):
        self.chain = chain
        self.block = block
        self.state_overrides = state_overrides
        self._pending_args = chain.pending_block_args(block) if pending else None
        if pending:
            reader, _state, env = self._fresh_state()
            reader.close()
        else:
            env = chain.block_env(block)
            env = dataclasses.replace(env, fork=bounded_fork(env.fork))
        self.env = apply_block_overrides(env, block_overrides)
        self.tx_gas_limit_cap = self.env.fork.tx_gas_limit_cap  # EIP-7825; estimates stay under it
        self.env = dataclasses.replace(self.env, fork=uncapped_fork(self.env.fork))
        self.gas_cap = chain.config.rpc_gas_cap or block.header.gas_limit

    def _fresh_state(self):
        reader = state_reader(self.chain, self.block.number)
        try:
            state = reader.pending()
            env = None
            if self._pending_args is not None:
                args = dict(self._pending_args)
                args["rules"] = dataclasses.replace(args["rules"], fork=bounded_fork(args["rules"].fork))
                env = BlockBuilder(state, self.block.header, **args).env  # runs the pre-block system calls
            apply_state_overrides(state, self.state_overrides)
        except BaseException:
            reader.close()
            raise
        return reader, state, env

    def open_state(self):
        """``(reader, state)``: a throw-away writable state of the block, with the overrides applied.

        The state reads through the reader's snapshot, so the reader must stay
        open while the state is used and be closed afterwards.
        """
        reader, state, _env = self._fresh_state()
        return reader, state

    def balance_of(self, address: bytes) -> int:
        reader, state = self.open_state()
        try:
            return state.get_balance(address)
        finally:
            reader.close()

    def capped_gas(self, fields: dict) -> int:
        """The call's gas: the given ``gas`` (at most the cap), else the cap."""
        gas = _int_field(fields, "gas")
        return self.gas_cap if gas is None or gas > self.gas_cap else gas

    def run(self, fields: dict, gas: Optional[int] = None, tracer=None, state=None):
        """Execute once; returns ``(TransactionResult, tx)``; raises ChainError for an invalid call.

        Without ``state`` a fresh one is opened (and released) for this run.
        """
        check()
        reader = None
        if state is None:
            reader, state = self.open_state()
        try:
            sender = _address_field(fields, "from") or ZERO_ADDRESS
            if gas is None:
                gas = self.capped_gas(fields)
            tx, priced = build_call_transaction(fields, chain_id=self.chain.chain_id, nonce=state.get_nonce(sender),
                                                gas=gas)
            env = self.env if priced else dataclasses.replace(self.env, base_fee=0)
            code = state.get_code(sender)
            if code and not code.startswith(DELEGATION_PREFIX):
                state.set_code(sender, b"")  # geth skips the EOA check for calls
            try:
                result = apply_transaction(state, env, tx, tracer=tracer,
                                           block_gas_used=min(0, env.gas_limit - tx.gas))
            except InvalidTransaction as exc:
                raise ChainError(str(exc)) from None
            return result, tx
        finally:
            if reader is not None:
                reader.close()


def evm_budget(chain):
    """The deadline of one RPC execution (geth's --rpc.evmtimeout)."""
    seconds = chain.config.rpc_evm_timeout
    return budget(seconds, evm_timeout_message(seconds))


def _revert_error(result) -> ExecutionReverted:
    return ExecutionReverted(result.output, decode_revert_reason(result.output))


def call(chain, block: Block, fields: dict, state_overrides=None, block_overrides=None, *,
         pending: bool = False) -> CallResult:
    with evm_budget(chain):
        runner = CallRunner(chain, block, state_overrides, block_overrides, pending=pending)
        result, _tx = runner.run(fields)
    if result.success:
        return CallResult(result.output, result.gas_used, True)
    reverted = result.error == "execution reverted"
    error = "execution reverted" if reverted else (result.error or "execution failed")
    if reverted:
        reason = decode_revert_reason(result.output)
        if reason:
            error = f"execution reverted: {reason}"
    return CallResult(result.output, result.gas_used, False, result.output if reverted else None, error)


ESTIMATE_ERROR_RATIO = 0.015  # geth's estimateGasErrorRatio: stop once within 1.5% (always above the minimum)


def estimate_gas(chain, block: Block, fields: dict, state_overrides=None, *, pending: bool = True) -> int:
    """The gas limit with which the transaction succeeds, searched as geth's gas estimator does.

    With ``pending`` (the default block of eth_estimateGas) the executions
    see the next block's number, timestamp and base fee, so that code whose
    cost depends on them is estimated as it will be mined. The result is
    never below the least limit that succeeds, and at most 1.5% above it.
    """
    with evm_budget(chain):
        return _estimate(chain, block, fields, state_overrides, pending)


def _estimate(chain, block: Block, fields: dict, state_overrides, pending: bool) -> int:
    runner = CallRunner(chain, block, state_overrides, pending=pending)
    probe, _ = build_call_transaction(fields, chain_id=chain.chain_id, nonce=0, gas=0)
    try:
        intrinsic, floor = intrinsic_gas(probe, chain.fork)
    except InvalidTransactionError as exc:
        raise ChainError(str(exc)) from None
    hi = runner.env.gas_limit
    given = _int_field(fields, "gas")
    if given is not None and given >= TX_GAS:
        hi = given
    fee_cap = _int_field(fields, "gasPrice") or _int_field(fields, "maxFeePerGas") or 0
    if fee_cap:
        sender = _address_field(fields, "from") or ZERO_ADDRESS
        available = runner.balance_of(sender)
        value = _int_field(fields, "value", 0)
        if value > available:
            raise ChainError("insufficient funds for transfer")
        allowance = (available - value) // fee_cap
        if allowance < hi:
            hi = allowance
    if runner.gas_cap and hi > runner.gas_cap:
        hi = runner.gas_cap
    if runner.tx_gas_limit_cap and hi > runner.tx_gas_limit_cap:
        hi = runner.tx_gas_limit_cap  # geth's estimator: at most EIP-7825's cap once it applies
    if hi < max(intrinsic, floor):
        raise ChainError(f"gas required exceeds allowance ({hi})")

    def failed(gas: int):
        result, _ = runner.run(fields, gas=gas)
        return not result.success, result

    # a plain transfer to an account without code needs exactly the intrinsic gas
    to = _address_field(fields, "to")
    if to is not None and not call_data(fields) and max(intrinsic, floor) == TX_GAS:
        reader, state = runner.open_state()
        try:
            has_code = bool(state.get_code(to))
        finally:
            reader.close()
        if not has_code and not failed(TX_GAS)[0]:
            return TX_GAS

    is_failed, first = failed(hi)
    if is_failed:
        if first.error == "execution reverted":
            raise _revert_error(first)
        if first.error != "out of gas":
            raise ExecutionFailed(first.error or "execution failed")
        raise ExecutionFailed(f"gas required exceeds allowance ({hi})")
    lo = first.gas_used - 1
    optimistic = (first.gas_used + first.gas_refunded + CALL_STIPEND) * 64 // 63
    if optimistic < hi:
        if failed(optimistic)[0]:
            lo = optimistic
        else:
            hi = optimistic
    while lo + 1 < hi:
        if (hi - lo) / hi < ESTIMATE_ERROR_RATIO:
            break
        mid = (hi + lo) // 2
        if mid > lo * 2:
            mid = lo * 2  # most transactions need little more than they used: search low first
        if failed(mid)[0]:
            lo = mid
        else:
            hi = mid
    return hi


_RECORDING_CLASSES: dict[type, type] = {}


def _recording_class(base: type) -> type:
    """A subclass of the state class that remembers every address and slot made warm."""
    cls = _RECORDING_CLASSES.get(base)
    if cls is None:
        def warm_address(self, address):
            _ACCESSED.setdefault(id(self), [set(), set()])[0].add(address)
            return base.warm_address(self, address)

        def warm_slot(self, address, key):
            _ACCESSED.setdefault(id(self), [set(), set()])[1].add((address, key))
            return base.warm_slot(self, address, key)

        cls = type(f"Recording{base.__name__}", (base,), {"__slots__": (), "warm_address": warm_address,
                                                           "warm_slot": warm_slot})
        _RECORDING_CLASSES[base] = cls
    return cls


_ACCESSED: dict[int, list] = {}


def create_access_list(chain, block: Block, fields: dict, state_overrides=None, *,
                       pending: bool = False) -> tuple[list, int]:
    """``(access_list, gas_used)``: the addresses and slots the call touches (geth's exclusions)."""
    with evm_budget(chain):
        return _access_list(CallRunner(chain, block, state_overrides, pending=pending), chain, fields)


def _access_list(runner: CallRunner, chain, fields: dict) -> tuple[list, int]:
    sender = _address_field(fields, "from") or ZERO_ADDRESS
    excluded = {sender, runner.env.coinbase, *precompiles_for(chain.fork)}
    to = _address_field(fields, "to")
    if to is not None:
        excluded.add(to)
    access_list = parse_access_list(fields.get("accessList"))
    result = None
    for _ in range(8):
        reader, state = runner.open_state()
        try:
            try:
                state.__class__ = _recording_class(type(state))
            except TypeError:
                raise ChainError("this state database does not support access-list recording") from None
            _ACCESSED[id(state)] = [set(), set()]
            result, tx = runner.run(dict(fields, accessList=list(access_list)), state=state)
            addresses, slots = _ACCESSED.get(id(state), [set(), set()])
        finally:
            _ACCESSED.pop(id(state), None)
            reader.close()
        if tx.to is None and result.contract_address is not None:
            excluded.add(result.contract_address)
        elif tx.to is None:
            from hyperion.primitives.address import compute_create_address
            excluded.add(compute_create_address(sender, tx.nonce))
        by_address: dict[bytes, set] = {}
        for address in addresses:
            if address not in excluded:
                by_address.setdefault(address, set())
        for address, key in slots:
            by_address.setdefault(address, set()).add(key)
        new_list = tuple(
            (address, tuple(k.to_bytes(32, "big") for k in sorted(keys)))
            for address, keys in sorted(by_address.items())
        )
        if new_list == access_list:
            break
        access_list = new_list
    if result is not None and not result.success and result.error == "execution reverted":
        pass  # geth still returns the list together with the error; the caller sees gas_used
    final, _ = runner.run(dict(fields, accessList=list(access_list)))
    return [{"address": a, "storageKeys": list(keys)} for a, keys in access_list], final.gas_used
