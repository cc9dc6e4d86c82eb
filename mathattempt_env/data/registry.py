"""Datasets by name, path or value: :func:`load_problems`.

=================  ======================================  ==================================
name               Hugging Face source (extra ``datasets``)  local file in ``data_dir``
=================  ======================================  ==================================
``builtin``        none: generated offline                  none
``math500``        ``HuggingFaceH4/MATH-500``, test          ``math500.jsonl``
``math_train``     ``DigitalLearningGmbH/MATH-lighteval``    ``math_train.jsonl``
``gsm8k``          ``openai/gsm8k`` (main), test             ``gsm8k_test.jsonl``
``gsm8k_train``    ``openai/gsm8k`` (main), train            ``gsm8k_train.jsonl``
``simplerl_zoo``   ``hkust-nlp/SimpleRL-Zoo-Data``           none
``aime24``,        none                                     ``aime24.jsonl``, ``amc23.jsonl``,
``amc23``, ...                                              ``minerva_math.jsonl``, ...
=================  ======================================  ==================================

A named dataset is read from ``data_dir`` (or the ``MATHATTEMPT_DATA_DIR`` environment
variable) when the file is there, and from the Hugging Face hub otherwise.

Examples:
    >>> problems = load_problems("builtin")
    >>> len(problems), problems[0].source
    (10000, 'builtin')
    >>> load_problems([{"id": "a", "problem": "1+1?", "answer": "2"}])[0].id
    'a'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mathattempt_env.data.builtin import BuiltinProblems
from mathattempt_env.data.hf import hub_unreachable, load_hf
from mathattempt_env.data.jsonl import read_jsonl
from mathattempt_env.data.validate import to_problems
from mathattempt_env.errors import ConfigError, unknown_name
from mathattempt_env.types import Problem


@dataclass(frozen=True)
class DatasetSpec:
    """Where a named dataset comes from.

    Attributes:
        file: the JSONL file name looked up in ``data_dir``, or ``None``.
        hf_path: the Hugging Face dataset id, or ``None``.
        hf_name: its configuration.
        split: the split to load from the hub.
        mapping: the field map name (see :data:`mathattempt_env.data.hf.MAPPINGS`).
        data_files: ``data_files`` for the hub loader, if needed.
    """

    file: str | None = None
    hf_path: str | None = None
    hf_name: str | None = None
    split: str = "test"
    mapping: str = "math500"
    data_files: str | None = None


DATASETS: dict[str, DatasetSpec] = {
    "math500": DatasetSpec("math500.jsonl", "HuggingFaceH4/MATH-500"),
    "math_train": DatasetSpec(
        "math_train.jsonl",
        "DigitalLearningGmbH/MATH-lighteval",
        split="train",
        mapping="hendrycks_math",
    ),
    "gsm8k": DatasetSpec("gsm8k_test.jsonl", "openai/gsm8k", "main", mapping="gsm8k"),
    "gsm8k_train": DatasetSpec(
        "gsm8k_train.jsonl", "openai/gsm8k", "main", split="train", mapping="gsm8k"
    ),
    "simplerl_zoo": DatasetSpec(
        None,
        "hkust-nlp/SimpleRL-Zoo-Data",
        split="train",
        mapping="simplerl_zoo",
        data_files="simplelr_qwen_level3to5/train.parquet",
    ),
    "aime24": DatasetSpec("aime24.jsonl"),
    "amc23": DatasetSpec("amc23.jsonl"),
    "minerva_math": DatasetSpec("minerva_math.jsonl"),
    "olympiadbench": DatasetSpec("olympiadbench.jsonl"),
}


def _named(name: str, data_dir: str | None) -> list[Problem]:
    spec = DATASETS[name]
    folder = data_dir or os.environ.get("MATHATTEMPT_DATA_DIR")
    if spec.file and folder and os.path.isfile(os.path.join(folder, spec.file)):
        return read_jsonl(os.path.join(folder, spec.file))
    where = f"data_dir (--data-dir) is {folder!r}" if folder else "no data_dir (--data-dir) is set"
    if spec.hf_path is None:
        raise ConfigError(
            f"dataset {name!r} has no Hugging Face source and {where}: put {spec.file} in a "
            "folder and pass it as data_dir (--data-dir, or $MATHATTEMPT_DATA_DIR), or pass "
            "the file's path"
        )
    unreachable = hub_unreachable()
    if unreachable:
        held = f"{spec.file} is not there" if folder else f"{spec.file} is not read from disk"
        raise ConfigError(
            f"dataset {name!r}: {where}, so {held}, and the Hugging Face hub cannot be used "
            f"({unreachable}): pass --data-dir (data_dir=, or $MATHATTEMPT_DATA_DIR) with a "
            f"folder holding {spec.file}, or the file's path"
        )
    return load_hf(
        spec.hf_path,
        mapping=spec.mapping,
        name=spec.hf_name,
        split=spec.split,
        data_files=spec.data_files,
        source=name,
    )


def load_problems(
    dataset: str | os.PathLike[str] | Sequence[Any] = "builtin",
    *,
    data_dir: str | None = None,
) -> Sequence[Problem]:
    """Resolve a dataset argument to a sequence of validated problems.

    Args:
        dataset: ``"builtin"``, a registered name (see the table above), a path to a JSONL
            file, a :class:`BuiltinProblems`, or a sequence of row dicts or Problems.
        data_dir: a folder holding the named datasets' JSONL files.

    Returns:
        The problems.

    Raises:
        ConfigError: an unknown name or missing file.
        DatasetError: bad rows, each named.
    """
    if isinstance(dataset, BuiltinProblems):
        return dataset
    if (
        isinstance(dataset, os.PathLike)
        or isinstance(dataset, str)
        and (dataset.endswith(".jsonl") or os.sep in dataset)
    ):
        return read_jsonl(dataset)
    if isinstance(dataset, str):
        if dataset == "builtin":
            return BuiltinProblems()
        if dataset not in DATASETS:
            raise unknown_name("dataset", dataset, ["builtin", *DATASETS])
        return _named(dataset, data_dir)
    if isinstance(dataset, Sequence) and not isinstance(dataset, bytes):
        return to_problems(dataset, "problems")
    raise ConfigError(
        f"dataset: expected a name, a JSONL path or a sequence of problems, got {dataset!r}"
    )
