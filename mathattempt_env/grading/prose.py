"""Reading values and option letters out of prose: the helpers of :mod:`~.extract`.

A value in prose is a math span that is not a name (``$x$``), a bold value, or a run of
math-like tokens (numbers, operators, LaTeX commands) in any script. Everything here reads at
most :data:`TAIL_CHARS` characters of a response, or one sentence, so it stays cheap.

Examples:
    >>> first_value("so the value of $x$ is 17 apples")
    '17'
    >>> last_value("He had 5, ate 2, so 3 + 0 = 3 are left.")
    ('3', 'last-number')
    >>> first_letter("It is not A, so B")
    'B'
"""

from __future__ import annotations

import re
from typing import Literal

from mathattempt_env.grading.answer import foreign_letters, is_prose, plain_words
from mathattempt_env.grading.spans import Span, bold_spans, math_spans, strip_trailing

LastSource = Literal["last-math", "bold", "last-number"]

#: A response without a box or phrase is taken whole when it is math and at most this long.
WHOLE_LIMIT = 200
#: The last-value search, and the reading after an answer phrase, see at most this many
#: characters of a response.
TAIL_CHARS = 4_000

_SENTENCE_END = re.compile(r"\.(?:\s|$)|[\n。！？!?；;]")
_TOKEN = re.compile(r"[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\u0600-\u06ff\u0900-\u097f]+")
_OPERATOR = frozenset("= + - * / × ÷ − < > ≤ ≥ ^ ( ) : \\times \\cdot \\div".split())
_NAME = re.compile(r"^[\sA-Za-z_{}()'^,\\]*$")
_VALUE_COMMANDS = ("\\pi", "\\infty", "\\emptyset", "\\varnothing", "\\sqrt", "\\frac")
LETTER = re.compile(r"(?<![A-Za-z])\(?([A-Z])\)?(?![A-Za-z'’])(?<!I(?=\s[a-z]))")
# An option letter that opens a response: "D. It can't be A", "B。不是 A", "(C)".
LEAD_LETTER = re.compile(r"\(?([A-Z])\)?(?:[.):：。,，]|\s*$|(?=[^\x00-\x7f]))")
NEGATION = re.compile(r"(?:\bnot|n't be|\bnon|\bpas|\bnicht|\bno es|不是|不|не)\s*$", re.I)
_COMPOUND = re.compile(r"^[A-Za-z]{2,}\.?(?:\s*,|\s+and)?\s+\d")


def is_short_math(text: str) -> bool:
    """Whether ``text`` is short, one line, and all math (``10, 4, 2``; not "It is 12").

    Examples:
        >>> is_short_math("x = 3"), is_short_math("It is 12")
        (True, False)
    """
    return (
        0 < len(text) <= WHOLE_LIMIT
        and "\n" not in text
        and not plain_words(text, 2)
        and not foreign_letters(text)
    )


def tidy_answer(answer: str) -> str | None:
    """Strip blanks, bold, ``$...$``, a stray closing brace and trailing punctuation.

    Returns ``None`` when nothing is left.

    Examples:
        >>> tidy_answer(" **$42$**. ")
        '42'
    """
    answer = strip_trailing(answer.strip())
    lo, hi = 0, len(answer)
    while hi - lo > 4 and answer.startswith("**", lo) and answer.endswith("**", lo, hi):
        lo, hi = lo + 2, hi - 2
        while lo < hi and answer[lo].isspace():
            lo += 1
        while hi > lo and answer[hi - 1].isspace():
            hi -= 1
    answer = answer[lo:hi].strip(" *")
    if answer.endswith("}") and answer.count("}") > answer.count("{"):
        answer = answer.rstrip("}").rstrip()  # the end of a JSON object, not of a group
    if answer.startswith("$") and answer.endswith("$"):
        answer = answer.strip("$").strip()
    return strip_trailing(answer) or None


def first_sentence(tail: str) -> str:
    """``tail`` up to its first sentence end (``. ``, a newline, ``。``, ``!``, ``?``, ``;``).

    Examples:
        >>> first_sentence("3.5 apples. Then more")
        '3.5 apples'
    """
    end = _SENTENCE_END.search(tail)
    return tail[: end.start()] if end else tail


def is_name(math: str) -> bool:
    """``$x$``, ``$ABCDEFGH$``, ``$\\angle B$``, ``$f(x)$``: a thing named, not a value."""
    return bool(_NAME.match(math)) and not any(c in math for c in _VALUE_COMMANDS)


def formula_runs(text: str, base: int = 0) -> list[Span]:
    """Runs of math-like tokens (numbers, operators, commands) in plain text."""
    runs: list[Span] = []
    current: list[re.Match[str]] = []

    def close() -> None:
        if current and any(any(ch.isdigit() for ch in m.group()) for m in current):
            start, end = current[0].start(), current[-1].end()
            runs.append(Span(text[start:end], base + start, base + end))
        current.clear()

    for token in _TOKEN.finditer(text):
        word = token.group()
        mathy = (
            any(ch.isdigit() for ch in word)
            or word in _OPERATOR
            or (word.startswith("\\") and not word.startswith("\\$"))
        )
        if mathy and (not current or token.start() - current[-1].end() <= 2):
            current.append(token)
        elif mathy:
            close()
            current.append(token)
        else:
            close()
    close()
    return runs


