"""OpenRLHF adapter (tested with openrlhf 0.11.x): an agent module and a remote reward function.

This file is itself an OpenRLHF agent module and a reward module::

    AGENT=$(python -c "import mathattempt_env.adapters.openrlhf as m; print(m.__file__)")
    MATHATTEMPT_ENV=MultiAttemptMath-v0 MATHATTEMPT_ENV_KWARGS='{"attempts": [1, 5]}' \\
        python -m openrlhf.cli.train_ppo_ray --train.agent_func_path "$AGENT" \\
        --data.input_key problem --data.label_key answer ...

- ``AgentExecutor`` runs OpenRLHF's ``MultiTurnAgentExecutor`` over :class:`MathAgentInstance`:
  ``reset`` poses the row's problem (``input_key`` = the problem text, *without*
  ``--data.apply_chat_template``; ``label_key`` = the gold answer) and returns the
  environment's opening, chat-templated; ``step`` grades the model's turn in our environment
  and returns its reward and ``done``, and, when the episode goes on, the feedback as
  ``environment_feedback`` with the chat template's exact turn markup (closing a turn that
  was cut at the length limit). OpenRLHF masks those tokens out of the loss
  (``action_ranges``). ``scores`` is the episode reward so far; ``rewards`` per step sum to it.
- ``reward_func(queries, prompts, labels)`` for ``--reward.remote_url`` (single-turn).

Configuration comes from the environment (Ray passes it to the workers with
``runtime_env``): ``MATHATTEMPT_ENV`` (default ``MultiAttemptMath-v0``),
``MATHATTEMPT_ENV_KWARGS`` (JSON), ``MATHATTEMPT_MAX_TOTAL_TOKENS`` (default 3000, model tokens
across attempts), ``MATHATTEMPT_REWARD`` (``reward_func``'s scheme, default
``paper-single``), ``MATHATTEMPT_CURRICULUM`` (a curriculum spec with ``group``, the samples
per prompt, e.g. ``{"dataset": "builtin", "band": [0.2, 0.8], "group": 8}``: each episode
poses the curriculum's pick, one per group, instead of the row's problem; see
:mod:`mathattempt_env.adapters.curriculum`). :func:`make_agent_executor` builds an executor
class for a module of your own instead.

OpenRLHF gives ``step`` the model's text, not its tokens, so the model-token budget is counted
by encoding that text (the token context itself is OpenRLHF's, never re-encoded).

Needs the ``openrlhf`` extra and ``pip install --no-deps "openrlhf==0.11.2"``.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch
from openrlhf.utils.agent import AgentInstanceBase, MultiTurnAgentExecutor

from mathattempt_env.adapters.common import make_envs, response_of, shared_scorer
from mathattempt_env.adapters.curriculum import parse_spec, shared_curriculum
from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.envs.surface import surface
from mathattempt_env.errors import ConfigError
from mathattempt_env.rollout.chat import ChatMarkup, render
from mathattempt_env.types import Turn

_TOKENIZER: contextvars.ContextVar[Any] = contextvars.ContextVar("mathattempt_tokenizer")


class MathAgentInstance(AgentInstanceBase):  # type: ignore[misc]
    """One episode of a mathattempt_env environment, as an OpenRLHF agent instance.

    Subclasses set ``env_id``, ``env_kwargs`` and ``max_total_tokens``
    (:func:`make_agent_executor` does). The tokenizer comes from the executor's call.
    """

    env_id = "MultiAttemptMath-v0"
    env_kwargs: dict[str, Any] = {}
    max_total_tokens: int | None = 3000
    #: A curriculum spec (:mod:`~mathattempt_env.adapters.curriculum`) plus ``group``, the
    #: samples per prompt (``--rollout.n_samples_per_prompt``); ``None``: the row's problem.
    curriculum: dict[str, Any] | None = None
    _seen: Counter[str] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.tokenizer = _TOKENIZER.get()
        self.chat = ChatMarkup(self.tokenizer)
        # The episode's model-token budget is part of the env's construction.
        kwargs = {
            **self.env_kwargs, "max_total_length": self.max_total_tokens, "length_unit": "tokens"
        }  # fmt: skip
        self.shared, self.group, self.row = None, 1, -1
        if self.curriculum is not None:
            spec = dict(self.curriculum)
            self.group = _group_size(spec.pop("group", 1))
            self.shared = shared_curriculum(spec, where="MATHATTEMPT_CURRICULUM")
            kwargs["dataset"] = self.shared.problems
        (self.env,) = make_envs(self.env_id, 1, kwargs, self.tokenizer)
        self.history: list[dict[str, str]] = []
        self.total = 0.0
        eos = getattr(self.tokenizer, "eos_token", None)
        self.eos: str = eos if isinstance(eos, str) else ""
        specials = getattr(self.tokenizer, "all_special_tokens", None) or []
        self.specials: list[str] = [s for s in specials if s]

    async def reset(self, states: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Pose the row's problem; the observation is the templated opening."""
        question, label = str(states["observation"]), str(states["label"])
        # A stable seed per problem and sample, so reruns draw the same attempt budgets.
        type(self)._seen[question] += 1
        digest = hashlib.sha256(f"{question}\0{self._seen[question]}".encode()).digest()
        options: dict[str, Any] = {"problem": {"problem": question, "answer": label}}
        if self.shared is not None:  # the row is a slot: one curriculum pick per group
            # OpenRLHF poses a prompt n_samples_per_prompt times in a row: one group.
            occurrence = (self._seen[question] - 1) // self.group
            self.row = self.shared.curriculum.pick_for((question, occurrence))
            options = {"index": self.row}
        _, info = self.env.reset(seed=int.from_bytes(digest[:4], "big"), options=options)
        self.history = list(info["messages"])
        return {"observation": render(self.tokenizer, self.history, generation=True)}

    def _content(self, action_text: str) -> tuple[str, str]:
        """The model's turn as the env sees it, and the end-of-turn text it emitted."""
        emitted = self.eos if self.eos and action_text.endswith(self.eos) else ""
        text = action_text[: len(action_text) - len(emitted)]
        for special in self.specials:
            text = text.replace(special, "")
        return text, emitted

    async def step(self, states: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Grade the model's turn; return reward, done and the feedback with its markup."""
        text, emitted = self._content(str(states["action_text"]))
        # No end-of-turn token: generation stopped at OpenRLHF's length limit, unless it
        # stopped at a tool's stop string (configure it in OpenRLHF's sampling ``stop``).
        calls = any(text.rstrip().endswith(stop) for stop in surface(self.env).stop)
        observation, reward, terminated, truncated, info = self.env.step(
            Turn(text, cut=not emitted and not calls)
        )
        self.total += float(reward)
        done = bool(terminated or truncated)
        if done and self.shared is not None and self.row >= 0:
            self.shared.curriculum.record(self.row, bool(info["correct"]))
            self.row = -1
        feedback = ""
        if not done and info["kind"] == "tool":
            feedback = observation  # the tool's output, inside the same assistant turn
        elif not done:
            messages = info["messages"]
            content = messages[len(self.history)]["content"]
            turns = messages[len(self.history) + 1 :]
            feedback = self.chat.turn_text(self.history, content, emitted, turns)
            self.history = list(messages)
        return {
            "rewards": torch.tensor(float(reward)),
            "scores": torch.tensor(self.total),
            "environment_feedback": feedback,
            "done": done,
            "sampling_params": states.get("sampling_params"),
            "extra_logs": {
                "attempts": float(info["attempt"]),
                "correct": float(info["correct"]),
                "truncated": float(bool(truncated)),
            },
        }


class MathAgentExecutor(MultiTurnAgentExecutor):  # type: ignore[misc]
    """OpenRLHF's multi-turn executor over :class:`MathAgentInstance` (or a subclass)."""

    instance_cls: type[MathAgentInstance] = MathAgentInstance

    def __init__(self) -> None:
        super().__init__(self.instance_cls)

    async def execute(
        self,
        prompt: Any,
        label: Any,
        sampling_params: Any,
        max_length: int,
        hf_tokenizer: Any,
        llm_engine: Any,
        images: Any = None,
    ) -> dict[str, Any]:
        """Run one episode; see OpenRLHF's ``MultiTurnAgentExecutor.execute``."""
        token = _TOKENIZER.set(hf_tokenizer)
        try:
            result: dict[str, Any] = await super().execute(
                prompt, label, sampling_params, max_length, hf_tokenizer, llm_engine, images
            )
        finally:
            _TOKENIZER.reset(token)
        return result


def _group_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"MATHATTEMPT_CURRICULUM group: expected the samples per prompt (an int >= 1), "
            f"got {value!r}"
        )
    return value


