"""The slow path: latex2sympy2_extended and sympy, for LaTeX the in-process parser cannot read.

This module imports sympy, so it runs only inside the isolated worker processes (see
:mod:`mathattempt_env.grading.isolation`), where an overrun is ended by killing the worker.
latex2sympy2_extended is the maintained fork of latex2sympy2 (which pins an old ANTLR runtime
and cannot be installed next to hydra/omegaconf).

Examples:
    >>> sympy_equivalent(r"\\\\sqrt{8}", r"2\\\\sqrt{2}")
    (True, 'symbolic')
"""

from __future__ import annotations

from typing import Any

#: Relative tolerance when a float is involved; the same as the in-process comparison.
REL_TOL = 1e-4


def _to_sympy(text: str) -> Any:
    from latex2sympy2_extended import latex2sympy

    return latex2sympy(text)


def _is_zero(expr: Any) -> bool:
    import sympy

    if expr == 0:
        return True
    simplified = sympy.simplify(expr)
    return bool(simplified == 0 or simplified.is_zero)


def _equal(a: Any, g: Any) -> bool:
    import sympy

    if a == g:
        return True
    if isinstance(a, sympy.FiniteSet) and isinstance(g, sympy.FiniteSet):
        return all(any(_equal(x, y) for x in a) for y in g) and all(
            any(_equal(x, y) for y in g) for x in a
        )
    if isinstance(a, (sympy.Tuple, tuple, list)) and isinstance(g, (sympy.Tuple, tuple, list)):
        return len(a) == len(g) and all(_equal(x, y) for x, y in zip(a, g, strict=True))
    if isinstance(a, sympy.MatrixBase) and isinstance(g, sympy.MatrixBase):
        return bool(a.shape == g.shape and all(_is_zero(x - y) for x, y in zip(a, g, strict=True)))
    if isinstance(a, sympy.Eq) and isinstance(g, sympy.Eq):
        return _equal(a.lhs - a.rhs, g.lhs - g.rhs) or _equal(a.lhs - a.rhs, g.rhs - g.lhs)
    if isinstance(g, sympy.Eq) and not isinstance(a, sympy.Eq):
        return _equal(a, g.rhs)
    if isinstance(a, sympy.Eq) and not isinstance(g, sympy.Eq):
        return _equal(a.rhs, g)
    if isinstance(a, sympy.Expr) and isinstance(g, sympy.Expr):
        if a.has(sympy.Float) or g.has(sympy.Float):
            try:
                va, vg = complex(sympy.N(a, 30)), complex(sympy.N(g, 30))
            except (TypeError, ValueError):
                return _is_zero(a - g)
            return abs(va - vg) <= REL_TOL * max(abs(va), abs(vg))
        return _is_zero(a - g)
    if isinstance(a, sympy.Set) and isinstance(g, sympy.Set):
        return bool(a == g or sympy.simplify(a.symmetric_difference(g)) == sympy.EmptySet)
    return False


def sympy_equivalent(answer: str, gold: str) -> tuple[bool, str]:
    """Compare two normalized answers with latex2sympy2 and sympy.

    Returns ``(equal, reason)``; ``reason`` is ``"unparseable"`` when either side cannot be
    read, else ``"symbolic"``. Never raises.
    """
    try:
        a, g = _to_sympy(answer), _to_sympy(gold)
    except Exception:
        return False, "unparseable"
    try:
        return _equal(a, g), "symbolic"
    except Exception:
        return False, "unparseable"


def sympy_parses(text: str) -> bool:
    """Whether latex2sympy2 can read ``text`` at all (used by gold validation)."""
    try:
        _to_sympy(text)
    except Exception:
        return False
    return True


#: Comparisons :func:`warm` runs once, one of each kind the slow path meets, so that sympy's
#: lazily loaded parts (simplification strategies, polynomial domains, sets, matrices,
#: numeric evaluation) are loaded in the fork server and every worker forked from it
#: starts as fast as a warm one.
WARM_PAIRS = (
    (r"\frac{\sqrt{5}}{3}", r"\frac{\sqrt{20}}{6}"),
    (r"\tan^2 t + 1", r"\sec^2 t"),
    (r"\cos^2 u - \sin^2 u", r"\cos 2u"),
    (r"(2, \infty)", r"(2,\infty)"),
    (r"[-1, 3) \cup (4, 5]", r"[-1,3)\cup(4,5]"),
    (r"\begin{pmatrix}3\\4\end{pmatrix}", r"\begin{pmatrix}3\\4\end{pmatrix}"),
    (r"t^2-4t+4", r"(t-2)^2"),
    (r"\frac{t^2-1}{t-1}", r"t+1"),
    (r"\{3,4\}", r"\{4,3\}"),
    (r"3\pi s", r"3s\pi"),
    (r"v=3u-2", r"3u-2"),
    (r"0.6667", r"\frac{2}{3}"),
    (r"\log_3 27", "3"),
    (r"\ln e^2", "2"),
    (r"e^{2i\pi}", "1"),
    (r"\sqrt[3]{16}", r"2\sqrt[3]{2}"),
    (r"\binom{6}{2}", "15"),
    (r"4!", "24"),
    (r"x \geq 2", r"x\ge 2"),
    (r"\frac{1}{\sqrt{2}}", r"\frac{\sqrt{2}}{2}"),
    (r"\sin \frac{\pi}{6}", r"\frac{1}{2}"),
    (r"\arctan 1", r"\frac{\pi}{4}"),
    (r"2+3i", r"3i+2"),
    (r"\left(1, 2\right)", r"(1,2)"),
    (r"a b^{2}", r"b^2 a"),
)


def warm() -> None:
    """Load what the slow path uses, so a worker's first real job costs what later ones do."""
    import sympy
    from latex2sympy2_extended import latex2sympy

    latex2sympy("1")
    sympy.simplify(sympy.Integer(1))
    for answer, gold in WARM_PAIRS:
        sympy_equivalent(answer, gold)
        sympy_equivalent(answer, "7")  # the unequal path too
    sympy.core.cache.clear_cache()  # keep what was loaded, not what was computed
