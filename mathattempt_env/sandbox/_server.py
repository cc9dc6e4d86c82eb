"""The sandbox's warm server: import the math libraries once, then fork a supervisor per call.

Started by :mod:`mathattempt_env.sandbox.pool` as ``python -m mathattempt_env.sandbox._server
FD PARENT_PID``; not meant to be run by hand. ``FD`` is a stream socket. Each request is a
length-prefixed JSON object (``code``, ``timeout``, ``layers``, ``max_output``); each reply is
the call's result (see :func:`~mathattempt_env.sandbox.supervise.supervise`), which the
server supervises itself, one call at a time. It answers ``{"ready": true}`` once warm. It
dies with its parent.
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


def _exercise() -> None:
    """Run the common operations once, so every call's child inherits them loaded."""
    import numpy
    import sympy

    x, y = sympy.symbols("x y")
    sympy.solve([x + y - 3, x - y - 1], [x, y])
    sympy.solve(x**3 - 6 * x**2 + 11 * x - 6, x)
    sympy.factor(x**2 - 1)
    sympy.expand((x + 1) ** 3)
    sympy.simplify(sympy.sin(x) ** 2 + sympy.cos(x) ** 2)
    sympy.integrate(x**2, (x, 0, 1))
    sympy.diff(sympy.exp(x) * x, x)
    sympy.Rational(1, 3) + sympy.sqrt(2)
    sympy.isprime(97), sympy.factorint(360), sympy.binomial(10, 3)
    str(sympy.nsimplify(0.5)), sympy.N(sympy.pi, 30)
    numpy.linalg.solve(numpy.eye(2), numpy.ones(2))


def main() -> None:
    """Warm up, then run calls from the socket until it closes."""
    channel = socket.socket(fileno=int(sys.argv[1]))
    parent = int(sys.argv[2])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the caller
    if parent and os.getppid() != parent:  # 0: in the jail, which dies with the caller
        return
    import importlib

    for name in WARM:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        _exercise()  # sympy loads much of itself on first use: do it once, here
    from mathattempt_env.sandbox.layers import seccomp_available, seccomp_filter
    from mathattempt_env.sandbox.supervise import supervise

    if seccomp_available():
        seccomp_filter()  # built once here; each call's child loads it

    gc.collect()
    gc.freeze()
    _send(channel, {"ready": True})
    while True:
        request = _read(channel)
        if request is None:
            return
        job = json.loads(request)
        try:  # this server supervises the call itself: one call at a time, a subreaper
            result = supervise(
                job["code"], timeout=job["timeout"], layers=job["layers"],
                max_output=job["max_output"],
            )  # fmt: skip
        except Exception as error:  # noqa: BLE001 - an infrastructure failure
            result = {"status": "sandbox-error", "output": f"{type(error).__name__}: {error}"}
        _send(channel, result)


if __name__ == "__main__":
    main()
