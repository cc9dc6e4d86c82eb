"""A generated turn: cut to its limit and at its first stop string, decoded, and how it ended.

Generators stop at stop strings themselves where they can (HF's stopping criteria, vLLM's and
OpenAI's ``stop``), which saves the tokens after a tool call. :func:`finish_turn` cuts at the
first stop string again in any case, token-exactly, so a generator that cannot stop early (or
a batch that ran on for its other rows) gives the same turn.

Examples:
    >>> from experiments.tiny import tiny_tokenizer
    >>> tok = tiny_tokenizer()
    >>> ids = tok.encode("x = 1\\n```output\\nmore")
    >>> turn = finish_turn(tok, set(tok.all_special_ids), ids, None, stop=("```output",))
    >>> turn.text, turn.stopped, turn.cut
    ('x = 1\\n```output', False, False)
"""

from __future__ import annotations

import bisect
import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from mathattempt_env.rollout.chat import ChatTokenizer


def accepts(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function`` takes a keyword argument ``name`` (or any keyword arguments)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


class Decoded:
    """Character offsets of a turn's token prefixes, decoded on demand (binary search)."""

    def __init__(self, tokenizer: ChatTokenizer, ids: list[int]) -> None:
        self.tokenizer, self.ids = tokenizer, ids
        self._lengths: dict[int, int] = {0: 0}

    def _length(self, k: int) -> int:
        if k not in self._lengths:
            text = self.tokenizer.decode(self.ids[:k], skip_special_tokens=True)
            self._lengths[k] = len(text)
        return self._lengths[k]

    def token_at(self, char: int) -> int:
        """The fewest leading tokens whose text reaches ``char`` characters."""
        if char <= 0:
            return 0
        found = bisect.bisect_left(range(len(self.ids)), char, key=lambda k: self._length(k + 1))
        return min(found + 1, len(self.ids))


def cut_at_stop(tokenizer: ChatTokenizer, ids: Sequence[int], stop: Sequence[str]) -> list[int]:
    """The ids up to and including the token that completes the first stop string.

    Examples:
        >>> from experiments.tiny import tiny_tokenizer
        >>> tok = tiny_tokenizer()
        >>> kept = cut_at_stop(tok, tok.encode("a```output b"), ["```output"])
        >>> tok.decode(kept)
        'a```output'
    """
    ids = [int(t) for t in ids]
    if not stop:
        return ids
    text = tokenizer.decode(ids, skip_special_tokens=True)
    hits = [text.find(s) + len(s) for s in stop if s and s in text]
    if not hits:
        return ids
    return ids[: Decoded(tokenizer, ids).token_at(min(hits))]


@dataclasses.dataclass(frozen=True)
class GeneratedTurn:
    """One model turn as generated: its token ids, their text, and how it ended.

    Attributes:
        ids: the generated token ids, cut to the turn's limit and after its first stop string.
        text: the ids decoded without special tokens (what the env is stepped with).
        stopped: the turn ended with a special token (the model closed its turn itself).
        cut: the turn reached its limit without stopping (a stop string is not a cut).
    """

    ids: list[int]
    text: str
    stopped: bool
    cut: bool


def finish_turn(
    tokenizer: ChatTokenizer,
    special: set[int],
    ids: Sequence[int],
    limit: int | None,
    stop: Sequence[str] = (),
) -> GeneratedTurn:
    """Cut generated ids to ``limit`` and after the first stop string, and decode them.

    Examples:
        >>> from experiments.tiny import tiny_tokenizer
        >>> tok = tiny_tokenizer()
        >>> ids = tok.encode("x = 1")
        >>> turn = finish_turn(tok, set(tok.all_special_ids), ids + ids, len(ids))
        >>> turn.text, turn.stopped, turn.cut
        ('x = 1', False, True)
    """
    kept = [int(t) for t in ids]
    if limit is not None:
        kept = kept[:limit]
    text = tokenizer.decode(kept, skip_special_tokens=True)
    at_stop = any(s and s in text for s in stop)
    if at_stop:  # decode again only when a stop string is there to cut at
        kept = cut_at_stop(tokenizer, kept, stop)
        text = tokenizer.decode(kept, skip_special_tokens=True)
    stopped = bool(kept) and kept[-1] in special
    cut = not stopped and not at_stop and limit is not None and len(kept) >= limit
    return GeneratedTurn(kept, text, stopped, cut)
