"""Read problems from a JSON Lines file in the schema of ``../shared/data``.

Each line is an object with ``id``, ``problem`` and ``answer`` (strings), and optionally
``source``, ``level``, ``subject`` and ``solution``. Other fields are ignored.

Every problem of a file is reported in one :class:`~mathattempt_env.errors.DatasetError`,
by file line: bytes that are not UTF-8, lines that are not JSON objects, duplicated keys,
and bad rows (missing or mistyped fields, ungradeable golds, lone surrogates, duplicate ids).
A file is read and validated once per content: loading the same bytes again (``gym.make`` on
a path an earlier load read) reuses the problems.

Examples:
    >>> import json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.jsonl")
    >>> with open(path, "w") as f:
    ...     _ = f.write(json.dumps({"id": "q1", "problem": "1+1?", "answer": "2"}) + "\\n")
    >>> read_jsonl(path)[0].answer
    '2'
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from functools import partial
from typing import Any

from mathattempt_env.data.validate import check_rows
from mathattempt_env.errors import ConfigError, DatasetError
from mathattempt_env.types import Problem

#: Files whose validated problems are kept, most recently used first out last.
CACHED_FILES = 8

_cache: OrderedDict[tuple[str, str], tuple[Problem, ...]] = OrderedDict()
_cache_lock = threading.Lock()


def _object(pairs: list[tuple[str, Any]], duplicates: list[str]) -> dict[str, Any]:
    """A JSON object; keys given twice (JSON keeps the last silently) go to ``duplicates``."""
    row: dict[str, Any] = {}
    for key, value in pairs:
        if key in row:
            duplicates.append(key)
        row[key] = value
    return row


def parse_lines(data: bytes) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The objects of JSONL bytes, their line labels, and one error per bad line.

    Lines are split on ``\\n`` only: JSON strings may contain U+2028 and other characters that
    ``str.splitlines`` would treat as line breaks. Blank lines are skipped.

    Examples:
        >>> rows, labels, errors = parse_lines(b'{"a": 1}\\n\\n{"a": 1, "a": 2}\\n[1]\\n\\xff\\n')
        >>> rows, labels
        ([{'a': 1}], ['line 1'])
        >>> errors[0]
        "line 3: key 'a' appears twice (JSON would keep the last value silently)"
    """
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    errors: list[str] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            errors.append(
                f"line {number}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})"
            )
            continue
        duplicates: list[str] = []
        try:
            row = json.loads(line, object_pairs_hook=partial(_object, duplicates=duplicates))
        except json.JSONDecodeError as e:
            errors.append(f"line {number}: not valid JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(row, dict):
            errors.append(f"line {number}: expected a JSON object, got {type(row).__name__}")
            continue
        if duplicates:
            for key in duplicates:
                errors.append(
                    f"line {number}: key {key!r} appears twice (JSON would keep the last value"
                    " silently)"
                )
            continue
        rows.append(row)
        labels.append(f"line {number}")
    return rows, labels, errors


def _read_bytes(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise ConfigError(f"dataset file not found: {name!r}")
    with open(name, "rb") as f:
        return name, f.read()


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read the objects of a JSONL file, one per non-blank line.

    Raises:
        ConfigError: the file does not exist.
        DatasetError: listing every line that is not UTF-8, not a JSON object, or repeats a key.
    """
    name, data = _read_bytes(path)
    rows, _, errors = parse_lines(data)
    if errors:
        raise DatasetError(name, errors)
    return rows


def read_jsonl(path: str | os.PathLike[str]) -> list[Problem]:
    """Read and validate a JSONL problem file (once per file content).

    Raises:
        ConfigError: the file does not exist.
        DatasetError: listing every bad line and every bad row, by file line.
    """
    name, data = _read_bytes(path)
    source = os.path.basename(name)
    tag = source[: -len(".jsonl")] if source.endswith(".jsonl") else source
    key = (tag, hashlib.sha256(data).hexdigest())
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return list(cached)
    rows, labels, errors = parse_lines(data)
    problems, row_errors = check_rows(rows, tag, labels)
    if errors or row_errors:
        errors = sorted(errors + row_errors, key=_line_number)
        raise DatasetError(name, errors)
    if not problems:
        raise DatasetError(name, ["no rows"])
    with _cache_lock:
        _cache[key] = tuple(problems)
        while len(_cache) > CACHED_FILES:
            _cache.popitem(last=False)
    return problems


def _line_number(error: str) -> int:
    head = error.split(":", 1)[0].split()
    return int(head[1]) if len(head) > 1 and head[0] == "line" and head[1].isdigit() else 0
