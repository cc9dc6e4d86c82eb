"""Tests marked ``needs_shared`` read ``../shared`` (the benchmark datasets and the grading dev
sets beside the project root; CI provides them). Without it they fail at once and say so,
instead of failing later with an unrelated assertion.

Tests marked ``needs_sandbox`` run model code in the sandbox, which needs Landlock or
namespaces (bubblewrap) on the host; where it has neither they are skipped, and the tests
of that degraded mode (the sandbox refuses to run) still run."""

from __future__ import annotations

import pytest

from tests.shared import SHARED

NEEDED = (SHARED / "data", SHARED / "grading")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_shared: reads ../shared/data or ../shared/grading beside the project"
    )
    config.addinivalue_line(
        "markers", "needs_sandbox: runs code in the sandbox (Landlock or namespaces on the host)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_sandbox") is not None:
        from mathattempt_env.sandbox import probe

        if not {"landlock", "namespaces"} & probe():
            pytest.skip("the host has neither Landlock nor namespaces: the sandbox refuses")
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
