"""Episode-server benchmark: what serving an env over OpenEnv's WebSocket costs.

Starts `mathattempt serve` (MultiAttemptMath-v0, 3 attempts, the built-in problems) and,
as the peer, OpenEnv's own example env (the echo env that `openenv init` renders, served
with OpenEnv's `create_app`), each in its own process on 127.0.0.1. Responses are ~1.5 KB
of scripted reasoning (no answer, a wrong boxed answer, then the gold), so an episode is a
reset and three steps.

1. Per-step latency, one session, sequential: the same steps in-process, over the
   WebSocket, and the difference (the overhead serving adds; target <= 2 ms at p50). The
   echo env's step does no work, so its latency is OpenEnv's transport alone.
2. Episodes/s with 1, 16, 64 and 256 concurrent sessions (asyncio clients in one process).
   Every episode's rewards are checked against the in-process episode of the same seed, and
   the server's episode count against the episodes played: lost or duplicated episodes are
   counted, not assumed away.

The client and the server share this machine's cores, so throughput stops growing once
both are busy. Run: python benchmarks/serve.py [--episodes N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mathattempt_env  # noqa: E402,F401
from mathattempt_env.serve.client import MathEnvClient  # noqa: E402
from tests import serving  # noqa: E402

ENV, OPTIONS = "MultiAttemptMath-v0", {"attempts": 3}
PAD = "Let us think step by step and check each intermediate result carefully. " * 20


def turns(gold: str) -> list[str]:
    return [
        PAD + "So the answer is about seven.",
        PAD + "The answer is $\\boxed{-9999}$.",
        PAD + f"The answer is $\\boxed{{{gold}}}$.",
    ]


def local_episode(env: gym.Env, seed: int) -> tuple[list[float], list[float], str]:
    """(step seconds, rewards, gold) of one in-process episode."""
    env.reset(seed=seed)
    gold = env.unwrapped.problem.answer
    times, rewards = [], []
    for text in turns(gold):
        start = time.perf_counter()
        _, reward, terminated, truncated, _ = env.step(text)
        times.append(time.perf_counter() - start)
        rewards.append(reward)
        if terminated or truncated:
            break
    return times, rewards, gold


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


ECHO_SERVER = """
import sys, uvicorn
sys.path.insert(0, sys.argv[1])
from openenv.core.env_server.http_server import create_app
from echo_bench.models import EchoBenchAction, EchoBenchObservation
from echo_bench.server.echo_bench_environment import EchoBenchEnvironment
app = create_app(EchoBenchEnvironment, EchoBenchAction, EchoBenchObservation,
                 env_name="echo_bench", max_concurrent_envs=512)
