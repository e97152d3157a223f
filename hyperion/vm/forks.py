"""Forks as data.

A ``Fork`` is a frozen record of what a hard fork changes: which opcodes
and transaction types exist, the gas schedule, the refund rules, which
precompiles are active, the blob parameters, and the block-level constants
(block reward, difficulty bomb delay, block size) that block import reads.
Each fork is written as the previous one plus the EIPs it activates
(``_evolve``), in mainnet order from Frontier to Osaka and the blob-
parameter-only forks BPO1..BPO5.

Nothing in the interpreter's hot path asks "which fork is this?": the
instruction table (``opcodes.table_for``) and the precompile map
(``precompiles.precompiles_for``) are built once per fork from these
fields, with the fork's constants bound into the handlers that differ.

Which fork rules a block (a chain's schedule of fork blocks and times) is
the chain layer's business (``hyperion.chain.schedule``); a chain's blob
schedule reaches the forks through ``Fork.with_blob_schedule`` or
``apply_blob_schedule``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


class UnknownFork(ValueError):
    """Raised for a fork name MetisVM does not implement."""


GAS_PER_BLOB = 2**17
ETHER = 10**18

# Opcode / precompile gas rule names (``Fork.sstore_rule`` etc.); the
# handlers for each are built when a fork's table is built.
SSTORE_FRONTIER = "frontier"  # 20000 set / 5000 otherwise, 15000 refund on clear
SSTORE_EIP1283 = "eip1283"  # Constantinople's net gas metering (removed by Petersburg)
SSTORE_EIP2200 = "eip2200"  # Istanbul: net gas metering with the 2300 sentry
SSTORE_EIP2929 = "eip2929"  # Berlin: EIP-2200 with cold/warm slot access
MODEXP_EIP198 = "eip198"
MODEXP_EIP2565 = "eip2565"
MODEXP_EIP7883 = "eip7883"  # with EIP-7823's 1024-byte input bounds
DIFFICULTY_FRONTIER = "frontier"
DIFFICULTY_HOMESTEAD = "homestead"  # EIP-2
DIFFICULTY_BYZANTIUM = "byzantium"  # EIP-100 (uncles count)
DIFFICULTY_NONE = "none"  # proof of stake: difficulty is 0


@dataclass(frozen=True)
class Fork:
    """Everything a hard fork decides, as data. Defaults are Frontier's."""

    name: str
    order: int
    # -- Homestead
    has_delegatecall: bool = False  # EIP-7
    has_homestead_rules: bool = False  # EIP-2: creation tx gas, low-s signatures, failed code deposit fails
    # -- Tangerine Whistle
    has_call_gas_cap: bool = False  # EIP-150: a call gets at most all but one 64th of the gas left
    # -- Spurious Dragon
    has_replay_protection: bool = False  # EIP-155 chain id in legacy signatures
    has_empty_account_cleanup: bool = False  # EIP-161: touched empty accounts are deleted, contracts start at nonce 1
    max_code_size: int = 0  # EIP-170 (0: unlimited)
    # -- Byzantium
    has_revert: bool = False  # EIP-140
    has_return_data: bool = False  # EIP-211
    has_static_call: bool = False  # EIP-214
    has_status_receipts: bool = False  # EIP-658 (receipts carry a status, not a state root)
    has_modexp: bool = False  # EIP-198 precompile 0x05
    has_bn254: bool = False  # EIP-196 / EIP-197 precompiles 0x06..0x08
    # -- Constantinople / Petersburg
    has_shifts: bool = False  # EIP-145
    has_create2: bool = False  # EIP-1014
    has_extcodehash: bool = False  # EIP-1052
    # -- Istanbul
    has_chain_id_opcode: bool = False  # EIP-1344
    has_selfbalance: bool = False  # EIP-1884
    has_blake2f: bool = False  # EIP-152 precompile 0x09
    # -- Berlin
    has_access_lists: bool = False  # EIP-2929 cold/warm access, EIP-2930 type-1 transactions
    # -- London
    has_base_fee: bool = False  # EIP-1559 (type-2 transactions, base fee burnt), EIP-3198 BASEFEE
    rejects_ef_code: bool = False  # EIP-3541
    # -- Paris
    has_prevrandao: bool = False  # EIP-4399 (0x44 reads prevRandao, not difficulty)
    is_proof_of_stake: bool = False  # EIP-3675: no proof of work, no uncles, no block reward
    # -- Shanghai
    has_push0: bool = False  # EIP-3855
    has_initcode_limit: bool = False  # EIP-3860
    has_warm_coinbase: bool = False  # EIP-3651
    has_withdrawals: bool = False  # EIP-4895
    # -- Cancun
    has_transient_storage: bool = False  # EIP-1153
    has_mcopy: bool = False  # EIP-5656
    has_blobs: bool = False  # EIP-4844 (type-3 txs, BLOBHASH, point evaluation)
    has_blob_base_fee_opcode: bool = False  # EIP-7516
    has_selfdestruct_same_tx_only: bool = False  # EIP-6780
    has_beacon_root: bool = False  # EIP-4788
    # -- Prague
    has_set_code: bool = False  # EIP-7702
    has_calldata_floor: bool = False  # EIP-7623
    has_bls_precompiles: bool = False  # EIP-2537
    has_history_storage: bool = False  # EIP-2935
    has_requests: bool = False  # EIP-7685 (EIP-6110, 7002, 7251)
    # -- Osaka
    has_clz: bool = False  # EIP-7939
    has_p256verify: bool = False  # EIP-7951
    tx_gas_limit_cap: int = 0  # EIP-7825 (0: no cap)
    rejects_code_senders: bool = True  # EIP-3607 (every fork); off for calls and simulations, as in geth
    max_blobs_per_tx: int = 0  # EIP-7594 (0: only the block limit applies)
    blob_base_cost: int = 0  # EIP-7918: blob base fee bounded by execution cost (0: off)
    max_block_rlp_size: int = 0  # EIP-7934 (0: unlimited)
    # -- gas schedule
    gas_sload: int = 50  # SLOAD before EIP-2929 (then cold/warm)
    gas_balance: int = 20  # BALANCE before EIP-2929
    gas_extcode: int = 20  # EXTCODESIZE / EXTCODECOPY before EIP-2929
    gas_extcodehash: int = 400  # EXTCODEHASH before EIP-2929
    gas_call: int = 40  # CALL* before EIP-2929
    gas_selfdestruct: int = 0  # static part of SELFDESTRUCT (EIP-150: 5000)
    gas_exp_byte: int = 10  # EIP-160: 50
    sstore_rule: str = SSTORE_FRONTIER
    sstore_clears_refund: int = 15000  # EIP-3529: 4800
    selfdestruct_refund: int = 24000  # EIP-3529: 0
    max_refund_quotient: int = 2  # EIP-3529: 5
    tx_data_nonzero_gas: int = 68  # EIP-2028: 16
    tx_create_gas: int = 0  # EIP-2: 32000
    modexp_rule: str = MODEXP_EIP198
    bn254_add_gas: int = 500  # EIP-1108 lowers the bn254 prices
    bn254_mul_gas: int = 40000
    bn254_pairing_base_gas: int = 100000
    bn254_pairing_pair_gas: int = 80000
    # -- block level (read by block import, not by the VM)
    block_reward: int = 5 * ETHER
    difficulty_formula: str = DIFFICULTY_FRONTIER
    difficulty_bomb_delay: int = 0  # blocks the ice age is pushed back by
    # -- blob parameters (EIP-4844 / EIP-7691 / BPO forks); a chain config may override them
    target_blob_gas_per_block: int = 0
    max_blob_gas_per_block: int = 0
    blob_base_fee_update_fraction: int = 1
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __ge__(self, other: "Fork") -> bool:
        return self.order >= other.order

    def __gt__(self, other: "Fork") -> bool:
        return self.order > other.order

    def __le__(self, other: "Fork") -> bool:
        return self.order <= other.order

    def __lt__(self, other: "Fork") -> bool:
        return self.order < other.order

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Fork({self.name})"

    @property
    def cache_key(self):
        """Key for per-fork caches (instruction tables, precompile maps): equal forks share
        them, but a variant whose ``extra`` (extra precompiles, handler wrappers) differs
        does not, even under the same name (equality ignores ``extra``)."""
        return (self, id(self.extra)) if self.extra else self

    # -- blob schedule --------------------------------------------------------
    @property
    def target_blobs_per_block(self) -> int:
        return self.target_blob_gas_per_block // GAS_PER_BLOB

    @property
    def max_blobs_per_block(self) -> int:
        return self.max_blob_gas_per_block // GAS_PER_BLOB

    def with_blob_schedule(self, target: int, max: int, base_fee_update_fraction: int) -> "Fork":
        """This fork with another blob schedule (geth's ``config.blobSchedule``
        entry: blob counts per block and the base fee update fraction)."""
        if not self.has_blobs:
            raise ValueError(f"{self.name} has no blobs; a blob schedule does not apply")
        for label, value in (("target", target), ("max", max), ("baseFeeUpdateFraction", base_fee_update_fraction)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"blob schedule of {self.name}: {label} must be a non-negative integer, got {value!r}")
        if base_fee_update_fraction == 0:
            raise ValueError(f"blob schedule of {self.name}: baseFeeUpdateFraction must not be 0")
        if target > max:
            raise ValueError(f"blob schedule of {self.name}: target {target} above max {max}")
        return dataclasses.replace(
            self,
            target_blob_gas_per_block=target * GAS_PER_BLOB,
            max_blob_gas_per_block=max * GAS_PER_BLOB,
            blob_base_fee_update_fraction=base_fee_update_fraction,
        )

    @property
    def blob_count_limit_per_tx(self) -> int:
        """Most blobs one transaction may carry (EIP-7594 cap, else the block's max)."""
        block_max = self.max_blobs_per_block
        return min(self.max_blobs_per_tx, block_max) if self.max_blobs_per_tx else block_max

    def blob_base_fee(self, excess_blob_gas: int) -> int:
        """Price of one unit of blob gas at ``excess_blob_gas`` (EIP-4844)."""
        from hyperion.vm.gas import blob_base_fee

        return blob_base_fee(excess_blob_gas, self.blob_base_fee_update_fraction)

    def excess_blob_gas(self, parent_excess_blob_gas: int, parent_blob_gas_used: int, parent_base_fee: int) -> int:
        """A header's ``excessBlobGas`` from its parent's fields, under this fork's schedule
        (EIP-4844, with EIP-7918's reserve price from Osaka on)."""
        target = self.target_blob_gas_per_block
        total = parent_excess_blob_gas + parent_blob_gas_used
        if total < target:
            return 0
        if self.blob_base_cost and self.blob_base_cost * parent_base_fee > GAS_PER_BLOB * self.blob_base_fee(
            parent_excess_blob_gas
        ):
            # execution dominates the blob cost: excess grows by the
            # blob gas used times (max - target) / max, never shrinks
            maximum = self.max_blob_gas_per_block
            return parent_excess_blob_gas + parent_blob_gas_used * (maximum - target) // maximum
        return total - target


