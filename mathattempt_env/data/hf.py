r"""Load problems from Hugging Face ``datasets`` (extra ``datasets``), with per-dataset field maps.

A mapping turns one dataset row (and its index) into our row schema. The maps below follow the
public column layouts of these datasets:

=====================  =================================  =================================
mapping                dataset                            answer taken from
=====================  =================================  =================================
``math500``            ``HuggingFaceH4/MATH-500``         ``answer``; id = ``unique_id``
``hendrycks_math``     Hendrycks MATH (``problem``,       the last ``\boxed{}`` of
                       ``level``, ``type``, ``solution``)  ``solution``
``gsm8k``              ``openai/gsm8k``                   the text after ``####`` in
                                                          ``answer``, thousands commas removed
``simplerl_zoo``       ``hkust-nlp/SimpleRL-Zoo-Data``    ``gt_answer`` (else ``answer``)
=====================  =================================  =================================

Example:
    >>> row = MAPPINGS["gsm8k"]({"question": "How many?", "answer": "2+3=5\n#### 1,005"}, 7, "test")
    >>> row["id"], row["answer"]
    ('gsm8k-test-7', '1005')
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from mathattempt_env.data.validate import to_problems
from mathattempt_env.errors import ConfigError, DatasetError, install_hint, lookup
from mathattempt_env.grading.spans import boxed_answers
from mathattempt_env.types import Problem

Row = Mapping[str, Any]
Mapping_ = Callable[[Row, int, str], dict[str, Any]]
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def _math500(row: Row, index: int, split: str) -> dict[str, Any]:
    return {
        "id": row.get("unique_id"),
        "problem": row.get("problem"),
        "answer": row.get("answer"),
        "level": row.get("level"),
        "subject": row.get("subject"),
        "solution": row.get("solution"),
    }


def _hendrycks(row: Row, index: int, split: str) -> dict[str, Any]:
    solution = row.get("solution")
    boxes = boxed_answers(solution) if isinstance(solution, str) else []
    out = {
        "id": f"hendrycks_math-{split}-{index}",
        "problem": row.get("problem"),
        "level": row.get("level"),
        "subject": row.get("type", row.get("subject")),
        "solution": solution,
    }
    if boxes:
        out["answer"] = boxes[-1]
    return out


def _gsm8k(row: Row, index: int, split: str) -> dict[str, Any]:
    text = row.get("answer")
    out = {"id": f"gsm8k-{split}-{index}", "problem": row.get("question")}
    if isinstance(text, str) and "####" in text:
        out["answer"] = _THOUSANDS.sub("", text.rsplit("####", 1)[1].strip())
    out["solution"] = text
    return out


def _simplerl(row: Row, index: int, split: str) -> dict[str, Any]:
    answer = row.get("gt_answer", row.get("answer"))
    return {
        "id": str(row.get("id", f"simplerl_zoo-{split}-{index}")),
        "problem": row.get("question", row.get("problem")),
        "answer": answer,
        "level": row.get("level"),
        "subject": row.get("subject"),
    }


#: Field maps by name.
MAPPINGS: dict[str, Mapping_] = {
    "math500": _math500,
    "hendrycks_math": _hendrycks,
    "gsm8k": _gsm8k,
    "simplerl_zoo": _simplerl,
}


def map_rows(rows: Any, mapping: str | Mapping_, source: str, split: str = "") -> list[Problem]:
    """Apply a field map to dataset rows and validate the result.

    Args:
        rows: an iterable of row dicts (a ``datasets.Dataset`` is one).
        mapping: a name in :data:`MAPPINGS` or a function ``(row, index, split) -> dict``.
        source: the dataset tag for errors and ``Problem.source``.
        split: the split name, used in generated ids.

    Raises:
        DatasetError: naming every row that lacks a field or has an ungradeable answer.
    """
    function = mapping if callable(mapping) else lookup("dataset mapping", mapping, MAPPINGS, ())
    mapped = []
    for index, row in enumerate(rows):
        fields = {k: v for k, v in function(row, index, split).items() if v is not None}
        mapped.append({"source": source, **fields})
    return to_problems(mapped, source)


def load_hf(
    path: str,
    *,
    mapping: str | Mapping_,
    name: str | None = None,
    split: str = "test",
    data_files: Any = None,
    source: str | None = None,
) -> list[Problem]:
    """Load a Hugging Face dataset (or local files through a ``datasets`` builder) as problems.

    Args:
        path: a hub id such as ``"HuggingFaceH4/MATH-500"``, or a builder such as ``"json"``
            or ``"parquet"`` with ``data_files``.
        mapping: the field map (see :data:`MAPPINGS`).
        name: the dataset configuration, if any.
        split: the split to load.
        data_files: passed to ``datasets.load_dataset``.
        source: the tag for ``Problem.source`` (default: the mapping name or ``path``).

    Raises:
        ConfigError: the ``datasets`` package is not installed.
        DatasetError: bad rows, or the dataset could not be loaded.
    """
    try:
        datasets = importlib.import_module("datasets")
    except ImportError as e:
        raise ConfigError(
            f"loading Hugging Face datasets needs the 'datasets' extra: {install_hint('datasets')}"
        ) from e
    tag = source or (mapping if isinstance(mapping, str) else path)
    try:
        rows = datasets.load_dataset(path, name, split=split, data_files=data_files)
    except Exception as e:  # datasets raises many types: network, missing config, bad files
        raise DatasetError(path, [f"could not load split {split!r}: {e}"]) from e
    return map_rows(rows, mapping, tag, split)
