"""Nothing outlives its parent: Linux's parent-death signal.

libc is loaded when this module is imported, so a process can ask for the signal later, after
its sandbox layers forbid loading anything.

Examples:
    >>> import os
    >>> child = os.fork()
    >>> if child == 0:  # the child's parent is alive: it goes on, and exits with 7
    ...     die_with_parent(os.getppid())
    ...     os._exit(7)
    >>> os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    7
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1
try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:  # no libc to load (not Linux)
    _LIBC = None


def die_with_parent(parent: int | None = None) -> None:
    """Have Linux SIGKILL this process when its parent dies.

    Args:
        parent: the pid the caller expects as its parent; if the parent is already another
            (it died before the signal was set), exit now.
    """
    if _LIBC is not None:
        with contextlib.suppress(OSError, AttributeError):
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(0)
