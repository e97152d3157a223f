"""Fee reporting: eth_feeHistory (the fee rules themselves are in ``chain.consensus``)."""

from __future__ import annotations

from typing import Optional

from hyperion.chain.consensus import base_fee_after as next_base_fee
from hyperion.chain.consensus import next_block_blob_base_fee

MAX_FEE_HISTORY_BLOCKS = 1024


def _blob_fee_and_ratio(header, rules) -> tuple[int, float]:
    """A block's blob base fee and blob gas used over its maximum (0 before Cancun)."""
    if not rules.cancun or header.excess_blob_gas is None:
        return 0, 0.0
    fork = rules.fork
    return fork.blob_base_fee(header.excess_blob_gas), (header.blob_gas_used or 0) / fork.max_blob_gas_per_block


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
    base_fees, ratios, rewards, blob_fees, blob_ratios = [], [], [], [], []
    block = last
    for number in range(oldest, last.number + 1):
        block = chain.block_by_number(number)
        header = block.header
        base_fees.append(header.base_fee or 0)
        ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
        blob_fee, blob_ratio = _blob_fee_and_ratio(header, chain.block_rules(header))
        blob_fees.append(blob_fee)
        blob_ratios.append(blob_ratio)
        if percentiles:
            rewards.append(_percentile_rewards(block, chain.receipts(block), percentiles))
    header = block.header
    base_fees.append(next_base_fee(header.base_fee or 0, header.gas_used, header.gas_limit))
    blob_fees.append(next_block_blob_base_fee(header, chain.next_block_rules()))
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
