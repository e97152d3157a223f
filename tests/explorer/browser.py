"""Debian's Chromium driven by Playwright for Python (never a downloaded browser), and one explorer tab.

Every visited page is screenshotted to ``.ci/artifacts/explorer/`` (a CI
artifact, git-ignored); ``HYPERION_DOCS_SCREENSHOTS=1`` also copies the
ones the docs show to ``docs/explorer/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".ci" / "artifacts" / "explorer"
DOCS = REPO / "docs" / "explorer"
DOC_SHOTS = {"home", "transaction", "dat-class", "model", "job", "job-bisection", "rollup"}
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def playwright_or_skip():
    """The Playwright sync API; skips the calling module when Chromium or Playwright is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: run scripts/setup-system.sh (make test does)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")


class Explorer:
    """One browser page with a console-error collector and a screenshot per visited page."""

    def __init__(self, browser, base: str, width: int = 1280, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str, shot: str):
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        self.shoot(shot)
        return self.page

    def shoot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        if os.environ.get("HYPERION_DOCS_SCREENSHOTS") == "1" and name in DOC_SHOTS:
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, DOCS / f"{name}.png")

    def value(self, key: str, section: str = "") -> str:
        scope = f"#{section} " if section else ""
        return self.page.locator(f'{scope}[data-key="{key}"] dd').first.inner_text().strip()

    def section_text(self, section: str) -> str:
        return self.page.locator(f"#{section}").inner_text()

    def rows(self, section: str) -> list[list[str]]:
        """The cells of a table section, row by row."""
        return [[cell.strip() for cell in row.locator("td").all_inner_texts()]
                for row in self.page.locator(f"#{section} tbody tr").all()]

    def close(self) -> None:
        self.context.close()


def fits_a_phone(page) -> bool:
    """No horizontal scrolling at the page's width."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 1
