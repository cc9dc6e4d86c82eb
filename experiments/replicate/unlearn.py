"""How many updates does it take to unlearn the warm start's repeats, even with supervision?

The testbed asks RL to lower the repeat rate of a warm start fitted on traces that repeat a
rejected answer with probability 0.35. This measures an upper bound on what any RL update of
the same size can do: the same warm start is fine-tuned, by the warm start's own supervised
code (:func:`~experiments.replicate.warmstart.warm_start`), directly on traces that **never**
repeat, for a number of steps at a learning rate, and evaluated on the held-out problems
through the eval's own code path. Supervision names the right answer for every later
attempt in every trace; an RL step only learns it from the sampled episodes' returns. So if
supervised fine-tuning cannot lower the repeat rate by 15 points in ``steps`` steps, RL with
that many steps cannot either.

``python -m experiments.replicate.unlearn`` fits (or finds) the testbed's seed-0 warm start
and runs each candidate (resumable), writing ``unlearn.md`` and ``unlearn.json``.

Examples:
    >>> [steps for steps, _ in CANDIDATES["mini"]]
    [1, 2]
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.replicate.command import run_preset
from experiments.replicate.settings import PRESETS, Settings, problem_sets

#: Per preset: the settings of the warm start, and the fine-tuning candidates
#: ``(steps, learning rate)``. The testbed's RL arm runs 150 steps at 5e-4.
SETTINGS: dict[str, Settings] = {
    "full": dataclasses.replace(PRESETS["testbed"], seeds=1),
    "mini": PRESETS["mini"],
}
CANDIDATES: dict[str, list[tuple[int, float]]] = {
    "full": [(150, 5e-4), (150, 2e-3), (600, 2e-3), (1500, 2e-3)],
    "mini": [(1, 1e-3), (2, 1e-3)],
}


def fine_tune(out: Path, warm: Path, train_problems: Sequence[Any], settings: Settings,
              steps: int, lr: float) -> Path:  # fmt: skip
    """Fine-tune the warm start in ``warm`` on never-repeat traces; the model folder.

    The traces are written as the warm start's are (same count, budgets and feedback), from
    their own RNG stream; batch size as the warm start's; no warm-up, cosine decay.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from experiments.replicate.rloo import save_model
    from experiments.replicate.warmstart import warm_start, write_traces

    folder = out / "model"
    if folder.is_dir():
        return folder
    model = AutoModelForCausalLM.from_pretrained(warm)
    tokenizer = AutoTokenizer.from_pretrained(warm)
    rng = np.random.default_rng([0, 2])
    traces = write_traces(train_problems, settings.warm_traces, rng, repeat_prob=0.0,
                          feedback=settings.feedback, multi=settings.warm_multi,
                          attempts=settings.warm_attempts)  # fmt: skip
    warm_start(model, tokenizer, traces, steps=steps, batch=settings.warm_batch, lr=lr, rng=rng)
    save_model(model, tokenizer, folder)
    return folder


def unlearn(out: Path, preset: str, *, progress: bool = True) -> list[dict[str, Any]]:
    """Run (or resume) the preset's candidates; write ``unlearn.md`` and ``unlearn.json``."""
    from experiments.replicate.evaluate import evaluate, write_problems
    from experiments.replicate.run import _settings_file, _warm

    settings = SETTINGS[preset]
    out.mkdir(parents=True, exist_ok=True)
    _settings_file(out, settings)
    train_problems, held_out, _ = problem_sets(settings)
    dataset = write_problems(out / "heldout.jsonl", held_out)
    _warm(out / "warm", train_problems, settings, 0, progress)
    warm = out / "warm" / "model"
    rows = []
    for steps, lr in [(0, 0.0), *CANDIDATES[preset]]:
        folder = out / (f"steps{steps}-lr{lr:g}" if steps else "warm")
        model = fine_tune(folder, warm, train_problems, settings, steps, lr) if steps else warm
        scores = evaluate(model, dataset, folder / "eval", settings, seed=0, progress=progress)
        rows.append({"steps": steps, "lr": lr, "repeat_rate": scores["repeat_rate"],
                     "formatted_rate": scores["formatted_rate"],
                     "accuracy": {str(k): v for k, v in scores["accuracy"].items()}})  # fmt: skip
    (out / "unlearn.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "unlearn.md").write_text(markdown(rows, settings))
    return rows


def markdown(rows: Sequence[Mapping[str, Any]], settings: Settings) -> str:
    """The table: fine-tuning steps and learning rate against the held-out scores."""
    lines = [
        "# Unlearning the warm start's repeats with supervision",
        "",
        f"The seed-0 warm start (traces that repeat with probability {settings.repeat_prob:g}) "
        "is fine-tuned on traces that never repeat, then evaluated on "
        f"{settings.eval_problems} held-out problems ({settings.eval_attempts} attempts, "
        "temperature 1, the eval's code path).",
        "",
        "| fine-tuning | repeat rate | change | acc k=1 | acc k=2 | change k=2 | boxed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    first = rows[0]
    for row in rows:
        label = "none (the warm start)" if not row["steps"] else (
            f"{row['steps']} steps, lr {row['lr']:g}")  # fmt: skip
        lines.append(
            f"| {label} | {100 * row['repeat_rate']:.1f}% | "
            f"{100 * (row['repeat_rate'] - first['repeat_rate']):+.1f} | "
            f"{100 * row['accuracy']['1']:.1f}% | {100 * row['accuracy']['2']:.1f}% | "
            f"{100 * (row['accuracy']['2'] - first['accuracy']['2']):+.1f} | "
            f"{100 * row['formatted_rate']:.0f}% |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m experiments.replicate.unlearn [--mini] [--out DIR]``: run, print the table."""
    return run_preset(
        argv,
        name="unlearn",
        description="Fine-tune the testbed's warm start on never-repeat traces with "
        "supervision, and measure how fast its held-out repeat rate falls.",
        work=unlearn,
    )


if __name__ == "__main__":
    import sys

    sys.exit(main())