def make_agent_executor(
    env_id: str = "MultiAttemptMath-v0",
    *,
    max_total_tokens: int | None = 3000,
    curriculum: dict[str, Any] | None = None,
    **env_kwargs: Any,
) -> type[MathAgentExecutor]:
    """An ``AgentExecutor`` class for an agent module of your own.

    ``curriculum``: a curriculum spec (:mod:`~mathattempt_env.adapters.curriculum`) with
    ``group``, the samples per prompt: each episode then poses the curriculum's pick (one
    per group) instead of the row's problem. It is checked here, when the module loads.

    Example (``my_agent.py``, passed as ``--train.agent_func_path my_agent.py``)::

        from mathattempt_env.adapters.openrlhf import make_agent_executor
        AgentExecutor = make_agent_executor("S2RMath-v0", mode="interactive")
    """
    if curriculum is not None:
        curriculum = parse_spec(curriculum, where="MATHATTEMPT_CURRICULUM")
        spec = {k: v for k, v in curriculum.items() if k != "group"}
        _group_size(curriculum.get("group", 1))
        shared_curriculum(spec, where="MATHATTEMPT_CURRICULUM")  # a bad option fails now
    instance = type(
        "ConfiguredMathAgentInstance",
        (MathAgentInstance,),
        {
            "env_id": env_id,
            "env_kwargs": dict(env_kwargs),
            "max_total_tokens": max_total_tokens,
            "curriculum": curriculum,
            "_seen": Counter(),
        },
    )
    return type("AgentExecutor", (MathAgentExecutor,), {"instance_cls": instance})


