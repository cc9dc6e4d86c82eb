"""EnvConfig: one checked, JSON-able configuration that every transport of env options carries."""

from __future__ import annotations

import json

import pytest

import mathattempt_env
from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.errors import ConfigError

CONFIGS = [
    EnvConfig("SingleTurnMath-v0", {"reward": "binary", "think": "open", "box": "first"}),
    EnvConfig("MultiAttemptMath-v0", {"attempts": [1, 5], "feedback": "answer",
                                      "max_total_length": 3000, "length_unit": "tokens"}),
    EnvConfig("S2RMath-v0", {"mode": "interactive", "attempts": 2, "grade_timeout": 1.5}),
    EnvConfig("ToolMath-v0", {"tool_options": {"max_calls": 2, "isolation": "auto"}}),
    EnvConfig("MultiAttemptMath-v0", {"tool": "calculator", "prompt": "calculator"}),
]  # fmt: skip


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.env_id)
def test_a_config_survives_every_transport(config):
    assert EnvConfig.from_json(config.to_json()) == config
    assert EnvConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert EnvConfig.parse(config.env_id, json.dumps(dict(config.options)), where="x") == config
    if config.length[2] == "chars":
        env = config.make(dataset="builtin")
        assert env.spec.id == config.env_id
        assert env.unwrapped.grading == config.grading


def test_the_options_are_a_private_copy():
    options = {"attempts": [1, 5]}
    config = EnvConfig("MultiAttemptMath-v0", options)
    options["attempts"].append(9)
    assert config.options == {"attempts": [1, 5]}


@pytest.mark.parametrize(
    ("env_id", "options", "message"),
    [
        ("MultiAtemptMath-v0", {}, "unknown env id 'MultiAtemptMath-v0'; did you mean 'MultiAttemptMath-v0'"),
        ("MultiAttemptMath-v0", {"atempts": 3}, "unknown MultiAttemptMath-v0 option 'atempts'; did you mean 'attempts'"),
        ("SingleTurnMath-v0", {"attempts": 3}, "unknown SingleTurnMath-v0 option 'attempts'"),
        ("MultiAttemptMath-v0", {"length_fn": "len"}, "length_fn: cannot travel in an env config; send length_unit"),
        ("MultiAttemptMath-v0", {"reward": {1, 2}}, "reward: expected a JSON value"),
        ("MultiAttemptMath-v0", {"grade_timeout": float("nan")}, "grade_timeout: expected a JSON value"),
        ("ToolMath-v0", {"max_tool_calls": 2}, r"tool_options=\{'max_calls': 2\}"),
        ("MultiAttemptMath-v0", {"think": "opn"}, "think: expected 'auto', 'open' or 'none'"),
        ("MultiAttemptMath-v0", {"grade_timeout": -1}, "grade_timeout: expected seconds > 0"),
        ("MultiAttemptMath-v0", {"length_unit": "words"}, "length_unit: expected 'chars' or 'tokens'"),
        ("MultiAttemptMath-v0", {"max_total_length": 0}, "max_total_length: expected None or an int >= 1"),
        ("MultiAttemptMath-v0", [("attempts", 3)], "options: expected a JSON object"),
    ],
)  # fmt: skip
def test_bad_configs_are_one_clear_error(env_id, options, message):
    with pytest.raises(ConfigError, match=message):
        EnvConfig(env_id, options)


def test_bad_transported_text_names_its_source():
    with pytest.raises(
        ConfigError, match=r"--env-kwargs: not JSON \(Expecting value at character 0\)"
    ):
        EnvConfig.parse("MultiAttemptMath-v0", "attempts=3", where="--env-kwargs")
    with pytest.raises(ConfigError, match="--env-kwargs: expected a JSON object, got \\[1\\]"):
        EnvConfig.parse("MultiAttemptMath-v0", "[1]", where="--env-kwargs")
    with pytest.raises(ConfigError, match="row 7: unknown MultiAttemptMath-v0 option 'x'"):
        EnvConfig.parse("MultiAttemptMath-v0", {"x": 1}, where="row 7")
    with pytest.raises(ConfigError, match="cfg: unknown keys \\['extra'\\]"):
        EnvConfig.from_dict({"env_id": "S2RMath-v0", "extra": 1}, where="cfg")
    with pytest.raises(ConfigError, match="cfg: expected \\{'env_id': str"):
        EnvConfig.from_json("{}", where="cfg")


def test_a_budget_never_changes_unit_on_the_way():
    config = EnvConfig("MultiAttemptMath-v0", {"max_total_length": 3, "length_unit": "tokens"})
    with pytest.raises(ConfigError, match="length_unit: 'tokens' needs length_fn, a token counter"):
        config.make()  # the receiver has no tokenizer: refused, never counted in characters

    def words(text: str) -> int:
        return len(text.split())

    env = config.make(length_fn=words)
    env.reset(seed=0, options={"attempts": 2})
    info = env.step("one two three four five")[4]
    assert info["cut"] and info["length_used"] == 3  # three words, not three characters
    with pytest.raises(ConfigError, match="length_unit: 'chars' is measured by len"):
        EnvConfig("MultiAttemptMath-v0", {"length_unit": "chars"}).make(length_fn=words)


def test_the_adapters_count_tokens_unless_told_characters():
    from mathattempt_env.adapters.common import make_envs

    class Tokenizer:  # what make_envs reads of a tokenizer: encode and a chat template
        chat_template = ""

        def encode(self, text, add_special_tokens=False):
            return text.split()

    (tokens,) = make_envs("MultiAttemptMath-v0", 1, {"max_total_length": 4}, Tokenizer())
    assert tokens.unwrapped.budget.unit == "tokens"
    (chars,) = make_envs("MultiAttemptMath-v0", 1, {"length_unit": "chars"}, Tokenizer())
    assert chars.unwrapped.budget.unit == "chars" and chars.unwrapped.budget.length_fn is len


def test_every_registered_id_has_a_default_config():
    for env_id in mathattempt_env.ENV_IDS:
        assert EnvConfig(env_id).make().spec.id == env_id
