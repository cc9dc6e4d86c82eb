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
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.replicate.settings import MULTI, Settings
from mathattempt_env.adapters.common import make_envs
from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.rollout.episode import Episode
from mathattempt_env.types import Problem


def repeats(answers: Sequence[tuple[str | None, bool]]) -> tuple[int, int]:
    """Count repeats among one episode's answers, given as ``(extracted, correct)`` in order.

    Returns:
        (answers after the first that repeat an earlier rejected answer, answers after the
        first).

    Examples:
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


def repeat_rate(episodes: Iterable[Sequence[tuple[str | None, bool]]]) -> float:
    """The share of answers after the first that repeat an earlier rejected answer.

    Over several episodes' answers (see :func:`repeats`); ``nan`` when no episode made a
    second attempt.

    Examples:
        >>> repeat_rate([[("3", False), ("3", False)], [("1", True)], [("0", False), ("2", True)]])
        0.5
    """
    counted = [repeats(answers) for answers in episodes]
    later = sum(n for _, n in counted)
    return sum(r for r, _ in counted) / later if later else float("nan")


def attempt_index(mask: Sequence[int]) -> list[int]:
    """For each response token, the 1-based attempt it belongs to (0 on environment tokens).

    An attempt is a maximal run of model tokens (mask 1); the feedback between two
    attempts is environment tokens (mask 0).

    Examples:
        >>> attempt_index([1, 1, 0, 0, 1, 0, 1])
        [1, 1, 0, 0, 2, 0, 3]
    """
    index, turn, previous = [], 0, 0
    for bit in mask:
        turn += bool(bit and not previous)
        index.append(turn if bit else 0)
        previous = bit
    return index


def advantages(returns: np.ndarray, attempts: np.ndarray, baseline: str) -> np.ndarray:
    """RLOO advantages of one group, per attempt: shape ``(episodes, max attempts)``.

    Args:
        returns: the episodes' returns, shape ``(g,)``.
        attempts: how many attempts each episode made, shape ``(g,)``.
        baseline: ``"episode"``: every attempt gets ``R_i`` minus the mean return of the
            group's other episodes. ``"attempt"``: attempt ``t`` of episode ``i`` gets ``R_i``
            minus the mean return of the other episodes that also reached attempt ``t`` (they
            failed the same number of times, on the same problem and budget), falling back to
            attempt ``t-1``'s baseline when no other episode got that far. That is a sampled
            value of the state where attempt ``t`` starts: a critic-free stand-in for the
            paper's critic (GAE with γ = 1, λ ≈ 1), which keeps the luck of earlier attempts
            out of a later attempt's credit.

    Examples:
        >>> advantages(np.array([1.0, -0.5, 1.0]), np.array([1, 2, 2]), "attempt").tolist()
        [[0.75, 0.75], [-1.5, -1.5], [0.75, 1.5]]
    """
    g, width = len(returns), int(attempts.max())
    out = np.zeros((g, width))
    for i in range(g):
        others = np.arange(g) != i
        base = float(returns[others].mean())
        for t in range(width):
            reached = others & (attempts > t)
            if baseline == "attempt" and reached.any():
                base = float(returns[reached].mean())
            out[i, t] = returns[i] - base
    return out


def _metrics(episodes: list[Episode], seconds: float) -> dict[str, float]:
    answers = [
        [(r.grade.extracted, r.correct) for r in e.info["records"] if r.kind == "solve"]
        for e in episodes
    ]
    return {
        "reward": float(np.mean([e.reward for e in episodes])),
        "solved": float(np.mean([e.correct for e in episodes])),
        "attempts": float(np.mean([e.attempts for e in episodes])),
        "repeat_rate": repeat_rate(answers),
        "model_tokens": float(sum(sum(e.response_mask) for e in episodes)),
        "seconds": seconds,
    }


def _loss(
    model: Any,
    reference: Any,
    episodes: list[Episode],
    credit: list[np.ndarray],
    pad: int,
    kl: float,
) -> Any:
    import torch

    from experiments.tiny import padded_batch

    ids, labels, attention = padded_batch(
        [(e.prompt_ids + e.response_ids, [0] * len(e.prompt_ids) + e.response_mask)
         for e in episodes], pad)  # fmt: skip
    weights = torch.zeros(ids.shape)  # each model token's advantage
    for row, episode in enumerate(episodes):
        turn = np.array([0] * len(episode.prompt_ids) + attempt_index(episode.response_mask))
        per_token = np.where(turn > 0, credit[row][np.maximum(turn, 1) - 1], 0.0)
        weights[row, : len(turn)] = torch.tensor(per_token)
    # aligned with the predicted tokens; 1 on the model's tokens
    mine, weights = (labels[:, 1:] != -100).float(), weights[:, 1:]

    def logprobs(net: Any) -> Any:
        logits = net(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
        return torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]

    logp = logprobs(model)
    tokens = max(1.0, float(mine.sum()))
    loss = -(logp * weights).sum() / tokens
    if kl:  # k3 estimate of KL(policy || warm start) on the model's tokens, as the paper
        with torch.no_grad():
            ref = logprobs(reference)
        delta = ref - logp
        loss = loss + kl * ((torch.exp(delta) - delta - 1) * mine).sum() / tokens
    return loss


def save_model(model: Any, tokenizer: Any, folder: Path) -> None:
    """Save a model folder atomically (written beside it, then renamed into place)."""
    partial = folder.with_name(folder.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(folder)


def _save(path: Path, state: dict[str, Any]) -> None:
    import torch

    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def arm_envs(
    env_id: str, problems: Sequence[Problem], settings: Settings, tokenizer: Any, count: int
) -> list[Any]:
    """An arm's envs, made as every training path makes them.

    The options are checked as an :class:`~mathattempt_env.envs.config.EnvConfig`, and
    ``make_envs`` takes ``think`` and the token count from the tokenizer, as the trainer
    adapters and evaluation do.

    Examples:
        >>> from experiments.replicate.settings import PRESETS, SINGLE
        >>> from experiments.tiny import tiny_tokenizer
        >>> problem = Problem("p", "What is 2+2?", "4")
        >>> (env,) = arm_envs(SINGLE, [problem], PRESETS["mini"], tiny_tokenizer(), 1)
        >>> env.unwrapped.grading.think, env.unwrapped.budget.unit
        ('auto', 'tokens')
    """
    options: dict[str, Any] = {}
    if env_id == MULTI:
        options = {**settings.env_config().options, "attempts": list(settings.attempts),
                   "reward": settings.reward}  # fmt: skip
    config = EnvConfig(env_id, options)
    return make_envs(env_id, count, {"dataset": list(problems), **config.options}, tokenizer)


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
    snapshots: Collection[int] = (),
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` in place with RLOO on ``env_id`` for ``steps`` steps; the metrics.

    Resumes from ``folder / "checkpoint.pt"`` when it exists. After each step ``n`` in
    ``snapshots`` the model is saved to ``folder / f"model-step{n}"`` (and a checkpoint
    written, so that a resumed run never has to pass that step again).
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
    size = settings.problems_per_step * settings.group
    envs = arm_envs(env_id, problems, settings, tokenizer, size)
    driver = EpisodeDriver(tokenizer, generator, max_total_tokens=settings.max_tokens)
    for step in range(len(history), steps):
        started = time.perf_counter()
        picked = rng.choice(len(problems), size=settings.problems_per_step, replace=False)
        seeds = rng.integers(2**31, size=settings.problems_per_step)
        options = [{"index": int(i)} for i in picked for _ in range(settings.group)]
        resets = [int(s) for s in seeds for _ in range(settings.group)]  # one budget per group
        model.eval()
        episodes = driver.run_many(envs, seeds=resets, options=options)
        g = settings.group
        credit = [
            row
            for n in range(0, len(episodes), g)
            for row in advantages(
                np.array([e.reward for e in episodes[n : n + g]]),
                np.array([e.attempts for e in episodes[n : n + g]]),
                settings.baseline,
            )  # fmt: skip
        ]
        model.train()
        loss = _loss(model, reference, episodes, credit, tokenizer.pad_token_id, settings.kl)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        model.eval()
        history.append({"step": step + 1, **_metrics(episodes, time.perf_counter() - started)})
        if progress is not None:
            progress(step + 1, history[-1])
        if step + 1 in snapshots and not (folder / f"model-step{step + 1}").is_dir():
            save_model(model, tokenizer, folder / f"model-step{step + 1}")
        if (step + 1) % settings.checkpoint_every == 0 or step + 1 in (steps, *snapshots):
            _save(checkpoint, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "rng": rng.bit_generator.state, "sampler": generator._rng_state,
                               "history": history})  # fmt: skip
    return history
