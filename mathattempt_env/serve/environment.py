"""One session's env on the episode server: an OpenEnv ``Environment`` over a package env.

:class:`MathEnvironment` wraps a fresh env of an :class:`~mathattempt_env.envs.config.EnvConfig`.
OpenEnv's server makes one per WebSocket session and runs its ``reset`` and ``step`` on that
session's own thread, so a slow grade or tool call never holds up another session. Misuse is
an error to that client only (a message naming what to do); the model's text never is: it is
graded, as in-process.

Examples:
    >>> from mathattempt_env.envs.config import EnvConfig
    >>> env = MathEnvironment(EnvConfig("MultiAttemptMath-v0", {"attempts": 2}))
    >>> first = env.reset(seed=0)
    >>> first.metadata["kind"], first.reward, first.done
    ('reset', None, False)
    >>> after = env.step(MathAction(text=r"\\boxed{0}"))
    >>> after.text.startswith("Your answer is incorrect"), after.reward, after.done
    (True, 0.0, False)
    >>> env.close()
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import EnvironmentMetadata

from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.envs.surface import surface
from mathattempt_env.errors import ConfigError
from mathattempt_env.serve.wire import MathAction, MathObservation, MathState, to_metadata
from mathattempt_env.types import Turn

#: The reset arguments a session accepts besides ``seed`` and ``episode_id``.
RESET_ARGS = ("options", "index", "split")

#: The most characters one action may hold unless the server says otherwise (a 1 MB reply
#: is graded, not refused).
MAX_ACTION_CHARS = 4_000_000


class ServerCounters:
    """What a server's sessions have done, for ``/mathattempt/stats`` (thread-safe).

    Examples:
        >>> counters = ServerCounters()
        >>> counters.add("steps", 2)
        >>> counters.snapshot()["steps"]
        2
    """

    NAMES = ("envs_made", "envs_closed", "episodes", "steps", "errors")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.NAMES, 0)

    def add(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the count ``name``."""
        with self._lock:
            self._counts[name] += amount

    def snapshot(self) -> dict[str, int]:
        """The counts now."""
        with self._lock:
            return dict(self._counts)


class SessionError(ConfigError):
    """A client used its session wrongly (a step before reset, after the end, a bad argument)."""


