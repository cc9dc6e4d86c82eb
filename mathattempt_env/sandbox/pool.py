"""A pool of warm sandbox servers, and :class:`Sandbox`, the object environments hold.

Each server is a process started with :mod:`subprocess` (so this works in threads, asyncio
loops, daemonic and Ray workers) from the base interpreter, isolated from the caller's path,
working directory and environment (:mod:`~mathattempt_env.sandbox.runtime`); it imports numpy,
sympy and mpmath once and then forks a supervisor per call
(:mod:`~mathattempt_env.sandbox.supervise`). The caller enforces a hard deadline on every
reply; a server that overruns it is killed (with everything it started) and replaced.

**Sizing.** A pool starts one server and grows by one only when every server it has is busy,
up to ``size``; across every process of the host that runs a pool, servers beyond the first
of each pool take a slot of a host-wide budget (``MATHATTEMPT_SANDBOX_SERVERS``, default the
CPU count), held as a lock for the server's life. So an ``AsyncVectorEnv(4)`` whose workers
make one call at a time runs four servers, not four pools of one server per core.

**Fail closed.** ``isolation="auto"`` (default) applies every layer the machine supports and
refuses to run unless one layer keeps the code from the host's files (Landlock or
namespaces) and one from the network (seccomp or namespaces), with an error that names the
``tool`` extra; a run with fewer than every layer warns once per process, loudly.
``isolation="none"`` runs with only a new session and resource limits, and must be asked for
explicitly.

Examples:
    >>> sandbox = Sandbox(size=1)
    >>> result = sandbox.run("print(sum(range(10)))", timeout=5.0)
    >>> result.status, result.output
    ('ok', '45\\n')
    >>> sandbox.close()
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import os
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mathattempt_env._proc.pool import NoMember, WarmPool
from mathattempt_env._proc.wire import Channel, ChannelClosed, ChannelTimeout
from mathattempt_env.errors import ConfigError, MathAttemptError
from mathattempt_env.sandbox import cgroups as _cgroups
from mathattempt_env.sandbox import jail as _jail
from mathattempt_env.sandbox._server import BOOTSTRAP, MODULES
from mathattempt_env.sandbox.layers import Limits, probe
from mathattempt_env.sandbox.runtime import runtime, server_environment
from mathattempt_env.sandbox.supervise import MAX_OUTPUT, WALL_FACTOR, WALL_SLACK, remove_tree

#: Seconds a server may take to start (import numpy and sympy).
STARTUP_LIMIT = 120.0
#: Seconds beyond a call's wall-clock fence before its server is killed as unresponsive.
GRACE = 5.0
#: Layers of which ``isolation="auto"`` needs one each: the host's files, and the network.
FILES, NETWORK = ("landlock", "namespaces"), ("seccomp", "namespaces")
#: Every layer; a sandbox with fewer warns once.
ALL_LAYERS = ("landlock", "namespaces", "rlimits", "seccomp", "session", "uid")
#: Environment variable: servers beyond each pool's first, host-wide.
BUDGET_VARIABLE = "MATHATTEMPT_SANDBOX_SERVERS"

_log = logging.getLogger(__name__)
_warned: set[tuple[str, ...]] = set()
_tags = itertools.count()


class SandboxUnavailableError(MathAttemptError, RuntimeError):
    """The sandbox cannot run here safely, or its servers could not start."""


#: Statuses of a call that ran and did not end cleanly: the code's failure, never the sandbox's.
FAILED = ("error", "timeout", "killed", "output-flood")


@dataclass(frozen=True)
class ToolResult:
    """What one sandboxed call did.

    Attributes:
        status: ``ok``, ``error`` (the code raised or exited non-zero, whatever the status),
            ``timeout`` (its CPU budget or the wall-clock fence), ``killed`` (a signal: a
            crash, a limit, or the code killing itself), ``output-flood`` (too much output),
            or ``sandbox-error``: the sandbox failed before the code ran (a layer could not be
            applied, no server could start or answer), never anything the code can cause.
        output: stdout and stderr, decoded, at most the output cap.
        cut: the output was cut at the cap.
        wall_s: wall-clock seconds of the call, start-up of the child included.
        layers: the isolation layers that were in force.
        cpu_s: CPU seconds the call used, over all its processes.
        bounds: what held the call's ``memory``, ``processes`` and ``files``: ``cgroup``,
            ``uid`` (a process limit of the call's own uid), ``rlimit`` (per process),
            ``tmpfs`` (a size-capped working directory) or ``file-size`` (per file only).
        uid: the call's own uid (``None`` without the ``uid`` layer): no process of it is
            left once the result is back.
    """

    status: str
    output: str
    cut: bool
    wall_s: float
    layers: tuple[str, ...]
    cpu_s: float = 0.0
    bounds: dict[str, str] = field(default_factory=dict)
    uid: int | None = None

    @property
    def infrastructure_error(self) -> bool:
        """Whether the sandbox, not the code, failed (report it; never reward or punish it)."""
        return self.status == "sandbox-error"

    @property
    def failed(self) -> bool:
        """Whether the code ran and failed: every such kind is the model's (a tool error)."""
        return self.status in FAILED


def _host_budget() -> int:
    value = os.environ.get(BUDGET_VARIABLE, "")
    if value:
        if not value.isdigit() or int(value) < 0:
            raise ConfigError(f"{BUDGET_VARIABLE}: expected a whole number >= 0, got {value!r}")
        return int(value)
    return os.cpu_count() or 1


def _take_slot() -> int | None:
    """A descriptor holding one slot of the host-wide server budget, or ``None`` when full."""
    folder = Path(tempfile.gettempdir()) / f"mathattempt-sandbox-slots-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    if folder.is_symlink() or folder.stat().st_uid != os.geteuid():
        return None  # not ours: no slot rather than trust it
    for number in range(_host_budget()):
        fd = os.open(folder / f"slot-{number}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return fd
    return None


def _libraries() -> dict[str, str]:
    """Library names the server's modules look up, found here (no ``ldconfig`` in the jail)."""
    import ctypes.util

    found = {name: ctypes.util.find_library(name) for name in ("c", "seccomp")}
    return {name: path for name, path in found.items() if path}


def _source(name: str) -> str:
    module = __import__(name, fromlist=["_"])
    return Path(str(module.__file__)).read_text(encoding="utf-8")


class _Server:
    """One warm server process and its socket."""

    def __init__(self, layers: tuple[str, ...], limits: Limits, slot: int | None) -> None:
        self.slot = slot
        self.tag = f"{os.getpid()}-{next(_tags)}"
        self.cgroups = _cgroups.server_roots(self.tag) if "uid" in layers else []
        self.private: str | None = None
        self.ready = False
        self.on_kill: Callable[[], None] | None = None  # told once, when the server is stopped
        try:
            self._start(layers, limits)
        except BaseException:  # nothing of a server that did not start is left behind
            proc = getattr(self, "proc", None)
            if proc is not None:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, 9)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
            _cgroups.remove_roots(self.cgroups)
            if self.private is not None:
                remove_tree(self.private)
            raise

    def _start(self, layers: tuple[str, ...], limits: Limits) -> None:
        jailed = "namespaces" in layers
        try:
            allowed = runtime()
        except (OSError, subprocess.SubprocessError) as error:
            raise SandboxUnavailableError(f"the sandbox's runtime probe failed: {error}") from None
        spec: dict[str, Any] = {
            "modules": [(name, _source(name)) for name in MODULES],
            "runtime": asdict(allowed),
            # In the jail and the tree, the hidden directories are not there at all.
            "readable": list(allowed.readable()),
            "cgroups": self.cgroups,
            "chroot": None,
            "file_bound": "file-size",
            "libraries": _libraries(),
            "layers": list(layers),
            "limits": asdict(limits),
        }
        prefix: list[str] = []
        if jailed:
            prefix = _jail.jail_command(self.cgroups, limits.disk) or []
            spec.update(cgroups=_jail.jail_cgroups(self.cgroups), tmp=_jail.CALLS,
                        file_bound="tmpfs")  # fmt: skip
        elif "uid" in layers:  # root without namespaces: a tree of the runtime alone
            from mathattempt_env.sandbox.tree import runtime_tree

            try:
                spec.update(chroot=runtime_tree(allowed), tmp="/tmp")
            except OSError as error:
                raise SandboxUnavailableError(
                    f"cannot make the sandbox's root file system: {error}"
                ) from None
        else:  # the host's own file system: Landlock grants the runtime entry by entry
            self.private = tempfile.mkdtemp(prefix="mathattempt-sandbox-")
            spec.update(tmp=self.private, readable=list(allowed.entries()))
        mine, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [*prefix, allowed.python, "-I", "-S", "-c", BOOTSTRAP, str(theirs.fileno())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=server_environment(), cwd="/", pass_fds=[theirs.fileno()],
                start_new_session=True,
            )  # fmt: skip
        finally:
            theirs.close()
        self.channel = Channel(mine)
        self.channel.send(json.dumps(spec).encode())

    def _read(self, deadline: float) -> dict[str, object] | None:
        try:
            result: dict[str, object] = json.loads(self.channel.recv(deadline))
        except (ChannelTimeout, ChannelClosed, ValueError):
            return None
        return result

    def wait_ready(self, deadline: float) -> bool:
        if not self.ready:
            self.ready = self._read(deadline) is not None
        return self.ready

    def call(self, job: dict[str, object], deadline: float) -> dict[str, object] | None:
        try:
            self.channel.send(json.dumps(job).encode(), deadline)
        except (ChannelTimeout, ChannelClosed):
            return None
        return self._read(deadline)

    def alive(self) -> bool:
        """Whether the (idle) server still runs; one killed while idle is replaced unseen."""
        return self.proc.poll() is None

    def kill(self, graceful: bool = False) -> None:
        """Stop the server: an idle one exits when its socket closes; otherwise kill it all."""
        release, self.on_kill = self.on_kill, None
        if release is not None:
            release()
        self.channel.close()
        stopped = False
        if graceful:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)
                stopped = True
        if not stopped:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, 9)  # the server, its supervisors and their children
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        _cgroups.remove_roots(self.cgroups)
        if self.private is not None:
            remove_tree(self.private)
        if self.slot is not None:
            with contextlib.suppress(OSError):
                os.close(self.slot)
            self.slot = None


