"""Find the final answer in a model response: a configurable, frozen pipeline.

The stages, in order (each one that finds something ends the search):

1. **clean**: NUL bytes and lone surrogates are removed; the text is cut at the first
   chat-template marker (``<|im_start|>``...); GSM8K calculator notes ``<<2*3=6>>`` go.
2. **think**: only text after the last ``</think>`` counts. With ``think="auto"`` an unclosed
   ``<think>`` means the response was cut mid-thought (no answer); with ``think="open"`` (the
   prompt opened the block) a response without ``</think>`` is cut; ``think="none"`` ignores
   the tags.
3. **box**: the last (or first) complete ``\\boxed{}``. Boxes joined only by "and", "or",
   commas or ``\\quad`` form one group, offered as :attr:`Extraction.joined` for golds with
   several parts.
4. **trigger**: the last answer phrase ("the answer is", "Answer:", ``####``, a JSON
   ``"answer":`` field, 答案, réponse, ответ, ...; see :mod:`~.triggers`), then the first value
   after it in the same sentence.
5. **whole**: a short response that is all math (``10, 4, 2``).
6. **last**: whichever comes last of: a math span that is a value (not a name such as ``$x$``),
   a bold value, a number or formula in the text.

With a multiple-choice gold, the same stages look for an option letter instead.

Everything is linear in the response length (see :mod:`~.spans`).

Example:
    >>> extract_answer(r"so $x = \\boxed{\\frac{1}{2}}$.")
    '\\\\frac{1}{2}'
    >>> extract_answer("<think>maybe \\\\boxed{3}</think> The answer is 4.")
    '4'
    >>> extract("He has 3 + 4 = 7 apples.").source
    'last-number'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from mathattempt_env.errors import ConfigError
from mathattempt_env.grading.answer import is_prose
from mathattempt_env.grading.spans import (
    Span,
    bold_spans,
    boxes,
    clean_text,
    leading_math,
    math_spans,
    strip_trailing,
)
from mathattempt_env.grading.triggers import LANGUAGES, TRIGGERS, Triggers, cut_debris

BoxChoice = Literal["last", "first"]
Think = Literal["auto", "open", "none"]
Want = Literal["value", "choice", "text"]
#: Where an answer came from (also :attr:`~mathattempt_env.types.Grade.source`).
Source = Literal[
    "box", "boxes", "trigger", "whole", "last-math", "bold", "last-number", "choice",
    "cut", "none",
]  # fmt: skip

#: A response without a box or phrase is taken whole when it is math and at most this long.
WHOLE_LIMIT = 200
#: Most boxes read together as one answer.
MAX_JOINED = 64
#: The last-value search reads at most this many characters from the end of the response.
TAIL_CHARS = 4_000

_CALCULATOR = re.compile(r"<<[^<>\n]{0,200}>>")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|[\n。！？!?；;]")
# Separators that join boxes into one answer: "and", "or", commas, "&", and an optional label
# ("and y_2 =") after them; markup is removed first.
_JOINER = re.compile(
    r"(?:[,;&]|and|or|et|und|y|и|和|或)?(?:[ ]?[A-Za-z](?:_\{?\w{1,3}\}?)?[ ]?=)?", re.IGNORECASE
)
_SEPARATOR_MARKUP = re.compile(r"\\text\{|\\q?quad|\\[()\[\],;!]|[{}$\s]|\\ ")
_TOKEN = re.compile(r"[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\u0600-\u06ff\u0900-\u097f]+")
_OPERATOR = frozenset("= + - * / × ÷ − < > ≤ ≥ ^ ( ) : \\times \\cdot \\div".split())
_NAME = re.compile(r"^[\sA-Za-z_{}()'^,\\]*$")
_VALUE_COMMANDS = ("\\pi", "\\infty", "\\emptyset", "\\varnothing", "\\sqrt", "\\frac")
_LETTER = re.compile(r"(?<![A-Za-z])\(?([A-Z])\)?(?![A-Za-z'’])(?<!I(?=\s[a-z]))")
# An option letter that opens a response: "D. It can't be A", "B。不是 A", "(C)".
_LEAD_LETTER = re.compile(r"\(?([A-Z])\)?(?:[.):：。,，]|\s*$|(?=[^\x00-\x7f]))")
_NEGATION = re.compile(r"(?:\bnot|n't be|\bnon|\bpas|\bnicht|\bno es|不是|不|не)\s*$", re.I)
_COMPOUND = re.compile(r"^[A-Za-z]{2,}\.?(?:\s*,|\s+and)?\s+\d")


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract` found.

    Attributes:
        answer: the answer text, stripped, or ``None``.
        formatted: a complete ``\\boxed{...}`` (or ``\\fbox{...}``) was found.
        source: where the answer came from (see :data:`Source`).
        joined: the contents of two or more connected boxes, joined by commas, or ``None``.
    """

    answer: str | None
    formatted: bool
    source: Source = "none"
    joined: str | None = None