class Server(uvicorn.Server):
    async def startup(self, sockets=None):
        await super().startup(sockets)
        print("mathattempt serve: ready on http://127.0.0.1:%d"
              % self.servers[0].sockets[0].getsockname()[1], flush=True)
Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")).run()
"""


def start_echo(folder: str) -> serving.Served:
    """OpenEnv's example echo env, rendered by `openenv init`, served by `create_app`."""
    subprocess.run(
        ["openenv", "init", "echo_bench"], cwd=folder, check=True, capture_output=True, timeout=120
    )
    process = subprocess.Popen(
        [sys.executable, "-c", ECHO_SERVER, folder],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if "ready on" not in line:
        raise RuntimeError(process.stderr.read())
    return serving.Served(line.split("ready on", 1)[1].strip(), process)


async def remote_steps(url: str, seeds: list[int], golds: dict[int, str]) -> list[float]:
    times = []
    async with MathEnvClient(url) as client:
        for seed in seeds:
            await client.reset(seed=seed)
            for text in turns(golds[seed]):
                start = time.perf_counter()
                result = await client.step(text)
                times.append(time.perf_counter() - start)
                if result.done:
                    break
    return times


async def echo_steps(url: str, count: int) -> list[float]:
    from openenv import GenericEnvClient

    times = []
    async with GenericEnvClient(base_url=url) as client:
        await client.reset()
        for _ in range(count):
            start = time.perf_counter()
            await client.step({"message": PAD})
            times.append(time.perf_counter() - start)
    return times


async def throughput(
    url: str, sessions: int, episodes: int, expected: dict[int, list[float]], golds: dict[int, str]
) -> tuple[float, int, int]:
    """Episodes/s with ``sessions`` concurrent clients; (rate, played, wrong rewards)."""
    seeds = list(expected)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for k in range(episodes):
        queue.put_nowait(seeds[k % len(seeds)])
    wrong = played = 0

    async def session() -> None:
        nonlocal wrong, played
        async with MathEnvClient(url) as client:
            while not queue.empty():
                seed = queue.get_nowait()
                await client.reset(seed=seed)
                rewards = []
                for text in turns(golds[seed]):
                    result = await client.step(text)
                    rewards.append(result.reward)
                    if result.done:
                        break
                played += 1
                wrong += rewards != expected[seed]

    start = time.perf_counter()
    await asyncio.gather(*(session() for _ in range(sessions)))
    return played / (time.perf_counter() - start), played, wrong


async def echo_throughput(url: str, sessions: int, episodes: int) -> float:
    from openenv import GenericEnvClient

    queue: asyncio.Queue[int] = asyncio.Queue()
    for k in range(episodes):
        queue.put_nowait(k)

    async def session() -> None:
        async with GenericEnvClient(base_url=url) as client:
            while not queue.empty():
                queue.get_nowait()
                await client.reset()
                for _ in range(3):
                    await client.step({"message": PAD})

    start = time.perf_counter()
    await asyncio.gather(*(session() for _ in range(sessions)))
    return episodes / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--episodes", type=int, default=300, help="episodes in the latency run")
    args = parser.parse_args()

    env = gym.make(ENV, **OPTIONS)
    seeds = list(range(args.episodes))
    local_times: list[float] = []
    expected: dict[int, list[float]] = {}
    golds: dict[int, str] = {}
    for seed in seeds:
        times, rewards, gold = local_episode(env, seed)
        local_times += times
        expected[seed], golds[seed] = rewards, gold
    served = serving.start(ENV, OPTIONS)
    folder = tempfile.mkdtemp(prefix="echo-bench-")
    echo = start_echo(folder)
    try:
        asyncio.run(remote_steps(served.url, seeds[:20], golds))  # warm-up
        remote_times = asyncio.run(remote_steps(served.url, seeds, golds))
        echo_times = asyncio.run(echo_steps(echo.url, len(remote_times)))
        print(
            f"Per-step latency, one session ({len(remote_times)} steps, "
            f"{len(seeds)} episodes; ms)\n"
        )
        print("| path | p50 | p99 |")
        print("|---|---:|---:|")
        for name, values in (
            ("in-process `env.step`", local_times),
            ("over the WebSocket (`MathEnvClient.step`)", remote_times),
            ("OpenEnv's echo env over the WebSocket (peer)", echo_times),
        ):
            print(
                f"| {name} | {1e3 * statistics.median(values):.2f} | "
                f"{1e3 * percentile(values, 0.99):.2f} |"
            )
        added50 = statistics.median(remote_times) - statistics.median(local_times)
        added99 = percentile(remote_times, 0.99) - percentile(local_times, 0.99)
        print(f"| **added by serving** | **{1e3 * added50:.2f}** | {1e3 * added99:.2f} |")

        print("\nEpisodes/s by concurrent sessions (reset + 3 steps each)\n")
        print(
            "| sessions | mathattempt serve | OpenEnv echo env (peer) | ratio | episodes "
            "| lost or duplicated | wrong rewards |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for sessions in (1, 16, 64, 256):
            episodes = max(200, 2 * sessions)
            before = served.stats()["episodes"]
            rate, played, wrong = asyncio.run(
                throughput(served.url, sessions, episodes, expected, golds)
            )
            counted = served.stats()["episodes"] - before
            echo_rate = asyncio.run(echo_throughput(echo.url, sessions, episodes))
            print(
                f"| {sessions} | {rate:.0f} | {echo_rate:.0f} | {rate / echo_rate:.2f} | "
                f"{played} | {abs(counted - episodes) + abs(played - episodes)} | {wrong} |"
            )
        stats = served.stats()
        print(
            f"\nserver: {json.dumps({k: stats[k] for k in ('episodes', 'steps', 'errors')})}; "
            f"{os.cpu_count()} cores, client and servers on the same machine"
        )
    finally:
        serving.stop(served)
        serving.stop(echo)


if __name__ == "__main__":
    main()
