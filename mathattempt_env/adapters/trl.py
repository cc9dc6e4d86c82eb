"""TRL adapter (tested with trl 1.16.x): multi-turn episodes through ``GRPOTrainer(rollout_func=)``.

- :func:`make_rollout_func` runs our environments for ``GRPOTrainer(rollout_func=...)``. It
  returns ``prompt_ids``, ``completion_ids``, ``logprobs``, an ``env_mask`` (0 on every
  feedback token, so feedback is kept out of the loss) and the episode reward as
  ``env_reward``; pass :func:`env_reward` as the reward function. It generates with the
  trainer's model through HF ``generate`` (batched across the episodes of a step), or with
  ``trainer.vllm_generation`` when ``use_vllm=True``.
- :func:`make_reward_func` is a single-turn reward for ``RLOOTrainer`` and ``GRPOTrainer``
  without a rollout function; it grades each completion against the dataset's ``answer``.
- :func:`problem_dataset` builds the training dataset from an environment's problems.

**RLOO with multi-turn episodes.** TRL's ``RLOOTrainer`` is single-turn only. Multi-turn RLOO is
``GRPOTrainer`` with this rollout function and ``scale_rewards="none"``: the advantage is then
``r_i - mean(r)``, which is ``(G - 1) / G`` times the leave-one-out advantage
``r_i - mean_{j != i}(r_j)``. The factor is a constant for a fixed group size ``G``, so the
two differ only by a learning-rate scale. **PPO** is not in TRL any more (removed in 1.13);
run PPO through :mod:`mathattempt_env.adapters.verl` or :mod:`mathattempt_env.adapters.openrlhf`.

Needs the ``trl`` extra (``pip install -e ".[trl]"`` in the source folder).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mathattempt_env.adapters.common import ProblemIndex, StepScorer, make_envs
from mathattempt_env.envs.surface import surface
from mathattempt_env.errors import ConfigError
from mathattempt_env.rewards import get_reward
from mathattempt_env.rollout import EpisodeDriver
from mathattempt_env.rollout.batching import Batcher, BatchResult
from mathattempt_env.rollout.chat import think_of
from mathattempt_env.rollout.hf import HFGenerator


def problem_dataset(
    env_id: str = "MultiAttemptMath-v0", *, limit: int | None = None, **env_kwargs: Any
) -> Any:
    """A ``datasets.Dataset`` of an environment's problems for TRL's trainers.

    Columns: ``prompt`` (the environment's opening messages; the model sees exactly these in
    single-turn training, and the rollout function finds the problem from the user turn),
    ``answer`` (the gold), ``problem_id``.

    Args:
        env_id: a registered environment id.
        limit: keep the first ``limit`` problems.
        **env_kwargs: passed to ``gym.make`` (``dataset=...`` and so on).

    Examples:
        >>> rows = problem_dataset("SingleTurnMath-v0", limit=2)
        >>> rows.column_names, rows[0]["prompt"][-1]["role"]
        (['prompt', 'answer', 'problem_id'], 'user')
    """
    from datasets import Dataset

    (env,) = make_envs(env_id, 1, env_kwargs)
    core = surface(env)
    count = len(core.problems) if limit is None else limit
    rows: dict[str, list[Any]] = {"prompt": [], "answer": [], "problem_id": []}
    for index in range(count):
        _, info = env.reset(seed=index, options={"index": index})
        rows["prompt"].append(info["messages"])
        rows["answer"].append(core.problem.answer)
        rows["problem_id"].append(info["problem_id"])
    return Dataset.from_dict(rows)


def _vllm_batch(trainer: Any) -> Callable[[list[list[int]], int | None], BatchResult]:
    def batch(prompts: list[list[int]], limit: int | None) -> BatchResult:
        _, completions, logprobs, _ = trainer.vllm_generation.generate(prompts, None, 1)
        results: BatchResult = []
        for ids, per_token in zip(completions, logprobs, strict=True):
            picked = None if per_token is None else [float(top[0]) for top in per_token]
            results.append((list(ids), picked))
        return results

    return batch


def user_turn(env: Any, problem: str) -> str:
    """The user turn in which ``env`` poses ``problem`` (its prompt template's wording)."""
    turns = [m for m in surface(env).pose(problem) if m["role"] == "user"]
    return str(turns[-1]["content"]) if turns else problem


class EnvRollout:
    """``rollout_func(prompts, trainer)`` for ``GRPOTrainer``; see :func:`make_rollout_func`."""

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any],
        *,
        max_total_tokens: int | None,
        max_turn_tokens: int | None,
        seed: int,
        env_url: str | None = None,
        env_token: str | None = None,
        curriculum: Any = None,
    ) -> None:
        self.env_id, self.env_kwargs = env_id, dict(env_kwargs)
        self.curriculum = curriculum
        self.env_url, self.env_token = env_url, env_token
        self.max_total_tokens, self.max_turn_tokens = max_total_tokens, max_turn_tokens
        self._rng = np.random.default_rng(seed)
        self._envs: list[Any] = []
        self._index: ProblemIndex | None = None
        self.last_episodes: list[Any] = []  # the latest call's episodes, for inspection

    def _generator(self, trainer: Any) -> Batcher:
        if getattr(trainer, "use_vllm", False):
            return Batcher(_vllm_batch(trainer))
        model = trainer.accelerator.unwrap_model(trainer.model)
        return HFGenerator(
            model,
            trainer.processing_class,
            temperature=float(trainer.temperature),
            top_p=float(trainer.top_p),
            max_new_tokens=int(trainer.max_completion_length),
            seed=int(self._rng.integers(2**31)),
        )

    def _make(self, count: int, tokenizer: Any) -> list[Any]:
        if self.env_url is None:
            return make_envs(self.env_id, count, self.env_kwargs, tokenizer)
        from mathattempt_env.envs.config import EnvConfig
        from mathattempt_env.rollout.chat import measured_by
        from mathattempt_env.serve.client import RemoteEnv

        options, local = measured_by(tokenizer, self.env_kwargs)
        config = EnvConfig.parse(self.env_id, options, where="make_rollout_func")
        return [
            RemoteEnv(self.env_url, config, token=self.env_token, local=local) for _ in range(count)
        ]

    def __call__(self, prompts: Sequence[Any], trainer: Any) -> dict[str, Any]:
        """Run one episode per prompt (TRL has already repeated each prompt per generation)."""
        if len(self._envs) < len(prompts):
            self._envs += self._make(len(prompts) - len(self._envs), trainer.processing_class)
        envs = self._envs[: len(prompts)]
        if self._index is None:
            core = surface(envs[0])
            self._index = ProblemIndex(core.problems, lambda text: user_turn(core, text))
        indices = [self._index.find(prompt) for prompt in prompts]
        # A group is a run of copies of one prompt (TRL repeats each num_generations times).
        starts = [n == 0 or indices[n] != indices[n - 1] for n in range(len(indices))]
        if self.curriculum is not None:  # one pick per group
            picks: list[int] = []
            for start in starts:
                picks.append(self.curriculum.pick() if start else picks[-1])
            indices = picks
        options = [{"index": index} for index in indices]
        # One reset seed per group (TRL repeats each prompt num_generations times in a row),
        # so a group's episodes share the attempt budget drawn for it and the group baseline
        # compares like with like; across groups the budget is still drawn per episode.
        seeds: list[int] = []
        for start in starts:
            seeds.append(int(self._rng.integers(2**31)) if start else seeds[-1])
        driver = EpisodeDriver(
            trainer.processing_class,
            self._generator(trainer),
            max_total_tokens=self.max_total_tokens,
            max_turn_tokens=self.max_turn_tokens,
        )
        episodes = driver.run_many(envs, seeds=seeds, options=options)
        self.last_episodes = episodes
        if self.curriculum is not None:
            for index, episode in zip(indices, episodes, strict=True):
                self.curriculum.record(index, episode.correct)
        logprobs = [e.response_logprobs for e in episodes]
        return {
            "prompt_ids": [e.prompt_ids for e in episodes],
            "completion_ids": [e.response_ids for e in episodes],
            "logprobs": None if any(lp is None for lp in logprobs) else logprobs,
            "env_mask": [e.response_mask for e in episodes],
            "env_reward": [e.reward for e in episodes],
            "env_turn_rewards": [list(e.step_rewards) for e in episodes],
            "env_attempts": [e.attempts for e in episodes],
            "env_correct": [e.correct for e in episodes],
            "env_truncated": [e.truncated for e in episodes],
            "env_grade_timed_out": [e.grade_timed_out for e in episodes],
            "env_problem_id": [e.info["problem_id"] for e in episodes],
        }


