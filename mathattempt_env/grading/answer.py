r"""Turn a normalized answer string into a typed value (see :mod:`~.values`).

- one scalar is an :class:`~.values.Expr`; ``\pm`` gives a :class:`~.values.SetOf` of both signs
- ``\{...\}``, comma lists and "x = 1 or x = 2" are sets; ``(a, b, ...)`` and
  ``\langle ... \rangle`` are tuples
- interval notation and inequalities in one variable are a :class:`~.values.Union`
- ``\text{...}`` words are :class:`~.values.Text`; ``(B)`` is a :class:`~.values.Choice`
- what this parser cannot read is :class:`~.values.Raw` (the grader falls back to sympy), unless
  it is prose (:class:`~.values.Prose`), which never reaches sympy

Examples:
    >>> read_value("x = 1, x = 2").kind
    'set'
    >>> read_value(r"[1, 2)").kind
    'union'
    >>> read_value(r"\text{Evelyn}")
    Text(words='evelyn')
"""

from __future__ import annotations

import re
from fractions import Fraction

from mathattempt_env.grading.cache import CACHE_BYTES, ByteLRU, text_size
from mathattempt_env.grading.chain import chain_ends
from mathattempt_env.grading.latex import (
    FUNCTIONS,
    GREEK,
    MATRIX_ENVS,
    MULTI_ARG,
    Node,
    ParseError,
    TooLargeError,
    any_node,
    children,
    free_symbols,
    neg,
    parse,
)
from mathattempt_env.grading.values import (
    INF,
    NEG_INF,
    Big,
    Choice,
    Dots,
    Equation,
    Expr,
    Interval,
    Matrix,
    Prose,
    Raw,
    SetOf,
    Text,
    TupleOf,
    Union,
    Value,
)

_WRAPPED_TEXT = re.compile(
    r"^\\(?:text|textbf|textrm|mathrm|mbox|textit|mathbf)\{(.*)\}$", re.DOTALL
)
_CHOICE = re.compile(r"^\(\s*([A-Za-z])\s*\)$|^([A-Z])$")
_CHOICES = re.compile(r"^\(?[A-Z]\)?(?:\s*,\s*\(?[A-Z]\)?)+$")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z'\- ]*$")
_WRAPPED_WORDS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9'\-,.: ]*$")
_LONG_WORD = re.compile(r"[A-Za-z]{3,}")
_KNOWN = FUNCTIONS | MULTI_ARG | GREEK | {"pi", "sqrt", "infty", "frac"}


def _text_value(text: str) -> Value | None:
    wrapped = _WRAPPED_TEXT.match(text)
    inner = wrapped.group(1).strip() if wrapped else text
    choice = _CHOICE.match(inner)
    if choice and (wrapped or choice.group(1)):
        return Choice((choice.group(1) or choice.group(2)).upper())
    if wrapped and _CHOICES.match(inner):
        return SetOf(tuple(Choice(letter) for letter in re.findall(r"[A-Z]", inner)))
    words = _WRAPPED_WORDS if wrapped else _WORDS
    if not words.match(inner) or not _LONG_WORD.search(inner):
        return None
    if not wrapped and all(word in _KNOWN for word in _LONG_WORD.findall(inner)):
        return None
    return Text(" ".join(inner.lower().replace("-", " ").split()))


def expand_pm(node: Node) -> list[Node]:
    """All sign choices of the ``\\pm`` nodes in a scalar expression.

    Examples:
        >>> from mathattempt_env.grading.latex import parse
        >>> len(expand_pm(parse(r"1 \\pm \\sqrt{2}")))
        2
    """
    if node[0] == "pm":
        lefts, rights = expand_pm(node[1]), expand_pm(node[2])
        return [("+", (a, sign(b))) for a in lefts for b in rights for sign in (_pos, neg)]
    if node[0] in ("+", "*"):
        options: list[list[Node]] = [[]]
        for child in node[1]:
            options = [done + [choice] for done in options for choice in expand_pm(child)]
        return [(node[0], tuple(option)) for option in options]
    if node[0] == "^":
        return [("^", b, e) for b in expand_pm(node[1]) for e in expand_pm(node[2])]
    if node[0] == "f":
        combos: list[list[Node]] = [[]]
        for arg in node[2]:
            combos = [done + [choice] for done in combos for choice in expand_pm(arg)]
        return [("f", node[1], tuple(combo)) for combo in combos]
    return [node]


