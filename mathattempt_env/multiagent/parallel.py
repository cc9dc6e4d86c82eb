"""The solver-verifier game in PettingZoo's parallel API.

The game is turn-based, so each parallel step carries the move of the agent on turn
(``infos[agent]["active_agent"]``). The other agent passes: its action must be ``None`` or left
out. What happens when it acts anyway is set by ``out_of_turn``.
"""

from __future__ import annotations

from typing import Any

from gymnasium.spaces import Space
from pettingzoo import ParallelEnv

from mathattempt_env.errors import ConfigError, EpisodeFinishedError
from mathattempt_env.multiagent.solver_verifier import SolverVerifierEnv

_Result = tuple[
    dict[str, str], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict[str, Any]]
]


class SolverVerifierParallelEnv(ParallelEnv[str, str, str | None]):  # type: ignore[misc]
    r"""The solver-verifier game with every live agent's action passed at once.

    Args:
        out_of_turn: ``"illegal"`` (default): an action from the agent that is not on turn is
            an illegal move, handled as in the AEC API (the game ends, the mover gets
            ``illegal_reward``). ``"ignore"``: such actions are dropped and reported as
            ``infos[agent]["ignored_action"] = True``, which is what PettingZoo's own
            turn-based parallel conversion does, for loops that send every agent an action.
        **kwargs: the arguments of :class:`~mathattempt_env.multiagent.SolverVerifierEnv`.

    A missing (or ``None``) action from the agent on turn is an illegal move by it. Rewards
    are per step, as the parallel API defines them.

    Examples:
        >>> env = SolverVerifierParallelEnv(attempts=1)
        >>> obs, infos = env.reset(seed=0, options={"index": 8})
        >>> infos["solver_0"]["active_agent"], obs["verifier_0"]
        ('solver_0', '')
        >>> _ = env.step({"solver_0": r"\boxed{0}"})
        >>> obs, rewards, terminations, truncations, infos = env.step(
        ...     {"verifier_0": "Therefore, the answer is incorrect."})
        >>> rewards, terminations["solver_0"], env.agents
        ({'solver_0': -1.0, 'verifier_0': 1.0}, True, [])
    """

    def __init__(self, *, out_of_turn: str = "illegal", **kwargs: Any) -> None:
        if out_of_turn not in ("illegal", "ignore"):
            raise ConfigError(f"out_of_turn: expected 'illegal' or 'ignore', got {out_of_turn!r}")
        self.out_of_turn = out_of_turn
        self.game = SolverVerifierEnv(**kwargs)
        self.possible_agents = list(self.game.possible_agents)
        self.metadata = self.game.metadata
        self.render_mode = self.game.render_mode
        self.agents: list[str] = []
        self._started = False

    def observation_space(self, agent: str) -> Space[str]:
        """The agent's observation space (the same object on every call)."""
        return self.game.observation_space(agent)

    def action_space(self, agent: str) -> Space[str]:
        """The agent's action space (the same object on every call)."""
        return self.game.action_space(agent)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
        """Start a game; see :meth:`SolverVerifierEnv.reset`."""
        self.game.reset(seed=seed, options=options)
        self._started = True
        self.agents = list(self.game.agents)
        return self._observations(), {a: dict(i) for a, i in self.game.infos.items()}

    def step(self, actions: dict[str, str | None]) -> _Result:
        """Apply the move of the agent on turn; see the class docstring."""
        game = self.game
        if not self.agents:
            raise EpisodeFinishedError(
                "the game has ended; call reset() before step()"
                if self._started
                else "no game is running; call reset() first"
            )
        unknown = sorted(set(actions) - set(self.agents))
        if unknown:
            raise ConfigError(
                f"actions: agents {unknown} are not in the game; live agents are {self.agents}"
            )
        active = game.agent_selection
        intruders = [a for a in self.agents if a != active and actions.get(a) is not None]
        if intruders and self.out_of_turn == "illegal":
            game.illegal_move(intruders[0], f"acted out of turn (it is {active}'s turn)")
        else:
            game.step(actions.get(active))
        observations = self._observations()
        rewards = dict(game.rewards)
        terminations = dict(game.terminations)
        truncations = dict(game.truncations)
        infos = {agent: dict(info) for agent, info in game.infos.items()}
        for agent in intruders:
            infos[agent]["ignored_action"] = self.out_of_turn == "ignore"
        while game.agents and (
            game.terminations[game.agent_selection] or game.truncations[game.agent_selection]
        ):
            game.step(None)
        self.agents = list(game.agents)
        return observations, rewards, terminations, truncations, infos

    def _observations(self) -> dict[str, str]:
        return {agent: self.game.observe(agent) for agent in self.game.agents}

    def render(self) -> str | None:
        """The game so far as text (``render_mode="ansi"``)."""
        return self.game.render()

    def close(self) -> None:
        """Release the game."""
        self.game.close()

    def __str__(self) -> str:
        return str(self.metadata["name"])
