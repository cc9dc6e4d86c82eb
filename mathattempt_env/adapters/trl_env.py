r"""TRL ``GRPOTrainer(environment_factory=...)``: an env's episodes as tool calls.

:func:`environment_factory` returns a class TRL can instantiate with no arguments. TRL calls
``reset(**row)`` before each rollout (the returned text opens the user turn) and exposes
every other public method as a tool the model may call:

- ``submit_answer(answer)``: grades one attempt, as the env's step grades ``\boxed{answer}``,
  and returns the env's feedback (the paper's "incorrect, try again" message between
  attempts). In this protocol an answer is always formatted: the tool call is the format.
- ``run_python(code)`` (envs with ``tool="python"``, such as ``ToolMath-v0``) or
  ``calculate(expressions)`` (``tool="calculator"``): runs the code in the env's sandbox
  (or the calculator) and returns its output.

``get_reward()`` is the episode's return under the env's reward scheme. A rollout that ends
before the episode does (the model stopped calling ``submit_answer``) has its remaining
attempts scored as empty answers: no answer, the scheme's reward for that.

The episodes run in-process, or on an episode server (``env_url=``, see
:mod:`mathattempt_env.serve`): the same class, the same rewards. Use
:func:`environment_dataset` for the trainer's dataset: one row per problem, with the
problem's ``index`` so that a GRPO group (copies of a row) plays the same problem.

S²R's protocol is a text trajectory (solve, verify, correct in one turn); train it with
:func:`mathattempt_env.adapters.trl.make_rollout_func` instead.

Needs the ``trl`` extra (and ``serve`` for ``env_url``).

Examples:
    >>> Env = environment_factory("MultiAttemptMath-v0", attempts=2)
    >>> env = Env()
    >>> print(env.reset(index=0).splitlines()[-1])
    Submit each answer with the submit_answer tool.
    >>> env.submit_answer("-1")
    'Your answer is incorrect. You have 1 attempts left. Try an alternative.'
    >>> env.submit_answer("nothing"), env.get_reward()
    ('The episode is over.', -0.5)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.envs.s2r import S2RMathEnv
from mathattempt_env.envs.surface import surface
from mathattempt_env.errors import ConfigError

#: What ``reset`` adds to the env's opening text: how to answer in this protocol.
ANSWER_NOTE = "Submit each answer with the submit_answer tool."

#: What a tool returns once the episode has ended.
OVER = "The episode is over."


class _EpisodeTools:
    """The shared machinery of the classes :func:`environment_factory` makes."""

    config: ClassVar[EnvConfig]
    env_url: ClassVar[str | None] = None
    token: ClassVar[str | None] = None
    seed: ClassVar[int] = 0
    fence: ClassVar[str] = ""
    _ids: ClassVar[dict[str, int] | None] = None
    _made: ClassVar[int] = 0

    def __init__(self) -> None:
        cls = type(self)
        if self.env_url is not None:
            from mathattempt_env.serve.client import RemoteEnv

            self._env: Any = RemoteEnv(self.env_url, self.config, token=self.token)
        else:
            self._env = self.config.make()
        # Each instance draws its own reset seeds, from the class seed and its number.
        self._rng = np.random.default_rng([cls.seed, cls._made])
        cls._made += 1
        self._return = 0.0
        self._done = True

    def reset(self, **row: Any) -> str:
        """Start an episode on the row's problem (``index`` or ``problem_id``)."""
        options: dict[str, Any] = {}
        if row.get("index") is not None:
            options["index"] = int(row["index"])
        elif row.get("problem_id") is not None:
            options["index"] = self._index_of(str(row["problem_id"]))
        seed = int(self._rng.integers(2**31))
        observation, _ = self._env.reset(seed=seed, options=options)
        self._return, self._done = 0.0, False
        return f"{observation}\n\n{ANSWER_NOTE}"

    def get_reward(self) -> float:
        """The episode's return; a rollout that stopped early answers nothing to the end."""
        for _ in range(1000):  # an attempt budget is far below this
            if self._done:
                break
            self._step("")
        return self._return

    def _step(self, text: str) -> tuple[str, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self._env.step(text)
        self._return += float(reward)
        self._done = bool(terminated or truncated)
        return str(observation), info

    def _answer(self, answer: str) -> str:
        if self._done:
            return OVER
        text = answer if "\\boxed" in answer else f"\\boxed{{{answer}}}"
        observation, _ = self._step(text)
        return OVER if self._done else observation

    def _tool(self, code: str) -> str:
        if self._done:
            return OVER
        observation, info = self._step(f"```{self.fence}\n{code}\n```\n```output")
        if info["kind"] != "tool":  # not read as a call (e.g. empty code): graded as an attempt
            return OVER if self._done else observation
        return str(info["tool"].get("output", observation)).strip()

    def _index_of(self, problem_id: str) -> int:
        cls = type(self)
        if cls._ids is None:
            cls._ids = {p.id: i for i, p in enumerate(surface(self._env).problems)}
        if problem_id not in cls._ids:
            raise ConfigError(
                f"problem_id {problem_id!r}: not in the env's dataset; build the trainer's "
                "dataset with environment_dataset() from the same env arguments"
            )
        return cls._ids[problem_id]


class AnswerTools(_EpisodeTools):
    """An episode whose attempts the model submits with a tool."""

    def submit_answer(self, answer: str) -> str:
        """Submit your final answer to the problem; it is checked at once.

        Args:
            answer: the final answer alone, in LaTeX (for example 42, \\frac{1}{2} or 2\\sqrt{3}).

        Returns:
            Whether it is correct and how many attempts are left.
        """
        return self._answer(answer)


class PythonTools(AnswerTools):
    """An episode with a Python sandbox."""

    fence = "python"

    def run_python(self, code: str) -> str:
        """Run Python code in a sandbox and return what it prints.

        Args:
            code: a Python program; print the values you need.

        Returns:
            The program's output, or the last line of its error.
        """
        return self._tool(code)


class CalculatorTools(AnswerTools):
    """An episode with an exact calculator."""

    fence = "calculator"

    def calculate(self, expressions: str) -> str:
        """Evaluate arithmetic exactly (fractions stay fractions), one expression per line.

        Args:
            expressions: expressions such as 1/3 + 1/6 or factorial(10) % 7, one per line.

        Returns:
            Each line's value.
        """
        return self._tool(expressions)


_BY_TOOL: dict[str | None, type[AnswerTools]] = {
    None: AnswerTools, "python": PythonTools, "calculator": CalculatorTools,
}  # fmt: skip


def environment_factory(
    env_id: str = "MultiAttemptMath-v0",
    *,
    env_url: str | None = None,
    token: str | None = None,
    seed: int = 0,
    **env_kwargs: Any,
) -> type[AnswerTools]:
    """A class for ``GRPOTrainer(environment_factory=...)`` playing ``env_id``.

    Args:
        env_id: ``"MultiAttemptMath-v0"``, ``"SingleTurnMath-v0"``, ``"ToolMath-v0"`` (not
            S²R: see the module docstring).
        env_url: an episode server serving the same env id and options (``mathattempt
            serve``); ``None`` plays in-process.
        token: that server's bearer token.
        seed: seeds the instances' reset seeds (attempt budgets drawn per episode).
        **env_kwargs: the env's options (``attempts=(1, 5)``, ``reward=...``, ``dataset=...``).

    Returns:
        A subclass of :class:`AnswerTools` (with ``run_python`` or ``calculate`` when the env
        has that tool), constructible with no arguments.

    Raises:
        ConfigError: an unknown id or option, or an S²R env.
    """
    config = EnvConfig.parse(env_id, env_kwargs, where="environment_factory")
    probe = config.make()
    try:
        if isinstance(probe.unwrapped, S2RMathEnv):
            raise ConfigError(
                f"{env_id}: S²R episodes are text trajectories; train them with "
                "make_rollout_func (GRPOTrainer(rollout_func=...))"
            )
        tool = probe.spec.kwargs.get("tool")
    finally:
        probe.close()
    base = _BY_TOOL[tool]
    name = "".join(part for part in env_id.split("-")[0].split("_")) + "Tools"
    attributes = {"config": config, "env_url": env_url, "token": token, "seed": seed}
    return type(name, (base,), attributes)


def environment_dataset(
    env_id: str = "MultiAttemptMath-v0", *, limit: int | None = None, **env_kwargs: Any
) -> Any:
    """The trainer's dataset for :func:`environment_factory`: one row per problem.

    Columns: ``index`` (what ``reset`` plays) and ``problem_id``. TRL's prompt is left to
    ``reset``, which returns the env's opening text.

    Examples:
        >>> rows = environment_dataset("MultiAttemptMath-v0", limit=3)
        >>> rows.column_names, rows[2]
        (['index', 'problem_id'], {'index': 2, 'problem_id': 'builtin-0-2'})
    """
    from datasets import Dataset

    env = EnvConfig.parse(env_id, env_kwargs, where="environment_dataset").make()
    try:
        problems = surface(env).problems
        count = len(problems) if limit is None else min(limit, len(problems))
        return Dataset.from_dict(
            {"index": list(range(count)), "problem_id": [problems[i].id for i in range(count)]}
        )
    finally:
        env.close()
