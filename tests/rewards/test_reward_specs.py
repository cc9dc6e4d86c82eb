"""Schemes named with parameters ("paper:wrong=-0.25"): built, transported, refused clearly."""

from __future__ import annotations

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401
from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.errors import ConfigError
from mathattempt_env.rewards import Paper, RepeatPenalty, get_reward


def test_a_spec_builds_the_scheme_with_its_parameters() -> None:
    assert get_reward("paper:wrong=-0.25") == Paper(wrong=-0.25)
    assert get_reward(" paper : wrong = -0.25 , unformatted=-2 ") == Paper(
        wrong=-0.25, unformatted=-2.0
    )
    assert get_reward("repeat-penalty:penalty=1") == RepeatPenalty(penalty=1.0)


def test_an_env_made_with_a_spec_pays_the_parameter() -> None:
    env = gym.make(
        "MultiAttemptMath-v0",
        dataset=[{"id": "p", "problem": "What is $1+1$?", "answer": "2"}],
        attempts=1,
        reward="paper:wrong=-0.25",
    )
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(r"\boxed{3}")
    assert terminated and reward == -0.25


def test_a_spec_travels_in_an_env_config() -> None:
    config = EnvConfig("MultiAttemptMath-v0", {"reward": "paper:wrong=-0.25"})
    assert config.make().unwrapped.reward_scheme == Paper(wrong=-0.25)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("paper:wronk=-1", "paper takes no parameter 'wronk' (it takes discount, wrong"),
        ("paper:wrong", "expected key=value, got 'wrong'"),
        ("paper:wrong=", "expected key=value"),
        ("paper:", "expected key=value, got ''"),
        ("paper:wrong=minus", "wrong: expected a number or true/false, got 'minus'"),
        ("paper:discount=2", "discount: expected a number in [0, 1], got 2.0"),
        ("binary:wrong=0", "binary takes no parameter 'wrong' (it takes nothing)"),
        ("papr:wrong=0", "did you mean 'paper'"),
    ],
)
def test_a_bad_spec_is_a_clear_error(spec: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        gym.make("MultiAttemptMath-v0", reward=spec)
    assert says in str(caught.value), str(caught.value)
