"""A dev node with the inference precompile enabled: ``python -m hyperion.ai.devnode``.

It is ``hyperion node`` (same options, same JSON-RPC server) whose fork is
``fork_with_inference(DirectoryModelStore(--model-store))``, so contracts and
``eth_call`` reach the precompile at 0x..a1 and ``hyperion model register
--store DIR`` makes models available to it. Extra option:

    --model-store DIR   model store folder (default <data-dir>/models, or a temporary folder in memory mode)

Until ``hyperion node`` itself grows a ``--model-store`` option this is how
the AI stack runs against a real node process (the determinism test starts two).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence


async def _serve(node, host: str, port: int) -> None:
    from hyperion.rpc.server import RpcServer

    server = RpcServer(node.chain, host, port)
    await server.start()
    print(f"Listening on {host}:{server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: Optional[Sequence[str]] = None) -> int:
    from hyperion.node_cli import DEFAULT_DATA_DIR, build_parser, chain_config_from_args, configure_logging

    parser = build_parser()
    parser.prog = "python -m hyperion.ai.devnode"
    parser.add_argument("--model-store", type=Path, metavar="DIR", help="model store folder")
    args = parser.parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    try:
        config = chain_config_from_args(args)
    except (OSError, ValueError) as exc:
        print(f"devnode: {exc}", file=sys.stderr)
        return 2
    data_dir = None if args.in_memory else (args.data_dir or DEFAULT_DATA_DIR).expanduser()
    store_dir = args.model_store or (data_dir / "models" if data_dir else Path(tempfile.mkdtemp(prefix="hyperion-models-")))

    from hyperion.ai.store import DirectoryModelStore
    from hyperion.chain.node import Node
    from hyperion.vm.precompiles.inference import fork_with_inference

    config.fork = fork_with_inference(DirectoryModelStore(store_dir), base=config.fork)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    node = Node(config, data_dir)
    print(f"model store: {store_dir}", flush=True)
    try:
        asyncio.run(_serve(node, args.host, args.port))
    except OSError as exc:
        print(f"devnode: {exc}", file=sys.stderr)
        return 1
    finally:
        node.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
