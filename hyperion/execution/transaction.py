"""The transaction state-transition function, for every fork from Frontier on.

``apply_transaction`` validates a transaction against the block and the
state, buys its gas, runs the message through MetisVM, refunds, pays the
coinbase and cleans up. An invalid transaction raises
``InvalidTransaction`` (geth's wording) and leaves the state untouched.
What differs between forks (signature rules, base fee, refund cap, empty
accounts) is read from the ``Fork`` in the block environment.
"""

from __future__ import annotations

from hyperion.execution.deposit import DEPOSIT_TX_TYPE, apply_deposit
from hyperion.execution.intrinsic import InvalidTransactionError, validate_transaction_static
from hyperion.execution.result import InvalidTransaction, TransactionResult
from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.secp256k1 import InvalidSignature, recover_address
from hyperion.vm import gas as G
from hyperion.vm.environment import BlockEnv
from hyperion.vm.frame import TxContext, precompile_addresses
from hyperion.vm.instructions.system import ACCOUNTS_CREATED_ON_TOUCH, DELEGATION_PREFIX, delegation_target
from hyperion.vm.interpreter import FAILED, RIPEMD160_ADDRESS, SUCCESS, execute_call, execute_create
from hyperion.vm.tracing import error_text

MAX_NONCE = 2**64 - 1


def _failure_text(reason) -> str:
    """geth's name for the top frame's exceptional halt ("out of gas", "invalid opcode", ...)."""
    return "execution failed" if reason is None else error_text(reason)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def base_fee_credit(env: BlockEnv, result: "TransactionResult") -> int:
    """Wei of base fee a chain that routes the base fee (instead of burning it)
    credits for ``result``; a deposit buys no gas at the base fee."""
    if not env.base_fee or result.deposit_nonce is not None:
        return 0
    return result.gas_used * env.base_fee


def recover_sender(tx, fork) -> bytes:
    """The signer of ``tx`` under ``fork``'s signature rules: EIP-2's low-s
    rule from Homestead on (Frontier accepts any s in [1, n)). EIP-155's
    chain id is checked by ``validate_transaction_static``."""
    if fork.has_homestead_rules:
        return tx.sender
    return recover_address(tx.signing_hash(), tx.y_parity, tx.r, tx.s)


def check_transaction(state, env: BlockEnv, tx, block_gas_used: int = 0, block_blob_gas_used: int = 0):
    """Validity against block and state. Returns (sender, gas_price, intrinsic, floor, blob_gas)."""
    return _check(state, env, tx, block_gas_used, block_blob_gas_used)[:5]


