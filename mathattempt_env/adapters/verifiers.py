r"""The envs of this package as a ``verifiers`` (v1) environment: taskset, env and harness.

verifiers 0.4 finds an environment by its id: ``vf-eval mathattempt-vf`` imports the module
``mathattempt_vf`` (shipped with this package; install the ``verifiers`` extra), whose
``__all__`` exports the three classes defined here:

- :class:`MathTaskset`: the problems of any registered env id (built-in families, a JSONL
  file, a named benchmark, an HF mapping: the env's ``dataset=``), one task per problem.
  Its config (:class:`MathTasksetConfig`, ``--env.taskset.*``) is the env id and the env's
  options: ``dataset``, ``attempts``, ``reward``, ``template`` and any other in
  ``env_kwargs``.
- :class:`MathEnv`: plays one episode of the gym env per rollout. The env is reset on the
  task's problem with the task's seed (so the attempt budget a multi-attempt env draws is the
  same for every rollout of a task), the opening messages are the interaction's prompt, each
  model reply is one ``env.step``, and what the env says back (the published "incorrect, try
  again" feedback, the S²R turn structure, a tool's output block) is the next turn's message.
  The episode runs through the package's one episode loop
  (:func:`~mathattempt_env.rollout.loop.play_episode`), so it is the ``gym.make`` episode.
- :class:`MathHarness`: the agent's program, run in-process: one chat completion per
  segment through verifiers' interception endpoint (so every call is in the trace), with
  the env's stop strings (a tool env's ``"```output"``). No code runs in the harness's
  runtime: the tool env runs the model's code in this package's sandbox.

What lands on the trace: ``trace.info["turn_rewards"]`` (one reward per model turn, the
env's step rewards: prime-rl's per-turn credit reads it), ``trace.info["mathattempt"]``
(per turn: kind, reason, answer source, correct, cut, timed out, tool status; and the
episode's attempts), the reward ``episode_reward`` (the sum of the turn rewards: the
episode return) and the metrics ``correct``, ``attempts_used``, ``formatted``, ``cut``,
``grade_timed_out``. A reply that is empty, cut or huge is a turn like any other: the env
grades it (wrong, with its reason) and the episode ends with a defined reward.

Examples:
    >>> config = MathTasksetConfig(env="MultiAttemptMath-v0", attempts=[2])
    >>> task = next(iter(MathTaskset(config)))
    >>> task.data.problem_id, task.data.stop, task.data.env_options["attempts"]
    ('builtin-0-0', [], 2)
    >>> [t.data.seed for t in MathTaskset(config.model_copy(update={"seed": 7})).take(2)]
    [7, 8]
"""

from __future__ import annotations

import contextlib
import json
import queue
from typing import Any

import gymnasium as gym
import httpx
import verifiers.v1 as vf
from pydantic import Field, field_validator
from verifiers.v1.dialects import parse_message
from verifiers.v1.dialects.chat import message_to_wire
from verifiers.v1.runtimes import ProgramResult
from verifiers.v1.types import content_text

from mathattempt_env.adapters.common import make_envs
from mathattempt_env.envs.surface import surface
from mathattempt_env.errors import ConfigError
from mathattempt_env.grading import grade
from mathattempt_env.rollout.loop import play_episode
from mathattempt_env.types import Turn

#: The taskset id verifiers knows this package by (the module ``mathattempt_vf``).
TASKSET_ID = "mathattempt-vf"

#: Env options that :class:`MathTasksetConfig` has as fields of its own.
_FIELDS = ("dataset", "attempts", "reward", "template")