@dataclass(frozen=True)
class Extractor:
    """A frozen extraction pipeline; every stage and table is a field.

    Attributes:
        boxed_only: only a complete ``\\boxed{}`` counts (the papers' protocol).
        box: with several boxes, use the ``"last"`` or the ``"first"``.
        join_boxes: boxes joined by "and"/","/``\\quad`` form one answer for a gold with
            several parts (``\\boxed{1}, \\boxed{2}`` for ``{1, 2}``).
        think: ``"auto"``, ``"open"`` (the prompt opened ``<think>``) or ``"none"``.
        languages: trigger tables to use (default: all of :data:`~.triggers.LANGUAGES`).
        triggers: extra trigger regular expressions (case-insensitive).
        last_value: fall back to the last value in the text (math span, bold, number).
        whole: take a short all-math response whole.

    Example:
        >>> Extractor(think="open").extract("still thinking... the answer is 4").source
        'cut'
        >>> Extractor(languages=("en",)).extract("答案：5").source
        'last-number'
    """

    boxed_only: bool = False
    box: BoxChoice = "last"
    join_boxes: bool = True
    think: Think = "auto"
    languages: tuple[str, ...] = LANGUAGES
    triggers: tuple[str, ...] = ()
    last_value: bool = True
    whole: bool = True

    def __post_init__(self) -> None:
        if self.box not in ("last", "first"):
            raise ConfigError(f"expected box='last' or 'first', got {self.box!r}")
        if self.think not in ("auto", "open", "none"):
            raise ConfigError(f"expected think='auto', 'open' or 'none', got {self.think!r}")
        unknown = [lang for lang in self.languages if lang not in TRIGGERS]
        if unknown or isinstance(self.languages, str):
            raise ConfigError(
                f"unknown trigger languages {unknown or self.languages!r}; "
                f"expected some of {LANGUAGES}"
            )
        try:
            self.phrases  # noqa: B018 - compile now, so a bad trigger fails here
        except re.error as error:
            raise ConfigError(f"invalid trigger regular expression: {error}") from None

    @cached_property
    def phrases(self) -> Triggers:
        """The compiled answer phrases."""
        return Triggers(self.languages, self.triggers)

    def body(self, response: str) -> str | None:
        """The part of ``response`` that counts, or ``None`` when it was cut mid-thought.

        Example:
            >>> Extractor().body("<think>hmm</think> 42")
            ' 42'
        """
        text = cut_debris(clean_text(response))
        if self.think == "none":
            return text
        close = text.rfind("</think>")
        if close >= 0:
            return text[close + len("</think>") :]
        if self.think == "open" or "<think>" in text:
            return None
        return text

    def extract(self, response: str, want: Want = "value") -> Extraction:
        """Find the answer in ``response``.

        Args:
            response: a model response or a bare answer. Anything else yields no answer.
            want: ``"choice"`` looks for an option letter, ``"text"`` accepts words after an
                answer phrase; ``"value"`` (default) looks for math.
        """
        if not isinstance(response, str):
            return Extraction(None, False)
        text = self.body(response)
        if text is None:
            return Extraction(None, False, "cut")
        if "<<" in text:
            text = _CALCULATOR.sub("", text)
        found = boxes(text)
        if found and not self.boxed_only:
            # An answer phrase after the last box restates the answer: the later one counts.
            trigger = self.phrases.last(text[found[-1].end :])
            if trigger is not None:
                value = _value_after(text[found[-1].end + trigger[1] :], want)
                if value is not None and (want != "value" or any(c.isdigit() for c in value)):
                    return Extraction(value, True, "trigger")
        if found:
            return self._boxed(text, found, want)
        if self.boxed_only:
            return Extraction(None, False)
        if want == "choice":
            return _choice(text, self.phrases)
        return self._unboxed(text, want)

    def _boxed(self, text: str, found: list[Span], want: Want) -> Extraction:
        groups = _box_groups(text, found) if self.join_boxes else [[box] for box in found]
        group = groups[-1] if self.box == "last" else groups[0]
        chosen = group[-1] if self.box == "last" else group[0]
        joined = ", ".join(box.text for box in group) if len(group) > 1 else None
        answer = chosen.text or None
        if want == "choice" and answer is not None:
            letter = _first_letter(answer)
            return Extraction(letter or answer, True, "box")
        return Extraction(answer, True, "boxes" if joined else "box", joined)

    def _unboxed(self, text: str, want: Want) -> Extraction:
        trigger = self.phrases.last(text)
        if trigger is not None:
            value = _value_after(text[trigger[1] :], want)
            if value is not None:
                return Extraction(value, False, "trigger")
        stripped = text.strip()
        short_text = want == "text" and 0 < len(stripped) <= WHOLE_LIMIT and "\n" not in stripped
        if self.whole and (short_text or _is_short_math(stripped)):
            tidy = _tidy(stripped)
            if tidy is not None:
                return Extraction(tidy, False, "whole")
        if self.last_value:
            last = _last_value(text, want)
            if last is not None:
                return Extraction(last[0], False, last[1])
        return Extraction(None, False)


