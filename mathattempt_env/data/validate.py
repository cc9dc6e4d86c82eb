"""Turn rows into :class:`~mathattempt_env.types.Problem` objects, naming every bad row.

Examples:
    >>> rows = [{"id": "a", "problem": "1+1?", "answer": "2"}, {"id": "a", "problem": "x"}]
    >>> to_problems(rows, "demo")
    Traceback (most recent call last):
    ...
    mathattempt_env.errors.DatasetError: demo: 2 bad rows
      row 'a' (index 1): missing field 'answer'
      row 'a' (index 1): duplicate id (first at index 0)
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mathattempt_env.errors import DatasetError, InvalidGoldError
from mathattempt_env.grading import validate_gold
from mathattempt_env.types import Problem

REQUIRED = ("id", "problem", "answer")
OPTIONAL = ("source", "level", "subject", "solution")
_LEVEL = re.compile(r"^\s*(?:level\s*)?(\d+)\s*$", re.IGNORECASE)


def _where(row: Any, index: int, label: str | None = None) -> str:
    ident = row.get("id") if isinstance(row, Mapping) else None
    if label is not None:  # a file line: "line 12 (id 'a')"
        return f"{label} (id {ident!r})" if isinstance(ident, str) else label
    return f"row {ident!r} (index {index})" if isinstance(ident, str) else f"row at index {index}"


def _surrogate(value: str) -> int:
    """The index of the first lone surrogate in ``value``, or -1."""
    if value.isascii():
        return -1
    return next((i for i, ch in enumerate(value) if 0xD800 <= ord(ch) <= 0xDFFF), -1)


def _level(value: Any) -> int | None:
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _LEVEL.match(value) if isinstance(value, str) else None
    if match:
        return int(match.group(1))
    if isinstance(value, str) and value.strip().lower() in ("level ?", "?", ""):
        return None
    raise ValueError(f"field 'level': expected an int or 'Level N', got {value!r}")


def _problem(
    row: Any, index: int, source: str, label: str | None = None
) -> tuple[Problem | None, list[str]]:
    if isinstance(row, Problem):  # checked like any row: a Problem can hold a bad gold too
        row = dataclasses.asdict(row)
    if not isinstance(row, Mapping):
        where = _where(None, index, label)
        return None, [f"{where}: expected a dict or Problem, got {type(row).__name__}"]
    where = _where(row, index, label)
    errors = [f"{where}: missing field {name!r}" for name in REQUIRED if name not in row]
    for name in ("id", "problem"):
        value = row.get(name)
        if name in row and (not isinstance(value, str) or not value.strip()):
            errors.append(f"{where}: field {name!r} must be a non-empty string, got {value!r}")
    if "answer" in row:
        try:
            validate_gold(row["answer"])
        except InvalidGoldError as e:
            errors.append(f"{where}: field 'answer' {e.problem}; got {row['answer']!r}"[:300])
    for name in ("subject", "solution", "source"):
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(f"{where}: field {name!r} must be a string, got {value!r}")
    for name in ("id", "problem", "subject", "solution", "source"):
        text = row.get(name)
        if isinstance(text, str) and (at := _surrogate(text)) >= 0:
            errors.append(
                f"{where}: field {name!r} has a lone surrogate {text[at]!r} at character {at}"
                " (an escape like \\ud800 that is half of a pair; not valid text)"
            )
    try:
        level = _level(row.get("level"))
    except ValueError as e:
        errors.append(f"{where}: {e}")
    if errors:
        return None, errors
    return Problem(
        id=row["id"],
        problem=row["problem"],
        answer=row["answer"],
        source=row.get("source") or source,
        level=level,
        subject=row.get("subject"),
        solution=row.get("solution"),
    ), []


def check_rows(
    rows: Iterable[Any], source: str, labels: Sequence[str] | None = None
) -> tuple[list[Problem], list[str]]:
    """Check rows and convert the good ones; returns the problems and one line per error.

    Args:
        rows: the rows, in order.
        source: the default ``source`` tag of the problems.
        labels: how to name each row in errors (``"line 12"``); default: by index and id.
    """
    problems: list[Problem] = []
    errors: list[str] = []
    first: dict[str, str] = {}
    for index, row in enumerate(rows):
        label = labels[index] if labels is not None else None
        problem, row_errors = _problem(row, index, source, label)
        errors += row_errors
        ident = problem.id if problem else row.get("id") if isinstance(row, Mapping) else None
        if isinstance(ident, str):
            here = label if label is not None else f"index {index}"
            if ident in first:
                errors.append(
                    f"{_where({'id': ident}, index, label)}: duplicate id (first at {first[ident]})"
                )
            else:
                first[ident] = here
        if problem is not None:
            problems.append(problem)
    return problems, errors


def to_problems(
    rows: Iterable[Any], source: str, labels: Sequence[str] | None = None
) -> list[Problem]:
    """Check rows (dicts with ``id``, ``problem``, ``answer``, ... or Problems) and convert them.

    Args:
        rows: the rows, in order.
        source: where they came from, used in errors and as the default ``source`` tag.
        labels: how to name each row in errors (``"line 12"``); default: by index and id.

    Returns:
        The problems, in order.

    Raises:
        DatasetError: listing every bad row: a missing or mistyped field, an ungradeable gold
            answer, a lone surrogate in a text field, or a duplicate id.
    """
    problems, errors = check_rows(rows, source, labels)
    if errors:
        raise DatasetError(source, errors)
    if not problems:
        raise DatasetError(source, ["no rows"])
    return problems


def problem_key(text: str) -> str:
    """Normalize a problem statement for overlap checks: Unicode NFKC, case and spacing.

    Examples:
        >>> problem_key("What is  $2+2$ ?\\n") == problem_key("what is $2 + 2$?")
        True
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(text.split())


def find_overlap(train: Sequence[Problem], evaluation: Sequence[Problem]) -> list[tuple[str, str]]:
    """Pairs ``(train_id, eval_id)`` whose problem statements match after normalization.

    Use it to check that a training set does not contain evaluation problems, e.g. MATH
    train against MATH500.

    Examples:
        >>> a = [Problem("t1", "What is 2+2?", "4")]
        >>> b = [Problem("e1", "what is 2 + 2?", "4"), Problem("e2", "What is 3+3?", "6")]
        >>> find_overlap(a, b)
        [('t1', 'e1')]
    """
    index: dict[str, list[str]] = {}
    for p in train:
        index.setdefault(problem_key(p.problem), []).append(p.id)
    return [
        (train_id, p.id) for p in evaluation for train_id in index.get(problem_key(p.problem), [])
    ]
