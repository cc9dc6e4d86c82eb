import dataclasses
import multiprocessing
import warnings

import pytest

from mathattempt_env.errors import ConfigError, InvalidGoldError
from mathattempt_env.grading import Grade, grade, grade_many, validate_gold


def test_grade_is_a_frozen_verdict() -> None:
    result = grade(r"\boxed{4}", "4")
    assert isinstance(result, Grade)
    assert result.elapsed_s >= 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.correct = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("gold", "kind"),
    [
        (r"\dfrac{9}{7}", "expr"), (r"3\sqrt{13}", "expr"), (r"\text{Evelyn}", "text"),
        ("$5$", "expr"), (r"\boxed{5}", "expr"), ("1, 2", "set"), ("(1, 2)", "tuple"),
        ("[1, 2)", "union"), ("y = 2x", "eq"), (r"\begin{pmatrix}1\end{pmatrix}", "mat"),
        ("(B)", "choice"), ("Monday", "text"),
    ],
)  # fmt: skip
def test_validate_gold_reads_bare_latex_and_plain_text(gold: str, kind: str) -> None:
    assert validate_gold(gold) == kind
    assert grade(f"\\boxed{{{gold}}}", gold).correct


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ("", "empty after removing delimiters"),
        ("   $ $ ", "empty after removing delimiters"),
        (r"\frac{1}{", "unbalanced braces"),
        ("1}", "unbalanced braces"),
        ("\\", "dangling backslash"),
        ("a\x00b", "NUL byte"),
        (3, "expected a string, got int"),
        ("9" * 100_001, "longer than"),
    ],
)
def test_bad_gold_raises_at_load_time_and_is_a_verdict_when_grading(
    gold: object, message: str
) -> None:
    with pytest.raises(InvalidGoldError, match=message):
        validate_gold(gold)  # type: ignore[arg-type]
    result = grade(r"\boxed{1}", gold)  # type: ignore[arg-type]
    assert (result.correct, result.reason, result.timed_out) == (False, "invalid-gold", False)
    assert result.formatted and result.extracted is None


def test_validate_gold_names_where_the_gold_came_from() -> None:
    with pytest.raises(InvalidGoldError, match=r"\(math500.jsonl row 7\): unbalanced braces; got"):
        validate_gold("{", where="math500.jsonl row 7")


@pytest.mark.parametrize("workers", [1, 2])
def test_one_bad_gold_in_a_batch_costs_only_its_own_item(workers: int) -> None:
    golds = ["1", ""] * 40  # 80 items: grade_many uses worker processes when workers > 1
    results = grade_many([r"\boxed{1}"] * 80, golds, workers=workers)
    assert [r.reason for r in results[:2]] == ["exact", "invalid-gold"]
    assert [r.correct for r in results] == [True, False] * 40


def test_bad_configuration_raises() -> None:
    with pytest.raises(ConfigError, match="expected timeout > 0"):
        grade("1", "1", timeout=0)
    with pytest.raises(ConfigError, match="as many golds as responses"):
        grade_many(["1"], ["1", "2"])
    with pytest.raises(ConfigError, match="workers >= 1"):
        grade_many(["1"], ["1"], workers=0)


def test_grade_many_keeps_order_in_parallel_and_matches_grade() -> None:
    golds = [str(n) for n in range(200)]
    responses = [f"\\boxed{{{n if n % 3 else n + 1}}}" for n in range(200)]
    parallel = grade_many(responses, golds, workers=2)
    serial = [grade(r, g) for r, g in zip(responses, golds, strict=True)]
    assert [g.correct for g in parallel] == [g.correct for g in serial]
    assert [g.extracted for g in parallel] == [g.extracted for g in serial]
    assert sum(g.correct for g in parallel) == sum(1 for n in range(200) if n % 3)


def _grade_in_child(queue: "multiprocessing.Queue[bool]") -> None:
    queue.put(grade(r"\boxed{\sqrt{8}}", r"2\sqrt{2}").correct)


def test_grade_works_inside_a_daemonic_multiprocessing_worker() -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[bool] = ctx.Queue()
    child = ctx.Process(target=_grade_in_child, args=(queue,), daemon=True)
    child.start()
    assert queue.get(timeout=60) is True
    child.join(30)
    assert child.exitcode == 0


def test_grade_many_honours_box_and_boxed_only_in_its_workers() -> None:
    responses = [r"\boxed{1} then \boxed{2}"] * 100 + ["The answer is 1."] * 100
    golds = ["1"] * 200
    first = grade_many(responses, golds, workers=2, box="first")
    last = grade_many(responses, golds, workers=2)
    strict = grade_many(responses, golds, workers=2, boxed_only=True, box="first")
    assert all(g.correct for g in first)
    assert [g.correct for g in last] == [False] * 100 + [True] * 100
    assert [g.correct for g in strict] == [True] * 100 + [False] * 100


def test_grade_many_uses_a_modest_default_worker_count_and_closes_its_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mathattempt_env.grading import grader, isolation

    sizes: list[int] = []
    original = isolation.WorkerPool.__init__

    def spy(self: isolation.WorkerPool, size: int = 1) -> None:
        sizes.append(size)
        original(self, size)

    monkeypatch.setattr(isolation.WorkerPool, "__init__", spy)
    monkeypatch.setattr(grader.os, "cpu_count", lambda: 64)
    assert sum(g.correct for g in grade_many([r"\boxed{3}"] * 100, ["3"] * 100)) == 100
    assert sizes == [grader.GRADE_MANY_WORKERS] == [4]


def test_an_unexpected_exception_is_counted_warned_once_and_not_credited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from mathattempt_env.grading import grader, grader_stats

    def broken(*args: object) -> tuple[bool, str, str]:
        raise ValueError("a bug in the comparison")

    monkeypatch.setattr(grader, "_judge", broken)
    monkeypatch.setattr(grader, "_warned", threading.Event())
    before = grader_stats().get("unexpected_errors", 0)
    with pytest.warns(RuntimeWarning, match="unexpected ValueError: a bug in the comparison"):
        first = grade(r"\boxed{2}", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = grade(r"\boxed{3}", "3")  # counted again, but no second warning
    assert (first.correct, first.reason, second.reason) == (False, "unparseable", "unparseable")
    assert grader_stats()["unexpected_errors"] == before + 2
