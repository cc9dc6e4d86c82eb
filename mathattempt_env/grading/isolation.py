"""Persistent worker processes with hard wall-clock limits, and no signals in the caller.

Work that can run long (sympy, the LaTeX parser of latex2sympy2) runs in child processes
started with :mod:`subprocess`, not :mod:`multiprocessing`, so the pool also works inside
daemonic multiprocessing workers and Ray actors. The caller waits on a pipe with
:func:`select.select`; a worker that overruns its deadline is killed and replaced at once.
This works from any thread and inside a running asyncio loop, because nothing here uses
``signal.alarm``.

Example:
    >>> import operator
    >>> pool = WorkerPool(size=1)
    >>> pool.run(operator.add, 2, 3, timeout=30.0)
    5
    >>> pool.close()
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from mathattempt_env.errors import GraderUnavailableError

_HEADER = struct.Struct("!Q")
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Set in worker processes, so that grading there runs the slow path inline.
IN_WORKER = os.environ.get("MATHATTEMPT_GRADER_WORKER") == "1"


class WorkerTimeout(TimeoutError):
    """The job overran its deadline; its worker was killed."""


class WorkerCrashed(RuntimeError):
    """The worker process died while running the job."""


def write_message(stream: Any, payload: Any) -> None:
    """Write one length-prefixed pickle to a binary stream."""
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream: Any) -> Any:
    """Read one length-prefixed pickle from a binary stream (blocking)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("stream closed")
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


class _Worker:
    def __init__(self, warm: Callable[[], Any] | None = None) -> None:
        env = dict(os.environ)
        env["MATHATTEMPT_GRADER_WORKER"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(
            [_PACKAGE_ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        )
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mathattempt_env.grading._worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
        except OSError as error:
            raise GraderUnavailableError(f"cannot start a grader worker: {error}") from error
        self.fd = self.proc.stdout.fileno() if self.proc.stdout else -1
        self.buffer = b""
        # A warm-up job is sent at once; its reply is read before the first real job.
        self.warming = warm is not None
        if warm is not None:
            assert self.proc.stdin is not None
            write_message(self.proc.stdin, (warm, ()))

    def ready(self, deadline: float) -> None:
        """Wait (until ``deadline``) for the warm-up job to finish, if it has not yet."""
        if self.warming:
            (size,) = _HEADER.unpack(self._read_exact(_HEADER.size, deadline))
            self._read_exact(size, deadline)
            self.warming = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read_exact(self, size: int, deadline: float) -> bytes:
        while len(self.buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimeout("grader worker overran its deadline")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.fd, max(65536, size - len(self.buffer)))
            if not chunk:
                raise WorkerCrashed("grader worker exited")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], deadline: float) -> Any:
        assert self.proc.stdin is not None
        try:
            write_message(self.proc.stdin, (fn, args))
        except (BrokenPipeError, OSError) as error:
            raise WorkerCrashed("grader worker is gone") from error
        (size,) = _HEADER.unpack(self._read_exact(_HEADER.size, deadline))
        status, value = pickle.loads(self._read_exact(size, deadline))
        if status == "error":
            raise RuntimeError(f"grader worker job failed: {value}")
        return value

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class WorkerPool:
    """A fixed-size pool of persistent worker processes.

    Args:
        size: the most processes the pool runs at once.
        warm: a function each new worker runs once, before its first job (e.g. importing
            sympy), so that start-up cost lands outside any job's deadline where possible.
    """

    def __init__(self, size: int = 2, warm: Callable[[], Any] | None = None) -> None:
        if size < 1:
            raise ValueError(f"expected a pool size >= 1, got {size}")
        self.size = size
        self.warm = warm
        self.pid = os.getpid()
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False

    def _spawn(self) -> _Worker:
        return _Worker(self.warm)

    def prestart(self, count: int = 1) -> None:
        """Start up to ``count`` workers now, without waiting for them to be ready."""
        with self._cond:
            while self._count < min(count, self.size) and not self._closed:
                self._idle.append(self._spawn())
                self._count += 1

    def _checkout(self, deadline: float) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise GraderUnavailableError("the grader worker pool is closed")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    worker.kill()
                    self._count -= 1
                if self._count < self.size:
                    self._count += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WorkerTimeout("no grader worker became free in time")
                self._cond.wait(remaining)
        try:
            return self._spawn()
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _checkin(self, worker: _Worker | None) -> None:
        with self._cond:
            if worker is None:
                self._count -= 1
            elif self._closed:
                worker.kill()
                self._count -= 1
            else:
                self._idle.append(worker)
            self._cond.notify()

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        timeout: float,
        startup_timeout: float | None = None,
    ) -> Any:
        """Run ``fn(*args)`` in a worker and return its result.

        ``timeout`` covers the job. A worker that is still starting up finishes first, within
        ``startup_timeout`` if given (not counted against ``timeout``), else within ``timeout``.

        Raises:
            WorkerTimeout: it did not finish within ``timeout`` seconds (the worker was
                killed and a fresh one started in its place).
            WorkerCrashed: the worker died.
            RuntimeError: ``fn`` raised in the worker.
        """
        deadline = time.monotonic() + timeout
        startup = deadline if startup_timeout is None else time.monotonic() + startup_timeout
        worker = self._checkout(max(deadline, startup))
        try:
            worker.ready(startup)
            if startup_timeout is not None:
                deadline = time.monotonic() + timeout
            result = worker.call(fn, args, deadline)
        except (WorkerTimeout, WorkerCrashed):
            worker.kill()
            self._replace()
            raise
        except BaseException:
            self._checkin(worker)
            raise
        self._checkin(worker)
        return result

    def _replace(self) -> None:
        """Swap a killed worker for a fresh one that starts warming up right away."""
        with self._cond:
            if self._closed:
                self._count -= 1
                self._cond.notify()
                return
            try:
                self._idle.append(self._spawn())
            except GraderUnavailableError:
                self._count -= 1
            self._cond.notify()

    def close(self) -> None:
        """Kill every worker; the pool cannot be used afterwards."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.kill()


_pools: dict[str, WorkerPool] = {}
_pools_lock = threading.Lock()


def shared_pool(name: str, size: int, warm: Callable[[], Any] | None = None) -> WorkerPool:
    """Return this process's pool called ``name``, creating (or growing) it on first use.

    A pool inherited through ``fork`` is never reused: its pipes belong to the parent.
    """
    with _pools_lock:
        pool = _pools.get(name)
        if pool is None or pool.pid != os.getpid():
            pool = WorkerPool(size=size, warm=warm)
            _pools[name] = pool
        elif pool.size < size:
            with pool._cond:
                pool.size = size
        return pool


@atexit.register
def _close_all() -> None:
    for pool in list(_pools.values()):
        if pool.pid == os.getpid():
            pool.close()
