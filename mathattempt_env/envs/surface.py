"""What consumers may read of an env: a declared surface, typed as a ``Protocol``.

The driver, evaluation, the trainer adapters, the multi-agent referee and the servers read an
env through :func:`surface` and the :class:`~mathattempt_env.types.StepInfo` its ``reset`` and
``step`` return, never through other attributes. Whatever is not here may change.

Examples:
    >>> import gymnasium as gym, mathattempt_env
    >>> env = surface(gym.make("ToolMath-v0"))
    >>> env.stop, env.uses_tools, env.grading.box
    (('```output',), True, 'last')
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Protocol

from mathattempt_env.errors import ConfigError
from mathattempt_env.prompts import Message
from mathattempt_env.rewards import RewardScheme
from mathattempt_env.types import ActionRecord, GradingConfig, Problem


class EnvSurface(Protocol):
    """The declared surface of every env of this package.

    Attributes:
        problems: the env's dataset.
        messages: the episode's conversation so far (role/content dicts).
        records: the episode's judged actions.
        grading: how the env grades (:class:`~mathattempt_env.types.GradingConfig`).
        reward_scheme: the scheme its rewards come from.
    """

    problems: Sequence[Problem]
    messages: list[Message]
    records: list[ActionRecord]
    grading: GradingConfig
    reward_scheme: RewardScheme

    @property
    def problem(self) -> Problem:
        """The episode's problem, gold answer included (never show it to a policy)."""
        ...

    @property
    def stop(self) -> tuple[str, ...]:
        """Strings at which a generation should stop (a tool's call string)."""
        ...

    @property
    def uses_tools(self) -> bool:
        """Whether a step may run a tool (seconds: step it off an event loop)."""
        ...

    def pose(self, question: str) -> list[Message]:
        """The messages that open an episode on ``question``."""
        ...

    def option_names(self) -> tuple[str, ...]:
        """The keys ``reset(options=...)`` accepts."""
        ...


#: The names the surface declares (checked without evaluating a property: ``problem`` raises
#: before the first reset).
_NAMES = (
    "problems", "messages", "records", "grading", "reward_scheme", "problem", "stop",
    "uses_tools", "pose", "option_names",
)  # fmt: skip


def has_surface(env: Any) -> bool:
    """Whether ``env`` (unwrapped) declares every name of :class:`EnvSurface`.

    Examples:
        >>> from mathattempt_env.envs import SingleTurnMathEnv
        >>> has_surface(SingleTurnMathEnv()), has_surface(object())
        (True, False)
    """
    missing = object()
    return all(inspect.getattr_static(env, name, missing) is not missing for name in _NAMES)


def surface(env: Any) -> EnvSurface:
    """The declared surface of ``env`` (a Gymnasium env of this package, wrapped or not).

    Raises:
        ConfigError: ``env`` is not one of this package's envs.
    """
    core = getattr(env, "unwrapped", env)
    if not has_surface(core):
        raise ConfigError(f"env: expected a mathattempt_env environment, got {type(core).__name__}")
    typed: EnvSurface = core
    return typed
