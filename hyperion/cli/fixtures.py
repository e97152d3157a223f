"""What the fixture runners (``hyperion statetest``, ``hyperion blocktest``) share: their output and
worker options, and finding the fixture files a command line names."""

from __future__ import annotations

import argparse
from pathlib import Path

from hyperion.cli.common import positive_int


def add_runner_options(parser: argparse.ArgumentParser, unit: str) -> None:
    """``--json``, ``--jobs``, ``--filter`` and ``--verbose``; ``unit`` names what one result line is
    ("case", "test")."""
    parser.add_argument("--json", action="store_true",
                        help=f"one JSON object per {unit} on stdout (the tally goes to stderr)")
    parser.add_argument("--jobs", "-j", type=positive_int, default=1, metavar="N",
                        help="worker processes (default 1)")
    parser.add_argument("--filter", metavar="SUBSTR",
                        help="only tests whose 'file::name' contains SUBSTR")
    parser.add_argument("--verbose", "-v", action="store_true", help="show tracebacks of crashes")


def fixture_files(args: argparse.Namespace) -> list[Path]:
    """The fixture files under ``args.paths``, after checking that ``--parallel`` and ``--jobs`` go together
    (a usage error otherwise, as when no fixture is found)."""
    from hyperion.tools.statetest import NoFixturesFound, find_fixture_files

    if (args.parallel or 1) > 1 and args.jobs > 1:
        args.parser.error("--parallel N needs --jobs 1 (a job process cannot start worker processes)")
    try:
        return find_fixture_files(args.paths)
    except NoFixturesFound as exc:
        args.parser.error(str(exc))
