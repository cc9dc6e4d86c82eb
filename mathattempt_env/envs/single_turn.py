r"""``SingleTurnMath-v0``: one answer per problem (the DeepSeek-R1-style task)."""

from __future__ import annotations

from mathattempt_env.envs.answer import AnswerEnv


class SingleTurnMathEnv(AnswerEnv):
    r"""Single-turn question answering: one response, graded, then the episode ends.

    ## Description
    The policy sees a system prompt ("Please reason step by step, and put your final answer
    within \boxed{}.") and a problem, and answers once. It shares the multi-attempt env's
    answering step (:class:`~mathattempt_env.envs.answer.AnswerEnv`) with a budget of one
    attempt, so grading, budgets and info are the same. ``ToolMath-v0`` is this env
    registered with ``tool="python"`` and the ``"tir"`` prompt.

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

    ## Info
    A :class:`~mathattempt_env.types.StepInfo`, as every env's (``attempts`` is 1).

    ## Arguments
    ``prompt`` (default ``"step-by-step"``) and the shared arguments of
    :class:`~mathattempt_env.envs.base.MathEnv` (``tool`` among them).

    ## Version History
    - v0: initial release.

    Examples:
        >>> env = SingleTurnMathEnv(reward="binary")
        >>> obs, info = env.reset(seed=3)
        >>> env.step("I am not sure.")[1:4]
        (0.0, True, False)
    """

    default_prompt = "step-by-step"
