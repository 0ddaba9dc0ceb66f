"""Where the browser tests must run (CI, tools/test), a missing browser fails them; anywhere
else it skips them. Checked by running one of them in a pytest of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ONE_TEST = f"{HERE / 'test_graphiql.py'}::test_the_demo_page_runs_a_typed_query"


def pytest_without_a_browser(required: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CONTACTGRAPH_REQUIRE_BROWSER"}
    env["CONTACTGRAPH_CHROMIUM"] = "/nonexistent/chromium"
    if required:
        env["CONTACTGRAPH_REQUIRE_BROWSER"] = "1"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", ONE_TEST]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=env, cwd=HERE.parents[1]
    )


@pytest.mark.parametrize("required", [True, False])
def test_a_missing_browser_fails_only_where_required(required: bool) -> None:
    result = pytest_without_a_browser(required)
    if required:
        assert result.returncode == 1, result.stdout
        assert "REQUIRE_BROWSER=1 but /nonexistent/chromium is missing" in result.stdout
    else:
        assert result.returncode == 0, result.stdout
        assert "1 skipped" in result.stdout
