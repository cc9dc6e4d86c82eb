"""The shared core of the math environments: problems, budgets, grading, messages and info.

Subclasses implement ``pose`` (the opening turns for a question) and ``_answer`` (what a
finished turn does: grade, score, feedback); everything else lives here once: problems,
budgets, grading, the tool seam (:mod:`~mathattempt_env.envs.tooluse`) and the one ``info``
record (:class:`~mathattempt_env.types.StepInfo`), so every env id behaves alike.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec

from mathattempt_env.data import load_problems
from mathattempt_env.data.validate import to_problems
from mathattempt_env.envs.actions import describe
from mathattempt_env.envs.budget import Budget
from mathattempt_env.envs.spaces import UnicodeText
from mathattempt_env.envs.tool import ToolCall
from mathattempt_env.envs.tooluse import Tool, ToolUse, make_tool
from mathattempt_env.errors import (
    ConfigError,
    EpisodeFinishedError,
    MathAttemptError,
    unknown_name,
)
from mathattempt_env.grading import DEFAULT_TIMEOUT, grade
from mathattempt_env.grading.extract import BoxChoice, Think
from mathattempt_env.prompts import Message
from mathattempt_env.rewards import RewardScheme, get_reward
from mathattempt_env.types import (
    ActionRecord,
    Grade,
    GradingConfig,
    Problem,
    RewardBreakdown,
    StepInfo,
    StepKind,
    Turn,
)

#: The longest observation (prompt or feedback turn), in characters.
MAX_OBSERVATION_CHARS = 65_536
#: The longest action the environment accepts whole, in characters; longer ones are cut.
MAX_ACTION_CHARS = 1_000_000
#: Seconds each grade of a step still gets once the step's grading budget is spent.
MIN_GRADE_SECONDS = 0.01
_NOT_STARTED = "no episode has started; call reset() first"
#: The tool's options that were env options before the tool seam, and their new names.
_TOOL_OPTIONS = {
    "tool_format": "fmt", "max_tool_calls": "max_calls", "tool_replay": "replay",
    "isolation": "isolation", "sandbox_url": "sandbox_url", "sandbox_options": "sandbox_options",
}  # fmt: skip


class ActionTypeError(MathAttemptError, TypeError):
    """An action is not a string; strings are never rejected (bad text is graded as wrong)."""


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name}: expected an int >= 1, got {value!r}")
    return value


def attempt_range(attempts: Any) -> tuple[int, int]:
    """Validate an attempt budget: an int, or an inclusive ``(min, max)`` range.

    Examples:
        >>> attempt_range(3), attempt_range((1, 5))
        ((3, 3), (1, 5))
    """
    if isinstance(attempts, int) and not isinstance(attempts, bool):
        value = _positive_int("attempts", attempts)
        return value, value
    if isinstance(attempts, Sequence) and not isinstance(attempts, str) and len(attempts) == 2:
        low = _positive_int("attempts[0]", attempts[0])
        high = _positive_int("attempts[1]", attempts[1])
        if low <= high:
            return low, high
    raise ConfigError(f"attempts: expected an int >= 1 or (min, max), got {attempts!r}")


def draw_attempts(
    bounds: tuple[int, int], options: dict[str, Any], rng: np.random.Generator
) -> int:
    """An episode's attempt budget: ``options["attempts"]`` if given, else uniform in ``bounds``.

    Examples:
        >>> import numpy as np
        >>> draw_attempts((1, 5), {"attempts": 2}, np.random.default_rng(0))
        2
    """
    if options.get("attempts") is not None:
        return _positive_int("options['attempts']", options["attempts"])
    return int(rng.integers(bounds[0], bounds[1] + 1))


def option_names(env_class: type) -> list[str]:
    """The keyword options of an env class and its bases (what ``gym.make`` may pass).

    Examples:
        >>> from mathattempt_env.envs import SingleTurnMathEnv
        >>> "tool_options" in option_names(SingleTurnMathEnv)
        True
    """
    names = {"max_episode_steps", "disable_env_checker"}  # gym.make's own
    for cls in env_class.__mro__:
        init = cls.__dict__.get("__init__")
        if init is not None:
            names.update(
                p.name
                for p in inspect.signature(init).parameters.values()
                if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
            )
    return sorted(names - {"self"})


def _one_problem(value: Any) -> Problem:
    """A problem passed to ``reset(options={"problem": ...})``: a Problem or a row dict."""
    row = dict(value) if isinstance(value, dict) else value
    if isinstance(row, dict):
        text = str(row.get("problem"))
        row.setdefault("id", "given-" + hashlib.sha1(text.encode()).hexdigest()[:12])
    return to_problems([row], "options['problem']")[0]


def _group_key(key: Any) -> bytes:
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise ConfigError(f"options['group']: expected an int or a string, got {key!r}")
    return str(key).encode()


def group_index(key: Any, size: int) -> int:
    """The dataset row a group key picks: ``sha256(key) mod size`` (the same in any process).

    Examples:
        >>> group_index("step3/7", 500) == group_index("step3/7", 500), group_index(7, 1)
        (True, 0)
    """
    digest = hashlib.sha256(b"mathattempt-group-row:" + _group_key(key)).digest()
    return int.from_bytes(digest[:8], "big") % size


def group_seed(key: Any) -> int:
    """The episode seed a group key gives when ``reset`` has no seed (a 63-bit int).

    Examples:
        >>> group_seed("a") == group_seed("a") != group_seed("b")
        True
    """
    digest = hashlib.sha256(b"mathattempt-group-seed:" + _group_key(key)).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class MathEnv(gym.Env[str, str]):
    """Base class: one problem per episode, text in and text out.

    Args:
        dataset: a registered name, a JSONL path, or a sequence of row dicts or Problems.
        reward: a reward-scheme name or object (``None``: the environment's default).
        max_response_length: the most one response may use, in ``length_fn`` units.
        max_total_length: the most all responses of an episode may use together.
        length_fn: measures a response (default ``len``: characters).
        length_unit: what the limits count: ``"chars"`` (``length_fn`` is ``len``) or
            ``"tokens"`` (``length_fn`` counts tokens); default: ``"chars"`` with ``len``,
            ``"tokens"`` with any other ``length_fn``. It travels with the limits
            (:class:`~mathattempt_env.envs.config.EnvConfig`), so 3,000 never changes unit.
        data_dir: a folder with named datasets' JSONL files.
        grade_timeout: seconds one grade may take (default: the grader's, 2 s).
        grade_budget: seconds all the grades of one step may take together (default: twice
            ``grade_timeout``); an S²R trajectory grades several solutions in one step.
            Once it is spent, each further grade of the step gets 10 ms (enough for a cached
            or simple answer). A grade that runs out of time scores as wrong and sets
            ``info["grade_timed_out"]``.
        box: grade the ``"last"`` or the ``"first"`` complete ``\\boxed{}`` of a response.
        think: ``"auto"`` (default: text after the last ``</think>`` counts, and an unclosed
            ``<think>`` means the response was cut mid-thought), ``"open"`` (the chat
            template opened ``<think>`` in the prompt, as DeepSeek-R1's does, so a response
            without ``</think>`` was cut and earns no answer) or ``"none"`` (tags ignored).
        tool: ``None``, a tool's name from :data:`~mathattempt_env.envs.tooluse.TOOLS`
            (``"python"``: code run in the sandbox; ``"calculator"``: exact arithmetic) or a
            :class:`~mathattempt_env.envs.tooluse.Tool`. A step that calls it gets the output
            back and earns 0; the attempt goes on in the same turn (``ToolMath-v0``).
        tool_options: keyword arguments of the named tool (the python tool's ``fmt``,
            ``isolation``, ``max_calls``, ``replay``, ``sandbox_url``, ``sandbox_options``).
        render_mode: ``None`` or ``"ansi"`` (the conversation as text).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 1}
    default_reward = "paper"

    def __init__(
        self,
        *,
        dataset: str | Sequence[Any] = "builtin",
        reward: str | RewardScheme | None = None,
        max_response_length: int | None = None,
        max_total_length: int | None = None,
        length_fn: Callable[[str], int] = len,
        length_unit: str | None = None,
        data_dir: str | None = None,
        grade_timeout: float | None = None,
        grade_budget: float | None = None,
        box: BoxChoice = "last",
        think: Think = "auto",
        tool: str | Tool | None = None,
        tool_options: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        **unknown: Any,
    ) -> None:
        moved = [name for name in unknown if name in _TOOL_OPTIONS]
        if moved:
            raise ConfigError(
                f"{moved[0]}: the tool's options go in tool_options, e.g. "
                f"tool_options={{{_TOOL_OPTIONS[moved[0]]!r}: {unknown[moved[0]]!r}}}"
            )
        if unknown:
            raise unknown_name(
                f"{type(self).__name__} option", next(iter(unknown)), option_names(type(self))
            )
        #: How this env grades an answer (validated there); every path that grades as this
        #: env does carries it (``self.grading.to_dict()``).
        self.grading = GradingConfig(box, think, grade_timeout, grade_budget)
        self.problems = load_problems(dataset, data_dir=data_dir)
        self.reward_scheme = get_reward(self.default_reward if reward is None else reward)
        unit = length_unit or ("chars" if length_fn is len else "tokens")
        self.budget = Budget(max_response_length, max_total_length, length_fn, unit)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode: expected None or 'ansi', got {render_mode!r}")
        self.box: BoxChoice = box
        self.think: Think = think
        self.grade_timeout = DEFAULT_TIMEOUT if grade_timeout is None else float(grade_timeout)
        self.grade_budget = 2 * self.grade_timeout if grade_budget is None else float(grade_budget)
        self._grade_until = 0.0  # the current step's grading deadline (perf_counter)
        self._grade_timed_out = False  # a grade of the current step ran out of time
        self.render_mode = render_mode
        self.tool = make_tool(tool, tool_options)
        self.tool_use = ToolUse(self.tool) if self.tool is not None else None
        self._calls: tuple[ToolCall, ...] = ()  # the tool calls of the turn just graded
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.action_space = UnicodeText(MAX_ACTION_CHARS)
        self._problem: Problem | None = None
        self._index = -1
        self._end_reason = ""  # why the episode ended; "" while it runs
        self.messages: list[Message] = []
        self.records: list[ActionRecord] = []
        self.used = 0
        self._budget = self.budget  # the constructor's; reset options may change one episode's

    # The reward scheme in use is recorded in env.spec.kwargs, also when it came from a default.
    @property
    def spec(self) -> EnvSpec | None:
        """The registration spec, with the reward scheme actually in use."""
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        if value is not None and value.kwargs.get("reward") is None:
            value = dataclasses.replace(
                value, kwargs={**value.kwargs, "reward": self.reward_scheme.name}
            )
        self._spec = value

    _spec: EnvSpec | None = None

    @property
    def problem(self) -> Problem:
        """The current episode's problem (with its gold answer: never show it to the policy)."""
        if self._problem is None:
            raise EpisodeFinishedError(_NOT_STARTED)
        return self._problem

    @property
    def index(self) -> int:
        """The current problem's index in ``problems`` (-1 for one given in reset options)."""
        return self._index

    # --- reset ---------------------------------------------------------------------------

    def _pick(self, options: dict[str, Any]) -> int:
        given = [key for key in ("index", "problem", "group") if options.get(key) is not None]
        if len(given) > 1:
            raise ConfigError(
                f"reset options: give one of 'index', 'problem', 'group', got {given}"
            )
        problem, group = options.get("problem"), options.get("group")
        if isinstance(problem, str):
            return self._by_id(problem)
        if problem is not None and not (isinstance(problem, int) and not isinstance(problem, bool)):
            return -1  # a row or a Problem of the caller's
        if group is not None:
            return group_index(group, len(self.problems))
        index = options.get("index") if problem is None else problem
        if index is None:
            return int(self.np_random.integers(len(self.problems)))
        if (
            not isinstance(index, int)
            or isinstance(index, bool)
            or not (0 <= index < len(self.problems))
        ):
            raise ConfigError(
                f"options['index']: expected an int in [0, {len(self.problems)}), got {index!r}"
            )
        return index

    def _by_id(self, problem_id: str) -> int:
        ids = getattr(self, "_ids", None)
        if ids is None:
            ids = self._ids = {p.id: i for i, p in reversed(list(enumerate(self.problems)))}
        if problem_id not in ids:
            raise ConfigError(
                f"options['problem']: no problem with id {problem_id!r} in the dataset "
                f"({len(self.problems)} problems, e.g. {self.problems[0].id!r})"
            )
        return ids[problem_id]

    def _opening(self, problem: Problem, options: dict[str, Any]) -> list[Message]:
        """Draw the episode's settings from ``options`` and pose ``problem``."""
        return self.pose(problem.problem)

    def pose(self, question: str) -> list[Message]:
        """The messages that open an episode on ``question`` (nothing is drawn or changed).

        Examples:
            >>> from mathattempt_env.envs import SingleTurnMathEnv
            >>> [m["role"] for m in SingleTurnMathEnv().pose("What is 2 + 2?")]
            ['system', 'user']
        """
        raise NotImplementedError

    @property
    def stop(self) -> tuple[str, ...]:
        """Strings that end a generation early: the tool's call string, if the env has one."""
        return (self.tool.stop,) if self.tool is not None else ()

    @property
    def uses_tools(self) -> bool:
        """Whether a step may run a tool (seconds of work: drivers step it off their loop)."""
        return self.tool is not None

    def attempt_counts(self) -> tuple[int, int, int]:
        """``(attempt, attempts, attempts_left)``: solutions graded, the budget, what is left."""
        made = sum(record.kind == "solve" for record in self.records)
        return made, self.attempts, max(self.attempts - made, 0)

    attempts = 1  # the episode's budget of graded solutions; subclasses draw it at reset

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode.

        ``options`` (any of :meth:`option_names`): ``index`` (a row of the dataset),
        ``problem`` (an id of the dataset, a row number, or a row or
        :class:`~mathattempt_env.types.Problem` of the caller's), or ``group``: a GRPO/RLOO
        group's key (an int or a string; ``1`` and ``"1"`` are the same group), which picks
        the row ``sha256(key) mod len(dataset)`` and, without a ``seed``, seeds the episode
        from the key too, so every member of a group gets the same problem and the same
        episode start (a multi-attempt env's attempt budget) in any process. Give at most
        one of the three; with none, the env's RNG picks the row. The length options
        (``max_total_length``, ``max_response_length``) set this episode's budgets.

        Examples:
            >>> from mathattempt_env.envs import MultiAttemptMathEnv
            >>> a, b = MultiAttemptMathEnv(), MultiAttemptMathEnv()
            >>> a.reset(options={"group": "step3/7"}) == b.reset(options={"group": "step3/7"})
            True
            >>> _ = a.reset(options={"problem": a.problems[5].id}); a.index
            5
        """
        options = dict(options or {})
        unknown = set(options) - set(self.option_names())
        if unknown:
            raise ConfigError(
                f"reset options: unknown {sorted(unknown)}; expected {self.option_names()}"
            )
        if options.get("group") is not None and seed is None:
            seed = group_seed(options["group"])
        super().reset(seed=seed)
        self._index = self._pick(options)
        self._problem = (
            self.problems[self._index] if self._index >= 0 else _one_problem(options["problem"])
        )
        self._end_reason = ""
        self.budget = self._episode_budget(options)
        self.records = []
        self.used = 0
        self._calls = ()
        if self.tool_use is not None:
            self.tool_use.reset()
        self.messages = self._opening(self._problem, options)
        observation = self._observe(self.messages)
        return observation, self._info("reset")

    def option_names(self) -> tuple[str, ...]:
        """The keys ``reset(options=...)`` accepts.

        Examples:
            >>> from mathattempt_env.envs import MultiAttemptMathEnv
            >>> MultiAttemptMathEnv().option_names()
            ('index', 'problem', 'group', 'max_total_length', 'max_response_length', 'attempts')
        """
        return ("index", "problem", "group", "max_total_length", "max_response_length")

    def _episode_budget(self, options: dict[str, Any]) -> Budget:
        """The constructor's budget, with this episode's length limits from ``options``.

        ``options["max_total_length"]`` and ``options["max_response_length"]`` are how a
        driver gives its own token budget: the environment enforces it and reports
        ``info["length_left"]``; the driver steps with :class:`~mathattempt_env.types.Turn`
        actions that carry their token counts.
        """
        budget = self._budget
        limits = {
            field: options[key]
            for key, field in (("max_total_length", "total"), ("max_response_length", "per_step"))
            if key in options
        }
        return dataclasses.replace(budget, **limits) if limits else budget

    def _observe(self, turns: list[Message]) -> str:
        text = "\n\n".join(turn["content"] for turn in turns)
        if len(text) > MAX_OBSERVATION_CHARS:
            raise ConfigError(
                f"problem {self.problem.id!r}: the observation has {len(text)} characters, "
                f"over the limit of {MAX_OBSERVATION_CHARS}"
            )
        return text

    # --- step helpers --------------------------------------------------------------------

    def _accept(self, action: Any) -> tuple[str, bool]:
        """Check the episode is running; coerce and cut the action to the budgets."""
        if self._problem is None:
            raise EpisodeFinishedError(_NOT_STARTED)
        if self._end_reason:
            raise EpisodeFinishedError(
                f"the episode has ended ({self._end_reason}); call reset() before step()"
            )
        if isinstance(action, bytes | bytearray):
            action = bytes(action).decode("utf-8", errors="replace")
        if not isinstance(action, str):
            raise ActionTypeError(f"action: expected a str, got {type(action).__name__}")
        known = action.length if isinstance(action, Turn) else None
        marked = action.cut if isinstance(action, Turn) else False  # the producer cut it
        over = len(action) > MAX_ACTION_CHARS
        text, length, cut = self.budget.cut(
            str(action)[:MAX_ACTION_CHARS] if over else str(action),
            self.used,
            None if over else known,
        )
        self.used += length
        self._grade_until = time.perf_counter() + self.grade_budget
        self._grade_timed_out = False
        return text, cut or over or marked

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Take one model turn: run the tool call it makes, or end the turn and judge it.

        See the env's class docstring; ``info`` is a
        :class:`~mathattempt_env.types.StepInfo`.
        """
        text, cut = self._accept(action)
        self._calls = ()
        if self.tool_use is not None:
            use = self.tool_use
            call = None if cut else use.call(text)
            if call is not None:
                self.used += self.budget.length_fn(call.shown)  # tool output counts, as published
                if len(use.calls) > 1:
                    self.messages.pop()  # the turn so far, replaced by its longer version
                self.messages.append({"role": "assistant", "content": use.turn})
                if not self.budget.exhausted(self.used):
                    info = self._info("tool", tool={**call.info, "call": len(use.calls)})
                    return call.shown, 0.0, False, False, info
                text, cut = "", True  # the tool output spent the budget: the turn ends cut
            if use.calls:
                self.messages.pop()
            text, self._calls = use.finish(text)
        return self._answer(text, cut)

    def _answer(self, text: str, cut: bool) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Judge a finished turn (``text`` includes its tool outputs); see :meth:`step`."""
        raise NotImplementedError

    def _tool_fields(self) -> dict[str, Any]:
        """The turn's tool use, for its :class:`~mathattempt_env.types.ActionRecord`."""
        failed = bool(self._calls) and bool(self._calls[-1].info.get("failed"))
        return {"tool_calls": len(self._calls), "tool_failed": failed}

    def _grade(self, text: str) -> Grade:
        """Grade one solution within what is left of the step's grading budget."""
        left = max(self._grade_until - time.perf_counter(), MIN_GRADE_SECONDS)
        timeout = min(self.grade_timeout, left)
        verdict = grade(
            text, self.problem.answer, boxed_only=True, timeout=timeout, box=self.box,
            think=self.think,
        )  # fmt: skip
        self._grade_timed_out |= verdict.timed_out
        return verdict

    def _score(self, new: int, final: bool, truncated: bool) -> RewardBreakdown:
        return self.reward_scheme(self.records, new=new, final=final, truncated=truncated)

    def _end(self, reason: str) -> None:
        self._end_reason = reason

    def _info(self, kind: StepKind, **extra: Any) -> dict[str, Any]:
        """The step's :class:`~mathattempt_env.types.StepInfo`; ``extra`` sets its values."""
        problem = self.problem
        attempt, attempts, attempts_left = self.attempt_counts()
        use = self.tool_use
        info: StepInfo = {
            "kind": kind,
            "problem_id": problem.id,
            "index": self._index,
            "source": problem.source,
            # A new list each step; the message dicts themselves are never changed once made.
            "messages": list(self.messages),
            "attempt": attempt,
            "attempts": attempts,
            "attempts_left": attempts_left,
            "length_used": self.used,
            "grade": None,
            "correct": False,
            "cut": False,
            "grade_timed_out": self._grade_timed_out,
            "reward_components": {},
            "records": tuple(self.records),
            "actions": [],
            "action_rewards": (),
            "tool": {},
            "tool_calls": len(use.calls) if kind == "tool" and use else len(self._calls),
            "sandbox_errors": self.tool.infrastructure_errors if self.tool is not None else 0,
        }
        left = self.budget.allowance(self.used)
        if left is not None:  # left out without a limit, so vector envs can batch infos
            info["length_left"] = left
        # Optional metadata is left out, not None, so vector envs can batch it with a mask.
        if problem.level is not None:
            info["level"] = problem.level
        if problem.subject is not None:
            info["subject"] = problem.subject
        result: dict[str, Any] = dict(info)
        result.update(extra)
        return result

    def _judged(
        self, kind: StepKind, breakdown: RewardBreakdown, *, cut: bool, done: bool,
        truncated: bool, **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """The info of a step that judged actions: the last solve's grade, rewards, actions."""
        solves = [record for record in self.records if record.kind == "solve"]
        verdict = solves[-1].grade if solves else None
        return self._info(
            kind,
            grade=verdict,
            correct=verdict is not None and verdict.correct,
            cut=cut,
            reward_components=dict(breakdown.components),
            action_rewards=tuple(breakdown.action_rewards),
            actions=describe(self.records, self.reward_scheme, final=done, truncated=truncated),
            **extra,
        )

    def render(self) -> str | None:
        """The conversation so far as text (``render_mode="ansi"``)."""
        if self.render_mode != "ansi":
            return None
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in self.messages)
