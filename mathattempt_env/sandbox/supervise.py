"""One sandboxed call: a supervisor forks the child, watches it, and leaves nothing behind.

:class:`Call` runs in a process of its own, forked per call by the sandbox server
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

Examples:
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
import resource
import select
import signal
import stat
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from mathattempt_env._proc.lifetime import die_with_parent
from mathattempt_env.sandbox.cgroups import CallCgroups
from mathattempt_env.sandbox.layers import Limits, apply, call_uid

_PR_SET_CHILD_SUBREAPER = 36
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
_READY_FD, _CODE_FD = 3, 4
#: The per-process CPU limit of a prepared child, lowered to the call's when its code comes.
PREPARED_CPU = 3600
_CLOCK = os.sysconf("SC_CLK_TCK")

_libc = ctypes.CDLL(None, use_errno=True)


def _receive(fd: int) -> tuple[str, int] | None:
    """Read the call's job from the supervisor: its code and CPU seconds (``None``: no call)."""
    data = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        data += chunk
    if len(data) < 8:
        return None
    cpu_seconds = int.from_bytes(data[:8], "big")
    return data[8:].decode("utf-8", errors="replace"), cpu_seconds


def _child(
    workdir: str,
    pipes: dict[str, int],
    layers: Sequence[str],
    limits: Limits,
    placement: dict[str, Any],
) -> None:
    """The sandboxed process: applies the layers, waits for its code, runs it; never returns."""
    status = 0
    try:
        os.read(pipes["go"], 1)  # the supervisor has put this process in the call's cgroups
        os.dup2(pipes["out"], 1)
        os.dup2(pipes["out"], 2)
        os.dup2(pipes["ready"], _READY_FD)
        os.dup2(pipes["code"], _CODE_FD)
        empty, closed = os.pipe()  # stdin: at its end already
        os.close(closed)
        os.dup2(empty, 0)
        os.closerange(_CODE_FD + 1, 1 << 16)  # no inherited channel survives
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(_ENVIRONMENT, HOME=workdir, TMPDIR=workdir)
        tempfile.tempdir = workdir
        try:
            apply(layers, workdir, replace(limits, cpu_seconds=PREPARED_CPU), **placement)
        except BaseException as error:  # noqa: BLE001 - reported as an infrastructure failure
            os.write(2, f"sandbox layer failed: {type(error).__name__}: {error}\n".encode())
            os._exit(LAYER_FAILED)
        die_with_parent()
        job = _receive(_CODE_FD)  # every layer is in force while it waits
        os.close(_CODE_FD)
        if job is None:
            os._exit(0)
        code, cpu_seconds = job
        if "rlimits" in layers:  # lowering a limit needs no privilege
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        os.write(_READY_FD, b"R")  # from here on, whatever happens is the code's
        os.close(_READY_FD)
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        del job
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


def _kill_everything(processes: _Processes, cgroups: CallCgroups) -> int:
    """Kill and reap every process the call left; returns how many were still alive."""
    killed = 0
    cgroups.kill()
    for _ in range(200):
        _reap()
        alive = processes.alive()
        if not alive:  # the usual case: nothing to kill, no helper to fork
            break
        if processes.uid is not None:
            _kill_uid(processes.uid)
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

    Examples:
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


