"""The curriculum spends its samples where the success rate is inside its band, is
deterministic under its seed, checkpoints exactly, follows a level schedule, and is shared
safely by many envs on many threads."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest

import mathattempt_env  # noqa: F401 - registers the ids
from mathattempt_env.errors import ConfigError
from mathattempt_env.wrappers.curriculum import Curriculum, CurriculumWrapper

#: A scripted policy's chance of solving a built-in problem, by level.
SKILL = {1: 0.95, 2: 0.65, 3: 0.5, 4: 0.15, 5: 0.02}


def _play(env: CurriculumWrapper, episodes: int, rng: np.random.Generator) -> list[int]:
    """Play ``episodes`` with the scripted policy; the levels played."""
    levels = []
    for _ in range(episodes):
        _, info = env.reset()
        problem = env.unwrapped.problem
        solved = rng.random() < SKILL[problem.level]
        env.step(rf"\boxed{{{problem.answer}}}" if solved else "I do not know.")
        levels.append(problem.level)
    return levels


def test_it_spends_its_samples_inside_the_band():
    env = CurriculumWrapper(gym.make("SingleTurnMath-v0"), band=(0.3, 0.8), seed=1)
    levels = _play(env, 700, np.random.default_rng(0))
    late = Counter(levels[200:])
    inside = (late[2] + late[3]) / 500  # levels 2 and 3 are the ones in the band
    assert inside > 0.75, late  # uniform would give 0.4
    stats = env.curriculum.stats()
    assert 0.3 <= stats["2"]["rate"] <= 0.8 and stats["1"]["rate"] > 0.8, stats
    assert all(s["picked"] > 0 for s in stats.values())  # explore keeps measuring the rest


def test_it_is_deterministic_and_leaves_the_global_random_state_alone():
    before = (random.getstate(), np.random.get_state()[1].tolist())
    runs = []
    for _ in range(2):
        env = CurriculumWrapper(gym.make("SingleTurnMath-v0"), band=(0.3, 0.8), seed=5)
        runs.append(_play(env, 150, np.random.default_rng(3)))
    assert runs[0] == runs[1]
    assert (random.getstate(), np.random.get_state()[1].tolist()) == before


def test_a_checkpoint_goes_on_exactly():
    env = CurriculumWrapper(gym.make("SingleTurnMath-v0"), band=(0.3, 0.8), seed=2)
    rng = np.random.default_rng(9)
    _play(env, 120, rng)
    state = json.loads(json.dumps(env.curriculum.state_dict()))
    outcomes = np.random.default_rng(4)
    problems = env.unwrapped.problems
    fresh = Curriculum(problems, band=(0.3, 0.8), seed=2)
    fresh.load_state_dict(state)
    for _ in range(60):
        row, again = env.curriculum.pick(), fresh.pick()
        assert row == again
        solved = bool(outcomes.random() < 0.5)
        env.curriculum.record(row, solved)
        fresh.record(row, solved)
    assert fresh.stats() == env.curriculum.stats()
    with pytest.raises(ConfigError, match="saved with other settings"):
        Curriculum(problems, band=(0.1, 0.9), seed=2).load_state_dict(state)


def test_a_schedule_opens_levels_as_training_goes_on():
    env = CurriculumWrapper(
        gym.make("SingleTurnMath-v0"), band=None, schedule=[(0, [1]), (40, [1, 2])], seed=0
    )
    levels = _play(env, 120, np.random.default_rng(1))
    assert set(levels[:40]) == {1} and set(levels[40:]) == {1, 2}


def test_one_curriculum_serves_many_envs_on_many_threads():
    envs = [gym.make("SingleTurnMath-v0") for _ in range(8)]
    shared = Curriculum(envs[0].unwrapped.problems, band=(0.3, 0.8), seed=0)
    wrapped = [CurriculumWrapper(env, shared) for env in envs]
    errors = []

    def run(env: CurriculumWrapper, seed: int) -> None:
        try:
            _play(env, 50, np.random.default_rng(seed))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(env, i)) for i, env in enumerate(wrapped)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors and shared.episodes == 8 * 50
    assert sum(s["picked"] for s in shared.stats().values()) == 8 * 50


def test_options_that_choose_the_problem_bypass_it():
    env = CurriculumWrapper(gym.make("SingleTurnMath-v0"), seed=0)
    _, info = env.reset(options={"index": 17})
    assert info["index"] == 17
    _, info = env.reset(options={"group": "g"})
    assert sum(s["picked"] for s in env.curriculum.stats().values()) == 0


@pytest.mark.parametrize(
    "options,says",
    [
        ({"by": "colour"}, "curriculum by"),
        ({"band": (0.9, 0.1)}, "curriculum band"),
        ({"explore": 0.0}, "curriculum explore"),
        ({"window": 0}, "window >= 1"),
        ({"by": "subject", "schedule": [(0, [1])]}, "needs by='level'"),
        ({"band": None, "schedule": [(0, [9])]}, "no problem has a level"),
    ],
)
def test_bad_settings_are_clear_errors(options, says):
    with pytest.raises(ConfigError, match=says):
        env = CurriculumWrapper(gym.make("SingleTurnMath-v0"), **options)
        env.reset()
