"""Describe an episode's actions: each one's span, correctness or verdict, reward and context.

Every env reports ``info["actions"]`` this way (:class:`~mathattempt_env.types.StepInfo`):
the multi-attempt envs' actions are their solves, S²R's are solves and verifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mathattempt_env.rewards import RewardScheme, S2RProcess, context_keys
from mathattempt_env.types import ActionRecord

_PROCESS = S2RProcess()


def describe(
    records: Sequence[ActionRecord],
    scheme: RewardScheme,
    *,
    final: bool = False,
    truncated: bool = False,
) -> list[dict[str, Any]]:
    """One dict per action: type, span, correctness or verdict, reward, context key.

    ``reward`` is the action's reward under the env's configured scheme
    (:meth:`~mathattempt_env.rewards.RewardScheme.action_rewards`); ``context`` is S²R's
    reward-context key, from the actions' correctness (their ±1 process rewards).

    Examples:
        >>> from mathattempt_env.rewards import get_reward
        >>> from mathattempt_env.types import Grade
        >>> s = ActionRecord("solve", Grade(False, True, "4", "numeric"), span=(0, 9))
        >>> describe([s, s], get_reward("s2r-process"))[1]["reward"]
        -1.0
        >>> [a["reward"] for a in describe([s, s], get_reward("s2r-outcome"), final=True)]
        [0.0, -1.0]
    """
    rewards = scheme.action_rewards(records, final=final, truncated=truncated)
    process = (
        rewards
        if isinstance(scheme, S2RProcess)
        else _PROCESS.action_rewards(records, final=final, truncated=truncated)
    )
    keys = context_keys(records, process)
    actions = []
    for record, reward, key in zip(records, rewards, keys, strict=True):
        action: dict[str, Any] = {"type": record.kind, "span": record.span}
        if record.kind == "solve":
            assert record.grade is not None
            action.update(correct=record.correct, extracted=record.grade.extracted)
        else:
            action.update(
                verdict=record.verdict,
                target_correct=record.target_correct,
                verdict_correct=record.verdict_right,
            )
        action.update(reward=reward, context=key)
        actions.append(action)
    return actions
