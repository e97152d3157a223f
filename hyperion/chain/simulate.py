"""eth_simulateV1: execute calls in a chain of simulated blocks on top of a real one (geth's semantics).

Each simulated block is built like a real one (``BlockBuilder``: system
calls, transactions, withdrawals, requests, roots) on one throw-away
pending state of the base block, so blocks see what earlier ones did and
``BLOCKHASH`` sees earlier simulated blocks. Calls are unsigned
transactions from their ``from`` (geth's ``TransactionArgs``): type 2 unless
``gasPrice`` (legacy), ``authorizationList`` (7702) or blob hashes are given;
nonce from the state when absent; gas the block's remaining gas when absent.

Without ``validation`` the base fee is 0 unless overridden, nonces are not
checked and a call without fee fields pays nothing (geth's NoBaseFee);
with it, the base fee follows EIP-1559 and every transaction rule applies.
The sender's code is never checked (EOA rule off), nor EIP-7825's cap.

Bounds: at most 256 blocks and 10,000 calls (5,000 per block), like geth;
all calls together use at most the RPC gas cap (a call's gas is clamped to
what is left of it); executions stop at the RPC deadline (bounded fork).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from hyperion.chain.blocks import ZERO_ADDRESS, ZERO_HASH, Block, Withdrawal
from hyperion.chain.builder import BlockBuilder
from hyperion.chain.calls import apply_state_overrides, evm_budget, parse_access_list, state_reader, uncapped_fork
from hyperion.chain.consensus import block_rules
from hyperion.chain.errors import ChainError
from hyperion.chain.limits import bounded_fork, check
from hyperion.execution.transaction import MAX_NONCE, InvalidTransaction
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.transactions import (
    AccessListTransaction,
    Authorization,
    BlobTransaction,
    FeeMarketTransaction,
    LegacyTransaction,
    SetCodeTransaction,
)
from hyperion.vm.precompiles import precompiles_for
from hyperion.vm.tracing import Tracer, decode_revert_reason

MAX_BLOCKS = 256
MAX_CALLS_PER_BLOCK = 5000
MAX_TOTAL_CALLS = 10_000
TIMESTAMP_INCREMENT = 12

# geth's error codes (internal/ethapi/errors.go)
NONCE_TOO_HIGH = -38011
NONCE_TOO_LOW = -38010
BASE_FEE_TOO_LOW = -38012
INTRINSIC_GAS = -38013
INSUFFICIENT_FUNDS = -38014
BLOCK_GAS_LIMIT_REACHED = -38015
BLOCK_NUMBER_INVALID = -38020
BLOCK_TIMESTAMP_INVALID = -38021
SENDER_NOT_EOA = -38024
MAX_INIT_CODE_SIZE = -38025
CLIENT_LIMIT_EXCEEDED = -38026
INVALID_PARAMS = -32602
SERVER_ERROR = -32000
INTERNAL_ERROR = -32603
VM_ERROR = -32015
REVERTED = 3

# ERC-7528's address for ether, and ERC-20's Transfer(address,address,uint256) topic
TRANSFER_ADDRESS = bytes.fromhex("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
TRANSFER_TOPIC = keccak256(b"Transfer(address,address,uint256)")

# Transaction-validity failures -> geth's codes, by the start of our (geth-worded) messages.
_TX_ERROR_CODES = (
    ("nonce too high", NONCE_TOO_HIGH),
    ("nonce too low", NONCE_TOO_LOW),
    ("max fee per gas less than block base fee", BASE_FEE_TOO_LOW),
    ("intrinsic gas too low", INTRINSIC_GAS),
    ("insufficient funds", INSUFFICIENT_FUNDS),
    ("sender not an eoa", SENDER_NOT_EOA),
    ("max initcode size exceeded", MAX_INIT_CODE_SIZE),
    ("max priority fee per gas higher than max fee per gas", INVALID_PARAMS),
    ("max fee per gas higher than 2^256-1", INVALID_PARAMS),
    ("max priority fee per gas higher than 2^256-1", INVALID_PARAMS),
)


class SimulationError(ChainError):
    """A request eth_simulateV1 refuses as a whole, with geth's error code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class SimulatedLog:
    address: bytes
    topics: list
    data: bytes
    tx_hash: bytes
    tx_index: int
    log_index: int


