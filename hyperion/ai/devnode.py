"""``python -m hyperion.ai.devnode``: kept as an alias of ``hyperion node``.

``hyperion node`` itself now binds the inference precompile to a model store
(``--model-store DIR``, default ``<data-dir>/models`` or a temporary folder
with ``--in-memory``) and predeploys the AI system contracts
(``hyperion.ai.genesis``), so this module only forwards to it; scripts and
tests that start ``hyperion.ai.devnode`` keep working.
"""

from __future__ import annotations

from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``hyperion node`` with ``argv``; returns its exit status."""
    from hyperion.node_cli import main as node_main

    return node_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
