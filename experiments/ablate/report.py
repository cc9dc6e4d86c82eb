"""The ablation's report: a table of means with 95% intervals, paired comparisons, plots.

Metrics per scheme (held-out, the published multi-attempt protocol): accuracy within k
attempts for every k, the repeat rate (answers after the first that repeat a rejected one),
the formatted rate (answers that are boxed), the mean return under the paper's scheme (one
scale for every scheme), and the mean training reward of the last RL steps under the scheme's
own rewards (not comparable across schemes; shown for the training's health).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from experiments.ablate.presets import Ablation
from experiments.ablate.stats import interval, paired

#: Metrics compared between schemes, with their labels; accuracies are added per k.
METRICS = {
    "repeat_rate": "repeat rate",
    "formatted_rate": "formatted",
    "reward": "return (paper scheme)",
}


def _metric(scores: Mapping[str, Any], metric: str) -> float:
    if metric.startswith("acc@"):
        return float(scores["accuracy"][metric[4:]])
    return float(scores.get(metric, math.nan))


def metrics(ablation: Ablation) -> dict[str, str]:
    """Every compared metric's key and label, accuracies first."""
    ks = range(1, ablation.settings.eval_attempts + 1)
    return {**{f"acc@{k}": f"acc k={k}" for k in ks}, **METRICS}


