"""Read problems from a JSON Lines file in the schema of ``../shared/data``.

Each line is an object with ``id``, ``problem`` and ``answer`` (strings), and optionally
``source``, ``level``, ``subject`` and ``solution``. Other fields are ignored.

Example:
    >>> import json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.jsonl")
    >>> with open(path, "w") as f:
    ...     _ = f.write(json.dumps({"id": "q1", "problem": "1+1?", "answer": "2"}) + "\\n")
    >>> read_jsonl(path)[0].answer
    '2'
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from mathattempt_env.data.validate import to_problems
from mathattempt_env.errors import ConfigError, DatasetError
from mathattempt_env.types import Problem


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read the objects of a JSONL file, one per non-blank line.

    Lines are split on ``\\n`` only: JSON strings may contain U+2028 and other characters that
    ``str.splitlines`` would treat as line breaks.

    Raises:
        ConfigError: the file does not exist.
        DatasetError: listing every line that is not a JSON object.
    """
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise ConfigError(f"dataset file not found: {name!r}")
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    with open(name, encoding="utf-8", newline="") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {number}: not valid JSON ({e.msg} at column {e.colno})")
                continue
            if not isinstance(row, Mapping):
                errors.append(f"line {number}: expected a JSON object, got {type(row).__name__}")
                continue
            rows.append(dict(row))
    if errors:
        raise DatasetError(name, errors)
    return rows


def read_jsonl(path: str | os.PathLike[str]) -> list[Problem]:
    """Read and validate a JSONL problem file.

    Raises:
        ConfigError: the file does not exist.
        DatasetError: listing every bad line or row.
    """
    source = os.path.basename(os.fspath(path))
    tag = source[: -len(".jsonl")] if source.endswith(".jsonl") else source
    rows = read_rows(path)
    try:
        return to_problems(rows, tag)
    except DatasetError as e:
        raise DatasetError(os.fspath(path), e.problems) from None
