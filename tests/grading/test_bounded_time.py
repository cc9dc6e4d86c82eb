import asyncio
import threading
import time

import pytest

from mathattempt_env.grading import grade, warmup
from mathattempt_env.grading.isolation import WorkerPool, WorkerTimeout

TIMEOUT = 2.0
SLACK = 0.5

TOWER = r"5^{5^{5^{5^5}}}"
MATRIX_A = (
    r"\begin{pmatrix}"
    + r"\\".join("&".join(f"x_{{{i}{j}}}+y" for j in range(60)) for i in range(60))
    + r"\end{pmatrix}"
)
MATRIX_B = MATRIX_A.replace("+y", "+2y")

ADVERSARIAL = {
    "power tower as prediction": (rf"\boxed{{{TOWER}}}", "3"),
    "power tower as gold": (r"\boxed{3}", TOWER),
    "two different power towers": (r"\boxed{5^{5^{5^{5^4}}}}", TOWER),
    "factorial of a tower": (r"\boxed{(10^{10^{10}})!}", "5"),
    "20,000 nested braces": (r"\boxed{" + "{" * 20_000 + "1" + "}" * 20_000 + "}", "1"),
    "1 MB response": ("x" * 1_000_000 + r" \boxed{2}", "2"),
    "1 MB response without a box": ("1 + " * 250_000, "2"),
    "5,000 unclosed boxes": (r"\boxed{" * 5_000, "2"),
    "5,000-digit integers": (r"\boxed{" + "7" * 5_000 + "}", "7" * 4_999 + "8"),
    "60x60 symbolic matrix": (rf"\boxed{{{MATRIX_A}}}", MATRIX_B),
    "lone surrogates and NUL": ("\ud800\x00\\boxed{3\udfff}\x00", "3"),
    "huge exponential": (r"\boxed{e^{10^{100}}}", "1"),
    "sine of a huge number": (r"\boxed{\sin(10^{100})}", "0"),
    "sympy integral that runs long": (
        r"\boxed{\int_{0}^{1} \sin(x^{7})\cos(x^{5}) e^{x^{3}} dx}", "1"),
}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _warm_workers() -> None:
    warmup()


def _in_thread(response: str, gold: str, timeout: float = TIMEOUT):  # type: ignore[no-untyped-def]
    box: dict[str, object] = {}
    thread = threading.Thread(target=lambda: box.update(g=grade(response, gold, timeout=timeout)))
    start = time.perf_counter()
    thread.start()
    thread.join(timeout + 5)
    return box.get("g"), time.perf_counter() - start


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_input_returns_in_time_from_a_worker_thread(name: str) -> None:
    response, gold = ADVERSARIAL[name]
    result, elapsed = _in_thread(response, gold)
    assert result is not None, f"{name}: grade did not return"
    assert elapsed <= TIMEOUT + SLACK, f"{name}: took {elapsed:.2f}s"
    assert result.correct is (name == "1 MB response")
    assert (result.reason == "timeout") is result.timed_out


def test_identical_power_towers_are_correct_without_evaluation() -> None:
    result, elapsed = _in_thread(rf"\boxed{{{TOWER}}}", TOWER)
    assert result.correct and elapsed < TIMEOUT


def test_a_sympy_overrun_is_a_timeout_verdict_and_the_worker_is_replaced() -> None:
    response, gold = ADVERSARIAL["sympy integral that runs long"]
    result, elapsed = _in_thread(response, gold, timeout=1.0)
    assert result.timed_out and not result.correct and result.reason == "timeout"
    assert elapsed <= 1.0 + SLACK
    # The pool still works afterwards: the killed worker was replaced.
    assert grade(r"\boxed{\sum_{n=1}^{10} n}", "55", timeout=30).correct


def test_timeout_holds_inside_a_running_asyncio_loop() -> None:
    response, gold = ADVERSARIAL["sympy integral that runs long"]

    async def main() -> tuple[bool, float]:
        start = time.perf_counter()
        result = grade(response, gold, timeout=1.0)
        return result.timed_out, time.perf_counter() - start

    timed_out, elapsed = asyncio.run(main())
    assert timed_out and elapsed <= 1.0 + SLACK


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
