"""One evaluation episode: a chat backend plays an env to its end under a token budget."""

from __future__ import annotations

import dataclasses
from typing import Any

from mathattempt_env.envs.base import MathEnv
from mathattempt_env.eval.backends import ChatBackend
from mathattempt_env.grading import grade
from mathattempt_env.rollout import TokenLengths
from mathattempt_env.types import AttemptRecord


def _grade(record: AttemptRecord, lenient: bool | None) -> dict[str, Any]:
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
        "source": record.grade.source,
        "lenient": lenient,
        "cut": record.cut,
    }


def _lenient(env: MathEnv, text: str, record: AttemptRecord) -> bool | None:
    """The lenient reading of one solution (``None`` for a verification)."""
    if record.kind != "solve":
        return None
    start, end = record.span
    piece = text[start:end] if end > start else text
    return grade(piece, env.problem.answer, timeout=env.grade_timeout, think=env.think).correct


async def play(
    env: MathEnv, backend: ChatBackend, *, options: dict[str, Any], max_tokens: int
) -> dict[str, Any]:
    """Play one episode and describe it as a JSON-ready dict.

    The env's total budget is set to ``max_tokens`` generated tokens, counted by the backend;
    each turn may use what is left of it. A turn that stops at the limit is marked cut.

    Each solution is graded twice: by the env, under the papers' boxed protocol (which
    drives the episode), and by the lenient reading of :func:`~mathattempt_env.grading.grade`
    (an answer phrase or final value counts without a box), reported beside it.

    Returns:
        ``transcript`` (the chat messages), ``grades`` (one dict per action; a solution's
        has ``lenient``), ``attempts`` (solutions made), ``first_correct`` (the 1-based
        attempt of the first correct solution, or ``None``), ``correct`` (the final
        solution is right), ``lenient_first_correct`` and ``lenient_correct`` (the same
        under the lenient reading), ``tokens``, ``terminated`` and ``truncated``.
    """
    lengths = TokenLengths(len)  # every stepped text's count is announced first
    env.budget = dataclasses.replace(env.budget, total=max_tokens, length_fn=lengths)
    _, info = env.reset(seed=0, options=options)
    lenient: list[bool | None] = []
    while True:
        allowance = env.budget.allowance(env.used)
        reply = await backend.chat(list(info["messages"]), max_tokens=int(allowance or 1))
        lengths.expect(reply.text, reply.tokens)
        if reply.cut:
            env.mark_cut()
        _, _, terminated, truncated, info = env.step(reply.text)
        text = next(m["content"] for m in reversed(info["messages"]) if m["role"] == "assistant")
        for record in info["records"][len(lenient) :]:
            lenient.append(_lenient(env, text, record))
        if terminated or truncated:
            break
    records = list(info["records"])
    solves = [r for r in records if r.kind == "solve"]
    first = next((n for n, r in enumerate(solves, start=1) if r.correct), None)
    read = [ok for r, ok in zip(records, lenient, strict=True) if r.kind == "solve"]
    result: dict[str, Any] = {
        "transcript": info["messages"],
        "grades": [_grade(r, ok) for r, ok in zip(records, lenient, strict=True)],
        "attempts": len(solves),
        "first_correct": first,
        "correct": bool(solves) and solves[-1].correct,
        "lenient_first_correct": next((n for n, ok in enumerate(read, start=1) if ok), None),
        "lenient_correct": bool(read) and bool(read[-1]),
        "tokens": env.used,
        "terminated": bool(terminated),
        "truncated": bool(truncated),
    }
    return result
