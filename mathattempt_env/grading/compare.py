r"""Compare two typed answer values, choosing the rule by their kind.

The rules:

- numbers: exact rational arithmetic; a relative tolerance of :data:`REL_TOL` only when either
  side contains a decimal literal and the other is a value that decimal can only approximate
  (``0.33333`` vs ``1/3``, ``3.1416`` vs ``\\pi``); two terminating decimals compare exactly;
- expressions: exact where rational, else 300-bit numeric evaluation, at three sample points
  when there are free symbols;
- sets: order-free, every element on each side must match one on the other;
- tuples and matrices: in order, same shape; a column/row vector equals a tuple;
- intervals: same endpoints and the same open/closed ends; inequalities are intervals;
- equations: ``x = 3`` equals ``3``; two equations are equal when one is a non-zero multiple of
  the other (``y = 2x + 1`` vs ``2x - y + 1 = 0``);
- text: case- and space-insensitive; choices: the same letter;
- base numerals: a gold ``1011_2`` takes ``1011`` (same digits) or ``13_8`` (same value, base
  written), never a bare ``11``; an answer ``40_9`` matches a gold ``40`` or ``36``.

Example:
    >>> from mathattempt_env.grading.answer import read_value as r
    >>> equivalent(r("3, 1, 2"), r(r"\{1,2,3\}"))
    (True, 'set')
    >>> equivalent(r(r"\frac{1}{2006!}"), r(r"\frac{1}{2004!}"))
    (False, 'numeric')
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from mathattempt_env.grading import deadline
from mathattempt_env.grading.answer import INF, NEG_INF, Value, _as_union
from mathattempt_env.grading.evaluate import (
    Undefined,
    context,
    exact,
    has_float,
    has_imaginary,
    numeric,
    sample_point,
)
from mathattempt_env.grading.latex import Node, TooLargeError, free_symbols

#: Relative tolerance used when either side contains a decimal literal (as in Qwen2.5-Math).
REL_TOL = 1e-4
#: Relative and absolute tolerance of the exact (no decimal literal) numeric comparison.
EXACT_REL_TOL = 1e-70
EXACT_ABS_TOL = 1e-70
#: Largest element count a set or matrix comparison will consider.
MAX_ELEMENTS = 20_000

_REASONS = {
    "set": "set", "tuple": "tuple", "union": "interval", "eq": "equation", "mat": "matrix",
    "text": "text", "choice": "choice", "dots": "exact",
}  # fmt: skip


class NeedsFallback(Exception):
    """One side could not be read by the in-process parser."""


def close(a: Any, b: Any, loose: bool) -> bool:
    """Whether two mpmath numbers are equal within the comparison tolerance.

    Example:
        >>> from mathattempt_env.grading.evaluate import context
        >>> ctx = context()
        >>> close(ctx.mpf(1) / 3, ctx.mpf("0.33333"), loose=True)
        True
        >>> close(ctx.mpf(1) / 3, ctx.mpf("0.33333"), loose=False)
        False
    """
    ctx = context()
    if ctx.isnan(a) or ctx.isnan(b):
        return False
    if ctx.isinf(a) or ctx.isinf(b):
        return bool(a == b)
    diff = abs(a - b)
    scale = max(abs(a), abs(b))
    if loose:
        return bool(diff <= REL_TOL * scale)
    return bool(diff <= EXACT_REL_TOL * scale or diff <= EXACT_ABS_TOL)


def _terminating(value: Fraction) -> bool:
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    return den == 1


def _rel_close(a: Fraction, b: Fraction) -> bool:
    """Tolerance is for a rounded decimal against a value it can only approximate.

    Two terminating decimals (``0.35625`` vs ``0.35626``) are compared exactly.
    """
    if _terminating(a) and _terminating(b):
        return False
    return abs(a - b) <= Fraction(REL_TOL) * max(abs(a), abs(b))


def _base_digits(node: Node, other: Node) -> bool | None:
    """``1011_2`` vs a plain integer compares digits; two numerals compare values."""
    if node[0] != "base" or other[0] != "n" or other[2] or other[1].denominator != 1:
        return None
    return bool(node[1].lstrip("0") or "0") and (node[1].lstrip("0") or "0") == str(other[1])


def scalars(a: Node, g: Node) -> tuple[bool, str]:
    r"""Compare two scalar expressions; returns ``(equal, "numeric" | "symbolic")``.

    Raises:
        TooLargeError: a size guard tripped (the caller compares structurally).

    Example:
        >>> from mathattempt_env.grading.latex import parse
        >>> scalars(parse(r"2\sqrt{3}"), parse(r"\sqrt{12}"))
        (True, 'symbolic')
    """
    # A plain answer to a base-b gold must have the gold's digits (``1011`` for ``1011_2``);
    # an answer that writes its base may also match by value (``40_9`` for ``36``).
    digits = _base_digits(g, a)
    if digits is not None:
        return digits, "numeric"
    digits = _base_digits(a, g)
    if digits:
        return True, "numeric"
    loose = has_float(a) or has_float(g)
    try:
        ea, eg = exact(a), exact(g)
    except Undefined:
        return False, "numeric"
    if ea is not None and eg is not None:
        return ea == eg or (loose and _rel_close(ea, eg)), "numeric"
    names = tuple(sorted(free_symbols(a) | free_symbols(g)))
    points = [sample_point(k, names) for k in range(3)] if names else [{}]
    # Outside an expression's real domain (sqrt of a negative sample) the point says nothing.
    real_only = bool(names) and not (has_imaginary(a) or has_imaginary(g))
    ctx = context()
    valid = 0
    for env in points:
        try:
            va, vg = numeric(a, env), numeric(g, env)
        except Undefined:
            continue
        if real_only and (ctx.im(va) != 0 or ctx.im(vg) != 0):
            continue
        valid += 1
        if not close(va, vg, loose):
            return False, "symbolic"
    return valid > 0, "symbolic"


def _symbol_lhs(value: Value) -> bool:
    return bool(value[0] == "eq" and value[1][0] == "expr" and value[1][1][0] == "s")


def _equations(a: Value, g: Value) -> bool:
    if _symbol_lhs(a) and _symbol_lhs(g) and a[1] == g[1]:
        return _equal(a[2], g[2])
    sides = (a[1], a[2], g[1], g[2])
    if not all(side[0] == "expr" for side in sides):
        return False
    f: Node = ("+", (sides[0][1], ("*", (("n", Fraction(-1), False), sides[1][1]))))
    h: Node = ("+", (sides[2][1], ("*", (("n", Fraction(-1), False), sides[3][1]))))
    names = tuple(sorted(free_symbols(f) | free_symbols(h)))
    ctx = context()
    ratio = None
    for k in range(3 if names else 1):
        env = sample_point(k, names)
        try:
            vf, vh = numeric(f, env), numeric(h, env)
        except Undefined:
            continue
        if close(vh, ctx.mpf(0), False):
            if not close(vf, ctx.mpf(0), False):
                return False
            continue
        current = vf / vh
        if ratio is None:
            if close(current, ctx.mpf(0), False):
                return False
            ratio = current
        elif not close(current, ratio, has_float(f) or has_float(h)):
            return False
    return True


def _sets(a_items: tuple[Value, ...], g_items: tuple[Value, ...]) -> bool:
    if len(a_items) * len(g_items) > MAX_ELEMENTS:
        raise TooLargeError("sets too large to compare")
    matched_a = [False] * len(a_items)
    for g in g_items:
        found = False
        for index, a in enumerate(a_items):
            deadline.check()
            if _equal(a, g):
                matched_a[index] = found = True
        if not found:
            return False
    return all(matched_a)


def _as_rows(value: Value) -> tuple[tuple[Value, ...], ...] | None:
    if value[0] == "mat":
        rows: tuple[tuple[Node, ...], ...] = value[1]
        return tuple(tuple(("expr", cell) for cell in row) for row in rows)
    if value[0] == "tuple":
        return (tuple(value[1]),)
    return None


def _sequences(a: Value, g: Value) -> bool:
    ra, rg = _as_rows(a), _as_rows(g)
    if ra is None or rg is None:
        return False
    if a[0] != g[0]:
        ra, rg = _flat_vector(ra), _flat_vector(rg)
        if ra is None or rg is None:
            return False
    if len(ra) != len(rg) or any(len(x) != len(y) for x, y in zip(ra, rg, strict=True)):
        return False
    if sum(len(row) for row in ra) > MAX_ELEMENTS:
        raise TooLargeError("matrix too large to compare")
    for row_a, row_g in zip(ra, rg, strict=True):
        for x, y in zip(row_a, row_g, strict=True):
            deadline.check()
            if not _equal(x, y):
                return False
    return True


def _flat_vector(rows: tuple[tuple[Value, ...], ...]) -> tuple[tuple[Value, ...], ...] | None:
    if len(rows) == 1 or all(len(row) == 1 for row in rows):
        return (tuple(cell for row in rows for cell in row),)
    return None


def _endpoint(a: Node, g: Node) -> bool:
    if a == g:
        return True
    if a in (INF, NEG_INF) or g in (INF, NEG_INF):
        return False
    return scalars(a, g)[0]


def _unions(a: tuple[Value, ...], g: tuple[Value, ...]) -> bool:
    def same(x: Value, y: Value) -> bool:
        return x[3:] == y[3:] and _endpoint(x[1], y[1]) and _endpoint(x[2], y[2])

    if len(a) != len(g):
        return False
    for y in g:
        deadline.check()
        if not any(same(x, y) for x in a):
            return False
    return all(any(same(x, y) for y in g) for x in a)


def _letter(value: Value) -> str | None:
    if value[0] == "choice":
        return str(value[1])
    if value[0] == "expr" and value[1][0] == "s" and len(value[1][1]) == 1:
        return str(value[1][1]).upper()
    return None


def _equal(a: Value, g: Value) -> bool:
    ka, kg = a[0], g[0]
    if "raw" in (ka, kg):
        raise NeedsFallback
    if kg == "eq" and ka != "eq" and _symbol_lhs(g):
        return _equal(a, g[2])
    if ka == "eq" and kg != "eq" and _symbol_lhs(a):
        return _equal(a[2], g)
    if ka == "eq" and kg == "eq":
        return _equations(a, g)
    if "choice" in (ka, kg):
        la, lg = _letter(a), _letter(g)
        return la is not None and la == lg
    if "text" in (ka, kg):
        return a == g
    if "set" in (ka, kg):
        a_items = a[1] if ka == "set" else (a,)
        g_items = g[1] if kg == "set" else (g,)
        return _sets(a_items, g_items)
    if "union" in (ka, kg):
        ua, ug = _as_union(a), _as_union(g)
        return ua is not None and ug is not None and _unions(ua[1], ug[1])
    if ka in ("tuple", "mat") or kg in ("tuple", "mat"):
        return _sequences(a, g)
    if ka == kg == "expr":
        return scalars(a[1], g[1])[0]
    return bool(ka == kg == "dots")


def equivalent(a: Value, g: Value) -> tuple[bool, str]:
    """Compare answer ``a`` to gold ``g``; returns ``(equal, reason)``.

    Raises:
        NeedsFallback: a side is unreadable here (``("raw", ...)``).
        deadline.Expired: the current grade's deadline passed.
    """
    if a[0] == "raw" or g[0] == "raw":
        raise NeedsFallback
    if a[0] == "big" or g[0] == "big":
        return a == g, "too-large"
    try:
        if a[0] == "expr" and g[0] == "expr":
            return scalars(a[1], g[1])
        reason = _REASONS.get(g[0], "numeric")
        if g[0] == "expr":
            reason = "equation" if a[0] == "eq" else "set" if a[0] == "set" else "numeric"
        return _equal(a, g), reason
    except TooLargeError:
        return a == g, "too-large"


def scale(value: Value, factor: Node) -> Value:
    """Multiply every scalar in ``value`` by ``factor`` (percent and degree readings).

    Example:
        >>> from mathattempt_env.grading.answer import read_value
        >>> from mathattempt_env.grading.latex import parse
        >>> equivalent(scale(read_value("10"), parse("1/100")), read_value("0.1"))
        (True, 'numeric')
    """
    kind = value[0]
    if kind == "expr":
        return ("expr", ("*", (value[1], factor)))
    if kind in ("set", "tuple"):
        return (kind, tuple(scale(item, factor) for item in value[1]), *value[2:])
    if kind == "eq":
        return ("eq", value[1], scale(value[2], factor))
    if kind == "mat":
        return ("mat", tuple(tuple(("*", (cell, factor)) for cell in row) for row in value[1]))
    if kind == "union":
        return (
            "union",
            tuple(
                ("iv", ("*", (lo, factor)), ("*", (hi, factor)), lc, rc)
                for _, lo, hi, lc, rc in value[1]
            ),
        )
    return value
