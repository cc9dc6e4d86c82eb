"""One env's configuration as data: what every transport of env options carries.

An :class:`EnvConfig` is an env id and its options, checked once, here: the id is registered,
every option is one the env takes, the options are JSON (so they cross processes and
machines unchanged), the grading choices are valid
(:class:`~mathattempt_env.types.GradingConfig`), and a length limit carries its unit
(``length_unit``; a ``"tokens"`` budget is rebuilt from the receiver's tokenizer). verl's
rows (``extra_info``), OpenRLHF's environment variables, ``--env-kwargs`` and the
replication's settings all go through it, so a setting is read the same way everywhere.

Examples:
    >>> config = EnvConfig("MultiAttemptMath-v0", {"attempts": [1, 5], "think": "open",
    ...                                              "max_total_length": 3000,
    ...                                              "length_unit": "tokens"})
    >>> config.grading.think, config.length
    ('open', (None, 3000, 'tokens'))
    >>> EnvConfig.from_json(config.to_json()) == config
    True
    >>> EnvConfig("MultiAttemptMath-v0", {"atempts": 3})
    Traceback (most recent call last):
    ...
    mathattempt_env.errors.ConfigError: unknown MultiAttemptMath-v0 option 'atempts'; did you ...
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mathattempt_env.envs.base import _TOOL_OPTIONS, option_names
from mathattempt_env.envs.budget import check_limits
from mathattempt_env.errors import ConfigError, unknown_name
from mathattempt_env.registration import check_env_id
from mathattempt_env.types import GradingConfig

#: Options that are callables or live objects: they cannot travel; say what to send instead.
_LOCAL_ONLY = {
    "length_fn": "length_unit ('chars' or 'tokens'; the receiver counts tokens itself)",
    "render_mode": "nothing (rendering is local)",
}


def _env_class(env_id: str) -> type:
    import gymnasium as gym

    entry = gym.spec(env_id).entry_point
    if not isinstance(entry, str):
        return type(entry)
    module, _, name = entry.partition(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


@dataclass(frozen=True)
class EnvConfig:
    """An env id and its options, validated; frozen, comparable and JSON-able.

    Args:
        env_id: a registered id (``"MultiAttemptMath-v0"``).
        options: its ``gym.make`` options, as JSON values (a dataset by name or path).

    Raises:
        ConfigError: an unknown id or option (with the closest name), a value that is not
            JSON or that cannot travel (``length_fn``: send ``length_unit``), a bad grading
            choice or length limit.
    """

    env_id: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_env_id(self.env_id)
        if not isinstance(self.options, Mapping):
            raise ConfigError(
                f"{self.env_id} options: expected a JSON object, got {self.options!r}"
            )
        known = option_names(_env_class(self.env_id))
        for key, value in self.options.items():
            if key in _LOCAL_ONLY:
                raise ConfigError(f"{key}: cannot travel in an env config; send {_LOCAL_ONLY[key]}")
            if key in _TOOL_OPTIONS:
                raise ConfigError(
                    f"{key}: the tool's options go in tool_options, e.g. "
                    f"tool_options={{{_TOOL_OPTIONS[key]!r}: {value!r}}}"
                )
            if key not in known:
                raise unknown_name(f"{self.env_id} option", key, known)
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                raise ConfigError(f"{key}: expected a JSON value, got {value!r}") from None
        GradingConfig.from_dict(self.options, strict=False)  # validates the grading choices
        check_limits(*self.length)
        # A plain, sorted, private copy: the config cannot change after it is checked.
        object.__setattr__(self, "options", json.loads(json.dumps(dict(self.options))))

    @property
    def grading(self) -> GradingConfig:
        """The grading choices among the options."""
        return GradingConfig.from_dict(self.options, strict=False)

    @property
    def length(self) -> tuple[int | None, int | None, str]:
        """``(max_response_length, max_total_length, unit)``: the limits and their unit."""
        options = self.options
        unit = str(options.get("length_unit", "chars"))
        return options.get("max_response_length"), options.get("max_total_length"), unit

    def to_dict(self) -> dict[str, Any]:
        """``{"env_id": ..., "options": {...}}``, JSON values only."""
        return {"env_id": self.env_id, "options": dict(self.options)}

    def to_json(self) -> str:
        """The config as JSON text (sorted keys: equal configs give equal text)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "env config") -> EnvConfig:
        """The config in ``{"env_id": ..., "options": {...}}``; ``where`` names the source."""
        if not isinstance(data, Mapping) or not isinstance(data.get("env_id"), str):
            raise ConfigError(
                f"{where}: expected {{'env_id': str, 'options': {{...}}}}, got {data!r}"
            )
        extra = set(data) - {"env_id", "options"}
        if extra:
            raise ConfigError(f"{where}: unknown keys {sorted(extra)}; expected env_id, options")
        return cls(data["env_id"], data.get("options") or {})

    @classmethod
    def from_json(cls, text: str, *, where: str = "env config") -> EnvConfig:
        """The config in JSON text (see :meth:`to_json`)."""
        return cls.from_dict(json_object(text, where), where=where)

    @classmethod
    def parse(
        cls, env_id: str, options: str | Mapping[str, Any] | None, *, where: str
    ) -> EnvConfig:
        """The config of ``env_id`` with ``options`` given as a dict or as JSON text.

        ``where`` names the source in errors (``"--env-kwargs"``, ``"MATHATTEMPT_ENV_KWARGS"``).

        Examples:
            >>> EnvConfig.parse("S2RMath-v0", '{"mode": "interactive"}', where="--env-kwargs")
            EnvConfig(env_id='S2RMath-v0', options={'mode': 'interactive'})
        """
        if isinstance(options, str):
            options = json_object(options, where)
        try:
            return cls(env_id, options or {})
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None

    def make(self, **local: Any) -> Any:
        """A fresh env of this config (``gym.make``), with ``local`` options added.

        ``local`` holds what does not travel: ``length_fn`` (a token counter for a
        ``"tokens"`` budget; the adapters' ``make_envs(..., tokenizer)`` builds one), a
        dataset of objects.

        Raises:
            ConfigError: the budget is in tokens and no ``length_fn`` is given.

        Examples:
            >>> EnvConfig("SingleTurnMath-v0", {"reward": "binary"}).make().spec.kwargs["reward"]
            'binary'
        """
        import gymnasium as gym

        return gym.make(self.env_id, **{**self.options, **local})


def json_object(text: str, where: str) -> dict[str, Any]:
    """Parse ``text`` as a JSON object; a clear error names ``where`` otherwise.

    Examples:
        >>> json_object('{"attempts": 3}', "--env-kwargs")
        {'attempts': 3}
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{where}: not JSON ({error.msg} at character {error.pos}): {text!r}"
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {value!r}")
    return value
