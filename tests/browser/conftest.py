"""Fixtures of the browser tests: Debian's chromium (never a downloaded browser) driven by
Playwright, on pages of `contactgraph serve` run as a subprocess.

Without /usr/bin/chromium they skip, unless CONTACTGRAPH_REQUIRE_BROWSER=1 (tools/test
sets it, and installs chromium where it is missing): then they fail (test_required.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import Visit
from playwright.sync_api import (
    Browser,
    sync_playwright,
)
from test_cli import DEMO_TOKEN, serving

# Debian's package; CONTACTGRAPH_CHROMIUM names another build of it
CHROMIUM = Path(os.environ.get("CONTACTGRAPH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for a module's tests, closed before the async tests of other modules run
    (Playwright's sync API keeps an event loop of its own)."""
    if not CHROMIUM.exists():
        if os.environ.get("CONTACTGRAPH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CONTACTGRAPH_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (tools/test does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """`serve --demo` on loopback: its page signs the visitor in with DEMO_TOKEN."""
    with serving(tmp_path / "demo.db", "--demo", env={"CONTACTGRAPH_DEMO_TOKEN": DEMO_TOKEN}) as s:
        yield s.url


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[str]:
    """`serve` on an empty graph: every request needs a token of its own."""
    with serving(tmp_path / "plain.db") as served:
        yield served.url


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    context = browser.new_context()
    yield Visit(context.new_page())
    context.close()
