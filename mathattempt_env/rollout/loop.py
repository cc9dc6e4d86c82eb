"""The one episode loop: training (the token-level driver) and evaluation both run it.

A policy makes each model turn; the loop steps the environment with it and tells the policy
what happened. The length budget is part of the environment's contract: the loop passes the
caller's limits as reset options (``max_total_length``, ``max_response_length``), the policy
reads ``info["length_left"]`` and answers with a :class:`~mathattempt_env.types.Turn` that
carries its own length and whether it was cut, so nothing reaches into the environment. An
environment whose turns are not all the model's (a tool-integrated one) is stepped the same way:
the policy sees each observation's messages in ``info``, and its steps run in a worker
thread, so a tool call's seconds do not stall the other episodes on the event loop.

Examples:
    >>> import asyncio, gymnasium as gym
    >>> from mathattempt_env.types import Turn
    >>> class Fixed:
    ...     async def turn(self, info, limit):
    ...         return Turn("so \\\\boxed{0}", length=3)
    ...     def observe(self, turn, observation, info, done):
    ...         pass
    >>> env = gym.make("MultiAttemptMath-v0", attempts=2)
    >>> played = asyncio.run(play_episode(env, Fixed(), seed=0, max_total_length=100))
    >>> [round(s.reward, 2) for s in played.steps], played.info["length_used"], played.truncated
    ([0.0, -0.5], 6, False)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from mathattempt_env.envs.surface import surface
from mathattempt_env.types import Turn


class Policy(Protocol):
    """Makes the model's turns of one episode."""

    async def turn(self, info: dict[str, Any], limit: int | None) -> Turn:
        """The next turn, at most ``limit`` length units long (``None``: no limit).

        ``info`` is the env's latest: ``info["messages"]`` is the conversation so far.
        """
        ...

    def observe(self, turn: Turn, observation: str, info: dict[str, Any], done: bool) -> None:
        """What the env did with ``turn``.

        ``observation`` is its answer (a tool's output block, feedback), ``info`` its new
        info, ``done`` whether the episode ended.
        """
        ...


@dataclass(frozen=True)
class Stepped:
    """One step of an episode.

    Attributes:
        turn: the model's turn.
        reward: the env's reward for it.
        actions: how many actions (solves, verifications) the episode had recorded after it.
    """

    turn: Turn
    reward: float
    actions: int


@dataclass(frozen=True)
class Played:
    """A finished episode: its steps, the last ``info``, and how it ended."""

    steps: list[Stepped]
    info: dict[str, Any]
    terminated: bool
    truncated: bool


async def play_episode(
    env: Any,
    policy: Policy,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    max_total_length: int | None = None,
    max_response_length: int | None = None,
    threaded: bool | None = None,
) -> Played:
    """Run one episode of ``env`` with ``policy`` to its end.

    Args:
        env: a mathattempt_env environment (wrappers are fine).
        policy: makes the turns (see :class:`Policy`).
        seed: passed to ``env.reset``.
        options: passed to ``env.reset`` (``index``, ``problem``, ``attempts``, ...).
        max_total_length: the episode's length budget (in the policy's units, e.g. tokens),
            given to the env as a reset option; ``None`` keeps the env's own.
        max_response_length: the same, per turn.
        threaded: step the env in a worker thread (``None``: when it uses tools). A caller
            whose event loop serves others too (a model proxy, other episodes) passes
            ``True``, so a grade's bounded seconds do not stall them either.

    Returns:
        The :class:`Played` episode.
    """
    options = dict(options or {})
    for key, value in (
        ("max_total_length", max_total_length),
        ("max_response_length", max_response_length),
    ):
        if value is not None:
            options.setdefault(key, value)
    _, info = env.reset(seed=seed, options=options)
    # A tool runs code for up to seconds: off the event loop, so other episodes go on.
    if threaded is None:
        threaded = surface(env).uses_tools
    steps: list[Stepped] = []
    while True:
        turn = await policy.turn(info, info.get("length_left"))
        if threaded:
            observation, reward, terminated, truncated, info = await asyncio.to_thread(
                env.step, turn
            )
        else:
            observation, reward, terminated, truncated, info = env.step(turn)
        done = bool(terminated or truncated)
        steps.append(Stepped(turn, float(reward), len(info["records"])))
        policy.observe(turn, observation, info, done)
        if done:
            return Played(steps, info, bool(terminated), bool(truncated))
