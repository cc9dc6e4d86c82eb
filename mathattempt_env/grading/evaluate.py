"""Evaluate parsed expressions: exactly where possible, else at 300-bit precision.

Exact evaluation uses :class:`fractions.Fraction`, so ``1/2004!`` and ``1/2006!`` stay distinct.
Numeric evaluation uses a private mpmath context per thread (mpmath's global context is
never touched). Every operation that could explode (huge powers, factorials, ``exp``) is
guarded and raises :class:`TooLargeError` instead.

Examples:
    >>> from mathattempt_env.grading.latex import parse
    >>> exact(parse(r"\\frac{6}{4} + 0.5"))
    Fraction(2, 1)
    >>> exact(parse(r"\\sqrt{2}")) is None
    True
"""

from __future__ import annotations

import math
import random
import threading
from fractions import Fraction
from typing import Any

import mpmath

from mathattempt_env.grading import deadline
from mathattempt_env.grading.latex import Node, TooLargeError, any_node, free_symbols

#: Working precision of numeric comparison, in bits.
PRECISION_BITS = 300
#: Exact results above this many bits are evaluated numerically instead. One rational
#: operation at this size takes a few milliseconds, so the deadline is checked often enough.
MAX_EXACT_BITS = 70_000
#: Largest factorial evaluated exactly, and numerically.
MAX_EXACT_FACTORIAL = 3_000
MAX_NUMERIC_FACTORIAL = 100_000
#: Numeric results whose binary exponent exceeds this are too large to compare.
MAX_MAGNITUDE_BITS = 1_000_000


class Undefined(ValueError):
    """The expression has no value at this point (division by zero, domain error)."""


_local = threading.local()


def context() -> Any:
    """Return this thread's private mpmath context.

    Examples:
        >>> context().prec
        300
    """
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = mpmath.MPContext()
        ctx.prec = PRECISION_BITS
        _local.ctx = ctx
    return ctx


def _bits(value: Fraction) -> int:
    return max(abs(value.numerator).bit_length(), value.denominator.bit_length())


def _int_root(value: int, n: int) -> int | None:
    if value < 0:
        return None
    if value < 2 or n > value.bit_length():  # only 0 and 1 have an n-th root this small
        return value if value < 2 else None
    root = round(value ** (1.0 / n)) if value.bit_length() < 1000 else _newton_root(value, n)
    for candidate in (root - 1, root, root + 1):
        # A candidate whose n-th power is far larger than value is never raised to it.
        too_big = (candidate.bit_length() - 1) * n > value.bit_length()
        if candidate >= 0 and not too_big and candidate**n == value:
            return candidate
    return None