def _pos(node: Node) -> Node:
    return node


#: Most ``\\pm`` signs in one expression (each doubles the set of values).
MAX_PM = 8


def _count_pm(node: Node) -> int:
    return int(node[0] == "pm") + sum(_count_pm(child) for child in children(node))


def _scalar(node: Node) -> Value:
    if any_node(node, lambda n: n[0] == "pm"):
        if _count_pm(node) > MAX_PM:
            raise TooLargeError(f"more than {MAX_PM} plus-minus signs")
        return SetOf(tuple(Expr(n) for n in expand_pm(node)), pm=True)
    return Expr(node)


def _is_variable(node: Node) -> bool:
    """Whether ``node`` is the variable side of an inequality: it contains a symbol."""
    return bool(free_symbols(node))


def _negated(node: Node) -> Node | None:
    """``x`` for ``-x`` (so ``-x > -1`` reads as ``x < 1``), else ``None``."""
    if node[0] == "*" and len(node[1]) == 2 and node[1][0] == ("n", -1, False):
        inner: Node = node[1][1]
        return inner
    return None


def _inequality(ops: tuple[str, ...], operands: tuple[Node, ...]) -> Value | None:
    """``a < x <= b`` and friends, with one symbol, as a union of intervals."""
    if len(ops) == 1 and ops[0] == "!=":
        lhs, rhs = operands
        point = rhs if _is_variable(lhs) else lhs
        return Union((Interval(NEG_INF, point, False, False), Interval(point, INF, False, False)))
    if not all(op in ("<", "<=", ">", ">=") for op in ops):
        return None
    if all(op in (">", ">=") for op in ops):
        operands = operands[::-1]
        ops = tuple({">": "<", ">=": "<="}[op] for op in ops[::-1])
    if not all(op in ("<", "<=") for op in ops):
        return None
    if len(ops) == 1:
        # a < -x is x < -a, and -x < b is -b < x: the variable then stands alone.
        lhs, rhs = operands
        inner = _negated(rhs)
        if inner is not None and _is_variable(inner) and not _is_variable(lhs):
            return _inequality(ops, (inner, neg(lhs)))
        inner = _negated(lhs)
        if inner is not None and _is_variable(inner) and not _is_variable(rhs):
            return _inequality(ops, (neg(rhs), inner))
    if len(ops) == 2 and _is_variable(operands[1]):
        return Union((Interval(operands[0], operands[2], ops[0] == "<=", ops[1] == "<="),))
    if len(ops) == 1 and _is_variable(operands[0]) and not _is_variable(operands[1]):
        return Union((Interval(NEG_INF, operands[1], False, ops[0] == "<="),))
    if len(ops) == 1 and _is_variable(operands[1]) and not _is_variable(operands[0]):
        return Union((Interval(operands[0], INF, ops[0] == "<=", False),))
    return None


def as_union(value: Value) -> Union | None:
    """Read ``value`` as a union of intervals where that makes sense, else ``None``.

    An open pair ``(a, b)`` is an open interval; a set of numbers is a union of points.

    Examples:
        >>> as_union(read_value("(1, 2)")).intervals[0].left_closed
        False
    """
    if isinstance(value, Union):
        return value
    if isinstance(value, TupleOf) and len(value.items) == 2:
        lo, hi = value.items
        if isinstance(lo, Expr) and isinstance(hi, Expr):
            return Union((Interval(lo.node, hi.node, False, False),))
    if isinstance(value, SetOf) and all(isinstance(item, Expr) for item in value.items):
        points = [item.node for item in value.items if isinstance(item, Expr)]
        return Union(tuple(Interval(p, p, True, True) for p in points))
    return None


