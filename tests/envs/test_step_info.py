"""The one step record: every env id's info has the same keys, with one kind per step."""

from __future__ import annotations

import ast
import pathlib
import typing

import gymnasium as gym
import numpy as np
import pytest

import mathattempt_env
from mathattempt_env.envs import SingleTurnMathEnv, surface
from mathattempt_env.errors import ConfigError
from mathattempt_env.types import StepInfo, StepKind

PROBLEM = {"problem": "What is $6 \\times 7$?", "answer": "42"}
KEYS = StepInfo.__required_keys__ | StepInfo.__optional_keys__
KINDS = set(typing.get_args(StepKind))
TRAJECTORY = (
    "\\boxed{41}\n\nWait, let me recheck my solution.\n\nTherefore, the answer is incorrect."
    "\n\nLet me try again.\n\n\\boxed{42}"
)
# (env id, env options, scripted turns): each env's kinds of step, tools included.
PLAYS = [
    ("SingleTurnMath-v0", {}, ["\\boxed{41}"]),
    ("MultiAttemptMath-v0", {"attempts": 3}, ["no box", "\\boxed{41}", "\\boxed{42}"]),
    ("S2RMath-v0", {}, [TRAJECTORY]),
    ("S2RMath-v0", {"mode": "interactive"},
     ["\\boxed{41}", "Therefore, the answer is incorrect.", "\\boxed{42}",
      "Therefore, the answer is correct."]),
    ("MultiAttemptMath-v0", {"attempts": 2, "tool": "calculator"},
     ["```calculator\n6*7\n```\n```output", "So \\boxed{42}."]),
    ("S2RMath-v0", {"tool": "calculator"},
     ["```calculator\n6*7\n```\n```output", TRAJECTORY]),
]  # fmt: skip


def check(info: dict, kind: str) -> None:
    assert info["kind"] == kind and kind in KINDS
    assert StepInfo.__required_keys__ <= set(info) <= KEYS, set(info) ^ KEYS
    assert (info["tool"] != {}) == (kind == "tool")
    solves = [r for r in info["records"] if r.kind == "solve"]
    assert (info["grade"] is None) == (not solves)
    assert info["attempt"] == len(solves)
    assert len(info["actions"]) == len(info["records"])
    assert isinstance(info["reward_components"], dict)
    assert isinstance(info["tool_calls"], int) and isinstance(info["sandbox_errors"], int)


@pytest.mark.parametrize(("env_id", "kwargs", "turns"), PLAYS)
def test_every_env_reports_the_same_keys_at_every_step(env_id, kwargs, turns):
    env = gym.make(env_id, **kwargs)
    _, info = env.reset(seed=0, options={"problem": PROBLEM})
    check(info, "reset")
    interactive = kwargs.get("mode") == "interactive"
    for number, turn in enumerate(turns):
        _, _, terminated, truncated, info = env.step(turn)
        if "```output" in turn:
            kind = "tool"
        elif env_id == "S2RMath-v0" and not interactive:
            kind = "trajectory"
        else:
            kind = "verify" if interactive and number % 2 else "answer"
        check(info, kind)
    assert terminated or truncated
    assert ("s2r_metrics" in info) == (env_id == "S2RMath-v0")


def test_the_keys_are_the_same_for_every_registered_id():
    seen = {}
    for env_id in sorted(mathattempt_env.ENV_IDS):
        env = gym.make(env_id)
        _, info = env.reset(seed=0, options={"problem": PROBLEM})
        _, _, _, _, stepped = env.step("\\boxed{41}")
        seen[env_id] = (frozenset(info) - {"s2r_metrics"}, frozenset(stepped) - {"s2r_metrics"})
    assert len(set(seen.values())) == 1, seen


@pytest.mark.parametrize("env_id", sorted(mathattempt_env.ENV_IDS))
def test_vector_envs_batch_the_info(env_id):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync")
    _, infos = envs.reset(seed=0)
    assert list(infos["kind"]) == ["reset", "reset"]
    _, rewards, terminated, truncated, infos = envs.step(["\\boxed{41}", "no box"])
    assert infos["attempt"].dtype == np.int64 and list(infos["attempt"]) == [1, 1]
    assert infos["correct"].dtype == np.bool_
    envs.close()


def test_the_surface_is_what_consumers_read():
    env = gym.make("ToolMath-v0")
    core = surface(env)  # through Gymnasium's wrappers
    assert core.stop == ("```output",) and core.uses_tools
    assert core.pose("Q?")[-1]["content"].startswith("Q?")
    assert "index" in core.option_names() and core.grading.think == "auto"
    with pytest.raises(ConfigError, match="expected a mathattempt_env environment"):
        surface(gym.make("CartPole-v1"))


def test_single_turn_is_a_leaf_and_toolmath_a_registration():
    from mathattempt_env.envs import MultiAttemptMathEnv

    assert not issubclass(SingleTurnMathEnv, MultiAttemptMathEnv)
    assert "attempts" not in SingleTurnMathEnv().option_names()
    spec = gym.spec("ToolMath-v0")
    assert spec.entry_point.endswith(":SingleTurnMathEnv")
    assert spec.kwargs == {"tool": "python", "prompt": "tir"}


PACKAGE = pathlib.Path(mathattempt_env.__file__).parent


def test_no_consumer_detects_a_step_kind_by_a_key_or_reaches_into_an_env():
    """Outside envs/, code reads info by key and an env through surface() only."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "envs":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            # `"tool" in info` and the like: a kind detected by a key's presence
            if (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Constant)
                and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
                and any(isinstance(c, ast.Name) and c.id == "info" for c in node.comparators)
            ):
                offenders.append(f"{path.name}:{node.lineno} key test")
            # env.unwrapped.<internal> (wrappers' own unwrapped checks aside)
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "unwrapped"
            ):
                offenders.append(f"{path.name}:{node.lineno} .unwrapped.{node.attr}")
    assert offenders == []
