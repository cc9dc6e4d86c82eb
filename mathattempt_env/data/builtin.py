r"""Built-in problems: a procedural generator, deterministic from ``(seed, index)``.

Thirteen families of school and competition-style problems, each at difficulty levels 1-5,
with gold answers written the way MATH writes them (``\frac{3}{4}``, ``(2, -1)``, ``-3, 5``,
``(-\infty, 2]``, ``1011_{2}``). Item ``i`` is drawn from its own generator seeded with
``(seed, i)``, so any item can be built alone, in any order, on any machine.

Examples:
    >>> problems = BuiltinProblems(seed=0)
    >>> p = problems[3]
    >>> p == BuiltinProblems(seed=0)[3], p.source, p.id
    (True, 'builtin', 'builtin-0-3')
    >>> len(problems)
    10000
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from typing import overload

import numpy as np

from mathattempt_env.errors import ConfigError
from mathattempt_env.types import Problem

Rng = np.random.Generator
Family = Callable[[Rng, int], tuple[str, str]]


def _int(rng: Rng, low: int, high: int, nonzero: bool = False) -> int:
    while True:
        value = int(rng.integers(low, high + 1))
        if value or not nonzero:
            return value


def tex(value: Fraction | int) -> str:
    r"""A rational number in MATH's LaTeX form.

    Examples:
        >>> tex(Fraction(-3, 4)), tex(Fraction(6, 3))
        ('-\\frac{3}{4}', '2')
    """
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return rf"{sign}\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def _term(coefficient: int, power: str, first: bool) -> str:
    if coefficient == 0:
        return ""
    sign = ("-" if coefficient < 0 else "") if first else (" - " if coefficient < 0 else " + ")
    magnitude = abs(coefficient)
    body = f"{'' if magnitude == 1 and power else magnitude}{power}"
    return sign + body


def polynomial(coefficients: Sequence[int], var: str = "x") -> str:
    """A polynomial in LaTeX from its coefficients, highest degree first.

    Examples:
        >>> polynomial([2, 0, -1, 5])
        '2x^3 - x + 5'
    """
    degree = len(coefficients) - 1
    parts: list[str] = []
    for k, c in enumerate(coefficients):
        power = degree - k
        name = "" if power == 0 else var if power == 1 else f"{var}^{power}"
        parts.append(_term(c, name, not "".join(parts)))
    return "".join(parts) or "0"


def _arithmetic(rng: Rng, level: int) -> tuple[str, str]:
    top = 10 * level
    a, b, c, d = (_int(rng, 2, top) for _ in range(4))
    forms = [
        (rf"{a} + {b} \times {c} - {d}", a + b * c - d),
        (rf"({a} - {b}) \times {c} + {d}", (a - b) * c + d),
        (rf"{a} \times {b} - {c} \times {d}", a * b - c * d),
    ]
    text, value = forms[int(rng.integers(len(forms)))]
    return f"Compute ${text}$.", str(value)


def _fractions(rng: Rng, level: int) -> tuple[str, str]:
    b, d = _int(rng, 2, 3 + 3 * level), _int(rng, 2, 3 + 3 * level)
    a, c = _int(rng, 1, 2 * b), _int(rng, 1, 2 * d)
    op, value = (
        ("+", Fraction(a, b) + Fraction(c, d))
        if rng.random() < 0.5
        else ("-", Fraction(a, b) - Fraction(c, d))
    )
    if level >= 4:
        op, value = r"\times", Fraction(a, b) * Fraction(c, d)
    question = (
        rf"Compute $\frac{{{a}}}{{{b}}} {op} \frac{{{c}}}{{{d}}}$. "
        "Express your answer as a common fraction in lowest terms."
    )
    return question, tex(value)


def _linear(rng: Rng, level: int) -> tuple[str, str]:
    top = 5 * level
    a, c = _int(rng, -top, top, nonzero=True), _int(rng, -top, top, nonzero=True)
    while c == a:
        c = _int(rng, -top, top, nonzero=True)
    b, d = _int(rng, -4 * top, 4 * top), _int(rng, -4 * top, 4 * top)
    x = Fraction(d - b, a - c)
    return f"Solve for $x$: ${polynomial([a, b])} = {polynomial([c, d])}$.", tex(x)


def _system(rng: Rng, level: int) -> tuple[str, str]:
    top = 3 * level
    x, y = _int(rng, -top, top), _int(rng, -top, top)
    while True:
        a1, b1, a2, b2 = (_int(rng, -top - 2, top + 2, nonzero=True) for _ in range(4))
        if a1 * b2 - a2 * b1:
            break
    e1 = polynomial([a1, 0], "x") + _term(b1, "y", False) + f" = {a1 * x + b1 * y}"
    e2 = polynomial([a2, 0], "x") + _term(b2, "y", False) + f" = {a2 * x + b2 * y}"
    return (
        f"Find the ordered pair $(x, y)$ that satisfies ${e1}$ and ${e2}$.",
        f"({x}, {y})",
    )


def _quadratic(rng: Rng, level: int) -> tuple[str, str]:
    top = 2 + 2 * level
    a = 1 if level <= 2 else _int(rng, 1, level)
    r1, r2 = Fraction(_int(rng, -top, top), a), Fraction(_int(rng, -top, top))
    coefficients = [a, int(-a * (r1 + r2)), int(a * r1 * r2)]
    roots = sorted({r1, r2})
    return (
        f"Find all solutions of ${polynomial(coefficients)} = 0$. "
        "Enter all the solutions, separated by commas.",
        ", ".join(tex(r) for r in roots),
    )


def _inequality(rng: Rng, level: int) -> tuple[str, str]:
    top = 3 * level
    a = _int(rng, -top, top, nonzero=True)
    b, c = _int(rng, -5 * top, 5 * top), _int(rng, -5 * top, 5 * top)
    strict = bool(rng.random() < 0.5)
    bound = tex(Fraction(c - b, a))
    below = a > 0  # ax + b < c  gives x below the bound when a > 0
    op = "<" if strict else r"\le"
    if below:
        answer = rf"(-\infty, {bound}{')' if strict else ']'}"
    else:
        answer = rf"{'(' if strict else '['}{bound}, \infty)"
    return (
        f"Solve the inequality ${polynomial([a, b])} {op} {c}$. "
        "Express your answer in interval notation.",
        answer,
    )


def _percent(rng: Rng, level: int) -> tuple[str, str]:
    whole = 20 * _int(rng, 1, 5 * level)
    part_percent = 5 * _int(rng, 1, 19)
    part = Fraction(part_percent * whole, 100)
    if rng.random() < 0.5:
        return f"What is ${part_percent}\\%$ of ${whole}$?", tex(part)
    return f"What percent of ${whole}$ is ${tex(part)}$?", f"{part_percent}\\%"


def _gcd_lcm(rng: Rng, level: int) -> tuple[str, str]:
    common = _int(rng, 2, 4 * level)
    a, b = common * _int(rng, 1, 6 * level), common * _int(rng, 1, 6 * level)
    if rng.random() < 0.5:
        return f"What is the greatest common divisor of ${a}$ and ${b}$?", str(math.gcd(a, b))
    return f"What is the least common multiple of ${a}$ and ${b}$?", str(math.lcm(a, b))


def _digits(n: int, base: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, base)
        out = "0123456789ABCDEF"[r] + out
        if n == 0:
            return out


def _base(rng: Rng, level: int) -> tuple[str, str]:
    base = int(rng.choice([2, 3, 4, 5, 6, 7, 8, 9]))
    n = _int(rng, base, 10 * 4**level)
    if rng.random() < 0.5:
        return f"Express ${n}$ in base ${base}$.", f"{_digits(n, base)}_{{{base}}}"
    return f"Express ${_digits(n, base)}_{{{base}}}$ as a base 10 integer.", str(n)


_WORDS = ("MATH", "LEVEL", "BANANA", "GAMMA", "ALGEBRA", "PEPPER", "RADAR", "SEQUENCE")


def _counting(rng: Rng, level: int) -> tuple[str, str]:
    if rng.random() < 0.5:
        n = _int(rng, 4, 6 + 3 * level)
        k = _int(rng, 2, n - 1)
        return (
            f"In how many ways can a committee of ${k}$ people be chosen from ${n}$ people?",
            str(math.comb(n, k)),
        )
    word = _WORDS[int(rng.integers(len(_WORDS)))]
    count = math.factorial(len(word))
    for letter in set(word):
        count //= math.factorial(word.count(letter))
    return f"How many distinct arrangements of the letters of the word {word} are there?", str(
        count
    )


def _evaluate(rng: Rng, level: int) -> tuple[str, str]:
    degree = 1 + min(level, 3)
    coefficients = [_int(rng, -5, 5, nonzero=True)] + [_int(rng, -6, 6) for _ in range(degree)]
    x = _int(rng, -3, 3 + level)
    value = sum(c * x ** (degree - k) for k, c in enumerate(coefficients))
    return f"Let $f(x) = {polynomial(coefficients)}$. What is $f({x})$?", str(value)


def _remainder(rng: Rng, level: int) -> tuple[str, str]:
    m = _int(rng, 3, 4 + 3 * level)
    if level >= 3:
        a, k = _int(rng, 2, 20), _int(rng, 5, 20 * level)
        return f"What is the remainder when ${a}^{{{k}}}$ is divided by ${m}$?", str(pow(a, k, m))
    a = _int(rng, 10, 10**level * 50)
    return f"What is the remainder when ${a}$ is divided by ${m}$?", str(a % m)


def _repeating(rng: Rng, level: int) -> tuple[str, str]:
    width = 1 + (level >= 3)
    digits = _int(rng, 1, 10**width - 2)
    block = str(digits).zfill(width)
    value = Fraction(digits, 10**width - 1)
    return rf"Express $0.\overline{{{block}}}$ as a common fraction in lowest terms.", tex(value)


#: The problem families, by subject name.
FAMILIES: dict[str, Family] = {
    "arithmetic": _arithmetic,
    "fractions": _fractions,
    "linear-equation": _linear,
    "linear-system": _system,
    "quadratic-roots": _quadratic,
    "inequality": _inequality,
    "percent": _percent,
    "gcd-lcm": _gcd_lcm,
    "base-conversion": _base,
    "counting": _counting,
    "polynomial-value": _evaluate,
    "remainder": _remainder,
    "repeating-decimal": _repeating,
}


class BuiltinProblems(Sequence[Problem]):
    """A deterministic, indexable set of generated problems.

    Args:
        seed: selects the set; item ``i`` depends only on ``(seed, i)``.
        size: the number of items.
        levels: the difficulty levels to draw from (1-5).
        families: the family names to draw from (default: all of :data:`FAMILIES`).

    Examples:
        >>> BuiltinProblems(seed=1, size=5, levels=(1,), families=["gcd-lcm"])[0].subject
        'gcd-lcm'
    """

    def __init__(
        self,
        seed: int = 0,
        size: int = 10_000,
        levels: Sequence[int] = (1, 2, 3, 4, 5),
        families: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"builtin seed: expected an int >= 0, got {seed!r}")
        if not isinstance(size, int) or size < 1:
            raise ConfigError(f"builtin size: expected an int >= 1, got {size!r}")
        if not levels or any(level not in (1, 2, 3, 4, 5) for level in levels):
            raise ConfigError(f"builtin levels: expected values in 1-5, got {levels!r}")
        names = list(FAMILIES) if families is None else list(families)
        unknown = [name for name in names if name not in FAMILIES]
        if unknown or not names:
            raise ConfigError(
                f"builtin families: unknown {unknown or names!r}; choose from {list(FAMILIES)}"
            )
        self.seed, self.size, self.levels, self.families = seed, size, tuple(levels), names

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> Problem: ...
    @overload
    def __getitem__(self, index: slice) -> list[Problem]: ...
    def __getitem__(self, index: int | slice) -> Problem | list[Problem]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        if not -self.size <= index < self.size:
            raise IndexError(f"builtin index {index} out of range for {self.size} problems")
        index %= self.size
        rng = np.random.default_rng([self.seed, index])
        family = self.families[int(rng.integers(len(self.families)))]
        level = self.levels[int(rng.integers(len(self.levels)))]
        question, answer = FAMILIES[family](rng, level)
        return Problem(
            id=f"builtin-{self.seed}-{index}",
            problem=question,
            answer=answer,
            source="builtin",
            level=level,
            subject=family,
        )

    def __iter__(self) -> Iterator[Problem]:
        return (self[i] for i in range(self.size))

    def __repr__(self) -> str:
        return f"BuiltinProblems(seed={self.seed}, size={self.size}, levels={self.levels})"
