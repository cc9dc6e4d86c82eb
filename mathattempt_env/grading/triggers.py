"""Answer phrases in many languages, and the chat debris that can follow an answer.

A trigger is a regular expression for the words that introduce a final answer ("the answer
is", "Answer:", ``####``, 答案, réponse, ответ, ...). Each is a sequence of literals joined by
runs of blanks, so none can backtrack over model text. :class:`~.extract.Extractor` takes the
languages to use and extra triggers of your own.

Examples:
    >>> sorted(TRIGGERS)[:4]
    ['ar', 'de', 'en', 'es']
    >>> Triggers(("en",), ()).last("So the answer is 5")
    (7, 16)
"""

from __future__ import annotations

import re

# Each pattern is matched case-insensitively and holds its anchor, a lower-case literal that
# a plain substring search finds first (so the regex runs on a short window, not the whole
# response). ``[ \t]*`` stands between literals only, never next to another quantifier over
# the same characters.
TRIGGERS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("answer", r"answer[ \t]*(?:\([^()\n]{0,40}\)[ \t]*)?(?:is|was|would[ \t]+be|:|=)"),
        ("answer", r"answer[\"'][ \t]*:"),
        ("####", r"####"),
        ("a:", r"(?m:^)[ \t]*A[ \t]*:(?=[ \t]*[-$\\(\d])"),
        # "In interval notation, the solution is (5, ∞)", "in interval notation: [2, 3)".
        (
            "interval",
            r"interval[ \t]+notation[ \t]*,?[ \t]*(?:(?:the[ \t]+)?(?:answer|solution"
            r"(?:[ \t]+set)?|set|range|domain)[ \t]+|(?:it|this|that)[ \t]+)?(?:is|:|=)",
        ),
    ),
    "zh": (
        ("答案", r"答案[ \t]*(?:是|为|為)?[ \t]*[:：]?"),
        ("结果", r"最终结果[ \t]*(?:是|为)?[ \t]*[:：]?"),
    ),
    "ja": (("答え", r"答え[ \t]*(?:は)?[ \t]*[:：]?"), ("解答", r"解答[ \t]*[:：]")),
    "ko": (("정답", r"정답[ \t]*(?:은|는)?[ \t]*[:：]?"), ("답", r"답[ \t]*(?:은|는)?[ \t]*[:：]")),
    "fr": (("ponse", r"r[ée]ponse[ \t]*(?:finale[ \t]*)?(?:est|:|(?=n'est))"),),
    "es": (("respuesta", r"respuesta[ \t]*(?:final[ \t]*)?(?:es|:)"),),
    "pt": (("resposta", r"resposta[ \t]*(?:final[ \t]*)?(?:é|:)"),),
    "it": (("risposta", r"risposta[ \t]*(?:finale[ \t]*)?(?:è|:)"),),
    "de": (
        ("antwort", r"antwort[ \t]*(?:lautet|ist|:)"),
        ("ergebnis", r"ergebnis[ \t]*(?:lautet|ist|:)"),
    ),
    "ru": (("ответ", r"ответ[ \t]*(?::|—|-|равен|будет)"),),
    "ar": (
        ("الإجابة", r"الإجابة[ \t]*(?:هي|هو)?[ \t]*[:：]?"),
        ("الجواب", r"الجواب[ \t]*(?:هي|هو)?[ \t]*[:：]?"),
    ),
    "hi": (("उत्तर", r"उत्तर[ \t]*(?:है)?[ \t]*[:：]"),),
}
#: A match may start this many characters before its anchor, and end this many after it.
LEAD, REACH = 8, 80
#: Anchor occurrences tried before the search falls back to one pass of the full pattern.
MAX_WINDOWS = 256
#: Characters of a response searched at a time, from its end, for the last answer phrase.
WINDOW = 4096
_LEADING_BLANKS = re.compile(r"\s*")
#: Every language with answer phrases.
LANGUAGES: tuple[str, ...] = tuple(TRIGGERS)

#: Chat-template markers: a response ends at the first one (a base model's next turn).
#: All but the last two start with ``<|``.
DEBRIS = (
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>",
    "<|start_header_id|>", "<|user|>", "<|assistant|>", "<end_of_turn>", "</s>",
)  # fmt: skip
#: A base model that goes on to write the next few-shot example starts a line with one of these.
NEXT_EXAMPLE = ("\nQuestion:", "\nQ:", "\nHuman:", "\nUser:")


