"""``Node``: a dev node = state database + ``Chain`` + sequencer.

With a data directory the state lives in MetisDB at ``<data_dir>/state``
and a restart continues the chain from its last committed block; without
one everything is kept in memory. The sequencer is the chain's own: automine
(one block per accepted transaction, mined before ``send_raw_transaction``
returns) or interval mining every ``config.block_time`` seconds on a timer
thread. The transaction pool is not persisted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from hyperion.chain.chain import Chain
from hyperion.chain.errors import ChainError
from hyperion.chain.genesis import ChainConfig


def open_state_database(data_dir: Optional[str | Path]):
    """MetisDB under ``data_dir/state``, or an in-memory database when ``data_dir`` is None."""
    if data_dir is None:
        from hyperion.state.memorydb import MemoryStateDatabase

        return MemoryStateDatabase()
    try:
        from hyperion.state.metisdb import MetisDB
    except ImportError as exc:
        raise ChainError(f"persistent storage (MetisDB) is unavailable: {exc}") from None
    path = Path(data_dir) / "state"
    path.mkdir(parents=True, exist_ok=True)
    # Group commit: no fsync per block; Chain.flush() syncs before the RPC
    # server reports blocks (a killed process loses nothing either way).
    return MetisDB(str(path), sync=False)


class Node:
    """Owns the state database and the chain; ``close()`` stops mining and closes the database."""

    def __init__(self, config: Optional[ChainConfig] = None, data_dir: Optional[str | Path] = None):
        self.config = config or ChainConfig()
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.db = open_state_database(self.data_dir)
        try:
            self.chain = Chain(self.config, self.db)
        except BaseException:
            self.db.close()
            raise

    def close(self, timeout: Optional[float] = None) -> bool:
        """Close the chain (see ``Chain.close``); False if a block being built held it past ``timeout``."""
        return self.chain.close(timeout)

    def __enter__(self) -> "Node":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
