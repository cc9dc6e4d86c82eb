"""TRL 1.16: real GRPOTrainer / RLOOTrainer steps on CPU through the adapter, with tiny models."""

from __future__ import annotations

import gymnasium as gym
import pytest
from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer

from mathattempt_env.adapters import trl as adapter
from mathattempt_env.adapters.trl import (
    env_reward,
    make_reward_func,
    make_rollout_func,
    problem_dataset,
)
from mathattempt_env.rollout.hf import HFGenerator
from tests.adapters.conftest import check_tokens, replay, trainer_args

_args = trainer_args


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _changed(model, before):
    return any(not (before[k] == v).all() for k, v in model.state_dict().items())


@pytest.fixture
def spy_generation(monkeypatch):
    """Record every prompt -> output the HF generator produced (the model's own tokens)."""
    outputs = {}
    original = HFGenerator.generate_batch

    def recording(self, prompts, max_new_tokens):
        results = original(self, prompts, max_new_tokens)
        for prompt, (ids, _) in zip(prompts, results, strict=True):
            outputs.setdefault(tuple(prompt), []).append(list(ids))
        return results

    monkeypatch.setattr(HFGenerator, "generate_batch", recording)
    return outputs


CASES = {
    "single-turn": ("SingleTurnMath-v0", {}),
    "multi-attempt": ("MultiAttemptMath-v0", {"attempts": (1, 3)}),
    "s2r-trajectory": ("S2RMath-v0", {}),
    "s2r-interactive": ("S2RMath-v0", {"mode": "interactive", "attempts": 2}),
}


@pytest.mark.parametrize("algo", ["grpo", "rloo"])
@pytest.mark.parametrize("case", list(CASES))
def test_rollout_func_trains(case, algo, tiny, problems, tmp_path, spy_generation, monkeypatch):
    env_id, env_kwargs = CASES[case]
    model, tokenizer = tiny
    env_kwargs = {**env_kwargs, "dataset": problems}
    dataset = problem_dataset(env_id, limit=16, **env_kwargs)
    rollout = make_rollout_func(env_id, max_total_tokens=40, max_turn_tokens=16, **env_kwargs)
    received = []

    def reward(completions, env_reward, **kwargs):
        received.extend(env_reward)
        return adapter.env_reward(completions, env_reward=env_reward)

    # Multi-turn RLOO in TRL is GRPOTrainer + rollout_func with scale_rewards="none".
    scale = {"grpo": "group", "rloo": "none"}[algo]
    args = _args(GRPOConfig, tmp_path, scale_rewards=scale)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        rollout_func=rollout,
    )
    before = _snapshot(model)
    calls = []
    original_call = type(rollout).__call__

    def counting(self, prompts, trainer):
        out = original_call(self, prompts, trainer)
        calls.append((list(prompts), out, list(self.last_episodes)))
        return out

    monkeypatch.setattr(type(rollout), "__call__", counting)
    trainer.train()

    assert trainer.state.global_step == 2
    assert _changed(model, before), "two GRPO steps left the weights unchanged"
    episodes = [e for _, _, batch in calls for e in batch]
    assert received == [e.reward for e in episodes]  # the trainer's reward is the env's
    rewards = {e.reward for e in episodes}
    assert len(rewards) > 1, rewards
    for prompts, out, batch in calls:
        assert len(out["completion_ids"]) == len(prompts)
        assert out["env_mask"] == [e.response_mask for e in batch]
        assert out["env_turn_rewards"] == [e.step_rewards for e in batch]  # per-attempt credit
        for turns, episode in zip(out["env_turn_rewards"], batch, strict=True):
            assert len(turns) == len(episode.turns) and sum(turns) == pytest.approx(episode.reward)
        for prompt, episode in zip(prompts, batch, strict=True):
            check_tokens(episode, spy_generation, tokenizer)
            assert prompt[-1]["content"] == episode.info["messages"][1]["content"]
    for _, _, batch in calls:  # a group (4 copies of a prompt) shares its attempt budget
        for start in range(0, len(batch), 4):
            group = batch[start : start + 4]
            assert len({e.info["problem_id"] for e in group}) == 1
            assert len({e.info.get("attempts") for e in group}) == 1
    if case in ("multi-attempt", "s2r-interactive"):
        assert any(0 in e.response_mask for e in episodes), "no episode had a feedback turn"


def test_rewards_replay_in_a_plain_env(tiny, problems, spy_generation):
    """The driver's episode reward is what the env gives the same text, step by step."""
    model, tokenizer = tiny
    from mathattempt_env.rollout import EpisodeDriver

    driver = EpisodeDriver(
        tokenizer,
        HFGenerator(model, tokenizer, seed=3),
        max_total_tokens=40,
        max_turn_tokens=16,
    )
    for env_id, kwargs in CASES.values():
        envs = [gym.make(env_id, dataset=problems, **kwargs) for _ in range(8)]
        episodes = driver.run_many(envs, seeds=list(range(8)))
        for seed, episode in enumerate(episodes):
            fresh = gym.make(env_id, dataset=problems, **kwargs)
            assert replay(fresh, episode, tokenizer, seed=seed, options=None) == (
                episode.step_rewards
            )
            check_tokens(episode, spy_generation, tokenizer)


