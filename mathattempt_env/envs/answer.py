"""The answering envs' shared step: grade a turn, score it, give feedback or end.

:class:`AnswerEnv` is the base of ``SingleTurnMath-v0`` (one attempt) and
``MultiAttemptMath-v0`` (an attempt budget, feedback between attempts); ``ToolMath-v0`` is
the single-turn env registered with ``tool="python"``.
"""

from __future__ import annotations

from typing import Any

from mathattempt_env.envs.base import MathEnv
from mathattempt_env.prompts import Message, PromptTemplate, get_prompt
from mathattempt_env.types import ActionRecord, Grade


class AnswerEnv(MathEnv):
    """An env whose every finished turn is one graded attempt.

    Args:
        prompt: a prompt name or :class:`~mathattempt_env.prompts.PromptTemplate`
            (``None``: the env's ``default_prompt``).
        **kwargs: the shared arguments of :class:`~mathattempt_env.envs.base.MathEnv`.
    """

    default_prompt = "step-by-step"

    def __init__(self, prompt: str | PromptTemplate | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prompt = get_prompt(self.default_prompt if prompt is None else prompt)

    def pose(self, question: str) -> list[Message]:
        """The prompt template's messages for ``question`` and this episode's budget.

        Examples:
            >>> from mathattempt_env.envs import MultiAttemptMathEnv
            >>> env = MultiAttemptMathEnv(attempts=2)
            >>> "2 attempts" in env.pose("What is 2 + 2?")[0]["content"]
            True
        """
        return self.prompt.messages(question, attempts=self.attempts)

    def _feedback(self, attempts_left: int, verdict: Grade) -> list[Message]:
        """The turns that answer a wrong attempt with ``attempts_left`` left."""
        raise NotImplementedError(f"{type(self).__name__} gives no feedback")

    def _answer(self, text: str, cut: bool) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Grade one attempt; give feedback or end the episode. See the class docstring."""
        verdict = self._grade(text)
        self.records.append(
            ActionRecord("solve", verdict, cut=cut, span=(0, len(text)), **self._tool_fields())
        )
        self.messages.append({"role": "assistant", "content": text})
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
            turns = self._feedback(left, verdict)
            self.messages.extend(turns)
            observation = self._observe(turns)
        info = self._judged("answer", breakdown, cut=cut, done=done, truncated=truncated)
        return observation, breakdown.reward, terminated, truncated, info
