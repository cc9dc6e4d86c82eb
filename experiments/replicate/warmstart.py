"""The supervised warm start: conversations a guesser that mostly learns from feedback writes.

A tiny model cannot divide, so on a built-in remainder problem ("What is the remainder when
$449$ is divided by $5$?") its first attempt is a guess: at best one of the ``m`` possible
remainders, right with chance ``1/m`` (22% averaged over ``m`` = 3..7). Later attempts can do
much better by using the feedback: a guesser that never repeats a rejected answer is sure to
be right by attempt ``m``. That is the skill the multi-attempt paper trains, in its simplest
form, and a tiny model can learn it: read the rejected answers quoted by the feedback
(``feedback="answer"``) and avoid them.

The traces are written by playing the environments themselves with a scripted guesser, so
their text and markup are exactly what RL and evaluation will see: in multi-attempt
conversations (budgets drawn per conversation from ``Settings.warm_attempts``) the first
answer is uniform over ``0..m-1``; each later one repeats an earlier rejected answer with
probability ``repeat_prob`` (0.35) and is otherwise uniform over the untried values. A share
``1 - warm_multi`` of the traces can be single-turn episodes (one uniform guess). The testbed
uses multi-attempt traces with 5 attempts only: half single-turn traces with budgets
U{1..5} leave too few later answers to learn from (the sweep,
:mod:`~experiments.replicate.sweep`). The warm start thus has some feedback skill, and room
to improve it.

Examples:
    >>> import numpy as np
    >>> from mathattempt_env.data.builtin import BuiltinProblems
    >>> problems = list(BuiltinProblems(1, size=4, levels=(1,), families=["remainder"]))
    >>> traces = write_traces(problems, 6, np.random.default_rng(0), repeat_prob=0.35)
    >>> len(traces), traces[0][-1]["role"]
    (6, 'assistant')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from experiments.replicate.settings import MULTI, SINGLE, divisor
from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.envs.surface import surface
from mathattempt_env.prompts import Message
from mathattempt_env.types import Problem


def _guess(m: int, rejected: list[int], rng: np.random.Generator, repeat_prob: float) -> int:
    untried = [x for x in range(m) if x not in rejected]
    if rejected and (not untried or rng.random() < repeat_prob):
        return int(rejected[rng.integers(len(rejected))])
    return int(untried[rng.integers(len(untried))])


def write_traces(
    problems: Sequence[Problem],
    count: int,
    rng: np.random.Generator,
    *,
    repeat_prob: float,
    feedback: str = "answer",
    multi: float = 0.5,
    attempts: tuple[int, int] = (1, 5),
) -> list[list[Message]]:
    """Write ``count`` conversations; each ends with the guesser's last answer.

    Args:
        problems: built-in remainder problems.
        count: conversations to write.
        rng: draws the problems, budgets, episode seeds and guesses.
        repeat_prob: the chance that an answer after the first repeats a rejected one.
        feedback: the multi-attempt env's feedback string.
        multi: the share of multi-attempt conversations (every ``1/multi``-th, evenly
            spread); the others are single-turn.
        attempts: the multi-attempt budgets, drawn per conversation.
    """
    multi_env = EnvConfig(MULTI, {"feedback": feedback}).make(
        dataset=list(problems), attempts=attempts
    )
    single = gym.make(SINGLE, dataset=list(problems))
    traces = []
    for n in range(count):
        # conversation n is multi-attempt when the running count of them steps up
        env = multi_env if int((n + 1) * multi) > int(n * multi) else single
        _, info = env.reset(seed=int(rng.integers(2**31)), options={
            "index": int(rng.integers(len(problems)))})  # fmt: skip
        m = divisor(surface(env).problem)
        rejected: list[int] = []
        while True:
            answer = _guess(m, rejected, rng, repeat_prob)
            _, _, terminated, truncated, info = env.step(f"\\boxed{{{answer}}}")
            rejected.append(answer)
            if terminated or truncated:
                break
        traces.append(list(info["messages"]))
    return traces


def encode(tokenizer: Any, conversation: Sequence[Message]) -> tuple[list[int], list[int]]:
    """Token ids of a conversation, and a mask that is 1 on the assistant's tokens.

    The mask covers each answer and its end-of-turn token; the ids are built as the episode
    driver builds an episode.
    """
    from mathattempt_env.rollout.chat import ChatMarkup

    chat = ChatMarkup(tokenizer)
    first = next(i for i, m in enumerate(conversation) if m["role"] == "assistant")
    history = list(conversation[:first])
    ids = chat.prompt_ids(history)
    mask = [0] * len(ids)
    i = first
    eos = tokenizer.eos_token
    while i < len(conversation):
        content = conversation[i]["content"]
        turn = chat.encode(content + eos)
        ids += turn
        mask += [1] * len(turn)
        j = i + 1
        while j < len(conversation) and conversation[j]["role"] != "assistant":
            j += 1
        if j < len(conversation):  # the env's turns between two answers
            between = chat.turn_ids(history, content, eos, conversation[i + 1 : j])
            ids += between
            mask += [0] * len(between)
        history = list(conversation[:j])
        i = j
    return ids, mask


def lr_factor(step: int, steps: int, warmup: int = 0) -> float:
    """The learning-rate multiplier before optimizer step ``step`` (0-based) of ``steps``.

    Linear warm-up over the first ``warmup`` steps, then cosine decay to 0.

    Examples:
        >>> [round(lr_factor(s, 100, warmup=10), 2) for s in (0, 5, 10, 55, 100)]
        [0.1, 0.6, 1.0, 0.5, 0.0]
        >>> lr_factor(0, 100)
        1.0
    """
    if step < warmup:
        return (step + 1) / warmup
    return float(0.5 * (1 + np.cos(np.pi * min(step - warmup, steps - warmup) / (steps - warmup))))


def warm_start(
    model: Any,
    tokenizer: Any,
    traces: Sequence[Sequence[Message]],
    *,
    steps: int,
    batch: int,
    lr: float,
    rng: np.random.Generator,
    warmup: int = 0,
    progress: Callable[[float], None] | None = None,
) -> list[float]:
    """Fit ``model`` to the traces' assistant tokens; the losses.

    AdamW, with a linear warm-up over the first ``warmup`` steps, then cosine decay to 0
    (:func:`lr_factor`).
    """
    import torch

    from experiments.tiny import padded_batch

    rows = [encode(tokenizer, t) for t in traces]
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, steps, warmup))
    pad = tokenizer.pad_token_id
    losses = []
    model.train()
    for _ in range(steps):
        picked = [rows[i] for i in rng.choice(len(rows), size=min(batch, len(rows)), replace=False)]
        ids, labels, attention = padded_batch(picked, pad)
        loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(losses[-1])
    model.eval()
    return losses
