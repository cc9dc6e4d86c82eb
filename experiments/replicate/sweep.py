"""The testbed sweep: the cheapest setting in which a warm start can read the feedback.

Each candidate setting fits a warm start on traces that **never** repeat a rejected answer
(``repeat_prob=0``) and evaluates it on the held-out problems through the eval's own code
path (:func:`~experiments.replicate.evaluate.evaluate`, 5 attempts, temperature 1). A model
that reads the feedback learns to avoid the rejected answers, so its repeat rate falls to
about 0; one that does not guesses among all the remainders again and repeats about as often
as a uniform guesser (25-30% here). The test of "can read the feedback" is a repeat rate
under :data:`READS_FEEDBACK` on held-out problems.

``python -m experiments.replicate.sweep`` runs every candidate of a preset (resumable: a
finished candidate is read from disk) and writes ``sweep.md`` and ``sweep.json``: setting,
parameters, fit time, repeat rate, accuracy at k=1 and k=2.

Examples:
    >>> [label for label, _ in SWEEPS["mini"]]
    ['width 16', 'width 24']
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from experiments.replicate.command import run_preset
from experiments.replicate.settings import PRESETS, Settings, level_divisors, problem_sets

#: The held-out repeat rate under which a warm start fitted on never-repeat traces is said to
#: read the feedback.
READS_FEEDBACK = 0.05

#: The share of boxed answers a candidate must reach for its repeat rate to count.
FORMATTED = 0.9

_BASE = dataclasses.replace(PRESETS["testbed"], seeds=1, repeat_prob=0.0)

#: Candidate settings per preset: a label and the fields that differ from the base (the
#: ``testbed`` preset's settings with never-repeat traces).
SWEEPS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "full": [
        ("as first replicated: 128x4, half single-turn, U{1..5}",
         {"layers": 4, "warm_steps": 300, "warm_batch": 64, "warm_lr": 1e-3, "warm_warmup": 0,
          "warm_multi": 0.5, "warm_attempts": (1, 5)}),
        ("64x2, half single-turn, U{1..5}",
         {"hidden": 64, "warm_steps": 1500, "warm_lr": 3e-3, "warm_multi": 0.5,
          "warm_attempts": (1, 5)}),
        ("64x2, budget 5", {"hidden": 64, "warm_steps": 3000, "warm_lr": 3e-3}),
        ("128x2, budget 5, 500 steps", {"warm_steps": 500}),
        ("testbed: 128x2, budget 5", {}),
        ("testbed, binary feedback", {"feedback": "binary"}),
        ("testbed, divisor 3 only", {"level": 2, "divisors": (3,)}),
    ],
    "mini": [
        ("width 16", {"hidden": 16, "layers": 1, "warm_steps": 2, "warm_warmup": 0,
                      "warm_traces": 16, "warm_batch": 4, "eval_problems": 4,
                      "train_problems": 32}),
        ("width 24", {"hidden": 24, "layers": 1, "warm_steps": 2, "warm_warmup": 0,
                      "warm_traces": 16, "warm_batch": 4, "eval_problems": 4,
                      "train_problems": 32}),
    ],
}  # fmt: skip


def candidates(preset: str) -> list[tuple[str, Settings]]:
    """The preset's candidate settings, each a full :class:`Settings`."""
    return [(label, dataclasses.replace(_BASE, **fields)) for label, fields in SWEEPS[preset]]


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in label.lower()).strip("-")


def measure(folder: Path, settings: Settings, *, progress: bool) -> dict[str, Any]:
    """Fit one candidate's warm start and evaluate it (or read both from ``folder``)."""
    from experiments.replicate.evaluate import evaluate, write_problems
    from experiments.replicate.run import _settings_file, _warm

    done = folder / "result.json"
    if done.is_file():
        result: dict[str, Any] = json.loads(done.read_text())
        return result
    folder.mkdir(parents=True, exist_ok=True)
    _settings_file(folder, settings)
    train_problems, held_out, _ = problem_sets(settings)
    dataset = write_problems(folder / "heldout.jsonl", held_out)
    _warm(folder / "warm", train_problems, settings, 0, progress)
    scores = evaluate(folder / "warm" / "model", dataset, folder / "eval", settings, seed=0,
                      progress=progress)  # fmt: skip
    params = _parameters(folder / "warm" / "model")
    result = {
        "fit_seconds": json.loads((folder / "warm" / "fit.json").read_text())["seconds"],
        "parameters": params,
        "repeat_rate": scores["repeat_rate"],
        "formatted_rate": scores["formatted_rate"],
        "accuracy": {str(k): v for k, v in scores["accuracy"].items()},
        "episodes": scores["episodes"],
    }
    done.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _parameters(model_dir: Path) -> int:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    return int(sum(p.numel() for p in model.parameters()))


