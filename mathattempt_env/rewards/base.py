"""The reward-scheme contract.

A scheme is a pure function of an episode's action history. The environment calls it once per
step with the whole history so far, how many records this step added, and whether this step
ends the episode. It never calls the grader: the grades are already in the records.

Examples:
    >>> from mathattempt_env.types import ActionRecord, Grade
    >>> class Always(RewardScheme):
    ...     name = "always"
    ...     def score(self, history, step):
    ...         return RewardBreakdown(1.0, {"always": 1.0})
    >>> Always()([]).reward
    1.0
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from mathattempt_env.errors import ConfigError
from mathattempt_env.types import ActionRecord, RewardBreakdown


def finite_reward(name: str, value: float) -> float:
    """Validate a configured reward value: a finite number (not a bool).

    Raises:
        ConfigError: ``value`` is not a finite int or float.

    Examples:
        >>> finite_reward("illegal_reward", -1)
        -1.0
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Step:
    """What a scheme is told about the step it scores.

    Attributes:
        new: how many records at the end of the history this step added.
        final: this step ends the episode.
        truncated: the episode ended because a length budget ran out.
    """

    new: int = 1
    final: bool = False
    truncated: bool = False


class RewardScheme(ABC):
    """Base class of reward schemes.

    Attributes:
        name: the registry name, or a descriptive name for a custom scheme.
        low: the smallest reward one action can earn.
        high: the largest reward one action can earn (the gold answer earns it).
    """

    name: str = "custom"
    high: float = 1.0

    @property
    def low(self) -> float:
        """The smallest reward one action can earn (derived from the scheme's parameters)."""
        return -1.0

    def __call__(
        self,
        history: Sequence[ActionRecord],
        *,
        new: int = 1,
        final: bool = False,
        truncated: bool = False,
    ) -> RewardBreakdown:
        """Score the step that added the last ``new`` records of ``history``.

        Args:
            history: every action of the episode so far, oldest first.
            new: how many records at the end of ``history`` this step added.
            final: this step ends the episode.
            truncated: the episode ended because a length budget ran out.

        Returns:
            The step's reward and its components.
        """
        return self.score(history, Step(new, final, truncated))

    @abstractmethod
    def score(self, history: Sequence[ActionRecord], step: Step) -> RewardBreakdown:
        """Score a step; subclasses implement this (see :meth:`__call__`)."""

    def action_rewards(
        self, history: Sequence[ActionRecord], *, final: bool = False, truncated: bool = False
    ) -> list[float]:
        """Each action's reward under this scheme, as if each action were its own step.

        This places a scheme's rewards on actions (an S²R trajectory holds several in one
        step): an outcome scheme pays its outcome on the last action and 0 before it.

        Args:
            history: the episode's actions, oldest first.
            final: the last action ends the episode.
            truncated: the episode ended because a length budget ran out.

        Examples:
            >>> from mathattempt_env.rewards import get_reward
            >>> from mathattempt_env.types import Grade
            >>> wrong = ActionRecord("solve", Grade(False, True, "1", "numeric"))
            >>> get_reward("paper").action_rewards([wrong, wrong], final=True)
            [0.0, -0.5]
        """
        last = len(history) - 1
        return [
            self(
                history[: i + 1],
                final=final and i == last,
                truncated=truncated and final and i == last,
            ).reward
            for i in range(len(history))
        ]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()))
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(vars(self).items()))))


def solves(history: Sequence[ActionRecord]) -> list[ActionRecord]:
    """The solve actions of a history, in order.

    Examples:
        >>> solves([ActionRecord("verify", verdict="correct")])
        []
    """
    return [record for record in history if record.kind == "solve"]


class OutcomeScheme(RewardScheme):
    """A scheme that pays one episode outcome on the final step and 0 before it."""

    @abstractmethod
    def outcome(self, attempts: Sequence[ActionRecord]) -> float:
        """The episode's reward, from its solve attempts in order."""

    def score(self, history: Sequence[ActionRecord], step: Step) -> RewardBreakdown:
        """The outcome on the final step, else 0."""
        value = self.outcome(solves(history)) if step.final else 0.0
        return RewardBreakdown(value, {"outcome": value})

    def action_rewards(
        self, history: Sequence[ActionRecord], *, final: bool = False, truncated: bool = False
    ) -> list[float]:
        """0 on every action, and the outcome on the last one when the episode is over."""
        rewards = [0.0] * len(history)
        if final and rewards:
            rewards[-1] = self.outcome(solves(history))
        return rewards