def _from_environ() -> type[MathAgentExecutor]:
    budget = os.environ.get("MATHATTEMPT_MAX_TOTAL_TOKENS", "3000")
    try:
        tokens = int(budget) if budget.strip().lower() != "none" else None
    except ValueError:
        raise ConfigError(
            f"MATHATTEMPT_MAX_TOTAL_TOKENS: expected an int or 'none', got {budget!r}"
        ) from None
    config = EnvConfig.parse(
        os.environ.get("MATHATTEMPT_ENV", "MultiAttemptMath-v0"),
        os.environ.get("MATHATTEMPT_ENV_KWARGS", "{}"),
        where="MATHATTEMPT_ENV_KWARGS",
    )
    spec = os.environ.get("MATHATTEMPT_CURRICULUM") or None
    curriculum = None if spec is None else parse_spec(spec, where="MATHATTEMPT_CURRICULUM")
    return make_agent_executor(
        config.env_id, max_total_tokens=tokens, curriculum=curriculum, **config.options
    )


#: The executor OpenRLHF loads from this file (configured from the environment variables).
AgentExecutor = _from_environ()


def reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """OpenRLHF's remote reward function: grade each response against its label.

    ``queries`` are prompt + response as decoded text; the response is what follows the
    prompt. Each is graded as one step of ``SingleTurnMath-v0``: the scheme is
    ``MATHATTEMPT_REWARD`` (default ``paper-single``), and the grading options among
    ``MATHATTEMPT_ENV_KWARGS`` (``box``, ``think``, ``grade_timeout``) apply, as in the agent.

    Examples:
        >>> out = reward_func(["Q: 1+1? A: \\\\boxed{2}<|im_end|>"], ["Q: 1+1? A: "], ["2"])
        >>> out["rewards"].tolist(), out["extra_logs"]["correct"].tolist()
        ([1.0], [1.0])
    """
    scorer = shared_scorer(
        os.environ.get("MATHATTEMPT_REWARD", "paper-single"),
        os.environ.get("MATHATTEMPT_ENV_KWARGS") or None,
    )
    rewards, correct, timed_out = [], [], []
    for query, prompt, label in zip(queries, prompts, labels, strict=True):
        text = response_of(str(query), str(prompt))
        reward, verdict = scorer(text, str(label))
        rewards.append(reward)
        correct.append(float(verdict.correct))
        timed_out.append(float(verdict.timed_out))
    values = torch.tensor(rewards, dtype=torch.float32)
    return {
        "rewards": values,
        "scores": values.clone(),
        "extra_logs": {"correct": torch.tensor(correct), "timed_out": torch.tensor(timed_out)},
    }
