"""A curriculum: problems sampled by difficulty from the success rates seen so far.

:class:`Curriculum` groups a dataset's problems into buckets (by ``level``, ``subject``, both,
or each problem alone), keeps each bucket's last ``window`` outcomes, and picks the next
problem: a bucket with fewer than ``warmup`` outcomes, or whose success rate lies inside
``band``, has weight 1; any other has weight ``explore`` (so a bucket can come back into the
band). A ``schedule`` over generator levels (``[(from_episode, levels), ...]``) limits which
buckets may be picked as training goes on; with ``band=None`` the pick is uniform over them.
It is thread-safe, deterministic under its ``seed`` (its own RNG; the global random state is
never touched) and checkpointable (:meth:`Curriculum.state_dict`).

:class:`CurriculumWrapper` puts it on any env of this package: a ``reset`` without ``index``,
``problem`` or ``group`` gets the curriculum's pick, and an episode's end records whether it
was solved. Several envs (a trainer's batch) share one curriculum. TRL's rollout function
takes one too (``make_rollout_func(curriculum=...)``).

Examples:
    >>> import gymnasium as gym, mathattempt_env
    >>> env = CurriculumWrapper(gym.make("MultiAttemptMath-v0", attempts=1), band=(0.3, 0.8))
    >>> _, info = env.reset(seed=0)
    >>> *_, done, _, info = env.step("no idea")
    >>> done, env.curriculum.stats()[str(info["level"])]["episodes"]
    (True, 1)
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Hashable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from mathattempt_env.envs.surface import surface
from mathattempt_env.errors import ConfigError
from mathattempt_env.types import Problem

#: What a bucket can be.
BY = ("level", "subject", "subject-level", "problem")
#: The groups :meth:`Curriculum.pick_for` remembers (the oldest is forgotten first).
GROUPS = 65536
#: The reset options that choose the problem themselves (the curriculum then stays out).
_CHOSEN = ("index", "problem", "group")


def _key(problem: Problem, by: str) -> str:
    if by == "level":
        return str(problem.level)
    if by == "subject":
        return str(problem.subject)
    if by == "subject-level":
        return f"{problem.subject}/{problem.level}"
    return problem.id


class Curriculum:
    """Picks problems where the policy's success rate is inside a band; see the module.

    Args:
        problems: the dataset (the env's ``problems``: rows are picked by index).
        by: the buckets: ``"level"``, ``"subject"``, ``"subject-level"`` or ``"problem"``.
        band: ``(low, high)`` success rates to train on, or ``None`` (uniform).
        explore: the weight of a bucket outside the band (> 0 keeps measuring it).
        warmup: outcomes a bucket needs before the band applies to it.
        window: the outcomes per bucket its rate is taken over (the latest).
        schedule: ``[(from_episode, [levels...]), ...]``: which levels may be picked once
            that many episodes have been recorded (needs ``by`` with a level).
        seed: the curriculum's own RNG seed.

    Raises:
        ConfigError: a bad option, named with the value.
    """

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        by: str = "level",
        band: tuple[float, float] | None = (0.2, 0.8),
        explore: float = 0.05,
        warmup: int = 8,
        window: int = 64,
        schedule: Sequence[tuple[int, Sequence[int]]] | None = None,
        seed: int = 0,
    ) -> None:
        if not problems:
            raise ConfigError("curriculum: the dataset is empty")
        if by not in BY:
            raise ConfigError(f"curriculum by: expected one of {BY}, got {by!r}")
        if band is not None and not (
            len(band) == 2 and 0.0 <= float(band[0]) <= float(band[1]) <= 1.0
        ):
            raise ConfigError(f"curriculum band: expected (low, high) in [0, 1], got {band!r}")
        if not 0.0 < explore <= 1.0:
            raise ConfigError(f"curriculum explore: expected a weight in (0, 1], got {explore!r}")
        if warmup < 0 or window < 1:
            raise ConfigError(f"curriculum: warmup >= 0 and window >= 1, got {warmup}, {window}")
        if schedule is not None and by not in ("level", "subject-level"):
            raise ConfigError(
                f"curriculum schedule: needs by='level' or 'subject-level', not {by!r}"
            )
        self.by, self.explore, self.warmup, self.window, self.seed = (
            by,
            explore,
            warmup,
            window,
            seed,
        )
        self.band = None if band is None else (float(band[0]), float(band[1]))
        self.schedule = sorted(
            (int(start), [int(v) for v in levels]) for start, levels in schedule or []
        )
        self._keys = [_key(p, by) for p in problems]
        self._levels = [p.level for p in problems]
        self.buckets: dict[str, list[int]] = {}
        for row, key in enumerate(self._keys):
            self.buckets.setdefault(key, []).append(row)
        self._order = sorted(self.buckets)
        self._outcomes: dict[str, deque[int]] = {k: deque(maxlen=window) for k in self._order}
        self._picked = dict.fromkeys(self._order, 0)
        self.episodes = 0
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._groups: OrderedDict[Hashable, int] = OrderedDict()

    def _allowed(self, key: str) -> bool:
        if not self.schedule:
            return True
        levels: list[int] = []
        for start, chosen in self.schedule:
            if self.episodes >= start:
                levels = chosen
        return any(self._levels[row] in levels for row in self.buckets[key])

    def _weight(self, key: str) -> float:
        outcomes = self._outcomes[key]
        if self.band is None or len(outcomes) < self.warmup:
            return 1.0
        rate = sum(outcomes) / len(outcomes)
        return 1.0 if self.band[0] <= rate <= self.band[1] else self.explore

    def pick(self) -> int:
        """The next problem's row in the dataset."""
        with self._lock:
            return self._pick()

    def pick_for(self, group: Hashable) -> int:
        """The row for a group of episodes: picked at the group's first call, then the same.

        A GRPO/RLOO group is several episodes of one problem, started one by one (or at
        once, from several threads) by trainers that choose the problem per sample (verl's
        agent loop, OpenRLHF's agent). Each names its group (verl's ``uid``, say), and all
        get the row the first one got. The last :data:`GROUPS` groups are remembered (they
        are not part of :meth:`state_dict`: a group is finished long before a checkpoint).

        Examples:
            >>> from mathattempt_env.data.builtin import BuiltinProblems
            >>> curriculum = Curriculum(list(BuiltinProblems(0, size=50)), seed=1)
            >>> curriculum.pick_for("uid-1") == curriculum.pick_for("uid-1")
            True
        """
        with self._lock:
            row = self._groups.get(group)
            if row is None:
                row = self._groups[group] = self._pick()
                if len(self._groups) > GROUPS:
                    self._groups.popitem(last=False)
            return row

    def _pick(self) -> int:
        keys = [k for k in self._order if self._allowed(k)]
        if not keys:
            raise ConfigError(f"curriculum schedule: no problem has a level in {self.schedule}")
        weights = np.array([self._weight(k) for k in keys])
        key = keys[int(self._rng.choice(len(keys), p=weights / weights.sum()))]
        rows = self.buckets[key]
        self._picked[key] += 1
        return rows[int(self._rng.integers(len(rows)))]

    def record(self, row: int, solved: bool) -> None:
        """Count an episode on ``row`` as solved or not."""
        if not 0 <= row < len(self._keys):
            raise ConfigError(f"curriculum: row {row} is not in the dataset of {len(self._keys)}")
        with self._lock:
            self._outcomes[self._keys[row]].append(int(bool(solved)))
            self.episodes += 1

    def stats(self) -> dict[str, dict[str, Any]]:
        """What each bucket has seen, by bucket key.

        Per bucket: ``rate`` (over its window; ``None`` before any outcome), ``episodes``
        (in the window), ``picked`` (all picks so far) and ``weight`` (now).
        """
        with self._lock:
            return {
                key: {
                    "rate": sum(o) / len(o) if (o := self._outcomes[key]) else None,
                    "episodes": len(o),
                    "picked": self._picked[key],
                    "weight": self._weight(key) if self._allowed(key) else 0.0,
                }
                for key in self._order
            }

    def _config(self) -> dict[str, Any]:
        return {
            "by": self.by, "band": self.band, "explore": self.explore, "warmup": self.warmup,
            "window": self.window, "schedule": self.schedule, "seed": self.seed,
            "buckets": {k: len(v) for k, v in self.buckets.items()},
        }  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to go on exactly where it is (JSON-serialisable)."""
        with self._lock:
            return {
                "config": _jsonable(self._config()),
                "outcomes": {k: list(v) for k, v in self._outcomes.items()},
                "picked": dict(self._picked),
                "episodes": self.episodes,
                "rng": self._rng.bit_generator.state,
            }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from :meth:`state_dict`'s output (of a curriculum with the same settings)."""
        if state.get("config") != _jsonable(self._config()):
            raise ConfigError(
                "curriculum state: saved with other settings or another dataset: "
                f"{state.get('config')!r} != {_jsonable(self._config())!r}"
            )
        with self._lock:
            for key, outcomes in state["outcomes"].items():
                self._outcomes[key] = deque(outcomes, maxlen=self.window)
            self._picked = dict(state["picked"])
            self.episodes = int(state["episodes"])
            self._rng.bit_generator.state = state["rng"]


def _jsonable(value: Any) -> Any:
    """``value`` with tuples as lists, as JSON gives it back."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class CurriculumWrapper(gym.Wrapper):
    """An env whose problems a :class:`Curriculum` picks; see the module docstring.

    Args:
        env: an env of this package (wrappers are fine).
        curriculum: a shared curriculum over ``env``'s problems; ``None`` makes one from
            ``options`` (the :class:`Curriculum` arguments).
    """

    def __init__(self, env: Any, curriculum: Curriculum | None = None, **options: Any) -> None:
        super().__init__(env)
        problems = surface(env).problems
        if curriculum is None:
            curriculum = Curriculum(problems, **options)
        elif options:
            raise ConfigError(
                f"CurriculumWrapper: give a curriculum or options, not both: {options}"
            )
        if len(curriculum._keys) != len(problems):
            raise ConfigError(
                f"CurriculumWrapper: the curriculum has {len(curriculum._keys)} problems, "
                f"the env {len(problems)}"
            )
        self.curriculum = curriculum
        self._row = -1

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        """Reset on the curriculum's pick, unless ``options`` choose the problem."""
        options = dict(options or {})
        if not any(options.get(key) is not None for key in _CHOSEN):
            options["index"] = self.curriculum.pick()
        observation, info = self.env.reset(seed=seed, options=options)
        self._row = int(info["index"])
        return observation, info

    def step(self, action: Any) -> Any:
        """Step; at the episode's end, record whether it was solved."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        if (terminated or truncated) and self._row >= 0:
            self.curriculum.record(self._row, bool(info["correct"]))
            self._row = -1
        return observation, reward, terminated, truncated, info