class _ServerPool(WarmPool[_Server]):
    """The sandbox's policy: one server, and one more only while every server is busy."""

    def wanted(self) -> int:
        return max(1, min(self.size, self.busy))


def _warn_degraded(layers: tuple[str, ...]) -> None:
    missing = tuple(sorted(set(ALL_LAYERS) - set(layers) - ({"uid"} if os.geteuid() else set())))
    if not missing or missing in _warned:
        return
    _warned.add(missing)
    message = (
        f"the sandbox runs WITHOUT {', '.join(missing)} (in force: {', '.join(layers)}): "
        "model code is less contained than it can be; install the 'tool' extra "
        "(pip install 'mathattempt-env[tool]') on a host that allows namespaces for every layer"
    )
    _log.warning(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


class Sandbox:
    """Runs Python code in isolated, supervised children of warm servers.

    Args:
        size: the most servers in the pool (default: the CPU count, at least 1). Each runs
            one call at a time; the pool grows only when every server it has is busy.
        isolation: ``"auto"`` (every available layer; refuse without one that holds the
            files and one that holds the network) or ``"none"`` (a new session and resource
            limits only; not a sandbox).
        max_output: bytes of output a call may print before it is killed as a flood.
        wall_factor: the wall-clock fence of a call, in multiples of its CPU budget (plus a
            second): a call whose CPU time fits the budget still ends by the fence.
        limits: the resource limits of each call (its CPU limit per process follows the
            call's timeout).

    Raises:
        SandboxUnavailableError: ``isolation="auto"`` on a machine without those layers.
        ConfigError: an unknown ``isolation`` or a bad limit.
    """

    def __init__(
        self,
        size: int | None = None,
        isolation: str = "auto",
        max_output: int = MAX_OUTPUT,
        wall_factor: float = WALL_FACTOR,
        limits: Limits | None = None,
    ) -> None:
        if isolation == "auto":
            available = probe()
            lacking = [
                what
                for what, holders in (("files", FILES), ("network", NETWORK))
                if not available & set(holders)
            ]
            if lacking:
                raise SandboxUnavailableError(
                    f"refusing to run model code: nothing here keeps it from the host's "
                    f"{' and '.join(lacking)} (layers here: {', '.join(sorted(available))}; the "
                    "files need Landlock or namespaces, the network seccomp or namespaces); "
                    "install the 'tool' extra (pip install 'mathattempt-env[tool]') for "
                    'seccomp and bubblewrap, or pass isolation="none" to run it without a '
                    "sandbox, at your own risk"
                )
            self.layers = tuple(sorted(available))
        elif isolation == "none":
            self.layers = ("rlimits", "session")
        else:
            raise ConfigError(f"isolation: expected 'auto' or 'none', got {isolation!r}")
        if not wall_factor >= 1:
            raise ConfigError(f"wall_factor: expected a number >= 1, got {wall_factor!r}")
        _warn_degraded(self.layers)
        self.isolation = isolation
        self.size = size or os.cpu_count() or 1
        self.max_output = max_output
        self.wall_factor = float(wall_factor)
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._slotless = False  # the pool's one server that needs no host slot is taken
        #: The servers (:mod:`mathattempt_env._proc.pool`): one, more only while all are busy.
        self.pool = _ServerPool(self.size, self._supply)
        self.infrastructure_errors = 0

    def _supply(self) -> None:
        """Start one server for the pool: the first needs no slot, others take one."""
        with self._lock:
            first = not self._slotless  # decided and taken at once: one slotless server
            self._slotless = True
            slot = None if first else _take_slot()
        if not first and slot is None:
            self.pool.deliver(None)  # the host-wide budget is spent: no more servers
            return
        try:
            server = _Server(self.layers, self.limits, slot)
        except Exception as error:  # noqa: BLE001 - the pool reports it to every waiting call
            if slot is not None:
                os.close(slot)
            if first:
                self._release_slotless()
            note = str(error) if isinstance(error, SandboxUnavailableError) else repr(error)
            self.pool.deliver(None, f"a sandbox server could not start: {note}")
            return
        if first:
            server.on_kill = self._release_slotless
        self.pool.deliver(server)

    def _release_slotless(self) -> None:
        with self._lock:
            self._slotless = False

    def servers(self) -> int:
        """Servers the pool runs now (idle, busy and starting)."""
        return self.pool.counts()[0]

    def prestart(self) -> None:
        """Start the first server now (it imports numpy and sympy), without waiting for it."""
        self.pool.top_up()

    def _checkout(self, deadline: float) -> _Server:
        try:
            server = self.pool.checkout(deadline)
        except NoMember as missing:
            raise SandboxUnavailableError(str(missing) or "every sandbox server is busy") from None
        if not server.wait_ready(time.monotonic() + STARTUP_LIMIT):
            self.pool.discard(server)
            raise SandboxUnavailableError("a sandbox server did not start")
        return server

    def run(self, code: str, timeout: float = 5.0) -> ToolResult:
        """Run ``code`` and return what it printed and how it ended; never raises for the code.

        Args:
            code: the program.
            timeout: the CPU seconds it may use over all its processes; it is also stopped
                at the wall-clock fence, ``wall_factor * timeout + 1`` seconds.

        A failure of the sandbox itself is a ``sandbox-error`` result (counted in
        :attr:`infrastructure_errors`), never an exception and never the code's error.
        """
        started = time.monotonic()
        wall = self.wall_factor * float(timeout) + WALL_SLACK
        job = {"code": str(code), "timeout": float(timeout), "wall": wall,
               "max_output": self.max_output}  # fmt: skip
        with self.pool.cond:
            self.pool.busy += 1
        try:
            return self._run(job, started, wall)
        finally:
            with self.pool.cond:
                self.pool.busy -= 1

    def _run(self, job: dict[str, object], started: float, wall: float) -> ToolResult:
        try:
            server = self._checkout(started + STARTUP_LIMIT)
        except (SandboxUnavailableError, OSError) as error:
            return self._failed(str(error), started)
        try:
            reply = server.call(job, time.monotonic() + wall + GRACE)
        except (OSError, ValueError) as error:
            reply, note = None, f"{type(error).__name__}: {error}"
        else:
            note = "the sandbox server did not answer in time"
        if reply is None:
            self.pool.discard(server)
            return self._failed(note, started)
        self.pool.checkin(server)
        result = ToolResult(
            str(reply["status"]),
            str(reply.get("output", "")),
            bool(reply.get("cut", False)),
            float(reply.get("wall_s", time.monotonic() - started)),  # type: ignore[arg-type]
            tuple(reply.get("layers", self.layers)),  # type: ignore[arg-type]
            float(reply.get("cpu_s", 0.0)),  # type: ignore[arg-type]
            dict(reply.get("bounds", {})),  # type: ignore[call-overload]
            reply.get("uid"),  # type: ignore[arg-type]
        )
        if result.infrastructure_error:
            self.infrastructure_errors += 1
        return result

    def _failed(self, note: str, started: float) -> ToolResult:
        self.infrastructure_errors += 1
        return ToolResult("sandbox-error", note, False, time.monotonic() - started, self.layers)

    def close(self) -> None:
        """Stop every idle server (a later call starts the pool again)."""
        for server in self.pool.drain():
            server.kill(graceful=True)

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
