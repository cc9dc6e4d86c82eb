"""Rewards for a verifier: is each verdict the truth about the solution it checks?

Every verdict falls in one of five outcomes, by what it said and whether the solution it checked
was right:

=================  =========================================  ==============================
outcome            meaning                                    default reward
=================  =========================================  ==============================
``accept-right``   said "correct" of a right solution         +1 (``right``)
``reject-wrong``   said "incorrect" of a wrong solution       +1 (``right``)
``accept-wrong``   said "correct" of a wrong solution         -1 (``accept_wrong``)
``reject-right``   said "incorrect" of a right solution       -1 (``reject_right``)
``unparseable``    no verdict sentence could be read          -1 (``unparseable``)
=================  =========================================  ==============================

The defaults are the S²R process rewards (±1 by whether the verdict equals the truth). A
verification cut by a length budget earns the ``unparseable`` reward whatever it said, as a
cut S²R action earns -1.

Examples:
    >>> from mathattempt_env.types import ActionRecord
    >>> v = ActionRecord("verify", verdict="correct", target_correct=False)
    >>> verdict_outcome(v)
    'accept-wrong'
    >>> VerifierReward(accept_wrong=-2.0)([v], new=1).reward
    -2.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from mathattempt_env.errors import ConfigError
from mathattempt_env.rewards.base import RewardScheme, Step, finite_reward
from mathattempt_env.types import ActionRecord, RewardBreakdown

#: What a verdict amounted to, given the truth about the solution it checked.
VerdictOutcome = Literal[
    "accept-right", "reject-wrong", "accept-wrong", "reject-right", "unparseable"
]


def verdict_outcome(record: ActionRecord) -> VerdictOutcome:
    """Classify a verify record's verdict against the truth (``target_correct``).

    Raises:
        ConfigError: ``record`` is not a verify action.

    Examples:
        >>> from mathattempt_env.types import ActionRecord
        >>> verdict_outcome(ActionRecord("verify", verdict="unparseable", target_correct=True))
        'unparseable'
    """
    if record.kind != "verify":
        raise ConfigError(f"verdict_outcome: expected a verify record, got kind {record.kind!r}")
    if record.verdict is None or record.verdict == "unparseable":
        return "unparseable"
    said_correct = record.verdict == "correct"
    if bool(record.target_correct):
        return "accept-right" if said_correct else "reject-right"
    return "accept-wrong" if said_correct else "reject-wrong"


class VerifierReward(RewardScheme):
    """A reward on every verification: ``right`` for the truth, a penalty per kind of mistake.

    Only verify records earn anything; solve records in the history are ignored, so the scheme
    can score a whole solve/verify history or just a verifier's own records.

    Args:
        right: the reward of a verdict that equals the truth.
        accept_wrong: the reward of accepting a wrong solution (a false "correct").
        reject_right: the reward of rejecting a right solution (a false "incorrect").
        unparseable: the reward of a verification with no readable verdict, or one cut by a
            length budget.

    Examples:
        >>> from mathattempt_env.types import ActionRecord
        >>> v = ActionRecord("verify", verdict="incorrect", target_correct=False)
        >>> VerifierReward()([v]).action_rewards
        (1.0,)
    """

    name = "verifier"

    def __init__(
        self,
        right: float = 1.0,
        accept_wrong: float = -1.0,
        reject_right: float = -1.0,
        unparseable: float = -1.0,
    ) -> None:
        self.right = finite_reward("right", right)
        self.accept_wrong = finite_reward("accept_wrong", accept_wrong)
        self.reject_right = finite_reward("reject_right", reject_right)
        self.unparseable = finite_reward("unparseable", unparseable)

    @property
    def high(self) -> float:  # type: ignore[override]
        """The largest reward one verdict can earn."""
        return max(self.right, self.accept_wrong, self.reject_right, self.unparseable)

    @property
    def low(self) -> float:
        """The smallest reward one verdict can earn."""
        return min(self.right, self.accept_wrong, self.reject_right, self.unparseable)

    def value(self, record: ActionRecord) -> float:
        """The reward of one verify record."""
        if record.cut:
            return self.unparseable
        outcome = verdict_outcome(record)
        if outcome in ("accept-right", "reject-wrong"):
            return self.right
        if outcome == "accept-wrong":
            return self.accept_wrong
        if outcome == "reject-right":
            return self.reject_right
        return self.unparseable

    def score(self, history: Sequence[ActionRecord], step: Step) -> RewardBreakdown:
        """Score a step; see :meth:`RewardScheme.__call__`."""
        fresh = history[len(history) - step.new :]
        rewards = tuple(self.value(r) for r in fresh if r.kind == "verify")
        total = float(sum(rewards))
        return RewardBreakdown(total, {"verify": total}, rewards)
