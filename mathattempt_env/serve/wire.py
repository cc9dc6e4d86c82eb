"""What travels between an episode server and its clients: OpenEnv's pydantic models.

An action is a model turn (:class:`MathAction`); an observation (:class:`MathObservation`)
is what the env said, with the reward, ``done`` and the step's ``info`` in ``metadata``.
OpenEnv has one ``done`` flag: ``metadata["terminated"]`` and ``metadata["truncated"]`` keep
Gymnasium's two.

**The metadata, field by field** (:func:`to_metadata`): every key of the step's
:class:`~mathattempt_env.types.StepInfo` except ``messages`` (the observation carries the new
messages), as JSON:

- ``kind``: ``reset``, ``answer``, ``tool``, ``verify`` or ``trajectory``;
- ``problem_id``, ``index``, ``source``, and ``level``, ``subject`` when the data has them;
- ``attempt`` (solutions graded so far), ``attempts`` (the budget), ``attempts_left``;
- ``length_used``, and ``length_left`` when the episode has a length limit;
- ``grade``: the last solution's verdict, ``{correct, formatted, extracted, reason,
  timed_out, elapsed_s, source}``, or ``null``; ``correct``; ``grade_timed_out`` (a grade ran
  out of time and scored as wrong); ``cut`` (a length limit cut the text);
- ``reward_components``, ``action_rewards`` (this step's reward per new action);
- ``records`` and ``actions``: every action of the episode so far (as
  :class:`~mathattempt_env.types.ActionRecord` fields, and with their rewards);
- ``tool`` (this step's tool call: ``code``, ``status``, ``output``,
  ``infrastructure_error``, the sandbox's report), ``tool_calls``, ``sandbox_errors``;
- ``s2r_metrics`` at the end of an S²R episode;
- ``terminated`` and ``truncated``.

The gold answer is in none of them.

Examples:
    >>> action = MathAction(text=r"\\boxed{4}")
    >>> action.cut, action.length
    (False, None)
    >>> sorted(MathObservation.model_fields)
    ['done', 'messages', 'metadata', 'reward', 'text']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field

from mathattempt_env.types import ActionRecord, Grade


class MathAction(Action):  # type: ignore[misc]
    """One model turn.

    Attributes:
        text: the turn's text.
        cut: the producer stopped it at a length limit (the env treats it as its own cut).
        length: the turn's length in the env's budget unit, when the producer counted it
            (a driver that generated tokens), so the server need not count it again.
    """

    text: str = Field(description="the model turn's text")
    cut: bool = Field(default=False, description="generation stopped at a length limit")
    length: int | None = Field(
        default=None, ge=0, description="the turn's length in the env's budget unit"
    )


class MathObservation(Observation):  # type: ignore[misc]
    """What the env said: the prompt at reset, then feedback, a tool's output or nothing.

    Attributes:
        text: the env's observation string, as ``env.step`` returns it in-process.
        messages: the conversation's new messages since the last observation (at reset the
            opening ones: system and user).
    """

    text: str = Field(default="", description="the env's observation string")
    messages: list[dict[str, str]] = Field(
        default_factory=list, description="new chat messages since the last observation"
    )


class MathState(State):  # type: ignore[misc]
    """A session's state: its env and where its episode is (no gold answer).

    Attributes:
        env_id: the served env id.
        problem_id: the episode's problem (``None`` before the first reset).
        attempt: solutions graded so far; attempts: the episode's budget.
        done: the episode has ended.
    """

    env_id: str = ""
    problem_id: str | None = None
    attempt: int = 0
    attempts: int = 0
    done: bool = True


def _plain(value: Any) -> Any:
    """``value`` as JSON values: dataclasses as dicts, tuples as lists, numpy scalars unboxed."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return str(value)


def to_metadata(info: Mapping[str, Any], *, terminated: bool, truncated: bool) -> dict[str, Any]:
    """A step's ``info`` as an observation's ``metadata`` (JSON; see the module docstring).

    Examples:
        >>> import gymnasium as gym, mathattempt_env
        >>> env = gym.make("MultiAttemptMath-v0", attempts=2)
        >>> _ = env.reset(seed=0)
        >>> _, _, terminated, truncated, info = env.step(r"\\boxed{0}")
        >>> meta = to_metadata(info, terminated=terminated, truncated=truncated)
        >>> meta["kind"], meta["attempts_left"], meta["grade"]["correct"], meta["truncated"]
        ('answer', 1, False, False)
    """
    meta = {key: _plain(value) for key, value in info.items() if key != "messages"}
    meta["terminated"], meta["truncated"] = bool(terminated), bool(truncated)
    return meta


def _grade(data: Mapping[str, Any] | None) -> Grade | None:
    return None if data is None else Grade(**data)


def _record(data: Mapping[str, Any]) -> ActionRecord:
    fields = dict(data)
    fields["grade"] = _grade(fields.get("grade"))
    fields["span"] = tuple(fields.get("span", (0, 0)))
    return ActionRecord(**fields)


def from_metadata(meta: Mapping[str, Any], messages: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The step ``info`` that ``meta`` carries, with the conversation ``messages`` put back.

    The inverse of :func:`to_metadata`: grades and records are objects again, and the
    per-action tuples are tuples. ``terminated`` and ``truncated`` are left out.

    Examples:
        >>> import gymnasium as gym, mathattempt_env
        >>> env = gym.make("MultiAttemptMath-v0", attempts=2)
        >>> _, info = env.reset(seed=0)
        >>> _, _, terminated, truncated, info = env.step(r"\\boxed{0}")
        >>> back = from_metadata(to_metadata(info, terminated=False, truncated=False),
        ...                      info["messages"])
        >>> back == info
        True
    """
    info = {key: value for key, value in meta.items() if key not in ("terminated", "truncated")}
    info["grade"] = _grade(meta.get("grade"))
    info["records"] = tuple(_record(record) for record in meta.get("records", ()))
    info["action_rewards"] = tuple(meta.get("action_rewards", ()))
    info["actions"] = [
        {**action, "span": tuple(action["span"])} if "span" in action else dict(action)
        for action in meta.get("actions", ())
    ]
    info["messages"] = [dict(message) for message in messages]
    return info
