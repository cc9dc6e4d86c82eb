"""String-level clean-up of an answer before it is parsed.

Removes typesetting noise (``\\left``, ``\\!``, ``\\dfrac``, ``$``), units, and records the two
markers that change a value's meaning: percent and degrees.

Example:
    >>> normalize(r"$\\left( \\dfrac{1}{2} \\right)$").text
    '( \\\\frac{1}{2} )'
    >>> n = normalize(r"45^{\\circ}")
    >>> n.text, n.degrees
    ('45', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mathattempt_env.grading.extract import (
    MATH_DELIMITERS,
    boxed_answers,
    clean_text,
    strip_trailing,
)

_NOISE = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)(?![A-Za-z])"
    r"|\\(?:displaystyle|textstyle|limits|nolimits)(?![A-Za-z])"
    r"|(?<!\\)\\ |\\q?quad(?![A-Za-z])|~"
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
_PERCENT = re.compile(r"\\%|%|\\text\{\s*percent\s*\}|(?<!\s)\s+percent\b")
_DOLLAR = re.compile(r"\\\$|(?<![\\\w])\$(?=\s*\d)")
_WRAPPER = r"\\(?:text|textrm|mbox|mathrm|textnormal)"
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
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SPACES = re.compile(r"\s+")
_PHANTOM = re.compile(r"\\h?phantom\s*(?:\{[^{}]*\}|\\?.)")
_APPROX = re.compile(r"^\s*(?:\\approx|\\sim|\\simeq)\s*")
_UNICODE = str.maketrans(
    {
        "\u2212": "-", "\u2013": "-", "\u00d7": "\\times ", "\u22c5": "\\cdot ",
        "\u00b7": "\\cdot ", "\u00f7": "\\div ", "\u03c0": "\\pi ", "\u221e": "\\infty ",
        "\u2264": "\\le ", "\u2265": "\\ge ", "\u2260": "\\ne ", "\u221a": "\\sqrt ",
        "\u222a": "\\cup ", "\u2208": "\\in ", "\u00b1": "\\pm ", "\u2205": "\\emptyset ",
        "\u2026": "\\ldots ",
    }
)  # fmt: skip
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

    Example:
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


def normalize(answer: str) -> Normalized:
    """Clean an answer string for parsing.

    The rules, in order: delimiters and ``\\boxed`` are removed; ``\\left``/``\\right``, thin
    spaces and style commands are dropped; ``\\dfrac``/``\\tfrac`` become ``\\frac``; degree and
    percent marks are recorded and removed; currency signs and trailing units are dropped;
    ``or``/``and`` become list commas; ``1{,}000`` and a whole ``1,000`` lose their separators.

    Example:
        >>> normalize(r"\\$1{,}250 \\text{ dollars}").text
        '1250'
        >>> normalize(r"x = 1 \\text{ or } x = 2").text
        'x = 1,x = 2'
        >>> normalize("12.5%").percent
        True
    """
    text = strip_delimiters(clean_text(answer).translate(_UNICODE))
    text = _BARS.sub("|", text)
    text = _APPROX.sub("", _PHANTOM.sub("", text))
    text = _LEFT_DOT.sub("", text)
    text = _NOISE.sub(" ", _THIN.sub("", text))
    text = _FRAC_ALIAS.sub(r"\\frac", text)
    text = _BINOM_ALIAS.sub(r"\\binom", text)
    text = text.replace("{,}", "").replace("\\dots", "\\ldots").replace("\\cdots", "\\ldots")
    text, degree_count = _DEGREE.subn("", text)
    text, percent_count = _PERCENT.subn("", text)
    text = _DOLLAR.sub("", text)
    text = _CONNECTIVE.sub(",", text)
    previous = None
    for _ in range(MAX_UNIT_ROUNDS):
        if previous == text:
            break
        previous = text
        text = _UNIT_WRAPPED.sub("", text).strip()
        text = _UNIT_PLAIN.sub("", text).strip()
    text = _SPACES.sub(" ", strip_trailing(text.strip())).strip(" ,")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    return Normalized(text, percent=percent_count > 0, degrees=degree_count > 0)