def _check(state, env: BlockEnv, tx, block_gas_used: int, block_blob_gas_used: int):
    """``check_transaction``, plus the sender's nonce and balance it read (so that
    ``apply_transaction`` does not read them again)."""
    fork = env.fork
    try:
        intrinsic, floor = validate_transaction_static(tx, fork)
    except InvalidTransactionError as exc:
        raise InvalidTransaction(str(exc)) from None
    chain_id = tx.chain_id
    if chain_id is not None and chain_id != env.chain_id:
        raise InvalidTransaction(f"invalid chain id: have {chain_id}, want {env.chain_id}")
    if tx.gas > env.gas_limit - block_gas_used:
        raise InvalidTransaction(
            f"gas limit reached: tx gas {tx.gas} exceeds block gas available {env.gas_limit - block_gas_used}"
        )
    blob_gas = tx.blob_gas
    if blob_gas and blob_gas > fork.max_blob_gas_per_block - block_blob_gas_used:
        raise InvalidTransaction(f"blob gas limit exceeded: {blob_gas} > {fork.max_blob_gas_per_block}")
    try:
        sender = recover_sender(tx, fork)
    except InvalidSignature as exc:
        raise InvalidTransaction(f"invalid sender: {exc}") from None
    except ValueError as exc:
        raise InvalidTransaction(f"invalid sender: {exc}") from None
    base_fee = env.base_fee if fork.has_base_fee else 0  # before London all of the gas price goes to the coinbase
    if tx.type >= 2:
        if tx.max_fee_per_gas < tx.max_priority_fee_per_gas:
            raise InvalidTransaction(
                f"max priority fee per gas higher than max fee per gas: address {_hex(sender)}, "
                f"maxPriorityFeePerGas: {tx.max_priority_fee_per_gas}, maxFeePerGas: {tx.max_fee_per_gas}"
            )
        if tx.max_fee_per_gas < base_fee:
            raise InvalidTransaction(
                f"max fee per gas less than block base fee: address {_hex(sender)}, "
                f"maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {base_fee}"
            )
        max_gas_fee = tx.gas * tx.max_fee_per_gas
    else:
        if tx.gas_price < base_fee:
            raise InvalidTransaction(
                f"max fee per gas less than block base fee: address {_hex(sender)}, "
                f"maxFeePerGas: {tx.gas_price}, baseFee: {base_fee}"
            )
        max_gas_fee = tx.gas * tx.gas_price
    if tx.type == 3:
        blob_price = env.blob_gas_price()
        if tx.max_fee_per_blob_gas < blob_price:
            raise InvalidTransaction(
                f"max fee per blob gas less than block blob gas fee: address {_hex(sender)}, "
                f"blobGasFeeCap: {tx.max_fee_per_blob_gas}, blobBaseFee: {blob_price}"
            )
        max_gas_fee += blob_gas * tx.max_fee_per_blob_gas
    nonce = state.get_nonce(sender)
    if tx.nonce < nonce:
        raise InvalidTransaction(f"nonce too low: address {_hex(sender)}, tx: {tx.nonce} state: {nonce}")
    if tx.nonce > nonce:
        raise InvalidTransaction(f"nonce too high: address {_hex(sender)}, tx: {tx.nonce} state: {nonce}")
    if nonce >= MAX_NONCE:
        raise InvalidTransaction(f"nonce has max value: address {_hex(sender)}, nonce: {nonce}")
    balance = state.get_balance(sender)
    if balance < max_gas_fee + tx.value:
        raise InvalidTransaction(
            f"insufficient funds for gas * price + value: address {_hex(sender)} "
            f"have {balance} want {max_gas_fee + tx.value}"
        )
    code = state.get_code(sender)
    if code and fork.rejects_code_senders and not (fork.has_set_code and delegation_target(code) is not None):
        raise InvalidTransaction(
            f"sender not an eoa: address {_hex(sender)}, codehash: {_hex(keccak256(code))}"
        )
    return sender, tx.effective_gas_price(base_fee), intrinsic, floor, blob_gas, nonce, balance


def _apply_authorizations(state, env: BlockEnv, tx) -> int:
    """EIP-7702: install delegation designators; returns the refund earned."""
    refund = 0
    for auth in tx.authorizations:
        if auth.chain_id not in (0, env.chain_id):
            continue
        if auth.nonce >= MAX_NONCE:
            continue
        authority = auth.authority()
        if authority is None:
            continue
        state.warm_address(authority)
        code = state.get_code(authority)
        if code and delegation_target(code) is None:
            continue
        if state.get_nonce(authority) != auth.nonce:
            continue
        if state.account_exists(authority):
            refund += G.PER_EMPTY_ACCOUNT_COST - G.PER_AUTH_BASE_COST
        if auth.address == b"\x00" * 20:
            state.set_code(authority, b"")
        else:
            state.set_code(authority, DELEGATION_PREFIX + auth.address)
        state.set_nonce(authority, auth.nonce + 1)
    return refund


