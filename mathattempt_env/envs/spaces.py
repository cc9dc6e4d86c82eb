r"""A Gymnasium space of Unicode text, for observations and actions.

``gymnasium.spaces.Text`` only holds strings over a fixed character set (alphanumerics by
default), which cannot hold LaTeX or model output. :class:`UnicodeText` holds any Python string
up to ``max_length`` characters. It also works in ``AsyncVectorEnv`` with shared memory: its
shared-memory functions are registered with Gymnasium's vector utilities (one int32 code point
per character, plus a length slot per environment).

Examples:
    >>> space = UnicodeText(max_length=100)
    >>> space.contains(r"$\frac{\pi}{2}$ ∈ ℝ, \boxed{42} 🙂")
    True
    >>> space.contains("x" * 101), space.contains(42)
    (False, False)
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from types import ModuleType
from typing import Any, overload

import numpy as np
from gymnasium.spaces import Space
from gymnasium.vector.utils import (
    create_empty_array,
    create_shared_memory,
    read_from_shared_memory,
    write_to_shared_memory,
)

from mathattempt_env.errors import ConfigError

#: Characters :meth:`UnicodeText.sample` draws from: digits, letters, LaTeX and maths symbols.
SAMPLE_CHARACTERS = "0123456789abcdefxyzABC +-*/=^_()[]{}\\$.,;:!?'\n" + "πθ∞≤≥≠√∑∫αβγ·×÷²³½∈ℝ"
_SAMPLE_PIECES = (r"\boxed{", r"\frac{", r"\sqrt{", "}", "Therefore, the answer is ")


class UnicodeText(Space[str]):
    """Any Python string of at most ``max_length`` characters.

    Args:
        max_length: the longest string the space holds.
        seed: seeds :meth:`sample`.

    Examples:
        >>> UnicodeText(10, seed=0).sample() == UnicodeText(10, seed=0).sample()
        True
    """

    def __init__(self, max_length: int, seed: int | np.random.Generator | None = None):
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
            raise ConfigError(f"max_length: expected an int >= 1, got {max_length!r}")
        self.max_length = max_length
        super().__init__(dtype=str, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        """Text has no fixed-size numeric form."""
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """A random string of digits, letters, LaTeX fragments and maths symbols.

        Args:
            mask: unsupported; must be ``None``.
            probability: unsupported; must be ``None``.

        Returns:
            A string of at most ``min(max_length, 200)`` characters.
        """
        if mask is not None or probability is not None:
            raise ConfigError("UnicodeText.sample: masks and probabilities are not supported")
        rng = self.np_random
        length = int(rng.integers(0, min(self.max_length, 200) + 1))
        parts: list[str] = []
        size = 0
        while size < length:
            if rng.random() < 0.1:
                piece = _SAMPLE_PIECES[int(rng.integers(len(_SAMPLE_PIECES)))]
            else:
                piece = SAMPLE_CHARACTERS[int(rng.integers(len(SAMPLE_CHARACTERS)))]
            parts.append(piece)
            size += len(piece)
        return "".join(parts)[:length]

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a string of at most ``max_length`` characters."""
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnicodeText) and other.max_length == self.max_length

    def __hash__(self) -> int:
        return hash(("UnicodeText", self.max_length))


# Shared memory for AsyncVectorEnv: per environment, one length slot then max_length code points.


@create_shared_memory.register(UnicodeText)
def _create(space: UnicodeText, n: int = 1, ctx: ModuleType = mp) -> Any:
    return ctx.Array(np.dtype(np.int32).char, n * (space.max_length + 1))


def _view(space: UnicodeText, memory: Any) -> np.ndarray:
    return np.frombuffer(memory.get_obj(), dtype=np.int32).reshape((-1, space.max_length + 1))


class SharedTexts(Sequence[str]):
    """A live view of the strings in shared memory, like the numpy views Box spaces get.

    ``AsyncVectorEnv`` reads its observation buffer once and returns ``deepcopy`` of it after
    every step; deep-copying this view takes a snapshot as a tuple of strings.
    """

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        row = self.rows[index]
        return "".join(map(chr, row[1 : 1 + int(row[0])].tolist()))

    def __deepcopy__(self, memo: dict[int, Any]) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"SharedTexts({tuple(self)!r})"


@read_from_shared_memory.register(UnicodeText)
def _read(space: UnicodeText, shared_memory: Any, n: int = 1) -> SharedTexts:
    return SharedTexts(_view(space, shared_memory)[:n])


@write_to_shared_memory.register(UnicodeText)
def _write(space: UnicodeText, index: int, value: str, shared_memory: Any) -> None:
    row = _view(space, shared_memory)[index]
    codes = np.fromiter(map(ord, value), dtype=np.int32, count=len(value))
    row[0] = len(codes)
    row[1 : 1 + len(codes)] = codes


@create_empty_array.register(UnicodeText)
def _empty(space: UnicodeText, n: int = 1, fn: Any = np.zeros) -> tuple[str, ...]:
    return ("",) * n
