"""What the trainer adapters share: making environments and finding a trainer's problem."""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from mathattempt_env.errors import ConfigError
from mathattempt_env.registration import check_env_id
from mathattempt_env.types import Grade, GradingConfig, Problem


def response_of(query: str, prompt: str) -> str:
    """The response in OpenRLHF's ``query`` (prompt + response), without the end-of-turn token.

    Examples:
        >>> response_of("Q: 1+1? A: 2<|im_end|>", "Q: 1+1? A: ")
        '2'
    """
    if query.startswith(prompt):
        text = query[len(prompt) :]
    else:
        marker = "<|im_start|>assistant\n"
        text = query.rsplit(marker, 1)[-1] if marker in query else query
    return text.replace("<|im_end|>", "")


class StepScorer:
    """A single-turn reward built from an env: one real ``reset`` and ``step`` per response.

    So a trainer's reward function grades exactly as one step of that env would: the same
    extraction (``box``, ``think``), time limit and reward scheme, because it *is* that step.
    Each thread steps its own env.

    Args:
        env_id: a registered env id whose first step is graded (default ``SingleTurnMath-v0``).
        **env_options: its options (``reward=``, ``box=``, ``think=``, ``grade_timeout=``...).

    Raises:
        ConfigError: an unknown env id or option.

    Examples:
        >>> score = StepScorer(reward="paper-single")
        >>> score(r"so \\boxed{4}", "4")[0], score(r"\\boxed{5}", "4")[0], score("4", "4")[0]
        (1.0, -0.5, -1.0)
        >>> StepScorer(think="open")(r"so maybe \\boxed{4} ... wait", "4")[0]
        -1.0
    """

    def __init__(self, env_id: str = "SingleTurnMath-v0", **env_options: Any) -> None:
        self.env_id = env_id
        self.env_options = {"dataset": [_PLACEHOLDER], **env_options}
        self._local = threading.local()
        self._env()  # a bad id or option fails here, not at the first reward

    def _env(self) -> Any:
        env = getattr(self._local, "env", None)
        if env is None:
            (env,) = make_envs(self.env_id, 1, self.env_options)
            self._local.env = env
        return env

    def __call__(self, text: str, gold: str, question: str = "") -> tuple[float, Grade]:
        """The reward and grade of ``text`` as the first step of an episode on ``gold``."""
        env = self._env()
        problem = {"id": "reward", "problem": question or "(the trainer's prompt)", "answer": gold}
        env.reset(options={"problem": problem})
        _, reward, _, _, info = env.step(text)
        return float(reward), info["grade"]


_PLACEHOLDER = {"id": "placeholder", "problem": "What is $1+1$?", "answer": "2"}


def shared_scorer(reward: str, env_kwargs: Any = None) -> StepScorer:
    """The single-turn :class:`StepScorer` for a scheme and some grading options, made once.

    ``env_kwargs`` is read by :func:`grading_options`. For reward functions that a trainer
    calls per response (verl, OpenRLHF).

    Examples:
        >>> shared_scorer("paper-single", '{"think": "open"}') is shared_scorer(
        ...     "paper-single", {"think": "open", "attempts": [1, 5]})
        True
    """
    return _scorer(reward, tuple(sorted(grading_options(env_kwargs).items())))


@functools.lru_cache(maxsize=64)
def _scorer(reward: str, options: tuple[tuple[str, Any], ...]) -> StepScorer:
    return StepScorer(reward=reward, **dict(options))


def score_items(items: Sequence[tuple[str, str]], options_json: str) -> list[tuple[float, Grade]]:
    """``(reward, verdict)`` per ``(response, gold)``: one ``SingleTurnMath-v0`` step each.

    The job the grading service and the Ray grading actors send to their worker processes
    (``options_json`` is the env's options as JSON; its scorer is made once per process). It
    lives here, not beside the service, so a worker that unpickles it imports only the envs.

    Examples:
        >>> score_items([(r"so \\boxed{4}", "4"), ("4", "4")], '{"reward": "paper-single"}')[0][0]
        1.0
    """
    scorer = _json_scorer(options_json)
    return [scorer(text, gold) for text, gold in items]


@functools.lru_cache(maxsize=64)
def _json_scorer(options_json: str) -> StepScorer:
    return StepScorer(**json.loads(options_json))


