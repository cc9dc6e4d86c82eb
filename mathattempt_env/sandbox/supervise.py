"""One sandboxed call: a supervisor forks the child, watches it, and leaves nothing behind.

:func:`supervise` runs in a process of its own, forked per call by the sandbox server
(:mod:`~mathattempt_env.sandbox._server`), so the server never holds a call's code or output
in memory that a later call inherits. It becomes a *subreaper*, so anything the code starts
(threads, forks, ``setsid`` daemons) stays its descendant; it makes the call's cgroups where
it can (:mod:`~mathattempt_env.sandbox.cgroups`) and forks the child, which applies the
isolation layers (:mod:`~mathattempt_env.sandbox.layers`) in a fresh empty working directory
and runs the code with a clean environment.

The supervisor counts the call's **CPU time**, over all its processes, against the budget,
with a **wall-clock fence** well above it (``wall``), so the same code gets the same verdict on
a busy machine as on an idle one, and a sleeping call still ends. It reads at most
``max_output`` bytes of output (more is a flood: the call is killed), then kills everything
the call left (at once, through its cgroup or its own uid; else by process group and
descent), reaps it, removes the directory (iteratively: no depth makes that raise) and
returns the result. The child never holds the channel the result travels on, so it cannot
forge one.

**Who is at fault.** The child says, on a pipe the code never holds, when the layers are in
force and the code is about to run. A call that never got there is the sandbox's failure
(``sandbox-error``, an infrastructure error); from then on, whatever happens (an exit status,
a signal, a flood, exhausted limits) is the code's.

Example:
    >>> from mathattempt_env.sandbox import Sandbox
    >>> sandbox = Sandbox(size=1)
    >>> result = sandbox.run("print(6 * 7)")
    >>> result.status, result.output, "seccomp" in result.layers
    ('ok', '42\\n', True)
    >>> sandbox.close()
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import select
import signal
import stat
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from typing import Any

from mathattempt_env.sandbox.cgroups import CallCgroups
from mathattempt_env.sandbox.layers import Limits, apply, call_uid

_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36
#: The child's exit status when a layer could not be applied (it never reached the code).
LAYER_FAILED = 97
#: Output a call may print, in bytes; more is an ``output-flood`` (the call is killed).
MAX_OUTPUT = 1 << 20
#: The default wall-clock fence: this many times the CPU budget, plus :data:`WALL_SLACK`.
WALL_FACTOR = 4.0
WALL_SLACK = 1.0
#: Seconds between two looks at the call's CPU time.
TICK = 0.02
_ENVIRONMENT = {
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin",
}  # fmt: skip
_READY_FD = 3
_CLOCK = os.sysconf("SC_CLK_TCK")

_libc = ctypes.CDLL(None, use_errno=True)


def _child(
    code: str,
    workdir: str,
    out: int,
    ready: int,
    go: int,
    layers: Sequence[str],
    limits: Limits,
    placement: dict[str, Any],
) -> None:
    """The sandboxed process: never returns."""
    status = 0
    try:
        os.read(go, 1)  # the supervisor has put this process in the call's cgroups
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(ready, _READY_FD)
        empty, closed = os.pipe()  # stdin: at its end already
        os.close(closed)
        os.dup2(empty, 0)
        os.closerange(_READY_FD + 1, 1 << 16)  # no inherited channel survives
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(_ENVIRONMENT, HOME=workdir, TMPDIR=workdir)
        tempfile.tempdir = workdir
        try:
            apply(layers, workdir, limits, **placement)
        except BaseException as error:  # noqa: BLE001 - reported as an infrastructure failure
            os.write(2, f"sandbox layer failed: {type(error).__name__}: {error}\n".encode())
            os._exit(LAYER_FAILED)
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        os.write(_READY_FD, b"R")  # from here on, whatever happens is the code's
        os.close(_READY_FD)
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        try:
            exec(compile(code, "<code>", "exec"), namespace)  # noqa: S102 - the sandboxed call
        except SystemExit as error:
            status = error.code if isinstance(error.code, int) else 1
        except BaseException:  # noqa: BLE001 - the model's error is its output
            traceback.print_exc()
            status = 1
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status if 0 <= status < 256 else 1)


class _Processes:
    """The call's processes, found through ``/proc`` (a directory descriptor kept open)."""

    def __init__(self, proc: int | str, uid: int | None, child: int) -> None:
        self.proc, self.uid, self.child, self.me = proc, uid, child, os.getpid()

    def _stat(self, entry: str) -> list[bytes] | None:
        try:
            fd = os.open(f"{entry}/stat", os.O_RDONLY, dir_fd=self._dir_fd())
            try:
                data = os.read(fd, 4096)
            finally:
                os.close(fd)
            return data.rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            return None

    def _dir_fd(self) -> int | None:
        return self.proc if isinstance(self.proc, int) else None

    def _entries(self) -> list[str]:
        try:
            return [e for e in os.listdir(self.proc) if e.isdigit()]
        except OSError:
            return []

    def _owner(self, entry: str) -> int | None:
        try:
            return os.stat(entry, dir_fd=self._dir_fd()).st_uid
        except OSError:
            return None

    def alive(self) -> dict[int, list[bytes]]:
        """The call's processes (zombies included) and their ``stat`` fields."""
        found = {}
        for entry in self._entries():
            if self.uid is not None and self._owner(entry) != self.uid:
                continue
            fields = self._stat(entry)
            if fields is None or int(entry) == self.me:
                continue
            if self.uid is None:  # without a uid of its own: the call's session, or orphans
                ppid, session = int(fields[1]), int(fields[3])
                if session != self.child and ppid != self.me and int(entry) != self.child:
                    continue
            found[int(entry)] = fields
        return found

    def cpu_seconds(self) -> float:
        """CPU seconds of the call's live processes and of those they reaped."""
        ticks = 0
        for fields in self.alive().values():
            with contextlib.suppress(IndexError, ValueError):
                ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
        return ticks / _CLOCK


