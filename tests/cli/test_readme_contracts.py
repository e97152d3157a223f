"""The README's list of system contracts is what ``hyperion contracts --table`` prints, name for name."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_names_exactly_the_contracts_hyperion_contracts_lists():
    readme = (REPO / "README.md").read_text()
    paragraph = re.search(r"^System contracts, predeployed on every dev chain.*?(?:\n\n)", readme, re.S | re.M)
    assert paragraph, "README.md lost its paragraph of system contracts"
    named = re.findall(r"`(\w+)`", paragraph.group(0).split(":", 1)[1])
    table = subprocess.run([sys.executable, "-m", "hyperion", "contracts", "--table"], capture_output=True,
                           text=True, cwd=REPO, timeout=120)
    assert table.returncode == 0, table.stderr
    listed = [line.split()[0] for line in table.stdout.splitlines() if line.strip()]
    assert named == listed
