"""Precompiled contracts, selected per fork.

``precompiles_for(fork)`` maps each 20-byte address to a ``Precompile``
(``gas(data)``, then ``run(data)``). Frontier has 0x01-0x04; Byzantium adds
MODEXP (0x05) and the bn254 contracts (0x06-0x08, repriced by Istanbul's
EIP-1108); Istanbul adds BLAKE2F (0x09); ``has_blobs`` adds 0x0a (KZG point
evaluation); ``has_bls_precompiles`` adds the seven EIP-2537 contracts at
their final Prague addresses 0x0b-0x11; Osaka adds P256VERIFY at 0x100.
MODEXP's price follows the fork's ``modexp_rule``. A fork variant
may add node-bound precompiles through ``fork.extra["precompiles"]``
(address -> Precompile), e.g. the AI inference precompile
(``inference.fork_with_inference``); mainnet forks carry none.
"""

from __future__ import annotations

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
    p256verify,
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


_FRONTIER = (
    (0x01, "ECRECOVER", ecrecover),
    (0x02, "SHA256", sha256),
    (0x03, "RIPEMD160", ripemd160),
    (0x04, "IDENTITY", identity),
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
_P256 = ((0x100, "P256VERIFY", p256verify),)


def _flat(cost: int):
    def gas(data: bytes) -> int:
        return cost

    return gas


def _bn254_pairing_gas(base: int, per_pair: int):
    def gas(data: bytes) -> int:
        return base + per_pair * (len(data) // bn254_pairing.PAIR_SIZE)

    return gas


_TABLES: dict = {}


def _table(fork: Fork) -> dict[bytes, Precompile]:
    key = (
        fork.has_modexp, fork.modexp_rule, fork.has_bn254, fork.bn254_add_gas, fork.bn254_mul_gas,
        fork.bn254_pairing_base_gas, fork.bn254_pairing_pair_gas, fork.has_blake2f, fork.has_blobs,
        fork.has_bls_precompiles, fork.has_p256verify,
    )
    table = _TABLES.get(key)
    if table is not None:
        return table
    specs = list(_FRONTIER)
    table = dict(_entry(number, name, module) for number, name, module in specs)
    if fork.has_modexp:
        table[precompile_address(0x05)] = Precompile("MODEXP", modexp.GAS_RULES[fork.modexp_rule], modexp.run)
    if fork.has_bn254:
        table[precompile_address(0x06)] = Precompile("BN254_ADD", _flat(fork.bn254_add_gas), bn254_add.run)
        table[precompile_address(0x07)] = Precompile("BN254_MUL", _flat(fork.bn254_mul_gas), bn254_mul.run)
        table[precompile_address(0x08)] = Precompile(
            "BN254_PAIRING",
            _bn254_pairing_gas(fork.bn254_pairing_base_gas, fork.bn254_pairing_pair_gas),
            bn254_pairing.run,
        )
    extra_specs = []
    if fork.has_blake2f:
        extra_specs.append((0x09, "BLAKE2F", blake2f))
    if fork.has_blobs:
        extra_specs += _BLOBS
    if fork.has_bls_precompiles:
        extra_specs += _BLS
    if fork.has_p256verify:
        extra_specs += _P256
    table.update(_entry(number, name, module) for number, name, module in extra_specs)
    _TABLES[key] = table
    return table


def precompiles_for(fork: Fork) -> dict[bytes, Precompile]:
    """Address -> precompile for ``fork`` (a fresh dict the caller may keep)."""
    table = dict(_table(fork))
    extra = fork.extra.get("precompiles") if fork.extra else None
    if extra:
        table.update(extra)
    return table
