"""A per-thread wall-clock deadline that the in-process grader checks as it works.

Nothing here uses signals, so it works in any thread and inside a running asyncio loop. The
parser, the evaluator and the comparison loops call :func:`check` between steps; every step is
size-guarded to a few milliseconds, so a grade stops soon after its deadline passes.

Examples:
    >>> import time
    >>> with bounded(time.perf_counter() - 1):
    ...     try:
    ...         check()
    ...     except Expired:
    ...         print("expired")
    expired
    >>> check()  # no deadline outside a bounded block
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Expired(BaseException):
    """The current grade's deadline has passed.

    A :class:`BaseException`, so that no ``except Exception`` on the way (ours, mpmath's)
    can turn a timeout into a wrong verdict; :func:`~mathattempt_env.grading.grade` catches it.
    """


_local = threading.local()
_NEVER = float("inf")


def check() -> None:
    """Raise :class:`Expired` if this thread's deadline has passed."""
    if time.perf_counter() > getattr(_local, "at", _NEVER):
        raise Expired


@contextmanager
def bounded(at: float) -> Iterator[None]:
    """Run the block with the deadline ``at`` (a :func:`time.perf_counter` value).

    An earlier deadline already in force stays in force.
    """
    previous = getattr(_local, "at", _NEVER)
    _local.at = min(previous, at)
    try:
        yield
    finally:
        _local.at = previous
