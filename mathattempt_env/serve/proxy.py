"""A Gymnasium env whose episodes are played somewhere else: a server or a Ray actor.

:class:`ProxyEnv` answers with the observations, rewards and ``info`` of a local env of the
same config (the step record is carried as :mod:`~mathattempt_env.serve.wire` metadata and
turned back into :class:`~mathattempt_env.types.StepInfo`), and declares the same
:class:`~mathattempt_env.envs.surface.EnvSurface`: what does not change during an episode
(the problems, the prompt template, the tool's stop strings) it reads from a local copy of
the env, which it never steps. Subclasses say how a reset and a step travel
(:meth:`ProxyEnv._remote_reset`, :meth:`ProxyEnv._remote_step`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.envs.surface import surface
from mathattempt_env.serve.wire import from_metadata


class ProxyEnv(gym.Env[str, str]):
    """The local face of a remote env; see the module docstring.

    Args:
        config: the remote env's config.
        local: options that do not travel in a config, for the local copy.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, config: EnvConfig, local: dict[str, Any] | None = None) -> None:
        self.config = config
        self._local_env = config.make(**(local or {}))
        self._core = surface(self._local_env)
        self.observation_space = self._local_env.observation_space
        self.action_space = self._local_env.action_space
        self.messages: list[dict[str, str]] = []
        self.records: list[Any] = []
        self._index = -1

    # -- how a reset and a step travel (subclasses) ---------------------------------------
    def _remote_reset(
        self, seed: int | None, options: dict[str, Any]
    ) -> tuple[str, list[dict[str, str]], dict[str, Any]]:
        """``(text, new messages, metadata)`` of a reset played remotely."""
        raise NotImplementedError

    def _remote_step(self, action: str) -> tuple[str, float, list[dict[str, str]], dict[str, Any]]:
        """``(text, reward, new messages, metadata)`` of a step played remotely."""
        raise NotImplementedError

    # -- the declared surface -------------------------------------------------------------
    @property
    def problems(self) -> Any:
        """The config's problems (the local copy's)."""
        return self._core.problems

    @property
    def problem(self) -> Any:
        """The episode's problem (from the local copy's problem list)."""
        return self._core.problems[self._index]

    @property
    def grading(self) -> Any:
        """How the config grades."""
        return self._core.grading

    @property
    def reward_scheme(self) -> Any:
        """The config's reward scheme."""
        return self._core.reward_scheme

    @property
    def stop(self) -> tuple[str, ...]:
        """The config's stop strings."""
        return self._core.stop

    @property
    def uses_tools(self) -> bool:
        """Whether the config's steps may run a tool."""
        return self._core.uses_tools

    def pose(self, question: str) -> Any:
        """The opening messages for ``question``."""
        return self._core.pose(question)

    def option_names(self) -> tuple[str, ...]:
        """The reset options the config takes."""
        return self._core.option_names()

    # -- Gymnasium --------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode remotely."""
        super().reset(seed=seed)
        text, messages, meta = self._remote_reset(seed, dict(options or {}))
        self.messages = list(messages)
        info = from_metadata(meta, self.messages)
        self._index = int(info["index"])
        self.records = list(info["records"])
        return text, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Play one turn remotely."""
        text, reward, messages, meta = self._remote_step(action)
        self.messages = self.messages + list(messages)
        info = from_metadata(meta, self.messages)
        self.records = list(info["records"])
        return text, float(reward), bool(meta["terminated"]), bool(meta["truncated"]), info

    def close(self) -> None:
        """Close the local copy (subclasses also release the remote env)."""
        self._local_env.close()
