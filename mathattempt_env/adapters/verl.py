"""verl adapter (tested with verl 0.9.x): a reward function, a parquet exporter, an agent loop.

- :func:`compute_score` for ``reward.custom_reward_function.path`` / ``.name``: single-turn
  grading with this package's grader and a reward scheme (``reward_kwargs.reward``).
- :func:`export_parquet` writes any dataset in verl's row format (``data_source``, ``prompt``,
  ``ability``, ``reward_model``, ``extra_info``, ``agent_name``). ``extra_info`` carries the
  problem, the environment id and its arguments, so the agent loop needs no other config.
- :class:`MathAttemptAgentLoop`, registered as ``mathattempt``: runs a whole episode of our
  environment per row, token-in/token-out through ``server_manager.generate``, and returns an
  ``AgentLoopOutput`` with ``response_mask`` 0 on every feedback token and the episode reward
  as ``reward_score``. Select it with ``actor_rollout_ref.rollout.agent.default_agent_loop=
  mathattempt`` or the rows' ``agent_name`` (the exporter sets it), and make sure this module is
  imported by the workers (``actor_rollout_ref.rollout.agent.agent_loop_config_path`` pointing
  at ``examples/verl/agent_loop.yaml`` does it).

Needs the ``verl`` extra. Importing this module imports verl.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

from verl.experimental.agent_loop.agent_loop import (
    AgentLoopBase,
    AgentLoopMetrics,
    AgentLoopOutput,
    register,
)

from mathattempt_env.adapters.common import grading_options, make_envs, shared_scorer
from mathattempt_env.adapters.curriculum import shared_curriculum
from mathattempt_env.data import load_problems
from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.errors import ConfigError
from mathattempt_env.rollout import EpisodeDriver
from mathattempt_env.rollout.chat import think_of

#: The name the agent loop is registered under.
AGENT_NAME = "mathattempt"


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict[str, Any] | None = None,
    reward: str = "paper-single",
    think: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Verl's custom reward function: grade one response as one step of ``SingleTurnMath-v0``.

    Args:
        data_source: the row's data source (logged, not used).
        solution_str: the decoded response.
        ground_truth: the gold answer.
        extra_info: the row's extra info; the grading options among its ``env_kwargs``
            (``box``, ``think``, ``grade_timeout``: ``export_parquet(..., think="open")``
            writes them) apply. The agent loop takes ``think`` from the tokenizer's chat
            template itself.
        reward: a reward-scheme name (``reward.custom_reward_function.reward_kwargs.reward``).
        think: ``"open"`` when the chat template opens ``<think>`` (overrides the row's).
        **kwargs: other keyword arguments verl passes; ignored.

    Returns:
        ``{"score": reward, "correct": bool, "formatted": bool, "reason": str, "timed_out":
        bool}``; verl logs the extra keys, and ``timed_out`` marks a grade that ran out of
        time (scored as wrong).

    Examples:
        >>> compute_score("math500", r"so \\boxed{\\frac{1}{2}}", "0.5")["score"]
        1.0
        >>> out = compute_score("math500", "no box", "0.5")
        >>> out["score"], out["reason"], out["timed_out"]
        (-1.0, 'no-answer', False)
    """
    options = grading_options((extra_info or {}).get("env_kwargs"))
    if think is not None:
        options["think"] = think
    score, verdict = shared_scorer(reward, options)(str(solution_str), str(ground_truth))
    return {
        "score": score,
        "correct": verdict.correct,
        "formatted": verdict.formatted,
        "reason": verdict.reason,
        "timed_out": verdict.timed_out,
    }