class MathTasksetConfig(vf.TasksetConfig):
    """Which env and which problems: ``--env.taskset.*`` on the verifiers command line.

    Attributes:
        env: a registered env id (``MultiAttemptMath-v0``, ``S2RMath-v0``, ``ToolMath-v0``,
            ``SingleTurnMath-v0``).
        dataset: the env's problem source (``builtin``, a benchmark name, a JSONL path).
        attempts: the multi-attempt env's attempt budget (an int, or ``[low, high]`` drawn
            per episode); ``None`` keeps the env's default.
        reward: a registered reward scheme; ``None`` keeps the env's default.
        template: the prompt template; ``None`` keeps the env's default.
        env_kwargs: any other env option, as ``gym.make`` takes it.
        seed: the first task's episode seed (task ``i`` is played with ``seed + i``).
        num_problems: the most tasks (``None``: every problem of the dataset).
    """

    env: str = "MultiAttemptMath-v0"
    dataset: str = "builtin"
    attempts: list[int] | None = None
    reward: str | None = None
    template: str | None = None
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    num_problems: int | None = Field(None, ge=1)

    @field_validator("attempts")
    @classmethod
    def _budget(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(value) not in (1, 2):
            raise ValueError(f"attempts: expected one number or two (low high), got {value}")
        return value

    @field_validator("env_kwargs")
    @classmethod
    def _no_duplicates(cls, value: dict[str, Any]) -> dict[str, Any]:
        both = sorted(set(value) & set(_FIELDS))
        if both:
            raise ValueError(f"env_kwargs: set {both} as taskset fields, not in env_kwargs")
        return value

    def env_options(self) -> dict[str, Any]:
        """The ``gym.make`` options these fields stand for."""
        options: dict[str, Any] = dict(self.env_kwargs)
        options["dataset"] = self.dataset
        if self.attempts is not None:
            options["attempts"] = self.attempts[0] if len(self.attempts) == 1 else self.attempts
        for name in ("reward", "template"):
            value = getattr(self, name)
            if value is not None:
                options[name] = value
        return options


class MathTaskData(vf.TaskData):
    """One problem: what the rollout needs to rebuild its episode, the gold included.

    The policy sees only the messages the env makes (the gold never reaches them); the gold
    is here for ``vf-validate``'s gold check and for reading a trace afterwards.
    """

    env_id: str
    env_options: dict[str, Any]
    problem_id: str
    index: int
    answer: str
    seed: int
    stop: list[str] = Field(default_factory=list)


class MathTask(vf.Task[MathTaskData, vf.State, vf.TaskConfig]):
    """A problem, scored by the episode its env played."""

    @property
    def key(self) -> str:
        """The problem's id with its seed: unique within a taskset, stable across runs."""
        return f"{self.data.problem_id}@{self.data.seed}"

    @vf.reward
    async def episode_reward(self, trace: vf.Trace) -> float:
        """The episode return: the sum of the env's step rewards.

        A trace that :class:`MathEnv` did not play (``vf-validate``'s untouched check, or
        another env paired with this taskset) is played now: its replies, or one empty
        reply, through the same env.
        """
        rewards = trace.info.get("turn_rewards")
        if rewards is None:
            played = await replay(self, [content_text(m.content) for m in trace.assistant_messages])
            rewards = trace.info["turn_rewards"] = played
        return float(sum(rewards))

    @vf.metric
    async def correct(self, trace: vf.Trace) -> float:
        """1.0 if the episode's last graded answer was correct."""
        return float(bool(_summary(trace).get("correct")))

    @vf.metric
    async def attempts_used(self, trace: vf.Trace) -> float:
        """Answers graded in the episode."""
        return float(_summary(trace).get("attempt", 0))

    @vf.metric
    async def formatted(self, trace: vf.Trace) -> float:
        """The share of turns whose answer was in the expected format."""
        turns = _summary(trace).get("turns", [])
        return sum(bool(t["formatted"]) for t in turns) / len(turns) if turns else 0.0

    @vf.metric
    async def cut(self, trace: vf.Trace) -> float:
        """1.0 if any turn was cut at a length limit."""
        return float(any(t["cut"] for t in _summary(trace).get("turns", [])))

    @vf.metric
    async def grade_timed_out(self, trace: vf.Trace) -> float:
        """1.0 if grading any turn ran out of time (its verdict is not a real 'wrong')."""
        return float(any(t["timed_out"] for t in _summary(trace).get("turns", [])))

    async def validate(self, runtime: Any) -> bool | None:
        """The gold check: the grader accepts the gold, boxed, as an answer to itself."""
        return grade(rf"\boxed{{{self.data.answer}}}", self.data.answer).correct


def _summary(trace: vf.Trace) -> dict[str, Any]:
    summary = trace.info.get("mathattempt")
    return summary if isinstance(summary, dict) else {}


class MathTaskset(vf.Taskset[MathTask, MathTasksetConfig]):
    """The problems of a registered env, one task per problem (see the module docstring)."""

    def load(self) -> Any:
        """Yield the tasks; the env's options are checked (by making the env) first."""
        options = self.config.env_options()
        (env,) = make_envs(self.config.env, 1, options, backend="local")
        try:
            core = surface(env)
            problems, stop = list(core.problems), list(core.stop)
        finally:
            env.close()
        count = len(problems) if self.config.num_problems is None else self.config.num_problems
        for index, problem in enumerate(problems[:count]):
            data = MathTaskData(
                id=problem.id,
                name=problem.id,
                prompt=problem.problem,  # the env's own opening replaces it per episode
                env_id=self.config.env,
                env_options=options,
                problem_id=problem.id,
                index=index,
                answer=problem.answer,
                seed=self.config.seed + index,
                stop=stop,
            )
            yield MathTask(data, self.config.task)


class MathHarnessConfig(vf.HarnessConfig):
    """The in-process harness's options (``--env.agent.harness.*``).

    Attributes:
        request_timeout: seconds one model call may take.
    """

    request_timeout: float = Field(600.0, gt=0)


class MathHarness(vf.Harness[MathHarnessConfig]):
    """One chat completion per segment, in-process, through the interception endpoint."""

    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_RESUME = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def launch(
        self,
        ctx: Any,
        trace: vf.Trace,
        runtime: Any,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: vf.TaskData,
        tool_interception_url: str | None = None,
    ) -> ProgramResult:
        """Ask the model once for the conversation in ``data`` and return at once."""
        system, prompt = self.resolve_prompt(data)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        if isinstance(prompt, str):
            messages.append({"role": "user", "content": prompt})
        elif prompt is not None:
            messages += [m if isinstance(m, dict) else message_to_wire(m) for m in prompt]
        body: dict[str, Any] = {"model": ctx.model, "messages": messages}
        stop = getattr(data, "stop", None)
        if stop:
            body["stop"] = list(stop)
        async with httpx.AsyncClient(timeout=self.config.request_timeout) as client:
            reply = await client.post(
                f"{endpoint.rstrip('/')}/chat/completions",
                json=body,
                headers={"Authorization": f"Bearer {secret}"},
            )
        if reply.status_code >= 400:
            return ProgramResult(1, "", f"model call failed: {reply.status_code} {reply.text}")
        return ProgramResult(0, "", "")


class MathEnvConfig(vf.EnvConfig):
    """The env's one seat, ``agent`` (``--env.agent.*``).

    Its runtime is a local subprocess box by default, as the harness runs nothing in it.
    """

    agent: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())


