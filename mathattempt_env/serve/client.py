"""Clients of the episode server: an OpenEnv ``EnvClient`` that survives a dropped connection.

:class:`MathEnvClient` is OpenEnv's async ``EnvClient`` (``.sync()`` for a synchronous one)
with this package's models. When the connection drops (the server restarted, a proxy cut
the socket, a reply timed out) it reconnects, with backoff, for up to
``reconnect_timeout_s``, and **replays the episode in progress** on the new session: the
reset (always seeded: the client draws a seed when none is given) and every action so far,
checking that each replayed observation and reward equals the one already returned, and
then sends the call that failed. Envs are deterministic given the seed, so the caller sees
nothing but a delay and a :class:`Reconnect` in :attr:`MathEnvClient.reconnects` (and a
warning in the log). When the replay differs, or the server stays away, the call raises
:class:`EpisodeLost`, which says what was lost. OpenEnv's ``GenericEnvClient`` works with
the server too, with plain dicts and without reconnecting.

:class:`RemoteEnv` is a Gymnasium env whose episodes run on a server: the rollout driver and
the trainer adapters step it as they step a local env (``env_url=``).

Examples:
    >>> client = MathEnvClient("http://127.0.0.1:8000", token="secret")
    >>> client._step_payload(r"\\boxed{4}")
    {'text': '\\\\boxed{4}', 'cut': False, 'length': None}
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from websockets.exceptions import ConnectionClosed

from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.serve.proxy import ProxyEnv
from mathattempt_env.serve.wire import MathAction, MathObservation, MathState

logger = logging.getLogger(__name__)

#: What a dropped or dead connection raises.
DROPS = (ConnectionClosed, ConnectionError, OSError, asyncio.TimeoutError, TimeoutError)


class EpisodeLost(ConnectionError):
    """The connection dropped and the episode in progress could not be carried over."""


@dataclass(frozen=True)
class Reconnect:
    """One recovered drop.

    Attributes:
        error: what the drop raised.
        tries: connection attempts it took.
        seconds: how long the recovery took.
        replayed: actions replayed on the new session (-1: no episode was in progress).
    """

    error: str
    tries: int
    seconds: float
    replayed: int


@dataclass
class _Episode:
    reset: dict[str, Any]
    actions: list[dict[str, Any]] = field(default_factory=list)
    seen: list[tuple[str, float | None]] = field(default_factory=list)


class MathEnvClient(EnvClient[MathAction, MathObservation, MathState]):  # type: ignore[misc]
    """OpenEnv client for ``mathattempt serve``; see the module docstring.

    Args:
        base_url: the server, ``http://host:port`` (or ``ws://``).
        token: the server's bearer token, if it has one.
        reconnect: recover dropped connections (``False``: raise at once, as OpenEnv does).
        reconnect_timeout_s: how long to keep trying to reach the server again.
        seed: seeds the reset seeds the client draws when ``reset`` is given none.
        **kwargs: OpenEnv's ``EnvClient`` arguments (``message_timeout_s``, ``headers``...).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        reconnect: bool = True,
        reconnect_timeout_s: float = 60.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        super().__init__(base_url, headers=headers or None, **kwargs)
        self.reconnect = reconnect
        self.reconnect_timeout_s = reconnect_timeout_s
        self.reconnects: list[Reconnect] = []
        self._seeds = np.random.default_rng(seed)
        self._episode: _Episode | None = None

    # -- OpenEnv's hooks ------------------------------------------------------------------
    def _step_payload(self, action: Any) -> dict[str, Any]:
        if isinstance(action, MathAction):
            return {"text": action.text, "cut": action.cut, "length": action.length}
        return {
            "text": str(action),
            "cut": bool(getattr(action, "cut", False)),
            "length": getattr(action, "length", None),
        }

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[MathObservation]:
        body = payload.get("observation") or {}
        metadata = payload.get("metadata") or body.get("metadata") or {}
        observation = MathObservation(
            text=body.get("text", ""),
            messages=body.get("messages", []),
            reward=payload.get("reward"),
            done=bool(payload.get("done", False)),
            metadata=metadata,
        )
        return StepResult(observation, payload.get("reward"), observation.done, metadata)

    def _parse_state(self, payload: dict[str, Any]) -> MathState:
        return MathState(**payload)

    # -- episodes that survive a dropped connection ---------------------------------------
    async def _reset_async(self, **kwargs: Any) -> StepResult[MathObservation]:
        if kwargs.get("seed") is None:  # a seeded reset can be replayed on a new session
            kwargs["seed"] = int(self._seeds.integers(2**31))
        self._episode = None
        message = {"type": "reset", "data": kwargs}
        result = await self._exchange(message)
        self._episode = _Episode(kwargs, seen=[(result.observation.text, result.reward)])
        return result

    async def _step_async(self, action: Any, **kwargs: Any) -> StepResult[MathObservation]:
        payload = self._step_payload(action)
        result = await self._exchange({"type": "step", "data": payload})
        if self._episode is not None:
            self._episode.actions.append(payload)
            self._episode.seen.append((result.observation.text, result.reward))
        return result

    async def _exchange(self, message: dict[str, Any]) -> StepResult[MathObservation]:
        try:
            response = await self._send_and_receive(message)
        except DROPS as error:
            if not self.reconnect:
                raise
            response = await self._recover(message, error)
        return self._parse_result(response.get("data", {}))

    async def _recover(self, message: dict[str, Any], error: BaseException) -> dict[str, Any]:
        started, tries, delay = time.monotonic(), 0, 0.05
        episode = self._episode
        while True:
            tries += 1
            try:
                if episode is not None and message["type"] == "step":
                    await self._replay(episode)
                response: dict[str, Any] = await self._send_and_receive(message)
                break
            except DROPS as again:
                waited = time.monotonic() - started
                if waited + delay > self.reconnect_timeout_s:
                    raise EpisodeLost(
                        f"{self.base_url}: the connection dropped ({_said(error)}) and the "
                        f"server could not be reached again in {waited:.1f} s ({tries} tries; "
                        f"last: {_said(again)}); {self._lost(episode)}"
                    ) from again
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        replayed = len(episode.actions) if episode is not None else -1
        event = Reconnect(_said(error), tries, time.monotonic() - started, replayed)
        self.reconnects.append(event)
        logger.warning(
            "%s: connection dropped (%s); reconnected after %.2f s (%d tries)%s",
            self.base_url, event.error, event.seconds, tries,
            f" and replayed the episode's reset and {replayed} action(s)" if replayed >= 0 else "",
        )  # fmt: skip
        return response

    async def _replay(self, episode: _Episode) -> None:
        messages = [{"type": "reset", "data": episode.reset}]
        messages += [{"type": "step", "data": action} for action in episode.actions]
        for number, (message, (text, reward)) in enumerate(
            zip(messages, episode.seen, strict=True)
        ):
            try:
                again = (await self._send_and_receive(message)).get("data", {})
            except RuntimeError as error:  # the server refused the replay
                raise EpisodeLost(
                    f"{self.base_url}: reconnected, but replaying the episode failed at "
                    f"{_which(number)}: {error}; {self._lost(episode)}"
                ) from error
            body = again.get("observation") or {}
            if body.get("text") != text or again.get("reward") != reward:
                raise EpisodeLost(
                    f"{self.base_url}: reconnected, but the replayed episode differs at "
                    f"{_which(number)} (the server's env or its options changed?); "
                    f"{self._lost(episode)}"
                )

    @staticmethod
    def _lost(episode: _Episode | None) -> str:
        if episode is None:
            return "no episode was in progress"
        return (
            f"the episode in progress (reset {episode.reset}, {len(episode.actions)} "
            "action(s)) is lost: call reset() to start another"
        )