@dataclass
class SimulatedCall:
    output: bytes
    logs: list[SimulatedLog]
    gas_used: int
    max_used_gas: int
    success: bool
    error: Optional[dict] = None  # {"code", "message"[, "data"]}


@dataclass
class SimulatedBlock:
    block: Block  # its transactions know their senders (the calls' ``from``)
    calls: list[SimulatedCall]


@dataclass
class BlockSpec:
    """One entry of ``blockStateCalls``, parsed: overrides and calls (``transaction_args`` dicts)."""

    # number, time, gasLimit, feeRecipient, prevRandao, baseFeePerGas, blobBaseFee, beaconRoot,
    # withdrawals (a list of Withdrawal)
    overrides: dict = field(default_factory=dict)
    state_overrides: Optional[dict] = None
    calls: list = field(default_factory=list)


def check_request_size(blocks: list[BlockSpec]) -> None:
    if not blocks:
        raise SimulationError("empty input", INVALID_PARAMS)
    if len(blocks) > MAX_BLOCKS:
        raise SimulationError("too many blocks", CLIENT_LIMIT_EXCEEDED)
    total = 0
    for block in blocks:
        if len(block.calls) > MAX_CALLS_PER_BLOCK:
            raise SimulationError(f"too many calls in block: {len(block.calls)} > {MAX_CALLS_PER_BLOCK}",
                                  CLIENT_LIMIT_EXCEEDED)
        total += len(block.calls)
        if total > MAX_TOTAL_CALLS:
            raise SimulationError(f"too many calls: {total} > {MAX_TOTAL_CALLS}", CLIENT_LIMIT_EXCEEDED)


def sanitize_chain(base_number: int, base_time: int, blocks: list[BlockSpec]) -> list[BlockSpec]:
    """Numbers and timestamps strictly increasing (defaults: +1, +12 s); gaps filled with empty blocks."""
    result: list[BlockSpec] = []
    previous_number, previous_time = base_number, base_time
    for block in blocks:
        overrides = dict(block.overrides)
        number = overrides.get("number", previous_number + 1)
        if number <= previous_number:
            raise SimulationError(f"block numbers must be in order: {number} <= {previous_number}",
                                  BLOCK_NUMBER_INVALID)
        if number - base_number > MAX_BLOCKS:
            raise SimulationError("too many blocks", CLIENT_LIMIT_EXCEEDED)
        for gap_number in range(previous_number + 1, number):
            previous_time += TIMESTAMP_INCREMENT
            result.append(BlockSpec({"number": gap_number, "time": previous_time}))
        if "time" in overrides:
            if overrides["time"] <= previous_time:
                raise SimulationError(f"block timestamps must be in order: {overrides['time']} <= {previous_time}",
                                      BLOCK_TIMESTAMP_INVALID)
        else:
            overrides["time"] = previous_time + TIMESTAMP_INCREMENT
        overrides["number"] = number
        previous_number, previous_time = number, overrides["time"]
        result.append(BlockSpec(overrides, block.state_overrides, block.calls))
    return result


