"""The sandbox's warm server: import the math libraries once, then fork a supervisor per call.

Started by :mod:`mathattempt_env.sandbox.pool` as ``python -m mathattempt_env.sandbox._server
FD PARENT_PID``; not meant to be run by hand. ``FD`` is a stream socket. Each request is a
length-prefixed JSON object (``code``, ``timeout``, ``layers``, ``max_output``); each reply is
the call's result (see :func:`~mathattempt_env.sandbox.supervise.supervise`). The server
answers ``{"ready": true}`` once warm. It dies with its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import signal
import socket
import struct
import sys

#: Modules imported before any call, so the code finds them loaded (the unprivileged child may
#: not be able to read the installation itself).
WARM = (
    "numpy", "sympy", "mpmath", "math", "cmath", "fractions", "decimal", "itertools",
    "functools", "collections", "statistics", "random", "re", "json", "heapq", "bisect",
    "string", "operator", "copy", "datetime", "traceback", "numbers", "array", "encodings.idna",
)  # fmt: skip
HEADER = struct.Struct("!I")


def _read(stream: socket.socket) -> bytes | None:
    header = stream.recv(HEADER.size, socket.MSG_WAITALL)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return stream.recv(size, socket.MSG_WAITALL)


def _send(stream: socket.socket, payload: dict[str, object]) -> None:
    data = json.dumps(payload).encode()
    stream.sendall(HEADER.pack(len(data)) + data)


def main() -> None:
    """Warm up, then run calls from the socket until it closes."""
    channel = socket.socket(fileno=int(sys.argv[1]))
    parent = int(sys.argv[2])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the caller
    if os.getppid() != parent:
        return
    import importlib

    for name in WARM:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from mathattempt_env.sandbox.supervise import supervise

    gc.collect()
    gc.freeze()
    _send(channel, {"ready": True})
    while True:
        request = _read(channel)
        if request is None:
            return
        job = json.loads(request)
        me = os.getpid()
        pid = os.fork()
        if pid == 0:  # the supervisor of this call
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != me:
                os._exit(1)
            try:
                result = supervise(
                    job["code"], timeout=job["timeout"], layers=job["layers"],
                    max_output=job["max_output"],
                )  # fmt: skip
            except BaseException as error:  # noqa: BLE001 - an infrastructure failure
                result = {"status": "sandbox-error", "output": f"{type(error).__name__}: {error}"}
            with contextlib.suppress(OSError):
                _send(channel, result)
            os._exit(0)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