def clean_chunk(chunk: str) -> str | None:
    """The value of a formula run: the last side of ``35 + 70 = 105``, without stray brackets."""
    chunk = chunk.strip(" =+*/:,;.$")
    if chunk.startswith("(") and chunk.endswith(")") and chunk.count("(") == 1:
        chunk = chunk[1:-1]
    if "=" in chunk:
        chunk = chunk.rsplit("=", 1)[1]
    chunk = chunk.strip(" =*/:,;.$")
    if chunk.count("(") < chunk.count(")"):
        chunk = chunk.rstrip(")")
    if chunk.count("(") > chunk.count(")"):
        chunk = chunk.lstrip("(")
    return strip_trailing(chunk).strip() or None


def first_value(sentence: str) -> str | None:
    """The first value in a sentence of words: a math span that is not a name, or a number."""
    spans = [s for s in math_spans(sentence) if not is_name(s.text)]
    plain = blank_spans(sentence, math_spans(sentence))
    chunks = formula_runs(plain)
    first_chunk = chunks[0] if chunks else None
    if spans and (first_chunk is None or spans[0].start < first_chunk.start):
        return tidy_answer(spans[0].text)
    if first_chunk is None:
        return None
    rest = plain[first_chunk.end :].lstrip()
    if _COMPOUND.match(rest):  # "4 hours and 30 minutes" is not 4
        return tidy_answer(sentence)
    return clean_chunk(first_chunk.text)


def blank_spans(text: str, spans: list[Span]) -> str:
    """``text`` with the given spans replaced by blanks (positions are kept)."""
    if not spans:
        return text
    parts = []
    pos = 0
    for span in spans:
        parts.append(text[pos : span.start])
        parts.append(" " * (span.end - span.start))
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)


def last_value(text: str, names: bool = False) -> tuple[str, LastSource] | None:
    """The value that comes last: a math span, a bold value or a formula in the text."""
    if len(text) > TAIL_CHARS:
        cut = text.find("\n", len(text) - TAIL_CHARS)
        text = text[cut if cut >= 0 else len(text) - TAIL_CHARS :]
    spans = math_spans(text)
    best: tuple[int, str, LastSource] | None = None
    for span in reversed(spans):
        if not span.text.strip() or (not names and is_name(span.text)):
            continue
        inner = span.text
        value = first_value(inner) if is_prose(inner) and not names else tidy_answer(inner)
        if value is not None:
            best = (span.end, value, "last-math")
            break
    plain = blank_spans(text, spans)
    for bold in reversed(bold_spans(plain)):
        if any(ch.isdigit() for ch in bold.text):
            value = first_value(bold.text)
            if value is not None and (best is None or bold.end > best[0]):
                best = (bold.end, value, "bold")
            break
    chunks = formula_runs(plain)
    if chunks:
        last = closing_run(plain, chunks)
        value = clean_chunk(last.text)
        # A bold value in the closing paragraph outranks a plain number after it.
        closing_bold = best is not None and best[2] == "bold" and "\n" not in text[best[0] :]
        if value is not None and (best is None or last.end > best[0]) and not closing_bold:
            best = (last.end, value, "last-number")
    return (best[1], best[2]) if best else None


# Words that make the number after them a circumstance, not the result: "for 30 dollars",
# "in 10 weeks", "to last her 12 weeks", "per 2 kg", "after 3 days".
_CONTEXT_WORDS = frozenset(
    "after for in of per within over by every each than from during to at before until "
    "since among between across".split()
)
_WORD = re.compile(r"[A-Za-z']+")


def closing_run(text: str, runs: list[Span]) -> Span:
    """The run that states the result: the last one, unless the closing sentence says more.

    In a closing sentence with several numbers, a number that a preposition in its own clause
    introduces ("for 30 dollars", "to last her 12 weeks") describes the circumstances; the
    last number that none introduces is the result ("so she needs 4 boxes ... 12 weeks").

    Examples:
        >>> text = "So she needs 4 boxes of tea to last her 12 weeks."
        >>> closing_run(text, formula_runs(text)).text
        '4'
        >>> text = "So after 3 weeks she has 12 boxes."
        >>> closing_run(text, formula_runs(text)).text
        '12'
    """
    last = runs[-1]
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, last.start)]
    start = ends[-1] if ends else 0
    sentence = [run for run in runs if run.start >= start]
    if len(sentence) < 2:
        return last
    for index in range(len(sentence) - 1, -1, -1):
        run = sentence[index]
        lead = sentence[index - 1].end if index else start
        clause = re.split(r"[,;:]", text[max(lead, run.start - 30) : run.start])[-1]
        words = [word.lower() for word in _WORD.findall(clause)[-3:]]
        # "for 30", "in 10 weeks"; "to last her 12" (a purpose: "to" three words back).
        if not (_CONTEXT_WORDS & set(words[-2:]) or (len(words) == 3 and words[0] == "to")):
            return run
    return last


def first_letter(text: str, after_negation: bool = True) -> str | None:
    """The first option letter in ``text``, skipping those after a negation ("not A").

    Examples:
        >>> first_letter("for sure D, it can't be A or B")
        'D'
    """
    for match in LETTER.finditer(text):
        if after_negation and NEGATION.search(text[max(0, match.start() - 12) : match.start()]):
            continue
        return match.group(1)
    return None
