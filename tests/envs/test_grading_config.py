"""GradingConfig: the one home of an env's grading choices, validated once, carried as a dict."""

from __future__ import annotations

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401
from mathattempt_env.errors import ConfigError
from mathattempt_env.types import GradingConfig


@pytest.mark.parametrize("env_id", ["SingleTurnMath-v0", "MultiAttemptMath-v0", "S2RMath-v0",
                                    "ToolMath-v0"])  # fmt: skip
def test_every_env_exposes_the_config_of_its_options(env_id: str) -> None:
    options = {"box": "first", "think": "open", "grade_timeout": 1.5}
    env = gym.make(env_id, **options).unwrapped
    assert env.grading == GradingConfig(**options)
    assert GradingConfig.from_dict(env.grading.to_dict()) == env.grading
    again = gym.make(env_id, **env.grading.to_dict()).unwrapped
    assert again.grading == env.grading


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"box": "middle"}, "box: expected 'first' or 'last'"),
        ({"think": "opn"}, "think: expected"),
        ({"grade_timeout": 0}, "grade_timeout: expected seconds > 0"),
        ({"grade_budget": True}, "grade_budget: expected seconds > 0"),
        ({"grade_timeout": "2"}, "grade_timeout: expected seconds > 0"),
    ],
)
def test_bad_values_are_one_error_naming_the_field_on_every_path(options, match) -> None:
    with pytest.raises(ConfigError, match=match):
        GradingConfig.from_dict(options)
    with pytest.raises(ConfigError, match=match):
        gym.make("MultiAttemptMath-v0", **options)


def test_strict_from_dict_refuses_other_keys_and_lenient_ignores_them() -> None:
    with pytest.raises(ConfigError, match="unknown grading option 'attempts'"):
        GradingConfig.from_dict({"attempts": 3})
    assert GradingConfig.from_dict({"attempts": 3, "box": "first"}, strict=False).box == "first"
    assert GradingConfig.from_dict(None) == GradingConfig()