def _kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` (from a helper of that uid: ``kill(-1)`` spares it)."""
    helper = os.fork()
    if helper == 0:
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(100):
                os.kill(-1, signal.SIGKILL)
        except BaseException:  # noqa: BLE001 - ProcessLookupError: none left
            pass
        os._exit(0)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(helper, 0)


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def _kill_everything(processes: _Processes, cgroups: CallCgroups, group: int) -> int:
    """Kill and reap every process the call left; returns how many were still alive."""
    killed = 0
    cgroups.kill()
    with contextlib.suppress(OSError):
        os.killpg(group, signal.SIGKILL)  # the code's group, all at once
    for _ in range(200):
        if processes.uid is not None:
            _kill_uid(processes.uid)
        _reap()
        alive = processes.alive()
        if not alive:
            break
        for pid in alive:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.002)
    _reap()
    return killed


def remove_tree(path: str) -> bool:
    """Remove ``path`` and everything below it, however deep; never raises.

    Returns:
        Whether nothing is left.

    Example:
        >>> import os, tempfile
        >>> top = tempfile.mkdtemp()
        >>> deep = os.path.join(top, *["d"] * 50)
        >>> os.makedirs(deep)
        >>> remove_tree(top), os.path.exists(top)
        (True, False)
    """
    order: list[str] = []
    stack = [path]
    while stack:  # depth first, without recursion: a 100,000-deep tree costs a list
        current = stack.pop()
        with contextlib.suppress(OSError):
            os.chmod(current, stat.S_IRWXU)  # the code may have made it unreadable
        order.append(current)
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
    for directory in reversed(order):
        with contextlib.suppress(OSError):
            os.rmdir(directory)
    return not os.path.lexists(path)


def supervise(
    code: str,
    *,
    timeout: float,
    layers: Sequence[str],
    limits: Limits | None = None,
    max_output: int = MAX_OUTPUT,
    wall: float | None = None,
    readable: Sequence[str] = (),
    cgroup_roots: Sequence[tuple[str, int]] = (),
    proc: int | str = "/proc",
    tmp: str | None = None,
    file_bound: str = "file-size",
) -> dict[str, Any]:
    """Run ``code`` in an isolated child and report what happened.

    The calling process becomes a subreaper and must have no other children.

    Args:
        code: the program.
        timeout: the CPU seconds the call may use, over all its processes.
        layers: the isolation layers to apply.
        limits: the resource limits (default: :class:`Limits` with a per-process CPU limit
            just above ``timeout``).
        max_output: bytes of output before the call is killed as a flood.
        wall: the wall-clock fence in seconds (default ``WALL_FACTOR * timeout + WALL_SLACK``).
        readable: paths Landlock grants read on.
        cgroup_roots: the server's cgroup directories (``(kind, descriptor)``), for the
            call's own cgroups.
        proc: ``/proc``, or a descriptor of it opened before a ``chroot``.
        tmp: where the working directory is made (default: the system's temporary directory).
        file_bound: what bounds the working directory's size (for the ``bounds`` report).

    Returns:
        ``status`` (``ok``, ``error`` (non-zero exit), ``timeout`` (CPU budget or wall
        fence), ``killed`` (a signal), ``output-flood`` or ``sandbox-error`` (the sandbox
        failed before the code ran: infrastructure, not the model)), ``output`` (stdout and
        stderr, at most ``max_output`` bytes, decoded), ``cut``, ``exit`` (the exit status or
        -signal), ``wall_s``, ``cpu_s``, ``leftovers`` (processes killed after the call),
        ``layers`` and ``bounds`` (what held memory, processes and files: ``cgroup``,
        ``rlimit``, ``uid``, ``tmpfs`` or ``file-size``).
    """
    limits = limits or Limits(cpu_seconds=max(1, math.ceil(timeout) + 1))
    wall = wall if wall is not None else WALL_FACTOR * timeout + WALL_SLACK
    me = os.getpid()
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    uid = call_uid() if "uid" in layers else None
    cgroups = CallCgroups(cgroup_roots, f"call-{me}", limits.total_memory, limits.processes)
    workdir = tempfile.mkdtemp(prefix="call-", dir=tmp)
    read_end, write_end = os.pipe()
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    placement = {"readable": tuple(readable), "uid": uid}
    started = time.perf_counter()
    cpu_start = os.times()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        os.close(ready_read)
        os.close(go_write)
        _child(code, workdir, write_end, ready_write, go_read, layers, limits, placement)
    os.close(write_end)
    os.close(ready_write)
    os.close(go_read)
    if not cgroups.join(pid):  # a cap that is not in force is not claimed
        cgroups.bounds.clear()
    os.write(go_write, b"G")
    os.close(go_write)
    processes = _Processes(proc, uid, pid)
    chunks: list[bytes] = []
    size = 0
    status = ""
    ran = False
    cpu = 0.0
    watched = [read_end, ready_read]
    wait_status: int | None = None
    while True:
        elapsed = time.perf_counter() - started
        measured = cgroups.cpu_seconds()
        cpu = measured if measured is not None else processes.cpu_seconds()
        if cpu > timeout or elapsed > wall:
            status = "timeout"
            break
        ready, _, _ = select.select(watched, [], [], TICK)
        if ready_read in ready:
            ran = ran or os.read(ready_read, 1) == b"R"
            watched.remove(ready_read)
            os.close(ready_read)
            ready_read = -1
            continue
        data = os.read(read_end, 65536) if ready else b""
        if data:
            chunks.append(data)
            size += len(data)
            if size > max_output:
                status = "output-flood"
                break
            continue
        if ready:  # end of file: every writer is gone
            break
        # The child may have exited while something it started holds the pipe open.
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            while select.select([read_end], [], [], 0)[0] and size <= max_output:
                data = os.read(read_end, 65536)
                if not data:
                    break
                chunks.append(data)
                size += len(data)
            break
        wait_status = None
    if ready_read >= 0:
        ran = ran or (bool(select.select([ready_read], [], [], 0)[0])
                      and os.read(ready_read, 1) == b"R")  # fmt: skip
        os.close(ready_read)
    if status:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if wait_status is None:
        _, wait_status = os.waitpid(pid, 0)
    wall_s = time.perf_counter() - started
    if cgroups.cpu_seconds() is None:
        after = os.times()
        cpu = max(cpu, after.children_user + after.children_system
                  - cpu_start.children_user - cpu_start.children_system)  # fmt: skip
    out_of_memory = cgroups.out_of_memory()
    leftovers = _kill_everything(processes, cgroups, pid)
    os.close(read_end)
    cleaned = remove_tree(workdir)
    cgroups.remove()
    code_status = os.waitstatus_to_exitcode(wait_status)
    if not ran:
        status = "sandbox-error"
    elif not status:
        status = "killed" if code_status < 0 else ("ok" if code_status == 0 else "error")
    output = b"".join(chunks)[:max_output].decode("utf-8", errors="replace")
    bounds = {
        "memory": "cgroup" if "memory" in cgroups.bounds else "rlimit",
        "processes": "cgroup" if "processes" in cgroups.bounds else
                     ("uid" if uid is not None else "rlimit"),
        "files": "cgroup" if "memory" in cgroups.bounds and file_bound == "tmpfs" else file_bound,
    }  # fmt: skip
    return {
        "status": status,
        "output": output,
        "cut": size > max_output,
        "exit": code_status,
        "wall_s": wall_s,
        "cpu_s": cpu,
        "leftovers": leftovers,
        "out_of_memory": out_of_memory,
        "cleaned": cleaned,
        "layers": tuple(layers),
        "bounds": bounds,
    }