def _newton_root(value: int, n: int) -> int:
    x = 1 << ((value.bit_length() + n - 1) // n)
    while True:
        y = ((n - 1) * x + value // x ** (n - 1)) // n
        if y >= x:
            return x
        x = y


def _exact_power(base: Fraction, exponent: Fraction) -> Fraction | None:
    if base == 0:
        if exponent < 0:
            raise Undefined("0 to a negative power")
        return Fraction(0) if exponent > 0 else Fraction(1)
    if base in (1, -1) and exponent.denominator == 1:
        return base ** int(exponent)
    if abs(exponent.numerator) * _bits(base) > MAX_EXACT_BITS * exponent.denominator:
        return None
    if exponent.denominator == 1:
        return base ** int(exponent)
    n = exponent.denominator
    if base < 0 and n % 2 == 0:
        return None
    sign = -1 if base < 0 else 1
    num = _int_root(abs(base.numerator), n)
    den = _int_root(base.denominator, n)
    if num is None or den is None:
        return None
    root = Fraction(sign * num, den)
    return root**exponent.numerator


def exact(node: Node) -> Fraction | None:
    """Return the exact rational value of ``node``, or ``None`` when it is not rational.

    Raises:
        Undefined: division by zero and similar.

    Examples:
        >>> from mathattempt_env.grading.latex import parse
        >>> exact(parse("2^{10} - 4!"))
        Fraction(1000, 1)
    """
    return _exact(node)


def _exact(node: Node) -> Fraction | None:
    deadline.check()
    tag = node[0]
    if tag == "n":
        value: Fraction = node[1]
        return value
    if tag == "base":
        digits, base = node[1], node[2]
        if len(digits) > 4000 and base & (base - 1):
            return None
        return Fraction(int(digits, base))
    if tag in ("+", "*"):
        parts = [_exact(child) for child in node[1]]
        if any(part is None for part in parts):
            return None
        total = Fraction(0 if tag == "+" else 1)
        for part in parts:
            assert part is not None
            total = total + part if tag == "+" else total * part
            if _bits(total) > MAX_EXACT_BITS:  # many large terms: evaluate numerically
                return None
        return total
    if tag == "^":
        base_value, exponent = _exact(node[1]), _exact(node[2])
        if base_value is None or exponent is None:
            return None
        return _exact_power(base_value, exponent)
    if tag == "f":
        return _exact_function(node[1], [_exact(arg) for arg in node[2]])
    return None


def _exact_function(name: str, args: list[Fraction | None]) -> Fraction | None:
    if any(arg is None for arg in args):
        return None
    values: list[Fraction] = [arg for arg in args if arg is not None]
    x = values[0]
    integral = all(v.denominator == 1 for v in values)
    if name == "fact":
        if not integral or x < 0:
            raise Undefined("factorial of a non-natural number")
        return Fraction(math.factorial(int(x))) if x <= MAX_EXACT_FACTORIAL else None
    if name == "binom" and integral:
        n, k = int(values[0]), int(values[1])
        if 0 <= k <= n and n <= 10 * MAX_EXACT_FACTORIAL:
            return Fraction(math.comb(n, k))
        return Fraction(0) if 0 <= n < k else None
    if name == "abs":
        return abs(x)
    if name == "floor":
        return Fraction(math.floor(x))
    if name == "ceil":
        return Fraction(math.ceil(x))
    if name == "sqrt":
        return _exact_power(x, Fraction(1, 2)) if x >= 0 else None
    if name == "root" and integral and values[1] > 0:
        return _exact_power(x, Fraction(1, int(values[1])))
    if name in ("max", "min"):
        return max(values) if name == "max" else min(values)
    if name in ("gcd", "lcm") and integral:
        if name == "lcm" and sum(_bits(v) for v in values) > MAX_EXACT_BITS:
            return None
        ints = [int(v) for v in values]
        return Fraction(math.gcd(*ints) if name == "gcd" else math.lcm(*ints))
    return None


def has_imaginary(node: Node) -> bool:
    """Whether ``node`` uses the imaginary unit ``i``."""
    return any_node(node, lambda n: n == ("c", "i"))


def has_float(node: Node) -> bool:
    """Whether ``node`` contains a decimal literal (which makes comparison tolerant).

    Examples:
        >>> from mathattempt_env.grading.latex import parse
        >>> has_float(parse("2x + 0.5")), has_float(parse("2x + 1/2"))
        (True, False)
    """
    return any_node(node, lambda n: n[0] == "n" and bool(n[2]))


def _check_magnitude(ctx: Any, value: Any) -> Any:
    if ctx.isfinite(value) and value != 0 and abs(ctx.mag(value)) > MAX_MAGNITUDE_BITS:
        raise TooLargeError("value too large to compare numerically")
    return value


def _check_absorbed(ctx: Any, terms: list[Any]) -> None:
    """A nonzero term too small to change the sum at this precision makes the value unsure.

    ``1 - 10^{-99999}`` rounds to ``1`` at any precision a comparison can afford; the caller
    then compares the expressions as written instead of calling them equal.
    """
    sizes = [ctx.mag(abs(term)) for term in terms if term != 0 and ctx.isfinite(term)]
    if len(sizes) > 1 and min(sizes) < max(sizes) - ctx.prec + 8:
        raise TooLargeError("a term is below the working precision of the sum")


def numeric(node: Node, env: dict[str, Any]) -> Any:
    """Evaluate ``node`` numerically with symbols bound by ``env``.

    Raises:
        Undefined: no value at this point.
        TooLargeError: a size guard tripped.

    Examples:
        >>> from mathattempt_env.grading.latex import parse
        >>> str(numeric(parse("x^2"), {"x": 3}))
        '9.0'
    """
    ctx = context()
    try:
        return _numeric(ctx, node, env)
    except (ZeroDivisionError, ValueError, OverflowError, TypeError) as error:
        if isinstance(error, TooLargeError):
            raise
        raise Undefined(str(error)) from error


def _numeric(ctx: Any, node: Node, env: dict[str, Any]) -> Any:
    deadline.check()
    tag = node[0]
    if tag == "n":
        value: Fraction = node[1]
        return ctx.mpf(value.numerator) / value.denominator
    if tag == "s":
        if node[1] not in env:
            raise Undefined(f"unbound symbol {node[1]}")
        return env[node[1]]
    if tag == "c":
        return {"pi": ctx.pi, "e": ctx.e, "i": ctx.mpc(0, 1), "oo": ctx.inf}[node[1]]
    if tag == "base":
        exact_value = _exact(node)
        if exact_value is None:
            raise TooLargeError("numeral too long")
        return ctx.mpf(exact_value.numerator)
    if tag == "+":
        terms = [_numeric(ctx, child, env) for child in node[1]]
        total = ctx.mpf(0)
        for term in terms:
            total += term
        _check_absorbed(ctx, terms)
        return _check_magnitude(ctx, total)
    if tag == "*":
        product = ctx.mpf(1)
        for child in node[1]:
            product *= _numeric(ctx, child, env)
        return _check_magnitude(ctx, product)
    if tag == "^":
        return _power(ctx, node, env)
    if tag == "f":
        return _check_magnitude(ctx, _function(ctx, node[1], node[2], env))
    raise Undefined(f"{tag!r} has no numeric value")


def _power(ctx: Any, node: Node, env: dict[str, Any]) -> Any:
    base = _numeric(ctx, node[1], env)
    exponent = _numeric(ctx, node[2], env)
    if base == 0 or base == 1:
        if base == 0 and ctx.re(exponent) < 0:
            raise Undefined("0 to a negative power")
        return base if base == 0 or ctx.isfinite(exponent) else ctx.nan
    if ctx.isinf(exponent) or ctx.isinf(base):
        return ctx.power(base, exponent)
    size = ctx.fabs(exponent) * max(abs(ctx.mag(base)), 1)
    if size > MAX_MAGNITUDE_BITS:
        raise TooLargeError("power too large")
    if ctx.im(base) == 0 and base < 0:
        rational = _exact(node[2]) if not free_symbols(node[2]) else None
        if rational is not None and rational.denominator % 2 == 1:
            magnitude = ctx.power(-base, ctx.mpf(rational.numerator) / rational.denominator)
            return magnitude if rational.numerator % 2 == 0 else -magnitude
    return ctx.power(base, exponent)


_SIMPLE = {
    "sin": "sin", "cos": "cos", "tan": "tan", "cot": "cot", "sec": "sec", "csc": "csc",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "ln": "ln", "exp": "exp", "lg": "log10",
}  # fmt: skip


def _function(ctx: Any, name: str, arg_nodes: tuple[Node | None, ...], env: dict[str, Any]) -> Any:
    args = [_numeric(ctx, arg, env) for arg in arg_nodes if arg is not None]
    x = args[0]
    guarded = name in ("sin", "cos", "tan", "cot", "sec", "csc", "exp", "sinh", "cosh", "tanh")
    if guarded and ctx.isfinite(x) and x != 0 and ctx.mag(x) > 20:
        raise TooLargeError(f"{name} argument too large")
    if name in _SIMPLE:
        return getattr(ctx, _SIMPLE[name])(x)
    if name == "log":
        return ctx.log(x) if len(args) == 1 else ctx.log(x, args[1])
    if name == "sqrt":
        return ctx.sqrt(x)
    if name == "root":
        n = args[1]
        if ctx.im(x) == 0 and x < 0 and n == int(n) and int(n) % 2 == 1:
            return -ctx.root(-x, int(n))
        return ctx.power(x, 1 / n)
    if name == "abs":
        return abs(x)
    if name == "fact":
        if ctx.im(x) != 0 or x < 0:
            raise Undefined("factorial of a negative or complex number")
        if x > MAX_NUMERIC_FACTORIAL:
            raise TooLargeError("factorial too large")
        return ctx.factorial(x)
    if name == "binom":
        return ctx.binomial(x, args[1])
    if name in ("floor", "ceil"):
        return getattr(ctx, name)(ctx.re(x))
    if name in ("max", "min"):
        reals = [ctx.re(a) for a in args]
        return max(reals) if name == "max" else min(reals)
    raise Undefined(f"no numeric rule for {name}")


def sample_point(index: int, names: tuple[str, ...]) -> dict[str, Any]:
    """Deterministic values for ``names`` at sample point ``index`` (0, 1, 2, ...).

    Points 0 and 1 are positive; point 2 is negative, so that ``|x|`` and ``x`` differ.
    The same names always get the same values; no global random state is used.

    Examples:
        >>> sample_point(0, ("x",)) == sample_point(0, ("x",))
        True
    """
    ctx = context()
    rng = random.Random(1_000_003 * (index + 1) + len(names))
    low, high = (0.3, 2.9) if index < 2 else (-2.9, -0.3)
    values = {}
    for name in names:
        value = rng.uniform(low, high)
        if abs(value) < 0.2:
            value += 0.5
        values[name] = ctx.mpf(value)
    return values
