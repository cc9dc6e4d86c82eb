"""A curriculum for trainers that choose the problem per sample: verl's agent loop, OpenRLHF.

Those trainers start each episode from a dataset row. With a curriculum, the row is only a
slot: the agent asks the process's :class:`~mathattempt_env.wrappers.Curriculum` for the
problem instead, by the sample's group (verl's ``uid``; in OpenRLHF, the prompt and its
occurrence), so every episode of a GRPO/RLOO group gets the same problem, and records
whether the episode solved it.

A spec names the dataset (by name or path, so that every worker loads the same problems)
and the curriculum's options::

    {"dataset": "math", "data_dir": "../shared/data", "band": [0.2, 0.8], "by": "level"}

Each process keeps one curriculum per spec (:func:`shared_curriculum`), shared by its
agents. Several worker processes each keep their own statistics, from the episodes they
ran: each still picks where its success rates are inside the band, on fewer outcomes.

Examples:
    >>> shared = shared_curriculum({"dataset": "builtin", "band": [0.2, 0.8]}, where="demo")
    >>> row = shared.curriculum.pick_for("group-1")
    >>> shared.problems[row].answer == shared.problems[shared.curriculum.pick_for("group-1")].answer
    True
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from mathattempt_env.data import load_problems
from mathattempt_env.envs.config import json_object
from mathattempt_env.errors import ConfigError
from mathattempt_env.types import Problem
from mathattempt_env.wrappers.curriculum import Curriculum


@dataclasses.dataclass(frozen=True)
class SharedCurriculum:
    """A process's curriculum for one spec, with the problems it picks rows of."""

    curriculum: Curriculum
    problems: Sequence[Problem]
    spec: str  # the canonical JSON spec


_SHARED: dict[str, SharedCurriculum] = {}
_LOCK = threading.Lock()


def parse_spec(spec: str | Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """A curriculum spec as a dict, checked for its dataset (a name or path)."""
    if isinstance(spec, str):
        spec = json_object(spec, where)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a JSON object, got {spec!r}")
    dataset = spec.get("dataset")
    if not isinstance(dataset, str) or not dataset:
        raise ConfigError(
            f"{where}: 'dataset' must name the problems (a dataset name or a JSONL path), so "
            f"that every worker loads the same ones; got {dataset!r}"
        )
    return dict(spec)


def shared_curriculum(spec: str | Mapping[str, Any], *, where: str) -> SharedCurriculum:
    """This process's curriculum for ``spec`` (made at the first call; see the module).

    Raises:
        ConfigError: a spec that is not a JSON object, names no dataset, or has a bad or
            unknown option (named, with ``where``).
    """
    options = parse_spec(spec, where=where)
    key = json.dumps(options, sort_keys=True)
    with _LOCK:
        found = _SHARED.get(key)
        if found is None:
            dataset, data_dir = options.pop("dataset"), options.pop("data_dir", None)
            problems = load_problems(dataset, data_dir=data_dir)
            try:
                curriculum = Curriculum(problems, **options)
            except TypeError as error:  # an unknown option
                raise ConfigError(f"{where}: {error}") from None
            except ConfigError as error:
                raise ConfigError(f"{where}: {error}") from None
            found = _SHARED[key] = SharedCurriculum(curriculum, problems, key)
        return found
