r"""``ToolMath-v0``: one answer per problem, with a Python tool (tool-integrated reasoning)."""

from __future__ import annotations

from typing import Any

from mathattempt_env.envs.single_turn import SingleTurnMathEnv
from mathattempt_env.prompts import PromptTemplate


class ToolMathEnv(SingleTurnMathEnv):
    r"""Tool-integrated reasoning: the model writes Python while it reasons; the env runs it.

    ## Description
    The seed recipe of RUC/BAAI's "code while thinking" and its RL follow-ups (CIR, ToRL): the
    single-turn task with a Python tool. The protocol is Qwen2.5-Math's (``tool_format=
    "qwen-tir"``): a step whose text ends at ``"```output"`` (or whose last closed python
    block has no boxed answer after it) is a tool call. The env runs the last closed python
    block in the sandbox (:mod:`mathattempt_env.sandbox`) and answers with the output block
    (stdout, or the last line of a traceback; 400 characters at most; when the step ends with
    the ``"```output"`` it stopped at, only the rest of the block: ``"\n42\n```\n"``), and the
    model goes on in the same turn. At most 4 calls (``max_tool_calls``), then "Reach max
    function call limit."; 5 s per call; each call stateless. The step without a call ends
    the attempt, which is graded on the whole turn.

    ## Action Space
    :class:`~mathattempt_env.envs.spaces.UnicodeText` of up to 1,000,000 characters.

    ## Observation Space
    The prompt at reset, the output block after a tool call, ``""`` at the end.

    ## Rewards
    A tool call earns 0 and consumes no attempt; the attempt is scored as in
    ``SingleTurnMath-v0`` (default ``"paper"``: +1 / -0.5 / -1).

    ## Starting State, Episode End
    As in ``SingleTurnMath-v0``. Tool output counts toward ``max_total_length``.

    ## Info
    After a tool call, ``info["tool"]``: ``code``, ``status`` (``ok``, ``error``, ``timeout``,
    ``killed``, ``output-flood``, ``over-budget`` or ``sandbox-error``), ``output``, ``cut``,
    ``wall_s``, ``cpu_s``, the isolation ``layers`` in force, ``bounds`` (what held the
    call's memory, processes and files), ``failed`` (the code ran and failed: an error, a
    timeout, a signal or a flood, all the model's; ``tool-error-penalty`` counts them), and
    ``infrastructure_error`` (the sandbox failed before the code ran: reported and counted in
    ``info["sandbox_errors"]``, never a reward).

    ## Arguments
    ``prompt`` (default ``"tir"``), ``tool_format``, ``max_tool_calls``, ``tool_replay``
    (``True``: Qwen's executor, which runs the attempt's earlier successful blocks before a
    new one so variables persist; default stateless), ``isolation`` (``"auto"``: every layer
    available; refuse without one for the files and one for the network; ``"none"``: no
    sandbox, only when asked for), ``sandbox_url`` (a SandboxFusion-compatible ``run_code``
    endpoint instead of the local sandbox) with ``sandbox_options`` (``rate``,
    ``concurrency``, ``retries``, ... of :class:`~mathattempt_env.sandbox.RemoteSandbox`), and
    the shared arguments of
    :class:`~mathattempt_env.envs.base.MathEnv`.

    ## Version History
    - v0: initial release.

    Example:
        >>> env = ToolMathEnv()
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(
        ...     "Let me compute.\n```python\nprint(6 * 7)\n```\n```output")
        >>> obs, reward, terminated, info["tool"]["status"]
        ('\n42\n```\n', 0.0, False, 'ok')
    """

    default_prompt = "tir"

    def __init__(
        self, prompt: str | PromptTemplate | None = None, tool: str | None = "python", **kwargs: Any
    ) -> None:
        super().__init__(prompt=prompt, tool=tool, **kwargs)
