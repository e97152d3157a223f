"""``examples/lazai_flow.py`` runs from the installed package alone: no checkout, no ``tests/`` on the path.

The fast test runs it with this environment's interpreter from an empty
folder, with ``PYTHONPATH`` cleared, after checking that ``tests`` cannot be
imported there. The slow one does exactly what a user does: a fresh virtual
environment, a non-editable ``pip install .``, then the script.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "lazai_flow.py"


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("HYPERION_")}


def _check_flow(output: str) -> None:
    assert "contributor claimed 0.500000 METIS" in output, output[-3000:]
    a, b = (float(x) for x in re.search(r"staker-a claimed ([\d.]+) METIS, staker-b claimed ([\d.]+)", output).groups())
    # At least the verification-fee cut. The node routes base fees to the vault,
    # so staker-a also earns the fees of blocks mined before staker-b joined:
    # b gets up to 3x a (their stakes are 1:3), never more.
    assert a >= 0.00025 and 2.5 * a < b <= 3 * a + 1e-6


def _run_example(python: str, cwd: Path, temp: Path | None = None) -> str:
    probe = subprocess.run([python, "-c", "import importlib.util, hyperion; "
                            "print(importlib.util.find_spec('tests') is None, hyperion.__file__)"],
                           cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    no_tests, package_file = probe.stdout.split()
    assert no_tests == "True", "tests/ is importable: the example would not prove anything"
    env = dict(_clean_env(), **({"TMPDIR": str(temp)} if temp is not None else {}))
    done = subprocess.run([python, str(EXAMPLE), "--start-node"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    _check_flow(done.stdout)
    return package_file


@pytest.mark.e2e
def test_example_runs_without_the_tests_on_the_path(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    _run_example(sys.executable, tmp_path, temp)
    assert list(temp.iterdir()) == []          # neither the example nor the node it starts leaves a temporary folder


@pytest.mark.slow
@pytest.mark.e2e
def test_example_runs_from_a_fresh_non_editable_install(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              str(REPO_ROOT)], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True,
                             timeout=1800)
    assert install.returncode == 0, install.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    package_file = _run_example(python, work)
    assert package_file.startswith(str(env_dir)), f"hyperion came from {package_file}, not the fresh install"
