"""The state transition of a deposit transaction (type 0x7E, OP Stack rules).

A deposit was paid for on L1 and authorized by derivation, so it skips the
fee, nonce and signature checks of ordinary transactions. The OP Stack's
post-Regolith/Canyon semantics, which wallets and explorers of OP chains
assume:

- ``mint`` wei are credited to ``from`` first, unconditionally: they stay
  even when the deposit fails.
- The EVM runs as for an EIP-1559 transaction with a gas price of 0: no gas
  is bought, nothing is refunded as ETH, the coinbase and the base-fee
  recipient get nothing. Gas used is metered as usual (refunds included) and
  counts against the block gas limit.
- A deposit that cannot start (intrinsic gas above its gas limit, ``value``
  above the balance after minting, the retired ``isSystemTx`` flag set, an
  oversized initcode) or that halts is a *failed deposit*: it is still
  included, every change but the mint is undone, the sender's nonce goes up
  by one, and it reports its whole gas limit as used. A deposit that
  reverts reports the gas it actually used, like any reverted transaction.
- The receipt records the sender's nonce before the deposit
  (``deposit_nonce``), which also gives a creating deposit its address.

Only chains whose fork variant enables deposits (``with_deposits``) accept
them; everywhere else a deposit is an invalid transaction. The only way a
deposit makes a block invalid is by not fitting the block's remaining gas.
"""

from __future__ import annotations

import dataclasses

from hyperion.execution.intrinsic import MAX_INITCODE_SIZE, InvalidTransactionError, intrinsic_gas
from hyperion.execution.result import InvalidTransaction, TransactionResult
from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.transactions import DEPOSIT_TX_TYPE
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import Fork
from hyperion.vm.frame import TxContext
from hyperion.vm.instructions.system import delegation_target
from hyperion.vm.interpreter import FAILED, SUCCESS, execute_call, execute_create

__all__ = ["DEPOSIT_TX_TYPE", "apply_deposit", "deposits_enabled", "with_deposits"]

_DEPOSITS = "deposits"


def with_deposits(fork: Fork) -> Fork:
    """The rollup's variant of ``fork``: the same rules, plus deposit transactions."""
    if deposits_enabled(fork):
        return fork
    return dataclasses.replace(fork, extra={**fork.extra, _DEPOSITS: True})


def deposits_enabled(fork: Fork) -> bool:
    return bool(fork.extra.get(_DEPOSITS)) if fork.extra else False


def _start_error(tx, fork: Fork, balance_after_mint: int) -> str | None:
    """Why the deposit cannot start executing (a failed deposit), or None."""
    if tx.is_system_tx:
        return "system transactions are not supported (isSystemTx is retired)"
    if tx.to is None and fork.has_initcode_limit and len(tx.data) > MAX_INITCODE_SIZE:
        return f"max initcode size exceeded: code size {len(tx.data)} limit {MAX_INITCODE_SIZE}"
    try:
        intrinsic, floor = intrinsic_gas(tx, fork)
    except InvalidTransactionError as exc:
        return str(exc)
    if tx.gas < max(intrinsic, floor):
        return f"intrinsic gas too low: have {tx.gas}, want {max(intrinsic, floor)}"
    if balance_after_mint < tx.value:
        return f"insufficient funds for value: have {balance_after_mint} want {tx.value}"
    return None


def apply_deposit(state, env: BlockEnv, tx, *, tracer=None, block_gas_used: int = 0):
    """Execute deposit ``tx``; raises InvalidTransaction only when it cannot fit the block."""
    fork = env.fork
    if not deposits_enabled(fork):
        raise InvalidTransaction("transaction type not supported: deposit transactions exist only on a rollup")
    if tx.gas > env.gas_limit - block_gas_used:
        raise InvalidTransaction(
            f"gas limit reached: deposit gas {tx.gas} exceeds block gas available {env.gas_limit - block_gas_used}")
    sender = tx.from_address
    state.begin_transaction()
    if tx.mint:
        state.set_balance(sender, state.get_balance(sender) + tx.mint)
    nonce = state.get_nonce(sender)
    failure = _start_error(tx, fork, state.get_balance(sender))
    if failure is None and nonce >= 2**64 - 1:
        failure = f"nonce has max value: address 0x{sender.hex()}, nonce: {nonce}"
    if failure is not None:
        return _failed(state, tx, sender, nonce, failure)

    state.set_nonce(sender, nonce + 1)
    ctx = TxContext(state, env, fork, sender, 0, (), tracer)
    to = tx.to
    warm = [sender] if to is None else [sender, to]  # (a creation's new address is warmed below)
    if fork.has_warm_coinbase:
        warm.append(env.coinbase)
    state.warm_at_start(ctx.precompiles, *warm)
    intrinsic, floor = intrinsic_gas(tx, fork)
    gas = tx.gas - intrinsic
    if tracer is not None:
        tracer.on_start(tx.gas)
    contract_address = None
    if to is None:
        contract_address = keccak256(rlp.encode([sender, nonce]))[12:]
        state.warm_address(contract_address)
        if state.get_nonce(contract_address) or state.get_code(contract_address) or state.has_storage(contract_address):
            status, gas_left, output = FAILED, 0, b""  # address collision: a halt, all gas used
        else:
            status, gas_left, output = execute_create(ctx, sender, contract_address, tx.value, tx.data, gas, 0)
    else:
        code = state.get_code(to)
        code_address, delegated = to, False
        if fork.has_set_code:  # EIP-7702: a deposit to a delegated account runs the delegate's code
            target = delegation_target(code)
            if target is not None:
                state.warm_address(target)
                code, code_address, delegated = state.get_code(target), target, True
        status, gas_left, output = execute_call(ctx, sender, to, code_address, tx.value, tx.data, gas, 0, False,
                                                True, code, delegated)
    used = tx.gas - gas_left
    success = status == SUCCESS
    refund = min(used // fork.max_refund_quotient, ctx.refund) if success else 0
    gas_used = max(used - refund, floor)
    for address in set(ctx.to_delete):
        state.destroy_account(address)
    state.end_transaction()
    if tracer is not None:
        tracer.on_end(output, gas_used, success)
    return TransactionResult(
        gas_used=gas_used, success=success, output=output, logs=list(ctx.logs) if success else [],
        contract_address=contract_address if (tx.to is None and success) else None,
        error=None if success else ("execution reverted" if status == 0 else "execution failed"),
        gas_refunded=refund, deposit_nonce=nonce,
    )


def _failed(state, tx, sender: bytes, nonce: int, reason: str) -> TransactionResult:
    """A failed deposit: the mint stays, the nonce goes up, the whole gas limit counts as used."""
    state.set_nonce(sender, min(nonce + 1, 2**64 - 1))
    state.end_transaction()
    return TransactionResult(gas_used=tx.gas, success=False, error=f"failed deposit: {reason}", deposit_nonce=nonce)
