"""The token-level episode driver: any registered env, any tokenizer, any generator.

Training and evaluation run one episode loop, :func:`play_episode`: a policy makes each turn
and the environment's length budget is a reset option it enforces.
:class:`EpisodeDriver` runs it with a token-level policy and returns :class:`Episode`
objects (prompt ids, response ids, a response mask with 0 on environment tokens, logprobs,
rewards, per-action token spans). The trainer adapters in :mod:`mathattempt_env.adapters`
are built on it.
:mod:`mathattempt_env.rollout.hf` generates with a local ``transformers`` model (batched), and
The repository's ``experiments.tiny`` (not installed) builds tiny Qwen2 models for the tests.

Examples:
    >>> from mathattempt_env.rollout import EpisodeDriver, Episode
"""

from mathattempt_env.rollout.chat import ChatMarkup
from mathattempt_env.rollout.driver import EpisodeDriver, Generate
from mathattempt_env.rollout.episode import ActionSpan, Episode
from mathattempt_env.rollout.loop import Played, Policy, Stepped, play_episode
from mathattempt_env.rollout.turns import GeneratedTurn, finish_turn

__all__ = [
    "ActionSpan",
    "ChatMarkup",
    "Episode",
    "EpisodeDriver",
    "Generate",
    "GeneratedTurn",
    "Played",
    "Policy",
    "Stepped",
    "finish_turn",
    "play_episode",
]
