"""The built-in generator: deterministic, varied, and every gold passes the grader."""

from collections import Counter

import pytest

from mathattempt_env.data import FAMILIES, BuiltinProblems
from mathattempt_env.errors import ConfigError
from mathattempt_env.grading import grade, validate_gold


def test_items_depend_only_on_seed_and_index():
    a, b = BuiltinProblems(seed=5), BuiltinProblems(seed=5)
    assert [a[i] for i in (9, 3, 7)] == [b[i] for i in (9, 3, 7)]
    assert a[3] != BuiltinProblems(seed=6)[3]
    assert a[-1] == a[len(a) - 1] and a[2:4] == [a[2], a[3]]
    with pytest.raises(IndexError):
        a[len(a)]


def test_families_and_levels_are_all_used():
    items = BuiltinProblems(seed=0)[:2000]
    assert set(Counter(p.subject for p in items)) == set(FAMILIES)
    assert set(p.level for p in items) == {1, 2, 3, 4, 5}
    assert len({p.problem for p in items}) > 1500


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_gold_passes_the_grader(family):
    for level in range(1, 6):
        for p in BuiltinProblems(seed=level, size=40, levels=(level,), families=[family]):
            validate_gold(p.answer, where=p.id)
            g = grade(f"Thus the answer is $\\boxed{{{p.answer}}}$.", p.answer, boxed_only=True)
            assert g.correct, (p, g)
            assert not grade("\\boxed{-99991}", p.answer, boxed_only=True).correct


def test_answers_use_math_forms():
    answers = [p.answer for p in BuiltinProblems(seed=0)[:3000]]
    assert any(a.startswith("\\frac{") or a.startswith("-\\frac{") for a in answers)
    assert any(a.startswith("(-\\infty") for a in answers)
    assert any("_{2}" in a for a in answers)
    assert any(a.endswith("\\%") for a in answers)
    assert any(", " in a and not a.startswith("(") for a in answers)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "builtin seed"),
        ({"size": 0}, "builtin size"),
        ({"levels": (0,)}, "builtin levels"),
        ({"families": ["calculus"]}, "unknown \\['calculus'\\]"),
    ],
)
def test_bad_configuration(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        BuiltinProblems(**kwargs)
