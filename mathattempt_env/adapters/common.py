"""What the trainer adapters share: making environments and finding a trainer's problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mathattempt_env.errors import ConfigError
from mathattempt_env.grading import grade
from mathattempt_env.registration import check_env_id
from mathattempt_env.rewards import RewardScheme
from mathattempt_env.types import ActionRecord, Grade, Problem


def score_answer(
    scheme: RewardScheme, text: str, gold: str, *, box: str = "last"
) -> tuple[float, Grade]:
    """A single-turn reward: grade ``text`` against ``gold`` and score it with ``scheme``.

    Example:
        >>> from mathattempt_env.rewards import get_reward
        >>> score_answer(get_reward("paper-single"), r"\\boxed{5}", "4")[0]
        -0.5
    """
    verdict = grade(text, gold, boxed_only=True, box=box)  # type: ignore[arg-type]
    record = ActionRecord("solve", verdict)
    return scheme([record], new=1, final=True, truncated=False).reward, verdict


def make_envs(
    env_id: str, count: int, env_kwargs: dict[str, Any], tokenizer: Any = None
) -> list[Any]:
    """``count`` fresh environments of ``env_id``.

    With a ``tokenizer`` (and no ``length_fn`` of the caller's), the envs measure text in its
    tokens, so a tool's output counts toward the token budget in the model's unit.

    Example:
        >>> [env.spec.id for env in make_envs("S2RMath-v0", 2, {})]
        ['S2RMath-v0', 'S2RMath-v0']
    """
    import gymnasium as gym  # the ids are registered by importing mathattempt_env

    check_env_id(env_id)
    if tokenizer is not None and "length_fn" not in env_kwargs:
        from mathattempt_env.rollout.chat import TokenCounter

        env_kwargs = {**env_kwargs, "length_fn": TokenCounter(tokenizer)}
    return [gym.make(env_id, **env_kwargs) for _ in range(count)]


def question_of(prompt: Any) -> str:
    """The problem statement in a trainer's prompt: the text, or the last user turn's text.

    Example:
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

    Example:
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
