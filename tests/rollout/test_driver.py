"""The episode driver with scripted generators: token rules, budgets, spans, bad input."""

from __future__ import annotations

import asyncio

import gymnasium as gym
import pytest

from experiments.tiny import tiny_tokenizer
from mathattempt_env.errors import ConfigError
from mathattempt_env.rollout import EpisodeDriver
from mathattempt_env.rollout.batching import Batcher

VERIFY = "\n\nWait, let me recheck my solution.\n\n"
RETRY = "\n\nLet me try again.\n\n"


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


def scripted(tokenizer, *texts):
    """A one-argument generate that answers with each text in turn (then repeats the last)."""
    turns = list(texts)

    def generate(prompt_ids):
        text = turns.pop(0) if len(turns) > 1 else turns[0]
        return tokenizer.encode(text), None

    return generate


def test_gold_on_the_second_attempt(tokenizer):
    env = gym.make("MultiAttemptMath-v0", attempts=3)
    env.reset(seed=0)
    gold = env.unwrapped.problem.answer
    driver = EpisodeDriver(
        tokenizer, scripted(tokenizer, r"\boxed{x}<|im_end|>", rf"\boxed{{{gold}}}<|im_end|>")
    )
    episode = driver.run(env, seed=0)
    assert (episode.attempts, episode.reward, episode.step_rewards) == (2, 1.0, [0.0, 1.0])
    assert episode.terminated and not episode.truncated and episode.correct
    assert episode.response_logprobs is None
    (_, end), (start, stop) = episode.turns
    assert stop == len(episode.response_ids)
    feedback = tokenizer.decode(episode.response_ids[end:start])
    assert feedback == (
        "\n<|im_start|>system\nYour answer is incorrect. You have 2 attempts left. Try an "
        "alternative.<|im_end|>\n<|im_start|>assistant\n"
    )
    assert episode.response_mask == [1] * end + [0] * (start - end) + [1] * (stop - start)


def test_turn_budget_cuts_closes_and_total_budget_truncates(tokenizer):
    long = "blah " * 100  # never stops by itself
    driver = EpisodeDriver(
        tokenizer, scripted(tokenizer, long), max_total_tokens=25, max_turn_tokens=10
    )
    env = gym.make("MultiAttemptMath-v0", attempts=5)
    episode = driver.run(env, seed=1)
    lengths = [end - start for start, end in episode.turns]
    assert lengths == [10, 10, 5] and sum(episode.response_mask) == 25
    assert episode.truncated and not episode.terminated and episode.reward == -1.0
    assert [r.cut for r in episode.info["records"]] == [True, True, True]
    assert episode.info["length_used"] == 25
    # A cut turn is closed by the environment: its first token is the end-of-turn marker.
    for (_, end), (start, _) in zip(episode.turns, episode.turns[1:], strict=False):
        assert episode.response_ids[end] == tokenizer.eos_token_id
        assert tokenizer.decode(episode.response_ids[end:start]).startswith("<|im_end|>\n<|im")
    # Nothing is appended after the last turn.
    assert episode.response_mask[-1] == 1


def test_async_generate_and_logprobs(tokenizer):
    async def generate(prompt_ids, max_new_tokens):
        ids = tokenizer.encode(r"\boxed{1}<|im_end|>")
        return ids, [-0.5] * len(ids)

    driver = EpisodeDriver(tokenizer, generate)
    episode = driver.run(gym.make("MultiAttemptMath-v0", attempts=2), seed=0)
    logprobs = episode.response_logprobs
    assert len(logprobs) == len(episode.response_ids)
    assert all(
        lp == (-0.5 if m else 0.0) for lp, m in zip(logprobs, episode.response_mask, strict=True)
    )


