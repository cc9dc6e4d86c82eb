"""The math answer grader: extract, normalize, parse, compare; isolated and bounded in time.

Examples:
    >>> from mathattempt_env.grading import grade
    >>> grade(r"The answer is $\\boxed{2\\sqrt{3}}$.", r"\\sqrt{12}").correct
    True
"""

from mathattempt_env.grading.extract import Extraction, Extractor, extract, extract_answer
from mathattempt_env.grading.grader import (
    DEFAULT_TIMEOUT,
    grade,
    grade_many,
    grader_stats,
    reset_grader_stats,
    validate_gold,
    warmup,
)
from mathattempt_env.types import Grade

__all__ = [
    "DEFAULT_TIMEOUT",
    "Extraction",
    "Extractor",
    "Grade",
    "extract",
    "extract_answer",
    "grade",
    "grade_many",
    "grader_stats",
    "reset_grader_stats",
    "validate_gold",
    "warmup",
]
