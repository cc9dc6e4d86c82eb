r"""The stateless grading service: ``mathattempt serve-grader``.

One HTTP server, several grading worker processes behind it (a
:class:`~mathattempt_env.grading.isolation.WorkerPool` forked from the grader's fork
server), so a batch is graded on every core. Two endpoints:

- ``POST /get_reward``, OpenRLHF's remote reward (``--reward.remote_url``):
  ``{"query": [...], "prompts": [...], "labels": [...]}`` → ``{"rewards": [...],
  "scores": [...], "extra_logs": {"correct": [...], "timed_out": [...]}}``. Each response
  (the query after its prompt) is scored as one step of ``SingleTurnMath-v0``, exactly as
  :func:`mathattempt_env.adapters.openrlhf.reward_func` scores it in-process.
- ``POST /grade``: ``{"responses": [...], "golds": [...]}`` → ``{"grades": [{correct,
  formatted, extracted, reason, source, timed_out, elapsed_s}, ...]}``, and ``"rewards"``
  when the request names a reward scheme.

Both take ``"options"`` (``reward``, ``box``, ``think``, ``grade_timeout``; the server's
``--reward`` and ``--env-kwargs`` are the defaults) and ``"deadline"`` (seconds; the
server's ``--deadline`` by default): items not graded by then come back as timeout verdicts
(``timed_out`` set), so a request never hangs. An item whose worker failed twice is an
infrastructure error: ``timed_out`` set and ``reason`` ``"infrastructure-error"``, never a
plain wrong answer. Bad requests get 400 with what is wrong.

Examples:
    >>> service = GradingService(workers=1)
    >>> [g.correct for g in service.grade([r"\boxed{2}", "3"], ["2", "4"])]
    [True, False]
    >>> [reward for reward, _ in service.score([r"so \boxed{4}", "4"], ["4", "4"])]
    [1.0, -1.0]
    >>> service.close()
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mathattempt_env.adapters.common import response_of, score_items
from mathattempt_env.errors import ConfigError
from mathattempt_env.grading import DEFAULT_TIMEOUT, grade_many, isolation
from mathattempt_env.grading.chunks import run_chunks
from mathattempt_env.rewards import get_reward
from mathattempt_env.serve.app import Gate
from mathattempt_env.types import ActionRecord, Grade

#: The options a request may set (those of ``SingleTurnMath-v0`` that change a verdict or reward).
OPTIONS = ("reward", "box", "think", "grade_timeout")

#: What an item whose worker failed (twice) is: an infrastructure error, not a verdict.
INFRASTRUCTURE = "infrastructure-error"


def failed(response: str, *, reason: str = INFRASTRUCTURE) -> Grade:
    """The verdict of an item that could not be graded (reported like a timeout)."""
    return Grade(False, False, None, reason, True, 0.0, "none")


def lost_score(item: Any, *, reward: str = "paper-single") -> tuple[float, Grade]:
    """``(reward, verdict)`` of an item that could not be scored.

    The scheme's reward for an infrastructure-error verdict: a wrong answer that says it timed
    out, so a trainer that drops timeouts drops it.
    """
    verdict = failed(str(item[0] if isinstance(item, tuple) else item))
    return get_reward(reward)([ActionRecord("solve", verdict)], final=True).reward, verdict


class GradingService:
    """Grades and scores batches in a pool of worker processes; thread-safe.

    Args:
        workers: grading processes.
        options: default options (``reward``, ``box``, ``think``, ``grade_timeout``).
        deadline: default seconds a request may take.
    """

    def __init__(
        self,
        workers: int = 1,
        options: Mapping[str, Any] | None = None,
        deadline: float = 60.0,
    ) -> None:
        if workers < 1:
            raise ConfigError(f"--workers: expected >= 1, got {workers}")
        self.options = self.check_options(options or {}, where="--env-kwargs")
        self.deadline = deadline
        self.pool = isolation.WorkerPool(workers)
        self.pool.prestart()
        self._lock = threading.Lock()
        self.counts = {"requests": 0, "items": 0, "timeouts": 0, "infrastructure_errors": 0}
        score_items([], json.dumps(self.options, sort_keys=True))  # a bad option fails at start

    @staticmethod
    def check_options(options: Any, *, where: str) -> dict[str, Any]:
        """``options`` if it is an object of known options; else a ConfigError naming them."""
        if not isinstance(options, Mapping):
            raise ConfigError(f"{where}: expected a JSON object, got {options!r}")
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ConfigError(f"{where}: unknown option(s) {unknown}; expected {list(OPTIONS)}")
        return dict(options)

    def _merged(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = {**self.options, **self.check_options(options or {}, where="options")}
        if merged.get("grade_timeout") is not None and not (
            isinstance(merged["grade_timeout"], (int, float)) and merged["grade_timeout"] > 0
        ):
            raise ConfigError(
                f"options: grade_timeout must be > 0, got {merged['grade_timeout']!r}"
            )
        return merged

    def _count(self, grades: Sequence[Grade]) -> None:
        with self._lock:
            self.counts["requests"] += 1
            self.counts["items"] += len(grades)
            self.counts["timeouts"] += sum(g.timed_out and g.reason == "timeout" for g in grades)
            self.counts["infrastructure_errors"] += sum(g.reason == INFRASTRUCTURE for g in grades)

    def grade(
        self,
        responses: Sequence[str],
        golds: Sequence[str],
        options: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> list[Grade]:
        """Verdicts, as :func:`~mathattempt_env.grading.grade_many` gives them."""
        merged = self._merged(options)
        grades = grade_many(
            responses,
            golds,
            pool=self.pool,
            timeout=merged.get("grade_timeout"),
            box=merged.get("box"),
            think=merged.get("think"),
            deadline=deadline or self.deadline,
        )
        self._count(grades)
        return grades

    def score(
        self,
        texts: Sequence[str],
        golds: Sequence[str],
        options: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> list[tuple[float, Grade]]:
        """``(reward, verdict)`` per response: one ``SingleTurnMath-v0`` step each."""
        if len(texts) != len(golds):
            raise ConfigError(f"{len(texts)} responses but {len(golds)} golds")
        merged = self._merged(options)
        per_item = float(merged.get("grade_timeout") or DEFAULT_TIMEOUT) + 0.5
        fallback = functools.partial(lost_score, reward=merged.get("reward", "paper-single"))

        scored = run_chunks(
            functools.partial(score_items, options_json=json.dumps(merged, sort_keys=True)),
            [(str(t), str(g)) for t, g in zip(texts, golds, strict=True)],
            pool=self.pool,
            per_item=per_item,
            fallback=fallback,
            deadline=deadline or self.deadline,
        )
        self._count([verdict for _, verdict in scored])
        return scored

    def close(self) -> None:
        """Stop the worker processes."""
        self.pool.close()


def _strings(body: Mapping[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key!r}: expected a list of strings")
    return value


def _deadline(body: Mapping[str, Any]) -> float | None:
    value = body.get("deadline")
    if value is not None and not (isinstance(value, (int, float)) and value > 0):
        raise ConfigError(f"'deadline': expected seconds > 0, got {value!r}")
    return None if value is None else float(value)


def build_grading_app(service: GradingService, *, token: str | None = None) -> Any:
    """The service's ASGI app (the token and body limit of every server of the package)."""
    api = FastAPI(title="mathattempt_env grading service", docs_url=None, redoc_url=None)

    async def _body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"the body is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise ConfigError("the body must be a JSON object")
        return body

    @api.exception_handler(ConfigError)
    async def bad_request(request: Request, error: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=400)

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    @api.post("/get_reward")
    async def get_reward_route(request: Request) -> dict[str, Any]:
        body = await _body(request)
        queries, labels = _strings(body, "query"), _strings(body, "labels")
        prompts = (
            _strings(body, "prompts") if body.get("prompts") is not None else [""] * len(queries)
        )
        if not len(queries) == len(prompts) == len(labels):
            raise ConfigError(
                f"{len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels"
            )
        texts = [response_of(q, p) for q, p in zip(queries, prompts, strict=True)]
        scored = await asyncio.to_thread(
            service.score, texts, labels, body.get("options"), _deadline(body)
        )
        rewards = [reward for reward, _ in scored]
        return {
            "rewards": rewards,
            "scores": list(rewards),
            "extra_logs": {
                "correct": [float(v.correct) for _, v in scored],
                "timed_out": [float(v.timed_out) for _, v in scored],
            },
        }

    @api.post("/grade")
    async def grade_route(request: Request) -> dict[str, Any]:
        body = await _body(request)
        responses, golds = _strings(body, "responses"), _strings(body, "golds")
        if len(responses) != len(golds):
            raise ConfigError(f"{len(responses)} responses but {len(golds)} golds")
        options = body.get("options")
        if isinstance(options, Mapping) and options.get("reward") is not None:
            scored = await asyncio.to_thread(
                service.score, responses, golds, options, _deadline(body)
            )
            return {
                "grades": [dataclasses.asdict(v) for _, v in scored],
                "rewards": [reward for reward, _ in scored],
            }
        grades = await asyncio.to_thread(service.grade, responses, golds, options, _deadline(body))
        return {"grades": [dataclasses.asdict(g) for g in grades]}

    @api.get("/mathattempt/stats")
    async def stats() -> dict[str, Any]:
        return {"workers": service.pool.size, "options": service.options, **service.counts}

    return Gate(api, token, max_body=64 << 20)
