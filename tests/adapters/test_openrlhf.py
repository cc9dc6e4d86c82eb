"""OpenRLHF 0.11: the agent module loaded the way OpenRLHF loads it, run against a fake engine."""

from __future__ import annotations

import asyncio
import importlib.util
from types import SimpleNamespace

import pytest
from openrlhf.utils.agent import AgentExecutorBase

import mathattempt_env.adapters.openrlhf as adapter
from mathattempt_env.rollout.hf import HFGenerator
from mathattempt_env.types import Turn


def load_agent_module(path, monkeypatch, **environ):
    """What OpenRLHF's _load_agent_executor does with --train.agent_func_path."""
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert path.endswith(".py")
    spec = importlib.util.spec_from_file_location("agent_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert hasattr(module, "AgentExecutor")
    assert issubclass(module.AgentExecutor, AgentExecutorBase)
    return module


class FakeEngine:
    """vLLM's engine.generate as OpenRLHF calls it, backed by a tiny HF model."""

    def __init__(self, model, tokenizer, seed=0):
        self.generator = HFGenerator(model, tokenizer, seed=seed)
        self.tokenizer = tokenizer
        self.outputs = []

    async def generate(self, token_ids, params, multi_modal_data=None):
        ids, logprobs = await self.generator(list(token_ids), params.max_tokens)
        self.outputs.append(list(ids))
        stopped = bool(ids) and ids[-1] == self.tokenizer.eos_token_id
        return SimpleNamespace(
            outputs=[
                SimpleNamespace(
                    token_ids=ids,
                    # OpenRLHF samples with skip_special_tokens=False
                    text=self.tokenizer.decode(ids, skip_special_tokens=False),
                    finish_reason="stop" if stopped else "length",
                    logprobs=[
                        {t: SimpleNamespace(logprob=lp)}
                        for t, lp in zip(ids, logprobs, strict=True)
                    ],
                )
            ]
        )


def _execute(executor, problem, tokenizer, engine, max_length=400, max_tokens=16):
    params = SimpleNamespace(max_tokens=max_tokens, logprobs=1)
    return asyncio.run(
        executor.execute(problem.problem, problem.answer, params, max_length, tokenizer, engine)
    )


@pytest.mark.parametrize(
    ("env_id", "env_kwargs"),
    [
        ("MultiAttemptMath-v0", '{"attempts": 3}'),
        ("S2RMath-v0", '{"mode": "interactive", "attempts": 2}'),
    ],
)
def test_agent_module_action_ranges_and_rewards(env_id, env_kwargs, tiny, problems, monkeypatch):
    model, tokenizer = tiny
    module = load_agent_module(
        adapter.__file__,
        monkeypatch,
        MATHATTEMPT_ENV=env_id,
        MATHATTEMPT_ENV_KWARGS=env_kwargs,
        MATHATTEMPT_MAX_TOTAL_TOKENS="48",
    )
    executor = module.AgentExecutor()
    engine = FakeEngine(model, tokenizer)
    saw_feedback = False
    for problem in problems[:8]:
        engine.outputs.clear()
        out = _execute(executor, problem, tokenizer, engine)
        tokens, ranges = out["observation_tokens"], out["action_ranges"]
        # every action range is exactly one generation, verbatim
        assert [tokens[a:b] for a, b in ranges] == engine.outputs
        assert sum(b - a for a, b in ranges) <= 48 + 16  # budget counted on the text
        # everything outside the action ranges is the env's text: the prompt and the feedback
        inside = {i for a, b in ranges for i in range(a, b)}
        env_text = tokenizer.decode([t for i, t in enumerate(tokens) if i not in inside])
        assert env_text.startswith("<|im_start|>system\nPlease reason step by step")
        assert problem.problem in env_text
        if len(ranges) > 1:
            saw_feedback = True
            marker = (
                "Your answer is incorrect."
                if env_id == "MultiAttemptMath-v0"
                else "<|im_start|>user"
            )
            assert env_text.count(marker) >= len(ranges) - 1
        for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
            assert tokenizer.decode(tokens[end:start]).endswith("<|im_start|>assistant\n")
        # rewards: the executor's sum of step rewards equals the episode reward from `scores`
        assert out["reward"] == pytest.approx(float(out["scores"]))
        assert out["rollout_log_probs"] is not None and len(out["rollout_log_probs"]) == len(tokens)
        logs = out["extra_logs"]
        assert float(logs["attempts"]) >= 1
        if env_id == "MultiAttemptMath-v0":
            assert out["reward"] in (1.0, -0.5, -1.0) or float(logs["truncated"]) == 1.0
            assert (out["reward"] == 1.0) == (float(logs["correct"]) == 1.0)
    assert saw_feedback


def test_agent_rewards_match_a_plain_env(tiny, problems, monkeypatch):
    """Each step's reward is what our env gives the same text."""
    import gymnasium as gym

    model, tokenizer = tiny
    module = load_agent_module(
        adapter.__file__,
        monkeypatch,
        MATHATTEMPT_ENV="MultiAttemptMath-v0",
        MATHATTEMPT_ENV_KWARGS='{"attempts": 2}',
        MATHATTEMPT_MAX_TOTAL_TOKENS="none",
    )
    executor = module.AgentExecutor()
    engine = FakeEngine(model, tokenizer, seed=5)
    for problem in problems[:6]:
        engine.outputs.clear()
        out = _execute(executor, problem, tokenizer, engine, max_tokens=24)
        env = gym.make("MultiAttemptMath-v0", attempts=2)
        env.reset(options={"problem": {"problem": problem.problem, "answer": problem.answer}})
        total = 0.0
        for ids in engine.outputs:
            cut = ids[-1:] != [tokenizer.eos_token_id]
            _, reward, terminated, truncated, _ = env.step(
                Turn(tokenizer.decode(ids, skip_special_tokens=True), cut=cut)
            )
            total += reward
            if terminated or truncated:
                break
        assert out["reward"] == pytest.approx(total)


def test_reward_func_module(monkeypatch):
    monkeypatch.setenv("MATHATTEMPT_REWARD", "paper-single")
    spec = importlib.util.spec_from_file_location("reward_func", adapter.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    prompt = "<|im_start|>user\nWhat is 1+1?<|im_end|>\n<|im_start|>assistant\n"
    queries = [prompt + r"\boxed{2}<|im_end|>", prompt + r"\boxed{3}<|im_end|>", prompt + "two"]
    out = module.reward_func(queries, [prompt] * 3, ["2"] * 3)
    assert out["rewards"].tolist() == [1.0, -0.5, -1.0]
    assert out["scores"].tolist() == [1.0, -0.5, -1.0]
    assert out["extra_logs"]["correct"].tolist() == [1.0, 0.0, 0.0]


def test_make_agent_executor_configures_its_own_class():
    cls = adapter.make_agent_executor("S2RMath-v0", max_total_tokens=100, mode="interactive")
    assert issubclass(cls, AgentExecutorBase)
    assert cls.instance_cls.env_kwargs == {"mode": "interactive"}
    assert adapter.AgentExecutor.instance_cls.env_id == "MultiAttemptMath-v0"


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples" / "openrlhf"


def test_example_script_uses_flags_of_the_pinned_openrlhf():
    """Every --flag in run.sh is defined by OpenRLHF 0.11's train_ppo_ray parser."""
    import re

    import openrlhf

    cli = __import__("pathlib").Path(openrlhf.__file__).parent / "cli" / "train_ppo_ray.py"
    source = cli.read_text()
    defined = set(re.findall(r'"(--[a-z_.]+)"', source))
    prefixed = re.findall(r'f"--\{prefix\}\.([a-z_.]+)"', source)
    defined |= {f"--{p}.{rest}" for p in ("actor", "critic") for rest in prefixed}
    text = (EXAMPLES / "run.sh").read_text()
    flags = set(re.findall(r"(--[a-z_]+\.[a-z_.]+)", text))
    assert len(flags) > 15 and flags <= defined, sorted(flags - defined)
    ppo = text[text.index("ppo) ") : text.index("rloo) ")]
    rloo = text[text.index("rloo) ") : text.index("*) echo")]
    assert "--algo.advantage.estimator gae" in ppo and "--critic.adam.lr 1e-5" in ppo
    assert "--algo.advantage.estimator rloo" in rloo and "--critic" not in rloo
    for value in (
        "--algo.advantage.gamma 1.0",
        "--algo.advantage.lambd 0.99",
        "--algo.kl.init_coef 0.01",
        "--actor.adam.lr 5e-7",
        "--rollout.temperature 1.0",
    ):
        assert value in text


def test_prepare_data_rows_drive_the_agent(tmp_path, tiny, monkeypatch):
    import json
    import subprocess
    import sys

    out = tmp_path / "train.jsonl"
    subprocess.run(
        [sys.executable, str(EXAMPLES / "prepare_data.py"), "--limit", "3", "--out", str(out)],
        check=True,
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [sorted(r) for r in rows] == [["answer", "id", "problem"]] * 3
    model, tokenizer = tiny
    module = load_agent_module(
        adapter.__file__, monkeypatch, MATHATTEMPT_ENV_KWARGS='{"attempts": [1, 5]}'
    )
    engine = FakeEngine(model, tokenizer)
    for row in rows:
        problem = SimpleNamespace(problem=row["problem"], answer=row["answer"])
        out_ = _execute(module.AgentExecutor(), problem, tokenizer, engine)
        assert row["problem"] in tokenizer.decode(out_["observation_tokens"])


@pytest.mark.needs_sandbox
def test_agent_module_runs_tool_calls_with_the_output_outside_the_actions(
    tiny, problems, monkeypatch
):
    model, tokenizer = tiny
    module = load_agent_module(
        adapter.__file__, monkeypatch, MATHATTEMPT_ENV="ToolMath-v0",
        MATHATTEMPT_ENV_KWARGS="{}", MATHATTEMPT_MAX_TOTAL_TOKENS="none",
    )  # fmt: skip
    call = tokenizer.encode("```python\nprint(2 + 3)\n```\n```output", add_special_tokens=False)

    class Calling(FakeEngine):
        async def generate(self, token_ids, params, multi_modal_data=None):
            if "```output" in tokenizer.decode(list(token_ids)[-64:]):
                return await super().generate(token_ids, params, multi_modal_data)
            self.outputs.append(call)
            logprobs = [{t: SimpleNamespace(logprob=0.0)} for t in call]
            text = tokenizer.decode(call, skip_special_tokens=False)
            return SimpleNamespace(
                outputs=[SimpleNamespace(token_ids=call, text=text, finish_reason="stop",
                                         logprobs=logprobs)]
            )  # fmt: skip

    executor = module.AgentExecutor()
    engine = Calling(model, tokenizer)
    for problem in problems[:3]:
        engine.outputs.clear()
        out = _execute(executor, problem, tokenizer, engine, max_tokens=24)
        tokens, ranges = out["observation_tokens"], out["action_ranges"]
        assert [tokens[a:b] for a, b in ranges] == engine.outputs
        assert tokens[ranges[0][0] : ranges[0][1]] == call
        between = tokenizer.decode(tokens[ranges[0][1] : ranges[1][0]])
        assert between == "\n5\n```\n"  # the tool's output, not an action
        assert out["reward"] == pytest.approx(float(out["scores"]))


def test_bad_environment_variables_are_clear_errors(monkeypatch):
    from mathattempt_env.errors import ConfigError

    for variables, message in [
        ({"MATHATTEMPT_ENV_KWARGS": '{"atempts": 3}'},
         "MATHATTEMPT_ENV_KWARGS: unknown MultiAttemptMath-v0 option 'atempts'; did you mean"),
        ({"MATHATTEMPT_ENV_KWARGS": "attempts=3"}, "MATHATTEMPT_ENV_KWARGS: not JSON"),
        ({"MATHATTEMPT_ENV_KWARGS": '{"think": "opn"}'},
         "MATHATTEMPT_ENV_KWARGS: think: expected 'auto', 'open' or 'none'"),
        ({"MATHATTEMPT_ENV": "MultiAtemptMath-v0"}, "unknown env id 'MultiAtemptMath-v0'"),
        ({"MATHATTEMPT_MAX_TOTAL_TOKENS": "lots"}, "MATHATTEMPT_MAX_TOTAL_TOKENS: expected an int"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            load_agent_module(adapter.__file__, monkeypatch, **variables)


def test_a_curriculum_poses_one_pick_per_group_and_records_every_episode(tiny, monkeypatch):
    from mathattempt_env.adapters.curriculum import shared_curriculum

    model, tokenizer = tiny
    spec = '{"dataset": "builtin", "by": "problem", "seed": 5, "group": 2}'
    module = load_agent_module(adapter.__file__, monkeypatch, MATHATTEMPT_CURRICULUM=spec,
                               MATHATTEMPT_MAX_TOTAL_TOKENS="24")  # fmt: skip
    shared = shared_curriculum({"dataset": "builtin", "by": "problem", "seed": 5}, where="test")
    before = shared.curriculum.episodes
    executor, engine = module.AgentExecutor(), FakeEngine(model, tokenizer)
    slot = SimpleNamespace(problem="a row slot, not a problem", answer="0")
    posed = []
    for _ in range(4):  # one prompt, 2 samples per prompt: two groups
        out = _execute(executor, slot, tokenizer, engine)
        text = tokenizer.decode(out["observation_tokens"])
        assert slot.problem not in text
        posed.append([i for i, p in enumerate(shared.problems) if p.problem in text])
    assert all(len(found) == 1 for found in posed)
    assert posed[0] == posed[1] and posed[2] == posed[3]
    assert shared.curriculum.episodes - before == 4


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('{"band": [0.2, 0.8]}', "'dataset' must name the problems"),
        ('{"dataset": "builtin", "group": 0}', "samples per prompt"),
        ('{"dataset": "builtin", "bogus": 1}', "bogus"),
        ("not json", "not JSON"),
    ],
)
def test_a_bad_curriculum_variable_is_a_clear_error_at_load(spec, message, monkeypatch):
    from mathattempt_env.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        load_agent_module(adapter.__file__, monkeypatch, MATHATTEMPT_CURRICULUM=spec)
