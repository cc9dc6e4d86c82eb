"""A thread-safe least-recently-used cache bounded in bytes, not entries.

The grader caches per answer string, per gold and per ``(answer, gold)`` pair. Bounding the
count alone let a run of distinct 50 KB answers grow the process by gigabytes; here every entry
is charged its estimated size, and an entry larger than a fraction of the budget is not kept.

Examples:
    >>> cache = ByteLRU(max_bytes=2_000, max_entry_fraction=0.5)
    >>> cache.put("a", 1, size=500); cache.put("b", 2, size=500); cache.put("c", 3, size=500)
    >>> cache.get("a") is None, cache.get("c")
    (True, 3)
    >>> cache.bytes  # two entries of 500 bytes, plus the overhead charged per entry
    1400
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

#: Bytes each of the grader's caches may hold.
CACHE_BYTES = 32 * 1024 * 1024
#: Bytes charged per entry on top of its own size (dict slot, key tuple, bookkeeping).
ENTRY_OVERHEAD = 200

_MISSING = object()


class ByteLRU:
    """An LRU mapping whose entries' estimated sizes add up to at most ``max_bytes``.

    Args:
        max_bytes: the budget.
        max_entry_fraction: entries larger than this share of the budget are not stored.
    """

    def __init__(self, max_bytes: int, max_entry_fraction: float = 0.01) -> None:
        self.max_bytes = max_bytes
        self.max_entry = int(max_bytes * max_entry_fraction)
        self.bytes = 0
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value stored under ``key`` (marking it recently used), else ``default``."""
        with self._lock:
            item = self._data.get(key, _MISSING)
            if item is _MISSING:
                return default
            self._data.move_to_end(key)
            return item[0]  # type: ignore[index]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Store ``value``, charged ``size`` bytes, evicting the least recently used."""
        size += ENTRY_OVERHEAD
        if size > self.max_entry:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._data[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes and self._data:
                _, (_, freed) = self._data.popitem(last=False)
                self.bytes -= freed

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()
            self.bytes = 0


def text_size(*texts: str) -> int:
    """Bytes a few strings take in memory, roughly.

    Examples:
        >>> text_size("abc") > 3
        True
    """
    return sum(sys.getsizeof(text) for text in texts)