class ExchangeFailed(Exception):
    """A model call failed (the provider, the network): the episode stops where it is."""


class _Recorded(gym.Wrapper):
    """The env, keeping each step's reward and info (an episode can stop half-way)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.rewards: list[float] = []
        self.last: dict[str, Any] = {}

    def reset(self, **kwargs: Any) -> Any:
        self.rewards, (observation, self.last) = [], self.env.reset(**kwargs)
        return observation, self.last

    def step(self, action: Any) -> Any:
        observation, reward, terminated, truncated, self.last = self.env.step(action)
        self.rewards.append(float(reward))
        return observation, reward, terminated, truncated, self.last


class _Interaction:
    """The episode loop's policy: each turn is one segment of a verifiers interaction.

    The interaction opens at the first turn, on the env's opening messages (they depend on
    the episode: a multi-attempt env states the attempt budget it drew), and stays open on
    ``stack`` until the caller has put the episode on its trace.
    """

    def __init__(self, stack: contextlib.AsyncExitStack, agent: Any, task: vf.Task) -> None:
        self.stack, self.agent, self.task = stack, agent, task
        self.interaction: Any = None
        self.pending: list[dict[str, str]] = []
        self.history: list[dict[str, str]] = []
        self.turns: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.over = False

    async def turn(self, info: dict[str, Any], limit: int | None) -> Turn:
        if self.over:  # the run ended at a limit of verifiers': the env grades empty turns
            return Turn("", cut=True)
        try:
            if self.interaction is None:
                self.history = [dict(m) for m in info["messages"]]
                opening = self.task.with_data(prompt=[parse_message(m) for m in self.history])
                self.interaction = await self.stack.enter_async_context(
                    self.agent.interaction(opening)
                )
                segment = await self.interaction.turn()
            else:
                segment = await self.interaction.turn(self.pending)
        except Exception as error:  # a failed model call is not the model's answer
            if self.interaction is None:
                raise  # no rollout to record it on: the episode itself fails
            self.errors.append(f"{type(error).__name__}: {error}")
            raise ExchangeFailed(str(error)) from error
        if segment.terminated:
            trace = self.interaction.trace
            if trace.errors:  # the run failed (a provider or harness error), not the model
                self.errors += [f"{e.type}: {e.message}" for e in trace.errors]
                raise ExchangeFailed(self.errors[-1])
            self.over = True  # a limit of verifiers' (max turns, tokens): the rest are cut
            return Turn("", cut=True)
        reply = next((m for m in reversed(segment.messages) if m.role == "assistant"), None)
        text = content_text(reply.content) if reply is not None else ""
        calls = self.interaction.trace.calls
        cut = bool(calls) and calls[-1].finish_reason == "length"
        return Turn(text or "", cut=cut)

    def observe(self, turn: Turn, observation: str, info: dict[str, Any], done: bool) -> None:
        self.turns.append(turn_summary(info))
        if done:
            return
        messages = info["messages"]
        if info["kind"] == "tool":  # the output block, continuing the model's own turn
            self.pending = [{"role": "user", "content": observation}]
        else:
            self.pending = [dict(m) for m in messages[len(self.history) + 1 :]]
        self.history = [dict(m) for m in messages]


def turn_summary(info: dict[str, Any]) -> dict[str, Any]:
    """What the trace keeps of one step's info (JSON only)."""
    verdict = info["grade"]
    return {
        "kind": info["kind"],
        "reason": verdict.reason if verdict is not None else "",
        "source": verdict.source if verdict is not None else "",
        "formatted": bool(verdict is not None and verdict.formatted),
        "correct": bool(info["correct"]),
        "cut": bool(info["cut"]),
        "timed_out": bool(info["grade_timed_out"]),
        "tool": json.loads(json.dumps(info.get("tool") or {}, default=str)),
    }


