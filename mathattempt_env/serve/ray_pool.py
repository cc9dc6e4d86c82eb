r"""Grading and env stepping on a Ray cluster: actor pools placed across its nodes.

- :class:`GradingPool`: grading actors, each with its own grading worker processes (its own
  fork server). :meth:`GradingPool.grade_many` takes what
  :func:`~mathattempt_env.grading.grade_many` takes and returns the same verdicts; a batch is
  split into chunks spread over the actors.
- :class:`EnvPool`: env actors, each hosting many envs (each with its own sandbox pool);
  :class:`RayEnv` is a Gymnasium env whose episodes run in one of them, and
  ``make_envs(..., backend="ray")`` (or ``MATHATTEMPT_ENV_BACKEND=ray``) makes the trainer
  adapters and ``mathattempt eval`` use it.

Actors are placed by Ray (``SPREAD`` across nodes) and restarted by Ray
(``max_restarts=-1``). A chunk whose actor dies is sent to the next actor (``retries``
times), then returned as infrastructure errors (``timed_out`` set, ``reason``
``"infrastructure-error"``); a batch past its ``deadline`` returns timeout verdicts for what
is left. The batch always completes, and :attr:`GradingPool.stats` counts each case. An
episode whose actor dies is replayed on the restarted actor (its reset and actions, checked
against what was returned) before the step goes on, as the episode server's client does.

Needs the ``ray`` extra. ``address`` (or ``RAY_ADDRESS``) joins a running cluster; without
one, ``ray.init`` starts a local one.

Examples:
    >>> pool = GradingPool(actors=1, num_cpus=0)  # doctest: +SKIP
    >>> [g.correct for g in pool.grade_many([r"\boxed{2}", "3"], ["2", "4"])]  # doctest: +SKIP
    [True, False]
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.serve.client import EpisodeLost
from mathattempt_env.serve.grading import GradingService, failed, lost_score
from mathattempt_env.serve.proxy import ProxyEnv
from mathattempt_env.serve.wire import to_metadata
from mathattempt_env.types import Grade, Turn


def _ray(address: str | None = None) -> Any:
    import ray

    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return ray


def _dead() -> tuple[type[BaseException], ...]:
    from ray import exceptions

    return (
        exceptions.RayActorError,
        exceptions.ActorUnavailableError,
        exceptions.WorkerCrashedError,
    )


class GraderActor:
    """A grading actor's body: a :class:`~mathattempt_env.serve.grading.GradingService`."""

    def __init__(self, workers: int, options: Mapping[str, Any] | None, deadline: float) -> None:
        self.service = GradingService(workers, options, deadline)

    def grade(
        self, responses: list[str], golds: list[str], options: Any, deadline: float
    ) -> list[Grade]:
        """Verdicts of a chunk."""
        return self.service.grade(responses, golds, options, deadline)

    def score(
        self, texts: list[str], golds: list[str], options: Any, deadline: float
    ) -> list[tuple[float, Grade]]:
        """Rewards and verdicts of a chunk (one ``SingleTurnMath-v0`` step each)."""
        return self.service.score(texts, golds, options, deadline)

    def pid(self) -> int:
        """The actor's process id."""
        return os.getpid()

    def node(self) -> str:
        """The id of the Ray node the actor runs on."""
        import ray

        return str(ray.get_runtime_context().get_node_id())


