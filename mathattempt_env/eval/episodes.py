"""One evaluation episode: a chat backend plays an env to its end under a token budget."""

from __future__ import annotations

import dataclasses
from typing import Any

from mathattempt_env.envs.base import MathEnv
from mathattempt_env.eval.backends import ChatBackend
from mathattempt_env.rollout import TokenLengths
from mathattempt_env.types import AttemptRecord


def _grade(record: AttemptRecord) -> dict[str, Any]:
    if record.kind == "verify":
        return {
            "kind": "verify",
            "verdict": record.verdict,
            "target_correct": record.target_correct,
        }
    assert record.grade is not None
    return {
        "kind": "solve",
        "correct": record.grade.correct,
        "formatted": record.grade.formatted,
        "extracted": record.grade.extracted,
        "reason": record.grade.reason,
        "cut": record.cut,
    }


async def play(
    env: MathEnv, backend: ChatBackend, *, options: dict[str, Any], max_tokens: int
) -> dict[str, Any]:
    """Play one episode and describe it as a JSON-ready dict.

    The env's total budget is set to ``max_tokens`` generated tokens, counted by the backend;
    each turn may use what is left of it. A turn that stops at the limit is marked cut.

    Returns:
        ``transcript`` (the chat messages), ``grades`` (one dict per action), ``attempts``
        (solutions made), ``first_correct`` (the 1-based attempt of the first correct
        solution, or ``None``), ``correct`` (the final solution is right), ``tokens``,
        ``terminated`` and ``truncated``.
    """
    lengths = TokenLengths(len)  # every stepped text's count is announced first
    env.budget = dataclasses.replace(env.budget, total=max_tokens, length_fn=lengths)
    _, info = env.reset(seed=0, options=options)
    while True:
        allowance = env.budget.allowance(env.used)
        reply = await backend.chat(list(info["messages"]), max_tokens=int(allowance or 1))
        lengths.expect(reply.text, reply.tokens)
        if reply.cut:
            env.mark_cut()
        _, _, terminated, truncated, info = env.step(reply.text)
        if terminated or truncated:
            break
    records = list(info["records"])
    solves = [r for r in records if r.kind == "solve"]
    first = next((n for n, r in enumerate(solves, start=1) if r.correct), None)
    result: dict[str, Any] = {
        "transcript": info["messages"],
        "grades": [_grade(r) for r in records],
        "attempts": len(solves),
        "first_correct": first,
        "correct": bool(solves) and solves[-1].correct,
        "tokens": env.used,
        "terminated": bool(terminated),
        "truncated": bool(truncated),
    }
    return result
