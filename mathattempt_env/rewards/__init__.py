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

A scheme with other parameters is named ``"name:key=value,..."`` wherever a name is taken
(``gym.make(..., reward="paper:wrong=-0.25")``, configs, the CLI), so an ablation over a
parameter needs no code.

Examples:
    >>> get_reward("paper")
    Paper(discount=1.0, unformatted=-1.0, wrong=-0.5)
    >>> get_reward("paper:wrong=-0.25").wrong
    -0.25
    >>> get_reward(Discounted(0.5)).discount
    0.5
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from mathattempt_env.errors import ConfigError, lookup
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

    Args:
        reward: a scheme object; a registered name; or ``"name:key=value,key=value"``, the
            scheme built with those keyword arguments (numbers, ``true``/``false``).

    Raises:
        ConfigError: an unknown name (with a suggestion), a parameter the scheme does not
            take or a value it refuses, or an object that is not a scheme.

    Examples:
        >>> get_reward("repeat-penalty:penalty=1")
        RepeatPenalty(discount=1.0, penalty=1.0, unformatted=-1.0, wrong=-0.5)
        >>> get_reward("paper:wronk=-1")
        Traceback (most recent call last):
        ...
        mathattempt_env.errors.ConfigError: reward 'paper:wronk=-1': paper takes no parameter \
'wronk' (it takes discount, wrong, unformatted)
    """
    if isinstance(reward, RewardScheme):
        return reward
    if isinstance(reward, str) and ":" in reward:
        name, _, spec = reward.partition(":")
        factory = lookup("reward scheme", name.strip(), REWARDS, ())
        kwargs = _parameters(reward, spec)
        taken = [
            p.name
            for p in inspect.signature(factory).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        for key in kwargs:
            if key not in taken:
                takes = ", ".join(taken) if taken else "nothing"
                raise ConfigError(
                    f"reward {reward!r}: {name.strip()} takes no parameter {key!r} "
                    f"(it takes {takes})"
                )
        try:
            return factory(**kwargs)
        except (ConfigError, TypeError, ValueError) as error:
            raise ConfigError(f"reward {reward!r}: {error}") from None
    return lookup("reward scheme", reward, REWARDS, ())()


def _parameters(reward: str, spec: str) -> dict[str, float | bool]:
    kwargs: dict[str, float | bool] = {}
    for item in spec.split(","):
        key, equals, text = (part.strip() for part in item.partition("="))
        if not key or not equals or not text:
            raise ConfigError(f"reward {reward!r}: expected key=value, got {item.strip()!r}")
        if text.lower() in ("true", "false"):
            kwargs[key] = text.lower() == "true"
            continue
        try:
            kwargs[key] = float(text)
        except ValueError:
            raise ConfigError(
                f"reward {reward!r}: {key}: expected a number or true/false, got {text!r}"
            ) from None
    return kwargs


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