def _traces(settings: Mapping[str, Any]) -> str:
    low, high = settings["warm_attempts"]
    budget = f"budget {low}" if low == high else f"budgets U{{{low}..{high}}}"
    share = settings["warm_multi"]
    return budget if share == 1 else f"{100 * share:.0f}% multi-attempt, {budget}"


def _problems(settings: Mapping[str, Any]) -> str:
    level, divisors = settings["level"], settings["divisors"]
    every = level_divisors(level)
    kept = ", ".join(map(str, divisors)) if divisors else f"{every[0]}..{every[-1]}"
    return f"level {level}, m = {kept}"


def markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The sweep's table, one row per candidate, and which candidates pass."""
    first = rows[0]["settings"]
    lines = [
        "# Can a warm start read the feedback?",
        "",
        "Each setting's warm start is fitted on traces that never repeat a rejected answer "
        f"and evaluated on {first['eval_problems']} held-out problems ({first['eval_attempts']} "
        "attempts, temperature 1, the eval's code path). "
        f"It reads the feedback when it repeats a rejected answer < {100 * READS_FEEDBACK:.0f}% "
        "of the time (a uniform guesser: 25-30% with m = 3..7, more with fewer remainders) "
        "and boxes at least "
        f"{100 * FORMATTED:.0f}% of its answers.",
        "",
        "| setting | model | parameters | problems | traces | feedback | "
        "warm steps × batch, lr | fit time | repeat rate | boxed | acc k=1 | acc k=2 | "
        "reads feedback |",
        "|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        s, r = row["settings"], row["result"]
        lines.append(
            f"| {row['label']} | {s['hidden']}×{s['layers']} | {r['parameters'] / 1e6:.2f}M | "
            f"{_problems(s)} | {_traces(s)} | {s['feedback']} | "
            f"{s['warm_steps']} × {s['warm_batch']}, {s['warm_lr']:g} | "
            f"{r['fit_seconds'] / 60:.1f} min | "
            f"{100 * r['repeat_rate']:.1f}% | {100 * r['formatted_rate']:.0f}% | "
            f"{100 * r['accuracy']['1']:.1f}% | "
            f"{100 * r['accuracy']['2']:.1f}% | {'yes' if passes(r) else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def passes(result: Mapping[str, Any]) -> bool:
    """Whether a candidate's warm start reads the feedback (see :data:`READS_FEEDBACK`).

    It must also answer: a model that boxes under :data:`FORMATTED` of its answers repeats
    nothing because it says nothing.
    """
    return bool(result["repeat_rate"] < READS_FEEDBACK and result["formatted_rate"] >= FORMATTED)


def sweep(out: Path, preset: str, *, progress: bool = True) -> list[dict[str, Any]]:
    """Run (or resume) every candidate of ``preset``; write ``sweep.md`` and ``sweep.json``."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, settings in candidates(preset):
        result = measure(out / _slug(label), settings, progress=progress)
        rows.append({"label": label, "settings": settings.to_json(),
                     "result": result})  # fmt: skip
    (out / "sweep.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "sweep.md").write_text(markdown(rows))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m experiments.replicate.sweep [--mini] [--out DIR]``: run, print the table."""
    return run_preset(
        argv,
        name="sweep",
        description="Fit a warm start on never-repeat traces per candidate setting and measure "
        "whether it reads the feedback (held-out repeat rate).",
        work=sweep,
    )


if __name__ == "__main__":
    import sys

    sys.exit(main())
