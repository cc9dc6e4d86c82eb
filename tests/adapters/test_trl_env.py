"""TRL 1.16 ``environment_factory``: real GRPOTrainer steps whose rollouts call our env's tools.

The policy is a tiny Qwen2 model whose sampling is scripted by a forward hook (the logits are
forced token by token during generation only), so the rollouts hold real tool calls that
TRL parses and dispatches: a wrong answer, then the gold one, then a closing message. The
rewards TRL receives must be the env's own for that script, in-process and from a server.
"""

from __future__ import annotations

import copy
import re

import gymnasium as gym
import pytest
from trl import GRPOConfig, GRPOTrainer
from trl.chat_template_utils import qwen2_5_chat_template

from mathattempt_env.adapters.trl_env import (
    OVER,
    environment_dataset,
    environment_factory,
)
from tests import serving
from tests.adapters.conftest import trainer_args

ENV_ID, OPTIONS = "MultiAttemptMath-v0", {"attempts": 3}


def _call(name, **arguments):
    import json

    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


class Script:
    """Forces the model's tokens during ``generate``: turn 0 a wrong answer, turn 1 the gold."""

    def __init__(self, model, tokenizer, golds):
        self.tokenizer, self.golds = tokenizer, golds
        self.active, self.prefill, self.targets = False, 0, []
        model.register_forward_hook(self.hook, with_kwargs=True)
        original = model.generate

        def generate(*args, **kwargs):
            self.active, self.targets = True, []
            try:
                return original(*args, **kwargs)
            finally:
                self.active = False

        model.generate = generate

    def script(self, text):
        turn = text.count("<tool_response>")
        if turn == 0:
            return _call("submit_answer", answer="-99999")
        if turn == 1:
            question = re.search(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", text, re.S).group(1)
            gold = next(g for q, g in self.golds.items() if q in question)
            return _call("submit_answer", answer=gold)
        return "Done."

    def hook(self, module, args, kwargs, output):
        if not self.active:
            return output
        logits = output.logits
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None and ids.shape[1] > 1:  # the prefill: one script per row
            self.prefill = ids.shape[1]
            self.targets = []
            for row in ids:
                text = self.tokenizer.decode(row, skip_special_tokens=False)
                self.targets.append(
                    self.tokenizer.encode(self.script(text)) + [self.tokenizer.eos_token_id]
                )
            self.step = 0
        else:
            self.step += 1
        forced = logits.clone()
        forced[:, -1, :] = -1e4
        for row, target in enumerate(self.targets):
            forced[row, -1, target[min(self.step, len(target) - 1)]] = 0.0
        output.logits = forced
        return output


def _expected(golds_by_index):
    """The env's own return for the script, per problem index (in-process, no TRL)."""
    rewards = {}
    for index, gold in golds_by_index.items():
        env = gym.make(ENV_ID, **{**OPTIONS})
        env.reset(seed=0, options={"index": index})
        total = 0.0
        for text in ("\\boxed{-99999}", f"\\boxed{{{gold}}}"):
            _, reward, terminated, truncated, _ = env.step(text)
            total += reward
            if terminated or truncated:
                break
        rewards[index] = total
    return rewards


@pytest.fixture
def scripted(taught):
    from experiments.tiny import tiny_qwen2

    weights, tokenizer = taught
    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.chat_template = qwen2_5_chat_template
    model, _ = tiny_qwen2(tokenizer)
    model.load_state_dict(weights)
    return model, tokenizer


def _train(model, tokenizer, factory, tmp_path, rows):
    received = []
    original = factory.get_reward

    def recording(self):
        value = original(self)
        received.append((self._env_index, value))
        return value

    factory.get_reward = recording
    original_reset = factory.reset

    def remembering(self, **row):
        self._env_index = row["index"]
        return original_reset(self, **row)

    factory.reset = remembering
    args = trainer_args(
        GRPOConfig,
        tmp_path,
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=256,
    )
    trainer = GRPOTrainer(
        model=model,
        args=args,
        train_dataset=rows,
        processing_class=tokenizer,
        environment_factory=factory,
    )
    trainer.train()
    return trainer, received


def _golds(rows):
    env = gym.make(ENV_ID, **OPTIONS)
    problems = env.unwrapped.problems
    return {problems[i].problem: problems[i].answer for i in rows["index"]}, {
        i: problems[i].answer for i in rows["index"]
    }


def test_environment_factory_trains_in_process(scripted, tmp_path):
    model, tokenizer = scripted
    rows = environment_dataset(ENV_ID, limit=4, **OPTIONS)
    by_question, by_index = _golds(rows)
    Script(model, tokenizer, by_question)
    factory = environment_factory(ENV_ID, **OPTIONS)
    trainer, received = _train(model, tokenizer, factory, tmp_path, rows)
    expected = _expected(by_index)
    assert len(received) == 8  # 2 steps x 4 rollouts
    assert [value for _, value in received] == [expected[i] for i, _ in received]
    assert set(expected.values()) == {1.0}  # wrong then right: the paper's +1
    logged = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert logged and all(entry["reward"] == pytest.approx(1.0) for entry in logged)
    assert any(entry.get("tools/call_frequency", 0) > 0 for entry in logged)


def test_environment_factory_trains_against_a_server(scripted, tmp_path):
    model, tokenizer = scripted
    rows = environment_dataset(ENV_ID, limit=4, **OPTIONS)
    by_question, by_index = _golds(rows)
    Script(model, tokenizer, by_question)
    with serving.serving(ENV_ID, OPTIONS) as served:
        factory = environment_factory(ENV_ID, env_url=served.url, **OPTIONS)
        _, received = _train(model, tokenizer, factory, tmp_path, rows)
        stats = served.stats()
    expected = _expected(by_index)
    assert [value for _, value in received] == [expected[i] for i, _ in received]
    assert stats["episodes"] == 8 and stats["steps"] >= 16 and stats["errors"] == 0


def test_tools_after_the_end_and_early_stops():
    env = environment_factory(ENV_ID, **{**OPTIONS, "attempts": 2})()
    env.reset(index=1)
    assert env.get_reward() == -1.0  # no answer at all: the paper's -1
    assert env.submit_answer("5") == OVER
    tool_env = environment_factory("ToolMath-v0")()
    tool_env.reset(index=0)
    assert tool_env.run_python("print(6 * 7)") == "42"
    assert tool_env.run_python("1/0").endswith("ZeroDivisionError: division by zero")
    calc = environment_factory("SingleTurnMath-v0", tool="calculator")()
    calc.reset(index=0)
    assert calc.calculate("1/3 + 1/6") == "1/2"
    with pytest.raises(Exception, match="rollout_func"):
        environment_factory("S2RMath-v0")
