"""One retry policy for the package's HTTP clients (the eval's chat client, the remote sandbox).

A retryable failure is tried again up to ``retries`` times; the wait before retry ``n`` is
``backoff * 2**(n-1)``, stretched by up to 25% of jitter from a private, seeded RNG (the
global random state is never touched), so concurrent clients do not retry in step.

Examples:
    >>> policy = RetryPolicy(retries=3, backoff=0.5, seed=0)
    >>> [round(d, 3) for d in policy.delays()]
    [0.0, 0.606, 1.189, 2.21]
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

from mathattempt_env.errors import ConfigError


class RetryPolicy:
    """How often, and after how long, a retryable failure is tried again.

    Args:
        retries: tries after the first (``>= 0``).
        backoff: the first retry's delay in seconds (``>= 0``); it doubles each time.
        seed: seeds the jitter.

    Raises:
        ConfigError: a negative ``retries`` or ``backoff``.
    """

    def __init__(self, retries: int, backoff: float, seed: int = 0) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"retries: expected an int >= 0, got {retries!r}")
        if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or backoff < 0:
            raise ConfigError(f"backoff: expected seconds >= 0, got {backoff!r}")
        self.retries, self.backoff = retries, float(backoff)
        self._jitter = random.Random(seed)
        self._lock = threading.Lock()  # one policy may serve many threads

    @property
    def tries(self) -> int:
        """Tries in all, the first included."""
        return self.retries + 1

    def delays(self) -> Iterator[float]:
        """The wait before each try: 0 before the first, then the growing backoff."""
        yield 0.0
        for attempt in range(1, self.tries):
            with self._lock:
                jitter = 1 + 0.25 * self._jitter.random()
            yield self.backoff * 2 ** (attempt - 1) * jitter
