"""Fork schedules: which rules a block at ``(number, timestamp)`` runs under.

A ``ForkSchedule`` lists the forks of one chain in their canonical order
with the block number or timestamp each one activates at, the merge's
terminal total difficulty, and the blob parameters (EIP-4844 / EIP-7691 /
EIP-7892 "blob-parameter-only" forks) of every blob fork. It answers two
kinds of question:

- ``fork_at(number, timestamp, merged)``: MetisVM's ``Fork`` for a block,
  with this chain's blob parameters applied. The ``Fork`` carries the
  per-fork data of both the EVM and the block rules (``chain.consensus``);
- ``is_active(name, number, timestamp)``: whether a named fork is active.

Schedules come from a geth genesis ``config`` (``homesteadBlock`` ...
``grayGlacierBlock``, ``terminalTotalDifficulty``, ``shanghaiTime`` ...
``bpo5Time``, ``blobSchedule``) or from a test-fixture network name
(``Cancun``, ``PragueToOsakaAtTime15k``, ``BerlinToLondonAt5``,
``ArrowGlacierToParisAtDiffC0000``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

from hyperion.vm.forks import GAS_PER_BLOB, Fork, UnknownFork, get_fork

# Canonical fork names in activation order, with the geth genesis key that schedules each one.
FORK_ORDER: tuple[tuple[str, Optional[str]], ...] = (
    ("Frontier", None),
    ("Homestead", "homesteadBlock"),
    ("DAOFork", "daoForkBlock"),
    ("TangerineWhistle", "eip150Block"),
    ("SpuriousDragon", "eip158Block"),
    ("Byzantium", "byzantiumBlock"),
    ("Constantinople", "constantinopleBlock"),
    ("Petersburg", "petersburgBlock"),
    ("Istanbul", "istanbulBlock"),
    ("MuirGlacier", "muirGlacierBlock"),
    ("Berlin", "berlinBlock"),
    ("London", "londonBlock"),
    ("ArrowGlacier", "arrowGlacierBlock"),
    ("GrayGlacier", "grayGlacierBlock"),
    ("Paris", "mergeNetsplitBlock"),
    ("Shanghai", "shanghaiTime"),
    ("Cancun", "cancunTime"),
    ("Prague", "pragueTime"),
    ("Osaka", "osakaTime"),
    ("BPO1", "bpo1Time"),
    ("BPO2", "bpo2Time"),
    ("BPO3", "bpo3Time"),
    ("BPO4", "bpo4Time"),
    ("BPO5", "bpo5Time"),
)
FORK_NAMES: tuple[str, ...] = tuple(name for name, _ in FORK_ORDER)
_INDEX = {name: i for i, name in enumerate(FORK_NAMES)}
_FIRST_TIMED = _INDEX["Shanghai"]
PARIS = "Paris"

# Other spellings of the canonical names (fixture networks, geth, the execution specs).
ALIASES = {
    "eip150": "TangerineWhistle", "tangerine": "TangerineWhistle", "tangerinewhistle": "TangerineWhistle",
    "eip158": "SpuriousDragon", "spurious": "SpuriousDragon", "spuriousdragon": "SpuriousDragon",
    "constantinoplefix": "Petersburg", "petersburg": "Petersburg",
    "dao": "DAOFork", "daofork": "DAOFork",
    "merge": "Paris", "paris": "Paris",
    "muirglacier": "MuirGlacier", "arrowglacier": "ArrowGlacier", "grayglacier": "GrayGlacier",
}


class UnsupportedFork(ValueError):
    """A schedule or network names a fork this build cannot execute, or is malformed."""


@dataclass(frozen=True)
class BlobParams:
    """One fork's blob schedule entry (counts of blobs per block, EIP-7840)."""

    target: int
    max: int
    update_fraction: int

    @property
    def target_gas(self) -> int:
        return self.target * GAS_PER_BLOB

    @property
    def max_gas(self) -> int:
        return self.max * GAS_PER_BLOB


def canonical_fork_name(name: str) -> str:
    """The canonical spelling of a fork name (``EIP158`` -> ``SpuriousDragon``); UnsupportedFork if unknown."""
    text = str(name).strip()
    lowered = text.lower()
    if lowered in ALIASES:
        return ALIASES[lowered]
    for canonical in FORK_NAMES:
        if canonical.lower() == lowered:
            return canonical
    raise UnsupportedFork(f"unknown fork {name!r}")


