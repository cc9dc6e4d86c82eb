"""The whole experiment, resumable: warm start, both RL arms, evaluation, report, per seed.

Every stage writes its result under the output folder and is skipped when it is already
there, so re-running the same command after a kill goes on where it stopped (an RL arm from
its last checkpoint, an evaluation from its last finished episode). The settings are saved
first; resuming into a folder made with other settings is refused.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from experiments.replicate import report
from experiments.replicate.evaluate import evaluate, write_problems
from experiments.replicate.rloo import save_model, train
from experiments.replicate.settings import MULTI, SINGLE, Settings, problem_sets
from experiments.replicate.warmstart import warm_start, write_traces
from mathattempt_env.errors import ConfigError

ARM_ENVS = {"multi": MULTI, "single": SINGLE}


def _bar(total: int, description: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=description, disable=not enabled, leave=False)


def _settings_file(out: Path, settings: Settings) -> None:
    path = out / "settings.json"
    if path.is_file():
        changed = settings.changed_from(json.loads(path.read_text()))
        if changed:
            raise ConfigError(
                f"{out} holds a run with other settings ({', '.join(changed)} differ); "
                "use another --out, or delete it to start over"
            )
    else:
        path.write_text(json.dumps(settings.to_json(), indent=1) + "\n")


def _warm(folder: Path, train_problems: list[Any], settings: Settings, seed: int,
          progress: bool) -> None:  # fmt: skip
    """Fit (or find on disk) one seed's warm start; ``fit.json`` holds its wall time."""
    import torch  # noqa: F401 - first, so that a missing extra is named before transformers warns

    from experiments.tiny import tiny_qwen2, tiny_tokenizer

    if (folder / "model").is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model, tokenizer = tiny_qwen2(tiny_tokenizer(settings.vocab), hidden_size=settings.hidden,
                                  layers=settings.layers, seed=seed)  # fmt: skip
    rng = np.random.default_rng([seed, 1])
    traces = write_traces(train_problems, settings.warm_traces, rng,
                          repeat_prob=settings.repeat_prob, feedback=settings.feedback,
                          multi=settings.warm_multi, attempts=settings.warm_attempts)  # fmt: skip
    with _bar(settings.warm_steps, f"seed {seed}: warm start", progress) as bar:

        def step(loss: float) -> None:
            bar.set_postfix_str(f"loss {loss:.3f}")
            bar.update(1)

        losses = warm_start(model, tokenizer, traces, steps=settings.warm_steps,
                            batch=settings.warm_batch, lr=settings.warm_lr, rng=rng,
                            warmup=settings.warm_warmup,
                            progress=step)  # fmt: skip
    (folder / "losses.json").write_text(json.dumps(losses) + "\n")
    seconds = time.perf_counter() - started
    (folder / "fit.json").write_text(json.dumps({"seconds": seconds}) + "\n")
    save_model(model, tokenizer, folder / "model")


def _arm(folder: Path, warm: Path, arm: str, train_problems: list[Any], settings: Settings,
         seed: int, progress: bool) -> list[dict[str, float]]:  # fmt: skip
    from transformers import AutoModelForCausalLM, AutoTokenizer

    done = folder / "training.json"
    if (folder / "model").is_dir() and done.is_file():
        history: list[dict[str, float]] = json.loads(done.read_text())
        return history
    model = AutoModelForCausalLM.from_pretrained(warm)
    tokenizer = AutoTokenizer.from_pretrained(warm)
    steps = settings.steps if arm == "multi" else settings.single_steps
    # The single-turn arm runs to equal compute; its model after ``settings.steps`` steps
    # (equal steps) is kept on the way.
    snapshots = [settings.steps] if arm == "single" and steps > settings.steps else []
    with _bar(steps, f"seed {seed}: {arm} RL", progress) as bar:

        def step(n: int, metrics: dict[str, float]) -> None:
            bar.n = n
            bar.set_postfix_str(f"reward {metrics['reward']:+.2f} solved {metrics['solved']:.2f}")
            bar.refresh()

        history = train(model, tokenizer, ARM_ENVS[arm], train_problems, settings, steps=steps,
                        seed=seed * 1000 + (1 if arm == "multi" else 2), folder=folder,
                        snapshots=snapshots, progress=step)  # fmt: skip
    done.write_text(json.dumps(history) + "\n")
    save_model(model, tokenizer, folder / "model")
    return history


def run(out: Path, settings: Settings, *, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the experiment in ``out``; write the report; return its summary."""
    out.mkdir(parents=True, exist_ok=True)
    _settings_file(out, settings)
    train_problems, held_out, dropped = problem_sets(settings)
    dataset = write_problems(out / "heldout.jsonl", held_out)
    evals, histories = [], []
    for seed in range(settings.seeds):
        folder = out / f"seed{seed}"
        _warm(folder / "warm", train_problems, settings, seed, progress)
        warm = folder / "warm" / "model"
        history = {arm: _arm(folder / arm, warm, arm, train_problems, settings, seed, progress)
                   for arm in ARM_ENVS}  # fmt: skip
        models = {"warm": warm, "multi": folder / "multi" / "model"}
        if settings.single_steps > settings.steps:  # equal steps, and equal compute
            models["single"] = folder / "single" / f"model-step{settings.steps}"
            models["single_compute"] = folder / "single" / "model"
        else:
            models["single"] = folder / "single" / "model"
        evals.append({
            name: evaluate(path, dataset, folder / f"eval-{name}", settings, seed=seed,
                           progress=progress)
            for name, path in models.items()
        })  # fmt: skip
        histories.append(history)
    summary = report.summarize(settings, evals, histories, dropped)
    report.write(out, summary, histories)
    return summary