def to_value(node: Node) -> Value:
    """Convert a parse tree into a typed value (see the module docstring).

    Raises:
        ParseError: the tree has no sensible value (e.g. ``x < y < z``).
    """
    tag = node[0]
    if tag == "list":
        return _list_value([to_value(item) for item in node[1]])
    if tag == "seq":
        opener, closer, items = node[1], node[2], node[3]
        if opener == "{":
            return SetOf(tuple(to_value(item) for item in items))
        if len(items) == 2 and (opener, closer) != ("(", ")"):
            if any(item[0] in ("list", "seq", "rel") for item in items):
                raise ParseError("interval with non-scalar ends")
            return Union((Interval(items[0], items[1], opener == "[", closer == "]"),))
        return TupleOf(tuple(to_value(item) for item in items))
    if tag == "cup":
        parts: list[Interval] = []
        for part in node[1]:
            union = as_union(to_value(part))
            if union is None:
                raise ParseError("union of something that is not an interval")
            parts.extend(union.intervals)
        return Union(tuple(parts))
    if tag == "rel":
        return _relation_value(node[1], node[2])
    if tag == "mat":
        return Matrix(node[1])
    if tag == "empty":
        return SetOf(())
    if tag == "reals":
        return Union((Interval(NEG_INF, INF, False, False),))
    if tag == "dots":
        return Dots()
    return _scalar(node)


def _relation_value(ops: tuple[str, ...], operands: tuple[Node, ...]) -> Value:
    if all(op == "=" for op in ops):
        if not free_symbols(operands[0]) and not free_symbols(operands[-1]):
            return to_value(operands[-1])  # a computation, "35 + 70 = 105": its result
        # "x = 6/2 = 3": the first and last members carry the answer.
        return Equation(to_value(operands[0]), to_value(operands[-1]))
    if ops == ("in",):
        return to_value(operands[1])
    interval = _inequality(ops, operands)
    if interval is None:
        raise ParseError(f"unsupported relation chain {ops}")
    return interval


def _list_value(items: list[Value]) -> Value:
    if items and all(isinstance(item, Equation) for item in items):
        equations = [item for item in items if isinstance(item, Equation)]
        if len({repr(e.lhs) for e in equations}) == 1 and equations[0].names_a_symbol:
            return _flatten_set([e.rhs for e in equations])
        return _solutions(equations) or SetOf(tuple(items))
    first = items[0] if items else None
    rest_plain = not any(isinstance(item, Equation) for item in items[1:])
    if isinstance(first, Equation) and first.is_label and rest_plain:
        # "(x, y) = (5, 8) and (8, 5)": the label names every item
        return _flatten_set([first.rhs, *items[1:]])
    if items and all(isinstance(item, Union) for item in items):
        return Union(
            tuple(iv for item in items if isinstance(item, Union) for iv in item.intervals)
        )
    return _flatten_set(items)


def _solutions(equations: list[Equation]) -> SetOf | None:
    """``p = 5, q = 2; p = 7, q = 2`` (labels that repeat) is the set ``{(5, 2), (7, 2)}``."""
    labels = [repr(e.lhs) for e in equations]
    period = len(dict.fromkeys(labels))
    if not 1 < period < len(labels) or len(labels) % period:
        return None
    if any(labels[i] != labels[i % period] for i in range(len(labels))):
        return None
    rows = [equations[i : i + period] for i in range(0, len(equations), period)]
    return SetOf(tuple(TupleOf(tuple(e.rhs for e in row)) for row in rows))


def _flatten_set(items: list[Value]) -> SetOf:
    flat: list[Value] = []
    for item in items:
        if isinstance(item, SetOf) and item.pm:
            flat.extend(item.items)
        else:
            flat.append(item)
    return SetOf(tuple(flat))


_values = ByteLRU(CACHE_BYTES)


def read_value(text: str) -> Value:
    """Read a normalized answer string into a typed value. Never raises.

    Examples:
        >>> read_value("3, 1, 2").kind, len(read_value("3, 1, 2").items)
        ('set', 3)
        >>> read_value(r"\\frac{1}{").kind
        'raw'
        >>> read_value("一共有 13 只").kind
        'prose'
    """
    value: Value | None = _values.get(text)
    if value is None:
        value = _read(text)
        # A parsed value holds a few dozen bytes per character of its text.
        _values.put(text, value, size=text_size(text) + 48 * len(text))
    return value


