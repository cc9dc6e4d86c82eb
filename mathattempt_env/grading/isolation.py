"""Worker processes for work that can run long, with hard wall-clock limits and no signals.

sympy and latex2sympy2 run outside the calling process, where an overrun can be ended by
killing the process. The workers come from a **fork server**: one small process per grading
process that imports sympy once and then forks a ready worker in a few milliseconds whenever
one is needed. So a worker killed for overrunning is replaced at once, and no grade ever waits
for (or pays for) sympy's start-up again. Only the fork server's own start-up, once per
process, takes seconds; grades that need a worker before it is ready give up at their own
deadline with :class:`WorkerUnavailable`, and the fork server is never killed for it.

- A background thread in the calling process (the *manager*) starts the fork server with
  :mod:`subprocess`, so this works inside daemonic multiprocessing workers and Ray actors,
  asks it for workers and tells it which to kill. Grading threads only wait on their own
  worker's socket, with :func:`select.select` and their own deadline.
- Nothing outlives its parent. The fork server dies with the calling process (Linux's
  parent-death signal, tied to the manager thread, which lives as long as the process; and
  it also exits when its control socket closes), and each worker dies with the fork server.
- At most ``size`` workers per pool; the grader's own pool has one.

The messages, the parent-death signal and the pool (checkout under a deadline, kill and
replace) are the process layer's (:mod:`mathattempt_env._proc`), which the sandbox shares.

Examples:
    >>> import operator
    >>> pool = WorkerPool(size=1)
    >>> pool.run(operator.add, 2, 3, timeout=1.0, startup_timeout=120.0)
    5
    >>> pool.close()
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import queue
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from mathattempt_env._proc.pool import NoMember, PoolClosed, WarmPool
from mathattempt_env._proc.wire import Channel, ChannelClosed, ChannelTimeout
from mathattempt_env.errors import GraderUnavailableError

#: A pid on the control socket.
PID = struct.Struct("!q")
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Set in worker processes, so that grading there runs the slow path inline.
IN_WORKER = os.environ.get("MATHATTEMPT_GRADER_WORKER") == "1"
#: Seconds to wait before starting the fork server again after it failed to start or died.
RESTART_BACKOFF = 5.0
#: Seconds the fork server may take to start (import sympy) before it counts as failed.
STARTUP_LIMIT = 300.0
#: Seconds the (idle) fork server may take to answer a fork request.
FORK_LIMIT = 30.0


class WorkerTimeout(TimeoutError):
    """The job overran its deadline; its worker was killed."""


class WorkerCrashed(RuntimeError):
    """The worker process died while running the job."""


class WorkerUnavailable(TimeoutError):
    """No worker was ready before the deadline; nothing was killed.

    The fork server was still starting, or every worker of the pool was busy.
    """


def encode(payload: Any) -> bytes:
    """A message's bytes: the pickle of ``payload``."""
    return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)


class _Worker:
    """One forked worker: a channel to it, and its pid (for the fork server to kill)."""

    def __init__(self, sock: socket.socket, pid: int, server: _Server) -> None:
        self.channel = Channel(sock)
        self.pid = pid
        self.server = server

    def alive(self) -> bool:
        """An idle worker never writes: anything readable (EOF included) means it is gone."""
        return self.channel.quiet()

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], deadline: float) -> Any:
        try:
            self.channel.send(encode((fn, args)), deadline)
            status, value = pickle.loads(self.channel.recv(deadline))
        except ChannelTimeout as error:
            raise WorkerTimeout("grader worker overran its deadline") from error
        except ChannelClosed as error:
            raise WorkerCrashed(f"grader worker is gone: {error}") from error
        if status == "error":
            raise RuntimeError(f"grader worker job failed: {value}")
        return value

    def kill(self) -> None:
        """Close the socket and have the fork server kill and reap the process (no wait)."""
        self.channel.close()
        self.server.request(("kill", self.pid))