def verl_rows(
    dataset: str | Sequence[Any] = "builtin",
    *,
    env_id: str = "MultiAttemptMath-v0",
    data_source: str | None = None,
    limit: int | None = None,
    agent_name: str = AGENT_NAME,
    data_dir: str | None = None,
    max_total_tokens: int | None = None,
    max_turn_tokens: int | None = None,
    tokenizer: Any = None,
    curriculum: Mapping[str, Any] | None = None,
    **env_kwargs: Any,
) -> list[dict[str, Any]]:
    """A dataset's problems as verl rows.

    With ``curriculum`` (the :class:`~mathattempt_env.wrappers.Curriculum` options, e.g.
    ``{"band": [0.2, 0.8]}``), every row's ``extra_info`` carries the curriculum's spec and
    the agent loop poses the curriculum's pick instead of the row's problem, the same for
    every sample of a group (verl's ``uid``); see :mod:`mathattempt_env.adapters.curriculum`.
    ``dataset`` must then be a name or path, which every worker loads.

    With the policy's ``tokenizer`` (or a tokenizer folder's path), the rows' ``env_kwargs``
    take ``think`` from its chat template, so :func:`compute_score` reads a reply as the
    agent loop and evaluation do; ``think`` in ``env_kwargs`` wins.

    ``prompt`` is the environment's opening for the problem (what a single-turn run shows the
    model); the agent loop rebuilds the opening itself from ``extra_info``, which also holds
    ``max_total_tokens`` (the model-token budget per episode) and ``max_turn_tokens`` (per
    turn) when given.

    Examples:
        >>> row = verl_rows(limit=1)[0]
        >>> sorted(row)
        ['ability', 'agent_name', 'data_source', 'extra_info', 'prompt', 'reward_model']
        >>> row["agent_name"], row["extra_info"]["env_id"]
        ('mathattempt', 'MultiAttemptMath-v0')
    """
    problems = load_problems(dataset, data_dir=data_dir)
    spec = None
    if curriculum is not None:
        if not isinstance(dataset, str):
            raise ConfigError(
                "verl_rows curriculum: needs the dataset by name or path (every worker loads "
                f"it), not {type(dataset).__name__}"
            )
        options = {"dataset": dataset, **({"data_dir": data_dir} if data_dir else {}),
                   **curriculum}  # fmt: skip
        spec = shared_curriculum(options, where="verl_rows curriculum").spec
    if tokenizer is not None and "think" not in env_kwargs:
        if isinstance(tokenizer, str):
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        env_kwargs = {**env_kwargs, "think": think_of(tokenizer)}
    config = EnvConfig.parse(env_id, env_kwargs, where="verl_rows env options")
    (env,) = make_envs(env_id, 1, {"dataset": problems, **config.options})
    source = data_source or (dataset if isinstance(dataset, str) else "custom")
    rows = []
    for index in range(len(problems) if limit is None else min(limit, len(problems))):
        problem = problems[index]
        _, info = env.reset(seed=index, options={"index": index})
        rows.append(
            {
                "data_source": source,
                "prompt": info["messages"],
                "ability": "math",
                "reward_model": {"style": "rule", "ground_truth": problem.answer},
                "extra_info": {
                    "index": index,
                    "problem_id": problem.id,
                    "problem": problem.problem,
                    "answer": problem.answer,
                    "env_id": env_id,
                    "env_kwargs": json.dumps(config.options, sort_keys=True),
                    **({"max_total_tokens": max_total_tokens} if max_total_tokens else {}),
                    **({"max_turn_tokens": max_turn_tokens} if max_turn_tokens else {}),
                    **({"curriculum": spec} if spec else {}),
                },
                "agent_name": agent_name,
            }
        )
    return rows


def export_parquet(path: str, dataset: str | Sequence[Any] = "builtin", **kwargs: Any) -> int:
    """Write a dataset as a verl parquet file; see :func:`verl_rows` for the arguments.

    ``env_kwargs`` must be JSON-serialisable (they travel in ``extra_info``).

    Returns:
        The number of rows written.
    """
    import pandas as pd

    rows = verl_rows(dataset, **kwargs)  # the env options are checked there (EnvConfig)
    pd.DataFrame(rows).to_parquet(path, index=False)
    return len(rows)


