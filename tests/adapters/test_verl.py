"""verl 0.9: the agent loop under verl's real base class, with a fake server backed by a tiny model."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import hydra
import pandas as pd
import pytest
from omegaconf import OmegaConf
from verl.experimental.agent_loop.agent_loop import (
    AgentLoopOutput,
    DictConfigWrap,
    ToolListWrap,
    _agent_loop_registry,
)
from verl.utils.dataset.rl_dataset import RLHFDataset
from verl.workers.rollout.replica import TokenOutput

from mathattempt_env.adapters.verl import (
    AGENT_NAME,
    MathAttemptAgentLoop,
    compute_score,
    export_parquet,
    verl_rows,
)
from mathattempt_env.errors import ConfigError
from mathattempt_env.rollout.hf import HFGenerator


class FakeServerManager:
    """verl's server_manager.generate, token-in/token-out, backed by a tiny HF model."""

    def __init__(self, model, tokenizer, seed=0):
        self.generator = HFGenerator(model, tokenizer, seed=seed)
        self.calls = []
        self.outputs = {}

    async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs):
        assert all(isinstance(t, int) for t in prompt_ids)
        limit = sampling_params.get("max_tokens")
        self.calls.append((request_id, len(prompt_ids), limit))
        ids, logprobs = await self.generator(prompt_ids, limit)
        self.outputs.setdefault(tuple(prompt_ids), []).append(list(ids))
        return TokenOutput(token_ids=ids, log_probs=logprobs, stop_reason="completed")


def _loop(server, tokenizer, response_length=64):
    config = OmegaConf.create(
        {
            "actor_rollout_ref": {
                "rollout": {"prompt_length": 512, "response_length": response_length}
            },
            "data": {},
        }
    )
    # Built the way verl's AgentLoopWorker builds it: hydra.instantiate on the registry entry.
    return hydra.utils.instantiate(
        config=_agent_loop_registry[AGENT_NAME],
        trainer_config=DictConfigWrap(config=config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=None,
        hf_model_type="qwen2",
        dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(config.data),
        tools=ToolListWrap([]),
    )


def _run(loop, row):
    fields = {k: v for k, v in row.items() if k != "prompt"}
    return asyncio.run(loop.run({"temperature": 1.0}, raw_prompt=row["prompt"], **fields))


def test_registered_under_verls_base_class():
    assert _agent_loop_registry[AGENT_NAME]["_target_"].endswith("MathAttemptAgentLoop")


@pytest.mark.parametrize(
    ("env_id", "env_kwargs"),
    [
        ("MultiAttemptMath-v0", {"attempts": 3}),
        ("S2RMath-v0", {"mode": "interactive", "attempts": 2}),
        ("S2RMath-v0", {}),
        ("SingleTurnMath-v0", {}),
    ],
)
def test_agent_loop_masks_reward_and_turns(env_id, env_kwargs, tiny, problems):
    model, tokenizer = tiny
    server = FakeServerManager(model, tokenizer)
    loop = _loop(server, tokenizer, response_length=400)
    assert isinstance(loop, MathAttemptAgentLoop)
    rows = verl_rows(problems, env_id=env_id, limit=6, **env_kwargs)
    for row in rows:
        row["extra_info"]["max_total_tokens"] = 48
        output = _run(loop, row)
        assert isinstance(output, AgentLoopOutput)
        assert (
            len(output.response_ids) == len(output.response_mask) == len(output.response_logprobs)
        )
        assert 0 < sum(output.response_mask) <= 48
        assert output.reward_score is not None
        turns = output.extra_fields["turn_scores"]
        assert output.reward_score == pytest.approx(sum(turns))
        # the user turn, each model turn, and one environment turn between model turns
        assert output.num_turns == 1 + len(turns) + (len(turns) - 1)
        # env tokens carry logprob 0.0 and mask 0
        for token_mask, logprob in zip(output.response_mask, output.response_logprobs, strict=True):
            if token_mask == 0:
                assert logprob == 0.0
        as_dict = output.as_dict()  # what verl's postprocessing consumes
        assert as_dict["rm_scores"][-1] == output.reward_score
    assert len({id_ for id_, _, _ in server.calls}) == len(server.calls)


def test_model_tokens_round_trip_and_feedback_masked(tiny, problems):
    model, tokenizer = tiny
    server = FakeServerManager(model, tokenizer, seed=1)
    loop = _loop(server, tokenizer, response_length=400)
    rows = verl_rows(problems, env_id="MultiAttemptMath-v0", limit=8, attempts=3)
    saw_feedback = False
    for row in rows:
        row["extra_info"]["max_total_tokens"] = 48
        output = _run(loop, row)
        ids, mask = output.response_ids, output.response_mask
        # Rebuild the episode's model turns from the mask: each is a generator output, verbatim.
        spans, start = [], None
        for i, m in enumerate([*mask, 0]):
            if m and start is None:
                start = i
            if not m and start is not None:
                spans.append((start, i))
                start = None
        context = list(output.prompt_ids)
        for s, e in spans:
            generated = server.outputs[tuple(context + ids[:s])]
            assert ids[s:e] in [g[: e - s] for g in generated]
        feedback = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m == 0])
        if feedback:
            saw_feedback = True
            assert "Your answer is incorrect." in feedback
            assert "<|im_start|>system" in feedback
    assert saw_feedback


