"""mathattempt_env: Gymnasium text environments for reinforcement learning on math reasoning.

Importing the package registers ``SingleTurnMath-v0``, ``MultiAttemptMath-v0`` and
``S2RMath-v0`` with Gymnasium. It is light: it does not import sympy, torch or any trainer,
and the environments' modules load on the first ``gym.make``.

Example:
    >>> import mathattempt_env
    >>> mathattempt_env.__version__
    '0.1.0'
"""

from mathattempt_env.errors import (
    ConfigError,
    DatasetError,
    EpisodeFinishedError,
    InvalidGoldError,
    MathAttemptError,
)
from mathattempt_env.registration import ENV_IDS, register_envs
from mathattempt_env.types import AttemptRecord, Grade, Problem, RewardBreakdown

__version__ = "0.1.0"

register_envs()

__all__ = [
    "ENV_IDS",
    "AttemptRecord",
    "ConfigError",
    "DatasetError",
    "EpisodeFinishedError",
    "Grade",
    "InvalidGoldError",
    "MathAttemptError",
    "Problem",
    "RewardBreakdown",
    "__version__",
]
