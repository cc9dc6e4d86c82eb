from fractions import Fraction

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mathattempt_env.errors import InvalidGoldError
from mathattempt_env.grading import grade, validate_gold

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

small = st.integers(min_value=-10_000, max_value=10_000)
positive = st.integers(min_value=1, max_value=999)


@FAST
@given(
    st.text(), st.sampled_from(["1", r"\frac{1}{2}", "x+1", "(1, 2)", r"\text{Bob}"]), st.booleans()
)
def test_never_raises_on_arbitrary_text(response: str, gold: str, boxed_only: bool) -> None:
    result = grade(response, gold, boxed_only=boxed_only, timeout=2.0)
    assert isinstance(result.correct, bool)


@FAST
@given(
    st.text(alphabet=st.sampled_from(list("{}\\boxed()[]^_0123456789xe.,=+-*/ $<>|")), max_size=80)
)
def test_never_raises_on_latex_shaped_noise(response: str) -> None:
    grade(response, r"\frac{1}{2}", timeout=2.0)
    grade(f"\\boxed{{{response}}}", "x^2", timeout=2.0)


def _golds() -> st.SearchStrategy[str]:
    integers = small.map(str)
    fractions = st.tuples(small, positive).map(lambda p: rf"\frac{{{p[0]}}}{{{p[1]}}}")
    radicals = st.tuples(positive, positive).map(lambda p: rf"{p[0]}\sqrt{{{p[1]}}}")
    polys = st.tuples(small, small).map(lambda p: f"{p[0]}x^2 + {p[1]}x")
    tuples = st.tuples(small, small).map(lambda p: f"({p[0]}, {p[1]})")
    texts = st.text(alphabet="abcdefghij", min_size=3, max_size=8).map(lambda w: rf"\text{{{w}}}")
    return st.one_of(integers, fractions, radicals, polys, tuples, texts, st.text(max_size=30))


@FAST
@given(_golds())
@example("<think>")  # found by this test: a thinking tag is no gold (a response is cut there)
@example("5</think>")
def test_boxed_gold_is_correct_for_every_valid_gold(gold: str) -> None:
    try:
        validate_gold(gold)
    except InvalidGoldError:
        return
    assert grade("\\boxed{" + gold + "}", gold, timeout=5.0).correct


@FAST
@given(small, positive)
def test_equivalent_fraction_rewrites_agree(numerator: int, denominator: int) -> None:
    value = Fraction(numerator, denominator)
    gold = rf"\frac{{{numerator}}}{{{denominator}}}"
    rewrites = [
        rf"\dfrac{{{numerator}}}{{{denominator}}}",
        f"{numerator}/{denominator}",
        rf"\left( \frac{{{value.numerator}}}{{{value.denominator}}} \right)",
        rf"\frac{{{2 * numerator}}}{{{2 * denominator}}}",
    ]
    if value.denominator == 1:
        rewrites.append(str(value.numerator))
    for rewrite in rewrites:
        assert grade(f"\\boxed{{{rewrite}}}", gold).correct, rewrite
    assert not grade(f"\\boxed{{{numerator + denominator}/{denominator}}}", gold).correct


@FAST
@given(st.lists(small, min_size=1, max_size=6, unique=True), st.randoms(use_true_random=False))
def test_set_answers_agree_in_any_order(items: list[int], rng) -> None:  # type: ignore[no-untyped-def]
    gold = ", ".join(map(str, items))
    shuffled = items[:]
    rng.shuffle(shuffled)
    assert grade(rf"\boxed{{\{{{', '.join(map(str, shuffled))}\}}}}", gold).correct
    if len(items) > 1:
        assert not grade(rf"\boxed{{{', '.join(map(str, shuffled[1:]))}}}", gold).correct


@FAST
@given(small, small)
def test_polynomial_rewrites_agree(a: int, b: int) -> None:
    gold = f"{a}x^2 + {b}x"
    assert grade(rf"\boxed{{x({a}x + {b})}}", gold).correct
    assert grade(rf"\boxed{{{b}x + {a}x^2}}", gold).correct
    assert not grade(rf"\boxed{{{a}x^2 + {b + 1}x}}", gold).correct