class GradingPool:
    """Grading actors on a Ray cluster; see the module docstring.

    Args:
        actors: how many actors.
        workers: grading processes per actor.
        num_cpus: the CPUs Ray reserves per actor (default ``workers``).
        options: default grading options (``reward``, ``box``, ``think``, ``grade_timeout``).
        deadline: default seconds a batch may take.
        retries: how many other actors a chunk is sent to after its actor died.
        address: a Ray cluster's address (default: ``RAY_ADDRESS`` or a local cluster).
    """

    def __init__(
        self,
        actors: int = 2,
        *,
        workers: int = 1,
        num_cpus: float | None = None,
        options: Mapping[str, Any] | None = None,
        deadline: float = 60.0,
        retries: int = 1,
        address: str | None = None,
    ) -> None:
        ray = _ray(address)
        remote = ray.remote(max_restarts=-1, max_task_retries=0)(GraderActor)
        self.deadline, self.retries = deadline, retries
        self.actors = [
            remote.options(
                num_cpus=workers if num_cpus is None else num_cpus, scheduling_strategy="SPREAD"
            ).remote(workers, dict(options or {}), deadline)
            for _ in range(actors)
        ]
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()

    def pids(self) -> list[int]:
        """The actors' process ids (waits for them to start)."""
        import ray

        return list(ray.get([actor.pid.remote() for actor in self.actors]))

    def nodes(self) -> list[str]:
        """The Ray node each actor runs on."""
        import ray

        return list(ray.get([actor.node.remote() for actor in self.actors]))

    def grade_many(
        self,
        responses: Sequence[str],
        golds: Sequence[str],
        *,
        options: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> list[Grade]:
        """Verdicts, in order (see :func:`~mathattempt_env.grading.grade_many`)."""
        return self._run("grade", responses, golds, options, deadline, lambda t: failed(t))

    def score_many(
        self,
        texts: Sequence[str],
        golds: Sequence[str],
        *,
        options: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> list[tuple[float, Grade]]:
        """``(reward, verdict)`` per response, as the grading service's ``/get_reward``."""
        reward = dict(options or {}).get("reward", "paper-single")
        lost = functools.partial(lost_score, reward=reward)
        return self._run("score", texts, golds, options, deadline, lost)

    def _run(
        self,
        method: str,
        first: Sequence[str],
        golds: Sequence[str],
        options: Mapping[str, Any] | None,
        deadline: float | None,
        lost: Any,
    ) -> list[Any]:
        import ray

        first, golds = [str(x) for x in first], [str(g) for g in golds]
        if len(first) != len(golds):
            from mathattempt_env.errors import ConfigError

            raise ConfigError(f"{len(first)} responses but {len(golds)} golds")
        end = time.monotonic() + (deadline or self.deadline)
        size = max(16, -(-len(first) // (2 * len(self.actors))))
        spans = [(lo, min(lo + size, len(first))) for lo in range(0, len(first), size)]
        results: list[list[Any] | None] = [None] * len(spans)
        pending: dict[Any, tuple[int, int, int]] = {}

        def submit(chunk: int, actor: int, tries: int) -> None:
            lo, hi = spans[chunk]
            left = max(end - time.monotonic() - 0.5, 0.05)  # the actor answers before we give up
            call = getattr(self.actors[actor], method)
            pending[call.remote(first[lo:hi], golds[lo:hi], options, left)] = (chunk, actor, tries)

        for chunk in range(len(spans)):
            submit(chunk, chunk % len(self.actors), 0)
        counts: Counter[str] = Counter()
        while pending:
            left = end - time.monotonic()
            if left <= 0:
                break
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=left)
            for ref in ready:
                chunk, actor, tries = pending.pop(ref)
                lo, hi = spans[chunk]
                try:
                    results[chunk] = ray.get(ref)
                except _dead():
                    counts["actor_failures"] += 1
                    if tries < self.retries:
                        counts["retried_items"] += hi - lo
                        submit(chunk, (actor + 1) % len(self.actors), tries + 1)
                    else:
                        counts["infrastructure_errors"] += hi - lo
                        results[chunk] = [lost(text) for text in first[lo:hi]]
        for ref, (chunk, _, _) in pending.items():  # past the deadline
            ray.cancel(ref)
            lo, hi = spans[chunk]
            counts["deadline_timeouts"] += hi - lo
            results[chunk] = [lost(text) for text in first[lo:hi]]
        counts["items"] += len(first)
        with self._lock:
            self.stats.update(counts)
        return [item for chunk_results in results for item in chunk_results or []]

    def close(self) -> None:
        """End the actors."""
        import ray

        for actor in self.actors:
            ray.kill(actor)


class EnvActor:
    """An env actor's body: envs by key, stepped on request."""

    def __init__(self) -> None:
        self.envs: dict[int, tuple[Any, list[int]]] = {}
        self.keys = itertools.count()

    def make(self, config: dict[str, Any], local: dict[str, Any]) -> int:
        """Make an env of ``config`` (with ``local`` options); returns its key."""
        key = next(self.keys)
        self.envs[key] = (EnvConfig.from_dict(config).make(**local), [0])
        return key

    def reset(
        self, key: int, seed: int | None, options: dict[str, Any]
    ) -> tuple[str, list[dict[str, str]], dict[str, Any]]:
        """Reset env ``key``; returns its text, messages and metadata."""
        env, seen = self.envs[key]
        text, info = env.reset(seed=seed, options=options)
        seen[0] = len(info["messages"])
        return (
            str(text),
            list(info["messages"]),
            to_metadata(info, terminated=False, truncated=False),
        )

    def step(
        self, key: int, text: str, length: int | None, cut: bool
    ) -> tuple[str, float, list[dict[str, str]], dict[str, Any]]:
        """Step env ``key`` with a turn; returns its text, reward, new messages and metadata."""
        env, seen = self.envs[key]
        observation, reward, terminated, truncated, info = env.step(
            Turn(text, length=length, cut=cut)
        )
        new = info["messages"][seen[0] :]
        seen[0] = len(info["messages"])
        meta = to_metadata(info, terminated=terminated, truncated=truncated)
        return str(observation), float(reward), list(new), meta

    def close(self, key: int) -> None:
        """Close and forget env ``key``."""
        env, _ = self.envs.pop(key, (None, None))
        if env is not None:
            env.close()

    def pid(self) -> int:
        """The actor's process id."""
        return os.getpid()


class EnvPool:
    """Env actors on a Ray cluster; :meth:`env` makes a :class:`RayEnv` in one of them.

    Args:
        actors: how many actors (envs are placed round-robin).
        num_cpus: the CPUs Ray reserves per actor.
        address: a Ray cluster's address (default: ``RAY_ADDRESS`` or a local cluster).
    """

    def __init__(self, actors: int = 2, *, num_cpus: float = 1, address: str | None = None):
        ray = _ray(address)
        remote = ray.remote(max_restarts=-1, max_task_retries=0)(EnvActor)
        self.actors = [
            remote.options(num_cpus=num_cpus, scheduling_strategy="SPREAD").remote()
            for _ in range(actors)
        ]
        self._next = itertools.count()

    def env(self, config: EnvConfig, local: dict[str, Any] | None = None) -> RayEnv:
        """A :class:`RayEnv` of ``config`` in the next actor."""
        return RayEnv(config, local, pool=self)

    def pick(self) -> int:
        """The next actor's index (round-robin)."""
        return next(self._next) % len(self.actors)

    def pids(self) -> list[int]:
        """The actors' process ids."""
        import ray

        return list(ray.get([actor.pid.remote() for actor in self.actors]))

    def close(self) -> None:
        """End the actors."""
        import ray

        for actor in self.actors:
            ray.kill(actor)


class RayEnv(ProxyEnv):
    """A Gymnasium env whose episodes run in an :class:`EnvPool` actor (see :class:`ProxyEnv`).

    Args:
        config: the env's config.
        local: options that do not travel in a config (``length_fn``, a dataset of
            problems); Ray ships them to the actor.
        pool: the actors (default: :func:`default_env_pool`).
        replays: how many times an episode whose actor died is replayed.
    """

    def __init__(
        self,
        config: EnvConfig,
        local: dict[str, Any] | None = None,
        *,
        pool: EnvPool | None = None,
        replays: int = 2,
    ) -> None:
        super().__init__(config, local)
        self.pool = pool or default_env_pool()
        self._shipped = dict(local or {})
        self.replays = replays
        self.lost_actors = 0
        self._actor = self.pool.pick()
        self._key = self._make()
        self._episode: tuple[int | None, dict[str, Any]] | None = None
        self._actions: list[tuple[str, int | None, bool]] = []
        self._seen: list[tuple[str, float | None]] = []

    def _make(self) -> int:
        import ray

        actor = self.pool.actors[self._actor]
        key: int = ray.get(actor.make.remote(self.config.to_dict(), self._shipped))
        return key

    def _call(self, method: str, *args: Any) -> Any:
        import ray

        return ray.get(getattr(self.pool.actors[self._actor], method).remote(self._key, *args))

    def _recover(self, error: BaseException) -> None:
        """The actor died: make the env again (on the restarted actor) and replay."""
        self.lost_actors += 1
        for _ in range(30):  # the actor restarts in seconds
            try:
                self._key = self._make()
                break
            except _dead():
                time.sleep(0.5)
        else:
            raise EpisodeLost(f"the env actor died ({error}) and did not come back") from error
        if self._episode is None:
            return
        seed, options = self._episode
        replayed = [self._call("reset", seed, options)[0]]
        for text, length, cut in self._actions:
            replayed.append(self._call("step", text, length, cut)[0])
        if replayed != [text for text, _ in self._seen]:
            raise EpisodeLost("the env actor died and the replayed episode differs") from error

    def _remote_reset(
        self, seed: int | None, options: dict[str, Any]
    ) -> tuple[str, list[dict[str, str]], dict[str, Any]]:
        for attempt in range(self.replays + 1):
            try:
                self._episode = None
                text, messages, meta = self._call("reset", seed, options)
                break
            except _dead() as error:
                if attempt == self.replays:
                    raise EpisodeLost(f"the env actor died {attempt + 1} times") from error
                self._recover(error)
        self._episode, self._actions = (seed, options), []
        self._seen = [(text, None)]
        return text, messages, meta

    def _remote_step(self, action: str) -> tuple[str, float, list[dict[str, str]], dict[str, Any]]:
        turn = (str(action), getattr(action, "length", None), bool(getattr(action, "cut", False)))
        for attempt in range(self.replays + 1):
            try:
                text, reward, messages, meta = self._call("step", *turn)
                break
            except _dead() as error:
                if attempt == self.replays:
                    raise EpisodeLost(f"the env actor died {attempt + 1} times") from error
                self._recover(error)
        self._actions.append(turn)
        self._seen.append((text, reward))
        return text, reward, messages, meta

    def close(self) -> None:
        """Close the remote env and the local copy."""
        import contextlib

        with contextlib.suppress(Exception):
            self._call("close")
        super().close()


_default_pool: EnvPool | None = None
_default_lock = threading.Lock()


def default_env_pool() -> EnvPool:
    """The process's shared :class:`EnvPool` (``MATHATTEMPT_RAY_ENV_ACTORS`` actors, default 2)."""
    global _default_pool
    with _default_lock:
        if _default_pool is None:
            _default_pool = EnvPool(int(os.environ.get("MATHATTEMPT_RAY_ENV_ACTORS", "2")))
        return _default_pool