def test_s2r_trajectory_actions_are_located_in_tokens(tokenizer):
    env = gym.make("S2RMath-v0", reward="s2r-process")  # per-action rewards: the scheme's
    env.reset(seed=2)
    gold = env.unwrapped.problem.answer
    text = (r"\boxed{x}" + VERIFY + "Therefore, the answer is incorrect." + RETRY
            + rf"\boxed{{{gold}}}" + VERIFY + "Therefore, the answer is correct.<|im_end|>")  # fmt: skip
    episode = EpisodeDriver(tokenizer, scripted(tokenizer, text)).run(env, seed=2)
    kinds = [(a.kind, a.reward) for a in episode.actions]
    assert kinds == [("solve", -1.0), ("verify", 1.0), ("solve", 1.0), ("verify", 1.0)]
    pieces = [tokenizer.decode(episode.response_ids[a.start : a.end]) for a in episode.actions]
    assert pieces[0].strip() == r"\boxed{x}"  # "}\n\n" is one Qwen2.5 token
    assert pieces[1].strip().endswith("the answer is incorrect.")
    assert pieces[2].strip().endswith(rf"\boxed{{{gold}}}")
    assert pieces[3].strip().endswith("the answer is correct.")
    rewards = episode.token_rewards()
    assert [rewards[a.end - 1] for a in episode.actions] == [-1.0, 1.0, 1.0, 1.0]
    assert sum(rewards) == episode.reward == 2.0  # the actions' rewards add up to the step's
    # Under the default outcome scheme, the outcome sits on the last action.
    episode = EpisodeDriver(tokenizer, scripted(tokenizer, text)).run(
        gym.make("S2RMath-v0"), seed=2
    )
    assert [a.reward for a in episode.actions] == [0.0, 0.0, 0.0, 1.0]
    assert sum(episode.token_rewards()) == episode.reward == 1.0


def test_generator_output_over_the_limit_is_cut_to_it(tokenizer):
    driver = EpisodeDriver(tokenizer, scripted(tokenizer, "word " * 50), max_total_tokens=7)
    episode = driver.run(gym.make("SingleTurnMath-v0"), seed=0)
    assert sum(episode.response_mask) == 7 and episode.truncated


def test_bad_configuration_is_a_clear_error(tokenizer):
    with pytest.raises(ConfigError, match="generate: expected a callable"):
        EpisodeDriver(tokenizer, "not callable")
    with pytest.raises(ConfigError, match="max_total_length"):
        EpisodeDriver(tokenizer, scripted(tokenizer, "x"), max_total_tokens=0)
    driver = EpisodeDriver(tokenizer, lambda ids: [1, 2, 3])
    with pytest.raises(ConfigError, match=r"expected a \(token_ids, logprobs\) tuple"):
        driver.run(gym.make("SingleTurnMath-v0"), seed=0)
    with pytest.raises(ConfigError, match="expected a mathattempt_env environment"):
        driver.run(gym.make("CartPole-v1"))
    env = gym.make("SingleTurnMath-v0")
    with pytest.raises(ConfigError, match="its own env instance"):
        driver.run_many([env, env])


def test_a_template_that_rewrites_history_is_refused(tokenizer):
    class Rewriting:
        """Numbers turns from the end: adding a turn changes every earlier one."""

        def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
            n = len(messages)
            body = "".join(f"[{n - i}:{m['role']}]{m['content']}" for i, m in enumerate(messages))
            return body + ("[a]" if add_generation_prompt else "")

        def encode(self, text, add_special_tokens=False):
            return tokenizer.encode(text, add_special_tokens=False)

        def decode(self, ids, skip_special_tokens=False):
            return tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)

    driver = EpisodeDriver(Rewriting(), scripted(tokenizer, r"\boxed{x}<|im_end|>"))
    with pytest.raises(ConfigError, match="not append-only"):
        driver.run(gym.make("MultiAttemptMath-v0", attempts=2), seed=0)


def test_batcher_serves_concurrent_requests_in_one_call_and_shares_failures():
    calls = []

    def batch(prompts, limit):
        calls.append((len(prompts), limit))
        if len(calls) == 2:
            raise RuntimeError("server down")
        return [([len(p)] * 9, None) for p in prompts]

    batcher = Batcher(batch)

    async def main():
        first = await asyncio.gather(*(batcher([0] * i, i) for i in range(1, 5)))
        second = await asyncio.gather(batcher([1], 2), batcher([2], 3), return_exceptions=True)
        return first, second

    first, second = asyncio.run(main())
    assert calls == [(4, 4), (2, 3)]
    assert [ids for ids, _ in first] == [[1], [2, 2], [3, 3, 3], [4, 4, 4, 4]]
    assert all(isinstance(e, RuntimeError) for e in second)


