"""Problem sources: built-in generated problems, JSONL files and Hugging Face datasets.

Examples:
    >>> from mathattempt_env.data import load_problems
    >>> load_problems("builtin")[0].id
    'builtin-0-0'
"""

from mathattempt_env.data.builtin import FAMILIES, BuiltinProblems
from mathattempt_env.data.hf import MAPPINGS, load_hf, map_rows
from mathattempt_env.data.jsonl import read_jsonl, read_rows
from mathattempt_env.data.registry import DATASETS, DatasetSpec, load_problems
from mathattempt_env.data.validate import find_overlap, problem_key, to_problems

__all__ = [
    "DATASETS",
    "FAMILIES",
    "MAPPINGS",
    "BuiltinProblems",
    "DatasetSpec",
    "find_overlap",
    "load_hf",
    "load_problems",
    "map_rows",
    "problem_key",
    "read_jsonl",
    "read_rows",
    "to_problems",
]
