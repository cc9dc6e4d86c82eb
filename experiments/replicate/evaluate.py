"""Evaluation through ``mathattempt eval``'s own code path.

The published multi-attempt protocol (feedback after each wrong attempt, one token budget),
the same grader and prompt.

Each model is saved as a model folder and evaluated by :func:`~mathattempt_env.eval.run_eval`
with the HF backend at temperature 1 (sampling, as the model was trained), a budget of
``eval_attempts`` on the held-out problems; the run resumes by itself. Accuracy at k is the
share solved within k attempts; the repeat rate is the share of answers after the first that
repeat an earlier rejected answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.replicate.rloo import repeat_rate as share_repeated
from experiments.replicate.settings import ENV_CONFIG, MULTI, Settings
from mathattempt_env.eval.metrics import accuracy_at_k
from mathattempt_env.eval.results import failed, read_results
from mathattempt_env.types import Problem


def write_problems(path: Path, problems: Sequence[Problem]) -> Path:
    """The held-out problems as a JSONL dataset the eval reads."""
    lines = [json.dumps({"id": p.id, "problem": p.problem, "answer": p.answer}) for p in problems]
    path.write_text("\n".join(lines) + "\n")
    return path


def repeat_rate(records: Sequence[dict[str, Any]]) -> float:
    """The share of answers after the first that repeat an earlier rejected answer.

    Counted across the eval's episodes (``nan`` when no episode made a second attempt).
    """
    return share_repeated(
        [(g["extracted"], g["correct"]) for g in r["grades"] if g["kind"] == "solve"]
        for r in records
    )


def evaluate(
    model_dir: Path, dataset: Path, out: Path, settings: Settings, *, seed: int, progress: bool
) -> dict[str, Any]:
    """Accuracy at k = 1..``eval_attempts`` and the repeat rate of one model folder."""
    from mathattempt_env.eval.backends import HFBackend
    from mathattempt_env.eval.runner import EvalConfig, run_eval

    ks = list(range(1, settings.eval_attempts + 1))
    config = EvalConfig(
        env=MULTI, env_kwargs=dict(ENV_CONFIG.options), datasets=[str(dataset)], ks=ks, out=out,
        model=str(model_dir), backend="hf", temperature=1.0, max_tokens=settings.max_tokens,
        concurrency=64, progress=progress,
    )  # fmt: skip
    backend = HFBackend(str(model_dir), temperature=1.0, batch_size=64, seed=seed, device="cpu")
    asyncio.run(run_eval(config, backend))
    records = [r for r in read_results(out) if not failed(r)]
    return {
        "accuracy": {k: accuracy_at_k(records, k) for k in ks},
        "repeat_rate": repeat_rate(records),
        "episodes": len(records),
    }
