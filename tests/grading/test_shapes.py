"""Table-driven tests for each shape of real model output that issue 13 names.

Every shape has cases that must be credited and hard negatives that must not be: a grader
that credits everything, or nothing, fails each table. The examples are written for these
tests, not taken from the dev files.
"""

from __future__ import annotations

import pytest

from mathattempt_env.grading import grade

# shape -> [(response, gold, expected)]
SHAPES: dict[str, list[tuple[str, str, bool]]] = {
    "answer phrases": [
        ("We add them up.\nThe answer is 41.", "41", True),
        ("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "0.75", True),
        ("Therefore, the answer (arabic numerals) is 92", "92", True),
        ("3 + 5 = 8 apples.\n#### 8", "8", True),
        ("Tom has 12 - 5 = <<12-5=7>>7 left.\nA: 7", "7", True),
        ('{"reasoning": "double 21", "answer": "42"}', "42", True),
        ('{"reasoning": "...", "answer": 42}', "42", True),
        ("So x = 4.\n\n**Final answer: 19**", "19", True),
        ("计算得 6 × 7 = 42。答案：42", "42", True),
        ("Donc la réponse est 15.", "15", True),
        ("Ответ: 27", "27", True),
        ("La respuesta es 8.", "8", True),
        ("Die Antwort ist 64.", "64", True),
        ("The answer is 41.<|im_end|>\n<|im_start|>user\nThe answer is 7", "41", True),
        ("The answer is 41. I hope it is correct.", "41", True),
        (
            "The answer is 18.\n\nQuestion: Tom has 3 apples. How many?\nThe answer is 3.",
            "18",
            True,
        ),
        ("```python\nprint(6 * 7)\n```\n```output\n42\n```\nSo the product is 42.", "42", True),
        # hard negatives: the phrase names a different number; a later phrase overrides
        ("The answer is 14, not 41.", "41", False),
        ("At first I thought the answer is 41. Checking again, the answer is 40.", "41", False),
        ("3 + 5 = 8 apples.\n#### 9", "8", False),
        ("答案：24", "42", False),
        ("The answer is 41.<|im_end|>\n<|im_start|>user\nThe answer is 7", "7", False),
        (
            "The answer is 18.\n\nQuestion: Tom has 3 apples. How many?\nThe answer is 3.",
            "3",
            False,
        ),
    ],
    "last value, not a name or a currency sign": [
        ("so the value of $x$ is 17", "17", True),
        ("We find that $\\angle B$ is 76 degrees.", "76", True),
        ("Each costs $3 and he buys 4, so he pays 3 x $4 = $12 in total.", "12", True),
        ("He had 5 apples and ate 2, so 3 are left.", "3", True),
        ("The perimeter is $2(3+4) = 14$.", "14", True),
        ("所以一共有 3 + 10 = 13 只鸟。", "13", True),
        ("The solutions are $x = 2$ and $x = -3$.", "-3, 2", True),  # spans read together
        # hard negatives
        ("so the value of $x$ is 17", "x", False),
        ("He had 5 apples and ate 2, so 3 are left.", "5", False),
        ("Each costs $3 and he buys 4, so he pays 3 x $4 = $12 in total.", "4", False),
        ("The solutions are $x = 2$ and $x = -4$.", "-3, 2", False),
        ("First $x = 2$. Later we find $x = -3$.", "-3, 2", False),  # prose between: not one
    ],
    "several boxes": [
        ("$x = \\boxed{-2}$ and $x = \\boxed{1}$", "1, -2", True),
        ("\\boxed{(1,2)}, \\boxed{(2,1)}", "(2,1), (1,2)", True),
        ("$\\boxed{k = 45}$ \\quad \\text{and} \\quad $\\boxed{n = 2}$", "k = 45, n = 2", True),
        ("First \\boxed{3} was wrong. After checking, the answer is \\boxed{5}.", "5", True),
        # hard negatives: boxes separated by prose are not one answer; a scalar gold
        # takes the last box only
        ("First \\boxed{3} was wrong. After checking, the answer is \\boxed{5}.", "3, 5", False),
        ("$x = \\boxed{-2}$ and $x = \\boxed{1}$", "-2", False),
        ("\\boxed{(1,2)}, \\boxed{(2,1)}", "(1,2)", False),
    ],
    "labelled answers": [
        ("\\boxed{(3,2)}", "(p,q)=(3,2)", True),
        ("\\boxed{(p, q) = (3, 2)}", "(3,2)", True),
        ("\\boxed{2x+3}", "f(x)=2x+3", True),
        ("\\boxed{f(x) = 2x + 3}", "y = 2x + 3", True),
        ("\\boxed{1}", "|AB| = 1", True),
        ("\\boxed{4, 5}", "AB = 4, CD = 5", True),
        ("\\boxed{7:32}", "S_{ABC} : S = 7 : 32", True),
        ("\\boxed{x \\in [-2, 7]}", "-2 \\le x \\le 7", True),
        ("\\boxed{-x > -1}", "x < 1", True),
        ("\\boxed{(5,2),(7,2)}", "p=5, q=2; p=7, q=2", True),
        # hard negatives: a sum on the left is an equation, not a label
        ("\\boxed{1}", "x + z = 1", False),
        ("\\boxed{(2,3)}", "(p,q)=(3,2)", False),
        ("\\boxed{x \\in [-2, 7)}", "-2 \\le x \\le 7", False),
        ("\\boxed{-x > -1}", "x > 1", False),
        ("\\boxed{y = 2}", "x = 2", False),
    ],
    "approximation chains": [
        ("$\\boxed{\\frac{\\sqrt3}{3} \\approx 0.577}$", "\\frac{\\sqrt{3}}{3}", True),
        ("$\\boxed{x = 1/3 \\approx 0.33}$", "\\frac13", True),
        ("$\\boxed{x \\approx 11}$", "11", True),
        # hard negatives: the exact part counts, so a wrong exact part is wrong
        ("$\\boxed{\\frac{\\sqrt2}{3} \\approx 0.577}$", "\\frac{\\sqrt{3}}{3}", False),
        ("$\\boxed{x = 1/4 \\approx 0.33}$", "\\frac13", False),
    ],
    "number formats": [
        ("\\boxed{1 000}", "1000", True),
        ("\\boxed{12,345,678}", "12345678", True),
        ("\\boxed{11,\\! 111,\\! 100}", "11111100", True),
        ("\\boxed{2,74}", "2.74", True),
        ("\\boxed{0.111}", "0,111", True),
        ("\\boxed{1\\,000\\,000}", "10^6", True),
        # hard negatives
        ("\\boxed{1 001}", "1000", False),
        ("\\boxed{2,75}", "2.74", False),
        ("\\boxed{1,000}", "1", False),
        ("\\boxed{0.112}", "0,111", False),
    ],
    "matrices": [
        (
            "\\boxed{\\begin{bmatrix}1 & 2\\\\3 & 4\\end{bmatrix}}",
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
            True,
        ),
        (
            "\\boxed{\\begin{Bmatrix}1 & 0\\\\0 & 1\\end{Bmatrix}}",
            "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}",
            True,
        ),
        (
            "\\boxed{\\left[\\begin{array}{cc}1 & 2\\\\3 & 4\\end{array}\\right]}",
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
            True,
        ),
        (
            "The matrix is $ \\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix} $.",
            "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}",
            True,
        ),
        ("\\boxed{\\begin{pmatrix}0.5\\\\1\\end{pmatrix}}", "(0.5, 1)", True),
        ("\\boxed{[0.5, 1]}", "\\begin{pmatrix}0.5\\\\1\\end{pmatrix}", True),
        (
            "\\boxed{\\begin{vmatrix}1 & 2\\\\3 & 4\\end{vmatrix}}",
            "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}",
            True,
        ),
        # hard negatives
        ("\\boxed{[0.5, 2]}", "\\begin{pmatrix}0.5\\\\1\\end{pmatrix}", False),
        ("\\boxed{[0.5, 1]}", "(0.5, 1)", False),  # (0.5, 1) may be an open interval
        (
            "\\boxed{\\begin{bmatrix}1 & 2\\\\4 & 3\\end{bmatrix}}",
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
            False,
        ),
        (
            "\\boxed{\\begin{pmatrix}1 & 2\\end{pmatrix}}",
            "\\begin{pmatrix}1\\\\2\\\\3\\end{pmatrix}",
            False,
        ),
    ],
    "units and words": [
        ("\\boxed{5 \\textbf{meters}}", "5", True),
        ("\\boxed{125\\textnormal{ miles}}", "125", True),
        ("\\boxed{10weeks}", "10", True),
        ("\\boxed{12^{\\text{th}} grade}", "12", True),
        ("\\boxed{28 pct}", "28\\%", True),
        ("\\boxed{28 percentage}", "28\\%", True),
        ("弗兰克一共有**858颗**糖果。", "858", True),
        ("\\boxed{60 ريالاً}", "60", True),
        # hard negatives: a quantity in two units is not its first number
        ("The answer is 4 hours and 30 minutes.", "4", False),
        ("\\boxed{4 \\text{ hours and } 30 \\text{ minutes}}", "4", False),
        ("\\boxed{28 pct}", "0.27", False),
        ("\\boxed{12^{\\text{th}} grade}", "11", False),
    ],
    "unicode math": [
        ("\\boxed{(5, ∞)}", "(5, \\infty)", True),
        ("\\boxed{12π}", "12\\pi", True),
        ("\\boxed{√3}", "\\sqrt{3}", True),
        ("\\boxed{−5}", "-5", True),
        ("\\boxed{½}", "0.5", True),
        ("\\boxed{3 × 4}", "12", True),
        ("\\boxed{x ≤ 2}", "(-\\infty, 2]", True),
        # hard negatives
        ("\\boxed{[5, ∞)}", "(5, \\infty)", False),
        ("\\boxed{−5}", "5", False),
        ("\\boxed{x ≥ 2}", "(-\\infty, 2]", False),
    ],
    "multiple choice": [
        ("The answer is D, it can't be A or B", "D", True),
        ("The answer: (D), since A and B fail.", "D", True),
        ("D. It can't be A or B.", "D", True),
        ("B。不是 A", "B", True),
        ("It's not A because the sum is odd, so I pick C", "C", True),
        ("La réponse est C, non A.", "C", True),
        ("\\boxed{D}", "(D) Alina", True),
        ("\\boxed{C}", "C Cecile", True),
        ("\\boxed{\\text{(B)}}", "B", True),
        # hard negatives
        ("The answer is D, it can't be A or B", "A", False),
        ("It's not A because the sum is odd, so I pick C", "A", False),
        ("B。不是 A", "A", False),
        ("\\boxed{D}", "(C) Cecile", False),
    ],
    "times, trig degrees and signs": [
        ("\\boxed{20:34:00}", "20:34", True),
        ("\\boxed{8:34 PM}", "20:34", True),
        ("\\boxed{\\cos x}", "\\sin(90^\\circ - x)", True),
        ("\\boxed{\\frac{1}{2}}", "\\sin 30^\\circ", True),
        ("\\boxed{x + -4}", "x - 4", True),
        ("\\boxed{2*-3}", "-6", True),
        # hard negatives
        ("\\boxed{8:34 AM}", "20:34", False),
        ("\\boxed{\\sin x}", "\\sin(90^\\circ - x)", False),
        ("\\boxed{x + -4}", "x + 4", False),
        ("\\boxed{2*-3}", "6", False),
    ],
}

ROWS = [(shape, *row) for shape, rows in SHAPES.items() for row in rows]


@pytest.mark.parametrize(("shape", "response", "gold", "expected"), ROWS)
def test_shape(shape: str, response: str, gold: str, expected: bool) -> None:
    result = grade(response, gold)
    assert result.correct is expected, (shape, response, gold, result)
    assert not result.timed_out


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_has_credited_cases_and_hard_negatives(shape: str) -> None:
    assert {row[2] for row in SHAPES[shape]} == {True, False}


@pytest.mark.parametrize(
    ("response", "source"),
    [
        ("so $x = \\boxed{3}$", "box"),
        ("\\boxed{1}, \\boxed{2}", "boxes"),
        ("The answer is 3.", "trigger"),
        ("x = 3", "whole"),
        ("Hence we get $x = 3$ here\nwith care", "last-math"),
        ("All done, the total is **3**", "bold"),
        ("So he has 3 left.\nWell done", "last-number"),
        ("<think>the answer is 3", "cut"),
        ("", "none"),
    ],
)
def test_grade_says_where_the_answer_came_from(response: str, source: str) -> None:
    gold = "1, 2" if source == "boxes" else "3"
    assert grade(response, gold).source == source


def test_a_choice_gold_reads_a_letter_with_source_choice() -> None:
    result = grade("I think it is B", "B")
    assert (result.correct, result.source) == (True, "choice")


def test_think_open_means_a_response_without_closing_tag_was_cut() -> None:
    interim = "Let me see... the answer is 300. Hmm, wait, that is not right"
    assert grade(interim, "300").correct  # no tags: the response is read as it is
    cut = grade(interim, "300", think="open")
    assert (cut.correct, cut.reason, cut.source) == (False, "no-answer", "cut")
    finished = grade(interim + "</think> The answer is 301.", "301", think="open")
    assert finished.correct and finished.source == "trigger"
    assert not grade("<think>the answer is 300", "300").correct  # "auto": an open tag
    assert grade("<think>x</think> the answer is 300", "300", think="none").correct


def test_environments_keep_the_boxed_protocol() -> None:
    assert not grade("The answer is 41.", "41", boxed_only=True).correct
    assert grade("The answer is \\boxed{41}.", "41", boxed_only=True).correct
