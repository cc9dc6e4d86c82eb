"""One response, one gold, one set of options: the same reward from every path.

The env's own step (``SingleTurnMath-v0``), TRL's reward function, verl's ``compute_score``,
OpenRLHF's ``reward_func`` and the replication's training episodes (its single-turn arm's env,
made as ``experiments.replicate`` makes it, stepped by the episode driver with the response's
tokens) must agree, for any response: cut thinking, several boxes, no box, a code block; and
``mathattempt eval`` (its env made as ``run_eval`` makes it, with ``think`` from the
backend's chat template) must call it correct exactly when they reward it. Before issue 24 the trainers' functions could not take ``think`` and
rewarded an interim box inside unfinished thinking that the env (and evaluation) call cut.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mathattempt_env  # noqa: F401
from mathattempt_env.adapters import openrlhf, trl, verl
from mathattempt_env.eval.backends import Reply
from mathattempt_env.eval.episodes import play
from mathattempt_env.eval.runner import EvalConfig, _make_env
from mathattempt_env.types import Problem

GOLD = "4"
PIECES = [
    "so maybe it is \\boxed{4} ... wait",
    "\\boxed{4}",
    "\\boxed{5}",
    "\\boxed{4} and then \\boxed{6}",
    "<think>",
    "</think>",
    "The answer is 4.",
    "```python\nprint(2 + 2)\n```\n```output\n4\n```\n",
    "\\boxed{",
    "Hmm, that is not right.",
    " ",
    "\n",
]
RESPONSES = st.lists(st.sampled_from(PIECES), min_size=0, max_size=6).map("".join)


def _env_reward(response: str, think: str) -> float:
    env = gym.make("SingleTurnMath-v0", think=think)
    env.reset(options={"problem": {"id": "p", "problem": "What is $2+2$?", "answer": GOLD}})
    return float(env.step(response)[1])


class _Replies:
    """A backend whose model says ``text``, under a template that opens ``<think>`` or not."""

    name = "scripted"

    def __init__(self, text: str, opens_think: bool) -> None:
        self.text, self.opens_think = text, opens_think

    async def chat(self, messages, max_tokens, stop=()) -> Reply:
        return Reply(self.text, max(1, len(self.text) // 4), cut=False)

    async def aclose(self) -> None:
        pass


def _tokenizers() -> dict[str, object]:
    """Tiny tokenizers whose chat template opens ``<think>`` for the model, or not."""
    from experiments.tiny import CHAT_TEMPLATE, tiny_tokenizer

    plain, opens = tiny_tokenizer(), tiny_tokenizer()
    prompt = "'<|im_start|>assistant\\n'"
    assert prompt in CHAT_TEMPLATE
    opens.chat_template = CHAT_TEMPLATE.replace(prompt, "'<|im_start|>assistant\\n<think>\\n'")
    return {"auto": plain, "open": opens}


def _replication_reward(response: str, tokenizer) -> float:
    from experiments.replicate.rloo import arm_envs
    from experiments.replicate.settings import PRESETS, SINGLE
    from mathattempt_env.rollout import EpisodeDriver

    problem = Problem(id="p", problem="What is $2+2$?", answer=GOLD)
    (env,) = arm_envs(SINGLE, [problem], PRESETS["mini"], tokenizer, 1)
    ids = [*tokenizer.encode(response, add_special_tokens=False), tokenizer.eos_token_id]

    def say(prompt_ids, max_new_tokens=None):  # the policy: it says the response
        return ids, None

    driver = EpisodeDriver(tokenizer, say, max_total_tokens=100_000)
    return driver.run(env, seed=0, options={"index": 0}).reward


def _eval_correct(response: str, think: str) -> bool:
    config = EvalConfig(env="SingleTurnMath-v0", datasets=["x"], ks=[1], out=Path("unused"),
                        model="scripted", backend="hf", progress=False)  # fmt: skip
    problem = Problem(id="p", problem="What is $2+2$?", answer=GOLD)
    backend = _Replies(response, opens_think=think == "open")
    env, options = _make_env(config, problem, "open" if backend.opens_think else "auto", backend)
    return bool(asyncio.run(play(env, backend, options=options, max_tokens=100_000))["correct"])


@pytest.fixture(scope="module")
def trainers():
    return {think: trl.make_reward_func("paper-single", think=think) for think in ("auto", "open")}


@pytest.fixture(scope="module")
def tokenizers():
    return _tokenizers()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(response=RESPONSES, think=st.sampled_from(["auto", "open"]))
@example(response="so maybe it is \\boxed{4} ... wait", think="open")  # the issue's case
@example(response="<think>so \\boxed{4}</think> \\boxed{4}", think="open")
def test_every_path_gives_the_env_steps_reward(
    response, think, trainers, tokenizers, monkeypatch
) -> None:
    expected = _env_reward(response, think)
    assert trainers[think](completions=[response], answer=[GOLD]) == [expected]
    row = {"env_kwargs": json.dumps({"attempts": [1, 5], "think": think})}
    assert verl.compute_score("math500", response, GOLD, extra_info=row)["score"] == expected
    monkeypatch.setenv("MATHATTEMPT_ENV_KWARGS", json.dumps({"think": think}))
    prompt = "Q: What is 2+2? A: "
    out = openrlhf.reward_func([prompt + response], [prompt], [GOLD])
    assert out["rewards"].tolist() == [expected]
    assert _replication_reward(response, tokenizers[think]) == expected
    assert _eval_correct(response, think) is (expected == 1.0)


def test_the_issue_case_is_cut_under_an_open_think_template() -> None:
    response = "so maybe it is \\boxed{2} ... wait"
    assert _env_reward(response, "open") == -1.0
    assert trl.make_reward_func(think="open")(completions=[response], answer=["2"]) == [-1.0]
    assert trl.make_reward_func()(completions=[response], answer=["2"]) == [1.0]  # "auto"


def test_the_think_option_comes_from_the_tokenizer_chat_template() -> None:
    class OpensThink:
        def apply_chat_template(self, messages, **kwargs):
            return "<|User|>x<|Assistant|><think>\n"

    reward = trl.make_reward_func(tokenizer=OpensThink())
    assert reward(completions=["so \\boxed{2} ... wait"], answer=["2"]) == [-1.0]
    assert reward(completions=["hmm</think> so \\boxed{2}"], answer=["2"]) == [1.0]


def test_verl_rows_carry_think_from_the_tokenizer_to_compute_score() -> None:
    class OpensThink:
        def apply_chat_template(self, messages, **kwargs):
            return "<|User|>x<|Assistant|><think>\n"

    problems = [{"id": "p", "problem": "What is $1+1$?", "answer": "2"}]
    (row,) = verl.verl_rows(problems, env_id="SingleTurnMath-v0", tokenizer=OpensThink())
    assert json.loads(row["extra_info"]["env_kwargs"]) == {"think": "open"}
    cut = "so \\boxed{2} ... wait"
    assert verl.compute_score("x", cut, "2", extra_info=row["extra_info"])["score"] == -1.0
    assert (
        verl.compute_score("x", "hmm</think> \\boxed{2}", "2", extra_info=row["extra_info"])[
            "score"
        ]
        == 1.0
    )
