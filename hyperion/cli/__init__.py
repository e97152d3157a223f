"""The ``hyperion`` command line: one module per command group.

Each module named in ``COMMAND_GROUPS`` has ``register(commands)``, which
adds its subcommands to the top-level parser; every subcommand sets
``handler=`` to a function ``(args) -> exit status`` (0 success, 1 the
command failed, 2 bad usage). Adding a group is one new module
``hyperion/cli/<group>.py`` plus its name in ``COMMAND_GROUPS``. Modules
import what they need inside their handlers, so ``hyperion --help`` stays
fast.

Every failure a handler raises goes through ``common.describe_failure``:
one line on stderr, exit status 1 or 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from typing import Optional, Sequence

from hyperion import __version__
from hyperion.cli.common import DEBUG_ENV, EXIT_FAILURE, EXIT_USAGE, describe_failure, one_line

# The command groups, in the order ``hyperion --help`` lists them.
COMMAND_GROUPS = (
    "node",
    "chaindata",
    "devnet",
    "sequencer",
    "statetest",
    "blocktest",
    "rpccompat",
    "bench",
    "fuzz",
    "vm",
    "contracts",
    "lazai",
    "ai",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyperion",
        description="Hyperion: an Ethereum-compatible L2 node for AI applications, in Python.",
    )
    parser.add_argument("--version", action="version", version=f"hyperion {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        importlib.import_module(f"hyperion.cli.{group}").register(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Console-script entry point; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `hyperion statetest ... | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet
        return EXIT_FAILURE
    except Exception as exc:  # the one error path: one line, never a traceback
        status, message = describe_failure(exc, args)
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        print(f"{getattr(args, 'command_name', 'hyperion')}: error: {one_line(message)}", file=sys.stderr)
        return status
