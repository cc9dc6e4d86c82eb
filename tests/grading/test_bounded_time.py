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
