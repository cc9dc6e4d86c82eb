r"""``S2RMath-v0``: solve, self-verify and self-correct (S²R), in trajectory or interactive mode."""

from __future__ import annotations

import dataclasses
from typing import Any

from mathattempt_env.envs.actions import describe
from mathattempt_env.envs.base import MathEnv, attempt_range, draw_attempts
from mathattempt_env.errors import ConfigError
from mathattempt_env.prompts import Message, S2RFormat
from mathattempt_env.rewards import s2r_metrics
from mathattempt_env.types import ActionRecord, Problem, StepKind

__all__ = ["S2RMathEnv", "describe"]


class S2RMathEnv(MathEnv):
    r"""S²R: a model solves, verifies its own solution, and corrects itself.

    ## Description
    ``mode="trajectory"`` (default), as in S²R's RL: one step receives a whole generation
    s1, v1, s2, v2, ... . It is split at the delimiters (``"\n\nWait, let me recheck my
    solution.\n\n"`` opens a verification, ``"\n\nLet me try again.\n\n"`` a new solution;
    see :class:`~mathattempt_env.prompts.S2RFormat`). Every solve is graded; every
    verification's verdict ("Therefore, the answer is correct." / "... incorrect.") is judged
    against the true correctness of the solve before it. A verdict that cannot be read is
    ``"unparseable"`` and earns -1, never a default.

    ``mode="interactive"``: the environment asks for a solution, then asks the model to verify
    it, then, if the model does not say "correct", asks it to try again (the prompts are this
    package's own; the paper has no interactive mode).

    ## Action Space
    :class:`~mathattempt_env.envs.spaces.UnicodeText` of up to 1,000,000 characters.

    ## Observation Space
    :class:`~mathattempt_env.envs.spaces.UnicodeText` of up to 65,536 characters: the prompt
    at reset, the environment's request in interactive mode, ``""`` at the end.

    ## Rewards
    Trajectory mode, default ``"s2r-outcome"``: +1 if the last solution is correct, else -1.
    Interactive mode, default ``"s2r-process"``: each step earns its action's process
    reward (a solve ±1 by correctness, a verify ±1 by whether its verdict is right).
    ``info["actions"]`` lists every action's reward under the configured scheme (an outcome
    scheme pays on the last action) and its reward-context key from the actions'
    correctness (e.g. ``R1V-1R-1``); under ``"s2r-process"`` a response cut by the length
    budget gets -1 on its last action.

    ## Starting State
    A problem drawn uniformly with the env's RNG; ``reset(options={"index": i})`` fixes it;
    ``options={"problem": {"problem": ..., "answer": ...}}`` poses one from outside the dataset.
    Interactive mode also draws the attempt budget uniformly from ``attempts``;
    ``options={"attempts": k}`` fixes it.

    ## Episode End
    - trajectory: after the one step; truncated if the length budget cut the generation;
    - interactive: terminated when a verification says "correct" or after ``attempts``
      solutions; truncated when the length budget runs out first.

    ## Info
    A :class:`~mathattempt_env.types.StepInfo`, as every env's. ``kind`` is
    ``"trajectory"`` (trajectory mode), ``"answer"`` or ``"verify"`` (interactive), or
    ``"tool"``; ``actions`` describes every solve and verify with its reward and context
    key; ``grade`` is the last solve's; at the end, ``s2r_metrics`` (see
    :func:`mathattempt_env.rewards.s2r_metrics`, which also aggregates many episodes).
    Trajectory mode counts one generation: ``attempts`` is 1.

    ## Arguments
    ``mode``, ``attempts`` (interactive: the most solutions, an int or ``(min, max)``,
    default 4), ``format`` (an
    :class:`~mathattempt_env.prompts.S2RFormat`), and the shared arguments of
    :class:`~mathattempt_env.envs.base.MathEnv`, ``tool`` included: with ``tool="python"``
    the generation may run code while it solves and verifies (S²R with a tool).

    ## Version History
    - v0: initial release.

    Examples:
        >>> env = S2RMathEnv()
        >>> _ = env.reset(seed=0, options={"index": 8})
        >>> gold = env.problem.answer
        >>> text = (r"\boxed{0}" + "\n\nWait, let me recheck my solution.\n\n"
        ...         "Therefore, the answer is incorrect." + "\n\nLet me try again.\n\n"
        ...         rf"\boxed{{{gold}}}" + "\n\nWait, let me recheck my solution.\n\n"
        ...         "Therefore, the answer is correct.")
        >>> obs, reward, terminated, truncated, info = env.step(text)
        >>> reward, [a["context"] for a in info["actions"]]
        (1.0, ['', 'R-1', 'R-1V1', 'R-1V1R1'])
    """

    def __init__(
        self,
        mode: str = "trajectory",
        attempts: int | tuple[int, int] = 4,
        format: S2RFormat | None = None,
        **kwargs: Any,
    ) -> None:
        if mode not in ("trajectory", "interactive"):
            raise ConfigError(f"mode: expected 'trajectory' or 'interactive', got {mode!r}")
        self.mode = mode
        self.default_reward = "s2r-outcome" if mode == "trajectory" else "s2r-process"
        super().__init__(**kwargs)
        self.attempt_range = attempt_range(attempts)
        self.attempts = self.attempt_range[0]  # the current episode's budget, set by reset()
        if format is not None and not isinstance(format, S2RFormat):
            raise ConfigError(f"format: expected an S2RFormat, got {format!r}")
        self.format = format or S2RFormat()

    def option_names(self) -> tuple[str, ...]:
        """The keys ``reset(options=...)`` accepts (``attempts`` in interactive mode)."""
        names = super().option_names()
        return (*names, "attempts") if self.mode == "interactive" else names

    def _opening(self, problem: Problem, options: dict[str, Any]) -> list[Message]:
        if self.mode == "interactive":
            self.attempts = draw_attempts(self.attempt_range, options, self.np_random)
        return self.pose(problem.problem)

    def pose(self, question: str) -> list[Message]:
        """The system prompt and the question (see :class:`~mathattempt_env.envs.MathEnv`)."""
        return [
            {"role": "system", "content": self.format.system},
            {"role": "user", "content": question},
        ]

    def _next_kind(self) -> str:
        """Interactive mode: a verify follows a solve; otherwise a solve comes next."""
        return "verify" if self.records and self.records[-1].kind == "solve" else "solve"

    def _solves(self) -> list[ActionRecord]:
        return [r for r in self.records if r.kind == "solve"]

    def attempt_counts(self) -> tuple[int, int, int]:
        """Solutions graded, the budget, what is left (trajectory mode: one generation)."""
        made = len(self._solves())
        if self.mode == "interactive":
            return made, self.attempts, max(self.attempts - made, 0)
        return made, 1, int(not self.records)

    def _record(self, kind: str, text: str, start: int, end: int, cut: bool) -> ActionRecord:
        piece = text[start:end]
        if kind == "solve":
            return ActionRecord("solve", self._grade(piece), cut=cut, span=(start, end))
        previous = self._solves()
        target = previous[-1].correct if previous else None
        verdict = self.format.verdict(piece)
        return ActionRecord("verify", None, verdict, target, cut=cut, span=(start, end))

    def _answer(self, text: str, cut: bool) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Score a trajectory, or one solve / verify turn; see the class docstring."""
        self.messages.append({"role": "assistant", "content": text})
        if self.mode == "trajectory":
            pieces = self.format.split(text) or [("solve", 0, 0)]
            for number, (kind, start, end) in enumerate(pieces, start=1):
                # Only the last action of a cut trajectory was cut.
                self.records.append(
                    self._record(kind, text, start, end, cut and number == len(pieces))
                )
            terminated, truncated = not cut, cut
            new = len(pieces)
            step_kind: StepKind = "trajectory"
        else:
            step_kind = "verify" if self._next_kind() == "verify" else "answer"
            self.records.append(self._record(self._next_kind(), text, 0, len(text), cut))
            new = 1
            last = self.records[-1]
            accepted = last.kind == "verify" and last.verdict == "correct"
            spent = last.kind == "verify" and len(self._solves()) >= self.attempts
            truncated = not accepted and (cut or self.budget.exhausted(self.used))
            terminated = not truncated and (accepted or spent)
        if self._calls:  # the turn's tool use, on its last action (tool-error-penalty reads it)
            self.records[-1] = dataclasses.replace(self.records[-1], **self._tool_fields())
        done = terminated or truncated
        breakdown = self._score(new, final=done, truncated=truncated)
        observation = ""
        if done:
            self._end("budget spent" if truncated else "trajectory graded")
        else:
            verify = self._next_kind() == "verify"
            request = self.format.verify_request if verify else self.format.retry_request
            turn = {"role": self.format.role, "content": request}
            self.messages.append(turn)
            observation = self._observe([turn])
        extra: dict[str, Any] = {}
        if done:
            extra["s2r_metrics"] = s2r_metrics([self.records])
        info = self._judged(step_kind, breakdown, cut=cut, done=done, truncated=truncated, **extra)
        return observation, breakdown.reward, terminated, truncated, info