class Call:
    """One call, prepared before its code is known: the child waits with every layer applied.

    Making the cgroups and the directory, forking the child and applying the layers take
    most of a call's overhead; a supervisor does them while it waits for the request, so
    the request pays only for running the code and for the clean-up that must precede the
    reply. The calling process becomes a subreaper and must have no other children.

    Args:
        layers: the isolation layers to apply.
        limits: the resource limits (the per-process CPU limit is set when the code comes).
        readable: paths Landlock grants read on.
        cgroup_roots: the server's cgroup directories (``(kind, descriptor)``).
        proc: ``/proc``, or a descriptor of it opened before a ``chroot``.
        tmp: where the working directory is made (default: the system's temporary directory).
        file_bound: what bounds the working directory's size (for the ``bounds`` report).
    """

    def __init__(
        self,
        *,
        layers: Sequence[str],
        limits: Limits,
        readable: Sequence[str] = (),
        cgroup_roots: Sequence[tuple[str, int]] = (),
        proc: int | str = "/proc",
        tmp: str | None = None,
        file_bound: str = "file-size",
    ) -> None:
        self.layers, self.file_bound = tuple(layers), file_bound
        _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.uid = call_uid() if "uid" in layers else None
        self.cgroups = CallCgroups(
            cgroup_roots, f"call-{os.getpid()}", limits.total_memory, limits.processes
        )
        self.workdir = tempfile.mkdtemp(prefix="call-", dir=tmp)
        ends = {name: os.pipe() for name in ("out", "ready", "go", "code")}
        placement = {"readable": tuple(readable), "uid": self.uid}
        self.pid = os.fork()
        if self.pid == 0:
            for unused in (ends["out"][0], ends["ready"][0], ends["go"][1], ends["code"][1]):
                os.close(unused)  # the child keeps the write ends of out/ready, read of go/code
            theirs = {"out": ends["out"][1], "ready": ends["ready"][1], "go": ends["go"][0],
                      "code": ends["code"][0]}  # fmt: skip
            _child(self.workdir, theirs, layers, limits, placement)
        self.out, self.ready = ends["out"][0], ends["ready"][0]
        go, self.code = ends["go"][1], ends["code"][1]
        for fd in (ends["out"][1], ends["ready"][1], ends["go"][0], ends["code"][0]):
            os.close(fd)
        if not self.cgroups.join(self.pid):  # a cap that is not in force is not claimed
            self.cgroups.bounds.clear()
        os.write(go, b"G")
        os.close(go)
        self.processes = _Processes(proc, self.uid, self.pid)

    def _cpu(self) -> float:
        measured = self.cgroups.cpu_seconds()
        return measured if measured is not None else self.processes.cpu_seconds()

    def run(
        self,
        code: str,
        *,
        timeout: float,
        wall: float | None = None,
        max_output: int = MAX_OUTPUT,
        send: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Run ``code`` in the prepared child and report what happened.

        Args:
            code: the program.
            timeout: the CPU seconds the call may use, over all its processes.
            wall: the wall-clock fence (default ``WALL_FACTOR * timeout + WALL_SLACK``).
            max_output: bytes of output before the call is killed as a flood.
            send: called with the result once every process of the call is gone, before its
                directory and cgroups are removed (the reply need not wait for those).

        Returns:
            ``status`` (``ok``, ``error`` (non-zero exit), ``timeout`` (CPU budget or wall
            fence), ``killed`` (a signal), ``output-flood`` or ``sandbox-error`` (the sandbox
            failed before the code ran: infrastructure, not the model)), ``output`` (stdout
            and stderr, at most ``max_output`` bytes, decoded), ``cut``, ``exit`` (the exit
            status or -signal), ``wall_s``, ``cpu_s``, ``leftovers`` (processes killed after
            the call), ``out_of_memory``, ``layers``, ``uid`` (the call's own uid, or
            ``None``) and ``bounds`` (what held memory, processes and files: ``cgroup``,
            ``rlimit``, ``uid``, ``tmpfs`` or ``file-size``).
        """
        wall = wall if wall is not None else WALL_FACTOR * timeout + WALL_SLACK
        started = time.perf_counter()
        cpu_start = os.times()
        base = self._cpu()  # what the child spent applying the layers is not the code's
        with contextlib.suppress(OSError):  # a child that died already: a sandbox error
            job = max(1, math.ceil(timeout) + 1).to_bytes(8, "big") + code.encode(
                "utf-8", errors="surrogatepass"
            )
            view = memoryview(job)
            while view:
                view = view[os.write(self.code, view) :]
        os.close(self.code)
        pid, read_end, ready_read = self.pid, self.out, self.ready
        chunks: list[bytes] = []
        size = 0
        status = ""
        ran = False
        cpu = 0.0
        watched = [read_end, ready_read]
        while True:
            elapsed = time.perf_counter() - started
            cpu = self._cpu() - base
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
            # The child may have exited while something it started holds the pipe open. It
            # is not reaped yet: its pid (and group) cannot be reused until the group is killed.
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                while select.select([read_end], [], [], 0)[0] and size <= max_output:
                    data = os.read(read_end, 65536)
                    if not data:
                        break
                    chunks.append(data)
                    size += len(data)
                break
        if ready_read >= 0:
            ran = ran or (bool(select.select([ready_read], [], [], 0)[0])
                          and os.read(ready_read, 1) == b"R")  # fmt: skip
            os.close(ready_read)
        wait_status = self._stop(kill=bool(status))
        wall_s = time.perf_counter() - started
        if self.cgroups.cpu_seconds() is None:
            after = os.times()
            cpu = max(cpu, after.children_user + after.children_system
                      - cpu_start.children_user - cpu_start.children_system)  # fmt: skip
        out_of_memory = self.cgroups.out_of_memory()
        leftovers = _kill_everything(self.processes, self.cgroups)
        os.close(read_end)
        code_status = os.waitstatus_to_exitcode(wait_status)
        if not ran:
            status = "sandbox-error"
        elif not status:
            status = "killed" if code_status < 0 else ("ok" if code_status == 0 else "error")
        bounds = self.cgroups.bounds
        result = {
            "status": status,
            "output": b"".join(chunks)[:max_output].decode("utf-8", errors="replace"),
            "cut": size > max_output,
            "exit": code_status,
            "wall_s": wall_s,
            "cpu_s": cpu,
            "leftovers": leftovers,
            "out_of_memory": out_of_memory,
            "layers": self.layers,
            "uid": self.uid,
            "bounds": {
                "memory": "cgroup" if "memory" in bounds else "rlimit",
                "processes": "cgroup" if "processes" in bounds else
                             ("uid" if self.uid is not None else "rlimit"),
                "files": "cgroup" if "memory" in bounds and self.file_bound == "tmpfs"
                         else self.file_bound,
            },
        }  # fmt: skip
        if send is not None:  # every process is gone; the files can go after the reply
            send(result)
        self._remove()
        return result

    def _stop(self, kill: bool) -> int:
        """Kill the child if asked (and its group, without a uid of its own); reap it."""
        if kill:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        if self.uid is None:  # the code's group, at once, while its leader's pid is held
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        return os.waitpid(self.pid, 0)[1]

    def _remove(self) -> None:
        remove_tree(self.workdir)
        self.cgroups.remove()

    def abandon(self) -> None:
        """End a prepared call that will not run (its caller went away)."""
        for fd in (self.code, self.out, self.ready):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._stop(kill=True)
        _kill_everything(self.processes, self.cgroups)
        self._remove()
