"""False positives and misses from a red-team pass (issue 22), as general shapes with hard
negatives: tiny magnitudes past the exponent guards, denied and retracted answers, a box cut
after a complete answer, a closing sentence that mentions other numbers, Unicode intervals."""

from __future__ import annotations

import pytest

from mathattempt_env.grading import grade


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # A real difference below any tolerance is a difference; rounding noise is not.
        (r"\boxed{10^{-20000}}", "0", False),
        (r"\boxed{2^{-70000}}", "0", False),
        (r"\boxed{1-1E-99999}", "1", False),
        (r"\boxed{1-10^{-99999}}", "1", False),
        (r"\boxed{\pi + 10^{-400}}", r"\pi", False),
        (r"\boxed{e^{-1000}+1}", "1", False),
        (r"\boxed{\frac{1}{10^{20000}}}", r"10^{-20000}", True),
        (r"\boxed{\sin \pi}", "0", True),
        (r"\boxed{e^{i\pi}+1}", "0", True),
        (r"\boxed{\sin^2 1 + \cos^2 1}", "1", True),
        (r"\boxed{\cos\frac{\pi}{2}}", "0", True),
        (r"\boxed{(5, \infty)}", r"(5,\infty)", True),
    ],
)  # fmt: skip
def test_magnitudes_past_the_exact_guards(response: str, gold: str, correct: bool) -> None:
    assert grade(response, gold, timeout=5.0).correct is correct


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # Denied answer phrases, and their corrections in the same sentence.
        ("the answer is not 5.", "5", False),
        ("The answer isn't 5.", "5", False),
        ("So the answer is never 5.", "5", False),
        ("La réponse n'est pas 5.", "5", False),
        ("The answer is not 5, it is 6.", "6", True),
        ("The answer is not 5 but 6.", "6", True),
        ("The answer is not 5, it is 6.", "5", False),
        (r"\boxed{5}. Wait: the answer is not 5.", "5", False),
        # A box the next words take back.
        (r"So the answer is \boxed{5}. Wait, that is wrong: 5 is not the answer.", "5", False),
        (r"\boxed{5} is incorrect.", "5", False),
        (r"I first thought \boxed{5}, but that is wrong.", "5", False),
        (r"\boxed{5}. Hmm, 5 is not the answer.", "5", False),
        (r"\boxed{5}. Scratch that.", "5", False),
        # ... and boxes that stand (hard negatives of the retraction rule).
        (r"\boxed{5}. This is correct.", "5", True),
        (r"\boxed{5}. Is that wrong? No.", "5", True),
        (r"\boxed{5}" "\n\nNote: a common mistake is 4; that is wrong.", "5", True),
        (r"\boxed{5}. 15 is not the answer.", "5", True),
        (r"\boxed{5}, not 4.", "5", True),
        (r"So \boxed{5} and the answer is 5.", "5", True),
        # Interim answers still do not count.
        (r"First \boxed{4}. Wait, that is wrong. The answer is \boxed{5}.", "4", False),
        (r"First \boxed{4}. Wait, that is wrong. The answer is \boxed{5}.", "5", True),
    ],
)  # fmt: skip
def test_denied_and_retracted_answers(response: str, gold: str, correct: bool) -> None:
    assert grade(response, gold, timeout=5.0).correct is correct


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # A box cut at the end after complete boxes of the answer: the complete one counts.
        (r"So x = \boxed{5}. Checking: yes, \boxed{5}. Final: \boxed{", "5", True),
        # A cut box after a line that states the answer: the line counts.
        ("Therefore, the final answer is 12.\n\nFinal Answer: \\boxed{", "12", True),
        ("The answer is 5.\n\\boxed{", "5", True),
        ("Therefore, the final answer is 12.\n\nFinal Answer: \\boxed{", "13", False),
        # A closing sentence that states the answer, then the circumstances.
        ("A box has 9 cups. So she needs 4 boxes of tea to last her 12 weeks.", "4", True),
        ("A box has 9 cups. So she needs 4 boxes of tea to last her 12 weeks.", "12", False),
        ("So she saves 50 dollars in 10 weeks.", "50", True),
        ("So after 3 weeks she has 12 boxes.", "12", True),
        ("The total is 12 apples for each of 3 friends, so 36 apples in all.", "36", True),
        ("It costs 4 dollars each, so 5 of them cost 20 dollars.", "20", True),
        ("So 3 + 4 = 7 apples for 2 kids.", "7", True),
        # Intervals written with a Unicode infinity after "interval notation".
        ("The solution set in interval notation is (5, ∞).", r"(5,\infty)", True),
        ("In interval notation, this is [2, ∞).", r"[2,\infty)", True),
        ("The solution set in interval notation is (5, ∞).", r"[5,\infty)", False),
        ("In interval notation: (-∞, 3]", r"(-\infty, 3]", True),
    ],
)  # fmt: skip
def test_misses_on_real_output_shapes(response: str, gold: str, correct: bool) -> None:
    assert grade(response, gold, timeout=5.0).correct is correct