def test_length_cut_closes_the_turn_or_ends_the_episode(tiny, problems):
    model, tokenizer = tiny
    eos = tokenizer.eos_token_id
    loop = _loop(FakeServerManager(model, tokenizer, seed=2), tokenizer, response_length=400)
    closed = ended = 0
    for turn_cap, total in ((4, 40), (None, 6)):
        rows = verl_rows(problems, env_id="MultiAttemptMath-v0", limit=4, attempts=5,
                         max_total_tokens=total, max_turn_tokens=turn_cap)  # fmt: skip
        for row in rows:
            output = _run(loop, row)
            ids, mask = output.response_ids, output.response_mask
            assert sum(mask) <= total
            for index in range(1, len(ids)):
                if mask[index - 1] == 1 and mask[index] == 0:
                    # A model turn followed by feedback ended with <|im_end|>: the model's own
                    # (mask 1), or, when the turn was cut, one the environment added (mask 0).
                    assert eos in (ids[index - 1], ids[index])
                    closed += ids[index - 1] != eos
            if output.extra_fields["truncated"]:
                # Cut in its last attempt or out of budget; nothing appended after the cut.
                assert mask[-1] == 1 and ids[-1] != eos
                ended += sum(mask) == total
    assert closed > 0 and ended > 0  # a turn was closed, and a budget ended an episode


def test_compute_score_matches_the_grader():
    assert compute_score("x", r"\boxed{2}", "2")["score"] == 1.0
    assert compute_score("x", r"\boxed{3}", "2")["score"] == -0.5
    assert compute_score("x", r"\boxed{3}", "2", reward="binary")["score"] == 0.0
    assert compute_score("x", r"\boxed{\dfrac{1}{2}}", r"\frac12", extra_info={})["correct"]


def test_parquet_round_trips_through_verls_dataset(tmp_path, problems):
    from experiments.tiny import tiny_tokenizer

    path = tmp_path / "train.parquet"
    assert export_parquet(
        str(path), problems, env_id="MultiAttemptMath-v0", attempts=(1, 5)
    ) == len(problems)
    frame = pd.read_parquet(path)
    assert list(frame.columns) == [
        "data_source",
        "prompt",
        "ability",
        "reward_model",
        "extra_info",
        "agent_name",
    ]
    expected = verl_rows(problems, env_id="MultiAttemptMath-v0", attempts=(1, 5))
    dataset = RLHFDataset(
        data_files=[str(path)],
        tokenizer=tiny_tokenizer(),
        config=OmegaConf.create({"max_prompt_length": 1024, "cache_dir": str(tmp_path / "cache")}),
    )
    assert len(dataset) == len(expected)
    for i in (0, len(expected) - 1):
        item = dataset[i]
        assert [dict(m) for m in item["raw_prompt"]] == expected[i]["prompt"]
        assert item["reward_model"]["ground_truth"] == expected[i]["reward_model"]["ground_truth"]
        assert item["agent_name"] == AGENT_NAME
        info = item["extra_info"]
        assert info["problem"] == problems[i].problem and info["answer"] == problems[i].answer


