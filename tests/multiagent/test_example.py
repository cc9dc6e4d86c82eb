"""examples/solver_verifier.py plays whole games with two scripted policies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "solver_verifier.py"


def test_example_plays_and_reports():
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--games", "6"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    lines = out.stdout.splitlines()
    assert "Game over (accepted); rewards: {'solver_0': 1.0, 'verifier_0': 2.0}" in lines
    # The careful verifier rejects the slip and accepts the fix; the lazy one accepts the slip.
    assert "| careful | +1.00 | +2.00 | 100% | 2.0 |" in lines
    assert "| lazy | -1.00 | -1.00 | 0% | 1.0 |" in lines
