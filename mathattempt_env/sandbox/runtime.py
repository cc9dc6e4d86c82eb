"""What a sandbox server needs of this machine, and nothing more: the runtime it is allowed.

A sandbox server is started from the base interpreter with ``-I -S`` (no ``PYTHONPATH``, no
user site, no ``site`` at all, no script directory), in a neutral working directory and with an
environment built from scratch (:func:`server_environment`), never the caller's: it cannot see
the caller's path, files, tokens or keys. Its ``sys.path`` is the standard library and the
parents of the allow-listed packages (:data:`PACKAGES`); the sandbox's own modules travel to it
as source over its socket, so this package's directory is never on its path.

What the code may read is :func:`runtime`'s answer, found once per process by a probe that
imports the allow-listed packages and every compiled module of the standard library and lists
the files mapped into it:

- ``dirs``: the standard library and each allow-listed package's own directory (with its
  ``.libs`` directory of compiled parts), less the base interpreter's ``site-packages``
  (``hidden``), where pyenv, conda and Docker's images keep everything pip installed;
- ``files``: the interpreter, ``libpython`` and the system libraries those modules map.

Nothing is derived from the caller's working directory, ``sys.path``, ``PYTHONPATH`` or home.

Examples:
    >>> import os
    >>> allowed = runtime()
    >>> any(d.endswith(os.sep + "sympy") for d in allowed.dirs)
    True
    >>> os.getcwd() in allowed.dirs
    False
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass

#: The third-party packages the sandboxed code may import (``pyseccomp`` is the sandbox's own).
PACKAGES = ("numpy", "sympy", "mpmath", "gmpy2", "pyseccomp")
#: Seconds the probe may take (it imports numpy and sympy).
PROBE_LIMIT = 60.0
#: The environment a sandbox server starts with, whatever the caller's holds.
BASE_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
    "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}  # fmt: skip
# Environment variables copied from the caller when set: they select CPU kernels that some
# hosts need for numpy to compute correctly (see OpenBLAS), and hold no secret.
_KEPT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# Run in the probe: import everything, then print the mapped files and the search path.
_PROBE = r"""
import importlib, json, os, sys
sys.path[len(sys.path):] = json.loads(sys.argv[1])
for name in json.loads(sys.argv[2]):
    try:
        importlib.import_module(name)
    except Exception:
        pass
dynload = os.path.join(os.path.dirname(os.__file__), "lib-dynload")
for entry in sorted(os.listdir(dynload)) if os.path.isdir(dynload) else ():
    try:
        importlib.import_module(entry.split(".")[0])
    except BaseException:
        pass
