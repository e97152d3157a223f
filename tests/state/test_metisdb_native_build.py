"""The C merger is what MetisDB uses wherever it could be built."""

from __future__ import annotations

import os
import shutil
import sysconfig

import pytest

from hyperion.state.metisdb import native
from hyperion.state.metisdb.batchtrie import BatchTrieUpdater


def test_compiled_merger_is_in_use_where_a_compiler_exists() -> None:
    if os.environ.get("HYPERION_PURE_PYTHON"):
        pytest.skip("pure Python forced by HYPERION_PURE_PYTHON")
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}): the install falls back to Python")
    # A silently failed build (the extension is optional) would make every commit slow.
    assert native.COMPILED, "hyperion.state.metisdb._trie_native was not built; run pip install -e ."
    assert native.TrieMerger is not BatchTrieUpdater
