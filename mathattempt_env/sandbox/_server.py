"""The sandbox's warm server: import the math libraries once, then fork a supervisor per call.

Started by :mod:`mathattempt_env.sandbox.pool` as ``PYTHON -I -S -c BOOTSTRAP FD``
(:data:`BOOTSTRAP`) with an environment built from scratch, in a neutral working directory.
``FD`` is a stream socket. The first message on it is the start-up specification: the source
of the sandbox's own modules (so this package's directory need not be readable), the runtime
(:mod:`~mathattempt_env.sandbox.runtime`), and where calls live (a ``chroot`` tree, the
cgroup directories, the size bound of the working directories) and the calls' layers and
limits. Then each request is a length-prefixed JSON object (``code``, ``timeout``, ``wall``,
``max_output``); each reply is the call's result (see
:meth:`~mathattempt_env.sandbox.supervise.Call.run`). It answers ``{"ready": true}`` once warm.

The server never reads a request itself: for each one it forks a supervisor that reads the
request, runs and watches the call, sends the reply and exits, so no call's code or output
ever sits in the memory a later call's process inherits. It exits when its socket closes,
which happens when the process that started it exits, however it exits. (Not a parent-death
signal: Linux sends that when the *thread* that started the server ends, and a pool grows
from whichever thread made the call that needed one.)
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import socket
from typing import Any

from mathattempt_env._proc.wire import Channel, ChannelClosed

#: Modules imported before any call, so the code finds them loaded.
WARM = (
    "numpy", "sympy", "mpmath", "math", "cmath", "fractions", "decimal", "itertools",
    "functools", "collections", "statistics", "random", "re", "json", "heapq", "bisect",
    "string", "operator", "copy", "datetime", "traceback", "numbers", "array", "encodings.idna",
    "sympy.abc", "numpy.fft", "numpy.polynomial", "numpy.linalg", "numpy.random", "csv",
    "concurrent.futures", "threading", "multiprocessing", "typing", "dataclasses",
)  # fmt: skip
#: The sandbox's own modules, in the order the server defines them from source (with the
#: process layer's two standard-library-only modules).
MODULES = (
    "mathattempt_env._proc.wire",
    "mathattempt_env._proc.lifetime",
    "mathattempt_env.sandbox.cgroups",
    "mathattempt_env.sandbox.layers",
    "mathattempt_env.sandbox.supervise",
    "mathattempt_env.sandbox._server",
)

#: The program a server starts with: read the start-up message, define the sandbox's modules
#: from the source in it, and run :func:`main`. Only the standard library is on its path.
BOOTSTRAP = r"""
import json, socket, struct, sys, types
channel = socket.socket(fileno=int(sys.argv[1]))
def exactly(size):
    data = b""
    while len(data) < size:
        chunk = channel.recv(size - len(data))
        if not chunk:
            raise SystemExit(0)
        data += chunk
    return data
spec = json.loads(exactly(struct.unpack("!Q", exactly(8))[0]))
sys.path[len(sys.path):] = spec["runtime"]["path"]
import ctypes.util
found, find = spec["libraries"], ctypes.util.find_library
ctypes.util.find_library = lambda name: found.get(name) or find(name)
for name in ("mathattempt_env", "mathattempt_env._proc", "mathattempt_env.sandbox"):
    package = types.ModuleType(name)
    package.__path__ = []
    sys.modules[name] = package
for name, source in spec.pop("modules"):
    module = types.ModuleType(name)
    module.__file__ = "<" + name + ">"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
sys.modules["mathattempt_env.sandbox._server"].main(channel, spec)
"""


def _send(channel: Channel, payload: dict[str, object]) -> None:
    channel.send(json.dumps(payload).encode())


def _read(channel: Channel) -> bytes | None:
    try:
        return channel.recv(deadline=None)
    except ChannelClosed:
        return None


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


def _warm() -> None:
    """Import the allowed modules and every compiled module of the standard library."""
    for name in WARM:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    dynload = os.path.join(os.path.dirname(os.__file__), "lib-dynload")
    with contextlib.suppress(OSError):
        for entry in sorted(os.listdir(dynload)):
            with contextlib.suppress(BaseException):
                importlib.import_module(entry.split(".")[0])
    with contextlib.suppress(Exception):
        _exercise()  # sympy loads much of itself on first use: do it once, here


#: A supervisor's exit status when the caller closed the socket before a request came.
CLOSED = 3


def _call(
    channel: Channel,
    spec: dict[str, Any],
    proc: int,
    roots: list[tuple[str, int]],
    taken: int,
) -> None:
    """A supervisor, forked before its request: prepare, read it, run it, reply; never returns.

    It writes a byte to ``taken`` once it has read a request, so the server knows whether a
    supervisor that died owed a reply.
    """
    from mathattempt_env.sandbox.layers import Limits
    from mathattempt_env.sandbox.supervise import Call

    code = 0
    try:
        call = Call(
            layers=spec["layers"], limits=Limits(**spec["limits"]),
            readable=spec["readable"], cgroup_roots=roots,
            proc=proc, tmp=spec["tmp"], file_bound=spec["file_bound"],
        )  # fmt: skip
        request = _read(channel)
        if request is None:
            call.abandon()
            os._exit(CLOSED)
        os.write(taken, b"T")
        job = json.loads(request)
        try:
            call.run(
                job["code"], timeout=job["timeout"], wall=job["wall"],
                max_output=job["max_output"], send=lambda result: _send(channel, result),
            )  # fmt: skip
        except Exception as error:  # noqa: BLE001 - an infrastructure failure
            failure = f"{type(error).__name__}: {error}"
            _send(channel, {"status": "sandbox-error", "output": failure})
    except BaseException:  # noqa: BLE001 - the server sees the exit status
        code = 1
    os._exit(code)


def main(sock: socket.socket, spec: dict[str, Any]) -> None:
    """Warm up, then fork a supervisor for each request until the socket closes."""
    channel = Channel(sock)
    _warm()
    from mathattempt_env.sandbox.cgroups import open_roots
    from mathattempt_env.sandbox.layers import seccomp_available, seccomp_filter

    if seccomp_available():
        seccomp_filter()  # built once here; each call's child loads it
    proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
    roots = open_roots([tuple(root) for root in spec["cgroups"]])
    if spec.get("chroot"):
        os.chroot(spec["chroot"])
        os.chdir("/")
    os.makedirs(spec["tmp"], mode=0o711, exist_ok=True)
    os.chmod(spec["tmp"], 0o711)
    gc.collect()
    gc.freeze()
    _send(channel, {"ready": True})
    while True:  # the next supervisor is forked before its request comes: off its path
        taken_read, taken_write = os.pipe()
        supervisor = os.fork()
        if supervisor == 0:
            os.close(taken_read)
            _call(channel, spec, proc, roots, taken_write)
        os.close(taken_write)
        _, status = os.waitpid(supervisor, 0)
        took = select.select([taken_read], [], [], 0)[0] and os.read(taken_read, 1) == b"T"
        os.close(taken_read)
        code = os.waitstatus_to_exitcode(status)
        if code == CLOSED:
            return  # the caller closed the socket
        if code != 0 and took:  # it died after taking a request, before its reply
            _send(channel, {"status": "sandbox-error", "output": "the call's supervisor died"})
