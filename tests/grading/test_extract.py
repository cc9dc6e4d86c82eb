import pytest

from mathattempt_env.grading import extract, extract_answer, grade


@pytest.mark.parametrize(
    ("response", "boxed_only", "answer", "formatted"),
    [
        (r"so $\boxed{5}$", True, "5", True),
        (r"\boxed{1} then \boxed{2}", True, "2", True),
        (r"\boxed{\frac{1}{\sqrt{2}}}", True, r"\frac{1}{\sqrt{2}}", True),
        (r"\boxed{\{1, 2\}}", True, r"\{1, 2\}", True),
        (r"\fbox{7}", True, "7", True),
        (r"the answer is \boxed 5 here", True, "5", True),
        (r"\boxed{3", True, None, False),
        (r"\boxed{2} and \boxed{3", True, "2", True),
        ("The answer is 7.", True, None, False),
        ("The final answer is $x = 3$. Done", False, "x = 3", False),
        ("Thus the answer is 12.", False, "12", False),
        ("Work...\nAnswer: 42", False, "42", False),
        ("**Answer:** 17", False, "17", False),
        ("we get $a$ and then $b = 4$", False, "b = 4", False),
        ("result is **9**", False, "9", False),
        ("10, 4, 2", False, "10, 4, 2", False),
        ("word " * 40, False, None, False),
        ("<think>\\boxed{1}</think> so \\boxed{2}", True, "2", True),
        ("<think>\\boxed{1}</think> no box here", True, None, False),
        ("<think>\\boxed{1} never closed", True, None, False),
        ("<think>\\boxed{1} never closed", False, None, False),
    ],
)  # fmt: skip
def test_extraction_table(
    response: str, boxed_only: bool, answer: str | None, formatted: bool
) -> None:
    found = extract(response, boxed_only=boxed_only)
    assert found.answer == answer
    assert found.formatted is formatted
    assert extract_answer(response, boxed_only=boxed_only) == answer


def test_first_or_last_box_is_selectable() -> None:
    response = r"\boxed{1} and later \boxed{2}"
    assert extract(response, box="first").answer == "1"
    assert grade(response, "1", box="first").correct
    assert not grade(response, "1").correct


def test_non_string_response_is_no_answer() -> None:
    result = grade(None, "1")  # type: ignore[arg-type]
    assert (result.correct, result.reason, result.extracted) == (False, "no-answer", None)
