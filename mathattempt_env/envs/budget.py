"""Response length budgets: per step and per episode, in characters or any unit.

Lengths are measured by ``length_fn`` (``len`` by default, so characters). Pass a token
counter such as ``lambda s: len(tokenizer.encode(s))`` to budget in tokens. A response over its
budget is cut at the longest prefix that fits, found by binary search, so ``length_fn`` is
called O(log n) times.

Examples:
    >>> Budget(per_step=5).cut("abcdefgh", used=0)
    ('abcde', 5, True)
    >>> Budget(total=6).cut("abcd", used=4)
    ('ab', 2, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mathattempt_env.errors import ConfigError

#: The units a length budget may be in.
UNITS = ("chars", "tokens")


def _limit(name: str, value: int | None) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigError(f"{name}: expected None or an int >= 1, got {value!r}")
    return value


def check_limits(per_step: Any, total: Any, unit: Any) -> None:
    """Raise a ``ConfigError`` for a bad length limit or unit (the env options' names).

    Examples:
        >>> check_limits(None, 3000, "tokens")
        >>> check_limits(0, None, "chars")
        Traceback (most recent call last):
        ...
        mathattempt_env.errors.ConfigError: max_response_length: expected None or an int >= 1, got 0
    """
    _limit("max_response_length", per_step)
    _limit("max_total_length", total)
    if unit not in UNITS:
        raise ConfigError(f"length_unit: expected 'chars' or 'tokens', got {unit!r}")


@dataclass(frozen=True)
class Budget:
    """Length limits for responses.

    Attributes:
        per_step: the most one step's response may use, or ``None``.
        total: the most all responses of an episode may use together, or ``None`` (the
            multi-attempt paper trains with 3,000 tokens).
        length_fn: measures a response; must be monotone in the prefix length.
        unit: what ``length_fn`` counts, so a limit never travels without its unit:
            ``"chars"`` (``length_fn`` is ``len``) or ``"tokens"`` (a token counter; a
            transport that carries the limits rebuilds it from the receiver's tokenizer).
    """

    per_step: int | None = None
    total: int | None = None
    length_fn: Callable[[str], int] = len
    unit: str = "chars"

    def __post_init__(self) -> None:
        check_limits(self.per_step, self.total, self.unit)
        if not callable(self.length_fn):
            raise ConfigError(f"length_fn: expected a callable, got {self.length_fn!r}")
        if (self.unit == "chars") != (self.length_fn is len):
            raise ConfigError(
                "length_unit: 'chars' is measured by len and only by len"
                if self.unit == "chars"
                else "length_unit: 'tokens' needs length_fn, a token counter (make_envs(..., "
                "tokenizer) and the trainer adapters pass one built from the tokenizer)"
            )

    def allowance(self, used: int) -> int | None:
        """How much the next response may use, given ``used`` so far; ``None`` for no limit."""
        if self.total is None:
            return self.per_step
        left = max(0, self.total - used)
        return left if self.per_step is None else min(self.per_step, left)

    def exhausted(self, used: int) -> bool:
        """Whether the episode's total budget is spent."""
        return self.total is not None and used >= self.total

    def cut(self, text: str, used: int, length: int | None = None) -> tuple[str, int, bool]:
        """Cut ``text`` to the allowance.

        Args:
            text: the response.
            used: what the episode's earlier responses used.
            length: the response's length when the caller knows it (a driver's token count);
                ``length_fn`` then measures nothing that fits.

        Returns:
            The kept text, its length (``length_fn`` is called on it once, so a token counter
            does not tokenize twice), and whether it was cut.
        """
        if length is None:
            length = self.length_fn(text)
        allowed = self.allowance(used)
        if allowed is None or length <= allowed:
            return text, length, False
        if self.length_fn is len:
            return text[:allowed], allowed, True
        # Invariant: the prefix of `low` characters fits (measuring `low_length`); `high` does not.
        low, low_length, high = 0, 0, len(text)
        while high - low > 1:
            middle = (low + high) // 2
            middle_length = self.length_fn(text[:middle])
            if middle_length <= allowed:
                low, low_length = middle, middle_length
            else:
                high = middle
        return text[:low], low_length, True
