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

Examples:
    >>> row = MAPPINGS["gsm8k"]({"question": "How many?", "answer": "2+3=5\n#### 1,005"}, 7, "test")
    >>> row["id"], row["answer"]
    ('gsm8k-test-7', '1005')
"""

from __future__ import annotations

import importlib
import os
import re
import socket
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from mathattempt_env.data.validate import to_problems
from mathattempt_env.errors import ConfigError, install_hint, lookup
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


#: Seconds the hub's address may take to answer before it counts as unreachable.
HUB_PROBE_TIMEOUT = 3.0


def hub_unreachable() -> str:
    """Why the Hugging Face hub cannot be used now, or ``""`` when it may be.

    Offline mode (``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE``) or no TCP connection to the
    endpoint (``HF_ENDPOINT``, default ``https://huggingface.co``) within
    :data:`HUB_PROBE_TIMEOUT` seconds: a loader then fails at once instead of after the
    hub client's retries.

    Examples:
        >>> import os
        >>> os.environ["HF_HUB_OFFLINE"] = "1"
        >>> hub_unreachable()
        'HF_HUB_OFFLINE=1'
        >>> del os.environ["HF_HUB_OFFLINE"]
    """
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{variable}={os.environ[variable]}"
    endpoint = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT).close()
    except OSError as error:
        return f"{host}:{port} is not reachable: {error.strerror or error}"
    return ""


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
        ConfigError: the ``datasets`` package is not installed, or the dataset could not be
            loaded (its message says why).
        DatasetError: bad rows, each named.
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
        raise ConfigError(f"{path}: could not load split {split!r}: {e}") from e
    return map_rows(rows, mapping, tag, split)