class TransferTracer(Tracer):
    """Ether moved by a call frame (or a SELFDESTRUCT) as an ERC-20 Transfer log from ERC-7528's address.

    It follows the transaction's own logs (LOG0..LOG4 that succeeded) so
    that each transfer takes its place among them, and drops a failing
    frame's transfers as the VM drops its logs. DELEGATECALL and CALLCODE
    move no ether between accounts and produce none. Log indices count
    every log captured in the block, also those a revert discarded (geth).
    """

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0  # logs captured in the block so far
        self.start_transaction()

    def start_transaction(self) -> None:
        self.log_count = 0  # the VM's logs of this transaction so far
        self.event_indices: list[int] = []  # log index of each of the VM's logs
        self.transfers: list[tuple[int, int, bytes, bytes, int]] = []  # (VM logs before it, index, from, to, value)
        self.marks: list[tuple[int, int, int]] = []

    def _transfer(self, sender: bytes, recipient: bytes, value: int) -> None:
        self.transfers.append((self.log_count, self.counter, sender, recipient, value))
        self.counter += 1

    def on_enter(self, kind, caller, to, value, data, gas, depth):
        self.marks.append((self.log_count, len(self.transfers), len(self.event_indices)))
        if value and (kind == "CREATE" or self.current_opcode not in (0xF2, 0xF4)):
            self._transfer(caller, to, value)
        self.current_opcode = 0

    def on_exit(self, status, gas_left, output, error):
        log_count, transfers, events = self.marks.pop()
        if status != 1:
            self.log_count = log_count
            del self.transfers[transfers:]
            del self.event_indices[events:]

    def on_step(self, f, pc, opcode, name, gas):
        if opcode == 0xFF and f.stack:  # SELFDESTRUCT: the balance goes to the beneficiary
            balance = f.ctx.state.get_balance(f.address)
            if balance:
                self._transfer(f.address, (f.stack[-1] & (2**160 - 1)).to_bytes(20, "big"), balance)

    def on_step_end(self, f, gas_cost):
        if 0xA0 <= self.current_opcode <= 0xA4:
            self.event_indices.append(self.counter)
            self.counter += 1
            self.log_count += 1

    def merged(self, logs: list) -> list[tuple[bytes, list, bytes, int]]:
        """The transaction's logs with the transfers in place: ``(address, topics, data, log index)``."""
        result: list[tuple[bytes, list, bytes, int]] = []
        transfers = iter(self.transfers)
        pending = next(transfers, None)
        for position in range(len(logs) + 1):
            while pending is not None and pending[0] == position:
                _, index, sender, recipient, value = pending
                result.append((TRANSFER_ADDRESS, [TRANSFER_TOPIC, sender.rjust(32, b"\0"), recipient.rjust(32, b"\0")],
                               value.to_bytes(32, "big"), index))
                pending = next(transfers, None)
            if position < len(logs):
                log = logs[position]
                result.append((log.address, list(log.topics), log.data, self.event_indices[position]))
        return result


def _tx_error(exc: InvalidTransaction, gas: int) -> SimulationError:
    message = str(exc)
    for prefix, code in _TX_ERROR_CODES:
        if message.startswith(prefix):
            break
    else:
        code = INTERNAL_ERROR
    return SimulationError(f"err: {message} (supplied gas {gas})", code)


def build_transaction(fields: dict, *, chain_id: int, nonce: int, gas: int, london: bool):
    """The unsigned transaction geth makes of a call (``TransactionArgs.ToTransaction``, type 2 by default)."""
    to = fields.get("to")
    value = fields.get("value", 0)
    data = fields.get("data", b"")
    access_list = parse_access_list(fields.get("accessList"))
    if fields.get("chainId") is not None and fields["chainId"] != chain_id:
        raise SimulationError(f"chainId does not match node's (have={fields['chainId']}, want={chain_id})",
                              SERVER_ERROR)
    if "gasPrice" in fields or not london:
        price = fields.get("gasPrice", 0)
        if "accessList" in fields and "gasPrice" not in fields:
            return AccessListTransaction(chain_id, nonce, price, gas, to, value, data, access_list)
        return LegacyTransaction(nonce, price, gas, to, value, data)
    max_fee = fields.get("maxFeePerGas", 0)
    tip = fields.get("maxPriorityFeePerGas", 0)
    if "authorizationList" in fields:
        if to is None:
            raise SimulationError("set-code transaction without a recipient", INVALID_PARAMS)
        authorizations = tuple(Authorization(a["chainId"], a["address"], a["nonce"], a["yParity"], a["r"], a["s"])
                               for a in fields["authorizationList"])
        return SetCodeTransaction(chain_id, nonce, tip, max_fee, gas, to, value, data, access_list, authorizations)
    if "blobVersionedHashes" in fields:
        if to is None:
            raise SimulationError("blob transaction without a recipient", INVALID_PARAMS)
        return BlobTransaction(chain_id, nonce, tip, max_fee, gas, to, value, data, access_list,
                               fields.get("maxFeePerBlobGas", 0), tuple(fields["blobVersionedHashes"]))
    return FeeMarketTransaction(chain_id, nonce, tip, max_fee, gas, to, value, data, access_list)


