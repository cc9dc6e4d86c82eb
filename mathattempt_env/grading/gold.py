"""Gold answers: checked, and read once for what they state and what to look for.

A gold may be bare LaTeX, plain text, ``$...$``, ``\\boxed{...}``, an option letter
(``(D) Alina``) or a worked solution; what it states is its box, or the value after its last
answer phrase. Reading is cached per gold string.

Examples:
    >>> read_gold("(D) Alina").want
    'choice'
    >>> read_gold(r"So the total is $\\boxed{12}$ apples.").norm.text
    '12'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mathattempt_env.errors import InvalidGoldError
from mathattempt_env.grading.answer import read_value
from mathattempt_env.grading.cache import CACHE_BYTES, ByteLRU, text_size
from mathattempt_env.grading.extract import DEFAULT, Want
from mathattempt_env.grading.normalize import Normalized, normalize
from mathattempt_env.grading.spans import brace_matches
from mathattempt_env.grading.triggers import DEBRIS
from mathattempt_env.grading.values import Choice, Prose, Raw, SetOf, Text, Union, Value

#: Thinking tags: a response's answer is read after ``</think>``, so no gold can hold one.
THINK_TAGS = ("<think>", "</think>")
#: Longest gold answer accepted, in characters.
MAX_GOLD_CHARS = 100_000

_LEADING_CHOICE = re.compile(r"\(?([A-Z])\)?(?:$|(?<=\))[ \t]|[ \t]+(?=[A-Z][a-z]))")
_golds = ByteLRU(CACHE_BYTES)


@dataclass(frozen=True)
class Gold:
    """A gold answer read once: its normalized form and what to look for in a response.

    Attributes:
        norm: the normalized answer the gold states.
        kind: the kind of value it is (see :func:`~.grader.validate_gold`).
        want: what a response should hold: ``value``, ``choice`` or ``text``.
        parts: several parts (a set, a union), so connected boxes form the answer.
    """

    norm: Normalized
    kind: str
    want: Want
    parts: bool


def check_gold(gold: object) -> None:
    """Check that ``gold`` is a usable gold string.

    Raises:
        InvalidGoldError: not a string, NUL or lone surrogates, too long, unbalanced braces,
            a dangling backslash, or a chat-template marker or thinking tag (responses are
            cut there, or read only after ``</think>``).
    """
    if not isinstance(gold, str):
        raise InvalidGoldError(gold, f"expected a string, got {type(gold).__name__}")
    if "\x00" in gold or any(0xD800 <= ord(ch) <= 0xDFFF for ch in gold):
        raise InvalidGoldError(gold, "contains a NUL byte or a lone surrogate")
    if len(gold) > MAX_GOLD_CHARS:
        raise InvalidGoldError(gold, f"longer than {MAX_GOLD_CHARS} characters")
    opened = gold.count("{") - gold.count("\\{")
    if len(brace_matches(gold)) != opened or gold.count("}") - gold.count("\\}") != opened:
        raise InvalidGoldError(gold, "unbalanced braces")
    stripped = gold.rstrip()
    if (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1:
        raise InvalidGoldError(gold, "ends with a dangling backslash")
    marker = next((m for m in (*DEBRIS, *THINK_TAGS) if m in gold), None)
    if marker is not None:  # a response is cut there: none could ever state this gold
        raise InvalidGoldError(gold, f"contains the chat-template marker {marker}")


def _read(text: str) -> tuple[Normalized, Value]:
    norm = normalize(text)
    return norm, read_value(norm.text)


def _gold_answer(gold: str) -> tuple[Normalized, Value]:
    """The answer a gold states: itself, or, for a worked solution, its box or final value.

    A gold that opens with an option letter (``(D) Alina``, ``C Cecile``, a bare ``B``) is
    that letter.
    """
    stripped = gold.strip()
    lead = _LEADING_CHOICE.match(stripped)
    if lead is not None:
        return Normalized(lead.group(1)), Choice(lead.group(1))
    if "\\boxed" in gold or "\\fbox" in gold:  # a worked solution, or a boxed answer
        found = DEFAULT.extract(gold)
        text = found.joined or found.answer
        if text is not None:
            return _read(text)
    norm, value = _read(gold)
    # A worked solution without a box: the value after its last answer phrase.
    trigger = DEFAULT.phrases.last(stripped) if isinstance(value, (Prose, Raw, SetOf)) else None
    if trigger is not None:
        lead = _LEADING_CHOICE.match(stripped[trigger[1] :].lstrip(" \t\n*:"))
        if lead is not None:  # "... the answer is\n(C) Cecile"
            return Normalized(lead.group(1)), Choice(lead.group(1))
        found = DEFAULT.extract(gold)
        text = found.joined or found.answer
        if text is not None and found.source != "whole":
            return _read(text)
    return norm, value


def read_gold(gold: str) -> Gold:
    """Validate and read a gold answer once (cached).

    Raises:
        InvalidGoldError: see :func:`check_gold`; or nothing is left after normalization.
    """
    cached: Gold | None = _golds.get(gold) if isinstance(gold, str) else None
    if cached is not None:
        return cached
    check_gold(gold)
    norm, value = _gold_answer(gold)
    if not norm.text:
        raise InvalidGoldError(gold, "empty after removing delimiters and formatting")
    want: Want = (
        "choice" if isinstance(value, Choice) else "text" if isinstance(value, Text) else "value"
    )
    parts = (isinstance(value, SetOf) and len(value.items) > 1) or (
        isinstance(value, Union) and len(value.intervals) > 1
    )
    info = Gold(norm, value.kind, want, parts)
    _golds.put(gold, info, size=text_size(gold, norm.text))
    return info
