"""A small, bounded LaTeX/plain-text math parser.

It reads the answers that math benchmarks use (numbers, fractions, radicals, powers,
functions, sets, tuples, intervals, matrices, equations and inequalities) into plain tuples.
Parsing is linear in the input; nesting depth and size are capped before any recursion, so this
runs safely in the calling process. Anything it cannot read raises :class:`ParseError`, and the
grader then falls back to latex2sympy2 in an isolated worker.

Nodes are tuples, tagged by their first item:

- ``("n", Fraction, is_float)``: a number literal; ``("base", digits, base)``: ``1011_2``
- ``("s", name)``: a symbol; ``("c", name)``: ``pi``, ``e``, ``i``, ``oo``
- ``("+", terms)``, ``("*", factors)``, ``("^", base, exponent)``
- ``("f", name, args)``: functions, including ``sqrt``, ``root``, ``fact``, ``abs``, ``binom``
- ``("pm", a, b)``: ``a \\pm b``
- ``("seq", open, close, items)``, ``("mat", rows)``, ``("rel", ops, operands)``,
  ``("list", items)``, ``("cup", parts)``, ``("dots",)``, ``("empty",)``, ``("reals",)``

Examples:
    >>> parse(r"\\frac{1}{2}")[0]
    '*'
    >>> parse("2^{10}")
    ('^', ('n', Fraction(2, 1), False), ('n', Fraction(10, 1), False))
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from mathattempt_env.grading import deadline

Node = tuple[Any, ...]

#: Inputs longer than this are not parsed (the grader compares them as strings).
MAX_PARSE_CHARS = 100_000
#: Deepest bracket nesting the parser accepts.
MAX_DEPTH = 60
#: Longest digit run read as an exact number; longer ones are compared as written.
MAX_DIGITS = 20_000
#: Largest power of ten written out exactly for ``1.5e{n}``; larger ones stay a power node.
MAX_SCI_EXPONENT = 4_000
#: Deepest chain of commands without brackets (``\\frac\\frac\\frac...``) the parser follows.
MAX_CHAIN = 200


class ParseError(ValueError):
    """The text is not in the subset this parser reads."""


class TooLargeError(ValueError):
    """The input is beyond the size guards."""


ONE: Node = ("n", Fraction(1), False)
MINUS_ONE: Node = ("n", Fraction(-1), False)

GREEK = frozenset(
    (
        "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa "
        "lambda mu nu xi omicron rho sigma tau upsilon phi varphi chi psi omega Gamma "
        "Delta Theta Lambda Xi Sigma Upsilon Phi Psi Omega"
    ).split()
)
FUNCTIONS = frozenset(
    "sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh ln log lg exp".split()
)
MULTI_ARG = frozenset(["max", "min", "gcd", "lcm"])
PLAIN_FUNCTIONS = ("sqrt", "arcsin", "arccos", "arctan", "sin", "cos", "tan", "log", "ln", "exp")
RELATIONS = {
    "=": "=", "<": "<", ">": ">", "\\le": "<=", "\\leq": "<=", "\\leqslant": "<=",
    "\\ge": ">=", "\\geq": ">=", "\\geqslant": ">=", "\\lt": "<", "\\gt": ">",
    "\\ne": "!=", "\\neq": "!=", "\\approx": "=", "\\in": "in", "<=": "<=", ">=": ">=",
    "\\equiv": "=",
}  # fmt: skip
MATRIX_ENVS = frozenset("pmatrix bmatrix matrix Bmatrix vmatrix Vmatrix smallmatrix array".split())
_OPEN = {"(": ")", "[": "]"}
_SPACE = " \t\n"


def big_int(digits: str) -> int:
    """Convert a decimal digit string of any length to ``int``.

    Python refuses ``int()`` on strings over 4,300 digits; this converts in chunks, without
    touching the interpreter-wide limit.

    Examples:
        >>> big_int("1" * 5000) % 1000
        111
    """
    if len(digits) <= 4000:
        return int(digits)
    half = len(digits) // 2
    low = digits[half:]
    high: int = big_int(digits[:half])
    scale: int = 10 ** len(low)
    return high * scale + big_int(low)


def check_depth(text: str) -> None:
    """Raise :class:`TooLargeError` if ``text`` nests brackets deeper than :data:`MAX_DEPTH`.

    Examples:
        >>> check_depth("{" * 100)
        Traceback (most recent call last):
        ...
        mathattempt_env.grading.latex.TooLargeError: nesting deeper than 60
    """
    depth = 0
    for ch in text:
        if ch in "{([":
            depth += 1
            if depth > MAX_DEPTH:
                raise TooLargeError(f"nesting deeper than {MAX_DEPTH}")
        elif ch in "})]" and depth:
            depth -= 1


def children(node: Node) -> tuple[Node, ...]:
    """The sub-expressions of a scalar node (empty for leaves and for non-scalar nodes)."""
    tag = node[0]
    if tag in ("+", "*"):
        return tuple(node[1])
    if tag in ("^", "pm"):
        return (node[1], node[2])
    if tag == "f":
        return tuple(node[2])
    return ()


def any_node(node: Node, predicate: Callable[[Node], bool]) -> bool:
    """Whether ``predicate`` holds for ``node`` or any sub-expression of it.

    Examples:
        >>> any_node(parse(r"1 + \\sqrt{x}"), lambda n: n[0] == "s")
        True
    """
    return predicate(node) or any(any_node(child, predicate) for child in children(node))


def free_symbols(node: Node) -> frozenset[str]:
    """Names of the free symbols in ``node``.

    Examples:
        >>> sorted(free_symbols(parse(r"x^2 + y_1 + \\pi")))
        ['x', 'y_1']
    """
    if node[0] == "s":
        return frozenset((node[1],))
    return frozenset().union(*(free_symbols(child) for child in children(node)))


def neg(node: Node) -> Node:
    """Return ``-node``."""
    if node[0] == "n":
        return ("n", -node[1], node[2])
    return ("*", (MINUS_ONE, node))


def div(a: Node, b: Node) -> Node:
    """Return ``a / b``."""
    return ("*", (a, ("^", b, MINUS_ONE)))


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.abs_depth = 0
        self.chain = 0

    # -- low-level helpers -------------------------------------------------------------------
    def peek(self) -> str:
        self.skip()
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in _SPACE:
            self.i += 1

    def at(self, token: str) -> bool:
        self.skip()
        if not self.s.startswith(token, self.i):
            return False
        end = self.i + len(token)
        return not (token[-1].isalpha() and end < len(self.s) and self.s[end].isalpha())

    def eat(self, token: str) -> bool:
        if self.at(token):
            self.i += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.eat(token):
            raise ParseError(f"expected {token!r} at {self.i}")

    def command(self) -> str:
        """Read ``\\name`` (or ``\\{``-style) at the cursor without consuming it."""
        self.skip()
        if self.i >= len(self.s) or self.s[self.i] != "\\":
            return ""
        j = self.i + 1
        while j < len(self.s) and self.s[j].isalpha():
            j += 1
        if j == self.i + 1 and j < len(self.s):
            j += 1
        return self.s[self.i : j]

    def braced_text(self) -> str:
        self.expect("{")
        start, depth = self.i, 1
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\":
                self.i += 2
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return self.s[start : self.i - 1]
            self.i += 1
        raise ParseError("unbalanced braces")

    # -- grammar -----------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.items(top=True)
        if self.peek():
            raise ParseError(f"unexpected {self.s[self.i : self.i + 10]!r} at {self.i}")
        return node

    def items(self, top: bool = False) -> Node:
        parts = [self.relation()]
        while self.eat(",") or (top and self.eat(";")):
            if top and self.peek() == "":
                break
            parts.append(self.relation())
        return parts[0] if len(parts) == 1 else ("list", tuple(parts))

    def relation(self) -> Node:
        if self.at("\\ldots"):
            self.i += len("\\ldots")
            return ("dots",)
        operands = [self.ratio()]
        ops: list[str] = []
        while True:
            op = self.relation_op()
            if op is None:
                break
            ops.append(op)
            operands.append(self.ratio())
        return ("rel", tuple(ops), tuple(operands)) if ops else operands[0]

    def relation_op(self) -> str | None:
        for token in ("<=", ">=", "=", "<", ">"):
            if self.eat(token):
                return RELATIONS[token]
        name = self.command()
        if name in RELATIONS:
            self.i += len(name)
            return RELATIONS[name]
        return None

    def ratio(self) -> Node:
        """``3:5`` is the ratio 3/5 (a two-part ratio only; ``4:51:06`` is not read)."""
        node = self.union()
        if self.peek() == ":":
            self.i += 1
            node = div(node, self.union())
            if self.peek() == ":":
                raise ParseError("more than two parts in a ratio")
        return node

    def union(self) -> Node:
        parts = [self.sum()]
        while self.command() == "\\cup":
            self.i += len("\\cup")
            parts.append(self.sum())
        return parts[0] if len(parts) == 1 else ("cup", tuple(parts))

    def sum(self) -> Node:
        sign = self.sign()
        node = self.term()
        if sign == "-":
            node = neg(node)
        elif sign == "pm":
            node = ("pm", ("n", Fraction(0), False), node)
        terms = [node]
        while True:
            sign = self.sign()
            if sign is None:
                break
            term = self.term()
            if sign == "pm":
                terms = [("pm", _join("+", terms), term)]
            else:
                terms.append(neg(term) if sign == "-" else term)
        return _join("+", terms)

    def sign(self) -> str | None:
        if self.eat("+"):
            return "+"
        if self.eat("-"):
            return "-"
        name = self.command()
        if name in ("\\pm", "\\mp"):
            self.i += len(name)
            return "pm"
        return None

    def term(self) -> Node:
        first = self.factor()
        factors = [first]
        mixed = self.mixed_fraction(first)
        if mixed is not None:
            factors = [mixed]
        while True:
            name = self.command()
            if name in ("\\cdot", "\\times", "\\ast") or self.at("*"):
                self.i += len(name) if name else 1
                factors.append(self.factor())
            elif name == "\\div" or self.at("/"):
                self.i += len(name) if name else 1
                factors.append(("^", self.factor(), MINUS_ONE))
            elif self.starts_atom():
                factors.append(self.factor())
            else:
                break
        return _join("*", factors)

    def mixed_fraction(self, first: Node) -> Node | None:
        """``2\\frac{1}{4}`` and plain ``2 1/4`` are mixed numbers, not products."""
        if first[0] != "n" or first[2] or first[1].denominator != 1:
            return None
        save = self.i
        self.skip()
        spaced = self.i > 0 and self.s[self.i - 1] in _SPACE
        fraction: Fraction | None = None
        if self.command() == "\\frac":
            self.i += len("\\frac")
            try:
                num, den = self.argument(single=True), self.argument(single=True)
            except ParseError:
                num = den = ONE
            if num[0] == den[0] == "n" and not num[2] and not den[2]:
                fraction = num[1] / den[1] if den[1] else None
        elif spaced:
            j = self.i
            while j < len(self.s) and self.s[j].isdigit():
                j += 1
            k = j + 1
            while k < len(self.s) and self.s[k].isdigit():
                k += 1
            at_end = k == len(self.s) or not self.s[k].isalnum()
            if j > self.i and j < len(self.s) and self.s[j] == "/" and k > j + 1 and at_end:
                fraction = Fraction(int(self.s[self.i : j]), int(self.s[j + 1 : k]) or 1)
                self.i = k
        if fraction is None or not (0 < fraction < 1) or first[1] == 0:
            self.i = save
            return None
        whole: Fraction = first[1]
        value = whole + fraction if whole > 0 else whole - fraction
        return ("n", value, False)

    def starts_atom(self) -> bool:
        ch = self.peek()
        if not ch:
            return False
        if ch.isalnum() or ch in "({.":
            return True
        if ch == "|":
            return self.abs_depth == 0
        name = self.command()
        return bool(name) and (
            name[1:] in GREEK or name[1:] in FUNCTIONS or name[1:] in MULTI_ARG
            or name in _ATOM_COMMANDS
        )  # fmt: skip

    def factor(self) -> Node:
        base = self.postfix(self.atom())
        if self.eat("^"):
            exponent = self.exponent()
            return ("^", base, exponent)
        return base

    def exponent(self) -> Node:
        if self.peek() == "{":
            self.i += 1
            node = self.items()
            self.expect("}")
            return node
        if self.eat("-"):
            return neg(self.postfix(self.atom()))
        return self.postfix(self.atom())

    def postfix(self, node: Node) -> Node:
        while self.peek() == "!" and not self.s.startswith("!=", self.i):
            self.i += 1
            node = ("f", "fact", (node,))
        return node

    def argument(self, single: bool = False) -> Node:
        """A ``{...}`` group, or one character/command (``\\frac12``, ``\\sqrt2``)."""
        self.skip()
        if self.i < len(self.s) and self.s[self.i] == "{":
            self.i += 1
            node = self.items()
            self.expect("}")
            return node
        if single and self.i < len(self.s) and self.s[self.i].isdigit():
            self.i += 1
            return ("n", Fraction(int(self.s[self.i - 1])), False)
        return self.atom()

    def atom(self) -> Node:
        deadline.check()
        self.chain += 1
        if self.chain > MAX_CHAIN:
            raise TooLargeError(f"more than {MAX_CHAIN} nested terms")
        try:
            return self._atom()
        finally:
            self.chain -= 1

    def _atom(self) -> Node:
        ch = self.peek()
        if not ch:
            raise ParseError("unexpected end")
        if ch.isdigit() or (ch == "." and self.s[self.i + 1 : self.i + 2].isdigit()):
            return self.number()
        if ch.isalpha() and (ch.isascii() or "\u0370" <= ch <= "\u03ff"):
            return self.letters()
        if ch == "-":  # a sign right after an operator: x + -4, 2*-3
            self.i += 1
            return neg(self.factor())
        if ch in _OPEN:
            return self.bracketed(_OPEN[ch])
        if ch == "{":
            self.i += 1
            node = self.items()
            self.expect("}")
            return node
        if ch == "|":
            self.i += 1
            self.abs_depth += 1
            inner = self.sum()
            self.abs_depth -= 1
            self.expect("|")
            return ("f", "abs", (inner,))
        if ch == "\\":
            return self.command_atom()
        raise ParseError(f"unexpected {ch!r} at {self.i}")

    def number(self) -> Node:
        start = self.i
        s = self.s
        while self.i < len(s) and s[self.i].isdigit():
            self.i += 1
        int_end = self.i
        is_float = False
        if self.i < len(s) and s[self.i] == "." and not s.startswith("..", self.i):
            is_float = True
            self.i += 1
            while self.i < len(s) and s[self.i].isdigit():
                self.i += 1
        digits = s[start : self.i]
        if len(digits) > MAX_DIGITS:
            raise TooLargeError("number has too many digits")
        if not is_float and s.startswith("_", self.i):
            return self.base_literal(digits)
        value = _decimal(digits)
        if is_float and s.startswith("\\overline", self.i):
            self.i += len("\\overline")
            if self.peek() == "{":
                repeat = self.braced_text().strip()
            else:
                repeat = self.s[self.i : self.i + 1]
                self.i += 1
            if not repeat.isdigit():
                raise ParseError("bad repeating decimal")
            shift = len(digits) - int_end + start - 1
            value += Fraction(int(repeat), (10 ** len(repeat) - 1) * 10**shift)
            is_float = False
        exponent = _sci_exponent(s, self.i)
        if exponent is not None:
            text, power = exponent
            self.i += len(text)
            if abs(power) > MAX_SCI_EXPONENT:  # 1e999999: a power node, never 10**999999
                ten: Node = ("n", Fraction(10), False)
                return ("*", (("n", value, is_float), ("^", ten, ("n", Fraction(power), False))))
            value *= Fraction(10) ** power
        return ("n", value, is_float)

    def base_literal(self, digits: str) -> Node:
        self.i += 1
        if self.peek() == "{":
            base_text = self.braced_text().strip()
        else:
            start = self.i
            while self.i < len(self.s) and self.s[self.i].isdigit():
                self.i += 1
            base_text = self.s[start : self.i]
        if not base_text.isdigit() or not 2 <= int(base_text) <= 36:
            raise ParseError(f"bad base {base_text!r}")
        base = int(base_text)
        if any(int(d) >= base for d in digits):
            raise ParseError(f"{digits} is not a base-{base} numeral")
        return ("base", digits, base)

    def letters(self) -> Node:
        s = self.s
        for name in PLAIN_FUNCTIONS:
            if s.startswith(name, self.i) and s[self.i + len(name) : self.i + len(name) + 1] == "(":
                self.i += len(name)
                arg = self.bracketed(")")
                return ("f", "sqrt" if name == "sqrt" else name, (arg,))
        if s.startswith("pi", self.i) and not s[self.i + 2 : self.i + 3].isalpha():
            self.i += 2
            return ("c", "pi")
        ch = s[self.i]
        self.i += 1
        return self.subscripted(ch)

    def subscripted(self, name: str) -> Node:
        if self.i < len(self.s) and self.s[self.i] == "_":
            self.i += 1
            if self.peek() == "{":
                sub = self.braced_text()
            else:
                sub = self.command() or self.s[self.i : self.i + 1]
                self.i += len(sub)
            if not sub.strip():
                raise ParseError("empty subscript")
            return ("s", f"{name}_{''.join(sub.split())}")
        if name == "e":
            return ("c", "e")
        if name == "i":
            return ("c", "i")
        return ("s", name)

    def bracketed(self, default_close: str) -> Node:
        opener = self.s[self.i]
        self.i += 1
        saved_abs, self.abs_depth = self.abs_depth, 0
        inner = self.items()
        self.abs_depth = saved_abs
        close = self.peek()
        if close not in (")", "]"):
            raise ParseError(f"expected {default_close!r} at {self.i}")
        self.i += 1
        if inner[0] == "list":
            return ("seq", opener, close, inner[1])
        if (opener, close) in (("(", ")"), ("[", "]")):
            return inner
        return ("seq", opener, close, (inner,))

    def command_atom(self) -> Node:
        name = self.command()
        word = name[1:]
        self.i += len(name)
        if word == "frac":
            return div(self.argument(single=True), self.argument(single=True))
        if word == "sqrt":
            if self.eat("["):
                index = self.items()
                self.expect("]")
                return ("f", "root", (self.argument(single=True), index))
            return ("f", "sqrt", (self.argument(single=True),))
        if word == "binom":
            return ("f", "binom", (self.argument(single=True), self.argument(single=True)))
        if word == "pi":
            return ("c", "pi")
        if word == "infty" or word == "infinity":
            return ("c", "oo")
        if word in GREEK:
            return self.subscripted(word)
        if word in FUNCTIONS or word in MULTI_ARG:
            return self.function(word)
        if word == "{":
            return self.brace_set()
        if word == "langle":
            return self.delimited("\\rangle", "(", ")")
        if word in ("lfloor", "lceil"):
            inner = self.sum()
            self.expect("\\rfloor" if word == "lfloor" else "\\rceil")
            return ("f", word[1:], (inner,))
        if word in ("emptyset", "varnothing"):
            return ("empty",)
        if word in ("mathrm", "mathit", "text", "textrm", "mathbf", "textbf", "operatorname"):
            return self.wrapped()
        if word == "mathbb":
            letter = self.braced_text().strip() if self.peek() == "{" else ""
            if letter == "R":
                return ("reals",)
            raise ParseError(f"unsupported set \\mathbb{{{letter}}}")
        if word == "begin":
            return self.matrix()
        if word == "overline":
            raise ParseError("overline outside a decimal")
        raise ParseError(f"unsupported command {name!r}")

    def wrapped(self) -> Node:
        content = self.braced_text().strip()
        if len(content) == 1 and content.isalpha():
            return self.subscripted(content)
        if content in FUNCTIONS or content in MULTI_ARG:
            return self.function(content)
        if content and content.replace(".", "", 1).isdigit():
            return ("n", _decimal(content), "." in content)
        raise ParseError(f"text {content!r} inside math")

    def function(self, word: str) -> Node:
        power: Node | None = None
        base: Node | None = None
        if word == "log" and self.eat("_"):
            base = self.argument(single=True)
        if self.eat("^"):
            power = self.exponent()
        if word in MULTI_ARG:
            if not self.at("("):
                raise ParseError(f"{word} needs parentheses")
            group = self.bracketed(")")
            args = group[3] if group[0] == "seq" else (group,)
            return ("f", word, tuple(args))
        if self.peek() in ("(", "{"):
            arg = self.bracketed(")") if self.peek() == "(" else self.argument()
        else:
            factors = [self.factor()]
            while self.starts_atom() and self.command()[1:] not in FUNCTIONS:
                factors.append(self.factor())
            arg = _join("*", factors)
        if power is not None and power == MINUS_ONE and word in ("sin", "cos", "tan"):
            return ("f", "arc" + word, (arg,))
        node: Node = ("f", "log", (arg, base)) if base is not None else ("f", word, (arg,))
        return ("^", node, power) if power is not None else node

    def brace_set(self) -> Node:
        if self.at("\\}"):
            self.i += 2
            return ("empty",)
        inner = self.items()
        self.expect("\\}")
        items = inner[1] if inner[0] == "list" else (inner,)
        return ("seq", "{", "}", tuple(items))

    def delimited(self, closer: str, opener: str, close: str) -> Node:
        inner = self.items()
        self.expect(closer)
        items = inner[1] if inner[0] == "list" else (inner,)
        return ("seq", opener, close, tuple(items))

    def matrix(self) -> Node:
        env = self.braced_text().strip()
        if env not in MATRIX_ENVS:
            raise ParseError(f"unsupported environment {env!r}")
        if env == "array" and self.peek() == "{":
            self.braced_text()
        rows: list[tuple[Node, ...]] = []
        row: list[Node] = []
        while True:
            if self.at("\\end"):
                self.i += len("\\end")
                if self.braced_text().strip() != env:
                    raise ParseError("mismatched \\end")
                break
            if self.at("\\end"):
                continue
            row.append(self.sum())
            if self.eat("&"):
                continue
            if self.eat("\\\\"):
                rows.append(tuple(row))
                row = []
            elif not self.at("\\end"):
                raise ParseError(f"unexpected {self.s[self.i : self.i + 10]!r} in matrix")
        if row:
            rows.append(tuple(row))
        if not rows or len({len(r) for r in rows}) != 1:
            raise ParseError("ragged or empty matrix")
        return ("mat", tuple(rows))


_ATOM_COMMANDS = frozenset(
    (
        "\\frac \\sqrt \\binom \\pi \\infty \\langle \\lfloor \\lceil \\mathrm \\mathit "
        "\\operatorname \\mathbf \\begin"
    ).split()
)


def _join(op: str, parts: list[Node]) -> Node:
    return parts[0] if len(parts) == 1 else (op, tuple(parts))


def _decimal(digits: str) -> Fraction:
    whole, _, frac = digits.partition(".")
    numerator = big_int((whole or "0") + frac)
    return Fraction(numerator, 10 ** len(frac))


def _sci_exponent(s: str, i: int) -> tuple[str, int] | None:
    """Read ``e3``/``E-5`` right after a number: scientific notation, not Euler's ``e``."""
    if i >= len(s) or s[i] not in "eE":
        return None
    j = i + 1
    if j < len(s) and s[j] in "+-":
        j += 1
    k = j
    while k < len(s) and s[k].isdigit() and k - j < 6:
        k += 1
    if k == j or (k < len(s) and s[k].isalpha()):
        return None
    return s[i:k], int(s[i + 1 : k])


def parse(text: str) -> Node:
    """Parse an answer string (already normalized) into a node.

    Raises:
        ParseError: the text is outside the supported subset.
        TooLargeError: the text is beyond the size guards.

    Examples:
        >>> parse("1.5e3")
        ('n', Fraction(1500, 1), True)
        >>> parse("x = 3")[0]
        'rel'
    """
    if len(text) > MAX_PARSE_CHARS:
        raise TooLargeError(f"answer longer than {MAX_PARSE_CHARS} characters")
    if not text.strip():
        raise ParseError("empty")
    check_depth(text)
    return _Parser(text).parse()
