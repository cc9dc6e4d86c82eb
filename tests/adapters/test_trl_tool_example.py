"""examples/trl_tool_cir.py, the CIR-style TRL run, trains offline on CPU with tool calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trl_tool_cir.py"


@pytest.mark.needs_sandbox
def test_the_cir_example_trains_with_tool_calls(tmp_path):
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--max-steps", "2", "--batch-size", "8",
         "--group-size", "4", "--output-dir", str(tmp_path)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    lines = out.stdout.splitlines()
    assert any(line.startswith("tool warm-up: loss") for line in lines)
    steps = [line for line in lines if line.startswith("step ")]
    assert [s.split()[1] for s in steps] == ["1", "2"]
    calls = [float(s.split("tool calls/episode ")[1].split()[0]) for s in steps]
    assert sum(calls) > 0, steps  # the warm start writes code; the sandbox runs it
    assert all("sandbox errors so far 0" in s for s in steps)