def summarize(ablation: Ablation, seeds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Everything the report shows, JSON-ready (NaN where a value cannot be estimated)."""
    models = ["warm", *ablation.schemes]
    table = {
        model: {
            metric: dict(zip(("mean", "low", "high"),
                             interval([_metric(s[model], metric) for s in seeds]), strict=True))
            for metric in [*metrics(ablation), "train_reward"]
            if model != "warm" or metric != "train_reward"
        }
        for model in models
    }  # fmt: skip
    comparisons = {
        scheme: {
            metric: paired([_metric(s[scheme], metric) for s in seeds],
                           [_metric(s[ablation.baseline], metric) for s in seeds])
            for metric in metrics(ablation)
        }
        for scheme in ablation.schemes
        if scheme != ablation.baseline
    }  # fmt: skip
    return {"ablation": ablation.to_json(), "seeds": list(seeds), "table": table,
            "comparisons": comparisons}  # fmt: skip


def _cell(value: Mapping[str, float], scale: float, signed: bool = False) -> str:
    mean, low, high = (scale * value[k] for k in ("mean", "low", "high"))
    if math.isnan(mean):
        return "n/a"
    # Percentages to 0.1 point; returns and rewards (a scale of about ±1) to 0.01.
    digits = 1 if scale == 100.0 else 2
    text = f"{mean:+.{digits}f}" if signed else f"{mean:.{digits}f}"
    return text if math.isnan(low) else f"{text} [{low:.{digits}f}, {high:.{digits}f}]"


def _scale(metric: str) -> float:
    return 1.0 if metric in ("reward", "train_reward") else 100.0


def markdown(summary: Mapping[str, Any]) -> str:
    """The report as Markdown."""
    spec = summary["ablation"]
    settings = spec["settings"]
    ablation_metrics = [*(f"acc@{k}" for k in range(1, settings["eval_attempts"] + 1)),
                        *METRICS]  # fmt: skip
    labels = {**{f"acc@{k}": f"acc k={k}" for k in range(1, settings["eval_attempts"] + 1)},
              **METRICS}  # fmt: skip
    n = len(summary["seeds"])
    lines = [
        "# Reward-scheme ablation",
        "",
        f"{len(spec['schemes'])} schemes × {n} seed(s), each trained with RLOO for "
        f"{settings['steps']} steps from the same warm start per seed; evaluated on "
        f"{settings['eval_problems']} held-out problems with up to {settings['eval_attempts']} "
        f"attempts (feedback: {settings['feedback']}). Percentages (return: the paper's scale), "
        "mean and 95% interval over seeds (Student's t).",
        "",
        "| model | "
        + " | ".join(labels[m] for m in ablation_metrics)
        + " | training reward (own scheme) |",
        "|---|" + "---:|" * (len(ablation_metrics) + 1),
    ]
    for model, row in summary["table"].items():
        cells = [_cell(row[m], _scale(m)) for m in ablation_metrics]
        train = _cell(row["train_reward"], 1.0) if "train_reward" in row else "—"
        name = "warm start" if model == "warm" else f"`{model}`"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {train} |")
    lines += [
        "",
        f"## Paired differences against `{spec['baseline']}` (scheme minus baseline, per seed)",
        "",
        "| scheme | metric | difference | verdict |",
        "|---|---|---:|---|",
    ]
    resolved: list[str] = []
    noise: list[str] = []
    for scheme, rows in summary["comparisons"].items():
        for metric in ablation_metrics:
            c = rows[metric]
            cell = _cell(c, _scale(metric), signed=True)
            verdict = "**resolved**" if c["resolved"] else "within noise"
            lines.append(f"| `{scheme}` | {labels[metric]} | {cell} | {verdict} |")
            (resolved if c["resolved"] else noise).append(f"`{scheme}` {labels[metric]}")
    lines += [
        "",
        f"Resolved (the 95% interval excludes 0): {', '.join(resolved) or 'none'}.",
        f"Within noise: {len(noise)} of {len(resolved) + len(noise)} comparisons.",
    ]
    if n < 2:
        lines.append("With one seed no interval can be estimated: nothing is resolved.")
    return "\n".join(lines) + "\n"


def plot(out: Path, summary: Mapping[str, Any]) -> None:
    """``ablation.png``: accuracy vs k per scheme, and the paired differences at each k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ks = list(range(1, summary["ablation"]["settings"]["eval_attempts"] + 1))
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for model, row in summary["table"].items():
        mean = np.array([100 * row[f"acc@{k}"]["mean"] for k in ks])
        low = np.array([100 * row[f"acc@{k}"]["low"] for k in ks])
        high = np.array([100 * row[f"acc@{k}"]["high"] for k in ks])
        errors = None if np.isnan(low).any() else [mean - low, high - mean]
        left.errorbar(ks, mean, yerr=errors, capsize=3, fmt="o:" if model == "warm" else "o-",
                      label="warm start" if model == "warm" else model)  # fmt: skip
    left.set(xlabel="attempts k", ylabel="accuracy within k attempts (%)", xticks=ks,
             title="Held-out accuracy (95% interval)")  # fmt: skip
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    comparisons = summary["comparisons"]
    width = 0.8 / max(1, len(comparisons))
    for n, (scheme, rows) in enumerate(comparisons.items()):
        x = np.array(ks) + (n - (len(comparisons) - 1) / 2) * width
        mean = np.array([100 * rows[f"acc@{k}"]["mean"] for k in ks])
        low = np.array([100 * rows[f"acc@{k}"]["low"] for k in ks])
        high = np.array([100 * rows[f"acc@{k}"]["high"] for k in ks])
        errors = None if np.isnan(low).any() else [mean - low, high - mean]
        right.errorbar(x, mean, yerr=errors, fmt="o", capsize=3, label=scheme)
    right.axhline(0, color="black", lw=0.8)
    right.set(
        xlabel="attempts k",
        xticks=ks,
        ylabel="points",
        title=f"Paired difference from {summary['ablation']['baseline']} (95% interval)",
    )
    right.grid(alpha=0.3)
    if comparisons:
        right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "ablation.png", dpi=110)
    plt.close(figure)


def write(out: Path, ablation: Ablation, seeds: Sequence[Mapping[str, Any]]) -> str:
    """``ablation.md``, ``ablation.json`` (the summary) and ``ablation.png``; the Markdown."""
    summary = summarize(ablation, seeds)
    text = markdown(summary)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "summary.md").write_text(text)
    plot(out, summary)
    return text
