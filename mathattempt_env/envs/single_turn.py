r"""``SingleTurnMath-v0``: one answer per problem (the DeepSeek-R1-style task)."""

from __future__ import annotations

from typing import Any

from mathattempt_env.envs.multi_attempt import MultiAttemptMathEnv
from mathattempt_env.prompts import PromptTemplate


class SingleTurnMathEnv(MultiAttemptMathEnv):
    r"""Single-turn question answering: one response, graded, then the episode ends.

    ## Description
    The policy sees a system prompt ("Please reason step by step, and put your final answer
    within \boxed{}.") and a problem, and answers once. It is the multi-attempt environment
    with a budget of one attempt, so grading, budgets and info are the same.

    ## Action Space
    :class:`~mathattempt_env.envs.spaces.UnicodeText` of up to 1,000,000 characters.

    ## Observation Space
    :class:`~mathattempt_env.envs.spaces.UnicodeText` of up to 65,536 characters: the prompt
    at reset, ``""`` after the step. ``info["messages"]`` holds the chat messages.

    ## Rewards
    Default ``"paper"`` (the paper's single-turn baseline): +1 correct, -0.5 boxed but wrong,
    -1 no box. ``reward="binary"`` gives 1 / 0.

    ## Starting State
    A problem drawn uniformly with the env's RNG; ``reset(options={"index": i})`` fixes it;
    ``reset(options={"problem": {"problem": ..., "answer": ...}})`` poses a problem from outside
    the dataset (a trainer's row), validated like a dataset row.

    ## Episode End
    After the one step: terminated, or truncated if a length budget cut the response and it
    was not correct.

    ## Arguments
    ``prompt`` (default ``"step-by-step"``) and the shared arguments of
    :class:`~mathattempt_env.envs.base.MathEnv`.

    ## Version History
    - v0: initial release.

    Example:
        >>> env = SingleTurnMathEnv(reward="binary")
        >>> obs, info = env.reset(seed=3)
        >>> env.step("I am not sure.")[1:4]
        (0.0, True, False)
    """

    default_prompt = "step-by-step"
    default_attempts = 1

    def __init__(self, prompt: str | PromptTemplate | None = None, **kwargs: Any) -> None:
        super().__init__(attempts=1, prompt=prompt, **kwargs)

    def option_names(self) -> tuple[str, ...]:
        """The keys ``reset(options=...)`` accepts."""
        return tuple(name for name in super().option_names() if name != "attempts")
