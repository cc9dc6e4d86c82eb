"""Accuracy at k and S²R metrics from ``results.jsonl`` records.

Accuracy at k is the share of problems solved within the first k attempts. One run with a
budget of K attempts gives it for every k <= K, since an episode stops at its first correct
attempt. The average over datasets is the unweighted mean of the datasets' accuracies, as the
multi-attempt paper averages its five benchmarks.

Examples:
    >>> def record(dataset, first):
    ...     return {"dataset": dataset, "first_correct": first, "correct": first is not None,
    ...             "grades": []}
    >>> records = [record("a", 1), record("a", None), record("b", 2)]
    >>> summarize(records, [1, 2])["accuracy"]
    {'a': {1: 0.5, 2: 0.5}, 'b': {1: 0.0, 2: 1.0}, 'average': {1: 0.25, 2: 0.75}}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mathattempt_env.rewards import s2r_metrics
from mathattempt_env.types import ActionRecord, Grade


def accuracy_at_k(
    records: Sequence[Mapping[str, Any]], k: int, field: str = "first_correct"
) -> float:
    """The share of records whose first correct attempt is at most ``k`` (0.0 for none).

    Args:
        records: results records.
        k: attempts.
        field: ``first_correct`` (the boxed protocol) or ``lenient_first_correct``.

    Examples:
        >>> accuracy_at_k([{"first_correct": 2}], 1), accuracy_at_k([{"first_correct": 2}], 2)
        (0.0, 1.0)
    """
    if not records:
        return 0.0
    solved = sum(r.get(field) is not None and int(r[field]) <= k for r in records)
    return float(solved / len(records))


def by_dataset(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Group records by their ``dataset`` field, in order of first appearance."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault(str(record["dataset"]), []).append(record)
    return groups


def _records(grades: Sequence[Mapping[str, Any]]) -> list[ActionRecord]:
    """Rebuild an episode's action records from its stored grades."""
    actions = []
    for g in grades:
        if g["kind"] == "solve":
            grade = Grade(
                g["correct"], g["formatted"], g["extracted"], g["reason"],
                source=g.get("source", "none"),
            )  # fmt: skip
            actions.append(ActionRecord("solve", grade, cut=g.get("cut", False)))
        else:
            actions.append(
                ActionRecord("verify", verdict=g["verdict"], target_correct=g["target_correct"])
            )
    return actions


def tool_use(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """How a tool env's episodes used the tool.

    Rates are shares of all calls; a ``sandbox-error`` is the sandbox's failure, counted
    apart from the code's errors. Accuracy is that of the final answer, split by whether
    the episode called the tool at all.

    Examples:
        >>> def record(correct, *statuses):
        ...     return {"correct": correct, "tool_calls": [{"status": s} for s in statuses]}
        >>> use = tool_use([record(True, "ok", "error"), record(False, "timeout"), record(True)])
        >>> use["calls_per_problem"], use["error_rate"], use["accuracy_with_tool"]
        (1.0, 0.3333333333333333, 0.5)
    """
    calls = [c for r in records for c in r.get("tool_calls") or ()]
    used = [r for r in records if r.get("tool_calls")]
    unused = [r for r in records if not r.get("tool_calls")]

    def share(status: str) -> float:
        return sum(c.get("status") == status for c in calls) / len(calls) if calls else 0.0

    def accuracy(group: Sequence[Mapping[str, Any]]) -> float | None:
        return sum(bool(r["correct"]) for r in group) / len(group) if group else None

    return {
        "calls_per_problem": len(calls) / len(records) if records else 0.0,
        "calls": len(calls),
        "error_rate": share("error"),
        "timeout_rate": share("timeout"),
        "sandbox_errors": sum(c.get("status") == "sandbox-error" for c in calls),
        "with_tool": len(used),
        "accuracy_with_tool": accuracy(used),
        "without_tool": len(unused),
        "accuracy_without_tool": accuracy(unused),
    }


def summarize(records: Iterable[Mapping[str, Any]], ks: Sequence[int]) -> dict[str, Any]:
    """Accuracy at each k per dataset and on average, counts, and S²R metrics where present.

    Returns:
        ``accuracy`` ({dataset or "average": {k: accuracy}}), ``lenient`` (the same under
        the lenient reading, where records have it), ``episodes`` ({dataset: n}),
        and ``s2r`` ({dataset: ``final_accuracy`` (the last solution is right) and
        :func:`~mathattempt_env.rewards.s2r_metrics`} for datasets whose episodes include
        verifications; there, accuracy at k=1 is the first solution's accuracy).
    """
    groups = by_dataset(records)
    accuracy: dict[str, dict[int, float]] = {
        name: {k: accuracy_at_k(group, k) for k in ks} for name, group in groups.items()
    }
    if groups:
        accuracy["average"] = {
            k: sum(accuracy[name][k] for name in groups) / len(groups) for k in ks
        }
    lenient: dict[str, dict[int, float]] = {}
    if groups and all("lenient_first_correct" in r for g in groups.values() for r in g):
        lenient = {
            name: {k: accuracy_at_k(group, k, "lenient_first_correct") for k in ks}
            for name, group in groups.items()
        }
        lenient["average"] = {k: sum(lenient[name][k] for name in groups) / len(groups) for k in ks}
    s2r = {}
    for name, group in groups.items():
        episodes = [_records(r["grades"]) for r in group]
        if any(a.kind == "verify" for actions in episodes for a in actions):
            final = sum(bool(r["correct"]) for r in group) / len(group)
            s2r[name] = {"final_accuracy": final, **s2r_metrics(episodes)}
    tool = {
        name: tool_use(group)
        for name, group in groups.items()
        if any("tool_calls" in r for r in group)
    }
    return {
        "accuracy": accuracy,
        "lenient": lenient,
        "episodes": {name: len(group) for name, group in groups.items()},
        "s2r": s2r,
        "tool": tool,
    }
