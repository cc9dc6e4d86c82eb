"""Linear scans of model text: boxes, math spans, bold spans, ``<think>`` blocks.

Everything here is linear in the text length, so it is safe on adversarial input (a 1 MB
response, thousands of unclosed ``\\boxed{`` or ``\\(``, long runs of blanks). No regular
expression here can backtrack over model text: delimiters are paired by a scan of their
positions, not by lazy ``.+?`` matches.

Examples:
    >>> [s.text for s in boxes(r"\\boxed{1} and \\boxed{\\{2, 3\\}} and \\boxed{4")]
    ['1', '\\\\{2, 3\\\\}']
    >>> [s.text for s in math_spans(r"costs $5 and $6, so $x = 1$")]
    ['x = 1']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.DOTALL)
_BOLD_TOKEN = re.compile(r"\*\*")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Math delimiters, longest first: ``$$...$$``, ``$...$``, ``\\(...\\)``, ``\\[...\\]``.
MATH_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_MATH_CLOSE = dict(MATH_DELIMITERS)


@dataclass(frozen=True)
class Span:
    """A piece of text and where it sits: ``text`` is ``source[start:end]``."""

    text: str
    start: int
    end: int


class LazySpan(Span):
    """A span whose text is cut from its source only when read.

    Nested boxes contain one another, so copying every box's content up front would take
    memory quadratic in the nesting depth; only the boxes an answer is read from are cut.

    Examples:
        >>> span = LazySpan("x{ 1 }", 2, 5, 0, 6)
        >>> span.text, span.start, span.end
        ('1', 0, 6)
    """

    def __init__(self, source: str, low: int, high: int, start: int, end: int) -> None:
        object.__setattr__(self, "_where", (source, low, high))
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def text(self) -> str:
        """The stripped content."""
        source, low, high = self._where  # type: ignore[attr-defined]
        return str(source[low:high].strip())


def clean_text(text: str) -> str:
    """Make any string safe to process: no NUL bytes, no lone surrogates.

    Examples:
        >>> clean_text("a\\x00b\\ud800c")
        'ab\\ufffdc'
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATE.sub("\ufffd", text)
    return text


def brace_matches(text: str) -> dict[int, int]:
    """Map the index of every balanced ``{`` to its ``}``; escaped braces are literals.

    Examples:
        >>> brace_matches("{a{b}}")
        {2: 4, 0: 5}
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


#: Up to this many boxes, each is matched by its own scan from its brace.
LOCAL_SCANS = 4


def _closing_brace(text: str, start: int) -> int | None:
    """The index of the ``}`` that closes the ``{`` at ``start``, or ``None``."""
    depth = 0
    for token in _BRACE_TOKEN.finditer(text, start):
        ch = token.group()
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return token.start()
    return None


def boxes(text: str) -> list[Span]:
    """Every complete ``\\boxed{}``/``\\fbox{}``: its stripped content and the command's extent.

    ``\\boxed 5`` (no braces) counts too, up to the next space or ``$``.

    Examples:
        >>> [(b.text, b.start, b.end) for b in boxes(r"x \\boxed{1}")]
        [('1', 2, 11)]
    """
    found: list[Span] = []
    matches: dict[int, int] | None = None
    commands = list(_BOX_COMMAND.finditer(text))
    for command in commands:
        j = command.end()
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            if len(commands) <= LOCAL_SCANS:  # scan just this box
                end: int | None = _closing_brace(text, j)
            else:  # one pass for all (nested boxes would make local scans quadratic)
                if matches is None:
                    matches = brace_matches(text)
                end = matches.get(j)
            if end is not None:
                found.append(LazySpan(text, j + 1, end, command.start(), end + 1))
        elif j > command.end():
            k = j
            while k < len(text) and text[k] not in " \n$":
                k += 1
            if k > j:
                found.append(Span(text[j:k].strip(), command.start(), k))
    return found


def boxed_answers(text: str) -> list[str]:
    """The contents of every complete ``\\boxed{}``/``\\fbox{}``, in order.

    Examples:
        >>> boxed_answers(r"\\boxed{1} and \\boxed{2")
        ['1']
    """
    return [box.text for box in boxes(text)]


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

    def find_unescaped(self, sub: str, start: int) -> int:
        """The next ``sub`` not preceded by a backslash (``\\$`` is a literal dollar)."""
        while True:
            found = self.find(sub, start)
            if found <= 0 or self.text[found - 1] != "\\":
                return found
            start = found + 1


def math_spans(text: str) -> list[Span]:
    """The ``$...$``, ``$$...$$``, ``\\(...\\)`` and ``\\[...\\]`` spans, in order.

    Spans are read left to right; an opener with no closer after it is skipped, ``\\$`` is a
    literal dollar, and a ``$`` before a digit whose span would end in a blank is a currency
    sign (``$5 and $6``), not math. Linear in the length of ``text``.

    Examples:
        >>> [(s.text, s.start) for s in math_spans(r"so $x$ and \\( y \\) but \\[ z")]
        [('x', 3), (' y ', 11)]
    """
    finder = _Finder(text)
    found: list[Span] = []
    pos = 0
    while True:
        starts = [(finder.find_unescaped("$", pos), "$")]
        starts += [(finder.find(o, pos), o) for o in ("\\(", "\\[")]
        hits = [(p, o) for p, o in starts if p >= 0]
        if not hits:
            return found
        p, opener = min(hits)
        if text.startswith("$$", p):
            close = finder.find_unescaped("$$", p + 3)
            if close >= 0:
                found.append(Span(text[p + 2 : close], p, close + 2))
                pos = close + 2
                continue
        closer = _MATH_CLOSE[opener]
        if opener == "$":
            close = finder.find_unescaped("$", p + 2)
        else:
            close = finder.find(closer, p + len(opener) + 1)
        content = text[p + len(opener) : close] if close >= 0 else ""
        currency = opener == "$" and content[:1].isdigit() and content[-1:].isspace()
        if close >= 0 and not currency:
            found.append(Span(content, p, close + len(closer)))
            pos = close + len(closer)
        else:
            pos = p + 1


def bold_spans(text: str) -> list[Span]:
    """Markdown ``**bold**`` spans, paired left to right.

    Examples:
        >>> [s.text for s in bold_spans("a **1** b **2**")]
        ['1', '2']
    """
    marks = [m.start() for m in _BOLD_TOKEN.finditer(text)]
    return [
        Span(text[a + 2 : b], a, b + 2)
        for a, b in zip(marks[::2], marks[1::2], strict=False)
        if b > a + 2
    ]


def leading_math(text: str) -> str | None:
    """The content of a math span that opens at the very start of ``text``, if it closes.

    Examples:
        >>> leading_math("$x = 2$. Done")
        'x = 2'
    """
    for opener, closer in MATH_DELIMITERS:
        if text.startswith(opener):
            close = text.find(closer, len(opener) + 1)
            return text[len(opener) : close] if close > 0 else None
    return None


def strip_trailing(text: str) -> str:
    """Strip blanks and trailing sentence punctuation (``.``, ``,``, ``;``, but not ``\\.``).

    One backwards pass, so it is linear however much punctuation there is.

    Examples:
        >>> strip_trailing(" 5 . ,; ")
        ' 5'
        >>> strip_trailing(r"x \\.")
        'x \\\\.'
    """
    end = len(text)
    while end:
        last = text[end - 1]
        if not (
            last.isspace()
            or last in ",;。，；！?？"
            or (last == "." and text[end - 2 : end] != "\\.")
        ):
            break
        end -= 1
    return text[:end]
