r"""A second tool: an exact calculator that runs in-process, no sandbox needed.

The model writes arithmetic between ```` ```calculator ```` and ```` ``` ````, one expression
per line; the env shows each line's value (the ``"calculator"``
:class:`~mathattempt_env.prompts.tools.ToolFormat`, the qwen-tir shape). Arithmetic is exact
on integers and fractions (``1/3 + 1/6`` is ``1/2``); ``sqrt``, ``exp``, ``log``, ``sin``,
``cos``, ``tan``, ``pi`` and ``e`` give floats; ``gcd``, ``lcm``, ``factorial``, ``comb``,
``perm``, ``floor``, ``ceil``, ``abs``, ``min``, ``max`` and ``mod`` work on integers.

Nothing the model writes is executed: each line is parsed into a Python AST and only numbers,
these names, the four operations, ``//``, ``%``, ``**`` and parentheses are evaluated, with
bounds on what could grow without limit (a line of 1,000 characters, nesting 100 deep,
results of 10,000 bits, ``factorial`` and ``comb`` arguments up to 10,000). A line outside
them shows ``Error: ...``; nothing raises.

Examples:
    >>> tool = CalculatorTool()
    >>> call = tool.respond("```calculator\n1/3 + 1/6\n2**100 % 7\nsqrt(2)\n```", [])
    >>> print(call.info["output"])
    1/2
    2
    1.4142135623730951
    >>> tool.respond("```calculator\n9**9**9\n```", []).info["output"]
    'Error: the result would exceed 10000 bits'
"""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from mathattempt_env.envs.tool import FencedTool, ToolCall
from mathattempt_env.prompts.tools import ToolFormat

Number = Fraction | float
#: The longest line evaluated, in characters.
MAX_LINE = 1_000
#: The largest result, in bits (of a numerator or a denominator).
MAX_BITS = 10_000
#: The largest argument of ``factorial``, ``comb`` and ``perm``.
MAX_ARGUMENT = 10_000
#: The deepest nesting of operations evaluated.
MAX_DEPTH = 100


class _Refused(Exception):
    """A line the calculator will not evaluate (the message is shown to the model)."""


def _integer(value: Number, name: str) -> int:
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _Refused(f"{name} takes integers")


def _check(value: Number) -> Number:
    if isinstance(value, Fraction):
        if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
            raise _Refused(f"the result would exceed {MAX_BITS} bits")
    elif not math.isfinite(value):
        raise _Refused("the result is not finite")
    return value


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(exponent, Fraction) and exponent.denominator == 1 and isinstance(base, Fraction):
        size = max(base.numerator.bit_length(), base.denominator.bit_length(), 1)
        if abs(base) != 1 and size * abs(exponent.numerator) > MAX_BITS:
            raise _Refused(f"the result would exceed {MAX_BITS} bits")
        if base == 0 and exponent < 0:
            raise _Refused("division by zero")
        powered: Fraction = base**exponent.numerator
        return powered
    result: Any = float(base) ** float(exponent)
    if isinstance(result, complex):
        raise _Refused("the result is not real")
    return float(result)


def _bounded(name: str, function: Callable[..., int]) -> Callable[..., Number]:
    def apply(*values: Number) -> Number:
        args = [_integer(v, name) for v in values]
        if name in ("factorial", "comb", "perm") and any(abs(a) > MAX_ARGUMENT for a in args):
            raise _Refused(f"{name} takes arguments up to {MAX_ARGUMENT}")
        return Fraction(function(*args))

    return apply


def _real(function: Callable[[float], float]) -> Callable[[Number], Number]:
    def apply(value: Number) -> Number:
        if isinstance(value, Fraction) and function is math.sqrt and value >= 0:
            root = math.isqrt(value.numerator), math.isqrt(value.denominator)
            if root[0] ** 2 == value.numerator and root[1] ** 2 == value.denominator:
                return Fraction(*root)
        try:
            return function(float(value))
        except (ValueError, OverflowError) as error:
            raise _Refused(f"{function.__name__}: {error}") from None

    return apply


_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": _real(math.sqrt), "exp": _real(math.exp), "log": _real(math.log),
    "sin": _real(math.sin), "cos": _real(math.cos), "tan": _real(math.tan),
    "gcd": _bounded("gcd", math.gcd), "lcm": _bounded("lcm", math.lcm),
    "factorial": _bounded("factorial", math.factorial), "comb": _bounded("comb", math.comb),
    "perm": _bounded("perm", math.perm), "mod": _bounded("mod", operator.mod),
    "floor": lambda v: Fraction(math.floor(v)), "ceil": lambda v: Fraction(math.ceil(v)),
    "abs": abs, "min": min, "max": max,
}  # fmt: skip
_CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: _power,
}  # fmt: skip


def _value(node: ast.AST) -> Number:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return Fraction(int(node.value))
    if isinstance(node, ast.Constant) and type(node.value) is float:
        return float(node.value)
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _value(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod) and right == 0:
            raise _Refused("division by zero")
        result = _BINARY[type(node.op)](left, right)
        return _check(Fraction(result) if isinstance(result, int) else result)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and node.args
    ):
        return _check(_FUNCTIONS[node.func.id](*[_value(a) for a in node.args]))
    if isinstance(node, ast.Name):
        raise _Refused(f"unknown name {node.id!r}")
    if isinstance(node, ast.Call):
        called = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
        raise _Refused(f"cannot call {called!r} that way")
    raise _Refused(f"unsupported {type(node).__name__}")


def _depth(tree: ast.AST) -> int:
    """The tree's depth, found without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def evaluate(line: str) -> str:
    """One line's value as text, or ``"Error: ..."``; never raises.

    Examples:
        >>> evaluate("comb(10, 3) / 4"), evaluate("import os"), evaluate("1/0")
        ('30', 'Error: not an expression', 'Error: division by zero')
    """
    if len(line) > MAX_LINE:
        return f"Error: a line may have at most {MAX_LINE} characters"
    try:
        tree = ast.parse(line.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "Error: not an expression"
    if _depth(tree) > MAX_DEPTH:
        return f"Error: nested deeper than {MAX_DEPTH}"
    try:
        value = _value(tree.body)
    except _Refused as refused:
        return f"Error: {refused}"
    except (RecursionError, MemoryError, OverflowError, ValueError, TypeError, ZeroDivisionError):
        return "Error: cannot evaluate"
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else str(value)
    return repr(value)


class CalculatorTool(FencedTool):
    """The calculator, called through the ``"calculator"`` tool format.

    Args:
        fmt: the protocol (default ``"calculator"``).
        max_calls: overrides the format's call budget.
    """

    name = "calculator"

    def __init__(self, fmt: str | ToolFormat = "calculator", *, max_calls: int | None = None):
        super().__init__(fmt, max_calls)  # it has no infrastructure to fail

    def run(self, code: str, text: str, history: Sequence[ToolCall]) -> ToolCall:
        """Evaluate each line of ``code`` (at most 50)."""
        start = time.perf_counter()
        lines = [evaluate(line) for line in code.splitlines()[:50] if line.strip()]
        output = "\n".join(lines)
        failed = any(line.startswith("Error:") for line in lines)
        info = {
            "code": code, "status": "error" if failed else "ok", "output": output,
            "cut": False, "wall_s": time.perf_counter() - start, "failed": failed,
            "infrastructure_error": False,
        }  # fmt: skip
        return ToolCall(code, self.format.show(output, text), info, not failed)