@register(AGENT_NAME)
class MathAttemptAgentLoop(AgentLoopBase):  # type: ignore[misc]
    """verl agent loop: one episode of a mathattempt_env environment per row.

    Reads ``extra_info`` written by :func:`export_parquet` (``problem``, ``answer``,
    ``env_id``, ``env_kwargs``; optional ``max_total_tokens``, the model-token budget across
    attempts, which defaults to ``rollout.response_length``; optional ``max_turn_tokens``, a
    per-turn cap: a turn cut there is closed and the episode goes on). Generation goes through
    ``server_manager.generate`` with token ids only; nothing the model generated is re-encoded.
    Feedback turns are appended with the tokenizer's chat template and masked (0).

    The output holds ``reward_score`` (the episode reward), ``num_turns`` (the conversation's
    messages after the system prompt) and, in ``extra_fields``: ``turn_scores`` (per model
    turn), ``attempts``, ``correct``, ``truncated``, and ``action_rewards`` (``[end_token,
    reward]`` per action: S²R process rewards, placed on each action's last response token),
    and ``problem_index`` (the dataset row posed: the curriculum's pick, when rows carry one).
    """

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """Run one episode; ``kwargs`` are the dataset row's fields."""
        extra = dict(kwargs.get("extra_info") or {})
        for field in ("problem", "answer", "env_id"):
            if field not in extra:
                raise ConfigError(
                    f"verl row {extra.get('problem_id', kwargs.get('index'))!r}: extra_info has "
                    f"no {field!r}; write the dataset with mathattempt_env.adapters.verl."
                    "export_parquet"
                )
        config = EnvConfig.parse(
            extra["env_id"], extra.get("env_kwargs") or "{}",
            where=f"verl row {extra.get('problem_id')!r} extra_info.env_kwargs",
        )  # fmt: skip
        where = f"verl row {extra.get('problem_id')!r} extra_info"
        shared = (shared_curriculum(extra["curriculum"], where=f"{where}.curriculum")
                  if extra.get("curriculum") else None)  # fmt: skip
        options = dict(config.options)
        if shared is not None:
            options["dataset"] = shared.problems
        (env,) = make_envs(config.env_id, 1, options, self.tokenizer)
        response_length = int(self.rollout_config.response_length)
        budget = int(extra.get("max_total_tokens") or response_length)
        metrics = {"generate_sequences": 0.0}

        async def generate(
            prompt_ids: list[int], max_new_tokens: int | None, stop: Sequence[str] = ()
        ) -> tuple[Any, Any]:
            params = dict(sampling_params)
            if max_new_tokens is not None:
                params["max_tokens"] = max_new_tokens
            if stop:  # a tool call: the server stops there (its token ids keep the string)
                params["stop"] = [*params.get("stop", ()), *stop]
            started = time.perf_counter()
            output = await self.server_manager.generate(
                request_id=uuid4().hex, prompt_ids=prompt_ids, sampling_params=params
            )
            metrics["generate_sequences"] += time.perf_counter() - started
            return output.token_ids, output.log_probs

        turn = extra.get("max_turn_tokens")
        driver = EpisodeDriver(
            self.tokenizer,
            generate,
            max_total_tokens=budget,
            max_turn_tokens=int(turn) if turn else None,
        )
        problem = {"problem": extra["problem"], "answer": extra["answer"]}
        if extra.get("problem_id") is not None:
            problem["id"] = extra["problem_id"]
        reset: dict[str, Any] = {"problem": problem}
        if shared is not None:  # the row is a slot: the curriculum picks, once per group
            group = kwargs.get("uid")
            row = shared.curriculum.pick() if group is None else shared.curriculum.pick_for(group)
            reset = {"index": row}
        episode = await driver.arun(env, seed=int(extra.get("index", 0)), options=reset)
        if shared is not None:
            shared.curriculum.record(row, episode.correct)
        messages = episode.info["messages"]
        keep = response_length
        logprobs = episode.response_logprobs
        return AgentLoopOutput(
            prompt_ids=self._cap_text_prompt_length(episode.prompt_ids),
            response_ids=episode.response_ids[:keep],
            response_mask=episode.response_mask[:keep],
            response_logprobs=logprobs[:keep] if logprobs is not None else None,
            reward_score=episode.reward,
            num_turns=len(messages) - int(bool(messages) and messages[0]["role"] == "system"),
            metrics=AgentLoopMetrics(**metrics),
            extra_fields={
                "turn_scores": episode.step_rewards,
                "tool_rewards": [],
                "attempts": episode.attempts,
                "correct": episode.correct,
                "truncated": episode.truncated,
                "problem_index": int(episode.info.get("index", -1)),
                "action_rewards": [
                    [a.end - 1, a.reward] for a in episode.actions if a.end > a.start
                ],
            },
        )