def test_rows_without_our_extra_info_are_a_clear_error(tiny):
    model, tokenizer = tiny
    loop = _loop(FakeServerManager(model, tokenizer), tokenizer)
    with pytest.raises(ConfigError, match="extra_info has no 'problem'"):
        _run(loop, {"prompt": [], "extra_info": {"index": 3}})


def test_export_rejects_non_json_env_arguments(tmp_path, problems):
    with pytest.raises(
        ConfigError, match="length_fn: cannot travel in an env config; send length_unit"
    ):
        export_parquet(str(tmp_path / "x.parquet"), problems, length_fn=len)
    with pytest.raises(ConfigError, match="reward: expected a JSON value"):
        export_parquet(str(tmp_path / "x.parquet"), problems, reward=object())
    with pytest.raises(ConfigError, match="unknown MultiAttemptMath-v0 option 'atempts'"):
        export_parquet(str(tmp_path / "x.parquet"), problems, atempts=3)


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples" / "verl"


@pytest.mark.parametrize(
    ("name", "estimator", "n", "response_length"),
    [
        ("multi_attempt_ppo", "gae", 1, 3584),
        ("multi_attempt_rloo", "rloo", 4, 3584),
        ("s2r_rloo", "rloo", 4, 8192),
    ],
)
def test_example_configs_compose_on_verls_own_config(name, estimator, n, response_length):
    """The example YAMLs are valid overrides of verl's ppo_trainer config, with the paper's values."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(EXAMPLES), version_base=None):
        config = compose(config_name=name)
    assert config.algorithm.adv_estimator == estimator
    assert (config.algorithm.gamma, config.algorithm.lam) == (1.0, 0.99)
    actor = config.actor_rollout_ref.actor
    assert (actor.optim.lr, actor.kl_loss_coef, actor.use_kl_loss) == (5e-7, 0.01, True)
    assert actor.kl_loss_type == "low_var_kl"  # the k3 estimator
    assert config.critic.optim.lr == 1e-5
    rollout = config.actor_rollout_ref.rollout
    assert (rollout.n, rollout.temperature, rollout.response_length) == (n, 1.0, response_length)
    assert rollout.agent.default_agent_loop == AGENT_NAME
    assert config.reward.custom_reward_function.name == "compute_score"


def test_the_cir_config_composes_with_cirs_settings(tmp_path, problems):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(EXAMPLES), version_base=None):
        config = compose(config_name="tool_cir")
    assert config.algorithm.adv_estimator == "reinforce_plus_plus_baseline"
    rollout = config.actor_rollout_ref.rollout
    assert (rollout.n, rollout.response_length, rollout.temperature) == (16, 4096, 1.0)
    assert config.actor_rollout_ref.actor.use_kl_loss is False
    assert config.data.train_files == "data/mathattempt/tool_train.parquet"
    # The rows run.sh writes for it carry the +1/-1 reward and the call budget to the loop.
    out = tmp_path / "tool_train.parquet"
    script = EXAMPLES / "prepare_data.py"
    subprocess.run(
        [sys.executable, str(script), "--env", "ToolMath-v0", "--limit", "2", "--out", str(out),
         "--max-total-tokens", "4096",
         "--env-kwargs", '{"reward": "plus-minus-one", "tool_options": {"max_calls": 2}}'],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    import pyarrow.parquet as pq

    rows = pq.read_table(out).to_pylist()
    extra = rows[0]["extra_info"]
    assert extra["env_id"] == "ToolMath-v0" and extra["max_total_tokens"] == 4096
    assert json.loads(extra["env_kwargs"]) == {
        "reward": "plus-minus-one", "tool_options": {"max_calls": 2}}  # fmt: skip


def test_example_agent_loop_yaml_registers_our_loop(tiny):
    """What AgentLoopWorker does with agent_loop_config_path, then one episode through it."""
    model, tokenizer = tiny
    entries = OmegaConf.load(EXAMPLES / "agent_loop.yaml")
    saved = dict(_agent_loop_registry)
    try:
        for entry in entries:
            _agent_loop_registry[entry.name] = entry
        loop = _loop(FakeServerManager(model, tokenizer), tokenizer)
        assert type(loop) is MathAttemptAgentLoop
    finally:
        _agent_loop_registry.clear()
        _agent_loop_registry.update(saved)


def test_prepare_data_script_writes_rows_the_loop_reads(tmp_path, tiny):
    import subprocess
    import sys

    out = tmp_path / "train.parquet"
    subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "prepare_data.py"),
            "--env",
            "MultiAttemptMath-v0",
            "--attempts",
            "1",
            "5",
            "--limit",
            "5",
            "--max-total-tokens",
            "32",
            "--out",
            str(out),
        ],
        check=True,
    )
    frame = pd.read_parquet(out)
    assert len(frame) == 5
    row = frame.iloc[0].to_dict()
    row["prompt"] = [dict(m) for m in row["prompt"]]
    assert row["extra_info"]["max_total_tokens"] == 32
    model, tokenizer = tiny
    output = _run(_loop(FakeServerManager(model, tokenizer), tokenizer, response_length=400), row)
    assert sum(output.response_mask) <= 32


@pytest.mark.needs_sandbox
def test_agent_loop_runs_tool_calls_with_their_output_masked(tiny, problems):
    model, tokenizer = tiny
    call = tokenizer.encode("```python\nprint(2 + 3)\n```\n```output", add_special_tokens=False)

    stops = []

    class Calling(FakeServerManager):
        async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs):
            stops.append(sampling_params.get("stop"))
            if "```output" not in tokenizer.decode(prompt_ids[-64:]):
                return TokenOutput(token_ids=call, log_probs=[0.0] * len(call))
            return await super().generate(
                request_id, prompt_ids=prompt_ids, sampling_params=sampling_params, **kwargs
            )

    loop = _loop(Calling(model, tokenizer), tokenizer, response_length=200)
    for row in verl_rows(problems, env_id="ToolMath-v0", limit=3):
        row["extra_info"]["max_total_tokens"] = 64
        output = _run(loop, row)
        ids, mask = list(output.response_ids), list(output.response_mask)
        assert ids[: len(call)] == call and set(mask[: len(call)]) == {1}
        shown = tokenizer.encode("\n5\n```\n", add_special_tokens=False)
        assert ids[len(call) : len(call) + len(shown)] == shown
        assert mask[len(call) : len(call) + len(shown)] == [0] * len(shown)
        assert output.reward_score is not None
    assert stops and all(stop == ["```output"] for stop in stops)  # the server stops there


def test_a_curriculum_poses_its_pick_once_per_group_and_records_every_episode(tiny):
    from mathattempt_env.adapters.curriculum import shared_curriculum

    model, tokenizer = tiny
    loop = _loop(FakeServerManager(model, tokenizer), tokenizer, response_length=200)
    rows = verl_rows("builtin", limit=2, attempts=2,
                     curriculum={"by": "problem", "band": [0.2, 0.8], "seed": 11})  # fmt: skip
    spec = rows[0]["extra_info"]["curriculum"]
    assert rows[1]["extra_info"]["curriculum"] == spec
    shared = shared_curriculum(spec, where="test")  # the process's curriculum: the loop's too
    before = shared.curriculum.episodes
    picked = {}
    for group in ("uid-a", "uid-b", "uid-c"):
        for n in range(3):  # a GRPO group: the same uid, any row slot
            row = {**rows[n % 2], "uid": group}
            row["extra_info"] = {**row["extra_info"], "max_total_tokens": 24}
            output = _run(loop, row)
            index = output.extra_fields["problem_index"]
            picked.setdefault(group, set()).add(index)
            posed = tokenizer.decode(output.prompt_ids)
            assert shared.problems[index].problem in posed  # the pick, not the row's problem
    assert all(len(indices) == 1 for indices in picked.values())
    assert shared.curriculum.episodes - before == 9


def test_a_curriculum_needs_a_dataset_every_worker_can_load(problems):
    with pytest.raises(ConfigError, match="by name or path"):
        verl_rows(problems, limit=1, curriculum={"band": [0.2, 0.8]})
    with pytest.raises(ConfigError, match="verl_rows curriculum: .*bogus"):
        verl_rows("builtin", limit=1, curriculum={"bogus": 1})
    with pytest.raises(ConfigError, match="curriculum band"):
        verl_rows("builtin", limit=1, curriculum={"band": [0.9, 0.1]})
