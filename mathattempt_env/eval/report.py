"""``summary.md`` and ``accuracy_vs_attempts.png`` from a summary (see :mod:`.metrics`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

S2R_COLUMNS = (
    "final_accuracy",
    "verification_accuracy",
    "error_recall",
    "correct_precision",
    "incorrect_to_correct",
    "correct_to_incorrect",
)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _accuracy_table(
    accuracy: Mapping[str, Any], counts: Mapping[str, int], ks: Sequence[int]
) -> list[str]:
    lines = ["| dataset | problems | " + " | ".join(f"k={k}" for k in ks) + " |"]
    lines.append("|---|---|" + "---|" * len(ks))
    for name, count in counts.items():
        cells = " | ".join(_percent(accuracy[name][k]) for k in ks)
        lines.append(f"| {name} | {count} | {cells} |")
    if counts:
        cells = " | ".join(f"**{_percent(accuracy['average'][k])}**" for k in ks)
        lines.append(f"| **average** | {sum(counts.values())} | {cells} |")
    return lines


def summary_markdown(summary: Mapping[str, Any], ks: Sequence[int], title: str) -> str:
    """The summary as Markdown: accuracy (%) per dataset and k, the average, S²R metrics, tool use.

    Examples:
        >>> s = {"accuracy": {"a": {1: 0.5}, "average": {1: 0.5}}, "episodes": {"a": 2}, "s2r": {}}
        >>> print(summary_markdown(s, [1], "demo"))
        # demo
        <BLANKLINE>
        Accuracy (%) solved within k attempts.
        <BLANKLINE>
        | dataset | problems | k=1 |
        |---|---|---|
        | a | 2 | 50.0 |
        | **average** | 2 | **50.0** |
        <BLANKLINE>
    """
    accuracy, counts = summary["accuracy"], summary["episodes"]
    lines = [f"# {title}", "", "Accuracy (%) solved within k attempts.", ""]
    lines += _accuracy_table(accuracy, counts, ks)
    failures = summary.get("failed") or {}
    if failures:
        lines += [
            "",
            "Failed episodes (the backend failed: timeouts or bad replies after every retry;"
            " not counted above; run the same command again to retry them): "
            + ", ".join(f"{name} {count}" for name, count in failures.items())
            + ".",
        ]
    if summary.get("lenient"):
        lines += [
            "",
            "Lenient reading (%): the same solutions, an answer without a box also counts"
            " (the episodes themselves follow the boxed protocol).",
            "",
        ]
        lines += _accuracy_table(summary["lenient"], counts, ks)
    if summary["s2r"]:
        lines += ["", "S²R metrics (%).", ""]
        lines.append("| dataset | " + " | ".join(c.replace("_", " ") for c in S2R_COLUMNS) + " |")
        lines.append("|---|" + "---|" * len(S2R_COLUMNS))
        for name, metrics in summary["s2r"].items():
            lines.append(
                f"| {name} | " + " | ".join(_percent(metrics[c]) for c in S2R_COLUMNS) + " |"
            )
    if summary.get("tool"):
        lines += _tool_table(summary["tool"])
    return "\n".join(lines) + "\n"


def _tool_table(tool: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = [
        "",
        "Tool use: calls per problem; error and timeout rates (% of calls; sandbox errors are"
        " the sandbox's own failures, counted apart); final accuracy (%) of the episodes that"
        " called the tool and of those that did not (episodes).",
        "",
        "| dataset | calls/problem | errors | timeouts | sandbox errors"
        " | accuracy with tool | accuracy without |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, use in tool.items():
        lines.append(
            f"| {name} | {use['calls_per_problem']:.2f} | {_percent(use['error_rate'])}"
            f" | {_percent(use['timeout_rate'])} | {use['sandbox_errors']}"
            f" | {_percent(use['accuracy_with_tool'])} ({use['with_tool']})"
            f" | {_percent(use['accuracy_without_tool'])} ({use['without_tool']}) |"
        )
    return lines


def plot_accuracy(
    path: Path,
    runs: Sequence[tuple[str, Mapping[str, Any]]],
    ks: Sequence[int],
    title: str = "",
) -> None:
    """Accuracy against attempts: one line per dataset and their average, per run.

    Every line has a colour of its own: each dataset a hue, the first run its dark shade and
    a second run (``--compare``) its light shade, dashed, with square markers. The average
    is a thin dotted line drawn beneath the datasets' lines, so a dataset whose line
    coincides with it stays visible; with one dataset the average is that dataset's line and
    is not drawn again. The y axis is 0-100%.

    Args:
        path: the PNG to write.
        runs: ``(label, summary)`` pairs.
        ks: the attempt counts on the x axis.
        title: the figure title (the env, the model, the attempts).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    # tab20 holds ten hues, each as a dark and a light shade; tab20c ten more pairs.
    shades = plt.get_cmap("tab20").colors + plt.get_cmap("tab20c").colors
    hues = {name: i for i, name in enumerate(n for n in runs[0][1]["accuracy"] if n != "average")}
    for number, (label, summary) in enumerate(runs):
        style, marker = ("-", "o") if number == 0 else ("--", "s")
        datasets = [n for n in summary["accuracy"] if n != "average"]
        for name, row in summary["accuracy"].items():
            average = name == "average"
            if average and len(datasets) == 1:
                continue  # the same line as the one dataset's
            shown = [k for k in ks if k in row]
            axes.plot(
                shown,
                [100 * row[k] for k in shown],
                ":" if average else style,
                marker=marker,
                markersize=3 if average else 5,
                color=("black" if number == 0 else "dimgray")
                if average
                else shades[(2 * hues.setdefault(name, len(hues)) + min(number, 1)) % 40],
                linewidth=1.2 if average else 1.6,
                zorder=1 if average else 3,
                label=f"{name} ({label})" if len(runs) > 1 else name,
                clip_on=False,
            )
    axes.set_xlabel("attempts k")
    axes.set_ylabel("accuracy (%) solved within k attempts")
    axes.set_xticks(list(ks))
    axes.set_ylim(0, 100)
    if title:
        axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
