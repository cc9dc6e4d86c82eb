"""A wrapper whose observation is the whole conversation, as role/content messages.

Examples:
    >>> from mathattempt_env.envs import MultiAttemptMathEnv
    >>> env = ConversationObservation(MultiAttemptMathEnv(attempts=2))
    >>> obs, info = env.reset(seed=0)
    >>> [m["role"] for m in obs]
    ['system', 'user']
    >>> obs, *_ = env.step("no idea")
    >>> [m["role"] for m in obs]
    ['system', 'user', 'assistant', 'system']
"""

from __future__ import annotations

import gymnasium as gym
from gymnasium import spaces

from mathattempt_env.envs.base import MAX_ACTION_CHARS
from mathattempt_env.envs.spaces import UnicodeText
from mathattempt_env.envs.surface import has_surface, surface

Conversation = tuple[dict[str, str], ...]


class ConversationObservation(
    gym.ObservationWrapper[Conversation, str, str], gym.utils.RecordConstructorArgs
):
    """Replace the observation by ``info["messages"]``: the conversation so far.

    The observation space is a ``Sequence`` of ``Dict(role, content)``; each content holds up
    to 1,000,000 characters (the assistant turns are the policy's own responses).

    Args:
        env: a math environment (or a wrapper around one).
    """

    def __init__(self, env: gym.Env[str, str]):
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        if not has_surface(env.unwrapped):
            raise TypeError(f"expected a mathattempt_env environment, got {env.unwrapped!r}")
        message = spaces.Dict({"role": UnicodeText(16), "content": UnicodeText(MAX_ACTION_CHARS)})
        self.observation_space = spaces.Sequence(message, stack=False)

    def observation(self, observation: str) -> Conversation:
        """The conversation of the wrapped environment."""
        return tuple(dict(m) for m in surface(self.env).messages)