class _Server:
    """The calling process's side of the fork server: a manager thread and its queue."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.jobs: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.error = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.ctrl: socket.socket | None = None
        self.live: set[int] = set()
        self.thread = threading.Thread(target=self._manage, name="mathattempt-grader", daemon=True)
        self.thread.start()

    def request(self, job: tuple[Any, ...]) -> None:
        self.jobs.put(job)

    # -- the manager thread ----------------------------------------------------------------
    def _start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ)
        env["MATHATTEMPT_GRADER_WORKER"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(
            [_PACKAGE_ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        )
        command = [sys.executable, "-m", "mathattempt_env.grading._zygote"]
        try:
            self.proc = subprocess.Popen(
                [*command, str(child.fileno()), str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                pass_fds=[child.fileno()],
            )
        finally:
            child.close()
        self.ctrl = parent
        parent.settimeout(STARTUP_LIMIT)
        try:
            reply = parent.recv(4096)
        except TimeoutError:
            reply = b"Estill not ready after %d s" % STARTUP_LIMIT
        parent.settimeout(FORK_LIMIT)
        if reply != b"R":
            raise GraderUnavailableError(
                "the grader's sympy process failed to start: "
                + (reply[1:].decode(errors="replace") if reply else "it exited")
            )

    def _stop(self) -> None:
        if self.ctrl is not None:
            with contextlib.suppress(OSError):
                self.ctrl.close()
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        self.ctrl = self.proc = None
        self.live.clear()

    def _fork(self) -> _Worker:
        assert self.ctrl is not None
        mine, theirs = socket.socketpair()
        try:
            socket.send_fds(self.ctrl, [b"F"], [theirs.fileno()])
            reply = self.ctrl.recv(64)
        finally:
            theirs.close()
        if len(reply) != 1 + PID.size or reply[:1] != b"P":
            mine.close()
            raise GraderUnavailableError("the grader's sympy process stopped answering")
        (pid,) = PID.unpack(reply[1:])
        self.live.add(pid)
        return _Worker(mine, pid, self)

    def _manage(self) -> None:
        failed_at = -RESTART_BACKOFF
        while True:
            job = self.jobs.get()
            if job[0] == "kill":
                if self.ctrl is not None and job[1] in self.live:
                    self.live.discard(job[1])
                    with contextlib.suppress(OSError):
                        self.ctrl.send(b"K" + PID.pack(job[1]))
                continue
            pool: WorkerPool = job[1]
            try:
                if self.ctrl is None:
                    wait = failed_at + RESTART_BACKOFF - time.monotonic()
                    if wait > 0:
                        raise GraderUnavailableError(f"{self.error} (retrying in {wait:.0f} s)")
                    self._start()
                    self.error = ""
                try:
                    worker = self._fork()
                except (OSError, GraderUnavailableError):
                    self._stop()  # it died: start it again, once, right now
                    self._start()
                    worker = self._fork()
            except (OSError, GraderUnavailableError) as error:
                failed_at = time.monotonic()
                self.error = str(error) or type(error).__name__
                self._stop()
                pool._delivered(None, self.error)
                continue
            pool._delivered(worker, "")


_server: _Server | None = None
_server_lock = threading.Lock()


def server() -> _Server:
    """This process's fork-server manager, started on first use (and anew after a fork)."""
    global _server
    with _server_lock:
        if _server is None or _server.pid != os.getpid():
            _server = _Server()
        return _server


class WorkerPool:
    """Up to ``size`` forked worker processes that run picklable jobs under hard deadlines.

    Args:
        size: the most processes the pool runs at once.
    """

    def __init__(self, size: int = 1) -> None:
        if size < 1:
            raise ValueError(f"expected a pool size >= 1, got {size}")
        self.pid = os.getpid()
        # Workers are asked of the fork server's manager thread, which delivers them later.
        self.members: WarmPool[_Worker] = WarmPool(
            size, supply=lambda: server().request(("fork", self)), backoff=RESTART_BACKOFF
        )

    @property
    def size(self) -> int:
        """The most workers at once."""
        return self.members.size

    def prestart(self) -> None:
        """Ask for the pool's workers now (starting the fork server if needed); no waiting."""
        self.members.top_up()

    def _delivered(self, worker: _Worker | None, error: str) -> None:
        self.members.deliver(worker, error)

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        timeout: float,
        startup_timeout: float | None = None,
    ) -> Any:
        """Run ``fn(*args)`` in a worker and return its result.

        ``timeout`` covers waiting for a free worker and the job. With ``startup_timeout``,
        waiting for a worker may take that long instead, and ``timeout`` starts when the job
        does (for batch work that may wait for the fork server's first start).

        Raises:
            WorkerUnavailable: no worker became ready in time (nothing was killed).
            WorkerTimeout: the job did not finish in time; the worker was killed and a
                replacement asked for.
            WorkerCrashed: the worker died.
            RuntimeError: ``fn`` raised in the worker.
        """
        start = time.monotonic()
        wait_until = start + (timeout if startup_timeout is None else startup_timeout)
        try:
            worker = self.members.checkout(wait_until)
        except PoolClosed:
            raise GraderUnavailableError("the grader worker pool is closed") from None
        except NoMember as missing:
            raise WorkerUnavailable(str(missing) or "no grader worker was ready in time") from None
        deadline = start + timeout if startup_timeout is None else time.monotonic() + timeout
        try:
            result = worker.call(fn, args, deadline)
        except (WorkerTimeout, WorkerCrashed):
            self.members.discard(worker)
            raise
        except BaseException:
            self.members.checkin(worker)
            raise
        self.members.checkin(worker)
        return result

    def close(self) -> None:
        """Kill every idle worker; busy ones are killed when they come back."""
        self.members.close()


_pools: dict[str, WorkerPool] = {}
_pools_lock = threading.Lock()


def shared_pool(name: str, size: int) -> WorkerPool:
    """Return this process's pool called ``name``, creating (or growing) it on first use.

    A pool inherited through ``fork`` is never reused: its sockets belong to the parent.
    """
    with _pools_lock:
        pool = _pools.get(name)
        if pool is None or pool.pid != os.getpid():
            pool = WorkerPool(size=size)
            _pools[name] = pool
        elif pool.size < size:
            with pool.members.cond:
                pool.members.size = size
        return pool


def _forget_after_fork() -> None:
    """In a forked child, drop the parent's pools and fork server.

    The child starts its own on first use. It closes its copies of the parent's sockets, so
    that the parent's workers still see EOF when the parent goes.
    """
    global _server, _server_lock, _pools_lock
    _server_lock, _pools_lock = threading.Lock(), threading.Lock()
    for pool in _pools.values():
        for worker in pool.members.forget():  # not killed: the parent's workers stay its own
            worker.channel.close()
    _pools.clear()
    if _server is not None and _server.ctrl is not None:
        with contextlib.suppress(OSError):
            _server.ctrl.close()
    _server = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def _close_all() -> None:
    for pool in list(_pools.values()):
        if pool.pid == os.getpid():
            pool.close()