_PLAIN_NUMBER = re.compile(r"-?\d{1,60}(?:\.\d{1,60})?")


#: A numeral with letter digits: ``\\text{A5}_{11}`` (MATH's own form), or bare with a digit
#: and a capital letter, ``A5_{11}`` (a bare ``AB_{12}`` stays a subscripted product).
_WORD_NUMERAL = re.compile(
    r"(?:\\(?:text|mathrm)\{([0-9A-Za-z]{1,64})\}|((?=[0-9A-Z]*[0-9])(?=[0-9A-Z]*[A-Z])[0-9A-Z]{2,64}))"
    r"_\{?\s*(\d{1,2})\s*\}?"
)


def _valid_numeral(digits: str, base: int) -> bool:
    return 2 <= base <= 36 and all(int(d, 36) < base for d in digits)


def _read(text: str) -> Value:
    if _PLAIN_NUMBER.fullmatch(text):  # the common case, without the parser
        number: Node = ("n", Fraction(text.lstrip("-")), "." in text)
        return Expr(neg(number) if text.startswith("-") else number)
    numeral = _WORD_NUMERAL.fullmatch(text)
    if numeral is not None:
        digits, base = (numeral.group(1) or numeral.group(2)).upper(), int(numeral.group(3))
        if _valid_numeral(digits, base):
            return Expr(("base", digits, base))
    text_value = _text_value(text)
    if text_value is not None:
        return text_value
    try:
        return to_value(parse(text))
    except TooLargeError:
        return Big("".join(text.split()))
    except (ParseError, RecursionError, ValueError, ZeroDivisionError, IndexError):
        pass
    ends = chain_ends(text)
    value = _chain_value(*ends) if ends is not None else None
    if value is not None:
        return value
    return Prose(text) if is_prose(text) else Raw(text)


def _chain_value(first: str, last: str) -> Value | None:
    """The value of a chain the parser cannot read whole, from its first and last members.

    The rule of :func:`_relation_value`; a first member the parser cannot read either (a sum,
    a binomial written another way) is a computation, so the last member is its result.
    """
    try:
        end = parse(last)
    except (ParseError, RecursionError, ValueError, ZeroDivisionError, IndexError):
        return None
    try:
        start = parse(first)
    except (ParseError, RecursionError, ValueError, ZeroDivisionError, IndexError):
        return to_value(end)
    return _relation_value(("=",), (start, end))


# A run of three or more letters that is not a LaTeX command and not a function name.
_PLAIN_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
_MATH_WORDS = _KNOWN | MATRIX_ENVS | {
    "mod", "pmod", "bmod", "det", "lim", "arg", "deg", "dim", "ker", "sgn", "and", "or",
    "array", "cases", "aligned", "begin", "end",
}  # fmt: skip


def is_prose(text: str) -> bool:
    """Whether text the parser rejected is words rather than math, so sympy would not help.

    Cheap: one scan for a plain word of three or more letters that is not a function name,
    or a letter outside the Latin and Greek scripts.

    Examples:
        >>> is_prose("the value of x"), is_prose(r"\\frac{1}{2} \\mathcal{F}")
        (True, False)
        >>> is_prose("13只鸟")
        True
    """
    return bool(plain_words(text, 3)) or foreign_letters(text)


def plain_words(text: str, shortest: int) -> list[str]:
    """Plain words of at least ``shortest`` letters that are not LaTeX commands or math names.

    Examples:
        >>> plain_words(r"It is \\sqrt{2} or sin x", 2)
        ['It', 'is']
    """
    return [
        word
        for word in _PLAIN_WORD.findall(text)
        if len(word) >= shortest and word.lower() not in _MATH_WORDS
    ]


def foreign_letters(text: str) -> bool:
    """Whether ``text`` has a letter outside the Latin and Greek scripts (``13只``).

    Examples:
        >>> foreign_letters("x = 13"), foreign_letters("13只")
        (False, True)
    """
    if text.isascii():
        return False
    return any(ch.isalpha() and ord(ch) > 0x24F and not 0x370 <= ord(ch) <= 0x3FF for ch in text)