def test_same_seed_same_episode(tokenizer):
    from experiments.tiny import tiny_qwen2
    from mathattempt_env.rollout.hf import HFGenerator

    model, tok = tiny_qwen2(tokenizer)
    runs = []
    for _ in range(2):
        driver = EpisodeDriver(tok, HFGenerator(model, tok, seed=7), max_total_tokens=20)
        envs = [gym.make("MultiAttemptMath-v0") for _ in range(3)]
        runs.append(
            [(e.prompt_ids, e.response_ids) for e in driver.run_many(envs, seeds=[1, 2, 3])]
        )
    assert runs[0] == runs[1]


def test_batcher_skips_requests_cancelled_while_their_batch_ran():
    import asyncio

    from mathattempt_env.rollout.batching import Batcher

    def slow_echo(prompts, max_new_tokens):
        return [(p[-1:], None) for p in prompts]

    async def main():
        batcher = Batcher(slow_echo)
        doomed = asyncio.ensure_future(batcher([1, 2], 4))
        kept = asyncio.ensure_future(batcher([3, 4], 4))
        await asyncio.sleep(0)
        doomed.cancel()
        return await kept, await asyncio.gather(doomed, return_exceptions=True)

    loop_errors = []
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))
    try:
        kept, (doomed,) = loop.run_until_complete(main())
    finally:
        loop.close()
    assert kept == ([4], None)
    assert isinstance(doomed, asyncio.CancelledError)
    assert loop_errors == []


@pytest.mark.needs_sandbox
def test_a_tool_call_stops_generation_and_its_output_is_masked_inside_the_turn(tokenizer):
    # The model would go on to imagine an output; the driver stops at the stop string.
    call = "Let me compute.\n```python\nprint(6 * 7)\n```\n```output\n41\n```\nSo 41"
    driver = EpisodeDriver(  # the tool env brings its stop string
        tokenizer, scripted(tokenizer, call, r"So the answer is \boxed{42}.<|im_end|>")
    )
    env = gym.make("ToolMath-v0", length_fn=driver.count_tokens)
    problem = {"problem": "What is $6 \\times 7$?", "answer": "42"}
    episode = driver.run(env, seed=0, options={"problem": problem})
    assert episode.reward == 1.0 and episode.step_rewards == [0.0, 1.0]
    (s1, e1), (s2, e2) = episode.turns
    ids, mask = episode.response_ids, episode.response_mask
    assert tokenizer.decode(ids[s1:e1]).endswith("```output")
    tool = tokenizer.decode(ids[e1:s2])
    assert tool == "\n42\n```\n"  # the real output, not the imagined one
    assert mask == [1] * e1 + [0] * (s2 - e1) + [1] * (e2 - s2)
    # The whole response reads as one assistant turn of the env's conversation.
    content = episode.info["messages"][-1]["content"]
    assert tokenizer.decode(ids[:e2], skip_special_tokens=True) == content


def test_the_batcher_batches_by_stop_strings_and_passes_them_on():
    calls = []

    def batch(prompts, max_new_tokens, stop=()):
        calls.append((len(prompts), stop))
        return [(p[-1:], None) for p in prompts]

    batcher = Batcher(batch)

    async def main():
        return await asyncio.gather(
            batcher([1], 2), batcher([2], 2, ("x",)), batcher([3], 2), batcher([4], 2, ("x",))
        )

    assert [ids for ids, _ in asyncio.run(main())] == [[1], [2], [3], [4]]
    assert sorted(calls) == [(2, ()), (2, ("x",))]


def test_the_hf_generator_stops_each_row_at_its_first_stop_string():
    from experiments.tiny import tiny_qwen2
    from mathattempt_env.rollout.hf import HFGenerator

    model, tok = tiny_qwen2()
    generator = HFGenerator(model, tok, seed=0)
    prompts = [tok.encode(text) for text in ("hello", "1 + 1 =", "x")] * 3
    free = generator.generate_batch(prompts, 40)
    generator = HFGenerator(model, tok, seed=0)
    stopped = generator.generate_batch(prompts, 40, stop=("e", "1"))
    for (whole, _), (ids, logprobs) in zip(free, stopped, strict=True):
        text = tok.decode(ids, skip_special_tokens=True)
        assert ids == whole[: len(ids)] and len(logprobs) == len(ids)  # same draw, cut
        hit = [text.find(s) for s in ("e", "1") if s in text]
        if hit:  # the token that completes the first stop string is the last one
            assert len(tok.decode(ids[:-1], skip_special_tokens=True)) <= min(hit)
    assert sum(len(ids) for ids, _ in stopped) < sum(len(ids) for ids, _ in free)
