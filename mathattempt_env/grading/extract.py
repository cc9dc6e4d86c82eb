"""Find the final answer in a model response: a configurable, frozen pipeline.

The stages, in order (each one that finds something ends the search):

1. **clean**: NUL bytes and lone surrogates are removed; the text is cut at the first
   chat-template marker (``<|im_start|>``...); GSM8K calculator notes ``<<2*3=6>>`` go.
2. **think**: only text after the last ``</think>`` counts. With ``think="auto"`` an unclosed
   ``<think>`` means the response was cut mid-thought (no answer); with ``think="open"`` (the
   prompt opened the block) a response without ``</think>`` is cut; ``think="none"`` ignores
   the tags.
   Only the last :data:`MAX_SCAN` characters of what remains are read further (the first,
   with ``box="first"``), so a grade costs the same for a 9 MB response as for a long one.
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

Examples:
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
from mathattempt_env.grading.answer import foreign_letters, is_prose
from mathattempt_env.grading.prose import (
    LEAD_LETTER,
    LETTER,
    NEGATION,
    TAIL_CHARS,
    WHOLE_LIMIT,
    first_letter,
    first_sentence,
    first_value,
    is_short_math,
    last_value,
    tidy_answer,
)
from mathattempt_env.grading.spans import (
    Span,
    boxes,
    clean_text,
    leading_math,
    math_spans,
)
from mathattempt_env.grading.triggers import LANGUAGES, TRIGGERS, Triggers, cut_debris

BoxChoice = Literal["last", "first"]
Think = Literal["auto", "open", "none"]
Want = Literal["value", "choice", "text"]
#: Where an answer came from (also :attr:`~mathattempt_env.types.Grade.source`).
Source = Literal[
    "box", "boxes", "trigger", "whole", "last-math", "bold", "last-number", "choice",
    "cut", "retracted", "none",
]  # fmt: skip

#: Most boxes read together as one answer.
MAX_JOINED = 64
#: Characters of a response the stages after ``think`` read: the last ones (the first ones
#: with ``box="first"``). About 40,000 tokens, more than any answer needs after its
#: reasoning, and it bounds the time and memory of a grade for any input size.
MAX_SCAN = 1 << 17

_CALCULATOR = re.compile(r"<<[^<>\n]{0,200}>>")
# Separators that join boxes into one answer: "and", "or", commas, "&", and an optional label
# ("and y_2 =") after them; markup is removed first.
_JOINER = re.compile(
    r"(?:[,;&]|and|or|et|und|y|и|和|或)?(?:[ ]?[A-Za-z](?:_\{?\w{1,3}\}?)?[ ]?=)?", re.IGNORECASE
)
_SEPARATOR_MARKUP = re.compile(r"\\text\{|\\q?quad|\\[()\[\],;!]|[{}$\s]|\\ ")
# An answer phrase that is denied: "the answer is not 5", "isn't", "n'est pas", "不是".
_NEGATED = re.compile(
    r"[ \t]*(?:not\b|n't\b|never\b|no[ \t]+longer\b|n'est[ \t]+pas\b|nicht\b|no[ \t]+es\b|"
    r"不是|не\b)",
    re.IGNORECASE,
)
# What corrects a denied answer in the same sentence: "not 5, it is 6", "not 5 but 6".
_CORRECTION = re.compile(
    r"\b(?:but|rather|instead)\b|\b(?:it|that|the[ \t]+answer)[ \t]*(?:is|'s|was)\b", re.IGNORECASE
)
# What takes back the box just before it: "\boxed{5} is wrong", "..., but that is wrong",
# "Wait, this is not the answer", "scratch that". Read in the few words after the box.
_WRONG = (
    r"(?:wrong|incorrect|not[ \t]+(?:correct|right|the[ \t]+(?:final[ \t]+|correct[ \t]+)?answer))"
)
_RETRACTION = re.compile(
    rf"^[\s.,;:!)\]$]*(?:is|was)[ \t]+{_WRONG}"
    rf"|\b(?:that|this|it|which)(?:[ \t]+answer)?[ \t]*(?:is|was|'s)[ \t]+{_WRONG}"
    r"|\bscratch[ \t]+that\b|\bi[ \t]+made[ \t]+(?:a|an)[ \t]+(?:mistake|error)\b",
    re.IGNORECASE,
)
_SAID_WRONG = re.compile(rf"[ \t]+(?:is|was)[ \t]+{_WRONG}", re.IGNORECASE)
#: Characters after the last box read for a retraction (the next paragraph is not read).
RETRACTION_REACH = 160
#: Answer phrases tried, last first, when the value after one is a box the response cut.
MAX_CUT_PHRASES = 3
_CUT_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract` found.

    Attributes:
        answer: the answer text, stripped, or ``None``.
        formatted: a complete ``\\boxed{...}`` (or ``\\fbox{...}``) was found.
        source: where the answer came from (see :data:`Source`).
        joined: two or more connected boxes (or math spans), comma-joined, or ``None``.
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

    Examples:
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

        Examples:
            >>> Extractor().body("<think>hmm</think> 42")
            ' 42'
        """
        text = cut_debris(clean_text(response))
        if self.think != "none":
            close = text.rfind("</think>")
            if close >= 0:
                text = text[close + len("</think>") :]
            elif self.think == "open" or "<think>" in text:
                return None
        if len(text) > MAX_SCAN:  # only the end (the start, for the first box) is read
            text = text[:MAX_SCAN] if self.box == "first" else text[-MAX_SCAN:]
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
                after = text[found[-1].end + trigger[1] :]
                value = _value_after(after, want)
                if _NEGATED.match(after) and value is None:
                    return Extraction(None, True, "retracted")
                if value is not None and (want != "value" or any(c.isdigit() for c in value)):
                    return Extraction(value, True, "trigger")
        if found and self.box == "last" and _retracts(text[found[-1].end :], found[-1].text):
            return Extraction(None, True, "retracted")
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
            letter = first_letter(answer)
            return Extraction(letter or answer, True, "box")
        return Extraction(answer, True, "boxes" if joined else "box", joined)

    def _unboxed(self, text: str, want: Want) -> Extraction:
        end = len(text)
        for _ in range(MAX_CUT_PHRASES):
            trigger = self.phrases.last(text if end == len(text) else text[:end])
            if trigger is None:
                break
            after = text[trigger[1] :]
            value = _value_after(after, want)
            if _NEGATED.match(after) and value is None:
                return Extraction(None, False, "retracted")
            if value is None:
                break
            if not _CUT_BOX.search(value):
                return Extraction(value, False, "trigger")
            end = trigger[0]  # "Final Answer: \boxed{" was cut: the phrase before it counts
        stripped = text.strip()
        short_text = want == "text" and 0 < len(stripped) <= WHOLE_LIMIT and "\n" not in stripped
        if self.whole and (short_text or is_short_math(stripped)):
            whole = tidy_answer(stripped)
            if whole is not None:
                return Extraction(whole, False, "whole")
        if self.last_value:
            last = last_value(text, names=want == "text")
            if last is not None:
                joined = _joined_math(text) if last[1] == "last-math" else None
                return Extraction(last[0], False, last[1], joined)
        return Extraction(None, False)


