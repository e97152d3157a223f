"""Precompiled contracts, selected per fork.

``precompiles_for(fork)`` maps each 20-byte address to a ``Precompile``
(``gas(data)``, then ``run(data)``). Shanghai has 0x01-0x09; ``has_blobs``
adds 0x0a (KZG point evaluation); ``has_bls_precompiles`` adds the seven
EIP-2537 contracts at their final Prague addresses 0x0b-0x11. A fork variant
may add node-bound precompiles through ``fork.extra["precompiles"]``
(address -> Precompile), e.g. the AI inference precompile
(``inference.fork_with_inference``); mainnet forks carry none.
"""

from __future__ import annotations

from functools import lru_cache

from hyperion.vm.forks import Fork

from . import (
    blake2f,
    bls12_g1add,
    bls12_g1msm,
    bls12_g2add,
    bls12_g2msm,
    bls12_map_fp2_to_g2,
    bls12_map_fp_to_g1,
    bls12_pairing,
    bn254_add,
    bn254_mul,
    bn254_pairing,
    ecrecover,
    identity,
    modexp,
    point_evaluation,
    ripemd160,
    sha256,
)
from .base import Precompile, PrecompileError

__all__ = ["Precompile", "PrecompileError", "precompiles_for", "precompile_address"]


def precompile_address(number: int) -> bytes:
    """The 20-byte address 0x00..0n of precompile number ``n``."""
    return number.to_bytes(20, "big")


def _entry(number: int, name: str, module) -> tuple[bytes, Precompile]:
    return precompile_address(number), Precompile(name, module.gas, module.run)


_BASE = (
    (0x01, "ECRECOVER", ecrecover),
    (0x02, "SHA256", sha256),
    (0x03, "RIPEMD160", ripemd160),
    (0x04, "IDENTITY", identity),
    (0x05, "MODEXP", modexp),
    (0x06, "BN254_ADD", bn254_add),
    (0x07, "BN254_MUL", bn254_mul),
    (0x08, "BN254_PAIRING", bn254_pairing),
    (0x09, "BLAKE2F", blake2f),
)
_BLOBS = ((0x0A, "POINT_EVALUATION", point_evaluation),)
_BLS = (
    (0x0B, "BLS12_G1ADD", bls12_g1add),
    (0x0C, "BLS12_G1MSM", bls12_g1msm),
    (0x0D, "BLS12_G2ADD", bls12_g2add),
    (0x0E, "BLS12_G2MSM", bls12_g2msm),
    (0x0F, "BLS12_PAIRING_CHECK", bls12_pairing),
    (0x10, "BLS12_MAP_FP_TO_G1", bls12_map_fp_to_g1),
    (0x11, "BLS12_MAP_FP2_TO_G2", bls12_map_fp2_to_g2),
)


@lru_cache(maxsize=None)
def _table(has_blobs: bool, has_bls: bool) -> dict[bytes, Precompile]:
    specs = list(_BASE)
    if has_blobs:
        specs += _BLOBS
    if has_bls:
        specs += _BLS
    return dict(_entry(number, name, module) for number, name, module in specs)


def precompiles_for(fork: Fork) -> dict[bytes, Precompile]:
    """Address -> precompile for ``fork`` (a fresh dict the caller may keep)."""
    table = dict(_table(fork.has_blobs, fork.has_bls_precompiles))
    extra = fork.extra.get("precompiles") if fork.extra else None
    if extra:
        table.update(extra)
    return table
