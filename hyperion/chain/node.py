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
from hyperion.chain.genesis import ChainConfig, Genesis
from hyperion.chain.store import META


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


def genesis_hash_of(genesis: Genesis) -> bytes:
    """The hash of the genesis block a genesis file describes (its state root computed in memory)."""
    from hyperion.chain.genesis import write_alloc
    from hyperion.state.memory import MemoryState

    state = MemoryState()
    write_alloc(state, genesis.alloc)
    return genesis.block(state.state_root()).hash


def stored_genesis(data_dir: str | Path) -> Optional[Genesis]:
    """The genesis file a data dir was initialized from (``hyperion init``), or None (none, or a dev chain)."""
    if not (Path(data_dir) / "state").is_dir():
        return None
    db = open_state_database(data_dir)
    try:
        raw = db.chain_get(META, b"genesis_spec")
        if raw is None:
            return None
        genesis = Genesis.from_stored_form(raw)
        chain_id = db.chain_get(META, b"chain_id")
        if chain_id is not None:
            genesis.chain_id = int.from_bytes(chain_id, "big")
        return genesis
    finally:
        db.close()


def init_chain(genesis: Genesis, data_dir: str | Path) -> bytes:
    """Write ``genesis`` as block 0 of a new chain in ``data_dir``; its hash.

    Initializing again with the same genesis changes nothing; a data dir
    that holds another chain is refused (ChainError), never overwritten.
    """
    expected = genesis_hash_of(genesis)
    db = open_state_database(data_dir)
    try:
        if db.latest_block_number() is not None:
            stored = db.chain_get(META, b"genesis")
            if stored != expected:
                found = "an unknown chain" if stored is None else f"the chain with genesis 0x{stored.hex()}"
                raise ChainError(f"{data_dir} already holds {found}, not this file's (genesis 0x{expected.hex()})")
            return expected
        chain = Chain(ChainConfig.from_genesis(genesis, automine=False), db)
        head = chain.head().hash
        chain.flush()
        if head != expected:  # the same code computes both: a mismatch is a bug, never silently kept
            raise ChainError(f"genesis written as 0x{head.hex()}, expected 0x{expected.hex()}")
        return head
    finally:
        db.close()
