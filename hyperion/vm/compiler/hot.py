"""Hot codes across restarts: a node saves the codes of its most recently used compiled programs at
shutdown and compiles them again at start (``hyperion node`` with a data dir: ``vm-hot-codes.json``)."""

from __future__ import annotations

import json
import os
from typing import Iterable

from hyperion.vm.analysis import new_code_entry
from hyperion.vm.compiler.tiering import TIERS
from hyperion.vm.frame import fork_tables

HOT_CODES_LIMIT = 256  # codes a node saves at shutdown


def warm(fork, codes: Iterable[bytes]) -> int:
    """Compile ``codes`` for ``fork`` now, every trace, as if they were hot; returns how many."""
    _, table, cache, _ = fork_tables(fork)
    warmed = 0
    for code in codes:
        if not code:
            continue
        entry = cache.get(code) or new_code_entry(cache, table, code)
        program = entry.program or TIERS.compile(entry)
        program.compile_all()
        warmed += 1
    return warmed


def save_hot_codes(path, limit: int = HOT_CODES_LIMIT) -> int:
    """Write the most recently used compiled codes to ``path`` (JSON); returns how many."""
    codes = TIERS.recent_codes(limit)
    temporary = f"{path}.tmp"
    with open(temporary, "w") as out:
        json.dump({"codes": ["0x" + code.hex() for code in codes]}, out)
    os.replace(temporary, path)
    return len(codes)


def warm_from_file(path, fork) -> int:
    """Compile the codes saved at ``path`` for ``fork``; a missing file warms nothing.
    A malformed file raises ValueError (the node reports it and starts cold)."""
    try:
        with open(path) as source:
            saved = json.load(source)
        codes = [bytes.fromhex(text.removeprefix("0x")) for text in saved["codes"]]
    except FileNotFoundError:
        return 0
    except (OSError, KeyError, TypeError, AttributeError, ValueError) as error:
        raise ValueError(f"unreadable hot-code file {path}: {error}") from None
    if TIERS.threshold is None or not TIERS.enabled:
        return 0
    return warm(fork, codes[:HOT_CODES_LIMIT])
