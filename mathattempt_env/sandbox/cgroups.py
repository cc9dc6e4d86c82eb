"""Per-call cgroups: one call's memory (its files in RAM included) and processes, capped.

Where the host lets this process make cgroups (root on most training nodes and CI machines;
not in every container), each sandbox server gets a directory of its own in every writable
hierarchy (:func:`server_roots`, on the host side), and each call a cgroup below it
(:class:`CallCgroups`, in the supervisor) that the call joins before it drops its privileges:

- cgroup v2 with the ``memory`` controller: ``memory.max`` and ``memory.swap.max``; with
  ``pids``: ``pids.max``; in any v2 hierarchy, ``cgroup.kill`` ends the call at once and
  ``cpu.stat`` counts its CPU time;
- cgroup v1 ``memory``: ``memory.limit_in_bytes`` (and the swap limit where it exists);
  cgroup v1 ``pids``: ``pids.max``.

Memory a call's files take in RAM (tmpfs pages) is charged to the call's memory cgroup. Where
no memory cgroup can be made, the bound is the per-process address-space limit times the
process limit, and the size-capped working directory where there is one; the call's result
says which bound was in force.

A server's directories are removed when it stops; those of a process killed outright
(SIGKILL, OOM) cannot be, so the first server a process starts also removes the empty
``mathattempt-<pid>-<n>`` directories whose process is gone (:func:`sweep`).

Examples:
    >>> roots = server_roots("doctest")
    >>> all(kind in ("v2", "v1-memory", "v1-pids") for kind, _ in roots)
    True
    >>> remove_roots(roots)
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence

#: The kinds of hierarchy used.
KINDS = ("v2", "v1-memory", "v1-pids")


def _mounts() -> dict[str, str]:
    """Mount points of the cgroup hierarchies this process can use, by kind."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) < 5 or len(tail) < 3:
                continue
            point, fstype, options = fields[4], tail[0], tail[2].split(",")
            if fstype == "cgroup2":
                found.setdefault("v2", point)
            elif fstype == "cgroup":
                for controller in ("memory", "pids"):
                    if controller in options:
                        found.setdefault(f"v1-{controller}", point)
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup in each hierarchy, by kind."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as cgroup:
        for line in cgroup:
            number, controllers, path = line.rstrip("\n").split(":", 2)
            if number == "0" and not controllers:
                paths["v2"] = path
            for controller in ("memory", "pids"):
                if controller in controllers.split(","):
                    paths[f"v1-{controller}"] = path
    return paths


_swept: set[str] = set()


def sweep(parent: str) -> list[str]:
    """Remove the sandbox cgroups under ``parent`` left by processes that no longer exist.

    Only directories named ``mathattempt-<pid>-<n>`` whose ``<pid>`` is not running are
    touched, and only if empty of processes (the kernel refuses to remove any other); each is
    tried once. Never raises.

    Returns:
        The paths removed.
    """
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            prefix, _, rest = entry.name.partition("-")
            pid, _, number = rest.partition("-")
            if not (prefix == "mathattempt" and pid.isdigit() and number.isdigit()):
                continue
            if os.path.exists(f"/proc/{pid}") or not entry.is_dir(follow_symlinks=False):
                continue
            if _remove(entry.path, tries=1):
                removed.append(entry.path)
    return removed


def server_roots(tag: str) -> list[tuple[str, str]]:
    """Make a directory for one sandbox server in each writable hierarchy.

    Args:
        tag: a name unique on the host for the server (its caller's pid and a counter).

    Returns:
        ``(kind, path)`` pairs; empty where no hierarchy is writable.
    """
    mounts, own = _mounts(), _own_paths()
    roots = []
    for kind in KINDS:
        if kind not in mounts or kind not in own:
            continue
        parent = os.path.join(mounts[kind], own[kind].lstrip("/"))
        if parent not in _swept:
            _swept.add(parent)
            sweep(parent)
        path = os.path.join(parent, f"mathattempt-{tag}")
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            pass
        except OSError:
            continue
        if kind == "v2":
            with contextlib.suppress(OSError), open(os.path.join(path, "cgroup.controllers")) as f:
                wanted = [c for c in ("memory", "pids") if c in f.read().split()]
                if wanted:
                    with open(os.path.join(path, "cgroup.subtree_control"), "w") as control:
                        control.write(" ".join(f"+{c}" for c in wanted))
        roots.append((kind, path))
    return roots