@dataclass(frozen=True)
class Activation:
    """When a fork starts: at a block number, at a timestamp, or (``block == 0``) from genesis."""

    name: str
    block: Optional[int] = None
    time: Optional[int] = None

    def active(self, number: int, timestamp: int) -> bool:
        if self.block is not None:
            return number >= self.block
        return self.time is not None and timestamp >= self.time


class ForkSchedule:
    """The forks of one chain and when each activates (see the module docstring).

    ``activations`` holds the scheduled forks (any order; unscheduled forks
    are never active). ``terminal_total_difficulty`` is the merge's TTD:
    a block whose parent's total difficulty reached it is a proof-of-stake
    block and runs at least Paris rules. ``evm_overrides`` maps a canonical
    name to the ``Fork`` object to use for it (the dev chain's own Prague
    variant, for instance).
    """

    def __init__(self, activations: Iterable[Activation], *,
                 terminal_total_difficulty: Optional[int] = None,
                 blob_schedule: Optional[Mapping[str, BlobParams]] = None,
                 dao_fork_support: bool = True,
                 evm_overrides: Optional[Mapping[str, Fork]] = None,
                 variant: Optional[Callable[[Fork], Fork]] = None) -> None:
        by_name = {}
        for activation in activations:
            by_name[canonical_fork_name(activation.name)] = activation
        if "Frontier" not in by_name:
            by_name["Frontier"] = Activation("Frontier", block=0)
        self.activations: tuple[Activation, ...] = tuple(
            dataclasses.replace(by_name[name], name=name) for name in FORK_NAMES if name in by_name)
        self.terminal_total_difficulty = terminal_total_difficulty
        # this chain's blob parameters where they differ from the forks' own (mainnet's, EEST's for BPO3+)
        self.blob_schedule: dict[str, BlobParams] = {
            canonical_fork_name(name): params for name, params in (blob_schedule or {}).items()}
        self.dao_fork_support = dao_fork_support
        self._overrides = {canonical_fork_name(k): v for k, v in (evm_overrides or {}).items()}
        # a chain's own addition to every fork's rules (the rollup's deposit transactions, AI precompiles)
        self.variant = variant
        self._evm_forks: dict[str, Fork] = {}
        self._by_name = {a.name: a for a in self.activations}

    # -- construction -----------------------------------------------------------
    @classmethod
    def single(cls, fork: Fork | str, **kwargs: Any) -> "ForkSchedule":
        """Every fork up to ``fork`` active from genesis (a ``Fork`` object is used as that fork's VM rules)."""
        if isinstance(fork, Fork):
            name = canonical_fork_name(fork.name.split("+", 1)[0])
            overrides = dict(kwargs.pop("evm_overrides", None) or {})
            overrides.setdefault(name, fork)
            kwargs["evm_overrides"] = overrides
        else:
            name = canonical_fork_name(fork)
        last = _INDEX[name]
        activations = [Activation(n, block=0) for n in FORK_NAMES[: last + 1] if n != "DAOFork"]
        if last >= _INDEX[PARIS]:
            kwargs.setdefault("terminal_total_difficulty", 0)
        return cls(activations, **kwargs)

    @classmethod
    def from_network(cls, network: str, blob_schedule: Optional[Mapping[str, BlobParams]] = None) -> "ForkSchedule":
        """A fixture network: ``Prague``, ``CancunToPragueAtTime15k``, ``BerlinToLondonAt5``,
        ``ArrowGlacierToParisAtDiffC0000`` (a merge at that total difficulty, hex)."""
        text = str(network).strip()
        match = re.fullmatch(r"(\w+?)To(\w+?)At(Time|Diff)?([0-9A-Fa-f]+)(k?)", text)
        if match is None:
            return cls.single(text, blob_schedule=blob_schedule)
        before, after, kind, amount, thousands = match.groups()
        if kind == "Diff":
            value = int(amount, 16)
        else:
            try:
                value = int(amount, 10)
            except ValueError:
                raise UnsupportedFork(f"malformed transition network {network!r}") from None
        if thousands:
            value *= 1000
        before_name, after_name = canonical_fork_name(before), canonical_fork_name(after)
        if _INDEX[after_name] <= _INDEX[before_name]:
            raise UnsupportedFork(f"network {network!r}: {after_name} does not come after {before_name}")
        activations = [Activation(n, block=0) for n in FORK_NAMES[: _INDEX[before_name] + 1] if n != "DAOFork"]
        ttd = 0 if _INDEX[before_name] >= _INDEX[PARIS] else None
        if kind == "Diff":
            if after_name != PARIS:
                raise UnsupportedFork(f"network {network!r}: only the merge activates by total difficulty")
            ttd = value
        else:
            skipped = FORK_NAMES[_INDEX[before_name] + 1: _INDEX[after_name] + 1]
            for name in skipped:
                if name == "DAOFork" and after_name != "DAOFork":
                    continue
                timed = _INDEX[name] >= _FIRST_TIMED
                if timed != (kind == "Time"):
                    raise UnsupportedFork(f"network {network!r}: {name} activates by "
                                          f"{'time' if timed else 'block number'}")
                activations.append(Activation(name, time=value) if timed else Activation(name, block=value))
        return cls(activations, terminal_total_difficulty=ttd, blob_schedule=blob_schedule)

    @classmethod
    def from_genesis_config(cls, config: Mapping[str, Any]) -> "ForkSchedule":
        """The schedule of a geth genesis ``config`` object (unknown keys are ignored)."""
        if not isinstance(config, Mapping):
            raise UnsupportedFork("genesis config must be an object")
        activations = []
        for name, key in FORK_ORDER:
            if key is None or config.get(key) is None:
                continue
            value = _config_int(config[key], key)
            if _INDEX[name] >= _FIRST_TIMED:
                activations.append(Activation(name, time=value))
            else:
                activations.append(Activation(name, block=value))
        if "eip158Block" not in config and config.get("eip155Block") is not None:
            activations.append(Activation("SpuriousDragon", block=_config_int(config["eip155Block"], "eip155Block")))
        if config.get("petersburgBlock") is None and config.get("constantinopleBlock") is not None:
            # geth: without a Petersburg block, Petersburg comes with Constantinople (EIP-1283 never ran)
            activations.append(Activation("Petersburg", block=_config_int(config["constantinopleBlock"],
                                                                          "constantinopleBlock")))
        ttd = config.get("terminalTotalDifficulty")
        ttd = None if ttd is None else _config_int(ttd, "terminalTotalDifficulty")
        blob_schedule = {}
        raw_blobs = config.get("blobSchedule") or {}
        if not isinstance(raw_blobs, Mapping):
            raise UnsupportedFork("config.blobSchedule must be an object")
        for name, entry in raw_blobs.items():
            blob_schedule[name] = parse_blob_params(entry, f"blobSchedule.{name}")
        names = {a.name for a in activations}
        if ttd is None and names & set(FORK_NAMES[_FIRST_TIMED:]):
            ttd = 0  # a chain with timestamp forks is a proof-of-stake chain
        support = config.get("daoForkSupport", True)
        return cls(activations, terminal_total_difficulty=ttd, blob_schedule=blob_schedule,
                   dao_fork_support=bool(support))

    # -- questions ------------------------------------------------------------------
    def activation(self, name: str) -> Optional[Activation]:
        """When the named fork activates (None: never on this chain)."""
        return self._by_name.get(canonical_fork_name(name))

    def is_active(self, name: str, number: int, timestamp: int, merged: bool = False) -> bool:
        """Whether the named fork's rules apply to a block at ``(number, timestamp)``."""
        canonical = canonical_fork_name(name)
        if canonical == PARIS and merged:
            return True
        activation = self._by_name.get(canonical)
        return activation is not None and activation.active(number, timestamp)

    def fork_name_at(self, number: int, timestamp: int, merged: bool = False) -> str:
        """The canonical name of the latest fork active at ``(number, timestamp)``."""
        latest = "Frontier"
        for activation in self.activations:
            if activation.active(number, timestamp):
                latest = activation.name
        if merged and _INDEX[latest] < _INDEX[PARIS]:
            latest = PARIS
        return latest

    def fork_at(self, number: int, timestamp: int, merged: bool = False) -> Fork:
        """MetisVM's ``Fork`` for a block (UnsupportedFork if this build cannot execute it)."""
        return self.evm_fork(self.fork_name_at(number, timestamp, merged))

    def blob_params(self, name: str) -> Optional[BlobParams]:
        """The blob parameters a fork runs with on this chain (None before Cancun)."""
        fork = self.evm_fork(canonical_fork_name(name))
        if not fork.has_blobs:
            return None
        return BlobParams(fork.target_blobs_per_block, fork.max_blobs_per_block, fork.blob_base_fee_update_fraction)

    def with_variant(self, variant: Callable[[Fork], Fork]) -> "ForkSchedule":
        """This schedule with ``variant`` applied to every fork's VM rules (see ``variant``)."""
        copy = ForkSchedule(self.activations, terminal_total_difficulty=self.terminal_total_difficulty,
                            blob_schedule=self.blob_schedule, dao_fork_support=self.dao_fork_support,
                            evm_overrides=self._overrides, variant=variant)
        return copy

    def check_supported(self) -> None:
        """Raise UnsupportedFork unless MetisVM implements every fork this schedule can reach."""
        reachable = {self.fork_name_at(a.block or 0, a.time or 0) for a in self.activations}
        if self.terminal_total_difficulty is not None:
            reachable.add(self.fork_name_at(0, 0, merged=True))
        for name in reachable:
            self.evm_fork(name)

    def latest_fork_name(self) -> str:
        return self.activations[-1].name

    def evm_fork(self, name: str) -> Fork:
        """MetisVM's ``Fork`` for a canonical fork name, with this chain's blob parameters."""
        cached = self._evm_forks.get(name)
        if cached is not None:
            return cached
        fork = self._overrides.get(name) or self._vm_fork(name)
        params = self.blob_schedule.get(name)
        if params is not None and fork.has_blobs and (fork.target_blob_gas_per_block, fork.max_blob_gas_per_block,
                                                      fork.blob_base_fee_update_fraction) != (
                params.target_gas, params.max_gas, params.update_fraction):
            try:
                fork = fork.with_blob_schedule(params.target, params.max, params.update_fraction)
            except ValueError as exc:
                raise UnsupportedFork(str(exc)) from None
        if self.variant is not None:
            fork = self.variant(fork)
        self._evm_forks[name] = fork
        return fork

    @staticmethod
    def _vm_fork(name: str) -> Fork:
        try:
            return get_fork("Homestead" if name == "DAOFork" else name)  # the DAO fork changes no EVM rule
        except UnknownFork:
            raise UnsupportedFork(f"fork {name} is not implemented by MetisVM") from None

    def describe(self) -> list[str]:
        """One line per scheduled fork, for logs and ``hyperion init``."""
        lines = []
        for activation in self.activations:
            when = f"block {activation.block}" if activation.block is not None else f"time {activation.time}"
            lines.append(f"{activation.name} at {when}")
        if self.terminal_total_difficulty is not None and not self.is_active(PARIS, 0, 0):
            lines.append(f"Paris at total difficulty {self.terminal_total_difficulty}")
        return lines

    def __repr__(self) -> str:
        return f"ForkSchedule({'; '.join(self.describe())})"