def apply_overrides(state, overrides: Optional[dict], precompiles: dict) -> None:
    """geth's state override set for one simulated block, in address order.

    ``precompiles`` (the block's, changed in place) loses every precompile
    whose address is overridden; ``movePrecompileToAddress`` first moves it
    to another address (which no other entry may override).
    """
    if not overrides:
        return
    moved_to: set[bytes] = set()
    plain = {}
    for account in sorted(overrides):
        override = overrides[account]
        if account in moved_to:
            raise ChainError(f"account 0x{account.hex()} has already been overridden by a precompile")
        precompile = precompiles.get(account)
        target = override.get("movePrecompileToAddress")
        if target is not None:
            if precompile is None:
                raise ChainError(f"account 0x{account.hex()} is not a precompile")
            if target in overrides:
                raise ChainError(f"account 0x{target.hex()} is already overridden")
            precompiles[target] = precompile
            moved_to.add(target)
        if precompile is not None:
            del precompiles[account]
        fields = {key: value for key, value in override.items() if key != "movePrecompileToAddress"}
        if fields.get("code") == b"" and not state.account_exists(account):
            # no account to clear: creating an empty one would outlive geth's (which EIP-161 removes
            # when touched; MetisVM, like the spec, only does that before the merge)
            del fields["code"]
        plain[account] = fields
    apply_state_overrides(state, plain)


