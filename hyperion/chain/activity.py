"""One log line per block and per transaction the chain commits, as anvil prints them.

``log_activity(chain)`` subscribes to the chain's new blocks; the node
commands call it so the terminal shows what is mined or imported. Lines
(logger ``hyperion.chain``, level info)::

    tx 0x5c50…a1 block=3 index=0 from=0xf39f… to=0x70997… gas=21000 status=ok
    tx 0x8f1e…07 block=4 index=0 from=0xf39f… gas=139523 status=ok contract=0x5FbD…0aa3
    tx 0x77aa…10 block=5 index=0 from=0xf39f… to=0x5FbD… gas=23117 status=reverted
    block 5 hash=0x1f3c… txs=1 gas=23117 base_fee=875000000 time=1718000000
"""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("hyperion.chain")


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def block_lines(block: Any, receipts: list) -> list[str]:
    """The lines of one block: its transactions, then the block itself."""
    from hyperion.primitives.address import to_checksum_address

    lines = []
    for receipt in receipts:
        parts = [f"tx {_hex(receipt.tx_hash)} block={receipt.block_number} index={receipt.tx_index}",
                 f"from={to_checksum_address(receipt.sender)}"]
        if receipt.to:
            parts.append(f"to={to_checksum_address(receipt.to)}")
        parts.append(f"gas={receipt.gas_used} status={'ok' if receipt.status == 1 else 'reverted'}")
        if receipt.contract_address:
            parts.append(f"contract={to_checksum_address(receipt.contract_address)}")
        lines.append(" ".join(parts))
    header = block.header
    lines.append(f"block {header.number} hash={_hex(block.hash)} txs={len(block.transactions)} "
                 f"gas={header.gas_used} base_fee={header.base_fee or 0} time={header.timestamp}")
    return lines


def log_activity(chain: Any, logger: logging.Logger = log) -> Callable[[], None]:
    """Log every block the chain commits from now on; returns the unsubscribe function."""

    def on_block(block: Any, receipts: list) -> None:
        if logger.isEnabledFor(logging.INFO):
            for line in block_lines(block, list(receipts)):
                logger.info("%s", line)

    return chain.on_new_block(on_block)