DEFAULT = Extractor()


# Two or more plain letters that are not a LaTeX command: "It is 12" is a sentence.
_PLAIN_PAIR = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
_MATH_PAIRS = frozenset(
    "sin cos tan cot sec csc ln log exp pi or and sqrt frac max min gcd lcm mod".split()
)


def _is_short_math(text: str) -> bool:
    return (
        0 < len(text) <= WHOLE_LIMIT
        and "\n" not in text
        and all(word.lower() in _MATH_PAIRS for word in _PLAIN_PAIR.findall(text))
        and not _has_foreign_letters(text)
    )


def _has_foreign_letters(text: str) -> bool:
    return any(ch.isalpha() and ord(ch) > 0x24F and not 0x370 <= ord(ch) <= 0x3FF for ch in text)


def _box_groups(text: str, found: list[Span]) -> list[list[Span]]:
    """Split boxes into runs joined only by connectives ("and", ",", ``\\quad``)."""
    groups = [[found[0]]]
    for previous, box in zip(found, found[1:], strict=False):
        if box.start < previous.end or len(groups[-1]) >= MAX_JOINED:  # nested, or too many
            groups.append([box])
            continue
        between = text[previous.end : box.start]
        separator = _SEPARATOR_MARKUP.sub("", between) if len(between) <= 80 else "x" * 81
        if len(separator) <= 40 and _joins(separator):
            groups[-1].append(box)
        else:
            groups.append([box])
    return groups


def _joins(separator: str) -> bool:
    """Whether the text between two boxes only connects them ("and", ",", "for part (a) and")."""
    if _JOINER.fullmatch(separator) or not any(ch.isalpha() for ch in separator):
        return True
    # A short aside that ends in a connective: "for part (a) and".
    lowered = separator.lower()
    return lowered.endswith(("and", "or", ",")) and not any(
        word in lowered for word in ("but", "not", "no", "thus", "so")
    )


def _tidy(answer: str) -> str | None:
    answer = answer.strip()
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


def _sentence(tail: str) -> str:
    end = _SENTENCE_END.search(tail)
    return tail[: end.start()] if end else tail


def _value_after(tail: str, want: Want) -> str | None:
    """The first value after an answer phrase, in the same sentence."""
    tail = tail[:TAIL_CHARS].lstrip(" \t\n*:：=")
    if tail.startswith('"'):  # a JSON string field
        close = tail.find('"', 1)
        tail = tail[1:close] if close > 0 else tail[1:]
    math = leading_math(tail)
    if math is not None and math.strip():
        return _tidy(math)
    sentence = _sentence(tail)
    whole = _tidy(sentence)
    if whole is None:
        return None
    if want == "text":
        return whole
    if not is_prose(whole.replace("$", "")) and not _has_foreign_letters(whole):
        return whole
    return _first_value(sentence)


def _is_name(math: str) -> bool:
    """``$x$``, ``$ABCDEFGH$``, ``$\\angle B$``, ``$f(x)$``: a thing named, not a value."""
    return bool(_NAME.match(math)) and not any(c in math for c in _VALUE_COMMANDS)


def _chunks(text: str, base: int = 0) -> list[Span]:
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


def _clean_chunk(chunk: str) -> str | None:
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


