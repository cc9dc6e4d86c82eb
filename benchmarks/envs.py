"""Environment benchmark: episode throughput, step latency and the env's own overhead.

Scripted responses on MATH500 (../shared/data; the built-in problems if it is absent): each
response is ~1.5 KB of reasoning ending in a boxed answer, either the gold or a near miss
(mixed right and wrong). For every registered env it prints episodes/s and step latency,
sequentially and vectorised (SyncVectorEnv, AsyncVectorEnv), and the share of step time
spent outside the grader (time inside `grade` is measured by wrapping it).

With gem-llm installed (`pip install --no-deps "gem-llm==0.1.0"` beside the `bench` extra),
GEM's single-turn math env steps the same responses in the same run, and the ratio is printed.

Run: python benchmarks/envs.py [--episodes N]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

import mathattempt_env  # noqa: E402,F401
from mathattempt_env.data import load_problems  # noqa: E402
from mathattempt_env.envs import base  # noqa: E402
from mathattempt_env.grading import warmup  # noqa: E402
from mathattempt_env.types import Problem  # noqa: E402

REASONING = (
    "Let's think step by step. First we restate the problem in our own words and list what "
    "is given. Then we set up the relevant equations, simplify them carefully, and check "
    "each intermediate result against the constraints in the problem statement. "
) * 6
VERIFY = "\n\nWait, let me recheck my solution.\n\n"
RETRY = "\n\nLet me try again.\n\n"


def near_miss(gold: str) -> str:
    return gold + "+1" if any(c.isdigit() for c in gold) else gold + "x"


def response(answer: str) -> str:
    return f"{REASONING}So the final answer is $\\boxed{{{answer}}}$."


def problems() -> list[Problem]:
    if (DATA / "math500.jsonl").is_file():
        return list(load_problems("math500", data_dir=str(DATA)))
    return list(load_problems("builtin"))[:500]


def policy_for(env_id: str, problem: Problem, right: bool) -> list[str]:
    """The scripted steps of one episode."""
    good, bad = response(problem.answer), response(near_miss(problem.answer))
    if env_id == "SingleTurnMath-v0":
        return [good if right else bad]
    if env_id == "MultiAttemptMath-v0":
        return [bad, bad, good] if right else [bad, bad, bad]
    says = "Therefore, the answer is {}."
    return [
        bad
        + VERIFY
        + says.format("incorrect")
        + RETRY
        + (good if right else bad)
        + VERIFY
        + says.format("correct")
    ]


class GradeTimer:
    """Wraps the grader the envs call and sums the time spent inside it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.inner: Callable[..., object] = base.grade

    def __call__(self, *args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def run_sequential(env_id: str, items: list[Problem], episodes: int) -> dict[str, float]:
    env = gym.make(env_id, dataset=items, **({"attempts": 3} if "Multi" in env_id else {}))
    timer = GradeTimer()
    base.grade = timer  # type: ignore[assignment]
    latencies: list[float] = []
    start = time.perf_counter()
    try:
        for episode in range(episodes):
            index = episode % len(items)
            env.reset(seed=episode, options={"index": index})
            for text in policy_for(env_id, items[index], right=episode % 2 == 0):
                t0 = time.perf_counter()
                _, _, terminated, truncated, _ = env.step(text)
                latencies.append(time.perf_counter() - t0)
                if terminated or truncated:
                    break
    finally:
        base.grade = timer.inner  # type: ignore[assignment]
    total = time.perf_counter() - start
    step_time = sum(latencies)
    latencies.sort()
    return {
        "episodes/s": episodes / total,
        "steps": len(latencies),
        "p50 ms": 1000 * statistics.median(latencies),
        "p99 ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "outside grader": (step_time - timer.seconds) / step_time,
        "overhead us": 1e6 * (step_time - timer.seconds) / len(latencies),
    }


def run_vector(env_id: str, items: list[Problem], episodes: int, kind: str, n: int) -> float:
    kwargs = {"attempts": 3} if "Multi" in env_id else {}
    fns = [lambda: gym.make(env_id, dataset=items, **kwargs) for _ in range(n)]
    vec = gym.vector.SyncVectorEnv(fns) if kind == "sync" else gym.vector.AsyncVectorEnv(fns)
    rounds = max(1, episodes // n)
    start = time.perf_counter()
    try:
        for r in range(rounds):
            index = r % len(items)  # one problem per round, as a GRPO/RLOO group
            vec.reset(seed=[r * n + i for i in range(n)], options={"index": index})
            scripts = [policy_for(env_id, items[index], right=(r + i) % 2 == 0) for i in range(n)]
            for step in range(max(len(s) for s in scripts)):
                vec.step([s[min(step, len(s) - 1)] for s in scripts])
    finally:
        vec.close()
    return rounds * n / (time.perf_counter() - start)


def run_gem(items: list[Problem], episodes: int) -> float | None:
    try:
        from datasets import Dataset
        from gem.envs.math_env import MathEnv
    except ImportError:
        return None
    logging.disable(logging.INFO)  # GEM logs one INFO line per reset with an index
    rows = [{"problem": p.problem, "answer": p.answer} for p in items]
    env = MathEnv(dataset=Dataset.from_list(rows), eval=True)
    start = time.perf_counter()
    for episode in range(episodes):
        index = episode % len(items)
        env.reset(idx=index)
        env.step(policy_for("SingleTurnMath-v0", items[index], right=episode % 2 == 0)[0])
    rate = episodes / (time.perf_counter() - start)
    env.mp_pool.terminate()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--episodes", type=int, default=1000)
    args = parser.parse_args()
    items = problems()
    warmup()
    print(f"{len(items)} problems; {args.episodes} episodes per env; half solved.\n")
    print(
        "| env | episodes/s | steps | step p50 ms | step p99 ms | outside grader "
        "| env overhead us/step |"
    )
    print("|---|---|---|---|---|---|---|")
    results = {}
    for env_id in sorted(mathattempt_env.ENV_IDS):
        run_sequential(env_id, items, 50)  # warm caches of parsed golds equally for all
        r = run_sequential(env_id, items, args.episodes)
        results[env_id] = r
        print(
            f"| {env_id} | {r['episodes/s']:,.0f} | {r['steps']:,} | {r['p50 ms']:.3f} "
            f"| {r['p99 ms']:.3f} | {100 * r['outside grader']:.1f}% | {r['overhead us']:.1f} |"
        )
    print("\n| env | sequential eps/s | SyncVectorEnv(8) eps/s | AsyncVectorEnv(2) eps/s |")
    print("|---|---|---|---|")
    for env_id in sorted(mathattempt_env.ENV_IDS):
        sync = run_vector(env_id, items, args.episodes, "sync", 8)
        async_ = run_vector(env_id, items, args.episodes, "async", 2)
        print(f"| {env_id} | {results[env_id]['episodes/s']:,.0f} | {sync:,.0f} | {async_:,.0f} |")
    gem = run_gem(items, min(args.episodes, 500))
    ours = results["SingleTurnMath-v0"]["episodes/s"]
    print("\n| single-turn env, same responses | episodes/s | ratio |")
    print("|---|---|---|")
    print(f"| mathattempt_env SingleTurnMath-v0 | {ours:,.0f} | 1.0x |")
    if gem is None:
        print("| GEM math env | not installed (pip install -e .[bench]) | - |")
    else:
        print(f"| GEM MathEnv (gem-llm 0.1.0) | {gem:,.0f} | ours {ours / gem:,.1f}x |")


if __name__ == "__main__":
    main()
