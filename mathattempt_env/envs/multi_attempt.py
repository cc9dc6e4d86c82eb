r"""``MultiAttemptMath-v0``: answer within an attempt budget, told "incorrect" after each miss."""

from __future__ import annotations

import dataclasses
from typing import Any

from mathattempt_env.envs.base import MathEnv, attempt_range, draw_attempts
from mathattempt_env.envs.tool import PythonTool, ToolCall
from mathattempt_env.errors import ConfigError
from mathattempt_env.prompts import (
    FeedbackTemplate,
    Message,
    PromptTemplate,
    get_feedback,
    get_prompt,
)
from mathattempt_env.prompts.tools import ToolFormat
from mathattempt_env.types import ActionRecord, Problem


class MultiAttemptMathEnv(MathEnv):
    r"""Multi-attempt question answering, as in "Learning from Failures in Multi-Attempt RL".

    ## Description
    The policy answers a math problem. A wrong or unboxed answer costs an attempt and is met
    with the published feedback turn ("Your answer is incorrect. You have 2 attempts left.
    Try an alternative."); the policy then answers again. The episode ends at the first
    correct answer or when the attempts run out. The system prompt states the budget.

    ## Action Space
    :class:`~mathattempt_env.envs.spaces.UnicodeText`: one attempt, any string of up to
    1,000,000 characters (longer ones are cut). The last complete ``\boxed{}`` is graded
    (``box="first"``: the first). Model output never raises; unreadable text is wrong.

    ## Observation Space
    :class:`~mathattempt_env.envs.spaces.UnicodeText` of up to 65,536 characters: the text
    the policy must answer next. At reset, the system prompt and the question joined by a
    blank line; after a wrong attempt, the feedback turn(s); ``""`` once the episode ends.
    ``info["messages"]`` holds the whole conversation as role/content dicts for a chat
    template; :class:`~mathattempt_env.wrappers.ConversationObservation` makes it the
    observation. The gold answer never appears in any observation or message.

    ## Rewards
    Default ``"paper"``: on the final step +1 if any attempt was correct, -0.5 if none was
    but one had a boxed answer, -1 otherwise; 0 on earlier steps. Any scheme from
    :data:`mathattempt_env.rewards.REWARDS` can be used (``reward="per-attempt"``, ...).

    ## Starting State
    A problem drawn uniformly from the dataset with the env's RNG, and an attempt budget drawn
    uniformly from ``attempts``. ``reset(options={"index": i, "attempts": k})`` fixes either;
    ``options={"problem": {"problem": ..., "answer": ...}}`` poses a problem from outside the
    dataset (a trainer's row), validated like a dataset row.

    ## Episode End
    - terminated: an attempt is correct, or the attempts are used up;
    - truncated: the episode ends because a length budget cut the last response (a cut
      attempt with attempts and budget left is graded and the episode goes on).

    ## Info
    ``problem_id``, ``attempt`` (attempts made), ``attempts`` (the budget),
    ``attempts_left``, ``grade`` (the :class:`~mathattempt_env.types.Grade` of this
    attempt), ``correct``, ``reward_components``, ``records``, ``cut``, ``messages``,
    ``length_used``, ``grade_timed_out`` (a grade of this step ran out of time; it scored as
    wrong).

    ## Arguments
    ``attempts`` (int or ``(min, max)``, default ``(1, 5)``); ``prompt`` (``"multi-attempt"``
    or ``"repeat-question"``, or a :class:`~mathattempt_env.prompts.PromptTemplate`);
    ``feedback`` (``"binary"``, ``"none"``, ``"answer"``, ``"repeat-question"``, or a
    template; default: the prompt's own); ``feedback_role`` (default: the template's,
    ``"system"``); the Python tool (see ``ToolMath-v0``): ``tool`` (``None`` or
    ``"python"``), ``tool_format``, ``max_tool_calls``, ``tool_replay``, ``isolation``,
    ``sandbox_url`` and ``sandbox_options``; and the shared arguments of
    :class:`~mathattempt_env.envs.base.MathEnv`:
    ``dataset``, ``reward``, ``max_response_length``, ``max_total_length``, ``length_fn``,
    ``data_dir``, ``grade_timeout``, ``grade_budget``, ``box``, ``think``, ``render_mode``.

    ## Version History
    - v0: initial release; the published prompt and feedback strings.

    Example:
        >>> env = MultiAttemptMathEnv(attempts=2)
        >>> obs, info = env.reset(seed=0, options={"index": 8})
        >>> obs.startswith("Please reason step by step") and info["attempts_left"]
        2
        >>> obs, reward, terminated, truncated, info = env.step(r"\boxed{0}")
        >>> obs
        'Your answer is incorrect. You have 1 attempts left. Try an alternative.'
        >>> gold = env.problem.answer
        >>> env.step(rf"So it is \boxed{{{gold}}}.")[1:4]
        (1.0, True, False)
    """

    default_prompt = "multi-attempt"
    default_attempts: int | tuple[int, int] = (1, 5)

    def __init__(
        self,
        attempts: int | tuple[int, int] | None = None,
        prompt: str | PromptTemplate | None = None,
        feedback: str | FeedbackTemplate | None = None,
        feedback_role: str | None = None,
        tool: str | None = None,
        tool_format: str | ToolFormat = "qwen-tir",
        isolation: str = "auto",
        max_tool_calls: int | None = None,
        tool_replay: bool | None = None,
        sandbox_url: str | None = None,
        sandbox_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if tool not in (None, "python"):
            raise ConfigError(f"tool: expected None or 'python', got {tool!r}")
        self.tool = (
            PythonTool(
                tool_format,
                isolation=isolation,
                max_calls=max_tool_calls,
                replay=tool_replay,
                sandbox_url=sandbox_url,
                sandbox_options=sandbox_options,
            )  # fmt: skip
            if tool == "python"
            else None
        )
        self._turn = ""  # the current attempt's text so far: model text and tool outputs
        self._calls: list[ToolCall] = []
        self.attempt_range = attempt_range(self.default_attempts if attempts is None else attempts)
        self.prompt = get_prompt(self.default_prompt if prompt is None else prompt)
        template = get_feedback(self.prompt.feedback if feedback is None else feedback)
        if feedback_role is not None:
            template = dataclasses.replace(template, role=feedback_role)
        if "{critique}" in template.text:
            raise ConfigError(
                f"feedback {template.name!r} quotes a verifier's critique, which this env has"
                " none of; use it with mathattempt_env.multiagent.solver_verifier_v0"
            )
        self.feedback = template
        self.attempts = self.attempt_range[0]  # the current episode's budget, set by reset()

    def option_names(self) -> tuple[str, ...]:
        """The keys ``reset(options=...)`` accepts."""
        return (*super().option_names(), "attempts")

    def _opening(self, problem: Problem, options: dict[str, Any]) -> list[Message]:
        self._turn, self._calls = "", []
        self.attempts = draw_attempts(self.attempt_range, options, self.np_random)
        return self.prompt.messages(problem.problem, attempts=self.attempts)

    def _info(self, **extra: Any) -> dict[str, Any]:
        made = len(self.records)
        return super()._info(
            attempt=made, attempts=self.attempts, attempts_left=self.attempts - made, **extra
        )

    def _tool_step(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """Run a tool call the attempt so far makes; ``None`` when it makes none."""
        assert self.tool is not None
        call = self.tool.respond(self._turn + text, self._calls)
        if call is None:
            return None
        self._calls.append(call)
        self._turn += text + call.shown
        self.used += self.budget.length_fn(call.shown)  # tool output counts, as in the anchors
        if len(self._calls) > 1:
            self.messages.pop()  # the turn so far, replaced by its longer version
        self.messages.append({"role": "assistant", "content": self._turn})
        info = {**call.info, "call": len(self._calls)}
        return call.shown, info

    def _tool_info(self) -> dict[str, Any]:
        if self.tool is None:
            return {}
        return {"tool_calls": len(self._calls), "sandbox_errors": self.tool.infrastructure_errors}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Grade one attempt; give feedback or end the episode. See the class docstring."""
        text, cut = self._accept(action)
        if self.tool is not None:
            called = None if cut else self._tool_step(text)
            if called is not None and not self.budget.exhausted(self.used):
                observation, call = called
                info = self._info(
                    tool=call, correct=False, cut=False, records=tuple(self.records),
                    **self._tool_info(),
                )  # fmt: skip
                return observation, 0.0, False, False, info
            if called is not None:  # the tool output spent the budget: the attempt ends cut
                text, cut = "", True
            if self._calls:
                self.messages.pop()
            text = self._turn + text
        verdict = self._grade(text)
        failed = bool(self._calls) and bool(self._calls[-1].info.get("failed"))
        self.records.append(
            ActionRecord(
                "solve", verdict, cut=cut, span=(0, len(text)),
                tool_calls=len(self._calls), tool_failed=failed,
            )
        )  # fmt: skip
        self.messages.append({"role": "assistant", "content": text})
        tool_info = self._tool_info()
        self._turn, self._calls = "", []
        left = self.attempts - len(self.records)
        out_of_room = self.budget.exhausted(self.used) or cut and left == 0
        terminated = verdict.correct or (left == 0 and not out_of_room)
        truncated = not verdict.correct and out_of_room
        done = terminated or truncated
        breakdown = self._score(1, final=done, truncated=truncated)
        observation = ""
        if done:
            self._end(
                "solved" if verdict.correct else "budget spent" if truncated else "no attempts left"
            )
        else:
            turns = self.feedback.messages(
                attempts_left=left, answer=verdict.extracted, question=self.problem.problem
            )
            self.messages.extend(turns)
            observation = self._observe(turns)
        info = self._info(
            grade=verdict,
            correct=verdict.correct,
            cut=cut,
            reward_components=dict(breakdown.components),
            records=tuple(self.records),
            **tool_info,
        )
        return observation, breakdown.reward, terminated, truncated, info
