"""The isolation layers a sandboxed call runs under, applied in the child before the code.

Each layer is applied by the child process to itself, in this order, after a ``fork`` and
before any model code runs:

- **session**: a new session and process group (``setsid``), so the code cannot signal the
  caller's group, and the supervisor can kill everything it started;
- **rlimits**: address space, CPU seconds, file size, open files, processes, no core files;
- **uid**: when running as root, switch to an unprivileged uid/gid of the call's own, drawn at
  random from a range no account uses (:func:`call_uid`), so the process limit is the call's
  alone (not shared with any other call on the host), other users' ``/proc`` entries are
  closed, and one ``kill(-1)`` as that uid ends everything the call started;
- **landlock**: the file system is readable only where
  :func:`~mathattempt_env.sandbox.runtime.runtime` allows (the standard library, the
  allow-listed packages and the libraries they map), and writable only in a fresh working directory;
  TCP bind/connect is denied; signals and
  abstract UNIX sockets outside the sandbox are scoped away (by ABI version);
- **seccomp**: ``socket`` (every family), ``execve``, ``ptrace``, mounts and namespaces
  (``unshare``, ``setns``, and ``clone`` with a namespace flag; ``clone3``, whose flags a
  filter cannot read, answers ``ENOSYS`` so the C library falls back to ``clone``), ``bpf``,
  ``io_uring``, kernel modules, ``process_vm_*``, ``keyctl`` and the like fail with ``EPERM``.

:func:`probe` says which layers this machine supports. Landlock needs Linux 5.13+ with the
LSM enabled; seccomp needs ``libseccomp`` (the ``pyseccomp`` wheel loads the system's).

Examples:
    >>> sorted(probe())  # doctest: +SKIP
    ['landlock', 'rlimits', 'seccomp', 'session', 'uid']
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Imported here, in the warm server, because the unprivileged child may not be able to read
# the installation to import it later.
try:
    import ctypes.util  # noqa: F401 - pyseccomp imports it lazily

    import pyseccomp as _pyseccomp  # type: ignore[import-untyped]
except (ImportError, OSError, RuntimeError):  # RuntimeError: no libseccomp found
    _pyseccomp = None

#: x86_64 and aarch64 share these numbers for the Landlock syscalls.
_LANDLOCK_CREATE, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT = 444, 445, 446
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH = 1
# Landlock file-system rights, by the ABI that introduced them.
_FS_BASE = (1 << 13) - 1  # ABI 1: execute ... make_sym
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read_file, read_dir
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1

#: ``clone`` flags that make a namespace (mount, cgroup, UTS, IPC, user, pid, network).
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                   0x40000000)  # fmt: skip
#: Syscalls that fail with EPERM inside the sandbox.
DENIED_SYSCALLS = (
    "socket", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "bpf", "perf_event_open",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "keyctl", "add_key", "request_key",
    "userfaultfd", "open_by_handle_at", "name_to_handle_at", "fanotify_init", "syslog",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "setdomainname", "sethostname",
)  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """Resource limits of one call.

    Attributes:
        memory: address-space bytes of each process (numpy and sympy need about 1 GiB).
        cpu_seconds: CPU time of each process (a backstop: the supervisor counts the call's
            CPU time over all its processes against the call's budget).
        file_bytes: the largest file the code may write.
        open_files: file descriptors.
        processes: processes and threads of the call (its own uid, as root).
        total_memory: memory of the whole call, its files in RAM included, where a cgroup
            holds it (:mod:`~mathattempt_env.sandbox.cgroups`).
        disk: bytes the working directory may hold, where it is a size-capped file system
            (the jail's ``/tmp``).
    """

    memory: int = 2 << 30
    cpu_seconds: int = 10
    file_bytes: int = 16 << 20
    open_files: int = 256
    processes: int = 64
    total_memory: int = 2 << 30
    disk: int = 64 << 20


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is not available."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc.syscall(_LANDLOCK_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def seccomp_available() -> bool:
    """Whether a seccomp filter can be built here (``pyseccomp`` and ``libseccomp``)."""
    if _pyseccomp is None:
        return False
    try:
        _pyseccomp.SyscallFilter(_pyseccomp.ALLOW)
    except (OSError, RuntimeError, AttributeError):
        return False
    return True


def probe() -> frozenset[str]:
    """The layers this machine can apply.

    ``session`` and ``rlimits`` always; ``uid`` when running as root; ``landlock`` and
    ``seccomp`` when the kernel and libraries support them; ``namespaces`` when the
    bubblewrap jail (:mod:`~mathattempt_env.sandbox.jail`) starts a Python here.

    Examples:
        >>> {"session", "rlimits"} <= probe()
        True
    """
    layers = {"session", "rlimits"}
    if os.geteuid() == 0:
        layers.add("uid")
    if landlock_abi() > 0:
        layers.add("landlock")
    if seccomp_available():
        layers.add("seccomp")
    from mathattempt_env.sandbox import jail  # one way only: jail imports nothing from here

    if jail.jail_available():
        layers.add("namespaces")
    return frozenset(layers)


def _landlock(workdir: str, abi: int, readable: Sequence[str]) -> None:
    fs = _FS_BASE
    if abi >= 2:
        fs |= _FS_REFER
    if abi >= 3:
        fs |= _FS_TRUNCATE
    if abi >= 5:
        fs |= _FS_IOCTL_DEV
    attr = _RulesetAttr(fs, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _libc.syscall(
        _LANDLOCK_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        grants = [(path, _READ & fs) for path in readable] + [(workdir, fs)]
        for path, access in grants:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:  # a library the host removed since the probe
                continue
            try:
                rule = _PathBeneath(access if os.path.isdir(path) else access & 0b101, fd)
                if _libc.syscall(_LANDLOCK_ADD_RULE, ruleset, _RULE_PATH_BENEATH,
                                 ctypes.byref(rule), ctypes.c_uint32(0)) < 0:  # fmt: skip
                    raise OSError(ctypes.get_errno(), f"landlock rule for {path} failed")
            finally:
                os.close(fd)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "no_new_privs failed")
        if _libc.syscall(_LANDLOCK_RESTRICT, ruleset, ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


_filter: Any = None


def seccomp_filter() -> Any:
    """The seccomp filter, built once per process (a forked child loads the parent's copy)."""
    global _filter
    if _filter is None:
        import errno

        seccomp: Any = _pyseccomp
        if seccomp is None:
            raise OSError("pyseccomp is not installed")
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            with contextlib.suppress(RuntimeError, ValueError, OSError):  # absent on this arch
                rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        for flag in NAMESPACE_FLAGS:  # clone into a new namespace: one rule a flag
            rules.add_rule(
                seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)
            )
        with contextlib.suppress(RuntimeError, ValueError, OSError):  # clone3: no such syscall
            rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        _filter = rules
    return _filter


def _seccomp() -> None:
    seccomp_filter().load()


def _rlimits(limits: Limits) -> None:
    for which, value in (
        (resource.RLIMIT_AS, limits.memory),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(which, (value, value))


#: The range of the calls' own uids: above every account and container id range in use
#: (65534 is nobody; user namespaces map from 100000 up, in blocks of 65536).
UID_BASE, UID_SPAN = 1 << 30, 1 << 29


def call_uid() -> int:
    """A uid (and gid) for one call, drawn at random from a range no account uses.

    Two calls that run at the same time anywhere on the host draw the same one with
    probability about 1 in 500 million per pair.

    Examples:
        >>> UID_BASE <= call_uid() < UID_BASE + UID_SPAN
        True
    """
    return UID_BASE + int.from_bytes(os.urandom(4), "little") % UID_SPAN


def is_call_uid(uid: int) -> bool:
    """Whether ``uid`` is one of the calls' own uids."""
    return UID_BASE <= uid < UID_BASE + UID_SPAN


def apply(
    layers: Sequence[str],
    workdir: str,
    limits: Limits,
    *,
    readable: Sequence[str] = (),
    uid: int | None = None,
) -> None:
    """Apply ``layers`` to this process (the child about to run model code).

    Args:
        layers: the layers to apply.
        workdir: the call's working directory, the only writable place.
        limits: the call's resource limits.
        readable: the paths Landlock grants read on.
        uid: the call's own uid (the ``uid`` layer).

    Raises:
        OSError: a layer that was asked for could not be applied (the call must not run).
    """
    if "session" in layers:
        os.setsid()
    if "uid" in layers:
        if uid is None:
            raise OSError("the uid layer needs the call's uid")
        os.chown(workdir, uid, uid)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    if "rlimits" in layers:
        _rlimits(limits)
    if "landlock" in layers:
        _landlock(workdir, landlock_abi(), readable)
    if "seccomp" in layers:
        _seccomp()
