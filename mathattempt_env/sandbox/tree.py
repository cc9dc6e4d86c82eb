"""A root file system of the runtime alone, for a server that runs as root without namespaces.

Without namespaces (Docker's default profile forbids them) bubblewrap cannot give the server a
file system of its own, and Landlock, which still denies reads, cannot hide that a host path
exists or how large it is (``stat`` needs no right Landlock governs). As root, the server
changes its root into a tree that holds only the runtime
(:func:`~mathattempt_env.sandbox.runtime.runtime`): the standard library, the allow-listed
packages and the libraries they map, at their own paths, as hard links to the installed files
(copies where the tree's file system is another), and an
empty ``/tmp`` for the calls. Its directories are root's and open to all, so the call's
unprivileged uid can import everything in it, which a ``/root/...`` installation's parents deny.

The tree is made once per installation and kept under the user's cache directory, which only
root can enter; a tree being made is renamed into place only when complete. Each use marks
its tree, and making a new one removes the trees no server has used for
:data:`UNUSED_DAYS` days (those of removed or upgraded installations) and builds that a
crash left behind.

Examples:
    >>> import os
    >>> from mathattempt_env.sandbox.runtime import runtime
    >>> root = runtime_tree(runtime())  # doctest: +SKIP
    >>> sorted(os.listdir(root))  # doctest: +SKIP
    ['lib', 'root', 'tmp', 'usr']
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import time

from mathattempt_env.sandbox.runtime import Runtime
from mathattempt_env.sandbox.supervise import remove_tree

#: Days after which a tree that no server used is removed, when another tree is made.
UNUSED_DAYS = 7


def _cache_dir() -> str:
    """The user's cache directory, or a private one under the temporary directory."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "mathattempt_env")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    path = os.path.join(tempfile.gettempdir(), f"mathattempt-trees-{os.geteuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path) or info.st_uid != os.geteuid():
        raise OSError(f"{path} is not this user's own directory")
    return path


def _key(runtime: Runtime) -> str:
    digest = hashlib.sha256(runtime.to_json().encode())
    for path in runtime.readable():
        with contextlib.suppress(OSError):
            info = os.stat(path)
            digest.update(f"{path}:{info.st_mtime_ns}:{info.st_size}".encode())
    return digest.hexdigest()[:16]


def _place(source: str, target: str) -> None:
    """Hard-link ``source`` at ``target``, or copy it where a link cannot cross devices."""
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _mirror(directory: str, top: str, hidden: tuple[str, ...] = ()) -> None:
    """Mirror ``directory`` (links kept as links) under ``top``, less the ``hidden`` ones."""
    for current, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if os.path.join(current, d) not in hidden]
        here = top + current
        os.makedirs(here, mode=0o755, exist_ok=True)
        for name in dirs + files:
            source = os.path.join(current, name)
            if os.path.islink(source):
                os.symlink(os.readlink(source), os.path.join(here, name))
            elif name in files and os.path.isfile(source):
                _place(source, os.path.join(here, name))
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(current, d))]


def runtime_tree(runtime: Runtime) -> str:
    """The root file system for ``runtime``'s servers, made on first use.

    Raises:
        OSError: the tree could not be made.
    """
    home = _cache_dir()
    final = os.path.join(home, f"root-{_key(runtime)}")
    if os.path.isdir(final):
        with contextlib.suppress(OSError):
            os.utime(final)  # in use: kept by the next prune
        return final
    building = tempfile.mkdtemp(prefix="root-building-", dir=home)
    try:
        os.chmod(building, 0o755)
        for directory in runtime.dirs:
            _mirror(directory, building, runtime.hidden)
        for path in runtime.files:
            _place(path, building + path)
        for link, target in runtime.links:
            with contextlib.suppress(FileExistsError):
                os.symlink(target, building + link)
        os.makedirs(os.path.join(building, "tmp"), mode=0o711, exist_ok=True)
        for current, dirs, _ in os.walk(building):
            for name in dirs:
                os.chmod(os.path.join(current, name), 0o755)
        try:
            os.rename(building, final)
        except OSError:  # another process made it first
            if not os.path.isdir(final):
                raise
    finally:
        if os.path.isdir(building):
            remove_tree(building)
    prune(home, keep=final)
    return final


def prune(home: str, keep: str, days: float = UNUSED_DAYS) -> list[str]:
    """Remove the trees under ``home`` unused for ``days`` days, and stale partial builds.

    Returns the paths removed. ``keep`` is never removed, nor a tree that a running process
    (a long-lived server) has as its root.

    Examples:
        >>> import tempfile, os, time
        >>> home = tempfile.mkdtemp()
        >>> os.mkdir(os.path.join(home, "root-old"))
        >>> os.utime(os.path.join(home, "root-old"), (0, 0))
        >>> [os.path.basename(p) for p in prune(home, keep="")]
        ['root-old']
    """
    removed, in_use = [], _roots_in_use()
    cutoff = time.time() - days * 86400
    for name in os.listdir(home):
        path = os.path.join(home, name)
        if path == keep or not name.startswith("root-"):
            continue
        try:
            info = os.lstat(path)
        except OSError:
            continue
        # A build in progress is at most minutes old; a finished tree is marked at each use.
        limit = time.time() - 86400 if name.startswith("root-building-") else cutoff
        stale = stat.S_ISDIR(info.st_mode) and info.st_mtime < limit and path not in in_use
        if stale and remove_tree(path):
            removed.append(path)
    return removed


def _roots_in_use() -> set[str]:
    """The root directories of this machine's processes that changed theirs (a server's tree)."""
    roots = set()
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if pid.isdigit():
            with contextlib.suppress(OSError):
                roots.add(os.readlink(f"/proc/{pid}/root"))
    return roots
