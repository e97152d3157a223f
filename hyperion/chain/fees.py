"""Fee rules and fee reporting: EIP-1559 base fee, EIP-4844 excess blob gas, eth_feeHistory."""

from __future__ import annotations

from typing import Optional

from hyperion.vm import gas as G
from hyperion.vm.forks import Fork

ELASTICITY_MULTIPLIER = 2
BASE_FEE_CHANGE_DENOMINATOR = 8
MAX_FEE_HISTORY_BLOCKS = 1024


def next_base_fee(parent_base_fee: int, parent_gas_used: int, parent_gas_limit: int) -> int:
    """EIP-1559: the base fee of a child block, moving by at most 1/8 toward the gas target."""
    target = parent_gas_limit // ELASTICITY_MULTIPLIER
    if target == 0 or parent_gas_used == target:
        return parent_base_fee
    if parent_gas_used > target:
        delta = parent_base_fee * (parent_gas_used - target) // target // BASE_FEE_CHANGE_DENOMINATOR
        return parent_base_fee + max(delta, 1)
    delta = parent_base_fee * (target - parent_gas_used) // target // BASE_FEE_CHANGE_DENOMINATOR
    return parent_base_fee - delta


def next_excess_blob_gas(parent_excess: Optional[int], parent_blob_gas_used: Optional[int], fork: Fork) -> int:
    """EIP-4844: blob gas above the per-block target carried over to the child."""
    total = (parent_excess or 0) + (parent_blob_gas_used or 0)
    target = fork.target_blob_gas_per_block
    return 0 if total < target else total - target


def blob_base_fee(excess_blob_gas: int, fork: Fork) -> int:
    return G.blob_base_fee(excess_blob_gas, fork.blob_base_fee_update_fraction)


def _percentile_rewards(block, receipts, percentiles: list[float]) -> list[int]:
    """Effective tips at the given gas-weighted percentiles of a block (geth's rules)."""
    base_fee = block.header.base_fee or 0
    if not block.transactions:
        return [0] * len(percentiles)
    tips = sorted(
        (tx.effective_gas_price(base_fee) - base_fee, receipt.gas_used)
        for tx, receipt in zip(block.transactions, receipts)
    )
    gas_used = block.header.gas_used
    rewards = []
    index = 0
    cumulative = tips[0][1]
    for percentile in percentiles:
        threshold = gas_used * percentile / 100
        while cumulative < threshold and index < len(tips) - 1:
            index += 1
            cumulative += tips[index][1]
        rewards.append(tips[index][0])
    return rewards


def fee_history(chain, block_count: int, newest, reward_percentiles: Optional[list[float]]) -> dict:
    """eth_feeHistory over the ``block_count`` blocks ending at ``newest``."""
    from hyperion.chain.errors import ChainError

    if block_count < 1:
        return {"oldest_block": 0, "base_fee_per_gas": [], "gas_used_ratio": [],
                "base_fee_per_blob_gas": [], "blob_gas_used_ratio": []}
    percentiles = list(reward_percentiles or [])
    previous = -1.0
    for p in percentiles:
        if not 0 <= p <= 100 or p < previous:
            raise ChainError(f"invalid reward percentile: {p} (must be increasing, within [0, 100])")
        previous = p
    block_count = min(block_count, MAX_FEE_HISTORY_BLOCKS)
    last = chain.resolve_block(newest)
    oldest = max(0, last.number - block_count + 1)
    fork = chain.fork
    base_fees, ratios, rewards, blob_fees, blob_ratios = [], [], [], [], []
    block = last
    for number in range(oldest, last.number + 1):
        block = chain.block_by_number(number)
        header = block.header
        base_fees.append(header.base_fee or 0)
        ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
        blob_fees.append(blob_base_fee(header.excess_blob_gas or 0, fork))
        max_blob = fork.max_blob_gas_per_block
        blob_ratios.append((header.blob_gas_used or 0) / max_blob if max_blob else 0.0)
        if percentiles:
            rewards.append(_percentile_rewards(block, chain.receipts(block), percentiles))
    header = block.header
    base_fees.append(next_base_fee(header.base_fee or 0, header.gas_used, header.gas_limit))
    blob_fees.append(blob_base_fee(next_excess_blob_gas(header.excess_blob_gas, header.blob_gas_used, fork), fork))
    result = {
        "oldest_block": oldest,
        "base_fee_per_gas": base_fees,
        "gas_used_ratio": ratios,
        "base_fee_per_blob_gas": blob_fees,
        "blob_gas_used_ratio": blob_ratios,
    }
    if percentiles:
        result["reward"] = rewards
    return result
