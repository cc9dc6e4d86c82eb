"""One sandboxed call: a supervisor forks the child, watches it, and leaves nothing behind.

:func:`supervise` runs in a process of its own (forked per call by the sandbox server). It
becomes a *subreaper*, so anything the code starts (threads, forks, ``setsid`` daemons) stays
its descendant; it forks the child, which applies the isolation layers
(:mod:`~mathattempt_env.sandbox.layers`) in a fresh empty working directory and runs the code
with a clean environment. The supervisor enforces the wall clock, reads at most
``max_output`` bytes of output (more is a flood: the child is killed), then kills and reaps
every process left, removes the directory and returns the result. The child never holds the
channel the result travels on, so it cannot forge one.

It runs in the sandbox server (:mod:`~mathattempt_env.sandbox._server`), which has no other
children: every child of the supervising process is the call's.

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
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from typing import Any

from mathattempt_env.sandbox.layers import Limits, apply

_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36
#: The child's exit status when a layer could not be applied (an infrastructure failure).
LAYER_FAILED = 97
#: Output a call may print, in bytes; more is an ``output-flood`` (the child is killed).
MAX_OUTPUT = 1 << 20
_ENVIRONMENT = {
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin",
}  # fmt: skip

_libc = ctypes.CDLL(None, use_errno=True)


def _child(code: str, workdir: str, out: int, layers: Sequence[str], limits: Limits) -> None:
    """The sandboxed process: never returns."""
    status = 0
    try:
        os.dup2(out, 1)
        os.dup2(out, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.closerange(3, 65536)  # no inherited channel survives: results cannot be forged
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(_ENVIRONMENT, HOME=workdir, TMPDIR=workdir)
        try:
            apply(layers, workdir, limits)
        except BaseException as error:  # noqa: BLE001 - reported as an infrastructure failure
            os.write(2, f"sandbox layer failed: {type(error).__name__}: {error}\n".encode())
            os._exit(LAYER_FAILED)
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
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
        os._exit(status if 0 <= status < 256 and status != LAYER_FAILED else 1)


def _descendants(parent: int, group: int) -> list[int]:
    """Processes of the call: in its process group or session, or children of ``parent``.

    Orphans reparent to the supervisor, a subreaper, so they are its children.
    """
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            ppid, pgrp, session = int(fields[1]), int(fields[2]), int(fields[3])
            if ppid == parent or pgrp == group or session == group:
                found.append(int(entry))
    return found


def _kill_everything(me: int, group: int) -> int:
    """Kill and reap every process the call left; returns how many were still alive."""
    killed = 0
    with contextlib.suppress(OSError):
        os.killpg(group, signal.SIGKILL)  # the code's group, all at once (a fork bomb)
    # Every process the call left descends from a child of this subreaper, so with no child
    # left there is nothing to look for.
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return 0
    for _ in range(1000):
        alive = [pid for pid in _descendants(me, group) if pid != me]
        if not alive:
            break
        for pid in alive:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        time.sleep(0.001)
    return killed


def supervise(
    code: str,
    *,
    timeout: float,
    layers: Sequence[str],
    limits: Limits | None = None,
    max_output: int = MAX_OUTPUT,
) -> dict[str, Any]:
    """Run ``code`` in an isolated child and report what happened.

    The calling process becomes a subreaper and must have no other children.

    Returns:
        ``status`` (``ok``, ``error`` (non-zero exit), ``timeout``, ``killed`` (a signal),
        ``output-flood`` or ``sandbox-error`` (a layer failed: infrastructure, not the
        model)), ``output`` (stdout and stderr, at most ``max_output`` bytes, decoded),
        ``cut`` (output was cut), ``exit`` (the exit status or -signal), ``wall_s``,
        ``leftovers`` (processes killed after the call) and ``layers``.
    """
    limits = limits or Limits(cpu_seconds=max(1, int(timeout) + 1))
    me = os.getpid()
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    workdir = tempfile.mkdtemp(prefix="mathattempt-call-")
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(code, workdir, write_end, layers, limits)
    os.close(write_end)
    chunks: list[bytes] = []
    size = 0
    status = ""
    wait_status: int | None = None
    deadline = started + timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            status = "timeout"
            break
        ready, _, _ = select.select([read_end], [], [], min(left, 0.02))
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
    if status:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if wait_status is None:
        _, wait_status = os.waitpid(pid, 0)
    wall = time.perf_counter() - started
    leftovers = _kill_everything(me, pid)
    os.close(read_end)
    shutil.rmtree(workdir, ignore_errors=True)
    code_status = os.waitstatus_to_exitcode(wait_status)
    if not status:
        if code_status == LAYER_FAILED:
            status = "sandbox-error"
        elif code_status < 0:
            status = "killed"
        else:
            status = "ok" if code_status == 0 else "error"
    output = b"".join(chunks)[:max_output].decode("utf-8", errors="replace")
    return {
        "status": status,
        "output": output,
        "cut": size > max_output,
        "exit": code_status,
        "wall_s": wall,
        "leftovers": leftovers,
        "layers": tuple(layers),
    }
