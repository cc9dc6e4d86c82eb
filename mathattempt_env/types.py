"""Frozen dataclasses shared by every layer of the package.

Example:
    >>> from mathattempt_env.types import Grade
    >>> g = Grade(correct=True, formatted=True, extracted="4", reason="numeric")
    >>> g.correct, g.timed_out
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grade:
    """The grader's verdict on one response.

    Attributes:
        correct: the extracted answer is equivalent to the gold answer.
        formatted: the response contains a complete (brace-balanced) ``\\boxed{...}`` answer.
        extracted: the answer text that was graded, or ``None`` when none was found.
        reason: the rule that decided; one of ``exact``, ``numeric``, ``symbolic``, ``set``,
            ``tuple``, ``interval``, ``equation``, ``matrix``, ``text``, ``choice``,
            ``no-answer``, ``unparseable``, ``too-large``, ``timeout``.
        timed_out: grading hit its wall-clock limit (then ``correct`` is ``False``).
        elapsed_s: wall-clock seconds spent grading.
    """

    correct: bool
    formatted: bool
    extracted: str | None
    reason: str
    timed_out: bool = False
    elapsed_s: float = 0.0
