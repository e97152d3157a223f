"""Shared test configuration: where the read-only Ethereum fixtures live.

The fixtures are not copied into the repository; every checkout finds them
at ``<repo>/../shared/fixtures``.
"""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared fixture root; skips the test when this machine lacks it."""
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES
