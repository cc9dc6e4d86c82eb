"""Multi-agent environments (PettingZoo); needs the ``pettingzoo`` extra.

``import mathattempt_env`` never imports this package, so PettingZoo stays optional.

Examples:
    >>> from mathattempt_env.multiagent import solver_verifier_v0
    >>> solver_verifier_v0.parallel_env().possible_agents
    ['solver_0', 'verifier_0']
"""

from mathattempt_env.errors import install_hint

try:
    import pettingzoo  # noqa: F401
except ModuleNotFoundError as error:
    raise ModuleNotFoundError(
        f"mathattempt_env.multiagent needs PettingZoo: {install_hint('pettingzoo')}",
        name="pettingzoo",
    ) from error

from mathattempt_env.multiagent import solver_verifier_v0  # noqa: E402
from mathattempt_env.multiagent.parallel import SolverVerifierParallelEnv  # noqa: E402
from mathattempt_env.multiagent.solver_verifier import (  # noqa: E402
    ROLES,
    SOLVER,
    VERIFIER,
    SolverVerifierEnv,
    TextObservation,
)

__all__ = [
    "ROLES",
    "SOLVER",
    "VERIFIER",
    "SolverVerifierEnv",
    "SolverVerifierParallelEnv",
    "TextObservation",
    "solver_verifier_v0",
]