def grading_options(env_kwargs: Any) -> dict[str, Any]:
    """The grading options (:class:`~mathattempt_env.types.GradingConfig`) of an env's options.

    The options are a dict, its JSON text (verl's ``extra_info`` carries it so), or ``None``.
    A single-turn reward takes these from a multi-turn run's options; ``attempts`` and the
    like do not apply to one step.

    Raises:
        ConfigError: a grading option out of range, or text that is not JSON.

    Examples:
        >>> grading_options({"attempts": [1, 5], "think": "open"})
        {'box': 'last', 'think': 'open'}
        >>> grading_options('{"box": "first"}')
        {'box': 'first', 'think': 'auto'}
    """
    if isinstance(env_kwargs, str):
        try:
            env_kwargs = json.loads(env_kwargs)
        except json.JSONDecodeError:
            raise ConfigError(f"env_kwargs: not JSON: {env_kwargs!r}") from None
    if not isinstance(env_kwargs, dict):
        env_kwargs = {}
    return GradingConfig.from_dict(env_kwargs, strict=False).to_dict()


#: The variable that picks :func:`make_envs`'s backend when none is given.
BACKEND_VARIABLE = "MATHATTEMPT_ENV_BACKEND"
BACKENDS = ("local", "ray")


def make_envs(
    env_id: str,
    count: int,
    env_kwargs: dict[str, Any],
    tokenizer: Any = None,
    backend: str | None = None,
) -> list[Any]:
    """``count`` fresh environments of ``env_id``.

    With a ``tokenizer`` the envs measure text in its tokens (so a tool's output counts toward
    the token budget in the model's unit; ``length_unit="tokens"``) and take ``think`` from its
    chat template, as evaluation does; ``length_fn``, ``length_unit="chars"`` or ``think`` in
    ``env_kwargs`` win.

    ``backend`` (default: the ``MATHATTEMPT_ENV_BACKEND`` variable, else ``"local"``):
    ``"local"`` envs step in this process; ``"ray"`` envs
    (:class:`~mathattempt_env.serve.ray_pool.RayEnv`) step in the actors of a Ray env pool,
    with the same episodes. Every trainer adapter makes its envs here, so the variable moves
    them all.

    Examples:
        >>> [env.spec.id for env in make_envs("S2RMath-v0", 2, {})]
        ['S2RMath-v0', 'S2RMath-v0']
    """
    import gymnasium as gym  # the ids are registered by importing mathattempt_env

    check_env_id(env_id)
    if tokenizer is not None:
        from mathattempt_env.rollout.chat import measured_by

        options, local = measured_by(tokenizer, env_kwargs)
        env_kwargs = {**options, **local}
    chosen = backend or os.environ.get(BACKEND_VARIABLE) or "local"
    if chosen not in BACKENDS:
        raise ConfigError(f"env backend: expected one of {BACKENDS}, got {chosen!r}")
    if chosen == "ray":
        from mathattempt_env.envs.config import EnvConfig
        from mathattempt_env.serve.ray_pool import RayEnv

        travels = {k: v for k, v in env_kwargs.items() if _json_value(v) and k != "length_fn"}
        config = EnvConfig(env_id, travels)
        shipped = {k: v for k, v in env_kwargs.items() if k not in travels}
        return [RayEnv(config, shipped) for _ in range(count)]
    return [gym.make(env_id, **env_kwargs) for _ in range(count)]


def _json_value(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def question_of(prompt: Any) -> str:
    """The problem statement in a trainer's prompt: the text, or the last user turn's text.

    Examples:
        >>> question_of([{"role": "system", "content": "Be brief."},
        ...              {"role": "user", "content": "What is 2+2?"}])
        'What is 2+2?'
    """
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence):
        for message in reversed(prompt):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, list):  # typed content blocks
                    content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
                return str(content)
    raise ConfigError(
        f"prompt: expected a string or chat messages with a user turn, got {prompt!r}"
    )


class ProblemIndex:
    """Finds a problem's index in an environment's dataset from a trainer's prompt.

    Args:
        problems: the environment's problems.
        user_turn: how the environment poses a problem in its user turn (a prompt template
            may add an instruction around the statement); default: the statement itself.

    Examples:
        >>> index = ProblemIndex([Problem("a", "What is 2+2?", "4")])
        >>> index.find([{"role": "user", "content": "What is 2+2?"}])
        0
    """

    def __init__(
        self, problems: Sequence[Problem], user_turn: Callable[[str], str] | None = None
    ) -> None:
        self._by_text: dict[str, int] = {}
        for index, problem in enumerate(problems):
            text = user_turn(problem.problem) if user_turn else problem.problem
            self._by_text.setdefault(text.strip(), index)

    def find(self, prompt: Any) -> int:
        """The index of the problem whose statement is the prompt's user turn."""
        question = question_of(prompt).strip()
        index = self._by_text.get(question)
        if index is None:
            raise ConfigError(
                f"prompt {question[:80]!r}: not a problem of the environment's dataset; build "
                "the trainer's dataset with problem_dataset() from the same env arguments"
            )
        return index