def make_rollout_func(
    env_id: str = "MultiAttemptMath-v0",
    *,
    max_total_tokens: int | None = 3000,
    max_turn_tokens: int | None = None,
    seed: int = 0,
    env_url: str | None = None,
    env_token: str | None = None,
    curriculum: Any = None,
    **env_kwargs: Any,
) -> EnvRollout:
    """A ``rollout_func`` that runs whole episodes of ``env_id`` for ``GRPOTrainer``.

    Args:
        env_id: ``"MultiAttemptMath-v0"``, ``"S2RMath-v0"``, ``"SingleTurnMath-v0"`` (any id).
        max_total_tokens: the model tokens allowed per episode, across attempts (the paper:
            3,000).
        max_turn_tokens: the model tokens allowed per turn (default: the total).
        seed: seeds the episodes' resets (attempt budgets) and sampling. The episodes of one
            group (consecutive copies of a prompt) share a reset seed, hence an attempt budget.
        **env_kwargs: passed to ``gym.make`` (e.g. ``attempts=(1, 5)``, ``reward="paper"``,
            ``dataset=...``; it must hold the problems of the trainer's dataset).
        env_url: step the episodes on an episode server (``mathattempt serve``) instead of
            in-process. The server must serve ``env_id`` with these ``env_kwargs`` and count
            length in the policy's tokens: start it with ``--tokenizer`` (the same
            tokenizer); the first reset checks that it does.
        env_token: that server's bearer token.
        curriculum: a :class:`~mathattempt_env.wrappers.curriculum.Curriculum` over the env's
            problems: each group then plays the curriculum's pick instead of its prompt's
            problem (the returned ``prompt_ids`` are the played problem's, and
            ``env_problem_id`` names it), and each episode's outcome is recorded. Reward with
            :func:`env_reward`: a reward function that reads the dataset's columns would grade
            against the prompt's problem, not the one played.

    Returns:
        A callable ``rollout_func(prompts, trainer) -> dict``. Extra keys reach the reward
        functions: ``env_reward`` (the episode reward), ``env_turn_rewards`` (the env's
        reward for each model turn: per-attempt credit), ``env_attempts``, ``env_correct``,
        ``env_truncated``, ``env_grade_timed_out`` (a grade of the episode ran out of time).

    Examples:
        >>> rollout = make_rollout_func("MultiAttemptMath-v0", attempts=(1, 5))
        >>> rollout.env_id, rollout.max_total_tokens
        ('MultiAttemptMath-v0', 3000)
    """
    return EnvRollout(
        env_id,
        env_kwargs,
        max_total_tokens=max_total_tokens,
        max_turn_tokens=max_turn_tokens,
        seed=seed,
        env_url=env_url,
        env_token=env_token,
        curriculum=curriculum,
    )