def _said(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _which(number: int) -> str:
    return "the reset" if number == 0 else f"action {number}"


class RemoteEnv(ProxyEnv):
    """A Gymnasium env whose episodes run on an episode server (see :class:`ProxyEnv`).

    It steps the server through a :class:`MathEnvClient` (which survives dropped
    connections) and checks at the first reset that the server serves ``config``.

    Args:
        url: the server.
        config: the config the server serves.
        token: the server's bearer token.
        local: options that do not travel, for the local copy (``length_fn``).
        **client_kwargs: :class:`MathEnvClient` arguments.
    """

    def __init__(
        self,
        url: str,
        config: EnvConfig,
        *,
        token: str | None = None,
        local: dict[str, Any] | None = None,
        **client_kwargs: Any,
    ) -> None:
        super().__init__(config, local)
        self.url, self._token = url, token
        self.client = MathEnvClient(url, token=token, **client_kwargs).sync()
        self._checked = False

    def _remote_reset(
        self, seed: int | None, options: dict[str, Any]
    ) -> tuple[str, list[dict[str, str]], dict[str, Any]]:
        if not self._checked:
            self._check_config()
        result = self.client.reset(seed=seed, options=options)
        return result.observation.text, result.observation.messages, result.metadata or {}

    def _remote_step(self, action: str) -> tuple[str, float, list[dict[str, str]], dict[str, Any]]:
        result = self.client.step(action)
        observation = result.observation
        return (
            observation.text,
            float(result.reward or 0.0),
            observation.messages,
            result.metadata or {},
        )

    def close(self) -> None:
        """Close the connection (the server closes the session's env) and the local copy."""
        self.client.close()
        super().close()

    def _check_config(self) -> None:
        import json
        import urllib.request

        from mathattempt_env.errors import ConfigError

        request = urllib.request.Request(f"{self.url.rstrip('/')}/mathattempt/stats")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 (our server)
            served = json.loads(reply.read())["config"]
        if served != self.config.to_dict():
            raise ConfigError(
                f"{self.url} serves {served}, but this env was made for "
                f"{self.config.to_dict()}: start the server with the same --env and --env-kwargs"
            )
        self._checked = True