def _evolve(previous: Fork, name: str, **changes: Any) -> Fork:
    """The next fork: ``previous`` plus ``changes`` (no extras carried over)."""
    return dataclasses.replace(previous, name=name, order=previous.order + 1, extra={}, **changes)


FRONTIER = Fork(name="Frontier", order=0)

HOMESTEAD = _evolve(
    FRONTIER, "Homestead",
    has_delegatecall=True,
    has_homestead_rules=True,
    tx_create_gas=32000,
    difficulty_formula=DIFFICULTY_HOMESTEAD,
)

TANGERINE_WHISTLE = _evolve(
    HOMESTEAD, "TangerineWhistle",  # EIP-150
    has_call_gas_cap=True,
    gas_sload=200,
    gas_balance=400,
    gas_extcode=700,
    gas_call=700,
    gas_selfdestruct=5000,
)

SPURIOUS_DRAGON = _evolve(
    TANGERINE_WHISTLE, "SpuriousDragon",  # EIP-155, 160, 161, 170
    has_replay_protection=True,
    has_empty_account_cleanup=True,
    max_code_size=0x6000,
    gas_exp_byte=50,
)

BYZANTIUM = _evolve(
    SPURIOUS_DRAGON, "Byzantium",  # EIP-100, 140, 196, 197, 198, 211, 214, 649, 658
    has_revert=True,
    has_return_data=True,
    has_static_call=True,
    has_status_receipts=True,
    has_modexp=True,
    has_bn254=True,
    block_reward=3 * ETHER,
    difficulty_formula=DIFFICULTY_BYZANTIUM,
    difficulty_bomb_delay=3_000_000,
)

