"""Run the episode server: ``mathattempt serve`` (or ``python -m mathattempt_env.serve``).

Safe defaults: it binds 127.0.0.1; another address needs a token (``--token`` or the
``MATHATTEMPT_SERVE_TOKEN`` variable, which keeps it out of the process list) or an explicit
``--insecure``. SIGTERM or SIGINT stops it gracefully: it stops accepting, closes every open
session (each session's env and its sandbox processes), and exits 0. A second signal forces it.

Examples:
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    >>> check_bind("0.0.0.0", token=None, insecure=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mathattempt_env.errors.ConfigError: --host 0.0.0.0: ... needs --token ... or --insecure
"""

from __future__ import annotations

import contextlib
import ipaddress
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.errors import ConfigError
from mathattempt_env.serve.environment import MAX_ACTION_CHARS

#: The variable a token may be given in instead of ``--token``.
TOKEN_VARIABLE = "MATHATTEMPT_SERVE_TOKEN"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, token: str | None, insecure: bool) -> None:
    """Refuse a non-loopback address without a token or ``--insecure``.

    Raises:
        ConfigError: ``host`` is not loopback and neither is given.
    """
    if not is_loopback(host) and not token and not insecure:
        raise ConfigError(
            f"--host {host}: other machines could reach it; a non-loopback address needs "
            f"--token (or {TOKEN_VARIABLE}) or --insecure"
        )


@dataclass(frozen=True)
class ServeSettings:
    """How to serve (the ``mathattempt serve`` flags).

    Attributes:
        host, port: where to listen (port 0: any free port, printed when ready).
        token: the bearer token clients must send, or ``None``.
        insecure: allow a non-loopback ``host`` without a token.
        max_sessions: sessions open at once.
        session_timeout: idle seconds before a session is closed (``None``: never).
        max_message_bytes: the largest WebSocket message (a larger one closes the
            connection with code 1009).
        max_action_chars: the longest action text.
        graceful_timeout: seconds a stop waits for open sessions before closing them.
        log_level: uvicorn's log level.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    insecure: bool = False
    max_sessions: int = 256
    session_timeout: float | None = 600.0
    max_message_bytes: int = 16 << 20
    max_action_chars: int = MAX_ACTION_CHARS
    graceful_timeout: int = 10
    log_level: str = "warning"

    def __post_init__(self) -> None:
        for name in ("max_sessions", "max_message_bytes", "max_action_chars"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name.replace('_', '-')}: expected a positive number")
        if self.session_timeout is not None and self.session_timeout <= 0:
            raise ConfigError("--session-timeout: expected a positive number of seconds")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port: expected 0-65535, got {self.port}")
        check_bind(self.host, token=self.token, insecure=self.insecure)


def serve(
    config: EnvConfig,
    settings: ServeSettings,
    *,
    local: dict[str, Any] | None = None,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Serve ``config``'s env until SIGTERM or SIGINT; returns the exit status (0).

    Args:
        config: the env id and options.
        settings: where and how.
        local: options that do not travel (``length_fn``).
        ready: called with the base URL once the server listens (default: print a line
            ``mathattempt serve: ready on http://HOST:PORT`` to stdout).
    """
    return run_app(_app(config, settings, local), settings, ready)


def run_app(app: Any, settings: ServeSettings, ready: Callable[[str], None] | None = None) -> int:
    """Serve any ASGI ``app`` of the package with ``settings`` until SIGTERM; returns 0.

    ``ready`` is called with the base URL once it listens (default: print a line
    ``mathattempt serve: ready on http://HOST:PORT``).
    """
    server = _uvicorn_server(_uvicorn_config(app, settings), ready or _announce)
    server.run()
    return 0


@contextlib.contextmanager
def background(
    config: EnvConfig, settings: ServeSettings | None = None, *, local: dict[str, Any] | None = None
) -> Iterator[str]:
    """Serve ``config`` on a thread of this process while the block runs; yields the URL.

    For notebooks and tests: the same app as ``mathattempt serve``, stopped (its sessions
    closed) when the block ends. Port 0 (the default here) takes any free port.

    Examples:
        >>> from mathattempt_env.serve.client import MathEnvClient
        >>> with background(EnvConfig("MultiAttemptMath-v0", {"attempts": 2})) as url:
        ...     with MathEnvClient(url).sync() as env:
        ...         _ = env.reset(seed=0)
        ...         result = env.step(r"\\boxed{-1}")
        >>> result.observation.text, result.reward, result.metadata["attempts_left"]
        ('Your answer is incorrect. You have 1 attempts left. Try an alternative.', 0.0, 1)
    """
    import threading

    settings = settings or ServeSettings(port=0)
    app = _app(config, settings, local)
    urls: list[str] = []
    server = _uvicorn_server(_uvicorn_config(app, settings), urls.append)
    thread = threading.Thread(target=server.run, name="mathattempt-serve", daemon=True)
    thread.start()
    try:
        for _ in range(600):  # 60 s at most
            if urls or not thread.is_alive():
                break
            thread.join(0.1)
        if not urls:
            raise RuntimeError(f"the server did not start on {settings.host}:{settings.port}")
        yield urls[0]
    finally:
        server.should_exit = True
        thread.join(settings.graceful_timeout + 5)


def _app(config: EnvConfig, settings: ServeSettings, local: dict[str, Any] | None) -> Any:
    from mathattempt_env.serve.app import build_app

    return build_app(
        config,
        max_sessions=settings.max_sessions,
        session_timeout=settings.session_timeout,
        token=settings.token,
        max_action_chars=settings.max_action_chars,
        local=local,
    )


def _uvicorn_config(app: Any, settings: ServeSettings) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.max_message_bytes,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        timeout_graceful_shutdown=settings.graceful_timeout,
        log_level=settings.log_level,
        lifespan="on",
    )


def _announce(url: str) -> None:
    print(f"mathattempt serve: ready on {url}", flush=True)


def _uvicorn_server(config: Any, ready: Callable[[str], None]) -> Any:
    """A ``uvicorn.Server`` that announces its address and exits 0 after a graceful stop."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                ready(f"http://{shown}:{port}")

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                # uvicorn re-raises a caught SIGTERM after a graceful stop, which ends the
                # process by the signal; a graceful stop is a success: exit 0.
                self._captured_signals.clear()

    return Server(config)


def main(argv: list[str] | None = None) -> int:
    """``python -m mathattempt_env.serve ARGS`` is ``mathattempt serve ARGS``."""
    from mathattempt_env.cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])
