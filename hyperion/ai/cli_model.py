"""``hyperion model ...``: delegates to ``hyperion.ai_cli`` (the command line wires modules by ``main``)."""

from __future__ import annotations

from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    from hyperion.ai_cli import main as ai_main

    return ai_main(["model", *(argv or [])])