CONSTANTINOPLE = _evolve(
    BYZANTIUM, "Constantinople",  # EIP-145, 1014, 1052, 1234, 1283
    has_shifts=True,
    has_create2=True,
    has_extcodehash=True,
    sstore_rule=SSTORE_EIP1283,
    block_reward=2 * ETHER,
    difficulty_bomb_delay=5_000_000,
)

PETERSBURG = _evolve(CONSTANTINOPLE, "Petersburg", sstore_rule=SSTORE_FRONTIER)  # EIP-1716 drops EIP-1283

ISTANBUL = _evolve(
    PETERSBURG, "Istanbul",  # EIP-152, 1108, 1344, 1884, 2028, 2200
    has_chain_id_opcode=True,
    has_selfbalance=True,
    has_blake2f=True,
    gas_sload=800,
    gas_balance=700,
    gas_extcodehash=700,
    sstore_rule=SSTORE_EIP2200,
    tx_data_nonzero_gas=16,
    bn254_add_gas=150,
    bn254_mul_gas=6000,
    bn254_pairing_base_gas=45000,
    bn254_pairing_pair_gas=34000,
)

MUIR_GLACIER = _evolve(ISTANBUL, "MuirGlacier", difficulty_bomb_delay=9_000_000)  # EIP-2384

