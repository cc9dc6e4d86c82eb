"""mathattempt_env: Gymnasium text environments for reinforcement learning on math reasoning.

Importing the package is light: it does not import sympy, torch or any trainer. The grader's
sympy fallback runs in separate worker processes.

Example:
    >>> import mathattempt_env
    >>> mathattempt_env.__version__
    '0.1.0'
"""

from mathattempt_env.errors import ConfigError, InvalidGoldError, MathAttemptError
from mathattempt_env.types import Grade

__version__ = "0.1.0"

__all__ = ["ConfigError", "Grade", "InvalidGoldError", "MathAttemptError", "__version__"]
