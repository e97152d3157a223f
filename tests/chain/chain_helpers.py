"""Transaction and contract helpers shared by the chain tests."""

from __future__ import annotations

from hyperion.chain.genesis import ChainConfig
from hyperion.primitives.transactions import FeeMarketTransaction, LegacyTransaction

GWEI = 10**9
CHAIN_ID = 133717


def make_config(**overrides) -> ChainConfig:
    config = ChainConfig(genesis_timestamp=1_700_000_000)
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


def transfer(key: bytes, nonce: int, to: bytes, value: int = 1, *, tip: int = GWEI, fee_cap: int = 10 * GWEI,
             gas: int = 21000, data: bytes = b"", chain_id: int = CHAIN_ID):
    return FeeMarketTransaction(chain_id, nonce, tip, fee_cap, gas, to, value, data).signed(key)


def legacy(key: bytes, nonce: int, to, value: int = 0, *, gas_price: int = 2 * GWEI, gas: int = 21000,
           data: bytes = b"", chain_id: int | None = CHAIN_ID):
    return LegacyTransaction(nonce, gas_price, gas, to, value, data).signed(key, chain_id)


def deploy_code(runtime: bytes) -> bytes:
    """Init code that returns ``runtime`` as the contract's code."""
    assert len(runtime) < 256
    prefix = bytes([0x60, len(runtime), 0x80, 0x60, 0x0C, 0x60, 0x00, 0x39, 0x60, 0x00, 0xF3, 0x00])
    return prefix + runtime
