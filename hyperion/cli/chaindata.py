"""``hyperion init`` and ``hyperion import``: a chain from a genesis file, then its blocks from a chain file.

``init --genesis FILE --data-dir DIR`` writes exactly the genesis a
geth-format file describes as block 0 of a new chain (again with the same
file: nothing changes; a data dir holding another chain is refused).
``import --data-dir DIR FILE.rlp...`` then imports RLP blocks through the
block import path, across the fork transitions of that genesis: each block
is committed as it is accepted, blocks already held are skipped, and the
first invalid block stops the import with its reason (what came before it
stays). ``hyperion node --data-dir DIR`` serves the result.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hyperion.cli.common import EXIT_FAILURE, EXIT_OK, CommandFailed, UsageError, add_command

PROGRESS_INTERVAL = 0.5  # seconds between progress lines on a terminal


def _default_data_dir() -> Path:
    from hyperion.cli.node import DEFAULT_DATA_DIR

    return DEFAULT_DATA_DIR


def register(commands: argparse._SubParsersAction) -> None:
    init = add_command(
        commands, "init", run_init,
        help="create a chain from a geth-format genesis file",
        description="Write the genesis block and state a geth-format genesis file describes (fork schedule, "
                    "blob schedule, alloc, header fields; nothing added) into a new data dir.",
    )
    init.add_argument("--genesis", type=Path, required=True, metavar="FILE", help="geth-format genesis JSON")
    init.add_argument("--data-dir", type=Path, metavar="DIR",
                      help="where the chain is kept (default ~/.hyperion/node)")
    load = add_command(
        commands, "import", run_import,
        help="import RLP-encoded blocks into a chain created with 'hyperion init'",
        description="Import a chain file (RLP blocks one after the other, as 'geth export' writes them) "
                    "through the block import path. Stops at the first invalid block, keeping the blocks "
                    "before it; shows progress on a terminal.",
    )
    load.add_argument("files", nargs="+", type=Path, metavar="FILE.rlp", help="chain file")
    load.add_argument("--data-dir", type=Path, metavar="DIR",
                      help="the chain to import into (default ~/.hyperion/node)")


def run_init(args: argparse.Namespace) -> int:
    from hyperion.chain.errors import ChainError
    from hyperion.chain.genesis import Genesis, InvalidGenesis
    from hyperion.chain.node import init_chain

    data_dir = (args.data_dir or _default_data_dir()).expanduser()
    try:
        genesis = Genesis.from_file(args.genesis)
    except InvalidGenesis as exc:
        raise UsageError(str(exc)) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        genesis_hash = init_chain(genesis, data_dir)
    except ChainError as exc:
        raise CommandFailed(str(exc)) from None
    print(f"chain {genesis.chain_id} in {data_dir}")
    print(f"genesis 0x{genesis_hash.hex()}")
    for line in genesis.schedule.describe():
        print(f"  {line}")
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    from hyperion.chain.chainfile import ChainFileError, read_blocks
    from hyperion.chain.genesis import ChainConfig
    from hyperion.chain.importer import InvalidBlock
    from hyperion.chain.node import Node, stored_genesis

    data_dir = (args.data_dir or _default_data_dir()).expanduser()
    for path in args.files:
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
    genesis = stored_genesis(data_dir)
    if genesis is None:
        if (data_dir / "state").is_dir():
            raise CommandFailed(f"{data_dir} holds a dev chain; import into a chain created with "
                                f"'hyperion init --genesis FILE --data-dir DIR'")
        raise CommandFailed(f"no chain in {data_dir}: run 'hyperion init --genesis FILE --data-dir {data_dir}' first")
    node = Node(ChainConfig.from_genesis(genesis, automine=False), data_dir)
    progress = _Progress(sys.stderr)
    imported = known = 0
    failure = None
    try:
        chain = node.chain
        for path in args.files:
            try:
                for _offset, raw in read_blocks(path):
                    before = chain.head().number
                    block = chain.import_block(raw)
                    if chain.head().number > before:
                        imported += 1
                    else:
                        known += 1
                    progress.update(imported, known, block)
            except (InvalidBlock, ChainFileError) as exc:
                failure = f"{path}: {exc}"
                break
        head = chain.head()
        chain.flush()
    finally:
        progress.clear()
        node.close()
    summary = f"imported {imported} blocks"
    if known:
        summary += f" ({known} already present)"
    print(f"{summary}; head {head.number} 0x{head.hash.hex()}")
    if failure is not None:
        print(f"hyperion import: error: {failure}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


class _Progress:
    """A progress line on a terminal, nothing otherwise."""

    def __init__(self, stream) -> None:
        self.stream = stream
        try:
            self.enabled = stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False
        self.started = self.last = time.monotonic()
        self.shown = False

    def update(self, imported: int, known: int, block) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL:
            return
        self.last = now
        rate = imported / max(now - self.started, 1e-9)
        self.stream.write(f"\rimported {imported} blocks ({known} known), at block {block.number} "
                          f"({rate:.1f} blocks/s)\x1b[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
