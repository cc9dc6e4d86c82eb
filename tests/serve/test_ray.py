"""Ray: grading and env actors on a real two-node local cluster; killed actors; the sandbox and
the grader's fork server inside Ray workers."""

from __future__ import annotations

import os
import signal
import threading
import time

import gymnasium as gym
import pytest

from mathattempt_env.adapters.common import make_envs
from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.grading import grade
from mathattempt_env.serve.ray_pool import EnvPool, GradingPool, RayEnv
from tests.serve.conftest import gold_of, local_episode, script


def test_the_cluster_has_two_nodes_and_actors_spread(ray_cluster):
    assert ray_cluster.nodes() == 2
    pool = GradingPool(actors=2, num_cpus=1)
    try:
        assert len(set(pool.nodes())) == 2  # SPREAD put one actor on each node
        grades = pool.grade_many([r"\boxed{2}", "3", r"\boxed{\frac{1}{2}}"], ["2", "4", "0.5"])
        assert [g.correct for g in grades] == [True, False, True]
    finally:
        pool.close()


def test_an_actor_killed_mid_batch_the_batch_completes(ray_cluster):
    pool = GradingPool(actors=2, num_cpus=1, retries=1)
    try:
        pids = pool.pids()
        responses = [rf"\boxed{{{i}}}" for i in range(4000)]
        golds = [str(i if i % 3 else i + 1) for i in range(4000)]
        threading.Timer(0.3, os.kill, (pids[0], signal.SIGKILL)).start()
        started = time.monotonic()
        grades = pool.grade_many(responses, golds, deadline=120)
        took = time.monotonic() - started
        stats = dict(pool.stats)
    finally:
        pool.close()
    assert len(grades) == 4000 and took < 120
    assert stats["actor_failures"] >= 1, stats
    assert stats.get("retried_items", 0) + stats.get("infrastructure_errors", 0) > 0
    for response, gold, verdict in zip(responses, golds, grades, strict=True):
        if verdict.reason == "infrastructure-error":
            assert verdict.timed_out and not verdict.correct
        else:
            assert verdict == grade(response, gold)


@pytest.mark.parametrize("env_id", ["MultiAttemptMath-v0", "ToolMath-v0"])
def test_ray_envs_play_the_in_process_episodes(ray_cluster, env_id):
    """ToolMath runs the model's code in the sandbox inside a Ray worker (daemonic, no tty)."""
    options = {"attempts": 3} if env_id == "MultiAttemptMath-v0" else {}
    pool = EnvPool(actors=2, num_cpus=0.5)
    try:
        for seed in range(5):
            env = pool.env(EnvConfig(env_id, options))
            text, info = env.reset(seed=seed)
            played = [(text, None, False)]
            for turn in script(env_id, gold_of(env_id, options, seed)):
                text, reward, terminated, truncated, info = env.step(turn)
                played.append((text, reward, terminated or truncated))
                if terminated or truncated:
                    break
            env.close()
            expected = [(t, r, d) for t, r, d, _ in local_episode(env_id, options, seed)]
            assert played == expected, (env_id, seed)
            if env_id == "ToolMath-v0":
                assert info["sandbox_errors"] == 0
    finally:
        pool.close()


def test_an_env_actor_killed_mid_episode_is_replayed(ray_cluster):
    pool = EnvPool(actors=1, num_cpus=0.5)
    try:
        env = RayEnv(EnvConfig("MultiAttemptMath-v0", {"attempts": 3}), pool=pool)
        first, _ = env.reset(seed=4)
        second = env.step(r"\boxed{-9999}")
        os.kill(pool.pids()[0], signal.SIGKILL)
        gold = gold_of("MultiAttemptMath-v0", {"attempts": 3}, 4)
        third = env.step(rf"\boxed{{{gold}}}")
        assert env.lost_actors == 1
    finally:
        pool.close()
    local = gym.make("MultiAttemptMath-v0", attempts=3)
    assert first == local.reset(seed=4)[0]
    assert second[:3] == local.step(r"\boxed{-9999}")[:3]
    assert third[:3] == local.step(rf"\boxed{{{gold}}}")[:3] and third[1] == 1.0


def test_make_envs_backend_ray_drives_the_adapters(ray_cluster, monkeypatch):
    from experiments.tiny import tiny_tokenizer
    from mathattempt_env.rollout import EpisodeDriver

    tokenizer = tiny_tokenizer()

    def generate(prompt_ids, max_new_tokens):
        return tokenizer.encode(r"so \boxed{0}<|im_end|>"), None

    driver = EpisodeDriver(tokenizer, generate, max_total_tokens=200)
    monkeypatch.setenv("MATHATTEMPT_ENV_BACKEND", "ray")
    remote = make_envs("MultiAttemptMath-v0", 3, {"attempts": 2}, tokenizer)
    monkeypatch.delenv("MATHATTEMPT_ENV_BACKEND")
    local = make_envs("MultiAttemptMath-v0", 3, {"attempts": 2}, tokenizer)
    assert all(isinstance(env, RayEnv) for env in remote)
    far = driver.run_many(remote, seeds=[0, 1, 2])
    near = driver.run_many(local, seeds=[0, 1, 2])
    for a, b in zip(far, near, strict=True):
        assert (a.response_ids, a.response_mask, a.step_rewards) == (
            b.response_ids,
            b.response_mask,
            b.step_rewards,
        )
    for env in remote:
        env.close()


def test_eval_with_the_ray_env_backend(ray_cluster, tmp_path):
    import asyncio
    import json

    from mathattempt_env.eval.results import read_results
    from mathattempt_env.eval.runner import EvalConfig, run_eval
    from tests.eval.test_think import _Scripted

    data = tmp_path / "q.jsonl"
    rows = [("q0", "What is $1+1$?", "2"), ("q1", "What is $2+2$?", "4")]
    data.write_text(
        "".join(json.dumps({"id": i, "problem": p, "answer": a}) + "\n" for i, p, a in rows)
    )
    replies = {"1+1": "So \\boxed{3}.", "2+2": "So \\boxed{4}."}
    results = {}
    for backend in ("local", "ray"):
        out = tmp_path / backend
        config = EvalConfig(
            env="MultiAttemptMath-v0",
            datasets=[str(data)],
            ks=[1, 2],
            out=out,
            model="scripted",
            backend="custom",
            max_tokens=4000,
            progress=False,
            env_backend=backend,
        )
        asyncio.run(run_eval(config, _Scripted(False, replies)))
        results[backend] = {
            r["problem_id"]: (r["first_correct"], r["status"]) for r in read_results(out)
        }
    assert results["ray"] == results["local"] == {"q0": (None, "done"), "q1": (1, "done")}
