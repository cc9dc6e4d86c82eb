"""The episode server's ASGI app: OpenEnv's routes over :class:`MathEnvironment` sessions.

:func:`build_app` makes a FastAPI app with OpenEnv's ``HTTPEnvServer`` routes (``/ws``,
``/health``, ``/metadata``, ``/schema``, the task API) in production mode: an episode is a
WebSocket session (OpenEnv's stateless HTTP ``/reset`` and ``/step`` make a fresh env per
request, which cannot hold a multi-step episode, so they are not served). It adds
``/mathattempt/stats`` (sessions and counts) and, with a token, requires
``Authorization: Bearer <token>`` on every route but ``/health``.

Examples:
    >>> from mathattempt_env.envs.config import EnvConfig
    >>> app = build_app(EnvConfig("MultiAttemptMath-v0"))
    >>> sorted(r.path for r in app.api.routes if r.path in ("/ws", "/health", "/mathattempt/stats"))
    ['/health', '/mathattempt/stats', '/ws']
"""

from __future__ import annotations

import functools
import hmac
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.envs.surface import surface
from mathattempt_env.serve.environment import MAX_ACTION_CHARS, MathEnvironment, ServerCounters
from mathattempt_env.serve.wire import MathAction, MathObservation, MathState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Routes any client may call without the token (a load balancer's liveness probe).
OPEN_PATHS = frozenset({"/health"})

#: The largest HTTP request body accepted (the WebSocket limit is the server's ``ws_max_size``).
MAX_BODY_BYTES = 1 << 20


class _TooLarge(Exception):
    pass


class Gate:
    """ASGI middleware: the bearer token on every request and WebSocket, and a body limit.

    A request without the token gets 401 (a WebSocket handshake is refused with 403) before
    any route runs; ``/health`` stays open. A body over ``max_body`` bytes gets 413.

    Args:
        app: the app to guard.
        token: the bearer token, or ``None`` for none.
        max_body: the largest HTTP body in bytes.
    """

    def __init__(self, app: ASGIApp, token: str | None, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.max_body = max_body

    def _allowed(self, scope: Scope) -> bool:
        if self.expected is None or scope.get("path") in OPEN_PATHS:
            return True
        given = dict(scope.get("headers") or ()).get(b"authorization", b"")
        return hmac.compare_digest(given, self.expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then hand it to the app."""
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if not self._allowed(scope):
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _reply(send, 401, "missing or wrong bearer token", bearer=True)
            return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _reply(send, 413, f"request body over {self.max_body} bytes")
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await _reply(send, 413, f"request body over {self.max_body} bytes")


async def _reply(send: Send, status: int, detail: str, *, bearer: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if bearer:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def build_app(
    config: EnvConfig,
    *,
    max_sessions: int = 256,
    session_timeout: float | None = 600.0,
    token: str | None = None,
    max_action_chars: int = MAX_ACTION_CHARS,
    local: dict[str, Any] | None = None,
) -> Any:
    """The ASGI app serving ``config``'s env (see the module docstring).

    Args:
        config: the env id and options of every session's env.
        max_sessions: sessions open at once; one more gets OpenEnv's ``CAPACITY_REACHED``.
        session_timeout: seconds a session may sit idle before its env is closed (``None``:
            never). OpenEnv's reaper checks every ``max(timeout / 4, 5)`` seconds.
        token: require ``Authorization: Bearer <token>`` (all routes but ``/health``).
        max_action_chars: the longest action text a session accepts.
        local: options that do not travel (``length_fn``).

    Returns:
        An :class:`EpisodeApp`.
    """
    from fastapi import FastAPI
    from openenv.core.env_server.http_server import HTTPEnvServer
    from openenv.core.env_server.types import ConcurrencyConfig

    counters = ServerCounters()
    probe = config.make(**(local or {}))
    try:
        # Every session shares the probe's problem list, so none loads the data again.
        shared = {**(local or {}), "dataset": surface(probe).problems}
    finally:
        probe.close()
    factory = functools.partial(
        MathEnvironment, config, local=shared, max_action_chars=max_action_chars, counters=counters
    )
    server = HTTPEnvServer(
        factory,
        MathAction,
        MathObservation,
        concurrency_config=ConcurrencyConfig(
            max_concurrent_envs=max_sessions, session_timeout=session_timeout
        ),
        env_name=config.env_id,
        state_cls=MathState,
    )
    api = FastAPI(title=f"mathattempt_env {config.env_id}", docs_url=None, redoc_url=None)
    server.register_routes(api, mode="production")

    @api.get("/mathattempt/stats")
    def stats() -> dict[str, Any]:
        return {
            "env_id": config.env_id,
            "config": config.to_dict(),
            "active_sessions": server.active_sessions,
            "max_sessions": server.max_concurrent_envs,
            "pid": os.getpid(),
            **counters.snapshot(),
        }

    return EpisodeApp(api, token, counters=counters, server=server)


class EpisodeApp(Gate):
    """The served app: :class:`Gate` around the FastAPI app ``api``.

    Attributes:
        api: the FastAPI app (OpenEnv's routes and ``/mathattempt/stats``).
        counters: the sessions' counts.
        server: OpenEnv's ``HTTPEnvServer`` (its sessions).
    """

    def __init__(self, api: Any, token: str | None, *, counters: ServerCounters, server: Any):
        super().__init__(api, token)
        self.api, self.counters, self.server = api, counters, server
