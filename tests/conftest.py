"""Tests marked ``needs_shared`` read ``../shared`` (the benchmark datasets and the grading dev
sets beside the project root; CI provides them). Without it they fail at once and say so,
instead of failing later with an unrelated assertion."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
NEEDED = (SHARED / "data", SHARED / "grading")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_shared: reads ../shared/data or ../shared/grading beside the project"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_shared") is None:
        return
    missing = [str(path) for path in NEEDED if not path.is_dir()]
    if missing:
        pytest.fail(
            f"this test reads the shared data, but {', '.join(missing)} is missing: put the "
            "project's shared folder (data/ and grading/) beside the project root, as CI "
            "does (see the README's test command)",
            pytrace=False,
        )
