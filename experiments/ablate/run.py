"""Run (or resume) an ablation: per seed, one warm start, then every scheme's RL and eval.

Seeds run one after another, and within a seed every scheme, so a run stopped early has whole
seeds to report. Every stage is on disk and skipped when there: the warm start, a scheme's RL
run (from its last checkpoint), an evaluation (from its last finished episode). The
ablation's settings are saved first; resuming into a folder made with others is refused.

Layout: ``OUT/ablation.json``, ``OUT/heldout.jsonl``, ``OUT/seed{S}/warm``,
``OUT/seed{S}/eval-warm``, ``OUT/seed{S}/{scheme}/`` (checkpoint, model, training.json) and
``OUT/seed{S}/eval-{scheme}``; the report (:mod:`~experiments.ablate.report`) beside them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from experiments.ablate.presets import Ablation
from experiments.replicate.evaluate import evaluate, write_problems
from experiments.replicate.run import _arm, _warm
from experiments.replicate.settings import problem_sets
from mathattempt_env.errors import ConfigError

#: The last RL steps whose mean training reward is reported (under the run's own scheme).
LAST_STEPS = 10


def folder_name(scheme: str) -> str:
    """A folder name for a scheme spec.

    Examples:
        >>> folder_name("paper:wrong=-0.25")
        'paper_wrong=-0.25'
    """
    return "".join(c if c.isalnum() or c in "-=." else "_" for c in scheme)


def _check_settings(out: Path, ablation: Ablation) -> None:
    wanted = json.loads(json.dumps(ablation.to_json()))
    path = out / "ablation.json"
    if not path.is_file():
        path.write_text(json.dumps(wanted, indent=1) + "\n")
        return
    found = json.loads(path.read_text())
    changed = ablation.settings.changed_from(found.get("settings", {}))
    changed += [k for k in ("schemes", "baseline") if found.get(k) != wanted[k]]
    if changed:
        raise ConfigError(
            f"{out} holds an ablation with other settings ({', '.join(changed)} differ); "
            "use another --out, or delete it to start over"
        )


def _scores(result: dict[str, Any], history: list[dict[str, float]] | None) -> dict[str, Any]:
    scores = {
        "accuracy": {str(k): v for k, v in result["accuracy"].items()},
        "repeat_rate": result["repeat_rate"],
        "formatted_rate": result["formatted_rate"],
        "reward": result["reward"],
        "episodes": result["episodes"],
    }
    if history is not None:
        last = [h["reward"] for h in history[-LAST_STEPS:]]
        scores["train_reward"] = sum(last) / len(last) if last else math.nan
    return scores


def run(out: Path, ablation: Ablation, *, progress: bool = True) -> dict[str, Any]:
    """Run or resume ``ablation`` in ``out``; write the report; return its summary."""
    from experiments.ablate import report

    out.mkdir(parents=True, exist_ok=True)
    _check_settings(out, ablation)
    settings = ablation.settings
    train_problems, held_out, _ = problem_sets(settings)
    dataset = write_problems(out / "heldout.jsonl", held_out)
    seeds: list[dict[str, Any]] = []
    for seed in range(settings.seeds):
        folder = out / f"seed{seed}"
        _warm(folder / "warm", train_problems, settings, seed, progress)
        warm = folder / "warm" / "model"
        results = {"warm": _scores(evaluate(warm, dataset, folder / "eval-warm", settings,
                                            seed=seed, progress=progress), None)}  # fmt: skip
        for scheme in ablation.schemes:
            name = folder_name(scheme)
            scheme_settings = dataclasses.replace(settings, reward=scheme)
            history = _arm(folder / name, warm, "multi", train_problems, scheme_settings, seed,
                           progress)  # fmt: skip
            result = evaluate(folder / name / "model", dataset, folder / f"eval-{name}",
                              scheme_settings, seed=seed, progress=progress)  # fmt: skip
            results[scheme] = _scores(result, history)
        seeds.append(results)
        report.write(out, ablation, seeds)  # a partial report after every finished seed
    return report.summarize(ablation, seeds)
