import time

import pytest

from mathattempt_env.grading import warmup
from mathattempt_env.grading.isolation import WorkerPool, WorkerTimeout
from tests.grading.hostile import PAIRS, TOWER, graded_in_thread

# Time bounds under every caller, worker kills and overruns: tests/grading/test_hostile.py.


@pytest.fixture(scope="module", autouse=True)
def _warm_workers() -> None:
    warmup()


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_hostile_pairs_get_the_right_verdict(name: str) -> None:
    response, gold = PAIRS[name]
    result, _ = graded_in_thread(response, gold, timeout=2.0)
    assert result is not None
    assert result.correct is (name == "1 MB response")


def test_identical_power_towers_are_correct_without_evaluation() -> None:
    result, elapsed = graded_in_thread(rf"\boxed{{{TOWER}}}", TOWER, timeout=2.0)
    assert result.correct and elapsed < 2.0


def test_worker_pool_kills_and_replaces_an_overrunning_worker() -> None:
    pool = WorkerPool(size=1)
    try:
        start = time.perf_counter()
        with pytest.raises(WorkerTimeout):
            pool.run(time.sleep, 30, timeout=1.0, startup_timeout=60)
        assert time.perf_counter() - start < 10
        assert pool.run(sum, [1, 2, 3], timeout=60) == 6
    finally:
        pool.close()


def test_worker_errors_are_reported_not_hung() -> None:
    pool = WorkerPool(size=1)
    try:
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            pool.run(divmod, 1, 0, timeout=60)
        assert pool.run(divmod, 7, 2, timeout=60) == (3, 1)
    finally:
        pool.close()


HUGE = {
    "a million boxes": (r"\boxed{1}" * 1_000_000, True),
    "a million boxes between words": (r"\boxed{12} and " * 600_000, False),
    "100,000 nested boxes": (r"\boxed{" * 100_000 + "1" + "}" * 100_000, True),
    "two million open braces": ("{" * 2_000_000, False),
    "a million math spans": ("$1$ " * 1_000_000, True),
    "5 MB of thinking, then the answer": (
        "<think>" + "x" * 5_000_000 + r"</think> \boxed{1}",
        True,
    ),
    "9 MB of digits": ("1" * 9_000_000, False),
}


@pytest.mark.parametrize("name", sorted(HUGE))
def test_grade_called_directly_is_bounded_in_time_and_memory_for_any_size(name: str) -> None:
    import tracemalloc

    from mathattempt_env.grading import grade

    response, correct = HUGE[name]
    start = time.perf_counter()
    result = grade(response, "1", timeout=1.0)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0 + 0.25, elapsed
    assert result.correct is correct, result
    tracemalloc.start()
    try:
        grade(response + " ", "1", timeout=1.0)  # not a cached answer
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * len(response) + (64 << 20), peak  # the response's own copies, no more
