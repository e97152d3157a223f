"""``python -m hyperion``: the same as the ``hyperion`` command."""

from hyperion.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
