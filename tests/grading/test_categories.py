import pytest

from mathattempt_env.grading import grade

from .cases import CASES, KNOWN_FALSE_POSITIVES

ROWS = [(category, *row) for category, rows in CASES.items() for row in rows]


@pytest.mark.parametrize(("category", "answer", "gold", "expected"), ROWS)
def test_case_table(category: str, answer: str, gold: str, expected: bool) -> None:
    result = grade(f"So the final answer is $\\boxed{{{answer}}}$.", gold, boxed_only=True)
    assert result.correct is expected, (category, answer, gold, result)
    assert result.formatted and not result.timed_out


@pytest.mark.parametrize("category", sorted(CASES))
def test_every_category_has_rewrites_and_hard_negatives(category: str) -> None:
    expected = {row[2] for row in CASES[category]}
    assert expected == {True, False}


@pytest.mark.parametrize(("answer", "gold"), KNOWN_FALSE_POSITIVES)
def test_math_verify_false_positives_do_not_pass(answer: str, gold: str) -> None:
    assert not grade(f"\\boxed{{{answer}}}", gold).correct
    assert not grade(answer, gold).correct


@pytest.mark.parametrize(
    ("answer", "gold", "reason"),
    [
        ("2", "2", "exact"), (r"\frac{4}{2}", "2", "numeric"), (r"\sqrt{8}", r"2\sqrt2", "symbolic"),
        ("2, 1", "1, 2", "set"), ("(1, 2)", r"\left(1,2\right)", "tuple"), ("[0, 1)", r"0 \le x < 1", "interval"),
        ("x=2", "2", "equation"), (r"\begin{pmatrix}1\end{pmatrix}", r"\begin{bmatrix}1\end{bmatrix}", "matrix"),
        ("Bob", r"\text{bob}", "text"), ("(A)", r"\text{(A)}", "choice"),
    ],
)  # fmt: skip
def test_reason_names_the_deciding_rule(answer: str, gold: str, reason: str) -> None:
    assert grade(f"\\boxed{{{answer}}}", gold).reason == reason


def test_percent_convention_is_both_readings_but_not_scaling_bare_numbers() -> None:
    # Documented: "10\%" reads as 10 and as 0.1; a bare 1 never equals 100 (Qwen's x100 rule).
    assert grade(r"\boxed{10\%}", "10").correct
    assert grade(r"\boxed{10\%}", "0.1").correct
    assert not grade(r"\boxed{1}", "100").correct
    assert not grade(r"\boxed{100}", "1").correct


def test_float_tolerance_is_relative_and_only_with_decimal_literals() -> None:
    assert grade(r"\boxed{0.33333}", r"\frac13").correct
    assert not grade(r"\boxed{0.333}", r"\frac13").correct
    assert not grade(r"\boxed{\frac{100001}{100000}}", "1").correct
