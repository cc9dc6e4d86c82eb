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

Examples:
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
from mathattempt_env.grading.answer import as_union
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
from mathattempt_env.grading.values import (
    INF,
    NEG_INF,
    Choice,
    Dots,
    Equation,
    Expr,
    Interval,
    Matrix,
    SetOf,
    Text,
    TupleOf,
    Union,
    Value,
)

#: Relative tolerance used when either side contains a decimal literal (as in Qwen2.5-Math).
REL_TOL = 1e-4
#: Relative and absolute tolerance of the exact (no decimal literal) numeric comparison.
EXACT_REL_TOL = 1e-70
EXACT_ABS_TOL = 1e-70
#: Largest element count a set or matrix comparison will consider.
MAX_ELEMENTS = 20_000

_REASONS = {
    "set": "set", "tuple": "tuple", "union": "interval", "eq": "equation", "mat": "matrix",
    "text": "text", "choice": "choice", "dots": "exact", "prose": "unparseable",
}  # fmt: skip


class NeedsFallback(Exception):
    """One side could not be read by the in-process parser."""


def close(a: Any, b: Any, loose: bool) -> bool:
    """Whether two mpmath numbers are equal within the comparison tolerance.

    Examples:
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

    Examples:
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
    answer_symbols, gold_symbols = free_symbols(a), free_symbols(g)
    if not answer_symbols <= gold_symbols:
        # A variable the gold does not have: ``x0`` or ``a - a`` for ``0`` is not an answer,
        # even though it evaluates to the gold everywhere.
        return False, "symbolic"
    names = tuple(sorted(gold_symbols))
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
        if not close(va, vg, loose) or (not loose and va != vg and not _noise(a, g, env, va, vg)):
            return False, "symbolic"
    return valid > 0, "symbolic"


def _noise(a: Node, g: Node, env: dict[str, Any], va: Any, vg: Any) -> bool:
    """Whether a difference within the exact tolerance is rounding noise, not a real one.

    Noise shrinks when the precision doubles; a real difference (``10^{-20000}`` against
    ``0``) stays what it is.
    """
    ctx = context()
    diff = abs(va - vg)
    if not ctx.isfinite(diff):
        return False
    with ctx.workprec(2 * ctx.prec):
        again = abs(numeric(a, env) - numeric(g, env))
    return bool(again <= diff * ctx.ldexp(1, -(ctx.prec // 2)))


def _equations(a: Equation, g: Equation) -> bool:
    if (
        a.is_label
        and g.is_label
        and (a.lhs == g.lhs or not (a.names_a_symbol and g.names_a_symbol))
    ):
        # x = 3 vs x = 3; f(x) = 2x + 3 vs y = 2x + 3: the values must agree
        return _equal(a.rhs, g.rhs) or (a.lhs == g.lhs and _equal_sides(a, g))
    return _equal_sides(a, g)


def _equal_sides(a: Equation, g: Equation) -> bool:
    """Whether ``a`` is a non-zero multiple of ``g`` (``y = 2x + 1`` vs ``2x - y + 1 = 0``)."""
    sides = (a.lhs, a.rhs, g.lhs, g.rhs)
    nodes = [side.node for side in sides if isinstance(side, Expr)]
    if len(nodes) != 4:
        return False
    f: Node = ("+", (nodes[0], ("*", (("n", Fraction(-1), False), nodes[1]))))
    h: Node = ("+", (nodes[2], ("*", (("n", Fraction(-1), False), nodes[3]))))
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


Rows = tuple[tuple[Value, ...], ...]


def _as_rows(value: Value) -> Rows | None:
    if isinstance(value, Matrix):
        return tuple(tuple(Expr(cell) for cell in row) for row in value.rows)
    if isinstance(value, TupleOf):
        return (value.items,)
    return None


def _sequences(a: Value, g: Value) -> bool:
    ra, rg = _as_rows(a), _as_rows(g)
    if ra is None or rg is None:
        return False
    if type(a) is not type(g):
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


def _flat_vector(rows: Rows) -> Rows | None:
    if len(rows) == 1 or all(len(row) == 1 for row in rows):
        return (tuple(cell for row in rows for cell in row),)
    return None


def _endpoint(a: Node, g: Node) -> bool:
    if a == g:
        return True
    if a in (INF, NEG_INF) or g in (INF, NEG_INF):
        return False
    return scalars(a, g)[0]


def _same_interval(x: Interval, y: Interval) -> bool:
    return (
        (x.left_closed, x.right_closed) == (y.left_closed, y.right_closed)
        and _endpoint(x.lo, y.lo)
        and _endpoint(x.hi, y.hi)
    )


def _unions(a: Union, g: Union) -> bool:
    if len(a.intervals) != len(g.intervals):
        return False
    for y in g.intervals:
        deadline.check()
        if not any(_same_interval(x, y) for x in a.intervals):
            return False
    return all(any(_same_interval(x, y) for y in g.intervals) for x in a.intervals)


def _letter(value: Value) -> str | None:
    if isinstance(value, Choice):
        return value.letter
    if isinstance(value, Expr) and value.node[0] == "s" and len(value.node[1]) == 1:
        return str(value.node[1]).upper()
    return None


def _as_vector(value: Value) -> Value:
    """``[a, b]`` (one closed interval) as the vector ``(a, b)``; anything else as it is."""
    if isinstance(value, Union) and len(value.intervals) == 1:
        iv = value.intervals[0]
        if iv.left_closed and iv.right_closed:
            return TupleOf((Expr(iv.lo), Expr(iv.hi)))
    return value


def _equal(a: Value, g: Value) -> bool:
    if "raw" in (a.kind, g.kind):
        raise NeedsFallback
    if isinstance(g, Equation) and not isinstance(a, Equation) and g.is_label:
        return _equal(a, g.rhs)
    if isinstance(a, Equation) and not isinstance(g, Equation) and a.is_label:
        return _equal(a.rhs, g)
    if isinstance(a, Equation) and isinstance(g, Equation):
        return _equations(a, g)
    if isinstance(a, Choice) or isinstance(g, Choice):
        la, lg = _letter(a), _letter(g)
        return la is not None and la == lg
    if isinstance(a, Text) or isinstance(g, Text):
        return a == g
    if isinstance(a, SetOf) or isinstance(g, SetOf):
        a_items = a.items if isinstance(a, SetOf) else (a,)
        g_items = g.items if isinstance(g, SetOf) else (g,)
        return _sets(a_items, g_items)
    if isinstance(a, Matrix) or isinstance(g, Matrix):
        # A vector written [0.5, 1] is read by the parser as a closed interval.
        a, g = _as_vector(a), _as_vector(g)
    if isinstance(a, Union) or isinstance(g, Union):
        ua, ug = as_union(a), as_union(g)
        return ua is not None and ug is not None and _unions(ua, ug)
    if isinstance(a, (TupleOf, Matrix)) or isinstance(g, (TupleOf, Matrix)):
        return _sequences(a, g)
    if isinstance(a, Expr) and isinstance(g, Expr):
        return scalars(a.node, g.node)[0]
    return isinstance(a, Dots) and isinstance(g, Dots)


def equivalent(a: Value, g: Value) -> tuple[bool, str]:
    """Compare answer ``a`` to gold ``g``; returns ``(equal, reason)``.

    Raises:
        NeedsFallback: a side is unreadable here (:class:`~.values.Raw`).
        deadline.Expired: the current grade's deadline passed.
    """
    if a.kind == "prose" or g.kind == "prose":
        return False, "unparseable"
    if a.kind == "raw" or g.kind == "raw":
        raise NeedsFallback
    if a.kind == "big" or g.kind == "big":
        return a == g, "too-large"
    try:
        if isinstance(a, Expr) and isinstance(g, Expr):
            return scalars(a.node, g.node)
        reason = _REASONS.get(g.kind, "numeric")
        if isinstance(g, Expr):
            reason = "equation" if a.kind == "eq" else "set" if a.kind == "set" else "numeric"
        return _equal(a, g), reason
    except TooLargeError:
        return a == g, "too-large"


def _times(node: Node, factor: Node) -> Node:
    return ("*", (node, factor))


def scale(value: Value, factor: Node) -> Value:
    """Multiply every scalar in ``value`` by ``factor`` (percent and degree readings).

    Examples:
        >>> from mathattempt_env.grading.answer import read_value
        >>> from mathattempt_env.grading.latex import parse
        >>> equivalent(scale(read_value("10"), parse("1/100")), read_value("0.1"))
        (True, 'numeric')
    """
    if isinstance(value, Expr):
        return Expr(_times(value.node, factor))
    if isinstance(value, SetOf):
        return SetOf(tuple(scale(item, factor) for item in value.items), value.pm)
    if isinstance(value, TupleOf):
        return TupleOf(tuple(scale(item, factor) for item in value.items))
    if isinstance(value, Equation):
        return Equation(value.lhs, scale(value.rhs, factor))
    if isinstance(value, Matrix):
        return Matrix(tuple(tuple(_times(cell, factor) for cell in row) for row in value.rows))
    if isinstance(value, Union):
        return Union(
            tuple(
                Interval(
                    _times(iv.lo, factor), _times(iv.hi, factor), iv.left_closed, iv.right_closed
                )
                for iv in value.intervals
            )
        )
    return value
