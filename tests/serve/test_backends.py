"""One guarantee everywhere: the same response and gold get the same verdict in-process, in 32
threads, in asyncio, in grade_many, in the Ray pool and over HTTP (or a verdict that says it
timed out), with every core kept busy by a CPU burner, as on a training node."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from mathattempt_env.grading import grade, grade_many
from mathattempt_env.serve.ray_pool import GradingPool
from mathattempt_env.types import Grade
from tests import serving
from tests.grading.hostile import cases
from tests.shared import SHARED


def _items() -> list[tuple[str, str]]:
    items = []
    with open(SHARED / "grading" / "dev-real-outputs.jsonl") as handle:
        items += [(row["response"], row["gold"]) for row in map(json.loads, handle)]
    with open(SHARED / "grading" / "dev-test-suites.jsonl") as handle:
        items += [(row["pred"], row["gold"]) for row in map(json.loads, handle)]
    # A quarter of the hostile shapes (as responses and as golds): each may take its whole
    # time limit, six times over, so the full set is left to tests/grading/test_hostile.py.
    items += [(response, gold) for _, response, gold in cases()[::4]]
    return items


def _http(url: str, items: list[tuple[str, str]]) -> list[Grade]:
    grades = []
    for lo in range(0, len(items), 256):
        batch = items[lo : lo + 256]
        body = json.dumps({"responses": [r for r, _ in batch], "golds": [g for _, g in batch]})
        request = urllib.request.Request(f"{url}/grade", data=body.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=300) as reply:
            grades += [Grade(**g) for g in json.loads(reply.read())["grades"]]
    return grades


BURN = "import time\nend = time.time() + 900\nwhile time.time() < end: pass\n"


@pytest.mark.needs_shared
def test_every_backend_gives_the_same_verdicts_under_load(ray_cluster):
    import os

    items = _items()
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(os.cpu_count() or 1)]
    served = serving.start_grader("--workers", "2")
    pool = GradingPool(actors=2, num_cpus=0)
    try:
        responses, golds = [r for r, _ in items], [g for _, g in items]

        async def in_loop() -> list[Grade]:
            return [grade(r, g) for r, g in items]  # inside a running event loop

        def threaded() -> list[Grade]:
            with ThreadPoolExecutor(32) as threads:
                return list(threads.map(lambda item: grade(*item), items))

        runs = {
            "in-process": lambda: [grade(r, g) for r, g in items],
            "32 threads": threaded,
            "asyncio": lambda: asyncio.run(in_loop()),
            "grade_many": lambda: grade_many(responses, golds, workers=2),
            "ray": lambda: pool.grade_many(responses, golds, deadline=600),
            "http": lambda: _http(served.url, items),
        }
        results, took = {}, {}
        for name, run in runs.items():
            started = time.monotonic()
            results[name] = run()
            took[name] = round(time.monotonic() - started, 1)
        baseline = results.pop("in-process")
    finally:
        pool.close()
        serving.stop(served)
        for burner in burners:
            burner.kill()
            burner.wait()
    differ = {}
    for name, verdicts in results.items():
        assert len(verdicts) == len(items), name
        wrong = [
            (i, base, got)
            for i, (base, got) in enumerate(zip(baseline, verdicts, strict=True))
            if base != got and not (base.timed_out or got.timed_out)
        ]
        differ[name] = wrong
        # No correct answer is scored wrong without saying it timed out.
        assert not [
            i
            for i, (b, g) in enumerate(zip(baseline, verdicts, strict=True))
            if b.correct and not g.correct and not g.timed_out
        ], name
    assert not any(differ.values()), {k: v[:3] for k, v in differ.items() if v}
    timed_out = {name: sum(v.timed_out for v in verdicts) for name, verdicts in results.items()}
    print(f"{len(items)} items; timed out per backend: {timed_out}; seconds: {took}")
    assert len(items) > 2000


def test_one_item_that_overruns_in_a_worker_costs_seconds_not_the_batch():
    """A sympy integral ignores its limit inside a worker; its chunk is cut short and re-run
    item by item, so the batch takes seconds (it took limit x chunk size, minutes, before)."""
    slow = next(
        (r, g) for name, r, g in cases() if name == "response: sympy integral that runs long"
    )
    items = [(rf"\boxed{{{i}}}", str(i)) for i in range(300)]
    items[150] = slow
    started = time.monotonic()
    verdicts = grade_many([r for r, _ in items], [g for _, g in items], workers=2)
    took = time.monotonic() - started
    assert took < 20, took
    assert verdicts[150].timed_out and all(v.correct for i, v in enumerate(verdicts) if i != 150)
