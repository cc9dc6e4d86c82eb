"""Pathological inputs for the grader, built by shape: each is tried as a response and as a gold.

Also pairs with golds of their own (:data:`PAIRS`). Shared by tests/grading/test_hostile.py,
tests/grading/test_bounded_time.py and benchmarks/grader.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from mathattempt_env.grading import grade

N = 20_000
TOWER = r"5^{5^{5^{5^5}}}"


def _matrix(term: str) -> str:
    rows = (("&".join(f"x_{{{i}{j}}}+{term}" for j in range(60))) for i in range(60))
    return r"\begin{pmatrix}" + r"\\".join(rows) + r"\end{pmatrix}"


def shapes() -> dict[str, str]:
    """Name -> text. Texts are answers to be boxed or used bare, as each case says."""
    return {
        # Runs of blanks and repeated tokens (regex backtracking in extraction/normalization).
        "2,000 newlines then x": "\n" * 2_000 + "x",
        "20,000 spaces then x": " " * N + "x",
        "1 MB of spaces": " " * 1_000_000,
        "boxed 1, 20,000 spaces, x": r"\boxed{1" + " " * N + "x}",
        "boxed 1, spaces, percent": r"\boxed{1" + " " * N + "percent x}",
        "boxed 1, spaces, degrees": r"\boxed{1" + " " * N + "degrees x}",
        "boxed 1, spaces, or": r"\boxed{1" + " " * N + "or x}",
        "text of spaces": r"\boxed{1 \text{" + " " * N + "}}",
        "Answer: then spaces": "Answer:" + " " * 100_000 + "x",
        "'the answer is' x50,000": "the answer is " * 50_000,
        "final answer, newline runs": ("Final\n\n\n answer" + "\n" * 5_000) * 20,
        "bold marks x100,000": "**" * 100_000,
        "1 MB of dots": "." * 1_000_000,
        "boxed 1 then 100,000 dots": r"\boxed{1" + "." * 100_000 + "}",
        # Unboxed reading: answer phrases, letters, connected boxes, next-example lines.
        "answer phrase, then 500,000 numbers": "The answer is " + "1 " * 500_000,
        "'answer' x150,000 without a verb": "answer " * 150_000,
        "option letters x500,000": "(A) not B " * 100_000,
        "10,000 connected boxes": r"\boxed{1}, " * 10_000,
        "next-example lines x100,000": "1\nQ" * 100_000,
        # Unclosed delimiters.
        r"20,000 unclosed \(": "\\(" * N,
        "unclosed $ then words": "$" + "a " * 50_000,
        "30,000 dollar pairs": "$1$" * 30_000,
        "5,000 unclosed boxes": r"\boxed{" * 5_000,
        "unclosed think, 1 MB": "<think>" + "x" * 1_000_000,
        "20,000 unclosed braces in a box": r"\boxed{1" + "{" * N + "}",
        # Nesting.
        "20,000 nested braces": r"\boxed{" + "{" * N + "1" + "}" * N + "}",
        "5,000 nested parentheses": r"\boxed{" + "(" * 5_000 + "1" + ")" * 5_000 + "}",
        r"5,000 chained \frac": r"\boxed{" + r"\frac" * 5_000 + "12}",
        r"5,000 chained \sqrt": r"\boxed{" + r"\sqrt" * 5_000 + "2}",
        "1,000 nested boxes": r"\boxed{" * 1_000 + "1" + "}" * 1_000,
        "power chain x10,000": r"\boxed{" + "2^" * 10_000 + "2}",
        # Huge numbers, towers, roots.
        "power tower": r"\boxed{5^{5^{5^{5^5}}}}",
        r"\sqrt[10^9]{2}": r"\boxed{\sqrt[10^9]{2}}",
        r"\sqrt[10^{12}]{2}": r"\boxed{\sqrt[10^{12}]{2}}",
        "twenty 1e999999 terms": r"\boxed{" + "+".join(["1e999999"] * 20) + "}",
        "1e999999+i": r"\boxed{1e999999+i}",
        "20,000-digit integer": r"\boxed{" + "7" * N + "}",
        "100,000-digit integer": r"\boxed{" + "7" * 100_000 + "}",
        "50,000-digit decimal": r"\boxed{0." + "3" * 50_000 + "}",
        "factorial of a tower": r"\boxed{(10^{10^{10}})!}",
        "2,000 factorials multiplied": r"\boxed{3000!" + r"\cdot 3000!" * 2_000 + "}",
        "binomial of huge numbers": r"\boxed{\binom{10^{9}}{5\cdot 10^{8}}}",
        "5,000 unit fractions": r"\boxed{"
        + "+".join(f"\\frac{{1}}{{{p}}}" for p in range(2, 5_002))
        + "}",
        "lcm of 3,000 numbers": r"\boxed{\operatorname{lcm}("
        + ",".join(str(k) for k in range(2, 3_002))
        + ")}",
        r"e^{10^{100}}": r"\boxed{e^{10^{100}}}",
        r"\sin(10^{100})": r"\boxed{\sin(10^{100})}",
        # \pm chains and sets.
        r"24 \pm signs": r"\boxed{1" + r"\pm 1" * 24 + "}",
        "set of 20,000 numbers": r"\boxed{\{" + ",".join(str(k) for k in range(N)) + r"\}}",
        "60x60 symbolic matrix": r"\boxed{" + _matrix("y") + "}",
        # Long unicode.
        "200,000 unicode sums, then a box": "∑" * 200_000 + r"\boxed{√2}",
        "50,000 pi signs": r"\boxed{" + "π" * 50_000 + "}",
        "lone surrogates and NUL": "\ud800\x00\\boxed{3\udfff}\x00",
        # The sympy path.
        "sympy integral that runs long": r"\boxed{\int_{0}^{1} \sin(x^{7})\cos(x^{5}) e^{x^{3}} dx}",
    }


#: Hostile ``(response, gold)`` pairs with golds of their own; only "1 MB response" is right.
PAIRS = {
    "power tower as gold": (r"\boxed{3}", TOWER),
    "two different power towers": (r"\boxed{5^{5^{5^{5^4}}}}", TOWER),
    "1 MB response": ("x" * 1_000_000 + r" \boxed{2}", "2"),
    "1 MB response without a box": ("1 + " * 250_000, "2"),
    "5,000-digit integers": (r"\boxed{" + "7" * 5_000 + "}", "7" * 4_999 + "8"),
    "two 60x60 symbolic matrices": (r"\boxed{" + _matrix("y") + "}", _matrix("2y")),
}


def as_responses() -> dict[str, tuple[str, str]]:
    """Name -> ``(response, gold)``: every shape as a response against ``1``, and the pairs."""
    return {name: (text, "1") for name, text in shapes().items()} | PAIRS


def cases() -> list[tuple[str, str, str]]:
    """``(name, response, gold)``: every shape as a response (against ``1``) and as a gold,
    and every pair of :data:`PAIRS`."""
    out = []
    for name, text in shapes().items():
        out.append((f"response: {name}", text, "1"))
        out.append((f"gold: {name}", r"\boxed{1}", text))
    out += [(f"pair: {name}", response, gold) for name, (response, gold) in PAIRS.items()]
    return out


def graded_in_thread(response: str, gold: str, timeout: float) -> tuple[Any, float]:
    """Grade in a fresh daemon thread; the grade (``None`` if it never returned) and the
    wall time the caller waited."""
    box: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: box.update(g=grade(response, gold, timeout=timeout)), daemon=True
    )
    start = time.perf_counter()
    thread.start()
    thread.join(timeout + 30)
    return box.get("g"), time.perf_counter() - start
