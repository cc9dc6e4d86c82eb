"""Outcome-level reward schemes for single-turn and multi-attempt episodes.

All of them score solve actions by their :class:`~mathattempt_env.types.Grade`: correct, wrong
but well formatted (a complete ``\\boxed{}``), or unformatted.

Examples:
    >>> from mathattempt_env.types import ActionRecord, Grade
    >>> wrong = ActionRecord("solve", Grade(False, True, "3", "numeric"))
    >>> right = ActionRecord("solve", Grade(True, True, "4", "numeric"))
    >>> Paper()([wrong], final=False).reward, Paper()([wrong, right], final=True).reward
    (0.0, 1.0)
    >>> Paper(discount=0.5)([wrong, right], final=True).reward
    0.5
"""

from __future__ import annotations

from collections.abc import Sequence

from mathattempt_env.errors import ConfigError
from mathattempt_env.rewards.base import OutcomeScheme, RewardScheme, Step, solves
from mathattempt_env.types import ActionRecord, RewardBreakdown


def _check_unit(name: str, value: float) -> float:
    if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}: expected a number in [0, 1], got {value!r}")
    return float(value)


class Paper(OutcomeScheme):
    """The multi-attempt paper's episode reward, given on the final step (0 before).

    +1 if any attempt is correct (times ``discount ** (t - 1)`` for a first correct attempt
    at ``t``), else ``wrong`` if some attempt had a boxed answer, else ``unformatted``.

    Args:
        discount: the attempt discount d (1 = none, as in the paper's main runs).
        wrong: the reward when an answer was boxed but none was correct.
        unformatted: the reward when no attempt had a boxed answer.
    """

    name = "paper"

    def __init__(self, discount: float = 1.0, wrong: float = -0.5, unformatted: float = -1.0):
        self.discount = _check_unit("discount", discount)
        self.wrong = float(wrong)
        self.unformatted = float(unformatted)

    @property
    def low(self) -> float:
        """The lowest of the outcomes and the 0 of earlier steps."""
        return min(self.wrong, self.unformatted, 0.0)

    def outcome(self, attempts: Sequence[ActionRecord]) -> float:
        """The episode outcome for a list of solve attempts."""
        for t, attempt in enumerate(attempts):
            if attempt.correct:
                return self.discount**t
        if any(a.formatted for a in attempts):
            return self.wrong
        return self.unformatted


class Discounted(Paper):
    """:class:`Paper` with an attempt discount: a correct answer at attempt t earns d**(t-1).

    Args:
        factor: the discount d per extra attempt (default 0.8).
    """

    name = "discounted"

    def __init__(self, factor: float = 0.8):
        super().__init__(discount=factor)


class PaperSingle(Paper):
    """The single-turn baseline reward (+1 / -0.5 / -1), judged on the last attempt only."""

    name = "paper-single"

    def outcome(self, attempts: Sequence[ActionRecord]) -> float:
        """The outcome of the last attempt alone."""
        return super().outcome(attempts[-1:])


class Binary(OutcomeScheme):
    """1 on the final step if any attempt is correct, else 0; 0 on earlier steps."""

    name = "binary"

    @property
    def low(self) -> float:
        """Nothing below 0."""
        return 0.0

    def outcome(self, attempts: Sequence[ActionRecord]) -> float:
        """1 if any attempt is correct."""
        return float(any(a.correct for a in attempts))


class PerAttempt(RewardScheme):
    """Credit or penalty on every attempt: +1 correct, ``wrong`` if boxed, else ``unformatted``.

    Args:
        wrong: the reward of a boxed wrong attempt.
        unformatted: the reward of an attempt without a boxed answer.
    """

    name = "per-attempt"

    def __init__(self, wrong: float = -0.5, unformatted: float = -1.0):
        self.wrong = float(wrong)
        self.unformatted = float(unformatted)

    @property
    def low(self) -> float:
        """The lower of the two penalties."""
        return min(self.wrong, self.unformatted)

    def score(self, history: Sequence[ActionRecord], step: Step) -> RewardBreakdown:
        """Score a step; see :meth:`RewardScheme.__call__`."""
        scores = [
            1.0 if a.correct else self.wrong if a.formatted else self.unformatted
            for a in solves(history[len(history) - step.new :])
        ]
        return RewardBreakdown(sum(scores), {"attempt": sum(scores)}, tuple(scores))


