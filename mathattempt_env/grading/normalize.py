"""String-level clean-up of an answer before it is parsed.

Removes typesetting noise (``\\left``, ``\\!``, ``\\dfrac``, ``$``), units, and records the two
markers that change a value's meaning: percent and degrees.

Examples:
    >>> normalize(r"$\\left( \\dfrac{1}{2} \\right)$").text
    '( \\\\frac{1}{2} )'
    >>> n = normalize(r"45^{\\circ}")
    >>> n.text, n.degrees
    ('45', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mathattempt_env.grading.spans import (
    MATH_DELIMITERS,
    boxed_answers,
    clean_text,
    strip_trailing,
)

_NOISE = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)(?![A-Za-z])"
    r"|\\(?:displaystyle|textstyle|limits|nolimits)(?![A-Za-z])"
    r"|(?<!\\)\\ |\\q?quad|~"
)
# Thin and negative spaces join what they separate: 1\!000 and 1\,000 are 1000.
_THIN = re.compile(r"(?<!\\)\\[!,;:>]")
_LEFT_DOT = re.compile(r"\\(?:left|right)\s*\.")
_FRAC_ALIAS = re.compile(r"\\[dtc]frac(?![A-Za-z])")
_BINOM_ALIAS = re.compile(r"\\[dt]binom(?![A-Za-z])")
_DEGREE = re.compile(
    r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![A-Za-z])|\\circ(?![A-Za-z])|°|\\degree(?![A-Za-z])"
    r"|\\text\{\s*degrees?\s*\}|(?<!\s)\s+degrees?\b"
)
_PERCENT = re.compile(
    r"\\%|%|\\text\{\s*(?:percent|pct)\s*\}|(?<![\sA-Za-z])\s*(?:percentage|percent|per cent|pct)\b"
)
_DOLLAR = re.compile(r"\\\$|(?<![\\\w])\$(?=\s*\d)")
_WRAPPER = r"\\(?:text|textrm|mbox|mathrm|textnormal|textbf|textit|mathbf|textsf|texttt)"
# A unit is a wrapped word of two or more letters, or any word set off by a leading space.
# Matches start right after a number-like end or at the first non-blank after blanks, so a
# long run of blanks is scanned once, not once per blank.
_UNIT_WRAPPED = re.compile(
    r"(?:(?<=[\d}).])\s*|(?<=\s)(?!\s))"
    + _WRAPPER
    + r"\{(?:\s+[A-Za-z][A-Za-z .\-/]*|[A-Za-z][A-Za-z .\-/]+)\}"
    r"(?:\s*\^\s*\{?\d\}?)?"
)
_CONNECTIVE = re.compile(
    r"(?<!\s)\s*(?:,\s*)?(?:" + _WRAPPER + r"\{\s*(?:,\s*)?(?:or|and)\s*\}|\b(?:or|and)\b)\s*",
    re.IGNORECASE,
)
_UNIT_WORDS = (
    "cm|mm|km|m|meters?|metres?|centimeters?|millimeters?|kilometers?|inches|inch|in|feet|foot|ft"
    "|yards?|yd|miles?|mi|mph|kg|g|grams?|kilograms?|pounds?|lbs?|oz|ounces?|liters?|litres?|L|ml"
    "|gallons?|dollars?|cents?|euros?|hours?|hrs?|h|minutes?|mins?|seconds?|secs?|s|days?|weeks?"
    "|months?|years?|units?|square|sq|cubic|people|students|points?|ways|times|steps|percent"
)
_UNIT_PLAIN = re.compile(
    r"(?<=[\d}).])\s+(?:(?:square|sq\.?|cubic)\s+)?(?:" + _UNIT_WORDS + r")(?:\^?\{?[23]\}?)?\s*$"
)
_THOUSANDS = re.compile(r"^-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")
_SPACES = re.compile(r"\s+")
_PLAIN_NUMBER = re.compile(r"[-+]?\d{1,60}(?:\.\d{1,60})?")
_PHANTOM = re.compile(r"\\h?phantom\s*(?:\{[^{}]*\}|\\?.)")
_APPROX = re.compile(r"^\s*(?:\\approx|\\sim|\\simeq)\s*")
_UNICODE = str.maketrans(
    {
        "\u2212": "-", "\u2013": "-", "\u00d7": "\\times ", "\u22c5": "\\cdot ",
        "\u00b7": "\\cdot ", "\u00f7": "\\div ", "\u03c0": "\\pi ", "\u221e": "\\infty ",
        "\u2264": "\\le ", "\u2265": "\\ge ", "\u2260": "\\ne ", "\u221a": "\\sqrt ",
        "\u222a": "\\cup ", "\u2208": "\\in ", "\u00b1": "\\pm ", "\u2205": "\\emptyset ",
        "\u2026": "\\ldots ", "\u00bd": "\\frac{1}{2}", "\u2153": "\\frac{1}{3}",
        "\u2154": "\\frac{2}{3}", "\u00bc": "\\frac{1}{4}", "\u00be": "\\frac{3}{4}",
        "\u00b2": "^{2}", "\u00b3": "^{3}", "\u2032": "'", "\u2009": " ", "\u202f": " ",
        "\u00a0": " ", "\u3000": " ", "\uff0c": ",", "\uff1a": ":", "\uff08": "(", "\uff09": ")",
        "\u20ac": "", "\u00a3": "", "\u00a5": "", "\u20b9": "",
    }
)  # fmt: skip
# A doubled backslash before a command name is an escaping slip (``-2 \\\\le x``), not a newline.
_DOUBLED = re.compile(
    r"\\\\(?=(?:le|ge|leq|geq|lt|gt|ne|neq|frac|dfrac|sqrt|cdot|times|pi|in|infty|cup|pm)(?![A-Za-z]))"
)
# ``11,\! 111`` and ``1\,000``: a thin space after a thousands comma.
_THIN_THOUSANDS = re.compile(r"(?<=\d),\\[!,;]\s?(?=\d{3})")
# ``1 000 000``: blanks between groups of three digits.
_SPACED_THOUSANDS = re.compile(r"^-?\d{1,3}(?: \d{3})+(?:\.\d+)?$")
# ``12^{\text{th}}``, ``21st``: ordinal endings.
_ORDINAL = re.compile(r"(?<=\d)(?:\^\{?\\text\{(?:st|nd|rd|th)\}\}?|(?:st|nd|rd|th)(?![A-Za-z]))")
# Trailing words after a number (``125 miles``, ``10weeks``, ``858颗``, ``60 ريالاً``, ``m²``);
# function names and constants are not words here.
_TRAILING_WORDS = re.compile(
    r"(?<=[\d}).])[ \t]*(?:[A-Za-z]{3,}|[^\x00-\x7f\s\u0370-\u03ff]+|m\^\{?[23]\}?)"
    r"(?:[ \t]+(?:[A-Za-z]{3,}|[^\x00-\x7f\s\u0370-\u03ff]+)){0,3}[ \t]*$"
)
_KEEP_WORDS = frozenset(
    "sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh log exp sqrt pi infty frac "
    "mod pmod cdot times div ldots".split()
)
# ``1/3 \approx 0.33``: the exact part counts.
_TRIG = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)(?![A-Za-z])")
_DEGREE_NUMBER = re.compile(
    r"(\d{1,20}(?:\.\d{1,20})?)[ \t]*"
    r"(?:\^[ \t]*\{[ \t]*\\circ[ \t]*\}|\^[ \t]*\\circ(?![A-Za-z])|°)"
)
# Clock times: 8:34 PM, 8:34 p.m., 20:34:00.
_CLOCK = re.compile(
    r"(\d{1,2}):([0-5]\d)(?::([0-5]\d))?(?:[ \t]*(?:\\text\{[ \t]*)?([ap])\.?[ \t]*m\.?\}?)?",
    re.IGNORECASE,
)
_APPROX_AFTER = re.compile(r"\\(?:approx|sim|simeq)(?![A-Za-z])")
#: Most nested delimiter/box layers removed (``$\\boxed{$5$}$`` has three).
MAX_UNWRAP = 8
#: Most rounds of unit removal (``5 \\text{ cm}^2`` needs two).
MAX_UNIT_ROUNDS = 4
_BARS = re.compile(r"\\(?:lvert|rvert|vert|mid)(?![A-Za-z])")


@dataclass(frozen=True)
class Normalized:
    """An answer string after clean-up.

    Attributes:
        text: the cleaned LaTeX/plain text.
        percent: a percent sign was removed.
        degrees: a degree mark was removed.
    """

    text: str
    percent: bool = False
    degrees: bool = False


def strip_delimiters(text: str) -> str:
    """Remove math delimiters and a single enclosing ``\\boxed{}``.

    Examples:
        >>> strip_delimiters(r"$\\boxed{5}$")
        '5'
    """
    text = text.strip()
    changed = True
    rounds = 0
    while changed and text and rounds < MAX_UNWRAP:
        changed = False
        rounds += 1
        for left, right in MATH_DELIMITERS:
            if (
                len(text) >= len(left) + len(right)
                and text.startswith(left)
                and text.endswith(right)
            ):
                text = text[len(left) : len(text) - len(right)].strip()
                changed = True
                break
        if text.startswith(("\\boxed", "\\fbox")):
            boxes = boxed_answers(text)
            if len(boxes) == 1 and text.endswith("}"):
                text = boxes[0]
                changed = True
    return text


def _clock(text: str) -> str:
    """A clock time as ``H:MM`` on 24 hours (``8:34 PM`` and ``20:34:00`` are ``20:34``)."""
    if ":" not in text:
        return text
    clock = _CLOCK.fullmatch(text.strip())
    if clock is None or not (clock.group(3) or clock.group(4)):
        return text  # a ratio such as 3:4
    hours, minutes, seconds, half = clock.groups()
    hour = int(hours)
    if half is not None:
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    if seconds and seconds != "00":
        return f"{hour}:{minutes}:{seconds}"
    return f"{hour}:{minutes}"


def normalize(answer: str) -> Normalized:
    """Clean an answer string for parsing.

    The rules, in order: delimiters and ``\\boxed`` are removed; ``\\left``/``\\right``, thin
    spaces and style commands are dropped; ``\\dfrac``/``\\tfrac`` become ``\\frac``; degree and
    percent marks are recorded and removed; currency signs and trailing units are dropped;
    ``or``/``and`` become list commas; ``1{,}000`` and a whole ``1,000`` lose their separators.

    Examples:
        >>> normalize(r"\\$1{,}250 \\text{ dollars}").text
        '1250'
        >>> normalize(r"x = 1 \\text{ or } x = 2").text
        'x = 1,x = 2'
        >>> normalize("12.5%").percent
        True
    """
    if _PLAIN_NUMBER.fullmatch(answer):  # most answers: nothing to clean
        return Normalized(answer.lstrip("+") if answer[0] == "+" else answer)
    text = clean_text(answer).translate(_UNICODE)
    if "\\\\" in text:
        text = _DOUBLED.sub(r"\\", text)
    text = strip_delimiters(text)
    if "," in text:
        text = _THIN_THOUSANDS.sub("", text)
    approx = _APPROX_AFTER.search(text)
    if approx is not None and any(ch.isdigit() for ch in text[: approx.start()]):
        text = text[: approx.start()]
    text = _BARS.sub("|", text)
    text = _APPROX.sub("", _PHANTOM.sub("", text))
    text = _LEFT_DOT.sub("", text)
    text = _NOISE.sub(" ", _THIN.sub("", text))
    text = _FRAC_ALIAS.sub(r"\\frac", text)
    text = _BINOM_ALIAS.sub(r"\\binom", text)
    text = text.replace("{,}", "").replace("\\dots", "\\ldots").replace("\\cdots", "\\ldots")
    if _TRIG.search(text):  # sin 30° is sin(pi/6): degrees inside a function are radians
        text = _DEGREE_NUMBER.sub(r"{\\frac{\1\\pi}{180}}", text)
    text = _clock(text)
    text, degree_count = _DEGREE.subn("", text)
    text, percent_count = _PERCENT.subn("", text)
    text = _DOLLAR.sub("", text)
    if "$" in text:  # a delimiter left inside an answer (``$125$ miles``) means nothing
        text = text.replace("$", " ")
    text = _CONNECTIVE.sub(",", text)
    previous = None
    for _ in range(MAX_UNIT_ROUNDS):
        if previous == text:
            break
        previous = text
        text = _UNIT_WRAPPED.sub("", text).strip()
        text = _UNIT_PLAIN.sub("", text).strip()
        text = _ORDINAL.sub("", text)
        words = _TRAILING_WORDS.search(text)
        if words is not None and not _KEEP_WORDS.intersection(words.group().split()):
            text = text[: words.start()].strip()
    text = _SPACES.sub(" ", strip_trailing(text.strip())).strip(" ,")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    elif _SPACED_THOUSANDS.match(text):
        text = text.replace(" ", "")
    return Normalized(text, percent=percent_count > 0, degrees=degree_count > 0)
