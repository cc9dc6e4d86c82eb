"""Gymnasium registration of the environment ids, by entry-point string (nothing is imported).

Examples:
    >>> import gymnasium as gym
    >>> import mathattempt_env
    >>> sorted(i for i in gym.registry if i in ENV_IDS)
    ['MultiAttemptMath-v0', 'S2RMath-v0', 'SingleTurnMath-v0', 'ToolMath-v0']
"""

from __future__ import annotations

from mathattempt_env.errors import unknown_name

#: Registered ids and their entry points.
ENV_IDS: dict[str, str] = {
    "SingleTurnMath-v0": "mathattempt_env.envs.single_turn:SingleTurnMathEnv",
    "MultiAttemptMath-v0": "mathattempt_env.envs.multi_attempt:MultiAttemptMathEnv",
    "S2RMath-v0": "mathattempt_env.envs.s2r:S2RMathEnv",
    "ToolMath-v0": "mathattempt_env.envs.single_turn:SingleTurnMathEnv",
}
#: The options an id is registered with (what makes ``ToolMath-v0`` the tool env).
ENV_KWARGS: dict[str, dict[str, str]] = {"ToolMath-v0": {"tool": "python", "prompt": "tir"}}


def register_envs() -> None:
    """Register every id in :data:`ENV_IDS` with Gymnasium (once; re-imports are harmless)."""
    from gymnasium.envs.registration import register, registry

    for env_id, entry_point in ENV_IDS.items():
        if env_id not in registry:
            register(
                id=env_id,
                entry_point=entry_point,
                kwargs=dict(ENV_KWARGS.get(env_id, {})),
                disable_env_checker=False,
            )


def check_env_id(env_id: object) -> None:
    """Raise a one-line error for an id Gymnasium does not know, naming ours.

    Raises:
        ConfigError: ``env_id`` is not registered (with the closest of our ids).

    Examples:
        >>> import mathattempt_env
        >>> check_env_id("MultiAttemptMath-v0")
        >>> check_env_id("MultiAtemptMath-v0")
        Traceback (most recent call last):
        ...
        mathattempt_env.errors.ConfigError: unknown env id 'MultiAtemptMath-v0'; did you mean ...
    """
    from gymnasium.envs.registration import registry

    if not isinstance(env_id, str) or env_id not in registry:
        raise unknown_name("env id", env_id, ENV_IDS)
