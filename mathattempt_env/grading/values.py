r"""Typed answer values: what an answer string means, and what comparison dispatches on.

Each kind of answer is a small frozen dataclass. Scalars hold a parse tree
(:data:`~mathattempt_env.grading.latex.Node`); containers hold other values.

Examples:
    >>> from mathattempt_env.grading.latex import parse
    >>> v = SetOf((Expr(parse("1")), Expr(parse("2"))))
    >>> v.kind, len(v.items)
    ('set', 2)
    >>> Choice("B").kind
    'choice'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mathattempt_env.grading.latex import MINUS_ONE, Node, children, neg

INF: Node = ("c", "oo")
NEG_INF: Node = neg(INF)


@dataclass(frozen=True, slots=True)
class Expr:
    """One scalar expression, e.g. ``2\\sqrt{3}`` or ``x^2 + 1``."""

    node: Node
    kind: ClassVar[str] = "expr"


@dataclass(frozen=True, slots=True)
class SetOf:
    """An order-free collection: ``\\{1, 2\\}``, ``1, 2``, ``x = 1 or x = 2``, ``1 \\pm 2``."""

    items: tuple[Value, ...]
    #: made by expanding ``\\pm``, so it flattens into an enclosing list
    pm: bool = False
    kind: ClassVar[str] = "set"


@dataclass(frozen=True, slots=True)
class TupleOf:
    """An ordered collection: ``(1, 2)``, ``\\langle 1, 2 \\rangle``."""

    items: tuple[Value, ...]
    kind: ClassVar[str] = "tuple"


@dataclass(frozen=True, slots=True)
class Interval:
    """One interval; an inequality ``x \\le 3`` is ``Interval(-oo, 3, False, True)``."""

    lo: Node
    hi: Node
    left_closed: bool
    right_closed: bool
    kind: ClassVar[str] = "interval"


@dataclass(frozen=True, slots=True)
class Union:
    """A union of intervals (one or more)."""

    intervals: tuple[Interval, ...]
    kind: ClassVar[str] = "union"


@dataclass(frozen=True, slots=True)
class Equation:
    """``lhs = rhs``; a chain ``x = 6/2 = 3`` keeps its first and last members."""

    lhs: Value
    rhs: Value
    kind: ClassVar[str] = "eq"

    @property
    def names_a_symbol(self) -> bool:
        """Whether the left side is a single symbol (``x = 3``), so the right side is the value."""
        return isinstance(self.lhs, Expr) and self.lhs.node[0] == "s"

    @property
    def is_label(self) -> bool:
        """Whether the left side only names the answer, so the right side is the value.

        Names are ``x``, ``f(x)``, ``(p, q)``, ``|AB|``, ``S_{ABC}:S``: no number, no sum.

        Examples:
            >>> from mathattempt_env.grading.answer import read_value
            >>> read_value("f(x) = 2x + 3").is_label, read_value("x^2 = 4").is_label
            (True, False)
        """
        if isinstance(self.lhs, Expr):
            return _names(self.lhs.node)
        if isinstance(self.lhs, TupleOf):
            return all(isinstance(i, Expr) and _names(i.node) for i in self.lhs.items)
        return False


def _names(node: Node) -> bool:
    """Whether a parse tree only names something: symbols, no sums, no numbers.

    ``x``, ``f(x)``, ``|AB|`` and ``S_{ABC}:S`` name things (the -1 of a quotient aside).
    """
    if node[0] == "n":
        return bool(node == MINUS_ONE)
    if node[0] in ("+", "pm"):
        return False
    return all(_names(child) for child in children(node))


@dataclass(frozen=True, slots=True)
class Matrix:
    """A matrix, rows of scalar parse trees."""

    rows: tuple[tuple[Node, ...], ...]
    kind: ClassVar[str] = "mat"


@dataclass(frozen=True, slots=True)
class Text:
    """Words, compared case- and space-insensitively (``\\text{Evelyn}``)."""

    words: str
    kind: ClassVar[str] = "text"


@dataclass(frozen=True, slots=True)
class Choice:
    """A multiple-choice letter, upper case."""

    letter: str
    kind: ClassVar[str] = "choice"


@dataclass(frozen=True, slots=True)
class Dots:
    """``\\ldots``: the rest of a sequence."""

    kind: ClassVar[str] = "dots"


@dataclass(frozen=True, slots=True)
class _Unread:
    """An answer kept as its text, for one of the reasons its subclasses name."""

    text: str


@dataclass(frozen=True, slots=True)
class Raw(_Unread):
    """Text this parser cannot read; the grader hands it to the sympy fallback."""

    kind: ClassVar[str] = "raw"


@dataclass(frozen=True, slots=True)
class Prose(_Unread):
    """Words mixed with math that are not an answer: never sent to sympy, never equal."""

    kind: ClassVar[str] = "prose"


@dataclass(frozen=True, slots=True)
class Big(_Unread):
    """Beyond the size guards: compared as written, blanks removed."""

    kind: ClassVar[str] = "big"


Value = (
    Expr | SetOf | TupleOf | Union | Equation | Matrix | Text | Choice | Dots | Raw | Prose | Big
)
