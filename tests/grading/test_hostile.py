"""The grader is bounded in time, memory and processes for any input and any caller.

Every hostile shape, as a response and as a gold, in a thread; the same under the other callers
a training node has (asyncio, forked, spawned and daemonic workers); a worker killed or
overrunning, also under CPU starvation; orphans after the parent dies; a long soak.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mathattempt_env.errors import InvalidGoldError
from mathattempt_env.grading import grade, grader_stats, isolation, validate_gold, warmup
from tests.grading.hostile import cases, graded_in_thread
from tests.procs import LoadMeter

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 1.0
SLACK = 0.2
# validate_gold's CPU time for the worst shape here (an 80 KB gold of 5,000 fractions) is
# 0.18 s on an idle 2-core machine; with the rest of the suite on both cores the same work
# took 0.57 s of this thread's CPU (shared caches), so the bound is 1 s: linear work, not a hang.
VALIDATE_BOUND = 1.0
MEMORY_CEILING_MB = 256
CASES = cases()


def sympy_answer(n: int) -> tuple[str, str]:
    """A correct answer only the sympy path can read; distinct per ``n`` (no cache hits)."""
    return rf"\boxed{{\sum_{{k=1}}^{{{n}}} k}}", str(n * (n + 1) // 2)


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warmup()


@pytest.mark.parametrize("name,response,gold", CASES, ids=[c[0] for c in CASES])
def test_hostile_shape_is_bounded_as_response_and_as_gold(
    name: str, response: str, gold: str
) -> None:
    # validate_gold has no time limit of its own (it runs once per row, at load): its bound is
    # on work, so it is measured in this thread's CPU time, which a busy node does not inflate.
    start = time.thread_time()
    try:
        validate_gold(gold)
        valid = True
    except InvalidGoldError:
        valid = False
    spent = time.thread_time() - start
    assert spent <= VALIDATE_BOUND, f"{name}: validate_gold took {spent:.2f} s of CPU"
    if not valid:
        return
    result, elapsed = graded_in_thread(response, gold, TIMEOUT)
    assert result is not None, f"{name}: grade did not return"
    assert elapsed <= TIMEOUT + SLACK, f"{name}: took {elapsed:.2f}s"
    assert (result.reason == "timeout") is result.timed_out


_MEMORY_CHILD = """
import resource, sys, threading
sys.path.insert(0, {root!r})
from mathattempt_env.errors import InvalidGoldError
from mathattempt_env.grading import grade, validate_gold
from tests.grading.hostile import cases, graded_in_thread
grade(r"\\boxed{{1}}", "1")
def peak():  # this process's own high-water mark (ru_maxrss can carry the parent's)
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) // 1024
with open("/proc/self/statm") as f:
    base = int(f.read().split()[1]) * resource.getpagesize() // 2**20
for name, response, gold in cases():
    try:
        validate_gold(gold)
    except InvalidGoldError:
        continue
    t = threading.Thread(target=grade, args=(response, gold), kwargs={{"timeout": 1.0}})
    t.start(); t.join()
    print(name, peak() - base, flush=True)
"""


def test_hostile_shapes_stay_under_the_memory_ceiling() -> None:
    code = _MEMORY_CHILD.format(root=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    ).stdout.splitlines()
    assert len(out) > 40
    worst = max(out, key=lambda line: int(line.rsplit(" ", 1)[1]))
    # The peak over all calls bounds each call's extra memory.
    assert int(worst.rsplit(" ", 1)[1]) <= MEMORY_CEILING_MB, worst


def test_bounded_in_the_main_thread_and_inside_a_running_asyncio_loop() -> None:
    slow = [c for c in CASES if "runs long" in c[0] or "factorials" in c[0]]

    async def in_loop() -> float:
        worst = 0.0
        for _, response, gold in slow:
            start = time.perf_counter()
            grade(response, gold, timeout=TIMEOUT)
            worst = max(worst, time.perf_counter() - start)
        return worst

    for _, response, gold in slow:
        start = time.perf_counter()
        grade(response, gold, timeout=TIMEOUT)
        assert time.perf_counter() - start <= TIMEOUT + SLACK
    assert asyncio.run(in_loop()) <= TIMEOUT + SLACK


def _child_grades(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    slow = [c for c in CASES if "runs long" in c[0] or "factorials" in c[0]]
    worst = 0.0
    for _, response, gold in slow:  # the first sympy job may find the worker still starting
        start = time.perf_counter()
        grade(response, gold, timeout=TIMEOUT)
        worst = max(worst, time.perf_counter() - start)
    warmup()
    answer, gold = sympy_answer(11)
    queue.put((worst, grade(answer, gold).correct, os.getpid()))


@pytest.mark.parametrize("method,daemon", [("fork", False), ("spawn", False), ("spawn", True)])
def test_bounded_in_forked_spawned_and_daemonic_workers(method: str, daemon: bool) -> None:
    context = multiprocessing.get_context(method)
    queue = context.Queue()
    process = context.Process(target=_child_grades, args=(queue,), daemon=daemon)
    process.start()
    worst, correct, _ = queue.get(timeout=300)
    process.join(60)
    assert worst <= TIMEOUT + SLACK
    assert correct


def _zygote_children() -> list[int]:
    server = isolation.server()
    assert server.proc is not None
    return _children_of(server.proc.pid)


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_worker_soon(delay: float) -> threading.Thread:
    def kill() -> None:
        time.sleep(delay)
        for pid in _zygote_children():
            os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


def _recovers(first: int) -> None:
    """After a kill or an overrun, the next correct answers needing sympy are all credited."""
    results = [grade(*sympy_answer(n)) for n in range(first, first + 5)]
    assert all(g.correct for g in results), results


def test_a_worker_killed_mid_grade_is_a_timeout_and_the_next_grades_are_right() -> None:
    long_answer = CASES[[c[0] for c in CASES].index("response: sympy integral that runs long")]
    killer = _kill_worker_soon(0.3)
    result, elapsed = graded_in_thread(long_answer[1], long_answer[2], timeout=10.0)
    killer.join()
    assert result is not None and result.timed_out and elapsed < 5
    _recovers(100)


def test_an_overrun_is_a_timeout_and_the_next_grades_are_right() -> None:
    _, response, gold = CASES[
        [c[0] for c in CASES].index("response: sympy integral that runs long")
    ]
    before = grader_stats().get("timeout:sympy", 0)
    result, elapsed = graded_in_thread(response, gold, timeout=0.5)
    assert result is not None and result.timed_out and elapsed <= 0.5 + SLACK
    assert grader_stats()["timeout:sympy"] == before + 1
    _recovers(200)


@pytest.fixture
def burners() -> Iterator[None]:
    """Starve the CPU: more busy processes than cores, for the length of the test."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(2 * (os.cpu_count() or 1) + 2)
    ]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


