"""Shared pieces of the server tests: scripted episodes, played in-process and over a server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import gymnasium as gym
import pytest

from mathattempt_env.__main__ import SCRIPTS, _say
from mathattempt_env.serve.client import MathEnvClient
from mathattempt_env.serve.wire import to_metadata

IDS = ("SingleTurnMath-v0", "MultiAttemptMath-v0", "S2RMath-v0", "ToolMath-v0")


def canonical(meta: dict[str, Any]) -> dict[str, Any]:
    """Metadata without timings (a grade's elapsed time is not part of the verdict)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v) for k, v in value.items() if k not in ("elapsed_s", "wall_s", "cpu_s")
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(meta)


def script(env_id: str, gold: str, steps: int = 6) -> list[str]:
    """The scripted turns of ``python -m mathattempt_env`` for ``env_id``, repeated to fill."""
    turns = [_say(kind, gold) for kind in SCRIPTS[env_id]]
    return (turns * steps)[:steps]


def local_episode(env_id: str, options: dict[str, Any], seed: int) -> list[tuple]:
    """An episode in-process: (text, reward, done, metadata) per reset and step."""
    env = gym.make(env_id, **options)
    text, info = env.reset(seed=seed)
    gold = env.unwrapped.problem.answer
    played = [(text, None, False, canonical(to_metadata(info, terminated=False, truncated=False)))]
    for turn in script(env_id, gold):
        text, reward, terminated, truncated, info = env.step(turn)
        meta = to_metadata(info, terminated=terminated, truncated=truncated)
        played.append((text, reward, bool(terminated or truncated), canonical(meta)))
        if terminated or truncated:
            break
    env.close()
    return played


async def remote_episode(
    client: MathEnvClient, env_id: str, options: dict[str, Any], seed: int, gold: str
) -> list[tuple]:
    result = await client.reset(seed=seed)
    played = [(result.observation.text, result.reward, result.done, canonical(result.metadata))]
    for turn in script(env_id, gold):
        result = await client.step(turn)
        played.append(
            (result.observation.text, result.reward, result.done, canonical(result.metadata))
        )
        if result.done:
            break
    return played


def gold_of(env_id: str, options: dict[str, Any], seed: int) -> str:
    env = gym.make(env_id, **options)
    env.reset(seed=seed)
    gold = env.unwrapped.problem.answer
    env.close()
    return gold


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture(scope="session")
def ray_cluster():
    """A real two-node local Ray cluster, once per session."""
    from tests.raycluster import Cluster, leftovers

    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
    # Nothing the cluster started is left running once it is stopped: its raylets, workers,
    # and the grading fork servers and sandboxes those workers started.
    deadline = time.monotonic() + 30
    while leftovers(cluster.since) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not leftovers(cluster.since), leftovers(cluster.since)