BERLIN = _evolve(
    MUIR_GLACIER, "Berlin",  # EIP-2565, 2718, 2929, 2930
    has_access_lists=True,
    sstore_rule=SSTORE_EIP2929,
    modexp_rule=MODEXP_EIP2565,
)

LONDON = _evolve(
    BERLIN, "London",  # EIP-1559, 3198, 3529, 3541, 3554
    has_base_fee=True,
    rejects_ef_code=True,
    sstore_clears_refund=4800,
    selfdestruct_refund=0,
    max_refund_quotient=5,
    difficulty_bomb_delay=9_700_000,
)

ARROW_GLACIER = _evolve(LONDON, "ArrowGlacier", difficulty_bomb_delay=10_700_000)  # EIP-4345

GRAY_GLACIER = _evolve(ARROW_GLACIER, "GrayGlacier", difficulty_bomb_delay=11_400_000)  # EIP-5133

PARIS = _evolve(
    GRAY_GLACIER, "Paris",  # EIP-3675, 4399
    has_prevrandao=True,
    is_proof_of_stake=True,
    block_reward=0,
    difficulty_formula=DIFFICULTY_NONE,
)

SHANGHAI = _evolve(
    PARIS, "Shanghai",  # EIP-3651, 3855, 3860, 4895
    has_push0=True,
    has_initcode_limit=True,
    has_warm_coinbase=True,
    has_withdrawals=True,
)

CANCUN = _evolve(
    SHANGHAI, "Cancun",  # EIP-1153, 4788, 4844, 5656, 6780, 7516
    has_transient_storage=True,
    has_mcopy=True,
    has_blobs=True,
    has_blob_base_fee_opcode=True,
    has_selfdestruct_same_tx_only=True,
    has_beacon_root=True,
    target_blob_gas_per_block=3 * GAS_PER_BLOB,
    max_blob_gas_per_block=6 * GAS_PER_BLOB,
    blob_base_fee_update_fraction=3338477,
)

PRAGUE = _evolve(
    CANCUN, "Prague",  # EIP-2537, 2935, 6110, 7002, 7251, 7623, 7685, 7691, 7702
    has_set_code=True,
    has_calldata_floor=True,
    has_bls_precompiles=True,
    has_history_storage=True,
    has_requests=True,
    target_blob_gas_per_block=6 * GAS_PER_BLOB,
    max_blob_gas_per_block=9 * GAS_PER_BLOB,
    blob_base_fee_update_fraction=5007716,
)

OSAKA = _evolve(
    PRAGUE, "Osaka",  # EIP-7594, 7823, 7825, 7883, 7918, 7934, 7939, 7951
    has_clz=True,
    has_p256verify=True,
    modexp_rule=MODEXP_EIP7883,
    tx_gas_limit_cap=2**24,
    max_blobs_per_tx=6,
    blob_base_cost=2**13,
    max_block_rlp_size=10 * 2**20 - 2 * 2**20,  # MAX_BLOCK_SIZE - SAFETY_MARGIN
)

