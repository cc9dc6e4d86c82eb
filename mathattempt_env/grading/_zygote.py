"""The grader's fork server: import sympy once, then fork ready workers on request.

Started by :mod:`mathattempt_env.grading.isolation` as ``python -m
mathattempt_env.grading._zygote FD PARENT_PID``; not meant to be run by hand. ``FD`` is a
``SOCK_SEQPACKET`` control socket. Requests: ``F`` with a socket attached (fork a worker that
serves jobs on it; the reply is ``P`` and its pid) and ``K`` with a pid (kill and reap it).
At start-up it answers ``R`` when ready, or ``E`` and a message if it cannot start.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import resource
import signal
import socket
import sys

from mathattempt_env._proc.lifetime import die_with_parent
from mathattempt_env._proc.wire import Channel, ChannelClosed
from mathattempt_env.grading.isolation import PID, encode

#: Memory a worker may allocate beyond what it inherits; a job past it fails (unparseable).
WORKER_EXTRA_MEMORY = 1 << 30


def _cap_memory() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        with open(f"/proc/{os.getpid()}/statm") as statm:
            pages = int(statm.read().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + WORKER_EXTRA_MEMORY
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _serve(channel: socket.socket) -> None:
    """A worker: run ``(fn, args)`` jobs from ``channel`` until it closes."""
    stream = Channel(channel)
    while True:
        try:
            fn, args = pickle.loads(stream.recv(deadline=None))
        except ChannelClosed:
            return
        try:
            reply = ("ok", fn(*args))
        except BaseException as error:  # report every failure, keep serving
            reply = ("error", f"{type(error).__name__}: {error}")
        try:
            stream.send(encode(reply))
        except ChannelClosed:
            return


def _reap(children: set[int]) -> None:
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                children.discard(pid)


def main() -> None:
    """Warm up, then serve fork and kill requests until the control socket closes."""
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    die_with_parent(int(sys.argv[2]))
    try:
        from mathattempt_env.grading import fallback, grader  # noqa: F401 - warm for jobs

        fallback.warm()
    except BaseException as error:  # tell the parent why, then stop
        ctrl.send(b"E" + f"{type(error).__name__}: {error}".encode()[:4000])
        return
    gc.collect()
    gc.freeze()  # keep the warm heap shared with every forked worker
    children: set[int] = set()
    ctrl.send(b"R")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(ctrl, 64, 1)
        except OSError:
            break
        _reap(children)
        if not message:
            break
        if message[:1] == b"F" and fds:
            me = os.getpid()
            pid = os.fork()
            if pid == 0:
                ctrl.close()
                die_with_parent(me)
                _cap_memory()
                _serve(socket.socket(fileno=fds[0]))
                os._exit(0)
            os.close(fds[0])
            children.add(pid)
            ctrl.send(b"P" + PID.pack(pid))
        elif message[:1] == b"K":
            (pid,) = PID.unpack(message[1:])
            if pid in children:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                children.discard(pid)
        else:
            for fd in fds:
                os.close(fd)
    for pid in children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