def genesis_config_for(fork: str) -> dict[str, int]:
    """geth genesis ``config`` keys that activate every fork up to ``fork`` at genesis (the merge included)."""
    last = _INDEX[canonical_fork_name(fork)]
    config: dict[str, int] = {}
    for name, key in FORK_ORDER[1: last + 1]:
        if name in ("DAOFork", PARIS):
            continue
        config[key] = 0
        if name == "SpuriousDragon":
            config["eip155Block"] = 0
    if last >= _INDEX[PARIS]:
        config["terminalTotalDifficulty"] = 0
    return config


def parse_blob_params(entry: Any, what: str) -> BlobParams:
    if not isinstance(entry, Mapping):
        raise UnsupportedFork(f"{what} must be an object with target, max and baseFeeUpdateFraction")
    try:
        return BlobParams(_config_int(entry["target"], f"{what}.target"), _config_int(entry["max"], f"{what}.max"),
                          _config_int(entry["baseFeeUpdateFraction"], f"{what}.baseFeeUpdateFraction"))
    except KeyError as exc:
        raise UnsupportedFork(f"{what}: missing {exc.args[0]}") from None


def _config_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise UnsupportedFork(f"{what}: expected a number, got {value!r}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str):
        try:
            result = int(value, 16) if value.lower().startswith("0x") else int(value, 10)
        except ValueError:
            raise UnsupportedFork(f"{what}: {value!r} is not a number") from None
    else:
        raise UnsupportedFork(f"{what}: expected a number, got {type(value).__name__}")
    if result < 0:
        raise UnsupportedFork(f"{what} must not be negative")
    return result


__all__ = ["ALIASES", "Activation", "BlobParams", "FORK_NAMES", "FORK_ORDER",
           "ForkSchedule", "PARIS", "UnsupportedFork", "canonical_fork_name", "genesis_config_for",
           "parse_blob_params"]
