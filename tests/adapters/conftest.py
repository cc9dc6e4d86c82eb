"""Tiny models built inside the tests (no model hub): a Qwen2-shape model and a BPE tokenizer."""

from __future__ import annotations

import os

import pytest

from mathattempt_env.data.builtin import BuiltinProblems
from mathattempt_env.types import Turn

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def trainer_args(cls, tmp_path, **overrides):
    """A TRL config for a two-step CPU run of a tiny model (``overrides`` win)."""
    options = dict(
        output_dir=str(tmp_path),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=16,
        max_steps=2,
        learning_rate=1e-3,
        temperature=0.7,
        beta=0.0,
        report_to="none",
        use_cpu=True,
        logging_steps=1,
        save_strategy="no",
        seed=0,
    )
    options.update(overrides)
    return cls(**options)


@pytest.fixture(scope="session")
def problems():
    """Easy built-in problems (small remainders), so a tiny model is sometimes right."""
    return list(BuiltinProblems(0, size=48, levels=(1,), families=("remainder",)))


@pytest.fixture(scope="session")
def taught(problems):
    """A tiny Qwen2 model taught the boxed-answer format, built and trained once per session.

    Returns its weights, its tokenizer and a factory for fresh copies.
    """
    from experiments.tiny import teach_format, tiny_qwen2

    model, tokenizer = tiny_qwen2()
    teach_format(model, tokenizer, problems[:32], steps=60)
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return weights, tokenizer


@pytest.fixture
def tiny(taught):
    """A fresh copy of the taught tiny model (each test may train its own), and the tokenizer."""
    import copy

    from experiments.tiny import tiny_qwen2

    weights, tokenizer = taught
    model, _ = tiny_qwen2(tokenizer)
    model.load_state_dict(weights)
    return model, copy.deepcopy(tokenizer)


def replay(env, episode, tokenizer, *, seed, options):
    """Step a fresh env with the episode's decoded model turns, as a plain text policy would.

    Turns the driver cut at its token limit are marked cut. Returns the step rewards.
    """
    env.reset(seed=seed, options=options)
    records = episode.info["records"]
    per_turn = len(records) // len(episode.turns)  # trajectory S2R: all records in one turn
    rewards = []
    for number, (start, end) in enumerate(episode.turns):
        text = tokenizer.decode(episode.response_ids[start:end], skip_special_tokens=True)
        cut = records[(number + 1) * per_turn - 1].cut
        rewards.append(env.step(Turn(text, cut=cut))[1])
    return rewards


def check_tokens(episode, outputs, tokenizer):
    """The model tokens are the generator's outputs, verbatim; environment tokens are masked.

    ``outputs`` maps a generation's prompt ids (as a tuple) to the outputs the generator
    returned for it (a group repeats a prompt, so there can be several).
    """
    context = list(episode.prompt_ids)
    for start, end in episode.turns:
        generated = outputs[tuple(context + episode.response_ids[:start])]
        assert episode.response_ids[start:end] in [ids[: end - start] for ids in generated]
    mask = episode.response_mask
    model_positions = {i for start, end in episode.turns for i in range(start, end)}
    assert {i for i, m in enumerate(mask) if m == 1} == model_positions
    assert len(mask) == len(episode.response_ids)
    # The whole token context reads as the chat template's rendering of the env's conversation
    # (inside a model turn, special tokens the model emitted are not part of the env's text).
    ids, text, position = episode.response_ids, tokenizer.decode(episode.prompt_ids), 0
    for start, end in episode.turns:
        text += tokenizer.decode(ids[position:start])
        text += tokenizer.decode(ids[start:end], skip_special_tokens=True)
        if end > start and ids[end - 1] == tokenizer.eos_token_id:
            text += tokenizer.eos_token
        position = end
    rendered = tokenizer.apply_chat_template(episode.info["messages"], tokenize=False)
    at = next(
        (i for i, (a, b) in enumerate(zip(text, rendered, strict=False)) if a != b), len(text)
    )
    assert rendered.startswith(text), (text[at - 60 : at + 30], rendered[at - 60 : at + 30])
