"""Reward schemes: pure functions of an episode's action history, switchable by name.

=================  ==============================================================
name               reward
=================  ==============================================================
``paper``          final step: +1 any correct, -0.5 none but boxed, -1 no box
``paper-single``   final step: +1 / -0.5 / -1 judged on the last attempt only
``binary``         final step: 1 if any attempt is correct, else 0
``discounted``     ``paper`` with d**(t-1) for a first correct attempt t (d=0.8)
``per-attempt``    every step: +1 correct, -0.5 boxed wrong, -1 no box
``repeat-penalty`` ``paper``, minus 0.5 on each repeat of an earlier wrong answer
``s2r-outcome``    final step: +1 if the last solution is correct, else -1
``s2r-process``    every action ±1 (solve correctness, verdict = truth)
``verifier``       every verify: +1 verdict = truth, -1 per kind of mistake (configurable)
``plus-minus-one`` final step: +1 any correct, else -1 (CIR, ToRL)
``tool-error-pe…`` ``plus-minus-one``, -0.5 more when the last tool call failed (ToRL)
``tool-calls-sh…`` wrong answers softened by the number of tool calls (verl's ReTool)
=================  ==============================================================

Examples:
    >>> get_reward("paper")
    Paper(discount=1.0, unformatted=-1.0, wrong=-0.5)
    >>> get_reward(Discounted(0.5)).discount
    0.5
"""

from __future__ import annotations

from collections.abc import Callable

from mathattempt_env.errors import lookup
from mathattempt_env.rewards.base import RewardScheme
from mathattempt_env.rewards.metrics import s2r_metrics, verifier_metrics
from mathattempt_env.rewards.outcome import (
    Binary,
    Discounted,
    Paper,
    PaperSingle,
    PerAttempt,
    PlusMinusOne,
    RepeatPenalty,
    ToolCallShaped,
    ToolErrorPenalty,
)
from mathattempt_env.rewards.s2r import ContextBaseline, S2ROutcome, S2RProcess, context_keys
from mathattempt_env.rewards.verifier import VerifierReward, verdict_outcome

#: Scheme factories by name. ``register_reward`` adds to it.
REWARDS: dict[str, Callable[[], RewardScheme]] = {
    cls.name: cls
    for cls in (
        Paper,
        PaperSingle,
        Binary,
        Discounted,
        PerAttempt,
        PlusMinusOne,
        RepeatPenalty,
        S2ROutcome,
        S2RProcess,
        ToolCallShaped,
        ToolErrorPenalty,
        VerifierReward,
    )
}


def get_reward(reward: str | RewardScheme) -> RewardScheme:
    """Build a scheme from its registered name, or pass a scheme object through.

    Raises:
        ConfigError: an unknown name (with a suggestion) or an object that is not a scheme.
    """
    if isinstance(reward, RewardScheme):
        return reward
    return lookup("reward scheme", reward, REWARDS, ())()


def register_reward(name: str, factory: Callable[[], RewardScheme]) -> None:
    """Make a scheme available by name (``gym.make(..., reward=name)``).

    Examples:
        >>> register_reward("binary-again", Binary)
        >>> get_reward("binary-again").name
        'binary'
        >>> del REWARDS["binary-again"]
    """
    REWARDS[name] = factory


__all__ = [
    "REWARDS",
    "Binary",
    "ContextBaseline",
    "Discounted",
    "Paper",
    "PaperSingle",
    "PerAttempt",
    "PlusMinusOne",
    "RepeatPenalty",
    "RewardScheme",
    "S2ROutcome",
    "S2RProcess",
    "VerifierReward",
    "context_keys",
    "get_reward",
    "register_reward",
    "s2r_metrics",
    "verdict_outcome",
    "verifier_metrics",
    "ToolCallShaped",
    "ToolErrorPenalty",
]
