"""Fixtures for chain tests: a fresh dev chain on each state database (in memory and MetisDB)."""

from __future__ import annotations

import pytest

from hyperion.chain.chain import Chain
from hyperion.state.memorydb import MemoryStateDatabase

from .chain_helpers import make_config


def _metisdb_class():
    try:
        from hyperion.state.metisdb import MetisDB
    except ImportError:
        return None
    return MetisDB


@pytest.fixture(params=["memory", "metisdb"])
def state_db(request, tmp_path):
    if request.param == "memory":
        return MemoryStateDatabase()
    metisdb = _metisdb_class()
    if metisdb is None:
        pytest.skip("MetisDB is not available")
    return metisdb(str(tmp_path / "state"))


@pytest.fixture
def chain(state_db):
    c = Chain(make_config(), state_db)
    yield c
    c.close()


@pytest.fixture
def manual_chain(state_db):
    """A chain that mines only when asked (automine off)."""
    c = Chain(make_config(automine=False), state_db)
    yield c
    c.close()


@pytest.fixture
def dev(chain):
    return chain.dev_accounts()