def _first_value(sentence: str) -> str | None:
    """The first value in a sentence of words: a math span that is not a name, or a number."""
    spans = [s for s in math_spans(sentence) if not _is_name(s.text)]
    plain = _blank_spans(sentence, math_spans(sentence))
    chunks = _chunks(plain)
    first_chunk = chunks[0] if chunks else None
    if spans and (first_chunk is None or spans[0].start < first_chunk.start):
        return _tidy(spans[0].text)
    if first_chunk is None:
        return None
    rest = plain[first_chunk.end :].lstrip()
    if _COMPOUND.match(rest):  # "4 hours and 30 minutes" is not 4
        return _tidy(sentence)
    return _clean_chunk(first_chunk.text)


def _blank_spans(text: str, spans: list[Span]) -> str:
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


def _last_value(text: str, want: Want = "value") -> tuple[str, Source] | None:
    """The value that comes last: a math span, a bold value or a formula in the text."""
    if len(text) > TAIL_CHARS:
        cut = text.find("\n", len(text) - TAIL_CHARS)
        text = text[cut if cut >= 0 else len(text) - TAIL_CHARS :]
    spans = math_spans(text)
    best: tuple[int, str, Source] | None = None
    for span in reversed(spans):
        if not span.text.strip() or (want != "text" and _is_name(span.text)):
            continue
        inner = span.text
        value = _first_value(inner) if is_prose(inner) and want != "text" else _tidy(inner)
        if value is not None:
            best = (span.end, value, "last-math")
            break
    plain = _blank_spans(text, spans)
    for bold in reversed(bold_spans(plain)):
        if any(ch.isdigit() for ch in bold.text):
            value = _first_value(bold.text)
            if value is not None and (best is None or bold.end > best[0]):
                best = (bold.end, value, "bold")
            break
    chunks = _chunks(plain)
    if chunks:
        last = chunks[-1]
        value = _clean_chunk(last.text)
        # A bold value in the closing paragraph outranks a plain number after it.
        closing_bold = best is not None and best[2] == "bold" and "\n" not in text[best[0] :]
        if value is not None and (best is None or last.end > best[0]) and not closing_bold:
            best = (last.end, value, "last-number")
    return (best[1], best[2]) if best else None


def _first_letter(text: str, after_negation: bool = True) -> str | None:
    for match in _LETTER.finditer(text):
        if after_negation and _NEGATION.search(text[max(0, match.start() - 12) : match.start()]):
            continue
        return match.group(1)
    return None


def _choice(text: str, phrases: Triggers) -> Extraction:
    """An option letter: after the last answer phrase, at the very start, or the last one."""
    trigger = phrases.last(text)
    if trigger is not None:
        tail = text[trigger[1] : trigger[1] + TAIL_CHARS]
        letter = _first_letter(_sentence(tail.lstrip(" \t\n*:：")))
        if letter is not None:
            return Extraction(letter, False, "choice")
    stripped = text.lstrip(" \t\n*$")
    lead = _LEAD_LETTER.match(stripped)
    if lead is not None:
        return Extraction(lead.group(1), False, "choice")
    tail = text[-TAIL_CHARS:]
    letters = [
        m.group(1)
        for m in _LETTER.finditer(tail)
        if not _NEGATION.search(tail[max(0, m.start() - 12) : m.start()])
    ]
    return Extraction(letters[-1], False, "choice") if letters else Extraction(None, False)


def extract(
    response: str,
    *,
    boxed_only: bool = False,
    box: BoxChoice = "last",
    think: Think = "auto",
    want: Want = "value",
) -> Extraction:
    """Find the answer in ``response`` with the default pipeline and these options.

    Example:
        >>> extract(r"\\boxed{1} then \\boxed{2}", box="first")
        Extraction(answer='1', formatted=True, source='box', joined=None)
        >>> extract("The answer is 7.", boxed_only=True)
        Extraction(answer=None, formatted=False, source='none', joined=None)
        >>> extract(r"\\boxed{1} and \\boxed{2}").joined
        '1, 2'
    """
    extractor = DEFAULT
    if (boxed_only, box, think) != (False, "last", "auto"):
        extractor = Extractor(boxed_only=boxed_only, box=box, think=think)
    return extractor.extract(response, want)


def extract_answer(response: str, *, boxed_only: bool = False) -> str | None:
    """Return the final answer text of ``response``, or ``None``.

    Example:
        >>> extract_answer("Answer: $x = 3$")
        'x = 3'
        >>> extract_answer("10, 4, 2")
        '10, 4, 2'
        >>> extract_answer("答案：每份应该是 (\\\\frac{2}{5}) 吨。")
        '\\\\frac{2}{5}'
    """
    return extract(response, boxed_only=boxed_only).answer