DEFAULT = Extractor()


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


def _joined_math(text: str) -> str | None:
    """The last math spans joined by connectives (``$x = 2$ and $x = -3$``), comma-joined."""
    tail = text[-TAIL_CHARS:]
    spans = [s for s in math_spans(tail) if s.text.strip()]
    if len(spans) < 2:
        return None
    group = _box_groups(tail, spans)[-1]
    if len(group) < 2:
        return None
    return ", ".join(span.text.strip() for span in group)


def _joins(separator: str) -> bool:
    """Whether the text between two boxes only connects them ("and", ",", "for part (a) and")."""
    if _JOINER.fullmatch(separator) or not any(ch.isalpha() for ch in separator):
        return True
    # A short aside that ends in a connective: "for part (a) and".
    lowered = separator.lower()
    return lowered.endswith(("and", "or", ",")) and not any(
        word in lowered for word in ("but", "not", "no", "thus", "so")
    )


def _retracts(tail: str, value: str) -> bool:
    """Whether the words right after a box take it back ("is wrong", "that is not the answer")."""
    window = tail[:RETRACTION_REACH].split("\n\n", 1)[0]
    lowered = window.lower()
    if not any(word in lowered for word in ("wrong", "incorrect", "not", "scratch", "mistake")):
        return False  # every retraction names one of these
    if _RETRACTION.search(window):
        return True
    if value and len(value) <= 40:  # "\boxed{5}. Hmm, 5 is not the answer"
        said = re.search(rf"(?<![\w.]){re.escape(value)}[ \t]+(?:is|was)[ \t]+{_WRONG}", window)
        return said is not None
    return False


def _value_after(tail: str, want: Want) -> str | None:
    """The first value after an answer phrase, in the same sentence.

    A denied phrase ("the answer is not 5") gives the value that corrects it in the same
    sentence ("..., it is 6"), or none.
    """
    negated = _NEGATED.match(tail)
    if negated is not None:
        sentence = first_sentence(tail[negated.end() : negated.end() + TAIL_CHARS])
        correction = _CORRECTION.search(sentence)
        if correction is None:
            return None
        return _value_after(sentence[correction.end() :], want)
    tail = tail[:TAIL_CHARS].lstrip(" \t\n*:：=")
    if tail.startswith('"'):  # a JSON string field
        close = tail.find('"', 1)
        tail = tail[1:close] if close > 0 else tail[1:]
    math = leading_math(tail)
    if math is not None and math.strip():
        return tidy_answer(math)
    sentence = first_sentence(tail)
    whole = tidy_answer(sentence)
    if whole is None:
        return None
    if want == "text":
        return whole
    if not is_prose(whole.replace("$", "")) and not foreign_letters(whole):
        return whole
    return first_value(sentence)


def _choice(text: str, phrases: Triggers) -> Extraction:
    """An option letter: after the last answer phrase, at the very start, or the last one."""
    trigger = phrases.last(text)
    if trigger is not None:
        tail = text[trigger[1] : trigger[1] + TAIL_CHARS]
        letter = first_letter(first_sentence(tail.lstrip(" \t\n*:：")))
        if letter is not None:
            return Extraction(letter, False, "choice")
    stripped = text.lstrip(" \t\n*$")
    lead = LEAD_LETTER.match(stripped)
    if lead is not None:
        return Extraction(lead.group(1), False, "choice")
    tail = text[-TAIL_CHARS:]
    letters = [
        m.group(1)
        for m in LETTER.finditer(tail)
        if not NEGATION.search(tail[max(0, m.start() - 12) : m.start()])
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

    Examples:
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

    Examples:
        >>> extract_answer("Answer: $x = 3$")
        'x = 3'
        >>> extract_answer("10, 4, 2")
        '10, 4, 2'
        >>> extract_answer("答案：每份应该是 (\\\\frac{2}{5}) 吨。")
        '\\\\frac{2}{5}'
    """
    return extract(response, boxed_only=boxed_only).answer
