"""The experiment's report: per-seed numbers, means and spreads, the two effects, the plots."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.replicate.settings import Settings

ARMS = ("warm", "multi", "single", "single_compute")
LABELS = {
    "warm": "warm start",
    "multi": "+ multi-attempt RL",
    "single": "+ single-turn RL, equal steps",
    "single_compute": "+ single-turn RL, equal compute",
}

RUNS = {"multi": "multi-attempt RL", "single": "single-turn RL"}

#: The feedback strings' descriptions in the report.
FEEDBACK = {"answer": "quoting the rejected answer", "binary": "the paper's binary one"}

#: Learning from failures (issue 28's bar, every seed): the repeat rate falls by at least
#: ``REPEAT_DROP`` points and accuracy within 2 attempts rises by at least ``LEARN`` points
#: over the warm start.
REPEAT_DROP = 15
LEARN = 5


def arms(evals: Sequence[Mapping[str, Any]]) -> list[str]:
    """The evaluated models, in report order (equal compute only when it differs)."""
    return [arm for arm in ARMS if arm in evals[0]]


def effects(evals: Mapping[str, Mapping[str, Any]], last: int) -> dict[str, float]:
    """The two effects of one seed (accuracies in points).

    ``gap``: the k=1→``last`` gain of the multi-attempt model minus that of the single-turn
    model at equal steps; ``gap_compute``: the same against the single-turn model at equal
    compute (when it was trained longer; otherwise equal to ``gap``).
    ``learn``: the multi-attempt model's accuracy at k=2 minus its warm start's.
    ``repeat_drop``: the warm start's repeat rate minus the multi-attempt model's (points).
    """

    def gain(arm: str) -> float:
        return 100 * float(evals[arm]["accuracy"][last] - evals[arm]["accuracy"][1])

    return {
        "gap": gain("multi") - gain("single"),
        "gap_compute": gain("multi")
        - gain("single_compute" if "single_compute" in evals else "single"),  # fmt: skip
        "learn": 100 * (evals["multi"]["accuracy"][2] - evals["warm"]["accuracy"][2]),
        "repeat_drop": 100 * (evals["warm"]["repeat_rate"] - evals["multi"]["repeat_rate"]),
    }


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    mean = float(np.mean(values))
    if len(values) < 2:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {float(np.std(values, ddof=1)):.1f}"


def summarize(
    settings: Settings,
    evals: Sequence[Mapping[str, Mapping[str, Any]]],
    histories: Sequence[Mapping[str, Sequence[Mapping[str, float]]]],
    dropped: int,
) -> dict[str, Any]:
    """Everything the report shows, JSON-ready."""
    ks = list(range(1, settings.eval_attempts + 1))
    per_seed = [effects(e, ks[-1]) for e in evals]
    spans = {"multi": ("multi", settings.steps), "single": ("single", settings.steps),
             "single_compute": ("single", settings.single_steps)}  # fmt: skip
    compute = {
        arm: {
            "steps": steps,
            "model_tokens": [sum(s["model_tokens"] for s in h[run][:steps]) for h in histories],
            "seconds": [sum(s["seconds"] for s in h[run][:steps]) for h in histories],
        }
        for arm, (run, steps) in spans.items()
        if arm in evals[0]
    }
    gaps = [e["gap"] for e in per_seed]
    gaps_compute = [e["gap_compute"] for e in per_seed]
    learns = [e["learn"] for e in per_seed]
    drops = [e["repeat_drop"] for e in per_seed]
    return {
        "settings": settings.to_json(),
        "held_out_dropped_for_overlap": dropped,
        "evals": [
            {
                arm: {
                    "accuracy": {str(k): e[arm]["accuracy"][k] for k in ks},
                    "repeat_rate": e[arm]["repeat_rate"],
                    "episodes": e[arm]["episodes"],
                }
                for arm in arms(evals)
            }
            for e in evals
        ],  # fmt: skip
        "effects": per_seed,
        "compute": compute,
        "goals": {
            "gap_over_10_every_seed_same_sign": _gap_goal(gaps),
            "gap_over_10_every_seed_same_sign_equal_compute": _gap_goal(gaps_compute),
            "learn_5_points_every_seed": all(x >= LEARN for x in learns),
            "repeat_rate_falls_every_seed": all(d > 0 for d in drops),
            "repeat_rate_falls_15_every_seed": all(d >= REPEAT_DROP for d in drops),
            "learns_from_failures_every_seed": all(
                d >= REPEAT_DROP and x >= LEARN for d, x in zip(drops, learns, strict=True)
            ),
        },
    }


def _gap_goal(gaps: Sequence[float]) -> bool:
    return bool(np.mean(gaps) > 10 and (all(g > 0 for g in gaps) or all(g < 0 for g in gaps)))


def markdown(summary: Mapping[str, Any]) -> str:
    """The report as Markdown."""
    settings = summary["settings"]
    ks = list(range(1, settings["eval_attempts"] + 1))
    evals = summary["evals"]
    lines = [
        "# Multi-attempt vs single-turn RL, end to end on a CPU",
        "",
        f"{len(evals)} seed(s); {settings['eval_problems']} held-out problems (built-in "
        f"remainder, level 1; {summary['held_out_dropped_for_overlap']} candidates dropped "
        "because the training set has the same statement); temperature 1; the published "
        f"multi-attempt protocol with up to {ks[-1]} attempts, feedback "
        f"{FEEDBACK.get(settings['feedback'], repr(settings['feedback']))}.",
        "",
        "Accuracy (%) within k attempts, mean ± sample std over seeds, and the share of answers"
        " after the first that repeat an earlier rejected answer:",
        "",
        "| model | " + " | ".join(f"k={k}" for k in ks) + " | repeats an earlier wrong answer |",
        "|---|" + "---|" * (len(ks) + 1),
    ]
    for arm in arms(evals):
        cells = [_spread([100 * e[arm]["accuracy"][str(k)] for e in evals]) for k in ks]
        rates = [100 * e[arm]["repeat_rate"] for e in evals]
        rate = _spread([r for r in rates if not math.isnan(r)])
        lines.append(f"| {LABELS[arm]} | " + " | ".join(cells) + f" | {rate}% |")
    lines += ["", "Per seed (accuracy % at each k; repeat rate %):", ""]
    lines.append("| seed | model | " + " | ".join(f"k={k}" for k in ks) + " | repeats |")
    lines.append("|---|---|" + "---|" * (len(ks) + 1))
    for seed, e in enumerate(evals):
        for arm in arms(evals):
            row = " | ".join(f"{100 * e[arm]['accuracy'][str(k)]:.1f}" for k in ks)
            lines.append(f"| {seed} | {LABELS[arm]} | {row} | {100 * e[arm]['repeat_rate']:.1f} |")
    effects_ = summary["effects"]
    goals = summary["goals"]
    compute = "single_compute" in evals[0]
    gap_head = f"(1) gain k=1→{ks[-1]}, multi minus single"
    lines += [
        "",
        "## The two effects, per seed (points)",
        "",
        f"| seed | {gap_head}, equal steps |"
        + (f" {gap_head}, equal compute |" if compute else "")
        + " (2) multi minus warm start at k=2 | repeat rate, warm start minus multi |",
        "|---|---|---|---|" + ("---|" if compute else ""),
    ]
    columns = ["gap", *(["gap_compute"] if compute else []), "learn", "repeat_drop"]
    for seed, e in enumerate(effects_):
        lines.append(f"| {seed} | " + " | ".join(f"{e[c]:+.1f}" for c in columns) + " |")
    lines.append(
        "| mean ± std | " + " | ".join(_spread([e[c] for e in effects_]) for c in columns) + " |"
    )

    def verdict(key: str) -> str:
        return "holds" if goals[key] else "does not hold"

    lines += [
        "",
        f"- (1) goal > 10 points, every seed the same sign: at equal steps "
        f"**{verdict('gap_over_10_every_seed_same_sign')}**"
        + (
            f"; at equal compute **{verdict('gap_over_10_every_seed_same_sign_equal_compute')}**"
            if compute
            else ""
        )
        + ".",
        f"- (2) learning from failures, every seed: accuracy within 2 attempts ≥ {LEARN} "
        f"points over the warm start **{verdict('learn_5_points_every_seed')}**; the repeat "
        f"rate falls by ≥ {REPEAT_DROP} points **{verdict('repeat_rate_falls_15_every_seed')}**"
        f" (falls at all: {'yes' if goals['repeat_rate_falls_every_seed'] else 'no'}); both "
        f"in every seed: **{verdict('learns_from_failures_every_seed')}**.",
        "",
        "## Compute",
        "",
        "| model | RL steps | model tokens generated (mean over seeds) | CPU seconds (mean) |",
        "|---|---|---|---|",
    ]
    for arm, c in summary["compute"].items():
        lines.append(
            f"| {LABELS[arm]} | {c['steps']} | {np.mean(c['model_tokens']):,.0f} | "
            f"{np.mean(c['seconds']):.0f} |"
        )
    return "\n".join(lines) + "\n"


def plot(out: Path, summary: Mapping[str, Any], histories: Sequence[Mapping[str, Any]]) -> None:
    """Draw ``curves.png`` and ``training.png``.

    ``curves.png``: accuracy vs k, error bars over seeds, the repeat rate in the legend.
    ``training.png``: reward, solved, attempts and repeat rate per RL step, against the CPU
    time spent (the arms line up at equal compute).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = list(range(1, summary["settings"]["eval_attempts"] + 1))
    evals = summary["evals"]
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    styles = {"warm": "o:", "multi": "o-", "single": "s--", "single_compute": "^-."}
    for arm in arms(evals):
        style = styles[arm]
        values = np.array([[100 * e[arm]["accuracy"][str(k)] for k in ks] for e in evals])
        spread = values.std(0, ddof=1) if len(values) > 1 else np.zeros(len(ks))
        rates = [
            100 * e[arm]["repeat_rate"] for e in evals if not math.isnan(e[arm]["repeat_rate"])
        ]
        rate = float(np.mean(rates)) if rates else float("nan")
        axes.errorbar(ks, values.mean(0), yerr=spread, fmt=style, capsize=3,
                      label=f"{LABELS[arm]} (repeats {rate:.0f}%)")  # fmt: skip
    title = f"Held-out accuracy by attempt budget ({len(evals)} seed(s), ±1 std)"
    axes.set(xlabel="attempts k", ylabel="accuracy within k attempts (%)", xticks=ks,
             title=title)  # fmt: skip
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "curves.png", dpi=120)
    plt.close(figure)

    metrics = ("reward", "solved", "attempts", "repeat_rate")
    figure, grid = plt.subplots(2, 2, figsize=(9, 6), sharex=True)
    for axes, metric in zip(grid.ravel(), metrics, strict=True):
        for arm in ("multi", "single"):
            runs = [np.array([s[metric] for s in h[arm]], dtype=float) for h in histories]
            width = min(len(r) for r in runs)
            stacked = np.stack([r[:width] for r in runs])
            if np.isnan(stacked).all():  # single-turn episodes have no later attempts
                continue
            mean = np.nanmean(stacked, 0)
            # x: CPU time, so that the arms line up at equal compute
            clock = np.cumsum(
                np.mean([[s["seconds"] for s in h[arm][:width]] for h in histories], 0)
            )
            window = max(1, width // 15)
            smooth = np.convolve(np.nan_to_num(mean), np.ones(window) / window, mode="valid")
            axes.plot(clock[window - 1 :], smooth, label=f"{RUNS[arm]}, {width} steps")
        axes.set(title=metric.replace("_", " "), xlabel="CPU seconds of RL (mean over seeds)")
        axes.grid(alpha=0.3)
    grid[0, 0].legend(fontsize=8)
    figure.suptitle("Training curves (mean over seeds, moving average)")
    figure.tight_layout()
    figure.savefig(out / "training.png", dpi=110)
    plt.close(figure)


def write(out: Path, summary: Mapping[str, Any], histories: Sequence[Mapping[str, Any]]) -> str:
    """``summary.json``, ``summary.md``, ``curves.png`` and ``training.png``; the Markdown."""
    text = markdown(summary)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "summary.md").write_text(text)
    plot(out, summary, histories)
    return text