def env_reward(
    completions: Sequence[Any], env_reward: Sequence[float], **kwargs: Any
) -> list[float]:
    """The reward function for :func:`make_rollout_func`: the episode reward, unchanged.

    An episode whose grade timed out keeps its reward (a timeout scores as wrong); use
    :func:`env_reward_dropping_timeouts` to leave such episodes out instead.

    Examples:
        >>> env_reward(["a", "b"], env_reward=[1.0, -0.5])
        [1.0, -0.5]
    """
    return _episode_rewards(completions, env_reward)


def _episode_rewards(completions: Sequence[Any], rewards: Sequence[float]) -> list[float]:
    if len(rewards) != len(completions):
        raise ConfigError(
            f"env_reward: {len(rewards)} rewards for {len(completions)} completions; "
            "pass the rollout function from make_rollout_func to the same trainer"
        )
    return [float(r) for r in rewards]


def env_reward_dropping_timeouts(
    completions: Sequence[Any],
    env_reward: Sequence[float],
    env_grade_timed_out: Sequence[bool] = (),
    **kwargs: Any,
) -> list[float | None]:
    """Like :func:`env_reward`, but ``None`` for an episode whose grade ran out of time.

    TRL treats a completion whose every reward is ``None`` as unscorable: it is left out of
    the group baseline and gets no gradient, so a grader timeout neither punishes nor
    rewards the model.

    Examples:
        >>> env_reward_dropping_timeouts(["a", "b"], [1.0, -1.0], env_grade_timed_out=[False, True])
        [1.0, None]
    """
    rewards: list[float | None] = list(_episode_rewards(completions, env_reward))
    for index, timed_out in enumerate(env_grade_timed_out):
        if timed_out:
            rewards[index] = None
    return rewards


