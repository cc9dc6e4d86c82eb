r"""Turn an answer string into a typed value: the thing comparison dispatches on.

Values are tuples tagged by kind:

- ``("expr", node)``: one scalar expression
- ``("set", items)``: order-free; from ``\{...\}``, comma lists, ``\pm``, "x = 1 or x = 2"
- ``("tuple", items)``: ordered, from ``(a, b, ...)``, ``\langle ... \rangle``
- ``("union", intervals)``: intervals ``("iv", lo, hi, left_closed, right_closed)``, from
  interval notation or inequalities
- ``("eq", lhs, rhs)``, ``("mat", rows)``, ``("text", words)``, ``("choice", letter)``,
  ``("dots",)``
- ``("raw", text)``: this parser cannot read it (the grader falls back to sympy)
- ``("big", text)``: beyond the size guards (compared as normalized text)

Example:
    >>> read_value("x = 1, x = 2")[0]
    'set'
    >>> read_value(r"[1, 2)")[0]
    'union'
    >>> read_value(r"\text{Evelyn}")
    ('text', 'evelyn')
"""

from __future__ import annotations

import re
from typing import Any

from mathattempt_env.grading.cache import CACHE_BYTES, ByteLRU, text_size
from mathattempt_env.grading.latex import (
    FUNCTIONS,
    GREEK,
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

Value = tuple[Any, ...]

INF: Node = ("c", "oo")
NEG_INF: Node = neg(INF)

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
        return ("choice", (choice.group(1) or choice.group(2)).upper())
    if wrapped and _CHOICES.match(inner):
        letters = re.findall(r"[A-Z]", inner)
        return ("set", tuple(("choice", letter) for letter in letters))
    words = _WRAPPED_WORDS if wrapped else _WORDS
    if not words.match(inner) or not _LONG_WORD.search(inner):
        return None
    if not wrapped and all(word in _KNOWN for word in _LONG_WORD.findall(inner)):
        return None
    return ("text", " ".join(inner.lower().replace("-", " ").split()))


def expand_pm(node: Node) -> list[Node]:
    """All sign choices of the ``\\pm`` nodes in a scalar expression.

    Example:
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
        return ("set", tuple(("expr", n) for n in expand_pm(node)), "pm")
    return ("expr", node)


def _is_symbol(node: Node) -> bool:
    return bool(node[0] == "s")


def _is_variable(node: Node) -> bool:
    """Whether ``node`` is the variable side of an inequality: it contains a symbol."""
    return bool(free_symbols(node))


def _interval(node: Node, opener: str, closer: str) -> Value:
    lo, hi = node[3]
    return ("iv", lo, hi, opener == "[", closer == "]")


def _inequality(ops: tuple[str, ...], operands: tuple[Node, ...]) -> Value | None:
    """``a < x <= b`` and friends, with one symbol, as a union of intervals."""
    if len(ops) == 1 and ops[0] == "!=":
        lhs, rhs = operands
        point = rhs if _is_variable(lhs) else lhs
        return ("union", (("iv", NEG_INF, point, False, False), ("iv", point, INF, False, False)))
    if not all(op in ("<", "<=", ">", ">=") for op in ops):
        return None
    if all(op in (">", ">=") for op in ops):
        operands = operands[::-1]
        ops = tuple({">": "<", ">=": "<="}[op] for op in ops[::-1])
    if not all(op in ("<", "<=") for op in ops):
        return None
    if len(ops) == 2 and _is_variable(operands[1]):
        return ("union", (("iv", operands[0], operands[2], ops[0] == "<=", ops[1] == "<="),))
    if len(ops) == 1 and _is_variable(operands[0]) and not _is_variable(operands[1]):
        return ("union", (("iv", NEG_INF, operands[1], False, ops[0] == "<="),))
    if len(ops) == 1 and _is_variable(operands[1]) and not _is_variable(operands[0]):
        return ("union", (("iv", operands[0], INF, ops[0] == "<=", False),))
    return None


def _as_union(value: Value) -> Value | None:
    if value[0] == "union":
        return value
    if value[0] == "tuple" and len(value[1]) == 2 and all(v[0] == "expr" for v in value[1]):
        return ("union", (("iv", value[1][0][1], value[1][1][1], False, False),))
    if value[0] == "set" and all(item[0] == "expr" for item in value[1]):
        return ("union", tuple(("iv", item[1], item[1], True, True) for item in value[1]))
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
            return ("set", tuple(to_value(item) for item in items))
        if len(items) == 2 and (opener, closer) != ("(", ")"):
            if any(item[0] in ("list", "seq", "rel") for item in items):
                raise ParseError("interval with non-scalar ends")
            return ("union", (_interval(node, opener, closer),))
        return ("tuple", tuple(to_value(item) for item in items))
    if tag == "cup":
        parts = []
        for part in node[1]:
            union = _as_union(to_value(part))
            if union is None:
                raise ParseError("union of something that is not an interval")
            parts.extend(union[1])
        return ("union", tuple(parts))
    if tag == "rel":
        return _relation_value(node[1], node[2])
    if tag == "mat":
        return ("mat", node[1])
    if tag == "empty":
        return ("set", ())
    if tag == "reals":
        return ("union", (("iv", NEG_INF, INF, False, False),))
    if tag == "dots":
        return ("dots",)
    return _scalar(node)


def _relation_value(ops: tuple[str, ...], operands: tuple[Node, ...]) -> Value:
    if all(op == "=" for op in ops):
        # "x = 6/2 = 3": the first and last members carry the answer.
        return ("eq", to_value(operands[0]), to_value(operands[-1]))
    if ops == ("in",):
        return to_value(operands[1])
    interval = _inequality(ops, operands)
    if interval is None:
        raise ParseError(f"unsupported relation chain {ops}")
    return interval


def _list_value(items: list[Value]) -> Value:
    if items and all(item[0] == "eq" for item in items):
        lhs = {repr(item[1]) for item in items}
        if len(lhs) == 1 and items[0][1][0] == "expr" and _is_symbol(items[0][1][1]):
            return _flatten_set([item[2] for item in items])
        return ("set", tuple(items))
    if items and all(item[0] == "union" for item in items):
        return ("union", tuple(iv for item in items for iv in item[1]))
    return _flatten_set(items)


def _flatten_set(items: list[Value]) -> Value:
    flat: list[Value] = []
    for item in items:
        if item[0] == "set" and len(item) > 2:
            flat.extend(item[1])
        else:
            flat.append(item)
    return ("set", tuple(flat))


_values = ByteLRU(CACHE_BYTES)


def read_value(text: str) -> Value:
    """Read a normalized answer string into a typed value. Never raises.

    Example:
        >>> read_value("3, 1, 2")[0], len(read_value("3, 1, 2")[1])
        ('set', 3)
        >>> read_value(r"\frac{1}{")[0]
        'raw'
    """
    value: Value | None = _values.get(text)
    if value is None:
        value = _read(text)
        # A parsed value holds a few dozen bytes per character of its text.
        _values.put(text, value, size=text_size(text) + 48 * len(text))
    return value


def _read(text: str) -> Value:
    text_value = _text_value(text)
    if text_value is not None:
        return text_value
    try:
        return to_value(parse(text))
    except TooLargeError:
        return ("big", "".join(text.split()))
    except (ParseError, RecursionError, ValueError, ZeroDivisionError, IndexError):
        return ("raw", text)