files = set()
with open("/proc/self/maps") as maps:
    for line in maps:
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            files.add(parts[5].strip())
print(json.dumps({"files": sorted(files), "path": sys.path}))
"""


@dataclass(frozen=True)
class Runtime:
    """The interpreter a sandbox server runs, and all it may read.

    Attributes:
        python: the base interpreter (a virtual environment's own ``python`` is a link to it).
        path: the server's ``sys.path``: the standard library and the packages' parents.
        dirs: directories readable with all below them.
        files: single readable files (the interpreter, ``libpython``, system libraries).
        packages: the allow-listed packages found here.
        links: ``(link, target)`` symbolic links to those files in their own directories
            (``libstdc++.so.6`` to ``libstdc++.so.6.0.30``): the names the loader asks for.
        hidden: directories inside ``dirs`` that are not granted: the base interpreter's own
            ``site-packages`` (pyenv, conda and the official Docker images keep every
            package pip installed there, a training job's own code and data included).
    """

    python: str
    path: tuple[str, ...]
    dirs: tuple[str, ...]
    files: tuple[str, ...]
    packages: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()
    hidden: tuple[str, ...] = ()

    def readable(self) -> tuple[str, ...]:
        """Every path granted read, directories first."""
        return self.dirs + self.files

    def entries(self) -> tuple[str, ...]:
        """Every path granted read; a directory with a hidden one in it, entry by entry.

        Landlock cannot leave out part of a granted directory, so on the host's own file
        system the standard library is granted one entry at a time, less its ``site-packages``.
        """
        granted: list[str] = []
        for folder in self.dirs:
            if any(h.startswith(folder + os.sep) for h in self.hidden):
                with contextlib.suppress(OSError):
                    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                        if entry.path not in self.hidden:
                            granted.append(entry.path)
            else:
                granted.append(folder)
        return (*granted, *self.files)

    def to_json(self) -> str:
        """The runtime as JSON, for the server's start-up message."""
        return json.dumps(self.__dict__)


def _package_dirs() -> tuple[list[str], list[str], list[str]]:
    """The allow-listed packages: their directories, their parents and their names."""
    dirs: list[str] = []
    parents: list[str] = []
    names: list[str] = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None and not spec.submodule_search_locations:
            continue
        names.append(name)
        if spec.submodule_search_locations:
            places = [os.path.realpath(p) for p in spec.submodule_search_locations]
        else:  # a single-file module: its file
            places = [os.path.realpath(str(spec.origin))]
        for place in places:
            dirs.append(place)
            parent = os.path.dirname(place)
            if parent not in parents:
                parents.append(parent)
            libs = os.path.join(parent, f"{name}.libs")  # a wheel's vendored libraries
            if os.path.isdir(libs):
                dirs.append(libs)
    return dirs, parents, names


def base_python() -> str:
    """The base interpreter behind ``sys.executable`` (a venv's ``python`` links to it)."""
    return os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)


@functools.cache
def runtime() -> Runtime:
    """What a sandbox server runs and may read here (probed once per process).

    Raises:
        OSError: the probe could not run the interpreter.
    """
    package_dirs, parents, names = _package_dirs()
    python = base_python()
    done = subprocess.run(
        [python, "-I", "-S", "-c", _PROBE, json.dumps(parents), json.dumps(names)],
        stdin=subprocess.DEVNULL, capture_output=True, env=server_environment(), cwd="/",
        timeout=PROBE_LIMIT, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise OSError(f"the sandbox's runtime probe failed: {done.stderr.decode()[-500:]}")
    found = json.loads(done.stdout)
    stdlib = os.path.dirname(os.__file__)
    dirs = [os.path.realpath(stdlib), *package_dirs]
    hidden = tuple(
        path
        for path in (os.path.join(dirs[0], name) for name in ("site-packages", "dist-packages"))
        if os.path.isdir(path)  # the allow-listed packages in it are granted on their own
    )
    files = {os.path.realpath(python)}
    for name in found["files"]:
        real = os.path.realpath(name)
        if os.path.isfile(real) and not any(real.startswith(d + os.sep) for d in dirs):
            files.add(real)
    path = [p for p in found["path"] if p in parents or p.startswith(stdlib)]
    return Runtime(
        python, tuple(path), tuple(dirs), tuple(sorted(files)), tuple(names), _links(files),
        hidden,
    )  # fmt: skip


def _links(files: set[str]) -> tuple[tuple[str, str], ...]:
    """Symbolic links beside ``files`` that resolve to one of them."""
    links = []
    for folder in sorted({os.path.dirname(f) for f in files}):
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if entry.is_symlink() and os.path.realpath(entry.path) in files:
                    links.append((entry.path, os.readlink(entry.path)))
    return tuple(sorted(links))


def server_environment() -> dict[str, str]:
    """The environment a sandbox server starts with: built from scratch, never the caller's.

    Examples:
        >>> import os
        >>> os.environ["OPENAI_API_KEY"] = "sk-planted"
        >>> "OPENAI_API_KEY" in server_environment()
        False
        >>> del os.environ["OPENAI_API_KEY"]
    """
    env = dict(BASE_ENVIRONMENT)
    env.update({key: os.environ[key] for key in _KEPT if key in os.environ})
    return env
