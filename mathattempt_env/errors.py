"""Errors raised by mathattempt_env.

Model output never raises: it is graded as wrong, with a reason. These errors are for bad
configuration and bad data, and their messages say what was expected, what was found, and where.

Examples:
    >>> from mathattempt_env.errors import InvalidGoldError, MathAttemptError
    >>> issubclass(InvalidGoldError, MathAttemptError) and issubclass(InvalidGoldError, ValueError)
    True
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

_T = TypeVar("_T")


class MathAttemptError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidGoldError(MathAttemptError, ValueError):
    """A gold (reference) answer cannot be graded against.

    Raised when data is loaded or validated, never while grading a model response.

    Attributes:
        gold: the offending gold answer, as given.
        problem: what is wrong with it.
        where: where it came from (e.g. ``"math500.jsonl row test/algebra/1.json"``), or ``""``.
    """

    def __init__(self, gold: object, problem: str, where: str = "") -> None:
        self.gold = gold
        self.problem = problem
        self.where = where
        location = f" ({where})" if where else ""
        super().__init__(f"invalid gold answer{location}: {problem}; got {_preview(gold)}")


class ConfigError(MathAttemptError, ValueError):
    """A configuration value is out of range or of the wrong type."""


class GraderUnavailableError(MathAttemptError, RuntimeError):
    """The isolated grader worker processes could not be started."""


def _preview(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class DatasetError(MathAttemptError, ValueError):
    """A dataset has bad rows. The message lists every bad row, not just the first.

    Attributes:
        source: the dataset (a path or name).
        problems: one ``"row <id or line>: <what is wrong>"`` line per bad row.

    Examples:
        >>> e = DatasetError("data.jsonl", ["line 3: missing field 'answer'"])
        >>> print(e)
        data.jsonl: 1 bad row
          line 3: missing field 'answer'
    """

    def __init__(self, source: str, problems: list[str], limit: int = 50) -> None:
        self.source = source
        self.problems = list(problems)
        rows = "row" if len(problems) == 1 else "rows"
        lines = [f"{source}: {len(problems)} bad {rows}"]
        lines += [f"  {p}" for p in problems[:limit]]
        if len(problems) > limit:
            lines.append(f"  ... and {len(problems) - limit} more")
        super().__init__("\n".join(lines))


class EpisodeFinishedError(MathAttemptError, RuntimeError):
    """``step()`` was called on an episode that already ended; call ``reset()`` first."""


def unknown_name(kind: str, name: object, choices: Iterable[str]) -> ConfigError:
    """Build the error for a name missing from a registry, with a close-match suggestion.

    Args:
        kind: what was looked up, e.g. ``"reward scheme"``.
        name: the name that was given.
        choices: the registered names.

    Returns:
        A :class:`ConfigError` to raise.

    Examples:
        >>> print(unknown_name("reward scheme", "papr", ["paper", "binary"]))
        unknown reward scheme 'papr'; did you mean 'paper'? Registered: binary, paper
    """
    names = sorted(choices)
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return ConfigError(f"unknown {kind} {name!r}{hint} Registered: {', '.join(names)}")


def lookup(
    kind: str, value: str | _T, table: Mapping[str, _T], cls: type[_T] | tuple[type, ...]
) -> _T:
    """Resolve a registry name to its object, or pass an object of the right type through.

    Args:
        kind: what is looked up, for the error message.
        value: a registered name, or an object that is an instance of ``cls``.
        table: the registry.
        cls: the accepted object type(s).

    Returns:
        The object.

    Raises:
        ConfigError: an unknown name (with a suggestion) or a value of the wrong type.

    Examples:
        >>> lookup("colour", "red", {"red": 1}, int)
        1
    """
    if isinstance(value, cls):
        return value  # type: ignore[return-value]
    if not isinstance(value, str):
        raise ConfigError(f"expected a {kind} name or object, got {value!r}")
    if value not in table:
        raise unknown_name(kind, value, table)
    return table[value]


def install_hint(extra: str) -> str:
    """How to install an extra: from the source folder (the package is not on an index).

    Examples:
        >>> install_hint("eval")
        'pip install -e ".[eval]" (in the mathattempt_env source folder)'
    """
    return f'pip install -e ".[{extra}]" (in the mathattempt_env source folder)'
