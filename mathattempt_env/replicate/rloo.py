"""A small, readable RLOO loop on the package's public path: ``EpisodeDriver`` episodes.

Each step draws ``problems_per_step`` training problems and plays ``group`` episodes of each
with the current model (temperature 1; the multi-attempt arm's budget is drawn per episode
from U{1..5}, shared within a group). The return of an episode is the sum of its step rewards
(γ = 1; with the paper's reward that is +1 / -0.5 / -1 on the last step). Each episode's
advantage is its return minus the mean return of the other episodes of its group (RLOO);
every model token of the episode gets it, environment tokens (the feedback) are masked out.
The loss is ``-sum(A * log p) / model tokens`` over the batch, plus ``kl`` times the k3
estimate of the KL divergence from the warm start on the model's tokens (the paper's
estimator; it keeps a tiny model from drifting into answers that never end), one AdamW step
per batch (on policy, so no ratio clipping), gradients clipped at norm 1.

A checkpoint (model, optimizer, data and sampling RNG states, metrics) is written every
``checkpoint_every`` steps, atomically; :func:`train` resumes from it, so a killed run goes on
from its last checkpoint and reaches the same result as an uninterrupted one.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from mathattempt_env.replicate.settings import ENV_KWARGS, MULTI, Settings
from mathattempt_env.rollout.episode import Episode
from mathattempt_env.types import Problem


def repeats(answers: Sequence[tuple[str | None, bool]]) -> tuple[int, int]:
    """Count repeats among one episode's answers, given as ``(extracted, correct)`` in order.

    Returns:
        (answers after the first that repeat an earlier rejected answer, answers after the
        first).

    Example:
        >>> repeats([("3", False), ("3", False), ("1", False), ("2", True)])
        (1, 3)
    """
    rejected: set[str] = set()
    repeated = 0
    for n, (answer, correct) in enumerate(answers):
        repeated += bool(n) and answer is not None and answer in rejected
        if answer is not None and not correct:
            rejected.add(answer)
    return repeated, max(0, len(answers) - 1)


def _metrics(episodes: list[Episode], seconds: float) -> dict[str, float]:
    counted = [
        repeats([(r.grade.extracted, r.correct) for r in e.info["records"] if r.kind == "solve"])
        for e in episodes
    ]
    later = sum(n for _, n in counted)
    return {
        "reward": float(np.mean([e.reward for e in episodes])),
        "solved": float(np.mean([e.correct for e in episodes])),
        "attempts": float(np.mean([e.attempts for e in episodes])),
        "repeat_rate": sum(r for r, _ in counted) / later if later else float("nan"),
        "model_tokens": float(sum(sum(e.response_mask) for e in episodes)),
        "seconds": seconds,
    }


def _loss(
    model: Any,
    reference: Any,
    episodes: list[Episode],
    advantages: np.ndarray,
    pad: int,
    kl: float,
) -> Any:
    import torch

    width = max(len(e.prompt_ids) + len(e.response_ids) for e in episodes)
    ids = torch.full((len(episodes), width), pad)
    attention = torch.zeros((len(episodes), width), dtype=torch.long)
    mine = torch.zeros((len(episodes), width))  # 1 on the model's tokens
    for row, episode in enumerate(episodes):
        seq = episode.prompt_ids + episode.response_ids
        ids[row, : len(seq)] = torch.tensor(seq)
        attention[row, : len(seq)] = 1
        mine[row, len(episode.prompt_ids) : len(seq)] = torch.tensor(episode.response_mask)
    mine = mine[:, 1:]  # aligned with the predicted tokens

    def logprobs(net: Any) -> Any:
        logits = net(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
        return torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]

    logp = logprobs(model)
    tokens = max(1.0, float(mine.sum()))
    weights = mine * torch.tensor(advantages, dtype=torch.float32)[:, None]
    loss = -(logp * weights).sum() / tokens
    if kl:  # k3 estimate of KL(policy || warm start) on the model's tokens, as the paper
        with torch.no_grad():
            ref = logprobs(reference)
        delta = ref - logp
        loss = loss + kl * ((torch.exp(delta) - delta - 1) * mine).sum() / tokens
    return loss


def _save(path: Path, state: dict[str, Any]) -> None:
    import torch

    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def train(
    model: Any,
    tokenizer: Any,
    env_id: str,
    problems: list[Problem],
    settings: Settings,
    *,
    steps: int,
    seed: int,
    folder: Path,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` in place with RLOO on ``env_id`` for ``steps`` steps; the metrics.

    Resumes from ``folder / "checkpoint.pt"`` when it exists.
    """
    import torch

    from mathattempt_env.rollout import EpisodeDriver
    from mathattempt_env.rollout.hf import HFGenerator

    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = folder / "checkpoint.pt"
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.0)
    reference = copy.deepcopy(model).eval() if settings.kl else None  # the warm start
    generator = HFGenerator(model, tokenizer, temperature=1.0, seed=seed)
    rng = np.random.default_rng(seed)
    history: list[dict[str, float]] = []
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        generator._rng_state = state["sampler"]
        history = state["history"]
    kwargs = {"dataset": problems, **(ENV_KWARGS if env_id == MULTI else {})}
    if env_id == MULTI:
        kwargs.update(attempts=settings.attempts, reward=settings.reward)
    size = settings.problems_per_step * settings.group
    envs = [gym.make(env_id, **kwargs) for _ in range(size)]
    driver = EpisodeDriver(tokenizer, generator, max_total_tokens=settings.max_tokens)
    for step in range(len(history), steps):
        started = time.perf_counter()
        picked = rng.choice(len(problems), size=settings.problems_per_step, replace=False)
        seeds = rng.integers(2**31, size=settings.problems_per_step)
        options = [{"index": int(i)} for i in picked for _ in range(settings.group)]
        resets = [int(s) for s in seeds for _ in range(settings.group)]  # one budget per group
        model.eval()
        episodes = driver.run_many(envs, seeds=resets, options=options)
        returns = np.array([e.reward for e in episodes]).reshape(-1, settings.group)
        g = settings.group
        advantages = (returns - (returns.sum(1, keepdims=True) - returns) / (g - 1)).ravel()
        model.train()
        loss = _loss(model, reference, episodes, advantages, tokenizer.pad_token_id, settings.kl)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        model.eval()
        history.append({"step": step + 1, **_metrics(episodes, time.perf_counter() - started)})
        if progress is not None:
            progress(step + 1, history[-1])
        if (step + 1) % settings.checkpoint_every == 0 or step + 1 == steps:
            _save(checkpoint, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "rng": rng.bit_generator.state, "sampler": generator._rng_state,
                               "history": history})  # fmt: skip
    return history
