"""Equation chains with members the parser cannot read, numerals with letter digits, and the
windowed search for the last answer phrase in long responses.

The chain and numeral rules decide in-process what used to need the sympy worker; the tests
check the verdict and that no sympy job ran (``grader_stats``), through :func:`grade`.
"""

from __future__ import annotations

import random

import pytest

from mathattempt_env.grading import grade, grader_stats
from mathattempt_env.grading.chain import chain_ends
from mathattempt_env.grading.triggers import LANGUAGES, WINDOW, Triggers

# (answer as the model writes it, gold, expected)
CHAINS = [
    (r"n = {50\choose3} = \frac{50 \cdot 49 \cdot 48}{3 \cdot 2} = 19600", "19600", True),
    (r"n = {50\choose3} = \frac{50 \cdot 49 \cdot 48}{3 \cdot 2} = 19600", "196", False),
    (r"\sum_{y=1}^{99} \left\lfloor \frac{100-y}{y(y+1)} \right\rfloor = 49 + 16 = 85", "85", True),
    (r"\sum_{y=1}^{99} \left\lfloor \frac{100-y}{y(y+1)} \right\rfloor = 49 + 16 = 85", "5", False),
    (r"2^{10} - 252 = 772 \implies m + n = 937", "937", False),  # not a label: an equation
    (r"\frac{1}{2} = 0.5 \implies k = 12", "12", True),  # only the conclusion counts
    (r"\frac{1}{2} = 0.5 \implies k = 12", "0.5", False),
]


@pytest.mark.parametrize(("answer", "gold", "expected"), CHAINS)
def test_chains_are_read_from_their_ends_without_sympy(
    answer: str, gold: str, expected: bool
) -> None:
    jobs = grader_stats().get("sympy_jobs", 0)
    result = grade(f"The final answer is ${answer}$.", gold)
    assert result.correct is expected, result
    assert grader_stats().get("sympy_jobs", 0) == jobs


@pytest.mark.parametrize(
    "text",
    [
        "x <= 5",  # another relation
        "x >= 5",
        "a != b",
        "x := 5",
        "x = 1, y = 2",  # a list of answers is not one chain
        r"x = 2 \text{ or } x = 3",
        r"x = 1 \quad y = 2",
        "= 5",
        "x =",
        r"\sum_{k=1}^{9} k",  # '=' only inside a group
    ],
)
def test_what_is_not_a_chain(text: str) -> None:
    assert chain_ends(text) is None


def test_a_chain_never_turns_a_list_into_one_equation() -> None:
    assert grade(r"The answer is $x = \frac{1}{2}, y = 3$.", "x = 3").correct is False


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        (r"\text{A5}_{11}", r"\text{A5}_{11}", True),
        ("A5_{11}", r"\text{A5}_{11}", True),
        (r"\mathrm{a5}_{11}", r"\text{A5}_{11}", True),
        (r"\text{A6}_{11}", r"\text{A5}_{11}", False),
        ("115", r"\text{A5}_{11}", False),  # the value in base ten is not the numeral asked for
        ("1011_2", "1011_2", True),
    ],
)
def test_numerals_with_letter_digits_are_read_in_process(
    answer: str, gold: str, expected: bool
) -> None:
    jobs = grader_stats().get("sympy_jobs", 0)
    assert grade(f"The answer is ${answer}$.", gold).correct is expected
    assert grader_stats().get("sympy_jobs", 0) == jobs


def _reference_last(triggers: Triggers, text: str) -> tuple[int, int] | None:
    """The last-starting match of any phrase, by trying every position (slow, obvious)."""
    best = None
    for pattern in (p for _, p in triggers.anchored):
        for start in range(len(text)):
            found = pattern.match(text, start)
            if found is not None and (best is None or start > best[0]):
                best = found.span()
    return best


PHRASES = [
    "The answer is 7.",
    "Answer: 12",
    "#### 9",
    "\nA: 4",
    "la réponse est 3",
    "answer",  # an anchor without its phrase
    "answer (in cm) is 5",
]


@pytest.mark.parametrize("seed", range(12))
def test_the_windowed_search_finds_the_same_phrase_as_a_full_scan(seed: int) -> None:
    rng = random.Random(seed)
    triggers = Triggers(LANGUAGES, ())
    filler = "We compute the sum of the terms; then x + y = 3 and so on. "
    parts: list[str] = []
    size = rng.randrange(WINDOW // 2, 3 * WINDOW)
    while sum(map(len, parts)) < size:
        parts.append(rng.choice(PHRASES) if rng.random() < 0.05 else filler)
    text = "".join(parts)
    # Put a phrase right across a window boundary, where a window-by-window search can slip.
    cut = len(text) - WINDOW - rng.randrange(0, 12)
    if cut > 0:
        text = text[:cut] + rng.choice(PHRASES) + text[cut:]
    assert triggers.last(text) == _reference_last(triggers, text)


def test_a_phrase_starting_just_before_a_window_still_wins() -> None:
    triggers = Triggers(("en",), ())
    # "\nA: 4" matches from the line start, up to LEAD characters before its anchor "a:".
    tail = "x" * (WINDOW - 2)
    text = "The answer is 1. " + "\n  A: 4" + tail
    found = triggers.last(text)
    assert found is not None and text[found[1] :].strip().startswith("4")
