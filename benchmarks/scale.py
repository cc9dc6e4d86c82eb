"""Scale-out benchmark: the grader in-process, in worker processes, over HTTP and on Ray.

The items are the real model outputs of the grading dev set (../shared/grading), repeated to
fill batches of 256. Each path grades the same batches, one after the other:

- in-process, one thread (`grade` in a loop), and `grade_many` with 1 and 2 processes;
- HTTP: `mathattempt serve-grader --workers N` (N = 1, 2), one request per batch;
- Ray: `GradingPool(actors=N)` (N = 1, 2; one grading process each) on a local Ray cluster;
- math-verify 0.9.0 (the bench extra) in-process and in N Ray actors, each grading a share
  of the batch in its own process, the way verl's reward actors run it.

It prints items/s, items/s per grading process, and p50/p99 seconds per batch, and checks
that every path's verdicts equal the in-process ones. Run: python benchmarks/scale.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mathattempt_env.grading import grade, grade_many, warmup  # noqa: E402
from mathattempt_env.types import Grade  # noqa: E402
from tests import serving  # noqa: E402

DEV = ROOT.parent / "shared" / "grading" / "dev-real-outputs.jsonl"
BATCH = 256


def batches(count: int) -> list[list[tuple[str, str]]]:
    rows = [json.loads(line) for line in DEV.read_text().splitlines()]
    items = [(row["response"], row["gold"]) for row in rows]
    while len(items) < count * BATCH:
        items += items
    return [items[i * BATCH : (i + 1) * BATCH] for i in range(count)]


def split(batch: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [r for r, _ in batch], [g for _, g in batch]


def timed(name: str, processes: int, run: Callable[[list[tuple[str, str]]], list], work) -> dict:
    run(work[0])  # warm-up: start workers, fill caches
    times, verdicts = [], []
    for batch in work:
        start = time.perf_counter()
        verdicts += run(batch)
        times.append(time.perf_counter() - start)
    items = sum(len(b) for b in work)
    rate = items / sum(times)
    return {
        "name": name,
        "processes": processes,
        "rate": rate,
        "per": rate / processes,
        "p50": statistics.median(times),
        "p99": sorted(times)[int(0.99 * (len(times) - 1))],
        "verdicts": verdicts,
    }


def http(url: str) -> Callable[[list[tuple[str, str]]], list[Grade]]:
    def run(batch: list[tuple[str, str]]) -> list[Grade]:
        body = json.dumps({"responses": [r for r, _ in batch], "golds": [g for _, g in batch]})
        request = urllib.request.Request(f"{url}/grade", data=body.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=600) as reply:
            return [Grade(**g) for g in json.loads(reply.read())["grades"]]

    return run


class MathVerifyActor:
    """What a verl reward actor does with math-verify: parse and verify, one item at a time."""

    def verify(self, batch: list[tuple[str, str]]) -> list[bool]:
        from math_verify import parse, verify

        out = []
        for response, gold in batch:
            try:
                out.append(bool(verify(parse(f"${gold}$"), parse(response))))
            except Exception:
                out.append(False)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--batches", type=int, default=16, help="batches of 256 per path")
    args = parser.parse_args()
    import ray

    from mathattempt_env.serve.ray_pool import GradingPool

    warmup()
    work = batches(args.batches)
    rows = [
        timed("in-process, 1 thread (`grade`)", 1, lambda b: [grade(r, g) for r, g in b], work),
        timed("`grade_many`, 1 process", 1, lambda b: grade_many(*split(b), workers=1), work),
        timed("`grade_many`, 2 processes", 2, lambda b: grade_many(*split(b), workers=2), work),
    ]
    for workers in (1, 2):
        served = serving.start_grader("--workers", str(workers))
        try:
            rows.append(
                timed(f"HTTP `serve-grader --workers {workers}`", workers, http(served.url), work)
            )
        finally:
            serving.stop(served)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        for actors in (1, 2):
            pool = GradingPool(actors=actors, num_cpus=1)
            pool.pids()
            try:
                rows.append(
                    timed(
                        f"Ray `GradingPool(actors={actors})`",
                        actors,
                        lambda b, p=pool: p.grade_many(*split(b)),
                        work,
                    )
                )
            finally:
                pool.close()
        mv = [MathVerifyActor().verify]
        rows.append(timed("math-verify, in-process", 1, lambda b: mv[0](b), work[:4]))
        remote = ray.remote(num_cpus=1)(MathVerifyActor)
        for actors in (1, 2):
            pool_mv = [remote.remote() for _ in range(actors)]

            def run_mv(batch, pool_mv=pool_mv):
                share = -(-len(batch) // len(pool_mv))
                parts = [
                    a.verify.remote(batch[i * share : (i + 1) * share])
                    for i, a in enumerate(pool_mv)
                ]
                return [v for part in ray.get(parts) for v in part]

            rows.append(timed(f"math-verify in Ray, {actors} actor(s)", actors, run_mv, work[:4]))
    finally:
        ray.shutdown()
    base = rows[0]["verdicts"]
    print(
        f"Dev real outputs ({len(base)} graded per path, batches of {BATCH}); "
        "2-core machine, the client on the same cores\n"
    )
    print("| path | items/s | items/s per process | p50 s/batch | p99 s/batch | same verdicts |")
    print("|---|---:|---:|---:|---:|---|")
    for row in rows:
        same = "—"
        if row["name"].startswith("math-verify"):
            same = "(its own)"
        else:
            differ = sum(a != b for a, b in zip(row["verdicts"], base, strict=True))
            same = "yes" if not differ else f"NO ({differ})"
        print(
            f"| {row['name']} | {row['rate']:,.0f} | {row['per']:,.0f} | {row['p50']:.3f} | "
            f"{row['p99']:.3f} | {same} |"
        )
    many = next(r for r in rows if r["name"] == "`grade_many`, 2 processes")
    for row in rows:
        if row["name"].startswith(("HTTP", "Ray")):
            print(
                f"\n{row['name']}: {row['per'] / many['per']:.0%} of grade_many's per-process rate",
                end="",
            )
    mv_ray = next(r for r in rows if r["name"] == "math-verify in Ray, 2 actor(s)")
    mv_local = next(r for r in rows if r["name"] == "math-verify, in-process")
    ours_ray = next(r for r in rows if r["name"] == "Ray `GradingPool(actors=2)`")
    print(
        f"\n\nRay, 2 actors: ours / math-verify = {ours_ray['rate'] / mv_ray['rate']:.1f}x; "
        f"in-process: {rows[0]['rate'] / mv_local['rate']:.1f}x"
    )


if __name__ == "__main__":
    main()
