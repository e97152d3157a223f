"""The shape every precompiled contract has.

A precompile is a pair of pure functions: ``gas(data) -> int`` is evaluated
first (so that an expensive input is refused before any work), then
``run(data) -> bytes``. Invalid input raises ``PrecompileError``; like running
out of gas, that makes the call fail and consume all gas passed to it.

A node-bound precompile whose result depends on chain data (the AI inference
precompiles read models from the state) sets ``needs_state``: it then gets
the state of the executing frame as a second argument, ``gas(data, state)``
and ``run(data, state)``, and must only read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


class PrecompileError(Exception):
    """Invalid precompile input: the call fails and consumes all its gas."""


@dataclass(frozen=True, slots=True)
class Precompile:
    name: str
    gas: Callable[..., int]
    run: Callable[..., bytes]
    needs_state: bool = False