def _rmdir(path: str, folder: int | None = None, tries: int = 50) -> bool:
    """Remove an empty cgroup (``path`` relative to ``folder``, if given); never raises."""
    for attempt in range(tries):  # a cgroup is removable once its last process is reaped
        try:
            os.rmdir(path, dir_fd=folder)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if attempt + 1 < tries:
                time.sleep(0.01)
    return False


def _remove(path: str, tries: int = 50) -> bool:
    """Remove a cgroup directory and those below it; never raises."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(path):
            if entry.is_dir(follow_symlinks=False):
                _remove(entry.path, tries)
    return _rmdir(path, tries=tries)


def remove_roots(roots: Sequence[tuple[str, str]]) -> None:
    """Remove a server's directories (after its processes are gone); never raises."""
    for _, path in roots:
        _remove(path)


def _write(name: str, value: str, folder: int) -> bool:
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return False
    try:
        os.write(fd, value.encode())
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _read(name: str, folder: int) -> str:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return ""
    try:
        return os.read(fd, 65536).decode(errors="replace")
    except OSError:
        return ""
    finally:
        os.close(fd)


def open_roots(roots: Sequence[tuple[str, str]]) -> list[tuple[str, int]]:
    """Descriptors of the server's cgroup directories (opened before a ``chroot``)."""
    opened = []
    for kind, path in roots:
        with contextlib.suppress(OSError):
            opened.append((kind, os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)))
    return opened


class CallCgroups:
    """The cgroups of one call, made below the server's directories (by descriptor).

    Args:
        roots: the server's ``(kind, descriptor)`` directories (:func:`open_roots`).
        name: the call's directory name.
        memory: bytes the call may hold, files in RAM included.
        processes: processes and threads the call may have.
    """

    def __init__(
        self, roots: Sequence[tuple[str, int]], name: str, memory: int, processes: int
    ) -> None:
        self.name = name
        self.folders: dict[str, tuple[int, int]] = {}  # kind: (root, the call's directory)
        self.bounds: set[str] = set()
        for kind, root in roots:
            try:
                os.mkdir(name, 0o755, dir_fd=root)
                folder = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=root)
            except OSError:
                continue
            self.folders[kind] = (root, folder)
            self._limit(kind, folder, memory, processes)

    def _limit(self, kind: str, folder: int, memory: int, processes: int) -> None:
        if kind == "v2":
            if _write("memory.max", str(memory), folder):
                _write("memory.swap.max", "0", folder)
                self.bounds.add("memory")
            if _write("pids.max", str(processes), folder):
                self.bounds.add("processes")
        elif kind == "v1-memory":
            if _write("memory.limit_in_bytes", str(memory), folder):
                _write("memory.memsw.limit_in_bytes", str(memory), folder)
                self.bounds.add("memory")
        elif kind == "v1-pids" and _write("pids.max", str(processes), folder):
            self.bounds.add("processes")

    def join(self, pid: int) -> bool:
        """Put process ``pid`` (the call's first, before it runs anything) in every cgroup."""
        return all(_write("cgroup.procs", str(pid), folder) for _, folder in self.folders.values())

    def cpu_seconds(self) -> float | None:
        """CPU seconds the call's processes used, or ``None`` without a v2 cgroup."""
        if "v2" not in self.folders:
            return None
        for line in _read("cpu.stat", self.folders["v2"][1]).splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec" and value.strip().isdigit():
                return int(value) / 1e6
        return None

    def out_of_memory(self) -> bool:
        """Whether the memory cap was hit (the kernel refused or reclaimed the call)."""
        if "v2" in self.folders and "memory" in self.bounds:
            for line in _read("memory.events", self.folders["v2"][1]).splitlines():
                key, _, value = line.partition(" ")
                if key in ("oom", "oom_kill", "max") and value.strip() not in ("", "0"):
                    return True
        if "v1-memory" in self.folders:
            count = _read("memory.failcnt", self.folders["v1-memory"][1]).strip()
            return count not in ("", "0")
        return False

    def kill(self) -> None:
        """Kill every process of the call at once, where the kernel has ``cgroup.kill``."""
        if "v2" in self.folders:
            _write("cgroup.kill", "1", self.folders["v2"][1])

    def remove(self) -> None:
        """Remove the call's cgroups; never raises."""
        for root, folder in self.folders.values():
            with contextlib.suppress(OSError):
                os.close(folder)
            _rmdir(self.name, root)
        self.folders = {}
