"""The browser every explorer test module shares: Debian's Chromium, launched through Playwright."""

from __future__ import annotations

import pytest

from tests.explorer.browser import CHROMIUM, LAUNCH_ARGS, playwright_or_skip


@pytest.fixture(scope="module")
def browser():
    playwright_api = playwright_or_skip()
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
