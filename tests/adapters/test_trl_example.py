"""The README's main job, examples/trl_multi_attempt.py, runs offline on CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trl_multi_attempt.py"


# The main job as the README prints it (MultiAttemptMath-v0, GRPO) is run by
# tests/test_commands.py; here, the other trainer class the script can use.
@pytest.mark.parametrize(("env", "algo"), [("SingleTurnMath-v0", "rloo")])
def test_trl_example_trains_and_reports(env, algo, tmp_path):
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--env", env, "--algo", algo, "--max-steps", "2",
         "--batch-size", "8", "--output-dir", str(tmp_path)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    lines = out.stdout.splitlines()
    assert "[transformers]" not in out.stderr, out.stderr  # no library warnings for a newcomer
    assert any(line.startswith("format warm-up on 32 other problems: loss") for line in lines)
    steps = [line for line in lines if line.startswith("step ")]
    assert [s.split()[1] for s in steps] == ["1", "2"]
    assert all("reward" in s for s in steps)
    before, after = [line for line in lines if line.startswith("held-out, ")]
    assert before.startswith("held-out, before RL (")
    assert after.startswith("held-out, after RL (")
    assert lines.index(before) < lines.index(steps[0]) < lines.index(after)
    for line in (before, after):
        assert "3 attempts each): reward " in line and "; accuracy k=1:" in line
        assert "k=3:" in line and "boxed answers" in line
        assert line.split("(")[1].split(" problems")[0] == "128"
    (change,) = [line for line in lines if line.startswith("held-out reward change ")]
    assert "(paired over the same problems" in change