class Simulator:
    """Runs one eth_simulateV1 request on top of ``base`` (a block of ``chain``)."""

    def __init__(self, chain, base: Block, *, validation: bool, trace_transfers: bool) -> None:
        self.chain = chain
        self.base = base
        self.validation = validation
        self.trace_transfers = trace_transfers
        self.gas_budget = chain.config.rpc_gas_cap or (1 << 63)
        self.hashes: dict[int, bytes] = {}

    def _block_hash(self, number: int) -> Optional[bytes]:
        if number in self.hashes:
            return self.hashes[number]
        if number <= self.base.number:
            block = self.chain.block_by_number(number)
            return None if block is None else block.hash
        return None

    def run(self, blocks: list[BlockSpec]) -> list[SimulatedBlock]:
        check_request_size(blocks)
        blocks = sanitize_chain(self.base.number, self.base.header.timestamp, blocks)
        reader = state_reader(self.chain, self.base.number)
        try:
            state = reader.pending()
            with evm_budget(self.chain):
                parent = self.base.header
                merged = self.chain.block_rules(parent).merged or parent.difficulty == 0
                results = []
                for spec in blocks:
                    check()  # the RPC deadline, also between blocks without calls
                    simulated = self._block(state, parent, spec, merged)
                    results.append(simulated)
                    parent = simulated.block.header
                    self.hashes[parent.number] = simulated.block.hash
                return results
        finally:
            reader.close()

    def _block(self, state, parent, spec: BlockSpec, merged: bool) -> SimulatedBlock:
        overrides = spec.overrides
        chain = self.chain
        rules = block_rules(chain.spec.schedule, overrides["number"], overrides["time"], merged)
        rules = dataclasses.replace(rules, fork=uncapped_fork(bounded_fork(rules.fork)))
        if "baseFeePerGas" in overrides:
            base_fee = overrides["baseFeePerGas"]
        else:
            base_fee = None if self.validation else 0
        builder = BlockBuilder(
            state, parent, rules=rules, chain_id=chain.chain_id, timestamp=overrides["time"],
            coinbase=overrides.get("feeRecipient", parent.coinbase),
            gas_limit=overrides.get("gasLimit", parent.gas_limit), extra_data=b"",
            block_hash=self._block_hash, base_fee=base_fee,
            beacon_root=overrides.get("beaconRoot", ZERO_HASH),
            prev_randao=overrides.get("prevRandao", ZERO_HASH),
            base_fee_recipient=chain.spec.base_fee_recipient, deposit_contract=chain.spec.deposit_contract)
        if "blobBaseFee" in overrides:
            builder.env = dataclasses.replace(builder.env, blob_base_fee=overrides["blobBaseFee"])
        if spec.state_overrides:  # each block starts from its fork's precompiles (geth)
            precompiles = precompiles_for(rules.fork)
            apply_overrides(state, spec.state_overrides, precompiles)
            builder.env = dataclasses.replace(builder.env, precompiles=precompiles)
        calls = []
        tracer = TransferTracer() if self.trace_transfers else None
        log_index = 0  # logs of the block so far (with traceTransfers the tracer counts them)
        for index, fields in enumerate(spec.calls):
            check()
            call = self._call(builder, state, fields, index, tracer, log_index)
            log_index += len(call.logs)
            calls.append(call)
        if not rules.merged:  # a proof-of-work block: geth's engine pays the block reward, keeps the difficulty
            coinbase = builder.env.coinbase
            state.set_balance(coinbase, state.get_balance(coinbase) + rules.fork.block_reward)
        block = builder.finish(overrides.get("withdrawals", []))
        if not rules.merged:
            block = Block(dataclasses.replace(block.header, difficulty=parent.difficulty), block.transactions,
                          block.withdrawals)
        for index, call in enumerate(calls):
            for log in call.logs:
                log.tx_hash = block.transactions[index].hash
        return SimulatedBlock(block, calls)

    def _call(self, builder: BlockBuilder, state, fields: dict, index: int, tracer: Optional[TransferTracer],
              log_index: int):
        sender = fields.get("from") or ZERO_ADDRESS
        state_nonce = state.get_nonce(sender)
        nonce = fields.get("nonce", state_nonce)
        remaining = builder.gas_remaining
        gas = fields.get("gas", remaining)
        if remaining < gas:
            raise SimulationError(f"block gas limit reached: remaining: {remaining}, required: {gas}",
                                  BLOCK_GAS_LIMIT_REACHED)
        capped = gas > self.gas_budget
        gas = min(gas, self.gas_budget)
        london = builder.rules.london
        tx = build_transaction(fields, chain_id=self.chain.chain_id, nonce=nonce, gas=gas, london=london)
        wraps = not self.validation and state_nonce == MAX_NONCE and tx.to is not None
        if wraps:  # geth skips every nonce check here, EIP-2681's too: the nonce wraps to 0 after the call
            state.set_nonce(sender, 0)
        executed = tx if self.validation or nonce == state.get_nonce(sender) else \
            dataclasses.replace(tx, nonce=state.get_nonce(sender))
        for candidate in {id(tx): tx, id(executed): executed}.values():
            object.__setattr__(candidate, "_sender", sender)
        unpriced = not any(fields.get(name) for name in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"))
        env = builder.env
        if unpriced and not self.validation:
            builder.env = dataclasses.replace(env, base_fee=0)  # geth's NoBaseFee: such a call pays nothing
        if tracer is not None:
            tracer.start_transaction()
        try:
            builder.add(executed, tracer=tracer)
        except InvalidTransaction as exc:
            raise _tx_error(exc, gas) from None
        finally:
            builder.env = env
            if wraps:
                state.set_nonce(sender, (state.get_nonce(sender) - 1) % (MAX_NONCE + 1))
        if executed is not tx:  # the block holds the transaction as the caller gave it
            builder.transactions[-1] = tx
        result = builder.results[-1]
        if result.gas_used > self.gas_budget:
            raise SimulationError(f"RPC gas cap exhausted: need {result.gas_used}, remaining {self.gas_budget}",
                                  INTERNAL_ERROR)
        self.gas_budget -= result.gas_used
        if tracer is not None:
            raw_logs = tracer.merged(result.logs)
        else:
            raw_logs = [(log.address, list(log.topics), log.data, log_index + offset)
                        for offset, log in enumerate(result.logs)]
        logs = [SimulatedLog(address, topics, data, b"", index, position)
                for address, topics, data, position in raw_logs] if result.success else []
        error = None
        if not result.success:
            if result.error == "execution reverted":
                reason = decode_revert_reason(result.output)
                error = {"message": f"execution reverted: {reason}" if reason else "execution reverted",
                         "code": REVERTED, "data": "0x" + result.output.hex()}
            else:
                message = result.error or "execution failed"
                if capped:
                    message += " (gas limit was capped by the RPC server's global gas cap)"
                error = {"message": message, "code": VM_ERROR}
        max_used = result.gas_used + result.gas_refunded  # geth's MaxUsedGas: before the refund
        output = result.output if result.success else b""  # geth: return data only of a success
        return SimulatedCall(output, logs, result.gas_used, max_used, result.success, error)


def parse_withdrawals(items: list[dict]) -> list[Withdrawal]:
    return [Withdrawal(item["index"], item["validatorIndex"], item["address"], item["amount"]) for item in items]
