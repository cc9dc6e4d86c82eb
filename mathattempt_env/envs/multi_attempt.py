r"""``MultiAttemptMath-v0``: answer within an attempt budget, told "incorrect" after each miss."""

from __future__ import annotations

import dataclasses
from typing import Any

from mathattempt_env.envs.answer import AnswerEnv
from mathattempt_env.envs.base import attempt_range, draw_attempts
from mathattempt_env.errors import ConfigError
from mathattempt_env.prompts import (
    FeedbackTemplate,
    Message,
    PromptTemplate,
    get_feedback,
)
from mathattempt_env.types import Grade, Problem


class MultiAttemptMathEnv(AnswerEnv):
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
    A :class:`~mathattempt_env.types.StepInfo`, as every env's: ``kind`` (``"answer"``, or
    ``"tool"`` for a tool call), ``attempt`` (attempts made), ``attempts`` (the budget),
    ``attempts_left``, ``grade`` (the :class:`~mathattempt_env.types.Grade` of this
    attempt), ``correct``, ``reward_components``, ``records``, ``actions``, ``cut``,
    ``messages``, ``length_used``, ``grade_timed_out`` (a grade of this step ran out of time;
    it scored as wrong), ``tool``, ``tool_calls``, ``sandbox_errors``.

    ## Arguments
    ``attempts`` (int or ``(min, max)``, default ``(1, 5)``); ``prompt`` (``"multi-attempt"``
    or ``"repeat-question"``, or a :class:`~mathattempt_env.prompts.PromptTemplate`);
    ``feedback`` (``"binary"``, ``"none"``, ``"answer"``, ``"repeat-question"``, or a
    template; default: the prompt's own); ``feedback_role`` (default: the template's,
    ``"system"``); and the shared arguments of :class:`~mathattempt_env.envs.base.MathEnv`:
    ``dataset``, ``reward``, ``max_response_length``, ``max_total_length``, ``length_fn``,
    ``data_dir``, ``grade_timeout``, ``grade_budget``, ``box``, ``think``, ``tool`` and
    ``tool_options`` (a tool, e.g. ``tool="python"``, as in ``ToolMath-v0``), ``render_mode``.

    ## Version History
    - v0: initial release; the published prompt and feedback strings.

    Examples:
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

    def __init__(
        self,
        attempts: int | tuple[int, int] = (1, 5),
        prompt: str | PromptTemplate | None = None,
        feedback: str | FeedbackTemplate | None = None,
        feedback_role: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(prompt=prompt, **kwargs)
        self.attempt_range = attempt_range(attempts)
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
        self.attempts = draw_attempts(self.attempt_range, options, self.np_random)
        return self.pose(problem.problem)

    def _feedback(self, attempts_left: int, verdict: Grade) -> list[Message]:
        return self.feedback.messages(
            attempts_left=attempts_left, answer=verdict.extracted, question=self.problem.problem
        )