class Triggers:
    """The answer phrases of some languages, plus extra patterns; finds the last one.

    Args:
        languages: keys of :data:`TRIGGERS`.
        extra: more regular expressions (case-insensitive); these are searched in full.

    Raises:
        KeyError: a language has no trigger table.
        re.error: an extra trigger is not a valid regular expression.

    Examples:
        >>> found = Triggers(("en",), ()).last("The answer is 4. Final answer: 5")
        >>> "The answer is 4. Final answer: 5"[found[1]:]
        ' 5'
    """

    def __init__(self, languages: tuple[str, ...], extra: tuple[str, ...]) -> None:
        pairs = [pair for language in languages for pair in TRIGGERS[language]]
        self.anchored = [(anchor, re.compile(p, re.IGNORECASE)) for anchor, p in pairs]
        self.ascii = [(anchor, p) for anchor, p in self.anchored if anchor.isascii()]
        self.extra = re.compile("|".join(f"(?:{p})" for p in extra), re.I) if extra else None
        patterns = [p for _, p in pairs] + list(extra)
        self.full = re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)", re.I)

    def last(self, text: str) -> tuple[int, int] | None:
        """The ``(start, end)`` of the answer phrase that starts last in ``text``, or ``None``."""
        low = text.lower()
        if len(low) != len(text):  # a few characters change length when lowered
            return _last(self.full, text, 0, len(text))
        best = _last(self.extra, text, 0, len(text)) if self.extra else None
        anchored = self.ascii if text.isascii() else self.anchored
        # Windows from the end: a long response's last phrase is found without scanning all
        # of it for every anchor. A match starts at most LEAD before its anchor, so a window
        # whose best match starts before the window also looks at the window before it.
        hi, tried = len(text), [0] * len(anchored)
        while hi > 0:
            lo = max(0, hi - WINDOW)
            for index, (anchor, pattern) in enumerate(anchored):
                at = low.rfind(anchor, lo, hi + len(anchor) - 1)
                if at < 0 or tried[index] > MAX_WINDOWS:
                    continue  # absent here, or already searched in full
                found = _in_window(anchor, pattern, text, low, lo, at, tried, index)
                if found is not None and (best is None or found[0] > best[0]):
                    best = found
            if best is not None and best[0] >= lo:
                return best
            hi = lo
        return best


def _in_window(
    anchor: str,
    pattern: re.Pattern[str],
    text: str,
    low: str,
    lo: int,
    at: int,
    tried: list[int],
    index: int,
) -> tuple[int, int] | None:
    """The last match of ``pattern`` whose anchor starts in ``[lo, at]``, ``at`` the last.

    After :data:`MAX_WINDOWS` anchors of one pattern without a match, its last match in all
    of ``text`` up to there, in one pass; ``tried[index]`` counts the anchors tried.
    """
    while at >= 0:
        tried[index] += 1
        if tried[index] > MAX_WINDOWS:  # pathological: one pass of the whole pattern
            return _last(pattern, text, 0, at + len(anchor) + REACH)
        found = _last(pattern, text, max(0, at - LEAD), at + len(anchor) + REACH)
        if found is not None and found[1] > at:
            return found
        at = low.rfind(anchor, lo, at + len(anchor) - 1)
    return None


def _last(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> tuple[int, int] | None:
    last = None
    for last in pattern.finditer(text, lo, hi):  # noqa: B007 - only the last match is wanted
        pass
    return last.span() if last is not None else None


def cut_debris(text: str) -> str:
    """Cut ``text`` where a base model's or chat template's next turn starts.

    That is the first chat-template marker, or the first line that starts a next few-shot
    example (``Question:``, ``Q:``), after some content.

    Examples:
        >>> cut_debris("x = 3<|im_end|>\\n<|im_start|>user\\nNext?")
        'x = 3'
        >>> cut_debris("The answer is 18.\\n\\nQuestion: Tom has 7 apples...\\nThe answer is 7.")
        'The answer is 18.\\n'
    """
    markers: tuple[str, ...] = ()
    if "<|" in text or "</s>" in text or "<end_of_turn>" in text:
        markers = DEBRIS
    if "\nQ" in text or "\nHuman:" in text or "\nUser:" in text:
        markers += NEXT_EXAMPLE
    if not markers:
        return text
    lead = _LEADING_BLANKS.match(text).end()  # type: ignore[union-attr]  # always matches
    cut = len(text)
    for marker in markers:
        at = text.find(marker, lead + 1)
        if 0 <= at < cut:
            cut = at
    return text[:cut]
