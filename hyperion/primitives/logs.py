"""Event logs and the logs hash used by state tests."""

from __future__ import annotations

from functools import partial
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


# ``new_log((address, topics, data))`` is ``Log(address, topics, data)`` without NamedTuple's
# ``__new__``, a Python function (the VM builds one per LOG instruction; this is a C call)
new_log = partial(tuple.__new__, Log)


def logs_hash(logs) -> bytes:
    """keccak(rlp(logs)): the ``logs`` field of state-test posts."""
    return keccak256(rlp.encode([log.to_rlp() for log in logs]))
