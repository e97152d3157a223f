"""Event logs and the logs hash used by state tests."""

from __future__ import annotations

from typing import NamedTuple

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256


class Log(NamedTuple):
    """A LOGn record: emitting contract, 0-4 topics (32 bytes each), data."""

    address: bytes
    topics: tuple
    data: bytes

    def to_rlp(self) -> list:
        return [self.address, list(self.topics), self.data]


def logs_hash(logs) -> bytes:
    """keccak(rlp(logs)): the ``logs`` field of state-test posts."""
    return keccak256(rlp.encode([log.to_rlp() for log in logs]))
