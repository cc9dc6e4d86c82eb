"""A pool of warm sandbox servers, and :class:`Sandbox`, the object environments hold.

Each server is a process started with :mod:`subprocess` (so this works in threads, asyncio
loops, daemonic and Ray workers) that imports numpy, sympy and mpmath once and then forks a
supervised child per call (:mod:`~mathattempt_env.sandbox.supervise`). The pool is sized by
cores and started off the critical path (:meth:`Sandbox.prestart`). The caller enforces a
hard deadline on every reply; a server that overruns it is killed (with everything it
started) and replaced.

**Fail closed.** ``isolation="auto"`` (default) applies every layer the machine supports and
refuses to run when neither Landlock nor namespaces are available, with an error that says
so; ``isolation="none"`` runs with only a new session and resource limits, and must be asked
for explicitly.

Example:
    >>> sandbox = Sandbox(size=1)
    >>> result = sandbox.run("print(sum(range(10)))", timeout=5.0)
    >>> result.status, result.output
    ('ok', '45\\n')
    >>> sandbox.close()
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from mathattempt_env.errors import ConfigError, MathAttemptError
from mathattempt_env.sandbox._server import HEADER
from mathattempt_env.sandbox.jail import jail_command, server_environment
from mathattempt_env.sandbox.layers import probe
from mathattempt_env.sandbox.supervise import MAX_OUTPUT

#: Seconds a server may take to start (import numpy and sympy).
STARTUP_LIMIT = 120.0
#: Seconds beyond a call's timeout before its server is killed as unresponsive.
GRACE = 2.0
#: ``isolation="auto"`` runs only with at least one of these: each keeps the code away from
#: the host's files and network on its own.
CONTAINING = ("landlock", "namespaces")


class SandboxUnavailableError(MathAttemptError, RuntimeError):
    """The sandbox cannot run here safely, or its servers could not start."""


@dataclass(frozen=True)
class ToolResult:
    """What one sandboxed call did.

    Attributes:
        status: ``ok``, ``error`` (the code raised or exited non-zero), ``timeout``,
            ``killed`` (a signal: a crash, or a limit), ``output-flood`` (too much output),
            or ``sandbox-error``: an infrastructure failure, never the model's fault.
        output: stdout and stderr, decoded, at most the output cap.
        cut: the output was cut at the cap.
        wall_s: wall-clock seconds of the call, start-up of the child included.
        layers: the isolation layers that were in force.
    """

    status: str
    output: str
    cut: bool
    wall_s: float
    layers: tuple[str, ...]

    @property
    def infrastructure_error(self) -> bool:
        """Whether the sandbox, not the code, failed (report it; never reward or punish it)."""
        return self.status == "sandbox-error"


class _Server:
    """One warm server process and its socket."""

    def __init__(self, jailed: bool) -> None:
        mine, theirs = socket.socketpair()
        # In the jail, bubblewrap's --die-with-parent ties the server to this process, and
        # the server's parent is bubblewrap, so it is not told this pid to check.
        jail = jail_command() if jailed else None
        prefix, parent = (jail, 0) if jail else ([], os.getpid())
        try:
            self.proc = subprocess.Popen(
                [*prefix, sys.executable, "-m", "mathattempt_env.sandbox._server",
                 str(theirs.fileno()), str(parent)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=server_environment(), pass_fds=[theirs.fileno()], start_new_session=True,
            )  # fmt: skip
        finally:
            theirs.close()
        self.sock = mine
        self.ready = False

    def _read(self, deadline: float) -> dict[str, object] | None:
        data = b""
        need = HEADER.size
        size = None
        while len(data) < need:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            chunk = self.sock.recv(need - len(data))
            if not chunk:
                return None
            data += chunk
            if size is None and len(data) == HEADER.size:
                (size,) = HEADER.unpack(data)
                data, need = b"", size
        result: dict[str, object] = json.loads(data)
        return result

    def wait_ready(self, deadline: float) -> bool:
        if not self.ready:
            self.ready = self._read(deadline) is not None
        return self.ready

    def call(self, job: dict[str, object], deadline: float) -> dict[str, object] | None:
        data = json.dumps(job).encode()
        self.sock.sendall(HEADER.pack(len(data)) + data)
        return self._read(deadline)

    def kill(self, graceful: bool = False) -> None:
        """Stop the server: an idle one exits when its socket closes; otherwise kill it all."""
        with contextlib.suppress(OSError):
            self.sock.close()
        if graceful:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)
                return
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, 9)  # the server, its supervisors and their children
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


class Sandbox:
    """Runs Python code in isolated, supervised children of warm servers.

    Args:
        size: servers in the pool (default: the CPU count, at least 1). Each runs one call at
            a time.
        isolation: ``"auto"`` (every available layer; refuse with neither Landlock nor
            namespaces) or ``"none"`` (a new session and resource limits only; not a sandbox).
        max_output: bytes of output a call may print before it is killed as a flood.

    Raises:
        SandboxUnavailableError: ``isolation="auto"`` on a machine with neither Landlock
            nor namespaces.
        ConfigError: an unknown ``isolation``.
    """

    def __init__(
        self, size: int | None = None, isolation: str = "auto", max_output: int = MAX_OUTPUT
    ) -> None:
        available = probe()
        if isolation == "auto":
            if not available & set(CONTAINING):
                raise SandboxUnavailableError(
                    "refusing to run model code: neither Landlock nor namespaces (bubblewrap) "
                    f"are available on this machine (layers here: {', '.join(sorted(available))})"
                    "; install the 'tool' extra for bubblewrap, or pass isolation=\"none\" to "
                    "run it without a sandbox, at your own risk"
                )
            self.layers = tuple(sorted(available))
        elif isolation == "none":
            self.layers = ("rlimits", "session")
        else:
            raise ConfigError(f"isolation: expected 'auto' or 'none', got {isolation!r}")
        self.jailed = "namespaces" in self.layers
        self.isolation = isolation
        self.size = size or os.cpu_count() or 1
        self.max_output = max_output
        self._idle: queue.SimpleQueue[_Server] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0
        self.infrastructure_errors = 0

    def prestart(self) -> None:
        """Start every server now (they import numpy and sympy), without waiting for them."""
        with self._lock:
            while self._started < self.size:
                self._started += 1
                self._idle.put(_Server(self.jailed))

    def _checkout(self, deadline: float) -> _Server:
        self.prestart()
        for _ in range(self.size + 1):  # a server that died while idle is replaced first
            try:
                server = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise SandboxUnavailableError("every sandbox server is busy") from None
            if server.proc.poll() is None:
                break
            server.kill()
            self._replace()
        if not server.wait_ready(time.monotonic() + STARTUP_LIMIT):
            server.kill()
            self._replace()
            raise SandboxUnavailableError("a sandbox server did not start")
        return server

    def _replace(self) -> None:
        self._idle.put(_Server(self.jailed))

    def run(self, code: str, timeout: float = 5.0) -> ToolResult:
        """Run ``code`` and return what it printed and how it ended; never raises for the code.

        A failure of the sandbox itself is a ``sandbox-error`` result (counted in
        :attr:`infrastructure_errors`), never an exception and never the code's error.
        """
        started = time.monotonic()
        job = {"code": str(code), "timeout": float(timeout), "layers": list(self.layers),
               "max_output": self.max_output}  # fmt: skip
        try:
            server = self._checkout(started + STARTUP_LIMIT)
        except SandboxUnavailableError as error:
            return self._failed(str(error), started)
        try:
            reply = server.call(job, time.monotonic() + timeout + GRACE)
        except OSError as error:
            reply, note = None, f"{type(error).__name__}: {error}"
        else:
            note = "the sandbox server did not answer in time"
        if reply is None:
            server.kill()
            self._replace()
            return self._failed(note, started)
        self._idle.put(server)
        result = ToolResult(
            str(reply["status"]),
            str(reply.get("output", "")),
            bool(reply.get("cut", False)),
            float(reply.get("wall_s", time.monotonic() - started)),  # type: ignore[arg-type]
            tuple(reply.get("layers", self.layers)),  # type: ignore[arg-type]
        )
        if result.infrastructure_error:
            self.infrastructure_errors += 1
        return result

    def _failed(self, note: str, started: float) -> ToolResult:
        self.infrastructure_errors += 1
        return ToolResult("sandbox-error", note, False, time.monotonic() - started, self.layers)

    def close(self) -> None:
        """Stop every idle server."""
        while True:
            try:
                server = self._idle.get_nowait()
            except queue.Empty:
                break
            server.kill(graceful=True)
        self._started = 0

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


_shared: dict[str, Sandbox] = {}
_shared_lock = threading.Lock()


def shared_sandbox(isolation: str = "auto") -> Sandbox:
    """This process's sandbox for ``isolation``, made on first use (anew after a fork).

    Environments share it, so a process runs one pool sized by its cores.

    Raises:
        SandboxUnavailableError: see :class:`Sandbox`.
    """
    key = f"{isolation}:{os.getpid()}"
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Sandbox(isolation=isolation)
        return _shared[key]
