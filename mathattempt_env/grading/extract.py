"""Find the final answer in a model response.

Everything here is linear in the response length, so it is safe on adversarial input (a 1 MB
response, thousands of unclosed ``\\boxed{`` or ``\\(``, long runs of spaces or newlines) and
runs in the calling process. No regular expression here can backtrack over model text: two
quantifiers that could share characters never stand next to each other, and delimiters are
paired by a scan of their positions, not by lazy ``.+?`` matches.

Example:
    >>> extract_answer(r"so $x = \\boxed{\\frac{1}{2}}$.")
    '\\\\frac{1}{2}'
    >>> extract_answer("<think>maybe \\\\boxed{3}</think> The answer is 4.")
    '4'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

BoxChoice = Literal["last", "first"]

_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_FINAL_PHRASE = re.compile(
    r"(?:final\s+answer\s+is|the\s+answer\s+is|answer\s+is)\s*:?\s*", re.IGNORECASE
)
# A line that starts "Answer:" (optionally bold, optionally "Final"). Each optional run of
# blanks is followed by a literal that is not blank, so a failed match backtracks in O(1) steps.
_ANSWER_LABEL = re.compile(
    r"^[ \t]*(?:(?:\*\*|__)[ \t]*)?(?:final[ \t]+)?answer[ \t]*:?[ \t]*(?:\*\*|__)?[ \t]*:?[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
#: Math delimiters, longest first: ``$$...$$``, ``$...$``, ``\\(...\\)``, ``\\[...\\]``.
MATH_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_MATH_CLOSE = dict(MATH_DELIMITERS)
_BOLD_TOKEN = re.compile(r"\*\*")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n")

_SURROGATE = re.compile("[\ud800-\udfff]")

#: A response with no box and no answer phrase is taken whole when at most this long.
SHORT_BARE_LIMIT = 64


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract` found.

    Attributes:
        answer: the answer text, stripped, or ``None``.
        formatted: a complete ``\\boxed{...}`` (or ``\\fbox{...}``) was found.
    """

    answer: str | None
    formatted: bool


def clean_text(text: str) -> str:
    """Make any string safe to process: no NUL bytes, no lone surrogates.

    Example:
        >>> clean_text("a\\x00b\\ud800c")
        'ab\\ufffdc'
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATE.sub("\ufffd", text)
    return text


def after_think(text: str) -> str | None:
    """Return the part of ``text`` that counts, given ``<think>`` blocks.

    Only text after the last ``</think>`` counts; an unclosed ``<think>`` means no answer.

    Example:
        >>> after_think("<think>hmm</think> 42")
        ' 42'
        >>> after_think("<think>still thinking") is None
        True
    """
    close = text.rfind("</think>")
    if close >= 0:
        return text[close + len("</think>") :]
    if "<think>" in text:
        return None
    return text


_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.DOTALL)


def _brace_matches(text: str) -> dict[int, int]:
    """Map the index of every balanced ``{`` to its ``}``; escaped braces are literals.

    The scan visits only braces and backslash pairs (found by a regex), not every character.
    """
    matches: dict[int, int] = {}
    stack: list[int] = []
    for token in _BRACE_TOKEN.finditer(text):
        ch = token.group()
        if ch == "{":
            stack.append(token.start())
        elif ch == "}" and stack:
            matches[stack.pop()] = token.start()
    return matches


def boxed_answers(text: str) -> list[str]:
    """Return the contents of every complete ``\\boxed{}``/``\\fbox{}``, in order.

    ``\\boxed 5`` (no braces) counts too, up to the next space or ``$``.

    Example:
        >>> boxed_answers(r"\\boxed{1} and \\boxed{\\{2, 3\\}} and \\boxed{4")
        ['1', '\\\\{2, 3\\\\}']
    """
    found: list[str] = []
    matches: dict[int, int] | None = None
    for command in _BOX_COMMAND.finditer(text):
        j = command.end()
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            if matches is None:
                matches = _brace_matches(text)
            end = matches.get(j)
            if end is not None:
                found.append(text[j + 1 : end].strip())
        elif j > command.end():
            k = j
            while k < len(text) and text[k] not in " \n$":
                k += 1
            if k > j:
                found.append(text[j:k].strip())
    return found


class _Finder:
    """``str.find`` that remembers its last answer per substring.

    When the starts of successive searches for one substring only move forward (as they do
    in a left-to-right scan), each part of the text is searched at most once per substring.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.last: dict[str, tuple[int, int]] = {}

    def find(self, sub: str, start: int) -> int:
        searched_from, found = self.last.get(sub, (len(self.text) + 1, -1))
        if searched_from <= start and (found == -1 or found >= start):
            return found
        found = self.text.find(sub, start)
        self.last[sub] = (start, found)
        return found


