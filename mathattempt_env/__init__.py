"""mathattempt_env: Gymnasium text environments for reinforcement learning on math reasoning.

Importing the package registers ``SingleTurnMath-v0``, ``MultiAttemptMath-v0``,
``S2RMath-v0`` and ``ToolMath-v0`` with Gymnasium. It is light: it does not import sympy,
torch or any trainer, and the environments' modules load on the first ``gym.make``.

Examples:
    >>> import mathattempt_env
    >>> mathattempt_env.__version__
    '0.1.0'
    >>> mathattempt_env.envs.MultiAttemptMathEnv.__name__
    'MultiAttemptMathEnv'
"""

from mathattempt_env.errors import (
    ConfigError,
    DatasetError,
    EpisodeFinishedError,
    InvalidGoldError,
    MathAttemptError,
)
from mathattempt_env.registration import ENV_IDS, register_envs
from mathattempt_env.types import (
    ActionRecord,
    Grade,
    GradingConfig,
    Problem,
    RewardBreakdown,
    StepInfo,
    Turn,
)

__version__ = "0.1.0"

register_envs()

#: Subpackages loaded on first attribute access (``mathattempt_env.envs.MultiAttemptMathEnv``),
#: so ``import mathattempt_env`` stays light.
_SUBPACKAGES = frozenset(
    "adapters data envs eval grading multiagent prompts rewards rollout wrappers".split()
)


def __getattr__(name: str) -> object:
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"mathattempt_env.{name}")
    raise AttributeError(f"module 'mathattempt_env' has no attribute {name!r}")


__all__ = [
    "ENV_IDS",
    "ActionRecord",
    "ConfigError",
    "DatasetError",
    "EpisodeFinishedError",
    "Grade",
    "GradingConfig",
    "InvalidGoldError",
    "MathAttemptError",
    "Problem",
    "RewardBreakdown",
    "StepInfo",
    "Turn",
    "__version__",
]
