"""Draw ``docs/eval_sample.png``: the README's sample ``summary.md``, as ``mathattempt eval`` does.

The numbers are the tests' scripted policy (each problem solved at a known attempt), not a
model. Run ``python docs/eval_sample.py`` after a change to the plot.
"""

from __future__ import annotations

from pathlib import Path

from mathattempt_env.eval.report import plot_accuracy

SUMMARY = {
    "accuracy": {
        "alpha": {1: 0.25, 2: 0.50, 3: 0.75},
        "beta": {1: 0.50, 2: 0.50, 3: 0.50},
        "average": {1: 0.375, 2: 0.50, 3: 0.625},
    }
}

if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "eval_sample.png"
    plot_accuracy(out, [("sample", SUMMARY)], [1, 2, 3], title="MultiAttemptMath-v0, sample")
    print(f"wrote {out}")