def math_segments(text: str) -> list[str]:
    """The contents of the ``$...$``, ``$$...$$``, ``\\(...\\)`` and ``\\[...\\]`` spans, in order.

    Spans are read left to right, as a regular expression with lazy matches would read them;
    an opener with no closer after it is skipped. Linear in the length of ``text``.

    Example:
        >>> math_segments(r"so $x$ and \\( y \\) but \\[ z")
        ['x', ' y ']
    """
    finder = _Finder(text)
    found: list[str] = []
    pos = 0
    while True:
        starts = [(finder.find(o, pos), o) for o in ("$", "\\(", "\\[")]
        hits = [(p, o) for p, o in starts if p >= 0]
        if not hits:
            return found
        p, opener = min(hits)
        if text.startswith("$$", p):
            close = finder.find("$$", p + 3)
            if close >= 0:
                found.append(text[p + 2 : close])
                pos = close + 2
                continue
        closer = _MATH_CLOSE[opener]
        close = finder.find(closer, p + len(opener) + 1)
        if close >= 0:
            found.append(text[p + len(opener) : close])
            pos = close + len(closer)
        else:
            pos = p + 1


def _bold_spans(text: str) -> list[str]:
    marks = [m.start() for m in _BOLD_TOKEN.finditer(text)]
    return [text[a + 2 : b] for a, b in zip(marks[::2], marks[1::2], strict=False) if b > a + 2]


def _leading_math(text: str) -> str | None:
    """The content of a math span that opens at the very start of ``text``, if it closes."""
    for opener, closer in MATH_DELIMITERS:
        if text.startswith(opener):
            close = text.find(closer, len(opener) + 1)
            return text[len(opener) : close] if close > 0 else None
    return None


def _after_phrase(text: str, pattern: re.Pattern[str]) -> str | None:
    last = None
    for last in pattern.finditer(text):  # noqa: B007 - only the last match is wanted
        pass
    if last is None:
        return None
    tail = text[last.end() :]
    math = _leading_math(tail.lstrip())
    if math is not None:
        return math
    end = _SENTENCE_END.search(tail)
    return tail[: end.start()] if end else tail


def _fallback_answer(text: str) -> str | None:
    for candidate in (
        _after_phrase(text, _FINAL_PHRASE),
        _after_phrase(text, _ANSWER_LABEL),
    ):
        if candidate is not None and candidate.strip(" \t*$"):
            return candidate
    segments = math_segments(text)
    if segments:
        return segments[-1]
    bold = _bold_spans(text)
    if bold:
        return bold[-1]
    stripped = text.strip()
    if stripped and len(stripped) <= SHORT_BARE_LIMIT and "\n" not in stripped:
        return stripped
    return None


def strip_trailing(text: str) -> str:
    """Strip blanks and trailing sentence punctuation (``.``, ``,``, ``;``, but not ``\\.``).

    One backwards pass, so it is linear however much punctuation there is.

    Example:
        >>> strip_trailing(" 5 . ,; ")
        ' 5'
        >>> strip_trailing(r"x \\.")
        'x \\\\.'
    """
    end = len(text)
    while end:
        last = text[end - 1]
        if not (last.isspace() or last in ",;" or (last == "." and text[end - 2 : end] != "\\.")):
            break
        end -= 1
    return text[:end]


def _tidy(answer: str) -> str | None:
    answer = answer.strip()
    lo, hi = 0, len(answer)
    while hi - lo > 4 and answer.startswith("**", lo) and answer.endswith("**", lo, hi):
        lo, hi = lo + 2, hi - 2
        while lo < hi and answer[lo].isspace():
            lo += 1
        while hi > lo and answer[hi - 1].isspace():
            hi -= 1
    answer = answer[lo:hi]
    if answer.startswith("$") and answer.endswith("$"):
        answer = answer.strip("$").strip()
    return strip_trailing(answer) or None


def extract(response: str, *, boxed_only: bool = False, box: BoxChoice = "last") -> Extraction:
    """Find the answer in ``response`` and whether it was well formatted.

    Args:
        response: a model response or a bare answer. Anything else yields no answer.
        boxed_only: only a complete boxed answer counts (the papers' protocol).
        box: which complete box to use when there are several, ``"last"`` or ``"first"``.

    Returns:
        The :class:`Extraction`.

    Example:
        >>> extract(r"\\boxed{1} then \\boxed{2}", box="first")
        Extraction(answer='1', formatted=True)
        >>> extract("The answer is 7.", boxed_only=True)
        Extraction(answer=None, formatted=False)
    """
    if not isinstance(response, str):
        return Extraction(None, False)
    text = after_think(clean_text(response))
    if text is None:
        return Extraction(None, False)
    boxes = boxed_answers(text)
    if boxes:
        chosen = boxes[-1] if box == "last" else boxes[0]
        return Extraction(chosen or None, True)
    if boxed_only:
        return Extraction(None, False)
    found = _fallback_answer(text)
    return Extraction(_tidy(found) if found is not None else None, False)


def extract_answer(response: str, *, boxed_only: bool = False) -> str | None:
    """Return the final answer text of ``response``, or ``None``.

    With ``boxed_only=True`` only the last complete ``\\boxed{}`` counts. Otherwise the fallbacks
    are, in order: "final answer is ...", "Answer: ...", the last ``$...$`` math segment, the
    last markdown bold, and a short bare response. Text inside an unclosed ``<think>`` never
    counts.

    Example:
        >>> extract_answer("Answer: $x = 3$")
        'x = 3'
        >>> extract_answer("10, 4, 2")
        '10, 4, 2'
    """
    return extract(response, boxed_only=boxed_only).answer
