"""Frozen dataclasses shared by every layer of the package.

Examples:
    >>> from mathattempt_env.types import Grade
    >>> g = Grade(correct=True, formatted=True, extracted="4", reason="numeric")
    >>> g.correct, g.timed_out
    (True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypedDict


@dataclass(frozen=True)
class Grade:
    """The grader's verdict on one response.

    Attributes:
        correct: the extracted answer is equivalent to the gold answer.
        formatted: the response contains a complete (brace-balanced) ``\\boxed{...}`` answer.
        extracted: the answer text that was graded, or ``None`` when none was found.
        reason: the rule that decided; one of ``exact``, ``numeric``, ``symbolic``, ``set``,
            ``tuple``, ``interval``, ``equation``, ``matrix``, ``text``, ``choice``,
            ``no-answer``, ``unparseable``, ``too-large``, ``timeout``, ``invalid-gold``.
        timed_out: grading hit its wall-clock limit (then ``correct`` is ``False``).
        elapsed_s: wall-clock seconds spent grading.
        source: where the answer came from: ``box``, ``boxes`` (connected boxes read
            together), ``trigger`` (an answer phrase), ``whole``, ``last-math``, ``bold``,
            ``last-number``, ``choice``, ``cut`` (the response ended inside ``<think>``) or
            ``none``.
    """

    correct: bool
    formatted: bool
    extracted: str | None
    reason: str
    timed_out: bool = False
    # Timing is not part of the verdict: equal verdicts compare equal however long they took.
    elapsed_s: float = field(default=0.0, compare=False)
    source: str = "none"


@dataclass(frozen=True)
class Problem:
    """One math problem with its gold answer.

    Attributes:
        id: a stable identifier, unique within its dataset.
        problem: the problem statement, without any prompt template.
        answer: the gold answer (LaTeX or plain text). It never appears in an observation.
        source: the dataset tag, e.g. ``"math500"`` or ``"builtin"``.
        level: a difficulty level (MATH uses 1-5), or ``None``.
        subject: a subject or family name, or ``None``.
        solution: a reference solution, or ``None``. It never appears in an observation.

    Examples:
        >>> Problem(id="p1", problem="What is $2+2$?", answer="4").answer
        '4'
    """

    id: str
    problem: str
    answer: str
    source: str = ""
    level: int | None = None
    subject: str | None = None
    solution: str | None = None


#: The kinds of action an episode records: an answer attempt or a self-verification.
ActionKind = Literal["solve", "verify"]
#: A verification's verdict. ``unparseable`` is its own outcome, never a default.
Verdict = Literal["correct", "incorrect", "unparseable"]


@dataclass(frozen=True)
class ActionRecord:
    """One action of an episode, as reward schemes and metrics see it.

    A ``solve`` carries the :class:`Grade` of its answer. A ``verify`` carries the model's
    verdict and ``target_correct``, the true correctness of the solve it checks.

    Attributes:
        kind: ``"solve"`` or ``"verify"``.
        grade: the grade of a solve; ``None`` for a verify.
        verdict: the parsed verdict of a verify; ``None`` for a solve.
        target_correct: for a verify, whether the solve it checks was correct.
        cut: the action was cut by a length budget.
        span: the action's ``(start, end)`` character span in its step's text.
        tool_calls: tool calls made within this action (a solve in a tool env).
        tool_failed: the last of them ran and failed (an error, a timeout, a signal or an output
            flood: everything the code can cause; never a failure of the sandbox itself).

    Examples:
        >>> g = Grade(correct=False, formatted=True, extracted="3", reason="numeric")
        >>> ActionRecord(kind="solve", grade=g).correct
        False
        >>> ActionRecord(kind="verify", verdict="incorrect", target_correct=False).verdict_right
        True
    """

    kind: ActionKind
    grade: Grade | None = None
    verdict: Verdict | None = None
    target_correct: bool | None = None
    cut: bool = False
    span: tuple[int, int] = (0, 0)
    tool_calls: int = 0
    tool_failed: bool = False

    @property
    def correct(self) -> bool:
        """A solve whose answer is correct (always ``False`` for a verify)."""
        return self.grade is not None and self.grade.correct

    @property
    def formatted(self) -> bool:
        """A solve with a complete ``\\boxed{}`` answer (always ``False`` for a verify)."""
        return self.grade is not None and self.grade.formatted

    @property
    def verdict_right(self) -> bool:
        """A verify whose verdict equals the true correctness of the solve it checks."""
        if self.verdict is None or self.verdict == "unparseable":
            return False
        return (self.verdict == "correct") == bool(self.target_correct)


@dataclass(frozen=True)
class RewardBreakdown:
    """A reward and the named parts it is made of.

    Attributes:
        reward: the scalar reward of this step.
        components: named parts (e.g. ``{"outcome": 1.0, "repeat_penalty": -0.5}``). Their sum
            is ``reward``.
        action_rewards: per-action rewards for the actions this step added, in order (used by
            process-level schemes; empty when a scheme does not define them).

    Examples:
        >>> RewardBreakdown(1.0, {"outcome": 1.0}).reward
        1.0
    """

    reward: float
    components: Mapping[str, float] = field(default_factory=dict)
    action_rewards: tuple[float, ...] = ()


class Turn(str):
    """One model turn's text, with what its producer knows about it.

    A plain ``str`` works as an action too; a ``Turn`` also carries the turn's ``length`` in
    the environment's budget units (a driver that generated tokens knows their count, so the
    environment need not tokenize the text again) and ``cut``: generation stopped at a length
    limit the producer enforced, which the environment then treats exactly as its own cut.
    It is a ``str``, so it passes through any Gymnasium wrapper and space check.

    Examples:
        >>> turn = Turn("The answer is", length=4, cut=True)
        >>> turn == "The answer is", turn.length, turn.cut
        (True, 4, True)
    """

    length: int | None
    cut: bool

    def __new__(cls, text: str, *, length: int | None = None, cut: bool = False) -> Turn:
        """Make a turn of ``text``; see the class docstring."""
        turn = super().__new__(cls, text)
        turn.length = length
        turn.cut = bool(cut)
        return turn


@dataclass(frozen=True)
class GradingConfig:
    """How an env grades one answer: the one home of these choices, validated once.

    Every path that grades like an env (its step, the trainers' reward functions, evaluation,
    the servers) carries this, as a dict of env options (:meth:`to_dict`), and rebuilds it
    (:meth:`from_dict`), so a choice made for training is the one evaluation makes.

    Attributes:
        box: with several complete ``\\boxed{}``, grade the ``"last"`` or the ``"first"``.
        think: ``"auto"``, ``"open"`` (the chat template opened ``<think>``: a response without
            ``</think>`` was cut mid-thought) or ``"none"``.
        grade_timeout: seconds one grade may take (``None``: the grader's default).
        grade_budget: seconds all grades of one step may take (``None``: twice the timeout).

    Raises:
        ConfigError: a value out of its range (with the field's name), or an unknown key.

    Examples:
        >>> config = GradingConfig.from_dict({"think": "open", "attempts": 3}, strict=False)
        >>> config.think, config.to_dict()
        ('open', {'box': 'last', 'think': 'open'})
        >>> GradingConfig(think="opn")
        Traceback (most recent call last):
        ...
        mathattempt_env.errors.ConfigError: think: expected 'auto', 'open' or 'none', got 'opn'
    """

    box: Literal["last", "first"] = "last"
    think: Literal["auto", "open", "none"] = "auto"
    grade_timeout: float | None = None
    grade_budget: float | None = None

    def __post_init__(self) -> None:
        from mathattempt_env.errors import ConfigError

        if self.box not in ("first", "last"):
            raise ConfigError(f"box: expected 'first' or 'last', got {self.box!r}")
        if self.think not in ("auto", "open", "none"):
            raise ConfigError(f"think: expected 'auto', 'open' or 'none', got {self.think!r}")
        for name in ("grade_timeout", "grade_budget"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
            ):
                raise ConfigError(f"{name}: expected seconds > 0 or None, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """The env options that rebuild this config (``None`` values left out)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    @classmethod
    def from_dict(cls, options: Mapping[str, Any] | None, *, strict: bool = True) -> GradingConfig:
        """The config in ``options``.

        With ``strict=False``, other keys (an env's other options, ``attempts`` and the like)
        are ignored; otherwise they are an error.
        """
        from mathattempt_env.errors import unknown_name

        names = [f.name for f in fields(cls)]
        options = dict(options or {})
        extra = [key for key in options if key not in names]
        if extra and strict:
            raise unknown_name("grading option", extra[0], names)
        return cls(**{key: value for key, value in options.items() if key in names})


#: What a step did: ``"reset"`` (the info ``reset`` returns), ``"answer"`` (a graded attempt
#: or solution), ``"tool"`` (a tool call ran; nothing was graded), ``"verify"`` (an S²R
#: self-verification, judged) or ``"trajectory"`` (a whole S²R generation, every action in it
#: judged).
StepKind = Literal["reset", "answer", "tool", "verify", "trajectory"]


class _StepInfoKeys(TypedDict):
    """The keys every :class:`StepInfo` has."""

    kind: StepKind
    problem_id: str
    index: int
    source: str
    messages: list[dict[str, str]]
    attempt: int
    attempts: int
    attempts_left: int
    length_used: int
    grade: Grade | None
    correct: bool
    cut: bool
    grade_timed_out: bool
    reward_components: dict[str, float]
    records: tuple[ActionRecord, ...]
    actions: list[dict[str, Any]]
    action_rewards: tuple[float, ...]
    tool: dict[str, Any]
    tool_calls: int
    sandbox_errors: int


class StepInfo(_StepInfoKeys, total=False):
    """The ``info`` dict of every env id's ``reset`` and ``step``: the same keys everywhere.

    Gymnasium keeps ``info`` a dict; this is its declared shape. Consumers read ``kind`` to
    tell a step's kind, never a key's presence. The keys marked optional depend on the data or
    the configuration, not on the env id: they are left out rather than ``None`` so that
    Gymnasium's vector envs can batch them (with a mask).

    Keys:
        kind: the :data:`StepKind` of this step.
        problem_id, index, source: the episode's problem (``index`` -1 for one given in
            ``reset`` options).
        messages: the whole conversation as role/content dicts (a new list each step).
        attempt: solutions graded so far; attempts: the episode's budget of them;
            attempts_left: the budget minus ``attempt``.
        length_used: what the episode's responses used, in the budget's unit.
        grade: the :class:`Grade` of this step's (last) solution, ``None`` when the step
            graded none; correct: ``grade.correct`` (``False`` without a grade).
        cut: a length budget (the env's or the producer's) cut this step's text.
        grade_timed_out: a grade of this step ran out of time and scored as wrong.
        reward_components: this step's reward, by component (``{}`` at reset).
        records: every :class:`ActionRecord` of the episode.
        actions: one dict per record: ``type``, ``span``, its reward under the env's scheme,
            S²R's reward-context key, and ``correct``/``extracted`` (solves) or ``verdict``,
            ``target_correct``, ``verdict_correct`` (verifications).
        action_rewards: this step's reward per new action (what per-action credit uses).
        tool: this step's tool call (``code``, ``status``, ``output``, ``infrastructure_error``
            and the sandbox's report), ``{}`` when the step called none.
        tool_calls: tool calls in the current (or just graded) attempt.
        sandbox_errors: the env's tool infrastructure failures so far (never a reward).
        length_left: (optional) what the next response may use; left out without a limit.
        level, subject: (optional) the problem's, when the data has them.
        s2r_metrics: (optional) S²R envs, at the episode's end: :func:`~mathattempt_env.
            rewards.s2r_metrics` of its actions.

    Examples:
        >>> import gymnasium as gym, mathattempt_env
        >>> _, info = gym.make("S2RMath-v0").reset(seed=0)
        >>> info["kind"], StepInfo.__required_keys__ <= set(info)
        ('reset', True)
        >>> sorted(StepInfo.__optional_keys__)
        ['length_left', 'level', 's2r_metrics', 'subject']
    """

    length_left: int
    level: int
    subject: str
    s2r_metrics: dict[str, float | None]
