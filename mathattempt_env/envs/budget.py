"""Response length budgets: per step and per episode, in characters or any unit.

Lengths are measured by ``length_fn`` (``len`` by default, so characters). Pass a token
counter such as ``lambda s: len(tokenizer.encode(s))`` to budget in tokens. A response over its
budget is cut at the longest prefix that fits, found by binary search, so ``length_fn`` is
called O(log n) times.

Example:
    >>> Budget(per_step=5).cut("abcdefgh", used=0)
    ('abcde', True)
    >>> Budget(total=6).cut("abcd", used=4)
    ('ab', True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mathattempt_env.errors import ConfigError


def _limit(name: str, value: int | None) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigError(f"{name}: expected None or an int >= 1, got {value!r}")
    return value


@dataclass(frozen=True)
class Budget:
    """Length limits for responses.

    Attributes:
        per_step: the most one step's response may use, or ``None``.
        total: the most all responses of an episode may use together, or ``None`` (the
            multi-attempt paper trains with 3,000 tokens).
        length_fn: measures a response; must be monotone in the prefix length.
    """

    per_step: int | None = None
    total: int | None = None
    length_fn: Callable[[str], int] = len

    def __post_init__(self) -> None:
        _limit("max_response_length", self.per_step)
        _limit("max_total_length", self.total)
        if not callable(self.length_fn):
            raise ConfigError(f"length_fn: expected a callable, got {self.length_fn!r}")

    def allowance(self, used: int) -> int | None:
        """How much the next response may use, given ``used`` so far; ``None`` for no limit."""
        limits = (self.per_step, None if self.total is None else self.total - used)
        known = [x for x in limits if x is not None]
        return max(0, min(known)) if known else None

    def exhausted(self, used: int) -> bool:
        """Whether the episode's total budget is spent."""
        return self.total is not None and used >= self.total

    def cut(self, text: str, used: int) -> tuple[str, bool]:
        """Cut ``text`` to the allowance; return the kept text and whether it was cut."""
        if self.per_step is None and self.total is None:
            return text, False
        allowed = self.allowance(used)
        if allowed is None or self.length_fn(text) <= allowed:
            return text, False
        if self.length_fn is len:
            return text[:allowed], True
        low, high = 0, len(text)  # invariant: prefix of length low fits, high does not
        while high - low > 1:
            middle = (low + high) // 2
            if self.length_fn(text[:middle]) <= allowed:
                low = middle
            else:
                high = middle
        return text[:low], True
