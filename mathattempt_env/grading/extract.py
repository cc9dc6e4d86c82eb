"""Find the final answer in a model response.

Everything here is linear in the response length, so it is safe on adversarial input (a 1 MB
response, thousands of unclosed ``\\boxed{``) and runs in the calling process.

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
_ANSWER_LABEL = re.compile(
    r"(?:^|\n)\s*(?:\*\*|__)?\s*(?:final\s+)?answer\s*:?\s*(?:\*\*|__)?\s*:?\s*", re.IGNORECASE
)
_MATH_SEGMENT = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
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


def _after_phrase(text: str, pattern: re.Pattern[str]) -> str | None:
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    tail = text[matches[-1].end() :]
    math = _MATH_SEGMENT.match(tail.lstrip())
    if math is not None:
        return next(group for group in math.groups() if group is not None)
    end = _SENTENCE_END.search(tail)
    return tail[: end.start()] if end else tail


def _fallback_answer(text: str) -> str | None:
    for candidate in (
        _after_phrase(text, _FINAL_PHRASE),
        _after_phrase(text, _ANSWER_LABEL),
    ):
        if candidate is not None and candidate.strip(" \t*$"):
            return candidate
    segments = _MATH_SEGMENT.findall(text)
    if segments:
        return str(next(group for group in segments[-1] if group))
    bold = _BOLD.findall(text)
    if bold:
        return str(bold[-1])
    stripped = text.strip()
    if stripped and len(stripped) <= SHORT_BARE_LIMIT and "\n" not in stripped:
        return stripped
    return None


def _tidy(answer: str) -> str | None:
    answer = answer.strip()
    while len(answer) > 4 and answer.startswith("**") and answer.endswith("**"):
        answer = answer[2:-2].strip()
    if answer.startswith("$") and answer.endswith("$"):
        answer = answer.strip("$").strip()
    while answer.endswith((".", ",", ";")) and not answer.endswith("\\."):
        answer = answer[:-1].rstrip()
    return answer or None


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
