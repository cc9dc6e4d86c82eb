"""The environments: single-turn, multi-attempt and S²R, and the text space they use.

Examples:
    >>> from mathattempt_env.envs import MultiAttemptMathEnv
    >>> MultiAttemptMathEnv().reset(seed=0)[1]["attempts"] in range(1, 6)
    True
"""

from mathattempt_env.envs.base import MAX_ACTION_CHARS, MAX_OBSERVATION_CHARS, MathEnv
from mathattempt_env.envs.budget import Budget
from mathattempt_env.envs.multi_attempt import MultiAttemptMathEnv
from mathattempt_env.envs.s2r import S2RMathEnv
from mathattempt_env.envs.single_turn import SingleTurnMathEnv
from mathattempt_env.envs.spaces import UnicodeText
from mathattempt_env.envs.surface import EnvSurface, surface
from mathattempt_env.envs.tooluse import TOOLS, Tool, ToolUse, make_tool

__all__ = [
    "MAX_ACTION_CHARS",
    "MAX_OBSERVATION_CHARS",
    "TOOLS",
    "Budget",
    "EnvSurface",
    "MathEnv",
    "MultiAttemptMathEnv",
    "S2RMathEnv",
    "SingleTurnMathEnv",
    "Tool",
    "ToolUse",
    "UnicodeText",
    "make_tool",
    "surface",
]
