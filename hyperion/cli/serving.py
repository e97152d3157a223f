"""How ``hyperion node`` starts serving a chain, dev node and rollup node alike.

The JSON-RPC server with the explorer mounted (unless ``--no-explorer``),
the lines printed at start (the caller's banner and the explorer's address
unless ``--silent``; always ``Listening on HOST:PORT``, which scripts and
tests wait for), the activity log, and a stop on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any, Callable, Optional


async def start_serving(server: Any, chain: Any, args: argparse.Namespace, *,
                        banner: Optional[Callable[[int], str]] = None, rollup_view: Any = None) -> asyncio.Event:
    """Start ``server`` and announce it; returns the event that SIGINT or SIGTERM sets.
    ``banner(port)`` is the caller's start-up text."""
    if not args.no_explorer:
        from hyperion.explorer import mount

        mount(server, rollup_view)
    await server.start()
    if not args.silent:
        if banner is not None:
            print(banner(server.port))
        if not args.no_explorer:
            print(f"Explorer:  http://{args.host}:{server.port}/explorer/")
    from hyperion.chain.activity import log_activity

    log_activity(chain)
    print(f"Listening on {args.host}:{server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
