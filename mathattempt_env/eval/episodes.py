"""One evaluation episode: a chat backend plays an env to its end under a token budget."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from mathattempt_env.envs.surface import EnvSurface, surface
from mathattempt_env.eval.backends import ChatBackend
from mathattempt_env.grading import DEFAULT_TIMEOUT, grade
from mathattempt_env.rollout.loop import play_episode
from mathattempt_env.types import ActionRecord, Turn


def _grade(record: ActionRecord, lenient: bool | None) -> dict[str, Any]:
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


def _lenient(env: EnvSurface, text: str, record: ActionRecord) -> bool | None:
    """The lenient reading of one solution (``None`` for a verification)."""
    if record.kind != "solve":
        return None
    start, end = record.span
    piece = text[start:end] if end > start else text
    timeout = env.grading.grade_timeout or DEFAULT_TIMEOUT
    return grade(piece, env.problem.answer, timeout=timeout, think=env.grading.think).correct


#: What the results keep of each tool call (the code and output are in the transcript).
_CALL_FIELDS = ("status", "cut", "wall_s", "infrastructure_error")


class _ChatPolicy:
    """Turns from a chat backend; each solution also gets its lenient reading."""

    def __init__(self, env: EnvSurface, backend: ChatBackend) -> None:
        self.env, self.backend = env, backend
        self.lenient: list[bool | None] = []
        self.calls: list[dict[str, Any]] = []
        self.stop: tuple[str, ...] = surface(env).stop

    async def turn(self, info: dict[str, Any], limit: int | None) -> Turn:
        messages, budget = list(info["messages"]), int(limit or 1)
        if self.stop:  # a tool env: stop at a call, continue the turn after its output
            reply = await self.backend.chat(messages, max_tokens=budget, stop=self.stop)
        else:
            reply = await self.backend.chat(messages, max_tokens=budget)
        return Turn(reply.text, length=reply.tokens, cut=reply.cut)

    def observe(self, turn: Turn, observation: str, info: dict[str, Any], done: bool) -> None:
        if info["kind"] == "tool":
            call = info["tool"]
            self.calls.append({key: call.get(key) for key in _CALL_FIELDS})
            return
        text = next(m["content"] for m in reversed(info["messages"]) if m["role"] == "assistant")
        for record in info["records"][len(self.lenient) :]:
            self.lenient.append(_lenient(self.env, text, record))


async def play(
    env: gym.Env[str, str], backend: ChatBackend, *, options: dict[str, Any], max_tokens: int
) -> dict[str, Any]:
    """Play one episode and describe it as a JSON-ready dict.

    It is the same loop the training driver runs (:func:`~mathattempt_env.rollout.loop.
    play_episode`): the env's budget for the episode is ``max_tokens`` generated tokens
    (a reset option), each turn may use what is left of it, and each reply is stepped as a
    :class:`~mathattempt_env.types.Turn` with the backend's token count and cut flag.

    Each solution is graded twice: by the env, under the papers' boxed protocol (which
    drives the episode), and by the lenient reading of :func:`~mathattempt_env.grading.grade`
    (an answer phrase or final value counts without a box), reported beside it.

    Returns:
        ``transcript`` (the chat messages), ``grades`` (one dict per action; a solution's
        has ``lenient``), ``attempts`` (solutions made), ``first_correct`` (the 1-based
        attempt of the first correct solution, or ``None``), ``correct`` (the final
        solution is right), ``lenient_first_correct`` and ``lenient_correct`` (the same
        under the lenient reading), ``tokens``, ``terminated`` and ``truncated``; for a
        tool env, ``tool_calls`` (each call's ``status``, ``cut``, ``wall_s`` and
        ``infrastructure_error``).
    """
    policy = _ChatPolicy(surface(env), backend)
    played = await play_episode(env, policy, seed=0, options=options, max_total_length=max_tokens)
    info, lenient = played.info, policy.lenient
    terminated, truncated = played.terminated, played.truncated
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
        "tokens": info["length_used"],
        "terminated": bool(terminated),
        "truncated": bool(truncated),
    }
    if policy.stop:
        result["tool_calls"] = policy.calls
    return result