def apply_transaction(state, env: BlockEnv, tx, *, tracer=None, block_gas_used: int = 0,
                      block_blob_gas_used: int = 0) -> TransactionResult:
    """Execute ``tx`` on ``state``; raise InvalidTransaction if it is not includable."""
    if tx.type == DEPOSIT_TX_TYPE:
        return apply_deposit(state, env, tx, tracer=tracer, block_gas_used=block_gas_used)
    fork = env.fork
    sender, gas_price, intrinsic, floor, blob_gas, nonce, balance = _check(
        state, env, tx, block_gas_used, block_blob_gas_used
    )
    state.begin_transaction()
    to = tx.to
    # the fork's precompiles, even where a simulation moved one; the recipient (a creation
    # warms its new address below); the coinbase from EIP-3651 on
    if to is None:
        if fork.has_warm_coinbase:
            state.warm_at_start(precompile_addresses(fork), sender, env.coinbase)
        else:
            state.warm_at_start(precompile_addresses(fork), sender)
    elif fork.has_warm_coinbase:
        state.warm_at_start(precompile_addresses(fork), sender, to, env.coinbase)
    else:
        state.warm_at_start(precompile_addresses(fork), sender, to)

    blob_fee = blob_gas * env.blob_gas_price() if blob_gas else 0
    state.set_nonce(sender, nonce + 1)
    state.set_balance(sender, balance - tx.gas * gas_price - blob_fee)

    ctx = TxContext(state, env, fork, sender, gas_price, tx.blob_versioned_hashes, tracer)
    for address, keys in tx.access_list:
        state.warm_address(address)
        for key in keys:
            state.warm_slot(address, int.from_bytes(key, "big") if isinstance(key, bytes) else key)

    gas = tx.gas - intrinsic
    if tracer is not None:
        tracer.on_start(tx.gas)
    contract_address = None
    if to is None:
        contract_address = keccak256(rlp.encode([sender, nonce]))[12:]
        state.warm_address(contract_address)
        if (
            state.get_nonce(contract_address)
            or state.get_code(contract_address)
            or state.has_storage(contract_address)
        ):
            status, gas_left, output = FAILED, 0, b""
        else:
            status, gas_left, output = execute_create(ctx, sender, contract_address, tx.value, tx.data, gas, 0)
    else:
        if tx.type == 4:
            ctx.refund += _apply_authorizations(state, env, tx)
        code = state.get_code(to)
        code_address = to
        delegated = False
        if fork.has_set_code:
            target = delegation_target(code)
            if target is not None:
                state.warm_address(target)
                code = state.get_code(target)
                code_address = target
                delegated = True
        status, gas_left, output = execute_call(
            ctx, sender, to, code_address, tx.value, tx.data, gas, 0, False, True, code, delegated
        )

    used = tx.gas - gas_left
    refund = used // fork.max_refund_quotient
    if ctx.refund < refund:
        refund = ctx.refund
    used_after_refund = used - refund
    if used_after_refund < floor:  # EIP-7623
        used_after_refund = floor
    state.add_balance(sender, (tx.gas - used_after_refund) * gas_price)  # (the sender exists: it was charged)
    fee = used_after_refund * (gas_price - (env.base_fee if fork.has_base_fee else 0))
    coinbase = env.coinbase
    if fee:
        state.add_balance(coinbase, fee)
    elif ctx.accounts == ACCOUNTS_CREATED_ON_TOUCH:
        state.set_balance(coinbase, state.get_balance(coinbase))  # before EIP-161 paying 0 still creates it
    elif state.account_exists(coinbase) and state.is_empty(coinbase):
        state.destroy_account(coinbase)  # EIP-161
    if ctx.ripemd_touched and status == SUCCESS:
        state.touch(RIPEMD160_ADDRESS)  # see interpreter.execute_call
    if ctx.to_delete:
        for address in set(ctx.to_delete):
            state.destroy_account(address)
    state.end_transaction()

    success = status == SUCCESS
    if tracer is not None:
        tracer.on_end(output, used_after_refund, success)
    return TransactionResult(  # positional: keywords cost more than a plain transfer's whole tail
        used_after_refund,  # gas_used
        success,
        output,
        ctx.logs if success else [],  # logs (the context, and so its list, ends here)
        contract_address if (tx.to is None and success) else None,
        None if success else ("execution reverted" if status == 0 else _failure_text(ctx.halt_reason)),  # error
        blob_gas,  # blob_gas_used
        refund,  # gas_refunded
    )
