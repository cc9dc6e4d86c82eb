"""Wrappers around the math environments.

Examples:
    >>> from mathattempt_env.wrappers import ConversationObservation
    >>> ConversationObservation.__name__
    'ConversationObservation'
"""

from mathattempt_env.wrappers.conversation import ConversationObservation
from mathattempt_env.wrappers.curriculum import Curriculum, CurriculumWrapper

__all__ = ["ConversationObservation", "Curriculum", "CurriculumWrapper"]
