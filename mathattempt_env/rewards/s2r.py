"""S²R rewards: outcome level, process level, and process reward contexts.

Process level gives every action ±1: a solve by the correctness of its boxed answer, a verify by
whether its verdict equals the true correctness of the solve before it (an unparseable verdict
is wrong). A trajectory cut by the length limit before it ended gets -1 on its last action.

Examples:
    >>> from mathattempt_env.types import ActionRecord, Grade
    >>> s1 = ActionRecord("solve", Grade(True, True, "4", "numeric"))
    >>> v1 = ActionRecord("verify", verdict="incorrect", target_correct=True)
    >>> s2 = ActionRecord("solve", Grade(False, True, "5", "numeric"))
    >>> S2RProcess().action_rewards([s1, v1, s2])
    [1.0, -1.0, -1.0]
    >>> context_keys([s1, v1, s2], [1.0, -1.0, -1.0])
    ['', 'R1', 'R1V-1']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from mathattempt_env.rewards.base import OutcomeScheme, RewardScheme, Step
from mathattempt_env.types import ActionRecord, RewardBreakdown

_LETTER = {"solve": "R", "verify": "V"}


class S2ROutcome(OutcomeScheme):
    """Outcome level: +1 if the last solution's answer is correct, else -1, on the final step."""

    name = "s2r-outcome"

    def outcome(self, attempts: Sequence[ActionRecord]) -> float:
        """+1 if the last solution is correct, else -1."""
        return 1.0 if attempts and attempts[-1].correct else -1.0


class S2RProcess(RewardScheme):
    """Process level: ±1 per action; a step's reward is the sum over the actions it added.

    ``action_rewards`` of the breakdown holds each new action's reward, for trainers that place
    rewards on token spans.
    """

    name = "s2r-process"

    def action_rewards(
        self, history: Sequence[ActionRecord], *, final: bool = False, truncated: bool = False
    ) -> list[float]:
        """The ±1 process reward of every action in ``history`` (-1 on a cut last action)."""
        rewards = [
            (1.0 if a.correct else -1.0)
            if a.kind == "solve"
            else (1.0 if a.verdict_right else -1.0)
            for a in history
        ]
        if truncated and final and rewards:
            rewards[-1] = -1.0
        return rewards

    def score(self, history: Sequence[ActionRecord], step: Step) -> RewardBreakdown:
        """Score a step; see :meth:`RewardScheme.__call__`."""
        first = len(history) - step.new
        rewards = self.action_rewards(history, final=step.final, truncated=step.truncated)[first:]
        fresh = history[first:]
        parts = {
            kind: sum(r for r, a in zip(rewards, fresh, strict=True) if a.kind == kind)
            for kind in ("solve", "verify")
        }
        return RewardBreakdown(sum(rewards), parts, tuple(rewards))


def context_keys(history: Sequence[ActionRecord], rewards: Sequence[float]) -> list[str]:
    """The reward-context key of each action: the types and rewards of the actions before it.

    ``R`` marks a solve and ``V`` a verify, each followed by its reward, so the third action
    of s1(+1), v1(-1), s2 has the key ``R1V-1``. The first action's key is ``""``.

    Examples:
        >>> from mathattempt_env.types import ActionRecord
        >>> context_keys([ActionRecord("solve")], [-1.0])
        ['']
    """
    keys, prefix = [], ""
    for action, reward in zip(history, rewards, strict=True):
        keys.append(prefix)
        prefix += f"{_LETTER[action.kind]}{reward:g}"
    return keys


class ContextBaseline:
    """A running mean of process rewards per reward-context key (the S²R baseline).

    Args:
        min_samples: a key's mean is used only once it has this many samples (10 in S²R).

    Examples:
        >>> b = ContextBaseline(min_samples=2)
        >>> b.update("R1", 1.0); b.baseline("R1") is None
        True
        >>> b.update("R1", 0.0); b.baseline("R1")
        0.5
    """

    def __init__(self, min_samples: int = 10) -> None:
        self.min_samples = min_samples
        self.totals: defaultdict[str, float] = defaultdict(float)
        self.counts: defaultdict[str, int] = defaultdict(int)

    def update(self, key: str, reward: float) -> None:
        """Add one sample to a key's mean."""
        self.totals[key] += reward
        self.counts[key] += 1

    def baseline(self, key: str) -> float | None:
        """The key's mean, or ``None`` while it has fewer than ``min_samples`` samples."""
        count = self.counts.get(key, 0)
        return self.totals[key] / count if count >= self.min_samples else None