@pytest.mark.parametrize("trainer_cls", ["rloo", "grpo"])
def test_single_turn_reward_func_trains(trainer_cls, tiny, problems, tmp_path):
    model, tokenizer = tiny
    dataset = problem_dataset("SingleTurnMath-v0", limit=16, dataset=problems)
    reward = make_reward_func("paper-single")
    seen = []

    def spy(completions, answer, **kwargs):
        values = reward(completions, answer=answer, **kwargs)
        seen.extend(zip(completions, answer, values, strict=True))
        return values

    cls, config = {"rloo": (RLOOTrainer, RLOOConfig), "grpo": (GRPOTrainer, GRPOConfig)}[
        trainer_cls
    ]
    trainer = cls(
        model=model,
        reward_funcs=[spy],
        args=_args(config, tmp_path),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    before = _snapshot(model)
    trainer.train()
    assert trainer.state.global_step == 2
    assert _changed(model, before)
    assert {value for *_, value in seen} <= {1.0, -0.5, -1.0}
    assert len({value for *_, value in seen}) > 1
    answers = {p.answer for p in problems}
    assert {gold for _, gold, _ in seen} <= answers


def test_env_reward_rejects_a_mismatched_batch():
    from mathattempt_env.errors import ConfigError

    with pytest.raises(ConfigError, match="2 rewards for 3 completions"):
        env_reward(["a", "b", "c"], env_reward=[1.0, 0.0])


def test_prompt_not_in_the_env_dataset_is_a_clear_error(problems):
    from mathattempt_env.adapters.common import ProblemIndex
    from mathattempt_env.errors import ConfigError

    index = ProblemIndex(problems)
    with pytest.raises(ConfigError, match="not a problem of the environment's dataset"):
        index.find([{"role": "user", "content": "What is the airspeed of a swallow?"}])


def test_reward_func_grades_conversational_completions():
    reward = make_reward_func("binary")
    completions = [[{"role": "assistant", "content": r"\boxed{\frac12}"}], [], None]
    assert reward(completions, answer=["0.5", "1", "1"]) == [1.0, 0.0, 0.0]
    assert reward.__name__ == "math_binary"


def test_rollout_func_uses_trainer_vllm_generation_when_use_vllm(tiny, problems):
    """With use_vllm=True the rollout generates through trainer.vllm_generation.generate."""
    from types import SimpleNamespace

    model, tokenizer = tiny
    hf = HFGenerator(model, tokenizer, seed=0, max_new_tokens=16)
    calls = []

    class VLLMGeneration:  # TRL's VLLMGeneration.generate signature and return shape
        def generate(self, prompts, images, num_generations):
            calls.append((len(prompts), images, num_generations))
            results = hf.generate_batch(prompts, 16)
            completions = [ids for ids, _ in results]
            logprobs = [[[lp] for lp in lps] for _, lps in results]
            token_ids = [[[t] for t in ids] for ids in completions]
            return prompts, completions, logprobs, token_ids

    trainer = SimpleNamespace(
        use_vllm=True, vllm_generation=VLLMGeneration(), processing_class=tokenizer
    )
    rollout = make_rollout_func(
        "MultiAttemptMath-v0", attempts=2, dataset=problems, max_total_tokens=32
    )
    prompts = problem_dataset("MultiAttemptMath-v0", limit=3, attempts=2, dataset=problems)[
        "prompt"
    ]
    out = rollout(prompts, trainer)
    assert calls and all(images is None and n == 1 for _, images, n in calls)
    assert len(out["completion_ids"]) == 3
    for ids, mask, logprobs in zip(
        out["completion_ids"], out["env_mask"], out["logprobs"], strict=True
    ):
        assert len(ids) == len(mask) == len(logprobs)
        assert all(lp == 0.0 for lp, m in zip(logprobs, mask, strict=True) if m == 0)


@pytest.mark.needs_sandbox
def test_tool_env_trains_with_tool_output_masked(tiny, problems, tmp_path, monkeypatch):
    """ToolMath-v0 under GRPOTrainer: the generator's first turn is a tool call; the tool's
    output block is in the completion with mask 0 exactly on it."""
    model, tokenizer = tiny
    call = tokenizer.encode("```python\nprint(2 + 3)\n```\n```output", add_special_tokens=False)
    original = HFGenerator.generate_batch

    def calling(self, prompts, max_new_tokens):
        results = original(self, prompts, max_new_tokens)
        out = []
        for prompt, (ids, logprobs) in zip(prompts, results, strict=True):
            first = "```output" not in tokenizer.decode(prompt[-64:])
            out.append((call, None) if first else (ids, logprobs))
        return out

    monkeypatch.setattr(HFGenerator, "generate_batch", calling)
    dataset = problem_dataset("ToolMath-v0", limit=8, dataset=problems)
    rollout = make_rollout_func(
        "ToolMath-v0", max_total_tokens=64, max_turn_tokens=24, dataset=problems
    )
    seen = []
    original_call = type(rollout).__call__

    def counting(self, prompts, trainer):
        out = original_call(self, prompts, trainer)
        seen.extend(self.last_episodes)
        return out

    monkeypatch.setattr(type(rollout), "__call__", counting)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[lambda completions, env_reward, **kw: env_reward],
        args=_args(GRPOConfig, tmp_path, max_steps=1, max_completion_length=64),
        train_dataset=dataset,
        processing_class=tokenizer,
        rollout_func=rollout,
    )
    before = _snapshot(model)
    trainer.train()
    assert trainer.state.global_step == 1 and _changed(model, before)
    assert seen
    for episode in seen:
        (s1, e1), (s2, _) = episode.turns[:2]
        assert episode.response_ids[s1:e1] == call
        assert tokenizer.decode(episode.response_ids[e1:s2]) == "\n5\n```\n"
        assert episode.response_mask[e1:s2] == [0] * (s2 - e1)
        assert set(episode.response_mask[s1:e1]) == {1}


