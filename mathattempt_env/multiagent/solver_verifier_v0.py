r"""``solver_verifier_v0``: a solver and a verifier on the same problems, grader and rewards.

PettingZoo's usual entry points:

- :func:`env`: the AEC environment, wrapped in PettingZoo's ``OrderEnforcingWrapper``;
- :func:`raw_env`: the same, unwrapped;
- :func:`parallel_env`: the parallel API.

Examples:
    >>> from mathattempt_env.multiagent import solver_verifier_v0
    >>> game = solver_verifier_v0.env(attempts=1)
    >>> game.reset(seed=0, options={"index": 8})
    >>> for agent in game.agent_iter():
    ...     observation, reward, terminated, truncated, info = game.last()
    ...     if terminated or truncated:
    ...         action = None
    ...     elif agent == "solver_0":
    ...         action = r"\boxed{0}"
    ...     else:
    ...         action = "Therefore, the answer is incorrect."
    ...     game.step(action)
    >>> [(t["agent"], t["rewards"][t["agent"]]) for t in info["turns"]]
    [('solver_0', 0.0), ('verifier_0', 1.0)]
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.wrappers import OrderEnforcingWrapper

from mathattempt_env.multiagent.parallel import SolverVerifierParallelEnv
from mathattempt_env.multiagent.solver_verifier import SolverVerifierEnv


def raw_env(**kwargs: Any) -> SolverVerifierEnv:
    """The AEC environment, unwrapped; arguments as in :class:`SolverVerifierEnv`.

    Examples:
        >>> raw_env(attempts=2).possible_agents
        ['solver_0', 'verifier_0']
    """
    return SolverVerifierEnv(**kwargs)


def env(**kwargs: Any) -> OrderEnforcingWrapper[str, str, str]:
    """The AEC environment in PettingZoo's ``OrderEnforcingWrapper`` (errors on misuse).

    Examples:
        >>> str(env())
        'solver_verifier_v0'
    """
    return OrderEnforcingWrapper(raw_env(**kwargs))


def parallel_env(**kwargs: Any) -> SolverVerifierParallelEnv:
    """The parallel API; ``out_of_turn`` and the rest as in :class:`SolverVerifierParallelEnv`.

    Examples:
        >>> parallel_env(out_of_turn="ignore").out_of_turn
        'ignore'
    """
    return SolverVerifierParallelEnv(**kwargs)
