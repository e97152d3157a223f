"""Intrinsic gas and state-independent transaction validity.

``intrinsic_gas`` is what a transaction costs before any EVM code runs;
``validate_transaction_static`` rejects transactions that can never be
included under a fork, whatever the state (no balance or nonce lookups).
"""

from __future__ import annotations

from hyperion.vm.forks import GAS_PER_BLOB, Fork

DEPOSIT_TX_TYPE = 0x7E
TX_BASE_GAS = 21000
TX_DATA_ZERO_GAS = 4  # the creation and non-zero byte prices changed by fork: ``Fork.tx_create_gas``, ``Fork.tx_data_nonzero_gas``
ACCESS_LIST_ADDRESS_GAS = 2400
ACCESS_LIST_STORAGE_KEY_GAS = 1900
INITCODE_WORD_GAS = 2
MAX_INITCODE_SIZE = 2 * 24576
PER_EMPTY_ACCOUNT_GAS = 25000  # EIP-7702, charged per authorization
FLOOR_GAS_PER_TOKEN = 10  # EIP-7623
NONZERO_BYTE_TOKENS = 4
VERSIONED_HASH_VERSION_KZG = 0x01

UINT64_MAX = 2**64 - 1
UINT256_LIMIT = 2**256


class InvalidTransactionError(ValueError):
    """A transaction that is invalid regardless of state."""


def intrinsic_gas(tx, fork: Fork) -> tuple[int, int]:
    """Return ``(intrinsic_gas, calldata_floor_gas)``; the floor is 0 before EIP-7623."""
    data = tx.data
    zero_bytes = data.count(0)
    nonzero_bytes = len(data) - zero_bytes
    gas = TX_BASE_GAS + TX_DATA_ZERO_GAS * zero_bytes + fork.tx_data_nonzero_gas * nonzero_bytes
    if tx.to is None:
        gas += fork.tx_create_gas
        if fork.has_initcode_limit:
            gas += INITCODE_WORD_GAS * ((len(data) + 31) // 32)
    access_list = tx.access_list
    if access_list:
        gas += ACCESS_LIST_ADDRESS_GAS * len(access_list)
        gas += ACCESS_LIST_STORAGE_KEY_GAS * sum(len(keys) for _, keys in access_list)
    if fork.has_set_code:
        gas += PER_EMPTY_ACCOUNT_GAS * len(tx.authorizations)
    floor = 0
    if fork.has_calldata_floor:
        tokens = zero_bytes + NONZERO_BYTE_TOKENS * nonzero_bytes
        floor = TX_BASE_GAS + FLOOR_GAS_PER_TOKEN * tokens
    return gas, floor


def validate_transaction_static(tx, fork: Fork, chain_id: int | None = None) -> tuple[int, int]:
    """Raise InvalidTransactionError if ``tx`` can never be valid under ``fork``.

    When ``chain_id`` is given, replay-protected transactions must carry it
    (pre-EIP-155 legacy transactions have no chain id and pass). Returns the
    ``intrinsic_gas`` result so callers need not recompute it. The signature
    is not checked here; reading ``tx.sender`` does that.
    """
    tx_type = tx.type
    if tx_type:  # typed (EIP-2718): each type from the fork that introduced it
        if tx_type == DEPOSIT_TX_TYPE:  # executed by execution/deposit.py, never pooled or sent
            raise InvalidTransactionError("transaction type not supported: deposit transactions only come from L1")
        if tx_type == 1 and not fork.has_access_lists:
            raise InvalidTransactionError(f"transaction type not supported: access-list transactions before Berlin ({fork.name})")
        if tx_type == 2 and not fork.has_base_fee:
            raise InvalidTransactionError(f"transaction type not supported: dynamic-fee transactions before London ({fork.name})")
        if tx_type == 3 and not fork.has_blobs:
            raise InvalidTransactionError(f"transaction type not supported: blob transactions before Cancun ({fork.name})")
        if tx_type == 4 and not fork.has_set_code:
            raise InvalidTransactionError(f"transaction type not supported: set-code transactions before Prague ({fork.name})")
    elif not fork.has_replay_protection and tx.chain_id is not None:
        raise InvalidTransactionError(f"invalid sender: EIP-155 replay-protected transaction before Spurious Dragon ({fork.name})")

    if chain_id is not None and tx.chain_id is not None and tx.chain_id != chain_id:
        raise InvalidTransactionError(f"invalid chain id for signer: have {tx.chain_id} want {chain_id}")

    if tx.nonce >= UINT64_MAX:
        raise InvalidTransactionError("nonce has max value")
    if tx.gas > UINT64_MAX:
        raise InvalidTransactionError("gas limit exceeds 2^64-1")
    if fork.tx_gas_limit_cap and tx.gas > fork.tx_gas_limit_cap:
        raise InvalidTransactionError(f"transaction gas limit too high (cap: {fork.tx_gas_limit_cap}, tx: {tx.gas})")
    max_fee = tx.max_fee_per_gas
    max_priority_fee = tx.max_priority_fee_per_gas
    if max_fee >= UINT256_LIMIT:
        raise InvalidTransactionError("max fee per gas higher than 2^256-1")
    if max_priority_fee >= UINT256_LIMIT:
        raise InvalidTransactionError("max priority fee per gas higher than 2^256-1")
    if tx.value >= UINT256_LIMIT:
        raise InvalidTransactionError("value higher than 2^256-1")
    if max_priority_fee > max_fee:
        raise InvalidTransactionError(
            f"max priority fee per gas higher than max fee per gas: tip {max_priority_fee}, fee cap {max_fee}"
        )
    if tx.gas * max_fee >= UINT256_LIMIT:
        raise InvalidTransactionError("gas * max fee per gas overflows 256 bits")

    if tx.to is None and fork.has_initcode_limit and len(tx.data) > MAX_INITCODE_SIZE:
        raise InvalidTransactionError(
            f"max initcode size exceeded: code size {len(tx.data)} limit {MAX_INITCODE_SIZE}"
        )

    if tx_type == 3:
        hashes = tx.blob_versioned_hashes
        if not hashes:
            raise InvalidTransactionError("blobless blob transaction")
        for index, versioned_hash in enumerate(hashes):
            if versioned_hash[0] != VERSIONED_HASH_VERSION_KZG:
                raise InvalidTransactionError(f"blob {index} has invalid hash version")
        if len(hashes) * GAS_PER_BLOB > fork.max_blob_gas_per_block:
            raise InvalidTransactionError(
                f"too many blobs: {len(hashes)}, block limit {fork.max_blob_gas_per_block // GAS_PER_BLOB}"
            )
        if fork.max_blobs_per_tx and len(hashes) > fork.max_blobs_per_tx:
            raise InvalidTransactionError(f"too many blobs in transaction: have {len(hashes)}, max {fork.max_blobs_per_tx}")
    elif tx_type == 4 and not tx.authorizations:
        raise InvalidTransactionError("EIP-7702 transaction with empty auth list")

    gas, floor = intrinsic_gas(tx, fork)
    required = gas if gas > floor else floor
    if tx.gas < required:
        raise InvalidTransactionError(f"intrinsic gas too low: have {tx.gas}, want {required}")
    return gas, floor