@pytest.mark.parametrize(
    "env_id, env_kwargs",
    [
        ("MultiAttemptMath-v0", {"attempts": [1, 3]}),
        ("S2RMath-v0", {"mode": "interactive", "attempts": 2}),
    ],
)
def test_rollout_func_steps_a_server(env_id, env_kwargs, tiny, tmp_path, monkeypatch):
    """rollout_func(env_url=...): the same training with the env on a server process; every
    episode's rewards are what a local env gives the same turns."""
    from mathattempt_env.adapters.common import make_envs
    from tests import serving

    model, tokenizer = tiny
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    dataset = problem_dataset(env_id, limit=8, **env_kwargs)
    with serving.serving(env_id, env_kwargs, "--tokenizer", str(tmp_path / "tokenizer")) as served:
        rollout = make_rollout_func(
            env_id, max_total_tokens=40, max_turn_tokens=16, env_url=served.url, **env_kwargs
        )
        batches = []
        original_call = type(rollout).__call__

        def counting(self, prompts, trainer):
            out = original_call(self, prompts, trainer)
            batches.append(list(self.last_episodes))
            return out

        monkeypatch.setattr(type(rollout), "__call__", counting)
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[env_reward],
            args=_args(GRPOConfig, tmp_path / "out"),
            train_dataset=dataset,
            processing_class=tokenizer,
            rollout_func=rollout,
        )
        trainer.train()
        stats = served.stats()
    episodes = [e for batch in batches for e in batch]
    assert trainer.state.global_step == 2 and len(episodes) == 16
    assert stats["episodes"] == 16 and stats["errors"] == 0
    assert stats["config"]["options"] == {"length_unit": "tokens", "think": "auto", **env_kwargs}
    (local,) = make_envs(env_id, 1, env_kwargs, tokenizer)
    for episode in episodes:
        options = {"index": episode.info["index"], "attempts": episode.info["attempts"]}
        rewards = replay(local, episode, tokenizer, seed=0, options=options)
        assert rewards == episode.step_rewards


def test_a_curriculum_picks_each_group_s_problem_and_hears_every_outcome(
    tiny, problems, tmp_path, monkeypatch
):
    from mathattempt_env.wrappers.curriculum import Curriculum

    model, tokenizer = tiny
    env_kwargs = {"attempts": 2, "dataset": problems}
    dataset = problem_dataset("MultiAttemptMath-v0", limit=16, **env_kwargs)
    problem_list = gym.make("MultiAttemptMath-v0", **env_kwargs).unwrapped.problems
    curriculum = Curriculum(problem_list, by="problem", band=(0.2, 0.8), seed=3)
    rollout = make_rollout_func(
        "MultiAttemptMath-v0", max_total_tokens=40, curriculum=curriculum, **env_kwargs
    )
    outs = []
    original_call = type(rollout).__call__

    def recording(self, prompts, trainer):
        out = original_call(self, prompts, trainer)
        outs.append(out)
        return out

    monkeypatch.setattr(type(rollout), "__call__", recording)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[env_reward],
        args=_args(GRPOConfig, tmp_path),
        train_dataset=dataset,
        processing_class=tokenizer,
        rollout_func=rollout,
    )
    trainer.train()
    played = [pid for out in outs for pid in out["env_problem_id"]]
    assert curriculum.episodes == len(played) > 0
    assert sum(s["picked"] for s in curriculum.stats().values()) * 4 == len(played)  # groups of 4
    for out in outs:
        ids = out["env_problem_id"]
        assert all(len(set(ids[i : i + 4])) == 1 for i in range(0, len(ids), 4))
        assert len(out["env_turn_rewards"]) == len(ids)
