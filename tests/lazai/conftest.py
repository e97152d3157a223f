"""Shared fixtures for the LazAI contract tests (in-process EVM with the genesis predeploys)."""

from __future__ import annotations

import pytest

from hyperion.predeploys import plan as G
from tests.lazai.evm_harness import Evm


@pytest.fixture
def evm() -> Evm:
    return Evm()


@pytest.fixture
def dat(evm):
    return evm.at("DAT", G.DAT_ADDRESS)


@pytest.fixture
def vault(evm):
    return evm.at("HoldersMining", G.FEE_VAULT_ADDRESS)
