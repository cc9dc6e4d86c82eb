"""Rewards that hold on a busy machine: four env processes, every core burning, sympy answers.

Each answer is correct and needs the sympy path (an integral or a limit the in-process
parser cannot read, each under 0.1 s of sympy on an idle core), and each is a new string, so
no cache answers it. A grader worker that started cold would pay sympy's lazy loading on its
first job and miss the 1 s deadline under this load; every one of the 60 must be rewarded.
Other jobs' load on a shared machine is measured (:class:`~tests.procs.LoadMeter`) and
tolerated as a few timeouts, never as a wrong reward.
"""

from __future__ import annotations

import os
import subprocess
import sys

import gymnasium as gym
import numpy as np

import mathattempt_env  # noqa: F401
from tests.procs import LoadMeter

PROBLEMS = [{"id": "ten", "problem": "What is $4 + 6$?", "answer": "10"}]
STEPS = 15


def _make() -> gym.Env:
    from mathattempt_env.grading import warmup

    warmup()  # what a training script does once per process (see the README)
    return gym.make("SingleTurnMath-v0", dataset=PROBLEMS, grade_timeout=1.0)


def _answer(env: int, step: int) -> str:
    # Odd coefficients only: sympy's limit of sin(n x)/(n x) is an order of magnitude slower
    # for some even n (n = 32: 0.44 s on an idle core, against <= 0.1 s for every odd n up to
    # 121), which under this load is a legitimate timeout and made the count below flaky.
    n = 2 * (env * STEPS + step) + 3
    if step % 2:
        return rf"so \boxed{{\int_0^{{{n}}} \frac{{10}}{{{n}}}\,dx}}"
    return rf"so \boxed{{\lim_{{x \to 0}} \frac{{10 \sin({n} x)}}{{{n} x}}}}"


def test_sympy_answers_are_rewarded_in_four_processes_with_every_core_busy() -> None:
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    envs = gym.vector.AsyncVectorEnv([_make] * 4)
    rewards, timed_out = [], []
    try:
        envs.reset(seed=0)
        with LoadMeter() as meter:
            for step in range(STEPS):
                actions = np.array([_answer(env, step) for env in range(4)], dtype=object)
                _, reward, _, _, info = envs.step(actions)
                rewards.extend(reward.tolist())
                timed_out.extend(info["grade_timed_out"].tolist())
                envs.reset()  # single-turn: every episode ended
    finally:
        envs.close()
        for burner in burners:
            burner.kill()
            burner.wait()
    assert len(rewards) == 60
    # Never a silent wrong reward: an answer not rewarded is one whose grade ran out of time.
    assert all(r == 1.0 or t for r, t in zip(rewards, timed_out, strict=True)), rewards
    # With no other job running (factor 1) every deadline is met; other jobs' load, which
    # this test does not control, may cost deadlines in proportion.
    assert rewards.count(1.0) >= 60 / meter.factor, (rewards, meter.factor)
