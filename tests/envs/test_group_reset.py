"""``reset(options={"group": key})`` and ``{"problem": id}``: a GRPO/RLOO group shares one
problem and one episode start, whatever process resets it; a problem is named by its id."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401 - registers the ids
from mathattempt_env.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
IDS = ["SingleTurnMath-v0", "MultiAttemptMath-v0", "S2RMath-v0", "ToolMath-v0"]

_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
import gymnasium as gym, mathattempt_env
out = []
for env_id in {ids!r}:
    env = gym.make(env_id, attempts=[1, 5]) if env_id == "MultiAttemptMath-v0" else gym.make(env_id)
    for key in {keys!r}:
        obs, info = env.reset(options={{"group": key}})
        out.append([env_id, key, obs, info["problem_id"], info["attempts"]])
    env.close()
print(json.dumps(out))
"""

KEYS = ["step0/group0", "step0/group1", 7, "run-b/31"]


def _in_a_fresh_process() -> list:
    code = _CHILD.format(root=str(ROOT), ids=IDS, keys=KEYS)
    # A different hash seed: nothing may depend on Python's salted str hash.
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_a_group_gets_the_same_episode_start_in_any_process():
    here = []
    for env_id in IDS:
        kwargs = {"attempts": [1, 5]} if env_id == "MultiAttemptMath-v0" else {}
        env, other = gym.make(env_id, **kwargs), gym.make(env_id, **kwargs)
        for key in KEYS:
            obs, info = env.reset(options={"group": key})
            for _ in range(3):  # other episodes in between change nothing
                other.reset()
                other.step("no answer")
            again, info2 = other.reset(options={"group": key})
            assert (obs, info["problem_id"], info["attempts"]) == (
                again,
                info2["problem_id"],
                info2["attempts"],
            )
            here.append([env_id, key, obs, info["problem_id"], info["attempts"]])
        env.close()
        other.close()
    assert here == _in_a_fresh_process()


def test_groups_spread_over_the_dataset_and_a_seed_keeps_its_own_draws():
    env = gym.make("MultiAttemptMath-v0", attempts=[1, 5])
    problems = {env.reset(options={"group": f"g{i}"})[1]["problem_id"] for i in range(200)}
    assert len(problems) > 150  # 200 keys over the built-in problems: few collisions
    budgets = {env.reset(seed=s, options={"group": "same"})[1]["attempts"] for s in range(40)}
    rows = {env.reset(seed=s, options={"group": "same"})[1]["problem_id"] for s in range(40)}
    assert len(rows) == 1 and len(budgets) > 1  # the key picks the row; the seed the rest


def test_a_problem_is_named_by_its_id_or_row_number():
    env = gym.make("SingleTurnMath-v0")
    problems = env.unwrapped.problems
    _, info = env.reset(options={"problem": problems[9].id})
    assert info["index"] == 9 and info["problem_id"] == problems[9].id
    _, info = env.reset(options={"problem": 4})
    assert info["index"] == 4
    with pytest.raises(ConfigError, match="no problem with id 'nope'"):
        env.reset(options={"problem": "nope"})


@pytest.mark.parametrize(
    "options,says",
    [
        ({"group": "a", "index": 1}, "give one of 'index', 'problem', 'group'"),
        ({"group": "a", "problem": "x"}, "give one of"),
        ({"group": 1.5}, "expected an int or a string"),
        ({"group": True}, "expected an int or a string"),
        ({"problem": 10**9}, "expected an int in"),
    ],
)
def test_bad_group_options_are_clear_errors(options, says):
    env = gym.make("MultiAttemptMath-v0")
    with pytest.raises(ConfigError, match=says):
        env.reset(options=options)
