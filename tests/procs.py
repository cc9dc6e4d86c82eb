"""Processes on this host, counted by what a test started, not by what the machine runs.

Other jobs on a shared machine run sandboxes too: a test that counts every process of a uid
or every sandbox server fails when they do. These helpers count only the descendants of this
test process and, for leaks that escaped by being re-parented, orphans that started after it.
"""

from __future__ import annotations

import contextlib
import os


def _stat(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state is field 0)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def parent(pid: int) -> int:
    """The parent pid of ``pid``, or 0 when it is gone."""
    fields = _stat(pid)
    return int(fields[1]) if fields else 0


def start_ticks(pid: int) -> int:
    """When ``pid`` started, in clock ticks since boot (0 when it is gone)."""
    fields = _stat(pid)
    return int(fields[19]) if fields else 0


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``ancestor`` is ``pid`` or one of its ancestors."""
    for _ in range(256):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        pid = parent(pid)
    return False


def ours(pid: int, since: int | None = None) -> bool:
    """Whether this test process started ``pid``: a descendant, or an orphan (re-parented to
    init) that started after this process did (or after ``since`` ticks)."""
    me = os.getpid()
    if descends_from(pid, me):
        return True
    return parent(pid) == 1 and start_ticks(pid) >= (since or start_ticks(me))


def pids() -> list[int]:
    """Every pid on the host."""
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def uid_of(pid: int) -> int | None:
    """The owner of ``pid``, or ``None`` when it is gone."""
    with contextlib.suppress(OSError):
        return os.stat(f"/proc/{pid}").st_uid
    return None


def state(pid: int) -> bytes:
    """The scheduler state of ``pid`` (``b"R"`` running or runnable), or ``b""``."""
    fields = _stat(pid)
    return fields[0] if fields else b""


class LoadMeter:
    """Samples, while it is entered, how many runnable processes are this test's own and how
    many are other jobs'; :attr:`factor` is by how much the others slowed this test down.

    A load test makes the load it means to test (its own burners) and uses ``factor`` to
    tolerate the load it does not control: with no other job running, ``factor`` is 1.

    Example:
        >>> with LoadMeter() as meter:
        ...     pass
        >>> meter.factor >= 1.0
        True
    """

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self.interval = interval
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            mine = others = 0
            for pid in pids():
                if state(pid) == b"R" and pid != 2 and parent(pid) != 2:  # not a kernel thread
                    if ours(pid):
                        mine += 1
                    else:
                        others += 1
            self.samples.append((mine, others))
            self._stop.wait(self.interval)

    def __enter__(self) -> LoadMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def factor(self) -> float:
        """(this test's runnable + others' runnable) / this test's runnable, on average."""
        if not self.samples:
            return 1.0
        mine = sum(m for m, _ in self.samples) / len(self.samples)
        others = sum(o for _, o in self.samples) / len(self.samples)
        return (max(mine, 1.0) + others) / max(mine, 1.0)