# Blob-parameter-only forks (EIP-7892). BPO1 and BPO2 carry mainnet's
# schedule; BPO3 and BPO4 the values execution-spec-tests fills them with
# (mainnet has not scheduled them; a chain's blobSchedule overrides these);
# BPO5 keeps BPO4's until configured.
BPO1 = _evolve(OSAKA, "BPO1").with_blob_schedule(10, 15, 8346193)
BPO2 = _evolve(BPO1, "BPO2").with_blob_schedule(14, 21, 11684671)
BPO3 = _evolve(BPO2, "BPO3").with_blob_schedule(21, 32, 20609697)
BPO4 = _evolve(BPO3, "BPO4").with_blob_schedule(14, 21, 13739630)
BPO5 = _evolve(BPO4, "BPO5")

FORKS: dict[str, Fork] = {
    fork.name: fork
    for fork in (
        FRONTIER, HOMESTEAD, TANGERINE_WHISTLE, SPURIOUS_DRAGON, BYZANTIUM, CONSTANTINOPLE, PETERSBURG,
        ISTANBUL, MUIR_GLACIER, BERLIN, LONDON, ARROW_GLACIER, GRAY_GLACIER, PARIS, SHANGHAI, CANCUN,
        PRAGUE, OSAKA, BPO1, BPO2, BPO3, BPO4, BPO5,
    )
}
LATEST = PRAGUE  # the dev chain's default; Osaka is opt-in (see docs/metisvm.md)

# Other names the fixtures and clients use for the same forks.
FORK_ALIASES: dict[str, str] = {
    "EIP150": "TangerineWhistle",
    "EIP158": "SpuriousDragon",
    "ConstantinopleFix": "Petersburg",
    "Merge": "Paris",
    "Bellatrix": "Paris",
    "Shapella": "Shanghai",
    "Dencun": "Cancun",
    "Pectra": "Prague",
    "Fusaka": "Osaka",
}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


_BY_KEY: dict[str, Fork] = {_key(name): fork for name, fork in FORKS.items()}
_BY_KEY.update({_key(alias): FORKS[target] for alias, target in FORK_ALIASES.items()})


def get_fork(name: str) -> Fork:
    """Look a fork up by name or alias, ignoring case, spaces and underscores
    (``Petersburg``, ``ConstantinopleFix``, ``tangerine_whistle``, ``EIP150``)."""
    fork = _BY_KEY.get(_key(name))
    if fork is None:
        raise UnknownFork(f"unknown or unsupported fork {name!r} (supported: {', '.join(FORKS)})")
    return fork


def aliases_of(fork: Fork) -> list[str]:
    """The other names ``get_fork`` accepts for ``fork``."""
    return [alias for alias, target in FORK_ALIASES.items() if target == fork.name]


# -- blob schedules from a chain config ---------------------------------------------------


def _blob_entry_int(entry: Mapping[str, Any], key: str, fork_name: str) -> int:
    if key not in entry:
        raise ValueError(f"blobSchedule.{fork_name}: missing {key}")
    value = entry[key]
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            raise ValueError(f"blobSchedule.{fork_name}.{key}: not a number: {value!r}") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"blobSchedule.{fork_name}.{key}: expected an integer, got {value!r}")
    return value


def apply_blob_schedule(forks: Iterable[Fork], blob_schedule: Mapping[str, Any]) -> list[Fork]:
    """``forks`` with the blob parameters of a geth ``config.blobSchedule``
    (``{"cancun": {"target": 3, "max": 6, "baseFeeUpdateFraction": 3338477}, ...}``,
    fork names in any case, numbers as ints or hex strings). A fork the
    schedule does not name keeps its own parameters."""
    if not isinstance(blob_schedule, Mapping):
        raise ValueError("blobSchedule must be an object")
    entries: dict[str, tuple[int, int, int]] = {}
    for name, entry in blob_schedule.items():
        try:
            fork = get_fork(name)
        except UnknownFork:
            raise ValueError(f"blobSchedule names an unknown fork {name!r}") from None
        if not isinstance(entry, Mapping):
            raise ValueError(f"blobSchedule.{name} must be an object")
        entries[fork.name] = (
            _blob_entry_int(entry, "target", name),
            _blob_entry_int(entry, "max", name),
            _blob_entry_int(entry, "baseFeeUpdateFraction", name),
        )
    return [fork.with_blob_schedule(*entries[fork.name]) if fork.name in entries else fork for fork in forks]
