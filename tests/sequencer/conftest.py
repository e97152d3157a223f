"""Sequencer tests reuse the rollup contract tests' anvil fixtures (a real anvil L1 per module)."""

from tests.rollup.l1.conftest import anvil, anvil_path, w3  # noqa: F401  (pytest fixtures)
