"""Grading time inside the environments: a per-step budget, and timeouts the trainer can see."""

import time

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401
from mathattempt_env.adapters.trl import env_reward_dropping_timeouts, make_reward_func
from mathattempt_env.errors import ConfigError
from mathattempt_env.grading import warmup
from tests.grading.hostile import shapes

SLOW = shapes()["sympy integral that runs long"]
PROBLEMS = [{"id": "p0", "problem": "What is $6 \\times 7$?", "answer": "42"}]
VERIFY = "\n\nWait, let me recheck my solution.\n\n"
RETRY = "\n\nLet me try again.\n\n"
SAYS_WRONG = "I made an error. Therefore, the answer is incorrect."


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warmup()


def test_an_s2r_trajectory_of_twenty_slow_solutions_stays_within_the_step_budget() -> None:
    env = gym.make("S2RMath-v0", dataset=PROBLEMS, grade_timeout=1.0, grade_budget=1.5).unwrapped
    env.reset(seed=0)
    pieces = [f"Try {n}: {SLOW}" for n in range(20)]
    text = (VERIFY + SAYS_WRONG + RETRY).join(pieces)
    start = time.perf_counter()
    _, reward, terminated, _, info = env.step(text)
    elapsed = time.perf_counter() - start
    # 1.5 s for the step, then 10 ms for each further solution, plus the grader's slack.
    assert elapsed <= 1.5 + 20 * 0.01 + 0.3, elapsed
    assert info["grade_timed_out"] and terminated and reward < 0
    assert sum(r.grade.timed_out for r in info["records"] if r.grade) >= 2


def test_the_step_budget_restarts_each_step_and_fast_grades_are_not_starved() -> None:
    env = gym.make("MultiAttemptMath-v0", dataset=PROBLEMS, attempts=3, grade_timeout=0.5).unwrapped
    env.reset(seed=0)
    _, _, _, _, info = env.step(SLOW)
    assert info["grade_timed_out"] and info["grade"].timed_out
    _, reward, terminated, _, info = env.step(r"so \boxed{42}")
    assert not info["grade_timed_out"] and info["correct"] and terminated and reward == 1.0


@pytest.mark.parametrize("name", ["grade_timeout", "grade_budget"])
@pytest.mark.parametrize("value", [0, -1.0, "2"])
def test_bad_grading_times_are_config_errors(name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=name):
        gym.make("SingleTurnMath-v0", **{name: value})


def test_trl_reward_can_drop_timed_out_grades_instead_of_punishing_them() -> None:
    wrong = make_reward_func()
    drop = make_reward_func(on_timeout="drop")
    completions, answers = [SLOW, r"\boxed{4}", r"\boxed{5}"], ["1", "4", "4"]
    assert wrong(completions=completions, answer=answers) == [-0.5, 1.0, -0.5]
    assert drop(completions=completions, answer=answers) == [None, 1.0, -0.5]
    with pytest.raises(ConfigError, match="on_timeout"):
        make_reward_func(on_timeout="skip")


def test_episode_rewards_drop_episodes_whose_grade_timed_out() -> None:
    out = env_reward_dropping_timeouts(
        ["a", "b", "c"], [1.0, -1.0, -0.5], env_grade_timed_out=[False, True, False]
    )
    assert out == [1.0, None, -0.5]
