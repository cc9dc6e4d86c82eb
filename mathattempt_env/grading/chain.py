"""The ends of an equation chain, for answers the parser cannot read whole.

A response often states its answer as a worked chain, ``\\sum_{k=1}^{9} k = 1 + 2 + \\dots =
45`` or ``n = \\binom{50}{3} = 19600``. An answer's value is read from the first and last members
only (see :func:`~mathattempt_env.grading.answer.read_value`), so a middle member the in-process
parser cannot read does not need sympy; and after an implication arrow only the conclusion
counts.

Examples:
    >>> chain_ends(r"n = {50\\choose3} = \\frac{50 \\cdot 49 \\cdot 48}{6} = 19600")
    ('n', '19600')
    >>> chain_ends(r"2^{10} = 1024 \\implies m + n = 937")
    ('m + n', '937')
    >>> chain_ends("x <= 5") is None
    True
"""

from __future__ import annotations

import re

#: Arrows after which only the conclusion is the answer.
_ARROW = re.compile(r"\\(?:implies|Longrightarrow|Rightarrow|therefore)(?![A-Za-z])")
#: Separators of a list of answers: a chain is not split across them.
_LIST = re.compile(r"[,;]|\\q?quad(?![A-Za-z])|\\text\{\s*(?:or|and)\b|\b(?:or|and)\b")
#: Characters that make ``=`` part of another relation (``<=``, ``!=``, ``:=``, ``==``).
_JOINED = frozenset("<>!:=")


def _top_level(text: str) -> str:
    """``text`` with everything inside a ``{...}`` group (braces too) blanked out."""
    depth, out = 0, []
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
            ch = " "
        out.append(ch if depth == 0 else " ")
    return "".join(out)


def chain_ends(text: str) -> tuple[str, str] | None:
    """The first and last members of the ``=`` chain that ends ``text``, or ``None``.

    ``None`` when ``text`` has no lone top-level ``=``, when the chain is a list of answers
    (a top-level ``,``, ``;``, ``\\quad``, "or", "and"), or when either end is empty.
    """
    flat = _top_level(text)
    arrows = list(_ARROW.finditer(flat))
    start = arrows[-1].end() if arrows else 0
    if _LIST.search(text, start):
        return None
    cuts = [
        i
        for i in range(start, len(flat))
        if flat[i] == "=" and flat[i - 1 : i] not in _JOINED and flat[i + 1 : i + 2] != "="
    ]
    if not cuts:
        return None
    first, last = text[start : cuts[0]].strip(), text[cuts[-1] + 1 :].strip()
    if not first or not last:
        return None
    return first, last