def _key(answer: str | None) -> str | None:
    return None if answer is None else "".join(answer.split())


class RepeatPenalty(Paper):
    """:class:`Paper`, minus ``penalty`` on each attempt that repeats an earlier wrong answer.

    Answers are compared as extracted strings with whitespace removed (a scheme never calls the
    grader). The penalty is given on the step of the repeat.

    Args:
        penalty: subtracted per repeated wrong answer (default 0.5).
    """

    name = "repeat-penalty"

    def __init__(self, penalty: float = 0.5):
        super().__init__()
        if not isinstance(penalty, int | float) or penalty < 0:
            raise ConfigError(f"penalty: expected a number >= 0, got {penalty!r}")
        self.penalty = float(penalty)

    @property
    def low(self) -> float:
        """The paper's lowest outcome, minus one penalty."""
        return super().low - self.penalty

    def score(self, history: Sequence[ActionRecord], step: Step) -> RewardBreakdown:
        """Score a step; see :meth:`RewardScheme.__call__`."""
        outcome = super().score(history, step).reward
        seen: set[str] = set()
        repeats = 0
        for position, attempt in enumerate(history):
            if attempt.kind != "solve" or attempt.grade is None:
                continue
            key = _key(attempt.grade.extracted)
            if position >= len(history) - step.new and key is not None and key in seen:
                repeats += 1
            if key is not None and not attempt.correct:
                seen.add(key)
        penalty = -self.penalty * repeats
        return RewardBreakdown(outcome + penalty, {"outcome": outcome, "repeat_penalty": penalty})


class PlusMinusOne(OutcomeScheme):
    """+1 if an attempt is correct, else -1: the outcome reward of CIR and ToRL.

    Examples:
        >>> from mathattempt_env.types import Grade
        >>> PlusMinusOne().outcome([ActionRecord("solve", Grade(False, False, None, "none"))])
        -1.0
    """

    name = "plus-minus-one"

    def outcome(self, attempts: Sequence[ActionRecord]) -> float:
        """+1 if an attempt is correct, else -1."""
        return 1.0 if any(a.correct for a in attempts) else -1.0


class ToolErrorPenalty(PlusMinusOne):
    """ToRL's outcome reward with its code penalty.

    +1 correct, -1 otherwise, and ``penalty`` added when the last tool call of the final
    attempt failed (an error or a timeout).

    Examples:
        >>> from mathattempt_env.types import Grade
        >>> wrong = ActionRecord("solve", Grade(False, True, "1", "numeric"), tool_failed=True)
        >>> ToolErrorPenalty().outcome([wrong])
        -1.5
    """

    name = "tool-error-penalty"

    def __init__(self, penalty: float = -0.5):
        self.penalty = float(penalty)

    @property
    def low(self) -> float:
        """-1 plus the penalty."""
        return -1.0 + min(self.penalty, 0.0)

    def outcome(self, attempts: Sequence[ActionRecord]) -> float:
        """+1 if an attempt is correct, else -1; plus the penalty after a failed last call."""
        value = super().outcome(attempts)
        if attempts and attempts[-1].tool_failed:
            value += self.penalty
        return value


class ToolCallShaped(OutcomeScheme):
    """A call-count shaping in the spirit of verl's ReTool recipe.

    +1 correct; a wrong answer gets -1 softened by the tool calls it made, ``per_call`` each,
    at most ``cap`` (the constants are ours, and parameters).

    Examples:
        >>> from mathattempt_env.types import Grade
        >>> wrong = ActionRecord("solve", Grade(False, True, "1", "numeric"), tool_calls=3)
        >>> round(ToolCallShaped().outcome([wrong]), 2)
        -0.7
    """

    name = "tool-calls-shaped"

    def __init__(self, per_call: float = 0.1, cap: float = 0.5):
        self.per_call = float(per_call)
        self.cap = _check_unit("cap", cap)

    def outcome(self, attempts: Sequence[ActionRecord]) -> float:
        """+1 if an attempt is correct, else -1 + min(calls * per_call, cap)."""
        if any(a.correct for a in attempts):
            return 1.0
        calls = sum(a.tool_calls for a in attempts)
        return -1.0 + min(calls * self.per_call, self.cap)
