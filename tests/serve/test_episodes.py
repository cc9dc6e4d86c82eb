"""Episodes over a real server process equal in-process episodes: every id, 50 seeds."""

from __future__ import annotations

import asyncio

import pytest
from openenv import GenericEnvClient

from mathattempt_env.serve.client import MathEnvClient
from tests import serving
from tests.serve.conftest import IDS, gold_of, local_episode, remote_episode, run

SEEDS = range(50)


@pytest.mark.parametrize("env_id", IDS)
def test_fifty_seeds_equal_in_process(env_id):
    options = {"attempts": 3} if env_id == "MultiAttemptMath-v0" else {}
    with serving.serving(env_id, options) as served:

        async def play():
            async with MathEnvClient(served.url) as client:
                return [
                    await remote_episode(
                        client, env_id, options, seed, gold_of(env_id, options, seed)
                    )
                    for seed in SEEDS
                ]

        remote = run(play())
        stats = served.stats()
    for seed, episode in zip(SEEDS, remote, strict=True):
        assert episode == local_episode(env_id, options, seed), (env_id, seed)
    assert stats["episodes"] == len(SEEDS) and stats["errors"] == 0
    assert stats["active_sessions"] == 0 and stats["envs_closed"] == stats["envs_made"]


def test_generic_client_and_concurrent_sessions():
    """OpenEnv's GenericEnvClient works; 64 sessions at once lose and duplicate nothing."""
    env_id, options = "MultiAttemptMath-v0", {"attempts": 3}
    with serving.serving(env_id, options) as served:
        with GenericEnvClient(base_url=served.url).sync() as env:
            first = env.reset(seed=7)
            after = env.step({"text": "\\boxed{-9999}"})
        assert after.observation["text"].startswith("Your answer is incorrect")
        assert after.metadata["attempts_left"] == 2 and after.reward == 0.0

        sessions, episodes = 64, 4

        async def one(number):
            async with MathEnvClient(served.url) as client:
                played = []
                for k in range(episodes):
                    seed = number * episodes + k
                    played.append(
                        (
                            seed,
                            await remote_episode(
                                client, env_id, options, seed, gold_of(env_id, options, seed)
                            ),
                        )
                    )
                return played

        async def everyone():
            return await asyncio.gather(*(one(n) for n in range(sessions)))

        results = [pair for batch in run(everyone()) for pair in batch]
        stats = served.stats()
    assert first.metadata["kind"] == "reset"
    assert sorted(seed for seed, _ in results) == list(range(sessions * episodes))
    for seed, played in results:
        assert played == local_episode(env_id, options, seed)
    assert stats["episodes"] == sessions * episodes + 1
    assert stats["active_sessions"] == 0 and stats["errors"] == 0
