"""Errors raised by mathattempt_env.

Model output never raises: it is graded as wrong, with a reason. These errors are for bad
configuration and bad data, and their messages say what was expected, what was found, and where.

Example:
    >>> from mathattempt_env.errors import InvalidGoldError, MathAttemptError
    >>> issubclass(InvalidGoldError, MathAttemptError) and issubclass(InvalidGoldError, ValueError)
    True
"""

from __future__ import annotations


class MathAttemptError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidGoldError(MathAttemptError, ValueError):
    """A gold (reference) answer cannot be graded against.

    Raised when data is loaded or validated, never while grading a model response.

    Attributes:
        gold: the offending gold answer, as given.
        problem: what is wrong with it.
        where: where it came from (e.g. ``"math500.jsonl row test/algebra/1.json"``), or ``""``.
    """

    def __init__(self, gold: object, problem: str, where: str = "") -> None:
        self.gold = gold
        self.problem = problem
        self.where = where
        location = f" ({where})" if where else ""
        super().__init__(f"invalid gold answer{location}: {problem}; got {_preview(gold)}")


class ConfigError(MathAttemptError, ValueError):
    """A configuration value is out of range or of the wrong type."""


class GraderUnavailableError(MathAttemptError, RuntimeError):
    """The isolated grader worker processes could not be started."""


def _preview(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