class MathEnvironment(Environment[MathAction, MathObservation, MathState]):  # type: ignore[misc]
    """An OpenEnv ``Environment`` playing episodes of a package env.

    Args:
        config: the env id and options every session's env is made with.
        local: options that do not travel in a config (a shared problem list, ``length_fn``).
        max_action_chars: the longest action text accepted; a longer one is an error to
            the client (a server limit, not a grade).
        counters: where the server counts sessions, episodes, steps and errors.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(
        self,
        config: EnvConfig,
        *,
        local: dict[str, Any] | None = None,
        max_action_chars: int = MAX_ACTION_CHARS,
        counters: ServerCounters | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.max_action_chars = max_action_chars
        self.counters = counters or ServerCounters()
        self._local = dict(local or {})
        self._env = config.make(**self._local)
        self._core = surface(self._env)
        self.counters.add("envs_made")
        self._state = MathState(env_id=config.env_id)
        self._seen = 0  # messages already sent to the client
        self._started = False
        self._closed = False

    # -- OpenEnv's Environment ---------------------------------------------------------
    def reset(
        self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any
    ) -> MathObservation:
        """Start an episode: ``seed``, and reset ``options`` (``index``, ``problem``, ...).

        ``index`` may also be given on its own (OpenEnv's task API: ``split`` and ``index``).
        """
        self._check_open()
        unknown = sorted(set(kwargs) - set(RESET_ARGS))
        if unknown:
            raise self._refuse(
                f"reset: unknown argument(s) {unknown}; expected seed, episode_id, "
                f"{', '.join(RESET_ARGS)}"
            )
        options = kwargs.get("options") or {}
        if not isinstance(options, dict):
            raise self._refuse(f"reset: options must be a JSON object, got {options!r}")
        if kwargs.get("index") is not None:
            options = {**options, "index": kwargs["index"]}
        try:
            observation, info = self._env.reset(seed=seed, options=options)
        except Exception:
            # A bad seed, index or option: the client is told. A reset that raised can leave
            # the env half reset (Gymnasium's passive checker then fails every later step),
            # so the session gets a fresh env.
            self.counters.add("errors")
            self._started = False
            self._env.close()
            self._env = self.config.make(**self._local)
            self._core = surface(self._env)
            raise
        self._started = True
        self._seen = 0
        self._state = MathState(
            env_id=self.config.env_id,
            episode_id=episode_id,
            problem_id=info["problem_id"],
            attempts=int(info["attempts"]),
            done=False,
        )
        self.counters.add("episodes")
        return self._observe(str(observation), None, info, False, False)

    def step(
        self, action: MathAction, timeout_s: float | None = None, **kwargs: Any
    ) -> MathObservation:
        """Play one model turn; returns the env's answer, the reward and the step's info."""
        self._check_open()
        if not self._started:
            raise self._refuse("step before reset: call reset first")
        if self._state.done:
            raise self._refuse("the episode has ended (done): call reset to start a new one")
        if len(action.text) > self.max_action_chars:
            raise self._refuse(
                f"action: {len(action.text):,} characters; this server accepts at most "
                f"{self.max_action_chars:,} (mathattempt serve --max-action-chars)"
            )
        turn = Turn(action.text, length=action.length, cut=action.cut)
        observation, reward, terminated, truncated, info = self._env.step(turn)
        done = bool(terminated or truncated)
        self._state.step_count += 1
        self._state.attempt = int(info["attempt"])
        self._state.done = done
        self.counters.add("steps")
        return self._observe(str(observation), float(reward), info, terminated, truncated)

    @property
    def state(self) -> MathState:
        """The session's state (no gold answer)."""
        return self._state

    def get_metadata(self) -> EnvironmentMetadata:
        """The served env id, its options (as the config's JSON) and the package version."""
        from mathattempt_env import __version__

        return EnvironmentMetadata(
            name=self.config.env_id,
            description=f"mathattempt_env {self.config.env_id}; config {self.config.to_json()}",
            version=__version__,
        )

    def close(self) -> None:
        """Close the env (its sandbox processes are released); later calls are errors."""
        if self._closed:
            return
        self._closed = True
        self._env.close()
        self.counters.add("envs_closed")

    # -- OpenEnv's task API (metadata only; no gold answers) -----------------------------
    def list_splits(self) -> list[str]:
        """One split, ``"train"``: the configured problems."""
        return ["train"]

    def num_tasks(self, split: str) -> int:
        """How many problems the served dataset holds."""
        self._split(split)
        return len(self._core.problems)

    def get_task(self, split: str, index: int) -> dict[str, Any]:
        """Problem ``index``: its id, index and statement (not its answer)."""
        self._split(split)
        problems: Sequence[Any] = self._core.problems
        if not 0 <= index < len(problems):
            raise IndexError(index)
        problem = problems[index]
        return {"id": problem.id, "index": index, "problem": problem.problem}

    def get_task_range(
        self, split: str, start: int | None = None, stop: int | None = None
    ) -> list[dict[str, Any]]:
        """Problems ``[start, stop)``, at most 1,000 of them."""
        first, last, _ = slice(start, stop).indices(self.num_tasks(split))
        return [self.get_task(split, index) for index in range(first, min(last, first + 1000))]

    def list_tasks(self, split: str) -> list[dict[str, Any]]:
        """The first 1,000 problems (``num_tasks`` gives the true count)."""
        return self.get_task_range(split, 0, 1000)

    # -- helpers ------------------------------------------------------------------------
    def _split(self, split: str) -> None:
        if split != "train":
            raise IndexError(split)

    def _refuse(self, message: str) -> SessionError:
        self.counters.add("errors")
        return SessionError(message)

    def _check_open(self) -> None:
        if self._closed:
            raise self._refuse(
                "this session's env was closed (it was idle past the server's "
                "--session-timeout, or the server is stopping): open a new connection"
            )

    def _observe(
        self,
        text: str,
        reward: float | None,
        info: dict[str, Any],
        terminated: bool,
        truncated: bool,
    ) -> MathObservation:
        messages = info["messages"]
        new, self._seen = messages[self._seen :], len(messages)
        return MathObservation(
            text=text,
            messages=[dict(message) for message in new],
            reward=reward,
            done=bool(terminated or truncated),
            metadata=to_metadata(info, terminated=terminated, truncated=truncated),
        )
