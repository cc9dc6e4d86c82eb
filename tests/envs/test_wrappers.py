"""The conversation-observation wrapper."""

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401
from mathattempt_env.wrappers import ConversationObservation


def test_observation_is_the_whole_conversation():
    env = ConversationObservation(gym.make("MultiAttemptMath-v0", attempts=3))
    obs, info = env.reset(seed=1)
    assert list(obs) == info["messages"] and env.observation_space.contains(obs)
    obs, *_, info = env.step("\\boxed{x}")
    assert list(obs) == info["messages"] and len(obs) == 4
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("env_id", sorted(mathattempt_env.ENV_IDS))
def test_every_observation_is_in_the_space_and_the_wrapper_is_recorded(env_id):
    env = ConversationObservation(gym.make(env_id))
    obs, _ = env.reset(seed=2)
    done = False
    while not done:
        assert env.observation_space.contains(obs)
        obs, _, terminated, truncated, _ = env.step("\\boxed{0}")
        done = terminated or truncated
    assert env.observation_space.contains(obs)
    assert env.spec.additional_wrappers[-1].name == "ConversationObservation"


def test_rejects_other_envs():
    with pytest.raises(TypeError, match="expected a mathattempt_env environment"):
        ConversationObservation(gym.make("CartPole-v1"))