class MathEnv(vf.Env[MathEnvConfig]):
    """Plays the taskset's env: one gym episode per rollout (see the module docstring)."""

    def __init__(self, config: MathEnvConfig) -> None:
        super().__init__(config)
        if not isinstance(self.taskset, MathTaskset):
            raise ConfigError(
                f"{type(self).__name__} plays a {TASKSET_ID} taskset, got "
                f"{type(self.taskset).__name__} ({config.taskset.id!r})"
            )
        self._idle: dict[tuple[str, str], queue.SimpleQueue[Any]] = {}
        self._made: list[Any] = []

    def _env(self, data: MathTaskData) -> tuple[Any, queue.SimpleQueue[Any]]:
        """An idle env of the task's id and options, and the queue it goes back to."""
        key = (data.env_id, json.dumps(data.env_options, sort_keys=True))
        idle = self._idle.setdefault(key, queue.SimpleQueue())
        try:
            return idle.get_nowait(), idle
        except queue.Empty:
            (env,) = make_envs(data.env_id, 1, dict(data.env_options), backend="local")
            self._made.append(env)
            return env, idle

    async def run(self, task: vf.Task, agents: vf.Agents) -> None:
        """One episode of ``task`` with the ``agent`` seat as the policy."""
        data = task.data
        env, idle = self._env(data)
        recorded = _Recorded(env)
        try:
            async with contextlib.AsyncExitStack() as stack:
                policy = _Interaction(stack, agents.agent, task)
                try:
                    played = await play_episode(
                        recorded,
                        policy,
                        seed=data.seed,
                        options={"index": data.index},
                        threaded=True,  # verifiers' interception shares this event loop
                    )
                    ended = {"terminated": played.terminated, "truncated": played.truncated}
                except ExchangeFailed:
                    # verifiers has marked the rollout failed (a provider error): it is not
                    # scored, and a trainer drops or retries it; what was played is kept.
                    ended = {"terminated": False, "truncated": False, "failed": True}
                info = recorded.last
                trace = policy.interaction.trace
                trace.info["turn_rewards"] = list(recorded.rewards)
                trace.info["mathattempt"] = {
                    "attempt": info["attempt"],
                    "attempts": info["attempts"],
                    "correct": bool(info["correct"]),
                    **ended,
                    "turns": [
                        {**summary, "reward": reward}
                        for summary, reward in zip(policy.turns, recorded.rewards, strict=True)
                    ],
                    "errors": policy.errors,
                }
        finally:
            idle.put(env)

    async def stop(self) -> None:
        """Close every env this instance made (their sandboxes with them)."""
        for env in self._made:
            env.close()
        self._made.clear()


async def replay(task: MathTask, replies: list[str]) -> list[float]:
    """The step rewards of ``task``'s episode played with ``replies`` (then empty turns).

    Examples:
        >>> config = MathTasksetConfig(env="MultiAttemptMath-v0", attempts=[2])
        >>> task = next(iter(MathTaskset(config)))
        >>> import asyncio
        >>> asyncio.run(replay(task, [r"\\boxed{0}", rf"\\boxed{{{task.data.answer}}}"]))
        [0.0, 1.0]
    """
    (env,) = make_envs(task.data.env_id, 1, dict(task.data.env_options), backend="local")
    script = iter(replies or [""])

    class Scripted:
        async def turn(self, info: dict[str, Any], limit: int | None) -> Turn:
            return Turn(next(script, ""), cut=False)

        def observe(self, *args: Any) -> None:
            pass

    try:
        played = await play_episode(
            env, Scripted(), seed=task.data.seed, options={"index": task.data.index}
        )
    finally:
        env.close()
    return [step.reward for step in played.steps]