def _text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content") or "")
    return ""


def make_reward_func(
    reward: str = "paper-single",
    *,
    box: str = "last",
    on_timeout: str = "wrong",
    tokenizer: Any = None,
    env_id: str = "SingleTurnMath-v0",
    **env_options: Any,
) -> Callable[..., list[float | None]]:
    """A single-turn reward function for ``RLOOTrainer`` / ``GRPOTrainer``.

    Each completion is the first step of an episode of ``env_id`` on the dataset's ``answer``
    column (:class:`~mathattempt_env.adapters.common.StepScorer`), so it is graded and
    rewarded exactly as that env's step would.

    Args:
        reward: a reward-scheme name (``"paper-single"``: +1 / -0.5 boxed but wrong / -1 no
            box; ``"binary"``: 1 / 0).
        box: grade the ``"last"`` or ``"first"`` complete ``\\boxed{}``.
        on_timeout: what a grade that ran out of time gives: ``"wrong"`` (the default, the
            scheme's reward for a wrong answer) or ``"drop"`` (``None``: TRL leaves the
            completion out of the baseline and the gradient).
        tokenizer: the policy's tokenizer: when its chat template opens ``<think>``, a
            completion without ``</think>`` was cut mid-thought (``think="open"``), as
            evaluation reads it. ``think=`` in ``env_options`` wins.
        env_id: the env whose step this is.
        **env_options: more options of that env (``think``, ``grade_timeout``, ...).

    Examples:
        >>> reward = make_reward_func()
        >>> reward(completions=[r"so \\boxed{4}", r"\\boxed{5}", "4"], answer=["4", "4", "4"])
        [1.0, -0.5, -1.0]
    """
    if on_timeout not in ("wrong", "drop"):
        raise ConfigError(f"on_timeout: expected 'wrong' or 'drop', got {on_timeout!r}")
    options = {"think": think_of(tokenizer), **env_options}
    scorer = StepScorer(env_id, reward=reward, box=box, **options)
    scheme = get_reward(reward)

    def math_reward(
        completions: Sequence[Any], answer: Sequence[str], **kwargs: Any
    ) -> list[float | None]:
        rewards: list[float | None] = []
        for completion, gold in zip(completions, answer, strict=True):
            value, verdict = scorer(_text(completion), str(gold))
            rewards.append(None if verdict.timed_out and on_timeout == "drop" else value)
        return rewards

    math_reward.__name__ = f"math_{scheme.name.replace('-', '_')}"
    return math_reward
