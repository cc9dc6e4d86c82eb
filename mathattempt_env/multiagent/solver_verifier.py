r"""The solver-verifier game as a PettingZoo AEC environment.

The referee is an interactive :class:`~mathattempt_env.envs.S2RMathEnv`: it draws the problem
and the attempt budget, grades every solution, reads every verdict, keeps the length budgets and
decides when the game ends. This module only gives each agent its own view of the game and its
own reward, so attempts, grading and verdicts behave exactly as in the single-agent envs.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
from gymnasium.spaces import Space
from pettingzoo import AECEnv
from pettingzoo.utils.env_logger import EnvLogger

from mathattempt_env.envs import S2RMathEnv
from mathattempt_env.envs.base import MAX_ACTION_CHARS, MAX_OBSERVATION_CHARS
from mathattempt_env.envs.spaces import UnicodeText
from mathattempt_env.errors import ConfigError, EpisodeFinishedError
from mathattempt_env.prompts import (
    FeedbackTemplate,
    Message,
    PromptTemplate,
    S2RFormat,
    VerifierPrompt,
    get_feedback,
    get_prompt,
)
from mathattempt_env.rewards import RewardScheme, VerifierReward, get_reward, verifier_metrics
from mathattempt_env.rewards.base import finite_reward
from mathattempt_env.rewards.verifier import verdict_outcome
from mathattempt_env.types import ActionRecord, Problem

SOLVER = "solver_0"
VERIFIER = "verifier_0"
#: Each agent's role. The roles are fixed; one policy may still play both agents.
ROLES = {SOLVER: "solver", VERIFIER: "verifier"}
_KIND = {SOLVER: "solve", VERIFIER: "verify"}
_OTHER = {SOLVER: VERIFIER, VERIFIER: SOLVER}
RESET_OPTIONS = ("index", "problem", "attempts")


class TextObservation(str):
    """An observation: a ``str`` that also carries its space's numpy dtype, as numpy scalars do.

    PettingZoo checks that an observation's ``dtype`` equals its observation space's; a text
    observation is an ordinary string in every other way.

    Examples:
        >>> obs = TextObservation("What is 2+2?")
        >>> obs.upper(), obs.dtype == UnicodeText(20).dtype
        ('WHAT IS 2+2?', True)
    """

    __slots__ = ()
    dtype = np.dtype(str)


def _end_reason(record: ActionRecord, truncated: bool) -> str:
    if truncated:
        return "budget spent"
    if record.kind == "verify" and record.verdict == "correct":
        return "accepted"
    return "no attempts left"


class SolverVerifierEnv(AECEnv[str, str, str]):  # type: ignore[misc]
    r"""A solver answers, a verifier judges, and a rejected solver tries again.

    ## Protocol
    1. ``solver_0`` answers the problem (the multi-attempt prompt, which states the budget).
    2. ``verifier_0`` sees the problem and the solver's response and gives a verdict: its
       response must contain ``Therefore, the answer is correct.`` or ``Therefore, the answer
       is incorrect.`` (the last one counts); the rest of it is its critique.
    3. Unless it said "correct", the solver gets the critique as feedback and tries again.
    4. The game ends when the verifier accepts or the solver's attempts are used up
       (terminated), or when a length budget cuts a response or runs out (truncated).

    An unreadable verdict is its own outcome, ``unparseable``: it does not accept, so the
    solver tries again, and it earns the verifier the ``unparseable`` reward (-1).

    ## Rewards
    - solver: ``reward``, any scheme of :data:`~mathattempt_env.rewards.REWARDS`, applied to
      the solver's attempts. The default ``"s2r-outcome"`` pays +1 on the last step if the
      final answer (the accepted one, or the last one) is correct, else -1. Note that
      ``"paper"`` credits any correct attempt, even one the verifier then rejected.
    - verifier: ``verifier_reward``, by default
      :class:`~mathattempt_env.rewards.VerifierReward`: +1 for a verdict that equals the
      grader's truth, -1 for accepting a wrong answer, rejecting a right one, or no readable
      verdict. Each is set on its own: ``VerifierReward(accept_wrong=-2.0)``.

    Rewards follow the AEC convention: ``rewards`` holds each agent's reward from the last
    step, and :meth:`last` returns what the agent earned since it last acted.

    ## Observations and actions
    Both are :class:`~mathattempt_env.envs.spaces.UnicodeText`. An agent's observation is the
    text of the turns it received since it last acted (``""`` while it waits, and at the end);
    ``infos[agent]["messages"]`` is its whole view as chat messages for a chat template. No
    view ever holds the gold answer.

    ## Illegal actions
    A non-string action (``bytes`` are decoded, as in the single-agent envs) is an illegal move,
    handled as PettingZoo's ``TerminateIllegalWrapper`` does: a warning through PettingZoo's
    ``EnvLogger``, the game ends (every agent terminated), the mover gets ``illegal_reward``
    and the other agent 0, and ``infos[agent]["illegal_move"]`` names the mover. In the AEC API
    an action always belongs to ``agent_selection``, so no agent can act out of turn here; the
    parallel API checks that (see :func:`~mathattempt_env.multiagent.solver_verifier_v0.
    parallel_env`). Stepping a finished agent with anything but ``None`` raises
    ``ValueError``, as in every PettingZoo env.

    ## Info (every agent, every step)
    ``role`` and ``roles`` (agent -> role), ``active_agent``, ``messages`` (the agent's view),
    ``problem_id``, ``index``, ``source``, ``attempt``, ``attempts``, ``attempts_left``,
    ``grades`` (the grader's :class:`~mathattempt_env.types.Grade` of every attempt),
    ``verdicts``, ``correct`` (the final answer so far), ``turns`` (one dict per turn: agent,
    role, kind, attempt, text, cut, the grade or the verdict and its outcome, and both rewards),
    ``verifier_metrics`` (:func:`~mathattempt_env.rewards.verifier_metrics`: accuracy, accept
    and reject precision and recall, ...), ``reward_components``, ``records``,
    ``length_used`` and ``end_reason`` (``""`` while the game runs).

    ## Arguments
    ``attempts`` (int or ``(min, max)``, default 3); ``reward`` (default ``"s2r-outcome"``);
    ``verifier_reward`` (a scheme or name, default :class:`VerifierReward`); ``prompt`` (the
    solver's, default ``"multi-attempt"``); ``feedback`` (default ``"critique"``; ``"binary"``
    hides the critique); ``feedback_role``; ``verifier_prompt``
    (:class:`~mathattempt_env.prompts.VerifierPrompt`); ``verifier_sees`` (``"response"``, the
    solver's whole response, or ``"answer"``, its boxed answer only); ``format`` (an
    :class:`~mathattempt_env.prompts.S2RFormat`, for the verdict sentences and lenient
    parsing); ``illegal_reward`` (default -1); and the single-agent envs' ``dataset``,
    ``max_response_length``, ``max_total_length`` (both agents' responses together),
    ``length_fn``, ``data_dir``, ``grade_timeout``, ``grade_budget``, ``box``, ``think``,
    ``render_mode``.

    Examples:
        >>> env = SolverVerifierEnv(attempts=2)
        >>> env.reset(seed=0, options={"index": 8})
        >>> env.agent_selection
        'solver_0'
        >>> env.step(r"It is \boxed{0}.")
        >>> env.agent_selection, "Proposed solution:" in env.observe("verifier_0")
        ('verifier_0', True)
        >>> env.step("Therefore, the answer is incorrect.")
        >>> env.step(rf"It is \boxed{{{env.problem.answer}}}.")
        >>> env.step("Therefore, the answer is correct.")
        >>> env.terminations, env.infos["verifier_0"]["verdicts"]
        ({'solver_0': True, 'verifier_0': True}, ('incorrect', 'correct'))
        >>> env._cumulative_rewards
        {'solver_0': 1.0, 'verifier_0': 1.0}
    """

    metadata: dict[str, Any] = {
        "name": "solver_verifier_v0",
        "render_modes": ["ansi"],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        *,
        attempts: int | tuple[int, int] = 3,
        reward: str | RewardScheme = "s2r-outcome",
        verifier_reward: str | RewardScheme | None = None,
        prompt: str | PromptTemplate = "multi-attempt",
        feedback: str | FeedbackTemplate = "critique",
        feedback_role: str | None = None,
        verifier_prompt: VerifierPrompt | None = None,
        verifier_sees: str = "response",
        format: S2RFormat | None = None,
        illegal_reward: float = -1.0,
        **env_kwargs: Any,
    ) -> None:
        super().__init__()
        if "mode" in env_kwargs:
            raise ConfigError(f"mode: the game is always interactive, got {env_kwargs['mode']!r}")
        if env_kwargs.get("tool") is not None:
            raise ConfigError(
                f"tool: the solver-verifier game has no tool turns, got {env_kwargs['tool']!r}"
            )
        # The referee: an interactive S2R env grades, reads verdicts, keeps budgets, ends games.
        self.referee = S2RMathEnv(
            mode="interactive", attempts=attempts, format=format, **env_kwargs
        )
        self._ref: dict[str, Any] = {}  # the referee's StepInfo: all the game reads of it
        self.schemes = {
            SOLVER: get_reward(reward),
            VERIFIER: get_reward(VerifierReward() if verifier_reward is None else verifier_reward),
        }
        self.prompt = get_prompt(prompt)
        template = get_feedback(feedback)
        if feedback_role is not None:
            template = dataclasses.replace(template, role=feedback_role)
        self.feedback = template
        if verifier_prompt is not None and not isinstance(verifier_prompt, VerifierPrompt):
            raise ConfigError(
                f"verifier_prompt: expected a VerifierPrompt, got {verifier_prompt!r}"
            )
        self.verifier_prompt = verifier_prompt or VerifierPrompt()
        if verifier_sees not in ("response", "answer"):
            raise ConfigError(
                f"verifier_sees: expected 'response' or 'answer', got {verifier_sees!r}"
            )
        self.verifier_sees = verifier_sees
        self.illegal_reward = finite_reward("illegal_reward", illegal_reward)
        self.render_mode = self.referee.render_mode
        self.possible_agents = [SOLVER, VERIFIER]
        # One space object per agent, as PettingZoo asks (seeding a space must stick). An
        # observation can quote a whole response of the other agent.
        self._observation_spaces = {
            agent: UnicodeText(MAX_OBSERVATION_CHARS + MAX_ACTION_CHARS)
            for agent in self.possible_agents
        }
        self._action_spaces = {
            agent: UnicodeText(MAX_ACTION_CHARS) for agent in self.possible_agents
        }
        self.agents: list[str] = []
        self.views: dict[str, list[Message]] = {agent: [] for agent in self.possible_agents}
        self.turns: list[dict[str, Any]] = []
        self._pending: dict[str, list[Message]] = {}
        self._components: dict[str, dict[str, float]] = {}
        self._end_reason = ""
        self._illegal_by = ""

    # --- PettingZoo API ------------------------------------------------------------------

    def observation_space(self, agent: str) -> Space[str]:
        """The agent's observation space (the same object on every call)."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> Space[str]:
        """The agent's action space (the same object on every call)."""
        return self._action_spaces[agent]

    @property
    def problem(self) -> Problem:
        """The current game's problem (with its gold answer: never show it to a policy)."""
        return self.referee.problem

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a game; options ``index``, ``problem`` and ``attempts`` as in the 1-agent envs.

        Unknown option keys are ignored with a warning (PettingZoo's API test passes one).
        """
        options = dict(options or {})
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            warnings.warn(
                f"solver_verifier_v0 reset options: ignoring unknown {unknown}; "
                f"expected {list(RESET_OPTIONS)}",
                stacklevel=2,
            )
        _, self._ref = self.referee.reset(
            seed=seed, options={k: v for k, v in options.items() if k in RESET_OPTIONS}
        )
        self.agents = list(self.possible_agents)
        self.agent_selection = SOLVER
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self._components = {agent: {} for agent in self.agents}
        opening = self.prompt.messages(self.problem.problem, attempts=self._ref["attempts"])
        self.views = {SOLVER: list(opening), VERIFIER: []}
        self._pending = {SOLVER: list(opening), VERIFIER: []}
        self.turns = []
        self._end_reason = ""
        self._illegal_by = ""
        self.infos = self._make_infos()

    def observe(self, agent: str) -> TextObservation:
        """The text of the turns ``agent`` received since it last acted (``""`` if none)."""
        return TextObservation(
            "\n\n".join(turn["content"] for turn in self._pending.get(agent, []))
        )

    def step(self, action: Any) -> None:
        """Act for ``agent_selection``; see the class docstring."""
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if not isinstance(action, str | bytes | bytearray):
            self.illegal_move(agent, f"expected a str action, got {type(action).__name__}")
            return
        self._cumulative_rewards[agent] = 0.0
        _, _, terminated, truncated, self._ref = self.referee.step(action)  # type: ignore[arg-type]
        record = self._ref["records"][-1]
        # The referee's copy of the response, after its budgets cut it.
        text = next(
            m["content"] for m in reversed(self._ref["messages"]) if m["role"] == "assistant"
        )
        self.views[agent].append({"role": "assistant", "content": text})
        done = terminated or truncated
        for member in self.agents:
            own = [r for r in self._ref["records"] if r.kind == _KIND[member]]
            breakdown = self.schemes[member](
                own, new=int(member == agent), final=done, truncated=truncated
            )
            self.rewards[member] = breakdown.reward
            self._components[member] = dict(breakdown.components)
        self.turns.append(self._turn(agent, record, text))
        self._pending = {SOLVER: [], VERIFIER: []}
        if done:
            self.terminations = dict.fromkeys(self.agents, terminated)
            self.truncations = dict.fromkeys(self.agents, truncated)
            self._end_reason = _end_reason(record, truncated)
        else:
            turns = self._solver_shown(text) if agent == SOLVER else self._critique(text)
            self.views[_OTHER[agent]].extend(turns)
            self._pending[_OTHER[agent]] = turns
        self.agent_selection = _OTHER[agent]
        self._accumulate_rewards()
        self.infos = self._make_infos()

    def illegal_move(self, agent: str, reason: str) -> None:
        """End the game because ``agent`` made an illegal move; it gets ``illegal_reward``.

        This is what PettingZoo's ``TerminateIllegalWrapper`` does, built in: a warning through
        ``EnvLogger``, every agent terminated, the mover penalized and the others given 0.

        Raises:
            EpisodeFinishedError: no game is running, or ``agent`` has already finished.
        """
        if agent not in self.agents or self.terminations[agent] or self.truncations[agent]:
            raise EpisodeFinishedError(f"illegal_move: {agent!r} is not playing a running game")
        EnvLogger.warn_on_illegal_move()
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self.rewards[agent] = self.illegal_reward
        self._components = {member: {} for member in self.agents}
        self._components[agent] = {"illegal_move": self.illegal_reward}
        self.terminations = dict.fromkeys(self.agents, True)
        self.truncations = dict.fromkeys(self.agents, False)
        self._pending = {SOLVER: [], VERIFIER: []}
        self._end_reason = f"illegal move by {agent}: {reason}"
        self._illegal_by = agent
        self._accumulate_rewards()
        self.infos = self._make_infos()

    def render(self) -> str | None:
        """The game so far as text (``render_mode="ansi"``)."""
        if self.render_mode != "ansi":
            return None
        lines = [f"[problem {self.problem.id}]\n{self.problem.problem}"]
        for turn in self.turns:
            lines.append(f"[{turn['agent']} ({turn['role']}), attempt {turn['attempt']}]")
            lines.append(turn["text"])
        if self._end_reason:
            lines.append(f"[end: {self._end_reason}]")
        return "\n\n".join(lines)

    def close(self) -> None:
        """Release the referee environment."""
        self.referee.close()

    def __str__(self) -> str:
        return str(self.metadata["name"])

    # --- helpers ------------------------------------------------------------------------

    def _solver_shown(self, text: str) -> list[Message]:
        """The verifier's turn that shows it the solver's latest attempt."""
        if self.verifier_sees == "answer":
            grade = self._ref["records"][-1].grade
            extracted = grade.extracted if grade is not None else None
            text = (
                rf"\boxed{{{extracted}}}"
                if extracted is not None
                else r"No final answer in \boxed{} was given."
            )
        attempt = self._attempt()
        if attempt == 1:
            return self.verifier_prompt.opening(self.problem.problem, text)
        return self.verifier_prompt.revision(text, attempt=attempt)

    def _critique(self, text: str) -> list[Message]:
        """The solver's feedback turn(s) after the verifier did not accept."""
        solves = [r for r in self._ref["records"] if r.kind == "solve"]
        grade = solves[-1].grade
        return self.feedback.messages(
            attempts_left=self._ref["attempts"] - len(solves),
            answer=None if grade is None else grade.extracted,
            question=self.problem.problem,
            critique=text,
        )

    def _attempt(self) -> int:
        return int(self._ref["attempt"])

    def _turn(self, agent: str, record: ActionRecord, text: str) -> dict[str, Any]:
        turn: dict[str, Any] = {
            "turn": len(self.turns) + 1,
            "agent": agent,
            "role": ROLES[agent],
            "kind": record.kind,
            "attempt": self._attempt(),
            "text": text,
            "cut": record.cut,
        }
        if record.kind == "solve":
            assert record.grade is not None
            turn.update(
                correct=record.correct, extracted=record.grade.extracted, reason=record.grade.reason
            )
        else:
            turn.update(
                verdict=record.verdict,
                target_correct=record.target_correct,
                outcome=verdict_outcome(record),
            )
        turn["rewards"] = dict(self.rewards)
        return turn

    def _make_infos(self) -> dict[str, dict[str, Any]]:
        records = tuple(self._ref["records"])
        solves = [r for r in records if r.kind == "solve"]
        shared: dict[str, Any] = {
            "roles": dict(ROLES),
            "active_agent": self.agent_selection,
            "problem_id": self.problem.id,
            "index": self._ref["index"],
            "source": self.problem.source,
            "attempt": len(solves),
            "attempts": self._ref["attempts"],
            "attempts_left": self._ref["attempts"] - len(solves),
            "grades": tuple(r.grade for r in solves),
            "verdicts": tuple(r.verdict for r in records if r.kind == "verify"),
            "correct": bool(solves) and solves[-1].correct,
            "turns": tuple(self.turns),
            "verifier_metrics": verifier_metrics([records]),
            "records": records,
            "length_used": self._ref["length_used"],
            "end_reason": self._end_reason,
        }
        # Optional metadata is left out, not None, as in the single-agent envs.
        if self.problem.level is not None:
            shared["level"] = self.problem.level
        if self.problem.subject is not None:
            shared["subject"] = self.problem.subject
        infos = {}
        for agent in self.agents:
            info = dict(shared, role=ROLES[agent], messages=list(self.views[agent]))
            info["reward_components"] = dict(self._components.get(agent, {}))
            if self._illegal_by:
                info["illegal_move"] = self._illegal_by
            infos[agent] = info
        return infos
