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
from experiments.replicate.settings import MULTI, Settings
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


def formatted_rate(records: Sequence[dict[str, Any]]) -> float:
    """The share of answers (every attempt of every episode) that hold a boxed answer.

    Examples:
        >>> formatted_rate([{"grades": [{"kind": "solve", "extracted": None, "correct": False},
        ...                             {"kind": "solve", "extracted": "2", "correct": True}]}])
        0.5
    """
    answers = [g["extracted"] is not None for r in records for g in r["grades"]
               if g["kind"] == "solve"]  # fmt: skip
    return sum(answers) / len(answers) if answers else float("nan")


def mean_reward(records: Sequence[dict[str, Any]], scheme: str = "paper") -> float:
    """The mean episode return under a reward scheme, recomputed from the graded attempts.

    The scheme is the package's own (:func:`~mathattempt_env.rewards.get_reward`), so every
    model is scored on one scale whatever scheme it was trained with.

    Examples:
        >>> wrong = {"kind": "solve", "extracted": "1", "correct": False, "formatted": True,
        ...          "reason": "numeric"}
        >>> right = {**wrong, "extracted": "2", "correct": True}
        >>> mean_reward([{"grades": [wrong, right]}, {"grades": [wrong, wrong]}])
        0.25
    """
    from mathattempt_env.rewards import get_reward
    from mathattempt_env.types import ActionRecord, Grade

    rewards = get_reward(scheme)
    returns = []
    for record in records:
        history = [
            ActionRecord("solve", Grade(g["correct"], g["formatted"], g["extracted"], g["reason"]))
            for g in record["grades"]
            if g["kind"] == "solve"
        ]
        returns.append(sum(rewards.action_rewards(history, final=True)) if history else 0.0)
    return sum(returns) / len(returns) if returns else float("nan")


def evaluate(
    model_dir: Path, dataset: Path, out: Path, settings: Settings, *, seed: int, progress: bool
) -> dict[str, Any]:
    """One model folder's held-out scores.

    Accuracy at k = 1..``eval_attempts``, the repeat and formatted rates, and the mean return
    under the paper's scheme.
    """
    from mathattempt_env.eval.backends import HFBackend
    from mathattempt_env.eval.runner import EvalConfig, run_eval

    ks = list(range(1, settings.eval_attempts + 1))
    config = EvalConfig(
        env=MULTI, env_kwargs=dict(settings.env_config().options), datasets=[str(dataset)],
        ks=ks, out=out,
        model=str(model_dir), backend="hf", temperature=1.0, max_tokens=settings.max_tokens,
        concurrency=64, progress=progress,
    )  # fmt: skip
    backend = HFBackend(str(model_dir), temperature=1.0, batch_size=64, seed=seed, device="cpu")
    asyncio.run(run_eval(config, backend))
    records = [r for r in read_results(out) if not failed(r)]
    return {
        "accuracy": {k: accuracy_at_k(records, k) for k in ks},
        "repeat_rate": repeat_rate(records),
        "formatted_rate": formatted_rate(records),
        "reward": mean_reward(records),
        "episodes": len(records),
    }