@pytest.mark.usefixtures("burners")
def test_kills_and_overruns_under_cpu_starvation_do_not_livelock() -> None:
    _, response, gold = CASES[
        [c[0] for c in CASES].index("response: sympy integral that runs long")
    ]
    for round_ in range(3):
        killer = _kill_worker_soon(0.3)
        result, elapsed = graded_in_thread(response, gold, timeout=10.0)
        killer.join()
        assert result is not None and result.timed_out
        with LoadMeter() as meter:  # the burners are ours; other jobs' load is tolerated
            overrun, elapsed = graded_in_thread(response, gold, timeout=0.5)
        assert overrun is not None and overrun.timed_out
        assert elapsed <= 0.5 + SLACK * meter.factor, (elapsed, meter.factor)
        _recovers(300 + 10 * round_)


def test_at_most_one_sympy_worker_under_concurrent_sympy_grades() -> None:
    threads = [
        threading.Thread(target=lambda n=n: grade(*sympy_answer(n))) for n in range(400, 416)
    ]
    peak = 0
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, len(_zygote_children()))
        time.sleep(0.01)
    assert peak == 1  # one worker per process unless asked


_ORPHAN_CHILD = """
import os, sys, threading, time
sys.path.insert(0, {root!r})
from mathattempt_env.grading import grade, warmup
from mathattempt_env.grading import isolation
from tests.grading.hostile import shapes
warmup()
print(isolation.server().proc.pid, flush=True)
slow = shapes()["sympy integral that runs long"]
threading.Thread(target=grade, args=(slow, "1"), kwargs={{"timeout": 60}}, daemon=True).start()
time.sleep(1.0)
print("grading", flush=True)
if {mode!r} == "exit":
    sys.exit(0)
if {mode!r} == "raise":
    raise RuntimeError("the trainer crashed")
time.sleep(60)
"""


@pytest.mark.parametrize("mode", ["kill", "exit", "raise"])
def test_no_worker_outlives_its_parent(mode: str) -> None:
    code = _ORPHAN_CHILD.format(root=str(ROOT), mode=mode)
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert child.stdout is not None
    zygote = int(child.stdout.readline())
    assert child.stdout.readline().strip() == "grading"
    workers = _children_of(zygote)
    assert workers, "the slow job should be running in a worker"
    if mode == "kill":
        child.send_signal(signal.SIGKILL)
    child.wait(30)
    time.sleep(2.0)
    assert not [pid for pid in [zygote, *workers] if _alive(pid)]


_LAZY_CHILD = """
import sys
sys.path.insert(0, {root!r})
from mathattempt_env.grading import grade, isolation
assert grade(r"\\boxed{{\\frac{{1}}{{2}}}}", "0.5").correct
assert grade("x = 3", "3").correct
print(isolation._server is None)
grade(r"\\boxed{{\\sum_{{k=1}}^{{3}} k}}", "6")
print(isolation._server is not None)
"""


def test_the_sympy_worker_starts_only_when_the_fast_path_needs_it() -> None:
    code = _LAZY_CHILD.format(root=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["True", "True"]


_SOAK_CHILD = """
import sys
sys.path.insert(0, {root!r})
from mathattempt_env.grading import grade
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 // 2**20
samples = []
for n in range({count}):
    if n % 100 == 0:
        answer = "\\\\boxed{{%d" % n + "7" * 50_000 + "}}"  # a distinct 50 KB answer
    else:
        answer = "\\\\boxed{{\\\\frac{{%d}}{{%d}}}}" % (n, n + 1)
    grade(answer, "\\\\frac{{%d}}{{%d}}" % (n % 97, n % 89 + 1))
    if n % ({count} // 10) == 0:
        samples.append(rss())
samples.append(rss())
print(" ".join(map(str, samples)))
"""


def test_soak_of_100000_distinct_grades_levels_off() -> None:
    code = _SOAK_CHILD.format(root=str(ROOT), count=100_000)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=900, check=True
    )
    samples = [int(x) for x in out.stdout.split()]
    print("RSS MB at each tenth:", samples)
    start, middle, end = samples[1], samples[len(samples) // 2], samples[-1]
    # Four byte-bounded caches of 32 MB each, plus allocator slack; and flat in the second half.
    assert end - start <= 200, samples
    assert end - middle <= 40, samples
